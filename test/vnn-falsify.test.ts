/**
 * Counterexample search of decideVnnlib where the net is flat: falsify's face points, and the
 * search's candidates at the vertices that minimise an open box's clause relaxations.
 *
 * Oracles: the published VNN-COMP 2021 answer (nnenum, vendored) for ACAS Xu 1_9 property 7; a
 * plain forward pass over the graph's dense / ReLU nodes written here (not the compiled network);
 * and a hand-built ReLU net whose unsafe set is known in closed form.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideVnnlib, falsify, innerHi, innerLo } from '../src/certify/vnn/decide.ts';
import { specForms } from '../src/certify/vnn/bounds.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { VnnlibSpec } from '../src/formats/vnnlib/types.ts';
import { createModel, type Model } from '../src/model.ts';
import type { GraphDef } from '../src/graph/types.ts';

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');

/** y by hand from the graph: dense (x·W + b, W row-major inWidth × units), relu, and x − 0 (the ONNX input Sub). */
function plainForward(model: Model, x: readonly number[]): number[] {
  let v = x.slice();
  for (const n of model.graph.nodes) {
    const op = n.op;
    if (op.type === 'dense') {
      const W = op.weight,
        b = op.bias;
      const out: number[] = [];
      for (let j = 0; j < op.units; j++) {
        let s = b ? b[j] : 0;
        for (let i = 0; i < v.length; i++) s += v[i] * W[i * op.units + j];
        out.push(s);
      }
      v = out;
    } else if (op.type === 'unary' && op.fn === 'relu') v = v.map((t) => Math.max(t, 0));
    else if (op.type === 'binary_const' && op.fn === 'sub' && !op.constantFirst && Array.from(op.constant as ArrayLike<number>).every((c) => c === 0)) continue;
    else throw new Error(`plainForward: unexpected node ${n.name}`);
  }
  return v;
}

/** Some clause's constraints all hold at y (strictly by the stated relation, no allowance). */
function unsafe(spec: VnnlibSpec, y: readonly number[]): boolean {
  return spec.outputDnf.some((clause) =>
    clause.every((k) => {
      let s = k.constant;
      for (let j = 0; j < y.length; j++) s += k.coeffs[j] * y[j];
      return k.relation === '<=' ? s <= 0 : k.relation === '>=' ? s >= 0 : s === 0;
    }),
  );
}

describe('falsification where the net is flat', () => {
  it('ACAS Xu 1_9, property 7 (published: violated): the first round of falsify finds a counterexample, re-checked by a plain forward pass', () => {
    const row = readFileSync(join(ACAS, 'published', 'nnenum.csv'), 'utf8')
      .split('\n')
      .find((l) => l.includes('ACASXU_run2a_1_9_batch_2000.onnx') && l.includes('prop_7.vnnlib')) as string;
    expect(row.split(',')[4]).toBe('violated');
    const model = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', 'ACASXU_run2a_1_9_batch_2000.onnx'))));
    const spec = parseVnnlib(readFileSync(join(ACAS, 'prop_7.vnnlib'), 'utf8'), 'prop_7.vnnlib');
    const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
    // the property's box is large and the net constant over most of it: its unsafe points lie where
    // X_0 is within 0.5 % of its lower bound, about one uniform point in 10⁵
    const f = specForms(spec);
    for (const seed of [1, 2, 3]) {
      const w = falsify(model, f, boxes, { seed, falsifyShare: 0 }, Infinity);
      expect(w).not.toBeNull();
      const x = w!.x;
      expect(x.every((v, d) => v >= spec.inputBoxes[0].lo[d] && v <= spec.inputBoxes[0].hi[d])).toBe(true);
      const y = plainForward(model, x);
      y.forEach((v, j) => expect(v).toBeCloseTo(w!.y[j], 12));
      expect(unsafe(spec, y)).toBe(true);
    }
  });

  // y0 = relu(x0 + x1 − 1.9), y1 = 0.05: unsafe (y1 ≤ y0) only where x0 + x1 ≥ 1.95, a corner of
  // [0, 1]² where every other point has a zero gradient. The centre is safe; the vertex that
  // minimises the form's CROWN lower bound 0.05 − 0.05·(x0 + x1) is (1, 1), where y0 = 0.1.
  const corner = (): Model =>
    createModel({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'd1', op: { type: 'dense', units: 1, weight: [1, 1], bias: [-1.9] }, inputs: ['x'] },
        { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
        { name: 'd2', op: { type: 'dense', units: 2, weight: [1, 0], bias: [0, 0.05] }, inputs: ['a1'] },
      ],
      outputs: [{ node: 'd2' }],
    } satisfies GraphDef);
  const cornerSpec = (): VnnlibSpec =>
    parseVnnlib(
      '(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n' +
        '(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n(assert (<= Y_1 Y_0))',
      'corner.vnnlib',
    );

  it('the search tries the vertex minimising an open box\'s clause relaxation: sat on the root box alone, without falsification', () => {
    const model = corner(),
      spec = cornerSpec();
    const r = decideVnnlib(model, spec, { noFalsify: true, maxBoxes: 1, timeout: 10 });
    expect(r.status).toBe('sat');
    const x = r.witness!.x;
    expect(x[0] + x[1]).toBeGreaterThanOrEqual(1.95);
    expect(x.every((v) => v >= 0 && v <= 1)).toBe(true);
    const y = plainForward(model, x);
    expect(y[1] <= y[0]).toBe(true);
    // the box centre alone is safe: one bounded box with only its centre tried would stay undecided
    const c = plainForward(model, [0.5, 0.5]);
    expect(c[1] <= c[0]).toBe(false);
  });
});
