/**
 * Attach the explanation (certify/explain/) to an infeasible or best-compromise answer: the
 * library's invert() and certify() call this after their search (and proof), so solve/ never
 * imports certify/. Its budget: options.explainBoxes boxes per range end and conflict step
 * (certify: PROVE_FACTOR times as many), and the time the call has left of options.timeLimit (at
 * least MIN_SHARE of it; invert(): no more than its search took, or SOLVE_FLOOR_MS); whatever the
 * budget leaves unproven is marked so in the explanation.
 */
import { explainResult } from '../certify/explain/explain.ts';
import type { CertifiedResult } from '../certify/certify.ts';
import type { Problem } from '../problem/query.ts';
import { now } from '../solve/evaluator.ts';
import { validateOptions } from '../solve/options.ts';
import type { InvertOptions } from '../solve/invert.ts';

/** certify() gives the explanation this many times the boxes invert() does. */
const PROVE_FACTOR = 10;
/** invert()'s explanation may take as long as its search did, and at least this long (ms). */
const SOLVE_FLOOR_MS = 2000;
/** The explanation may use at least this share of the time limit, even when the search used it all. */
const MIN_SHARE = 0.1;

/**
 * An explanation's budget (see the file comment): its boxes (per range end and conflict step),
 * evaluations, and the time it may take from `t0`; null when explanations are off
 * (explainBoxes 0). api/discreteExplain.ts splits the same budget over the assignments.
 */
export function explanationBudget(options: InvertOptions, prove: boolean, startedAt: number): { t0: number; ms: number; maxBoxes: number; maxEvaluations: number; seed: number } | null {
  const { explainBoxes, timeLimit, maxEvaluations, seed } = validateOptions(options);
  if (explainBoxes === 0) return null;
  const t0 = now();
  const elapsed = t0 - startedAt;
  const left = Number.isFinite(timeLimit) ? Math.max(1000 * timeLimit - elapsed, MIN_SHARE * 1000 * timeLimit) : Infinity;
  // invert(): no longer than the search took (or SOLVE_FLOOR_MS), so a quick answer stays quick
  const ms = prove ? left : Math.min(left, Math.max(elapsed, SOLVE_FLOOR_MS));
  const factor = prove ? PROVE_FACTOR : 1;
  return { t0, ms, maxBoxes: factor * explainBoxes, maxEvaluations: Math.max(1, Math.min(maxEvaluations, factor * 10 * explainBoxes)), seed };
}

export function attachExplanation<R extends CertifiedResult>(problem: Problem, r: R, options: InvertOptions & { linear?: boolean }, prove: boolean, startedAt: number): R {
  if (r.status !== 'infeasible' && r.status !== 'best-compromise') return r;
  const b = explanationBudget(options, prove, startedAt);
  if (!b) return r;
  const t0 = b.t0;
  const explanation = explainResult(problem, r, {
    maxBoxes: b.maxBoxes,
    maxEvaluations: b.maxEvaluations,
    deadline: t0 + b.ms,
    seed: b.seed,
    ...(options.linear !== undefined ? { linear: options.linear } : {}),
  });
  if (explanation) r.explanation = explanation;
  r.stats.timeMs += now() - t0;
  return r;
}
