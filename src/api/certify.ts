/**
 * The public certify(): build the Problem once, search it, prove (certify/certify.ts), attach
 * the text reports.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Problem, type Query } from '../problem/query.ts';
import { searchAndCertify, searchAndCertifyParallel, type CertifiedResult, type CertifyOptions } from '../certify/certify.ts';
import type { ParallelBnbOptions, ProofWorkers } from '../certify/proof/parallel.ts';
import { closestDistanceLowerBound } from '../certify/proof/closestBound.ts';
import { validateOptions } from '../solve/options.ts';
import { shareOptions } from '../solve/invert.ts';
import { solveCounterfactual, type CounterfactualOptions } from '../solve/counterfactual.ts';
import { runClauses } from './anyOf.ts';
import { isCounterfactual, withReports, type InvertResult } from './invert.ts';
import { attachExplanation } from './explain.ts';
import { runDiscrete, refuseDiscreteWith } from './discrete.ts';
import { hasDiscrete, withModelDiscrete } from '../problem/discrete.ts';
import { now } from '../solve/evaluator.ts';

/** Share of the time limit and boxes the distance lower bound may use (--closest-to --prove). */
const BOUND_SHARE = 0.25;
/** Share of the time limit and boxes each subset's infeasibility proof may use (--sparse --prove). */
const SUBSET_PROOF_SHARE = 0.1;

export function certify(model: Model, query: Query, options: CertifyOptions & CounterfactualOptions = {}): InvertResult {
  validateOptions(options);
  // the model's discrete inputs (a sidecar's integers / categorical / oneHot) are every query's defaults
  query = withModelDiscrete(model, query);
  if (query && typeof query === 'object' && query.anyOf !== undefined) {
    // a disjunction: each clause searched and proven in turn (api/anyOf.ts), an equal share of the
    // budget each; infeasible only when every clause is, with one certificate per clause
    return withReports(runClauses(query, (q, _i, of) => certify(model, q, shareOptions(options, of))));
  }
  if (hasDiscrete(query)) {
    // discrete unknowns: every assignment searched and proven on its own (api/discrete.ts);
    // infeasible only when every branch is proven infeasible, one certificate per branch
    if (isCounterfactual(options)) refuseDiscreteWith('--diverse / --sparse');
    return withReports(runDiscrete(model, query, options, (p, o) => searchAndCertify(p, o), true));
  }
  const t0 = now();
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  if (isCounterfactual(options)) {
    // --sparse with --prove: each subset whose search found nothing goes to branch-and-bound, so
    // that the fewest changes can be proven; --diverse is a search (no proof of dispersion)
    const { timeLimit, maxBoxes } = validateOptions(options);
    const started = performance.now();
    const prove = (sub: typeof problem): boolean => {
      // a share of the limit, never past what is left of it
      const left = timeLimit - (performance.now() - started) / 1000;
      if (!(left > 0)) return false;
      const share: CertifyOptions = { ...options, timeLimit: Math.min(left, timeLimit * SUBSET_PROOF_SHARE), maxBoxes: Math.max(1, Math.floor(maxBoxes * SUBSET_PROOF_SHARE)) };
      const c = searchAndCertify(sub, share);
      return c.status === 'infeasible' && c.proven;
    };
    return withReports(solveCounterfactual(problem, options, prove));
  }
  return finishCertify(problem, searchAndCertify(problem, options, t0), options, t0);
}

/**
 * certify() with the proof's branch-and-bound shared among `workers` (certify/proof/parallel.ts;
 * the caller supplies them: the CLI's threads are cli/vnnPool.ts ProofThreadPool, which build the
 * Problem of this very query and options). The same claims, certificates and reports as
 * certify(); a query proven piece by piece (anyOf clauses, discrete assignments) or a
 * counterfactual search runs as certify() does, on this thread. `parallel`: the hand-off's tuning
 * (boxes waiting per worker before it, boxes per work item; defaults in proof/parallel.ts).
 */
export async function certifyParallel(model: Model, query: Query, workers: ProofWorkers, options: CertifyOptions & CounterfactualOptions = {}, parallel: ParallelBnbOptions = {}): Promise<InvertResult> {
  validateOptions(options);
  // the model's discrete inputs first (as certify() adds them): a query with discrete unknowns is proven branch by branch
  query = withModelDiscrete(model, query);
  if (workers.size <= 1 || (query && typeof query === 'object' && query.anyOf !== undefined) || hasDiscrete(query) || isCounterfactual(options)) return certify(model, query, options);
  const t0 = now();
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  return finishCertify(problem, await searchAndCertifyParallel(problem, workers, options, t0, parallel), options, t0);
}

/** The distance bound (--closest-to), the explanation, the reports: after the proof. */
function finishCertify(problem: Problem, result: CertifiedResult, options: CertifyOptions & CounterfactualOptions, t0: number): InvertResult {
  if (problem.reference && result.closest && result.status === 'solved') {
    // --closest-to with a proof: a proven lower bound on the distance of any solution, by
    // branch-and-bound over the box (certify/proof/closestBound.ts), within the time left
    // (at most BOUND_SHARE of the time limit and of the boxes, never past the limit itself)
    const { timeLimit, maxBoxes } = validateOptions(options);
    const start = performance.now();
    const deadline = Number.isFinite(timeLimit) ? Math.min(t0 + timeLimit * 1000, start + BOUND_SHARE * timeLimit * 1000) : undefined;
    if (deadline === undefined || start < deadline) {
      const b = closestDistanceLowerBound(problem, result.closest.distance!, { maxBoxes: Math.max(1, Math.floor(BOUND_SHARE * maxBoxes)), ...(deadline !== undefined ? { deadline } : {}) });
      result.counterfactual = {
        ...result.counterfactual,
        distanceLowerBound: { bound: b.bound, norm: problem.distance, method: 'branch-and-bound', boxes: b.boxes, complete: b.complete },
      };
    }
  }
  // an infeasible or best-compromise answer says why, with the proof's larger budget (api/explain.ts)
  return withReports(attachExplanation(problem, result, options, true, t0));
}
