/**
 * The batch's thread pool (--workers N): N worker threads (poolWorker.ts), each of which loads
 * the model once and answers one query at a time. `answer(q)` resolves with the query's rows.
 *
 * A thread that dies (out of memory, a crash in a solver) fails only the query it held: that
 * query becomes an internal-error row and a fresh thread takes the thread's place.
 */
import { Worker } from 'node:worker_threads';
import { NetinvertError, type ErrorCode } from '../../errors.ts';
import { errorRow } from './answers.ts';
import type { Model } from '../../model.ts';
import { workerScript } from '../workerScript.ts';
import type { Settings } from './options.ts';
import type { Layout, QueryRow } from './queries.ts';
import type { Answer } from './solveQuery.ts';

export interface PoolRequest {
  seq: number;
  q: QueryRow;
}

export type PoolReply =
  | { kind: 'ready'; hash: string }
  | { kind: 'load-error'; code: ErrorCode | null; message: string }
  | { kind: 'answer'; seq: number; answer: Answer }
  | { kind: 'failed'; seq: number; message: string };

interface Job {
  seq: number;
  q: QueryRow;
  resolve: (a: Answer) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** The thread has loaded the model. */
  up: boolean;
  job: Job | null;
}

export class BatchPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private seq = 0;
  private closed = false;
  private readonly script = workerScript(import.meta.url, './poolWorker');

  constructor(
    readonly size: number,
    private readonly model: Model,
    private readonly data: { modelPath: string; meta?: string; settings: Settings; layout: Layout },
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Resolves when every thread has loaded the model; rejects with the first load error. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { eval: true, workerData: this.data });
    const slot: Slot = { worker, ready: Promise.resolve(), up: false, job: null };
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: PoolReply) => {
        if (m.kind === 'ready') {
          if (m.hash !== this.model.hash) {
            reject(new NetinvertError('bad_argument', `${this.data.modelPath} changed while the batch started (its hash is now ${m.hash}); run again`, { file: this.data.modelPath }));
            return;
          }
          slot.up = true;
          resolve();
          this.pump();
        } else if (m.kind === 'load-error') {
          reject(m.code ? new NetinvertError(m.code, m.message) : new Error(m.message));
        } else {
          const job = slot.job;
          if (!job || job.seq !== m.seq) return;
          slot.job = null;
          job.resolve(m.kind === 'answer' ? m.answer : this.internal(job.q, m.message));
          this.pump();
        }
      });
      const died = (why: string): void => {
        reject(new Error(`a batch thread stopped while loading the model (${why})`));
        const i = this.slots.indexOf(slot);
        if (i < 0) return;
        const job = slot.job;
        slot.job = null;
        if (job) job.resolve(this.internal(job.q, `the thread answering it stopped (${why})`));
        // a thread that never loaded the model is not replaced (ready() reports why)
        if (this.closed || !slot.up) return;
        // a fresh thread takes its place
        this.slots[i] = this.spawn();
      };
      worker.on('error', (e) => died((e as Error)?.message ?? String(e)));
      worker.on('exit', (code) => {
        if (!this.closed) died(`exit code ${code}`);
      });
    });
    slot.ready.catch(() => {});
    return slot;
  }

  private internal(q: QueryRow, message: string): Answer {
    return { lines: [errorRow(this.model, q.id, `internal error: ${message} (please report this)`)], status: 'error' };
  }

  private pump(): void {
    for (const slot of this.slots) {
      // a thread that has not loaded the model yet gets work when it has
      if (slot.job || !slot.up || !this.waiting.length) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      slot.worker.postMessage({ seq: job.seq, q: job.q } satisfies PoolRequest);
    }
  }

  /** The answer of one query, from whichever thread is free first. */
  answer(q: QueryRow): Promise<Answer> {
    return new Promise<Answer>((resolve) => {
      this.waiting.push({ seq: this.seq++, q, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
