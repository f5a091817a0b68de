/**
 * One unknown, one equality target: every root of g(x) = f(x) − t in [lo, hi].
 *
 * Interval Newton (Moore 1966; Hansen & Walster, Global Optimization Using Interval Analysis,
 * ch. 9), batched over a worklist of sub-intervals X:
 *   - exclude X when t ∉ F(X) (the engine's sound output bounds), or when the Newton image
 *     N(X) = m − g(m)/G'(X) misses X (G'(X): the engine's sound derivative bounds);
 *   - when N(X) ⊂ interior(X), X holds exactly one root (existence and uniqueness proof);
 *   - otherwise shrink X to X ∩ N(X), bisecting when that doesn't halve it.
 * Sampling and bracketing miss tangent roots and close pairs; this does not: what is not
 * excluded is either a proven unique root or reported as undecided, and `complete` is true
 * only when nothing is undecided.
 *
 * Where bounds are unavailable (infinite or NaN, e.g. log of a box reaching 0) the interval is
 * handed to the sampling + bracketing + Brent fallback, and the list is marked incomplete.
 *
 * Tangent and flat targets: an interval whose enclosure of g lies within ±tol is a proven
 * "plateau piece" — every point of it meets the target — and is not split further. Plateau pieces
 * and undecided leftovers (near-tangent roots, roots closer than float64 separates, or intervals
 * the budget left) are merged into clusters, each reported once with its extent and its best
 * point (cf. the "boundary"/"pending" boxes of interval solvers, Kearfott 1996, §4.3), so a
 * tangent target gives one solution interval, not thousands of points.
 *
 * A proven root whose polished point misses a tolerance below float64 resolution is searched for
 * among the neighbouring floats; if none meets the tolerance the root is reported as unresolved —
 * it exists, so the target is never called infeasible.
 */
import { intervalMul, nextDown, nextUp } from '../graph/round.ts';
import type { Problem } from '../problem/query.ts';
import type { Budget } from './evaluator.ts';
import { runBranchAndBound, SPLIT_FRACTION, type BoundOutcome } from './branchAndBound.ts';

export interface Root1D {
  x: number;
  /** The interval in which the root is proven to exist and be unique (null if not proven). */
  box: [number, number] | null;
}

/** A cluster of solutions: near-tangent roots, a plateau, or roots float64 cannot separate. */
export interface Cluster1D {
  lo: number;
  hi: number;
  /** The best point found in [lo, hi] (smallest |g| by a float64 forward pass). */
  x: number;
  /** |g(x)| ≤ tol: the cluster holds a solution. */
  meets: boolean;
  /** Every point of [lo, hi] is proven (interval enclosure within ±tol) to meet the target. */
  everyPoint: boolean;
}

export interface OneDimResult {
  /** Roots whose point meets the tolerance: proven unique in `box`, or (box null) from the fallback. */
  roots: Root1D[];
  /**
   * Roots proven to exist (and be unique) in `box`, but at which no float64 point found meets the
   * tolerance (it is below what float64 resolves for this output): `x` is the best point, `miss` its |g|.
   */
  unresolved: { box: [number, number]; x: number; miss: number }[];
  /** Clusters of solutions (plateau pieces and undecided leftovers merged), each with its best point. */
  clusters: Cluster1D[];
  /** Intervals that could be neither excluded nor proven (tangent or clustered roots). */
  undecided: [number, number][];
  /** True when every root is proven unique in its box and the rest of [lo, hi] is proven root-free. */
  complete: boolean;
  /** True when every excluded interval was excluded with the tolerance: no point there meets the target. */
  excludedWithTolerance: boolean;
  /** Number of intervals excluded. */
  excluded: number;
  /** Fraction of [lo, hi] proven to hold no root. */
  excludedFraction: number;
  budgetHit: boolean;
  usedFallback: boolean;
  /** The point with the smallest |g| seen (midpoint enclosures), for a best-compromise report. */
  best: { x: number; miss: number } | null;
}

const BATCH = 64;
/** Most clusters reported; beyond it, nearby clusters are merged (wider gaps) until this many remain. */
const MAX_CLUSTERS = 64;
/** Floats tried on each side of a polished root that misses a tolerance below float64 resolution. */
const ULP_SCAN = 32;
/** Bisection levels a piece that meets the target throughout may still be split, looking for proofs of simple roots. */
const PLATEAU_DEPTH = 8;

export function solveOneDim(problem: Problem, budget: Budget, tol: number): OneDimResult {
  const net = problem.model.network;
  const unk = problem.unknowns[0];
  const tgt = problem.targets[0];
  // invert() takes this path only for a plain target (one output, coefficient 1)
  if (tgt.terms.length !== 1 || tgt.terms[0].coef !== 1) throw new Error('solveOneDim: needs a plain one-output target');
  const tOut = tgt.terms[0].output;
  const t = tgt.lo;
  const nIn = net.nIn;
  const lo0 = problem.lo[0],
    hi0 = problem.hi[0];
  const width0 = hi0 - lo0;
  const minWidth = Math.max(1e-13 * Math.max(Math.abs(lo0), Math.abs(hi0), 1), width0 * 1e-12);

  const point = (x: number): number => {
    const X = problem.base.slice();
    X[unk] = x;
    budget.evaluations += 1;
    return net.evaluate(X, 1)[tOut] - t;
  };
  const deriv = (x: number): number => {
    const X = problem.base.slice();
    X[unk] = x;
    budget.evaluations += 1;
    budget.jacobians += 1;
    return net.jacobian(X, 1, { wrt: [unk], of: [tOut] }).J[0];
  };

  const proven: [number, number][] = [];
  const roots: Root1D[] = [];
  const undecided: [number, number][] = [];
  // plateau pieces: every point proven to meet the target
  const plateau: [number, number][] = [];
  let bestX = NaN,
    bestMiss = Infinity;
  // [a, b, plateau depth]: how many times X's ancestors were already found to meet the target throughout
  type Piece = [number, number, number];
  let excluded = 0,
    excludedLen = 0,
    excludedWithTolerance = true,
    budgetHit = false,
    usedFallback = false;
  const fallback: [number, number][] = [];

  const pr = new Float64Array(2);
  const bLo = new Float64Array(BATCH * nIn),
    bHi = new Float64Array(BATCH * nIn),
    bMid = new Float64Array(BATCH * nIn);
  // every outcome but a split or contraction closes the piece (it was recorded above)
  const closed: BoundOutcome<never, Piece> = { kind: 'closed' };
  // one batch of pieces: bound, then exclude, prove, contract or split each (the driver's FIFO worklist)
  const bound = (batch: readonly Piece[]): BoundOutcome<never, Piece>[] => {
    const k = batch.length;
    const out: BoundOutcome<never, Piece>[] = new Array(k);
    for (let q = 0; q < k; q++) {
      bLo.set(problem.base, q * nIn);
      bHi.set(problem.base, q * nIn);
      bMid.set(problem.base, q * nIn);
      bLo[q * nIn + unk] = batch[q][0];
      bHi[q * nIn + unk] = batch[q][1];
      bMid[q * nIn + unk] = 0.5 * (batch[q][0] + batch[q][1]);
    }
    budget.evaluations += 2 * k;
    budget.jacobians += k;
    // sound enclosures of f at the midpoints (thin boxes), for the Newton operator
    const midB = net.bounds(bMid.subarray(0, k * nIn), bMid.subarray(0, k * nIn), k);
    const jb = net.jacobianBounds(bLo.subarray(0, k * nIn), bHi.subarray(0, k * nIn), k, {
      wrt: [unk],
      of: [tOut],
    });
    const nOut = net.nOut;
    for (let q = 0; q < k; q++) {
      const [a, b] = batch[q];
      let fLo = nextDown(jb.valueLo[q * nOut + tOut] - t),
        fHi = nextUp(jb.valueHi[q * nOut + tOut] - t);
      const dLo = jb.lo[q],
        dHi = jb.hi[q];
      if (!(Number.isFinite(fLo) && Number.isFinite(fHi) && Number.isFinite(dLo) && Number.isFinite(dHi))) {
        fallback.push([a, b]);
        continue;
      }
      // mean-value form f(X) ⊆ f(c) + F'(X)·(X − c): overestimates quadratically, not linearly
      {
        const c = 0.5 * (a + b);
        const mLo = nextDown(midB.lo[q * nOut + tOut] - t),
          mHi = nextUp(midB.hi[q * nOut + tOut] - t);
        const gm = Math.abs(0.5 * mLo + 0.5 * mHi);
        if (gm < bestMiss) {
          bestMiss = gm;
          bestX = c;
        }
        intervalMul(dLo, dHi, nextDown(a - c), nextUp(b - c), pr);
        const mvLo = nextDown(mLo + pr[0]),
          mvHi = nextUp(mHi + pr[1]);
        if (mvLo > fLo) fLo = mvLo;
        if (mvHi < fHi) fHi = mvHi;
      }
      // range test, with the tolerance (then no point of X even meets the target)
      if (fLo > tol || fHi < -tol) {
        excluded++;
        excludedLen += b - a;
        continue;
      }
      if (fLo > 0 || fHi < 0) {
        excluded++;
        excludedLen += b - a;
        excludedWithTolerance = false;
        continue;
      }
      if (dLo > 0 || dHi < 0) {
        // Newton image N = m − g(m)/[dLo, dHi]  (g monotone on X)
        const mid = 0.5 * (a + b);
        const gmLo = nextDown(midB.lo[q * nOut + tOut] - t),
          gmHi = nextUp(midB.hi[q * nOut + tOut] - t);
        // quotient [gmLo, gmHi] / [dLo, dHi], divisor sign-definite
        const c1 = gmLo / dLo,
          c2 = gmLo / dHi,
          c3 = gmHi / dLo,
          c4 = gmHi / dHi;
        const qLo = nextDown(Math.min(c1, c2, c3, c4)),
          qHi = nextUp(Math.max(c1, c2, c3, c4));
        const nLo = nextDown(mid - qHi),
          nHi = nextUp(mid - qLo);
        if (nHi < a || nLo > b) {
          excluded++;
          excludedLen += b - a;
          excludedWithTolerance = false;
          continue;
        }
        if (nLo > a && nHi < b) {
          proven.push([a, b]);
          continue;
        }
        const na = Math.max(a, nLo),
          nb = Math.min(b, nHi);
        if (nb - na < 0.5 * (b - a)) {
          if (na > a) {
            excluded++;
            excludedLen += na - a;
            excludedWithTolerance = false;
          }
          if (nb < b) {
            excluded++;
            excludedLen += b - nb;
            excludedWithTolerance = false;
          }
          out[q] = { kind: 'branch', children: [[na, nb, batch[q][2]]] };
          continue;
        }
      }
      let pd = batch[q][2];
      if (fLo >= -tol && fHi <= tol) {
        // Every point of X meets the target, and Newton makes no headway here (g not monotone
        // on X, or flat at the level of its rounding). Split on for PLATEAU_DEPTH more levels —
        // a simple root inside is usually proven by then — and then X is a plateau piece: one
        // piece of a solution set whose roots splitting cannot tell apart.
        if (++pd > PLATEAU_DEPTH || b - a <= minWidth) {
          plateau.push([a, b]);
          continue;
        }
      }
      if (b - a <= minWidth) {
        undecided.push([a, b]);
        continue;
      }
      // split slightly off-centre so that roots at round numbers don't land on a split point
      const cut = a + SPLIT_FRACTION * (b - a);
      out[q] = { kind: 'branch', children: [[a, cut, pd], [cut, b, pd]] };
    }
    for (let q = 0; q < k; q++) out[q] ??= closed;
    return out;
  };
  const run = runBranchAndBound<Piece, never, never>([[lo0, hi0, 0]], { bound }, { order: 'fifo', batch: BATCH, trees: false, stop: () => budget.exhausted });
  if (run.status === 'budget') {
    budgetHit = true;
    for (const [a, b] of run.remaining) undecided.push([a, b]);
  }
  // proven roots: polish; where the polished point misses a tolerance below float64 resolution,
  // look among the neighbouring floats; a proven root is never dropped
  const unresolved: OneDimResult['unresolved'] = [];
  for (const [a, b] of proven) {
    const mid = 0.5 * (a + b);
    let x = polishRoot(point, deriv, a, b, mid, point(mid));
    let gx = Math.abs(point(x));
    if (!(gx <= tol)) {
      const f = bestFloatNear(point, a, b, x, gx);
      x = f.x;
      gx = f.miss;
    }
    if (gx <= tol) roots.push({ x, box: [a, b] });
    else unresolved.push({ box: [a, b], x, miss: gx });
  }
  const fallbackRoots: number[] = [];
  for (const [a, b] of fallback) {
    usedFallback = true;
    fallbackRoots.push(...bracketRoots(point, a, b, 200));
  }
  for (const x of fallbackRoots) roots.push({ x, box: null });
  const clusters = makeClusters(point, plateau, undecided, tol, Math.max(4 * minWidth, 1e-9 * width0), bestX);
  // a proven root inside a cluster that holds solutions is part of it: the cluster stands for it
  const kept = roots.filter((r) => !clusters.some((c) => c.meets && r.x >= c.lo && r.x <= c.hi));
  for (const c of clusters) {
    if (!c.meets) continue;
    for (const r of roots) if (r.x >= c.lo && r.x <= c.hi && Math.abs(point(r.x)) < Math.abs(point(c.x))) c.x = r.x;
  }
  kept.sort((p, q) => p.x - q.x);
  const complete = undecided.length === 0 && plateau.length === 0 && fallback.length === 0 && unresolved.length === 0 && !budgetHit;
  return {
    roots: kept,
    unresolved,
    clusters,
    undecided,
    complete,
    excludedWithTolerance,
    excluded,
    excludedFraction: width0 > 0 ? Math.min(1, excludedLen / width0) : excluded > 0 ? 1 : 0,
    budgetHit,
    usedFallback,
    best: Number.isFinite(bestMiss) ? { x: bestX, miss: bestMiss } : null,
  };
}

/**
 * Merge plateau pieces and undecided intervals into clusters: sorted by position, neighbours
 * closer than `gap` join; the gap grows ×16 until at most MAX_CLUSTERS remain. Each cluster's best
 * point is the smallest |g| among (up to 33) member midpoints; it holds a solution if that meets
 * the tolerance. `everyPoint` when all members are plateau pieces, touching end to end.
 */
function makeClusters(
  g: (x: number) => number,
  plateau: [number, number][],
  undecided: [number, number][],
  tol: number,
  gap0: number,
  hint: number,
): Cluster1D[] {
  type Piece = { lo: number; hi: number; every: boolean };
  const pieces: Piece[] = [
    ...plateau.map(([lo, hi]) => ({ lo, hi, every: true })),
    ...undecided.map(([lo, hi]) => ({ lo, hi, every: false })),
  ].sort((p, q) => p.lo - q.lo);
  if (!pieces.length) return [];
  let groups: Piece[][] = [];
  for (let gap = gap0; ; gap *= 16) {
    groups = [];
    let cur: Piece[] = [pieces[0]],
      hi = pieces[0].hi;
    for (let i = 1; i < pieces.length; i++) {
      const p = pieces[i];
      if (p.lo - hi <= gap) cur.push(p);
      else {
        groups.push(cur);
        cur = [p];
      }
      hi = Math.max(hi, p.hi);
    }
    groups.push(cur);
    if (groups.length <= MAX_CLUSTERS || !Number.isFinite(gap)) break;
  }
  return groups.map((grp) => {
    let every = true,
      reach = grp[0].lo;
    for (const p of grp) {
      if (!p.every || p.lo > reach) every = false;
      reach = Math.max(reach, p.hi);
    }
    const stride = Math.max(1, Math.ceil(grp.length / 33));
    let x = NaN,
      miss = Infinity;
    const cands: number[] = [grp[0].lo, reach];
    for (let i = 0; i < grp.length; i += stride) cands.push(0.5 * (grp[i].lo + grp[i].hi));
    // the best midpoint the search saw, when it lies in this cluster (the bottom of a tangent)
    if (hint >= grp[0].lo && hint <= reach) cands.push(hint);
    cands.sort((p, q) => p - q);
    const gs = cands.map(g);
    // where g changes sign between two candidates, a root lies between them: Brent finds it
    for (let i = 1; i < cands.length; i++) {
      if (Number.isFinite(gs[i - 1]) && Number.isFinite(gs[i]) && gs[i - 1] * gs[i] < 0) {
        const r = brent(g, cands[i - 1], cands[i], gs[i - 1], gs[i]);
        cands.push(r);
        gs.push(g(r));
        break;
      }
    }
    for (let i = 0; i < cands.length; i++) {
      const gm = Math.abs(gs[i]);
      if (gm < miss || x !== x) {
        miss = gm;
        x = cands[i];
      }
    }
    return { lo: grp[0].lo, hi: reach, x, meets: miss <= tol, everyPoint: every };
  });
}

/**
 * The float64 point with the smallest |g| near a proven root in [a, b]: bisection on the floats
 * down to adjacent ones (at most 200 halvings; a sign change is proven to lie in [a, b]), then ULP_SCAN floats on each
 * side of the best point (the forward pass's rounding makes g jagged at this scale).
 */
function bestFloatNear(g: (x: number) => number, a: number, b: number, x0: number, m0: number): { x: number; miss: number } {
  let x = x0,
    miss = m0;
  const consider = (u: number, gu: number): void => {
    if (Math.abs(gu) < miss) {
      miss = Math.abs(gu);
      x = u;
    }
  };
  let lo = a,
    hi = b,
    glo = g(a);
  const ghi = g(b);
  consider(lo, glo);
  consider(hi, ghi);
  if (Math.sign(glo) * Math.sign(ghi) < 0) {
    for (let i = 0; i < 200; i++) {
      const m = lo + 0.5 * (hi - lo);
      if (!(m > lo && m < hi)) break;
      const gm = g(m);
      consider(m, gm);
      if (gm === 0) break;
      if (Math.sign(gm) === Math.sign(glo)) {
        lo = m;
        glo = gm;
      } else hi = m;
    }
  }
  const c = x;
  for (let u = c, k = 0; k < ULP_SCAN; k++) {
    u = nextUp(u);
    if (u > b) break;
    consider(u, g(u));
  }
  for (let u = c, k = 0; k < ULP_SCAN; k++) {
    u = nextDown(u);
    if (u < a) break;
    consider(u, g(u));
  }
  return { x, miss };
}

/**
 * Newton's method safeguarded by bisection inside [a, b], where a unique root is proven.
 * Stops at round-off: the root to the last bits the float64 evaluation allows.
 * (Scalar and bracketed, so not the batched least-squares loop of solve/iterate/.)
 */
function polishRoot(
  g: (x: number) => number,
  dg: (x: number) => number,
  a: number,
  b: number,
  x0: number,
  g0: number,
): number {
  let ga = g(a);
  let x = x0,
    gx = g0;
  if (ga === 0) return a;
  for (let i = 0; i < 100; i++) {
    if (gx === 0) return x;
    // keep the bracket [a, b] with a sign change
    if (Math.sign(gx) === Math.sign(ga)) {
      a = x;
      ga = gx;
    } else b = x;
    const d = dg(x);
    let xn = x - gx / d;
    if (!(xn > a && xn < b)) xn = 0.5 * (a + b);
    if (Math.abs(xn - x) <= 2 * Number.EPSILON * Math.abs(x) || b - a <= 4 * Number.EPSILON * Math.max(Math.abs(a), Math.abs(b))) {
      const gn = g(xn);
      return Math.abs(gn) < Math.abs(gx) ? xn : x;
    }
    x = xn;
    gx = g(x);
  }
  return x;
}

/** Fallback: sample, bracket sign changes, refine each by Brent's method (incomplete by nature). */
export function bracketRoots(g: (x: number) => number, a: number, b: number, samples: number): number[] {
  const out: number[] = [];
  let xPrev = a,
    gPrev = g(a);
  for (let i = 1; i <= samples; i++) {
    const x = a + ((b - a) * i) / samples;
    const gx = g(x);
    if (gPrev === 0) out.push(xPrev);
    else if (Number.isFinite(gPrev) && Number.isFinite(gx) && Math.sign(gPrev) !== Math.sign(gx) && gx !== 0) {
      out.push(brent(g, xPrev, x, gPrev, gx));
    }
    xPrev = x;
    gPrev = gx;
  }
  if (gPrev === 0) out.push(xPrev);
  return out;
}

/** Brent's root finder (Brent 1973, Algorithms for Minimization without Derivatives, ch. 4). */
export function brent(f: (x: number) => number, a: number, b: number, fa: number, fb: number): number {
  let c = a,
    fc = fa,
    d = b - a,
    e = d;
  for (let i = 0; i < 200; i++) {
    if (Math.sign(fb) === Math.sign(fc)) {
      c = a;
      fc = fa;
      d = e = b - a;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 2 * Number.EPSILON * Math.abs(b);
    const m = 0.5 * (c - b);
    if (Math.abs(m) <= tol || fb === 0) return b;
    if (Math.abs(e) >= tol && Math.abs(fa) > Math.abs(fb)) {
      let p: number, q: number;
      const s = fb / fa;
      if (a === c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const qq = fa / fc,
          r = fb / fc;
        p = s * (2 * m * qq * (qq - r) - (b - a) * (r - 1));
        q = (qq - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol ? d : m > 0 ? tol : -tol;
    fb = f(b);
  }
  return b;
}
