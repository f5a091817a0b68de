/**
 * A cheap pre-decode census of an ONNX file: how many nodes, node input/output names and other
 * graph entries it declares, read straight off the protobuf wire format without building any
 * object. protobufjs materialises every entry (a 140 MB file of 10 million Relu nodes takes
 * gigabytes of heap and kills V8 with a native stack trace), so the loader refuses files
 * beyond the caps before decoding them.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/): each field is a varint key
 * (field number << 3 | wire type), then a varint (type 0), 8 bytes (1), a varint length and
 * that many bytes (2), or 4 bytes (5). ModelProto.graph is field 7; in GraphProto, node is 1,
 * initializer 5, input 11, output 12, value_info 13, sparse_initializer 15; in NodeProto,
 * input is 1, output 2, attribute 5 (onnx.proto3).
 *
 * The scan never throws: a malformed stream stops the count, and the decoder reports it.
 */

export interface OnnxCensus {
  nodes: number;
  /** Input and output names of all nodes, and their attributes. */
  nodeFields: number;
  /** Initializers, graph inputs/outputs, value_info and sparse initializers. */
  graphEntries: number;
}

// the varint reader's position, so that reading allocates nothing
let at = 0;

/** Read a varint at `at` (advancing it); -1 past `end` or when longer than 8 bytes (2^56). */
function varint(b: Uint8Array, end: number): number {
  let v = 0,
    mul = 1;
  for (let i = 0; i < 8; i++) {
    if (at >= end) return -1;
    const x = b[at++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 128;
  }
  return -1;
}

/**
 * Skip the value of a field with wire type `wire` at `at`; for a length-delimited one return
 * its payload start (and leave `at` at its end). -2 when malformed, -1 for other wire types.
 */
function skip(b: Uint8Array, wire: number, end: number): number {
  if (wire === 0) return varint(b, end) < 0 ? -2 : -1;
  if (wire === 1) return (at += 8) > end ? -2 : -1;
  if (wire === 5) return (at += 4) > end ? -2 : -1;
  if (wire !== 2) return -2; // groups (3, 4) are not used by onnx.proto
  const n = varint(b, end);
  if (n < 0 || at + n > end) return -2;
  const start = at;
  at += n;
  return start;
}

/** Count the fields numbered in `wanted` of the message in b[start, end) (at moves to end). */
function countFields(b: Uint8Array, start: number, end: number, wanted: (f: number) => boolean): number {
  let count = 0;
  at = start;
  while (at < end) {
    const k = varint(b, end);
    if (k < 0) return count;
    if (skip(b, k % 8, end) === -2) return count;
    if (wanted(Math.floor(k / 8))) count++;
  }
  return count;
}

const isNodeField = (f: number): boolean => f === 1 || f === 2 || f === 5;

/** Count what a ModelProto's graph declares (no allocation beyond the result). */
export function onnxCensus(b: Uint8Array): OnnxCensus {
  const c: OnnxCensus = { nodes: 0, nodeFields: 0, graphEntries: 0 };
  const end = b.length;
  at = 0;
  while (at < end) {
    const k = varint(b, end);
    if (k < 0) break;
    const s = skip(b, k % 8, end);
    if (s === -2) break;
    if (Math.floor(k / 8) !== 7 || s < 0) continue;
    // ModelProto.graph: walk its fields
    const gEnd = at;
    at = s;
    while (at < gEnd) {
      const gk = varint(b, gEnd);
      if (gk < 0) break;
      const g = Math.floor(gk / 8);
      const gs = skip(b, gk % 8, gEnd);
      if (gs === -2) break;
      if (g === 1 && gs >= 0) {
        c.nodes++;
        const next = at;
        c.nodeFields += countFields(b, gs, next, isNodeField);
        at = next;
      } else if (g === 5 || g === 11 || g === 12 || g === 13 || g === 15) c.graphEntries++;
    }
    at = gEnd;
  }
  return c;
}
