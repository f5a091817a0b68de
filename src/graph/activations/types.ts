/**
 * Element-wise functions (activations and the primitives importers need).
 *
 * Each function gives its value, its derivative, batched loops for both, and two sound
 * enclosures over an interval [lo, hi]: of the function (`range`) and of its derivative
 * (`dRange`, used for interval Jacobians by interval Newton / Krawczyk).
 *
 * Kinks (relu at 0...): `df` returns the derivative PyTorch uses there, `dfSide` the one-sided
 * limits, and `dRange` includes both one-sided values whenever the kink lies in [lo, hi].
 *
 * Linear relaxations (CROWN, Zhang et al. 2018) need no per-function code: certify/bounds/forward.ts
 * (relaxUnary) derives sound enclosing lines on [lo, hi] from `range` and `dRange`.
 */
export interface UnaryFn {
  readonly name: string;
  f(x: number): number;
  /** f'(x). At a kink, the conventional value (the right-hand one unless stated). */
  df(x: number): number;
  /** One-sided derivative: side = -1 left, +1 right. Equals df away from kinks. */
  dfSide(x: number, side: -1 | 1): number;
  /** y[i] = f(x[i]) for i < n. */
  map(x: Float64Array, y: Float64Array, n: number): void;
  /** d[i] = f'(x[i]), given x and y = f(x) (some derivatives are cheaper from y). */
  deriv(x: Float64Array, y: Float64Array, d: Float64Array, n: number): void;
  /** Sound enclosure of { f(x) : lo ≤ x ≤ hi } into out[0], out[1]. */
  range(lo: number, hi: number, out: Float64Array): void;
  /** Sound enclosure of { f'(x) : lo ≤ x ≤ hi } (both one-sided values at kinks). */
  dRange(lo: number, hi: number, out: Float64Array): void;
  /** Points where f' is discontinuous. */
  readonly kinks: readonly number[];
  /** Interior extrema of f, for tests that straddle them. */
  readonly extrema: readonly number[];
  /** Open domain restriction, if any (log: x > 0). */
  readonly domain?: { lo: number; hi: number };
}

/** A point where a function changes monotonicity, with a sound enclosure of its value there. */
export interface CritPoint {
  x: number;
  lo: number;
  hi: number;
}
