import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { linearBounds } from '../src/certify/bounds/forward.ts';
import { relaxUnary } from '../src/graph/ops/relax.ts';
import { makeUnary, UNARY_NAMES } from '../src/graph/activations/index.ts';
import { createModel } from '../src/model.ts';
import { buildProblem } from '../src/problem/query.ts';
import { mulberry32 } from '../src/numeric/rng.ts';

const PARAMS: Record<string, Record<string, number>> = { pow: { exponent: 2 }, max_const: { c: 0.3 }, min_const: { c: -0.2 }, clip: { min: -0.5, max: 0.7 } };
// functions whose domain excludes part of the line are exercised on their domain only
const POSITIVE = new Set(['log', 'reciprocal']);

function net(act: string, seed: number, params: Record<string, number> = {}) {
  const rand = mulberry32(seed);
  const W = (a: number, b: number) => Array.from({ length: a * b }, () => (2 * rand() - 1) * 1.5);
  return createModel({
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: 6, weight: W(2, 6), bias: W(1, 6) }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: act, params }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 6, weight: W(6, 6), bias: W(1, 6) }, inputs: ['a1'] },
      { name: 'a2', op: { type: 'unary', fn: act, params }, inputs: ['d2'] },
      { name: 'd3', op: { type: 'dense', units: 2, weight: W(6, 2), bias: [0, 0] }, inputs: ['a2'] },
    ],
    outputs: [{ node: 'd3', name: 'y', features: ['y1', 'y2'] }],
  });
}

describe('relaxation lines of every activation', () => {
  for (const name of UNARY_NAMES) {
    it(`${name}: a_L z + b_L ≤ f(z) ≤ a_U z + b_U on sampled intervals`, () => {
      const { fn } = makeUnary(name, PARAMS[name] ?? {});
      const rel = new Float64Array(4);
      fc.assert(
        fc.property(fc.double({ min: -6, max: 6, noNaN: true }), fc.double({ min: 1e-6, max: 8, noNaN: true }), (c, w) => {
          let l = c - w / 2,
            u = c + w / 2;
          if (POSITIVE.has(name)) {
            l = Math.abs(c) + 0.05;
            u = l + w;
          }
          relaxUnary(fn, l, u, rel);
          for (let s = 0; s <= 64; s++) {
            const z = l + ((u - l) * s) / 64;
            const y = fn.f(z);
            if (!Number.isFinite(y)) continue;
            expect(rel[0] * z + rel[1]).toBeLessThanOrEqual(y + 1e-12 * (1 + Math.abs(y)));
            expect(rel[2] * z + rel[3]).toBeGreaterThanOrEqual(y - 1e-12 * (1 + Math.abs(y)));
          }
        }),
        { seed: 11, numRuns: 60 },
      );
    });
  }
});

describe('linear bounds through networks', () => {
  const acts = ['tanh', 'relu', 'sigmoid', 'bipolar_sigmoid', 'gelu', 'gelu_tanh', 'silu', 'softplus', 'sin', 'elu', 'leaky_relu', 'hard_tanh', 'softsign', 'abs'];
  let ratioSum = 0,
    ratioN = 0;
  for (const act of acts) {
    it(`${act}: contain dense samples, never wider than intervals`, () => {
      const m = net(act, act.length * 7);
      const p = buildProblem(m, { want: { y1: 0 }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } });
      const rand = mulberry32(5);
      for (let k = 0; k < 25; k++) {
        const c0 = 2 * rand() - 1,
          c1 = 2 * rand() - 1,
          r = 0.02 + 0.6 * rand();
        const L = new Float64Array([c0 - r, c1 - r]),
          H = new Float64Array([c0 + r, c1 + r]);
        const ib = m.network.bounds(L, H, 1);
        const lb = linearBounds(p, L.slice(), H.slice(), 1);
        for (let o = 0; o < 2; o++) {
          expect(lb.lo[o]).toBeGreaterThanOrEqual(ib.lo[o]);
          expect(lb.hi[o]).toBeLessThanOrEqual(ib.hi[o]);
          ratioSum += (lb.hi[o] - lb.lo[o]) / (ib.hi[o] - ib.lo[o]);
          ratioN++;
        }
        for (let s = 0; s < 200; s++) {
          const x = new Float64Array([L[0] + rand() * 2 * r, L[1] + rand() * 2 * r]);
          if (s < 4) x.set([s & 1 ? H[0] : L[0], s & 2 ? H[1] : L[1]]);
          const y = m.network.evaluate(x, 1);
          for (let o = 0; o < 2; o++) {
            expect(y[o]).toBeGreaterThanOrEqual(lb.lo[o]);
            expect(y[o]).toBeLessThanOrEqual(lb.hi[o]);
          }
        }
      }
    });
  }
  it('are tighter than intervals on average (mean width ratio < 0.8)', () => {
    expect(ratioN).toBeGreaterThan(0);
    expect(ratioSum / ratioN).toBeLessThan(0.8);
  });

  it('are exact on a linear net (up to rounding), where intervals are not', () => {
    const m = net('identity', 3);
    const p = buildProblem(m, { want: { y1: 0 }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } });
    const L = new Float64Array([-0.3, 0.1]),
      H = new Float64Array([0.5, 0.4]);
    const lb = linearBounds(p, L.slice(), H.slice(), 1);
    // exact range of an affine map over a box: evaluate the corners
    for (let o = 0; o < 2; o++) {
      const ys = [0, 1, 2, 3].map((s) => m.network.evaluate(new Float64Array([s & 1 ? H[0] : L[0], s & 2 ? H[1] : L[1]]), 1)[o]);
      const lo = Math.min(...ys),
        hi = Math.max(...ys);
      expect(Math.abs(lb.lo[o] - lo)).toBeLessThan(1e-12 * (1 + Math.abs(lo)));
      expect(Math.abs(lb.hi[o] - hi)).toBeLessThan(1e-12 * (1 + Math.abs(hi)));
    }
    const ib = m.network.bounds(L, H, 1);
    expect(ib.hi[0] - ib.lo[0]).toBeGreaterThan(1.5 * (lb.hi[0] - lb.lo[0]));
  });
});
