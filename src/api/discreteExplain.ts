/**
 * Why no assignment of the discrete unknowns meets the targets (issue #12 §2 for Query.integers /
 * categorical / oneHot): each branch (one assignment, api/discrete.ts) is explained on its own
 * (certify/explain/explain.ts, a share of the explanation budget each), and the branches'
 * explanations are merged into one over the union of the branches:
 *   - reachable[t]: the hull of the branches' ranges ([min lo, max hi] proven when every branch's
 *     is; attained ends from the branches that attain them). The reachable values are the union of
 *     the branches' ranges, so the hull may have gaps (a note says so);
 *   - reachableAlone: met alone in some branch; unreachableAlone: proven out of reach in every
 *     branch; the rest undecided;
 *   - relaxations, per target out of reach alone, per direction: lower its low end to the largest
 *     value a branch below it attains (no branch reaches above the branches' largest proven upper
 *     end below it — with branches above the target too, the target sits in a gap: `gap`), or raise
 *     its high end, symmetrically;
 *   - conflict: the union of the branches' conflicting sets is infeasible in every branch, so
 *     overall (proven when every branch's is); minimal when every branch names the same set and one
 *     of them proved it minimal (each smaller set is met in that branch);
 *   - uniform: the closest miss over the branches is enough; the smallest proven lower bound is not.
 */
import type { CertifiedResult } from '../certify/certify.ts';
import { explainResult } from '../certify/explain/explain.ts';
import type { Problem } from '../problem/query.ts';
import { now } from '../solve/evaluator.ts';
import type { InvertOptions } from '../solve/invert.ts';
import type { Explanation, ReachableRange, TargetRelaxation } from '../solve/result.ts';
import { explanationBudget } from './explain.ts';

export interface ExplainedBranch {
  problem: Problem;
  r: CertifiedResult;
}

/**
 * The merged explanation of branches none of which met the targets, within the call's explanation
 * budget (options.explainBoxes split over the branches; time as attachExplanation gives one call).
 * undefined when explanations are off, or the budget ran out before every branch was explained.
 */
export function explainBranches(branches: readonly ExplainedBranch[], options: InvertOptions, prove: boolean, startedAt: number): Explanation | undefined {
  const budget = explanationBudget(options, prove, startedAt);
  if (!budget || branches.length === 0) return undefined;
  const { t0, ms, maxEvaluations, seed } = budget;
  const N = branches.length;
  const boxes = Math.max(8, Math.ceil(budget.maxBoxes / N));
  const parts: Explanation[] = [];
  for (let b = 0; b < N; b++) {
    const { problem, r } = branches[b];
    const remaining = t0 + ms - now();
    if (!(remaining > 0)) return undefined;
    const e = explainResult(problem, r, {
      maxBoxes: boxes,
      maxEvaluations: Math.max(1, Math.min(maxEvaluations, 10 * boxes)),
      deadline: now() + remaining / (N - b),
      seed,
    });
    if (!e) return undefined;
    parts.push(e);
  }
  return mergeExplanations(parts, N);
}

/** One explanation from the branches' (see the file comment). */
export function mergeExplanations(parts: readonly Explanation[], assignments: number): Explanation {
  const names = Object.keys(parts[0].reachable);
  const reachable: Record<string, ReachableRange> = {};
  for (const t of names) {
    const rs = parts.map((p) => p.reachable[t]);
    const lo = rs.reduce((a, g) => (g.attainedLo < a.attainedLo ? g : a));
    const hi = rs.reduce((a, g) => (g.attainedHi > a.attainedHi ? g : a));
    reachable[t] = {
      lo: Math.min(...rs.map((g) => g.lo)),
      hi: Math.max(...rs.map((g) => g.hi)),
      attainedLo: lo.attainedLo,
      attainedHi: hi.attainedHi,
      argLo: lo.argLo,
      argHi: hi.argHi,
      proven: rs.every((g) => g.proven),
      tight: rs.every((g) => g.tight),
      boxes: rs.reduce((a, g) => a + g.boxes, 0),
    };
  }
  const reachableAlone = names.filter((t) => parts.some((p) => p.reachableAlone.includes(t)));
  const unreachableAlone = names.filter((t) => parts.every((p) => p.unreachableAlone.includes(t)));
  const undecidedAlone = names.filter((t) => !reachableAlone.includes(t) && !unreachableAlone.includes(t));

  const relaxations: TargetRelaxation[] = [];
  for (const t of unreachableAlone) {
    const xs = parts.map((p) => p.relaxations.find((x) => x.target === t)!);
    const both = xs.some((x) => x.move === 'lower') && xs.some((x) => x.move === 'raise');
    for (const move of ['lower', 'raise'] as const) {
      const side = xs.map((x, i) => ({ x, i })).filter(({ x }) => x.move === move);
      if (!side.length) continue;
      const pick = move === 'lower' ? Math.max : Math.min;
      const best = side.reduce((a, c) => (pick(a.x.enough, c.x.enough) === c.x.enough ? c : a));
      const limits = side.map(({ x }) => x.provenLimit);
      relaxations.push({
        target: t,
        move,
        enough: best.x.enough,
        provenLimit: limits.every((v): v is number => v !== null) ? pick(...limits) : null,
        ...(both ? { gap: true, at: parts[best.i].reachable[t][move === 'lower' ? 'argHi' : 'argLo'] } : {}),
      });
    }
  }

  let conflict: Explanation['conflict'];
  const cs = parts.map((p) => p.conflict);
  if (cs.every((c) => c !== undefined)) {
    const union = names.filter((t) => cs.some((c) => c!.targets.includes(t)));
    const same = cs.every((c) => c!.targets.length === union.length);
    conflict = {
      targets: union,
      proven: cs.every((c) => c!.proven),
      minimal: same && cs.some((c) => c!.minimal),
      ...(same ? {} : { note: 'the union of the conflicting sets of the assignments of the discrete unknowns; not shown minimal' }),
    };
  }

  const enough = parts.map((p) => p.uniform?.enough).filter((v): v is number => v !== undefined);
  const atLeast = parts.map((p) => p.uniform?.atLeast);
  const uniform: Explanation['uniform'] = {};
  if (enough.length) uniform.enough = Math.min(...enough);
  if (atLeast.every((v): v is number => v !== undefined)) uniform.atLeast = Math.min(...atLeast);

  const notes = [...new Set(parts.flatMap((p) => p.notes))];
  notes.unshift(`over the ${assignments} assignments of the discrete unknowns: each range is the hull of the assignments' ranges, and the values between them may not be reached`);
  return {
    reachable,
    reachableAlone,
    unreachableAlone,
    undecidedAlone,
    ...(conflict ? { conflict } : {}),
    relaxations,
    ...(uniform.enough !== undefined || uniform.atLeast !== undefined ? { uniform } : {}),
    notes,
  };
}
