/**
 * The threads of `netinvert worker --concurrency N`: the solvers are synchronous, so each job runs
 * in a thread and the main thread stays free for BullMQ's lock renewal (a job whose lock is not
 * renewed is "stalled" and handed to another worker). A thread that dies fails only its job.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../cli/workerScript.ts';
import type { Answer } from '../cli/batch/solveQuery.ts';
import type { JobData } from './redis.ts';

export interface JobRequest {
  seq: number;
  data: JobData;
  /** The model, the first time this thread sees it. */
  modelText?: string;
}

export type JobReply = { seq: number; answer: Answer } | { seq: number; failed: string };

interface Slot {
  worker: Worker;
  models: Set<string>;
  job: { seq: number; resolve: (a: Answer) => void; reject: (e: Error) => void } | null;
}

export class JobPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: { data: JobData; modelText: () => Promise<string>; resolve: (a: Answer) => void; reject: (e: Error) => void }[] = [];
  private seq = 0;
  private closed = false;
  private readonly script = workerScript(import.meta.url, './jobThread');

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(this.script, { eval: true }), models: new Set(), job: null };
    slot.worker.on('message', (m: JobReply) => {
      const job = slot.job;
      if (!job || job.seq !== m.seq) return;
      slot.job = null;
      if ('answer' in m) job.resolve(m.answer);
      else job.reject(new Error(m.failed));
      this.pump();
    });
    const died = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      const job = slot.job;
      slot.job = null;
      if (job) job.reject(new Error(`the thread answering it stopped (${why})`));
      if (this.closed) return;
      this.slots[i] = this.spawn();
      this.pump();
    };
    slot.worker.on('error', (e) => died((e as Error)?.message ?? String(e)));
    slot.worker.on('exit', (code) => died(`exit code ${code}`));
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || !this.waiting.length) continue;
      const w = this.waiting.shift()!;
      const seq = this.seq++;
      slot.job = { seq, resolve: w.resolve, reject: w.reject };
      const send = (text?: string): void => {
        if (text !== undefined) slot.models.add(w.data.model);
        slot.worker.postMessage({ seq, data: w.data, ...(text !== undefined ? { modelText: text } : {}) } satisfies JobRequest);
      };
      if (slot.models.has(w.data.model)) send();
      else
        w.modelText().then(send, (e: Error) => {
          slot.job = null;
          w.reject(e);
          this.pump();
        });
    }
  }

  /** One job's answer; `modelText` is asked for only when the thread has not loaded the model yet. */
  answer(data: JobData, modelText: () => Promise<string>): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      this.waiting.push({ data, modelText, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
