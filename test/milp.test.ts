/**
 * The exact MILP path (src/certify/milp.ts) against dense grids on small seeded piecewise-linear
 * nets. HiGHS runs single-threaded and deterministically; every time limit here is generous
 * except in the time-limit tests, whose assertions hold whichever way the race goes.
 */
import { describe, expect, it } from 'vitest';
import { isPiecewiseLinear, solveMilp } from '../src/certify/milp/run.ts';
import { polishPoint } from '../src/certify/milp/polish.ts';
import { NetinvertError } from '../src/errors.ts';
import type { GraphDef, NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { buildProblem, targetTolerance, type Problem, type Query } from '../src/problem/query.ts';
import { verifySolution } from '../src/solve/verify.ts';
import { rng } from './util/rng.ts';

/** Seconds per solve: generous, these nets solve in well under a second. */
const TIME = 30;
const BOX: Record<string, [number, number]> = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] };
/** A target every input meets, for max/min over the whole box (Problem needs a target). */
const ANY: Query = { want: { y: { range: [-1e3, 1e3] } }, bounds: BOX };

/** Dense layers with Glorot-uniform weights and biases in [−0.5, 0.5], the activation between them. */
function mlp(seed: number, sizes: number[], fn = 'relu', params?: Record<string, number>): Model {
  const r = rng(seed);
  const nodes: NodeDef[] = [];
  let prev = 'x';
  for (let l = 1; l < sizes.length; l++) {
    const inW = sizes[l - 1],
      out = sizes[l],
      s = Math.sqrt(6 / (inW + out));
    nodes.push({ name: `d${l}`, op: { type: 'dense', units: out, weight: r.vector(inW * out, -s, s), bias: r.vector(out, -0.5, 0.5) }, inputs: [prev] });
    prev = `d${l}`;
    if (l < sizes.length - 1) {
      nodes.push({ name: `a${l}`, op: { type: 'unary', fn, ...(params ? { params } : {}) }, inputs: [prev] });
      prev = `a${l}`;
    }
  }
  return createModel({ inputs: [{ name: 'x', width: sizes[0] }], nodes, outputs: [{ node: prev, name: 'y' }] });
}

interface Grid {
  /** Grid points (unknowns), row-major N×N × 2, and the first output at each. */
  U: Float64Array;
  Y: Float64Array;
  max: number;
  min: number;
  /** Largest output change between grid neighbours. */
  step: number;
  /** Grid spacing. */
  h: number;
}

/** The first output on an N×N grid over [−1, 1]² of the problem's two unknowns (known inputs from base). */
function grid(p: Problem, N: number): Grid {
  const net = p.model.network;
  const U = new Float64Array(N * N * 2);
  const X = new Float64Array(N * N * net.nIn);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const r = i * N + j;
      U[2 * r] = -1 + (2 * i) / (N - 1);
      U[2 * r + 1] = -1 + (2 * j) / (N - 1);
      X.set(p.base, r * net.nIn);
      X[r * net.nIn + p.unknowns[0]] = U[2 * r];
      X[r * net.nIn + p.unknowns[1]] = U[2 * r + 1];
    }
  const all = net.evaluate(X, N * N);
  const Y = new Float64Array(N * N);
  for (let r = 0; r < N * N; r++) Y[r] = all[r * net.nOut];
  let max = -Infinity,
    min = Infinity,
    step = 0;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      const y = Y[i * N + j];
      max = Math.max(max, y);
      min = Math.min(min, y);
      if (i + 1 < N) step = Math.max(step, Math.abs(Y[(i + 1) * N + j] - y));
      if (j + 1 < N) step = Math.max(step, Math.abs(Y[i * N + j + 1] - y));
    }
  return { U, Y, max, min, step, h: 2 / (N - 1) };
}

/** The first output at the unknowns u, by a fresh forward pass. */
function outputAt(p: Problem, u: ArrayLike<number>): number {
  const X = p.base.slice();
  p.unknowns.forEach((idx, j) => (X[idx] = u[j]));
  return p.model.network.evaluate(X, 1)[0];
}

function expectInBox(p: Problem, u: ArrayLike<number>): void {
  for (let j = 0; j < p.unknowns.length; j++) {
    expect(u[j]).toBeGreaterThanOrEqual(p.lo[j]);
    expect(u[j]).toBeLessThanOrEqual(p.hi[j]);
  }
}

/** max and min of the output over the box agree with the grid and re-evaluate to the claim. */
async function checkExtremes(p: Problem, g: Grid): Promise<void> {
  for (const kind of ['max', 'min'] as const) {
    const r = await solveMilp(p, { kind, output: 'y' }, { timeLimit: TIME });
    expect(r.status, r.message).toBe('solved');
    const u = r.unknowns!;
    expectInBox(p, u);
    expect(Math.abs(outputAt(p, u) - r.objective!)).toBeLessThanOrEqual(1e-9);
    if (kind === 'max') {
      expect(r.objective!).toBeGreaterThanOrEqual(g.max - 1e-9);
      expect(r.bound!).toBeGreaterThanOrEqual(r.objective! - 1e-9);
    } else {
      expect(r.objective!).toBeLessThanOrEqual(g.min + 1e-9);
      expect(r.bound!).toBeLessThanOrEqual(r.objective! + 1e-9);
    }
    // solved to optimality: HiGHS's bound meets the value
    expect(Math.abs(r.bound! - r.objective!)).toBeLessThan(1e-6);
    expect(r.binaries + r.stableNeurons).toBe(r.neurons);
  }
}

describe('solveMilp: max and min of the output over the box (ReLU)', () => {
  for (const [label, sizes, seed] of [
    ['2-8-8-1', [2, 8, 8, 1], 101],
    ['2-16-16-1', [2, 16, 16, 1], 202],
  ] as const) {
    it(`${label}: MILP max ≥ 401×401 grid max, min ≤ grid min, each argmax re-evaluates to its value`, async () => {
      const p = buildProblem(mlp(seed, [...sizes]), ANY);
      await checkExtremes(p, grid(p, 401));
      const r = await solveMilp(p, { kind: 'max', output: 'y' }, { timeLimit: TIME });
      expect(r.neurons).toBe(sizes[1] + sizes[2]);
    });
  }

  it('3-8-8-1 with the middle input given: known inputs are constants', async () => {
    const model = mlp(303, [3, 8, 8, 1]);
    const p = buildProblem(model, { want: { y: { range: [-1e3, 1e3] } }, given: { 'x[1]': 0.25 }, bounds: { 'x[0]': [-1, 1], 'x[2]': [-1, 1] } });
    expect(p.unknowns).toEqual([0, 2]);
    await checkExtremes(p, grid(p, 201));
  });
});

describe('solveMilp: feasibility', () => {
  const p0 = buildProblem(mlp(202, [2, 16, 16, 1]), ANY);
  const g = grid(p0, 401);
  const withTarget = (t: number): Problem => buildProblem(p0.model, { want: { y: t }, bounds: BOX });

  it('a reachable target gives a point that a fresh forward pass verifies', async () => {
    const t = g.Y[123 * 401 + 77];
    const p = withTarget(t);
    const r = await solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME });
    expect(r.status, r.message).toBe('solved');
    expect(r.provenInfeasible).toBe(false);
    expectInBox(p, r.unknowns!);
    const sol = verifySolution(p, r.unknowns!);
    expect(sol.meetsTargets).toBe(true);
    expect(r.objective!).toBeCloseTo(sol.maxMiss, 15);
  });

  it('targets at the grid maximum ± 1e-9 are met (where mistakes hide)', async () => {
    for (const t of [g.max - 1e-9, g.max + 1e-9]) {
      const p = withTarget(t);
      const r = await solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME });
      expect(r.status, r.message).toBe('solved');
      expect(verifySolution(p, r.unknowns!).meetsTargets).toBe(true);
    }
  });

  it('an unreachable target (0.05 above the grid and MILP maxima) is proven infeasible', async () => {
    const mx = await solveMilp(p0, { kind: 'max', output: 'y' }, { timeLimit: TIME });
    const p = withTarget(Math.max(g.max, mx.objective!) + 0.05);
    const r = await solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME });
    expect(r.status, r.message).toBe('infeasible');
    expect(r.provenInfeasible).toBe(true);
    // every input misses by about 0.05 beyond the tolerance
    expect(r.bound!).toBeGreaterThan(0.04);
    expect(r.bound!).toBeLessThan(0.05);
    // the same through an optimisation objective
    const r2 = await solveMilp(p, { kind: 'max', output: 'y' }, { timeLimit: TIME });
    expect(r2.status, r2.message).toBe('infeasible');
    expect(r2.provenInfeasible).toBe(true);
  });

  it('a target missed by only 1e-7 beyond its tolerance is infeasible but not proven (inside the margin)', async () => {
    const mx = (await solveMilp(p0, { kind: 'max', output: 'y' }, { timeLimit: TIME })).objective!;
    // t − tol(t) = mx + 1e-7 with tol(t) = atol + rtol·|t|
    const t = (mx + 1e-7 + p0.atol) / (1 - p0.rtol * Math.sign(mx + 1e-7 + p0.atol));
    const p = withTarget(t);
    expect(t - targetTolerance(p.targets[0], p.atol, p.rtol) - mx).toBeCloseTo(1e-7, 12);
    const r = await solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME });
    expect(r.status, r.message).toBe('infeasible');
    expect(r.provenInfeasible).toBe(false);
  });
});

describe('solveMilp: closest point to a reference (L1, L∞) against brute force', () => {
  const model = mlp(404, [2, 8, 8, 1]);
  const base = buildProblem(model, ANY);
  const N = 401;
  const g = grid(base, N);
  const level = g.min + 0.7 * (g.max - g.min);
  // the reference: the grid's argmin, far below the level
  let k = 0;
  for (let r = 1; r < N * N; r++) if (g.Y[r] < g.Y[k]) k = r;
  const ref = { 'x[0]': g.U[2 * k], 'x[1]': g.U[2 * k + 1] };

  for (const norm of ['l1', 'linf'] as const) {
    it(`${norm}: the MILP distance is within the grid's resolution of the brute-force minimum`, async () => {
      const p = buildProblem(model, { want: { y: { ge: level } }, bounds: BOX, closestTo: ref, distance: norm });
      const r = await solveMilp(p, { kind: 'closest', norm }, { timeLimit: TIME });
      expect(r.status, r.message).toBe('solved');
      const u = r.unknowns!;
      expect(verifySolution(p, u).meetsTargets).toBe(true);
      const dist = (a: number, b: number): number => {
        const d0 = Math.abs(a - ref['x[0]']) / 2,
          d1 = Math.abs(b - ref['x[1]']) / 2; // box width 2
        return norm === 'l1' ? d0 + d1 : Math.max(d0, d1);
      };
      expect(Math.abs(dist(u[0], u[1]) - r.objective!)).toBeLessThan(1e-12);
      // brute force: grid points meeting the target exactly, and meeting it loosened by twice the
      // largest change between grid neighbours (every feasible point has a grid neighbour within
      // h/2 per coordinate, which meets the loosened target)
      let strict = Infinity,
        loose = Infinity;
      for (let r2 = 0; r2 < N * N; r2++) {
        const d = dist(g.U[2 * r2], g.U[2 * r2 + 1]);
        if (g.Y[r2] >= level - p.atol) strict = Math.min(strict, d);
        if (g.Y[r2] >= level - 2 * g.step) loose = Math.min(loose, d);
      }
      // that neighbour is h/2 per coordinate away, in box-width units h/4 each
      const slack = norm === 'l1' ? g.h / 2 : g.h / 4;
      expect(r.objective!).toBeLessThanOrEqual(strict + 1e-9);
      expect(r.objective!).toBeGreaterThanOrEqual(loose - slack);
      expect(r.bound!).toBeLessThanOrEqual(r.objective! + 1e-9);
    });
  }
});

describe('solveMilp: other piecewise-linear activations', () => {
  const cases: [string, Record<string, number> | undefined][] = [
    ['leaky_relu', { alpha: 0.1 }],
    ['leaky_relu', { alpha: -0.3 }],
    ['hard_tanh', undefined],
    ['clip', { min: -0.2, max: 0.4 }],
    ['abs', undefined],
    ['max_const', { c: 0.1 }],
    ['min_const', { c: 0.2 }],
    ['hard_sigmoid', { slope: 1, offset: 0.5 }],
  ];
  cases.forEach(([fn, params], i) => {
    it(`${fn}${params ? ' ' + JSON.stringify(params) : ''}: 2-8-8-1 max and min agree with a 201×201 grid`, async () => {
      const p = buildProblem(mlp(500 + i, [2, 8, 8, 1], fn, params), ANY);
      await checkExtremes(p, grid(p, 201));
    });
  });

  it('linear plumbing (gather, affine, concat, reshape, binary, binary_const) around relu and max_const', async () => {
    const r = rng(7);
    const def: GraphDef = {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'd1', op: { type: 'dense', units: 6, weight: r.vector(12, -1, 1), bias: r.vector(6, -0.5, 0.5) }, inputs: ['x'] },
        { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
        { name: 'g', op: { type: 'gather', indices: [5, 0, 2] }, inputs: ['a1'] },
        { name: 's', op: { type: 'binary_const', fn: 'mul', constant: [2, -1] }, inputs: ['x'] },
        { name: 'c', op: { type: 'concat' }, inputs: ['g', 's'] },
        { name: 'rs', op: { type: 'reshape', shape: [5] }, inputs: ['c'] },
        { name: 'd2', op: { type: 'dense', units: 3, weight: r.vector(15, -1, 1), bias: r.vector(3, -0.5, 0.5) }, inputs: ['rs'] },
        { name: 'af', op: { type: 'affine', scale: r.vector(6, -1, 1), shift: r.vector(6, -0.2, 0.2) }, inputs: ['a1'] },
        { name: 'g2', op: { type: 'gather', indices: [1, 3, 4] }, inputs: ['af'] },
        { name: 'b', op: { type: 'binary', fn: 'sub' }, inputs: ['d2', 'g2'] },
        { name: 'bd', op: { type: 'binary_const', fn: 'div', constant: [2] }, inputs: ['b'] },
        { name: 'm', op: { type: 'unary', fn: 'max_const', params: { c: 0.1 } }, inputs: ['bd'] },
        { name: 'one', op: { type: 'binary_const', fn: 'sub', constant: [1], constantFirst: true }, inputs: ['m'] },
        { name: 'x0', op: { type: 'gather', indices: [0] }, inputs: ['x'] },
        { name: 'ad', op: { type: 'binary', fn: 'add' }, inputs: ['one', 'x0'] }, // width-1 broadcast
        { name: 'd3', op: { type: 'dense', units: 1, weight: r.vector(3, -1, 1), bias: [0.1] }, inputs: ['ad'] },
      ],
      outputs: [{ node: 'd3', name: 'y' }],
    };
    const model = createModel(def);
    expect(isPiecewiseLinear(def)).toEqual({ ok: true });
    const p = buildProblem(model, ANY);
    await checkExtremes(p, grid(p, 201));
  });
});

describe('polishPoint: a point just outside a target band is moved into it', () => {
  it('an equality target 3 tolerances away from the output is met after polishing', () => {
    const model = mlp(606, [2, 8, 8, 1]);
    const u0 = new Float64Array([0.31, -0.42]);
    const y0 = outputAt(buildProblem(model, ANY), u0);
    const p = buildProblem(model, { want: { y: y0 + 3e-6 * (1 + Math.abs(y0)) }, bounds: BOX });
    expect(verifySolution(p, u0).meetsTargets).toBe(false);
    const u = polishPoint(p, u0);
    expect(verifySolution(p, u).meetsTargets).toBe(true);
    expect(Math.hypot(u[0] - u0[0], u[1] - u0[1])).toBeLessThan(1e-4);
  });
});

describe('solveMilp: refusals and bad input', () => {
  it('a tanh net is refused, naming the node and the op', async () => {
    const model = mlp(1, [2, 4, 1], 'tanh');
    expect(isPiecewiseLinear(model.graph)).toEqual({ ok: false, node: 'a1', op: 'tanh' });
    const p = buildProblem(model, ANY);
    const err = await solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NetinvertError);
    expect((err as NetinvertError).code).toBe('unsupported_op');
    expect((err as NetinvertError).detail).toMatchObject({ node: 'a1', op: 'tanh' });
    expect((err as NetinvertError).message).toContain('"a1"');
    expect((err as NetinvertError).message).toContain('tanh');
  });

  it('a product of two tensors is refused; a softmax head that no target reads is not', async () => {
    const r = rng(3);
    const def: GraphDef = {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'd1', op: { type: 'dense', units: 4, weight: r.vector(8, -1, 1), bias: r.vector(4, -0.5, 0.5) }, inputs: ['x'] },
        { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: r.vector(4, -1, 1) }, inputs: ['a1'] },
        { name: 'sm', op: { type: 'softmax' }, inputs: ['d1'] },
        { name: 'sq', op: { type: 'binary', fn: 'mul' }, inputs: ['y', 'y'] },
      ],
      outputs: [{ node: 'y' }, { node: 'sm', name: 'p' }, { node: 'sq' }],
    };
    const model = createModel(def);
    expect(isPiecewiseLinear(def)).toEqual({ ok: false, node: 'sm', op: 'softmax' });
    const ok = await solveMilp(buildProblem(model, ANY), { kind: 'max', output: 'y' }, { timeLimit: TIME });
    expect(ok.status, ok.message).toBe('solved');
    await expect(solveMilp(buildProblem(model, { want: { sq: 0.5 }, bounds: BOX }), { kind: 'feasibility' }, { timeLimit: TIME })).rejects.toMatchObject({
      code: 'unsupported_op',
      detail: { node: 'sq', op: 'binary mul' },
    });
  });

  it('an unknown objective output, a closest objective without a reference, a bad time limit or start throw', async () => {
    const p = buildProblem(mlp(1, [2, 4, 1]), ANY);
    await expect(solveMilp(p, { kind: 'max', output: 'nope' }, { timeLimit: TIME })).rejects.toMatchObject({ code: 'unknown_output' });
    await expect(solveMilp(p, { kind: 'closest', norm: 'l1' }, { timeLimit: TIME })).rejects.toMatchObject({ code: 'bad_query' });
    await expect(solveMilp(p, { kind: 'feasibility' }, { timeLimit: NaN })).rejects.toMatchObject({ code: 'bad_query' });
    await expect(solveMilp(p, { kind: 'feasibility' }, { timeLimit: TIME, start: [0] })).rejects.toMatchObject({ code: 'bad_query' });
  });
});

describe('solveMilp: time limit', () => {
  const p = buildProblem(mlp(202, [2, 16, 16, 1]), ANY);

  it('a zero time limit is reported as time-limit, with no claim', async () => {
    const r = await solveMilp(p, { kind: 'max', output: 'y' }, { timeLimit: 0 });
    expect(r.status).toBe('time-limit');
    expect(r.provenInfeasible).toBe(false);
    expect(r.unknowns).toBeUndefined();
  });

  it('1 ms and 20 ms limits on 2-16-16-1 give time-limit with only verified points (or, on a fast machine, the true maximum)', async () => {
    const full = await solveMilp(p, { kind: 'max', output: 'y' }, { timeLimit: TIME });
    for (const limit of [1e-3, 2e-2]) {
      const r = await solveMilp(p, { kind: 'max', output: 'y' }, { timeLimit: limit });
      expect(['time-limit', 'solved']).toContain(r.status);
      expect(r.provenInfeasible).toBe(false);
      if (r.unknowns) {
        expect(verifySolution(p, r.unknowns).meetsTargets).toBe(true);
        expect(Math.abs(outputAt(p, r.unknowns) - r.objective!)).toBeLessThanOrEqual(1e-9);
        expect(r.objective!).toBeLessThanOrEqual(full.objective! + 1e-9);
      }
      if (r.status === 'solved') expect(r.objective!).toBeGreaterThanOrEqual(full.objective! - 1e-9);
      // a bound at the time limit is still a bound
      if (r.bound !== undefined) expect(r.bound).toBeGreaterThanOrEqual(full.objective! - 1e-9);
    }
  });
});
