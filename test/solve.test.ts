import { describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { invert } from '../src/api/invert.ts';
import { INVERT_DEFAULTS, type InvertOptions } from '../src/solve/invert.ts';
import { buildProblem } from '../src/problem/query.ts';
import { samePoint } from '../src/solve/verify.ts';
import { runCli } from '../src/cli/program.ts';
import { NetinvertError } from '../src/errors.ts';
import { createModel } from '../src/model.ts';
import {
  bank,
  bisect,
  evenE,
  FOUR_IN_TARGETS,
  loadShipped,
  rankDeficientNet,
  saturatingNet,
  seedAddOracle,
  threeRootNet,
  twinOutputNet,
} from './problems.ts';

const METHODS: { name: string; opts: InvertOptions; tol: number }[] = [
  { name: 'lm', opts: { method: 'lm' }, tol: 1e-6 },
  // Adam: fixed learning rate and stopping rule (src/solve/adam.ts); looser tolerance stated here
  { name: 'adam', opts: { method: 'adam', atol: 1e-4, rtol: 0 }, tol: 1e-4 },
];

function unknownVec(s: { unknowns: Record<string, number> }): number[] {
  return Object.values(s.unknowns);
}

describe('problem bank: every solver against every problem', () => {
  for (const m of METHODS) {
    for (const p of bank()) {
      it(`${m.name}: ${p.name}`, () => {
        const r = invert(p.model, p.query, { ...m.opts, seed: 1, maxEvaluations: 400_000 });
        expect(r.status).toBe(p.status);
        // bounds never violated, every reported point verified
        for (const s of [...r.solutions, ...(r.best ? [r.best] : [])]) {
          for (const b of r.query.bounds) {
            expect(s.unknowns[b.input]).toBeGreaterThanOrEqual(b.lo);
            expect(s.unknowns[b.input]).toBeLessThanOrEqual(b.hi);
          }
        }
        for (const s of r.solutions) {
          expect(s.meetsTargets).toBe(true);
          expect(s.maxMiss).toBeLessThanOrEqual(m.tol * 10);
        }
        if (p.solutions) {
          expect(r.solutionSet).toEqual({ kind: 'isolated', count: p.solutions.length });
          const got = r.solutions.map(unknownVec);
          for (const want of p.solutions) {
            const hit = got.some((g) => g.every((v, j) => Math.abs(v - want[j]) < (m.name === 'lm' ? 1e-7 : 2e-3)));
            expect(hit, `solution ${want} not found among ${JSON.stringify(got)}`).toBe(true);
          }
        }
        if (p.continuumDimension !== undefined) {
          expect(r.solutionSet.kind).toBe('continuum');
          if (r.solutionSet.kind === 'continuum') expect(r.solutionSet.dimension).toBe(p.continuumDimension);
          expect(r.solutions.length).toBeGreaterThan(2);
        }
        // plain JSON round trip
        expect(JSON.parse(JSON.stringify(r)).status).toBe(r.status);
      });
    }
  }
});

describe('the seed question', () => {
  it("3 + b = 7: the network's own root to 1e-9, from the thread's closed form solved by bisection", () => {
    const f = seedAddOracle();
    const root = bisect((b) => f(3, b) - 7, 0, 10);
    const r = invert(loadShipped('seed-add.json'), { given: { a: 3 }, want: { sum: 7 } });
    expect(r.status).toBe('solved');
    expect(r.solutions).toHaveLength(1);
    expect(Math.abs(r.solutions[0].unknowns.b - root)).toBeLessThan(1e-9);
    expect(Math.abs(root - 4)).toBeLessThan(0.05); // it learned to add
    expect(r.complete).toBe(true);
    expect(r.solutions[0].proof).toBe('unique-root');
    expect(r.method).toBe('interval-newton-1d');
    expect(r.query.bounds[0].source).toBe('training range');
  });

  it('4-in/2-out: both solutions, checked against a dense grid search', () => {
    const model = loadShipped('seed-4in2out.json');
    const r = invert(model, { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS });
    // grid oracle: local minima of the max miss over a 201×201 grid, below a threshold
    const N = 201,
      h = 10 / (N - 1);
    const X = new Float64Array(N * N * 4);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) X.set([1, 2, i * h, j * h], (i * N + j) * 4);
    const Y = model.network.evaluate(X, N * N);
    const miss = (i: number, j: number): number => {
      const q = i * N + j;
      return Math.max(Math.abs(Y[q * 2] - FOUR_IN_TARGETS.y1), Math.abs(Y[q * 2 + 1] - FOUR_IN_TARGETS.y2));
    };
    const minima: [number, number][] = [];
    for (let i = 1; i < N - 1; i++)
      for (let j = 1; j < N - 1; j++) {
        const v = miss(i, j);
        if (v > 0.05) continue;
        let isMin = true;
        for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) if ((a || b) && miss(i + a, j + b) < v) isMin = false;
        if (isMin) minima.push([i * h, j * h]);
      }
    expect(minima.length).toBe(2);
    expect(r.solutions).toHaveLength(2);
    for (const [x3, x4] of minima) {
      expect(r.solutions.some((s) => Math.abs(s.unknowns.x3 - x3) <= h && Math.abs(s.unknowns.x4 - x4) <= h)).toBe(true);
    }
  });
});

describe('one unknown, one equality: interval Newton', () => {
  it('finds all three roots of tanh(3x) − x/2 and certifies the list complete', () => {
    const r = invert(threeRootNet(), { want: { y: 0 } });
    expect(r.status).toBe('solved');
    expect(r.complete).toBe(true);
    const g = (x: number): number => Math.tanh(3 * x) - 0.5 * x;
    // oracle: sign changes on a fine grid, refined by bisection
    const roots: number[] = [];
    for (let i = 0; i < 8000; i++) {
      const a = -4 + i * 0.001 + 0.0003,
        b = a + 0.001;
      if (Math.sign(g(a)) !== Math.sign(g(b))) roots.push(bisect(g, a, b));
    }
    expect(roots).toHaveLength(3);
    const got = r.solutions.map((s) => s.unknowns.x);
    expect(got).toHaveLength(3);
    roots.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThan(1e-12));
    for (const s of r.solutions) expect(s.proof).toBe('unique-root');
  });

  it('proves an unreachable target infeasible (exit status infeasible)', () => {
    const r = invert(loadShipped('seed-add.json'), { given: { a: 3 }, want: { sum: 70 } });
    expect(r.status).toBe('infeasible');
    expect(r.proven).toBe(true);
    // independent check: the oracle's maximum over a fine grid is far below 70
    const f = seedAddOracle();
    let mx = -Infinity;
    for (let b = 0; b <= 10; b += 0.01) mx = Math.max(mx, f(3, b));
    expect(mx).toBeLessThan(70);
  });

  it('is deterministic', () => {
    const a = invert(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS }, { seed: 7 });
    const b = invert(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS }, { seed: 7 });
    expect(a.solutions).toEqual(b.solutions);
    expect(a.stats.evaluations).toBe(b.stats.evaluations);
  });
});

describe('best compromise', () => {
  it("unreachable target: the solver's miss is at most the grid's minimum miss", () => {
    const model = saturatingNet();
    const r = invert(model, { want: { y: 2 } });
    expect(r.status).toBe('best-compromise');
    expect(r.proven).toBe(false);
    const best = r.best!;
    let gridMin = Infinity;
    for (let i = 0; i <= 200; i++)
      for (let j = 0; j <= 200; j++) {
        const y = Math.tanh(-1 + i / 100 + 2 * (-1 + j / 100) - 0.5);
        gridMin = Math.min(gridMin, Math.abs(y - 2));
      }
    expect(best.maxMiss).toBeLessThanOrEqual(gridMin + 1e-12);
    expect(best.activeBounds).toEqual({ x1: 'upper', x2: 'upper' });
  });

  it('weights: conflicting targets y1 = 0 (weight 3) and y2 = 1 on y1 = y2 = x give x = 1/10', () => {
    const r = invert(twinOutputNet(), { want: { y1: { eq: 0, weight: 3 }, y2: 1 } });
    expect(r.status).toBe('best-compromise');
    // minimise 9x² + (x − 1)²  →  x = 1/10
    expect(r.best!.unknowns.x).toBeCloseTo(0.1, 10);
  });
});

describe('ranges and inequalities', () => {
  it('a range target is met inside the range', () => {
    const r = invert(saturatingNet(), { want: { y: { range: [0.2, 0.3] } } });
    expect(r.status).toBe('solved');
    for (const s of r.solutions) {
      expect(s.outputs.y).toBeGreaterThanOrEqual(0.2 - 1e-6);
      expect(s.outputs.y).toBeLessThanOrEqual(0.3 + 1e-6);
    }
    // met strictly inside: full-dimensional
    expect(r.solutionSet).toMatchObject({ kind: 'continuum', dimension: 2 });
  });

  it('≥ and ≤ targets', () => {
    const ge = invert(saturatingNet(), { want: { y: { ge: 0.9 } } });
    expect(ge.status).toBe('solved');
    for (const s of ge.solutions) expect(s.outputs.y).toBeGreaterThanOrEqual(0.9 - 1e-6);
    const le = invert(saturatingNet(), { want: { y: { le: -0.99 } } });
    expect(le.status).toBe('solved');
    for (const s of le.solutions) expect(s.outputs.y).toBeLessThanOrEqual(-0.99 + 1e-6);
    const no = invert(saturatingNet(), { want: { y: { ge: 0.999 } } });
    expect(no.status).toBe('best-compromise');
  });
});

describe('closest to a reference', () => {
  const model = loadShipped('seed-4in2out.json');
  // brute force: walk x3 over a fine grid, solve x4 on the curve y1 = target by bisection
  function bruteClosest(ref: [number, number]): number {
    let best = Infinity;
    for (let i = 0; i <= 20000; i++) {
      const x3 = i * 0.0005;
      const g = (x4: number): number => model.network.evaluate(new Float64Array([1, 2, x3, x4]), 1)[0] - FOUR_IN_TARGETS.y1;
      if (Math.sign(g(0)) === Math.sign(g(10))) continue;
      const x4 = bisect(g, 0, 10);
      best = Math.min(best, Math.hypot((x3 - ref[0]) / 10, (x4 - ref[1]) / 10));
    }
    return best;
  }
  for (const ref of [
    [1, 1],
    [9, 0],
    [6, 6],
  ] as [number, number][]) {
    it(`agrees with brute force for reference (${ref})`, () => {
      const r = invert(model, { given: { x1: 1, x2: 2 }, want: { y1: FOUR_IN_TARGETS.y1 }, closestTo: { x3: ref[0], x4: ref[1] } });
      expect(r.status).toBe('solved');
      const c = r.closest!;
      expect(c.meetsTargets).toBe(true);
      expect(c.distance!).toBeLessThanOrEqual(bruteClosest(ref) + 1e-4);
      expect(c.distance!).toBeGreaterThanOrEqual(bruteClosest(ref) - 1e-4);
    });
  }
});

describe('budget', () => {
  it('a tiny evaluation budget gives status unknown, with the best point so far', () => {
    const r = invert(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS }, { maxEvaluations: 3 });
    expect(r.status).toBe('unknown');
    expect(r.best).toBeDefined();
  });
});

describe('validation before any work', () => {
  const model = loadShipped('seed-add.json');
  const cases: [string, () => unknown, string, RegExp][] = [
    ['unknown given input', () => invert(model, { given: { c: 1 }, want: { sum: 7 } }), 'unknown_input', /"c".*inputs are: a, b/],
    ['unknown output', () => invert(model, { given: { a: 3 }, want: { total: 7 } }), 'unknown_output', /"total".*outputs are: sum/],
    ['NaN target', () => invert(model, { given: { a: 3 }, want: { sum: NaN } }), 'bad_query', /sum.*finite/],
    ['NaN given', () => invert(model, { given: { a: NaN }, want: { sum: 7 } }), 'bad_query', /"a"/],
    ['lo > hi', () => invert(model, { given: { a: 3 }, want: { sum: 7 }, bounds: { b: [5, 1] } }), 'bad_bounds', /"b".*5.*1/],
    ['bounds exclude the given value', () => invert(model, { given: { a: 30 }, want: { sum: 7 }, bounds: { a: [0, 10] } }), 'bad_bounds', /"a".*30/],
    ['bounds of unknown name', () => invert(model, { given: { a: 3 }, want: { sum: 7 }, bounds: { q: [0, 1] } }), 'unknown_input', /"q"/],
    ['infinite bounds', () => invert(model, { given: { a: 3 }, want: { sum: 7 }, bounds: { b: [0, Infinity] } }), 'bad_bounds', /finite/],
    ['no target', () => invert(model, { given: { a: 3 }, want: {} }), 'bad_query', /no target/],
    ['nothing unknown', () => invert(model, { given: { a: 3, b: 4 }, want: { sum: 7 } }), 'bad_query', /every input is given \(a = 3, b = 4\), so there is nothing to solve for.*drop "b"/],
    ['given and asked for (bounds)', () => invert(model, { given: { a: 3, b: 4 }, want: { sum: 7 }, bounds: { b: [0, 10] } }), 'bad_query', /input "b" is both given \(= 4\) and asked for \(bounds \[0,10\]\).*drop "b"/],
    ['given and asked for (closest-to)', () => invert(model, { given: { a: 3, b: 4 }, want: { sum: 7 }, closestTo: { a: 1 } }), 'bad_query', /input "a" is both given \(= 3\) and asked for \(a reference value/],
    ['range lo > hi', () => invert(model, { given: { a: 3 }, want: { sum: { range: [3, 1] } } }), 'bad_query', /range/],
    ['zero weight', () => invert(model, { given: { a: 3 }, want: { sum: { eq: 7, weight: 0 } } }), 'bad_query', /weight/],
    ['zero tolerance', () => invert(model, { given: { a: 3 }, want: { sum: 7 } }, { atol: 0, rtol: 0 }), 'bad_query', /tolerance|atol/],
    ['bad method', () => invert(model, { given: { a: 3 }, want: { sum: 7 } }, { method: 'sgd' as 'lm' }), 'bad_query', /method/],
    ['bad reference name', () => invert(model, { given: { a: 3 }, want: { sum: 7 }, closestTo: { z: 1 } }), 'unknown_input', /"z"/],
    ['bad distance', () => invert(model, { given: { a: 3 }, want: { sum: 7 }, closestTo: { b: 1 }, distance: 'l3' as 'l2' }), 'bad_query', /distance/],
  ];
  for (const [name, fn, code, re] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetinvertError);
      expect((err as NetinvertError).code).toBe(code);
      expect((err as NetinvertError).message).toMatch(re);
    });
  }
});

describe('properties', () => {
  it('solutions of random reachable queries on a random 2-unknown tanh net are verified and in bounds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 8, maxLength: 8 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (w, u, v) => {
          const model = createModel({
            inputs: [{ name: 'x', width: 2 }],
            nodes: [
              { name: 'h', op: { type: 'dense', units: 2, weight: w.slice(0, 4), bias: w.slice(4, 6) }, inputs: ['x'] },
              { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
              { name: 'y', op: { type: 'dense', units: 1, weight: w.slice(6, 8), bias: [0] }, inputs: ['t'] },
            ],
            outputs: [{ node: 'y', name: 'y' }],
          });
          const yt = model.network.evaluate(new Float64Array([u, v]), 1)[0];
          const r = invert(model, { want: { y: yt }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } }, { maxEvaluations: 20000 });
          expect(r.status).toBe('solved');
          for (const s of r.solutions) {
            expect(s.meetsTargets).toBe(true);
            expect(Math.abs(model.network.evaluate(new Float64Array([s.unknowns['x[0]'], s.unknowns['x[1]']]), 1)[0] - yt)).toBeLessThanOrEqual(
              1e-6 + 1e-6 * Math.abs(yt),
            );
            for (const k of ['x[0]', 'x[1]']) {
              expect(Math.abs(s.unknowns[k])).toBeLessThanOrEqual(1);
            }
          }
        },
      ),
      { seed: 42, numRuns: 25 },
    );
  });
});

describe('rank-deficient square system', () => {
  it('dimension 1 where n − m would say 0', () => {
    const r = invert(rankDeficientNet(), { want: { y1: 0.5, y2: 1.0 } });
    expect(r.solutionSet).toMatchObject({ kind: 'continuum', dimension: 1 });
    for (const s of r.solutions) expect(Math.tanh(s.unknowns['x[0]'] + s.unknowns['x[1]'])).toBeCloseTo(0.5, 6);
  });
  it('four-root net targets come from the even function', () => {
    expect(evenE(3)).toBeLessThan(evenE(1));
  });
});

describe('duplicates are merged (scale-aware tolerance)', () => {
  it('a continuum whose runs all end at one corner gives one representative, not ten copies 1e-15 apart', () => {
    // y = tanh(x0) + tanh(x1) = 2·tanh(1) on [0, 1]²: only the corner (1, 1) reaches it (tanh is
    // increasing), but the Jacobian has rank 1 < 2 unknowns, so the set is reported as a continuum
    const model = createModel({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['x'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: [1, 1], bias: [0] }, inputs: ['t'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    });
    const r = invert(model, { want: { y: 2 * Math.tanh(1) }, bounds: { 'x[0]': [0, 1], 'x[1]': [0, 1] } });
    expect(r.status).toBe('solved');
    expect(r.solutions).toHaveLength(1);
    expect(r.solutions[0].unknowns['x[0]']).toBeCloseTo(1, 6);
    expect(r.solutions[0].unknowns['x[1]']).toBeCloseTo(1, 6);
    expect(r.message).toMatch(/1 representative\b/);
  });

  it('samePoint: 5e-15 apart is one point, 1e-6 of the box apart is two', () => {
    const p = buildProblem(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS });
    expect(samePoint(p, [3, 4], [3 + 5e-15, 4])).toBe(true);
    expect(samePoint(p, [3, 4], [3 + 1e-5, 4])).toBe(false);
    // scale-aware: a 1e-15-relative difference on a value of 1e6 is round-off too
    expect(samePoint(p, [1e6, 4], [1e6 * (1 + 1e-15), 4])).toBe(true);
  });
});

describe('defaults', () => {
  it('Model lists its flat feature names in model order', () => {
    const m = loadShipped('seed-4in2out.json');
    expect(m.inputNames).toEqual(['x1', 'x2', 'x3', 'x4']);
    expect(m.outputNames).toEqual(['y1', 'y2']);
    const v = createModel({
      inputs: [{ name: 'x', width: 3 }],
      nodes: [{ name: 'y', op: { type: 'dense', units: 2, weight: [1, 0, 0, 1, 1, 1], bias: [0, 0] }, inputs: ['x'] }],
      outputs: [{ node: 'y', name: 'y' }],
    });
    expect(v.inputNames).toEqual(['x[0]', 'x[1]', 'x[2]']);
    expect(v.outputNames).toEqual(['y[0]', 'y[1]']);
  });

  it('invert has the CLI default time limit: with the clock 61 s on, the search stops (status unknown)', () => {
    expect(INVERT_DEFAULTS.timeLimit).toBe(60);
    const real = performance.now.bind(performance);
    let calls = 0;
    // a clock that moves 61 s between any two readings
    const spy = vi.spyOn(performance, 'now').mockImplementation(() => real() + 61_000 * calls++);
    try {
      const r = invert(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS });
      expect(r.status).toBe('unknown');
    } finally {
      spy.mockRestore();
    }
    // and an explicit timeLimit: Infinity turns it off
    let calls2 = 0;
    const spy2 = vi.spyOn(performance, 'now').mockImplementation(() => real() + 61_000 * calls2++);
    try {
      const r = invert(loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS }, { timeLimit: Infinity });
      expect(r.status).toBe('solved');
    } finally {
      spy2.mockRestore();
    }
  });

  it("the CLI's --time-limit default is invert's", async () => {
    let out = '';
    await runCli(['solve', '--help'], { out: (s) => (out += s + '\n'), err: (s) => (out += s + '\n') });
    const line = out.split('\n').find((l) => l.includes('--time-limit'))!;
    expect(line).toContain(`(default: "${INVERT_DEFAULTS.timeLimit}")`);
  });
});
