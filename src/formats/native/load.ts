/** Native JSON model files: parse + validate → Model, and Model → JSON text. */
import { NetinvertError } from '../../errors.ts';
import { UNARY_NAMES } from '../../graph/activations/index.ts';
import type { GraphDef, NodeDef, OpSpec } from '../../graph/types.ts';
import { createModel, type InputStats, type Model, type ModelMetadata } from '../../model.ts';
import { NATIVE_FORMAT, NATIVE_VERSION, type NativeModelFile, type NativeNode } from './format.ts';

/** Largest native file accepted (bytes): a JSON model beyond this is not a small MLP. */
export const NATIVE_MAX_BYTES = 256 * 1024 * 1024;
/** Most nodes (and inputs, and outputs) a native file may declare: the ONNX and Keras cap. */
export const NATIVE_MAX_NODES = 100_000;

function fail(file: string, field: string, msg: string): never {
  throw new NetinvertError('bad_model_file', `${file}: ${field}: ${msg}`, { file, field });
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numList(v: unknown, file: string, field: string): number[] {
  if (!Array.isArray(v)) fail(file, field, 'must be a list of numbers');
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number') fail(file, `${field}[${i}]`, `must be a number (got ${JSON.stringify(v[i])})`);
    if (!Number.isFinite(v[i])) {
      throw new NetinvertError('non_finite_weight', `${file}: ${field}[${i}] is not finite; weights must be finite numbers`, {
        file,
        field: `${field}[${i}]`,
      });
    }
  }
  return v as number[];
}

function rangeMap(v: unknown, file: string, field: string): Record<string, [number, number]> | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) fail(file, field, 'must be an object { feature: [lo, hi] }');
  const out: Record<string, [number, number]> = {};
  for (const [k, r] of Object.entries(v)) {
    const a = numList(r, file, `${field}.${k}`);
    if (a.length !== 2 || !(a[0] <= a[1])) fail(file, `${field}.${k}`, `must be [lo, hi] with lo ≤ hi (got ${JSON.stringify(r)})`);
    out[k] = [a[0], a[1]];
  }
  return out;
}

const STRUCTURAL = new Set(['dense', 'affine', 'add', 'sub', 'mul', 'div', 'concat', 'gather', 'reshape', 'softmax', 'log_softmax', 'layer_norm']);

function convertNode(nd: NativeNode, i: number, file: string): NodeDef[] {
  const at = `nodes[${i}] ("${nd.name}")`;
  const op = nd.op;
  let inputs = nd.inputs;
  const extra: NodeDef[] = [];
  let spec: OpSpec;
  switch (op) {
    case 'dense': {
      if (inputs.length > 1) {
        const cat = `${nd.name}/concat`;
        extra.push({ name: cat, op: { type: 'concat' }, inputs });
        inputs = [cat];
      }
      if (typeof nd.units !== 'number') fail(file, `${at}.units`, 'dense needs "units" (the number of outputs)');
      let weight: number[];
      if (Array.isArray(nd.weight) && nd.weight.length > 0 && Array.isArray(nd.weight[0])) {
        const rows = nd.weight as unknown[];
        weight = [];
        rows.forEach((row, r) => {
          const vals = numList(row, file, `${at}.weight[${r}]`);
          if (vals.length !== nd.units) {
            fail(file, `${at}.weight[${r}]`, `has ${vals.length} values; each row needs units = ${nd.units}`);
          }
          weight.push(...vals);
        });
      } else weight = numList(nd.weight, file, `${at}.weight`);
      const bias = nd.bias === undefined || nd.bias === null ? null : numList(nd.bias, file, `${at}.bias`);
      spec = { type: 'dense', units: nd.units, weight, bias };
      break;
    }
    case 'affine':
      spec = { type: 'affine', scale: numList(nd.scale, file, `${at}.scale`), shift: numList(nd.shift, file, `${at}.shift`) };
      break;
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
      if (nd.constant !== undefined) {
        const c = typeof nd.constant === 'number' ? [nd.constant] : numList(nd.constant, file, `${at}.constant`);
        if (typeof nd.constant === 'number' && !Number.isFinite(nd.constant)) fail(file, `${at}.constant`, 'must be finite');
        spec = { type: 'binary_const', fn: op, constant: c, constantFirst: !!nd.constantFirst };
      } else spec = { type: 'binary', fn: op };
      break;
    case 'concat':
      spec = { type: 'concat' };
      break;
    case 'gather':
      spec = { type: 'gather', indices: numList(nd.indices, file, `${at}.indices`) };
      break;
    case 'reshape':
      spec = { type: 'reshape', shape: numList(nd.shape, file, `${at}.shape`) };
      break;
    case 'softmax':
    case 'log_softmax':
      spec = { type: op };
      break;
    case 'layer_norm':
      if (typeof nd.epsilon !== 'number') fail(file, `${at}.epsilon`, 'layer_norm needs "epsilon" (a number > 0)');
      spec = { type: 'layer_norm', epsilon: nd.epsilon };
      break;
    default:
      if (!UNARY_NAMES.includes(op)) {
        throw new NetinvertError(
          'unsupported_op',
          `${file}: ${at}: unknown op "${op}"; use one of ${[...STRUCTURAL].join(', ')} or an activation: ${UNARY_NAMES.join(', ')}`,
          { file, node: nd.name, op },
        );
      }
      if (nd.params !== undefined && !isObj(nd.params)) fail(file, `${at}.params`, 'must be an object of numbers');
      spec = { type: 'unary', fn: op, params: nd.params ?? {} };
  }
  return [...extra, { name: nd.name, op: spec, inputs }];
}

const NON_FINITE = /^(?:NaN|-?Infinity)/;
const SENTINEL = '\u0000netinvert-non-finite:';

/**
 * JSON has no NaN or Infinity, but Python's json.dump writes them as bare words. When the text
 * fails to parse, replace such words (outside strings) by marker strings, parse again, and
 * name the first field holding one (`nodes[0] ("h").weight[1][0]`). Returns normally when
 * there is no such word or the text is still not JSON.
 */
function nonFiniteLiteral(text: string, file: string): void {
  let out = '';
  let last = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c !== 'N' && c !== 'I' && c !== '-') continue;
    const m = NON_FINITE.exec(text.slice(i, i + 9));
    if (!m) continue;
    out += text.slice(last, i) + JSON.stringify(SENTINEL + m[0]);
    i += m[0].length - 1;
    last = i + 1;
    found = true;
  }
  if (!found) return;
  let raw: unknown;
  try {
    raw = JSON.parse(out + text.slice(last));
  } catch {
    return;
  }
  const path = (v: unknown, at: string): [string, string] | null => {
    if (typeof v === 'string') return v.startsWith(SENTINEL) ? [at, v.slice(SENTINEL.length)] : null;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const named = at === 'nodes' && isObj(v[i]) && typeof v[i].name === 'string' ? ` (${JSON.stringify(v[i].name)})` : '';
        const r = path(v[i], `${at}[${i}]${named}`);
        if (r) return r;
      }
    } else if (isObj(v)) {
      for (const [k, x] of Object.entries(v)) {
        const r = path(x, at ? `${at}.${k}` : k);
        if (r) return r;
      }
    }
    return null;
  };
  const hit = path(raw, '');
  if (!hit) return;
  const [field, word] = hit;
  throw new NetinvertError(
    'non_finite_weight',
    `${file}: ${field} is ${word}, which is not a JSON number; every weight and parameter must be a finite number (retrain, or fix the value)`,
    { file, field },
  );
}

/** Parse and validate a native model file. `file` names it in error messages. */
export function loadNativeModel(data: string | Uint8Array | ArrayBuffer, file = '<model>'): Model {
  let text: string;
  if (typeof data === 'string') text = data;
  else {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes.length > NATIVE_MAX_BYTES) {
      throw new NetinvertError('file_too_large', `${file}: ${bytes.length} bytes is above the ${NATIVE_MAX_BYTES}-byte limit for JSON models`, {
        file,
      });
    }
    text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  }
  if (text.trim() === '') fail(file, '(file)', 'is empty; expected a netinvert model JSON');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    nonFiniteLiteral(text, file);
    // V8 quotes the text around the error, newlines included: keep the message on one line
    const why = (e as Error).message.replace(/\s+/g, ' ').slice(0, 200);
    fail(file, '(file)', `is not valid JSON (${why}); expected a netinvert model JSON`);
  }
  if (!isObj(raw)) fail(file, '(file)', 'must be a JSON object');
  if (raw.format !== NATIVE_FORMAT) {
    fail(file, 'format', `must be "${NATIVE_FORMAT}" (got ${JSON.stringify(raw.format)}); is this a netinvert model file?`);
  }
  if (raw.version !== NATIVE_VERSION) {
    throw new NetinvertError(
      'unsupported_format_version',
      `${file}: version ${JSON.stringify(raw.version)} is not supported; this netinvert reads version ${NATIVE_VERSION}`,
      { file, field: 'version' },
    );
  }
  const m = raw as unknown as NativeModelFile;
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) {
    throw new NetinvertError('no_inputs', `${file}: inputs: the model declares no inputs`, { file, field: 'inputs' });
  }
  if (!Array.isArray(m.nodes)) fail(file, 'nodes', 'must be a list');
  for (const [field, list] of [
    ['inputs', m.inputs],
    ['nodes', m.nodes],
    ['outputs', m.outputs],
  ] as const) {
    if (list.length > NATIVE_MAX_NODES) {
      throw new NetinvertError('file_too_large', `${file}: ${field}: ${list.length} entries, above the limit of ${NATIVE_MAX_NODES}; netinvert reads small models`, {
        file,
        field,
        limit: NATIVE_MAX_NODES,
      });
    }
  }
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) {
    throw new NetinvertError('no_outputs', `${file}: outputs: the model declares no outputs`, { file, field: 'outputs' });
  }
  const graph: GraphDef = { inputs: [], nodes: [], outputs: [] };
  m.inputs.forEach((inp, i) => {
    if (!isObj(inp) || typeof inp.name !== 'string') fail(file, `inputs[${i}]`, 'needs a "name"');
    const width = inp.width ?? 1;
    graph.inputs.push({ name: inp.name, width, features: inp.features });
  });
  m.nodes.forEach((nd, i) => {
    if (!isObj(nd) || typeof nd.name !== 'string' || typeof nd.op !== 'string') {
      fail(file, `nodes[${i}]`, 'needs "name" and "op" strings');
    }
    if (!Array.isArray(nd.inputs) || nd.inputs.some((s) => typeof s !== 'string')) {
      fail(file, `nodes[${i}].inputs`, 'must be a list of node or input names');
    }
    graph.nodes.push(...convertNode(nd, i, file));
  });
  m.outputs.forEach((o, i) => {
    if (!isObj(o) || typeof o.node !== 'string') fail(file, `outputs[${i}]`, 'needs a "node"');
    graph.outputs.push({ node: o.node, name: o.name, features: o.features });
  });
  const md = isObj(m.metadata) ? m.metadata : {};
  const metadata: ModelMetadata = {
    name: typeof m.name === 'string' ? m.name : undefined,
    description: typeof m.description === 'string' ? m.description : undefined,
    inputRanges: rangeMap(md.inputRanges, file, 'metadata.inputRanges'),
    outputRanges: rangeMap(md.outputRanges, file, 'metadata.outputRanges'),
    ...(md.inputStats !== undefined ? { inputStats: inputStatsOf(md.inputStats, file) } : {}),
    source: md.source ?? { format: 'netinvert-json', file },
    precision: nativePrecision(md, file),
    extra: isObj(md.extra) ? md.extra : undefined,
  };
  if (metadata.precision === undefined) delete metadata.precision;
  let model: Model;
  try {
    model = createModel(graph, metadata);
  } catch (e) {
    if (e instanceof NetinvertError) {
      throw new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
    }
    throw e;
  }
  for (const [k] of Object.entries(metadata.inputRanges ?? {})) {
    if (model.network.inputIndex(k) < 0) {
      fail(file, `metadata.inputRanges.${k}`, `"${k}" is not an input feature; inputs are ${model.network.inputNames.join(', ')}`);
    }
  }
  for (const [k] of Object.entries(metadata.outputRanges ?? {})) {
    if (model.network.outputIndex(k) < 0) {
      fail(file, `metadata.outputRanges.${k}`, `"${k}" is not an output feature; outputs are ${model.network.outputNames.join(', ')}`);
    }
  }
  return model;
}

/**
 * metadata.inputStats: its shape only (names, numeric lists of the names' width); the values'
 * rules (std > 0, a covariance that factors) are checked when a query uses it (problem/prior.ts).
 */
function inputStatsOf(v: unknown, file: string): InputStats {
  if (!isObj(v) || !Array.isArray(v.names) || v.names.some((k) => typeof k !== 'string')) fail(file, 'metadata.inputStats', 'must be {names: [...], mean: [...], cov or std, rows?}');
  const o = v as Record<string, unknown>;
  const d = (o.names as string[]).length;
  const nums = (a: unknown): boolean => Array.isArray(a) && a.length === d && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!nums(o.mean)) fail(file, 'metadata.inputStats.mean', `must be ${d} finite numbers, one per name`);
  if (o.std !== undefined && !nums(o.std)) fail(file, 'metadata.inputStats.std', `must be ${d} finite numbers, one per name`);
  if (o.cov !== undefined && !(Array.isArray(o.cov) && o.cov.length === d && o.cov.every(nums))) fail(file, 'metadata.inputStats.cov', `must be ${d} rows of ${d} finite numbers`);
  if (o.rows !== undefined && !(Array.isArray(o.rows) && o.rows.every(nums))) fail(file, 'metadata.inputStats.rows', `must be rows of ${d} finite numbers`);
  if (o.residuals !== undefined) {
    const R = o.residuals;
    const ok =
      Array.isArray(R) && Array.isArray(o.rows) && R.length === o.rows.length && R.every((r) => Array.isArray(r) && r.length === (R[0] as unknown[]).length && r.every((x) => typeof x === 'number' && Number.isFinite(x)));
    if (!ok) fail(file, 'metadata.inputStats.residuals', 'must hold one row of finite numbers (one per model output) for each row of metadata.inputStats.rows');
  }
  return o as unknown as InputStats;
}

/** Formats whose files hold float32 weights: a native file saved before metadata.precision existed names one as its source. */
const LEGACY_FLOAT32_SOURCES = new Set(['onnx', 'keras', 'keras-h5', 'tfjs-layers']);

/**
 * metadata.precision of a native file; files written before the field existed said it through
 * metadata.extra.precision, or through a float32 format as metadata.source.format.
 */
function nativePrecision(md: Record<string, unknown>, file: string): 'float32' | 'float64' | undefined {
  if (md.precision !== undefined) {
    if (md.precision !== 'float32' && md.precision !== 'float64') fail(file, 'metadata.precision', `must be "float32" or "float64", got ${JSON.stringify(md.precision)}`);
    return md.precision;
  }
  const extra = isObj(md.extra) ? md.extra.precision : undefined;
  if (extra === 'float32' || extra === 'float64') return extra;
  const source = isObj(md.source) && typeof md.source.format === 'string' ? md.source.format : '';
  return LEGACY_FLOAT32_SOURCES.has(source) ? 'float32' : undefined;
}

/** Serialise a Model (from any importer) as a native JSON file. */
export function saveNativeModel(model: Model): string {
  const g = model.graph;
  const widths = new Map<string, number>();
  for (const i of g.inputs) widths.set(i.name, i.width);
  const net = model.network;
  for (const l of net.layers()) widths.set(l.name, l.width);
  const nodes: NativeNode[] = g.nodes.map((nd) => {
    const base = { name: nd.name, inputs: nd.inputs };
    const op = nd.op;
    switch (op.type) {
      case 'dense': {
        const inW = nd.inputs.reduce((a, s) => a + (widths.get(s) ?? 0), 0);
        const W = Array.from(op.weight);
        const rows: number[][] = [];
        for (let r = 0; r < inW; r++) rows.push(W.slice(r * op.units, (r + 1) * op.units));
        return { ...base, op: 'dense', units: op.units, weight: rows, bias: op.bias ? Array.from(op.bias) : null };
      }
      case 'affine':
        return { ...base, op: 'affine', scale: Array.from(op.scale), shift: Array.from(op.shift) };
      case 'binary':
        return { ...base, op: op.fn };
      case 'binary_const':
        return { ...base, op: op.fn, constant: Array.from(op.constant), constantFirst: !!op.constantFirst };
      case 'concat':
      case 'softmax':
      case 'log_softmax':
        return { ...base, op: op.type };
      case 'gather':
        return { ...base, op: 'gather', indices: op.indices };
      case 'layer_norm':
        return { ...base, op: 'layer_norm', epsilon: op.epsilon };
      case 'reshape':
        return { ...base, op: 'reshape', shape: op.shape };
      case 'unary':
        return { ...base, op: op.fn, ...(op.params && Object.keys(op.params).length ? { params: op.params } : {}) };
    }
  });
  const md = model.metadata;
  const file: NativeModelFile = {
    format: NATIVE_FORMAT,
    version: NATIVE_VERSION,
    ...(md.name ? { name: md.name } : {}),
    ...(md.description ? { description: md.description } : {}),
    inputs: g.inputs.map((i) => ({ name: i.name, ...(i.width !== 1 ? { width: i.width } : {}), ...(i.features ? { features: i.features } : {}) })),
    nodes,
    outputs: g.outputs.map((o) => ({ node: o.node, ...(o.name ? { name: o.name } : {}), ...(o.features ? { features: o.features } : {}) })),
    metadata: {
      ...(md.inputRanges ? { inputRanges: md.inputRanges } : {}),
      ...(md.inputStats ? { inputStats: md.inputStats } : {}),
      ...(md.outputRanges ? { outputRanges: md.outputRanges } : {}),
      ...(md.source ? { source: md.source } : {}),
      ...(md.precision ? { precision: md.precision } : {}),
      ...(md.extra ? { extra: md.extra } : {}),
    },
  };
  return JSON.stringify(file, null, 1);
}
