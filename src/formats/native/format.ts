/**
 * The native netinvert model file (JSON), written down as types. Version 1.
 *
 * {
 *   "format": "netinvert-model", "version": 1,
 *   "name": "add", "description": "...",
 *   "inputs":  [{ "name": "a" }, { "name": "x", "width": 3, "features": ["p", "q", "r"] }],
 *   "nodes": [
 *     { "name": "h",   "op": "dense", "inputs": ["a", "x"], "units": 2,
 *       "weight": [[...2 values...], ...one row per input feature...], "bias": [0, 0] },
 *     { "name": "h_act", "op": "bipolar_sigmoid", "inputs": ["h"], "params": { "lambda": 1 } },
 *     ...
 *   ],
 *   "outputs": [{ "node": "y", "name": "sum" }],
 *   "metadata": { "inputRanges": { "a": [0, 10] }, "outputRanges": { "sum": [0, 20] } }
 * }
 *
 * - A dense node with several inputs reads their concatenation.
 * - "weight" is in×out: one row per input feature (Keras kernel layout). A flat list of
 *   in·out numbers in the same order is accepted too.
 * - "op" is one of dense, affine, add, sub, mul, div, concat, gather, reshape, softmax,
 *   log_softmax, layer_norm (with "epsilon"), or any activation name (see UNARY_NAMES) with optional "params".
 * - add/sub/mul/div take two inputs, or one input and a "constant" (scalar or vector;
 *   "constantFirst": true for c − x and c / x).
 */
import type { InputStats } from '../../model.ts';

export const NATIVE_FORMAT = 'netinvert-model';
export const NATIVE_VERSION = 1;

export interface NativeInput {
  name: string;
  /** Default 1. */
  width?: number;
  features?: string[];
}

export interface NativeNode {
  name: string;
  op: string;
  inputs: string[];
  units?: number;
  weight?: number[][] | number[];
  bias?: number[] | null;
  scale?: number[];
  shift?: number[];
  constant?: number | number[];
  constantFirst?: boolean;
  indices?: number[];
  shape?: number[];
  /** layer_norm: the ε under the square root (> 0). */
  epsilon?: number;
  params?: Record<string, number>;
}

export interface NativeOutput {
  node: string;
  name?: string;
  features?: string[];
}

export interface NativeModelFile {
  format: typeof NATIVE_FORMAT;
  version: number;
  name?: string;
  description?: string;
  inputs: NativeInput[];
  nodes: NativeNode[];
  outputs: NativeOutput[];
  metadata?: {
    inputRanges?: Record<string, [number, number]>;
    /** The training inputs' statistics (ModelMetadata.inputStats: names, mean, cov or std, rows, the model's residuals at those rows, count), written by `train`. */
    inputStats?: InputStats;
    outputRanges?: Record<string, [number, number]>;
    source?: { format: string; file?: string; producer?: string; version?: string };
    /** 'float32' for a model first imported from ONNX, Keras or TF.js (see ModelMetadata.precision). */
    precision?: 'float32' | 'float64';
    extra?: Record<string, unknown>;
  };
}
