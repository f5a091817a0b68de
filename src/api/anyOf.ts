/**
 * Disjunctions (Query.anyOf) for every solver: (want ∧ (C₁ ∨ … ∨ C_k)) is searched as the k
 * conjunctions want ∧ Cᵢ in order (problem/clauses.ts). The first clause met gives the answer
 * (clauses after it are not searched: the answer says which clause it meets). When none is met,
 * the answer is infeasible only if EVERY clause is proven infeasible, and otherwise the closest
 * point over all clauses (best compromise, or unknown when a clause's search was cut short).
 */
import { clauseQueries } from '../problem/clauses.ts';
import type { Query } from '../problem/query.ts';
import type { CertifiedResult } from '../certify/certify.ts';

/** A clause's answer (api/invert.ts attaches the reports to the merged one). */
type InvertResult = CertifiedResult;

export type ClauseRunner<R> = (query: Query, clause: number, of: number) => R;

/** Run `run` per clause (synchronously), stopping at the first clause met. */
export function runClauses(query: Query, run: ClauseRunner<InvertResult>): InvertResult {
  const qs = clauseQueries(query);
  const results: InvertResult[] = [];
  for (let i = 0; i < qs.length; i++) {
    const r = run(qs[i], i, qs.length);
    results.push(r);
    if (r.status === 'solved') break;
  }
  return mergeClauseResults(results, qs.length);
}

/** Run `run` per clause (asynchronously, one after another), stopping at the first clause met. */
export async function runClausesAsync(query: Query, run: ClauseRunner<Promise<InvertResult>>): Promise<InvertResult> {
  const qs = clauseQueries(query);
  const results: InvertResult[] = [];
  for (let i = 0; i < qs.length; i++) {
    const r = await run(qs[i], i, qs.length);
    results.push(r);
    if (r.status === 'solved') break;
  }
  return mergeClauseResults(results, qs.length);
}

/** One answer from the clauses' answers (in clause order; the last may be the first solved). */
export function mergeClauseResults(results: InvertResult[], of: number): InvertResult {
  const summary: NonNullable<CertifiedResult['clauses']> = results.map((r, i) => ({
    index: i,
    targets: r.query.targets.map((t) => t.output),
    status: r.status,
    proven: r.proven,
    ...(r.certificate ? { certificate: r.certificate } : {}),
    // every clause explains itself (api/explain.ts ran per clause), not only the one answered
    ...(r.explanation ? { explanation: r.explanation } : {}),
  }));
  const last = results[results.length - 1];
  const sum = (f: (r: InvertResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const stats = {
    starts: sum((r) => r.stats.starts),
    iterations: sum((r) => r.stats.iterations),
    evaluations: sum((r) => r.stats.evaluations),
    jacobians: sum((r) => r.stats.jacobians),
    timeMs: sum((r) => r.stats.timeMs),
  };
  const warnings = [...new Set(results.flatMap((r) => r.warnings))];
  let out: InvertResult;
  if (last.status === 'solved') {
    const i = results.length - 1;
    out = last;
    out.message = `clause ${i + 1} of ${of} is met: ${last.message}`;
    warnings.push(
      `the disjunction's clauses were searched in order and clause ${i + 1} of ${of} is met${i > 0 ? ` (${i === 1 ? 'clause 1 was' : `clauses 1–${i} were`} not: see "clauses")` : ''}${i + 1 < of ? `; clauses after it were not searched` : ''}`,
    );
  } else if (results.every((r) => r.status === 'infeasible' && r.proven)) {
    out = last;
    out.message = `proven: none of the ${of} clauses can be met inside the bounds (each clause proven infeasible)`;
    out.complete = results.every((r) => r.complete);
    // one certificate covers one conjunction: the per-clause certificates are in `clauses`
    delete out.certificate;
  } else {
    // the closest point over the clauses
    let bi = -1;
    results.forEach((r, i) => {
      if (r.best && (bi < 0 || r.best.maxMiss < results[bi].best!.maxMiss)) bi = i;
    });
    out = bi >= 0 ? results[bi] : last;
    const anyUnknown = results.some((r) => r.status === 'unknown');
    out.status = anyUnknown ? 'unknown' : 'best-compromise';
    out.proven = !anyUnknown && results.every((r) => r.proven);
    out.complete = false;
    delete out.certificate;
    out.message = `no clause of the ${of} is met; the closest point found is for clause ${(bi < 0 ? results.length - 1 : bi) + 1} (${out.message})`;
  }
  out.query.clause = { index: results.indexOf(out), of };
  out.clauses = summary;
  out.warnings = warnings;
  out.stats = stats;
  return out;
}
