/**
 * Path-reading front of the importers (Node only): picks the format from the file name and
 * content, reads bytes with a size cap, and hands them to the browser-safe loaders.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, normalize, relative, isAbsolute } from 'node:path';
import { NetinvertError } from '../errors.ts';
import { loadKerasModel } from '../formats/keras/load.ts';
import { loadNativeModel } from '../formats/native/load.ts';
import { loadTfjsModel } from '../formats/tfjs/load.ts';
import { loadOnnxModel, ONNX_MAX_BYTES } from '../formats/onnx/load.ts';
import type { Model } from '../model.ts';
import { readBytes, withSidecar } from './files.ts';

/**
 * Load a model file, then its sidecar (friendly names, scalers, bounds): the one given with
 * --meta, else `<model>.meta.json` / `<stem>.meta.json` next to it when present.
 */
export function loadModelFile(path: string, meta?: string): Model {
  return withSidecar(loadModelFileOnly(path), path, meta);
}

function loadModelFileOnly(path: string): Model {
  const lower = path.toLowerCase();
  // the ONNX byte cap is checked on the file's size, before its bytes are read into memory
  if (lower.endsWith('.onnx')) return loadOnnxModel(readBytes(path, 'model file', ONNX_MAX_BYTES), { file: path });
  const bytes = readBytes(path);
  if (lower.endsWith('.keras') || lower.endsWith('.h5') || lower.endsWith('.hdf5')) return loadKerasModel(bytes, { file: path });
  if (lower.endsWith('.json')) {
    // a TF.js layers model.json has "modelTopology"; anything else is the native format
    const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 1 << 20)));
    if (/"modelTopology"\s*:/.test(head) || /"weightsManifest"\s*:/.test(head)) {
      const dir = dirname(path);
      return loadTfjsModel(new TextDecoder().decode(bytes), (shard) => readBytes(safeJoin(dir, shard, path), 'weight shard'), { file: path });
    }
    return loadNativeModel(bytes, path);
  }
  throw new NetinvertError(
    'bad_model_file',
    `${path}: unrecognised model file type; netinvert reads .onnx, .keras, .h5, TF.js model.json and native .json models`,
    { file: path },
  );
}

/**
 * A weight-shard path from a manifest, resolved next to model.json and kept inside its folder:
 * both the written path and its real path (symlinks resolved) must stay in the model's real
 * folder, so a shard that is a link to /etc/passwd is refused before it is read or even
 * measured. The message names the shard as the manifest writes it, nothing about the target.
 */
function safeJoin(dir: string, shard: string, model: string): string {
  const refuse = (why: string): never => {
    throw new NetinvertError('bad_model_file', `${model}: weight shard "${shard}" ${why}; refusing to read it. Keep the shards as plain files next to model.json`, {
      file: model,
      shard,
    });
  };
  const inside = (root: string, p: string): boolean => {
    const rel = relative(root, p);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
  };
  const p = normalize(join(dir, shard));
  if (isAbsolute(shard) || !inside(dir, p)) refuse("leaves the model's folder");
  if (!existsSync(p)) return p; // readBytes names the missing shard
  let realDir: string, real: string;
  try {
    realDir = realpathSync(dir);
    real = realpathSync(p);
  } catch {
    return refuse('cannot be resolved');
  }
  if (!inside(realDir, real)) refuse("is a link to a file outside the model's folder");
  return real;
}
