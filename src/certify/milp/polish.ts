/**
 * Every point the MILP path reports goes through a fresh float64 forward pass (verifySolution).
 * HiGHS meets its rows only within tolerance, so a point on the edge of a target's band can miss
 * it by a few ulps in float64; `polishPoint` then moves it into the band with minimum-norm
 * Gauss–Newton steps on the targets (exact within one linear piece of the network). Discrete
 * unknowns are first put on their exact values (snapDiscrete) and the polish leaves them there.
 */
import { targetTolerance, type Problem } from '../../problem/query.ts';
import { formValue } from '../../problem/targets.ts';
import { DualGaussNewton } from '../../numeric/gaussNewton.ts';
import type { Solution } from '../../solve/result.ts';
import { targetJacobian, verifySolution } from '../../solve/verify.ts';
import { constraintRows } from '../../problem/constraints.ts';
import { Polytope } from '../../solve/polytope.ts';

/**
 * Discrete unknowns inside one MILP (by index into problem.unknowns): integers (integer columns),
 * and groups that take one of listed value vectors (a categorical input: one unknown; a one-hot
 * group: its columns, the identity's rows).
 */
export interface MilpDiscrete {
  integers: number[];
  groups: { kind: 'categorical' | 'one-hot'; unknowns: number[]; values: number[][] }[];
}

/** Index of the choice of a group nearest to u (L1 over its unknowns; the first of ties). */
export function nearestChoice(g: MilpDiscrete['groups'][number], u: ArrayLike<number>): number {
  let best = 0,
    bestD = Infinity;
  g.values.forEach((v, k) => {
    let d = 0;
    for (let i = 0; i < v.length; i++) d += Math.abs(u[g.unknowns[i]] - v[i]);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  });
  return best;
}

/**
 * Put every discrete unknown of u (in the box) on its nearest allowed value, exactly: HiGHS keeps
 * integers integral only within its integrality tolerance, and a reported value must be 4, not
 * 3.9999999997.
 */
export function snapDiscrete(problem: Problem, d: MilpDiscrete, u: Float64Array): void {
  for (const j of d.integers) u[j] = Math.min(Math.floor(problem.hi[j]), Math.max(Math.ceil(problem.lo[j]), Math.round(u[j])));
  for (const g of d.groups) {
    const v = g.values[nearestChoice(g, u)];
    g.unknowns.forEach((j, i) => (u[j] = v[i]));
  }
}

export function clampToBox(problem: Problem, raw: ArrayLike<number>): Float64Array {
  const n = problem.unknowns.length;
  const u = new Float64Array(n);
  for (let j = 0; j < n; j++) u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], raw[j]));
  return u;
}

/** Forward-pass check of a point (clamped to the box), polished when it misses a target narrowly. */
export function checkPoint(problem: Problem, raw: ArrayLike<number>, discrete?: MilpDiscrete): { u: Float64Array; sol: Solution; polished: boolean } {
  let u = clampToBox(problem, raw);
  // linear constraints among the inputs: HiGHS meets their rows within its tolerance only; the
  // nearest point that meets them in float64 (solve/polytope.ts) is the one checked
  if (problem.constraints?.length) {
    const poly = new Polytope(constraintRows(problem.constraints, problem.unknowns, problem.base), problem.lo, problem.hi);
    if (!poly.contains(u)) poly.project(u, 0, u, 0);
  }
  // discrete unknowns on their exact values, and held there by the polish
  let frozen: Uint8Array | null = null;
  if (discrete) {
    snapDiscrete(problem, discrete, u);
    frozen = new Uint8Array(u.length).fill(1);
    for (const j of discrete.integers) frozen[j] = 0;
    for (const g of discrete.groups) for (const j of g.unknowns) frozen[j] = 0;
  }
  let sol = verifySolution(problem, u);
  if (sol.meetsTargets) return { u, sol, polished: false };
  const v = polishPoint(problem, u, 5, frozen);
  const s2 = verifySolution(problem, v);
  if (s2.meetsTargets || s2.maxMiss < sol.maxMiss) {
    u = v;
    sol = s2;
  }
  return { u, sol, polished: true };
}

/**
 * Move u so that each target's output lies in its tolerance band shrunk by half (the equalities
 * kept where they are when already inside): Δu = Aᵀ(AAᵀ + λI)⁻¹r over the targets that are
 * missed or are equalities (λ = 1e−12 of the mean Gram diagonal; numeric/gaussNewton.ts, the
 * same dual step LM takes on many unknowns), clamped to the box. A few steps at most.
 */
export function polishPoint(problem: Problem, start: Float64Array, steps = 5, free: Uint8Array | null = null): Float64Array {
  const net = problem.model.network;
  const n = problem.unknowns.length;
  const u = start.slice();
  const X = problem.base.slice();
  const gn = new DualGaussNewton(),
    d = new Float64Array(n);
  for (let it = 0; it < steps; it++) {
    for (let j = 0; j < n; j++) X[problem.unknowns[j]] = u[j];
    const Y = net.evaluate(X, 1);
    const rows: number[] = [],
      r: number[] = [];
    problem.targets.forEach((t, i) => {
      const tol = targetTolerance(t, problem.atol, problem.rtol);
      const y = formValue(t.terms, Y);
      const aim = Math.min(t.hi + tol / 2, Math.max(t.lo - tol / 2, y));
      if (aim !== y || t.kind === 'eq') {
        rows.push(i);
        r.push(aim - y);
      }
    });
    if (r.every((v) => v === 0)) break;
    const J = targetJacobian(problem, u);
    const ok = gn.solve({ J, base: 0, rows, k: rows.length, n, b: Float64Array.from(r), bOff: 0, free, D: null, dOff: 0, lambda: 1e-300, relative: 1e-12 }, d);
    if (!ok) break;
    for (let j = 0; j < n; j++) u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], u[j] + d[j]));
  }
  return u;
}
