/**
 * A `netinvert worker` thread (jobPool.ts): answers the groups of queued queries the main thread
 * sends, one group at a time, each query with the same function as a local batch
 * (cli/batch/solveQuery.ts), and sends the group's answers back in one message. Models arrive once
 * per thread, as native JSON, and are kept by hash; a solver is kept per settings.
 */
import { parentPort } from 'node:worker_threads';
import type { Model } from '../model.ts';
import { loadNativeModel } from '../formats/native/load.ts';
import { answerQuery, solver, type Solver } from '../cli/batch/solveQuery.ts';
import type { JobReply, JobRequest, JobResult } from './jobPool.ts';

const port = parentPort!;
const models = new Map<string, Model>();
const solvers = new Map<string, Solver>();

async function answer(m: JobRequest, k: number): Promise<JobResult> {
  const data = m.jobs[k];
  const t0 = performance.now();
  try {
    const text = m.modelTexts?.[data.model];
    if (text !== undefined && !models.has(data.model)) models.set(data.model, loadNativeModel(text, `model ${data.model.slice(0, 12)}`));
    const model = models.get(data.model);
    if (!model) throw new Error(`model ${data.model} was not sent to this thread`);
    const key = JSON.stringify(data.settings);
    let run = solvers.get(key);
    if (!run) solvers.set(key, (run = await solver(data.settings)));
    const answer = await answerQuery(model, data.layout, data.q, data.settings, run);
    return { answer, ms: performance.now() - t0 };
  } catch (e) {
    return { failed: (e as Error)?.message ?? String(e) };
  }
}

// groups are answered in the order they arrive (the main thread sends one at a time)
let chain = Promise.resolve();
port.on('message', (m: JobRequest) => {
  chain = chain.then(async () => {
    const results: JobResult[] = [];
    for (let k = 0; k < m.jobs.length; k++) results.push(await answer(m, k));
    port.postMessage({ seq: m.seq, results } satisfies JobReply);
  });
});
