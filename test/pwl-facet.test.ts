/**
 * The ops answer for themselves (issue #9): whether an op instance is piecewise-linear
 * (OpImpl.nonPwl / milp, read by isPiecewiseLinear and the MILP encoder) and whether it is a
 * layer of a dense / ReLU / affine chain (OpImpl.chainLayer, read by reluChainOf).
 *
 * Oracles, independent of the op files: piecewise-linearity is read off the function itself
 * (second differences along a line through the input box vanish except in the few grid cells
 * next to a kink), the MILP encoding is evaluated at its own column values and compared with
 * the network's forward pass, and a recognised chain is run by a plain evaluator in this file
 * and compared with the network's forward pass.
 */
import { describe, expect, it } from 'vitest';
import { reluChainOf, type ReluChain } from '../src/certify/bounds/reluChain.ts';
import { encodeGraph, isPiecewiseLinear, MilpBuilder, outputFeatureNodes } from '../src/certify/milp/encode.ts';
import { NetinvertError } from '../src/errors.ts';
import { UNARY_NAMES } from '../src/graph/activations/index.ts';
import { network } from '../src/graph/network.ts';
import type { GraphDef, NodeDef, OpSpec } from '../src/graph/types.ts';
import { rng, type Rng } from './util/rng.ts';

/** One op under test: a graph whose node "op" is the op, and the input box to walk. */
interface Case {
  label: string;
  def: GraphDef;
  lo: number[];
  hi: number[];
}

/** Parameters an activation requires (the others keep their defaults). */
const REQUIRED: Record<string, Record<string, number>> = {
  pow: { exponent: 2 },
  max_const: { c: 0.3 },
  min_const: { c: 0.3 },
  clip: { min: -1, max: 1 },
};
/** Activations defined only for positive inputs. */
const POSITIVE = new Set(['log', 'reciprocal', 'pow']);

function oneInput(op: OpSpec, width: number): GraphDef {
  return { inputs: [{ name: 'x', width }], nodes: [{ name: 'op', op, inputs: ['x'] }], outputs: [{ node: 'op' }] };
}

function twoInputs(op: OpSpec): GraphDef {
  return {
    inputs: [
      { name: 'a', width: 1 },
      { name: 'b', width: 1 },
    ],
    nodes: [{ name: 'op', op, inputs: ['a', 'b'] }],
    outputs: [{ node: 'op' }],
  };
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const fn of UNARY_NAMES) {
    const params = REQUIRED[fn];
    const pos = POSITIVE.has(fn);
    out.push({ label: `unary ${fn}`, def: oneInput({ type: 'unary', fn, ...(params ? { params } : {}) }, 1), lo: [pos ? 0.1 : -3], hi: [3] });
  }
  for (const fn of ['add', 'sub', 'mul', 'div'] as const) {
    // a over [−3, 3], b over [0.5, 3] (a quotient's denominator stays away from 0)
    out.push({ label: `binary ${fn}`, def: twoInputs({ type: 'binary', fn }), lo: [-3, 0.5], hi: [3, 3] });
    for (const constantFirst of [false, true]) {
      out.push({
        label: `binary_const ${fn}${constantFirst ? ' (constant first)' : ''}`,
        def: oneInput({ type: 'binary_const', fn, constant: [1.7], constantFirst }, 1),
        lo: [0.5],
        hi: [3],
      });
    }
  }
  const w2: [number[], number[]] = [
    [-3, 2],
    [3, -2.5],
  ];
  out.push({ label: 'dense', def: oneInput({ type: 'dense', units: 2, weight: [1, -2, 0.5, 3], bias: [0.1, -0.2] }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'affine', def: oneInput({ type: 'affine', scale: [2, -0.5], shift: [1, 0.25] }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'gather', def: oneInput({ type: 'gather', indices: [1, 0, 1] }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'reshape', def: oneInput({ type: 'reshape', shape: [2, 1] }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'concat', def: twoInputs({ type: 'concat' }), lo: [-3, 0.5], hi: [3, 3] });
  out.push({ label: 'softmax', def: oneInput({ type: 'softmax' }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'log_softmax', def: oneInput({ type: 'log_softmax' }, 2), lo: w2[0], hi: w2[1] });
  out.push({ label: 'layer_norm', def: oneInput({ type: 'layer_norm', epsilon: 1 }, 2), lo: w2[0], hi: w2[1] });
  return out;
}

/**
 * The grid oracle: walk the segment lo → hi in N steps; a piecewise-linear function with at most
 * two kinks on it has a nonzero second difference in at most 4 grid cells (each kink touches the
 * two cells around it), a smooth nonlinear one in almost every cell.
 */
function piecewiseLinearOnGrid(c: Case): boolean {
  const net = network(c.def);
  const N = 601,
    n = net.nIn,
    m = net.nOut;
  const X = new Float64Array(N * n);
  for (let i = 0; i < N; i++) for (let j = 0; j < n; j++) X[i * n + j] = c.lo[j] + ((c.hi[j] - c.lo[j]) * i) / (N - 1);
  const Y = net.evaluate(X, N);
  for (let o = 0; o < m; o++) {
    let curved = 0;
    for (let i = 1; i < N - 1; i++) {
      const a = Y[(i - 1) * m + o],
        b = Y[i * m + o],
        d = Y[(i + 1) * m + o];
      if (Math.abs(a - 2 * b + d) > 1e-10 * (1 + Math.abs(b))) curved++;
    }
    if (curved > 4) return false;
  }
  return true;
}

const TOL = { primal: 1e-9, integrality: 1e-9 };

describe('isPiecewiseLinear: each op answers for itself, and the answer is the function', () => {
  const all = cases();

  it('the grid oracle itself tells the two kinds apart (relu, tanh)', () => {
    expect(piecewiseLinearOnGrid(all.find((c) => c.label === 'unary relu')!)).toBe(true);
    expect(piecewiseLinearOnGrid(all.find((c) => c.label === 'unary tanh')!)).toBe(false);
    expect(piecewiseLinearOnGrid(all.find((c) => c.label === 'binary mul')!)).toBe(false);
  });

  for (const c of all) {
    it(`${c.label}: agrees with the second differences, names the node and op, and the encoder agrees`, () => {
      const expected = piecewiseLinearOnGrid(c);
      const net = network(c.def);
      const r = isPiecewiseLinear(c.def);
      expect(r.ok, c.label).toBe(expected);
      // a compiled network gives the same answer as its GraphDef
      expect(isPiecewiseLinear(net)).toEqual(r);
      const n = net.nIn;
      // the box the segment lies in
      const boxLo = c.lo.map((l, j) => Math.min(l, c.hi[j])),
        boxHi = c.lo.map((l, j) => Math.max(l, c.hi[j]));
      const enc = () =>
        encodeGraph(net, new MilpBuilder(TOL), {
          unknowns: Array.from({ length: n }, (_, j) => j),
          lo: boxLo,
          hi: boxHi,
          base: new Float64Array(n),
          roots: ['op'],
        });
      if (!r.ok) {
        expect(r.node).toBe('op');
        // the label names the function (unary) or the op type
        const fnName = c.def.nodes[0].op.type === 'unary' ? (c.def.nodes[0].op as { fn: string }).fn : c.def.nodes[0].op.type;
        expect(r.op).toContain(fnName);
        let err: unknown = null;
        try {
          enc();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(NetinvertError);
        expect((err as NetinvertError).code).toBe('unsupported_op');
        expect((err as NetinvertError).detail).toMatchObject({ node: 'op', op: r.op });
        expect((err as NetinvertError).message).toContain('not piecewise-linear');
        return;
      }
      // exact: the encoding's value at its own column values is the network's value
      const e = enc();
      const out = e.values.get('op')!;
      const g = rng(17);
      for (let t = 0; t < 25; t++) {
        const u = boxLo.map((l, j) => (t < 2 ? (t === 0 ? l : boxHi[j]) : g.uniform(l, boxHi[j])));
        const x = e.builder.columnValues(u);
        const y = net.evaluate(Float64Array.from(u), 1);
        expect(out.length).toBe(y.length);
        for (let o = 0; o < y.length; o++) expect(Math.abs(MilpBuilder.value(out[o], x) - y[o])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(y[o])));
      }
    });
  }

  it('only the nodes the named outputs depend on are checked, and the first offender in graph order is named', () => {
    const def: GraphDef = {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'd', op: { type: 'dense', units: 2, weight: [1, 2, 3, 4] }, inputs: ['x'] },
        { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['d'] },
        { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['d'] },
        { name: 'q', op: { type: 'binary', fn: 'div' }, inputs: ['r', 'd'] },
      ],
      outputs: [{ node: 't' }, { node: 'r' }, { node: 'q' }],
    };
    expect(isPiecewiseLinear(def)).toEqual({ ok: false, node: 't', op: 'tanh' });
    expect(isPiecewiseLinear(def, ['r'])).toEqual({ ok: true });
    expect(isPiecewiseLinear(def, ['q'])).toEqual({ ok: false, node: 'q', op: 'binary div' });
  });
});

describe('outputFeatureNodes: the compiled network says which node each output feature reads', () => {
  it('matches a count of the outputs by the widths the forward pass produces', () => {
    const def: GraphDef = {
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        { name: 'd', op: { type: 'dense', units: 2, weight: [1, 2, 3, 4, 5, 6] }, inputs: ['x'] },
        { name: 'c', op: { type: 'concat' }, inputs: ['d', 'x'] },
        { name: 'g', op: { type: 'gather', indices: [4, 0] }, inputs: ['c'] },
        { name: 'b', op: { type: 'binary', fn: 'sub' }, inputs: ['g', 'd'] },
      ],
      outputs: [{ node: 'g' }, { node: 'x' }, { node: 'b' }, { node: 'd' }],
    };
    const net = network(def);
    // widths from single-output nets' forward passes (one row)
    const expected: { node: string; pos: number }[] = [];
    for (const o of def.outputs) {
      const w = network({ ...def, outputs: [o] }).evaluate(new Float64Array(3), 1).length;
      for (let p = 0; p < w; p++) expected.push({ node: o.node, pos: p });
    }
    expect(expected.length).toBe(2 + 3 + 2 + 2);
    expect(outputFeatureNodes(net)).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// reluChainOf
// ---------------------------------------------------------------------------------------------

/** Run a chain on one point with plain loops (this file's own evaluator). */
function runChain(ch: ReluChain, x: readonly number[]): number[] {
  let a = x.slice();
  for (const ly of ch.layers) {
    if (ly.kind === 'dense') {
      const z: number[] = [];
      for (let o = 0; o < ly.nOut; o++) {
        let s = ly.b[o];
        for (let i = 0; i < ly.nIn; i++) s += ly.W[o * ly.nIn + i] * a[i];
        z.push(s);
      }
      a = z;
    } else if (ly.kind === 'relu') a = a.map((v) => Math.max(0, v));
    else a = a.map((v, i) => ly.s[i] * v + ly.t[i]);
  }
  return a;
}

/** A random chain of dense (with or without bias), relu, affine and x ± c, x·c layers. */
function randomChain(r: Rng): GraphDef {
  const nIn = 1 + r.int(4);
  let w = nIn,
    prev = 'x';
  const nodes: NodeDef[] = [];
  const layers = 2 + r.int(6);
  for (let k = 0; k < layers; k++) {
    const kind = r.int(6);
    let op: OpSpec;
    if (kind <= 1) {
      const units = 1 + r.int(5);
      op = { type: 'dense', units, weight: r.vector(w * units, -1, 1), ...(r.int(2) ? { bias: r.vector(units, -0.5, 0.5) } : {}) };
      w = units;
    } else if (kind === 2) op = { type: 'unary', fn: 'relu' };
    else if (kind === 3) op = { type: 'affine', scale: r.vector(w, -2, 2), shift: r.vector(w, -1, 1) };
    else {
      const fn = (['add', 'sub', 'mul'] as const)[r.int(3)];
      op = { type: 'binary_const', fn, constant: r.vector(r.int(2) ? 1 : w, -2, 2) };
    }
    nodes.push({ name: `n${k}`, op, inputs: [prev] });
    prev = `n${k}`;
  }
  return { inputs: [{ name: 'x', width: nIn }], nodes, outputs: [{ node: prev }] };
}

describe('reluChainOf: the ops say what chain layer they are', () => {
  it('a random chain is recognised, and running its layers gives the network output', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const def = randomChain(r);
      const net = network(def);
      const ch = reluChainOf(net);
      expect(ch, `seed ${seed}`).not.toBeNull();
      expect(ch!.nIn).toBe(net.nIn);
      expect(ch!.nOut).toBe(net.nOut);
      expect(ch!.layers.length).toBe(def.nodes.length);
      for (const ly of ch!.layers) {
        if (ly.kind !== 'dense') continue;
        // WT is W transposed and absW its magnitudes
        for (let o = 0; o < ly.nOut; o++) {
          for (let i = 0; i < ly.nIn; i++) {
            expect(ly.WT[i * ly.nOut + o]).toBe(ly.W[o * ly.nIn + i]);
            expect(ly.absW[o * ly.nIn + i]).toBe(Math.abs(ly.W[o * ly.nIn + i]));
          }
        }
      }
      for (let t = 0; t < 10; t++) {
        const x = r.vector(net.nIn, -3, 3);
        const want = net.evaluate(Float64Array.from(x), 1);
        const got = runChain(ch!, x);
        for (let o = 0; o < got.length; o++) expect(Math.abs(got[o] - want[o])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(want[o])));
      }
    }
  });

  it('the chain does not share the model weights (changing them later leaves it as it was)', () => {
    const def = randomChain(rng(5));
    const net = network(def);
    const ch = reluChainOf(net)!;
    const before = JSON.stringify(ch.layers.map((l) => (l.kind === 'dense' ? Array.from(l.WT) : l.kind === 'affine' ? Array.from(l.s) : [])));
    for (const p of net.parameters()) p.values.fill(7);
    net.parametersChanged();
    const after = JSON.stringify(ch.layers.map((l) => (l.kind === 'dense' ? Array.from(l.WT) : l.kind === 'affine' ? Array.from(l.s) : [])));
    expect(after).toBe(before);
  });

  const dense = (name: string, input: string, nIn: number, units: number): NodeDef => ({
    name,
    op: { type: 'dense', units, weight: Array.from({ length: nIn * units }, (_, i) => ((i * 7) % 5) - 2), bias: Array(units).fill(0.5) },
    inputs: [input],
  });
  const chainOf = (mid: OpSpec): GraphDef => ({
    inputs: [{ name: 'x', width: 2 }],
    nodes: [dense('d1', 'x', 2, 3), { name: 'm', op: mid, inputs: ['d1'] }, dense('d2', 'm', 3, 1)],
    outputs: [{ node: 'd2' }],
  });

  it('anything else is not a chain', () => {
    expect(reluChainOf(network(chainOf({ type: 'unary', fn: 'relu' })))).not.toBeNull();
    const notChains: [string, GraphDef][] = [
      ['tanh', chainOf({ type: 'unary', fn: 'tanh' })],
      ['leaky_relu', chainOf({ type: 'unary', fn: 'leaky_relu' })],
      ['x / c', chainOf({ type: 'binary_const', fn: 'div', constant: [2] })],
      ['c − x', chainOf({ type: 'binary_const', fn: 'sub', constant: [2], constantFirst: true })],
      ['softmax', chainOf({ type: 'softmax' })],
      [
        'two inputs',
        {
          inputs: [
            { name: 'x', width: 2 },
            { name: 'z', width: 2 },
          ],
          nodes: [dense('d1', 'x', 2, 1)],
          outputs: [{ node: 'd1' }],
        },
      ],
      [
        'a branch',
        {
          inputs: [{ name: 'x', width: 2 }],
          nodes: [dense('d1', 'x', 2, 2), { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] }, { name: 's', op: { type: 'binary', fn: 'add' }, inputs: ['r', 'd1'] }],
          outputs: [{ node: 's' }],
        },
      ],
      [
        'the output is not the last node',
        { inputs: [{ name: 'x', width: 2 }], nodes: [dense('d1', 'x', 2, 2), { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] }], outputs: [{ node: 'd1' }] },
      ],
      [
        'two outputs',
        { inputs: [{ name: 'x', width: 2 }], nodes: [dense('d1', 'x', 2, 2), { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] }], outputs: [{ node: 'd1' }, { node: 'r' }] },
      ],
    ];
    for (const [what, def] of notChains) expect(reluChainOf(network(def)), what).toBeNull();
  });
});
