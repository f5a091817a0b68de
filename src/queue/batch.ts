/**
 * The batch side of the queue: `batch --queue URL` enqueues one job per query (and the model,
 * once, by hash); `--collect` waits for the jobs' answers. The answers file is written by the
 * collector alone, in the queries' order, each query handed over once (collect), so a query
 * answered twice (a job handed to a second worker after a stall) is still written once.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from '../model.ts';
import { saveNativeModel } from '../formats/native/load.ts';
import { errorRow } from '../cli/batch/answers.ts';
import type { Settings } from '../cli/batch/options.ts';
import type { Layout, QueryRow } from '../cli/batch/queries.ts';
import type { Answer } from '../cli/batch/solveQuery.ts';
import type { Arrival } from '../cli/batch/pool.ts';
import { connect, jobId, jobKey, modelKey, QUEUE_NAME, reachable, sha256, type JobData } from './redis.ts';

/** A failed job is tried this many times in all (a malformed query is an error row, not a failure). */
export const JOB_ATTEMPTS = 2;

export class QueueBatch {
  private constructor(
    readonly url: string,
    private readonly conn: Redis,
    private readonly queue: Queue<JobData, Answer>,
    private readonly model: Model,
    readonly batch: string,
    private readonly jobs: (q: QueryRow) => { name: string; data: JobData; opts: { jobId: string; attempts: number; removeOnComplete: false; removeOnFail: false } },
  ) {}

  /** Connects, stores the model (once: by the hash of its native JSON) and names the batch. */
  static async open(url: string, model: Model, s: Settings, layout: Layout): Promise<QueueBatch> {
    const conn = connect(url);
    try {
      await reachable(conn, url);
    } catch (e) {
      conn.disconnect();
      throw e;
    }
    const text = saveNativeModel(model);
    const mkey = sha256(text);
    await conn.set(modelKey(mkey), text, 'NX');
    const shape = { ...layout, file: '' };
    const batch = sha256(JSON.stringify({ model: mkey, settings: s, layout: shape })).slice(0, 16);
    const queue = new Queue<JobData, Answer>(QUEUE_NAME, { connection: conn });
    return new QueueBatch(url, conn, queue, model, batch, (q) => ({
      name: 'query',
      data: { batch, model: mkey, settings: s, layout, q },
      opts: { jobId: jobId(batch, q.id), attempts: JOB_ATTEMPTS, removeOnComplete: false, removeOnFail: false },
    }));
  }

  /** Enqueue the queries; a query already enqueued (same batch, same id) is left as it is. Returns how many were new. */
  async enqueue(rows: QueryRow[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const ids = chunk.map((q) => jobId(this.batch, q.id));
      const before = await Promise.all(ids.map((id) => this.conn.exists(jobKey(id))));
      added += before.filter((x) => x === 0).length;
      await this.queue.addBulk(chunk.map(this.jobs));
    }
    return added;
  }

  /**
   * Wait for the answers of `rows` (enqueued already), handing each group that a poll finds
   * finished to `arrive`. Polls the jobs' hashes in file order, up to COLLECT_WINDOW at a time, in
   * one pipelined round trip (robust to Redis restarts and lost event streams, unlike BullMQ's
   * events). A job that failed for good is an error row; a job that is gone (a Redis without
   * persistence, restarted) is enqueued again. Each query is handed over once, however often its
   * job was delivered. Returns when every query is answered, or soon after `stopped()` is true,
   * even while Redis is unreachable.
   */
  async collect(rows: QueryRow[], arrive: (got: Arrival[]) => void, stopped: () => boolean): Promise<void> {
    let left = rows.map((_q, i) => i);
    let wait = POLL_MIN_MS;
    while (left.length && !stopped()) {
      const window = left.slice(0, COLLECT_WINDOW);
      const pipe = this.conn.pipeline();
      for (const i of window) pipe.hmget(jobKey(jobId(this.batch, rows[i].id)), 'timestamp', 'finishedOn', 'returnvalue', 'failedReason', 'atm');
      const res = await untilStopped(pipe.exec(), stopped);
      if (res === STOPPED) return;
      const got: Arrival[] = [];
      const gone: QueryRow[] = [];
      window.forEach((i, k) => {
        const [err, v] = res?.[k] ?? [new Error('no reply'), null];
        if (err || !Array.isArray(v)) return;
        const [timestamp, finishedOn, returnvalue, failedReason, atm] = v as (string | null)[];
        const q = rows[i];
        if (timestamp === null) gone.push(q);
        else if (finishedOn !== null) {
          const a = parseAnswer(returnvalue);
          if (a) got.push({ i, answer: a });
          else if (failedReason !== null && Number(atm ?? 0) >= JOB_ATTEMPTS) {
            const msg = `error [queue_job_failed]: row ${q.row} (line ${q.line}): the worker could not answer it (${failedReason}); run the batch without --queue to see the error here`;
            got.push({ i, answer: { lines: [errorRow(this.model, q.id, msg)], status: 'error' } });
          }
        }
      });
      if (gone.length && (await untilStopped(this.queue.addBulk(gone.map(this.jobs)), stopped)) === STOPPED) return;
      if (got.length) {
        const seen = new Set(got.map((g) => g.i));
        left = left.filter((i) => !seen.has(i));
        arrive(got);
      }
      // poll again soon while answers come, less and less often while none do
      wait = got.length ? POLL_MIN_MS : Math.min(POLL_MAX_MS, wait * 2);
      if (left.length) await sleepUnlessStopped(wait, stopped);
    }
  }

  /** Close the connections; while Redis is unreachable, give up on it after a moment (nothing is left to send). */
  async close(): Promise<void> {
    await Promise.race([this.queue.close().catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    if (this.conn.status === 'ready') await this.conn.quit().catch(() => this.conn.disconnect());
    else this.conn.disconnect();
  }
}

/** Jobs polled at once by --collect, and the least and most time between two polls (ms). */
export const COLLECT_WINDOW = 1000;
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 1000;
/** How long close() waits for an unreachable Redis (ms). */
const CLOSE_WAIT_MS = 1000;

const STOPPED = Symbol('stopped');

/** `p`, or STOPPED as soon as `stopped()` is seen true (looked at every 100 ms): a command to a Redis that is down never hangs a stop. */
async function untilStopped<T>(p: Promise<T>, stopped: () => boolean): Promise<T | typeof STOPPED> {
  let timer: NodeJS.Timeout | undefined;
  const watch = new Promise<typeof STOPPED>((resolve) => {
    const look = (): void => {
      if (stopped()) resolve(STOPPED);
      else timer = setTimeout(look, 100);
    };
    look();
  });
  p.catch(() => {}); // a command rejected after the stop is of no interest
  try {
    return await Promise.race([p, watch]);
  } finally {
    clearTimeout(timer);
  }
}

async function sleepUnlessStopped(ms: number, stopped: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}

function parseAnswer(text: string | null): Answer | null {
  if (text === null) return null;
  try {
    const a = JSON.parse(text) as Answer | null;
    return a && Array.isArray(a.lines) ? a : null;
  } catch {
    return null;
  }
}
