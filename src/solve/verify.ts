/**
 * Verification: every reported point is recomputed by a fresh float64 forward pass here, and
 * only this pass decides whether it meets the targets.
 */
import { distanceUnit, targetMiss, targetTolerance, type Problem } from '../problem/query.ts';
import { formJacobian, formValue } from '../problem/targets.ts';
import { constraintRows, constraintValue } from '../problem/constraints.ts';
import { singularValues } from '../numeric/linalg.ts';
import type { ConstraintValue, Solution } from './result.ts';

export function unknownsOf(problem: Problem, u: ArrayLike<number>): Record<string, number> {
  const o: Record<string, number> = {};
  problem.unknownNames.forEach((name, j) => (o[name] = u[j]));
  return o;
}

/** Jacobian of the targets' forms wrt the unknowns at u (m × n), fresh. */
export function targetJacobian(problem: Problem, u: ArrayLike<number>): Float64Array {
  const net = problem.model.network;
  const X = problem.base.slice();
  problem.unknowns.forEach((idx, j) => (X[idx] = u[j]));
  const Jy = net.jacobian(X, 1, { wrt: problem.unknowns, of: problem.targetOutputs }).J;
  const n = problem.unknowns.length;
  const J = new Float64Array(problem.targets.length * n);
  formJacobian(problem.targets, problem.targetOutputs, Jy, 1, n, J);
  return J;
}

export function verifySolution(
  problem: Problem,
  u: ArrayLike<number>,
  extra: { optimality?: number } = {},
): Solution {
  const net = problem.model.network;
  const X = problem.base.slice();
  const n = problem.unknowns.length;
  for (let j = 0; j < n; j++) X[problem.unknowns[j]] = u[j];
  const Y = net.evaluate(X, 1);
  const inputs: Record<string, number> = {};
  net.inputNames.forEach((name, i) => (inputs[name] = X[i]));
  const outputs: Record<string, number> = {};
  net.outputNames.forEach((name, i) => (outputs[name] = Y[i]));
  const residuals: Record<string, number> = {};
  const constraints: ConstraintValue[] = [];
  let maxMiss = 0,
    meets = true;
  for (const t of problem.targets) {
    const y = formValue(t.terms, Y);
    const miss = targetMiss(t, y);
    residuals[t.name] = t.kind === 'eq' ? y - t.lo : y > t.hi ? y - t.hi : y < t.lo ? y - t.lo : 0;
    maxMiss = Math.max(maxMiss, miss);
    const met = miss <= targetTolerance(t, problem.atol, problem.rtol);
    if (!met) meets = false;
    // slack: how far inside the target set the form lies (negative: outside by that much)
    const slack = y !== y ? -Infinity : Math.min(y - t.lo, t.hi - y);
    constraints.push({ target: t.name, value: y, lo: Number.isFinite(t.lo) ? t.lo : null, hi: Number.isFinite(t.hi) ? t.hi : null, slack, met });
  }
  // linear constraints among the inputs: value at the full input vector, slack, met within tolerance
  for (const c of problem.constraints ?? []) {
    const v = constraintValue(c, X);
    const met = v >= c.lo - c.tol && v <= c.hi + c.tol;
    if (!met) meets = false;
    const slack = v !== v ? -Infinity : Math.min(v - c.lo, c.hi - v);
    constraints.push({ target: c.name, on: 'input', value: v, lo: Number.isFinite(c.lo) ? c.lo : null, hi: Number.isFinite(c.hi) ? c.hi : null, slack, met });
  }
  const m = problem.targets.length;
  const J = targetJacobian(problem, u);
  const sv = singularValues(J, m, n);
  const smax = sv[0] ?? 0,
    smin = sv[Math.min(m, n) - 1] ?? 0;
  const conditionNumber = smin > 0 ? smax / smin : Infinity;
  const activeBounds: Record<string, 'lower' | 'upper'> = {};
  for (let j = 0; j < n; j++) {
    if (u[j] <= problem.lo[j]) activeBounds[problem.unknownNames[j]] = 'lower';
    else if (u[j] >= problem.hi[j]) activeBounds[problem.unknownNames[j]] = 'upper';
  }
  const sol: Solution = {
    inputs,
    unknowns: unknownsOf(problem, u),
    outputs,
    residuals,
    constraints,
    maxMiss,
    meetsTargets: meets,
    conditionNumber,
    activeBounds,
    optimality: extra.optimality ?? NaN,
  };
  if (problem.reference) sol.distance = distanceToReference(problem, u);
  return sol;
}

/**
 * Dimension of the solution set through u (docs/design.md): unknowns (less the independent
 * equality constraints among the inputs, whose null space the set lies in) minus the number of singular
 * values of the active targets' Jacobian that are significant on the box's scale,
 * σᵢ·diam(box) > tol. A range or inequality met strictly does not constrain (full-dimensional
 * there), so only equalities and targets sitting on an end within tolerance count.
 */
export function solutionSetDimension(problem: Problem, u: ArrayLike<number>): number {
  const n = problem.unknowns.length;
  const net = problem.model.network;
  const X = problem.base.slice();
  for (let j = 0; j < n; j++) X[problem.unknowns[j]] = u[j];
  const Y = net.evaluate(X, 1);
  const rows: number[] = [];
  let tol = Infinity;
  problem.targets.forEach((t, i) => {
    const tl = targetTolerance(t, problem.atol, problem.rtol);
    const y = formValue(t.terms, Y);
    const onEdge = t.kind === 'eq' || Math.abs(y - t.lo) <= tl || Math.abs(y - t.hi) <= tl;
    if (onEdge) {
      rows.push(i);
      tol = Math.min(tol, tl);
    }
  });
  // equality constraints among the inputs: the solution set lies in their null space N (q
  // independent rows, orthonormal basis Q): dimension = (n − q) − rank(J·P), P = I − QᵀQ the
  // projector onto N (J·P has the singular values of J restricted to N)
  const Q = equalityBasis(problem);
  const q = Q.length / n;
  if (rows.length === 0) return n - q;
  const Jall = targetJacobian(problem, u);
  const J = new Float64Array(rows.length * n);
  rows.forEach((i, r) => J.set(Jall.subarray(i * n, i * n + n), r * n));
  for (let r = 0; r < rows.length; r++) {
    for (let e = 0; e < q; e++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += J[r * n + j] * Q[e * n + j];
      for (let j = 0; j < n; j++) J[r * n + j] -= d * Q[e * n + j];
    }
  }
  let diam = 0;
  for (let j = 0; j < n; j++) diam += (problem.hi[j] - problem.lo[j]) ** 2;
  diam = Math.sqrt(diam);
  const sv = singularValues(J, rows.length, n);
  let significant = 0;
  for (const s of sv) if (s * diam > tol) significant++;
  return Math.max(0, n - q - significant);
}

/**
 * Orthonormal basis (q × n, modified Gram–Schmidt) of the row space of the equality constraints
 * among the inputs, over the unknowns: empty without equalities.
 */
export function equalityBasis(problem: Problem): Float64Array {
  const cs = problem.constraints ?? [];
  if (!cs.some((c) => c.kind === 'eq')) return new Float64Array(0);
  const rows = constraintRows(cs, problem.unknowns, problem.base);
  const n = rows.n;
  const Q: number[] = [];
  for (let k = 0; k < rows.k; k++) {
    if (!rows.eq[k]) continue;
    const v = Array.from(rows.A.subarray(k * n, k * n + n));
    const norm0 = Math.hypot(...v);
    for (let e = 0; e < Q.length / n; e++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += v[j] * Q[e * n + j];
      for (let j = 0; j < n; j++) v[j] -= d * Q[e * n + j];
    }
    const nv = Math.hypot(...v);
    if (!(nv > 1e-10 * norm0)) continue;
    for (let j = 0; j < n; j++) Q.push(v[j] / nv);
  }
  return Float64Array.from(Q);
}

/** Distance to the reference in box-width units (or the query's distance units, distanceUnit()): L2 (default), L1 or L∞ over the referenced unknowns. */
export function distanceToReference(problem: Problem, u: ArrayLike<number>): number {
  const ref = problem.reference!,
    mask = problem.referenceMask!;
  let s = 0;
  for (let j = 0; j < ref.length; j++) {
    if (!mask[j]) continue;
    const d = Math.abs(u[j] - ref[j]) / distanceUnit(problem, j);
    if (problem.distance === 'l1') s += d;
    else if (problem.distance === 'linf') s = Math.max(s, d);
    else s += d * d;
  }
  return problem.distance === 'l2' ? Math.sqrt(s) : s;
}

/**
 * Are a and b the same point up to round-off? Per unknown |aⱼ − bⱼ| ≤ 1e-9·widthⱼ + 8ε·max(|aⱼ|, |bⱼ|):
 * a tolerance on the box's scale (and on the values' own scale for wide boxes far from 0), far
 * below any distance at which two solutions mean different things and far above the round-off
 * (≈ 1e-15 relative) at which two runs polishing the same point differ.
 */
export function samePoint(problem: Problem, a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  for (let j = 0; j < problem.unknowns.length; j++) {
    const w = problem.hi[j] - problem.lo[j] || 1;
    const tol = SAME_POINT_RTOL * w + 8 * Number.EPSILON * Math.max(Math.abs(a[j]), Math.abs(b[j]));
    if (!(Math.abs(a[j] - b[j]) <= tol)) return false;
  }
  return true;
}

/** Relative (to the box width) distance below which two solutions are one (samePoint). */
export const SAME_POINT_RTOL = 1e-9;

/**
 * How far (box-width units) the exact root may lie from u: Newton's estimate ‖r‖/σ_min(J·W),
 * r the misses of the targets that bind at u (as solutionSetDimension counts them), floored at
 * round-off (a residual of 4ε per unit of target size).
 */
export function rootUncertainty(p: Problem, u: ArrayLike<number>): number {
  const n = u.length;
  const X = p.base.slice();
  for (let j = 0; j < n; j++) X[p.unknowns[j]] = u[j];
  const Y = p.model.network.evaluate(X, 1);
  const Jall = targetJacobian(p, u);
  const rowsJ: number[] = [];
  let r2 = 0;
  p.targets.forEach((t, i) => {
    const y = formValue(t.terms, Y);
    const tl = targetTolerance(t, p.atol, p.rtol);
    const end = t.kind === 'eq' ? t.lo : Math.abs(y - t.lo) <= Math.abs(y - t.hi) ? t.lo : t.hi;
    if (t.kind !== 'eq' && !(Math.abs(y - end) <= tl)) return;
    rowsJ.push(i);
    const floor = 4 * Number.EPSILON * Math.max(1, Math.abs(end), Math.abs(y));
    r2 += Math.max(Math.abs(y - end), floor) ** 2;
  });
  if (!rowsJ.length) return Infinity;
  const J = new Float64Array(rowsJ.length * n);
  rowsJ.forEach((i, r) => {
    for (let j = 0; j < n; j++) J[r * n + j] = Jall[i * n + j] * (p.hi[j] - p.lo[j] || 1);
  });
  const sv = singularValues(J, rowsJ.length, n);
  const smin = sv[Math.min(rowsJ.length, n) - 1] ?? 0;
  return smin > 0 ? Math.sqrt(r2) / smin : Infinity;
}

/** Two isolated points within this many times their summed position uncertainties are one root. */
export const MERGE_FACTOR = 10;

/**
 * Are a and b (isolated roots, with their rootUncertainty δa, δb) the same root? Within
 * MERGE_FACTOR·(δa + δb) in box-width units, or samePoint.
 */
export function sameRoot(p: Problem, a: ArrayLike<number>, da: number, b: ArrayLike<number>, db: number): boolean {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += ((a[j] - b[j]) / (p.hi[j] - p.lo[j] || 1)) ** 2;
  return Math.sqrt(s) <= MERGE_FACTOR * (da + db) || samePoint(p, a, b);
}
