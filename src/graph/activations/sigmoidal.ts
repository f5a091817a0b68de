/** Bounded monotone activations: identity, sigmoid, bipolar sigmoid, tanh, softsign, hard sigmoid, hard tanh / clip. */
import { nextDown, nextUp } from '../round.ts';
import { defineUnary, exactCrit } from './define.ts';
import type { UnaryFn } from './types.ts';

export const identity: UnaryFn = defineUnary({
  name: 'identity',
  f: (x) => x,
  df: () => 1,
  fCrits: [],
  dfCrits: [],
  map(x, y, n) {
    for (let i = 0; i < n; i++) y[i] = x[i];
  },
  deriv(_x, _y, d, n) {
    d.fill(1, 0, n);
  },
  range(lo, hi, out) {
    out[0] = lo;
    out[1] = hi;
  },
  dRange(_lo, _hi, out) {
    out[0] = 1;
    out[1] = 1;
  },
});

/** Logistic sigmoid 1/(1+e^−x), written so that exp never overflows. */
export function sigmoidScalar(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** σ'(x) = e^−|x| / (1+e^−|x|)², accurate in both tails (σ(1−σ) cancels for large x). */
function sigmoidDeriv(x: number): number {
  const e = Math.exp(-Math.abs(x));
  const d = 1 + e;
  return e / (d * d);
}

export const sigmoid: UnaryFn = defineUnary({
  name: 'sigmoid',
  f: sigmoidScalar,
  df: sigmoidDeriv,
  fCrits: [],
  dfCrits: [exactCrit(0, 0.25)],
  map(x, y, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        y[i] = e / (1 + e);
      }
    }
  },
  deriv(x, y, d, n) {
    for (let i = 0; i < n; i++) {
      // for x < 0, σ(1−σ) is accurate; for x ≥ 0 use 1−σ(x) = σ(−x)
      const s = y[i];
      d[i] = x[i] < 0 ? s * (1 - s) : s * sigmoidScalar(-x[i]);
    }
  },
});

export const tanh: UnaryFn = defineUnary({
  name: 'tanh',
  f: Math.tanh,
  df: (x) => {
    // 1 − tanh² = 4e^{−2|x|}/(1+e^{−2|x|})², accurate in the tails
    const e = Math.exp(-2 * Math.abs(x));
    const d = 1 + e;
    return (4 * e) / (d * d);
  },
  fCrits: [],
  dfCrits: [exactCrit(0, 1)],
  map(x, y, n) {
    for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
  },
  // (1 − t)(1 + t) from y is exact enough near 0; in the tails it loses relative accuracy
  // (t rounds towards ±1), so there use 4e/(1+e)² with e = e^{−2|x|}.
  deriv(x, y, d, n) {
    for (let i = 0; i < n; i++) {
      const ax = Math.abs(x[i]);
      if (ax < 0.5) {
        const t = y[i];
        d[i] = (1 - t) * (1 + t);
      } else {
        const e = Math.exp(-2 * ax);
        const q = 1 + e;
        d[i] = (4 * e) / (q * q);
      }
    }
  },
});

/**
 * Bipolar sigmoid 2/(1+e^{−λx}) − 1 with steepness λ > 0, computed as tanh(λx/2)
 * (the same function, without the cancellation of "2σ − 1" near 0). f' = (λ/2)(1 − f²).
 */
export function bipolarSigmoid(lambda = 1): UnaryFn {
  const h = lambda / 2;
  return defineUnary({
    name: 'bipolar_sigmoid',
    f: (x) => Math.tanh(h * x),
    df: (x) => {
      const e = Math.exp(-lambda * Math.abs(x));
      const d = 1 + e;
      return (2 * lambda * e) / (d * d);
    },
    fCrits: [],
    dfCrits: [exactCrit(0, h)],
    map(x, y, n) {
      for (let i = 0; i < n; i++) y[i] = Math.tanh(h * x[i]);
    },
    deriv(x, y, d, n) {
      for (let i = 0; i < n; i++) {
        const az = lambda * Math.abs(x[i]);
        if (az < 1) {
          const t = y[i];
          d[i] = h * (1 - t) * (1 + t);
        } else {
          const e = Math.exp(-az);
          const q = 1 + e;
          d[i] = (2 * lambda * e) / (q * q);
        }
      }
    },
  });
}

export const softsign: UnaryFn = defineUnary({
  name: 'softsign',
  f: (x) => x / (1 + Math.abs(x)),
  df: (x) => {
    const d = 1 + Math.abs(x);
    return 1 / (d * d);
  },
  fCrits: [],
  dfCrits: [exactCrit(0, 1)],
});

/**
 * Hard sigmoid max(0, min(1, slope·x + offset)). The slope and offset are whatever the file
 * defines: Keras 2 and TF.js use 0.2x + 0.5, Keras 3 and PyTorch x/6 + 0.5, ONNX defaults to
 * alpha 0.2, beta 0.5. Derivative `slope` strictly inside, 0 outside (PyTorch's convention).
 */
export function hardSigmoid(slope = 0.2, offset = 0.5): UnaryFn {
  const x0 = -offset / slope,
    x1 = (1 - offset) / slope;
  const lin = (x: number): number => slope * x + offset;
  const f = (x: number): number => Math.max(0, Math.min(1, lin(x)));
  const lo0 = Math.min(x0, x1),
    hi0 = Math.max(x0, x1);
  return defineUnary({
    name: 'hard_sigmoid',
    f,
    df: (x) => (x > lo0 && x < hi0 ? slope : 0),
    dfSide: (x, side) => (side < 0 ? (x > lo0 && x <= hi0 ? slope : 0) : x >= lo0 && x < hi0 ? slope : 0),
    kinks: [lo0, hi0],
    fCrits: [],
    dfCrits: [exactCrit(lo0, 0, slope), exactCrit(hi0, 0, slope)],
    // The float computation slope·x + offset is monotone; step each rounding outward.
    range(lo, hi, out) {
      const a = slope >= 0 ? lo : hi,
        b = slope >= 0 ? hi : lo;
      out[0] = Math.max(0, Math.min(1, nextDown(nextDown(slope * a) + offset)));
      out[1] = Math.max(0, Math.min(1, nextUp(nextUp(slope * b) + offset)));
    },
  });
}

/** clip(x, lo, hi). `strict` picks hard-tanh's derivative convention (0 at the ends) over clamp's (1). */
export function clip(min: number, max: number, name = 'clip', strict = false): UnaryFn {
  const inside = strict ? (x: number) => x > min && x < max : (x: number) => x >= min && x <= max;
  return defineUnary({
    name,
    f: (x) => (x < min ? min : x > max ? max : x),
    df: (x) => (inside(x) ? 1 : 0),
    dfSide: (x, side) => (side < 0 ? (x > min && x <= max ? 1 : 0) : x >= min && x < max ? 1 : 0),
    kinks: [min, max],
    fCrits: [],
    dfCrits: [exactCrit(min, 0, 1), exactCrit(max, 0, 1)],
    range(lo, hi, out) {
      out[0] = lo < min ? min : lo > max ? max : lo;
      out[1] = hi < min ? min : hi > max ? max : hi;
    },
  });
}

export function hardTanh(min = -1, max = 1): UnaryFn {
  return clip(min, max, 'hard_tanh', true);
}
