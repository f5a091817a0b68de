/**
 * Interval kernels shared by ops: a sound interval matrix product and element-wise interval
 * helpers. Everything is rounded outward (round.ts).
 */
import { matmulABt } from './kernels.ts';
import { gamma, nextDown, nextUp } from './round.ts';
import { Scratch } from './ops/types.ts';

export class IntervalMatmulScratch {
  readonly mid = new Scratch();
  readonly rad = new Scratch();
  readonly absMid = new Scratch();
  readonly yMid = new Scratch();
  readonly yRad = new Scratch();
  readonly yAbs = new Scratch();
}

/**
 * Encloses { x·W + b : lo ≤ x ≤ hi } row by row, for a point matrix W (given as Wᵀ, cols×K,
 * and |Wᵀ|). Midpoint–radius form (Rump, "Fast and parallel interval arithmetic", BIT 1999):
 *   y ∈ c·W + b ± r·|W|,  with c = (lo+hi)/2, r = (hi−lo)/2,
 * computed by three ordinary products. The rounding error of each floating-point dot product
 * of length n is at most γ_n·Σ|terms| (Higham §3.1), which is added to the radius:
 *   e = (1+2γ)·r·|W| + γ·((1+2γ)·|c|·|W| + |b|) + tiny,   γ = γ_{K+4}.
 * A row with an infinite or NaN bound gives (−∞, ∞) (or NaN) in every column.
 */
export function intervalMatmul(
  lo: Float64Array,
  hi: Float64Array,
  rows: number,
  K: number,
  Wt: Float64Array,
  absWt: Float64Array,
  bias: Float64Array | null,
  cols: number,
  yLo: Float64Array,
  yHi: Float64Array,
  s: IntervalMatmulScratch,
): void {
  const n = rows * K;
  const c = s.mid.get(n),
    r = s.rad.get(n),
    ac = s.absMid.get(n);
  for (let i = 0; i < n; i++) {
    const l = lo[i],
      h = hi[i];
    const m = 0.5 * l + 0.5 * h;
    c[i] = m;
    ac[i] = Math.abs(m);
    r[i] = nextUp(Math.max(h - m, m - l));
  }
  const m2 = rows * cols;
  const yMid = s.yMid.get(m2),
    yRad = s.yRad.get(m2),
    yAbs = s.yAbs.get(m2);
  matmulABt(c, Wt, yMid, rows, K, cols, bias);
  matmulABt(r, absWt, yRad, rows, K, cols, null);
  matmulABt(ac, absWt, yAbs, rows, K, cols, null);
  const g = gamma(K + 4);
  const tiny = (K + 4) * Number.MIN_VALUE;
  for (let row = 0; row < rows; row++) {
    let bad = false,
      nan = false;
    for (let k = 0; k < K; k++) {
      const l = lo[row * K + k],
        h = hi[row * K + k];
      if (l !== l || h !== h) nan = true;
      else if (!Number.isFinite(l) || !Number.isFinite(h)) bad = true;
    }
    const o = row * cols;
    if (nan || bad) {
      for (let j = 0; j < cols; j++) {
        yLo[o + j] = nan ? NaN : -Infinity;
        yHi[o + j] = nan ? NaN : Infinity;
      }
      continue;
    }
    for (let j = 0; j < cols; j++) {
      const b = bias === null ? 0 : Math.abs(bias[j]);
      const e = nextUp((1 + 2 * g) * yRad[o + j] + g * ((1 + 2 * g) * yAbs[o + j] + b) + tiny);
      const m = yMid[o + j];
      yLo[o + j] = nextDown(m - e);
      yHi[o + j] = nextUp(m + e);
    }
  }
}
