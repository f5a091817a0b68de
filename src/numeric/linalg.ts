/**
 * Small dense linear algebra for the solvers (n = number of unknowns, usually < 50):
 * Cholesky and singular values by one-sided Jacobi.
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
