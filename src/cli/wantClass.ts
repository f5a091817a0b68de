/**
 * --want-class K [--margin m], the query file's "wantClass" / "margin" fields and batch's
 * want-class / margin columns: one path for all three. The class target is the linear output
 * specification logit_K − logit_j ≥ m for every j ≠ K (problem/targets.ts classTargets, the one
 * grammar), added to the query's conjunction `want` (and so to every --any clause); a form that
 * `want` already names is a duplicate_name error, never a silent overwrite.
 */
import { NetinvertError } from '../errors.ts';
import type { Query } from '../problem/query.ts';
import { classTargets } from '../problem/targets.ts';

/**
 * `query` with the class targets of `cls` (an output name, or its index) and `margin` added to
 * `want`. `what` names the source in errors ("--want-class", "query file q.json: field wantClass",
 * "row 3 (line 4), column \"want-class\"").
 */
export function addClassTargets(query: Query, outputNames: readonly string[], cls: string, margin: number, what: string): Query {
  const extra = classTargets(outputNames, cls, margin, what);
  const want = { ...query.want };
  for (const [k, spec] of Object.entries(extra)) {
    if (Object.hasOwn(want, k)) {
      throw new NetinvertError('duplicate_name', `${what} ${cls} makes the target "${k} >= ${margin}", which the wanted targets give too; give it once`, { name: k });
    }
    want[k] = spec;
  }
  return { ...query, want };
}
