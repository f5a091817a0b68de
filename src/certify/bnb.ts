/**
 * Branch-and-bound over the unknowns' box (Moore–Skelboe style interval search; Kearfott,
 * Rigorous Global Search, 1996), batched: every round bounds up to BATCH boxes in one engine
 * call.
 *
 * A box is
 *   - excluded with the tolerance when some target's output enclosure misses the target widened
 *     by its tolerance: no point in it meets the targets (this is what `infeasible` needs);
 *   - excluded as root-free (square equality systems) when 0 ∉ F(X) or Krawczyk gives K(X) ∩ X = ∅;
 *   - a proven-unique box when Krawczyk gives K(X) ⊂ int X (square systems): its root is found by
 *     Newton inside it; boxes inside an already proven region are dropped (no cluster effect);
 *   - otherwise split along the unknown with the largest (interval Jacobian × width), or the widest
 *     in box units, slightly off-centre.
 * What remains when the budget runs out is reported, with the fraction of volume proven empty.
 */
import { intervalMul, nextDown, nextUp } from '../graph/round.ts';
import { targetTolerance, type Problem } from '../problem/query.ts';
import type { Budget } from '../solve/evaluator.ts';
import { linearBounds } from './linear.ts';
import { krawczyk, newtonInBox, squareSystem, type SquareSystem, inflateRootBox } from './krawczyk.ts';

export interface ExcludedBox {
  lo: number[];
  hi: number[];
  /** Target index whose output enclosure misses the (tolerance-widened) target. */
  target: number;
  outputLo: number;
  outputHi: number;
}

export interface RootBox {
  lo: number[];
  hi: number[];
  root: number[];
}

export interface BnbResult {
  /** Boxes excluded with the tolerance (certificate material). */
  excluded: ExcludedBox[];
  /** Boxes proven to hold no exact root (square systems), though maybe points within tolerance. */
  rootFree: { lo: number[]; hi: number[]; reason: 'range' | 'krawczyk' }[];
  roots: RootBox[];
  /** Boxes left undecided (budget, or not a square system). */
  undecided: { lo: number[]; hi: number[] }[];
  /** Volume fraction (in box-width units) proven to hold no point meeting the targets. */
  excludedFraction: number;
  /** Proven lower bound on the smallest worst-output miss over the whole box (−∞ if none). */
  lowerBound: number;
  boxes: number;
  budgetHit: boolean;
  square: boolean;
}

export interface BnbOptions {
  maxBoxes: number;
  /** Roots already found by the search: tried first with ε-inflation. */
  knownRoots?: Float64Array[];
  /** Smallest box width (box units) below which a box is left undecided. */
  minWidth?: number;
  /** Also use the linear relaxation (linear.ts) on boxes the mean-value form keeps (default true). */
  linear?: boolean;
}

const BATCH = 256;
const SPLIT = 0.4970703125;

export function branchAndBound(problem: Problem, budget: Budget, opts: BnbOptions): BnbResult {
  const net = problem.model.network;
  const n = problem.unknowns.length,
    nIn = net.nIn,
    nOut = net.nOut;
  const W = Array.from(problem.hi, (h, j) => h - problem.lo[j] || 1);
  const totalVol = 1;
  const sys: SquareSystem | null = squareSystem(problem);
  const tols = problem.targets.map((t) => targetTolerance(t, problem.atol, problem.rtol));
  const minWidth = opts.minWidth ?? 1e-9;
  const targetOutputs = problem.targets.map((t) => t.output);

  const roots: RootBox[] = [];
  // proven-unique regions around the roots the search found (ε-inflation)
  if (sys) {
    for (const r of opts.knownRoots ?? []) {
      if (roots.some((b) => inside(r, b.lo, b.hi))) continue;
      const box = inflateRootBox(sys, r, problem.lo, problem.hi);
      if (box) roots.push({ lo: Array.from(box.lo), hi: Array.from(box.hi), root: Array.from(r) });
    }
  }

  const excluded: ExcludedBox[] = [];
  const rootFree: BnbResult['rootFree'] = [];
  const undecided: { lo: number[]; hi: number[] }[] = [];
  let excludedVol = 0;
  let lowerBound = Infinity;
  let boxes = 0,
    budgetHit = false;
  let work: { lo: number[]; hi: number[] }[] = [{ lo: Array.from(problem.lo), hi: Array.from(problem.hi) }];
  const L = new Float64Array(BATCH * nIn),
    H = new Float64Array(BATCH * nIn);
  const vol = (b: { lo: number[]; hi: number[] }): number => b.lo.reduce((a, l, j) => a * ((b.hi[j] - l) / W[j]), 1);

  while (work.length) {
    if (boxes >= opts.maxBoxes || budget.exhausted) {
      budgetHit = true;
      undecided.push(...work);
      work = [];
      break;
    }
    // drop boxes entirely inside a proven-unique region
    work = work.filter((b) => !roots.some((r) => boxInside(b, r)));
    if (!work.length) break;
    const batch = work.splice(0, BATCH);
    const k = batch.length;
    boxes += k;
    for (let q = 0; q < k; q++) {
      L.set(problem.base, q * nIn);
      H.set(problem.base, q * nIn);
      for (let j = 0; j < n; j++) {
        L[q * nIn + problem.unknowns[j]] = batch[q].lo[j];
        H[q * nIn + problem.unknowns[j]] = batch[q].hi[j];
      }
    }
    budget.evaluations += 2 * k;
    budget.jacobians += k;
    const yb = meanValueBounds(problem, L.subarray(0, k * nIn), H.subarray(0, k * nIn), k, targetOutputs);
    if (opts.linear !== false) {
      // boxes the mean-value form did not exclude: try the linear relaxation too
      const keep: number[] = [];
      for (let q = 0; q < k; q++) if (!excludedBy(problem, yb, q, nOut, tols)) keep.push(q);
      if (keep.length) {
        const kl = new Float64Array(keep.length * nIn),
          kh = new Float64Array(keep.length * nIn);
        keep.forEach((q, i) => {
          kl.set(L.subarray(q * nIn, (q + 1) * nIn), i * nIn);
          kh.set(H.subarray(q * nIn, (q + 1) * nIn), i * nIn);
        });
        const lb = linearBounds(problem, kl, kh, keep.length);
        keep.forEach((q, i) => {
          for (let o = 0; o < nOut; o++) {
            if (lb.lo[i * nOut + o] > yb.lo[q * nOut + o]) yb.lo[q * nOut + o] = lb.lo[i * nOut + o];
            if (lb.hi[i * nOut + o] < yb.hi[q * nOut + o]) yb.hi[q * nOut + o] = lb.hi[i * nOut + o];
          }
        });
      }
    }
    for (let q = 0; q < k; q++) {
      const b = batch[q];
      // smallest possible worst-output miss over the box, and tolerance exclusion
      let boxLB = 0,
        exclTarget = -1,
        zeroOut = false;
      problem.targets.forEach((t, i) => {
        const yl = yb.lo[q * nOut + t.output],
          yh = yb.hi[q * nOut + t.output];
        const miss = yl > t.hi ? nextDown(yl - t.hi) : yh < t.lo ? nextDown(t.lo - yh) : 0;
        if (!(miss >= 0)) return; // NaN bounds: no information
        boxLB = Math.max(boxLB, miss);
        if (miss > tols[i] && exclTarget < 0) exclTarget = i;
        if (t.kind === 'eq' && (yl > t.lo || yh < t.lo)) zeroOut = true;
      });
      if (exclTarget >= 0) {
        const t = problem.targets[exclTarget];
        excluded.push({
          lo: b.lo,
          hi: b.hi,
          target: exclTarget,
          outputLo: yb.lo[q * nOut + t.output],
          outputHi: yb.hi[q * nOut + t.output],
        });
        excludedVol += vol(b);
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      if (sys && zeroOut) {
        rootFree.push({ lo: b.lo, hi: b.hi, reason: 'range' });
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      let splitDim = -1;
      if (sys) {
        const lo = Float64Array.from(b.lo),
          hi = Float64Array.from(b.hi);
        budget.evaluations += 2;
        budget.jacobians += 1;
        const v = krawczyk(sys, lo, hi);
        if (v === 'none') {
          rootFree.push({ lo: b.lo, hi: b.hi, reason: 'krawczyk' });
          lowerBound = Math.min(lowerBound, boxLB);
          continue;
        }
        if (v === 'unique') {
          const mid = lo.map((l, j) => 0.5 * (l + hi[j]));
          const r = newtonInBox(sys, mid, lo, hi);
          if (r) {
            roots.push({ lo: b.lo, hi: b.hi, root: Array.from(r) });
            lowerBound = Math.min(lowerBound, 0);
            continue;
          }
        }
      }
      // split
      const widths = b.lo.map((l, j) => (b.hi[j] - l) / W[j]);
      if (Math.max(...widths) <= minWidth) {
        undecided.push(b);
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      if (splitDim < 0) splitDim = widths.indexOf(Math.max(...widths));
      const cut = b.lo[splitDim] + SPLIT * (b.hi[splitDim] - b.lo[splitDim]);
      const a = { lo: b.lo.slice(), hi: b.hi.slice() },
        c = { lo: b.lo.slice(), hi: b.hi.slice() };
      a.hi[splitDim] = cut;
      c.lo[splitDim] = cut;
      work.push(a, c);
    }
  }
  for (const u of undecided) {
    // undecided boxes: their miss lower bound counts too (recomputed cheaply as 0: unknown)
    void u;
    lowerBound = Math.min(lowerBound, 0);
  }
  if (roots.length) lowerBound = Math.min(lowerBound, 0);
  return {
    excluded,
    rootFree,
    roots,
    undecided,
    excludedFraction: Math.min(1, excludedVol / totalVol),
    lowerBound: lowerBound === Infinity ? -Infinity : lowerBound,
    boxes,
    budgetHit,
    square: !!sys,
  };
}

function excludedBy(problem: Problem, yb: { lo: Float64Array; hi: Float64Array }, q: number, nOut: number, tols: number[]): boolean {
  return problem.targets.some((t, i) => {
    const yl = yb.lo[q * nOut + t.output],
      yh = yb.hi[q * nOut + t.output];
    return yl - t.hi > tols[i] || t.lo - yh > tols[i];
  });
}

/**
 * Output enclosures over boxes: the natural interval extension intersected with the mean-value
 * form f(X) ⊆ f(c) + F'(X)·(X − c) (Moore 1966; Neumaier 1990 §2.3), whose overestimation
 * shrinks quadratically with the box instead of linearly. F'(X) is the engine's interval
 * Jacobian (which at kinks holds both one-sided derivatives, so this stays sound for
 * piecewise-smooth nets); f(c) is enclosed on the thin box at the centre.
 */
export function meanValueBounds(
  problem: Problem,
  L: Float64Array,
  H: Float64Array,
  k: number,
  outputs: number[],
): { lo: Float64Array; hi: Float64Array } {
  const net = problem.model.network;
  const nIn = net.nIn,
    nOut = net.nOut,
    n = problem.unknowns.length,
    m = outputs.length;
  const jb = net.jacobianBounds(L, H, k, { wrt: problem.unknowns, of: outputs });
  const C = new Float64Array(k * nIn);
  for (let i = 0; i < k * nIn; i++) C[i] = 0.5 * L[i] + 0.5 * H[i];
  const cb = net.bounds(C, C, k);
  const lo = jb.valueLo,
    hi = jb.valueHi;
  const pr = new Float64Array(2);
  for (let q = 0; q < k; q++) {
    for (let i = 0; i < m; i++) {
      const o = outputs[i];
      let sl = cb.lo[q * nOut + o],
        sh = cb.hi[q * nOut + o];
      for (let j = 0; j < n; j++) {
        const u = problem.unknowns[j];
        const c = C[q * nIn + u];
        const dl = nextDown(L[q * nIn + u] - c),
          dh = nextUp(H[q * nIn + u] - c);
        intervalMul(jb.lo[(q * m + i) * n + j], jb.hi[(q * m + i) * n + j], dl, dh, pr);
        sl = nextDown(sl + pr[0]);
        sh = nextUp(sh + pr[1]);
      }
      if (sl > lo[q * nOut + o]) lo[q * nOut + o] = sl;
      if (sh < hi[q * nOut + o]) hi[q * nOut + o] = sh;
    }
  }
  return { lo, hi };
}

function inside(x: ArrayLike<number>, lo: number[], hi: number[]): boolean {
  for (let j = 0; j < lo.length; j++) if (!(x[j] >= lo[j] && x[j] <= hi[j])) return false;
  return true;
}

function boxInside(b: { lo: number[]; hi: number[] }, r: { lo: number[]; hi: number[] }): boolean {
  for (let j = 0; j < b.lo.length; j++) if (b.lo[j] < r.lo[j] || b.hi[j] > r.hi[j]) return false;
  return true;
}

export { nextUp };
