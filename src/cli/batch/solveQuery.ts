/**
 * One batch query answered: the row's query built, solved with the batch's settings, and turned
 * into answer rows (or one error row). The same function runs in the main thread (--workers 1),
 * in each pool thread (--workers N) and in a queue worker (`netinvert worker`), so every way of
 * running a batch gives the same rows for the same query.
 *
 * Determinism: a query's answer depends on the model, the settings and the row alone. The
 * solvers are seeded with --seed (the same for every query), never with the order in which
 * queries are taken, so a query answered by any thread or machine gets the same rows (as long as
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

export type Solver = (model: Model, query: Query) => Promise<InvertResult>;

/** One query's answer: its rows (fields, not yet CSV) and the status the exit code counts. */
export interface Answer {
  lines: string[][];
  status: RowStatus;
}

/** One query through the chosen solver: MILP (async, loaded on first use), certify with --prove, else invert. */
export async function solver(s: Settings): Promise<Solver> {
  const options = {
    method: s.method === 'milp' ? ('lm' as const) : s.method,
    atol: s.atol,
    rtol: s.rtol,
    seed: s.seed,
    maxEvaluations: s.maxEvaluations,
    timeLimit: s.timeLimit,
    maxBoxes: s.maxBoxes,
  };
  if (s.method === 'milp') {
    const { invertMilp } = await import('../../api/milp.ts');
    return (model, query) => invertMilp(model, query, options);
  }
  const run = s.prove ? certify : invert;
  return async (model, query) => run(model, query, options);
}

/** The answer of one row; a user's mistake in the row (or any failure) is an error row, never a throw. */
export async function answerQuery(model: Model, layout: Layout, q: QueryRow, s: Settings, run: Solver): Promise<Answer> {
  try {
    const result = await run(model, rowQuery(layout, q, s));
    return { lines: answerRows(model, q.id, result, hasReference(layout, q)), status: result.status };
  } catch (e) {
    const msg =
      e instanceof NetinvertError
        ? `error [${e.code}]: ${e.message.startsWith('row ') ? '' : `row ${q.row} (line ${q.line}): `}${e.message}`
        : `internal error: ${(e as Error)?.message ?? String(e)} (please report this)`;
    return { lines: [errorRow(model, q.id, msg)], status: 'error' };
  }
}
