/**
 * The public certify(): build the Problem once, search it, prove (certify/certify.ts), attach
 * the text reports.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { searchAndCertify, type CertifyOptions } from '../certify/certify.ts';
import { validateOptions } from '../solve/options.ts';
import { withReports, type InvertResult } from './invert.ts';

export function certify(model: Model, query: Query, options: CertifyOptions = {}): InvertResult {
  validateOptions(options);
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  return withReports(searchAndCertify(problem, options));
}
