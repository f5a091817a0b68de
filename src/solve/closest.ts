/**
 * The solution closest to a reference point, solved as the constrained problem it is:
 *     minimise dist(u, ref)  subject to  targets met,  lo ≤ u ≤ hi
 * with dᵢ = (uᵢ − refᵢ)/widthᵢ over the referenced unknowns, in an exact formulation per norm:
 *   L2:  minimise ½‖d‖²                                     (residual rows dⱼ)
 *   L∞:  minimise ½t²   s.t.  dⱼ − t ≤ 0,  −dⱼ − t ≤ 0,  t ∈ [0, tmax]      (epigraph variable t)
 *   L1:  minimise ½(Σⱼ pⱼ + nⱼ)²   s.t.  dⱼ − pⱼ + nⱼ = 0,  pⱼ, nⱼ ∈ [0, tmax]   (split variables)
 * (½t² and ½(Σ p + n)² have the minimisers of t and Σ p + n, which are ≥ 0, and make the
 * objective a least-squares residual.) The extra variables are bounded like the unknowns, so
 * every subproblem is a box-constrained least-squares problem over (u, t) or (u, p, n).
 * Constraints go in by an augmented Lagrangian (Hestenes 1969; Powell 1969; Nocedal & Wright
 * §17.3–17.4), whose inner problems are least squares and go to the same bounded LM:
 *     residuals = [ objective rows ;  √ρ·(cᵢ + μᵢ/ρ) (equalities) ;  √ρ·max(0, gᵢ + μᵢ/ρ) (g ≤ 0) ]
 * Multipliers: μ ← μ + ρc (equalities), μ ← max(0, μ + ρg) (inequalities); ρ grows ×10 when
 * the violation does not shrink by 4×. A local method on a nonconvex set: the caller runs it
 * from several starts and verifies every result.
 *
 * Diverse counterfactuals (solve/counterfactual.ts) use a variant: with `anchor` a, minimise the
 * L2 distance ½Σⱼ ((uⱼ − aⱼ)/unitⱼ)² over every unknown, subject to the targets and the proximity
 * ball dist(u, ref) ≤ R in the problem's norm, which enters as constraints of the same kinds:
 *   L2: Σⱼ dⱼ² − R² ≤ 0;   L∞: ±dⱼ − R ≤ 0;   L1: dⱼ − pⱼ + nⱼ = 0, Σⱼ (pⱼ + nⱼ) − R ≤ 0.
 * (dⱼ are in the problem's distance units, distanceUnit(): the box width unless the query sets
 * a scale or weights.)
 */
import type { Problem } from '../problem/query.ts';
import { distanceUnit, targetTolerance } from '../problem/query.ts';
import type { ProblemEvaluator } from './evaluator.ts';
import { lmCore } from './lm.ts';
import { Polytope } from './polytope.ts';

/** A constraint g(z) = 0 ('eq') or g(z) ≤ 0 ('le'). */
interface Constraint {
  type: 'eq' | 'le';
  /** Target constraint: target index and which end ('eq': y − t; 'lo': lo − y; 'hi': y − hi). */
  target?: { t: number; kind: 'eq' | 'lo' | 'hi' };
  /** Σⱼ dⱼ² − c0 over the referenced unknowns (the L2 proximity ball, c0 = R²). */
  quad?: true;
  /** Linear constraint Σ coef·z[idx] + c0 (the distance constraints). */
  idx?: number[];
  coef?: number[];
  c0?: number;
}

/** Violation below which the distance constraints (box-width units) count as met. */
const DISTANCE_TOL = 1e-10;

/** The anchored variant (diverse counterfactuals): see the header. */
export interface ClosestOptions {
  /** Minimise the L2 distance to this point (every unknown, distance units) instead of the distance to the reference. */
  anchor?: Float64Array;
  /** With anchor: the proximity ball, dist(u, ref) ≤ radius in the problem's norm. */
  radius?: number;
}

export function closestFeasible(ev: ProblemEvaluator, start: Float64Array, maxOuter = 40, opts: ClosestOptions = {}): Float64Array {
  const p: Problem = ev.problem;
  const n = ev.n,
    m = ev.m;
  const ref = p.reference!,
    mask = p.referenceMask!;
  const anchor = opts.anchor;
  const radius = opts.radius ?? Infinity;
  // box widths (for the step test) and the distance's units
  const width = new Float64Array(n),
    unit = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    width[j] = p.hi[j] - p.lo[j] || 1;
    unit[j] = distanceUnit(p, j);
  }
  const refd: number[] = [];
  for (let j = 0; j < n; j++) if (mask[j]) refd.push(j);
  const nm = refd.length;
  // largest possible |dⱼ| inside the box: the extra variables' upper bound
  const dmax = (j: number): number => Math.max(Math.abs(p.lo[j] - ref[j]), Math.abs(p.hi[j] - ref[j])) / unit[j];
  const norm = p.distance;
  // epigraph variable t (L∞ objective), split variables (L1 objective or L1 ball)
  const hasT = !anchor && norm === 'linf';
  const ne = hasT ? 1 : norm === 'l1' ? 2 * nm : 0;
  const N = n + ne;
  const lo = new Float64Array(N),
    hi = new Float64Array(N);
  lo.set(p.lo);
  hi.set(p.hi);
  if (hasT) hi[n] = Math.max(0, ...refd.map(dmax));
  if (norm === 'l1') refd.forEach((j, k) => (hi[n + 2 * k] = hi[n + 2 * k + 1] = dmax(j)));

  // linear constraints among the inputs: kept exactly by every LM step (LinQPDescent) over (u, extra
  // variables), their rows padded with zeros for the extra variables
  let polytope: Polytope | undefined;
  if (ev.polytope) {
    const r = ev.polytope.rows;
    const A = new Float64Array(r.k * N);
    for (let k = 0; k < r.k; k++) A.set(r.A.subarray(k * n, k * n + n), k * N);
    polytope = new Polytope({ ...r, n: N, A }, lo, hi);
  }

  const cons: Constraint[] = [];
  p.targets.forEach((t, i) => {
    if (t.kind === 'eq') cons.push({ type: 'eq', target: { t: i, kind: 'eq' } });
    else {
      if (Number.isFinite(t.lo)) cons.push({ type: 'le', target: { t: i, kind: 'lo' } });
      if (Number.isFinite(t.hi)) cons.push({ type: 'le', target: { t: i, kind: 'hi' } });
    }
  });
  const nTargetCons = cons.length;
  refd.forEach((j, k) => {
    const s = 1 / unit[j],
      c0 = -ref[j] / unit[j];
    if (anchor && norm === 'linf') {
      // the ball: dⱼ − R ≤ 0 and −dⱼ − R ≤ 0
      if (radius < Infinity) {
        cons.push({ type: 'le', idx: [j], coef: [s], c0: c0 - radius });
        cons.push({ type: 'le', idx: [j], coef: [-s], c0: -c0 - radius });
      }
    } else if (norm === 'linf') {
      // dⱼ − t ≤ 0 and −dⱼ − t ≤ 0
      cons.push({ type: 'le', idx: [j, n], coef: [s, -1], c0 });
      cons.push({ type: 'le', idx: [j, n], coef: [-s, -1], c0: -c0 });
    } else if (norm === 'l1') {
      // dⱼ − pⱼ + nⱼ = 0
      cons.push({ type: 'eq', idx: [j, n + 2 * k, n + 2 * k + 1], coef: [s, -1, 1], c0 });
    }
  });
  if (anchor && radius < Infinity && nm > 0) {
    if (norm === 'l2') cons.push({ type: 'le', quad: true, c0: radius * radius });
    else if (norm === 'l1') {
      const idx: number[] = [];
      for (let e = n; e < N; e++) idx.push(e);
      cons.push({ type: 'le', idx, coef: idx.map(() => 1), c0: -radius });
    }
  }
  const nc = cons.length;
  const nObj = anchor ? n : norm === 'l2' ? nm : 1;
  const M = nObj + nc;

  const mu = new Float64Array(nc);
  let rho = 10;
  // start: u clipped into the box, the extra variables at their tightest feasible values
  let z = new Float64Array(N);
  for (let j = 0; j < n; j++) z[j] = Math.min(p.hi[j], Math.max(p.lo[j], start[j]));
  const dOf = (Z: Float64Array, o: number, j: number): number => (Z[o + j] - ref[j]) / unit[j];
  if (hasT) z[n] = Math.min(hi[n], Math.max(0, ...refd.map((j) => Math.abs(dOf(z, 0, j)))));
  if (norm === 'l1') {
    refd.forEach((j, k) => {
      const d = dOf(z, 0, j);
      z[n + 2 * k] = Math.max(0, d);
      z[n + 2 * k + 1] = Math.max(0, -d);
    });
  }

  // targeted outputs and their Jacobian wrt u, per point
  const Rt = new Float64Array(m),
    Jt = new Float64Array(m * n);
  let Y = new Float64Array(0),
    JY = new Float64Array(0);
  const outputsAt = (Z: Float64Array, k: number): void => {
    if (Y.length < k * m) {
      Y = new Float64Array(k * m);
      JY = new Float64Array(k * m * n);
    }
    for (let q = 0; q < k; q++) {
      ev.targetOutputsAndJacobian(Z.subarray(q * N, q * N + n), Rt, Jt);
      for (let i = 0; i < m; i++) {
        Y[q * m + i] = Rt[i];
        for (let j = 0; j < n; j++) JY[(q * m + i) * n + j] = Jt[i * n + j];
      }
    }
  };
  /** g(z) of constraint c at point q (after outputsAt). */
  const gOf = (c: Constraint, Z: Float64Array, q: number): number => {
    if (c.target) {
      const t = p.targets[c.target.t];
      const y = Y[q * m + c.target.t];
      return c.target.kind === 'eq' ? y - t.lo : c.target.kind === 'lo' ? t.lo - y : y - t.hi;
    }
    if (c.quad) {
      let g = -c.c0!;
      for (const j of refd) g += dOf(Z, q * N, j) ** 2;
      return g;
    }
    let g = c.c0!;
    for (let a = 0; a < c.idx!.length; a++) g += c.coef![a] * Z[q * N + c.idx![a]];
    return g;
  };

  let lastViol = Infinity;
  for (let outer = 0; outer < maxOuter; outer++) {
    if (ev.budget.exhausted) break;
    const sr = Math.sqrt(rho);
    const res = lmCore(
      {
        n: N,
        m: M,
        lo,
        hi,
        ...(polytope ? { polytope } : {}),
        exhausted: () => ev.budget.exhausted,
        evaluate(Z, k, R, J) {
          outputsAt(Z, k);
          J.fill(0, 0, k * M * N);
          for (let q = 0; q < k; q++) {
            const o = q * N;
            // objective rows
            if (anchor) {
              for (let j = 0; j < n; j++) {
                R[q * M + j] = (Z[o + j] - anchor[j]) / unit[j];
                J[(q * M + j) * N + j] = 1 / unit[j];
              }
            } else if (norm === 'l2') {
              refd.forEach((j, r) => {
                R[q * M + r] = dOf(Z, o, j);
                J[(q * M + r) * N + j] = 1 / unit[j];
              });
            } else if (norm === 'linf') {
              R[q * M] = Z[o + n];
              J[q * M * N + n] = 1;
            } else {
              let s = 0;
              for (let e = n; e < N; e++) {
                s += Z[o + e];
                J[q * M * N + e] = 1;
              }
              R[q * M] = s;
            }
            // constraint rows
            for (let ci = 0; ci < nc; ci++) {
              const c = cons[ci];
              let v = gOf(c, Z, q) + mu[ci] / rho;
              let active = 1;
              if (c.type === 'le' && v < 0) {
                v = 0;
                active = 0;
              }
              const row = q * M + nObj + ci;
              R[row] = sr * v;
              if (!active) continue;
              if (c.target) {
                const sign = c.target.kind === 'lo' ? -1 : 1;
                for (let j = 0; j < n; j++) J[row * N + j] = sr * sign * JY[(q * m + c.target.t) * n + j];
              } else if (c.quad) {
                for (const j of refd) J[row * N + j] = (sr * 2 * dOf(Z, o, j)) / unit[j];
              } else for (let a = 0; a < c.idx!.length; a++) J[row * N + c.idx![a]] = sr * c.coef![a];
            }
          }
        },
      },
      z,
      1,
      100,
    );
    let step = 0;
    for (let j = 0; j < n; j++) step = Math.max(step, Math.abs(res.x[j] - z[j]) / width[j]);
    z = res.x.slice(0, N);
    // violations and multiplier updates at z
    outputsAt(z, 1);
    let viol = 0,
      dviol = 0,
      tolMin = Infinity;
    for (let ci = 0; ci < nc; ci++) {
      const c = cons[ci];
      const g = gOf(c, z, 0);
      const v = c.type === 'eq' ? Math.abs(g) : Math.max(0, g);
      if (ci < nTargetCons) {
        tolMin = Math.min(tolMin, targetTolerance(p.targets[c.target!.t], p.atol, p.rtol));
        viol = Math.max(viol, v);
      } else dviol = Math.max(dviol, v);
      mu[ci] = c.type === 'eq' ? mu[ci] + rho * g : Math.max(0, mu[ci] + rho * g);
    }
    const total = Math.max(viol / tolMin, dviol / DISTANCE_TOL);
    // converged: constraints met and the point no longer moving as the multipliers settle
    if (viol <= 0.01 * tolMin && dviol <= DISTANCE_TOL && outer >= 3 && step <= 1e-9) break;
    if (total > 0.25 * lastViol) rho = Math.min(rho * 10, 1e12);
    lastViol = total;
  }
  return z.slice(0, n);
}
