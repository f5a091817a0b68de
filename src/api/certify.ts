/**
 * The public certify(): build the Problem once, search it, prove (certify/certify.ts), attach
 * the text reports.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { searchAndCertify, type CertifyOptions } from '../certify/certify.ts';
import { validateOptions } from '../solve/options.ts';
import { shareOptions } from '../solve/invert.ts';
import { runClauses } from './anyOf.ts';
import { withReports, type InvertResult } from './invert.ts';
import { attachExplanation } from './explain.ts';
import { now } from '../solve/evaluator.ts';

export function certify(model: Model, query: Query, options: CertifyOptions = {}): InvertResult {
  validateOptions(options);
  if (query && typeof query === 'object' && query.anyOf !== undefined) {
    // a disjunction: each clause searched and proven in turn (api/anyOf.ts), an equal share of the
    // budget each; infeasible only when every clause is, with one certificate per clause
    return withReports(runClauses(query, (q, _i, of) => certify(model, q, shareOptions(options, of))));
  }
  const t0 = now();
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  // an infeasible or best-compromise answer says why, with the proof's larger budget (api/explain.ts)
  return withReports(attachExplanation(problem, searchAndCertify(problem, options, t0), options, true, t0));
}
