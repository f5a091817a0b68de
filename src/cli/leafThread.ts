/**
 * `netinvert verify`'s second thread (leafThreadWorker.ts). It does two things the search would
 * otherwise do on the main thread:
 *   - the independent verifier (certify/proof/vnnVerifier.ts) checks the leaves the search closes
 *     while the search goes on, so that the certificate check at the end only walks the trees and
 *     checks what the thread has not refuted (verifyVnnCertificate's `refuted`);
 *   - falsification's restarts after the first round run there, between the leaf checks (which
 *     come first), instead of being interleaved with the search; a witness found there is
 *     re-checked on the main thread by a forward pass before it is believed.
 * On ACAS Xu the end check was a quarter to a third of an unsat answer's time and the restarts up
 * to a quarter more; on two cores both now overlap the search.
 *
 * The search is synchronous, so the main thread never yields to its event loop while the thread
 * works: it posts leaves as they close (postMessage does not wait), looks at a shared flag for a
 * witness once per bound pass, and at the end waits on a shared counter (Atomics.wait), reading the
 * replies with receiveMessageOnPort. Nothing here can make a proof wrong: a key the thread did not
 * refute is checked by the end check itself, and a thread that is slow to start, stalls or dies
 * only leaves more to that check.
 *
 * At the end the two threads share what the thread has not checked yet: each batch of leaves has a
 * shared claim slot, the thread claims batches from the oldest and the main thread from the newest
 * (Atomics.compareExchange, so each batch is checked by one of them), the main thread with the same
 * function (vnnRefutedLeaves) until they meet; then it waits for the batches the thread holds.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { LeafSink, RestartPlan, VnnWitness } from '../certify/vnn/decide.ts';
import { newVnnVerifyCarry, vnnRefutedLeaves, type VnnPathLeaf } from '../certify/proof/vnnVerifier.ts';
import type { VnnlibSpec } from '../formats/vnnlib/types.ts';
import type { Model } from '../model.ts';
import { workerScript } from './workerScript.ts';

/** Slots of the shared flags: replies posted, the thread's state (1 ready, 2 failed), a witness posted, stop (restarts). */
export const REPLIES = 0,
  STATE = 1,
  WITNESS = 2,
  STOP = 3;

export type LeafThreadRequest = { kind: 'leaves'; leaves: VnnPathLeaf[]; batch: number } | { kind: 'restarts'; plan: RestartPlan } | { kind: 'end' };
export type LeafThreadReply = { kind: 'refuted'; keys: string[] } | { kind: 'witness'; witness: VnnWitness } | { kind: 'ended' };

export interface LeafThreadData {
  hash: string;
  graph: Model['graph'];
  spec: VnnlibSpec;
  port: MessagePort;
  flags: SharedArrayBuffer;
  /** One slot per batch of leaves (the first CLAIM_SLOTS): 0 unclaimed, CLAIM_THREAD or CLAIM_MAIN. */
  claims: SharedArrayBuffer;
}

/** Batches whose checking the two threads can share at the end (later ones are the thread's alone). */
export const CLAIM_SLOTS = 1 << 16;
export const CLAIM_THREAD = 1,
  CLAIM_MAIN = 2;

/**
 * At the end this thread takes a batch only while the thread has at least this many unclaimed
 * batches ahead of it. Measured on ACAS Xu prop 1 (one process each): taking the newest batch of a
 * short backlog made 1_1…1_4 about 0.2 s slower (this thread's verifier code is cold, and it lacks
 * the ancestors' bounds the thread carries).
 */
const SHARE_AHEAD = 4;

/** How long the end waits without a reply before it leaves the rest to the end check (ms). */
const STALL_MS = 5000;

export class LeafThread implements LeafSink {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private readonly flags = new Int32Array(new SharedArrayBuffer(16));
  private readonly claims = new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));
  /** The batches sent, in order (the end takes the newest ones the thread has not claimed). */
  private readonly batches: VnnPathLeaf[][] = [];
  private readonly refuted = new Set<string>();
  private found: VnnWitness | null = null;
  /** Replies read so far (the REPLIES slot counts those posted). */
  private seen = 0;
  private ended = false;
  private closed = false;
  /** Batches this thread checked at the end (finish). */
  shared = 0;

  /** The thread starts on first use (a property falsification's first round settles never starts one). */
  constructor(
    private readonly model: Model,
    private readonly spec: VnnlibSpec,
  ) {}

  /** Start the thread now (it otherwise starts on first use). */
  start(): void {
    this.send(null);
  }

  /** Has the thread loaded its modules (so that the end waits for its checks)? */
  get ready(): boolean {
    return Atomics.load(this.flags, STATE) === 1;
  }

  private send(m: LeafThreadRequest | null): void {
    if (!this.port) {
      const { port1, port2 } = new MessageChannel();
      this.port = port1;
      const data: LeafThreadData = { hash: this.model.hash, graph: this.model.graph, spec: this.spec, port: port2, flags: this.flags.buffer as SharedArrayBuffer, claims: this.claims.buffer as SharedArrayBuffer };
      this.worker = new Worker(workerScript(import.meta.url, './leafThreadWorker'), { eval: true, workerData: data, transferList: [port2] });
      // the process may end while the thread still works (an answer found first)
      this.worker.unref();
      this.worker.on('error', () => {});
    }
    if (m) this.port.postMessage(m);
  }

  submit(leaves: VnnPathLeaf[]): void {
    if (this.closed || !leaves.length) return;
    this.send({ kind: 'leaves', leaves, batch: this.batches.length });
    this.batches.push(leaves);
  }

  restarts(plan: RestartPlan): void {
    if (!this.closed) this.send({ kind: 'restarts', plan });
  }

  /** A witness the thread's restarts found (once), or null; cheap when there is none (one shared load). */
  witness(): VnnWitness | null {
    if (!this.found && Atomics.load(this.flags, WITNESS) === 1) this.read();
    const w = this.found;
    this.found = null;
    return w;
  }

  /** Reads every reply that has arrived. */
  private read(): void {
    if (!this.port) return;
    let m: { message: LeafThreadReply } | undefined;
    while ((m = receiveMessageOnPort(this.port) as { message: LeafThreadReply } | undefined)) {
      this.seen++;
      const r = m.message;
      if (r.kind === 'ended') this.ended = true;
      else if (r.kind === 'witness') this.found ??= r.witness;
      else for (const k of r.keys) this.refuted.add(k);
    }
  }

  /**
   * The keys refuted, once every leaf sent has been checked (or the thread stalled STALL_MS, or
   * `deadline`, a performance.now() time, passed); its restarts stop. This thread checks the
   * newest batches the thread has not claimed yet, while the thread goes on with the oldest, then
   * waits for the thread's. A thread not ready yet is not waited for: the end check does its leaves
   * (it would take the thread longer to start than to check a few).
   */
  finish(deadline: number): ReadonlySet<string> {
    if (this.closed) return this.refuted;
    this.closed = true;
    Atomics.store(this.flags, STOP, 1);
    if (!this.port || Atomics.load(this.flags, STATE) !== 1) return this.refuted;
    this.port.postMessage({ kind: 'end' } satisfies LeafThreadRequest);
    const carry = newVnnVerifyCarry();
    let front = 0;
    for (let i = Math.min(this.batches.length, CLAIM_SLOTS) - 1; i >= 0 && performance.now() < deadline; i--) {
      // the thread's next batch; this thread joins only while the thread has SHARE_AHEAD more before
      // this one (a short backlog goes faster in the thread, whose code is warm and whose carried
      // ancestor bounds this thread lacks)
      while (front < i && Atomics.load(this.claims, front) !== 0) front++;
      if (i - front < SHARE_AHEAD) break;
      // a batch the thread has claimed: it holds every older one too
      if (Atomics.compareExchange(this.claims, i, 0, CLAIM_MAIN) !== 0) break;
      for (const k of vnnRefutedLeaves(this.model, this.spec, this.batches[i], carry)) this.refuted.add(k);
      this.shared++;
    }
    for (;;) {
      this.read();
      if (this.ended || Atomics.load(this.flags, STATE) !== 1) return this.refuted;
      const wait = Math.min(STALL_MS, deadline - performance.now());
      if (wait <= 0) return this.refuted;
      // replies are counted after they are posted: wait for one more than read
      if (Atomics.wait(this.flags, REPLIES, this.seen, wait) === 'timed-out' && Atomics.load(this.flags, REPLIES) === this.seen) return this.refuted;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    Atomics.store(this.flags, STOP, 1);
    this.port?.close();
    await this.worker?.terminate();
  }
}
