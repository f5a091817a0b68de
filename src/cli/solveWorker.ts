/**
 * `solve` run off the main thread, so that Ctrl-C can be answered: the solvers are synchronous,
 * and a JavaScript SIGINT handler runs only when the main thread's event loop is free. The main
 * thread (interruptible.ts) waits here for the answer, printing the lines this worker sends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NetinvertError } from '../errors.ts';
import { solveCommand } from './commands/solve.ts';
import type { WorkerMessage } from './interruptible.ts';
import { setStopSignal } from '../solve/evaluator.ts';

const port = parentPort!;
const send = (m: WorkerMessage): void => port.postMessage(m);
const { model, opts, stop } = workerData as { model: string; opts: Record<string, unknown>; stop: SharedArrayBuffer };
setStopSignal(new Int32Array(stop));

try {
  const code = await solveCommand(model, opts, { out: (s) => send({ kind: 'out', s }), err: (s) => send({ kind: 'err', s }) });
  send({ kind: 'done', code });
} catch (e) {
  if (e instanceof NetinvertError) {
    let detail: Record<string, unknown> = {};
    try {
      detail = JSON.parse(JSON.stringify(e.detail)) as Record<string, unknown>;
    } catch {
      // a detail that cannot cross threads is dropped; the message still says everything
    }
    send({ kind: 'error', code: e.code, message: e.message, detail });
  } else {
    send({ kind: 'internal', message: (e as Error)?.message ?? String(e), stack: String((e as Error)?.stack) });
  }
}
