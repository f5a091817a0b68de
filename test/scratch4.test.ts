import { it } from 'vitest';
import { createModel, buildVnnCertificate, verifyVnnCertificate, type NodeDef, type GraphDef, type VnnlibSpec } from '../src/index.ts';
import { verifierBounds } from '../src/certify/proof/verifier.ts';
import { rng } from './util/rng.ts';
it('dbg', () => {
  const act = 'tanh';
    const r = rng(3);
    const nodes: NodeDef[] = [
      { name: 'd1', op: { type: 'dense', units: 4, weight: r.vector(8, -1, 1), bias: r.vector(4, -0.3, 0.3) }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: act }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 1, weight: r.vector(4, -1, 1), bias: [0] }, inputs: ['a1'] },
    ];
    const m = createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2' }] } as GraphDef);
    const lo = Float64Array.from([0.2, 0.2]), hi = Float64Array.from([0.201, 0.201]);
    console.log('VB', verifierBounds(m.graph, lo, hi), m.network.evaluate(lo, 1));
    const spec: VnnlibSpec = { numInputs: 2, numOutputs: 1, inputBoxes: [{ lo, hi }], outputDnf: [[{ coeffs: Float64Array.from([1]), coeffErr: new Float64Array(1), constant: 10, constantErr: 0, relation: '<=', line: 1, column: 1 }]], asserts: 1 };
    const v = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[[]]]));
    console.log(v);
});
