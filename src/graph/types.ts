/**
 * The graph IR as plain data. Importers produce a GraphDef; `compileGraph` validates it and
 * turns it into a Network with evaluate / jacobian / bounds. Nothing here knows which file
 * format a graph came from.
 *
 * Every tensor is a feature vector per point. An input or output of width n has features
 * named `name[0]` … `name[n−1]` (or just `name` when n = 1) unless `features` gives names.
 */

export type Numbers = Float64Array | number[];

export type OpSpec =
  /** y = x·W + b; W is inWidth × units, row-major (Keras kernel layout). */
  | { type: 'dense'; units: number; weight: Numbers; bias?: Numbers | null }
  /** y = x ⊙ scale + shift, per feature. */
  | { type: 'affine'; scale: Numbers; shift: Numbers }
  /** Two tensors, element-wise; one side may have width 1 (broadcast). */
  | { type: 'binary'; fn: 'add' | 'sub' | 'mul' | 'div' }
  /** Tensor with a constant (scalar or vector): x∘c, or c∘x when constantFirst. */
  | { type: 'binary_const'; fn: 'add' | 'sub' | 'mul' | 'div'; constant: Numbers; constantFirst?: boolean }
  | { type: 'concat' }
  /** Feature selection: y[i] = x[indices[i]]. */
  | { type: 'gather'; indices: number[] }
  /** Logical reshape; the element count must not change. */
  | { type: 'reshape'; shape: number[] }
  | { type: 'softmax' }
  | { type: 'log_softmax' }
  /** Layer normalization over all features of a point: (x − mean) / √(var + epsilon), epsilon > 0. */
  | { type: 'layer_norm'; epsilon: number }
  /** Element-wise function from the activation table, with its parameters. */
  | { type: 'unary'; fn: string; params?: Record<string, number> };

export interface InputDef {
  name: string;
  width: number;
  /** Optional friendly names of the features (length = width). */
  features?: string[];
}

export interface NodeDef {
  name: string;
  op: OpSpec;
  /** Names of the nodes or inputs this node reads, in order. */
  inputs: string[];
}

export interface OutputDef {
  /** Name of the node (or input) whose value is output. */
  node: string;
  /** Name of the output tensor; defaults to the node name. */
  name?: string;
  features?: string[];
}

export interface GraphDef {
  inputs: InputDef[];
  nodes: NodeDef[];
  outputs: OutputDef[];
}

/** Feature names of a tensor: `name` for width 1, `name[i]` otherwise, unless given. */
export function featureNames(name: string, width: number, given?: string[]): string[] {
  if (given) return given.slice();
  if (width === 1) return [name];
  return Array.from({ length: width }, (_, i) => `${name}[${i}]`);
}
