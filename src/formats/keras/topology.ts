/**
 * A Keras / TF.js model config (any of its spellings) → one normalized list of layers with
 * their inbound layers. Sequential (list or dict style) becomes a chain behind an input layer;
 * functional models keep their inbound_nodes (Keras 1/2/TF.js lists or Keras 3 objects).
 */
import { NetinvertError } from '../../errors.ts';
import type { JsonObject, KerasLayerJson } from './format.ts';

export interface LayerSpec {
  className: string;
  name: string;
  config: JsonObject;
  /** Names of the layers feeding this one, in order; empty for input layers. */
  inbound: string[];
  /** The layer's JSON as found (for build_config and messages). */
  json: KerasLayerJson;
}

export interface Topology {
  modelName?: string;
  modelClass: string;
  /** Every layer, input layers included, in file order. */
  layers: LayerSpec[];
  /** Input layer names, in the model's input order. */
  inputs: string[];
  /** Output layer names, in the model's output order. */
  outputs: string[];
}

/** Largest number of layers read (a hostile config cannot make us loop for long). */
export const MAX_LAYERS = 100_000;

export function isObj(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(file: string, where: string, msg: string): never {
  throw new NetinvertError('bad_model_file', `${file}: ${where}: ${msg}`, { file, field: where });
}

/** The input shape a layer config declares (batch dimension included), if any. */
export function declaredBatchShape(cfg: JsonObject): unknown[] | undefined {
  if (Array.isArray(cfg.batch_shape)) return cfg.batch_shape;
  if (Array.isArray(cfg.batch_input_shape)) return cfg.batch_input_shape;
  if (Array.isArray(cfg.input_shape)) return [null, ...cfg.input_shape];
  if (Array.isArray(cfg.shape)) return [null, ...cfg.shape];
  if (typeof cfg.input_dim === 'number') return [null, cfg.input_dim];
  return undefined;
}

function layerName(l: KerasLayerJson, i: number): string {
  const n = isObj(l.config) && typeof l.config.name === 'string' ? l.config.name : typeof l.name === 'string' ? l.name : '';
  return n || `layer_${i}`;
}

function layerList(v: unknown, file: string, where: string): KerasLayerJson[] {
  if (!Array.isArray(v)) bad(file, where, 'must be a list of layers');
  if (v.length > MAX_LAYERS) {
    // a resource cap, like the ONNX node cap: checked before any layer is looked at
    throw new NetinvertError('file_too_large', `${file}: ${where}: holds ${v.length} layers, above the ${MAX_LAYERS}-layer limit; netinvert reads small models`, {
      file,
      field: where,
      limit: MAX_LAYERS,
    });
  }
  v.forEach((l, i) => {
    if (!isObj(l) || typeof l.class_name !== 'string') bad(file, `${where}[${i}]`, 'needs "class_name" and "config"');
    if (l.config === undefined || l.config === null) (l as JsonObject).config = {};
    if (!isObj(l.config)) bad(file, `${where}[${i}].config`, 'must be an object');
  });
  return v as KerasLayerJson[];
}

/** [name, node, tensor] references: `[[..],[..]]`, or one unnested `[name, 0, 0]` (Keras 3). */
function refList(v: unknown, file: string, where: string): string[] {
  if (!Array.isArray(v)) bad(file, where, 'must be a list of [layer, node, tensor] references');
  const refs = v.length > 0 && typeof v[0] === 'string' ? [v] : v;
  return refs.map((r, i) => {
    if (!Array.isArray(r) || typeof r[0] !== 'string') bad(file, `${where}[${i}]`, 'must be [layer name, node index, tensor index]');
    if (typeof r[2] === 'number' && r[2] !== 0) {
      throw new NetinvertError(
        'unsupported_op',
        `${file}: ${where}[${i}] uses output ${r[2]} of layer "${r[0]}"; netinvert supports layers with one output`,
        { file, layer: r[0] },
      );
    }
    return r[0];
  });
}

/** Keras 3 inbound args: collect keras_history layer names from nested lists/objects. */
function kerasTensors(v: unknown, out: string[], depth = 0): void {
  if (depth > 8) return;
  if (Array.isArray(v)) {
    for (const x of v) kerasTensors(x, out, depth + 1);
  } else if (isObj(v)) {
    if (v.class_name === '__keras_tensor__' && isObj(v.config) && Array.isArray(v.config.keras_history)) {
      const h = v.config.keras_history;
      if (typeof h[0] === 'string') out.push(h[0]);
    }
  }
}

function inboundOf(l: KerasLayerJson, name: string, file: string): string[] {
  const nodes = l.inbound_nodes;
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes)) bad(file, `layer "${name}".inbound_nodes`, 'must be a list');
  if (nodes.length === 0) return [];
  if (nodes.length > 1) {
    throw new NetinvertError(
      'unsupported_op',
      `${file}: layer "${name}" (${l.class_name}) is called ${nodes.length} times (a shared layer); netinvert imports models where each layer is used once. Rebuild the model with separate layers`,
      { file, layer: name, op: l.class_name },
    );
  }
  const node = nodes[0];
  if (Array.isArray(node)) return refList(node, file, `layer "${name}".inbound_nodes[0]`);
  if (isObj(node)) {
    const out: string[] = [];
    kerasTensors(node.args, out);
    if (!out.length) bad(file, `layer "${name}".inbound_nodes[0]`, 'names no input tensor');
    return out;
  }
  return bad(file, `layer "${name}".inbound_nodes[0]`, 'is neither a list of references nor a Keras 3 call');
}

/**
 * Normalize a model config. `json` is the { class_name, config } object (a .keras config.json,
 * a .h5 model_config, or a TF.js modelTopology with any model_config wrapper removed).
 */
export function parseTopology(json: unknown, file: string): Topology {
  if (!isObj(json) || typeof json.class_name !== 'string') {
    bad(file, 'model config', 'must be an object with "class_name" and "config" (a Keras model config)');
  }
  const cls = json.class_name;
  const cfg = json.config;
  if (cls === 'Sequential') return sequential(json, cfg, file);
  if (cls === 'Model' || cls === 'Functional') return functional(cls, cfg, file);
  throw new NetinvertError(
    'unsupported_op',
    `${file}: the model class "${cls}" is not supported (a subclassed model carries Python code); netinvert imports Sequential and functional models. Rebuild it as keras.Sequential or keras.Model(inputs, outputs) and save again, or export to ONNX`,
    { file, op: cls },
  );
}

function sequential(model: JsonObject, cfg: unknown, file: string): Topology {
  const raw = Array.isArray(cfg) ? cfg : isObj(cfg) ? cfg.layers : undefined;
  const list = layerList(raw, file, 'Sequential layers');
  const modelName = isObj(cfg) && typeof cfg.name === 'string' ? cfg.name : undefined;
  if (list.length === 0) {
    throw new NetinvertError('no_inputs', `${file}: the Sequential model "${modelName ?? ''}" has no layers; save a model with at least one layer`, {
      file,
    });
  }
  const layers: LayerSpec[] = [];
  let start = 0;
  let inputName: string;
  const first = list[0];
  if (first.class_name === 'InputLayer') {
    inputName = layerName(first, 0);
    layers.push({ className: 'InputLayer', name: inputName, config: first.config as JsonObject, inbound: [], json: first });
    start = 1;
  } else {
    // Keras and TF.js name the implicit input "<first layer>_input".
    inputName = `${layerName(first, 0)}_input`;
    const fc = first.config as JsonObject;
    const shape =
      declaredBatchShape(fc) ??
      (isObj(cfg) && Array.isArray(cfg.build_input_shape) ? cfg.build_input_shape : undefined) ??
      (isObj(model.build_config) && Array.isArray(model.build_config.input_shape) ? model.build_config.input_shape : undefined) ??
      (isObj(first.build_config) && Array.isArray(first.build_config.input_shape) ? first.build_config.input_shape : undefined);
    if (!shape) {
      throw new NetinvertError(
        'no_inputs',
        `${file}: the Sequential model declares no input shape (it was saved before being built); add an Input layer (or input_shape on the first layer) and save again`,
        { file },
      );
    }
    const json: KerasLayerJson = { class_name: 'InputLayer', config: { name: inputName, batch_input_shape: shape as (number | null)[] } };
    layers.push({ className: 'InputLayer', name: inputName, config: json.config, inbound: [], json });
  }
  let prev = inputName;
  for (let i = start; i < list.length; i++) {
    const l = list[i];
    const name = layerName(l, i);
    if (l.class_name === 'InputLayer') bad(file, `layer "${name}"`, 'an InputLayer can only come first in a Sequential model');
    layers.push({ className: l.class_name, name, config: l.config as JsonObject, inbound: [prev], json: l });
    prev = name;
  }
  return { modelName, modelClass: 'Sequential', layers, inputs: [inputName], outputs: [prev] };
}

function functional(cls: string, cfg: unknown, file: string): Topology {
  if (!isObj(cfg)) bad(file, `${cls} config`, 'must be an object with "layers", "input_layers" and "output_layers"');
  const list = layerList(cfg.layers, file, `${cls} layers`);
  const modelName = typeof cfg.name === 'string' ? cfg.name : undefined;
  if (list.length === 0) {
    throw new NetinvertError('no_inputs', `${file}: the model "${modelName ?? ''}" has no layers; save a model with at least one layer`, { file });
  }
  const layers = list.map((l, i): LayerSpec => {
    const name = layerName(l, i);
    return { className: l.class_name, name, config: l.config as JsonObject, inbound: inboundOf(l, name, file), json: l };
  });
  const inputs = cfg.input_layers === undefined ? [] : refList(cfg.input_layers, file, 'input_layers');
  const outputs = cfg.output_layers === undefined ? [] : refList(cfg.output_layers, file, 'output_layers');
  if (inputs.length === 0) {
    throw new NetinvertError('no_inputs', `${file}: the model "${modelName ?? ''}" declares no input layers (input_layers is empty); save a model built from keras.Input`, {
      file,
    });
  }
  if (outputs.length === 0) {
    throw new NetinvertError('no_outputs', `${file}: the model "${modelName ?? ''}" declares no outputs (output_layers is empty)`, { file });
  }
  return { modelName, modelClass: cls, layers, inputs, outputs };
}
