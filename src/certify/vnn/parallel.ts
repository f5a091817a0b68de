/**
 * decideVnnlib on several threads: one hard property decided by N workers at once. This file
 * knows no threads: the caller hands in `VnnWorkers` (the CLI's is cli/vnnPool.ts, on
 * worker_threads; a test may run the items in-process), so the library stays browser-safe.
 *
 * The scheme is root splitting with a dynamic work queue (the "search-frontier splitting" of
 * parallel branch and bound: Gendron & Crainic, Operations Research 42(6), 1994, §3; as in
 * parallel B&B verifiers of neural networks, e.g. Wang et al., "Beta-CROWN", NeurIPS 2021, which
 * split the input domain and bound the sub-domains independently):
 *   1. falsification's first round runs here (most sat properties end there); its restarts go to
 *      one worker as a work item of their own, beside the search;
 *   2. the same best-first input-split branch and bound as decideVnnlib runs here until at least
 *      SPLIT_PER_WORKER × N boxes are undecided (or the property is decided, exactly as one thread
 *      would decide it);
 *   3. every leaf of that root tree becomes work: each undecided box an item of its own (the ones
 *      with the lowest bound, the hardest, first: longest-processing-time-first list scheduling,
 *      Graham 1969), the boxes the root search closed in items of up to CLOSED_PER_ITEM; the main
 *      thread hands the next item to whichever worker is idle (their difficulty varies by orders
 *      of magnitude, so a static share would leave workers idle);
 *   4. each worker runs the same search on its boxes with the time left (runVnnWorkItem): their
 *      split trees, re-checked there by the independent verifier (verifyVnnCertificate) on the
 *      property restricted to those boxes, with the same repair under the leaves it rejects;
 *   5. any sat (re-checked here by a float64 forward pass) ends the run at once; any unknown ends
 *      it as unknown; when every item is unsat, each subtree is grafted into the root tree at its
 *      leaf, and the certificate is the whole tree, in the format of a one-thread proof.
 *
 * Why the grafted certificate holds: the verifier re-walks each tree from its input box, checks
 * the leaves tile it exactly and refutes every clause on each leaf with bounds of the leaf box,
 * tightened by its ancestors' bounds. The root tree's splits are exact (a split at t gives [lo, t]
 * and [t, hi]), so each graft point is the very box its worker's certificate was checked on; each
 * subtree tiles its box (checked there); and a leaf in the whole tree has every ancestor it had in
 * its piece, and more, so the verifier's bounds on it are the same or tighter. The tests re-check
 * whole certificates with verifyVnnCertificate (and check-certificate) all the same.
 */
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import { buildVnnCertificate } from '../proof/vnnCertificate.ts';
import { VnnBounder } from './bounds.ts';
import {
  asCert,
  checkDims,
  confirmWitness,
  falsify,
  innerHi,
  innerLo,
  leafBoxes,
  makeSearch,
  newStats,
  proveBoxes,
  unbounded,
  UNBOUNDED,
  VERIFY_RESERVE,
  type Box,
  type DecideOptions,
  type DecideResult,
  type VnnWitness,
} from './decide.ts';

/** Undecided boxes per worker before the root search hands its frontier out. */
export const SPLIT_PER_WORKER = 4;

export interface ParallelDecideOptions extends DecideOptions {
  /** Undecided boxes per worker at which the root search hands its frontier out (default SPLIT_PER_WORKER). */
  splitPerWorker?: number;
}

export type ParallelDecideResult = DecideResult & { stats: DecideResult['stats'] & { workers: number; pieces: number } };
/** Most boxes the root search already closed per work item (they only need re-checking). */
export const CLOSED_PER_ITEM = 64;
/** Milliseconds past the deadline the main thread waits for a worker's last answer. */
const GRACE_MS = 250;

/** A box of the property to search on its own: inside input box `root`, `depth` splits below it. */
export interface VnnPart {
  root: number;
  lo: Float64Array;
  hi: Float64Array;
  depth: number;
  /** Intermediate bounds valid on the box (chain nets), or null. */
  parent: Float64Array | null;
}

/** One unit of work for a worker: boxes to decide, or falsification restarts. */
export type VnnWorkItem = { kind: 'parts'; parts: VnnPart[]; seconds: number; opts: DecideOptions } | { kind: 'falsify'; seconds: number; opts: DecideOptions };

export interface VnnWorkStats {
  boxes: number;
  leaves: number;
  /** Deepest split, counted from the property's input box. */
  maxDepth: number;
  rejectedLeaves: number;
  searchSeconds: number;
  verifySeconds: number;
}

export type VnnWorkResult =
  | { status: 'sat'; witness: VnnWitness; stats: VnnWorkStats }
  | { status: 'unknown'; reason: string; stats: VnnWorkStats }
  /** One preorder tree per part (`[d, t]` split, `[]` leaf), each re-checked by the verifier. */
  | { status: 'unsat'; trees: number[][][]; stats: VnnWorkStats };

/** Whatever runs work items: `size` at a time, each on its own copy of the model. */
export interface VnnWorkers {
  readonly size: number;
  run(item: VnnWorkItem): Promise<VnnWorkResult>;
}

/** What a worker does with an item (synchronous; the model is the worker's own copy). */
export function runVnnWorkItem(model: Model, spec: VnnlibSpec, item: VnnWorkItem): VnnWorkResult {
  const t0 = performance.now();
  const deadline = t0 + item.seconds * 1000;
  const opts = item.opts;
  const bounder = new VnnBounder(model, spec, (opts.intermediate ?? 'crown') === 'crown');
  const stats = newStats(bounder);
  const ws = (): VnnWorkStats => ({
    boxes: stats.boxes,
    leaves: stats.leaves,
    maxDepth: stats.maxDepth,
    rejectedLeaves: stats.rejectedLeaves,
    searchSeconds: stats.searchSeconds,
    verifySeconds: stats.verifySeconds,
  });
  if (item.kind === 'falsify') {
    const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
    const w = falsify(model, bounder.forms, boxes, { ...opts, falsifyShare: 1 }, deadline);
    return w ? { status: 'sat', witness: w, stats: ws() } : { status: 'unknown', reason: 'no counterexample found', stats: ws() };
  }
  // the property restricted to the parts (the verifier re-checks the subtrees against it)
  const sub: VnnlibSpec = { ...spec, inputBoxes: item.parts.map((p) => ({ lo: p.lo, hi: p.hi })) };
  const rootW = item.parts.map((p) => {
    const b = spec.inputBoxes[p.root];
    return Float64Array.from(b.hi, (h, d) => h - b.lo[d]);
  });
  const search = makeSearch(model, sub, bounder, opts, deadline, stats, rootW);
  const roots: Box[] = item.parts.map((p, i) => ({ root: i, lo: p.lo.slice(), hi: p.hi.slice(), dim: 0, parent: p.parent }));
  const depthUsed = item.parts.reduce((a, p) => Math.max(a, p.depth), 0);
  const searchDeadline = t0 + item.seconds * 1000 * (1 - VERIFY_RESERVE);
  const r = proveBoxes(model, sub, search, roots, { searchDeadline, deadline, timeout: item.seconds, depthUsed }, stats);
  if (r.status === 'sat') return { status: 'sat', witness: r.witness, stats: ws() };
  if (r.status === 'unsat') return { status: 'unsat', trees: asCert(r.trees), stats: ws() };
  if (r.status === 'unknown') return { status: 'unknown', reason: r.reason, stats: ws() };
  return { status: 'unknown', reason: 'internal: a work item split', stats: ws() };
}

/** A node of the root tree while the pieces come back. */
interface Node {
  rec: number[] | null;
  kids: [Node, Node] | null;
}

function parseTree(t: readonly (readonly number[] | null)[]): { root: Node; leaves: Node[] } {
  let pos = 0;
  const leaves: Node[] = [];
  const walk = (): Node => {
    const n = t[pos++];
    if (n === null || n === undefined || n.length === 0) {
      const leaf: Node = { rec: null, kids: null };
      leaves.push(leaf);
      return leaf;
    }
    const node: Node = { rec: [n[0], n[1]], kids: null };
    const left = walk();
    node.kids = [left, walk()];
    return node;
  };
  return { root: walk(), leaves };
}

function writeTree(root: Node): number[][] {
  const out: number[][] = [];
  const stack: Node[] = [root];
  while (stack.length) {
    const n = stack.pop() as Node;
    if (!n.kids) {
      out.push([]);
      continue;
    }
    out.push(n.rec as number[]);
    stack.push(n.kids[1], n.kids[0]);
  }
  return out;
}

const keyOf = (root: number, lo: ArrayLike<number>, hi: ArrayLike<number>): string => `${root}|${Array.prototype.join.call(lo, ',')}|${Array.prototype.join.call(hi, ',')}`;

/**
 * decideVnnlib with the search spread over `workers` (see the file comment). Same options and
 * result; `maxBoxes` bounds the root search only. With one worker the work still goes through it
 * (use decideVnnlib for the one-thread search).
 */
export async function decideVnnlibParallel(model: Model, spec: VnnlibSpec, workers: VnnWorkers, opts: ParallelDecideOptions = {}): Promise<ParallelDecideResult> {
  if (!(workers.size >= 1)) throw new NetinvertError('bad_argument', `decideVnnlibParallel: ${workers.size} worker(s); give at least one`);
  const t0 = performance.now();
  checkDims(model, spec);
  const timeout = opts.timeout ?? 60;
  const deadline = t0 + timeout * 1000;
  const bounder = new VnnBounder(model, spec, (opts.intermediate ?? 'crown') === 'crown');
  /** pieces: work items of boxes handed to the workers (0 when the root search decided alone). */
  const stats = { ...newStats(bounder), workers: workers.size, pieces: 0 };
  const done = (r: Omit<DecideResult, 'stats'>): ParallelDecideResult => {
    stats.seconds = (performance.now() - t0) / 1000;
    return { ...r, stats };
  };
  // 1. falsification's first round (its restarts go to a worker)
  const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
  if (!opts.noFalsify) {
    const w = falsify(model, bounder.forms, boxes, { ...opts, falsifyShare: 0 }, deadline);
    stats.falsifySeconds = (performance.now() - t0) / 1000;
    if (w) return done({ status: 'sat', witness: w });
  }
  if (unbounded(spec)) return done({ status: 'unknown', reason: UNBOUNDED });
  // 2. the root search, until the frontier is wide enough
  const rootW = spec.inputBoxes.map((b) => Float64Array.from(b.hi, (h, d) => h - b.lo[d]));
  const search = makeSearch(model, spec, bounder, opts, deadline, stats, rootW);
  const inner = search.callbacks;
  // the bounded open boxes (with their priorities) and how many wait for their first bound
  const open = new Map<Box, number>();
  let made = spec.inputBoxes.length,
    bounded = 0;
  search.callbacks = {
    bound(batch) {
      const out = inner.bound(batch);
      bounded += batch.length;
      out.forEach((o, i) => o.kind === 'open' && open.set(batch[i], o.priority));
      return out;
    },
    split(box) {
      open.delete(box);
      made += 2;
      return (inner.split as NonNullable<typeof inner.split>)(box);
    },
  };
  const target = Math.max(1, opts.splitPerWorker ?? SPLIT_PER_WORKER) * workers.size;
  const roots: Box[] = spec.inputBoxes.map((b, i) => ({ root: i, lo: b.lo.slice(), hi: b.hi.slice(), dim: 0 }));
  const searchDeadline = t0 + timeout * 1000 * (1 - VERIFY_RESERVE);
  const r = proveBoxes(model, spec, search, roots, { searchDeadline, deadline, timeout, maxBoxes: opts.maxBoxes, depthUsed: 0, split: () => open.size + (made - bounded) >= target }, stats);
  if (r.status === 'unsat') return done({ status: 'unsat', certificate: r.certificate });
  if (r.status !== 'split') return done(r);
  // 3. every leaf of the root tree becomes work
  const run = r.run;
  const frontier = new Map<string, { box: Box; priority: number }>();
  for (const [box, priority] of open) frontier.set(keyOf(box.root, box.lo, box.hi), { box, priority });
  for (const box of run.remaining) frontier.set(keyOf(box.root, box.lo, box.hi), { box, priority: -Infinity });
  const trees = run.trees.map((t) => parseTree(t));
  const leafNodes = trees.flatMap((t) => t.leaves);
  const leaves = leafBoxes(spec, run.trees);
  if (leafNodes.length !== leaves.length) throw new Error('decideVnnlibParallel: the root tree and its leaf boxes disagree');
  const hard: { node: Node; part: VnnPart; priority: number }[] = [];
  const closed: { node: Node; part: VnnPart }[] = [];
  leaves.forEach((lb, i) => {
    const f = frontier.get(keyOf(lb.root, lb.lo, lb.hi));
    const part: VnnPart = { root: lb.root, lo: lb.lo, hi: lb.hi, depth: lb.depth, parent: f ? (f.box.state ?? f.box.parent ?? null) : null };
    if (f) hard.push({ node: leafNodes[i], part, priority: f.priority });
    else closed.push({ node: leafNodes[i], part });
  });
  if (hard.length !== frontier.size) throw new Error(`decideVnnlibParallel: ${frontier.size} undecided box(es), ${hard.length} found among the leaves`);
  // the root search's closed leaves are re-bounded (and re-checked) in the items: count them once
  stats.leaves -= closed.length;
  hard.sort((a, b) => a.priority - b.priority);
  const queue: { nodes: Node[]; parts: VnnPart[] }[] = hard.map((h) => ({ nodes: [h.node], parts: [h.part] }));
  for (let i = 0; i < closed.length; i += CLOSED_PER_ITEM) {
    const c = closed.slice(i, i + CLOSED_PER_ITEM);
    queue.push({ nodes: c.map((x) => x.node), parts: c.map((x) => x.part) });
  }
  // 4. hand the items out, one to each idle worker
  const { splitPerWorker: _s, ...itemOpts } = opts;
  const t1 = performance.now();
  const outcome = await new Promise<Omit<DecideResult, 'stats'>>((resolve) => {
    let settled = false,
      active = 0,
      partsActive = 0,
      verifyCpu = 0;
    const finish = (x: Omit<DecideResult, 'stats'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stats.searchSeconds += (performance.now() - t1) / 1000;
      stats.verifySeconds += verifyCpu;
      resolve(x);
    };
    const timer = setTimeout(() => finish({ status: 'unknown', reason: `timeout (${timeout} s) with ${queue.length + partsActive} piece(s) of the search undecided` }), Math.max(0, deadline - performance.now()) + GRACE_MS);
    const secondsLeft = (): number => Math.max(0.001, (deadline - performance.now()) / 1000);
    const take = (res: VnnWorkResult): boolean => {
      stats.boxes += res.stats.boxes;
      stats.leaves += res.stats.leaves;
      stats.rejectedLeaves += res.stats.rejectedLeaves;
      verifyCpu += res.stats.verifySeconds;
      if (res.status === 'sat') {
        const w = confirmWitness(model, spec, bounder.forms, res.witness);
        if (w) finish({ status: 'sat', witness: w });
        else finish({ status: 'unknown', reason: 'a worker reported a counterexample that a float64 forward pass here does not confirm' });
        return false;
      }
      return true;
    };
    const pump = (): void => {
      while (!settled && active < workers.size && queue.length) {
        const item = queue.shift() as (typeof queue)[number];
        active++;
        partsActive++;
        stats.pieces++;
        workers.run({ kind: 'parts', parts: item.parts, seconds: secondsLeft(), opts: itemOpts }).then(
          (res) => {
            active--;
            partsActive--;
            if (settled || !take(res)) return;
            stats.maxDepth = Math.max(stats.maxDepth, res.stats.maxDepth);
            if (res.status === 'unknown') return finish({ status: 'unknown', reason: res.reason });
            if (res.status !== 'unsat') return;
            res.trees.forEach((t, k) => {
              const sub = parseTree(t).root;
              item.nodes[k].rec = sub.rec;
              item.nodes[k].kids = sub.kids;
            });
            if (queue.length === 0 && partsActive === 0) {
              // 5. every piece is proven: the whole tree, grafted
              const certificate = buildVnnCertificate(model, spec, trees.map((t) => writeTree(t.root)));
              return finish({ status: 'unsat', certificate });
            }
            pump();
          },
          (e: unknown) => {
            active--;
            partsActive--;
            finish({ status: 'unknown', reason: `a worker failed: ${(e as Error)?.message ?? String(e)}` });
          },
        );
      }
    };
    // falsification's restarts on one worker, beside the search (their share of the budget, as decideVnnlib gives them)
    if (!opts.noFalsify && workers.size > 1) {
      active++;
      const share = Math.min(Math.min(opts.falsifyShare ?? 0.05, 1) * timeout, FALSIFY_CAP_S);
      workers.run({ kind: 'falsify', seconds: Math.min(share, secondsLeft()), opts: { ...itemOpts, seed: (opts.seed ?? 1) + 1 } }).then(
        (res) => {
          active--;
          if (!settled && take(res)) pump();
        },
        () => {
          active--;
          if (!settled) pump();
        },
      );
    }
    pump();
  });
  return done(outcome);
}

/** Most seconds of falsification restarts (decide.ts caps them at 3 s too). */
const FALSIFY_CAP_S = 3;
