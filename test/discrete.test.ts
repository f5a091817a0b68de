/**
 * Discrete unknowns (Query.integers / categorical / oneHot; problem/discrete.ts, api/discrete.ts):
 * the seed adder with an integer input, brute force over every assignment on small nets (the
 * oracle: a plain forward pass at each assignment, and for a continuous rest the intermediate value
 * theorem on a net monotone in it), one-hot groups, the nearest integers of an unreachable integer
 * target, per-branch certificates re-checked by the independent verifier, and the coded errors.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { invert } from '../src/api/invert.ts';
import { certify } from '../src/api/certify.ts';
import { invertMilp } from '../src/api/milp.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import { MAX_DISCRETE_ASSIGNMENTS } from '../src/problem/discrete.ts';
import type { Query } from '../src/problem/query.ts';
import { NetinvertError } from '../src/errors.ts';
import type { Model } from '../src/model.ts';
import { rng } from './util/rng.ts';

const seed = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url)));
const sumAt = (m: Model, x: number[]): number => m.network.evaluate(Float64Array.from(x), 1)[0];

/** A small tanh MLP over inputs x0..x3 (random weights, seeded), one output y. */
function smallNet(seedNo: number): Model {
  const r = rng(seedNo);
  const w1 = Array.from({ length: 4 }, () => r.vector(3, -1.5, 1.5));
  const w2 = Array.from({ length: 3 }, () => r.vector(1, -2, 2));
  const def = {
    format: 'netinvert-model',
    version: 1,
    name: 'small',
    inputs: [{ name: 'x0' }, { name: 'x1' }, { name: 'x2' }, { name: 'x3' }],
    nodes: [
      { name: 'cat', inputs: ['x0', 'x1', 'x2', 'x3'], op: 'concat' },
      { name: 'h', inputs: ['cat'], op: 'dense', units: 3, weight: w1, bias: r.vector(3, -0.5, 0.5) },
      { name: 'ha', inputs: ['h'], op: 'tanh' },
      { name: 'o', inputs: ['ha'], op: 'dense', units: 1, weight: w2, bias: [0.1] },
    ],
    outputs: [{ node: 'o', name: 'y' }],
    metadata: { inputRanges: { x0: [-2, 2], x1: [0, 1], x2: [0, 1], x3: [0, 1] } },
  };
  return loadNativeModel(JSON.stringify(def));
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NetinvertError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('the seed adder with an integer input', () => {
  const q: Query = { given: { a: 3 }, integers: ['b'], want: { sum: { range: [6.9, 7.1] } } };

  it('given a = 3 and sum in [6.9, 7.1], b = 4 exactly (every integer in b\'s box searched)', () => {
    // oracle: a forward pass at each integer b of the training range [0, 10]
    const oracle = [...Array(11).keys()].filter((b) => {
      const s = sumAt(seed, [3, b]);
      return s >= 6.9 && s <= 7.1;
    });
    expect(oracle).toEqual([4]);
    const r = invert(seed, q);
    expect(r.status).toBe('solved');
    expect(r.solutions.map((s) => s.unknowns.b)).toEqual([4]);
    expect(r.solutions[0].inputs).toEqual({ a: 3, b: 4 });
    expect(r.solutions[0].meetsTargets).toBe(true);
    expect(r.discrete!.assignments).toBe(11);
    expect(r.discrete!.branches.filter((b) => b.status === 'solved').map((b) => b.assignment)).toEqual([{ b: 4 }]);
    // the result states b's box as the query had it (the training range), not the pinned point
    expect(r.query.bounds).toEqual([{ input: 'b', lo: 0, hi: 10, source: 'training range' }]);
    expect(r.briefReport()).toContain('b');
  });

  it('with a proof: the one solution, and the list proven complete (every other integer proven infeasible)', () => {
    const r = certify(seed, q);
    expect(r.status).toBe('solved');
    expect(r.solutions.map((s) => s.unknowns.b)).toEqual([4]);
    expect(r.complete).toBe(true);
    for (const b of r.discrete!.branches) {
      if (b.assignment.b === 4) continue;
      expect(b.status).toBe('infeasible');
      expect(b.proven).toBe(true);
      // each branch's certificate embeds its own query (b pinned): the independent verifier accepts it
      expect(verifyCertificate(seed, b.certificate).valid).toBe(true);
    }
  });

  it('an integer target no integer meets (sum = 7.5): the nearest integers b = 4 and b = 5, both about 0.5 away', () => {
    const q75: Query = { given: { a: 3 }, integers: ['b'], want: { sum: 7.5 } };
    // oracle: the two integers whose forward pass is closest to 7.5
    const byMiss = [...Array(11).keys()].map((b) => ({ b, miss: Math.abs(sumAt(seed, [3, b]) - 7.5) })).sort((x, y) => x.miss - y.miss);
    const r = invert(seed, q75);
    // the search alone may already prove each 1-D branch empty (interval Newton): infeasible, proven
    expect(['best-compromise', 'infeasible']).toContain(r.status);
    if (r.status === 'infeasible') expect(r.proven).toBe(true);
    expect(r.solutions).toEqual([]);
    const near = r.discrete!.nearest!;
    expect(new Set(near.slice(0, 2).map((s) => s.unknowns.b))).toEqual(new Set([4, 5]));
    expect(new Set(byMiss.slice(0, 2).map((x) => x.b))).toEqual(new Set([4, 5]));
    expect(r.best!.unknowns.b).toBe(byMiss[0].b);
    expect(r.best!.maxMiss).toBeCloseTo(byMiss[0].miss, 9);
    for (const s of near.slice(0, 2)) expect(Math.abs(s.maxMiss - 0.5)).toBeLessThan(0.05);
    // --prove: every integer branch proven infeasible, so the claim is proven, nearest answers kept
    const c = certify(seed, q75);
    expect(c.status).toBe('infeasible');
    expect(c.proven).toBe(true);
    expect(c.certificate).toBeUndefined();
    expect(c.discrete!.branches).toHaveLength(11);
    for (const b of c.discrete!.branches) {
      expect(b.proven).toBe(true);
      expect(verifyCertificate(seed, b.certificate).valid).toBe(true);
    }
    expect(new Set(c.discrete!.nearest!.slice(0, 2).map((s) => s.unknowns.b))).toEqual(new Set([4, 5]));
  });

  it('an integer input with the other input continuous: each integer a whose range of sums holds 7 solves, with b inside', () => {
    // oracle: the net is increasing in b, so sum = 7 has a root b in [0, 10] iff f(a, 0) ≤ 7 ≤ f(a, 10)
    const oracle = [...Array(11).keys()].filter((a) => sumAt(seed, [a, 0]) <= 7 && sumAt(seed, [a, 10]) >= 7);
    expect(oracle.length).toBeGreaterThan(3);
    const r = invert(seed, { integers: ['a'], want: { sum: 7 } });
    expect(r.status).toBe('solved');
    // one continuous unknown and one equality: isolated roots (the pinned a does not count as free)
    expect(r.solutionSet.kind).toBe('isolated');
    expect([...new Set(r.solutions.map((s) => s.unknowns.a))].sort((x, y) => x - y)).toEqual(oracle);
    for (const s of r.solutions) {
      expect(Number.isInteger(s.unknowns.a)).toBe(true);
      expect(Math.abs(sumAt(seed, [s.unknowns.a, s.unknowns.b]) - 7)).toBeLessThan(1e-5);
    }
  });
});

describe('brute force over every assignment', () => {
  it('integer x0 × categorical x1 × one-hot (x2, x3) on a random tanh net: the solved assignments are exactly those the forward passes meet', () => {
    for (const s of [1, 2, 3]) {
      const m = smallNet(s);
      const x1s = [0, 0.25, 0.8];
      // every assignment (5 × 3 × 2) by a forward pass
      const all: { x: number[]; y: number }[] = [];
      for (let x0 = -2; x0 <= 2; x0++) for (const x1 of x1s) for (const hot of [0, 1]) {
        const x = [x0, x1, hot === 0 ? 1 : 0, hot === 1 ? 1 : 0];
        all.push({ x, y: sumAt(m, x) });
      }
      // a target range holding about a third of the values, its ends away from every value
      const ys = all.map((a) => a.y).sort((p, q) => p - q);
      const lo = (ys[9] + ys[10]) / 2,
        hi = (ys[19] + ys[20]) / 2;
      const oracle = all.filter((a) => a.y >= lo && a.y <= hi).map((a) => a.x.join(','));
      const r = invert(m, { integers: ['x0'], categorical: { x1: x1s }, oneHot: { color: ['x2', 'x3'] }, want: { y: { range: [lo, hi] } } });
      expect(r.discrete!.assignments).toBe(30);
      expect(r.status).toBe('solved');
      const got = r.solutions.map((z) => ['x0', 'x1', 'x2', 'x3'].map((k) => z.inputs[k]).join(','));
      expect(new Set(got)).toEqual(new Set(oracle));
      expect(got.length).toBe(oracle.length);
      // one-hot: exactly one column is 1, the other 0
      for (const z of r.solutions) expect([z.inputs.x2, z.inputs.x3].sort()).toEqual([0, 1]);
    }
  });

  it('a target no assignment meets: proven infeasible only with every branch proven, and the nearest is the brute-force nearest', () => {
    const m = smallNet(4);
    const all: { x0: number; y: number }[] = [];
    for (let x0 = -2; x0 <= 2; x0++) all.push({ x0, y: sumAt(m, [x0, 0.5, 1, 0]) });
    const top = Math.max(...all.map((a) => a.y));
    const q: Query = { given: { x1: 0.5 }, integers: ['x0'], oneHot: { c: ['x2', 'x3'] }, want: { y: { ge: top + 5 } } };
    const r = certify(m, q);
    expect(['infeasible', 'best-compromise']).toContain(r.status);
    // a branch (x0, one-hot) beyond the assignments above may reach higher: the nearest is the max over all 10
    const every: number[] = [];
    for (let x0 = -2; x0 <= 2; x0++) for (const c of [[1, 0], [0, 1]]) every.push(sumAt(m, [x0, 0.5, ...c]));
    expect(r.best!.maxMiss).toBeCloseTo(top + 5 - Math.max(...every), 9);
    if (r.status === 'infeasible') {
      expect(r.proven).toBe(true);
      expect(r.discrete!.branches.every((b) => b.proven && verifyCertificate(m, b.certificate).valid)).toBe(true);
    }
  });
});

describe('one-hot groups with a continuous rest', () => {
  it('seed-4in2out: kind = one of x2, x3, x4; the dimension of the solution set counts the continuous unknowns only', () => {
    const m = loadNativeModel(readFileSync(new URL('../models/seed-4in2out.json', import.meta.url)));
    // y2 is even in x3 − x4 (the model's description): 1.27 with x2 hot (x3 − x4 = 0), 1.154 otherwise
    const y2 = (x: number[]): number => m.network.evaluate(Float64Array.from(x), 1)[1];
    const hot = [[1, 0, 0], [0, 1, 0], [0, 0, 1]].filter((c) => y2([1, ...c]) <= 1.2);
    expect(hot).toEqual([[0, 1, 0], [0, 0, 1]]);
    const one = invert(m, { oneHot: { kind: ['x2', 'x3', 'x4'] }, want: { y2: { le: 1.2 }, y1: 4 } });
    expect(one.status).toBe('solved');
    expect(one.solutions.map((s) => [s.inputs.x2, s.inputs.x3, s.inputs.x4])).toEqual(hot);
    expect(one.solutionSet.kind).toBe('isolated');
    // two continuous unknowns (x1 and x2 free, x3/x4 a one-hot pair) and one equality: a curve
    const two = invert(m, { oneHot: { kind: ['x3', 'x4'] }, want: { y1: 6 } });
    expect(two.status).toBe('solved');
    expect(two.solutionSet).toMatchObject({ kind: 'continuum', dimension: 1 });
    for (const s of two.solutions) {
      expect(s.inputs.x3 + s.inputs.x4).toBe(1);
      expect(s.meetsTargets).toBe(true);
    }
  });
});

/** A small ReLU net over x0, x1, x2 (random weights, seeded) with one output y: y = w2·relu(W1 x + b1) + c. */
function reluNet(seedNo: number): { model: Model; W1: number[][]; b1: number[] } {
  const r = rng(seedNo);
  const H = 5;
  const W1 = Array.from({ length: H }, () => r.vector(3, -1, 1));
  const b1 = r.vector(H, -0.5, 0.5);
  const w2 = r.vector(H, -1.5, 1.5);
  const def = {
    format: 'netinvert-model',
    version: 1,
    name: 'relu',
    inputs: [{ name: 'x0' }, { name: 'x1' }, { name: 'x2' }],
    nodes: [
      { name: 'cat', inputs: ['x0', 'x1', 'x2'], op: 'concat' },
      // native dense weight is [in][out]
      { name: 'h', inputs: ['cat'], op: 'dense', units: H, weight: [0, 1, 2].map((i) => W1.map((row) => row[i])), bias: b1 },
      { name: 'ha', inputs: ['h'], op: 'relu' },
      { name: 'o', inputs: ['ha'], op: 'dense', units: 1, weight: w2.map((w) => [w]), bias: [0.2] },
    ],
    outputs: [{ node: 'o', name: 'y' }],
    metadata: { inputRanges: { x0: [-3, 3], x1: [-1, 1], x2: [-1, 1] } },
  };
  return { model: loadNativeModel(JSON.stringify(def)), W1, b1 };
}

describe('--method milp: one exact MILP with integer columns', () => {
  it('integer x0 × categorical x1 with x2 continuous on a ReLU net: solved exactly when some assignment\'s exact range over x2 meets the target, at such an assignment', async () => {
    let checked = 0;
    for (const s of [11, 12]) {
      const { model, W1, b1 } = reluNet(s);
      const x1s = [-0.5, 0.3, 1];
      // oracle: y is continuous and piecewise linear in x2, so its range over [-1, 1] is spanned by the
      // values at the ends and at every hidden unit's kink inside (W1[i]·x + b1[i] = 0)
      const range = (x0: number, x1: number): [number, number] => {
        const pts = [-1, 1];
        W1.forEach((w, i) => {
          if (w[2] !== 0) {
            const t = -(w[0] * x0 + w[1] * x1 + b1[i]) / w[2];
            if (t > -1 && t < 1) pts.push(t);
          }
        });
        const ys = pts.map((t) => sumAt(model, [x0, x1, t]));
        return [Math.min(...ys), Math.max(...ys)];
      };
      const all: { key: string; r: [number, number] }[] = [];
      for (let x0 = -3; x0 <= 3; x0++) for (const x1 of x1s) all.push({ key: `${x0},${x1}`, r: range(x0, x1) });
      // a target interval met by some assignments and missed by others, its ends away from every range end
      const ends = all.flatMap((a) => a.r).sort((p, q) => p - q);
      const mid = ends[Math.floor(ends.length / 2)];
      const lo = mid + 0.01,
        hi = mid + 0.05;
      const margin = Math.min(...ends.map((e) => Math.min(Math.abs(e - lo), Math.abs(e - hi))));
      if (margin < 1e-4) continue;
      const oracle = all.filter((a) => a.r[1] >= lo && a.r[0] <= hi).map((a) => a.key);
      const r = await invertMilp(model, { integers: ['x0'], categorical: { x1: x1s }, want: { y: { range: [lo, hi] } } });
      expect(r.discrete!.assignments).toBe(21);
      expect(r.discrete!.method).toBe('milp');
      const got = r.solutions.map((z) => `${z.inputs.x0},${z.inputs.x1}`);
      for (const k of got) expect(oracle).toContain(k);
      for (const z of r.solutions) expect(z.meetsTargets).toBe(true);
      expect(r.status).toBe(oracle.length ? 'solved' : 'infeasible');
      if (!oracle.length) expect(r.proven).toBe(true);
      if (oracle.length > 0 && oracle.length < all.length) checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('the budget', () => {
  it('a time limit that ends the enumeration early says so and claims nothing about the branches not searched', () => {
    // 10,000 assignments (the cap), a sum no pair reaches, a limit (1 µs) gone after the first branch
    const r = invert(seed, { integers: ['a', 'b'], bounds: { a: [0, 99], b: [0, 99] }, want: { sum: 500 } }, { timeLimit: 1e-6 });
    expect(r.discrete!.assignments).toBe(10_000);
    expect(r.discrete!.searched).toBe(1);
    expect(r.discrete!.branches).toHaveLength(r.discrete!.searched);
    expect(r.status).toBe('unknown');
    expect(r.proven).toBe(false);
    expect(r.warnings.join(' ')).toMatch(/were not searched/);
  });
});

describe('coded errors', () => {
  const want = { sum: 7 };
  it('unknown name, given input, empty value list, value outside the bounds, no integer inside, too many assignments', () => {
    expect(codeOf(() => invert(seed, { integers: ['c'], want }))).toBe('unknown_input');
    expect(codeOf(() => invert(seed, { given: { a: 3 }, integers: ['a'], want }))).toBe('bad_query');
    expect(codeOf(() => invert(seed, { categorical: { a: [] }, want }))).toBe('bad_query');
    expect(codeOf(() => invert(seed, { categorical: { a: [1, 12] }, want }))).toBe('bad_bounds');
    expect(codeOf(() => invert(seed, { integers: ['a'], bounds: { a: [0.2, 0.8] }, want }))).toBe('bad_query');
    expect(codeOf(() => invert(seed, { integers: ['a', 'b'], bounds: { a: [0, 1000], b: [0, 1000] }, want }))).toBe('bad_query');
    expect(codeOf(() => invert(seed, { integers: ['a'], categorical: { a: [1, 2] }, want }))).toBe('bad_query');
    expect(codeOf(() => invert(seed, { oneHot: { g: ['a', 'b'] }, bounds: { a: [0, 0.5] }, want }))).toBe('bad_bounds');
    expect(MAX_DISCRETE_ASSIGNMENTS).toBe(10_000);
  });
  it('the counterfactual controls refuse discrete unknowns (not yet) instead of relaxing them', async () => {
    await expect(invertMilp(seed, { integers: ['a'], closestTo: { a: 1, b: 1 }, want }, { sparse: true })).rejects.toMatchObject({ code: 'bad_query' });
    expect(codeOf(() => invert(seed, { integers: ['a'], closestTo: { a: 1, b: 1 }, want }, { sparse: true }))).toBe('bad_query');
  });
});

describe('the command line and query files', () => {
  it('--integer, --categorical and --one-hot reach the query; a query file takes the same fields', async () => {
    const { run } = await import('./util/cli.ts');
    const a = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--integer', 'b', '--want', 'sum=6.9:7.1', '--json']);
    expect(a.code).toBe(0);
    const ra = JSON.parse(a.out);
    expect(ra.solutions.map((s: { inputs: Record<string, number> }) => s.inputs)).toEqual([{ a: 3, b: 4 }]);
    const b = await run(['solve', 'models/seed-add.json', '--categorical', 'a=1,3', '--categorical', 'b=2.5,4', '--want', 'sum=6.9:7.1', '--json']);
    const rb = JSON.parse(b.out);
    expect(rb.discrete.assignments).toBe(4);
    expect(rb.solutions.map((s: { inputs: Record<string, number> }) => s.inputs)).toEqual([{ a: 3, b: 4 }]);
    const c = await run(['solve', 'models/seed-add.json', '--one-hot', 'g=a,b', '--bounds', 'a=0:1,b=0:1', '--want', 'sum>=0.5', '--json']);
    const rc = JSON.parse(c.out);
    expect(rc.discrete.assignments).toBe(2);
    for (const s of rc.solutions) expect(s.inputs.a + s.inputs.b).toBe(1);
    const bad = await run(['solve', 'models/seed-add.json', '--categorical', 'a=', '--want', 'sum=7']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('bad_query');
    const { parseQueryFile } = await import('../src/cli/queryFile.ts');
    const q = parseQueryFile(JSON.stringify({ want: { sum: 7 }, integers: ['a'], categorical: { b: [1, 2] }, oneHot: { g: ['x', 'y'] } }), 'q.json');
    expect(q).toMatchObject({ integers: ['a'], categorical: { b: [1, 2] }, oneHot: { g: ['x', 'y'] } });
    expect(() => parseQueryFile(JSON.stringify({ want: { sum: 7 }, categorical: { b: ['steel'] } }), 'q.json')).toThrow(/categorical\.b/);
  });
});
