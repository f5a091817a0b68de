/**
 * .nnet reader: the vendored ACAS Xu .nnet files (ReluplexCav2017, CC BY 4.0) against their
 * VNN-COMP ONNX twins (weights equal after rounding to float32; forward passes agree), raw units
 * against normalize → ONNX twin → denormalize written out here, a hand-computed tiny net, and
 * hostile files (each refused with a code and the line).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/errors.ts';
import { loadNnetModel } from '../src/formats/nnet/load.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { expectAllClose, expectNetinvertError } from './util/expect.ts';
import { rng } from './util/rng.ts';

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
const TWINS = ['ACASXU_run2a_1_1_batch_2000', 'ACASXU_run2a_3_3_batch_2000'];

/** The header vectors, read by splitting the text lines (an independent reading). */
function headerOf(text: string): { mins: number[]; maxs: number[]; means: number[]; ranges: number[] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('//'));
  const nums = (l: string): number[] => l.split(',').filter((s) => s.trim() !== '').map(Number);
  return { mins: nums(lines[3]), maxs: nums(lines[4]), means: nums(lines[5]), ranges: nums(lines[6]) };
}

describe('ACAS Xu .nnet files against their ONNX twins', () => {
  for (const name of TWINS) {
    it(`${name}: same weights (to float32), same forward pass in normalized units`, () => {
      const text = readFileSync(join(ACAS, 'nnet', `${name}.nnet`), 'utf8');
      const nnet = loadNnetModel(text, { file: `${name}.nnet`, units: 'normalized' });
      const onnx = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', `${name}.onnx`))), { file: `${name}.onnx` });
      const dn = nnet.graph.nodes.filter((n) => n.op.type === 'dense');
      const dx = onnx.graph.nodes.filter((n) => n.op.type === 'dense');
      expect(dn.length).toBe(7);
      expect(dx.length).toBe(7);
      for (let k = 0; k < 7; k++) {
        const a = dn[k].op,
          b = dx[k].op;
        if (a.type !== 'dense' || b.type !== 'dense') throw new Error('not dense');
        expect(a.units).toBe(b.units);
        // the ONNX file stores float32: every weight is the float32 rounding of the .nnet decimal
        expect(Array.from(a.weight, Math.fround)).toEqual(Array.from(b.weight));
        expect(Array.from(a.bias!, Math.fround)).toEqual(Array.from(b.bias!));
      }
      const r = rng(7);
      const X = new Float64Array(200 * 5);
      for (let i = 0; i < X.length; i++) X[i] = r.uniform(-0.5, 0.5);
      const yn = nnet.network.evaluate(X, 200),
        yx = onnx.network.evaluate(X, 200);
      // float32 weights: relative error ≈ 6e-8 per weight, summed over 50-wide layers
      expectAllClose(yn, yx, (i) => 1e-5 * Math.max(1, Math.abs(yx[i])), `${name}: .nnet vs .onnx`);
    });

    it(`${name}: raw units = denormalize(ONNX twin(normalize(x))) inside [min, max]`, () => {
      const text = readFileSync(join(ACAS, 'nnet', `${name}.nnet`), 'utf8');
      const h = headerOf(text);
      const raw = loadNnetModel(new TextEncoder().encode(text), { file: `${name}.nnet` });
      const onnx = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', `${name}.onnx`))), { file: `${name}.onnx` });
      expect(raw.metadata.inputRanges).toEqual(Object.fromEntries(h.mins.map((lo, i) => [`input[${i}]`, [lo, h.maxs[i]]])));
      expect(raw.metadata.source?.format).toBe('nnet');
      const r = rng(11);
      for (let p = 0; p < 100; p++) {
        const x = new Float64Array(5),
          xn = new Float64Array(5);
        for (let i = 0; i < 5; i++) {
          x[i] = r.uniform(h.mins[i], h.maxs[i]);
          xn[i] = (x[i] - h.means[i]) / h.ranges[i];
        }
        const want = Array.from(onnx.network.evaluate(xn, 1), (v) => v * h.ranges[5] + h.means[5]);
        const got = raw.network.evaluate(x, 1);
        expectAllClose(got, want, (j) => 1e-5 * Math.max(h.ranges[5], Math.abs(want[j])), `${name} raw point ${p}`);
      }
      // ACAS Xu's output normalization is not the identity: raw and normalized outputs differ
      expect(h.ranges[5]).not.toBe(1);
      // normalized inputRanges contain the image of [min, max]
      const norm = loadNnetModel(text, { units: 'normalized' });
      h.mins.forEach((lo, i) => {
        const [a, b] = norm.metadata.inputRanges![`input[${i}]`];
        expect(a).toBeLessThanOrEqual((lo - h.means[i]) / h.ranges[i]);
        expect(b).toBeGreaterThanOrEqual((h.maxs[i] - h.means[i]) / h.ranges[i]);
      });
    });
  }
});

// A 2 → 2 → 1 net computed by hand:
//   x̂ = ((x0 − 1)/2, (x1 − 0)/4); h = relu(W1 x̂ + b1) with W1 = [[1, −1], [2, 0.5]], b1 = [0, −1];
//   ŷ = [1, 3]·h + 0.5;  y = ŷ·10 + 100.
const TINY = `// a tiny net
// written by hand
2,2,1,2,
2,2,1,
0,
-10,-10,
10,10,
1,0,100,
2,4,10,
1,-1,
2,0.5,
0,
-1,
1,3,
0.5,
`;

describe('a hand-computed .nnet', () => {
  it('raw and normalized units', () => {
    const raw = loadNnetModel(TINY, { file: 'tiny.nnet' });
    const norm = loadNnetModel(TINY, { file: 'tiny.nnet', units: 'normalized' });
    // x = (5, 2): x̂ = (2, 0.5); W1 x̂ + b1 = (1.5, 4.25 − 1 = 3.25); ŷ = 1.5 + 9.75 + 0.5 = 11.75; y = 217.5
    expect(Array.from(raw.network.evaluate(new Float64Array([5, 2]), 1))).toEqual([217.5]);
    expect(Array.from(norm.network.evaluate(new Float64Array([2, 0.5]), 1))).toEqual([11.75]);
    // x = (−3, 8): x̂ = (−2, 2); pre = (−4, −4 + 1 − 1 = −4) → relu 0; ŷ = 0.5; y = 105
    expect(Array.from(raw.network.evaluate(new Float64Array([-3, 8]), 1))).toEqual([105]);
    expect(raw.metadata.inputRanges).toEqual({ 'input[0]': [-10, 10], 'input[1]': [-10, 10] });
    expect(norm.metadata.inputRanges!['input[0]'][0]).toBeLessThanOrEqual(-5.5);
    expect(norm.metadata.inputRanges!['input[1]'][1]).toBeGreaterThanOrEqual(2.5);
    // CRLF line ends and no trailing commas read the same
    const crlf = loadNnetModel(TINY.replace(/,\n/g, '\r\n'), { file: 'crlf.nnet' });
    expect(crlf.hash).toBe(raw.hash);
  });
});

const lines = TINY.split('\n');
const withLine = (i: number, s: string): string => lines.map((l, k) => (k === i ? s : l)).join('\n');

const HOSTILE: { what: string; text: string; code: ErrorCode; says: string[] }[] = [
  { what: 'an empty file', text: '', code: 'bad_model_file', says: ['empty.nnet:1', 'no data lines'] },
  { what: 'only comments', text: '// nothing\n// here\n', code: 'bad_model_file', says: ['no data lines'] },
  { what: 'a short sizes line', text: withLine(2, '2,2,1,'), code: 'bad_model_file', says: [':3:', 'has 3 values; expected 4'] },
  { what: 'a fractional layer count', text: withLine(2, '2.5,2,1,2,'), code: 'bad_model_file', says: [':3:', 'numLayers', 'integer'] },
  { what: 'a zero layer size', text: withLine(3, '2,0,1,'), code: 'bad_model_file', says: [':4:', 'layer sizes[1]'] },
  { what: 'inputSize disagreeing with the layer sizes', text: withLine(3, '3,2,1,'), code: 'bad_model_file', says: [':4:', 'inputSize = 2'] },
  { what: 'maxLayerSize disagreeing', text: withLine(2, '2,2,1,5,'), code: 'bad_model_file', says: [':4:', 'maxLayerSize = 5'] },
  { what: 'a word among the weights', text: withLine(9, '1,minus one,'), code: 'bad_model_file', says: [':10:', 'layer 1 weight row 1[1]', '"minus one"'] },
  { what: 'NaN among the weights', text: withLine(10, 'NaN,0.5,'), code: 'non_finite_weight', says: [':11:', 'layer 1 weight row 2[0]', 'finite'] },
  { what: 'a weight row too long', text: withLine(10, '2,0.5,7,'), code: 'bad_model_file', says: [':11:', 'has 3 values; expected 2'] },
  { what: 'a zero range', text: withLine(8, '2,0,10,'), code: 'bad_model_file', says: [':9:', 'ranges[1]', 'non-zero'] },
  { what: 'a minimum above its maximum', text: withLine(6, '10,-11,'), code: 'bad_model_file', says: [':6:', 'input minimums[1]'] },
  { what: 'a truncated file', text: lines.slice(0, 13).join('\n'), code: 'bad_model_file', says: ['ends early'] },
  { what: 'lines after the last bias', text: TINY + '1,2,\n', code: 'bad_model_file', says: [':16:', 'after the last layer'] },
  {
    what: 'sizes that need more weights than the file holds',
    text: '1,1000000,1,1000000,\n1000000,1,\n0,\n0,\n0,\n0,\n0,\n0,\n0,\n',
    code: 'bad_model_file',
    says: [':2:', 'need 1000000 weights'],
  },
];

describe('hostile .nnet files', () => {
  for (const h of HOSTILE) {
    it(h.what, () => {
      expectNetinvertError(() => loadNnetModel(h.text, { file: h.what === 'an empty file' ? 'empty.nnet' : 'bad.nnet' }), h.code, ...h.says);
    });
  }
  it('an unknown units option', () => {
    expectNetinvertError(() => loadNnetModel(TINY, { units: 'metric' as 'raw' }), 'bad_argument', 'units');
  });
});
