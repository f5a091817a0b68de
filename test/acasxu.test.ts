/**
 * ACAS Xu (VNN-COMP 2021, vendored in test/fixtures/third-party/acasxu): all 45 ONNX nets load
 * with our importer as 5 → 6×50 ReLU → 5 and agree with onnxruntime-web at random points in the
 * boxes of the properties each net is checked against (acasxu_instances.csv). The published
 * nnenum and alpha-beta-CROWN answers cover every instance and agree with each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { VnnlibSpec } from '../src/formats/vnnlib/types.ts';
import { rng } from './util/rng.ts';

ort.env.wasm.numThreads = 1;

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
const NETS = readdirSync(join(ACAS, 'onnx'))
  .filter((f) => f.endsWith('.onnx'))
  .sort();
const INSTANCES = readFileSync(join(ACAS, 'acasxu_instances.csv'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const [onnx, vnnlib, timeout] = l.split(',');
    return { onnx, vnnlib, timeout: Number(timeout) };
  });
const SPECS = new Map<string, VnnlibSpec>();
for (const { vnnlib } of INSTANCES) {
  if (!SPECS.has(vnnlib)) SPECS.set(vnnlib, parseVnnlib(readFileSync(join(ACAS, vnnlib), 'utf8'), vnnlib));
}

describe('vendored ACAS Xu data', () => {
  it('45 nets, 186 instances naming only vendored files', () => {
    expect(NETS).toHaveLength(45);
    expect(INSTANCES).toHaveLength(186);
    for (const i of INSTANCES) {
      expect(NETS).toContain(i.onnx);
      expect(i.timeout).toBeGreaterThan(0);
    }
    // properties 1–4 on all 45 nets, 5–10 on one net each (Katz et al. 2017, Reluplex, table 1 setup)
    const per = (p: string): number => INSTANCES.filter((i) => i.vnnlib === p).length;
    for (let p = 1; p <= 4; p++) expect(per(`prop_${p}.vnnlib`)).toBe(45);
    for (let p = 5; p <= 10; p++) expect(per(`prop_${p}.vnnlib`)).toBe(1);
  });

  it('published answers (nnenum, alpha-beta-CROWN) cover every instance once and never contradict', () => {
    const read = (tool: string): Map<string, { result: string; time: number }> => {
      const rows = readFileSync(join(ACAS, 'published', `${tool}.csv`), 'utf8').trim().split('\n').slice(1);
      const m = new Map<string, { result: string; time: number }>();
      for (const r of rows) {
        const [cat, onnx, vnnlib, , result, time] = r.split(',');
        expect(cat).toBe('acasxu');
        const key = `${onnx.split('/').pop()},${vnnlib.split('/').pop()}`;
        expect(m.has(key), `${tool}: ${key} twice`).toBe(false);
        m.set(key, { result, time: Number(time) });
      }
      return m;
    };
    const nnenum = read('nnenum'),
      abc = read('a-b-CROWN');
    // nnenum says holds/violated, alpha-beta-CROWN says UNSAT/SAT (of the unsafe set)
    const same: Record<string, string> = { holds: 'UNSAT', violated: 'SAT' };
    for (const i of INSTANCES) {
      const key = `${i.onnx},${i.vnnlib}`;
      const a = nnenum.get(key),
        b = abc.get(key);
      expect(a, key).toBeDefined();
      expect(b, key).toBeDefined();
      expect(['holds', 'violated']).toContain(a!.result);
      expect(b!.result).toBe(same[a!.result]);
      expect(a!.time).toBeGreaterThan(0);
    }
    expect(nnenum.size).toBe(186);
    expect(abc.size).toBe(186);
  });
});

describe('sampling agrees with the published answers (parser + importer + spec semantics end to end)', () => {
  it('no sampled point of a "holds" instance is unsafe; sampled counterexamples appear only in "violated" ones', () => {
    const published = new Map<string, string>();
    for (const r of readFileSync(join(ACAS, 'published', 'nnenum.csv'), 'utf8').trim().split('\n').slice(1)) {
      const [, onnx, vnnlib, , result] = r.split(',');
      published.set(`${onnx.split('/').pop()},${vnnlib.split('/').pop()}`, result);
    }
    const models = new Map(NETS.map((f) => [f, loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', f))), { file: f })]));
    const N = 500;
    const X = new Float64Array(N * 5);
    let violatedFound = 0;
    for (const inst of INSTANCES) {
      const spec = SPECS.get(inst.vnnlib)!;
      const r = rng(5);
      for (let p = 0; p < N; p++) {
        const b = spec.inputBoxes[p % spec.inputBoxes.length];
        for (let i = 0; i < 5; i++) X[p * 5 + i] = b.lo[i] + r.next() * (b.hi[i] - b.lo[i]);
      }
      const Y = models.get(inst.onnx)!.network.evaluate(X, N);
      let unsafe = 0;
      for (let p = 0; p < N; p++) {
        // the unsafe set: some clause whose every constraint Σ c_j·y_j + c0 (rel) 0 holds
        const hit = spec.outputDnf.some((cl) =>
          cl.every((c) => {
            let v = c.constant;
            for (let j = 0; j < 5; j++) v += c.coeffs[j] * Y[p * 5 + j];
            return c.relation === '<=' ? v <= 0 : c.relation === '>=' ? v >= 0 : v === 0;
          }),
        );
        if (hit) unsafe++;
      }
      const answer = published.get(`${inst.onnx},${inst.vnnlib}`);
      if (unsafe > 0) {
        expect(answer, `${inst.onnx} ${inst.vnnlib}: ${unsafe} sampled counterexamples, published ${answer}`).toBe('violated');
        violatedFound++;
      }
    }
    // random sampling is not complete, but it must find some of the 47 published violations
    expect(violatedFound).toBeGreaterThan(0);
  });
});

describe('every ACAS Xu ONNX net loads and matches onnxruntime-web in its property boxes', () => {
  for (const [n, file] of NETS.entries()) {
    it(file, async () => {
      const bytes = new Uint8Array(readFileSync(join(ACAS, 'onnx', file)));
      const model = loadOnnxModel(bytes, { file });
      const net = model.network;
      expect(net.nIn).toBe(5);
      expect(net.nOut).toBe(5);
      // input_Sub (a zero constant: the nets carry no normalization), then 6×(dense, relu), dense
      const ops = model.graph.nodes.map((nd) => (nd.op.type === 'unary' ? nd.op.fn : nd.op.type));
      expect(ops).toEqual(['binary_const', ...Array.from({ length: 6 }, () => ['dense', 'relu']).flat(), 'dense']);
      const sub = model.graph.nodes[0].op;
      expect(sub.type === 'binary_const' && Array.from(sub.constant).every((c) => c === 0)).toBe(true);
      const dense = model.graph.nodes.filter((nd) => nd.op.type === 'dense');
      expect(dense.map((d) => (d.op.type === 'dense' ? d.op.units : 0))).toEqual([50, 50, 50, 50, 50, 50, 5]);

      const boxes = INSTANCES.filter((i) => i.onnx === file).flatMap((i) => SPECS.get(i.vnnlib)!.inputBoxes);
      expect(boxes.length).toBeGreaterThan(0);
      const shape = (model.metadata.extra as { onnx: { inputShapes: Record<string, (number | string)[]> } }).onnx.inputShapes.input;
      expect(shape).toEqual([1, 1, 1, 5]);
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const r = rng(1000 + n);
      try {
        for (let p = 0; p < 8; p++) {
          const box = boxes[p % boxes.length];
          const x = new Float64Array(5);
          for (let i = 0; i < 5; i++) x[i] = Math.fround(box.lo[i] + r.next() * (box.hi[i] - box.lo[i]));
          const res = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, 1, 1, 5]) });
          const theirs = Object.values(res)[0].data as Float32Array;
          const ours = net.evaluate(x, 1);
          let scale = 0;
          for (let j = 0; j < 5; j++) scale = Math.max(scale, Math.abs(theirs[j]));
          for (let j = 0; j < 5; j++) {
            // onnxruntime sums in float32: normwise agreement, as in test/onnx.test.ts
            expect(Math.abs(ours[j] - theirs[j]), `${file} point ${p} output ${j}: ${ours[j]} vs ${theirs[j]}`).toBeLessThanOrEqual(
              1e-5 * scale + 1e-6,
            );
          }
        }
      } finally {
        await session.release();
      }
    });
  }
});
