/**
 * The dense kernels (src/graph/kernels.ts): the WebAssembly f64x2 SIMD kernel against a
 * compensated (nearly exact) triple loop, within the honest rounding-error bound that the
 * interval code relies on, γ_n·Σ|terms| per entry (Higham §3.1, any summation order); the
 * dispatcher; and the setKernel('js') escape hatch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  WASM_MIN_WORK,
  lastMatmulKernel,
  matmulABt,
  matmulABtJs,
  setKernel,
  usesWasm,
  wasmKernelAvailable,
} from '../src/graph/kernels.ts';
import { gamma, UNIT_ROUNDOFF } from '../src/graph/round.ts';
import { getWasmKernel } from '../src/graph/wasm/kernel.ts';
import { rng, type Rng } from './util/rng.ts';

afterEach(() => setKernel('auto'));

/** Values of mixed sign and magnitude (2^-8 … 2^8), so sums cancel and rounding shows. */
function randomMatrix(r: Rng, n: number): Float64Array {
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) m[i] = r.uniform(-1, 1) * 2 ** (r.int(17) - 8);
  return m;
}

// Error-free transformations (Ogita, Rump & Oishi 2005) for the reference dot product.
const SPLIT = 134217729; // 2^27 + 1
function twoProdErr(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const ah = c - (c - a),
    al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b),
    bl = b - bh;
  return al * bl - (((p - ah * bh) - al * bh) - ah * bl);
}

/**
 * Reference entry and Σ|terms| for C[i, j] = (c0 +) Σ_k A[i,k]·B[j,k]: Dot2, accurate as if
 * computed in twice the working precision: |ref − exact| ≤ u·|exact| + γ_n²·Σ|terms|.
 */
function reference(A: Float64Array, B: Float64Array, i: number, j: number, K: number, c0: number): [number, number] {
  let s = c0,
    e = 0,
    abs = Math.abs(c0);
  for (let k = 0; k < K; k++) {
    const a = A[i * K + k],
      b = B[j * K + k];
    const p = a * b;
    abs += Math.abs(p);
    const t = s + p;
    const z = t - s;
    e += (s - (t - z)) + (p - z) + twoProdErr(a, b, p);
    s = t;
  }
  return [s + e, abs];
}

/**
 * Every entry of C (or every `rowStep`-th row) within γ_n·Σ|terms| of the exact value, where n
 * counts the K products plus the bias or the accumulated old C, and the reference's own error
 * (u·|ref| + γ_n²·Σ|terms|) is allowed on top.
 */
function expectWithinBound(
  C: Float64Array,
  A: Float64Array,
  B: Float64Array,
  rows: number,
  K: number,
  cols: number,
  c0: (i: number, j: number) => number,
  extraTerm: boolean,
  rowStep = 1,
): void {
  const n = K + (extraTerm ? 1 : 0);
  const g = gamma(Math.max(n, 1));
  let worst = 0;
  for (let i = 0; i < rows; i = i + rowStep < rows || i === rows - 1 ? i + rowStep : rows - 1) {
    for (let j = 0; j < cols; j++) {
      const [ref, abs] = reference(A, B, i, j, K, c0(i, j));
      const err = Math.abs(C[i * cols + j] - ref);
      const bound = g * abs + g * g * abs + 2 * UNIT_ROUNDOFF * Math.abs(ref) + Number.MIN_VALUE * (n + 2);
      if (!(err <= bound)) {
        throw new Error(`C[${i},${j}] = ${C[i * cols + j]}, reference ${ref}: error ${err} > bound ${bound} (${rows}×${K}×${cols})`);
      }
      if (abs > 0) worst = Math.max(worst, err / (g * abs));
    }
    if (i === rows - 1) break;
  }
  expect(worst).toBeLessThanOrEqual(1);
}

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 1, 5],
  [4, 2, 2],
  [5, 3, 3],
  [7, 9, 5],
  [8, 16, 4],
  [9, 17, 7],
  [1, 256, 33],
  [2, 255, 64],
  [13, 31, 3],
  [64, 64, 64],
  [33, 100, 31],
  [129, 5, 130],
  [6, 0, 4],
];

describe('wasm SIMD matmul kernel', () => {
  const wasm = getWasmKernel();

  it('loads on Node 20 (WebAssembly SIMD is available)', () => {
    expect(wasm).not.toBeNull();
    expect(wasmKernelAvailable()).toBe(true);
  });

  it('C = A·Bᵀ (+ bias) within γ_n·Σ|terms| on shapes with every remainder', () => {
    const r = rng(11);
    for (const [rows, K, cols] of SHAPES) {
      for (const withBias of [false, true]) {
        const A = randomMatrix(r, rows * K),
          B = randomMatrix(r, cols * K),
          bias = withBias ? randomMatrix(r, cols) : null;
        const C = new Float64Array(rows * cols).fill(NaN);
        expect(wasm!.matmulABt(A, B, C, rows, K, cols, bias, false)).toBe(true);
        expectWithinBound(C, A, B, rows, K, cols, (_i, j) => (bias ? bias[j] : 0), withBias);
      }
    }
  });

  it('C += A·Bᵀ (accumulate; bias ignored) within γ_{K+1}·Σ|terms|', () => {
    const r = rng(12);
    for (const [rows, K, cols] of SHAPES) {
      const A = randomMatrix(r, rows * K),
        B = randomMatrix(r, cols * K),
        bias = randomMatrix(r, cols);
      const C0 = randomMatrix(r, rows * cols);
      const C = C0.slice();
      expect(wasm!.matmulABt(A, B, C, rows, K, cols, bias, true)).toBe(true);
      expectWithinBound(C, A, B, rows, K, cols, (i, j) => C0[i * cols + j], true);
    }
  });

  it('1024×256×256 (the benchmark layer), with bias, within the bound', () => {
    const r = rng(13);
    const rows = 1024,
      K = 256,
      cols = 256;
    const A = randomMatrix(r, rows * K),
      B = randomMatrix(r, cols * K),
      bias = randomMatrix(r, cols);
    const C = new Float64Array(rows * cols);
    expect(wasm!.matmulABt(A, B, C, rows, K, cols, bias, false)).toBe(true);
    // every 5th row (and the last ones, which hit the leftover-row path only at other shapes)
    expectWithinBound(C, A, B, rows, K, cols, (_i, j) => bias[j], true, 5);
    // every entry agrees with the JS kernel up to rounding: both lie within γ·Σ|terms| of the
    // exact value, so they differ by at most 2γ·Σ|terms| (Σ|terms| computed with |A|, |B|, |bias|,
    // itself rounded, hence the (1 + 2γ) margin)
    const Cjs = new Float64Array(rows * cols),
      S = new Float64Array(rows * cols);
    matmulABtJs(A, B, Cjs, rows, K, cols, bias);
    matmulABtJs(A.map(Math.abs), B.map(Math.abs), S, rows, K, cols, bias.map(Math.abs));
    const g = gamma(K + 1);
    let differ = 0;
    for (let i = 0; i < C.length; i++) {
      const d = Math.abs(C[i] - Cjs[i]);
      if (d > 0) differ++;
      if (!(d <= 2 * g * (1 + 2 * g) * S[i])) throw new Error(`entry ${i}: wasm ${C[i]} vs JS ${Cjs[i]} beyond 2γ·Σ|terms|`);
    }
    expect(differ).toBeGreaterThan(0); // a different summation order really does round differently
  });

  it('reads only the first rows·K / cols·K / cols values, writes only the first rows·cols; memory grows and shrinks back in use', () => {
    const r = rng(14);
    for (const [rows, K, cols] of [
      [300, 200, 100],
      [3, 5, 7],
      [500, 300, 90],
    ] as const) {
      const A = randomMatrix(r, rows * K + 13),
        B = randomMatrix(r, cols * K + 5),
        bias = randomMatrix(r, cols + 3);
      const C = new Float64Array(rows * cols + 9).fill(42);
      expect(wasm!.matmulABt(A, B, C, rows, K, cols, bias, false)).toBe(true);
      for (let i = rows * cols; i < C.length; i++) expect(C[i]).toBe(42);
      const Cjs = new Float64Array(rows * cols);
      matmulABtJs(A, B, Cjs, rows, K, cols, bias);
      for (let i = 0; i < rows * cols; i++) expect(Math.abs(C[i] - Cjs[i])).toBeLessThanOrEqual(1e-9 * (Math.abs(Cjs[i]) + 1));
    }
  });

  it('infinities and NaN propagate as in the JS kernel', () => {
    const rows = 6,
      K = 5,
      cols = 7;
    const r = rng(15);
    const A = randomMatrix(r, rows * K),
      B = randomMatrix(r, cols * K);
    A[0] = Infinity;
    A[K + 2] = -Infinity;
    A[2 * K + 1] = NaN;
    A[3 * K] = Infinity;
    A[3 * K + 1] = -Infinity;
    const C = new Float64Array(rows * cols),
      Cjs = new Float64Array(rows * cols);
    wasm!.matmulABt(A, B, C, rows, K, cols, null, false);
    matmulABtJs(A, B, Cjs, rows, K, cols, null);
    for (let i = 0; i < rows * cols; i++) {
      if (Number.isFinite(Cjs[i])) expect(Number.isFinite(C[i])).toBe(true);
      else expect(C[i]).toBe(Cjs[i]); // ±Infinity or NaN, same one (toBe treats NaN as equal)
    }
  });
});

describe('matmulABt dispatch', () => {
  it('uses wasm at and above WASM_MIN_WORK, JS below it', () => {
    const r = rng(21);
    const big: [number, number, number] = [16, 16, 4]; // 1024
    const small: [number, number, number] = [4, 8, 8]; // 256
    expect(big[0] * big[1] * big[2]).toBeGreaterThanOrEqual(WASM_MIN_WORK);
    expect(small[0] * small[1] * small[2]).toBeLessThan(WASM_MIN_WORK);
    for (const [rows, K, cols] of [big, small, [1024, 256, 256] as [number, number, number]]) {
      const A = randomMatrix(r, rows * K),
        B = randomMatrix(r, cols * K);
      const C = new Float64Array(rows * cols);
      matmulABt(A, B, C, rows, K, cols, null);
      const expected = rows * K * cols >= WASM_MIN_WORK ? 'wasm' : 'js';
      expect(lastMatmulKernel()).toBe(expected);
      expect(usesWasm(rows, K, cols)).toBe(expected === 'wasm');
      expectWithinBound(C, A, B, rows, K, cols, () => 0, false, rows > 64 ? 97 : 1);
    }
  });

  it("setKernel('js') gives exactly the JS kernel's results, for every path (bias, accumulate)", () => {
    const r = rng(22);
    setKernel('js');
    for (const [rows, K, cols] of [...SHAPES, [200, 64, 48] as [number, number, number]]) {
      for (const mode of ['plain', 'bias', 'acc'] as const) {
        const A = randomMatrix(r, rows * K),
          B = randomMatrix(r, cols * K),
          bias = mode === 'bias' ? randomMatrix(r, cols) : null,
          C0 = randomMatrix(r, rows * cols);
        const C = C0.slice(),
          Cjs = C0.slice();
        matmulABt(A, B, C, rows, K, cols, bias, mode === 'acc');
        expect(lastMatmulKernel()).toBe('js');
        matmulABtJs(A, B, Cjs, rows, K, cols, bias, mode === 'acc');
        expect(Array.from(C)).toEqual(Array.from(Cjs));
      }
    }
    expect(usesWasm(1024, 256, 256)).toBe(false);
    setKernel('auto');
    expect(usesWasm(1024, 256, 256)).toBe(true);
  });

  it('the JS kernel itself stays within γ_n·Σ|terms| too (both sides of the dispatch are sound)', () => {
    const r = rng(23);
    for (const [rows, K, cols] of SHAPES) {
      const A = randomMatrix(r, rows * K),
        B = randomMatrix(r, cols * K),
        bias = randomMatrix(r, cols);
      const C = new Float64Array(rows * cols);
      matmulABtJs(A, B, C, rows, K, cols, bias);
      expectWithinBound(C, A, B, rows, K, cols, (_i, j) => bias[j], true);
    }
  });
});
