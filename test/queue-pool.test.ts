/**
 * The queue worker's thread pool (src/queue/jobPool.ts): jobs waiting while a thread is busy go to
 * it as one group and come back in one message. Oracle: the same queries answered one by one on
 * this thread with answerQuery (the function a local batch uses); each job must get its own
 * query's answer, whatever the grouping, and a job whose model cannot be had fails alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { readSettings } from '../src/cli/batch/options.ts';
import { readQueries } from '../src/cli/batch/queries.ts';
import { answerQuery, solver } from '../src/cli/batch/solveQuery.ts';
import { JobPool } from '../src/queue/jobPool.ts';
import { sha256, type BatchJob } from '../src/queue/redis.ts';
import { mulberry32 } from '../src/numeric/rng.ts';

/** n random queries on the seed adder (its last input unknown), with the model's native text and hash. */
function seedQueries(n: number, seed: number) {
  const model = loadModelFile('models/seed-add.json');
  const text = saveNativeModel(model);
  const hash = sha256(text);
  const ins = model.graph.inputs.map((i) => i.name);
  const outs = model.graph.outputs.map((o) => o.name);
  const rand = mulberry32(seed);
  const lines = Array.from({ length: n }, (_v, i) => {
    const x = ins.map(() => (2 * rand() - 1).toString());
    x[x.length - 1] = ''; // the last input unknown
    return [`q${i}`, ...x, ...outs.map(() => (2 * rand() - 1).toFixed(3))].join(',');
  });
  const { layout, rows } = readQueries([['id', ...ins, ...outs].join(','), ...lines].join('\n') + '\n', model, 'q.csv');
  return { model, text, hash, layout, rows, s: readSettings({}, model) };
}

describe('queue job pool', () => {
  const pool = new JobPool(2);
  afterAll(() => pool.close());

  it('grouped jobs each get their own answer (equal to answering them one by one); a missing model fails only its jobs', async () => {
    const { model, text, hash, layout, rows, s } = seedQueries(40, 99);
    let asked = 0;
    const modelText = (): Promise<string> => {
      asked++;
      return Promise.resolve(text);
    };
    const data = (q: (typeof rows)[number], m = hash): BatchJob => ({ batch: 'b', model: m, settings: s, layout, q });
    // all at once: the pool groups the ones that wait
    const got = await Promise.all(rows.map((q) => pool.answer(data(q), modelText)));
    const run = await solver(s);
    for (let i = 0; i < rows.length; i++) expect(got[i]).toEqual(await answerQuery(model, layout, rows[i], s, run));
    // the model is fetched once per thread, not per job
    expect(asked).toBeLessThanOrEqual(2);
    // a model that is not to be had: its jobs fail, the others in the same groups are answered
    const missing = 'f'.repeat(64);
    const mixed = await Promise.allSettled(
      rows.slice(0, 12).map((q, i) => (i % 3 === 0 ? pool.answer(data(q, missing), () => Promise.reject(new Error('no such model'))) : pool.answer(data(q), modelText))),
    );
    mixed.forEach((r, i) => {
      if (i % 3 === 0) expect(r.status === 'rejected' && /no such model/.test(String(r.reason))).toBe(true);
      else expect(r.status === 'fulfilled' && r.value).toEqual(got[i]);
    });
  }, 60_000);

  it('a thread stopped while it holds groups: every job it held is answered again (alone), each with its own answer', async () => {
    // every timed query counts as fast here, so that a thread holds two groups (IN_FLIGHT)
    const pool2 = new JobPool(2, Infinity);
    try {
      const { model, text, hash, layout, rows, s } = seedQueries(120, 7);
      const data = (q: (typeof rows)[number]): BatchJob => ({ batch: 'b', model: hash, settings: s, layout, q });
      const modelText = (): Promise<string> => Promise.resolve(text);
      // first some answers, so that queries are timed (then a thread holds two groups)
      await Promise.all(rows.slice(0, 60).map((q) => pool2.answer(data(q), modelText)));
      const pending = rows.slice(60).map((q) => pool2.answer(data(q), modelText));
      const slots = (pool2 as unknown as { slots: { worker: { terminate(): Promise<number> }; jobs: { group: unknown[] }[] }[] }).slots;
      const held = slots[0].jobs.reduce((n, j) => n + j.group.length, 0);
      expect(held).toBeGreaterThan(1);
      await slots[0].worker.terminate();
      const got = await Promise.all(pending);
      const run = await solver(s);
      for (let i = 0; i < got.length; i++) expect(got[i]).toEqual(await answerQuery(model, layout, rows[i + 60], s, run));
    } finally {
      await pool2.close();
    }
  }, 60_000);
});
