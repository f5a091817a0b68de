/**
 * Graph builders for the tests: small graphs around one op (the op table), random deep nets,
 * and a "probe" that reads every node's value (to keep finite-difference points off kinks).
 */
import { createModel, makeUnary, network, type GraphDef, type Model, type Network, type NodeDef, type OpSpec } from '../../src/index.ts';
import type { Rng } from './rng.ts';

export interface DenseOptions {
  /** Weights uniform in [−scale, scale]. Default 1. */
  scale?: number;
  /** Bias uniform in this range, or null for no bias. Default [−0.5, 0.5]. */
  bias?: [number, number] | null;
}

export function denseNode(name: string, input: string, inW: number, units: number, r: Rng, o: DenseOptions = {}): NodeDef {
  const s = o.scale ?? 1;
  const b = o.bias === undefined ? ([-0.5, 0.5] as [number, number]) : o.bias;
  return {
    name,
    op: { type: 'dense', units, weight: r.vector(inW * units, -s, s), ...(b ? { bias: r.vector(units, b[0], b[1]) } : {}) },
    inputs: [input],
  };
}

/** A chain MLP on 2 inputs: dense + act per hidden width, then a dense head (the VNN certificate tests' nets). */
export function chainNet(r: Rng, hidden: number[], nOut: number, act: string): Model {
  const nodes: NodeDef[] = [];
  let cur = 'x',
    w = 2;
  hidden.forEach((u, l) => {
    nodes.push(denseNode(`d${l}`, cur, w, u, r, { scale: 1.6 / Math.sqrt(w), bias: [-0.3, 0.3] }));
    nodes.push({ name: `a${l}`, op: { type: 'unary', fn: act }, inputs: [`d${l}`] });
    cur = `a${l}`;
    w = u;
  });
  nodes.push(denseNode('head', cur, w, nOut, r, { scale: 1.6 / Math.sqrt(w), bias: [-0.3, 0.3] }));
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'head' }] });
}

/** Options that keep a dense layer's outputs in about [1.1, 2.9] for inputs in [−1, 1]^3. */
export const POSITIVE: DenseOptions = { scale: 0.3, bias: [2, 2] };

// ---------------------------------------------------------------------------------------------
// The op table
// ---------------------------------------------------------------------------------------------

export interface KinkSpec {
  /** Where f' jumps (or, with left = right, where two pieces join smoothly). */
  x: number;
  /** One-sided derivatives there (left, right) and the value df gives at the kink itself. */
  left: number;
  right: number;
  convention: number;
}

export interface OpCase {
  label: string;
  def: GraphDef;
  /** Inputs are sampled in [−sample, sample]^nIn. */
  sample: number;
  /** Nodes whose values must stay `margin` away from these points at finite-difference points. */
  avoid: { node: string; points: number[] }[];
  /** For activation cases: the function's name and parameters. */
  unary?: { fn: string; params: Record<string, number> };
}

export interface UnaryCase {
  fn: string;
  params: Record<string, number>;
  label: string;
  /** The argument must be positive (log, negative and fractional powers). */
  positive?: boolean;
  /** Kinks with their one-sided derivatives and the documented convention at the kink. */
  kinks: KinkSpec[];
  /** Points worth straddling with boxes: interior extrema of f and of f'. */
  special: number[];
  /** Whether the function and its derivative stay finite for arguments of any size. */
  saturates?: boolean;
}

const SELU_ALPHA = 1.6732632423543772848170429916717,
  SELU_SCALE = 1.0507009873554804934193349852946;

/**
 * Every entry of the activation table, with parameters worth testing. Kink data and the
 * derivative conventions are written out here (from the PyTorch conventions the source cites),
 * not read from the engine.
 */
export const UNARY_CASES: UnaryCase[] = [
  { fn: 'identity', params: {}, label: 'identity', kinks: [], special: [0] },
  { fn: 'sigmoid', params: {}, label: 'sigmoid', kinks: [], special: [0], saturates: true },
  { fn: 'bipolar_sigmoid', params: {}, label: 'bipolar_sigmoid (λ = 1)', kinks: [], special: [0], saturates: true },
  { fn: 'bipolar_sigmoid', params: { lambda: 2.5 }, label: 'bipolar_sigmoid (λ = 2.5)', kinks: [], special: [0], saturates: true },
  { fn: 'tanh', params: {}, label: 'tanh', kinks: [], special: [0], saturates: true },
  { fn: 'relu', params: {}, label: 'relu', kinks: [{ x: 0, left: 0, right: 1, convention: 0 }], special: [0] },
  { fn: 'leaky_relu', params: {}, label: 'leaky_relu (α = 0.01)', kinks: [{ x: 0, left: 0.01, right: 1, convention: 0.01 }], special: [0] },
  { fn: 'leaky_relu', params: { alpha: 0.2 }, label: 'leaky_relu (α = 0.2)', kinks: [{ x: 0, left: 0.2, right: 1, convention: 0.2 }], special: [0] },
  // α = 1: f' is continuous at 0 (αe⁰ = 1): a join with equal one-sided slopes, not a kink
  { fn: 'elu', params: {}, label: 'elu (α = 1)', kinks: [{ x: 0, left: 1, right: 1, convention: 1 }], special: [0] },
  { fn: 'elu', params: { alpha: 0.5 }, label: 'elu (α = 0.5)', kinks: [{ x: 0, left: 0.5, right: 1, convention: 0.5 }], special: [0] },
  {
    fn: 'selu',
    params: {},
    label: 'selu',
    kinks: [{ x: 0, left: SELU_ALPHA * SELU_SCALE, right: SELU_SCALE, convention: SELU_ALPHA * SELU_SCALE }],
    special: [0],
  },
  { fn: 'softplus', params: {}, label: 'softplus (β = 1)', kinks: [], special: [0], saturates: true },
  { fn: 'softplus', params: { beta: 3 }, label: 'softplus (β = 3)', kinks: [], special: [0], saturates: true },
  { fn: 'softsign', params: {}, label: 'softsign', kinks: [], special: [0], saturates: true },
  // silu: minimum at x* = −1.27846… (where silu(x*) = x* + 1), f' extremes at ±2.39936…
  { fn: 'silu', params: {}, label: 'silu', kinks: [], special: [-1.2784645427610738, -2.399357280515467, 2.399357280515467, 0], saturates: true },
  // gelu: minimum at −0.75179…, f' extremes at ±√2 (gelu'' = φ(x)(2 − x²))
  { fn: 'gelu', params: {}, label: 'gelu', kinks: [], special: [-0.7517915246935645, -Math.SQRT2, Math.SQRT2, 0], saturates: true },
  { fn: 'gelu_tanh', params: {}, label: 'gelu_tanh', kinks: [], special: [-0.7524614220710163, -1.41, 1.41, 0], saturates: true },
  {
    fn: 'hard_tanh',
    params: {},
    label: 'hard_tanh',
    kinks: [
      { x: -1, left: 0, right: 1, convention: 0 },
      { x: 1, left: 1, right: 0, convention: 0 },
    ],
    special: [-1, 1],
  },
  {
    fn: 'hard_tanh',
    params: { min: -0.5, max: 2 },
    label: 'hard_tanh (−0.5, 2)',
    kinks: [
      { x: -0.5, left: 0, right: 1, convention: 0 },
      { x: 2, left: 1, right: 0, convention: 0 },
    ],
    special: [-0.5, 2],
  },
  {
    fn: 'hard_sigmoid',
    params: {},
    label: 'hard_sigmoid (0.2x + 0.5)',
    kinks: [
      { x: -2.5, left: 0, right: 0.2, convention: 0 },
      { x: 2.5, left: 0.2, right: 0, convention: 0 },
    ],
    special: [-2.5, 2.5],
  },
  {
    fn: 'hard_sigmoid',
    params: { slope: 1 / 6, offset: 0.5 },
    label: 'hard_sigmoid (x/6 + 0.5)',
    kinks: [
      { x: -3, left: 0, right: 1 / 6, convention: 0 },
      { x: 3, left: 1 / 6, right: 0, convention: 0 },
    ],
    special: [-3, 3],
  },
  { fn: 'sin', params: {}, label: 'sin', kinks: [], special: [Math.PI / 2, -Math.PI / 2, 0] },
  { fn: 'cos', params: {}, label: 'cos', kinks: [], special: [0, Math.PI, -Math.PI, Math.PI / 2] },
  { fn: 'exp', params: {}, label: 'exp', kinks: [], special: [0] },
  { fn: 'log', params: {}, label: 'log', positive: true, kinks: [], special: [1] },
  { fn: 'pow', params: { exponent: 2 }, label: 'pow (2)', kinks: [], special: [0] },
  { fn: 'pow', params: { exponent: 3 }, label: 'pow (3)', kinks: [], special: [0] },
  { fn: 'pow', params: { exponent: -1 }, label: 'pow (−1)', positive: true, kinks: [], special: [1] },
  { fn: 'pow', params: { exponent: 0.5 }, label: 'pow (0.5)', positive: true, kinks: [], special: [1] },
  { fn: 'reciprocal', params: {}, label: 'reciprocal', positive: true, kinks: [], special: [1] },
  { fn: 'erf', params: {}, label: 'erf', kinks: [], special: [0], saturates: true },
  { fn: 'abs', params: {}, label: 'abs', kinks: [{ x: 0, left: -1, right: 1, convention: 0 }], special: [0] },
  { fn: 'max_const', params: { c: 0.3 }, label: 'max_const (c = 0.3)', kinks: [{ x: 0.3, left: 0, right: 1, convention: 1 }], special: [0.3] },
  { fn: 'min_const', params: { c: -0.2 }, label: 'min_const (c = −0.2)', kinks: [{ x: -0.2, left: 1, right: 0, convention: 1 }], special: [-0.2] },
  {
    fn: 'clip',
    params: { min: -0.4, max: 0.7 },
    label: 'clip (−0.4, 0.7)',
    kinks: [
      { x: -0.4, left: 0, right: 1, convention: 1 },
      { x: 0.7, left: 1, right: 0, convention: 1 },
    ],
    special: [-0.4, 0.7],
  },
];

/** input x (3) → pre = dense(3→4) → act = op → y = dense(4→2); outputs y and act. */
function aroundOp(op: OpSpec, r: Rng, pre: DenseOptions, actWidth = 4): GraphDef {
  return {
    inputs: [{ name: 'x', width: 3 }],
    nodes: [
      denseNode('pre', 'x', 3, 4, r, pre),
      { name: 'act', op, inputs: ['pre'] },
      denseNode('y', 'act', actWidth, 2, r),
    ],
    outputs: [{ node: 'y' }, { node: 'act' }],
  };
}

function unaryOpCase(u: UnaryCase, r: Rng): OpCase {
  const def = aroundOp({ type: 'unary', fn: u.fn, params: u.params }, r, u.positive ? POSITIVE : {});
  return {
    label: u.label,
    def,
    sample: u.positive ? 1 : 1.5,
    avoid: u.kinks.length ? [{ node: 'pre', points: u.kinks.map((k) => k.x) }] : [],
    unary: { fn: u.fn, params: u.params },
  };
}

/** Two dense branches a and b of widths wa, wb (positive ones for divisors) combined by `op`. */
function twoBranch(label: string, op: OpSpec, inputs: string[], wa: number, wb: number, r: Rng, positive: boolean): OpCase {
  const o = positive ? POSITIVE : {};
  const outW = Math.max(...inputs.map((s) => (s === 'a' ? wa : wb)));
  return {
    label,
    def: {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        denseNode('a', 'x', 3, wa, r, o),
        denseNode('b', 'x', 3, wb, r, o),
        { name: 'act', op, inputs },
        denseNode('y', 'act', outW, 2, r),
      ],
      outputs: [{ node: 'y' }, { node: 'act' }],
    },
    sample: positive ? 1 : 1.5,
    avoid: [],
  };
}

/** The whole op table: every activation, then every structural op in its variants. */
export function opCases(r: Rng): OpCase[] {
  const cases: OpCase[] = UNARY_CASES.map((u) => unaryOpCase(u, r));
  cases.push({
    label: 'dense (no bias)',
    def: {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [denseNode('act', 'x', 3, 4, r, { bias: null }), denseNode('y', 'act', 4, 2, r)],
      outputs: [{ node: 'y' }, { node: 'act' }],
    },
    sample: 1.5,
    avoid: [],
  });
  cases.push({
    label: 'affine',
    def: aroundOp({ type: 'affine', scale: r.vector(4, -2, 2), shift: r.vector(4, -1, 1) }, r, {}),
    sample: 1.5,
    avoid: [],
  });
  for (const fn of ['add', 'sub', 'mul', 'div'] as const) {
    const op: OpSpec = { type: 'binary', fn };
    const pos = fn === 'div';
    cases.push(twoBranch(`binary ${fn} (4, 4)`, op, ['a', 'b'], 4, 4, r, pos));
    cases.push(twoBranch(`binary ${fn} (4, 1) broadcast`, op, ['a', 'b'], 4, 1, r, pos));
    cases.push(twoBranch(`binary ${fn} (1, 4) broadcast`, op, ['b', 'a'], 4, 1, r, pos));
    cases.push(twoBranch(`binary ${fn} (a, a): same node twice`, op, ['a', 'a'], 4, 1, r, pos));
  }
  for (const fn of ['add', 'sub', 'mul', 'div'] as const) {
    for (const constantFirst of [false, true]) {
      for (const scalar of [true, false]) {
        // a constant that is never 0 (x / c) and divisors that stay positive (c / x)
        const c = r.vector(scalar ? 1 : 4, 0.5, 2).map((v) => (r.next() < 0.5 ? -v : v));
        const pos = fn === 'div' && constantFirst;
        cases.push({
          label: `binary_const ${constantFirst ? `c ${fn} x` : `x ${fn} c`} (${scalar ? 'scalar' : 'vector'} c)`,
          def: aroundOp({ type: 'binary_const', fn, constant: c, constantFirst }, r, pos ? POSITIVE : {}),
          sample: pos ? 1 : 1.5,
          avoid: [],
        });
      }
    }
  }
  cases.push({
    label: 'concat (a, pre, a, x): a node twice and a graph input',
    def: {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        denseNode('a', 'x', 3, 2, r),
        denseNode('pre', 'x', 3, 3, r),
        { name: 'act', op: { type: 'concat' }, inputs: ['a', 'pre', 'a', 'x'] },
        denseNode('y', 'act', 10, 2, r),
      ],
      outputs: [{ node: 'y' }, { node: 'act' }],
    },
    sample: 1.5,
    avoid: [],
  });
  cases.push({
    label: 'gather with repeated indices',
    def: aroundOp({ type: 'gather', indices: [3, 0, 3, 1, 3] }, r, {}, 5),
    sample: 1.5,
    avoid: [],
  });
  cases.push({
    label: 'reshape',
    def: {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        denseNode('pre', 'x', 3, 6, r),
        { name: 'act', op: { type: 'reshape', shape: [2, 3] }, inputs: ['pre'] },
        denseNode('y', 'act', 6, 2, r),
      ],
      outputs: [{ node: 'y' }, { node: 'act' }],
    },
    sample: 1.5,
    avoid: [],
  });
  for (const t of ['softmax', 'log_softmax'] as const) {
    cases.push({ label: t, def: aroundOp({ type: t }, r, { scale: 2 }), sample: 1.5, avoid: [] });
    cases.push({
      label: `${t} of width 1`,
      def: {
        inputs: [{ name: 'x', width: 3 }],
        nodes: [denseNode('pre', 'x', 3, 1, r), { name: 'act', op: { type: t }, inputs: ['pre'] }, denseNode('y', 'act', 1, 2, r)],
        outputs: [{ node: 'y' }, { node: 'act' }],
      },
      sample: 1.5,
      avoid: [],
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Random deep nets
// ---------------------------------------------------------------------------------------------

/** Activations whose domain is the whole line (random nets feed them anything). */
export const RANDOM_NET_ACTIVATIONS: UnaryCase[] = UNARY_CASES.filter((u) => !u.positive && u.fn !== 'exp');

export interface RandomNetOptions {
  /** Number of hidden blocks. */
  depth: number;
  /** Widths are drawn from 1..maxWidth. */
  maxWidth: number;
  /** Allow softmax / concat / gather / binary / reshape blocks between dense layers. */
  structural?: boolean;
  /** Allow activations with kinks (relu, abs, clip...). */
  kinks?: boolean;
}

/**
 * A random feed-forward graph: one or two input tensors, `depth` blocks (dense + random
 * activation, or a structural op), and a dense head; an intermediate node is also an output.
 */
export function randomNet(r: Rng, o: RandomNetOptions): GraphDef {
  const acts = RANDOM_NET_ACTIVATIONS.filter((a) => o.kinks || a.kinks.length === 0);
  const inputs = r.next() < 0.5 ? [{ name: 'x', width: 1 + r.int(4) }] : [
    { name: 'u', width: 1 + r.int(3) },
    { name: 'v', width: 1 + r.int(3) },
  ];
  const nodes: NodeDef[] = [];
  const width = new Map<string, number>();
  for (const i of inputs) width.set(i.name, i.width);
  let cur: string;
  if (inputs.length === 2) {
    nodes.push({ name: 'in', op: { type: 'concat' }, inputs: ['u', 'v'] });
    width.set('in', inputs[0].width + inputs[1].width);
    cur = 'in';
  } else cur = 'x';
  let id = 0;
  const fresh = (p: string): string => `${p}${id++}`;
  const add = (nd: NodeDef, w: number): string => {
    nodes.push(nd);
    width.set(nd.name, w);
    return nd.name;
  };
  const dense = (src: string, units: number): string => {
    const inW = width.get(src)!;
    return add(denseNode(fresh('d'), src, inW, units, r, { scale: 1.6 / Math.sqrt(inW), bias: [-0.3, 0.3] }), units);
  };
  const earlier: string[] = [cur];
  for (let layer = 0; layer < o.depth; layer++) {
    const w = 1 + r.int(o.maxWidth);
    const kind = o.structural ? r.int(10) : 0;
    const h = dense(cur, w);
    switch (kind) {
      case 5: // softmax or log-softmax
        cur = add({ name: fresh('sm'), op: { type: r.next() < 0.5 ? 'softmax' : 'log_softmax' }, inputs: [h] }, w);
        break;
      case 6: {
        // concat with an earlier node (maybe itself twice)
        const e = r.pick(earlier.concat([h]));
        cur = add({ name: fresh('cat'), op: { type: 'concat' }, inputs: [h, e] }, w + width.get(e)!);
        break;
      }
      case 7: {
        // gather with repeated indices
        const n = 1 + r.int(o.maxWidth);
        const indices = Array.from({ length: n }, () => r.int(w));
        cur = add({ name: fresh('g'), op: { type: 'gather', indices }, inputs: [h] }, n);
        break;
      }
      case 8: {
        // binary op with a second branch from an earlier node, maybe width 1 (broadcast)
        const e = r.pick(earlier);
        const g = dense(e, r.next() < 0.3 ? 1 : w);
        const t = add({ name: fresh('t'), op: { type: 'unary', fn: 'tanh' }, inputs: [g] }, width.get(g)!);
        const fn = r.pick(['add', 'sub', 'mul'] as const);
        const ins = r.next() < 0.2 ? [h, h] : r.next() < 0.5 ? [h, t] : [t, h];
        cur = add({ name: fresh('bin'), op: { type: 'binary', fn }, inputs: ins }, w);
        break;
      }
      case 9: {
        const fn = r.pick(['add', 'sub', 'mul'] as const);
        const c = r.next() < 0.5 ? [r.uniform(-2, 2)] : r.vector(w, -2, 2);
        cur = add({ name: fresh('bc'), op: { type: 'binary_const', fn, constant: c, constantFirst: r.next() < 0.5 }, inputs: [h] }, w);
        break;
      }
      default: {
        const a = r.pick(acts);
        cur = add({ name: fresh('act'), op: { type: 'unary', fn: a.fn, params: a.params }, inputs: [h] }, w);
      }
    }
    if (o.structural && r.next() < 0.15) {
      cur = add({ name: fresh('aff'), op: { type: 'affine', scale: r.vector(width.get(cur)!, -1.5, 1.5), shift: r.vector(width.get(cur)!, -0.5, 0.5) }, inputs: [cur] }, width.get(cur)!);
    }
    if (o.structural && r.next() < 0.1) {
      const cw = width.get(cur)!;
      cur = add({ name: fresh('rs'), op: { type: 'reshape', shape: [cw, 1] }, inputs: [cur] }, cw);
    }
    earlier.push(cur);
  }
  const nOut = 1 + r.int(3);
  const head = dense(cur, nOut);
  const outputs: GraphDef['outputs'] = [{ node: head, name: 'out' }];
  // an intermediate node as a second output (its gradient also flows on to the head)
  if (earlier.length > 1 && r.next() < 0.5) outputs.push({ node: earlier[1 + r.int(earlier.length - 1)], name: 'mid' });
  return { inputs, nodes, outputs };
}

// ---------------------------------------------------------------------------------------------
// Probing node values
// ---------------------------------------------------------------------------------------------

/** The same graph with every node (and input) as an output, to read intermediate values. */
export function probe(def: GraphDef): { net: Network; slices: Map<string, [number, number]> } {
  const names = [...def.inputs.map((i) => i.name), ...def.nodes.map((n) => n.name)];
  const net = network({ inputs: def.inputs, nodes: def.nodes, outputs: names.map((n) => ({ node: n, name: `probe:${n}` })) });
  const slices = new Map<string, [number, number]>();
  let off = 0;
  for (const n of names) {
    const w = net.outputNames.filter((s) => s === `probe:${n}` || s.startsWith(`probe:${n}[`)).length;
    slices.set(n, [off, off + w]);
    off += w;
  }
  return { net, slices };
}

/** Inputs of every unary node with kinks in `def`, with those kinks. */
export function kinkSites(def: GraphDef): { node: string; points: number[] }[] {
  const out: { node: string; points: number[] }[] = [];
  for (const nd of def.nodes) {
    if (nd.op.type !== 'unary') continue;
    const fn = makeUnary(nd.op.fn, nd.op.params ?? {}).fn;
    if (fn.kinks.length) out.push({ node: nd.inputs[0], points: fn.kinks.slice() });
  }
  return out;
}

/**
 * Smallest distance, scaled by max(1, |kink|), between any watched node value at point x and
 * any of its kinks (Infinity when nothing is watched).
 */
export function kinkDistance(p: ReturnType<typeof probe>, avoid: { node: string; points: number[] }[], x: Float64Array): number {
  if (!avoid.length) return Infinity;
  const v = p.net.evaluate(x, 1);
  let d = Infinity;
  for (const a of avoid) {
    const [s, e] = p.slices.get(a.node)!;
    for (let i = s; i < e; i++) for (const k of a.points) d = Math.min(d, Math.abs(v[i] - k) / Math.max(1, Math.abs(k)));
  }
  return d;
}

/**
 * `count` points in [−s, s]^nIn that keep every watched value at least `margin` away from its
 * kinks (drawn by rejection).
 */
export function smoothPoints(
  def: GraphDef,
  nIn: number,
  s: number,
  count: number,
  r: Rng,
  avoid: { node: string; points: number[] }[],
  margin = 1e-3,
): Float64Array[] {
  const p = avoid.length ? probe(def) : null;
  const pts: Float64Array[] = [];
  for (let tries = 0; pts.length < count; tries++) {
    if (tries > 1000 * count) throw new Error('could not find points away from the kinks');
    const x = Float64Array.from(r.vector(nIn, -s, s));
    if (!p || kinkDistance(p, avoid, x) > margin) pts.push(x);
  }
  return pts;
}

/** Stack points into one rows × n batch. */
export function stack(pts: Float64Array[]): Float64Array {
  const n = pts.length ? pts[0].length : 0;
  const X = new Float64Array(pts.length * n);
  pts.forEach((p, i) => X.set(p, i * n));
  return X;
}
