/**
 * Exact MILP for piecewise-linear nets (issue 5, item 4), through HiGHS in WebAssembly.
 *
 * 1. Encode the network exactly (encode.ts): big-M per unstable relu term, each M from
 *    interval bounds tightened by LP-based bound tightening (OBBT: min and max of every unstable
 *    pre-activation over the LP relaxation of the layers before it) within a share of the time
 *    limit. Neurons whose state never changes get no binary.
 * 2. Targets become two rows each around a slack column s ≥ 0:
 *        y + s ≥ lo − tol + κ,     y − s ≤ hi + tol − κ
 *    (tol = atol + rtol·|t| for equalities, atol otherwise; κ a hair inside the band, so that a
 *    HiGHS point on its edge still passes the float64 check). Hard constraints: s fixed at 0.
 *    Slack form: minimise s, the worst excess beyond the (shrunk) tolerance band.
 * 3. Solve with HiGHS under the time limit, seeded with the best of a few quasi-random box points
 *    (and options.start) as its first incumbent; fix the binaries of its point and re-solve the LP
 *    with tighter tolerances (exact within that linear piece); then a fresh float64 forward pass
 *    (verifySolution) decides, after a polishing step if the point sits on a band's edge.
 * 4. "Infeasible" from HiGHS is re-measured with the slack form, and counts as proven only under
 *    the margin rule below.
 */
import type { Highs, Model as HighsModel } from 'highs';
import { NetinvertError } from '../../errors.ts';
import { nextUp } from '../../graph/round.ts';
import { distanceUnit, targetTolerance, type Problem } from '../../problem/query.ts';
import { formValue } from '../../problem/targets.ts';
import { constraintRows } from '../../problem/constraints.ts';
import { Polytope } from '../../solve/polytope.ts';
import { halton, PRIMES } from '../../numeric/halton.ts';
import { assertPiecewiseLinear, encodeGraph, MilpBuilder, outputFeatureNodes, type LinExpr, type PreActivation } from './encode.ts';
import { loadHighs, toModelData } from './highs.ts';
import { checkPoint, clampToBox, nearestChoice, snapDiscrete, type MilpDiscrete } from './polish.ts';
import { CHANGE_TOL } from '../../solve/counterfactual.ts';

export { isPiecewiseLinear } from './encode.ts';
export type { MilpDiscrete } from './polish.ts';

export type MilpObjective =
  | { kind: 'feasibility' }
  /** Closest point to problem.reference over the referenced unknowns, in box-width units. */
  | { kind: 'closest'; norm: 'l1' | 'linf' }
  /**
   * The fewest referenced unknowns changed (L0), then the closest such point: one binary zⱼ per
   * referenced unknown with |uⱼ − refⱼ| ≤ Mⱼ·zⱼ, Mⱼ = max(|loⱼ − refⱼ|, |hiⱼ − refⱼ|) from the box,
   * minimising W·Σ zⱼ + dist (W above the largest distance in the box, so fewer changes always win).
   */
  | { kind: 'sparse'; norm: 'l1' | 'linf' }
  /** Smallest or largest value of an output feature over the feasible set. */
  | { kind: 'min' | 'max'; output: string };

export interface MilpResult {
  status: 'solved' | 'infeasible' | 'time-limit' | 'error';
  /** True only when HiGHS finds no point AND the margin clearly exceeds its tolerances (the rule in MARGIN_FACTOR). */
  provenInfeasible: boolean;
  /**
   * In problem.unknowns order. 'solved': the verified argmin / feasible point. 'time-limit': the
   * best verified point found, if any. 'infeasible': the point with the smallest worst excess
   * found (a best compromise; it misses the targets). 'error': a candidate, if any; the message
   * says whether it failed the forward-pass check or is verified but not proven optimal.
   */
  unknowns?: Float64Array;
  /**
   * Recomputed from the forward pass at `unknowns`: min/max: the output's value; closest: the
   * distance (box-width units, L1 or L∞); feasibility: the largest target miss (0 inside).
   */
  objective?: number;
  /**
   * HiGHS's dual bound: min/max: a bound on the output over the feasible set (lower for min,
   * upper for max); closest: a lower bound on the distance; feasibility and 'infeasible': a lower
   * bound on the worst excess beyond tolerance that every input must have. Proven up to HiGHS's
   * tolerances only.
   */
  bound?: number;
  /** Binary variables: relu terms (kinks) whose state can change over the box. */
  binaries: number;
  /** Relu terms (kinks) encoded: one per relu / leaky_relu / abs / max_const / min_const unit, two per clip / hard_tanh / hard_sigmoid. */
  neurons: number;
  /** Relu terms whose state never changes over the box (no binary). */
  stableNeurons: number;
  timeMs: number;
  message: string;
}

export interface MilpOptions {
  /** Seconds for the whole call (bound tightening, the MILP, the re-solves). Required. */
  timeLimit: number;
  /** HiGHS mip_rel_gap for min/max/closest (default 1e-9: solve to optimality). */
  mipRelGap?: number;
  /**
   * A known point (problem.unknowns order), e.g. from the local search: offered to HiGHS as its
   * first incumbent when it meets the targets. Box samples are offered anyway.
   */
  start?: ArrayLike<number>;
  /**
   * Discrete unknowns (issue #11 §2) as native integer columns of the one MILP: an integer → an
   * integer column on ceil(lo)..floor(hi); a categorical input u ∈ {v₁…v_k} → binaries zᵢ with
   * Σzᵢ = 1 and u = Σvᵢzᵢ; a one-hot group → its columns binary with Σ = 1 (Wolsey, Integer
   * Programming, 2nd ed., §1.5: a variable restricted to a finite set). Every reported point has
   * them on their exact values (polish.ts snapDiscrete).
   */
  discrete?: MilpDiscrete;
}

/** HiGHS tolerances for the MILP: primal feasibility of rows, and integrality of binaries. */
const TOL = { primal: 1e-9, integrality: 1e-9 };
/** HiGHS dual feasibility tolerance (reduced costs). */
const DUAL_TOL = 1e-9;
/** Tolerances of the re-solve with the binaries fixed (an LP: tighter is cheap). */
const FIXED_LP_TOL = 1e-10;
/**
 * The margin rule (docs/design.md, Soundness: "MILP. HiGHS works with tolerances…").
 *
 * HiGHS meets every row only within τp = TOL.primal and keeps binaries integral only within
 * τi = TOL.integrality, so the model it solves may disagree with the network, on a targeted
 * output, by up to
 *     E = max over targets of  Σⱼ |cⱼ|·errⱼ + τp
 * where errⱼ is tracked per column while encoding: τp for an unknown (bound violation),
 * err(w) + 2τp + τi·max(U, −L) for the output y of a relu term relu(w), L ≤ w ≤ U (the three
 * big-M rows, each missed by τp, and δ off by τi multiplying M), err(e) + τp for a column tied to
 * an expression e by an equality row. Its dual bound, computed with reduced costs feasible only
 * within τd = DUAL_TOL, may also be off by D = τd·Σⱼ(hiⱼ − loⱼ) over all columns.
 *
 * An "infeasible" is proven only when the slack form's dual bound s_lb — the smallest worst
 * excess beyond the shrunk tolerance band any input can have — satisfies
 *     s_lb − κmax ≥ MARGIN_FACTOR · max(E, D, τp),
 * i.e. every input in the box misses some target by more than its tolerance plus a hundred times
 * the largest disagreement HiGHS's tolerances allow. Otherwise provenInfeasible is false and the
 * branch-and-bound must confirm it.
 */
const MARGIN_FACTOR = 100;
/** Share of the time limit that LP-based bound tightening may use. */
const OBBT_SHARE = 0.25;
/** Quasi-random points of the box evaluated for a first incumbent (Halton, deterministic). */
const START_SAMPLES = 128;

interface Stats {
  binaries: number;
  neurons: number;
  stableNeurons: number;
}

/**
 * Solve feasibility, closest-to-reference (L1/L∞) or min/max of an output over the feasible set
 * exactly, for a piecewise-linear net. Throws NetinvertError for bad input (unsupported_op,
 * unknown_output, bad_query); every other outcome is a status.
 */
export async function solveMilp(problem: Problem, objective: MilpObjective, options: MilpOptions): Promise<MilpResult> {
  const t0 = performance.now();
  const net = problem.model.network;
  if (!options || typeof options.timeLimit !== 'number' || !(options.timeLimit >= 0) || !Number.isFinite(options.timeLimit)) {
    throw new NetinvertError('bad_query', `solveMilp needs a finite time limit in seconds ≥ 0 (got ${String(options?.timeLimit)})`);
  }
  const gap = options.mipRelGap ?? 1e-9;
  if (!(gap >= 0)) throw new NetinvertError('bad_query', `mipRelGap must be ≥ 0 (got ${gap})`);
  const n = problem.unknowns.length;
  if (options.start !== undefined) {
    const st = options.start;
    if (st.length !== n || !Array.from(st).every(Number.isFinite)) {
      throw new NetinvertError('bad_query', `the MILP start must hold ${n} finite numbers, one per unknown (${problem.unknownNames.join(', ')})`);
    }
  }
  let objOutput = -1;
  if (objective.kind === 'min' || objective.kind === 'max') {
    objOutput = net.outputIndex(objective.output);
    if (objOutput < 0) {
      throw new NetinvertError(
        'unknown_output',
        `the MILP objective names output "${objective.output}", which the model does not have; its outputs are: ${net.outputNames.join(', ')}`,
        { output: objective.output },
      );
    }
  } else if (objective.kind === 'closest' || objective.kind === 'sparse') {
    if (!problem.reference || !problem.referenceMask) {
      throw new NetinvertError('bad_query', 'the closest-point MILP needs a reference point (closestTo in the query)');
    }
    if (objective.norm !== 'l1' && objective.norm !== 'linf') {
      throw new NetinvertError('bad_query', `the closest-point MILP supports the l1 and linf norms (got ${String(objective.norm)})`);
    }
  } else if (objective.kind !== 'feasibility') {
    throw new NetinvertError('bad_query', `unknown MILP objective ${JSON.stringify(objective)}`);
  }
  const outNodes = outputFeatureNodes(net);
  const wanted = problem.targetOutputs.slice();
  if (objOutput >= 0) wanted.push(objOutput);
  assertPiecewiseLinear(net, [...new Set(wanted.map((o) => outNodes[o].node))]);

  const stats: Stats = { binaries: 0, neurons: 0, stableNeurons: 0 };
  const finish = (r: Omit<MilpResult, keyof Stats | 'timeMs'>): MilpResult => {
    const out: MilpResult = { ...r, ...stats, timeMs: performance.now() - t0 };
    if (out.bound !== undefined && !Number.isFinite(out.bound)) delete out.bound;
    return out;
  };
  let highs: Highs;
  try {
    highs = await loadHighs();
  } catch (e) {
    return finish({ status: 'error', provenInfeasible: false, message: `could not load HiGHS (highs.wasm): ${errText(e)}` });
  }
  const model = highs.createModel();
  try {
    return new MilpRun(highs, model, problem, objective, { timeLimit: options.timeLimit, gap, t0, objOutput, outNodes, start: options.start, discrete: options.discrete }, stats, finish).solve();
  } catch (e) {
    if (e instanceof NetinvertError) throw e;
    return finish({ status: 'error', provenInfeasible: false, message: `HiGHS failed: ${errText(e)}` });
  } finally {
    model.dispose();
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface RunSettings {
  start?: ArrayLike<number>;
  discrete?: MilpDiscrete;
  timeLimit: number;
  gap: number;
  t0: number;
  objOutput: number;
  outNodes: { node: string; pos: number }[];
}

type Finish = (r: Omit<MilpResult, keyof Stats | 'timeMs'>) => MilpResult;

/** One solveMilp call: the encoding, the HiGHS model and the decisions on its answers. */
class MilpRun {
  private readonly builder = new MilpBuilder(TOL);
  private readonly deadline: number;
  private readonly status: HighsModelStatus;
  private slackCol = -1;
  private sMax = 0;
  private kappaMax = 0;
  /** E of the margin rule: the largest MILP-vs-network disagreement on a targeted output. */
  private outErr = 0;
  private binaryCols = new Int32Array(0);
  private distCols: number[] = [];
  /** --sparse: the indicator column zⱼ per referenced unknown j (−1: it cannot change), and their weight W. */
  private changeCols: number[] = [];
  private changeWeight = 1;
  /** The targets' rows: output expression and the shrunk band lo..hi. */
  private targetRows: { e: LinExpr; lo: number; hi: number; tol: number; t: Problem['targets'][number]; rows: number[] }[] = [];
  /** The objective of the hard solve, kept to restore it after the slack form. */
  private main = { cost: new Float64Array(0), offset: 0, maximize: false };
  private obbtLps = 0;
  private mipNodes = 0;
  /** The discrete columns (integer unknowns, one-hot columns, choice indicators) with their bounds, fixed by fixedPiece. */
  private discreteCols = new Int32Array(0);
  private discreteLo = new Float64Array(0);
  private discreteHi = new Float64Array(0);
  /** Per discrete group (settings order), the column of each choice's indicator. */
  private groupZ: number[][] = [];

  constructor(
    private readonly highs: Highs,
    private readonly model: HighsModel,
    private readonly problem: Problem,
    private readonly objective: MilpObjective,
    private readonly s: RunSettings,
    private readonly stats: Stats,
    private readonly finish: Finish,
  ) {
    this.deadline = s.t0 + s.timeLimit * 1000;
    this.status = highs.constants.modelStatus;
  }

  private secondsLeft(): number {
    return (this.deadline - performance.now()) / 1000;
  }

  /** Run HiGHS for at most `seconds`; its clock is cumulative per model, so reset it first. */
  private run(seconds: number): number {
    this.model.zeroAllClocks();
    this.model.options.set('time_limit', Math.max(0, seconds));
    return this.model.run().modelStatus;
  }

  private runMip(seconds: number): number {
    const st = this.run(seconds);
    this.mipNodes += Number(this.model.info.get('mip_node_count'));
    return st;
  }

  private setTolerances(primal: number, integrality: number, dual: number): void {
    this.model.options.set({
      output_flag: false,
      primal_feasibility_tolerance: primal,
      mip_feasibility_tolerance: integrality,
      dual_feasibility_tolerance: dual,
      small_matrix_value: 1e-12,
    });
  }

  /** OBBT: LP min and max of each pre-activation over the relaxation built so far, widened. */
  private tighten(pre: PreActivation[], until: number): void {
    if (performance.now() >= until) return;
    const { highs, model } = this;
    model.passModel(toModelData(highs, this.builder, { integer: false }));
    this.setTolerances(1e-7, 1e-6, 1e-7);
    const sense = highs.constants.objectiveSense;
    let last: number[] = [];
    for (const p of pre) {
      if (last.length) model.changeColsCost({ kind: 'set', indices: Int32Array.from(last) }, new Float64Array(last.length));
      model.changeColsCost({ kind: 'set', indices: Int32Array.from(p.expr.cols) }, Float64Array.from(p.expr.coefs));
      last = p.expr.cols;
      for (const dir of [sense.minimize, sense.maximize]) {
        const left = (until - performance.now()) / 1000;
        if (left <= 0) return;
        model.changeObjectiveSense(dir);
        const st = this.run(left);
        this.obbtLps++;
        if (st !== this.status.optimal) continue;
        const v = model.getObjectiveValue() + p.expr.c0;
        // an LP optimum is exact only up to HiGHS's tolerances: widen by far more than they allow
        const widen = 1e-6 * (1 + Math.abs(v) + (p.hi - p.lo));
        if (dir === sense.minimize) p.lo = Math.max(p.lo, v - widen);
        else p.hi = Math.min(p.hi, v + widen);
      }
    }
  }

  solve(): MilpResult {
    const { problem, builder, s } = this;
    const obbtUntil = s.t0 + OBBT_SHARE * s.timeLimit * 1000;
    const roots = [...new Set([...problem.targetOutputs, ...(s.objOutput >= 0 ? [s.objOutput] : [])].map((o) => s.outNodes[o].node))];
    const dv = this.discreteBox();
    const enc = encodeGraph(problem.model.network, builder, {
      unknowns: problem.unknowns,
      lo: dv.lo,
      hi: dv.hi,
      inputErr: dv.err,
      base: problem.base,
      roots,
      ...(problem.constraints?.length ? { constraints: constraintRows(problem.constraints, problem.unknowns, problem.base) } : {}),
      tighten: (pre) => this.tighten(pre, obbtUntil),
    });
    this.stats.binaries = enc.binaries.length;
    this.stats.neurons = enc.neurons;
    this.stats.stableNeurons = enc.stableNeurons;
    this.binaryCols = Int32Array.from(enc.binaries.map((b) => b.col));
    this.addDiscrete();
    const outExpr = (o: number): LinExpr => {
      const { node, pos } = s.outNodes[o];
      return enc.values.get(node)![pos];
    };

    // targets around the slack column s
    let sMax = 0;
    const targetRows = this.targetRows;
    for (const t of problem.targets) {
      // a linear form c·y is one native row over the outputs' expressions: Σ cₖ·(expression of yₖ)
      const single = t.terms.length === 1 && t.terms[0].coef === 1;
      const y = single ? outExpr(t.terms[0].output) : builder.combine(t.terms.map((k) => [k.coef, outExpr(k.output)] as const), 0);
      const tol = targetTolerance(t, problem.atol, problem.rtol);
      // the form's distance from the network's value: its own column errors, and (for a combined
      // form) the terms' errors and the rounding of the combination, both counted
      let formErr = builder.error(y);
      if (!single) {
        let mag = 0;
        for (const k of t.terms) {
          const e = outExpr(k.output);
          formErr += Math.abs(k.coef) * builder.error(e);
          const [a, b] = builder.interval(e);
          mag += Math.abs(k.coef) * Math.max(Math.abs(a), Math.abs(b));
        }
        formErr += 4 * Number.EPSILON * (t.terms.length + 2) * mag;
      }
      const err = formErr + TOL.primal;
      const kappa = Math.min(tol / 4, 10 * err);
      this.outErr = Math.max(this.outErr, err);
      this.kappaMax = Math.max(this.kappaMax, kappa);
      const lo = t.lo === -Infinity ? -Infinity : t.lo - tol + kappa;
      const hi = t.hi === Infinity ? Infinity : t.hi + tol - kappa;
      const [yl, yh] = builder.interval(y);
      sMax = Math.max(sMax, lo - yl, yh - hi);
      targetRows.push({ e: y, lo, hi, tol, t, rows: [] });
    }
    this.sMax = nextUp(Math.max(0, sMax) + 1);
    this.slackCol = builder.addCol(0, this.sMax, 'aux');
    for (const r of targetRows) {
      if (r.lo !== -Infinity) r.rows.push(builder.addExprRow(r.lo, Infinity, r.e, 1, [this.slackCol], [1]));
      if (r.hi !== Infinity) r.rows.push(builder.addExprRow(-Infinity, r.hi, r.e, 1, [this.slackCol], [-1]));
    }

    // the objective
    const ob = this.objective;
    const distCols = this.distCols;
    if (ob.kind === 'closest' || ob.kind === 'sparse') this.addDistance(ob.norm, distCols);
    if (ob.kind === 'sparse') this.addChangeIndicators();
    const cost = new Float64Array(builder.numCols);
    let offset = 0;
    let maximize = false;
    const slackMode = ob.kind === 'feasibility';
    if (slackMode) cost[this.slackCol] = 1;
    else if (ob.kind === 'closest' || ob.kind === 'sparse') {
      for (const j of distCols) cost[j] = 1;
      for (const z of this.changeCols) if (z >= 0) cost[z] = this.changeWeight;
    }
    else {
      const y = outExpr(s.objOutput);
      y.cols.forEach((j, k) => (cost[j] = y.coefs[k]));
      offset = y.c0;
      maximize = ob.kind === 'max';
    }
    if (!slackMode) builder.colHi[this.slackCol] = 0;
    this.main = { cost, offset, maximize };

    const left = this.secondsLeft();
    if (left <= 0) return this.timeUp('before the MILP started');
    this.model.passModel(toModelData(this.highs, builder, { integer: true, cost, offset, maximize }));
    this.setTolerances(TOL.primal, TOL.integrality, DUAL_TOL);
    const start = this.startColumns(slackMode);
    if (start) this.model.setSolution({ colValue: start });
    this.model.options.set({ mip_rel_gap: slackMode ? 0 : s.gap, mip_abs_gap: slackMode ? TOL.primal : 0 });
    const st = this.runMip(left);
    return slackMode ? this.afterSlack(st, 'feasibility') : this.afterHard(st);
  }

  /**
   * A first incumbent for HiGHS: the best of the caller's start, the box centre, the reference
   * and START_SAMPLES Halton points of the box, by the objective among those inside the targets'
   * shrunk bands (slack form: the smallest slack). All its columns, from the encoding.
   */
  private startColumns(slackMode: boolean): Float64Array | null {
    const p = this.problem,
      n = p.unknowns.length,
      net = p.model.network;
    const cands: Float64Array[] = [];
    const mid = Float64Array.from(p.lo, (l, j) => 0.5 * (l + p.hi[j]));
    cands.push(mid);
    if (this.s.start) cands.push(Float64Array.from(this.s.start));
    if (p.reference) cands.push(Float64Array.from(p.reference, (r, j) => (p.referenceMask![j] ? r : mid[j])));
    for (let i = 1; i <= START_SAMPLES; i++) {
      cands.push(Float64Array.from(mid, (_, j) => p.lo[j] + (p.hi[j] - p.lo[j]) * halton(i, PRIMES[j % PRIMES.length])));
    }
    const rows = cands.length;
    const X = new Float64Array(rows * net.nIn);
    // with linear constraints among the inputs, every candidate moved to its nearest feasible point
    const poly = p.constraints?.length ? new Polytope(constraintRows(p.constraints, p.unknowns, p.base), p.lo, p.hi) : null;
    for (let r = 0; r < rows; r++) {
      X.set(p.base, r * net.nIn);
      const u = (cands[r] = clampToBox(p, cands[r]));
      if (poly && !poly.contains(u)) poly.project(u, 0, u, 0);
      if (this.s.discrete) snapDiscrete(p, this.s.discrete, u);
      for (let j = 0; j < n; j++) X[r * net.nIn + p.unknowns[j]] = u[j];
    }
    const Y = net.evaluate(X, rows);
    const ob = this.objective;
    let best = -1,
      bestVal = Infinity,
      bestSlack = 0;
    for (let r = 0; r < rows; r++) {
      let slack = 0;
      p.targets.forEach((t, i) => {
        const y = formValue(t.terms, Y, r * net.nOut),
          b = this.targetRows[i];
        slack = Math.max(slack, b.lo - y, y - b.hi);
      });
      if (!(slack === slack)) continue;
      let val: number;
      if (slackMode) val = slack;
      else if (slack > 0) continue;
      else if (ob.kind === 'min') val = Y[r * net.nOut + this.s.objOutput];
      else if (ob.kind === 'max') val = -Y[r * net.nOut + this.s.objOutput];
      else val = this.objectiveAt(cands[r], { outputs: {}, maxMiss: 0 });
      if (val < bestVal) {
        best = r;
        bestVal = val;
        bestSlack = Math.max(0, slack);
      }
    }
    if (best < 0) return null;
    const u = cands[best];
    const x = this.builder.columnValues(u);
    x[this.slackCol] = Math.min(this.sMax, bestSlack);
    this.s.discrete?.groups.forEach((g, i) => {
      const k = nearestChoice(g, u);
      this.groupZ[i].forEach((z, c) => (x[z] = c === k ? 1 : 0));
    });
    if (ob.kind === 'closest' || ob.kind === 'sparse') {
      const d = this.distanceAt(u);
      let k = 0;
      this.changeCols.forEach((z, j) => {
        if (z >= 0) x[z] = u[j] !== p.reference![j] ? 1 : 0;
      });
      for (let j = 0; j < n; j++) {
        if (!p.referenceMask![j]) continue;
        x[this.distCols[ob.norm === 'l1' ? k++ : 0]] = ob.norm === 'l1' ? Math.abs(u[j] - p.reference![j]) / distanceUnit(p, j) : d;
      }
    }
    return x;
  }

  /**
   * The sparse objective's indicators (Wolsey, Integer Programming, §1.5 big-M): zⱼ ∈ {0, 1},
   * uⱼ − Mⱼ·zⱼ ≤ refⱼ and uⱼ + Mⱼ·zⱼ ≥ refⱼ, Mⱼ = max(|loⱼ − refⱼ|, |hiⱼ − refⱼ|); W = 1 + the
   * largest distance in the box. The zⱼ join the binaries fixed by the re-solve (fixedPiece).
   */
  private addChangeIndicators(): void {
    const { problem, builder } = this;
    const ref = problem.reference!,
      mask = problem.referenceMask!;
    let far = 0;
    for (let j = 0; j < ref.length; j++) {
      this.changeCols.push(-1);
      if (!mask[j]) continue;
      const M = nextUp(Math.max(Math.abs(problem.lo[j] - ref[j]), Math.abs(problem.hi[j] - ref[j])));
      if (!(M > 0)) continue;
      far += M / distanceUnit(problem, j);
      const z = builder.addCol(0, 1, 'binary');
      this.changeCols[j] = z;
      builder.addRow(-Infinity, ref[j], [j, z], [1, -M]);
      builder.addRow(ref[j], Infinity, [j, z], [1, M]);
    }
    this.changeWeight = nextUp(1 + far);
    const zs = this.changeCols.filter((z) => z >= 0);
    const all = new Int32Array(this.binaryCols.length + zs.length);
    all.set(this.binaryCols);
    all.set(zs, this.binaryCols.length);
    this.binaryCols = all;
  }

  /** Columns and rows for the distance to the reference: w·e ≥ ±(u − r), e ≥ 0 (L1: one e per unknown; L∞: one e). */
  private addDistance(norm: 'l1' | 'linf', distCols: number[]): void {
    const { problem, builder } = this;
    const ref = problem.reference!,
      mask = problem.referenceMask!;
    let shared = -1;
    for (let j = 0; j < ref.length; j++) {
      if (!mask[j]) continue;
      const w = distanceUnit(problem, j);
      const far = nextUp(Math.max(Math.abs(problem.lo[j] - ref[j]), Math.abs(problem.hi[j] - ref[j])) / w);
      let e: number;
      if (norm === 'l1') {
        e = builder.addCol(0, far, 'aux');
        distCols.push(e);
      } else {
        if (shared < 0) {
          shared = builder.addCol(0, 0, 'aux');
          distCols.push(shared);
        }
        e = shared;
        builder.colHi[e] = Math.max(builder.colHi[e], far);
      }
      builder.addRow(-ref[j], Infinity, [j, e], [-1, w]); //  w·e − u ≥ −r
      builder.addRow(ref[j], Infinity, [j, e], [1, w]); //    w·e + u ≥ r
    }
  }

  private primalFeasible(): boolean {
    return this.model.info.get('primal_solution_status') === this.highs.constants.solutionStatus.feasible;
  }

  private dualBound(): number {
    const v = this.model.info.get('mip_dual_bound');
    return typeof v === 'number' ? v : Number(v);
  }

  /** The margin of the rule above: MARGIN_FACTOR · max(E, D, τp), plus κmax. */
  private proofMargin(): number {
    const b = this.builder;
    let range = 0;
    for (let j = 0; j < b.numCols; j++) range += b.colHi[j] - b.colLo[j];
    return this.kappaMax + MARGIN_FACTOR * Math.max(this.outErr, DUAL_TOL * range, TOL.primal);
  }

  /**
   * Re-solve with the binaries fixed to HiGHS's rounded values: an LP, exact within that linear
   * piece, solved with tighter tolerances. Falls back to the MILP point when it fails.
   */
  private fixedPiece(x: Float64Array): Float64Array {
    const bin = this.binaryCols,
      dc = this.discreteCols;
    const left = this.secondsLeft();
    if (bin.length + dc.length === 0 || left <= 0) return x;
    const model = this.model;
    // the binaries and the discrete columns (rounded: HiGHS keeps them integral within τi only)
    // (HiGHS takes a set of columns in strictly increasing order)
    const order = Array.from({ length: bin.length + dc.length }, (_, k) => k).sort((p, q) => (p < bin.length ? bin[p] : dc[p - bin.length]) - (q < bin.length ? bin[q] : dc[q - bin.length]));
    const idx = Int32Array.from(order, (k) => (k < bin.length ? bin[k] : dc[k - bin.length]));
    const lo = Float64Array.from(order, (k) => (k < bin.length ? 0 : this.discreteLo[k - bin.length]));
    const hi = Float64Array.from(order, (k) => (k < bin.length ? 1 : this.discreteHi[k - bin.length]));
    const fixed = Float64Array.from(idx, (j, k) => (order[k] < bin.length ? (x[j] >= 0.5 ? 1 : 0) : Math.min(hi[k], Math.max(lo[k], Math.round(x[j])))));
    let out = x;
    try {
      model.changeColsBounds({ kind: 'set', indices: idx }, fixed, fixed);
      model.clearIntegrality();
      this.setTolerances(FIXED_LP_TOL, FIXED_LP_TOL, FIXED_LP_TOL);
      if (this.run(left) === this.status.optimal) out = model.getSolution().colValue;
    } finally {
      model.changeColsBounds({ kind: 'set', indices: idx }, lo, hi);
      model.changeColsIntegrality({ kind: 'set', indices: idx }, new Int32Array(idx.length).fill(this.highs.constants.variableType.integer));
      this.setTolerances(TOL.primal, TOL.integrality, DUAL_TOL);
    }
    return out;
  }

  /**
   * The unknowns' column boxes and errors: an integer's box shrinks to ceil(lo)..floor(hi), a
   * categorical input's to its values' hull, a one-hot column's to [0, 1]. A discrete column may
   * sit τi (times the values' size, for a categorical input) from the value it is rounded to.
   */
  private discreteBox(): { lo: Float64Array; hi: Float64Array; err: Float64Array } {
    const p = this.problem,
      d = this.s.discrete;
    const lo = Float64Array.from(p.lo),
      hi = Float64Array.from(p.hi);
    const err = new Float64Array(lo.length).fill(TOL.primal);
    if (!d) return { lo, hi, err };
    for (const j of d.integers) {
      lo[j] = Math.ceil(p.lo[j]);
      hi[j] = Math.floor(p.hi[j]);
      err[j] = TOL.primal + TOL.integrality;
    }
    for (const g of d.groups) {
      g.unknowns.forEach((j, i) => {
        let a = Infinity,
          b = -Infinity,
          mag = 0;
        for (const v of g.values) {
          a = Math.min(a, v[i]);
          b = Math.max(b, v[i]);
          mag += Math.abs(v[i]);
        }
        lo[j] = Math.max(lo[j], a);
        hi[j] = Math.min(hi[j], b);
        err[j] = 2 * TOL.primal + TOL.integrality * mag;
      });
    }
    return { lo, hi, err };
  }

  /**
   * The discrete unknowns' rows and columns (see MilpOptions.discrete): integer columns; a one-hot
   * group's columns integral with Σ = 1; a categorical input's indicators zᵢ ∈ {0, 1}, Σzᵢ = 1
   * and u − Σvᵢzᵢ = 0. Only restricts the relaxation OBBT saw, so its bounds stay sound.
   */
  private addDiscrete(): void {
    const d = this.s.discrete,
      b = this.builder;
    if (!d) return;
    const cols: number[] = [];
    for (const j of d.integers) {
      b.integerCols.add(j);
      cols.push(j);
    }
    for (const g of d.groups) {
      if (g.kind === 'one-hot') {
        for (const j of g.unknowns) {
          b.integerCols.add(j);
          cols.push(j);
        }
        b.addRow(1, 1, g.unknowns.slice(), g.unknowns.map(() => 1));
        this.groupZ.push(g.unknowns.slice());
        continue;
      }
      const z = g.values.map(() => b.addCol(0, 1, 'aux'));
      for (const c of z) {
        b.integerCols.add(c);
        cols.push(c);
      }
      b.addRow(1, 1, z, z.map(() => 1));
      g.unknowns.forEach((j, i) => b.addRow(0, 0, [j, ...z], [1, ...g.values.map((v) => -v[i])]));
      this.groupZ.push(z);
    }
    this.discreteCols = Int32Array.from(cols);
    this.discreteLo = Float64Array.from(cols, (j) => b.colLo[j]);
    this.discreteHi = Float64Array.from(cols, (j) => b.colHi[j]);
  }

  private objectiveAt(u: Float64Array, sol: { outputs: Record<string, number>; maxMiss: number }): number {
    const ob = this.objective;
    if (ob.kind === 'min' || ob.kind === 'max') return sol.outputs[ob.output];
    if (ob.kind === 'feasibility') return sol.maxMiss;
    const d = this.distanceAt(u);
    if (ob.kind !== 'sparse') return d;
    // W·(inputs changed) + distance, as the MILP's objective counts it
    let changed = 0;
    this.changeCols.forEach((z, j) => {
      if (z >= 0 && Math.abs(u[j] - this.problem.reference![j]) > CHANGE_TOL * distanceUnit(this.problem, j)) changed++;
    });
    return this.changeWeight * changed + d;
  }

  /** Distance to the reference in the objective's norm (distance units). */
  private distanceAt(u: Float64Array): number {
    const ob = this.objective;
    const l1 = (ob.kind === 'closest' || ob.kind === 'sparse') && ob.norm === 'l1';
    const p = this.problem;
    let d = 0;
    for (let j = 0; j < u.length; j++) {
      if (!p.referenceMask![j]) continue;
      const v = Math.abs(u[j] - p.reference![j]) / distanceUnit(p, j);
      d = l1 ? d + v : Math.max(d, v);
    }
    return d;
  }

  private timeUp(when: string): MilpResult {
    return this.finish({ status: 'time-limit', provenInfeasible: false, message: `time limit of ${this.s.timeLimit} s reached ${when}` });
  }

  /** A result that carries a point (verified, or HiGHS's point that failed the check) and no proof. */
  private withPoint(status: MilpResult['status'], unknowns: Float64Array, objective: number, bound: number, message: string): MilpResult {
    return this.finish({ status, provenInfeasible: false, unknowns, objective, bound, message });
  }

  private describe(): string {
    const st = this.stats;
    return `${st.binaries} binaries (${st.stableNeurons} of ${st.neurons} relu terms stable), ${this.obbtLps} bound-tightening LPs, ${this.mipNodes} branch-and-bound nodes`;
  }

  /** After the min/max/closest solve with the targets as hard constraints. */
  private afterHard(st: number): MilpResult {
    const S = this.status;
    if (st === S.optimal || st === S.timeLimit) {
      const bound = this.dualBound();
      if (!this.primalFeasible()) {
        return st === S.timeLimit
          ? this.finish({ status: 'time-limit', provenInfeasible: false, bound, message: `time limit reached before HiGHS found a point meeting the targets; ${this.describe()}` })
          : this.finish({ status: 'error', provenInfeasible: false, message: 'HiGHS reported optimal without a primal solution' });
      }
      const x = this.fixedPiece(this.model.getSolution().colValue);
      const { u, sol, polished } = checkPoint(this.problem, x, this.s.discrete);
      const objective = this.objectiveAt(u, sol);
      if (!sol.meetsTargets) {
        return this.withPoint('error', u, objective, bound, `HiGHS's point fails the float64 forward-pass check (largest target miss ${sol.maxMiss.toExponential(3)}${polished ? ', after polishing' : ''}); not reported as solved`);
      }
      const what = this.objective.kind === 'closest' ? 'distance' : this.objective.kind === 'sparse' ? 'W·changes + distance' : 'value';
      const message =
        (st === S.optimal ? `optimal ${what} ${objective} (HiGHS bound ${bound})` : `time limit reached: best verified ${what} ${objective}, HiGHS bound ${Number.isFinite(bound) ? bound : 'none yet'}`) +
        `${polished ? ', point polished into the tolerance band' : ''}; ${this.describe()}`;
      return this.withPoint(st === S.optimal ? 'solved' : 'time-limit', u, objective, bound, message);
    }
    if (st === S.infeasible || st === S.unboundedOrInfeasible) {
      // every column is bounded, so "unbounded or infeasible" can only be infeasible: measure how badly
      const { model, highs, builder } = this;
      const cost = new Float64Array(builder.numCols);
      cost[this.slackCol] = 1;
      model.changeColsCost({ kind: 'range', from: 0, to: builder.numCols - 1 }, cost);
      model.changeObjectiveOffset(0);
      model.changeObjectiveSense(highs.constants.objectiveSense.minimize);
      model.changeColBounds(this.slackCol, 0, this.sMax);
      model.options.set({ mip_rel_gap: 0, mip_abs_gap: TOL.primal });
      const left = this.secondsLeft();
      if (left <= 0) {
        return this.finish({
          status: 'infeasible',
          provenInfeasible: false,
          message: `HiGHS found no point meeting the targets, and no time was left to measure the margin; ${this.describe()}`,
        });
      }
      return this.afterSlack(this.runMip(left), 'hard');
    }
    return this.finish({ status: 'error', provenInfeasible: false, message: `HiGHS ended with model status ${statusName(this.highs, st)}` });
  }

  /**
   * The hard solve found the shrunk bands empty, yet a point meets the targets in float64: the
   * feasible set is thinner than κ. Optimise again with the bands unshrunk (κ = 0).
   */
  private thinRetry(known: Float64Array, knownObjective: number): MilpResult {
    const { model, highs, builder } = this;
    for (const r of this.targetRows) {
      const lo = r.t.lo === -Infinity ? -Infinity : r.t.lo - r.tol;
      const hi = r.t.hi === Infinity ? Infinity : r.t.hi + r.tol;
      let k = 0;
      if (lo !== -Infinity) model.changeRowBounds(r.rows[k++], lo - r.e.c0, highs.infinity);
      if (hi !== Infinity) model.changeRowBounds(r.rows[k++], -highs.infinity, hi - r.e.c0);
    }
    model.changeColBounds(this.slackCol, 0, 0);
    model.changeColsCost({ kind: 'range', from: 0, to: builder.numCols - 1 }, this.main.cost);
    model.changeObjectiveOffset(this.main.offset);
    model.changeObjectiveSense(this.main.maximize ? highs.constants.objectiveSense.maximize : highs.constants.objectiveSense.minimize);
    model.options.set({ mip_rel_gap: this.s.gap, mip_abs_gap: 0 });
    const left = this.secondsLeft();
    const st = left > 0 ? this.runMip(left) : this.status.timeLimit;
    const S = this.status;
    const thin = 'the feasible set is thinner than HiGHS\'s margin κ, so the targets were optimised over at the exact tolerance';
    if ((st === S.optimal || st === S.timeLimit) && this.primalFeasible()) {
      const bound = this.dualBound();
      const { u, sol } = checkPoint(this.problem, this.fixedPiece(model.getSolution().colValue), this.s.discrete);
      if (sol.meetsTargets) {
        const objective = this.objectiveAt(u, sol);
        return this.withPoint(st === S.optimal ? 'solved' : 'time-limit', u, objective, bound, `${st === S.optimal ? 'optimal' : 'time limit reached, best'} value ${objective} (HiGHS bound ${bound}); ${thin}; ${this.describe()}`);
      }
    }
    return this.finish({
      status: 'error',
      provenInfeasible: false,
      unknowns: known,
      objective: knownObjective,
      message: `a verified point meets the targets, but ${thin} and HiGHS could not optimise there; the point is verified, not optimal; ${this.describe()}`,
    });
  }

  /** After minimising the slack s: a verified point, or a (proven or unproven) infeasibility. */
  private afterSlack(st: number, from: 'feasibility' | 'hard'): MilpResult {
    const S = this.status;
    if (st !== S.optimal && st !== S.timeLimit) {
      return this.finish({ status: 'error', provenInfeasible: false, message: `HiGHS ended with model status ${statusName(this.highs, st)} on the slack form` });
    }
    const lb = this.dualBound();
    const excess = lb - this.kappaMax;
    const margin = this.proofMargin();
    let point: ReturnType<typeof checkPoint> | null = null;
    let sInc = Infinity;
    if (this.primalFeasible()) {
      const x0 = this.model.getSolution().colValue;
      sInc = x0[this.slackCol];
      point = checkPoint(this.problem, this.fixedPiece(x0), this.s.discrete);
    }
    // a verified point always wins over a bound
    const proven = lb >= margin && !(point && point.sol.meetsTargets);
    const bound = Math.max(0, excess);
    // the point HiGHS ended at, when it fails the targets: reported with its miss, never as a solution
    const seen = point ? { unknowns: point.u, objective: point.sol.maxMiss } : {};
    if (point && point.sol.meetsTargets) {
      const objective = this.objectiveAt(point.u, point.sol);
      if (from === 'feasibility') {
        return this.withPoint('solved', point.u, objective, bound, `verified point meeting every target (largest miss ${point.sol.maxMiss.toExponential(3)})${point.polished ? ', polished into the tolerance band' : ''}; ${this.describe()}`);
      }
      return this.thinRetry(point.u, objective);
    }
    if (proven) {
      return this.finish({
        status: 'infeasible',
        provenInfeasible: true,
        ...seen,
        bound,
        message:
          `no input in the box meets the targets: every input exceeds some target's tolerance by at least ${bound.toExponential(3)} ` +
          `(HiGHS dual bound ${lb.toExponential(3)} ≥ margin ${margin.toExponential(3)}); ${this.describe()}`,
      });
    }
    if (st === S.timeLimit) {
      return this.finish({
        status: 'time-limit',
        provenInfeasible: false,
        ...seen,
        bound,
        message:
          `time limit reached before HiGHS found a point meeting the targets or proved that none exists ` +
          `(its lower bound on the smallest miss beyond tolerance is ${lb > 0 ? lb.toExponential(3) : '0: nothing ruled out yet'}; a proof needs more than ${margin.toExponential(3)}); ${this.describe()}`,
      });
    }
    if (sInc > TOL.primal || (from === 'hard' && lb > 0)) {
      return this.finish({
        status: 'infeasible',
        provenInfeasible: false,
        ...seen,
        bound,
        message:
          `HiGHS finds no point meeting the targets, but the smallest worst excess (dual bound ${lb.toExponential(3)}) ` +
          `does not clear the margin ${margin.toExponential(3)} its tolerances require: not proven; ${this.describe()}`,
      });
    }
    return this.finish({
      status: 'error',
      provenInfeasible: false,
      ...seen,
      message: `HiGHS's point (slack ${sInc.toExponential(3)}) fails the float64 forward-pass check (largest miss ${point ? point.sol.maxMiss.toExponential(3) : '?'}); not reported as solved`,
    });
  }
}

type HighsModelStatus = Highs['constants']['modelStatus'];

function statusName(highs: Highs, st: number): string {
  for (const [k, v] of Object.entries(highs.constants.modelStatus)) if (v === st) return `${k} (${st})`;
  return String(st);
}
