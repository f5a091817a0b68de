/**
 * Multi-start: quasi-random starts (Halton, with a seeded Cranley–Patterson shift) over the
 * box, run as one batch per round through bounded LM (or Adam), then merged.
 *
 * - Rounds grow until a round finds nothing new (isolated solutions), the continuum is
 *   covered (enough spread representatives), or the evaluation budget runs out. Counting
 *   evaluations, not time, keeps tests deterministic.
 * - LM polishes each point to round-off (it is Gauss–Newton near a root), and two points are
 *   merged only when the points between them (¼, ½, ¾) also meet the targets: a fixed radius
 *   would split a double root and merge close ones.
 */
import type { Problem } from '../problem/query.ts';
import { targetMiss, targetTolerance } from '../problem/query.ts';
import { adamBatch } from './adam.ts';
import type { Budget, ProblemEvaluator } from './evaluator.ts';
import { PRIMES, halton, mulberry32 } from './linalg.ts';
import { levenbergMarquardt } from './lm.ts';
import { solutionSetDimension } from './verify.ts';

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
  const nextStarts = (k: number): Float64Array => {
    const S = new Float64Array(k * n);
    for (let q = 0; q < k; q++, index++) {
      for (let j = 0; j < n; j++) {
        const h = (halton(index, PRIMES[j % PRIMES.length]) + shift[j]) % 1;
        S[q * n + j] = p.lo[j] + h * (p.hi[j] - p.lo[j]);
      }
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
    quietRounds = 0;
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
    let S = nextStarts(k);
    if (round === 0 && opts.warmStart) {
      // the warm start replaces the round's last quasi-random start and runs first
      const W = new Float64Array(k * n);
      W.set(opts.warmStart);
      W.set(S.subarray(0, (k - 1) * n), n);
      S = W;
      index--;
    }
    starts += k;
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
        continuumAll.push(pt);
        foundNew = true;
        continue;
      }
      let merged = false;
      for (let s = 0; s < isolated.length; s++) {
        if (sameComponent(ev, isolated[s].u, pt.u)) {
          if (pt.cost < isolated[s].cost) isolated[s] = pt;
          merged = true;
          break;
        }
      }
      if (!merged) {
        isolated.push(pt);
        foundNew = true;
      }
    }
    if (budgetHit) break;
    if (continuumAll.length >= 4 * opts.maxRepresentatives) break;
    quietRounds = foundNew ? 0 : quietRounds + 1;
    // isolated solutions: stop once a whole round finds nothing new (after ≥ 2 rounds)
    if (round >= 1 && quietRounds >= 1 && continuumAll.length === 0) break;
    if (round >= 1 && continuumAll.length >= opts.maxRepresentatives) break;
  }
  const continuum = spread(continuumAll, opts.maxRepresentatives, p);
  return { isolated, continuum, continuumDimension, best, starts, iterations, budgetHit };
}

/** Do the unweighted outputs at u meet every target within tolerance? */
export function meetsAt(ev: ProblemEvaluator, u: Float64Array): boolean {
  const Y = ev.outputs(u, 1);
  const p = ev.problem;
  for (const t of p.targets) if (!(targetMiss(t, Y[t.output]) <= targetTolerance(t, p.atol, p.rtol))) return false;
  return true;
}

function sameComponent(ev: ProblemEvaluator, a: Float64Array, b: Float64Array): boolean {
  const n = a.length;
  const mid = new Float64Array(n);
  for (const f of [0.5, 0.25, 0.75]) {
    for (let j = 0; j < n; j++) mid[j] = a[j] + f * (b[j] - a[j]);
    if (!meetsAt(ev, mid)) return false;
  }
  return true;
}

/** Farthest-point selection (Gonzalez 1985) in box-width units: representatives spread over the set. */
function spread(points: FinalPoint[], k: number, p: Problem): FinalPoint[] {
  if (points.length <= k) return points.slice();
  const n = p.unknowns.length;
  const d = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < n; j++) s += ((a[j] - b[j]) / (p.hi[j] - p.lo[j] || 1)) ** 2;
    return s;
  };
  const chosen = [points[0]];
  const dist = points.map((q) => d(q.u, points[0].u));
  while (chosen.length < k) {
    let bi = 0;
    for (let i = 1; i < points.length; i++) if (dist[i] > dist[bi]) bi = i;
    chosen.push(points[bi]);
    for (let i = 0; i < points.length; i++) dist[i] = Math.min(dist[i], d(points[i].u, points[bi].u));
  }
  return chosen;
}
