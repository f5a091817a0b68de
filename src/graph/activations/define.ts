import { FN_REL_MARGIN, downBy, nextDown, nextUp, upBy } from '../round.ts';
import type { CritPoint, UnaryFn } from './types.ts';

export interface UnarySpec {
  name: string;
  f(x: number): number;
  df(x: number): number;
  dfSide?(x: number, side: -1 | 1): number;
  /** Points between which f is monotone, with sound value enclosures. Sorted by x. */
  fCrits: CritPoint[];
  /** Points between which f' is monotone (kinks included, with both one-sided values). */
  dfCrits: CritPoint[];
  kinks?: number[];
  extrema?: number[];
  /**
   * Bound on the absolute error of the computed f(x) = v. Default |v|·FN_REL_MARGIN (16 ulps),
   * right for functions computed with small relative error. Functions that cancel near a
   * zero (silu' near its root, gelu') give an absolute bound from the sizes of their terms.
   */
  fErr?(x: number, v: number): number;
  /** Same for the computed f'(x) = v. */
  dfErr?(x: number, v: number): number;
  map?(x: Float64Array, y: Float64Array, n: number): void;
  deriv?(x: Float64Array, y: Float64Array, d: Float64Array, n: number): void;
  range?(lo: number, hi: number, out: Float64Array): void;
  dRange?(lo: number, hi: number, out: Float64Array): void;
  domain?: { lo: number; hi: number };
}

const relErr = (_x: number, v: number): number => Math.abs(v) * FN_REL_MARGIN;

/**
 * Sound range of a piecewise-monotone g over [lo, hi]: g is monotone between consecutive
 * critical points, so its extremes are at the endpoints or at critical points inside.
 */
export function piecewiseMonotoneRange(
  lo: number,
  hi: number,
  g: (x: number) => number,
  err: (x: number, v: number) => number,
  crits: readonly CritPoint[],
  out: Float64Array,
): void {
  if (lo !== lo || hi !== hi) {
    out[0] = NaN;
    out[1] = NaN;
    return;
  }
  // A box may reach ±∞ after an overflow upstream. Where g is NaN at ±∞ itself (x·σ(x),
  // x/(1+|x|)...), g at the largest finite double bounds the box's other (finite) points.
  let a = lo,
    b = hi,
    ga = g(a),
    gb = g(b);
  if (ga !== ga && a === -Infinity) ga = g((a = -Number.MAX_VALUE));
  if (gb !== gb && b === Infinity) gb = g((b = Number.MAX_VALUE));
  const ea = err(a, ga),
    eb = err(b, gb);
  let mn = Math.min(lowerOf(ga, ea), lowerOf(gb, eb));
  let mx = Math.max(upperOf(ga, ea), upperOf(gb, eb));
  for (let i = 0; i < crits.length; i++) {
    const c = crits[i];
    if (c.x >= lo && c.x <= hi) {
      if (c.lo < mn) mn = c.lo;
      if (c.hi > mx) mx = c.hi;
    }
  }
  out[0] = mn;
  out[1] = mx;
}

/**
 * A lower bound on the true value of a computed v with absolute error ≤ e. An error bound of
 * NaN (0·∞ in an error model, far out in a tail) bounds nothing: the result is then −∞.
 */
export function lowerOf(v: number, e: number): number {
  if (v === Infinity) return Number.MAX_VALUE;
  if (v === -Infinity || v !== v) return v;
  if (e !== e) return -Infinity;
  return nextDown(v - e);
}

/** An upper bound on the true value of a computed v with absolute error ≤ e (NaN e: +∞). */
export function upperOf(v: number, e: number): number {
  if (v === -Infinity) return -Number.MAX_VALUE;
  if (v === Infinity || v !== v) return v;
  if (e !== e) return Infinity;
  return nextUp(v + e);
}

/** Build a UnaryFn from a spec; generic batched loops unless the spec gives faster ones. */
export function defineUnary(spec: UnarySpec): UnaryFn {
  const f = spec.f,
    df = spec.df;
  const fErr = spec.fErr ?? relErr,
    dfErr = spec.dfErr ?? relErr;
  const fn: UnaryFn = {
    name: spec.name,
    f,
    df,
    dfSide: spec.dfSide ?? ((x: number) => df(x)),
    kinks: spec.kinks ?? [],
    extrema: spec.extrema ?? [],
    domain: spec.domain,
    map:
      spec.map ??
      ((x, y, n) => {
        for (let i = 0; i < n; i++) y[i] = f(x[i]);
      }),
    deriv:
      spec.deriv ??
      ((x, _y, d, n) => {
        for (let i = 0; i < n; i++) d[i] = df(x[i]);
      }),
    range: spec.range ?? ((lo, hi, out) => piecewiseMonotoneRange(lo, hi, f, fErr, spec.fCrits, out)),
    dRange: spec.dRange ?? ((lo, hi, out) => piecewiseMonotoneRange(lo, hi, df, dfErr, spec.dfCrits, out)),
  };
  return fn;
}

/** A critical point whose value is known to about `absErr` (from a numerically located x). */
export function critAt(x: number, value: number, absErr = 1e-12): CritPoint {
  return { x, lo: downBy(value - absErr, 1), hi: upBy(value + absErr, 1) };
}

/** A critical point with an exactly representable value (kinks of piecewise-linear functions). */
export function exactCrit(x: number, lo: number, hi: number = lo): CritPoint {
  return { x, lo: Math.min(lo, hi), hi: Math.max(lo, hi) };
}

/**
 * Locate a zero of h near x0 by Newton's method with numeric derivative (used once at load
 * time to place the interior extrema of silu/gelu and of their derivatives).
 */
export function newtonRoot(h: (x: number) => number, x0: number): number {
  let x = x0;
  for (let i = 0; i < 100; i++) {
    const e = 1e-6 * Math.max(1, Math.abs(x));
    const dh = (h(x + e) - h(x - e)) / (2 * e);
    const step = h(x) / dh;
    x -= step;
    if (Math.abs(step) < 1e-15 * Math.max(1, Math.abs(x))) break;
  }
  return x;
}
