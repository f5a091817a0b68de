import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { certify } from '../src/api/certify.ts';
import { covers, verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { verifierBounds } from '../src/certify/proof/verifier.ts';
import { createModel } from '../src/model.ts';
import { buildProblem } from '../src/problem/query.ts';
import { SPLIT_FRACTION } from '../src/solve/branchAndBound.ts';
import { distinctRootBoxes } from '../src/certify/proof/rootBoxes.ts';
import { bisect, evenE, FOUR_IN_TARGETS, FOUR_ROOTS, fourRootNet, loadShipped, saturatingNet, seedAddOracle, threeRootNet } from './problems.ts';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('certified solution lists', () => {
  it('one unknown, output crosses the target 3 times: all 3 found, each proven unique, list complete', () => {
    const model = threeRootNet();
    const r = certify(model, { want: { y: 0 } });
    expect(r.status).toBe('solved');
    expect(r.complete).toBe(true);
    expect(r.solutions).toHaveLength(3);
    const g = (x: number): number => Math.tanh(3 * x) - 0.5 * x;
    const xs = r.solutions.map((s) => s.unknowns.x).sort((a, b) => a - b);
    expect(xs[1]).toBeCloseTo(0, 12);
    expect(Math.abs(xs[2] - bisect(g, 1, 4))).toBeLessThan(1e-12);
    for (const s of r.solutions) expect(s.proof).toBe('unique-root');
    expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
  });

  it('two-unknown square system with 2 isolated roots: both found and certified', () => {
    const model = loadShipped('seed-4in2out.json');
    const r = certify(model, { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS });
    expect(r.status).toBe('solved');
    expect(r.complete).toBe(true);
    expect(r.solutions.map((s) => [s.unknowns.x3, s.unknowns.x4].map((v) => Math.round(v * 1e6) / 1e6))).toEqual([
      [2, 5],
      [5, 2],
    ]);
    for (const s of r.solutions) {
      expect(s.proof).toBe('unique-root');
      const box = s.proofBox!;
      expect(box.x3[0]).toBeLessThanOrEqual(s.unknowns.x3);
      expect(box.x3[1]).toBeGreaterThanOrEqual(s.unknowns.x3);
    }
    const v = verifyCertificate(model, r.certificate!);
    expect(v.valid).toBe(true);
  });

  it('four roots: all certified, none missed', () => {
    const model = fourRootNet();
    const r = certify(model, { want: { y1: evenE(3), y2: evenE(1) } });
    expect(r.complete).toBe(true);
    expect(r.solutions).toHaveLength(4);
  });

  it('the seed add net: 3 + ? = 7 certified unique', () => {
    const model = loadShipped('seed-add.json');
    const r = certify(model, { given: { a: 3 }, want: { sum: 7 } });
    expect(r.complete).toBe(true);
    expect(r.solutions).toHaveLength(1);
    const f = seedAddOracle();
    expect(Math.abs(r.solutions[0].unknowns.b - bisect((b) => f(3, b) - 7, 0, 10))).toBeLessThan(1e-9);
    expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
  });
});

describe('a certificate lists each root once (root boxes holding the same root merged where the cover allows)', () => {
  const g = (x: number): number => Math.tanh(3 * x) - 0.5 * x;
  /** The certificate's roots, its claim checked by the verifier; no root listed in another's box; root boxes counted once. */
  function certRoots(model: ReturnType<typeof threeRootNet>, r: ReturnType<typeof certify>): number[][] {
    expect(r.complete).toBe(true);
    const c = r.certificate!;
    expect(verifyCertificate(model, c).valid).toBe(true);
    const roots = c.roots!;
    for (let i = 0; i < roots.length; i++)
      for (let j = 0; j < roots.length; j++) if (i !== j) expect(roots[j].root.every((v, k) => roots[i].lo[k] <= v && v <= roots[i].hi[k])).toBe(false);
    expect(r.certification?.rootBoxes).toBe(roots.length);
    expect(roots.length).toBe(r.solutions.length);
    return roots.map((b) => b.root).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  it('1-D, the root x = 0 exactly at branch-and-bound\'s first split point: one root box, one root', () => {
    const model = threeRootNet();
    // the first cut of [lo, hi] is lo + SPLIT_FRACTION·(hi − lo): here exactly 0, the root of tanh(3x) − x/2
    const lo = -SPLIT_FRACTION,
      hi = 1 - SPLIT_FRACTION;
    expect(lo + SPLIT_FRACTION * (hi - lo)).toBe(0);
    expect(g(0)).toBe(0);
    const r = certify(model, { want: { y: 0 }, bounds: { x: [lo, hi] } });
    expect(certRoots(model, r)).toEqual([[0]]);
  });

  it('1-D, three roots with the middle one on the split point and the outer ones in overlapping boxes: three root boxes', () => {
    const model = threeRootNet();
    const hi = 4,
      lo = (-SPLIT_FRACTION * hi) / (1 - SPLIT_FRACTION);
    expect(Math.abs(lo + SPLIT_FRACTION * (hi - lo))).toBeLessThan(1e-15);
    const xStar = bisect(g, 1, 4);
    const r = certify(model, { want: { y: 0 }, bounds: { x: [lo, hi] } });
    const roots = certRoots(model, r).map((x) => x[0]);
    expect(roots).toHaveLength(3);
    expect(Math.abs(roots[0] + xStar)).toBeLessThan(1e-12);
    expect(Math.abs(roots[1])).toBeLessThan(1e-12);
    expect(Math.abs(roots[2] - xStar)).toBeLessThan(1e-12);
  });

  it('2-D, four isolated roots (closed form): four root boxes', () => {
    const model = fourRootNet();
    const r = certify(model, { want: { y1: evenE(3), y2: evenE(1) } });
    const roots = certRoots(model, r);
    expect(roots).toHaveLength(4);
    roots.forEach((x, i) => x.forEach((v, k) => expect(Math.abs(v - FOUR_ROOTS[i][k])).toBeLessThan(1e-9)));
  });

  it('distinctRootBoxes: a box inside another is dropped, a box holding another takes its place, a hull Krawczyk cannot prove is never made', () => {
    const model = threeRootNet();
    const problem = buildProblem(model, { want: { y: 0 } });
    const a = { lo: [-0.25], hi: [0.25], root: [0] };
    expect(distinctRootBoxes(problem, [a, { lo: [-0.1], hi: [0.1], root: [0] }])).toEqual([a]);
    expect(distinctRootBoxes(problem, [a, { lo: [-0.5], hi: [0.5], root: [1e-17] }])).toEqual([{ lo: [-0.5], hi: [0.5], root: [0] }]);
    // a box whose listed root lies in a (a forged pair): their hull [−0.25, 3] holds two roots (0 and x*), so both stay
    const forged = { lo: [0.2], hi: [3], root: [0.22] };
    expect(distinctRootBoxes(problem, [a, forged])).toEqual([a, forged]);
    // boxes of different roots are left alone
    const b = { lo: [1.5], hi: [2.5], root: [bisect(g, 1, 4)] };
    expect(distinctRootBoxes(problem, [a, b])).toEqual([a, b]);
  });
});

describe('infeasible with a certificate', () => {
  const model = saturatingNet();
  const r = certify(model, { want: { y: 2 } });

  it('an unreachable target is infeasible, with a proven lower bound on the miss', () => {
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
    // the best possible miss is 2 − tanh(2.5) (at the corner (1, 1))
    expect(r.lowerBound!).toBeLessThanOrEqual(2 - Math.tanh(2.5));
    expect(r.lowerBound!).toBeGreaterThan(0.9);
  });

  it('the certificate verifies independently', () => {
    const v = verifyCertificate(model, r.certificate!);
    expect(v).toMatchObject({ valid: true, independent: true });
  });

  // y1 = E(x3 − x4) peaks at E(0) on the diagonal; the two units cancel, so intervals overestimate
  const deep = fourRootNet();
  const tDeep = evenE(0) + 1e-2;

  it('also for a target needing many boxes (just above the reachable maximum)', () => {
    const c = certify(deep, { want: { y1: tDeep } });
    expect(c.status).toBe('infeasible');
    expect(c.certificate!.excluded.length).toBeGreaterThan(3);
    expect(verifyCertificate(deep, c.certificate!).valid).toBe(true);
  });

  it('a corrupted certificate is rejected', () => {
    const good = certify(deep, { want: { y1: tDeep } }).certificate!;
    const model = deep;
    // a box removed
    const removed = clone(good);
    removed.excluded.splice(Math.floor(removed.excluded.length / 2), 1);
    expect(verifyCertificate(model, removed)).toMatchObject({ valid: false });
    expect(verifyCertificate(model, removed).reason).toMatch(/cover/);
    // a bound nudged: the target moved down into reach
    const nudged = clone(good);
    nudged.query.targets[0].lo = nudged.query.targets[0].hi = evenE(0) - 1e-3;
    expect(verifyCertificate(model, nudged).valid).toBe(false);
    // a box's face nudged inward leaves a gap
    const gap = clone(good);
    const e = gap.excluded.find((b) => b.hi[0] < gap.query.box.hi[0])!;
    e.hi[0] -= 1e-6;
    expect(verifyCertificate(model, gap).valid).toBe(false);
    // another model
    expect(verifyCertificate(loadShipped('seed-add.json'), good).valid).toBe(false);
    // garbage
    expect(verifyCertificate(model, { format: 'x' } as unknown as Certificate).valid).toBe(false);
  });
});

describe('cover check', () => {
  it('accepts a bisection tree and rejects a gap', () => {
    const box = { lo: [0, 0], hi: [1, 1] };
    const tree = [
      { lo: [0, 0], hi: [0.5, 1] },
      { lo: [0.5, 0], hi: [1, 0.3] },
      { lo: [0.5, 0.3], hi: [1, 1] },
    ];
    expect(covers(box, tree)).toBe(true);
    expect(covers(box, tree.slice(0, 2))).toBe(false);
    expect(covers(box, [{ lo: [-1, -1], hi: [2, 2] }])).toBe(true);
  });
});

describe('independent verifier', () => {
  it('contains sampled outputs of the shipped nets', () => {
    for (const name of ['seed-add.json', 'seed-4in2out.json']) {
      const model = loadShipped(name);
      const n = model.network.nIn;
      const lo = Array.from({ length: n }, (_, i) => i * 0.7),
        hi = lo.map((v) => v + 1.3);
      const b = verifierBounds(model.graph, lo, hi);
      for (let s = 0; s < 200; s++) {
        const x = lo.map((l, i) => l + ((s * 0.6180339887 * (i + 1)) % 1) * (hi[i] - l));
        const y = model.network.evaluate(Float64Array.from(x), 1);
        y.forEach((v, o) => {
          expect(v).toBeGreaterThanOrEqual(b.lo[o]);
          expect(v).toBeLessThanOrEqual(b.hi[o]);
        });
      }
    }
  });
});

describe('soundness property: never infeasible or complete when a grid finds a missed solution', () => {
  function smallNet(w: number[], act: string) {
    return createModel({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 3, weight: w.slice(0, 6), bias: w.slice(6, 9) }, inputs: ['x'] },
        { name: 'a', op: { type: 'unary', fn: act }, inputs: ['h'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: w.slice(9, 12), bias: [0] }, inputs: ['a'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    });
  }
  it('targets at the grid maximum ± 1e-9', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 12, maxLength: 12 }),
        fc.constantFrom('tanh', 'sigmoid', 'gelu', 'silu', 'softplus', 'sin'),
        fc.constantFrom(-1e-9, 1e-9, 0),
        (w, act, eps) => {
          const model = smallNet(w, act);
          const N = 61;
          const X = new Float64Array(N * N * 2);
          for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) X.set([-1 + (2 * i) / (N - 1), -1 + (2 * j) / (N - 1)], (i * N + j) * 2);
          const Y = model.network.evaluate(X, N * N);
          let mx = -Infinity;
          for (const v of Y) mx = Math.max(mx, v);
          const t = mx + eps;
          const r = certify(
            model,
            { want: { y: t }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } },
            { maxBoxes: 3000, maxEvaluations: 50_000 },
          );
          const tol = 1e-6 + 1e-6 * Math.abs(t);
          const gridHit = Array.from(Y).some((v) => Math.abs(v - t) <= tol);
          if (gridHit) expect(r.status).not.toBe('infeasible');
          if (r.status === 'infeasible') expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
        },
      ),
      { seed: 7, numRuns: 30 },
    );
  });
});

describe('soundness property: a list claimed complete holds every root a dense Newton sweep finds', () => {
  it('random 2-in/2-out tanh and sigmoid nets', () => {
    let claims = 0;
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2.5, max: 2.5, noNaN: true }), { minLength: 14, maxLength: 14 }).map((a) => a.map((x) => (x >= 0 ? x + 0.3 : x - 0.3))),
        fc.constantFrom('tanh', 'sigmoid', 'softplus'),
        fc.double({ min: -0.9, max: 0.9, noNaN: true }),
        fc.double({ min: -0.9, max: 0.9, noNaN: true }),
        (w, act, u, v) => {
          const model = createModel({
            inputs: [{ name: 'x', width: 2 }],
            nodes: [
              { name: 'h', op: { type: 'dense', units: 3, weight: w.slice(0, 6), bias: w.slice(6, 9) }, inputs: ['x'] },
              { name: 'a', op: { type: 'unary', fn: act }, inputs: ['h'] },
              { name: 'y', op: { type: 'dense', units: 2, weight: w.slice(8, 14), bias: [0, 0] }, inputs: ['a'] },
            ],
            outputs: [{ node: 'y', name: 'y', features: ['y1', 'y2'] }],
          });
          const f = (x: number[]): number[] => Array.from(model.network.evaluate(Float64Array.from(x), 1));
          const t = f([u, v]);
          // non-degenerate systems only: a Jacobian that is significant at the tolerance's scale
          const J0 = model.network.jacobian(Float64Array.from([u, v]), 1).J;
          if (!(Math.abs(J0[0] * J0[3] - J0[1] * J0[2]) > 1e-3)) return;
          const r = certify(model, { want: { y1: t[0], y2: t[1] }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } }, { maxBoxes: 4000 });
          if (!r.complete) return; // only claims are checked
          claims++;
          // independent oracle: plain Newton with a finite-difference Jacobian from a 15×15 grid
          const roots: number[][] = [];
          for (let i = 0; i < 15; i++)
            for (let j = 0; j < 15; j++) {
              let x = [-1 + (2 * i) / 14, -1 + (2 * j) / 14];
              for (let it = 0; it < 40; it++) {
                const F = f(x).map((y, k) => y - t[k]);
                const h = 1e-7;
                const J = [0, 1].map((c) => {
                  const xp = x.slice();
                  xp[c] += h;
                  return f(xp).map((y, k) => (y - t[k] - F[k]) / h);
                });
                const det = J[0][0] * J[1][1] - J[1][0] * J[0][1];
                if (!Number.isFinite(det) || Math.abs(det) < 1e-14) break;
                const dx = [(J[1][1] * F[0] - J[1][0] * F[1]) / det, (-J[0][1] * F[0] + J[0][0] * F[1]) / det];
                x = [x[0] - dx[0], x[1] - dx[1]];
                if (Math.abs(x[0]) > 3 || Math.abs(x[1]) > 3) break;
              }
              const F = f(x).map((y, k) => y - t[k]);
              if (Math.max(...F.map(Math.abs)) < 1e-10 && Math.abs(x[0]) <= 1 - 1e-6 && Math.abs(x[1]) <= 1 - 1e-6) roots.push(x);
            }
          for (const x of roots) {
            const near = r.solutions.some((s) => Math.abs(s.unknowns['x[0]'] - x[0]) < 1e-5 && Math.abs(s.unknowns['x[1]'] - x[1]) < 1e-5);
            expect(near, `root ${x} missing from a list claimed complete: ${JSON.stringify(r.solutions.map((s) => s.unknowns))}`).toBe(true);
          }
        },
      ),
      { seed: 99, numRuns: 20 },
    );
    // the property must actually have checked some completeness claims
    expect(claims).toBeGreaterThan(5);
  });
});
