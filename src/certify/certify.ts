/**
 * certifyResult(problem, search, options): prove what a search found, or that nothing exists;
 * searchAndCertify(problem, options): the search (solveProblem), then certifyResult. The public
 * certify(model, query, options) in api/certify.ts builds the Problem once and calls the latter.
 *
 *   The search finds candidate solutions; branch-and-bound over the box then
 *   - proves `infeasible` (every box excluded with the tolerance) with a certificate;
 *   - for square equality systems (equality targets + equality constraints among the inputs =
 *     unknowns), proves each root unique in its box (Krawczyk, ε-inflation),
 *     adds any root the search missed, and proves the list complete when nothing is left;
 *   - otherwise reports the fraction of the box proven empty, and a proven lower bound on the
 *     best possible worst-output miss where one can be had.
 *
 * Rules that keep the claims honest:
 *   - every certificate is re-checked by verifyCertificate before it is returned; one it rejects
 *     is never emitted: the claim is withdrawn (status not proven, `complete: false`) and the
 *     message gives the verifier's reason;
 *   - a box proven to hold a root never feeds "infeasible", and a list is never "complete" while
 *     a proven root is missing from it — when no float64 point meets a tolerance below the
 *     resolution of float64, the result says so (unknown, with the best point);
 *   - the time limit covers the whole call: the search gets half of it, branch-and-bound what the
 *     search left, and a certificate is verified only if the time left allows it;
 *   - a proof cut short says so in the message, with the fraction proven (never rounded up).
 */
import type { Model } from '../model.ts';
import { targetTolerance, type Problem } from '../problem/query.ts';
import { formatPercent } from '../numeric/percent.ts';
import { Budget, now } from '../solve/evaluator.ts';
import { rankSolutions, scorePlausibility, solveProblem, type InvertOptions } from '../solve/invert.ts';
import { validateOptions } from '../solve/options.ts';
import type { Solution, SolveResult } from '../solve/result.ts';
import { solutionSetDimension, verifySolution } from '../solve/verify.ts';
import { branchAndBound, type BnbOptions, type BnbResult, type RootBox } from './proof/bnb.ts';
import { distinctRootBoxes, pointInBox, sameRoot } from './proof/rootBoxes.ts';
import { branchAndBoundParallel, type ParallelBnbOptions, type ProofWorkers } from './proof/parallel.ts';
import { buildCertificate, verifyCertificate, type Certificate } from './proof/certificate.ts';
import { nearestFloatRoot, squareSystem } from './proof/krawczyk.ts';

/** A search result after certification: the proof, when one was made (infeasible, or a complete list). */
export interface CertifiedResult extends SolveResult {
  /** The proof, when certification made one (infeasible, or a complete list). */
  certificate?: Certificate;
  /**
   * With anyOf: the clauses searched (SolveResult.clauses), each with its own certificate when
   * that clause (want ∧ clause) was proven infeasible; then there is no top-level certificate.
   */
  clauses?: (NonNullable<SolveResult['clauses']>[number] & { certificate?: Certificate })[];
  /** With discrete unknowns: each branch proven infeasible carries its own certificate (no top-level one then). */
  discrete?: Omit<NonNullable<SolveResult['discrete']>, 'branches'> & { branches: (NonNullable<SolveResult['discrete']>['branches'][number] & { certificate?: Certificate })[] };
}

export interface CertifyOptions extends InvertOptions {
  /** Most boxes branch-and-bound may process (default INVERT_DEFAULTS.maxBoxes, 100 000). */
  maxBoxes?: number;
  /** Use linear relaxation bounds in branch-and-bound (default true). */
  linear?: boolean;
}

/** Share of the time limit the search (invert) may use; the proof gets the rest. */
const SEARCH_SHARE = 0.5;
/** Share of the time limit kept back from branch-and-bound for verifying the certificate. */
const VERIFY_SHARE = 0.1;

/**
 * Search the Problem, then prove: the time limit covers both (the search gets SEARCH_SHARE of
 * it), and maxEvaluations is the budget of each.
 */
export function searchAndCertify(problem: Problem, options: CertifyOptions = {}, startedAt = now()): CertifiedResult {
  const { timeLimit } = validateOptions(options);
  const search = solveProblem(problem, { ...options, ...(Number.isFinite(timeLimit) ? { timeLimit: timeLimit * SEARCH_SHARE } : {}) });
  return certifyResult(problem, search, options, startedAt);
}

/**
 * Prove what `search` (solveProblem's answer to this very Problem) claims, or withdraw it: a new
 * result, `search` is left as it was. options.timeLimit counts from `startedAt` (default: now),
 * so a caller that searched first may pass the time the whole call began.
 */
export function certifyResult(problem: Problem, search: SolveResult, options: CertifyOptions = {}, startedAt = now()): CertifiedResult {
  const p = prepareProof(problem, search, options, startedAt);
  return concludeProof(problem, p, branchAndBound(problem, p.budget, p.bnbOptions), options);
}

/**
 * searchAndCertify with the proof's branch-and-bound shared among `workers` (proof/parallel.ts:
 * the caller supplies the threads). The same claims, checked by the same verifier, as one thread.
 */
export async function searchAndCertifyParallel(problem: Problem, workers: ProofWorkers, options: CertifyOptions = {}, startedAt = now(), parallel: ParallelBnbOptions = {}): Promise<CertifiedResult> {
  const { timeLimit } = validateOptions(options);
  const search = solveProblem(problem, { ...options, ...(Number.isFinite(timeLimit) ? { timeLimit: timeLimit * SEARCH_SHARE } : {}) });
  const p = prepareProof(problem, search, options, startedAt);
  const bnb = await branchAndBoundParallel(problem, p.budget, p.bnbOptions, workers, parallel);
  const r = concludeProof(problem, p, bnb, options);
  r.certification!.workers = workers.size;
  r.certification!.pieces = bnb.pieces;
  if (bnb.failures.length) r.warnings.push(`a proof thread failed (${bnb.failures[0]}): its boxes stay undecided`);
  return r;
}

interface ProofSetup {
  t0: number;
  deadline: number;
  timeLimit: number;
  res: CertifiedResult;
  budget: Budget;
  bnbOptions: BnbOptions;
}

/** The result copy, the proof's budget and branch-and-bound's options (shared by one thread and many). */
function prepareProof(problem: Problem, search: SolveResult, options: CertifyOptions, startedAt: number): ProofSetup {
  const t0 = startedAt;
  const { timeLimit, maxEvaluations, maxBoxes } = validateOptions(options);
  const deadline = t0 + 1000 * timeLimit;
  const secondsLeft = (share = 0): number => (Number.isFinite(timeLimit) ? Math.max(0, (deadline - now()) / 1000 - share * timeLimit) : Infinity);
  // a copy: the lists and records this function edits are new, the solutions are shared unedited
  const res: CertifiedResult = { ...search, solutions: search.solutions.slice(), warnings: search.warnings.slice(), stats: { ...search.stats } };
  const proofSeconds = secondsLeft(VERIFY_SHARE);
  const budget = new Budget(maxEvaluations, proofSeconds);
  const known = res.solutions.map((s) => Float64Array.from(problem.unknownNames.map((k) => s.unknowns[k])));
  // With solutions already found and no square system, no proof of completeness is possible:
  // branch-and-bound only measures the volume proven empty, so give it a small budget.
  // (square: the equality targets plus the equality constraints among the inputs are as many as the unknowns)
  const square = squareSystem(problem) !== null;
  const bnbOptions: BnbOptions = {
    maxBoxes: res.status === 'solved' && !square ? Math.min(maxBoxes, 2000) : maxBoxes,
    knownRoots: known,
    linear: options.linear,
    ...(Number.isFinite(proofSeconds) ? { deadline: now() + 1000 * proofSeconds } : {}),
  };
  return { t0, deadline, timeLimit, res, budget, bnbOptions };
}

/** What branch-and-bound proved, made into the result: the claims, the certificate (verified), the message. */
function concludeProof(problem: Problem, setup: ProofSetup, proof: BnbResult, options: CertifyOptions): CertifiedResult {
  const { t0, deadline, timeLimit, res, budget } = setup;
  // each root once, in the solution list and the certificate alike: root boxes holding the same
  // root merged where the cover allows (proof/rootBoxes.ts)
  const bnb: BnbResult = { ...proof, roots: distinctRootBoxes(problem, proof.roots) };
  const model = problem.model;
  const r = res;
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
  // what invert claimed on its own (1-D interval Newton) stands under --prove only with a verified certificate
  const searchClaim = r.status === 'infeasible' ? 'infeasible' : r.complete ? 'complete' : null;
  let claim: 'infeasible' | 'complete' | null = null;
  const notes: string[] = [];
  let unresolvedOnly = false,
    unconfirmed = false;

  if (nothingLeft && bnb.roots.length === 0 && bnb.rootFree.length === 0) {
    if (r.solutions.length) {
      // cannot happen with sound bounds; never claim infeasible over a verified solution
      r.warnings.push('branch-and-bound excluded a box holding a verified solution: no proof is claimed (please report this)');
    } else claim = 'infeasible';
  } else if (bnb.square && r.solutionSet.kind !== 'continuum' && !bnb.roots.some((rb) => solutionSetDimension(problem, rb.root) > 0)) {
    // A square system whose solutions form a continuum at the tolerance's scale (insignificant
    // singular values) has no isolated-root list to prove complete; otherwise every proven root
    // becomes a solution (deduplicated against the search's).
    const sys = squareSystem(problem)!;
    const tols = problem.targets.map((t) => targetTolerance(t, problem.atol, problem.rtol));
    const clusters = r.solutions.filter((s) => s.cluster);
    const inCluster = (x: ArrayLike<number>): boolean =>
      clusters.some((c) => problem.unknownNames.every((k, j) => c.cluster!.extent[k][0] <= x[j] && x[j] <= c.cluster!.extent[k][1]));
    const sols: Solution[] = [];
    // the root boxes of the listed solutions: a root box holding the same root as one of them adds none (sameRoot)
    const listed: RootBox[] = [];
    const unresolved: { box: { lo: number[]; hi: number[] }; best: Solution }[] = [];
    for (const rb of bnb.roots) {
      if (inCluster(rb.root)) continue; // the cluster stands for it
      let s = verifySolution(problem, rb.root);
      if (!s.meetsTargets) {
        // a tolerance near float64's resolution: look among the neighbouring floats
        const f = nearestFloatRoot(sys, rb.root, rb.lo, rb.hi, tols);
        s = verifySolution(problem, f.x);
      }
      if (!s.meetsTargets) {
        // proven to exist, but no float64 point found meets the tolerance: never dropped silently
        unresolved.push({ box: rb, best: s });
        continue;
      }
      s.proof = 'unique-root';
      s.proofBox = Object.fromEntries(problem.unknownNames.map((k, j) => [k, [rb.lo[j], rb.hi[j]] as [number, number]]));
      if (listed.some((o) => sameRoot(o, rb))) continue;
      listed.push(rb);
      sols.push(s);
    }
    // keep search solutions not inside any proven box (unproven, so the list is not complete)
    for (const s of r.solutions) {
      const inBox = bnb.roots.some((rb) => pointInBox(problem.unknownNames.map((k) => s.unknowns[k]), rb));
      if (!inBox || s.cluster) sols.push(s);
    }
    const unresolvedMsg = unresolved.length ? unresolvedText(problem, unresolved, tols) : '';
    if (sols.length) {
      const allProven = sols.every((s) => s.proof === 'unique-root');
      r.solutions = sols;
      r.status = 'solved';
      const nClusters = sols.filter((s) => s.cluster).length;
      r.solutionSet = { kind: 'isolated', count: sols.length, ...(nClusters ? { clusters: nClusters } : {}) };
      r.complete = false;
      r.best = undefined;
      delete r.best;
      r.message = `${sols.length} solution${sols.length > 1 ? 's' : ''}`;
      if (nothingLeft && allProven && !unresolved.length) claim = 'complete';
      if (unresolvedMsg) notes.push(unresolvedMsg);
    } else if (unresolved.length) {
      r.solutions = [];
      r.status = 'unknown';
      r.proven = false;
      r.complete = false;
      r.solutionSet = { kind: 'none' };
      r.best = unresolved.reduce((p, q) => (q.best.maxMiss < p.best.maxMiss ? q : p)).best;
      r.message = unresolvedMsg;
      unresolvedOnly = true;
    }
  }

  if (claim) {
    const cert = buildCertificate(problem, bnb, claim);
    const verdict = verifyInTime(model, cert, bnb, deadline, timeLimit);
    if (verdict.valid) {
      r.certificate = cert;
      if (claim === 'infeasible') {
        r.status = 'infeasible';
        r.proven = true;
        r.complete = true;
        r.solutions = [];
        r.solutionSet = { kind: 'none' };
        r.message = `proven: no input inside the bounds meets the targets within tolerance (${bnb.excluded.length} box${bnb.excluded.length === 1 ? '' : 'es'}, certificate attached)`;
      } else {
        r.complete = true;
        r.message += ', proven to be all of them (certificate attached)';
      }
    } else {
      claim = null;
      unconfirmed = true;
      notes.push(
        `not proven: ${verdict.reason}; branch-and-bound's own bounds excluded ${formatPercent(bnb.excludedFraction)} of the box, which stays unconfirmed`,
      );
    }
  }
  if (!claim) withdraw(r, searchClaim);
  if (!claim && !unresolvedOnly && !unconfirmed) notes.push(coverage(bnb));
  if (notes.length) r.message += `; ${notes.join('; ')}`;
  if (problem.prior) {
    // proven roots are new solutions: score them, and rank the list as the search did
    scorePlausibility(problem, [...r.solutions, ...(r.best ? [r.best] : [])]);
    rankSolutions(problem, r.solutions, r.closest, validateOptions(options).rank);
  }
  r.stats.timeMs = now() - t0;
  return r;
}

/**
 * verifyCertificate, when the time left allows it: its cost is about what branch-and-bound
 * already spent in the verifier's own checks (bnb.verifyMs). When the limit would be overrun
 * by more than a small margin the certificate is not emitted, and the reason says so.
 */
function verifyInTime(model: Model, cert: Certificate, bnb: BnbResult, deadline: number, timeLimit: number): { valid: boolean; reason: string } {
  if (Number.isFinite(timeLimit)) {
    const margin = Math.max(50, 0.05 * timeLimit * 1000);
    if (now() + 1.2 * bnb.verifyMs > deadline + margin) {
      return { valid: false, reason: 'the time limit ran out before the certificate could be re-checked by the independent verifier (raise --time-limit)' };
    }
  }
  try {
    const v = verifyCertificate(model, cert);
    return v.valid ? v : { valid: false, reason: `the independent verifier rejected the certificate (${v.reason})` };
  } catch (e) {
    return { valid: false, reason: `the independent verifier failed: ${(e as Error).message}` };
  }
}

/** No verified certificate: a claim the search made on its own is withdrawn too (--prove means checked). */
function withdraw(r: CertifiedResult, searchClaim: 'infeasible' | 'complete' | null): void {
  r.certificate = undefined;
  delete r.certificate;
  if (r.complete) r.complete = false;
  if (searchClaim === 'infeasible' && r.status === 'infeasible') {
    r.status = r.best ? 'best-compromise' : 'unknown';
    r.proven = false;
    r.message =
      r.status === 'best-compromise'
        ? 'no input found inside the bounds meets every target; the closest point found is shown'
        : 'no input found inside the bounds meets every target';
  }
  if (r.status === 'solved') r.message = r.message.replace(/ \(proven to be all of them\)/, '');
}

/** What branch-and-bound covered, and why it stopped: for the message (and so the text report). */
function coverage(bnb: BnbResult): string {
  const pct = formatPercent(bnb.excludedFraction);
  const und = `${bnb.undecided.length} box${bnb.undecided.length === 1 ? '' : 'es'} undecided`;
  if (bnb.budgetHit) {
    const why = bnb.budgetReason === 'interrupted' ? 'interrupted' : bnb.budgetReason === 'time' ? 'time limit' : bnb.budgetReason === 'boxes' ? 'box limit, --max-boxes' : 'evaluation limit, --max-evaluations';
    return `the proof ran out of budget (${why}) after ${bnb.boxes} boxes: ${pct} of the box proven to hold no solution, ${und}`;
  }
  return `${pct} of the box proven to hold no solution${bnb.undecided.length ? `, ${und}` : ''}`;
}

function unresolvedText(problem: Problem, unresolved: { box: { lo: number[]; hi: number[] }; best: Solution }[], tols: number[]): string {
  const u = unresolved.reduce((p, q) => (q.best.maxMiss < p.best.maxMiss ? q : p));
  const box = problem.unknownNames.map((k, j) => `${k} in [${u.box.lo[j]}, ${u.box.hi[j]}]`).join(', ');
  return (
    `${unresolved.length === 1 ? 'a root is' : `${unresolved.length} roots are`} proven to exist (${box}${unresolved.length > 1 ? '; …' : ''}), ` +
    `but no float64 input found there meets the tolerance ${Math.min(...tols).toExponential(2)}: the closest misses by ${u.best.maxMiss.toExponential(2)}, ` +
    `about the resolution of float64 for these outputs; raise --atol/--rtol above it`
  );
}
