/**
 * Bounded Levenberg–Marquardt, run on a batch of starting points at once.
 *
 * Descent: the damped Gauss–Newton step solves, exactly, the box-constrained subproblem
 *     min_p ½‖J p + r‖² + ½λ‖D p‖²   subject to  lo − x ≤ p ≤ hi − x
 * (BoxQP, an active-set method), so steps slide along active bounds instead of stalling
 * there the way clipped steps do — which is exactly where best-compromise optima sit.
 * D is Moré's diagonal scaling (Moré 1978, "The Levenberg–Marquardt algorithm: implementation
 * and theory"): Dᵢ = max over iterations of ‖J₍:,i₎‖, so unknowns of very different magnitude
 * behave alike.
 * Search: the damping follows the gain ratio ρ = actual / predicted reduction (Nielsen 1999,
 * "Damping parameter in Marquardt's method"): accept when ρ > 1e−4; λ ← λ·max(⅓, 1 − (2ρ−1)³)
 * on success, λ ← λ·ν, ν ← 2ν on failure.
 * Termination (per start): residual at round-off level, projected gradient at round-off level,
 * negligible step, iteration cap, or budget. A non-finite trial point counts as a failed step.
 *
 * Every start's Jacobian at its trial point is computed in one batched engine call.
 */
import { BoxQP } from './boxqp.ts';
import { cholesky, choleskySolve } from '../numeric/linalg.ts';
import type { ProblemEvaluator } from './evaluator.ts';

export type LMStop = 'converged' | 'stationary' | 'small-step' | 'max-iterations' | 'budget' | 'singular';

export interface LMResult {
  rows: number;
  /** Final unknowns (rows × n). */
  x: Float64Array;
  /** Final ½‖r‖² per row. */
  cost: Float64Array;
  iterations: Int32Array;
  stop: LMStop[];
  /** Projected-gradient optimality ‖P(Jᵀr)‖∞, gradient measured per box width. */
  optimality: Float64Array;
  /** −1 at lower bound, +1 at upper, 0 free (rows × n). */
  active: Int8Array;
}

export interface LMOptions {
  maxIterations?: number;
}

export function levenbergMarquardt(
  ev: ProblemEvaluator,
  starts: Float64Array,
  rows: number,
  opts: LMOptions = {},
): LMResult {
  const p = ev.problem;
  return lmCore(
    {
      n: ev.n,
      m: ev.m,
      lo: p.lo,
      hi: p.hi,
      evaluate: (U, k, R, J) => ev.residualsAndJacobian(U, k, R, J),
      exhausted: () => ev.budget.exhausted,
      scale: Math.max(1, ...p.targets.map((t) => t.weight * Math.max(Math.abs(t.lo === -Infinity ? 0 : t.lo), Math.abs(t.hi === Infinity ? 0 : t.hi)))),
    },
    starts,
    rows,
    opts.maxIterations ?? 100,
  );
}

/** A least-squares problem over a box, for lmCore. */
export interface LSQ {
  n: number;
  m: number;
  lo: Float64Array;
  hi: Float64Array;
  /** Residuals R (k × m) and Jacobian J (k × m × n) at the k points U. */
  evaluate(U: Float64Array, k: number, R: Float64Array, J: Float64Array): void;
  exhausted(): boolean;
  /** Size of the residuals' reference values (targets): below 4e−16 of it is round-off. Default 1. */
  scale?: number;
}

export function lmCore(f: LSQ, starts: Float64Array, rows: number, maxIterations: number): LMResult {
  const { n, m, lo, hi } = f;
  const scale = Math.max(1, f.scale ?? 1);
  const x = starts.slice(0, rows * n);
  for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) x[r * n + j] = Math.min(hi[j], Math.max(lo[j], x[r * n + j]));
  const R = new Float64Array(rows * m),
    J = new Float64Array(rows * m * n);
  const cost = new Float64Array(rows),
    lambda = new Float64Array(rows),
    nu = new Float64Array(rows).fill(2);
  const D = new Float64Array(rows * n);
  const iterations = new Int32Array(rows);
  const stop: LMStop[] = new Array(rows).fill('max-iterations');
  const done = new Uint8Array(rows);
  const optimality = new Float64Array(rows);
  const active = new Int8Array(rows * n);
  const width = new Float64Array(n);
  for (let j = 0; j < n; j++) width[j] = hi[j] - lo[j] || 1;

  f.evaluate(x, rows, R, J);
  for (let r = 0; r < rows; r++) {
    cost[r] = halfNorm2(R, r * m, m);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += J[(r * m + i) * n + j] ** 2;
      D[r * n + j] = Math.sqrt(s) || 1 / width[j];
    }
    lambda[r] = 1e-3;
    if (!Number.isFinite(cost[r])) {
      done[r] = 1;
      stop[r] = 'singular';
    }
  }

  // Many unknowns (an image, say): the n×n box QP is too costly, so take the damped step in its
  // m×m dual form on the variables not held at a bound, then project onto the box.
  const large = n > LARGE_N;
  const qp = new BoxQP(large ? 0 : n);
  const H = new Float64Array(large ? 0 : n * n),
    g = new Float64Array(n),
    l = new Float64Array(n),
    u = new Float64Array(n),
    step = new Float64Array(n);
  const idx: number[] = [];
  const trialX = new Float64Array(rows * n),
    trialR = new Float64Array(rows * m),
    trialJ = new Float64Array(rows * m * n);
  const pred = new Float64Array(rows);

  for (let it = 0; it < maxIterations; it++) {
    idx.length = 0;
    for (let r = 0; r < rows; r++) {
      if (done[r]) continue;
      // gradient, projected-gradient optimality and the convergence tests
      if (large) gradientOnly(J, R, r, m, n, g);
      else normalEquations(J, R, r, m, n, H, g);
      const opt = projectedGradient(g, x, r, n, lo, hi, width);
      optimality[r] = opt;
      const rn = Math.sqrt(2 * cost[r]);
      if (rn <= 4e-16 * scale || cost[r] === 0) {
        done[r] = 1;
        stop[r] = 'converged';
        continue;
      }
      if (opt <= 1e-12 * rn) {
        done[r] = 1;
        stop[r] = 'stationary';
        continue;
      }
      // damped, box-constrained Gauss–Newton step
      if (large) {
        if (!dualStep(J, R, r, m, n, g, x, lo, hi, D, lambda[r], step)) {
          lambda[r] *= 10;
          if (lambda[r] > 1e20) {
            done[r] = 1;
            stop[r] = 'singular';
          }
          continue;
        }
      } else for (let j = 0; j < n; j++) {
        const d = D[r * n + j];
        H[j * n + j] += lambda[r] * d * d;
        l[j] = lo[j] - x[r * n + j];
        u[j] = hi[j] - x[r * n + j];
      }
      if (!large && !qp.solve(H, g, l, u, step)) {
        lambda[r] *= 10;
        if (lambda[r] > 1e20) {
          done[r] = 1;
          stop[r] = 'singular';
        }
        continue;
      }
      // predicted reduction of the undamped model: −(gᵀp + ½‖Jp‖²)
      let gp = 0,
        jp2 = 0,
        pn = 0,
        xn = 0;
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += J[(r * m + i) * n + j] * step[j];
        jp2 += s * s;
      }
      for (let j = 0; j < n; j++) {
        gp += g[j] * step[j];
        pn += (step[j] / width[j]) ** 2;
        xn += (x[r * n + j] / width[j]) ** 2;
      }
      pred[r] = -(gp + 0.5 * jp2);
      if (Math.sqrt(pn) <= 1e-15 * (Math.sqrt(xn) + 1e-15)) {
        done[r] = 1;
        stop[r] = 'small-step';
        continue;
      }
      const k = idx.length;
      for (let j = 0; j < n; j++) trialX[k * n + j] = Math.min(hi[j], Math.max(lo[j], x[r * n + j] + step[j]));
      idx.push(r);
    }
    if (idx.length === 0) break;
    if (f.exhausted()) {
      for (const r of idx) stop[r] = 'budget';
      for (const r of idx) done[r] = 1;
      break;
    }
    const k = idx.length;
    f.evaluate(trialX, k, trialR, trialJ);
    for (let q = 0; q < k; q++) {
      const r = idx[q];
      iterations[r]++;
      const cNew = halfNorm2(trialR, q * m, m);
      const rho = Number.isFinite(cNew) && pred[r] > 0 ? (cost[r] - cNew) / pred[r] : -1;
      if (rho > 1e-4) {
        x.set(trialX.subarray(q * n, q * n + n), r * n);
        R.set(trialR.subarray(q * m, q * m + m), r * m);
        J.set(trialJ.subarray(q * m * n, (q + 1) * m * n), r * m * n);
        cost[r] = cNew;
        lambda[r] *= Math.max(1 / 3, 1 - (2 * rho - 1) ** 3);
        nu[r] = 2;
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let i = 0; i < m; i++) s += J[(r * m + i) * n + j] ** 2;
          D[r * n + j] = Math.max(D[r * n + j], Math.sqrt(s));
        }
      } else {
        lambda[r] *= nu[r];
        nu[r] *= 2;
        if (lambda[r] > 1e20 || !Number.isFinite(lambda[r])) {
          done[r] = 1;
          stop[r] = cost[r] === 0 ? 'converged' : 'small-step';
        }
      }
    }
  }
  // final optimality and active bounds
  for (let r = 0; r < rows; r++) {
    if (large) gradientOnly(J, R, r, m, n, g);
    else normalEquations(J, R, r, m, n, H, g);
    optimality[r] = projectedGradient(g, x, r, n, lo, hi, width);
    for (let j = 0; j < n; j++) {
      const v = x[r * n + j];
      active[r * n + j] = v <= lo[j] && g[j] > 0 ? -1 : v >= hi[j] && g[j] < 0 ? 1 : 0;
    }
  }
  return { rows, x, cost, iterations, stop, optimality, active };
}

/** Above this many unknowns LM uses the dual-form projected step instead of the exact box QP. */
export const LARGE_N = 48;

/** g = Jᵀr for row r. */
function gradientOnly(J: Float64Array, R: Float64Array, r: number, m: number, n: number, g: Float64Array): void {
  g.fill(0);
  for (let i = 0; i < m; i++) {
    const o = (r * m + i) * n,
      ri = R[r * m + i];
    for (let a = 0; a < n; a++) g[a] += J[o + a] * ri;
  }
}

/**
 * The damped step on the free variables in dual form (push-through identity):
 *   p_F = −D_F⁻²·J_Fᵀ·(J_F·D_F⁻²·J_Fᵀ + λI)⁻¹·r,
 * an m×m solve, with the variables held at a bound (gradient pointing out of the box) fixed,
 * then the step projected onto the box. Used only when n is large, where the exact box QP
 * costs O(n³).
 */
function dualStep(
  J: Float64Array,
  R: Float64Array,
  r: number,
  m: number,
  n: number,
  g: Float64Array,
  x: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  D: Float64Array,
  lambda: number,
  step: Float64Array,
): boolean {
  const A = new Float64Array(m * m),
    w = new Float64Array(m);
  const free = new Uint8Array(n);
  for (let j = 0; j < n; j++) {
    const v = x[r * n + j];
    free[j] = (v <= lo[j] && g[j] > 0) || (v >= hi[j] && g[j] < 0) ? 0 : 1;
  }
  for (let a = 0; a < m; a++) {
    const oa = (r * m + a) * n;
    for (let b = 0; b <= a; b++) {
      const ob = (r * m + b) * n;
      let s = 0;
      for (let j = 0; j < n; j++) if (free[j]) s += (J[oa + j] * J[ob + j]) / (D[r * n + j] * D[r * n + j]);
      A[a * m + b] = A[b * m + a] = s;
    }
    A[a * m + a] += lambda;
    w[a] = R[r * m + a];
  }
  if (!cholesky(A, m)) return false;
  choleskySolve(A, m, w);
  for (let j = 0; j < n; j++) {
    if (!free[j]) {
      step[j] = 0;
      continue;
    }
    let s = 0;
    for (let a = 0; a < m; a++) s += J[(r * m + a) * n + j] * w[a];
    const v = x[r * n + j];
    const pj = -s / (D[r * n + j] * D[r * n + j]);
    step[j] = Math.min(hi[j], Math.max(lo[j], v + pj)) - v;
  }
  return true;
}

function halfNorm2(R: Float64Array, off: number, m: number): number {
  let s = 0;
  for (let i = 0; i < m; i++) s += R[off + i] * R[off + i];
  return 0.5 * s;
}

/** H = JᵀJ, g = Jᵀr for row r. */
function normalEquations(J: Float64Array, R: Float64Array, r: number, m: number, n: number, H: Float64Array, g: Float64Array): void {
  H.fill(0);
  g.fill(0);
  for (let i = 0; i < m; i++) {
    const o = (r * m + i) * n,
      ri = R[r * m + i];
    for (let a = 0; a < n; a++) {
      const ja = J[o + a];
      if (ja === 0) continue;
      g[a] += ja * ri;
      for (let b = 0; b < n; b++) H[a * n + b] += ja * J[o + b];
    }
  }
}

/** ‖P(g)‖∞ in box-width units: components pushing out of an active bound don't count. */
function projectedGradient(
  g: Float64Array,
  x: Float64Array,
  r: number,
  n: number,
  lo: Float64Array,
  hi: Float64Array,
  width: Float64Array,
): number {
  let mx = 0;
  for (let j = 0; j < n; j++) {
    const v = x[r * n + j];
    let gj = g[j];
    if ((v <= lo[j] && gj > 0) || (v >= hi[j] && gj < 0)) gj = 0;
    mx = Math.max(mx, Math.abs(gj) * width[j]);
  }
  return mx;
}
