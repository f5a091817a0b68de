/**
 * The threads of `netinvert verify --workers N` (certify/vnn/parallel.ts decides, this runs its
 * work items) and of `solve --prove --workers N` (certify/proof/parallel.ts proves): N worker
 * threads (vnnPoolWorker.ts), each of which loads the model once and answers the items it is sent
 * (runVnnWorkItem, or runProofWorkItem on the query's Problem, built once per thread). The main
 * thread sends an item only to a thread with none (both schedulers never have more than N under
 * way), so each thread holds at most one. A proof pool's threads read the caller's stop flag
 * (Ctrl-C: solve/evaluator.ts setStopSignal), so their pieces end as interrupted.
 *
 * A thread that dies fails the item it was on (the answer is then unknown, with the reason);
 * close() terminates every thread, also one in the middle of an item (the search is synchronous:
 * Worker.terminate stops it where it is), so a timeout never leaves the process waiting.
 */
import { Worker } from 'node:worker_threads';
import { NetinvertError, type ErrorCode } from '../errors.ts';
import type { VnnlibSpec } from '../formats/vnnlib/types.ts';
import type { VnnWorkers, VnnWorkItem, VnnWorkResult } from '../certify/vnn/parallel.ts';
import type { ProofWorkers, ProofWorkItem, ProofWorkResult } from '../certify/proof/parallel.ts';
import type { Query, ToleranceOptions } from '../problem/query.ts';
import { workerScript } from './workerScript.ts';

export type VnnPoolReply =
  | { kind: 'ready'; hash: string }
  | { kind: 'load-error'; code: ErrorCode | null; message: string }
  | { kind: 'result'; id: number; result: VnnWorkResult | ProofWorkResult }
  | { kind: 'failed'; id: number; message: string };

export interface VnnPoolRequest {
  id: number;
  item: VnnWorkItem | ProofWorkItem;
}

export interface VnnPoolData {
  modelPath: string;
  meta?: string;
  spec: VnnlibSpec;
}

/** A proof pool's threads: the model, and the query (with its tolerances) they build the Problem of; the stop flag. */
export interface ProofPoolData {
  modelPath: string;
  meta?: string;
  query: Query;
  tolerance: ToleranceOptions;
  stop: SharedArrayBuffer | null;
}

export type PoolData = ({ kind: 'vnn' } & VnnPoolData) | ({ kind: 'proof' } & ProofPoolData);

interface Slot<R> {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
  pending: { id: number; resolve: (r: R) => void; reject: (e: Error) => void } | null;
  dead: string | null;
}

/** N threads that each load the model once and answer one item at a time. */
class ThreadPool<I extends VnnPoolRequest['item'], R> {
  private readonly slots: Slot<R>[] = [];
  private readonly script = workerScript(import.meta.url, './vnnPoolWorker');
  private id = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly modelHash: string,
    private readonly data: PoolData,
    /** Spawn the threads only on start() or the first run (decideVnnlibParallel's startMs). */
    lazy = false,
  ) {
    if (!lazy) this.start();
  }

  /** Spawn the threads (once). */
  start(): void {
    if (this.slots.length || this.closed) return;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot<R> {
    const worker = new Worker(this.script, { eval: true, workerData: this.data });
    const slot: Slot<R> = { worker, ready: Promise.resolve(), busy: false, pending: null, dead: null };
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (m: VnnPoolReply) => {
        if (m.kind === 'ready') {
          if (m.hash !== this.modelHash) reject(new NetinvertError('bad_argument', `${this.data.modelPath} changed while the threads started (its hash is now ${m.hash}); run again`, { file: this.data.modelPath }));
          else resolve();
        } else if (m.kind === 'load-error') reject(m.code ? new NetinvertError(m.code, m.message) : new Error(m.message));
        else {
          const p = slot.pending;
          if (!p || p.id !== m.id) return;
          slot.pending = null;
          slot.busy = false;
          if (m.kind === 'result') p.resolve(m.result as R);
          else p.reject(new Error(m.message));
        }
      });
      const died = (why: string): void => {
        slot.dead = why;
        reject(new Error(`a worker thread stopped while loading the model (${why})`));
        const p = slot.pending;
        slot.pending = null;
        if (p) p.reject(new Error(`the thread searching it stopped (${why})`));
      };
      worker.on('error', (e) => died((e as Error)?.message ?? String(e)));
      worker.on('exit', (code) => {
        if (!this.closed) died(`exit code ${code}`);
      });
    });
    slot.ready.catch(() => {});
    return slot;
  }

  /** Resolves when every thread has loaded the model; rejects with the first load error. */
  async ready(): Promise<void> {
    this.start();
    await Promise.all(this.slots.map((s) => s.ready));
  }

  run(item: I): Promise<R> {
    this.start();
    const slot = this.slots.find((s) => !s.busy && !s.dead);
    if (!slot) return Promise.reject(new Error(this.slots.every((s) => s.dead) ? `every worker thread stopped (${this.slots[0]?.dead})` : 'ThreadPool.run: every thread is busy'));
    slot.busy = true;
    const id = this.id++;
    return new Promise<R>((resolve, reject) => {
      slot.pending = { id, resolve, reject };
      slot.ready.then(
        () => slot.worker.postMessage({ id, item } satisfies VnnPoolRequest),
        (e: unknown) => {
          slot.pending = null;
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

/** verify --workers N: threads that run runVnnWorkItem. */
export class VnnThreadPool extends ThreadPool<VnnWorkItem, VnnWorkResult> implements VnnWorkers {
  constructor(size: number, modelHash: string, data: VnnPoolData, lazy = false) {
    super(size, modelHash, { kind: 'vnn', ...data }, lazy);
  }
}

/** solve --prove --workers N: threads that run runProofWorkItem on the query's Problem. */
export class ProofThreadPool extends ThreadPool<ProofWorkItem, ProofWorkResult> implements ProofWorkers {
  constructor(size: number, modelHash: string, data: ProofPoolData) {
    super(size, modelHash, { kind: 'proof', ...data });
  }
}
