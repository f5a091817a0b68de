/**
 * Model sidecar: a small JSON file next to a model (or passed with `--meta`) that gives what
 * exported files rarely carry: friendly feature names, the scalers the model was trained
 * behind, and bounds for the inputs. Applying it rewrites the graph so that queries use raw
 * units: an input scaler becomes an affine node in front of the graph, an output scaler an
 * affine node after it.
 *
 * Schema (format "netinvert-sidecar", version 1):
 *
 * {
 *   "format": "netinvert-sidecar",
 *   "version": 1,
 *   "description": "optional free text",
 *   "model": "optional: the model file this sidecar describes (informational)",
 *   "inputs": {
 *     "<model input name>": {
 *       "features": ["age", "income"],            // optional: one name per feature of this input
 *       "scaler": { "type": "standard", "mean": [40, 30000], "std": [12, 9000] },
 *       "bounds": { "age": [18, 90], "income": [0, 200000] }
 *     }
 *   },
 *   "immutable": ["age"],                           // optional: inputs a counterfactual holds at the reference
 *   "prior": { "names": ["age", "income"], "mean": [40, 30000], "std": [12, 9000] },  // optional (or "cov", "rows")
 *   "integers": ["n_layers"],                                   // optional: discrete inputs (below)
 *   "categorical": { "thickness": [1, 2.5, 4] },
 *   "oneHot": { "color": ["color_red", "color_green", "color_blue"] },
 *   "outputs": {
 *     "<model output name>": {
 *       "features": ["score"],
 *       "scaler": { "type": "minmax", "min": 0, "max": 850 }
 *     }
 *   }
 * }
 *
 * - Input and output names are the model's own (e.g. `dense_input:0`); `netinvert inspect`
 *   lists them. Every key is optional except "format" and "version"; unknown keys are errors
 *   (a misspelt key must not be silently ignored).
 * - "features": as many distinct, non-empty names as the tensor has features. They replace
 *   `x[0]`, `x[1]`... everywhere: in queries, bounds, results.
 * - "scaler" describes how the model's own units relate to raw units, as the training
 *   pipeline defined it. Each number may be one value for all features or a list with one per
 *   feature. "type" may be left out when the keys say it.
 *   - standard (sklearn StandardScaler): model = (raw − mean) / std, std > 0.
 *   - minmax (sklearn MinMaxScaler): model = (raw − min) / (max − min) · (r1 − r0) + r0, with
 *     max > min and "range": [r0, r1] (r0 < r1, default [0, 1]).
 *   On an input the scaler runs before the graph (queries give raw inputs); on an output its
 *   inverse runs after the graph (results come back in raw units).
 * - "bounds": per feature (by its final name: the friendly one when "features" is given),
 *   [lo, hi] in raw units with lo ≤ hi. They become the model's default input ranges
 *   (metadata.inputRanges), which solve uses as default bounds.
 *
 * - "prior": where plausible inputs lie, by final feature names and in raw units (the shape of
 *   ModelMetadata.inputStats: names, mean, std or cov, optional sample rows); it becomes the
 *   model's inputStats, the default prior of a query (problem/prior.ts checks its values).
 *
 * - "integers", "categorical", "oneHot": discrete inputs, by final feature names (what sklearn's
 *   OneHotEncoder made, say; groups are declared, never guessed from column names). They become
 *   the model's metadata.discrete: the default discrete unknowns of every query on the model
 *   (solve, batch, invert(); problem/discrete.ts withDiscreteDefaults). A query's own declaration
 *   for the same input (or one-hot group, or any of its columns) replaces the sidecar's. An input the
 *   query gives is not an unknown: its value must be admissible (an integer, a listed value), and a
 *   one-hot group is given whole (one column 1, the others 0) or not at all, else a coded error.
 *   Each input may be declared once; a group needs at least 2 distinct columns; categorical values
 *   are finite numbers.
 *
 * Everything is validated before the model is touched; each problem is a NetinvertError
 * naming the sidecar file and the field, and saying what to change.
 */
import { NetinvertError, type ErrorCode } from '../errors.ts';
import type { GraphDef } from '../graph/types.ts';
import { featureNames } from '../graph/types.ts';
import { createModel, type InputStats, type Model, type ModelMetadata } from '../model.ts';
import { readDiscreteDeclarations } from './discrete.ts';

/** The sidecar's "prior": its shape (lists of the names' width); its values are checked when a query uses it. */
function sidecarPrior(ck: Checker, v: unknown): InputStats {
  if (!isObj(v) || !Array.isArray(v.names) || v.names.length === 0 || v.names.some((k) => typeof k !== 'string')) {
    return ck.fail('prior', 'must be {"names": [...features], "mean": [...], "std": [...] or "cov": [[...]], "rows"?: [[...]]}');
  }
  const d = v.names.length;
  const nums = (a: unknown): boolean => Array.isArray(a) && a.length === d && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!nums(v.mean)) ck.fail('prior.mean', `must be ${d} finite numbers, one per name`);
  if ((v.std === undefined) === (v.cov === undefined)) ck.fail('prior', 'give exactly one of "std" (one per name) or "cov" (names × names)');
  if (v.std !== undefined && !nums(v.std)) ck.fail('prior.std', `must be ${d} finite numbers, one per name`);
  if (v.cov !== undefined && !(Array.isArray(v.cov) && v.cov.length === d && v.cov.every(nums))) ck.fail('prior.cov', `must be ${d} rows of ${d} finite numbers`);
  if (v.rows !== undefined && !(Array.isArray(v.rows) && v.rows.every(nums))) ck.fail('prior.rows', `must be rows of ${d} finite numbers`);
  return { names: (v.names as string[]).slice(), mean: v.mean as number[], ...(v.std ? { std: v.std as number[] } : { cov: v.cov as number[][] }), ...(v.rows ? { rows: v.rows as number[][] } : {}) };
}

export const SIDECAR_FORMAT = 'netinvert-sidecar';
export const SIDECAR_VERSION = 1;

export type SidecarScaler =
  | { type?: 'standard'; mean: number | number[]; std: number | number[] }
  | { type?: 'minmax'; min: number | number[]; max: number | number[]; range?: [number, number] };

export interface SidecarTensor {
  features?: string[];
  scaler?: SidecarScaler;
  /** Inputs only. */
  bounds?: Record<string, [number, number]>;
}

export interface SidecarFile {
  format: typeof SIDECAR_FORMAT;
  version: number;
  description?: string;
  model?: string;
  inputs?: Record<string, SidecarTensor>;
  outputs?: Record<string, SidecarTensor>;
}

/** Where a CLI looks for a sidecar next to a model: `model.onnx.meta.json`, then `model.meta.json`. */
export function sidecarPathsFor(modelPath: string): string[] {
  const dot = modelPath.lastIndexOf('.');
  const slash = Math.max(modelPath.lastIndexOf('/'), modelPath.lastIndexOf('\\'));
  const stem = dot > slash + 1 ? modelPath.slice(0, dot) : modelPath;
  return [...new Set([`${modelPath}.meta.json`, `${stem}.meta.json`])];
}

/** Parse sidecar text (or bytes) into a value for applySidecar; invalid JSON is a coded error. */
export function parseSidecar(text: string | Uint8Array, file = '<sidecar>'): unknown {
  const s = typeof text === 'string' ? text : new TextDecoder('utf-8').decode(text);
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new NetinvertError('bad_sidecar', `${file}: is not valid JSON (${(e as Error).message}); expected a netinvert sidecar`, { file });
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Affine map model-units = raw·scale + shift, per feature. */
interface Affine {
  scale: Float64Array;
  shift: Float64Array;
}

class Checker {
  constructor(readonly file: string) {}

  fail(field: string, msg: string, code: ErrorCode = 'bad_sidecar'): never {
    throw new NetinvertError(code, `${this.file}: ${field}: ${msg}`, { file: this.file, field });
  }

  keys(v: Record<string, unknown>, allowed: string[], field: string): void {
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail(`${field}.${k}`, `unknown key; allowed keys are ${allowed.map((a) => `"${a}"`).join(', ')}`);
    }
  }

  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be a finite number (got ${JSON.stringify(v)})`);
    return v;
  }

  /** One number for all features, or one per feature. */
  perFeature(v: unknown, width: number, field: string): Float64Array {
    if (typeof v === 'number') return new Float64Array(width).fill(this.number(v, field));
    if (!Array.isArray(v)) this.fail(field, `must be a number or a list of ${width} numbers`);
    if (v.length !== width && v.length !== 1) this.fail(field, `has ${v.length} values; the tensor has ${width} features (give 1 or ${width})`);
    const a = v.map((x, i) => this.number(x, `${field}[${i}]`));
    return a.length === 1 ? new Float64Array(width).fill(a[0]) : Float64Array.from(a);
  }

  features(v: unknown, width: number, field: string): string[] {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.trim() === '')) {
      this.fail(field, 'must be a list of non-empty strings');
    }
    if (v.length !== width) this.fail(field, `has ${v.length} names; the tensor has ${width} features`);
    const seen = new Set<string>();
    for (const s of v as string[]) {
      if (seen.has(s)) this.fail(field, `names "${s}" twice; feature names must be distinct`);
      seen.add(s);
    }
    return (v as string[]).slice();
  }

  /** The scaler as raw → model units (an input's direction). */
  scaler(v: unknown, width: number, field: string): Affine {
    if (!isObj(v)) this.fail(field, 'must be an object such as {"type": "standard", "mean": ..., "std": ...}');
    let type = v.type;
    if (type === undefined) {
      const std = 'mean' in v || 'std' in v,
        mm = 'min' in v || 'max' in v;
      if (std === mm) this.fail(field, 'give "type" ("standard" or "minmax"), or either mean/std or min/max');
      type = std ? 'standard' : 'minmax';
    }
    const scale = new Float64Array(width),
      shift = new Float64Array(width);
    if (type === 'standard') {
      this.keys(v, ['type', 'mean', 'std'], field);
      if (!('mean' in v) || !('std' in v)) this.fail(field, 'a standard scaler needs "mean" and "std"');
      const mean = this.perFeature(v.mean, width, `${field}.mean`);
      const std = this.perFeature(v.std, width, `${field}.std`);
      for (let i = 0; i < width; i++) {
        if (!(std[i] > 0)) this.fail(`${field}.std`, `must be > 0 (feature ${i} has ${std[i]})`);
        scale[i] = 1 / std[i];
        shift[i] = -mean[i] / std[i];
      }
    } else if (type === 'minmax') {
      this.keys(v, ['type', 'min', 'max', 'range'], field);
      if (!('min' in v) || !('max' in v)) this.fail(field, 'a minmax scaler needs "min" and "max"');
      const lo = this.perFeature(v.min, width, `${field}.min`);
      const hi = this.perFeature(v.max, width, `${field}.max`);
      let r0 = 0,
        r1 = 1;
      if (v.range !== undefined) {
        if (!Array.isArray(v.range) || v.range.length !== 2) this.fail(`${field}.range`, 'must be [r0, r1]');
        r0 = this.number(v.range[0], `${field}.range[0]`);
        r1 = this.number(v.range[1], `${field}.range[1]`);
        if (!(r0 < r1)) this.fail(`${field}.range`, `must have r0 < r1 (got [${r0}, ${r1}])`);
      }
      for (let i = 0; i < width; i++) {
        if (!(hi[i] > lo[i])) this.fail(field, `max must be > min (feature ${i}: min ${lo[i]}, max ${hi[i]})`);
        scale[i] = (r1 - r0) / (hi[i] - lo[i]);
        shift[i] = r0 - lo[i] * scale[i];
      }
    } else {
      this.fail(`${field}.type`, `must be "standard" or "minmax" (got ${JSON.stringify(type)})`);
    }
    return { scale, shift };
  }
}

function invert(a: Affine): Affine {
  return { scale: a.scale.map((s) => 1 / s), shift: a.shift.map((t, i) => -t / a.scale[i]) };
}

/**
 * Apply a sidecar (already parsed JSON) to a model: rename features, wrap scalers around the
 * graph, set input ranges. Returns a new Model; the given one is not changed.
 */
export function applySidecar(model: Model, sidecar: unknown, file = '<sidecar>'): Model {
  const ck: Checker = new Checker(file);
  if (!isObj(sidecar)) ck.fail('(file)', 'must be a JSON object');
  if (sidecar.format !== SIDECAR_FORMAT) {
    ck.fail('format', `must be "${SIDECAR_FORMAT}" (got ${JSON.stringify(sidecar.format)}); is this a netinvert sidecar?`);
  }
  if (sidecar.version !== SIDECAR_VERSION) {
    ck.fail('version', `${JSON.stringify(sidecar.version)} is not supported; this netinvert reads version ${SIDECAR_VERSION}`, 'unsupported_format_version');
  }
  ck.keys(sidecar, ['format', 'version', 'description', 'model', 'inputs', 'outputs', 'immutable', 'prior', 'integers', 'categorical', 'oneHot'], '(file)');
  if (sidecar.immutable !== undefined && (!Array.isArray(sidecar.immutable) || sidecar.immutable.some((k) => typeof k !== 'string'))) {
    ck.fail('immutable', `must be a list of input feature names (got ${JSON.stringify(sidecar.immutable)})`);
  }
  for (const k of ['description', 'model'] as const) {
    if (sidecar[k] !== undefined && typeof sidecar[k] !== 'string') ck.fail(k, 'must be a string');
  }
  for (const k of ['inputs', 'outputs'] as const) {
    if (sidecar[k] !== undefined && !isObj(sidecar[k])) ck.fail(k, 'must be an object keyed by the model\'s tensor names');
  }
  const inSpec = (sidecar.inputs ?? {}) as Record<string, unknown>;
  const outSpec = (sidecar.outputs ?? {}) as Record<string, unknown>;

  const old = model.graph;
  const widths = new Map(model.network.layers().map((l) => [l.name, l.width]));
  const graph: GraphDef = {
    inputs: old.inputs.map((i) => ({ ...i, features: i.features?.slice() })),
    nodes: old.nodes.map((n) => ({ ...n, inputs: n.inputs.slice() })),
    outputs: old.outputs.map((o) => ({ ...o, name: o.name ?? o.node, features: o.features?.slice() })),
  };
  const used = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.nodes.map((n) => n.name)]);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}#${k}`;
    used.add(name);
    return name;
  };

  const md: ModelMetadata = { ...model.metadata };
  const inputRanges: Record<string, [number, number]> = { ...(md.inputRanges ?? {}) };
  const outputRanges: Record<string, [number, number]> = { ...(md.outputRanges ?? {}) };
  const prepend: GraphDef['nodes'] = [];
  const append: GraphDef['nodes'] = [];

  // ---- inputs: validate everything first ----
  const inputNames = graph.inputs.map((i) => i.name);
  const bounds: [string, [number, number]][] = [];
  for (const [name, spec] of Object.entries(inSpec)) {
    const field = `inputs["${name}"]`;
    const inp = graph.inputs.find((i) => i.name === name);
    if (!inp) ck.fail(field, `the model has no input "${name}"; its inputs are ${inputNames.map((n) => `"${n}"`).join(', ')}`, 'unknown_input');
    if (!isObj(spec)) ck.fail(field, 'must be an object with "features", "scaler" and/or "bounds"');
    ck.keys(spec, ['features', 'scaler', 'bounds'], field);
    const oldNames = featureNames(inp.name, inp.width, inp.features);
    const newNames = spec.features !== undefined ? ck.features(spec.features, inp.width, `${field}.features`) : oldNames;
    const scaler = spec.scaler !== undefined ? ck.scaler(spec.scaler, inp.width, `${field}.scaler`) : null;
    if (spec.bounds !== undefined) {
      if (!isObj(spec.bounds)) ck.fail(`${field}.bounds`, 'must be an object { feature: [lo, hi] }');
      for (const [feat, r] of Object.entries(spec.bounds)) {
        const bf = `${field}.bounds["${feat}"]`;
        if (!newNames.includes(feat)) {
          ck.fail(bf, `"${feat}" is not a feature of input "${name}"; its features are ${newNames.join(', ')}`, 'unknown_input');
        }
        if (!Array.isArray(r) || r.length !== 2 || r.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
          ck.fail(bf, `must be [lo, hi] with finite numbers (got ${JSON.stringify(r)})`, 'bad_bounds');
        }
        if (!(r[0] <= r[1])) ck.fail(bf, `lower bound ${r[0]} is above upper bound ${r[1]}`, 'bad_bounds');
        bounds.push([feat, [r[0], r[1]]]);
      }
    }
    // rename existing ranges; a new input scaler means they were in model units: map them back
    oldNames.forEach((o, i) => {
      const r = inputRanges[o];
      if (!r) return;
      delete inputRanges[o];
      inputRanges[newNames[i]] = scaler
        ? [(r[0] - scaler.shift[i]) / scaler.scale[i], (r[1] - scaler.shift[i]) / scaler.scale[i]]
        : r;
    });
    if (spec.features !== undefined) inp.features = newNames;
    if (scaler) {
      const scaled = unique(`${name}/scaled`);
      for (const n of graph.nodes) n.inputs = n.inputs.map((s) => (s === name ? scaled : s));
      for (const o of graph.outputs) if (o.node === name) o.node = scaled;
      prepend.push({ name: scaled, op: { type: 'affine', scale: scaler.scale, shift: scaler.shift }, inputs: [name] });
    }
  }
  for (const [feat, r] of bounds) inputRanges[feat] = r;

  // ---- outputs ----
  const outputNames = graph.outputs.map((o) => o.name!);
  for (const [name, spec] of Object.entries(outSpec)) {
    const field = `outputs["${name}"]`;
    const out = graph.outputs.find((o) => o.name === name);
    if (!out) ck.fail(field, `the model has no output "${name}"; its outputs are ${outputNames.map((n) => `"${n}"`).join(', ')}`, 'unknown_output');
    if (!isObj(spec)) ck.fail(field, 'must be an object with "features" and/or "scaler"');
    ck.keys(spec, ['features', 'scaler'], field);
    const width = widths.get(out.node) ?? 0;
    const oldNames = featureNames(name, width, out.features);
    const newNames = spec.features !== undefined ? ck.features(spec.features, width, `${field}.features`) : oldNames;
    const scaler = spec.scaler !== undefined ? invert(ck.scaler(spec.scaler, width, `${field}.scaler`)) : null;
    oldNames.forEach((o, i) => {
      const r = outputRanges[o];
      if (!r) return;
      delete outputRanges[o];
      outputRanges[newNames[i]] = scaler ? [r[0] * scaler.scale[i] + scaler.shift[i], r[1] * scaler.scale[i] + scaler.shift[i]] : r;
    });
    if (spec.features !== undefined) out.features = newNames;
    if (scaler) {
      const raw = unique(`${name}/unscaled`);
      append.push({ name: raw, op: { type: 'affine', scale: scaler.scale, shift: scaler.shift }, inputs: [out.node] });
      out.node = raw;
    }
  }
  graph.nodes = [...prepend, ...graph.nodes, ...append];

  md.inputRanges = Object.keys(inputRanges).length ? inputRanges : undefined;
  md.outputRanges = Object.keys(outputRanges).length ? outputRanges : undefined;
  md.extra = {
    ...(md.extra ?? {}),
    sidecar: {
      file,
      ...(typeof sidecar.description === 'string' ? { description: sidecar.description } : {}),
      ...(typeof sidecar.model === 'string' ? { model: sidecar.model } : {}),
    },
  };
  if (typeof sidecar.description === 'string' && !md.description) md.description = sidecar.description;
  if (sidecar.prior !== undefined) md.inputStats = sidecarPrior(ck, sidecar.prior);
  if (Array.isArray(sidecar.immutable)) md.immutable = [...new Set([...(md.immutable ?? []), ...(sidecar.immutable as string[])])];
  let out: Model;
  try {
    out = createModel(graph, md);
  } catch (e) {
    if (e instanceof NetinvertError) throw new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
    throw e;
  }
  for (const k of sidecar.prior !== undefined ? md.inputStats!.names : []) {
    if (!out.inputNames.includes(k)) ck.fail('prior.names', `"${k}" is not an input feature; the features are ${out.inputNames.join(', ')}`, 'unknown_input');
  }
  for (const k of md.immutable ?? []) {
    if (!out.inputNames.includes(k)) ck.fail('immutable', `"${k}" is not an input feature; the features are ${out.inputNames.join(', ')}`, 'unknown_input');
  }
  // discrete inputs, by final feature names: they replace any the model declared before
  const discrete = readDiscreteDeclarations(sidecar, out.inputNames, (f, m, c) => ck.fail(f, m, c));
  if (discrete) out.metadata.discrete = discrete;
  return out;
}
