/**
 * Disjunctions (Query.anyOf): an answer must meet `want` and ONE of the clauses, each clause a
 * conjunction of targets. (want ∧ (C₁ ∨ … ∨ C_k)) = (want ∧ C₁) ∨ … ∨ (want ∧ C_k), so a solver
 * searches each conjunction in turn and a proof of infeasibility must cover every one.
 */
import { NetinvertError } from '../errors.ts';
import type { Query } from './query.ts';

/** The query as a list of conjunctive queries: [query] without anyOf, else want ∧ clause per clause. */
export function clauseQueries(query: Query): Query[] {
  const any = query.anyOf;
  if (any === undefined) return [query];
  if (!Array.isArray(any) || any.length === 0) {
    throw new NetinvertError('bad_query', 'anyOf must be a non-empty list of clauses (each an object of targets like want), e.g. [{"y0": {"ge": 1}}, {"y1": {"le": 0}}]');
  }
  const want = query.want ?? {};
  return any.map((clause, i) => {
    if (typeof clause !== 'object' || clause === null || Array.isArray(clause) || Object.keys(clause).length === 0) {
      throw new NetinvertError('bad_query', `anyOf clause ${i + 1} must be a non-empty object of targets like want (e.g. {"y0 - y1": {"le": 0}})`, { clause: i });
    }
    for (const k of Object.keys(clause)) {
      if (Object.hasOwn(want, k)) {
        throw new NetinvertError('duplicate_name', `anyOf clause ${i + 1} and want both constrain "${k}"; state it once (in want if every clause needs it)`, {
          clause: i,
          name: k,
        });
      }
    }
    const { anyOf: _drop, ...rest } = query;
    void _drop;
    return { ...rest, want: { ...want, ...clause } };
  });
}
