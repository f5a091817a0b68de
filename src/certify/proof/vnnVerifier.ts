/**
 * The independent verifier of VNN unsat certificates (vnnCertificate.ts).
 *
 * It trusts nothing in the certificate but its split points and hint weights (any finite
 * weights ≥ 0 are sound, see below): it re-walks every tree, checks that
 * the leaves cover the input box exactly (each split halves a box into [lo, t] and [t, hi]), and
 * proves, for each leaf box, that every clause of the unsafe output DNF has a constraint (or, by
 * a hint, a pair of constraints) that cannot hold anywhere in the box. Shares no code with the search (bnb, bounds/forward.ts,
 * bounds/crown.ts): it uses the independent interval evaluator of verifier.ts (VerifierNet, up/dn,
 * element-wise ranges) and its own linear bounds, tried in this order per leaf:
 *   1. natural interval extension of the whole graph (VerifierNet.bounds);
 *   2. forward symbolic intervals: a lower and an upper linear function of the inputs per neuron
 *      (Wang, Pei, Whitehouse, Yang & Jana, "Formal security analysis of neural networks using
 *      symbolic intervals", USENIX Security 2018), ReLU upper relaxation u(z − l)/(u − l),
 *      lower z or 0 (whichever drops less area);
 *   3. CROWN back-substitution of the constraint's linear form through the net with the
 *      pre-activation bounds of step 2 (Zhang, Weng, Chen, Hsieh & Daniel, "Efficient neural
 *      network robustness certification with general activation functions", NeurIPS 2018);
 *   4. full CROWN: a second forward pass in which every dense layer is also intersected with
 *      interval arithmetic on the previous bounds and every neuron entering a crossing ReLU is
 *      refined by its own back-substitution before the next layer is relaxed (so later
 *      relaxations use refined bounds), then the best of steps 1–3 on those bounds;
 *   5. step 4 again with every boundary's bounds intersected with those step 4 proved on the
 *      leaf's ancestor boxes in the tree (valid: each ancestor box contains the leaf), computed
 *      lazily from the root down only for leaves that steps 1–4 cannot settle. This matches the
 *      search (bounds/reluChain.ts inherits its parent box's bounds), so a leaf the search
 *      proved is re-checkable; the implementation is this file's own.
 * A clause no single form refutes on a leaf may still be refuted by a hint of that leaf (a hinted
 * leaf, vnnCertificate.ts): the verifier builds the combined form μ·g_a + ν·g_b itself with
 * outward rounding (combineForms: the combination's rounding and the constraints' own coefficient
 * errors go into the form's error fields) and tries it with the same methods 1–5; the weights are
 * only trusted to be finite and ≥ 0, which makes any weights sound. A slope hint (version 3) gives,
 * for one form, the slope α ∈ [0, 1] of every ReLU's lower line relu(z) ≥ α·z; the verifier uses
 * them in that form's final back-substitution (methods 3–5; its intermediate bounds stay its own),
 * where any α in [0, 1] is sound (α-CROWN, Xu et al. 2021).
 * Element-wise functions other than ReLU are relaxed by two parallel lines from the mean value
 * theorem with the verifier's own enclosures of f and f' (relaxUnary below).
 * Steps 2 and 3 need a chain of dense / element-wise affine / unary layers (ACAS Xu and every
 * MLP); other graphs get step 1 only.
 *
 * Floating point: all bounds are of the real-valued function defined by the stored weights.
 * Every linear form is computed in floating point and then shifted by an a-priori bound of its
 * rounding error, |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γₘ Σ|aᵢ||bᵢ| (Higham, Accuracy and Stability of Numerical
 * Algorithms, 2nd ed., §3.1), times a bound on |variable| from the layer's concrete bounds (the
 * coefficient error of a form, evaluated over the box). Each scalar step of a concrete bound is
 * stepped outward with up/dn. A NaN anywhere makes that method fail (never succeed).
 */
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import type { GraphDef } from '../../graph/types.ts';
import type { Model } from '../../model.ts';
import { dn, up, verifierNet, verifierUnaryRange, type VerifierNet } from './verifier.ts';
import {
  buildVnnCertificate,
  isVnnLeaf,
  VNN_CERTIFICATE_FORMAT,
  VNN_HINT_GROUP,
  VNN_MAX_DEPTH,
  VNN_MAX_NODES,
  validateVnnCertificate,
  validateVnnHints,
  vnnAlphaHints,
  vnnAlphaNeurons,
  vnnHintCount,
  vnnSpecHash,
  type VnnCertificate,
} from './vnnCertificate.ts';

export interface VnnVerifyResult {
  ok: boolean;
  /** Why the certificate was rejected (absent when ok). */
  reason?: string;
  /** Leaf boxes checked (all of them when ok). */
  leaves: number;
  seconds: number;
  /**
   * How many leaves each method settled (interval, forward symbolic, CROWN, full CROWN, and full
   * CROWN with the bounds proved on the leaf's ancestors in the tree).
   */
  byMethod?: { interval: number; symbolic: number; crown: number; fullCrown: number; inherited: number };
  /** Leaves on which some clause was refuted only by a hint's combined form (counted in byMethod too). */
  hinted?: number;
}

// ---------------------------------------------------------------- the layer chain

type Layer =
  | { k: 'dense'; nIn: number; nOut: number; W: Float64Array; Wp: Float64Array; Wn: Float64Array; b: Float64Array }
  | { k: 'diag'; n: number; s: Float64Array; t: Float64Array }
  | { k: 'relu'; n: number }
  | {
      k: 'unary';
      n: number;
      range: (l: number, h: number, out: Float64Array) => void;
      deriv: (l: number, h: number, out: Float64Array) => void;
      /** per leaf (scratch): slope and the lower / upper intercepts of the relaxation of each neuron */
      s: Float64Array;
      kL: Float64Array;
      kU: Float64Array;
    };

const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);

/** The graph as a chain of layers, or null when it is not one (then only intervals are used). */
function extractChain(g: GraphDef): { layers: Layer[]; widths: number[] } | null {
  if (g.inputs.length !== 1 || g.outputs.length !== 1) return null;
  let cur = g.inputs[0].name,
    w = g.inputs[0].width;
  const layers: Layer[] = [],
    widths = [w];
  const consumers = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  for (const n of g.nodes) {
    if (n.inputs.length !== 1 || n.inputs[0] !== cur || (consumers.get(cur) ?? 0) !== 1) return null;
    const op = n.op;
    let L: Layer | null = null;
    switch (op.type) {
      case 'dense':
        if (op.weight.length !== w * op.units || (op.bias && op.bias.length !== op.units)) return null;
        {
          const W = f64(op.weight);
          // the positive and negative parts of W (each entry is in exactly one; the other is 0)
          const Wp = W.map((x) => (x > 0 ? x : 0)),
            Wn = W.map((x) => (x < 0 ? x : 0));
          L = { k: 'dense', nIn: w, nOut: op.units, W, Wp, Wn, b: op.bias ? f64(op.bias) : new Float64Array(op.units) };
        }
        break;
      case 'affine':
        if (op.scale.length !== w || op.shift.length !== w) return null;
        L = { k: 'diag', n: w, s: f64(op.scale), t: f64(op.shift) };
        break;
      case 'binary_const': {
        const c = op.constant;
        if (c.length !== 1 && c.length !== w) return null;
        const cv = (i: number): number => c[c.length === 1 ? 0 : i];
        const s = new Float64Array(w),
          t = new Float64Array(w);
        // each case is exact in real arithmetic on the stored doubles (negation is exact)
        for (let i = 0; i < w; i++) {
          if (op.fn === 'add') (s[i] = 1), (t[i] = cv(i));
          else if (op.fn === 'sub') op.constantFirst ? ((s[i] = -1), (t[i] = cv(i))) : ((s[i] = 1), (t[i] = -cv(i)));
          else if (op.fn === 'mul') (s[i] = cv(i)), (t[i] = 0);
          else return null;
        }
        L = { k: 'diag', n: w, s, t };
        break;
      }
      case 'reshape':
        break;
      case 'unary':
        if (op.fn === 'identity') break;
        if (op.fn === 'relu') L = { k: 'relu', n: w };
        else {
          try {
            const u = verifierUnaryRange(op.fn, op.params ?? {});
            L = { k: 'unary', n: w, range: u.range, deriv: u.deriv, s: new Float64Array(w), kL: new Float64Array(w), kU: new Float64Array(w) };
          } catch {
            return null;
          }
        }
        break;
      default:
        return null;
    }
    if (L) {
      layers.push(L);
      w = L.k === 'dense' ? L.nOut : L.n;
      widths.push(w);
    }
    cur = n.name;
  }
  if (g.outputs[0].node !== cur) return null;
  return { layers, widths };
}

/** γ for m-term dot products, generously: 2(m + 4)u with u = 2⁻⁵³ (Higham eq. 3.5 with slack). */
const gam = (m: number): number => (m + 4) * 2 ** -52;
/** Absolute allowance per product for gradual underflow. */
const UNDER = 2 ** -1070;

/** A form's error bound: up(gam(m)·E) plus underflow allowance (E ≥ 0 computed in floating point). */
function errBound(m: number, E: number, scale: number): number {
  return up(up(gam(m) * E * (1 + 2 * gam(m))) + (m + 2) * UNDER * (scale + 1));
}

// ---------------------------------------------------------------- the checker

interface Form {
  /** lower bound of c·y + k > 0 is what we try to prove */
  c: Float64Array;
  k: number;
  ce: Float64Array;
  ke: number;
  /**
   * A slope hint's ReLU lower-line slopes (one per ReLU neuron, layer by layer; each in [0, 1]),
   * used by the back-substitution of this form only (methods 3–5); absent: CROWN's adaptive slope.
   */
  alpha?: Float64Array;
}

class LeafChecker {
  readonly n0: number;
  readonly nOut: number;
  private readonly vnet: VerifierNet;
  private readonly chain: { layers: Layer[]; widths: number[] } | null;
  // concrete bounds at every boundary (0 = input, i = after layer i)
  private readonly blo: Float64Array[] = [];
  private readonly bhi: Float64Array[] = [];
  // forward symbolic forms (width × (n0+1)), two buffers each
  private Lf: Float64Array[] = [];
  private Uf: Float64Array[] = [];
  private readonly RL: Float64Array;
  private readonly RU: Float64Array;
  private readonly lam: Float64Array;
  private readonly mu: Float64Array;
  private readonly G: Float64Array;
  private readonly TL: Float64Array;
  private readonly TU: Float64Array;
  private readonly EL: Float64Array;
  private readonly EU: Float64Array;
  private readonly oLo: Float64Array;
  private readonly oHi: Float64Array;
  private readonly tmp = new Float64Array(2);
  private readonly M: Float64Array;
  private readonly IL: Float64Array;
  private readonly IU: Float64Array;
  private readonly IE: Float64Array;
  private readonly nzI: Int32Array;
  private readonly nzV: Float64Array;
  private symbolicDone = false;
  private symbolicOk = false;
  /** whether the forms and bounds come from the deep pass (refined in line) */
  private deepDone = false;
  /** concrete bounds of every boundary valid on a box containing this one (state layout), or null */
  private parent: Float64Array | null = null;
  /** Length of a state: lo and hi of every boundary (saveState). */
  readonly stateSize: number;
  /** ReLU neurons of the chain, and where each ReLU layer's neurons start among them (by layer index). */
  readonly reluNeurons: number;
  private readonly reluAt: Int32Array;
  /** The slopes of the back-substitution under way (a slope hint's form), or null. */
  private alpha: Float64Array | null = null;

  constructor(graph: GraphDef) {
    this.vnet = verifierNet(graph);
    this.n0 = this.vnet.nIn;
    this.nOut = this.vnet.nOut;
    this.chain = extractChain(graph);
    let mx = Math.max(this.n0, this.nOut);
    if (this.chain) {
      for (const w of this.chain.widths) {
        this.blo.push(new Float64Array(w));
        this.bhi.push(new Float64Array(w));
        mx = Math.max(mx, w);
      }
    }
    const n1 = this.n0 + 1;
    this.Lf = [new Float64Array(mx * n1), new Float64Array(mx * n1)];
    this.Uf = [new Float64Array(mx * n1), new Float64Array(mx * n1)];
    this.RL = new Float64Array(mx);
    this.RU = new Float64Array(mx);
    this.lam = new Float64Array(mx);
    this.mu = new Float64Array(mx);
    this.G = new Float64Array(n1);
    this.TL = new Float64Array(mx * n1);
    this.TU = new Float64Array(mx * n1);
    this.EL = new Float64Array(mx);
    this.EU = new Float64Array(mx);
    this.oLo = new Float64Array(this.nOut);
    this.oHi = new Float64Array(this.nOut);
    this.M = new Float64Array(this.n0);
    this.IL = new Float64Array(mx);
    this.IU = new Float64Array(mx);
    this.IE = new Float64Array(mx);
    this.nzI = new Int32Array(mx);
    this.nzV = new Float64Array(mx);
    let ss = 0;
    for (const b of this.blo) ss += 2 * b.length;
    this.stateSize = ss;
    const layers = this.chain?.layers ?? [];
    this.reluAt = new Int32Array(layers.length);
    let nr = 0;
    layers.forEach((ly, i) => {
      this.reluAt[i] = nr;
      if (ly.k === 'relu') nr += ly.n;
    });
    this.reluNeurons = nr;
  }

  /** Copy the concrete bounds of every boundary (valid on the current box and every box inside it). */
  saveState(out: Float64Array): void {
    let p = 0;
    for (let i = 0; i < this.blo.length; i++) {
      out.set(this.blo[i], p);
      p += this.blo[i].length;
      out.set(this.bhi[i], p);
      p += this.bhi[i].length;
    }
  }

  /** Intersect boundary bi's bounds with the parent state's (when one is set). */
  private inherit(bi: number): void {
    const P = this.parent;
    if (!P) return;
    let p = 0;
    for (let i = 0; i < bi; i++) p += 2 * this.blo[i].length;
    const nlo = this.blo[bi],
      nhi = this.bhi[bi],
      w = nlo.length;
    for (let j = 0; j < w; j++) {
      const a = P[p + j],
        b = P[p + w + j];
      if (a > nlo[j]) nlo[j] = a;
      if (b < nhi[j]) nhi[j] = b;
    }
  }

  private lo!: Float64Array;
  private hi!: Float64Array;
  private cur = 0;

  get hasChain(): boolean {
    return this.chain !== null;
  }

  /** Start a leaf: the interval pass over the whole graph (or, when skipped, no output bounds yet). */
  begin(lo: Float64Array, hi: Float64Array, interval: boolean, parent: Float64Array | null = null): void {
    this.lo = lo;
    this.hi = hi;
    this.parent = parent;
    if (interval) this.vnet.bounds(lo, hi, this.oLo, this.oHi);
    else {
      this.oLo.fill(-Infinity);
      this.oHi.fill(Infinity);
    }
    this.symbolicDone = false;
    this.symbolicOk = false;
    this.deepDone = false;
  }

  /** Lower bound over the leaf of the exact form, by output intervals (method 1). */
  intervalLB(f: Form): number {
    const { oLo, oHi } = this;
    let s = f.k;
    for (let j = 0; j < this.nOut; j++) {
      const c = f.c[j];
      if (c === 0) continue;
      s = dn(s + (c > 0 ? dn(c * oLo[j]) : dn(c * oHi[j])));
    }
    return this.coeffErr(s, f, oLo, oHi);
  }

  /** Subtract the effect of the constraint's own coefficient rounding (types.ts: coeffErr, constantErr). */
  private coeffErr(s: number, f: Form, yl: Float64Array, yh: Float64Array): number {
    let e = f.ke;
    for (let j = 0; j < this.nOut; j++) {
      if (f.ce[j] === 0) continue;
      e = up(e + up(f.ce[j] * Math.max(Math.abs(yl[j]), Math.abs(yh[j]))));
    }
    const r = dn(s - e);
    return r === r ? r : -Infinity;
  }

  /** min over the leaf box of row·x + row[n0], stepped outward. */
  private concLo(F: Float64Array, off: number): number {
    const n0 = this.n0;
    let s = F[off + n0];
    for (let k = 0; k < n0; k++) {
      const a = F[off + k];
      if (a !== 0) s = dn(s + (a > 0 ? dn(a * this.lo[k]) : dn(a * this.hi[k])));
    }
    return s === s ? s : -Infinity;
  }
  /** max over the leaf box: concLo mirrored (intended repeat: each keeps one rounding direction throughout). */
  private concHi(F: Float64Array, off: number): number {
    const n0 = this.n0;
    let s = F[off + n0];
    for (let k = 0; k < n0; k++) {
      const a = F[off + k];
      if (a !== 0) s = up(s + (a > 0 ? up(a * this.hi[k]) : up(a * this.lo[k])));
    }
    return s === s ? s : Infinity;
  }

  /** R = Σ_k |F_k| M_k + |F_const| per row: the magnitude bound of a form over the box. */
  private magnitudes(F: Float64Array, rows: number, R: Float64Array): void {
    const n0 = this.n0,
      n1 = n0 + 1,
      M = this.M;
    for (let i = 0; i < rows; i++) {
      let s = Math.abs(F[i * n1 + n0]);
      for (let k = 0; k < n0; k++) s += Math.abs(F[i * n1 + k]) * M[k];
      R[i] = up(s * (1 + gam(n1)));
    }
  }

  /**
   * Linear bounds of an element-wise f over each neuron's [l, h] with one slope s per neuron:
   * s·z + kL ≤ f(z) ≤ s·z + kU. By the mean value theorem with f' ∈ [dL, dH] on [l, h]:
   * s = dL: f(z) ≥ f(l) + dL(z − l), f(z) ≤ f(h) + dL(z − h); s = dH: f(z) ≥ f(h) + dH(z − h),
   * f(z) ≤ f(l) + dH(z − l) (whichever pair is closer). f(l), f(h) are the verifier's point
   * enclosures; a non-finite piece falls back to the constant bounds of f's range (s = 0).
   */
  private relaxUnary(layer: Extract<Layer, { k: 'unary' }>, plo: Float64Array, phi: Float64Array, w: number): void {
    const t = this.tmp;
    const { s, kL, kU } = layer;
    for (let j = 0; j < w; j++) {
      const l = plo[j],
        h = phi[j];
      layer.range(l, h, t);
      const rl = t[0],
        rh = t[1];
      s[j] = 0;
      kL[j] = rl;
      kU[j] = rh;
      if (!(Number.isFinite(l) && Number.isFinite(h) && l < h)) continue;
      layer.deriv(l, h, t);
      const dL = t[0],
        dH = t[1];
      if (!(Number.isFinite(dL) && Number.isFinite(dH))) continue;
      layer.range(l, l, t);
      const fll = t[0],
        flh = t[1];
      layer.range(h, h, t);
      const fhl = t[0],
        fhh = t[1];
      if (!(Number.isFinite(fll) && Number.isFinite(flh) && Number.isFinite(fhl) && Number.isFinite(fhh))) continue;
      const rise = fhh - fll,
        gapL = rise - dL * (h - l),
        gapH = dH * (h - l) - rise;
      if (gapL <= gapH) {
        s[j] = dL;
        kL[j] = dn(fll - up(dL * l));
        kU[j] = up(fhh - dn(dL * h));
      } else {
        s[j] = dH;
        kL[j] = dn(fhl - up(dH * h));
        kU[j] = up(flh - dn(dH * l));
      }
      if (!(kL[j] === kL[j] && kU[j] === kU[j])) {
        s[j] = 0;
        kL[j] = rl;
        kU[j] = rh;
      }
    }
  }

  /** Forward symbolic intervals (method 2): fills blo/bhi at every boundary and the output forms. */
  private symbolic(): boolean {
    if (this.symbolicDone) return this.symbolicOk;
    return this.forward(false);
  }

  /**
   * The forward pass. deep: every dense layer's bounds are also intersected with interval
   * arithmetic on the previous boundary's bounds, and every neuron that enters a crossing ReLU
   * (or any other element-wise function) is refined by its own CROWN back-substitution before
   * the next layer is relaxed, so later relaxations use the refined bounds (Zhang et al. 2018,
   * §3.3: the intermediate bounds of CROWN). With a parent state every boundary is intersected
   * with the bounds proved on an enclosing box (valid here: this box is inside it).
   */
  private forward(deep: boolean): boolean {
    this.symbolicDone = true;
    this.symbolicOk = false;
    if (deep) this.deepDone = true;
    const ch = this.chain;
    if (!ch) return false;
    const n0 = this.n0,
      n1 = n0 + 1;
    const { lo, hi, M } = this;
    let sumM = 0;
    for (let k = 0; k < n0; k++) {
      M[k] = Math.max(Math.abs(lo[k]), Math.abs(hi[k]));
      sumM = up(sumM + M[k]);
    }
    let a = 0;
    let L = this.Lf[a],
      U = this.Uf[a];
    L.fill(0, 0, n0 * n1);
    U.fill(0, 0, n0 * n1);
    for (let k = 0; k < n0; k++) {
      L[k * n1 + k] = 1;
      U[k * n1 + k] = 1;
    }
    this.blo[0].set(lo);
    this.bhi[0].set(hi);
    const { RL, RU, tmp } = this;
    for (let li = 0; li < ch.layers.length; li++) {
      const layer = ch.layers[li];
      const plo = this.blo[li],
        phi = this.bhi[li],
        nlo = this.blo[li + 1],
        nhi = this.bhi[li + 1];
      const L2 = this.Lf[1 - a],
        U2 = this.Uf[1 - a];
      const wIn = ch.widths[li];
      switch (layer.k) {
        case 'dense': {
          this.magnitudes(L, wIn, RL);
          this.magnitudes(U, wIn, RU);
          const { Wp, Wn, b, nOut } = layer;
          const { TL, TU, EL, EU } = this;
          TL.fill(0, 0, nOut * n1);
          TU.fill(0, 0, nOut * n1);
          for (let j = 0; j < nOut; j++) EL[j] = EU[j] = Math.abs(b[j]);
          // column-major accumulation: contiguous inner loops over the layer's outputs
          for (let i = 0; i < wIn; i++) {
            const r = i * nOut,
              ri = i * n1;
            for (let k = 0; k < n1; k++) {
              const a = L[ri + k],
                c = U[ri + k];
              if (a === 0 && c === 0) continue;
              const base = k * nOut;
              for (let j = 0; j < nOut; j++) {
                const p = Wp[r + j],
                  q = Wn[r + j];
                TL[base + j] += p * a + q * c;
                TU[base + j] += p * c + q * a;
              }
            }
            const rl = RL[i],
              ru = RU[i];
            for (let j = 0; j < nOut; j++) {
              const p = Wp[r + j],
                q = Wn[r + j];
              EL[j] += p * rl - q * ru;
              EU[j] += p * ru - q * rl;
            }
          }
          for (let j = 0; j < nOut; j++) {
            const o = j * n1;
            for (let k = 0; k < n0; k++) {
              L2[o + k] = TL[k * nOut + j];
              U2[o + k] = TU[k * nOut + j];
            }
            L2[o + n0] = dn(TL[n0 * nOut + j] + b[j] - errBound(wIn + 1, EL[j], sumM));
            U2[o + n0] = up(TU[n0 * nOut + j] + b[j] + errBound(wIn + 1, EU[j], sumM));
            nlo[j] = this.concLo(L2, o);
            nhi[j] = this.concHi(U2, o);
          }
          break;
        }
        case 'diag': {
          this.magnitudes(L, wIn, RL);
          this.magnitudes(U, wIn, RU);
          const { s, t } = layer;
          for (let j = 0; j < wIn; j++) {
            const sj = s[j],
              o = j * n1;
            const Sl = sj >= 0 ? L : U,
              Su = sj >= 0 ? U : L;
            for (let k = 0; k < n1; k++) {
              L2[o + k] = sj * Sl[o + k];
              U2[o + k] = sj * Su[o + k];
            }
            L2[o + n0] += t[j];
            U2[o + n0] += t[j];
            const as = Math.abs(sj);
            L2[o + n0] = dn(L2[o + n0] - errBound(2, as * (sj >= 0 ? RL[j] : RU[j]) + Math.abs(t[j]), sumM));
            U2[o + n0] = up(U2[o + n0] + errBound(2, as * (sj >= 0 ? RU[j] : RL[j]) + Math.abs(t[j]), sumM));
            nlo[j] = this.concLo(L2, o);
            nhi[j] = this.concHi(U2, o);
          }
          break;
        }
        case 'relu': {
          this.magnitudes(U, wIn, RU);
          for (let j = 0; j < wIn; j++) {
            const l = plo[j],
              h = phi[j],
              o = j * n1;
            if (!(l === l && h === h)) return false;
            if (l >= 0) {
              for (let k = 0; k < n1; k++) (L2[o + k] = L[o + k]), (U2[o + k] = U[o + k]);
            } else if (h <= 0) {
              for (let k = 0; k < n1; k++) (L2[o + k] = 0), (U2[o + k] = 0);
            } else {
              // lower: relu(z) ≥ z ≥ L(x), or relu(z) ≥ 0
              if (h >= -l) for (let k = 0; k < n1; k++) L2[o + k] = L[o + k];
              else for (let k = 0; k < n1; k++) L2[o + k] = 0;
              // upper: relu(z) ≤ a(z − l) ≤ a(U(x) − l) on [l, h], any a ≥ h/(h − l)
              const sl = up(h / dn(h - l));
              for (let k = 0; k < n0; k++) U2[o + k] = sl * U[o + k];
              U2[o + n0] = up(up(sl * up(U[o + n0] - l)) + errBound(3, sl * (RU[j] - l), sumM));
            }
            nlo[j] = l > 0 ? l : 0;
            nhi[j] = h > 0 ? h : 0;
          }
          break;
        }
        case 'unary': {
          this.magnitudes(L, wIn, RL);
          this.magnitudes(U, wIn, RU);
          this.relaxUnary(layer, plo, phi, wIn);
          const { s, kL, kU } = layer;
          for (let j = 0; j < wIn; j++) {
            const sj = s[j],
              o = j * n1;
            if (sj === 0) {
              for (let k = 0; k < n0; k++) (L2[o + k] = 0), (U2[o + k] = 0);
              L2[o + n0] = kL[j];
              U2[o + n0] = kU[j];
            } else {
              // f(z) ≥ s·z + kL ≥ s·L(x) + kL (s > 0); s·U(x) when s < 0; likewise above
              const Sl = sj > 0 ? L : U,
                Su = sj > 0 ? U : L;
              for (let k = 0; k < n1; k++) {
                L2[o + k] = sj * Sl[o + k];
                U2[o + k] = sj * Su[o + k];
              }
              const as = Math.abs(sj);
              L2[o + n0] = dn(L2[o + n0] + kL[j] - errBound(2, as * (sj > 0 ? RL[j] : RU[j]) + Math.abs(kL[j]), sumM));
              U2[o + n0] = up(U2[o + n0] + kU[j] + errBound(2, as * (sj > 0 ? RU[j] : RL[j]) + Math.abs(kU[j]), sumM));
            }
            layer.range(plo[j], phi[j], tmp);
            const cl = sj === 0 ? tmp[0] : this.concLo(L2, o),
              chh = sj === 0 ? tmp[1] : this.concHi(U2, o);
            nlo[j] = cl > tmp[0] ? cl : tmp[0];
            nhi[j] = chh < tmp[1] ? chh : tmp[1];
          }
          break;
        }
      }
      a = 1 - a;
      L = this.Lf[a];
      U = this.Uf[a];
      const wOut = ch.widths[li + 1];
      if (deep && layer.k === 'dense') this.intervalDense(layer, plo, phi, nlo, nhi);
      this.inherit(li + 1);
      for (let j = 0; j < wOut; j++) if (!(nlo[j] <= nhi[j])) return false;
      const next = ch.layers[li + 1];
      if (deep && next && (next.k === 'relu' || next.k === 'unary')) {
        for (let j = 0; j < wOut; j++) {
          if (next.k === 'relu' && (nlo[j] >= 0 || nhi[j] <= 0)) continue;
          this.lam.fill(0, 0, wOut);
          this.lam[j] = 1;
          const lb = this.backLB(li + 1, 0);
          this.lam.fill(0, 0, wOut);
          this.lam[j] = -1;
          const nub = this.backLB(li + 1, 0);
          if (lb > nlo[j]) nlo[j] = lb;
          if (-nub < nhi[j]) nhi[j] = -nub;
          if (!(nlo[j] <= nhi[j])) return false;
        }
      }
    }
    this.cur = a;
    // the output forms' concrete bounds may be tighter than the interval pass: intersect
    const last = ch.layers.length;
    for (let j = 0; j < this.nOut; j++) {
      if (this.blo[last][j] > this.oLo[j]) this.oLo[j] = this.blo[last][j];
      if (this.bhi[last][j] < this.oHi[j]) this.oHi[j] = this.bhi[last][j];
    }
    this.symbolicOk = true;
    return true;
  }

  /** Lower bound of the exact form by the forward symbolic output forms (method 2). */
  symbolicLB(f: Form): number {
    if (!this.symbolic()) return -Infinity;
    const n0 = this.n0,
      n1 = n0 + 1;
    const L = this.Lf[this.cur],
      U = this.Uf[this.cur],
      G = this.G;
    G.fill(0);
    let E = Math.abs(f.k);
    this.magnitudes(L, this.nOut, this.RL);
    this.magnitudes(U, this.nOut, this.RU);
    for (let j = 0; j < this.nOut; j++) {
      const c = f.c[j];
      if (c === 0) continue;
      const S = c > 0 ? L : U;
      for (let k = 0; k < n1; k++) G[k] += c * S[j * n1 + k];
      E += Math.abs(c) * (c > 0 ? this.RL[j] : this.RU[j]);
    }
    let sumM = 0;
    for (let k = 0; k < n0; k++) sumM = up(sumM + this.M[k]);
    G[n0] = dn(dn(G[n0] + f.k) - errBound(this.nOut + 1, E, sumM));
    return this.coeffErr(this.concLo(G, 0), f, this.oLo, this.oHi);
  }

  /** Lower bound of the exact form by CROWN back-substitution (method 3), bounds from method 2. */
  crownLB(f: Form): number {
    if (!this.symbolic()) return -Infinity;
    const ch = this.chain!;
    for (let j = 0; j < this.nOut; j++) this.lam[j] = f.c[j];
    // a slope hint's slopes for this back-substitution only (never the deep pass's refinements)
    if (f.alpha && f.alpha.length !== this.reluNeurons) return -Infinity;
    this.alpha = f.alpha ?? null;
    let s: number;
    try {
      s = this.backLB(ch.layers.length, f.k);
    } finally {
      this.alpha = null;
    }
    return s === -Infinity ? s : this.coeffErr(s, f, this.oLo, this.oHi);
  }

  /**
   * Full CROWN (method 4): the deep forward pass (every pre-activation bound of a crossing neuron
   * refined by its own back-substitution, in layer order, later relaxations using the refined
   * bounds; Zhang et al. 2018, §3.3), then the best of the output intervals, the forward forms
   * and the back-substituted form.
   */
  fullCrownLB(f: Form): number {
    if (!this.deepDone && !this.forward(true)) return -Infinity;
    if (!this.symbolicOk) return -Infinity;
    const a = this.intervalLB(f),
      b = this.symbolicLB(f),
      c = this.crownLB(f);
    const m = a > b ? a : b;
    return m > c ? m : c;
  }

  /** Run the deep pass (for a state to hand to the boxes inside this one); false when it fails. */
  deepPass(): boolean {
    return this.hasChain && this.forward(true);
  }

  /**
   * Interval arithmetic of a dense layer from the previous boundary's bounds (often tighter than
   * the forms deep in the net), intersected into nlo / nhi: Σ_i W_ij·[l_i, h_i] + b_j, each sum
   * shifted by its rounding allowance (Higham §3.1).
   */
  private intervalDense(layer: Extract<Layer, { k: 'dense' }>, plo: Float64Array, phi: Float64Array, nlo: Float64Array, nhi: Float64Array): void {
    const { W, b, nIn, nOut } = layer;
    const { IL, IU, IE } = this;
    let sumM = 0;
    for (let j = 0; j < nOut; j++) {
      IL[j] = IU[j] = b[j];
      IE[j] = Math.abs(b[j]);
    }
    for (let i = 0; i < nIn; i++) {
      const l = plo[i],
        h = phi[i],
        r = i * nOut;
      const Mi = Math.max(Math.abs(l), Math.abs(h));
      sumM += Mi;
      for (let j = 0; j < nOut; j++) {
        const w = W[r + j];
        if (w === 0) continue;
        if (w > 0) {
          IL[j] += w * l;
          IU[j] += w * h;
        } else {
          IL[j] += w * h;
          IU[j] += w * l;
        }
        IE[j] += (w > 0 ? w : -w) * Mi;
      }
    }
    for (let j = 0; j < nOut; j++) {
      const e = errBound(nIn + 1, IE[j], sumM);
      const lj = dn(IL[j] - e),
        hj = up(IU[j] + e);
      // NaN (from an infinite bound) never tightens: the comparisons are false
      if (lj > nlo[j]) nlo[j] = lj;
      if (hj < nhi[j]) nhi[j] = hj;
    }
  }

  /**
   * Lower bound over the leaf of λ·z_top + kap0, λ given in this.lam (width of boundary `top`),
   * by back-substitution through layers top−1 … 0 with the current bounds and relaxations.
   */
  private backLB(top: number, kap0: number): number {
    const ch = this.chain!;
    let lam = this.lam,
      mu = this.mu;
    let kap = kap0;
    for (let li = top - 1; li >= 0; li--) {
      const layer = ch.layers[li];
      const plo = this.blo[li],
        phi = this.bhi[li];
      const wIn = ch.widths[li];
      let E = 0,
        m = 2,
        sumM = 0;
      switch (layer.k) {
        case 'dense': {
          const { W, b, nOut } = layer;
          m = nOut + 1;
          let beta = 0;
          // the nonzero multipliers only (dead ReLUs and the unit vectors of a refinement leave
          // most of λ zero); dropping exact-zero terms leaves each sum at most as wrong as γ(m) allows
          const { nzI, nzV } = this;
          let nz = 0;
          for (let j = 0; j < nOut; j++) {
            const v = lam[j];
            if (v === 0) continue;
            nzI[nz] = j;
            nzV[nz++] = v;
            beta += v * b[j];
            E += Math.abs(v * b[j]);
          }
          // four rows of W at a time: four independent sums (each still in the order of t, so
          // the same values as one row at a time) keep the multiply-adds from waiting on each other
          let i = 0;
          for (; i + 4 <= wIn; i += 4) {
            let s0 = 0,
              s1 = 0,
              s2 = 0,
              s3 = 0,
              a0 = 0,
              a1 = 0,
              a2 = 0,
              a3 = 0;
            const r0 = i * nOut,
              r1 = r0 + nOut,
              r2 = r1 + nOut,
              r3 = r2 + nOut;
            for (let t = 0; t < nz; t++) {
              const j = nzI[t],
                v = nzV[t];
              const p0 = W[r0 + j] * v,
                p1 = W[r1 + j] * v,
                p2 = W[r2 + j] * v,
                p3 = W[r3 + j] * v;
              s0 += p0;
              s1 += p1;
              s2 += p2;
              s3 += p3;
              a0 += Math.abs(p0);
              a1 += Math.abs(p1);
              a2 += Math.abs(p2);
              a3 += Math.abs(p3);
            }
            mu[i] = s0;
            mu[i + 1] = s1;
            mu[i + 2] = s2;
            mu[i + 3] = s3;
            const M0 = Math.max(Math.abs(plo[i]), Math.abs(phi[i])),
              M1 = Math.max(Math.abs(plo[i + 1]), Math.abs(phi[i + 1])),
              M2 = Math.max(Math.abs(plo[i + 2]), Math.abs(phi[i + 2])),
              M3 = Math.max(Math.abs(plo[i + 3]), Math.abs(phi[i + 3]));
            if (a0 !== 0) E += a0 * M0;
            if (a1 !== 0) E += a1 * M1;
            if (a2 !== 0) E += a2 * M2;
            if (a3 !== 0) E += a3 * M3;
            sumM += M0;
            sumM += M1;
            sumM += M2;
            sumM += M3;
          }
          for (; i < wIn; i++) {
            let s = 0,
              a = 0;
            const r = i * nOut;
            for (let t = 0; t < nz; t++) {
              const p = W[r + nzI[t]] * nzV[t];
              s += p;
              a += Math.abs(p);
            }
            mu[i] = s;
            const Mi = Math.max(Math.abs(plo[i]), Math.abs(phi[i]));
            if (a !== 0) E += a * Mi;
            sumM += Mi;
          }
          kap = dn(kap + beta);
          break;
        }
        case 'diag': {
          const { s, t } = layer;
          for (let i = 0; i < wIn; i++) {
            mu[i] = lam[i] * s[i];
            if (lam[i] === 0) continue;
            kap = dn(kap + dn(lam[i] * t[i]));
            const Mi = Math.max(Math.abs(plo[i]), Math.abs(phi[i]));
            if (mu[i] !== 0) E += Math.abs(mu[i]) * Mi;
            sumM += Mi;
          }
          break;
        }
        case 'relu': {
          const al = this.alpha,
            a0 = this.reluAt[li];
          for (let j = 0; j < wIn; j++) {
            const l = plo[j],
              h = phi[j],
              lj = lam[j];
            if (l >= 0) mu[j] = lj;
            else if (h <= 0 || lj === 0) mu[j] = 0;
            // λ·relu(z) ≥ μ·z for any μ in [0, λ] (z ≥ 0: λz ≥ μz; z < 0: 0 ≥ μz); fl(λα) with
            // α ∈ [0, 1] stays in [0, λ], so a slope hint needs no error term
            else if (lj > 0) mu[j] = al ? lj * al[a0 + j] : h >= -l ? lj : 0;
            else {
              // λ·relu(z) ≥ λ·a(z − l) with a ≥ h/(h − l): coefficient ρ = fl(λa), constant −ρl
              const sl = up(h / dn(h - l));
              const rho = lj * sl;
              mu[j] = rho;
              kap = dn(kap - up(rho * l));
              E += Math.abs(rho) * (h - l) * 2;
              sumM += h - l;
            }
          }
          break;
        }
        case 'unary': {
          // the relaxation computed by the forward pass for this leaf (relaxUnary)
          const { s, kL, kU } = layer;
          for (let j = 0; j < wIn; j++) {
            const lj = lam[j];
            if (lj === 0) {
              mu[j] = 0;
              continue;
            }
            const kk = lj > 0 ? kL[j] : kU[j];
            mu[j] = lj * s[j];
            kap = dn(kap + dn(lj * kk));
            const Mi = Math.max(Math.abs(plo[j]), Math.abs(phi[j]));
            if (mu[j] !== 0) E += Math.abs(mu[j]) * Mi;
            sumM += Mi;
          }
          break;
        }
      }
      if (E > 0) kap = dn(kap - errBound(m, E, sumM));
      if (!(kap === kap)) return -Infinity;
      const sw = lam;
      lam = mu;
      mu = sw;
    }
    // at the input: min over the box of λ·x + κ
    let s = kap;
    for (let k = 0; k < this.n0; k++) {
      const a = lam[k];
      if (a !== 0) s = dn(s + (a > 0 ? dn(a * this.lo[k]) : dn(a * this.hi[k])));
    }
    return s === s ? s : -Infinity;
  }
}

// ---------------------------------------------------------------- certificate walk

const checkers = new WeakMap<GraphDef, LeafChecker>();
/** The compiled checker of a graph (cached: its buffers are reused, it is used synchronously). */
function checkerFor(g: GraphDef): LeafChecker {
  let c = checkers.get(g);
  if (!c) {
    c = new LeafChecker(g);
    checkers.set(g, c);
  }
  return c;
}

/**
 * The forms a clause's constraint offers: '<=' needs LB(c·y+k) > 0; '>=' needs LB(−c·y−k) > 0;
 * '=' offers both, in that order (so the form of sign s is alts[0] unless s = −1 on '=').
 */
function formsOf(spec: VnnlibSpec): Form[][][] {
  return spec.outputDnf.map((clause) =>
    clause.map((con) => {
      const pos: Form = { c: Float64Array.from(con.coeffs), k: con.constant, ce: Float64Array.from(con.coeffErr), ke: con.constantErr };
      const neg: Form = { c: Float64Array.from(con.coeffs, (x) => -x), k: -con.constant, ce: pos.ce, ke: con.constantErr };
      return con.relation === '<=' ? [pos] : con.relation === '>=' ? [neg] : [pos, neg];
    }),
  );
}

/** The form of sign s (+1: c·y + k, −1: its negation) among a constraint's alternatives (formsOf). */
const formOfSign = (alts: Form[], s: number): Form => (alts.length === 2 && s < 0 ? alts[1] : alts[0]);

/**
 * fl(μa + νb) into out[0] and, into out[1], a bound on its distance from μA + νB for any exact A, B
 * with |A − a| ≤ ae, |B − b| ≤ be: μ·ae + ν·be (rounded up) plus the rounding of the two products
 * and the sum, γ₂(|μa| + |νb|) with the underflow allowance (errBound; Higham §3.1). A term whose
 * exact value is 0 (zero weight, or an exact zero) is left out, so exact zeros stay exact.
 */
function combine2(mu: number, a: number, ae: number, nu: number, b: number, be: number, out: Float64Array): void {
  let v = 0,
    e = 0,
    E = 0,
    terms = 0;
  if (mu !== 0 && (a !== 0 || ae !== 0)) {
    const p = mu * a;
    v = p;
    E = Math.abs(p);
    if (ae !== 0) e = up(mu * ae);
    terms++;
  }
  if (nu !== 0 && (b !== 0 || be !== 0)) {
    const q = nu * b;
    v += q;
    E += Math.abs(q);
    if (be !== 0) e = up(e + up(nu * be));
    terms++;
  }
  if (terms > 0) e = up(e + errBound(2, E, 0));
  out[0] = v;
  out[1] = e;
}

/**
 * The combined form μ·fa + ν·fb (μ, ν finite, ≥ 0, not both 0) with sound error fields: a lower
 * bound > 0 of it on a box proves that fa ≤ 0 and fb ≤ 0 never hold together there. null when a
 * coefficient, the constant or an error bound is not finite (such a hint cannot refute).
 */
function combineForms(fa: Form, fb: Form, mu: number, nu: number): Form | null {
  const m = fa.c.length,
    t = new Float64Array(2);
  const c = new Float64Array(m),
    ce = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    combine2(mu, fa.c[j], fa.ce[j], nu, fb.c[j], fb.ce[j], t);
    if (!(Number.isFinite(t[0]) && Number.isFinite(t[1]))) return null;
    c[j] = t[0];
    ce[j] = t[1];
  }
  combine2(mu, fa.k, fa.ke, nu, fb.k, fb.ke, t);
  if (!(Number.isFinite(t[0]) && Number.isFinite(t[1]))) return null;
  return { c, k: t[0], ce, ke: t[1] };
}

/**
 * The combined forms of a hinted leaf's hints, per clause (hintsAt[ci]: the forms of clause ci's
 * hints, in the leaf's order). The node is a validated hinted leaf of this spec (validateVnnHints).
 */
function hintForms(forms: Form[][][], node: number[]): (Form[] | undefined)[] {
  const out: (Form[] | undefined)[] = new Array(forms.length);
  // slope hints: the constraint's own form, back-substituted with the hint's slopes
  for (const h of vnnAlphaHints(node)) (out[h.ci] ??= []).push({ ...formOfSign(forms[h.ci][h.k], h.s), alpha: h.alpha });
  const groups = vnnHintCount(node);
  for (let g = 0; g < groups; g++) {
    const o = 1 + g * VNN_HINT_GROUP;
    const ci = node[o],
      clause = forms[ci];
    const f = combineForms(formOfSign(clause[node[o + 1]], node[o + 2]), formOfSign(clause[node[o + 3]], node[o + 4]), node[o + 5], node[o + 6]);
    if (f) (out[ci] ??= []).push(f);
  }
  return out;
}

/**
 * Re-check an unsat certificate of `spec` on `model`. Never throws on a forged or malformed
 * certificate: it answers ok = false with the reason. Cost is linear in the number of nodes
 * (capped by VNN_MAX_NODES); depth is capped at VNN_MAX_DEPTH.
 */
export interface VnnVerifyOptions {
  /**
   * Check only the leaves this accepts (tree index, node index in its preorder list); the others'
   * refutation is left to other calls (a caller that splits one certificate's check among
   * threads, each leaf in exactly one call). The trees' structure is checked in full, and a
   * checked leaf still gets the bounds of all its ancestors. Default: every leaf.
   */
  checkLeaf?: (tree: number, node: number) => boolean;
  /**
   * Leaf boxes this verifier has already refuted (vnnRefutedLeaves for this model and property, e.g.
   * in another thread while the search ran), by key: a leaf whose key the walk derives from the tree's own splits
   * is in this set is not checked again. Sound because the key names the box exactly: both sides
   * derive it from the root box and the same splits with the same arithmetic.
   */
  refuted?: ReadonlySet<string>;
  /**
   * Told each leaf checked: its key (the input box and the splits down to it, scoped to the model
   * and property) and whether it is refuted. With it a leaf that is not refuted does not end the
   * walk: the others are still checked (the result stays not ok).
   */
  onLeaf?: (key: string, ok: boolean) => void;
  /** Carried from one call to the next over the same model and property (keyed walks: `refuted` or `onLeaf`). */
  carry?: VnnVerifyCarry;
}

/**
 * What a walk hands on to the next over the same model and property (vnnRefutedLeaves' batches):
 * the moving rates that choose a leaf's first method (speed only), and the deep-pass states of
 * the ancestor boxes it computed, by key. A state is a function of its box's key (the box, and its
 * ancestors' states, all derived from the key's splits), so reusing one is sound.
 */
export interface VnnVerifyCarry {
  intervalRate: number;
  deepRate: number;
  states: Map<string, Float64Array | null>;
}

/** Most ancestor states a carry keeps (cleared when full: a few MB on ACAS Xu). */
const CARRY_STATES = 4096;

export const newVnnVerifyCarry = (): VnnVerifyCarry => ({ intervalRate: 1, deepRate: 0, states: new Map() });

/** What a leaf key is scoped to: the model and the property (a key of another property's leaf never matches). */
const refutedScope = (model: Model, spec: VnnlibSpec): string => `${model.hash}/${vnnSpecHash(spec)}/`;

/** A leaf of a search not yet finished: its input box, the splits down to it, its tree record. */
export interface VnnPathLeaf {
  tree: number;
  path: readonly number[];
  record: readonly number[] | null;
}

/**
 * The keys of the leaves this verifier refutes (scoped to the model and the property), for
 * verifyVnnCertificate's `refuted`. The leaves' paths are merged into split trees over the
 * property's own input boxes (the branches no leaf was sent for end in placeholder leaves that are
 * not checked) and walked by verifyVnnCertificate itself: each leaf's box and key come from the
 * walk, and a leaf gets the same methods as in a whole certificate, the bounds of its ancestor
 * boxes included. A leaf whose path disagrees with an earlier one at some split is left out; a
 * path that leaves its box makes the walk refuse the batch (no keys). `carry`: the same object
 * for every batch of one search (its ancestors' states and method rates carry over).
 */
export function vnnRefutedLeaves(model: Model, spec: VnnlibSpec, leaves: readonly VnnPathLeaf[], carry?: VnnVerifyCarry): string[] {
  type Node = { d: number; t: number; kids: [Node | null, Node | null] } | { record: readonly number[] | null };
  const roots: (Node | null)[] = spec.inputBoxes.map(() => null);
  let any = false;
  for (const l of leaves) {
    if (!(l.tree >= 0 && l.tree < roots.length) || l.path.length % 3 !== 0) continue;
    // follow (or grow) the splits of the path; a leaf already there, or another split, is a conflict
    let slot: { get(): Node | null; set(n: Node): void } = { get: () => roots[l.tree], set: (n) => (roots[l.tree] = n) };
    let ok = true;
    for (let i = 0; i < l.path.length && ok; i += 3) {
      const d = l.path[i],
        t = l.path[i + 1],
        side = l.path[i + 2];
      let n = slot.get();
      if (!n) slot.set((n = { d, t, kids: [null, null] }));
      if (!('kids' in n) || !Object.is(n.d, d) || !Object.is(n.t, t) || (side !== 0 && side !== 1)) {
        ok = false;
        break;
      }
      const parent = n;
      slot = { get: () => parent.kids[side], set: (c) => (parent.kids[side] = c) };
    }
    if (!ok || slot.get()) continue;
    slot.set({ record: l.record });
    any = true;
  }
  if (!any) return [];
  // preorder records; the positions of the leaves sent (the others are placeholders, not checked)
  const targets = roots.map(() => new Set<number>());
  const trees = roots.map((r, b) => {
    const out: number[][] = [];
    const walk = (n: Node | null): void => {
      if (!n) return void out.push([]);
      if ('kids' in n) {
        out.push([n.d, n.t]);
        walk(n.kids[0]);
        walk(n.kids[1]);
        return;
      }
      targets[b].add(out.length);
      out.push(n.record ? n.record.slice() : []);
    };
    walk(r);
    return out;
  });
  const keys: string[] = [];
  verifyVnnCertificate(model, spec, buildVnnCertificate(model, spec, trees), {
    checkLeaf: (b, node) => targets[b].has(node),
    onLeaf: (key, ok) => ok && keys.push(key),
    carry,
  });
  return keys;
}

export function verifyVnnCertificate(model: Model, spec: VnnlibSpec, cert: VnnCertificate | unknown, vopts: VnnVerifyOptions = {}): VnnVerifyResult {
  const t0 = performance.now();
  let leaves = 0,
    hinted = 0;
  const byMethod = { interval: 0, symbolic: 0, crown: 0, fullCrown: 0, inherited: 0 };
  const done = (ok: boolean, reason?: string): VnnVerifyResult => ({ ok, ...(ok ? {} : { reason }), leaves, seconds: (performance.now() - t0) / 1000, byMethod, hinted });
  let c: VnnCertificate;
  try {
    c = validateVnnCertificate(cert);
  } catch (e) {
    return done(false, (e as Error).message);
  }
  if (c.format !== VNN_CERTIFICATE_FORMAT) return done(false, 'not a VNN certificate');
  if (c.modelHash !== model.hash) return done(false, `the certificate is for model ${c.modelHash}, not this model (${model.hash})`);
  if (c.specHash !== vnnSpecHash(spec)) return done(false, `the certificate is for property ${c.specHash}, not this property (${vnnSpecHash(spec)})`);
  if (c.trees.length !== spec.inputBoxes.length) return done(false, `${c.trees.length} tree(s) for ${spec.inputBoxes.length} input box(es)`);
  try {
    validateVnnHints(c, spec);
  } catch (e) {
    return done(false, (e as Error).message);
  }
  // no input box: the property holds vacuously (nothing to check)
  if (spec.inputBoxes.length === 0) return done(true);
  let checker: LeafChecker;
  try {
    checker = checkerFor(model.graph);
  } catch (e) {
    return done(false, `the verifier cannot evaluate this model: ${(e as Error).message}`);
  }
  const n = checker.n0;
  if (spec.numInputs !== n || spec.numOutputs !== checker.nOut) {
    return done(false, `the property has ${spec.numInputs} inputs and ${spec.numOutputs} outputs; the model has ${n} and ${checker.nOut}`);
  }
  const forms = formsOf(spec);
  // slope hints must be for this net's ReLU neurons (a wrong count is a certificate for another net)
  for (let b = 0; b < c.trees.length; b++) {
    for (let i = 0; i < c.trees[b].length; i++) {
      const N = vnnAlphaNeurons(c.trees[b][i]);
      if (N && (!checker.hasChain || N !== checker.reluNeurons)) {
        return done(false, `tree ${b}, node ${i}: its slope hint has ${N} slope(s); the model has ${checker.hasChain ? checker.reluNeurons : 'no chain of'} ReLU neurons`);
      }
    }
  }
  const usage = { hinted: false };
  let total = 0;
  for (const t of c.trees) total += t.length;
  if (total > VNN_MAX_NODES) return done(false, `${total} nodes is above the ${VNN_MAX_NODES}-node limit`);
  // a stack of pending boxes (preorder: at most depth + 1 pending)
  const cap = VNN_MAX_DEPTH + 2;
  const sLo = Array.from({ length: cap }, () => new Float64Array(n)),
    sHi = Array.from({ length: cap }, () => new Float64Array(n)),
    sDepth = new Int32Array(cap);
  const lo = new Float64Array(n),
    hi = new Float64Array(n);
  const carry = vopts.carry;
  let intervalRate = carry?.intervalRate ?? 1,
    deepRate = carry?.deepRate ?? 0;
  // the boxes of the current path (pLo[d]: the box at depth d) and their deep-pass states, each
  // computed only when a leaf below needs it (a leaf the own-box methods cannot settle)
  const pLo = Array.from({ length: cap }, () => new Float64Array(n)),
    pHi = Array.from({ length: cap }, () => new Float64Array(n));
  const pState: (Float64Array | null)[] = new Array(cap).fill(null);
  // with `refuted` or `onLeaf`: each pending box's key, derived from the walk's own splits: the
  // input box, then per split `d<t` ([lo, t]) or `d>t` ([t, hi]), String(t) being exact
  const refuted = vopts.refuted && vopts.refuted.size ? vopts.refuted : null;
  const keyed = refuted !== null || vopts.onLeaf !== undefined;
  const sKey: string[] = keyed ? new Array(cap).fill('') : [];
  const scope = keyed ? refutedScope(model, spec) : '';
  let rejected: string | null = null;
  const pValid = new Uint8Array(cap);
  const pOk = new Uint8Array(cap);
  const pKey: string[] = keyed ? new Array(cap).fill('') : [];
  const states = keyed ? carry?.states : undefined;
  /** The state of the path box at depth d (computed down from the root as needed, or carried by its key), or null. */
  const stateAt = (d: number): Float64Array | null => {
    if (d < 0) return null;
    if (!pValid[d]) {
      const had = states?.get(pKey[d]);
      if (had !== undefined) {
        pOk[d] = had ? 1 : 0;
        // a copy: pState[d] is overwritten by the next box at this depth
        if (had) (pState[d] ??= new Float64Array(checker.stateSize)).set(had);
      } else {
        const par = stateAt(d - 1);
        checker.begin(pLo[d], pHi[d], false, par);
        pOk[d] = checker.deepPass() ? 1 : 0;
        if (pOk[d]) {
          const st = (pState[d] ??= new Float64Array(checker.stateSize));
          checker.saveState(st);
        }
        if (states) {
          if (states.size >= CARRY_STATES) states.clear();
          states.set(pKey[d], pOk[d] ? (pState[d] as Float64Array).slice() : null);
        }
      }
      pValid[d] = 1;
    }
    return pOk[d] ? pState[d] : stateAt(d - 1);
  };
  for (let b = 0; b < spec.inputBoxes.length; b++) {
    const box = spec.inputBoxes[b],
      tree = c.trees[b];
    if (box.lo.length !== n || box.hi.length !== n) return done(false, `input box ${b} has ${box.lo.length} dimensions, the model ${n}`);
    for (let i = 0; i < n; i++) {
      if (!(Number.isFinite(box.lo[i]) && Number.isFinite(box.hi[i]) && box.lo[i] <= box.hi[i])) {
        return done(false, `input box ${b} is unbounded or empty in X_${i} ([${box.lo[i]}, ${box.hi[i]}]); only bounded boxes can be certified`);
      }
    }
    let sp = 0,
      p = 0;
    sLo[0].set(box.lo);
    sHi[0].set(box.hi);
    sDepth[0] = 0;
    if (keyed) sKey[0] = scope + String(b);
    sp = 1;
    while (sp > 0) {
      sp--;
      lo.set(sLo[sp]);
      hi.set(sHi[sp]);
      const depth = sDepth[sp];
      if (p >= tree.length) return done(false, `tree ${b} is truncated (it ends before every branch reaches a leaf)`);
      const node = tree[p++];
      pLo[depth].set(lo);
      pHi[depth].set(hi);
      pValid[depth] = 0;
      const key = keyed ? sKey[sp] : '';
      if (keyed) pKey[depth] = key;
      if (isVnnLeaf(node)) {
        if (vopts.checkLeaf && !vopts.checkLeaf(b, p - 1)) continue;
        if (refuted?.has(key)) continue;
        leaves++;
        const hints = node.length > 0 ? hintForms(forms, node) : null;
        usage.hinted = false;
        // the interval pass costs about 60% of the symbolic one: run it while it settles at least
        // half of the leaves (moving average), and on every 16th leaf to notice when it would again
        const tryInterval = intervalRate >= 0.5 || leaves % 16 === 0;
        // likewise straight to full CROWN while most leaves need it (the cheaper passes are wasted)
        const deepFirst = deepRate >= 0.5 && leaves % 16 !== 0;
        let how = checkLeaf(checker, forms, hints, usage, lo, hi, tryInterval && !deepFirst, null, deepFirst);
        if (tryInterval && !deepFirst) intervalRate = 0.9 * intervalRate + (how === 1 ? 0.1 : 0);
        if (!deepFirst) deepRate = 0.9 * deepRate + (how >= 4 || how < 0 ? 0.1 : 0);
        if (how < 0 && depth > 0 && checker.hasChain) {
          // again with the bounds proved on the enclosing boxes (as the search does)
          const par = stateAt(depth - 1);
          if (par) {
            usage.hinted = false;
            how = checkLeaf(checker, forms, hints, usage, lo, hi, true, par);
            if (how > 0) how = 5;
          }
        }
        vopts.onLeaf?.(key, how > 0);
        if (how < 0) {
          const why = `tree ${b}, node ${p - 1}: leaf box [${fmtBox(lo, hi)}] does not refute clause ${-how - 1} of the unsafe set`;
          if (!vopts.onLeaf) return done(false, why);
          rejected ??= why;
          continue;
        }
        if (usage.hinted) hinted++;
        if (how === 1) byMethod.interval++;
        else if (how === 2) byMethod.symbolic++;
        else if (how === 3) byMethod.crown++;
        else if (how === 4) byMethod.fullCrown++;
        else byMethod.inherited++;
        continue;
      }
      const d = node[0],
        t = node[1];
      if (!(Number.isInteger(d) && d >= 0 && d < n)) return done(false, `tree ${b}, node ${p - 1}: split dimension ${d} is not an input index 0..${n - 1}`);
      if (!Number.isFinite(t)) return done(false, `tree ${b}, node ${p - 1}: split value ${t} is not finite`);
      if (!(t >= lo[d] && t <= hi[d])) return done(false, `tree ${b}, node ${p - 1}: split value ${t} is outside the box side [${lo[d]}, ${hi[d]}] of X_${d}`);
      if (depth + 1 > VNN_MAX_DEPTH) return done(false, `tree ${b}, node ${p - 1}: deeper than ${VNN_MAX_DEPTH} splits`);
      // right child (pushed first, visited second), then left child on top
      sLo[sp].set(lo);
      sHi[sp].set(hi);
      sLo[sp][d] = t;
      sDepth[sp] = depth + 1;
      if (keyed) sKey[sp] = `${key},${d}>${t}`;
      sp++;
      sLo[sp].set(lo);
      sHi[sp].set(hi);
      sHi[sp][d] = t;
      sDepth[sp] = depth + 1;
      if (keyed) sKey[sp] = `${key},${d}<${t}`;
      sp++;
    }
    if (p !== tree.length) return done(false, `tree ${b} has ${tree.length - p} node(s) after its last leaf`);
  }
  if (carry) ((carry.intervalRate = intervalRate), (carry.deepRate = deepRate));
  return rejected ? done(false, rejected) : done(true);
}

function fmtBox(lo: Float64Array, hi: Float64Array): string {
  const parts: string[] = [];
  for (let i = 0; i < lo.length; i++) parts.push(`${lo[i]}..${hi[i]}`);
  return parts.join(', ');
}

/**
 * 1 / 2 / 3 / 4: the most expensive method any clause needed (interval, symbolic, CROWN, full CROWN);
 * −(i + 1): clause i is not refuted by any method. Per method, a clause's single forms are tried
 * first, then its hints' combined forms (hints[ci], from a hinted leaf); usage.hinted is set when
 * some clause needed a hint.
 */
function checkLeaf(
  ch: LeafChecker,
  forms: Form[][][],
  hints: (Form[] | undefined)[] | null,
  usage: { hinted: boolean },
  lo: Float64Array,
  hi: Float64Array,
  interval: boolean,
  parent: Float64Array | null = null,
  deepFirst = false,
): number {
  // without a layer chain the interval pass is the only method
  if (!ch.hasChain) (interval = true), (deepFirst = false);
  // with a parent state (the cheap methods already failed on this leaf) or deepFirst: full CROWN
  // only (it takes the best of every method on its own bounds)
  if (parent) deepFirst = true;
  ch.begin(lo, hi, interval || parent !== null, parent);
  let worst = 1;
  const lbBy = (m: number, f: Form): number => (m === 1 ? ch.intervalLB(f) : m === 2 ? ch.symbolicLB(f) : m === 3 ? ch.crownLB(f) : ch.fullCrownLB(f));
  for (let ci = 0; ci < forms.length; ci++) {
    const clause = forms[ci],
      combined = hints?.[ci];
    let how = 0;
    for (let m = deepFirst ? 4 : interval ? 1 : 2; m <= 4 && !how; m++) {
      for (const alts of clause) {
        for (const f of alts) {
          if (lbBy(m, f) > 0) {
            how = m;
            break;
          }
        }
        if (how) break;
      }
      if (how || !combined) continue;
      for (const f of combined) {
        // slopes only enter back-substitution (CROWN, full CROWN)
        if (f.alpha && m < 3) continue;
        if (lbBy(m, f) > 0) {
          how = m;
          usage.hinted = true;
          break;
        }
      }
    }
    if (!how) return -(ci + 1);
    if (how > worst) worst = how;
  }
  return worst;
}

/**
 * The lower bound of c·y + k over the box [lo, hi] by each of the verifier's methods (−∞ where a
 * method does not apply), for tests and diagnostics (which method decides a leaf, how loose each
 * is). c has one entry per model output. With `parent` (a box containing [lo, hi]), also the bound
 * of method 5: full CROWN on [lo, hi] with the bounds full CROWN proved on the parent box.
 */
export function vnnLowerBounds(
  model: Model,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  c: ArrayLike<number>,
  k: number,
  parent?: { lo: ArrayLike<number>; hi: ArrayLike<number> },
  /** Slopes of a slope hint (one per ReLU neuron, each in [0, 1]): the CROWN bounds use them. */
  alpha?: ArrayLike<number>,
): { interval: number; symbolic: number; crown: number; fullCrown: number; inherited: number } {
  const ch = checkerFor(model.graph);
  const l = Float64Array.from(lo),
    h = Float64Array.from(hi);
  if (alpha && !Array.from(alpha).every((a) => a >= 0 && a <= 1)) throw new Error('vnnLowerBounds: slopes must lie in [0, 1]');
  const f: Form = { c: Float64Array.from(c), k, ce: new Float64Array(ch.nOut), ke: 0, ...(alpha ? { alpha: Float64Array.from(alpha) } : {}) };
  ch.begin(l, h, true);
  const interval = ch.intervalLB(f);
  const symbolic = ch.symbolicLB(f);
  const crown = ch.crownLB(f);
  const fullCrown = ch.fullCrownLB(f);
  let inherited = -Infinity;
  if (parent) {
    for (let i = 0; i < l.length; i++) if (!(parent.lo[i] <= l[i] && h[i] <= parent.hi[i])) throw new Error('vnnLowerBounds: the parent box must contain the box');
    const st = new Float64Array(ch.stateSize);
    ch.begin(Float64Array.from(parent.lo), Float64Array.from(parent.hi), false);
    if (ch.deepPass()) {
      ch.saveState(st);
      ch.begin(l, h, true, st);
      inherited = ch.fullCrownLB(f);
    }
  }
  return { interval, symbolic, crown, fullCrown, inherited };
}
