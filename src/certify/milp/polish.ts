/**
 * Every point the MILP path reports goes through a fresh float64 forward pass (verifySolution).
 * HiGHS meets its rows only within tolerance, so a point on the edge of a target's band can miss
 * it by a few ulps in float64; `polishPoint` then moves it into the band with minimum-norm
 * Gauss–Newton steps on the targets (exact within one linear piece of the network).
 */
import { targetTolerance, type Problem } from '../../problem/query.ts';
import { formValue } from '../../problem/targets.ts';
import { cholesky, choleskySolve } from '../../numeric/linalg.ts';
import type { Solution } from '../../solve/result.ts';
import { targetJacobian, verifySolution } from '../../solve/verify.ts';

export function clampToBox(problem: Problem, raw: ArrayLike<number>): Float64Array {
  const n = problem.unknowns.length;
  const u = new Float64Array(n);
  for (let j = 0; j < n; j++) u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], raw[j]));
  return u;
}

/** Forward-pass check of a point (clamped to the box), polished when it misses a target narrowly. */
export function checkPoint(problem: Problem, raw: ArrayLike<number>): { u: Float64Array; sol: Solution; polished: boolean } {
  let u = clampToBox(problem, raw);
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
 * missed or are equalities, clamped to the box. A few steps at most.
 */
export function polishPoint(problem: Problem, start: Float64Array, steps = 5): Float64Array {
  const net = problem.model.network;
  const n = problem.unknowns.length;
  const u = start.slice();
  const X = problem.base.slice();
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
    const k = rows.length;
    const G = new Float64Array(k * k);
    let trace = 0;
    for (let a = 0; a < k; a++) {
      for (let b = 0; b <= a; b++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += J[rows[a] * n + j] * J[rows[b] * n + j];
        G[a * k + b] = s;
        G[b * k + a] = s;
      }
      trace += G[a * k + a];
    }
    const lambda = 1e-12 * (trace / k) + 1e-300;
    for (let a = 0; a < k; a++) G[a * k + a] += lambda;
    if (!cholesky(G, k)) break;
    const w = Float64Array.from(r);
    choleskySolve(G, k, w);
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let a = 0; a < k; a++) d += J[rows[a] * n + j] * w[a];
      u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], u[j] + d));
    }
  }
  return u;
}
