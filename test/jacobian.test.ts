/**
 * Jacobians and parameter gradients of random deep nets (mixed activations, softmax, concat,
 * gather, binary ops, several inputs and outputs), against finite differences of `evaluate`,
 * at batch 1 and larger batches, with `wrt` / `of` subsets.
 */
import { describe, expect, it } from 'vitest';
import { network, type GraphDef, type Network } from '../src/index.ts';
import { checkJacobians } from './util/checks.ts';
import { expectAllClose } from './util/expect.ts';
import { fdStep } from './util/fd.ts';
import { kinkSites, randomNet, smoothPoints, stack } from './util/nets.ts';
import { rng, type Rng } from './util/rng.ts';

const NETS = 40;

function netFor(seed: number): { def: GraphDef; net: Network; r: Rng } {
  const r = rng(1000 + seed);
  const def = randomNet(r, { depth: 2 + r.int(5), maxWidth: 8, structural: true, kinks: true });
  return { def, net: network(def), r };
}

/** A random non-empty list of indices below n, possibly unsorted, possibly with repeats. */
function subset(r: Rng, n: number): number[] {
  const len = 1 + r.int(n);
  return Array.from({ length: len }, () => r.int(n));
}

describe('random deep nets: Jacobians', () => {
  for (let s = 0; s < NETS; s++) {
    it(`net #${s}: forward = reverse = finite differences at batch 1 and 5, rows independent`, () => {
      const { def, net, r } = netFor(s);
      const pts = smoothPoints(def, net.nIn, 1.5, 5, r, kinkSites(def));
      for (const p of pts.slice(0, 2)) checkJacobians(net, p, 1);
      const X = stack(pts);
      const J = Float64Array.from(checkJacobians(net, X, pts.length));
      const Y = Float64Array.from(net.evaluate(X, pts.length));
      const m = net.nOut,
        k = net.nIn;
      pts.forEach((p, row) => {
        for (const mode of ['forward', 'reverse'] as const) {
          const one = net.jacobian(p, 1, { mode });
          const yRow = Y.subarray(row * m, (row + 1) * m),
            jRow = J.subarray(row * m * k, (row + 1) * m * k);
          expectAllClose(one.Y, yRow, (i) => 1e-14 * Math.max(1, Math.abs(yRow[i])), `row ${row} values (${mode})`);
          expectAllClose(one.J, jRow, (i) => 1e-12 * Math.max(1, Math.abs(jRow[i])), `row ${row} Jacobian (${mode})`);
        }
      });
    });

    it(`net #${s}: wrt / of subsets pick the right entries and match finite differences`, () => {
      const { def, net, r } = netFor(s);
      const pts = smoothPoints(def, net.nIn, 1.5, 3, r, kinkSites(def));
      const X = stack(pts);
      const full = Float64Array.from(net.jacobian(X, pts.length, { mode: 'forward' }).J);
      const m = net.nOut,
        k = net.nIn;
      for (let t = 0; t < 3; t++) {
        const wrt = subset(r, k),
          of = subset(r, m);
        checkJacobians(net, X, pts.length, { wrt, of });
        for (const mode of ['forward', 'reverse'] as const) {
          const { J } = net.jacobian(X, pts.length, { wrt, of, mode });
          const want: number[] = [];
          for (let row = 0; row < pts.length; row++)
            for (const o of of) for (const j of wrt) want.push(full[(row * m + o) * k + j]);
          expectAllClose(J, want, (i) => 1e-12 * Math.max(1, Math.abs(want[i])), `wrt=${wrt} of=${of} (${mode})`);
        }
      }
    });

    it(`net #${s}: parameterGradient matches finite differences on every parameter`, () => {
      const { def, net, r } = netFor(s);
      const rows = 3;
      const X = stack(smoothPoints(def, net.nIn, 1.5, rows, r, kinkSites(def)));
      const gOut = Float64Array.from(r.vector(rows * net.nOut, -1, 1));
      const loss = (): number => {
        const Y = net.evaluate(X, rows);
        let L = 0;
        for (let i = 0; i < Y.length; i++) L += gOut[i] * Y[i];
        return L;
      };
      const grads = net.parameterGradient(X, rows, gOut).map((g) => Float64Array.from(g));
      const params = net.parameters();
      expect(grads.length).toBe(params.length);
      expect(params.reduce((a, p) => a + p.values.length, 0)).toBe(net.parameterCount);
      const L0 = loss();
      params.forEach((p, pi) => {
        expect(grads[pi].length).toBe(p.values.length);
        for (let j = 0; j < p.values.length; j++) {
          const v = p.values[j];
          const h = fdStep(v);
          p.values[j] = v + h;
          net.parametersChanged();
          const Lp = loss();
          p.values[j] = v - h;
          net.parametersChanged();
          const Lm = loss();
          p.values[j] = v;
          net.parametersChanged();
          const fd = (Lp - Lm) / (2 * h);
          const g = grads[pi][j];
          const tol = 1e-6 * Math.max(1, Math.abs(g), Math.abs(L0));
          expect(Math.abs(g - fd), `${p.node} param ${p.index} [${j}]: gradient ${g}, finite difference ${fd}`).toBeLessThanOrEqual(tol);
        }
      });
      // restoring the parameters restores the outputs exactly
      expect(loss()).toBe(L0);
    });
  }
});

describe('Jacobian plumbing', () => {
  const def: GraphDef = {
    inputs: [
      { name: 'a', width: 2 },
      { name: 'b', width: 1 },
    ],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 3, weight: [1, -2, 0.5, 0.25, 1, -1], bias: [0, 0.1, -0.1] }, inputs: ['a'] },
      { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
      { name: 'p', op: { type: 'binary', fn: 'mul' }, inputs: ['t', 'b'] },
    ],
    // an input as an output, and a node that is both an output and read by another node
    outputs: [{ node: 'p' }, { node: 'b', name: 'echo' }, { node: 't' }],
  };

  it('an input used as an output has the identity row, and outputs read elsewhere get both shares', () => {
    const net = network(def);
    const x = Float64Array.of(0.3, -0.7, 1.9);
    for (const mode of ['forward', 'reverse'] as const) {
      const { J, Y } = net.jacobian(x, 1, { mode });
      const k = 3;
      const echo = net.outputIndex('echo');
      expect(Y[echo]).toBe(1.9);
      expectAllClose(J.subarray(echo * k, echo * k + k), [0, 0, 1], 0, `${mode}: d echo / dx`);
    }
    checkJacobians(net, x, 1);
  });

  it('writes into the given out / values arrays and gives the same numbers at every batch size and call', () => {
    const net = network(def);
    const r = rng(5);
    const X = Float64Array.from(r.vector(7 * 3, -2, 2));
    const ref = Float64Array.from(net.jacobian(X, 7).J);
    const out = new Float64Array(7 * net.nOut * 3 + 5).fill(42);
    const values = new Float64Array(7 * net.nOut);
    const res = net.jacobian(X, 7, { out, values, mode: 'reverse' });
    expect(res.J).toBe(out);
    expect(res.Y).toBe(values);
    expectAllClose(out.subarray(0, ref.length), ref, (i) => 1e-12 * Math.max(1, Math.abs(ref[i])), 'out');
    expectAllClose(values, net.evaluate(X, 7), 0, 'values');
    // a smaller batch in between must not leave stale numbers behind
    net.jacobian(X.subarray(0, 3), 1);
    net.evaluate(X.subarray(3, 9), 2);
    expectAllClose(net.jacobian(X, 7).J, ref, 0, 'repeat call');
    const rows0 = net.jacobian(new Float64Array(0), 0);
    expect(rows0.J.length).toBe(0);
  });

  it("'auto' mode with few outputs (reverse) and with few inputs (forward) gives the forward-mode numbers", () => {
    const net = network(def);
    const X = Float64Array.of(0.3, -0.7, 1.9);
    const full = net.jacobian(X, 1, { mode: 'forward' }).J;
    for (const [wrt, of] of [
      [[0, 1, 2], [0]],
      [[2], [0, 1, 2, 3, 4, 5, 6]],
    ]) {
      const J = net.jacobian(X, 1, { wrt, of }).J;
      let e = 0;
      for (const o of of) for (const j of wrt) expect(Math.abs(J[e++] - full[o * 3 + j])).toBeLessThanOrEqual(1e-15);
    }
  });
});
