/**
 * The independent verifier's layer_norm rule (src/certify/proof/verifier.ts): its value and derivative
 * enclosures hold the engine's forward values and Jacobians (src/graph, a separate code path;
 * the engine's Jacobians are checked against central differences in onnx-layernorm.test.ts, and
 * here at points away from the flat region) at points sampled in random boxes of random
 * LayerNorm nets, they are tight on point boxes (so the rule is not a vacuous [−√(n−1), √(n−1)]),
 * and a tampered LayerNorm certificate is rejected.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { VerifierNet } from '../src/certify/proof/verifier.ts';
import { createModel, type Model } from '../src/model.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { samplePoints } from './util/checks.ts';
import { rng } from './util/rng.ts';

/** x (m) → [dense m→n] → layer_norm(ε) → [dense n→2]: the optional layers from `pre`/`post`. */
function lnNet(m: number, n: number, eps: number, pre: boolean, post: boolean, w: number[]): Model {
  let p = 0;
  const take = (k: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < k; i++) out.push(w[p++ % w.length]);
    return out;
  };
  const nodes: NodeDef[] = [];
  let last = 'x';
  if (pre) {
    nodes.push({ name: 'h', op: { type: 'dense', units: n, weight: take(m * n), bias: take(n) }, inputs: ['x'] });
    last = 'h';
  }
  nodes.push({ name: 'z', op: { type: 'layer_norm', epsilon: eps }, inputs: [last] });
  last = 'z';
  if (post) {
    nodes.push({ name: 'y', op: { type: 'dense', units: 2, weight: take(n * 2), bias: take(2) }, inputs: ['z'] });
    last = 'y';
  }
  return createModel({ inputs: [{ name: 'x', width: pre ? m : n }], nodes, outputs: [{ node: last, name: 'y' }] });
}

describe('verifier: layer_norm rule', () => {
  it('property: value and derivative enclosures hold the engine’s values and Jacobians at sampled points', () => {
    const r = rng(7);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(1e-9, 1e-5, 1e-3, 1),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 40, maxLength: 40 }),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 6, maxLength: 6 }),
        fc.constantFrom(0, 1e-9, 1e-4, 0.05, 0.5, 3, 30),
        (m, n, eps, pre, post, w, centre, rad) => {
          const model = lnNet(m, n, eps, pre, post, w);
          const nIn = pre ? m : n;
          const lo = centre.slice(0, nIn).map((c) => c - rad),
            hi = centre.slice(0, nIn).map((c) => c + rad);
          const v = new VerifierNet(model.graph);
          const nOut = v.nOut;
          const bl = new Float64Array(nOut),
            bh = new Float64Array(nOut),
            yl = new Float64Array(nOut),
            yh = new Float64Array(nOut),
            jl = new Float64Array(nOut * nIn),
            jh = new Float64Array(nOut * nIn);
          v.bounds(lo, hi, bl, bh);
          v.jvp(lo, hi, Int32Array.from({ length: nIn }, (_, i) => i), yl, yh, jl, jh);
          for (let i = 0; i < nOut; i++) {
            expect(Number.isNaN(bl[i]) || Number.isNaN(bh[i]) || Number.isNaN(yl[i]) || Number.isNaN(yh[i])).toBe(false);
            // a layer_norm output (no dense after it) is within √(n − 1)
            if (!post) {
              expect(bl[i]).toBeGreaterThanOrEqual(-Math.sqrt(Math.max(n - 1, 0)) * (1 + 1e-12));
              expect(bh[i]).toBeLessThanOrEqual(Math.sqrt(Math.max(n - 1, 0)) * (1 + 1e-12));
            }
          }
          for (const x of samplePoints(lo, hi, 10, r)) {
            const { J, Y } = model.network.jacobian(x, 1);
            for (let i = 0; i < nOut; i++) {
              expect(Y[i]).toBeGreaterThanOrEqual(bl[i]);
              expect(Y[i]).toBeLessThanOrEqual(bh[i]);
              expect(Y[i]).toBeGreaterThanOrEqual(yl[i]);
              expect(Y[i]).toBeLessThanOrEqual(yh[i]);
              for (let k = 0; k < nIn; k++) {
                const q = i * nIn + k;
                // the engine's derivative has its own rounding: allow 1e-9 relative
                const tol = 1e-9 * Math.abs(J[q]) + 1e-300;
                expect(J[q] + tol, `∂y${i}/∂x${k}`).toBeGreaterThanOrEqual(jl[q]);
                expect(J[q] - tol, `∂y${i}/∂x${k}`).toBeLessThanOrEqual(jh[q]);
              }
            }
          }
        },
      ),
      { seed: 20261204, numRuns: 400 },
    );
  });

  it('the derivative enclosure on a small box holds central differences of the engine’s forward pass (ε = 1e-3)', () => {
    const r = rng(8);
    for (let t = 0; t < 40; t++) {
      const n = 2 + r.int(5);
      const model = lnNet(2, n, 1e-3, false, true, r.vector(40, -2, 2));
      const c = r.vector(n, -3, 3);
      const lo = c.map((v) => v - 1e-3),
        hi = c.map((v) => v + 1e-3);
      const v = new VerifierNet(model.graph);
      const yl = new Float64Array(2),
        yh = new Float64Array(2),
        jl = new Float64Array(2 * n),
        jh = new Float64Array(2 * n);
      v.jvp(lo, hi, Int32Array.from({ length: n }, (_, i) => i), yl, yh, jl, jh);
      const h = 1e-6;
      for (let k = 0; k < n; k++) {
        const xp = Float64Array.from(c),
          xm = Float64Array.from(c);
        xp[k] += h;
        xm[k] -= h;
        const yp = model.network.evaluate(xp, 1),
          ym = model.network.evaluate(xm, 1);
        for (let i = 0; i < 2; i++) {
          const fd = (yp[i] - ym[i]) / (2 * h);
          // central-difference error O(h²·f''') + rounding O(u/h): 1e-6 is ample here
          expect(fd + 1e-6).toBeGreaterThanOrEqual(jl[i * n + k]);
          expect(fd - 1e-6).toBeLessThanOrEqual(jh[i * n + k]);
        }
      }
    }
  });

  it('point boxes give tight enclosures (values and derivatives within 1e-9 of the engine’s)', () => {
    const r = rng(9);
    for (let t = 0; t < 60; t++) {
      const n = 2 + r.int(6);
      const eps = r.pick([1e-5, 1e-3, 1]);
      const model = lnNet(3, n, eps, true, false, r.vector(40, -3, 3));
      const x = r.vector(3, -4, 4);
      const v = new VerifierNet(model.graph);
      const yl = new Float64Array(n),
        yh = new Float64Array(n),
        jl = new Float64Array(n * 3),
        jh = new Float64Array(n * 3);
      v.jvp(x, x, Int32Array.from([0, 1, 2]), yl, yh, jl, jh);
      const { J, Y } = model.network.jacobian(Float64Array.from(x), 1);
      for (let i = 0; i < n; i++) {
        expect(yh[i] - yl[i]).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(Y[i])));
        for (let k = 0; k < 3; k++) expect(jh[i * 3 + k] - jl[i * 3 + k]).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(J[i * 3 + k])) / Math.sqrt(eps));
      }
    }
  });

  it('width 1: z ≡ 0 and its derivative is 0, even on an unbounded box', () => {
    const model = lnNet(1, 1, 1e-5, false, false, [1]);
    const v = new VerifierNet(model.graph);
    const yl = new Float64Array(1),
      yh = new Float64Array(1),
      jl = new Float64Array(1),
      jh = new Float64Array(1);
    v.jvp([-Infinity], [Infinity], Int32Array.of(0), yl, yh, jl, jh);
    expect([yl[0], yh[0], jl[0], jh[0]]).toEqual([0, 0, 0, 0]);
    expect(model.network.evaluate(Float64Array.of(3.7), 1)[0]).toBe(0);
  });

  it('huge and unbounded boxes: enclosures stay NaN-free and within √(n − 1)', () => {
    const model = lnNet(2, 4, 1e-9, false, false, [1]);
    const v = new VerifierNet(model.graph);
    for (const [lo, hi] of [
      [[-1e300, -1e300, 1e300, 0], [1e300, 1e-300, 1e300, 5e-324]],
      [[-Infinity, 0, 0, 0], [Infinity, 0, 0, 0]],
      [[1e200, -1e200, 0, 0], [1e200, -1e200, 0, 0]],
      [[5e-324, 0, 0, 0], [5e-324, 0, 0, 0]],
    ]) {
      const yl = new Float64Array(4),
        yh = new Float64Array(4),
        jl = new Float64Array(16),
        jh = new Float64Array(16);
      v.jvp(lo, hi, Int32Array.from([0, 1, 2, 3]), yl, yh, jl, jh);
      const isPoint = lo.every((l, i) => l === hi[i]);
      const Y = isPoint ? model.network.evaluate(Float64Array.from(lo), 1) : null;
      for (let i = 0; i < 4; i++) {
        expect(yl[i]).toBeGreaterThanOrEqual(-Math.sqrt(3) * (1 + 1e-12));
        expect(yh[i]).toBeLessThanOrEqual(Math.sqrt(3) * (1 + 1e-12));
        expect(yl[i] <= yh[i]).toBe(true);
        if (Y) {
          expect(Y[i]).toBeGreaterThanOrEqual(yl[i]);
          expect(Y[i]).toBeLessThanOrEqual(yh[i]);
        }
        for (let k = 0; k < 4; k++) expect(jl[i * 4 + k] <= jh[i * 4 + k]).toBe(true);
      }
    }
  });

  it('certify proves an output beyond the LayerNorm range infeasible; the certificate verifies independently, and a tampered one (a box dropped) is rejected', () => {
    // y = Σ w_i z_i + b with |z_i| ≤ √(n−1): ask for more than |b| + √(n−1)·Σ|w|
    const n = 4;
    const w = [0.9, -1.3, 0.4, 2.1, 0.7, -0.2, 1.1, 0.5];
    const model = createModel({
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: n, weight: [0.5, -1, 0.3, 1.2, -0.7, 0.4, 0.9, -0.2, 1.5, 0.1, -0.6, 0.8], bias: [0.1, 0, -0.2, 0.3] }, inputs: ['x'] },
        { name: 'z', op: { type: 'layer_norm', epsilon: 1e-5 }, inputs: ['h'] },
        { name: 'y', op: { type: 'dense', units: 2, weight: w, bias: [0.25, -0.5] }, inputs: ['z'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    });
    let bound = 0.25;
    for (let i = 0; i < n; i++) bound += Math.sqrt(n - 1) * Math.abs(w[i * 2]);
    const [o0] = model.network.outputNames;
    const res = certify(model, { want: { [o0]: 1.01 * bound }, bounds: Object.fromEntries(model.network.inputNames.map((nm) => [nm, [-4, 4] as [number, number]])) }, { maxBoxes: 4000 });
    expect(res.status).toBe('infeasible');
    const cert = res.certificate!;
    const ok = verifyCertificate(model, cert);
    expect(ok.valid, ok.reason).toBe(true);
    expect(ok.independent).toBe(true);
    // drop a box: the rest no longer covers the query box
    const bad = JSON.parse(JSON.stringify(cert)) as Certificate & { excluded: unknown[] };
    expect(bad.excluded.length).toBeGreaterThan(0);
    bad.excluded.splice(bad.excluded.length >> 1, 1);
    expect(verifyCertificate(model, bad).valid).toBe(false);
    // a box claimed infeasible for a target the net attains there is rejected too
    const x0 = Float64Array.of(0.3, -0.2, 0.5);
    const y0 = model.network.evaluate(x0, 1)[0];
    const forged = JSON.parse(JSON.stringify(cert)) as Certificate;
    forged.query.targets = forged.query.targets.map((t) => ({ ...t, lo: y0, hi: y0 }));
    expect(verifyCertificate(model, forged).valid).toBe(false);
  });
});
