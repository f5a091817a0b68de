/**
 * Counterfactual benchmark (issue 12 §1): netinvert's counterfactual controls against the
 * gradient baseline of Wachter et al. 2017 ("Counterfactual explanations without opening the
 * black box", eq. 2–4: minimise λ·(f(x) − y′)² + Σⱼ |xⱼ − refⱼ|/MADⱼ by Adam on the inputs, λ
 * raised until the target is met), in one process, on the same queries.
 *
 * Data: a credit-style table made here (seeded): age, income, debt, years employed; the approval
 * score is a logistic function that grows with income, years employed and age and falls with
 * debt (a known monotone structure), plus noise. A tanh MLP (src/train) learns it.
 *
 * Queries: 20 applicants the model scores below 0.4; wanted: score ≥ 0.6. Distance: L1 in MAD
 * units of the training data (DiCE's scaling). Each method gives one counterfactual, and a
 * set of K = 4 (netinvert --diverse 4; the baseline: 4 Adam runs from random starts, DiCE's
 * "random restarts" baseline).
 *
 * DiCE's metrics (Mothilal et al. 2020, §4): validity (share of counterfactuals meeting the
 * target), proximity (mean distance to the applicant, MAD-L1: lower is better), sparsity (mean
 * number of features changed), diversity (mean pairwise MAD-L1 distance within a set: higher is
 * better). Printed, never asserted.
 */
import { invert } from '../src/api/invert.ts';
import type { Model } from '../src/model.ts';
import { medianAbsoluteDeviation } from '../src/numeric/mad.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import type { Query } from '../src/problem/query.ts';
import type { Solution } from '../src/solve/result.ts';
import { trainMlp } from '../src/train/train.ts';

const FEATURES = ['age', 'income', 'debt', 'years'] as const;
const RANGES: Record<string, [number, number]> = { age: [18, 80], income: [10, 150], debt: [0, 60], years: [0, 40] };
const TARGET = 0.6;
const K = 4;
/** The baseline's aim above the target. */
const MARGIN = 0.02;

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function makeData(rows: number, seed: number): { inputs: Float64Array; outputs: Float64Array } {
  const r = mulberry32(seed);
  const inputs = new Float64Array(rows * 4),
    outputs = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const x = FEATURES.map((f) => RANGES[f][0] + (RANGES[f][1] - RANGES[f][0]) * r());
    const [age, income, debt, years] = x;
    const z = 0.05 * (income - 60) - 0.09 * (debt - 25) + 0.06 * (years - 8) + 0.01 * (age - 40) + 0.3 * (r() - 0.5);
    inputs.set(x, i * 4);
    outputs[i] = sigmoid(z);
  }
  return { inputs, outputs };
}

/** MAD-L1 distance and the features changed (> 1e-6 MAD units). */
function measure(x: ArrayLike<number>, ref: ArrayLike<number>, mad: number[]): { dist: number; changed: number } {
  let dist = 0,
    changed = 0;
  for (let j = 0; j < 4; j++) {
    const d = Math.abs(x[j] - ref[j]) / mad[j];
    dist += d;
    if (d > 1e-6) changed++;
  }
  return { dist, changed };
}

/**
 * Wachter et al. 2017: Adam on x for λ·max(0, y′ − f(x))² + Σ|x − ref|/MAD (subgradient), clipped
 * to the training box; λ doubled every round until f(x) ≥ the target (at most 14 rounds of 200
 * steps). y′ = target + MARGIN: a penalty balances just short of its aim, so it aims a little
 * above the target (as DiCE's hinge loss does).
 */
function wachter(model: Model, ref: Float64Array, mad: number[], start: Float64Array): Float64Array {
  const net = model.network;
  const x = start.slice();
  const m = new Float64Array(4),
    v = new Float64Array(4);
  const lr = 0.02,
    b1 = 0.9,
    b2 = 0.999;
  let lambda = 1,
    t = 0;
  const scale = FEATURES.map((f) => RANGES[f][1] - RANGES[f][0]);
  for (let round = 0; round < 14; round++) {
    for (let it = 0; it < 200; it++) {
      const { J, Y } = net.jacobian(x, 1);
      const miss = Y[0] - (TARGET + MARGIN);
      t++;
      for (let j = 0; j < 4; j++) {
        // the gradient in units of the box (Adam's step size is per unit of the box)
        const g = (2 * lambda * Math.min(0, miss) * J[j] + Math.sign(x[j] - ref[j]) / mad[j]) * scale[j];
        m[j] = b1 * m[j] + (1 - b1) * g;
        v[j] = b2 * v[j] + (1 - b2) * g * g;
        const step = (lr * (m[j] / (1 - b1 ** t))) / (Math.sqrt(v[j] / (1 - b2 ** t)) + 1e-8);
        x[j] = Math.min(RANGES[FEATURES[j]][1], Math.max(RANGES[FEATURES[j]][0], x[j] - step * scale[j]));
      }
    }
    if (net.evaluate(x, 1)[0] >= TARGET) break;
    lambda *= 2;
  }
  return x;
}

function meanPairwise(pts: Float64Array[], mad: number[]): number {
  let s = 0,
    c = 0;
  for (let a = 0; a < pts.length; a++)
    for (let b = a + 1; b < pts.length; b++) {
      s += measure(pts[a], pts[b], mad).dist;
      c++;
    }
  return c ? s / c : 0;
}

interface Row {
  name: string;
  valid: number;
  total: number;
  dist: number[];
  changed: number[];
  diversity: number[];
  ms: number;
}

function row(name: string): Row {
  return { name, valid: 0, total: 0, dist: [], changed: [], diversity: [], ms: 0 };
}

function mean(a: number[]): number {
  return a.length ? a.reduce((s, x) => s + x, 0) / a.length : NaN;
}

export async function runCounterfactualBench(): Promise<void> {
  const t0 = performance.now();
  const data = makeData(1500, 7);
  const { model, report } = trainMlp(
    { inputs: data.inputs, outputs: data.outputs, inputNames: [...FEATURES], outputNames: ['score'] },
    { hidden: [12], activation: 'tanh', epochs: 150, lbfgsIterations: 150, seed: 1, name: 'credit' },
  );
  const mad = FEATURES.map((_, j) => medianAbsoluteDeviation(data.inputs, 4, j));
  console.log(`credit model: 4-12-1 tanh, trained in ${((performance.now() - t0) / 1000).toFixed(1)} s, validation R² ${report.valR2?.[0]?.toFixed(3)}; MAD ${FEATURES.map((f, j) => `${f} ${mad[j].toFixed(2)}`).join(', ')}`);
  // monotone structure the model should have learnt: ∂score/∂income > 0, ∂score/∂debt < 0 at the data mean
  const { J } = model.network.jacobian(Float64Array.from([49, 80, 30, 20]), 1);
  console.log(`learnt slopes at the data mean: income ${J[1].toExponential(2)} (> 0), debt ${J[2].toExponential(2)} (< 0), years ${J[3].toExponential(2)} (> 0)`);

  // applicants the model rejects
  const scores = model.network.evaluate(data.inputs, 1500);
  const applicants: Float64Array[] = [];
  for (let i = 0; i < 1500 && applicants.length < 20; i++) if (scores[i] < 0.4 && scores[i] > 0.05) applicants.push(data.inputs.slice(i * 4, i * 4 + 4));

  const rows = { closest: row('netinvert --closest-to (MAD L1)'), sparse: row('netinvert --sparse'), diverse: row(`netinvert --diverse ${K}`), wachter: row('Wachter et al. (Adam)'), wachterK: row(`Wachter ×${K} random starts`), monotone: row('netinvert + --only-increase income,years --fixed age') };
  const rand = mulberry32(3);
  const bounds = Object.fromEntries(FEATURES.map((f) => [f, RANGES[f]])) as Record<string, [number, number]>;
  const distanceScale = Object.fromEntries(FEATURES.map((f, j) => [f, mad[j]]));
  const ok = (s: Solution): boolean => s.meetsTargets && s.outputs.score >= TARGET - 1e-6;
  for (const ref of applicants) {
    const closestTo = Object.fromEntries(FEATURES.map((f, j) => [f, ref[j]]));
    const q: Query = { want: { score: { ge: TARGET } }, bounds, closestTo, distance: 'l1', distanceScale };
    const opts = { maxEvaluations: 20_000, timeLimit: 5 };
    const runOne = (r: Row, fn: () => Solution[] | Float64Array[]): void => {
      const t = performance.now();
      const out = fn();
      r.ms += performance.now() - t;
      const pts = out.map((s) => (s instanceof Float64Array ? s : Float64Array.from(FEATURES, (f) => (s as Solution).inputs[f])));
      r.total += pts.length;
      const valid = pts.filter((x) => model.network.evaluate(x, 1)[0] >= TARGET - 1e-6);
      r.valid += valid.length;
      for (const x of valid) {
        const mm = measure(x, ref, mad);
        r.dist.push(mm.dist);
        r.changed.push(mm.changed);
      }
      if (pts.length > 1) r.diversity.push(meanPairwise(valid, mad));
    };
    runOne(rows.closest, () => {
      const r = invert(model, q, opts);
      return r.closest && ok(r.closest) ? [r.closest] : [];
    });
    runOne(rows.sparse, () => {
      const r = invert(model, q, { ...opts, sparse: true });
      return r.closest && ok(r.closest) ? [r.closest] : [];
    });
    runOne(rows.monotone, () => {
      const r = invert(model, { ...q, onlyIncrease: ['income', 'years'], fixed: ['age'] }, opts);
      return r.closest && ok(r.closest) ? [r.closest] : [];
    });
    runOne(rows.diverse, () => invert(model, q, { ...opts, diverse: K }).solutions.filter(ok));
    runOne(rows.wachter, () => [wachter(model, ref, mad, ref)]);
    runOne(rows.wachterK, () =>
      Array.from({ length: K }, () => {
        const start = Float64Array.from(FEATURES, (f) => RANGES[f][0] + (RANGES[f][1] - RANGES[f][0]) * rand());
        return wachter(model, ref, mad, start);
      }),
    );
  }
  console.log(`\n${applicants.length} rejected applicants, wanted score ≥ ${TARGET}; distance: L1 in MAD units`);
  console.log('method'.padEnd(52) + 'validity   proximity  sparsity  diversity  ms/query');
  for (const r of Object.values(rows)) {
    console.log(
      r.name.padEnd(52) +
        `${((100 * r.valid) / Math.max(1, r.total)).toFixed(0).padStart(5)} %   ` +
        `${mean(r.dist).toFixed(3).padStart(8)}   ` +
        `${mean(r.changed).toFixed(2).padStart(7)}   ` +
        `${(r.diversity.length ? mean(r.diversity).toFixed(3) : '—').padStart(8)}   ` +
        `${(r.ms / applicants.length).toFixed(1).padStart(8)}`,
    );
  }
  console.log('\nvalidity: share of counterfactuals with score ≥ target; proximity: mean MAD-L1 distance (lower is closer); sparsity: mean features changed (of 4); diversity: mean pairwise MAD-L1 distance within a set of 4.');
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
