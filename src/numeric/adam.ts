/**
 * Adam's moment estimates and bias-corrected step (Kingma & Ba 2015, "Adam: a method for
 * stochastic optimization", Algorithm 1):
 *     m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²,
 *     step = α·(m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε),
 * the caller subtracting the step from its variables. One implementation serves the solver
 * (solve/iterate's Adam descent, moments per start) and the trainer (train/train.ts, one
 * moment vector over every parameter).
 */
export interface AdamParams {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Kingma & Ba's suggested constants, with their learning rate 0.001 replaced by the caller's. */
export function adamParams(learningRate: number): AdamParams {
  return { learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
}

/** First and second moments of `size` variables, updated in slices (one slice per start). */
export class AdamMoments {
  readonly m: Float64Array;
  readonly v: Float64Array;
  constructor(
    readonly size: number,
    readonly params: AdamParams,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /**
   * Updates the moments of variables off … off+len−1 with the gradient g[gOff …] at step t
   * (1-based, for the bias correction) and writes the step to subtract into out[outOff …].
   */
  step(off: number, len: number, g: Float64Array, gOff: number, t: number, out: Float64Array, outOff: number): void {
    const p = this.params,
      lr = p.learningRate,
      b1 = p.beta1,
      b2 = p.beta2,
      eps = p.epsilon;
    const c1 = 1 - b1 ** t,
      c2 = 1 - b2 ** t;
    const M = this.m,
      V = this.v;
    for (let i = 0; i < len; i++) {
      const o = off + i,
        gi = g[gOff + i];
      M[o] = b1 * M[o] + (1 - b1) * gi;
      V[o] = b2 * V[o] + (1 - b2) * gi * gi;
      out[outOff + i] = (lr * (M[o] / c1)) / (Math.sqrt(V[o] / c2) + eps);
    }
  }
}
