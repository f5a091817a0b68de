/** Element-wise function node: y = f(x), any function of the activation table. */
import type { UnaryFn } from '../activations/types.ts';
import { intervalMul } from '../round.ts';
import { Scratch, type ChainLayerSpec, type JvpBoundsArgs, type OpImpl, type VjpArgs } from './types.ts';
import { crownLines, forwardLines, relaxElementwise, type CrownStep, type ForwardStep } from './relax.ts';
import { isPwlName, pwlForm, type MilpStep } from './pwl.ts';

export class UnaryOp implements OpImpl {
  readonly type = 'unary';
  readonly params: Float64Array[] = [];
  private readonly d = new Scratch();
  private readonly dHi = new Scratch();
  private readonly pair = new Float64Array(2);

  constructor(
    readonly width: number,
    readonly fn: UnaryFn,
    /** The function's parameters (alpha, min, max…), for the MILP's piecewise-linear form. */
    readonly fnParams: Record<string, number> = {},
  ) {}

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    this.fn.map(ins[0], y, rows * this.width);
  }

  jvp(ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    const w = this.width,
      n = rows * w;
    const d = this.d.get(n);
    this.fn.deriv(ins[0], y, d, n);
    const t = tIns[0];
    for (let r = 0; r < rows; r++) {
      const dr = r * w;
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w;
        for (let i = 0; i < w; i++) tOut[o + i] = d[dr + i] * t[o + i];
      }
    }
  }

  vjp(args: VjpArgs): void {
    const { ins, y, gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    const w = this.width,
      n = rows * w;
    const d = this.d.get(n);
    this.fn.deriv(ins[0], y, d, n);
    for (let r = 0; r < rows; r++) {
      const dr = r * w;
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w;
        if (acc[0]) for (let i = 0; i < w; i++) g[o + i] += d[dr + i] * gOut[o + i];
        else for (let i = 0; i < w; i++) g[o + i] = d[dr + i] * gOut[o + i];
      }
    }
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const n = rows * this.width,
      p = this.pair,
      l = lo[0],
      h = hi[0];
    for (let i = 0; i < n; i++) {
      this.fn.range(l[i], h[i], p);
      yLo[i] = p[0];
      yHi[i] = p[1];
    }
  }

  /** Its inputs' bounds decide its relaxation lines. */
  get tightInputs(): boolean {
    return true;
  }

  /** The relaxation lines of f on each input interval (relaxUnary). */
  relax(lo: Float64Array[], hi: Float64Array[]): Float64Array {
    return relaxElementwise(this.fn, lo[0], hi[0], this.width);
  }

  crown(st: CrownStep): number {
    crownLines(st, this.width);
    return this.width;
  }

  forwardLinear(st: ForwardStep): boolean {
    return forwardLines(st, this.fn, this.width);
  }

  /** Piecewise-linear when f has a relu-sum form (pwl.ts PWL_FORMS); else named by f. */
  nonPwl(): string | null {
    return isPwlName(this.fn.name) ? null : this.fn.name;
  }

  /** A relu is a chain layer; other functions are not. */
  chainLayer(): ChainLayerSpec | null {
    return this.fn.name === 'relu' ? { kind: 'relu' } : null;
  }

  /** MILP: the relu-sum form of a piecewise-linear f (pwl.ts); other functions: null. */
  milp<E>(st: MilpStep<E>): E[] | null {
    const form = pwlForm(this.fn.name, this.fnParams);
    return form ? st.activation(st.ins[0], form, (l, h, o) => this.fn.range(l, h, o)) : null;
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { lo, hi, tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const w = this.width,
      n = rows * w,
      p = this.pair;
    const dl = this.d.get(n),
      dh = this.dHi.get(n);
    for (let i = 0; i < n; i++) {
      this.fn.dRange(lo[0][i], hi[0][i], p);
      dl[i] = p[0];
      dh[i] = p[1];
    }
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w;
        for (let i = 0; i < w; i++) {
          intervalMul(dl[r * w + i], dh[r * w + i], tLo[0][o + i], tHi[0][o + i], p);
          tOutLo[o + i] = p[0];
          tOutHi[o + i] = p[1];
        }
      }
    }
  }
}
