/**
 * CROWN / DeepPoly back-substitution bounds (Zhang et al. 2018, "Efficient Neural Network
 * Robustness Certification with General Activation Functions"; Singh et al. 2019, "An Abstract
 * Domain for Certifying Neural Networks").
 *
 * For a node T and a coefficient vector λ on its features, a lower bound of λ·v_T over the box is
 * found by walking the graph backward from T to the inputs, replacing each node's term λ_k·v_k by
 * a linear lower bound in the values of the node's inputs. This file is the driver: it walks
 * Network.nodes (read-only) and each op's rule is its own facet (graph/ops/*.ts, OpImpl.relax and
 * OpImpl.crown; shared helpers in graph/ops/relax.ts):
 *   - dense y = x·W + b:            λ·y = (λ·Wᵀ)·x + λ·b (exact);
 *   - affine, add/sub of a constant, mul/div by a constant, add/sub of two tensors,
 *     concat, gather, reshape:      exact linear maps (index maps for the last three);
 *   - element-wise f (every unary of the engine), c/x:
 *                                   the relaxation lines a_L z + b_L ≤ f(z) ≤ a_U z + b_U of
 *                                   relaxUnary on the pre-activation interval; a positive
 *                                   coefficient takes the lower line, a negative one the upper;
 *   - product of two tensors:       the averaged McCormick planes y ≷ β_a·a + β_b·b + γ_{L,U}
 *                                   with β_a, β_b the operands' interval midpoints, the offsets
 *                                   bounded exactly at the four corners (a bilinear function's
 *                                   extremes on a rectangle);
 *   - anything else (softmax, log_softmax, layer_norm, division of two tensors: no crown facet),
 *     and any element whose relaxation is not finite:
 *                                   the node is concretised with its interval bounds
 *                                   (λ·v ≥ Σ min(λᵢ·loᵢ, λᵢ·hiᵢ)), a sound fallback.
 * At the inputs the form is concretised over the box (unknowns vary in their interval, known
 * inputs are the thin intervals L = H). Upper bounds are lower bounds of −v_T.
 *
 * Intermediate bounds. Nodes are visited in topological order. Each node first gets the
 * interval bound of its op from its inputs' (already refined) bounds; a node whose bounds feed a
 * relaxation (an input of an op with OpImpl.tightInputs: unary, product or division, c/x,
 * softmax, layer_norm) is then refined by its own back-substitution to the inputs, with λ = ±eᵢ for
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
import type { Network } from '../../graph/network.ts';
import { crownConcretise, type CrownStep } from '../../graph/ops/relax.ts';
import { gamma, nextDown, nextUp } from '../../graph/round.ts';
import { NetinvertError } from '../../errors.ts';
import type { Problem } from '../../problem/query.ts';
import { propagateForms } from './forward.ts';

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
    const nodes = net.nodes;
    const refine = nodes.map(() => false);
    for (const nd of nodes) {
      // a node whose op gains from tight input bounds (OpImpl.tightInputs) has its inputs refined
      if (nd.impl?.tightInputs) for (const i of nd.inputs) if (nodes[i].impl) refine[i] = true;
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
  private readonly magIn: Float64Array[][] = [];
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

  /** This node's relaxation (OpImpl.relax) over its inputs' final bounds, or null. */
  private relax(k: number): Float64Array | null {
    const nd = this.nodes[k];
    if (!nd.impl?.relax) return null;
    return nd.impl.relax(
      nd.inputs.map((i) => this.lo[i]),
      nd.inputs.map((i) => this.hi[i]),
    );
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
    // one step object, refilled per node: the op's crown facet reads and updates it
    let cur = 0;
    const step: CrownStep = {
      m,
      lam: c,
      lamIn: (a: number): Float64Array => ensure(nodes[cur].inputs[a]),
      magIn: [],
      lo: c,
      hi: c,
      rel: null,
      c,
      E,
    };
    for (let k = t; k >= 0; k--) {
      const lk = lam[k];
      if (!lk) continue;
      lam[k] = null;
      const nd = nodes[k];
      cur = k;
      step.lam = lk;
      step.lo = this.lo[k];
      step.hi = this.hi[k];
      step.rel = this.rel[k];
      if (!nd.impl || !nd.impl.crown) {
        // an input (concretised over the box), or an op without a linear rule (softmax,
        // log_softmax, layer_norm): concretised with the node's bounds
        addErr(crownConcretise(step));
        continue;
      }
      step.magIn = this.magIns(k);
      addErr(nd.impl.crown(step));
    }
    const out = new Float64Array(m);
    for (let r = 0; r < m; r++) out[r] = nextDown(c[r] - err[r]);
    return out;
  }

  /** max(|lo|, |hi|) of node k's features (∞ where unknown); valid after run(). */
  magnitude(k: number): Float64Array {
    return this.mag[k];
  }

  /** The magnitudes of node k's inputs (cached per node). */
  private magIns(k: number): Float64Array[] {
    return (this.magIn[k] ??= this.nodes[k].inputs.map((i) => this.mag[i]));
  }
}
