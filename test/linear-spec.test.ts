/**
 * Linear output specs (targets on c·y) and disjunctions (anyOf), in the library: the grammar,
 * solve (LM), certify (branch-and-bound + certificate), --method milp, against independent
 * oracles: an exact MILP maximum of the form computed on a DIFFERENT model (the form built into
 * the net as an extra dense layer, so it does not go through the form code under test), dense
 * grids, and a fresh forward pass with the coefficients applied by hand.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invertMilp } from '../src/api/milp.ts';
import { solveMilp } from '../src/certify/milp/run.ts';
import { CERTIFICATE_VERSIONS, verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { clauseQueries } from '../src/problem/clauses.ts';
import { buildProblem, type Query } from '../src/problem/query.ts';
import { formText, parseAnyList, parseForm, parseTargetList, parseWantItem } from '../src/problem/targets.ts';
import { invert } from '../src/api/invert.ts';
import { expectNetinvertError } from './util/expect.ts';
import { rng } from './util/rng.ts';

const BOX: Record<string, [number, number]> = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] };
const TIME = 30;

/** 2 → h (relu) → k outputs y[0..k−1], seeded; returns the model and its weights. */
function reluNet(seed: number, h = 8, k = 3): { model: Model; W1: number[]; b1: number[]; W2: number[]; b2: number[] } {
  const r = rng(seed);
  const W1 = r.vector(2 * h, -1, 1),
    b1 = r.vector(h, -0.5, 0.5),
    W2 = r.vector(h * k, -1, 1),
    b2 = r.vector(k, -0.5, 0.5);
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: h, weight: W1, bias: b1 }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: k, weight: W2, bias: b2 }, inputs: ['a1'] },
  ];
  return { model: createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] }), W1, b1, W2, b2 };
}

/** The same net with the form c·y as its single output "f" (an extra dense layer): the oracle's model. */
function formNet(seed: number, c: number[], h = 8, k = 3): Model {
  const { W1, b1, W2, b2 } = reluNet(seed, h, k);
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: h, weight: W1, bias: b1 }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: k, weight: W2, bias: b2 }, inputs: ['a1'] },
    { name: 'f', op: { type: 'dense', units: 1, weight: c, bias: [0] }, inputs: ['d2'] },
  ];
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'f', name: 'f' }] });
}

/** Exact max and min of c·y over BOX: MILP on the form-net (whose argmax is re-evaluated by solveMilp). */
async function exactRange(seed: number, c: number[]): Promise<{ max: number; min: number }> {
  const m = formNet(seed, c);
  const p = buildProblem(m, { want: { f: { range: [-1e6, 1e6] } }, bounds: BOX });
  const hi = await solveMilp(p, { kind: 'max', output: 'f' }, { timeLimit: TIME });
  const lo = await solveMilp(p, { kind: 'min', output: 'f' }, { timeLimit: TIME });
  expect(hi.status).toBe('solved');
  expect(lo.status).toBe('solved');
  return { max: hi.objective!, min: lo.objective! };
}

/** c·y at the point x, by a plain forward pass and the coefficients applied here. */
function formAt(model: Model, c: number[], x: number[]): number {
  const y = model.network.evaluate(Float64Array.from(x), 1);
  return c.reduce((s, ck, i) => s + ck * y[i], 0);
}

/** Largest c·y over an n×n grid of BOX. */
function gridMax(model: Model, c: number[], n = 101): number {
  const X = new Float64Array(n * n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) X.set([-1 + (2 * i) / (n - 1), -1 + (2 * j) / (n - 1)], 2 * (i * n + j));
  const Y = model.network.evaluate(X, n * n);
  const k = model.network.nOut;
  let best = -Infinity;
  for (let r = 0; r < n * n; r++) best = Math.max(best, c.reduce((s, ck, i) => s + ck * Y[r * k + i], 0));
  return best;
}

describe('the target grammar (problem/targets.ts)', () => {
  const names = ['y[0]', 'y[1]', 'y[2]', 'a-b'];
  it('reads forms: coefficients, signs, products on either side, repeated outputs merged', () => {
    expect(parseForm('y[0] - y[1]', names)).toEqual([
      { output: 0, coef: 1 },
      { output: 1, coef: -1 },
    ]);
    expect(parseForm(' -2*y[2] + 0.5 y[0] + y[1]*3 ', names)).toEqual([
      { output: 2, coef: -2 },
      { output: 0, coef: 0.5 },
      { output: 1, coef: 3 },
    ]);
    expect(parseForm('y[0] + y[0] - 0.5*y[0]', names)).toEqual([{ output: 0, coef: 1.5 }]);
    // a model output named with an operator: read whole, or quoted inside a form
    expect(parseForm('a-b', names)).toEqual([{ output: 3, coef: 1 }]);
    expect(parseForm('"a-b" - 1e-1*y[1]', names)).toEqual([
      { output: 3, coef: 1 },
      { output: 1, coef: -0.1 },
    ]);
  });

  it('formText and parseForm round-trip any form (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }).filter((v) => Math.abs(v) > 1e-3), { minLength: 4, maxLength: 4 }),
        (outs, coefs) => {
          const terms = outs.map((o, i) => ({ output: o, coef: coefs[i] }));
          expect(parseForm(formText(terms, names), names)).toEqual(terms);
        },
      ),
    );
  });

  it('whole items: plain names keep working, forms with every operator, weights, ranges', () => {
    expect(parseWantItem('sum=7', '--want')).toEqual(['sum', 7]);
    expect(parseWantItem('y=0.1:0.3', '--want')).toEqual(['y', { range: [0.1, 0.3] }]);
    expect(parseWantItem('y[0] - y[1] <= 0', '--want')).toEqual(['y[0] - y[1]', { le: 0 }]);
    expect(parseWantItem('2*y[0] + y[2] >= 1.5@3', '--want')).toEqual(['2*y[0] + y[2]', { ge: 1.5, weight: 3 }]);
    expect(parseWantItem('y[0] - y[1] == -2', '--want')).toEqual(['y[0] - y[1]', -2]);
    expect(parseTargetList(['y[0]-y[1]<=0, y[2]=1', 'y[1]>=-1'], '--want')).toEqual({ 'y[0]-y[1]': { le: 0 }, 'y[2]': 1, 'y[1]': { ge: -1 } });
    expect(parseAnyList(['y[0]>=1, y[1]<=0 ; y[2]=0:1', 'y[1]>=5'], '--any')).toEqual([{ 'y[0]': { ge: 1 }, 'y[1]': { le: 0 } }, { 'y[2]': { range: [0, 1] } }, { 'y[1]': { ge: 5 } }]);
  });

  it('bad_target errors name the text and the position', () => {
    const e1 = expectNetinvertError(() => parseForm('y[0] - * y[1]', names), 'bad_target', 'position 8', 'y[0] - * y[1]');
    expect(e1.detail.position).toBe(7);
    expectNetinvertError(() => parseForm('y[0] y[1]', names), 'bad_target', 'expected "+" or "-"', 'position 6');
    expectNetinvertError(() => parseForm('y[0] - y[1] + 3', names), 'bad_target', 'no constant term');
    expectNetinvertError(() => parseForm('y[0] - y[0]', names), 'bad_target', 'coefficient 0');
    expectNetinvertError(() => parseForm('y[0] - z', names), 'unknown_output', '"z"');
    expectNetinvertError(() => parseWantItem('y[0] - y[1] < 0', '--want'), 'bad_target', 'strict "<"', 'position 13');
    expectNetinvertError(() => parseWantItem('y[0] - y[1]', '--want'), 'bad_target', 'expected a comparison');
    expectNetinvertError(() => parseWantItem('y >= abc', '--want'), 'bad_target', '"abc" is not a finite number', 'position 6');
    expectNetinvertError(() => parseWantItem('y = 3:1', '--want'), 'bad_target', 'low end 3 is above the high end 1');
  });
});

describe('linear forms in solve, certify and --method milp (exact MILP oracle on the form-net)', () => {
  const SEED = 7;
  const { model } = reluNet(SEED);
  const c = [1, -1, 0.5];
  const form = 'y[0] - y[1] + 0.5*y[2]';

  it('solve (LM) finds points meeting a reachable form, re-checked by hand', async () => {
    const { max } = await exactRange(SEED, c);
    const gmax = gridMax(model, c);
    expect(gmax).toBeLessThanOrEqual(max + 1e-9); // the oracle is an upper bound of every sample
    const t = max - 0.05;
    const r = invert(model, { want: { [form]: { ge: t } }, bounds: BOX }, { seed: 1, maxEvaluations: 50_000 });
    expect(r.status).toBe('solved');
    expect(r.query.targets[0]).toMatchObject({ output: form, terms: [{ output: 'y[0]', coef: 1 }, { output: 'y[1]', coef: -1 }, { output: 'y[2]', coef: 0.5 }], kind: 'ge' });
    for (const s of r.solutions) {
      const v = formAt(model, c, [s.unknowns['x[0]'], s.unknowns['x[1]']]);
      expect(v).toBeGreaterThanOrEqual(t - r.query.targets[0].tolerance);
      expect(s.constraints[0].target).toBe(form);
      expect(s.constraints[0].value).toBeCloseTo(v, 12);
      expect(s.constraints[0].slack).toBeCloseTo(v - t, 12);
      expect(s.constraints[0].met).toBe(true);
    }
  });

  it('an equality on a form is met (LM residuals of the form)', () => {
    const t = formAt(model, c, [0.3, -0.4]);
    const r = invert(model, { want: { [form]: t, 'y[2]': { range: [-100, 100] } }, bounds: BOX }, { seed: 3, maxEvaluations: 50_000 });
    expect(r.status).toBe('solved');
    const s = r.solutions[0];
    expect(Math.abs(formAt(model, c, [s.unknowns['x[0]'], s.unknowns['x[1]']]) - t)).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(t));
  });

  it('certify proves a form above the exact maximum infeasible; the certificate (version 3) verifies; the claim is true', async () => {
    const { max } = await exactRange(SEED, c);
    const t = max + 0.05;
    const q: Query = { want: { [form]: { ge: t } }, bounds: BOX };
    const r = certify(model, q, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
    const cert = r.certificate!;
    expect(cert.version).toBe(3);
    expect(cert.query.targets[0].terms).toEqual([
      { output: 'y[0]', coef: 1 },
      { output: 'y[1]', coef: -1 },
      { output: 'y[2]', coef: 0.5 },
    ]);
    const v = verifyCertificate(model, cert, q);
    expect(v.valid, v.reason).toBe(true);
    // re-checked: no grid point meets the form (the exact maximum says so too)
    expect(gridMax(model, c)).toBeLessThan(t);
  });

  it('certify never claims a reachable form infeasible (just below the exact maximum)', async () => {
    const { max } = await exactRange(SEED, c);
    const r = certify(model, { want: { [form]: { ge: max - 1e-3 } }, bounds: BOX }, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(r.status).not.toBe('infeasible');
    expect(r.certificate?.claim).not.toBe('infeasible');
  });

  it('a tampered form (another coefficient) no longer verifies', async () => {
    const { max } = await exactRange(SEED, c);
    const q: Query = { want: { [form]: { ge: max + 0.05 } }, bounds: BOX };
    const cert = certify(model, q, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 }).certificate!;
    const t = max + 0.05;
    // a false claim must not verify: the threshold moved below the exact maximum
    const low = JSON.parse(JSON.stringify(cert)) as Certificate;
    low.query.targets[0].lo = max - 0.05;
    expect(verifyCertificate(model, low).valid).toBe(false);
    // another form (a term's coefficient changed) whose exact maximum exceeds the threshold: false, refused
    const bad = JSON.parse(JSON.stringify(cert)) as Certificate;
    bad.query.targets[0].terms![0].coef = 3; // 3·y[0] − y[1] + 0.5·y[2]
    const oracle = await exactRange(SEED, [3, -1, 0.5]);
    expect(oracle.max).toBeGreaterThan(t);
    expect(verifyCertificate(model, bad).valid).toBe(false);
    // negative coefficients: the maximum of −y[0] + y[1] + 0.5·y[2] is far below; claim it exceeds its own max
    const neg = JSON.parse(JSON.stringify(cert)) as Certificate;
    const nr = await exactRange(SEED, [-1, 1, 0.5]);
    neg.query.targets[0].terms = [
      { output: 'y[0]', coef: -1 },
      { output: 'y[1]', coef: 1 },
      { output: 'y[2]', coef: 0.5 },
    ];
    neg.query.targets[0].lo = nr.max - 0.05;
    expect(verifyCertificate(model, neg).valid).toBe(false);
    expect(verifyCertificate(model, bad, q).valid).toBe(false); // and it is not the query's claim
    const v9 = verifyCertificate(model, { ...cert, version: 9 });
    expect(v9.valid).toBe(false);
    expect(v9.reason).toMatch(/version 9 is not supported.*versions 2, 3, 4 and 5/);
    expect(CERTIFICATE_VERSIONS).toEqual([2, 3, 4, 5]);
  });

  it('plain targets still write version-2 certificates, which verify', () => {
    const q: Query = { want: { 'y[0]': { ge: 1e3 } }, bounds: BOX };
    const r = certify(model, q, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(r.status).toBe('infeasible');
    expect(r.certificate!.version).toBe(2);
    expect(r.certificate!.query.targets[0]).not.toHaveProperty('terms');
    expect(verifyCertificate(model, r.certificate!, q).valid).toBe(true);
  });

  it('--method milp: native rows for the form; solved just below the exact max, infeasible just above', async () => {
    const { max, min } = await exactRange(SEED, c);
    const below = await invertMilp(model, { want: { [form]: { ge: max - 1e-3 } }, bounds: BOX }, { timeLimit: TIME });
    expect(below.status).toBe('solved');
    expect(below.method).toBe('milp (HiGHS)'); // HiGHS itself, not the branch-and-bound fallback
    const s = below.solutions[0];
    expect(formAt(model, c, [s.unknowns['x[0]'], s.unknowns['x[1]']])).toBeGreaterThanOrEqual(max - 1e-3 - 1e-6);
    const above = await invertMilp(model, { want: { [form]: { ge: max + 1e-2 } }, bounds: BOX }, { timeLimit: TIME });
    expect(above.status).toBe('infeasible');
    expect(above.method).toBe('milp (HiGHS)');
    // negative coefficients are rows of their own sign: just above the exact max of −y0 + y1 + 0.5·y2
    const c2 = [-1, 1, 0.5];
    const r2 = await exactRange(SEED, c2);
    const neg = await invertMilp(model, { want: { '-y[0] + y[1] + 0.5*y[2]': { ge: r2.max + 1e-2 } }, bounds: BOX }, { timeLimit: TIME });
    expect(neg.status).toBe('infeasible');
    expect(neg.method).toBe('milp (HiGHS)');
    const negIn = await invertMilp(model, { want: { '-y[0] + y[1] + 0.5*y[2]': { ge: r2.max - 1e-3 } }, bounds: BOX }, { timeLimit: TIME });
    expect(negIn.status).toBe('solved');
    // a two-sided range inside [min, max] is met; a range beside it is not
    const mid = 0.5 * (min + max);
    const inside = await invertMilp(model, { want: { [form]: { range: [mid - 1e-3, mid + 1e-3] } }, bounds: BOX }, { timeLimit: TIME });
    expect(inside.status).toBe('solved');
    const u = inside.solutions[0].unknowns;
    expect(Math.abs(formAt(model, c, [u['x[0]'], u['x[1]']]) - mid)).toBeLessThanOrEqual(1e-3 + 1e-6);
  });
});

describe('a form whose outputs move together (y[1] − y[0] ≡ 1 on a smooth net)', () => {
  // the outputs share every weight; only the bias differs by 1, so the form is constant while
  // each output sweeps a wide range: bounds of the outputs alone cannot prove anything about it
  const r = rng(5);
  const W1 = r.vector(2 * 6, -2, 2),
    b1 = r.vector(6, -1, 1),
    w = r.vector(6, -2, 2);
  const W2: number[] = [];
  for (let i = 0; i < 6; i++) W2.push(w[i], w[i]);
  const model = createModel({
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: 6, weight: W1, bias: b1 }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 2, weight: W2, bias: [0.25, 1.25] }, inputs: ['a1'] },
    ],
    outputs: [{ node: 'd2', name: 'y' }],
  });

  it('certify proves y[1] − y[0] ≤ 0.9 infeasible (its certificate verifies) and y[1] − y[0] = 1 met everywhere', () => {
    const q: Query = { want: { 'y[1] - y[0]': { le: 0.9 } }, bounds: BOX };
    const res = certify(model, q, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(res.status).toBe('infeasible');
    expect(verifyCertificate(model, res.certificate!, q).valid).toBe(true);
    const eq = invert(model, { want: { 'y[1] - y[0]': 1 }, bounds: BOX }, { seed: 1, maxEvaluations: 20_000 });
    expect(eq.status).toBe('solved');
    expect(eq.solutionSet.kind).toBe('continuum');
    expect(eq.solutionSet).toMatchObject({ dimension: 2 });
  });
});

describe('disjunctions (anyOf)', () => {
  const SEED = 11;
  const { model } = reluNet(SEED);

  it('clauseQueries: want ∧ clause per clause; a name in both is refused; buildProblem refuses anyOf', () => {
    const q: Query = { want: { 'y[0]': { ge: 0 } }, anyOf: [{ 'y[1]': 1 }, { 'y[2] - y[1]': { le: 0 } }], bounds: BOX };
    expect(clauseQueries(q).map((x) => x.want)).toEqual([
      { 'y[0]': { ge: 0 }, 'y[1]': 1 },
      { 'y[0]': { ge: 0 }, 'y[2] - y[1]': { le: 0 } },
    ]);
    expectNetinvertError(() => clauseQueries({ want: { 'y[0]': 1 }, anyOf: [{ 'y[0]': 2 }] }), 'duplicate_name', 'y[0]');
    expectNetinvertError(() => clauseQueries({ want: {}, anyOf: [] }), 'bad_query', 'non-empty');
    expectNetinvertError(() => buildProblem(model, q), 'bad_query', 'anyOf');
  });

  it('the first clause met answers; an unreachable first clause is searched and reported', async () => {
    const y0 = await exactRange(SEED, [1, 0, 0]);
    const q: Query = { want: {}, anyOf: [{ 'y[0]': { ge: y0.max + 1 } }, { 'y[0]': { le: y0.min + 0.01 } }], bounds: BOX };
    const r = invert(model, q, { seed: 2, maxEvaluations: 40_000 });
    expect(r.status).toBe('solved');
    expect(r.query.clause).toEqual({ index: 1, of: 2 });
    expect(r.clauses!.map((c) => c.status)).toEqual([expect.not.stringMatching(/^solved$/), 'solved']);
    for (const s of r.solutions) expect(formAt(model, [1, 0, 0], [s.unknowns['x[0]'], s.unknowns['x[1]']])).toBeLessThanOrEqual(y0.min + 0.01 + 1e-6);
    expect(r.warnings.join('\n')).toMatch(/clause 2 of 2 is met/);
  });

  it('infeasible only when every clause is proven infeasible: one verified certificate per clause', async () => {
    const a = await exactRange(SEED, [1, 0, 0]);
    const b = await exactRange(SEED, [0, 1, -1]);
    const q: Query = { want: {}, anyOf: [{ 'y[0]': { ge: a.max + 0.1 } }, { 'y[1] - y[2]': { ge: b.max + 0.1 } }], bounds: BOX };
    const r = certify(model, q, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
    expect(r.certificate).toBeUndefined();
    const qs = clauseQueries(q);
    expect(r.clauses).toHaveLength(2);
    r.clauses!.forEach((c, i) => {
      expect(c.status).toBe('infeasible');
      const v = verifyCertificate(model, c.certificate!, qs[i]);
      expect(v.valid, v.reason).toBe(true);
    });
    // one reachable clause: never infeasible
    const r2 = certify(model, { ...q, anyOf: [...q.anyOf!, { 'y[0]': { le: a.max } }] }, { seed: 1, maxEvaluations: 20_000, timeLimit: 120 });
    expect(r2.status).toBe('solved');
    expect(r2.query.clause!.index).toBe(2);
  });

  it('--method milp with anyOf', async () => {
    const a = await exactRange(SEED, [1, 0, 0]);
    const r = await invertMilp(model, { want: {}, anyOf: [{ 'y[0]': { ge: a.max + 0.1 } }, { 'y[0]': { ge: a.max - 0.01 } }], bounds: BOX }, { timeLimit: TIME });
    expect(r.status).toBe('solved');
    expect(r.query.clause).toEqual({ index: 1, of: 2 });
    const none = await invertMilp(model, { want: {}, anyOf: [{ 'y[0]': { ge: a.max + 0.1 } }, { 'y[0]': { le: a.min - 0.1 } }], bounds: BOX }, { timeLimit: TIME });
    expect(none.status).toBe('infeasible');
  });
});
