/**
 * Test helpers for the ONNX importer: build small ONNX files with onnx-proto's encoder (the
 * same schema the loader decodes), run them in onnxruntime-web, and compare outputs.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import type { Model } from '../src/model.ts';

const { onnx } = onnxProto;

ort.env.wasm.numThreads = 1;

export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { t: onnxProto.onnx.ITensorProto };

const ATTR_TYPE = { i: 2, f: 1, s: 3, t: 4, floats: 6, ints: 7 } as const;

export function attr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const key = Object.keys(v)[0] as keyof typeof ATTR_TYPE;
  const a: onnxProto.onnx.IAttributeProto = { name, type: ATTR_TYPE[key] };
  if ('s' in v) a.s = new TextEncoder().encode(v.s);
  else Object.assign(a, v);
  return a;
}

export function node(
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, AttrValue> = {},
  name = output[0],
): onnxProto.onnx.INodeProto {
  return { opType, input, output, name, attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) };
}

/** A float tensor (float_data, or raw_data when `raw`). */
export function floatTensor(name: string, dims: number[], values: number[], raw = false): onnxProto.onnx.ITensorProto {
  if (raw) {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return { name, dims, dataType: 1, rawData: b };
  }
  return { name, dims, dataType: 1, floatData: values };
}

export function int64Tensor(name: string, dims: number[], values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: 7, int64Data: values };
}

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface ModelSpec {
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
  nodes: onnxProto.onnx.INodeProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  opset?: number;
  irVersion?: number;
}

export function buildModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset ?? 13;
  const m = onnx.ModelProto.create({
    irVersion: spec.irVersion ?? (opset >= 21 ? 10 : opset >= 15 ? 8 : 7),
    producerName: 'netinvert-test',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'test',
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

/** Decode a serialized TensorProto (ONNX backend test data) into dims and float values. */
export function readTensorProto(bytes: Uint8Array): { dims: number[]; data: Float64Array } {
  const t = onnx.TensorProto.decode(bytes);
  const dims = t.dims.map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  if (t.rawData && t.rawData.length > 0) {
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let i = 0; i < n; i++) data[i] = dv.getFloat32(i * 4, true);
  } else for (let i = 0; i < n; i++) data[i] = t.floatData[i];
  return { dims, data };
}

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  let a = seed >>> 0;
  return (lo = -1, hi = 1) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return lo + (hi - lo) * u;
  };
}

/**
 * Relative closeness with a small absolute floor, for float32 references against our float64
 * forward pass: |a − b| ≤ rtol·|b| + atol. Returns the worst offender, or null when all pass.
 */
export function firstMismatch(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-6,
): { index: number; got: number; want: number } | null {
  if (got.length !== want.length) return { index: -1, got: got.length, want: want.length };
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= rtol * Math.abs(want[i]) + atol)) return { index: i, got: got[i], want: want[i] };
  }
  return null;
}

export interface CrossCheck {
  /** Largest error relative to its point's largest output magnitude. */
  maxRel: number;
  mismatch: string | null;
}

/**
 * Run the same bytes in onnxruntime-web and in our engine on `batches` random batches; each
 * input of a fixed batch size gets that many rows, a symbolic batch 3 rows. Every model input
 * is read from its declared shape in the loaded model's metadata. Agreement: for each point
 * and output, |ours − ort| ≤ rtol·max|ort over that point's output| + atol (1e-5, 1e-6).
 */
export async function crossCheckWithOrt(
  bytes: Uint8Array,
  model: Model,
  opts: { seed?: number; batches?: number; lo?: number; hi?: number; rtol?: number; atol?: number } = {},
): Promise<CrossCheck> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const shapes = (model.metadata.extra as { onnx: { inputShapes: Record<string, (number | string)[]> } }).onnx.inputShapes;
  const net = model.network;
  const next = rng(opts.seed ?? 1);
  let maxRel = 0;
  try {
    for (let b = 0; b < (opts.batches ?? 3); b++) {
      const rowsOf = (name: string): number => (typeof shapes[name][0] === 'number' ? (shapes[name][0] as number) : 3);
      const rows = Math.max(...model.graph.inputs.map((i) => rowsOf(i.name)));
      const X = new Float64Array(rows * net.nIn);
      for (let i = 0; i < X.length; i++) X[i] = Math.fround(next(opts.lo ?? -3, opts.hi ?? 3));
      const feeds: Record<string, ort.Tensor> = {};
      let off = 0;
      for (const inp of model.graph.inputs) {
        const r = rowsOf(inp.name);
        const vals = new Float32Array(r * inp.width);
        for (let p = 0; p < r; p++) for (let j = 0; j < inp.width; j++) vals[p * inp.width + j] = X[p * net.nIn + off + j];
        const dims = shapes[inp.name].map((d, k) => (k === 0 ? r : (d as number)));
        feeds[inp.name] = new ort.Tensor('float32', vals, dims);
        off += inp.width;
      }
      const res = await session.run(feeds);
      const Y = net.evaluate(X, rows);
      let col = 0;
      for (const out of model.graph.outputs) {
        const t = res[out.name ?? out.node];
        const data = t.data as Float32Array;
        const r = t.dims.length === 0 ? 1 : Number(t.dims[0]);
        const w = data.length / r;
        const mine = new Float64Array(r * w);
        for (let p = 0; p < r; p++) for (let j = 0; j < w; j++) mine[p * w + j] = Y[p * net.nOut + col + j];
        // normwise per point: onnxruntime sums in float32, so an output that is small next to
        // the others in its row (cancellation) carries an error relative to the row's scale
        for (let p = 0; p < r; p++) {
          let scale = 0;
          for (let j = 0; j < w; j++) scale = Math.max(scale, Math.abs(data[p * w + j]));
          for (let j = 0; j < w; j++) {
            const i = p * w + j;
            const d = Math.abs(mine[i] - data[i]);
            maxRel = Math.max(maxRel, d / Math.max(scale, 1e-30));
            if (!(d <= (opts.rtol ?? 1e-5) * scale + (opts.atol ?? 1e-6))) {
              return { maxRel, mismatch: `output "${out.name}" batch ${b} point ${p} index ${j}: got ${mine[i]}, onnxruntime ${data[i]}` };
            }
          }
        }
        col += w;
      }
    }
  } finally {
    await session.release();
  }
  return { maxRel, mismatch: null };
}
