/**
 * Sample statistics of a table of rows: the mean and covariance, a bounded uniform sample of
 * the rows (reservoir sampling), and standard normal draws for sampling a Gaussian.
 */

/**
 * Mean and unbiased covariance (n − 1 divisor; 0 for a single row) of `rows` rows × `d` columns
 * (row-major), by Welford's one-pass update generalised to co-moments (Welford 1962,
 * Technometrics 4; the covariance form as in Chan, Golub & LeVeque 1983): no cancellation from
 * Σx² − n·x̄². Returns the mean (d) and the covariance (d×d, row-major).
 */
export function meanCovariance(X: Float64Array, rows: number, d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  const M = new Float64Array(d * d);
  const delta = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const inv = 1 / (r + 1);
    for (let i = 0; i < d; i++) {
      delta[i] = X[r * d + i] - mean[i];
      mean[i] += delta[i] * inv;
    }
    // M += δ_old · (x − mean_new)ᵀ
    for (let i = 0; i < d; i++) {
      const di = delta[i];
      for (let j = 0; j < d; j++) M[i * d + j] += di * (X[r * d + j] - mean[j]);
    }
  }
  const cov = new Float64Array(d * d);
  if (rows > 1) for (let k = 0; k < d * d; k++) cov[k] = M[k] / (rows - 1);
  // symmetrise (the update is symmetric in exact arithmetic only)
  for (let i = 0; i < d; i++)
    for (let j = 0; j < i; j++) {
      const a = 0.5 * (cov[i * d + j] + cov[j * d + i]);
      cov[i * d + j] = cov[j * d + i] = a;
    }
  return { mean, cov };
}

/**
 * Indices of a uniform sample of min(k, rows) of `rows` items, in one pass: Vitter's Algorithm R
 * (Vitter 1985, "Random sampling with a reservoir", ACM TOMS 11(1)): keep the first k, then item
 * t (0-based, t ≥ k) replaces a random slot with probability k/(t + 1). Every item ends in the
 * sample with probability k/rows. Ascending order.
 */
export function reservoirIndices(rows: number, k: number, rand: () => number): number[] {
  const m = Math.min(rows, Math.max(0, k));
  const res: number[] = [];
  for (let t = 0; t < m; t++) res.push(t);
  for (let t = m; t < rows; t++) {
    const s = Math.floor(rand() * (t + 1));
    if (s < m) res[s] = t;
  }
  return res.sort((a, b) => a - b);
}

/** Standard normal draws into out[off .. off+count) by the Box–Muller transform (Box & Muller 1958). */
export function gaussians(rand: () => number, out: Float64Array, off: number, count: number): void {
  for (let i = 0; i < count; i += 2) {
    const u1 = 1 - rand(); // (0, 1]: log is finite
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[off + i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[off + i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}
