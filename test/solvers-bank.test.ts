/**
 * Every solver against the problem bank (test/problems.ts): the two local solvers run on the
 * shared iterate loop (LM, Adam) straight from seeded starts, certification on every problem,
 * and the exact MILP path where it applies (piecewise-linear nets; the bank's nets are smooth, so
 * it must refuse them, and a small ReLU problem stands in). Every answer is re-checked by a
 * forward pass written here from the net's closed form (test/problems.ts oracles), never by the
 * solver's own verification; proven statuses are checked against closed-form optima.
 */
import { describe, expect, it } from 'vitest';
import { adamBatch } from '../src/solve/adam.ts';
import { levenbergMarquardt } from '../src/solve/lm.ts';
import { Budget, ProblemEvaluator } from '../src/solve/evaluator.ts';
import { buildProblem, targetTolerance, type Problem, type Query } from '../src/problem/query.ts';
import { certify } from '../src/certify/certify.ts';
import { invertMilp } from '../src/certify/milp/solve.ts';
import { isNetinvertError } from '../src/errors.ts';
import { createModel, type Model } from '../src/model.ts';
import type { LMResult } from '../src/solve/lm.ts';
import { bank, evenE, seedAddOracle, type BankProblem } from './problems.ts';
import { rng } from './util/rng.ts';

/**
 * Closed-form outputs of each bank net, by problem name, as functions of the unknowns (in
 * problem.unknowns order). The seed 4-in/2-out net is only known through its generator, so its
 * oracle is the network's forward pass at float64 (evaluate only; no solver code).
 */
function oracleFor(b: BankProblem, problem: Problem): (u: number[]) => number[] {
  switch (b.name) {
    case 'seed add net: 3 + b = 7': {
      const f = seedAddOracle();
      return ([bb]) => [f(3, bb)];
    }
    case 'four isolated roots':
      return ([x3, x4]) => [evenE(x3 - x4), evenE(x3 + x4 - 7)];
    case 'square but rank-deficient on a curve':
      return ([a, c]) => [Math.tanh(a + c), 2 * Math.tanh(a + c)];
    case 'unreachable target: optimum at a corner':
      return ([x1, x2]) => [Math.tanh(x1 + 2 * x2 - 0.5)];
    default: {
      const net = b.model.network;
      return (u) => {
        const X = problem.base.slice();
        u.forEach((v, j) => (X[problem.unknowns[j]] = v));
        const Y = net.evaluate(X, 1);
        return problem.targets.map((t) => Y[t.output]);
      };
    }
  }
}

function starts(problem: Problem, k: number, seed: number): Float64Array {
  const r = rng(seed),
    n = problem.unknowns.length;
  const S = new Float64Array(k * n);
  for (let q = 0; q < k; q++) for (let j = 0; j < n; j++) S[q * n + j] = r.uniform(problem.lo[j], problem.hi[j]);
  return S;
}

const SOLVERS: { name: string; atol: number; run: (ev: ProblemEvaluator, S: Float64Array, k: number) => LMResult; near: number }[] = [
  { name: 'LM', atol: 1e-6, run: (ev, S, k) => levenbergMarquardt(ev, S, k, { maxIterations: 200 }), near: 1e-6 },
  // Adam's fixed learning rate gets within 1e-4 in its 2000 steps (test/solve.test.ts uses the same)
  { name: 'Adam', atol: 1e-4, run: (ev, S, k) => adamBatch(ev, S, k), near: 2e-3 },
];

describe('local solvers on the iterate loop: every bank problem, every answer re-checked by a forward pass', () => {
  for (const s of SOLVERS) {
    for (const b of bank()) {
      it(`${s.name}: ${b.name}`, () => {
        const problem = buildProblem(b.model, b.query, { atol: s.atol, rtol: 0 });
        const n = problem.unknowns.length,
          k = 12;
        const ev = new ProblemEvaluator(problem, new Budget(1e7, Infinity));
        const res = s.run(ev, starts(problem, k, 11), k);
        const f = oracleFor(b, problem);
        let met = 0;
        for (let q = 0; q < k; q++) {
          const u = Array.from(res.x.subarray(q * n, q * n + n));
          u.forEach((v, j) => {
            expect(v).toBeGreaterThanOrEqual(problem.lo[j]);
            expect(v).toBeLessThanOrEqual(problem.hi[j]);
          });
          // the reported cost is ½‖w·(y − t)‖² at the reported point (compared as ‖r‖, to round-off of the targets)
          const y = f(u);
          const cost = 0.5 * problem.targets.reduce((a, t, i) => a + (t.weight * (y[i] - t.lo)) ** 2, 0);
          const size = Math.max(1, ...problem.targets.map((t) => t.weight * Math.abs(t.lo)));
          expect(Math.abs(Math.sqrt(2 * res.cost[q]) - Math.sqrt(2 * cost))).toBeLessThanOrEqual(1e-11 * size);
          // every bound flagged active is one the point sits on
          for (let j = 0; j < n; j++) {
            const a = res.active[q * n + j];
            if (a === -1) expect(u[j]).toBe(problem.lo[j]);
            if (a === 1) expect(u[j]).toBe(problem.hi[j]);
          }
          const meets = problem.targets.every((t, i) => Math.abs(y[i] - t.lo) <= targetTolerance(t, problem.atol, problem.rtol) * (1 + 1e-9));
          if (res.stop[q] === 'converged') expect(meets, `start ${q} says converged at ${u}`).toBe(true);
          if (!meets) continue;
          met++;
          if (b.solutions) {
            const near = b.solutions.some((w) => w.every((v, j) => Math.abs(v - u[j]) < s.near));
            expect(near, `${u} is none of the known solutions`).toBe(true);
          }
        }
        if (b.status === 'solved') expect(met).toBeGreaterThan(0);
        if (b.status === 'best-compromise') {
          // y = tanh(x1 + 2x2 − 0.5) ≤ tanh(2.5) on [−1, 1]², attained only at (1, 1)
          expect(met).toBe(0);
          const best = Math.min(...res.cost);
          const q = Array.from(res.cost).indexOf(best);
          const optimum = 0.5 * (problem.targets[0].weight * (2 - Math.tanh(2.5))) ** 2;
          expect(Math.abs(best - optimum)).toBeLessThan(1e-9 * optimum);
          expect(Array.from(res.active.subarray(q * n, q * n + n))).toEqual([1, 1]);
        }
      });
    }
  }
});

describe('certification: every bank problem, its proven status and re-checked solutions', () => {
  for (const b of bank()) {
    it(b.name, () => {
      // a small box budget where no completeness proof is possible (continua)
      const r = certify(b.model, b.query, { seed: 1, maxEvaluations: 400_000, ...(b.continuumDimension ? { maxBoxes: 2000 } : {}) });
      const problem = buildProblem(b.model, b.query);
      const f = oracleFor(b, problem);
      for (const s of r.solutions) {
        const u = problem.unknownNames.map((name) => s.unknowns[name]);
        const y = f(u);
        problem.targets.forEach((t, i) => expect(Math.abs(y[i] - t.lo)).toBeLessThanOrEqual(targetTolerance(t, problem.atol, problem.rtol) * (1 + 1e-9)));
      }
      if (b.status === 'best-compromise') {
        // no point reaches y = 2 (tanh < 1): certification proves it infeasible
        expect(r.status).toBe('infeasible');
        expect(r.proven).toBe(true);
        return;
      }
      expect(r.status).toBe(b.status);
      if (b.solutions) {
        expect(r.complete).toBe(true);
        expect(r.solutions).toHaveLength(b.solutions.length);
        for (const s of r.solutions) expect(s.proof).toBe('unique-root');
        for (const w of b.solutions) {
          expect(r.solutions.some((s) => problem.unknownNames.every((name, j) => Math.abs(s.unknowns[name] - w[j]) < 1e-7))).toBe(true);
        }
      }
      if (b.continuumDimension !== undefined) expect(r.solutionSet.kind).toBe('continuum');
    });
  }
});

/** y = relu(x1 − x2) + ½·relu(x2) on [−1, 1]²: its range there is [0, 2] (max at (1, −1)). */
function reluNet(): Model {
  return createModel(
    {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 2, weight: [1, 0, -1, 1], bias: [0, 0] }, inputs: ['x'] },
        { name: 'a', op: { type: 'unary', fn: 'relu' }, inputs: ['h'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: [1, 0.5], bias: [0] }, inputs: ['a'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    },
    { inputRanges: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } },
  );
}
const reluY = (x1: number, x2: number): number => Math.max(0, x1 - x2) + 0.5 * Math.max(0, x2);

describe('the exact MILP path, where it applies', () => {
  it('refuses every bank net (all smooth) with a coded error naming the smooth node', async () => {
    for (const b of bank()) {
      const err = await invertMilp(b.model, b.query).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isNetinvertError(err), b.name).toBe(true);
      expect((err as { code: string }).code).toBe('unsupported_op');
    }
  });

  const Q: Query = { want: { y: 0.7 } };
  it('a ReLU problem: MILP, LM, Adam and certify each answer y = 0.7, re-checked by the closed form', async () => {
    const model = reluNet();
    const problem = buildProblem(model, Q);
    const tol = targetTolerance(problem.targets[0], problem.atol, problem.rtol);
    const milp = await invertMilp(model, Q, { timeLimit: 30 });
    const cert = certify(model, Q, { seed: 1, maxEvaluations: 200_000, maxBoxes: 2000 });
    const lm = levenbergMarquardt(new ProblemEvaluator(problem, new Budget(1e7, Infinity)), starts(problem, 8, 3), 8, { maxIterations: 200 });
    for (const r of [milp, cert]) {
      expect(r.status).toBe('solved');
      for (const s of r.solutions) expect(Math.abs(reluY(s.unknowns['x[0]'], s.unknowns['x[1]']) - 0.7)).toBeLessThanOrEqual(tol);
    }
    let met = 0;
    for (let q = 0; q < 8; q++) if (Math.abs(reluY(lm.x[2 * q], lm.x[2 * q + 1]) - 0.7) <= tol) met++;
    expect(met).toBeGreaterThan(0);
    const loose = buildProblem(model, Q, { atol: 1e-4, rtol: 0 });
    const ad = adamBatch(new ProblemEvaluator(loose, new Budget(1e7, Infinity)), starts(loose, 8, 3), 8);
    for (let q = 0; q < 8; q++) if (ad.stop[q] === 'converged') expect(Math.abs(reluY(ad.x[2 * q], ad.x[2 * q + 1]) - 0.7)).toBeLessThanOrEqual(1e-4 * (1 + 1e-9));
    expect(ad.stop).toContain('converged');
  });

  it('an unreachable ReLU target (y = 5 > max 2): MILP and certify both prove it infeasible', async () => {
    const model = reluNet();
    const q: Query = { want: { y: 5 } };
    // the closed form's maximum over a fine grid stays at 2, far below 5
    let mx = -Infinity;
    for (let i = 0; i <= 100; i++) for (let j = 0; j <= 100; j++) mx = Math.max(mx, reluY(-1 + i / 50, -1 + j / 50));
    expect(mx).toBe(2);
    const milp = await invertMilp(model, q, { timeLimit: 30 });
    expect(milp.status).toBe('infeasible');
    expect(milp.proven).toBe(true);
    const cert = certify(model, q, { seed: 1, maxEvaluations: 200_000 });
    expect(cert.status).toBe('infeasible');
    expect(cert.proven).toBe(true);
  });
});

// keep the 4-in/2-out oracle honest: its known solutions meet the targets by the net's own forward pass
describe('bank oracles', () => {
  it('the known solutions of the bank meet their targets under the oracle', () => {
    for (const b of bank()) {
      if (!b.solutions) continue;
      const problem = buildProblem(b.model, b.query);
      const f = oracleFor(b, problem);
      for (const w of b.solutions) {
        const y = f(w);
        problem.targets.forEach((t, i) => expect(Math.abs(y[i] - t.lo)).toBeLessThan(1e-5 * Math.max(1, Math.abs(t.lo))));
      }
    }
  });
});
