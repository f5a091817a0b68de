/**
 * The reachable range of a linear form of the outputs, c·f(x), over the query's box (given
 * inputs fixed, unknowns in their bounds): min and max by best-first branch-and-bound on the
 * shared driver (solve/branchAndBound.ts) — the Moore–Skelboe algorithm (Skelboe 1974; Moore
 * 1966; Hansen & Walster, Global Optimization Using Interval Analysis, 2004, ch. 12; the
 * best-first rule of Lawler & Wood 1966).
 *
 * For min s·c·f (s = +1 for the minimum, −1 for the maximum) each box gets
 *   - a lower bound: the mean-value form of the form over the box (proof/bnb.ts meanValueBounds:
 *     the natural interval extension ∩ c·f(m) + (Σ cₖ F'ₖ(X))·(X − m)), and where that leaves the
 *     box open (with more than two unknowns), CROWN's bound of the form itself
 *     (bounds/crown.ts crownLinearBounds, Zhang et al. 2018), both rounded outward: sound;
 *   - upper bounds from real points: the box's centre and the vertex the centre's gradient points
 *     down to (the minimiser of the form's tangent plane over the box), each one forward pass.
 * The box with the lowest bound is split next (widest side in box units, off-centre); a box whose
 * bound is within ε of the best value found is closed. When the run ends, for whatever reason,
 * the minimum over every box's bound (closed, open or waiting) is a proven lower end of the range,
 * and the best point found an attained one: the range lies in [lo, ·] and reaches attainedLo.
 *
 * With linear constraints among the inputs (Query.constraints) the range is over the feasible
 * inputs: a box that no point of which meets some constraint (interval arithmetic,
 * constraintExcludes) holds nothing and closes without a bound; the real points are projected
 * into the polytope (solve/polytope.ts) before they are evaluated, so every attained end is met
 * at a feasible input. The bounds of the other boxes are over the whole box, a superset of its
 * feasible part: still sound, if looser.
 */
import { nextDown } from '../../graph/round.ts';
import type { Problem, Target } from '../../problem/query.ts';
import { constraintExcludes, constraintRows } from '../../problem/constraints.ts';
import { formOutputs, formValue, type LinearTerm } from '../../problem/targets.ts';
import { runBranchAndBound, SPLIT_FRACTION, type BoundOutcome } from '../../solve/branchAndBound.ts';
import { now } from '../../solve/evaluator.ts';
import { Polytope } from '../../solve/polytope.ts';
import { crownLinearBounds } from '../bounds/crown.ts';
import { meanValueBounds } from '../proof/bnb.ts';

export interface RangeOptions {
  /** Most boxes per end (min, max). */
  maxBoxes: number;
  /** Absolute deadline (now() clock, ms). */
  deadline?: number;
  /** Use CROWN on top of the mean-value form (default: with more than two unknowns). */
  linear?: boolean;
}

export interface FormRange {
  lo: number;
  hi: number;
  attainedLo: number;
  attainedHi: number;
  /** Unknowns (problem.unknowns order) where attainedLo / attainedHi are attained. */
  argLo: Float64Array;
  argHi: Float64Array;
  proven: boolean;
  tight: boolean;
  boxes: number;
}

interface End {
  bound: number;
  best: number;
  arg: Float64Array;
  boxes: number;
  closed: boolean;
  proven: boolean;
}

const BATCH = 32;

/** The range of the form Σ coef·y[output] over the problem's box (see the file comment). */
export function formRange(problem: Problem, terms: readonly LinearTerm[], opts: RangeOptions): FormRange {
  const a = minimise(problem, terms, 1, opts);
  const b = minimise(problem, terms, -1, opts);
  return {
    lo: a.bound,
    hi: -b.bound,
    attainedLo: a.best,
    attainedHi: -b.best,
    argLo: a.arg,
    argHi: b.arg,
    proven: a.proven && b.proven,
    tight: a.closed && b.closed,
    boxes: a.boxes + b.boxes,
  };
}

interface WorkBox {
  lo: Float64Array;
  hi: Float64Array;
  /** A proven lower bound of the form over the box (the parent's until bounded). */
  lb: number;
}

/** min over the box of s·c·f(x): a proven lower bound, the best value found and where. */
function minimise(problem: Problem, terms: readonly LinearTerm[], s: 1 | -1, opts: RangeOptions): End {
  const net = problem.model.network;
  const n = problem.unknowns.length,
    nIn = net.nIn;
  const sTerms = terms.map((t) => ({ output: t.output, coef: s * t.coef }));
  const outputs = formOutputs([{ terms: sTerms }]);
  const nO = outputs.length;
  // the form as the problem's one target: meanValueBounds encloses the problem's targets' forms
  const target: Target = { terms: sTerms, name: 'range', kind: 'range', lo: -Infinity, hi: Infinity, weight: 1 };
  const sub: Problem = { ...problem, targets: [target], targetOutputs: outputs, reference: null, referenceMask: null };
  const C = new Float64Array(net.nOut);
  for (const t of sTerms) C[t.output] += t.coef;
  const W = Float64Array.from(problem.hi, (h, j) => h - problem.lo[j] || 1);
  const tolAt = (v: number): number => problem.atol + problem.rtol * Math.abs(v);

  let best = Infinity;
  const arg = new Float64Array(n);
  for (let j = 0; j < n; j++) arg[j] = 0.5 * (problem.lo[j] + problem.hi[j]);
  let closedMin = Infinity,
    unresolved = false,
    boxes = 0,
    proven = true,
    // CROWN costs ~10–20 mean-value forms per box; in one or two unknowns the mean-value form's
    // quadratic convergence closes the range faster without it
    linear = opts.linear ?? n > 2;
  const open = new Set<WorkBox>();
  const cons = problem.constraints ?? [];
  const poly = cons.length ? new Polytope(constraintRows(cons, problem.unknowns, problem.base), problem.lo, problem.hi) : null;
  const U = new Float64Array(n),
    P = new Float64Array(n),
    cenc = new Float64Array(2),
    feasible = new Uint8Array(2 * BATCH);
  /** Moves the unknowns of X's row r into the polytope; false when that fails (nothing to count there). */
  const intoPolytope = (r: number): boolean => {
    if (!poly) return true;
    for (let j = 0; j < n; j++) U[j] = X[r * nIn + problem.unknowns[j]];
    if (!poly.project(U, 0, P, 0) || !poly.contains(P)) return false;
    for (let j = 0; j < n; j++) X[r * nIn + problem.unknowns[j]] = P[j];
    return true;
  };
  const L = new Float64Array(BATCH * nIn),
    H = new Float64Array(BATCH * nIn),
    X = new Float64Array(2 * BATCH * nIn),
    G = new Float64Array(n);

  const bound = (batch: readonly WorkBox[]): BoundOutcome<never, WorkBox>[] => {
    const out: BoundOutcome<never, WorkBox>[] = new Array(batch.length);
    // boxes whose parent's bound already rules them out: closed without work; boxes no point of
    // which meets a constraint: closed, holding nothing
    const work: number[] = [];
    for (let q = 0; q < batch.length; q++) {
      if (batch[q].lb >= best - tolAt(best)) {
        closedMin = Math.min(closedMin, batch[q].lb);
        out[q] = { kind: 'closed' };
        continue;
      }
      if (cons.length) {
        const b = batch[q];
        L.set(problem.base, 0);
        H.set(problem.base, 0);
        for (let j = 0; j < n; j++) {
          L[problem.unknowns[j]] = b.lo[j];
          H[problem.unknowns[j]] = b.hi[j];
        }
        if (cons.some((c) => constraintExcludes(c, L, H, 0, cenc))) {
          boxes++;
          out[q] = { kind: 'closed' };
          continue;
        }
      }
      work.push(q);
    }
    const k = work.length;
    if (k === 0) return out;
    boxes += k;
    for (let r = 0; r < k; r++) {
      const b = batch[work[r]];
      L.set(problem.base, r * nIn);
      H.set(problem.base, r * nIn);
      for (let j = 0; j < n; j++) {
        L[r * nIn + problem.unknowns[j]] = b.lo[j];
        H[r * nIn + problem.unknowns[j]] = b.hi[j];
      }
    }
    const Lk = L.subarray(0, k * nIn),
      Hk = H.subarray(0, k * nIn);
    // real points: the centre, then the vertex the centre's gradient points down to
    for (let r = 0; r < k; r++) {
      X.set(problem.base, r * nIn);
      const b = batch[work[r]];
      for (let j = 0; j < n; j++) X[r * nIn + problem.unknowns[j]] = b.lo[j] + 0.5 * (b.hi[j] - b.lo[j]);
      feasible[r] = intoPolytope(r) ? 1 : 0;
    }
    const { J, Y } = net.jacobian(X.subarray(0, k * nIn), k, { wrt: problem.unknowns, of: outputs });
    for (let r = 0; r < k; r++) {
      const b = batch[work[r]];
      G.fill(0);
      for (const t of sTerms) {
        const o = outputs.indexOf(t.output);
        for (let j = 0; j < n; j++) G[j] += t.coef * J[(r * nO + o) * n + j];
      }
      const v = (k + r) * nIn;
      X.set(problem.base, v);
      for (let j = 0; j < n; j++) X[v + problem.unknowns[j]] = G[j] > 0 ? b.lo[j] : G[j] < 0 ? b.hi[j] : b.lo[j] + 0.5 * (b.hi[j] - b.lo[j]);
      feasible[k + r] = intoPolytope(k + r) ? 1 : 0;
      if (feasible[r]) consider(formValue(sTerms, Y, r * net.nOut), X, r * nIn);
    }
    const Yv = net.evaluate(X.subarray(k * nIn, 2 * k * nIn), k);
    for (let r = 0; r < k; r++) if (feasible[k + r]) consider(formValue(sTerms, Yv, r * net.nOut), X, (k + r) * nIn);
    // sound lower bounds: the mean-value form, then CROWN on the boxes it leaves open
    const lbs = new Float64Array(k).fill(-Infinity);
    try {
      const mv = meanValueBounds(sub, Lk, Hk, k, outputs);
      for (let r = 0; r < k; r++) lbs[r] = mv.flo[r];
    } catch {
      proven = false;
    }
    if (linear) {
      const keep: number[] = [];
      for (let r = 0; r < k; r++) if (!(lbs[r] >= best - tolAt(best))) keep.push(r);
      if (keep.length) {
        const kl = new Float64Array(keep.length * nIn),
          kh = new Float64Array(keep.length * nIn);
        keep.forEach((r, i) => {
          kl.set(Lk.subarray(r * nIn, (r + 1) * nIn), i * nIn);
          kh.set(Hk.subarray(r * nIn, (r + 1) * nIn), i * nIn);
        });
        try {
          const cl = crownLinearBounds(net, kl, kh, keep.length, C, 1);
          keep.forEach((r, i) => {
            if (cl.lo[i] > lbs[r]) lbs[r] = cl.lo[i];
          });
        } catch {
          linear = false; // an op without a relaxation: the mean-value form alone
        }
      }
    }
    for (let r = 0; r < k; r++) {
      const q = work[r],
        b = batch[q];
      // a NaN bound says nothing: keep the parent's
      const lb = Math.min(Math.max(b.lb, lbs[r] === lbs[r] ? lbs[r] : -Infinity), best);
      b.lb = lb;
      let widest = 0;
      for (let j = 0; j < n; j++) widest = Math.max(widest, (b.hi[j] - b.lo[j]) / W[j]);
      if (lb >= best - tolAt(best) || widest <= 1e-12) {
        // a box too small to split but not closed by its bound: the range is proven, not tight
        if (!(lb >= best - tolAt(best))) unresolved = true;
        closedMin = Math.min(closedMin, lb);
        out[q] = { kind: 'closed' };
      } else {
        open.add(b);
        out[q] = { kind: 'open', priority: lb };
      }
    }
    return out;
  };
  const consider = (v: number, Xs: Float64Array, off: number): void => {
    if (v < best) {
      best = v;
      for (let j = 0; j < n; j++) arg[j] = Xs[off + problem.unknowns[j]];
    }
  };
  const split = (b: WorkBox): { children: [WorkBox, WorkBox]; record: never } => {
    open.delete(b);
    let d = 0;
    for (let j = 1; j < n; j++) if ((b.hi[j] - b.lo[j]) / W[j] > (b.hi[d] - b.lo[d]) / W[d]) d = j;
    const cut = b.lo[d] + SPLIT_FRACTION * (b.hi[d] - b.lo[d]);
    const l: WorkBox = { lo: b.lo.slice(), hi: b.hi.slice(), lb: b.lb },
      r: WorkBox = { lo: b.lo.slice(), hi: b.hi.slice(), lb: b.lb };
    l.hi[d] = cut;
    r.lo[d] = cut;
    return { children: [l, r], record: undefined as never };
  };
  const run = runBranchAndBound<WorkBox, never, never>([{ lo: Float64Array.from(problem.lo), hi: Float64Array.from(problem.hi), lb: -Infinity }], { bound, split }, {
    order: 'best',
    trees: false,
    batch: BATCH,
    maxBoxes: Infinity,
    maxDepth: 400,
    stop: () => boxes >= opts.maxBoxes || (opts.deadline !== undefined && now() > opts.deadline),
  });
  let lower = closedMin;
  for (const b of open) lower = Math.min(lower, b.lb);
  for (const b of run.remaining) lower = Math.min(lower, b.lb);
  // the form's value at a real point: its float64 evaluation may sit half an ulp-sum above the
  // exact one, so the proven end never exceeds it
  lower = Math.min(lower, nextDown(best));
  const closed = run.status === 'closed' && open.size === 0 && !unresolved;
  return { bound: proven ? lower : best, best, arg, boxes, closed: closed && proven, proven };
}
