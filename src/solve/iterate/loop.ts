/**
 * One batched iterate loop for every local solver (optimistix's shape; types.ts):
 *   init:        clip the starts into the box (and project them into the linear constraints,
 *                when the problem has any), evaluate them all in one engine call;
 *   step:        per live start, linearise (descent), test (termination), form the step
 *                (descent, with the search's damping), clip it into the box; then evaluate every
 *                trial point in one engine call and let the search accept or reject each;
 *   terminate:   a start stops when the termination module or the search says so, at the
 *                iteration cap, or for all when the budget runs out;
 *   postprocess: projected-gradient optimality and active bounds at every final point (with
 *                linear constraints: the projected-gradient step onto the polytope, ConstrainedGradient).
 * A start whose first point is not finite stops as 'singular'. Starts never interact: each
 * row's answer is the one it would get alone.
 */
import type { IterateResult, IterState, LSQ, Solver, StopReason } from './types.ts';
import { PolytopeStep, type Polytope } from '../polytope.ts';

export function iterate(f: LSQ, solver: Solver, starts: Float64Array, rows: number, maxIterations: number): IterateResult {
  const { n, m, lo, hi } = f;
  const { descent, search, termination } = solver;
  const x = starts.slice(0, rows * n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) x[r * n + j] = Math.min(hi[j], Math.max(lo[j], x[r * n + j]));
  // linear constraints: a start outside them moves to the nearest feasible point (every step keeps it feasible)
  const poly = f.polytope;
  if (poly && poly.rows.k > 0) for (let r = 0; r < rows; r++) if (!poly.contains(x, r * n)) poly.project(x, r * n, x, r * n);
  const width = new Float64Array(n);
  for (let j = 0; j < n; j++) width[j] = hi[j] - lo[j] || 1;
  // current and trial residuals / Jacobians share one buffer each, so accepting a trial point is
  // a native copyWithin, no views or JS loops in the hot path
  const allR = new Float64Array(2 * rows * m),
    allJ = new Float64Array(2 * rows * m * n);
  const s: IterState = {
    f,
    rows,
    n,
    m,
    x,
    R: allR.subarray(0, rows * m),
    J: allJ.subarray(0, rows * m * n),
    cost: new Float64Array(rows),
    width,
    iterations: new Int32Array(rows),
  };
  const { R, J, cost, iterations } = s;
  const stop: StopReason[] = new Array(rows).fill('max-iterations');
  const done = new Uint8Array(rows);
  const optimality = new Float64Array(rows);

  // init
  f.evaluate(x, rows, R, J);
  for (let r = 0; r < rows; r++) {
    cost[r] = halfNorm2(R, r * m, m);
    if (!Number.isFinite(cost[r])) {
      done[r] = 1;
      stop[r] = 'singular';
    }
  }
  descent.init(s);
  search.init(s);

  const g = new Float64Array(n),
    step = new Float64Array(n);
  const idx: number[] = [];
  const trialX = new Float64Array(rows * n),
    trialR = allR.subarray(rows * m),
    trialJ = allJ.subarray(rows * m * n);
  const last = termination.testAtCap ? maxIterations : maxIterations - 1;
  for (let it = 0; it <= last; it++) {
    // step
    idx.length = 0;
    let retry = false;
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      descent.linearise(s, r, g);
      optimality[r] = projectedGradient(g, x, r * n, n, lo, hi, width);
      let why = termination.atPoint(s, r, optimality[r]);
      if (why === null && it < maxIterations) {
        if (!descent.step(s, r, g, search.damping(r), step)) {
          why = search.descentFailed(r);
          if (why === null) {
            retry = true; // with more damping next round
            continue;
          }
        } else {
          search.predict(s, r, g, step);
          why = termination.afterStep(s, r, step);
        }
      }
      if (why !== null) {
        done[r] = 1;
        stop[r] = why;
        continue;
      }
      if (it === maxIterations) continue;
      const k = idx.length;
      for (let j = 0; j < n; j++) trialX[k * n + j] = Math.min(hi[j], Math.max(lo[j], x[r * n + j] + step[j]));
      idx.push(r);
    }
    if (idx.length === 0) {
      if (retry) continue;
      break;
    }
    // terminate: the budget stops every start still running
    if (f.exhausted()) {
      for (let r = 0; r < rows; r++) {
        if (done[r]) continue;
        stop[r] = 'budget';
        done[r] = 1;
      }
      break;
    }
    const k = idx.length;
    f.evaluate(trialX, k, trialR, trialJ);
    for (let q = 0; q < k; q++) {
      const r = idx[q];
      iterations[r]++;
      const cNew = halfNorm2(trialR, q * m, m);
      const verdict = search.judge(s, r, cNew);
      if (verdict === true) {
        for (let j = 0; j < n; j++) x[r * n + j] = trialX[q * n + j];
        for (let i = 0; i < m; i++) allR[r * m + i] = allR[(rows + q) * m + i];
        const mn = m * n;
        if (mn <= 64) for (let i = 0; i < mn; i++) allJ[r * mn + i] = allJ[(rows + q) * mn + i];
        else allJ.copyWithin(r * mn, (rows + q) * mn, (rows + q + 1) * mn);
        cost[r] = cNew;
        descent.accepted(s, r);
      } else if (verdict !== false) {
        done[r] = 1;
        stop[r] = verdict;
      }
    }
  }

  // postprocess: final optimality and active bounds
  const active = new Int8Array(rows * n);
  const pg = poly && poly.rows.k > 0 ? new ConstrainedGradient(poly, width) : null;
  for (let r = 0; r < rows; r++) {
    descent.linearise(s, r, g);
    optimality[r] = pg ? pg.measure(g, x, r * n) : projectedGradient(g, x, r * n, n, lo, hi, width);
    for (let j = 0; j < n; j++) {
      const v = x[r * n + j];
      active[r * n + j] = v <= lo[j] && g[j] > 0 ? -1 : v >= hi[j] && g[j] < 0 ? 1 : 0;
    }
  }
  return { rows, x, cost, iterations, stop, optimality, active };
}

export function halfNorm2(R: Float64Array, off: number, m: number): number {
  let s = 0;
  for (let i = 0; i < m; i++) s += R[off + i] * R[off + i];
  return 0.5 * s;
}

/** ‖P(g)‖∞ in box-width units: components pushing out of an active bound don't count. */
export function projectedGradient(
  g: Float64Array,
  x: Float64Array,
  off: number,
  n: number,
  lo: Float64Array,
  hi: Float64Array,
  width: Float64Array,
): number {
  let mx = 0;
  for (let j = 0; j < n; j++) {
    const v = x[off + j];
    let gj = g[j];
    if ((v <= lo[j] && gj > 0) || (v >= hi[j] && gj < 0)) gj = 0;
    mx = Math.max(mx, Math.abs(gj) * width[j]);
  }
  return mx;
}

/**
 * Optimality under linear constraints: the projected-gradient step ‖P(x − ∇f) − x‖∞ in box-width
 * units (z = x / w), the standard stationarity measure for a convex feasible set (Conn, Gould &
 * Toint, Trust-Region Methods, 2000, §12.1): 0 exactly at a KKT point. The projection is the QP
 *     min ½Σ(dⱼ/wⱼ)² + gᵀd  over steps d that keep x + d in the polytope (LinQP).
 */
export class ConstrainedGradient {
  private readonly qp: PolytopeStep;
  private readonly H: Float64Array;
  private readonly d: Float64Array;
  constructor(
    readonly poly: Polytope,
    readonly width: Float64Array,
  ) {
    const n = poly.n;
    this.qp = new PolytopeStep(poly);
    this.H = new Float64Array(n * n);
    for (let j = 0; j < n; j++) this.H[j * n + j] = 1 / (width[j] * width[j]);
    this.d = new Float64Array(n);
  }

  measure(g: Float64Array, x: Float64Array, off: number): number {
    const { poly, width, d } = this;
    const n = poly.n;
    if (!this.qp.solve(this.H, g, x, off, poly.lo, poly.hi, d)) return NaN;
    let mx = 0;
    for (let j = 0; j < n; j++) mx = Math.max(mx, Math.abs(d[j]) / width[j]);
    return mx;
  }
}
