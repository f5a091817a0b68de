/**
 * Softmax and log-softmax over the whole feature vector of each point.
 *
 * Forward: shift by the max so exp never overflows.
 * Derivatives: J = diag(p) − p·pᵀ for softmax, J = I − 1·pᵀ for log-softmax.
 * Bounds: softmax_i = 1 / (1 + Σ_{j≠i} e^{x_j − x_i}) is decreasing in every x_j (j≠i) and
 * increasing in x_i, so the box corners give it exactly; likewise log-softmax_i = −log(1 + Σ…).
 */
import { downBy, intervalMul, nextDown, nextUp, upBy } from '../round.ts';
import type { JvpBoundsArgs, OpImpl, VjpArgs } from './types.ts';
import { Scratch } from './types.ts';

export class SoftmaxOp implements OpImpl {
  readonly type: 'softmax' | 'log_softmax';
  readonly params: Float64Array[] = [];
  private readonly p = new Scratch();
  private readonly pl = new Scratch();
  private readonly ph = new Scratch();
  private readonly pair = new Float64Array(2);

  constructor(
    readonly width: number,
    readonly log: boolean,
  ) {
    this.type = log ? 'log_softmax' : 'softmax';
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    const x = ins[0],
      w = this.width;
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      let m = -Infinity;
      for (let i = 0; i < w; i++) if (x[o + i] > m) m = x[o + i];
      let s = 0;
      for (let i = 0; i < w; i++) s += Math.exp(x[o + i] - m);
      if (this.log) {
        // (x − m) − log s, not x − (m + log s): rounding m + log s would cost |m|·u absolutely
        const ls = Math.log(s);
        for (let i = 0; i < w; i++) y[o + i] = x[o + i] - m - ls;
      } else {
        for (let i = 0; i < w; i++) y[o + i] = Math.exp(x[o + i] - m) / s;
      }
    }
  }

  /** Softmax probabilities of each row (y itself, or exp(y) for log-softmax). */
  private probs(y: Float64Array, rows: number): Float64Array {
    if (!this.log) return y;
    const n = rows * this.width,
      p = this.p.get(n);
    for (let i = 0; i < n; i++) p[i] = Math.exp(y[i]);
    return p;
  }

  jvp(_ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    const w = this.width,
      t = tIns[0],
      p = this.probs(y, rows);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w;
        let dot = 0;
        for (let i = 0; i < w; i++) dot += p[r * w + i] * t[o + i];
        if (this.log) for (let i = 0; i < w; i++) tOut[o + i] = t[o + i] - dot;
        else for (let i = 0; i < w; i++) tOut[o + i] = p[r * w + i] * (t[o + i] - dot);
      }
    }
  }

  vjp(args: VjpArgs): void {
    const { y, gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    const w = this.width,
      p = this.probs(y, rows);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w;
        let s = 0;
        if (this.log) for (let i = 0; i < w; i++) s += gOut[o + i];
        else for (let i = 0; i < w; i++) s += gOut[o + i] * p[r * w + i];
        for (let i = 0; i < w; i++) {
          const v = this.log ? gOut[o + i] - p[r * w + i] * s : p[r * w + i] * (gOut[o + i] - s);
          if (acc[0]) g[o + i] += v;
          else g[o + i] = v;
        }
      }
    }
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const w = this.width,
      l = lo[0],
      h = hi[0];
    for (let r = 0; r < rows; r++) {
      const o = r * w;
      for (let i = 0; i < w; i++) {
        // S⁺ = Σ_{j≠i} e^{h_j − l_i} (upper), S⁻ = Σ_{j≠i} e^{l_j − h_i} (lower)
        let sUp = 0,
          sDn = 0;
        for (let j = 0; j < w; j++) {
          if (j === i) continue;
          sUp = nextUp(sUp + upBy(Math.exp(nextUp(h[o + j] - l[o + i])), 1));
          sDn = Math.max(0, nextDown(sDn + downBy(Math.exp(nextDown(l[o + j] - h[o + i])), 1)));
        }
        const dUp = nextUp(1 + sUp),
          dDn = nextDown(1 + sDn);
        if (this.log) {
          yLo[o + i] = -upBy(Math.log(dUp), 1);
          yHi[o + i] = Math.min(0, -downBy(Math.log(dDn), 1));
        } else {
          yLo[o + i] = Math.max(0, nextDown(1 / dUp));
          yHi[o + i] = Math.min(1, nextUp(1 / dDn));
        }
        if (l[o + i] !== l[o + i] || h[o + i] !== h[o + i]) yLo[o + i] = yHi[o + i] = NaN;
      }
    }
  }

  /** Its interval bounds gain from tight input bounds (CROWN refines them). */
  get tightInputs(): boolean {
    return true;
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { yLo, yHi, tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const w = this.width,
      n = rows * w,
      q = this.pair;
    // probability bounds
    const pl = this.pl.get(n),
      ph = this.ph.get(n);
    for (let i = 0; i < n; i++) {
      if (this.log) {
        pl[i] = Math.max(0, downBy(Math.exp(yLo[i]), 1));
        ph[i] = Math.min(1, upBy(Math.exp(yHi[i]), 1));
      } else {
        pl[i] = yLo[i];
        ph[i] = yHi[i];
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let kk = 0; kk < k; kk++) {
        const o = (r * k + kk) * w;
        for (let i = 0; i < w; i++) {
          let sl = 0,
            sh = 0;
          for (let j = 0; j < w; j++) {
            // entry J_ij enclosed in [jl, jh]
            let jl: number, jh: number;
            const pjl = pl[r * w + j],
              pjh = ph[r * w + j];
            if (this.log) {
              jl = nextDown((i === j ? 1 : 0) - pjh);
              jh = nextUp((i === j ? 1 : 0) - pjl);
            } else if (i === j) {
              // p(1−p) on [pl, ph]: increasing below ½, decreasing above
              const a = pjl * (1 - pjl),
                b = pjh * (1 - pjh);
              jl = nextDown(nextDown(Math.min(a, b)));
              jh = pjl <= 0.5 && pjh >= 0.5 ? 0.25 : nextUp(nextUp(Math.max(a, b)));
              if (jl < 0) jl = 0;
            } else {
              const pil = pl[r * w + i],
                pih = ph[r * w + i];
              jl = -nextUp(pih * pjh);
              jh = -nextDown(pil * pjl);
            }
            intervalMul(jl, jh, tLo[0][o + j], tHi[0][o + j], q);
            sl = nextDown(sl + q[0]);
            sh = nextUp(sh + q[1]);
          }
          tOutLo[o + i] = sl;
          tOutHi[o + i] = sh;
        }
      }
    }
  }
}
