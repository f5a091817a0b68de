/**
 * The mixture-design example (issue #11 §1, README "Mixture design"): three fractions that sum
 * to 1, on models/mixture.json, whose answer is known in closed form. With r + f + b = 1,
 *   density   D = 1.2 r + 2.5 f + 1.8 b
 *   stiffness S = 4 + 3 tanh(2 (b − r) + f)
 * so u = atanh((S − 4)/3) makes three linear equations in (r, f, b) with determinant 3.4: one
 * root, solved here by Cramer's rule (the oracle) and compared with what invert finds.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import type { Query } from '../src/problem/query.ts';
import { mixtureClosedForm, mixtureForward } from './problems.ts';
import { run } from './util/cli.ts';

const MIX = loadNativeModel(readFileSync(new URL('../models/mixture.json', import.meta.url)));
const SUM = 'resin + filler + fiber = 1';
const OPTS = { maxEvaluations: 40_000, timeLimit: 60, seed: 3 };

const forward = mixtureForward;
const closedForm = mixtureClosedForm;

describe('mixture design: three fractions that sum to 1 (closed-form oracle)', () => {
  it('the model file is the closed form (forward passes at random points)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (r, f, b) => {
        const y = MIX.network.evaluate(Float64Array.of(r, f, b), 1);
        const [D, S] = forward(r, f, b);
        expect(Math.abs(y[0] - D)).toBeLessThanOrEqual(1e-12);
        expect(Math.abs(y[1] - S)).toBeLessThanOrEqual(1e-12);
      }),
      { numRuns: 50 },
    );
  });

  it('invert finds the one root the closed form gives, for random mixtures inside the simplex', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.double({ min: 0.05, max: 1, noNaN: true }), (a, b, c) => {
        const s = a + b + c;
        const [D, S] = forward(a / s, b / s, c / s);
        const r = invert(MIX, { want: { density: D, stiffness: S }, constraints: [SUM] }, OPTS);
        expect(r.status).toBe('solved');
        expect(r.solutionSet.kind).toBe('isolated');
        const want = closedForm(D, S);
        // every reported solution is the closed-form root: the system has no other
        for (const sol of r.solutions) {
          const got = [sol.inputs.resin, sol.inputs.filler, sol.inputs.fiber];
          got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5));
          expect(Math.abs(got[0] + got[1] + got[2] - 1)).toBeLessThanOrEqual(1e-9);
        }
      }),
      { numRuns: 12 },
    );
  });

  it('a density no mixture reaches (above filler’s 2.5) is proven infeasible with the constraint, reachable without it', () => {
    const q: Query = { want: { density: 3 }, constraints: [SUM] };
    const r = certify(MIX, q, { ...OPTS, maxBoxes: 20_000 });
    expect(r.status).toBe('infeasible');
    expect(verifyCertificate(MIX, r.certificate!, q).valid).toBe(true);
    // the oracle: on a dense grid of the simplex the density never exceeds 2.5 (its max, at filler = 1)
    let max = -Infinity;
    const N = 200;
    for (let i = 0; i <= N; i++)
      for (let j = 0; i + j <= N; j++) max = Math.max(max, forward(i / N, j / N, (N - i - j) / N)[0]);
    expect(max).toBeCloseTo(2.5, 12);
    // without the constraint, density 3 is inside the box's reach: solved, and verified by a forward pass
    const free = invert(MIX, { want: { density: 3 } }, OPTS);
    expect(free.status).toBe('solved');
    const x = free.solutions[0].inputs;
    expect(Math.abs(forward(x.resin, x.filler, x.fiber)[0] - 3)).toBeLessThanOrEqual(1e-5);
  });

  it('the explanation’s reachable range is over the feasible mixtures: it holds a dense sample of the simplex, and its attained ends are mixtures', () => {
    const r = certify(MIX, { want: { density: 3, stiffness: 2 }, constraints: [SUM] }, { ...OPTS, maxBoxes: 20_000 });
    expect(['infeasible', 'best-compromise']).toContain(r.status);
    const e = r.explanation!;
    const N = 300;
    const lo = [Infinity, Infinity],
      hi = [-Infinity, -Infinity];
    for (let i = 0; i <= N; i++)
      for (let j = 0; i + j <= N; j++) {
        const y = forward(i / N, j / N, (N - i - j) / N);
        for (let o = 0; o < 2; o++) ((lo[o] = Math.min(lo[o], y[o])), (hi[o] = Math.max(hi[o], y[o])));
      }
    ['density', 'stiffness'].forEach((name, o) => {
      const g = e.reachable[name];
      expect(g.proven).toBe(true);
      // sound: the sampled range lies inside the proven one
      expect(g.lo).toBeLessThanOrEqual(lo[o]);
      expect(g.hi).toBeGreaterThanOrEqual(hi[o]);
      // attained at feasible mixtures, and near the sample's ends (density's true range is [1.2, 2.5], not the box's [0, 5.5])
      for (const [arg, v] of [
        [g.argLo, g.attainedLo],
        [g.argHi, g.attainedHi],
      ] as const) {
        expect(Math.abs(arg.resin + arg.filler + arg.fiber - 1)).toBeLessThanOrEqual(1e-9);
        expect(Math.abs(forward(arg.resin, arg.filler, arg.fiber)[o] - v)).toBeLessThanOrEqual(1e-9);
      }
      expect(g.attainedLo).toBeLessThanOrEqual(lo[o] + 0.02);
      expect(g.attainedHi).toBeGreaterThanOrEqual(hi[o] - 0.02);
      expect(g.lo).toBeGreaterThan(lo[o] - 0.1);
      expect(g.hi).toBeLessThan(hi[o] + 0.1);
    });
  });

  it('the README example: solve --subject-to on the command line gives the closed-form mixture', async () => {
    const r = await run(['solve', 'models/mixture.json', '--want', 'density=1.76,stiffness=5.6', '--subject-to', SUM, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const want = closedForm(1.76, 5.6);
    expect(j.solutions).toHaveLength(1);
    ['resin', 'filler', 'fiber'].forEach((k, i) => expect(Math.abs(j.solutions[0].unknowns[k] - want[i])).toBeLessThanOrEqual(1e-5));
  });
});
