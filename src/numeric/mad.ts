/**
 * Median absolute deviation, MAD(x) = median(|xᵢ − median(x)|) (Hampel 1974), the robust scale
 * DiCE divides feature distances by (Mothilal et al. 2020, §3; after Wachter et al. 2017).
 */

/** The median of values (NaN for none); the values are not changed. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const h = n >> 1;
  return n % 2 ? s[h] : 0.5 * (s[h - 1] + s[h]);
}

/** MAD of the column `col` of a row-major table with `stride` columns. */
export function medianAbsoluteDeviation(table: ArrayLike<number>, stride = 1, col = 0): number {
  const rows = Math.floor(table.length / stride);
  const x = new Float64Array(rows);
  for (let r = 0; r < rows; r++) x[r] = table[r * stride + col];
  const m = median(x);
  for (let r = 0; r < rows; r++) x[r] = Math.abs(x[r] - m);
  return median(x);
}
