/**
 * Exactly solves the QP with general linear constraints
 *     minimise ½pᵀHp + gᵀp   subject to  l ≤ p ≤ u,   cl_k ≤ a_k·p ≤ cu_k  (k < K)
 * (H symmetric positive definite; cl_k = cu_k = 0 for an equality row; l ≤ 0 ≤ u and
 * cl ≤ 0 ≤ cu, so p = 0 is feasible) by the primal active-set method (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Algorithm 16.3): from the feasible p = 0, solve the
 * equality-constrained QP on the working set (bounds held fix their variable; general rows
 * enter the KKT system [H_FF A_WFᵀ; A_WF 0]), step to the first blocking constraint or, at the
 * working set's minimiser, drop the constraint whose multiplier has the wrong sign. Every
 * iterate is feasible, so even a stop at the iteration cap returns a feasible p.
 * The box-only case is BoxQP (boxqp.ts); this one is used when the query has linear constraints
 * among its inputs (problem/constraints.ts).
 */
export class LinQP {
  private st: Int8Array; // per variable: 0 free, −1 at lower, +1 at upper, 2 fixed (l = u)
  private inW: Int8Array; // per row: 0 out, −1 at cl, +1 at cu, 2 equality
  private W: Int32Array;
  private F: Int32Array;
  private M = new Float64Array(0);
  private b = new Float64Array(0);
  private piv = new Int32Array(0);
  private d: Float64Array;
  private Hp: Float64Array;
  constructor(
    readonly n: number,
    readonly K: number,
  ) {
    this.st = new Int8Array(n);
    this.inW = new Int8Array(K);
    this.W = new Int32Array(K);
    this.F = new Int32Array(n);
    this.d = new Float64Array(n);
    this.Hp = new Float64Array(n);
    this.grow(n + K);
  }

  private grow(s: number): void {
    if (this.b.length >= s) return;
    this.M = new Float64Array(s * s);
    this.b = new Float64Array(s);
    this.piv = new Int32Array(s);
  }

  /** Writes the minimiser (or, at the iteration cap, the last feasible iterate) into p. False: a singular KKT system. */
  solve(
    H: Float64Array,
    g: Float64Array,
    l: ArrayLike<number>,
    u: ArrayLike<number>,
    A: Float64Array,
    cl: ArrayLike<number>,
    cu: ArrayLike<number>,
    p: Float64Array,
  ): boolean {
    const { n, K, st, inW, W, F, d, Hp } = this;
    p.fill(0, 0, n);
    let nw = 0;
    for (let j = 0; j < n; j++) st[j] = l[j] >= 0 && u[j] <= 0 ? 2 : 0;
    for (let k = 0; k < K; k++) {
      inW[k] = cl[k] === cu[k] ? 2 : 0;
      if (inW[k] === 2) W[nw++] = k;
    }
    const cap = 30 * (n + K) + 30;
    for (let iter = 0; iter < cap; iter++) {
      let nf = 0;
      for (let j = 0; j < n; j++) if (st[j] === 0) F[nf++] = j;
      // Hp + g
      for (let i = 0; i < n; i++) {
        let s = g[i];
        for (let c = 0; c < n; c++) s += H[i * n + c] * p[c];
        Hp[i] = s;
      }
      const s = nf + nw;
      const M = this.M,
        b = this.b;
      for (let a = 0; a < nf; a++) {
        const i = F[a];
        for (let c = 0; c < nf; c++) M[a * s + c] = H[i * n + F[c]];
        for (let r = 0; r < nw; r++) M[a * s + nf + r] = M[(nf + r) * s + a] = A[W[r] * n + i];
        b[a] = -Hp[i];
      }
      for (let r = 0; r < nw; r++) {
        for (let c = 0; c < nw; c++) M[(nf + r) * s + nf + c] = 0;
        b[nf + r] = 0;
      }
      if (s > 0 && !luSolve(M, s, b, this.piv)) return false;
      d.fill(0);
      let dmax = 0;
      for (let a = 0; a < nf; a++) {
        d[F[a]] = b[a];
        dmax = Math.max(dmax, Math.abs(b[a]));
      }
      // step to the working set's minimiser, or to the first blocking constraint
      let alpha = 1,
        blockVar = -1,
        blockRow = -1,
        side = 0;
      if (dmax > 0) {
        for (let a = 0; a < nf; a++) {
          const j = F[a],
            dj = d[j];
          if (dj < 0) {
            const t = Math.max(0, (l[j] - p[j]) / dj);
            if (t < alpha) {
              alpha = t;
              blockVar = j;
              blockRow = -1;
              side = -1;
            }
          } else if (dj > 0) {
            const t = Math.max(0, (u[j] - p[j]) / dj);
            if (t < alpha) {
              alpha = t;
              blockVar = j;
              blockRow = -1;
              side = 1;
            }
          }
        }
        for (let k = 0; k < K; k++) {
          if (inW[k] !== 0) continue;
          let ad = 0,
            av = 0,
            an = 0;
          for (let j = 0; j < n; j++) {
            const a = A[k * n + j];
            ad += a * d[j];
            av += a * p[j];
            an += Math.abs(a * d[j]);
          }
          if (!(Math.abs(ad) > 1e-13 * an)) continue; // parallel to the row's face (round-off)
          if (ad < 0 && cl[k] > -Infinity) {
            const t = Math.max(0, (cl[k] - av) / ad);
            if (t < alpha) {
              alpha = t;
              blockRow = k;
              blockVar = -1;
              side = -1;
            }
          } else if (ad > 0 && cu[k] < Infinity) {
            const t = Math.max(0, (cu[k] - av) / ad);
            if (t < alpha) {
              alpha = t;
              blockRow = k;
              blockVar = -1;
              side = 1;
            }
          }
        }
      }
      if (blockVar >= 0 || blockRow >= 0) {
        for (let a = 0; a < nf; a++) p[F[a]] += alpha * d[F[a]];
        if (blockVar >= 0) {
          p[blockVar] = side < 0 ? l[blockVar] : u[blockVar];
          st[blockVar] = side as -1 | 1;
        } else {
          inW[blockRow] = side as -1 | 1;
          W[nw++] = blockRow;
        }
        continue;
      }
      for (let a = 0; a < nf; a++) p[F[a]] += d[F[a]];
      // multipliers at the minimiser: Hp + g + A_Wᵀμ + Σ ν_j e_j = 0; a lower-side constraint
      // needs μ ≤ 0 (ν ≤ 0), an upper-side one μ ≥ 0; drop the worst violator (per unit row norm)
      for (let i = 0; i < n; i++) {
        let v = g[i];
        for (let c = 0; c < n; c++) v += H[i * n + c] * p[c];
        for (let r = 0; r < nw; r++) v += A[W[r] * n + i] * b[nf + r];
        Hp[i] = v; // the bound multipliers are ν = −Hp
      }
      let worst = 0,
        dropVar = -1,
        dropAt = -1;
      for (let j = 0; j < n; j++) {
        if (st[j] !== -1 && st[j] !== 1) continue;
        const nu = -Hp[j];
        const viol = st[j] < 0 ? nu : -nu;
        if (viol > worst) {
          worst = viol;
          dropVar = j;
          dropAt = -1;
        }
      }
      for (let r = 0; r < nw; r++) {
        const k = W[r];
        if (inW[k] === 2) continue;
        let an = 0;
        for (let j = 0; j < n; j++) an += A[k * n + j] * A[k * n + j];
        const mu = b[nf + r];
        const viol = (inW[k] < 0 ? mu : -mu) / Math.sqrt(an || 1);
        if (viol > worst) {
          worst = viol;
          dropAt = r;
          dropVar = -1;
        }
      }
      // a violation at round-off level of the gradient does not count
      let gs = 0;
      for (let i = 0; i < n; i++) gs = Math.max(gs, Math.abs(g[i]));
      if (worst <= 1e-14 * gs || (dropVar < 0 && dropAt < 0)) return true;
      if (dropVar >= 0) st[dropVar] = 0;
      else {
        inW[W[dropAt]] = 0;
        W[dropAt] = W[--nw];
      }
    }
    return true;
  }
}

/** In-place Gaussian elimination with partial pivoting: M (s × s, row stride s) x = b; b ← x. False when singular. */
export function luSolve(M: Float64Array, s: number, b: Float64Array, piv: Int32Array): boolean {
  let scale = 0;
  for (let i = 0; i < s * s; i++) scale = Math.max(scale, Math.abs(M[i]));
  const tiny = 1e-14 * scale;
  for (let c = 0; c < s; c++) {
    let best = c,
      bv = Math.abs(M[c * s + c]);
    for (let r = c + 1; r < s; r++) {
      const v = Math.abs(M[r * s + c]);
      if (v > bv) {
        bv = v;
        best = r;
      }
    }
    if (!(bv > tiny)) return false;
    piv[c] = best;
    if (best !== c) {
      for (let k = 0; k < s; k++) {
        const t = M[c * s + k];
        M[c * s + k] = M[best * s + k];
        M[best * s + k] = t;
      }
      const t = b[c];
      b[c] = b[best];
      b[best] = t;
    }
    const inv = 1 / M[c * s + c];
    for (let r = c + 1; r < s; r++) {
      const f = M[r * s + c] * inv;
      if (f === 0) continue;
      for (let k = c; k < s; k++) M[r * s + k] -= f * M[c * s + k];
      b[r] -= f * b[c];
    }
  }
  for (let c = s - 1; c >= 0; c--) {
    let v = b[c];
    for (let k = c + 1; k < s; k++) v -= M[c * s + k] * b[k];
    b[c] = v / M[c * s + c];
  }
  return true;
}
