/**
 * The solution closest to a reference point, solved as the constrained problem it is:
 *     minimise dist(u, ref)  subject to  targets met,  lo ≤ u ≤ hi
 * by an augmented Lagrangian (Hestenes 1969; Powell 1969; Nocedal & Wright §17.3–17.4), whose
 * inner problems are least squares and go to the same bounded LM:
 *     residuals = [ √ωⱼ·(uⱼ − refⱼ)/widthⱼ ;  √ρ·(cᵢ + μᵢ/ρ) (equalities) ;  √ρ·max(0, gᵢ + μᵢ/ρ) (g ≤ 0) ]
 * Multipliers: μ ← μ + ρc (equalities), μ ← max(0, μ + ρg) (inequalities); ρ grows ×10 when
 * the violation does not shrink by 4×.
 * L2 uses ωⱼ = 1. L1 and L∞ use iteratively reweighted least squares on the same residuals
 * (ωⱼ = 1/max(|dⱼ|, ε) for L1; ωⱼ ∝ |dⱼ|^(p−2) with p rising to 32 for L∞), a local method:
 * the result is verified, and compared across several starts.
 */
import type { Problem } from '../problem/query.ts';
import { targetTolerance } from '../problem/query.ts';
import type { ProblemEvaluator } from './evaluator.ts';
import { lmCore } from './lm.ts';

interface Constraint {
  /** target index */
  t: number;
  /** 'eq': y − value = 0; 'lo': lo − y ≤ 0; 'hi': y − hi ≤ 0 */
  kind: 'eq' | 'lo' | 'hi';
}

export function closestFeasible(ev: ProblemEvaluator, start: Float64Array, maxOuter = 40): Float64Array {
  const p: Problem = ev.problem;
  const n = ev.n,
    m = ev.m;
  const ref = p.reference!,
    mask = p.referenceMask!;
  const width = new Float64Array(n);
  for (let j = 0; j < n; j++) width[j] = p.hi[j] - p.lo[j] || 1;
  const cons: Constraint[] = [];
  p.targets.forEach((t, i) => {
    if (t.kind === 'eq') cons.push({ t: i, kind: 'eq' });
    else {
      if (Number.isFinite(t.lo)) cons.push({ t: i, kind: 'lo' });
      if (Number.isFinite(t.hi)) cons.push({ t: i, kind: 'hi' });
    }
  });
  const nc = cons.length;
  const mu = new Float64Array(nc);
  const omega = new Float64Array(n).fill(1);
  let rho = 10;
  let u = start.slice();
  let lastViol = Infinity;
  // Raw output Jacobian of the targets via the evaluator with unit weights: the evaluator's
  // residual for target i is wᵢ(y − …); divide the weight back out.
  const Rt = new Float64Array(m),
    Jt = new Float64Array(m * n);
  const outputsAt = (U: Float64Array, k: number, Y: Float64Array, JY: Float64Array): void => {
    // y and ∂y/∂u per target for k points
    for (let q = 0; q < k; q++) {
      ev.targetOutputsAndJacobian(U.subarray(q * n, q * n + n), Rt, Jt);
      for (let i = 0; i < m; i++) {
        Y[q * m + i] = Rt[i];
        for (let j = 0; j < n; j++) JY[(q * m + i) * n + j] = Jt[i * n + j];
      }
    }
  };
  const Y1 = new Float64Array(m),
    JY1 = new Float64Array(m * n);
  let pNorm = 2;
  for (let outer = 0; outer < maxOuter; outer++) {
    if (ev.budget.exhausted) break;
    const M = n + nc;
    const res = lmCore(
      {
        n,
        m: M,
        lo: p.lo,
        hi: p.hi,
        exhausted: () => ev.budget.exhausted,
        evaluate(U, k, R, J) {
          const Y = new Float64Array(k * m),
            JY = new Float64Array(k * m * n);
          outputsAt(U, k, Y, JY);
          J.fill(0, 0, k * M * n);
          for (let q = 0; q < k; q++) {
            for (let j = 0; j < n; j++) {
              const s = mask[j] ? Math.sqrt(omega[j]) / width[j] : 0;
              R[q * M + j] = s * (U[q * n + j] - ref[j]);
              J[(q * M + j) * n + j] = s;
            }
            const sr = Math.sqrt(rho);
            cons.forEach((c, ci) => {
              const t = p.targets[c.t];
              const y = Y[q * m + c.t];
              const g = c.kind === 'eq' ? y - t.lo : c.kind === 'lo' ? t.lo - y : y - t.hi;
              const sign = c.kind === 'lo' ? -1 : 1;
              let v = g + mu[ci] / rho;
              let active = 1;
              if (c.kind !== 'eq' && v < 0) {
                v = 0;
                active = 0;
              }
              const row = q * M + n + ci;
              R[row] = sr * v;
              for (let j = 0; j < n; j++) J[row * n + j] = active * sr * sign * JY[(q * m + c.t) * n + j];
            });
          }
        },
      },
      u,
      1,
      100,
    );
    u = res.x.slice(0, n);
    // constraint values at u
    outputsAt(u, 1, Y1, JY1);
    let viol = 0,
      tolMin = Infinity;
    cons.forEach((c, ci) => {
      const t = p.targets[c.t];
      const y = Y1[c.t];
      const g = c.kind === 'eq' ? y - t.lo : c.kind === 'lo' ? t.lo - y : y - t.hi;
      tolMin = Math.min(tolMin, targetTolerance(t, p.atol, p.rtol));
      viol = Math.max(viol, c.kind === 'eq' ? Math.abs(g) : Math.max(0, g));
      mu[ci] = c.kind === 'eq' ? mu[ci] + rho * g : Math.max(0, mu[ci] + rho * g);
    });
    // reweighting for L1 / L∞
    if (p.distance !== 'l2') {
      if (p.distance === 'linf' && outer % 4 === 3 && pNorm < 32) pNorm *= 2;
      let dmax = 0;
      for (let j = 0; j < n; j++) if (mask[j]) dmax = Math.max(dmax, Math.abs(u[j] - ref[j]) / width[j]);
      for (let j = 0; j < n; j++) {
        const d = Math.abs(u[j] - ref[j]) / width[j];
        omega[j] =
          p.distance === 'l1'
            ? 1 / Math.max(d, 1e-9)
            : Math.pow(Math.max(d, 1e-9) / Math.max(dmax, 1e-9), Math.max(0, (p.distance === 'linf' ? Math.max(pNorm, 4) : 2) - 2));
      }
    }
    if (viol <= 0.01 * tolMin && outer >= 3 && Math.abs(viol - lastViol) <= 0.01 * tolMin) break;
    if (viol > 0.25 * lastViol) rho = Math.min(rho * 10, 1e12);
    lastViol = viol;
  }
  return u;
}
