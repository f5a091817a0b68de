/**
 * How `netinvert verify` (and its --workers threads, vnnPoolWorker.ts) reads its model.
 */
import { loadNnetModel, NNET_MAX_BYTES } from '../formats/nnet/load.ts';
import { loadOnnxModel, ONNX_MAX_BYTES } from '../formats/onnx/load.ts';
import type { Model } from '../model.ts';
import { readBytes, withSidecar } from './files.ts';

/**
 * The model of `netinvert verify`: a .nnet file is read as the bare network (VNN-COMP properties
 * are stated in normalized units); any other file as loadModelFile reads it. The VNN-COMP formats
 * (ONNX, .nnet) are read without loading the other importers (keras: jsfive and fflate, TF.js;
 * ~35 ms of every verify process).
 */
export async function loadVerifyModel(path: string, meta?: string): Promise<Model> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.nnet')) return loadNnetModel(readBytes(path, 'model file', NNET_MAX_BYTES), { file: path, units: 'normalized' });
  if (lower.endsWith('.onnx')) return withSidecar(loadOnnxModel(readBytes(path, 'model file', ONNX_MAX_BYTES), { file: path }), path, meta);
  return (await import('./loadModelFile.ts')).loadModelFile(path, meta);
}

