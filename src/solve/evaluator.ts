/**
 * The problem as the solvers see it: unknowns u (rows × n) → weighted residuals r (rows × m)
 * and their Jacobian (rows × m × n), through the network with the known inputs filled in.
 *
 * Residual of target i on its linear form y = Σ cₖ·y_{oₖ} (a plain output is one term) with
 * weight w (the distance to the target set):
 *   equality t:      r = w·(y − t)
 *   range [lo, hi]:  r = w·(y − hi) above, w·(y − lo) below, 0 inside   (≥ and ≤ likewise)
 * so least squares on r drives every output into its target set, and at a best compromise it
 * minimises the weighted squared misses.
 *
 * It also keeps the budget: evaluations are counted per point (a Jacobian row counts as one
 * evaluation and one Jacobian), so tests can budget deterministically.
 */
import type { Problem } from '../problem/query.ts';
import { constraintRows } from '../problem/constraints.ts';
import { Polytope } from './polytope.ts';
import type { LSQ } from './iterate/types.ts';
import { formJacobian, formValue } from '../problem/targets.ts';

/**
 * A stop request from outside the search (Ctrl-C on `solve`): a flag in shared memory that the
 * interrupting thread sets. Every budget reads it, so every loop that stops on an exhausted budget
 * (multi-start, LM, the proofs, the explanations) ends at its next check, and the answer found so far
 * is reported as a run cut short by its budget. Set once per thread, by the thread that runs the search.
 */
let stopFlag: Int32Array | null = null;
export function setStopSignal(flag: Int32Array | null): void {
  stopFlag = flag;
}
/** This thread's stop flag's shared memory (null: none), for threads it starts to read too (solve --prove --workers). */
export function stopSignalBuffer(): SharedArrayBuffer | null {
  return stopFlag && stopFlag.buffer instanceof SharedArrayBuffer ? stopFlag.buffer : null;
}
/** Whether a stop was requested (see setStopSignal). */
export function stopRequested(): boolean {
  return stopFlag !== null && Atomics.load(stopFlag, 0) !== 0;
}

export class Budget {
  evaluations = 0;
  jacobians = 0;
  private readonly deadline: number;
  constructor(
    readonly maxEvaluations: number,
    timeLimitSeconds: number,
  ) {
    this.deadline = Number.isFinite(timeLimitSeconds) ? now() + timeLimitSeconds * 1000 : Infinity;
  }
  get exhausted(): boolean {
    return this.evaluations >= this.maxEvaluations || (this.deadline !== Infinity && now() > this.deadline) || stopRequested();
  }
  /** Evaluations left (never negative). */
  get left(): number {
    return Math.max(0, this.maxEvaluations - this.evaluations);
  }
}

export function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

export class ProblemEvaluator {
  readonly n: number;
  readonly m: number;
  private X = new Float64Array(0);
  private Y = new Float64Array(0);
  private Jy = new Float64Array(0);
  private Jf = new Float64Array(0);
  private readonly targetOutputs: number[];
  /** Every target a plain output, in the order of targetOutputs: the outputs' Jacobian is the targets'. */
  private readonly direct: boolean;

  /** The polytope of the query's linear constraints among the inputs (null: none, the box only). */
  readonly polytope: Polytope | null;

  constructor(
    readonly problem: Problem,
    readonly budget: Budget,
  ) {
    this.polytope = problem.constraints?.length ? new Polytope(constraintRows(problem.constraints, problem.unknowns, problem.base), problem.lo, problem.hi) : null;
    this.n = problem.unknowns.length;
    this.m = problem.targets.length;
    this.targetOutputs = problem.targetOutputs;
    this.direct =
      this.targetOutputs.length === this.m && problem.targets.every((t, i) => t.terms.length === 1 && t.terms[0].coef === 1 && t.terms[0].output === this.targetOutputs[i]);
  }

  private fill(U: Float64Array, rows: number): Float64Array {
    const nIn = this.problem.model.network.nIn,
      n = this.n,
      unk = this.problem.unknowns;
    if (this.X.length < rows * nIn) this.X = new Float64Array(rows * nIn);
    const X = this.X;
    for (let r = 0; r < rows; r++) {
      X.set(this.problem.base, r * nIn);
      for (let j = 0; j < n; j++) X[r * nIn + unk[j]] = U[r * n + j];
    }
    return X;
  }

  /** Full input vectors for unknown values U. */
  fullInputs(U: Float64Array, rows: number): Float64Array {
    return this.fill(U, rows).slice(0, rows * this.problem.model.network.nIn);
  }

  /** Network outputs at U (rows × nOut). */
  outputs(U: Float64Array, rows: number, out?: Float64Array): Float64Array {
    const net = this.problem.model.network;
    this.budget.evaluations += rows;
    return net.evaluate(this.fill(U, rows), rows, out);
  }

  /** Weighted residuals only. */
  residuals(U: Float64Array, rows: number, R: Float64Array): void {
    const net = this.problem.model.network;
    if (this.Y.length < rows * net.nOut) this.Y = new Float64Array(rows * net.nOut);
    this.outputs(U, rows, this.Y);
    this.residualsFromOutputs(this.Y, rows, R, null, null);
  }

  /** Weighted residuals and their Jacobian wrt the unknowns (rows × m × n). */
  residualsAndJacobian(U: Float64Array, rows: number, R: Float64Array, JR: Float64Array): void {
    const net = this.problem.model.network;
    const m = this.m,
      n = this.n;
    if (this.Y.length < rows * net.nOut) this.Y = new Float64Array(rows * net.nOut);
    const k = this.targetOutputs.length;
    if (this.Jy.length < rows * k * n) this.Jy = new Float64Array(rows * k * n);
    if (!this.direct && this.Jf.length < rows * m * n) this.Jf = new Float64Array(rows * m * n);
    this.budget.evaluations += rows;
    this.budget.jacobians += rows;
    net.jacobian(this.fill(U, rows), rows, {
      wrt: this.problem.unknowns,
      of: this.targetOutputs,
      out: this.Jy,
      values: this.Y,
    });
    if (this.direct) this.residualsFromOutputs(this.Y, rows, R, this.Jy, JR);
    else {
      formJacobian(this.problem.targets, this.targetOutputs, this.Jy, rows, n, this.Jf);
      this.residualsFromOutputs(this.Y, rows, R, this.Jf, JR);
    }
  }

  /** Targets' forms y (m) and ∂y/∂u (m × n) at one point u, unweighted. */
  targetOutputsAndJacobian(u: Float64Array, Y: Float64Array, J: Float64Array): void {
    const net = this.problem.model.network;
    const vals = new Float64Array(net.nOut);
    this.budget.evaluations += 1;
    this.budget.jacobians += 1;
    const Jy = net.jacobian(this.fill(u, 1), 1, { wrt: this.problem.unknowns, of: this.targetOutputs, values: vals }).J;
    formJacobian(this.problem.targets, this.targetOutputs, Jy, 1, this.n, J);
    for (let i = 0; i < this.m; i++) Y[i] = formValue(this.problem.targets[i].terms, vals);
  }

  /** Map outputs (and output Jacobian) to target residuals (and residual Jacobian). */
  residualsFromOutputs(Y: Float64Array, rows: number, R: Float64Array, Jy: Float64Array | null, JR: Float64Array | null): void {
    const m = this.m,
      n = this.n,
      nOut = this.problem.model.network.nOut,
      T = this.problem.targets;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < m; i++) {
        const t = T[i];
        const y = formValue(t.terms, Y, r * nOut);
        let res: number;
        let active = 1;
        if (t.kind === 'eq') res = y - t.lo;
        else if (y > t.hi) res = y - t.hi;
        else if (y < t.lo) res = y - t.lo;
        else {
          res = 0;
          active = 0;
        }
        R[r * m + i] = t.weight * res;
        if (Jy && JR) {
          const o = (r * m + i) * n;
          const s = active * t.weight;
          for (let j = 0; j < n; j++) JR[o + j] = s * Jy[o + j];
        }
      }
    }
  }
}

/** The Problem as the local-solver loop sees it (solve/iterate): box, residuals and Jacobian, budget. */
export function problemLsq(ev: ProblemEvaluator): LSQ {
  const p = ev.problem;
  return {
    n: ev.n,
    m: ev.m,
    lo: p.lo,
    hi: p.hi,
    evaluate: (U, k, R, J) => ev.residualsAndJacobian(U, k, R, J),
    exhausted: () => ev.budget.exhausted,
    ...(ev.polytope ? { polytope: ev.polytope } : {}),
  };
}
