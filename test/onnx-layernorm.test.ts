/**
 * LayerNorm from PyTorch (test/fixtures/onnx/layernorm_opset14|17.onnx, made by
 * scripts/fixtures/make_onnx_layernorm_lstm.py): the decomposed pattern (opset 14) and
 * LayerNormalization (opset 17) map to the same exact ops, so
 * - both files give the same function (and the outputs torch saved; onnx.test.ts adds
 *   onnxruntime-web);
 * - the layer itself matches the textbook formula computed here by hand;
 * - sound bounds: fast-check boxes, with every sampled point's value and Jacobian inside the
 *   engine's bounds;
 * - Jacobians (forward and reverse) agree with central differences;
 * - a solve reaches a target the net attains, and an unreachable target is proven infeasible
 *   with a certificate the independent verifier accepts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { network } from '../src/graph/network.ts';
import { invert } from '../src/api/invert.ts';
import { buildModel, floatTensor, node, valueInfo } from './onnx-builder.ts';
import { checkBoxContainment, checkJacobians } from './util/checks.ts';
import { expectAllClose } from './util/expect.ts';
import { rng } from './util/rng.ts';

const OWN = join(__dirname, 'fixtures', 'onnx');
const load = (name: string) => loadOnnxModel(new Uint8Array(readFileSync(join(OWN, `${name}.onnx`))), { file: `${name}.onnx` });
const m14 = load('layernorm_opset14');
const m17 = load('layernorm_opset17');
const SEED = 20261204;

describe('LayerNorm (torch, opset 14 pattern and opset 17 LayerNormalization)', () => {
  it('both exports compute the same function, and the outputs torch saved', () => {
    const r = rng(1);
    const X = Float64Array.from(r.vector(3 * 50, -4, 4));
    const a = m14.network.evaluate(X, 50);
    const b = Float64Array.from(m17.network.evaluate(X, 50));
    // same torch weights (seeded), same float64 ops: equal to rounding
    expectAllClose(a, b, (i) => 1e-12 * Math.max(1, Math.abs(b[i])), 'opset 14 vs opset 17');
    for (const name of ['layernorm_opset14', 'layernorm_opset17']) {
      const ref = JSON.parse(readFileSync(join(OWN, `${name}.json`), 'utf8')) as { inputs: { x: number[][] }; outputs: { y: number[][] } };
      const got = load(name).network.evaluate(Float64Array.from(ref.inputs.x.flat()), ref.inputs.x.length);
      const want = ref.outputs.y.flat();
      expectAllClose(got, want, (i) => 1e-5 * Math.abs(want[i]) + 1e-5, `${name} vs torch`);
    }
  });

  it('a LayerNormalization node alone equals the formula (x − μ)/√(σ² + ε)·γ + β computed by hand', () => {
    const g = [0.5, -1.5, 2, 1],
      be = [0.1, 0, -0.3, 2],
      eps = 1e-3;
    const bytes = buildModel({
      inputs: [valueInfo('x', ['N', 4])],
      outputs: [valueInfo('y', ['N', 4])],
      initializers: [floatTensor('g', [4], g), floatTensor('b', [4], be)],
      nodes: [node('LayerNormalization', ['x', 'g', 'b'], ['y'], { epsilon: { f: eps } })],
      opset: 17,
    });
    const m = loadOnnxModel(bytes, { file: 'ln.onnx' });
    const r = rng(2);
    for (let t = 0; t < 20; t++) {
      const x = r.vector(4, -5, 5);
      const mu = x.reduce((a, v) => a + v, 0) / 4;
      const v = x.reduce((a, xi) => a + (xi - mu) ** 2, 0) / 4;
      const epsF = Math.fround(eps); // the attribute is a float32
      const want = x.map((xi, i) => ((xi - mu) / Math.sqrt(v + epsF)) * Math.fround(g[i]) + Math.fround(be[i]));
      expectAllClose(m.network.evaluate(Float64Array.from(x), 1), want, 1e-12, `x = [${x}]`);
    }
  });

  it('bounds are sound: over random boxes, sampled values and Jacobians lie inside (fast-check)', () => {
    const r = rng(3);
    for (const m of [m14, m17]) {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: 3, maxLength: 3 }),
          fc.constantFrom(0, 1e-9, 1e-4, 0.05, 0.5, 2),
          (centre, rad) => {
            const lo = Float64Array.from(centre, (v) => v - rad);
            const hi = Float64Array.from(centre, (v) => v + rad);
            checkBoxContainment(m.network, lo, hi, 12, r, m.metadata.source?.version ?? '');
          },
        ),
        { seed: SEED, numRuns: 60 },
      );
    }
  });

  it('Jacobians (forward and reverse mode) agree with central differences', () => {
    const r = rng(4);
    for (const m of [m14, m17]) {
      const X = Float64Array.from(r.vector(3 * 8, -3, 3));
      checkJacobians(m.network, X, 8, { fdTol: 1e-6 });
    }
  });

  it('solve: a target the net attains is reached, and re-checked by a forward pass', () => {
    const x0 = Float64Array.of(0.7, -1.2, 0.4);
    const y0 = m17.network.evaluate(x0, 1);
    const [i0, i1, i2] = m17.network.inputNames;
    const [o0, o1] = m17.network.outputNames;
    const res = invert(m17, { given: { [i0]: x0[0] }, want: { [o0]: y0[0], [o1]: y0[1] }, bounds: { [i1]: [-3, 3], [i2]: [-3, 3] } });
    expect(res.status).toBe('solved');
    for (const s of res.solutions) {
      const y = m17.network.evaluate(Float64Array.from(m17.network.inputNames.map((n) => s.inputs[n])), 1);
      expect(Math.abs(y[0] - y0[0])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y0[0])));
      expect(Math.abs(y[1] - y0[1])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(y0[1])));
    }
  });

  it('certify: an output beyond what LayerNorm allows is proven infeasible, and the certificate verifies independently', () => {
    // after the second LayerNorm every feature has |z| ≤ √(n−1) = √3, so each output of the last
    // Linear is bounded by |b| + √3·Σ|w|; ask for 10 times the largest such bound
    const dense = m14.graph.nodes[m14.graph.nodes.length - 1].op as { weight: Float64Array; bias: Float64Array; units: number };
    let bound = 0;
    for (let o = 0; o < dense.units; o++) {
      let s = Math.abs(dense.bias[o]);
      for (let i = 0; i < dense.weight.length / dense.units; i++) s += Math.sqrt(3) * Math.abs(dense.weight[i * dense.units + o]);
      bound = Math.max(bound, s);
    }
    const [o0] = m14.network.outputNames;
    const bounds = Object.fromEntries(m14.network.inputNames.map((n) => [n, [-2, 2] as [number, number]]));
    const res = certify(m14, { want: { [o0]: 10 * bound }, bounds }, { maxBoxes: 2000 });
    expect(res.status).toBe('infeasible');
    const v = verifyCertificate(m14, res.certificate!);
    expect(v.valid, v.reason).toBe(true);
    expect(v.independent).toBe(true);
  });

  it('the layer_norm op alone, widths 1 to 7 and ε from 1e-9 to 1: sound bounds over random boxes (fast-check), Jacobians vs finite differences', () => {
    const r = rng(5);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom(1e-9, 1e-5, 1e-3, 1),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 7, maxLength: 7 }),
        fc.constantFrom(0, 1e-6, 0.01, 0.3, 3, 30),
        (n, eps, centre, rad) => {
          const net = network({
            inputs: [{ name: 'x', width: n }],
            nodes: [{ name: 'z', op: { type: 'layer_norm', epsilon: eps }, inputs: ['x'] }],
            outputs: [{ node: 'z' }],
          });
          const lo = Float64Array.from(centre.slice(0, n), (v) => v - rad);
          const hi = Float64Array.from(centre.slice(0, n), (v) => v + rad);
          checkBoxContainment(net, lo, hi, 10, r, `layer_norm n=${n} ε=${eps}`);
          // away from the flat region the derivative is well conditioned: compare with FD
          if (eps >= 1e-5) checkJacobians(net, Float64Array.from(centre.slice(0, n)), 1, { fdTol: 1e-5 });
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('the layer_norm op: a wide box stays within |z| ≤ √(n − 1), and a native JSON round trip keeps it bit for bit', () => {
    const def = {
      inputs: [{ name: 'x', width: 5 }],
      nodes: [{ name: 'z', op: { type: 'layer_norm' as const, epsilon: 1e-5 }, inputs: ['x'] }],
      outputs: [{ node: 'z' }],
    };
    const net = network(def);
    const b = net.bounds(new Float64Array(5).fill(-1e6), new Float64Array(5).fill(1e6), 1);
    for (let i = 0; i < 5; i++) {
      expect(b.lo[i]).toBeGreaterThanOrEqual(-2.0000001);
      expect(b.hi[i]).toBeLessThanOrEqual(2.0000001);
    }
    const text = saveNativeModel(m14);
    expect(text).toContain('"op": "layer_norm"');
    const back = loadNativeModel(text, 'ln.json');
    const X = Float64Array.from(rng(6).vector(3 * 10, -3, 3));
    expect(Array.from(back.network.evaluate(X, 10))).toEqual(Array.from(m14.network.evaluate(X, 10)));
    for (const e of [0, -1, NaN]) {
      expect(() => network({ ...def, nodes: [{ ...def.nodes[0], op: { type: 'layer_norm', epsilon: e } }] })).toThrow(/epsilon must be a finite number > 0/);
    }
  });
});
