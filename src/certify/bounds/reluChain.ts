/**
 * Fast sound bounds of linear forms C·y + c over many input boxes, for networks that are a chain
 * of dense, ReLU and element-wise affine layers (ACAS Xu and most VNN-COMP fully connected nets).
 *
 * Intermediate (pre-activation) bounds: forward symbolic intervals (Wang et al. 2018, "Efficient
 * Formal Safety Analysis of Neural Networks" (Neurify); the forward half of DeepPoly, Singh et al.
 * 2019): every neuron carries a lower and an upper linear form in the inputs; dense layers combine
 * them by the sign of the weight; a crossing ReLU on [l, u] maps the upper form through the chord
 * u(z − l)/(u − l) and the lower form through αz, α = 1 if u > −l else 0 (the CROWN adaptive
 * slope, Zhang et al. 2018). With few inputs (ACAS Xu: 5) this costs O(n²·(d+1)) per layer.
 * Final bounds: CROWN back-substitution (Zhang et al. 2018, eq. 4–6) of each row of C through the
 * chain with those intermediate bounds, intersected with the forward form's own bound of C·y.
 * The back-substituted coefficients on the inputs are returned too (a split heuristic).
 *
 * Floating point (docs/design.md, Soundness; Higham §3.1): every computed sum of K terms is off
 * by at most γ_K·Σ|terms|. Each form carries an absolute allowance e (|computed form − a valid
 * bounding form| ≤ e on the box), grown by those γ terms at each layer; concretised bounds
 * subtract (lower) or add (upper) the allowance and are rounded outward. The chord slope is
 * rounded up. Nothing that claims a proof rests on this file alone: decide.ts has every unsat
 * re-checked by the independent certificate verifier.
 */
import type { Network } from '../../graph/network.ts';
import { gamma, nextDown, nextUp } from '../../graph/round.ts';
import { matmulABt } from '../../graph/kernels.ts';
import { AdamMoments, adamParams } from '../../numeric/adam.ts';

export type ChainLayer =
  /** z = W·a + b, W stored out × in, row-major. */
  | { kind: 'dense'; nIn: number; nOut: number; W: Float64Array; b: Float64Array; WT: Float64Array; absW: Float64Array; Wp: Float64Array; Wn: Float64Array }
  | { kind: 'relu'; n: number }
  | { kind: 'affine'; n: number; s: Float64Array; t: Float64Array };

export interface ReluChain {
  nIn: number;
  nOut: number;
  layers: ChainLayer[];
}

/**
 * The chain form of a network, or null when it is anything else: one input tensor, nodes each
 * reading the previous one, every op a chain layer by its own account (OpImpl.chainLayer: dense,
 * unary relu, affine, add/sub/mul by a constant with the tensor first), the last node the only output.
 */
export function reluChainOf(net: Network): ReluChain | null {
  const nodes = net.nodes;
  if (net.def.outputs.length !== 1 || nodes.length < 1 || nodes[0].impl) return null;
  let width = nodes[0].width;
  const nIn = width;
  const layers: ChainLayer[] = [];
  for (let k = 1; k < nodes.length; k++) {
    const nd = nodes[k];
    if (!nd.impl || nd.inputs.length !== 1 || nd.inputs[0] !== k - 1) return null;
    const ly = nd.impl.chainLayer ? nd.impl.chainLayer() : null;
    if (!ly) return null;
    if (ly.kind === 'dense') {
      const { nOut, W: WT, b: bias } = ly;
      if (ly.nIn !== width) return null;
      const W = new Float64Array(nOut * width);
      for (let i = 0; i < width; i++) for (let o = 0; o < nOut; o++) W[o * width + i] = WT[i * nOut + o];
      const b = bias ?? new Float64Array(nOut);
      layers.push({ kind: 'dense', nIn: width, nOut, W, b, WT, absW: W.map(Math.abs), Wp: W.map((w) => (w > 0 ? w : 0)), Wn: W.map((w) => (w < 0 ? w : 0)) });
      width = nOut;
    } else if (ly.kind === 'relu') layers.push({ kind: 'relu', n: width });
    else layers.push({ kind: 'affine', n: width, s: ly.scale, t: ly.shift });
  }
  if (net.def.outputs[0].node !== nodes[nodes.length - 1].name) return null;
  return { nIn, nOut: width, layers };
}

/**
 * The relaxation a back-substitution chose for every ReLU neuron (flat over the ReLU layers, at
 * ChainBounder.reluOff[k]): relu(z) replaced by slope·z + shift, and the coefficient λ the
 * neuron's output had in the form (what alphaGrad multiplies by).
 */
export interface AlphaTrace {
  slope: Float64Array;
  shift: Float64Array;
  lam: Float64Array;
}

/** Options of ChainBounder.optimiseAlpha. */
export interface AlphaOptions {
  /** Projected gradient steps after the start (CROWN's adaptive slopes). Default 8 (on ACAS Xu frontier boxes 8 steps reach ~97 % of 100 steps' gain). */
  steps?: number;
  /** Adam's learning rate on the slopes (they live in [0, 1]). Default 0.5. */
  learningRate?: number;
  /**
   * Give up after the third step when the bound, gaining `hopeless` times what it gained so far,
   * would still not pass the target (the gain saturates within a few steps). Default: never.
   */
  hopeless?: number;
}

/** An optimised bound of one form on one box: the best seen over the steps. */
export interface AlphaResult {
  /** The sound lower bound of the form (CROWN linear bound at `alpha`, allowance included). */
  lo: number;
  /** Its input coefficients and constant: the form is ≥ lam·x + lc on the box. */
  lam: Float64Array;
  lc: number;
  /** The slopes that gave it (flat, ChainBounder.reluOff). */
  alpha: Float64Array;
  /** The bound at CROWN's adaptive slopes (the start). */
  start: number;
}

/** Rounded-up sum of allowances: each addition may round down by half an ulp. */
const ERR_INFLATE = 1 + 4 * 2 ** -52;

/**
 * Rows of the forward dense step's stacked sources (row()): the d + 1 form coefficients, then the
 * allowance, the magnitude, the concrete bound and the bound magnitude |l| + |u| of each input.
 */
const FWD_ROWS = (d: number): number => d + 5;

/**
 * Scratch-holding evaluator for one chain and one set of forms (C: m × nOut, row-major, constant
 * c per row). `bound(L, H, rows)` fills lo (rows × m), the input coefficients lam (rows × m × nIn)
 * and the output bounds yLo / yHi (rows × nOut).
 */
export class ChainBounder {
  readonly m: number;
  readonly lo: Float64Array;
  readonly lam: Float64Array;
  /**
   * rows × m constants of the back-substituted forms: form q of row r is ≥ lam·x + lc at every x
   * of the row's box (the CROWN linear lower bound itself, rounding allowance included; it does not
   * see the forward forms' bound that `lo` may take instead).
   */
  readonly lc: Float64Array;
  readonly yLo: Float64Array;
  readonly yHi: Float64Array;
  private readonly d: number;
  /** Per layer output: lower/upper forms (n × (d+1)), allowances, concrete bounds. */
  private readonly Al: Float64Array[] = [];
  private readonly Au: Float64Array[] = [];
  private readonly el: Float64Array[] = [];
  private readonly eu: Float64Array[] = [];
  private readonly zl: Float64Array[] = [];
  private readonly zu: Float64Array[] = [];
  /** Per layer output: max|value| + |lower form| and + |upper form| magnitudes on the box. */
  private readonly mL: Float64Array[] = [];
  private readonly mU: Float64Array[] = [];
  private readonly X: Float64Array;
  private readonly lamA: Float64Array;
  private readonly lamB: Float64Array;
  /** Scratch of the batched back-substitution (rows × widest). */
  private readonly bA: Float64Array;
  private readonly bB: Float64Array;
  /** Per dense layer: |W|·M for the input magnitudes M of the row being bounded (absWM), and the row it is for. */
  private readonly vAbs: Float64Array[] = [];
  /** Scratch of absWM: the input magnitudes of a layer (widest). */
  private readonly mScratch: Float64Array;
  private readonly vStamp: Int32Array;
  private stamp = 0;
  /** The state the stored bounds equal (saveState's result or loadState's argument), or null once a row changes them. */
  private loaded: Float64Array | null = null;
  /** The current bound call skips the refinement (bound's `cheap`). */
  private cheap = false;
  /**
   * Per ReLU layer, for the row being bounded (stamped like vAbs): the slope a non-negative
   * coefficient takes (crossing: CROWN's 1 if u > −l else 0; active 1; inactive 0) …
   */
  private readonly rLow: Float64Array[] = [];
  /** … the slope a negative coefficient takes (chord when crossing, else the lower slope), the chord's constant −s·l rounded up (0 unless crossing), and s·max(|l|, |u|). */
  private readonly rNeg: Float64Array[] = [];
  private readonly rShift: Float64Array[] = [];
  private readonly rMagS: Float64Array[] = [];
  private readonly rStamp: Int32Array;
  /** Forward dense step as two matrix products: stacked transposed source rows, and the products. */
  private readonly fS1: Float64Array;
  private readonly fS2: Float64Array;
  private readonly fO: Float64Array;
  private readonly bCst: Float64Array;
  private readonly bCmag: Float64Array;
  private readonly bErr: Float64Array;
  private readonly bOut: Float64Array;
  private readonly cross: Int32Array;
  /** The constant of the last backLower's linear bound (see lc). */
  private lastConst = 0;
  /** Terms summed into a back-substituted constant, at most (for its γ). */
  private readonly terms: number;
  /** Offset of layer k's neurons in the flat per-ReLU-neuron arrays (alpha, AlphaTrace); −1: not a ReLU layer. */
  readonly reluOff: Int32Array;
  /** Number of ReLU neurons in the chain (the length of an alpha vector). */
  readonly nRelu: number;
  /** Scratch of the relaxed forward pass (alphaGrad). */
  private readonly fA: Float64Array;
  private readonly fB: Float64Array;
  /** Scratch of alphaBound / optimiseAlpha (called per open form per box): gradient, Adam step, input coefficients, trace. */
  private readonly aGrad: Float64Array;
  private readonly aStep: Float64Array;
  private readonly aLamX: Float64Array;
  private readonly aTrace: AlphaTrace;

  constructor(
    readonly chain: ReluChain,
    readonly C: Float64Array,
    readonly c: Float64Array,
    readonly maxRows: number,
    /** Refine crossing pre-activations by back-substitution (full CROWN); off: forward symbolic only. */
    readonly refine = true,
  ) {
    this.m = c.length;
    const d = (this.d = chain.nIn);
    let n = d;
    let widest = d;
    for (const ly of chain.layers) {
      n = ly.kind === 'dense' ? ly.nOut : ly.n;
      widest = Math.max(widest, n);
      this.Al.push(new Float64Array(n * (d + 1)));
      this.Au.push(new Float64Array(n * (d + 1)));
      this.el.push(new Float64Array(n));
      this.eu.push(new Float64Array(n));
      this.zl.push(new Float64Array(n));
      this.zu.push(new Float64Array(n));
      this.mL.push(new Float64Array(n));
      this.mU.push(new Float64Array(n));
    }
    const P = 2 * widest;
    this.bA = new Float64Array(P * widest);
    this.bB = new Float64Array(P * widest);
    for (const ly of chain.layers) {
      this.vAbs.push(new Float64Array(ly.kind === 'dense' ? ly.nOut : 0));
      const nr = ly.kind === 'relu' ? ly.n : 0;
      this.rLow.push(new Float64Array(nr));
      this.rNeg.push(new Float64Array(nr));
      this.rShift.push(new Float64Array(nr));
      this.rMagS.push(new Float64Array(nr));
    }
    this.vStamp = new Int32Array(chain.layers.length).fill(-1);
    this.rStamp = new Int32Array(chain.layers.length).fill(-1);
    this.fS1 = new Float64Array(2 * FWD_ROWS(d) * widest);
    this.fS2 = new Float64Array(2 * FWD_ROWS(d) * widest);
    this.fO = new Float64Array(2 * FWD_ROWS(d) * widest);
    this.bCst = new Float64Array(P);
    this.bCmag = new Float64Array(P);
    this.bErr = new Float64Array(P);
    this.bOut = new Float64Array(P);
    this.cross = new Int32Array(widest);
    this.terms = d + 2 + chain.layers.reduce((t, ly) => t + (ly.kind === 'dense' ? ly.nOut : ly.n), nOutOf(chain));
    this.X = new Float64Array(d);
    this.mScratch = new Float64Array(widest);
    this.reluOff = new Int32Array(chain.layers.length).fill(-1);
    let nr = 0;
    for (const [k, ly] of chain.layers.entries()) if (ly.kind === 'relu') ((this.reluOff[k] = nr), (nr += ly.n));
    this.nRelu = nr;
    this.fA = new Float64Array(widest);
    this.fB = new Float64Array(widest);
    this.aGrad = new Float64Array(nr);
    this.aStep = new Float64Array(nr);
    this.aLamX = new Float64Array(d);
    this.aTrace = { slope: new Float64Array(nr), shift: new Float64Array(nr), lam: new Float64Array(nr) };
    this.lamA = new Float64Array(this.m * widest);
    this.lamB = new Float64Array(this.m * widest);
    this.lo = new Float64Array(maxRows * this.m);
    this.lam = new Float64Array(maxRows * this.m * d);
    this.lc = new Float64Array(maxRows * this.m);
    this.yLo = new Float64Array(maxRows * chain.nOut);
    this.yHi = new Float64Array(maxRows * chain.nOut);
  }

  /** Number of stored intermediate bounds per box (lo and hi of every layer's output). */
  get stateSize(): number {
    return 2 * this.zl.reduce((t, z) => t + z.length, 0);
  }

  /**
   * Bound `rows` boxes. With `parents`, row r's intermediate bounds are intersected with
   * parents[r] (bounds valid on a box containing row r's box, from `saveState`; null: none):
   * a neuron stable in the parent box stays stable, and is not refined again.
   * `cheap`: forward symbolic intermediates only, no refinement (the look-ahead's scores).
   */
  bound(L: Float64Array, H: Float64Array, rows: number, parents?: readonly (Float64Array | null)[], states?: (Float64Array | null)[], cheap = false): void {
    this.cheap = cheap;
    for (let r = 0; r < rows; r++) {
      this.row(L, H, r, parents?.[r] ?? null);
      if (states) states[r] = this.saveState();
    }
  }

  /** The intermediate bounds of the last bounded row. */
  private saveState(): Float64Array {
    const out = new Float64Array(this.stateSize);
    this.loaded = out;
    let p = 0;
    for (let k = 0; k < this.zl.length; k++) {
      out.set(this.zl[k], p);
      p += this.zl[k].length;
      out.set(this.zu[k], p);
      p += this.zu[k].length;
    }
    return out;
  }

  /** Restore the intermediate bounds saved by `bound(…, states)` (saveState's layout). */
  private loadState(st: Float64Array): void {
    // the state the bounds already hold (saved from them, or loaded last; states are never
    // written after saveState): nothing to copy, and the per-row caches stay valid
    if (st === this.loaded) return;
    this.loaded = st;
    // the per-row caches (absWM, reluRelax) were for the bounds replaced here
    this.stamp = (this.stamp + 1) | 0;
    let p = 0;
    for (let k = 0; k < this.zl.length; k++) {
      const n = this.zl[k].length;
      this.zl[k].set(st.subarray(p, p + n));
      p += n;
      this.zu[k].set(st.subarray(p, p + n));
      p += n;
    }
  }

  /** The box of row r of (L, H), and `state` loaded (null: keep the stored bounds, those of the last row bounded). */
  private boxOf(L: Float64Array, H: Float64Array, r: number, state: Float64Array | null): [Float64Array, Float64Array] {
    if (state) this.loadState(state);
    const d = this.d;
    return [L.subarray(r * d, (r + 1) * d), H.subarray(r * d, (r + 1) * d)];
  }

  /** CROWN's adaptive slopes on the stored bounds (α = 1 if u > −l else 0), flat over the ReLU layers. */
  private adaptiveAlpha(lo: Float64Array, hi: Float64Array): Float64Array {
    const out = new Float64Array(this.nRelu);
    for (const [k, ly] of this.chain.layers.entries()) {
      if (ly.kind !== 'relu') continue;
      const inL = k > 0 ? this.zl[k - 1] : lo,
        inU = k > 0 ? this.zu[k - 1] : hi;
      for (let i = 0; i < ly.n; i++) out[this.reluOff[k] + i] = inU[i] > -inL[i] ? 1 : 0;
    }
    return out;
  }

  /**
   * The final back-substitution of form q with slopes `alpha` (backLower, the allowance included),
   * on the stored bounds; writes the input coefficients to lamX, and dB/dα to `grad` when given.
   */
  private alphaPass(lo: Float64Array, hi: Float64Array, q: number, alpha: Float64Array, lamX: Float64Array, grad: Float64Array | null, trace: AlphaTrace): number {
    const nOut = this.chain.nOut;
    for (let o = 0; o < nOut; o++) this.lamA[o] = this.C[q * nOut + o];
    const v = this.backLower(this.chain.layers.length - 1, this.c[q], lo, hi, lamX, 0, alpha, grad ? trace : null);
    if (grad) this.alphaGrad(lo, hi, lamX, trace, grad);
    return v;
  }

  /**
   * The gradient of the bound B(α) of the last alphaPass where it is differentiable (the sign
   * pattern of the λs and of the input coefficients fixed): B = min over the box of the relaxed
   * network's linear function, attained at the vertex x* (lo_j where its coefficient is > 0, else
   * hi_j); relaxing neuron i of layer k by α_i·z makes dB/dα_i = λ_i·ẑ_i(x*), λ_i its output's
   * coefficient (from the layers above, independent of α at layer k) and ẑ_i its pre-activation in
   * the relaxed network run forward at x* (each ReLU replaced by the line the pass chose).
   * Non-crossing neurons and those relaxed by the chord get 0.
   */
  private alphaGrad(lo: Float64Array, hi: Float64Array, lamX: Float64Array, tr: AlphaTrace, grad: Float64Array): void {
    const d = this.d;
    let a = this.fA,
      z = this.fB;
    for (let j = 0; j < d; j++) a[j] = lamX[j] > 0 ? lo[j] : hi[j];
    for (const [k, ly] of this.chain.layers.entries()) {
      if (ly.kind === 'dense') {
        matVec(ly.W, ly.nIn, ly.nOut, a, ly.b, z);
      } else if (ly.kind === 'affine') {
        for (let i = 0; i < ly.n; i++) z[i] = ly.s[i] * a[i] + ly.t[i];
      } else {
        const off = this.reluOff[k];
        const inL = k > 0 ? this.zl[k - 1] : lo,
          inU = k > 0 ? this.zu[k - 1] : hi;
        for (let i = 0; i < ly.n; i++) {
          const zh = a[i],
            v = tr.lam[off + i];
          grad[off + i] = inL[i] < 0 && inU[i] > 0 && v > 0 ? v * zh : 0;
          z[i] = tr.slope[off + i] * zh + tr.shift[off + i];
        }
      }
      const t = a;
      a = z;
      z = t;
    }
  }

  /**
   * The sound lower bound of form q over row r's box (of L, H) with the slopes `alpha` (flat at
   * reluOff; any values in [0, 1]) for the crossing ReLUs whose coefficient is ≥ 0 in the final
   * back-substitution; the intermediate bounds are those of `state` (saved by bound(…, states);
   * null: those of the last row bounded). With `grad`, dB/dα where B is differentiable.
   */
  alphaBound(L: Float64Array, H: Float64Array, r: number, q: number, alpha: Float64Array, state: Float64Array | null, grad: Float64Array | null = null): number {
    const [lo, hi] = this.boxOf(L, H, r, state);
    return this.alphaPass(lo, hi, q, alpha, this.aLamX, grad, this.aTrace);
  }

  /**
   * alpha-CROWN (Xu et al. 2021, "Fast and Complete", ICLR) for the final back-substitution of
   * form q over row r's box: projected gradient ascent (Adam, clipped to [0, 1]) on the slopes,
   * from CROWN's adaptive ones, the intermediate bounds kept (those of `state`, as alphaBound).
   * Returns the best bound seen (never below the start's) with its slopes and linear bound; stops
   * early once the bound exceeds `target`. With `init` (e.g. the slopes optimised on a box
   * containing this one) the steps start from there instead, CROWN's slopes still a candidate.
   */
  optimiseAlpha(L: Float64Array, H: Float64Array, r: number, q: number, state: Float64Array | null, opts: AlphaOptions = {}, target = Infinity, init: Float64Array | null = null): AlphaResult {
    const [lo, hi] = this.boxOf(L, H, r, state);
    const n = this.nRelu,
      steps = opts.steps ?? 8;
    const alpha = this.adaptiveAlpha(lo, hi);
    const grad = this.aGrad,
      step = this.aStep,
      lamX = this.aLamX,
      trace = this.aTrace;
    const start = this.alphaPass(lo, hi, q, alpha, lamX, init ? null : grad, trace);
    const res: AlphaResult = { lo: start, lam: lamX.slice(), lc: this.lastConst, alpha: alpha.slice(), start };
    if (init) {
      for (let i = 0; i < n; i++) alpha[i] = Math.min(1, Math.max(0, init[i]));
      const v = this.alphaPass(lo, hi, q, alpha, lamX, grad, trace);
      if (v > res.lo) {
        res.lo = v;
        res.lam.set(lamX);
        res.lc = this.lastConst;
        res.alpha.set(alpha);
      }
    }
    const adam = new AdamMoments(n, adamParams(opts.learningRate ?? 0.5));
    for (let t = 1; t <= steps && !(res.lo > target); t++) {
      adam.step(0, n, grad, 0, t, step, 0);
      for (let i = 0; i < n; i++) alpha[i] = Math.min(1, Math.max(0, alpha[i] + step[i]));
      const v = this.alphaPass(lo, hi, q, alpha, lamX, t < steps ? grad : null, trace);
      if (v > res.lo) {
        res.lo = v;
        res.lam.set(lamX);
        res.lc = this.lastConst;
        res.alpha.set(alpha);
      }
      if (t === 3 && opts.hopeless !== undefined && res.lo + opts.hopeless * (res.lo - start) <= target) break;
    }
    return res;
  }

  /** Lower and upper value of form row i (length d+1: coefficients then constant) over the box, with allowance. */
  private concretise(A: Float64Array, i: number, e: number, lo: Float64Array, hi: Float64Array, wantLower: boolean): number {
    const d = this.d;
    const base = i * (d + 1);
    let s = A[base + d];
    let mag = Math.abs(s);
    for (let j = 0; j < d; j++) {
      const a = A[base + j];
      if (a === 0) continue;
      const v = wantLower ? (a > 0 ? a * lo[j] : a * hi[j]) : a > 0 ? a * hi[j] : a * lo[j];
      s += v;
      mag += Math.abs(v);
    }
    const err = (e + gamma(d + 2) * mag) * ERR_INFLATE;
    return wantLower ? nextDown(s - err) : nextUp(s + err);
  }

  /**
   * Lower bound over the box of λ·v_K + cst, λ in lamA (width of layer K's output), by
   * back-substitution through layers K … 0 with the stored bounds; the input coefficients are
   * written to lamOut[at …] when given. Clobbers lamA / lamB.
   *
   * The slope rule of a crossing ReLU whose coefficient λ_i is ≥ 0 (relu(z) ≥ α·z, valid for any
   * α in [0, 1]): CROWN's adaptive α = 1 if u > −l else 0, or, with `alpha`, the given per-neuron
   * slopes (flat over the ReLU layers, at reluOff[k]; alpha-CROWN). `trace` receives each ReLU
   * neuron's chosen relaxation relu(z) ≈ slope·z + shift and its λ (for alphaGrad).
   */
  private backLower(
    K: number,
    cst0: number,
    lo: Float64Array,
    hi: Float64Array,
    lamOut: Float64Array | null,
    at: number,
    alpha: Float64Array | null = null,
    trace: AlphaTrace | null = null,
  ): number {
    const layers = this.chain.layers;
    const d = this.d;
    let lam = this.lamA,
      nxt = this.lamB;
    let width = K >= 0 ? widthOf(layers[K]) : d;
    let cst = cst0;
    let err = 0;
    let cmag = Math.abs(cst);
    for (let k = K; k >= 0; k--) {
      const ly = layers[k];
      // bounds of this layer's INPUT values
      const inL = k > 0 ? this.zl[k - 1] : lo,
        inU = k > 0 ? this.zu[k - 1] : hi;
      if (ly.kind === 'dense') {
        const { W, b, nIn, nOut: no } = ly;
        // coefficient error γ·Σ_i (Σ_o |λ_o||W_oi|)·M_i = γ·Σ_o |λ_o|·v_o with v = |W|·M (absWM; the
        // same sum regrouped, as in backLowerBatch, inflated by γ of its lengths)
        const va = this.absWM(k, inL, inU);
        let es = 0;
        for (let o = 0; o < no; o++) {
          const v = lam[o];
          if (v === 0) continue;
          const t = v * b[o];
          cst += t;
          cmag += Math.abs(t);
          es += Math.abs(v) * va[o];
        }
        for (let i = 0; i < nIn; i++) nxt[i] = 0;
        // the nonzero λ_o two at a time: one pass over nxt per pair, the additions in the order
        // of o as one at a time ((nxt + λ_o W_o) + λ_o' W_o')
        let pend = -1;
        for (let o = 0; o < no; o++) {
          const v = lam[o];
          if (v === 0) continue;
          if (pend < 0) {
            pend = o;
            continue;
          }
          const v0 = lam[pend],
            r0 = pend * nIn,
            r1 = o * nIn;
          for (let i = 0; i < nIn; i++) nxt[i] = nxt[i] + v0 * W[r0 + i] + v * W[r1 + i];
          pend = -1;
        }
        if (pend >= 0) {
          const v0 = lam[pend],
            r0 = pend * nIn;
          for (let i = 0; i < nIn; i++) nxt[i] += v0 * W[r0 + i];
        }
        err += gamma(no + 1) * (1 + gamma(no + nIn + 2)) * es * ERR_INFLATE;
        width = nIn;
      } else if (ly.kind === 'affine') {
        const { s, t } = ly;
        for (let i = 0; i < width; i++) {
          const v = lam[i];
          const tt = v * t[i];
          cst += tt;
          cmag += Math.abs(tt);
          nxt[i] = v * s[i];
          err += gamma(2) * Math.abs(nxt[i]) * Math.max(Math.abs(inL[i]), Math.abs(inU[i]));
        }
      } else {
        const off = this.reluOff[k];
        for (let i = 0; i < width; i++) {
          const v = lam[i];
          const l = inL[i],
            u = inU[i];
          if (trace) {
            trace.lam[off + i] = v;
            trace.shift[off + i] = 0;
            trace.slope[off + i] = l >= 0 ? 1 : 0;
          }
          if (v === 0 || l >= 0) {
            nxt[i] = v;
            if (trace && l < 0 && u > 0) trace.slope[off + i] = alpha ? alpha[off + i] : u > -l ? 1 : 0;
            continue;
          }
          if (u <= 0) {
            nxt[i] = 0;
            continue;
          }
          if (v > 0) {
            const a = alpha ? alpha[off + i] : u > -l ? 1 : 0;
            nxt[i] = v * a;
            if (trace) trace.slope[off + i] = a;
            // a fractional slope rounds the product: |fl(λα) − λα| ≤ u|fl(λα)| on |z| ≤ max(|l|, |u|)
            if (a !== 0 && a !== 1) err += gamma(2) * Math.abs(nxt[i]) * Math.max(Math.abs(l), Math.abs(u));
          } else {
            const s = nextUp(u / nextDown(u - l));
            nxt[i] = v * s;
            const t = -nxt[i] * l; // λ·relu(z) ≥ λs·z − λs·l: the constant −λs·l
            cst += t;
            cmag += Math.abs(t);
            err += gamma(2) * Math.abs(nxt[i]) * Math.max(Math.abs(l), Math.abs(u));
            if (trace) {
              trace.slope[off + i] = s;
              trace.shift[off + i] = -s * l;
            }
          }
        }
      }
      const tmp = lam;
      lam = nxt;
      nxt = tmp;
    }
    let val = cst;
    let mag = cmag;
    for (let j = 0; j < d; j++) {
      const a = lam[j];
      if (lamOut) lamOut[at + j] = a;
      if (a === 0) continue;
      const t = a > 0 ? a * lo[j] : a * hi[j];
      val += t;
      mag += Math.abs(t);
    }
    const total = (err + gamma(this.terms) * mag) * ERR_INFLATE;
    // the allowance covers every x of the box (mag took each input term at its bound), so
    // lam·x + (cst − total) bounds the form from below there
    this.lastConst = nextDown(cst - total);
    return nextDown(val - total);
  }

  /**
   * v = |W|·M of dense layer k, M_i = max(|inL_i|, |inU_i|) its inputs' magnitudes, once per
   * bounded row (row() bumps the stamp; the input bounds of a layer below the one being refined
   * are final by then).
   */
  private absWM(k: number, inL: Float64Array, inU: Float64Array): Float64Array {
    const v = this.vAbs[k];
    if (this.vStamp[k] === this.stamp) return v;
    const ly = this.chain.layers[k] as Extract<ChainLayer, { kind: 'dense' }>;
    const { absW, nIn, nOut } = ly;
    const M = this.mScratch;
    for (let i = 0; i < nIn; i++) M[i] = Math.max(Math.abs(inL[i]), Math.abs(inU[i]));
    matVec(absW, nIn, nOut, M, null, v);
    this.vStamp[k] = this.stamp;
    return v;
  }

  /** The ReLU layer k's relaxation for the row being bounded (rLow, rNeg, rShift, rMagS), once per row. */
  private reluRelax(k: number, inL: Float64Array, inU: Float64Array): void {
    if (this.rStamp[k] === this.stamp) return;
    const lw = this.rLow[k],
      ng = this.rNeg[k],
      sh = this.rShift[k],
      ms = this.rMagS[k];
    for (let i = 0; i < lw.length; i++) {
      const l = inL[i],
        u = inU[i];
      sh[i] = ms[i] = 0;
      if (l >= 0) lw[i] = ng[i] = 1;
      else if (u <= 0) lw[i] = ng[i] = 0;
      else {
        // chord slope rounded up: s ≥ u/(u − l) makes s(z − l) ≥ relu(z) on [l, u]
        const s = nextUp(u / nextDown(u - l));
        lw[i] = u > -l ? 1 : 0;
        ng[i] = s;
        sh[i] = nextUp(-s * l);
        ms[i] = s * Math.max(-l, u);
      }
    }
    this.rStamp[k] = this.stamp;
  }

  /**
   * backLower for P rows at once (Λ: P × width of layer K's output, in `this.bA`; their constants,
   * constant magnitudes and allowances so far in bCst / bCmag / bErr, set by the caller), each
   * dense step one matrix product Λ·W on the engine's matmul kernel (the allowance through
   * absWM), each ReLU step branch-free (reluBack). Writes the P lower bounds to `out`.
   */
  private backLowerBatch(K: number, P: number, lo: Float64Array, hi: Float64Array, out: Float64Array): void {
    const layers = this.chain.layers;
    const d = this.d;
    let A = this.bA,
      B = this.bB;
    const cst = this.bCst,
      cmag = this.bCmag,
      err = this.bErr;
    let width = widthOf(layers[K]);
    for (let k = K; k >= 0; k--) {
      const ly = layers[k];
      const inL = k > 0 ? this.zl[k - 1] : lo,
        inU = k > 0 ? this.zu[k - 1] : hi;
      if (ly.kind === 'dense') {
        const { b, nIn, nOut: no, WT } = ly;
        // the coefficient error γ·Σ_i (|Λ|·|W|)_pi·M_i, M_i = max|input i|, is γ·Σ_o |Λ_po|·v_o with
        // v = |W|·M (the same sum regrouped: one matrix-vector product per layer, not a product
        // per row); the computed sums of non-negative terms are inflated by γ of their lengths
        const v = this.absWM(k, inL, inU);
        const g = gamma(no + 1) * (1 + gamma(no + nIn + 2)) * ERR_INFLATE;
        // two rows at a time: six independent sums (each in the order of o, so the same values
        // as one row at a time) keep the additions from waiting on each other
        let p = 0;
        for (; p + 2 <= P; p += 2) {
          let c0 = 0,
            mg0 = 0,
            es0 = 0,
            c1 = 0,
            mg1 = 0,
            es1 = 0;
          const row0 = p * no,
            row1 = row0 + no;
          // branch-free: zeros (common after a ReLU) add exact zeros
          for (let o = 0; o < no; o++) {
            const bo = b[o],
              vo = v[o];
            const a0 = A[row0 + o],
              a1 = A[row1 + o];
            const t0 = a0 * bo,
              t1 = a1 * bo;
            c0 += t0;
            c1 += t1;
            mg0 += Math.abs(t0);
            mg1 += Math.abs(t1);
            es0 += Math.abs(a0) * vo;
            es1 += Math.abs(a1) * vo;
          }
          cst[p] += c0;
          cmag[p] += mg0;
          err[p] += g * es0;
          cst[p + 1] += c1;
          cmag[p + 1] += mg1;
          err[p + 1] += g * es1;
        }
        for (; p < P; p++) {
          let c = 0,
            mg = 0,
            es = 0;
          const row = p * no;
          for (let o = 0; o < no; o++) {
            const a = A[row + o];
            const t = a * b[o];
            c += t;
            mg += Math.abs(t);
            es += Math.abs(a) * v[o];
          }
          cst[p] += c;
          cmag[p] += mg;
          err[p] += g * es;
        }
        // B = Λ·W (P × nIn): A·(Wᵀ)ᵀ with Wᵀ stored in × out
        matmulABt(A, WT, B, P, no, nIn, null);
        width = nIn;
      } else if (ly.kind === 'affine') {
        const { s, t } = ly;
        for (let p = 0; p < P; p++) {
          const row = p * width;
          for (let i = 0; i < width; i++) {
            const v = A[row + i];
            const tt = v * t[i];
            cst[p] += tt;
            cmag[p] += Math.abs(tt);
            B[row + i] = v * s[i];
            err[p] += gamma(2) * Math.abs(B[row + i]) * Math.max(Math.abs(inL[i]), Math.abs(inU[i]));
          }
        }
      } else {
        // λ ≥ 0 takes the lower slope (CROWN's adaptive 0 / 1, exact for stable neurons), λ < 0 on
        // a crossing neuron the chord s(z − l) (constant −λs·l), on a stable one the same 0 / 1
        // branch-free (reluBack): λ⁺·pos + λ⁻·neg, constant λ⁻·shift with
        // shift ≥ −s·l rounded up (a larger constant keeps relu(z) ≤ s·z + shift valid, and λ⁻ ≤ 0),
        // allowance |λ⁻|·s·max(|l|, |u|) for the rounded coefficient fl(λs)
        this.reluRelax(k, inL, inU);
        const pos = this.rLow[k],
          neg = this.rNeg[k],
          sh = this.rShift[k],
          mzs = this.rMagS[k];
        reluBack(A, B, P, width, pos, neg, sh, mzs, cst, cmag, err, gamma(2) * (1 + gamma(width + 1)));
      }
      const tmp = A;
      A = B;
      B = tmp;
    }
    for (let p = 0; p < P; p++) {
      let val = cst[p],
        mag = cmag[p];
      for (let j = 0; j < d; j++) {
        const a = A[p * d + j];
        if (a === 0) continue;
        const t = a > 0 ? a * lo[j] : a * hi[j];
        val += t;
        mag += Math.abs(t);
      }
      out[p] = nextDown(val - (err[p] + gamma(this.terms) * mag) * ERR_INFLATE);
    }
  }

  /**
   * The forward symbolic step of dense layer k on forms of its inputs (n × (d+1) lower / upper,
   * allowances, magnitudes, concrete bounds): lower form W⁺·A_l + W⁻·A_u, upper W⁺·A_u + W⁻·A_l,
   * allowances and magnitudes by the same sign rule, and the interval bounds W⁺·l + W⁻·u,
   * W⁺·u + W⁻·l, all as two matrix products over stacked transposed sources S1 = [L-rows; U-rows],
   * S2 = [U-rows; L-rows]: O = S1·W⁺ᵀ + S2·W⁻ᵀ. The U block carries −allowance and −magnitude (and
   * the L block |l| + |u|, the U block its negation), so that every such row sums non-negative
   * terms: W⁺·e_l + W⁻·(−e_u) = Σ|w|·(e_l or e_u by the sign of w). Writes Al, Au, el, eu, zl, zu of
   * layer k (the parent intersection and refinement follow in row()).
   */
  private denseForward(
    ly: Extract<ChainLayer, { kind: 'dense' }>,
    pAl: Float64Array,
    pAu: Float64Array,
    pel: Float64Array,
    peu: Float64Array,
    pmL: Float64Array,
    pmU: Float64Array,
    pzl: Float64Array,
    pzu: Float64Array,
    k: number,
    lo: Float64Array,
    hi: Float64Array,
  ): void {
    const d = this.d,
      d1 = d + 1;
    const { b, nIn, nOut, Wp, Wn } = ly;
    const R = FWD_ROWS(d);
    const S1 = this.fS1,
      S2 = this.fS2,
      O = this.fO;
    const U0 = R * nIn; // start of the second block
    for (let i = 0; i < nIn; i++) {
      const ib = i * d1;
      for (let j = 0; j < d1; j++) {
        const vl = pAl[ib + j],
          vu = pAu[ib + j];
        S1[j * nIn + i] = vl;
        S1[U0 + j * nIn + i] = vu;
        S2[j * nIn + i] = vu;
        S2[U0 + j * nIn + i] = vl;
      }
      const a = Math.abs(pzl[i]) + Math.abs(pzu[i]);
      const e0 = d1 * nIn + i,
        e1 = e0 + nIn,
        e2 = e1 + nIn,
        e3 = e2 + nIn;
      S1[e0] = S2[U0 + e0] = pel[i];
      S1[U0 + e0] = S2[e0] = -peu[i];
      S1[e1] = S2[U0 + e1] = pmL[i];
      S1[U0 + e1] = S2[e1] = -pmU[i];
      S1[e2] = S2[U0 + e2] = pzl[i];
      S1[U0 + e2] = S2[e2] = pzu[i];
      S1[e3] = S2[U0 + e3] = a;
      S1[U0 + e3] = S2[e3] = -a;
    }
    matmulABt(S1, Wp, O, 2 * R, nIn, nOut, null);
    matmulABt(S2, Wn, O, 2 * R, nIn, nOut, null, true);
    const Al = this.Al[k],
      Au = this.Au[k],
      el = this.el[k],
      eu = this.eu[k],
      zl = this.zl[k],
      zu = this.zu[k];
    const OU = R * nOut;
    const g = gamma(nIn + 2);
    // the computed sums of non-negative terms may fall short by γ of their length
    const up = (1 + gamma(nIn + 2)) * ERR_INFLATE;
    for (let o = 0; o < nOut; o++) {
      const ob = o * d1;
      for (let j = 0; j < d1; j++) {
        Al[ob + j] = O[j * nOut + o];
        Au[ob + j] = O[OU + j * nOut + o];
      }
      Al[ob + d] += b[o];
      Au[ob + d] += b[o];
      const ab = Math.abs(b[o]);
      const accL = O[d1 * nOut + o],
        accU = -O[OU + d1 * nOut + o];
      const magL = ab + O[(d1 + 1) * nOut + o],
        magU = ab - O[OU + (d1 + 1) * nOut + o];
      el[o] = (accL + g * magL) * up;
      eu[o] = (accU + g * magU) * up;
      zl[o] = this.concretise(Al, o, el[o], lo, hi, true);
      zu[o] = this.concretise(Au, o, eu[o], lo, hi, false);
      // interval arithmetic from the previous concrete bounds (sound, sometimes tighter)
      const il = b[o] + O[(d1 + 2) * nOut + o],
        iu = b[o] + O[OU + (d1 + 2) * nOut + o];
      const ie = g * (ab + O[(d1 + 3) * nOut + o]) * up;
      const ilo = nextDown(il - ie),
        ihi = nextUp(iu + ie);
      if (ilo > zl[o]) zl[o] = ilo;
      if (ihi < zu[o]) zu[o] = ihi;
    }
  }

  private row(L: Float64Array, H: Float64Array, r: number, parent: Float64Array | null): void {
    const d = this.d,
      d1 = d + 1;
    this.stamp = (this.stamp + 1) | 0;
    this.loaded = null;
    const lo = L.subarray(r * d, (r + 1) * d),
      hi = H.subarray(r * d, (r + 1) * d);
    const X = this.X;
    for (let j = 0; j < d; j++) X[j] = Math.max(Math.abs(lo[j]), Math.abs(hi[j]));
    const layers = this.chain.layers;
    // ---- forward symbolic pass
    let pAl: Float64Array | null = null,
      pAu: Float64Array | null = null,
      pel: Float64Array | null = null,
      peu: Float64Array | null = null,
      pzl: Float64Array | null = null,
      pzu: Float64Array | null = null,
      pmL: Float64Array | null = null,
      pmU: Float64Array | null = null;
    let n = d;
    for (let k = 0; k < layers.length; k++) {
      const ly = layers[k];
      const Al = this.Al[k],
        Au = this.Au[k],
        el = this.el[k],
        eu = this.eu[k],
        zl = this.zl[k],
        zu = this.zu[k];
      if (ly.kind === 'dense') {
        const { W, b, nIn, nOut } = ly;
        const g = gamma(nIn + 2);
        if (pAl !== null) this.denseForward(ly, pAl, pAu as Float64Array, pel as Float64Array, peu as Float64Array, pmL as Float64Array, pmU as Float64Array, pzl as Float64Array, pzu as Float64Array, k, lo, hi);
        else
          for (let o = 0; o < nOut; o++) {
            // forms of the inputs themselves: x_i, exact
            const ob = o * d1;
            let mag = Math.abs(b[o]);
            for (let j = 0; j < d1; j++) Al[ob + j] = Au[ob + j] = 0;
            for (let i = 0; i < nIn; i++) {
              const w = W[o * nIn + i];
              Al[ob + i] = Au[ob + i] = w;
              mag += Math.abs(w) * X[i];
            }
            Al[ob + d] = Au[ob + d] = b[o];
            el[o] = eu[o] = g * mag * ERR_INFLATE;
            zl[o] = this.concretise(Al, o, el[o], lo, hi, true);
            zu[o] = this.concretise(Au, o, eu[o], lo, hi, false);
          }
        n = nOut;
        if (parent) {
          let p = 0;
          for (let j = 0; j < k; j++) p += 2 * this.zl[j].length;
          for (let o = 0; o < nOut; o++) {
            const pl = parent[p + o],
              pu = parent[p + nOut + o];
            if (pl > zl[o]) zl[o] = pl;
            if (pu < zu[o]) zu[o] = pu;
          }
        }
        // CROWN intermediate bounds (Zhang et al. 2018): back-substitute ±e_i for every neuron
        // that the next ReLU sees crossing zero (stable ones relax exactly already)
        if (this.refine && !this.cheap && k > 0 && k + 1 < layers.length && layers[k + 1].kind === 'relu') {
          // all crossing neurons of the layer at once: rows 2i (+e_o) and 2i+1 (−e_o)
          const cross = this.cross;
          let nc = 0;
          for (let o = 0; o < nOut; o++) if (zl[o] < 0 && zu[o] > 0) cross[nc++] = o;
          if (nc > 0) {
            // rows ±e_o through this dense layer are exactly ±(W_o·, b_o): start below it
            const A = this.bA;
            const cst = this.bCst,
              cmag = this.bCmag,
              err = this.bErr;
            for (let i = 0; i < nc; i++) {
              const o = cross[i];
              for (let j = 0; j < nIn; j++) {
                const w = W[o * nIn + j];
                A[2 * i * nIn + j] = w;
                A[(2 * i + 1) * nIn + j] = -w;
              }
              cst[2 * i] = b[o];
              cst[2 * i + 1] = -b[o];
              cmag[2 * i] = cmag[2 * i + 1] = Math.abs(b[o]);
              err[2 * i] = err[2 * i + 1] = 0;
            }
            const res = this.bOut;
            this.backLowerBatch(k - 1, 2 * nc, lo, hi, res);
            for (let i = 0; i < nc; i++) {
              const o = cross[i];
              const l = res[2 * i],
                u = -res[2 * i + 1];
              if (l > zl[o]) zl[o] = l;
              if (u < zu[o]) zu[o] = u;
            }
          }
        }
      } else if (ly.kind === 'affine') {
        const { s, t } = ly;
        for (let i = 0; i < n; i++) {
          const ib = i * d1;
          const si = s[i];
          const srcL = pAl === null ? null : si >= 0 ? pAl : (pAu as Float64Array);
          const srcU = pAl === null ? null : si >= 0 ? (pAu as Float64Array) : pAl;
          let magL = Math.abs(t[i]),
            magU = magL;
          for (let j = 0; j < d1; j++) {
            const vl = srcL === null ? (j === i ? 1 : 0) : srcL[ib + j];
            const vu = srcU === null ? (j === i ? 1 : 0) : srcU[ib + j];
            Al[ib + j] = si * vl;
            Au[ib + j] = si * vu;
          }
          Al[ib + d] += t[i];
          Au[ib + d] += t[i];
          const as = Math.abs(si);
          const pl = pel === null ? 0 : si >= 0 ? pel[i] : (peu as Float64Array)[i];
          const pu = peu === null ? 0 : si >= 0 ? (peu as Float64Array)[i] : (pel as Float64Array)[i];
          const mi = pzl === null ? X[i] : Math.max(Math.abs(pzl[i]), Math.abs((pzu as Float64Array)[i]));
          magL += as * (mi + (srcL ? formMag(srcL, ib, d, X) : X[i]));
          magU += as * (mi + (srcU ? formMag(srcU, ib, d, X) : X[i]));
          el[i] = (as * pl + gamma(3) * magL) * ERR_INFLATE;
          eu[i] = (as * pu + gamma(3) * magU) * ERR_INFLATE;
          zl[i] = this.concretise(Al, i, el[i], lo, hi, true);
          zu[i] = this.concretise(Au, i, eu[i], lo, hi, false);
        }
      } else {
        // relu on the previous layer's bounds
        if (pAl === null) {
          // relu straight on the inputs: forms of x_i first
          for (let i = 0; i < n; i++) {
            const ib = i * d1;
            for (let j = 0; j < d1; j++) Al[ib + j] = Au[ib + j] = j === i ? 1 : 0;
          }
        }
        for (let i = 0; i < n; i++) {
          const ib = i * d1;
          const l = pzl === null ? lo[i] : pzl[i],
            u = pzu === null ? hi[i] : (pzu as Float64Array)[i];
          const sl = pAl ?? Al,
            su = pAu ?? Au;
          const pe = pel === null ? 0 : pel[i],
            pue = peu === null ? 0 : (peu as Float64Array)[i];
          if (l >= 0) {
            for (let j = 0; j < d1; j++) {
              Al[ib + j] = sl[ib + j];
              Au[ib + j] = su[ib + j];
            }
            el[i] = pe;
            eu[i] = pue;
            zl[i] = l;
            zu[i] = u;
          } else if (u <= 0) {
            for (let j = 0; j < d1; j++) Al[ib + j] = Au[ib + j] = 0;
            el[i] = eu[i] = 0;
            zl[i] = zu[i] = 0;
          } else {
            // chord slope rounded up: s ≥ u/(u − l) makes s(z − l) ≥ relu(z) on [l, u]
            const s = nextUp(u / nextDown(u - l));
            let mag = 0;
            for (let j = 0; j < d1; j++) {
              Au[ib + j] = s * su[ib + j];
              mag += Math.abs(Au[ib + j]) * (j < d ? X[j] : 1);
            }
            const sh = -s * l; // ≥ 0
            Au[ib + d] += sh;
            mag += Math.abs(sh) + Math.abs(l) * s;
            eu[i] = (s * pue + gamma(3) * mag) * ERR_INFLATE;
            if (u > -l) {
              for (let j = 0; j < d1; j++) Al[ib + j] = sl[ib + j];
              el[i] = pe;
            } else {
              for (let j = 0; j < d1; j++) Al[ib + j] = 0;
              el[i] = 0;
            }
            zl[i] = 0;
            zu[i] = u;
            const cu = this.concretise(Au, i, eu[i], lo, hi, false);
            if (cu < zu[i]) zu[i] = Math.max(cu, 0);
          }
        }
      }
      const mL = this.mL[k],
        mU = this.mU[k];
      for (let i = 0; i < n; i++) {
        const mz = Math.max(Math.abs(zl[i]), Math.abs(zu[i]));
        mL[i] = mz + formMag(Al, i * d1, d, X);
        mU[i] = mz + formMag(Au, i * d1, d, X);
      }
      pmL = mL;
      pmU = mU;
      pAl = Al;
      pAu = Au;
      pel = el;
      peu = eu;
      pzl = zl;
      pzu = zu;
    }
    const nOut = this.chain.nOut;
    const yl = pzl ?? lo,
      yu = pzu ?? hi;
    for (let o = 0; o < nOut; o++) {
      this.yLo[r * nOut + o] = yl[o];
      this.yHi[r * nOut + o] = yu[o];
    }
    // ---- back-substitution of each form row (CROWN)
    const m = this.m;
    const lam = this.lamA;
    for (let q = 0; q < m; q++) {
      for (let o = 0; o < nOut; o++) lam[o] = this.C[q * nOut + o];
      let best = this.backLower(layers.length - 1, this.c[q], lo, hi, this.lam, (r * m + q) * d);
      this.lc[r * m + q] = this.lastConst;
      // the forward forms' bound of the same row: C⁺·lower + C⁻·upper of the outputs' forms
      if (pAl !== null) {
        let fv = this.c[q],
          fm = Math.abs(fv);
        for (let o = 0; o < nOut; o++) {
          const cq = this.C[q * nOut + o];
          if (cq === 0) continue;
          const t = cq > 0 ? cq * yl[o] : cq * yu[o];
          fv += t;
          fm += Math.abs(t);
        }
        const fb = nextDown(fv - gamma(nOut + 2) * fm * ERR_INFLATE);
        if (fb > best) best = fb;
      }
      this.lo[r * m + q] = best;
    }
  }
}

/**
 * out = A·x (+ bias), A row-major nOut × nIn, the sums starting from the bias. Four rows at a time:
 * independent sums (a float add waits ~4 cycles for the previous one), each in the order of i, so
 * the values are those of one row at a time (the kernels' matmulABtJs at one row adds the bias
 * last: other values for alphaGrad).
 */
function matVec(A: Float64Array, nIn: number, nOut: number, x: Float64Array, bias: Float64Array | null, out: Float64Array): void {
  let o = 0;
  for (; o + 4 <= nOut; o += 4) {
    let s0 = bias ? bias[o] : 0,
      s1 = bias ? bias[o + 1] : 0,
      s2 = bias ? bias[o + 2] : 0,
      s3 = bias ? bias[o + 3] : 0;
    const r0 = o * nIn,
      r1 = r0 + nIn,
      r2 = r1 + nIn,
      r3 = r2 + nIn;
    for (let i = 0; i < nIn; i++) {
      const xi = x[i];
      s0 += A[r0 + i] * xi;
      s1 += A[r1 + i] * xi;
      s2 += A[r2 + i] * xi;
      s3 += A[r3 + i] * xi;
    }
    out[o] = s0;
    out[o + 1] = s1;
    out[o + 2] = s2;
    out[o + 3] = s3;
  }
  for (; o < nOut; o++) {
    let t = bias ? bias[o] : 0;
    const r = o * nIn;
    for (let i = 0; i < nIn; i++) t += A[r + i] * x[i];
    out[o] = t;
  }
}

/** One ReLU back-step of backLowerBatch over P rows (see there). */
function reluBack(A: Float64Array, B: Float64Array, P: number, width: number, pos: Float64Array, neg: Float64Array, sh: Float64Array, mzs: Float64Array, cst: Float64Array, cmag: Float64Array, err: Float64Array, g: number): void {
  let p = 0;
  // two rows at a time: four independent sums (each in the order of i, so the same values as one
  // row at a time) keep the additions from waiting on each other
  for (; p + 2 <= P; p += 2) {
    const r0 = p * width,
      r1 = r0 + width;
    let c0 = 0,
      e0 = 0,
      c1 = 0,
      e1 = 0;
    for (let i = 0; i < width; i++) {
      const v0 = A[r0 + i],
        v1 = A[r1 + i];
      const a0 = Math.abs(v0),
        a1 = Math.abs(v1);
      const vp0 = (v0 + a0) * 0.5,
        vn0 = (v0 - a0) * 0.5,
        vp1 = (v1 + a1) * 0.5,
        vn1 = (v1 - a1) * 0.5;
      const po = pos[i],
        ne = neg[i],
        si = sh[i],
        mi = mzs[i];
      B[r0 + i] = vp0 * po + vn0 * ne;
      B[r1 + i] = vp1 * po + vn1 * ne;
      c0 += vn0 * si;
      c1 += vn1 * si;
      e0 -= vn0 * mi;
      e1 -= vn1 * mi;
    }
    cst[p] += c0;
    cmag[p] -= c0;
    err[p] += g * e0;
    cst[p + 1] += c1;
    cmag[p + 1] -= c1;
    err[p + 1] += g * e1;
  }
  for (; p < P; p++) {
    const row = p * width;
    let c = 0,
      e = 0;
    for (let i = 0; i < width; i++) {
      const v = A[row + i];
      // λ⁺ and λ⁻ without a branch (Math.max / min branch, and the signs are unpredictable):
      // v ± |v| is 0 or exactly 2v, halved exactly
      const a = Math.abs(v);
      const vp = (v + a) * 0.5,
        vn = (v - a) * 0.5;
      B[row + i] = vp * pos[i] + vn * neg[i];
      c += vn * sh[i];
      e -= vn * mzs[i];
    }
    // every term of c is ≤ 0: its magnitude sum is −c
    cst[p] += c;
    cmag[p] -= c;
    err[p] += g * e;
  }
}

function widthOf(ly: ChainLayer): number {
  return ly.kind === 'dense' ? ly.nOut : ly.n;
}

function nOutOf(chain: ReluChain): number {
  return chain.nOut;
}

/** Σ|A_ij|·X_j + |c_i|: a bound of |form i| on the box. */
function formMag(A: Float64Array, ib: number, d: number, X: Float64Array): number {
  let s = Math.abs(A[ib + d]);
  for (let j = 0; j < d; j++) s += Math.abs(A[ib + j]) * X[j];
  return s;
}
