/**
 * The batch side of the queue: `batch --queue URL` enqueues one job per query (and the model,
 * once, by hash); `--collect` waits for the jobs' answers. The answers file is written by the
 * collector alone, one query at a time, in the queries' order, so a query answered twice (a job
 * handed to a second worker after a stall) is still written once.
 */
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from '../model.ts';
import { saveNativeModel } from '../formats/native/load.ts';
import { errorRow } from '../cli/batch/answers.ts';
import type { Settings } from '../cli/batch/options.ts';
import type { Layout, QueryRow } from '../cli/batch/queries.ts';
import type { Answer } from '../cli/batch/solveQuery.ts';
import { connect, jobId, modelKey, QUEUE_NAME, reachable, sha256, type JobData } from './redis.ts';

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
      const before = await Promise.all(ids.map((id) => this.conn.exists(`bull:${QUEUE_NAME}:${id}`)));
      added += before.filter((x) => x === 0).length;
      await this.queue.addBulk(chunk.map(this.jobs));
    }
    return added;
  }

  /**
   * The answer of one query, when a worker has given it: polls the job (robust to Redis restarts
   * and lost event streams). A job that failed for good is an error row; a job that is gone (a
   * Redis without persistence, restarted) is enqueued again.
   */
  async answer(q: QueryRow, stopped: () => boolean): Promise<Answer | null> {
    const id = jobId(this.batch, q.id);
    let wait = 50;
    for (;;) {
      const job = (await Job.fromId(this.queue, id)) as Job<JobData, Answer> | undefined;
      if (!job) await this.queue.addBulk([this.jobs(q)]);
      else if (job.finishedOn) {
        if (job.returnvalue && Array.isArray(job.returnvalue.lines)) return job.returnvalue;
        if (job.failedReason && job.attemptsMade >= (job.opts.attempts ?? 1)) {
          const msg = `error [queue_job_failed]: row ${q.row} (line ${q.line}): the worker could not answer it (${job.failedReason}); run the batch without --queue to see the error here`;
          return { lines: [errorRow(this.model, q.id, msg)], status: 'error' };
        }
      }
      if (stopped()) return null;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(1000, wait * 2);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.conn.quit().catch(() => this.conn.disconnect());
  }
}
