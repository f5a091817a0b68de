/**
 * Element-wise add, sub, mul, div of two tensors. Widths must match, or one side has width 1
 * and is broadcast (ONNX/numpy broadcasting restricted to feature vectors).
 */
import { gamma, intervalMul, nextDown, nextUp } from '../round.ts';
import { Scratch, type JvpBoundsArgs, type OpImpl, type VjpArgs } from './types.ts';
import { crownConcretise, type CrownStep, type ForwardStep } from './relax.ts';
import type { MilpStep } from './pwl.ts';

export type BinaryFn = 'add' | 'sub' | 'mul' | 'div';

export class BinaryOp implements OpImpl {
  readonly type = 'binary';
  readonly params: Float64Array[] = [];
  private readonly pair = new Float64Array(2);
  private readonly pair2 = new Float64Array(2);
  private readonly sumA = new Scratch();
  private readonly sumB = new Scratch();

  constructor(
    readonly fn: BinaryFn,
    readonly width: number,
    readonly wa: number,
    readonly wb: number,
  ) {}

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    const a = ins[0],
      b = ins[1],
      w = this.width,
      wa = this.wa,
      wb = this.wb;
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    for (let r = 0; r < rows; r++) {
      const o = r * w,
        oa = r * wa,
        ob = r * wb;
      switch (this.fn) {
        case 'add':
          for (let i = 0; i < w; i++) y[o + i] = a[oa + i * sa] + b[ob + i * sb];
          break;
        case 'sub':
          for (let i = 0; i < w; i++) y[o + i] = a[oa + i * sa] - b[ob + i * sb];
          break;
        case 'mul':
          for (let i = 0; i < w; i++) y[o + i] = a[oa + i * sa] * b[ob + i * sb];
          break;
        case 'div':
          for (let i = 0; i < w; i++) y[o + i] = a[oa + i * sa] / b[ob + i * sb];
          break;
      }
    }
  }

  jvp(ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    const a = ins[0],
      b = ins[1],
      ta = tIns[0],
      tb = tIns[1],
      w = this.width,
      wa = this.wa,
      wb = this.wb;
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * w,
          ota = (r * k + j) * wa,
          otb = (r * k + j) * wb;
        for (let i = 0; i < w; i++) {
          const dA = ta[ota + i * sa],
            dB = tb[otb + i * sb];
          switch (this.fn) {
            case 'add':
              tOut[o + i] = dA + dB;
              break;
            case 'sub':
              tOut[o + i] = dA - dB;
              break;
            case 'mul':
              tOut[o + i] = dA * b[r * wb + i * sb] + a[r * wa + i * sa] * dB;
              break;
            case 'div':
              // d(a/b) = (da − y·db)/b
              tOut[o + i] = (dA - y[r * w + i] * dB) / b[r * wb + i * sb];
              break;
          }
        }
      }
    }
  }

  vjp(args: VjpArgs): void {
    const { ins, y, gOut, gIns, accumulate: acc, rows, k } = args;
    const a = ins[0],
      b = ins[1],
      w = this.width,
      wa = this.wa,
      wb = this.wb;
    const ga = gIns[0],
      gb = gIns[1];
    const n = rows * k;
    // per-row partial sums, so broadcast (width-1) inputs sum over features before writing
    const pa = ga ? this.sumA.get(n * wa) : null,
      pb = gb ? this.sumB.get(n * wb) : null;
    if (pa) pa.fill(0, 0, n * wa);
    if (pb) pb.fill(0, 0, n * wb);
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const row = r * k + j,
          o = row * w;
        for (let i = 0; i < w; i++) {
          const g = gOut[o + i];
          const av = a[r * wa + i * sa],
            bv = b[r * wb + i * sb];
          let da: number, db: number;
          switch (this.fn) {
            case 'add':
              da = g;
              db = g;
              break;
            case 'sub':
              da = g;
              db = -g;
              break;
            case 'mul':
              da = g * bv;
              db = g * av;
              break;
            default:
              da = g / bv;
              db = (-g * y[r * w + i]) / bv;
          }
          if (pa) pa[row * wa + i * sa] += da;
          if (pb) pb[row * wb + i * sb] += db;
        }
      }
    }
    if (ga && pa) writeOrAdd(pa, ga, n * wa, acc[0]);
    if (gb && pb) writeOrAdd(pb, gb, n * wb, acc[1]);
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const w = this.width,
      wa = this.wa,
      wb = this.wb,
      p = this.pair;
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < w; i++) {
        const ia = r * wa + i * sa,
          ib = r * wb + i * sb,
          o = r * w + i;
        const al = lo[0][ia],
          ah = hi[0][ia],
          bl = lo[1][ib],
          bh = hi[1][ib];
        switch (this.fn) {
          case 'add':
            yLo[o] = nextDown(al + bl);
            yHi[o] = nextUp(ah + bh);
            break;
          case 'sub':
            yLo[o] = nextDown(al - bh);
            yHi[o] = nextUp(ah - bl);
            break;
          case 'mul':
            intervalMul(al, ah, bl, bh, p);
            yLo[o] = p[0];
            yHi[o] = p[1];
            break;
          case 'div':
            intervalDiv(al, ah, bl, bh, p);
            yLo[o] = p[0];
            yHi[o] = p[1];
            break;
        }
      }
    }
  }

  /** Products and quotients are relaxed (or bounded) from their operands' intervals. */
  get tightInputs(): boolean {
    return this.fn === 'mul' || this.fn === 'div';
  }

  /**
   * a·b: the averaged McCormick planes y ≷ βa·a + βb·b + γ_{L,U} with βa, βb the operands'
   * interval midpoints, the offsets bounded exactly at the four corners (a bilinear function's
   * extremes on a rectangle; McCormick 1976). Other functions: no relaxation (null).
   */
  relax(lo: Float64Array[], hi: Float64Array[]): Float64Array | null {
    if (this.fn !== 'mul') return null;
    const w = this.width;
    const sa = this.wa === 1 ? 0 : 1,
      sb = this.wb === 1 ? 0 : 1;
    const R = new Float64Array(4 * w);
    const g4 = gamma(4);
    for (let i = 0; i < w; i++) {
      const al = lo[0][i * sa],
        ah = hi[0][i * sa],
        bl = lo[1][i * sb],
        bh = hi[1][i * sb];
      if (![al, ah, bl, bh].every(Number.isFinite)) {
        R[4 * i + 1] = NaN;
        continue;
      }
      // y = a·b ≷ βa·a + βb·b + γ, with g(a, b) = ab − βa·a − βb·b bilinear: extremes at corners
      const ba = 0.5 * bl + 0.5 * bh,
        bb = 0.5 * al + 0.5 * ah;
      let gL = Infinity,
        gU = -Infinity;
      for (const a of [al, ah]) {
        for (const b of [bl, bh]) {
          const p1 = a * b,
            p2 = ba * a,
            p3 = bb * b;
          const v = p1 - p2 - p3;
          const e = g4 * (Math.abs(p1) + Math.abs(p2) + Math.abs(p3));
          gL = Math.min(gL, v - e);
          gU = Math.max(gU, v + e);
        }
      }
      R[4 * i] = ba;
      R[4 * i + 1] = nextDown(gL);
      R[4 * i + 2] = bb;
      R[4 * i + 3] = nextUp(gU);
      if (!Number.isFinite(R[4 * i + 1]) || !Number.isFinite(R[4 * i + 3])) R[4 * i + 1] = NaN;
    }
    return R;
  }

  /** CROWN: a ± b exactly (with broadcasting); a·b by its McCormick planes; a / b concretised. */
  crown(st: CrownStep): number {
    const fn = this.fn,
      w = this.width,
      wa = this.wa,
      wb = this.wb;
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    const { lam: lk, m, c, E } = st;
    if (fn === 'add' || fn === 'sub') {
      const sgn = fn === 'add' ? 1 : -1;
      const la = st.lamIn(0),
        ma = st.magIn[0];
      const lb = st.lamIn(1),
        mb = st.magIn[1];
      const g = gamma(2);
      for (let r = 0; r < m; r++) {
        let e = 0;
        for (let i = 0; i < w; i++) {
          const v = lk[r * w + i];
          if (v === 0) continue;
          const ja = r * wa + i * sa;
          const oa = la[ja];
          la[ja] = oa + v;
          if (oa !== 0) e += g * (Math.abs(oa) + Math.abs(v)) * ma[i * sa];
          const jb = r * wb + i * sb;
          const ob = lb[jb];
          lb[jb] = ob + sgn * v;
          if (ob !== 0) e += g * (Math.abs(ob) + Math.abs(v)) * mb[i * sb];
        }
        E[r] = e;
      }
      return 2 * w;
    }
    if (fn === 'mul') {
      const R = st.rel!;
      const la = st.lamIn(0),
        ma = st.magIn[0];
      const lb = st.lamIn(1),
        mb = st.magIn[1];
      const lo = st.lo,
        hi = st.hi;
      const g = gamma(3);
      for (let r = 0; r < m; r++) {
        let e = 0,
          s = c[r],
          a = Math.abs(s);
        for (let i = 0; i < w; i++) {
          const v = lk[r * w + i];
          if (v === 0) continue;
          if (R[4 * i + 1] !== R[4 * i + 1]) {
            const tt = v > 0 ? v * lo[i] : v * hi[i];
            s += tt;
            a += Math.abs(tt);
            continue;
          }
          const ja = r * wa + i * sa,
            jb = r * wb + i * sb;
          const pa = v * R[4 * i],
            pb = v * R[4 * i + 2];
          const oa = la[ja];
          la[ja] = oa + pa;
          if (oa !== 0 || pa !== 0) e += g * (Math.abs(oa) + Math.abs(pa)) * ma[i * sa];
          const ob = lb[jb];
          lb[jb] = ob + pb;
          if (ob !== 0 || pb !== 0) e += g * (Math.abs(ob) + Math.abs(pb)) * mb[i * sb];
          const tt = v * (v > 0 ? R[4 * i + 1] : R[4 * i + 3]);
          s += tt;
          a += Math.abs(tt);
        }
        c[r] = s;
        E[r] = e + gamma(w + 1) * a;
      }
      return 3 * w;
    }
    return crownConcretise(st);
  }

  /** Forward forms: a ± b only (products and quotients fall back to intervals). */
  forwardLinear(st: ForwardStep): boolean {
    const fn = this.fn;
    if (fn !== 'add' && fn !== 'sub') return false;
    const [a, b] = st.ins;
    const out = st.out,
      S = st.n + 1,
      n = st.n;
    for (let i = 0; i < this.width; i++) {
      const ia = a.width === 1 ? 0 : i,
        ib = b.width === 1 ? 0 : i;
      for (let s = 0; s < S; s++) {
        if (fn === 'add') {
          out.L[i * S + s] = a.L[ia * S + s] + b.L[ib * S + s];
          out.U[i * S + s] = a.U[ia * S + s] + b.U[ib * S + s];
        } else {
          out.L[i * S + s] = a.L[ia * S + s] - b.U[ib * S + s];
          out.U[i * S + s] = a.U[ia * S + s] - b.L[ib * S + s];
        }
      }
      let el = 0,
        eu = 0;
      for (let s = 0; s < S; s++) {
        el += Math.abs(out.L[i * S + s]);
        eu += Math.abs(out.U[i * S + s]);
      }
      out.L[i * S + n] = nextDown(out.L[i * S + n] - nextUp(4 * Number.EPSILON * el));
      out.U[i * S + n] = nextUp(out.U[i * S + n] + nextUp(4 * Number.EPSILON * eu));
    }
    return true;
  }

  /** Sums and differences are piecewise-linear (linear); products and quotients are not. */
  nonPwl(): string | null {
    return this.fn === 'add' || this.fn === 'sub' ? null : `binary ${this.fn}`;
  }

  /** MILP: a ± b (with broadcasting); products and quotients are not piecewise-linear. */
  milp<E>(st: MilpStep<E>): E[] | null {
    if (this.nonPwl() !== null) return null;
    const [a, b] = st.ins;
    const sb = this.fn === 'sub' ? -1 : 1;
    const out: E[] = [];
    for (let i = 0; i < this.width; i++) out.push(st.combine([[1, a[a.length === 1 ? 0 : i]], [sb, b[b.length === 1 ? 0 : i]]], 0));
    return out;
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { lo, hi, yLo, yHi, tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const w = this.width,
      wa = this.wa,
      wb = this.wb,
      p = this.pair,
      q = this.pair2;
    const sa = wa === 1 ? 0 : 1,
      sb = wb === 1 ? 0 : 1;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const row = r * k + j;
        for (let i = 0; i < w; i++) {
          const o = row * w + i,
            ta = row * wa + i * sa,
            tb = row * wb + i * sb;
          const dal = tLo[0][ta],
            dah = tHi[0][ta],
            dbl = tLo[1][tb],
            dbh = tHi[1][tb];
          switch (this.fn) {
            case 'add':
              tOutLo[o] = nextDown(dal + dbl);
              tOutHi[o] = nextUp(dah + dbh);
              break;
            case 'sub':
              tOutLo[o] = nextDown(dal - dbh);
              tOutHi[o] = nextUp(dah - dbl);
              break;
            case 'mul': {
              const ia = r * wa + i * sa,
                ib = r * wb + i * sb;
              intervalMul(dal, dah, lo[1][ib], hi[1][ib], p);
              intervalMul(lo[0][ia], hi[0][ia], dbl, dbh, q);
              tOutLo[o] = nextDown(p[0] + q[0]);
              tOutHi[o] = nextUp(p[1] + q[1]);
              break;
            }
            default: {
              // (da − y·db) / b over the boxes
              const ib = r * wb + i * sb;
              intervalMul(yLo[r * w + i], yHi[r * w + i], dbl, dbh, q);
              const nl = nextDown(dal - q[1]),
                nh = nextUp(dah - q[0]);
              intervalDiv(nl, nh, lo[1][ib], hi[1][ib], p);
              tOutLo[o] = p[0];
              tOutHi[o] = p[1];
            }
          }
        }
      }
    }
  }
}

function writeOrAdd(src: Float64Array, dst: Float64Array, n: number, acc: boolean): void {
  if (acc) for (let i = 0; i < n; i++) dst[i] += src[i];
  else for (let i = 0; i < n; i++) dst[i] = src[i];
}

/** Sound [al,ah]/[bl,bh]: unbounded when the divisor interval contains 0. */
export function intervalDiv(al: number, ah: number, bl: number, bh: number, out: Float64Array): void {
  if (al !== al || ah !== ah || bl !== bl || bh !== bh) {
    out[0] = NaN;
    out[1] = NaN;
    return;
  }
  if (bl <= 0 && bh >= 0) {
    out[0] = -Infinity;
    out[1] = Infinity;
    return;
  }
  intervalMul(al, ah, nextDown(1 / bh), nextUp(1 / bl), out);
}
