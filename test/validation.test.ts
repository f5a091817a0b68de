/**
 * Every validation error of graph compilation (src/graph/compile.ts), of the activation table
 * (makeUnary) and of Network calls (src/graph/network.ts): each throw site is reached by at
 * least one case here, which checks the error class, its stable code, and that the message
 * names what is wrong. The native loader's errors (src/formats/native/load.ts) are covered the
 * same way in native-format.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { makeUnary, network, type GraphDef, type NodeDef } from '../src/index.ts';
import { expectNetinvertError, type ErrorCase as Case } from './util/expect.ts';

/** A valid graph: x (width 2) → h = dense(2→2) → y = dense(2→1). */
function base(): GraphDef {
  return {
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 2, weight: [1, 2, 3, 4], bias: [0, 0] }, inputs: ['x'] },
      { name: 'y', op: { type: 'dense', units: 1, weight: [1, -1] }, inputs: ['h'] },
    ],
    outputs: [{ node: 'y' }],
  };
}

/** The base graph with node "h" replaced (its op and inputs given loosely, to build bad ones). */
function withH(op: unknown, inputs: unknown = ['x'], hWidthForY = 2): GraphDef {
  const g = base();
  g.nodes[0] = { name: 'h', op, inputs } as unknown as NodeDef;
  g.nodes[1] = { name: 'y', op: { type: 'dense', units: 1, weight: new Array(hWidthForY).fill(1) }, inputs: ['h'] };
  return g;
}

const loose = (v: unknown) => v as GraphDef;


const compileCases: Case[] = [
  // graph-level structure
  { what: 'no inputs', run: () => network({ ...base(), inputs: [] }), code: 'no_inputs', mentions: ['no inputs'] },
  { what: 'no graph at all', run: () => network(loose(null)), code: 'no_inputs', mentions: ['no inputs'] },
  { what: '"nodes" not a list', run: () => network(loose({ ...base(), nodes: {} })), code: 'bad_parameter', mentions: ['"nodes"'] },
  { what: 'no outputs', run: () => network({ ...base(), outputs: [] }), code: 'no_outputs', mentions: ['no outputs'] },
  // inputs
  { what: 'an input without a name', run: () => network({ ...base(), inputs: [{ name: '', width: 2 }] }), code: 'bad_parameter', mentions: ['input', 'no name'] },
  {
    what: 'an input defined twice',
    run: () => network({ ...base(), inputs: [{ name: 'x', width: 2 }, { name: 'x', width: 1 }] }),
    code: 'duplicate_name',
    mentions: ['"x"'],
  },
  { what: 'input width 0', run: () => network({ ...base(), inputs: [{ name: 'x', width: 0 }] }), code: 'shape_mismatch', mentions: ['"x"', 'width', '0'] },
  { what: 'input width 1.5', run: () => network({ ...base(), inputs: [{ name: 'x', width: 1.5 }] }), code: 'shape_mismatch', mentions: ['"x"', '1.5'] },
  {
    what: 'input feature names of the wrong count',
    run: () => network({ ...base(), inputs: [{ name: 'x', width: 2, features: ['a'] }] }),
    code: 'shape_mismatch',
    mentions: ['"x"', '1 feature names', 'width 2'],
  },
  {
    what: 'two input features with the same name',
    run: () => network({ ...base(), inputs: [{ name: 'x', width: 2, features: ['p', 'p'] }] }),
    code: 'duplicate_name',
    mentions: ['"p"', 'input feature'],
  },
  {
    what: 'input feature names colliding across inputs (x[0] and an input named x[0])',
    run: () =>
      network({
        inputs: [{ name: 'x', width: 2 }, { name: 'x[0]', width: 1 }],
        nodes: [],
        outputs: [{ node: 'x' }],
      }),
    code: 'duplicate_name',
    mentions: ['"x[0]"'],
  },
  // nodes
  {
    what: 'a node without a name',
    run: () => network({ ...base(), nodes: [{ ...base().nodes[0], name: '' }, base().nodes[1]] }),
    code: 'bad_parameter',
    mentions: ['node', 'no name'],
  },
  {
    what: 'a node name used twice',
    run: () => network({ ...base(), nodes: [base().nodes[0], { ...base().nodes[1], name: 'h' }] }),
    code: 'duplicate_name',
    mentions: ['"h"'],
  },
  {
    what: 'a node named like an input',
    run: () => network({ ...base(), nodes: [{ ...base().nodes[0], name: 'x' }] }),
    code: 'duplicate_name',
    mentions: ['"x"'],
  },
  { what: 'an unknown op type', run: () => network(withH({ type: 'conv2d' })), code: 'unsupported_op', mentions: ['"h"', '"conv2d"', 'supported'] },
  { what: 'a node without an op', run: () => network(withH(undefined)), code: 'unsupported_op', mentions: ['"h"'] },
  { what: '"inputs" not a list', run: () => network(withH(base().nodes[0].op, 'x')), code: 'bad_parameter', mentions: ['"h"', '"inputs"'] },
  { what: 'reading a missing name', run: () => network(withH(base().nodes[0].op, ['nope'])), code: 'unknown_node', mentions: ['"h"', '"nope"'] },
  {
    what: 'a cycle',
    run: () =>
      network({
        inputs: [{ name: 'x', width: 1 }],
        nodes: [
          { name: 'a', op: { type: 'binary', fn: 'add' }, inputs: ['x', 'b'] },
          { name: 'b', op: { type: 'unary', fn: 'tanh' }, inputs: ['a'] },
          { name: 'c', op: { type: 'unary', fn: 'tanh' }, inputs: ['x'] },
        ],
        outputs: [{ node: 'c' }],
      }),
    code: 'graph_cycle',
    mentions: ['"a"', '"b"', 'cycle'],
  },
  { what: 'binary with one input', run: () => network(withH({ type: 'binary', fn: 'add' })), code: 'shape_mismatch', mentions: ['"h"', 'binary', '2 input'] },
  { what: 'concat with no input', run: () => network(withH({ type: 'concat' }, [])), code: 'shape_mismatch', mentions: ['"h"', 'concat', 'at least 1'] },
  { what: 'dense with two inputs', run: () => network(withH(base().nodes[0].op, ['x', 'x'])), code: 'shape_mismatch', mentions: ['"h"', 'dense'] },
  // outputs
  { what: 'an output naming a missing node', run: () => network({ ...base(), outputs: [{ node: 'zz' }] }), code: 'unknown_node', mentions: ['"zz"'] },
  {
    what: 'output feature names of the wrong count',
    run: () => network({ ...base(), outputs: [{ node: 'y', features: ['a', 'b'] }] }),
    code: 'shape_mismatch',
    mentions: ['"y"', '2 feature names', 'width 1'],
  },
  {
    what: 'the same output twice',
    run: () => network({ ...base(), outputs: [{ node: 'y' }, { node: 'y' }] }),
    code: 'duplicate_name',
    mentions: ['"y"', 'output feature'],
  },
  // op parameters
  { what: 'dense without weight', run: () => network(withH({ type: 'dense', units: 2 })), code: 'bad_parameter', mentions: ['"h"', 'missing weight'] },
  {
    what: 'dense weight not an array',
    run: () => network(withH({ type: 'dense', units: 2, weight: 'abcd' })),
    code: 'bad_parameter',
    mentions: ['"h"', 'weight', 'array of numbers'],
  },
  {
    what: 'a NaN weight',
    run: () => network(withH({ type: 'dense', units: 2, weight: [1, NaN, 3, 4] })),
    code: 'non_finite_weight',
    mentions: ['"h"', 'weight[1]', 'NaN'],
  },
  {
    what: 'an infinite bias',
    run: () => network(withH({ type: 'dense', units: 2, weight: [1, 2, 3, 4], bias: [0, Infinity] })),
    code: 'non_finite_weight',
    mentions: ['"h"', 'bias[1]', 'Infinity'],
  },
  {
    what: 'a NaN affine scale',
    run: () => network(withH({ type: 'affine', scale: [NaN, 1], shift: [0, 0] })),
    code: 'non_finite_weight',
    mentions: ['"h"', 'scale[0]'],
  },
  {
    what: 'an infinite constant',
    run: () => network(withH({ type: 'binary_const', fn: 'mul', constant: [-Infinity] })),
    code: 'non_finite_weight',
    mentions: ['"h"', 'constant[0]'],
  },
  { what: 'dense units 0', run: () => network(withH({ type: 'dense', units: 0, weight: [] })), code: 'shape_mismatch', mentions: ['"h"', 'units', '0'] },
  { what: 'dense units 2.5', run: () => network(withH({ type: 'dense', units: 2.5, weight: [1, 2, 3, 4, 5] })), code: 'shape_mismatch', mentions: ['"h"', '2.5'] },
  {
    what: 'dense weight of the wrong size',
    run: () => network(withH({ type: 'dense', units: 2, weight: [1, 2, 3] })),
    code: 'shape_mismatch',
    mentions: ['"h"', '3 values', 'input width 2', 'units 2'],
  },
  {
    what: 'dense bias of the wrong size',
    run: () => network(withH({ type: 'dense', units: 2, weight: [1, 2, 3, 4], bias: [1, 2, 3] })),
    code: 'shape_mismatch',
    mentions: ['"h"', 'bias', '3 values', 'expected 2'],
  },
  {
    what: 'affine scale of the wrong size',
    run: () => network(withH({ type: 'affine', scale: [1, 2, 3], shift: [0, 0] })),
    code: 'shape_mismatch',
    mentions: ['"h"', 'affine', 'width is 2'],
  },
  { what: 'affine without shift', run: () => network(withH({ type: 'affine', scale: [1, 2] })), code: 'bad_parameter', mentions: ['"h"', 'missing shift'] },
  {
    what: 'an unknown binary function',
    run: () => network(withH({ type: 'binary', fn: 'pow' }, ['x', 'x'])),
    code: 'unsupported_op',
    mentions: ['"h"', '"pow"'],
  },
  {
    what: 'binary of widths 2 and 3',
    run: () =>
      network({
        inputs: [{ name: 'a', width: 2 }, { name: 'b', width: 3 }],
        nodes: [{ name: 'h', op: { type: 'binary', fn: 'add' }, inputs: ['a', 'b'] }],
        outputs: [{ node: 'h' }],
      }),
    code: 'shape_mismatch',
    mentions: ['"h"', 'widths 2 and 3'],
  },
  {
    what: 'an unknown binary_const function',
    run: () => network(withH({ type: 'binary_const', fn: 'mod', constant: [2] })),
    code: 'unsupported_op',
    mentions: ['"h"', '"mod"'],
  },
  {
    what: 'a constant of the wrong length',
    run: () => network(withH({ type: 'binary_const', fn: 'add', constant: [1, 2, 3] })),
    code: 'shape_mismatch',
    mentions: ['"h"', 'constant has 3 values', 'width is 2'],
  },
  { what: 'binary_const without constant', run: () => network(withH({ type: 'binary_const', fn: 'add' })), code: 'bad_parameter', mentions: ['"h"', 'missing constant'] },
  { what: 'gather with no indices', run: () => network(withH({ type: 'gather', indices: [] }, ['x'], 0)), code: 'shape_mismatch', mentions: ['"h"', 'non-empty'] },
  { what: 'gather index past the end', run: () => network(withH({ type: 'gather', indices: [0, 2] })), code: 'shape_mismatch', mentions: ['"h"', 'index 2', '0..1'] },
  { what: 'gather index −1', run: () => network(withH({ type: 'gather', indices: [-1, 0] })), code: 'shape_mismatch', mentions: ['"h"', 'index -1'] },
  { what: 'gather index 0.5', run: () => network(withH({ type: 'gather', indices: [0.5, 0] })), code: 'shape_mismatch', mentions: ['"h"', 'index 0.5'] },
  { what: 'reshape to a zero dimension', run: () => network(withH({ type: 'reshape', shape: [0, 2] })), code: 'shape_mismatch', mentions: ['"h"', 'reshape', '[0,2]'] },
  { what: 'reshape without a shape', run: () => network(withH({ type: 'reshape' })), code: 'shape_mismatch', mentions: ['"h"', 'reshape'] },
  { what: 'reshape changing the count', run: () => network(withH({ type: 'reshape', shape: [3, 1] })), code: 'shape_mismatch', mentions: ['"h"', 'cannot reshape 2', '[3, 1]'] },
];

const unaryCases: Case[] = [
  {
    what: 'an unknown activation (through a graph)',
    run: () => network(withH({ type: 'unary', fn: 'swishy' })),
    code: 'unsupported_op',
    mentions: ['"swishy"', 'node "h"', 'supported: identity'],
  },
  { what: 'an unknown activation (direct)', run: () => makeUnary('swishy'), code: 'unsupported_op', mentions: ['"swishy"'] },
  { what: 'an Object.prototype name', run: () => makeUnary('toString'), code: 'unsupported_op', mentions: ['"toString"'] },
  { what: '__proto__ as a name', run: () => makeUnary('__proto__'), code: 'unsupported_op', mentions: ['"__proto__"'] },
  {
    what: 'a parameter the activation does not have',
    run: () => network(withH({ type: 'unary', fn: 'relu', params: { alpha: 0.1 } })),
    code: 'bad_parameter',
    mentions: ['"relu"', 'node "h"', '"alpha"', 'none'],
  },
  {
    what: 'a misspelt parameter',
    run: () => makeUnary('leaky_relu', { alpah: 0.1 }, 'act'),
    code: 'bad_parameter',
    mentions: ['"leaky_relu"', '"alpah"', 'alpha', 'node "act"'],
  },
  { what: 'pow without exponent', run: () => makeUnary('pow', {}, 'p'), code: 'bad_parameter', mentions: ['"pow"', 'node "p"', '"exponent"'] },
  { what: 'clip without max', run: () => makeUnary('clip', { min: 0 }), code: 'bad_parameter', mentions: ['"clip"', '"max"'] },
  { what: 'max_const without c', run: () => makeUnary('max_const'), code: 'bad_parameter', mentions: ['"max_const"', '"c"'] },
  { what: 'min_const without c', run: () => makeUnary('min_const'), code: 'bad_parameter', mentions: ['"min_const"', '"c"'] },
  { what: 'a NaN parameter', run: () => makeUnary('leaky_relu', { alpha: NaN }), code: 'bad_parameter', mentions: ['"alpha"', 'NaN'] },
  { what: 'an infinite parameter', run: () => makeUnary('elu', { alpha: Infinity }), code: 'bad_parameter', mentions: ['"alpha"', 'Infinity'] },
  { what: 'a string parameter', run: () => makeUnary('elu', { alpha: '1' as unknown as number }), code: 'bad_parameter', mentions: ['"alpha"', 'finite number'] },
  { what: 'bipolar λ = 0', run: () => makeUnary('bipolar_sigmoid', { lambda: 0 }, 'b'), code: 'bad_parameter', mentions: ['"bipolar_sigmoid"', 'node "b"', 'lambda must be > 0'] },
  { what: 'bipolar λ < 0', run: () => makeUnary('bipolar_sigmoid', { lambda: -1 }), code: 'bad_parameter', mentions: ['lambda', '-1'] },
  { what: 'softplus β = 0', run: () => makeUnary('softplus', { beta: 0 }), code: 'bad_parameter', mentions: ['"softplus"', 'beta must be > 0'] },
  { what: 'hard_tanh min = max', run: () => makeUnary('hard_tanh', { min: 1, max: 1 }), code: 'bad_parameter', mentions: ['"hard_tanh"', 'min must be < max'] },
  { what: 'hard_sigmoid slope 0', run: () => makeUnary('hard_sigmoid', { slope: 0 }), code: 'bad_parameter', mentions: ['"hard_sigmoid"', 'slope must be > 0'] },
  { what: 'hard_sigmoid slope < 0', run: () => makeUnary('hard_sigmoid', { slope: -0.2 }), code: 'bad_parameter', mentions: ['slope', '-0.2'] },
  { what: 'clip min > max', run: () => makeUnary('clip', { min: 2, max: 1 }), code: 'bad_parameter', mentions: ['"clip"', 'min must be ≤ max', '2, 1'] },
];

describe('graph compilation errors', () => {
  for (const c of compileCases) {
    it(`${c.what} → ${c.code}`, () => {
      expectNetinvertError(c.run, c.code, ...c.mentions);
    });
  }
  it('structured detail names the node and field', () => {
    const e = expectNetinvertError(() => network(withH({ type: 'dense', units: 2, weight: [1, NaN, 3, 4] })), 'non_finite_weight');
    expect(e.detail).toMatchObject({ node: 'h', field: 'weight', index: 1 });
    const u = expectNetinvertError(() => network(withH(base().nodes[0].op, ['nope'])), 'unknown_node');
    expect(u.detail).toMatchObject({ node: 'h', input: 'nope' });
  });
  it('the base graph itself is valid (so every case fails for its own reason)', () => {
    expect(network(base()).nOut).toBe(1);
    expect(network(withH({ type: 'gather', indices: [1, 0] })).nOut).toBe(1);
    expect(network(withH({ type: 'unary', fn: 'leaky_relu', params: { alpha: 0.1 } })).nOut).toBe(1);
  });
});

describe('activation table errors (makeUnary)', () => {
  for (const c of unaryCases) {
    it(`${c.what} → ${c.code}`, () => {
      expectNetinvertError(c.run, c.code, ...c.mentions);
    });
  }
  it('accepts the edge values the checks allow', () => {
    expect(makeUnary('clip', { min: 1, max: 1 }).fn.f(5)).toBe(1);
    expect(makeUnary('pow', { exponent: 0 }).fn.f(3)).toBe(1);
    expect(makeUnary('leaky_relu', { alpha: -0.5 }).fn.f(-2)).toBe(1);
  });
});

describe('network call errors', () => {
  const net = network(base());
  const cases: Case[] = [
    { what: 'evaluate with rows −1', run: () => net.evaluate(new Float64Array(4), -1), code: 'bad_argument', mentions: ['evaluate', 'rows', '-1'] },
    { what: 'evaluate with rows 1.5', run: () => net.evaluate(new Float64Array(4), 1.5), code: 'bad_argument', mentions: ['evaluate', 'rows', '1.5'] },
    { what: 'evaluate with rows NaN', run: () => net.evaluate(new Float64Array(4), NaN), code: 'bad_argument', mentions: ['evaluate', 'NaN'] },
    {
      what: 'evaluate with too short an array',
      run: () => net.evaluate(new Float64Array(3), 2),
      code: 'bad_argument',
      mentions: ['evaluate', '2 rows × 2 values = 4', 'array of 3'],
    },
    { what: 'jacobian with too short an array', run: () => net.jacobian(new Float64Array(1), 1), code: 'bad_argument', mentions: ['jacobian', 'array of 1'] },
    { what: 'jacobian wrt index past the end', run: () => net.jacobian(new Float64Array(2), 1, { wrt: [0, 2] }), code: 'bad_argument', mentions: ['input index 2', '0..1'] },
    { what: 'jacobian wrt index −1', run: () => net.jacobian(new Float64Array(2), 1, { wrt: [-1] }), code: 'bad_argument', mentions: ['input index -1'] },
    { what: 'jacobian wrt index 0.5', run: () => net.jacobian(new Float64Array(2), 1, { wrt: [0.5] }), code: 'bad_argument', mentions: ['input index 0.5'] },
    { what: 'jacobian of index past the end', run: () => net.jacobian(new Float64Array(2), 1, { of: [1] }), code: 'bad_argument', mentions: ['output index 1', '0..0'] },
    {
      what: 'jacobian of index past the end, with wrt given',
      run: () => net.jacobian(new Float64Array(2), 1, { wrt: [0], of: [3] }),
      code: 'bad_argument',
      mentions: ['output index 3'],
    },
    {
      what: 'jacobian with too small an out array',
      run: () => net.jacobian(new Float64Array(4), 2, { out: new Float64Array(3) }),
      code: 'bad_argument',
      mentions: ['out', '4'],
    },
    {
      what: 'parameterGradient with too short a gOut',
      run: () => net.parameterGradient(new Float64Array(4), 2, new Float64Array(1)),
      code: 'bad_argument',
      mentions: ['parameterGradient (gOut)', 'array of 1'],
    },
    { what: 'parameterGradient with rows −2', run: () => net.parameterGradient(new Float64Array(4), -2, new Float64Array(2)), code: 'bad_argument', mentions: ['parameterGradient', '-2'] },
    {
      what: 'bounds with lo above hi',
      run: () => net.bounds(Float64Array.of(0, 1), Float64Array.of(1, 0.5), 1),
      code: 'bad_argument',
      mentions: ['bounds', 'box 0', 'lower bound 1', 'upper bound 0.5', '"x[1]"'],
    },
    {
      what: 'bounds with lo above hi in the second box',
      run: () => net.bounds(Float64Array.of(0, 0, 3, 0), Float64Array.of(1, 1, 2, 1), 2),
      code: 'bad_argument',
      mentions: ['box 1', '"x[0]"'],
    },
    { what: 'bounds with too short a box', run: () => net.bounds(new Float64Array(2), new Float64Array(1), 1), code: 'bad_argument', mentions: ['bounds', 'array of 1'] },
    {
      what: 'jacobianBounds with lo above hi',
      run: () => net.jacobianBounds(Float64Array.of(2, 0), Float64Array.of(1, 0), 1),
      code: 'bad_argument',
      mentions: ['jacobianBounds', '"x[0]"'],
    },
    {
      what: 'jacobianBounds wrt index past the end',
      run: () => net.jacobianBounds(Float64Array.of(0, 0), Float64Array.of(1, 1), 1, { wrt: [5] }),
      code: 'bad_argument',
      mentions: ['input index 5'],
    },
  ];
  for (const c of cases) {
    it(`${c.what} → ${c.code}`, () => {
      expectNetinvertError(c.run, c.code, ...c.mentions);
    });
  }
  it('zero rows is fine; a longer array than needed is fine', () => {
    expect(net.evaluate(new Float64Array(0), 0).length).toBe(0);
    expect(net.evaluate(new Float64Array(5), 2).length).toBe(2);
  });
});
