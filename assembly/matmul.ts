// AssemblyScript source of the WebAssembly SIMD dense kernel (see src/graph/wasm/kernel.ts).
// Build: `npm run build:wasm` (scripts/build-wasm.mjs) → src/graph/wasm/matmul.wasm.ts.
//
// C[r, j] = Σ_k A[r, k] · B[j, k] (+ bias[j]), or C[r, j] += Σ_k A[r, k] · B[j, k].
// All matrices are row-major f64 at byte addresses in this module's linear memory, which the
// JS side fills. A is rows×K, B is cols×K, C is rows×cols.
//
// Dot-product form with f64x2 along K: lane 0 sums the even k, lane 1 the odd k, and the two
// lanes are added at the end (plus the scalar tail when K is odd). That is one particular
// summation order of the K products; the rounding-error bound γ_K·Σ|a_k·b_k| holds for every
// order, so the interval code's bound is unchanged. No fused multiply-add is used (WebAssembly
// has none outside relaxed SIMD): every product and sum is an ordinary rounded f64 operation.
//
// Register blocking: 4 rows × 2 columns (8 v128 sums + 4 A loads + 2 B loads = 14 vector
// registers, within the 16 that x86-64 offers), then 4 rows × 1 column for a leftover column,
// and 1 row × 4 columns / 1 × 1 for the leftover rows.

/** First free byte after static data, 16-aligned: the JS side puts its matrices from here. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}

// @ts-ignore: decorator
@inline
function hsum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// @ts-ignore: decorator
@inline
function put(c: usize, s: f64, bias: usize, j: i32, acc: bool): void {
  if (acc) {
    store<f64>(c, load<f64>(c) + s);
  } else if (bias != 0) {
    store<f64>(c, s + load<f64>(bias + (<usize>j << 3)));
  } else {
    store<f64>(c, s);
  }
}

/**
 * a, b, c, bias: byte addresses (bias 0 for none). acc ≠ 0: C += A·Bᵀ and bias is ignored.
 */
export function matmulABt(a: usize, b: usize, c: usize, bias: usize, rows: i32, K: i32, cols: i32, acc: i32): void {
  const accB = acc != 0;
  const bias_ = accB ? <usize>0 : bias;
  const rowBytes = <usize>K << 3;
  const cRowBytes = <usize>cols << 3;
  const K2 = <usize>(K & ~1) << 3; // bytes covered by the f64x2 loop
  const odd = (K & 1) != 0;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a0 = a + <usize>r * rowBytes;
    const a1 = a0 + rowBytes;
    const a2 = a1 + rowBytes;
    const a3 = a2 + rowBytes;
    const c0 = c + <usize>r * cRowBytes;
    const c1 = c0 + cRowBytes;
    const c2 = c1 + cRowBytes;
    const c3 = c2 + cRowBytes;
    let j = 0;
    for (; j + 2 <= cols; j += 2) {
      const b0 = b + <usize>j * rowBytes;
      const b1 = b0 + rowBytes;
      let s00 = f64x2.splat(0), s01 = f64x2.splat(0);
      let s10 = f64x2.splat(0), s11 = f64x2.splat(0);
      let s20 = f64x2.splat(0), s21 = f64x2.splat(0);
      let s30 = f64x2.splat(0), s31 = f64x2.splat(0);
      for (let o: usize = 0; o < K2; o += 16) {
        const w0 = v128.load(b0 + o);
        const w1 = v128.load(b1 + o);
        const x0 = v128.load(a0 + o);
        s00 = f64x2.add(s00, f64x2.mul(x0, w0));
        s01 = f64x2.add(s01, f64x2.mul(x0, w1));
        const x1 = v128.load(a1 + o);
        s10 = f64x2.add(s10, f64x2.mul(x1, w0));
        s11 = f64x2.add(s11, f64x2.mul(x1, w1));
        const x2 = v128.load(a2 + o);
        s20 = f64x2.add(s20, f64x2.mul(x2, w0));
        s21 = f64x2.add(s21, f64x2.mul(x2, w1));
        const x3 = v128.load(a3 + o);
        s30 = f64x2.add(s30, f64x2.mul(x3, w0));
        s31 = f64x2.add(s31, f64x2.mul(x3, w1));
      }
      let t00 = hsum(s00), t01 = hsum(s01), t10 = hsum(s10), t11 = hsum(s11);
      let t20 = hsum(s20), t21 = hsum(s21), t30 = hsum(s30), t31 = hsum(s31);
      if (odd) {
        const w0 = load<f64>(b0 + K2), w1 = load<f64>(b1 + K2);
        const x0 = load<f64>(a0 + K2), x1 = load<f64>(a1 + K2);
        const x2 = load<f64>(a2 + K2), x3 = load<f64>(a3 + K2);
        t00 += x0 * w0; t01 += x0 * w1;
        t10 += x1 * w0; t11 += x1 * w1;
        t20 += x2 * w0; t21 += x2 * w1;
        t30 += x3 * w0; t31 += x3 * w1;
      }
      const cj = <usize>j << 3;
      put(c0 + cj, t00, bias_, j, accB); put(c0 + cj + 8, t01, bias_, j + 1, accB);
      put(c1 + cj, t10, bias_, j, accB); put(c1 + cj + 8, t11, bias_, j + 1, accB);
      put(c2 + cj, t20, bias_, j, accB); put(c2 + cj + 8, t21, bias_, j + 1, accB);
      put(c3 + cj, t30, bias_, j, accB); put(c3 + cj + 8, t31, bias_, j + 1, accB);
    }
    for (; j < cols; j++) {
      const b0 = b + <usize>j * rowBytes;
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
      for (let o: usize = 0; o < K2; o += 16) {
        const w = v128.load(b0 + o);
        s0 = f64x2.add(s0, f64x2.mul(v128.load(a0 + o), w));
        s1 = f64x2.add(s1, f64x2.mul(v128.load(a1 + o), w));
        s2 = f64x2.add(s2, f64x2.mul(v128.load(a2 + o), w));
        s3 = f64x2.add(s3, f64x2.mul(v128.load(a3 + o), w));
      }
      let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
      if (odd) {
        const w = load<f64>(b0 + K2);
        t0 += load<f64>(a0 + K2) * w;
        t1 += load<f64>(a1 + K2) * w;
        t2 += load<f64>(a2 + K2) * w;
        t3 += load<f64>(a3 + K2) * w;
      }
      const cj = <usize>j << 3;
      put(c0 + cj, t0, bias_, j, accB);
      put(c1 + cj, t1, bias_, j, accB);
      put(c2 + cj, t2, bias_, j, accB);
      put(c3 + cj, t3, bias_, j, accB);
    }
  }
  // leftover rows (all of them at batch 1): one row × 4 columns, then one by one
  for (; r < rows; r++) {
    const a0 = a + <usize>r * rowBytes;
    const c0 = c + <usize>r * cRowBytes;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const b0 = b + <usize>j * rowBytes;
      const b1 = b0 + rowBytes;
      const b2 = b1 + rowBytes;
      const b3 = b2 + rowBytes;
      let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
      for (let o: usize = 0; o < K2; o += 16) {
        const x = v128.load(a0 + o);
        s0 = f64x2.add(s0, f64x2.mul(x, v128.load(b0 + o)));
        s1 = f64x2.add(s1, f64x2.mul(x, v128.load(b1 + o)));
        s2 = f64x2.add(s2, f64x2.mul(x, v128.load(b2 + o)));
        s3 = f64x2.add(s3, f64x2.mul(x, v128.load(b3 + o)));
      }
      let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
      if (odd) {
        const x = load<f64>(a0 + K2);
        t0 += x * load<f64>(b0 + K2);
        t1 += x * load<f64>(b1 + K2);
        t2 += x * load<f64>(b2 + K2);
        t3 += x * load<f64>(b3 + K2);
      }
      const cj = <usize>j << 3;
      put(c0 + cj, t0, bias_, j, accB);
      put(c0 + cj + 8, t1, bias_, j + 1, accB);
      put(c0 + cj + 16, t2, bias_, j + 2, accB);
      put(c0 + cj + 24, t3, bias_, j + 3, accB);
    }
    for (; j < cols; j++) {
      const b0 = b + <usize>j * rowBytes;
      let s = f64x2.splat(0);
      for (let o: usize = 0; o < K2; o += 16) {
        s = f64x2.add(s, f64x2.mul(v128.load(a0 + o), v128.load(b0 + o)));
      }
      let t = hsum(s);
      if (odd) t += load<f64>(a0 + K2) * load<f64>(b0 + K2);
      put(c0 + (<usize>j << 3), t, bias_, j, accB);
    }
  }
}
