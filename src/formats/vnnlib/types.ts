/**
 * A VNNLIB 1.0 property (the VNN-COMP subset of SMT-LIB 2), translated literally.
 *
 * VNNLIB states the UNSAFE set: the property HOLDS iff no input x in the union of
 * `inputBoxes` has outputs y = f(x) satisfying `outputDnf` (some clause whose constraints all
 * hold). It is VIOLATED iff such an x exists (a counterexample). Nothing here is negated.
 *
 * Soundness of the numbers: every literal is read as an exact decimal rational and all
 * constant arithmetic (+, -, * by constants, dividing an input bound by its coefficient) is
 * exact; only the final conversion to doubles rounds:
 * - input boxes are rounded OUTWARD (lo down, hi up), so a box always contains the exact
 *   real box of the file (sound for proving "holds");
 * - output constraints keep the nearest doubles together with a bound on the rounding
 *   error of each coefficient and of the constant, so a verifier can widen the unsafe set.
 */

export type VnnlibRelation = '<=' | '>=' | '=';

/** `Σ_j coeffs[j]·Y_j + constant  (relation)  0`, from one comparison atom of the file. */
export interface VnnlibLinearConstraint {
  /** Coefficient of each output Y_j (length numOutputs), nearest double to the exact value. */
  coeffs: Float64Array;
  /** |exact coefficient − coeffs[j]| ≤ coeffErr[j] (0 when the coefficient is exact). */
  coeffErr: Float64Array;
  /** The constant term, nearest double to the exact value. */
  constant: number;
  /** |exact constant − constant| ≤ constantErr. */
  constantErr: number;
  relation: VnnlibRelation;
  /** Where the comparison atom starts in the file (1-based). */
  line: number;
  column: number;
}

/** A box over the inputs X_0 … X_{n−1}; an unconstrained side is ±Infinity. */
export interface VnnlibBox {
  lo: Float64Array;
  hi: Float64Array;
}

export interface VnnlibSpec {
  /** Number of declared inputs X_0 … X_{numInputs−1}. */
  numInputs: number;
  /** Number of declared outputs Y_0 … Y_{numOutputs−1}. */
  numOutputs: number;
  /**
   * The input set: a union of boxes (the disjunctive normal form of all input assertions,
   * each clause a conjunction of bounds). Clauses whose box is empty are dropped, so an empty
   * list means no input satisfies the input assertions (the property holds vacuously). With
   * no input assertion at all this is one unbounded box.
   */
  inputBoxes: VnnlibBox[];
  /**
   * The unsafe output set in disjunctive normal form: an OR of clauses, each an AND of linear
   * constraints. `[[]]` (one empty clause) means every output is unsafe (no output assertion);
   * `[]` never occurs.
   */
  outputDnf: VnnlibLinearConstraint[][];
  /** Number of `assert` commands in the file. */
  asserts: number;
}
