/**
 * Priors over the inputs (problem/prior.ts): the Mahalanobis score against a direct formula
 * (Σ⁻¹ by Gauss–Jordan elimination here, not Cholesky), the reservoir sample's bounds and
 * uniformity, sampling, the ranking of exact roots by plausibility, the coded errors, and the
 * statistics `train` stores (against a direct two-pass computation).
 */
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/model.ts';
import { buildProblem } from '../src/problem/query.ts';
import { buildPrior, checkInputStats, diagonalPrior, mahalanobis, PRIOR_SAMPLE_ROWS, restrictStats, samplePrior, statsOfRows } from '../src/problem/prior.ts';
import { meanCovariance, reservoirIndices } from '../src/numeric/stats.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { invert } from '../src/api/invert.ts';
import { trainMlp } from '../src/train/train.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import { expectNetinvertError } from './util/expect.ts';
import { rng } from './util/rng.ts';
import { FOUR_ROOTS, fourRootNet, threeRootNet } from './problems.ts';

/** Σ⁻¹ by Gauss–Jordan elimination with partial pivoting (the oracle: no Cholesky). */
function inverse(C: number[][]): number[][] {
  const n = C.length;
  const A = C.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    const d = A[c][c];
    for (let j = 0; j < 2 * n; j++) A[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c];
      for (let j = 0; j < 2 * n; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((r) => r.slice(n));
}

function directMahalanobis(u: number[], mean: number[], C: number[][]): number {
  const P = inverse(C);
  const d = u.map((x, i) => x - mean[i]);
  let s = 0;
  for (let i = 0; i < d.length; i++) for (let j = 0; j < d.length; j++) s += d[i] * P[i][j] * d[j];
  return Math.sqrt(s);
}

/** y = x0 + x1 + x2 (three inputs, one output): any subset of them can be unknown. */
function sumNet() {
  return createModel(
    {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [{ name: 'y', op: { type: 'dense', units: 1, weight: [1, 1, 1], bias: [0] }, inputs: ['x'] }],
      outputs: [{ node: 'y', name: 'y' }],
    },
    { inputRanges: { 'x[0]': [-3, 3], 'x[1]': [-3, 3], 'x[2]': [-3, 3] } },
  );
}

/** A random SPD d×d matrix A·Aᵀ + 0.1·I. */
function randomCov(d: number, seed: number): number[][] {
  const r = rng(seed);
  const A = Array.from({ length: d }, () => r.vector(d, -1, 1));
  return A.map((ai, i) => A.map((aj, j) => ai.reduce((s, x, k) => s + x * aj[k], 0) + (i === j ? 0.1 : 0)));
}

describe('Mahalanobis distance', () => {
  it('equals √(dᵀΣ⁻¹d) computed by Gauss–Jordan, over every unknown', () => {
    const model = sumNet();
    const names = ['x[0]', 'x[1]', 'x[2]'];
    for (let t = 0; t < 20; t++) {
      const cov = randomCov(3, t);
      const r = rng(100 + t);
      const mean = r.vector(3, -1, 1);
      const prior = buildPrior(model, { names, mean, cov }, names, 'query');
      const u = r.vector(3, -3, 3);
      expect(mahalanobis(prior, u)).toBeCloseTo(directMahalanobis(u, mean, cov), 9);
    }
  });

  it('uses the marginal of the unknowns (the sub-matrix), whatever order the prior lists its names in', () => {
    const model = sumNet();
    const cov = randomCov(3, 7);
    const mean = [0.3, -0.2, 0.5];
    // the prior lists x[2], x[0], x[1]; x[1] is given, so the unknowns are x[0], x[2]
    const perm = [2, 0, 1];
    const spec = { names: perm.map((i) => `x[${i}]`), mean: perm.map((i) => mean[i]), cov: perm.map((i) => perm.map((j) => cov[i][j])) };
    const p = buildProblem(model, { given: { 'x[1]': 0 }, want: { y: 1 }, prior: spec });
    expect(p.unknownNames).toEqual(['x[0]', 'x[2]']);
    const sub = [
      [cov[0][0], cov[0][2]],
      [cov[2][0], cov[2][2]],
    ];
    for (const u of [
      [1, 2],
      [-0.5, 0.1],
      [0.3, 0.5],
    ]) {
      expect(mahalanobis(p.prior!, u)).toBeCloseTo(directMahalanobis(u, [mean[0], mean[2]], sub), 9);
    }
  });

  it('a diagonal prior (--prior-mean/--prior-std) is Σ |u − μ|²/σ² under the root', () => {
    const model = sumNet();
    const spec = diagonalPrior({ 'x[0]': 1, 'x[1]': -1, 'x[2]': 0 }, { 'x[0]': 0.5, 'x[1]': 2, 'x[2]': 1 });
    const prior = buildPrior(model, spec, ['x[0]', 'x[1]', 'x[2]'], 'query');
    const u = [2, 1, -1];
    expect(mahalanobis(prior, u)).toBeCloseTo(Math.sqrt((1 / 0.5) ** 2 + (2 / 2) ** 2 + 1), 12);
  });
});

describe('statistics and samples', () => {
  it('mean and covariance match the two-pass formulas', () => {
    const r = rng(3);
    const rows = 57,
      d = 3;
    const X = new Float64Array(rows * d).map(() => 1e3 + r.uniform(-1, 1));
    const { mean, cov } = meanCovariance(X, rows, d);
    for (let i = 0; i < d; i++) {
      let m = 0;
      for (let k = 0; k < rows; k++) m += X[k * d + i];
      m /= rows;
      expect(mean[i]).toBeCloseTo(m, 9);
    }
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < rows; k++) s += (X[k * d + i] - mean[i]) * (X[k * d + j] - mean[j]);
        expect(cov[i * d + j]).toBeCloseTo(s / (rows - 1), 9);
      }
  });

  it('the reservoir holds min(k, rows) distinct rows, and each row is kept with probability ≈ k/rows', () => {
    expect(reservoirIndices(5, 10, mulberry32(1))).toEqual([0, 1, 2, 3, 4]);
    const rows = 20,
      k = 5,
      trials = 4000;
    const hits = new Array(rows).fill(0);
    const rand = mulberry32(9);
    for (let t = 0; t < trials; t++) {
      const idx = reservoirIndices(rows, k, rand);
      expect(idx.length).toBe(k);
      expect(new Set(idx).size).toBe(k);
      for (const i of idx) {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(rows);
        hits[i]++;
      }
    }
    // binomial σ of a frequency: √(0.25·0.75/4000) ≈ 0.0068; 5σ band
    for (const h of hits) expect(Math.abs(h / trials - k / rows)).toBeLessThan(0.035);
  });

  it('statsOfRows caps its sample at the given size and keeps genuine rows', () => {
    const rows = 600,
      d = 2;
    const X = new Float64Array(rows * d).map((_, i) => i);
    const s = statsOfRows(['a', 'b'], X, rows, 256, 4);
    expect(s.rows!.length).toBe(256);
    for (const r of s.rows!) expect(r[1]).toBe(r[0] + 1);
    expect(s.count).toBe(rows);
  });

  it('draws from N(μ, Σ): the sample mean and covariance approach μ and Σ (wide box)', () => {
    const model = sumNet();
    const names = ['x[0]', 'x[1]'];
    const cov = [
      [0.04, 0.03],
      [0.03, 0.09],
    ];
    const prior = buildPrior(model, { names, mean: [0.5, -0.5], cov }, names, 'query');
    const k = 20000;
    const S = new Float64Array(2 * k);
    samplePrior(prior, mulberry32(2), S, k, new Float64Array([-10, -10]), new Float64Array([10, 10]));
    const { mean, cov: C } = meanCovariance(S, k, 2);
    expect(mean[0]).toBeCloseTo(0.5, 1);
    expect(mean[1]).toBeCloseTo(-0.5, 1);
    expect(Math.abs(C[0] - 0.04)).toBeLessThan(0.004);
    expect(Math.abs(C[1] - 0.03)).toBeLessThan(0.004);
    expect(Math.abs(C[3] - 0.09)).toBeLessThan(0.006);
    // clipped to the box
    samplePrior(prior, mulberry32(2), S, k, new Float64Array([0.5, -0.6]), new Float64Array([0.6, -0.4]));
    for (let q = 0; q < k; q++) {
      expect(S[2 * q]).toBeGreaterThanOrEqual(0.5);
      expect(S[2 * q]).toBeLessThanOrEqual(0.6);
    }
  });
});

describe('ranking by plausibility', () => {
  it('three exact roots of tanh(3x) − x/2 = 0: a prior at the positive root puts it first, and the order follows |x − μ|', () => {
    const model = threeRootNet();
    for (const sign of [1, -1]) {
      // the positive root, by bisection on the formula itself (the oracle)
      let a = 0.5,
        b = 4;
      for (let i = 0; i < 200; i++) {
        const m = 0.5 * (a + b);
        if (Math.tanh(3 * m) - 0.5 * m > 0) a = m;
        else b = m;
      }
      const root = sign * a;
      const r = invert(model, { want: { y: 0 }, prior: { names: ['x'], mean: [root + 0.1], std: [0.5] } });
      expect(r.solutions.length).toBe(3);
      expect(r.solutions[0].unknowns.x).toBeCloseTo(root, 6);
      const pl = r.solutions.map((s) => s.plausibility!);
      expect(pl[0]).toBeCloseTo(Math.abs(root - (root + 0.1)) / 0.5, 5);
      for (let i = 1; i < pl.length; i++) expect(pl[i]).toBeGreaterThanOrEqual(pl[i - 1]);
      expect(r.query.prior?.source).toBe('query');
      expect(r.briefReport()).toContain('plausibility');
    }
  });

  it('certify keeps the scores and the order: proven roots carry their plausibility too', async () => {
    const { certify } = await import('../src/api/certify.ts');
    const model = threeRootNet();
    const r = certify(model, { want: { y: 0 }, prior: { names: ['x'], mean: [-1.5], std: [0.5] } });
    expect(r.complete).toBe(true);
    expect(r.solutions.length).toBe(3);
    for (const s of r.solutions) expect(s.plausibility).toBeCloseTo(Math.abs(s.unknowns.x + 1.5) / 0.5, 9);
    for (let i = 1; i < r.solutions.length; i++) expect(r.solutions[i].plausibility!).toBeGreaterThanOrEqual(r.solutions[i - 1].plausibility!);
    expect(r.solutions[0].unknowns.x).toBeLessThan(-1);
  });

  it('four isolated roots (2 unknowns): the prior centered on one root ranks it first; --rank spread keeps every root', () => {
    const model = fourRootNet();
    const want = { y1: 0, y2: 0 };
    // targets y1 = E(3), y2 = E(1) as in the problem bank
    const E = (d: number): number => {
      const bsig = (x: number): number => (1 - Math.exp(-x)) / (1 + Math.exp(-x));
      return bsig(0.8 * d + 1.5) + bsig(-0.8 * d + 1.5);
    };
    want.y1 = E(3);
    want.y2 = E(1);
    const roots = FOUR_ROOTS;
    for (const [x3, x4] of roots) {
      const r = invert(model, { want, prior: { names: ['x3', 'x4'], mean: [x3, x4], std: [0.7, 0.7] } }, { maxEvaluations: 100_000 });
      expect(r.solutions.length).toBe(4);
      expect(r.solutions[0].unknowns.x3).toBeCloseTo(x3, 5);
      expect(r.solutions[0].unknowns.x4).toBeCloseTo(x4, 5);
    }
    const spread = invert(model, { want, prior: { names: ['x3', 'x4'], mean: [4.5, 1.5], std: [0.7, 0.7] } }, { rank: 'spread', maxEvaluations: 100_000 });
    expect(spread.solutions.length).toBe(4);
    expect(spread.solutions[0].unknowns.x3).toBeCloseTo(4.5, 5);
    // spread: the second is the root farthest from the first (box-width units, equal widths)
    const far = roots.reduce((b, q) => (Math.hypot(q[0] - 4.5, q[1] - 1.5) > Math.hypot(b[0] - 4.5, b[1] - 1.5) ? q : b));
    expect(spread.solutions[1].unknowns.x3).toBeCloseTo(far[0], 5);
    expect(spread.solutions[1].unknowns.x4).toBeCloseTo(far[1], 5);
  });

  it('a continuum (x0 + x1 + x2 = 1): the first representative is the most plausible, near the prior mean on the plane', () => {
    const model = sumNet();
    const mean = [0.9, 0.6, -0.5]; // on the plane
    const r = invert(model, { want: { y: 1 }, prior: { names: ['x[0]', 'x[1]', 'x[2]'], mean, std: [0.2, 0.2, 0.2] } }, { maxEvaluations: 50_000 });
    expect(r.solutionSet.kind).toBe('continuum');
    const pl = r.solutions.map((s) => s.plausibility!);
    for (let i = 1; i < pl.length; i++) expect(pl[i]).toBeGreaterThanOrEqual(pl[0]);
    // within one standard deviation of the mean (the mean itself is a solution: plausibility 0)
    expect(pl[0]).toBeLessThan(1);
  });
});

describe('the most plausible point of a continuum', () => {
  it('on the plane x0 + x1 + x2 = 1 under a diagonal prior: μ + Σa(1 − aᵀμ)/(aᵀΣa), plausibility |1 − aᵀμ|/√(aᵀΣa) (closed form)', () => {
    const model = sumNet();
    const mean = [0.5, -0.4, 0.2],
      std = [0.3, 0.6, 0.2];
    const r = invert(model, { want: { y: 1 }, prior: { names: ['x[0]', 'x[1]', 'x[2]'], mean, std } }, { maxEvaluations: 50_000 });
    expect(r.solutionSet.kind).toBe('continuum');
    const var_ = std.map((s) => s * s);
    const aS = var_.reduce((s, v) => s + v, 0);
    const gap = 1 - mean.reduce((s, v) => s + v, 0);
    const map = mean.map((m, i) => m + (var_[i] * gap) / aS);
    const top = r.solutions[0];
    expect(top.unknowns['x[0]']).toBeCloseTo(map[0], 5);
    expect(top.unknowns['x[1]']).toBeCloseTo(map[1], 5);
    expect(top.unknowns['x[2]']).toBeCloseTo(map[2], 5);
    expect(top.plausibility!).toBeCloseTo(Math.abs(gap) / Math.sqrt(aS), 5);
    expect(r.solutions.length).toBeLessThanOrEqual(10);
  });
});

describe('coded errors', () => {
  const model = sumNet();
  const names = ['x[0]', 'x[1]', 'x[2]'];
  it('wrong width, zero std, not PSD, unknown and missing names, rank without a prior', () => {
    expectNetinvertError(() => buildProblem(model, { want: { y: 1 }, prior: { names, mean: [0, 0], std: [1, 1, 1] } }), 'bad_prior', 'mean', '3 finite numbers');
    expectNetinvertError(() => buildProblem(model, { want: { y: 1 }, prior: { names, mean: [0, 0, 0], std: [1, 0, 1] } }), 'bad_prior', 'x[1]', '> 0');
    const notPsd = [
      [1, 2, 0],
      [2, 1, 0],
      [0, 0, 1],
    ];
    expectNetinvertError(() => buildProblem(model, { want: { y: 1 }, prior: { names, mean: [0, 0, 0], cov: notPsd } }), 'bad_prior', 'positive semi-definite');
    expectNetinvertError(() => buildProblem(model, { want: { y: 1 }, prior: { names: ['x[0]', 'x[1]', 'z'], mean: [0, 0, 0], std: [1, 1, 1] } }), 'unknown_input', '"z"');
    expectNetinvertError(() => buildProblem(model, { want: { y: 1 }, prior: { names: ['x[0]', 'x[1]'], mean: [0, 0], std: [1, 1] } }), 'bad_prior', 'x[2]', '--prior-mean');
    expectNetinvertError(() => checkInputStats({ names: ['a', 'a'], mean: [0, 0], std: [1, 1] }, 'p'), 'bad_prior', 'named twice');
    expectNetinvertError(() => checkInputStats({ names: ['a'], mean: [0], std: [1], cov: [[1]] }, 'p'), 'bad_prior', 'exactly one');
    expectNetinvertError(() => diagonalPrior({ a: 1 }, {}), 'bad_prior', '--prior-std');
    expectNetinvertError(() => invert(model, { want: { y: 1 } }, { rank: 'plausibility' }), 'bad_query', 'prior');
    expectNetinvertError(() => invert(model, { want: { y: 1 } }, { rank: 'distance' }), 'bad_query', '--closest-to');
    // a PSD but singular covariance (two equal columns) is regularised, not refused
    const singular = [
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ];
    expect(buildProblem(model, { want: { y: 1 }, prior: { names, mean: [0, 0, 0], cov: singular } }).prior).toBeDefined();
  });

  it('restrictStats keeps only the named columns (a CSV prior without its output columns)', () => {
    const s = statsOfRows(['a', 'y', 'b'], new Float64Array([1, 2, 3, 4, 5, 7, 0, 1, 1]), 3);
    const t = restrictStats(s, ['b', 'a']);
    expect(t.names).toEqual(['a', 'b']);
    expect(t.mean).toEqual([s.mean[0], s.mean[2]]);
    expect(t.cov![0][1]).toBe(s.cov![0][2]);
    expect(t.rows![0]).toEqual([s.rows![0][0], s.rows![0][2]]);
  });
});

describe('train stores the input statistics', () => {
  it('mean and covariance match the data (two-pass oracle), the sample is ≤ PRIOR_SAMPLE_ROWS data rows (all 300 here), and they survive save/load and act as the default prior', () => {
    const r = rng(11);
    const rows = 300;
    const inputs = new Float64Array(rows * 2),
      outputs = new Float64Array(rows);
    for (let k = 0; k < rows; k++) {
      const a = r.uniform(0, 2),
        b = a + r.uniform(-0.5, 0.5); // correlated columns
      inputs[2 * k] = a;
      inputs[2 * k + 1] = b;
      outputs[k] = a * a + b;
    }
    const { model } = trainMlp({ inputs, outputs, inputNames: ['a', 'b'], outputNames: ['y'] }, { hidden: [4], activation: 'tanh', epochs: 3, lbfgs: false, seed: 1 });
    const st = model.metadata.inputStats!;
    expect(st.names).toEqual(['a', 'b']);
    const m = [0, 1].map((j) => Array.from({ length: rows }, (_, k) => inputs[2 * k + j]).reduce((s, x) => s + x, 0) / rows);
    for (let j = 0; j < 2; j++) expect(st.mean[j]).toBeCloseTo(m[j], 10);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++) {
        let s = 0;
        for (let k = 0; k < rows; k++) s += (inputs[2 * k + i] - m[i]) * (inputs[2 * k + j] - m[j]);
        expect(st.cov![i][j]).toBeCloseTo(s / (rows - 1), 10);
      }
    expect(st.rows!.length).toBe(Math.min(rows, PRIOR_SAMPLE_ROWS));
    const dataRows = new Set(Array.from({ length: rows }, (_, k) => `${inputs[2 * k]},${inputs[2 * k + 1]}`));
    for (const row of st.rows!) expect(dataRows.has(row.join(','))).toBe(true);
    const back = loadNativeModel(saveNativeModel(model));
    expect(back.metadata.inputStats).toEqual(st);
    // the default prior of a query that gives none
    const p = buildProblem(back, { want: { y: 2 } });
    expect(p.prior?.source).toBe('model');
    const res = invert(back, { want: { y: 2 } }, { maxEvaluations: 20_000 });
    if (res.solutions.length) expect(res.solutions[0].plausibility).toBeDefined();
  });
});

describe('the command line: --prior CSV, --prior-mean/--prior-std, --rank', () => {
  it('scores the solution against the prior given on the command line (direct formula on the unknown\'s column)', async () => {
    const { run } = await import('./util/cli.ts');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const byHand = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--prior-mean', 'a=3,b=5', '--prior-std', 'a=1,b=0.5', '--json']);
    expect(byHand.code, byHand.err).toBe(0);
    const r1 = JSON.parse(byHand.out);
    const b1 = r1.solutions[0].unknowns.b;
    expect(r1.solutions[0].plausibility).toBeCloseTo(Math.abs(b1 - 5) / 0.5, 9);
    expect(r1.query.prior.source).toBe('query');
    // a CSV with an output column and an id column: the prior is over the model's inputs only
    const dir = mkdtempSync(join(tmpdir(), 'ni-prior-'));
    const csv = join(dir, 'data.csv');
    const bs = [1, 2, 2.5, 4, 6];
    writeFileSync(csv, 'id,a,b,sum\n' + bs.map((b, i) => `r${i},${i},${b},${i + b}`).join('\n') + '\n');
    const fromCsv = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--prior', csv, '--rank', 'plausibility', '--json']);
    expect(fromCsv.code, fromCsv.err).toBe(0);
    const r2 = JSON.parse(fromCsv.out);
    const mb = bs.reduce((s, x) => s + x, 0) / bs.length;
    const sb = Math.sqrt(bs.reduce((s, x) => s + (x - mb) ** 2, 0) / (bs.length - 1));
    expect(r2.solutions[0].plausibility).toBeCloseTo(Math.abs(r2.solutions[0].unknowns.b - mb) / sb, 9);
    expect(r2.query.prior.sampleRows).toBe(5);
    const both = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--prior', csv, '--prior-mean', 'b=1', '--prior-std', 'b=1']);
    expect(both.code).not.toBe(0);
    expect(both.err).toContain('bad_usage');
  });
});

describe('a sidecar gives a prior', () => {
  it('by its feature names; it becomes the default prior; a name that is no feature is refused', async () => {
    const { applySidecar } = await import('../src/formats/sidecar.ts');
    const base = sumNet();
    const sc = {
      format: 'netinvert-sidecar',
      version: 1,
      inputs: { x: { features: ['p', 'q', 'r'] } },
      prior: { names: ['p', 'q', 'r'], mean: [1, 0, 0], std: [0.5, 1, 2] },
    };
    const m = applySidecar(base, sc, 'm.meta.json');
    const p = buildProblem(m, { given: { q: 0.5 }, want: { y: 1 } });
    expect(p.prior?.source).toBe('model');
    expect(mahalanobis(p.prior!, [2, 1])).toBeCloseTo(Math.hypot(1 / 0.5, 1 / 2), 12);
    expectNetinvertError(() => applySidecar(base, { ...sc, prior: { ...sc.prior, names: ['p', 'q', 'z'] } }, 'm.meta.json'), 'unknown_input', 'prior.names', '"z"');
    expectNetinvertError(() => applySidecar(base, { ...sc, prior: { ...sc.prior, mean: [1, 2] } }, 'm.meta.json'), 'bad_sidecar', 'prior.mean');
  });
});

describe('a prior with linear constraints among the inputs', () => {
  it('prior starts are projected into the polytope: every solution meets the constraint and carries its plausibility', () => {
    const model = sumNet();
    const r = invert(
      model,
      { want: { y: 1 }, constraints: ['x[0] - x[1] = 0'], prior: { names: ['x[0]', 'x[1]', 'x[2]'], mean: [2, -2, 1], std: [0.3, 0.3, 0.3] } },
      { maxEvaluations: 50_000 },
    );
    expect(r.status).toBe('solved');
    for (const s of r.solutions) {
      expect(Math.abs(s.unknowns['x[0]'] - s.unknowns['x[1]'])).toBeLessThan(1e-8);
      expect(s.plausibility).toBeCloseTo(mahalanobis(buildPrior(model, { names: ['x[0]', 'x[1]', 'x[2]'], mean: [2, -2, 1], std: [0.3, 0.3, 0.3] }, ['x[0]', 'x[1]', 'x[2]'], 'query'), [s.unknowns['x[0]'], s.unknowns['x[1]'], s.unknowns['x[2]']]), 12);
    }
  });
});
