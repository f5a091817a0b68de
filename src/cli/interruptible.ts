/**
 * Ctrl-C on `solve`: the search runs in a worker thread (solveWorker.ts) while this thread
 * listens for SIGINT. On Ctrl-C the search is asked to stop (a shared flag its budgets read), and
 * it reports the best answer found so far, marked as interrupted; a second Ctrl-C, or a search that
 * does not stop within a few seconds, ends it with one line on how to bound a run instead. The exit
 * code is 130 (128 + SIGINT) either way.
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

/** How long the search may take to stop and report after Ctrl-C before it is killed without an answer. */
const STOP_GRACE_MS = 5000;

export function solveInterruptibly(model: string, opts: Record<string, unknown>, io: IO): Promise<number> {
  const t0 = performance.now();
  // the first Ctrl-C sets this flag: the worker's budgets read it (solve/evaluator.ts setStopSignal),
  // so the search ends at its next budget check and reports the best answer found so far
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const worker = new Worker(workerScript(import.meta.url, './solveWorker'), { eval: true, workerData: { model, opts, stop } });
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    let stopping = false;
    let grace: ReturnType<typeof setTimeout> | null = null;
    // the handler stays after the answer: a second SIGINT (a launcher passing Ctrl-C on) must
    // not kill the process half-way through its last lines
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      if (grace) clearTimeout(grace);
      f();
    };
    const seconds = (): string => ((performance.now() - t0) / 1000).toFixed(1);
    const kill = (): void => {
      finish(() => {
        void worker.terminate();
        const limit = String(opts.timeLimit ?? INVERT_DEFAULTS.timeLimit);
        io.err(
          `interrupted after ${seconds()} s, before the search could report: no answer to report. ` +
            `To stop early with the best answer found so far, bound the run with --time-limit S (now ${limit} s) or --max-evaluations N` +
            (opts.prove ? ' (and --max-boxes N for the proof)' : ''),
        );
        resolve(EXIT_INTERRUPTED);
      });
    };
    const onSigint = (): void => {
      if (settled) return;
      if (stopping) return kill(); // a second Ctrl-C: stop at once
      stopping = true;
      Atomics.store(flag, 0, 1);
      io.err(`interrupted after ${seconds()} s: stopping the search to report the best answer found so far (Ctrl-C again to quit without it)`);
      grace = setTimeout(kill, STOP_GRACE_MS);
    };
    process.on('SIGINT', onSigint);
    if (opts.verbose) io.err('solving… (Ctrl-C stops it)');
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'out') io.out(m.s);
      else if (m.kind === 'err') io.err(m.s);
      else if (m.kind === 'done')
        finish(() => {
          void worker.terminate();
          if (stopping) io.err('interrupted: the answer above is what the search had found when it was stopped; it is not a finished search');
          resolve(stopping ? EXIT_INTERRUPTED : m.code);
        });
      else if (m.kind === 'error') finish(() => reject(new NetinvertError(m.code, m.message, m.detail)));
      else finish(() => reject(new InternalError(m.message, m.stack)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the solver thread stopped unexpectedly (exit code ${code})`))));
  });
}
