/**
 * The element-wise function table: name → constructor with validated parameters.
 * One explicit table (no string-keyed global registry that plugins mutate).
 */
import { NetinvertError } from '../../errors.ts';
import { cos, exp, log, pow, reciprocal, sin } from './elementary.ts';
import { abs, elu, leakyRelu, maxConst, minConst, relu, selu } from './piecewise.ts';
import { bipolarSigmoid, clip, hardSigmoid, hardTanh, identity, sigmoid, softsign, tanh } from './sigmoidal.ts';
import { erf, gelu, geluTanh, silu, softplus } from './smooth.ts';
import type { UnaryFn } from './types.ts';

export type { UnaryFn } from './types.ts';

export type UnaryParams = Record<string, number>;

interface Entry {
  /** Parameter names with defaults; a parameter without a default is required. */
  params: Record<string, number | undefined>;
  make(p: Record<string, number>): UnaryFn;
  /** Extra validation; returns an error text or null. */
  check?(p: Record<string, number>): string | null;
}

const positive = (k: string) => (p: Record<string, number>) => (p[k] > 0 ? null : `${k} must be > 0 (got ${p[k]})`);

export const UNARY_TABLE: Record<string, Entry> = {
  identity: { params: {}, make: () => identity },
  sigmoid: { params: {}, make: () => sigmoid },
  bipolar_sigmoid: { params: { lambda: 1 }, make: (p) => bipolarSigmoid(p.lambda), check: positive('lambda') },
  tanh: { params: {}, make: () => tanh },
  relu: { params: {}, make: () => relu },
  leaky_relu: { params: { alpha: 0.01 }, make: (p) => leakyRelu(p.alpha) },
  elu: { params: { alpha: 1 }, make: (p) => elu(p.alpha) },
  selu: { params: {}, make: () => selu },
  softplus: { params: { beta: 1 }, make: (p) => softplus(p.beta), check: positive('beta') },
  softsign: { params: {}, make: () => softsign },
  silu: { params: {}, make: () => silu },
  gelu: { params: {}, make: () => gelu },
  gelu_tanh: { params: {}, make: () => geluTanh },
  hard_tanh: {
    params: { min: -1, max: 1 },
    make: (p) => hardTanh(p.min, p.max),
    check: (p) => (p.min < p.max ? null : `min must be < max (got ${p.min}, ${p.max})`),
  },
  hard_sigmoid: {
    params: { slope: 0.2, offset: 0.5 },
    make: (p) => hardSigmoid(p.slope, p.offset),
    check: positive('slope'),
  },
  sin: { params: {}, make: () => sin },
  cos: { params: {}, make: () => cos },
  exp: { params: {}, make: () => exp },
  log: { params: {}, make: () => log },
  pow: { params: { exponent: undefined }, make: (p) => pow(p.exponent) },
  reciprocal: { params: {}, make: () => reciprocal },
  erf: { params: {}, make: () => erf },
  abs: { params: {}, make: () => abs },
  max_const: { params: { c: undefined }, make: (p) => maxConst(p.c) },
  min_const: { params: { c: undefined }, make: (p) => minConst(p.c) },
  clip: {
    params: { min: undefined, max: undefined },
    make: (p) => clip(p.min, p.max),
    check: (p) => (p.min <= p.max ? null : `min must be ≤ max (got ${p.min}, ${p.max})`),
  },
};

export type UnaryName = keyof typeof UNARY_TABLE;

export const UNARY_NAMES: readonly string[] = Object.keys(UNARY_TABLE);

/**
 * Build an element-wise function from its name and parameters, filling defaults.
 * `where` names the node for error messages.
 */
export function makeUnary(name: string, params: UnaryParams = {}, where = ''): { fn: UnaryFn; params: UnaryParams } {
  // accept the hyphenated spelling too (bipolar-sigmoid, leaky-relu)
  if (typeof name === 'string' && name.includes('-')) name = name.replace(/-/g, '_');
  const at = where ? ` at node "${where}"` : '';
  const entry = Object.prototype.hasOwnProperty.call(UNARY_TABLE, name) ? UNARY_TABLE[name] : undefined;
  if (!entry) {
    throw new NetinvertError(
      'unsupported_op',
      `unsupported activation "${name}"${at}; supported: ${UNARY_NAMES.join(', ')}`,
      { op: name, node: where },
    );
  }
  const full: Record<string, number> = {};
  for (const k of Object.keys(params)) {
    if (!(k in entry.params)) {
      throw new NetinvertError(
        'bad_parameter',
        `activation "${name}"${at} has no parameter "${k}"; its parameters are: ${Object.keys(entry.params).join(', ') || 'none'}`,
        { op: name, node: where, parameter: k },
      );
    }
  }
  for (const [k, def] of Object.entries(entry.params)) {
    const v = k in params ? params[k] : def;
    if (v === undefined) {
      throw new NetinvertError('bad_parameter', `activation "${name}"${at} needs parameter "${k}"`, {
        op: name,
        node: where,
        parameter: k,
      });
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new NetinvertError(
        'bad_parameter',
        `activation "${name}"${at}: parameter "${k}" must be a finite number (got ${String(v)})`,
        { op: name, node: where, parameter: k },
      );
    }
    full[k] = v;
  }
  const problem = entry.check?.(full);
  if (problem) {
    throw new NetinvertError('bad_parameter', `activation "${name}"${at}: ${problem}`, { op: name, node: where });
  }
  return { fn: entry.make(full), params: full };
}
