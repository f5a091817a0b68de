/**
 * The batch's thread pool (--workers N): N worker threads (poolWorker.ts), each of which loads
 * the model once and answers the queries it is sent, in order, with the function a one-thread
 * batch uses (solveQuery.ts).
 *
 * Throughput: queries go out in chunks and answers come back one message per chunk. The chunk
 * size follows the measured time per query (about CHUNK_MS of work per chunk, 1 query for slow
 * queries, at most MAX_CHUNK), and each thread holds PREFETCH chunks of fast queries, so it never
 * waits for the main thread between two chunks. Slow queries (SLOW_MS or more each), and every
 * query before the first time is measured, go one chunk per thread: a chunk held behind a slow one
 * would wait while another thread idles (two --prove queries on two threads once went both to the
 * first). Every thread gets a chunk before any gets a second. A chunk is also at most
 * 1/(N x PREFETCH) of the queries not yet sent (guided self-scheduling), so the last queries are
 * spread over the threads and a stop leaves unsent queries to stop. `run` hands each arriving
 * chunk's answers to its caller at once, which writes them with one write and one fsync.
 *
 * A thread that dies (out of memory, a crash in a solver) fails only the query it was on: the
 * chunk it was answering is sent again one query at a time (the others are answered as usual),
 * a query that a thread dies on alone becomes an internal-error row, and a fresh thread takes the
 * dead thread's place.
 */
import { Worker } from 'node:worker_threads';
import { NetinvertError, type ErrorCode } from '../../errors.ts';
import { errorRow } from './answers.ts';
import type { Model } from '../../model.ts';
import { workerScript } from '../workerScript.ts';
import type { Settings } from './options.ts';
import type { Layout, QueryRow } from './queries.ts';
import type { Answer } from './solveQuery.ts';

/** Work per chunk aimed at (ms), chunks held by each thread, and the largest chunk. */
export const CHUNK_MS = 20;
export const PREFETCH = 2;
export const MAX_CHUNK = 64;
/** Queries taking this long (ms) or longer are held one chunk per thread (no prefetch); the queue's JobPool too. */
export const SLOW_MS = CHUNK_MS / 2;

export interface PoolRequest {
  seq: number;
  qs: QueryRow[];
}

export type PoolReply =
  | { kind: 'ready'; hash: string }
  | { kind: 'load-error'; code: ErrorCode | null; message: string }
  | { kind: 'answers'; seq: number; answers: Answer[]; ms: number[] };

/** One query's answer as it arrives: its index in the list given to `run`. */
export interface Arrival {
  i: number;
  answer: Answer;
  /** Milliseconds spent answering it (for --plot), when known. */
  ms?: number;
  /** The pool thread that answered it (its slot, 0…N−1). */
  thread?: number;
}

interface Chunk {
  seq: number;
  idx: number[];
  /** Sent alone after its thread died on a chunk that held it. */
  suspect: boolean;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** The thread has loaded the model. */
  up: boolean;
  /** Chunks sent and not answered, oldest first (a thread answers them in order). */
  chunks: Chunk[];
}

interface Run {
  qs: QueryRow[];
  next: number;
  /** Queries to send again before the rest: alone (suspects) or as usual (never started). */
  suspects: number[];
  again: number[];
  arrive: (answers: Arrival[]) => void;
  stopped: () => boolean;
  done: () => void;
}

export class BatchPool {
  private readonly slots: Slot[] = [];
  private seq = 0;
  private closed = false;
  private readonly script = workerScript(import.meta.url, './poolWorker');
  /** Measured milliseconds per query (an exponential average over chunks); 0 before the first. */
  private msPerQuery = 0;
  private current: Run | null = null;

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
    const slot: Slot = { worker, ready: Promise.resolve(), up: false, chunks: [] };
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
          const chunk = slot.chunks[0];
          if (!chunk || chunk.seq !== m.seq) return;
          slot.chunks.shift();
          const per = m.ms.reduce((a, b) => a + b, 0) / Math.max(1, m.ms.length);
          this.msPerQuery = this.msPerQuery === 0 ? per : 0.7 * this.msPerQuery + 0.3 * per;
          const thread = this.slots.indexOf(slot);
          this.deliver(chunk.idx.map((i, k) => ({ i, answer: m.answers[k], ms: m.ms[k], thread })));
        }
      });
      const died = (why: string): void => {
        reject(new Error(`a batch thread stopped while loading the model (${why})`));
        const i = this.slots.indexOf(slot);
        if (i < 0) return;
        const [on, ...unstarted] = slot.chunks;
        slot.chunks = [];
        const wasUp = slot.up;
        slot.up = false;
        const r = this.current;
        if (on && r) {
          // the thread was answering `on` (it answers its chunks in order): a query sent alone is
          // the one that stopped it; a chunk's queries go again one by one, to find that one
          if (on.idx.length === 1) {
            this.deliver([{ i: on.idx[0], answer: this.internal(r.qs[on.idx[0]], `the thread answering it stopped (${why})`) }], false);
          } else r.suspects.push(...on.idx);
          for (const c of unstarted) r.again.push(...c.idx);
        }
        // a fresh thread takes its place (one that never loaded the model is not replaced: ready() reports why)
        if (!this.closed && wasUp) this.slots[i] = this.spawn();
        this.pump();
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

  private deliver(answers: Arrival[], pump = true): void {
    const r = this.current;
    if (!r) return;
    r.arrive(answers);
    if (pump) this.pump();
  }

  /** The next chunk to send, or null when there is none (or the run is stopped). */
  private take(r: Run): Chunk | null {
    if (r.stopped()) return null;
    if (r.suspects.length) return { seq: this.seq++, idx: [r.suspects.shift()!], suspect: true };
    // guided self-scheduling (Polychronopoulos & Kuck, IEEE Trans. Computers 36(12), 1987): a chunk
    // is at most 1/(threads x PREFETCH) of the queries not yet sent, so the tail is shared among the
    // threads, and a small batch of fast queries is not sent whole at the first answer (where a stop
    // would have nothing left to hold back)
    const left = r.again.length + (r.qs.length - r.next);
    const share = Math.ceil(left / (this.size * PREFETCH));
    const size = this.msPerQuery > 0 ? Math.max(1, Math.min(MAX_CHUNK, share, Math.floor(CHUNK_MS / this.msPerQuery))) : 1;
    const idx: number[] = [];
    while (idx.length < size && r.again.length) idx.push(r.again.shift()!);
    while (idx.length < size && r.next < r.qs.length) idx.push(r.next++);
    return idx.length ? { seq: this.seq++, idx, suspect: false } : null;
  }

  private pump(): void {
    const r = this.current;
    if (!r) return;
    // fast queries: PREFETCH chunks per thread; slow or not yet timed: one
    const hold = this.msPerQuery > 0 && this.msPerQuery < SLOW_MS ? PREFETCH : 1;
    for (let h = 1; h <= hold; h++) {
      for (const slot of this.slots) {
        // a thread that has not loaded the model yet gets work when it has
        while (slot.up && slot.chunks.length < h) {
          // a suspect goes alone to a thread with nothing else to answer, so a death names it
          if (r.suspects.length && slot.chunks.length) break;
          const chunk = this.take(r);
          if (!chunk) break;
          slot.chunks.push(chunk);
          slot.worker.postMessage({ seq: chunk.seq, qs: chunk.idx.map((i) => r.qs[i]) } satisfies PoolRequest);
          if (chunk.suspect) break;
        }
      }
    }
    const busy = this.slots.some((s) => s.chunks.length > 0);
    const left = r.suspects.length + r.again.length + (r.qs.length - r.next);
    if (!busy && (left === 0 || r.stopped())) {
      this.current = null;
      r.done();
    }
  }

  /**
   * Answer `qs`: `arrive` gets the answers as they come (a chunk at a time, in no particular
   * order). Resolves when every query is answered, or, once `stopped()` is true, when the chunks
   * already sent are answered (the rest is not sent: the flag is read at each arrival).
   */
  run(qs: QueryRow[], arrive: (answers: Arrival[]) => void, stopped: () => boolean): Promise<void> {
    if (this.current) throw new Error('BatchPool.run: a run is under way');
    return new Promise<void>((done) => {
      this.current = { qs, next: 0, suspects: [], again: [], arrive, stopped, done };
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
