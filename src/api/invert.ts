/**
 * The public invert(): build the Problem, search it (solve/invert.ts), attach the text reports.
 * It lives above report/ so that the solve layer never imports the report layer.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { briefReport, fullReport } from '../report/brief.ts';
import type { CertifiedResult } from '../certify/certify.ts';
import { shareOptions, solveProblem, type InvertOptions } from '../solve/invert.ts';
import { solveCounterfactual, type CounterfactualOptions } from '../solve/counterfactual.ts';
import { runClauses } from './anyOf.ts';
import { validateOptions } from '../solve/options.ts';
import { now } from '../solve/evaluator.ts';
import { attachExplanation } from './explain.ts';
import { runDiscrete, refuseDiscreteWith } from './discrete.ts';
import { hasDiscrete, withModelDiscrete } from '../problem/discrete.ts';

/** A result with its text reports: briefReport() and fullReport() (non-enumerable: JSON sees plain data). */
export type InvertResult = CertifiedResult & { briefReport(): string; fullReport(): string };

/** Whether the options ask for a counterfactual control (--diverse, --sparse). */
export function isCounterfactual(options: CounterfactualOptions): boolean {
  return options.diverse !== undefined || !!options.sparse;
}

export function invert(model: Model, query: Query, options: InvertOptions & CounterfactualOptions = {}): InvertResult {
  validateOptions(options);
  // the model's discrete inputs (a sidecar's integers / categorical / oneHot) are every query's defaults
  query = withModelDiscrete(model, query);
  if (query && typeof query === 'object' && query.anyOf !== undefined) {
    // a disjunction: each clause in turn, with an equal share of the budget (api/anyOf.ts)
    return withReports(runClauses(query, (q, _i, of) => invert(model, q, shareOptions(options, of))));
  }
  if (hasDiscrete(query)) {
    // discrete unknowns: every assignment searched with the continuous rest free (api/discrete.ts)
    if (isCounterfactual(options)) refuseDiscreteWith('--diverse / --sparse');
    return withReports(runDiscrete(model, query, options, (p, o) => solveProblem(p, o)));
  }
  const t0 = now();
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  if (isCounterfactual(options)) return withReports(solveCounterfactual(problem, options));
  // an infeasible or best-compromise answer says why (api/explain.ts)
  return withReports(attachExplanation(problem, solveProblem(problem, options), options, false, t0));
}

/** Attach briefReport()/fullReport() as non-enumerable methods: JSON.stringify sees plain data. */
export function withReports(r: CertifiedResult): InvertResult {
  if (!Object.prototype.hasOwnProperty.call(r, 'briefReport')) {
    Object.defineProperty(r, 'briefReport', { value: () => briefReport(r), enumerable: false });
    Object.defineProperty(r, 'fullReport', { value: () => fullReport(r), enumerable: false });
  }
  return r as InvertResult;
}
