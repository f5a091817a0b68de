/**
 * Ranking by trust (problem/prior.ts localError): the model's likely error at a solution, from
 * its training residuals at the nearest stored rows. Oracles: a brute-force neighbour search
 * written here, a synthetic residual field whose accurate half is known, and train's residuals
 * recomputed by a forward pass.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { invert } from '../src/api/invert.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import type { InputStats } from '../src/model.ts';
import { buildPrior, localError, LOCAL_ERROR_NEIGHBOURS } from '../src/problem/prior.ts';
import { trainMlp } from '../src/train/train.ts';
import { expectNetinvertError } from './util/expect.ts';
import { rng } from './util/rng.ts';

const ADD = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url)));

/** A prior over (a, b) with sample rows on a grid of [0, 10]² and residuals `res(a, b)` there. */
function gridPrior(res: (a: number, b: number) => number): InputStats {
  const rows: number[][] = [],
    residuals: number[][] = [];
  for (let i = 0; i <= 20; i++)
    for (let j = 0; j <= 20; j++) {
      rows.push([i / 2, j / 2]);
      residuals.push([res(i / 2, j / 2)]);
    }
  return { names: ['a', 'b'], mean: [5, 5], std: [3, 3], rows, residuals };
}

describe('localError', () => {
  it('is the inverse-distance-weighted mean of the nearest rows’ normalised squared residuals, inflated by (1 + m²/n) (brute force)', () => {
    const r = rng(4);
    const rows = Array.from({ length: 60 }, () => r.vector(2, 0, 10));
    const residuals = rows.map(() => [r.vector(1, -1, 1)[0]]);
    const spec: InputStats = { names: ['a', 'b'], mean: [4, 6], std: [2, 3], rows, residuals };
    const prior = buildPrior(ADD, spec, ['a', 'b'], 'query');
    const ms = residuals.reduce((s, x) => s + x[0] ** 2, 0) / residuals.length;
    for (let t = 0; t < 20; t++) {
      const x = r.vector(2, 0, 10);
      const m = r.vector(1, 0, 3)[0];
      // brute force: every row's standardised distance, sorted
      const d = rows.map((row, i) => ({ d: Math.hypot((x[0] - row[0]) / 2, (x[1] - row[1]) / 3), rho: residuals[i][0] ** 2 / ms })).sort((p, q) => p.d - q.d);
      let s = 0,
        w = 0;
      for (const e of d.slice(0, LOCAL_ERROR_NEIGHBOURS)) ((s += e.rho / (e.d + 1e-9)), (w += 1 / (e.d + 1e-9)));
      expect(localError(prior, x, m)).toBeCloseTo(Math.sqrt((s / w) * (1 + (m * m) / 2)), 10);
    }
    // no residuals: nothing to say
    expect(localError(buildPrior(ADD, { names: ['a', 'b'], mean: [4, 6], std: [2, 3], rows }, ['a', 'b'], 'query'), [1, 1], 0)).toBeNull();
  });
});

describe('ranking by trust', () => {
  it('on a continuum of roots, the default ranking puts first a root where the residuals say the model is accurate', () => {
    // the seed adder: sum = 7 is a curve of (a, b); the model is "accurate" (tiny residuals) only for b < 5
    const prior = gridPrior((_a, b) => (b < 5 ? 1e-3 : 1));
    const r = invert(ADD, { want: { sum: 7 }, prior }, { seed: 1, maxRepresentatives: 10 });
    expect(r.status).toBe('solved');
    expect(r.solutions.length).toBeGreaterThan(3);
    const accurate = r.solutions.filter((s) => s.inputs.b < 4.5);
    const inaccurate = r.solutions.filter((s) => s.inputs.b > 5.5);
    expect(accurate.length).toBeGreaterThan(0);
    expect(inaccurate.length).toBeGreaterThan(0);
    for (const s of r.solutions) expect(s.localError).toBeDefined();
    // first: an accurate root; every accurate root scores below every inaccurate one; the list is in localError order
    expect(r.solutions[0].inputs.b).toBeLessThan(5);
    expect(Math.max(...accurate.map((s) => s.localError!))).toBeLessThan(Math.min(...inaccurate.map((s) => s.localError!)));
    for (let i = 1; i < r.solutions.length; i++) expect(r.solutions[i].localError!).toBeGreaterThanOrEqual(r.solutions[i - 1].localError!);
    // the mirror field flips the choice
    const flipped = invert(ADD, { want: { sum: 7 }, prior: gridPrior((_a, b) => (b < 5 ? 1 : 1e-3)) }, { seed: 1, maxRepresentatives: 10 });
    expect(flipped.solutions[0].inputs.b).toBeGreaterThan(5);
    // rank plausibility ignores the residuals: the order is by Mahalanobis distance
    const p = invert(ADD, { want: { sum: 7 }, prior }, { seed: 1, maxRepresentatives: 10, rank: 'plausibility' });
    for (let i = 1; i < p.solutions.length; i++) expect(p.solutions[i].plausibility!).toBeGreaterThanOrEqual(p.solutions[i - 1].plausibility!);
  });

  it('rank trust without residuals is a coded error; bad residual shapes are bad_prior', () => {
    expectNetinvertError(() => invert(ADD, { want: { sum: 7 }, prior: { names: ['a', 'b'], mean: [5, 5], std: [3, 3] } }, { rank: 'trust' }), 'bad_query', 'trust');
    expectNetinvertError(() => invert(ADD, { want: { sum: 7 }, prior: { names: ['a', 'b'], mean: [5, 5], std: [3, 3], rows: [[1, 2]], residuals: [[1], [2]] } }), 'bad_prior', 'residuals');
    expectNetinvertError(() => invert(ADD, { want: { sum: 7 }, prior: { names: ['a', 'b'], mean: [5, 5], std: [3, 3], rows: [[1, 2]], residuals: [[1, 2]] } }), 'bad_prior', 'output');
  });

  it('train stores, for each stored sample row, the model’s residual there (forward pass − the row’s training output)', () => {
    const r = rng(9);
    const rows = 300;
    const X = new Float64Array(rows * 2),
      Y = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const [a, b] = r.vector(2, -1, 1);
      X[2 * i] = a;
      X[2 * i + 1] = b;
      Y[i] = Math.sin(2 * a) + b * b;
    }
    const { model } = trainMlp({ inputs: X, outputs: Y, inputNames: ['a', 'b'], outputNames: ['y'] }, { hidden: [8], activation: 'tanh', epochs: 20, lbfgsIterations: 50, seed: 3 });
    const st = model.metadata.inputStats!;
    expect(st.rows!.length).toBe(st.residuals!.length);
    expect(st.rows!.length).toBeGreaterThan(100);
    st.rows!.forEach((row, k) => {
      // the row is a training row; its residual is the model there minus that row's output
      let i = -1;
      for (let q = 0; q < rows; q++) if (X[2 * q] === row[0] && X[2 * q + 1] === row[1]) i = q;
      expect(i).toBeGreaterThanOrEqual(0);
      const pred = model.network.evaluate(Float64Array.from(row), 1)[0];
      expect(st.residuals![k][0]).toBeCloseTo(pred - Y[i], 12);
    });
  });
});
