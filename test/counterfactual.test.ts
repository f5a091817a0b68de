/**
 * Counterfactual controls (issue 12 §1), each against an independent oracle:
 *   - the controls (monotone, fixed, immutable, weights, MAD units): the Problem they make, and the
 *     closest point under weighted distances against a brute-force grid and a Lagrange answer;
 *   - --diverse: every point meets the targets inside the proximity ball; on a continuum the
 *     smallest pairwise distance is at least the K-nearest-starts baseline's (which collapses
 *     to one point) and near the analytic max-min value on a line;
 *   - --sparse: the fewest inputs changed, against brute force over subsets (each subset decided
 *     by an exact MILP feasibility solve of the query with the other inputs given), by MILP
 *     (one binary per input) and by the subset search with proofs;
 *   - the proven minimum distance (branch-and-bound) against the MILP optimum on ReLU nets, and
 *     against a grid on a smooth net.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { invertMilp } from '../src/api/milp.ts';
import { closestDistanceLowerBound } from '../src/certify/proof/closestBound.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { applySidecar } from '../src/formats/sidecar.ts';
import { createModel, type Model } from '../src/model.ts';
import { median, medianAbsoluteDeviation } from '../src/numeric/mad.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { halton } from '../src/numeric/halton.ts';
import { buildProblem, type DistanceKind, type Query } from '../src/problem/query.ts';
import { closestFeasible } from '../src/solve/closest.ts';
import { pairDistance } from '../src/solve/counterfactual.ts';
import { Budget, ProblemEvaluator } from '../src/solve/evaluator.ts';
import { verifySolution } from '../src/solve/verify.ts';
import { expectNetinvertError } from './util/expect.ts';
import { run } from './util/cli.ts';

/** y = Σ cⱼ·xⱼ: a linear net (a continuum of solutions for one target). */
function linear(coef: number[], names = ['a', 'b', 'c'].slice(0, coef.length)): Model {
  return createModel({
    inputs: [{ name: 'x', width: coef.length, features: names }],
    nodes: [{ name: 'd', op: { type: 'dense', units: 1, weight: coef, bias: [0] }, inputs: ['x'] }],
    outputs: [{ node: 'd', name: 'y' }],
  });
}

/** An nIn-h-1 MLP with the given hidden activation (seeded). */
function mlp(seed: number, nIn: number, h: number, act: 'relu' | 'tanh'): Model {
  const rand = mulberry32(seed);
  const layer = (i: number, o: number): number[] => Array.from({ length: i * o }, () => (2 * rand() - 1) * 2 * Math.sqrt(6 / (i + o)));
  const names = ['a', 'b', 'c', 'd', 'e'].slice(0, nIn);
  return createModel({
    inputs: [{ name: 'x', width: nIn, features: names }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: h, weight: layer(nIn, h), bias: Array.from({ length: h }, () => rand() - 0.5) }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: act }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 1, weight: layer(h, 1), bias: [0] }, inputs: ['a1'] },
    ],
    outputs: [{ node: 'd2', name: 'y' }],
  });
}

const box = (names: string[]): Record<string, [number, number]> => Object.fromEntries(names.map((k) => [k, [-1, 1] as [number, number]]));

/** The output over a Halton sample of [−1, 1]^nIn: the largest value (a feasible level for y ≥ it). */
function sampledMax(model: Model, count: number): number {
  const nIn = model.network.nIn;
  const X = new Float64Array(count * nIn);
  const P = [2, 3, 5, 7, 11];
  for (let i = 0; i < count; i++) for (let j = 0; j < nIn; j++) X[i * nIn + j] = -1 + 2 * halton(i + 1, P[j]);
  return Math.max(...model.network.evaluate(X, count));
}

describe('counterfactual controls: the Problem they make', () => {
  const m = linear([1, 1, 1]);
  const base: Query = { want: { y: 1 }, bounds: box(['a', 'b', 'c']), closestTo: { a: 0.2, b: -0.3, c: 0 } };

  it('only-increase / only-decrease tighten the box at the reference; the distance keeps the box width as its unit', () => {
    const p = buildProblem(m, { ...base, onlyIncrease: ['a'], onlyDecrease: ['b'] });
    expect([p.lo[0], p.hi[0]]).toEqual([0.2, 1]);
    expect([p.lo[1], p.hi[1]]).toEqual([-1, -0.3]);
    expect([p.lo[2], p.hi[2]]).toEqual([-1, 1]);
    expect(Array.from(p.distanceUnit!)).toEqual([2, 2, 2]);
    const r = invert(m, { ...base, onlyIncrease: ['a'], onlyDecrease: ['b'] });
    expect(r.status).toBe('solved');
    for (const s of r.solutions) {
      expect(s.unknowns.a).toBeGreaterThanOrEqual(0.2);
      expect(s.unknowns.b).toBeLessThanOrEqual(-0.3);
    }
    // unconstrained, each input would move by 1.1/3 (b up to 0.067 > −0.3): with b held at its
    // reference, a and c share the 1.1 evenly: a = 0.2 + 0.55, c = 0.55
    const c = r.closest!;
    expect(c.unknowns.b).toBeCloseTo(-0.3, 6);
    expect(c.unknowns.a).toBeCloseTo(0.75, 5);
    expect(c.unknowns.c).toBeCloseTo(0.55, 5);
  });

  it('fixed inputs and the sidecar\'s immutable ones are held at the reference value', () => {
    const p = buildProblem(m, { ...base, fixed: ['a'] });
    expect(p.unknownNames).toEqual(['b', 'c']);
    expect(p.given).toEqual({ a: 0.2 });
    const ms = applySidecar(m, { format: 'netinvert-sidecar', version: 1, immutable: ['c'] });
    const q = buildProblem(ms, base);
    expect(q.unknownNames).toEqual(['a', 'b']);
    expect(q.given).toEqual({ c: 0 });
    // without a reference the immutable list holds nothing
    expect(buildProblem(ms, { want: { y: 1 }, bounds: box(['a', 'b', 'c']) }).unknownNames).toEqual(['a', 'b', 'c']);
    expectNetinvertError(() => applySidecar(m, { format: 'netinvert-sidecar', version: 1, immutable: ['zz'] }), 'unknown_input', 'zz');
  });

  it('user mistakes are coded errors that say what to change', () => {
    expectNetinvertError(() => buildProblem(m, { want: { y: 1 }, onlyIncrease: ['a'] }), 'bad_query', 'reference');
    expectNetinvertError(() => buildProblem(m, { ...base, closestTo: { b: 0 }, onlyIncrease: ['a'] }), 'bad_query', 'closest-to');
    expectNetinvertError(() => buildProblem(m, { ...base, fixed: ['a'], closestTo: { b: 0 } }), 'bad_query', '"a"');
    expectNetinvertError(() => buildProblem(m, { ...base, bounds: { a: [0.5, 1] }, onlyIncrease: ['a'] }), 'bad_bounds', 'outside');
    expectNetinvertError(() => buildProblem(m, { ...base, distanceWeights: { a: 0 } }), 'bad_query', '> 0');
    expectNetinvertError(() => buildProblem(m, { ...base, distanceWeights: { q: 1 } }), 'unknown_input', 'q');
  });

  it('weights and scales: the closest point of a plane is the Lagrange answer dⱼ ∝ unitⱼ²', () => {
    // minimise Σ (dⱼ/uⱼ)² s.t. Σ dⱼ = 1 − Σ refⱼ: dⱼ = uⱼ²·(1 − Σ ref)/Σ uₖ² (Lagrange multipliers)
    const q: Query = { want: { y: 1 }, bounds: { a: [-5, 5], b: [-5, 5], c: [-5, 5] }, closestTo: { a: 0, b: 0, c: 0 }, distanceScale: { a: 1, b: 2 }, distanceWeights: { c: 0.5 } };
    const units = [1, 2, 10 / 0.5];
    const r = invert(m, q);
    const S = units.reduce((s, u) => s + u * u, 0);
    expect(r.closest!.unknowns.a).toBeCloseTo(units[0] ** 2 / S, 6);
    expect(r.closest!.unknowns.b).toBeCloseTo(units[1] ** 2 / S, 6);
    expect(r.closest!.unknowns.c).toBeCloseTo(units[2] ** 2 / S, 6);
    // and the reported distance is the weighted one
    const d = Math.hypot(...['a', 'b', 'c'].map((k, j) => r.closest!.unknowns[k] / units[j]));
    expect(r.closest!.distance!).toBeCloseTo(d, 10);
  });

  it('weighted closest point on a smooth net against a brute-force grid', () => {
    const model = mlp(5, 2, 8, 'tanh');
    const level = sampledMax(model, 400) - 0.3;
    const w = { a: 3, b: 0.5 };
    for (const norm of ['l2', 'l1', 'linf'] as DistanceKind[]) {
      const r = invert(model, { want: { y: { ge: level } }, bounds: box(['a', 'b']), closestTo: { a: -0.6, b: 0.5 }, distance: norm, distanceWeights: w });
      expect(r.status).toBe('solved');
      const dist = (a: number, b: number): number => {
        const da = (Math.abs(a + 0.6) / 2) * w.a,
          db = (Math.abs(b - 0.5) / 2) * w.b;
        return norm === 'l2' ? Math.hypot(da, db) : norm === 'l1' ? da + db : Math.max(da, db);
      };
      const G = 301;
      const X = new Float64Array(G * G * 2);
      for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) X.set([-1 + (2 * i) / (G - 1), -1 + (2 * j) / (G - 1)], (i * G + j) * 2);
      const Y = model.network.evaluate(X, G * G);
      let grid = Infinity;
      for (let q = 0; q < G * G; q++) if (Y[q] >= level) grid = Math.min(grid, dist(X[2 * q], X[2 * q + 1]));
      const d = r.closest!.distance!;
      expect(d).toBeCloseTo(dist(r.closest!.unknowns.a, r.closest!.unknowns.b), 12);
      expect(d).toBeLessThanOrEqual(grid + 1e-9);
      // within a grid cell's distance (spacing 2/300 in each input, weighted)
      expect(d).toBeGreaterThanOrEqual(grid - 2 * (2 / 300 / 2) * (w.a + w.b));
    }
  });

  it('median absolute deviation against its definition', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // [1,1,2,2,4,6,9]: median 2, |x − 2| = [1,1,0,0,2,4,7], median 1
    expect(medianAbsoluteDeviation([1, 1, 2, 2, 4, 6, 9])).toBe(1);
    // a column of a row-major table
    expect(medianAbsoluteDeviation([0, 1, 0, 1, 0, 2, 0, 2, 0, 4, 0, 6, 0, 9], 2, 1)).toBe(1);
    const r = mulberry32(3);
    const x = Array.from({ length: 101 }, () => r() * 10);
    const med = x.slice().sort((p, q) => p - q)[50];
    const dev = x.map((v) => Math.abs(v - med)).sort((p, q) => p - q)[50];
    expect(medianAbsoluteDeviation(x)).toBe(dev);
  });
});

describe('--diverse: K solutions near the reference and far apart', () => {
  /** The K-nearest-starts baseline: the closest-point search from the K Halton starts nearest the reference. */
  function nearestStarts(model: Model, q: Query, K: number): Float64Array[] {
    const p = buildProblem(model, q);
    const ev = new ProblemEvaluator(p, new Budget(1e6, Infinity));
    const n = p.unknowns.length;
    const starts = Array.from({ length: 64 }, (_, i) => Float64Array.from({ length: n }, (_, j) => p.lo[j] + (p.hi[j] - p.lo[j]) * halton(i + 1, [2, 3, 5][j])));
    starts.sort((u, v) => pairDistance(p, u, p.reference!) - pairDistance(p, v, p.reference!));
    return starts.slice(0, K).map((s) => closestFeasible(ev, s));
  }
  const minPair = (p: ReturnType<typeof buildProblem>, pts: Float64Array[]): number => {
    let d = Infinity;
    for (let i = 0; i < pts.length; i++) for (let j = i + 1; j < pts.length; j++) d = Math.min(d, pairDistance(p, pts[i], pts[j]));
    return d;
  };

  it('a line (a + b = 1): all feasible, inside the ball, near the analytic max-min, far above the nearest starts', () => {
    const m = linear([1, 1]);
    const q: Query = { want: { y: 1 }, bounds: box(['a', 'b']), closestTo: { a: 0, b: 0 } };
    const p = buildProblem(m, q);
    for (const K of [2, 3, 4]) {
      const r = invert(m, q, { diverse: K });
      expect(r.status).toBe('solved');
      expect(r.solutions).toHaveLength(K);
      const R = r.counterfactual!.diverse!.radius;
      // default radius: twice the closest distance, √2/2·½·2 → d* = ‖(½, ½)‖/2
      expect(R).toBeCloseTo(2 * Math.SQRT1_2 / 2, 6);
      const pts = r.solutions.map((s) => Float64Array.from([s.unknowns.a, s.unknowns.b]));
      for (const s of r.solutions) {
        expect(verifySolution(p, [s.unknowns.a, s.unknowns.b]).meetsTargets).toBe(true);
        expect(s.distance!).toBeLessThanOrEqual(R * (1 + 1e-9));
      }
      for (let i = 1; i < r.solutions.length; i++) expect(r.solutions[i].distance!).toBeGreaterThanOrEqual(r.solutions[i - 1].distance!);
      // the feasible part of the ball is the segment (0,1)–(1,0), length √2/2 in box units; the
      // best K points on it are spread evenly: spacing (√2/2)/(K−1); greedy gets ≥ half of it
      const ours = minPair(p, pts);
      expect(ours).toBeCloseTo(r.counterfactual!.diverse!.minPairwise, 12);
      expect(ours).toBeGreaterThanOrEqual(0.5 * (Math.SQRT1_2 / (K - 1)) - 1e-6);
      const base = minPair(p, nearestStarts(m, q, K));
      expect(base).toBeLessThan(1e-4); // every start converges to the one closest point
      expect(ours).toBeGreaterThan(base + 0.1);
    }
    // K = 3: the greedy set is the optimum (the middle and both ends)
    const r3 = invert(m, q, { diverse: 3 });
    expect(r3.counterfactual!.diverse!.minPairwise).toBeGreaterThan(0.95 * (Math.SQRT1_2 / 2));
  });

  it('a curve (smooth net, one equality target): feasible points, pairwise distance ≥ the nearest-starts baseline', () => {
    const model = mlp(11, 2, 8, 'tanh');
    const level = sampledMax(model, 400) - 0.4;
    const q: Query = { want: { y: level }, bounds: box(['a', 'b']), closestTo: { a: 0.1, b: -0.2 } };
    const p = buildProblem(model, q);
    const K = 4;
    const r = invert(model, q, { diverse: K, diverseRadius: 0.6 });
    expect(r.status).toBe('solved');
    expect(r.solutions.length).toBeGreaterThanOrEqual(2);
    const pts = r.solutions.map((s) => Float64Array.from([s.unknowns.a, s.unknowns.b]));
    for (const s of r.solutions) {
      expect(verifySolution(p, [s.unknowns.a, s.unknowns.b]).meetsTargets).toBe(true);
      expect(s.distance!).toBeLessThanOrEqual(0.6 * (1 + 1e-9));
    }
    const base = nearestStarts(model, q, r.solutions.length);
    expect(minPair(p, pts)).toBeGreaterThanOrEqual(minPair(p, base));
    expect(r.briefReport()).toMatch(/diversity: \d of 4 asked/);
  });

  for (const norm of ['l1', 'linf'] as const) {
    it(`the ${norm} ball: a plane (a + b + c = 1), K = 4 inside the ball, spread apart`, () => {
      const m = linear([1, 1, 1]);
      const q: Query = { want: { y: 1 }, bounds: box(['a', 'b', 'c']), closestTo: { a: 0, b: 0, c: 0 }, distance: norm };
      const p = buildProblem(m, q);
      const r = invert(m, q, { diverse: 4 });
      expect(r.status).toBe('solved');
      expect(r.solutions).toHaveLength(4);
      const R = r.counterfactual!.diverse!.radius;
      const pts = r.solutions.map((s) => Float64Array.from([s.unknowns.a, s.unknowns.b, s.unknowns.c]));
      for (const u of pts) {
        const v = verifySolution(p, u);
        expect(v.meetsTargets).toBe(true);
        expect(v.distance!).toBeLessThanOrEqual(R * (1 + 1e-9));
      }
      expect(minPair(p, pts)).toBeGreaterThan(minPair(p, nearestStarts(m, q, 4)) + 0.05);
    });
  }

  it('needs a reference; a bad K is refused', () => {
    const m = linear([1, 1]);
    expectNetinvertError(() => invert(m, { want: { y: 1 } }, { diverse: 3 }), 'bad_query', '--closest-to');
    expectNetinvertError(() => invert(m, { want: { y: 1 }, closestTo: { a: 0 } }, { diverse: 0 }), 'bad_query', 'diverse');
  });
});

describe('--sparse: the fewest inputs changed, against brute force over subsets', () => {
  /**
   * The oracle: every subset S of the inputs, smallest first; the query with the others given at
   * the reference, decided by MILP feasibility. Returns the smallest feasible size and the sets.
   */
  async function bruteForce(model: Model, ref: Record<string, number>, want: Query['want']): Promise<{ k: number; feasible: Set<string> }> {
    const names = Object.keys(ref);
    const feasible = new Set<string>();
    let k = Infinity;
    for (let mask = 0; mask < 1 << names.length; mask++) {
      const free = names.filter((_, j) => mask & (1 << j));
      const given = Object.fromEntries(names.filter((_, j) => !(mask & (1 << j))).map((nm) => [nm, ref[nm]]));
      let ok: boolean;
      if (free.length === 0) {
        const y = model.network.evaluate(Float64Array.from(names.map((nm) => ref[nm])), 1)[0];
        ok = y >= (want.y as { ge: number }).ge - 1e-6;
      } else {
        const r = await invertMilp(model, { given, want, bounds: Object.fromEntries(free.map((nm) => [nm, [-1, 1] as [number, number]])) }, { timeLimit: 20 });
        expect(['solved', 'infeasible']).toContain(r.status);
        ok = r.status === 'solved';
      }
      if (ok) {
        feasible.add(free.slice().sort().join(','));
        k = Math.min(k, free.length);
      }
    }
    return { k, feasible };
  }

  for (const seed of [1, 2, 3]) {
    it(`ReLU net ${seed} (4 inputs): MILP L0 and the subset search agree with brute force`, async () => {
      const model = mlp(seed, 4, 8, 'relu');
      const ref = { a: 0.1, b: -0.2, c: 0.3, d: -0.1 };
      const y0 = model.network.evaluate(Float64Array.from(Object.values(ref)), 1)[0];
      const top = sampledMax(model, 600);
      const want = { y: { ge: y0 + 0.7 * (top - y0) } };
      const oracle = await bruteForce(model, ref, want);
      expect(oracle.k).toBeGreaterThanOrEqual(1);
      expect(oracle.k).toBeLessThanOrEqual(4);
      const q: Query = { want, bounds: box(['a', 'b', 'c', 'd']), closestTo: ref, distance: 'l1' };
      // exact: one binary per input
      const m = await invertMilp(model, q, { sparse: true, timeLimit: 30 });
      expect(m.status).toBe('solved');
      const s = m.solutions[0];
      expect(s.meetsTargets).toBe(true);
      expect(s.changed!.count).toBe(oracle.k);
      expect(m.counterfactual!.sparse).toMatchObject({ changed: oracle.k, proven: true, method: 'milp' });
      expect(oracle.feasible.has(s.changed!.inputs.slice().sort().join(','))).toBe(true);
      // the unchanged inputs sit exactly at the reference (to CHANGE_TOL)
      for (const k of Object.keys(ref)) if (!s.changed!.inputs.includes(k)) expect(Math.abs(s.unknowns[k] - ref[k as keyof typeof ref])).toBeLessThanOrEqual(2e-6);
      // the subset search (any net): never fewer than possible; found sets are feasible
      const r = invert(model, q, { sparse: true, maxEvaluations: 40_000 });
      expect(r.status).toBe('solved');
      const t = r.solutions[0];
      expect(t.meetsTargets).toBe(true);
      expect(t.changed!.count).toBeGreaterThanOrEqual(oracle.k);
      expect(oracle.feasible.has(t.changed!.inputs.slice().sort().join(','))).toBe(true);
      if (r.counterfactual!.sparse!.proven) expect(t.changed!.count).toBe(oracle.k);
    });
  }

  it('with --prove the subset search proves the fewest (3-input ReLU net)', async () => {
    const model = mlp(4, 3, 6, 'relu');
    const ref = { a: 0.2, b: 0.1, c: -0.3 };
    const y0 = model.network.evaluate(Float64Array.from(Object.values(ref)), 1)[0];
    const top = sampledMax(model, 600);
    const want = { y: { ge: y0 + 0.8 * (top - y0) } };
    const oracle = await bruteForce(model, ref, want);
    const r = certify(model, { want, bounds: box(['a', 'b', 'c']), closestTo: ref }, { sparse: true, maxEvaluations: 40_000, timeLimit: 30 });
    expect(r.status).toBe('solved');
    expect(r.counterfactual!.sparse!.changed).toBe(oracle.k);
    expect(r.counterfactual!.sparse!.proven).toBe(true);
    expect(r.solutions[0].changed!.count).toBe(oracle.k);
    expect(r.briefReport()).toMatch(/sparsity: \d inputs? changed, proven the fewest/);
  });
});

describe('proven minimum distance (--closest-to --prove)', () => {
  for (const seed of [2, 3, 6]) {
    for (const norm of ['l1', 'linf'] as const) {
      it(`ReLU net ${seed}, ${norm}: the branch-and-bound bound is below the MILP optimum and close to it`, async () => {
        const model = mlp(seed, 2, 8, 'relu');
        const level = sampledMax(model, 400) - 0.2;
        const q: Query = { want: { y: { ge: level } }, bounds: box(['a', 'b']), closestTo: { a: -0.5, b: 0.3 }, distance: norm };
        const milp = await invertMilp(model, q, { timeLimit: 20 });
        expect(milp.status).toBe('solved');
        const dM = milp.closest!.distance!;
        // the MILP's own bound is a lower bound on its optimum
        expect(milp.counterfactual!.distanceLowerBound!.bound).toBeLessThanOrEqual(dM + 1e-12);
        const p = buildProblem(model, q);
        const search = invert(model, q, { maxEvaluations: 20_000 });
        const best = search.closest!.distance!;
        const b = closestDistanceLowerBound(p, best, { maxBoxes: 20_000 });
        // sound: the MILP point meets the targets, so nothing proven closer than it
        expect(b.bound).toBeLessThanOrEqual(dM + 1e-9);
        // tight: the gap to the search's answer closes
        expect(b.bound).toBeGreaterThanOrEqual(Math.min(best, dM) - 1e-3);
      });
    }
  }

  it('a smooth net: the bound is at most the grid\'s nearest feasible point, and close to it', () => {
    const model = mlp(7, 2, 8, 'tanh');
    const level = sampledMax(model, 400) - 0.3;
    const ref = { a: -0.7, b: 0.7 };
    expect(model.network.evaluate(Float64Array.from([ref.a, ref.b]), 1)[0]).toBeLessThan(level);
    const q: Query = { want: { y: { ge: level } }, bounds: box(['a', 'b']), closestTo: ref };
    const r = certify(model, q, { maxEvaluations: 20_000, maxBoxes: 20_000 });
    expect(r.status).toBe('solved');
    const lb = r.counterfactual!.distanceLowerBound!;
    expect(lb.method).toBe('branch-and-bound');
    const G = 401;
    const X = new Float64Array(G * G * 2);
    for (let i = 0; i < G; i++) for (let j = 0; j < G; j++) X.set([-1 + (2 * i) / (G - 1), -1 + (2 * j) / (G - 1)], (i * G + j) * 2);
    const Y = model.network.evaluate(X, G * G);
    let grid = Infinity;
    for (let k = 0; k < G * G; k++) if (Y[k] >= level) grid = Math.min(grid, Math.hypot((X[2 * k] - ref.a) / 2, (X[2 * k + 1] - ref.b) / 2));
    expect(lb.bound).toBeLessThanOrEqual(grid + 1e-12);
    expect(lb.bound).toBeLessThanOrEqual(r.closest!.distance!);
    expect(lb.bound).toBeGreaterThanOrEqual(grid - 0.01);
    expect(r.briefReport()).toMatch(/proven: no input closer to the reference than/);
  });
});

describe('the CLI flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ni-cf-'));
  const modelPath = join(dir, 'plane.json');
  writeFileSync(modelPath, saveNativeModel(linear([1, 1, 1])));
  const csv = join(dir, 'data.csv');
  // MAD of a: 1, of b: 2 (c: constant, MAD 0: keeps the box width)
  writeFileSync(csv, 'a,b,c\n' + [[1, 2, 5], [2, 4, 5], [3, 6, 5], [4, 8, 5], [5, 10, 5]].map((r) => r.join(',')).join('\n') + '\n');
  const common = [modelPath, '--want', 'y=1', '--bounds', 'a=-5:5,b=-5:5,c=-5:5', '--closest-to', 'a=0,b=0,c=0', '--json'];

  it('--sparse, --only-decrease, --fixed', async () => {
    const r = await run(['solve', ...common, '--sparse', '--fixed', 'a', '--only-decrease', 'b']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.query.given).toEqual({ a: 0 });
    expect(j.solutions[0].changed).toEqual({ count: 1, inputs: ['c'] });
    expect(j.solutions[0].unknowns.c).toBeCloseTo(1, 6);
    expect(j.counterfactual.sparse.proven).toBe(true);
  });

  it('--mad and --distance-weights set the distance units (Lagrange answer)', async () => {
    const r = await run(['solve', ...common, '--mad', csv, '--distance-weights', 'c=2']);
    expect(r.code).toBe(0);
    const u = JSON.parse(r.out).closest.unknowns;
    // units: a 1, b 2, c 10/2 = 5 → d ∝ (1, 4, 25)/30
    expect(u.a).toBeCloseTo(1 / 30, 6);
    expect(u.b).toBeCloseTo(4 / 30, 6);
    expect(u.c).toBeCloseTo(25 / 30, 6);
  });

  it('the query file takes the controls; --query refuses the control flags beside it', async () => {
    const qf = join(dir, 'q.json');
    writeFileSync(
      qf,
      JSON.stringify({ want: { y: 1 }, bounds: { a: [-5, 5], b: [-5, 5], c: [-5, 5] }, closestTo: { a: 0, b: 0, c: 0 }, fixed: ['a'], onlyDecrease: ['b'], distanceWeights: { c: 2 } }),
    );
    const r = await run(['solve', modelPath, '--query', qf, '--sparse', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.query.given).toEqual({ a: 0 });
    expect(j.solutions[0].changed).toEqual({ count: 1, inputs: ['c'] });
    const both = await run(['solve', modelPath, '--query', qf, '--fixed', 'b']);
    expect(both.code).toBe(1);
    expect(both.err + both.out).toMatch(/--fixed/);
    writeFileSync(qf, JSON.stringify({ want: { y: 1 }, closestTo: { a: 0 }, distanceWeights: { a: -1 } }));
    const bad = await run(['solve', modelPath, '--query', qf]);
    expect(bad.code).toBe(1);
    expect(bad.err + bad.out).toMatch(/distanceWeights\.a/);
  });

  it('--diverse prints K solutions and the diversity line', async () => {
    const r = await run(['solve', modelPath, '--want', 'y=1', '--bounds', 'a=-1:1,b=-1:1,c=-1:1', '--closest-to', 'a=0,b=0,c=0', '--diverse', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3 diverse counterfactuals/);
    expect(r.out).toMatch(/diversity: 3 of 3 asked/);
    const bad = await run(['solve', ...common, '--diverse', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.out + bad.err).toMatch(/--diverse/);
  });
});
