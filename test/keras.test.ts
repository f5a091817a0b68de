/**
 * Keras importer: the genuine files in test/fixtures/third-party (keras-h5, keras-v3), the exporters'
 * own reference outputs where they exist, hand computations from the raw weights where they
 * do not, and configs built here around genuine weight files to cover each layer.
 */
import { readFileSync } from 'node:fs';
import { strToU8, unzipSync, zipSync } from 'fflate';
import * as hdf5 from 'jsfive';
import { expectRowsClose, thrownNetinvertError } from './util/expect.ts';
import { describe, expect, it } from 'vitest';
import { loadKerasModel } from '../src/formats/keras/load.ts';
import { erf, nextDown, nextUp } from '../src/index.ts';
import type { Model } from '../src/model.ts';

const FIX = new URL('./fixtures/third-party/', import.meta.url);
const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(new URL(rel, FIX)));
const load = (rel: string): Model => loadKerasModel(read(rel), { file: rel.split('/').pop() });

// ── helpers ────────────────────────────────────────────────────────────────────────────

interface Raw {
  shape: number[];
  values: number[];
}

/** Every dataset of an HDF5 file by path ('\' in link names turned into '/'), read with jsfive. */
function h5Datasets(bytes: Uint8Array): Map<string, Raw> {
  const f = new hdf5.File(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, 'x');
  const out = new Map<string, Raw>();
  const walk = (g: hdf5.Group, prefix: string): void => {
    for (const k of g.keys) {
      const c = g.get(k);
      const p = `${prefix}${k.replace(/\\/g, '/')}`;
      if (c instanceof hdf5.Dataset) out.set(p, { shape: c.shape, values: Array.from(c.value as ArrayLike<number>) });
      else if (c instanceof hdf5.Group) walk(c, `${p}/`);
    }
  };
  walk(f, '');
  return out;
}

function archiveWeights(rel: string): Map<string, Raw> {
  return h5Datasets(unzipSync(read(rel))['model.weights.h5']);
}

/** Seeded inputs in [-2, 2]. */
function inputs(rows: number, width: number, seed = 7): number[][] {
  let a = seed >>> 0;
  const r = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: rows }, () => Array.from({ length: width }, () => -2 + 4 * r()));
}

/** x·W + b, W in Keras layout [in, out] (row-major). */
function dense(x: number[], W: Raw, b?: Raw): number[] {
  const [n, m] = W.shape;
  expect(x.length).toBe(n);
  return Array.from({ length: m }, (_, j) => {
    let s = b ? b.values[j] : 0;
    for (let i = 0; i < n; i++) s += x[i] * W.values[i * m + j];
    return s;
  });
}

const relu = (v: number[]): number[] => v.map((z) => Math.max(0, z));

function evaluate(model: Model, rows: number[][]): number[][] {
  const nIn = model.network.nIn;
  const X = Float64Array.from(rows.flat());
  expect(X.length).toBe(rows.length * nIn);
  const Y = model.network.evaluate(X, rows.length);
  const nOut = model.network.nOut;
  return rows.map((_, r) => Array.from(Y.subarray(r * nOut, (r + 1) * nOut)));
}



/** A .keras archive around `config`, reusing a genuine weights file (Keras 3.3.3 by default). */
function makeKeras(config: object, opts: { weightsFrom?: string; version?: string } = {}): Uint8Array {
  const weights = unzipSync(read(`keras-v3/${opts.weightsFrom ?? 'keras_linear_131_relu.keras'}`))['model.weights.h5'];
  return zipSync({
    'metadata.json': strToU8(JSON.stringify({ keras_version: opts.version ?? '3.3.3', date_saved: '2024-01-01@00:00:00' })),
    'config.json': strToU8(JSON.stringify(config)),
    'model.weights.h5': weights,
  });
}

const layer = (cls: string, name: string, config: object = {}): object => ({
  module: 'keras.layers',
  class_name: cls,
  config: { name, trainable: true, dtype: 'float32', ...config },
  registered_name: null,
});

/** Keras 3 Sequential with an InputLayer of the given feature shape. */
const sequential = (shape: number[], layers: object[]): object => ({
  module: 'keras',
  class_name: 'Sequential',
  config: {
    name: 'built_here',
    trainable: true,
    dtype: 'float32',
    layers: [layer('InputLayer', 'input_layer', { batch_shape: [null, ...shape], sparse: false }), ...layers],
  },
  registered_name: null,
});

// ── every genuine fixture: loaded, or refused with a coded error ────────────────────────

describe('genuine Keras fixtures', () => {
  // Loaded: every model file. Refused: the two *_inputs_and_outputs.h5, which hold the DL4J
  // generator's reference arrays, not a model (no model_config attribute).
  // KerasTestNetwork.h5 is Keras 1.2.1: loaded, since it only has Dense layers, whose maths and
  // weight layout did not change in Keras 2 (only key names: output_dim, init, bias).
  const table: { file: string; nIn: number; nOut: number; inputs: string; outputs: string }[] = [
    { file: 'keras-h5/LeakyReLU_0_model.h5', nIn: 16, nOut: 32, inputs: 'dense_input', outputs: 'leaky_re_lu_1' },
    { file: 'keras-h5/ReLU_2_model.h5', nIn: 16, nOut: 32, inputs: 'dense_input', outputs: 're_lu_1' },
    { file: 'keras-h5/mlp_14.h5', nIn: 3, nOut: 6, inputs: 'input_15', outputs: 'dropout_14' },
    { file: 'keras-h5/dense_tensorflow_2.h5', nIn: 4, nOut: 6, inputs: 'dense_1_input', outputs: 'dense_1' },
    { file: 'keras-h5/KerasTestNetwork.h5', nIn: 5, nOut: 5, inputs: 'dense_1_input', outputs: 'dense_7' },
    { file: 'keras-v3/diabetes.keras', nIn: 10, nOut: 1, inputs: 'dense_21_input', outputs: 'dense_23' },
    { file: 'keras-v3/idaes_keras_model.keras', nIn: 2, nOut: 13, inputs: 'dense_input', outputs: 'dense_2' },
    { file: 'keras-v3/keras_linear_131_relu.keras', nIn: 1, nOut: 1, inputs: 'input_layer_6', outputs: 'dense_13' },
    { file: 'keras-v3/keras_linear_131_sigmoid_softplus_output_activation.keras', nIn: 1, nOut: 1, inputs: 'input_layer_8', outputs: 'dense_17' },
    { file: 'keras-v3/keras_linear_2353.keras', nIn: 2, nOut: 3, inputs: 'input_layer_10', outputs: 'dense_24' },
  ];
  it.each(table)('$file loads', ({ file, nIn, nOut, inputs: inName, outputs: outName }) => {
    const m = load(file);
    expect(m.network.nIn).toBe(nIn);
    expect(m.network.nOut).toBe(nOut);
    expect(m.network.inputNames[0]).toBe(nIn === 1 ? inName : `${inName}[0]`);
    expect(m.network.outputNames[0]).toBe(nOut === 1 ? outName : `${outName}[0]`);
    expect(m.metadata.source?.format).toMatch(/^keras/);
    expect(m.hash).toMatch(/^fnv1a:/);
  });

  it.each(['keras-h5/LeakyReLU_0_inputs_and_outputs.h5', 'keras-h5/ReLU_2_inputs_and_outputs.h5'])(
    '%s is refused: reference data, not a model',
    (file) => {
      const e = thrownNetinvertError(() => load(file));
      expect(e.code).toBe('bad_model_file');
      expect(e.message).toContain(file.split('/')[1]);
      expect(e.message).toMatch(/test data.*not a Keras model/);
    },
  );
});

// ── the exporters' own reference outputs ────────────────────────────────────────────────

describe('reference outputs saved by the Keras test generator', () => {
  function reference(name: string, output: string): { x: number[][]; y: number[][]; pre: number[][] } {
    const d = h5Datasets(read(`keras-h5/${name}_inputs_and_outputs.h5`));
    const rows = (r: Raw): number[][] => Array.from({ length: r.shape[0] }, (_, i) => r.values.slice(i * r.shape[1], (i + 1) * r.shape[1]));
    return { x: rows(d.get('inputs/dense_input')!), y: rows(d.get(`outputs/${output}`)!), pre: rows(d.get('activations/dense')!) };
  }

  it('LeakyReLU_0 (Dense 16→32, LeakyReLU alpha 0.5) matches to 1e-5', () => {
    const m = load('keras-h5/LeakyReLU_0_model.h5');
    const ref = reference('LeakyReLU_0', 'leaky_re_lu_1');
    expect(m.graph.nodes.find((n) => n.name === 'leaky_re_lu_1')?.op).toEqual({ type: 'unary', fn: 'leaky_relu', params: { alpha: 0.5 } });
    expectRowsClose(evaluate(m, ref.x), ref.y);
  });

  it('ReLU_2 (ReLU max_value 1.4, negative_slope 0.2, threshold 0.2) matches to 1e-5', () => {
    const m = load('keras-h5/ReLU_2_model.h5');
    const ref = reference('ReLU_2', 're_lu_1');
    const t = Math.fround(0.2);
    // The reference exercises both sides of the threshold jump.
    const pre = ref.pre.flat();
    expect(pre.some((z) => z <= t)).toBe(true);
    expect(pre.some((z) => z > t)).toBe(true);
    expectRowsClose(evaluate(m, ref.x), ref.y);
  });
});

// ── hand computations where no reference outputs exist ─────────────────────────────────

describe('hand computation from the raw weights', () => {
  it('dense_tensorflow_2.h5 (Keras 2.1.3, list-style Sequential): kernel 0..23, bias 0..5', () => {
    const m = load('keras-h5/dense_tensorflow_2.h5');
    const dn = m.graph.nodes.find((n) => n.name === 'dense_1')!;
    expect(dn.op.type).toBe('dense');
    if (dn.op.type === 'dense') {
      expect(Array.from(dn.op.weight)).toEqual(Array.from({ length: 24 }, (_, i) => i));
      expect(Array.from(dn.op.bias!)).toEqual([0, 1, 2, 3, 4, 5]);
    }
    const xs = inputs(4, 4);
    const want = xs.map((x) => Array.from({ length: 6 }, (_, j) => x.reduce((s, xi, i) => s + xi * (6 * i + j), j)));
    expectRowsClose(evaluate(m, xs), want, 1e-12);
  });

  it('mlp_14.h5 (tf.keras 2.2.4, functional Model): Dense→relu→Dense→relu→Dropout', () => {
    const m = load('keras-h5/mlp_14.h5');
    const w = h5Datasets(read('keras-h5/mlp_14.h5'));
    const k16 = w.get('model_weights/dense_16/dense_16/kernel:0')!;
    const k17 = w.get('model_weights/dense_17/dense_17/kernel:0')!;
    expect(k16.shape).toEqual([3, 6]);
    expect(k17.shape).toEqual([6, 6]);
    expect(m.metadata.extra?.layers).toEqual([
      { name: 'input_15', class: 'InputLayer' },
      { name: 'dense_16', class: 'Dense' },
      { name: 'activation_10', class: 'Activation' },
      { name: 'dense_17', class: 'Dense' },
      { name: 'activation_11', class: 'Activation' },
      { name: 'dropout_14', class: 'Dropout' },
    ]);
    expect(m.metadata.warnings?.join(' ')).toMatch(/dropout_14.*Dropout.*inference/);
    const b16 = w.get('model_weights/dense_16/dense_16/bias:0')!;
    const b17 = w.get('model_weights/dense_17/dense_17/bias:0')!;
    const xs = inputs(6, 3);
    expectRowsClose(evaluate(m, xs), xs.map((x) => relu(dense(relu(dense(x, k16, b16)), k17, b17))));
  });

  it('KerasTestNetwork.h5 (Keras 1.2.1, Dense 5→45×6→5) is read with its Keras 1 key names', () => {
    const m = load('keras-h5/KerasTestNetwork.h5');
    const w = h5Datasets(read('keras-h5/KerasTestNetwork.h5'));
    expect(m.metadata.source?.version).toBe('1.2.1');
    const xs = inputs(5, 5);
    const want = xs.map((x) => {
      let h = x;
      for (let i = 1; i <= 7; i++) {
        h = dense(h, w.get(`model_weights/dense_${i}/dense_${i}_W`)!, w.get(`model_weights/dense_${i}/dense_${i}_b`)!);
        if (i < 7) h = relu(h);
      }
      return h;
    });
    expectRowsClose(evaluate(m, xs), want);
  });

  const act = (name: string) =>
    ({
      relu: (z: number) => Math.max(0, z),
      linear: (z: number) => z,
      tanh: Math.tanh,
      sigmoid: (z: number) => 1 / (1 + Math.exp(-z)),
      softplus: (z: number) => Math.log1p(Math.exp(z)),
    })[name]!;

  it.each([
    { file: 'keras-v3/diabetes.keras', acts: ['relu', 'relu', 'linear'] },
    { file: 'keras-v3/idaes_keras_model.keras', acts: ['tanh', 'tanh', 'linear'] },
    { file: 'keras-v3/keras_linear_131_relu.keras', acts: ['relu', 'linear'] },
    { file: 'keras-v3/keras_linear_131_sigmoid_softplus_output_activation.keras', acts: ['sigmoid', 'softplus'] },
    { file: 'keras-v3/keras_linear_2353.keras', acts: ['linear', 'linear', 'linear'] },
  ])('$file: layers/<class>[_k]/vars/<i> weights, activations $acts', ({ file, acts }) => {
    const m = load(file);
    const w = archiveWeights(file);
    const layers = acts.map((_, i) => {
      const g = i === 0 ? 'layers/dense' : `layers/dense_${i}`;
      return { W: w.get(`${g}/vars/0`)!, b: w.get(`${g}/vars/1`)! };
    });
    // Weight shapes chain from the input width to the output width.
    expect(layers[0].W.shape[0]).toBe(m.network.nIn);
    expect(layers[layers.length - 1].W.shape[1]).toBe(m.network.nOut);
    layers.forEach((l, i) => i > 0 && expect(l.W.shape[0]).toBe(layers[i - 1].W.shape[1]));
    const xs = inputs(5, m.network.nIn);
    const want = xs.map((x) => layers.reduce((h, l, i) => dense(h, l.W, l.b).map(act(acts[i])), x));
    expectRowsClose(evaluate(m, xs), want);
  });

  it('idaes_keras_model.keras: weights stored under Windows backslash names (layers\\dense)', () => {
    const f = unzipSync(read('keras-v3/idaes_keras_model.keras'))['model.weights.h5'];
    const h5 = new hdf5.File(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer, 'w');
    expect(h5.keys).toContain('layers\\dense');
    expect(load('keras-v3/idaes_keras_model.keras').metadata.source?.version).toBe('2.15.0');
  });
});

// ── layers and activations, in configs built around genuine weight files ──────────────

const SQRT1_2 = Math.SQRT1_2;
const sig = (z: number): number => 1 / (1 + Math.exp(-z));
const ACTIVATIONS: Record<string, (z: number) => number> = {
  relu: (z) => Math.max(0, z),
  sigmoid: sig,
  tanh: Math.tanh,
  softplus: (z) => Math.log1p(Math.exp(z)),
  softsign: (z) => z / (1 + Math.abs(z)),
  selu: (z) => 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * Math.expm1(z)),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  exponential: Math.exp,
  // Keras 3: relu6(x + 3) / 6
  hard_sigmoid: (z) => Math.min(6, Math.max(0, z + 3)) / 6,
  swish: (z) => z * sig(z),
  silu: (z) => z * sig(z),
  gelu: (z) => 0.5 * z * (1 + erf(z * SQRT1_2)),
  leaky_relu: (z) => (z > 0 ? z : 0.2 * z),
  relu6: (z) => Math.min(6, Math.max(0, z)),
  mish: (z) => z * Math.tanh(Math.log1p(Math.exp(z))),
  hard_silu: (z) => (z * Math.min(6, Math.max(0, z + 3))) / 6,
  log_sigmoid: (z) => -Math.log1p(Math.exp(-z)),
  linear: (z) => z,
};

describe('Dense activations (weights of keras_linear_131_relu.keras: Dense 1→3, Dense 3→1)', () => {
  const w = archiveWeights('keras-v3/keras_linear_131_relu.keras');
  const W0 = w.get('layers/dense/vars/0')!,
    b0 = w.get('layers/dense/vars/1')!,
    W1 = w.get('layers/dense_1/vars/0')!,
    b1 = w.get('layers/dense_1/vars/1')!;
  const xs = [[-3.1], [-1.2], [-0.4], [0], [0.35], [1.7], [4.2]];
  const model = (activation: unknown, version?: string): Model =>
    loadKerasModel(
      makeKeras(
        sequential([1], [layer('Dense', 'd0', { units: 3, activation, use_bias: true }), layer('Dense', 'd1', { units: 1, activation: 'linear' })]),
        { version },
      ),
      { file: 'built.keras' },
    );
  const expected = (f: (z: number) => number): number[][] => xs.map((x) => dense(dense(x, W0, b0).map(f), W1, b1));

  it.each(Object.keys(ACTIVATIONS))('%s', (name) => {
    expectRowsClose(evaluate(model(name), xs), expected(ACTIVATIONS[name]), 1e-12);
  });

  it('hard_sigmoid follows the file: Keras 2 (tf.keras 2.15 .keras) uses 0.2x + 0.5', () => {
    const m = model('hard_sigmoid', '2.15.0');
    expectRowsClose(evaluate(m, xs), expected((z) => Math.min(1, Math.max(0, 0.2 * z + 0.5))), 1e-12);
  });

  it('gelu with approximate: true (serialized function object) uses the tanh form', () => {
    const m = model({ module: 'keras.activations', class_name: 'gelu', config: { approximate: true }, registered_name: null });
    const c = Math.sqrt(2 / Math.PI);
    expectRowsClose(evaluate(m, xs), expected((z) => 0.5 * z * (1 + Math.tanh(c * (z + 0.044715 * z ** 3)))), 1e-12);
  });

  it('a serialized {class_name: "function", config: "tanh"} activation reads as tanh', () => {
    const m = model({ module: 'builtins', class_name: 'function', config: 'tanh', registered_name: 'function' });
    expectRowsClose(evaluate(m, xs), expected(Math.tanh), 1e-12);
  });

  it('softmax and log_softmax over the 3 units', () => {
    const sm = (v: number[]): number[] => {
      const mx = Math.max(...v);
      const e = v.map((z) => Math.exp(z - mx));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((z) => z / s);
    };
    const m = loadKerasModel(makeKeras(sequential([1], [layer('Dense', 'd0', { units: 3, activation: 'softmax' })])), { file: 'sm.keras' });
    expectRowsClose(evaluate(m, xs), xs.map((x) => sm(dense(x, W0, b0))), 1e-12);
    const ml = loadKerasModel(makeKeras(sequential([1], [layer('Dense', 'd0', { units: 3, activation: 'log_softmax' })])), { file: 'lsm.keras' });
    expectRowsClose(evaluate(ml, xs), xs.map((x) => sm(dense(x, W0, b0)).map(Math.log)), 1e-12);
  });

  it('an unknown activation is refused, naming it, the layer and the file', () => {
    const e = thrownNetinvertError(() => model('tanh_shrink_custom'));
    expect(e.code).toBe('unsupported_op');
    expect(e.message).toMatch(/built\.keras.*"d0" \(Dense\).*tanh_shrink_custom/);
  });
});

describe('activation layers (weightless; probes at the kinks)', () => {
  const run = (shape: number[], layers: object[], rows: number[][], version?: string): number[][] => {
    const m = loadKerasModel(makeKeras(sequential(shape, layers), { version }), { file: 'layers.keras' });
    return evaluate(m, rows);
  };

  /** keras.backend.relu as Keras 2.3 / Keras 3 compute it. */
  function kerasRelu(x: number, alpha: number, max: number | null, t: number): number {
    const negative = alpha !== 0 ? Math.max(t - x, 0) : 0;
    let y = t !== 0 ? (x > t ? x : 0) : Math.max(x, 0);
    if (max !== null) y = Math.min(Math.max(y, 0), max);
    return y - alpha * negative;
  }

  it.each([
    { alpha: 0.2, max: 1.4, t: 0.2 },
    { alpha: 0, max: 6, t: 0 },
    { alpha: 0.1, max: null, t: 0 },
    { alpha: 0.3, max: 2, t: 0 },
    { alpha: 0, max: null, t: 0.5 },
    { alpha: 0.2, max: null, t: -0.5 },
    { alpha: 0.5, max: 1, t: 1.5 },
    { alpha: 0, max: null, t: 0 },
    { alpha: 0.25, max: 3, t: 1e-7 },
  ])('ReLU(max_value $max, negative_slope $alpha, threshold $t) is exact', ({ alpha, max, t }) => {
    const M = max ?? 4;
    const probes = [-3, -0.5, t - 1e-9, nextDown(t), t, nextUp(t), t + 1e-9, 0, nextDown(M), M, nextUp(M), 5, 0.3, -1e-300, 1e-300, 1e300, -1e300];
    const got = run([probes.length], [layer('ReLU', 'r', { max_value: max, negative_slope: alpha, threshold: t })], [probes])[0];
    probes.forEach((x, i) => {
      const want = kerasRelu(x, alpha, max, t);
      expect(Math.abs(got[i] - want), `x = ${x}: got ${got[i]}, want ${want}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(want)));
    });
  });

  it.each([1, -0.5, 0])('ThresholdedReLU(theta %s) = x·[x > θ], exactly at θ', (theta) => {
    const probes = [-2, nextDown(theta), theta, nextUp(theta), 0.7, 3, -1e-300];
    const got = run([probes.length], [layer('ThresholdedReLU', 'tr', { theta })], [probes], '2.15.0')[0];
    probes.forEach((x, i) => expect(got[i]).toBeCloseTo(x > theta ? x : 0, 12));
  });

  it('LeakyReLU reads Keras 3 negative_slope and Keras 2 alpha; ELU reads alpha', () => {
    const x = [[-2, -0.5, 0, 0.5, 2]];
    expect(run([5], [layer('LeakyReLU', 'l', { negative_slope: 0.15 })], x)[0]).toEqual([-0.3, -0.075, 0, 0.5, 2]);
    expect(run([5], [layer('LeakyReLU', 'l', { alpha: 0.5 })], x, '2.15.0')[0]).toEqual([-1, -0.25, 0, 0.5, 2]);
    expect(run([5], [layer('LeakyReLU', 'l', {})], x)[0][0]).toBeCloseTo(-0.6, 14);
    const elu = run([5], [layer('ELU', 'e', { alpha: 0.7 })], x)[0];
    x[0].forEach((v, i) => expect(elu[i]).toBeCloseTo(v > 0 ? v : 0.7 * Math.expm1(v), 14));
  });

  it('Activation layer, Softmax layer and Dropout family (skipped with a warning)', () => {
    const x = [[-1, 0.5, 2]];
    const m = loadKerasModel(
      makeKeras(
        sequential(
          [3],
          [
            layer('Dropout', 'drop', { rate: 0.5 }),
            layer('Activation', 'act', { activation: 'softsign' }),
            layer('GaussianNoise', 'noise', { stddev: 0.1 }),
            layer('AlphaDropout', 'adrop', { rate: 0.1 }),
            layer('Softmax', 'sm', { axis: -1 }),
          ],
        ),
      ),
      { file: 'act.keras' },
    );
    const s = x[0].map((v) => v / (1 + Math.abs(v)));
    const e = s.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    expectRowsClose(evaluate(m, x), [e.map((v) => v / sum)], 1e-14);
    expect(m.metadata.warnings).toHaveLength(3);
    expect(m.metadata.warnings!.join('\n')).toMatch(/"drop" \(Dropout\)[\s\S]*"noise" \(GaussianNoise\)[\s\S]*"adrop" \(AlphaDropout\)/);
  });

  it('Reshape and Flatten keep the flat feature order; Rescaling and Normalization are affine', () => {
    const x = [[1, 2, 3, 4, 5, 6]];
    const m = loadKerasModel(
      makeKeras(
        sequential(
          [2, 3],
          [
            layer('Reshape', 'rs', { target_shape: [3, -1] }),
            layer('Rescaling', 'sc', { scale: 0.5, offset: -1 }),
            layer('Flatten', 'fl', { data_format: 'channels_last' }),
            layer('Normalization', 'norm', { axis: -1, mean: [1, 2, 3, 4, 5, 6], variance: [4, 4, 4, 1, 1, 1], invert: false }),
          ],
        ),
      ),
      { file: 'shape.keras' },
    );
    expect(m.network.nIn).toBe(6);
    expect(m.network.outputNames).toEqual(['norm[0]', 'norm[1]', 'norm[2]', 'norm[3]', 'norm[4]', 'norm[5]']);
    const mean = [1, 2, 3, 4, 5, 6],
      sd = [2, 2, 2, 1, 1, 1];
    expectRowsClose(evaluate(m, x), [x[0].map((v, i) => (0.5 * v - 1 - mean[i]) / sd[i])], 1e-14);
  });

  it('Flatten with data_format channels_first moves the channel axis last', () => {
    const x = [[1, 2, 3, 4, 5, 6]]; // shape [2 channels, 3]
    const got = run([2, 3], [layer('Flatten', 'fl', { data_format: 'channels_first' })], x)[0];
    expect(got).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('Keras 3 functional model (inbound_nodes as {args, kwargs}) with merges', () => {
  // Weights: keras_linear_2353.keras holds layers/dense [2,3], layers/dense_1 [3,5], layers/dense_2 [5,3].
  // The layers here are named otherwise, so they are found by class counter, as Keras 3 stores them.
  const tensor = (from: string, shape: number[]): object => ({
    class_name: '__keras_tensor__',
    config: { shape: [null, ...shape], dtype: 'float32', keras_history: [from, 0, 0] },
  });
  const fl = (cls: string, name: string, config: object, args: unknown[]): object => ({
    ...layer(cls, name, config),
    name,
    inbound_nodes: [{ args, kwargs: {} }],
  });
  const config = {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'merges',
      trainable: true,
      layers: [
        { ...layer('InputLayer', 'inp', { batch_shape: [null, 2], sparse: false }), name: 'inp', inbound_nodes: [] },
        fl('Dense', 'first', { units: 3, activation: 'tanh' }, [tensor('inp', [2])]),
        fl('Dense', 'second', { units: 5, activation: 'relu' }, [tensor('first', [3])]),
        fl('Dense', 'third', { units: 3, activation: 'linear' }, [tensor('second', [5])]),
        fl('Add', 'plus', {}, [[tensor('first', [3]), tensor('third', [3])]]),
        fl('Subtract', 'minus', {}, [[tensor('plus', [3]), tensor('first', [3])]]),
        fl('Multiply', 'times', {}, [[tensor('minus', [3]), tensor('third', [3])]]),
        fl('Average', 'mean', {}, [[tensor('times', [3]), tensor('plus', [3]), tensor('first', [3])]]),
        fl('Concatenate', 'joined', { axis: -1 }, [[tensor('mean', [3]), tensor('second', [5])]]),
      ],
      input_layers: ['inp', 0, 0],
      output_layers: [['joined', 0, 0], ['third', 0, 0]],
    },
  };

  it('matches a hand computation', () => {
    const m = loadKerasModel(makeKeras(config, { weightsFrom: 'keras_linear_2353.keras' }), { file: 'merges.keras' });
    const w = archiveWeights('keras-v3/keras_linear_2353.keras');
    const L = (g: string) => ({ W: w.get(`layers/${g}/vars/0`)!, b: w.get(`layers/${g}/vars/1`)! });
    const [d0, d1, d2] = [L('dense'), L('dense_1'), L('dense_2')];
    const xs = inputs(5, 2);
    const want = xs.map((x) => {
      const first = dense(x, d0.W, d0.b).map(Math.tanh);
      const second = relu(dense(first, d1.W, d1.b));
      const third = dense(second, d2.W, d2.b);
      const plus = first.map((v, i) => v + third[i]);
      const minus = plus.map((v, i) => v - first[i]);
      const times = minus.map((v, i) => v * third[i]);
      const mean = times.map((v, i) => (v + plus[i] + first[i]) / 3);
      return [...mean, ...second, ...third];
    });
    expect(m.network.inputNames).toEqual(['inp[0]', 'inp[1]']);
    expect(m.network.outputNames.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => `joined[${i}]`));
    expect(m.network.outputNames.slice(8)).toEqual(['third[0]', 'third[1]', 'third[2]']);
    expectRowsClose(evaluate(m, xs), want, 1e-12);
  });
});
