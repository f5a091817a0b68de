/**
 * Combination hints in VNN unsat certificates (vnnCertificate.ts: hinted leaves, version 2) and
 * their check by the independent verifier (vnnVerifier.ts: the combined form μ·g_a + ν·g_b built
 * with outward rounding, tried with every method). Oracles: a hand-built ReLU net whose outputs
 * are known in closed form (y0 = x0 + x1 + 0.5, y1 = −2(x0 + x1)), forward passes of the real net
 * (a planted unsafe point, grids), and the validation rules of the format.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairBound } from '../src/certify/vnn/bounds.ts';
import { decideVnnlib } from '../src/certify/vnn/decide.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import {
  buildVnnCertificate,
  createModel,
  parseVnnCertificate,
  serializeVnnCertificate,
  validateVnnCertificate,
  verifyVnnCertificate,
  vnnSpecHash,
  type GraphDef,
  type Model,
  type VnnCertificate,
  type VnnlibLinearConstraint,
  type VnnlibRelation,
  type VnnlibSpec,
} from '../src/index.ts';
import { VNN_CERTIFICATE_VERSION } from '../src/certify/proof/vnnCertificate.ts';
import { expectNetinvertError } from './util/expect.ts';
import { chainNet } from './util/nets.ts';
import { rng, type Rng } from './util/rng.ts';

const evalAt = (m: Model, x: ArrayLike<number>): Float64Array => Float64Array.from(m.network.evaluate(Float64Array.from(x), 1));

/** `coeffs·y + constant REL 0` with exact coefficients. */
const con = (coeffs: number[], constant: number, relation: VnnlibRelation): VnnlibLinearConstraint => ({
  coeffs: Float64Array.from(coeffs),
  coeffErr: new Float64Array(coeffs.length),
  constant,
  constantErr: 0,
  relation,
  line: 1,
  column: 1,
});

function specOf(nIn: number, nOut: number, lo: number[], hi: number[], dnf: VnnlibLinearConstraint[][]): VnnlibSpec {
  return { numInputs: nIn, numOutputs: nOut, inputBoxes: [{ lo: Float64Array.from(lo), hi: Float64Array.from(hi) }], outputDnf: dnf, asserts: 2 };
}

/** The value of constraint c's form of sign s at outputs y: s·(c·y + k) (unsafe needs it ≤ 0). */
const formAt = (c: VnnlibLinearConstraint, s: number, y: Float64Array): number => {
  let v = c.constant;
  for (let j = 0; j < y.length; j++) v += c.coeffs[j] * y[j];
  return s * v;
};

/**
 * The hand-built net: h = relu(x0, −x0, x1 + 1), y0 = h0 − h1 + h2 − 0.5 = x0 + x1 + 0.5,
 * y1 = −2h0 + 2h1 − 2h2 + 2 = −2(x0 + x1) on [−1, 1]² (h0 and h1 cross 0 there, h2 ≥ 0).
 */
function handNet(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: 3, weight: [1, -1, 0, 0, 0, 1], bias: [0, 0, 1] }, inputs: ['x'] },
      { name: 'r1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 2, weight: [1, -2, -1, 2, 1, -2], bias: [-0.5, 2] }, inputs: ['r1'] },
    ],
    outputs: [{ node: 'd2' }],
  };
  return createModel(g);
}

/**
 * Unsafe clause 0: y0 ≤ 0 and y1 ≤ 0.25 (written `−y1 + 0.25 ≥ 0`), so form a = y0 (s = +1) and
 * form b = y1 − 0.25 (s = −1). With s = x0 + x1 ∈ [−2, 2]: a = s + 0.5 and b = −2s − 0.25 both
 * change sign on the box, so no single form is positive on it; μa + νb = (μ − 2ν)s + 0.5μ − 0.25ν,
 * whose minimum over the box is 0.5μ − 0.25ν − 2|μ − 2ν|: positive only near μ = 2ν, and
 * 2a + b = 0.75 exactly. Clause 1 (y0 ≥ 3; y0 ≤ 2.5 on the box) is refuted by its single form.
 */
const handSpec = (): VnnlibSpec => specOf(2, 2, [-1, -1], [1, 1], [[con([1, 0], 0, '<='), con([0, -1], 0.25, '>=')], [con([1, 0], -3, '>=')]]);

/** A hinted leaf of groups [ci, ka, sa, kb, sb, mu, nu]. */
const hinted = (...groups: number[][]): number[] => [-1, ...groups.flat()];

/** Grid of the box [lo, hi] (n × n, corners included). */
function grid(lo: number[], hi: number[], n: number): number[][] {
  const pts: number[][] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) pts.push([lo[0] + ((hi[0] - lo[0]) * a) / (n - 1), lo[1] + ((hi[1] - lo[1]) * b) / (n - 1)]);
  return pts;
}

describe('a hinted leaf refutes a clause no single form refutes', () => {
  const m = handNet();
  const spec = handSpec();
  const [a, b] = spec.outputDnf[0];
  const ys = grid([-1, -1], [1, 1], 41).map((x) => ({ x, y: evalAt(m, x) }));

  it('the oracle: the net is the closed form, each single form is ≤ 0 somewhere, 2a + b = 0.75 everywhere', () => {
    for (const { x, y } of ys) {
      const s = x[0] + x[1];
      expect(Math.abs(y[0] - (s + 0.5))).toBeLessThan(1e-12);
      expect(Math.abs(y[1] + 2 * s)).toBeLessThan(1e-12);
      expect(Math.abs(2 * formAt(a, 1, y) + formAt(b, -1, y) - 0.75)).toBeLessThan(1e-12);
    }
    expect(Math.min(...ys.map(({ y }) => formAt(a, 1, y)))).toBeLessThan(0);
    expect(Math.min(...ys.map(({ y }) => formAt(b, -1, y)))).toBeLessThan(0);
    // μ = 1, ν = 1 (a + b = −s + 0.25) is negative at the corner (1, 1)
    const yc = evalAt(m, [1, 1]);
    expect(formAt(a, 1, yc) + formAt(b, -1, yc)).toBeLessThan(0);
  });

  it('the right weights (μ = 2, ν = 1) are accepted; a plain leaf, μ = 1 ν = 0, μ = ν = 1 and a hint for the wrong clause are rejected', () => {
    const ok = (leaf: number[]) => verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[leaf]]));
    const good = ok(hinted([0, 0, 1, 1, -1, 2, 1]));
    expect(good.ok, good.reason).toBe(true);
    expect(good.hinted).toBe(1);
    expect(good.leaves).toBe(1);
    // the same with the weights scaled (any positive multiple is the same proof)
    expect(ok(hinted([0, 0, 1, 1, -1, 2e-3, 1e-3])).ok).toBe(true);
    // the forms in the other order
    expect(ok(hinted([0, 1, -1, 0, 1, 1, 2])).ok).toBe(true);
    for (const [leaf, what] of [
      [[], 'plain leaf'],
      [hinted([0, 0, 1, 1, -1, 1, 0]), 'mu = 1, nu = 0 (form a alone)'],
      [hinted([0, 0, 1, 1, -1, 0, 1]), 'mu = 0, nu = 1 (form b alone)'],
      [hinted([0, 0, 1, 1, -1, 1, 1]), 'mu = nu = 1'],
      [hinted([1, 0, -1, 0, -1, 2, 1]), 'a hint for clause 1 only'],
      [hinted([0, 0, 1, 0, 1, 2, 1]), 'form a with itself'],
    ] as [number[], string][]) {
      const v = ok(leaf);
      expect(v.ok, what).toBe(false);
      expect(v.reason, what).toMatch(/does not refute clause 0/);
    }
    // a bad hint next to the good one does not spoil it (hints are alternatives)
    expect(ok(hinted([0, 0, 1, 1, -1, 1, 1], [0, 0, 1, 1, -1, 2, 1])).ok).toBe(true);
  });

  it('weights swept against the closed-form minimum 0.5μ − 0.25ν − 2|μ − 2ν|: never accepted where it is ≤ 0', () => {
    let accepted = 0;
    for (let i = 0; i <= 40; i++) {
      const mu = 1.5 + i * 0.025,
        nu = 1;
      const min = 0.5 * mu - 0.25 * nu - 2 * Math.abs(mu - 2 * nu);
      const v = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[hinted([0, 0, 1, 1, -1, mu, nu])]]));
      if (min <= 0) expect(v.ok, `mu ${mu}: true minimum ${min}`).toBe(false);
      if (v.ok) accepted++;
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('hinted leaves in a split tree, with a plain leaf only where a single form suffices', () => {
    // x0 ≥ 0.5 and x1 ≥ 0.5: s ≥ 1, so y0 ≥ 1.5 > 0 (a single form); elsewhere the hint
    const tree = [[0, 0.5], hinted([0, 0, 1, 1, -1, 2, 1]), [1, 0.5], hinted([0, 0, 1, 1, -1, 2, 1]), []];
    const v = verifyVnnCertificate(m, spec, parseVnnCertificate(serializeVnnCertificate(buildVnnCertificate(m, spec, [tree])), spec));
    expect(v.ok, v.reason).toBe(true);
    expect(v.leaves).toBe(3);
    expect(v.hinted).toBe(2);
    // without the hint the first leaf fails
    const bare = [[0, 0.5], [], [1, 0.5], hinted([0, 0, 1, 1, -1, 2, 1]), []];
    const w = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [bare]));
    expect(w.ok).toBe(false);
    expect(w.reason).toMatch(/tree 0, node 1: .* does not refute clause 0/);
  });

  it("'=' offers both signs, and the sign decides: y1 − 0.25 = 0 with +1 refutes (2a + b), with −1 does not", () => {
    const eq = specOf(2, 2, [-1, -1], [1, 1], [[con([1, 0], 0, '<='), con([0, 1], -0.25, '=')]]);
    const v = (sb: number) => verifyVnnCertificate(m, eq, buildVnnCertificate(m, eq, [[hinted([0, 0, 1, 1, sb, 2, 1])]]));
    expect(v(1).ok, v(1).reason).toBe(true);
    // 2y0 − (y1 − 0.25) = 4s + 1.25, negative at (−1, −1)
    const y = evalAt(m, [-1, -1]);
    expect(2 * y[0] - (y[1] - 0.25)).toBeLessThan(0);
    expect(v(-1).ok).toBe(false);
  });

  it('the coefficients’ rounding-error bounds enter the combined form (a wide error bound defeats the hint)', () => {
    // 2a + b = 0.75; with |exact coefficient − stored| ≤ e on y0's coefficient, the bound loses 2e·max|y0| = 2e·2.5
    const withErr = (e: number): VnnlibSpec => {
      const s = handSpec();
      s.outputDnf[0][0] = { ...s.outputDnf[0][0], coeffErr: Float64Array.from([e, 0]) };
      return s;
    };
    const small = withErr(0.1),
      big = withErr(0.2);
    const v = (s: VnnlibSpec) => verifyVnnCertificate(m, s, buildVnnCertificate(m, s, [[hinted([0, 0, 1, 1, -1, 2, 1])]]));
    expect(v(small).ok, v(small).reason).toBe(true);
    // e = 0.1 loses at most 0.5 (LB 0.25); e = 0.2: an exact coefficient 0.8 gives 0.75 − 0.4·y0 = −0.25 at
    // y0 = 2.5, so no sound bound is positive
    expect(v(big).ok).toBe(false);
    // constant error likewise: an exact constant −0.4 gives 0.75 − 0.8 < 0
    const ke = handSpec();
    ke.outputDnf[0][0] = { ...ke.outputDnf[0][0], constantErr: 0.4 };
    expect(v(ke).ok).toBe(false);
  });
});

/** A finite double as an exact dyadic rational: [numerator, power of two] with x = n·2^e. */
function dyadic(x: number): [bigint, number] {
  let e = 0;
  while (!Number.isInteger(x)) {
    x *= 2;
    e--;
  }
  return [BigInt(x), e];
}
/** Exact Σ aᵢ·bᵢ of doubles, as a rational n·2^e (n: bigint) on one common scale 2^-2200. */
function exactDot(pairs: [number, number][]): bigint {
  let s = 0n;
  for (const [a, b] of pairs) {
    const [na, ea] = dyadic(a),
      [nb, eb] = dyadic(b);
    s += na * nb * 2n ** BigInt(2200 + ea + eb);
  }
  return s;
}

describe('the combination’s own rounding', () => {
  it('fl(μa + νb) = 0 where the exact coefficient is −1.1e−16: on [0, 2^44] the hint must fail (exact rational oracle)', () => {
    // y0 = x0 exactly (one dense unit of weight 1), x0 ∈ [0, 2^44]
    const m = createModel({ inputs: [{ name: 'x', width: 1 }], nodes: [{ name: 'd', op: { type: 'dense', units: 1, weight: [1], bias: [0] }, inputs: ['x'] }], outputs: [{ node: 'd' }] });
    const Y = 2 ** 44,
      beta = 1 + 2 ** -52,
      ka = -(2 ** 35),
      kb = 2 ** 35 + 2 ** -10;
    const mu = 1,
      nu = 1 - 2 ** -53;
    // a: y0 − 2^35 ≤ 0, b: −β·y0 + kb ≤ 0; each is ≤ 0 somewhere on the box
    const spec = specOf(1, 1, [0], [Y], [[con([1], ka, '<='), con([-beta], kb, '<=')]]);
    // the trap: in floating point the y0 coefficient cancels and the constant is positive
    expect(mu * 1 + nu * -beta).toBe(0);
    expect(mu * ka + nu * kb).toBeGreaterThan(0);
    // the truth: the exact combined form is negative at y0 = 2^44 (its coefficient is negative)
    const C = exactDot([
        [mu, 1],
        [nu, -beta],
      ]),
      K = exactDot([
        [mu, ka],
        [nu, kb],
      ]);
    expect(C < 0n).toBe(true);
    expect(C * BigInt(Y) + K < 0n).toBe(true);
    const v = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[hinted([0, 0, 1, 1, 1, mu, nu])]]));
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/does not refute clause 0/);
    // on y0 ∈ 2^35 ± 2^30 (both forms still change sign) the exact minimum is ≈ 9.7e−4 − 3.9e−6 > 0
    // and the same hint is accepted (the rounding allowance is not so wide that it never works)
    const small = specOf(1, 1, [2 ** 35 - 2 ** 30], [2 ** 35 + 2 ** 30], spec.outputDnf);
    expect(C * (2n ** 35n + 2n ** 30n) + K > 0n).toBe(true);
    const w = verifyVnnCertificate(m, small, buildVnnCertificate(m, small, [[hinted([0, 0, 1, 1, 1, mu, nu])]]));
    expect(w.ok, w.reason).toBe(true);
    expect(w.hinted).toBe(1);
  });
});

describe('versions', () => {
  const m = handNet();
  const spec = handSpec();
  it('version 3 is written; version 2 with hints and version 1 without still verify; version 1 with a hint, and version 4, are refused', () => {
    const cert = buildVnnCertificate(m, spec, [[hinted([0, 0, 1, 1, -1, 2, 1])]]);
    expect(cert.version).toBe(3);
    expect(VNN_CERTIFICATE_VERSION).toBe(3);
    const r2 = verifyVnnCertificate(m, spec, { ...cert, version: 2 });
    expect(r2.ok, r2.reason).toBe(true);
    expect(r2.hinted).toBe(1);
    // a version 1 file: bisection into boxes on which a single form is positive (s > −0.5 or s < −0.125)
    const v1: VnnCertificate = { ...buildVnnCertificate(m, spec, [v1Tree()]), version: 1 };
    const r1 = verifyVnnCertificate(m, spec, JSON.parse(JSON.stringify(v1)));
    expect(r1.ok, r1.reason).toBe(true);
    expect(r1.hinted).toBe(0);
    expectNetinvertError(() => validateVnnCertificate({ ...cert, version: 1 }), 'bad_certificate', 'version 1 does not have');
    expect(verifyVnnCertificate(m, spec, { ...cert, version: 1 }).ok).toBe(false);
    expectNetinvertError(() => validateVnnCertificate({ ...cert, version: 4 }), 'bad_certificate', 'version 4 is not supported');
  });

  /** Bisection (largest side first) until a plain leaf verifies; depth ≤ 12. */
  function v1Tree(): number[][] {
    const out: number[][] = [];
    const grow = (lo: number[], hi: number[], depth: number): void => {
      const sub: VnnlibSpec = { ...spec, inputBoxes: [{ lo: Float64Array.from(lo), hi: Float64Array.from(hi) }] };
      if (verifyVnnCertificate(m, sub, buildVnnCertificate(m, sub, [[[]]])).ok) {
        out.push([]);
        return;
      }
      expect(depth).toBeLessThan(12);
      const d = hi[0] - lo[0] >= hi[1] - lo[1] ? 0 : 1,
        t = 0.5 * (lo[d] + hi[d]);
      out.push([d, t]);
      grow(lo, d === 0 ? [t, hi[1]] : [hi[0], t], depth + 1);
      grow(d === 0 ? [t, lo[1]] : [lo[0], t], hi, depth + 1);
    };
    grow([-1, -1], [1, 1], 0);
    return out;
  }
});

describe('malformed hints are coded bad_certificate errors', () => {
  const m = handNet();
  const spec = handSpec();
  const base = buildVnnCertificate(m, spec, [[hinted([0, 0, 1, 1, -1, 2, 1])]]);
  const withLeaf = (leaf: unknown[]): unknown => ({ ...base, trees: [[leaf]] });
  const G = [0, 0, 1, 1, -1, 2, 1];
  const set = (i: number, v: unknown): unknown[] => {
    const g: unknown[] = G.slice();
    g[i] = v;
    return [-1, ...g];
  };

  it('shape: group length, indices, signs and weights (no spec needed)', () => {
    const cases: [unknown[], string][] = [
      [[-1], 'groups of 7'],
      [[-1, 0, 0, 1, 1, -1, 2], 'groups of 7'],
      [[-1, ...G, 0], 'groups of 7'],
      [set(0, 0.5), 'ci = 0.5 is not a non-negative integer'],
      [set(1, -1), 'ka = -1 is not a non-negative integer'],
      [set(3, 1.5), 'kb = 1.5 is not a non-negative integer'],
      [set(2, 0), 'sa = 0 is not +1 or -1'],
      [set(4, 2), 'sb = 2 is not +1 or -1'],
      [set(5, -1), 'weight mu = -1 is not finite'],
      [set(6, NaN), 'weight nu = NaN is not finite'],
      [set(5, Infinity), 'weight mu = Infinity is not finite'],
      [set(6, '1'), 'nu is "1", not a number'],
      [set(0, null), 'ci is null, not a number'],
      [[-1, 0, 0, 1, 1, -1, 0, 0], 'both 0'],
    ];
    for (const [leaf, msg] of cases) {
      const e = expectNetinvertError(() => validateVnnCertificate(withLeaf(leaf)), 'bad_certificate', 'trees[0][0]', msg);
      // the verifier answers with the same reason instead of throwing
      const v = verifyVnnCertificate(m, spec, withLeaf(leaf));
      expect(v.ok).toBe(false);
      expect(v.reason).toBe(e.message);
    }
    // the second group is checked too, and named
    expectNetinvertError(() => validateVnnCertificate(withLeaf([-1, ...G, 0, 0, 1, 1, -1, -2, 1])), 'bad_certificate', 'hint 1', 'mu = -2');
    // JSON: NaN is written as null, refused on reading
    const text = serializeVnnCertificate(withLeaf(set(5, NaN)) as VnnCertificate);
    expectNetinvertError(() => parseVnnCertificate(text), 'bad_certificate', 'mu is null');
  });

  it('against the property: clause and constraint indices in range, signs the relation allows', () => {
    const cases: [unknown[], string][] = [
      [set(0, 2), 'ci = 2 is not a clause index 0..1'],
      [set(1, 2), 'ka = 2 is not a constraint index of clause 0 (it has 2)'],
      [[-1, 1, 0, -1, 1, -1, 1, 1], 'kb = 1 is not a constraint index of clause 1 (it has 1)'],
      [set(2, -1), "sa = -1: constraint 0 of clause 0 is '<=', which allows +1 only"],
      [set(4, 1), "sb = 1: constraint 1 of clause 0 is '>=', which allows -1 only"],
    ];
    for (const [leaf, msg] of cases) {
      // the shape alone is fine; the property decides
      expect(() => validateVnnCertificate(withLeaf(leaf))).not.toThrow();
      const e = expectNetinvertError(() => validateVnnCertificate(withLeaf(leaf), spec), 'bad_certificate', 'trees[0][0] hint 0', msg);
      expectNetinvertError(() => parseVnnCertificate(JSON.stringify(withLeaf(leaf)), spec), 'bad_certificate', msg);
      const v = verifyVnnCertificate(m, spec, withLeaf(leaf));
      expect(v.ok).toBe(false);
      expect(v.reason).toBe(e.message);
    }
    // a well-formed certificate for another property is refused by its hash first
    const other = specOf(2, 2, [-1, -1], [1, 1], [[con([1, 0], 0, '<=')]]);
    expect(verifyVnnCertificate(m, other, base).reason).toMatch(/not this property/);
    expect(vnnSpecHash(other)).not.toBe(vnnSpecHash(spec));
  });
});

// ------------------------------------------------------------------------------------------------

describe('property: a forged hint never makes an unsafe property pass', () => {
  it('random nets, an unsafe point planted in the box (checked by a forward pass), hinted leaves with random weights: always rejected', () => {
    const weights = [0, 1, 0.5, 2, 1e-300, 5e-324, 1e300, 1.7e308, 1e-8, 1e8];
    let hintTries = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.constantFrom('relu', 'relu', 'tanh'), fc.integer({ min: 0, max: 2 }), (seed, act, scale) => {
        const r = rng(seed);
        const nOut = 1 + r.int(3);
        const m = chainNet(
          r,
          Array.from({ length: 1 + r.int(2) }, () => 2 + r.int(6)),
          nOut,
          act,
        );
        const half = [0.5, 0.05, 0.002][scale];
        const ctr = [r.uniform(-1, 1), r.uniform(-1, 1)];
        const lo = ctr.map((c) => c - half),
          hi = ctr.map((c) => c + half);
        // the planted point: inside the box, sometimes a corner
        const xs = r.next() < 0.25 ? [r.next() < 0.5 ? lo[0] : hi[0], r.next() < 0.5 ? lo[1] : hi[1]] : [r.uniform(lo[0], hi[0]), r.uniform(lo[1], hi[1])];
        const ys = evalAt(m, xs);
        // clause 0: 2–3 constraints each holding at y* with margin δ (the form s·(c·y + k) = −δ)
        const k0 = 2 + r.int(2);
        const clause: VnnlibLinearConstraint[] = [];
        const signs: number[] = [];
        for (let i = 0; i < k0; i++) {
          const c = r.vector(nOut, -1, 1);
          const rel: VnnlibRelation = r.next() < 0.5 ? '<=' : '>=';
          const s = rel === '<=' ? 1 : -1;
          const delta = r.pick([1e-9, 1e-6, 1e-3, 0.05]);
          let cy = 0;
          for (let j = 0; j < nOut; j++) cy += c[j] * ys[j];
          clause.push(con(c, -cy - s * delta, rel));
          signs.push(s);
        }
        // clause 1: something else (maybe refutable), so ci matters
        const spec = specOf(2, nOut, lo, hi, [clause, [con(r.vector(nOut, -1, 1), r.uniform(-3, 3), '<=')]]);
        // the oracle: y* is unsafe (every constraint of clause 0 holds with its margin)
        for (let i = 0; i < k0; i++) expect(formAt(clause[i], signs[i], ys)).toBeLessThan(0);
        const hint = (): number[] => {
          const ka = r.int(k0),
            kb = r.int(k0);
          let mu = r.next() < 0.5 ? r.pick(weights) : r.uniform(0, 10),
            nu = r.next() < 0.5 ? r.pick(weights) : r.uniform(0, 10);
          if (mu === 0 && nu === 0) nu = 1;
          // sometimes the weights that cancel the first output's coefficient (a nearly constant form)
          if (r.next() < 0.3) {
            mu = Math.abs(clause[kb].coeffs[0]);
            nu = Math.abs(clause[ka].coeffs[0]);
            if (mu === 0 && nu === 0) mu = 1;
          }
          hintTries++;
          return [0, ka, signs[ka], kb, signs[kb], mu, nu];
        };
        const leaf = (): number[] => hinted(...Array.from({ length: 1 + r.int(4) }, hint), ...(r.next() < 0.3 ? [[1, 0, 1, 0, 1, 1, 1]] : []));
        // one hinted leaf, and a random tree of hinted leaves
        const tree: number[][] = [];
        const grow = (l: number[], h: number[], depth: number): void => {
          if (depth >= 3 || r.next() < 0.3) {
            tree.push(leaf());
            return;
          }
          const d = r.int(2),
            t = l[d] + (h[d] - l[d]) * r.uniform(0.1, 0.9);
          tree.push([d, t]);
          grow(l, d === 0 ? [t, h[1]] : [h[0], t], depth + 1);
          grow(d === 0 ? [t, l[1]] : [l[0], t], h, depth + 1);
        };
        grow(lo, hi, 0);
        for (const t of [[leaf()], tree]) {
          const cert = buildVnnCertificate(m, spec, [t]);
          expect(() => validateVnnCertificate(cert, spec)).not.toThrow();
          const v = verifyVnnCertificate(m, spec, cert);
          expect(v.ok, `seed ${seed}: accepted a certificate of an unsafe property`).toBe(false);
          expect(v.reason).toMatch(/does not refute clause/);
        }
      }),
      { numRuns: 80, seed: 2718 },
    );
    expect(hintTries).toBeGreaterThan(300);
  });
});

describe('the search side: pairBound (vnn/bounds.ts) and hinted leaves on ACAS Xu', () => {
  /** min over the box of max(ℓa, ℓb): a linear program, here by a dense grid over the box's faces and inside (an upper bound on the minimum). */
  const gridMinMax = (A: number[], ca: number, B: number[], cb: number, lo: number[], hi: number[], R: Rng): number => {
    let best = Infinity;
    const d = lo.length;
    for (let s = 0; s < 20000; s++) {
      let va = ca,
        vb = cb;
      for (let j = 0; j < d; j++) {
        const u = R.next();
        // a third of the coordinates at a bound: the minimum of a piecewise-linear convex function sits on faces
        const x = u < 1 / 6 ? lo[j] : u > 5 / 6 ? hi[j] : lo[j] + (hi[j] - lo[j]) * R.next();
        va += A[j] * x;
        vb += B[j] * x;
      }
      best = Math.min(best, Math.max(va, vb));
    }
    return best;
  };

  it('is never above min over the box of max(ℓa, ℓb) (sound), and reaches the best weight on a dense μ grid (optimal over μ)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), (seed) => {
        const R = rng(seed);
        const d = 1 + Math.floor(R.next() * 5);
        const A = Array.from({ length: d }, () => 4 * R.next() - 2),
          B = Array.from({ length: d }, () => 4 * R.next() - 2);
        const lo = Array.from({ length: d }, () => 2 * R.next() - 1);
        const hi = lo.map((l) => l + 2 * R.next());
        const ca = 2 * R.next() - 1,
          cb = 2 * R.next() - 1;
        const out = { mu: 0, nu: 0, value: 0 };
        pairBound(Float64Array.from(A), 0, ca, Float64Array.from(B), 0, cb, lo, hi, d, out);
        expect(out.mu).toBeGreaterThanOrEqual(0);
        expect(out.nu).toBeGreaterThanOrEqual(0);
        // sound: μℓa + νℓb ≤ max(ℓa, ℓb) at every x, so its minimum is below every sampled max
        expect(out.value).toBeLessThanOrEqual(gridMinMax(A, ca, B, cb, lo, hi, R));
        // optimal over μ: h(μ) on a grid of 2001 weights is never better (h is concave, piecewise linear)
        let gridBest = -Infinity;
        for (let k = 0; k <= 2000; k++) {
          const mu = k / 2000,
            nu = 1 - mu;
          let h = mu * ca + nu * cb;
          for (let j = 0; j < d; j++) {
            const v = mu * A[j] + nu * B[j];
            h += Math.min(v * lo[j], v * hi[j]);
          }
          gridBest = Math.max(gridBest, h);
        }
        expect(out.value).toBeGreaterThanOrEqual(gridBest - 1e-9);
      }),
      { numRuns: 300 },
    );
  });

  it('ACAS Xu 1_1, property 4 (published: holds): the search writes hinted leaves, the verifier accepts the certificate, and rejects it with the hints taken out', () => {
    const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
    const model = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', 'ACASXU_run2a_1_1_batch_2000.onnx'))));
    const spec = parseVnnlib(readFileSync(join(ACAS, 'prop_4.vnnlib'), 'utf8'), 'prop_4.vnnlib');
    const r = decideVnnlib(model, spec, { timeout: 300, maxBoxes: 5000 });
    expect(r.status).toBe('unsat');
    const cert = r.certificate as VnnCertificate;
    const hinted = cert.trees.flat().filter((n) => n.length > 2);
    expect(hinted.length).toBeGreaterThan(0);
    expect(verifyVnnCertificate(model, spec, cert).ok).toBe(true);
    const stripped: VnnCertificate = { ...cert, trees: cert.trees.map((t) => t.map((n) => (n.length > 2 ? [] : n))) };
    const v = verifyVnnCertificate(model, spec, stripped);
    expect(v.ok).toBe(false);
  });
});
