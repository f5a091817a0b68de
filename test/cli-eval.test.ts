/**
 * predict() / predictMany() and `netinvert eval`: forward passes by feature name, checked
 * against the seed net's closed form (seedAddOracle, written out from the thread's formula, not
 * the engine) and, for a random ReLU net, a plain-loop dense forward pass.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from './util/cli.ts';
import { predict, predictMany, NetinvertError } from '../src/index.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { loadShipped, seedAddOracle } from './problems.ts';
import { reluNet } from '../bench/certify.bench.ts';
import type { Model } from '../src/model.ts';


const ADD = 'models/seed-add.json';
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * (1 + Math.abs(b));

/** A dense ReLU net (reluNet's graph) evaluated by plain loops over its stored weights. */
function loopForward(model: Model, x: number[]): number[] {
  let v = x;
  for (const nd of model.graph.nodes) {
    const op = nd.op as { type: string; units?: number; weight?: number[]; bias?: number[]; fn?: string };
    if (op.type === 'dense') {
      const W = op.weight!,
        b = op.bias!,
        m = op.units!;
      const out = new Array<number>(m).fill(0);
      for (let j = 0; j < m; j++) {
        let s = b[j];
        for (let i = 0; i < v.length; i++) s += v[i] * W[i * m + j]; // row-major [in][out]
        out[j] = s;
      }
      v = out;
    } else if (op.type === 'unary' && op.fn === 'relu') v = v.map((t) => Math.max(0, t));
    else throw new Error(`loopForward: ${op.type}`);
  }
  return v;
}

function thrown(f: () => unknown): NetinvertError {
  try {
    f();
  } catch (e) {
    if (e instanceof NetinvertError) return e;
    throw e;
  }
  throw new Error('expected a NetinvertError');
}

describe('predict', () => {
  const add = loadShipped('seed-add.json');
  const oracle = seedAddOracle();

  it('matches the seed net closed form at random points (fast-check)', () => {
    fc.assert(
      fc.property(fc.double({ min: -20, max: 20, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true }), (a, b) => {
        const y = predict(add, { a, b });
        expect(Object.keys(y)).toEqual(['sum']);
        expect(close(y.sum, oracle(a, b))).toBe(true);
      }),
    );
  });

  it('predictMany on a ReLU net equals a plain-loop forward pass, row by row', () => {
    const net = reluNet([3, 7, 5, 2], 11);
    const pts = Array.from({ length: 25 }, (_, r) => ({ 'x[0]': Math.sin(r), 'x[1]': Math.cos(3 * r), 'x[2]': (r % 7) - 3 }));
    const ys = predictMany(net, pts);
    expect(ys).toHaveLength(25);
    ys.forEach((y, r) => {
      const ref = loopForward(net, [pts[r]['x[0]'], pts[r]['x[1]'], pts[r]['x[2]']]);
      expect(close(y['y[0]'], ref[0]) && close(y['y[1]'], ref[1]), `row ${r}`).toBe(true);
    });
    expect(predictMany(net, [])).toEqual([]);
  });

  it('errors name the missing, unknown or bad input (and the point in a batch)', () => {
    const miss = thrown(() => predict(add, { a: 3 }));
    expect(miss.code).toBe('missing_input');
    expect(miss.message).toMatch(/"b"/);
    const unk = thrown(() => predict(add, { a: 3, b: 4, c: 5 }));
    expect(unk.code).toBe('unknown_input');
    expect(unk.message).toMatch(/"c"/);
    const nan = thrown(() => predict(add, { a: 3, b: NaN }));
    expect(nan.code).toBe('bad_argument');
    expect(nan.message).toMatch(/"b"/);
    const batch = thrown(() => predictMany(add, [{ a: 1, b: 2 }, { a: 1 }]));
    expect(batch.code).toBe('missing_input');
    expect(batch.message).toMatch(/point 1/);
  });
});

describe('netinvert eval', () => {
  const oracle = seedAddOracle();

  it('--given prints every output; --json gives the versioned answer', async () => {
    const r = await run(['eval', ADD, '--given', 'a=3,b=4']);
    expect(r.code).toBe(0);
    const m = /^sum\s+(\S+)$/m.exec(r.out);
    expect(m).not.toBeNull();
    expect(close(Number(m![1]), oracle(3, 4))).toBe(true);
    const j = JSON.parse((await run(['eval', ADD, '--given', 'a=3,b=4', '--json'])).out);
    expect(j.format).toBe('netinvert-eval');
    expect(j.version).toBe(1);
    expect(j.model.hash).toMatch(/^fnv1a:/);
    expect(j.inputs).toEqual({ a: 3, b: 4 });
    expect(close(j.outputs.sum, oracle(3, 4))).toBe(true);
  });

  it('checks a solve answer: the solved b gives sum = 7 within the tolerance', async () => {
    const s = JSON.parse((await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--json'])).out);
    const b = s.solutions[0].unknowns.b;
    const j = JSON.parse((await run(['eval', ADD, '--given', `a=3,b=${b}`, '--json'])).out);
    expect(Math.abs(j.outputs.sum - 7)).toBeLessThanOrEqual(1e-6 + 7e-6);
    expect(close(j.outputs.sum, oracle(3, b))).toBe(true);
  });

  it('notes an input outside the training range (stderr), still evaluating', async () => {
    const r = await run(['eval', ADD, '--given', 'a=30,b=4']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/a = 30 is outside the training range \[0, 10\]/);
    expect(close(Number(/^sum\s+(\S+)$/m.exec(r.out)![1]), oracle(30, 4))).toBe(true);
  });

  it('--points in.csv -o out.csv: columns copied through, one column per output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-eval-'));
    const inFile = join(dir, 'in.csv'),
      outFile = join(dir, 'out.csv');
    const rows = [
      ['p1', 3, 4],
      ['p "two"', 0.5, 9.25],
      ['p3', -1, 12],
    ] as const;
    writeFileSync(inFile, 'id,b,a\n' + rows.map(([id, a, b]) => `"${id.replace(/"/g, '""')}",${b},${a}`).join('\n') + '\n');
    const r = await run(['eval', ADD, '--points', inFile, '-o', outFile]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/wrote 3 rows/);
    const back = parse(readFileSync(outFile, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(back[0])).toEqual(['id', 'b', 'a', 'sum']);
    back.forEach((row, i) => {
      expect(row.id).toBe(rows[i][0]);
      expect(close(Number(row.sum), oracle(rows[i][1], rows[i][2]))).toBe(true);
    });
    // printed when there is no -o; an output already a column is written as eval:<name>
    writeFileSync(inFile, 'a,b,sum\n3,4,7\n');
    const p = await run(['eval', ADD, '--points', inFile]);
    expect(p.code).toBe(0);
    const printed = parse(p.out, { columns: true }) as Record<string, string>[];
    expect(printed[0].sum).toBe('7');
    expect(close(Number(printed[0]['eval:sum']), oracle(3, 4))).toBe(true);
  });

  it('mistakes are one coded line naming what is wrong', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-eval-'));
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,2\n3,x\n');
    const cases: [string[], string, RegExp][] = [
      [['eval', ADD, '--given', 'a=3'], 'missing_input', /"b"/],
      [['eval', ADD, '--given', 'a=3,b=4,c=1'], 'unknown_input', /"c"/],
      [['eval', ADD, '--given', 'a=3,b=4,a=5'], 'duplicate_name', /"a"/],
      [['eval', ADD], 'bad_usage', /--given/],
      [['eval', ADD, '--given', 'a=3,b=4', '--points', bad], 'bad_usage', /not both/],
      [['eval', ADD, '--points', bad], 'bad_argument', /line 3, column "b"/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err, args.join(' ')).toMatch(new RegExp(`^error \\[${code}\\]: `));
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  });
});

// keep the saved-model path exercised too: eval reads any model file the other commands read
describe('eval on a saved native model', () => {
  it('agrees with the loop forward pass', async () => {
    const net = reluNet([2, 6, 1], 5);
    const dir = mkdtempSync(join(tmpdir(), 'ni-eval-'));
    const f = join(dir, 'relu.json');
    writeFileSync(f, saveNativeModel(net));
    const j = JSON.parse((await run(['eval', f, '--given', 'x[0]=0.3,x[1]=-0.7', '--json'])).out);
    expect(close(j.outputs.y, loopForward(net, [0.3, -0.7])[0])).toBe(true);
  });
});
