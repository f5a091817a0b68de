/**
 * Hostile and broken ONNX files. Each case must end in a coded NetinvertError whose message
 * starts with the file name: no crash, no hang, no raw protobufjs exception, and no allocation
 * sized by a header that the bytes do not back.
 */
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NetinvertError, type ErrorCode } from '../src/errors.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { loadOnnxModel, ONNX_MAX_BYTES } from '../src/formats/onnx/load.ts';
import { buildModel, floatTensor, node, rng, valueInfo, type ModelSpec } from './onnx-builder.ts';

const GOOD = new Uint8Array(readFileSync(join(__dirname, 'fixtures', 'third-party', 'onnx-torch', 'net_Calcite_ST.onnx')));

function refusedBy(fn: () => unknown): NetinvertError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NetinvertError);
    return e as NetinvertError;
  }
  throw new Error('expected a refusal');
}

/** Load, expecting a NetinvertError; returns it. */
function refused(bytes: Uint8Array, file = 'hostile.onnx'): NetinvertError {
  try {
    loadOnnxModel(bytes, { file });
  } catch (e) {
    expect(e).toBeInstanceOf(NetinvertError);
    expect((e as Error).message.startsWith(`${file}: `)).toBe(true);
    return e as NetinvertError;
  }
  throw new Error('expected the file to be refused');
}

function expectRefused(bytes: Uint8Array, code: ErrorCode, message: RegExp): NetinvertError {
  const e = refused(bytes);
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

/** A tiny valid model: y = relu(x·W + b), x of width 2. */
function mlp(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    inputs: [valueInfo('x', ['N', 2])],
    outputs: [valueInfo('y', ['N', 3])],
    initializers: [floatTensor('W', [2, 3], [1, 2, 3, 4, 5, 6]), floatTensor('b', [3], [0.1, 0.2, 0.3])],
    nodes: [node('Gemm', ['x', 'W', 'b'], ['h'], {}, 'fc'), node('Relu', ['h'], ['y'], {}, 'act')],
    ...over,
  };
}

describe('hostile and broken ONNX files', () => {
  it('the reference model itself loads (so each refusal below is caused by its one defect)', () => {
    expect(loadOnnxModel(buildModel(mlp())).network.nOut).toBe(3);
    expect(loadOnnxModel(GOOD).network.nIn).toBe(12);
  });

  it('truncated file: every cut of a real model is refused with bad_model_file', () => {
    for (const cut of [1, 10, 100, 1000, 50_000, GOOD.length - 1000, GOOD.length - 1]) {
      const e = refused(GOOD.subarray(0, cut));
      expect(e.code).toBe('bad_model_file');
    }
    expect(refused(GOOD.subarray(0, GOOD.length >> 1)).message).toMatch(/truncated|corrupt/);
  });

  it('random bytes: refused with a coded error, never a raw exception', () => {
    const next = rng(42);
    for (let k = 0; k < 50; k++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(next(0, 4000)) }, () => Math.floor(next(0, 256)));
      const e = refused(bytes);
      expect(['bad_model_file', 'unsupported_format_version', 'no_inputs', 'file_too_large']).toContain(e.code);
    }
  });

  it('empty file', () => {
    expectRefused(new Uint8Array(0), 'bad_model_file', /empty/);
    expectRefused(new ArrayBuffer(0) as unknown as Uint8Array, 'bad_model_file', /empty/);
  });

  it('an initializer declaring a billion floats but holding a few bytes is refused before allocation', () => {
    const lying = { name: 'W', dims: [1_000_000_000], dataType: 1, rawData: new Uint8Array(8) };
    // (no timing assertion: a loader that allocated 4 GB or hung would fail or hit the test timeout)
    const e = expectRefused(buildModel(mlp({ initializers: [lying, floatTensor('b', [3], [0, 0, 0])] })), 'bad_model_file', /declares shape \[1000000000\]/);
    expect(e.message).toMatch(/initializer "W"/);
    expect(e.message).toMatch(/holds 8 bytes/);
    // the typed-field form, and a product of dims above 2^53
    const typed = { name: 'W', dims: [1_000_000_000], dataType: 1, floatData: [1, 2] };
    expectRefused(buildModel(mlp({ initializers: [typed, floatTensor('b', [3], [0, 0, 0])] })), 'bad_model_file', /holds 2 values/);
    const huge = { name: 'W', dims: [4_000_000_000, 4_000_000_000], dataType: 1, rawData: new Uint8Array(4) };
    expectRefused(buildModel(mlp({ initializers: [huge, floatTensor('b', [3], [0, 0, 0])] })), 'bad_model_file', /truncated or corrupt/);
  });

  it('a graph input declaring 10^12 features is refused before any buffer is sized by it', () => {
    const spec = mlp({ inputs: [valueInfo('x', ['N', 1_000_000, 1_000_000])] });
    expectRefused(buildModel(spec), 'file_too_large', /graph input "x"/);
  });

  it('a small file that would expand into a huge graph is refused (per tensor, and in total)', () => {
    // Concat doubling the width: the 9th would hold 2^25 values per point
    const nodes = [node('Concat', ['x', 'x'], ['c0'], { axis: { i: 1 } })];
    for (let k = 1; k < 12; k++) nodes.push(node('Concat', [`c${k - 1}`, `c${k - 1}`], [`c${k}`], { axis: { i: 1 } }));
    nodes.push(node('Relu', ['c11'], ['y']));
    const doubling = { inputs: [valueInfo('x', ['N', 1 << 16])], outputs: [valueInfo('y', ['N', 1 << 28])], nodes };
    expectRefused(buildModel(doubling), 'file_too_large', /above netinvert's limit/);
    // 100 Tanh nodes on a 2^20-wide input: each node is allowed, their evaluation buffers are not
    const tnodes = [node('Tanh', ['x'], ['t0'])];
    for (let k = 1; k < 100; k++) tnodes.push(node('Tanh', [`t${k - 1}`], [`t${k}`]));
    const many = { inputs: [valueInfo('x', ['N', 1 << 20])], outputs: [valueInfo('t99', ['N', 1 << 20])], nodes: tnodes };
    expectRefused(buildModel(many), 'file_too_large', /converted graph would hold more than/);
  });

  describe('resource caps: counted on the wire before decoding', () => {
    /** Protobuf field: key, varint length, payload (wire type 2). */
    const lenField = (field: number, payload: Uint8Array): Uint8Array => {
      const len: number[] = [];
      for (let n = payload.length; ; n = Math.floor(n / 128)) {
        len.push(n >= 128 ? (n % 128) | 0x80 : n);
        if (n < 128) break;
      }
      return Uint8Array.from([(field << 3) | 2, ...len, ...payload]);
    };
    const str = (field: number, s: string): Uint8Array => lenField(field, new TextEncoder().encode(s));
    /** A valid model, then a second ModelProto.graph field holding `count` copies of `entry`:
     *  protobuf merges repeated fields, so the decoder sees one graph with all of them. */
    const withExtra = (entry: Uint8Array, count: number): Uint8Array => {
      const head = buildModel(mlp());
      const body = new Uint8Array(entry.length * count);
      body.set(entry);
      for (let filled = entry.length; filled < body.length; filled *= 2) body.copyWithin(filled, 0, Math.min(filled, body.length - filled));
      const graph = lenField(7, new Uint8Array(0)); // key + length header sized below
      const len: number[] = [];
      for (let n = body.length; ; n = Math.floor(n / 128)) {
        len.push(n >= 128 ? (n % 128) | 0x80 : n);
        if (n < 128) break;
      }
      const out = new Uint8Array(head.length + 1 + len.length + body.length);
      out.set(head);
      out[head.length] = graph[0];
      out.set(len, head.length + 1);
      out.set(body, head.length + 1 + len.length);
      return out;
    };

    it('10 million Relu nodes (the 140 MB file that exhausted the V8 heap) → file_too_large, no decode', () => {
      // op_type only: 8 bytes a node, so the file stays under the byte cap and the node count
      // is what refuses it (the census fires on the count, not the wiring)
      const bytes = withExtra(lenField(1, str(4, 'Relu')), 10_000_000);
      expect(bytes.length).toBeLessThan(128 * 1024 * 1024);
      const e = expectRefused(bytes, 'file_too_large', /the graph declares 10000002 nodes, above the limit of 100000; .*raise the cap/);
      expect(e.message.split('\n')).toHaveLength(1);
      // (written in full, 16 bytes a node, the same 10 million are 160 MB: the byte cap, tested below)
    });

    it('10 million empty nodes → file_too_large before decoding', () => {
      expectRefused(withExtra(Uint8Array.of(0x0a, 0x00), 10_000_000), 'file_too_large', /declares 10000002 nodes/);
    });

    it('ten million initializer / value_info entries, and a node with millions of inputs → file_too_large', () => {
      expectRefused(withExtra(Uint8Array.of(0x6a, 0x00), 2_000_000), 'file_too_large', /2000004 initializers, graph inputs\/outputs and value_info entries, above the limit of 1000000/);
      const names = new Uint8Array(3 * 1_100_000);
      for (let i = 0; i < names.length; i += 3) names.set([0x0a, 0x01, 0x78], i); // input "x", 1.1 million times
      const wide = lenField(1, names);
      expectRefused(withExtra(wide, 1), 'file_too_large', /node inputs, outputs and attributes, above the limit of 1000000/);
    });

    it('limits.maxNodes: a genuine chain of 2,001 Relu nodes is refused under a 2,000 cap, and loads under 3,000', () => {
      const n = 2_001;
      const nodes = Array.from({ length: n }, (_, i) => node('Relu', [i === 0 ? 'y' : `r${i - 1}`], [`r${i}`]));
      const base = mlp();
      const bytes = buildModel({ ...base, nodes: [...base.nodes, ...nodes], outputs: [valueInfo(`r${n - 1}`, ['N', 3])] });
      let err: unknown;
      try {
        loadOnnxModel(bytes, { file: 'chain.onnx', limits: { maxNodes: 2_000 } });
      } catch (e) {
        err = e;
      }
      expect((err as NetinvertError).code).toBe('file_too_large');
      expect((err as Error).message).toMatch(/^chain\.onnx: the graph declares 2003 nodes, above the limit of 2000/);
      const m = loadOnnxModel(bytes, { file: 'chain.onnx', limits: { maxNodes: 3_000 } });
      // relu of relu is relu: y = relu(x·W + b) by hand, for x = (1, −1)
      const W = [1, 2, 3, 4, 5, 6],
        b = [0.1, 0.2, 0.3];
      const want = [0, 1, 2].map((j) => Math.max(0, W[j] - W[3 + j] + b[j]));
      expect(Array.from(m.network.evaluate(Float64Array.of(1, -1), 1))).toEqual(want);
    });

    it('the CLI refuses an .onnx above the byte cap from its size alone, without reading it', () => {
      const dir = mkdtempSync(join(tmpdir(), 'ni-onnx-big-'));
      const big = join(dir, 'big.onnx');
      writeFileSync(big, new Uint8Array(0));
      truncateSync(big, ONNX_MAX_BYTES + 1); // sparse: no 128 MB written or read
      const e = refusedBy(() => loadModelFile(big));
      expect(e.code).toBe('file_too_large');
      expect(e.message).toBe(`${big}: ${ONNX_MAX_BYTES + 1} bytes is above the ${ONNX_MAX_BYTES}-byte limit; the file was not read`);
    });

    it('bytes above the size cap are refused before anything is read; limits.maxBytes lowers it', () => {
      expectRefused(new Uint8Array(128 * 1024 * 1024 + 1), 'file_too_large', /134217729 bytes, above the 134217728-byte limit/);
      const small = buildModel(mlp());
      try {
        loadOnnxModel(small, { file: 'small.onnx', limits: { maxBytes: 10 } });
        throw new Error('expected a refusal');
      } catch (e) {
        expect((e as NetinvertError).code).toBe('file_too_large');
      }
    });
  });

  it('NaN or Inf weights are refused (non_finite_weight), naming the initializer', () => {
    const nan = mlp({ initializers: [floatTensor('W', [2, 3], [1, 2, NaN, 4, 5, 6], true), floatTensor('b', [3], [0, 0, 0])] });
    const e = expectRefused(buildModel(nan), 'non_finite_weight', /initializer "W"\[2\] is NaN/);
    expect(e.message).toMatch(/node "fc" \(Gemm\)/);
    const inf = mlp({ initializers: [floatTensor('W', [2, 3], [1, 2, 3, 4, 5, 6]), floatTensor('b', [3], [0, Infinity, 0])] });
    expectRefused(buildModel(inf), 'non_finite_weight', /initializer "b"\[1\] is Infinity/);
  });

  it('a model with no inputs (only initializers) is refused with no_inputs', () => {
    const spec: ModelSpec = {
      inputs: [valueInfo('W', [2, 3])],
      outputs: [valueInfo('y', [2, 3])],
      initializers: [floatTensor('W', [2, 3], [1, 2, 3, 4, 5, 6])],
      nodes: [node('Relu', ['W'], ['y'])],
      irVersion: 3,
    };
    expectRefused(buildModel(spec), 'no_inputs', /no inputs/);
    expectRefused(buildModel({ ...spec, inputs: [] }), 'no_inputs', /no inputs/);
  });

  it('mismatched shapes: a Gemm weight that does not fit the input width', () => {
    const e = expectRefused(
      buildModel(mlp({ inputs: [valueInfo('x', ['N', 5])] })),
      'shape_mismatch',
      /node "fc" \(Gemm\): weight "W" has shape \[2, 3\].*takes 2 input features, but input "x" has 5/,
    );
    expect(e.detail).toMatchObject({ node: 'fc', op: 'Gemm', file: 'hostile.onnx' });
  });

  it('an unknown op is refused by name, with its node and what to do', () => {
    const spec = mlp();
    spec.nodes[1] = node('FrobnicateV2', ['h'], ['y'], {}, 'mystery_node');
    const e = expectRefused(buildModel(spec), 'unsupported_op', /node "mystery_node" \(FrobnicateV2\): op "FrobnicateV2" is not supported/);
    expect(e.message).toMatch(/Re-export/);
    expect(e.detail).toMatchObject({ node: 'mystery_node', op: 'FrobnicateV2' });
    // an op from another domain, too
    spec.nodes[1] = { ...node('Scaler', ['h'], ['y'], {}, 'ml_node'), domain: 'ai.onnx.ml' };
    expectRefused(buildModel(spec), 'unsupported_op', /"Scaler" from domain "ai.onnx.ml"/);
  });

  it('a cyclic graph is refused with graph_cycle, naming the nodes on the cycle', () => {
    const spec = mlp({
      nodes: [node('Add', ['x2', 'c'], ['a'], {}, 'n1'), node('Relu', ['a'], ['b'], {}, 'n2'), node('Identity', ['b'], ['c'], {}, 'n3'), node('Relu', ['b'], ['y'])],
      inputs: [valueInfo('x2', ['N', 3])],
      initializers: [],
    });
    // (a loader that looped on the cycle would hit the test timeout)
    const e = expectRefused(buildModel(spec), 'graph_cycle', /cycle through node "n1" \(Add\), node "n2" \(Relu\), node "n3" \(Identity\)/);
    expect(e.detail).toMatchObject({ nodes: ['n1', 'n2', 'n3', 'y'] });
  });

  it('int64 values above 2^53 are refused: in dims (as Long objects) and in int64 data', () => {
    const big = { low: 0, high: 0x00400000 }; // 2^54
    const dims = { name: 'W', dims: [big as unknown as number, 3], dataType: 1, rawData: new Uint8Array(24) };
    expectRefused(buildModel(mlp({ initializers: [dims, floatTensor('b', [3], [0, 0, 0])] })), 'bad_model_file', /initializer "W" dims\[0\].*above 2\^53/);

    const raw = new Uint8Array(16);
    const dv = new DataView(raw.buffer);
    dv.setBigInt64(0, 0n, true);
    dv.setBigInt64(8, 2n ** 60n, true);
    const spec: ModelSpec = {
      inputs: [valueInfo('x', ['N', 6])],
      outputs: [valueInfo('y', ['N', 6])],
      initializers: [{ name: 'shape', dims: [2], dataType: 7, rawData: raw }],
      nodes: [node('Reshape', ['x', 'shape'], ['y'], {}, 'rs')],
    };
    const e = expectRefused(buildModel(spec), 'bad_model_file', /initializer "shape"\[1\].*above 2\^53/);
    expect(e.message).toMatch(/node "rs" \(Reshape\)/);
  });

  it('external data is refused with a clear message and the fix', () => {
    const ext = {
      name: 'W',
      dims: [2, 3],
      dataType: 1,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: 'weights.bin' },
        { key: 'offset', value: '0' },
      ],
    };
    const e = expectRefused(
      buildModel(mlp({ initializers: [ext, floatTensor('b', [3], [0, 0, 0])] })),
      'bad_model_file',
      /initializer "W" keeps its values in an external data file \("weights.bin"\)/,
    );
    expect(e.message).toMatch(/save_as_external_data=False/);
  });

  it('opsets outside 6..22 are refused with unsupported_format_version', () => {
    expectRefused(buildModel(mlp({ opset: 5 })), 'unsupported_format_version', /opset 5; netinvert reads opsets 6 to 22/);
    expectRefused(buildModel(mlp({ opset: 23 })), 'unsupported_format_version', /opset 23/);
  });

  it('a node reading a tensor nothing defines, and a non-float input, are refused', () => {
    const dangling = mlp();
    dangling.nodes[1] = node('Relu', ['nowhere'], ['y'], {}, 'act');
    expectRefused(buildModel(dangling), 'unknown_node', /node "act" \(Relu\) reads tensor "nowhere"/);
    expectRefused(buildModel(mlp({ inputs: [valueInfo('x', ['N', 2], 7)] })), 'unsupported_op', /input "x" has element type int64/);
    expectRefused(buildModel(mlp({ inputs: [valueInfo('x', ['N', 'F'])] })), 'shape_mismatch', /unknown \("F"\) dimension at axis 1/);
  });

  it('deeply nested subgraphs (stack exhaustion in the decoder) give a coded error', () => {
    // Model.graph → Graph.node → Node.attribute → Attribute.g → Graph.node → ... 20 000 deep,
    // written as length-delimited headers from the outside in
    const varint = (n: number): number[] => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return out;
    };
    const tags: number[] = [0x3a]; // ModelProto.graph
    for (let d = 0; d < 20_000; d++) tags.push(0x0a, 0x2a, 0x32); // graph.node, node.attribute, attribute.g
    const lens = new Array<number>(tags.length);
    let inner = 0;
    for (let k = tags.length - 1; k >= 0; k--) {
      lens[k] = inner;
      inner += 1 + varint(inner).length;
    }
    const bytes = Uint8Array.from(tags.flatMap((t, k) => [t, ...varint(lens[k])]));
    const e = refused(bytes);
    expect(['bad_model_file', 'no_inputs']).toContain(e.code);
  });

  it('fuzz: byte flips and cuts of a valid file load or give a coded error, never a raw exception', () => {
    const base = buildModel(mlp());
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(base.length),
        (flips, cut) => {
          const b = base.slice(0, Math.max(1, cut));
          for (const [i, v] of flips) if (i < b.length) b[i] = v;
          try {
            const m = loadOnnxModel(b, { file: 'fuzz.onnx' });
            const y = m.network.evaluate(new Float64Array(m.network.nIn), 1);
            return y.length === m.network.nOut;
          } catch (e) {
            return e instanceof NetinvertError && e.message.startsWith('fuzz.onnx: ');
          }
        },
      ),
      { seed: 20240611, numRuns: 400 },
    );
  });
});
