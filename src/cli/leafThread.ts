/**
 * `netinvert verify`'s second thread: the independent verifier (certify/proof/vnnVerifier.ts)
 * checks the leaves the search closes while the search goes on (leafThreadWorker.ts), so that the
 * certificate check at the end only walks the trees and checks what the thread has not refuted
 * (verifyVnnCertificate's `refuted`). On ACAS Xu the end check was a quarter to a third of an
 * unsat answer's time; on two cores it now overlaps the search.
 *
 * The search is synchronous, so the main thread never yields to its event loop while the thread
 * works: it posts leaves as they close (postMessage does not wait), and at the end it waits on a
 * shared counter (Atomics.wait) and reads the replies with receiveMessageOnPort. Nothing here can
 * make a proof wrong: a key the thread did not refute is checked by the end check itself, and a
 * thread that is slow to start, stalls or dies only leaves more to that check.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { LeafSink } from '../certify/vnn/decide.ts';
import type { VnnPathLeaf } from '../certify/proof/vnnVerifier.ts';
import type { VnnlibSpec } from '../formats/vnnlib/types.ts';
import type { Model } from '../model.ts';
import { workerScript } from './workerScript.ts';

/** Slots of the shared counter: replies posted, the thread's state (1 ready, 2 failed). */
export const REPLIES = 0,
  STATE = 1;

export type LeafThreadRequest = { kind: 'leaves'; leaves: VnnPathLeaf[] } | { kind: 'end' };
export type LeafThreadReply = { kind: 'refuted'; keys: string[] } | { kind: 'ended' };

export interface LeafThreadData {
  hash: string;
  graph: Model['graph'];
  spec: VnnlibSpec;
  port: MessagePort;
  flags: SharedArrayBuffer;
}

/** How long the end waits without a reply before it leaves the rest to the end check (ms). */
const STALL_MS = 5000;

export class LeafThread implements LeafSink {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flags: Int32Array;
  private readonly refuted = new Set<string>();
  private sent = 0;
  private closed = false;

  constructor(model: Model, spec: VnnlibSpec) {
    const { port1, port2 } = new MessageChannel();
    const flags = new SharedArrayBuffer(8);
    this.flags = new Int32Array(flags);
    this.port = port1;
    const data: LeafThreadData = { hash: model.hash, graph: model.graph, spec, port: port2, flags };
    this.worker = new Worker(workerScript(import.meta.url, './leafThreadWorker'), { eval: true, workerData: data, transferList: [port2] });
    // the process may end while the thread still works (an answer found first)
    this.worker.unref();
    this.worker.on('error', () => {});
  }

  submit(leaves: VnnPathLeaf[]): void {
    if (this.closed || !leaves.length) return;
    this.port.postMessage({ kind: 'leaves', leaves } satisfies LeafThreadRequest);
    this.sent++;
  }

  /**
   * The keys the thread refuted, once it has checked every leaf sent (or stalled STALL_MS, or
   * `deadline`, a performance.now() time, passed). A thread not ready yet is not waited for: the
   * end check does its leaves (it would take the thread longer to start than to check a few).
   */
  finish(deadline: number): ReadonlySet<string> {
    if (this.closed) return this.refuted;
    this.closed = true;
    if (Atomics.load(this.flags, STATE) !== 1) return this.refuted;
    this.port.postMessage({ kind: 'end' } satisfies LeafThreadRequest);
    let seen = 0;
    for (;;) {
      let m: { message: LeafThreadReply } | undefined;
      while ((m = receiveMessageOnPort(this.port) as { message: LeafThreadReply } | undefined)) {
        seen++;
        if (m.message.kind === 'ended') return this.refuted;
        for (const k of m.message.keys) this.refuted.add(k);
      }
      if (Atomics.load(this.flags, STATE) !== 1) return this.refuted;
      const wait = Math.min(STALL_MS, deadline - performance.now());
      if (wait <= 0) return this.refuted;
      // replies are counted after they are posted: wait for one more than read
      if (Atomics.wait(this.flags, REPLIES, seen, wait) === 'timed-out' && Atomics.load(this.flags, REPLIES) === seen) return this.refuted;
    }
  }

  /** Leaf batches sent to the thread. */
  get batches(): number {
    return this.sent;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.port.close();
    await this.worker.terminate();
  }
}
