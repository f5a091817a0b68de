/**
 * Network: a compiled graph with batched float64 evaluation, exact Jacobians (forward or
 * reverse mode), parameter gradients, and sound interval bounds on values and Jacobians.
 *
 * Points are rows: X is rows × nIn, Y is rows × nOut, Jacobians are rows × m × k
 * ([point][output][unknown]). Buffers are kept between calls and grown only when a larger
 * batch arrives, so repeated calls at the same size allocate nothing.
 */
import { NetinvertError } from '../errors.ts';
import { compileGraph, type CompiledNode } from './compile.ts';
import type { VjpArgs } from './ops/types.ts';
import type { GraphDef } from './types.ts';

/** Per-node buffers, grown on demand. */
class Buffers {
  private bufs: Float64Array[] = [];
  get(i: number, n: number): Float64Array {
    let b = this.bufs[i];
    if (!b || b.length < n) {
      b = new Float64Array(Math.max(n, b ? b.length * 2 : 0));
      this.bufs[i] = b;
    }
    return b;
  }
}

export interface JacobianOptions {
  /** Input feature indices to differentiate with respect to (default: all inputs). */
  wrt?: readonly number[];
  /** Output feature indices to differentiate (default: all outputs). */
  of?: readonly number[];
  /** 'auto' picks reverse mode when outputs are fewer than unknowns, forward otherwise. */
  mode?: 'auto' | 'forward' | 'reverse';
  /** Where to write the rows × m × k Jacobian. */
  out?: Float64Array;
  /** Where to write the rows × nOut values. */
  values?: Float64Array;
}

export interface IntervalResult {
  lo: Float64Array;
  hi: Float64Array;
}

export interface ParamRef {
  node: string;
  /** 0: weight/scale, 1: bias/shift. */
  index: number;
  values: Float64Array;
}

export class Network {
  readonly def: GraphDef;
  /** Input feature names, in input-vector order. */
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly nIn: number;
  readonly nOut: number;
  /**
   * The compiled graph in topological order (inputs first), read-only: certify's bound drivers
   * iterate it and call each op's facets instead of recompiling the graph.
   */
  readonly nodes: readonly CompiledNode[];
  /** For each output feature: its node index and position within that node. */
  readonly outputMap: readonly { readonly node: number; readonly pos: number }[];
  private readonly vals = new Buffers();
  private readonly tans = new Buffers();
  private readonly lo = new Buffers();
  private readonly hi = new Buffers();
  private readonly tLo = new Buffers();
  private readonly tHi = new Buffers();
  private readonly zeros = new Buffers();
  private readonly depScratch: Uint8Array;
  /** dependence(allIn), computed once: the graph never changes. */
  private depAll: Uint8Array | null = null;
  private readonly hasG: Uint8Array;
  /** 0…nIn−1 and 0…nOut−1: the default `wrt` and `of`. */
  private readonly allIn: readonly number[];
  private readonly allOut: readonly number[];
  /**
   * Per-node argument arrays, refilled on every call so the hot paths allocate nothing:
   * `argA` holds values (ins), `argB` tangents or cotangents, `argAcc` accumulate flags.
   */
  private readonly argA: Float64Array[][];
  private readonly argB: (Float64Array | null)[][];
  private readonly argAcc: boolean[][];
  /** Per-node VjpArgs of the reverse-mode Jacobian, refilled on every call. */
  private readonly vjpArgs: VjpArgs[];
  /** dup[n][a]: input a of node n repeats an earlier input of n (x*x), so it must accumulate. */
  private readonly dup: boolean[][];

  constructor(def: GraphDef) {
    const c = compileGraph(def);
    this.def = def;
    this.nodes = c.nodes;
    this.inputNames = c.inputFeatures;
    this.outputNames = c.outputFeatures;
    this.outputMap = c.outputMap;
    this.nIn = c.inputFeatures.length;
    this.nOut = c.outputFeatures.length;
    this.depScratch = new Uint8Array(this.nodes.length);
    this.hasG = new Uint8Array(this.nodes.length);
    this.allIn = Object.freeze(range(this.nIn));
    this.allOut = Object.freeze(range(this.nOut));
    const none = new Float64Array(0);
    this.argA = this.nodes.map((nd) => nd.inputs.map(() => none));
    this.argB = this.nodes.map((nd) => nd.inputs.map((): Float64Array | null => none));
    this.argAcc = this.nodes.map((nd) => nd.inputs.map(() => false));
    this.vjpArgs = this.nodes.map((_, n) => ({ ins: this.argA[n], y: none, gOut: none, gIns: this.argB[n], accumulate: this.argAcc[n], rows: 0, k: 0 }));
    this.dup = this.nodes.map((nd) => nd.inputs.map((i, a) => nd.inputs.indexOf(i) < a));
  }

  /** Index of an input feature by name (−1 if none). */
  inputIndex(name: string): number {
    return this.inputNames.indexOf(name);
  }
  outputIndex(name: string): number {
    return this.outputNames.indexOf(name);
  }

  /** Number of weights, biases and other trainable values. */
  get parameterCount(): number {
    let n = 0;
    for (const nd of this.nodes) if (nd.impl) for (const p of nd.impl.params) n += p.length;
    return n;
  }

  /** The trainable parameter arrays, live: change them in place, then call parametersChanged(). */
  parameters(): ParamRef[] {
    const out: ParamRef[] = [];
    for (const nd of this.nodes) if (nd.impl) nd.impl.params.forEach((values, index) => out.push({ node: nd.name, index, values }));
    return out;
  }

  parametersChanged(): void {
    for (const nd of this.nodes) nd.impl?.paramsChanged?.();
  }

  /** Summary of the layers for `inspect`. */
  layers(): { name: string; type: string; inputs: string[]; width: number; params: number }[] {
    return this.nodes.map((nd) => ({
      name: nd.name,
      type: nd.impl ? (nd.impl.type === 'unary' ? (nd.impl as unknown as { fn: { name: string } }).fn.name : nd.impl.type) : 'input',
      inputs: nd.inputs.map((i) => this.nodes[i].name),
      width: nd.width,
      params: nd.impl ? nd.impl.params.reduce((a, p) => a + p.length, 0) : 0,
    }));
  }

  private checkRows(X: Float64Array, rows: number, what: string, width = this.nIn): void {
    if (!Number.isInteger(rows) || rows < 0) {
      throw new NetinvertError('bad_argument', `${what}: rows must be a non-negative integer (got ${rows})`);
    }
    if (X.length < rows * width) {
      throw new NetinvertError(
        'bad_argument',
        `${what}: expected ${rows} rows × ${width} values = ${rows * width}, got an array of ${X.length}`,
      );
    }
  }

  /** Copy the input columns of X into each input node's buffer. */
  private loadInputs(X: Float64Array, rows: number, bufs: Buffers): void {
    const nIn = this.nIn;
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (nd.impl) continue;
      const w = nd.width,
        off = nd.inputOffset,
        b = bufs.get(n, rows * w);
      for (let r = 0; r < rows; r++) for (let i = 0; i < w; i++) b[r * w + i] = X[r * nIn + off + i];
    }
  }

  private runForward(X: Float64Array, rows: number): void {
    this.loadInputs(X, rows, this.vals);
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (!nd.impl) continue;
      const ins = this.argA[n],
        src = nd.inputs;
      for (let a = 0; a < src.length; a++) ins[a] = this.vals.get(src[a], 0);
      nd.impl.forward(ins, this.vals.get(n, rows * nd.width), rows);
    }
  }

  private gatherOutputs(bufs: Buffers, rows: number, out: Float64Array): void {
    const m = this.nOut;
    for (let o = 0; o < m; o++) {
      const { node, pos } = this.outputMap[o];
      const w = this.nodes[node].width,
        b = bufs.get(node, 0);
      for (let r = 0; r < rows; r++) out[r * m + o] = b[r * w + pos];
    }
  }

  /** Outputs for a batch of points: rows × nOut. */
  evaluate(X: Float64Array, rows: number, out?: Float64Array): Float64Array {
    this.checkRows(X, rows, 'evaluate');
    const Y = out ?? new Float64Array(rows * this.nOut);
    this.runForward(X, rows);
    this.gatherOutputs(this.vals, rows, Y);
    return Y;
  }

  private resolveSubsets(opts: { wrt?: readonly number[]; of?: readonly number[] }): {
    wrt: readonly number[];
    of: readonly number[];
  } {
    const wrt = opts.wrt ?? this.allIn;
    const of = opts.of ?? this.allOut;
    if (wrt !== this.allIn) this.checkIndices(wrt, of);
    else if (of !== this.allOut) this.checkIndices([], of);
    return { wrt, of };
  }

  private checkIndices(wrt: readonly number[], of: readonly number[]): void {
    for (const j of wrt) {
      if (!Number.isInteger(j) || j < 0 || j >= this.nIn) {
        throw new NetinvertError('bad_argument', `jacobian: input index ${j} is outside 0..${this.nIn - 1}`);
      }
    }
    for (const o of of) {
      if (!Number.isInteger(o) || o < 0 || o >= this.nOut) {
        throw new NetinvertError('bad_argument', `jacobian: output index ${o} is outside 0..${this.nOut - 1}`);
      }
    }
  }

  /** Which nodes depend on the chosen input features. */
  private dependence(wrt: readonly number[]): Uint8Array {
    if (wrt === this.allIn) return (this.depAll ??= this.computeDependence(wrt, new Uint8Array(this.nodes.length)));
    return this.computeDependence(wrt, this.depScratch);
  }

  private computeDependence(wrt: readonly number[], dep: Uint8Array): Uint8Array {
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (!nd.impl) {
        let d = 0;
        for (const j of wrt) if (j >= nd.inputOffset && j < nd.inputOffset + nd.width) d = 1;
        dep[n] = d;
      } else {
        let d = 0;
        for (const i of nd.inputs) d |= dep[i];
        dep[n] = d;
      }
    }
    return dep;
  }

  /**
   * Exact Jacobian ∂y[of]/∂x[wrt] at every point: rows × m × k. Reverse mode when
   * m < k (one backward sweep per output), forward mode otherwise (one tangent per unknown);
   * both sweep the whole batch at once.
   */
  jacobian(X: Float64Array, rows: number, opts: JacobianOptions = {}): { J: Float64Array; Y: Float64Array } {
    this.checkRows(X, rows, 'jacobian');
    const { wrt, of } = this.resolveSubsets(opts);
    const k = wrt.length,
      m = of.length;
    const J = opts.out ?? new Float64Array(rows * m * k);
    if (J.length < rows * m * k) throw new NetinvertError('bad_argument', `jacobian: out must hold ${rows * m * k} values`);
    const Y = opts.values ?? new Float64Array(rows * this.nOut);
    this.runForward(X, rows);
    this.gatherOutputs(this.vals, rows, Y);
    const mode = opts.mode === 'forward' || opts.mode === 'reverse' ? opts.mode : m < k ? 'reverse' : 'forward';
    const dep = this.dependence(wrt);
    if (mode === 'forward') this.forwardMode(rows, wrt, of, dep, J);
    else this.reverseMode(rows, wrt, of, dep, J);
    return { J, Y };
  }

  private forwardMode(rows: number, wrt: readonly number[], of: readonly number[], dep: Uint8Array, J: Float64Array): void {
    const k = wrt.length,
      m = of.length;
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (!dep[n]) continue;
      const w = nd.width;
      const t = this.tans.get(n, rows * k * w);
      if (!nd.impl) {
        t.fill(0, 0, rows * k * w);
        for (let j = 0; j < k; j++) {
          const p = wrt[j] - nd.inputOffset;
          if (p < 0 || p >= w) continue;
          for (let r = 0; r < rows; r++) t[(r * k + j) * w + p] = 1;
        }
        continue;
      }
      const ins = this.argA[n],
        tIns = this.argB[n] as Float64Array[],
        src = nd.inputs;
      for (let a = 0; a < src.length; a++) {
        const i = src[a];
        ins[a] = this.vals.get(i, 0);
        tIns[a] = dep[i] ? this.tans.get(i, 0) : this.zeroBuf(rows * k * this.nodes[i].width);
      }
      nd.impl.jvp(ins, this.vals.get(n, 0), tIns, t, rows, k);
    }
    for (let o = 0; o < m; o++) {
      const { node, pos } = this.outputMap[of[o]];
      const w = this.nodes[node].width;
      const t = dep[node] ? this.tans.get(node, 0) : null;
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < k; j++) J[(r * m + o) * k + j] = t ? t[(r * k + j) * w + pos] : 0;
    }
  }

  private reverseMode(rows: number, wrt: readonly number[], of: readonly number[], dep: Uint8Array, J: Float64Array): void {
    const k = wrt.length,
      m = of.length;
    const hasG = this.hasG;
    hasG.fill(0);
    // seed: direction o is the unit cotangent on output feature of[o]
    for (let o = 0; o < m; o++) {
      const { node, pos } = this.outputMap[of[o]];
      if (!dep[node]) continue;
      const w = this.nodes[node].width;
      const g = this.tans.get(node, rows * m * w);
      if (!hasG[node]) {
        g.fill(0, 0, rows * m * w);
        hasG[node] = 1;
      }
      for (let r = 0; r < rows; r++) g[(r * m + o) * w + pos] += 1;
    }
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const nd = this.nodes[n];
      if (!nd.impl || !hasG[n]) continue;
      const ins = this.argA[n],
        gIns = this.argB[n],
        acc = this.argAcc[n],
        dup = this.dup[n],
        src = nd.inputs;
      for (let a = 0; a < src.length; a++) {
        const i = src[a];
        ins[a] = this.vals.get(i, 0);
        gIns[a] = dep[i] ? this.tans.get(i, rows * m * this.nodes[i].width) : null;
        // the same node twice as input (x*x): the second share must accumulate onto the first
        acc[a] = hasG[i] === 1 || dup[a];
      }
      const va = this.vjpArgs[n];
      va.ins = ins;
      va.y = this.vals.get(n, 0);
      va.gOut = this.tans.get(n, 0);
      va.gIns = gIns;
      va.accumulate = acc;
      va.rows = rows;
      va.k = m;
      nd.impl.vjp(va);
      for (let a = 0; a < src.length; a++) if (dep[src[a]]) hasG[src[a]] = 1;
    }
    J.fill(0, 0, rows * m * k);
    for (let j = 0; j < k; j++) {
      const f = wrt[j];
      for (let n = 0; n < this.nodes.length; n++) {
        const nd = this.nodes[n];
        if (nd.impl || !hasG[n] || f < nd.inputOffset || f >= nd.inputOffset + nd.width) continue;
        const w = nd.width,
          p = f - nd.inputOffset,
          g = this.tans.get(n, 0);
        for (let r = 0; r < rows; r++) for (let o = 0; o < m; o++) J[(r * m + o) * k + j] = g[(r * m + o) * w + p];
      }
    }
  }

  private zeroBuf(n: number): Float64Array {
    const z = this.zeros.get(0, n);
    return z;
  }

  /**
   * Gradients of Σ_rows gOut·y with respect to every parameter (for training): the returned
   * arrays line up with parameters(). gOut is rows × nOut.
   */
  parameterGradient(X: Float64Array, rows: number, gOut: Float64Array, into?: Float64Array[]): Float64Array[] {
    this.checkRows(X, rows, 'parameterGradient');
    this.checkRows(gOut, rows, 'parameterGradient (gOut)', this.nOut);
    this.runForward(X, rows);
    const grads = into ?? this.parameters().map((p) => new Float64Array(p.values.length));
    for (const g of grads) g.fill(0);
    const hasG = this.hasG;
    hasG.fill(0);
    const nOut = this.nOut;
    for (let o = 0; o < nOut; o++) {
      const { node, pos } = this.outputMap[o];
      const w = this.nodes[node].width;
      const g = this.tans.get(node, rows * w);
      if (!hasG[node]) {
        g.fill(0, 0, rows * w);
        hasG[node] = 1;
      }
      for (let r = 0; r < rows; r++) g[r * w + pos] += gOut[r * nOut + o];
    }
    // parameter arrays in node order
    const offsets: number[] = [];
    let q = 0;
    for (const nd of this.nodes) {
      offsets.push(q);
      if (nd.impl) q += nd.impl.params.length;
    }
    const acc: boolean[] = [];
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const nd = this.nodes[n];
      if (!nd.impl || !hasG[n]) continue;
      const ins = nd.inputs.map((i) => this.vals.get(i, 0));
      const gOutN = this.tans.get(n, 0);
      if (nd.impl.params.length && nd.impl.vjpParams) {
        nd.impl.vjpParams(ins, this.vals.get(n, 0), gOutN, grads.slice(offsets[n], offsets[n] + nd.impl.params.length), rows);
      }
      const gIns = nd.inputs.map((i) => (this.nodes[i].impl ? this.tans.get(i, rows * this.nodes[i].width) : null));
      acc.length = 0;
      for (const i of nd.inputs) acc.push(hasG[i] === 1);
      nd.impl.vjp({ ins, y: this.vals.get(n, 0), gOut: gOutN, gIns, accumulate: dedupeAcc(nd.inputs, acc), rows, k: 1 });
      for (const i of nd.inputs) if (this.nodes[i].impl) hasG[i] = 1;
    }
    return grads;
  }

  private runBounds(lo: Float64Array, hi: Float64Array, rows: number): void {
    this.loadInputs(lo, rows, this.lo);
    this.loadInputs(hi, rows, this.hi);
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (!nd.impl) continue;
      const L = nd.inputs.map((i) => this.lo.get(i, 0)),
        H = nd.inputs.map((i) => this.hi.get(i, 0));
      nd.impl.bounds(L, H, this.lo.get(n, rows * nd.width), this.hi.get(n, rows * nd.width), rows);
    }
  }

  private checkBox(lo: Float64Array, hi: Float64Array, rows: number, what: string): void {
    this.checkRows(lo, rows, what);
    this.checkRows(hi, rows, what);
    const n = rows * this.nIn;
    for (let i = 0; i < n; i++) {
      if (lo[i] > hi[i]) {
        throw new NetinvertError(
          'bad_argument',
          `${what}: box ${Math.floor(i / this.nIn)} has lower bound ${lo[i]} above upper bound ${hi[i]} for input "${this.inputNames[i % this.nIn]}"`,
        );
      }
    }
  }

  /**
   * Sound output bounds for a batch of input boxes (rows × nIn each for lo and hi): every
   * output of every point inside box r lies in [lo, hi] of row r. Rounded outward.
   */
  bounds(lo: Float64Array, hi: Float64Array, rows: number): IntervalResult {
    this.checkBox(lo, hi, rows, 'bounds');
    this.runBounds(lo, hi, rows);
    const oLo = new Float64Array(rows * this.nOut),
      oHi = new Float64Array(rows * this.nOut);
    this.gatherOutputs(this.lo, rows, oLo);
    this.gatherOutputs(this.hi, rows, oHi);
    return { lo: oLo, hi: oHi };
  }

  /**
   * Sound enclosure of the Jacobian ∂y[of]/∂x[wrt] over each box: rows × m × k intervals.
   * Interval forward mode: each op's derivative is bounded over its input box (unary ops use
   * the range of f' on the pre-activation interval).
   */
  jacobianBounds(
    lo: Float64Array,
    hi: Float64Array,
    rows: number,
    opts: { wrt?: readonly number[]; of?: readonly number[] } = {},
  ): IntervalResult & { valueLo: Float64Array; valueHi: Float64Array } {
    this.checkBox(lo, hi, rows, 'jacobianBounds');
    const { wrt, of } = this.resolveSubsets(opts);
    const k = wrt.length,
      m = of.length;
    this.runBounds(lo, hi, rows);
    const dep = this.dependence(wrt);
    for (let n = 0; n < this.nodes.length; n++) {
      const nd = this.nodes[n];
      if (!dep[n]) continue;
      const w = nd.width,
        size = rows * k * w;
      const tl = this.tLo.get(n, size),
        th = this.tHi.get(n, size);
      if (!nd.impl) {
        tl.fill(0, 0, size);
        th.fill(0, 0, size);
        for (let j = 0; j < k; j++) {
          const p = wrt[j] - nd.inputOffset;
          if (p < 0 || p >= w) continue;
          for (let r = 0; r < rows; r++) tl[(r * k + j) * w + p] = th[(r * k + j) * w + p] = 1;
        }
        continue;
      }
      const L = nd.inputs.map((i) => this.lo.get(i, 0)),
        H = nd.inputs.map((i) => this.hi.get(i, 0));
      const TL = nd.inputs.map((i) => (dep[i] ? this.tLo.get(i, 0) : this.zeroBuf(rows * k * this.nodes[i].width)));
      const TH = nd.inputs.map((i) => (dep[i] ? this.tHi.get(i, 0) : this.zeroBuf(rows * k * this.nodes[i].width)));
      nd.impl.jvpBounds({ lo: L, hi: H, yLo: this.lo.get(n, 0), yHi: this.hi.get(n, 0), tLo: TL, tHi: TH, tOutLo: tl, tOutHi: th, rows, k });
    }
    const jl = new Float64Array(rows * m * k),
      jh = new Float64Array(rows * m * k);
    for (let o = 0; o < m; o++) {
      const { node, pos } = this.outputMap[of[o]];
      if (!dep[node]) continue;
      const w = this.nodes[node].width;
      const tl = this.tLo.get(node, 0),
        th = this.tHi.get(node, 0);
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < k; j++) {
          jl[(r * m + o) * k + j] = tl[(r * k + j) * w + pos];
          jh[(r * m + o) * k + j] = th[(r * k + j) * w + pos];
        }
    }
    const valueLo = new Float64Array(rows * this.nOut),
      valueHi = new Float64Array(rows * this.nOut);
    this.gatherOutputs(this.lo, rows, valueLo);
    this.gatherOutputs(this.hi, rows, valueHi);
    return { lo: jl, hi: jh, valueLo, valueHi };
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** When a node reads the same input twice, only the first write may overwrite. */
function dedupeAcc(inputs: number[], acc: boolean[]): boolean[] {
  for (let a = 1; a < inputs.length; a++) for (let b = 0; b < a; b++) if (inputs[a] === inputs[b]) acc[a] = true;
  return acc;
}

/** Build a Network from a graph definition (validates shapes, names and weights). */
export function network(def: GraphDef): Network {
  return new Network(def);
}
