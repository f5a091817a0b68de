/**
 * TF.js importer: the genuine files in test/fixtures/third-party/tfjs-layers, the fixtures saved by
 * @tensorflow/tfjs itself (scripts/fixtures/make_tfjs_fixtures.ts → test/fixtures/tfjs), and a
 * live cross-check against tfjs `predict` on the same model.json + weights.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectRowsClose, thrownNetinvertError } from './util/expect.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { loadTfjsModel } from '../src/formats/tfjs/load.ts';
import type { Model } from '../src/model.ts';

const SHARED = new URL('./fixtures/third-party/tfjs-layers/', import.meta.url);
const OWN = new URL('./fixtures/tfjs/', import.meta.url);

interface Files {
  json: string;
  shards: Map<string, Uint8Array>;
}

function readDir(base: URL, dir: string): Files {
  const url = new URL(`${dir}/`, base);
  const json = readFileSync(new URL('model.json', url), 'utf8');
  const shards = new Map<string, Uint8Array>();
  for (const g of JSON.parse(json).weightsManifest) for (const p of g.paths) shards.set(p, new Uint8Array(readFileSync(new URL(p, url))));
  return { json, shards };
}

const load = (f: Files, file = 'model.json'): Model =>
  loadTfjsModel(
    f.json,
    (p) => {
      const b = f.shards.get(p);
      if (!b) throw new Error(`no such file: ${p}`);
      return b;
    },
    { file },
  );

/** The same files through tfjs: shards concatenated in manifest order, as tfjs' loaders do. */
async function tfjsModel(f: Files): Promise<tf.LayersModel> {
  const mj = JSON.parse(f.json);
  const weightSpecs = mj.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const parts = mj.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => f.shards.get(p)!));
  const total = parts.reduce((a: number, p: Uint8Array) => a + p.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) data.set(p, o), (o += p.length);
  const handler: tf.io.IOHandler = {
    load: async () => ({ modelTopology: mj.modelTopology, weightSpecs, weightData: data.buffer, format: mj.format, generatedBy: mj.generatedBy }),
  };
  return tf.loadLayersModel(handler);
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per input: rows of values (float32-representable, so both sides see the same numbers). */
function randomInputs(model: Model, rows: number, seed: number, scale = 2): number[][][] {
  const r = rng(seed);
  return model.graph.inputs.map((inp) => Array.from({ length: rows }, () => Array.from({ length: inp.width }, () => Math.fround(scale * (2 * r() - 1)))));
}

/** Evaluate with inputs given per graph input; returns rows of all outputs concatenated. */
function evaluate(model: Model, perInput: number[][][]): number[][] {
  const rows = perInput[0].length;
  const X = new Float64Array(rows * model.network.nIn);
  let o = 0;
  for (let r = 0; r < rows; r++) for (const inp of perInput) for (const v of inp[r]) X[o++] = v;
  const Y = model.network.evaluate(X, rows);
  const n = model.network.nOut;
  return Array.from({ length: rows }, (_, r) => Array.from(Y.subarray(r * n, (r + 1) * n)));
}

async function tfjsPredict(m: tf.LayersModel, perInput: number[][][]): Promise<number[][]> {
  const xs = perInput.map((rows, i) => tf.tensor(rows.flat(), [rows.length, ...(m.inputs[i].shape.slice(1) as number[])]));
  const out = m.predict(xs.length === 1 ? xs[0] : xs);
  const ys = Array.isArray(out) ? out : [out];
  const rows = perInput[0].length;
  const flat = ys.map((y) => Array.from(y.dataSync()));
  return Array.from({ length: rows }, (_, r) => flat.flatMap((f) => f.slice((r * f.length) / rows, ((r + 1) * f.length) / rows)));
}



beforeAll(async () => {
  await tf.setBackend('cpu');
});

// ── genuine files ──────────────────────────────────────────────────────────────────────

describe('genuine TF.js fixtures', () => {
  // Both load: mlp (tfjs-layers 1.1.0, list-style Sequential) and abalone (tfjs 1.2.9/1.3.2,
  // dict-style Sequential). The mlp.* JSON files next to mlp/ are its reference data.
  it('mlp: structure, weight shapes and the reference outputs saved by tfjs (1e-5)', () => {
    const m = load(readDir(SHARED, 'mlp'), 'mlp/model.json');
    expect(m.network.nIn).toBe(200);
    expect(m.network.outputNames).toEqual(Array.from({ length: 8 }, (_, i) => `dense_Dense4[${i}]`));
    const ops = m.graph.nodes.map((n) => (n.op.type === 'unary' ? n.op.fn : n.op.type === 'dense' ? `dense${n.op.units}` : n.op.type));
    expect(ops).toEqual(['dense100', 'relu', 'dense50', 'elu', 'dense24', 'elu', 'dense8', 'softmax']);
    const d1 = m.graph.nodes[0].op;
    if (d1.type === 'dense') expect(d1.weight.length).toBe(200 * 100);
    expect(m.metadata.source).toMatchObject({ format: 'tfjs-layers', file: 'mlp/model.json', version: 'tfjs-layers 1.1.0' });

    const shapes = (f: string): number[][] => JSON.parse(readFileSync(new URL(f, SHARED), 'utf8'));
    expect(shapes('mlp.xs-shapes.json')).toEqual([[1, 200]]);
    expect(shapes('mlp.ys-shapes.json')).toEqual([[1, 8]]);
    const xs: number[] = JSON.parse(readFileSync(new URL('mlp.xs-data.json', SHARED), 'utf8')).flat();
    const ys: number[] = JSON.parse(readFileSync(new URL('mlp.ys-data.json', SHARED), 'utf8')).flat();
    expectRowsClose(evaluate(m, [[xs]]), [ys]);
  });

  it.each(['mlp', 'abalone-node-trainedModel'])('%s agrees with tfjs predict on random inputs (1e-5)', async (dir) => {
    const files = readDir(SHARED, dir);
    const m = load(files, `${dir}/model.json`);
    const ref = await tfjsModel(files);
    const xs = randomInputs(m, 12, 11);
    expectRowsClose(evaluate(m, xs), await tfjsPredict(ref, xs));
  });

  it('abalone: dict-style Sequential, sigmoid layers, weight shapes from the manifest', () => {
    const files = readDir(SHARED, 'abalone-node-trainedModel');
    const m = load(files);
    expect(m.network.inputNames).toEqual(Array.from({ length: 8 }, (_, i) => `dense_Dense1_input[${i}]`));
    expect(m.network.outputNames).toEqual(['dense_Dense3']);
    expect(m.metadata.name).toBe('sequential_1');
    expect(m.metadata.source?.producer).toBe('TensorFlow.js tfjs-layers v1.3.2');
    const shapes = m.graph.nodes.filter((n) => n.op.type === 'dense').map((n) => (n.op.type === 'dense' ? [n.op.weight.length / n.op.units, n.op.units] : []));
    expect(shapes).toEqual([
      [8, 50],
      [50, 50],
      [50, 1],
    ]);
  });

  it('abalone: agrees with a hand computation from the raw float32 shard', () => {
    const files = readDir(SHARED, 'abalone-node-trainedModel');
    const bin = files.shards.get('weights.bin')!;
    const f32 = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    expect(f32.length).toBe(8 * 50 + 50 + 50 * 50 + 50 + 50 + 1);
    let at = 0;
    const take = (n: number): Float32Array => f32.subarray(at, (at += n));
    const layers = [
      { n: 8, m: 50, act: (z: number) => 1 / (1 + Math.exp(-z)) },
      { n: 50, m: 50, act: (z: number) => 1 / (1 + Math.exp(-z)) },
      { n: 50, m: 1, act: (z: number) => z },
    ].map((l) => ({ ...l, W: take(l.n * l.m), b: take(l.m) }));
    const m = load(files);
    const xs = randomInputs(m, 6, 5);
    const want = xs[0].map((x) =>
      layers.reduce((h, l) => Array.from({ length: l.m }, (_, j) => l.act(h.reduce((s, v, i) => s + v * l.W[i * l.m + j], l.b[j]))), x),
    );
    expectRowsClose(evaluate(m, xs), want);
  });
});

// ── fixtures written by @tensorflow/tfjs through a save handler ───────────────────────────

describe('fixtures saved by @tensorflow/tfjs (test/fixtures/tfjs)', () => {
  const names = readdirSync(OWN).sort();

  it('are all present and small', () => {
    expect(names).toEqual(['activation_layers', 'activations', 'batchnorm', 'functional', 'rank2']);
    let total = 0;
    for (const n of names) for (const f of readdirSync(new URL(`${n}/`, OWN))) total += readFileSync(new URL(`${n}/${f}`, OWN)).length;
    expect(total).toBeLessThan(200_000);
  });

  it.each(names)('%s matches the outputs tfjs saved with it and tfjs predict on new inputs (1e-5)', async (name) => {
    const files = readDir(OWN, name);
    const m = load(files, `${name}/model.json`);
    const io = JSON.parse(readFileSync(new URL(`${name}/io.json`, OWN), 'utf8')) as {
      inputs: Record<string, number[][]>;
      outputs: Record<string, number[][]>;
    };
    expect(m.graph.inputs.map((i) => i.name)).toEqual(Object.keys(io.inputs));
    expect(m.graph.outputs.map((o) => o.name ?? o.node)).toEqual(Object.keys(io.outputs));
    const saved = Object.values(io.outputs);
    const expected = saved[0].map((_, r) => saved.flatMap((o) => o[r]));
    expectRowsClose(evaluate(m, Object.values(io.inputs)), expected);

    const ref = await tfjsModel(files);
    const xs = randomInputs(m, 16, 100 + name.length, 3);
    expectRowsClose(evaluate(m, xs), await tfjsPredict(ref, xs));
  });

  it('batchnorm: BatchNormalization folds into the Dense before it; after an activation it stays affine', () => {
    const m = load(readDir(OWN, 'batchnorm'));
    const ops = m.graph.nodes.map((n) => `${n.name}:${n.op.type === 'unary' ? n.op.fn : n.op.type}`);
    // d1 (linear) → bn1 folds into one dense node named bn1; bn_nocenter follows tanh, bn_noscale follows sigmoid.
    expect(ops).toEqual(['bn1:dense', 'act1:relu', 'd2/pre:dense', 'd2:tanh', 'bn_nocenter:affine', 'd3/pre:dense', 'd3:sigmoid', 'bn_noscale:affine', 'out:dense']);
    expect(m.metadata.warnings).toEqual(['model.json: layer "drop" (Dropout) does nothing at inference and was skipped']);
  });

  it('functional: two inputs, two outputs, weights split over two shards', () => {
    const files = readDir(OWN, 'functional');
    expect([...files.shards.keys()]).toEqual(['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    const m = load(files);
    expect(m.network.inputNames).toEqual(['a[0]', 'a[1]', 'a[2]', 'b[0]', 'b[1]']);
    expect(m.network.outputNames).toEqual(['y1[0]', 'y1[1]', 'y2']);
  });
});

// ── spellings of the same model ──────────────────────────────────────────────────────────

describe('model.json variants', () => {
  const files = readDir(SHARED, 'abalone-node-trainedModel');
  const base = load(files);
  const xs = randomInputs(base, 4, 3);
  const want = evaluate(base, xs);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const variant = (edit: (mj: any) => unknown): Model => {
    const mj = JSON.parse(files.json);
    const out = edit(mj) ?? mj;
    return loadTfjsModel(out as object, (p) => files.shards.get(p)!, { file: 'variant.json' });
  };

  it('a parsed object works like the text', () => {
    expect(evaluate(variant(() => undefined), xs)).toEqual(want);
  });

  it('list-style Sequential config reads like the dict style', () => {
    const m = variant((mj) => {
      mj.modelTopology.config = mj.modelTopology.config.layers;
    });
    expect(evaluate(m, xs)).toEqual(want);
  });

  it("the Python converter's nesting (modelTopology.model_config) reads the same", () => {
    const m = variant((mj) => {
      mj.modelTopology = { keras_version: '2.4.0', backend: 'tensorflow', model_config: mj.modelTopology, training_config: {} };
      mj.generatedBy = 'keras v2.4.0';
      mj.convertedBy = 'TensorFlow.js Converter v3.0.0';
    });
    expect(evaluate(m, xs)).toEqual(want);
    expect(m.metadata.source?.producer).toBe('keras v2.4.0');
  });

  it('uint8 and float16 quantized weights decode as tfjs decodes them', async () => {
    // Quantize abalone's weights as tensorflowjs_converter would (uint8 affine, float16), then
    // check both against tfjs loading the same quantized files.
    const mj = JSON.parse(files.json);
    const src = files.shards.get('weights.bin')!;
    const f32 = new Float32Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength));
    const chunks: number[] = [];
    let at = 0;
    mj.weightsManifest[0].weights.forEach((w: { shape: number[]; quantization?: object }, i: number) => {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const vals = f32.subarray(at, at + n);
      at += n;
      if (i % 2 === 0) {
        const min = Math.min(...vals),
          max = Math.max(...vals);
        const scale = (max - min) / 255 || 1;
        w.quantization = { dtype: 'uint8', scale, min, original_dtype: 'float32' };
        for (const v of vals) chunks.push(Math.round((v - min) / scale));
      } else {
        w.quantization = { dtype: 'float16', original_dtype: 'float32' };
        for (const v of vals) {
          const half = toHalf(v);
          chunks.push(half & 0xff, half >> 8);
        }
      }
    });
    const q: Files = { json: JSON.stringify(mj), shards: new Map([['weights.bin', Uint8Array.from(chunks)]]) };
    const m = load(q, 'quantized.json');
    expectRowsClose(evaluate(m, xs), await tfjsPredict(await tfjsModel(q), xs));
  });
});

/** float → IEEE half (round to nearest), for building a float16-quantized shard. */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    return sign | Math.round(mant / 2 ** (14 - exp));
  }
  if (exp >= 31) return sign | 0x7c00;
  const h = sign | (exp << 10) | Math.round(mant / 8192);
  return h;
}

// ── refusals specific to TF.js files (hostile files are in keras-hostile.test.ts) ───────────

describe('weight shards read by the CLI loader (src/cli/loadModelFile.ts)', () => {
  // a copy of our own rank2 fixture in a temporary folder, its shard replaced by links
  const rank2 = new URL('rank2/', OWN);
  const setup = (): { dir: string; model: string; outside: string } => {
    const root = mkdtempSync(join(tmpdir(), 'ni-tfjs-link-'));
    const dir = join(root, 'model');
    mkdirSync(dir);
    const model = join(dir, 'model.json');
    copyFileSync(new URL('model.json', rank2), model);
    const outside = join(root, 'secret.bin');
    // a private file of a distinctive size, outside the model's folder
    writeFileSync(outside, new Uint8Array(123457));
    return { dir, model, outside };
  };

  it('the plain copy loads (so each refusal below is the link)', () => {
    const { dir, model } = setup();
    copyFileSync(new URL('weights.bin', rank2), join(dir, 'weights.bin'));
    expect(loadModelFile(model).network.nIn).toBe(10);
  });

  it('a shard that is a symlink to a file outside the folder is refused, without reading or measuring it', () => {
    const { dir, model, outside } = setup();
    symlinkSync(outside, join(dir, 'weights.bin'));
    const e = thrownNetinvertError(() => loadModelFile(model));
    expect(e.code).toBe('bad_model_file');
    expect(e.message).toMatch(/model\.json: weight shard "weights\.bin" is a link to a file outside the model's folder; refusing to read it/);
    expect(e.message).not.toMatch(/123457|secret/);
    // the same through a relative link, and /etc/passwd itself
    const { dir: d2, model: m2 } = setup();
    symlinkSync('../secret.bin', join(d2, 'weights.bin'));
    expect(thrownNetinvertError(() => loadModelFile(m2)).message).toMatch(/is a link to a file outside/);
    if (existsSync('/etc/passwd')) {
      const { dir: d3, model: m3 } = setup();
      symlinkSync('/etc/passwd', join(d3, 'weights.bin'));
      const p = thrownNetinvertError(() => loadModelFile(m3));
      expect(p.message).toMatch(/is a link to a file outside/);
      expect(p.message).not.toContain(String(statSync('/etc/passwd').size));
    }
  });

  it('a link that stays inside the folder, and a model folder reached through a link, still load', () => {
    const { dir, model } = setup();
    mkdirSync(join(dir, 'shards'));
    copyFileSync(new URL('weights.bin', rank2), join(dir, 'shards', 'w.bin'));
    symlinkSync(join('shards', 'w.bin'), join(dir, 'weights.bin'));
    expect(loadModelFile(model).network.nIn).toBe(10);
    const via = join(dirname(dir), 'alias');
    symlinkSync(dir, via);
    expect(loadModelFile(join(via, 'model.json')).network.nIn).toBe(10);
  });
});

describe('TF.js refusals', () => {
  const files = readDir(SHARED, 'abalone-node-trainedModel');

  it('a graph model is refused with what to convert to', () => {
    const e = thrownNetinvertError(() => loadTfjsModel({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }, () => new Uint8Array(), { file: 'g.json' }));
    expect(e.code).toBe('unsupported_format_version');
    expect(e.message).toMatch(/g\.json.*graph model.*tfjs_layers_model/);
  });

  it('a missing shard names the shard and says where it belongs', () => {
    const e = thrownNetinvertError(() =>
      loadTfjsModel(files.json, () => {
        throw new Error('ENOENT: no such file');
      }, { file: 'abalone/model.json' }),
    );
    expect(e.code).toBe('bad_model_file');
    expect(e.message).toMatch(/abalone\/model\.json.*"weights\.bin".*ENOENT.*next to model\.json/);
  });

  it('int32 weights are refused, naming the weight', () => {
    const mj = JSON.parse(files.json);
    mj.weightsManifest[0].weights[0].dtype = 'int32';
    const e = thrownNetinvertError(() => loadTfjsModel(mj, (p) => files.shards.get(p)!, { file: 'int.json' }));
    expect(e.code).toBe('bad_model_file');
    expect(e.message).toMatch(/int\.json.*"dense_Dense1\/kernel" of layer "dense_Dense1" \(Dense\).*int32.*float32/);
  });

  it('a layer whose weights are missing from the manifest is named', () => {
    const mj = JSON.parse(files.json);
    mj.weightsManifest[0].weights[2].name = 'other/kernel';
    mj.weightsManifest[0].weights[3].name = 'other/bias';
    const e = thrownNetinvertError(() => loadTfjsModel(mj, (p) => files.shards.get(p)!, { file: 'w.json' }));
    expect(e.code).toBe('bad_model_file');
    expect(e.message).toMatch(/w\.json.*"dense_Dense2" \(Dense\).*dense_Dense2\/kernel/);
  });
});
