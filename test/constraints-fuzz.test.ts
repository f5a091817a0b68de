/**
 * Soundness fuzz for proofs under linear constraints among the inputs (issue #11 §1 tests): on
 * random small tanh and ReLU nets with two unknowns, random inequality or equality constraints and
 * random targets (some out of reach), every "infeasible" that certify() claims is checked by a
 * dense sampler of the feasible region — a 241 × 241 grid of the box filtered by the inequalities,
 * or 20,001 points along an equality's segment — and its certificate by verifyCertificate. Every
 * "solved" answer is re-checked by a forward pass and the constraints.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import type { Query } from '../src/problem/query.ts';
import { rng } from './util/rng.ts';

const ATOL = 1e-6;

function randomNet(seed: number): Model {
  const r = rng(seed);
  const h = 5;
  const act = seed % 2 ? 'tanh' : 'relu';
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: h, weight: r.vector(2 * h, -1.5, 1.5), bias: r.vector(h, -0.5, 0.5) }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: act }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: 1, weight: r.vector(h, -1, 1), bias: [0] }, inputs: ['a1'] },
  ];
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
}

const y = (m: Model, a: number, b: number): number => m.network.evaluate(Float64Array.of(a, b), 1)[0];

describe('proofs under linear constraints: fuzzed against dense samplers of the feasible region', () => {
  it('every infeasible claim survives the sampler and the verifier; every solution is feasible and meets the target', () => {
    let infeasible = 0,
      solved = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.boolean(), fc.double({ min: -0.6, max: 0.6, noNaN: true }), (seed, equality, shift) => {
        const model = randomNet(seed);
        const r = rng(seed + 17);
        // a constraint a0·x0 + a1·x1 (op) c through a random point of the box [−1, 1]²
        const a = r.vector(2, -1, 1).map((v) => Math.round(v * 8) / 8 || 0.5);
        const p = r.vector(2, -0.7, 0.7);
        const c = a[0] * p[0] + a[1] * p[1];
        const text = `${a[0]}*x[0] + ${a[1]}*x[1] ${equality ? '=' : '<='} ${c}`.replace(/\+ -/g, '- ');
        // a target near the net's value at a random point: sometimes reachable on the feasible set, sometimes not
        const q0 = r.vector(2, -1, 1);
        const t = y(model, q0[0], q0[1]) + shift;
        const query: Query = { want: { y: t }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] }, constraints: [text] };
        const res = certify(model, query, { atol: ATOL, rtol: 0, maxBoxes: 20_000, maxEvaluations: 20_000, timeLimit: 30, seed: 1 });
        const feasible = (u: number, v: number): boolean => (equality ? Math.abs(a[0] * u + a[1] * v - c) <= 1e-9 * (1 + Math.abs(c)) : a[0] * u + a[1] * v <= c + 1e-12);
        if (res.status === 'infeasible') {
          infeasible++;
          expect(verifyCertificate(model, res.certificate!, { ...query, atol: ATOL, rtol: 0 }).valid).toBe(true);
          // the sampler: no feasible point meets the target within its tolerance
          let miss = Infinity;
          if (equality) {
            // the segment of the line inside the box, parametrised along the line's direction
            const M = 20_000;
            for (let i = 0; i <= M; i++) {
              const s = -3 + (6 * i) / M;
              const u = p[0] + s * a[1],
                v = p[1] - s * a[0];
              if (u < -1 || u > 1 || v < -1 || v > 1) continue;
              miss = Math.min(miss, Math.abs(y(model, u, v) - t));
            }
          } else {
            const N = 240;
            for (let i = 0; i <= N; i++)
              for (let j = 0; j <= N; j++) {
                const u = -1 + (2 * i) / N,
                  v = -1 + (2 * j) / N;
                if (feasible(u, v)) miss = Math.min(miss, Math.abs(y(model, u, v) - t));
              }
          }
          expect(miss).toBeGreaterThan(ATOL);
        } else if (res.status === 'solved') {
          solved++;
          for (const s of res.solutions) {
            const u = s.inputs['x[0]'],
              v = s.inputs['x[1]'];
            expect(Math.abs(y(model, u, v) - t)).toBeLessThanOrEqual(ATOL * (1 + 1e-9));
            expect(feasible(u, v) || Math.abs(a[0] * u + a[1] * v - c) <= 1e-8).toBe(true);
          }
        }
      }),
      { numRuns: 40, seed: 11 },
    );
    // the fuzz exercised both kinds of answer (else the generator is broken, and the test says so)
    expect(infeasible).toBeGreaterThan(3);
    expect(solved).toBeGreaterThan(3);
  });
});
