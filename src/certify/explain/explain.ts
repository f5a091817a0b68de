/**
 * Why a query has no solution (issue #12 §2): for an infeasible or best-compromise answer,
 *   - the reachable range of every target's form over the box (range.ts: proven enclosure and
 *     attained values), so "sum can reach only [2.9963, 12.9961]; you asked for 30";
 *   - which targets are reachable on their own (a witness point) or proven unreachable (the
 *     range misses them), and a set of targets that cannot be met together, found by deletion
 *     filtering (Chinneck & Dravnieks, "Locating minimal infeasible constraint sets in linear
 *     programs", ORSA J. Computing 3(2), 1991): drop each target in turn and keep the drop when
 *     what is left is still proven infeasible. Each step is decided by a witness (the search finds
 *     a point meeting the rest: the target is needed) or a proof (branch-and-bound excludes the
 *     whole box: it is not); a step neither decides keeps the target and the set is then not
 *     claimed minimal;
 *   - the least change to each target that is unreachable alone: move its violated end to the
 *     attained end of the range (a point attains it: enough), while moving it to no further than the
 *     proven end (plus the tolerance) is proven not enough; and for the targets together, the
 *     uniform loosening δ between certify's proven lower bound on the worst miss and the best
 *     point's miss.
 * For a target out of reach, widening each unknown's query bounds to its declared domain (training
 * range, else the default box) says whether the bounds are to blame: the range there, and a
 * witness or a proof that the target stays out of reach.
 * The witness of a target alone comes from the range's two attained points: the form is
 * continuous along the segment between them, so bisection on it (Bolzano) finds a point meeting
 * the target whenever the target lies between the attained values; the point is then evaluated
 * afresh and only that evaluation decides.
 */
import { DEFAULT_BOUND, targetMiss, targetTolerance, type Problem, type Target } from '../../problem/query.ts';
import { formOutputs, formValue } from '../../problem/targets.ts';
import { Budget, now } from '../../solve/evaluator.ts';
import { solveProblem } from '../../solve/invert.ts';
import type { Explanation, ReachableRange, SolveResult, TargetRelaxation } from '../../solve/result.ts';
import { branchAndBound } from '../proof/bnb.ts';
import { formRange, type FormRange } from './range.ts';

export interface ExplainOptions {
  /** Branch-and-bound boxes per range end and per conflict step. */
  maxBoxes: number;
  /** Evaluations for each witness search of the conflict steps. */
  maxEvaluations: number;
  /** Absolute deadline (now() clock, ms) for the whole explanation. */
  deadline: number;
  seed: number;
  /** Use linear relaxations (CROWN) in the bounds (default true). */
  linear?: boolean;
}

type Decision = 'feasible' | 'infeasible' | 'undecided';

/** The explanation of an infeasible or best-compromise result (undefined for any other status). */
export function explainResult(problem: Problem, result: SolveResult, opts: ExplainOptions): Explanation | undefined {
  if (result.status !== 'infeasible' && result.status !== 'best-compromise') return undefined;
  const notes: string[] = [];
  const names = problem.unknownNames;
  const rec = (u: Float64Array): Record<string, number> => Object.fromEntries(names.map((k, j) => [k, u[j]]));
  const tols = problem.targets.map((t) => targetTolerance(t, problem.atol, problem.rtol));
  const m = problem.targets.length;

  // 1. the range of every target's form
  const ranges: FormRange[] = [];
  const reachable: Record<string, ReachableRange> = {};
  for (let i = 0; i < m; i++) {
    const t = problem.targets[i];
    const r = formRange(problem, t.terms, { maxBoxes: opts.maxBoxes, deadline: opts.deadline, linear: opts.linear });
    ranges.push(r);
    reachable[t.name] = {
      lo: r.lo,
      hi: r.hi,
      attainedLo: r.attainedLo,
      attainedHi: r.attainedHi,
      argLo: rec(r.argLo),
      argHi: rec(r.argHi),
      proven: r.proven,
      tight: r.tight,
      boxes: r.boxes,
    };
    if (!r.proven) notes.push(`the range of ${t.name} is only sampled: the network has an operation without sound bounds`);
    else if (!r.tight) notes.push(`the range of ${t.name} was not narrowed to the tolerance within the budget: [lo, hi] is proven, the attained values are the best found`);
  }

  // 2. each target on its own
  const alone: Decision[] = problem.targets.map((t, i) => aloneDecision(problem, t, tols[i], ranges[i]));
  const pick = (d: Decision): string[] => problem.targets.filter((_, i) => alone[i] === d).map((t) => t.name);

  // 3. the least change of each target unreachable alone, and what widening one unknown's bounds does
  const relaxations: TargetRelaxation[] = [];
  problem.targets.forEach((t, i) => {
    if (alone[i] !== 'infeasible') return;
    const r = ranges[i];
    const x: TargetRelaxation =
      r.hi < t.lo - tols[i]
        ? { target: t.name, move: 'lower', enough: r.attainedHi, provenLimit: finiteOrNull(r.hi) }
        : { target: t.name, move: 'raise', enough: r.attainedLo, provenLimit: finiteOrNull(r.lo) };
    const widen = widenings(problem, t, tols[i], opts, rec);
    if (widen.length) x.widen = widen;
    relaxations.push(x);
  });

  // 4. a conflicting set
  let conflict: Explanation['conflict'];
  const first = alone.indexOf('infeasible');
  if (first >= 0) {
    // one target alone is out of reach: the smallest conflict there is (the empty set is feasible)
    conflict = { targets: [problem.targets[first].name], proven: true, minimal: true };
  } else if (m >= 2) {
    conflict = deletionFilter(problem, result, alone, opts);
  } else if (alone[0] === 'feasible') {
    // one target, met alone: cannot be (a search result missed it); say nothing wrong
    notes.push(`a point meeting ${problem.targets[0].name} was found while explaining: see reachable.${problem.targets[0].name}.argLo / argHi`);
  }

  const uniform: Explanation['uniform'] = {};
  if (result.best) uniform.enough = result.best.maxMiss;
  if (result.lowerBound !== undefined && result.lowerBound > 0) uniform.atLeast = result.lowerBound;
  if (now() > opts.deadline) notes.push('the explanation ran out of time: what is not proven is marked so');
  return {
    reachable,
    reachableAlone: pick('feasible'),
    unreachableAlone: pick('infeasible'),
    undecidedAlone: pick('undecided'),
    ...(conflict ? { conflict } : {}),
    relaxations,
    ...(uniform.enough !== undefined || uniform.atLeast !== undefined ? { uniform } : {}),
    notes,
  };
}

/** Unknowns whose bounds may be widened, at most this many (each costs a range). */
const MAX_WIDEN = 8;

/**
 * Per unknown with query bounds narrower than its declared domain (the hull with its training
 * range, else with the default box [−DEFAULT_BOUND, DEFAULT_BOUND]): target t's range with that
 * one unknown widened, and whether t is then reached.
 */
function widenings(problem: Problem, t: Target, tol: number, opts: ExplainOptions, rec: (u: Float64Array) => Record<string, number>): NonNullable<TargetRelaxation['widen']> {
  const out: NonNullable<TargetRelaxation['widen']> = [];
  const ranges = problem.model.metadata.inputRanges ?? {};
  for (let j = 0; j < problem.unknowns.length && out.length < MAX_WIDEN; j++) {
    if (problem.boundSource[j] !== 'query' || now() > opts.deadline) continue;
    const name = problem.unknownNames[j];
    const declared = ranges[name];
    const source = declared ? ('training range' as const) : ('default' as const);
    const [dl, dh] = declared ?? [-DEFAULT_BOUND, DEFAULT_BOUND];
    const lo = Math.min(problem.lo[j], dl),
      hi = Math.max(problem.hi[j], dh);
    if (lo === problem.lo[j] && hi === problem.hi[j]) continue;
    const wl = problem.lo.slice(),
      wh = problem.hi.slice();
    wl[j] = lo;
    wh[j] = hi;
    const wide: Problem = { ...problem, lo: wl, hi: wh };
    const r = formRange(wide, t.terms, { maxBoxes: opts.maxBoxes, deadline: opts.deadline, linear: opts.linear });
    const at = segmentWitness(wide, t, tol, r.argLo, r.argHi);
    const reaches = at ? 'yes' : r.proven && (r.hi < t.lo - tol || r.lo > t.hi + tol) ? 'no' : 'undecided';
    out.push({
      input: name,
      bounds: [lo, hi],
      source,
      lo: r.lo,
      hi: r.hi,
      attainedLo: r.attainedLo,
      attainedHi: r.attainedHi,
      proven: r.proven,
      reaches,
      ...(at ? { at: rec(at) } : {}),
    });
  }
  return out;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * One target alone: infeasible when its proven range misses it (beyond the tolerance); feasible
 * when a point is found meeting it (an attained end, or bisection between the two attained points).
 */
function aloneDecision(problem: Problem, t: Target, tol: number, r: FormRange): Decision {
  if (r.proven && (r.hi < t.lo - tol || r.lo > t.hi + tol)) return 'infeasible';
  return segmentWitness(problem, t, tol, r.argLo, r.argHi) ? 'feasible' : 'undecided';
}

/** A point on the segment a → b whose form meets target t within tol (fresh evaluations), or null. */
export function segmentWitness(problem: Problem, t: Target, tol: number, a: Float64Array, b: Float64Array): Float64Array | null {
  const net = problem.model.network;
  const n = a.length;
  const X = problem.base.slice();
  const u = new Float64Array(n);
  const at = (s: number): number => {
    for (let j = 0; j < n; j++) {
      u[j] = Math.min(problem.hi[j], Math.max(problem.lo[j], a[j] + s * (b[j] - a[j])));
      X[problem.unknowns[j]] = u[j];
    }
    return formValue(t.terms, net.evaluate(X, 1));
  };
  const meets = (v: number): boolean => targetMiss(t, v) <= tol;
  let va = at(0);
  if (meets(va)) return u.slice();
  let vb = at(1);
  if (meets(vb)) return u.slice();
  // aim at the end of the target set that lies between the two values
  const goal = va < t.lo ? t.lo : t.hi;
  if (!Number.isFinite(goal) || !((va - goal) * (vb - goal) < 0)) return null;
  let s0 = 0,
    s1 = 1;
  for (let it = 0; it < 200; it++) {
    const s = 0.5 * (s0 + s1);
    if (s === s0 || s === s1) break;
    const v = at(s);
    if (meets(v)) return u.slice();
    if ((v - goal) * (va - goal) > 0) {
      s0 = s;
      va = v;
    } else {
      s1 = s;
      vb = v;
    }
  }
  return null;
}

/** The problem restricted to the targets in `keep` (indices), no reference point. */
function subProblem(problem: Problem, keep: readonly number[]): Problem {
  const targets = keep.map((i) => problem.targets[i]);
  return { ...problem, targets, targetOutputs: formOutputs(targets), reference: null, referenceMask: null, warnings: [] };
}

/**
 * Is the conjunction of the targets `keep` feasible (a point found meeting all), infeasible
 * (branch-and-bound excludes the whole box), or undecided within the budget?
 */
function decide(problem: Problem, keep: readonly number[], alone: readonly Decision[], opts: ExplainOptions, search: boolean): Decision {
  if (keep.length === 1) return alone[keep[0]];
  const sub = subProblem(problem, keep);
  const seconds = (): number => Math.max(0, (opts.deadline - now()) / 1000);
  if (seconds() <= 0) return 'undecided';
  if (search) {
    const r = solveProblem(sub, { seed: opts.seed, maxEvaluations: opts.maxEvaluations, timeLimit: Math.max(1e-3, seconds()), maxStarts: 64 });
    if (r.status === 'solved') return 'feasible';
    if (r.status === 'infeasible' && r.proven) return 'infeasible';
  }
  if (seconds() <= 0) return 'undecided';
  const bnb = branchAndBound(sub, new Budget(Infinity, seconds()), {
    maxBoxes: opts.maxBoxes,
    linear: opts.linear,
    // the steps' claims rest on branch-and-bound's own sound bounds; no certificate is built from them
    verifyExclusions: false,
    deadline: opts.deadline,
  });
  if (!bnb.budgetHit && bnb.undecided.length === 0 && bnb.roots.length === 0 && bnb.rootFree.length === 0) return 'infeasible';
  if (bnb.roots.length > 0) return 'feasible'; // a root proven to exist (Krawczyk) meets every target exactly
  return 'undecided';
}

/** Deletion filtering over the targets (file comment); `alone`: each target's decision on its own. */
function deletionFilter(problem: Problem, result: SolveResult, alone: readonly Decision[], opts: ExplainOptions): NonNullable<Explanation['conflict']> {
  const all = problem.targets.map((_, i) => i);
  const name = (s: readonly number[]): string[] => s.map((i) => problem.targets[i].name);
  // the whole set: proven by the answer, else decided here (the search already failed: bounds only)
  const whole: Decision = result.status === 'infeasible' && result.proven ? 'infeasible' : decide(problem, all, alone, opts, false);
  if (whole !== 'infeasible') {
    return {
      targets: name(all),
      proven: false,
      minimal: false,
      note:
        whole === 'feasible'
          ? 'a point meeting every target was found while explaining (the search missed it): no conflict'
          : 'the targets together were not proven infeasible within the budget (raise --max-boxes, --time-limit or use --prove): no conflicting set is claimed',
    };
  }
  let S = all.slice();
  const open: string[] = [];
  for (const i of all) {
    if (S.length === 1) break;
    const T = S.filter((x) => x !== i);
    const d = decide(problem, T, alone, opts, true);
    if (d === 'infeasible') S = T;
    else if (d === 'undecided') open.push(problem.targets[i].name);
  }
  return {
    targets: name(S),
    proven: true,
    minimal: open.length === 0,
    ...(open.length
      ? { note: `not proven minimal: could not decide within the budget whether the targets are still in conflict without ${open.join(', ')}` }
      : {}),
  };
}
