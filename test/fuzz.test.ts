/**
 * The fuzz suite inside `npm test`: the oracle's own checks (it must be able to catch a wrong
 * claim), then a seeded subset of the fuzz run (`npm run fuzz` runs the big one).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify, createModel } from '../src/index.ts';
import { ACTIVATIONS, makeCase, tangentNet } from './fuzz/generator.ts';
import { evalPoint, findFeasible, findUnlistedRoot, judgePoint, OracleNet, oracleActivation, oracleErf, SliceMap, type Slice } from './fuzz/oracle.ts';
import { formatReport, runFuzz } from './fuzz/run.ts';
import { judgeStatement, TAMPERINGS, type CertJson } from './fuzz/tamper.ts';
import { rng } from './util/rng.ts';

describe('fuzz oracle', () => {
  it('erf matches tabulated values (Abramowitz & Stegun, table 7.1)', () => {
    // erf(x) to 16 digits from A&S table 7.1 / DLMF 7.23
    const table: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
    ];
    for (const [x, v] of table) {
      expect(Math.abs(oracleErf(x) - v)).toBeLessThanOrEqual(4e-16);
      expect(oracleErf(-x)).toBe(-oracleErf(x));
    }
  });

  it('each activation formula agrees with its derivative by central differences', () => {
    const r = rng(11);
    for (const a of ACTIVATIONS) {
      const act = oracleActivation(a.fn, a.params ? a.params(r) : {});
      for (let k = 0; k < 20; k++) {
        const x = r.uniform(-4, 4);
        const h = 1e-6;
        const fd = (act.f(x + h) - act.f(x - h)) / (2 * h);
        // away from kinks the one-sided slopes agree with |f'|
        if (Math.abs(act.d(x + 2 * h) - act.d(x - 2 * h)) > 1e-3) continue;
        expect(Math.abs(Math.abs(fd) - act.d(x)), `${a.fn} at ${x}`).toBeLessThanOrEqual(1e-6 * (1 + act.d(x)));
      }
    }
  });

  it("its forward pass agrees with the engine's within its own rounding bound, on generated nets", () => {
    const r = rng(5);
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      const c = makeCase(99, i);
      const m = createModel(c.net.graph);
      const on = new OracleNet(c.net.graph);
      const y = new Float64Array(on.nOut),
        e = new Float64Array(on.nOut);
      for (let k = 0; k < 10; k++) {
        const x = Float64Array.from(r.vector(on.nIn, -4, 4));
        on.forward(x, y, e);
        const Y = m.network.evaluate(x, 1);
        for (let o = 0; o < on.nOut; o++) {
          expect(Math.abs(Y[o] - y[o]), `${c.net.family} output ${o}`).toBeLessThanOrEqual(2 * e[o]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(600);
  });

  it('refutes a forged infeasibility claim, a forged complete list and a forged solution', () => {
    // y = w·(softplus(a·x) + softplus(−a·x)) + c has two roots for any target above its minimum
    const net = tangentNet(rng(3));
    const on = new OracleNet(net.graph);
    const slice: Slice = { given: {}, unknowns: ['x'], lo: [-3], hi: [3] };
    const y0 = new Float64Array(1);
    on.forward([1.25], y0);
    const t = y0[0];
    const bands = [{ output: 'y', lo: t, hi: t, tolerance: 1e-12 }];
    const w = findFeasible(on, slice, bands);
    expect(w).not.toBeNull();
    expect(Math.abs(w!.y[0] - t)).toBeLessThanOrEqual(1e-12);
    // a "complete" list holding only the root at +1.25 misses the one at −1.25
    const miss = findUnlistedRoot(on, slice, [{ output: 'y', value: t }], [{ lo: [1.2], hi: [1.3] }]);
    expect(miss).not.toBeNull();
    expect(miss!.u[0]).toBeCloseTo(-1.25, 9);
    // listing both: nothing unlisted
    expect(findUnlistedRoot(on, slice, [{ output: 'y', value: t }], [{ lo: [1.2], hi: [1.3] }, { lo: [-1.3], hi: [-1.2] }])).toBeNull();
    // a point moved off the root misses
    const sm = new SliceMap(on, slice, bands);
    expect(judgePoint(sm, evalPoint(sm, [1.25]))).toBe('yes');
    expect(judgePoint(sm, evalPoint(sm, [1.25 + 1e-6]))).toBe('no');
    // an unreachable target: no witness
    expect(findFeasible(on, slice, [{ output: 'y', lo: -1e3, hi: -1e3, tolerance: 1e-6 }])).toBeNull();
  });

  it('judges a genuine certificate true, and each tampering kind changes it', () => {
    const model = createModel(tangentNet(rng(8)).graph);
    const on = new OracleNet(model.graph);
    const res = certify(model, { want: { y: -50 }, bounds: { x: [-2, 2] } }, { maxEvaluations: 20_000, maxBoxes: 500 });
    expect(res.status).toBe('infeasible');
    const cert = res.certificate as unknown as CertJson;
    expect(judgeStatement(on, model.hash, cert).holds).toBe(true);
    // a certificate for a reachable target states something false
    const forged = JSON.parse(JSON.stringify(cert)) as CertJson;
    const y = new Float64Array(1);
    on.forward([0.5], y);
    const tg = (forged.query ?? forged).targets[0]; // format 2 embeds the query
    tg.lo = tg.hi = y[0];
    expect(judgeStatement(on, model.hash, forged).holds).toBe(false);
    let applied = 0;
    for (const t of TAMPERINGS) {
      const bad = t.apply(cert);
      if (!bad) continue;
      applied++;
      expect(JSON.stringify(bad), t.kind).not.toBe(JSON.stringify(cert));
    }
    expect(applied).toBeGreaterThanOrEqual(9);
  });
});

describe('fuzz run (seeded subset)', () => {
  it('finds no violation: every solution, infeasible, complete, lower bound and certificate claim holds, and every tampered certificate is rejected or still true', async () => {
    const report = await runFuzz({
      queries: 14,
      seed: 2026,
      outDir: join(tmpdir(), 'netinvert-fuzz-test'),
      maxBoxes: 400,
      maxEvaluations: 20_000,
      milp: true,
      milpEvery: 3,
    });
    const text = formatReport(report, 2026);
    const claims = Object.values(report.claims).reduce((a, b) => a + b, 0);
    expect(claims, text).toBeGreaterThan(100);
    expect(report.claims.certificate ?? 0, text).toBeGreaterThan(3);
    expect(report.disputed, text).toEqual([]);
    // Every certificate is format 2 (the verifier refuses version 1), and every finding counts.
    expect(Object.keys(report.certificateVersions), text).toEqual(['2']);
    const counted = report.violations;
    expect(counted, text).toEqual([]);
  }, 180_000);
});
