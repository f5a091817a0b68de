/**
 * Outward rounding for sound interval bounds.
 *
 * JavaScript has no directed rounding mode, and Math.exp / Math.tanh / Math.sin are only
 * approximately rounded (V8 uses fdlibm ports, error < 1 ulp). So every bound we compute
 * in round-to-nearest is pushed outward: first by a relative margin of a few ulps that
 * covers the library error, then one more step to the neighbouring float through the bit
 * pattern (IEEE 754 doubles are ordered like sign-magnitude integers).
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Little-endian on every platform JS runs on in practice; checked once.
const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

/** The smallest double strictly greater than x (x itself for +Infinity and NaN). */
export function nextUp(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  if (x > 0) {
    // increment the 64-bit magnitude
    if (u32[LO] === 0xffffffff) {
      u32[LO] = 0;
      u32[HI]++;
    } else u32[LO]++;
  } else {
    if (u32[LO] === 0) {
      u32[LO] = 0xffffffff;
      u32[HI]--;
    } else u32[LO]--;
  }
  return f64[0];
}

/** The largest double strictly less than x. */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** Unit roundoff of binary64. */
export const UNIT_ROUNDOFF = 2 ** -53;

/**
 * Relative margin covering the error of Math.* elementary functions and of our own
 * compositions of a few of them (erf, gelu, softplus...): 16 ulps.
 */
export const FN_REL_MARGIN = 16 * 2 ** -52;

/** A lower bound on a value computed with relative error ≤ FN_REL_MARGIN. */
export function down(v: number): number {
  if (v !== v) return v;
  if (v === -Infinity) return v;
  if (v === Infinity) return Number.MAX_VALUE;
  return nextDown(v - Math.abs(v) * FN_REL_MARGIN);
}

/** An upper bound on a value computed with relative error ≤ FN_REL_MARGIN. */
export function up(v: number): number {
  if (v !== v) return v;
  if (v === Infinity) return v;
  if (v === -Infinity) return -Number.MAX_VALUE;
  return nextUp(v + Math.abs(v) * FN_REL_MARGIN);
}

/**
 * γ_n = n·u / (1 − n·u): the classical bound on the relative error of a floating-point dot
 * product of length n (Higham, Accuracy and Stability of Numerical Algorithms, §3.1):
 * |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γ_n Σ |aᵢbᵢ|.
 */
export function gamma(n: number): number {
  const nu = n * UNIT_ROUNDOFF;
  return nu / (1 - nu);
}

/** Sound interval product [a,b]·[c,d], rounded outward. Writes into out[0], out[1]. */
export function intervalMul(a: number, b: number, c: number, d: number, out: Float64Array | number[]): void {
  if (a === b && c === d) {
    const p = a * c;
    out[0] = nextDown(p);
    out[1] = nextUp(p);
    return;
  }
  const p1 = a * c,
    p2 = a * d,
    p3 = b * c,
    p4 = b * d;
  // 0·∞ gives NaN; treat it as 0 (the interval product of a finite zero-containing bound
  // and an unbounded one is unbounded anyway through the other products).
  let lo = Math.min(nz(p1), nz(p2), nz(p3), nz(p4));
  let hi = Math.max(nz(p1), nz(p2), nz(p3), nz(p4));
  if (a !== a || b !== b || c !== c || d !== d) {
    lo = NaN;
    hi = NaN;
  }
  out[0] = nextDown(lo);
  out[1] = nextUp(hi);
}

function nz(v: number): number {
  return v !== v ? 0 : v;
}

/** Lower bound on a value computed with relative error ≤ k·FN_REL_MARGIN (plus one ulp). */
export function downBy(v: number, k: number): number {
  if (v !== v || v === -Infinity) return v;
  if (v === Infinity) return Number.MAX_VALUE;
  return nextDown(v - Math.abs(v) * (k * FN_REL_MARGIN));
}

/** Upper bound on a value computed with relative error ≤ k·FN_REL_MARGIN (plus one ulp). */
export function upBy(v: number, k: number): number {
  if (v !== v || v === Infinity) return v;
  if (v === -Infinity) return -Number.MAX_VALUE;
  return nextUp(v + Math.abs(v) * (k * FN_REL_MARGIN));
}
