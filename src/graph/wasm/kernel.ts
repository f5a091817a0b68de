/**
 * The WebAssembly SIMD dense kernel (assembly/matmul.ts, compiled by scripts/build-wasm.mjs into
 * matmul.wasm.ts as base64). Loaded synchronously on first use: new WebAssembly.Module /
 * Instance is fine for a module this small in Node and in browsers' workers and main threads
 * (the 4 KiB synchronous-compile limit of some browsers' main threads is not reached). Where
 * WebAssembly or its SIMD is missing, compiling throws and getWasmKernel() returns null; the
 * JS kernel is then used.
 *
 * The kernel works on its own linear memory: A, B, bias (and C when accumulating) are copied in,
 * C is copied out. The memory grows on demand and is kept for later calls.
 */
import { MATMUL_WASM_BASE64 } from './matmul.wasm.ts';

type MatmulFn = (a: number, b: number, c: number, bias: number, rows: number, K: number, cols: number, acc: number) => void;

export interface WasmKernel {
  /**
   * C = A·Bᵀ (+ bias), or C += A·Bᵀ with `accumulate`; same contract as kernels.ts matmulABt.
   * Returns false (and leaves C untouched) when the operands do not fit in a wasm32 memory.
   */
  matmulABt(
    A: Float64Array,
    B: Float64Array,
    C: Float64Array,
    rows: number,
    K: number,
    cols: number,
    bias: Float64Array | null,
    accumulate: boolean,
  ): boolean;
}

const PAGE = 65536;
/** Stay well under the 4 GiB that wasm32 addresses (and under what engines let a memory grow to). */
const MAX_BYTES = 2 ** 31;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instantiate(): WasmKernel | null {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return null;
  let memory: WebAssembly.Memory;
  let fn: MatmulFn;
  let base: number;
  try {
    const mod = new WebAssembly.Module(decodeBase64(MATMUL_WASM_BASE64));
    const inst = new WebAssembly.Instance(mod, {});
    const ex = inst.exports as { memory: WebAssembly.Memory; matmulABt: MatmulFn; heapBase: () => number };
    memory = ex.memory;
    fn = ex.matmulABt;
    base = ex.heapBase();
  } catch {
    return null; // no WebAssembly SIMD (or a compile / link failure): the JS kernel is used
  }
  let f64 = new Float64Array(memory.buffer);

  /** Make the memory at least `bytes` long; false if it cannot grow that far. */
  function ensure(bytes: number): boolean {
    if (bytes > MAX_BYTES) return false;
    if (bytes > memory.buffer.byteLength) {
      const pages = Math.ceil((bytes - memory.buffer.byteLength) / PAGE);
      try {
        memory.grow(pages);
      } catch {
        return false;
      }
    }
    if (f64.buffer !== memory.buffer) f64 = new Float64Array(memory.buffer);
    return true;
  }

  return {
    matmulABt(A, B, C, rows, K, cols, bias, accumulate) {
      const nA = rows * K,
        nB = cols * K,
        nC = rows * cols,
        nBias = bias !== null && !accumulate ? cols : 0;
      // byte offsets, each 16-aligned (base is 16-aligned; counts rounded up to even)
      const oA = base,
        oB = oA + 8 * (nA + (nA & 1)),
        oBias = oB + 8 * (nB + (nB & 1)),
        oC = oBias + 8 * (nBias + (nBias & 1)),
        end = oC + 8 * nC;
      if (!ensure(end)) return false;
      const m = f64;
      m.set(A.length === nA ? A : A.subarray(0, nA), oA >>> 3);
      m.set(B.length === nB ? B : B.subarray(0, nB), oB >>> 3);
      if (nBias > 0) m.set(bias!.length === cols ? bias! : bias!.subarray(0, cols), oBias >>> 3);
      if (accumulate) m.set(C.length === nC ? C : C.subarray(0, nC), oC >>> 3);
      fn(oA, oB, oC, nBias > 0 ? oBias : 0, rows, K, cols, accumulate ? 1 : 0);
      C.set(m.subarray(oC >>> 3, (oC >>> 3) + nC));
      return true;
    },
  };
}

let cached: WasmKernel | null | undefined;

/** The wasm kernel, or null where WebAssembly SIMD is unavailable. Instantiated once, lazily. */
export function getWasmKernel(): WasmKernel | null {
  if (cached === undefined) cached = instantiate();
  return cached;
}
