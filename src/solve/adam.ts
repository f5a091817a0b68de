/**
 * Adam on the inputs — the thread's "backpropagate to the inputs" answer — as a baseline and
 * fallback (`--method adam`). Kingma & Ba 2015, with projection onto the box, as a configuration
 * of the shared iterate loop (solve/iterate/): AdamDescent (numeric/adam.ts, the trainer's Adam
 * too), a fixed step (FixedStep), and toleranceTermination.
 *
 * Fixed once, before anything was measured (so benchmarks can't tune it):
 *   variables in box units z = (x − lo)/(hi − lo); learning rate 0.01; β₁ = 0.9, β₂ = 0.999,
 *   ε = 1e−8; at most 2000 iterations; stop when every target is met within tolerance, or the
 *   projected gradient (box units) falls below 1e−10.
 * The loss is ½‖r‖² of the same weighted residuals LM uses.
 */
import { targetTolerance } from '../problem/query.ts';
import type { ProblemEvaluator } from './evaluator.ts';
import { AdamDescent } from './iterate/descents.ts';
import { iterate } from './iterate/loop.ts';
import { FixedStep } from './iterate/searches.ts';
import { toleranceTermination } from './iterate/termination.ts';
import type { LMResult } from './lm.ts';

export const ADAM = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxIterations: 2000, gradTol: 1e-10 };

export function adamBatch(ev: ProblemEvaluator, starts: Float64Array, rows: number): LMResult {
  const p = ev.problem;
  const tolR = p.targets.map((t) => targetTolerance(t, p.atol, p.rtol) * t.weight);
  const { learningRate, beta1, beta2, epsilon } = ADAM;
  return iterate(
    {
      n: ev.n,
      m: ev.m,
      lo: p.lo,
      hi: p.hi,
      evaluate: (U, k, R, J) => ev.residualsAndJacobian(U, k, R, J),
      exhausted: () => ev.budget.exhausted,
    },
    {
      descent: new AdamDescent(ev.n, { learningRate, beta1, beta2, epsilon }),
      search: new FixedStep(),
      termination: toleranceTermination(tolR, ADAM.gradTol),
    },
    starts,
    rows,
    ADAM.maxIterations,
  );
}
