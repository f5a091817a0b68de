/**
 * The answer: plain JSON data with four outcomes (docs/design.md). A result never says `solved`
 * for a point it did not verify: every solution is recomputed by a fresh float64 forward
 * pass, and its residuals come from that pass.
 */
import type { BoundSource, DistanceKind, TargetKind } from '../problem/query.ts';
import type { ConstraintRecord } from '../problem/constraints.ts';

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
  /**
   * With a prior (Query.prior or the model's inputStats): the Mahalanobis distance of the unknowns
   * to the prior's mean, in its marginal covariance (problem/prior.ts). Smaller is more plausible.
   */
  plausibility?: number;
  /** With a prior that has sample rows: the Mahalanobis distance to the nearest sample row. */
  nearestSample?: number;
  /**
   * With a prior that carries the model's training residuals (a model trained by netinvert
   * train): how wrong the model is likely to be at this solution, relative to its typical training
   * error (1: typical; smaller: more trustworthy) — problem/prior.ts localError.
   */
  localError?: number;
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
  /**
   * Counterfactual answers (--sparse, --diverse): how many of the inputs the reference names this
   * solution changes (|u − ref| above CHANGE_TOL distance units), and which.
   */
  changed?: { count: number; inputs: string[] };
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
    /** Each referenced input's unit in the distance, when not its box width (weights, --mad, monotone controls). */
    distanceUnits?: Record<string, number>;
    /** Linear constraints among the inputs (problem/constraints.ts): the text, its terms over inputs, its sides and tolerance. */
    constraints?: ConstraintRecord[];
    /**
     * The prior the solutions' plausibility is measured against (problem/prior.ts): where it came
     * from and its mean over the unknowns; plausibility is the Mahalanobis distance to it.
     */
    prior?: { source: 'query' | 'model'; mean: Record<string, number>; sampleRows: number };
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
    /** An infeasible / best-compromise clause's own explanation (each clause's reachable ranges, conflict, relaxations). */
    explanation?: Explanation;
  }[];
  /**
   * For infeasible / best-compromise: why no input meets the targets (certify/explain/): what each
   * target's form can reach, which targets conflict, and the least change that makes it feasible.
   */
  explanation?: Explanation;
  /** Counterfactual controls applied (solve/counterfactual.ts). */
  counterfactual?: CounterfactualRecord;
  /** Discrete unknowns (Query.integers / categorical / oneHot): every assignment searched (api/discrete.ts). */
  discrete?: DiscreteRecord;
  /**
   * What branch-and-bound did (certify); `workers`: threads that shared it (solve --prove --workers N,
   * N ≥ 2; absent for one), `pieces`: work items they ran (0: decided before the hand-off).
   */
  certification?: { boxes: number; excludedFraction: number; undecidedBoxes: number; budgetHit: boolean; rootBoxes: number; workers?: number; pieces?: number };
  warnings: string[];
  stats: SolveStats;
}

/**
 * The reachable range of one target's form over the box (given inputs fixed, unknowns in their
 * bounds), whatever the other targets say. [lo, hi] is an outward enclosure of the range, proven
 * by sound bounds when `proven`; [attainedLo, attainedHi] are values attained at real inputs
 * (argLo, argHi), so the true range holds [attainedLo, attainedHi] and lies inside [lo, hi].
 */
export interface ReachableRange {
  lo: number;
  hi: number;
  attainedLo: number;
  attainedHi: number;
  /** The unknowns where attainedLo and attainedHi are attained. */
  argLo: Record<string, number>;
  argHi: Record<string, number>;
  /** lo and hi are proven bounds (interval, mean-value and CROWN bounds); false: only sampled. */
  proven: boolean;
  /** The search closed: lo and hi are within the tolerance of the attained values. */
  tight: boolean;
  /** Branch-and-bound boxes spent (both ends). */
  boxes: number;
}

/** The least change to one target (the others left out) that a point of the box can meet. */
export interface TargetRelaxation {
  target: string;
  /** Which end of the target must move: 'lower' (lower its low end) or 'raise' (raise its high end). */
  move: 'lower' | 'raise';
  /** Moving that end to here is enough: an input attains this value (argLo / argHi of its range). */
  enough: number;
  /** Proven: moving it less far than this (beyond the enclosure, by more than the tolerance) is not enough. */
  provenLimit: number | null;
  /**
   * The target lies in a gap between reachable values (discrete unknowns: some assignments reach
   * below it, others above): provenLimit is then the gap's edge on this side, not the range's end.
   */
  gap?: boolean;
  /** Where `enough` is attained, when that is not the range's argLo / argHi (a gap's edge). */
  at?: Record<string, number>;
  /**
   * Widening one unknown's query bounds to its declared domain (the hull with its training range,
   * else with the default box), the others kept: the form's range there, and whether the target
   * (unchanged) is then reached ('yes': at the point `at`), proven not to be ('no'), or undecided.
   */
  widen?: {
    input: string;
    bounds: [number, number];
    source: 'training range' | 'default';
    lo: number;
    hi: number;
    attainedLo: number;
    attainedHi: number;
    proven: boolean;
    reaches: 'yes' | 'no' | 'undecided';
    at?: Record<string, number>;
  }[];
}

/** Why a query has no solution: infeasible / best-compromise results carry one. */
export interface Explanation {
  /** Per target (keyed by its form's text), the range its form can reach. */
  reachable: Record<string, ReachableRange>;
  /** Targets a point of the box meets on its own (found: a witness exists). */
  reachableAlone: string[];
  /** Targets proven unreachable on their own (their range misses them). */
  unreachableAlone: string[];
  /** Targets neither found reachable nor proven unreachable on their own. */
  undecidedAlone: string[];
  /**
   * A set of targets that cannot all be met together (deletion filtering). `proven`: the set is
   * proven infeasible; `minimal`: proven that every smaller subset is feasible (each step decided by a
   * witness or a proof), never claimed otherwise; `note` says what could not be decided.
   */
  conflict?: { targets: string[]; proven: boolean; minimal: boolean; note?: string };
  /** Per target that is unreachable alone: the least change of it that some input meets. */
  relaxations: TargetRelaxation[];
  /**
   * Loosening every target by the same amount δ (in each target's units): δ = enough is enough (the
   * closest point found); δ < atLeast is proven not to be (certify's lower bound on the worst miss).
   */
  uniform?: { enough?: number; atLeast?: number };
  /** What limited the explanation, if anything (budget, no bounds for an op). */
  notes: string[];
}

/** What the counterfactual controls did (solve/counterfactual.ts, certify/milp for --sparse on ReLU nets). */
export interface CounterfactualRecord {
  /**
   * --diverse K: `k` solutions found (≤ the K asked), all within `radius` of the reference; their
   * smallest pairwise distance (greedy max-min over the candidates, Gonzalez 1985).
   */
  diverse?: { asked: number; k: number; radius: number; minPairwise: number; candidates: number };
  /**
   * --sparse: the fewest referenced inputs changed by a solution found, and whether that is proven
   * to be the fewest (every smaller set of inputs proven unable to meet the targets, or MILP).
   */
  sparse?: { changed: number; proven: boolean; subsetsTried: number; method: 'subsets' | 'milp' };
  /**
   * --closest-to with a proof: no input closer to the reference than `bound` (in `norm`, distance
   * units) meets the targets. 'milp': HiGHS's dual bound at optimality (up to its tolerances);
   * 'branch-and-bound': interval bounds over a box split (certify/proof/closestBound.ts).
   */
  distanceLowerBound?: {
    bound: number;
    norm: 'l2' | 'l1' | 'linf';
    method: 'milp' | 'branch-and-bound';
    /** branch-and-bound: boxes bounded, and whether every box was pruned (bound = the answer's distance: proven closest). */
    boxes?: number;
    complete?: boolean;
  };
}

/**
 * What the search over the discrete unknowns did (api/discrete.ts): each assignment of them is a
 * branch with the discrete inputs pinned, searched (and proven, with certify) on its own.
 */
export interface DiscreteRecord {
  /**
   * 'milp' (--method milp): one MILP with integer columns, never enumerating; `branches` holds the
   * one assignment it ended at (if any). Absent: every assignment a branch of its own.
   */
  method?: 'milp';
  /** Each discrete unknown: an input (integer, categorical) or a one-hot group (its columns in `inputs`). */
  variables: { name: string; kind: 'integer' | 'categorical' | 'one-hot'; inputs: string[]; choices: number }[];
  /** How many assignments there are, and how many were searched (fewer only when the budget ran out). */
  assignments: number;
  searched: number;
  /** Per searched assignment: the discrete inputs' values, the branch's outcome, its closest miss (null: none found). */
  branches: { assignment: Record<string, number>; status: Status; proven: boolean; maxMiss: number | null }[];
  /**
   * When no assignment meets the targets: the nearest answers, one per assignment, closest first
   * (the best compromise is the first; ties are listed, so an integer target between two reachable
   * integers shows both).
   */
  nearest?: Solution[];
}
