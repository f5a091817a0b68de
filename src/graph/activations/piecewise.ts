/** Rectifier family: relu, leaky relu, elu, selu, abs, max/min with a constant. */
import { defineUnary, exactCrit } from './define.ts';
import type { UnaryFn } from './types.ts';

/** relu'(0) = 0, as in PyTorch and TF. NaN passes through (a NaN > 0 test alone would give 0). */
export const relu: UnaryFn = defineUnary({
  name: 'relu',
  f: (x) => (x > 0 || x !== x ? x : 0),
  df: (x) => (x > 0 ? 1 : 0),
  dfSide: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : 0),
  kinks: [0],
  fCrits: [],
  dfCrits: [exactCrit(0, 0, 1)],
  map(x, y, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = v > 0 || v !== v ? v : 0;
    }
  },
  deriv(x, _y, d, n) {
    for (let i = 0; i < n; i++) d[i] = x[i] > 0 ? 1 : 0;
  },
  range(lo, hi, out) {
    out[0] = lo > 0 ? lo : lo !== lo ? lo : 0;
    out[1] = hi > 0 ? hi : hi !== hi ? hi : 0;
  },
});

/** Leaky relu: x for x > 0, αx otherwise (derivative α at 0, as PyTorch). */
export function leakyRelu(alpha = 0.01): UnaryFn {
  return defineUnary({
    name: 'leaky_relu',
    f: (x) => (x > 0 ? x : alpha * x),
    df: (x) => (x > 0 ? 1 : alpha),
    dfSide: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : alpha),
    kinks: [0],
    fCrits: [exactCrit(0, 0)],
    dfCrits: [exactCrit(0, alpha, 1)],
    map(x, y, n) {
      for (let i = 0; i < n; i++) {
        const v = x[i];
        y[i] = v > 0 ? v : alpha * v;
      }
    },
    deriv(x, _y, d, n) {
      for (let i = 0; i < n; i++) d[i] = x[i] > 0 ? 1 : alpha;
    },
  });
}

/** ELU (Clevert et al. 2016): x for x > 0, α(eˣ − 1) otherwise; derivative αeˣ on x ≤ 0. */
export function elu(alpha = 1, scale = 1, name = 'elu'): UnaryFn {
  const sa = scale * alpha;
  return defineUnary({
    name,
    f: (x) => (x > 0 ? scale * x : sa * Math.expm1(x)),
    df: (x) => (x > 0 ? scale : sa * Math.exp(x)),
    dfSide: (x, side) => (x > 0 || (x === 0 && side > 0) ? scale : sa * Math.exp(x)),
    kinks: sa === scale ? [] : [0],
    fCrits: [exactCrit(0, 0)],
    dfCrits: [exactCrit(0, sa, scale)],
  });
}

/** SELU (Klambauer et al. 2017) with its fixed constants. */
export const selu: UnaryFn = elu(1.6732632423543772848170429916717, 1.0507009873554804934193349852946, 'selu');

export const abs: UnaryFn = defineUnary({
  name: 'abs',
  f: Math.abs,
  df: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  dfSide: (x, side) => (x > 0 || (x === 0 && side > 0) ? 1 : -1),
  kinks: [0],
  extrema: [0],
  fCrits: [exactCrit(0, 0)],
  dfCrits: [exactCrit(0, -1, 1)],
});

/** max(x, c): derivative 1 where x ≥ c (torch.clamp's convention). */
export function maxConst(c: number): UnaryFn {
  return defineUnary({
    name: 'max_const',
    f: (x) => (x > c ? x : x !== x ? x : c),
    df: (x) => (x >= c ? 1 : 0),
    dfSide: (x, side) => (x > c || (x === c && side > 0) ? 1 : 0),
    kinks: [c],
    fCrits: [],
    dfCrits: [exactCrit(c, 0, 1)],
    range(lo, hi, out) {
      out[0] = lo > c ? lo : lo !== lo ? lo : c;
      out[1] = hi > c ? hi : hi !== hi ? hi : c;
    },
  });
}

/** min(x, c): derivative 1 where x ≤ c. */
export function minConst(c: number): UnaryFn {
  return defineUnary({
    name: 'min_const',
    f: (x) => (x < c ? x : x !== x ? x : c),
    df: (x) => (x <= c ? 1 : 0),
    dfSide: (x, side) => (x < c || (x === c && side < 0) ? 1 : 0),
    kinks: [c],
    fCrits: [],
    dfCrits: [exactCrit(c, 0, 1)],
    range(lo, hi, out) {
      out[0] = lo < c ? lo : lo !== lo ? lo : c;
      out[1] = hi < c ? hi : hi !== hi ? hi : c;
    },
  });
}
