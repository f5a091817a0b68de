/**
 * Reshape / flatten. Every tensor is stored flat per point (row-major), so a reshape that
 * keeps the element count moves no data: the op copies and records the logical shape.
 */
import type { JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { crownScaleShift, type CrownStep, type ForwardStep } from './relax.ts';
import type { MilpStep } from './pwl.ts';

export class ReshapeOp implements OpImpl {
  readonly type = 'reshape';
  readonly params: Float64Array[] = [];
  constructor(
    readonly width: number,
    readonly shape: number[],
  ) {}

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    y.set(ins[0].subarray(0, rows * this.width));
  }
  jvp(_ins: Float64Array[], _y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    tOut.set(tIns[0].subarray(0, rows * k * this.width));
  }
  vjp(args: VjpArgs): void {
    const { gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    const n = rows * k * this.width;
    if (acc[0]) for (let i = 0; i < n; i++) g[i] += gOut[i];
    else g.set(gOut.subarray(0, n));
  }
  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    yLo.set(lo[0].subarray(0, rows * this.width));
    yHi.set(hi[0].subarray(0, rows * this.width));
  }
  crown(st: CrownStep): number {
    crownScaleShift(st, this.width, () => 1, () => 0, 0);
    return this.width;
  }

  forwardLinear(st: ForwardStep): boolean {
    st.out.L.set(st.ins[0].L);
    st.out.U.set(st.ins[0].U);
    return true;
  }

  milp<E>(st: MilpStep<E>): E[] {
    return st.ins[0].slice();
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    tOutLo.set(tLo[0].subarray(0, rows * k * this.width));
    tOutHi.set(tHi[0].subarray(0, rows * k * this.width));
  }
}
