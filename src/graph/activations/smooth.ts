/** Smooth non-monotone or unbounded activations: softplus, silu/swish, gelu (erf and tanh forms), erf. */
import { FN_REL_MARGIN } from '../round.ts';
import { critAt, defineUnary, exactCrit, newtonRoot } from './define.ts';
import { sigmoidScalar } from './sigmoidal.ts';
import { erf as erfScalar, normalCdf, normalPdf } from './special.ts';
import type { UnaryFn } from './types.ts';

/**
 * softplus_β(x) = log(1 + e^{βx})/β, computed as (max(βx, 0) + log1p(e^{−|βx|}))/β so that
 * exp never overflows. Derivative σ(βx).
 */
export function softplus(beta = 1): UnaryFn {
  const f = (x: number): number => {
    const z = beta * x;
    return (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / beta;
  };
  return defineUnary({
    name: 'softplus',
    f,
    df: (x) => sigmoidScalar(beta * x),
    fCrits: [],
    dfCrits: [],
    // βx is rounded before exp: relative error grows with |βx|
    fErr: (x, v) => Math.abs(v) * FN_REL_MARGIN * (2 + Math.abs(beta * x)),
    dfErr: (x, v) => Math.abs(v) * FN_REL_MARGIN * (2 + Math.abs(beta * x)),
  });
}

// ---- silu (swish): x·σ(x) (Elfwing et al. 2018; Ramachandran et al. 2017) ----

function siluF(x: number): number {
  return x * sigmoidScalar(x);
}
/** silu'(x) = σ(x)·(1 + x·σ(−x)); σ(−x) = 1 − σ(x) without cancellation. */
function siluD(x: number): number {
  const s = sigmoidScalar(x);
  return s * (1 + x * sigmoidScalar(-x));
}
/** silu''(x) = σ(x)σ(−x)·(2 + x·(σ(−x) − σ(x))). */
function siluD2(x: number): number {
  const s = sigmoidScalar(x),
    t = sigmoidScalar(-x);
  return s * t * (2 + x * (t - s));
}
const SILU_MIN_X = newtonRoot(siluD, -1.28);
const SILU_D_MAX_X = newtonRoot(siluD2, 2.4);
const SILU_D_MIN_X = newtonRoot(siluD2, -2.4);

export const silu: UnaryFn = defineUnary({
  name: 'silu',
  f: siluF,
  df: siluD,
  extrema: [SILU_MIN_X],
  fCrits: [critAt(SILU_MIN_X, siluF(SILU_MIN_X))],
  dfCrits: [critAt(SILU_D_MIN_X, siluD(SILU_D_MIN_X)), critAt(SILU_D_MAX_X, siluD(SILU_D_MAX_X))],
  // 1 + x·σ(−x) cancels near the root of silu': bound the error by the size of its terms
  dfErr: (x, v) =>
    (Math.abs(v) + sigmoidScalar(x) * (1 + Math.abs(x) * sigmoidScalar(-x))) * FN_REL_MARGIN,
  map(x, y, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v >= 0) y[i] = v / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        y[i] = (v * e) / (1 + e);
      }
    }
  },
});

// ---- gelu, exact (erf) form: x·Φ(x) (Hendrycks & Gimpel 2016) ----

function geluF(x: number): number {
  return x * normalCdf(x);
}
function geluD(x: number): number {
  return normalCdf(x) + x * normalPdf(x);
}
const GELU_MIN_X = newtonRoot(geluD, -0.75);
// gelu''(x) = φ(x)(2 − x²): the derivative peaks at ±√2.
const SQRT2 = Math.SQRT2;

export const gelu: UnaryFn = defineUnary({
  name: 'gelu',
  f: geluF,
  df: geluD,
  extrema: [GELU_MIN_X],
  fCrits: [critAt(GELU_MIN_X, geluF(GELU_MIN_X))],
  dfCrits: [critAt(-SQRT2, geluD(-SQRT2)), critAt(SQRT2, geluD(SQRT2))],
  // Φ(x) = ½erfc(−x/√2) loses ~x² ulps in the far tail (x/√2 is rounded, then squared in exp)
  fErr: (x, v) => Math.abs(v) * FN_REL_MARGIN * (2 + x * x),
  dfErr: (x, v) => (Math.abs(v) + normalCdf(x) + Math.abs(x) * normalPdf(x)) * FN_REL_MARGIN * (2 + x * x),
});

// ---- gelu, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(2u) ----

const GELU_C = Math.sqrt(2 / Math.PI);
function geluTanhU(x: number): number {
  return GELU_C * (x + 0.044715 * x * x * x);
}
function geluTanhF(x: number): number {
  return x * sigmoidScalar(2 * geluTanhU(x));
}
function geluTanhD(x: number): number {
  const u = geluTanhU(x);
  const s = sigmoidScalar(2 * u),
    t = sigmoidScalar(-2 * u);
  const du = GELU_C * (1 + 3 * 0.044715 * x * x);
  // once s·t underflows the second term is 0, even where x·du has overflowed (0·∞ would be NaN)
  return s * t === 0 ? s : s + x * 2 * du * s * t;
}
function geluTanhD2(x: number): number {
  const h = 1e-5 * Math.max(1, Math.abs(x));
  return (geluTanhD(x + h) - geluTanhD(x - h)) / (2 * h);
}
const GELU_TANH_MIN_X = newtonRoot(geluTanhD, -0.75);
const GELU_TANH_D_MAX_X = newtonRoot(geluTanhD2, 1.4);
const GELU_TANH_D_MIN_X = newtonRoot(geluTanhD2, -1.4);

export const geluTanh: UnaryFn = defineUnary({
  name: 'gelu_tanh',
  f: geluTanhF,
  df: geluTanhD,
  extrema: [GELU_TANH_MIN_X],
  fCrits: [critAt(GELU_TANH_MIN_X, geluTanhF(GELU_TANH_MIN_X))],
  // the extremes of the derivative are located with a numeric second derivative (to ~1e-9);
  // at a maximum the value error is quadratic in that, far below the 1e-9 margin used here
  dfCrits: [
    critAt(GELU_TANH_D_MIN_X, geluTanhD(GELU_TANH_D_MIN_X), 1e-9),
    critAt(GELU_TANH_D_MAX_X, geluTanhD(GELU_TANH_D_MAX_X), 1e-9),
  ],
  fErr: (x, v) => Math.abs(v) * FN_REL_MARGIN * (2 + 2 * Math.abs(geluTanhU(x))),
  dfErr: (x, v) => {
    const u = geluTanhU(x);
    const terms = 1 + Math.abs(x) * 2 * GELU_C * (1 + 0.134145 * x * x) * sigmoidScalar(2 * u) * sigmoidScalar(-2 * u);
    return (Math.abs(v) + terms) * FN_REL_MARGIN * (2 + 2 * Math.abs(u));
  },
});

// ---- erf ----

export const erf: UnaryFn = defineUnary({
  name: 'erf',
  f: erfScalar,
  df: (x) => 1.1283791670955126 * Math.exp(-x * x),
  fCrits: [],
  dfCrits: [exactCrit(0, 1.1283791670955126, 1.1283791670955128)],
  dfErr: (x, v) => Math.abs(v) * FN_REL_MARGIN * (2 + x * x),
});
