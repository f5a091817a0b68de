/**
 * solveProblem(problem, options): the search, the front door of the solve layer (the public
 * invert(model, query, options) in api/invert.ts builds the Problem and attaches the reports).
 *
 *   query → Problem (validated) → one of
 *     · 1 unknown, 1 equality target, LM: interval Newton over the box (every root, proven);
 *     · otherwise: multi-start bounded LM (or Adam) over the box (LM only with linear constraints
 *       among the inputs: starts inside their polytope, every step kept feasible);
 *   → with a reference point: augmented-Lagrangian closest solution;
 *   → every point verified by a fresh forward pass → the four-outcome answer.
 */
import { NetinvertError } from '../errors.ts';
import { FLOAT32_FLOOR, isFloat32Model, targetTolerance, type Problem } from '../problem/query.ts';
import { constraintRecords } from '../problem/constraints.ts';
import { isPlain } from '../problem/targets.ts';
import { closestFeasible } from './closest.ts';
import { Budget, ProblemEvaluator, now } from './evaluator.ts';
import { multiStart } from './multistart.ts';
import { localError, mahalanobis, nearestSampleDistance } from '../problem/prior.ts';
import { solveOneDim } from './oneDim.ts';
import { INVERT_DEFAULTS, validateOptions, type RankOrder } from './options.ts';
import { RESULT_FORMAT, RESULT_VERSION, type Solution, type SolveResult, type Status } from './result.ts';
import { distanceToReference, rootUncertainty, samePoint, sameRoot, verifySolution } from './verify.ts';

export { INVERT_DEFAULTS };

/** invert()'s options; their defaults and rules are the table in options.ts. */
export interface InvertOptions {
  /** 'lm' (default): bounded Levenberg–Marquardt; 'adam': projected Adam on the inputs (baseline). */
  method?: 'lm' | 'adam';
  /** |y − t| ≤ atol + rtol·|t| (defaults 1e-6, 1e-6). */
  atol?: number;
  rtol?: number;
  /** Seed for the quasi-random starts (default 0): the same seed gives the same answer. */
  seed?: number;
  /** Work budget in point evaluations (a Jacobian row counts as one). Default 200 000. */
  maxEvaluations?: number;
  /**
   * Wall-clock limit in seconds (default 60, as the CLI's --time-limit; Infinity for none).
   * Tests budget by evaluations instead.
   */
  timeLimit?: number;
  /** Most multi-start starts (default 256). */
  maxStarts?: number;
  /** Most representatives reported for a continuum (default 10). */
  maxRepresentatives?: number;
  /**
   * Order of the solutions (default 'auto': the closest first then by distance with a reference,
   * else by trust (localError) when the prior carries the model's residuals, else by plausibility
   * with a prior, else by the unknowns' values); 'spread': each next solution
   * farthest (box-width units) from those before it, starting from the first in auto order.
   */
  rank?: RankOrder;
  /**
   * A first start for the multi-start search: unknown values in problem.unknowns order (e.g.
   * inverseWarmStart's prediction from a learned inverse), clipped to the box. The search goes on
   * as usual after it and every answer is verified. The 1-D interval-Newton path does not use it.
   */
  warmStart?: Float64Array | number[];
  /**
   * Budget of the explanation an infeasible or best-compromise answer carries (result.explanation,
   * certify/explain/): branch-and-bound boxes per range end and per conflict step (default 500;
   * certify() gives it 10 times as many); 0: no explanation.
   */
  explainBoxes?: number;
}

/**
 * Search a validated Problem for inputs that meet its targets: the four-outcome answer, every
 * point verified by a fresh forward pass. Options are checked by validateOptions (options.ts);
 * the tolerances are the Problem's own.
 */
export function solveProblem(problem: Problem, options: InvertOptions = {}): SolveResult {
  const t0 = now();
  const { method, seed, maxEvaluations, timeLimit, maxStarts, maxRepresentatives, rank } = validateOptions(options);
  if (rank === 'trust' && !problem.prior?.residuals) {
    throw new NetinvertError('bad_query', 'rank "trust" orders by the model\'s likely error at each solution, from its training residuals: use a model trained by netinvert train (it stores them with its input statistics), or rank by plausibility with a prior');
  }
  if (rank === 'plausibility' && !problem.prior) {
    throw new NetinvertError('bad_query', 'rank "plausibility" needs a prior: give --prior data.csv, or --prior-mean and --prior-std (Query.prior), or use a model trained by netinvert train (it stores its input statistics)');
  }
  if (rank === 'distance' && !problem.reference) throw new NetinvertError('bad_query', 'rank "distance" orders by the distance to a reference point: give one with --closest-to (closestTo)');
  if (method === 'milp') throw new NetinvertError('bad_query', 'method "milp" is the separate entry invertMilp (import it from netinvert/milp); use lm or adam here');
  const model = problem.model;
  const budget = new Budget(maxEvaluations, timeLimit);
  const ev = new ProblemEvaluator(problem, budget);
  const warnings = problem.warnings.slice();
  const n = ev.n;
  let warmStart: Float64Array | undefined;
  if (options.warmStart !== undefined) {
    const w = options.warmStart;
    if (w.length !== n || !Array.from(w).every(Number.isFinite)) {
      throw new NetinvertError('bad_query', `warmStart must hold ${n} finite numbers (one per unknown: ${problem.unknownNames.join(', ')}), got ${w.length}`);
    }
    warmStart = clipToBox(problem, Float64Array.from(w));
    // inside the linear constraints too (their nearest point)
    if (ev.polytope && !ev.polytope.contains(warmStart)) ev.polytope.project(warmStart, 0, warmStart, 0);
  }

  let solutions: Solution[] = [];
  let best: Solution | undefined;
  let closest: Solution | undefined;
  let status: Status;
  let complete = false,
    proven = false,
    message = '';
  let solutionSet: SolveResult['solutionSet'] = { kind: 'none' };
  let starts = 0,
    iterations = 0,
    budgetHit = false,
    excludedFraction: number | undefined;
  let methodUsed: string = method;

  if (ev.polytope) {
    if (method === 'adam') {
      throw new NetinvertError('bad_query', 'method "adam" does not keep linear constraints among the inputs (--subject-to): use method lm, whose every step stays inside them');
    }
    // an empty polytope (the phase-1 QP cannot meet every row): a contradiction before any search
    const c = new Float64Array(n).map((_, j) => 0.5 * (problem.lo[j] + problem.hi[j]));
    if (!ev.polytope.project(c, 0, new Float64Array(n), 0)) {
      throw new NetinvertError(
        'bad_constraint',
        `the constraints ${problem.constraints!.map((k) => `"${k.name}"`).join(', ')} have no common point inside the bounds (${problem.unknownNames.map((nm, j) => `${nm} in [${problem.lo[j]}, ${problem.hi[j]}]`).join(', ')}); drop or loosen one, or widen the bounds`,
        { constraints: problem.constraints!.map((k) => k.name) },
      );
    }
  }
  const oneDim = !ev.polytope && method === 'lm' && n === 1 && problem.targets.length === 1 && problem.targets[0].kind === 'eq' && isPlain(problem.targets[0].terms);
  let needSearch = true;
  if (oneDim) {
    methodUsed = 'interval-newton-1d';
    const tol = targetTolerance(problem.targets[0], problem.atol, problem.rtol);
    const r = solveOneDim(problem, budget, tol);
    excludedFraction = r.excludedFraction;
    if (r.usedFallback) warnings.push('interval bounds were unavailable on part of the box: sampled and bracketed there (list may be incomplete)');
    const sols = r.roots.map((root) => {
      const s = verifySolution(problem, [root.x]);
      if (root.box) {
        s.proof = 'unique-root';
        s.proofBox = { [problem.unknownNames[0]]: root.box };
      }
      return s;
    });
    // clusters (tangent or flat targets, unresolvable pieces): one solution each, with its extent
    for (const c of r.clusters) {
      if (!c.meets) continue;
      const s = verifySolution(problem, [c.x]);
      // (a zero-width "cluster" is just its point)
      if (c.hi > c.lo) s.cluster = { extent: { [problem.unknownNames[0]]: [c.lo, c.hi] }, everyPoint: c.everyPoint };
      sols.push(s);
    }
    solutions = sols.filter((s) => s.meetsTargets);
    const clusters = solutions.filter((s) => s.cluster).length;
    const unresolved = unresolvedText(problem, r.unresolved, tol);
    if (solutions.length) {
      if (unresolved) warnings.push(unresolved);
      needSearch = false;
      complete = r.complete && solutions.every((s) => s.proof === 'unique-root');
      solutionSet = { kind: 'isolated', count: solutions.length, ...(clusters ? { clusters } : {}) };
    } else if (r.unresolved.length) {
      // A root is proven to exist, but no float64 point meets so small a tolerance: never
      // "infeasible"; unknown, with the reason and the best point.
      needSearch = false;
      status = 'unknown';
      const u = r.unresolved.reduce((p, q) => (q.miss < p.miss ? q : p));
      best = verifySolution(problem, [u.x]);
      message = unresolved!;
    } else if (r.complete && r.excludedWithTolerance && r.roots.length === 0 && r.clusters.length === 0) {
      needSearch = false;
      status = 'infeasible';
      proven = true;
      complete = true;
      // the closest point: interval Newton may have excluded the box after a few evaluations, so
      // refine what it saw by a grid and golden-section search on the miss (certify needs it
      // should its proof be withdrawn, and the report shows it)
      best = closestOnInterval(problem, r.best ? r.best.x : 0.5 * (problem.lo[0] + problem.hi[0]));
    }
    budgetHit = r.budgetHit;
    if (needSearch) methodUsed = 'interval-newton-1d + lm';
  }

  let bestPoint: Float64Array | null = null;
  if (warmStart && !needSearch) warnings.push('the warm start was not needed: interval Newton searched the whole box (1 unknown, 1 equality target)');
  if (needSearch) {
    const out = multiStart(ev, budget, {
      method,
      seed,
      maxStarts,
      maxRepresentatives,
      ...(warmStart ? { warmStart } : {}),
    });
    starts = out.starts;
    iterations = out.iterations;
    budgetHit = budgetHit || out.budgetHit;
    bestPoint = out.best?.u ?? null;
    if (out.isolated.length || out.continuum.length) {
      const pts = out.continuum.length ? out.continuum : out.isolated;
      solutions = pts.map((pt) => verifySolution(problem, pt.u, { optimality: pt.optimality })).filter((s) => s.meetsTargets);
      solutionSet = out.continuum.length
        ? { kind: 'continuum', dimension: out.continuumDimension, representatives: solutions.length }
        : { kind: 'isolated', count: solutions.length };
    }
    if (out.best && !solutions.length) best = verifySolution(problem, out.best.u, { optimality: out.best.optimality });
  }

  // a continuum with a prior and no reference: add its most plausible point (mostPlausible)
  if (problem.prior && !problem.reference && solutionSet.kind === 'continuum' && solutions.length && !budget.exhausted) {
    const s = mostPlausible(problem, budget);
    if (s) {
      scorePlausibility(problem, [s, ...solutions]);
      const u = unknownVector(problem, s);
      const same = solutions.findIndex((o) => samePoint(problem, unknownVector(problem, o), u));
      if (same >= 0) {
        if (solutions[same].plausibility! > s.plausibility!) solutions[same] = s;
      } else if (solutions.length >= maxRepresentatives) {
        // over the cap: it replaces the least plausible representative
        let worst = 0;
        solutions.forEach((o, i) => {
          if (o.plausibility! > solutions[worst].plausibility!) worst = i;
        });
        if (solutions[worst].plausibility! > s.plausibility!) solutions[worst] = s;
      } else solutions.push(s);
      solutionSet = { ...solutionSet, representatives: solutions.length };
    }
  }

  // closest to the reference: the constrained problem, from several starts
  if (problem.reference && solutions.length) {
    const startsAL: Float64Array[] = [clipToBox(problem, problem.reference)];
    for (const s of solutions.slice(0, 10)) startsAL.push(Float64Array.from(problem.unknownNames.map((nm) => s.unknowns[nm])));
    let bestSol: Solution | undefined;
    for (const st of startsAL) {
      if (budget.exhausted) break;
      const u = closestFeasible(ev, st);
      const s = verifySolution(problem, u);
      if (s.meetsTargets && (!bestSol || s.distance! < bestSol.distance!)) bestSol = s;
    }
    for (const s of solutions) if (!bestSol || s.distance! < bestSol.distance!) bestSol = s;
    closest = bestSol;
    // the closest point is a solution too: list it (once) among the solutions
    if (closest && !solutions.includes(closest)) {
      const u = unknownVector(problem, closest);
      const isolated = solutionSet.kind === 'isolated';
      const dc = isolated ? rootUncertainty(problem, u) : 0;
      const same = solutions.find((s) => {
        const v = unknownVector(problem, s);
        return isolated ? sameRoot(problem, v, rootUncertainty(problem, v), u, dc) : samePoint(problem, v, u);
      });
      if (same) closest = same;
      else {
        solutions.push(closest);
        const cap = maxRepresentatives;
        if (solutionSet.kind === 'continuum' && solutions.length > cap) {
          // over the cap: drop the representative nearest the closest point (the most redundant one)
          let drop = -1,
            dmin = Infinity;
          solutions.forEach((s, i) => {
            if (s === closest) return;
            const d = distanceBetween(problem, unknownVector(problem, s), u);
            if (d < dmin) {
              dmin = d;
              drop = i;
            }
          });
          solutions.splice(drop, 1);
        }
        solutionSet = isolated ? { kind: 'isolated', count: solutions.length } : solutionSet.kind === 'continuum' ? { ...solutionSet, representatives: solutions.length } : solutionSet;
      }
    }
  }

  if (status! === 'unknown') {
    // set above (a proven root no float64 point resolves)
  } else if (status! === undefined) {
    if (solutions.length) {
      status = 'solved';
      message =
        solutionSet.kind === 'continuum'
          ? `a continuum of solutions of dimension ${solutionSet.dimension}: ${solutions.length} representative${solutions.length === 1 ? '' : 's'}${closest ? ', the first one closest to the reference' : ''}`
          : `${solutions.length} solution${solutions.length === 1 ? '' : 's'}${complete ? ' (proven to be all of them)' : ''}${closest && solutions.length > 1 ? ', the first one closest to the reference' : ''}`;
    } else if (budgetHit) {
      status = 'unknown';
      message = 'the budget ran out before any point met the targets; raise --max-evaluations or --time-limit';
      if (bestPoint) best = verifySolution(problem, bestPoint);
    } else {
      status = 'best-compromise';
      message = 'no input found inside the bounds meets every target; the closest point found is shown (not proven optimal)';
    }
  } else {
    message = 'proven: no input inside the bounds meets the target within tolerance';
  }

  // plausibility under the prior (problem/prior.ts): every solution, the best compromise too
  scorePlausibility(problem, [...solutions, ...(best ? [best] : [])]);
  rankSolutions(problem, solutions, closest, rank);
  // training-range warning
  const ranges = model.metadata.inputRanges;
  if (ranges) {
    const outside = new Set<string>();
    for (const s of [...solutions, ...(best ? [best] : [])]) {
      for (const [name, v] of Object.entries(s.unknowns)) {
        const r = ranges[name];
        if (r && (v < r[0] || v > r[1])) outside.add(name);
      }
    }
    if (outside.size) warnings.push(`solution lies outside the training data range for ${[...outside].join(', ')}: the model is extrapolating there`);
  }
  const result: SolveResult = {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    model: { hash: model.hash, ...(model.metadata.name ? { name: model.metadata.name } : {}) },
    status: status!,
    message,
    complete,
    proven,
    method: methodUsed,
    query: queryRecord(problem, seed),
    solutions,
    solutionSet,
    ...(best ? { best } : {}),
    ...(closest ? { closest } : {}),
    ...(excludedFraction !== undefined ? { excludedFraction } : {}),
    warnings,
    stats: { starts, iterations, evaluations: budget.evaluations, jacobians: budget.jacobians, timeMs: now() - t0 },
  };
  return result;
}

/** Options for one of `of` clauses of a disjunction: an equal share of the evaluations and the time. */
export function shareOptions<O extends InvertOptions>(options: O, of: number): O {
  const maxEvaluations = Math.max(1, Math.floor((options.maxEvaluations ?? INVERT_DEFAULTS.maxEvaluations) / of));
  const timeLimit = (options.timeLimit ?? INVERT_DEFAULTS.timeLimit) / of;
  return { ...options, maxEvaluations, timeLimit };
}

/** The query as the result states it: targets with their tolerances, bounds with their sources. */
export function queryRecord(problem: Problem, seed: number): SolveResult['query'] {
  return {
    given: problem.given,
    targets: problem.targets.map((t) => ({
      output: t.name,
      ...(isPlain(t.terms) ? {} : { terms: t.terms.map((k) => ({ output: problem.model.network.outputNames[k.output], coef: k.coef })) }),
      kind: t.kind,
      lo: Number.isFinite(t.lo) ? t.lo : null,
      hi: Number.isFinite(t.hi) ? t.hi : null,
      weight: t.weight,
      tolerance: targetTolerance(t, problem.atol, problem.rtol),
    })),
    bounds: problem.unknownNames.map((input, j) => ({ input, lo: problem.lo[j], hi: problem.hi[j], source: problem.boundSource[j] })),
    tolerance: { atol: problem.atol, rtol: problem.rtol, ...(isFloat32Model(problem.model) ? { float32Floor: FLOAT32_FLOOR } : {}) },
    ...(problem.reference ? { reference: referenceRecord(problem), distance: problem.distance, ...distanceUnitsRecord(problem) } : {}),
    ...(problem.constraints?.length
      ? {
          constraints: constraintRecords(problem.constraints, problem.model.network.inputNames),
        }
      : {}),
    ...(problem.prior
      ? {
          prior: {
            source: problem.prior.source,
            mean: Object.fromEntries(problem.unknownNames.map((nm, j) => [nm, problem.prior!.mean[j]])),
            sampleRows: problem.prior.rows.length,
          },
        }
      : {}),
    seed,
  };
}

/**
 * The most plausible point of a continuum of solutions: the solution closest to the prior's mean
 * in the prior's metric, the maximum a posteriori point of a Gaussian prior restricted to the
 * solution set. Solved as a closest-to-reference problem (closest.ts: augmented Lagrangian) with
 * the reference at the mean (clipped to the box) and each unknown's unit its prior standard
 * deviation √Σⱼⱼ: the diagonal of the Mahalanobis metric (exact for a diagonal prior). Null when
 * the point found misses the targets.
 */
function mostPlausible(problem: Problem, budget: Budget): Solution | null {
  const prior = problem.prior!;
  const n = problem.unknowns.length;
  const unit = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k <= i; k++) v += prior.L[i * n + k] ** 2;
    unit[i] = Math.sqrt(v);
  }
  const mean = clipToBox(problem, prior.mean);
  const pp: Problem = { ...problem, reference: mean, referenceMask: new Uint8Array(n).fill(1), distance: 'l2', distanceUnit: unit };
  const u = closestFeasible(new ProblemEvaluator(pp, budget), mean.slice());
  const s = verifySolution(problem, u);
  return s.meetsTargets ? s : null;
}

/**
 * With a prior: set each solution's plausibility (Mahalanobis distance to the prior's mean) and,
 * when the prior has sample rows, nearestSample; without one, nothing. A solution that already
 * has its score keeps the object untouched.
 */
export function scorePlausibility(problem: Problem, solutions: Solution[]): void {
  if (!problem.prior) return;
  for (const s of solutions) {
    if (s.plausibility !== undefined) continue;
    const u = unknownVector(problem, s);
    s.plausibility = mahalanobis(problem.prior, u);
    const near = nearestSampleDistance(problem.prior, u);
    if (near !== null) s.nearestSample = near;
    if (problem.prior.residuals) {
      const x = problem.model.network.inputNames.map((k) => s.inputs[k]);
      const e = localError(problem.prior, x, s.plausibility);
      if (e !== null) s.localError = e;
    }
  }
}

/**
 * Order the solutions in place by `rank` (InvertOptions.rank). auto: with a reference the closest
 * first, then by distance; else with a prior that carries the model's residuals by localError
 * (trust: the model's likely error there, smallest first); else with a prior by plausibility
 * (Mahalanobis distance, smallest first); else by the unknowns' values. spread: auto's first, then greedy farthest-point order
 * (Gonzalez 1985) in box-width units, so every prefix is spread out.
 */
export function rankSolutions(problem: Problem, solutions: Solution[], closest: Solution | undefined, rank: RankOrder): void {
  const byValue = (a: Solution, b: Solution): number => {
    for (const nm of problem.unknownNames) if (a.unknowns[nm] !== b.unknowns[nm]) return a.unknowns[nm] - b.unknowns[nm];
    return 0;
  };
  const byDistance = (a: Solution, b: Solution): number => {
    if (closest && (a === closest || b === closest)) return a === closest ? -1 : 1;
    return a.distance! - b.distance! || byValue(a, b);
  };
  const byPlausibility = (a: Solution, b: Solution): number => a.plausibility! - b.plausibility! || byValue(a, b);
  const byTrust = (a: Solution, b: Solution): number => (a.localError ?? Infinity) - (b.localError ?? Infinity) || byPlausibility(a, b);
  const auto = problem.reference ? byDistance : problem.prior?.residuals ? byTrust : problem.prior ? byPlausibility : byValue;
  solutions.sort(rank === 'plausibility' ? byPlausibility : rank === 'trust' ? byTrust : rank === 'distance' ? byDistance : auto);
  if (rank !== 'spread' || solutions.length < 3) return;
  const vs = solutions.map((s) => unknownVector(problem, s));
  const order = [0];
  const dmin = vs.map((v) => distanceBetween(problem, v, vs[0]));
  dmin[0] = -1;
  while (order.length < solutions.length) {
    let bi = -1;
    for (let i = 0; i < vs.length; i++) if (dmin[i] >= 0 && (bi < 0 || dmin[i] > dmin[bi])) bi = i;
    order.push(bi);
    dmin[bi] = -1;
    for (let i = 0; i < vs.length; i++) if (dmin[i] >= 0) dmin[i] = Math.min(dmin[i], distanceBetween(problem, vs[i], vs[bi]));
  }
  const copy = solutions.slice();
  order.forEach((i, k) => (solutions[k] = copy[i]));
}

function unknownVector(p: Problem, s: Solution): Float64Array {
  return Float64Array.from(p.unknownNames.map((nm) => s.unknowns[nm]));
}

/** Euclidean distance in box-width units. */
function distanceBetween(p: Problem, a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let j = 0; j < a.length; j++) d += ((a[j] - b[j]) / (p.hi[j] - p.lo[j] || 1)) ** 2;
  return Math.sqrt(d);
}

function clipToBox(p: Problem, v: Float64Array): Float64Array {
  return v.map((x, j) => Math.min(p.hi[j], Math.max(p.lo[j], x)));
}

/** The distance's units per referenced unknown, when a query set any (weights, scales, monotone controls). */
function distanceUnitsRecord(p: Problem): { distanceUnits?: Record<string, number> } {
  if (!p.distanceUnit) return {};
  const o: Record<string, number> = {};
  let custom = false;
  p.unknownNames.forEach((nm, j) => {
    if (!p.referenceMask![j]) return;
    o[nm] = p.distanceUnit![j];
    if (o[nm] !== (p.hi[j] - p.lo[j] || 1)) custom = true;
  });
  return custom ? { distanceUnits: o } : {};
}

function referenceRecord(p: Problem): Record<string, number> {
  const o: Record<string, number> = {};
  p.unknownNames.forEach((nm, j) => {
    if (p.referenceMask![j]) o[nm] = p.reference![j];
  });
  return o;
}

/**
 * The reason a proven root gave no solution: the tolerance is below what float64 resolves for
 * this output near the root (null when there is no such root).
 */
export function unresolvedText(problem: Problem, unresolved: { box: [number, number]; x: number; miss: number }[], tol: number): string | null {
  if (!unresolved.length) return null;
  const u = unresolved.reduce((p, q) => (q.miss < p.miss ? q : p));
  const name = problem.unknownNames[0];
  return (
    `${unresolved.length === 1 ? 'a root is' : `${unresolved.length} roots are`} proven to exist (${name} in [${u.box[0]}, ${u.box[1]}]${unresolved.length > 1 ? ', …' : ''}), ` +
    `but no float64 input there meets the tolerance ${tol.toExponential(2)}: the closest gives a miss of ${u.miss.toExponential(2)}, ` +
    `the resolution of float64 for this output; raise --atol/--rtol above it`
  );
}

export { distanceToReference };

/**
 * The point of a 1-unknown box with the smallest miss: the best of `start`, both ends and a
 * CLOSEST_GRID-point grid, then golden-section search (Kiefer 1953) on the bracket around it. The
 * miss need not be unimodal there, so this is a good point, not a proven closest one.
 */
const CLOSEST_GRID = 64;
function closestOnInterval(problem: Problem, start: number): Solution {
  const lo = problem.lo[0],
    hi = problem.hi[0];
  const miss = (x: number): number => verifySolution(problem, [x]).maxMiss;
  let bx = start,
    bm = miss(start);
  const h = (hi - lo) / CLOSEST_GRID;
  for (let i = 0; i <= CLOSEST_GRID; i++) {
    const x = i === CLOSEST_GRID ? hi : lo + i * h;
    const m = miss(x);
    if (m < bm) (bm = m), (bx = x);
  }
  // golden section on the bracket around the best grid point, one new miss per step
  const g = (Math.sqrt(5) - 1) / 2;
  let a = Math.max(lo, bx - h),
    b = Math.min(hi, bx + h);
  let c = b - g * (b - a),
    d = a + g * (b - a),
    mc = miss(c),
    md = miss(d);
  for (let k = 0; k < 80 && b - a > 1e-12 * Math.max(1, Math.abs(bx)); k++) {
    if (mc <= md) {
      b = d;
      d = c;
      md = mc;
      c = b - g * (b - a);
      mc = miss(c);
    } else {
      a = c;
      c = d;
      mc = md;
      d = a + g * (b - a);
      md = miss(d);
    }
  }
  if (mc < bm) bx = c;
  if (md < Math.min(bm, mc)) bx = d;
  return verifySolution(problem, [bx]);
}
