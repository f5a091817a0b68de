/**
 * A guarded view of an HDF5 file through jsfive. jsfive trusts the file: it allocates arrays of
 * the size a dataset declares and throws strings on damage. Every call here is wrapped so that
 * nothing but a NetinvertError escapes, and a dataset's declared size is checked against the
 * file's bytes before its data is read.
 */
import * as hdf5 from 'jsfive';
import { NetinvertError } from '../../errors.ts';

/** Largest number of values in one weight tensor (2^26 ≈ 67M: far above any MLP). */
export const MAX_TENSOR_VALUES = 2 ** 26;

/** A read weight tensor: where it came from, its shape and its values as float64. */
export interface WeightTensor {
  /** Path in the file (or manifest name), for messages. */
  path: string;
  shape: number[];
  values: Float64Array;
}

export type H5Group = hdf5.Group;

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** HDF5 files start with the signature at 0, 512, 1024, … (after a user block). */
export function looksLikeHdf5(b: Uint8Array): boolean {
  for (let off = 0; off + 8 <= b.length && off <= 1 << 20; off = off === 0 ? 512 : off * 2) {
    if (HDF5_MAGIC.every((v, i) => b[off + i] === v)) return true;
  }
  return false;
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Run a jsfive call; anything it throws becomes a coded error naming the file and the object. */
export function guarded<T>(file: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NetinvertError) throw e;
    throw new NetinvertError(
      'bad_model_file',
      `${file}: cannot read ${what} (${describe(e)}); the HDF5 data is damaged or truncated. Re-save the model from Keras`,
      { file, field: what },
    );
  }
}

export function openHdf5(bytes: Uint8Array, file: string): hdf5.File {
  if (!looksLikeHdf5(bytes)) {
    throw new NetinvertError('bad_model_file', `${file}: not an HDF5 file (no HDF5 signature); expected a Keras .h5 or .keras file`, { file });
  }
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return guarded(file, 'the HDF5 superblock and root group', () => new hdf5.File(buf, file));
}

export function isGroup(x: unknown): x is hdf5.Group {
  return x instanceof hdf5.Group;
}

export function isDataset(x: unknown): x is hdf5.Dataset {
  return x instanceof hdf5.Dataset;
}

/** Strings from h5py attributes can carry NUL padding. */
export function cleanString(s: unknown): string {
  return typeof s === 'string' ? s.replace(/\0+$/g, '').replace(/\0/g, '') : String(s);
}

/** An attribute as text (JSON configs, versions): undefined when absent. */
export function attrText(g: hdf5.Group, key: string, file: string, where: string): string | undefined {
  const attrs = guarded(file, `the attributes of ${where}`, () => g.attrs);
  if (!attrs || !(key in attrs)) return undefined;
  const v = attrs[key];
  if (typeof v === 'string') return cleanString(v);
  if (v instanceof Uint8Array) return cleanString(new TextDecoder().decode(v));
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return cleanString(v[0]);
  throw new NetinvertError('bad_model_file', `${file}: attribute "${key}" of ${where} is not text`, { file, field: key });
}

/** An attribute holding a list of names (layer_names, weight_names). */
export function attrNames(g: hdf5.Group, key: string, file: string, where: string): string[] | undefined {
  const attrs = guarded(file, `the attributes of ${where}`, () => g.attrs);
  if (!attrs || !(key in attrs)) return undefined;
  const v = attrs[key];
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : null;
  if (!list) throw new NetinvertError('bad_model_file', `${file}: attribute "${key}" of ${where} is not a list of names`, { file, field: key });
  return list.map(cleanString);
}

export function childNames(g: hdf5.Group, file: string, where: string): string[] {
  return guarded(file, `the members of ${where}`, () => g.keys);
}

export function child(g: hdf5.Group, name: string, file: string, where: string): hdf5.Group | hdf5.Dataset | null {
  if (!childNames(g, file, where).includes(name) && !name.includes('/')) return null;
  return guarded(file, `"${name}" in ${where}`, () => {
    try {
      return g.get(name);
    } catch (e) {
      // jsfive throws "<name> not found in group" for a missing path.
      if (typeof e === 'string' && e.endsWith('not found in group')) return null;
      throw e;
    }
  });
}

/**
 * Resolve a '/'-separated path, also where a Windows save joined path parts with '\'
 * (one HDF5 link named `layers\dense` instead of `layers` → `dense`).
 */
export function resolvePath(root: hdf5.Group, path: string, file: string): hdf5.Group | hdf5.Dataset | null {
  let cur: hdf5.Group | hdf5.Dataset = root;
  let rest = path.split('/').filter((s) => s !== '');
  let depth = 0;
  while (rest.length) {
    if (!isGroup(cur) || ++depth > 64) return null;
    const g: hdf5.Group = cur;
    const keys = childNames(g, file, g.name);
    let step = 0;
    let key = '';
    if (keys.includes(rest[0])) (key = rest[0]), (step = 1);
    else {
      for (const k of keys) {
        const parts = k.split('\\');
        if (parts.length > 1 && parts.length <= rest.length && parts.every((p, i) => p === rest[i])) {
          key = k;
          step = parts.length;
          break;
        }
      }
    }
    if (!step) return null;
    const next = child(g, key, file, g.name);
    if (!next) return null;
    cur = next;
    rest = rest.slice(step);
  }
  return cur;
}

const FLOAT_TYPES: Record<string, number> = { '<f4': 4, '>f4': 4, '<f8': 8, '>f8': 8 };

/**
 * Read a float dataset as float64, after checking its type, its shape and its declared size
 * against the file (unfiltered data must fit in the file; any tensor must fit the cap).
 */
export function readFloatDataset(ds: hdf5.Dataset, path: string, fileBytes: number, file: string, layer: string): WeightTensor {
  const dtype = guarded(file, `the type of ${path}`, () => ds.dtype);
  const shape = guarded(file, `the shape of ${path}`, () => ds.shape);
  const itemSize = typeof dtype === 'string' ? FLOAT_TYPES[dtype] : undefined;
  if (!itemSize) {
    throw new NetinvertError(
      'bad_model_file',
      `${file}: weight ${path} of ${layer} has type ${JSON.stringify(dtype)}; netinvert reads float32/float64 weights (save the model in float32)`,
      { file, field: path },
    );
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new NetinvertError('bad_model_file', `${file}: weight ${path} of ${layer} has an invalid shape ${JSON.stringify(shape)}`, { file, field: path });
  }
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > MAX_TENSOR_VALUES) break;
  }
  const filtered = guarded(file, `the filters of ${path}`, () => ds._dataobjects.filter_pipeline);
  // Unfiltered data is stored as is, so it must fit in the file. Compressed data can expand
  // (deflate at most ~1032×), and any tensor must stay below the cap.
  const limit = filtered && filtered.length ? Math.min(MAX_TENSOR_VALUES, (fileBytes * 1100) / itemSize) : fileBytes / itemSize;
  if (count > limit || count > MAX_TENSOR_VALUES) {
    throw new NetinvertError(
      'file_too_large',
      `${file}: weight ${path} of ${layer} declares shape ${JSON.stringify(shape)} (${count} values), more than the file can hold or above the ${MAX_TENSOR_VALUES}-value limit; the file is damaged or not a small model`,
      { file, field: path, shape },
    );
  }
  const raw = guarded(file, `the data of ${path}`, () => ds.value);
  if (!raw || typeof (raw as ArrayLike<unknown>).length !== 'number' || (raw as ArrayLike<unknown>).length !== count) {
    throw new NetinvertError('bad_model_file', `${file}: weight ${path} of ${layer} holds ${(raw as ArrayLike<unknown>)?.length} values, expected ${count}; the file is damaged`, {
      file,
      field: path,
    });
  }
  const values = new Float64Array(count);
  const src = raw as ArrayLike<unknown>;
  for (let i = 0; i < count; i++) {
    const v = src[i];
    if (typeof v !== 'number') {
      throw new NetinvertError('bad_model_file', `${file}: weight ${path} of ${layer} holds a non-number at index ${i}`, { file, field: path });
    }
    values[i] = v;
  }
  return { path, shape: shape.slice(), values };
}
