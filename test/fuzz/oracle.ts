/**
 * The fuzz oracle: an INDEPENDENT judge of netinvert's claims. It imports nothing from
 * src/graph (types only), src/solve or src/certify: its forward pass, its activation formulas,
 * its error bound, its finite-difference Jacobian, its Levenberg–Marquardt / Newton refinement
 * and its dense grid are all written here.
 *
 * What it supports: what the generator emits — graphs whose nodes are `dense`, `affine` and
 * `unary` ops chained from one input tensor to one output tensor.
 *
 * Tolerance rule (docs/design.md, "Meets a target"): an equality target t is met when
 * |y − t| ≤ atol + rtol·|t|; a range / inequality when y is inside it within atol.
 *
 * Rounding: the forward pass also carries a running bound on its own absolute rounding error
 * (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1: |fl(xᵀw) − xᵀw| ≤ γₙ·|x|ᵀ|w|,
 * γₙ = nu/(1 − nu), u = 2⁻⁵³; errors of earlier layers propagate through |W| and a local
 * Lipschitz bound of each activation). A claim is judged wrong only beyond twice that bound, so
 * the oracle's own rounding (and the engine's, of the same size) never makes a violation.
 */
import type { GraphDef } from '../../src/graph/types.ts';

const U = 2 ** -53;
const gamma = (k: number): number => (k * U) / (1 - k * U);

// ---------------------------------------------------------------------------------------------
// Activations, written independently of src/graph/activations (textbook formulas)
// ---------------------------------------------------------------------------------------------

/**
 * erf by its everywhere-positive series erf(x) = 2/√π · e^{−x²} · Σₙ 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
 * (Abramowitz & Stegun 7.1.6): no cancellation, so relative accuracy ~1e-15 for |x| < 6; beyond
 * that erf(x) = ±1 to double precision (erfc(6) ≈ 2e-17).
 */
export function oracleErf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return x > 0 ? 1 : -1;
  let term = ax,
    sum = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 400; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const v = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  return x < 0 ? -v : v;
}

const logistic = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const SELU_A = 1.6732632423543772848170429916717;
const SELU_S = 1.0507009873554804934193349852946;
const GC = Math.sqrt(2 / Math.PI);

interface Act {
  f(x: number): number;
  /** |f'| at x (one-sided values cover kinks when sampled on both sides). */
  d(x: number): number;
  /** Extra relative error of the library functions used (beyond a few ulps). */
  rel: number;
  /** Extra absolute error at x (cancellation in 1 + erf / 1 + tanh for x < 0). */
  abs?: (x: number) => number;
}

/** Activation by name and parameters (defaults as in DESIGN/the model format). */
export function oracleActivation(fn: string, p: Record<string, number> = {}): Act {
  const name = fn.replace(/-/g, '_');
  switch (name) {
    case 'identity':
      return { f: (x) => x, d: () => 1, rel: 0 };
    case 'sigmoid':
      return { f: logistic, d: (x) => logistic(x) * (1 - logistic(x)), rel: 4 * U };
    case 'bipolar_sigmoid': {
      // 2/(1 + e^{−λx}) − 1 = tanh(λx/2)
      const l = p.lambda ?? 1;
      return { f: (x) => Math.tanh((l * x) / 2), d: (x) => (l / 2) * (1 - Math.tanh((l * x) / 2) ** 2), rel: 8 * U };
    }
    case 'tanh':
      return { f: Math.tanh, d: (x) => 1 - Math.tanh(x) ** 2, rel: 4 * U };
    case 'relu':
      return { f: (x) => (x > 0 ? x : 0), d: (x) => (x > 0 ? 1 : 0), rel: 0 };
    case 'leaky_relu': {
      const a = p.alpha ?? 0.01;
      return { f: (x) => (x > 0 ? x : a * x), d: (x) => (x > 0 ? 1 : Math.abs(a)), rel: U };
    }
    case 'elu':
    case 'selu': {
      const a = name === 'selu' ? SELU_A : (p.alpha ?? 1);
      const s = name === 'selu' ? SELU_S : 1;
      return {
        f: (x) => (x > 0 ? s * x : s * a * Math.expm1(x)),
        d: (x) => (x > 0 ? s : Math.abs(s * a) * Math.exp(x)),
        rel: 4 * U,
      };
    }
    case 'softplus': {
      const b = p.beta ?? 1;
      // log(1 + e^{βx})/β = max(βx, 0)/β + log1p(e^{−|βx|})/β
      return { f: (x) => (Math.max(b * x, 0) + Math.log1p(Math.exp(-Math.abs(b * x)))) / b, d: (x) => logistic(b * x), rel: 8 * U };
    }
    case 'softsign':
      return { f: (x) => x / (1 + Math.abs(x)), d: (x) => 1 / (1 + Math.abs(x)) ** 2, rel: 2 * U };
    case 'silu':
      return { f: (x) => x * logistic(x), d: (x) => Math.abs(logistic(x) * (1 + x * (1 - logistic(x)))), rel: 6 * U };
    case 'gelu':
      return {
        f: (x) => 0.5 * x * (1 + oracleErf(x / Math.SQRT2)),
        d: (x) => Math.abs(0.5 * (1 + oracleErf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI)),
        rel: 2e-15,
        abs: (x) => 4e-16 * Math.abs(x),
      };
    case 'gelu_tanh': {
      const inner = (x: number): number => GC * (x + 0.044715 * x * x * x);
      return {
        f: (x) => 0.5 * x * (1 + Math.tanh(inner(x))),
        d: (x) => {
          const t = Math.tanh(inner(x));
          return Math.abs(0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GC * (1 + 3 * 0.044715 * x * x));
        },
        rel: 2e-15,
        abs: (x) => 4e-16 * Math.abs(x),
      };
    }
    case 'hard_tanh':
    case 'clip': {
      const lo = p.min ?? -1,
        hi = p.max ?? 1;
      return { f: (x) => (x < lo ? lo : x > hi ? hi : x), d: (x) => (x >= lo && x <= hi ? 1 : 0), rel: 0 };
    }
    case 'hard_sigmoid': {
      const s = p.slope ?? 0.2,
        o = p.offset ?? 0.5;
      return {
        f: (x) => {
          const v = s * x + o;
          return v < 0 ? 0 : v > 1 ? 1 : v;
        },
        d: (x) => {
          const v = s * x + o;
          return v >= 0 && v <= 1 ? Math.abs(s) : 0;
        },
        rel: 2 * U,
      };
    }
    case 'sin':
      return { f: Math.sin, d: (x) => Math.abs(Math.cos(x)), rel: 4 * U };
    case 'cos':
      return { f: Math.cos, d: (x) => Math.abs(Math.sin(x)), rel: 4 * U };
    case 'erf':
      return { f: oracleErf, d: (x) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), rel: 2e-15 };
    case 'abs':
      return { f: Math.abs, d: () => 1, rel: 0 };
    case 'max_const':
      return { f: (x) => (x > p.c ? x : p.c), d: (x) => (x >= p.c ? 1 : 0), rel: 0 };
    case 'min_const':
      return { f: (x) => (x < p.c ? x : p.c), d: (x) => (x <= p.c ? 1 : 0), rel: 0 };
    case 'exp':
      return { f: Math.exp, d: Math.exp, rel: 4 * U };
    default:
      throw new Error(`fuzz oracle: no formula for activation "${fn}" (the generator should not emit it)`);
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle's network: a chain of dense / affine / unary layers
// ---------------------------------------------------------------------------------------------

type Layer =
  | { kind: 'dense'; inW: number; units: number; W: Float64Array; b: Float64Array }
  | { kind: 'affine'; scale: Float64Array; shift: Float64Array }
  | { kind: 'unary'; act: Act };

export class OracleNet {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly nIn: number;
  readonly nOut: number;
  private readonly layers: Layer[];
  private readonly bufA: Float64Array;
  private readonly bufB: Float64Array;
  private readonly errA: Float64Array;
  private readonly errB: Float64Array;
  /** Forward passes done (the oracle's work measure). */
  evaluations = 0;

  constructor(g: GraphDef) {
    if (g.inputs.length !== 1 || g.outputs.length !== 1) throw new Error('fuzz oracle: one input tensor and one output tensor only');
    const inp = g.inputs[0];
    const names = (name: string, w: number, f?: string[]): string[] =>
      f ? f.slice() : w === 1 ? [name] : Array.from({ length: w }, (_, i) => `${name}[${i}]`);
    this.inputNames = names(inp.name, inp.width, inp.features);
    this.nIn = inp.width;
    const byName = new Map(g.nodes.map((nd) => [nd.name, nd]));
    // walk back from the output to the input: the graph must be a chain
    const chain: typeof g.nodes = [];
    let cur = g.outputs[0].node;
    while (cur !== inp.name) {
      const nd = byName.get(cur);
      if (!nd || nd.inputs.length !== 1) throw new Error(`fuzz oracle: node "${cur}" is not part of a single-input chain`);
      chain.unshift(nd);
      cur = nd.inputs[0];
    }
    let w = inp.width;
    let maxW = w;
    this.layers = chain.map((nd) => {
      const op = nd.op;
      if (op.type === 'dense') {
        const W = Float64Array.from(op.weight);
        if (W.length !== w * op.units) throw new Error(`fuzz oracle: dense "${nd.name}" weight size`);
        const b = op.bias ? Float64Array.from(op.bias) : new Float64Array(op.units);
        const l: Layer = { kind: 'dense', inW: w, units: op.units, W, b };
        w = op.units;
        maxW = Math.max(maxW, w);
        return l;
      }
      if (op.type === 'affine') return { kind: 'affine', scale: Float64Array.from(op.scale), shift: Float64Array.from(op.shift) };
      if (op.type === 'unary') return { kind: 'unary', act: oracleActivation(op.fn, op.params ?? {}) };
      throw new Error(`fuzz oracle: op "${op.type}" is not supported`);
    });
    this.nOut = w;
    this.outputNames = names(g.outputs[0].name ?? g.outputs[0].node, w, g.outputs[0].features);
    this.bufA = new Float64Array(maxW);
    this.bufB = new Float64Array(maxW);
    this.errA = new Float64Array(maxW);
    this.errB = new Float64Array(maxW);
  }

  /**
   * y = f(x) into `y`, and (when `err` is given) a bound on the absolute rounding error of each
   * y[i] as computed here. x has nIn entries.
   */
  forward(x: ArrayLike<number>, y: Float64Array, err?: Float64Array): void {
    this.evaluations++;
    let v = this.bufA,
      e = this.errA,
      nv = this.bufB,
      ne = this.errB;
    let w = this.nIn;
    for (let i = 0; i < w; i++) {
      v[i] = x[i];
      e[i] = 0;
    }
    for (const l of this.layers) {
      if (l.kind === 'dense') {
        const g = gamma(l.inW + 2);
        for (let k = 0; k < l.units; k++) {
          let s = l.b[k],
            mag = Math.abs(l.b[k]),
            prop = 0;
          for (let j = 0; j < l.inW; j++) {
            const wjk = l.W[j * l.units + k];
            s += v[j] * wjk;
            mag += Math.abs(v[j] * wjk);
            prop += Math.abs(wjk) * e[j];
          }
          nv[k] = s;
          ne[k] = prop * (1 + 4 * U) + g * mag + 1e-300;
        }
        w = l.units;
      } else if (l.kind === 'affine') {
        for (let k = 0; k < w; k++) {
          nv[k] = v[k] * l.scale[k] + l.shift[k];
          ne[k] = Math.abs(l.scale[k]) * e[k] + 2 * U * (Math.abs(v[k] * l.scale[k]) + Math.abs(nv[k])) + 1e-300;
        }
      } else {
        const a = l.act;
        for (let k = 0; k < w; k++) {
          const z = v[k];
          const val = a.f(z);
          nv[k] = val;
          if (err) {
            const ez = e[k];
            const L = Math.max(a.d(z), a.d(z - ez), a.d(z + ez));
            ne[k] = 1.25 * L * ez + (6 * U + a.rel) * Math.abs(val) + (a.abs ? a.abs(z) : 0) + 1e-300;
          }
        }
      }
      const tv = v,
        te = e;
      v = nv;
      e = ne;
      nv = tv;
      ne = te;
    }
    for (let i = 0; i < this.nOut; i++) {
      y[i] = v[i];
      if (err) err[i] = e[i];
    }
  }

  inputIndex(name: string): number {
    return this.inputNames.indexOf(name);
  }
  outputIndex(name: string): number {
    return this.outputNames.indexOf(name);
  }
}

// ---------------------------------------------------------------------------------------------
// Statements the oracle judges
// ---------------------------------------------------------------------------------------------

/** One target with its tolerance made absolute: met when lo − tol ≤ y ≤ hi + tol. */
export interface Band {
  output: string;
  lo: number | null;
  hi: number | null;
  tolerance: number;
}

/** Where to look: the given inputs and the box of the unknowns (by name). */
export interface Slice {
  given: Record<string, number>;
  unknowns: string[];
  lo: number[];
  hi: number[];
}

/** docs/design.md: eq → atol + rtol·|t|; range / ge / le → atol. */
export function toleranceOf(kind: 'eq' | 'range' | 'ge' | 'le', value: number, atol: number, rtol: number): number {
  return kind === 'eq' ? atol + rtol * Math.abs(value) : atol;
}

/** The slice as a map unknowns → full input vector. */
export class SliceMap {
  readonly n: number;
  readonly base: Float64Array;
  readonly idx: number[];
  readonly outIdx: number[];
  constructor(
    readonly net: OracleNet,
    readonly slice: Slice,
    readonly bands: Band[],
  ) {
    this.n = slice.unknowns.length;
    this.base = new Float64Array(net.nIn);
    for (const [k, v] of Object.entries(slice.given)) {
      const i = net.inputIndex(k);
      if (i < 0) throw new Error(`fuzz oracle: no input "${k}"`);
      this.base[i] = v;
    }
    this.idx = slice.unknowns.map((u) => {
      const i = net.inputIndex(u);
      if (i < 0) throw new Error(`fuzz oracle: no input "${u}"`);
      return i;
    });
    this.outIdx = bands.map((b) => {
      const o = net.outputIndex(b.output);
      if (o < 0) throw new Error(`fuzz oracle: no output "${b.output}"`);
      return o;
    });
  }
  full(u: ArrayLike<number>): Float64Array {
    const x = this.base.slice();
    for (let j = 0; j < this.n; j++) x[this.idx[j]] = u[j];
    return x;
  }
}

/** Value, rounding bound and per-band misses at one point. */
export interface PointEval {
  u: number[];
  y: number[];
  err: number[];
  /** Distance of y to each band's [lo, hi] (0 inside), without the tolerance. */
  miss: number[];
  /** max over bands of (miss − tolerance): ≤ 0 means the targets are met (as computed). */
  excess: number;
}

export function evalPoint(sm: SliceMap, u: ArrayLike<number>): PointEval {
  const y = new Float64Array(sm.net.nOut),
    err = new Float64Array(sm.net.nOut);
  sm.net.forward(sm.full(u), y, err);
  const miss: number[] = [];
  let excess = -Infinity;
  sm.bands.forEach((b, i) => {
    const v = y[sm.outIdx[i]];
    const m = v !== v ? Infinity : b.lo !== null && v < b.lo ? b.lo - v : b.hi !== null && v > b.hi ? v - b.hi : 0;
    miss.push(m);
    excess = Math.max(excess, m - b.tolerance);
  });
  return { u: Array.from(u), y: Array.from(y), err: Array.from(err), miss, excess };
}

/** Does the point meet every band with a margin of twice the rounding bound ('yes'), miss one beyond it ('no'), or is it too close to call? */
export function judgePoint(sm: SliceMap, p: PointEval): 'yes' | 'no' | 'borderline' {
  let all = true;
  for (let i = 0; i < sm.bands.length; i++) {
    const e = 2 * p.err[sm.outIdx[i]];
    const d = p.miss[i] - sm.bands[i].tolerance;
    if (d > e) return 'no';
    if (d > -e) all = false;
  }
  return all ? 'yes' : 'borderline';
}

// ---------------------------------------------------------------------------------------------
// Small dense linear algebra (n ≤ 3 unknowns, m ≤ a few outputs)
// ---------------------------------------------------------------------------------------------

/** Solve A x = b (n×n, row-major) by Gaussian elimination with partial pivoting; null when singular. */
export function solveSmall(A: number[], b: number[], n: number): number[] | null {
  const M = A.slice(),
    r = b.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(M[i * n + c]) > Math.abs(M[p * n + c])) p = i;
    if (!(Math.abs(M[p * n + c]) > 0)) return null;
    if (p !== c) {
      for (let j = 0; j < n; j++) [M[c * n + j], M[p * n + j]] = [M[p * n + j], M[c * n + j]];
      [r[c], r[p]] = [r[p], r[c]];
    }
    for (let i = c + 1; i < n; i++) {
      const f = M[i * n + c] / M[c * n + c];
      for (let j = c; j < n; j++) M[i * n + j] -= f * M[c * n + j];
      r[i] -= f * r[c];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = r[i];
    for (let j = i + 1; j < n; j++) s -= M[i * n + j] * x[j];
    x[i] = s / M[i * n + i];
  }
  return x.every(Number.isFinite) ? x : null;
}

/** Central-difference Jacobian of the banded outputs w.r.t. the unknowns (m × n, row-major). */
function fdJacobian(sm: SliceMap, u: number[], widths: number[]): { J: number[]; y: number[] } {
  const n = sm.n,
    m = sm.bands.length;
  const J = new Array<number>(m * n).fill(0);
  const y0 = new Float64Array(sm.net.nOut),
    yp = new Float64Array(sm.net.nOut),
    ym = new Float64Array(sm.net.nOut);
  sm.net.forward(sm.full(u), y0);
  for (let j = 0; j < n; j++) {
    const h = Math.max(1e-7 * Math.abs(u[j]), 1e-9 * widths[j], 1e-12);
    const up = u.slice(),
      um = u.slice();
    up[j] += h;
    um[j] -= h;
    sm.net.forward(sm.full(up), yp);
    sm.net.forward(sm.full(um), ym);
    for (let i = 0; i < m; i++) J[i * n + j] = (yp[sm.outIdx[i]] - ym[sm.outIdx[i]]) / (up[j] - um[j]);
  }
  return { J, y: sm.outIdx.map((o) => y0[o]) };
}

/**
 * Bounded Levenberg–Marquardt (Levenberg 1944, Marquardt 1963) on the residual
 * rᵢ = yᵢ − clamp(yᵢ, loᵢ, hiᵢ) (the distance to each target set, tolerance ignored, so the
 * iterate aims at the exact set), FD Jacobian, projection onto the box after each step.
 * Returns the best point seen (smallest excess).
 */
export function refine(sm: SliceMap, start: number[], iterations = 40): PointEval {
  const n = sm.n,
    m = sm.bands.length;
  const widths = sm.slice.lo.map((l, j) => sm.slice.hi[j] - l || 1);
  const clampBox = (u: number[]): number[] => u.map((v, j) => Math.min(sm.slice.hi[j], Math.max(sm.slice.lo[j], v)));
  let u = clampBox(start);
  let best = evalPoint(sm, u);
  let cur = best;
  const cost = (p: PointEval): number => p.miss.reduce((a, v) => a + v * v, 0);
  let lambda = 1e-3;
  for (let it = 0; it < iterations; it++) {
    if (best.excess <= -Infinity || cost(cur) === 0) break;
    const { J } = fdJacobian(sm, u, widths);
    // residual: signed distance to the target interval
    const r = sm.bands.map((b, i) => {
      const v = cur.y[sm.outIdx[i]];
      return b.lo !== null && v < b.lo ? v - b.lo : b.hi !== null && v > b.hi ? v - b.hi : 0;
    });
    const JtJ = new Array<number>(n * n).fill(0),
      Jtr = new Array<number>(n).fill(0);
    for (let i = 0; i < m; i++) {
      for (let a = 0; a < n; a++) {
        Jtr[a] += J[i * n + a] * r[i];
        for (let c = 0; c < n; c++) JtJ[a * n + c] += J[i * n + a] * J[i * n + c];
      }
    }
    let improved = false;
    for (let tries = 0; tries < 8; tries++) {
      const A = JtJ.slice();
      for (let a = 0; a < n; a++) A[a * n + a] += lambda * (JtJ[a * n + a] + 1e-30);
      const step = solveSmall(A, Jtr.map((v) => -v), n);
      if (!step) {
        lambda *= 10;
        continue;
      }
      const cand = clampBox(u.map((v, j) => v + step[j]));
      const p = evalPoint(sm, cand);
      if (cost(p) < cost(cur)) {
        u = cand;
        cur = p;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = true;
        break;
      }
      lambda *= 10;
    }
    if (cur.excess < best.excess) best = cur;
    if (!improved) break;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The dense grid
// ---------------------------------------------------------------------------------------------

/** Points per axis of the oracle's grid, by number of unknowns. */
export function gridSize(n: number): number {
  return n === 1 ? 4001 : n === 2 ? 161 : n === 3 ? 29 : 9;
}

export interface Grid {
  n: number;
  per: number;
  /** Unknown values of point k along axis j: lo + (hi − lo)·i/(per − 1). */
  axis: number[][];
  /** Outputs of every grid point (points × nOut), as the oracle computes them. */
  Y: Float64Array;
  count: number;
}

/** Evaluate the net on a tensor grid over the slice's box. */
export function makeGrid(net: OracleNet, slice: Slice, per = gridSize(slice.unknowns.length)): Grid {
  const sm = new SliceMap(net, slice, []);
  const n = sm.n;
  const axis = slice.lo.map((l, j) => {
    const h = slice.hi[j];
    return Array.from({ length: per }, (_, i) => (i === per - 1 ? h : l + ((h - l) * i) / (per - 1)));
  });
  const count = per ** n;
  const Y = new Float64Array(count * net.nOut);
  const y = new Float64Array(net.nOut);
  const u = new Array<number>(n).fill(0);
  for (let k = 0; k < count; k++) {
    let r = k;
    for (let j = 0; j < n; j++) {
      u[j] = axis[j][r % per];
      r = Math.floor(r / per);
    }
    net.forward(sm.full(u), y);
    Y.set(y, k * net.nOut);
  }
  return { n, per, axis, Y, count };
}

export function gridPoint(g: Grid, k: number): number[] {
  const u: number[] = [];
  let r = k;
  for (let j = 0; j < g.n; j++) {
    u.push(g.axis[j][r % g.per]);
    r = Math.floor(r / g.per);
  }
  return u;
}

/** Scaled excess of grid point k against the bands (for ranking). */
function gridExcess(g: Grid, sm: SliceMap, k: number, nOut: number): number {
  let ex = -Infinity;
  sm.bands.forEach((b, i) => {
    const v = g.Y[k * nOut + sm.outIdx[i]];
    const m = v !== v ? Infinity : b.lo !== null && v < b.lo ? b.lo - v : b.hi !== null && v > b.hi ? v - b.hi : 0;
    ex = Math.max(ex, m - b.tolerance);
  });
  return ex;
}

/** Grid indices with the smallest excess that are local minima of the grid (plus the overall best few). */
function candidates(g: Grid, sm: SliceMap, nOut: number, keep: number): number[] {
  const ex = new Float64Array(g.count);
  for (let k = 0; k < g.count; k++) ex[k] = gridExcess(g, sm, k, nOut);
  const local: number[] = [];
  for (let k = 0; k < g.count; k++) {
    let isMin = true;
    let stride = 1,
      r = k;
    for (let j = 0; j < g.n && isMin; j++) {
      const i = r % g.per;
      r = Math.floor(r / g.per);
      if (i > 0 && ex[k - stride] < ex[k]) isMin = false;
      if (i < g.per - 1 && ex[k + stride] < ex[k]) isMin = false;
      stride *= g.per;
    }
    if (isMin) local.push(k);
  }
  local.sort((a, b) => ex[a] - ex[b]);
  return local.slice(0, keep);
}

// ---------------------------------------------------------------------------------------------
// Judgements
// ---------------------------------------------------------------------------------------------

export interface Witness {
  /** For a feasible point: true when it meets the bands beyond the rounding bound (the exact function meets them). */
  rigorous?: boolean;
  /** A sign change of y − t between these two points (an exact root on the segment between them). */
  bracket?: [number[], number[]];
  /** The unknowns' values. */
  u: number[];
  /** Outputs there (oracle's pass) and its rounding bound. */
  y: number[];
  err: number[];
  note: string;
}

/**
 * Search the slice for a point meeting every band ("is an infeasibility claim false?").
 * Dense grid, then LM from the best local minima of the grid; in 1-D with one equality band,
 * also bisection on every sign change of y − t between grid neighbours, then a scan of the
 * floats next to the crossing (a tolerance below float64's resolution can only be met there).
 * Returns a witness that meets the bands with a margin of 2× the rounding bound (`rigorous`:
 * the exact function meets them), else the first point whose computed outputs meet them
 * (`rigorous: false`: the caller asks the engine's forward pass too), else null.
 */
export function findFeasible(net: OracleNet, slice: Slice, bands: Band[], grid?: Grid, keep = 12): Witness | null {
  const sm = new SliceMap(net, slice, bands);
  const g = grid ?? makeGrid(net, slice);
  const nOut = net.nOut;
  let asComputed: Witness | null = null;
  const consider = (p: PointEval, note: string): Witness | null => {
    const j = judgePoint(sm, p);
    if (j === 'yes') return { u: p.u, y: p.y, err: p.err, note, rigorous: true };
    if (!asComputed && p.excess <= 0) asComputed = { u: p.u, y: p.y, err: p.err, note: `${note} (met as computed, within the rounding bound)`, rigorous: false };
    return null;
  };
  for (let k = 0; k < g.count; k++) {
    if (gridExcess(g, sm, k, nOut) <= 0) {
      const w = consider(evalPoint(sm, gridPoint(g, k)), 'grid point');
      if (w) return w;
    }
  }
  if (bands.length === 1 && bands[0].lo !== null && bands[0].lo === bands[0].hi) {
    // one equality: y − t changing sign between two grid neighbours (along the first unknown),
    // both values clear of the rounding bound, proves an exact root between them (the net is
    // continuous): the smallest possible miss over the box is 0, whatever floats can hit
    const t = bands[0].lo;
    const o = sm.outIdx[0];
    const y = new Float64Array(nOut),
      e = new Float64Array(nOut);
    for (let k = 0; k + 1 < g.count; k++) {
      if ((k + 1) % g.per === 0) continue;
      const a = g.Y[k * nOut + o] - t,
        b = g.Y[(k + 1) * nOut + o] - t;
      if (!((a < 0 && b > 0) || (a > 0 && b < 0))) continue;
      const ua = gridPoint(g, k),
        ub = gridPoint(g, k + 1);
      net.forward(sm.full(ua), y, e);
      const ca = Math.abs(y[o] - t) > 2 * e[o];
      net.forward(sm.full(ub), y, e);
      const cb = Math.abs(y[o] - t) > 2 * e[o];
      if (ca && cb) {
        // bisect along the segment for a representative point near the root
        let s0 = 0,
          s1 = 1;
        const at = (sv: number): number[] => ua.map((v, j) => v + sv * (ub[j] - v));
        const sgnA = Math.sign(a);
        for (let it = 0; it < 80; it++) {
          const sm2 = 0.5 * (s0 + s1);
          net.forward(sm.full(at(sm2)), y);
          if (Math.sign(y[o] - t) === sgnA) s0 = sm2;
          else s1 = sm2;
        }
        const p = evalPoint(sm, at(0.5 * (s0 + s1)));
        return { u: p.u, y: p.y, err: p.err, note: `y − t changes sign between ${JSON.stringify(ua)} and ${JSON.stringify(ub)} (an exact root between them)`, rigorous: true, bracket: [ua, ub] };
      }
    }
  }
  if (sm.n === 1 && bands.length === 1 && bands[0].lo !== null && bands[0].lo === bands[0].hi) {
    const t = bands[0].lo;
    const o = sm.outIdx[0];
    for (let k = 0; k + 1 < g.count; k++) {
      const a = g.Y[k * nOut + o] - t,
        b = g.Y[(k + 1) * nOut + o] - t;
      if ((a < 0 && b > 0) || (a > 0 && b < 0)) {
        const r = bisect(sm, g.axis[0][k], g.axis[0][k + 1], t, o);
        // the floats around the crossing
        let x = r;
        for (let s = 0; s < 32; s++) x = nextFloat(x, -1);
        for (let s = 0; s < 65; s++, x = nextFloat(x, 1)) {
          if (x < slice.lo[0] || x > slice.hi[0]) continue;
          const w = consider(evalPoint(sm, [x]), 'bisection on a sign change');
          if (w) return w;
        }
      }
    }
  }
  for (const k of candidates(g, sm, nOut, keep)) {
    const w = consider(refine(sm, gridPoint(g, k)), 'grid + Levenberg–Marquardt');
    if (w) return w;
  }
  return asComputed;
}

const fdv = new DataView(new ArrayBuffer(8));
/** The adjacent float in direction dir (±1), by the bit pattern. */
export function nextFloat(x: number, dir: 1 | -1): number {
  if (x === 0) return dir > 0 ? 5e-324 : -5e-324;
  fdv.setFloat64(0, x);
  const b = fdv.getBigInt64(0);
  fdv.setBigInt64(0, b + ((x > 0) === (dir > 0) ? 1n : -1n));
  return fdv.getFloat64(0);
}

function bisect(sm: SliceMap, a: number, b: number, t: number, o: number): number {
  const y = new Float64Array(sm.net.nOut);
  sm.net.forward(sm.full([a]), y);
  const fa = y[o] - t;
  for (let i = 0; i < 200; i++) {
    const m = 0.5 * (a + b);
    if (m <= a || m >= b) break;
    sm.net.forward(sm.full([m]), y);
    const fm = y[o] - t;
    if (fm === 0) return m;
    if (fm < 0 === fa < 0) a = m;
    else b = m;
  }
  return 0.5 * (a + b);
}

/**
 * The smallest worst-output miss (distance to each target set, no tolerance) the oracle can find
 * in the slice: grid + LM. Returns the point; its worst miss is max(p.miss).
 */
export function minWorstMiss(net: OracleNet, slice: Slice, bands: Band[], grid?: Grid, keep = 8): PointEval {
  const zeroTol = bands.map((b) => ({ ...b, tolerance: 0 }));
  const sm = new SliceMap(net, slice, zeroTol);
  const g = grid ?? makeGrid(net, slice);
  let best: PointEval | null = null;
  for (const k of candidates(g, sm, net.nOut, keep)) {
    const p0 = evalPoint(sm, gridPoint(g, k));
    if (!best || p0.excess < best.excess) best = p0;
    const p = refine(sm, gridPoint(g, k));
    if (p.excess < best.excess) best = p;
  }
  return best ?? evalPoint(sm, slice.lo);
}

export interface RootBox {
  lo: number[];
  hi: number[];
}

/**
 * Search the slice for an exact root of the equality bands (square system: one band per unknown)
 * that lies outside every listed root box ("is a completeness claim false?"). Newton from the
 * grid's best local minima (FD Jacobian); a root counts when Newton's residual reaches the
 * rounding bound with a well-conditioned Jacobian, or (1-D) when y − t changes sign between two
 * grid neighbours outside every listed box with both values clear of the rounding bound.
 */
export function findUnlistedRoot(net: OracleNet, slice: Slice, targets: { output: string; value: number }[], listed: RootBox[], grid?: Grid, keep = 16): Witness | null {
  const bands: Band[] = targets.map((t) => ({ output: t.output, lo: t.value, hi: t.value, tolerance: 0 }));
  const sm = new SliceMap(net, slice, bands);
  const g = grid ?? makeGrid(net, slice);
  const n = sm.n;
  const widths = slice.lo.map((l, j) => slice.hi[j] - l || 1);
  const inListed = (u: number[]): boolean =>
    listed.some((b) => u.every((v, j) => v >= b.lo[j] - 1e-12 * widths[j] && v <= b.hi[j] + 1e-12 * widths[j]));
  const nOut = net.nOut;
  if (n === 1 && bands.length === 1) {
    const o = sm.outIdx[0],
      t = targets[0].value;
    const y = new Float64Array(nOut),
      e = new Float64Array(nOut);
    const clear = (u: number): { s: number; ok: boolean } => {
      net.forward(sm.full([u]), y, e);
      const d = y[o] - t;
      return { s: Math.sign(d), ok: Math.abs(d) > 2 * e[o] };
    };
    for (let k = 0; k + 1 < g.count; k++) {
      const a = g.Y[k * nOut + o] - t,
        b = g.Y[(k + 1) * nOut + o] - t;
      if (!((a < 0 && b > 0) || (a > 0 && b < 0))) continue;
      const ua = g.axis[0][k],
        ub = g.axis[0][k + 1];
      // a bracket [ua, ub] whose whole extent is outside the listed boxes
      const overlaps = listed.some((bx) => bx.lo[0] <= ub && bx.hi[0] >= ua);
      if (overlaps) continue;
      const ca = clear(ua),
        cb = clear(ub);
      if (ca.ok && cb.ok && ca.s * cb.s < 0) {
        const r = bisect(sm, ua, ub, t, o);
        const p = evalPoint(sm, [r]);
        return { u: p.u, y: p.y, err: p.err, note: `sign change of y − t on [${ua}, ${ub}], outside every listed root box`, bracket: [[ua], [ub]] };
      }
    }
  }
  if (bands.length !== n) return null;
  for (const k of candidates(g, sm, nOut, keep)) {
    let u = gridPoint(g, k);
    let ok = false;
    for (let it = 0; it < 60; it++) {
      const { J, y } = fdJacobian(sm, u, widths);
      const r = y.map((v, i) => v - targets[i].value);
      const step = solveSmall(J, r.map((v) => -v), n);
      if (!step) break;
      u = u.map((v, j) => v + step[j]);
      if (u.some((v, j) => v < slice.lo[j] - 0.01 * widths[j] || v > slice.hi[j] + 0.01 * widths[j])) break;
      if (step.every((s, j) => Math.abs(s) <= 1e-15 * Math.max(1, Math.abs(u[j])))) {
        ok = true;
        break;
      }
    }
    if (!ok) continue;
    if (u.some((v, j) => v < slice.lo[j] || v > slice.hi[j])) continue;
    const p = evalPoint(sm, u);
    const resOk = sm.bands.every((_, i) => p.miss[i] <= 4 * p.err[sm.outIdx[i]] + 1e-300);
    if (!resOk) continue;
    // well-conditioned: the smallest singular value-ish (|det|^(1/n) vs the largest entry)
    const { J } = fdJacobian(sm, u, widths);
    const det = n === 1 ? J[0] : n === 2 ? J[0] * J[3] - J[1] * J[2] : det3(J);
    const big = Math.max(...J.map(Math.abs));
    if (!(Math.abs(det) ** (1 / n) > 1e-6 * big)) continue;
    // clear of the listed boxes by more than the Newton step's scale
    const margin = widths.map((w) => 1e-9 * w);
    const outside = listed.every((b) => u.some((v, j) => v < b.lo[j] - margin[j] || v > b.hi[j] + margin[j]));
    if (outside && !inListed(u)) return { u: p.u, y: p.y, err: p.err, note: 'Newton-converged root (well-conditioned) outside every listed root box' };
  }
  return null;
}

function det3(J: number[]): number {
  return J[0] * (J[4] * J[8] - J[5] * J[7]) - J[1] * (J[3] * J[8] - J[5] * J[6]) + J[2] * (J[3] * J[7] - J[4] * J[6]);
}

/**
 * Does the output over a box stay inside a claimed enclosure [lo, hi]? Samples corners, the
 * centre and `extra` points of a Halton-like lattice; returns a point outside (beyond the
 * rounding bound), or null.
 */
export function enclosureCounterexample(net: OracleNet, slice: Slice, output: string, lo: number, hi: number, extra = 16): Witness | null {
  const sm = new SliceMap(net, slice, [{ output, lo: null, hi: null, tolerance: 0 }]);
  const n = sm.n;
  const pts: number[][] = [];
  for (let c = 0; c < 2 ** n; c++) pts.push(slice.lo.map((l, j) => ((c >> j) & 1 ? slice.hi[j] : l)));
  pts.push(slice.lo.map((l, j) => 0.5 * (l + slice.hi[j])));
  const primes = [2, 3, 5];
  for (let k = 1; k <= extra; k++) {
    pts.push(
      slice.lo.map((l, j) => {
        let f = 1,
          r = 0,
          i = k;
        while (i > 0) {
          f /= primes[j % 3];
          r += f * (i % primes[j % 3]);
          i = Math.floor(i / primes[j % 3]);
        }
        return l + r * (slice.hi[j] - l);
      }),
    );
  }
  for (const u of pts) {
    const p = evalPoint(sm, u);
    const v = p.y[sm.outIdx[0]],
      e = 2 * p.err[sm.outIdx[0]];
    if (v < lo - e || v > hi + e) return { u: p.u, y: p.y, err: p.err, note: `output ${output} = ${v} outside the claimed [${lo}, ${hi}]` };
  }
  return null;
}
