/**
 * Ctrl-C on `solve`: the search runs in a worker thread (solveWorker.ts) while this thread
 * listens for SIGINT. On Ctrl-C the worker is stopped, one "interrupted" line says what
 * happened and how to get an answer in bounded time, and the exit code is 130 (128 + SIGINT).
 * Used by main.ts only; in-process callers (tests) run solveCommand directly.
 */
import { Worker } from 'node:worker_threads';
import { NetinvertError, type ErrorCode } from '../errors.ts';
import { INVERT_DEFAULTS } from '../solve/options.ts';
import type { IO } from './io.ts';
import { workerScript } from './workerScript.ts';

/** Exit code after Ctrl-C (128 + SIGINT), as batch uses. */
export const EXIT_INTERRUPTED = 130;

export type WorkerMessage =
  | { kind: 'out'; s: string }
  | { kind: 'err'; s: string }
  | { kind: 'done'; code: number }
  | { kind: 'error'; code: ErrorCode; message: string; detail: Record<string, unknown> }
  | { kind: 'internal'; message: string; stack: string };

export class InternalError extends Error {
  constructor(
    message: string,
    readonly workerStack: string,
  ) {
    super(message);
  }
}

export function solveInterruptibly(model: string, opts: Record<string, unknown>, io: IO): Promise<number> {
  const t0 = performance.now();
  const worker = new Worker(workerScript(import.meta.url, './solveWorker'), { eval: true, workerData: { model, opts } });
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    // the handler stays after the answer: a second SIGINT (a launcher passing Ctrl-C on) must
    // not kill the process half-way through its last lines
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
    };
    const onSigint = (): void => {
      finish(() => {
        void worker.terminate();
        const s = ((performance.now() - t0) / 1000).toFixed(1);
        const limit = String(opts.timeLimit ?? INVERT_DEFAULTS.timeLimit);
        io.err(
          `interrupted after ${s} s, before the search finished: no answer to report. ` +
            `To stop early with the best answer found so far, bound the run with --time-limit S (now ${limit} s) or --max-evaluations N` +
            (opts.prove ? ' (and --max-boxes N for the proof)' : ''),
        );
        resolve(EXIT_INTERRUPTED);
      });
    };
    process.on('SIGINT', onSigint);
    if (opts.verbose) io.err('solving… (Ctrl-C stops it)');
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'out') io.out(m.s);
      else if (m.kind === 'err') io.err(m.s);
      else if (m.kind === 'done') finish(() => {
        void worker.terminate();
        resolve(m.code);
      });
      else if (m.kind === 'error') finish(() => reject(new NetinvertError(m.code, m.message, m.detail)));
      else finish(() => reject(new InternalError(m.message, m.stack)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the solver thread stopped unexpectedly (exit code ${code})`))));
  });
}
