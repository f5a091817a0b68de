/**
 * Makes the two example networks shipped in models/ (run: npx tsx scripts/make-seed-nets.ts).
 *
 * 1. models/seed-add.json — the seed question's net: 2 inputs (a, b), 2 bipolar-sigmoid hidden
 *    neurons, 1 bipolar-sigmoid output neuron, no biases — exactly the thread's formula
 *      C = bsig(wh1·bsig(wa1·a + wb1·b) + wh2·bsig(wa2·a + wb2·b)),
 *    followed by an affine map sum = 40·C (a bipolar sigmoid lies in (−1, 1), so the output
 *    is scaled after the activation). The six weights are fitted by least squares
 *    (our own Levenberg–Marquardt, with a finite-difference Jacobian over the weights) to
 *    sum = a + b on a grid over [0, 10]².
 *
 * 2. models/seed-4in2out.json — 4 inputs x1..x4, 2 outputs, built by hand so that the example
 *    query (x1 = 1, x2 = 2, y1 = 10, y2 = Y2) has exactly two solutions, (x3, x4) ≈ (5, 2) and
 *    (2, 5): y1 ≈ x1 + x2 + x3 + x4 through a near-linear bipolar-sigmoid unit, and
 *    y2 = bsig(k·(x3 − x4) + c) + bsig(−k·(x3 − x4) + c), an even function of x3 − x4 that
 *    decreases in |x3 − x4|, so y2 fixes |x3 − x4| and y1 fixes x3 + x4.
 */
import { writeFileSync } from 'node:fs';
import { createModel } from '../src/model.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import type { GraphDef } from '../src/graph/types.ts';
import { lmCore } from '../src/solve/lm.ts';

function addGraph(w: number[]): GraphDef {
  // w = [wa1, wa2, wb1, wb2, wh1, wh2, S]
  return {
    inputs: [
      { name: 'a', width: 1 },
      { name: 'b', width: 1 },
    ],
    nodes: [
      { name: 'hidden', op: { type: 'dense', units: 2, weight: [w[0], w[1], w[2], w[3]], bias: null }, inputs: ['ab'] },
      { name: 'hidden_act', op: { type: 'unary', fn: 'bipolar_sigmoid', params: { lambda: 1 } }, inputs: ['hidden'] },
      { name: 'out', op: { type: 'dense', units: 1, weight: [w[4], w[5]], bias: null }, inputs: ['hidden_act'] },
      { name: 'out_act', op: { type: 'unary', fn: 'bipolar_sigmoid', params: { lambda: 1 } }, inputs: ['out'] },
      { name: 'sum', op: { type: 'affine', scale: [w[6]], shift: [0] }, inputs: ['out_act'] },
      { name: 'ab', op: { type: 'concat' }, inputs: ['a', 'b'] },
    ],
    outputs: [{ node: 'sum', name: 'sum' }],
  };
}

/** sum = S·C with S fixed: C = sum/40 stays inside (−1, 1) with room to spare over sums 0..20. */
const OUTPUT_SCALE = 40;

function fitAdd(): number[] {
  const pts: [number, number][] = [];
  for (let a = 0; a <= 10; a += 0.5) for (let b = 0; b <= 10; b += 0.5) pts.push([a, b]);
  const X = new Float64Array(pts.flat());
  const nP = 6,
    m = pts.length;
  const resid = (w: Float64Array, out: Float64Array, off: number): void => {
    const net = createModel(addGraph([...Array.from(w), OUTPUT_SCALE])).network;
    const Y = net.evaluate(X, m);
    for (let i = 0; i < m; i++) out[off + i] = Y[i] - (pts[i][0] + pts[i][1]);
  };
  // start: hidden units in their near-linear range, cubic terms roughly cancelling
  const start = new Float64Array([0.1, 0.2, 0.1, 0.2, 2, -0.5]);
  // keep the weights in a range a trained net would have (|hidden| ≤ 1, |output| ≤ 20)
  const lo = new Float64Array([-1, -1, -1, -1, -20, -20]),
    hi = new Float64Array([1, 1, 1, 1, 20, 20]);
  const res = lmCore(
    {
      n: nP,
      m,
      lo,
      hi,
      exhausted: () => false,
      evaluate(U, k, R, J) {
        const w = new Float64Array(nP),
          rp = new Float64Array(m),
          rm = new Float64Array(m);
        for (let q = 0; q < k; q++) {
          w.set(U.subarray(q * nP, q * nP + nP));
          resid(w, R, q * m);
          for (let j = 0; j < nP; j++) {
            const h = 1e-7 * Math.max(1, Math.abs(w[j]));
            const keep = w[j];
            w[j] = keep + h;
            resid(w, rp, 0);
            w[j] = keep - h;
            resid(w, rm, 0);
            w[j] = keep;
            for (let i = 0; i < m; i++) J[(q * m + i) * nP + j] = (rp[i] - rm[i]) / (2 * h);
          }
        }
      },
    },
    start,
    1,
    500,
  );
  const w = [...Array.from(res.x), OUTPUT_SCALE];
  console.log('add net: rms error', Math.sqrt((2 * res.cost[0]) / m), 'stop', res.stop[0], 'iterations', res.iterations[0]);
  return w;
}

const w = fitAdd();
const add = createModel(addGraph(w), {
  name: 'seed-add',
  description:
    'The seed question\'s 2-2-1 bipolar-sigmoid net, fitted to sum = a + b on [0,10]². No biases (the thread\'s formula); the output neuron is bipolar-sigmoid, scaled by an affine map sum = 40·C.',
  inputRanges: { a: [0, 10], b: [0, 10] },
  outputRanges: { sum: [0, 20] },
});
writeFileSync('models/seed-add.json', saveNativeModel(add) + '\n');
console.log('add(3,4) =', add.network.evaluate(new Float64Array([3, 4]), 1)[0]);

// ---- 4 inputs, 2 outputs ----
const s = 0.01; // near-linear scale for the sum unit: bsig(z) ≈ z/2
const k = 0.8,
  c = 1.5;
const g4: GraphDef = {
  inputs: [
    { name: 'x1', width: 1 },
    { name: 'x2', width: 1 },
    { name: 'x3', width: 1 },
    { name: 'x4', width: 1 },
  ],
  nodes: [
    { name: 'x', op: { type: 'concat' }, inputs: ['x1', 'x2', 'x3', 'x4'] },
    {
      name: 'hidden',
      op: {
        type: 'dense',
        units: 3,
        // rows: x1, x2, x3, x4; columns: sum unit, +diff unit, −diff unit
        weight: [s, 0, 0, s, 0, 0, s, k, -k, s, -k, k],
        bias: [0, c, c],
      },
      inputs: ['x'],
    },
    { name: 'hidden_act', op: { type: 'unary', fn: 'bipolar_sigmoid', params: { lambda: 1 } }, inputs: ['hidden'] },
    {
      name: 'out',
      op: { type: 'dense', units: 2, weight: [2 / s, 0, 0, 1, 0, 1], bias: [0, 0] },
      inputs: ['hidden_act'],
    },
  ],
  outputs: [{ node: 'out', name: 'y', features: ['y1', 'y2'] }],
};
const m4 = createModel(g4, {
  name: 'seed-4in2out',
  description:
    'Hand-built 4-input, 2-output bipolar-sigmoid net (linear output layer). y1 ≈ x1+x2+x3+x4; y2 = bsig(0.8(x3−x4)+1.5) + bsig(−0.8(x3−x4)+1.5), even in x3−x4. Query x1=1, x2=2, y1=y1(1,2,5,2), y2=y2(1,2,5,2) has exactly 2 solutions in [0,10]²: (x3,x4) ≈ (5,2) and (2,5).',
  inputRanges: { x1: [0, 10], x2: [0, 10], x3: [0, 10], x4: [0, 10] },
});
writeFileSync('models/seed-4in2out.json', saveNativeModel(m4) + '\n');
console.log('4in2out(1,2,5,2) =', Array.from(m4.network.evaluate(new Float64Array([1, 2, 5, 2]), 1)));
