/**
 * The damped Gauss–Newton step in its dual (minimum-norm) form. For k residual rows A (k × n,
 * the Jacobian rows of the residuals b), a diagonal scaling S = diag(D²) and damping λ > 0,
 * the push-through identity
 *     (AᵀA + λS)⁻¹Aᵀb = S⁻¹Aᵀ(AS⁻¹Aᵀ + λI)⁻¹b
 * turns the n×n normal equations into a k×k solve (Nocedal & Wright, Numerical Optimization,
 * §10.3; Levenberg 1944, Marquardt 1963). With λ → 0 it is the minimum-norm Gauss–Newton step,
 * the least change of the variables that zeroes the linearised residuals.
 *
 * Used by bounded LM on many unknowns (solve/iterate/descents.ts: the dual projected descent,
 * S = Moré's scaling, variables held at a bound left out) and by the MILP path's polish of a
 * point into its target bands (certify/milp/polish.ts: S = I, λ relative to the Gram diagonal).
 */
import { cholesky, choleskySolve } from './linalg.ts';

export interface DualStepInput {
  /** Jacobian rows; row a starts at base + (rows ? rows[a] : a)·n. */
  J: Float64Array;
  base: number;
  rows: ArrayLike<number> | null;
  k: number;
  n: number;
  /** Right-hand side b (k values from bOff). */
  b: Float64Array;
  bOff: number;
  /** Variables that move (1) or stay (0); null: all move. */
  free: Uint8Array | null;
  /** Diagonal scaling D (n values from dOff), S = D²; null: S = I. */
  D: Float64Array | null;
  dOff: number;
  /** λ = lambda + relative·(trace(AS⁻¹Aᵀ)/k); relative 0 leaves λ = lambda. */
  lambda: number;
  relative: number;
}

/** Workspace for dualGaussNewton, grown as needed. */
export class DualGaussNewton {
  private G = new Float64Array(0);
  private w = new Float64Array(0);

  /**
   * Writes d = S⁻¹Aᵀ(AS⁻¹Aᵀ + λI)⁻¹b into dir (n values; 0 where the variable is not free).
   * Returns false when the damped Gram matrix is not numerically positive definite.
   */
  solve(q: DualStepInput, dir: Float64Array): boolean {
    const { J, base, rows, k, n, b, bOff, free, D, dOff } = q;
    if (this.G.length < k * k) this.G = new Float64Array(k * k);
    if (this.w.length < k) this.w = new Float64Array(k);
    const G = this.G,
      w = this.w;
    let trace = 0;
    for (let a = 0; a < k; a++) {
      const oa = base + (rows ? rows[a] : a) * n;
      for (let c = 0; c <= a; c++) {
        const oc = base + (rows ? rows[c] : c) * n;
        let s = 0;
        if (D) {
          for (let j = 0; j < n; j++) if (!free || free[j]) s += (J[oa + j] * J[oc + j]) / (D[dOff + j] * D[dOff + j]);
        } else for (let j = 0; j < n; j++) if (!free || free[j]) s += J[oa + j] * J[oc + j];
        G[a * k + c] = G[c * k + a] = s;
      }
      trace += G[a * k + a];
      w[a] = b[bOff + a];
    }
    const lambda = q.relative === 0 ? q.lambda : q.relative * (trace / k) + q.lambda;
    for (let a = 0; a < k; a++) G[a * k + a] += lambda;
    if (!cholesky(G, k)) return false;
    choleskySolve(G, k, w);
    for (let j = 0; j < n; j++) {
      if (free && !free[j]) {
        dir[j] = 0;
        continue;
      }
      let s = 0;
      for (let a = 0; a < k; a++) s += J[base + (rows ? rows[a] : a) * n + j] * w[a];
      dir[j] = D ? s / (D[dOff + j] * D[dOff + j]) : s;
    }
    return true;
  }
}
