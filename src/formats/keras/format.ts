/**
 * Keras model files, written down as types: the model config JSON (Keras 1, 2 and 3), the
 * `.keras` zip archive and the legacy `.h5` layout. Runtime conversion lives in load.ts and
 * layers.ts; nothing here executes.
 *
 * ── The model config (config.json in a .keras, the `model_config` attribute of a .h5, the
 *    `modelTopology` of a TF.js model.json) ───────────────────────────────────────────────
 *
 *   Sequential, newer dict style (Keras ≥ 2.2, Keras 3, TF.js):
 *     { "class_name": "Sequential", "config": { "name": "seq", "layers": [ <layer>, ... ] } }
 *   Sequential, old list style (Keras 1, Keras ≤ 2.1, TF.js 1.x):
 *     { "class_name": "Sequential", "config": [ <layer>, ... ] }
 *   Functional (Keras 2 "Model", Keras 3 "Functional"):
 *     { "class_name": "Model" | "Functional", "config": { "name": "m",
 *       "layers": [ <layer with "name" and "inbound_nodes"> ... ],
 *       "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_2", 0, 0]] } }
 *     Keras 3 may write a single input/output unnested: "input_layers": ["input_1", 0, 0].
 *
 *   A layer: { "class_name": "Dense", "config": { "name": "dense", "units": 3, ... },
 *              "module"?: "keras.layers", "registered_name"?: ..., "build_config"?: {...},
 *              "name"?: "dense", "inbound_nodes"?: [...] }
 *
 *   inbound_nodes, Keras 1/2 and TF.js: one entry per call of the layer, each a list of
 *     [layerName, nodeIndex, tensorIndex, kwargs?].
 *   inbound_nodes, Keras 3: one entry per call, { "args": [...], "kwargs": {...} }, where a
 *     tensor is { "class_name": "__keras_tensor__", "config": { "keras_history": [name, node, tensor] } }
 *     (several tensors, as for Concatenate, sit in a nested list inside args).
 *
 *   Input shapes: Keras 3 `batch_shape` (InputLayer), Keras 2 and TF.js `batch_input_shape`
 *   (InputLayer or first layer), TF.js `input_shape` (no batch dim), Keras 1/2 `input_dim`.
 *   Keras 1 Dense says `output_dim`, `init`, `bias` where Keras 2 says `units`,
 *   `kernel_initializer`, `use_bias`.
 *
 * ── .keras (Keras ≥ 2.13 / 3) ─────────────────────────────────────────────────────────────
 *   A zip with metadata.json ({"keras_version": "3.3.3", ...}), config.json (the model config
 *   above, plus compile_config) and model.weights.h5. Weights sit at
 *   `layers/<snake_case(class)>[_k]/vars/<i>`: the group is named after the layer's class, with
 *   a counter per class in model order (dense, dense_1, ...), not after the layer's name.
 *   tf.keras 2.15 saved on Windows joined those paths with a backslash: one HDF5 link named
 *   `layers\dense`. Variables are in build order: Dense kernel, bias; BatchNormalization gamma,
 *   beta, moving_mean, moving_variance (gamma/beta only when scale/center).
 *
 * ── legacy .h5 (model.save("x.h5")) ───────────────────────────────────────────────────────
 *   Root attributes model_config (JSON text), keras_version, backend, training_config.
 *   Group model_weights with attribute layer_names; one group per layer with attribute
 *   weight_names (e.g. "dense/kernel:0", Keras 1 "dense_1_W"), each a dataset path relative
 *   to that group. Strings may carry NUL padding.
 */

/** A JSON object as found in a config. */
export type JsonObject = { [key: string]: unknown };

/** One tensor reference in a Keras 1/2 or TF.js inbound node. */
export type KerasTensorRef = [layerName: string, nodeIndex: number, tensorIndex: number, kwargs?: JsonObject];

/** Keras 3: a symbolic tensor inside inbound_nodes[k].args. */
export interface Keras3TensorRef {
  class_name: '__keras_tensor__';
  config: { shape?: (number | null)[]; dtype?: string; keras_history: [string, number, number] };
}

/** Keras 3: one call of a layer. */
export interface Keras3InboundNode {
  args: unknown[];
  kwargs?: JsonObject;
}

export type KerasInboundNode = KerasTensorRef[] | Keras3InboundNode;

export interface KerasLayerJson {
  class_name: string;
  config: KerasLayerConfig;
  /** Functional models name the layer here too. */
  name?: string;
  inbound_nodes?: KerasInboundNode[];
  module?: string;
  registered_name?: string | null;
  build_config?: { input_shape?: (number | null)[] };
}

/** The keys of a layer config that the importer reads (others are ignored). */
export interface KerasLayerConfig extends JsonObject {
  name?: string;
  /** Keras 3 InputLayer. */
  batch_shape?: (number | null)[];
  /** Keras 2 / TF.js. */
  batch_input_shape?: (number | null)[];
  /** TF.js (no batch dimension). */
  input_shape?: (number | null)[];
  /** Keras 1 / 2 Dense shortcut. */
  input_dim?: number;
  // Dense
  units?: number;
  /** Keras 1 Dense. */
  output_dim?: number;
  use_bias?: boolean;
  /** Keras 1 Dense. */
  bias?: boolean;
  activation?: KerasActivationJson;
  // BatchNormalization
  axis?: number | number[];
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  // LeakyReLU / ELU / ReLU / ThresholdedReLU
  alpha?: number;
  negative_slope?: number;
  max_value?: number | null;
  threshold?: number;
  theta?: number;
  // Reshape / Flatten / Concatenate
  target_shape?: number[];
  data_format?: string;
}

/** An activation: a name, or (Keras 3 / some exporters) a serialized function object. */
export type KerasActivationJson =
  | string
  | null
  | { class_name: string; config?: string | JsonObject; module?: string; registered_name?: string | null };

export interface KerasFunctionalConfig {
  name?: string;
  layers: KerasLayerJson[];
  input_layers: KerasTensorRef[] | KerasTensorRef;
  output_layers: KerasTensorRef[] | KerasTensorRef;
}

export interface KerasSequentialConfig {
  name?: string;
  layers: KerasLayerJson[];
  /** Keras 3: the input shape when the model has no InputLayer. */
  build_input_shape?: (number | null)[];
}

export interface KerasModelJson {
  class_name: 'Sequential' | 'Model' | 'Functional' | string;
  config: KerasSequentialConfig | KerasLayerJson[] | KerasFunctionalConfig;
  keras_version?: string;
  backend?: string;
  module?: string;
  build_config?: { input_shape?: (number | null)[] };
}

/** metadata.json inside a .keras archive. */
export interface KerasArchiveMetadata {
  keras_version?: string;
  date_saved?: string;
}

/** The archive entries the importer reads. */
export const KERAS_ARCHIVE = {
  config: 'config.json',
  metadata: 'metadata.json',
  weights: 'model.weights.h5',
} as const;
