/**
 * The proof's branch-and-bound (bnb.ts) on several threads: `solve --prove --workers N`. This
 * file knows no threads: the caller hands in `ProofWorkers` (the CLI's runs on worker_threads,
 * cli/vnnPool.ts; a test may run the items in-process), so the library stays browser-safe.
 *
 * The scheme is the one of certify/vnn/parallel.ts, simpler (root splitting with a dynamic work
 * queue, the "search-frontier splitting" of parallel branch and bound: Gendron & Crainic,
 * Operations Research 42(6), 1994, §3):
 *   1. the same FIFO branch-and-bound as one thread runs here until at least
 *      SPLIT_PER_WORKER × N boxes wait (or the query is decided, exactly as one thread decides it);
 *      the exclusions made so far are confirmed by the verifier's own checks before handing off;
 *   2. the waiting boxes form a queue; the next share of it (⌈queue / 2N⌉ boxes, at most
 *      MAX_PARTS: guided self-scheduling, Polychronopoulos & Kuck 1987) goes to whichever worker
 *      is idle, with at most ITEM_BOXES boxes to bound, the time and evaluations left, and every
 *      root region proven so far (boxes inside one are dropped, as one thread drops them);
 *   3. a worker runs the same search on its boxes (runProofWorkItem: bnb.ts with `handOff`) and
 *      answers its closed boxes (exclusions confirmed by the verifier's checks), its roots, and the
 *      boxes still waiting when its box share ran out, which join the queue (so a hard region is
 *      spread over every worker, not left to one);
 *   4. the merge is one BnbResult for the WHOLE query box: the union of every piece's excluded,
 *      root-free and root boxes (and the root run's), with undecided boxes, budget and counts
 *      summed. certify.ts then concludes from it exactly as from a one-thread run (the same
 *      claims, the same deduplication of roots into solutions, the same certificate checked by
 *      verifyCertificate before it is emitted).
 *
 * Why the merged certificate holds: every split is exact (a box split at t gives [lo, t] and
 * [t, hi]), so the root run's closed boxes and the handed-off boxes tile the query box, and each
 * worker's closed boxes and handed-back boxes tile the boxes it was given; so the union covers
 * the query box whenever nothing is left undecided (verifyCertificate checks the cover itself,
 * and every box's claim on its own). A root box lying wholly inside another root box is dropped
 * (the cover is unchanged); two root boxes that only overlap both stay, as in one thread's runs,
 * and each is proven by Krawczyk to hold exactly one root (the verifier asks no more: neither
 * disjointness nor distinct roots), while the solutions list each root once (certify.ts).
 *
 * Budgets: the time limit is the one deadline of the whole proof (each item gets the seconds left
 * at hand-out); --max-boxes is shared (an item gets at most what is left unreserved by the
 * items under way); --max-evaluations is what is left at hand-out, so with N items under way the
 * evaluations can overrun it by up to N − 1 items' worth. Ctrl-C: every thread reads the stop
 * flag (the caller shares it), each piece ends as interrupted, and so does the merge: no claim.
 */
import type { Problem } from '../../problem/query.ts';
import { Budget, now, stopRequested } from '../../solve/evaluator.ts';
import { boxInside } from './rootBoxes.ts';
import { branchAndBound, budgetReasonOf, provenFraction, type BnbOptions, type BnbResult, type ProofBox, type RootBox } from './bnb.ts';

/** Boxes waiting per worker before the root search hands its frontier out. */
export const SPLIT_PER_WORKER = 8;
/** Most boxes handed out in one work item. */
export const MAX_PARTS = 64;
/** Most boxes one work item may bound before it hands back what still waits. */
export const ITEM_BOXES = 512;

/** One unit of work: boxes of the query box to search (the query itself is the worker's, fixed for the pool). */
export interface ProofWorkItem {
  boxes: ProofBox[];
  /** Most boxes to bound; the boxes still waiting then are handed back (`frontier`). */
  maxBoxes: number;
  maxEvaluations: number;
  /** Seconds left (Infinity: no limit); threads' clocks differ, so no absolute deadline. */
  seconds: number;
  linear?: boolean;
  /** Root regions proven so far: boxes wholly inside one are dropped. */
  provenRoots: RootBox[];
}

export type ProofWorkResult = Pick<BnbResult, 'excluded' | 'rootFree' | 'roots' | 'undecided' | 'boxes' | 'budgetHit' | 'budgetReason' | 'verifyMs'> & {
  /** Boxes not searched (the item's box share ran out): they go back to the queue. */
  frontier: ProofBox[];
  evaluations: number;
  jacobians: number;
  /** Smallest worst-output miss over the item's closed boxes (Infinity when none). */
  minMiss: number;
};

/** Runs work items somewhere (threads, or in-process in tests); at most `size` at once. */
export interface ProofWorkers {
  readonly size: number;
  run(item: ProofWorkItem): Promise<ProofWorkResult>;
}

export interface ParallelBnbOptions {
  /** Waiting boxes per worker at which the root search hands off (default SPLIT_PER_WORKER). */
  splitPerWorker?: number;
  /** Most boxes per work item (default ITEM_BOXES). */
  itemBoxes?: number;
}

/** What a worker runs: bnb.ts on the item's boxes, handing back what its box share leaves. */
export function runProofWorkItem(problem: Problem, item: ProofWorkItem): ProofWorkResult {
  const budget = new Budget(item.maxEvaluations, item.seconds);
  const r = branchAndBound(problem, budget, {
    maxBoxes: item.maxBoxes,
    start: item.boxes,
    provenRoots: item.provenRoots,
    linear: item.linear,
    handOff: {},
    ...(Number.isFinite(item.seconds) ? { deadline: now() + 1000 * item.seconds } : {}),
  });
  return {
    excluded: r.excluded,
    rootFree: r.rootFree,
    roots: r.roots,
    undecided: r.undecided,
    frontier: r.frontier ?? [],
    boxes: r.boxes,
    budgetHit: r.budgetHit,
    ...(r.budgetReason ? { budgetReason: r.budgetReason } : {}),
    verifyMs: r.verifyMs,
    evaluations: budget.evaluations,
    jacobians: budget.jacobians,
    minMiss: r.minMiss ?? -Infinity,
  };
}

/**
 * branchAndBound (bnb.ts) with its frontier shared among `workers`: the same result shape, for
 * the whole query box. `budget` is charged with every piece's evaluations; `opts.deadline` (this
 * thread's clock) bounds the whole run.
 */
export async function branchAndBoundParallel(problem: Problem, budget: Budget, opts: BnbOptions, workers: ProofWorkers, popts: ParallelBnbOptions = {}): Promise<BnbResult & { pieces: number; failures: string[] }> {
  const N = Math.max(1, workers.size);
  const root = branchAndBound(problem, budget, { ...opts, handOff: { splitAt: (popts.splitPerWorker ?? SPLIT_PER_WORKER) * N } });
  const queue: ProofBox[] = root.frontier ?? [];
  const { frontier: _f, minMiss: _m, ...rootResult } = root;
  if (!queue.length) return { ...rootResult, pieces: 0, failures: [] };

  const excluded = root.excluded.slice(),
    rootFree = root.rootFree.slice(),
    roots = root.roots.slice(),
    undecided = root.undecided.slice();
  let boxes = root.boxes,
    verifyMs = root.verifyMs,
    minMiss = root.minMiss ?? Infinity,
    budgetHit = root.budgetHit,
    reason: BnbResult['budgetReason'] = root.budgetReason;
  const failures: string[] = [];
  let pieces = 0;
  // a root box inside another proves nothing new: dropped (the cover stays the same)
  const addRoot = (r: RootBox): void => {
    if (roots.some((a) => boxInside(r, a))) return;
    for (let i = roots.length - 1; i >= 0; i--) if (boxInside(roots[i], r)) roots.splice(i, 1);
    roots.push(r);
  };
  const itemBoxes = Math.max(1, popts.itemBoxes ?? ITEM_BOXES);
  let reserved = 0;
  type Done = { id: number; cap: number; parts: ProofBox[]; res?: ProofWorkResult; err?: unknown };
  const inFlight = new Map<number, Promise<Done>>();
  let nextId = 0;
  const over = (): boolean => budgetHit || budget.exhausted || (opts.deadline !== undefined && now() > opts.deadline);
  for (;;) {
    while (inFlight.size < N && queue.length && !over()) {
      const left = opts.maxBoxes - boxes - reserved;
      if (left <= 0) break;
      const take = Math.min(MAX_PARTS, Math.max(1, Math.ceil(queue.length / (2 * N))));
      const parts = queue.splice(0, take);
      const cap = Math.min(left, itemBoxes);
      const seconds = opts.deadline !== undefined ? Math.max(0, (opts.deadline - now()) / 1000) : Infinity;
      const item: ProofWorkItem = {
        boxes: parts,
        maxBoxes: cap,
        maxEvaluations: Math.max(0, budget.maxEvaluations - budget.evaluations),
        seconds,
        ...(opts.linear !== undefined ? { linear: opts.linear } : {}),
        provenRoots: roots.slice(),
      };
      const id = nextId++;
      reserved += cap;
      pieces++;
      inFlight.set(
        id,
        workers.run(item).then(
          (res): Done => ({ id, cap, parts, res }),
          (err: unknown): Done => ({ id, cap, parts, err }),
        ),
      );
    }
    if (!inFlight.size) break;
    const d = await Promise.race(inFlight.values());
    inFlight.delete(d.id);
    reserved -= d.cap;
    if (!d.res) {
      // a thread that failed leaves its boxes undecided: no claim rests on them
      failures.push((d.err as Error)?.message ?? String(d.err));
      undecided.push(...d.parts.map((b) => ({ lo: b.lo, hi: b.hi })));
      continue;
    }
    const r = d.res;
    excluded.push(...r.excluded);
    rootFree.push(...r.rootFree);
    for (const rb of r.roots) addRoot(rb);
    undecided.push(...r.undecided);
    queue.push(...r.frontier);
    boxes += r.boxes;
    verifyMs += r.verifyMs;
    budget.evaluations += r.evaluations;
    budget.jacobians += r.jacobians;
    if (r.minMiss < minMiss) minMiss = r.minMiss;
    if (r.budgetHit) {
      budgetHit = true;
      reason ??= r.budgetReason;
    }
  }
  if (queue.length) {
    // not searched: the budget (time, boxes, evaluations, Ctrl-C) ran out
    budgetHit = true;
    undecided.push(...queue.map((b) => ({ lo: b.lo, hi: b.hi })));
  }
  if (budgetHit) {
    reason = stopRequested() ? 'interrupted' : (reason ?? budgetReasonOf(boxes, opts.maxBoxes, budget));
  }
  // the volume proven empty, in box-width units (as bnb.ts measures it)
  const W = Array.from(problem.hi, (h, j) => h - problem.lo[j] || 1);
  const degenerate = Array.from(problem.hi, (h, j) => h === problem.lo[j]);
  let vol = 0;
  for (const e of excluded) vol += e.lo.reduce((a, l, j) => a * (degenerate[j] ? 1 : (e.hi[j] - l) / W[j]), 1);
  const excludedFraction = provenFraction(vol, undecided.length > 0 || budgetHit);
  let lowerBound = minMiss;
  if (undecided.length || roots.length) lowerBound = Math.min(lowerBound, 0);
  return {
    excluded,
    rootFree,
    roots,
    undecided,
    excludedFraction,
    lowerBound: lowerBound === Infinity ? -Infinity : lowerBound,
    boxes,
    budgetHit,
    ...(budgetHit && reason ? { budgetReason: reason } : {}),
    verifyMs,
    square: root.square,
    pieces,
    failures,
  };
}
