/**
 * TF.js layers models (model.json + weight shards) → Model. The topology is a Keras model
 * config, converted by the shared Keras layer code; weights come from the manifest. Bytes in,
 * never paths: the caller's `readWeights` returns a shard's bytes for a manifest path.
 */
import { NetinvertError } from '../../errors.ts';
import type { GraphDef } from '../../graph/types.ts';
import { createModel, type Model, type ModelMetadata } from '../../model.ts';
import { MAX_TENSOR_VALUES, type WeightTensor } from '../keras/hdf5.ts';
import { layerHasWeights, topologyToGraph } from '../keras/layers.ts';
import { rethrowUnexpected } from '../keras/guard.ts';
import { isObj, parseTopology, type LayerSpec } from '../keras/topology.ts';
import { TFJS_STORAGE_BYTES, type TfjsQuantization, type TfjsWeightSpec } from './format.ts';
import { halfToNumber } from '../half.ts';

export interface TfjsLoadOptions {
  /** Name of model.json, used in messages and metadata. */
  file?: string;
}

/** Largest model.json text accepted, and largest total of weight bytes. */
export const TFJS_MAX_JSON_BYTES = 64 * 1024 * 1024;
export const TFJS_MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;

function bad(file: string, msg: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_model_file', `${file}: ${msg}`, { file, ...detail });
}

interface PlannedWeight {
  spec: TfjsWeightSpec;
  group: number;
  count: number;
  /** Storage type: float32, uint8, uint16 or float16. */
  storage: string;
  bytes: number;
}

/** Check a weight spec and work out its size, before any byte is read. */
function planWeight(spec: unknown, group: number, index: number, file: string): PlannedWeight {
  const where = `weightsManifest[${group}].weights[${index}]`;
  if (!isObj(spec) || typeof spec.name !== 'string') bad(file, `${where} needs a "name"`);
  const name = spec.name;
  const shape = spec.shape;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    bad(file, `weight "${name}" (${where}) has an invalid shape ${JSON.stringify(shape)}`, { field: name });
  }
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (count > MAX_TENSOR_VALUES) {
      throw new NetinvertError(
        'file_too_large',
        `${file}: weight "${name}" declares shape ${JSON.stringify(shape)}, above the ${MAX_TENSOR_VALUES}-value limit; netinvert reads small models`,
        { file, field: name },
      );
    }
  }
  const dtype = spec.dtype;
  const q = spec.quantization as TfjsQuantization | undefined;
  let storage: string;
  if (q !== undefined) {
    if (!isObj(q) || !['uint8', 'uint16', 'float16'].includes(q.dtype as string)) {
      bad(file, `weight "${name}" has an unknown quantization ${JSON.stringify(q)}; TF.js knows uint8, uint16 and float16`, { field: name });
    }
    if (dtype !== 'float32') {
      bad(file, `weight "${name}" is a quantized ${String(dtype)}; netinvert reads float32 weights (re-convert without quantization)`, { field: name });
    }
    if (q.dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min))) {
      bad(file, `weight "${name}" is ${q.dtype}-quantized without finite "scale" and "min"`, { field: name });
    }
    storage = q.dtype;
  } else if (typeof dtype === 'string' && dtype in TFJS_STORAGE_BYTES) {
    // Non-float tensors (int32, bool) are sized here so the weights after them can be found;
    // reading one as a layer weight is refused in decodeWeight.
    storage = dtype;
  } else {
    bad(
      file,
      `weight "${name}" has dtype ${JSON.stringify(dtype)}, which has no fixed size; netinvert reads float32 weights (uint8/uint16/float16 quantization included). Save the model with float32 weights`,
      { field: name },
    );
  }
  return { spec: spec as unknown as TfjsWeightSpec, group, count, storage, bytes: count * TFJS_STORAGE_BYTES[storage] };
}

function decodeWeight(p: PlannedWeight, buf: Uint8Array, offset: number, file: string, layer: string): Float64Array {
  if (!['float32', 'float16', 'uint8', 'uint16'].includes(p.storage) || (p.spec.quantization === undefined && p.storage !== 'float32')) {
    bad(
      file,
      `weight "${p.spec.name}" of ${layer} has dtype ${p.spec.dtype}; netinvert reads float32 weights (uint8/uint16/float16 quantization included). Save the model with float32 weights`,
      { field: p.spec.name },
    );
  }
  const view = new DataView(buf.buffer, buf.byteOffset + offset, p.bytes);
  const out = new Float64Array(p.count);
  const q = p.spec.quantization;
  switch (p.storage) {
    case 'float32':
      for (let i = 0; i < p.count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'float16':
      for (let i = 0; i < p.count; i++) out[i] = halfToNumber(view.getUint16(i * 2, true));
      break;
    case 'uint8':
    case 'uint16': {
      // As TF.js: q·scale + min, stored in a Float32Array.
      const scale = q!.scale!,
        min = q!.min!;
      const wide = p.storage === 'uint16';
      for (let i = 0; i < p.count; i++) out[i] = Math.fround((wide ? view.getUint16(i * 2, true) : view.getUint8(i)) * scale + min);
      break;
    }
  }
  return out;
}

/**
 * Read a TF.js layers model. `modelJson` is the text or the parsed object of model.json;
 * `readWeights(path)` returns the bytes of a shard named in its weightsManifest.
 */
export function loadTfjsModel(
  modelJson: string | object,
  readWeights: (path: string) => Uint8Array | ArrayBuffer,
  options: TfjsLoadOptions = {},
): Model {
  const file = options.file ?? 'model.json';
  return rethrowUnexpected(file, () => loadTfjs(modelJson, readWeights, file));
}

function loadTfjs(modelJson: string | object, readWeights: (path: string) => Uint8Array | ArrayBuffer, file: string): Model {
  let root: unknown = modelJson;
  if (typeof modelJson === 'string') {
    if (modelJson.trim() === '') bad(file, 'is empty; expected a TF.js model.json');
    if (modelJson.length > TFJS_MAX_JSON_BYTES) {
      throw new NetinvertError('file_too_large', `${file}: ${modelJson.length} characters is above the ${TFJS_MAX_JSON_BYTES} limit for model.json`, { file });
    }
    try {
      root = JSON.parse(modelJson);
    } catch (e) {
      bad(file, `is not valid JSON (${(e as Error).message}); expected a TF.js model.json`);
    }
  }
  if (!isObj(root)) bad(file, 'must be a JSON object with "modelTopology" and "weightsManifest" (a TF.js layers model)');
  if (root.format === 'graph-model' || (isObj(root.modelTopology) && Array.isArray(root.modelTopology.node))) {
    throw new NetinvertError(
      'unsupported_format_version',
      `${file}: is a TF.js graph model (a frozen TensorFlow graph); netinvert reads TF.js layers models. Convert the Keras model with tensorflowjs_converter --output_format tfjs_layers_model, or export it to ONNX`,
      { file },
    );
  }
  if (!isObj(root.modelTopology)) {
    bad(file, 'has no "modelTopology"; a TF.js layers model.json holds the model topology and its weightsManifest');
  }
  let topoJson: Record<string, unknown> = root.modelTopology;
  let kerasVersion = typeof topoJson.keras_version === 'string' ? topoJson.keras_version : undefined;
  if (isObj(topoJson.model_config)) {
    // The Python converter nests the Keras config.
    topoJson = topoJson.model_config;
    kerasVersion ??= typeof topoJson.keras_version === 'string' ? topoJson.keras_version : undefined;
  }
  const topo = parseTopology(topoJson, file);

  // ── plan the weights: sizes from the manifest, checked against the shards' bytes ───────
  const manifest = root.weightsManifest ?? [];
  if (!Array.isArray(manifest)) bad(file, '"weightsManifest" must be a list of weight groups');
  const byName = new Map<string, { plan: PlannedWeight; offset: number; buf: Uint8Array }>();
  const order: string[] = [];
  let total = 0;
  manifest.forEach((g, gi) => {
    if (!isObj(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      bad(file, `weightsManifest[${gi}] needs "paths" and "weights" lists`);
    }
    const plans = g.weights.map((w, wi) => planWeight(w, gi, wi, file));
    const declared = plans.reduce((a, p) => a + p.bytes, 0);
    const shards = (g.paths as unknown[]).map((path, pi) => {
      if (typeof path !== 'string' || path === '') bad(file, `weightsManifest[${gi}].paths[${pi}] must be a file name`);
      let raw: Uint8Array | ArrayBuffer;
      try {
        raw = readWeights(path);
      } catch (e) {
        if (e instanceof NetinvertError) throw e;
        return bad(file, `cannot read weight shard "${path}" (${(e as Error)?.message ?? String(e)}); keep the shard files next to model.json`, { field: path });
      }
      const u = raw instanceof Uint8Array ? raw : raw instanceof ArrayBuffer ? new Uint8Array(raw) : null;
      if (!u) bad(file, `weight shard "${path}" was not returned as bytes`);
      return u;
    });
    const actual = shards.reduce((a, s) => a + s.length, 0);
    if (declared > actual) {
      bad(
        file,
        `weightsManifest[${gi}] declares ${declared} bytes of weights (${plans.length} tensors) but its shards ${JSON.stringify(g.paths)} hold ${actual} bytes; a shard is truncated or belongs to another model. Re-save the model`,
        { field: `weightsManifest[${gi}]`, declared, actual },
      );
    }
    total += actual;
    if (total > TFJS_MAX_WEIGHT_BYTES) {
      throw new NetinvertError('file_too_large', `${file}: the weight shards hold more than ${TFJS_MAX_WEIGHT_BYTES} bytes; netinvert reads small models`, { file });
    }
    // Shards of a group are one byte stream, in manifest order.
    let buf: Uint8Array;
    if (shards.length === 1) buf = shards[0];
    else {
      buf = new Uint8Array(actual);
      let o = 0;
      for (const s of shards) buf.set(s, o), (o += s.length);
    }
    let offset = 0;
    for (const p of plans) {
      if (byName.has(p.spec.name)) bad(file, `weight "${p.spec.name}" appears twice in the weightsManifest`, { field: p.spec.name });
      byName.set(p.spec.name, { plan: p, offset, buf });
      order.push(p.spec.name);
      offset += p.bytes;
    }
  });

  const weightsOf = (layer: LayerSpec): WeightTensor[] => {
    // TF.js names weights "<layer>/<weight>"; converted models may add a scope in front.
    const own = order.filter((n) => n.startsWith(`${layer.name}/`));
    const names = own.length ? own : order.filter((n) => n.includes(`/${layer.name}/`));
    if (!names.length && layerHasWeights(layer.className)) {
      bad(
        file,
        `no weights for layer "${layer.name}" (${layer.className}) in the weightsManifest (expected names like "${layer.name}/kernel"); the manifest holds ${order.slice(0, 8).join(', ') || 'nothing'}${order.length > 8 ? ', …' : ''}`,
        { layer: layer.name },
      );
    }
    return names.map((n) => {
      const { plan, offset, buf } = byName.get(n)!;
      return { path: n, shape: plan.spec.shape.slice(), values: decodeWeight(plan, buf, offset, file, `layer "${layer.name}" (${layer.className})`) };
    });
  };

  const warnings: string[] = [];
  const generatedBy = typeof root.generatedBy === 'string' ? root.generatedBy : undefined;
  const producer = generatedBy ?? kerasVersion;
  const graph: GraphDef = topologyToGraph(topo, { file, kerasMajor: 2, weightsOf, warnings });
  const metadata: ModelMetadata = {
    ...(topo.modelName ? { name: topo.modelName } : {}),
    precision: 'float32',
    source: { format: 'tfjs-layers', file, ...(producer ? { producer } : {}), ...(kerasVersion ? { version: kerasVersion } : {}) },
    ...(warnings.length ? { warnings } : {}),
    extra: { layers: topo.layers.map((l) => ({ name: l.name, class: l.className })) },
  };
  try {
    return createModel(graph, metadata);
  } catch (e) {
    if (e instanceof NetinvertError) throw new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
    throw e;
  }
}
