/**
 * alpha-CROWN slopes of the final back-substitution on ReLU chains (bounds/reluChain.ts:
 * ChainBounder.alphaBound / optimiseAlpha).
 *
 * Oracles: central finite differences of the bound itself for its gradient (where the one-sided
 * differences agree, i.e. the sign pattern is stable); float64 forward passes of the network at
 * the box's corners and uniform samples for soundness (the bound, and its linear form, never above
 * a sampled value); CROWN's own bound from bound() for the start of the optimisation; on ACAS Xu
 * (VnnBounder's alpha option) the default bounds and float64 forward passes at sampled points.
 * Also ChainBounder.bound itself (forward symbolic step as matrix products, batched refinement,
 * cheap mode): every layer's values at sampled points (a plain layer-by-layer float64 evaluation)
 * inside its intermediate bounds, the forms' bounds below the sampled forms.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formValues, VnnBounder } from '../src/certify/vnn/bounds.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import { ChainBounder, reluChainOf, type ReluChain } from '../src/certify/bounds/reluChain.ts';
import type { GraphDef, NodeDef } from '../src/graph/types.ts';
import type { Network } from '../src/graph/network.ts';
import { createModel } from '../src/model.ts';
import { denseNode } from './util/nets.ts';
import { rng, type Rng } from './util/rng.ts';

interface Case {
  net: Network;
  chain: ReluChain;
  nIn: number;
  nOut: number;
  m: number;
  C: Float64Array;
  c: Float64Array;
  L: Float64Array;
  H: Float64Array;
}

/** A random affine → (dense → relu)×2..3 → dense chain, m random forms and a random box. */
function randomCase(r: Rng): Case {
  const nIn = 1 + r.int(4),
    nOut = 1 + r.int(3),
    depth = 2 + r.int(2);
  const nodes: NodeDef[] = [{ name: 'n0', op: { type: 'affine', scale: r.vector(nIn, -2, 2), shift: r.vector(nIn, -1, 1) }, inputs: ['x'] }];
  let prev = 'n0',
    w = nIn;
  for (let k = 1; k <= depth; k++) {
    const h = 2 + r.int(8);
    nodes.push(denseNode(`d${k}`, prev, w, h, r), { name: `a${k}`, op: { type: 'unary', fn: 'relu' }, inputs: [`d${k}`] });
    prev = `a${k}`;
    w = h;
  }
  nodes.push(denseNode('out', prev, w, nOut, r));
  const graph: GraphDef = { inputs: [{ name: 'x', width: nIn }], nodes, outputs: [{ node: 'out' }] };
  const net = createModel(graph).network;
  const chain = reluChainOf(net);
  expect(chain).not.toBeNull();
  const m = 1 + r.int(3);
  const L = Float64Array.from(r.vector(nIn, -1, 0.5));
  const H = Float64Array.from(L, (v) => v + r.uniform(0.1, 1.5));
  return { net, chain: chain!, nIn, nOut, m, C: Float64Array.from(r.vector(m * nOut, -1, 1)), c: Float64Array.from(r.vector(m, -1, 1)), L, H };
}

/**
 * Two rows of boxes, the case's box and a random box inside it, bounded by a fresh ChainBounder:
 * the first alone, then both with the first's state as the second's parent (`cheap` on that call).
 */
function parentAndChild(r: Rng, k: Case, cheap = false): { L: Float64Array; H: Float64Array; b: ChainBounder; st: (Float64Array | null)[] } {
  const L = new Float64Array(2 * k.nIn),
    H = new Float64Array(2 * k.nIn);
  L.set(k.L);
  H.set(k.H);
  for (let j = 0; j < k.nIn; j++) {
    L[k.nIn + j] = k.L[j] + (k.H[j] - k.L[j]) * r.uniform(0, 0.5);
    H[k.nIn + j] = L[k.nIn + j] + (k.H[j] - L[k.nIn + j]) * r.uniform(0.05, 1);
  }
  const b = new ChainBounder(k.chain, k.C, k.c, 2);
  const ps: (Float64Array | null)[] = [null];
  b.bound(L, H, 1, undefined, ps);
  const st: (Float64Array | null)[] = [null, null];
  b.bound(L, H, 2, [null, ps[0]], st, cheap);
  return { L, H, b, st };
}

/** N points of the box: its 2^nIn corners first, then uniform ones. */
function samples(r: Rng, L: Float64Array, H: Float64Array, N: number): Float64Array {
  const d = L.length;
  const X = new Float64Array(N * d);
  for (let p = 0; p < N; p++)
    for (let j = 0; j < d; j++) {
      const u = p < 2 ** d ? (p >> j) & 1 : r.next();
      X[p * d + j] = L[j] + (H[j] - L[j]) * u;
    }
  return X;
}

const formAt = (k: Case, q: number, Y: Float64Array, p: number): number => {
  let v = k.c[q];
  for (let j = 0; j < k.nOut; j++) v += k.C[q * k.nOut + j] * Y[p * k.nOut + j];
  return v;
};

/** Every layer's output of the chain at point x (float64, layer by layer): the oracle of the intermediate bounds. */
function chainValues(chain: ReluChain, x: ArrayLike<number>): Float64Array[] {
  let a = Float64Array.from(x);
  const out: Float64Array[] = [];
  for (const ly of chain.layers) {
    if (ly.kind === 'dense') {
      const z = new Float64Array(ly.nOut);
      for (let o = 0; o < ly.nOut; o++) {
        let s = ly.b[o];
        for (let i = 0; i < ly.nIn; i++) s += ly.W[o * ly.nIn + i] * a[i];
        z[o] = s;
      }
      a = z;
    } else if (ly.kind === 'relu') a = a.map((v) => (v > 0 ? v : 0));
    else a = a.map((v, i) => ly.s[i] * v + ly.t[i]);
    out.push(a);
  }
  return out;
}

describe('ChainBounder.bound (forward symbolic step as matrix products, batched refinement, cheap mode)', () => {
  it('every intermediate bound holds the layer values at sampled points, and every form bound is below the sampled forms (full and cheap, a child with its parent state)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.boolean(), (seed, cheap) => {
        const r = rng(seed);
        const k = randomCase(r);
        const { L, H, b, st } = parentAndChild(r, k, cheap);
        for (let row = 0; row < 2; row++) {
          const N = 100;
          const X = samples(r, L.subarray(row * k.nIn, (row + 1) * k.nIn), H.subarray(row * k.nIn, (row + 1) * k.nIn), N);
          const state = st[row]!;
          for (let p = 0; p < N; p++) {
            const vals = chainValues(k.chain, X.subarray(p * k.nIn, (p + 1) * k.nIn));
            let at = 0;
            for (const v of vals) {
              for (let i = 0; i < v.length; i++) {
                expect(state[at + i]).toBeLessThanOrEqual(v[i]);
                expect(state[at + v.length + i]).toBeGreaterThanOrEqual(v[i]);
              }
              at += 2 * v.length;
            }
            const y = vals[vals.length - 1];
            for (let q = 0; q < k.m; q++) {
              let f = k.c[q];
              for (let j = 0; j < k.nOut; j++) f += k.C[q * k.nOut + j] * y[j];
              expect(b.lo[row * k.m + q]).toBeLessThanOrEqual(f);
            }
            for (let j = 0; j < k.nOut; j++) {
              expect(b.yLo[row * k.nOut + j]).toBeLessThanOrEqual(y[j]);
              expect(b.yHi[row * k.nOut + j]).toBeGreaterThanOrEqual(y[j]);
            }
          }
        }
      }),
      { numRuns: 60, seed: 4242 },
    );
  });

  it('refinement tightens: with it, intermediate bounds are tighter than the forward symbolic ones far more often than looser (a refined bound can flip a later relaxation)', () => {
    let tighter = 0,
      looser = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const k = randomCase(rng(seed));
      const b = new ChainBounder(k.chain, k.C, k.c, 1);
      const full: (Float64Array | null)[] = [null],
        cheap: (Float64Array | null)[] = [null];
      b.bound(k.L, k.H, 1, undefined, full);
      b.bound(k.L, k.H, 1, undefined, cheap, true);
      let at = 0;
      for (const ly of k.chain.layers) {
        const n = ly.kind === 'dense' ? ly.nOut : ly.n;
        for (let i = 0; i < n; i++) {
          const wf = full[0]![at + n + i] - full[0]![at + i],
            wc = cheap[0]![at + n + i] - cheap[0]![at + i];
          if (wf < wc) tighter++;
          else if (wf > wc) looser++;
        }
        at += 2 * n;
      }
    }
    expect(tighter).toBeGreaterThan(10 * looser);
  });
});

describe('alpha-CROWN (ChainBounder.alphaBound / optimiseAlpha)', () => {
  it('the gradient dB/dα = λ·ẑ(x*) matches central finite differences where the sign pattern is stable', () => {
    let checked = 0,
      tried = 0,
      nonzero = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const k = randomCase(r);
      const b = new ChainBounder(k.chain, k.C, k.c, 1);
      b.bound(k.L, k.H, 1);
      for (let q = 0; q < k.m; q++) {
        const alpha = Float64Array.from(r.vector(b.nRelu, 0.1, 0.9));
        const grad = new Float64Array(b.nRelu);
        const B0 = b.alphaBound(k.L, k.H, 0, q, alpha, null, grad);
        const h = 1e-5;
        for (let i = 0; i < b.nRelu; i++) {
          const a = alpha.slice();
          a[i] = alpha[i] + h;
          const Bp = b.alphaBound(k.L, k.H, 0, q, a, null);
          a[i] = alpha[i] - h;
          const Bm = b.alphaBound(k.L, k.H, 0, q, a, null);
          const fwd = (Bp - B0) / h,
            bwd = (B0 - Bm) / h;
          tried++;
          const scale = 1 + Math.abs(fwd) + Math.abs(bwd);
          if (Math.abs(fwd - bwd) > 1e-6 * scale) continue; // a kink of B at α: no derivative to compare
          checked++;
          if (Math.abs(grad[i]) > 1e-3) nonzero++;
          expect(Math.abs((Bp - Bm) / (2 * h) - grad[i])).toBeLessThanOrEqual(1e-6 * scale);
        }
      }
    }
    expect(checked).toBeGreaterThan(0.9 * tried);
    expect(nonzero).toBeGreaterThan(50);
  });

  it('a bound with any slopes in [0, 1] (and its linear form) never exceeds the form at sampled points of the box', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
        const r = rng(seed);
        const k = randomCase(r);
        // two rows: the second is a child of the first bounded with the first's state
        const { L, H, b, st } = parentAndChild(r, k);
        for (let row = 0; row < 2; row++) {
          const N = 300;
          const bl = L.subarray(row * k.nIn, (row + 1) * k.nIn),
            bh = H.subarray(row * k.nIn, (row + 1) * k.nIn);
          const X = samples(r, bl, bh, N);
          const Y = k.net.evaluate(X, N);
          for (let q = 0; q < k.m; q++) {
            let min = Infinity;
            for (let p = 0; p < N; p++) min = Math.min(min, formAt(k, q, Y, p));
            for (let t = 0; t < 4; t++) {
              const alpha = Float64Array.from({ length: b.nRelu }, () => (t === 0 ? r.int(2) : r.next()));
              expect(b.alphaBound(L, H, row, q, alpha, st[row])).toBeLessThanOrEqual(min);
            }
            const opt = b.optimiseAlpha(L, H, row, q, st[row], { steps: 10 });
            expect(opt.lo).toBeLessThanOrEqual(min);
            for (const a of opt.alpha) expect(a >= 0 && a <= 1).toBe(true);
            for (let p = 0; p < N; p++) {
              let lin = opt.lc;
              for (let j = 0; j < k.nIn; j++) lin += opt.lam[j] * X[p * k.nIn + j];
              expect(lin).toBeLessThanOrEqual(formAt(k, q, Y, p) + 1e-12 * (1 + Math.abs(lin)));
            }
          }
        }
      }),
      { numRuns: 150, seed: 777 },
    );
  });

  it('the optimised bound starts at CROWN’s own (the same bound and linear form as bound()) and never ends below it', () => {
    let better = 0,
      total = 0;
    for (let seed = 100; seed < 160; seed++) {
      const r = rng(seed);
      const k = randomCase(r);
      // two boxes bounded in one call: row 0's bounds come back from its saved state
      const L = new Float64Array(2 * k.nIn),
        H = new Float64Array(2 * k.nIn);
      L.set(k.L);
      H.set(k.H);
      for (let j = 0; j < k.nIn; j++) {
        L[k.nIn + j] = k.L[j] - 0.3;
        H[k.nIn + j] = k.H[j] + 0.2;
      }
      const b = new ChainBounder(k.chain, k.C, k.c, 2);
      const states: (Float64Array | null)[] = [null, null];
      b.bound(L, H, 2, undefined, states);
      for (let row = 0; row < 2; row++)
        for (let q = 0; q < k.m; q++) {
          const at = row * k.m + q;
          const s0 = b.optimiseAlpha(L, H, row, q, states[row], { steps: 0 });
          expect(s0.lo).toBe(s0.start);
          expect(s0.lc).toBe(b.lc[at]);
          expect(Array.from(s0.lam)).toEqual(Array.from(b.lam.subarray(at * k.nIn, (at + 1) * k.nIn)));
          expect(s0.start).toBeLessThanOrEqual(b.lo[at]);
          const opt = b.optimiseAlpha(L, H, row, q, states[row], { steps: 20 });
          expect(opt.start).toBe(s0.start);
          expect(opt.lo).toBeGreaterThanOrEqual(opt.start);
          // the result is the bound its own slopes give
          expect(b.alphaBound(L, H, row, q, opt.alpha, states[row])).toBe(opt.lo);
          // from given slopes (a warm start) too: never below CROWN's, nor below the start's own bound
          const init = Float64Array.from(r.vector(b.nRelu, -0.2, 1.2));
          const clipped = init.map((v) => Math.min(1, Math.max(0, v)));
          const warm = b.optimiseAlpha(L, H, row, q, states[row], { steps: 4 }, Infinity, init);
          expect(warm.start).toBe(s0.start);
          expect(warm.lo).toBeGreaterThanOrEqual(Math.max(s0.start, b.alphaBound(L, H, row, q, clipped, states[row])));
          expect(b.alphaBound(L, H, row, q, warm.alpha, states[row])).toBe(warm.lo);
          total++;
          if (opt.lo > opt.start + 1e-9 * (1 + Math.abs(opt.start))) better++;
        }
    }
    // the slopes matter on a good share of random boxes
    expect(better).toBeGreaterThan(total / 10);
  });

  it('VnnBounder with the alpha option (ACAS Xu 1_1, property 5): bounds never below the default ones, never above sampled form values', () => {
    const A = join(__dirname, 'fixtures', 'third-party', 'acasxu');
    const model = loadOnnxModel(new Uint8Array(readFileSync(join(A, 'onnx', 'ACASXU_run2a_1_1_batch_2000.onnx'))));
    const spec = parseVnnlib(readFileSync(join(A, 'prop_5.vnnlib'), 'utf8'), 'prop_5.vnnlib');
    const off = new VnnBounder(model, spec, true);
    const on = new VnnBounder(model, spec, true, { steps: 8, learningRate: 0.5 });
    const r = rng(5);
    const box = spec.inputBoxes[0];
    const d = box.lo.length,
      rows = 24;
    // sub-boxes of 1/8 .. 1/2 of the property's box per input
    const L = new Float64Array(rows * d),
      H = new Float64Array(rows * d);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < d; j++) {
        const w = (box.hi[j] - box.lo[j]) * r.uniform(0.125, 0.5);
        L[i * d + j] = box.lo[j] + (box.hi[j] - box.lo[j] - w) * r.next();
        H[i * d + j] = L[i * d + j] + w;
      }
    const a = off.bound(L, H, rows),
      b = on.bound(L, H, rows);
    // warm starts: the property's box first (its states carry the slopes), then the sub-boxes as its children
    const warmOn = new VnnBounder(model, spec, true, { steps: 4, learningRate: 0.5, warm: true });
    const rootSt: (Float64Array | null)[] = [null];
    warmOn.bound(Float64Array.from(box.lo), Float64Array.from(box.hi), 1, undefined, rootSt);
    const offSt: (Float64Array | null)[] = [null];
    off.bound(Float64Array.from(box.lo), Float64Array.from(box.hi), 1, undefined, offSt);
    expect(rootSt[0]!.length).toBeGreaterThan(offSt[0]!.length); // the slopes were kept after the intermediate bounds
    const parents = new Array<Float64Array | null>(rows).fill(rootSt[0]);
    const aw = off.bound(L, H, rows, parents),
      w = warmOn.bound(L, H, rows, parents);
    for (let i = 0; i < rows * on.forms.m; i++) expect(w.lo[i]).toBeGreaterThanOrEqual(aw.lo[i]);
    const f = on.forms,
      m = f.m;
    for (let i = 0; i < rows * m; i++) expect(b.lo[i]).toBeGreaterThanOrEqual(a.lo[i]);
    expect(on.alphaStats.improved).toBeGreaterThan(0);
    expect(b.lo.some((v, i) => v > a.lo[i] + 1e-6)).toBe(true);
    const N = 200;
    for (let i = 0; i < rows; i++) {
      const X = samples(r, L.subarray(i * d, (i + 1) * d), H.subarray(i * d, (i + 1) * d), N);
      const Y = model.network.evaluate(X, N);
      const G = new Float64Array(N * m),
        S = new Float64Array(N * m);
      formValues(f, Y, N, G, S);
      for (let p = 0; p < N; p++)
        for (let q = 0; q < m; q++) {
          expect(b.lo[i * m + q]).toBeLessThanOrEqual(G[p * m + q] + S[p * m + q]);
          expect(w.lo[i * m + q]).toBeLessThanOrEqual(G[p * m + q] + S[p * m + q]);
        }
    }
  });
});
