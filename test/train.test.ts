/**
 * The trainer: CSV reading, standardization inside the model, the loss gradient, Adam, the
 * L-BFGS polish, early stopping, determinism, fit quality, metadata, every activation, the
 * CLI command, and the seed question end to end (train on data/add.csv, then solve 3 + ? = 7).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/program.ts';
import { NetinvertError } from '../src/errors.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import { UNARY_NAMES } from '../src/graph/activations/index.ts';
import { Network } from '../src/graph/network.ts';
import type { GraphDef } from '../src/graph/types.ts';
import type { Model } from '../src/model.ts';
import { invert } from '../src/api/invert.ts';
import { readTrainingCsv } from '../src/train/csv.ts';
import { lbfgs } from '../src/train/lbfgs.ts';
import { MseObjective, trainMlp, type EpochInfo, type TrainingData } from '../src/train/train.ts';

// ---------------------------------------------------------------------------------------------
// helpers

/** y = f(a, b) on an n × n grid over [0, A] × [0, B]. */
function grid(n: number, A: number, B: number, f: (a: number, b: number) => number[], outputNames = ['y']): TrainingData {
  const rows = n * n;
  const inputs = new Float64Array(rows * 2),
    outputs = new Float64Array(rows * outputNames.length);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const r = i * n + j,
        a = (A * i) / (n - 1),
        b = (B * j) / (n - 1);
      inputs[2 * r] = a;
      inputs[2 * r + 1] = b;
      outputs.set(f(a, b), r * outputNames.length);
    }
  return { inputs, outputs, inputNames: ['a', 'b'], outputNames };
}

/** Deterministic noise for the tests' data (Park–Miller). */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function catchError(f: () => unknown): NetinvertError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(NetinvertError);
    return e as NetinvertError;
  }
  throw new Error('expected a NetinvertError, nothing was thrown');
}

function denseWeights(model: Model): number[] {
  return model.network.parameters().flatMap((p) => Array.from(p.values));
}

function bisect(f: (x: number) => number, lo: number, hi: number): number {
  let flo = f(lo);
  expect(Math.sign(flo)).not.toBe(Math.sign(f(hi)));
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = 0.5 * (lo + hi),
      fm = f(mid);
    if (Math.sign(fm) === Math.sign(flo)) {
      lo = mid;
      flo = fm;
    } else hi = mid;
  }
  return 0.5 * (lo + hi);
}

const ADD_CSV = new URL('../data/add.csv', import.meta.url);

// ---------------------------------------------------------------------------------------------

describe('CSV reading', () => {
  const cols = { inputs: ['a', 'b'], outputs: ['sum'], file: 'data.csv' };

  it('reads the chosen columns as numbers, ignoring others, quotes, blank lines and CRLF', () => {
    const d = readTrainingCsv('id,a,b,sum\r\nx1,1,2,3\r\n\r\nx2,"2",3,5\r\nx3,3,4,7\r\nx4,4,5e0,9\r\n', cols);
    expect(Array.from(d.inputs)).toEqual([1, 2, 2, 3, 3, 4, 4, 5]);
    expect(Array.from(d.outputs)).toEqual([3, 5, 7, 9]);
    expect(d.inputNames).toEqual(['a', 'b']);
  });

  it('a missing column: coded error naming the file, the column and the columns there are', () => {
    const e = catchError(() => readTrainingCsv('a,b,total\n1,2,3\n2,3,5\n3,4,7\n4,5,9\n', cols));
    expect(e.code).toBe('bad_argument');
    expect(e.detail.reason).toBe('missing_column');
    expect(e.message).toMatch(/^data\.csv: column "sum" not in the header; the columns are "a", "b", "total"$/);
  });

  it('a non-numeric cell: names the file, the line and the column', () => {
    const e = catchError(() => readTrainingCsv('a,b,sum\n1,2,3\n2,3,5\n3,four,7\n4,5,9\n', cols));
    expect(e.detail.reason).toBe('non_numeric');
    expect(e.message).toMatch(/^data\.csv, line 4, column "b": "four" is not a finite number/);
    const empty = catchError(() => readTrainingCsv('a,b,sum\n1,2,3\n2,3,5\n3,4,7\n4,5,\n', cols));
    expect(empty.message).toMatch(/^data\.csv, line 5, column "sum": the cell is empty/);
  });

  it('an empty file, a header without enough rows, a headerless file, a ragged row', () => {
    const empty = catchError(() => readTrainingCsv(' \n', cols));
    expect([empty.code, empty.detail.reason]).toEqual(['bad_argument', 'empty_file']);
    expect(empty.message).toMatch(/^data\.csv: the file is empty/);
    const few = catchError(() => readTrainingCsv('a,b,sum\n1,2,3\n2,3,5\n3,4,7\n', cols));
    expect(few.detail.reason).toBe('too_few_rows');
    expect(few.message).toBe('data.csv: 3 data rows; training needs at least 4');
    // too few rows AND a bad cell: the bad cell is named (it used to say "needs 4 rows")
    const fewBad = catchError(() => readTrainingCsv('a,b,sum\n1,2,3\n2,x,5\n3,4,7\n', cols));
    expect(fewBad.detail.reason).toBe('non_numeric');
    expect(fewBad.message).toMatch(/^data\.csv, line 3, column "b": "x" is not a finite number/);
    const noHeader = catchError(() => readTrainingCsv('1,2,3\n2,3,5\n3,4,7\n4,5,9\n5,6,11\n', cols));
    expect(noHeader.detail.reason).toBe('no_header');
    expect(noHeader.message).toMatch(/^data\.csv, line 1: .* must be a header/);
    const ragged = catchError(() => readTrainingCsv('a,b,sum\n1,2,3\n2,3\n3,4,7\n4,5,9\n', cols));
    expect(ragged.detail.reason).toBe('malformed_csv');
    expect(ragged.message).toMatch(/^data\.csv, line 3: not valid CSV/);
  });
});

describe('standardization lives inside the model', () => {
  // wildly different scales: a in [0, 1000], b in [0, 0.02]
  const data = grid(9, 1000, 0.02, (a, b) => [a * b + 3, 0.01 * a - 200 * b], ['p', 'q']);

  it('the scaling nodes hold the training mean and std; raw inputs reproduce the training predictions', () => {
    const { model, report } = trainMlp(data, { hidden: [6], activation: 'tanh', validationSplit: 0, epochs: 40, lbfgsIterations: 40, seed: 2 });
    // independent statistics (population std over every row: no validation split here)
    const rows = 81;
    const stats = (A: Float64Array, w: number, j: number): [number, number] => {
      let m = 0,
        v = 0;
      for (let r = 0; r < rows; r++) m += A[r * w + j] / rows;
      for (let r = 0; r < rows; r++) v += (A[r * w + j] - m) ** 2 / rows;
      return [m, Math.sqrt(v)];
    };
    const first = model.graph.nodes.find((n) => n.name === 'mlp/standardize')!.op;
    const last = model.graph.nodes.find((n) => n.name === 'mlp/unstandardize')!.op;
    if (first.type !== 'affine' || last.type !== 'affine') throw new Error('scaling nodes must be affine');
    for (let j = 0; j < 2; j++) {
      const [m, s] = stats(data.inputs, 2, j);
      expect(first.scale[j]).toBeCloseTo(1 / s, 12);
      expect(first.shift[j] / first.scale[j]).toBeCloseTo(-m, 9);
      const [my, sy] = stats(data.outputs, 2, j);
      expect(last.scale[j]).toBeCloseTo(sy, 9);
      expect(last.shift[j]).toBeCloseTo(my, 9);
    }
    // the first dense layer reads the standardized inputs, the outputs come from the last affine
    expect(model.graph.nodes.find((n) => n.name === 'mlp/dense_1')!.inputs).toEqual(['mlp/standardize']);
    expect(model.network.inputNames).toEqual(['a', 'b']);
    expect(model.network.outputNames).toEqual(['p', 'q']);
    // the report was computed from the core network in standardized units; the model on raw
    // inputs must give the same errors
    const Y = model.network.evaluate(data.inputs, rows);
    for (let o = 0; o < 2; o++) {
      let ss = 0;
      for (let r = 0; r < rows; r++) ss += (Y[r * 2 + o] - data.outputs[r * 2 + o]) ** 2;
      expect(Math.sqrt(ss / rows)).toBeCloseTo(report.trainRmse[o], 9);
    }
    expect(report.trainR2[0]).toBeGreaterThan(0.9);
    // round trip through the native format: identical outputs and metadata
    const back = loadNativeModel(saveNativeModel(model), 'trained.json');
    expect(Array.from(back.network.evaluate(data.inputs, rows))).toEqual(Array.from(Y));
    expect(back.metadata.inputRanges).toEqual(model.metadata.inputRanges);
    expect(back.metadata.outputRanges).toEqual(model.metadata.outputRanges);
    expect(back.metadata.source).toEqual({ format: 'netinvert-train', producer: 'netinvert train' });
    expect(back.metadata.description).toBe(model.metadata.description);
  });

  it('with a validation split, the scaling comes from the training rows only', () => {
    const { model, report } = trainMlp(data, { hidden: [3], activation: 'tanh', validationSplit: 0.25, epochs: 2, lbfgs: false, seed: 5 });
    const val = new Set(report.validationIndices);
    expect(val.size).toBe(20);
    const train = Array.from({ length: 81 }, (_, r) => r).filter((r) => !val.has(r));
    const meanOf = (rows: number[]): number => rows.reduce((s, r) => s + data.inputs[2 * r], 0) / rows.length;
    const mTrain = meanOf(train),
      mAll = meanOf([...train, ...val]);
    expect(Math.abs(mTrain - mAll)).toBeGreaterThan(1); // the check below can tell them apart
    const first = model.graph.nodes.find((n) => n.name === 'mlp/standardize')!.op;
    if (first.type !== 'affine') throw new Error('scaling node must be affine');
    expect(-first.shift[0] / first.scale[0]).toBeCloseTo(mTrain, 9);
    expect(report.scaling.inputMean[0]).toBeCloseTo(mTrain, 9);
  });
});

describe('the training loss', () => {
  const graph = (act: string, params: Record<string, number>): GraphDef => {
    const rand = lcg(11);
    const w = (n: number): number[] => Array.from({ length: n }, () => 2 * rand() - 1);
    return {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'd1', op: { type: 'dense', units: 3, weight: w(6), bias: w(3) }, inputs: ['x'] },
        { name: 'a1', op: { type: 'unary', fn: act, params }, inputs: ['d1'] },
        { name: 'd2', op: { type: 'dense', units: 2, weight: w(6), bias: w(2) }, inputs: ['a1'] },
      ],
      outputs: [{ node: 'd2' }],
    };
  };

  for (const [act, params] of [
    ['tanh', {}],
    ['bipolar_sigmoid', { lambda: 2 }],
  ] as const) {
    it(`gradient matches central differences (${act})`, () => {
      const rand = lcg(5);
      const rows = 7;
      const X = Float64Array.from({ length: rows * 2 }, () => 2 * rand() - 1);
      const T = Float64Array.from({ length: rows * 2 }, () => 2 * rand() - 1);
      const obj = new MseObjective(new Network(graph(act, params)), X, T, rows);
      expect(obj.size).toBe(6 + 3 + 6 + 2);
      const theta = obj.getParams();
      const g = new Float64Array(obj.size);
      const f0 = obj.valueAndGradient(theta, g);
      expect(f0).toBeGreaterThan(0);
      // a weight and a bias of each layer
      for (const k of [0, 4, 7, 9, 13, 16]) {
        const h = 1e-6,
          p = Float64Array.from(theta),
          m = Float64Array.from(theta);
        p[k] += h;
        m[k] -= h;
        const fd = (obj.value(p) - obj.value(m)) / (2 * h);
        expect(Math.abs(g[k] - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
      // the minibatch path over every row gives the same loss and gradient
      obj.setParams(theta);
      const gb = new Float64Array(obj.size);
      const idx = Uint32Array.from({ length: rows }, (_, i) => i);
      expect(obj.batchGradient(idx, 0, rows, gb)).toBeCloseTo(f0, 14);
      for (let k = 0; k < obj.size; k++) expect(gb[k]).toBeCloseTo(g[k], 13);
    });
  }
});

describe('optimisation', () => {
  const smooth = grid(10, 3, 2, (a, b) => [Math.sin(a) + b * b]);

  it('Adam reduces the loss', () => {
    const seen: EpochInfo[] = [];
    const { report } = trainMlp(smooth, { hidden: [8], activation: 'tanh', epochs: 60, lbfgs: false, seed: 4, onEpoch: (i) => seen.push(i) });
    expect(seen).toHaveLength(60);
    expect(seen.every((i) => i.phase === 'adam')).toBe(true);
    expect(report.lbfgsIterations).toBe(0);
    expect(report.trainLoss).toBeLessThan(0.05 * report.initialTrainLoss);
    expect(seen[59].trainLoss).toBeLessThan(seen[0].trainLoss);
  });

  it('the L-BFGS polish does not increase the training loss (and here lowers it a lot)', () => {
    const { report } = trainMlp(smooth, { hidden: [8], activation: 'tanh', epochs: 30, validationSplit: 0, lbfgsIterations: 200, seed: 4 });
    expect(report.lbfgsIterations).toBeGreaterThan(0);
    expect(report.trainLoss).toBeLessThanOrEqual(report.trainLossAfterAdam);
    expect(report.trainLoss).toBeLessThan(0.1 * report.trainLossAfterAdam);
  });

  it('L-BFGS alone: Rosenbrock to its minimum, with a loss that never goes up', () => {
    const fs: number[] = [];
    const r = lbfgs(
      (x, g) => {
        const [a, b] = [x[0], x[1]];
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      new Float64Array([-1.2, 1]),
      { maxIterations: 200, onIteration: (_x, f) => void fs.push(f) },
    );
    expect(r.x[0]).toBeCloseTo(1, 6);
    expect(r.x[1]).toBeCloseTo(1, 6);
    expect(r.iterations).toBeLessThan(100);
    for (let i = 1; i < fs.length; i++) expect(fs[i]).toBeLessThanOrEqual(fs[i - 1]);
  });

  it('early stopping restores the weights with the best validation loss', () => {
    // noisy 1-D data and a large net: the validation loss turns up while the training loss falls
    const rand = lcg(7);
    const rows = 40;
    const inputs = Float64Array.from({ length: rows }, (_, i) => i / rows);
    const outputs = inputs.map((x) => x + 0.3 * (rand() - 0.5));
    const seen: EpochInfo[] = [];
    const { model, report } = trainMlp(
      { inputs, outputs, inputNames: ['x'], outputNames: ['y'] },
      { hidden: [32, 32], activation: 'tanh', epochs: 400, batchSize: 8, patience: 20, lbfgs: false, validationSplit: 0.3, seed: 3, onEpoch: (i) => seen.push(i) },
    );
    expect(report.stoppedEarly).toBe(true);
    expect(report.epochs).toBe(seen.length);
    expect(report.epochs).toBe(report.bestEpoch + 20);
    const vals = seen.map((i) => i.valLoss!);
    const best = Math.min(...vals);
    expect(vals[report.bestEpoch - 1]).toBe(best);
    expect(vals[vals.length - 1]).toBeGreaterThan(best);
    expect(report.valLoss).toBe(best); // the restored weights give back exactly the best loss
    // and the delivered model holds those weights: its validation RMSE (raw units) matches
    const vi = report.validationIndices;
    const Y = model.network.evaluate(Float64Array.from(vi, (r) => inputs[r]), vi.length);
    const rmse = Math.sqrt(vi.reduce((s, r, k) => s + (Y[k] - outputs[r]) ** 2, 0) / vi.length);
    expect(rmse).toBeCloseTo(report.valRmse![0], 12);
    expect((rmse / report.scaling.outputStd[0]) ** 2).toBeCloseTo(best, 12);
  });

  it('the same seed gives identical weights; another seed does not', () => {
    const opts = { hidden: [5, 4], activation: 'softplus', epochs: 15, lbfgsIterations: 20, seed: 9 };
    const a = trainMlp(smooth, opts),
      b = trainMlp(smooth, opts),
      c = trainMlp(smooth, { ...opts, seed: 10 });
    expect(denseWeights(b.model)).toEqual(denseWeights(a.model));
    expect(saveNativeModel(b.model)).toBe(saveNativeModel(a.model));
    expect(b.report.validationIndices).toEqual(a.report.validationIndices);
    expect(denseWeights(c.model)).not.toEqual(denseWeights(a.model));
  });

  it('R² near 1 on a smooth function (sin(a) + b², tanh 8,8)', () => {
    const data = grid(16, 3, 2, (a, b) => [Math.sin(a) + b * b]);
    const { report } = trainMlp(data, { hidden: [8, 8], activation: 'tanh', epochs: 200, lbfgsIterations: 200, seed: 1 });
    expect(report.trainR2[0]).toBeGreaterThan(0.9999);
    expect(report.valR2![0]).toBeGreaterThan(0.999);
    expect(report.valRmse![0]).toBeLessThan(0.03); // y spans [0, 5]
  });
});

describe('metadata', () => {
  it('input and output ranges span all the data (validation rows included); name, description, source', () => {
    const rand = lcg(3);
    const rows = 30;
    const inputs = Float64Array.from({ length: rows * 2 }, () => 10 * rand() - 5);
    const outputs = Float64Array.from({ length: rows }, (_, r) => inputs[2 * r] - 2 * inputs[2 * r + 1]);
    const data = { inputs, outputs, inputNames: ['u', 'v'], outputNames: ['w'] };
    const { model, report } = trainMlp(data, { hidden: [3], activation: 'relu', epochs: 5, lbfgsIterations: 5, validationSplit: 0.5, seed: 6, name: 'uvw' });
    const col = (A: Float64Array, w: number, j: number): number[] => Array.from({ length: rows }, (_, r) => A[r * w + j]);
    const span = (v: number[]): [number, number] => [Math.min(...v), Math.max(...v)];
    expect(model.metadata.inputRanges).toEqual({ u: span(col(inputs, 2, 0)), v: span(col(inputs, 2, 1)) });
    expect(model.metadata.outputRanges).toEqual({ w: span(col(outputs, 1, 0)) });
    // make sure this checks something: an extreme value sits in a validation row
    const argmin = (v: number[]): number => v.indexOf(Math.min(...v));
    const argmax = (v: number[]): number => v.indexOf(Math.max(...v));
    const extremes = [argmin(col(inputs, 2, 0)), argmax(col(inputs, 2, 0)), argmin(col(inputs, 2, 1)), argmax(col(inputs, 2, 1))];
    expect(extremes.some((r) => report.validationIndices.includes(r))).toBe(true);
    expect(model.metadata.name).toBe('uvw');
    expect(model.metadata.source).toEqual({ format: 'netinvert-train', producer: 'netinvert train' });
    expect(model.metadata.description).toMatch(/^2-3-1 MLP trained by netinvert train: relu hidden layers, linear output; inputs and outputs standardized/);
  });
});

describe('every activation', () => {
  // parameters for the activations that require one
  const PARAMS: Record<string, Record<string, number>> = { pow: { exponent: 2 }, max_const: { c: 0 }, min_const: { c: 0 }, clip: { min: -1, max: 1 } };
  const data = grid(6, 1, 1, (a, b) => [Math.sin(3 * a) + b * b]);

  it('trains a couple of epochs without NaN (log, undefined below 0, refuses with a coded error)', () => {
    expect(UNARY_NAMES.length).toBeGreaterThan(20);
    for (const act of UNARY_NAMES) {
      const run = (): ReturnType<typeof trainMlp> =>
        trainMlp(data, { hidden: [4, 3], activation: act, activationParams: PARAMS[act], epochs: 2, lbfgsIterations: 2, seed: 1 });
      if (act === 'log') {
        const e = catchError(run);
        expect(e.code).toBe('bad_argument');
        expect(e.message).toMatch(/training diverged: .* with activation "log"/);
        continue;
      }
      const { model, report } = run();
      expect(Number.isFinite(report.trainLoss), act).toBe(true);
      expect(report.trainLoss, act).toBeLessThanOrEqual(report.initialTrainLoss);
      expect(denseWeights(model).every(Number.isFinite), act).toBe(true);
      expect(model.graph.nodes.filter((n) => n.op.type === 'unary' && n.op.fn === act), act).toHaveLength(2);
    }
  });

  it('bipolar-sigmoid is accepted by its CLI spelling, with its λ', () => {
    const { model } = trainMlp(data, { hidden: [2], activation: 'Bipolar-Sigmoid', activationParams: { lambda: 3 }, epochs: 1, lbfgs: false });
    const act = model.graph.nodes.find((n) => n.name === 'mlp/act_1')!.op;
    expect(act).toEqual({ type: 'unary', fn: 'bipolar_sigmoid', params: { lambda: 3 } });
  });

  it('bad options are refused before training, with coded errors', () => {
    expect(catchError(() => trainMlp(data, { hidden: [2], activation: 'swish' })).code).toBe('unsupported_op');
    expect(catchError(() => trainMlp(data, { hidden: [2], activation: 'bipolar_sigmoid', activationParams: { lambda: -1 } })).code).toBe('bad_parameter');
    expect(catchError(() => trainMlp(data, { hidden: [0], activation: 'tanh' })).message).toMatch(/hidden\[0\] must be an integer ≥ 1/);
    expect(catchError(() => trainMlp(data, { hidden: [2], activation: 'tanh', validationSplit: 1 })).message).toMatch(/validationSplit/);
    expect(catchError(() => trainMlp({ ...data, outputNames: ['a'] }, { hidden: [2], activation: 'tanh' })).message).toMatch(/column "a" is named twice/);
  });
});

describe('netinvert train (CLI, in-process)', () => {
  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '',
      err = '';
    const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ni-train-'));
  const csv = ADD_CSV.pathname;

  it('trains, writes the model, prints the summary; solve then reads it', async () => {
    const file = join(dir, 'add.json');
    const r = await run(['train', csv, '--inputs', 'a,b', '--outputs', 'sum', '--hidden', '2', '--activation', 'bipolar-sigmoid', '--lambda', '1', '--seed', '0', '--epochs', '100', '--lbfgs-iterations', '100', '-o', file]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(r.out).toMatch(/^trained 9 parameters on 353 rows, validated on 88: 100 Adam epochs, then \d+ L-BFGS iterations/);
    expect(r.out).toMatch(/output\s+train RMSE\s+val RMSE\s+train R²\s+val R²/);
    expect(r.out).toMatch(/\nsum\s+\S+\s+\S+\s+0\.99\d+\s+0\.99\d+\n/);
    const model = loadNativeModel(readFileSync(file), file);
    expect(r.out).toContain(`wrote ${file}  (hash ${model.hash})`);
    expect(model.metadata.name).toBe('add');
    expect(model.metadata.inputRanges).toEqual({ a: [0, 10], b: [0, 10] });
    expect(model.metadata.source?.format).toBe('netinvert-train');
    const s = await run(['solve', file, '--given', 'a=3', '--want', 'sum=7']);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/b\s+4\.0\d*\s+solved/);
  });

  it('--no-lbfgs and --validation-split 0 are honoured', async () => {
    const file = join(dir, 'nolbfgs.json');
    const r = await run(['train', csv, '--inputs', 'a,b', '--outputs', 'sum', '--hidden', '3', '--epochs', '5', '--no-lbfgs', '--validation-split', '0', '-o', file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^trained 13 parameters on 441 rows, validated on 0: 5 Adam epochs\n/);
    expect(r.out).toMatch(/\nsum\s+\S+\s+—\s+\S+\s+—\n/);
  });

  it('bad arguments: exit 1 and one line "error [code]: …"', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b,sum\n1,2,3\n2,x,5\n3,4,7\n4,5,9\n');
    const base = ['--inputs', 'a,b', '--outputs', 'sum', '-o', join(dir, 'm.json')];
    const cases: [string[], RegExp][] = [
      [['train', csv, '--outputs', 'sum', '-o', join(dir, 'm.json')], /^error \[bad_argument\]: say which columns to use with --inputs/],
      [['train', csv, '--inputs', 'a,b', '--outputs', 'sum'], /^error \[bad_argument\]: say where to write the model with -o/],
      [['train', csv, '--inputs', 'a,c', '--outputs', 'sum', '-o', join(dir, 'm.json')], /^error \[bad_argument\]: .*add\.csv: column "c" not in the header/],
      [['train', bad, ...base], /^error \[bad_argument\]: .*bad\.csv, line 3, column "b": "x" is not a finite number/],
      [['train', join(dir, 'none.csv'), ...base], /^error \[bad_argument\]: .*none\.csv: no such data file/],
      [['train', csv, ...base, '--epochs', 'many'], /^error \[bad_argument\]: --epochs: "many" is not a finite number/],
      [['train', csv, ...base, '--hidden', '8,x'], /^error \[bad_argument\]: --hidden: "x" is not a finite number/],
      [['train', csv, ...base, '--activation', 'swish'], /^error \[unsupported_op\]: unknown activation "swish"/],
      [['train', csv, ...base, '--activation', 'bipolar-sigmoid', '--lambda', '-2'], /^error \[bad_parameter\]: activation "bipolar_sigmoid": lambda must be > 0/],
      [['train', csv, ...base, '--validation-split', '1.5'], /^error \[bad_argument\]: validationSplit must be in \[0, 1\)/],
      [['train', csv, '--inputs', 'a,b', '--outputs', 'sum', '-o', join(dir, 'x.onnx')], /^error \[bad_argument\]: -o .*x\.onnx: netinvert train writes its own JSON model format, not \.onnx; name the file with \.json \(e\.g\. -o x\.json\)\n/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out, args.join(' ')).toBe('');
      expect(r.err.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err, args.join(' ')).toMatch(re);
    }
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false); // refused before training, nothing written
  });
});

describe('the seed question, end to end', () => {
  /*
   * Train 2 bipolar-sigmoid hidden units (λ = 1, linear output, default Adam + L-BFGS, seed 0)
   * on data/add.csv (sum = a + b on a 21 × 21 grid over [0, 10]²), then solve 3 + b = 7.
   *
   * Result (seed 0, defaults: 500 Adam epochs, 500 L-BFGS iterations): b = 4.00108, 1.08e-3
   * from 4; the net gives y(3, 4) = 6.99892; train/val RMSE 1.08e-3 / 1.32e-3 (sums span 0..20).
   *
   * Why not exactly 4: the solver returns the trained net's own root (checked to 1e-9 against
   * bisection on the net written out by hand), and the net does not add exactly. Two
   * bipolar-sigmoid units, tanh(z/2), cannot represent a linear function; they approach one
   * only in a limit (hidden weights → 0, output weights → ±∞, the two units' curvatures
   * cancelling), which training approaches but does not reach: with the defaults the hidden
   * weights are ~0.035 and the output weights ~±21 (in standardized units). The remaining fit
   * error e(a, b) = y − (a + b) moves the root by b* − 4 ≈ −e(3, 4) / (∂y/∂b), and ∂y/∂b ≈ 1,
   * so the answer's distance to 4 is the net's own fit error at (3, 4). A longer polish goes
   * further down the same valley: 3000 L-BFGS iterations give weights ~0.02 and ~±55,
   * RMSE 3.9e-7 and b = 4 + 4.5e-8.
   */
  it('trains on data/add.csv, solves 3 + ? = 7, and lands on its own root near 4', () => {
    const text = readFileSync(ADD_CSV, 'utf8');
    expect(text.length).toBeLessThan(50_000);
    const data = readTrainingCsv(text, { inputs: ['a', 'b'], outputs: ['sum'], file: 'data/add.csv' });
    expect(data.outputs.length).toBe(441);
    const { model, report } = trainMlp(data, { hidden: [2], activation: 'bipolar_sigmoid', activationParams: { lambda: 1 }, seed: 0 });
    expect(report.trainRmse[0]).toBeLessThan(5e-3);
    expect(report.valRmse![0]).toBeLessThan(5e-3);

    const r = invert(model, { given: { a: 3 }, want: { sum: 7 } });
    expect(r.status).toBe('solved');
    expect(r.solutions).toHaveLength(1);
    expect(r.query.bounds).toEqual([{ input: 'b', lo: 0, hi: 10, source: 'training range' }]);
    const b = r.solutions[0].unknowns.b;

    // oracle: the saved net written out by hand (no engine code), solved by bisection
    const file = JSON.parse(saveNativeModel(model));
    const node = (name: string) => file.nodes.find((n: { name: string }) => n.name === name);
    const std = node('mlp/standardize'),
      d1 = node('mlp/dense_1'),
      d2 = node('mlp/dense_out'),
      un = node('mlp/unstandardize');
    expect(node('mlp/act_1').op).toBe('bipolar_sigmoid');
    const net = (A: number, B: number): number => {
      const x = [A * std.scale[0] + std.shift[0], B * std.scale[1] + std.shift[1]];
      let y = d2.bias[0];
      for (let k = 0; k < 2; k++) {
        const z = x[0] * d1.weight[0][k] + x[1] * d1.weight[1][k] + d1.bias[k];
        y += Math.tanh(z / 2) * d2.weight[k][0]; // bipolar sigmoid, λ = 1
      }
      return y * un.scale[0] + un.shift[0];
    };
    expect(Math.abs(net(3, 4) - model.network.evaluate(new Float64Array([3, 4]), 1)[0])).toBeLessThan(1e-12);
    const root = bisect((B) => net(3, B) - 7, 0, 10);
    expect(Math.abs(b - root)).toBeLessThan(1e-9);

    // it learned to add: within 5e-3 of 4 (seed 0 gives 1.08e-3)
    expect(Math.abs(b - 4)).toBeLessThan(5e-3);
    // and the distance to 4 is the fit error at (3, 4) over the slope, to first order
    const h = 1e-5;
    const slope = (net(3, 4 + h) - net(3, 4 - h)) / (2 * h);
    expect(Math.abs(slope - 1)).toBeLessThan(0.01);
    expect(Math.abs(b - 4 - (7 - net(3, 4)) / slope)).toBeLessThan(1e-7);
  });
});
