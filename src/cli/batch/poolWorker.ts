/**
 * A batch pool thread (pool.ts): loads the model once, then answers the queries the main thread
 * sends, one at a time, with the same function as a one-thread batch (solveQuery.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NetinvertError } from '../../errors.ts';
import { loadModelFile } from '../loadModelFile.ts';
import type { Settings } from './options.ts';
import type { Layout, QueryRow } from './queries.ts';
import { answerQuery, solver } from './solveQuery.ts';
import type { PoolReply, PoolRequest } from './pool.ts';

const port = parentPort!;
const { modelPath, meta, settings, layout } = workerData as { modelPath: string; meta?: string; settings: Settings; layout: Layout };
const send = (m: PoolReply): void => port.postMessage(m);

try {
  const model = loadModelFile(modelPath, meta);
  const run = await solver(settings);
  port.on('message', (m: PoolRequest) => {
    void answerQuery(model, layout, m.q as QueryRow, settings, run).then(
      (answer) => send({ kind: 'answer', seq: m.seq, answer }),
      (e: unknown) => send({ kind: 'failed', seq: m.seq, message: (e as Error)?.message ?? String(e) }),
    );
  });
  send({ kind: 'ready', hash: model.hash });
} catch (e) {
  if (e instanceof NetinvertError) send({ kind: 'load-error', code: e.code, message: e.message });
  else send({ kind: 'load-error', code: null, message: (e as Error)?.message ?? String(e) });
}
