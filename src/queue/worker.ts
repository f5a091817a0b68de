/**
 * `netinvert worker URL [--concurrency N]`: take queued queries from Redis (BullMQ), answer each
 * with the same function as a local batch, and store the answer rows as the job's return value.
 *
 * Faults: a job whose worker dies (SIGKILL, power loss) stops having its lock renewed; after
 * --lock-ms BullMQ's stalled-job check hands it to another worker. A malformed query is answered
 * with an error row (the job succeeds: no retry loop). A job that fails for another reason (the
 * model missing from Redis, a thread crash) is retried once, then recorded as failed; the
 * collector writes an error row for it.
 */
import { Worker, type Job } from 'bullmq';
import type { Answer } from '../cli/batch/solveQuery.ts';
import { JobPool } from './jobPool.ts';
import { connect, modelKey, QUEUE_NAME, reachable, type JobData } from './redis.ts';

export interface WorkerOptions {
  concurrency: number;
  /** How long a job stays claimed without its lock being renewed before another worker may take it (ms). */
  lockMs: number;
  log: (s: string) => void;
  signal?: AbortSignal;
}

/** Runs until `signal` aborts (or SIGINT/SIGTERM in the CLI); finishes the jobs under way first. */
export async function runQueueWorker(url: string, o: WorkerOptions): Promise<void> {
  const conn = connect(url);
  await reachable(conn, url);
  const pool = new JobPool(o.concurrency);
  const models = new Map<string, Promise<string>>();
  const modelText = (key: string) => (): Promise<string> => {
    let p = models.get(key);
    if (!p) {
      p = conn.get(modelKey(key)).then((t) => {
        if (t === null) {
          models.delete(key);
          throw new Error(`the model ${key} is not in Redis (${modelKey(key)}); enqueue the batch again`);
        }
        return t;
      });
      models.set(key, p);
    }
    return p;
  };
  let done = 0;
  const workerConn = conn.duplicate();
  const worker = new Worker<JobData, Answer>(
    QUEUE_NAME,
    async (job: Job<JobData, Answer>) => {
      const a = await pool.answer(job.data, modelText(job.data.model));
      done++;
      return a;
    },
    {
      connection: workerConn,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: o.lockMs,
      maxStalledCount: 2,
      autorun: true,
    },
  );
  worker.on('error', (e) => o.log(`worker: ${e.message}`));
  await worker.waitUntilReady();
  o.log(`worker: taking queries from ${url} with ${o.concurrency} thread${o.concurrency === 1 ? '' : 's'} (Ctrl-C stops after the queries under way)`);
  await new Promise<void>((resolve) => {
    if (o.signal?.aborted) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
  await pool.close();
  // BullMQ leaves a connection it was given open
  await workerConn.quit().catch(() => workerConn.disconnect());
  await conn.quit().catch(() => conn.disconnect());
  o.log(`worker: stopped after answering ${done} ${done === 1 ? 'query' : 'queries'}`);
}
