/**
 * Piecewise-linear element-wise functions as sums of relu terms, and the MILP facet's step
 * (OpImpl.milp): the exact encoding of Tjeng, Xiao & Tedrake, "Evaluating robustness of neural
 * networks with mixed integer programming" (ICLR 2019). Every supported activation is written as
 *
 *     f(x) = c + a·x + Σᵢ sᵢ·relu(pᵢ·x + qᵢ)            (exact for every x)
 *
 * and the encoder (certify/milp/encode.ts) gives each relu term its big-M rows. Linear ops only
 * compose affine expressions (their milp facets call `combine`).
 */

/** f(x) = c + a·x + Σ sᵢ·relu(pᵢ·x + qᵢ); `ordered`: the terms' kinks are nested (δ₂ ≤ δ₁). */
export interface PwlForm {
  c: number;
  a: number;
  terms: { s: number; p: number; q: number }[];
  ordered: boolean;
}

/** The activations the MILP encodes exactly, with their relu-sum forms. */
export const PWL_FORMS: Record<string, (p: Record<string, number>) => PwlForm> = {
  identity: () => ({ c: 0, a: 1, terms: [], ordered: false }),
  relu: () => ({ c: 0, a: 0, terms: [{ s: 1, p: 1, q: 0 }], ordered: false }),
  // αx + (1 − α)·relu(x): x for x > 0, αx otherwise, for any α
  leaky_relu: (p) => ({ c: 0, a: p.alpha, terms: p.alpha === 1 ? [] : [{ s: 1 - p.alpha, p: 1, q: 0 }], ordered: false }),
  abs: () => ({ c: 0, a: -1, terms: [{ s: 2, p: 1, q: 0 }], ordered: false }),
  max_const: (p) => ({ c: p.c, a: 0, terms: [{ s: 1, p: 1, q: -p.c }], ordered: false }),
  min_const: (p) => ({ c: p.c, a: 0, terms: [{ s: -1, p: -1, q: p.c }], ordered: false }),
  // clip(x, lo, hi) = lo + relu(x − lo) − relu(x − hi); x ≥ hi implies x ≥ lo
  clip: (p) => clipForm(p.min, p.max, 1, 0),
  hard_tanh: (p) => clipForm(p.min, p.max, 1, 0),
  // clip(slope·x + offset, 0, 1)
  hard_sigmoid: (p) => clipForm(0, 1, p.slope, p.offset),
};

function clipForm(lo: number, hi: number, p: number, q: number): PwlForm {
  if (lo === hi) return { c: lo, a: 0, terms: [], ordered: false };
  return {
    c: lo,
    a: 0,
    terms: [
      { s: 1, p, q: q - lo },
      { s: -1, p, q: q - hi },
    ],
    ordered: true,
  };
}

/** Activation names the MILP path encodes exactly. */
export const PWL_UNARY: readonly string[] = Object.keys(PWL_FORMS);

/** Whether the MILP encodes the activation of this name exactly (it has a relu-sum form). */
export function isPwlName(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(PWL_FORMS, name);
}

/** The relu-sum form of an activation of the engine's table, or null when it is not piecewise-linear. */
export function pwlForm(name: string, params: Record<string, number>): PwlForm | null {
  return isPwlName(name) ? PWL_FORMS[name](params) : null;
}

/** One node's step of the MILP encoding (OpImpl.milp), over an affine-expression type E. */
export interface MilpStep<E> {
  /** The inputs' value expressions, one per feature. */
  ins: E[][];
  /** c + Σ aₖ·eₖ (exact zero coefficients dropped). */
  combine(parts: readonly (readonly [number, E])[], c: number): E;
  /**
   * f(x) for each pre-activation expression x, f piecewise-linear with relu-sum form `form`
   * (big-M rows for every relu term that can change state); `range` is f's sound value range.
   */
  activation(x: E[], form: PwlForm, range: (lo: number, hi: number, out: Float64Array) => void): E[];
}
