/**
 * Completeness proofs under equality constraints among the inputs (issue #11 §1): Krawczyk on
 * the augmented square system G = [ y_i(x) − t_i ; a·x − b ] (krawczyk.ts, bnb.ts) and the
 * independent verifier's own augmentation (certificate.ts, version 5).
 *
 * Oracles, independent of the interval engine and of Krawczyk: a fine grid on the constraint's
 * plane, each point polished by Newton's method on the plane's two coordinates with a
 * forward-difference Jacobian of fresh forward passes; and a hand-derived root of the shipped
 * 4-in/2-out net. Certificates are tampered with (a root box dropped, shifted or replaced by a
 * root-free claim, the constraint's b altered or removed, the version lowered) and must be refused.
 * A fast-check property draws small tanh nets and equality constraints: whenever "complete" is
 * claimed, the dense sampler on the constraint set finds no root away from the listed ones.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { createModel, type Model } from '../src/model.ts';
import { buildProblem, type Query } from '../src/problem/query.ts';
import { solutionSetDimension } from '../src/solve/verify.ts';
import type { Solution } from '../src/solve/result.ts';
import { rng } from './util/rng.ts';
import { run } from './util/cli.ts';
import { mixtureClosedForm, mixtureForward } from './problems.ts';

/** A 3-input, 2-output tanh net with seeded weights (inputs x[0..2], outputs y[0], y[1]). */
function tanhNet(seed: number, h = 4, scale = 2.5): Model {
  const r = rng(seed);
  const W1 = r.vector(3 * h, -scale, scale),
    b1 = r.vector(h, -1, 1),
    W2 = r.vector(h * 2, -1.5, 1.5),
    b2 = r.vector(2, -0.5, 0.5);
  return createModel({
    inputs: [{ name: 'x', width: 3 }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: h, weight: W1, bias: b1 }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 2, weight: W2, bias: b2 }, inputs: ['a1'] },
    ],
    outputs: [{ node: 'd2', name: 'y' }],
  });
}

const y = (m: Model, x: ArrayLike<number>): Float64Array => m.network.evaluate(Float64Array.from(x), 1);

/**
 * The roots in the box [lo, hi]³ of y(x) = t on the plane a·x = b: the plane as p + s·u + v·w (u, w
 * an orthonormal basis of a⊥), an N×N grid over (s, v) covering the box, each grid point inside
 * the box polished by Newton on (s, v) with forward differences; converged points (|y − t| ≤ 1e-10)
 * strictly inside the box, deduplicated. `res` maps a point to its two residuals.
 */
function planeRoots(res: (x: number[]) => number[], a: number[], b: number, lo: number, hi: number, N: number): number[][] {
  const na = Math.hypot(...a);
  const an = a.map((v) => v / na);
  const p = an.map((v) => (v * b) / na);
  // u: a vector orthogonal to a (Gram–Schmidt of the coordinate axis least aligned with a), w = a × u
  const e = [0, 1, 2].reduce((best, j) => (Math.abs(an[j]) < Math.abs(an[best]) ? j : best), 0);
  const u = [0, 0, 0];
  u[e] = 1;
  const d = an[e];
  for (let j = 0; j < 3; j++) u[j] -= d * an[j];
  const nu = Math.hypot(...u);
  for (let j = 0; j < 3; j++) u[j] /= nu;
  const w = [an[1] * u[2] - an[2] * u[1], an[2] * u[0] - an[0] * u[2], an[0] * u[1] - an[1] * u[0]];
  const at = (s: number, v: number): number[] => [0, 1, 2].map((j) => p[j] + s * u[j] + v * w[j]);
  const R = Math.sqrt(3) * Math.max(Math.abs(lo), Math.abs(hi)) + Math.hypot(...p);
  const inBox = (x: number[], margin = 0): boolean => x.every((v) => v >= lo + margin && v <= hi - margin);
  const roots: number[][] = [];
  for (let i = 0; i <= N; i++)
    for (let k = 0; k <= N; k++) {
      let s = -R + (2 * R * i) / N,
        v = -R + (2 * R * k) / N;
      if (!inBox(at(s, v))) continue;
      for (let it = 0; it < 40; it++) {
        const F = res(at(s, v));
        const h = 1e-7;
        const Fs = res(at(s + h, v)),
          Fv = res(at(s, v + h));
        const J = [(Fs[0] - F[0]) / h, (Fv[0] - F[0]) / h, (Fs[1] - F[1]) / h, (Fv[1] - F[1]) / h];
        const det = J[0] * J[3] - J[1] * J[2];
        if (!det || !Number.isFinite(det)) break;
        const ds = (J[3] * F[0] - J[1] * F[1]) / det,
          dv = (-J[2] * F[0] + J[0] * F[1]) / det;
        s -= ds;
        v -= dv;
        if (!(Math.abs(s) < 10 * R && Math.abs(v) < 10 * R)) break;
        if (Math.abs(ds) + Math.abs(dv) < 1e-14) break;
      }
      const x = at(s, v);
      const F = res(x);
      if (!(Math.hypot(F[0], F[1]) <= 1e-10 && inBox(x, 1e-9))) continue;
      if (!roots.some((r) => Math.hypot(r[0] - x[0], r[1] - x[1], r[2] - x[2]) < 1e-7)) roots.push(x);
    }
  return roots;
}

const BOX = { 'x[0]': [-2, 2], 'x[1]': [-2, 2], 'x[2]': [-2, 2] } as Record<string, [number, number]>;
const OPTS = { seed: 1, maxEvaluations: 200_000, timeLimit: 120 };
const names = ['x[0]', 'x[1]', 'x[2]'];
const point = (s: Solution): number[] => names.map((k) => s.unknowns[k]);

/** Is x (an exact root, approximately) in one of the listed solutions' proof boxes, or within 1e-6 of one? */
function listed(sols: Solution[], x: number[]): boolean {
  return sols.some((s) => {
    const p = point(s);
    if (Math.hypot(p[0] - x[0], p[1] - x[1], p[2] - x[2]) < 1e-6) return true;
    return !!s.proofBox && names.every((k, j) => s.proofBox![k][0] - 1e-9 <= x[j] && x[j] <= s.proofBox![k][1] + 1e-9);
  });
}

describe('--prove with an equality constraint: a complete list (3 unknowns, 2 targets, x0 + x1 + x2 = 1)', () => {
  const m = tanhNet(2);
  const xs = [0.3, 0.5, 0.2];
  const t = Array.from(y(m, xs));
  const q: Query = { want: { 'y[0]': t[0], 'y[1]': t[1] }, bounds: BOX, constraints: ['x[0] + x[1] + x[2] = 1'] };
  const r = certify(m, q, OPTS);
  const oracle = planeRoots(
    (x) => {
      const v = y(m, x);
      return [v[0] - t[0], v[1] - t[1]];
    },
    [1, 1, 1],
    1,
    -2,
    2,
    120,
  );

  it('claims complete; every oracle root is listed, every listed one is a root meeting the constraint; isolated (dimension 0)', () => {
    expect(oracle.length).toBeGreaterThanOrEqual(2); // the case is worth proving: several roots
    expect(r.status).toBe('solved');
    expect(r.complete).toBe(true);
    expect(r.solutionSet.kind).toBe('isolated');
    for (const x of oracle) expect(listed(r.solutions, x), `oracle root ${x} is not listed`).toBe(true);
    for (const s of r.solutions) {
      const p = point(s);
      const v = y(m, p);
      expect(Math.abs(v[0] - t[0])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(t[0])));
      expect(Math.abs(v[1] - t[1])).toBeLessThanOrEqual(1e-6 * (1 + Math.abs(t[1])));
      expect(Math.abs(p[0] + p[1] + p[2] - 1)).toBeLessThanOrEqual(1e-9 * 3);
      expect(s.proof).toBe('unique-root');
      // no extras: every listed root is one the oracle found too
      expect(oracle.some((x) => Math.hypot(x[0] - p[0], x[1] - p[1], x[2] - p[2]) < 1e-6), `listed ${p} is not an oracle root`).toBe(true);
    }
    expect(r.solutions.length).toBe(oracle.length);
    expect(r.solutionSet).toMatchObject({ kind: 'isolated', count: oracle.length });
    // the solution set's dimension at each root: 3 unknowns − 1 equality − rank 2 of the targets' Jacobian on the plane
    const p = buildProblem(m, q);
    for (const s of r.solutions) expect(solutionSetDimension(p, point(s))).toBe(0);
    // without the constraint the same targets leave a curve (dimension 1) through each root
    const free = buildProblem(m, { want: q.want, bounds: BOX });
    for (const s of r.solutions) expect(solutionSetDimension(free, point(s))).toBe(1);
  });

  it('the certificate (version 5) passes the independent verifier, with and without the query', () => {
    const cert = r.certificate!;
    expect(cert.claim).toBe('complete');
    expect(cert.version).toBe(5);
    expect(cert.query.constraints!.map((c) => c.kind)).toEqual(['eq']);
    const v = verifyCertificate(m, cert, q);
    expect(v.valid, v.reason).toBe(true);
    expect(v.independent).toBe(true);
    expect(verifyCertificate(m, JSON.parse(JSON.stringify(cert))).valid).toBe(true);
  });

  it('forged certificates are refused', () => {
    const cert = r.certificate!;
    const rejects = (c: Certificate, why?: RegExp, query?: Query): void => {
      const v = verifyCertificate(m, c, query);
      expect(v.valid).toBe(false);
      if (why) expect(v.reason).toMatch(why);
    };
    // a root box dropped: the cover has a hole
    const drop = structuredClone(cert);
    drop.roots!.splice(0, 1);
    // (other root boxes may overlap the dropped one; drop every box holding that root)
    const gone = cert.roots![0].root;
    drop.roots = drop.roots!.filter((b) => !b.lo.every((l, j) => l <= gone[j] && gone[j] <= b.hi[j]));
    rejects(drop, /cover/);
    // a root box replaced by a root-free claim over the same extent
    const asFree = structuredClone(cert);
    const rb = asFree.roots!.splice(0, 1)[0];
    asFree.rootFree!.push({ lo: rb.lo, hi: rb.hi, reason: 'krawczyk' });
    asFree.roots = asFree.roots!.filter((b) => !b.lo.every((l, j) => l <= gone[j] && gone[j] <= b.hi[j]));
    rejects(asFree, /root-free box/);
    // a root box shifted (with its root) to where the system has no root
    const shift = structuredClone(cert);
    const b0 = shift.roots![0];
    const w = b0.hi.map((h, j) => h - b0.lo[j]);
    const d = [0, 1, 2].map((j) => 3 * w[j] + 1e-3);
    b0.lo = b0.lo.map((l, j) => l + d[j]);
    b0.hi = b0.hi.map((h, j) => h + d[j]);
    b0.root = b0.root.map((x, j) => x + d[j]);
    rejects(shift);
    // the constraint's b altered: the listed roots no longer meet it, and the claim is not the query's
    const moved = structuredClone(cert);
    moved.query.constraints![0].lo = moved.query.constraints![0].hi = 1.05;
    rejects(moved);
    rejects(moved, /constraint/, q);
    // the equality constraint removed (version 5 allows none): then the system is not square
    const none = structuredClone(cert);
    delete none.query.constraints;
    none.excluded = none.excluded.filter((e) => e.constraint === undefined);
    rejects(none, /square/);
    // the same record labelled version 4, whose completeness claims exclude equality constraints
    rejects({ ...structuredClone(cert), version: 4 }, /version 4|version-4/);
  });

  it('the same roots with linear-form targets (y0 − y1, y0 + 0.5·y1): an invertible mix of the outputs has the same roots', () => {
    const qf: Query = {
      want: { 'y[0] - y[1]': t[0] - t[1], 'y[0] + 0.5*y[1]': t[0] + 0.5 * t[1] },
      bounds: BOX,
      constraints: ['x[0] + x[1] + x[2] = 1'],
    };
    const f = certify(m, qf, OPTS);
    expect(f.complete).toBe(true);
    expect(f.certificate!.version).toBe(5);
    expect(verifyCertificate(m, f.certificate!, qf).valid).toBe(true);
    for (const x of oracle) expect(listed(f.solutions, x)).toBe(true);
    expect(f.solutions.length).toBe(oracle.length);
    // a tampered form coefficient breaks it
    const bad = structuredClone(f.certificate!);
    bad.query.targets[0].terms![1].coef = -1.01;
    expect(verifyCertificate(m, bad).valid).toBe(false);
  });
});

describe('the shipped 4-in/2-out net: x1 given, x2…x4 unknown, x2 − x3 + x4 = −1', () => {
  const FOUR = loadNativeModel(readFileSync(new URL('../models/seed-4in2out.json', import.meta.url)));
  // y1 ≈ x1+x2+x3+x4 and y2 even in x3 − x4 (the model's description): with y = y(1, 2, 5, 2) the
  // roots have x3 − x4 = ±3; the constraint then gives x2 = 2 (x3 − x4 = 3) or x2 = −4 (outside [0, 10]).
  const t = Array.from(y(FOUR, [1, 2, 5, 2]));
  const q: Query = { given: { x1: 1 }, want: { y1: t[0], y2: t[1] }, constraints: ['x2 - x3 + x4 = -1'] };
  it('certify: one root, (2, 5, 2), complete, verified', () => {
    const r = certify(FOUR, q, OPTS);
    expect(r.complete).toBe(true);
    expect(r.solutions.length).toBe(1);
    const s = r.solutions[0].unknowns;
    expect(s.x2).toBeCloseTo(2, 6);
    expect(s.x3).toBeCloseTo(5, 6);
    expect(s.x4).toBeCloseTo(2, 6);
    expect(verifyCertificate(FOUR, r.certificate!, q).valid).toBe(true);
  });
  it('linear-form equality targets alone (x1, x2 given): y1 + y2 and y1 − y2 give the two roots (5, 2) and (2, 5), complete, version 5', () => {
    const t2 = Array.from(y(FOUR, [1, 2, 5, 2]));
    const qf: Query = { given: { x1: 1, x2: 2 }, want: { 'y1 + y2': t2[0] + t2[1], 'y1 - y2': t2[0] - t2[1] } };
    const r = certify(FOUR, qf, OPTS);
    expect(r.complete).toBe(true);
    expect(r.certificate!.version).toBe(5);
    expect(verifyCertificate(FOUR, r.certificate!, qf).valid).toBe(true);
    const got = r.solutions.map((s) => [s.unknowns.x3, s.unknowns.x4]).sort((a, b) => a[0] - b[0]);
    expect(got.length).toBe(2);
    expect(got[0][0]).toBeCloseTo(2, 6);
    expect(got[0][1]).toBeCloseTo(5, 6);
    expect(got[1][0]).toBeCloseTo(5, 6);
    expect(got[1][1]).toBeCloseTo(2, 6);
    // the same record as version 3 (whose completeness claims exclude forms) is refused
    expect(verifyCertificate(FOUR, { ...structuredClone(r.certificate!), version: 3 }).valid).toBe(false);
  });
  it('CLI: solve --prove --subject-to says complete; check-certificate accepts the file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'netinvert-keq-')), 'c.json');
    const s = await run(['solve', 'models/seed-4in2out.json', '--given', 'x1=1', '--want', `y1=${t[0]}`, '--want', `y2=${t[1]}`, '--subject-to', 'x2 - x3 + x4 = -1', '--prove', '--certificate', file]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/proven to be all of them/);
    expect(s.out).toMatch(/complete: true/);
    const c = await run(['check-certificate', 'models/seed-4in2out.json', file]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/subject to: x2 - x3 \+ x4 = -1/);
    expect(c.out).toMatch(/valid: every box re-checked/);
  });
});

describe('the mixture model (README "Mixture design"): one blend, proven the only one', () => {
  const MIX = loadNativeModel(readFileSync(new URL('../models/mixture.json', import.meta.url)));
  it('random blends inside the simplex: complete, one solution, the closed form (Cramer on three linear equations), verified', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 90 }), fc.integer({ min: 5, max: 90 }), (i, j) => {
        fc.pre(i + j <= 95);
        const [r0, f0] = [i / 100, j / 100];
        const b0 = 1 - r0 - f0;
        // the model's closed form, from its description: D = 1.2r + 2.5f + 1.8b, S = 4 + 3 tanh(2(b − r) + f)
        const [D, S] = mixtureForward(r0, f0, b0);
        const q: Query = { want: { density: D, stiffness: S }, constraints: ['resin + filler + fiber = 1'] };
        const r = certify(MIX, q, OPTS);
        expect(r.complete).toBe(true);
        expect(r.solutions.length).toBe(1);
        // Cramer's rule on r + f + b = 1, 1.2r + 2.5f + 1.8b = D, −2r + f + 2b = atanh((S − 4)/3)
        const x = mixtureClosedForm(D, S);
        const s = r.solutions[0].unknowns;
        expect(s.resin).toBeCloseTo(x[0], 6);
        expect(s.filler).toBeCloseTo(x[1], 6);
        expect(s.fiber).toBeCloseTo(x[2], 6);
        expect(r.certificate!.version).toBe(5);
        expect(verifyCertificate(MIX, r.certificate!, q).valid).toBe(true);
      }),
      { numRuns: 5, seed: 4 },
    );
  });
});

describe('the mixture model: infeasible square systems under the constraint are still proven infeasible', () => {
  const MIX = loadNativeModel(readFileSync(new URL('../models/mixture.json', import.meta.url)));
  it('random (density, stiffness): the one solution of the three linear equations (Cramer) decides: inside the box → complete, outside → infeasible', () => {
    let infeasible = 0;
    fc.assert(
      fc.property(fc.integer({ min: 121, max: 249 }), fc.integer({ min: 12, max: 68 }), (d, st) => {
        const D = d / 100,
          S = st / 10;
        const x = mixtureClosedForm(D, S);
        // how far inside [0, 1]³ the one solution lies (negative: outside)
        const margin = Math.min(...x.map((v) => Math.min(v, 1 - v)));
        fc.pre(Math.abs(margin) > 1e-3);
        const q: Query = { want: { density: D, stiffness: S }, constraints: ['resin + filler + fiber = 1'] };
        const r = certify(MIX, q, OPTS);
        if (margin < 0) {
          infeasible++;
          expect(r.status, r.message).toBe('infeasible');
          expect(verifyCertificate(MIX, r.certificate!, q).valid).toBe(true);
        } else {
          expect(r.complete, r.message).toBe(true);
          expect(r.solutions.length).toBe(1);
          expect(r.solutions[0].unknowns.resin).toBeCloseTo(x[0], 6);
        }
      }),
      { numRuns: 8, seed: 5 },
    );
    expect(infeasible).toBeGreaterThan(0);
  }, 120_000);
});

describe('soundness fuzz: random tanh nets and equality constraints', () => {
  it('whenever "complete" is claimed, the dense sampler on the constraint set finds no unlisted root', () => {
    let claimed = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.tuple(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 }), fc.integer({ min: -8, max: 8 })),
        fc.tuple(fc.integer({ min: -96, max: 96 }), fc.integer({ min: -96, max: 96 }), fc.integer({ min: -96, max: 96 })),
        (seed, a0, xs0) => {
          // coefficients on a lattice of quarters (exact in text), at least one of size ≥ 1; the
          // planted root x* on a lattice of 1/64 inside [−1.5, 1.5]³, so b = a·x* is exact
          const a = a0.map((v) => v / 4);
          if (Math.max(...a.map(Math.abs)) < 1) a[seed % 3] = 1;
          const xs = xs0.map((v) => v / 64);
          const b = a[0] * xs[0] + a[1] * xs[1] + a[2] * xs[2];
          const m = tanhNet(seed, 3, 2);
          const t = Array.from(y(m, xs));
          const form = a.map((c, j) => `${c < 0 ? '-' : '+'} ${Math.abs(c)}*x[${j}]`).filter((_, j) => a[j] !== 0).join(' ');
          const q: Query = { want: { 'y[0]': t[0], 'y[1]': t[1] }, bounds: BOX, constraints: [`${form} = ${b}`] };
          const r = certify(m, q, { seed: 1, maxEvaluations: 60_000, timeLimit: 30 });
          if (!r.complete) return;
          claimed++;
          expect(verifyCertificate(m, r.certificate!, q).valid).toBe(true);
          for (const s of r.solutions) {
            const p = point(s);
            expect(Math.abs(a[0] * p[0] + a[1] * p[1] + a[2] * p[2] - b)).toBeLessThanOrEqual(1e-8);
          }
          const roots = planeRoots(
            (x) => {
              const v = y(m, x);
              return [v[0] - t[0], v[1] - t[1]];
            },
            a,
            b,
            -2,
            2,
            50,
          );
          // the sampler finds the planted root (inside the box) at least: it is not blind
          expect(roots.length).toBeGreaterThan(0);
          for (const x of roots) expect(listed(r.solutions, x), `root ${x} found on ${q.constraints![0]} is not listed`).toBe(true);
        },
      ),
      { numRuns: 8, seed: 11 },
    );
    expect(claimed).toBeGreaterThan(0);
  }, 120_000);
});
