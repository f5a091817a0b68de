/**
 * Every point the MILP path reports goes through a fresh float64 forward pass (verifySolution).
 * HiGHS meets its rows only within tolerance, so a point on the edge of a target's band can miss
 * it by a few ulps in float64; `polishPoint` then moves it into the band with minimum-norm
 * Gauss–Newton steps on the targets (exact within one linear piece of the network).
 */
import { targetTolerance, type Problem } from '../../problem/query.ts';
import { formValue } from '../../problem/targets.ts';
import { DualGaussNewton } from '../../numeric/gaussNewton.ts';
import type { Solution } from '../../solve/result.ts';
import { targetJacobian, verifySolution } from '../../solve/verify.ts';
import { constraintRows } from '../../problem/constraints.ts';
import { Polytope } from '../../solve/polytope.ts';

export function clampToBox(problem: Problem, raw: ArrayLike<number>): Float64Array {
  const n = problem.unknowns.length;
  const u = new Float64Array(n);
  for (let j = 0; j < n; j++) u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], raw[j]));
  return u;
}

/** Forward-pass check of a point (clamped to the box), polished when it misses a target narrowly. */
export function checkPoint(problem: Problem, raw: ArrayLike<number>): { u: Float64Array; sol: Solution; polished: boolean } {
  let u = clampToBox(problem, raw);
  // linear constraints among the inputs: HiGHS meets their rows within its tolerance only; the
  // nearest point that meets them in float64 (solve/polytope.ts) is the one checked
  if (problem.constraints?.length) {
    const poly = new Polytope(constraintRows(problem.constraints, problem.unknowns, problem.base), problem.lo, problem.hi);
    if (!poly.contains(u)) poly.project(u, 0, u, 0);
  }
  let sol = verifySolution(problem, u);
  if (sol.meetsTargets) return { u, sol, polished: false };
  const v = polishPoint(problem, u);
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
export function polishPoint(problem: Problem, start: Float64Array, steps = 5): Float64Array {
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
    const ok = gn.solve({ J, base: 0, rows, k: rows.length, n, b: Float64Array.from(r), bOff: 0, free: null, D: null, dOff: 0, lambda: 1e-300, relative: 1e-12 }, d);
    if (!ok) break;
    for (let j = 0; j < n; j++) u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], u[j] + d[j]));
  }
  return u;
}
