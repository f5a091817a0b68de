/**
 * The public invertMilp(): build the Problem, solve it exactly by MILP (certify/milp/solve.ts),
 * attach the text reports. Async because HiGHS is WebAssembly loaded on first use.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { solveMilpProblem, type MilpInvertOptions } from '../certify/milp/solve.ts';
import { validateOptions } from '../solve/options.ts';
import { shareOptions } from '../solve/invert.ts';
import { runClausesAsync } from './anyOf.ts';
import { withReports, type InvertResult } from './invert.ts';
import { attachExplanation } from './explain.ts';
import { now } from '../solve/evaluator.ts';
import { hasDiscrete } from '../problem/discrete.ts';
import { refuseDiscreteWith } from './discrete.ts';
import { invertMilpDiscrete } from './discreteMilp.ts';

export async function invertMilp(model: Model, query: Query, options: MilpInvertOptions = {}): Promise<InvertResult> {
  validateOptions(options);
  if (query && typeof query === 'object' && query.anyOf !== undefined) {
    // a disjunction: each clause in turn (api/anyOf.ts), an equal share of the time each
    return withReports(await runClausesAsync(query, (q, _i, of) => invertMilp(model, q, shareOptions(options, of))));
  }
  // discrete unknowns: one exact MILP with native integer columns (api/discreteMilp.ts)
  if (hasDiscrete(query)) {
    if (options.sparse || options.diverse !== undefined) refuseDiscreteWith('--diverse / --sparse');
    return withReports(await invertMilpDiscrete(model, query, options));
  }
  const t0 = now();
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  // an infeasible or best-compromise answer says why (api/explain.ts; branch-and-bound, the proof's budget)
  return withReports(attachExplanation(problem, await solveMilpProblem(problem, options), options, true, t0));
}
