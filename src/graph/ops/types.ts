/**
 * The op interface. Every op has its forward pass, its two derivative passes and its two
 * bound passes side by side in one file (STYLE.md: micrograd).
 *
 * Layout conventions (all row-major Float64Array):
 * - values: `rows × width`, one row per point;
 * - tangents (forward mode) and cotangents (reverse mode): `rows × k × width`, k directions
 *   per point, so row r·k + j is direction j at point r;
 * - intervals: separate lo and hi arrays in the same layouts, one row per box.
 *
 * A tangent input that does not depend on the unknowns is passed as a zero buffer, so ops
 * never branch on it. A cotangent output that is not wanted is passed as null.
 *
 * Optional facets carry the op's linear relaxation (Zhang et al. 2018 CROWN; Singh et al. 2019
 * DeepPoly; Wang et al. 2018 symbolic intervals): `relax` (its element-wise relaxation lines over
 * one input box), `crown` (backward propagation of linear coefficients through the op, given
 * those lines) and `forwardLinear` (forward propagation of symbolic affine forms). The drivers in
 * certify/bounds (crown.ts, forward.ts) iterate Network.nodes and call these; an op without a
 * facet is concretised with its interval bounds there. Shared helpers live in ./relax.ts.
 * Piecewise-linear ops also have `milp`, their exact MILP encoding (./pwl.ts, certify/milp/encode.ts),
 * and `nonPwl` says, per instance, whether that encoding applies. `chainLayer` presents an op as one
 * layer of a dense / ReLU / element-wise affine chain (certify/bounds/reluChain.ts, the ACAS Xu path).
 */
import type { MilpStep } from './pwl.ts';
import type { CrownStep, ForwardStep } from './relax.ts';

/** Arguments of OpImpl.vjp (one struct: callers keep one per node and refill it, allocating nothing). */
export interface VjpArgs {
  /** Input values, rows × width of each input. */
  ins: Float64Array[];
  /** Output values, rows × width. */
  y: Float64Array;
  /** Cotangents of the output, rows × k × width. */
  gOut: Float64Array;
  /** Cotangents of the inputs (rows × k × input width), null where not wanted. */
  gIns: (Float64Array | null)[];
  /** Per input: add into gIns[i] (true) or overwrite it (false). */
  accumulate: boolean[];
  rows: number;
  /** Directions per point. */
  k: number;
}

/** Arguments of OpImpl.jvpBounds (one struct, like VjpArgs). */
export interface JvpBoundsArgs {
  /** Input boxes: lower and upper ends, rows × width of each input. */
  lo: Float64Array[];
  hi: Float64Array[];
  /** The output's interval bounds over those boxes (from `bounds`), rows × width. */
  yLo: Float64Array;
  yHi: Float64Array;
  /** Tangent intervals of the inputs, rows × k × input width. */
  tLo: Float64Array[];
  tHi: Float64Array[];
  /** Where to write the output's tangent intervals, rows × k × width. */
  tOutLo: Float64Array;
  tOutHi: Float64Array;
  rows: number;
  /** Directions per point. */
  k: number;
}

export interface OpImpl {
  readonly type: string;
  /** Width of the output vector. */
  readonly width: number;
  /** Trainable parameters (dense W and b, affine scale and shift). */
  readonly params: Float64Array[];

  forward(ins: Float64Array[], y: Float64Array, rows: number): void;

  /** Forward mode: tOut = J·tIn for k directions per point. */
  jvp(ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void;

  /**
   * Reverse mode: gIns[i] (+)= Jᵢᵀ·gOut for k directions per point; `accumulate[i]` says
   * whether to add into gIns[i] (it already holds another consumer's share) or overwrite it.
   */
  vjp(args: VjpArgs): void;

  /** Sound interval enclosure of the output over the input boxes, rounded outward. */
  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void;

  /**
   * Interval forward mode: encloses J(x)·t for every x in the input box and every t in the
   * tangent interval. This bounds the Jacobian over a box (interval Newton, Krawczyk).
   */
  jvpBounds(args: JvpBoundsArgs): void;

  /**
   * Its interval bounds or relaxation gain from tight input bounds (element-wise functions,
   * products and quotients of tensors, softmax, layer_norm): CROWN refines its inputs' bounds by
   * back-substitution.
   */
  readonly tightInputs?: boolean;

  /**
   * Relaxation over one input box (lo, hi: one row per input), 4 numbers per output feature:
   * [aL, bL, aU, bU] lines in the input for element-wise ops, [βa, βb, γL, γU] planes for a
   * product; NaN in slot 1 marks a feature to concretise. null: no relaxation needed.
   */
  relax?(lo: Float64Array[], hi: Float64Array[]): Float64Array | null;

  /** CROWN back-substitution through this op (one box); returns the number of terms for the rounding allowance. */
  crown?(step: CrownStep): number;

  /** Forward symbolic forms through this op (one box); false: no linear rule here (interval fallback). */
  forwardLinear?(step: ForwardStep): boolean;

  /**
   * Exact MILP encoding (piecewise-linear ops only): the output's value expressions from the
   * inputs' (Tjeng et al. 2019; graph/ops/pwl.ts); null or absent: not piecewise-linear.
   */
  milp?<E>(step: MilpStep<E>): E[] | null;

  /**
   * Whether this instance is piecewise-linear, i.e. `milp` encodes it exactly: null when it is,
   * else the name to give the user ("tanh", "binary mul"). Absent: an op with a `milp` facet
   * always is (dense, affine, concat…); one without never is and is named by `type` (see pwlBlocker).
   */
  nonPwl?(): string | null;

  /** This op as a layer of a dense / ReLU / element-wise affine chain; null or absent: it is none of those. */
  chainLayer?(): ChainLayerSpec | null;

  /** Parameter gradients, accumulated: gParams[i] += ∂(gOut·y)/∂params[i], summed over rows. */
  vjpParams?(ins: Float64Array[], y: Float64Array, gOut: Float64Array, gParams: Float64Array[], rows: number): void;

  /** Call after params were changed in place (dense refreshes its transposed copies). */
  paramsChanged?(): void;
}

/**
 * One layer of a dense / ReLU / element-wise affine chain, as the op computes it (fresh arrays:
 * the caller may keep them). dense: y = x·W + b with W in × out row-major (b null: no bias);
 * relu: y = max(0, x); affine: y = scale ⊙ x + shift, exact for the op (x + c is 1·x + c).
 */
export type ChainLayerSpec =
  | { kind: 'dense'; nIn: number; nOut: number; W: Float64Array; b: Float64Array | null }
  | { kind: 'relu' }
  | { kind: 'affine'; scale: Float64Array; shift: Float64Array };

/**
 * Why `milp` cannot encode this op instance exactly (the name for the error), or null when it
 * can: the op answers for itself (nonPwl); an op without a milp facet is named by its type.
 */
export function pwlBlocker(op: OpImpl): string | null {
  if (!op.milp) return op.type;
  return op.nonPwl ? op.nonPwl() : null;
}

/** Growable scratch buffer owned by an op: never shrinks, so steady-state calls allocate nothing. */
export class Scratch {
  private buf = new Float64Array(0);
  get(n: number): Float64Array {
    if (this.buf.length < n) this.buf = new Float64Array(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}
