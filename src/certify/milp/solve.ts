/**
 * solveMilpProblem(problem, options): the `--method milp` path for piecewise-linear nets
 * (ReLU, leaky ReLU, hard-tanh, clip, max/min with constants, abs). The public invertMilp(model,
 * query, options), which builds the Problem and attaches the reports, is api/milp.ts.
 *
 *   - feasibility (or, with a reference, the closest point in L1 / L∞) solved exactly by HiGHS
 *     (run.ts); the point is verified by a fresh forward pass like every other answer;
 *   - a MILP "infeasible" is `proven` only when its margin clearly exceeds HiGHS's tolerances;
 *     otherwise branch-and-bound (certify) is run to confirm or refute it;
 *   - a time limit gives `unknown`.
 * Async because HiGHS is WebAssembly loaded on first use. Kept out of src/index.ts (the highs
 * package carries a Node-only import that breaks browser bundles); import it from
 * 'netinvert/milp'.
 */
import { NetinvertError } from '../../errors.ts';
import type { Problem } from '../../problem/query.ts';
import { INVERT_DEFAULTS, queryRecord, type InvertOptions } from '../../solve/invert.ts';
import { RESULT_FORMAT, RESULT_VERSION, type Solution, type SolveResult } from '../../solve/result.ts';
import { distanceToReference, verifySolution } from '../../solve/verify.ts';
import { changedInputs } from '../../solve/counterfactual.ts';
import { searchAndCertify, type CertifiedResult } from '../certify.ts';
import { outputFeatureNodes } from './encode.ts';
import { isPiecewiseLinear, solveMilp, type MilpDiscrete } from './run.ts';

export interface MilpInvertOptions extends InvertOptions {
  maxBoxes?: number;
  /** --sparse: the fewest referenced inputs changed, exactly (one binary per input), then the closest. */
  sparse?: boolean;
  /** --diverse is a search over the smooth closest-point method: refused here. */
  diverse?: number;
}

/**
 * `discrete`: unknowns restricted to integers or listed values, native integer columns of the one
 * MILP (run.ts MilpOptions.discrete); api/discreteMilp.ts builds it from the query.
 */
export async function solveMilpProblem(problem: Problem, options: MilpInvertOptions = {}, discrete?: MilpDiscrete): Promise<CertifiedResult> {
  const t0 = performance.now();
  const model = problem.model;
  // the graph nodes behind the targeted output features (only those must be piecewise-linear)
  const featureNode = outputFeatureNodes(model.network);
  const outputs = [...new Set(problem.targetOutputs.map((o) => featureNode[o].node))];
  const pwl = isPiecewiseLinear(model.network, outputs);
  if (!pwl.ok) {
    throw new NetinvertError(
      'unsupported_op',
      `--method milp needs a piecewise-linear net (relu, leaky relu, hard-tanh, clip, max/min, abs); node "${pwl.node}" is ${pwl.op}. Use --method lm (with --prove for proofs) for smooth nets`,
      { node: pwl.node, op: pwl.op },
    );
  }
  const warnings = problem.warnings.slice();
  let objective: Parameters<typeof solveMilp>[1] = { kind: 'feasibility' };
  if (options.diverse !== undefined) {
    throw new NetinvertError('bad_query', '--diverse runs on the local search (--method lm); drop --method milp to get K diverse counterfactuals');
  }
  if (options.sparse && !problem.reference) {
    throw new NetinvertError('bad_query', '--sparse is a counterfactual control: give a reference point with --closest-to (closestTo in a query)');
  }
  if (problem.reference) {
    if (problem.distance === 'l2') warnings.push('the MILP path measures distance in L1 (L2 is not linear); pass --distance l1 or linf to choose');
    objective = { kind: options.sparse ? 'sparse' : 'closest', norm: problem.distance === 'linf' ? 'linf' : 'l1' };
  }
  // HiGHS needs a finite limit: an infinite one falls back to the default
  const timeLimit = Number.isFinite(options.timeLimit ?? Infinity) ? options.timeLimit! : INVERT_DEFAULTS.timeLimit;
  // a warm start (e.g. from a learned inverse) is offered to HiGHS as its first incumbent
  const start = options.warmStart && options.warmStart.length === problem.unknowns.length ? Array.from(options.warmStart) : undefined;
  const m = await solveMilp(problem, objective, { timeLimit, ...(start ? { start } : {}), ...(discrete ? { discrete } : {}) });
  let solutions: Solution[] = [];
  let best: Solution | undefined;
  let status: SolveResult['status'];
  let proven = false,
    message = m.message;
  if (m.status === 'solved' && m.unknowns) {
    const s = verifySolution(problem, m.unknowns);
    solutions = s.meetsTargets ? [s] : [];
    status = s.meetsTargets ? 'solved' : 'unknown';
    message = s.meetsTargets
      ? objective.kind === 'sparse'
        ? `the sparsest counterfactual (MILP: ${changedInputs(problem, m.unknowns).count} input${changedInputs(problem, m.unknowns).count === 1 ? '' : 's'} changed, ${m.status === 'solved' ? 'proven the fewest' : 'not proven the fewest'}), the closest such point (${objective.norm} distance ${distanceToReference(problem, m.unknowns).toPrecision(6)})`
        : problem.reference
        ? `the closest solution (MILP, ${objective.kind === 'closest' ? objective.norm : ''} distance ${m.objective?.toPrecision(6)})`
        : 'a solution (MILP feasibility; other solutions may exist)'
      : `the MILP point failed the forward-pass check: ${m.message}`;
  } else if (m.status === 'infeasible') {
    if (m.unknowns) best = verifySolution(problem, m.unknowns);
    if (m.provenInfeasible) {
      status = 'infeasible';
      proven = true;
      message = 'proven by MILP (with a margin well beyond HiGHS\'s tolerances): no input inside the bounds meets the targets';
    } else if (discrete) {
      // not clear of HiGHS's tolerances. Branch-and-bound knows no integrality: only its proof that
      // even the continuous relaxation has no solution carries over (a superset is empty); a
      // point it finds may sit between the discrete values, so anything else stays unknown
      const c = searchAndCertify(problem, options);
      if (c.status === 'infeasible' && c.proven) {
        c.method = `milp + ${c.method} (continuous relaxation)`;
        c.warnings.push(`MILP said infeasible within its tolerances (${m.message}); confirmed by branch-and-bound on the continuous relaxation (no point at all meets the targets, so no discrete one does)`);
        return c;
      }
      status = 'unknown';
      message = `HiGHS found no input with the discrete values meeting the targets, but its margin does not clear its tolerances and the continuous relaxation is not proven empty: not proven (${m.message})`;
    } else {
      // not clear of HiGHS's tolerances: branch-and-bound decides
      const c = searchAndCertify(problem, options);
      c.method = `milp + ${c.method}`;
      c.warnings.push(`MILP said infeasible within its tolerances (${m.message}); confirmed by branch-and-bound instead`);
      return c;
    }
  } else {
    status = 'unknown';
    if (m.unknowns) best = verifySolution(problem, m.unknowns);
    if (m.status === 'time-limit') {
      message = timeoutMessage(timeLimit, m.bound, best, !!problem.reference);
      warnings.push(`HiGHS: ${m.message}`);
    }
  }
  let counterfactual: SolveResult['counterfactual'];
  if (solutions.length && problem.reference) {
    const s = solutions[0];
    const u = Float64Array.from(problem.unknownNames, (nm) => s.unknowns[nm]);
    s.changed = changedInputs(problem, u);
    // optimal: HiGHS's dual bound says no point closer than it meets the targets (MIPVerify,
    // Tjeng et al. 2019), up to HiGHS's tolerances; for sparse the bound is W·changes + distance
    if (objective.kind === 'sparse') counterfactual = { sparse: { changed: s.changed.count, proven: m.status === 'solved', subsetsTried: 0, method: 'milp' } };
    else if (m.status === 'solved' && m.bound !== undefined) counterfactual = { distanceLowerBound: { bound: Math.max(0, Math.min(m.bound, s.distance!)), norm: objective.kind === 'closest' ? objective.norm : 'l1', method: 'milp' } };
  }
  const result: SolveResult = {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    model: { hash: model.hash, ...(model.metadata.name ? { name: model.metadata.name } : {}) },
    status,
    message,
    complete: status === 'infeasible' && proven,
    proven,
    method: 'milp (HiGHS)',
    query: queryRecord(problem, options.seed ?? INVERT_DEFAULTS.seed),
    solutions,
    solutionSet: solutions.length ? { kind: 'isolated', count: solutions.length } : { kind: 'none' },
    ...(problem.reference && solutions.length ? { closest: solutions[0] } : {}),
    ...(best ? { best } : {}),
    ...(counterfactual ? { counterfactual } : {}),
    warnings,
    stats: { starts: 0, iterations: 0, evaluations: 0, jacobians: 0, timeMs: performance.now() - t0 },
  };
  return result;
}

/** What a MILP time-out means, in words, and what to try next (the HiGHS detail goes to the warnings). */
function timeoutMessage(timeLimit: number, bound: number | undefined, best: Solution | undefined, closest: boolean): string {
  const next =
    `Try a longer --time-limit (now ${timeLimit} s)` +
    (closest ? '' : ', --prove (branch-and-bound: it can prove that no input meets the targets, or list the solutions)') +
    ', or --method lm (a fast search for a point, without proofs)';
  if (best?.meetsTargets) {
    return `the time limit (${timeLimit} s) ran out before HiGHS proved its best point ${closest ? 'the closest' : 'optimal'}; that point meets the targets (below). ${next}`;
  }
  const sofar =
    bound !== undefined && bound > 0
      ? `so far HiGHS bounds the miss of every input below by ${bound.toExponential(3)} beyond the tolerance, not yet a proof`
      : 'nothing is ruled out yet';
  return `the time limit (${timeLimit} s) ran out before HiGHS either found an input meeting the targets or proved that none exists; ${sofar}. ${next}`;
}
