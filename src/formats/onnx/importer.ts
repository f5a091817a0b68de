/**
 * The conversion machinery of the ONNX importer: the Value each ONNX tensor becomes, the
 * engine-graph builder (with the size budget), the per-node Step (attributes, inputs, error
 * messages naming the node) and the Importer that walks the graph once in topological order.
 * The per-op converters and pattern fusions live in ops.ts; load.ts is the entry point.
 */
import { NetinvertError, type ErrorCode } from '../../errors.ts';
import { makeUnary, type UnaryParams } from '../../graph/activations/index.ts';
import type { GraphDef, NodeDef, OpSpec } from '../../graph/types.ts';
import { createModel, type Model, type ModelMetadata } from '../../model.ts';
import {
  AttributeType,
  TensorDataType,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './format.ts';
import { broadcastDims, broadcastIndex, checkSize, isIdentity, sizeOf, type IndexMap } from './shape.ts';
import { decodeTensor, int64Size, int64Value, isFloatType, typeName } from './tensor.ts';

export const ONNX_MIN_OPSET = 6;
const RECURRENT_OPS = new Set(['LSTM', 'GRU', 'RNN', 'Scan', 'Loop']);
export const ONNX_MAX_OPSET = 22;

// ---------------------------------------------------------------------------------------------
// Values

export interface ConstValue {
  kind: 'const';
  dims: number[];
  data: Float64Array;
  dataType: number;
}
/** A tensor that depends on the inputs: engine node `ref`, shape [batch, ...dims]. */
export interface DynValue {
  kind: 'dyn';
  ref: string;
  dims: number[];
  /** Fixed batch size, or null when symbolic. */
  batch: number | null;
}
/** A deferred error: raised only if an output depends on this tensor. */
export interface BadValue {
  kind: 'bad';
  error: NetinvertError;
}
export type Value = ConstValue | DynValue | BadValue;

export type BinFn = 'add' | 'sub' | 'mul' | 'div';

function own(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}
export function uniform(a: Float64Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i] !== a[0]) return false;
  return a.length > 0;
}
export function constOf(dims: number[], data: Float64Array, dataType: number = TensorDataType.FLOAT): ConstValue {
  return { kind: 'const', dims, data, dataType };
}
export function fmtDims(d: readonly (number | null)[]): string {
  return `[${d.map((x) => (x === null ? 'batch' : String(x))).join(', ')}]`;
}
const utf8 = new TextDecoder('utf-8', { fatal: false });

// ---------------------------------------------------------------------------------------------
// Engine graph builder

interface DenseInfo {
  input: string;
  units: number;
  weight: Float64Array;
  bias: Float64Array | null;
}

/**
 * Most values the converted graph may hold: parameters plus one value per feature of every
 * node (the engine's evaluation buffers per point). A small file must not expand into a huge
 * graph (say, a thousand Transposes of a wide input), so every emitted node is charged.
 */
export const ONNX_MAX_GRAPH_VALUES = 1 << 26;

class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  private readonly used = new Set<string>();
  private readonly widths = new Map<string, number>();
  private charged = 0;
  /** Dense nodes by name, so that a following bias or BatchNorm can fold into them. */
  readonly dense = new Map<string, DenseInfo>();

  input(name: string, width: number): void {
    this.used.add(name);
    this.widths.set(name, width);
    this.charge(width);
  }

  private charge(n: number): void {
    this.charged += n;
    if (this.charged > ONNX_MAX_GRAPH_VALUES) {
      throw new NetinvertError(
        'file_too_large',
        `the converted graph would hold more than ${ONNX_MAX_GRAPH_VALUES} values (weights plus one per feature of every node); this is not a small MLP`,
        { limit: ONNX_MAX_GRAPH_VALUES },
      );
    }
  }

  unique(base: string): string {
    let name = base || 'node';
    for (let k = 1; this.used.has(name); k++) name = `${base}#${k}`;
    this.used.add(name);
    return name;
  }

  emit(base: string, op: OpSpec, inputs: string[]): string {
    const w = inputs.map((i) => this.widths.get(i) ?? 0);
    const out = outputWidth(op, w);
    this.charge(out + paramCount(op));
    const name = this.unique(base);
    this.widths.set(name, out);
    this.nodes.push({ name, op, inputs });
    if (op.type === 'dense') {
      this.dense.set(name, {
        input: inputs[0],
        units: op.units,
        weight: op.weight as Float64Array,
        bias: (op.bias as Float64Array | null | undefined) ?? null,
      });
    }
    return name;
  }

  /** Keep the nodes that some output depends on (emission order is already topological). */
  prune(outputs: string[]): NodeDef[] {
    const byName = new Map(this.nodes.map((n) => [n.name, n]));
    const live = new Set<string>();
    const stack = [...outputs];
    while (stack.length) {
      const n = stack.pop()!;
      if (live.has(n)) continue;
      live.add(n);
      const nd = byName.get(n);
      if (nd) stack.push(...nd.inputs);
    }
    return this.nodes.filter((n) => live.has(n.name));
  }
}

function outputWidth(op: OpSpec, w: number[]): number {
  switch (op.type) {
    case 'dense':
      return op.units;
    case 'gather':
      return op.indices.length;
    case 'concat':
      return w.reduce((a, b) => a + b, 0);
    case 'binary':
      return Math.max(...w);
    default:
      return w[0] ?? 0;
  }
}

function paramCount(op: OpSpec): number {
  switch (op.type) {
    case 'dense':
      return op.weight.length + (op.bias ? op.bias.length : 0);
    case 'affine':
      return op.scale.length + op.shift.length;
    case 'binary_const':
      return op.constant.length;
    case 'gather':
      return op.indices.length;
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// One ONNX node being converted

export class Step {
  readonly op: string;
  readonly name: string;
  readonly label: string;
  readonly base: string;

  constructor(
    readonly imp: Importer,
    readonly node: OnnxNode,
    index: number,
  ) {
    this.op = node.opType ?? '';
    this.name = node.name || `#${index}`;
    this.label = `node "${this.name}" (${this.op})`;
    this.base = (node.output ?? []).find((o) => o) ?? this.name;
  }

  get opset(): number {
    return this.imp.opset;
  }

  fail(code: ErrorCode, msg: string, fix?: string): NetinvertError {
    return new NetinvertError(code, `${this.label}: ${msg}${fix ? `. ${fix}` : ''}`, { node: this.name, op: this.op });
  }

  unsupported(msg: string, fix = 'Re-export the model so that this node is expressed with supported ops, or remove it'): NetinvertError {
    return this.fail('unsupported_op', msg, fix);
  }

  inputName(i: number): string {
    return this.node.input?.[i] ?? '';
  }

  get inputCount(): number {
    return (this.node.input ?? []).length;
  }

  /** Input i, or null where it is absent (optional inputs are written as ""). */
  input(i: number): Value | null {
    const name = this.inputName(i);
    return name ? this.imp.valueOf(name) : null;
  }

  need(i: number, role: string): Value {
    const v = this.input(i);
    if (!v) throw this.fail('bad_model_file', `input ${i} (${role}) is missing`);
    return v;
  }

  dyn(i: number, role: string): DynValue {
    const v = this.need(i, role);
    if (v.kind !== 'dyn') {
      throw this.unsupported(`input ${i} (${role}, "${this.inputName(i)}") is a constant where netinvert expects a tensor computed from the model inputs`);
    }
    return v;
  }

  constant(i: number, role: string): ConstValue {
    const v = this.need(i, role);
    if (v.kind !== 'const') {
      throw this.unsupported(
        `input ${i} (${role}, "${this.inputName(i)}") depends on the model inputs; netinvert needs it to be a constant (an initializer or Constant node)`,
      );
    }
    return v;
  }

  /** An optional constant input read as a list of integers (Squeeze axes, Slice starts...). */
  intsInput(i: number, role: string): number[] | null {
    const v = this.input(i);
    if (!v) return null;
    if (v.kind !== 'const') throw this.unsupported(`${role} (input ${i}) must be a constant`);
    return Array.from(v.data);
  }

  attr(name: string): OnnxAttribute | undefined {
    return (this.node.attribute ?? []).find((a) => a.name === name);
  }

  private wrongType(name: string, want: string): NetinvertError {
    return this.fail('bad_model_file', `attribute "${name}" should be ${want}`);
  }

  int(name: string, def: number): number {
    const a = this.attr(name);
    if (!a) return def;
    if (a.type !== AttributeType.INT && !own(a, 'i')) throw this.wrongType(name, 'an integer');
    const v = int64Value(a.i, `${this.label} attribute "${name}"`);
    if (!Number.isFinite(v)) throw this.fail('bad_model_file', `attribute "${name}" is out of range`);
    return v;
  }

  float(name: string, def: number): number {
    const a = this.attr(name);
    if (!a) return def;
    if (a.type !== AttributeType.FLOAT && !own(a, 'f')) throw this.wrongType(name, 'a float');
    const v = a.f ?? 0;
    if (!Number.isFinite(v)) throw this.fail('bad_parameter', `attribute "${name}" is ${v}; it must be finite`);
    return v;
  }

  ints(name: string): number[] | null {
    const a = this.attr(name);
    if (!a) return null;
    if (a.type !== AttributeType.INTS && !own(a, 'ints')) throw this.wrongType(name, 'a list of integers');
    return (a.ints ?? []).map((v, k) => int64Value(v, `${this.label} attribute "${name}"[${k}]`));
  }

  str(name: string, def: string): string {
    const a = this.attr(name);
    if (!a) return def;
    if (a.type !== AttributeType.STRING && !own(a, 's')) throw this.wrongType(name, 'a string');
    return utf8.decode(a.s ?? new Uint8Array(0));
  }

  /** Normalise an axis against a rank (negative counts from the end). */
  axis(axis: number, rank: number, what = 'axis'): number {
    const a = axis < 0 ? axis + rank : axis;
    if (!Number.isInteger(a) || a < 0 || a >= rank) {
      throw this.fail('shape_mismatch', `${what} ${axis} is out of range for a tensor of rank ${rank}`);
    }
    return a;
  }

  /** An axis of a tensor with a batch axis, as an index into its per-point dims. */
  featureAxis(axis: number, x: DynValue, what = 'axis'): number {
    const a = this.axis(axis, x.dims.length + 1, what);
    if (a === 0) {
      throw this.unsupported(
        `${what} ${axis} is the batch axis; netinvert treats the first dimension as the batch and only maps operations within one point`,
        'Export the model so that this operation acts on the feature axes',
      );
    }
    return a - 1;
  }
}

export type Converter = (s: Step) => Value | Value[];

/** The op tables (ops.ts), passed in so that this file does not import the converters. */
export interface OpTable {
  converters: Record<string, Converter>;
  /** Fusions tried before the converter of the same op; null when the pattern does not match. */
  patterns: Record<string, (s: Step) => Value | null>;
}

// ---------------------------------------------------------------------------------------------
// The importer

export class Importer {
  readonly builder = new GraphBuilder();
  readonly warnings: string[] = [];
  readonly fused: string[] = [];
  opset = 0;
  private readonly values = new Map<string, Value>();
  private readonly initializers = new Map<string, OnnxTensor>();
  private readonly initCache = new Map<string, ConstValue | NetinvertError>();
  readonly producers = new Map<string, OnnxNode>();

  constructor(
    readonly model: OnnxModel,
    private readonly ops: OpTable,
  ) {}

  valueOf(name: string): Value {
    const v = this.values.get(name);
    if (v) return v;
    const cached = this.initCache.get(name);
    if (cached instanceof NetinvertError) throw cached;
    if (cached) return cached;
    const t = this.initializers.get(name);
    if (!t) throw new NetinvertError('unknown_node', `tensor "${name}" is read before anything defines it`, { tensor: name });
    try {
      const d = decodeTensor(t, `initializer "${name}"`);
      const c = constOf(d.dims, d.data, d.dataType);
      this.initCache.set(name, c);
      return c;
    } catch (e) {
      if (e instanceof NetinvertError) this.initCache.set(name, e);
      throw e;
    }
  }

  /** The node that produces a tensor (for pattern matching), if any. */
  producer(name: string): OnnxNode | undefined {
    return this.producers.get(name);
  }

  /**
   * The value of a tensor when it is a constant scalar (rank ≤ 1, one value), so that it cannot
   * change the shape of what it is combined with: patterns only match such constants.
   */
  constScalar(name: string): number | null {
    try {
      const v = this.valueOf(name);
      return v.kind === 'const' && v.data.length === 1 && v.dims.length <= 1 ? v.data[0] : null;
    } catch {
      return null;
    }
  }

  dynOf(name: string): DynValue | null {
    try {
      const v = this.valueOf(name);
      return v.kind === 'dyn' ? v : null;
    } catch {
      return null;
    }
  }

  run(): Model {
    const m = this.model;
    const g = m.graph;
    if (!g || typeof g !== 'object') {
      throw new NetinvertError('bad_model_file', 'the file holds no graph; is it an ONNX model (.onnx)?');
    }
    this.opset = this.readOpset();
    for (const t of g.initializer ?? []) {
      if (t.name) this.initializers.set(t.name, t);
    }
    if ((g.sparseInitializer ?? []).length > 0) {
      throw new NetinvertError('bad_model_file', 'the graph has sparse initializers, which netinvert does not read; re-save them as dense initializers');
    }

    const graph: GraphDef = { inputs: [], nodes: [], outputs: [] };
    const inputShapes: Record<string, (number | string)[]> = {};
    // An input netinvert cannot read (a symbolic sequence axis, an int type) is a deferred
    // error like a node's: a node that reads it and is unsupported (an LSTM over the sequence)
    // is named first, since that is what the user has to change.
    const inputErrors: NetinvertError[] = [];
    let declared = 0;
    for (const vi of g.input ?? []) {
      const name = vi.name ?? '';
      if (this.initializers.has(name)) continue; // IR 3: initializers are listed as inputs too
      if (!name) throw new NetinvertError('bad_model_file', 'a graph input has no name');
      if (this.values.has(name)) throw new NetinvertError('bad_model_file', `graph input "${name}" is declared twice`);
      declared++;
      try {
        this.readInput(name, vi, graph, inputShapes);
      } catch (e) {
        if (!(e instanceof NetinvertError)) throw e;
        inputErrors.push(e);
        this.values.set(name, { kind: 'bad', error: e });
      }
    }
    if (declared === 0) {
      throw new NetinvertError('no_inputs', 'the graph has no inputs (other than initializers); a model needs at least one input tensor', {});
    }

    const nodes = g.node ?? [];
    for (const idx of this.topologicalOrder(g)) {
      const node = nodes[idx];
      const s = new Step(this, node, idx);
      let outs: Value[];
      try {
        const r = this.convert(s);
        outs = Array.isArray(r) ? r : [r];
      } catch (e) {
        if (!(e instanceof NetinvertError)) throw e;
        const err = e.message.includes(s.label)
          ? e
          : new NetinvertError(e.code, `${s.label}: ${e.message}`, { ...e.detail, node: s.name, op: s.op });
        outs = [{ kind: 'bad', error: err }];
      }
      (node.output ?? []).forEach((name, k) => {
        if (!name) return;
        const v =
          outs[k] ??
          (outs[0]?.kind === 'bad'
            ? outs[0]
            : { kind: 'bad', error: s.unsupported(`output ${k} ("${name}") is not computed by netinvert (only the main output is)`) });
        this.values.set(name, v);
      });
    }

    const outRefs: string[] = [];
    for (const vi of g.output ?? []) {
      const name = vi.name ?? '';
      const v = name ? this.values.get(name) ?? (this.initializers.has(name) ? this.valueOf(name) : undefined) : undefined;
      if (!v) throw new NetinvertError('unknown_node', `graph output "${name}" is not produced by any node`, { output: name });
      if (v.kind === 'bad') throw v.error;
      if (v.kind === 'const') {
        throw new NetinvertError('bad_model_file', `graph output "${name}" is a constant: it does not depend on any input, so there is nothing to invert`, {
          output: name,
        });
      }
      graph.outputs.push({ node: v.ref, name });
      outRefs.push(v.ref);
    }
    if (inputErrors.length) throw inputErrors[0];
    if (graph.outputs.length === 0) throw new NetinvertError('no_outputs', 'the graph declares no outputs');
    graph.nodes = this.builder.prune(outRefs);

    const defaultDomainOpsets: Record<string, number> = {};
    for (const o of m.opsetImport ?? []) defaultDomainOpsets[o.domain || 'ai.onnx'] = int64Value(o.version, 'opset_import version');
    const producer = `${m.producerName ?? ''} ${m.producerVersion ?? ''}`.trim();
    const metadataProps = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
    const metadata: ModelMetadata = {
      name: g.name || undefined,
      description: m.docString || g.docString || undefined,
      source: { format: 'onnx', producer: producer || undefined, version: `opset ${this.opset}` },
      precision: 'float32',
      warnings: this.warnings.length ? this.warnings : undefined,
      extra: {
        onnx: {
          irVersion: int64Value(m.irVersion, 'ir_version'),
          opsets: defaultDomainOpsets,
          inputShapes,
          fused: this.fused,
          ...(Object.keys(metadataProps).length ? { metadataProps } : {}),
        },
      },
    };
    return createModel(graph, metadata);
  }

  /** A graph input's type and shape → its Value and graph input; throws what it cannot read. */
  private readInput(name: string, vi: NonNullable<OnnxGraph['input']>[number], graph: GraphDef, inputShapes: Record<string, (number | string)[]>): void {
    const tt = vi.type?.tensorType;
    if (!tt) {
      throw new NetinvertError('bad_model_file', `graph input "${name}" is not a tensor (sequence, map or optional inputs are not supported)`, {
        input: name,
      });
    }
    if (!isFloatType(tt.elemType ?? 0)) {
      throw new NetinvertError(
        'unsupported_op',
        `graph input "${name}" has element type ${typeName(tt.elemType)}; netinvert inverts models with float inputs only`,
        { input: name },
      );
    }
    const dims = tt.shape?.dim;
    if (!tt.shape || !dims || dims.length === 0) {
      throw new NetinvertError(
        'shape_mismatch',
        `graph input "${name}" declares ${tt.shape ? 'a scalar shape' : 'no shape'}; netinvert needs [batch, features...] to know the feature count. ` +
          'Re-export with an example input of the right shape, or set the dims with onnx.tools.update_model_dims',
        { input: name },
      );
    }
    const fixedBatch = own(dims[0], 'dimValue') ? int64Size(dims[0].dimValue, `input "${name}" dim 0`) : null;
    if (fixedBatch === 0) throw new NetinvertError('shape_mismatch', `graph input "${name}" has a batch dimension of 0`, { input: name });
    const feat: number[] = [];
    for (let i = 1; i < dims.length; i++) {
      const d = dims[i];
      const v = own(d, 'dimValue') ? int64Size(d.dimValue, `input "${name}" dim ${i}`) : null;
      if (v === null || v === 0) {
        throw new NetinvertError(
          'shape_mismatch',
          `graph input "${name}" has ${v === 0 ? 'a zero' : `an unknown ("${d.dimParam ?? ''}")`} dimension at axis ${i}; only the first (batch) ` +
            'dimension may be symbolic. Re-export with fixed feature dims, or set them with onnx.tools.update_model_dims',
          { input: name, axis: i },
        );
      }
      feat.push(v);
    }
    const width = checkSize(feat, `graph input "${name}"`);
    this.builder.input(name, width);
    this.values.set(name, { kind: 'dyn', ref: name, dims: feat, batch: fixedBatch });
    graph.inputs.push({ name, width });
    inputShapes[name] = [fixedBatch ?? (dims[0].dimParam || 'batch'), ...feat];
  }

  private readOpset(): number {
    const imports = this.model.opsetImport ?? [];
    const def = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
    if (!def) {
      throw new NetinvertError('unsupported_format_version', 'the model imports no version of the default ONNX operator set (opset_import is empty)');
    }
    const v = int64Value(def.version, 'opset_import version');
    if (!(v >= ONNX_MIN_OPSET && v <= ONNX_MAX_OPSET)) {
      throw new NetinvertError(
        'unsupported_format_version',
        `the model uses ONNX opset ${v}; netinvert reads opsets ${ONNX_MIN_OPSET} to ${ONNX_MAX_OPSET}. ` +
          'Convert it with onnx.version_converter.convert_version(model, 17), or re-export with opset_version in that range',
        { opset: v },
      );
    }
    return v;
  }

  /** Kahn's algorithm over the nodes; a node that never becomes ready sits on a cycle. */
  private topologicalOrder(g: OnnxGraph): number[] {
    const nodes = g.node ?? [];
    const available = new Set<string>(['']);
    for (const k of this.values.keys()) available.add(k);
    for (const k of this.initializers.keys()) available.add(k);
    const label = (i: number): string => `node "${nodes[i].name || `#${i}`}" (${nodes[i].opType ?? ''})`;
    nodes.forEach((n, i) => {
      if (!n || typeof n !== 'object') throw new NetinvertError('bad_model_file', `node #${i} is malformed`);
      for (const o of n.output ?? []) {
        if (!o) continue;
        if (this.producers.has(o) || available.has(o)) {
          throw new NetinvertError('bad_model_file', `tensor "${o}" is defined twice (again by ${label(i)}); ONNX tensors have one producer`, {
            tensor: o,
          });
        }
        this.producers.set(o, n);
      }
    });
    const producerIndex = new Map<string, number>();
    nodes.forEach((n, i) => (n.output ?? []).forEach((o) => o && producerIndex.set(o, i)));
    const pending = new Int32Array(nodes.length);
    const consumers: number[][] = nodes.map(() => []);
    nodes.forEach((n, i) => {
      for (const inp of n.input ?? []) {
        if (available.has(inp)) continue;
        const p = producerIndex.get(inp);
        if (p === undefined) {
          throw new NetinvertError('unknown_node', `${label(i)} reads tensor "${inp}", which no node, graph input or initializer defines`, {
            node: nodes[i].name,
            tensor: inp,
          });
        }
        pending[i]++;
        consumers[p].push(i);
      }
    });
    const order: number[] = [];
    for (let i = 0; i < nodes.length; i++) if (pending[i] === 0) order.push(i);
    for (let h = 0; h < order.length; h++) {
      for (const c of consumers[order[h]]) if (--pending[c] === 0) order.push(c);
    }
    if (order.length < nodes.length) {
      const stuck = nodes.map((_, i) => i).filter((i) => pending[i] > 0);
      throw new NetinvertError(
        'graph_cycle',
        `the graph has a cycle through ${stuck.slice(0, 8).map(label).join(', ')}${stuck.length > 8 ? ` and ${stuck.length - 8} more` : ''}; ` +
          'an ONNX graph must be acyclic (the file is corrupt or hand-edited)',
        { nodes: stuck.map((i) => nodes[i].name || `#${i}`) },
      );
    }
    return order;
  }

  private convert(s: Step): Value | Value[] {
    const domain = s.node.domain ?? '';
    if (domain !== '' && domain !== 'ai.onnx') {
      throw s.unsupported(
        `op "${s.op}" from domain "${domain}" is not supported (netinvert maps the default ONNX domain only)`,
        'Re-export the model without custom or contrib ops',
      );
    }
    const { converters, patterns } = this.ops;
    // an op we cannot map is named before anything about its inputs: that is what to change
    const conv = Object.prototype.hasOwnProperty.call(converters, s.op) ? converters[s.op] : undefined;
    if (!conv) {
      const recurrent = RECURRENT_OPS.has(s.op)
        ? ` (netinvert inverts feed-forward networks; recurrent layers such as LSTM, GRU and RNN are not supported)`
        : '';
      throw s.unsupported(
        `op "${s.op}" is not supported${recurrent}, so the model cannot be mapped exactly. Supported ONNX ops: ${Object.keys(converters).sort().join(', ')}`,
        'Re-export the model without this op (replace the layer by supported ones), or convert the model by hand to the netinvert JSON format',
      );
    }
    const pattern = Object.prototype.hasOwnProperty.call(patterns, s.op) ? patterns[s.op](s) : null;
    if (pattern) return pattern;
    for (let i = 0; i < s.inputCount; i++) {
      const v = s.input(i);
      if (v?.kind === 'bad') return v;
    }
    return conv(s);
  }

  // ---- emitting engine nodes ----

  emit(base: string, op: OpSpec, inputs: string[]): string {
    return this.builder.emit(base, op, inputs);
  }

  unary(s: Step, x: DynValue, fn: string, params: UnaryParams = {}, base = s.base): DynValue {
    makeUnary(fn, params, s.label); // validate here, so the message names the ONNX node
    const ref = this.emit(base, { type: 'unary', fn, params }, [x.ref]);
    return { ...x, ref };
  }

  /** Move values: out[i] = x[index[i]] (skipped when the map is the identity). */
  remap(s: Step, x: DynValue, map: IndexMap, suffix: string): DynValue {
    if (isIdentity(map.index, sizeOf(x.dims))) return { ...x, dims: map.dims };
    const ref = this.emit(`${s.base}/${suffix}`, { type: 'gather', indices: Array.from(map.index) }, [x.ref]);
    return { ...x, ref, dims: map.dims };
  }

  /** Broadcast a tensor to larger per-point dims. */
  expand(s: Step, x: DynValue, outDims: number[]): DynValue {
    if (sizeOf(outDims) === sizeOf(x.dims)) return { ...x, dims: outDims };
    return this.remap(s, x, { dims: outDims, index: broadcastIndex(x.dims, outDims, `${s.label} broadcast`) }, 'broadcast');
  }

  /**
   * A constant combined with a tensor: its per-point dims (the axis aligned with the batch
   * must be 1, and the constant may not have more axes than the tensor).
   */
  constFeatureDims(s: Step, c: ConstValue, x: DynValue): number[] {
    const rank = x.dims.length + 1;
    if (c.dims.length > rank) {
      throw s.unsupported(
        `constant of shape ${fmtDims(c.dims)} has more axes than the tensor ${fmtDims([x.batch, ...x.dims])}, which would move the batch axis`,
      );
    }
    if (c.dims.length === rank) {
      if (c.dims[0] !== 1) {
        throw s.unsupported(`constant of shape ${fmtDims(c.dims)} differs along the batch axis; netinvert maps per-point operations only`);
      }
      return c.dims.slice(1);
    }
    return c.dims;
  }

  /** y = x ⊙ scale + shift per feature, folded into the producing dense op when there is one. */
  affine(s: Step, x: DynValue, scale: Float64Array, shift: Float64Array): DynValue {
    const d = this.builder.dense.get(x.ref);
    if (d && d.units === scale.length) {
      const inW = d.weight.length / d.units;
      const W = new Float64Array(d.weight.length);
      const b = new Float64Array(d.units);
      for (let i = 0; i < inW; i++) for (let j = 0; j < d.units; j++) W[i * d.units + j] = d.weight[i * d.units + j] * scale[j];
      for (let j = 0; j < d.units; j++) b[j] = (d.bias ? d.bias[j] : 0) * scale[j] + shift[j];
      const ref = this.emit(s.base, { type: 'dense', units: d.units, weight: W, bias: b }, [d.input]);
      return { ...x, ref };
    }
    const ref = this.emit(s.base, { type: 'affine', scale, shift }, [x.ref]);
    return { ...x, ref };
  }

  dense(s: Step, x: DynValue, units: number, weight: Float64Array, bias: Float64Array | null, dims: number[]): DynValue {
    const ref = this.emit(s.base, { type: 'dense', units, weight, bias }, [x.ref]);
    return { ...x, ref, dims };
  }

  // ---- element-wise arithmetic ----

  elementwise(s: Step, fn: BinFn, a: Value, b: Value): Value {
    if (a.kind === 'bad') return a;
    if (b.kind === 'bad') return b;
    if (a.kind === 'const' && b.kind === 'const') return foldBinary(s, a, b, BIN[fn]);
    if (a.kind === 'dyn' && b.kind === 'dyn') return this.binaryDyn(s, fn, a, b);
    const constFirst = a.kind === 'const';
    const x = (constFirst ? b : a) as DynValue;
    const c = (constFirst ? a : b) as ConstValue;
    return this.binaryConst(s, fn, x, c, constFirst);
  }

  binaryConst(s: Step, fn: BinFn, x: DynValue, c: ConstValue, constFirst: boolean): DynValue {
    if (c.data.length === 0) throw s.fail('shape_mismatch', 'an operand is an empty constant');
    const cd = this.constFeatureDims(s, c, x);
    const outDims = broadcastDims(x.dims, cd);
    if (!outDims) {
      throw s.fail('shape_mismatch', `cannot broadcast ${fmtDims([x.batch, ...x.dims])} with constant ${fmtDims(c.dims)}`);
    }
    const xe = this.expand(s, x, outDims);
    const constant = uniform(c.data) ? Float64Array.of(c.data[0]) : pick(c.data, broadcastIndex(cd, outDims, `${s.label} constant`));
    const w = sizeOf(outDims);
    const full = (): Float64Array => (constant.length === w ? constant : new Float64Array(w).fill(constant[0]));
    // a bias after a dense op folds into it (PyTorch/tf2onnx/skl2onnx MatMul + Add)
    if (this.builder.dense.has(xe.ref) && (fn === 'add' || (fn === 'sub' && !constFirst))) {
      const t = full();
      return this.affine(s, xe, new Float64Array(w).fill(1), fn === 'add' ? t : t.map((v) => -v));
    }
    const ref = this.emit(s.base, { type: 'binary_const', fn, constant, constantFirst: constFirst }, [xe.ref]);
    return { ...xe, ref };
  }

  binaryDyn(s: Step, fn: BinFn, a: DynValue, b: DynValue): DynValue {
    // with unequal ranks, right-aligned broadcasting would pair one operand's batch axis
    // with a feature axis of the other
    if (a.dims.length !== b.dims.length) {
      throw s.unsupported(
        `operands of shapes ${fmtDims([a.batch, ...a.dims])} and ${fmtDims([b.batch, ...b.dims])} have different ranks, so broadcasting would pair a batch axis with a feature axis`,
      );
    }
    if (a.batch !== null && b.batch !== null && a.batch !== b.batch && a.batch !== 1 && b.batch !== 1) {
      throw s.fail('shape_mismatch', `operands have batch sizes ${a.batch} and ${b.batch}`);
    }
    const outDims = broadcastDims(a.dims, b.dims);
    if (!outDims) {
      throw s.fail('shape_mismatch', `cannot broadcast ${fmtDims([a.batch, ...a.dims])} with ${fmtDims([b.batch, ...b.dims])}`);
    }
    const ae = sizeOf(a.dims) === 1 ? a : this.expand(s, a, outDims);
    const be = sizeOf(b.dims) === 1 ? b : this.expand(s, b, outDims);
    const ref = this.emit(s.base, { type: 'binary', fn }, [ae.ref, be.ref]);
    const batch = a.batch === null || b.batch === null ? null : Math.max(a.batch, b.batch);
    return { kind: 'dyn', ref, dims: outDims, batch };
  }
}

export function pick(data: Float64Array, index: Int32Array): Float64Array {
  const out = new Float64Array(index.length);
  for (let i = 0; i < index.length; i++) out[i] = data[index[i]];
  return out;
}

export const BIN: Record<BinFn, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
};

export function resultType(a: ConstValue, b: ConstValue): number {
  return isFloatType(a.dataType) || isFloatType(b.dataType) ? TensorDataType.FLOAT : a.dataType;
}

export function foldBinary(s: Step, a: ConstValue, b: ConstValue, f: (x: number, y: number) => number): ConstValue {
  const dims = broadcastDims(a.dims, b.dims);
  if (!dims) throw s.fail('shape_mismatch', `cannot broadcast constants ${fmtDims(a.dims)} and ${fmtDims(b.dims)}`);
  const ia = broadcastIndex(a.dims, dims, `${s.label} result`);
  const ib = broadcastIndex(b.dims, dims, `${s.label} result`);
  const out = new Float64Array(ia.length);
  const intDiv = f === BIN.div && !isFloatType(resultType(a, b));
  for (let i = 0; i < out.length; i++) {
    const v = f(a.data[ia[i]], b.data[ib[i]]);
    out[i] = intDiv ? Math.trunc(v) : v;
  }
  return constOf(dims, out, resultType(a, b));
}

export function foldUnary(c: ConstValue, f: (x: number) => number): ConstValue {
  return constOf(c.dims, c.data.map(f), c.dataType);
}

