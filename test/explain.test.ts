/**
 * Explanations of infeasible and best-compromise answers (certify/explain/, issue #12 §2), and
 * --want-class (problem/targets.ts classTargets), against independent oracles:
 *   - every reachable range against a dense sampler of the box (a fresh forward pass per grid
 *     point, plus golden-section refinement in 1-D): the sampled range must lie inside the proven
 *     enclosure [lo, hi] and come within a tolerance of it; the attained ends are re-evaluated;
 *   - the smallest relaxation: the target moved to `enough` is solved by invert, moved past the
 *     proven end it is proven infeasible by certify;
 *   - conflicting sets against brute force over every subset of the targets, decided on a grid
 *     whose verdicts have a margin (so the grid's answer is the true one);
 *   - --want-class against the argmax of the logits on a grid.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formRange } from '../src/certify/explain/range.ts';
import { buildProblem } from '../src/problem/query.ts';
import { randomNet } from './util/nets.ts';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import type { Query, TargetSpec } from '../src/problem/query.ts';
import { classTargets } from '../src/problem/targets.ts';
import type { ReachableRange } from '../src/solve/result.ts';
import { expectNetinvertError } from './util/expect.ts';
import { run } from './util/cli.ts';
import { rng } from './util/rng.ts';

const seedAdd = (): Model => loadNativeModel(readFileSync('models/seed-add.json', 'utf8'), 'seed-add.json');

/** 2 inputs x[0], x[1] → h hidden (act) → k outputs y[0..k−1], seeded. */
function smallNet(seed: number, act: 'tanh' | 'relu', h = 8, k = 3): Model {
  const r = rng(seed);
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: h, weight: r.vector(2 * h, -1.5, 1.5), bias: r.vector(h, -0.5, 0.5) }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: act }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: k, weight: r.vector(h * k, -1, 1), bias: r.vector(k, -0.5, 0.5) }, inputs: ['a1'] },
  ];
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
}

const BOX: Record<string, [number, number]> = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] };

/** Every output at the points of a G × G grid over BOX (rows × nOut). */
function grid2(model: Model, G: number): { Y: Float64Array; X: Float64Array; rows: number } {
  const net = model.network;
  const rows = G * G;
  const X = new Float64Array(rows * 2);
  for (let i = 0; i < G; i++)
    for (let j = 0; j < G; j++) {
      X[(i * G + j) * 2] = -1 + (2 * i) / (G - 1);
      X[(i * G + j) * 2 + 1] = -1 + (2 * j) / (G - 1);
    }
  return { Y: net.evaluate(X, rows), X, rows };
}

/** A form's value from a row of outputs (coefficients applied by hand, not through the form code). */
type Form = (y: Float64Array, off: number) => number;

function sampledRange(Y: Float64Array, rows: number, nOut: number, f: Form): [number, number] {
  let lo = Infinity,
    hi = -Infinity;
  for (let r = 0; r < rows; r++) {
    const v = f(Y, r * nOut);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** The sampled range lies inside the proven one and comes within tol of it; the attained ends are real. */
function checkRange(model: Model, g: ReachableRange, sampled: [number, number], tol: number, f: Form, given: Record<string, number> = {}): void {
  expect(g.proven).toBe(true);
  expect(g.lo).toBeLessThanOrEqual(sampled[0]);
  expect(g.hi).toBeGreaterThanOrEqual(sampled[1]);
  expect(sampled[0] - g.lo).toBeLessThan(tol);
  expect(g.hi - sampled[1]).toBeLessThan(tol);
  expect(g.lo).toBeLessThanOrEqual(g.attainedLo);
  expect(g.attainedHi).toBeLessThanOrEqual(g.hi);
  // the attained ends, by a fresh forward pass at the points the explanation names
  const net = model.network;
  for (const [p, v] of [
    [g.argLo, g.attainedLo],
    [g.argHi, g.attainedHi],
  ] as const) {
    const x = Float64Array.from(net.inputNames, (k) => (k in given ? given[k] : p[k]));
    expect(f(net.evaluate(x, 1), 0)).toBeCloseTo(v, 12);
  }
}

describe('reachable ranges', () => {
  it('the seed adder: a = 3, b in [0, 10], sum = 30 → the range of sum (dense grid + golden section oracle)', () => {
    const m = seedAdd();
    const net = m.network;
    const sum = (b: number): number => net.evaluate(Float64Array.from(net.inputNames, (k) => (k === 'a' ? 3 : b)), 1)[net.outputIndex('sum')];
    // the oracle: a dense grid over b, refined by golden-section search around the best grid point
    const G = 20001;
    let iLo = 0,
      iHi = 0;
    const vals = new Float64Array(G);
    for (let i = 0; i < G; i++) {
      vals[i] = sum((10 * i) / (G - 1));
      if (vals[i] < vals[iLo]) iLo = i;
      if (vals[i] > vals[iHi]) iHi = i;
    }
    const golden = (i: number, s: 1 | -1): number => {
      let a = Math.max(0, (10 * (i - 1)) / (G - 1)),
        b = Math.min(10, (10 * (i + 1)) / (G - 1));
      for (let k = 0; k < 80; k++) {
        const c = b - 0.618 * (b - a),
          d = a + 0.618 * (b - a);
        if (s * sum(c) < s * sum(d)) b = d;
        else a = c;
      }
      return Math.min(s * sum(a), s * sum(b), s * vals[i]) * s;
    };
    const oracle: [number, number] = [golden(iLo, 1), golden(iHi, -1)];
    const query: Query = { given: { a: 3 }, want: { sum: 30 }, bounds: { b: [0, 10] } };
    for (const r of [invert(m, query), certify(m, query)]) {
      expect(r.status).toBe('infeasible');
      const g = r.explanation!.reachable.sum;
      checkRange(m, g, oracle, 1e-4, (y, o) => y[o + net.outputIndex('sum')], { a: 3 });
      expect(g.tight).toBe(true);
      expect(r.explanation!.unreachableAlone).toEqual(['sum']);
      expect(r.explanation!.conflict).toEqual({ targets: ['sum'], proven: true, minimal: true });
      // the text says it in plain words
      const text = r.briefReport();
      expect(text).toContain(`sum can reach [`);
      expect(text).toContain('with a = 3 and b in [0, 10]');
      expect(text).toMatch(/lower the target to [\d.]+ or below \(reached at b = /);
    }
  });

  it('the smallest relaxation: the target moved to `enough` is met, moved past the proven end it is proven infeasible', () => {
    const m = seedAdd();
    const r = invert(m, { given: { a: 3 }, want: { sum: 30 }, bounds: { b: [0, 10] } });
    const [x] = r.explanation!.relaxations;
    expect(x).toMatchObject({ target: 'sum', move: 'lower' });
    const met = invert(m, { given: { a: 3 }, want: { sum: x.enough }, bounds: { b: [0, 10] } });
    expect(met.status).toBe('solved');
    const past = x.provenLimit! + 1e-3;
    const none = certify(m, { given: { a: 3 }, want: { sum: { ge: past } }, bounds: { b: [0, 10] } });
    expect(none.status).toBe('infeasible');
    expect(none.proven).toBe(true);
    // the other side: asking for less than the range reaches
    const low = invert(m, { given: { a: 3 }, want: { sum: -5 }, bounds: { b: [0, 10] } });
    expect(low.explanation!.relaxations[0]).toMatchObject({ target: 'sum', move: 'raise' });
    expect(low.explanation!.relaxations[0].enough).toBeCloseTo(low.explanation!.reachable.sum.attainedLo, 15);
  });

  it('widening an unknown\'s bounds to its training range: proven not enough, or reached (grid and fresh forward pass)', () => {
    const m = seedAdd();
    const net = m.network;
    const sumAt = (b: number): number => net.evaluate(Float64Array.from(net.inputNames, (k) => (k === 'a' ? 3 : b)), 1)[net.outputIndex('sum')];
    let gridMax = -Infinity;
    for (let i = 0; i <= 10000; i++) gridMax = Math.max(gridMax, sumAt(i / 1000));
    expect(gridMax).toBeLessThan(30);
    expect(gridMax).toBeGreaterThan(10);
    const no = invert(m, { given: { a: 3 }, want: { sum: 30 }, bounds: { b: [0, 5] } });
    const [wn] = no.explanation!.relaxations[0].widen!;
    expect(wn).toMatchObject({ input: 'b', bounds: [0, 10], source: 'training range', reaches: 'no', proven: true });
    expect(wn.hi).toBeGreaterThanOrEqual(gridMax);
    expect(no.briefReport()).toContain('widening b in [0, 10] (its training range) cannot reach it either');
    const yes = invert(m, { given: { a: 3 }, want: { sum: 10 }, bounds: { b: [0, 5] } });
    const [wy] = yes.explanation!.relaxations[0].widen!;
    expect(wy.reaches).toBe('yes');
    expect(wy.at!.b).toBeGreaterThan(5);
    expect(wy.at!.b).toBeLessThanOrEqual(10);
    expect(Math.abs(sumAt(wy.at!.b) - 10)).toBeLessThanOrEqual(1e-6 + 1e-5);
  });

  for (const act of ['tanh', 'relu'] as const) {
    it(`small ${act} nets: every target's range (plain outputs and a linear form) against a 301 × 301 grid`, () => {
      for (const seed of [1, 2, 3]) {
        const m = smallNet(seed, act);
        const { Y, rows } = grid2(m, 301);
        const nOut = 3;
        // targets far out of reach, so the answer is infeasible and each target gets a range
        const want: Record<string, TargetSpec> = { 'y[0]': 50, 'y[1]': { le: -50 }, 'y[0] - 2*y[2]': { ge: 80 } };
        const forms: Record<string, Form> = {
          'y[0]': (y, o) => y[o],
          'y[1]': (y, o) => y[o + 1],
          'y[0] - 2*y[2]': (y, o) => y[o] - 2 * y[o + 2],
        };
        const r = certify(m, { want, bounds: BOX });
        expect(r.status, `${act} seed ${seed}`).toBe('infeasible');
        const e = r.explanation!;
        expect(Object.keys(e.reachable).sort()).toEqual(Object.keys(forms).sort());
        for (const [name, f] of Object.entries(forms)) {
          const s = sampledRange(Y, rows, nOut, f);
          // grid spacing 2/300 times the form's slope (at most ~10 here) bounds the grid's error
          checkRange(m, e.reachable[name], s, 0.05 + 1e-3 * (s[1] - s[0]), f);
        }
        expect(e.unreachableAlone.sort()).toEqual(Object.keys(forms).sort());
      }
    });
  }

  it('solve --json carries the explanation as data, the text report says it in words; --method milp explains too', async () => {
    const j = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=30', '--bounds', 'b=0:10', '--json']);
    expect(j.code).toBe(3);
    const res = JSON.parse(j.out);
    const g = res.explanation.reachable.sum;
    expect(Object.keys(g).sort()).toEqual(['argHi', 'argLo', 'attainedHi', 'attainedLo', 'boxes', 'hi', 'lo', 'proven', 'tight']);
    expect(g.lo).toBeLessThanOrEqual(g.attainedLo);
    expect(res.explanation.relaxations[0]).toMatchObject({ target: 'sum', move: 'lower', enough: g.attainedHi, provenLimit: g.hi });
    const t = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=30', '--bounds', 'b=0:10']);
    expect(t.out).toContain('why (with a = 3 and b in [0, 10]):');
    expect(t.out).toContain(`lower the target to`);
    // a ReLU net through the exact MILP path: infeasible, with the same explanation
    const { invertMilp } = await import('../src/api/milp.ts');
    const m = smallNet(5, 'relu');
    const r = await invertMilp(m, { want: { 'y[0]': 100 }, bounds: BOX });
    expect(r.status).toBe('infeasible');
    const { Y, rows } = grid2(m, 201);
    checkRange(m, r.explanation!.reachable['y[0]'], sampledRange(Y, rows, 3, (y, o) => y[o]), 0.05, (y, o) => y[o]);
  });

  it('soundness on random nets (kinks, softmax, concat, gather, products): every sampled value lies in the proven range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const r = rng(seed);
        const model = createModel(randomNet(r, { depth: 2, maxWidth: 4, kinks: true, structural: true }));
        const net = model.network;
        const bounds = Object.fromEntries(net.inputNames.map((k) => [k, [-1, 1] as [number, number]]));
        const o = r.int(net.nOut);
        const problem = buildProblem(model, { want: { [net.outputNames[o]]: 1e6 }, bounds });
        const g = formRange(problem, [{ output: o, coef: 1 }], { maxBoxes: 200 });
        expect(g.proven).toBe(true);
        // random points and every vertex of the box (up to 2^6)
        const n = net.nIn;
        const pts: number[][] = Array.from({ length: 3000 }, () => r.vector(n, -1, 1));
        if (n <= 6) for (let v = 0; v < 1 << n; v++) pts.push(Array.from({ length: n }, (_, j) => ((v >> j) & 1 ? 1 : -1)));
        const Y = net.evaluate(Float64Array.from(pts.flat()), pts.length);
        for (let q = 0; q < pts.length; q++) {
          const y = Y[q * net.nOut + o];
          if (!Number.isFinite(y)) continue;
          expect(y, `seed ${seed} point ${pts[q].join(',')}`).toBeGreaterThanOrEqual(g.lo);
          expect(y, `seed ${seed} point ${pts[q].join(',')}`).toBeLessThanOrEqual(g.hi);
        }
        expect(g.lo).toBeLessThanOrEqual(g.attainedLo);
        expect(g.attainedHi).toBeLessThanOrEqual(g.hi);
        expect(net.evaluate(g.argHi, 1)[o]).toBe(g.attainedHi);
      }),
      { seed: 12, numRuns: 25 },
    );
  });

  it('explainBoxes: 0 turns the explanation off; a solved answer has none', () => {
    const m = seedAdd();
    expect(invert(m, { given: { a: 3 }, want: { sum: 30 }, bounds: { b: [0, 10] } }, { explainBoxes: 0 }).explanation).toBeUndefined();
    expect(invert(m, { given: { a: 3 }, want: { sum: 7 } }).explanation).toBeUndefined();
  });
});

describe('conflicting targets', () => {
  /**
   * Thresholds c for targets y[i] ≥ cᵢ (and one form) on a small net, chosen so that every
   * subset's grid verdict has a margin δ: max over the grid of minᵢ (formᵢ − cᵢ) is > δ
   * (feasible: a grid point is a witness) or < −δ (infeasible: the grid misses the true maximum by
   * less than δ, the net's slope times the grid spacing).
   */
  function caseWithMargins(model: Model, forms: Form[], seed: number): { c: number[]; feasible: (s: number[]) => boolean } | null {
    const { Y, rows } = grid2(model, 201);
    const nOut = model.network.nOut;
    const r = rng(seed);
    const k = forms.length;
    const ranges = forms.map((f) => sampledRange(Y, rows, nOut, f));
    const delta = 0.03;
    const vals = forms.map((f) => Float64Array.from({ length: rows }, (_, q) => f(Y, q * nOut)));
    const best = (c: number[], s: number[]): number => {
      let b = -Infinity;
      for (let q = 0; q < rows; q++) {
        let v = Infinity;
        for (const i of s) v = Math.min(v, vals[i][q] - c[i]);
        b = Math.max(b, v);
      }
      return b;
    };
    const subsets = (): number[][] => Array.from({ length: (1 << k) - 1 }, (_, b) => Array.from({ length: k }, (_, i) => i).filter((i) => ((b + 1) >> i) & 1));
    for (let attempt = 0; attempt < 400; attempt++) {
      // each threshold in the upper part of its range: each alone often feasible, all together often not
      const c = ranges.map(([lo, hi]) => lo + r.uniform(0.45, 0.97) * (hi - lo));
      if (best(c, subsets()[subsets().length - 1]) > -delta) continue; // want the whole set infeasible
      // at least one target feasible alone, and every subset decided with a margin
      if (!subsets().every((s) => Math.abs(best(c, s)) > delta)) continue;
      if (!forms.some((_, i) => best(c, [i]) > delta)) continue;
      return { c, feasible: (s) => best(c, s) > 0 };
    }
    return null;
  }

  for (const [act, seed] of [
    ['tanh', 11],
    ['relu', 12],
    ['tanh', 13],
  ] as const) {
    it(`a ${act} net, ${seed % 2 ? 3 : 4} targets: the conflict found is infeasible and minimal by brute force over subsets`, () => {
      const k = seed % 2 ? 3 : 4;
      const m = smallNet(seed, act, 8, 3);
      const names = ['y[0]', 'y[1]', 'y[2]', 'y[0] - y[1]'].slice(0, k);
      const forms: Form[] = ([(y: Float64Array, o: number) => y[o], (y: Float64Array, o: number) => y[o + 1], (y: Float64Array, o: number) => y[o + 2], (y: Float64Array, o: number) => y[o] - y[o + 1]] as Form[]).slice(0, k);
      const cs = caseWithMargins(m, forms, seed);
      expect(cs, 'a case with margins exists for this net').not.toBeNull();
      const { c, feasible } = cs!;
      const want: Record<string, TargetSpec> = Object.fromEntries(names.map((n, i) => [n, { ge: c[i] }]));
      const r = certify(m, { want, bounds: BOX });
      expect(r.status).toBe('infeasible');
      const e = r.explanation!;
      // alone: what brute force says of each target
      for (let i = 0; i < k; i++) {
        expect(feasible([i]) ? e.reachableAlone : e.unreachableAlone, names[i]).toContain(names[i]);
      }
      const conflict = e.conflict!;
      expect(conflict.proven).toBe(true);
      expect(conflict.minimal).toBe(true);
      const S = conflict.targets.map((n) => names.indexOf(n));
      expect(S.every((i) => i >= 0)).toBe(true);
      expect(feasible(S), `conflict ${conflict.targets.join(', ')} is infeasible`).toBe(false);
      for (const i of S) expect(feasible(S.filter((x) => x !== i)), `dropping ${names[i]} leaves a feasible set`).toBe(true);
    });
  }

  it('the solve path with a tiny budget never claims minimality it did not prove', () => {
    const m = smallNet(11, 'tanh', 8, 3);
    const r = invert(m, { want: { 'y[0]': { ge: 40 }, 'y[1]': { ge: 40 } }, bounds: BOX }, { explainBoxes: 1 });
    expect(['infeasible', 'best-compromise']).toContain(r.status);
    const e = r.explanation!;
    // one box cannot close a range: the enclosure is still proven, but not tight
    for (const g of Object.values(e.reachable)) {
      expect(g.lo).toBeLessThanOrEqual(g.attainedLo);
      expect(g.hi).toBeGreaterThanOrEqual(g.attainedHi);
    }
    if (e.conflict && !e.conflict.proven) expect(e.conflict.minimal).toBe(false);
  });
});

describe('--want-class', () => {
  /** A 2-input classifier with 3 classes (tanh hidden layer). */
  const classifier = (): Model => smallNet(21, 'tanh', 10, 3);
  /** Per class, the largest margin logit_k − max_{j≠k} logit_j on a grid. */
  function gridMargins(m: Model): number[] {
    const { Y, rows } = grid2(m, 201);
    const best = [-Infinity, -Infinity, -Infinity];
    for (let q = 0; q < rows; q++) {
      for (let k = 0; k < 3; k++) {
        let other = -Infinity;
        for (let j = 0; j < 3; j++) if (j !== k) other = Math.max(other, Y[q * 3 + j]);
        best[k] = Math.max(best[k], Y[q * 3 + k] - other);
      }
    }
    return best;
  }

  it('classTargets is the linear spec logit_k − logit_j ≥ margin for every j ≠ k', () => {
    const names = ['cat', 'dog', 'a-b'];
    expect(classTargets(names, 'dog', 0.5)).toEqual({ 'dog - cat': { ge: 0.5 }, 'dog - "a-b"': { ge: 0.5 } });
    // by index when no output has that name
    expect(Object.keys(classTargets(names, '0'))).toEqual(['cat - dog', 'cat - "a-b"']);
    expectNetinvertError(() => classTargets(names, 'bird'), 'unknown_output', 'bird', 'cat, dog, a-b');
    expectNetinvertError(() => classTargets(['only'], 'only'), 'bad_target', 'one output');
    expectNetinvertError(() => classTargets(names, 'cat', NaN), 'bad_target', 'finite');
  });

  it('solve finds an input of the class (argmax with the margin, fresh forward pass); past the grid maximum it is proven infeasible', () => {
    const m = classifier();
    const net = m.network;
    const margins = gridMargins(m);
    for (let k = 0; k < 3; k++) {
      if (margins[k] > 0.05) {
        const margin = margins[k] / 2;
        const r = invert(m, { want: classTargets(net.outputNames, net.outputNames[k], margin), bounds: BOX });
        expect(r.status, `class ${k}`).toBe('solved');
        const x = Float64Array.from(net.inputNames, (n) => r.solutions[0].inputs[n]);
        const y = net.evaluate(x, 1);
        const arg = [0, 1, 2].reduce((a, j) => (y[j] > y[a] ? j : a), 0);
        expect(arg).toBe(k);
        for (let j = 0; j < 3; j++) if (j !== k) expect(y[k] - y[j]).toBeGreaterThanOrEqual(margin - 1e-5);
      }
      // a margin no grid point comes near (the grid's error is far below 0.5 here): proven infeasible
      const r = certify(m, { want: classTargets(net.outputNames, net.outputNames[k], margins[k] + 0.5), bounds: BOX });
      expect(r.status, `class ${k} past its margin`).toBe('infeasible');
      expect(r.proven).toBe(true);
      expect(r.explanation).toBeDefined();
    }
    expect(margins.filter((g) => g > 0.05).length).toBeGreaterThanOrEqual(2);
  });

  it('the CLI: --want-class with --margin, and its mistakes', async () => {
    const m = classifier();
    const dir = mkdtempSync(join(tmpdir(), 'ni-wantclass-'));
    const file = join(dir, 'clf.json');
    writeFileSync(file, saveNativeModel(m));
    const margins = gridMargins(m);
    const k = margins.indexOf(Math.max(...margins));
    const name = m.network.outputNames[k];
    const ok = await run(['solve', file, '--want-class', name, '--margin', String(margins[k] / 2), '--bounds', 'x[0]=-1:1,x[1]=-1:1', '--json']);
    expect(ok.code, ok.err).toBe(0);
    const res = JSON.parse(ok.out);
    expect(res.status).toBe('solved');
    expect(res.query.targets).toHaveLength(2);
    for (const t of res.query.targets) expect(t).toMatchObject({ kind: 'ge', lo: margins[k] / 2 });
    const bad = await run(['solve', file, '--want-class', 'bird']);
    expect(bad.err).toContain('error [unknown_output]');
    const noClass = await run(['solve', file, '--want', 'y[0]>=0', '--margin', '1']);
    expect(noClass.err).toContain('error [bad_usage]');
    const q = join(dir, 'q.json');
    writeFileSync(q, JSON.stringify({ want: { 'y[0]': 0 } }));
    const both = await run(['solve', file, '--query', q, '--want-class', name]);
    expect(both.err).toContain('--want-class');
  });
});
