/**
 * Hostile and broken Keras / TF.js files: each gives a coded NetinvertError, with no crash, no
 * hang, and no allocation sized by a lying header. One test per case; the damaged files are
 * made here from the genuine fixtures (byte patches of the same length, so the HDF5 structure
 * stays valid where a case needs it to).
 */
import { readFileSync } from 'node:fs';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NetinvertError, type ErrorCode } from '../src/errors.ts';
import { loadKerasModel } from '../src/formats/keras/load.ts';
import { loadTfjsModel } from '../src/formats/tfjs/load.ts';

const FIX = new URL('./fixtures/third-party/', import.meta.url);
const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(new URL(rel, FIX)));

function refusal(fn: () => unknown): NetinvertError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof NetinvertError)) throw new Error(`expected a NetinvertError, got ${String(caught)}`);
  return caught;
}

function expectRefused(fn: () => unknown, code: ErrorCode, ...mentions: (string | RegExp)[]): NetinvertError {
  const e = refusal(fn);
  expect(e.code, e.message).toBe(code);
  for (const m of mentions) {
    if (typeof m === 'string') expect(e.message).toContain(m);
    else expect(e.message).toMatch(m);
  }
  return e;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Replace every occurrence of `from` by `to` (same length); returns the count. */
function patch(bytes: Uint8Array, from: Uint8Array, to: Uint8Array): number {
  expect(to.length).toBe(from.length);
  let n = 0;
  for (let i = indexOf(bytes, from); i >= 0; i = indexOf(bytes, from, i + 1)) bytes.set(to, i), n++;
  return n;
}

const f32bytes = (v: number): Uint8Array => new Uint8Array(new Float32Array([v]).buffer);
const u64bytes = (v: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
};

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ── building archives by hand (so that headers can lie) ───────────────────────────────────

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(d: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < d.length; i++) c = CRC[(c ^ d[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface RawEntry {
  name: string;
  /** Bytes as stored (already deflated when method is 8). */
  stored: Uint8Array;
  method: 0 | 8;
  declaredSize: number;
  crc: number;
}

function zipRaw(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = strToU8(e.name);
    const h = new DataView(new ArrayBuffer(30));
    h.setUint32(0, 0x04034b50, true);
    h.setUint16(4, 20, true);
    h.setUint16(8, e.method, true);
    h.setUint32(14, e.crc, true);
    h.setUint32(18, e.stored.length, true);
    h.setUint32(22, e.declaredSize, true);
    h.setUint16(26, name.length, true);
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, e.method, true);
    c.setUint32(16, e.crc, true);
    c.setUint32(20, e.stored.length, true);
    c.setUint32(24, e.declaredSize, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    parts.push(new Uint8Array(h.buffer), name, e.stored);
    central.push(new Uint8Array(c.buffer), name);
    offset += 30 + name.length + e.stored.length;
  }
  const cdSize = central.reduce((a, p) => a + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of all) out.set(p, o), (o += p.length);
  return out;
}

/**
 * A raw deflate stream that expands to 1 + 258·n bytes of spaces: one fixed-Huffman block
 * holding a literal and n copies of (length 258, distance 1), 13 bits each.
 */
function deflateBomb(n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((3 + 8 + 13 * n + 7) / 8) + 1);
  let bit = 0;
  const put = (v: number, len: number): void => {
    for (let i = 0; i < len; i++, bit++) if ((v >> i) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  const code = (c: number, len: number): void => {
    for (let i = len - 1; i >= 0; i--, bit++) if ((c >> i) & 1) out[bit >> 3] |= 1 << (bit & 7);
  };
  put(1, 1); // BFINAL
  put(1, 2); // fixed Huffman
  code(0x30 + 0x20, 8); // literal ' '
  for (let i = 0; i < n; i++) {
    code(0xc0 + (285 - 280), 8); // length 258
    code(0, 5); // distance 1
  }
  code(0, 7); // end of block
  return out.subarray(0, Math.ceil(bit / 8));
}

function kerasParts(rel = 'keras-v3/keras_linear_131_relu.keras'): Record<string, Uint8Array> {
  return unzipSync(read(rel));
}

const storedEntry = (name: string, data: Uint8Array): RawEntry => ({ name, stored: data, method: 0, declaredSize: data.length, crc: crc32(data) });

/** A .keras archive from parts, with config.json replaced by `config` when given. */
function makeKeras(config?: object, parts = kerasParts()): Uint8Array {
  const p = { ...parts };
  if (config) p['config.json'] = strToU8(JSON.stringify(config));
  return zipSync(p);
}

const layer = (cls: string, name: string, config: object = {}): object => ({ module: 'keras.layers', class_name: cls, config: { name, ...config } });
const sequential = (inputShape: number[], layers: object[]): object => ({
  module: 'keras',
  class_name: 'Sequential',
  config: { name: 'hostile', layers: [layer('InputLayer', 'input_layer', { batch_shape: [null, ...inputShape] }), ...layers] },
});

// ── the cases ───────────────────────────────────────────────────────────────────────────

describe('hostile and broken files', () => {
  // jsfive warns on the console about attributes it cannot decode in damaged files.
  beforeEach(() => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('more layers than the 100,000-layer cap: file_too_large, in .keras and TF.js alike', () => {
    const many = Array.from({ length: 100_001 }, (_, i) => layer('Dense', `d${i}`, { units: 1 }));
    expectRefused(() => loadKerasModel(makeKeras(sequential([1], many)), { file: 'many.keras' }), 'file_too_large', 'many.keras', 'holds 100002 layers', '100000-layer limit');
    const mj = { format: 'layers-model', modelTopology: { class_name: 'Sequential', config: { name: 'm', layers: many } }, weightsManifest: [] };
    let reads = 0;
    expectRefused(() => loadTfjsModel(mj, () => (reads++, new Uint8Array(0)), { file: 'many.json' }), 'file_too_large', 'many.json', 'holds 100001 layers');
    expect(reads).toBe(0);
  });

  it('empty file', () => {
    expectRefused(() => loadKerasModel(new Uint8Array(0), { file: 'empty.keras' }), 'bad_model_file', 'empty.keras', 'empty');
    expectRefused(() => loadTfjsModel('', () => new Uint8Array(0), { file: 'empty.json' }), 'bad_model_file', 'empty.json', 'empty');
  });

  it('random bytes (bare, behind an HDF5 signature, behind a zip signature)', () => {
    const r = seeded(99);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256));
    expectRefused(() => loadKerasModel(noise, { file: 'noise.bin' }), 'bad_model_file', 'noise.bin', /neither a \.keras archive.*nor a Keras \.h5/);
    const h5 = noise.slice();
    h5.set([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a], 0);
    expectRefused(() => loadKerasModel(h5, { file: 'noise.h5' }), 'bad_model_file', 'noise.h5');
    const zip = noise.slice();
    zip.set([0x50, 0x4b, 0x03, 0x04], 0);
    expectRefused(() => loadKerasModel(zip, { file: 'noise.keras' }), 'bad_model_file', 'noise.keras', 'zip');
    expectRefused(() => loadTfjsModel('{"modelTopology": 7', () => noise, { file: 'noise.json' }), 'bad_model_file', 'noise.json', 'not valid JSON');
  });

  it('truncated .h5 and .keras files', () => {
    for (const rel of ['keras-h5/LeakyReLU_0_model.h5', 'keras-h5/mlp_14.h5', 'keras-v3/diabetes.keras', 'keras-v3/idaes_keras_model.keras']) {
      const full = read(rel);
      for (const frac of [0.02, 0.25, 0.5, 0.75, 0.97]) {
        const cut = full.subarray(0, Math.floor(full.length * frac));
        const name = `${rel.split('/')[1]} (first ${cut.length} bytes)`;
        const e = refusal(() => loadKerasModel(cut, { file: name }));
        expect(['bad_model_file', 'file_too_large'], `${name}: ${e.message}`).toContain(e.code);
        expect(e.message).toContain(name);
      }
    }
  });

  it('zip bomb posing as .keras: config.json declaring 300 MB is refused before inflating', () => {
    const bomb = deflateBomb(1_200_000); // expands to ~310 MB
    const parts = kerasParts();
    const archive = zipRaw([
      storedEntry('metadata.json', parts['metadata.json']),
      { name: 'config.json', stored: bomb, method: 8, declaredSize: 1 + 258 * 1_200_000, crc: 0 },
      storedEntry('model.weights.h5', parts['model.weights.h5']),
    ]);
    expect(archive.length).toBeLessThan(3_000_000);
    expectRefused(() => loadKerasModel(archive, { file: 'bomb.keras' }), 'file_too_large', 'bomb.keras', '"config.json"', 'declares 309600001 bytes');
  });

  it('zip bomb posing as .keras: a header that lies (declares 2 KB, expands to 300 MB) is stopped while inflating', () => {
    const bomb = deflateBomb(1_200_000);
    const parts = kerasParts();
    const archive = zipRaw([
      storedEntry('metadata.json', parts['metadata.json']),
      { name: 'config.json', stored: bomb, method: 8, declaredSize: 2048, crc: 0 },
      storedEntry('model.weights.h5', parts['model.weights.h5']),
    ]);
    expectRefused(() => loadKerasModel(archive, { file: 'liar.keras' }), 'file_too_large', 'liar.keras', '"config.json"', 'expands past its declared 2048 bytes');
    // The same bomb as the weights entry, declared above the cap.
    const archive2 = zipRaw([
      storedEntry('metadata.json', parts['metadata.json']),
      storedEntry('config.json', parts['config.json']),
      { name: 'model.weights.h5', stored: bomb, method: 8, declaredSize: 0xfffffff0, crc: 0 },
    ]);
    expectRefused(() => loadKerasModel(archive2, { file: 'bomb2.keras' }), 'file_too_large', 'bomb2.keras', '"model.weights.h5"');
  });

  it('a weights manifest declaring far more bytes than the shard holds', () => {
    const dir = new URL('tfjs-layers/abalone-node-trainedModel/', FIX);
    const mj = JSON.parse(readFileSync(new URL('model.json', dir), 'utf8'));
    const shard = new Uint8Array(readFileSync(new URL('weights.bin', dir)));
    let reads = 0;
    const readW = (): Uint8Array => (reads++, shard);
    mj.weightsManifest[0].weights[2].shape = [100_000, 500]; // 200 MB declared, 12 KB present
    expectRefused(() => loadTfjsModel(mj, readW, { file: 'liar.json' }), 'bad_model_file', 'liar.json', /declares 200002204 bytes.*hold 12204 bytes/);
    // Past the per-tensor cap: refused from the manifest alone, before any shard is read.
    reads = 0;
    mj.weightsManifest[0].weights[2].shape = [1e9, 1e9];
    expectRefused(() => loadTfjsModel(mj, readW, { file: 'huge.json' }), 'file_too_large', 'huge.json', '"dense_Dense2/kernel"');
    expect(reads).toBe(0);
  });

  it('an HDF5 dataset whose header declares 2^34 values in a 13 KB file', () => {
    const bytes = read('keras-h5/LeakyReLU_0_model.h5').slice();
    // The kernel's dataspace: dims 16 × 32 as two little-endian u64 (also its max dims).
    const n = patch(bytes, Uint8Array.from([...u64bytes(16), ...u64bytes(32)]), Uint8Array.from([...u64bytes(16), ...u64bytes(2 ** 30)]));
    expect(n).toBeGreaterThan(0);
    expectRefused(() => loadKerasModel(bytes, { file: 'liar.h5' }), 'file_too_large', 'liar.h5', 'model_weights/dense/dense/kernel:0', '"dense" (Dense)');
  });

  it('NaN and Inf weights are refused (code non_finite_weight), naming the weight path', () => {
    const h5 = read('keras-h5/LeakyReLU_0_model.h5').slice();
    expect(patch(h5, f32bytes(-0.17246852815151215), f32bytes(NaN))).toBe(1);
    expectRefused(() => loadKerasModel(h5, { file: 'nan.h5' }), 'non_finite_weight', 'nan.h5', '"dense" (Dense)', 'model_weights/dense/dense/kernel:0 [0] is NaN');

    const parts = kerasParts();
    const w = parts['model.weights.h5'].slice();
    expect(patch(w, f32bytes(0.9323486089706421), f32bytes(Infinity))).toBe(1); // layers/dense_1 kernel[0]
    expectRefused(
      () => loadKerasModel(zipSync({ ...parts, 'model.weights.h5': w }), { file: 'inf.keras' }),
      'non_finite_weight',
      'inf.keras',
      '"dense_13" (Dense)',
      'layers/dense_1/vars/0 [0] is Infinity',
    );

    const dir = new URL('tfjs-layers/abalone-node-trainedModel/', FIX);
    const shard = new Uint8Array(readFileSync(new URL('weights.bin', dir))).slice();
    new DataView(shard.buffer).setFloat32(4 * 5, -Infinity, true);
    expectRefused(
      () => loadTfjsModel(readFileSync(new URL('model.json', dir), 'utf8'), () => shard, { file: 'inf.json' }),
      'non_finite_weight',
      'inf.json',
      'dense_Dense1/kernel [5] is -Infinity',
    );
  });

  it('a model with no layers, or no inputs', () => {
    expectRefused(
      () => loadKerasModel(makeKeras({ module: 'keras', class_name: 'Sequential', config: { name: 'void', layers: [] } }), { file: 'void.keras' }),
      'no_inputs',
      'void.keras',
      'no layers',
    );
    const functional = {
      class_name: 'Model',
      config: { name: 'noinput', layers: [{ class_name: 'Dense', name: 'd', config: { name: 'd', units: 1 }, inbound_nodes: [] }], input_layers: [], output_layers: [['d', 0, 0]] },
    };
    expectRefused(() => loadTfjsModel({ modelTopology: functional, weightsManifest: [] }, () => new Uint8Array(), { file: 'noinput.json' }), 'no_inputs', 'noinput.json');
  });

  it('mismatched shapes: a kernel that does not fit the input width', () => {
    // keras_linear_131_relu's first kernel is [1, 3]; declare 4 input features.
    const cfg = sequential([4], [layer('Dense', 'd0', { units: 3, activation: 'relu' }), layer('Dense', 'd1', { units: 1 })]);
    expectRefused(() => loadKerasModel(makeKeras(cfg), { file: 'shapes.keras' }), 'shape_mismatch', 'shapes.keras', '"d0" (Dense)', 'layers/dense/vars/0', '[1,3]', '[4,3]');
    const dir = new URL('tfjs-layers/abalone-node-trainedModel/', FIX);
    const mj = JSON.parse(readFileSync(new URL('model.json', dir), 'utf8'));
    mj.weightsManifest[0].weights[0].shape = [50, 8];
    expectRefused(
      () => loadTfjsModel(mj, () => new Uint8Array(readFileSync(new URL('weights.bin', dir))), { file: 'shapes.json' }),
      'shape_mismatch',
      'shapes.json',
      '"dense_Dense1" (Dense)',
      'dense_Dense1/kernel',
    );
  });

  it('an unknown layer class', () => {
    const cfg = sequential([1], [layer('Dense', 'd0', { units: 3 }), layer('FancyAttention', 'fancy', { heads: 2 })]);
    expectRefused(() => loadKerasModel(makeKeras(cfg), { file: 'fancy.keras' }), 'unsupported_op', 'fancy.keras', '"fancy" (FancyAttention)', 'not supported', 'ONNX');
  });

  it('a Lambda layer is refused: code in a file is never run', () => {
    // In a genuine .h5: the LeakyReLU layer's class patched to Lambda (JSON stays valid).
    const h5 = read('keras-h5/LeakyReLU_0_model.h5').slice();
    expect(patch(h5, strToU8('"class_name": "LeakyReLU",'), strToU8('"class_name": "Lambda"   ,'))).toBe(1);
    const e = expectRefused(() => loadKerasModel(h5, { file: 'lambda.h5' }), 'unsupported_op', 'lambda.h5', '"leaky_re_lu_1" (Lambda)', 'never runs');
    expect(e.detail).toMatchObject({ file: 'lambda.h5', layer: 'leaky_re_lu_1', node: 'leaky_re_lu_1', op: 'Lambda' });
    const cfg = sequential([1], [layer('Lambda', 'custom', { function: { class_name: '__lambda__', config: { code: '4wEAAAAAAAAA' } } })]);
    expectRefused(() => loadKerasModel(makeKeras(cfg), { file: 'lambda.keras' }), 'unsupported_op', 'lambda.keras', '"custom" (Lambda)');
  });

  it('a Keras 1 file with a layer beyond Dense/Activation/Dropout says how to re-save it', () => {
    const h5 = read('keras-h5/KerasTestNetwork.h5').slice();
    const from = strToU8('{"class_name": "Dense", "config": {"W_constraint": null, "b_constraint": null, "name": "dense_2"');
    const to = strToU8('{"class_name": "Merge", "config": {"W_constraint": null, "b_constraint": null, "name": "dense_2"');
    expect(patch(h5, from, to)).toBe(1);
    expectRefused(() => loadKerasModel(h5, { file: 'keras1.h5' }), 'unsupported_format_version', 'keras1.h5', '"dense_2" (Merge)', 'Keras 1.2.1', 'save it again');
  });

  it('a cyclic functional graph, a shared layer and a subclassed model', () => {
    const d = (name: string, from: string): object => ({ class_name: 'Dense', name, config: { name, units: 2 }, inbound_nodes: [[[from, 0, 0, {}]]] });
    const cyclic = {
      class_name: 'Model',
      config: {
        name: 'loop',
        layers: [{ class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 2] }, inbound_nodes: [] }, d('a', 'b'), d('b', 'a')],
        input_layers: [['in', 0, 0]],
        output_layers: [['b', 0, 0]],
      },
    };
    expectRefused(() => loadTfjsModel({ modelTopology: cyclic, weightsManifest: [] }, () => new Uint8Array(), { file: 'loop.json' }), 'graph_cycle', 'loop.json', '"a"');
    const shared = structuredClone(cyclic) as { config: { layers: { inbound_nodes: unknown[] }[] } };
    shared.config.layers[1].inbound_nodes = [[['in', 0, 0, {}]], [['in', 0, 0, {}]]];
    expectRefused(() => loadTfjsModel({ modelTopology: shared, weightsManifest: [] }, () => new Uint8Array(), { file: 'shared.json' }), 'unsupported_op', 'shared.json', 'shared layer');
    const sub = { module: 'mymodels', class_name: 'MyModel', config: {}, registered_name: 'Custom>MyModel' };
    expectRefused(() => loadKerasModel(makeKeras(sub), { file: 'sub.keras' }), 'unsupported_op', 'sub.keras', '"MyModel"', 'subclassed');
  });

  it('random damage to genuine files never lets a raw jsfive/fflate exception escape', () => {
    const r = seeded(2024);
    const targets: [string, Uint8Array, boolean][] = [
      ['mlp_14.h5', read('keras-h5/mlp_14.h5'), false],
      ['diabetes.keras', read('keras-v3/diabetes.keras'), false],
      // The weights file inside a .keras, damaged, then zipped with a valid CRC.
      ['idaes_keras_model.keras', kerasParts('keras-v3/idaes_keras_model.keras')['model.weights.h5'], true],
    ];
    let refused = 0;
    for (const [name, orig, inner] of targets) {
      for (let k = 0; k < 40; k++) {
        const b = orig.slice();
        const hits = 1 + Math.floor(r() * 6);
        for (let j = 0; j < hits; j++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
        const bytes = inner ? zipSync({ ...kerasParts('keras-v3/idaes_keras_model.keras'), 'model.weights.h5': b }) : b;
        try {
          loadKerasModel(bytes, { file: name });
        } catch (e) {
          if (!(e instanceof NetinvertError)) throw new Error(`${name} mutation ${k}: raw ${String(e)}`);
          expect(e.message).toContain(name);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(20);
  });
});
