/**
 * `netinvert worker URL [--concurrency N]`: take queued queries from Redis (BullMQ), answer each
 * with the same function as a local batch, and store the answer rows as the job's return value.
 *
 * Faults: a job whose worker dies (SIGKILL, power loss) stops having its lock renewed; after
 * --lock-ms BullMQ's stalled-job check hands it to another worker. A malformed query is answered
 * with an error row (the job succeeds: no retry loop). A job that fails for another reason (the
 * model or the batch's info missing from Redis, a thread crash) is retried once, then recorded as failed; the
 * collector writes an error row for it.
 */
import { Worker, type Job } from 'bullmq';
import { JobPool } from './jobPool.ts';
import { batchKey, connect, JOB_ATTEMPTS, modelKey, QUEUE_NAME, reachable, type BatchInfo, type JobAnswers, type JobData } from './redis.ts';

/**
 * Groups claimed per thread: the ones it holds (JobPool.inFlight(): for fast queries one answered
 * and one in its inbox) and one waiting in the pool (a group: JobPool.groupSize() jobs); two per
 * thread at first, before queries are timed.
 */
const PREFETCH_GROUPS = 2;

export interface WorkerOptions {
  concurrency: number;
  /** How long a job stays claimed without its lock being renewed before another worker may take it (ms). */
  lockMs: number;
  log: (s: string) => void;
  signal?: AbortSignal;
  /** After a stop, how long to wait for an unreachable Redis to come back before giving up (ms; default 5000). */
  stopWaitMs?: number;
}

/**
 * Runs until `signal` aborts (or SIGINT/SIGTERM in the CLI); finishes the jobs under way and
 * stores their answers first. Returns true after a clean stop; false when Redis stayed unreachable
 * for `stopWaitMs` after the stop: the answers not stored are dropped, and their jobs, still
 * claimed in Redis, go to another worker once Redis is back (BullMQ's stalled-job check, after
 * --lock-ms), so no query is lost.
 */
export async function runQueueWorker(url: string, o: WorkerOptions): Promise<boolean> {
  const conn = connect(url);
  let down = false;
  const unreachable = (e: Error): void => {
    if (down) return;
    down = true;
    o.log(`worker: cannot reach Redis at ${url} (${e.message}); retrying: the queries under way keep their answers until it is back`);
  };
  conn.on('error', unreachable);
  await reachable(conn, url);
  const pool = new JobPool(o.concurrency);
  // a model (by hash) and a batch's info are read from Redis once; one that is missing is looked for again by the next job
  const stored = new Map<string, Promise<string>>();
  const read = (key: string, what: string): Promise<string> => {
    let p = stored.get(key);
    if (!p) {
      p = conn.get(key).then((t) => {
        if (t === null) {
          stored.delete(key);
          throw new Error(`${what} is not in Redis (${key}); enqueue the batch again`);
        }
        return t;
      });
      stored.set(key, p);
    }
    return p;
  };
  const modelText = (hash: string) => (): Promise<string> => read(modelKey(hash), `the model ${hash}`);
  const infos = new Map<string, Promise<BatchInfo>>();
  const batchInfo = (batch: string): Promise<BatchInfo> => {
    let p = infos.get(batch);
    if (!p) {
      p = read(batchKey(batch), `the batch ${batch}`).then((t) => JSON.parse(t) as BatchInfo);
      p.catch(() => infos.delete(batch));
      infos.set(batch, p);
    }
    return p;
  };
  let done = 0,
    started = 0,
    failed = 0,
    gaveUp = false;
  // auto-pipelined: the jobs of a group finish in the same tick (jobPool.ts), and their answers
  // (each with the fetch of the next job) go to Redis in one write
  const workerConn = conn.duplicate({ enableAutoPipelining: true });
  workerConn.on('error', unreachable);
  const back = (): void => {
    if (!down) return;
    down = false;
    o.log(`worker: Redis at ${url} is reachable again`);
  };
  conn.on('ready', back);
  workerConn.on('ready', back);
  const worker = new Worker<JobData, JobAnswers>(
    QUEUE_NAME,
    async (job: Job<JobData, JobAnswers>) => {
      started++;
      const { batch, qs } = job.data;
      const info = await batchInfo(batch);
      const results = await Promise.allSettled(qs.map((q) => pool.answer({ ...info, batch, q }, modelText(info.model))));
      const lost = results.find((r) => r.status === 'rejected');
      // a query whose thread failed: the job is tried again; on its last attempt a chunk keeps the
      // other queries' answers (the failed one: an error row), a job of one query fails
      if (lost && (qs.length === 1 || job.attemptsMade + 1 < JOB_ATTEMPTS)) throw lost.reason;
      const answers: JobAnswers = results.map((r) => (r.status === 'fulfilled' ? r.value : { failed: String((r.reason as Error)?.message ?? r.reason) }));
      // claim as many jobs as the groups need: more for fast queries, two per thread for slow ones;
      // and always one more than the threads, so that a job of many queries (--chunk) is already
      // there when the last group of the one before it finishes
      const want = Math.max(o.concurrency + 1, Math.ceil((o.concurrency * (pool.inFlight() + 1) * pool.groupSize()) / qs.length));
      if (worker.concurrency !== want) worker.concurrency = want;
      // BullMQ retries storing an answer for ever while Redis is unreachable (and, once the
      // connections are dropped, without pause), so the answer waits here until Redis is back;
      // after a stop that gave up on Redis it never leaves (the job stays claimed in Redis and
      // goes to another worker)
      while (conn.status !== 'ready' || workerConn.status !== 'ready') {
        if (gaveUp) return new Promise<JobAnswers>(() => {});
        await new Promise((r) => setTimeout(r, 100));
      }
      return answers;
    },
    {
      connection: workerConn,
      // PREFETCH_GROUPS jobs per thread at first (groups of one): while a thread answers one query
      // the next is already fetched from Redis, so no thread idles through a Redis round trip;
      // once queries are timed, the groups a thread holds and one more (see `want` above)
      concurrency: o.concurrency * PREFETCH_GROUPS,
      lockDuration: o.lockMs,
      stalledInterval: o.lockMs,
      maxStalledCount: 2,
      autorun: true,
    },
  );
  worker.on('completed', () => done++);
  worker.on('failed', () => failed++);
  worker.on('error', (e) => {
    // connection errors are told once, by `unreachable`
    if (!down && !/ECONNREFUSED|ECONNRESET|Connection is closed/.test(e.message)) o.log(`worker: ${e.message}`);
  });
  const blocking = (await worker.waitUntilReady()) as unknown as { disconnect(): void };
  o.log(`worker: taking queries from ${url} with ${o.concurrency} thread${o.concurrency === 1 ? '' : 's'} (Ctrl-C stops after the queries under way)`);
  await new Promise<void>((resolve) => {
    if (o.signal?.aborted) resolve();
    o.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  // a graceful stop: no new jobs, the jobs under way finish and their answers are stored (pause
  // waits for them; close then only lets go of the connections). It waits as long as the jobs
  // take, but not for a Redis that stays unreachable: then close(true) does not wait for them
  // (a graceful close would wait for ever, and its lock-renewal timer would keep the process alive).
  const closing = worker.pause().then(
    () => true,
    () => true,
  );
  const wait = o.stopWaitMs ?? 5000;
  let downFor = 0,
    clean = true;
  for (;;) {
    const closed = await Promise.race([closing, new Promise<false>((r) => setTimeout(() => r(false), 200))]);
    if (closed) break;
    downFor = conn.status === 'ready' && workerConn.status === 'ready' ? 0 : downFor + 200;
    if (downFor >= wait) {
      clean = false;
      gaveUp = true;
      break;
    }
  }
  if (!clean) {
    const lost = Math.max(0, started - done - failed);
    o.log(
      `worker: Redis at ${url} stayed unreachable for ${wait / 1000} s after the stop: stopping without storing ${lost} ${lost === 1 ? 'answer' : 'answers'}; ` +
        `${lost === 1 ? 'its query stays' : 'their queries stay'} claimed in Redis and ${lost === 1 ? 'goes' : 'go'} to another worker ${o.lockMs / 1000} s after Redis is back`,
    );
    // drop the connections: their queued commands fail
    blocking.disconnect();
    workerConn.disconnect();
    conn.disconnect();
    await Promise.race([worker.close(true).catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  await pool.close();
  if (clean) {
    await worker.close();
    // BullMQ leaves a connection it was given open
    await workerConn.quit().catch(() => workerConn.disconnect());
    await conn.quit().catch(() => conn.disconnect());
  }
  o.log(`worker: stopped after answering ${done} ${done === 1 ? 'query' : 'queries'}`);
  return clean;
}
