/**
 * Path-reading front of the importers (Node only): picks the format from the file name and
 * content, reads bytes with a size cap, and hands them to the browser-safe loaders.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { NetinvertError } from '../errors.ts';
import { loadNativeModel } from '../formats/native/load.ts';
import type { Model } from '../model.ts';

/** Largest model file read from disk (bytes). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;

export function readBytes(path: string, what = 'model file'): Uint8Array {
  if (!existsSync(path)) throw new NetinvertError('bad_model_file', `${path}: no such ${what}; check the path`, { file: path });
  const st = statSync(path);
  if (!st.isFile()) throw new NetinvertError('bad_model_file', `${path}: not a file`, { file: path });
  if (st.size > MAX_MODEL_BYTES) {
    throw new NetinvertError('file_too_large', `${path}: ${st.size} bytes is above the ${MAX_MODEL_BYTES}-byte limit`, { file: path });
  }
  return new Uint8Array(readFileSync(path));
}

export function loadModelFile(path: string): Model {
  const bytes = readBytes(path);
  const lower = path.toLowerCase();
  if (lower.endsWith('.json')) return loadNativeModel(bytes, path);
  throw new NetinvertError(
    'bad_model_file',
    `${path}: unrecognised model file type; netinvert reads native .json models (ONNX, Keras and TF.js importers are in progress)`,
    { file: path },
  );
}
