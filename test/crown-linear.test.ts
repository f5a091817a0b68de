/**
 * crownLinearBounds: sound bounds of linear forms C·y of the outputs over input boxes.
 * Oracles: dense sampling plus every vertex of the box (a sound lower bound is ≤ all of them),
 * brute-force vertex minimum on linear nets (exactness), the interval bound of C·y from the
 * engine's per-output interval bounds, and per-output crownBounds on one-hidden-layer nets.
 */
import { describe, expect, it } from 'vitest';
import { crownBounds, crownLinearBounds } from '../src/certify/bounds/crown.ts';
import { NetinvertError } from '../src/errors.ts';
import { network, type Network } from '../src/graph/network.ts';
import type { GraphDef, NodeDef } from '../src/graph/types.ts';
import { createModel } from '../src/model.ts';
import type { Problem } from '../src/problem/query.ts';
import { randomNet } from './util/nets.ts';
import { rng, type Rng } from './util/rng.ts';

/** An MLP nIn → hidden… → nOut with the given activation after each hidden dense layer ('' = linear). */
function mlp(r: Rng, nIn: number, hidden: number[], nOut: number, act: string): GraphDef {
  const nodes: NodeDef[] = [];
  let cur = 'x',
    w = nIn;
  hidden.forEach((h, i) => {
    nodes.push({ name: `d${i}`, op: { type: 'dense', units: h, weight: r.vector(w * h, -1.2, 1.2), bias: r.vector(h, -0.5, 0.5) }, inputs: [cur] });
    cur = `d${i}`;
    if (act) {
      nodes.push({ name: `a${i}`, op: { type: 'unary', fn: act }, inputs: [cur] });
      cur = `a${i}`;
    }
    w = h;
  });
  nodes.push({ name: 'y', op: { type: 'dense', units: nOut, weight: r.vector(w * nOut, -1, 1), bias: r.vector(nOut, -0.3, 0.3) }, inputs: [cur] });
  return { inputs: [{ name: 'x', width: nIn }], nodes, outputs: [{ node: 'y', name: 'y' }] };
}

function randomBox(r: Rng, n: number, known = false): { L: Float64Array; H: Float64Array } {
  const L = new Float64Array(n),
    H = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = r.uniform(-1, 1),
      h = r.uniform(0.05, 0.8);
    L[i] = c - h;
    H[i] = c + h;
  }
  if (known && n > 1) {
    const k = r.int(n);
    H[k] = L[k];
  }
  return { L, H };
}

function randomC(r: Rng, m: number, nOut: number): Float64Array {
  const C = new Float64Array(m * nOut);
  for (let i = 0; i < C.length; i++) C[i] = r.next() < 0.2 ? 0 : r.uniform(-2, 2);
  return C;
}

/** Points of the box: all vertices and `n` uniform samples, rows × nIn. */
function boxPoints(r: Rng, L: Float64Array, H: Float64Array, n: number): { X: Float64Array; rows: number } {
  const d = L.length,
      nv = 1 << d,
      rows = nv + n;
  const X = new Float64Array(rows * d);
  for (let v = 0; v < nv; v++) for (let i = 0; i < d; i++) X[v * d + i] = (v >> i) & 1 ? H[i] : L[i];
  for (let p = nv; p < rows; p++) for (let i = 0; i < d; i++) X[p * d + i] = r.uniform(L[i], H[i]);
  return { X, rows };
}

/** min and max of each form C·y over the sampled points. */
function sampledRange(net: Network, X: Float64Array, rows: number, C: Float64Array, m: number): { mn: number[]; mx: number[] } {
  const Y = net.evaluate(X, rows);
  const nOut = net.nOut;
  const mn = new Array<number>(m).fill(Infinity),
    mx = new Array<number>(m).fill(-Infinity);
  for (let p = 0; p < rows; p++) {
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let o = 0; o < nOut; o++) s += C[r * nOut + o] * Y[p * nOut + o];
      mn[r] = Math.min(mn[r], s);
      mx[r] = Math.max(mx[r], s);
    }
  }
  return { mn, mx };
}

/** The interval bound of C·y from per-output bounds lo, hi (plain float arithmetic). */
function intervalOfForms(lo: Float64Array, hi: Float64Array, C: Float64Array, m: number, nOut: number): { l: number[]; h: number[] } {
  const l: number[] = [],
    h: number[] = [];
  for (let r = 0; r < m; r++) {
    let a = 0,
      b = 0;
    for (let o = 0; o < nOut; o++) {
      const c = C[r * nOut + o];
      a += c > 0 ? c * lo[o] : c * hi[o];
      b += c > 0 ? c * hi[o] : c * lo[o];
    }
    l.push(a);
    h.push(b);
  }
  return { l, h };
}

// a relative slack for the rounding allowances only (bounds are compared to plain float sums)
const slack = (v: number): number => 1e-9 * (1 + Math.abs(v));

describe('crownLinearBounds', () => {
  it('is sound on random ReLU / tanh / sigmoid MLPs (vertices and dense samples), both intermediates', () => {
    const r = rng(9101);
    for (let t = 0; t < 36; t++) {
      const act = ['relu', 'tanh', 'sigmoid'][t % 3];
      const nIn = 2 + r.int(2),
        nOut = 1 + r.int(3),
        m = 1 + r.int(4);
      const hidden = Array.from({ length: 1 + r.int(3) }, () => 2 + r.int(5));
      const net = network(mlp(r, nIn, hidden, nOut, act));
      const { L, H } = randomBox(r, nIn, t % 4 === 3);
      const C = randomC(r, m, nOut);
      const { X, rows } = boxPoints(r, L, H, 1500);
      const { mn, mx } = sampledRange(net, X, rows, C, m);
      for (const intermediate of ['crown', 'forward'] as const) {
        const b = crownLinearBounds(net, L, H, 1, C, m, { upper: true, intermediate });
        expect(b.hi).not.toBeNull();
        for (let q = 0; q < m; q++) {
          expect(b.lo[q]).toBeLessThanOrEqual(mn[q]);
          expect(b.hi![q]).toBeGreaterThanOrEqual(mx[q]);
          expect(Number.isFinite(b.lo[q]) && Number.isFinite(b.hi![q])).toBe(true);
        }
      }
    }
  });

  it('is sound on random graphs with every structural op and kinked activations', () => {
    const r = rng(4242);
    for (let t = 0; t < 30; t++) {
      const def = randomNet(r, { depth: 1 + r.int(4), maxWidth: 4, structural: true, kinks: true });
      const net = network(def);
      const { L, H } = randomBox(r, net.nIn, t % 3 === 0);
      const m = 1 + r.int(3);
      const C = randomC(r, m, net.nOut);
      const { X, rows } = boxPoints(r, L, H, 800);
      const { mn, mx } = sampledRange(net, X, rows, C, m);
      const b = crownLinearBounds(net, L, H, 1, C, m, { upper: true });
      for (let q = 0; q < m; q++) {
        expect(b.lo[q]).toBeLessThanOrEqual(mn[q]);
        expect(b.hi![q]).toBeGreaterThanOrEqual(mx[q]);
      }
    }
  });

  it('is sound when two outputs name the same feature (their coefficients add up)', () => {
    const r = rng(77);
    const def = mlp(r, 2, [5], 2, 'relu');
    def.outputs = [
      { node: 'y', name: 'y' },
      { node: 'y', name: 'z' },
      { node: 'a0', name: 'h' },
    ];
    const net = network(def);
    expect(net.nOut).toBe(9);
    const { L, H } = randomBox(r, 2);
    const C = randomC(r, 4, net.nOut);
    const { X, rows } = boxPoints(r, L, H, 2000);
    const { mn, mx } = sampledRange(net, X, rows, C, 4);
    const b = crownLinearBounds(net, L, H, 1, C, 4, { upper: true });
    for (let q = 0; q < 4; q++) {
      expect(b.lo[q]).toBeLessThanOrEqual(mn[q]);
      expect(b.hi![q]).toBeGreaterThanOrEqual(mx[q]);
    }
  });

  it('is never wider than the interval bound of C·y from the per-output interval bounds', () => {
    const r = rng(555);
    for (let t = 0; t < 30; t++) {
      const act = ['relu', 'tanh', 'sigmoid'][t % 3];
      const nOut = 2 + r.int(3),
        m = 1 + r.int(4);
      const net = network(mlp(r, 3, [4, 4], nOut, act));
      const { L, H } = randomBox(r, 3);
      const C = randomC(r, m, nOut);
      const ib = net.bounds(L, H, 1);
      const iv = intervalOfForms(ib.lo, ib.hi, C, m, nOut);
      const b = crownLinearBounds(net, L, H, 1, C, m, { upper: true });
      for (let q = 0; q < m; q++) {
        expect(b.lo[q]).toBeGreaterThanOrEqual(iv.l[q] - slack(iv.l[q]));
        expect(b.hi![q]).toBeLessThanOrEqual(iv.h[q] + slack(iv.h[q]));
      }
    }
  });

  it('is at least as tight as combining per-output CROWN bounds, and strictly tighter on some', () => {
    const r = rng(31337);
    let strictly = 0;
    for (let t = 0; t < 25; t++) {
      const nOut = 2 + r.int(3),
        m = 2;
      const def = mlp(r, 2 + r.int(2), t % 2 ? [6 + r.int(4)] : [5, 4], nOut, t % 3 === 2 ? 'tanh' : 'relu');
      const model = createModel(def);
      const net = model.network;
      const { L, H } = randomBox(r, net.nIn);
      // differences of outputs: the usual robustness specification y_i − y_j
      const C = new Float64Array(m * nOut);
      C[0] = 1;
      C[1] = -1;
      C[nOut + nOut - 1] = 1;
      C[nOut] = -1;
      const per = crownBounds({ model } as unknown as Problem, L.slice(), H.slice(), 1);
      const iv = intervalOfForms(per.lo, per.hi, C, m, nOut);
      const b = crownLinearBounds(net, L, H, 1, C, m, { upper: true });
      for (let q = 0; q < m; q++) {
        expect(b.lo[q]).toBeGreaterThanOrEqual(iv.l[q] - slack(iv.l[q]));
        expect(b.hi![q]).toBeLessThanOrEqual(iv.h[q] + slack(iv.h[q]));
        if (b.lo[q] > iv.l[q] + 1e-6) strictly++;
      }
    }
    expect(strictly).toBeGreaterThan(0);
  });

  it('is exact (up to rounding) on a linear net: the vertex minimum and maximum', () => {
    const r = rng(2024);
    for (let t = 0; t < 20; t++) {
      const nIn = 2 + r.int(3),
        nOut = 1 + r.int(3),
        m = 1 + r.int(3);
      const h0 = 3 + r.int(3);
      const def = mlp(r, nIn, [h0, 2 + r.int(3)], nOut, '');
      // an affine layer after the first dense layer keeps another exact rule in play
      def.nodes.splice(1, 0, { name: 'af', op: { type: 'affine', scale: r.vector(h0, -1.5, 1.5), shift: r.vector(h0, -0.5, 0.5) }, inputs: ['d0'] });
      def.nodes[2].inputs = ['af'];
      const net = network(def);
      const { L, H } = randomBox(r, nIn, t % 2 === 1);
      const C = randomC(r, m, nOut);
      const { X, rows } = boxPoints(r, L, H, 0); // vertices only: a linear function's extremes
      const { mn, mx } = sampledRange(net, X, rows, C, m);
      const b = crownLinearBounds(net, L, H, 1, C, m, { upper: true });
      for (let q = 0; q < m; q++) {
        expect(b.lo[q]).toBeLessThanOrEqual(mn[q]);
        expect(b.lo[q]).toBeGreaterThanOrEqual(mn[q] - slack(mn[q]));
        expect(b.hi![q]).toBeGreaterThanOrEqual(mx[q]);
        expect(b.hi![q]).toBeLessThanOrEqual(mx[q] + slack(mx[q]));
      }
    }
  });

  it('a batch of boxes gives the same bounds as the boxes one by one; no upper unless asked', () => {
    const r = rng(8);
    const net = network(mlp(r, 3, [5, 4], 3, 'relu'));
    const boxes = 5,
      m = 3;
    const L = new Float64Array(boxes * 3),
      H = new Float64Array(boxes * 3);
    for (let b = 0; b < boxes; b++) {
      const bx = randomBox(r, 3, b === 2);
      L.set(bx.L, b * 3);
      H.set(bx.H, b * 3);
    }
    const C = randomC(r, m, 3);
    const all = crownLinearBounds(net, L, H, boxes, C, m, { upper: true });
    for (let b = 0; b < boxes; b++) {
      const one = crownLinearBounds(net, L.slice(b * 3, b * 3 + 3), H.slice(b * 3, b * 3 + 3), 1, C, m, { upper: true });
      expect(Array.from(all.lo.subarray(b * m, (b + 1) * m))).toEqual(Array.from(one.lo));
      expect(Array.from(all.hi!.subarray(b * m, (b + 1) * m))).toEqual(Array.from(one.hi!));
    }
    const lowOnly = crownLinearBounds(net, L, H, boxes, C, m);
    expect(lowOnly.hi).toBeNull();
    expect(Array.from(lowOnly.lo)).toEqual(Array.from(all.lo));
  });

  it('rejects non-finite coefficients and wrong sizes with bad_argument', () => {
    const r = rng(1);
    const net = network(mlp(r, 2, [3], 2, 'relu'));
    const L = new Float64Array([0, 0]),
      H = new Float64Array([1, 1]);
    const bad = (f: () => unknown): void => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(NetinvertError);
        expect((e as NetinvertError).code).toBe('bad_argument');
      }
    };
    bad(() => crownLinearBounds(net, L, H, 1, new Float64Array([1, NaN]), 1));
    bad(() => crownLinearBounds(net, L, H, 1, new Float64Array([1]), 1));
    bad(() => crownLinearBounds(net, L, H, 2, new Float64Array([1, 0]), 1));
    bad(() => crownLinearBounds(net, L, H, 1, new Float64Array([1, 0]), 1, { intermediate: 'nope' as 'crown' }));
  });
});
