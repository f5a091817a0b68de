/**
 * Discrete unknowns (Query.integers / categorical / oneHot; problem/discrete.ts) for invert() and
 * certify(): every assignment of the discrete unknowns is a branch whose discrete inputs are pinned
 * by point bounds, searched (and, with certify, proven) with the continuous unknowns free inside
 * it — enumeration of the finite integer part, the leaves of a MINLP branch-and-bound over a
 * finite domain (Belotti et al., Acta Numerica 2013, §5). The answer lists the solutions of
 * every branch that has one; "infeasible" is claimed, and proven, only when EVERY branch is
 * proven infeasible (each with its own certificate, in discrete.branches); otherwise, with no
 * branch solved, the nearest answers over the branches are the best compromise.
 */
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';
import { buildProblem, type Problem, type Query } from '../problem/query.ts';
import { assignmentAt, branchQuery, buildDiscrete, givenQuery, type DiscretePlan } from '../problem/discrete.ts';
import { solutionSetDimension } from '../solve/verify.ts';
import type { CertifiedResult } from '../certify/certify.ts';
import type { InvertOptions } from '../solve/invert.ts';
import type { Solution } from '../solve/result.ts';
import { validateOptions } from '../solve/options.ts';
import { now, stopRequested } from '../solve/evaluator.ts';
import { explainBranches } from './discreteExplain.ts';

/** How many of the nearest answers a result with no solution lists (discrete.nearest). */
export const NEAREST_SHOWN = 5;

export type BranchRunner = (problem: Problem, options: InvertOptions & { maxBoxes?: number }) => CertifiedResult;

type Branch = NonNullable<CertifiedResult['discrete']>['branches'][number];

/** A control that does not combine with discrete unknowns yet: a coded error rather than a wrong answer. */
export function refuseDiscreteWith(what: string): never {
  throw new NetinvertError('bad_query', `${what} with discrete unknowns (integers, categorical, one-hot) is not supported yet; drop one of them, or give the discrete inputs' values (--given) and run once per value`);
}

type Options = InvertOptions & { maxBoxes?: number };

/**
 * Search (run = solveProblem) or prove (run = searchAndCertify) every assignment of the discrete
 * unknowns. `prove`: the call proves (its explanation gets a proof's budget, as attachExplanation's).
 */
export function runDiscrete(model: Model, query: Query, options: Options, run: BranchRunner, prove = false): CertifiedResult {
  const d = new BranchDriver(model, query, options, prove);
  for (let b = d.next(); b; b = d.next()) d.done(b, run(b.problem, b.share));
  return d.finish();
}

interface BranchStep {
  assignment: Record<string, number>;
  problem: Problem;
  share: Options;
}

/** The assignments in order, each with its Problem and its share of the budget, and the merge of their answers. */
class BranchDriver {
  private readonly t0 = now();
  private readonly plan: DiscretePlan;
  private readonly deadline: number;
  private readonly maxEvaluations: number;
  private readonly maxBoxes: number;
  private readonly results: { assignment: Record<string, number>; r: CertifiedResult; dim: number; problem: Problem }[] = [];
  private k = 0;
  private timedOut = false;

  constructor(
    private readonly model: Model,
    query: Query,
    private readonly options: Options,
    private readonly prove: boolean,
  ) {
    this.plan = buildDiscrete(model, query);
    const { timeLimit, maxEvaluations, maxBoxes } = validateOptions(options);
    this.deadline = this.t0 + timeLimit * 1000;
    this.maxEvaluations = maxEvaluations;
    this.maxBoxes = maxBoxes;
  }

  next(): BranchStep | null {
    const N = this.plan.assignments,
      k = this.k;
    if (k >= N) return null;
    const assignment = assignmentAt(this.plan, k);
    // each branch builds its own Problem: a user mistake (unknown name, bad bounds) surfaces on the first
    const problem = buildProblem(this.model, branchQuery(this.plan, assignment), { atol: this.options.atol, rtol: this.options.rtol });
    const left = (this.deadline - now()) / 1000;
    // out of time, or a stop was asked for (Ctrl-C): the branches searched so far give the answer
    if (k > 0 && (!(left > 0) || stopRequested())) {
      this.timedOut = true;
      return null;
    }
    this.k++;
    // an equal share of what is left: time over the branches not yet run, evaluations and boxes over all
    const share = {
      ...this.options,
      timeLimit: Number.isFinite(left) ? Math.max(left, 1e-3) / (N - k) : Infinity,
      maxEvaluations: Math.max(1, Math.floor(this.maxEvaluations / N)),
      maxBoxes: Math.max(1, Math.floor(this.maxBoxes / N)),
    };
    return { assignment, problem, share };
  }

  done(b: BranchStep, r: CertifiedResult): void {
    // the solution set's dimension over the continuous unknowns only (the pinned ones are not free)
    let dim = 0;
    if (r.status === 'solved' && b.problem.unknowns.length > pinnedCount(this.plan)) {
      const pc = buildProblem(this.model, givenQuery(this.plan, b.assignment), { atol: this.options.atol, rtol: this.options.rtol });
      for (const sol of r.solutions) dim = Math.max(dim, solutionSetDimension(pc, pc.unknownNames.map((k) => sol.unknowns[k])));
    }
    this.results.push({ assignment: b.assignment, r, dim, problem: b.problem });
  }

  finish(): CertifiedResult {
    const out = mergeBranches(this.plan, this.results, this.timedOut, now() - this.t0);
    if (out.status === 'infeasible' || out.status === 'best-compromise') {
      const t1 = now();
      const e = explainBranches(this.results, this.options, this.prove, this.t0);
      if (e) out.explanation = e;
      else if (validateOptions(this.options).explainBoxes > 0) {
        out.warnings = [...out.warnings, `no explanation: explaining the ${this.results.length} assignments of the discrete unknowns ran out of time (raise --time-limit)`];
      }
      out.stats.timeMs += now() - t1;
    }
    return out;
  }
}

function pinnedCount(plan: DiscretePlan): number {
  return plan.vars.reduce((a, v) => a + v.inputs.length, 0);
}

function mergeBranches(plan: DiscretePlan, results: { assignment: Record<string, number>; r: CertifiedResult; dim: number }[], timedOut: boolean, timeMs: number): CertifiedResult {
  const N = plan.assignments;
  const searched = results.length;
  const names = plan.vars.map((v) => v.name).join(', ');
  const pinned = new Map<string, { lo: number; hi: number; source: CertifiedResult['query']['bounds'][number]['source'] }>();
  for (const v of plan.vars) v.inputs.forEach((k, i) => pinned.set(k, v.boxes[i]));
  const branches: Branch[] = results.map(({ assignment, r }) => {
    const miss = r.status === 'solved' ? 0 : (r.best?.maxMiss ?? null);
    return { assignment, status: r.status, proven: r.proven, maxMiss: miss, ...(r.certificate ? { certificate: r.certificate } : {}) };
  });
  const solved = results.filter(({ r }) => r.status === 'solved');
  const first = (solved[0] ?? results[0]).r;
  const out: CertifiedResult = { ...first };
  // the discrete inputs' boxes as the user gave them (the branches pinned them to points)
  out.query = { ...first.query, bounds: first.query.bounds.map((b) => (pinned.has(b.input) ? { input: b.input, ...pinned.get(b.input)! } : b)) };
  delete out.certificate;
  delete out.certification;
  delete out.excludedFraction;
  delete out.explanation;
  delete out.best;
  delete out.closest;
  const warnings = [...new Set(results.flatMap(({ r }) => r.warnings))];
  if (timedOut) {
    warnings.push(`the search stopped (time limit or interrupt) after ${searched} of the ${N} assignments of the discrete unknowns (${names}); the others were not searched (raise --time-limit to search them)`);
  }
  // a discrete input sits on its branch's point bounds: that is its value, not an active bound
  for (const { r } of results) for (const sol of [...r.solutions, ...(r.best ? [r.best] : [])]) for (const k of pinned.keys()) delete sol.activeBounds[k];
  const sum = (f: (r: CertifiedResult) => number): number => results.reduce((a, { r }) => a + f(r), 0);
  out.stats = {
    starts: sum((r) => r.stats.starts),
    iterations: sum((r) => r.stats.iterations),
    evaluations: sum((r) => r.stats.evaluations),
    jacobians: sum((r) => r.stats.jacobians),
    timeMs,
  };
  const record: NonNullable<CertifiedResult['discrete']> = {
    variables: plan.vars.map((v) => ({ name: v.name, kind: v.kind, inputs: v.inputs, choices: v.choices.length })),
    assignments: N,
    searched,
    branches,
  };
  out.discrete = record;
  const allSearched = searched === N;
  const continuous = first.query.bounds.length - pinnedCount(plan);
  if (solved.length > 0) {
    out.solutions = solved.flatMap(({ r }) => r.solutions);
    const dim = Math.max(...solved.map((x) => x.dim));
    out.solutionSet = dim > 0 ? { kind: 'continuum', dimension: dim, representatives: out.solutions.length } : { kind: 'isolated', count: out.solutions.length };
    out.status = 'solved';
    // a solved branch with no continuous unknown is its one point: its list is complete as it stands
    out.complete = allSearched && results.every(({ r }) => (r.status === 'solved' && (r.complete || continuous === 0)) || (r.status === 'infeasible' && r.proven));
    out.proven = false;
    const withRef = out.solutions.filter((s) => s.distance !== undefined);
    if (withRef.length) out.closest = withRef.reduce((a, s) => (s.distance! < a.distance! ? s : a));
    out.message =
      `${solved.length} of the ${N} assignments of the discrete unknowns (${names}) meet the targets: ${out.solutions.length} solution${out.solutions.length === 1 ? '' : 's'}` +
      (out.complete ? '; proven complete (every other assignment proven infeasible, each solved one complete)' : allSearched ? '' : ` (${N - searched} assignments not searched)`);
  } else {
    out.solutions = [];
    out.solutionSet = { kind: 'none' };
    const nearest = results
      .map(({ r }) => r.best)
      .filter((s): s is Solution => s !== undefined)
      .sort((a, b) => a.maxMiss - b.maxMiss)
      .slice(0, NEAREST_SHOWN);
    if (nearest.length) out.best = nearest[0];
    const allProven = allSearched && results.every(({ r }) => r.status === 'infeasible' && r.proven);
    const anyUnknown = !allSearched || results.some(({ r }) => r.status === 'unknown');
    out.complete = allProven;
    out.proven = allProven;
    out.status = allProven ? 'infeasible' : anyUnknown ? 'unknown' : 'best-compromise';
    // a proven lower bound on the worst miss over every branch: the smallest of the branches' own
    const lbs = results.map(({ r }) => r.lowerBound);
    if (allSearched && lbs.every((b) => b !== undefined)) out.lowerBound = Math.min(...(lbs as number[]));
    else delete out.lowerBound;
    const near = nearest.length ? `; the nearest: ${nearest.slice(0, 2).map((s) => `${plan.vars.map((v) => v.inputs.map((k) => `${k} = ${s.unknowns[k]}`).join(', ')).join(', ')} (miss ${s.maxMiss.toPrecision(3)})`).join(' and ')}` : '';
    out.message = allProven
      ? `proven: none of the ${N} assignments of the discrete unknowns (${names}) meets the targets (each branch proven infeasible; its certificate is in discrete.branches)${near}`
      : `no assignment of the discrete unknowns (${names}) found that meets the targets (${searched} of ${N} searched)${near}`;
    if (nearest.length) out.discrete = { ...record, nearest };
  }
  out.warnings = warnings;
  return out;
}
