/**
 * Krawczyk's operator (Krawczyk 1969; Moore 1977; Neumaier, Interval Methods for Systems of
 * Equations, 1990, §5.2) for the square system F (SquareSystem: the equality targets' forms
 * c·y(x) − t, and the equality constraints among the inputs a·x − b) on a box X with midpoint c:
 *     K(X) = c − Y·F(c) + (I − Y·F'(X))·(X − c),    Y ≈ F'(c)⁻¹
 *   - K(X) ⊂ interior(X)  ⇒  F has exactly one zero in X (existence and uniqueness);
 *   - K(X) ∩ X = ∅        ⇒  F has no zero in X.
 * F(c) is enclosed by the engine's bounds on the thin box [c, c]; F'(X) by its interval
 * Jacobian. Every interval operation here is rounded outward.
 *
 * ε-inflation (Rump 1983, "Solving algebraic problems with high accuracy"): around a polished
 * root x̃, try X = x̃ ± ε·width for a decreasing sequence of ε, keeping the largest box that
 * verifies, so the proven-unique region is as large as possible and branch-and-bound boxes do
 * not pile up around the root (the cluster effect).
 */
import { intervalMul, nextDown, nextUp } from '../../graph/round.ts';
import type { Problem } from '../../problem/query.ts';
import type { InputConstraint } from '../../problem/constraints.ts';
import { formInterval, formValue } from '../../problem/targets.ts';

export type KrawczykVerdict = 'unique' | 'none' | 'unknown';

/**
 * Invert a small dense matrix (Gauss–Jordan with partial pivoting). Returns null if singular.
 * Intended duplicate: certificate.ts has its own copy, since the verifier shares no code with the prover.
 */
export function invertMatrix(A: Float64Array, n: number): Float64Array | null {
  const M = A.slice(),
    I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[p * n + c])) p = r;
    if (M[p * n + c] === 0 || !Number.isFinite(M[p * n + c])) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        [M[c * n + k], M[p * n + k]] = [M[p * n + k], M[c * n + k]];
        [I[c * n + k], I[p * n + k]] = [I[p * n + k], I[c * n + k]];
      }
    }
    const d = M[c * n + c];
    for (let k = 0; k < n; k++) {
      M[c * n + k] /= d;
      I[c * n + k] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r * n + c];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        M[r * n + k] -= f * M[c * n + k];
        I[r * n + k] -= f * I[c * n + k];
      }
    }
  }
  return I;
}

/**
 * The square system G(u) = 0 whose roots branch-and-bound proves (issue #11):
 *   rows 0 … m−1:  c_i·y(u) − t_i     one per equality target (its linear form of outputs;
 *                                      a plain output target is one term with coefficient 1),
 *   rows m … n−1:  a_j·x(u) − b_j     one per equality constraint among the inputs
 *                                      (problem/constraints.ts; given inputs at their values),
 * square when m + (#equality constraints) = n unknowns (buildConstraints drops dependent ones).
 * Its Jacobian is [ Σ_k c_ik·∂y_k/∂u ; A ], A the constraints' coefficients over the unknowns
 * (exact floats); residuals are enclosed with outward rounding, the given inputs' part included.
 */
export interface SquareSystem {
  problem: Problem;
  /** The outputs the targets' forms name (problem.targetOutputs): the Jacobian's rows of y. */
  outputs: number[];
  /** Number of target rows m. */
  m: number;
  /** The targets' forms over `outputs` (m × outputs.length). */
  C: Float64Array;
  /** The targets' exact values t_i. */
  values: number[];
  /** True when target row i is a single output with coefficient 1 (its rows are copied exactly). */
  plainRow: boolean[];
  /** The equality constraints among the inputs (rows m … n−1). */
  cons: InputConstraint[];
  /** Their coefficients over the unknowns (cons.length × n). */
  A: Float64Array;
}

export function squareSystem(problem: Problem): SquareSystem | null {
  const n = problem.unknowns.length;
  const cons = (problem.constraints ?? []).filter((c) => c.kind === 'eq');
  const m = problem.targets.length;
  if (m + cons.length !== n || !problem.targets.every((t) => t.kind === 'eq')) return null;
  const outputs = problem.targetOutputs.slice();
  const nO = outputs.length;
  const C = new Float64Array(m * nO);
  problem.targets.forEach((t, i) => {
    for (const k of t.terms) C[i * nO + outputs.indexOf(k.output)] += k.coef;
  });
  const A = new Float64Array(cons.length * n);
  cons.forEach((c, r) => {
    for (const t of c.terms) {
      const j = problem.unknowns.indexOf(t.output);
      if (j >= 0) A[r * n + j] += t.coef;
    }
  });
  return {
    problem,
    outputs,
    m,
    C,
    values: problem.targets.map((t) => t.lo),
    plainRow: problem.targets.map((t) => t.terms.length === 1 && t.terms[0].coef === 1),
    cons,
    A,
  };
}

/** The whole input box: the given inputs fixed at their values, the unknowns over [lo, hi]. */
export function fullBox(p: Problem, lo: ArrayLike<number>, hi: ArrayLike<number>): { L: Float64Array; H: Float64Array } {
  const L = p.base.slice(),
    H = p.base.slice();
  p.unknowns.forEach((idx, j) => {
    L[idx] = lo[j];
    H[idx] = hi[j];
  });
  return { L, H };
}

const FR = new Float64Array(2);

/**
 * Enclosure of G over the box of full input vectors [L, H] whose outputs lie in [yl, yh]
 * (target rows: the forms by interval arithmetic minus t_i; constraint rows: Σ coef·x minus b),
 * rounded outward, into gLo, gHi (length n).
 */
function residualBounds(sys: SquareSystem, L: ArrayLike<number>, H: ArrayLike<number>, yl: ArrayLike<number>, yh: ArrayLike<number>, gLo: Float64Array, gHi: Float64Array): void {
  const T = sys.problem.targets;
  for (let i = 0; i < sys.m; i++) {
    formInterval(T[i].terms, yl, yh, 0, FR);
    gLo[i] = nextDown(FR[0] - sys.values[i]);
    gHi[i] = nextUp(FR[1] - sys.values[i]);
  }
  sys.cons.forEach((c, r) => {
    formInterval(c.terms, L, H, 0, FR);
    gLo[sys.m + r] = nextDown(FR[0] - c.lo);
    gHi[sys.m + r] = nextUp(FR[1] - c.lo);
  });
}

/** G's point Jacobian (n × n) from the outputs' Jacobian Jy (outputs.length × n) at one point. */
function pointJacobian(sys: SquareSystem, Jy: ArrayLike<number>, n: number): Float64Array {
  const nO = sys.outputs.length;
  const J = new Float64Array(n * n);
  for (let i = 0; i < sys.m; i++)
    for (let k = 0; k < nO; k++) {
      const c = sys.C[i * nO + k];
      if (c !== 0) for (let j = 0; j < n; j++) J[i * n + j] += c * Jy[k * n + j];
    }
  J.set(sys.A, sys.m * n);
  return J;
}

/** Krawczyk test on the box [lo, hi] of the unknowns. */
export function krawczyk(sys: SquareSystem, lo: Float64Array, hi: Float64Array): KrawczykVerdict {
  const p = sys.problem,
    net = p.model.network,
    n = p.unknowns.length,
    nO = sys.outputs.length;
  const c = new Float64Array(n);
  for (let j = 0; j < n; j++) c[j] = 0.5 * lo[j] + 0.5 * hi[j];
  // point Jacobian at c → Y
  const cb = fullBox(p, c, c);
  const Jc = pointJacobian(sys, net.jacobian(cb.L, 1, { wrt: p.unknowns, of: sys.outputs }).J, n);
  const Y = invertMatrix(Jc, n);
  if (!Y) return 'unknown';
  // G(c) enclosure
  const fc = net.bounds(cb.L, cb.H, 1);
  const fLo = new Float64Array(n),
    fHi = new Float64Array(n);
  residualBounds(sys, cb.L, cb.H, fc.lo, fc.hi, fLo, fHi);
  // G'(X) enclosure: target rows Σ_k c_ik·[∂y_k/∂u] (outward rounded; a plain row copied), constraint rows A (exact)
  const xb = fullBox(p, lo, hi);
  const jb = net.jacobianBounds(xb.L, xb.H, 1, { wrt: p.unknowns, of: sys.outputs });
  for (let i = 0; i < nO * n; i++) if (!Number.isFinite(jb.lo[i]) || !Number.isFinite(jb.hi[i])) return 'unknown';
  const pr = new Float64Array(2);
  const gl = new Float64Array(n * n),
    gh = new Float64Array(n * n);
  for (let i = 0; i < sys.m; i++) {
    if (sys.plainRow[i]) {
      const k = sys.outputs.indexOf(p.targets[i].terms[0].output);
      gl.set(jb.lo.subarray(k * n, k * n + n), i * n);
      gh.set(jb.hi.subarray(k * n, k * n + n), i * n);
      continue;
    }
    for (let k = 0; k < nO; k++) {
      const cf = sys.C[i * nO + k];
      if (cf === 0) continue;
      for (let j = 0; j < n; j++) {
        intervalMul(cf, cf, jb.lo[k * n + j], jb.hi[k * n + j], pr);
        gl[i * n + j] = nextDown(gl[i * n + j] + pr[0]);
        gh[i * n + j] = nextUp(gh[i * n + j] + pr[1]);
      }
    }
  }
  gl.set(sys.A, sys.m * n);
  gh.set(sys.A, sys.m * n);
  // M = I − Y·G'(X)  (interval n×n)
  const mLo = new Float64Array(n * n),
    mHi = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let sl = i === k ? 1 : 0,
        sh = sl;
      for (let j = 0; j < n; j++) {
        const y = Y[i * n + j];
        intervalMul(y, y, gl[j * n + k], gh[j * n + k], pr);
        sl = nextDown(sl - pr[1]);
        sh = nextUp(sh - pr[0]);
      }
      mLo[i * n + k] = sl;
      mHi[i * n + k] = sh;
    }
  }
  let inside = true;
  for (let i = 0; i < n; i++) {
    // c − Y·G(c)
    let kl = c[i],
      kh = c[i];
    for (let j = 0; j < n; j++) {
      const y = Y[i * n + j];
      intervalMul(y, y, fLo[j], fHi[j], pr);
      kl = nextDown(kl - pr[1]);
      kh = nextUp(kh - pr[0]);
    }
    // + M·(X − c)
    for (let k = 0; k < n; k++) {
      const dl = nextDown(lo[k] - c[k]),
        dh = nextUp(hi[k] - c[k]);
      intervalMul(mLo[i * n + k], mHi[i * n + k], dl, dh, pr);
      kl = nextDown(kl + pr[0]);
      kh = nextUp(kh + pr[1]);
    }
    if (kh < lo[i] || kl > hi[i]) return 'none';
    if (!(kl > lo[i] && kh < hi[i])) inside = false;
  }
  return inside ? 'unique' : 'unknown';
}

/** G at one point (float values, for Newton and the float search; X the full input vector, Y its outputs). */
function residualAt(sys: SquareSystem, X: ArrayLike<number>, Y: ArrayLike<number>, yOff: number, xOff: number, out: Float64Array): void {
  const T = sys.problem.targets;
  for (let i = 0; i < sys.m; i++) out[i] = formValue(T[i].terms, Y, yOff) - sys.values[i];
  sys.cons.forEach((c, r) => {
    out[sys.m + r] = formValue(c.terms, X, xOff) - c.lo;
  });
}

/**
 * Newton's method from x0 inside [lo, hi] (clamped), for the square system: the root that a
 * 'unique' box holds. Returns null if it leaves the box or does not converge.
 *
 * Not the shared iterate loop (solve/iterate/) and not a damped Gauss–Newton step, on purpose:
 * the system is square and Krawczyk has already proved a unique regular root in the box, so the
 * plain undamped step x ← x − J⁻¹F converges quadratically there; leaving the box means the start
 * was outside the root's basin and must fail (a projected or damped step would silently report a
 * boundary point that is no root); and it runs on the exact interval-engine point values
 * (fullBox), one point at a time, where the loop batches least-squares costs.
 */
export function newtonInBox(sys: SquareSystem, x0: Float64Array, lo: Float64Array, hi: Float64Array): Float64Array | null {
  const p = sys.problem,
    net = p.model.network,
    n = p.unknowns.length;
  const x = x0.slice();
  const F = new Float64Array(n);
  let prevNorm = Infinity;
  for (let it = 0; it < 60; it++) {
    const b = fullBox(p, x, x);
    const { J: Jy, Y } = net.jacobian(b.L, 1, { wrt: p.unknowns, of: sys.outputs });
    residualAt(sys, b.L, Y, 0, 0, F);
    let norm = 0;
    for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(F[i]));
    const Jinv = invertMatrix(pointJacobian(sys, Jy, n), n);
    if (!Jinv) return null;
    let stepNorm = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += Jinv[i * n + j] * F[j];
      x[i] -= s;
      stepNorm = Math.max(stepNorm, Math.abs(s) / Math.max(1e-300, hi[i] - lo[i]));
      if (x[i] < lo[i] || x[i] > hi[i]) return null;
    }
    if (stepNorm < 1e-15 || (norm >= prevNorm && it > 5)) return x;
    prevNorm = norm;
  }
  return x;
}

/**
 * ε-inflation around a polished root: the largest box x̃ ± ε·width (ε from 1/8 down to 1e−12,
 * clipped to the search box) on which Krawczyk proves uniqueness. Null if none verifies.
 */
export function inflateRootBox(
  sys: SquareSystem,
  root: Float64Array,
  boxLo: Float64Array,
  boxHi: Float64Array,
): { lo: Float64Array; hi: Float64Array } | null {
  const n = root.length;
  for (let eps = 0.125; eps >= 1e-12; eps /= 4) {
    const lo = new Float64Array(n),
      hi = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const w = (boxHi[j] - boxLo[j]) * eps || eps * Math.max(1, Math.abs(root[j]));
      lo[j] = Math.max(boxLo[j], root[j] - w);
      hi[j] = Math.min(boxHi[j], root[j] + w);
    }
    if (krawczyk(sys, lo, hi) === 'unique') return { lo, hi };
  }
  return null;
}

/**
 * The float64 point nearest to meeting every equality of the system, around a root Krawczyk
 * proved to exist: coordinate search over the neighbouring floats (up to `scan` on each side,
 * a few sweeps), on the worst ratio |F_i(x)| / tol_i, inside [lo, hi]. For tolerances near the
 * resolution of float64, where Newton's polished point can miss by an ulp or two.
 */
export function nearestFloatRoot(
  sys: SquareSystem,
  x0: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  tols: number[],
  scan = 16,
): { x: Float64Array; ratio: number } {
  const p = sys.problem,
    net = p.model.network,
    n = p.unknowns.length,
    nIn = net.nIn,
    nOut = net.nOut;
  const rows = 2 * scan;
  const X = new Float64Array(rows * nIn);
  const G = new Float64Array(n);
  // the worst ratio |G_i| / tol_i: the targets' tolerances, then each constraint's own
  const ratioAt = (Xs: Float64Array, Y: Float64Array, r: number): number => {
    residualAt(sys, Xs, Y, r * nOut, r * nIn, G);
    let w = 0;
    for (let i = 0; i < n; i++) w = Math.max(w, Math.abs(G[i]) / (i < sys.m ? tols[i] : sys.cons[i - sys.m].tol));
    return w;
  };
  const x = Float64Array.from(x0);
  const one = fullBox(p, x, x).L;
  let best = ratioAt(one, net.evaluate(one, 1), 0);
  for (let sweep = 0; sweep < 4 && best > 1; sweep++) {
    let improved = false;
    for (let j = 0; j < n && best > 1; j++) {
      const cand = new Float64Array(rows);
      let k = 0;
      for (let u = x[j], s = 0; s < scan; s++) cand[k++] = u = nextUp(u);
      for (let u = x[j], s = 0; s < scan; s++) cand[k++] = u = nextDown(u);
      for (let r = 0; r < rows; r++) {
        const row = fullBox(p, x, x).L;
        row[p.unknowns[j]] = Math.min(hi[j], Math.max(lo[j], cand[r]));
        X.set(row, r * nIn);
      }
      const Y = net.evaluate(X, rows);
      for (let r = 0; r < rows; r++) {
        const w = ratioAt(X, Y, r);
        if (w < best) {
          best = w;
          x[j] = X[r * nIn + p.unknowns[j]];
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return { x, ratio: best };
}
