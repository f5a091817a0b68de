/**
 * The shared solver loop's contract, after optimistix (Rader, Lyons & Kidger 2024, "Optimistix:
 * modular optimisation in JAX and Equinox"): a solver is a descent (which step from the current
 * point), a search (how far to trust it: damping, acceptance) and a termination module (when a
 * start is done), run by one batched loop (loop.ts: init / step / terminate / postprocess).
 */

import type { Polytope } from '../polytope.ts';

/** Why a start stopped. */
export type StopReason = 'converged' | 'stationary' | 'small-step' | 'max-iterations' | 'budget' | 'singular';

/** A least-squares problem ½‖r(x)‖² over a box, evaluated in batches. */
export interface LSQ {
  n: number;
  m: number;
  lo: Float64Array;
  hi: Float64Array;
  /** Residuals R (k × m) and Jacobian J (k × m × n) at the k points U. */
  evaluate(U: Float64Array, k: number, R: Float64Array, J: Float64Array): void;
  exhausted(): boolean;
  /** Size of the residuals' reference values (targets): below 4e−16 of it is round-off. Default 1. */
  scale?: number;
  /**
   * Linear constraints among the unknowns (with the box: a polytope). When present, starts are
   * projected into it and every step stays in it (LinQPDescent).
   */
  polytope?: Polytope;
}

/** What the loop hands back, one row per start. */
export interface IterateResult {
  rows: number;
  /** Final unknowns (rows × n). */
  x: Float64Array;
  /** Final ½‖r‖² per row. */
  cost: Float64Array;
  /** Trial points evaluated per row (accepted or not). */
  iterations: Int32Array;
  stop: StopReason[];
  /** Projected-gradient optimality ‖P(Jᵀr)‖∞, gradient measured per box width. */
  optimality: Float64Array;
  /** −1 at lower bound, +1 at upper, 0 free (rows × n): a bound is active when the gradient pushes out of the box there. */
  active: Int8Array;
}

/** The batched state every module reads: each start's current point with its residuals and Jacobian. */
export interface IterState {
  readonly f: LSQ;
  readonly rows: number;
  readonly n: number;
  readonly m: number;
  /** rows × n current points (always inside the box). */
  readonly x: Float64Array;
  /** rows × m residuals and rows × m × n Jacobians at x. */
  readonly R: Float64Array;
  readonly J: Float64Array;
  /** ½‖r‖² at x. */
  readonly cost: Float64Array;
  /** Box widths (hi − lo, or 1 for a zero-width box): the unit of optimality and step size. */
  readonly width: Float64Array;
  /** Trial points evaluated so far per row. */
  readonly iterations: Int32Array;
}

/** Which step to take from a start's current point. */
export interface Descent {
  /** After the first evaluation of every start. */
  init(s: IterState): void;
  /** Row r's gradient g = Jᵀr at its current point, plus whatever step() needs from it. */
  linearise(s: IterState, r: number, g: Float64Array): void;
  /**
   * The step from row r's current point (after linearise), for the search's damping; a step
   * that leaves the box is clipped by the loop. False when no step can be formed (singular).
   */
  step(s: IterState, r: number, g: Float64Array, damping: number, step: Float64Array): boolean;
  /** Row r moved to its trial point. */
  accepted(s: IterState, r: number): void;
}

/** How far to trust the descent: its damping parameter and the acceptance of trial points. */
export interface Search {
  init(s: IterState): void;
  damping(r: number): number;
  /** The descent could not form a step at row r: a reason to stop it, or null to retry with more damping. */
  descentFailed(r: number): StopReason | null;
  /** The model's predicted decrease for row r's step (after the descent). */
  predict(s: IterState, r: number, g: Float64Array, step: Float64Array): void;
  /** Row r's trial point has cost trial: true accepts it, false rejects it, a reason rejects it and stops the row. */
  judge(s: IterState, r: number, trial: number): boolean | StopReason;
}

/** When a start is done. */
export interface Termination {
  /** Tested at every current point, with its projected-gradient optimality: a reason stops the row there. */
  atPoint(s: IterState, r: number, optimality: number): StopReason | null;
  /** Tested on each proposed step (before it is evaluated). */
  afterStep(s: IterState, r: number, step: Float64Array): StopReason | null;
  /** Whether the points reached at the iteration cap are tested too (else they stop as 'max-iterations'). */
  readonly testAtCap: boolean;
}

export interface Solver {
  descent: Descent;
  search: Search;
  termination: Termination;
}
