/**
 * The batch answers: CSV (RFC 4180 quoting, "\n" line ends), one row per solution.
 *
 *   id, status, complete, max_miss, n_solutions, solution, <every input>, <every output>, message
 *   status       solved | best-compromise | infeasible | unknown | error
 *   complete     true when a proof says the solution list holds every solution (--prove)
 *   n_solutions  how many solutions the query has in the answer
 *   solution     1..k: a query with k solutions writes k rows, one per solution, in the order
 *                `invert` returns them; with a closest:<input> reference it writes one row, the
 *                solution closest to the reference (solution = 1). Rows of other statuses have it
 *                empty: best-compromise and unknown rows carry the best point found (not a
 *                solution), infeasible and error rows leave the values empty.
 *   <input>      every input of that point, given and solved
 *   <output>     every output recomputed at that point by a fresh float64 forward pass
 *   max_miss     the largest unweighted miss over the targets at that point
 *   message      the result's message (and warnings), or the error
 *   why          infeasible / best-compromise: the explanation in plain words on one line (the
 *                brief report's text: each target's reachable range, the conflict, the least
 *                relaxation; for --any every clause's ranges); empty otherwise or with --explain-boxes 0
 *   explanation  the same as JSON (result.explanation, and each clause's under "clauses"), exact numbers
 *   counterfactual  rows with a reference and --diverse / --sparse / the monotone and fixed controls:
 *                JSON {"record": result.counterfactual, "solutions": [{inputs, distance, changed}, ...]}
 *                (closest first; --diverse: the K diverse solutions); empty otherwise
 *
 * A query's rows go out in one write. To a file (`AnswersFile`) each write is fsync'd; `-o -`
 * writes them to standard output instead (`AnswersStdout`).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { InvertResult } from '../../api/invert.ts';
import type { Solution, Status } from '../../solve/result.ts';
import { whyText } from '../../report/brief.ts';

export type RowStatus = Status | 'error';

/** The answers header for a model. */
export function answersHeader(model: Model): string[] {
  const net = model.network;
  return ['id', 'status', 'complete', 'max_miss', 'n_solutions', 'solution', ...net.inputNames, ...net.outputNames, 'message', ...EXTRA_COLUMNS];
}

/** The columns after message (see the header comment). */
export const EXTRA_COLUMNS = ['why', 'explanation', 'counterfactual'] as const;

/** Column indices in every answers row. */
export const COL = { id: 0, status: 1, complete: 2, maxMiss: 3, nSolutions: 4, solution: 5 } as const;

/** One CSV field, quoted per RFC 4180 when it holds a comma, quote, line break or edge space. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

const num = (x: number | undefined): string => (x === undefined ? '' : String(x));

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** The answer rows of one query. */
export function answerRows(model: Model, id: string, result: InvertResult, withReference: boolean): string[][] {
  const net = model.network;
  const notes = [result.message, ...result.warnings.map((w) => `warning: ${w}`)].join('; ');
  const point = (p: Solution | undefined): string[] => [
    ...net.inputNames.map((k) => num(p?.inputs[k])),
    ...net.outputNames.map((k) => num(p?.outputs[k])),
  ];
  const head = (p: Solution | undefined, index: string): string[] => [
    id,
    result.status,
    String(result.complete),
    num(p?.maxMiss),
    String(result.solutions.length),
    index,
  ];
  const extra = [whyLine(result), explanationJson(result), counterfactualJson(result, withReference)];
  if (result.status === 'solved' && result.solutions.length) {
    const sols = withReference ? [result.closest ?? result.solutions[0]] : result.solutions;
    return sols.map((s, i) => [...head(s, String(i + 1)), ...point(s), oneLine(notes), ...extra]);
  }
  const p = result.status === 'infeasible' ? undefined : result.best;
  return [[...head(p, ''), ...point(p), oneLine(notes), ...extra]];
}

/** The brief report's explanation (report/brief.ts whyText) on one line: "why (…): a; b; c". */
function whyLine(result: InvertResult): string {
  const lines = whyText(result)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // a header line ("why …:") runs into its first item; items are separated by "; "
  return lines.reduce((acc, l) => (acc === '' ? l : acc.endsWith(':') ? `${acc} ${l}` : `${acc}; ${l}`), '');
}

/** result.explanation as JSON, with each clause's explanation for a disjunction ('' when none). */
function explanationJson(result: InvertResult): string {
  const clauses = (result.clauses ?? []).filter((c) => c.explanation).map((c) => ({ clause: c.index + 1, explanation: c.explanation }));
  if (!result.explanation && !clauses.length) return '';
  return JSON.stringify({ ...(result.explanation ?? {}), ...(clauses.length ? { clauses } : {}) });
}

/** The counterfactual record and the solutions it chose (closest first), as JSON; '' without one. */
function counterfactualJson(result: InvertResult, withReference: boolean): string {
  if (!withReference || !result.counterfactual) return '';
  const solutions = result.status === 'solved' ? result.solutions.map((s) => ({ inputs: s.inputs, distance: s.distance, ...(s.changed ? { changed: s.changed } : {}) })) : [];
  return JSON.stringify({ record: result.counterfactual, solutions });
}

export function errorRow(model: Model, id: string, message: string): string[] {
  const net = model.network;
  return [id, 'error', '', '', '', '', ...net.inputNames.map(() => ''), ...net.outputNames.map(() => ''), oneLine(message), ...EXTRA_COLUMNS.map(() => '')];
}

/** Where the answer rows go. */
export interface AnswersSink {
  /** What the summary line calls it. */
  readonly name: string;
  /** Write whole lines (each ending in "\n"); on disk when this returns, for a file. */
  append(text: string): void;
  close(): void;
}

/** An answers file opened for appending: every write is followed by fsync. */
export class AnswersFile implements AnswersSink {
  private readonly fd: number;
  constructor(readonly name: string) {
    try {
      this.fd = openSync(name, 'a');
    } catch (e) {
      throw new NetinvertError('bad_argument', `${name}: cannot write the answers (${(e as Error).message}); check that the folder exists and is writable`, {
        file: name,
      });
    }
  }
  append(text: string): void {
    writeSync(this.fd, text);
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** `-o -`: the answers go to standard output, through the CLI's output sink (one call per query). */
export class AnswersStdout implements AnswersSink {
  readonly name = 'standard output';
  constructor(private readonly out: (s: string) => void) {}
  append(text: string): void {
    // the sink ends each call with a line break; the text already ends with one
    this.out(text.endsWith('\n') ? text.slice(0, -1) : text);
  }
  close(): void {}
}
