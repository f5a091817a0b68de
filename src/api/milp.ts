/**
 * The public invertMilp(): build the Problem, solve it exactly by MILP (certify/milp/solve.ts),
 * attach the text reports. Async because HiGHS is WebAssembly loaded on first use.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { solveMilpProblem, type MilpInvertOptions } from '../certify/milp/solve.ts';
import { validateOptions } from '../solve/options.ts';
import { withReports, type InvertResult } from './invert.ts';

export async function invertMilp(model: Model, query: Query, options: MilpInvertOptions = {}): Promise<InvertResult> {
  validateOptions(options);
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  return withReports(await solveMilpProblem(problem, options));
}
