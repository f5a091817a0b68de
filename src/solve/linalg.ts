/**
 * Small dense linear algebra for the solvers (n = number of unknowns, usually < 50):
 * Cholesky, singular values by one-sided Jacobi, and an exactly solved box-constrained
 * quadratic program (the bounded Levenberg–Marquardt subproblem).
 */

/**
 * In-place Cholesky of the SPD matrix A (n×n, row-major, only the lower triangle is read).
 * Returns false if A is not numerically positive definite.
 */
export function cholesky(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    A[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / l;
    }
  }
  return true;
}

/** Solve L·Lᵀ·x = b given the Cholesky factor L (lower triangle of A); b is overwritten by x. */
export function choleskySolve(L: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * b[k];
    b[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
}

/**
 * Singular values of the m×n matrix A (row-major), descending, by one-sided Jacobi
 * (Hestenes 1958; Demmel & Veselić 1992): rotate column pairs until orthogonal, then the
 * column norms are the singular values. Accurate for small singular values too, which the
 * continuum-dimension test needs.
 */
export function singularValues(A: Float64Array, m: number, n: number): Float64Array {
  // work on the orientation with fewer columns
  let rows = m,
    cols = n;
  let M: Float64Array;
  if (n > m) {
    rows = n;
    cols = m;
    M = new Float64Array(rows * cols);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) M[j * cols + i] = A[i * n + j];
  } else M = A.slice(0, m * n);
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < cols - 1; p++) {
      for (let q = p + 1; q < cols; q++) {
        let a = 0,
          b = 0,
          c = 0;
        for (let i = 0; i < rows; i++) {
          const x = M[i * cols + p],
            y = M[i * cols + q];
          a += x * x;
          b += y * y;
          c += x * y;
        }
        if (c === 0 || Math.abs(c) <= 1e-15 * Math.sqrt(a * b)) continue;
        off = Math.max(off, Math.abs(c) / Math.sqrt(a * b));
        const zeta = (b - a) / (2 * c);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t),
          sn = cs * t;
        for (let i = 0; i < rows; i++) {
          const x = M[i * cols + p],
            y = M[i * cols + q];
          M[i * cols + p] = cs * x - sn * y;
          M[i * cols + q] = sn * x + cs * y;
        }
      }
    }
    if (off < 1e-15) break;
  }
  const s = new Float64Array(cols);
  for (let j = 0; j < cols; j++) {
    let t = 0;
    for (let i = 0; i < rows; i++) t += M[i * cols + j] * M[i * cols + j];
    s[j] = Math.sqrt(t);
  }
  return s.sort().reverse();
}

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

/** Halton sequence point i (1-based recommended) in dimension d, coordinate in [0,1). */
export function halton(i: number, base: number): number {
  let f = 1,
    r = 0;
  while (i > 0) {
    f /= base;
    r += f * (i % base);
    i = Math.floor(i / base);
  }
  return r;
}

export const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113];

/** Deterministic PRNG (mulberry32) for seeds; quasi-random starts use Halton with a seeded shift. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
