/**
 * A compact L-BFGS minimiser for the trainer's final polish (full-batch, smooth loss).
 *
 * - Search direction: the two-loop recursion, Nocedal & Wright, *Numerical Optimization*
 *   (2nd ed.), Algorithm 7.4, with H₀ = γI, γ = sᵀy / yᵀy (eq. 7.20).
 * - Outer loop: N&W Algorithm 7.5; a pair (s, y) is stored only when sᵀy > 0 is safely
 *   positive, so the implicit inverse Hessian stays positive definite.
 * - Step length: a strong-Wolfe line search, N&W Algorithm 3.5 (bracketing) and 3.6 (zoom)
 *   with safeguarded cubic interpolation (the same conditions Moré–Thuente enforce).
 *
 * Every accepted step satisfies the Armijo condition, so the loss never increases: when the
 * line search cannot find such a step, the minimiser stops at the current point.
 */

/** Loss and gradient at x: writes ∇f(x) into g and returns f(x). */
export type LossAndGradient = (x: Float64Array, g: Float64Array) => number;

export interface LbfgsOptions {
  /** Most outer iterations (default 500). */
  maxIterations?: number;
  /** Number of stored (s, y) pairs (default 10). */
  memory?: number;
  /** Stop when ‖∇f‖∞ ≤ gtol (default 1e-12). */
  gtol?: number;
  /** Stop when (f_k − f_{k+1}) ≤ ftol·max(|f_k|, |f_{k+1}|, tiny) (default 1e-13). */
  ftol?: number;
  /** Called after every accepted step; return true to stop (e.g. validation early stopping). */
  onIteration?: (x: Float64Array, f: number, iteration: number) => boolean | void;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  reason: 'gradient' | 'tolerance' | 'max-iterations' | 'line-search' | 'stopped';
}

/** Armijo (sufficient decrease) and curvature constants, N&W §3.1 (c₁ = 1e-4, c₂ = 0.9 for quasi-Newton). */
const C1 = 1e-4;
const C2 = 0.9;
const MAX_LINE_EVALS = 25;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function normInf(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN (N&W eq. 3.59). */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
}

export function lbfgs(fg: LossAndGradient, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const maxIterations = options.maxIterations ?? 500;
  const m = options.memory ?? 10;
  const gtol = options.gtol ?? 1e-12;
  const ftol = options.ftol ?? 1e-13;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const p = new Float64Array(n);
  const xt = new Float64Array(n),
    gt = new Float64Array(n);
  // the best trial point of the line search that satisfies the Armijo condition
  const xa = new Float64Array(n),
    ga = new Float64Array(n);
  const S = Array.from({ length: m }, () => new Float64Array(n));
  const Y = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  const alphaBuf = new Float64Array(m);
  let stored = 0,
    head = 0; // pairs in use, next slot to overwrite
  let evaluations = 1;
  let f = fg(x, g);
  if (!Number.isFinite(f)) return { x, f, iterations: 0, evaluations, reason: 'line-search' };

  let lastF = NaN; // f at the point held in (xt, gt)
  const evalAt = (alpha: number): { f: number; d: number } => {
    for (let i = 0; i < n; i++) xt[i] = x[i] + alpha * p[i];
    evaluations++;
    const ft = fg(xt, gt);
    lastF = ft;
    // a non-finite trial counts as "too far": the bracketing logic then shrinks the step
    return Number.isFinite(ft) ? { f: ft, d: dot(gt, p) } : { f: Infinity, d: NaN };
  };

  for (let iter = 1; iter <= maxIterations; iter++) {
    if (normInf(g) <= gtol) return { x, f, iterations: iter - 1, evaluations, reason: 'gradient' };

    // two-loop recursion (Alg. 7.4): p = −H·g
    for (let i = 0; i < n; i++) p[i] = -g[i];
    for (let k = 0; k < stored; k++) {
      const j = (head - 1 - k + m) % m;
      alphaBuf[j] = rho[j] * dot(S[j], p);
      const a = alphaBuf[j],
        yj = Y[j];
      for (let i = 0; i < n; i++) p[i] -= a * yj[i];
    }
    if (stored > 0) {
      const j = (head - 1 + m) % m;
      const gamma = dot(S[j], Y[j]) / dot(Y[j], Y[j]);
      for (let i = 0; i < n; i++) p[i] *= gamma;
    }
    for (let k = stored - 1; k >= 0; k--) {
      const j = (head - 1 - k + m) % m;
      const beta = rho[j] * dot(Y[j], p);
      const c = alphaBuf[j] - beta,
        sj = S[j];
      for (let i = 0; i < n; i++) p[i] += c * sj[i];
    }
    let d0 = dot(g, p);
    if (!(d0 < 0)) {
      // not a descent direction (round-off in H): restart from steepest descent
      stored = 0;
      for (let i = 0; i < n; i++) p[i] = -g[i];
      d0 = dot(g, p);
    }

    // strong-Wolfe line search (Alg. 3.5 / 3.6)
    const f0 = f;
    let alpha = stored === 0 ? Math.min(1, 1 / Math.max(Math.sqrt(-d0), 1e-300)) : 1;
    let aPrev = 0,
      fPrev = f0,
      dPrev = d0;
    let accepted = -1; // step length of the point in (xt, gt), or −1
    let armijoF = Infinity,
      armijoAlpha = -1;
    const keepArmijo = (a: number, fa: number): void => {
      if (fa <= f0 + C1 * a * d0 && fa < armijoF) {
        armijoF = fa;
        armijoAlpha = a;
        xa.set(xt);
        ga.set(gt);
      }
    };
    let lineEvals = 0;
    let lo = 0,
      flo = 0,
      dlo = 0,
      hi = 0,
      fhi = 0,
      dhi = 0,
      zoom = false;
    while (lineEvals < MAX_LINE_EVALS) {
      const t = evalAt(alpha);
      lineEvals++;
      keepArmijo(alpha, t.f);
      if (t.f > f0 + C1 * alpha * d0 || (lineEvals > 1 && t.f >= fPrev)) {
        [lo, flo, dlo, hi, fhi, dhi] = [aPrev, fPrev, dPrev, alpha, t.f, t.d];
        zoom = true;
        break;
      }
      if (Math.abs(t.d) <= -C2 * d0) {
        accepted = alpha;
        break;
      }
      if (t.d >= 0) {
        [lo, flo, dlo, hi, fhi, dhi] = [alpha, t.f, t.d, aPrev, fPrev, dPrev];
        zoom = true;
        break;
      }
      [aPrev, fPrev, dPrev] = [alpha, t.f, t.d];
      alpha *= 4;
    }
    while (zoom && accepted < 0 && lineEvals < MAX_LINE_EVALS) {
      const width = hi - lo;
      let a = Number.isFinite(fhi) && Number.isFinite(dhi) ? cubicMin(lo, flo, dlo, hi, fhi, dhi) : NaN;
      const left = Math.min(lo, hi) + 0.1 * Math.abs(width),
        right = Math.max(lo, hi) - 0.1 * Math.abs(width);
      if (!(a >= left && a <= right)) a = lo + 0.5 * width;
      if (Math.abs(width) < 1e-16 * Math.max(1, Math.abs(lo))) break;
      const t = evalAt(a);
      lineEvals++;
      keepArmijo(a, t.f);
      if (t.f > f0 + C1 * a * d0 || t.f >= flo) {
        [hi, fhi, dhi] = [a, t.f, t.d];
      } else {
        if (Math.abs(t.d) <= -C2 * d0) {
          accepted = a;
          break;
        }
        if (t.d * (hi - lo) >= 0) [hi, fhi, dhi] = [lo, flo, dlo];
        [lo, flo, dlo] = [a, t.f, t.d];
      }
    }

    let fNew: number;
    if (accepted >= 0) {
      fNew = lastF; // the accepted point was the last one evaluated
    } else if (armijoAlpha > 0) {
      // no Wolfe point within the budget: take the best sufficient-decrease point
      xt.set(xa);
      gt.set(ga);
      fNew = armijoF;
    } else {
      return { x, f, iterations: iter - 1, evaluations, reason: 'line-search' };
    }

    // store the pair (s, y) = (x⁺ − x, g⁺ − g) when the curvature condition holds
    const s = S[head],
      y = Y[head];
    for (let i = 0; i < n; i++) {
      s[i] = xt[i] - x[i];
      y[i] = gt[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y)) && sy > 0) {
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      stored = Math.min(stored + 1, m);
    }
    x.set(xt);
    g.set(gt);
    f = fNew;
    if (options.onIteration?.(x, f, iter)) return { x, f, iterations: iter, evaluations, reason: 'stopped' };
    if (f0 - f <= ftol * Math.max(Math.abs(f0), Math.abs(f), 1e-300)) {
      return { x, f, iterations: iter, evaluations, reason: 'tolerance' };
    }
  }
  return { x, f, iterations: maxIterations, evaluations, reason: 'max-iterations' };
}
