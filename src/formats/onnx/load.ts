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

export { ONNX_MAX_GRAPH_VALUES, ONNX_MAX_OPSET, ONNX_MIN_OPSET } from './importer.ts';
export { ONNX_SUPPORTED_OPS } from './ops.ts';
export { MAX_ELEMENTS as ONNX_MAX_ELEMENTS } from './shape.ts';

/** Largest ONNX file accepted (protobuf itself stops at 2 GiB; an MLP is far smaller). */
export const ONNX_MAX_BYTES = 512 * 1024 * 1024;

export interface OnnxLoadOptions {
  /** Names the file in error messages and metadata (the loader never reads paths). */
  file?: string;
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
    const model = new Importer(decodeOnnx(data), ONNX_OPS).run();
    model.metadata.source = { ...model.metadata.source!, file };
    return model;
  } catch (e) {
    throw inFile(e, file);
  }
}

function decodeOnnx(data: Uint8Array | ArrayBuffer): OnnxModel {
  if (!(data instanceof Uint8Array) && !(data instanceof ArrayBuffer)) {
    throw new NetinvertError('bad_argument', 'loadOnnxModel takes the file contents as a Uint8Array or ArrayBuffer');
  }
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length === 0) throw new NetinvertError('bad_model_file', 'the file is empty; expected an ONNX model (.onnx)');
  if (bytes.length > ONNX_MAX_BYTES) {
    throw new NetinvertError('file_too_large', `the file has ${bytes.length} bytes, above the ${ONNX_MAX_BYTES}-byte limit for ONNX models`);
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


