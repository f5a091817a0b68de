/**
 * Keras model files → Model: `.keras` archives (Keras ≥ 2.13 and 3) and legacy `.h5`
 * (Keras 1, 2, and Keras 3's legacy writer). Bytes in, never paths. The file's own layout is
 * documented in format.ts; layers become graph nodes in layers.ts.
 */
import { strFromU8 } from 'fflate';
import { NetinvertError } from '../../errors.ts';
import type { GraphDef } from '../../graph/types.ts';
import { createModel, type Model, type ModelMetadata } from '../../model.ts';
import { KERAS_ARCHIVE, type JsonObject } from './format.ts';
import {
  attrNames,
  attrText,
  child,
  childNames,
  isDataset,
  isGroup,
  looksLikeHdf5,
  openHdf5,
  readFloatDataset,
  resolvePath,
  type H5Group,
  type WeightTensor,
} from './hdf5.ts';
import { kerasSnakeCase, layerHasWeights, topologyToGraph, type ConvertContext } from './layers.ts';
import { isObj, parseTopology, type LayerSpec, type Topology } from './topology.ts';
import { rethrowUnexpected } from './guard.ts';
import { extractZipEntry, looksLikeZip, readZipDirectory } from './zip.ts';

export interface KerasLoadOptions {
  /** Name of the file, used in messages and metadata. */
  file?: string;
}

/** Largest model file accepted, and largest uncompressed weights entry of a .keras archive. */
export const KERAS_MAX_BYTES = 512 * 1024 * 1024;
/** Largest uncompressed config.json / metadata.json. */
export const KERAS_MAX_CONFIG_BYTES = 32 * 1024 * 1024;

/** Keras 1 layers whose config and weights the importer translates (same maths as Keras 2). */
const KERAS1_LAYERS = new Set(['InputLayer', 'Dense', 'Activation', 'Dropout', 'Flatten', 'Reshape', 'LeakyReLU', 'ELU']);

function bad(file: string, msg: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_model_file', `${file}: ${msg}`, { file, ...detail });
}

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return bad(file, `${what} is not valid JSON (${(e as Error).message}); the file is damaged. Re-save the model from Keras`);
  }
}

function majorOf(version: string | undefined): number | undefined {
  const m = version ? /^(\d+)\./.exec(version) : null;
  return m ? Number(m[1]) : undefined;
}

/** Strip Keras 3's "module"/"registered_name" wrappers: nothing to do, configs read the same. */
function unwrapModelConfig(v: unknown, file: string): JsonObject {
  if (!isObj(v)) bad(file, 'the model config must be a JSON object');
  // TF.js-converter style nesting ({ model_config: {...} }) also appears in some .h5 tools.
  if (isObj(v.model_config) && typeof v.class_name !== 'string') return v.model_config;
  return v;
}

/** Keras 1 configs use other key names; translate the few layers whose maths did not change. */
function translateKeras1(topo: Topology, file: string, version: string): void {
  for (const l of topo.layers) {
    if (!KERAS1_LAYERS.has(l.className)) {
      throw new NetinvertError(
        'unsupported_format_version',
        `${file}: layer "${l.name}" (${l.className}) comes from Keras ${version}; netinvert reads Keras 1 files only for ${[...KERAS1_LAYERS].join(', ')} layers. Load the file in Keras 2 (keras.models.load_model converts Keras 1 models) and save it again with model.save("model.h5"), or save as .keras`,
        { file, layer: l.name, op: l.className },
      );
    }
    if (l.className === 'Dense') {
      const c = l.config;
      if (c.units === undefined && c.output_dim !== undefined) c.units = c.output_dim;
      if (c.use_bias === undefined && c.bias !== undefined) c.use_bias = c.bias;
    }
  }
}

function isKeras1Config(topo: Topology): boolean {
  return topo.layers.some((l) => l.className === 'Dense' && l.config.output_dim !== undefined && l.config.units === undefined);
}

/** Assemble the Model; every graph problem is reported with the file's name. */
function finish(graph: GraphDef, topo: Topology, file: string, metadata: ModelMetadata): Model {
  metadata.name ??= topo.modelName;
  metadata.extra = {
    ...(metadata.extra ?? {}),
    layers: topo.layers.map((l) => ({ name: l.name, class: l.className })),
  };
  try {
    return createModel(graph, metadata);
  } catch (e) {
    if (e instanceof NetinvertError) {
      throw new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
    }
    throw e;
  }
}

/** Read a Keras `.keras` or `.h5` model from its bytes. */
export function loadKerasModel(data: Uint8Array | ArrayBuffer, options: KerasLoadOptions = {}): Model {
  const file = options.file ?? '<keras model>';
  return rethrowUnexpected(file, () => loadKeras(data, file));
}

function loadKeras(data: Uint8Array | ArrayBuffer, file: string): Model {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length === 0) bad(file, 'is empty (0 bytes); expected a Keras .keras or .h5 model file');
  if (bytes.length > KERAS_MAX_BYTES) {
    throw new NetinvertError('file_too_large', `${file}: ${bytes.length} bytes is above the ${KERAS_MAX_BYTES}-byte limit for Keras models`, { file });
  }
  if (looksLikeZip(bytes)) return loadKerasArchive(bytes, file);
  if (looksLikeHdf5(bytes)) return loadKerasH5(bytes, file);
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 64)).trimStart();
  const hint = head.startsWith('{')
    ? ' It looks like JSON: a TF.js model.json is read by loadTfjsModel, a Keras config without weights cannot be used'
    : '';
  return bad(file, `is neither a .keras archive (zip) nor a Keras .h5 (HDF5) file.${hint}`);
}

// ── .keras ──────────────────────────────────────────────────────────────────────────────

function loadKerasArchive(bytes: Uint8Array, file: string): Model {
  const dir = readZipDirectory(bytes, file);
  const cfgEntry = dir.get(KERAS_ARCHIVE.config);
  if (!cfgEntry) {
    bad(file, `is a zip archive without ${KERAS_ARCHIVE.config}; a .keras file holds config.json, metadata.json and model.weights.h5 (save with model.save("model.keras"))`);
  }
  const text = (name: string): string => strFromU8(extractZipEntry(bytes, dir.get(name)!, KERAS_MAX_CONFIG_BYTES, file));
  const config = unwrapModelConfig(parseJson(text(KERAS_ARCHIVE.config), file, KERAS_ARCHIVE.config), file);
  let version: string | undefined;
  if (dir.has(KERAS_ARCHIVE.metadata)) {
    const meta = parseJson(text(KERAS_ARCHIVE.metadata), file, KERAS_ARCHIVE.metadata);
    if (isObj(meta) && typeof meta.keras_version === 'string') version = meta.keras_version;
  }
  const wEntry = dir.get(KERAS_ARCHIVE.weights);
  if (!wEntry) {
    const other = [...dir.keys()].find((n) => n.startsWith('model.weights'));
    bad(
      file,
      other
        ? `stores its weights as ${other}; netinvert reads ${KERAS_ARCHIVE.weights} (save with Keras' default weights format)`
        : `has no ${KERAS_ARCHIVE.weights}; the archive holds no weights`,
    );
  }
  const wBytes = extractZipEntry(bytes, wEntry, KERAS_MAX_BYTES, file);
  const where = `${file}!${KERAS_ARCHIVE.weights}`;
  const h5 = openHdf5(wBytes, where);
  const topo = parseTopology(config, file);
  // Keras 3 wrote the .keras format first; tf.keras 2.13–2.15 wrote it too (metadata says).
  const major = majorOf(version) ?? (typeof config.module === 'string' ? 3 : 2);

  // Weight groups are named after the layer class, with a counter per class in model order.
  // Sequential models do not list their InputLayer among their layers.
  const paths = new Map<string, string>();
  const used = new Map<string, number>();
  for (const l of topo.layers) {
    if (topo.modelClass === 'Sequential' && l.className === 'InputLayer') continue;
    const base = kerasSnakeCase(l.className);
    const k = used.get(base);
    used.set(base, k === undefined ? 0 : k + 1);
    paths.set(l.name, k === undefined ? `layers/${base}` : `layers/${base}_${k + 1}`);
  }
  const weightsOf = (layer: LayerSpec): WeightTensor[] => {
    const candidates = [paths.get(layer.name), `layers/${layer.name}`].filter((p): p is string => !!p);
    for (const p of candidates) {
      const g = resolvePath(h5, p, where);
      if (!g || !isGroup(g)) continue;
      const vars = resolvePath(g, 'vars', where);
      if (!vars || !isGroup(vars)) return [];
      const names = childNames(vars, where, `${p}/vars`)
        .filter((n) => /^\d+$/.test(n))
        .sort((a, b) => Number(a) - Number(b));
      return names.map((n) => {
        const ds = child(vars, n, where, `${p}/vars`);
        if (!isDataset(ds)) bad(where, `${p}/vars/${n} is not a dataset`);
        return readFloatDataset(ds, `${p}/vars/${n}`, wBytes.length, where, `layer "${layer.name}" (${layer.className})`);
      });
    }
    if (!layerHasWeights(layer.className)) return [];
    const top = resolvePath(h5, 'layers', where);
    const have = top && isGroup(top) ? childNames(top, where, 'layers').join(', ') : childNames(h5, where, '/').join(', ');
    return bad(
      where,
      `no weights for layer "${layer.name}" (${layer.className}) at ${candidates.join(' or ')}; the file holds ${have || 'nothing'}. Re-save the model with model.save("model.keras")`,
      { layer: layer.name },
    );
  };
  const metadata: ModelMetadata = {
    precision: 'float32',
    source: { format: 'keras', file, producer: version ? `keras ${version}` : 'keras', ...(version ? { version } : {}) },
    warnings: [],
  };
  const graph = convert(topo, file, major, version, weightsOf, metadata.warnings!);
  if (!metadata.warnings!.length) delete metadata.warnings;
  return finish(graph, topo, file, metadata);
}

function convert(
  topo: Topology,
  file: string,
  major: number,
  version: string | undefined,
  weightsOf: (l: LayerSpec) => WeightTensor[],
  warnings: string[],
): GraphDef {
  let kerasMajor = major;
  if (major === 1 || isKeras1Config(topo)) {
    translateKeras1(topo, file, version ?? '1.x');
    kerasMajor = 1;
  }
  const ctx: ConvertContext = { file, kerasMajor, weightsOf, warnings };
  return topologyToGraph(topo, ctx);
}

// ── legacy .h5 ──────────────────────────────────────────────────────────────────────────

function loadKerasH5(bytes: Uint8Array, file: string): Model {
  const h5 = openHdf5(bytes, file);
  const cfgText = attrText(h5, 'model_config', file, 'the root group');
  if (cfgText === undefined) {
    const keys = childNames(h5, file, '/');
    if (keys.some((k) => k === 'layers' || k.startsWith('layers\\'))) {
      bad(file, `is the weights file of a .keras archive (model.weights.h5), not a model; pass the .keras file itself`);
    }
    if (keys.includes('inputs') && keys.includes('outputs') && !keys.includes('model_weights')) {
      bad(file, 'holds arrays of inputs and outputs (test data), not a Keras model; pass the model file saved with model.save');
    }
    bad(
      file,
      'has no model_config attribute: it holds weights only (saved with save_weights) or is not a Keras model. Save the whole model with model.save("model.keras") (or model.save("model.h5"))',
    );
  }
  const config = unwrapModelConfig(parseJson(cfgText, file, 'the model_config attribute'), file);
  const version = attrText(h5, 'keras_version', file, 'the root group');
  const backend = attrText(h5, 'backend', file, 'the root group');
  const topo = parseTopology(config, file);
  const major = majorOf(version) ?? (isKeras1Config(topo) ? 1 : 2);

  const mw = child(h5, 'model_weights', file, '/');
  const weightsRoot: H5Group = mw && isGroup(mw) ? mw : h5;
  const layerNames = new Set(attrNames(weightsRoot, 'layer_names', file, 'model_weights') ?? []);
  const weightsOf = (layer: LayerSpec): WeightTensor[] => {
    const where = `model_weights/${layer.name}`;
    const g = layerNames.size === 0 || layerNames.has(layer.name) ? child(weightsRoot, layer.name, file, 'model_weights') : null;
    if (!g || !isGroup(g)) {
      if (!layerHasWeights(layer.className)) return [];
      return bad(
        file,
        `no weights for layer "${layer.name}" (${layer.className}) under model_weights; the file was saved without weights or is damaged. Save the whole model with model.save`,
        { layer: layer.name },
      );
    }
    const names = attrNames(g, 'weight_names', file, where) ?? [];
    return names.map((wn) => {
      const ds = child(g, wn, file, where);
      if (!isDataset(ds)) bad(file, `weight ${where}/${wn} of layer "${layer.name}" (${layer.className}) is missing; the file is damaged`, { layer: layer.name });
      return readFloatDataset(ds, `${where}/${wn}`, bytes.length, file, `layer "${layer.name}" (${layer.className})`);
    });
  };
  const metadata: ModelMetadata = {
    precision: 'float32',
    source: {
      format: 'keras-h5',
      file,
      producer: `keras ${version ?? '(unknown version)'}${backend ? ` (${backend})` : ''}`,
      ...(version ? { version } : {}),
    },
    warnings: [],
  };
  const graph = convert(topo, file, major, version, weightsOf, metadata.warnings!);
  if (!metadata.warnings!.length) delete metadata.warnings;
  return finish(graph, topo, file, metadata);
}
