/**
 * The part of the ONNX schema (onnx/onnx.proto, IR versions 3–10) that the importer reads,
 * written down as types. Field names are those of the protobufjs messages that `onnx-proto`
 * decodes into (camelCase of the proto field names). Decoding itself is onnx-proto's job;
 * these types only say which fields `load.ts` relies on.
 *
 * int64 fields arrive as protobufjs `Long` objects when the `long` package is present (Node),
 * and as plain numbers otherwise (a bundle without it). `OnnxInt64` covers both; the loader
 * converts them through one checked helper that refuses magnitudes above 2^53.
 */

/** A protobufjs Long: 64-bit integer as two signed 32-bit halves. */
export interface OnnxLong {
  low: number;
  high: number;
  unsigned: boolean;
}

export type OnnxInt64 = number | OnnxLong;

/** TensorProto.DataType. */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

export const TENSOR_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TensorDataType).map(([k, v]) => [v, k.toLowerCase()]),
);

/** TensorProto.DataLocation: EXTERNAL means the values live in another file. */
export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

export interface OnnxStringStringEntry {
  key?: string | null;
  value?: string | null;
}

export interface OnnxOperatorSetId {
  /** "" or "ai.onnx" is the default operator set; "ai.onnx.ml" etc. are others. */
  domain?: string | null;
  version?: OnnxInt64 | null;
}

export interface OnnxTensor {
  dims?: OnnxInt64[] | null;
  dataType?: number | null;
  /** FLOAT (and COMPLEX64) values when not in rawData. */
  floatData?: number[] | null;
  /** INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 (as bits) values. */
  int32Data?: number[] | null;
  int64Data?: OnnxInt64[] | null;
  doubleData?: number[] | null;
  uint64Data?: OnnxInt64[] | null;
  stringData?: Uint8Array[] | null;
  name?: string | null;
  /** Little-endian packed values; when non-empty it takes precedence over the typed fields. */
  rawData?: Uint8Array | null;
  dataLocation?: number | null;
  externalData?: OnnxStringStringEntry[] | null;
  /** Set when a large tensor is split over several messages (unsupported). */
  segment?: { begin?: OnnxInt64 | null; end?: OnnxInt64 | null } | null;
}

export interface OnnxAttribute {
  name?: string | null;
  /** In IR ≥ 0.0.2 the type is set; older writers leave it 0 and fill one field. */
  type?: number | null;
  f?: number | null;
  i?: OnnxInt64 | null;
  s?: Uint8Array | null;
  t?: OnnxTensor | null;
  g?: OnnxGraph | null;
  floats?: number[] | null;
  ints?: OnnxInt64[] | null;
  strings?: Uint8Array[] | null;
  tensors?: OnnxTensor[] | null;
  /** Set when the attribute refers to an attribute of an enclosing function. */
  refAttrName?: string | null;
}

export interface OnnxNode {
  input?: string[] | null;
  output?: string[] | null;
  name?: string | null;
  opType?: string | null;
  domain?: string | null;
  attribute?: OnnxAttribute[] | null;
  docString?: string | null;
}

export interface OnnxDimension {
  dimValue?: OnnxInt64 | null;
  dimParam?: string | null;
}

export interface OnnxTensorShape {
  dim?: OnnxDimension[] | null;
}

export interface OnnxTypeProto {
  tensorType?: { elemType?: number | null; shape?: OnnxTensorShape | null } | null;
  sequenceType?: unknown;
  mapType?: unknown;
  optionalType?: unknown;
  sparseTensorType?: unknown;
}

export interface OnnxValueInfo {
  name?: string | null;
  type?: OnnxTypeProto | null;
  docString?: string | null;
}

export interface OnnxGraph {
  node?: OnnxNode[] | null;
  name?: string | null;
  initializer?: OnnxTensor[] | null;
  sparseInitializer?: unknown[] | null;
  docString?: string | null;
  input?: OnnxValueInfo[] | null;
  output?: OnnxValueInfo[] | null;
  valueInfo?: OnnxValueInfo[] | null;
}

export interface OnnxModel {
  irVersion?: OnnxInt64 | null;
  opsetImport?: OnnxOperatorSetId[] | null;
  producerName?: string | null;
  producerVersion?: string | null;
  domain?: string | null;
  modelVersion?: OnnxInt64 | null;
  docString?: string | null;
  graph?: OnnxGraph | null;
  metadataProps?: OnnxStringStringEntry[] | null;
  /** Model-local functions (IR ≥ 8); nodes that call them are refused by name. */
  functions?: unknown[] | null;
}
