/**
 * Reading files from disk for the CLI (Node only): bytes with a size cap and a clear error for a
 * missing file or a folder, and the model's sidecar step. The format dispatch is loadModelFile.ts;
 * this module loads no importer, so that `verify` can read an ONNX or .nnet model without loading
 * the others (commands/verify.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NetinvertError } from '../errors.ts';
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
 * The model with its sidecar (friendly names, scalers, bounds) applied: the one given with --meta,
 * else `<model>.meta.json` / `<stem>.meta.json` next to it when present.
 */
export function withSidecar(model: Model, path: string, meta?: string): Model {
  const sidecar = meta ?? sidecarPathsFor(path).find((p) => existsSync(p));
  if (!sidecar) return model;
  return applySidecar(model, parseSidecar(readBytes(sidecar, 'sidecar file'), sidecar), sidecar);
}
