/**
 * The threads of `netinvert worker --concurrency N`: the solvers are synchronous, so jobs run in
 * threads and the main thread stays free for BullMQ's lock renewal (a job whose lock is not
 * renewed is "stalled" and handed to another worker).
 *
 * Throughput: each BullMQ job costs the main thread a Redis command (its answer stored, the next
 * job fetched in the same script). The jobs that wait go to a thread in groups of about CHUNK_MS
 * of work (1 query for slow queries, at most MAX_GROUP; the chunking of the local pool,
 * cli/batch/pool.ts), for fast queries IN_FLIGHT groups per thread at a time (the next already in
 * its inbox while it answers one), and a group's answers come back in one message, so the group's jobs finish
 * in the same tick and the worker's connection (auto-pipelined) stores their answers, and fetches
 * their successors, in one write and one read. Each query is still its own BullMQ job.
 *
 * A thread that dies fails only the query it died on: a group's queries are sent again one at a
 * time (the others are answered as usual), a query a thread dies on alone fails (BullMQ retries it
 * once, then the collector writes an error row), and a fresh thread takes the dead one's place.
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../cli/workerScript.ts';
import type { Answer } from '../cli/batch/solveQuery.ts';
import { CHUNK_MS, SLOW_MS } from '../cli/batch/pool.ts';
import type { BatchJob } from './redis.ts';

/** The largest group (the work per group aimed at is the local pool's CHUNK_MS, ms). */
export const MAX_GROUP = 8;

export interface JobRequest {
  seq: number;
  jobs: BatchJob[];
  /** The models (by hash) this thread has not loaded yet. */
  modelTexts?: Record<string, string>;
}

export type JobResult = { answer: Answer; ms: number } | { failed: string };
export interface JobReply {
  seq: number;
  /** One per job of the request, in its order. */
  results: JobResult[];
}

interface Pending {
  data: BatchJob;
  modelText: () => Promise<string>;
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  models: Set<string>;
  /** Groups held (sent, or waiting for their model's text), each answered by its `seq`. */
  jobs: { seq: number; group: Pending[]; suspect: boolean }[];
}

/**
 * Groups a thread holds at once when queries are fast (under FAST_MS each): the one it answers and
 * the next, already in its inbox, so that it does not wait for the main thread to take the answers
 * and send more (the local pool's PREFETCH). Slow queries go one group at a time: a query waiting
 * in one thread's inbox could not go to another thread that falls idle.
 */
export const IN_FLIGHT = 2;
export const FAST_MS = SLOW_MS;

export class JobPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  /** Jobs of a group whose thread died: each goes alone, before the others. */
  private readonly suspects: Pending[] = [];
  private seq = 0;
  private closed = false;
  /** Measured milliseconds per query (an exponential average over groups); 0 before the first. */
  private msPerQuery = 0;
  private readonly script = workerScript(import.meta.url, './jobThread');

  /** `fastMs`: the time per query under which a thread holds IN_FLIGHT groups (default FAST_MS). */
  constructor(
    readonly size: number,
    private readonly fastMs = FAST_MS,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Groups a thread holds at once: IN_FLIGHT once queries are timed and fast, else 1. */
  inFlight(): number {
    return this.msPerQuery > 0 && this.msPerQuery < this.fastMs ? IN_FLIGHT : 1;
  }

  /** Queries per group: about CHUNK_MS of work by the time measured so far (1 before any is measured). */
  groupSize(): number {
    return this.msPerQuery > 0 ? Math.max(1, Math.min(MAX_GROUP, Math.floor(CHUNK_MS / this.msPerQuery))) : 1;
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(this.script, { eval: true }), models: new Set(), jobs: [] };
    slot.worker.on('message', (m: JobReply) => {
      const at = slot.jobs.findIndex((j) => j.seq === m.seq);
      if (at < 0) return;
      const [job] = slot.jobs.splice(at, 1);
      let ms = 0,
        n = 0;
      job.group.forEach((p, k) => {
        const r = m.results[k];
        if (r && 'answer' in r) {
          ms += r.ms;
          n++;
          p.resolve(r.answer);
        } else p.reject(new Error(r ? r.failed : 'no answer from the thread'));
      });
      if (n) this.msPerQuery = this.msPerQuery === 0 ? ms / n : 0.7 * this.msPerQuery + 0.3 * (ms / n);
      this.pump();
    });
    const died = (why: string): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      const held = slot.jobs.flatMap((j) => j.group);
      slot.jobs = [];
      // alone, the job is the one that stopped the thread; with others held, each goes again alone to find it
      if (held.length === 1) held[0].reject(new Error(`the thread answering it stopped (${why})`));
      else this.suspects.push(...held);
      if (this.closed) return;
      this.slots[i] = this.spawn();
      this.pump();
    };
    slot.worker.on('error', (e) => died((e as Error)?.message ?? String(e)));
    slot.worker.on('exit', (code) => died(`exit code ${code}`));
    return slot;
  }

  private pump(): void {
    // idle threads first, then (fast queries) a second group for each busy one
    const most = this.inFlight();
    for (let level = 0; level < most; level++) {
      for (const slot of this.slots) {
        const busy = slot.jobs.length;
        if (busy !== level) continue;
        // a suspect goes to an idle thread alone, with nothing sent behind it
        if (busy && (this.suspects.length || slot.jobs[0].suspect)) continue;
        const suspect = this.suspects.length > 0;
        const group = suspect ? [this.suspects.shift()!] : busy ? this.nextGroup(slot) : this.waiting.splice(0, this.groupSize());
        if (!group.length) continue;
        const seq = this.seq++;
        const entry = { seq, group, suspect };
        slot.jobs.push(entry);
        const need = [...new Set(group.map((p) => p.data.model))].filter((h) => !slot.models.has(h));
        const send = (texts: Record<string, string> | undefined): void => {
          for (const h of need) slot.models.add(h);
          slot.worker.postMessage({ seq, jobs: group.map((p) => p.data), ...(texts ? { modelTexts: texts } : {}) } satisfies JobRequest);
        };
        if (!need.length) {
          send(undefined);
          continue;
        }
        Promise.all(need.map((h) => group.find((p) => p.data.model === h)!.modelText())).then(
          (texts) => {
            if (!slot.jobs.includes(entry)) return;
            send(Object.fromEntries(need.map((h, k) => [h, texts[k]])));
          },
          (e: Error) => {
            // a model that cannot be had fails its jobs; the others wait for the next group
            const at = slot.jobs.indexOf(entry);
            if (at < 0) return;
            slot.jobs.splice(at, 1);
            const missing = new Set(need);
            for (const p of group) if (missing.has(p.data.model)) p.reject(e);
            this.waiting.unshift(...group.filter((p) => !missing.has(p.data.model)));
            this.pump();
          },
        );
      }
    }
  }

  /** The next group for a thread that already holds one: only jobs whose models it has (the rest wait for a thread with them, or an idle one). */
  private nextGroup(slot: Slot): Pending[] {
    const size = this.groupSize();
    const out: Pending[] = [];
    for (let i = 0; i < this.waiting.length && out.length < size; ) {
      if (slot.models.has(this.waiting[i].data.model)) out.push(...this.waiting.splice(i, 1));
      else i++;
    }
    return out;
  }

  /** One job's answer; `modelText` is asked for only when the thread has not loaded the model yet. */
  answer(data: BatchJob, modelText: () => Promise<string>): Promise<Answer> {
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
