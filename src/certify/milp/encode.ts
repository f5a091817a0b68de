/**
 * The exact MILP encoding of a piecewise-linear network (Tjeng, Xiao & Tedrake, "Evaluating
 * robustness of neural networks with mixed integer programming", ICLR 2019).
 *
 * Every tensor feature becomes an affine expression c0 + Σ cⱼ·xⱼ over MILP columns: linear ops
 * (dense, affine, concat, gather, reshape, add/sub, scaling by constants) only compose
 * expressions and add no column (each op's encoding is its milp facet, graph/ops/*.ts; this file
 * is the driver and the big-M rows). Every supported activation is written as
 *
 *     f(x) = c + a·x + Σᵢ sᵢ·relu(pᵢ·x + qᵢ)            (exact for every x)
 *
 * and each relu term w ↦ relu(w) with bounds L ≤ w ≤ U gets the big-M encoding
 *
 *     y ≥ w,   y ≤ w − L·(1 − δ),   y ≤ U·δ,   0 ≤ y ≤ U,   δ ∈ {0, 1}
 *
 * unless its state never changes (U ≤ 0: relu = 0; L ≥ 0: relu = w), which costs no binary.
 * L and U come from interval arithmetic over the columns' bounds (outward rounded), tightened by
 * the caller's LP-based bound tightening where it can.
 */
import { NetinvertError } from '../../errors.ts';
import { Network } from '../../graph/network.ts';
import { PWL_UNARY, type MilpStep } from '../../graph/ops/pwl.ts';
import { pwlBlocker } from '../../graph/ops/types.ts';
import { gamma, nextDown, nextUp } from '../../graph/round.ts';
import type { GraphDef, NodeDef } from '../../graph/types.ts';
import type { ConstraintRows } from '../../problem/constraints.ts';

/** c0 + Σ coefs[k]·x[cols[k]], columns ascending and distinct. */
export interface LinExpr {
  c0: number;
  cols: number[];
  coefs: number[];
}

export type ColumnRole = 'input' | 'relu' | 'binary' | 'aux';

/** How a column's value follows from earlier columns at a network point (for MIP starts). */
export type ColumnDef = { kind: 'relu' | 'step' | 'expr'; e: LinExpr } | null;

/**
 * Relative widening of every interval bound on top of the dot-product rounding bound γₙ: covers
 * the rounding made while composing the coefficients of a few linear layers into one expression.
 */
const COMPOSE_REL = 1e-15;

/** An expression with more terms than this is replaced by a column and an equality row. */
export const MAX_INLINE_TERMS = 64;

export interface MilpTolerances {
  /** HiGHS primal feasibility tolerance: every row may be missed by this much. */
  primal: number;
  /** HiGHS integrality tolerance: a binary may sit this far from 0 or 1. */
  integrality: number;
}

/** The MILP under construction: columns with bounds, rows in CSR form. */
export class MilpBuilder {
  readonly colLo: number[] = [];
  readonly colHi: number[] = [];
  readonly colRole: ColumnRole[] = [];
  /**
   * How far the MILP value of a column may sit from the network quantity it stands for, when
   * HiGHS meets rows and integrality only within its tolerances (used by the proof margin).
   */
  readonly colErr: number[] = [];
  readonly colDef: ColumnDef[] = [];
  /** Columns HiGHS must keep integral besides the 'binary' ones (integer and one-hot unknowns, choice indicators). */
  readonly integerCols = new Set<number>();
  readonly rowLo: number[] = [];
  readonly rowHi: number[] = [];
  readonly rowStart: number[] = [0];
  readonly rowIdx: number[] = [];
  readonly rowVal: number[] = [];
  private acc = new Float64Array(64);
  private mark = new Int32Array(64);
  private stamp = 0;

  constructor(readonly tol: MilpTolerances) {}

  get numCols(): number {
    return this.colLo.length;
  }
  get numRows(): number {
    return this.rowLo.length;
  }

  addCol(lo: number, hi: number, role: ColumnRole, err = 0, def: ColumnDef = null): number {
    this.colLo.push(lo);
    this.colHi.push(hi);
    this.colRole.push(role);
    this.colErr.push(err);
    this.colDef.push(def);
    return this.colLo.length - 1;
  }

  /** Value of an expression given column values. */
  static value(e: LinExpr, x: ArrayLike<number>): number {
    let v = e.c0;
    for (let k = 0; k < e.cols.length; k++) v += e.coefs[k] * x[e.cols[k]];
    return v;
  }

  /**
   * Every column's value at a network point: the first columns (the unknowns) from u, the
   * others from their definitions; columns without one are left at 0 for the caller to fill.
   */
  columnValues(u: ArrayLike<number>): Float64Array {
    const x = new Float64Array(this.numCols);
    for (let j = 0; j < x.length; j++) {
      const d = this.colDef[j];
      let v: number;
      if (this.colRole[j] === 'input') v = u[j];
      else if (!d) continue;
      else {
        const w = MilpBuilder.value(d.e, x);
        v = d.kind === 'relu' ? Math.max(0, w) : d.kind === 'step' ? (w > 0 ? 1 : 0) : w;
      }
      x[j] = Math.min(this.colHi[j], Math.max(this.colLo[j], v));
    }
    return x;
  }

  /** lo ≤ Σ coefs·x[cols] ≤ hi (cols distinct). */
  addRow(lo: number, hi: number, cols: number[], coefs: number[]): number {
    for (let k = 0; k < cols.length; k++) {
      if (coefs[k] === 0) continue;
      this.rowIdx.push(cols[k]);
      this.rowVal.push(coefs[k]);
    }
    this.rowLo.push(lo);
    this.rowHi.push(hi);
    this.rowStart.push(this.rowIdx.length);
    return this.rowLo.length - 1;
  }

  /** lo ≤ expr + Σ extra ≤ hi, the extra columns being new (not in expr). */
  addExprRow(lo: number, hi: number, e: LinExpr, sign: 1 | -1, extraCols: number[], extraCoefs: number[]): number {
    const cols = e.cols.concat(extraCols);
    const coefs = e.coefs.map((c) => sign * c).concat(extraCoefs);
    const c0 = sign * e.c0;
    return this.addRow(lo === -Infinity ? lo : lo - c0, hi === Infinity ? hi : hi - c0, cols, coefs);
  }

  static constant(c: number): LinExpr {
    return { c0: c, cols: [], coefs: [] };
  }

  static column(j: number): LinExpr {
    return { c0: 0, cols: [j], coefs: [1] };
  }

  /** c + Σ aₖ·eₖ, with exact zero coefficients dropped. */
  combine(parts: readonly (readonly [number, LinExpr])[], c: number): LinExpr {
    const n = this.numCols;
    if (this.acc.length < n) {
      const size = Math.max(n, this.acc.length * 2);
      this.acc = new Float64Array(size);
      this.mark = new Int32Array(size);
      this.stamp = 0;
    }
    const stamp = ++this.stamp,
      acc = this.acc,
      mark = this.mark;
    const touched: number[] = [];
    let c0 = c;
    for (const [a, e] of parts) {
      if (a === 0) continue;
      c0 += a * e.c0;
      for (let k = 0; k < e.cols.length; k++) {
        const j = e.cols[k];
        if (mark[j] !== stamp) {
          mark[j] = stamp;
          acc[j] = 0;
          touched.push(j);
        }
        acc[j] += a * e.coefs[k];
      }
    }
    touched.sort((x, y) => x - y);
    const cols: number[] = [],
      coefs: number[] = [];
    for (const j of touched) {
      if (acc[j] !== 0) {
        cols.push(j);
        coefs.push(acc[j]);
      }
    }
    return { c0, cols, coefs };
  }

  /** Sound bounds of an expression over the columns' boxes, rounded outward. */
  interval(e: LinExpr): [number, number] {
    let lo = e.c0,
      hi = e.c0,
      mag = Math.abs(e.c0);
    for (let k = 0; k < e.cols.length; k++) {
      const c = e.coefs[k],
        j = e.cols[k];
      const a = c * this.colLo[j],
        b = c * this.colHi[j];
      if (a < b) {
        lo += a;
        hi += b;
      } else {
        lo += b;
        hi += a;
      }
      mag += Math.max(Math.abs(a), Math.abs(b));
    }
    const slack = (gamma(e.cols.length + 2) + COMPOSE_REL) * mag;
    return [nextDown(lo - slack), nextUp(hi + slack)];
  }

  /** Bound on |MILP value − network value| of an expression (Σ |cⱼ|·errⱼ). */
  error(e: LinExpr): number {
    let s = 0;
    for (let k = 0; k < e.cols.length; k++) s += Math.abs(e.coefs[k]) * this.colErr[e.cols[k]];
    return s;
  }

  /** Whether an expression reads only input columns (its interval bound is then exact). */
  inputOnly(e: LinExpr): boolean {
    for (const j of e.cols) if (this.colRole[j] !== 'input') return false;
    return true;
  }

  /** Replace an expression by a new column m (bounds lo..hi) tied to it by the row m − e = 0. */
  materialize(e: LinExpr, lo?: number, hi?: number): LinExpr {
    const [l, h] = this.interval(e);
    const m = this.addCol(Math.max(l, lo ?? -Infinity), Math.min(h, hi ?? Infinity), 'aux', this.error(e) + this.tol.primal, { kind: 'expr', e });
    this.addExprRow(0, 0, e, -1, [m], [1]);
    return MilpBuilder.column(m);
  }
}

// ---------------------------------------------------------------------------------------------
// Piecewise-linear activations as sums of relu terms
// ---------------------------------------------------------------------------------------------

/** Names of the nodes the given graph nodes (or inputs) depend on, themselves included. */
export function dependencies(graph: GraphDef, roots: readonly string[]): Set<string> {
  const byName = new Map(graph.nodes.map((nd) => [nd.name, nd]));
  const seen = new Set<string>();
  const stack = roots.slice();
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const nd = byName.get(n);
    if (nd) stack.push(...nd.inputs);
  }
  return seen;
}

/**
 * Whether the MILP can encode the net exactly: every node is linear (dense, affine, concat,
 * gather, reshape, add/sub of tensors, add/sub/mul/div by constants) or a piecewise-linear
 * activation (relu, leaky_relu, abs, hard_tanh, clip, hard_sigmoid, max_const, min_const,
 * identity). Each op answers for itself (OpImpl.milp / nonPwl, graph/ops/types.ts pwlBlocker).
 * With `outputs` (node names), only the nodes those outputs depend on are checked; the first
 * offending node in the graph's listed order is named. A GraphDef is compiled first (pass the
 * model's network to skip that).
 */
export function isPiecewiseLinear(
  graph: GraphDef | Network,
  outputs?: readonly string[],
): { ok: true } | { ok: false; node: string; op: string } {
  const net = graph instanceof Network ? graph : new Network(graph);
  const need = outputs ? dependencies(net.def, outputs) : null;
  const impl = new Map(net.nodes.map((nd) => [nd.name, nd.impl]));
  for (const nd of net.def.nodes) {
    if (need && !need.has(nd.name)) continue;
    const op = impl.get(nd.name);
    const why = op ? pwlBlocker(op) : null;
    if (why !== null) return { ok: false, node: nd.name, op: why };
  }
  return { ok: true };
}

export function assertPiecewiseLinear(graph: GraphDef | Network, outputs?: readonly string[]): void {
  const r = isPiecewiseLinear(graph, outputs);
  if (!r.ok) {
    throw new NetinvertError(
      'unsupported_op',
      `node "${r.node}": op "${r.op}" is not piecewise-linear, so the exact MILP cannot encode it; ` +
        `use branch-and-bound (certify) instead, or a net built from ${PWL_UNARY.join(', ')} and linear layers`,
      { node: r.node, op: r.op },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The graph walk
// ---------------------------------------------------------------------------------------------

/** A pre-activation whose bounds the caller may tighten (LP-based bound tightening). */
export interface PreActivation {
  expr: LinExpr;
  lo: number;
  hi: number;
}

export interface EncodeOptions {
  /** Input feature indices of the unknowns; they become columns 0…n−1 with bounds lo..hi. */
  unknowns: readonly number[];
  lo: ArrayLike<number>;
  hi: ArrayLike<number>;
  /**
   * Per unknown, how far its column may sit from the value the network is evaluated at (default
   * τp): more for a discrete unknown, whose reported value is HiGHS's rounded to its choice.
   */
  inputErr?: ArrayLike<number>;
  /** Full input vector: the known inputs' values. */
  base: ArrayLike<number>;
  /** Names of the graph nodes (or inputs) whose values are needed. */
  roots: readonly string[];
  /**
   * Linear constraints among the unknowns (problem/constraints.ts constraintRows): each one native
   * row over the unknowns' columns, lo − tol ≤ a·u ≤ hi + tol (widened by its tolerance, so that
   * every point meeting it is in the MILP's feasible set), added before any bound tightening.
   */
  constraints?: ConstraintRows;
  /**
   * Called once per activation node, before its terms are encoded, with the pre-activations that
   * straddle a kink and read more than input columns. It may shrink their lo/hi in place (only to
   * values that remain sound bounds).
   */
  tighten?: (pre: PreActivation[]) => void;
}

export interface BinaryInfo {
  /** Column of δ. */
  col: number;
  /** Column of y = relu(w). */
  y: number;
  /** Bounds of w used for M. */
  lo: number;
  hi: number;
  node: string;
}

export interface Encoding {
  builder: MilpBuilder;
  /** The value expressions of every encoded node and input, by name. */
  values: Map<string, LinExpr[]>;
  binaries: BinaryInfo[];
  /** Relu terms (kinks) encoded, stable ones included. */
  neurons: number;
  /** Relu terms whose state never changes over the box: no binary. */
  stableNeurons: number;
}

function nodeOrder(graph: GraphDef, need: Set<string>): NodeDef[] {
  const done = new Set(graph.inputs.map((i) => i.name));
  const pending = graph.nodes.filter((nd) => need.has(nd.name));
  const order: NodeDef[] = [];
  while (pending.length) {
    const k = pending.findIndex((nd) => nd.inputs.every((i) => done.has(i)));
    if (k < 0) throw new NetinvertError('graph_cycle', `the graph has a cycle through "${pending[0].name}"`, { node: pending[0].name });
    const [nd] = pending.splice(k, 1);
    done.add(nd.name);
    order.push(nd);
  }
  return order;
}

/**
 * Encode the nodes that `roots` (node or input names) depend on: a driver over network.nodes
 * (read-only) that calls each op's milp facet (graph/ops/*.ts); the relu terms of piecewise-
 * linear activations get their big-M rows here. The graph must have passed isPiecewiseLinear.
 */
export function encodeGraph(net: Network, builder: MilpBuilder, opts: EncodeOptions): Encoding {
  const values = new Map<string, LinExpr[]>();
  const binaries: BinaryInfo[] = [];
  let neurons = 0,
    stableNeurons = 0;
  const tol = builder.tol;
  const nodes = net.nodes;

  // unknowns first: column j is unknown j
  const unknownCol = new Map<number, number>();
  opts.unknowns.forEach((f, j) => unknownCol.set(f, builder.addCol(opts.lo[j], opts.hi[j], 'input', opts.inputErr ? opts.inputErr[j] : tol.primal)));
  const cr = opts.constraints;
  if (cr) {
    for (let k = 0; k < cr.k; k++) {
      const cols: number[] = [],
        coefs: number[] = [];
      for (let j = 0; j < cr.n; j++) {
        const a = cr.A[k * cr.n + j];
        if (a === 0) continue;
        cols.push(unknownCol.get(opts.unknowns[j])!);
        coefs.push(a);
      }
      builder.addRow(cr.lo[k] === -Infinity ? -Infinity : nextDown(cr.lo[k] - cr.tol[k]), cr.hi[k] === Infinity ? Infinity : nextUp(cr.hi[k] + cr.tol[k]), cols, coefs);
    }
  }
  for (const nd of nodes) {
    if (nd.impl) continue;
    const exprs: LinExpr[] = [];
    for (let i = 0; i < nd.width; i++) {
      const col = unknownCol.get(nd.inputOffset + i);
      exprs.push(col === undefined ? MilpBuilder.constant(opts.base[nd.inputOffset + i]) : MilpBuilder.column(col));
    }
    values.set(nd.name, exprs);
  }

  // the nodes the roots depend on, in the order the graph lists them (as ever: column order is
  // part of the MILP HiGHS sees)
  const index = new Map(nodes.map((nd, k) => [nd.name, k]));
  const order = nodeOrder(net.def, dependencies(net.def, opts.roots)).map((d) => index.get(d.name)!);
  const range = new Float64Array(2);
  let node = '';

  /** relu(w) for w in [lo, hi]: an expression, with a binary when the state can change. */
  const reluTerm = (w: LinExpr, lo: number, hi: number): { expr: LinExpr; delta: number } => {
    neurons++;
    if (hi <= 0) {
      stableNeurons++;
      return { expr: MilpBuilder.constant(0), delta: -1 };
    }
    if (lo >= 0) {
      stableNeurons++;
      return { expr: w, delta: -1 };
    }
    const err = builder.error(w) + 2 * tol.primal + tol.integrality * Math.max(hi, -lo);
    const y = builder.addCol(0, hi, 'relu', err, { kind: 'relu', e: w });
    const d = builder.addCol(0, 1, 'binary', 0, { kind: 'step', e: w });
    builder.addExprRow(0, Infinity, w, -1, [y], [1]); //                    y − w ≥ 0
    builder.addExprRow(-Infinity, -lo, w, -1, [y, d], [1, -lo]); //         y − w − L·δ ≤ −L
    builder.addRow(-Infinity, 0, [y, d], [1, -hi]); //                      y − U·δ ≤ 0
    binaries.push({ col: d, y, lo, hi, node });
    return { expr: MilpBuilder.column(y), delta: d };
  };

  const step: MilpStep<LinExpr> = {
    ins: [],
    combine: (parts, c) => builder.combine(parts, c),
    activation: (x, form, fnRange) => {
      // bounds of each pre-activation, tightened by the caller where a kink lies inside
      const pre: PreActivation[] = x.map((e) => {
        const [lo, hi] = builder.interval(e);
        return { expr: e, lo, hi };
      });
      const straddles = (p: PreActivation): boolean =>
        form.terms.some((t) => {
          const [l, h] = termBounds(t.p, t.q, p.lo, p.hi);
          return l < 0 && h > 0;
        });
      const loose = pre.filter((p) => straddles(p) && !builder.inputOnly(p.expr));
      if (loose.length && opts.tighten) opts.tighten(loose);
      return pre.map((p) => {
        const parts: [number, LinExpr][] = [[form.a, p.expr]];
        const deltas: number[] = [];
        for (const t of form.terms) {
          const w = builder.combine([[t.p, p.expr]], t.q);
          const [l, h] = termBounds(t.p, t.q, p.lo, p.hi);
          const r = reluTerm(w, l, h);
          parts.push([t.s, r.expr]);
          deltas.push(r.delta);
        }
        // nested kinks (clip): the upper kink active implies the lower one active, δ₂ ≤ δ₁
        if (form.ordered && deltas[0] >= 0 && deltas[1] >= 0) builder.addRow(-Infinity, 0, [deltas[0], deltas[1]], [-1, 1]);
        let e = builder.combine(parts, form.c);
        if (form.terms.length > 1 && e.cols.length > 0) {
          // a bounded activation: a column carries its true range, tighter than the sum's
          fnRange(p.lo, p.hi, range);
          e = builder.materialize(e, range[0], range[1]);
        } else if (e.cols.length > MAX_INLINE_TERMS) e = builder.materialize(e);
        return e;
      });
    },
  };

  for (const k of order) {
    const nd = nodes[k];
    if (!nd.impl) continue;
    node = nd.name;
    step.ins = nd.inputs.map((i) => values.get(nodes[i].name)!);
    const blocker = pwlBlocker(nd.impl);
    const out = blocker === null && nd.impl.milp ? nd.impl.milp(step) : null;
    if (!out) {
      const op = blocker ?? nd.impl.type;
      throw new NetinvertError('unsupported_op', `node "${nd.name}": op "${op}" is not piecewise-linear`, { node: nd.name, op });
    }
    values.set(nd.name, out);
  }
  return { builder, values, binaries, neurons, stableNeurons };
}

/** Sound bounds of p·x + q for x in [lo, hi]. */
function termBounds(p: number, q: number, lo: number, hi: number): [number, number] {
  const a = p * lo,
    b = p * hi;
  const l = Math.min(a, b),
    h = Math.max(a, b);
  if (q === 0 && (p === 1 || p === -1)) return [l, h];
  return [nextDown(nextDown(l) + q), nextUp(nextUp(h) + q)];
}

/** For each output feature of the network, in order: the node (or input) it reads and the position. */
export function outputFeatureNodes(net: Network): { node: string; pos: number }[] {
  return net.outputMap.map((m) => ({ node: net.nodes[m.node].name, pos: m.pos }));
}
