/**
 * Shared checks of a Network's derivatives and bounds, used by the op table and the random-net
 * tests. Oracles: finite differences of `evaluate`, and points sampled inside boxes.
 */
import { expect } from 'vitest';
import type { Network } from '../../src/index.ts';
import { expectAllClose, expectInside } from './expect.ts';
import { fdJacobian } from './fd.ts';
import type { Rng } from './rng.ts';

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export interface JacobianCheckOptions {
  wrt?: readonly number[];
  of?: readonly number[];
  /** Relative tolerance of the finite-difference comparison (scaled per output row); 1e-7. */
  fdTol?: number;
  /** Base step of the central differences. */
  fdStep?: number;
}

/**
 * At every row of X:
 * - forward- and reverse-mode Jacobians agree to 1e-12·max(1, |J|);
 * - the values returned with the Jacobian are the values `evaluate` gives;
 * - both agree with central differences to fdTol·max(1, max|J[o, :]|, |f_o|) per output row o.
 * Returns the forward-mode Jacobian (rows × m × k).
 */
export function checkJacobians(net: Network, X: Float64Array, rows: number, opts: JacobianCheckOptions = {}): Float64Array {
  const wrt = opts.wrt ?? range(net.nIn),
    of = opts.of ?? range(net.nOut);
  const k = wrt.length,
    m = of.length;
  const sub = { ...(opts.wrt ? { wrt: opts.wrt } : {}), ...(opts.of ? { of: opts.of } : {}) };
  const fwd = net.jacobian(X, rows, { ...sub, mode: 'forward' });
  const Jf = Float64Array.from(fwd.J),
    Yf = Float64Array.from(fwd.Y);
  const rev = net.jacobian(X, rows, { ...sub, mode: 'reverse' });
  const Jr = Float64Array.from(rev.J);
  expect(Jf.length, 'jacobian size').toBe(rows * m * k);
  expectAllClose(Jr, Jf, (i) => 1e-12 * Math.max(1, Math.abs(Jf[i])), 'reverse vs forward Jacobian');
  const auto = net.jacobian(X, rows, sub);
  expectAllClose(auto.J, Jf, (i) => 1e-12 * Math.max(1, Math.abs(Jf[i])), "'auto' vs forward Jacobian");
  const Y = Float64Array.from(net.evaluate(X, rows));
  expectAllClose(Yf, Y, 0, 'values returned by jacobian vs evaluate');
  expectAllClose(rev.Y, Y, 0, 'values returned by reverse-mode jacobian vs evaluate');

  const nIn = net.nIn,
    nOut = net.nOut;
  const tol = opts.fdTol ?? 1e-7;
  for (let r = 0; r < rows; r++) {
    const x = X.subarray(r * nIn, (r + 1) * nIn);
    const fd = fdJacobian(net, x, wrt, of, opts.fdStep);
    const Jrow = Jf.subarray(r * m * k, (r + 1) * m * k);
    const scale = new Float64Array(m);
    for (let o = 0; o < m; o++) {
      let s = Math.max(1, Math.abs(Y[r * nOut + of[o]]));
      for (let j = 0; j < k; j++) s = Math.max(s, Math.abs(Jrow[o * k + j]));
      scale[o] = s;
    }
    const at = `row ${r} x=[${Array.from(x).join(', ')}]`;
    expectAllClose(Jrow, fd, (i) => tol * scale[Math.floor(i / k)], `forward-mode Jacobian vs finite differences at ${at}`);
    expectAllClose(
      Jr.subarray(r * m * k, (r + 1) * m * k),
      fd,
      (i) => tol * scale[Math.floor(i / k)],
      `reverse-mode Jacobian vs finite differences at ${at}`,
    );
  }
  return Jf;
}

/**
 * Corners of a box (all of them for n ≤ 10, else 1024 random ones), `extra` uniform points and
 * the midpoint. Every coordinate is clamped into [lo, hi]: lo + (hi − lo)·t can round past hi.
 */
export function samplePoints(lo: ArrayLike<number>, hi: ArrayLike<number>, extra: number, r: Rng): Float64Array[] {
  const n = lo.length;
  const pts: Float64Array[] = [];
  const clamp = (v: number, i: number): number => Math.min(hi[i], Math.max(lo[i], v));
  const nc = n <= 10 ? 1 << n : 1024;
  for (let c = 0; c < nc; c++) {
    const bits = n <= 10 ? c : r.int(1 << 30);
    pts.push(Float64Array.from({ length: n }, (_, i) => ((bits >> i) & 1 ? hi[i] : lo[i])));
  }
  for (let s = 0; s < extra; s++) pts.push(Float64Array.from({ length: n }, (_, i) => clamp(r.uniform(lo[i], hi[i]), i)));
  pts.push(Float64Array.from({ length: n }, (_, i) => clamp(0.5 * lo[i] + 0.5 * hi[i], i)));
  return pts;
}

/**
 * Allowed distance of a computed point Jacobian entry J from the interval enclosing the true
 * Jacobian: the computed J carries rounding error of its own, and sums of products along
 * the chain rule can cancel, so the allowance is absolute for |J| ≤ 1 (errors of order
 * ε·Σ|terms|), relative above.
 */
export function jacobianRounding(J: number): number {
  return 1e-14 * Math.max(1, Math.abs(J));
}

/**
 * net.bounds over one box contains the outputs at the corners and at `extra` random points
 * (strictly), and jacobianBounds contains the Jacobians there (up to jacobianRounding).
 */
export function checkBoxContainment(net: Network, lo: Float64Array, hi: Float64Array, extra: number, r: Rng, what: string): void {
  const b = net.bounds(lo, hi, 1);
  const blo = Float64Array.from(b.lo),
    bhi = Float64Array.from(b.hi);
  const jb = net.jacobianBounds(lo, hi, 1);
  const jlo = Float64Array.from(jb.lo),
    jhi = Float64Array.from(jb.hi);
  expectAllClose(jb.valueLo, blo, 0, `${what}: jacobianBounds value bounds vs bounds (lo)`);
  expectAllClose(jb.valueHi, bhi, 0, `${what}: jacobianBounds value bounds vs bounds (hi)`);
  const box = `box lo=[${Array.from(lo).join(', ')}] hi=[${Array.from(hi).join(', ')}]`;
  for (const p of samplePoints(lo, hi, extra, r)) {
    const { J, Y } = net.jacobian(p, 1, { mode: 'forward' });
    const at = `${what}: ${box}, point [${Array.from(p).join(', ')}]`;
    expectInside(blo, Y, bhi, `${at}: output`);
    for (let e = 0; e < J.length; e++) {
      const outside = Math.max(jlo[e] - J[e], J[e] - jhi[e], 0);
      if (!(outside <= jacobianRounding(J[e]))) expect.fail(`${at}: Jacobian entry ${e} = ${J[e]} outside [${jlo[e]}, ${jhi[e]}]`);
    }
  }
}
