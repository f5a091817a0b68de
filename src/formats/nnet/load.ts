/**
 * .nnet reader: the ACAS Xu text format (Kyle Julian, Stanford 2016; reference reader and
 * writer in github.com/sisl/NNet, readNNet.py / NNet.py) → Model.
 *
 * Layout, one record per line, values separated by commas (a trailing comma is allowed):
 *   `//` header comments
 *   numLayers, inputSize, outputSize, maxLayerSize
 *   layer sizes (numLayers + 1 values, input size first)
 *   symmetric flag (unused, one value)
 *   input minimums (inputSize), input maximums (inputSize)
 *   means (inputSize + 1: the last one is the output mean)
 *   ranges (inputSize + 1: the last one is the output range)
 *   then per layer: `size_out` weight rows of `size_in` values, then `size_out` bias lines.
 * Every layer but the last is followed by ReLU; the last is linear.
 *
 * Normalization. The reference evaluator (NNet.evaluate_network) computes
 *   x̂ = (clip(x, min, max) − mean) / range,   y = ŷ · range_out + mean_out.
 * - units: 'raw' (default): the graph includes the normalization as ops (sub mean, div range
 *   before the first layer; mul range_out, add mean_out after the last), so queries and
 *   answers are in the file's physical units. Clipping is not an op: the [min, max] box becomes
 *   metadata.inputRanges (the default solve bounds), inside which the graph equals the
 *   reference exactly.
 * - units: 'normalized': the bare network (x̂ ↦ ŷ), no normalization ops; inputRanges are the
 *   normalized [min, max]. This is what the VNN-COMP 2021 ACAS Xu ONNX files contain (they
 *   have no normalization; their .vnnlib properties are written in normalized units), so a
 *   .nnet loaded this way is the twin of the ONNX file.
 */
import { NetinvertError } from '../../errors.ts';
import type { GraphDef, NodeDef } from '../../graph/types.ts';
import { nextDown, nextUp } from '../../graph/round.ts';
import { createModel, type Model } from '../../model.ts';

/** Largest .nnet file accepted (bytes). */
export const NNET_MAX_BYTES = 256 * 1024 * 1024;

export interface NnetLoadOptions {
  /** Names the file in error messages and metadata. */
  file?: string;
  /** 'raw' (default): normalization inside the graph; 'normalized': the bare network. */
  units?: 'raw' | 'normalized';
}

function fail(file: string, line: number, field: string, msg: string): never {
  throw new NetinvertError('bad_model_file', `${file}:${line}: ${field}: ${msg}`, { file, line, field });
}

interface Line {
  no: number;
  text: string;
}

/** Parse .nnet bytes or text into a Model (see the module comment for units). */
export function loadNnetModel(data: string | Uint8Array | ArrayBuffer, options: NnetLoadOptions = {}): Model {
  const file = options.file ?? '<model.nnet>';
  const units = options.units ?? 'raw';
  if (units !== 'raw' && units !== 'normalized') {
    throw new NetinvertError('bad_argument', `units must be "raw" or "normalized" (got ${JSON.stringify(units)})`, { field: 'units' });
  }
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes.length > NNET_MAX_BYTES) {
      throw new NetinvertError('file_too_large', `${file}: ${bytes.length} bytes is above the ${NNET_MAX_BYTES}-byte limit for .nnet models`, { file });
    }
    text = new TextDecoder('utf-8').decode(bytes);
  }
  const lines: Line[] = [];
  let inHeader = true;
  text.split(/\r?\n/).forEach((t, i) => {
    const s = t.trim();
    if (inHeader && (s.startsWith('//') || s === '')) return;
    inHeader = false;
    if (s !== '') lines.push({ no: i + 1, text: s });
  });
  if (lines.length === 0) fail(file, 1, '(file)', 'has no data lines; expected a .nnet network (sizes line after the // header)');
  let at = 0;
  const lastLine = lines[lines.length - 1].no;

  const values = (field: string, count: number): number[] => {
    const l = lines[at];
    if (!l) fail(file, lastLine, field, `the file ends here; ${field} (${count} value${count === 1 ? '' : 's'}) is missing`);
    at++;
    const parts = l.text.split(',').map((p) => p.trim());
    if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length !== count) fail(file, l.no, field, `has ${parts.length} value${parts.length === 1 ? '' : 's'}; expected ${count}`);
    return parts.map((p, k) => {
      const v = p === '' ? NaN : Number(p);
      if (!Number.isFinite(v)) {
        if (/^[+-]?(nan|inf(inity)?)$/i.test(p)) {
          throw new NetinvertError('non_finite_weight', `${file}:${l.no}: ${field}[${k}] is "${p}"; every number must be finite`, {
            file,
            line: l.no,
            field: `${field}[${k}]`,
          });
        }
        fail(file, l.no, `${field}[${k}]`, `"${p}" is not a number`);
      }
      return v;
    });
  };
  const count = (v: number, l: number, field: string, min: number): number => {
    if (!Number.isInteger(v) || v < min || v > 1e6) fail(file, l, field, `must be an integer between ${min} and 1000000 (got ${v})`);
    return v;
  };

  const sizesLine = lines[0].no;
  const [numLayers, inputSize, outputSize, maxLayerSize] = values('sizes (numLayers, inputSize, outputSize, maxLayerSize)', 4).map((v, k) =>
    count(v, sizesLine, ['numLayers', 'inputSize', 'outputSize', 'maxLayerSize'][k], 1),
  );
  const layerLine = lines[at]?.no ?? lastLine;
  const sizes = values('layer sizes', numLayers + 1).map((v, k) => count(v, layerLine, `layer sizes[${k}]`, 1));
  if (sizes[0] !== inputSize) fail(file, layerLine, 'layer sizes[0]', `is ${sizes[0]} but the sizes line says inputSize = ${inputSize}`);
  if (sizes[numLayers] !== outputSize) {
    fail(file, layerLine, `layer sizes[${numLayers}]`, `is ${sizes[numLayers]} but the sizes line says outputSize = ${outputSize}`);
  }
  if (Math.max(...sizes) !== maxLayerSize) {
    fail(file, layerLine, 'layer sizes', `largest is ${Math.max(...sizes)} but the sizes line says maxLayerSize = ${maxLayerSize}`);
  }
  // every weight and bias is on its own line group: check the line count before allocating
  let needed = 5;
  for (let k = 0; k < numLayers; k++) needed += 2 * sizes[k + 1];
  if (lines.length - at < needed) {
    fail(file, lastLine, '(file)', `ends early: the layer sizes need ${needed} more lines (flag, min, max, mean, range, weights, biases), found ${lines.length - at}`);
  }
  // each weight takes at least two characters ("0,"): refuse sizes the text cannot hold
  let weights = 0;
  for (let k = 0; k < numLayers; k++) weights += sizes[k] * sizes[k + 1];
  if (2 * weights > text.length) {
    fail(file, layerLine, 'layer sizes', `need ${weights} weights, more than a file of ${text.length} characters can hold`);
  }
  values('symmetric flag', 1);
  const minAt = lines[at].no;
  const mins = values('input minimums', inputSize);
  const maxs = values('input maximums', inputSize);
  const means = values('means', inputSize + 1);
  const rangeAt = lines[at].no;
  const ranges = values('ranges', inputSize + 1);
  ranges.forEach((r, k) => {
    if (r === 0) fail(file, rangeAt, `ranges[${k}]`, 'is 0; a normalization range must be non-zero');
  });
  mins.forEach((lo, k) => {
    if (!(lo <= maxs[k])) fail(file, minAt, `input minimums[${k}]`, `${lo} is above the maximum ${maxs[k]}`);
  });

  const graph: GraphDef = { inputs: [{ name: 'input', width: inputSize }], nodes: [], outputs: [] };
  const nodes: NodeDef[] = graph.nodes;
  let prev = 'input';
  if (units === 'raw') {
    nodes.push({ name: 'normalize_sub_mean', op: { type: 'binary_const', fn: 'sub', constant: means.slice(0, inputSize) }, inputs: [prev] });
    nodes.push({ name: 'normalize_div_range', op: { type: 'binary_const', fn: 'div', constant: ranges.slice(0, inputSize) }, inputs: ['normalize_sub_mean'] });
    prev = 'normalize_div_range';
  }
  for (let k = 0; k < numLayers; k++) {
    const nIn = sizes[k],
      nOut = sizes[k + 1];
    // .nnet rows are outputs (W is nOut × nIn); the graph's dense weight is nIn × nOut
    const W = new Float64Array(nIn * nOut);
    for (let r = 0; r < nOut; r++) {
      const row = values(`layer ${k + 1} weight row ${r + 1}`, nIn);
      for (let c = 0; c < nIn; c++) W[c * nOut + r] = row[c];
    }
    const b = new Float64Array(nOut);
    for (let r = 0; r < nOut; r++) b[r] = values(`layer ${k + 1} bias ${r + 1}`, 1)[0];
    const name = `layer_${k + 1}`;
    nodes.push({ name, op: { type: 'dense', units: nOut, weight: W, bias: b }, inputs: [prev] });
    prev = name;
    if (k < numLayers - 1) {
      nodes.push({ name: `relu_${k + 1}`, op: { type: 'unary', fn: 'relu' }, inputs: [prev] });
      prev = `relu_${k + 1}`;
    }
  }
  if (at < lines.length) {
    fail(file, lines[at].no, '(file)', `has ${lines.length - at} line(s) after the last layer's biases; the layer sizes do not match the data`);
  }
  if (units === 'raw') {
    nodes.push({ name: 'denormalize_mul_range', op: { type: 'binary_const', fn: 'mul', constant: [ranges[inputSize]] }, inputs: [prev] });
    nodes.push({ name: 'denormalize_add_mean', op: { type: 'binary_const', fn: 'add', constant: [means[inputSize]] }, inputs: ['denormalize_mul_range'] });
    prev = 'denormalize_add_mean';
  }
  graph.outputs.push({ node: prev, name: 'output' });

  const inputRanges: Record<string, [number, number]> = {};
  const inNames = Array.from({ length: inputSize }, (_, k) => (inputSize === 1 ? 'input' : `input[${k}]`));
  inNames.forEach((n, k) => {
    if (units === 'raw') inputRanges[n] = [mins[k], maxs[k]];
    else {
      // rounded outward so the normalized box contains the image of the raw one
      const a = (mins[k] - means[k]) / ranges[k],
        b = (maxs[k] - means[k]) / ranges[k];
      inputRanges[n] = [nextDown(nextDown(Math.min(a, b))), nextUp(nextUp(Math.max(a, b)))];
    }
  });
  try {
    return createModel(graph, {
      inputRanges,
      source: { format: 'nnet', file },
      extra: { nnet: { units, mins, maxs, means, ranges } },
    });
  } catch (e) {
    if (e instanceof NetinvertError) throw new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
    throw e;
  }
}
