/**
 * The TF.js layers-model file (model.json + binary weight shards), written down as types.
 * Mirrors tfjs-core's io types (ModelJSON, WeightsManifestConfig) and the model topology of
 * tfjs-layers' keras_format, which is the Keras model config with snake_case keys:
 *
 *   {
 *     "format": "layers-model",                      // absent in files from tfjs-layers ≤ 1.1
 *     "generatedBy": "TensorFlow.js tfjs-layers v1.2.9" | "keras v2.4.0",
 *     "convertedBy": null | "TensorFlow.js Converter v3.x",
 *     "modelTopology": <Keras model config>
 *                    | { "keras_version": "...", "backend": "...",
 *                        "model_config": <Keras model config>,   // the Python converter nests it
 *                        "training_config": {...} },
 *     "weightsManifest": [
 *       { "paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
 *         "weights": [{ "name": "dense/kernel", "shape": [4, 8], "dtype": "float32" }, ...] }
 *     ]
 *   }
 *
 * Shards of a group are concatenated in order; the group's weights are laid out back to back
 * in that byte stream, each taking prod(shape)·bytes(dtype) bytes (little-endian). A weight may
 * be quantized: { quantization: { dtype: "uint8" | "uint16", scale, min } } stores
 * round((w − min)/scale) and is read back as q·scale + min; dtype "float16" stores halves.
 *
 * The Keras model config itself (Sequential as a list or as { name, layers }, functional
 * "Model" with inbound_nodes) is typed in ../keras/format.ts.
 */
import type { KerasModelJson } from '../keras/format.ts';

export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'string' | 'complex64';

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: TfjsDtype;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: TfjsDtype;
  quantization?: TfjsQuantization;
  group?: string;
}

export interface TfjsWeightsGroup {
  /** Shard paths, relative to model.json. */
  paths: string[];
  weights: TfjsWeightSpec[];
}

/** The Python converter's wrapper around the Keras config. */
export interface TfjsConverterTopology {
  keras_version?: string;
  backend?: string;
  model_config: KerasModelJson;
  training_config?: unknown;
}

export interface TfjsModelJson {
  modelTopology: KerasModelJson | TfjsConverterTopology;
  weightsManifest: TfjsWeightsGroup[];
  format?: 'layers-model' | 'graph-model' | string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
}

/** Bytes per stored value for each storage type. */
export const TFJS_STORAGE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};
