/**
 * The answer: plain JSON data with four outcomes (docs/design.md). A result never says `solved`
 * for a point it did not verify: every solution is recomputed by a fresh float64 forward
 * pass, and its residuals come from that pass.
 */
import type { BoundSource, DistanceKind, TargetKind } from '../problem/query.ts';

export const RESULT_FORMAT = 'netinvert-result';
export const RESULT_VERSION = 1;

export type Status = 'solved' | 'best-compromise' | 'infeasible' | 'unknown';

export interface Solution {
  /** Every input: given and solved. */
  inputs: Record<string, number>;
  /** The solved unknowns only. */
  unknowns: Record<string, number>;
  /** Every output of the network at `inputs` (fresh float64 forward pass). */
  outputs: Record<string, number>;
  /** Per target: output − target value (0 inside a range), unweighted. */
  residuals: Record<string, number>;
  /**
   * Per target, in query order: the value of its form, its target set [lo, hi] (null: unbounded
   * side), the slack min(value − lo, hi − value) (≥ 0 inside; negative: missed by that much) and
   * whether it is met within its tolerance; then each linear constraint among the inputs the
   * same way (on: 'input').
   */
  constraints: ConstraintValue[];
  /** Largest unweighted miss over the targets. */
  maxMiss: number;
  /** Whether every target is met within its tolerance (and every linear constraint among the inputs within its own). */
  meetsTargets: boolean;
  /** σ_max/σ_min of ∂(targeted outputs)/∂(unknowns) (∞ when rank-deficient). */
  conditionNumber: number;
  /** Unknowns sitting on a bound of the box. */
  activeBounds: Record<string, 'lower' | 'upper'>;
  /** Projected-gradient optimality of the weighted least-squares cost (box-width units). */
  optimality: number;
  /** Distance to the reference point, when one was given. */
  distance?: number;
  /** 'unique-root': proven to be the only root in `proofBox` (interval Newton). */
  proof?: 'unique-root';
  proofBox?: Record<string, [number, number]>;
  /**
   * Present when this solution stands for a cluster of solutions rather than one point: a
   * near-tangent root, a plateau, or roots closer together than float64 can tell apart. `extent`
   * holds every root of the cluster (per unknown, [lo, hi]); the solution's own point is the best
   * one found in it. `everyPoint: true` means every point of the extent is proven (interval
   * bounds) to meet the targets; false means only that the solutions found there could not be
   * separated.
   */
  cluster?: { extent: Record<string, [number, number]>; everyPoint: boolean };
}

export interface ConstraintValue {
  /** The target's form as text (an output name for a plain target); for a constraint among the inputs, its text. */
  target: string;
  /** 'input': a linear constraint among the inputs (Query.constraints); absent: a target on the outputs. */
  on?: 'input';
  value: number;
  lo: number | null;
  hi: number | null;
  slack: number;
  met: boolean;
}

export type SolutionSet =
  /** `clusters`: how many of the `count` solutions stand for a cluster (Solution.cluster), when any do. */
  | { kind: 'isolated'; count: number; clusters?: number }
  | { kind: 'continuum'; dimension: number; representatives: number }
  | { kind: 'none' };

export interface SolveStats {
  starts: number;
  iterations: number;
  evaluations: number;
  jacobians: number;
  timeMs: number;
}

export interface SolveResult {
  format: typeof RESULT_FORMAT;
  version: number;
  model: { hash: string; name?: string };
  status: Status;
  message: string;
  /** True only when a proof says the solution list holds every solution in the box. */
  complete: boolean;
  /** For best-compromise / infeasible: whether the claim is proven. */
  proven: boolean;
  method: string;
  query: {
    given: Record<string, number>;
    /**
     * output: the output name, or the form's text for a linear form, whose `terms` then list its
     * outputs and coefficients.
     */
    targets: {
      output: string;
      terms?: { output: string; coef: number }[];
      kind: TargetKind;
      lo: number | null;
      hi: number | null;
      weight: number;
      tolerance: number;
    }[];
    /** With anyOf: how many clauses the disjunction has and which one this answer is for (0-based). */
    clause?: { index: number; of: number };
    bounds: { input: string; lo: number; hi: number; source: BoundSource }[];
    /** float32Floor: present for float32-exported models, the smallest tolerance that means anything for them. */
    tolerance: { atol: number; rtol: number; float32Floor?: number };
    reference?: Record<string, number>;
    distance?: DistanceKind;
    /** Linear constraints among the inputs (problem/constraints.ts): the text, its terms over inputs, its sides and tolerance. */
    constraints?: {
      constraint: string;
      terms: { input: string; coef: number }[];
      kind: TargetKind;
      lo: number | null;
      hi: number | null;
      tolerance: number;
    }[];
    seed: number;
  };
  /** solved: every distinct solution found (for a continuum: representatives spread over it). */
  solutions: Solution[];
  solutionSet: SolutionSet;
  /** best-compromise / unknown: the closest point found. */
  best?: Solution;
  /** With a reference: the solution closest to it. */
  closest?: Solution;
  /** Fraction of the box proven to hold no solution (1-D interval search). */
  excludedFraction?: number;
  /** Proven lower bound on the smallest possible worst-output miss over the box (certify). */
  lowerBound?: number;
  /**
   * With anyOf (a disjunction): each clause searched, in order (the answer is for
   * query.clause.index; clauses after the first one met are not searched). A clause's
   * certificate proves that clause (want ∧ clause) infeasible; a disjunction proven infeasible
   * has one per clause here and no top-level `certificate`.
   */
  clauses?: {
    index: number;
    targets: string[];
    status: Status;
    proven: boolean;
  }[];
  /** What branch-and-bound did (certify). */
  certification?: { boxes: number; excludedFraction: number; undecidedBoxes: number; budgetHit: boolean; rootBoxes: number };
  warnings: string[];
  stats: SolveStats;
}
