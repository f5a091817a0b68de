/**
 * Dense kernels: the only place the engine does matrix products. Ops call these and never
 * loop over matrices themselves, so a faster implementation (WebAssembly SIMD, say) can
 * replace this module without touching any op.
 *
 * Layout: row-major Float64Array. "rows" are points (or point × direction).
 *
 * matmulABt dispatches: products large enough to pay for copying the operands into and out of
 * WebAssembly memory go to the f64x2 SIMD kernel (wasm/kernel.ts, source in assembly/matmul.ts)
 * where the platform has WebAssembly SIMD; everything else, and everything under
 * setKernel('js'), runs the register-blocked JS kernel below.
 *
 * Soundness of the interval code (interval.ts) does not depend on which kernel runs. It adds
 * γ_n·Σ|terms| for each dot product of length n, the bound of Higham §3.1, which holds for the
 * floating-point sum of the n products taken in ANY order (any binary summation tree), with no
 * fused multiply-add. The JS kernel sums k = 0…K−1 left to right; the wasm kernel sums the even
 * and the odd k in the two f64x2 lanes, adds the lanes, then the last term when K is odd. Both
 * are summation trees of ordinary rounded products, so both meet the bound, and their results
 * differ only by rounding. A kernel that used FMA or a wider accumulator would need its own
 * argument; do not add one without it.
 */
import { getWasmKernel } from './wasm/kernel.ts';

/** 'auto': the wasm kernel for large products where available (default); 'js': always the JS kernel. */
export type KernelChoice = 'js' | 'auto';
let kernelChoice: KernelChoice = 'auto';
let lastKernel: 'js' | 'wasm' = 'js';

/** Choose the matmul kernel for the whole process (benchmarks and tests; no environment lookup). */
export function setKernel(k: KernelChoice): void {
  kernelChoice = k;
}
/** Which kernel the last matmulABt call ran (for tests). */
export function lastMatmulKernel(): 'js' | 'wasm' {
  return lastKernel;
}
/** Whether the wasm SIMD kernel loaded on this platform. */
export function wasmKernelAvailable(): boolean {
  return getWasmKernel() !== null;
}

/**
 * Products with rows·K·cols below this run in JS: there the call and the copies into and out of
 * wasm memory (rows·K + cols·K + rows·cols values) cost more than the arithmetic saved.
 * Measured (Node 20, one core, f64): wasm/JS is 0.4–0.8 at 2^6–2^8 (1×8×8, 4×8×8), about 1 at
 * 2^9 (1×16×16, 32×4×4), 1.4–2 at 2^10 (1×32×32, 64×4×4), 3–4 from 2^13, 5.4 at 1024×256×256.
 */
export const WASM_MIN_WORK = 2 ** 10;

/** Whether matmulABt would use the wasm kernel for this shape (under the current setKernel). */
export function usesWasm(rows: number, K: number, cols: number): boolean {
  return kernelChoice === 'auto' && rows * K * cols >= WASM_MIN_WORK && getWasmKernel() !== null;
}

/**
 * C[r, j] = Σ_k A[r, k] · B[j, k] (+ bias[j]):  C = A·Bᵀ (+ bias).
 * A is rows×K, B is cols×K, C is rows×cols. With `accumulate`, C += A·Bᵀ instead (bias ignored).
 * Only the first rows·K, cols·K, cols values of A, B, bias are read and the first rows·cols of C
 * written. Runs the wasm SIMD kernel when usesWasm(rows, K, cols), else matmulABtJs.
 */
export function matmulABt(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  rows: number,
  K: number,
  cols: number,
  bias: Float64Array | null,
  accumulate = false,
): void {
  if (usesWasm(rows, K, cols) && getWasmKernel()!.matmulABt(A, B, C, rows, K, cols, bias, accumulate)) {
    lastKernel = 'wasm';
    return;
  }
  lastKernel = 'js';
  matmulABtJs(A, B, C, rows, K, cols, bias, accumulate);
}

/**
 * The JS kernel of matmulABt (same contract), whatever setKernel says.
 *
 * Register-blocked 4 rows × 2 columns: the eight running sums stay in registers and every
 * load of A and B feeds several multiply-adds. This is the dot-product form, so the dense
 * op stores Wᵀ for the forward pass and W for the backward pass; both read rows contiguously.
 * With `accumulate`, C += A·Bᵀ instead (bias ignored).
 * Intended repeats: the 4×2, 4×1, 1×4 and 1×1 blocks below and matmulABtAcc spell out one
 * dot-product loop several times over (register blocking), and the parameter list is
 * matmulABt's (and wasm/kernel.ts's WasmKernel.matmulABt's): one contract, three entry points.
 */
export function matmulABtJs(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  rows: number,
  K: number,
  cols: number,
  bias: Float64Array | null,
  accumulate = false,
): void {
  if (accumulate) {
    matmulABtAcc(A, B, C, rows, K, cols);
    return;
  }
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = r * K,
      a1 = a0 + K,
      a2 = a1 + K,
      a3 = a2 + K;
    const c0 = r * cols,
      c1 = c0 + cols,
      c2 = c1 + cols,
      c3 = c2 + cols;
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const b0 = j * K,
        b1 = b0 + K;
      let s00 = 0,
        s01 = 0,
        s10 = 0,
        s11 = 0,
        s20 = 0,
        s21 = 0,
        s30 = 0,
        s31 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k],
          x1 = A[a1 + k],
          x2 = A[a2 + k],
          x3 = A[a3 + k];
        const w0 = B[b0 + k],
          w1 = B[b1 + k];
        s00 += x0 * w0;
        s01 += x0 * w1;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s20 += x2 * w0;
        s21 += x2 * w1;
        s30 += x3 * w0;
        s31 += x3 * w1;
      }
      const bj0 = bias === null ? 0 : bias[j],
        bj1 = bias === null ? 0 : bias[j + 1];
      C[c0 + j] = s00 + bj0;
      C[c0 + j + 1] = s01 + bj1;
      C[c1 + j] = s10 + bj0;
      C[c1 + j + 1] = s11 + bj1;
      C[c2 + j] = s20 + bj0;
      C[c2 + j + 1] = s21 + bj1;
      C[c3 + j] = s30 + bj0;
      C[c3 + j + 1] = s31 + bj1;
    }
    for (; j < cols; j++) {
      const b0 = j * K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const w = B[b0 + k];
        s0 += A[a0 + k] * w;
        s1 += A[a1 + k] * w;
        s2 += A[a2 + k] * w;
        s3 += A[a3 + k] * w;
      }
      const bj = bias === null ? 0 : bias[j];
      C[c0 + j] = s0 + bj;
      C[c1 + j] = s1 + bj;
      C[c2 + j] = s2 + bj;
      C[c3 + j] = s3 + bj;
    }
  }
  // leftover rows (all of them at batch 1): one row × 4 columns, four independent sums
  for (; r < rows; r++) {
    const a0 = r * K,
      c0 = r * cols;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const b0 = j * K,
        b1 = b0 + K,
        b2 = b1 + K,
        b3 = b2 + K;
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k];
        s0 += x * B[b0 + k];
        s1 += x * B[b1 + k];
        s2 += x * B[b2 + k];
        s3 += x * B[b3 + k];
      }
      if (bias !== null) {
        s0 += bias[j];
        s1 += bias[j + 1];
        s2 += bias[j + 2];
        s3 += bias[j + 3];
      }
      C[c0 + j] = s0;
      C[c0 + j + 1] = s1;
      C[c0 + j + 2] = s2;
      C[c0 + j + 3] = s3;
    }
    for (; j < cols; j++) {
      const b0 = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * B[b0 + k];
      C[c0 + j] = s + (bias === null ? 0 : bias[j]);
    }
  }
}

/** C += A·Bᵀ (same layout as matmulABt). Used by reverse mode when a node feeds several consumers. */
function matmulABtAcc(A: Float64Array, B: Float64Array, C: Float64Array, rows: number, K: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const a0 = r * K,
      c0 = r * cols;
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const b0 = j * K,
        b1 = b0 + K;
      let s0 = 0,
        s1 = 0;
      for (let k = 0; k < K; k++) {
        const x = A[a0 + k];
        s0 += x * B[b0 + k];
        s1 += x * B[b1 + k];
      }
      C[c0 + j] += s0;
      C[c0 + j + 1] += s1;
    }
    for (; j < cols; j++) {
      const b0 = j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k] * B[b0 + k];
      C[c0 + j] += s;
    }
  }
}

/**
 * C[k, j] += Σ_r A[r, k] · B[r, j]:  C += Aᵀ·B  (A is rows×K, B is rows×cols, C is K×cols).
 * Used for weight gradients (Xᵀ·G), where rows is the batch.
 */
export function matmulAtBAcc(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  rows: number,
  K: number,
  cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const a0 = r * K,
      b0 = r * cols;
    for (let k = 0; k < K; k++) {
      const a = A[a0 + k];
      if (a === 0) continue;
      const c0 = k * cols;
      for (let j = 0; j < cols; j++) C[c0 + j] += a * B[b0 + j];
    }
  }
}

/** out[i] = Σ_r G[r, i]: column sums (bias gradients). Accumulates. */
export function columnSumAcc(G: Float64Array, out: Float64Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const g0 = r * cols;
    for (let j = 0; j < cols; j++) out[j] += G[g0 + j];
  }
}

/** Transpose an r×c row-major matrix into a new c×r one. */
export function transpose(M: Float64Array, r: number, c: number): Float64Array {
  const T = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) T[j * r + i] = M[i * c + j];
  return T;
}
