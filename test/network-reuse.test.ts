/**
 * A Network keeps its buffers and per-node argument arrays between calls. Calls of every
 * kind, in any order and at any batch size, must give exactly what a fresh network gives.
 */
import { describe, expect, it } from 'vitest';
import { network, type GraphDef } from '../src/index.ts';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function def(): GraphDef {
  const r = lcg(7);
  const w = (n: number): number[] => Array.from({ length: n }, () => 2 * r() - 1);
  return {
    inputs: [
      { name: 'a', width: 2 },
      { name: 'b', width: 1 },
    ],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 5, weight: w(10), bias: w(5) }, inputs: ['a'] },
      { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
      // the same node twice: reverse mode must accumulate the second share
      { name: 'sq', op: { type: 'binary', fn: 'mul' }, inputs: ['t', 't'] },
      { name: 'c', op: { type: 'concat' }, inputs: ['sq', 'b', 't'] },
      { name: 'y', op: { type: 'dense', units: 3, weight: w(33), bias: w(3) }, inputs: ['c'] },
      { name: 'z', op: { type: 'unary', fn: 'relu' }, inputs: ['y'] },
    ],
    outputs: [{ node: 'z' }, { node: 'h', name: 'hidden' }],
  };
}

describe('network buffer reuse', () => {
  it('repeated calls with changing batch sizes, subsets and modes match a fresh network exactly', () => {
    const net = network(def());
    const r = lcg(11);
    const calls: { rows: number; wrt?: number[]; of?: number[]; mode?: 'forward' | 'reverse' }[] = [
      { rows: 1 },
      { rows: 1024 },
      { rows: 3, mode: 'forward' },
      { rows: 1, mode: 'reverse' },
      { rows: 17, wrt: [2, 0], of: [1] },
      { rows: 2, of: [4, 0, 2], mode: 'reverse' },
      { rows: 1024, wrt: [1], mode: 'forward' },
      { rows: 5 },
    ];
    for (const c of calls) {
      const X = Float64Array.from({ length: c.rows * net.nIn }, () => 4 * r() - 2);
      const got = net.jacobian(X, c.rows, { wrt: c.wrt, of: c.of, mode: c.mode });
      const want = network(def()).jacobian(X, c.rows, { wrt: c.wrt, of: c.of, mode: c.mode });
      expect(got.J).toEqual(want.J);
      expect(got.Y).toEqual(want.Y);
      expect(net.evaluate(X, c.rows)).toEqual(network(def()).evaluate(X, c.rows));
    }
  });

  it('forward and reverse mode agree, and default subsets equal explicit ones', () => {
    const net = network(def());
    const r = lcg(3);
    const rows = 9;
    const X = Float64Array.from({ length: rows * net.nIn }, () => 4 * r() - 2);
    const f = net.jacobian(X, rows, { mode: 'forward' }).J;
    const b = net.jacobian(X, rows, { mode: 'reverse' }).J;
    for (let i = 0; i < f.length; i++) expect(Math.abs(f[i] - b[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(f[i])));
    const all = net.jacobian(X, rows, { wrt: [0, 1, 2], of: [0, 1, 2, 3, 4, 5, 6, 7] }).J;
    expect(all).toEqual(net.jacobian(X, rows).J);
  });

  it('still rejects out-of-range indices', () => {
    const net = network(def());
    const X = new Float64Array(3);
    expect(() => net.jacobian(X, 1, { wrt: [3] })).toThrow(/input index 3/);
    expect(() => net.jacobian(X, 1, { of: [8] })).toThrow(/output index 8/);
    expect(() => net.jacobian(X, 1, { wrt: [0], of: [-1] })).toThrow(/output index -1/);
  });
});
