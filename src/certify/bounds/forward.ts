/**
 * Linear relaxation bounds: every node's value is enclosed between two affine functions of the
 * unknowns over a box, propagated forward through the graph (symbolic intervals, Wang et al.
 * 2018 "Formal security analysis of neural networks using symbolic intervals"; the forward form
 * of DeepPoly, Singh et al. 2019, without back-substitution).
 *
 * Variables are normalised to the box, x = c + r ⊙ t with t ∈ [−1, 1]ⁿ, so an affine form
 * a·t + b is bounded over the box by b ± Σ|aⱼ|.
 *
 * This file is the driver: it walks Network.nodes (read-only) and calls each op's
 * `forwardLinear` facet (graph/ops/*.ts; the shared form updates and the element-wise relaxation
 * lines, derived for every function of the engine's table from its sound value and derivative
 * ranges, are in graph/ops/relax.ts).
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
import type { Forms, ForwardStep } from '../../graph/ops/relax.ts';
import { gamma, nextDown, nextUp } from '../../graph/round.ts';
import type { Problem } from '../../problem/query.ts';

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
  const step: ForwardStep = { ins: [], out: constForms(n, new Float64Array(0), new Float64Array(0)), n, g, rel: new Float64Array(4) };
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
    const ins = nd.inputs.map((i) => forms[i]);
    const w = nd.width;
    const out: Forms = { width: w, L: new Float64Array(w * S), U: new Float64Array(w * S), lo: new Float64Array(w), hi: new Float64Array(w) };
    // the op's own forward rule (OpImpl.forwardLinear); none: its interval bound as a constant form
    step.ins = ins;
    step.out = out;
    const linear = nd.impl.forwardLinear ? nd.impl.forwardLinear(step) : false;
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
