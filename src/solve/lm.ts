/**
 * Bounded Levenberg–Marquardt, run on a batch of starting points at once: a configuration of
 * the shared iterate loop (solve/iterate/):
 *   descent      the damped Gauss–Newton step solved exactly over the box (BoxQPDescent), or in
 *                its dual form on the free variables for many unknowns (DualProjectedDescent),
 *                both with Moré's scaling (Moré 1978);
 *   search       Nielsen's damping from the gain ratio (Nielsen 1999);
 *   termination  residual or projected gradient at round-off level, negligible step (lmTermination).
 * Steps slide along active bounds instead of stalling there the way clipped steps do — which is
 * exactly where best-compromise optima sit.
 */
import { BoxQPDescent, DualProjectedDescent, LinQPDescent } from './iterate/descents.ts';
import { iterate } from './iterate/loop.ts';
import { NielsenDamping } from './iterate/searches.ts';
import { lmTermination } from './iterate/termination.ts';
import type { IterateResult, LSQ, StopReason } from './iterate/types.ts';
import { problemLsq, type ProblemEvaluator } from './evaluator.ts';

export type LMStop = StopReason;
export type LMResult = IterateResult;
export type { LSQ };

export interface LMOptions {
  maxIterations?: number;
}

export function levenbergMarquardt(
  ev: ProblemEvaluator,
  starts: Float64Array,
  rows: number,
  opts: LMOptions = {},
): LMResult {
  const p = ev.problem;
  return lmCore(
    {
      ...problemLsq(ev),
      scale: Math.max(1, ...p.targets.map((t) => t.weight * Math.max(Math.abs(t.lo === -Infinity ? 0 : t.lo), Math.abs(t.hi === Infinity ? 0 : t.hi)))),
    },
    starts,
    rows,
    opts.maxIterations ?? 100,
  );
}

/** Above this many unknowns LM uses the dual-form projected step instead of the exact box QP. */
export const LARGE_N = 48;

/** Bounded LM on any least-squares problem over a box (closest-to-reference runs it on its augmented Lagrangian). */
export function lmCore(f: LSQ, starts: Float64Array, rows: number, maxIterations: number): LMResult {
  const descent = f.polytope && f.polytope.rows.k > 0 ? new LinQPDescent(f.n, f.polytope) : f.n > LARGE_N ? new DualProjectedDescent(f.n) : new BoxQPDescent(f.n);
  return iterate(f, { descent, search: new NielsenDamping(), termination: lmTermination(f.scale ?? 1) }, starts, rows, maxIterations);
}
