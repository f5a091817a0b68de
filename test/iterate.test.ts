/**
 * The shared iterate loop (src/solve/iterate/): its contract — every termination reason, step
 * counts, batch independence — and the plug-ins it runs (descents, searches, termination), plus
 * the two numeric kernels the solvers share (numeric/adam.ts, numeric/gaussNewton.ts).
 * Oracles: closed forms (linear least squares, fixed-step gradient descent on a quadratic,
 * Adam under a constant gradient), an independent Gaussian elimination, central differences.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { iterate } from '../src/solve/iterate/loop.ts';
import { AdamDescent, BoxQPDescent, DualProjectedDescent, gradient } from '../src/solve/iterate/descents.ts';
import { FixedStep, NielsenDamping } from '../src/solve/iterate/searches.ts';
import { lmTermination, toleranceTermination } from '../src/solve/iterate/termination.ts';
import type { Descent, IterState, LSQ, Termination } from '../src/solve/iterate/types.ts';
import { lmCore } from '../src/solve/lm.ts';
import { adamBatch } from '../src/solve/adam.ts';
import { Budget, ProblemEvaluator } from '../src/solve/evaluator.ts';
import { buildProblem } from '../src/problem/query.ts';
import { AdamMoments, adamParams } from '../src/numeric/adam.ts';
import { DualGaussNewton } from '../src/numeric/gaussNewton.ts';
import { saturatingNet } from './problems.ts';
import { rng } from './util/rng.ts';

/** r(x) = A x − b over a box, counting evaluations. */
function linear(A: number[][], b: number[], lo: number[], hi: number[]): LSQ & { calls: number; points: number } {
  const m = A.length,
    n = lo.length;
  const f = {
    n,
    m,
    lo: Float64Array.from(lo),
    hi: Float64Array.from(hi),
    calls: 0,
    points: 0,
    exhausted: () => false,
    evaluate(U: Float64Array, k: number, R: Float64Array, J: Float64Array): void {
      f.calls++;
      f.points += k;
      for (let q = 0; q < k; q++) {
        for (let i = 0; i < m; i++) {
          let s = -b[i];
          for (let j = 0; j < n; j++) {
            s += A[i][j] * U[q * n + j];
            J[(q * m + i) * n + j] = A[i][j];
          }
          R[q * m + i] = s;
        }
      }
    },
  };
  return f;
}

/** Rosenbrock as least squares: r = (10(x₂ − x₁²), 1 − x₁), minimum 0 at (1, 1). */
function rosenbrock(): LSQ {
  return {
    n: 2,
    m: 2,
    lo: Float64Array.from([-2, -2]),
    hi: Float64Array.from([2, 2]),
    exhausted: () => false,
    evaluate(U, k, R, J) {
      for (let q = 0; q < k; q++) {
        const x1 = U[2 * q],
          x2 = U[2 * q + 1];
        R[2 * q] = 10 * (x2 - x1 * x1);
        R[2 * q + 1] = 1 - x1;
        J.set([-20 * x1, 10, -1, 0], 4 * q);
      }
    },
  };
}

const lmSolver = (n: number, scale = 1) => ({
  descent: new BoxQPDescent(n),
  search: new NielsenDamping(),
  termination: lmTermination(scale),
});

describe('iterate loop: termination reasons', () => {
  it('converged: a consistent linear system inside the box is solved (closed form x = A⁻¹b)', () => {
    const f = linear(
      [
        [2, 1],
        [1, 3],
      ],
      [1, 2],
      [-5, -5],
      [5, 5],
    );
    const res = iterate(f, lmSolver(2), Float64Array.from([4, -4]), 1, 50);
    expect(res.stop[0]).toBe('converged');
    // x = A⁻¹b = (1/5)(3·1 − 1·2, −1·1 + 2·2) = (0.2, 0.6)
    expect(res.x[0]).toBeCloseTo(0.2, 12);
    expect(res.x[1]).toBeCloseTo(0.6, 12);
    expect(Array.from(res.active)).toEqual([0, 0]);
  });

  it('stationary: the least-squares point outside the box stops at its projection, bound flagged active', () => {
    // r = x − c, c = (3, −0.5), box [0, 1]²: optimum (1, 0) with the gradient pushing out at both bounds
    const f = linear(
      [
        [1, 0],
        [0, 1],
      ],
      [3, -0.5],
      [0, 0],
      [1, 1],
    );
    const res = iterate(f, lmSolver(2), Float64Array.from([0.5, 0.5]), 1, 50);
    expect(res.stop[0]).toBe('stationary');
    expect(Array.from(res.x)).toEqual([1, 0]);
    expect(Array.from(res.active)).toEqual([1, -1]);
    expect(res.optimality[0]).toBe(0);
  });

  it('max-iterations: the cap stops a slow start with exactly that many trial evaluations', () => {
    const res = iterate(rosenbrock(), lmSolver(2), Float64Array.from([-1.2, 1]), 1, 3);
    expect(res.stop[0]).toBe('max-iterations');
    expect(res.iterations[0]).toBe(3);
  });

  it('max-iterations 0: the starts come back clipped into the box, evaluated, untouched', () => {
    const f = linear([[1, 1]], [0], [0, 0], [1, 1]);
    const res = iterate(f, lmSolver(2), Float64Array.from([-3, 0.25, 0.5, 9]), 2, 0);
    expect(Array.from(res.x)).toEqual([0, 0.25, 0.5, 1]);
    expect(Array.from(res.cost)).toEqual([0.5 * 0.25 ** 2, 0.5 * 1.5 ** 2]);
    expect(res.stop).toEqual(['max-iterations', 'max-iterations']);
    expect(Array.from(res.iterations)).toEqual([0, 0]);
    expect(f.calls).toBe(1);
  });

  it('budget: an exhausted budget stops every running start, keeping its last evaluated point', () => {
    const f = rosenbrock();
    let calls = 0;
    const g: LSQ = {
      ...f,
      evaluate: (U, k, R, J) => {
        calls++;
        f.evaluate(U, k, R, J);
      },
      exhausted: () => calls >= 3,
    };
    const res = iterate(g, lmSolver(2), Float64Array.from([-1.2, 1, 0.5, -1.5]), 2, 100);
    expect(res.stop).toEqual(['budget', 'budget']);
    expect(calls).toBe(3);
    // the reported cost is the cost at the reported point
    const R = new Float64Array(4),
      J = new Float64Array(8);
    f.evaluate(res.x, 2, R, J);
    expect(res.cost[0]).toBe(0.5 * (R[0] ** 2 + R[1] ** 2));
    expect(res.cost[1]).toBe(0.5 * (R[2] ** 2 + R[3] ** 2));
  });

  it('singular: a start whose residuals are not finite stops at once; the others run on', () => {
    const f = rosenbrock();
    const g: LSQ = {
      ...f,
      evaluate(U, k, R, J) {
        f.evaluate(U, k, R, J);
        for (let q = 0; q < k; q++) if (U[2 * q] === -2) R[2 * q] = NaN;
      },
    };
    const res = iterate(g, lmSolver(2), Float64Array.from([-2, 0, 0.9, 0.8]), 2, 200);
    expect(res.stop[0]).toBe('singular');
    expect(res.iterations[0]).toBe(0);
    // the minimum (1, 1), reached to round-off: the last step is negligible or the residual zero
    expect(['converged', 'small-step']).toContain(res.stop[1]);
    expect(res.x[2]).toBeCloseTo(1, 10);
    expect(res.x[3]).toBeCloseTo(1, 10);
  });

  it('small-step: a descent that proposes no move stops on the negligible-step test', () => {
    const still: Descent = {
      init() {},
      linearise: (s: IterState, r: number, g: Float64Array) => gradient(s.J, s.R, r, s.m, s.n, g),
      step: (_s, _r, _g, _l, step) => {
        step.fill(0);
        return true;
      },
      accepted() {},
    };
    const res = iterate(rosenbrock(), { descent: still, search: new NielsenDamping(), termination: lmTermination(1) }, Float64Array.from([0, 0]), 1, 10);
    expect(res.stop[0]).toBe('small-step');
    expect(res.iterations[0]).toBe(0);
  });

  it('singular from the search: a lone start whose descent never forms a step retries with more damping, then gives up past 1e20', () => {
    const broken: Descent = {
      init() {},
      linearise: (s: IterState, r: number, g: Float64Array) => gradient(s.J, s.R, r, s.m, s.n, g),
      step: () => false,
      accepted() {},
    };
    // λ starts at 1e−3 and grows tenfold per failure: past 1e20 after 24 failures
    const res = iterate(rosenbrock(), { descent: broken, search: new NielsenDamping(), termination: lmTermination(1) }, Float64Array.from([0, 0]), 1, 100);
    expect(res.stop[0]).toBe('singular');
    expect(res.iterations[0]).toBe(0);
  });
});

describe('iterate loop: step counts and plug-ins', () => {
  /** Fixed-step gradient descent x ← x − α∇(½‖x − c‖²) as a descent plug-in. */
  const gd = (alpha: number): Descent => ({
    init() {},
    linearise: (s, r, g) => gradient(s.J, s.R, r, s.m, s.n, g),
    step: (s, _r, g, _l, step) => {
      for (let j = 0; j < s.n; j++) step[j] = -alpha * g[j];
      return true;
    },
    accepted() {},
  });
  const never: Termination = { testAtCap: false, atPoint: () => null, afterStep: () => null };

  it('N iterations take N steps, one trial evaluation each, batched: x_N = c + (1 − α)ᴺ(x₀ − c)', () => {
    const c = [0.3, -0.7];
    const f = linear(
      [
        [1, 0],
        [0, 1],
      ],
      c,
      [-10, -10],
      [10, 10],
    );
    const x0 = [2, 1, -3, 4, 0.5, 0.5];
    const N = 17,
      alpha = 0.25;
    const res = iterate(f, { descent: gd(alpha), search: new FixedStep(), termination: never }, Float64Array.from(x0), 3, N);
    expect(Array.from(res.iterations)).toEqual([N, N, N]);
    expect(f.calls).toBe(N + 1);
    expect(f.points).toBe(3 * (N + 1));
    for (let r = 0; r < 3; r++) {
      for (let j = 0; j < 2; j++) {
        const want = c[j] + (1 - alpha) ** N * (x0[2 * r + j] - c[j]);
        expect(Math.abs(res.x[2 * r + j] - want)).toBeLessThan(1e-14);
      }
    }
  });

  it('tolerance termination tests the points reached at the cap; LM termination leaves them as max-iterations', () => {
    const f = linear([[1]], [0.5], [-10], [10]);
    // one step of α = 1 lands exactly on the answer
    const tol = toleranceTermination([1e-12], 0);
    const a = iterate(f, { descent: gd(1), search: new FixedStep(), termination: tol }, Float64Array.from([3]), 1, 1);
    expect(a.stop[0]).toBe('converged');
    const never2: Termination = { ...never, testAtCap: false };
    const b = iterate(f, { descent: gd(1), search: new FixedStep(), termination: never2 }, Float64Array.from([3]), 1, 1);
    expect(b.stop[0]).toBe('max-iterations');
    expect(b.x[0]).toBe(0.5);
  });

  it('the Nielsen search rejects a step that raises the cost and keeps the point', () => {
    // a descent pointing uphill: every trial is rejected, the point never moves
    const uphill: Descent = {
      init() {},
      linearise: (s, r, g) => gradient(s.J, s.R, r, s.m, s.n, g),
      step: (s, _r, g, _l, step) => {
        for (let j = 0; j < s.n; j++) step[j] = 0.1 * g[j];
        return true;
      },
      accepted() {},
    };
    const f = linear([[1]], [0], [-10], [10]);
    const res = iterate(f, { descent: uphill, search: new NielsenDamping(), termination: never }, Float64Array.from([1]), 1, 5);
    expect(res.x[0]).toBe(1);
    expect(res.iterations[0]).toBe(5);
    expect(res.cost[0]).toBe(0.5);
  });
});

describe('iterate loop: batch independence', () => {
  const solvers = {
    'LM box-QP': (n: number) => lmSolver(n),
    'LM dual projected': (n: number) => ({ descent: new DualProjectedDescent(n), search: new NielsenDamping(), termination: lmTermination(1) }),
    Adam: (n: number) => ({ descent: new AdamDescent(n, adamParams(0.01)), search: new FixedStep(), termination: toleranceTermination([1e-9, 1e-9], 1e-10) }),
  };
  for (const [name, make] of Object.entries(solvers)) {
    it(`${name}: each start's answer is the one it gets alone`, () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true })), { minLength: 2, maxLength: 5 }), (pts) => {
          const k = pts.length;
          const S = Float64Array.from(pts.flat());
          const all = iterate(rosenbrock(), make(2), S, k, 60);
          for (let q = 0; q < k; q++) {
            const one = iterate(rosenbrock(), make(2), S.slice(2 * q, 2 * q + 2), 1, 60);
            expect(Array.from(one.x)).toEqual(Array.from(all.x.subarray(2 * q, 2 * q + 2)));
            expect(one.cost[0]).toBe(all.cost[q]);
            expect(one.stop[0]).toBe(all.stop[q]);
            expect(one.iterations[0]).toBe(all.iterations[q]);
            expect(Array.from(one.active)).toEqual(Array.from(all.active.subarray(2 * q, 2 * q + 2)));
          }
        }),
        { numRuns: 15, seed: 9 },
      );
    });
  }

  it('LM reaches Rosenbrock’s minimum (1, 1) from the classic start (−1.2, 1)', () => {
    const res = lmCore(rosenbrock(), Float64Array.from([-1.2, 1]), 1, 200);
    expect(['converged', 'small-step']).toContain(res.stop[0]);
    expect(res.cost[0]).toBeLessThan(1e-25);
    expect(res.x[0]).toBeCloseTo(1, 12);
    expect(res.x[1]).toBeCloseTo(1, 12);
  });
});

describe('Adam reports its real active set (was always 0)', () => {
  it('at the corner optimum of an unreachable target, both bounds are active, as central differences of the cost say', () => {
    // y = tanh(x1 + 2·x2 − 0.5) on [−1, 1]², want y = 2: the least miss is at the corner (1, 1)
    const problem = buildProblem(saturatingNet(), { want: { y: 2 } });
    const ev = new ProblemEvaluator(problem, new Budget(1e7, Infinity));
    const starts = Float64Array.from([0, 0, -0.5, 0.7, 0.9, -0.9]);
    const res = adamBatch(ev, starts, 3);
    const cost = (u: number[]): number => {
      const y = Math.tanh(u[0] + 2 * u[1] - 0.5);
      return 0.5 * ((y - 2) * problem.targets[0].weight) ** 2;
    };
    for (let q = 0; q < 3; q++) {
      const u = [res.x[2 * q], res.x[2 * q + 1]];
      expect(u).toEqual([1, 1]);
      for (let j = 0; j < 2; j++) {
        const h = 1e-6,
          a = u.slice(),
          b = u.slice();
        a[j] -= h;
        b[j] -= 2 * h;
        // one-sided (the point is on the upper bound): cost falls towards the bound
        const slope = (3 * cost(u) - 4 * cost(a) + cost(b)) / (2 * h);
        expect(slope).toBeLessThan(0);
        expect(res.active[2 * q + j]).toBe(1);
      }
    }
  });

  it('inside the box no bound is active', () => {
    const problem = buildProblem(saturatingNet(), { want: { y: 0.2 } });
    const ev = new ProblemEvaluator(problem, new Budget(1e7, Infinity));
    const res = adamBatch(ev, Float64Array.from([0.1, 0.1]), 1);
    expect(res.stop[0]).toBe('converged');
    expect(Array.from(res.active)).toEqual([0, 0]);
  });
});

describe('numeric kernels shared by the solvers', () => {
  it('Adam under a constant gradient g steps α·g/(|g| + ε) from the first step on (bias correction)', () => {
    const p = adamParams(0.05);
    const A = new AdamMoments(3, p);
    const g = Float64Array.from([2, -0.5, 1e-3]);
    const out = new Float64Array(3);
    for (let t = 1; t <= 6; t++) {
      A.step(0, 3, g, 0, t, out, 0);
      for (let i = 0; i < 3; i++) expect(Math.abs(out[i] - (p.learningRate * g[i]) / (Math.abs(g[i]) + p.epsilon))).toBeLessThan(1e-15);
    }
  });

  it('the dual damped Gauss–Newton step equals the primal one (AᵀA + λD²)p = Aᵀb, solved by Gaussian elimination', () => {
    const r = rng(4);
    for (let trial = 0; trial < 20; trial++) {
      const k = 1 + r.int(4),
        n = k + r.int(5);
      const J = Float64Array.from(r.vector(k * n, -1, 1)),
        b = Float64Array.from(r.vector(k, -1, 1)),
        D = Float64Array.from(r.vector(n, 0.5, 2));
      const lambda = r.uniform(0.01, 1);
      const dir = new Float64Array(n);
      expect(new DualGaussNewton().solve({ J, base: 0, rows: null, k, n, b, bOff: 0, free: null, D, dOff: 0, lambda, relative: 0 }, dir)).toBe(true);
      // primal normal equations, dense, by Gaussian elimination with partial pivoting
      const M = Array.from({ length: n }, (_, a) => {
        const row = Array.from({ length: n + 1 }, (_, c) => {
          if (c === n) {
            let s = 0;
            for (let i = 0; i < k; i++) s += J[i * n + a] * b[i];
            return s;
          }
          let s = a === c ? lambda * D[a] * D[a] : 0;
          for (let i = 0; i < k; i++) s += J[i * n + a] * J[i * n + c];
          return s;
        });
        return row;
      });
      for (let c = 0; c < n; c++) {
        let piv = c;
        for (let a = c + 1; a < n; a++) if (Math.abs(M[a][c]) > Math.abs(M[piv][c])) piv = a;
        [M[c], M[piv]] = [M[piv], M[c]];
        for (let a = c + 1; a < n; a++) {
          const f = M[a][c] / M[c][c];
          for (let e = c; e <= n; e++) M[a][e] -= f * M[c][e];
        }
      }
      const p = new Array<number>(n).fill(0);
      for (let a = n - 1; a >= 0; a--) {
        let s = M[a][n];
        for (let e = a + 1; e < n; e++) s -= M[a][e] * p[e];
        p[a] = s / M[a][a];
      }
      for (let j = 0; j < n; j++) expect(Math.abs(dir[j] - p[j])).toBeLessThan(1e-9 * (1 + Math.abs(p[j])));
    }
  });

  it('with a tiny relative damping the dual step zeroes the linearised residuals (minimum-norm Gauss–Newton)', () => {
    const r = rng(5);
    const k = 2,
      n = 5;
    const J = Float64Array.from(r.vector(k * n, -1, 1)),
      b = Float64Array.from(r.vector(k, -1, 1));
    const dir = new Float64Array(n);
    new DualGaussNewton().solve({ J, base: 0, rows: [1, 0], k, n, b, bOff: 0, free: null, D: null, dOff: 0, lambda: 1e-300, relative: 1e-12 }, dir);
    // rows [1, 0]: A's first row is J's second
    for (let a = 0; a < k; a++) {
      const row = a === 0 ? 1 : 0;
      let s = 0;
      for (let j = 0; j < n; j++) s += J[row * n + j] * dir[j];
      expect(Math.abs(s - b[a])).toBeLessThan(1e-9);
    }
  });
});
