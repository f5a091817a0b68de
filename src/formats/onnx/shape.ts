/**
 * Shape arithmetic for the ONNX importer, as index maps.
 *
 * The engine stores every tensor flat per point (row-major). An ONNX shape op that only moves
 * values (Transpose, Slice, Gather, Concat, broadcasting) is therefore a map from each output
 * position to an input position: `out[i] = in[index[i]]`. The same map folds a constant tensor
 * and becomes a `gather` node for a tensor that depends on the inputs. Every function here
 * works on the dims it is given (the importer strips the batch axis first) and checks the
 * output size before allocating the map.
 */
import { NetinvertError } from '../../errors.ts';

/** Most values one tensor may hold per point (and most values in a folded constant). */
export const MAX_ELEMENTS = 1 << 24;

export interface IndexMap {
  dims: number[];
  index: Int32Array;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Throws when a tensor of these dims would be larger than MAX_ELEMENTS (before any allocation). */
export function checkSize(dims: readonly number[], what: string): number {
  const n = sizeOf(dims);
  if (!(n <= MAX_ELEMENTS)) {
    throw new NetinvertError(
      'file_too_large',
      `${what} would hold ${n} values (shape [${dims.join(', ')}]), above netinvert's limit of ${MAX_ELEMENTS}; this is not a small MLP`,
      { limit: MAX_ELEMENTS },
    );
  }
  return n;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

export function isIdentity(index: Int32Array, inSize: number): boolean {
  if (index.length !== inSize) return false;
  for (let i = 0; i < index.length; i++) if (index[i] !== i) return false;
  return true;
}

/** Numpy (multidirectional) broadcast of two shapes, right-aligned; null if incompatible. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1,
      y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out[i] = x === 1 ? y : x;
  }
  return out;
}

/** Map from each position of `outDims` to the position of `inDims` it broadcasts from. */
export function broadcastIndex(inDims: readonly number[], outDims: readonly number[], what: string): Int32Array {
  const n = checkSize(outDims, what);
  const r = outDims.length;
  const padded = new Array<number>(r).fill(1);
  for (let i = 0; i < inDims.length; i++) padded[r - inDims.length + i] = inDims[i];
  const inStr = stridesOf(padded);
  // a broadcast axis (size 1 in the input) reads the same source element all along: stride 0
  return stridedIndex(outDims, n, 0, inStr.map((st, k) => (padded[k] !== 1 ? st : 0)));
}

/**
 * The flat source position of every element of a strided view of a row-major array (NumPy's
 * strided-array model: van der Walt, Colbert & Varoquaux 2011, "The NumPy array: a structure for
 * efficient numerical computation", §2): output coordinate (c_0 … c_{r−1}) of `outDims` reads
 * source position offset + Σ c_k·strides[k]. Broadcast, transpose and slice are all such views.
 */
function stridedIndex(outDims: readonly number[], n: number, offset: number, strides: readonly number[]): Int32Array {
  const outStr = stridesOf(outDims);
  const index = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rem = i,
      src = offset;
    for (let k = 0; k < outDims.length; k++) {
      const c = Math.floor(rem / outStr[k]);
      rem -= c * outStr[k];
      src += c * strides[k];
    }
    index[i] = src;
  }
  return index;
}

export function transposeIndex(dims: readonly number[], perm: readonly number[], what: string): IndexMap {
  const outDims = perm.map((p) => dims[p]);
  const n = checkSize(outDims, what);
  const inStr = stridesOf(dims);
  return { dims: outDims, index: stridedIndex(outDims, n, 0, perm.map((p) => inStr[p])) };
}

/**
 * ONNX Slice on the given axes. Starts and ends are clamped as the operator defines; ±Infinity
 * (the importer's reading of INT64_MAX / INT64_MIN) clamps to the ends of the axis.
 */
export function sliceIndex(
  dims: readonly number[],
  axes: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  steps: readonly number[],
  what: string,
): IndexMap {
  const first = dims.map(() => 0);
  const step = dims.map(() => 1);
  const count = dims.slice();
  axes.forEach((ax, j) => {
    const d = dims[ax];
    const s = steps[j];
    let b = starts[j],
      e = ends[j];
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (s > 0) {
      b = Math.min(Math.max(b, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[ax] = Math.max(0, Math.ceil((e - b) / s));
    } else {
      b = Math.min(Math.max(b, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[ax] = Math.max(0, Math.ceil((e - b) / s));
    }
    first[ax] = b;
    step[ax] = s;
  });
  const n = checkSize(count, what);
  const inStr = stridesOf(dims);
  const offset = first.reduce((a, f, k) => a + f * inStr[k], 0);
  return { dims: count, index: stridedIndex(count, n, offset, step.map((st, k) => st * inStr[k])) };
}

/** ONNX Gather along `axis` with already-normalised, in-range indices of shape `indDims`. */
export function gatherIndex(
  dims: readonly number[],
  axis: number,
  indices: readonly number[],
  indDims: readonly number[],
  what: string,
): IndexMap {
  const outer = sizeOf(dims.slice(0, axis));
  const inner = sizeOf(dims.slice(axis + 1));
  const outDims = [...dims.slice(0, axis), ...indDims, ...dims.slice(axis + 1)];
  const n = checkSize(outDims, what);
  const index = new Int32Array(n);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const ix of indices) {
      const base = (a * dims[axis] + ix) * inner;
      for (let b = 0; b < inner; b++) index[o++] = base + b;
    }
  }
  return { dims: outDims, index };
}

/**
 * ONNX Concat along `axis`: a map from each output position into the flat concatenation of
 * the inputs (input 0's values first, then input 1's, ...).
 */
export function concatIndex(dimsList: readonly (readonly number[])[], axis: number, what: string): IndexMap {
  const outDims = dimsList[0].slice();
  outDims[axis] = dimsList.reduce((s, d) => s + d[axis], 0);
  const n = checkSize(outDims, what);
  const outer = sizeOf(outDims.slice(0, axis));
  const index = new Int32Array(n);
  const offsets: number[] = [];
  let off = 0;
  for (const d of dimsList) {
    offsets.push(off);
    off += sizeOf(d);
  }
  let o = 0;
  for (let a = 0; a < outer; a++) {
    dimsList.forEach((d, j) => {
      const chunk = sizeOf(d.slice(axis));
      const base = offsets[j] + a * chunk;
      for (let b = 0; b < chunk; b++) index[o++] = base + b;
    });
  }
  return { dims: outDims, index };
}
