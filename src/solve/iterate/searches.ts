/**
 * Searches for the iterate loop: how far to trust the descent.
 *
 *  - NielsenDamping: Levenberg–Marquardt's trust via the gain ratio ρ = actual / predicted
 *    reduction of ½‖r‖² (Nielsen 1999, "Damping parameter in Marquardt's method"): accept when
 *    ρ > 1e−4; λ ← λ·max(⅓, 1 − (2ρ−1)³) on success, λ ← λ·ν, ν ← 2ν on failure (give up past
 *    λ = 1e20); a step the descent cannot form raises λ tenfold. The predicted reduction is
 *    that of the undamped model, −(gᵀp + ½‖Jp‖²). A non-finite trial cost counts as a failure.
 *  - FixedStep: every step is taken as it is (Adam's learning rate is its step length).
 */
import type { IterState, Search, StopReason } from './types.ts';

export class NielsenDamping implements Search {
  private lambda = new Float64Array(0);
  private nu = new Float64Array(0);
  private pred = new Float64Array(0);

  constructor(readonly initial = 1e-3) {}

  init(s: IterState): void {
    this.lambda = new Float64Array(s.rows).fill(this.initial);
    this.nu = new Float64Array(s.rows).fill(2);
    this.pred = new Float64Array(s.rows);
  }

  damping(r: number): number {
    return this.lambda[r];
  }

  descentFailed(r: number): StopReason | null {
    this.lambda[r] *= 10;
    return this.lambda[r] > 1e20 ? 'singular' : null;
  }

  predict(s: IterState, r: number, g: Float64Array, step: Float64Array): void {
    const { m, n, J } = s;
    let gp = 0,
      jp2 = 0;
    for (let i = 0; i < m; i++) {
      let q = 0;
      for (let j = 0; j < n; j++) q += J[(r * m + i) * n + j] * step[j];
      jp2 += q * q;
    }
    for (let j = 0; j < n; j++) gp += g[j] * step[j];
    this.pred[r] = -(gp + 0.5 * jp2);
  }

  judge(s: IterState, r: number, trial: number): boolean | StopReason {
    const cost = s.cost[r];
    const rho = Number.isFinite(trial) && this.pred[r] > 0 ? (cost - trial) / this.pred[r] : -1;
    if (rho > 1e-4) {
      this.lambda[r] *= Math.max(1 / 3, 1 - (2 * rho - 1) ** 3);
      this.nu[r] = 2;
      return true;
    }
    this.lambda[r] *= this.nu[r];
    this.nu[r] *= 2;
    if (this.lambda[r] > 1e20 || !Number.isFinite(this.lambda[r])) return cost === 0 ? 'converged' : 'small-step';
    return false;
  }
}

export class FixedStep implements Search {
  init(): void {}
  damping(): number {
    return 0;
  }
  descentFailed(): StopReason | null {
    return 'singular';
  }
  predict(): void {}
  judge(): boolean {
    return true;
  }
}
