/**
 * ONNX importer: bytes → Model.
 *
 * 1. Decode with onnx-proto (protobufjs); a decode failure becomes `bad_model_file`.
 * 2. Read the opset (6–22 of the default domain), the graph inputs (an initializer listed as
 *    an input, as IR 3 files do, is a constant, not a model input) and their shapes: the first
 *    dim is the batch (fixed or symbolic), the others flatten row-major into features.
 * 3. Put the nodes in topological order (a cycle or a dangling tensor is an error), then walk
 *    them once. Each ONNX tensor becomes a Value: a constant (initializers, Constant nodes and
 *    everything computed from constants only, folded here), a tensor that depends on the
 *    inputs (an engine node plus its per-point dims), or a deferred error.
 * 4. A node that cannot be mapped exactly yields a deferred error rather than throwing, so a
 *    dead branch (the Greater/Where that PyTorch writes around Softplus, an unused Dropout
 *    mask) does not sink a model; the error is raised, naming the node, its op and the file,
 *    only if an output depends on it. Nothing is guessed.
 * 5. Peepholes keep the graph small and its bounds tight: MatMul/Gemm + Add/Sub bias and
 *    inference BatchNormalization fold into one dense op; x·Sigmoid(x) → silu; the erf GELU
 *    pattern → gelu; 2·Sigmoid(z) − 1 → bipolar_sigmoid; PyTorch's softplus threshold
 *    pattern → softplus (with a warning stating the bound on the difference).
 * 6. Dead engine nodes are pruned and the graph compiled by createModel.
 *
 * Files: format.ts (the schema read, as types), tensor.ts (TensorProto decoding and int64
 * checks), shape.ts (shape ops as index maps), importer.ts (values, builder, the walk),
 * ops.ts (one converter per op, and the fusions), load.ts (this entry point).
 *
 * Loaders take bytes, never paths, so this code runs unchanged in a browser.
 */
import onnxProto from 'onnx-proto';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { OnnxModel } from './format.ts';
import { Importer } from './importer.ts';
import { ONNX_OPS } from './ops.ts';
import { onnxCensus } from './scan.ts';

export { ONNX_MAX_GRAPH_VALUES, ONNX_MAX_OPSET, ONNX_MIN_OPSET } from './importer.ts';
export { ONNX_SUPPORTED_OPS } from './ops.ts';
export { MAX_ELEMENTS as ONNX_MAX_ELEMENTS } from './shape.ts';

/**
 * Largest ONNX file accepted by default: 128 MiB, 32 million float32 weights (protobuf itself
 * stops at 2 GiB; an MLP worth inverting is far smaller). Decoding costs about 2.5× the file.
 */
export const ONNX_MAX_BYTES = 128 * 1024 * 1024;
/** Most graph nodes accepted by default (the Keras/TF.js layer cap is the same). */
export const ONNX_MAX_NODES = 100_000;
/** Most node input/output names and attributes, and most other graph entries, by default. */
export const ONNX_MAX_ENTRIES = 1_000_000;

export interface OnnxLoadOptions {
  /** Names the file in error messages and metadata (the loader never reads paths). */
  file?: string;
  /** Raise or lower the resource caps (defaults ONNX_MAX_BYTES, ONNX_MAX_NODES, ONNX_MAX_ENTRIES). */
  limits?: { maxBytes?: number; maxNodes?: number; maxEntries?: number };
}

// ---------------------------------------------------------------------------------------------
// Entry point

/**
 * Load an ONNX model from its bytes. `options.file` names it in messages.
 * Every failure is a NetinvertError whose message starts with the file name.
 */
export function loadOnnxModel(data: Uint8Array | ArrayBuffer, options: OnnxLoadOptions = {}): Model {
  const file = options.file ?? '<onnx model>';
  try {
    const model = new Importer(decodeOnnx(data, options.limits ?? {}), ONNX_OPS).run();
    model.metadata.source = { ...model.metadata.source!, file };
    return model;
  } catch (e) {
    throw inFile(e, file);
  }
}

function decodeOnnx(data: Uint8Array | ArrayBuffer, limits: NonNullable<OnnxLoadOptions['limits']>): OnnxModel {
  if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) {
    throw new NetinvertError('bad_argument', 'loadOnnxModel takes the file contents as a Uint8Array or ArrayBuffer');
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length === 0) throw new NetinvertError('bad_model_file', 'the file is empty; expected an ONNX model (.onnx)');
  const maxBytes = limits.maxBytes ?? ONNX_MAX_BYTES,
    maxNodes = limits.maxNodes ?? ONNX_MAX_NODES,
    maxEntries = limits.maxEntries ?? ONNX_MAX_ENTRIES;
  const raise = 'netinvert reads small feed-forward models; if this one is genuine, raise the cap with loadOnnxModel(bytes, { limits })';
  if (bytes.length > maxBytes) {
    throw new NetinvertError('file_too_large', `the file has ${bytes.length} bytes, above the ${maxBytes}-byte limit for ONNX models; ${raise}`, {
      limit: maxBytes,
      bytes: bytes.length,
    });
  }
  // count before decoding: protobufjs materialises every entry, and 10 million tiny nodes
  // exhaust the heap long before any later check could run
  const census = onnxCensus(bytes);
  const over: [number, number, string][] = [
    [census.nodes, maxNodes, 'nodes'],
    [census.nodeFields, maxEntries, 'node inputs, outputs and attributes'],
    [census.graphEntries, maxEntries, 'initializers, graph inputs/outputs and value_info entries'],
  ];
  for (const [n, cap, what] of over) {
    if (n > cap) {
      throw new NetinvertError('file_too_large', `the graph declares ${n} ${what}, above the limit of ${cap}; ${raise}`, { limit: cap, count: n, what });
    }
  }
  try {
    return onnxProto.onnx.ModelProto.decode(bytes) as unknown as OnnxModel;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NetinvertError(
      'bad_model_file',
      `the file is not a readable ONNX protobuf (${why}); it is truncated, corrupt, or not an ONNX model`,
      { cause: why },
    );
  }
}

function inFile(e: unknown, file: string): NetinvertError {
  if (e instanceof NetinvertError) {
    if (e.detail.file === file) return e;
    return new NetinvertError(e.code, `${file}: ${e.message}`, { ...e.detail, file });
  }
  const why = e instanceof Error ? e.message : String(e);
  return new NetinvertError('bad_model_file', `${file}: could not read the ONNX model (${why}); the file is corrupt or malformed`, {
    file,
    cause: why,
  });
}


