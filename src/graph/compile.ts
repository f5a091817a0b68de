/**
 * GraphDef → validated, topologically ordered list of op instances.
 * Every problem is a NetinvertError that names the node and what to fix.
 */
import { NetinvertError } from '../errors.ts';
import { makeUnary } from './activations/index.ts';
import { AffineOp } from './ops/affine.ts';
import { BinaryOp } from './ops/binary.ts';
import { BinaryConstOp } from './ops/binaryConst.ts';
import { ConcatOp } from './ops/concat.ts';
import { DenseOp } from './ops/dense.ts';
import { GatherOp } from './ops/gather.ts';
import { ReshapeOp } from './ops/reshape.ts';
import { LayerNormOp } from './ops/layerNorm.ts';
import { SoftmaxOp } from './ops/softmax.ts';
import type { OpImpl } from './ops/types.ts';
import { UnaryOp } from './ops/unary.ts';
import { featureNames, type GraphDef, type Numbers, type OpSpec } from './types.ts';

export interface CompiledNode {
  name: string;
  /** null for graph inputs. */
  impl: OpImpl | null;
  inputs: number[];
  width: number;
  /** Offset of this input's features in the network's input vector (inputs only). */
  inputOffset: number;
}

export interface CompiledGraph {
  nodes: CompiledNode[];
  inputFeatures: string[];
  outputFeatures: string[];
  /** For each output feature: node index and position within that node. */
  outputMap: { node: number; pos: number }[];
}

const ARITY: Record<OpSpec['type'], [number, number]> = {
  dense: [1, 1],
  affine: [1, 1],
  binary: [2, 2],
  binary_const: [1, 1],
  concat: [1, Infinity],
  gather: [1, 1],
  reshape: [1, 1],
  softmax: [1, 1],
  log_softmax: [1, 1],
  layer_norm: [1, 1],
  unary: [1, 1],
};

function toF64(v: Numbers | undefined | null, what: string, node: string): Float64Array {
  if (v === undefined || v === null) {
    throw new NetinvertError('bad_parameter', `node "${node}": missing ${what}`, { node, field: what });
  }
  if (!(v instanceof Float64Array) && !Array.isArray(v)) {
    throw new NetinvertError('bad_parameter', `node "${node}": ${what} must be an array of numbers`, {
      node,
      field: what,
    });
  }
  const a = v instanceof Float64Array ? v : Float64Array.from(v as number[]);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new NetinvertError(
        'non_finite_weight',
        `node "${node}": ${what}[${i}] is ${String(v[i])}; weights must be finite numbers (retrain, or fix the exporter)`,
        { node, field: what, index: i },
      );
    }
  }
  return a;
}

function isPosInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0;
}

export function compileGraph(def: GraphDef): CompiledGraph {
  if (!def || !Array.isArray(def.inputs) || def.inputs.length === 0) {
    throw new NetinvertError('no_inputs', 'the graph has no inputs; a model needs at least one input tensor');
  }
  if (!Array.isArray(def.nodes)) {
    throw new NetinvertError('bad_parameter', 'the graph has no "nodes" list');
  }
  if (!Array.isArray(def.outputs) || def.outputs.length === 0) {
    throw new NetinvertError('no_outputs', 'the graph has no outputs; name at least one node as an output');
  }

  const index = new Map<string, number>();
  const nodes: CompiledNode[] = [];
  const inputFeatures: string[] = [];
  for (const inp of def.inputs) {
    if (typeof inp.name !== 'string' || inp.name === '') {
      throw new NetinvertError('bad_parameter', 'an input has no name');
    }
    if (index.has(inp.name)) {
      throw new NetinvertError('duplicate_name', `input "${inp.name}" is defined twice`, { node: inp.name });
    }
    if (!isPosInt(inp.width)) {
      throw new NetinvertError(
        'shape_mismatch',
        `input "${inp.name}": width must be a positive integer (got ${String(inp.width)})`,
        { node: inp.name },
      );
    }
    if (inp.features && inp.features.length !== inp.width) {
      throw new NetinvertError(
        'shape_mismatch',
        `input "${inp.name}": ${inp.features.length} feature names given for width ${inp.width}`,
        { node: inp.name },
      );
    }
    index.set(inp.name, nodes.length);
    nodes.push({ name: inp.name, impl: null, inputs: [], width: inp.width, inputOffset: inputFeatures.length });
    inputFeatures.push(...featureNames(inp.name, inp.width, inp.features));
  }
  assertUnique(inputFeatures, 'input feature');

  // Topological order (Kahn); anything left over sits on a cycle or reads a missing name.
  const byName = new Map<string, (typeof def.nodes)[number]>();
  for (const nd of def.nodes) {
    if (typeof nd.name !== 'string' || nd.name === '') {
      throw new NetinvertError('bad_parameter', 'a node has no name');
    }
    if (byName.has(nd.name) || index.has(nd.name)) {
      throw new NetinvertError('duplicate_name', `node name "${nd.name}" is used twice`, { node: nd.name });
    }
    if (!nd.op || typeof nd.op !== 'object' || !(nd.op.type in ARITY)) {
      const t = nd.op && typeof nd.op === 'object' ? String((nd.op as { type?: unknown }).type) : String(nd.op);
      throw new NetinvertError(
        'unsupported_op',
        `node "${nd.name}": unsupported op "${t}"; supported: ${Object.keys(ARITY).join(', ')}`,
        { node: nd.name, op: t },
      );
    }
    if (!Array.isArray(nd.inputs)) {
      throw new NetinvertError('bad_parameter', `node "${nd.name}": "inputs" must be a list of node names`, {
        node: nd.name,
      });
    }
    byName.set(nd.name, nd);
  }
  for (const nd of def.nodes) {
    for (const src of nd.inputs) {
      if (!byName.has(src) && !index.has(src)) {
        throw new NetinvertError('unknown_node', `node "${nd.name}" reads "${src}", which is neither a node nor an input`, {
          node: nd.name,
          input: src,
        });
      }
    }
  }
  const pending = new Map<string, number>();
  const consumers = new Map<string, string[]>();
  for (const nd of def.nodes) {
    pending.set(nd.name, nd.inputs.filter((s) => byName.has(s)).length);
    for (const s of nd.inputs) if (byName.has(s)) consumers.set(s, [...(consumers.get(s) ?? []), nd.name]);
  }
  const ready = def.nodes.filter((nd) => pending.get(nd.name) === 0).map((nd) => nd.name);
  const order: string[] = [];
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const c of consumers.get(n) ?? []) {
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (order.length < def.nodes.length) {
    const stuck = def.nodes.filter((nd) => !order.includes(nd.name)).map((nd) => nd.name);
    throw new NetinvertError(
      'graph_cycle',
      `the graph has a cycle through node(s) ${stuck.map((s) => `"${s}"`).join(', ')}; a feed-forward network must be acyclic`,
      { nodes: stuck },
    );
  }

  for (const name of order) {
    const nd = byName.get(name)!;
    const [minA, maxA] = ARITY[nd.op.type];
    if (nd.inputs.length < minA || nd.inputs.length > maxA) {
      throw new NetinvertError(
        'shape_mismatch',
        `node "${name}" (${nd.op.type}) takes ${minA === maxA ? minA : `at least ${minA}`} input(s), got ${nd.inputs.length}`,
        { node: name },
      );
    }
    const ins = nd.inputs.map((s) => index.get(s)!);
    const widths = ins.map((i) => nodes[i].width);
    const impl = createOp(nd.op, widths, name);
    index.set(name, nodes.length);
    nodes.push({ name, impl, inputs: ins, width: impl.width, inputOffset: -1 });
  }

  const outputFeatures: string[] = [];
  const outputMap: { node: number; pos: number }[] = [];
  for (const out of def.outputs) {
    const ni = index.get(out.node);
    if (ni === undefined) {
      throw new NetinvertError('unknown_node', `output "${out.name ?? out.node}" refers to unknown node "${out.node}"`, {
        node: out.node,
      });
    }
    const w = nodes[ni].width;
    if (out.features && out.features.length !== w) {
      throw new NetinvertError(
        'shape_mismatch',
        `output "${out.name ?? out.node}": ${out.features.length} feature names given for width ${w}`,
        { node: out.node },
      );
    }
    outputFeatures.push(...featureNames(out.name ?? out.node, w, out.features));
    for (let p = 0; p < w; p++) outputMap.push({ node: ni, pos: p });
  }
  assertUnique(outputFeatures, 'output feature');
  return { nodes, inputFeatures, outputFeatures, outputMap };
}

function assertUnique(names: string[], what: string): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new NetinvertError('duplicate_name', `${what} name "${n}" occurs twice`, { name: n });
    seen.add(n);
  }
}

function shapeError(node: string, msg: string): NetinvertError {
  return new NetinvertError('shape_mismatch', `node "${node}": ${msg}`, { node });
}

function createOp(op: OpSpec, widths: number[], node: string): OpImpl {
  const w0 = widths[0];
  switch (op.type) {
    case 'dense': {
      if (!isPosInt(op.units)) throw shapeError(node, `dense units must be a positive integer (got ${String(op.units)})`);
      const W = toF64(op.weight, 'weight', node);
      if (W.length !== w0 * op.units) {
        throw shapeError(
          node,
          `dense weight has ${W.length} values but input width ${w0} × units ${op.units} = ${w0 * op.units}`,
        );
      }
      const b = op.bias === undefined || op.bias === null ? null : toF64(op.bias, 'bias', node);
      if (b && b.length !== op.units) throw shapeError(node, `dense bias has ${b.length} values, expected ${op.units}`);
      return new DenseOp(w0, op.units, W, b);
    }
    case 'affine': {
      const s = toF64(op.scale, 'scale', node),
        t = toF64(op.shift, 'shift', node);
      if (s.length !== w0 || t.length !== w0) {
        throw shapeError(node, `affine scale/shift have ${s.length}/${t.length} values, input width is ${w0}`);
      }
      return new AffineOp(w0, s, t);
    }
    case 'binary': {
      const [a, b] = widths;
      if (!['add', 'sub', 'mul', 'div'].includes(op.fn)) {
        throw new NetinvertError('unsupported_op', `node "${node}": unknown binary function "${String(op.fn)}"`, { node });
      }
      if (a !== b && a !== 1 && b !== 1) {
        throw shapeError(node, `${op.fn} of widths ${a} and ${b} (they must match, or one must be 1)`);
      }
      return new BinaryOp(op.fn, Math.max(a, b), a, b);
    }
    case 'binary_const': {
      if (!['add', 'sub', 'mul', 'div'].includes(op.fn)) {
        throw new NetinvertError('unsupported_op', `node "${node}": unknown binary function "${String(op.fn)}"`, { node });
      }
      const c = toF64(op.constant, 'constant', node);
      if (c.length !== 1 && c.length !== w0) {
        throw shapeError(node, `constant has ${c.length} values; input width is ${w0} (use 1 or ${w0})`);
      }
      return new BinaryConstOp(op.fn, w0, c, !!op.constantFirst);
    }
    case 'concat':
      return new ConcatOp(widths);
    case 'gather': {
      if (!Array.isArray(op.indices) || op.indices.length === 0) throw shapeError(node, 'gather needs a non-empty index list');
      for (const i of op.indices) {
        if (!Number.isInteger(i) || i < 0 || i >= w0) {
          throw shapeError(node, `gather index ${String(i)} is outside 0..${w0 - 1}`);
        }
      }
      return new GatherOp(w0, Int32Array.from(op.indices));
    }
    case 'reshape': {
      if (!Array.isArray(op.shape) || !op.shape.every(isPosInt)) {
        throw shapeError(node, `reshape shape must be a list of positive integers (got ${JSON.stringify(op.shape)})`);
      }
      const n = op.shape.reduce((a, b) => a * b, 1);
      if (n !== w0) throw shapeError(node, `cannot reshape ${w0} values into [${op.shape.join(', ')}] (${n} values)`);
      return new ReshapeOp(w0, op.shape.slice());
    }
    case 'softmax':
      return new SoftmaxOp(w0, false);
    case 'log_softmax':
      return new SoftmaxOp(w0, true);
    case 'layer_norm': {
      const e = op.epsilon;
      if (typeof e !== 'number' || !Number.isFinite(e) || !(e > 0)) {
        throw new NetinvertError('bad_parameter', `node "${node}": layer_norm epsilon must be a finite number > 0 (got ${String(e)})`, { node, field: 'epsilon' });
      }
      return new LayerNormOp(w0, e);
    }
    case 'unary': {
      const { fn, params } = makeUnary(op.fn, op.params ?? {}, node);
      return new UnaryOp(w0, fn, params);
    }
  }
}
