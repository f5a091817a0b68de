/**
 * The termination module of the iterate loop: when a start is done. Configured per solver.
 *
 *  - lmTermination: residual at round-off level (‖r‖ ≤ 4e−16 of the targets' size), projected
 *    gradient at round-off level (≤ 1e−12·‖r‖), or a negligible step (‖p‖ ≤ 1e−15·‖x‖, both in
 *    box widths); points reached at the iteration cap stop as 'max-iterations' untested.
 *  - toleranceTermination: every residual within its own tolerance (|rᵢ| ≤ tolᵢ), or a projected
 *    gradient below gradTol (box units); points at the iteration cap are tested too.
 */
import type { IterState, StopReason, Termination } from './types.ts';

export function lmTermination(scale: number): Termination {
  const sc = Math.max(1, scale);
  return {
    testAtCap: false,
    atPoint(s: IterState, r: number, optimality: number): StopReason | null {
      const c = s.cost[r];
      const rn = Math.sqrt(2 * c);
      if (rn <= 4e-16 * sc || c === 0) return 'converged';
      if (optimality <= 1e-12 * rn) return 'stationary';
      return null;
    },
    afterStep(s: IterState, r: number, step: Float64Array): StopReason | null {
      const { n, x, width } = s;
      let pn = 0,
        xn = 0;
      for (let j = 0; j < n; j++) {
        pn += (step[j] / width[j]) ** 2;
        xn += (x[r * n + j] / width[j]) ** 2;
      }
      return Math.sqrt(pn) <= 1e-15 * (Math.sqrt(xn) + 1e-15) ? 'small-step' : null;
    },
  };
}

/** tol: per residual, the largest |rᵢ| that counts as met. */
export function toleranceTermination(tol: ArrayLike<number>, gradTol: number): Termination {
  return {
    testAtCap: true,
    atPoint(s: IterState, r: number, optimality: number): StopReason | null {
      const m = s.m;
      let met = true;
      for (let i = 0; i < m; i++) {
        if (!(Math.abs(s.R[r * m + i]) <= tol[i])) {
          met = false;
          break;
        }
      }
      if (met) return 'converged';
      return optimality < gradTol ? 'stationary' : null;
    },
    afterStep(): StopReason | null {
      return null;
    },
  };
}
