/** Dense layer y = x·W + b, W stored in×out row-major (Keras / TF.js kernel layout). */
import { IntervalMatmulScratch, intervalMatmul } from '../interval.ts';
import { columnSumAcc, matmulABt, matmulAtBAcc, transpose } from '../kernels.ts';
import type { ChainLayerSpec, JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { gamma, nextDown, nextUp } from '../round.ts';
import type { MilpStep } from './pwl.ts';
import type { CrownStep, ForwardStep } from './relax.ts';

export class DenseOp implements OpImpl {
  readonly type = 'dense';
  readonly width: number;
  readonly params: Float64Array[];
  private Wt: Float64Array;
  private absW: Float64Array;
  private absWt: Float64Array;
  private readonly s = new IntervalMatmulScratch();

  constructor(
    readonly inWidth: number,
    readonly units: number,
    readonly W: Float64Array,
    readonly b: Float64Array | null,
  ) {
    this.width = units;
    this.params = b ? [W, b] : [W];
    this.Wt = transpose(W, inWidth, units);
    this.absW = W.map(Math.abs);
    this.absWt = this.Wt.map(Math.abs);
  }

  paramsChanged(): void {
    this.Wt = transpose(this.W, this.inWidth, this.units);
    this.absW = this.W.map(Math.abs);
    this.absWt = this.Wt.map(Math.abs);
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    matmulABt(ins[0], this.Wt, y, rows, this.inWidth, this.units, this.b);
  }

  jvp(_ins: Float64Array[], _y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    matmulABt(tIns[0], this.Wt, tOut, rows * k, this.inWidth, this.units, null);
  }

  vjp(args: VjpArgs): void {
    const { gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    // gIn = gOut·Wᵀ: the dot-product kernel with W itself (in×out) as the "Bᵀ" operand
    if (g) matmulABt(gOut, this.W, g, rows * k, this.units, this.inWidth, null, acc[0]);
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    intervalMatmul(lo[0], hi[0], rows, this.inWidth, this.Wt, this.absWt, this.b, this.units, yLo, yHi, this.s);
  }

  /** CROWN: λ·y = (λ·Wᵀ)·x + λ·b, exact up to the rounding of the K-term products (γ_{U+1}). */
  crown(st: CrownStep): number {
    const W = this.W,
      b = this.b,
      K = this.inWidth,
      U = this.width;
    const { lam: lk, m, c, E } = st;
    const lx = st.lamIn(0),
      mx = st.magIn[0];
    const g = gamma(U + 1);
    for (let r = 0; r < m; r++) {
      const ro = r * U;
      let nz = false;
      for (let o = 0; o < U; o++) if (lk[ro + o] !== 0) nz = true;
      if (!nz) continue;
      let e = 0;
      for (let i = 0; i < K; i++) {
        let s = lx[r * K + i],
          a = Math.abs(s);
        const wo = i * U;
        for (let o = 0; o < U; o++) {
          const pr = lk[ro + o] * W[wo + o];
          s += pr;
          a += Math.abs(pr);
        }
        lx[r * K + i] = s;
        if (a !== 0) e += g * a * mx[i];
      }
      if (b) {
        let s = c[r],
          a = Math.abs(s);
        for (let o = 0; o < U; o++) {
          const pr = lk[ro + o] * b[o];
          s += pr;
          a += Math.abs(pr);
        }
        c[r] = s;
        e += g * a;
      }
      E[r] = e;
    }
    return K + U;
  }

  /** Forward forms: each output's lower form takes the input's lower form where the weight is positive. */
  forwardLinear(st: ForwardStep): boolean {
    const W = this.W,
      b = this.b,
      K = this.inWidth,
      w = this.width;
    const x = st.ins[0],
      out = st.out,
      n = st.n,
      S = n + 1;
    // rounding of a K-term dot product (plus bias): γ_{K+2}, not the generic γ_64
    const gK = gamma(K + 2);
    for (let o = 0; o < w; o++) {
      const oo = o * S;
      for (let s = 0; s < S; s++) {
        let sl = 0,
          su = 0,
          al = 0,
          au = 0;
        for (let i = 0; i < K; i++) {
          const wv = W[i * w + o];
          if (wv === 0) continue;
          const a = wv > 0 ? x.L[i * S + s] : x.U[i * S + s],
            c = wv > 0 ? x.U[i * S + s] : x.L[i * S + s];
          sl += wv * a;
          su += wv * c;
          al += Math.abs(wv * a);
          au += Math.abs(wv * c);
        }
        const bias = s === n && b ? b[o] : 0;
        if (s < n) {
          out.L[oo + s] = sl;
          out.U[oo + s] = su;
          // coefficient rounding error → constant
          out.L[oo + n] -= nextUp(gK * al);
          out.U[oo + n] += nextUp(gK * au);
        } else {
          out.L[oo + n] = nextDown(nextDown(out.L[oo + n] + sl + bias) - nextUp(gK * (al + Math.abs(bias))));
          out.U[oo + n] = nextUp(nextUp(out.U[oo + n] + su + bias) + nextUp(gK * (au + Math.abs(bias))));
        }
      }
    }
    return true;
  }

  chainLayer(): ChainLayerSpec {
    return { kind: 'dense', nIn: this.inWidth, nOut: this.units, W: this.W.slice(), b: this.b ? this.b.slice() : null };
  }

  /** MILP: each unit is the affine expression Σᵢ Wᵢₖ·xᵢ + bₖ. */
  milp<E>(st: MilpStep<E>): E[] {
    const W = this.W,
      b = this.b,
      units = this.width,
      x = st.ins[0];
    const out: E[] = [];
    for (let k = 0; k < units; k++) {
      const parts: [number, E][] = [];
      for (let i = 0; i < x.length; i++) parts.push([W[i * units + k], x[i]]);
      out.push(st.combine(parts, b ? b[k] : 0));
    }
    return out;
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    intervalMatmul(tLo[0], tHi[0], rows * k, this.inWidth, this.Wt, this.absWt, null, this.units, tOutLo, tOutHi, this.s);
  }

  vjpParams(ins: Float64Array[], _y: Float64Array, gOut: Float64Array, gParams: Float64Array[], rows: number): void {
    matmulAtBAcc(ins[0], gOut, gParams[0], rows, this.inWidth, this.units);
    if (this.b) columnSumAcc(gOut, gParams[1], rows, this.units);
  }

  /** |W| (in×out), for bound code in other layers. */
  get absWeight(): Float64Array {
    return this.absW;
  }
}
