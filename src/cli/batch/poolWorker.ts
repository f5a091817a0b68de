/**
 * A batch pool thread (pool.ts): loads the model once, then answers the chunks of queries the
 * main thread sends, in the order they arrive, with the same function as a one-thread batch
 * (solveQuery.ts), and sends each chunk's answers back in one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NetinvertError } from '../../errors.ts';
import { loadModelFile } from '../loadModelFile.ts';
import type { Settings } from './options.ts';
import type { Layout } from './queries.ts';
import { answerQuery, solver, type Answer } from './solveQuery.ts';
import type { PoolReply, PoolRequest } from './pool.ts';

const port = parentPort!;
const { modelPath, meta, settings, layout } = workerData as { modelPath: string; meta?: string; settings: Settings; layout: Layout };
const send = (m: PoolReply): void => port.postMessage(m);

try {
  const model = loadModelFile(modelPath, meta);
  const run = await solver(settings);
  const inbox: PoolRequest[] = [];
  let busy = false;
  const work = async (): Promise<void> => {
    busy = true;
    while (inbox.length) {
      const m = inbox.shift()!;
      const answers: Answer[] = [];
      const ms: number[] = [];
      // answerQuery never throws: a failure is the query's error row
      for (const q of m.qs) {
        const t0 = performance.now();
        answers.push(await answerQuery(model, layout, q, settings, run));
        ms.push(performance.now() - t0);
      }
      send({ kind: 'answers', seq: m.seq, answers, ms });
    }
    busy = false;
  };
  port.on('message', (m: PoolRequest) => {
    inbox.push(m);
    if (!busy) void work();
  });
  send({ kind: 'ready', hash: model.hash });
} catch (e) {
  if (e instanceof NetinvertError) send({ kind: 'load-error', code: e.code, message: e.message });
  else send({ kind: 'load-error', code: null, message: (e as Error)?.message ?? String(e) });
}
