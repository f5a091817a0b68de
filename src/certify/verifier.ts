/**
 * The independent interval verifier for certificates (DESIGN.md, Soundness): a small, naive
 * interval evaluator that reads the GraphDef directly and shares no code with the engine's
 * bound code (src/graph/ops, interval.ts, round.ts, activations' range functions).
 *
 * Deliberately simple, not fast:
 *   - each interval operation is followed by a step outward to the adjacent float, done through a
 *     DataView (its own implementation), plus a relative widening of 2⁻⁴⁴ for library functions;
 *   - dense layers use the endpoint form Σ (w > 0 ? w·[lo] : w·[hi]) with a widening per term;
 *   - element-wise functions are bounded from their values at the box ends, using monotonicity
 *     on stated pieces and hard-coded enclosures of interior extrema.
 * Scalar function values (Math.*, and the erf approximation that defines gelu) are the model's
 * definition, not bound code, and are evaluated directly.
 */
import { erf as erfScalar } from '../graph/activations/special.ts';
import type { GraphDef, NodeDef } from '../graph/types.ts';

type I = [number, number];

const dv = new DataView(new ArrayBuffer(8));

/** Adjacent float above x (independent of round.ts). */
function succ(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return 5e-324;
  dv.setFloat64(0, x);
  let b = dv.getBigInt64(0);
  b += x > 0 ? 1n : -1n;
  dv.setBigInt64(0, b);
  return dv.getFloat64(0);
}
function pred(x: number): number {
  return -succ(-x);
}
const REL = 2 ** -44;
function dn(x: number): number {
  return pred(x - Math.abs(x) * REL);
}
function upw(x: number): number {
  return succ(x + Math.abs(x) * REL);
}
function hull(vals: number[]): I {
  if (vals.some((v) => Number.isNaN(v))) return [NaN, NaN];
  return [dn(Math.min(...vals)), upw(Math.max(...vals))];
}

function mulI(a: I, b: I): I {
  const p = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]].map((v) => (Number.isNaN(v) ? 0 : v));
  return [pred(Math.min(...p)), succ(Math.max(...p))];
}

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** f increasing on ℝ. */
const inc = (f: (x: number) => number) => (a: I): I => hull([f(a[0]), f(a[1])]);

/** f with a single interior minimum at xs (value fs, enclosure given low), monotone on each side. */
const valley = (f: (x: number) => number, xs: number, fsLow: number) => (a: I): I => {
  const v = [f(a[0]), f(a[1])];
  const r = hull(v);
  if (a[0] <= xs + 1e-3 && a[1] >= xs - 1e-3) r[0] = Math.min(r[0], fsLow);
  return r;
};

function unaryInterval(fn: string, p: Record<string, number>, a: I): I {
  switch (fn) {
    case 'identity':
      return [a[0], a[1]];
    case 'sigmoid':
      return inc(sigmoid)(a);
    case 'bipolar_sigmoid': {
      const lam = p.lambda ?? 1;
      return inc((x) => 2 / (1 + Math.exp(-lam * x)) - 1)(a);
    }
    case 'tanh':
      return inc(Math.tanh)(a);
    case 'relu':
      return [Math.max(0, a[0]), Math.max(0, a[1])];
    case 'leaky_relu': {
      const al = p.alpha ?? 0.01;
      const f = (x: number): number => (x > 0 ? x : al * x);
      const v = [f(a[0]), f(a[1])];
      if (a[0] < 0 && a[1] > 0) v.push(0);
      return hull(v);
    }
    case 'elu':
    case 'selu': {
      const al = fn === 'selu' ? 1.6732632423543772 : (p.alpha ?? 1);
      const sc = fn === 'selu' ? 1.0507009873554805 : 1;
      const f = (x: number): number => (x > 0 ? sc * x : sc * al * (Math.exp(x) - 1));
      const v = [f(a[0]), f(a[1])];
      if (a[0] < 0 && a[1] > 0) v.push(0);
      return hull(v);
    }
    case 'softplus': {
      const b = p.beta ?? 1;
      return inc((x) => (b * x > 30 ? x : Math.log(1 + Math.exp(b * x)) / b))(a);
    }
    case 'softsign':
      return inc((x) => x / (1 + Math.abs(x)))(a);
    case 'silu':
      return valley((x) => x * sigmoid(x), -1.2784645427610738, -0.278465)(a);
    case 'gelu':
      return valley((x) => 0.5 * x * (1 + erfScalar(x / Math.SQRT2)), -0.7517915247, -0.169972)(a);
    case 'gelu_tanh':
      return valley(
        (x) => 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))),
        -0.7524614221,
        -0.170041,
      )(a);
    case 'hard_tanh':
    case 'clip': {
      const lo = p.min ?? -1,
        hi = p.max ?? 1;
      const c = (x: number): number => Math.min(hi, Math.max(lo, x));
      return [c(a[0]), c(a[1])];
    }
    case 'hard_sigmoid': {
      const s = p.slope ?? 0.2,
        o = p.offset ?? 0.5;
      const c = (x: number): number => Math.min(1, Math.max(0, x));
      return [c(pred(pred(s * a[0]) + o)), c(succ(succ(s * a[1]) + o))];
    }
    case 'max_const':
      return [Math.max(a[0], p.c), Math.max(a[1], p.c)];
    case 'min_const':
      return [Math.min(a[0], p.c), Math.min(a[1], p.c)];
    case 'exp':
      return inc(Math.exp)(a);
    case 'log':
      return a[1] < 0 ? [NaN, NaN] : [a[0] <= 0 ? -Infinity : dn(Math.log(a[0])), upw(Math.log(a[1]))];
    case 'erf':
      return inc(erfScalar)(a);
    case 'abs':
      return a[0] >= 0 ? [a[0], a[1]] : a[1] <= 0 ? [-a[1], -a[0]] : [0, Math.max(-a[0], a[1])];
    default:
      throw new Error(`verifier: no interval rule for activation "${fn}"`);
  }
}

/** Interval outputs (one box) of the graph for input intervals, by the naive evaluator. */
export function verifierBounds(graph: GraphDef, lo: ArrayLike<number>, hi: ArrayLike<number>): { lo: number[]; hi: number[] } {
  const vals = new Map<string, I[]>();
  let off = 0;
  for (const inp of graph.inputs) {
    const v: I[] = [];
    for (let i = 0; i < inp.width; i++, off++) v.push([lo[off], hi[off]]);
    vals.set(inp.name, v);
  }
  const pending = new Map(graph.nodes.map((n) => [n.name, n]));
  // evaluate in any order that respects dependencies
  let progress = true;
  while (pending.size && progress) {
    progress = false;
    for (const [name, nd] of pending) {
      if (!nd.inputs.every((s) => vals.has(s))) continue;
      vals.set(name, evalNode(nd, nd.inputs.map((s) => vals.get(s)!)));
      pending.delete(name);
      progress = true;
    }
  }
  if (pending.size) throw new Error(`verifier: cannot order nodes ${[...pending.keys()].join(', ')}`);
  const outLo: number[] = [],
    outHi: number[] = [];
  for (const o of graph.outputs) for (const [l, h] of vals.get(o.node)!) outLo.push(l), outHi.push(h);
  return { lo: outLo, hi: outHi };
}

function evalNode(nd: NodeDef, ins: I[][]): I[] {
  const op = nd.op;
  const x = ins[0];
  switch (op.type) {
    case 'dense': {
      const W = op.weight,
        u = op.units;
      const out: I[] = [];
      for (let j = 0; j < u; j++) {
        let l = op.bias ? op.bias[j] : 0,
          h = l;
        for (let i = 0; i < x.length; i++) {
          const w = W[i * u + j];
          if (w === 0) continue;
          const pl = w > 0 ? w * x[i][0] : w * x[i][1],
            ph = w > 0 ? w * x[i][1] : w * x[i][0];
          l = pred(l + pred(pl));
          h = succ(h + succ(ph));
        }
        out.push([l, h]);
      }
      return out;
    }
    case 'affine':
      return x.map((a, i) => {
        const m = mulI(a, [op.scale[i], op.scale[i]]);
        return [pred(m[0] + op.shift[i]), succ(m[1] + op.shift[i])];
      });
    case 'binary': {
      const [a, b] = ins;
      const w = Math.max(a.length, b.length);
      const out: I[] = [];
      for (let i = 0; i < w; i++) {
        const p = a[a.length === 1 ? 0 : i],
          q = b[b.length === 1 ? 0 : i];
        if (op.fn === 'add') out.push([pred(p[0] + q[0]), succ(p[1] + q[1])]);
        else if (op.fn === 'sub') out.push([pred(p[0] - q[1]), succ(p[1] - q[0])]);
        else if (op.fn === 'mul') out.push(mulI(p, q));
        else out.push(q[0] <= 0 && q[1] >= 0 ? [-Infinity, Infinity] : mulI(p, [pred(1 / q[1]), succ(1 / q[0])]));
      }
      return out;
    }
    case 'binary_const':
      return x.map((p, i) => {
        const c = op.constant[op.constant.length === 1 ? 0 : i];
        const first = !!op.constantFirst;
        switch (op.fn) {
          case 'add':
            return [pred(p[0] + c), succ(p[1] + c)] as I;
          case 'sub':
            return (first ? [pred(c - p[1]), succ(c - p[0])] : [pred(p[0] - c), succ(p[1] - c)]) as I;
          case 'mul':
            return mulI(p, [c, c]);
          default:
            if (!first) return mulI(p, [pred(1 / c), succ(1 / c)]);
            return p[0] <= 0 && p[1] >= 0 ? ([-Infinity, Infinity] as I) : mulI([c, c], [pred(1 / p[1]), succ(1 / p[0])]);
        }
      });
    case 'concat':
      return ins.flat();
    case 'gather':
      return op.indices.map((i) => x[i]);
    case 'reshape':
      return x;
    case 'softmax':
    case 'log_softmax':
      return x.map((xi, i) => {
        let sUp = 0,
          sDn = 0;
        x.forEach((xj, j) => {
          if (j === i) return;
          sUp = succ(sUp + upw(Math.exp(succ(xj[1] - xi[0]))));
          sDn = Math.max(0, pred(sDn + dn(Math.exp(pred(xj[0] - xi[1])))));
        });
        if (op.type === 'softmax') return [Math.max(0, pred(1 / succ(1 + sUp))), Math.min(1, succ(1 / pred(1 + sDn)))] as I;
        return [-upw(Math.log(succ(1 + sUp))), Math.min(0, -dn(Math.log(pred(1 + sDn))))] as I;
      });
    case 'unary':
      return x.map((a) => unaryInterval(op.fn, op.params ?? {}, a));
  }
}
