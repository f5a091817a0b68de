/**
 * Soundness and tightness of the interval bounds, by sampling: every value (and derivative,
 * and Jacobian) at points inside a box must lie inside the bounds computed for that box.
 * Boxes are drawn at random (fast-check, fixed seeds) and also placed on purpose across the
 * interior extrema of f and f', the kinks, and at zero width.
 *
 * One subtlety: bounds enclose the TRUE value; what we sample is a computed value, which is
 * within a few ulps of it. The engine's margins (16 ulps and up) are meant to cover that, so
 * containment is checked strictly. Only for a zero-width box, where the bound has no slack
 * beyond its margin, the point Jacobian is allowed a rounding-sized distance (see below).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeUnary, network, type GraphDef, type Network, type UnaryFn } from '../src/index.ts';
import { checkBoxContainment, jacobianRounding } from './util/checks.ts';
import { expectInside } from './util/expect.ts';
import { opCases, randomNet, UNARY_CASES, type UnaryCase } from './util/nets.ts';
import { EXTREMA } from './util/reference.ts';
import { rng } from './util/rng.ts';

const SEED = 42;
const pair = new Float64Array(2);

function rangeOf(fn: UnaryFn, lo: number, hi: number): [number, number] {
  fn.range(lo, hi, pair);
  return [pair[0], pair[1]];
}
function dRangeOf(fn: UnaryFn, lo: number, hi: number): [number, number] {
  fn.dRange(lo, hi, pair);
  return [pair[0], pair[1]];
}

/** Points of [lo, hi]: both ends, the given fractions, and any special point inside. */
function pointsIn(lo: number, hi: number, fracs: number[], special: readonly number[]): number[] {
  const pts = [lo, hi, ...fracs.map((t) => lo + (hi - lo) * t), ...special.filter((s) => s >= lo && s <= hi)];
  return pts.filter((x) => x >= lo && x <= hi);
}

/** f, f' and both one-sided f' at every point lie in range / dRange over [lo, hi]. */
function checkUnaryBox(u: UnaryCase, fn: UnaryFn, lo: number, hi: number, fracs: number[]): void {
  const [rl, rh] = rangeOf(fn, lo, hi);
  const [dl, dh] = dRangeOf(fn, lo, hi);
  const specials = [...u.special, ...u.kinks.map((k) => k.x), ...EXTREMA.filter((e) => e.fn === u.fn).map((e) => e.x)];
  for (const x of pointsIn(lo, hi, fracs, specials)) {
    const at = `${u.label} on [${lo}, ${hi}] at ${x}`;
    const y = fn.f(x);
    if (!(rl <= y && y <= rh)) expect.fail(`${at}: f = ${y} outside range [${rl}, ${rh}]`);
    for (const d of [fn.df(x), fn.dfSide(x, -1), fn.dfSide(x, 1)]) {
      if (!(dl <= d && d <= dh)) expect.fail(`${at}: f' = ${d} outside dRange [${dl}, ${dh}]`);
    }
  }
}

/** Box arbitraries for a function: inside its domain, of widths from 0 to large. */
function boxArb(u: UnaryCase): fc.Arbitrary<[number, number]> {
  const width = fc.oneof(
    fc.constant(0),
    fc.double({ min: 1e-12, max: 1e-6, noNaN: true }),
    fc.double({ min: 1e-6, max: 1, noNaN: true }),
    fc.double({ min: 1, max: 20, noNaN: true }),
  );
  const lo = u.positive ? fc.double({ min: 1e-3, max: 20, noNaN: true }) : fc.double({ min: -30, max: 30, noNaN: true });
  return fc.tuple(lo, width).map(([l, w]) => [l, l + w] as [number, number]);
}

const fracsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 12 });

describe('activation ranges (UnaryFn.range / dRange) contain sampled values', () => {
  for (const u of UNARY_CASES) {
    const fn = makeUnary(u.fn, u.params).fn;

    it(`${u.label}: random boxes`, () => {
      fc.assert(
        fc.property(boxArb(u), fracsArb, ([lo, hi], fracs) => checkUnaryBox(u, fn, lo, hi, fracs)),
        { seed: SEED, numRuns: 300 },
      );
    });

    it(`${u.label}: boxes straddling each extremum of f and f', and each kink`, () => {
      const centres = [...u.special, ...u.kinks.map((k) => k.x), ...EXTREMA.filter((e) => e.fn === u.fn).map((e) => e.x)];
      const side = fc.oneof(fc.constant(0), fc.double({ min: 1e-12, max: 1e-4, noNaN: true }), fc.double({ min: 1e-4, max: 3, noNaN: true }));
      fc.assert(
        fc.property(fc.constantFrom(...centres), side, side, fracsArb, (c, a, b, fracs) => {
          const lo = u.positive ? Math.max(1e-3, c - a) : c - a;
          checkUnaryBox(u, fn, lo, Math.max(lo, c + b), fracs);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });

    it(`${u.label}: a zero-width box gives the point value within rounding`, () => {
      fc.assert(
        fc.property(boxArb(u), ([x]) => {
          const y = fn.f(x);
          const [rl, rh] = rangeOf(fn, x, x);
          // 1e-12 relative for |x| ≤ 2; beyond, rounding x itself costs about x²·u in functions
          // built on exp(−x²) or exp(x³) (gelu, gelu_tanh), and their error models say so
          const grow = Math.max(1, (x * x) / 4);
          expect(rl <= y && y <= rh, `${u.label}: f(${x}) = ${y} in [${rl}, ${rh}]`).toBe(true);
          expect(rh - rl, `${u.label}: width of range at ${x}`).toBeLessThanOrEqual(1e-12 * grow * Math.max(1, Math.abs(y)));
          const [dl, dh] = dRangeOf(fn, x, x);
          const d = fn.df(x);
          expect(dl <= d && d <= dh, `${u.label}: f'(${x}) = ${d} in [${dl}, ${dh}]`).toBe(true);
          if (u.kinks.every((k) => k.x !== x)) {
            expect(dh - dl, `${u.label}: width of dRange at ${x}`).toBeLessThanOrEqual(1e-12 * grow * Math.max(1, Math.abs(d)));
          }
        }),
        { seed: SEED, numRuns: 200 },
      );
      // at a kink, the zero-width dRange holds both one-sided derivatives and nothing much else
      for (const k of u.kinks) {
        const [dl, dh] = dRangeOf(fn, k.x, k.x);
        expect(dl).toBeLessThanOrEqual(Math.min(k.left, k.right));
        expect(dh).toBeGreaterThanOrEqual(Math.max(k.left, k.right));
        expect(dh - dl).toBeLessThanOrEqual(Math.abs(k.left - k.right) + 1e-12);
      }
    });

    if (u.saturates) {
      it(`${u.label}: boxes out to ±1e4 (finite bounds that hold)`, () => {
        for (const [lo, hi] of [
          [-1e4, 1e4],
          [-700, -50],
          [50, 700],
          [-1e4, -700],
          [700, 1e4],
          [-50, 50],
        ]) {
          checkUnaryBox(u, fn, lo, hi, [0.001, 0.3, 0.5, 0.999]);
          for (const v of [...rangeOf(fn, lo, hi), ...dRangeOf(fn, lo, hi)]) expect(Number.isFinite(v), `${u.label} [${lo}, ${hi}]`).toBe(true);
        }
      });
    }
  }
});

describe('activation ranges over boxes reaching ±∞ or ±1e300 (after an overflow upstream)', () => {
  const boxes: [number, number][] = [
    [-Infinity, 0],
    [0, Infinity],
    [-Infinity, Infinity],
    [-1e300, 1e300],
    [-1e200, -1e100],
    [1e100, 1e200],
    [-Infinity, -5],
    [3, Infinity],
  ];
  const finitePoints = [-1e300, -1e160, -1e10, -3, -1e-300, 0, 1e-300, 2, 1e10, 1e160, 1e300];
  for (const u of UNARY_CASES) {
    it(`${u.label}: bounds are never NaN and hold the finite points of the box`, () => {
      const fn = makeUnary(u.fn, u.params).fn;
      for (const [lo, hi] of boxes) {
        if (u.positive && lo <= 0) continue;
        const [rl, rh] = rangeOf(fn, lo, hi);
        const [dl, dh] = dRangeOf(fn, lo, hi);
        for (const v of [rl, rh, dl, dh]) expect(Number.isNaN(v), `${u.label} over [${lo}, ${hi}]: [${rl}, ${rh}], [${dl}, ${dh}]`).toBe(false);
        for (const x of finitePoints) {
          if (x < lo || x > hi) continue;
          const y = fn.f(x),
            d = fn.df(x);
          if (y === y) expect(rl <= y && y <= rh, `${u.label} f(${x}) = ${y} in [${rl}, ${rh}]`).toBe(true);
          if (d === d) expect(dl <= d && d <= dh, `${u.label} f'(${x}) = ${d} in [${dl}, ${dh}]`).toBe(true);
        }
      }
    });
  }
  it('an unbounded interval from a division does not turn the bounds of later layers into NaN', () => {
    const net = network({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'q', op: { type: 'binary_const', fn: 'div', constant: [1], constantFirst: true }, inputs: ['x'] },
        { name: 's', op: { type: 'unary', fn: 'softsign' }, inputs: ['q'] },
        { name: 'g', op: { type: 'unary', fn: 'gelu_tanh' }, inputs: ['q'] },
        { name: 'c', op: { type: 'concat' }, inputs: ['s', 'g'] },
      ],
      outputs: [{ node: 'c' }],
    });
    // 1/x over [−1, 0.75] is unbounded both ways (x = 0 itself is not sampled: softsign(1/0) is NaN)
    const lo = Float64Array.of(-1, 0.5),
      hi = Float64Array.of(0.75, 2);
    const b = net.bounds(lo, hi, 1);
    const jb = net.jacobianBounds(lo, hi, 1);
    for (const v of [...b.lo, ...b.hi, ...jb.lo, ...jb.hi]) expect(Number.isNaN(v)).toBe(false);
    checkBoxContainment(net, lo, hi, 30, rng(4), 'softsign and gelu_tanh of 1/x');
  });
});

describe('interior extrema: the range reaches the true extreme value, and tightly', () => {
  for (const e of EXTREMA) {
    it(`${e.fn}: ${e.kind} of ${e.of} at x = ${e.x}, value ${e.value}`, () => {
      const fn = makeUnary(e.fn).fn;
      fc.assert(
        fc.property(fc.double({ min: 0, max: 2, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }), (a, b) => {
          const [lo, hi] = e.of === 'f' ? rangeOf(fn, e.x - a, e.x + b) : dRangeOf(fn, e.x - a, e.x + b);
          // sound: the true extreme value is inside
          expect(lo, `${e.fn} box [${e.x - a}, ${e.x + b}]`).toBeLessThanOrEqual(e.value);
          expect(hi, `${e.fn} box [${e.x - a}, ${e.x + b}]`).toBeGreaterThanOrEqual(e.value);
        }),
        { seed: SEED, numRuns: 200 },
      );
      // tight: over a small box around it, the bound passes the extreme value by little. The
      // engine pads the values of numerically located extrema by 1e-12 (gelu_tanh's f': 1e-9).
      const slack = e.fn === 'gelu_tanh' && e.of === 'df' ? 2e-9 : 2e-12;
      for (const rad of [0, 1e-9, 1e-6]) {
        const [lo, hi] = e.of === 'f' ? rangeOf(fn, e.x - rad, e.x + rad) : dRangeOf(fn, e.x - rad, e.x + rad);
        expect(e.kind === 'min' ? e.value - lo : hi - e.value, `radius ${rad}`).toBeLessThanOrEqual(slack);
      }
    });
  }
});

describe('network bounds: every op of the table', () => {
  const CASES = opCases(rng(20240611));
  for (const c of CASES) {
    it(`${c.label}: bounds and jacobianBounds contain sampled values and Jacobians`, () => {
      const net = network(c.def);
      const r = rng(99);
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -c.sample, max: c.sample, noNaN: true }), { minLength: 3, maxLength: 3 }),
          fc.constantFrom(0, 1e-9, 1e-4, 0.05, 0.3, 1),
          (centre, rad) => {
            const lo = Float64Array.from(centre, (v) => Math.max(-c.sample, v - rad));
            const hi = Float64Array.from(centre, (v) => Math.min(c.sample, v + rad));
            checkBoxContainment(net, lo, hi, 12, r, c.label);
          },
        ),
        { seed: SEED, numRuns: 40 },
      );
    });

    it(`${c.label}: a zero-width box gives the point value and the point Jacobian within rounding`, () => {
      const net = network(c.def);
      const r = rng(7);
      for (let t = 0; t < 10; t++) {
        const x = Float64Array.from(r.vector(net.nIn, -c.sample, c.sample));
        checkPointBox(net, x, c.label);
      }
    });
  }
});

/**
 * For lo = hi = x: bounds hold evaluate(x) and are at most 1e-12·max(1, |y|) wide; the
 * Jacobian bounds are as narrow relative to the Jacobian, and hold the computed point Jacobian
 * up to its own rounding error (jacobianRounding).
 */
function checkPointBox(net: Network, x: Float64Array, what: string): void {
  const y = net.evaluate(x, 1);
  const b = net.bounds(x, x, 1);
  const at = `${what} at [${Array.from(x)}]`;
  expectInside(b.lo, y, b.hi, `${at}: value`);
  for (let o = 0; o < y.length; o++) {
    expect(b.hi[o] - b.lo[o], `${at}: width of output ${o}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(y[o])));
  }
  const { J } = net.jacobian(x, 1);
  const jb = net.jacobianBounds(x, x, 1);
  for (let e = 0; e < J.length; e++) {
    const scale = Math.max(1, Math.abs(J[e]));
    expect(jb.hi[e] - jb.lo[e], `${at}: width of Jacobian entry ${e}`).toBeLessThanOrEqual(1e-12 * scale);
    const outside = Math.max(jb.lo[e] - J[e], J[e] - jb.hi[e], 0);
    expect(outside, `${at}: Jacobian entry ${e} = ${J[e]} vs [${jb.lo[e]}, ${jb.hi[e]}]`).toBeLessThanOrEqual(jacobianRounding(J[e]));
  }
}

describe('network bounds: activations alone, boxes across their extrema and kinks', () => {
  for (const u of UNARY_CASES) {
    it(`${u.label}`, () => {
      const net = network({
        inputs: [{ name: 'z', width: 1 }],
        nodes: [{ name: 'act', op: { type: 'unary', fn: u.fn, params: u.params }, inputs: ['z'] }],
        outputs: [{ node: 'act' }],
      });
      const r = rng(3);
      const centres = [...u.special, ...u.kinks.map((k) => k.x)];
      for (const c of centres) {
        for (const [a, b] of [
          [0, 0],
          [1e-9, 1e-9],
          [1e-3, 0.5],
          [0.5, 1e-3],
          [1, 1],
          [2.5, 0.7],
        ]) {
          const lo = u.positive ? Math.max(1e-3, c - a) : c - a;
          checkBoxContainment(net, Float64Array.of(lo), Float64Array.of(Math.max(lo, c + b)), 20, r, u.label);
        }
      }
    });
  }
});

describe('network bounds: random deep nets (fast-check)', () => {
  it('bounds and jacobianBounds contain the values and Jacobians at corners and random points', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 << 30 }),
        fc.constantFrom(0, 1e-9, 1e-3, 0.1, 0.5),
        fc.integer({ min: 0, max: 1 << 30 }),
        (netSeed, rad, boxSeed) => {
          const r = rng(netSeed);
          const def = randomNet(r, { depth: 1 + r.int(4), maxWidth: 5, structural: true, kinks: true });
          const net = network(def);
          const br = rng(boxSeed);
          const centre = br.vector(net.nIn, -1.5, 1.5);
          const lo = Float64Array.from(centre, (v) => v - rad * br.next()),
            hi = Float64Array.from(centre, (v) => v + rad * br.next());
          checkBoxContainment(net, lo, hi, 20, br, `net seed ${netSeed}`);
        },
      ),
      { seed: SEED, numRuns: 250 },
    );
  });

  it('a zero-width box gives the point value and Jacobian within rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), (netSeed) => {
        const r = rng(netSeed);
        // smooth activations only: at a kink the interval honestly holds both slopes
        const def = randomNet(r, { depth: 1 + r.int(4), maxWidth: 5, structural: true, kinks: false });
        const net = network(def);
        checkPointBox(net, Float64Array.from(r.vector(net.nIn, -1.5, 1.5)), `net seed ${netSeed}`);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('a batch of boxes gives, row by row, the bounds of each box alone', () => {
    const r = rng(11);
    const def = randomNet(r, { depth: 4, maxWidth: 6, structural: true, kinks: true });
    const net = network(def);
    const rows = 6,
      n = net.nIn;
    const lo = Float64Array.from(r.vector(rows * n, -1.5, 0));
    const hi = Float64Array.from(lo, (v) => v + r.uniform(0, 1));
    const all = net.bounds(lo, hi, rows);
    const allLo = Float64Array.from(all.lo),
      allHi = Float64Array.from(all.hi);
    const jAll = net.jacobianBounds(lo, hi, rows);
    const jLo = Float64Array.from(jAll.lo),
      jHi = Float64Array.from(jAll.hi);
    const m = net.nOut;
    for (let b = 0; b < rows; b++) {
      const one = net.bounds(lo.subarray(b * n, (b + 1) * n), hi.subarray(b * n, (b + 1) * n), 1);
      expect(Array.from(one.lo)).toEqual(Array.from(allLo.subarray(b * m, (b + 1) * m)));
      expect(Array.from(one.hi)).toEqual(Array.from(allHi.subarray(b * m, (b + 1) * m)));
      const jOne = net.jacobianBounds(lo.subarray(b * n, (b + 1) * n), hi.subarray(b * n, (b + 1) * n), 1);
      expect(Array.from(jOne.lo)).toEqual(Array.from(jLo.subarray(b * m * n, (b + 1) * m * n)));
      expect(Array.from(jOne.hi)).toEqual(Array.from(jHi.subarray(b * m * n, (b + 1) * m * n)));
    }
  });
});

describe('bounds where the function is unbounded or undefined', () => {
  const one = (def: GraphDef) => network(def);
  it('division by an interval holding 0 is unbounded', () => {
    const net = one({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [{ name: 'q', op: { type: 'binary', fn: 'div' }, inputs: ['x', 'x'] }],
      outputs: [{ node: 'q' }],
    });
    const b = net.bounds(Float64Array.of(1, -1), Float64Array.of(2, 1), 1);
    expect(b.lo[1]).toBe(-Infinity);
    expect(b.hi[1]).toBe(Infinity);
    const c = network({
      inputs: [{ name: 'x', width: 1 }],
      nodes: [{ name: 'q', op: { type: 'binary_const', fn: 'div', constant: [2], constantFirst: true }, inputs: ['x'] }],
      outputs: [{ node: 'q' }],
    }).bounds(Float64Array.of(-0.5), Float64Array.of(0.25), 1);
    expect([c.lo[0], c.hi[0]]).toEqual([-Infinity, Infinity]);
  });
  it('reciprocal and pow(−1) across 0 are unbounded; log reaching 0 has no lower bound', () => {
    for (const [fn, params] of [
      ['reciprocal', {}],
      ['pow', { exponent: -1 }],
    ] as const) {
      const f = makeUnary(fn, params).fn;
      expect(rangeOf(f, -0.5, 0.25)).toEqual([-Infinity, Infinity]);
      expect(rangeOf(f, 0, 0.25)[1]).toBe(Infinity);
      expect(rangeOf(f, -0.25, 0)[0]).toBe(-Infinity);
    }
    const lg = makeUnary('log').fn;
    expect(rangeOf(lg, 0, 2)[0]).toBe(-Infinity);
    expect(rangeOf(lg, 0, 2)[1]).toBeGreaterThanOrEqual(Math.LN2);
    expect(dRangeOf(lg, 0, 2)[1]).toBe(Infinity);
  });
  it('pow(2) over a box straddling 0 starts at 0; pow(0.5) ignores the part below 0', () => {
    expect(rangeOf(makeUnary('pow', { exponent: 2 }).fn, -1, 3)[0]).toBe(0);
    const sq = makeUnary('pow', { exponent: 0.5 }).fn;
    const [lo, hi] = rangeOf(sq, -1, 4);
    expect(lo).toBeLessThanOrEqual(0);
    expect(lo).toBeGreaterThanOrEqual(-1e-300);
    expect(hi).toBeGreaterThanOrEqual(2);
    expect(hi).toBeLessThan(2 + 1e-12);
  });
  it('softmax bounds stay inside [0, 1] and log-softmax bounds at or below 0, even for huge boxes', () => {
    for (const t of ['softmax', 'log_softmax'] as const) {
      const net = network({ inputs: [{ name: 'x', width: 3 }], nodes: [{ name: 's', op: { type: t }, inputs: ['x'] }], outputs: [{ node: 's' }] });
      const b = net.bounds(Float64Array.of(-1e4, -700, 0), Float64Array.of(1e4, 700, 0), 1);
      for (let i = 0; i < 3; i++) {
        if (t === 'softmax') expect(b.lo[i] >= 0 && b.hi[i] <= 1).toBe(true);
        else expect(b.hi[i]).toBeLessThanOrEqual(0);
        expect(Number.isNaN(b.lo[i]) || Number.isNaN(b.hi[i])).toBe(false);
      }
      checkBoxContainment(net, Float64Array.of(-1e4, -700, 0), Float64Array.of(1e4, 700, 0), 20, rng(1), t);
    }
  });
});
