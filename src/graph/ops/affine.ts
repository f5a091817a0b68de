/**
 * Per-feature affine map y = x·scale + shift: normalisation, de-standardisation, inference
 * batch-norm (scale = γ/√(σ²+ε), shift = β − μ·scale).
 */
import { nextDown, nextUp } from '../round.ts';
import type { ChainLayerSpec, JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { crownScaleShift, scaleForm, type CrownStep, type ForwardStep } from './relax.ts';
import type { MilpStep } from './pwl.ts';

export class AffineOp implements OpImpl {
  readonly type = 'affine';
  readonly params: Float64Array[];
  constructor(
    readonly width: number,
    readonly scale: Float64Array,
    readonly shift: Float64Array,
  ) {
    this.params = [scale, shift];
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    const x = ins[0],
      w = this.width,
      a = this.scale,
      b = this.shift;
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) y[o + i] = x[o + i] * a[i] + b[i];
    }
  }

  jvp(_ins: Float64Array[], _y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    scaleRows(tIns[0], tOut, this.scale, rows * k, this.width, false);
  }

  vjp(args: VjpArgs): void {
    const { gOut, gIns, accumulate: acc, rows, k } = args;
    if (gIns[0]) scaleRows(gOut, gIns[0], this.scale, rows * k, this.width, acc[0]);
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const w = this.width;
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        const a = this.scale[i];
        const p = a * lo[0][o + i],
          q = a * hi[0][o + i];
        // two roundings (product, then sum): step each outward
        yLo[o + i] = nextDown(nextDown(Math.min(p, q)) + this.shift[i]);
        yHi[o + i] = nextUp(nextUp(Math.max(p, q)) + this.shift[i]);
      }
    }
  }

  /** CROWN: y = s·x + t element-wise. */
  crown(st: CrownStep): number {
    const sc = this.scale,
      sh = this.shift;
    crownScaleShift(st, this.width, (i) => sc[i], (i) => sh[i], 0);
    return this.width;
  }

  forwardLinear(st: ForwardStep): boolean {
    const sc = this.scale,
      sh = this.shift;
    for (let i = 0; i < this.width; i++) scaleForm(st.ins[0], i, sc[i], sh[i], st.out, i, st.n, st.g);
    return true;
  }

  chainLayer(): ChainLayerSpec {
    return { kind: 'affine', scale: this.scale.slice(), shift: this.shift.slice() };
  }

  milp<E>(st: MilpStep<E>): E[] {
    const s = this.scale,
      t = this.shift;
    return st.ins[0].map((e, i) => st.combine([[s[i], e]], t[i]));
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const w = this.width,
      n = rows * k;
    for (let r = 0; r < n; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        const a = this.scale[i];
        const p = a * tLo[0][o + i],
          q = a * tHi[0][o + i];
        tOutLo[o + i] = nextDown(Math.min(p, q));
        tOutHi[o + i] = nextUp(Math.max(p, q));
      }
    }
  }

  vjpParams(ins: Float64Array[], _y: Float64Array, gOut: Float64Array, gParams: Float64Array[], rows: number): void {
    const w = this.width,
      x = ins[0];
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        gParams[0][i] += gOut[o + i] * x[o + i];
        gParams[1][i] += gOut[o + i];
      }
    }
  }
}

/** out (+)= src ⊙ scale, row by row. */
function scaleRows(src: Float64Array, out: Float64Array, scale: Float64Array, n: number, w: number, acc: boolean): void {
  for (let r = 0; r < n; r++) {
    const o = r * w;
    if (acc) for (let i = 0; i < w; i++) out[o + i] += src[o + i] * scale[i];
    else for (let i = 0; i < w; i++) out[o + i] = src[o + i] * scale[i];
  }
}
