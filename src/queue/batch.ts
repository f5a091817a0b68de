/**
 * The batch side of the queue: `batch --queue URL` enqueues one job per query (and the model,
 * once, by hash, and what the batch's jobs share, once: redis.ts); `--collect` waits for the jobs' answers. The answers file is written by the
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
import { batchKey, connect, JOB_ATTEMPTS, jobId, jobKey, modelKey, QUEUE_NAME, reachable, sha256, type BatchInfo, type JobAnswers, type JobData } from './redis.ts';

/** Where a query's answer comes from: its job, its place in the job's queries, and the job's queries. */
interface Place {
  job: string;
  pos: number;
  group: QueryRow[];
}

type JobSpec = { name: string; data: JobData; opts: { jobId: string; attempts: number; removeOnComplete: false; removeOnFail: false } };

export class QueueBatch {
  private constructor(
    readonly url: string,
    private readonly conn: Redis,
    private readonly queue: Queue<JobData, JobAnswers>,
    private readonly model: Model,
    readonly batch: string,
    /** Each row of the queries file (by identity): its job. */
    private readonly places: Map<QueryRow, Place>,
  ) {}

  /**
   * Connects, stores the model (once: by the hash of its native JSON), names the batch and stores
   * its BatchInfo (once). `rows` are every row of the queries file, in its order: with `chunk` K > 1
   * each K consecutive rows are one job (whichever of them a run still needs, so that a resumed
   * --collect finds the jobs the first enqueue made).
   */
  static async open(url: string, model: Model, s: Settings, layout: Layout, rows: QueryRow[], chunk = 1): Promise<QueueBatch> {
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
    await conn.set(batchKey(batch), JSON.stringify({ model: mkey, settings: s, layout } satisfies BatchInfo), 'NX');
    const queue = new Queue<JobData, JobAnswers>(QUEUE_NAME, { connection: conn });
    const places = new Map<QueryRow, Place>();
    for (let i = 0; i < rows.length; i += chunk) {
      const group = rows.slice(i, i + chunk);
      const job = jobId(batch, group.map((q) => q.id));
      group.forEach((q, pos) => places.set(q, { job, pos, group }));
    }
    return new QueueBatch(url, conn, queue, model, batch, places);
  }

  private place(q: QueryRow): Place {
    const p = this.places.get(q);
    if (!p) throw new Error(`query ${q.id} (row ${q.row}) is not a row of the batch's queries file`);
    return p;
  }

  /** The jobs of `rows` (each once, in order). */
  private jobsOf(rows: QueryRow[]): JobSpec[] {
    const seen = new Set<string>();
    const specs: JobSpec[] = [];
    for (const q of rows) {
      const { job, group } = this.place(q);
      if (seen.has(job)) continue;
      seen.add(job);
      specs.push({ name: 'query', data: { batch: this.batch, qs: group }, opts: { jobId: job, attempts: JOB_ATTEMPTS, removeOnComplete: false, removeOnFail: false } });
    }
    return specs;
  }

  /** Enqueue the jobs of `rows`; a job already enqueued (same batch, same ids) is left as it is. Returns how many of `rows` were new. */
  async enqueue(rows: QueryRow[]): Promise<number> {
    const specs = this.jobsOf(rows);
    const fresh = new Set<string>();
    for (let i = 0; i < specs.length; i += 1000) {
      const chunk = specs.slice(i, i + 1000);
      // one pipelined round trip (one write, one read) for the chunk's existence checks
      const pipe = this.conn.pipeline();
      for (const j of chunk) pipe.exists(jobKey(j.opts.jobId));
      const before = ((await pipe.exec()) ?? []).map(([err, n]) => (err ? 0 : (n as number)));
      // only the new ones go to BullMQ (one script call each); one added meanwhile by another
      // enqueuer is still harmless: BullMQ leaves a job whose id exists as it is
      const add = chunk.filter((_j, k) => before[k] === 0);
      for (const j of add) fresh.add(j.opts.jobId);
      if (add.length) await this.queue.addBulk(add);
    }
    return rows.filter((q) => fresh.has(this.place(q).job)).length;
  }

  /**
   * Wait for the answers of `rows` (enqueued already), handing each group of answers found to
   * `arrive`. Two ways in, both idempotent (each query is handed over once, however often its job
   * was delivered or seen):
   *   - the queue's event stream (BullMQ's `completed` / `failed` events, read from a cursor): each
   *     poll reads only what happened since the last one, and a completed event carries the answers,
   *     so a running batch costs one XREAD per poll instead of re-reading every pending job;
   *   - a sweep of the jobs' hashes in file order, up to COLLECT_WINDOW at a time, in one pipelined
   *     round trip, every SWEEP_MS (at once again while a sweep finds many answers: a collector
   *     started late, or events trimmed away). It is what makes the collector robust to Redis
   *     restarts and lost or trimmed event streams: a job that failed for good is an error row; a
   *     job that is gone (a Redis without persistence, restarted) is enqueued again.
   * Returns when every query is answered, or soon after `stopped()` is true, even while Redis is
   * unreachable.
   */
  async collect(rows: QueryRow[], arrive: (got: Arrival[]) => void, stopped: () => boolean): Promise<void> {
    const places = rows.map((q) => this.place(q));
    // rows that share a job (a chunk, or rows with the same id)
    const byJob = new Map<string, number[]>();
    places.forEach(({ job }, i) => {
      const at = byJob.get(job);
      if (at) at.push(i);
      else byJob.set(job, [i]);
    });
    const answered = new Uint8Array(rows.length);
    let left = rows.length;
    /** Queries not yet handed over, in file order (compacted now and then). */
    let order = rows.map((_q, i) => i);
    const hand = (got: Arrival[]): void => {
      const fresh = got.filter((g) => !answered[g.i] && (answered[g.i] = 1));
      if (!fresh.length) return;
      left -= fresh.length;
      arrive(fresh);
    };
    // the stream's cursor is read before the first sweep: what finishes after that sweep read its job is in the stream
    const last = await untilStopped(this.conn.xrevrange(EVENTS_KEY, '+', '-', 'COUNT', 1), stopped);
    if (last === STOPPED) return;
    let cursor = last.length ? last[0][0] : '0-0';
    let wait = POLL_MIN_MS;
    let sweepAt = 0;
    while (left && !stopped()) {
      let got = 0;
      if (Date.now() >= sweepAt) {
        order = order.filter((i) => !answered[i]);
        const window = order.slice(0, COLLECT_WINDOW);
        const r = await this.look(window, rows, places, byJob, stopped);
        if (r === STOPPED) return;
        hand(r);
        got += r.length;
        // a sweep that finds many answers the stream did not bring (a late start, lost events) sweeps again at once
        sweepAt = r.length * 4 >= window.length ? 0 : Date.now() + SWEEP_MS;
      } else {
        const res = await untilStopped(this.conn.xread('COUNT', EVENTS_PER_READ, 'STREAMS', EVENTS_KEY, cursor), stopped);
        if (res === STOPPED) return;
        const entries = res?.[0]?.[1] ?? [];
        const fromEvents: Arrival[] = [];
        const check: number[] = [];
        for (const [id, fields] of entries) {
          cursor = id;
          // fields: event, <name>, jobId, <id>, then the event's own (returnvalue / failedReason), prev
          if (fields[1] !== 'completed' && fields[1] !== 'failed') continue;
          const at = fields[2] === 'jobId' ? byJob.get(fields[3]) : undefined;
          if (!at) continue;
          const a = fields[1] === 'completed' && fields[4] === 'returnvalue' ? parseAnswers(fields[5], places[at[0]].group.length) : null;
          for (const i of at) {
            if (answered[i]) continue;
            if (a) fromEvents.push({ i, answer: this.answerOf(a[places[i].pos], rows[i]) });
            else check.push(i);
          }
        }
        hand(fromEvents);
        got += fromEvents.length;
        if (check.length) {
          const r = await this.look(check, rows, places, byJob, stopped);
          if (r === STOPPED) return;
          hand(r);
          got += r.length;
        }
        // a full read: more events wait
        if (entries.length >= EVENTS_PER_READ) continue;
      }
      // poll again soon while answers come, less and less often while none do
      wait = got ? POLL_MIN_MS : Math.min(POLL_MAX_MS, wait * 2);
      if (left) await sleepUnlessStopped(Math.min(wait, Math.max(0, sweepAt - Date.now())), stopped);
    }
  }

  /** A job's result for query q as the answer written for it (a failed one: an error row). */
  private answerOf(r: Answer | { failed: string }, q: QueryRow): Answer {
    return 'failed' in r ? this.failedRow(q, r.failed) : r;
  }

  private failedRow(q: QueryRow, why: string): Answer {
    const msg = `error [queue_job_failed]: row ${q.row} (line ${q.line}): the worker could not answer it (${why}); run the batch without --queue to see the error here`;
    return { lines: [errorRow(this.model, q.id, msg)], status: 'error' };
  }

  /**
   * Read the hashes of the jobs of queries `idx` (each job once) in one pipelined round trip: their
   * answers (a failed-for-good job: error rows); a job that is gone is enqueued again.
   */
  private async look(idx: number[], rows: QueryRow[], places: Place[], byJob: Map<string, number[]>, stopped: () => boolean): Promise<Arrival[] | typeof STOPPED> {
    const jobs = [...new Set(idx.map((i) => places[i].job))];
    const pipe = this.conn.pipeline();
    for (const j of jobs) pipe.hmget(jobKey(j), 'timestamp', 'finishedOn', 'returnvalue', 'failedReason', 'atm');
    const res = await untilStopped(pipe.exec(), stopped);
    if (res === STOPPED) return STOPPED;
    const got: Arrival[] = [];
    const gone: QueryRow[] = [];
    jobs.forEach((job, k) => {
      const [err, v] = res?.[k] ?? [new Error('no reply'), null];
      if (err || !Array.isArray(v)) return;
      const [timestamp, finishedOn, returnvalue, failedReason, atm] = v as (string | null)[];
      const at = byJob.get(job)!;
      if (timestamp === null) gone.push(rows[at[0]]);
      else if (finishedOn !== null) {
        const a = parseAnswers(returnvalue, places[at[0]].group.length);
        if (a) for (const i of at) got.push({ i, answer: this.answerOf(a[places[i].pos], rows[i]) });
        else if (failedReason !== null && Number(atm ?? 0) >= JOB_ATTEMPTS) for (const i of at) got.push({ i, answer: this.failedRow(rows[i], failedReason) });
      }
    });
    if (gone.length && (await untilStopped(this.queue.addBulk(this.jobsOf(gone)), stopped)) === STOPPED) return STOPPED;
    return got;
  }

  /** Close the connections; while Redis is unreachable, give up on it after a moment (nothing is left to send). */
  async close(): Promise<void> {
    await Promise.race([this.queue.close().catch(() => {}), new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    if (this.conn.status === 'ready') await this.conn.quit().catch(() => this.conn.disconnect());
    else this.conn.disconnect();
  }
}

/** Jobs swept at once by --collect, the least and most time between two polls (ms), and between two sweeps (ms). */
export const COLLECT_WINDOW = 1000;
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 1000;
const SWEEP_MS = 1000;
/** The queue's event stream (BullMQ: <prefix>:<queue>:events), and the most events read at once. */
const EVENTS_KEY = `bull:${QUEUE_NAME}:events`;
const EVENTS_PER_READ = 5000;
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

/** A job's returnvalue: `n` results, each an answer or a failure; null when it is not that. */
function parseAnswers(text: string | null, n: number): JobAnswers | null {
  if (text === null) return null;
  try {
    const a = JSON.parse(text) as JobAnswers | null;
    return Array.isArray(a) && a.length === n && a.every((r) => r && (Array.isArray((r as Answer).lines) || typeof (r as { failed: unknown }).failed === 'string')) ? a : null;
  } catch {
    return null;
  }
}
