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
 *
 * A query's rows go out in one write. To a file (`AnswersFile`) each write is fsync'd; `-o -`
 * writes them to standard output instead (`AnswersStdout`).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { InvertResult } from '../../api/invert.ts';
import type { Solution, Status } from '../../solve/result.ts';

export type RowStatus = Status | 'error';

/** The answers header for a model. */
export function answersHeader(model: Model): string[] {
  const net = model.network;
  return ['id', 'status', 'complete', 'max_miss', 'n_solutions', 'solution', ...net.inputNames, ...net.outputNames, 'message'];
}

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
  if (result.status === 'solved' && result.solutions.length) {
    const sols = withReference ? [result.closest ?? result.solutions[0]] : result.solutions;
    return sols.map((s, i) => [...head(s, String(i + 1)), ...point(s), oneLine(notes)]);
  }
  const p = result.status === 'infeasible' ? undefined : result.best;
  return [[...head(p, ''), ...point(p), oneLine(notes)]];
}

export function errorRow(model: Model, id: string, message: string): string[] {
  const net = model.network;
  return [id, 'error', '', '', '', '', ...net.inputNames.map(() => ''), ...net.outputNames.map(() => ''), oneLine(message)];
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
