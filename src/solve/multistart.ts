/**
 * Multi-start: quasi-random starts (Halton, with a seeded Cranley–Patterson shift) over the
 * box, run as one batch per round through bounded LM (or Adam), then merged.
 *
 * - Round 0 takes Halton points (with linear constraints among the inputs: points of a
 *   hit-and-run chain inside their polytope, Smith 1984, polytope.ts). Later rounds place their starts away from everything seen:
 *   from a pool of Halton candidates, farthest-point selection (Gonzalez 1985) against every
 *   earlier start and every root found, so new starts fill the gaps between the basins already
 *   explored instead of landing again in a found root's basin.
 * - Rounds go on while new roots keep appearing: isolated roots stop only after a round that
 *   found nothing new AND once the Bayesian estimate of the number of roots (Boender &
 *   Rinnooy Kan 1987, "Bayesian stopping rules for multistart global optimization methods",
 *   Math. Programming 37: with N runs that reached a root and w distinct roots, the posterior
 *   mean number of roots is w(N − 1)/(N − w − 2)) exceeds w by less than ¼; a continuum stops once
 *   covered (enough spread representatives); everything stops when the evaluation budget runs
 *   out. Counting evaluations, not time, keeps tests deterministic. (Deflation, Farrell et al.
 *   2015, was tried for the later rounds and found fewer new roots than these plain starts: the
 *   deflated residual has many spurious stationary points on these nets.)
 * - LM polishes each point to round-off (it is Gauss–Newton near a root). Two isolated points
 *   are the same root only when they lie within each other's position uncertainty
 *   ‖r‖/σ_min(J) (Newton's error estimate, J in box-width units), with a floor at round-off:
 *   two distinct roots a hair apart at a fold stay two. (A test on the midpoints, which this
 *   replaced, merged such pairs: their midpoints meet a 1e-6 tolerance.) Continuum points
 *   closer than a scale-aware tolerance (samePoint) are one point.
 */
import type { Problem } from '../problem/query.ts';
import { targetMiss, targetTolerance } from '../problem/query.ts';
import { formValue } from '../problem/targets.ts';
import { adamBatch } from './adam.ts';
import type { Budget, ProblemEvaluator } from './evaluator.ts';
import { PRIMES, halton } from '../numeric/halton.ts';
import { mulberry32 } from '../numeric/rng.ts';
import { mahalanobis, samplePrior } from '../problem/prior.ts';
import { levenbergMarquardt } from './lm.ts';
import { rootUncertainty, samePoint, sameRoot, solutionSetDimension } from './verify.ts';

export interface FinalPoint {
  u: Float64Array;
  cost: number;
  optimality: number;
}

export interface MultiStartOutcome {
  /** Distinct isolated solutions (meet the targets, dimension 0). */
  isolated: FinalPoint[];
  /** Points on a continuum (meet the targets, dimension > 0), spread by farthest-point selection. */
  continuum: FinalPoint[];
  continuumDimension: number;
  /** Lowest-cost point over all runs (the best compromise when nothing meets the targets). */
  best: FinalPoint | null;
  starts: number;
  iterations: number;
  budgetHit: boolean;
}

export interface MultiStartOptions {
  method: 'lm' | 'adam';
  seed: number;
  maxStarts: number;
  maxRepresentatives: number;
  /** A first start (unknowns in problem order, inside the box), e.g. a learned inverse's prediction: row 0 of round 0. */
  warmStart?: Float64Array;
}

export function multiStart(ev: ProblemEvaluator, budget: Budget, opts: MultiStartOptions): MultiStartOutcome {
  const p = ev.problem;
  const n = ev.n;
  const rand = mulberry32(opts.seed);
  const shift = Array.from({ length: n }, () => rand());
  let index = 1;
  const width = new Float64Array(n);
  for (let j = 0; j < n; j++) width[j] = p.hi[j] - p.lo[j] || 1;
  // with linear constraints among the inputs: starts from a hit-and-run chain inside the polytope
  // (Smith 1984; polytope.ts), seeded from the same seed, instead of Halton points in the box
  const inside = ev.polytope ? ev.polytope.sampler(mulberry32(opts.seed ^ 0x5bd1e995)) : null;
  const halton1 = (S: Float64Array, q: number): void => {
    if (inside) {
      inside(S, q * n);
      return;
    }
    for (let j = 0; j < n; j++) {
      const h = (halton(index, PRIMES[j % PRIMES.length]) + shift[j]) % 1;
      S[q * n + j] = p.lo[j] + h * (p.hi[j] - p.lo[j]);
    }
    index++;
  };
  // every start run so far and every root found (box-width units): later starts keep away from them
  const seen: Float64Array[] = [];
  const nextStarts = (k: number, spreadOut: boolean): Float64Array => {
    const S = new Float64Array(k * n);
    if (!spreadOut || n > SPREAD_MAX_N || seen.length === 0) {
      for (let q = 0; q < k; q++) halton1(S, q);
      return S;
    }
    // farthest-point selection from a Halton pool (Gonzalez 1985)
    const P = POOL_FACTOR * k;
    const pool = new Float64Array(P * n);
    for (let q = 0; q < P; q++) halton1(pool, q);
    const dmin = new Float64Array(P).fill(Infinity);
    const dist2 = (q: number, v: Float64Array): number => {
      let d = 0;
      for (let j = 0; j < n; j++) {
        const e = (pool[q * n + j] - v[j]) / width[j];
        d += e * e;
      }
      return d;
    };
    for (let q = 0; q < P; q++) for (const v of seen) dmin[q] = Math.min(dmin[q], dist2(q, v));
    for (let c = 0; c < k; c++) {
      let bi = 0;
      for (let q = 1; q < P; q++) if (dmin[q] > dmin[bi]) bi = q;
      const v = pool.slice(bi * n, bi * n + n);
      S.set(v, c * n);
      dmin[bi] = -1;
      for (let q = 0; q < P; q++) if (dmin[q] >= 0) dmin[q] = Math.min(dmin[q], dist2(q, v));
    }
    return S;
  };

  const isolated: FinalPoint[] = [];
  const continuumAll: FinalPoint[] = [];
  let continuumDimension = 0;
  let best: FinalPoint | null = null;
  const evalsAtStart = budget.evaluations;
  let starts = 0,
    iterations = 0,
    budgetHit = false,
    quietRounds = 0,
    rootRuns = 0;
  const isoDelta: number[] = [];
  for (let round = 0; starts < opts.maxStarts; round++) {
    if (budget.exhausted) {
      budgetHit = true;
      break;
    }
    const nn = Math.min(n, 8);
    let k = Math.min(opts.maxStarts - starts, round === 0 ? 8 + 4 * nn : 8 * (1 + round) + 4 * nn);
    // adapt the round to the budget: no more starts than the evaluations left can carry, at the
    // cost per start measured so far (a first guess of 50 before any start has run)
    const perStart = starts > 0 ? Math.max(1, (budget.evaluations - evalsAtStart) / starts) : 50;
    k = Math.max(1, Math.min(k, Math.floor(budget.left / perStart)));
    let S = nextStarts(k, round > 0);
    if (round === 0 && p.prior) {
      // with a prior: the first half of round 0 is drawn from it, N(μ, Σ) clipped to the box
      // (projected into the constraints' polytope if any); the rest stay spread over the box
      const kp = Math.ceil(k / 2);
      const P = new Float64Array(kp * n);
      samplePrior(p.prior, mulberry32(opts.seed ^ 0x68e31da4), P, kp, p.lo, p.hi);
      if (ev.polytope) for (let q = 0; q < kp; q++) ev.polytope.project(P.slice(q * n, q * n + n), 0, P, q * n);
      const M = new Float64Array(k * n);
      M.set(P);
      M.set(S.subarray(0, (k - kp) * n), kp * n);
      S = M;
    }
    if (round === 0 && opts.warmStart) {
      // the warm start replaces the round's last quasi-random start and runs first
      const W = new Float64Array(k * n);
      W.set(opts.warmStart);
      W.set(S.subarray(0, (k - 1) * n), n);
      S = W;
      index--;
    }
    starts += k;
    if (n <= SPREAD_MAX_N) for (let q = 0; q < k; q++) seen.push(S.slice(q * n, q * n + n));
    const res =
      opts.method === 'adam'
        ? adamBatch(ev, S, k)
        : levenbergMarquardt(ev, S, k, { maxIterations: 200 });
    if (res.stop.includes('budget')) budgetHit = true;
    let foundNew = false;
    for (let q = 0; q < k; q++) {
      iterations += res.iterations[q];
      const pt: FinalPoint = { u: res.x.slice(q * n, q * n + n), cost: res.cost[q], optimality: res.optimality[q] };
      if (!best || pt.cost < best.cost) best = pt;
      if (!meetsAt(ev, pt.u)) continue;
      const dim = solutionSetDimension(p, pt.u);
      if (dim > 0) {
        continuumDimension = Math.max(continuumDimension, dim);
        if (!continuumAll.some((c) => samePoint(p, c.u, pt.u))) {
          continuumAll.push(pt);
          foundNew = true;
        }
        continue;
      }
      rootRuns++;
      const delta = rootUncertainty(p, pt.u);
      let merged = false;
      for (let s = 0; s < isolated.length; s++) {
        if (sameRoot(p, isolated[s].u, isoDelta[s], pt.u, delta)) {
          if (pt.cost < isolated[s].cost) {
            isolated[s] = pt;
            isoDelta[s] = delta;
          }
          merged = true;
          break;
        }
      }
      if (!merged) {
        isolated.push(pt);
        isoDelta.push(delta);
        if (n <= SPREAD_MAX_N) seen.push(pt.u);
        foundNew = true;
      }
    }
    if (budgetHit) break;
    if (continuumAll.length >= 4 * opts.maxRepresentatives) break;
    quietRounds = foundNew ? 0 : quietRounds + 1;
    // isolated solutions: stop once a whole round finds nothing new (after ≥ 2 rounds) and the
    // Bayesian estimate of the number of roots is within ¼ of the number found (Boender &
    // Rinnooy Kan 1987), so a query whose roots keep appearing gets more rounds
    if (round >= 1 && quietRounds >= 1 && continuumAll.length === 0 && rootsLikelyAllFound(isolated.length, rootRuns)) break;
    if (round >= 1 && continuumAll.length >= opts.maxRepresentatives) break;
  }
  const continuum = spread(continuumAll, opts.maxRepresentatives, p);
  return { isolated, continuum, continuumDimension, best, starts, iterations, budgetHit };
}

/** Do the unweighted outputs at u meet every target within tolerance (and u every linear constraint)? */
export function meetsAt(ev: ProblemEvaluator, u: Float64Array): boolean {
  const Y = ev.outputs(u, 1);
  const p = ev.problem;
  for (const t of p.targets) if (!(targetMiss(t, formValue(t.terms, Y)) <= targetTolerance(t, p.atol, p.rtol))) return false;
  return !ev.polytope || ev.polytope.contains(u);
}

/** Expected number of roots not yet seen below which the search stops (rootsLikelyAllFound). */
const UNSEEN_ROOTS = 0.25;
/** Later rounds pick their starts from a pool this many times the round's size. */
const POOL_FACTOR = 4;
/** Above this many unknowns the starts stay plain Halton points (the distances would cost more than they save). */
const SPREAD_MAX_N = 48;

/**
 * Boender & Rinnooy Kan (1987): after N local searches that found w distinct minima (here:
 * runs that reached a root, distinct roots), the posterior expected number of minima is
 * w(N − 1)/(N − w − 2); stop once it exceeds w by less than UNSEEN_ROOTS. (Their rule uses ½;
 * ¼ cut the miss rate on bench/rootmiss.ts from 0.35 % to 0 on net 0 and to 0.2 % on net 1, at
 * ~1.5× the evaluations, spent on the queries with several roots: for w = 1 the rule asks for
 * 12 runs that reached a root, which the first two rounds usually give.)
 */
export function rootsLikelyAllFound(w: number, N: number): boolean {
  if (w === 0) return true;
  if (N <= w + 2) return false;
  return (w * (N - 1)) / (N - w - 2) < w + UNSEEN_ROOTS;
}


/**
 * Farthest-point selection (Gonzalez 1985) in box-width units: representatives spread over the set.
 * With a prior, plausible and spread: the first is the most plausible point, each next one
 * maximises its distance to those chosen divided by (1 + its Mahalanobis distance m), so of two
 * equally far candidates the more plausible wins and a far one must be far enough to pay for
 * being implausible.
 */
function spread(points: FinalPoint[], k: number, p: Problem): FinalPoint[] {
  if (points.length <= k) return points.slice();
  const n = p.unknowns.length;
  const d = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < n; j++) s += ((a[j] - b[j]) / (p.hi[j] - p.lo[j] || 1)) ** 2;
    return Math.sqrt(s);
  };
  const prior = p.prior;
  const weight = points.map((q) => (prior ? 1 / (1 + mahalanobis(prior, q.u)) : 1));
  let first = 0;
  for (let i = 1; i < points.length; i++) if (weight[i] > weight[first]) first = i;
  const chosen = [points[first]];
  const dist = points.map((q) => d(q.u, points[first].u));
  dist[first] = -1;
  while (chosen.length < k) {
    let bi = -1;
    for (let i = 0; i < points.length; i++) if (dist[i] >= 0 && (bi < 0 || dist[i] * weight[i] > dist[bi] * weight[bi])) bi = i;
    chosen.push(points[bi]);
    dist[bi] = -1;
    for (let i = 0; i < points.length; i++) if (dist[i] >= 0) dist[i] = Math.min(dist[i], d(points[i].u, points[bi].u));
  }
  return chosen;
}
