/**
 * Slope hints in VNN unsat certificates (vnnCertificate.ts: slope-hinted leaves, version 3) and
 * their check by the independent verifier (vnnVerifier.ts: the form back-substituted with the
 * hint's ReLU lower-line slopes α ∈ [0, 1], α-CROWN). Oracles: forward passes of the real net on
 * a dense grid of the box (every sound lower bound lies below the sampled minimum; a property with
 * a sampled unsafe point is never certified), and the validation rules of the format.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildVnnCertificate, verifyVnnCertificate, type Model, type VnnCertificate, type VnnlibRelation, type VnnlibSpec } from '../src/index.ts';
import { VNN_ALPHA_LEAF, VNN_ALPHA_SCALE, VNN_CERTIFICATE_VERSION, validateVnnCertificate } from '../src/certify/proof/vnnCertificate.ts';
import { vnnLowerBounds } from '../src/certify/proof/vnnVerifier.ts';
import { decideVnnlib } from '../src/certify/vnn/decide.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import { expectNetinvertError } from './util/expect.ts';
import { chainNet } from './util/nets.ts';
import { rng, type Rng } from './util/rng.ts';

/** One clause, one constraint: s = +1: `Y_q ≤ t` (form y_q − t); s = −1: `Y_q ≥ t` (form t − y_q). */
function specOf(lo: number[], hi: number[], nOut: number, q: number, t: number, relation: VnnlibRelation): VnnlibSpec {
  const coeffs = new Float64Array(nOut);
  coeffs[q] = 1;
  return {
    numInputs: 2,
    numOutputs: nOut,
    inputBoxes: [{ lo: Float64Array.from(lo), hi: Float64Array.from(hi) }],
    outputDnf: [[{ coeffs, coeffErr: new Float64Array(nOut), constant: -t, constantErr: 0, relation, line: 1, column: 1 }]],
    asserts: 3,
  };
}

/** min over a (G+1)² grid of the box of s·y_q (forward passes of the real net). */
function gridMin(m: Model, lo: number[], hi: number[], q: number, s: number, G = 60): number {
  const X = new Float64Array((G + 1) ** 2 * 2);
  let k = 0;
  for (let i = 0; i <= G; i++) {
    for (let j = 0; j <= G; j++) {
      X[k++] = lo[0] + ((hi[0] - lo[0]) * i) / G;
      X[k++] = lo[1] + ((hi[1] - lo[1]) * j) / G;
    }
  }
  const Y = m.network.evaluate(X, (G + 1) ** 2);
  const nOut = m.network.nOut;
  let mn = Infinity;
  for (let p = 0; p < (G + 1) ** 2; p++) mn = Math.min(mn, s * Y[p * nOut + q]);
  return mn;
}

const randomSlopes = (r: Rng, N: number): number[] => {
  const mode = r.int(4);
  return Array.from({ length: N }, () => (mode === 0 ? 0 : mode === 1 ? VNN_ALPHA_SCALE : r.int(VNN_ALPHA_SCALE + 1)));
};

/** A net of 2 ReLU layers, its ReLU neuron count, and a random box inside [−1, 1]². */
function setup(seed: number): { r: Rng; m: Model; N: number; lo: number[]; hi: number[] } {
  const r = rng(seed);
  const hidden = [4 + r.int(9), 4 + r.int(9)];
  const m = chainNet(r, hidden, 2, 'relu');
  const a = r.vector(2, -1, 0.6),
    w = r.vector(2, 0.2, 0.4 + (1 - 0.4) * r.next());
  return { r, m, N: hidden[0] + hidden[1], lo: a, hi: a.map((v, i) => v + w[i]) };
}

const alphaLeaf = (N: number, groups: [number, number, number, number[]][]): number[] => [VNN_ALPHA_LEAF, N, ...groups.flatMap(([ci, k, s, a]) => [ci, k, s, ...a])];

describe('slope hints: the verifier back-substitutes with the given slopes', () => {
  it('property: with any slopes in [0, 1], CROWN and full CROWN stay below the sampled minimum of the form', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const { r, m, N, lo, hi } = setup(seed);
        const q = r.int(2),
          s = r.pick([1, -1]);
        const c = [0, 0];
        c[q] = s;
        const alpha = randomSlopes(r, N).map((a) => a / VNN_ALPHA_SCALE);
        const b = vnnLowerBounds(m, lo, hi, c, 0, undefined, alpha);
        const mn = gridMin(m, lo, hi, q, s);
        expect(b.crown).toBeLessThanOrEqual(mn + 1e-12);
        expect(b.fullCrown).toBeLessThanOrEqual(mn + 1e-12);
      }),
      { numRuns: 150, seed: 31 },
    );
  });

  it('a leaf no method refutes with CROWN slopes is refuted with better ones: the certificate holds with the slope hint and fails without it', () => {
    let found = 0;
    for (let seed = 1; seed <= 40 && found < 3; seed++) {
      const { r, m, N, lo, hi } = setup(seed);
      const q = r.int(2);
      const c = [0, 0];
      c[q] = 1;
      const plain = vnnLowerBounds(m, lo, hi, c, 0);
      const b0 = Math.max(plain.interval, plain.symbolic, plain.crown, plain.fullCrown);
      // the best of random slope vectors (the search's optimiser is not needed to show the format works)
      let best = -Infinity,
        bestA: number[] = [];
      for (let t = 0; t < 200; t++) {
        const a = randomSlopes(r, N);
        const v = vnnLowerBounds(
          m,
          lo,
          hi,
          c,
          0,
          undefined,
          a.map((x) => x / VNN_ALPHA_SCALE),
        ).fullCrown;
        if (v > best) ((best = v), (bestA = a));
      }
      if (!(best > b0 + 1e-6)) continue;
      found++;
      // unsafe: Y_q ≤ t, with t between what CROWN proves and what the slopes prove
      const t = (b0 + best) / 2;
      expect(t).toBeLessThan(gridMin(m, lo, hi, q, 1)); // the property does hold (sampled)
      const spec = specOf(lo, hi, 2, q, t, '<=');
      const without = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[[]]]));
      expect(without.ok).toBe(false);
      expect(without.reason).toMatch(/does not refute clause 0/);
      const cert = buildVnnCertificate(m, spec, [[alphaLeaf(N, [[0, 0, 1, bestA]])]]);
      expect(cert.version).toBe(VNN_CERTIFICATE_VERSION);
      const withA = verifyVnnCertificate(m, spec, JSON.parse(JSON.stringify(cert)));
      expect(withA.reason).toBeUndefined();
      expect(withA.ok).toBe(true);
      expect(withA.hinted).toBe(1);
      // all-zero slopes (a valid but different relaxation) are checked the same way: accepted only if they prove it
      const zeros = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[alphaLeaf(N, [[0, 0, 1, new Array(N).fill(0)]])]]));
      expect(zeros.ok).toBe(vnnLowerBounds(m, lo, hi, c, -t, undefined, new Array(N).fill(0)).fullCrown > 0);

      // forgeries and malformed hints: each rejected with its reason
      const bad = (mutate: (n: number[]) => number[], version = 3): ReturnType<typeof verifyVnnCertificate> => {
        const c2: VnnCertificate = { ...cert, version: version as 3, trees: [[mutate(cert.trees[0][0].slice())]] };
        return verifyVnnCertificate(m, spec, c2);
      };
      const expectBad = (mutate: (n: number[]) => number[], re: RegExp, version = 3): void => {
        const v = bad(mutate, version);
        expect(v.ok).toBe(false);
        expect(v.reason).toMatch(re);
      };
      expectBad((n) => ((n[5] = VNN_ALPHA_SCALE + 1), n), new RegExp(`slope 0 is ${VNN_ALPHA_SCALE + 1}, not an integer 0\\.\\.${VNN_ALPHA_SCALE}`));
      expectBad((n) => ((n[6] = 0.5), n), /slope 1 is 0.5, not an integer/);
      expectBad((n) => ((n[7] = -1), n), /slope 2 is -1, not an integer/);
      expectBad((n) => [n[0], N + 1, ...n.slice(2), 0], new RegExp(`has ${N + 1} slope\\(s\\); the model has ${N} ReLU neurons`));
      expectBad((n) => n.slice(0, -1), /whose length .* is not 2 \+ a multiple of N \+ 3/);
      expectBad((n) => ((n[4] = -1), n), /s = -1: constraint 0 of clause 0 is '<=', which allows \+1 only/);
      expectBad((n) => ((n[2] = 1), n), /ci = 1 is not a clause index 0\.\.0/);
      expectBad((n) => ((n[3] = 1), n), /k = 1 is not a constraint index of clause 0 \(it has 1\)/);
      expectBad((n) => n, /slope-hinted leaf, which version 2 does not have/, 2);
      expectNetinvertError(() => validateVnnCertificate({ ...cert, trees: [[[VNN_ALPHA_LEAF, 0, 0, 0, 1]]] }), 'bad_certificate', 'is not 2 + a multiple of N + 3');
    }
    // random slopes beat CROWN's adaptive slopes on some of these nets (else the test shows nothing)
    expect(found).toBe(3);
  });

  it('property: a property with a sampled unsafe point is never certified, whatever slopes a leaf claims', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const { r, m, N, lo, hi } = setup(seed);
        const q = r.int(2);
        // unsafe Y_q ≤ t with t at the sampled minimum: a grid point is unsafe
        const t = gridMin(m, lo, hi, q, 1, 20);
        const spec = specOf(lo, hi, 2, q, t, '<=');
        const groups = Array.from({ length: 1 + r.int(3) }, (): [number, number, number, number[]] => [0, 0, 1, randomSlopes(r, N)]);
        const v = verifyVnnCertificate(m, spec, buildVnnCertificate(m, spec, [[alphaLeaf(N, groups)]]));
        expect(v.ok).toBe(false);
      }),
      { numRuns: 100, seed: 32 },
    );
  });
});

describe('the search writes slope hints (alpha-CROWN, on by default on ReLU chains)', () => {
  it('ACAS Xu 5_1, property 3 (published: holds): slope-hinted leaves in the certificate, accepted; rejected with them taken out', () => {
    const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
    const model = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', 'ACASXU_run2a_5_1_batch_2000.onnx'))));
    const spec = parseVnnlib(readFileSync(join(ACAS, 'prop_3.vnnlib'), 'utf8'), 'prop_3.vnnlib');
    const r = decideVnnlib(model, spec, { timeout: 300, maxBoxes: 5000 });
    expect(r.status).toBe('unsat');
    const cert = r.certificate as VnnCertificate;
    const sloped = cert.trees.flat().filter((n) => n[0] === VNN_ALPHA_LEAF && n.length > 2);
    expect(sloped.length).toBeGreaterThan(0);
    // 6 × 50 ReLU neurons, each slope on the grid
    for (const n of sloped) expect(n[1]).toBe(300);
    const v = verifyVnnCertificate(model, spec, JSON.parse(JSON.stringify(cert)));
    expect(v.ok, v.reason).toBe(true);
    expect(v.hinted).toBeGreaterThanOrEqual(sloped.length);
    const stripped: VnnCertificate = { ...cert, trees: cert.trees.map((t) => t.map((n) => (n[0] === VNN_ALPHA_LEAF && n.length > 2 ? [] : n))) };
    const w = verifyVnnCertificate(model, spec, stripped);
    expect(w.ok).toBe(false);
    expect(w.reason).toMatch(/does not refute clause/);
    // off: no slope hints at all
    const off = decideVnnlib(model, spec, { timeout: 300, maxBoxes: 5000, alpha: false });
    expect(off.status).toBe('unsat');
    expect((off.certificate as VnnCertificate).trees.flat().some((n) => n[0] === VNN_ALPHA_LEAF && n.length > 2)).toBe(false);
  });
});
