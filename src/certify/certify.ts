/**
 * certify(model, query, options): search, then prove.
 *
 *   invert() finds candidate solutions; branch-and-bound over the box then
 *   - proves `infeasible` (every box excluded with the tolerance) with a certificate;
 *   - for square equality systems, proves each root unique in its box (Krawczyk, ε-inflation),
 *     adds any root the search missed, and proves the list complete when nothing is left;
 *   - otherwise reports the fraction of the box proven empty, and a proven lower bound on the
 *     best possible worst-output miss where one can be had.
 */
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { Budget } from '../solve/evaluator.ts';
import { invert, withReports, type InvertOptions, type InvertResult } from '../solve/invert.ts';
import type { Solution } from '../solve/result.ts';
import { solutionSetDimension, verifySolution } from '../solve/verify.ts';
import { branchAndBound } from './bnb.ts';
import { buildCertificate } from './certificate.ts';

export interface CertifyOptions extends InvertOptions {
  /** Most boxes branch-and-bound may process (default 100 000). */
  maxBoxes?: number;
  /** Use linear relaxation bounds in branch-and-bound (default true). */
  linear?: boolean;
}

export function certify(model: Model, query: Query, options: CertifyOptions = {}): InvertResult {
  const res = invert(model, query, options);
  const problem = buildProblem(model, query, { atol: options.atol, rtol: options.rtol });
  const budget = new Budget(options.maxEvaluations ?? 2_000_000, options.timeLimit ?? Infinity);
  const known = res.solutions.map((s) => Float64Array.from(problem.unknownNames.map((k) => s.unknowns[k])));
  // With solutions already found and no square system, no proof of completeness is possible:
  // branch-and-bound only measures the volume proven empty, so give it a small budget.
  const square = problem.targets.length === problem.unknowns.length && problem.targets.every((t) => t.kind === 'eq');
  const maxBoxes = options.maxBoxes ?? 100_000;
  const bnb = branchAndBound(problem, budget, {
    maxBoxes: res.status === 'solved' && !square ? Math.min(maxBoxes, 2000) : maxBoxes,
    knownRoots: known,
    linear: options.linear,
  });
  const r = res as InvertResult;
  r.method = `${r.method} + branch-and-bound`;
  r.certification = {
    boxes: bnb.boxes,
    excludedFraction: bnb.excludedFraction,
    undecidedBoxes: bnb.undecided.length,
    budgetHit: bnb.budgetHit,
    rootBoxes: bnb.roots.length,
  };
  r.stats.evaluations += budget.evaluations;
  r.stats.jacobians += budget.jacobians;
  const nothingLeft = bnb.undecided.length === 0 && !bnb.budgetHit;
  if (bnb.lowerBound > 0) r.lowerBound = bnb.lowerBound;

  if (nothingLeft && bnb.roots.length === 0 && bnb.rootFree.length === 0) {
    // every box excluded with the tolerance
    r.status = 'infeasible';
    r.proven = true;
    r.complete = true;
    r.solutions = [];
    r.solutionSet = { kind: 'none' };
    r.message = `proven: no input inside the bounds meets the targets within tolerance (${bnb.excluded.length} boxes, certificate attached)`;
    r.certificate = buildCertificate(problem, bnb, 'infeasible');
    return withReports(r);
  }
  // A square system whose solutions form a continuum at the tolerance's scale (insignificant
  // singular values) has no isolated-root list to prove complete.
  if (bnb.square && r.solutionSet.kind !== 'continuum' && !bnb.roots.some((rb) => solutionSetDimension(problem, rb.root) > 0)) {
    // every proven root becomes a solution (dedupe against the search's)
    const sols: Solution[] = [];
    for (const rb of bnb.roots) {
      const s = verifySolution(problem, rb.root);
      if (!s.meetsTargets) continue;
      s.proof = 'unique-root';
      s.proofBox = Object.fromEntries(problem.unknownNames.map((k, j) => [k, [rb.lo[j], rb.hi[j]] as [number, number]]));
      const dup = sols.some((o) => problem.unknownNames.every((k, j) => o.proofBox![k][0] <= rb.root[j] && rb.root[j] <= o.proofBox![k][1]));
      if (!dup) sols.push(s);
    }
    // keep search solutions not inside any proven box (unproven, so the list is not complete)
    for (const s of r.solutions) {
      const inBox = bnb.roots.some((rb) => problem.unknownNames.every((k, j) => rb.lo[j] <= s.unknowns[k] && s.unknowns[k] <= rb.hi[j]));
      if (!inBox) sols.push(s);
    }
    if (sols.length) {
      const allProven = sols.every((s) => s.proof === 'unique-root');
      r.solutions = sols;
      r.status = 'solved';
      r.solutionSet = { kind: 'isolated', count: sols.length };
      r.complete = nothingLeft && allProven;
      r.best = undefined;
      delete r.best;
      r.message = `${sols.length} solution${sols.length > 1 ? 's' : ''}${r.complete ? ', proven to be all of them (certificate attached)' : ''}`;
      if (r.complete) r.certificate = buildCertificate(problem, bnb, 'complete');
    }
  }
  if (!r.complete && r.status === 'solved') {
    r.message += `; ${(100 * bnb.excludedFraction).toFixed(1)}% of the box proven to hold no solution`;
  }
  return withReports(r);
}
