/** Concatenation of feature vectors (ONNX Concat on the feature axis, Keras Concatenate). */
import type { JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { gamma } from '../round.ts';
import type { CrownStep, ForwardStep } from './relax.ts';
import type { MilpStep } from './pwl.ts';

export class ConcatOp implements OpImpl {
  readonly type = 'concat';
  readonly params: Float64Array[] = [];
  readonly width: number;
  constructor(readonly widths: number[]) {
    this.width = widths.reduce((a, b) => a + b, 0);
  }

  /** Copy rows of each part into its column range of out. */
  private gatherParts(parts: Float64Array[], out: Float64Array, n: number): void {
    const W = this.width;
    let off = 0;
    for (let p = 0; p < parts.length; p++) {
      const w = this.widths[p],
        src = parts[p];
      for (let r = 0; r < n; r++) for (let i = 0; i < w; i++) out[r * W + off + i] = src[r * w + i];
      off += w;
    }
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    this.gatherParts(ins, y, rows);
  }
  jvp(_ins: Float64Array[], _y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    this.gatherParts(tIns, tOut, rows * k);
  }
  vjp(args: VjpArgs): void {
    const { gOut, gIns, accumulate: acc, rows, k } = args;
    const W = this.width,
      n = rows * k;
    let off = 0;
    for (let p = 0; p < gIns.length; p++) {
      const w = this.widths[p],
        g = gIns[p];
      if (g) {
        for (let r = 0; r < n; r++)
          for (let i = 0; i < w; i++) {
            const v = gOut[r * W + off + i];
            if (acc[p]) g[r * w + i] += v;
            else g[r * w + i] = v;
          }
      }
      off += w;
    }
  }
  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    this.gatherParts(lo, yLo, rows);
    this.gatherParts(hi, yHi, rows);
  }
  /** CROWN: each input takes its slice of the coefficients. */
  crown(st: CrownStep): number {
    const { lam: lk, m, E } = st;
    const w = this.width;
    let off = 0;
    const g = gamma(2);
    for (let a = 0; a < this.widths.length; a++) {
      const wx = this.widths[a];
      const lx = st.lamIn(a),
        mx = st.magIn[a];
      for (let r = 0; r < m; r++) {
        let e = 0;
        for (let i = 0; i < wx; i++) {
          const v = lk[r * w + off + i];
          if (v === 0) continue;
          const o = lx[r * wx + i];
          lx[r * wx + i] = o + v;
          if (o !== 0) e += g * (Math.abs(o) + Math.abs(v)) * mx[i];
        }
        E[r] += e;
      }
      off += wx;
    }
    return w;
  }

  forwardLinear(st: ForwardStep): boolean {
    const S = st.n + 1;
    let off = 0;
    for (const x of st.ins) {
      st.out.L.set(x.L, off * S);
      st.out.U.set(x.U, off * S);
      off += x.width;
    }
    return true;
  }

  milp<E>(st: MilpStep<E>): E[] {
    return st.ins.flat();
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    this.gatherParts(tLo, tOutLo, rows * k);
    this.gatherParts(tHi, tOutHi, rows * k);
  }
}
