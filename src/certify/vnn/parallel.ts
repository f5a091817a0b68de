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
 *   3. every leaf of that root tree becomes work: the undecided boxes, lowest bound (hardest)
 *      first, then the boxes the root search closed (they are re-bounded and re-checked); the main
 *      thread hands the next share of the queue (at most a 1/(2N) share, guided self-scheduling,
 *      Polychronopoulos & Kuck 1987) to whichever worker is idle: sub-box difficulty varies by
 *      orders of magnitude, so a static share would leave workers idle;
 *   4. each worker runs the same search on its boxes with the time left (runVnnWorkItem), then
 *      has the independent verifier (verifyVnnCertificate) re-check its closed trees, in pieces
 *      (subtrees cut near the top; each piece's leaves checked on the whole tree, so with all
 *      their ancestors' bounds), repairing under a rejected piece as decideVnnlib does. When the
 *      queue is empty and a worker idles, the oldest piece under way is asked (a shared flag it
 *      reads between rounds, and between pieces of the check) to share: while searching, it
 *      answers with its partial trees (their closed leaves re-checked there) and its undecided
 *      boxes, which join the queue; while checking, with the pieces not checked yet, which join the
 *      queue as check work (work sharing on demand: Karp & Zhang, J. ACM 40(3), 1993);
 *   5. any sat (re-checked here by a float64 forward pass) ends the run at once; any unknown ends
 *      it as unknown; when every item is unsat, each subtree (and each shared partial tree) is
 *      grafted into the tree at its leaf, and the certificate is the whole tree, in the format of a
 *      one-thread proof.
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
import { buildVnnCertificate, isVnnLeaf } from '../proof/vnnCertificate.ts';
import { verifyVnnCertificate } from '../proof/vnnVerifier.ts';
import type { DriverResult } from '../../solve/branchAndBound.ts';
import { VnnBounder } from './bounds.ts';
import {
  asCert,
  checkDims,
  confirmWitness,
  falsify,
  FALSIFY_UPFRONT_MS,
  innerHi,
  interleavedRestarts,
  innerLo,
  leafBoxes,
  makeSearch,
  newStats,
  proveBoxes,
  unbounded,
  UNBOUNDED,
  VERIFY_RESERVE,
  vnnBounderFor,
  verifierAccepts,
  verifyAndRepair,
  type Box,
  type DecideOptions,
  type LeafBox,
  type Search,
  type DecideResult,
  type VnnWitness,
} from './decide.ts';

/** Undecided boxes per worker before the root search hands its frontier out. */
export const SPLIT_PER_WORKER = 4;
/** Most boxes in one work item. */
export const MAX_PARTS = 64;
/** A worker asked to share its work gives it up only after this long on its item (ms; default). */
export const YIELD_AFTER_MS = 250;
/** Milliseconds past the deadline the main thread waits for a worker's last answer. */
const GRACE_MS = 250;
/**
 * Most seconds of falsification restarts. They hold a whole worker (decide.ts interleaves its 3 s
 * at most a third of the search's time), so the parallel search gives them 1 s: on two threads
 * 3 s left half the machine falsifying for most of a 6–30 s unsat proof.
 */
const FALSIFY_CAP_S = 1;

/**
 * `netinvert verify --workers N` (and the bench): the root search runs alone for this long before
 * it hands out work (ParallelDecideOptions.handoffMs), and the threads start at VERIFY_START_MS.
 */
export const VERIFY_HANDOFF_MS = 1000;
export const VERIFY_START_MS = 300;

export interface ParallelDecideOptions extends DecideOptions {
  /** Undecided boxes per worker at which the root search hands its frontier out (default SPLIT_PER_WORKER). */
  splitPerWorker?: number;
  /** A worker asked to share gives up its undecided boxes only after this many ms on its item (default YIELD_AFTER_MS). */
  yieldAfterMs?: number;
  /**
   * The root search runs in this thread for at least this many ms before it hands its frontier
   * out (default 0: as soon as it is wide enough). A property decided sooner never uses the
   * workers: most ACAS Xu instances take under a second on one thread, and thread start-up
   * (~0.4 s from dist) would cost them more than a second thread gains.
   */
  handoffMs?: number;
  /** Start the workers (VnnWorkers.start) once the root search has run this many ms (default 0: at once). */
  startMs?: number;
}

export type ParallelDecideResult = DecideResult & { stats: DecideResult['stats'] & { workers: number; pieces: number; yields: number } };

/** A box of the property to search on its own: inside input box `root`, `depth` splits below it. */
export interface VnnPart {
  root: number;
  lo: Float64Array;
  hi: Float64Array;
  depth: number;
  /** Intermediate bounds valid on the box (chain nets), or null. */
  parent: Float64Array | null;
}

/**
 * One unit of work for a worker: boxes to decide, or falsification restarts. `yieldFlag` (an
 * Int32Array on a SharedArrayBuffer, where there is one): when the main thread sets it to 1, the
 * worker stops after its current round (and at least `yieldAfterMs` on the item, and one split)
 * and answers 'split' with the boxes it has not decided, for idle workers to take.
 */
export type VnnWorkItem =
  | {
      kind: 'parts';
      parts: VnnPart[];
      seconds: number;
      opts: DecideOptions;
      yieldFlag?: Int32Array;
      yieldAfterMs?: number;
      /** The parts' closed split trees (preorder, `[]` leaves) when the search is done and only the verifier's check (and repair) is left. */
      trees?: number[][][];
      /** With `trees`: check only the subtree at nodes [from, to) of each part's tree (`depth`: its depth in that tree); the answer's trees are those subtrees. */
      ranges?: { from: number; to: number; depth: number }[];
    }
  | { kind: 'falsify'; seconds: number; opts: DecideOptions };

export interface VnnWorkStats {
  boxes: number;
  leaves: number;
  /** Deepest split, counted from the property's input box. */
  maxDepth: number;
  rejectedLeaves: number;
  searchSeconds: number;
  verifySeconds: number;
}

/** An undecided box a worker gives back: leaf `leaf` (in preorder among the leaves) of its tree for part `part`. */
export interface VnnFrontierBox {
  part: number;
  leaf: number;
  box: VnnPart;
  /** Its bound's priority (lower: more urgent), -Infinity when not bounded yet. */
  priority: number;
  /**
   * Only the verifier's check is left for the subtree at nodes [from, to) of the part's tree as
   * this answer sends it back (`box` is then the part's box, `leaf` unused, depth: the subtree's in that tree).
   */
  check?: { from: number; to: number; depth: number };
}

export type VnnWorkResult =
  | { status: 'sat'; witness: VnnWitness; stats: VnnWorkStats }
  | { status: 'unknown'; reason: string; stats: VnnWorkStats }
  /** One preorder tree per part (`[d, t]` split, `[]` leaf), each re-checked by the verifier. */
  | { status: 'unsat'; trees: number[][][]; stats: VnnWorkStats }
  /**
   * Asked to share: one partial tree per part; its leaves are proven (each re-checked by the
   * verifier as a box on its own) except the `frontier` ones, which are work for others.
   */
  | { status: 'split'; trees: number[][][]; frontier: VnnFrontierBox[]; stats: VnnWorkStats };

/** Whatever runs work items: `size` at a time, each on its own copy of the model. */
export interface VnnWorkers {
  readonly size: number;
  run(item: VnnWorkItem): Promise<VnnWorkResult>;
  /** Start the workers now, where they start on demand (the first run starts them otherwise). */
  start?(): void;
}

/** Watch a search's open boxes (bounded, not split yet, with their priorities) and count the boxes made and bounded. */
function trackOpen(search: Search, roots: number): { open: Map<Box, number>; waiting(): number; splits(): number } {
  const inner = search.callbacks;
  const open = new Map<Box, number>();
  let made = roots,
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
  return { open, waiting: () => open.size + (made - bounded), splits: () => (made - roots) / 2 };
}

const keyOf = (root: number, lo: ArrayLike<number>, hi: ArrayLike<number>): string => `${root}|${Array.prototype.join.call(lo, ',')}|${Array.prototype.join.call(hi, ',')}`;

/**
 * The leaves of a search that stopped early, each undecided (open or waiting for its first bound:
 * with its priority and the intermediate bounds valid on it) or closed; `leaf` is its index among
 * its tree's leaves in preorder.
 */
function sortLeaves(spec: VnnlibSpec, run: DriverResult<number[], VnnWitness | null, Box>, open: Map<Box, number>) {
  const frontier = new Map<string, { box: Box; priority: number }>();
  for (const [box, priority] of open) frontier.set(keyOf(box.root, box.lo, box.hi), { box, priority });
  for (const box of run.remaining) frontier.set(keyOf(box.root, box.lo, box.hi), { box, priority: -Infinity });
  const hard: { tree: number; leaf: number; lb: LeafBox; parent: Float64Array | null; priority: number }[] = [];
  const closed: { tree: number; leaf: number; lb: LeafBox }[] = [];
  const count = new Map<number, number>();
  for (const lb of leafBoxes(spec, run.trees)) {
    const leaf = count.get(lb.tree) ?? 0;
    count.set(lb.tree, leaf + 1);
    const f = frontier.get(keyOf(lb.root, lb.lo, lb.hi));
    if (f) hard.push({ tree: lb.tree, leaf, lb, parent: f.box.state ?? f.box.parent ?? null, priority: f.priority });
    else closed.push({ tree: lb.tree, leaf, lb });
  }
  if (hard.length !== frontier.size) throw new Error(`vnn parallel: ${frontier.size} undecided box(es), ${hard.length} found among the leaves`);
  return { hard, closed };
}

/** What a worker does with an item (synchronous; the model is the worker's own copy). */
export function runVnnWorkItem(model: Model, spec: VnnlibSpec, item: VnnWorkItem): VnnWorkResult {
  const t0 = performance.now();
  const deadline = t0 + item.seconds * 1000;
  const opts = item.opts;
  const bounder = vnnBounderFor(model, spec, opts);
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
  const track = trackOpen(search, item.parts.length);
  const roots: Box[] = item.parts.map((p, i) => ({ root: i, lo: p.lo.slice(), hi: p.hi.slice(), dim: 0, parent: p.parent }));
  const depthUsed = item.parts.reduce((a, p) => Math.max(a, p.depth), 0);
  const searchDeadline = t0 + item.seconds * 1000 * (1 - VERIFY_RESERVE);
  const flag = item.yieldFlag;
  const after = item.yieldAfterMs ?? YIELD_AFTER_MS;
  // give the boxes up when asked, once the item has made progress (a split: the frontier is new work)
  const asked = (): boolean => !!flag && Atomics.load(flag, 0) !== 0 && performance.now() - t0 >= after;
  if (item.trees) return checkPieces(model, sub, item, bounder, rootW, item.trees.map((t) => t.map((n) => (n.length ? n : null))), asked, deadline, stats, ws);
  const split = flag ? (): boolean => asked() && track.splits() > 0 : undefined;
  const r = proveBoxes(model, sub, search, roots, { searchDeadline, deadline, timeout: item.seconds, depthUsed, split, searchOnly: true }, stats);
  if (r.status === 'sat') return { status: 'sat', witness: r.witness, stats: ws() };
  if (r.status === 'unknown') return { status: 'unknown', reason: r.reason, stats: ws() };
  if (r.status === 'searched') return checkPieces(model, sub, item, bounder, rootW, r.trees, asked, deadline, stats, ws);
  if (r.status === 'unsat') return { status: 'unsat', trees: asCert(r.trees), stats: ws() };
  // asked to share: the closed leaves are re-checked here by the verifier; the ones it rejects go
  // back with the undecided ones
  const { hard, closed } = sortLeaves(sub, r.run, track.open);
  const frontier: VnnFrontierBox[] = hard.map((h) => ({ part: h.tree, leaf: h.leaf, box: partOf(item.parts[h.tree], h.lb, h.parent), priority: h.priority }));
  const t2 = performance.now();
  // first all of them at once, each with its ancestors' bounds (the undecided leaves skipped);
  // only when that fails, box by box
  const undecided = new Set(hard.map((h) => `${h.tree}:${h.lb.pos}`));
  const partial = buildVnnCertificate(model, sub, asCert(r.run.trees));
  if (verifyVnnCertificate(model, sub, partial, { checkLeaf: (b, node) => !undecided.has(`${b}:${node}`) }).ok) closed.length = 0;
  for (let i = 0; i < closed.length; i += 64) {
    if (performance.now() > deadline) return { status: 'unknown', reason: `timeout (${item.seconds} s) while re-checking the leaves of a shared search`, stats: ws() };
    const chunk = closed.slice(i, i + 64);
    verifierAccepts(model, sub, chunk.map((c) => c.lb)).forEach((ok, k) => {
      if (ok) return;
      const c = chunk[k];
      frontier.push({ part: c.tree, leaf: c.leaf, box: partOf(item.parts[c.tree], c.lb, null), priority: 0 });
      stats.rejectedLeaves++;
      stats.leaves--;
    });
  }
  stats.verifySeconds += (performance.now() - t2) / 1000;
  return { status: 'split', trees: asCert(r.run.trees), frontier, stats: ws() };
}

/** Pieces a closed tree is cut into for the verifier's check (so that an idle worker can take some). */
const CHECK_PIECES = 16;

/** One past the last preorder index of the subtree at node i. */
function subtreeEnd(t: readonly (readonly number[] | null)[], i: number): number {
  let need = 1;
  while (need > 0) {
    const n = t[i++];
    // a split [d, t] opens two subtrees; a leaf (null, [] or a hinted leaf: isVnnLeaf) closes one
    need += n && !isVnnLeaf(n) ? 1 : -1;
  }
  return i;
}

/**
 * The verifier's check (and repair) of closed trees over the parts, piece by piece: each tree (or
 * each given range of one) is cut near its top into subtrees (CHECK_PIECES in all, or fewer), and
 * each piece's leaves are checked by verifyVnnCertificate on the whole trees with only those
 * leaves checked (so each leaf still gets all its ancestors' bounds). A piece the verifier
 * rejects is re-checked on its own box with the repair of verifyAndRepair and its subtree
 * replaced. Between pieces, when the main thread asks to share (and no range was given), the
 * pieces not checked yet go back as check work for others, and the answer is 'split'.
 */
function checkPieces(
  model: Model,
  sub: VnnlibSpec,
  item: Extract<VnnWorkItem, { kind: 'parts' }>,
  bounder: VnnBounder,
  rootW: Float64Array[],
  closedTrees: (number[] | null)[][],
  asked: () => boolean,
  deadline: number,
  stats: DecideResult['stats'],
  ws: () => VnnWorkStats,
): VnnWorkResult {
  interface Piece {
    k: number;
    from: number;
    to: number;
    depth: number;
    lo: Float64Array;
    hi: Float64Array;
  }
  const trees = closedTrees;
  const ranges = item.ranges;
  let pieces: Piece[] = trees.map((t, k) => {
    const r = ranges?.[k];
    // the box of the range's root: walk the splits down to it
    let lo = sub.inputBoxes[k].lo.slice(),
      hi = sub.inputBoxes[k].hi.slice();
    if (r) {
      let i = 0;
      while (i < r.from) {
        const [d, v] = t[i] as number[];
        const e = subtreeEnd(t, i + 1);
        if (r.from < e) ((hi = hi.slice()), (hi[d] = v), (i = i + 1));
        else ((lo = lo.slice()), (lo[d] = v), (i = e));
      }
    }
    return { k, from: r ? r.from : 0, to: r ? r.to : t.length, depth: r ? r.depth : 0, lo, hi };
  });
  for (let grew = true; grew && pieces.length < CHECK_PIECES; ) {
    grew = false;
    const next: Piece[] = [];
    for (const p of pieces) {
      const n = trees[p.k][p.from];
      if (!n || isVnnLeaf(n)) {
        next.push(p);
        continue;
      }
      grew = true;
      const [d, v] = n;
      const e = subtreeEnd(trees[p.k], p.from + 1);
      const h1 = p.hi.slice(),
        l2 = p.lo.slice();
      h1[d] = v;
      l2[d] = v;
      next.push({ k: p.k, from: p.from + 1, to: e, depth: p.depth + 1, lo: p.lo, hi: h1 }, { k: p.k, from: e, to: p.to, depth: p.depth + 1, lo: l2, hi: p.hi });
    }
    pieces = next;
  }
  const cert = buildVnnCertificate(model, sub, asCert(trees));
  /** Repaired subtrees, by piece. */
  const fixed = new Map<Piece, (number[] | null)[]>();
  const height = (t: readonly (readonly number[] | null)[], from: number, to: number): number => {
    let h = 0;
    for (const lb of leafBoxes({ ...sub, inputBoxes: [sub.inputBoxes[0]] }, [t.slice(from, to) as (number[] | null)[]])) h = Math.max(h, lb.depth);
    return h;
  };
  /** The trees with the repaired pieces in place; `moved`: where each piece starts and ends there. */
  const assemble = (): { out: number[][][]; moved: Map<Piece, [number, number]> } => {
    const moved = new Map<Piece, [number, number]>();
    const out = trees.map((t, k) => {
      const mine = pieces.filter((p) => p.k === k);
      const o: number[][] = [];
      let i = 0;
      for (const p of mine) {
        while (i < p.from) o.push(t[i++] ?? []);
        const start = o.length;
        for (const n of fixed.get(p) ?? t.slice(p.from, p.to)) o.push(n ?? []);
        moved.set(p, [start, o.length]);
        i = p.to;
      }
      while (i < t.length) o.push(t[i++] ?? []);
      return o;
    });
    return { out, moved };
  };
  const t2 = performance.now();
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i];
    if (i > 0 && !ranges && asked()) {
      // share: the pieces not checked yet go back as check work on the trees sent back
      stats.verifySeconds += (performance.now() - t2) / 1000;
      const { out, moved } = assemble();
      const frontier: VnnFrontierBox[] = pieces.slice(i).map((q) => {
        const [from, to] = moved.get(q) as [number, number];
        return { part: q.k, leaf: -1, box: item.parts[q.k], priority: 0, check: { from, to, depth: q.depth } };
      });
      return { status: 'split', trees: out, frontier, stats: ws() };
    }
    if (performance.now() > deadline) return { status: 'unknown', reason: `timeout (${item.seconds} s) while the verifier re-checked the proof`, stats: ws() };
    const v = verifyVnnCertificate(model, sub, cert, { checkLeaf: (b, node) => b === p.k && node >= p.from && node < p.to });
    if (v.ok) continue;
    // rejected: the piece on its own box, with the repair search under the leaves the verifier rejects
    const one: VnnlibSpec = { ...sub, inputBoxes: [{ lo: p.lo, hi: p.hi }] };
    const search = makeSearch(model, one, bounder, item.opts, deadline, stats, [rootW[p.k]]);
    const t = trees[p.k].slice(p.from, p.to);
    const depthUsed = item.parts[p.k].depth + p.depth + height(trees[p.k], p.from, p.to);
    const r = verifyAndRepair(model, one, search, [t], { deadline, timeout: item.seconds, boxesUsed: 0, depthUsed }, stats);
    if (r.status === 'sat') return { status: 'sat', witness: r.witness, stats: ws() };
    if (r.status === 'unknown') return { status: 'unknown', reason: r.reason, stats: ws() };
    if (r.status !== 'unsat') return { status: 'unknown', reason: 'internal: a check stopped early', stats: ws() };
    fixed.set(p, r.trees[0]);
  }
  stats.verifySeconds += (performance.now() - t2) / 1000;
  const { out, moved } = assemble();
  if (!ranges) return { status: 'unsat', trees: out, stats: ws() };
  // a range check answers with the subtrees of its ranges
  return {
    status: 'unsat',
    trees: out.map((o, k) => {
      const mine = pieces.filter((p) => p.k === k);
      const [a] = moved.get(mine[0]) as [number, number];
      const [, z] = moved.get(mine[mine.length - 1]) as [number, number];
      return o.slice(a, z);
    }),
    stats: ws(),
  };
}

/** A leaf box of a part's tree as a part of the property. */
function partOf(p: VnnPart, lb: LeafBox, parent: Float64Array | null): VnnPart {
  return { root: p.root, lo: lb.lo, hi: lb.hi, depth: p.depth + lb.depth, parent };
}

/** A node of the root tree while the pieces come back. */
interface Node {
  rec: number[] | null;
  kids: [Node, Node] | null;
}

function parseTree(t: readonly (readonly number[] | null)[]): { root: Node; leaves: Node[]; nodes: Node[] } {
  let pos = 0;
  const leaves: Node[] = [],
    nodes: Node[] = [];
  const walk = (): Node => {
    const n = t[pos++];
    if (n === null || n === undefined || isVnnLeaf(n)) {
      // a plain leaf, or a hinted one (vnnCertificate.ts): it keeps its record
      const leaf: Node = { rec: n && n.length ? n.slice() : null, kids: null };
      leaves.push(leaf);
      nodes.push(leaf);
      return leaf;
    }
    const node: Node = { rec: [n[0], n[1]], kids: null };
    nodes.push(node);
    const left = walk();
    node.kids = [left, walk()];
    return node;
  };
  return { root: walk(), leaves, nodes };
}

/** Preorder list of a tree; nodes in `cut` are written as leaves (and every leaf's index among the leaves goes in `leafOf`). */
function writeTree(root: Node, cut?: Set<Node>, leafOf?: Map<Node, number>): number[][] {
  const out: number[][] = [];
  const stack: Node[] = [root];
  let leaves = 0;
  while (stack.length) {
    const n = stack.pop() as Node;
    if (!n.kids || cut?.has(n)) {
      leafOf?.set(n, leaves++);
      out.push(!n.kids && n.rec ? n.rec : []);
      continue;
    }
    out.push(n.rec as number[]);
    stack.push(n.kids[1], n.kids[0]);
  }
  return out;
}


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
  const bounder = vnnBounderFor(model, spec, opts);
  /** pieces: work items of boxes handed to the workers (0 when the root search decided alone); yields: items given back to share. */
  const stats = { ...newStats(bounder), workers: workers.size, pieces: 0, yields: 0 };
  const done = (r: Omit<DecideResult, 'stats'>): ParallelDecideResult => {
    stats.seconds = (performance.now() - t0) / 1000;
    return { ...r, stats };
  };
  const handoffMs = Math.max(0, opts.handoffMs ?? 0),
    startMs = Math.max(0, opts.startMs ?? 0);
  if (startMs === 0) workers.start?.();
  // 1. falsification's first round (its restarts go to a worker; while the root search runs here
  // alone for handoffMs, it interleaves them as decideVnnlib does)
  const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
  let restart: (() => VnnWitness | null) | undefined;
  if (!opts.noFalsify) {
    const w = handoffMs > 0 ? falsify(model, bounder.forms, boxes, opts, deadline, FALSIFY_UPFRONT_MS) : falsify(model, bounder.forms, boxes, { ...opts, falsifyShare: 0 }, deadline);
    stats.falsifySeconds = (performance.now() - t0) / 1000;
    if (w) return done({ status: 'sat', witness: w });
    if (handoffMs > 0) restart = interleavedRestarts(model, bounder, boxes, opts, t0, deadline, stats);
  }
  if (unbounded(spec)) return done({ status: 'unknown', reason: UNBOUNDED });
  // 2. the root search, until the frontier is wide enough (and handoffMs have passed)
  const rootW = spec.inputBoxes.map((b) => Float64Array.from(b.hi, (h, d) => h - b.lo[d]));
  const search = makeSearch(model, spec, bounder, opts, deadline, stats, rootW, restart);
  const track = trackOpen(search, spec.inputBoxes.length);
  const target = Math.max(1, opts.splitPerWorker ?? SPLIT_PER_WORKER) * workers.size;
  const roots: Box[] = spec.inputBoxes.map((b, i) => ({ root: i, lo: b.lo.slice(), hi: b.hi.slice(), dim: 0 }));
  const searchDeadline = t0 + timeout * 1000 * (1 - VERIFY_RESERVE);
  const split = (): boolean => {
    const ran = performance.now() - t0;
    if (ran >= startMs) workers.start?.();
    return ran >= handoffMs && track.waiting() >= target;
  };
  const r = proveBoxes(model, spec, search, roots, { searchDeadline, deadline, timeout, maxBoxes: opts.maxBoxes, depthUsed: 0, split }, stats);
  if (r.status === 'unsat') return done({ status: 'unsat', certificate: r.certificate });
  if (r.status === 'searched') throw new Error('decideVnnlibParallel: the root search stopped without being asked to');
  if (r.status !== 'split') return done(r);
  // 3. every leaf of the root tree becomes work (hardest first)
  const trees = r.run.trees.map((t) => parseTree(t));
  const { hard, closed } = sortLeaves(spec, r.run, track.open);
  // the root search's closed leaves are re-bounded (and re-checked) in the items: count them once
  stats.leaves -= closed.length;
  interface Job {
    node: Node;
    part: VnnPart;
    /** Searched already: only the check of nodes [from, to) of `tree` (the part's tree, `part` its box) is left; `node` is the subtree's root. */
    check?: { tree: number[][]; from: number; to: number; depth: number };
  }
  const rootPart = (lb: LeafBox, parent: Float64Array | null): VnnPart => ({ root: lb.root, lo: lb.lo, hi: lb.hi, depth: lb.depth, parent });
  const queue: Job[] = hard
    .sort((a, b) => a.priority - b.priority)
    .map((h) => ({ node: trees[h.tree].leaves[h.leaf], part: rootPart(h.lb, h.parent) }))
    .concat(closed.map((c) => ({ node: trees[c.tree].leaves[c.leaf], part: rootPart(c.lb, null) })));
  // 4. hand the items out, one to each idle worker
  const { splitPerWorker: _s, yieldAfterMs, handoffMs: _h, startMs: _t, ...itemOpts } = opts;
  const shared = typeof SharedArrayBuffer !== 'undefined';
  const t1 = performance.now();
  const outcome = await new Promise<Omit<DecideResult, 'stats'>>((resolve) => {
    let settled = false,
      falsifying = false,
      verifyCpu = 0;
    /** Items under way, oldest first, with their share flags. */
    const running: { flag?: Int32Array; asked: boolean }[] = [];
    const finish = (x: Omit<DecideResult, 'stats'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stats.searchSeconds += (performance.now() - t1) / 1000;
      stats.verifySeconds += verifyCpu;
      resolve(x);
    };
    const timer = setTimeout(() => finish({ status: 'unknown', reason: `timeout (${timeout} s) with ${queue.length} box(es) and ${running.length} piece(s) of the search undecided` }), Math.max(0, deadline - performance.now()) + GRACE_MS);
    const secondsLeft = (): number => Math.max(0.001, (deadline - performance.now()) / 1000);
    const take = (res: VnnWorkResult): boolean => {
      stats.boxes += res.stats.boxes;
      stats.leaves += res.stats.leaves;
      stats.rejectedLeaves += res.stats.rejectedLeaves;
      verifyCpu += res.stats.verifySeconds;
      stats.maxDepth = Math.max(stats.maxDepth, res.stats.maxDepth);
      if (res.status === 'sat') {
        const w = confirmWitness(model, spec, bounder.forms, res.witness);
        if (w) finish({ status: 'sat', witness: w });
        else finish({ status: 'unknown', reason: 'a worker reported a counterexample that a float64 forward pass here does not confirm' });
        return false;
      }
      if (res.status === 'unknown') {
        finish({ status: 'unknown', reason: res.reason });
        return false;
      }
      return true;
    };
    const pump = (): void => {
      while (!settled && running.length + (falsifying ? 1 : 0) < workers.size && queue.length) {
        // guided self-scheduling (Polychronopoulos & Kuck 1987): a share of what waits, at most MAX_PARTS
        const want = Math.max(1, Math.min(MAX_PARTS, Math.floor(queue.length / (2 * workers.size))));
        // one kind per item: boxes to search, or searched trees to check
        let n = 1;
        while (n < want && !queue[n].check === !queue[0].check) n++;
        const jobs = queue.splice(0, n);
        const entry = { flag: shared ? new Int32Array(new SharedArrayBuffer(4)) : undefined, asked: false };
        running.push(entry);
        stats.pieces++;
        const checks = jobs[0].check ? jobs.map((j) => j.check as NonNullable<Job['check']>) : null;
        const item: VnnWorkItem = {
          kind: 'parts',
          parts: jobs.map((j) => j.part),
          seconds: secondsLeft(),
          opts: itemOpts,
          yieldFlag: entry.flag,
          yieldAfterMs,
          trees: checks?.map((c) => c.tree),
          ranges: checks?.map((c) => ({ from: c.from, to: c.to, depth: c.depth })),
        };
        workers.run(item).then(
          (res) => {
            running.splice(running.indexOf(entry), 1);
            if (settled || !take(res)) return;
            if (res.status === 'sat' || res.status === 'unknown') return;
            const given: Job[] = [];
            res.trees.forEach((t, k) => {
              const sub = parseTree(t);
              jobs[k].node.rec = sub.root.rec;
              jobs[k].node.kids = sub.root.kids;
              if (res.status === 'split')
                for (const f of res.frontier) {
                  if (f.part !== k) continue;
                  if (f.check) given.push({ node: sub.nodes[f.check.from], part: f.box, check: { tree: t, ...f.check } });
                  else given.push({ node: sub.leaves[f.leaf], part: f.box });
                }
            });
            if (res.status === 'split') {
              stats.yields++;
              // hardest first, ahead of the rest (they came from the slowest piece)
              const pr = new Map(res.frontier.map((f) => [f.box, f.priority]));
              given.sort((a, b) => (pr.get(a.part) ?? 0) - (pr.get(b.part) ?? 0));
              queue.unshift(...given);
            }
            if (queue.length === 0 && running.length === 0) {
              // 5. every piece is proven: the whole tree, grafted
              const certificate = buildVnnCertificate(model, spec, trees.map((t) => writeTree(t.root)));
              return finish({ status: 'unsat', certificate });
            }
            pump();
          },
          (e: unknown) => {
            running.splice(running.indexOf(entry), 1);
            finish({ status: 'unknown', reason: `a worker failed: ${(e as Error)?.message ?? String(e)}` });
          },
        );
      }
      // a worker is idle and nothing waits: ask the oldest piece under way to share its boxes
      if (!settled && queue.length === 0 && running.length + (falsifying ? 1 : 0) < workers.size && !running.some((x) => x.asked)) {
        const oldest = running.find((x) => x.flag);
        if (oldest?.flag) {
          oldest.asked = true;
          Atomics.store(oldest.flag, 0, 1);
        }
      }
    };
    // falsification's restarts on one worker, beside the search (their share of the budget, as decideVnnlib gives them);
    // after a handoff, the root search has interleaved them already
    if (!opts.noFalsify && workers.size > 1 && handoffMs === 0) {
      falsifying = true;
      const share = Math.min(Math.min(opts.falsifyShare ?? 0.05, 1) * timeout, FALSIFY_CAP_S);
      workers.run({ kind: 'falsify', seconds: Math.min(share, secondsLeft()), opts: { ...itemOpts, seed: (opts.seed ?? 1) + 1 } }).then(
        (res) => {
          falsifying = false;
          if (settled) return;
          if (res.status === 'sat') take(res);
          else pump();
        },
        () => {
          falsifying = false;
          if (!settled) pump();
        },
      );
    }
    pump();
  });
  return done(outcome);
}
