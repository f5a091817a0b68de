/**
 * The fuzz generator: random nets (every bounded activation, mixed depths and widths, weight
 * scales up to 1e3) and random queries (reachable, near the boundary of the reachable range,
 * tangent, unreachable; tolerances from 1e-15 to 1e-3). Deterministic from a seed.
 *
 * Target specs come from a table (TARGET_MAKERS) keyed by kind. Linear output specs
 * (Σ cᵢ·yᵢ ∈ [lo, hi]) do not exist in the Query yet; when they do, add a maker for kind
 * 'linear' that returns its spec, and give the oracle a Band for it (a linear form over outputs).
 *
 * The generator evaluates nets only with the oracle's forward pass (never the engine), so the
 * targets it derives do not depend on the code under test.
 */
import type { GraphDef, NodeDef } from '../../src/graph/types.ts';
import type { Query, TargetSpec } from '../../src/problem/query.ts';
import { rng, type Rng } from '../util/rng.ts';
import { makeGrid, OracleNet, refine, SliceMap, type Slice } from './oracle.ts';

/** Activations the generator uses, with a parameter maker. Piecewise-linear ones are marked (MILP). */
export const ACTIVATIONS: { fn: string; pwl: boolean; params?: (r: Rng) => Record<string, number> }[] = [
  { fn: 'identity', pwl: true },
  { fn: 'sigmoid', pwl: false },
  { fn: 'bipolar_sigmoid', pwl: false, params: (r) => ({ lambda: r.pick([0.5, 1, 2]) }) },
  { fn: 'tanh', pwl: false },
  { fn: 'relu', pwl: true },
  { fn: 'leaky_relu', pwl: true, params: (r) => ({ alpha: r.pick([0.01, 0.1, 0.3]) }) },
  { fn: 'elu', pwl: false, params: (r) => ({ alpha: r.pick([0.5, 1, 1.5]) }) },
  { fn: 'selu', pwl: false },
  { fn: 'softplus', pwl: false, params: (r) => ({ beta: r.pick([0.5, 1, 3]) }) },
  { fn: 'softsign', pwl: false },
  { fn: 'silu', pwl: false },
  { fn: 'gelu', pwl: false },
  { fn: 'gelu_tanh', pwl: false },
  { fn: 'hard_tanh', pwl: true },
  { fn: 'hard_sigmoid', pwl: true, params: (r) => r.pick([{ slope: 0.2, offset: 0.5 }, { slope: 1 / 6, offset: 0.5 }]) },
  { fn: 'sin', pwl: false },
  { fn: 'cos', pwl: false },
  { fn: 'erf', pwl: false },
  { fn: 'abs', pwl: true },
  { fn: 'max_const', pwl: true, params: (r) => ({ c: r.pick([-0.5, 0, 0.25]) }) },
  { fn: 'min_const', pwl: true, params: (r) => ({ c: r.pick([-0.25, 0, 0.5]) }) },
  { fn: 'clip', pwl: true, params: (r) => ({ min: r.pick([-2, -0.5]), max: r.pick([0.5, 1.5]) }) },
];

/** Activations the MILP path encodes exactly (DESIGN: relu-type nets). */
export const MILP_ACTIVATIONS = ['relu', 'leaky_relu', 'hard_tanh', 'clip', 'abs', 'max_const', 'min_const', 'identity'];

export interface FuzzNet {
  graph: GraphDef;
  family: string;
  /** Activations used (for the counts). */
  acts: string[];
  /** True when every activation is one MILP encodes. */
  pwl: boolean;
}

export type QueryKind =
  | 'reachable'
  | 'round-target'
  | 'edge'
  | 'boundary'
  | 'tangent'
  | 'unreachable'
  | 'inequality'
  | 'overdetermined'
  | 'underdetermined';

export interface FuzzQuery {
  kind: QueryKind;
  query: Query;
  atol: number;
  rtol: number;
}

export interface FuzzCase {
  seed: number;
  index: number;
  net: FuzzNet;
  fq: FuzzQuery;
}

const TOLS = [1e-15, 1e-13, 1e-12, 1e-10, 1e-9, 1e-8, 1e-6, 1e-6, 1e-6, 1e-4, 1e-3];
const SCALES = [0.3, 1, 1, 1, 2, 3, 3, 10, 30, 100, 1000];

function denseLayer(name: string, input: string, inW: number, units: number, r: Rng, scale: number): NodeDef {
  const s = scale / Math.sqrt(inW);
  return {
    name,
    op: {
      type: 'dense',
      units,
      weight: r.vector(inW * units, -s, s),
      bias: r.vector(units, -0.5 * scale, 0.5 * scale).map((b) => (r.next() < 0.2 ? 0 : b)),
    },
    inputs: [input],
  };
}

/** A random dense + activation chain: input x (width nIn) → hidden layers → linear output y (width nOut). */
export function randomNet(r: Rng, nIn: number, nOut: number, opts: { pwlOnly?: boolean } = {}): FuzzNet {
  const depth = r.pick([1, 1, 2, 2, 3]);
  const pool = opts.pwlOnly ? ACTIVATIONS.filter((a) => MILP_ACTIVATIONS.includes(a.fn)) : ACTIVATIONS;
  const mixed = r.next() < 0.3;
  const first = r.pick(pool);
  const nodes: NodeDef[] = [];
  let cur = 'x',
    w = nIn;
  const acts: string[] = [];
  const scale = r.pick(SCALES);
  for (let l = 0; l < depth; l++) {
    const units = r.pick([2, 3, 4, 6, 8, 12]);
    nodes.push(denseLayer(`d${l}`, cur, w, units, r, l === 0 ? scale : r.pick([1, 2, 3])));
    const a = mixed ? r.pick(pool) : first;
    const params = a.params ? a.params(r) : undefined;
    nodes.push({ name: `a${l}`, op: { type: 'unary', fn: a.fn, ...(params ? { params } : {}) }, inputs: [`d${l}`] });
    acts.push(a.fn);
    cur = `a${l}`;
    w = units;
  }
  nodes.push(denseLayer('out', cur, w, nOut, r, r.pick([1, 2, 5])));
  return {
    graph: { inputs: [{ name: 'x', width: nIn }], nodes, outputs: [{ node: 'out', name: 'y' }] },
    family: `${depth}x${mixed ? 'mixed' : first.fn}@${scale}`,
    acts,
    pwl: acts.every((a) => MILP_ACTIVATIONS.includes(a)),
  };
}

/**
 * The tangent net: y = w·(softplus(a·x) + softplus(−a·x)) + c, whose minimum 2w·ln 2 + c sits
 * at x = 0 (a double root when the target is that minimum).
 */
export function tangentNet(r: Rng): FuzzNet {
  const a = r.pick([0.5, 1, 3]),
    w = r.pick([1, 0.5, 2]),
    c = r.pick([0, -1, 0.25]);
  return {
    graph: {
      inputs: [{ name: 'x', width: 1 }],
      nodes: [
        { name: 'd0', op: { type: 'dense', units: 2, weight: [a, -a], bias: [0, 0] }, inputs: ['x'] },
        { name: 'a0', op: { type: 'unary', fn: 'softplus' }, inputs: ['d0'] },
        { name: 'out', op: { type: 'dense', units: 1, weight: [w, w], bias: [c] }, inputs: ['a0'] },
      ],
      outputs: [{ node: 'out', name: 'y' }],
    },
    family: 'tangent-softplus',
    acts: ['softplus'],
    pwl: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

interface TargetContext {
  r: Rng;
  /** The output's value at a point of the box. */
  value: number;
  /** Estimated range of the output over the box (grid + refinement). */
  min: number;
  max: number;
  tol: number;
}

/**
 * Makers of a target spec by kind. A maker may return null when its kind does not fit. 'linear'
 * (linear forms over outputs) goes here once the Query supports it.
 */
export const TARGET_MAKERS: Record<string, (c: TargetContext) => TargetSpec | null> = {
  eq: (c) => c.value,
  range: (c) => {
    const h = Math.abs(c.max - c.min) * c.r.pick([1e-6, 1e-3, 0.05]) + c.tol;
    return { range: [c.value - h * c.r.next(), c.value + h * c.r.next()] };
  },
  ge: (c) => ({ ge: c.max - c.r.pick([-2, -0.5, 0.5, 2, 10]) * c.tol }),
  le: (c) => ({ le: c.min + c.r.pick([-2, -0.5, 0.5, 2, 10]) * c.tol }),
};

function pickTol(r: Rng): { atol: number; rtol: number } {
  const atol = r.pick(TOLS);
  const rtol = r.next() < 0.3 ? 0 : r.pick(TOLS);
  return { atol, rtol };
}

/** Range of each output over the slice: grid min/max then LM toward beyond each end. */
function outputRanges(net: OracleNet, slice: Slice): { min: number[]; max: number[]; argmin: number[][]; argmax: number[][] } {
  const per = slice.unknowns.length === 1 ? 401 : slice.unknowns.length === 2 ? 41 : 13;
  const g = makeGrid(net, slice, per);
  const min: number[] = [],
    max: number[] = [],
    argmin: number[][] = [],
    argmax: number[][] = [];
  for (let o = 0; o < net.nOut; o++) {
    let lo = Infinity,
      hi = -Infinity,
      klo = 0,
      khi = 0;
    for (let k = 0; k < g.count; k++) {
      const v = g.Y[k * net.nOut + o];
      if (v < lo) [lo, klo] = [v, k];
      if (v > hi) [hi, khi] = [v, k];
    }
    const pt = (k: number): number[] => {
      const u: number[] = [];
      let rr = k;
      for (let j = 0; j < g.n; j++) {
        u.push(g.axis[j][rr % g.per]);
        rr = Math.floor(rr / g.per);
      }
      return u;
    };
    // push toward a value beyond each end: LM maximises / minimises
    const name = net.outputNames[o];
    const up = refine(new SliceMap(net, slice, [{ output: name, lo: hi + Math.abs(hi) + 1e6, hi: null, tolerance: 0 }]), pt(khi), 30);
    const dn = refine(new SliceMap(net, slice, [{ output: name, lo: null, hi: lo - Math.abs(lo) - 1e6, tolerance: 0 }]), pt(klo), 30);
    const vu = up.y[o],
      vd = dn.y[o];
    min.push(Math.min(lo, vd));
    max.push(Math.max(hi, vu));
    argmin.push(vd < lo ? dn.u : pt(klo));
    argmax.push(vu > hi ? up.u : pt(khi));
  }
  return { min, max, argmin, argmax };
}

/** A random query for a net. */
export function randomQuery(r: Rng, net: FuzzNet, nUnknowns: number, forceKind?: QueryKind): FuzzQuery {
  const on = new OracleNet(net.graph);
  const nIn = on.nIn,
    nOut = on.nOut;
  const unknownIdx = [...Array(nIn).keys()].sort(() => r.next() - 0.5).slice(0, nUnknowns).sort((a, b) => a - b);
  const given: Record<string, number> = {};
  for (let i = 0; i < nIn; i++) if (!unknownIdx.includes(i)) given[on.inputNames[i]] = Number(r.uniform(-2, 2).toPrecision(r.pick([3, 17])));
  const unknowns = unknownIdx.map((i) => on.inputNames[i]);
  const bounds: Record<string, [number, number]> = {};
  const lo: number[] = [],
    hi: number[] = [];
  for (const u of unknowns) {
    const w = r.pick([0.1, 1, 2, 4, 10, 20]);
    const c = r.uniform(-2, 2);
    const b: [number, number] = [Number((c - w / 2).toPrecision(6)), Number((c + w / 2).toPrecision(6))];
    bounds[u] = b;
    lo.push(b[0]);
    hi.push(b[1]);
  }
  let kind: QueryKind =
    forceKind ??
    r.pick<QueryKind>(['reachable', 'reachable', 'round-target', 'edge', 'boundary', 'tangent', 'unreachable', 'inequality', 'overdetermined', 'underdetermined']);
  if (kind === 'tangent' && nUnknowns !== 1) kind = 'boundary';
  if (kind === 'underdetermined' && nUnknowns === 1) kind = 'reachable';
  // now and then a zero-width box for one unknown (a degenerate box)
  if (nUnknowns > 1 && r.next() < 0.08) {
    const j = r.int(nUnknowns);
    hi[j] = lo[j];
    bounds[unknowns[j]] = [lo[j], lo[j]];
  }
  const slice: Slice = { given, unknowns, lo, hi };
  let { atol, rtol } = pickTol(r);
  // a target float64 may not hit exactly, with a tolerance below its resolution (the seed-add
  // `--atol 1e-15 --rtol 0` class)
  if (kind === 'round-target' && r.next() < 0.6) [atol, rtol] = [r.pick([1e-15, 1e-16, 1e-14]), 0];
  const sm = new SliceMap(on, slice, []);
  const yAt = (u: number[]): Float64Array => {
    const y = new Float64Array(nOut);
    on.forward(sm.full(u), y);
    return y;
  };
  // 'edge': the point (hence a root) on a corner / face of the box
  const xStar = lo.map((l, j) => (kind === 'edge' && (j === 0 || r.next() < 0.5) ? (r.next() < 0.5 ? l : hi[j]) : l + (hi[j] - l) * r.next()));
  const yStar = yAt(xStar);
  const ranges = outputRanges(on, slice);
  const outs = [...Array(nOut).keys()];
  const pickOutputs = (k: number): number[] => outs.slice().sort(() => r.next() - 0.5).slice(0, Math.min(k, nOut)).sort((a, b) => a - b);
  const tolOf = (v: number): number => atol + rtol * Math.abs(v);
  const want: Record<string, TargetSpec> = {};
  switch (kind) {
    case 'reachable':
    case 'edge':
      for (const o of pickOutputs(nUnknowns)) want[on.outputNames[o]] = yStar[o];
      break;
    case 'round-target':
      for (const o of pickOutputs(nUnknowns)) want[on.outputNames[o]] = Number(yStar[o].toPrecision(r.pick([2, 4, 8])));
      break;
    case 'overdetermined':
      for (const o of pickOutputs(nUnknowns + 1)) want[on.outputNames[o]] = yStar[o] + (r.next() < 0.5 ? 0 : r.pick([1e-9, 1e-3, 0.1]));
      break;
    case 'underdetermined':
      for (const o of pickOutputs(nUnknowns - 1)) want[on.outputNames[o]] = yStar[o];
      break;
    case 'boundary': {
      // near the end of one output's range; the others (square system) from x*
      const os = pickOutputs(nUnknowns);
      const o0 = r.pick(os);
      for (const o of os) want[on.outputNames[o]] = yStar[o];
      const top = r.next() < 0.5;
      const end = top ? ranges.max[o0] : ranges.min[o0];
      const d = r.pick([-10, -1, -0.5, 0, 0.5, 1, 10]) * tolOf(end);
      want[on.outputNames[o0]] = top ? end + d : end - d;
      if (os.length > 1 && r.next() < 0.5) {
        // make it consistent: the other targets at the argmax / argmin
        const at = yAt(top ? ranges.argmax[o0] : ranges.argmin[o0]);
        for (const o of os) if (o !== o0) want[on.outputNames[o]] = at[o];
      }
      break;
    }
    case 'tangent': {
      // target at a local extremum of the 1-D function (a double root), or within a tolerance of it
      const o = r.int(nOut);
      const ext = r.next() < 0.5 ? ranges.max[o] : ranges.min[o];
      want[on.outputNames[o]] = ext + r.pick([0, 0, 0.5, -0.5, 2, -2]) * tolOf(ext);
      break;
    }
    case 'unreachable': {
      const o = r.int(nOut);
      const span = ranges.max[o] - ranges.min[o] + 1;
      want[on.outputNames[o]] = r.next() < 0.5 ? ranges.max[o] + span * r.uniform(0.01, 2) : ranges.min[o] - span * r.uniform(0.01, 2);
      break;
    }
    case 'inequality': {
      for (const o of pickOutputs(r.int(nOut) + 1)) {
        const k = r.pick(['eq', 'range', 'ge', 'le']);
        const spec = TARGET_MAKERS[k]({ r, value: yStar[o], min: ranges.min[o], max: ranges.max[o], tol: atol });
        if (spec !== null) want[on.outputNames[o]] = spec;
      }
      break;
    }
  }
  if (Object.keys(want).length === 0) want[on.outputNames[0]] = yStar[0];
  return { kind, query: { given, want, bounds }, atol, rtol };
}

/** Case number `index` of the run with seed `seed`. */
export function makeCase(seed: number, index: number): FuzzCase {
  const r = rng((seed * 1_000_003 + index * 7919) >>> 0);
  const nUnknowns = r.pick([1, 1, 1, 2, 2, 2, 3]);
  const given = r.pick([0, 0, 1, 2]);
  if (nUnknowns === 1 && given === 0 && r.next() < 0.06) {
    const net = tangentNet(r);
    return { seed, index, net, fq: randomQuery(r, net, 1, 'tangent') };
  }
  const net = randomNet(r, nUnknowns + given, r.pick([1, 2, 3]) + (nUnknowns > 1 ? 1 : 0), { pwlOnly: r.next() < 0.25 });
  const fq = randomQuery(r, net, nUnknowns);
  return { seed, index, net, fq };
}
