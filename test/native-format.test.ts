/**
 * The native JSON model format: save → load round trips keep outputs bit for bit, names and
 * metadata; hand-written files and the shipped example models load; every error of the loader
 * (src/formats/native/load.ts) is reached with the right code and a message naming the file
 * and field.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createModel,
  graphHash,
  loadNativeModel,
  saveNativeModel,
  type GraphDef,
  type Model,
  type ModelMetadata,
  type NodeDef,
} from '../src/index.ts';
import { NATIVE_MAX_BYTES, NATIVE_MAX_NODES } from '../src/formats/native/load.ts';
import { expectAllClose, expectNetinvertError, type ErrorCase } from './util/expect.ts';
import { denseNode, POSITIVE, UNARY_CASES } from './util/nets.ts';
import { rng } from './util/rng.ts';

/** A graph with every op type and every activation case, two inputs and three outputs. */
function everything(): GraphDef {
  const r = rng(77);
  const nodes: NodeDef[] = [
    { name: 'cat', op: { type: 'concat' }, inputs: ['x', 'b'] },
    denseNode('h', 'cat', 4, 3, r),
    denseNode('hp', 'cat', 4, 3, r, POSITIVE),
  ];
  const acts: string[] = [];
  let tanhNode = '';
  UNARY_CASES.forEach((u, i) => {
    if (u.fn === 'tanh') tanhNode = `act${i}_${u.fn}`;
    const name = `act${i}_${u.fn}`;
    nodes.push({ name, op: { type: 'unary', fn: u.fn, params: u.params }, inputs: [u.positive ? 'hp' : 'h'] });
    acts.push(name);
  });
  nodes.push(
    { name: 'aff', op: { type: 'affine', scale: [1.5, -2, 0.25], shift: [0.1, 0, -3] }, inputs: ['h'] },
    { name: 'add', op: { type: 'binary', fn: 'add' }, inputs: ['h', 'b'] },
    { name: 'sub', op: { type: 'binary', fn: 'sub' }, inputs: ['b', 'h'] },
    { name: 'mul', op: { type: 'binary', fn: 'mul' }, inputs: ['h', 'h'] },
    { name: 'div', op: { type: 'binary', fn: 'div' }, inputs: ['h', 'hp'] },
    { name: 'c1', op: { type: 'binary_const', fn: 'sub', constant: [0.3], constantFirst: true }, inputs: ['h'] },
    { name: 'c2', op: { type: 'binary_const', fn: 'div', constant: [1, -2, 3], constantFirst: true }, inputs: ['hp'] },
    { name: 'c3', op: { type: 'binary_const', fn: 'mul', constant: [0.1, 0.2, -0.3] }, inputs: ['h'] },
    { name: 'c4', op: { type: 'binary_const', fn: 'div', constant: [7] }, inputs: ['h'] },
    { name: 'g', op: { type: 'gather', indices: [2, 0, 2] }, inputs: ['h'] },
    { name: 'rs', op: { type: 'reshape', shape: [3, 1] }, inputs: ['g'] },
    { name: 'sm', op: { type: 'softmax' }, inputs: ['h'] },
    { name: 'lsm', op: { type: 'log_softmax' }, inputs: ['h'] },
  );
  const parts = [...acts, 'aff', 'add', 'sub', 'mul', 'div', 'c1', 'c2', 'c3', 'c4', 'rs', 'sm', 'lsm'];
  nodes.push({ name: 'all', op: { type: 'concat' }, inputs: parts });
  const width = parts.length * 3;
  nodes.push({ name: 'out', op: { type: 'dense', units: 2, weight: Float64Array.from(r.vector(width * 2, -0.5, 0.5)) }, inputs: ['all'] });
  return {
    inputs: [
      { name: 'x', width: 3, features: ['p', 'q', 'r'] },
      { name: 'b', width: 1 },
    ],
    nodes,
    outputs: [{ node: 'out', name: 'score', features: ['lo', 'hi'] }, { node: 'sm' }, { node: tanhNode, name: 'tanh_layer' }],
  };
}

const META: ModelMetadata = {
  name: 'everything',
  description: 'every op, for the round-trip test — with “unicode” too',
  inputRanges: { p: [-1, 1], q: [0, 2], b: [-0.5, 0.5] },
  outputRanges: { lo: [-10, 10], 'sm[1]': [0, 1] },
  source: { format: 'test', producer: 'native-format.test.ts', version: '1' },
  extra: { note: 'kept', nested: { list: [1, 2, 3] } },
};

function sameNumbers(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what}: entry ${i}: ${a[i]} vs ${b[i]}`);
}

function compareModels(a: Model, b: Model, rows: number, seed: number): void {
  expect(b.network.inputNames).toEqual(a.network.inputNames);
  expect(b.network.outputNames).toEqual(a.network.outputNames);
  const r = rng(seed);
  const n = a.network.nIn;
  const X = Float64Array.from(r.vector(rows * n, -1, 1));
  sameNumbers(b.network.evaluate(X, rows), Float64Array.from(a.network.evaluate(X, rows)), 'outputs');
  sameNumbers(b.network.jacobian(X, rows).J, Float64Array.from(a.network.jacobian(X, rows).J), 'Jacobians');
  const lo = Float64Array.from(X, (v) => v - 0.1),
    hi = Float64Array.from(X, (v) => v + 0.1);
  const ba = a.network.bounds(lo, hi, rows),
    bb = b.network.bounds(lo, hi, rows);
  sameNumbers(bb.lo, Float64Array.from(ba.lo), 'lower bounds');
  sameNumbers(bb.hi, Float64Array.from(ba.hi), 'upper bounds');
}

describe('native format: round trip', () => {
  const model = createModel(everything(), META);

  it('save → load keeps every output, Jacobian and bound bit for bit', () => {
    const back = loadNativeModel(saveNativeModel(model), 'everything.json');
    compareModels(model, back, 16, 1);
    expect(back.network.parameterCount).toBe(model.network.parameterCount);
    expect(back.network.layers().map((l) => [l.type, l.width])).toEqual(model.network.layers().map((l) => [l.type, l.width]));
  });

  it('keeps the names and every metadata field', () => {
    const back = loadNativeModel(saveNativeModel(model), 'everything.json');
    expect(back.metadata.name).toBe(META.name);
    expect(back.metadata.description).toBe(META.description);
    expect(back.metadata.inputRanges).toEqual(META.inputRanges);
    expect(back.metadata.outputRanges).toEqual(META.outputRanges);
    expect(back.metadata.source).toEqual(META.source);
    expect(back.metadata.extra).toEqual(META.extra);
    expect(back.network.inputNames).toEqual(['p', 'q', 'r', 'b']);
    expect(back.network.outputNames).toEqual(['lo', 'hi', 'sm[0]', 'sm[1]', 'sm[2]', 'tanh_layer[0]', 'tanh_layer[1]', 'tanh_layer[2]']);
  });

  it('is a fixed point after one save: same text, same hash', () => {
    const text1 = saveNativeModel(model);
    const m1 = loadNativeModel(text1);
    const text2 = saveNativeModel(m1);
    expect(text2).toBe(text1);
    const m2 = loadNativeModel(text2);
    expect(m2.hash).toBe(m1.hash);
    expect(m1.hash).toMatch(/^fnv1a:[0-9a-f]{16}$/);
  });

  it('a model without metadata gets a source naming the file, and round-trips', () => {
    const bare = createModel(everything());
    const back = loadNativeModel(saveNativeModel(bare), 'bare.json');
    expect(back.metadata.source).toEqual({ format: 'netinvert-json', file: 'bare.json' });
    expect(back.metadata.name).toBeUndefined();
    compareModels(bare, back, 4, 2);
  });

  it('the hash changes when one weight changes by one ulp', () => {
    const g = everything();
    const h0 = graphHash(g);
    const out = g.nodes.find((n) => n.name === 'out')!;
    const W = (out.op as { weight: Float64Array }).weight;
    W[5] = W[5] + Math.abs(W[5]) * 2 ** -52;
    expect(graphHash(g)).not.toBe(h0);
  });

  it('loads the same model from a string, UTF-8 bytes and an ArrayBuffer', () => {
    const text = saveNativeModel(model);
    const bytes = new TextEncoder().encode(text);
    const a = loadNativeModel(text),
      b = loadNativeModel(bytes),
      c = loadNativeModel(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    compareModels(a, b, 3, 3);
    compareModels(a, c, 3, 4);
    expect(b.metadata.description).toBe(META.description);
  });
});

describe('native format: hand-written and shipped files', () => {
  it('a dense node over several inputs reads their concatenation; flat and row weights agree', () => {
    const file = (weight: unknown) =>
      JSON.stringify({
        format: 'netinvert-model',
        version: 1,
        inputs: [{ name: 'a' }, { name: 'v', width: 2, features: ['v1', 'v2'] }],
        nodes: [
          { name: 'h', op: 'dense', inputs: ['a', 'v'], units: 2, weight, bias: [0.5, -1] },
          { name: 'y', op: 'sub', inputs: ['h'], constant: 10, constantFirst: true },
        ],
        outputs: [{ node: 'y' }],
      });
    const rows = loadNativeModel(file([[1, 2], [3, 4], [5, 6]]));
    const flat = loadNativeModel(file([1, 2, 3, 4, 5, 6]));
    expect(rows.network.inputNames).toEqual(['a', 'v1', 'v2']);
    const x = Float64Array.of(0.5, -1, 2);
    const want = [10 - (0.5 * 1 - 1 * 3 + 2 * 5 + 0.5), 10 - (0.5 * 2 - 1 * 4 + 2 * 6 - 1)];
    expectAllClose(rows.network.evaluate(x, 1), want, 1e-14, 'row weights');
    sameNumbers(flat.network.evaluate(x, 1), Float64Array.from(rows.network.evaluate(x, 1)), 'flat vs row weights');
    // and it survives a round trip (the implicit concat node becomes explicit)
    compareModels(rows, loadNativeModel(saveNativeModel(rows)), 4, 5);
  });

  for (const f of ['seed-add.json', 'seed-4in2out.json']) {
    it(`models/${f} loads, keeps its metadata and round-trips`, () => {
      const text = readFileSync(new URL(`../models/${f}`, import.meta.url), 'utf8');
      const raw = JSON.parse(text);
      const m = loadNativeModel(text, f);
      expect(m.metadata.name).toBe(raw.name);
      expect(m.network.inputNames.length).toBeGreaterThan(0);
      compareModels(m, loadNativeModel(saveNativeModel(m), f), 8, 6);
    });
  }

  it('models/seed-add.json adds: 3 + 4 ≈ 7 (the seed question)', () => {
    const m = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url), 'utf8'));
    expect(m.network.nIn).toBe(2);
    const y = m.network.evaluate(Float64Array.of(3, 4), 1)[0];
    expect(Math.abs(y - 7)).toBeLessThan(0.5);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
/** A valid native file; `edit` changes the parsed object before it is serialised again. */
function nativeFile(edit: (m: Json) => void = () => {}): string {
  const m: Json = {
    format: 'netinvert-model',
    version: 1,
    inputs: [{ name: 'a' }, { name: 'b' }],
    nodes: [
      { name: 'h', op: 'dense', inputs: ['a', 'b'], units: 2, weight: [[1, 2], [3, 4]], bias: [0, 0] },
      { name: 't', op: 'tanh', inputs: ['h'] },
      { name: 'y', op: 'dense', inputs: ['t'], units: 1, weight: [[1], [-1]] },
    ],
    outputs: [{ node: 'y', name: 'sum' }],
    metadata: { inputRanges: { a: [0, 10] }, outputRanges: { sum: [0, 20] } },
  };
  edit(m);
  return JSON.stringify(m);
}

describe('native loader errors', () => {
  const F = 'model.json';
  const load = (text: string | Uint8Array | ArrayBuffer) => () => loadNativeModel(text, F);
  const cases: ErrorCase[] = [
    { what: 'an empty file', run: load(''), code: 'bad_model_file', mentions: [F, 'empty'] },
    { what: 'a blank file', run: load(' \n\t'), code: 'bad_model_file', mentions: [F, 'empty'] },
    { what: 'not JSON', run: load('{"format": "netinvert-model", '), code: 'bad_model_file', mentions: [F, 'not valid JSON'] },
    { what: 'a JSON array', run: load('[1, 2]'), code: 'bad_model_file', mentions: [F, 'JSON object'] },
    { what: 'a JSON null', run: load('null'), code: 'bad_model_file', mentions: [F, 'JSON object'] },
    { what: 'the wrong format', run: load(nativeFile((m) => (m.format = 'onnx'))), code: 'bad_model_file', mentions: [F, 'format', '"onnx"', 'netinvert-model'] },
    { what: 'no format', run: load(nativeFile((m) => delete m.format)), code: 'bad_model_file', mentions: [F, 'format'] },
    { what: 'version 2', run: load(nativeFile((m) => (m.version = 2))), code: 'unsupported_format_version', mentions: [F, 'version 2', 'version 1'] },
    { what: 'version "1" as a string', run: load(nativeFile((m) => (m.version = '1'))), code: 'unsupported_format_version', mentions: [F, 'version "1"'] },
    { what: 'no inputs', run: load(nativeFile((m) => (m.inputs = []))), code: 'no_inputs', mentions: [F, 'inputs'] },
    { what: 'inputs missing', run: load(nativeFile((m) => delete m.inputs)), code: 'no_inputs', mentions: [F, 'inputs'] },
    { what: 'nodes not a list', run: load(nativeFile((m) => (m.nodes = 'h'))), code: 'bad_model_file', mentions: [F, 'nodes', 'list'] },
    { what: 'no outputs', run: load(nativeFile((m) => (m.outputs = []))), code: 'no_outputs', mentions: [F, 'outputs'] },
    { what: 'an input without a name', run: load(nativeFile((m) => (m.inputs[1] = { width: 2 }))), code: 'bad_model_file', mentions: [F, 'inputs[1]', '"name"'] },
    { what: 'a node without an op', run: load(nativeFile((m) => delete m.nodes[1].op)), code: 'bad_model_file', mentions: [F, 'nodes[1]', '"op"'] },
    { what: 'a node that is not an object', run: load(nativeFile((m) => (m.nodes[1] = 5))), code: 'bad_model_file', mentions: [F, 'nodes[1]'] },
    { what: 'node inputs not a list', run: load(nativeFile((m) => (m.nodes[1].inputs = 'h'))), code: 'bad_model_file', mentions: [F, 'nodes[1].inputs'] },
    { what: 'node inputs not names', run: load(nativeFile((m) => (m.nodes[1].inputs = [3]))), code: 'bad_model_file', mentions: [F, 'nodes[1].inputs'] },
    { what: 'an output without a node', run: load(nativeFile((m) => (m.outputs[0] = { name: 'sum' }))), code: 'bad_model_file', mentions: [F, 'outputs[0]', '"node"'] },
    {
      what: 'an unknown op',
      run: load(nativeFile((m) => (m.nodes[1].op = 'conv'))),
      code: 'unsupported_op',
      mentions: [F, 'nodes[1] ("t")', '"conv"', 'dense', 'bipolar_sigmoid'],
    },
    { what: 'dense without units', run: load(nativeFile((m) => delete m.nodes[0].units)), code: 'bad_model_file', mentions: [F, 'nodes[0] ("h").units'] },
    {
      what: 'a weight row of the wrong length',
      run: load(nativeFile((m) => (m.nodes[0].weight = [[1, 2], [3, 4, 5]]))),
      code: 'bad_model_file',
      mentions: [F, 'nodes[0] ("h").weight[1]', '3 values', 'units = 2'],
    },
    {
      what: 'a weight given as a string "NaN"',
      run: load(nativeFile((m) => (m.nodes[0].weight = [[1, 'NaN'], [3, 4]]))),
      code: 'bad_model_file',
      mentions: [F, 'weight[0][1]', 'must be a number', '"NaN"'],
    },
    {
      what: 'a weight of null (what JSON.stringify makes of NaN)',
      run: load(nativeFile((m) => (m.nodes[2].weight = [[NaN], [1]]))),
      code: 'bad_model_file',
      mentions: [F, 'nodes[2] ("y").weight[0][0]', 'null'],
    },
    {
      what: 'a weight that overflows to Infinity (1e999)',
      run: load(nativeFile().replace('[[1,2],[3,4]]', '[[1,2],[3,1e999]]')),
      code: 'non_finite_weight',
      mentions: [F, 'weight[1][1]', 'not finite'],
    },
    { what: 'weight not a list', run: load(nativeFile((m) => (m.nodes[0].weight = 'w'))), code: 'bad_model_file', mentions: [F, 'nodes[0] ("h").weight', 'list of numbers'] },
    { what: 'a bias with a string', run: load(nativeFile((m) => (m.nodes[0].bias = [0, '1']))), code: 'bad_model_file', mentions: [F, 'bias[1]'] },
    {
      what: 'a flat weight of the wrong size (the graph check, named with the file)',
      run: load(nativeFile((m) => (m.nodes[0].weight = [1, 2, 3]))),
      code: 'shape_mismatch',
      mentions: [F, 'node "h"', '3 values'],
    },
    {
      what: 'a node reading a missing name (the graph check, named with the file)',
      run: load(nativeFile((m) => (m.nodes[1].inputs = ['zz']))),
      code: 'unknown_node',
      mentions: [F, '"t"', '"zz"'],
    },
    {
      what: 'a bad activation parameter (the table check, named with the file)',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'bipolar_sigmoid', inputs: ['h'], params: { lambda: -1 } }))),
      code: 'bad_parameter',
      mentions: [F, 'node "t"', 'lambda'],
    },
    { what: 'params not an object', run: load(nativeFile((m) => (m.nodes[1].params = 3))), code: 'bad_model_file', mentions: [F, 'nodes[1] ("t").params'] },
    {
      what: 'a constant of 1e999',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'mul', inputs: ['h'], constant: 7 })).replace('"constant":7', '"constant":1e999')),
      code: 'bad_model_file',
      mentions: [F, 'nodes[1] ("t").constant', 'finite'],
    },
    {
      what: 'a constant list with a string',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'add', inputs: ['h'], constant: [1, 'x'] }))),
      code: 'bad_model_file',
      mentions: [F, 'constant[1]'],
    },
    {
      what: 'affine scale missing',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'affine', inputs: ['h'], shift: [0, 0] }))),
      code: 'bad_model_file',
      mentions: [F, 'nodes[1] ("t").scale'],
    },
    {
      what: 'gather indices not numbers',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'gather', inputs: ['h'], indices: ['0'] }))),
      code: 'bad_model_file',
      mentions: [F, 'indices[0]'],
    },
    {
      what: 'gather index out of range (the graph check)',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'gather', inputs: ['h'], indices: [0, 7] }))),
      code: 'shape_mismatch',
      mentions: [F, '"t"', 'index 7'],
    },
    {
      what: 'reshape shape not a list',
      run: load(nativeFile((m) => (m.nodes[1] = { name: 't', op: 'reshape', inputs: ['h'], shape: 2 }))),
      code: 'bad_model_file',
      mentions: [F, 'nodes[1] ("t").shape'],
    },
    { what: 'inputRanges not an object', run: load(nativeFile((m) => (m.metadata.inputRanges = [0, 1]))), code: 'bad_model_file', mentions: [F, 'metadata.inputRanges'] },
    {
      what: 'an inputRanges entry with lo > hi',
      run: load(nativeFile((m) => (m.metadata.inputRanges = { a: [2, 1] }))),
      code: 'bad_model_file',
      mentions: [F, 'metadata.inputRanges.a', 'lo ≤ hi'],
    },
    {
      what: 'an inputRanges entry of one number',
      run: load(nativeFile((m) => (m.metadata.inputRanges = { a: [2] }))),
      code: 'bad_model_file',
      mentions: [F, 'metadata.inputRanges.a'],
    },
    {
      what: 'inputRanges naming an unknown input',
      run: load(nativeFile((m) => (m.metadata.inputRanges = { zz: [0, 1] }))),
      code: 'bad_model_file',
      mentions: [F, 'metadata.inputRanges.zz', '"zz" is not an input feature', 'a, b'],
    },
    {
      what: 'outputRanges naming an unknown output',
      run: load(nativeFile((m) => (m.metadata.outputRanges = { y: [0, 1] }))),
      code: 'bad_model_file',
      mentions: [F, 'metadata.outputRanges.y', 'sum'],
    },
    {
      what: 'an outputRanges entry with a non-number',
      run: load(nativeFile((m) => (m.metadata.outputRanges = { sum: [0, 'x'] }))),
      code: 'bad_model_file',
      mentions: [F, 'metadata.outputRanges.sum[1]'],
    },
    {
      what: 'more nodes than the limit (each one valid)',
      run: () => loadNativeModel(nativeFile((m) => (m.nodes = [...m.nodes, ...Array.from({ length: NATIVE_MAX_NODES }, (_, i) => ({ name: `r${i}`, op: 'relu', inputs: ['y'] }))])), F),
      code: 'file_too_large',
      mentions: [F, 'nodes', `${NATIVE_MAX_NODES + 3} entries`, `limit of ${NATIVE_MAX_NODES}`],
    },
    { what: 'more bytes than the limit', run: load(new ArrayBuffer(NATIVE_MAX_BYTES + 1)), code: 'file_too_large', mentions: [F, String(NATIVE_MAX_BYTES)] },
  ];
  for (const c of cases) {
    it(`${c.what} → ${c.code}`, () => {
      expectNetinvertError(c.run, c.code, ...c.mentions);
    });
  }
  it('the unedited file loads (so each case fails for its own reason)', () => {
    const m = loadNativeModel(nativeFile(), F);
    expect(m.network.inputNames).toEqual(['a', 'b']);
    expect(m.network.outputNames).toEqual(['sum']);
  });
  it('a bare NaN / Infinity / -Infinity word (as Python json.dump writes) → one coded line naming the field', () => {
    // pretty-printed, as files are saved: V8's JSON.parse message quotes the text around the
    // error, newlines included, so the message used to span three lines and name no field
    const pretty = (edit: (m: Json) => void, word: string, value: number) =>
      JSON.stringify(JSON.parse(nativeFile(edit)), null, 1).replace(String(value), word);
    const cases: [string, string, string][] = [
      [pretty((m) => (m.nodes[0].weight = [[1, 2], [3, 12345]]), 'NaN', 12345), 'nodes[0] ("h").weight[1][1]', 'NaN'],
      [pretty((m) => (m.nodes[2].bias = [12345]), 'Infinity', 12345), 'nodes[2] ("y").bias[0]', 'Infinity'],
      [pretty((m) => (m.nodes[1] = { name: 't', op: 'add', inputs: ['h'], constant: [0, 12345] }), '-Infinity', 12345), 'nodes[1] ("t").constant[1]', '-Infinity'],
      [pretty((m) => (m.metadata.inputRanges = { a: [0, 12345] }), 'NaN', 12345), 'metadata.inputRanges.a[1]', 'NaN'],
    ];
    for (const [text, field, word] of cases) {
      expect(text).toContain(`\n`);
      const e = expectNetinvertError(load(text), 'non_finite_weight', F, field, `is ${word}`);
      expect(e.message.split('\n')).toHaveLength(1);
      expect(e.detail).toMatchObject({ file: F, field });
    }
    // a "NaN" inside a string is not a bare word: the string is named as not a number
    expectNetinvertError(load(nativeFile((m) => (m.name = 'NaN Infinity')).replace('"version":1', '"version":1,"x":[')), 'bad_model_file', F);
    // other JSON errors: still one line
    const broken = JSON.stringify(JSON.parse(nativeFile()), null, 1).replace('"units": 2', '"units": 2,,');
    const e = expectNetinvertError(load(broken), 'bad_model_file', F, 'not valid JSON');
    expect(e.message.split('\n')).toHaveLength(1);
  });
  it('errors carry the file in their detail', () => {
    const e = expectNetinvertError(load(nativeFile((m) => (m.nodes[1].op = 'conv'))), 'unsupported_op');
    expect(e.detail).toMatchObject({ file: F, node: 't', op: 'conv' });
    const g = expectNetinvertError(load(nativeFile((m) => (m.nodes[0].weight = [1, 2, 3]))), 'shape_mismatch');
    expect(g.detail).toMatchObject({ file: F, node: 'h' });
  });
});
