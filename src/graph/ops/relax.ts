/**
 * Shared pieces of the ops' linear-relaxation facets (OpImpl.relax, crown, forwardLinear):
 * the element-wise relaxation lines, the forward symbolic forms and their sound updates, and
 * the CROWN back-substitution step with its rounding allowances.
 *
 * Relaxation lines (relaxUnary): for every function of the engine's table, from its sound value
 * and derivative ranges only (no per-function code): the slope is picked among the chord and the
 * tangents at the ends and the middle (whichever line is highest / lowest at the middle), and the
 * offset is a sound bound of min / max (f(z) − a·z) over [l, u], computed on 8 sub-intervals as
 * the better of the natural and the mean-value enclosure (the DeepPoly / CROWN style lines of
 * Singh et al. 2019 and Zhang et al. 2018, derived generically).
 *
 * Forward forms (Wang et al. 2018, symbolic intervals): every node's features are enclosed
 * between two affine forms in the unknowns normalised to [−1, 1]; each operation's rounding error
 * (≤ γ·Σ|terms| per coefficient, Higham §3.1) is moved into the constant, outward.
 *
 * CROWN step (Zhang et al. 2018): a node's coefficient rows λ are pushed onto its inputs' rows;
 * each computed coefficient's rounding error multiplies a value bounded by the input's magnitude,
 * so it is moved into the per-row allowance E as γ_K·Σ|terms|·max(|lo|, |hi|) (see
 * certify/bounds/crown.ts for the whole argument).
 */
import type { UnaryFn } from '../activations/types.ts';
import { down, gamma, intervalMul, nextDown, nextUp, up } from '../round.ts';

/** Affine forms for the n unknowns of one node: per feature, lower and upper (n coefficients + constant). */
export interface Forms {
  width: number;
  /** width × (n+1): coefficients then constant, lower forms */
  L: Float64Array;
  U: Float64Array;
  /** concretised interval per feature */
  lo: Float64Array;
  hi: Float64Array;
}

/**
 * Sound relaxation lines of f on [l, u]: a_L z + b_L ≤ f(z) ≤ a_U z + b_U.
 * Written into out = [aL, bL, aU, bU].
 */
// scratch pairs, reused across calls (these run per neuron per box: no allocation there)
const RELAX_PAIR = new Float64Array(2);
const OFF_R = new Float64Array(2),
  OFF_D = new Float64Array(2),
  OFF_C = new Float64Array(2),
  OFF_M = new Float64Array(2);

export function relaxUnary(fn: UnaryFn, l: number, u: number, out: Float64Array): void {
  const pr = RELAX_PAIR;
  if (!(u > l)) {
    fn.range(l, u, pr);
    out[0] = 0;
    out[1] = pr[0];
    out[2] = 0;
    out[3] = pr[1];
    return;
  }
  if (!Number.isFinite(l) || !Number.isFinite(u)) {
    fn.range(l, u, pr);
    out[0] = 0;
    out[1] = pr[0];
    out[2] = 0;
    out[3] = pr[1];
    return;
  }
  const fl = fn.f(l),
    fu = fn.f(u),
    m = 0.5 * (l + u);
  const candidates = [(fu - fl) / (u - l), fn.df(l), fn.df(u), fn.df(m), 0];
  let best = { a: 0, b: -Infinity, v: -Infinity },
    bestU = { a: 0, b: Infinity, v: Infinity };
  for (const a of candidates) {
    if (!Number.isFinite(a)) continue;
    const [gmin, gmax] = offsetRange(fn, a, l, u);
    const vL = a * m + gmin,
      vU = a * m + gmax;
    if (vL > best.v) best = { a, b: gmin, v: vL };
    if (vU < bestU.v) bestU = { a, b: gmax, v: vU };
  }
  out[0] = best.a;
  out[1] = best.b;
  out[2] = bestU.a;
  out[3] = bestU.b;
}

const PIECES = 8;

/** Sound [min, max] of g(z) = f(z) − a·z over [l, u]. */
function offsetRange(fn: UnaryFn, a: number, l: number, u: number): [number, number] {
  const pr = OFF_R,
    pd = OFF_D,
    pc = OFF_C,
    pm = OFF_M;
  let gmin = Infinity,
    gmax = -Infinity;
  for (let p = 0; p < PIECES; p++) {
    const zl = p === 0 ? l : l + ((u - l) * p) / PIECES;
    const zh = p === PIECES - 1 ? u : l + ((u - l) * (p + 1)) / PIECES;
    // natural: f(Z) − a·Z
    fn.range(zl, zh, pr);
    intervalMul(a, a, zl, zh, pm);
    let lo = nextDown(pr[0] - pm[1]),
      hi = nextUp(pr[1] - pm[0]);
    // mean value: g(c) + (f'(Z) − a)·(Z − c)
    const c = 0.5 * (zl + zh);
    fn.range(c, c, pc);
    intervalMul(a, a, c, c, pm);
    const gcl = nextDown(pc[0] - pm[1]),
      gch = nextUp(pc[1] - pm[0]);
    fn.dRange(zl, zh, pd);
    const dl = nextDown(pd[0] - a),
      dh = nextUp(pd[1] - a);
    intervalMul(dl, dh, nextDown(zl - c), nextUp(zh - c), pm);
    const mvl = nextDown(gcl + pm[0]),
      mvh = nextUp(gch + pm[1]);
    if (mvl > lo) lo = mvl;
    if (mvh < hi) hi = mvh;
    if (lo < gmin) gmin = lo;
    if (hi > gmax) gmax = hi;
  }
  return [gmin, gmax];
}

/** out_i = s·x_i + t (t exact constant), rounding moved into the constant. */
export function scaleForm(x: Forms, i: number, s: number, t: number, out: Forms, o: number, n: number, g: number, inexact = false): void {
  const S = n + 1;
  const src = s >= 0 ? [x.L, x.U] : [x.U, x.L];
  let el = 0,
    eu = 0;
  for (let k = 0; k <= n; k++) {
    out.L[o * S + k] = s * src[0][i * S + k];
    out.U[o * S + k] = s * src[1][i * S + k];
    el += Math.abs(out.L[o * S + k]);
    eu += Math.abs(out.U[o * S + k]);
  }
  const f = inexact ? 4 * Number.EPSILON : 2 * Number.EPSILON;
  out.L[o * S + n] = nextDown(nextDown(out.L[o * S + n] + t) - nextUp(f * el + g * Math.abs(t)));
  out.U[o * S + n] = nextUp(nextUp(out.U[o * S + n] + t) + nextUp(f * eu + g * Math.abs(t)));
}

/** out_o (lower or upper side) = a·x_i + b using x_i's lower or upper form by the sign of a. */
export function combine(x: Forms, i: number, a: number, b: number, out: Forms, o: number, n: number, g: number, lower: boolean): void {
  const S = n + 1;
  const src = lower === a >= 0 ? x.L : x.U;
  const dst = lower ? out.L : out.U;
  let e = 0;
  for (let k = 0; k <= n; k++) {
    dst[o * S + k] = a * src[i * S + k];
    e += Math.abs(dst[o * S + k]);
  }
  const err = nextUp(2 * Number.EPSILON * e + g * Math.abs(b));
  dst[o * S + n] = lower ? nextDown(nextDown(dst[o * S + n] + b) - err) : nextUp(nextUp(dst[o * S + n] + b) + err);
}

/** One node's step of CROWN back-substitution (OpImpl.crown), for m coefficient rows. */
export interface CrownStep {
  /** Number of coefficient rows. */
  m: number;
  /** This node's coefficients, m × width. */
  lam: Float64Array;
  /** Input a's coefficients (m × its width), zero until first used; a repeated input shares one buffer. */
  lamIn(a: number): Float64Array;
  /** max(|lo|, |hi|) of input a's features (∞ where unbounded). */
  magIn: Float64Array[];
  /** This node's bounds over the box. */
  lo: Float64Array;
  hi: Float64Array;
  /** This node's relaxation from OpImpl.relax (4 numbers per feature, NaN in slot 1: concretise), or null. */
  rel: Float64Array | null;
  /** Per-row constants of the linear forms (added to). */
  c: Float64Array;
  /** Per-row rounding allowance of this step (added to; the driver flushes it). */
  E: Float64Array;
}

/** One node's step of forward symbolic propagation (OpImpl.forwardLinear). */
export interface ForwardStep {
  /** The inputs' forms. */
  ins: Forms[];
  /** This node's forms to fill (zeroed; lo and hi are filled by the driver). */
  out: Forms;
  /** Number of unknowns (a form has n coefficients and a constant). */
  n: number;
  /** Generic rounding allowance factor γ for constants. */
  g: number;
  /** Scratch of 4 numbers (relaxation lines). */
  rel: Float64Array;
}

/** λ·v ≥ Σ min(λᵢ·loᵢ, λᵢ·hiᵢ) with this node's bounds: into the constants, the rounding allowance in E. Returns the term count. */
export function crownConcretise(s: CrownStep): number {
  const { lo, hi, lam: lk, m, c, E } = s;
  const w = lo.length;
  const g = gamma(w + 1);
  for (let r = 0; r < m; r++) {
    let sum = c[r],
      a = Math.abs(sum),
      nz = false;
    for (let i = 0; i < w; i++) {
      const v = lk[r * w + i];
      if (v === 0) continue;
      nz = true;
      const tt = v > 0 ? v * lo[i] : v * hi[i];
      sum += tt;
      a += Math.abs(tt);
    }
    if (!nz) continue;
    c[r] = sum;
    E[r] += g * a;
  }
  return w;
}

/** Element-wise y_i = s_i·x_i + t_i on input 0: λ_x += λ·s, c += λ·t; `extra` ulps of error in s. */
export function crownScaleShift(st: CrownStep, w: number, s: (i: number) => number, t: (i: number) => number, extra: number): void {
  const { lam: lk, m, c, E } = st;
  const lx = st.lamIn(0),
    mx = st.magIn[0];
  const g = gamma(2 + extra),
    gc = gamma(w + 1);
  for (let r = 0; r < m; r++) {
    let e = 0,
      cs = c[r],
      ca = Math.abs(cs);
    for (let i = 0; i < w; i++) {
      const v = lk[r * w + i];
      if (v === 0) continue;
      const si = s(i),
        ti = t(i);
      const pr = v * si;
      const o = lx[r * w + i];
      lx[r * w + i] = o + pr;
      if ((o !== 0 || pr !== 0) && (o !== 0 || si !== 1 || extra)) e += g * (Math.abs(o) + Math.abs(pr)) * mx[i];
      if (ti !== 0) {
        const q = v * ti;
        cs += q;
        ca += Math.abs(q);
      }
    }
    c[r] = cs;
    E[r] = e + gc * ca;
  }
}

/** Element-wise relaxation lines on input 0 (unary, c/x): λ ≥ 0 takes the lower line, λ < 0 the upper. */
export function crownLines(st: CrownStep, w: number): void {
  const R = st.rel!;
  const { lo, hi, lam: lk, m, c, E } = st;
  const lx = st.lamIn(0),
    mx = st.magIn[0];
  const g = gamma(2),
    gc = gamma(w + 1);
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
      const sl = v > 0 ? R[4 * i] : R[4 * i + 2],
        off = v > 0 ? R[4 * i + 1] : R[4 * i + 3];
      if (sl !== 0) {
        const pr = v * sl;
        const o = lx[r * w + i];
        lx[r * w + i] = o + pr;
        e += g * (Math.abs(o) + Math.abs(pr)) * mx[i];
      }
      const tt = v * off;
      s += tt;
      a += Math.abs(tt);
    }
    c[r] = s;
    E[r] = e + gc * a;
  }
}

/** Relaxation lines of f on each feature's input interval (NaN in slot 1 where not finite). */
export function relaxElementwise(fn: UnaryFn, zl: Float64Array, zh: Float64Array, w: number): Float64Array {
  const R = new Float64Array(4 * w),
    t = new Float64Array(4);
  for (let i = 0; i < w; i++) {
    relaxUnary(fn, zl[i], zh[i], t);
    R.set(t, 4 * i);
    if (!finiteLines(t)) R[4 * i + 1] = NaN;
  }
  return R;
}

/**
 * Forward forms of an element-wise function on input 0 from its relaxation lines: lower
 * aL·z + bL with z's lower form if aL ≥ 0, else its upper form (and the mirror for the upper
 * side). Returns false when a line is not finite (the driver falls back to the interval bound).
 */
export function forwardLines(s: ForwardStep, fn: UnaryFn, w: number): boolean {
  const x = s.ins[0],
    rel = s.rel;
  for (let i = 0; i < w; i++) {
    relaxUnary(fn, x.lo[i], x.hi[i], rel);
    const aL = rel[0],
      bL = rel[1],
      aU = rel[2],
      bU = rel[3];
    if (!Number.isFinite(bL) || !Number.isFinite(bU)) return false;
    combine(x, i, aL, bL, s.out, i, s.n, s.g, true);
    combine(x, i, aU, bU, s.out, i, s.n, s.g, false);
  }
  return true;
}

export function finiteLines(t: Float64Array): boolean {
  return Number.isFinite(t[0]) && Number.isFinite(t[1]) && Number.isFinite(t[2]) && Number.isFinite(t[3]);
}

/**
 * c/x as an element-wise function on an interval not containing 0, for relaxUnary: its value
 * and derivative ranges are monotone pieces (c/x and −c/x² on one side of 0), rounded outward.
 */
export function constOver(c: number): UnaryFn {
  const f = (x: number): number => c / x;
  const df = (x: number): number => -c / (x * x);
  return {
    name: 'const_over',
    f,
    df,
    dfSide: (x) => df(x),
    map: (x, y, n) => {
      for (let i = 0; i < n; i++) y[i] = f(x[i]);
    },
    deriv: (x, _y, d, n) => {
      for (let i = 0; i < n; i++) d[i] = df(x[i]);
    },
    range: (lo, hi, out) => {
      if (!(lo > 0 || hi < 0)) {
        out[0] = -Infinity;
        out[1] = Infinity;
        return;
      }
      const a = c / lo,
        b = c / hi;
      out[0] = nextDown(Math.min(a, b));
      out[1] = nextUp(Math.max(a, b));
    },
    dRange: (lo, hi, out) => {
      const mn = Math.min(Math.abs(lo), Math.abs(hi)),
        mxv = Math.max(Math.abs(lo), Math.abs(hi));
      if (!(lo > 0 || hi < 0) || mn < 1e-150 || mxv > 1e150) {
        out[0] = -Infinity;
        out[1] = Infinity;
        return;
      }
      const a = -c / (lo * lo),
        b = -c / (hi * hi);
      out[0] = down(Math.min(a, b));
      out[1] = up(Math.max(a, b));
    },
    kinks: [],
    extrema: [],
  };
}
