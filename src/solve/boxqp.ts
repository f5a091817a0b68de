import { cholesky, choleskySolve } from '../numeric/linalg.ts';

/**
 * Exactly solves the box-constrained QP
 *     minimise ½pᵀHp + gᵀp   subject to  l ≤ p ≤ u   (l ≤ 0 ≤ u, H symmetric positive definite)
 * by a primal active-set method (Nocedal & Wright, Numerical Optimization, §16.5): start at
 * the feasible p = 0, solve the equality-constrained problem on the free variables, step to
 * the first blocking bound or release the bound whose multiplier has the wrong sign.
 * Finite termination; n is small. Writes the minimiser into p.
 */
export class BoxQP {
  private readonly H2: Float64Array;
  private readonly rhs: Float64Array;
  private readonly free: Int32Array;
  private readonly state: Int8Array; // 0 free, −1 at lower, +1 at upper
  constructor(readonly n: number) {
    this.H2 = new Float64Array(n * n);
    this.rhs = new Float64Array(n);
    this.free = new Int32Array(n);
    this.state = new Int8Array(n);
  }

  solve(H: Float64Array, g: Float64Array, l: Float64Array, u: Float64Array, p: Float64Array): boolean {
    const n = this.n,
      st = this.state;
    p.fill(0, 0, n);
    for (let i = 0; i < n; i++) st[i] = l[i] >= 0 && u[i] <= 0 ? -1 : 0; // zero-width: fixed
    for (let iter = 0; iter < 20 * n + 20; iter++) {
      // equality-constrained minimiser on the free set
      let nf = 0;
      for (let i = 0; i < n; i++) if (st[i] === 0) this.free[nf++] = i;
      const Hf = this.H2,
        b = this.rhs;
      for (let a = 0; a < nf; a++) {
        const i = this.free[a];
        let s = -g[i];
        for (let k = 0; k < n; k++) if (st[k] !== 0) s -= H[i * n + k] * p[k];
        b[a] = s;
        for (let c = 0; c < nf; c++) Hf[a * nf + c] = H[i * n + this.free[c]];
      }
      if (nf > 0) {
        if (!cholesky(Hf, nf)) return false;
        choleskySolve(Hf, nf, b);
      }
      // feasible?
      let alpha = 1,
        block = -1,
        blockSide = 0;
      for (let a = 0; a < nf; a++) {
        const i = this.free[a];
        const d = b[a] - p[i];
        if (d < 0 && b[a] < l[i]) {
          const t = (l[i] - p[i]) / d;
          if (t < alpha) {
            alpha = t;
            block = i;
            blockSide = -1;
          }
        } else if (d > 0 && b[a] > u[i]) {
          const t = (u[i] - p[i]) / d;
          if (t < alpha) {
            alpha = t;
            block = i;
            blockSide = 1;
          }
        }
      }
      if (block >= 0) {
        for (let a = 0; a < nf; a++) {
          const i = this.free[a];
          p[i] += alpha * (b[a] - p[i]);
        }
        p[block] = blockSide < 0 ? l[block] : u[block];
        st[block] = blockSide as -1 | 1;
        continue;
      }
      for (let a = 0; a < nf; a++) p[this.free[a]] = b[a];
      // multipliers of the active bounds: gradient Hp + g must point out of the box
      let worst = -1,
        worstVal = 0;
      for (let i = 0; i < n; i++) {
        if (st[i] === 0 || (l[i] >= 0 && u[i] <= 0)) continue;
        let gr = g[i];
        for (let k = 0; k < n; k++) gr += H[i * n + k] * p[k];
        const viol = st[i] < 0 ? -gr : gr; // at lower we need gr ≥ 0, at upper gr ≤ 0
        if (viol > worstVal) {
          worstVal = viol;
          worst = i;
        }
      }
      if (worst < 0) return true;
      st[worst] = 0;
    }
    return true;
  }

  /** Which variables ended at a bound: −1 lower, +1 upper, 0 free. */
  activeSet(): Int8Array {
    return this.state;
  }
}
