/**
 * A `netinvert worker` thread (jobPool.ts): answers one queued query at a time with the same
 * function as a local batch (cli/batch/solveQuery.ts). Models arrive once per thread, as native
 * JSON, and are kept by hash; a solver is kept per settings.
 */
import { parentPort } from 'node:worker_threads';
import type { Model } from '../model.ts';
import { loadNativeModel } from '../formats/native/load.ts';
import { answerQuery, solver, type Solver } from '../cli/batch/solveQuery.ts';
import type { JobReply, JobRequest } from './jobPool.ts';

const port = parentPort!;
const models = new Map<string, Model>();
const solvers = new Map<string, Solver>();

port.on('message', (m: JobRequest) => {
  void (async () => {
    try {
      if (m.modelText !== undefined) models.set(m.data.model, loadNativeModel(m.modelText, `model ${m.data.model.slice(0, 12)}`));
      const model = models.get(m.data.model);
      if (!model) throw new Error(`model ${m.data.model} was not sent to this thread`);
      const key = JSON.stringify(m.data.settings);
      let run = solvers.get(key);
      if (!run) solvers.set(key, (run = await solver(m.data.settings)));
      const answer = await answerQuery(model, m.data.layout, m.data.q, m.data.settings, run);
      port.postMessage({ seq: m.seq, answer } satisfies JobReply);
    } catch (e) {
      port.postMessage({ seq: m.seq, failed: (e as Error)?.message ?? String(e) } satisfies JobReply);
    }
  })();
});
