/**
 * One batch query answered: the row's query built, solved with the batch's settings, and turned
 * into answer rows (or one error row). The same function runs in the main thread (--workers 1),
 * in each pool thread (--workers N) and in a queue worker (`netinvert worker`), so every way of
 * running a batch gives the same rows for the same query.
 *
 * Determinism: a query's answer depends on the model, the settings and the row alone. Each
 * query's solver seed is querySeed(--seed, id), never anything about the order in which queries
 * are taken, so a query answered by any thread or machine gets the same rows (as long as
 * --time-limit does not cut the search: the default budget is the evaluation count).
 */
import { certify } from '../../api/certify.ts';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { Query } from '../../problem/query.ts';
import { invert, type InvertResult } from '../../api/invert.ts';
import { answerRows, errorRow, type RowStatus } from './answers.ts';
import type { Settings } from './options.ts';
import { hasReference, rowQuery, type Layout, type QueryRow } from './queries.ts';

export type Solver = (model: Model, query: Query, seed: number) => Promise<InvertResult>;

/**
 * The name of the per-query seeding scheme, recorded in the answers' meta file (resume.ts): a
 * file answered with another scheme is not resumed, since its rows were computed with other seeds.
 */
export const SEEDING = 'fnv1a32(seed NUL id)';

/**
 * The solver seed of one query: the 32-bit FNV-1a hash of the UTF-8 bytes of "<seed>\0<id>"
 * (Fowler, Noll, Vo; offset basis 2166136261, prime 16777619: IETF draft-eastlake-fnv), so
 * distinct queries get unrelated starts and a query's seed depends only on --seed and its id.
 */
export function querySeed(seed: number, id: string): number {
  const bytes = new TextEncoder().encode(`${seed}\0${id}`);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** One query's answer: its rows (fields, not yet CSV) and the status the exit code counts. */
export interface Answer {
  lines: string[][];
  status: RowStatus;
}

/**
 * One query through the chosen solver: MILP (async, loaded on first use), certify with --prove,
 * else invert. An infeasible or best-compromise answer carries its explanation (--explain-boxes,
 * as solve; its time is capped by api/explain.ts: no longer than the search took, or 2 s, within
 * --time-limit). A query with a reference (closest: cells) gets the counterfactual controls
 * (--diverse, --sparse), the same options object `solve` passes.
 */
export async function solver(s: Settings): Promise<Solver> {
  const options = {
    method: s.method === 'milp' ? ('lm' as const) : s.method,
    atol: s.atol,
    rtol: s.rtol,
    maxEvaluations: s.maxEvaluations,
    timeLimit: s.timeLimit,
    maxBoxes: s.maxBoxes,
    explainBoxes: s.explainBoxes ?? 0,
  };
  const counterfactual = {
    ...(s.diverse ? { diverse: s.diverse } : {}),
    ...(s.diverseRadius ? { diverseRadius: s.diverseRadius } : {}),
    ...(s.sparse ? { sparse: true } : {}),
  };
  const withReference = (query: Query): boolean => Object.keys(query.closestTo ?? {}).length > 0;
  if (s.method === 'milp') {
    const { invertMilp } = await import('../../api/milp.ts');
    return (model, query, seed) => invertMilp(model, query, { ...options, ...(withReference(query) ? counterfactual : {}), seed });
  }
  const run = s.prove ? certify : invert;
  return async (model, query, seed) => run(model, query, { ...options, ...(withReference(query) ? counterfactual : {}), seed });
}

/** The answer of one row; a user's mistake in the row (or any failure) is an error row, never a throw. */
export async function answerQuery(model: Model, layout: Layout, q: QueryRow, s: Settings, run: Solver): Promise<Answer> {
  try {
    const result = await run(model, rowQuery(layout, q, s), querySeed(s.seed, q.id));
    return { lines: answerRows(model, q.id, result, hasReference(layout, q)), status: result.status };
  } catch (e) {
    const msg =
      e instanceof NetinvertError
        ? `error [${e.code}]: ${e.message.startsWith('row ') ? '' : `row ${q.row} (line ${q.line}): `}${e.message}`
        : `internal error: ${(e as Error)?.message ?? String(e)} (please report this)`;
    return { lines: [errorRow(model, q.id, msg)], status: 'error' };
  }
}
