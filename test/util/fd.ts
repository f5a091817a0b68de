/**
 * Finite-difference oracles. They only call `evaluate` (or a scalar f), never the engine's
 * derivative code, so they are independent of what they check.
 */
import type { Network } from '../../src/index.ts';

/** Step for a central difference at x: relative to |x|, never below `base`. */
export function fdStep(x: number, base = 1e-6): number {
  return base * Math.max(1, Math.abs(x));
}

/** Outputs of `net` at a single point (copy, so later calls cannot overwrite it). */
export function evalPoint(net: Network, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(net.evaluate(Float64Array.from(x), 1));
}

/**
 * Central-difference Jacobian of `net` at one point: m × k for outputs `of` and inputs `wrt`.
 * The step actually taken (x+h) − (x−h) is used as the divisor, so representation error of
 * the step does not enter the quotient.
 */
export function fdJacobian(
  net: Network,
  x: ArrayLike<number>,
  wrt: readonly number[],
  of: readonly number[],
  base = 1e-6,
): Float64Array {
  const k = wrt.length,
    m = of.length;
  const J = new Float64Array(m * k);
  const xp = Float64Array.from(x),
    xm = Float64Array.from(x);
  for (let j = 0; j < k; j++) {
    const i = wrt[j];
    const h = fdStep(x[i], base);
    xp[i] = x[i] + h;
    xm[i] = x[i] - h;
    const yp = evalPoint(net, xp),
      ym = evalPoint(net, xm);
    const dx = xp[i] - xm[i];
    for (let o = 0; o < m; o++) J[o * k + j] = (yp[of[o]] - ym[of[o]]) / dx;
    xp[i] = x[i];
    xm[i] = x[i];
  }
  return J;
}

/** One-sided difference quotient of a scalar function: side +1 uses [x, x+h], −1 uses [x−h, x]. */
export function oneSided(f: (x: number) => number, x: number, side: 1 | -1, h = 1e-7 * Math.max(1, Math.abs(x))): number {
  const y = side > 0 ? x + h : x - h;
  return side > 0 ? (f(y) - f(x)) / (y - x) : (f(x) - f(y)) / (x - y);
}

/** Central difference of a scalar function. */
export function central(f: (x: number) => number, x: number, h = fdStep(x)): number {
  const a = x + h,
    b = x - h;
  return (f(a) - f(b)) / (a - b);
}
