/**
 * A proven lower bound on the distance from the reference to any input meeting the targets
 * (issue 12 §1: --closest-to with --prove), for any net the bounds cover, smooth ones included.
 * Branch-and-bound over the unknowns' box (Land & Doig 1960; the best-first interval search of
 * Moore–Skelboe, Kearfott 1996 §5) on the shared driver (solve/branchAndBound.ts):
 *   - dist_min(X) = the distance from the reference to the box X (per coordinate
 *     max(0, loⱼ − refⱼ, refⱼ − hiⱼ)/unitⱼ, combined in the problem's norm), rounded down;
 *   - a box with dist_min(X) ≥ best·(1 − gap) (best: the distance of a verified solution; gap a
 *     relative optimality gap, default 1e-4, as MILP solvers stop at one) is pruned: no point in it
 *     is closer than that;
 *   - a box where some target's enclosure (CROWN back-substitution intersected with intervals,
 *     bounds/crown.ts) misses the target widened by its tolerance is pruned: nothing in it meets
 *     the targets;
 *   - the others are split along their widest coordinate (box-width units), best-first by
 *     dist_min.
 * The bound is min(best·(1 − gap), dist_min of every box still open) when the run ends: every
 * input that meets the targets lies in an open box or is at least best·(1 − gap) away. MIPVerify (Tjeng et al. 2019)
 * gets the same statement for ReLU nets from a MILP (certify/milp, objective 'closest').
 */
import { nextDown } from '../../graph/round.ts';
import { distanceUnit, targetTolerance, type Problem } from '../../problem/query.ts';
import { formInterval } from '../../problem/targets.ts';
import { runBranchAndBound, SPLIT_FRACTION, type BoundOutcome } from '../../solve/branchAndBound.ts';
import { crownBounds } from '../bounds/crown.ts';

/** Relative optimality gap at which a box no longer needs splitting. */
export const DEFAULT_GAP = 1e-4;

interface Box {
  lo: Float64Array;
  hi: Float64Array;
  /** dist_min of the box, rounded down. */
  d: number;
}

export interface ClosestBoundResult {
  /** No input meeting the targets is closer to the reference than this (distance units, the problem's norm). */
  bound: number;
  /** True when every box was pruned: bound = best·(1 − gap), the answer is proven the closest within the gap. */
  complete: boolean;
  boxes: number;
}

/** The distance from the reference to a box (a lower bound, rounded down). */
export function boxDistance(p: Problem, lo: ArrayLike<number>, hi: ArrayLike<number>): number {
  const ref = p.reference!,
    mask = p.referenceMask!;
  let s = 0;
  for (let j = 0; j < ref.length; j++) {
    if (!mask[j]) continue;
    const g = Math.max(0, lo[j] - ref[j], ref[j] - hi[j]);
    if (g === 0) continue;
    // every step rounded down (and never below 0): the result is ≤ the exact distance
    const dd = Math.max(0, nextDown(nextDown(g) / distanceUnit(p, j)));
    if (p.distance === 'l1') s = Math.max(0, nextDown(s + dd));
    else if (p.distance === 'linf') s = Math.max(s, dd);
    else s = Math.max(0, nextDown(s + Math.max(0, nextDown(dd * dd))));
  }
  return p.distance === 'l2' ? Math.max(0, nextDown(Math.sqrt(s))) : s;
}

/**
 * The lower bound for a problem with a reference point, given `best`, the distance of a verified
 * solution (Infinity when none is known: then the bound is on the whole feasible set).
 */
export function closestDistanceLowerBound(p: Problem, best: number, opts: { maxBoxes?: number; deadline?: number; gap?: number } = {}): ClosestBoundResult {
  const cut = best * (1 - (opts.gap ?? DEFAULT_GAP));
  const net = p.model.network;
  const nIn = net.nIn,
    n = p.unknowns.length;
  const tol = p.targets.map((t) => targetTolerance(t, p.atol, p.rtol));
  const open = new Set<Box>();
  const iv = [0, 0];
  let L = new Float64Array(0),
    H = new Float64Array(0);
  const mk = (lo: Float64Array, hi: Float64Array): Box => ({ lo, hi, d: boxDistance(p, lo, hi) });
  const root = mk(p.lo.slice(), p.hi.slice());
  const res = runBranchAndBound<Box, [number, number], never>(
    [root],
    {
      bound(batch) {
        const rows = batch.length;
        if (L.length < rows * nIn) {
          L = new Float64Array(rows * nIn);
          H = new Float64Array(rows * nIn);
        }
        for (let r = 0; r < rows; r++) {
          L.set(p.base, r * nIn);
          H.set(p.base, r * nIn);
          for (let j = 0; j < n; j++) {
            L[r * nIn + p.unknowns[j]] = batch[r].lo[j];
            H[r * nIn + p.unknowns[j]] = batch[r].hi[j];
          }
        }
        const b = crownBounds(p, L.subarray(0, rows * nIn), H.subarray(0, rows * nIn), rows, p.targetOutputs);
        return batch.map((box, r): BoundOutcome<never, Box, [number, number]> => {
          if (box.d >= cut) return { kind: 'closed' };
          for (let i = 0; i < p.targets.length; i++) {
            const t = p.targets[i];
            formInterval(t.terms, b.lo, b.hi, r * net.nOut, iv);
            if (iv[1] < t.lo - tol[i] || iv[0] > t.hi + tol[i]) return { kind: 'closed' };
          }
          open.add(box);
          return { kind: 'open', priority: box.d };
        });
      },
      split(box) {
        open.delete(box);
        let k = 0,
          w = -1;
        for (let j = 0; j < n; j++) {
          const e = (box.hi[j] - box.lo[j]) / (p.hi[j] - p.lo[j] || 1);
          if (e > w) {
            w = e;
            k = j;
          }
        }
        const t = box.lo[k] + SPLIT_FRACTION * (box.hi[k] - box.lo[k]);
        const h1 = box.hi.slice(),
          l2 = box.lo.slice();
        h1[k] = t;
        l2[k] = t;
        return { children: [mk(box.lo, h1), mk(l2, box.hi)], record: [k, t] };
      },
    },
    { maxBoxes: opts.maxBoxes ?? 100_000, deadline: opts.deadline, trees: false, batch: 32, maxDepth: 60 },
  );
  let bound = cut;
  for (const b of open) bound = Math.min(bound, b.d);
  for (const b of res.remaining) bound = Math.min(bound, b.d);
  // a box that could not be split further (depth limit) stays open in `open`
  return { bound: Number.isFinite(bound) ? bound : Infinity, complete: res.status === 'closed' && open.size === 0, boxes: res.boxesBounded };
}
