/**
 * A tensor combined with a constant vector (or scalar): x+c, x−c, c−x, x·c, x/c, c/x.
 * Importers produce these from ONNX Add/Sub/Mul/Div with an initializer operand
 * (PyTorch writes input scaling as x/10, and the bipolar sigmoid as 2·σ(z) − 1).
 */
import { intervalMul, nextDown, nextUp } from '../round.ts';
import { intervalDiv } from './binary.ts';
import type { BinaryFn } from './binary.ts';
import type { ChainLayerSpec, JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import {
  constOver,
  crownConcretise,
  crownLines,
  crownScaleShift,
  finiteLines,
  relaxUnary,
  scaleForm,
  type CrownStep,
  type ForwardStep,
} from './relax.ts';
import type { MilpStep } from './pwl.ts';

export class BinaryConstOp implements OpImpl {
  readonly type = 'binary_const';
  readonly params: Float64Array[] = [];
  private readonly pair = new Float64Array(2);
  private readonly pair2 = new Float64Array(2);
  /** Stride into the constant: 0 for a scalar, 1 for a vector. */
  private readonly sc: number;

  constructor(
    readonly fn: BinaryFn,
    readonly width: number,
    readonly c: Float64Array,
    readonly constantFirst: boolean,
  ) {
    this.sc = c.length === 1 ? 0 : 1;
  }

  /** The point derivative ∂y/∂x at element i of a row (x, y its values). */
  private slope(x: number, y: number, ci: number): number {
    switch (this.fn) {
      case 'add':
        return 1;
      case 'sub':
        return this.constantFirst ? -1 : 1;
      case 'mul':
        return ci;
      default:
        return this.constantFirst ? -y / x : 1 / ci;
    }
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    const x = ins[0],
      w = this.width,
      c = this.c,
      sc = this.sc,
      first = this.constantFirst;
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        const v = x[o + i],
          ci = c[i * sc];
        switch (this.fn) {
          case 'add':
            y[o + i] = v + ci;
            break;
          case 'sub':
            y[o + i] = first ? ci - v : v - ci;
            break;
          case 'mul':
            y[o + i] = v * ci;
            break;
          case 'div':
            y[o + i] = first ? ci / v : v / ci;
            break;
        }
      }
    }
  }

  jvp(ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    const w = this.width,
      t = tIns[0];
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < w; i++) {
        const s = this.slope(ins[0][r * w + i], y[r * w + i], this.c[i * this.sc]);
        for (let j = 0; j < k; j++) {
          const o = (r * k + j) * w + i;
          tOut[o] = s * t[o];
        }
      }
    }
  }

  vjp(args: VjpArgs): void {
    const { ins, y, gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    const w = this.width;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < w; i++) {
        const s = this.slope(ins[0][r * w + i], y[r * w + i], this.c[i * this.sc]);
        for (let j = 0; j < k; j++) {
          const o = (r * k + j) * w + i;
          if (acc[0]) g[o] += s * gOut[o];
          else g[o] = s * gOut[o];
        }
      }
    }
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const w = this.width,
      p = this.pair;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < w; i++) {
        const o = r * w + i,
          l = lo[0][o],
          h = hi[0][o],
          ci = this.c[i * this.sc];
        switch (this.fn) {
          case 'add':
            yLo[o] = nextDown(l + ci);
            yHi[o] = nextUp(h + ci);
            break;
          case 'sub':
            if (this.constantFirst) {
              yLo[o] = nextDown(ci - h);
              yHi[o] = nextUp(ci - l);
            } else {
              yLo[o] = nextDown(l - ci);
              yHi[o] = nextUp(h - ci);
            }
            break;
          case 'mul':
            intervalMul(l, h, ci, ci, p);
            yLo[o] = p[0];
            yHi[o] = p[1];
            break;
          case 'div':
            if (this.constantFirst) intervalDiv(ci, ci, l, h, p);
            else intervalDiv(l, h, ci, ci, p);
            yLo[o] = p[0];
            yHi[o] = p[1];
            break;
        }
      }
    }
  }

  /** c/x is relaxed by lines on its input interval. */
  get tightInputs(): boolean {
    return this.fn === 'div' && this.constantFirst;
  }

  /** c/x: relaxation lines of c/x on input intervals not containing 0 (else NaN: concretise). */
  relax(lo: Float64Array[], hi: Float64Array[]): Float64Array | null {
    if (!(this.fn === 'div' && this.constantFirst)) return null;
    const c = this.c,
      w = this.width;
    const zl = lo[0],
      zh = hi[0];
    const R = new Float64Array(4 * w),
      t = new Float64Array(4);
    for (let i = 0; i < w; i++) {
      const ci = c[c.length === 1 ? 0 : i];
      if (ci !== 0 && Number.isFinite(zl[i]) && Number.isFinite(zh[i]) && (zl[i] > 0 || zh[i] < 0)) {
        relaxUnary(constOver(ci), zl[i], zh[i], t);
        R.set(t, 4 * i);
        if (!finiteLines(t)) R[4 * i + 1] = NaN;
      } else R[4 * i + 1] = NaN;
    }
    return R;
  }

  /** CROWN: x ± c, c − x, c·x and x / c are exact scalings; c/x takes its relaxation lines. */
  crown(st: CrownStep): number {
    const fn = this.fn,
      cv = this.c,
      first = this.constantFirst,
      w = this.width;
    const cc = (i: number): number => cv[cv.length === 1 ? 0 : i];
    if (fn === 'add') crownScaleShift(st, w, () => 1, cc, 0);
    else if (fn === 'sub' && !first) crownScaleShift(st, w, () => 1, (i) => -cc(i), 0);
    else if (fn === 'sub') crownScaleShift(st, w, () => -1, cc, 0);
    else if (fn === 'mul') crownScaleShift(st, w, cc, () => 0, 0);
    else if (!first) {
      // x / c with the rounded reciprocal; its relative error (≤ u) joins the allowance
      let ok = true;
      for (let i = 0; i < cv.length; i++) if (!(cv[i] !== 0 && Number.isFinite(1 / cv[i]))) ok = false;
      if (ok) crownScaleShift(st, w, (i) => 1 / cc(i), () => 0, 2);
      else crownConcretise(st);
    } else crownLines(st, w);
    return w;
  }

  forwardLinear(st: ForwardStep): boolean {
    const fn = this.fn,
      c = this.c,
      first = this.constantFirst;
    if (fn === 'div' && first) return false;
    const x = st.ins[0],
      out = st.out,
      n = st.n,
      g = st.g;
    for (let i = 0; i < this.width; i++) {
      const ci = c[c.length === 1 ? 0 : i];
      if (fn === 'add') scaleForm(x, i, 1, ci, out, i, n, g);
      else if (fn === 'sub') scaleForm(x, i, first ? -1 : 1, first ? ci : -ci, out, i, n, g);
      else if (fn === 'mul') scaleForm(x, i, ci, 0, out, i, n, g);
      else scaleForm(x, i, 1 / ci, 0, out, i, n, g, true);
    }
    return true;
  }

  /** x ± c, c − x, c·x, x / c are linear; c / x is not piecewise-linear. */
  nonPwl(): string | null {
    return this.fn === 'div' && this.constantFirst ? 'binary_const div (constant ÷ x)' : null;
  }

  /**
   * x + c, x − c, x·c as the chain's scale ⊙ x + shift (exact: 1·x + c, c·x + 0); c − x and the
   * quotients are left out (x / c as x·(1/c) would round 1/c).
   */
  chainLayer(): ChainLayerSpec | null {
    if (this.constantFirst || this.fn === 'div') return null;
    const w = this.width,
      c = this.c;
    const s = new Float64Array(w).fill(1),
      t = new Float64Array(w);
    for (let i = 0; i < w; i++) {
      const v = c[c.length === 1 ? 0 : i];
      if (this.fn === 'add') t[i] = v;
      else if (this.fn === 'sub') t[i] = -v;
      else s[i] = v;
    }
    return { kind: 'affine', scale: s, shift: t };
  }

  /** MILP: x ± c, c − x, c·x, x / c; c / x is not piecewise-linear. */
  milp<E>(st: MilpStep<E>): E[] | null {
    if (this.nonPwl() !== null) return null;
    const c = this.c,
      fn = this.fn,
      first = this.constantFirst;
    const ci = (i: number): number => c[c.length === 1 ? 0 : i];
    return st.ins[0].map((e, i) => {
      switch (fn) {
        case 'add':
          return st.combine([[1, e]], ci(i));
        case 'sub':
          return first ? st.combine([[-1, e]], ci(i)) : st.combine([[1, e]], -ci(i));
        case 'mul':
          return st.combine([[ci(i), e]], 0);
        default:
          return st.combine([[1 / ci(i), e]], 0);
      }
    });
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { lo, hi, yLo, yHi, tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const w = this.width,
      p = this.pair,
      q = this.pair2;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < w; i++) {
        const e = r * w + i,
          ci = this.c[i * this.sc];
        // derivative interval [sl, sh]
        let sl: number, sh: number;
        if (this.fn === 'add') sl = sh = 1;
        else if (this.fn === 'sub') sl = sh = this.constantFirst ? -1 : 1;
        else if (this.fn === 'mul') sl = sh = ci;
        else if (!this.constantFirst) {
          sl = nextDown(1 / ci);
          sh = nextUp(1 / ci);
        } else {
          // d(c/x)/dx = −y/x over the box
          intervalDiv(yLo[e], yHi[e], lo[0][e], hi[0][e], q);
          sl = -q[1];
          sh = -q[0];
        }
        for (let j = 0; j < k; j++) {
          const o = (r * k + j) * w + i;
          intervalMul(sl, sh, tLo[0][o], tHi[0][o], p);
          tOutLo[o] = p[0];
          tOutHi[o] = p[1];
        }
      }
    }
  }
}
