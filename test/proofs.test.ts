/**
 * Proofs you can trust: no false "infeasible" or "complete", no floods of near-identical
 * solutions at tangent or flat targets, time limits that cover the whole call, and no
 * percentage rounded up to 100 %.
 *
 * Oracles: the closed forms of the nets (seedAddOracle, softplus written as |x| + 2·log1p(e^−|x|)),
 * bisection on them, and fresh forward passes at the reported points.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { certify } from '../src/api/certify.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import type { GraphDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { formatPercent } from '../src/numeric/percent.ts';
import { invert } from '../src/api/invert.ts';
import type { SolveResult } from '../src/solve/result.ts';
import { bisect, FOUR_IN_TARGETS, loadShipped, seedAddOracle } from './problems.ts';
import { denseNode } from './util/nets.ts';
import { rng } from './util/rng.ts';

/** y = softplus(x) + softplus(−x): even, minimum 2·ln 2 at x = 0, flat there (y ≈ 2 ln 2 + x²/4). */
function softplusBowl(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 1 }],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 2, weight: [1, -1], bias: [0, 0] }, inputs: ['x'] },
      { name: 'a', op: { type: 'unary', fn: 'softplus' }, inputs: ['h'] },
      { name: 'y', op: { type: 'dense', units: 1, weight: [1, 1], bias: [0] }, inputs: ['a'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  };
  return createModel(g, { name: 'softplus-bowl', inputRanges: { x: [-1, 1] } });
}
/** The oracle: softplus(x) + softplus(−x) = |x| + 2·log1p(e^−|x|), written independently. */
const bowl = (x: number): number => Math.abs(x) + 2 * Math.log1p(Math.exp(-Math.abs(x)));
const BOWL_MIN = 1.3862943611198906; // 2·ln 2 as a float64

/** y = relu(x) − relu(x − 1) on [−1, 2]: 0 on [−1, 0], 1 on [1, 2] (two plateaus). */
function rampNet(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 1 }],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 2, weight: [1, 1], bias: [0, -1] }, inputs: ['x'] },
      { name: 'a', op: { type: 'unary', fn: 'relu' }, inputs: ['h'] },
      { name: 'y', op: { type: 'dense', units: 1, weight: [1, -1], bias: [0] }, inputs: ['a'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  };
  return createModel(g, { name: 'ramp', inputRanges: { x: [-1, 2] } });
}

/** A seeded 2-16-16-1 tanh net on [−1, 1]² and the largest output on a 401² grid (its maximum sits on a corner). */
function tanhNet(): { model: Model; gridMax: number } {
  const r = rng(5);
  const model = createModel({
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      denseNode('d1', 'x', 2, 16, r),
      { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
      denseNode('d2', 'a1', 16, 16, r),
      { name: 'a2', op: { type: 'unary', fn: 'tanh' }, inputs: ['d2'] },
      denseNode('d3', 'a2', 16, 1, r),
    ],
    outputs: [{ node: 'd3', name: 'y' }],
  });
  const N = 401;
  const X = new Float64Array(N * N * 2);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) X.set([-1 + (2 * i) / (N - 1), -1 + (2 * j) / (N - 1)], (i * N + j) * 2);
  let gridMax = -Infinity;
  for (const v of model.network.evaluate(X, N * N)) gridMax = Math.max(gridMax, v);
  return { model, gridMax };
}
const SQUARE = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } as Record<string, [number, number]>;

/** Every solution reported is re-evaluated by a fresh forward pass and meets its targets. */
function expectSolutionsMeet(model: Model, r: SolveResult): void {
  for (const s of r.solutions) {
    const X = Float64Array.from(model.network.inputNames.map((k) => s.inputs[k]));
    const Y = model.network.evaluate(X, 1);
    for (const t of r.query.targets) {
      const y = Y[model.network.outputIndex(t.output)];
      expect(Math.abs(y - t.lo!), `${t.output} at ${JSON.stringify(s.unknowns)}`).toBeLessThanOrEqual(t.tolerance);
    }
  }
}

describe('a proven root never feeds "infeasible" (1 unknown, interval Newton)', () => {
  const model = loadShipped('seed-add.json');
  const f = seedAddOracle();

  it('seed net, 3 + b = 7 at atol 1e-15, rtol 0: solved at a float64 point the forward pass accepts', () => {
    const exact = bisect((b) => f(3, b) - 7, 0, 10);
    for (const run of [invert, certify]) {
      const r = run(model, { given: { a: 3 }, want: { sum: 7 } }, { atol: 1e-15, rtol: 0 });
      expect(r.status, run.name).toBe('solved');
      expect(r.solutions).toHaveLength(1);
      expect(Math.abs(r.solutions[0].unknowns.b - exact)).toBeLessThan(1e-9);
      expectSolutionsMeet(model, r);
      if (r.certificate) expect(verifyCertificate(model, r.certificate).valid).toBe(true);
    }
  });

  it('property: a target reachable inside the box is never "infeasible", at any tolerance', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: 19, noNaN: true }), fc.constantFrom(1e-300, 1e-17, 1e-16, 1e-15, 1e-13), (t, atol) => {
        // the oracle: the closed form crosses t inside [0, 10] (it is increasing in b)
        if (!(f(3, 0) < t && t < f(3, 10))) return;
        const exact = bisect((b) => f(3, b) - t, 0, 10);
        const r = invert(model, { given: { a: 3 }, want: { sum: t } }, { atol, rtol: 0 });
        expect(r.status).not.toBe('infeasible');
        expect(r.proven).toBe(false);
        expectSolutionsMeet(model, r);
        if (r.status === 'solved') expect(Math.abs(r.solutions[0].unknowns.b - exact)).toBeLessThan(1e-9);
        else {
          // no float64 b meets so small a tolerance: say why, with the best point found
          expect(r.status).toBe('unknown');
          expect(r.message).toMatch(/tolerance/);
          expect(Math.abs(r.best!.unknowns.b - exact)).toBeLessThan(1e-9);
          // and indeed no float64 within 64 ulps of the best point meets it
          let b = r.best!.unknowns.b;
          for (let i = 0; i < 64; i++) b = b - Math.abs(b) * 2 ** -53;
          for (let i = 0; i < 128; i++, b = b + Math.abs(b) * 2 ** -53) {
            const y = model.network.evaluate(Float64Array.from([3, b]), 1)[0];
            expect(Math.abs(y - t)).toBeGreaterThan(atol);
          }
        }
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it('certify: the same at tolerances float64 cannot resolve', () => {
    for (const t of [7 + 3e-15, 7.3, 12.1]) {
      const r = certify(model, { given: { a: 3 }, want: { sum: t } }, { atol: 1e-300, rtol: 0 });
      expect(r.status).not.toBe('infeasible');
      expect(r.proven).toBe(false);
      expectSolutionsMeet(model, r);
      if (r.status !== 'solved') expect(r.message).toMatch(/tolerance/);
    }
  });
});

describe('a proven Krawczyk root never goes missing from a list called complete (2 unknowns)', () => {
  const model = loadShipped('seed-4in2out.json');
  it('targets nudged by 1e-13 and 3e-14, atol 1e-300: both roots near (2, 5) and (5, 2) listed, or no claim', () => {
    for (const d of [1e-13, 3e-14]) {
      const r = certify(model, { given: { x1: 1, x2: 2 }, want: { y1: FOUR_IN_TARGETS.y1 + d, y2: FOUR_IN_TARGETS.y2 } }, { atol: 1e-300, rtol: 0 });
      expect(r.status).not.toBe('infeasible');
      expectSolutionsMeet(model, r);
      const near = (a: number, b: number): boolean => r.solutions.some((s) => Math.abs(s.unknowns.x3 - a) < 1e-6 && Math.abs(s.unknowns.x4 - b) < 1e-6);
      if (r.complete) {
        expect(near(2, 5) && near(5, 2), `complete but ${JSON.stringify(r.solutions.map((s) => s.unknowns))}`).toBe(true);
        expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
      } else {
        expect(r.certificate).toBeUndefined();
        expect(r.message).toMatch(/tolerance/);
      }
      if (r.status !== 'solved') expect(r.status).toBe('unknown');
    }
  });
});

describe('zero-width boxes', () => {
  const model = loadShipped('seed-add.json');
  it('b = 4:4, sum = 70: infeasible only with a certificate that verifies; the volume is all excluded', () => {
    const r = certify(model, { given: { a: 3 }, want: { sum: 70 }, bounds: { b: [4, 4] } });
    // the verifier handles zero-width boxes, so the claim is made, with a certificate that verifies
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
    expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
    expect(r.certification!.excludedFraction).toBe(1);
    // one box: "1 box", not "1 boxes"
    expect(r.message).toMatch(/\(1 box, certificate attached\)/);
  });

  it('b = 4:4 with the target the net gives there: solved, never infeasible', () => {
    const t = model.network.evaluate(Float64Array.from([3, 4]), 1)[0];
    for (const run of [invert, certify]) {
      const r = run(model, { given: { a: 3 }, want: { sum: t }, bounds: { b: [4, 4] } }, { atol: 1e-12, rtol: 0 });
      expect(r.status).toBe('solved');
      expect(r.solutions[0].unknowns.b).toBe(4);
      expect(r.excludedFraction ?? 0).toBe(0);
    }
  });
});

describe('tangent and flat targets are one solution set, not a flood', () => {
  const model = softplusBowl();
  const t = BOWL_MIN;
  const tol = 1e-6 + 1e-6 * t;
  // the oracle: every |x| ≤ rStar meets the target (the bowl is even and increasing in |x|)
  const rStar = bisect((x) => bowl(x) - t - tol, 0, 1);

  const checkCluster = (r: SolveResult): void => {
    expect(r.status).toBe('solved');
    expect(r.solutions.length).toBeLessThanOrEqual(2);
    expect(r.complete).toBe(false);
    expectSolutionsMeet(model, r);
    const c = r.solutions.find((s) => s.cluster);
    expect(c, JSON.stringify(r.solutions.map((s) => s.unknowns))).toBeDefined();
    const [lo, hi] = c!.cluster!.extent.x;
    expect(lo).toBeLessThanOrEqual(c!.unknowns.x);
    expect(c!.unknowns.x).toBeLessThanOrEqual(hi);
    expect(lo).toBeLessThanOrEqual(0);
    expect(hi).toBeGreaterThanOrEqual(0);
    if (c!.cluster!.everyPoint) {
      // proven: every point of the extent meets the target; the oracle agrees
      expect(-lo).toBeLessThanOrEqual(rStar * (1 + 1e-6));
      expect(hi).toBeLessThanOrEqual(rStar * (1 + 1e-6));
      for (let i = 0; i <= 100; i++) expect(bowl(lo + ((hi - lo) * i) / 100) - t).toBeLessThanOrEqual(tol * (1 + 1e-9));
    }
    expect(r.solutionSet).toMatchObject({ kind: 'isolated', count: r.solutions.length, clusters: 1 });
  };

  it('softplus(x) + softplus(−x) at its minimum 2·ln 2: one solution interval around 0', () => {
    const r = invert(model, { want: { y: t }, bounds: { x: [-1, 1] } });
    checkCluster(r);
    expect(r.briefReport()).toMatch(/every x in \[/);
  });

  it('the same under certify: no flood, no claim of completeness', () => {
    const r = certify(model, { want: { y: t }, bounds: { x: [-1, 1] } }, { maxBoxes: 20_000 });
    checkCluster(r);
    expect(r.certificate).toBeUndefined();
  });

  it('just above the minimum (two roots 1e-4 apart, inside the tolerance region): still one set', () => {
    const r = invert(model, { want: { y: t + 1e-9 }, bounds: { x: [-1, 1] } });
    expect(r.status).toBe('solved');
    expect(r.solutions.length).toBeLessThanOrEqual(3);
    expectSolutionsMeet(model, r);
  });

  it('below the minimum by more than the tolerance: still proven infeasible (clustering takes nothing away)', () => {
    const tt = t - 3 * tol;
    expect(bowl(0) - tt).toBeGreaterThan(tol); // the oracle: unreachable
    const r = certify(model, { want: { y: tt }, bounds: { x: [-1, 1] } });
    expect(r.status).toBe('infeasible');
    expect(verifyCertificate(model, r.certificate!).valid).toBe(true);
  });

  it('a plateau (relu ramp at 0 on [−1, 0]): one interval that holds the whole plateau', () => {
    const ramp = rampNet();
    for (const target of [0, 1]) {
      const r = invert(ramp, { want: { y: target }, bounds: { x: [-1, 2] } });
      expect(r.status).toBe('solved');
      expect(r.solutions.length).toBeLessThanOrEqual(2);
      expectSolutionsMeet(ramp, r);
      const c = r.solutions.find((s) => s.cluster)!;
      expect(c).toBeDefined();
      const [lo, hi] = c.cluster!.extent.x;
      // the oracle: the plateau is [−1, 0] (target 0) or [1, 2] (target 1)
      const plateau = target === 0 ? [-1, 0] : [1, 2];
      expect(lo).toBeLessThanOrEqual(plateau[0] + 1e-3);
      expect(hi).toBeGreaterThanOrEqual(plateau[1] - 1e-3);
      if (c.cluster!.everyPoint) {
        // and no further than the tolerance beyond it (y = x on the slopes next to the plateau)
        const tol = 1e-6 + 1e-6 * target;
        expect(lo).toBeGreaterThanOrEqual(plateau[0] - tol * (1 + 1e-9));
        expect(hi).toBeLessThanOrEqual(plateau[1] + tol * (1 + 1e-9));
        for (let i = 0; i <= 300; i++) {
          const x = lo + ((hi - lo) * i) / 300;
          const y = Math.max(x, 0) - Math.max(x - 1, 0); // the oracle
          expect(Math.abs(y - target)).toBeLessThanOrEqual(tol * (1 + 1e-9));
        }
      }
    }
  });
});

describe('time limits cover the whole call, in every phase', () => {
  afterEach(() => vi.restoreAllMocks());

  /**
   * A clock driven by work: every engine call advances it in proportion to its rows (and every
   * reading by 1 µs), so "time" is deterministic and a phase that ignores the deadline shows up as an
   * overshoot.
   */
  function workClock(model: Model): { elapsed: () => number } {
    let clock = 1000;
    // reading the clock costs a little too, so phases that only check the clock still move it
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 0.001));
    const net = model.network as unknown as Record<string, (...a: unknown[]) => unknown>;
    // ms per row: a forward pass or point Jacobian, and an interval enclosure (about 20× dearer)
    const cost: Record<string, number> = { evaluate: 0.001, jacobian: 0.001, bounds: 0.02, jacobianBounds: 0.02 };
    for (const k of Object.keys(cost)) {
      const orig = net[k].bind(net);
      net[k] = (...a: unknown[]) => {
        const rows = typeof a[1] === 'number' ? a[1] : (a[2] as number);
        clock += cost[k] * (rows || 1);
        return orig(...a);
      };
    }
    const start = clock;
    return { elapsed: () => clock - start };
  }

  it('certify on the flat target: stops within the limit, and stats.timeMs is the whole call', () => {
    const model = softplusBowl();
    const clock = workClock(model);
    const limit = 0.05; // seconds of work-clock time
    const r = certify(model, { want: { y: BOWL_MIN }, bounds: { x: [-1, 1] } }, { timeLimit: limit, maxEvaluations: 1e9, maxBoxes: 1e9 });
    const ms = clock.elapsed();
    // small overshoot: one batch of work after the deadline, per phase
    expect(ms).toBeLessThanOrEqual(limit * 1000 * 1.1 + 2);
    expect(r.stats.timeMs).toBeGreaterThanOrEqual(ms - 0.01);
    expect(r.solutions.length).toBeLessThanOrEqual(2);
  });

  it('certify on a proof that cannot finish: the proof phase gets what the search left, not a fresh limit', () => {
    const { model, gridMax } = tanhNet();
    const clock = workClock(model);
    const limit = 0.01;
    // a level curve of the net: the search finds it, branch-and-bound can only nibble at it
    const r = certify(model, { want: { y: gridMax - 0.5 }, bounds: SQUARE }, { timeLimit: limit, maxEvaluations: 1e9, maxBoxes: 1e9 });
    const ms = clock.elapsed();
    expect(ms).toBeLessThanOrEqual(limit * 1000 * 1.1 + 2);
    expect(r.stats.timeMs).toBeGreaterThanOrEqual(ms - 0.01);
    // it was the time limit that stopped the proof, and the text says so
    expect(r.certification!.budgetHit).toBe(true);
    expect(r.briefReport()).toMatch(/ran out of budget \(time limit\)/);
  });
});

describe('certify never emits a certificate its own verifier rejects', () => {
  afterEach(() => {
    vi.doUnmock('../src/certify/proof/certificate.ts');
    vi.resetModules();
  });

  it('when the verifier rejects, the claim is downgraded with the reason (no certificate, not proven)', async () => {
    vi.resetModules();
    vi.doMock('../src/certify/proof/certificate.ts', async (orig) => {
      const real = (await orig()) as typeof import('../src/certify/proof/certificate.ts');
      return { ...real, verifyCertificate: () => ({ valid: false, independent: true, reason: 'forged for the test', checkedBoxes: 0 }) };
    });
    const { certify: certifyMocked } = await import('../src/api/certify.ts');
    const { saturatingNet } = await import('./problems.ts');
    const sat = saturatingNet();
    const r = certifyMocked(sat, { want: { y: 2 } });
    expect(r.status).not.toBe('infeasible');
    expect(r.proven).toBe(false);
    expect(r.certificate).toBeUndefined();
    expect(r.message).toMatch(/forged for the test/);
    const seed = loadShipped('seed-add.json');
    const s = certifyMocked(seed, { given: { a: 3 }, want: { sum: 7 } });
    expect(s.status).toBe('solved');
    expect(s.complete).toBe(false);
    expect(s.certificate).toBeUndefined();
    expect(s.message).toMatch(/forged for the test/);
  });
});

describe('percentages are never rounded up to 100', () => {
  it('formatPercent', () => {
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.5)).toBe('50.0%');
    expect(formatPercent(0)).toBe('0.0%');
    expect(formatPercent(0.9999999988)).not.toMatch(/^100/);
    expect(formatPercent(0.9999999988)).toBe('99.9999998%');
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), (f) => {
        const s = formatPercent(f);
        expect(s).toMatch(/%$/);
        const v = Number(s.slice(0, -1));
        expect(v).toBeLessThan(100);
        expect(v).toBeLessThanOrEqual(100 * f * (1 + 1e-12));
      }),
      { seed: 3, numRuns: 500 },
    );
  });

  it('a proof that ran out of budget says so in the text report, with a percentage below 100', () => {
    const { model, gridMax } = tanhNet();
    for (const t of [gridMax + 3e-6, gridMax + 1e-6 + 1e-6 * Math.abs(gridMax) + 2e-7, gridMax - 0.5]) {
      const r = certify(model, { want: { y: t }, bounds: SQUARE }, { maxBoxes: 300 });
      if (!r.certification!.budgetHit) continue;
      expect(r.status).not.toBe('infeasible');
      expect(r.certification!.excludedFraction).toBeLessThan(1);
      const text = r.briefReport();
      expect(text).toMatch(/ran out/);
      expect(text).not.toMatch(/100(\.0)?%/);
      expect(r.fullReport()).not.toMatch(/100(\.0)?%/);
    }
  });
});
