/**
 * Linear constraints among the inputs (issue #11 §1): the grammar and its coded errors, the
 * general-constraint QP (LinQP) against a brute-force grid, the hit-and-run sampler and the
 * projection, then invert / certify / --method milp on small nets against independent oracles:
 * dense grids over the feasible region, a 1-D scan along an equality's line, finite-difference
 * Jacobians for the continuum's dimension, and the certificate verifier (with tampering).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { invertMilp } from '../src/api/milp.ts';
import { verifierConstraintMiss, verifierConstraintRootFree, verifierInsideConstraint, verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { constraintRows, parseConstraint } from '../src/problem/constraints.ts';
import { buildProblem, type Query } from '../src/problem/query.ts';
import { LinQP } from '../src/solve/linqp.ts';
import { Polytope } from '../src/solve/polytope.ts';
import type { Solution } from '../src/solve/result.ts';
import { queryOf } from '../src/cli/commands/solve.ts';
import { parseQueryFile } from '../src/cli/queryFile.ts';
import { readQueries, rowQuery } from '../src/cli/batch/queries.ts';
import { expectNetinvertError } from './util/expect.ts';
import { rng } from './util/rng.ts';
import { run } from './util/cli.ts';
import { bisect, seedAddOracle } from './problems.ts';

const ADD = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url)));
const FOUR = loadNativeModel(readFileSync(new URL('../models/seed-4in2out.json', import.meta.url)));
const OPTS = { maxEvaluations: 30_000, timeLimit: 60, seed: 1 };

/** The network's outputs at a full input vector, by a fresh forward pass. */
function net(model: Model, x: number[]): Float64Array {
  return model.network.evaluate(Float64Array.from(x), 1);
}

/** Every input constraint reported on a solution is met, and its value is the form recomputed by hand. */
function expectConstraintsHold(s: Solution, forms: { terms: Record<string, number>; lo: number; hi: number }[]): void {
  const rows = s.constraints.filter((c) => c.on === 'input');
  expect(rows.length).toBe(forms.length);
  forms.forEach((f, i) => {
    let v = 0;
    for (const [k, c] of Object.entries(f.terms)) v += c * s.inputs[k];
    expect(rows[i].value).toBeCloseTo(v, 12);
    expect(v).toBeGreaterThanOrEqual(f.lo - 1e-9);
    expect(v).toBeLessThanOrEqual(f.hi + 1e-9);
    expect(rows[i].met).toBe(true);
    expect(rows[i].slack).toBeCloseTo(Math.min(v - f.lo, f.hi - v), 9);
  });
}

describe('the constraint grammar and its errors', () => {
  const names = ['x1', 'x2', 'x3', 'x4'],
    outs = ['y1', 'y2'];
  it('reads forms on both sides, moving constants right', () => {
    const a = parseConstraint('x1 + x2 + x3 = 1', names, outs);
    expect(a.terms).toEqual([
      { output: 0, coef: 1 },
      { output: 1, coef: 1 },
      { output: 2, coef: 1 },
    ]);
    expect([a.kind, a.lo, a.hi]).toEqual(['eq', 1, 1]);
    const b = parseConstraint('x3 <= x4', names, outs);
    expect(b.terms).toEqual([
      { output: 2, coef: 1 },
      { output: 3, coef: -1 },
    ]);
    expect([b.kind, b.lo, b.hi, b.name]).toEqual(['le', -Infinity, 0, 'x3 - x4 <= 0']);
    const c = parseConstraint('2*x1 - x2 >= 0.5', names, outs);
    expect([c.terms, c.kind, c.lo]).toEqual([[{ output: 0, coef: 2 }, { output: 1, coef: -1 }], 'ge', 0.5]);
    const d = parseConstraint('x1 + 1 >= 2*x2 - 0.5', names, outs); // x1 − 2·x2 ≥ −1.5
    expect([d.terms, d.lo]).toEqual([[{ output: 0, coef: 1 }, { output: 1, coef: -2 }], -1.5]);
    const e = parseConstraint('x1 - x4 = -1:2', names, outs);
    expect([e.kind, e.lo, e.hi]).toEqual(['range', -1, 2]);
  });
  it('names the term in coded errors', () => {
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 + z9 = 1'] }), 'unknown_input', 'z9');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 + y2 <= 1'] }), 'bad_constraint', 'y2', 'output');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 < 2'] }), 'bad_target', '<=');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 + 2* <= 3'] }), 'bad_target', 'expected an input name after "2 *"', 'position 9');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 x2 <= 3'] }), 'bad_target', 'expected "+" or "-"');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 <= 2 @3'] }), 'bad_constraint', 'weight');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 - x1 >= 0'] }), 'bad_constraint', 'no input');
  });
  it('refuses contradictions visible before solving (interval check, inconsistent equalities, given-only)', () => {
    const bounds = { x1: [0, 1] as [number, number], x2: [0, 1] as [number, number] };
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, bounds, constraints: ['x1 + x2 = 5'] }), 'bad_constraint', 'x1 + x2 = 5', 'x1 in [0, 1]');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, constraints: ['x1 + x2 = 1', '2*x1 + 2*x2 = 3'] }), 'bad_constraint', 'contradicts');
    expectNetinvertError(() => buildProblem(FOUR, { want: { y1: 1 }, given: { x1: 2, x2: 2 }, constraints: ['x1 - x2 >= 1'] }), 'bad_constraint', 'only given');
    // consistent redundancy: dropped with a warning; a given input moves to the right-hand side
    const p = buildProblem(FOUR, { want: { y1: 1 }, given: { x4: 2 }, constraints: ['x1 + x2 = 1', '3*x1 + 3*x2 = 3', 'x3 <= x4'] });
    expect(p.constraints!.map((c) => c.name)).toEqual(['x1 + x2 = 1', 'x3 - x4 <= 0']);
    expect(p.warnings.join(' ')).toMatch(/follows from the other equalities/);
    const rows = constraintRows(p.constraints!, p.unknowns, p.base);
    expect(Array.from(rows.A.subarray(3, 6))).toEqual([0, 0, 1]);
    expect(rows.hi[1]).toBe(2);
  });
  it('batch: a subject-to column carries the constraints of its row', () => {
    const { layout, rows } = readQueries('id,a,sum,subject-to\nr1,,7,"a - b >= 1, b >= 0.5"\nr2,2,7,\n', ADD, 'q.csv');
    const settings = { bounds: {}, distance: 'l2' } as unknown as Parameters<typeof rowQuery>[2];
    expect(rowQuery(layout, rows[0], settings).constraints).toEqual(['a - b >= 1', 'b >= 0.5']);
    expect(rowQuery(layout, rows[1], settings).constraints).toBeUndefined();
  });
  it('CLI flags and query files carry the same field', () => {
    const q = queryOf({ want: ['sum=7'], given: [], bounds: [], closestTo: [], distance: 'l2', subjectTo: ['a - b >= 1', 'a <= 9, b >= 0.5'] });
    expect(q.constraints).toEqual(['a - b >= 1', 'a <= 9', 'b >= 0.5']);
    const f = parseQueryFile(JSON.stringify({ want: { sum: 7 }, constraints: ['a - b >= 1'] }), 'q.json');
    expect(f.constraints).toEqual(['a - b >= 1']);
    expect(() => parseQueryFile(JSON.stringify({ want: { sum: 7 }, constraints: 'a >= b' }), 'q.json')).toThrow(/constraints/);
  });
});

describe('LinQP (primal active set) against a brute-force grid', () => {
  it('random 2-D QPs with a box and two general rows: feasible, and no grid point does better', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const r = rng(seed);
        const n = 2;
        const M = r.vector(4, -1, 1);
        // H = MᵀM + 0.1 I (positive definite)
        const H = new Float64Array([M[0] * M[0] + M[2] * M[2] + 0.1, M[0] * M[1] + M[2] * M[3], M[0] * M[1] + M[2] * M[3], M[1] * M[1] + M[3] * M[3] + 0.1]);
        const g = Float64Array.from(r.vector(2, -2, 2));
        const l = Float64Array.from(r.vector(2, -1, 0)),
          u = Float64Array.from(r.vector(2, 0, 1));
        const A = Float64Array.from(r.vector(4, -1, 1));
        const eqRow = seed % 3 === 0; // sometimes row 0 an equality through 0
        const cl = Float64Array.from([eqRow ? 0 : r.uniform(-0.5, 0), -Infinity]),
          cu = Float64Array.from([eqRow ? 0 : r.uniform(0, 0.5), r.uniform(0, 0.3)]);
        const p = new Float64Array(n);
        expect(new LinQP(n, 2).solve(H, g, l, u, A, cl, cu, p)).toBe(true);
        const f = (x: number, y: number): number => 0.5 * (H[0] * x * x + 2 * H[1] * x * y + H[3] * y * y) + g[0] * x + g[1] * y;
        const feas = (x: number, y: number, e: number): boolean => {
          if (x < l[0] - e || x > u[0] + e || y < l[1] - e || y > u[1] + e) return false;
          for (let k = 0; k < 2; k++) {
            const v = A[2 * k] * x + A[2 * k + 1] * y;
            if (v < cl[k] - e || v > cu[k] + e) return false;
          }
          return true;
        };
        expect(feas(p[0], p[1], 1e-12)).toBe(true);
        const fp = f(p[0], p[1]);
        if (eqRow) {
          // the feasible set is a segment: scan it finely
          const [a, b] = [A[0], A[1]];
          const d = Math.hypot(a, b);
          const dir = [-b / d, a / d];
          for (let t = -3; t <= 3; t += 1e-3) if (feas(t * dir[0], t * dir[1], 1e-12)) expect(fp).toBeLessThanOrEqual(f(t * dir[0], t * dir[1]) + 1e-9);
        } else {
          const N = 100;
          for (let i = 0; i <= N; i++)
            for (let j = 0; j <= N; j++) {
              const x = l[0] + ((u[0] - l[0]) * i) / N,
                y = l[1] + ((u[1] - l[1]) * j) / N;
              if (feas(x, y, 0)) expect(fp).toBeLessThanOrEqual(f(x, y) + 1e-9);
            }
        }
      }),
      { numRuns: 30, seed: 11 },
    );
  });
});

describe('the polytope: projection and hit-and-run', () => {
  it('samples stay inside; their spread matches the region (mean of a triangle)', () => {
    // x + y <= 1 in [0, 1]²: a triangle with centroid (1/3, 1/3)
    const p = buildProblem(ADD, { want: { sum: 1 }, bounds: { a: [0, 1], b: [0, 1] }, constraints: ['a + b <= 1'] });
    const poly = new Polytope(constraintRows(p.constraints!, p.unknowns, p.base), p.lo, p.hi);
    let s = 1;
    const sample = poly.sampler(() => ((s = (s * 16807) % 2147483647) - 1) / 2147483646)!;
    const out = new Float64Array(2);
    let mx = 0,
      my = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      sample(out, 0);
      expect(poly.contains(out)).toBe(true);
      mx += out[0] / N;
      my += out[1] / N;
    }
    expect(Math.abs(mx - 1 / 3)).toBeLessThan(0.03);
    expect(Math.abs(my - 1 / 3)).toBeLessThan(0.03);
    // projection of an outside point onto x + y ≤ 1 is the orthogonal foot (equal box widths)
    const q = new Float64Array(2);
    expect(poly.project([0.9, 0.7], 0, q, 0)).toBe(true);
    expect(q[0]).toBeCloseTo(0.6, 9);
    expect(q[1]).toBeCloseTo(0.4, 9);
  });
  it('a zero-width unknown does not stall the chain: the others still move, inside the constraints', () => {
    const p = buildProblem(FOUR, { want: { y1: 1 }, bounds: { x1: [2, 2], x2: [0, 10], x3: [0, 10], x4: [0, 10] }, constraints: ['x1 + x2 + x3 = 9', 'x3 <= x4'] });
    const poly = new Polytope(constraintRows(p.constraints!, p.unknowns, p.base), p.lo, p.hi);
    let s = 7;
    const sample = poly.sampler(() => ((s = (s * 16807) % 2147483647) - 1) / 2147483646)!;
    const seen = new Set<string>();
    const out = new Float64Array(4);
    for (let i = 0; i < 50; i++) {
      sample(out, 0);
      expect(out[0]).toBe(2);
      expect(Math.abs(out[0] + out[1] + out[2] - 9)).toBeLessThan(1e-12);
      expect(out[2]).toBeLessThanOrEqual(out[3] + 1e-12);
      seen.add(out.join());
    }
    expect(seen.size).toBe(50);
  });
  it('an empty polytope the interval check cannot see is refused before the search', () => {
    // each constraint alone fits the box; together a + b ≥ 15 and a − b ≥ 8, b ≥ 0 force a ≥ 11.5 > 10
    expectNetinvertError(() => invert(ADD, { want: { sum: 7 }, constraints: ['a + b >= 15', 'a - b >= 8'] }, OPTS), 'bad_constraint', 'no common point');
  });
});

describe('invert with constraints on the seed adder (a + b ≈ sum), against grids', () => {
  it('sum = 7 with a − b ≥ 1: every solution meets both, the continuum has dimension 1', () => {
    const r = invert(ADD, { want: { sum: 7 }, constraints: ['a - b >= 1'] }, OPTS);
    expect(r.status).toBe('solved');
    expect(r.solutionSet).toMatchObject({ kind: 'continuum', dimension: 1 });
    for (const s of r.solutions) {
      expectConstraintsHold(s, [{ terms: { a: 1, b: -1 }, lo: 1, hi: Infinity }]);
      expect(Math.abs(net(ADD, [s.inputs.a, s.inputs.b])[0] - 7)).toBeLessThanOrEqual(2e-6);
    }
    // the grid oracle: feasible points meeting the target all have b below some bound; the
    // representatives spread over the same stretch of the curve (b ≤ b_max of the grid)
    let bMax = -Infinity;
    const N = 800;
    for (let i = 0; i <= N; i++)
      for (let j = 0; j <= N; j++) {
        const a = (10 * i) / N,
          b = (10 * j) / N;
        if (a - b >= 1 && Math.abs(net(ADD, [a, b])[0] - 7) < 0.01) bMax = Math.max(bMax, b);
      }
    for (const s of r.solutions) expect(s.inputs.b).toBeLessThanOrEqual(bMax + 0.02);
  });
  it('an equality a = 2·b makes the continuum an isolated root, found where a 1-D scan finds it', () => {
    const r = invert(ADD, { want: { sum: 7 }, constraints: ['a = 2*b'] }, OPTS);
    expect(r.status).toBe('solved');
    expect(r.solutionSet.kind).toBe('isolated');
    expect(r.solutions.length).toBe(1);
    expectConstraintsHold(r.solutions[0], [{ terms: { a: 1, b: -2 }, lo: 0, hi: 0 }]);
    // oracle: sign changes of net(2b, b) − 7 on a fine grid of b, refined by bisection
    const g = (b: number): number => net(ADD, [2 * b, b])[0] - 7;
    const roots: number[] = [];
    for (let i = 0; i < 5000; i++) {
      let lo = (5 * i) / 5000,
        hi = (5 * (i + 1)) / 5000;
      if (Math.sign(g(lo)) === Math.sign(g(hi))) continue;
      for (let k = 0; k < 60; k++) {
        const m = 0.5 * (lo + hi);
        if (Math.sign(g(m)) === Math.sign(g(lo))) lo = m;
        else hi = m;
      }
      roots.push(0.5 * (lo + hi));
    }
    expect(roots.length).toBe(1);
    expect(r.solutions[0].inputs.b).toBeCloseTo(roots[0], 6);
  });
  it('the continuum dimension is the Jacobian null space inside the equalities\u2019 null space (finite differences)', () => {
    // 4 inputs, one target, one equality: 4 − 1 − 1 = 2
    // a target value the net takes on the plane (at (4, 4, 4, 5)), so solutions exist
    const q: Query = { want: { y1: net(FOUR, [4, 4, 4, 5])[0] }, constraints: ['x1 + x2 + x3 = 12'] };
    const r = invert(FOUR, q, OPTS);
    expect(r.status).toBe('solved');
    expect(r.solutionSet.kind).toBe('continuum');
    const s = r.solutions[0];
    const x = ['x1', 'x2', 'x3', 'x4'].map((k) => s.inputs[k]);
    // oracle: rank of [∇y1 (central differences); (1, 1, 1, 0)] by Gram–Schmidt
    const h = 1e-5;
    const grad = x.map((_, j) => {
      const xp = x.slice(),
        xm = x.slice();
      xp[j] += h;
      xm[j] -= h;
      return (net(FOUR, xp)[0] - net(FOUR, xm)[0]) / (2 * h);
    });
    const e = [1, 1, 1, 0].map((v) => v / Math.sqrt(3));
    const d = grad.reduce((a, v, j) => a + v * e[j], 0);
    const resid = grad.map((v, j) => v - d * e[j]);
    const rank = 1 + (Math.hypot(...resid) > 1e-6 * Math.hypot(...grad) ? 1 : 0);
    expect(r.solutionSet).toMatchObject({ dimension: 4 - rank });
    for (const t of r.solutions) expect(Math.abs(t.inputs.x1 + t.inputs.x2 + t.inputs.x3 - 12)).toBeLessThanOrEqual(1.2e-8);
  });
  it('best compromise stays feasible; closest-to-reference stays feasible', () => {
    const r = invert(ADD, { want: { sum: 7 }, constraints: ['a + b <= 6'] }, OPTS);
    expect(r.status).toBe('best-compromise');
    expect(r.best!.inputs.a + r.best!.inputs.b).toBeLessThanOrEqual(6 + 1e-8);
    // it sits on the face a + b = 6, where the box-only projected gradient is far from 0 but the
    // projected-gradient step onto the polytope vanishes (a KKT point)
    expect(r.best!.inputs.a + r.best!.inputs.b).toBeCloseTo(6, 6);
    expect(r.best!.optimality).toBeLessThan(1e-6);
    const h = 1e-6;
    const dA = (net(ADD, [r.best!.inputs.a + h, r.best!.inputs.b])[0] - net(ADD, [r.best!.inputs.a - h, r.best!.inputs.b])[0]) / (2 * h);
    expect(Math.abs(dA * (r.best!.outputs.sum - 7)) * 10).toBeGreaterThan(1e-3);
    const c = invert(ADD, { want: { sum: 7 }, constraints: ['a - b >= 1'], closestTo: { a: 0, b: 10 } }, OPTS);
    expect(c.status).toBe('solved');
    expect(c.closest).toBeDefined();
    expectConstraintsHold(c.closest!, [{ terms: { a: 1, b: -1 }, lo: 1, hi: Infinity }]);
    // the closest feasible solution sits on a − b = 1 (the reference lies on the other side)
    expect(c.closest!.inputs.a - c.closest!.inputs.b).toBeCloseTo(1, 6);
  });
  it('property: random constraints through a random point of random small nets: LM answers are feasible', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const r = rng(seed);
        const h = 4;
        const nodes: NodeDef[] = [
          { name: 'd1', op: { type: 'dense', units: h, weight: r.vector(3 * h, -1, 1), bias: r.vector(h, -0.5, 0.5) }, inputs: ['x'] },
          { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
          { name: 'd2', op: { type: 'dense', units: 1, weight: r.vector(h, -1, 1), bias: [0] }, inputs: ['a1'] },
        ];
        const model = createModel({ inputs: [{ name: 'x', width: 3 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
        const x0 = r.vector(3, -0.8, 0.8);
        const y0 = net(model, x0)[0];
        const names = ['x[0]', 'x[1]', 'x[2]'];
        const cons: string[] = [];
        const forms: { terms: Record<string, number>; lo: number; hi: number }[] = [];
        const k = 1 + (seed % 2);
        for (let c = 0; c < k; c++) {
          const a = r.vector(3, -1, 1).map((v) => Math.round(v * 8) / 8 || 0.5);
          const v = a.reduce((s, ai, j) => s + ai * x0[j], 0);
          const terms: Record<string, number> = {};
          a.forEach((ai, j) => (terms[names[j]] = ai));
          const text = a.map((ai, j) => `${ai}*${names[j]}`).join(' + ').replace(/\+ -/g, '- ');
          if (c === 0 && seed % 3 === 0) {
            cons.push(`${text} = ${v}`);
            forms.push({ terms, lo: v, hi: v });
          } else {
            cons.push(`${text} <= ${v + 0.1}`);
            forms.push({ terms, lo: -Infinity, hi: v + 0.1 });
          }
        }
        const bounds = Object.fromEntries(names.map((nm) => [nm, [-1, 1] as [number, number]]));
        const res = invert(model, { want: { y: y0 }, bounds, constraints: cons }, { maxEvaluations: 8000, seed: 3, maxStarts: 24 });
        for (const s of [...res.solutions, ...(res.best ? [res.best] : [])]) expectConstraintsHold(s, forms);
        // x0 itself is a feasible solution: the search must not call the problem hopeless
        expect(res.status === 'solved' || res.status === 'best-compromise' || res.status === 'unknown').toBe(true);
      }),
      { numRuns: 12, seed: 5 },
    );
  });
});

describe('proofs and MILP with constraints', () => {
  it('--prove: sum = 7 under a + b ≤ 6 is infeasible; the claim survives a dense grid of the polytope; the certificate verifies and tampering is caught', () => {
    const q: Query = { want: { sum: 7 }, constraints: ['a + b <= 6'] };
    const r = certify(ADD, q, { ...OPTS, maxBoxes: 20_000 });
    expect(r.status).toBe('infeasible');
    const cert = r.certificate!;
    expect(cert.version).toBe(4);
    expect(cert.excluded.some((e) => e.constraint === 0)).toBe(true);
    expect(verifyCertificate(ADD, cert, q).valid).toBe(true);
    // the grid oracle: no point of the polytope meets the target within its tolerance
    const N = 600;
    for (let i = 0; i <= N; i++)
      for (let j = 0; j <= N; j++) {
        const a = (10 * i) / N,
          b = (10 * j) / N;
        if (a + b <= 6) expect(Math.abs(net(ADD, [a, b])[0] - 7)).toBeGreaterThan(1e-5);
      }
    // a certificate for another query (no constraints, or a looser one) does not pass
    expect(verifyCertificate(ADD, cert, { want: { sum: 7 } }).valid).toBe(false);
    const loose = structuredClone(cert) as Certificate;
    loose.query.constraints![0].hi = 8;
    expect(verifyCertificate(ADD, loose).valid).toBe(false);
    // a box wrongly credited to the constraint is rejected by the verifier's own arithmetic
    const wrong = structuredClone(cert) as Certificate;
    const k = wrong.excluded.findIndex((e) => e.constraint === undefined);
    wrong.excluded[k] = { ...wrong.excluded[k], target: -1, constraint: 0 };
    expect(verifyCertificate(ADD, wrong).valid).toBe(false);
  });
  it('--prove with a polytope that holds solutions: solved, never infeasible', () => {
    const r = certify(ADD, { want: { sum: 7 }, constraints: ['a - b >= 1', 'b >= 2'] }, { ...OPTS, maxBoxes: 3000 });
    expect(r.status).toBe('solved');
    for (const s of r.solutions) expectConstraintsHold(s, [{ terms: { a: 1, b: -1 }, lo: 1, hi: Infinity }, { terms: { b: 1 }, lo: 2, hi: Infinity }]);
  });
  it('--prove on a square system with an inequality: complete list = the unconstrained roots that meet it; root boxes must lie inside', () => {
    const base: Query = { given: { x1: 1, x2: 2 }, want: { y1: 9.99, y2: 0.54 } };
    const all = certify(FOUR, base, { ...OPTS, maxBoxes: 20_000 });
    expect(all.complete).toBe(true);
    expect(all.solutions.length).toBe(2);
    const q: Query = { ...base, constraints: ['x3 - x4 <= 0'] };
    const r = certify(FOUR, q, { ...OPTS, maxBoxes: 20_000 });
    expect(r.complete).toBe(true);
    const keep = all.solutions.filter((s) => s.inputs.x3 - s.inputs.x4 <= 0);
    expect(keep.length).toBe(1);
    expect(r.solutions.length).toBe(1);
    expect(r.solutions[0].inputs.x3).toBeCloseTo(keep[0].inputs.x3, 8);
    expect(r.solutions[0].inputs.x4).toBeCloseTo(keep[0].inputs.x4, 8);
    const cert = r.certificate!;
    expect(cert.version).toBe(4);
    expect(verifyCertificate(FOUR, cert, q).valid).toBe(true);
    // a root box stretched across the constraint's face is refused
    const bad = structuredClone(cert) as Certificate;
    bad.roots![0].hi = bad.roots![0].hi.map((v, j) => (j === 0 ? 10 : v));
    bad.roots![0].lo = bad.roots![0].lo.map((v, j) => (j === 1 ? 0 : v));
    expect(verifyCertificate(FOUR, bad).valid).toBe(false);
    // an equality constraint through a root: that root is found, but no completeness is claimed
    const s0 = keep[0].inputs.x3 + keep[0].inputs.x4;
    const e = certify(FOUR, { ...base, constraints: [`x3 + x4 = ${s0}`] }, { ...OPTS, maxBoxes: 2000 });
    expect(e.status).toBe('solved');
    expect(e.complete).toBe(false);
    expect(e.certificate).toBeUndefined();
  });
  it('--method milp: native rows; the solution meets them, and a grid agrees on infeasibility', async () => {
    const r = rng(7);
    const h = 6;
    const W1 = r.vector(2 * h, -1, 1),
      b1 = r.vector(h, -0.5, 0.5),
      W2 = r.vector(h, -1, 1);
    const nodes: NodeDef[] = [
      { name: 'd1', op: { type: 'dense', units: h, weight: W1, bias: b1 }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 1, weight: W2, bias: [0] }, inputs: ['a1'] },
    ];
    const model = createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
    const bounds = { 'x[0]': [-1, 1] as [number, number], 'x[1]': [-1, 1] as [number, number] };
    // the grid's max of y over the half x0 + x1 ≤ 0
    let best = -Infinity;
    const N = 400;
    for (let i = 0; i <= N; i++)
      for (let j = 0; j <= N; j++) {
        const a = -1 + (2 * i) / N,
          b = -1 + (2 * j) / N;
        if (a + b <= 0) best = Math.max(best, net(model, [a, b])[0]);
      }
    const cons = ['x[0] + x[1] <= 0'];
    const ok = await invertMilp(model, { want: { y: { ge: best - 0.01 } }, bounds, constraints: cons }, { timeLimit: 60 });
    expect(ok.status).toBe('solved');
    expectConstraintsHold(ok.solutions[0], [{ terms: { 'x[0]': 1, 'x[1]': 1 }, lo: -Infinity, hi: 0 }]);
    // above the true max over the half-plane (the grid's max plus the net's Lipschitz slack over a grid cell)
    let lip = 0;
    for (let k = 0; k < h; k++) lip += Math.abs(W2[k]) * (Math.abs(W1[k]) + Math.abs(W1[h + k]));
    const none = await invertMilp(model, { want: { y: { ge: best + lip * (2 / N) + 0.01 } }, bounds, constraints: cons }, { timeLimit: 60 });
    expect(none.status).toBe('infeasible');
  });
});

describe("the certificate verifier's enclosure of a constraint, against exact rational arithmetic", () => {
  /** d · 2^1074 exactly (every double is an integer multiple of 2^−1074). */
  function exact(d: number): bigint {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, d);
    const bits = v.getBigUint64(0);
    const expBits = Number((bits >> 52n) & 0x7ffn);
    const frac = bits & ((1n << 52n) - 1n);
    const n = expBits === 0 ? frac : (frac | (1n << 52n)) << BigInt(expBits - 1);
    return bits >> 63n ? -n : n;
  }
  // three inputs, x1 given: the form's exact range over the unknowns' box includes the given part
  const g: { inputs: { name: string; width: number }[]; nodes: NodeDef[]; outputs: { node: string; name: string }[] } = {
    inputs: ['x1', 'x2', 'x3'].map((name) => ({ name, width: 1 })),
    nodes: [
      { name: 'x', op: { type: 'concat' }, inputs: ['x1', 'x2', 'x3'] },
      { name: 'y', op: { type: 'dense', units: 1, weight: [1, 1, 1], bias: [0] }, inputs: ['x'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  };
  const model = createModel(g, { inputRanges: { x1: [-5, 5], x2: [-5, 5], x3: [-5, 5] } });

  it('inside, missed and root-free (the branch-and-bound tests) only when the exact range says so; inside when it is well inside', () => {
    const r = rng(20261206);
    let inside = 0,
      missed = 0;
    for (let trial = 0; trial < 400; trial++) {
      const c = [r.uniform(-3, 3), r.uniform(-3, 3), r.uniform(-3, 3)];
      const x1 = r.uniform(-5, 5);
      // a side the form reaches somewhere in the box (buildProblem refuses one it cannot)
      const rhs = c[0] * x1 + r.uniform(-0.9, 0.9) * 5 * (Math.abs(c[1]) + Math.abs(c[2]));
      const op = r.pick(['<=', '>=', '='] as const);
      const problem = buildProblem(model, { given: { x1 }, want: { y: 0 }, constraints: [`${c[0]}*x1 ${c[1] < 0 ? '-' : '+'} ${Math.abs(c[1])}*x2 ${c[2] < 0 ? '-' : '+'} ${Math.abs(c[2])}*x3 ${op} ${rhs}`] });
      const k = problem.constraints![0];
      const coef = [0, 0, 0];
      for (const t of k.terms) coef[t.output] += t.coef;
      const a = r.vector(2, -5, 5),
        w = r.vector(2, 0, r.pick([1e-6, 0.1, 3]));
      const lo = [a[0], a[1]],
        hi = [a[0] + w[0], a[1] + w[1]];
      // the exact range of Σ coef·x over x1 = given, x2 ∈ [lo0, hi0], x3 ∈ [lo1, hi1], scaled by 2^2148
      let eMin = exact(coef[0]) * exact(x1),
        eMax = eMin;
      for (let j = 0; j < 2; j++) {
        const p = exact(coef[j + 1]) * exact(lo[j]),
          q = exact(coef[j + 1]) * exact(hi[j]);
        eMin += p < q ? p : q;
        eMax += p < q ? q : p;
      }
      const S = (d: number): bigint => exact(d) << 1074n;
      const isIn = verifierInsideConstraint(problem, 0, lo, hi);
      if (isIn) {
        inside++;
        if (k.lo > -Infinity) expect(eMin >= S(k.lo)).toBe(true);
        if (k.hi < Infinity) expect(eMax <= S(k.hi)).toBe(true);
      }
      const isMiss = verifierConstraintMiss(problem, 0, lo, hi);
      if (isMiss) {
        missed++;
        expect((k.hi < Infinity && eMin > S(k.hi) + S(k.tol)) || (k.lo > -Infinity && eMax < S(k.lo) - S(k.tol))).toBe(true);
      }
      if (verifierConstraintRootFree(problem, 0, lo, hi)) expect(k.kind === 'eq' && (eMin > S(k.lo) || eMax < S(k.lo))).toBe(true);
      // not needlessly loose: an exact range well inside (or well outside) is seen as such
      const margin = S(1e-9);
      if (k.kind !== 'eq' && (k.lo === -Infinity || eMin > S(k.lo) + margin) && (k.hi === Infinity || eMax < S(k.hi) - margin)) expect(isIn).toBe(true);
      if ((k.hi < Infinity && eMin > S(k.hi) + S(k.tol) + margin) || (k.lo > -Infinity && eMax < S(k.lo) - S(k.tol) - margin)) expect(isMiss).toBe(true);
    }
    // both outcomes were exercised
    expect(inside).toBeGreaterThan(20);
    expect(missed).toBeGreaterThan(20);
  });
});

describe('the command line', () => {
  const oracle = seedAddOracle();
  it('solve --subject-to: the equality root where the closed form puts it; each constraint in the report and --json', async () => {
    const r = await run(['solve', 'models/seed-add.json', '--want', 'sum=7', '--subject-to', 'a = 2*b', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const b = bisect((x) => oracle(2 * x, x) - 7, 0, 5);
    expect(j.solutions).toHaveLength(1);
    expect(Math.abs(j.solutions[0].unknowns.b - b)).toBeLessThanOrEqual(1e-6);
    expect(j.query.constraints[0]).toMatchObject({ constraint: 'a - 2*b = 0', kind: 'eq', lo: 0, hi: 0 });
    expect(j.solutions[0].constraints.find((c: { on?: string }) => c.on === 'input')).toMatchObject({ target: 'a - 2*b = 0', met: true });
    const t = await run(['solve', 'models/seed-add.json', '--want', 'sum=7', '--subject-to', 'a - b >= 1']);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/a - b\s+\S+\s+>= 1\s+\S+\s+met/);
  });
  it('coded errors, and --subject-to beside --query is refused', async () => {
    const e = await run(['solve', 'models/seed-add.json', '--want', 'sum=7', '--subject-to', 'a + sum <= 3']);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/error \[bad_constraint\].*"sum" is an output/);
    const dir = mkdtempSync(join(tmpdir(), 'ni-cons-'));
    const f = join(dir, 'q.json');
    writeFileSync(f, JSON.stringify({ want: { sum: 7 }, constraints: ['a - b >= 1'] }));
    const u = await run(['solve', 'models/seed-add.json', '--query', f, '--subject-to', 'a <= 3']);
    expect(u.code).toBe(1);
    expect(u.err).toMatch(/bad_usage.*--subject-to/);
    const ok = await run(['solve', 'models/seed-add.json', '--query', f, '--json']);
    expect(JSON.parse(ok.out).query.constraints[0].constraint).toBe('a - b >= 1');
  });
});
