/** Feature selection y[i] = x[indices[i]] (ONNX Gather/Slice on the feature axis). */
import type { JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { gamma } from '../round.ts';
import type { CrownStep, ForwardStep } from './relax.ts';
import type { MilpStep } from './pwl.ts';

export class GatherOp implements OpImpl {
  readonly type = 'gather';
  readonly params: Float64Array[] = [];
  readonly width: number;
  constructor(
    readonly inWidth: number,
    readonly indices: Int32Array,
  ) {
    this.width = indices.length;
  }

  private pick(x: Float64Array, y: Float64Array, n: number): void {
    const w = this.width,
      wi = this.inWidth,
      idx = this.indices;
    for (let r = 0; r < n; r++) for (let i = 0; i < w; i++) y[r * w + i] = x[r * wi + idx[i]];
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    this.pick(ins[0], y, rows);
  }
  jvp(_ins: Float64Array[], _y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    this.pick(tIns[0], tOut, rows * k);
  }
  vjp(args: VjpArgs): void {
    const { gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    const w = this.width,
      wi = this.inWidth,
      idx = this.indices,
      n = rows * k;
    if (!acc[0]) g.fill(0, 0, n * wi);
    // an index may repeat: scatter-add
    for (let r = 0; r < n; r++) for (let i = 0; i < w; i++) g[r * wi + idx[i]] += gOut[r * w + i];
  }
  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    this.pick(lo[0], yLo, rows);
    this.pick(hi[0], yHi, rows);
  }
  /** CROWN: coefficients go back to the gathered positions (repeats add up). */
  crown(st: CrownStep): number {
    const { lam: lk, m, E } = st;
    const idx = this.indices,
      w = this.width,
      wx = this.inWidth;
    const lx = st.lamIn(0),
      mx = st.magIn[0];
    const g = gamma(2);
    for (let r = 0; r < m; r++) {
      let e = 0;
      for (let i = 0; i < w; i++) {
        const v = lk[r * w + i];
        if (v === 0) continue;
        const j = r * wx + idx[i];
        const o = lx[j];
        lx[j] = o + v;
        if (o !== 0) e += g * (Math.abs(o) + Math.abs(v)) * mx[idx[i]];
      }
      E[r] = e;
    }
    return w;
  }

  forwardLinear(st: ForwardStep): boolean {
    const idx = this.indices,
      x = st.ins[0],
      S = st.n + 1;
    for (let i = 0; i < this.width; i++) {
      st.out.L.set(x.L.subarray(idx[i] * S, idx[i] * S + S), i * S);
      st.out.U.set(x.U.subarray(idx[i] * S, idx[i] * S + S), i * S);
    }
    return true;
  }

  milp<E>(st: MilpStep<E>): E[] {
    const x = st.ins[0];
    return Array.from(this.indices, (i) => x[i]);
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    this.pick(tLo[0], tOutLo, rows * k);
    this.pick(tHi[0], tOutHi, rows * k);
  }
}
