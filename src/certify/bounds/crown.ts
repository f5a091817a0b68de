/**
 * CROWN / DeepPoly back-substitution bounds (Zhang et al. 2018, "Efficient Neural Network
 * Robustness Certification with General Activation Functions"; Singh et al. 2019, "An Abstract
 * Domain for Certifying Neural Networks").
 *
 * For a node T and a coefficient vector λ on its features, a lower bound of λ·v_T over the box is
 * found by walking the graph backward from T to the inputs, replacing each node's term λ_k·v_k by
 * a linear lower bound in the values of the node's inputs:
 *   - dense y = x·W + b:            λ·y = (λ·Wᵀ)·x + λ·b (exact);
 *   - affine, add/sub of a constant, mul/div by a constant, add/sub of two tensors,
 *     concat, gather, reshape:      exact linear maps (index maps for the last three);
 *   - element-wise f (every unary of the engine), c/x:
 *                                   the relaxation lines a_L z + b_L ≤ f(z) ≤ a_U z + b_U of
 *                                   relaxUnary (forward.ts) on the pre-activation interval; a
 *                                   positive coefficient takes the lower line, a negative one
 *                                   the upper line;
 *   - product of two tensors:       the averaged McCormick planes y ≷ β_a·a + β_b·b + γ_{L,U}
 *                                   with β_a, β_b the operands' interval midpoints, the offsets
 *                                   bounded exactly at the four corners (a bilinear function's
 *                                   extremes on a rectangle);
 *   - anything else (softmax, log_softmax, division of two tensors), and any element whose
 *     relaxation is not finite:     the node is concretised with its interval bounds
 *                                   (λ·v ≥ Σ min(λᵢ·loᵢ, λᵢ·hiᵢ)), a sound fallback.
 * At the inputs the form is concretised over the box (unknowns vary in their interval, known
 * inputs are the thin intervals L = H). Upper bounds are lower bounds of −v_T.
 *
 * Intermediate bounds. Nodes are visited in topological order. Each node first gets the
 * interval bound of its op from its inputs' (already refined) bounds; a node whose bounds feed a
 * relaxation (the input of a unary node, an operand of a product or division, the input of c/x
 * or softmax) is then refined by its own back-substitution to the inputs, with λ = ±eᵢ for
 * every feature, and intersected with the interval bound. This is full CROWN: each layer's
 * relaxations use back-substituted pre-activation bounds of all earlier layers.
 *
 * Soundness under floating point (docs/design.md, Soundness), as in forward.ts: coefficients are
 * ordinary floats. Each computed coefficient λ̂ᵢ = fl(old + Σ products) differs from the exact
 * one by at most γ_K·(|old| + Σ|terms|) (Higham §3.1, K the number of terms plus one); that
 * error multiplies the node value vᵢ, which lies in the node's sound bounds, so it is moved into
 * the constant as γ_K·Σ|terms|·max(|loᵢ|, |hiᵢ|), outward. Constants (biases, relaxation
 * offsets, concretised terms) are accumulated the same way. The error allowances are summed
 * with upward rounding (each node's sum inflated by (1 + γ) and stepped up one float), and the
 * final bound c − err is rounded outward. Division by a constant uses the rounded 1/c, whose
 * relative error is inside the same allowance. Every bound is intersected with the engine's
 * interval bound (Network.bounds), so crownBounds is never wider than intervals; on nets of
 * linear ops it is exact up to rounding. A NaN anywhere (0·∞ cannot happen: zero coefficients
 * are skipped) falls back to the interval bound.
 */
import type { CompiledNode } from '../../graph/compile.ts';
import type { UnaryFn } from '../../graph/activations/types.ts';
import type { Network } from '../../graph/network.ts';
import { down, gamma, nextDown, nextUp, up } from '../../graph/round.ts';
import { NetinvertError } from '../../errors.ts';
import type { Problem } from '../../problem/query.ts';
import { propagateForms, relaxUnary } from './forward.ts';

interface Plan {
  nodes: readonly CompiledNode[];
  outputMap: Network['outputMap'];
  /** Node is refined by back-substitution (its bounds feed a relaxation). */
  refine: boolean[];
}

const plans = new WeakMap<Network, Plan>();
function planOf(net: Network): Plan {
  let p = plans.get(net);
  if (!p) {
    const cg = { nodes: net.nodes };
    const refine = cg.nodes.map(() => false);
    for (const nd of cg.nodes) {
      if (!nd.impl) continue;
      const im = nd.impl as unknown as { type: string; fn?: string; constantFirst?: boolean };
      const relaxed =
        im.type === 'unary' ||
        im.type === 'softmax' ||
        im.type === 'log_softmax' ||
        im.type === 'layer_norm' ||
        (im.type === 'binary' && (im.fn === 'mul' || im.fn === 'div')) ||
        (im.type === 'binary_const' && im.fn === 'div' && im.constantFirst === true);
      if (relaxed) for (const i of nd.inputs) if (cg.nodes[i].impl) refine[i] = true;
    }
    p = { nodes: net.nodes, outputMap: net.outputMap, refine };
    plans.set(net, p);
  }
  return p;
}

/**
 * Output bounds over `rows` boxes (full-input boxes L, H: rows × nIn, unknowns varying, known
 * inputs thin), from CROWN back-substitution intersected with the engine's interval bounds.
 *
 * With `outputs`, only those output features are back-substituted; the others keep their
 * interval bounds (the returned arrays still hold every output, rows × nOut).
 */
export function crownBounds(
  problem: Problem,
  L: Float64Array,
  H: Float64Array,
  rows: number,
  outputs?: readonly number[],
): { lo: Float64Array; hi: Float64Array } {
  const net = problem.model.network;
  const ib = net.bounds(L, H, rows);
  const plan = planOf(net);
  const nIn = net.nIn,
    nOut = net.nOut;
  const want = outputs ?? Array.from({ length: nOut }, (_, o) => o);
  // group the wanted outputs by node
  const byNode = new Map<number, number[]>();
  for (const o of want) {
    const { node, pos } = plan.outputMap[o];
    const ps = byNode.get(node) ?? [];
    if (!ps.includes(pos)) ps.push(pos);
    byNode.set(node, ps);
  }
  const lo = ib.lo,
    hi = ib.hi;
  for (let r = 0; r < rows; r++) {
    const st = new RowState(plan, L.subarray(r * nIn, (r + 1) * nIn), H.subarray(r * nIn, (r + 1) * nIn), byNode);
    st.run();
    for (const o of want) {
      const { node, pos } = plan.outputMap[o];
      const l = st.lo[node][pos],
        h = st.hi[node][pos];
      if (!(l <= h)) continue; // NaN or crossed: keep intervals
      if (l > lo[r * nOut + o]) lo[r * nOut + o] = l;
      if (h < hi[r * nOut + o]) hi[r * nOut + o] = h;
    }
  }
  return { lo, hi };
}

export interface CrownLinearOptions {
  /**
   * How the pre-activation (intermediate) bounds that the relaxations use are found: 'crown'
   * (default) back-substitutes every such node to the inputs (full CROWN, tightest); 'forward'
   * takes the forward symbolic bounds of forward.ts (one pass, cheaper, looser).
   */
  intermediate?: 'crown' | 'forward';
  /** Also return upper bounds (lower bounds of −C·y, negated). Default false. */
  upper?: boolean;
}

/**
 * Sound bounds of m linear forms of the outputs, C·y (C: m × nOut, row-major), over each of
 * `boxes` input boxes (L, H: boxes × nIn; a feature with L = H is a known input), by CROWN
 * back-substitution of C itself (Zhang et al. 2018, §3.2: the specification matrix is folded into
 * the last layer, so the relaxation of each neuron is chosen for the sign of the combined
 * coefficient and the concretisation at the inputs is done once per form; this is much tighter
 * than combining per-output bounds). Each result is also intersected with the interval bound of
 * C·y from the outputs' own CROWN bounds (those of crownBounds), so it is never wider than that. Rounded outward as in the
 * module comment. Returns lo (boxes × m) and, with `upper`, hi (boxes × m).
 */
export function crownLinearBounds(
  net: Network,
  L: Float64Array,
  H: Float64Array,
  boxes: number,
  C: Float64Array,
  m: number,
  opts: CrownLinearOptions = {},
): { lo: Float64Array; hi: Float64Array | null } {
  const nIn = net.nIn,
    nOut = net.nOut;
  if (!Number.isInteger(boxes) || boxes < 0 || !Number.isInteger(m) || m < 0) {
    throw new NetinvertError('bad_argument', `crownLinearBounds: boxes and m must be non-negative integers (got ${boxes}, ${m})`);
  }
  if (L.length < boxes * nIn || H.length < boxes * nIn) {
    throw new NetinvertError(
      'bad_argument',
      `crownLinearBounds: L and H must hold ${boxes} boxes × ${nIn} inputs = ${boxes * nIn} values (got ${L.length}, ${H.length})`,
    );
  }
  if (C.length < m * nOut) {
    throw new NetinvertError('bad_argument', `crownLinearBounds: C must be ${m} × ${nOut} outputs = ${m * nOut} values (got ${C.length})`);
  }
  for (let i = 0; i < m * nOut; i++) {
    if (!Number.isFinite(C[i])) throw new NetinvertError('bad_argument', `crownLinearBounds: C[${i}] is ${C[i]}; every coefficient must be finite`);
  }
  const inter = opts.intermediate ?? 'crown';
  if (inter !== 'crown' && inter !== 'forward') {
    throw new NetinvertError('bad_argument', `crownLinearBounds: intermediate must be 'crown' or 'forward' (got ${String(inter)})`);
  }
  const plan = planOf(net);
  const upper = opts.upper === true;
  const mm = upper ? 2 * m : m;
  const lo = new Float64Array(boxes * m),
    hi = upper ? new Float64Array(boxes * m) : null;
  let top = 0;
  for (const { node } of plan.outputMap) if (node > top) top = node;
  // every output feature is back-substituted on its own too (as crownBounds does), so the
  // interval bound of C·y below is the one from the per-output CROWN bounds
  const outs = new Map<number, number[]>();
  for (const { node, pos } of plan.outputMap) {
    const ps = outs.get(node) ?? [];
    if (!ps.includes(pos)) ps.push(pos);
    outs.set(node, ps);
  }
  const gAdd = gamma(2) * (1 + gamma(4));
  const gSum = gamma(nOut + 1);
  const unknowns: number[] = [];
  for (let b = 0; b < boxes; b++) {
    const Lb = L.subarray(b * nIn, (b + 1) * nIn),
      Hb = H.subarray(b * nIn, (b + 1) * nIn);
    let fwd: { lo: Float64Array; hi: Float64Array }[] | null = null;
    if (inter === 'forward') {
      unknowns.length = 0;
      for (let i = 0; i < nIn; i++) if (Lb[i] !== Hb[i]) unknowns.push(i);
      fwd = propagateForms(plan.nodes, unknowns, Lb, Hb);
    }
    const st = new RowState(plan, Lb, Hb, outs, fwd);
    st.run();
    // λ at the output nodes: row r is C[r] (and row m + r is −C[r]); two outputs naming the same
    // feature add up, the rounding of that sum (≤ γ₂·Σ|terms|·|v|) owed in err
    const lam: (Float64Array | null)[] = new Array(top + 1).fill(null);
    const err = new Float64Array(mm);
    for (let o = 0; o < nOut; o++) {
      const { node, pos } = plan.outputMap[o];
      const w = plan.nodes[node].width;
      const lk = (lam[node] ??= new Float64Array(mm * w));
      const mag = st.magnitude(node)[pos];
      for (let r = 0; r < mm; r++) {
        const v = r < m ? C[r * nOut + o] : -C[(r - m) * nOut + o];
        if (v === 0) continue;
        const j = r * w + pos,
          old = lk[j];
        lk[j] = old + v;
        if (old !== 0) err[r] = nextUp(err[r] + nextUp(gAdd * (Math.abs(old) + Math.abs(v)) * mag));
      }
    }
    const res = st.backsubLam(top, lam, mm, err);
    // interval bound of C·y from the outputs' bounds, and the intersection
    for (let r = 0; r < mm; r++) {
      let s = 0,
        a = 0;
      for (let o = 0; o < nOut; o++) {
        const v = r < m ? C[r * nOut + o] : -C[(r - m) * nOut + o];
        if (v === 0) continue;
        const { node, pos } = plan.outputMap[o];
        const t = v > 0 ? v * st.lo[node][pos] : v * st.hi[node][pos];
        s += t;
        a += Math.abs(t);
      }
      let iv = nextDown(s - nextUp(gSum * a));
      if (iv !== iv) iv = -Infinity;
      const cr = res[r];
      const best = cr > iv ? cr : iv; // NaN in cr keeps the interval bound
      if (r < m) lo[b * m + r] = best;
      else hi![b * m + r - m] = -best;
    }
  }
  return { lo, hi };
}

/** Scratch for one box: node bounds, magnitudes, relaxations. */
class RowState {
  readonly lo: Float64Array[] = [];
  readonly hi: Float64Array[] = [];
  /** max(|lo|, |hi|) per feature (∞ where unknown). */
  private readonly mag: Float64Array[] = [];
  /**
   * Per relaxed node, 4 numbers per feature: unary and c/x: [aL, bL, aU, bU] (lines in the
   * input); product: [βa, βb, γL, γU]. NaN in slot 1 marks an element to concretise.
   */
  private readonly rel: (Float64Array | null)[] = [];
  private readonly nodes: readonly CompiledNode[];

  constructor(
    private readonly plan: Plan,
    private readonly L: Float64Array,
    private readonly H: Float64Array,
    private readonly outs: Map<number, number[]>,
    /** Forward symbolic bounds of every node ('forward' intermediates): no refinement by back-substitution. */
    private readonly fwd: { lo: Float64Array; hi: Float64Array }[] | null = null,
  ) {
    this.nodes = plan.nodes;
  }

  run(): void {
    const nodes = this.nodes;
    for (let k = 0; k < nodes.length; k++) {
      const nd = nodes[k];
      const w = nd.width;
      const lo = new Float64Array(w),
        hi = new Float64Array(w);
      this.lo.push(lo);
      this.hi.push(hi);
      if (!nd.impl) {
        for (let i = 0; i < w; i++) {
          lo[i] = this.L[nd.inputOffset + i];
          hi[i] = this.H[nd.inputOffset + i];
        }
        this.rel.push(null);
        this.finish(k);
        continue;
      }
      nd.impl.bounds(
        nd.inputs.map((i) => this.lo[i]),
        nd.inputs.map((i) => this.hi[i]),
        lo,
        hi,
        1,
      );
      if (this.fwd) {
        const f = this.fwd[k];
        for (let i = 0; i < w; i++) {
          if (f.lo[i] > lo[i]) lo[i] = f.lo[i];
          if (f.hi[i] < hi[i]) hi[i] = f.hi[i];
        }
      }
      // relaxation of this node (its inputs' bounds are final)
      this.rel.push(this.relax(k));
      const outPos = this.outs.get(k);
      const refine = this.plan.refine[k] && !this.fwd;
      const pos = refine ? null : outPos;
      if (refine || outPos) {
        const ps = pos ?? Array.from({ length: w }, (_, i) => i);
        const b = this.backsub(k, ps);
        for (let p = 0; p < ps.length; p++) {
          const i = ps[p],
            l = b[p],
            h = b[ps.length + p];
          if (!(l <= h)) continue;
          if (l > lo[i]) lo[i] = l;
          if (h < hi[i]) hi[i] = h;
        }
      }
      this.finish(k);
    }
  }

  private finish(k: number): void {
    const lo = this.lo[k],
      hi = this.hi[k];
    const m = new Float64Array(lo.length);
    for (let i = 0; i < lo.length; i++) {
      const v = Math.max(Math.abs(lo[i]), Math.abs(hi[i]));
      m[i] = v === v ? v : Infinity;
    }
    this.mag.push(m);
  }

  private relax(k: number): Float64Array | null {
    const nd = this.nodes[k];
    const im = nd.impl as unknown as { type: string; fn: UnaryFn | string; c?: Float64Array; constantFirst?: boolean; wa?: number; wb?: number };
    const w = nd.width;
    if (im.type === 'unary') {
      const fn = im.fn as UnaryFn;
      const zl = this.lo[nd.inputs[0]],
        zh = this.hi[nd.inputs[0]];
      const R = new Float64Array(4 * w),
        t = new Float64Array(4);
      for (let i = 0; i < w; i++) {
        relaxUnary(fn, zl[i], zh[i], t);
        R.set(t, 4 * i);
        if (!finiteLines(t)) R[4 * i + 1] = NaN;
      }
      return R;
    }
    if (im.type === 'binary_const' && im.fn === 'div' && im.constantFirst) {
      const c = im.c!;
      const zl = this.lo[nd.inputs[0]],
        zh = this.hi[nd.inputs[0]];
      const R = new Float64Array(4 * w),
        t = new Float64Array(4);
      for (let i = 0; i < w; i++) {
        const ci = c[c.length === 1 ? 0 : i];
        if (ci !== 0 && Number.isFinite(zl[i]) && Number.isFinite(zh[i]) && (zl[i] > 0 || zh[i] < 0)) {
          relaxUnary(constOver(ci), zl[i], zh[i], t);
          R.set(t, 4 * i);
          if (!finiteLines(t)) R[4 * i + 1] = NaN;
        } else R[4 * i + 1] = NaN;
      }
      return R;
    }
    if (im.type === 'binary' && im.fn === 'mul') {
      const ia = nd.inputs[0],
        ib = nd.inputs[1];
      const sa = im.wa === 1 ? 0 : 1,
        sb = im.wb === 1 ? 0 : 1;
      const R = new Float64Array(4 * w);
      const g4 = gamma(4);
      for (let i = 0; i < w; i++) {
        const al = this.lo[ia][i * sa],
          ah = this.hi[ia][i * sa],
          bl = this.lo[ib][i * sb],
          bh = this.hi[ib][i * sb];
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
    return null;
  }

  /**
   * Sound lower bounds of +v_T[p] (first |ps| results) and of −v_T[p] negated, i.e. upper bounds
   * (last |ps| results), by back-substitution from node t to the inputs.
   */
  private backsub(t: number, ps: number[]): Float64Array {
    const np = ps.length,
      m = 2 * np;
    const lam: (Float64Array | null)[] = new Array(t + 1).fill(null);
    const wt = this.nodes[t].width;
    const l0 = new Float64Array(m * wt);
    for (let p = 0; p < np; p++) {
      l0[p * wt + ps[p]] = 1;
      l0[(np + p) * wt + ps[p]] = -1;
    }
    lam[t] = l0;
    const out = this.backsubLam(t, lam, m, new Float64Array(m));
    for (let r = np; r < m; r++) out[r] = -out[r];
    return out;
  }

  /**
   * Sound lower bounds of the m linear forms Σ_k λ_k·v_k + (constants held in err's partner c = 0)
   * given by `lam` (per node k ≤ t: m × width_k coefficients, or null), walking back from node t;
   * `err0` is a rounding allowance already owed (subtracted from every result). Consumes `lam`.
   */
  backsubLam(t: number, lam: (Float64Array | null)[], m: number, err0: Float64Array): Float64Array {
    const nodes = this.nodes;
    const c = new Float64Array(m),
      err = err0;
    const E = new Float64Array(m); // per-node error sums, flushed into err by addErr
    const ensure = (i: number): Float64Array => (lam[i] ??= new Float64Array(m * nodes[i].width));
    const addErr = (terms: number): void => {
      const f = 1 + gamma(terms + 8);
      for (let r = 0; r < m; r++) {
        if (E[r] !== 0) err[r] = nextUp(err[r] + nextUp(E[r] * f));
        E[r] = 0;
      }
    };
    for (let k = t; k >= 0; k--) {
      const lk = lam[k];
      if (!lk) continue;
      lam[k] = null;
      const nd = nodes[k];
      const w = nd.width;
      if (!nd.impl) {
        this.concretise(k, lk, m, c, E);
        addErr(w);
        continue;
      }
      const im = nd.impl as unknown as Record<string, unknown> & { type: string };
      switch (im.type) {
        case 'dense': {
          const W = im.W as Float64Array,
            b = im.b as Float64Array | null,
            K = im.inWidth as number,
            U = w;
          const x = nd.inputs[0];
          const lx = ensure(x),
            mx = this.mag[x];
          const g = gamma(U + 1);
          for (let r = 0; r < m; r++) {
            const ro = r * U;
            let nz = false;
            for (let o = 0; o < U; o++) if (lk[ro + o] !== 0) nz = true;
            if (!nz) continue;
            let e = 0;
            for (let i = 0; i < K; i++) {
              let s = lx[r * K + i],
                a = Math.abs(s);
              const wo = i * U;
              for (let o = 0; o < U; o++) {
                const pr = lk[ro + o] * W[wo + o];
                s += pr;
                a += Math.abs(pr);
              }
              lx[r * K + i] = s;
              if (a !== 0) e += g * a * mx[i];
            }
            if (b) {
              let s = c[r],
                a = Math.abs(s);
              for (let o = 0; o < U; o++) {
                const pr = lk[ro + o] * b[o];
                s += pr;
                a += Math.abs(pr);
              }
              c[r] = s;
              e += g * a;
            }
            E[r] = e;
          }
          addErr(K + U);
          break;
        }
        case 'affine': {
          const sc = im.scale as Float64Array,
            sh = im.shift as Float64Array;
          this.scaleShift(nd.inputs[0], ensure(nd.inputs[0]), lk, w, m, c, E, (i) => sc[i], (i) => sh[i], 0);
          addErr(w);
          break;
        }
        case 'binary_const': {
          const fn = im.fn as string,
            cv = im.c as Float64Array,
            first = im.constantFirst as boolean;
          const cc = (i: number): number => cv[cv.length === 1 ? 0 : i];
          const x = nd.inputs[0];
          if (fn === 'add') this.scaleShift(x, ensure(x), lk, w, m, c, E, () => 1, cc, 0);
          else if (fn === 'sub' && !first) this.scaleShift(x, ensure(x), lk, w, m, c, E, () => 1, (i) => -cc(i), 0);
          else if (fn === 'sub') this.scaleShift(x, ensure(x), lk, w, m, c, E, () => -1, cc, 0);
          else if (fn === 'mul') this.scaleShift(x, ensure(x), lk, w, m, c, E, cc, () => 0, 0);
          else if (!first) {
            // x / c with the rounded reciprocal; its relative error (≤ u) joins the allowance
            let ok = true;
            for (let i = 0; i < cv.length; i++) if (!(cv[i] !== 0 && Number.isFinite(1 / cv[i]))) ok = false;
            if (ok) this.scaleShift(x, ensure(x), lk, w, m, c, E, (i) => 1 / cc(i), () => 0, 2);
            else this.concretise(k, lk, m, c, E);
          } else this.unaryLike(k, x, lk, m, c, E, ensure);
          addErr(w);
          break;
        }
        case 'unary':
          this.unaryLike(k, nd.inputs[0], lk, m, c, E, ensure);
          addErr(w);
          break;
        case 'binary': {
          const fn = im.fn as string;
          const wa = im.wa as number,
            wb = im.wb as number;
          const sa = wa === 1 ? 0 : 1,
            sb = wb === 1 ? 0 : 1;
          const [ia, ib] = nd.inputs;
          if (fn === 'add' || fn === 'sub') {
            const sgn = fn === 'add' ? 1 : -1;
            const la = ensure(ia),
              ma = this.mag[ia];
            const lb = ensure(ib),
              mb = this.mag[ib];
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
            addErr(2 * w);
          } else if (fn === 'mul') {
            const R = this.rel[k]!;
            const la = ensure(ia),
              ma = this.mag[ia];
            const lb = ensure(ib),
              mb = this.mag[ib];
            const lo = this.lo[k],
              hi = this.hi[k];
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
            addErr(3 * w);
          } else {
            this.concretise(k, lk, m, c, E);
            addErr(w);
          }
          break;
        }
        case 'concat': {
          let off = 0;
          const g = gamma(2);
          for (const x of nd.inputs) {
            const wx = nodes[x].width;
            const lx = ensure(x),
              mx = this.mag[x];
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
          addErr(w);
          break;
        }
        case 'gather': {
          const idx = im.indices as Int32Array;
          const x = nd.inputs[0];
          const wx = nodes[x].width;
          const lx = ensure(x),
            mx = this.mag[x];
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
          addErr(w);
          break;
        }
        case 'reshape': {
          const x = nd.inputs[0];
          this.scaleShift(x, ensure(x), lk, w, m, c, E, () => 1, () => 0, 0);
          addErr(w);
          break;
        }
        default:
          // softmax, log_softmax, anything without a rule: concretise with the node's bounds
          this.concretise(k, lk, m, c, E);
          addErr(w);
      }
    }
    const out = new Float64Array(m);
    for (let r = 0; r < m; r++) out[r] = nextDown(c[r] - err[r]);
    return out;
  }

  /** max(|lo|, |hi|) of node k's features (∞ where unknown); valid after run(). */
  magnitude(k: number): Float64Array {
    return this.mag[k];
  }

  /** λ·v_k ≥ Σ min(λᵢ·loᵢ, λᵢ·hiᵢ): into the constants, with the rounding allowance in E. */
  private concretise(k: number, lk: Float64Array, m: number, c: Float64Array, E: Float64Array): void {
    const lo = this.lo[k],
      hi = this.hi[k],
      w = lo.length;
    const g = gamma(w + 1);
    for (let r = 0; r < m; r++) {
      let s = c[r],
        a = Math.abs(s),
        nz = false;
      for (let i = 0; i < w; i++) {
        const v = lk[r * w + i];
        if (v === 0) continue;
        nz = true;
        const tt = v > 0 ? v * lo[i] : v * hi[i];
        s += tt;
        a += Math.abs(tt);
      }
      if (!nz) continue;
      c[r] = s;
      E[r] += g * a;
    }
  }

  /** Element-wise y_i = s_i·x_i + t_i: λ_x += λ·s, c += λ·t; `extra` ulps of error in s. */
  private scaleShift(
    x: number,
    lx: Float64Array,
    lk: Float64Array,
    w: number,
    m: number,
    c: Float64Array,
    E: Float64Array,
    s: (i: number) => number,
    t: (i: number) => number,
    extra: number,
  ): void {
    const mx = this.mag[x];
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

  /** Element-wise relaxation lines (unary, c/x): λ ≥ 0 takes the lower line, λ < 0 the upper. */
  private unaryLike(k: number, x: number, lk: Float64Array, m: number, c: Float64Array, E: Float64Array, ensure: (i: number) => Float64Array): void {
    const R = this.rel[k]!;
    const w = this.nodes[k].width;
    const lo = this.lo[k],
      hi = this.hi[k];
    const lx = ensure(x),
      mx = this.mag[x];
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
}

function finiteLines(t: Float64Array): boolean {
  return Number.isFinite(t[0]) && Number.isFinite(t[1]) && Number.isFinite(t[2]) && Number.isFinite(t[3]);
}

/**
 * c/x as an element-wise function on an interval not containing 0, for relaxUnary: its value
 * and derivative ranges are monotone pieces (c/x and −c/x² on one side of 0), rounded outward.
 */
function constOver(c: number): UnaryFn {
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
