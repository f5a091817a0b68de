/**
 * Path-reading front of the importers (Node only): picks the format from the file name and
 * content, reads bytes with a size cap, and hands them to the browser-safe loaders.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, isAbsolute } from 'node:path';
import { NetinvertError } from '../errors.ts';
import { loadKerasModel } from '../formats/keras/load.ts';
import { loadNnetModel, NNET_MAX_BYTES } from '../formats/nnet/load.ts';
import { loadNativeModel } from '../formats/native/load.ts';
import { loadTfjsModel } from '../formats/tfjs/load.ts';
import { loadOnnxModel, ONNX_MAX_BYTES } from '../formats/onnx/load.ts';
import { applySidecar, parseSidecar, sidecarPathsFor } from '../formats/sidecar.ts';
import type { Model } from '../model.ts';

/** Largest model file read from disk (bytes). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;

export function readBytes(path: string, what = 'model file', limit = MAX_MODEL_BYTES): Uint8Array {
  if (!existsSync(path)) throw new NetinvertError('bad_model_file', `${path}: no such ${what}; check the path`, { file: path });
  const st = statSync(path);
  if (st.isDirectory()) {
    const hint =
      what === 'model file'
        ? `pass the model file inside it${modelFilesIn(path)} (netinvert reads .onnx, .keras, .h5, a TF.js model.json with its shards next to it, or a native .json)`
        : `pass the ${what} itself`;
    throw new NetinvertError('bad_model_file', `${path} is a folder, not a ${what}; ${hint}`, { file: path });
  }
  if (!st.isFile()) throw new NetinvertError('bad_model_file', `${path}: not a regular file; pass the ${what} itself`, { file: path });
  if (st.size > limit) {
    throw new NetinvertError('file_too_large', `${path}: ${st.size} bytes is above the ${limit}-byte limit; the file was not read`, { file: path, limit });
  }
  return new Uint8Array(readFileSync(path));
}

/** ", e.g. dir/model.json" when the folder holds files that look like models (a few named). */
function modelFilesIn(dir: string): string {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /\.(onnx|keras|h5|hdf5|json)$/i.test(n) && !/\.meta\.json$/i.test(n));
  } catch {
    return '';
  }
  if (!names.length) return '';
  names.sort((a, b) => Number(b === 'model.json') - Number(a === 'model.json') || a.localeCompare(b));
  const shown = names.slice(0, 3).map((n) => join(dir, n));
  return `, e.g. ${shown.join(' or ')}${names.length > 3 ? ` (${names.length} candidates)` : ''}`;
}

/**
 * Load a model file, then its sidecar (friendly names, scalers, bounds): the one given with
 * --meta, else `<model>.meta.json` / `<stem>.meta.json` next to it when present.
 */
export function loadModelFile(path: string, meta?: string): Model {
  const model = loadModelFileOnly(path);
  const sidecar = meta ?? sidecarPathsFor(path).find((p) => existsSync(p));
  if (!sidecar) return model;
  return applySidecar(model, parseSidecar(readBytes(sidecar, 'sidecar file'), sidecar), sidecar);
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

/**
 * The model of `netinvert verify`: a .nnet file is read as the bare network (VNN-COMP properties
 * are stated in normalized units); any other file as loadModelFile reads it.
 */
export function loadVerifyModel(path: string, meta?: string): Model {
  if (path.toLowerCase().endsWith('.nnet')) return loadNnetModel(readBytes(path, 'model file', NNET_MAX_BYTES), { file: path, units: 'normalized' });
  return loadModelFile(path, meta);
}
