/**
 * Counterfactual controls on top of the closest-to-reference search (issue 12 §1):
 *
 * --diverse K: K solutions that are each near the reference and far from each other. The stated
 *   objective is max-min dispersion inside a proximity ball:
 *       maximise  min_{a≠b} dist(x_a, x_b)   over K points meeting the targets with dist(x, ref) ≤ R,
 *   R = radius (default 2·d*, d* the closest solution's distance; 0.1 when d* = 0). Candidates
 *   come from anchored projections (closest.ts): for Halton anchors a spread over the box, the
 *   feasible point inside the ball nearest a; then the greedy farthest-point rule (Gonzalez 1985,
 *   "Clustering to minimize the maximum intercluster distance", a 2-approximation of max-min
 *   dispersion over the candidate set) starting from the closest solution picks the K. So the set
 *   is not the K nearest starts: on a continuum all those converge to the one closest point.
 *   (DiCE, Mothilal et al. 2020, trades proximity against a determinant diversity term; the
 *   ball turns that trade-off into one radius.)
 *
 * --sparse: change as few of the referenced inputs as possible (L0). Search over subsets S of the
 *   referenced unknowns by growing size k = 0, 1, …: the others held at their reference value,
 *   the closest solution with only S free (solveProblem on the restricted problem). The first
 *   size with a solution is the sparsest found; it is PROVEN the fewest when every subset of
 *   every smaller size was proven to have no solution (by the search itself, or by the `prove`
 *   callback the caller passes: certify's branch-and-bound). For ReLU nets the exact L0 is the
 *   MILP with one binary per input (certify/milp/run.ts, objective 'sparse').
 *
 * Each counterfactual solution reports `changed` (count and names). A solution changes input j
 * when |uⱼ − refⱼ| > CHANGE_TOL in distance units.
 */
import { NetinvertError } from '../errors.ts';
import { distanceUnit, type Problem } from '../problem/query.ts';
import { halton, PRIMES } from '../numeric/halton.ts';
import { closestFeasible } from './closest.ts';
import { Budget, ProblemEvaluator, now } from './evaluator.ts';
import { solveProblem, type InvertOptions } from './invert.ts';
import { validateOptions } from './options.ts';
import type { Solution, SolveResult } from './result.ts';
import { samePoint, verifySolution } from './verify.ts';

/** A referenced input counts as changed when it moved more than this (distance units). */
export const CHANGE_TOL = 1e-6;
/** Most subsets the --sparse search tries (it stops after the size that holds the first solution). */
export const MAX_SUBSETS = 4096;
/** Default proximity radius when the reference itself meets the targets (distance units). */
const ZERO_RADIUS = 0.1;

export interface CounterfactualOptions extends InvertOptions {
  /** K: return K diverse solutions near the reference (greedy max-min inside the proximity ball). */
  diverse?: number;
  /** The proximity ball's radius for diverse (distance units); default 2·(the closest solution's distance). */
  diverseRadius?: number;
  /** Change as few referenced inputs as possible (L0); see the header. */
  sparse?: boolean;
}

/** Proves a (restricted) problem has no solution; true only for a proof. */
export type InfeasibilityProver = (p: Problem) => boolean;

/** Which referenced inputs a point changes (|uⱼ − refⱼ| > CHANGE_TOL distance units). */
export function changedInputs(p: Problem, u: ArrayLike<number>): { count: number; inputs: string[] } {
  const inputs: string[] = [];
  for (let j = 0; j < p.unknowns.length; j++) {
    if (p.referenceMask![j] && Math.abs(u[j] - p.reference![j]) > CHANGE_TOL * distanceUnit(p, j)) inputs.push(p.unknownNames[j]);
  }
  return { count: inputs.length, inputs };
}

/** Distance between two points in the problem's norm and units, over the referenced unknowns. */
export function pairDistance(p: Problem, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < p.unknowns.length; j++) {
    if (!p.referenceMask![j]) continue;
    const d = Math.abs(a[j] - b[j]) / distanceUnit(p, j);
    if (p.distance === 'l1') s += d;
    else if (p.distance === 'linf') s = Math.max(s, d);
    else s += d * d;
  }
  return p.distance === 'l2' ? Math.sqrt(s) : s;
}

function vectorOf(p: Problem, s: Solution): Float64Array {
  return Float64Array.from(p.unknownNames, (nm) => s.unknowns[nm]);
}

/**
 * The problem with only the unknowns `keep` (indices into p.unknowns) left free: every other
 * unknown is held at its reference value (moved into `given`).
 */
export function restrictProblem(p: Problem, keep: number[]): Problem {
  const ref = p.reference!;
  const base = p.base.slice();
  const given = { ...p.given };
  for (let j = 0; j < p.unknowns.length; j++) {
    if (keep.includes(j)) continue;
    base[p.unknowns[j]] = ref[j];
    given[p.unknownNames[j]] = ref[j];
  }
  const pick = (a: Float64Array): Float64Array => Float64Array.from(keep, (j) => a[j]);
  return {
    ...p,
    unknowns: keep.map((j) => p.unknowns[j]),
    unknownNames: keep.map((j) => p.unknownNames[j]),
    base,
    given,
    lo: pick(p.lo),
    hi: pick(p.hi),
    boundSource: keep.map((j) => p.boundSource[j]),
    reference: pick(ref),
    referenceMask: Uint8Array.from(keep, (j) => p.referenceMask![j]),
    distanceUnit: Float64Array.from(keep, (j) => distanceUnit(p, j)),
    warnings: [],
  };
}

/** The subsets of {0..n-1} of size k, in lexicographic order (calls back; stops when it returns false). */
function forEachSubset(n: number, k: number, visit: (s: number[]) => boolean): void {
  const s = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    if (!visit(s.slice())) return;
    let i = k - 1;
    while (i >= 0 && s[i] === n - k + i) i--;
    if (i < 0) return;
    s[i]++;
    for (let t = i + 1; t < k; t++) s[t] = s[t - 1] + 1;
  }
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/**
 * Solve a problem with a reference point under the counterfactual options: the plain search
 * (solveProblem), then --sparse (subset search) and/or --diverse (K dispersed solutions).
 * `prove`, when given, proves subsets infeasible (the caller's certify) so that sparsity can be
 * proven minimal.
 */
export function solveCounterfactual(problem: Problem, options: CounterfactualOptions = {}, prove?: InfeasibilityProver): SolveResult {
  const K = options.diverse;
  if (K !== undefined && (!Number.isSafeInteger(K) || K < 1)) throw new NetinvertError('bad_query', `diverse must be a whole number ≥ 1 (got ${String(K)})`, { option: 'diverse' });
  if (options.diverseRadius !== undefined && !(options.diverseRadius > 0 && Number.isFinite(options.diverseRadius))) {
    throw new NetinvertError('bad_query', `diverseRadius must be a finite number > 0 (got ${String(options.diverseRadius)})`, { option: 'diverseRadius' });
  }
  if ((K !== undefined || options.sparse) && !problem.reference) {
    throw new NetinvertError('bad_query', '--diverse and --sparse are counterfactual controls: give a reference point with --closest-to (closestTo in a query)');
  }
  const { diverse: _d, diverseRadius: _r, sparse, ...plain } = options;
  let result: SolveResult;
  let work: Problem = problem;
  if (sparse) {
    const sp = sparseSearch(problem, plain, prove);
    result = sp.result;
    if (sp.subset) work = restrictProblem(problem, sp.subset);
  } else result = solveProblem(problem, plain);
  if (K !== undefined && result.status === 'solved' && result.closest) result = diversify(problem, work, result, K, plain, options.diverseRadius);
  else if (K !== undefined) result.warnings.push('--diverse: no solution to start from, so no diverse set');
  for (const s of result.solutions) s.changed = changedInputs(problem, vectorOf(problem, s));
  return result;
}

/**
 * The sparse search over subsets (header). Returns the full problem's result: its closest
 * solution (of the sparsest size found) first, and the subset it used.
 */
function sparseSearch(problem: Problem, options: InvertOptions, prove?: InfeasibilityProver): { result: SolveResult; subset: number[] | null } {
  const t0 = now();
  const { maxEvaluations, timeLimit } = validateOptions(options);
  const n = problem.unknowns.length;
  const refd: number[] = [];
  const free: number[] = [];
  for (let j = 0; j < n; j++) (problem.referenceMask![j] ? refd : free).push(j);
  const nm = refd.length;
  let total = 0;
  for (let k = 0; k <= nm; k++) total += binomial(nm, k);
  // an even share of the work per subset (at least a small search each), never above the whole
  const per = Math.max(2000, Math.floor(maxEvaluations / Math.min(total, MAX_SUBSETS)));
  const deadline = Number.isFinite(timeLimit) ? t0 + timeLimit * 1000 : Infinity;
  let evaluations = 0,
    tried = 0,
    provenBelow = true,
    capped = false;
  let best: { sol: Solution; subset: number[] } | null = null;
  for (let k = 0; k <= nm && !best; k++) {
    let allProven = true;
    forEachSubset(nm, k, (s) => {
      if (tried >= MAX_SUBSETS || evaluations >= maxEvaluations || now() > deadline) {
        capped = true;
        return false;
      }
      tried++;
      const keep = [...s.map((i) => refd[i]), ...free].sort((a, b) => a - b);
      let sol: Solution | null = null;
      if (keep.length === 0) {
        // nothing free: the reference itself meets the targets or not (exact: no unknown left)
        const v = verifySolution(problem, problem.reference!);
        if (v.meetsTargets) sol = v;
      } else {
        const sub = restrictProblem(problem, keep);
        const left = Math.max(1, Math.min(per, maxEvaluations - evaluations));
        const r = solveProblem(sub, { ...options, maxEvaluations: left, timeLimit: Math.max(1e-3, (deadline - now()) / 1000) });
        evaluations += r.stats.evaluations;
        if (r.status === 'solved' && r.solutions.length) {
          const c = r.closest ?? r.solutions[0];
          const u = Float64Array.from(problem.reference!);
          keep.forEach((j, i) => (u[j] = c.unknowns[sub.unknownNames[i]]));
          const v = verifySolution(problem, u);
          if (v.meetsTargets) sol = v;
        } else if (!(r.status === 'infeasible' && r.proven) && !(prove && prove(sub))) allProven = false;
      }
      if (sol && (!best || sol.distance! < best.sol.distance!)) best = { sol, subset: keep };
      return true;
    });
    if (!best) provenBelow = provenBelow && allProven && !capped;
    if (capped) break;
  }
  const b = best as { sol: Solution; subset: number[] } | null;
  // the whole problem's answer: the plain search with what is left of the work when no subset
  // met the targets; else a tiny one for the result's frame (query record, warnings, method)
  const base = solveProblem(problem, { ...options, maxEvaluations: b ? 1 : Math.max(1, maxEvaluations - evaluations) });
  if (!b) {
    // no subset met the targets (not even all inputs free): the plain answer stands
    base.warnings.push(`--sparse: no solution found over ${tried} subsets of the ${nm} referenced inputs${capped ? ' (stopped at the subset or work limit)' : ''}`);
    base.counterfactual = { ...base.counterfactual, sparse: { changed: -1, proven: false, subsetsTried: tried, method: 'subsets' } };
    return { result: base, subset: null };
  }
  const sol = b.sol;
  const changed = changedInputs(problem, vectorOf(problem, sol)).count;
  // proven fewest: every smaller subset proven empty (sizes below the size searched)
  const proven = provenBelow;
  base.status = 'solved';
  base.solutions = [sol];
  base.closest = sol;
  delete base.best;
  base.solutionSet = { kind: 'isolated', count: 1 };
  base.method = `${base.method} + sparse subsets`;
  base.message =
    `the sparsest counterfactual found changes ${changed} of the ${nm} referenced input${nm === 1 ? '' : 's'}` +
    (proven ? ' (proven the fewest: every smaller set of inputs was proven unable to meet the targets)' : ' (not proven the fewest)') +
    `; the closest such solution is shown`;
  base.counterfactual = { ...base.counterfactual, sparse: { changed, proven, subsetsTried: tried, method: 'subsets' } };
  base.stats = { ...base.stats, evaluations: base.stats.evaluations + evaluations, timeMs: now() - t0 };
  return { result: base, subset: b.subset };
}

/**
 * K diverse solutions (header): candidates from anchored projections into the proximity ball
 * over `work` (the problem, or its sparse restriction), then greedy farthest-point selection
 * from the closest solution. Distances are measured on the full problem.
 */
function diversify(problem: Problem, work: Problem, result: SolveResult, K: number, options: InvertOptions, radiusOpt?: number): SolveResult {
  const t0 = now();
  const { maxEvaluations, timeLimit, seed } = validateOptions(options);
  const closest = result.closest!;
  const d0 = closest.distance!;
  const R = radiusOpt ?? (d0 > 0 ? 2 * d0 : ZERO_RADIUS);
  // what is left of the call's budget after the search (the limits cover the whole call)
  const budget = new Budget(Math.max(1000, maxEvaluations - result.stats.evaluations), Number.isFinite(timeLimit) ? Math.max(0.05, timeLimit - result.stats.timeMs / 1000) : Infinity);
  const ev = new ProblemEvaluator(work, budget);
  const n = work.unknowns.length;
  const full = (w: Float64Array): Float64Array => {
    const u = Float64Array.from(problem.reference!);
    work.unknowns.forEach((f, i) => (u[problem.unknowns.indexOf(f)] = w[i]));
    return u;
  };
  const cands: { u: Float64Array; s: Solution }[] = [{ u: vectorOf(problem, closest), s: closest }];
  for (const s of result.solutions) if (s !== closest && s.distance! <= R) cands.push({ u: vectorOf(problem, s), s });
  const pool = Math.max(4 * K, 12);
  const offset = 1 + (Math.abs(seed) % 997);
  if (n > 0) {
    for (let i = 0; i < pool && !budget.exhausted; i++) {
      const anchor = Float64Array.from(work.lo, (l, j) => l + (work.hi[j] - l) * halton(offset + i, PRIMES[j % PRIMES.length]));
      const w = closestFeasible(ev, anchor, 40, { anchor, radius: R });
      const u = full(w);
      const s = verifySolution(problem, u);
      if (s.meetsTargets && s.distance! <= R * (1 + 1e-9) + 1e-12) cands.push({ u, s });
    }
  }
  // greedy farthest-point (Gonzalez 1985) from the closest solution
  const chosen = [cands[0]];
  const minD = cands.map((c) => pairDistance(problem, c.u, cands[0].u));
  while (chosen.length < K) {
    let bi = -1;
    for (let i = 0; i < cands.length; i++) if (bi < 0 || minD[i] > minD[bi]) bi = i;
    if (bi < 0 || samePoint(problem, cands[bi].u, nearestChosen(problem, chosen, cands[bi].u))) break;
    chosen.push(cands[bi]);
    for (let i = 0; i < cands.length; i++) minD[i] = Math.min(minD[i], pairDistance(problem, cands[i].u, cands[bi].u));
  }
  let minPairwise = Infinity;
  for (let a = 0; a < chosen.length; a++) for (let b = a + 1; b < chosen.length; b++) minPairwise = Math.min(minPairwise, pairDistance(problem, chosen[a].u, chosen[b].u));
  const sols = chosen.map((c) => c.s).sort((a, b) => a.distance! - b.distance!);
  const out: SolveResult = {
    ...result,
    solutions: sols,
    closest: sols[0],
    message:
      `${sols.length} diverse counterfactual${sols.length === 1 ? '' : 's'} within distance ${fmt(R)} of the reference (greedy max-min), ` +
      `closest first (${fmt(sols[0].distance!)})` +
      (sols.length > 1 ? `; the smallest distance between two of them is ${fmt(minPairwise)}` : '') +
      (sols.length < K ? `; asked for ${K}, but only ${sols.length} distinct solution${sols.length === 1 ? ' was' : 's were'} found inside the ball` : ''),
    method: `${result.method} + diverse`,
    solutionSet: result.solutionSet.kind === 'continuum' ? { ...result.solutionSet, representatives: sols.length } : { kind: 'isolated', count: sols.length },
    counterfactual: { ...result.counterfactual, diverse: { asked: K, k: sols.length, radius: R, minPairwise: sols.length > 1 ? minPairwise : 0, candidates: cands.length } },
    stats: { ...result.stats, evaluations: result.stats.evaluations + budget.evaluations, jacobians: result.stats.jacobians + budget.jacobians, timeMs: result.stats.timeMs + (now() - t0) },
    warnings: result.warnings.slice(),
  };
  return out;
}

function nearestChosen(p: Problem, chosen: { u: Float64Array }[], u: Float64Array): Float64Array {
  let best = chosen[0].u,
    d = Infinity;
  for (const c of chosen) {
    const e = pairDistance(p, c.u, u);
    if (e < d) {
      d = e;
      best = c.u;
    }
  }
  return best;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
