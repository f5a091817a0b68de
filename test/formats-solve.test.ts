/**
 * End to end on genuine exported files: load with each importer, then invert. The oracle is
 * the model's own forward pass at a known point: solving back for some of its inputs must
 * reach its outputs (and, with one unknown, find that very input among the proven roots).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { loadKerasModel } from '../src/formats/keras/load.ts';
import { loadTfjsModel } from '../src/formats/tfjs/load.ts';
import { invert } from '../src/api/invert.ts';
import { certify } from '../src/api/certify.ts';
import { FLOAT32_FLOOR } from '../src/problem/query.ts';
import type { Model } from '../src/model.ts';

const F = 'test/fixtures/third-party';
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

const cases: [string, () => Model][] = [
  ['ONNX (PyTorch, tanh MLP 12→60×5→1)', () => loadOnnxModel(bytes(`${F}/onnx-torch/net_Calcite_ST.onnx`), { file: 'net_Calcite_ST.onnx' })],
  ['Keras 3 .keras (diabetes, relu 10→20→20→1)', () => loadKerasModel(bytes(`${F}/keras-v3/diabetes.keras`), { file: 'diabetes.keras' })],
  [
    'TF.js layers (abalone, sigmoid 8→50→50→1)',
    () => loadTfjsModel(readFileSync(`${F}/tfjs-layers/abalone-node-trainedModel/model.json`, 'utf8'), () => bytes(`${F}/tfjs-layers/abalone-node-trainedModel/weights.bin`), { file: 'model.json' }),
  ],
];

describe('solve on genuine exported models', () => {
  for (const [name, load] of cases) {
    it(`${name}: one unknown — every proven root, and the known input is among them`, () => {
      const model = load();
      const net = model.network;
      const x = Float64Array.from({ length: net.nIn }, (_, i) => 0.1 + 0.05 * Math.sin(i + 1));
      const y = net.evaluate(x, 1);
      const unknown = net.inputNames[net.nIn - 1];
      const given = Object.fromEntries(net.inputNames.slice(0, -1).map((nm, i) => [nm, x[i]]));
      const r = invert(model, { given, want: { [net.outputNames[0]]: y[0] }, bounds: { [unknown]: [-1, 1] } });
      expect(r.status).toBe('solved');
      expect(r.solutions.some((s) => Math.abs(s.unknowns[unknown] - x[net.nIn - 1]) < 1e-6)).toBe(true);
      for (const s of r.solutions) expect(Math.abs(s.outputs[net.outputNames[0]] - y[0])).toBeLessThanOrEqual(FLOAT32_FLOOR * (1 + Math.abs(y[0])));
      // float32 model: the tolerance floor is stated
      expect(r.query.tolerance.atol).toBeGreaterThanOrEqual(FLOAT32_FLOOR);
    });

    it(`${name}: two unknowns — solutions reach the target`, () => {
      const model = load();
      const net = model.network;
      const x = Float64Array.from({ length: net.nIn }, (_, i) => 0.2 - 0.03 * i);
      const y = net.evaluate(x, 1);
      const given = Object.fromEntries(net.inputNames.slice(0, -2).map((nm, i) => [nm, x[i]]));
      const bounds = Object.fromEntries(net.inputNames.slice(-2).map((nm) => [nm, [-1, 1] as [number, number]]));
      const r = invert(model, { given, want: { [net.outputNames[0]]: y[0] }, bounds }, { maxEvaluations: 50_000 });
      expect(r.status).toBe('solved');
      for (const s of r.solutions) {
        const xs = Float64Array.from(net.inputNames.map((nm) => s.inputs[nm]));
        expect(Math.abs(net.evaluate(xs, 1)[0] - y[0])).toBeLessThanOrEqual(FLOAT32_FLOOR * (1 + Math.abs(y[0])) + 1e-12);
      }
    });
  }

  it('many unknowns: 784 pixels of a genuine MNIST classifier reach an exact logit, inside [0, 1]', () => {
    const model = loadOnnxModel(bytes(`${F}/onnx-tf2onnx/mnist_model.onnx`), { file: 'mnist_model.onnx' });
    const net = model.network;
    const bounds = Object.fromEntries(net.inputNames.map((nm) => [nm, [0, 1] as [number, number]]));
    const out = net.outputNames[3];
    const r = invert(model, { want: { [out]: 20 }, bounds }, { maxEvaluations: 5000 });
    expect(r.status).toBe('solved');
    expect(r.solutionSet.kind).toBe('continuum');
    for (const s of r.solutions) {
      const x = Float64Array.from(net.inputNames.map((nm) => s.inputs[nm]));
      for (const v of x) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(Math.abs(net.evaluate(x, 1)[3] - 20)).toBeLessThanOrEqual(FLOAT32_FLOOR * 21);
    }
  });

  it('a tolerance below the float32 floor is raised, with a warning', () => {
    const model = cases[1][1]();
    const r = invert(model, { given: {}, want: { [model.network.outputNames[0]]: 150 } }, { atol: 1e-12, rtol: 0, maxEvaluations: 20_000 });
    expect(r.query.tolerance).toEqual({ atol: FLOAT32_FLOOR, rtol: FLOAT32_FLOOR, float32Floor: FLOAT32_FLOOR });
    expect(r.warnings.join(' ')).toMatch(/float32/);
  });

  it('certify on a genuine Keras ReLU model proves an unreachable target infeasible', () => {
    const model = loadKerasModel(bytes(`${F}/keras-v3/keras_linear_131_relu.keras`), { file: 'k.keras' });
    const out = model.network.outputNames[0];
    // the grid maximum over [−1, 1] bounds what is reachable
    let mx = -Infinity;
    for (let i = 0; i <= 2000; i++) mx = Math.max(mx, model.network.evaluate(new Float64Array([-1 + i / 1000]), 1)[0]);
    const r = certify(model, { want: { [out]: mx + 0.5 }, bounds: { [model.network.inputNames[0]]: [-1, 1] } });
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
  });
});
