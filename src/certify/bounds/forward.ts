/**
 * Linear relaxation bounds: every node's value is enclosed between two affine functions of the
 * unknowns over a box, propagated forward through the graph (symbolic intervals, Wang et al.
 * 2018 "Formal security analysis of neural networks using symbolic intervals"; the forward form
 * of DeepPoly, Singh et al. 2019, without back-substitution).
 *
 * Variables are normalised to the box, x = c + r ⊙ t with t ∈ [−1, 1]ⁿ, so an affine form
 * a·t + b is bounded over the box by b ± Σ|aⱼ|.
 *
 * Element-wise functions get a relaxation for every function in the engine's table, from its
 * sound value and derivative ranges only (no per-function code): the slope a is picked among the
 * chord and the tangents at the ends and the middle (whichever line is highest / lowest at the
 * middle), and the offset is a *sound* bound of min / max (f(z) − a·z) over [l, u], computed on
 * 8 sub-intervals as the better of the natural and the mean-value enclosure.
 *
 * Soundness under rounding: coefficients are ordinary floats; each operation's rounding error
 * (≤ γ·Σ|terms| per coefficient, Higham §3.1) is moved into the constant, outward, since
 * |Σ δⱼtⱼ| ≤ Σ|δⱼ| on the box. At every node the concretised bound is intersected with the plain
 * interval bound, so these bounds are never wider than intervals; on linear nets they are exact
 * up to rounding.
 * Ops without a linear rule (products of two variables, division, softmax) fall back to their
 * interval bound as a constant form.
 */
import type { CompiledNode } from '../../graph/compile.ts';
import type { UnaryFn } from '../../graph/activations/types.ts';
import { gamma, intervalMul, nextDown, nextUp } from '../../graph/round.ts';
import type { Problem } from '../../problem/query.ts';

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


/** Sound lower bound of Σ a_j t_j + b over t ∈ [−1,1]ⁿ: b − Σ|a_j|, rounded down. */
function concLo(F: Float64Array, off: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.abs(F[off + j]);
  s = nextUp(s * (1 + gamma(n + 1)));
  return nextDown(F[off + n] - s);
}
function concHi(F: Float64Array, off: number, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.abs(F[off + j]);
  s = nextUp(s * (1 + gamma(n + 1)));
  return nextUp(F[off + n] + s);
}

function constForms(n: number, lo: Float64Array, hi: Float64Array): Forms {
  const w = lo.length;
  const L = new Float64Array(w * (n + 1)),
    U = new Float64Array(w * (n + 1));
  for (let i = 0; i < w; i++) {
    L[i * (n + 1) + n] = lo[i];
    U[i * (n + 1) + n] = hi[i];
  }
  return { width: w, L, U, lo: lo.slice(), hi: hi.slice() };
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

/**
 * Output bounds over `rows` boxes of the unknowns (given as full-input boxes L, H), from the
 * linear relaxation intersected with the engine's interval bounds.
 */
export function linearBounds(problem: Problem, L: Float64Array, H: Float64Array, rows: number): { lo: Float64Array; hi: Float64Array } {
  const net = problem.model.network;
  const ib = net.bounds(L, H, rows);
  const nIn = net.nIn,
    nOut = net.nOut;
  const lo = ib.lo,
    hi = ib.hi;
  for (let r = 0; r < rows; r++) {
    const forms = propagateForms(net.nodes, problem.unknowns, L.subarray(r * nIn, (r + 1) * nIn), H.subarray(r * nIn, (r + 1) * nIn));
    for (let o = 0; o < nOut; o++) {
      const { node, pos } = net.outputMap[o];
      const f = forms[node];
      if (f.lo[pos] > lo[r * nOut + o]) lo[r * nOut + o] = f.lo[pos];
      if (f.hi[pos] < hi[r * nOut + o]) hi[r * nOut + o] = f.hi[pos];
    }
  }
  return { lo, hi };
}

/**
 * Forward symbolic forms of every node over one box (L, H: one full input row), in the
 * `unknowns` (input feature indices; the other inputs are constants L = H).
 */
export function propagateForms(nodes: readonly CompiledNode[], unknowns: readonly number[], L: Float64Array, H: Float64Array): Forms[] {
  const n = unknowns.length,
    S = n + 1;
  const forms: Forms[] = [];
  const g = gamma(64);
  const rel = new Float64Array(4);
  for (let ni = 0; ni < nodes.length; ni++) {
    const nd = nodes[ni];
    if (!nd.impl) {
      // input features: unknown j → c + r·t_j ; known → constant
      const w = nd.width;
      const F: Forms = { width: w, L: new Float64Array(w * S), U: new Float64Array(w * S), lo: new Float64Array(w), hi: new Float64Array(w) };
      for (let i = 0; i < w; i++) {
        const feat = nd.inputOffset + i;
        const j = unknowns.indexOf(feat);
        const l = L[feat],
          h = H[feat];
        F.lo[i] = l;
        F.hi[i] = h;
        if (j < 0 || l === h) {
          F.L[i * S + n] = l;
          F.U[i * S + n] = h;
        } else {
          const c = 0.5 * l + 0.5 * h,
            rr = 0.5 * h - 0.5 * l;
          // x = c + rr·t, with the rounding of c and rr moved into the constants
          const e = nextUp(Math.max(Math.abs(h - (c + rr)), Math.abs(l - (c - rr))) + 1e-300);
          F.L[i * S + j] = rr;
          F.U[i * S + j] = rr;
          F.L[i * S + n] = nextDown(c - e);
          F.U[i * S + n] = nextUp(c + e);
        }
      }
      forms.push(F);
      continue;
    }
    const impl = nd.impl as unknown as Record<string, unknown> & { type: string; width: number };
    const ins = nd.inputs.map((i) => forms[i]);
    const w = nd.width;
    const out: Forms = { width: w, L: new Float64Array(w * S), U: new Float64Array(w * S), lo: new Float64Array(w), hi: new Float64Array(w) };
    let linear = true;
    switch (impl.type) {
      case 'dense': {
        const W = impl.W as Float64Array,
          b = impl.b as Float64Array | null,
          K = impl.inWidth as number;
        const x = ins[0];
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
        break;
      }
      case 'affine': {
        const sc = impl.scale as Float64Array,
          sh = impl.shift as Float64Array;
        const x = ins[0];
        for (let i = 0; i < w; i++) scaleForm(x, i, sc[i], sh[i], out, i, n, g);
        break;
      }
      case 'unary': {
        const fn = impl.fn as UnaryFn;
        const x = ins[0];
        for (let i = 0; i < w; i++) {
          relaxUnary(fn, x.lo[i], x.hi[i], rel);
          const [aL, bL, aU, bU] = rel;
          if (!Number.isFinite(bL) || !Number.isFinite(bU)) {
            linear = false;
            break;
          }
          // lower: aL·z + bL with z's lower form if aL ≥ 0, else its upper form
          combine(x, i, aL, bL, out, i, n, g, true);
          combine(x, i, aU, bU, out, i, n, g, false);
        }
        break;
      }
      case 'binary_const': {
        const fn = impl.fn as string,
          c = impl.c as Float64Array,
          first = impl.constantFirst as boolean;
        const x = ins[0];
        if (fn === 'div' && first) {
          linear = false;
          break;
        }
        for (let i = 0; i < w; i++) {
          const ci = c[c.length === 1 ? 0 : i];
          if (fn === 'add') scaleForm(x, i, 1, ci, out, i, n, g);
          else if (fn === 'sub') scaleForm(x, i, first ? -1 : 1, first ? ci : -ci, out, i, n, g);
          else if (fn === 'mul') scaleForm(x, i, ci, 0, out, i, n, g);
          else scaleForm(x, i, 1 / ci, 0, out, i, n, g, true);
        }
        break;
      }
      case 'binary': {
        const fn = impl.fn as string;
        if (fn !== 'add' && fn !== 'sub') {
          linear = false;
          break;
        }
        const [a, b] = ins;
        for (let i = 0; i < w; i++) {
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
        break;
      }
      case 'concat': {
        let off = 0;
        for (const x of ins) {
          out.L.set(x.L, off * S);
          out.U.set(x.U, off * S);
          off += x.width;
        }
        break;
      }
      case 'gather': {
        const idx = impl.indices as Int32Array;
        const x = ins[0];
        for (let i = 0; i < w; i++) {
          out.L.set(x.L.subarray(idx[i] * S, idx[i] * S + S), i * S);
          out.U.set(x.U.subarray(idx[i] * S, idx[i] * S + S), i * S);
        }
        break;
      }
      case 'reshape':
        out.L.set(ins[0].L);
        out.U.set(ins[0].U);
        break;
      default:
        linear = false;
    }
    // concretise and intersect with the plain interval bound of this node from its inputs' intervals
    const iLo = ins.map((x) => x.lo),
      iHi = ins.map((x) => x.hi);
    const nLo = new Float64Array(w),
      nHi = new Float64Array(w);
    nd.impl.bounds(iLo, iHi, nLo, nHi, 1);
    if (!linear) {
      forms.push(constForms(n, nLo, nHi));
      continue;
    }
    for (let i = 0; i < w; i++) {
      const l = concLo(out.L, i * S, n),
        h = concHi(out.U, i * S, n);
      out.lo[i] = Math.max(l, nLo[i]);
      out.hi[i] = Math.min(h, nHi[i]);
      if (!(out.lo[i] <= out.hi[i])) {
        // NaN or crossed by rounding noise: keep the interval bound
        out.lo[i] = nLo[i];
        out.hi[i] = nHi[i];
      }
    }
    forms.push(out);
  }
  return forms;
}

/** out_i = s·x_i + t (t exact constant), rounding moved into the constant. */
function scaleForm(x: Forms, i: number, s: number, t: number, out: Forms, o: number, n: number, g: number, inexact = false): void {
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
function combine(x: Forms, i: number, a: number, b: number, out: Forms, o: number, n: number, g: number, lower: boolean): void {
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
