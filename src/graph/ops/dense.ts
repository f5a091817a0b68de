/** Dense layer y = x·W + b, W stored in×out row-major (Keras / TF.js kernel layout). */
import { IntervalMatmulScratch, intervalMatmul } from '../interval.ts';
import { columnSumAcc, matmulABt, matmulAtBAcc, transpose } from '../kernels.ts';
import type { JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';

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
