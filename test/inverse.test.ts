/**
 * The learned inverse (src/train/inverse.ts): an approximate net [known inputs, targets] →
 * [unknown inputs] used only as a warm start for the solver. Deterministic (seeded sampling
 * and training); the two inverses are trained once and shared.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.ts';
import { NetinvertError } from '../src/errors.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import type { Model } from '../src/model.ts';
import { buildProblem } from '../src/problem/query.ts';
import { Budget, ProblemEvaluator } from '../src/solve/evaluator.ts';
import { invert } from '../src/api/invert.ts';
import { levenbergMarquardt } from '../src/solve/lm.ts';
import { inverseWarmStart, learnInverse, type LearnInverseReport } from '../src/train/inverse.ts';

const ADD = 'models/seed-add.json';
const FOUR = 'models/seed-4in2out.json';
const load = (f: string): Model => loadNativeModel(readFileSync(f, 'utf8'), f);

/** Oracle: the b with model(a, b) = sum, by bisection on [0, 10] (the model is increasing in b there). */
function bisectB(m: Model, a: number, sum: number): number {
  const f = (b: number): number => m.network.evaluate(Float64Array.from([a, b]), 1)[0] - sum;
  let lo = 0,
    hi = 10;
  expect(f(lo) * f(hi)).toBeLessThan(0);
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = 0.5 * (lo + hi);
    if (f(lo) * f(mid) <= 0) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

function expectCode(fn: () => unknown, code: string, mismatch?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NetinvertError);
    expect((e as NetinvertError).code).toBe(code);
    if (mismatch) expect((e as NetinvertError).detail.mismatch).toBe(mismatch);
    return;
  }
  throw new Error(`expected a NetinvertError ${code}`);
}

describe('learnInverse on seed-add (known a, target sum → b)', () => {
  let add: Model, inv: Model, report: LearnInverseReport;
  beforeAll(() => {
    add = load(ADD);
    ({ inverse: inv, report } = learnInverse(add, { known: ['a'], targets: ['sum'], samples: 2000, hidden: [16, 16], seed: 1 }));
  });

  it('records what it inverts, and survives save → load', () => {
    expect(report.info).toMatchObject({ kind: 'learned-inverse', of: add.hash, known: ['a'], targets: ['sum'], unknowns: ['b'] });
    expect(report.info.bounds).toEqual({ a: [0, 10], b: [0, 10] });
    expect(inv.network.inputNames).toEqual(['a', 'sum']);
    expect(inv.network.outputNames).toEqual(['b']);
    expect(inv.metadata.description).toMatch(/ONE answer per query/);
    const back = loadNativeModel(saveNativeModel(inv));
    expect(back.hash).toBe(inv.hash);
    expect((back.metadata.extra as { inverse: unknown }).inverse).toEqual(report.info);
  });

  it('predicts b for (a = 3, sum = 7) within 0.02 of the true root', () => {
    const root = bisectB(add, 3, 7);
    const pred = inv.network.evaluate(Float64Array.from([3, 7]), 1)[0];
    expect(Math.abs(pred - root)).toBeLessThan(0.02);
    const ws = inverseWarmStart(inv, add, { given: { a: 3 }, want: { sum: 7 } });
    expect(ws.length).toBe(1);
    expect(ws[0]).toBeCloseTo(pred, 12);
  });

  it('clips its prediction to the box', () => {
    const ws = inverseWarmStart(inv, add, { given: { a: 3 }, want: { sum: 7 }, bounds: { b: [5, 6] } });
    expect(ws[0]).toBe(5);
  });

  it('solve with the warm start gives the same verified answer as without', () => {
    const q = { given: { a: 3 }, want: { sum: 7 } };
    const cold = invert(add, q);
    const warm = invert(add, q, { warmStart: inverseWarmStart(inv, add, q) });
    expect(warm.status).toBe('solved');
    expect(warm.solutions.map((s) => s.unknowns)).toEqual(cold.solutions.map((s) => s.unknowns));
    expect(warm.solutions[0].unknowns.b).toBeCloseTo(bisectB(add, 3, 7), 8);
    // 1 unknown and 1 equality: interval Newton covers the box, the warm start is not used (and says so)
    expect(warm.warnings.some((w) => /warm start was not needed/.test(w))).toBe(true);
  });

  it('LM from the warm start meets the target in fewer evaluations than from cold starts', () => {
    const problem = buildProblem(add, { given: { a: 3 }, want: { sum: 7 } });
    const run = (u0: number): { evals: number; iters: number; b: number } => {
      const budget = new Budget(10_000, Infinity);
      const ev = new ProblemEvaluator(problem, budget);
      const r = levenbergMarquardt(ev, Float64Array.from([u0]), 1, { maxIterations: 200 });
      return { evals: budget.evaluations, iters: r.iterations[0], b: r.x[0] };
    };
    const root = bisectB(add, 3, 7);
    const warm = run(inverseWarmStart(inv, problem)[0]);
    expect(Math.abs(warm.b - root)).toBeLessThan(1e-8);
    expect(warm.iters).toBeLessThanOrEqual(5);
    for (const cold of [0, 5, 10].map(run)) {
      expect(Math.abs(cold.b - root)).toBeLessThan(1e-8);
      expect(warm.evals).toBeLessThan(cold.evals);
    }
  });

  it('mismatched model, known inputs or targets give coded errors', () => {
    const four = load(FOUR);
    expectCode(() => inverseWarmStart(inv, four, { given: { x1: 1, x2: 1 }, want: { y1: 1, y2: 1 } }), 'bad_model_file', 'model');
    expectCode(() => inverseWarmStart(inv, add, { given: { b: 3 }, want: { sum: 7 } }), 'bad_query', 'known');
    expectCode(() => inverseWarmStart(inv, add, { given: { a: 3 }, want: { sum: { ge: 7 } } }), 'bad_query', 'target-kind');
    expectCode(() => inverseWarmStart(add, add, { given: { a: 3 }, want: { sum: 7 } }), 'bad_model_file', 'not-an-inverse');
    expectCode(() => invert(add, { given: { a: 3 }, want: { sum: 7 } }, { warmStart: [1, 2] }), 'bad_query');
    expectCode(() => learnInverse(add, { known: ['c'], targets: ['sum'] }), 'unknown_input');
    expectCode(() => learnInverse(add, { known: ['a'], targets: ['nope'] }), 'unknown_output');
    expectCode(() => learnInverse(add, { known: ['a', 'b'], targets: ['sum'] }), 'bad_argument');
  });
});

describe('learnInverse on seed-4in2out (known x1, x2; targets y1, y2 → x3, x4)', () => {
  it('is a warm start for the multi-start search; the answers stay those of a cold search', () => {
    const four = load(FOUR);
    const { inverse } = learnInverse(four, { known: ['x1', 'x2'], targets: ['y1', 'y2'], samples: 1500, hidden: [16, 16], seed: 0 });
    const y = four.network.evaluate(Float64Array.from([2, 5, 4, 6]), 1);
    const q = { given: { x1: 2, x2: 5 }, want: { y1: y[0], y2: y[1] } };
    const ws = inverseWarmStart(inverse, four, q);
    const cold = invert(four, q);
    const warm = invert(four, q, { warmStart: ws });
    expect(warm.status).toBe('solved');
    expect(warm.solutions.map((s) => s.unknowns)).toEqual(cold.solutions.map((s) => s.unknowns));
    expect(warm.warnings).toEqual(cold.warnings);
    // the first start is the warm start: with one start only, it alone finds a verified solution
    const one = invert(four, q, { warmStart: ws, maxStarts: 1 });
    expect(one.status).toBe('solved');
    expect(one.stats.starts).toBe(1);
    // default behaviour without a warm start is untouched
    expect(invert(four, q).stats).toMatchObject({ starts: cold.stats.starts, evaluations: cold.stats.evaluations });
  });
});

describe('CLI: learn-inverse, then solve --warm-start', () => {
  const cli = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '',
      err = '';
    const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  };

  it('round trip on seed-add, and coded errors for a mismatched query or model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-inverse-'));
    const invPath = join(dir, 'inverse.json');
    const made = await cli(['learn-inverse', ADD, '--known', 'a', '--targets', 'sum', '--samples', '1000', '--hidden', '12,12', '--seed', '2', '-o', invPath]);
    expect(made.err).toBe('');
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/warm start/);
    const inv = loadNativeModel(readFileSync(invPath, 'utf8'));
    expect((inv.metadata.extra as { inverse: { of: string } }).inverse.of).toBe(load(ADD).hash);

    const base = ['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--json'];
    const cold = await cli(base);
    const warm = await cli([...base, '--warm-start', invPath]);
    expect(warm.code).toBe(0);
    expect(JSON.parse(warm.out).solutions).toEqual(JSON.parse(cold.out).solutions);

    const wrongKnown = await cli(['solve', ADD, '--given', 'b=3', '--want', 'sum=7', '--warm-start', invPath]);
    expect(wrongKnown.code).toBe(1);
    expect(wrongKnown.err).toMatch(/error \[bad_query\]: the learned inverse expects the known inputs \[a\]/);
    // a disjunction has a set of targets per clause; the inverse maps one: a coded refusal naming both flags
    const withAny = await cli(['solve', ADD, '--given', 'a=3', '--any', 'sum=7', '--any', 'sum=5', '--warm-start', invPath]);
    expect(withAny.code).toBe(1);
    expect(withAny.err).toMatch(/^error \[bad_query\]: --warm-start takes one set of targets, and --any gives 2 clauses/);
    expect(withAny.err).not.toMatch(/invert\(\)|\n\s+at /);
    const wrongModel = await cli(['solve', FOUR, '--given', 'x1=1,x2=1', '--want', 'y1=1,y2=1', '--warm-start', invPath]);
    expect(wrongModel.code).toBe(1);
    expect(wrongModel.err).toMatch(/error \[bad_model_file\]: the learned inverse was made for model/);

    // discrete unknowns: --warm-start builds the Problem invert() searches, with the model's sidecar
    // declarations (and the flags') applied. Oracle: the net at the integers of b's box.
    const addModel = load(ADD);
    const sumAt = (b: number): number => addModel.network.evaluate(Float64Array.from([3, b]), 1)[0];
    const meets = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].filter((b) => sumAt(b) >= 6.9 && sumAt(b) <= 7.1);
    expect(meets).toEqual([4]);
    const ranged = ['solve', ADD, '--given', 'a=3', '--want', 'sum=6.9:7.1', '--bounds', 'b=0:10', '--json', '--warm-start', invPath];
    const byFlag = await cli([...ranged, '--integer', 'b']);
    expect(byFlag.err).toBe('');
    expect(byFlag.code).toBe(0);
    expect(JSON.parse(byFlag.out).solutions.map((s: { inputs: { b: number } }) => s.inputs.b)).toEqual(meets);
    const sidecar = join(dir, 'add.meta.json');
    writeFileSync(sidecar, JSON.stringify({ format: 'netinvert-sidecar', version: 1, integers: ['b'] }));
    const bySidecar = await cli([...ranged, '--meta', sidecar]);
    expect(bySidecar.code).toBe(0);
    const rs = JSON.parse(bySidecar.out);
    expect(rs.discrete.assignments).toBe(11);
    expect(rs.solutions.map((s: { inputs: { b: number } }) => s.inputs.b)).toEqual(meets);
    // the sidecar's declaration is checked on the warm start's path too: a = 3.5 is no integer
    writeFileSync(sidecar, JSON.stringify({ format: 'netinvert-sidecar', version: 1, integers: ['a'] }));
    const notInteger = await cli(['solve', ADD, '--given', 'a=3.5', '--want', 'sum=7', '--meta', sidecar, '--warm-start', invPath]);
    expect(notInteger.code).toBe(1);
    expect(notInteger.err).toMatch(/error \[bad_query\]: input "a" is an integer input \(the model's sidecar declares it\), but its given value is 3.5/);
    const withA: Model = { ...addModel, metadata: { ...addModel.metadata, discrete: { integers: ['a'] } } };
    expectCode(() => inverseWarmStart(inv, withA, { given: { a: 3.5 }, want: { sum: 7 } }), 'bad_query');
    expect(inverseWarmStart(inv, withA, { given: { a: 3 }, want: { sum: 7 } })).toEqual(inverseWarmStart(inv, addModel, { given: { a: 3 }, want: { sum: 7 } }));
    const noOut = await cli(['learn-inverse', ADD, '--known', 'a', '--targets', 'sum']);
    expect(noOut.code).toBe(1);
    expect(noOut.err).toMatch(/bad_argument/);
  });
});
