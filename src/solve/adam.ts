/**
 * Adam on the inputs — the thread's "backpropagate to the inputs" answer — as a baseline and
 * fallback (`--method adam`). Kingma & Ba 2015, with projection onto the box.
 *
 * Fixed once, before anything was measured (so benchmarks can't tune it):
 *   variables in box units z = (x − lo)/(hi − lo); learning rate 0.01; β₁ = 0.9, β₂ = 0.999,
 *   ε = 1e−8; at most 2000 iterations; stop when every target is met within tolerance, or the
 *   projected gradient (box units) falls below 1e−10.
 * The loss is ½‖r‖² of the same weighted residuals LM uses.
 */
import { targetTolerance } from '../problem/query.ts';
import type { ProblemEvaluator } from './evaluator.ts';
import type { LMResult, LMStop } from './lm.ts';

export const ADAM = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, maxIterations: 2000, gradTol: 1e-10 };

export function adamBatch(ev: ProblemEvaluator, starts: Float64Array, rows: number): LMResult {
  const p = ev.problem;
  const n = ev.n,
    m = ev.m;
  const w = new Float64Array(n);
  for (let j = 0; j < n; j++) w[j] = p.hi[j] - p.lo[j] || 1;
  const x = starts.slice(0, rows * n);
  const mom = new Float64Array(rows * n),
    vel = new Float64Array(rows * n);
  const R = new Float64Array(rows * m),
    J = new Float64Array(rows * m * n);
  const cost = new Float64Array(rows),
    optimality = new Float64Array(rows);
  const iterations = new Int32Array(rows);
  const stop: LMStop[] = new Array(rows).fill('max-iterations');
  const done = new Uint8Array(rows);
  const idx: number[] = [];
  const Xa = new Float64Array(rows * n);
  const tolR = p.targets.map((t) => targetTolerance(t, p.atol, p.rtol) * t.weight);
  const g = new Float64Array(n);
  for (let it = 0; it <= ADAM.maxIterations; it++) {
    idx.length = 0;
    for (let r = 0; r < rows; r++) if (!done[r]) idx.push(r);
    if (!idx.length) break;
    if (ev.budget.exhausted) {
      for (const r of idx) stop[r] = 'budget';
      break;
    }
    idx.forEach((r, q) => Xa.set(x.subarray(r * n, r * n + n), q * n));
    const k = idx.length;
    ev.residualsAndJacobian(Xa, k, R, J);
    for (let q = 0; q < k; q++) {
      const r = idx[q];
      let c = 0,
        met = true;
      for (let i = 0; i < m; i++) {
        const ri = R[q * m + i];
        c += ri * ri;
        if (!(Math.abs(ri) <= tolR[i])) met = false;
      }
      cost[r] = 0.5 * c;
      // gradient in box units: gⱼ = (Jᵀr)ⱼ·wⱼ
      let opt = 0;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < m; i++) s += J[(q * m + i) * n + j] * R[q * m + i];
        g[j] = s * w[j];
        const v = x[r * n + j];
        const pg = (v <= p.lo[j] && g[j] > 0) || (v >= p.hi[j] && g[j] < 0) ? 0 : g[j];
        opt = Math.max(opt, Math.abs(pg));
      }
      optimality[r] = opt;
      if (met) {
        done[r] = 1;
        stop[r] = 'converged';
        continue;
      }
      if (opt < ADAM.gradTol || it === ADAM.maxIterations) {
        done[r] = 1;
        stop[r] = opt < ADAM.gradTol ? 'stationary' : 'max-iterations';
        continue;
      }
      iterations[r]++;
      const t = iterations[r];
      const b1 = 1 - ADAM.beta1 ** t,
        b2 = 1 - ADAM.beta2 ** t;
      for (let j = 0; j < n; j++) {
        const o = r * n + j;
        mom[o] = ADAM.beta1 * mom[o] + (1 - ADAM.beta1) * g[j];
        vel[o] = ADAM.beta2 * vel[o] + (1 - ADAM.beta2) * g[j] * g[j];
        const stepZ = (ADAM.learningRate * (mom[o] / b1)) / (Math.sqrt(vel[o] / b2) + ADAM.epsilon);
        x[o] = Math.min(p.hi[j], Math.max(p.lo[j], x[o] - stepZ * w[j]));
      }
    }
  }
  const active = new Int8Array(rows * n);
  return { rows, x, cost, iterations, stop, optimality, active };
}
