/**
 * Branch-and-bound over the unknowns' box (Moore–Skelboe style interval search; Kearfott,
 * Rigorous Global Search, 1996), batched: every round bounds up to BATCH boxes in one engine
 * call.
 *
 * A box is
 *   - excluded when a linear constraint among the inputs (problem/constraints.ts) cannot hold
 *     anywhere in it: the interval of its form over the box misses the constraint widened by its
 *     tolerance (with inequality constraints, a proven-unique box counts only when it lies wholly
 *     inside every one of them);
 *   - excluded with the tolerance when some target's output enclosure misses the target widened
 *     by its tolerance: no point in it meets the targets (this is what `infeasible` needs);
 *   - excluded as root-free (square equality systems) when 0 ∉ F(X) or Krawczyk gives K(X) ∩ X = ∅;
 *     the system (krawczyk.ts SquareSystem) is the equality targets' rows plus one row a·x − b per
 *     equality constraint among the inputs (issue #11), so 0 ∉ F(X) also holds when an equality
 *     constraint's interval over the box misses its exact value;
 *     (with equality constraints and no root anywhere, the root-free boxes are searched once more
 *     with tolerance exclusions only, so an infeasible constrained query is still proven so);
 *   - a proven-unique box when Krawczyk gives K(X) ⊂ int X (square systems): its root is found by
 *     Newton inside it; boxes inside an already proven region are dropped (no cluster effect);
 *   - otherwise split along the unknown with the largest (interval Jacobian × width), or the widest
 *     in box units, slightly off-centre.
 * What remains when the budget runs out is reported, with the fraction of volume proven empty.
 *
 * Boxes the mean-value form keeps are bounded again with linear relaxations (CROWN
 * back-substitution, bounds/crown.ts, by default). Those bounds can be much sharper than what the
 * certificate verifier reproduces: it re-checks each excluded box with plain intervals on at
 * most 2^12 bisection pieces (certificate.ts). So claims that rest on the relaxation alone are
 * checked the way verifyCertificate will check them before any certificate can be built:
 *   - a root-free box by range: one verifier evaluation, at once;
 *   - a tolerance exclusion: when the search is otherwise finished (nothing undecided, budget
 *     left), each such box is re-checked with the verifier's own subdivision; a box it cannot
 *     confirm is withdrawn and split, and its pieces are searched with the mean-value form only
 *     (`plain`), whose smaller boxes the verifier can follow. Runs that end undecided or out of
 *     budget build no certificate and skip the check.
 */
import { intervalMul, nextDown, nextUp } from '../../graph/round.ts';
import { targetTolerance, type Problem } from '../../problem/query.ts';
import { formInterval } from '../../problem/targets.ts';
import { constraintExcludes } from '../../problem/constraints.ts';
import { now, stopRequested, type Budget } from '../../solve/evaluator.ts';
import { runBranchAndBound, SPLIT_FRACTION, type BoundOutcome } from '../../solve/branchAndBound.ts';
import { crownBounds, crownLinearBounds } from '../bounds/crown.ts';
import { linearBounds } from '../bounds/forward.ts';
import { fullBox, krawczyk, newtonInBox, squareSystem, type SquareSystem, inflateRootBox } from './krawczyk.ts';
import { verifierConstraintMiss, verifierConstraintRootFree, verifierMissCheck } from './certificate.ts';
import { formRange, verifierBounds } from './verifier.ts';

export type { BnbResult, ExcludedBox, RootBox } from './bnbResult.ts';
import type { BnbResult, ExcludedBox, RootBox } from './bnbResult.ts';
import { boxInside, insideInequalities, pointInBox } from './rootBoxes.ts';

export interface BnbOptions {
  maxBoxes: number;
  /** Roots already found by the search: tried first with ε-inflation. */
  knownRoots?: Float64Array[];
  /** Smallest box width (box units) below which a box is left undecided. */
  minWidth?: number;
  /** Also use linear relaxations on boxes the mean-value form keeps (default true). */
  linear?: boolean;
  /**
   * Which relaxation, when `linear` is on: CROWN back-substitution (bounds/crown.ts, the default), the
   * forward symbolic bounds (bounds/forward.ts), or both intersected.
   */
  relaxation?: 'crown' | 'forward' | 'both';
  /**
   * Confirm every tolerance exclusion with the independent verifier before finishing (default
   * true), withdrawing and splitting the boxes it cannot follow, so that certificates verify.
   */
  verifyExclusions?: boolean;
  /**
   * The time (now(), ms) the budget's time limit ends, when it has one: batches are sized from
   * the measured time per box so that the last one ends near it, not a whole batch past it.
   */
  deadline?: number;
  /**
   * The boxes to search (default: the query box). Used by a piece of a parallel proof
   * (proof/parallel.ts): the sub-boxes it was handed, each marked `plain` when a relaxation claim
   * on it was withdrawn.
   */
  start?: ProofBox[];
  /** Regions already proven to hold a unique root (by another piece): boxes wholly inside one are dropped, as for the run's own roots; they are not listed in the result. */
  provenRoots?: RootBox[];
  /**
   * Hand the search off (proof/parallel.ts): stop when `splitAt` boxes wait, or at maxBoxes,
   * and return the boxes still waiting as `frontier` (not undecided: budgetHit stays false) after
   * the verifier has confirmed the exclusions made so far (those it cannot confirm are split and
   * searched on, or join the frontier). A run that exhausts the budget (time, evaluations, Ctrl-C)
   * ends as without this option.
   */
  handOff?: { splitAt?: number };
}

/** A box of the search: `plain` when a relaxation claim on it was withdrawn (searched with the mean-value form only). */
export type ProofBox = { lo: number[]; hi: number[]; plain?: boolean };

const BATCH = 256;

export function branchAndBound(problem: Problem, budget: Budget, opts: BnbOptions): BnbResult {
  // Certificates must be ones the independent verifier can re-check: every tolerance exclusion
  // is confirmed by it (its own subdivision) before the search ends, unless turned off.
  const verifyAll = opts.verifyExclusions !== false;
  const net = problem.model.network;
  const n = problem.unknowns.length,
    nIn = net.nIn,
    nOut = net.nOut;
  const W = Array.from(problem.hi, (h, j) => h - problem.lo[j] || 1);
  // a zero-width unknown (lo = hi) counts 1 in every volume: its boxes are all the width there is
  const degenerate = Array.from(problem.hi, (h, j) => h === problem.lo[j]);
  const totalVol = 1;
  // Linear constraints among the inputs: a box that no point of which meets one of them is
  // excluded on its own (interval arithmetic over the box, constraintExcludes). Equality
  // constraints are rows of the square system (squareSystem: targets + equality constraints =
  // unknowns), so Krawczyk proves roots of the constrained system. Inequality constraints are
  // not: a root Krawczyk proves may lie outside them, so a root box is claimed only when the
  // whole box lies inside every inequality (rootBoxes.ts insideInequalities: the certificate verifier's
  // own test); boxes across an inequality's face are split.
  const cons = problem.constraints ?? [];
  const sysFull: SquareSystem | null = squareSystem(problem);
  // The square system in use: set to null for the exclusion-only pass (below) that turns the
  // root-free boxes of a constrained system with no root into tolerance exclusions (infeasible).
  let sys = sysFull;
  const insideAll = (lo: ArrayLike<number>, hi: ArrayLike<number>): boolean => insideInequalities(problem, lo, hi);
  // equality constraints (indices): a box whose form interval misses the exact value holds no root
  const eqCons = cons.flatMap((c, ci) => (c.kind === 'eq' ? [ci] : []));
  const tols = problem.targets.map((t) => targetTolerance(t, problem.atol, problem.rtol));
  const minWidth = opts.minWidth ?? 1e-9;
  const targetOutputs = problem.targetOutputs;
  const m = problem.targets.length;
  // the targets that are forms of several outputs (or a scaled output), and their rows C (× nOut)
  const formRows = problem.targets.flatMap((t, i) => (t.terms.length === 1 && t.terms[0].coef === 1 ? [] : [i]));
  const formC = new Float64Array(formRows.length * nOut);
  formRows.forEach((i, f) => {
    for (const k of problem.targets[i].terms) formC[f * nOut + k.output] += k.coef;
  });
  // a form's exclusion is confirmed by the certificate verifier's own test, which encloses the
  // form by its own mean-value form (natural bounds of the outputs lose their correlation)
  const formCheck = formRows.length && verifyAll ? verifierMissCheck(problem) : null;

  const roots: RootBox[] = [];
  const provenRoots = opts.provenRoots ?? [];
  // proven-unique regions around the roots the search found (ε-inflation)
  let verifyMs = 0,
    msPerBox = 0;
  if (sys) {
    for (const r of opts.knownRoots ?? []) {
      if (budget.exhausted) break;
      if (roots.some((b) => pointInBox(r, b))) continue;
      budget.evaluations += 20;
      budget.jacobians += 10;
      const box = inflateRootBox(sys, r, problem.lo, problem.hi);
      if (box && insideAll(box.lo, box.hi)) roots.push({ lo: Array.from(box.lo), hi: Array.from(box.hi), root: Array.from(r) });
    }
  }

  const excluded: ExcludedBox[] = [];
  const rootFree: BnbResult['rootFree'] = [];
  const undecided: { lo: number[]; hi: number[] }[] = [];
  let excludedVol = 0;
  let lowerBound = Infinity;
  let boxes = 0,
    budgetHit = false;
  // `plain`: searched with the mean-value form only (a relaxation claim there was withdrawn)
  type WorkBox = ProofBox;
  // boxes to search (the driver's FIFO worklist): the query box, then the pieces of withdrawn claims
  let work: WorkBox[] = opts.start ? opts.start.map((b) => ({ ...b })) : [{ lo: Array.from(problem.lo), hi: Array.from(problem.hi) }];
  // handing off: boxes left waiting (returned as `frontier`), and a count of the boxes waiting now
  const handOff = opts.handOff;
  const frontier: WorkBox[] = [];
  let waiting = 0;
  const L = new Float64Array(BATCH * nIn),
    H = new Float64Array(BATCH * nIn);
  const vol = (b: { lo: number[]; hi: number[] }): number => b.lo.reduce((a, l, j) => a * (degenerate[j] ? 1 : (b.hi[j] - l) / W[j]), 1);

  // tolerance exclusions that rest on the relaxation alone, not yet confirmed by the verifier
  let unchecked: { rec: ExcludedBox; cands: { i: number; lo: number; hi: number }[] }[] = [];
  // Split the most influential unknown: the largest smear (Kearfott 1996, §5.1), i.e. the width of
  // its interval times the largest |∂y/∂x| over the box; the widest in box units when that is
  // not available (or not finite).
  const split = (b: WorkBox, smear?: ArrayLike<number>): WorkBox[] => {
    const widths = b.lo.map((l, j) => (b.hi[j] - l) / W[j]);
    let d = widths.indexOf(Math.max(...widths));
    if (smear) {
      let best = -1;
      for (let j = 0; j < widths.length; j++) {
        const v = smear[j];
        if (!(Number.isFinite(v) && widths[j] > 0)) {
          best = -1;
          break;
        }
        if (best < 0 || v > smear[best]) best = j;
      }
      if (best >= 0 && smear[best] > 0) d = best;
    }
    const cut = b.lo[d] + SPLIT_FRACTION * (b.hi[d] - b.lo[d]);
    const a: WorkBox = { lo: b.lo.slice(), hi: b.hi.slice() },
      c: WorkBox = { lo: b.lo.slice(), hi: b.hi.slice() };
    if (b.plain) a.plain = c.plain = true;
    a.hi[d] = cut;
    c.lo[d] = cut;
    return [a, c];
  };

  const closed: BoundOutcome<never, WorkBox> = { kind: 'closed' };
  // one batch: bound every box (mean-value form, then the relaxation), then exclude, prove or split each
  const bound = (batch: readonly WorkBox[]): BoundOutcome<never, WorkBox>[] => {
    const tBatch = now();
    const k = batch.length;
    const out: BoundOutcome<never, WorkBox>[] = new Array(k);
    boxes += k;
    waiting -= k;
    for (let q = 0; q < k; q++) {
      L.set(problem.base, q * nIn);
      H.set(problem.base, q * nIn);
      for (let j = 0; j < n; j++) {
        L[q * nIn + problem.unknowns[j]] = batch[q].lo[j];
        H[q * nIn + problem.unknowns[j]] = batch[q].hi[j];
      }
    }
    // boxes some constraint excludes: index of that constraint (−1: none), with its form's enclosure
    const cex = new Int32Array(k).fill(-1);
    const cenc = new Float64Array(2 * k);
    // boxes where some equality constraint misses its exact value (root-free by range)
    const czero = new Uint8Array(k);
    if (cons.length) {
      const cr = new Float64Array(2);
      for (let q = 0; q < k; q++) {
        for (let c = 0; c < cons.length; c++) {
          // the interval test, confirmed by the certificate verifier's own arithmetic (its rounding is coarser)
          if (constraintExcludes(cons[c], L, H, q * nIn, cr) && verifierConstraintMiss(problem, c, batch[q].lo, batch[q].hi)) {
            cex[q] = c;
            cenc[2 * q] = cr[0];
            cenc[2 * q + 1] = cr[1];
            break;
          }
        }
        if (sys && cex[q] < 0) {
          for (const c of eqCons) {
            formInterval(cons[c].terms, L, H, q * nIn, cr);
            if (cr[0] > cons[c].lo || cr[1] < cons[c].lo) {
              czero[q] = 1;
              break;
            }
          }
        }
      }
    }
    budget.evaluations += 2 * k;
    budget.jacobians += k;
    const yb = meanValueBounds(problem, L.subarray(0, k * nIn), H.subarray(0, k * nIn), k, targetOutputs);
    // enclosures of the targets' forms (k × m): from the outputs' enclosures, and (for a form
    // of several outputs) the mean-value form of the form itself
    const fb = { lo: yb.flo, hi: yb.fhi };
    // the mean-value bounds alone, to tell which claims rest on the relaxation
    const mv = { lo: fb.lo.slice(), hi: fb.hi.slice() };
    if (opts.linear !== false) {
      // boxes the mean-value form did not exclude: try the linear relaxation too
      const keep: number[] = [];
      for (let q = 0; q < k; q++) if (!batch[q].plain && cex[q] < 0 && !excludedBy(problem, fb, q, m, tols)) keep.push(q);
      if (keep.length) {
        const kl = new Float64Array(keep.length * nIn),
          kh = new Float64Array(keep.length * nIn);
        keep.forEach((q, i) => {
          kl.set(L.subarray(q * nIn, (q + 1) * nIn), i * nIn);
          kh.set(H.subarray(q * nIn, (q + 1) * nIn), i * nIn);
        });
        const rx = opts.relaxation ?? 'crown';
        const lbs: { lo: Float64Array; hi: Float64Array }[] = [];
        if (rx !== 'forward') lbs.push(crownBounds(problem, kl, kh, keep.length, targetOutputs));
        if (rx !== 'crown') lbs.push(linearBounds(problem, kl, kh, keep.length));
        for (const lb of lbs) {
          keep.forEach((q, i) => {
            for (let o = 0; o < nOut; o++) {
              if (lb.lo[i * nOut + o] > yb.lo[q * nOut + o]) yb.lo[q * nOut + o] = lb.lo[i * nOut + o];
              if (lb.hi[i * nOut + o] < yb.hi[q * nOut + o]) yb.hi[q * nOut + o] = lb.hi[i * nOut + o];
            }
          });
        }
        // the forms over the tightened output enclosures (interval arithmetic on c·y)
        for (const q of keep) intersectForms(problem, yb, q, nOut, fb, q * m);
        // forms of several outputs: CROWN bounds c·y itself (the specification folded into the
        // last layer: far tighter than combining the outputs' bounds)
        if (rx !== 'forward' && formRows.length) {
          const cl = crownLinearBounds(net, kl, kh, keep.length, formC, formRows.length, { upper: true });
          keep.forEach((q, r) => {
            formRows.forEach((i, f) => {
              const a = cl.lo[r * formRows.length + f],
                b = cl.hi![r * formRows.length + f];
              if (a > fb.lo[q * m + i]) fb.lo[q * m + i] = a;
              if (b < fb.hi[q * m + i]) fb.hi[q * m + i] = b;
            });
          });
        }
      }
    }
    for (let q = 0; q < k; q++) {
      const b = batch[q];
      if (cex[q] >= 0) {
        // no point of the box meets constraint cex[q]: nothing here to find (the certificate
        // verifier re-checks it with its own interval arithmetic)
        excluded.push({ lo: b.lo, hi: b.hi, target: -1, constraint: cex[q], outputLo: cenc[2 * q], outputHi: cenc[2 * q + 1] });
        excludedVol += vol(b);
        continue;
      }
      // smallest possible worst-output miss over the box, and tolerance exclusion
      let boxLB = 0,
        exclTarget = -1,
        zeroOut = czero[q] === 1;
      const exclCandidates: number[] = [];
      problem.targets.forEach((t, i) => {
        const yl = fb.lo[q * m + i],
          yh = fb.hi[q * m + i];
        const miss = yl > t.hi ? nextDown(yl - t.hi) : yh < t.lo ? nextDown(t.lo - yh) : 0;
        if (!(miss >= 0)) return; // NaN bounds: no information
        boxLB = Math.max(boxLB, miss);
        if (miss > tols[i]) exclCandidates.push(i);
        if (t.kind === 'eq' && (yl > t.lo || yh < t.lo)) zeroOut = true;
      });
      // prefer a target the mean-value form excludes on its own; else the claim rests on the relaxation
      const mvTarget = exclCandidates.find((i) => misses(problem, mv, q, m, tols, i)) ?? -1;
      const relaxOnly = mvTarget < 0 && exclCandidates.length > 0;
      exclTarget = mvTarget >= 0 ? mvTarget : (exclCandidates[0] ?? -1);
      // A root-free claim by range, whether it rests on the relaxation or on the mean-value form:
      // the verifier re-checks it with one plain interval evaluation, so one evaluation decides
      // here too (otherwise Krawczyk or splitting settles the box).
      if (zeroOut && sys && exclTarget < 0) {
        budget.evaluations += 1;
        const tv = now();
        if (!verifierRangeRootFree(problem, b)) zeroOut = false;
        verifyMs += now() - tv;
      }
      if (exclTarget >= 0) {
        const rec: ExcludedBox = {
          lo: b.lo,
          hi: b.hi,
          target: exclTarget,
          outputLo: fb.lo[q * m + exclTarget],
          outputHi: fb.hi[q * m + exclTarget],
        };
        excluded.push(rec);
        if (relaxOnly || verifyAll) {
          // the claim rests on the relaxation (or, with verifyAll, on the mean-value form):
          // re-checked before any certificate (below)
          unchecked.push({
            rec,
            cands: exclCandidates.map((i) => ({ i, lo: fb.lo[q * m + i], hi: fb.hi[q * m + i] })),
          });
        }
        excludedVol += vol(b);
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      if (sys && zeroOut) {
        rootFree.push({ lo: b.lo, hi: b.hi, reason: 'range' });
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      if (sys) {
        const lo = Float64Array.from(b.lo),
          hi = Float64Array.from(b.hi);
        budget.evaluations += 2;
        budget.jacobians += 1;
        const v = krawczyk(sys, lo, hi);
        if (v === 'none') {
          rootFree.push({ lo: b.lo, hi: b.hi, reason: 'krawczyk' });
          lowerBound = Math.min(lowerBound, boxLB);
          continue;
        }
        if (v === 'unique' && insideAll(lo, hi)) {
          const mid = lo.map((l, j) => 0.5 * (l + hi[j]));
          const r = newtonInBox(sys, mid, lo, hi);
          if (r) {
            roots.push({ lo: b.lo, hi: b.hi, root: Array.from(r) });
            lowerBound = Math.min(lowerBound, 0);
            continue;
          }
        }
      }
      // split
      const widths = b.lo.map((l, j) => (b.hi[j] - l) / W[j]);
      if (Math.max(...widths) <= minWidth) {
        undecided.push({ lo: b.lo, hi: b.hi });
        lowerBound = Math.min(lowerBound, boxLB);
        continue;
      }
      out[q] = { kind: 'branch', children: split(b, yb.smear.subarray(q * n, q * n + n)) };
      waiting += 2;
    }
    msPerBox = (now() - tBatch) / k;
    for (let q = 0; q < k; q++) out[q] ??= closed;
    return out;
  };
  const splitAt = handOff?.splitAt ?? Infinity;
  for (;;) {
    waiting = work.length;
    const run = runBranchAndBound<WorkBox, never, never>(work, { bound }, {
      order: 'fifo',
      trees: false,
      stop: () => boxes >= opts.maxBoxes || budget.exhausted || waiting >= splitAt,
      // drop boxes entirely inside a proven-unique region (this run's, or another piece's)
      keep: (b) => {
        const k = !roots.some((r) => boxInside(b, r)) && !provenRoots.some((r) => boxInside(b, r));
        if (!k) waiting--;
        return k;
      },
      // with a deadline, a batch no larger than the time left allows (so the limit holds to about one box)
      batchSize: () => {
        let kMax = BATCH;
        if (opts.deadline !== undefined && msPerBox > 0) kMax = Math.max(1, Math.min(BATCH, Math.floor((opts.deadline - now()) / msPerBox)));
        return Math.min(kMax, opts.maxBoxes - boxes);
      },
    });
    work = [];
    if (run.status === 'budget' && handOff && !budget.exhausted) frontier.push(...run.remaining);
    else if (run.status === 'budget') {
      budgetHit = true;
      undecided.push(...run.remaining.map((b) => ({ lo: b.lo, hi: b.hi })));
    }
    // A square system with equality constraints among the inputs and no root at all: its
    // root-free boxes (Krawczyk's K(X) ∩ X = ∅, or 0 ∉ G(X)) hold no exact root but may hold
    // points within tolerance, so they cannot make 'infeasible', and with no root there is no
    // list to call complete. Search them once more with tolerance exclusions only (no square
    // system: split until excluded), as every constrained query was searched before the
    // constraints' rows joined the system, so that such a query can still be proven infeasible.
    if (sys && sys.cons.length && !budgetHit && !undecided.length && !roots.length && rootFree.length) {
      sys = null;
      work = rootFree.map((b) => ({ lo: b.lo, hi: b.hi }));
      rootFree.length = 0;
      continue;
    }
    // Everything decided: a certificate may be built from these boxes, so every claim resting on
    // the relaxation alone must be one the verifier confirms. Those it does not are withdrawn and
    // split; their pieces are searched again (and claimed when the verifier can follow).
    if (budgetHit || undecided.length || !unchecked.length) break;
    const failed = new Set<ExcludedBox>();
    for (const u of unchecked) {
      if (budget.exhausted) {
        budgetHit = true;
        break;
      }
      const calls = { n: 0 };
      const tv = now();
      const ok = u.cands.find((c) => {
        const t = problem.targets[c.i];
        if (formCheck && !(t.terms.length === 1 && t.terms[0].coef === 1)) {
          const r = formCheck(u.rec.lo, u.rec.hi, c.i);
          calls.n += r.evaluations;
          return r.ok;
        }
        return verifierExcludes(problem, u.rec, c.i, tols[c.i], W, VERIFY_DEPTH, calls);
      });
      verifyMs += now() - tv;
      budget.evaluations += calls.n;
      if (ok) {
        u.rec.target = ok.i;
        u.rec.outputLo = ok.lo;
        u.rec.outputHi = ok.hi;
      } else failed.add(u.rec);
    }
    unchecked = [];
    if (budgetHit || !failed.size) break;
    for (let i = excluded.length - 1; i >= 0; i--) {
      const e = excluded[i];
      if (!failed.has(e)) continue;
      excluded.splice(i, 1);
      excludedVol -= vol(e);
      work.push(...split({ lo: e.lo, hi: e.hi, plain: true }));
    }
  }
  // undecided boxes may hold a solution: the lower bound can be no more than 0 then
  if (undecided.length) lowerBound = Math.min(lowerBound, 0);
  if (roots.length) lowerBound = Math.min(lowerBound, 0);
  const excludedFraction = provenFraction(excludedVol / totalVol, undecided.length > 0 || budgetHit);
  return {
    excluded,
    rootFree,
    roots,
    undecided,
    excludedFraction,
    lowerBound: lowerBound === Infinity ? -Infinity : lowerBound,
    boxes,
    budgetHit,
    ...(handOff ? { frontier, minMiss: lowerBound } : {}),
    ...(budgetHit ? { budgetReason: budgetReasonOf(boxes, opts.maxBoxes, budget) } : {}),
    verifyMs,
    square: !!sysFull,
  };
}

/**
 * Depth to which the certificate verifier subdivides an excluded box (certificate.ts MAX_DEPTH;
 * must not exceed it, or B&B would claim boxes the verifier rejects).
 */
const VERIFY_DEPTH = 12;

/**
 * Does the independent verifier show that target `ti` is missed (beyond `tol`) on box b? The
 * same test verifyCertificate makes: verifierBounds, bisecting the widest unknown (in query-box
 * units) at its midpoint, down to `depth` levels.
 */
function verifierExcludes(
  problem: Problem,
  b: { lo: number[]; hi: number[] },
  ti: number,
  tol: number,
  W: number[],
  depth: number,
  calls: { n: number },
): boolean {
  const t = problem.targets[ti];
  const tlo = Number.isFinite(t.lo) ? t.lo - tol : -Infinity,
    thi = Number.isFinite(t.hi) ? t.hi + tol : Infinity;
  const n = b.lo.length;
  const fr = new Float64Array(2);
  const rec = (bx: { lo: number[]; hi: number[] }, d: number): boolean => {
    const { L, H } = fullBox(problem, bx.lo, bx.hi);
    const yb = verifierBounds(problem.model.graph, L, H);
    calls.n++;
    formRange(t.terms, yb.lo, yb.hi, fr);
    if (fr[0] > thi || fr[1] < tlo) return true;
    if (d >= depth) return false;
    let j = 0;
    for (let e = 1; e < n; e++) if ((bx.hi[e] - bx.lo[e]) / W[e] > (bx.hi[j] - bx.lo[j]) / W[j]) j = e;
    const mid = 0.5 * (bx.lo[j] + bx.hi[j]);
    const a = { lo: bx.lo.slice(), hi: bx.hi.slice() },
      c = { lo: bx.lo.slice(), hi: bx.hi.slice() };
    a.hi[j] = mid;
    c.lo[j] = mid;
    return rec(a, d + 1) && rec(c, d + 1);
  };
  try {
    return rec(b, 0);
  } catch {
    return false;
  }
}

/**
 * The verifier's check of a root-free box by range: some equality constraint among the inputs
 * misses its exact value, or (one evaluation) some equality target is missed.
 */
function verifierRangeRootFree(problem: Problem, b: { lo: number[]; hi: number[] }): boolean {
  const cons = problem.constraints ?? [];
  for (let c = 0; c < cons.length; c++) if (cons[c].kind === 'eq' && verifierConstraintRootFree(problem, c, b.lo, b.hi)) return true;
  const { L, H } = fullBox(problem, b.lo, b.hi);
  try {
    const yb = verifierBounds(problem.model.graph, L, H);
    const fr = new Float64Array(2);
    return problem.targets.some((t) => {
      formRange(t.terms, yb.lo, yb.hi, fr);
      return fr[0] > t.lo || fr[1] < t.lo;
    });
  } catch {
    return false;
  }
}

function excludedBy(problem: Problem, fb: { lo: Float64Array; hi: Float64Array }, q: number, m: number, tols: number[]): boolean {
  return problem.targets.some((_, i) => misses(problem, fb, q, m, tols, i));
}

/** Does box q's enclosure of target i's form (fb: k × m) miss the target by more than its tolerance? */
function misses(problem: Problem, fb: { lo: Float64Array; hi: Float64Array }, q: number, m: number, tols: number[], i: number): boolean {
  const t = problem.targets[i];
  const yl = fb.lo[q * m + i],
    yh = fb.hi[q * m + i];
  return yl - t.hi > tols[i] || t.lo - yh > tols[i];
}

const FR = new Float64Array(2);
/** Tighten box q's form enclosures (fb from offset f) with the forms over its output enclosures yb. */
function intersectForms(problem: Problem, yb: { lo: Float64Array; hi: Float64Array }, q: number, nOut: number, fb: { lo: Float64Array; hi: Float64Array }, f: number): void {
  problem.targets.forEach((t, i) => {
    formInterval(t.terms, yb.lo, yb.hi, q * nOut, FR);
    if (FR[0] > fb.lo[f + i]) fb.lo[f + i] = FR[0];
    if (FR[1] < fb.hi[f + i]) fb.hi[f + i] = FR[1];
  });
}

/**
 * Output enclosures over boxes: the natural interval extension intersected with the mean-value
 * form f(X) ⊆ f(c) + F'(X)·(X − c) (Moore 1966; Neumaier 1990 §2.3), whose overestimation
 * shrinks quadratically with the box instead of linearly. F'(X) is the engine's interval
 * Jacobian (which at kinks holds both one-sided derivatives, so this stays sound for
 * piecewise-smooth nets); f(c) is enclosed on the thin box at the centre.
 */
export function meanValueBounds(
  problem: Problem,
  L: Float64Array,
  H: Float64Array,
  k: number,
  outputs: number[],
): { lo: Float64Array; hi: Float64Array; smear: Float64Array; flo: Float64Array; fhi: Float64Array } {
  const net = problem.model.network;
  const nIn = net.nIn,
    nOut = net.nOut,
    n = problem.unknowns.length,
    m = outputs.length;
  const jb = net.jacobianBounds(L, H, k, { wrt: problem.unknowns, of: outputs });
  // smear of each unknown: width × max |∂y/∂x| over the targeted outputs
  const smear = new Float64Array(k * n);
  for (let q = 0; q < k; q++)
    for (let j = 0; j < n; j++) {
      const u = problem.unknowns[j];
      let g = 0;
      for (let i = 0; i < m; i++) g = Math.max(g, Math.abs(jb.lo[(q * m + i) * n + j]), Math.abs(jb.hi[(q * m + i) * n + j]));
      smear[q * n + j] = g * (H[q * nIn + u] - L[q * nIn + u]);
    }
  const C = new Float64Array(k * nIn);
  for (let i = 0; i < k * nIn; i++) C[i] = 0.5 * L[i] + 0.5 * H[i];
  const cb = net.bounds(C, C, k);
  const lo = jb.valueLo,
    hi = jb.valueHi;
  const pr = new Float64Array(2);
  for (let q = 0; q < k; q++) {
    for (let i = 0; i < m; i++) {
      const o = outputs[i];
      let sl = cb.lo[q * nOut + o],
        sh = cb.hi[q * nOut + o];
      for (let j = 0; j < n; j++) {
        const u = problem.unknowns[j];
        const c = C[q * nIn + u];
        const dl = nextDown(L[q * nIn + u] - c),
          dh = nextUp(H[q * nIn + u] - c);
        intervalMul(jb.lo[(q * m + i) * n + j], jb.hi[(q * m + i) * n + j], dl, dh, pr);
        sl = nextDown(sl + pr[0]);
        sh = nextUp(sh + pr[1]);
      }
      if (sl > lo[q * nOut + o]) lo[q * nOut + o] = sl;
      if (sh < hi[q * nOut + o]) hi[q * nOut + o] = sh;
    }
  }
  // The targets' forms c·y: interval arithmetic over the outputs' enclosures, intersected (for a
  // form of several outputs) with the mean-value form of c·y itself,
  //   c·f(X) ⊆ c·f(c) + (Σₖ cₖ F'ₖ(X))·(X − c),
  // which keeps the correlation between the outputs that the per-output enclosures lose.
  const T = problem.targets,
    mT = T.length;
  const flo = new Float64Array(k * mT),
    fhi = new Float64Array(k * mT);
  const fr = new Float64Array(2),
    gr = new Float64Array(2);
  for (let q = 0; q < k; q++) {
    for (let i = 0; i < mT; i++) {
      const t = T[i];
      formInterval(t.terms, lo, hi, q * nOut, fr);
      if (!(t.terms.length === 1 && t.terms[0].coef === 1)) {
        formInterval(t.terms, cb.lo, cb.hi, q * nOut, gr);
        let sl = gr[0],
          sh = gr[1];
        for (let j = 0; j < n; j++) {
          // the form's derivative interval Σₖ cₖ·[∂yₖ] (outward rounded)
          let gl = 0,
            gh = 0;
          for (const term of t.terms) {
            const r = outputs.indexOf(term.output);
            const a = term.coef * jb.lo[(q * m + r) * n + j],
              b = term.coef * jb.hi[(q * m + r) * n + j];
            gl = nextDown(gl + nextDown(Math.min(a, b)));
            gh = nextUp(gh + nextUp(Math.max(a, b)));
          }
          const u = problem.unknowns[j];
          const c = C[q * nIn + u];
          intervalMul(gl, gh, nextDown(L[q * nIn + u] - c), nextUp(H[q * nIn + u] - c), pr);
          sl = nextDown(sl + pr[0]);
          sh = nextUp(sh + pr[1]);
        }
        if (sl > fr[0]) fr[0] = sl;
        if (sh < fr[1]) fr[1] = sh;
      }
      flo[q * mT + i] = fr[0];
      fhi[q * mT + i] = fr[1];
    }
  }
  return { lo, hi, smear, flo, fhi };
}

/** Why a proof stopped with boxes left: a stop was asked for, or which budget ran out first. */
export function budgetReasonOf(boxes: number, maxBoxes: number, budget: Budget): NonNullable<BnbResult['budgetReason']> {
  return stopRequested() ? 'interrupted' : boxes >= maxBoxes ? 'boxes' : budget.evaluations >= budget.maxEvaluations ? 'evaluations' : 'time';
}

/** The share of the box proven empty, never 1 while something is left (rounding in a volume sum must not claim the whole box). */
export function provenFraction(fraction: number, leftOver: boolean): number {
  const f = Math.min(1, fraction);
  return f >= 1 && leftOver ? 1 - 2 ** -53 : f;
}
