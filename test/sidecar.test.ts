/**
 * Model sidecars: friendly names, input/output scalers (checked in raw units against a hand
 * computation), bounds, and every validation error.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetinvertError, type ErrorCode } from '../src/errors.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { applySidecar, parseSidecar, sidecarPathsFor } from '../src/formats/sidecar.ts';
import { buildModel, floatTensor, node, valueInfo } from './onnx-builder.ts';

// y = x·W + b with x of width 2 and y of width 2 (Gemm, W stored [in, out])
const W = [
  [1, 2],
  [3, -1],
];
const B = [0.5, -0.25];
const linear = (x: number[]): number[] => [0, 1].map((j) => x[0] * W[0][j] + x[1] * W[1][j] + B[j]);

function model() {
  const bytes = buildModel({
    inputs: [valueInfo('dense_input:0', ['N', 2])],
    outputs: [valueInfo('out', ['N', 2])],
    initializers: [floatTensor('W', [2, 2], W.flat()), floatTensor('b', [2], B)],
    nodes: [node('Gemm', ['dense_input:0', 'W', 'b'], ['out'])],
  });
  return loadOnnxModel(bytes, { file: 'model.onnx' });
}

const FILE = 'model.meta.json';
const base = { format: 'netinvert-sidecar', version: 1 };

describe('sidecar: names, scalers, bounds', () => {
  it('friendly feature names replace x[0], x[1] for inputs and outputs', () => {
    const m = applySidecar(
      model(),
      { ...base, inputs: { 'dense_input:0': { features: ['a', 'b'] } }, outputs: { out: { features: ['sum', 'diff'] } } },
      FILE,
    );
    expect(m.network.inputNames).toEqual(['a', 'b']);
    expect(m.network.outputNames).toEqual(['sum', 'diff']);
    const y = m.network.evaluate(Float64Array.of(1, 2), 1);
    expect(Array.from(y)).toEqual(linear([1, 2]));
  });

  it('input standard scaler and output min-max scaler: queries and results in raw units', () => {
    const mean = [10, -4],
      std = [2, 0.5];
    const lo = [100, 0],
      hi = [300, 5],
      range = [-1, 1];
    const m = applySidecar(
      model(),
      {
        ...base,
        inputs: { 'dense_input:0': { features: ['temp', 'pressure'], scaler: { type: 'standard', mean, std } } },
        outputs: { out: { scaler: { type: 'minmax', min: lo, max: hi, range } } },
      },
      FILE,
    );
    for (const raw of [
      [10, -4],
      [12.5, -3],
      [0, 7],
    ]) {
      const z = raw.map((v, i) => (v - mean[i]) / std[i]);
      const s = linear(z);
      const want = s.map((v, j) => ((v - range[0]) / (range[1] - range[0])) * (hi[j] - lo[j]) + lo[j]);
      const got = m.network.evaluate(Float64Array.from(raw), 1);
      for (let j = 0; j < 2; j++) expect(got[j]).toBeCloseTo(want[j], 10);
    }
    // the scalers are affine nodes around the original graph, which is left unchanged
    expect(m.graph.nodes[0]).toMatchObject({ op: { type: 'affine' }, inputs: ['dense_input:0'] });
    expect(m.graph.nodes.at(-1)).toMatchObject({ op: { type: 'affine' } });
    expect(m.graph.outputs[0].name).toBe('out');
    expect(m.hash).not.toBe(model().hash);
    expect(model().graph.nodes).toHaveLength(1);
  });

  it('one number for all features, "type" inferred from the keys, default range [0, 1]', () => {
    const m = applySidecar(
      model(),
      { ...base, inputs: { 'dense_input:0': { scaler: { min: 0, max: 10 } } }, outputs: { out: { scaler: { mean: 1, std: 4 } } } },
      FILE,
    );
    const raw = [5, 2.5];
    const s = linear(raw.map((v) => v / 10));
    const got = m.network.evaluate(Float64Array.from(raw), 1);
    for (let j = 0; j < 2; j++) expect(got[j]).toBeCloseTo(s[j] * 4 + 1, 12);
  });

  it('bounds become metadata.inputRanges, by friendly or default feature name', () => {
    const named = applySidecar(
      model(),
      { ...base, inputs: { 'dense_input:0': { features: ['a', 'b'], bounds: { a: [0, 10], b: [-1, 1] } } } },
      FILE,
    );
    expect(named.metadata.inputRanges).toEqual({ a: [0, 10], b: [-1, 1] });
    const plain = applySidecar(model(), { ...base, inputs: { 'dense_input:0': { bounds: { 'dense_input:0[1]': [2, 3] } } } }, FILE);
    expect(plain.metadata.inputRanges).toEqual({ 'dense_input:0[1]': [2, 3] });
    expect(plain.metadata.extra).toMatchObject({ sidecar: { file: FILE } });
  });

  it('existing ranges are renamed, and mapped to raw units when a scaler is added', () => {
    const native = loadNativeModel(
      JSON.stringify({
        format: 'netinvert-model',
        version: 1,
        inputs: [{ name: 'x' }],
        nodes: [{ name: 'y', op: 'tanh', inputs: ['x'] }],
        outputs: [{ node: 'y' }],
        metadata: { inputRanges: { x: [-1, 1] } },
      }),
      'tanh.json',
    );
    const m = applySidecar(native, { ...base, inputs: { x: { features: ['u'], scaler: { mean: 5, std: 2 } } } }, FILE);
    expect(m.metadata.inputRanges).toEqual({ u: [3, 7] });
    expect(m.network.evaluate(Float64Array.of(7), 1)[0]).toBeCloseTo(Math.tanh(1), 14);
  });

  it('works on a real exported model (the scaled bipolar MLP fixture)', () => {
    const bytes = new Uint8Array(readFileSync(join(__dirname, 'fixtures', 'onnx', 'scaled_bipolar.onnx')));
    const m0 = loadOnnxModel(bytes, { file: 'scaled_bipolar.onnx' });
    const m = applySidecar(
      m0,
      parseSidecar(JSON.stringify({ ...base, inputs: { ab: { features: ['a', 'b'], bounds: { a: [0, 10], b: [0, 10] } } }, outputs: { sum: { features: ['total'] } } })),
      FILE,
    );
    expect(m.network.inputNames).toEqual(['a', 'b']);
    expect(m.network.outputNames).toEqual(['total']);
    expect(m.network.evaluate(Float64Array.of(3, 4), 1)[0]).toBe(m0.network.evaluate(Float64Array.of(3, 4), 1)[0]);
  });

  it('sidecarPathsFor lists where a CLI looks next to the model', () => {
    expect(sidecarPathsFor('dir/model.onnx')).toEqual(['dir/model.onnx.meta.json', 'dir/model.meta.json']);
    expect(sidecarPathsFor('model')).toEqual(['model.meta.json']);
    expect(sidecarPathsFor('a.b/model')).toEqual(['a.b/model.meta.json']);
  });
});

describe('sidecar: every validation error is coded and names the file and field', () => {
  const inp = (spec: unknown) => ({ ...base, inputs: { 'dense_input:0': spec } });
  const scaler = (s: unknown) => inp({ scaler: s });
  const cases: [string, unknown, ErrorCode, RegExp][] = [
    ['not an object', [1, 2], 'bad_sidecar', /\(file\): must be a JSON object/],
    ['null', null, 'bad_sidecar', /must be a JSON object/],
    ['wrong format', { format: 'netinvert-model', version: 1 }, 'bad_sidecar', /format: must be "netinvert-sidecar"/],
    ['unsupported version', { ...base, version: 2 }, 'unsupported_format_version', /version: 2 is not supported/],
    ['unknown top-level key', { ...base, input: {} }, 'bad_sidecar', /\(file\)\.input: unknown key/],
    ['description not a string', { ...base, description: 3 }, 'bad_sidecar', /description: must be a string/],
    ['inputs not an object', { ...base, inputs: [] }, 'bad_sidecar', /inputs: must be an object/],
    ['unknown input', { ...base, inputs: { x: {} } }, 'unknown_input', /inputs\["x"\]: the model has no input "x"; its inputs are "dense_input:0"/],
    ['input entry not an object', inp(5), 'bad_sidecar', /inputs\["dense_input:0"\]: must be an object/],
    ['unknown key in an input', inp({ scale: {} }), 'bad_sidecar', /inputs\["dense_input:0"\]\.scale: unknown key/],
    ['features of the wrong length', inp({ features: ['a'] }), 'bad_sidecar', /features: has 1 names; the tensor has 2 features/],
    ['duplicate features', inp({ features: ['a', 'a'] }), 'bad_sidecar', /names "a" twice/],
    ['empty feature name', inp({ features: ['a', ''] }), 'bad_sidecar', /non-empty strings/],
    ['scaler not an object', scaler('standard'), 'bad_sidecar', /scaler: must be an object/],
    ['unknown scaler type', scaler({ type: 'robust', mean: 0, std: 1 }), 'bad_sidecar', /scaler\.type: must be "standard" or "minmax"/],
    ['ambiguous scaler', scaler({ mean: 0, max: 1 }), 'bad_sidecar', /give "type"/],
    ['standard scaler without std', scaler({ type: 'standard', mean: 0 }), 'bad_sidecar', /needs "mean" and "std"/],
    ['std of zero', scaler({ mean: 0, std: [1, 0] }), 'bad_sidecar', /scaler\.std: must be > 0 \(feature 1 has 0\)/],
    ['mean of the wrong length', scaler({ mean: [1, 2, 3], std: 1 }), 'bad_sidecar', /scaler\.mean: has 3 values; the tensor has 2 features/],
    ['non-numeric mean', scaler({ mean: ['a', 1], std: 1 }), 'bad_sidecar', /scaler\.mean\[0\]: must be a finite number/],
    ['unknown key in a scaler', scaler({ mean: 0, std: 1, center: 0 }), 'bad_sidecar', /scaler\.center: unknown key/],
    ['min-max with max ≤ min', scaler({ min: [0, 5], max: [1, 5] }), 'bad_sidecar', /max must be > min \(feature 1: min 5, max 5\)/],
    ['min-max with a bad range', scaler({ min: 0, max: 1, range: [1, 0] }), 'bad_sidecar', /range: must have r0 < r1/],
    ['bounds not an object', inp({ bounds: [[0, 1]] }), 'bad_sidecar', /bounds: must be an object/],
    ['bounds for an unknown feature', inp({ bounds: { q: [0, 1] } }), 'unknown_input', /"q" is not a feature of input "dense_input:0"/],
    ['bounds not a pair', inp({ bounds: { 'dense_input:0[0]': [0] } }), 'bad_bounds', /must be \[lo, hi\]/],
    ['bounds with lo > hi', inp({ bounds: { 'dense_input:0[0]': [2, 1] } }), 'bad_bounds', /lower bound 2 is above upper bound 1/],
    ['unknown output', { ...base, outputs: { y: {} } }, 'unknown_output', /outputs\["y"\]: the model has no output "y"; its outputs are "out"/],
    ['bounds on an output', { ...base, outputs: { out: { bounds: {} } } }, 'bad_sidecar', /outputs\["out"\]\.bounds: unknown key/],
    ['output features of the wrong length', { ...base, outputs: { out: { features: ['s'] } } }, 'bad_sidecar', /has 1 names; the tensor has 2/],
  ];
  for (const [what, sidecar, code, msg] of cases) {
    it(what, () => {
      let err: unknown;
      try {
        applySidecar(model(), sidecar, FILE);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetinvertError);
      const e = err as NetinvertError;
      expect(e.code).toBe(code);
      expect(e.message.startsWith(`${FILE}: `)).toBe(true);
      expect(e.message).toMatch(msg);
      expect(e.detail.file).toBe(FILE);
    });
  }

  it('invalid JSON text', () => {
    expect(() => parseSidecar('{"format": ', FILE)).toThrow(/model\.meta\.json: is not valid JSON/);
    try {
      parseSidecar('nope', FILE);
    } catch (e) {
      expect((e as NetinvertError).code).toBe('bad_sidecar');
    }
  });
});
