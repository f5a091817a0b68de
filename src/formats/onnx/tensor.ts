/**
 * ONNX TensorProto → Float64Array, with the checks a hostile file needs: declared dims are
 * checked against the bytes actually present before anything is allocated, int64 values above
 * 2^53 are refused (protobufjs hands them over as Long objects), external data is refused, and
 * non-finite float weights are refused by name.
 */
import { NetinvertError } from '../../errors.ts';
import { DataLocation, TENSOR_TYPE_NAMES, TensorDataType, type OnnxInt64, type OnnxTensor } from './format.ts';
import { MAX_ELEMENTS } from './shape.ts';
import { halfToNumber } from '../half.ts';

/** A constant tensor: row-major values and dims. Integer tensors keep exact integers. */
export interface DecodedTensor {
  dims: number[];
  data: Float64Array;
  dataType: number;
}

const TWO32 = 4294967296;
/** |high word| below this means |value| < 2^53. */
const HIGH_LIMIT = 1 << 21;

export function isFloatType(t: number): boolean {
  return (
    t === TensorDataType.FLOAT || t === TensorDataType.DOUBLE || t === TensorDataType.FLOAT16 || t === TensorDataType.BFLOAT16
  );
}

export function typeName(t: number | null | undefined): string {
  return TENSOR_TYPE_NAMES[t ?? 0] ?? `type ${String(t)}`;
}

/**
 * An int64 as a JS number: exact when |v| < 2^53. INT64_MAX, INT64_MIN and −INT64_MAX, the
 * sentinels exporters write for "to the end" in Slice, become ±Infinity. Anything else beyond
 * 2^53 throws: it cannot be a size, an index or an axis of a model we can hold in memory.
 */
export function int64Value(v: OnnxInt64 | null | undefined, what: string): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return v;
    if (v >= 2 ** 63 - 1024) return Infinity;
    if (v <= -(2 ** 63) + 1024) return -Infinity;
    throw tooBig(what, String(v));
  }
  if (typeof v !== 'object' || typeof v.low !== 'number' || typeof v.high !== 'number') {
    throw new NetinvertError('bad_model_file', `${what}: expected a 64-bit integer`, { field: what });
  }
  const lo = v.low >>> 0;
  if (v.unsigned) {
    const hi = v.high >>> 0;
    if (hi < HIGH_LIMIT) return hi * TWO32 + lo;
    if (hi === 0x7fffffff && lo === 0xffffffff) return Infinity;
    throw tooBig(what, `${hi * TWO32 + lo}`);
  }
  const hi = v.high | 0;
  if (hi < HIGH_LIMIT && hi > -HIGH_LIMIT) return hi * TWO32 + lo;
  if (hi === 0x7fffffff && lo === 0xffffffff) return Infinity; // INT64_MAX
  if (hi === -0x80000000 && (lo === 0 || lo === 1)) return -Infinity; // INT64_MIN, −INT64_MAX
  throw tooBig(what, `≈${hi * TWO32 + lo}`);
}

function tooBig(what: string, shown: string): NetinvertError {
  return new NetinvertError(
    'bad_model_file',
    `${what}: the 64-bit integer ${shown} is above 2^53 in magnitude; no size, index or axis of a model netinvert can load is that large (is the file corrupt?)`,
    { field: what },
  );
}

/** A dimension or count: a finite int64 ≥ 0. */
export function int64Size(v: OnnxInt64 | null | undefined, what: string): number {
  const n = int64Value(v, what);
  if (!Number.isFinite(n) || n < 0) {
    throw new NetinvertError('bad_model_file', `${what}: ${n} is not a valid size (must be ≥ 0 and below 2^53)`, { field: what });
  }
  return n;
}

function own(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

const ELEMENT_BYTES: Record<number, number> = {
  [TensorDataType.FLOAT]: 4,
  [TensorDataType.DOUBLE]: 8,
  [TensorDataType.FLOAT16]: 2,
  [TensorDataType.BFLOAT16]: 2,
  [TensorDataType.INT8]: 1,
  [TensorDataType.UINT8]: 1,
  [TensorDataType.INT16]: 2,
  [TensorDataType.UINT16]: 2,
  [TensorDataType.INT32]: 4,
  [TensorDataType.UINT32]: 4,
  [TensorDataType.INT64]: 8,
  [TensorDataType.BOOL]: 1,
};

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bfloat16ToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/**
 * Decode a tensor. `what` names it in messages (e.g. `initializer "fc1.weight"`).
 * Float values must be finite (code non_finite_weight).
 */
export function decodeTensor(t: OnnxTensor, what: string): DecodedTensor {
  const dataType = t.dataType ?? 0;
  if (t.dataLocation === DataLocation.EXTERNAL || (t.externalData && t.externalData.length > 0)) {
    const loc = t.externalData?.find((e) => e.key === 'location')?.value;
    throw new NetinvertError(
      'bad_model_file',
      `${what} keeps its values in an external data file${loc ? ` ("${loc}")` : ''}; netinvert reads single-file models only. ` +
        'Re-save it with all tensors inside: in Python, m = onnx.load(path) (with the data file next to it), then onnx.save_model(m, "single.onnx", save_as_external_data=False)',
      { field: what, external: loc ?? null },
    );
  }
  if (t.segment && own(t, 'segment')) {
    throw new NetinvertError('bad_model_file', `${what} is stored in segments, which netinvert does not read; re-save the model with onnx.save`, {
      field: what,
    });
  }
  const size = ELEMENT_BYTES[dataType];
  if (size === undefined) {
    throw new NetinvertError(
      'bad_model_file',
      `${what} has element type ${typeName(dataType)}; netinvert reads float, double, float16, bfloat16, integer and bool tensors`,
      { field: what, dataType },
    );
  }
  const dims = (t.dims ?? []).map((d, i) => int64Size(d, `${what} dims[${i}]`));
  let count = 1;
  for (const d of dims) count *= d;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const mismatch = (have: string): NetinvertError =>
    new NetinvertError(
      'bad_model_file',
      `${what} declares shape [${dims.join(', ')}] (${count} ${typeName(dataType)} values) but holds ${have}; the file is truncated or corrupt`,
      { field: what, declared: count },
    );

  // the declared size is checked against what the file holds before anything is allocated
  const field = raw ? null : typedField(t, dataType);
  if (raw && raw.length !== count * size) throw mismatch(`${raw.length} bytes of raw data (expected ${count * size})`);
  if (!raw && (field ? field.length : 0) !== count) throw mismatch(`${field ? field.length : 0} values`);
  if (!(count <= MAX_ELEMENTS)) {
    throw new NetinvertError(
      'file_too_large',
      `${what} has shape [${dims.join(', ')}] = ${count} values, above netinvert's limit of ${MAX_ELEMENTS}`,
      { field: what },
    );
  }
  let data: Float64Array;
  if (raw) {
    data = new Float64Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) data[i] = readRaw(view, i, dataType, what);
  } else {
    data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const v = field![i];
      if (dataType === TensorDataType.INT64) data[i] = int64Value(v as OnnxInt64, `${what}[${i}]`);
      else if (dataType === TensorDataType.FLOAT16) data[i] = halfToNumber(v as number);
      else if (dataType === TensorDataType.BFLOAT16) data[i] = bfloat16ToNumber(v as number);
      else if (dataType === TensorDataType.BOOL) data[i] = v ? 1 : 0;
      else data[i] = v as number;
    }
  }
  if (isFloatType(dataType)) {
    for (let i = 0; i < count; i++) {
      if (!Number.isFinite(data[i])) {
        throw new NetinvertError(
          'non_finite_weight',
          `${what}[${i}] is ${data[i]}; weights must be finite numbers (retrain the model, or check the exporter)`,
          { field: what, index: i },
        );
      }
    }
  }
  return { dims, data, dataType };
}

function typedField(t: OnnxTensor, dataType: number): ArrayLike<number | OnnxInt64> | null | undefined {
  switch (dataType) {
    case TensorDataType.FLOAT:
      return t.floatData;
    case TensorDataType.DOUBLE:
      return t.doubleData;
    case TensorDataType.INT64:
      return t.int64Data;
    case TensorDataType.UINT32:
      return t.uint64Data;
    default:
      // int8/16/32, uint8/16, bool, float16 and bfloat16 (as bits) all live in int32_data
      return t.int32Data;
  }
}

function readRaw(view: DataView, i: number, dataType: number, what: string): number {
  switch (dataType) {
    case TensorDataType.FLOAT:
      return view.getFloat32(i * 4, true);
    case TensorDataType.DOUBLE:
      return view.getFloat64(i * 8, true);
    case TensorDataType.FLOAT16:
      return halfToNumber(view.getUint16(i * 2, true));
    case TensorDataType.BFLOAT16:
      return bfloat16ToNumber(view.getUint16(i * 2, true));
    case TensorDataType.INT8:
      return view.getInt8(i);
    case TensorDataType.UINT8:
      return view.getUint8(i);
    case TensorDataType.BOOL:
      return view.getUint8(i) ? 1 : 0;
    case TensorDataType.INT16:
      return view.getInt16(i * 2, true);
    case TensorDataType.UINT16:
      return view.getUint16(i * 2, true);
    case TensorDataType.INT32:
      return view.getInt32(i * 4, true);
    case TensorDataType.UINT32:
      return view.getUint32(i * 4, true);
    default: // INT64
      return int64Value(
        { low: view.getInt32(i * 8, true), high: view.getInt32(i * 8 + 4, true), unsigned: false },
        `${what}[${i}]`,
      );
  }
}
