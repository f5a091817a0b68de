import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './util/cli.ts';
import { parseBounds, parseTargets } from '../src/cli/parse.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { saturatingNet } from './problems.ts';


const ADD = 'models/seed-add.json';

describe('netinvert solve', () => {
  it('answers the seed question with exit code 0 and a readable table', async () => {
    const r = await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/SOLVED/);
    expect(r.out).toMatch(/b\s+4\.01\d+\s+solved/);
    expect(r.out).toMatch(/a\s+3\s+given/);
    expect(r.out).toMatch(/sum\s+7\s+= 7/);
  });

  it('--json prints the versioned result', async () => {
    const r = await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--json']);
    const j = JSON.parse(r.out);
    expect(j.format).toBe('netinvert-result');
    expect(j.version).toBe(1);
    expect(j.model.hash).toMatch(/^fnv1a:/);
    expect(j.status).toBe('solved');
    expect(j.solutions[0].unknowns.b).toBeCloseTo(4.0118, 3);
  });

  it('exit 3 for a proven infeasible target', async () => {
    expect((await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=70'])).code).toBe(3);
  });

  it('exit 2 for a best compromise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-'));
    const f = join(dir, 'sat.json');
    writeFileSync(f, saveNativeModel(saturatingNet()));
    const r = await run(['solve', f, '--want', 'y=2']);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/BEST-COMPROMISE/);
  });

  it('exit 4 when the budget runs out', async () => {
    const r = await run(['solve', 'models/seed-4in2out.json', '--given', 'x1=1,x2=2', '--want', 'y1=9.99,y2=0.5', '--max-evaluations', '3']);
    expect(r.code).toBe(4);
  });

  it('user mistakes: one clear line, exit 1, no stack trace', async () => {
    for (const args of [
      ['solve', ADD, '--given', 'c=3', '--want', 'sum=7'],
      ['solve', ADD, '--given', 'a=3', '--want', 'sum=seven'],
      ['solve', 'nope.json', '--want', 'sum=7'],
      ['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--bounds', 'b=5:1'],
      ['solve', ADD, '--given', 'a=3'],
      ['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--method', 'sgd'],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/^error \[[a-z_]+\]: /);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('--prove certifies the list complete and attaches the certificate to --json', async () => {
    const args = ['solve', 'models/seed-4in2out.json', '--given', 'x1=1,x2=2', '--want', 'y1=9.991674991575996,y2=0.5384203832818371', '--prove'];
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 solutions, proven to be all of them/);
    const j = JSON.parse((await run([...args, '--json'])).out);
    expect(j.complete).toBe(true);
    expect(j.certificate.claim).toBe('complete');
  });

  it('--method milp on a ReLU net: exact feasibility, proven infeasibility, and a clear refusal for smooth nets', async () => {
    const { reluNet } = await import('../bench/certify.bench.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ni-'));
    const f = join(dir, 'relu.json');
    const net = reluNet([2, 8, 8, 1], 1);
    writeFileSync(f, saveNativeModel(net));
    // a reachable target: the output at a known point
    const y = net.network.evaluate(new Float64Array([0.3, -0.4]), 1)[0];
    const ok = await run(['solve', f, '--want', `y=${y}`, '--bounds', 'x[0]=-1:1,x[1]=-1:1', '--method', 'milp', '--json']);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.out);
    const s = j.solutions[0];
    expect(Math.abs(net.network.evaluate(new Float64Array([s.unknowns['x[0]'], s.unknowns['x[1]']]), 1)[0] - y)).toBeLessThanOrEqual(2e-6);
    const no = await run(['solve', f, '--want', 'y=100', '--bounds', 'x[0]=-1:1,x[1]=-1:1', '--method', 'milp']);
    expect(no.code).toBe(3);
    const smooth = await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--method', 'milp']);
    expect(smooth.code).toBe(1);
    expect(smooth.err).toMatch(/piecewise-linear.*bipolar_sigmoid/);
  });

  it('--closest-to and --verbose', async () => {
    const r = await run([
      'solve',
      'models/seed-4in2out.json',
      '--given',
      'x1=1,x2=2',
      '--want',
      'y1=9.991674991575996',
      '--closest-to',
      'x3=9,x4=0',
      '--verbose',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/closest to the reference/);
    expect(r.out).toMatch(/stats: /);
  });
});

describe('sidecars through the CLI', () => {
  it('a sidecar next to a genuine ONNX file gives friendly names, raw units and default bounds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-'));
    const model = join(dir, 'net.onnx');
    writeFileSync(model, readFileSync('test/fixtures/third-party/onnx-tf2onnx/keras_linear_131_relu.onnx'));
    // the model sees x_model = (x_raw − 50)/10 and emits y_model; raw y = 100·y_model + 5
    writeFileSync(
      join(dir, 'net.onnx.meta.json'),
      JSON.stringify({
        format: 'netinvert-sidecar',
        version: 1,
        inputs: { 'dense_input:0': { features: ['temperature'], scaler: { mean: 50, std: 10 }, bounds: { temperature: [30, 70] } } },
        outputs: { dense_1: { features: ['yield'], scaler: { mean: 5, std: 100 } } },
      }),
    );
    const insp = await run(['inspect', model]);
    expect(insp.code).toBe(0);
    expect(insp.out).toMatch(/inputs \(1\): temperature \[30, 70\]/);
    expect(insp.out).toMatch(/outputs \(1\): yield/);
    // a reachable target in raw units: the raw output at temperature = 55
    const plain = (await import('../src/formats/onnx/load.ts')).loadOnnxModel(new Uint8Array(readFileSync(model)));
    const yModel = plain.network.evaluate(new Float64Array([(55 - 50) / 10]), 1)[0];
    const yRaw = 100 * yModel + 5;
    const r = await run(['solve', model, '--want', `yield=${yRaw}`, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.query.bounds[0]).toMatchObject({ input: 'temperature', lo: 30, hi: 70, source: 'training range' });
    expect(j.solutions.some((s: { unknowns: { temperature: number } }) => Math.abs(s.unknowns.temperature - 55) < 1e-4)).toBe(true);
    for (const s of j.solutions) expect(Math.abs(s.outputs.yield - yRaw)).toBeLessThanOrEqual(2e-6 * (1 + Math.abs(yRaw)));
  });
});

describe('netinvert inspect and demo', () => {
  it('inspect lists inputs, outputs, layers and parameters', async () => {
    const r = await run(['inspect', ADD]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/inputs \(2\): a \[0, 10\], b \[0, 10\]/);
    expect(r.out).toMatch(/parameters: 8/);
    const j = JSON.parse((await run(['inspect', ADD, '--json'])).out);
    expect(j.inputs).toEqual(['a', 'b']);
    expect(j.parameters).toBe(8);
  });

  it('demo answers both seed questions', async () => {
    const r = await run(['demo']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/input_2 = b = 4\.01/);
    expect(r.out).toMatch(/SOLVED: 2 solutions/);
  });
});

describe('argument parsing', () => {
  it('targets: equal, range, inequalities, weights', () => {
    expect(parseTargets(['y=7', 'z=-1:2', 'p>=0.5,q<=-2', 'w=3@2.5'])).toEqual({
      y: 7,
      z: { range: [-1, 2] },
      p: { ge: 0.5 },
      q: { le: -2 },
      w: { eq: 3, weight: 2.5 },
    });
    expect(parseBounds(['x[0]=-1:1,x[1]=0:10'])).toEqual({ 'x[0]': [-1, 1], 'x[1]': [0, 10] });
  });
});
