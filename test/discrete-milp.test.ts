/**
 * Discrete unknowns with --method milp: ONE MILP with native integer columns (api/discreteMilp.ts,
 * certify/milp/run.ts MilpOptions.discrete). Oracles, independent of the MILP:
 *   - no continuous unknown: brute force, a float64 forward pass at every assignment (two integers
 *     on 0..20 × a categorical × a one-hot group of three: 3,969 assignments);
 *   - one continuous unknown x: every assignment of two integers on 0..20 (441) on a dense grid of
 *     x, with the band's ends kept farther from every grid range than the Lipschitz bound of y in x
 *     times the grid step (so the grid's verdict is exact);
 *   - a fast-check property over random small ReLU nets and target bands: the same verdict as brute force.
 * Every solution is checked by our own forward pass, and its discrete values are exact.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { invertMilp } from '../src/api/milp.ts';
import type { Model } from '../src/model.ts';
import type { Query } from '../src/problem/query.ts';
import { rng } from './util/rng.ts';

interface Spec {
  inputs: string[];
  ranges: Record<string, [number, number]>;
  /** Per input, a scale applied to it before the first layer (integers on 0..20 → about 0..1). */
  scale: number[];
}

/** A ReLU net 2 hidden layers deep (widths h1, h2) over the given inputs, one output y; also its Lipschitz bound per input. */
function reluNet(seedNo: number, spec: Spec, h1 = 8, h2 = 8): { model: Model; lip: number[] } {
  const r = rng(seedNo);
  const n = spec.inputs.length;
  // native dense weight is [in][out]
  const W1 = Array.from({ length: n }, (_, i) => r.vector(h1, -1.5, 1.5).map((w) => w * spec.scale[i]));
  const W2 = Array.from({ length: h1 }, () => r.vector(h2, -1, 1));
  const w3 = r.vector(h2, -1, 1);
  // |y(u) − y(u')| ≤ Σ_i L_i |u_i − u'_i| with L_i = (|w3|ᵀ |W2|ᵀ |W1|ᵀ)_i (relu is 1-Lipschitz)
  const lip = W1.map((row) => {
    let s = 0;
    for (let a = 0; a < h1; a++) {
      let t = 0;
      for (let b = 0; b < h2; b++) t += Math.abs(W2[a][b]) * Math.abs(w3[b]);
      s += Math.abs(row[a]) * t;
    }
    return s;
  });
  const def = {
    format: 'netinvert-model',
    version: 1,
    name: 'relu-discrete',
    inputs: spec.inputs.map((name) => ({ name })),
    nodes: [
      { name: 'cat', inputs: spec.inputs, op: 'concat' },
      { name: 'h1', inputs: ['cat'], op: 'dense', units: h1, weight: W1, bias: r.vector(h1, -0.5, 0.5) },
      { name: 'a1', inputs: ['h1'], op: 'relu' },
      { name: 'h2', inputs: ['a1'], op: 'dense', units: h2, weight: W2, bias: r.vector(h2, -0.5, 0.5) },
      { name: 'a2', inputs: ['h2'], op: 'relu' },
      { name: 'o', inputs: ['a2'], op: 'dense', units: 1, weight: w3.map((w) => [w]), bias: [0.1] },
    ],
    outputs: [{ node: 'o', name: 'y' }],
    metadata: { inputRanges: spec.ranges },
  };
  return { model: loadNativeModel(JSON.stringify(def)), lip };
}

/** y at many input rows at once (our own forward pass). */
function evalRows(model: Model, rows: number[][]): Float64Array {
  const nIn = model.network.nIn;
  const X = new Float64Array(rows.length * nIn);
  rows.forEach((row, r) => X.set(row, r * nIn));
  return model.network.evaluate(X, rows.length);
}

/** A band [lo, hi] between two consecutive sorted values, at least `gap` from both, or null. */
function gapBand(values: number[], gap: number, at: number): [number, number] | null {
  const v = values.slice().sort((a, b) => a - b);
  for (let k = Math.floor(at * (v.length - 1)); k < v.length - 1; k++) {
    if (v[k + 1] - v[k] > 2 * gap + 1e-3) return [v[k] + gap, v[k + 1] - gap];
  }
  return null;
}

const CATS = [0.1, 0.5, 0.8];
const FULL: Spec = {
  inputs: ['i0', 'i1', 'c', 'g0', 'g1', 'g2'],
  ranges: { i0: [0, 20], i1: [0, 20], c: [0, 1], g0: [0, 1], g1: [0, 1], g2: [0, 1] },
  scale: [1 / 20, 1 / 20, 1, 1, 1, 1],
};

/** Every assignment of i0, i1 ∈ 0..20, c ∈ CATS and the one-hot g (3,969 rows, in FULL's input order). */
function allAssignments(): number[][] {
  const rows: number[][] = [];
  for (let i0 = 0; i0 <= 20; i0++) for (let i1 = 0; i1 <= 20; i1++) for (const c of CATS) for (let g = 0; g < 3; g++) rows.push([i0, i1, c, g === 0 ? 1 : 0, g === 1 ? 1 : 0, g === 2 ? 1 : 0]);
  return rows;
}

const discreteQuery: Pick<Query, 'integers' | 'categorical' | 'oneHot'> = { integers: ['i0', 'i1'], categorical: { c: CATS }, oneHot: { g: ['g0', 'g1', 'g2'] } };

/** A reported solution: discrete values exact, and our forward pass puts y inside the band (plus the tolerance). */
function checkSolution(model: Model, s: { inputs: Record<string, number> }, band: [number, number], tol: number): number[] {
  const x = FULL.inputs.map((k) => s.inputs[k]);
  expect(Number.isInteger(x[0]) && Number.isInteger(x[1])).toBe(true);
  expect(x[0] >= 0 && x[0] <= 20 && x[1] >= 0 && x[1] <= 20).toBe(true);
  expect(CATS).toContain(x[2]);
  const g = x.slice(3);
  expect(g.every((v) => v === 0 || v === 1)).toBe(true);
  expect(g.reduce((a, b) => a + b, 0)).toBe(1);
  const y = evalRows(model, [x])[0];
  expect(y).toBeGreaterThanOrEqual(band[0] - tol);
  expect(y).toBeLessThanOrEqual(band[1] + tol);
  return x;
}

describe('--method milp with integer, categorical and one-hot unknowns: one MILP vs brute force over every assignment', () => {
  const rows = allAssignments();

  it('feasibility: the same verdict as the 3,969 forward passes, a verified exact assignment when solved, proven when infeasible', async () => {
    let solved = 0,
      infeasible = 0;
    for (const s of [1, 2]) {
      const { model } = reluNet(s, FULL);
      const ys = Array.from(evalRows(model, rows));
      // a band some assignments meet (around one output value), and one in a gap that none meets
      const mid = ys.slice().sort((a, b) => a - b)[Math.floor(ys.length * 0.37)];
      const hit: [number, number] = [mid - 1e-3, mid + 1e-3];
      const miss = gapBand(ys, 1e-3, 0.5);
      for (const band of miss ? [hit, miss] : [hit]) {
        const oracle = ys.some((y) => y >= band[0] && y <= band[1]);
        const r = await invertMilp(model, { ...discreteQuery, want: { y: { range: band } } }, { atol: 0 });
        expect(r.discrete!.method).toBe('milp');
        expect(r.discrete!.assignments).toBe(rows.length);
        expect(r.status).toBe(oracle ? 'solved' : 'infeasible');
        if (oracle) {
          solved++;
          expect(r.solutions.length).toBe(1);
          checkSolution(model, r.solutions[0], band, 0);
          expect(r.discrete!.branches[0].assignment).toEqual(Object.fromEntries(FULL.inputs.map((k) => [k, r.solutions[0].inputs[k]])));
        } else {
          infeasible++;
          expect(r.proven).toBe(true);
          expect(r.solutions).toHaveLength(0);
        }
      }
    }
    expect(solved).toBeGreaterThan(0);
    expect(infeasible).toBeGreaterThan(0);
  }, 180_000);

  it('closest-to (L1, box-width units): the same optimal distance as brute force over the assignments meeting the band', async () => {
    for (const s of [3, 4]) {
      const { model } = reluNet(s, FULL);
      const ys = Array.from(evalRows(model, rows));
      const sorted = ys.slice().sort((a, b) => a - b);
      const band: [number, number] = [sorted[Math.floor(ys.length * 0.6)], sorted[Math.floor(ys.length * 0.62)]];
      const ref = { i0: 13.4, i1: 2.2, c: 0.55, g0: 0, g1: 0.3, g2: 0.7 };
      const refRow = FULL.inputs.map((k) => ref[k as keyof typeof ref]);
      const width = FULL.inputs.map((k) => FULL.ranges[k][1] - FULL.ranges[k][0]);
      let oracle = Infinity;
      rows.forEach((row, r) => {
        if (ys[r] < band[0] || ys[r] > band[1]) return;
        oracle = Math.min(oracle, row.reduce((a, v, j) => a + Math.abs(v - refRow[j]) / width[j], 0));
      });
      expect(oracle).toBeLessThan(Infinity);
      const r = await invertMilp(model, { ...discreteQuery, want: { y: { range: band } }, closestTo: ref, distance: 'l1' }, { atol: 0 });
      expect(r.status).toBe('solved');
      const x = checkSolution(model, r.solutions[0], band, 0);
      const d = x.reduce((a, v, j) => a + Math.abs(v - refRow[j]) / width[j], 0);
      expect(d).toBeCloseTo(oracle, 9);
      expect(r.closest!.distance!).toBeCloseTo(oracle, 9);
    }
  });
});

describe('--method milp: two integers on 0..20 with a continuous unknown inside', () => {
  const SPEC: Spec = { inputs: ['i0', 'i1', 'x'], ranges: { i0: [0, 20], i1: [0, 20], x: [-1, 1] }, scale: [1 / 20, 1 / 20, 1] };
  const G = 2001;
  const xs = Array.from({ length: G }, (_, k) => -1 + (2 * k) / (G - 1));

  it('the same verdict as the 441 assignments on a grid of x (ends kept beyond the Lipschitz error), and the same closest distance', async () => {
    let checked = 0;
    for (const s of [6, 7]) {
      const { model, lip } = reluNet(s, SPEC);
      const step = xs[1] - xs[0];
      const err = (lip[2] * step) / 2; // every y(x) lies within err of the grid's range
      const grid: number[][] = [];
      for (let i0 = 0; i0 <= 20; i0++) for (let i1 = 0; i1 <= 20; i1++) for (const x of xs) grid.push([i0, i1, x]);
      const ys = evalRows(model, grid);
      const ranges: [number, number][] = [];
      for (let a = 0; a < 441; a++) {
        let lo = Infinity,
          hi = -Infinity;
        for (let k = 0; k < G; k++) {
          const y = ys[a * G + k];
          lo = Math.min(lo, y);
          hi = Math.max(hi, y);
        }
        ranges.push([lo, hi]);
      }
      // bands whose ends are farther than 2·err from every assignment's range end: met ⇔ grid ranges overlap it
      const ends = ranges.flat().sort((a, b) => a - b);
      for (const at of [0.2, 0.5, 0.8, 1]) {
        const band = at === 1 ? ([ends[ends.length - 1] + 4 * err + 0.05, ends[ends.length - 1] + 1] as [number, number]) : gapBand(ends, 2 * err, at);
        if (!band) continue;
        const met = ranges.map(([lo, hi]) => hi >= band[0] && lo <= band[1]);
        const oracle = met.some(Boolean);
        const r = await invertMilp(model, { integers: ['i0', 'i1'], want: { y: { range: band } } }, { atol: 0 });
        expect(r.status).toBe(oracle ? 'solved' : 'infeasible');
        checked++;
        if (!oracle) {
          expect(r.proven).toBe(true);
          continue;
        }
        const sol = r.solutions[0];
        expect(Number.isInteger(sol.inputs.i0) && Number.isInteger(sol.inputs.i1)).toBe(true);
        expect(met[sol.inputs.i0 * 21 + sol.inputs.i1]).toBe(true);
        const y = evalRows(model, [[sol.inputs.i0, sol.inputs.i1, sol.inputs.x]])[0];
        expect(y >= band[0] && y <= band[1]).toBe(true);
        // closest to (i0, i1) = (10.3, 4.6) in L1 over the integers only (x free): the nearest met assignment
        const ref = { i0: 10.3, i1: 4.6 };
        let best = Infinity;
        met.forEach((m, a) => {
          if (m) best = Math.min(best, (Math.abs(Math.floor(a / 21) - ref.i0) + Math.abs((a % 21) - ref.i1)) / 20);
        });
        const rc = await invertMilp(model, { integers: ['i0', 'i1'], want: { y: { range: band } }, closestTo: ref, distance: 'l1' }, { atol: 0 });
        expect(rc.status).toBe('solved');
        expect(rc.closest!.distance!).toBeCloseTo(best, 9);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  }, 180_000);
});

describe('property: the one-MILP verdict equals brute force on random small ReLU nets and bands', () => {
  const SMALL: Spec = { inputs: ['i0', 'i1', 'g0', 'g1'], ranges: { i0: [0, 5], i1: [-2, 3], g0: [0, 1], g1: [0, 1] }, scale: [1 / 5, 1 / 5, 1, 1] };
  const rows: number[][] = [];
  for (let i0 = 0; i0 <= 5; i0++) for (let i1 = -2; i1 <= 3; i1++) for (let g = 0; g < 2; g++) rows.push([i0, i1, g === 0 ? 1 : 0, g]);

  it('solved ⇔ some assignment meets the band; infeasible is proven', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 100, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 1e-3, max: 0.05, noNaN: true }), async (seedNo, at, width) => {
        const { model } = reluNet(seedNo, SMALL, 6, 6);
        const ys = Array.from(evalRows(model, rows)).sort((a, b) => a - b);
        const lo = ys[0] - 0.1 + at * (ys[ys.length - 1] - ys[0] + 0.2);
        const band: [number, number] = [lo, lo + width];
        // skip bands whose ends sit within 1e-7 of an output value (the tolerance decides there, not the net)
        if (ys.some((y) => Math.abs(y - band[0]) < 1e-7 || Math.abs(y - band[1]) < 1e-7)) return;
        const oracle = ys.some((y) => y >= band[0] && y <= band[1]);
        const r = await invertMilp(model, { integers: ['i0', 'i1'], oneHot: { g: ['g0', 'g1'] }, want: { y: { range: band } } }, { atol: 0 });
        expect(r.status).toBe(oracle ? 'solved' : 'infeasible');
        if (oracle) {
          const s = r.solutions[0].inputs;
          expect(Number.isInteger(s.i0) && Number.isInteger(s.i1) && s.g0 + s.g1 === 1).toBe(true);
          const y = evalRows(model, [[s.i0, s.i1, s.g0, s.g1]])[0];
          expect(y >= band[0] && y <= band[1]).toBe(true);
        } else expect(r.proven).toBe(true);
      }),
      { numRuns: 20, seed: 11 },
    );
  });
});

describe('no cap on the assignments for the one MILP', () => {
  it('two integers on 0..999 (1,000,000 assignments, past the enumeration cap of 10,000) are one MILP', async () => {
    const spec: Spec = { inputs: ['i0', 'i1'], ranges: { i0: [0, 999], i1: [0, 999] }, scale: [1 / 1000, 1 / 1000] };
    const { model } = reluNet(8, spec, 6, 6);
    const y = evalRows(model, [[417, 58]])[0];
    const r = await invertMilp(model, { integers: ['i0', 'i1'], want: { y: { range: [y - 1e-4, y + 1e-4] } } }, { atol: 0 });
    expect(r.discrete!.assignments).toBe(1_000_000);
    expect(r.status).toBe('solved');
    const s = r.solutions[0].inputs;
    expect(Number.isInteger(s.i0) && Number.isInteger(s.i1)).toBe(true);
    const y2 = evalRows(model, [[s.i0, s.i1]])[0];
    expect(Math.abs(y2 - y)).toBeLessThanOrEqual(1e-4);
  });
});
