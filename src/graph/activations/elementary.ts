/** Elementary functions importers need: exp, log, pow with a constant exponent, sin, reciprocal. */
import { FN_REL_MARGIN } from '../round.ts';
import { defineUnary, lowerOf, upperOf } from './define.ts';
import type { UnaryFn } from './types.ts';

export const exp: UnaryFn = defineUnary({
  name: 'exp',
  f: Math.exp,
  df: Math.exp,
  fCrits: [],
  dfCrits: [],
  deriv(_x, y, d, n) {
    for (let i = 0; i < n; i++) d[i] = y[i];
  },
});

/** Natural log; defined for x > 0. Over a box reaching x ≤ 0 the lower bound is −∞ (NaN below 0). */
export const log: UnaryFn = defineUnary({
  name: 'log',
  f: Math.log,
  df: (x) => 1 / x,
  fCrits: [],
  dfCrits: [],
  domain: { lo: 0, hi: Infinity },
  range(lo, hi, out) {
    if (lo !== lo || hi !== hi || hi < 0) {
      out[0] = NaN;
      out[1] = NaN;
      return;
    }
    // log is accurate to < 1 ulp relative; near x = 1 the value is small but still relative-accurate
    out[0] = lo <= 0 ? -Infinity : lowerOf(Math.log(lo), Math.abs(Math.log(lo)) * FN_REL_MARGIN);
    out[1] = upperOf(Math.log(hi), Math.abs(Math.log(hi)) * FN_REL_MARGIN);
  },
  dRange(lo, hi, out) {
    if (lo !== lo || hi !== hi || hi < 0) {
      out[0] = NaN;
      out[1] = NaN;
      return;
    }
    out[0] = lowerOf(1 / hi, FN_REL_MARGIN / hi);
    out[1] = lo <= 0 ? Infinity : upperOf(1 / lo, FN_REL_MARGIN / lo);
  },
});

/**
 * Sound range of a function that is monotone on each side of 0 and continuous except maybe at 0,
 * where its one-sided limits are zeroLeft / zeroRight (±∞ allowed).
 */
function rangeSplitAtZero(
  lo: number,
  hi: number,
  g: (x: number) => number,
  zeroLeft: number,
  zeroRight: number,
  out: Float64Array,
): void {
  const err = (v: number): number => Math.abs(v) * FN_REL_MARGIN;
  let mn = Infinity,
    mx = -Infinity;
  const take = (v: number, isLimit: boolean): void => {
    const l = isLimit ? v : lowerOf(v, err(v));
    const u = isLimit ? v : upperOf(v, err(v));
    if (l < mn) mn = l;
    if (u > mx) mx = u;
  };
  take(g(lo), false);
  take(g(hi), false);
  if (lo <= 0 && hi >= 0) {
    if (lo < 0 || hi === 0) take(zeroLeft, true);
    if (hi > 0 || lo === 0) take(zeroRight, true);
    if (lo === 0 || hi === 0) take(g(0), false);
  }
  out[0] = mn;
  out[1] = mx;
}

/**
 * x^p for a constant p. Integer p: defined for all x (x ≠ 0 when p < 0). Non-integer p:
 * defined for x ≥ 0 only (NaN below, as Math.pow and ONNX Pow). Piecewise monotone on each
 * side of 0, so the range comes from the endpoints and the one-sided limits at 0.
 */
export function pow(p: number): UnaryFn {
  const isInt = Number.isInteger(p);
  const f = (x: number): number => Math.pow(x, p);
  const df = (x: number): number => (p === 0 ? 0 : p * Math.pow(x, p - 1));
  const limit = (q: number, side: -1 | 1, scale: number): number => {
    // lim_{x→0±} scale·x^q
    if (scale === 0 || q === 0) return q === 0 ? scale : 0;
    if (q > 0) return 0;
    // q < 0: blows up; the sign is sign(scale)·(side^q) for integer q
    const qi = Number.isInteger(q);
    const sgn = side > 0 || !qi || q % 2 === 0 ? 1 : -1;
    return scale * sgn > 0 ? Infinity : -Infinity;
  };
  const domainCheck = (lo: number, hi: number, out: Float64Array): boolean => {
    if (lo !== lo || hi !== hi) {
      out[0] = NaN;
      out[1] = NaN;
      return false;
    }
    if (!isInt && hi < 0) {
      out[0] = NaN;
      out[1] = NaN;
      return false;
    }
    return true;
  };
  return defineUnary({
    name: 'pow',
    f,
    df,
    extrema: isInt && p > 0 && p % 2 === 0 ? [0] : [],
    kinks: [],
    domain: isInt ? undefined : { lo: 0, hi: Infinity },
    fCrits: [],
    dfCrits: [],
    range(lo, hi, out) {
      if (!domainCheck(lo, hi, out)) return;
      const l = isInt ? lo : Math.max(lo, 0);
      rangeSplitAtZero(l, hi, f, limit(p, -1, 1), limit(p, 1, 1), out);
    },
    dRange(lo, hi, out) {
      if (!domainCheck(lo, hi, out)) return;
      const l = isInt ? lo : Math.max(lo, 0);
      rangeSplitAtZero(l, hi, df, limit(p - 1, -1, p), limit(p - 1, 1, p), out);
    },
  });
}

/** 1/x: the constant-first division c/x of ONNX Div and Keras is c · reciprocal(x). */
export const reciprocal: UnaryFn = (() => {
  const g = pow(-1);
  const df = (x: number): number => -1 / (x * x);
  // dfSide too, so that it equals df (the spread would keep pow's p·x^(p−1), 1 ulp apart)
  return { ...g, name: 'reciprocal', f: (x: number) => 1 / x, df, dfSide: df };
})();

const TWO_PI = 2 * Math.PI;
const HALF_PI = Math.PI / 2;

/**
 * Sound range of sin over [lo, hi] shifted by `phase` (cos x = sin(x + π/2)).
 * The extremes are at the endpoints or at the peaks π/2 + 2kπ and troughs −π/2 + 2kπ inside.
 * Peak positions are computed in floating point, so a peak within 1e-9 of an endpoint is
 * counted as inside (a slight widening, never a loss).
 */
function sinRange(lo: number, hi: number, phase: number, g: (x: number) => number, out: Float64Array): void {
  if (lo !== lo || hi !== hi) {
    out[0] = NaN;
    out[1] = NaN;
    return;
  }
  if (!(hi - lo < TWO_PI) || !isFinite(lo) || !isFinite(hi)) {
    out[0] = -1;
    out[1] = 1;
    return;
  }
  const a = lo + phase,
    b = hi + phase;
  const sa = g(lo),
    sb = g(hi);
  const eps = 1e-9 * (1 + Math.abs(a) + Math.abs(b));
  let mn = Math.min(lowerOf(sa, FN_REL_MARGIN), lowerOf(sb, FN_REL_MARGIN));
  let mx = Math.max(upperOf(sa, FN_REL_MARGIN), upperOf(sb, FN_REL_MARGIN));
  // first peak ≥ a − eps
  const kPeak = Math.ceil((a - eps - HALF_PI) / TWO_PI);
  if (HALF_PI + kPeak * TWO_PI <= b + eps) mx = 1;
  const kTrough = Math.ceil((a - eps + HALF_PI) / TWO_PI);
  if (-HALF_PI + kTrough * TWO_PI <= b + eps) mn = -1;
  out[0] = Math.max(mn, -1);
  out[1] = Math.min(mx, 1);
}

export const sin: UnaryFn = defineUnary({
  name: 'sin',
  f: Math.sin,
  df: Math.cos,
  extrema: [HALF_PI, -HALF_PI],
  fCrits: [],
  dfCrits: [],
  range: (lo, hi, out) => sinRange(lo, hi, 0, Math.sin, out),
  dRange: (lo, hi, out) => sinRange(lo, hi, HALF_PI, Math.cos, out),
});

export const cos: UnaryFn = defineUnary({
  name: 'cos',
  f: Math.cos,
  df: (x) => -Math.sin(x),
  extrema: [0, Math.PI],
  fCrits: [],
  dfCrits: [],
  range: (lo, hi, out) => sinRange(lo, hi, HALF_PI, Math.cos, out),
  dRange: (lo, hi, out) => {
    sinRange(lo, hi, 0, Math.sin, out);
    const l = out[0];
    out[0] = -out[1];
    out[1] = -l;
  },
});
