/**
 * The certificate verifier cannot be fooled: forged and tampered certificates are rejected,
 * its interval formulas are sound in floating point (huge weights on narrow boxes), and the
 * certificates certify() emits pass it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { certify } from '../src/api/certify.ts';
import { covers, verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { verifierBounds, VerifierNet } from '../src/certify/proof/verifier.ts';
import { createModel, type Model } from '../src/model.ts';
import { bisect, FOUR_IN_TARGETS, loadShipped, saturatingNet, seedAddOracle, threeRootNet } from './problems.ts';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** A forged 'infeasible' certificate: the whole box excluded by target 0. */
function forged(model: Model, q: Partial<Certificate['query']> & Pick<Certificate['query'], 'unknowns' | 'box' | 'targets'>): Certificate {
  return {
    format: 'netinvert-certificate',
    version: 2,
    modelHash: model.hash,
    claim: 'infeasible',
    query: { given: {}, atol: 1e-6, rtol: 1e-6, ...q },
    excluded: [{ lo: q.box.lo.slice(), hi: q.box.hi.slice(), target: 0 }],
  };
}

/** One input x, output y = w·act(x). */
function scaledUnary(act: string, w: number): Model {
  return createModel({
    inputs: [{ name: 'x', width: 1 }],
    nodes: [
      { name: 'a', op: { type: 'unary', fn: act }, inputs: ['x'] },
      { name: 'y', op: { type: 'dense', units: 1, weight: [w], bias: [0] }, inputs: ['a'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  });
}

describe('forged certificates are rejected', () => {
  const seed = loadShipped('seed-add.json');
  const f = seedAddOracle();
  // the seed query 3 + b = 7 is feasible: b ≈ 4.0118 (bisection on the model's own formula)
  const b7 = bisect((b) => f(3, b) - 7, 0, 10);
  const seedQuery = { given: { a: 3 }, unknowns: ['b'], box: { lo: [0], hi: [10] } };

  it('the feasible seed query really is feasible (oracle)', () => {
    expect(Math.abs(f(3, b7) - 7)).toBeLessThan(1e-9);
  });

  it('a negative tolerance (atol −1) is rejected', () => {
    const c = forged(seed, { ...seedQuery, targets: [{ output: 'sum', kind: 'eq', lo: 7, hi: 7 }], atol: -1 });
    const v = verifyCertificate(seed, c);
    expect(v.valid).toBe(false);
    expect(v.reason).toMatch(/tolerance/);
  });

  it('a tolerance carried in the certificate is not trusted (unknown field)', () => {
    const c = forged(seed, { ...seedQuery, targets: [{ output: 'sum', kind: 'eq', lo: 7, hi: 7 }] });
    (c.query.targets[0] as Record<string, unknown>).tolerance = -1;
    expect(verifyCertificate(seed, c)).toMatchObject({ valid: false });
    // and without it, the honest check finds the solution at b ≈ 4.01
    delete (c.query.targets[0] as Record<string, unknown>).tolerance;
    expect(verifyCertificate(seed, c).valid).toBe(false);
  });

  it('an equality target with lo = 9 and hi = 5 is rejected', () => {
    const c = forged(seed, { ...seedQuery, targets: [{ output: 'sum', kind: 'eq', lo: 9, hi: 5 }] });
    expect(verifyCertificate(seed, c)).toMatchObject({ valid: false });
    const r = forged(seed, { ...seedQuery, targets: [{ output: 'sum', kind: 'range', lo: 9, hi: 5 }] });
    expect(verifyCertificate(seed, r)).toMatchObject({ valid: false });
  });

  it('stored output bounds (outputLo/outputHi) are not accepted', () => {
    const good = certify(seed, { given: { a: 3 }, want: { sum: 70 } }).certificate!;
    expect(verifyCertificate(seed, good).valid).toBe(true);
    const c = clone(good) as unknown as { excluded: Record<string, unknown>[] };
    c.excluded[0].outputLo = 1e300;
    c.excluded[0].outputHi = 1e301;
    expect(verifyCertificate(seed, c)).toMatchObject({ valid: false });
  });

  it('a root moved by 1000, or moved inside its box off the root, is rejected', () => {
    const r = certify(seed, { given: { a: 3 }, want: { sum: 7 } });
    const good = r.certificate!;
    expect(good.claim).toBe('complete');
    expect(verifyCertificate(seed, good).valid).toBe(true);
    const far = clone(good);
    far.roots![0].root[0] += 1000;
    expect(verifyCertificate(seed, far).valid).toBe(false);
    // inside the proven box but not a root: the point must meet the target
    const off = clone(good);
    const rb = off.roots![0];
    const wide = clone(good);
    wide.roots![0].lo[0] = Math.max(0, rb.root[0] - 0.5);
    wide.roots![0].hi[0] = Math.min(10, rb.root[0] + 0.5);
    wide.roots![0].root[0] = wide.roots![0].lo[0];
    expect(verifyCertificate(seed, wide).valid).toBe(false);
    off.roots![0].root[0] = rb.lo[0];
    if (Math.abs(f(3, rb.lo[0]) - 7) > 1e-5) expect(verifyCertificate(seed, off).valid).toBe(false);
  });

  it('a target the certificate does not show missed (given changed) is rejected', () => {
    const good = certify(seed, { given: { a: 3 }, want: { sum: 70 } }).certificate!;
    // with a = 3 → the seed net's maximum over b is 40·bsig-limited; sum = 70 unreachable. A forged
    // target inside the reachable range must fail:
    const reach = clone(good);
    reach.query.targets[0].lo = reach.query.targets[0].hi = f(3, 5);
    expect(verifyCertificate(seed, reach).valid).toBe(false);
    const renamed = clone(good);
    renamed.query.unknowns = ['c'];
    expect(verifyCertificate(seed, renamed).valid).toBe(false);
    const hash = clone(good);
    hash.modelHash = hash.modelHash.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
    expect(verifyCertificate(seed, hash).valid).toBe(false);
    const outside = clone(good);
    outside.query.box.hi[0] = 5; // boxes now reach outside the stated box
    expect(verifyCertificate(seed, outside).valid).toBe(false);
    const flipped = clone(good) as Certificate;
    const cc = certify(seed, { given: { a: 3 }, want: { sum: 7 } }).certificate!;
    flipped.claim = 'infeasible';
    flipped.rootFree = cc.rootFree;
    flipped.roots = cc.roots;
    expect(verifyCertificate(seed, flipped).valid).toBe(false);
  });
});

describe('stable, outward-rounded formulas on narrow boxes with huge weights', () => {
  it('softplus with weight 1e18 at x0 = −40: enclosure holds the value, forged infeasible rejected, certify solves it', () => {
    const model = scaledUnary('softplus', 1e18);
    // oracle: softplus(−40) = log1p(e^−40) ≈ e^−40 − e^−80/2 (series; e^−80 is far below an ulp)
    const truth = 1e18 * Math.exp(-40);
    const lo = [-40],
      hi = [-40 + 1e-12];
    const b = verifierBounds(model.graph, lo, hi);
    expect(b.lo[0]).toBeLessThanOrEqual(truth);
    expect(b.hi[0]).toBeGreaterThanOrEqual(truth);
    const t = truth;
    const c = forged(model, { unknowns: ['x'], box: { lo, hi }, targets: [{ output: 'y', kind: 'eq', lo: t, hi: t }] });
    expect(verifyCertificate(model, c).valid).toBe(false);
    const r = certify(model, { want: { y: t }, bounds: { x: [lo[0], hi[0]] } });
    expect(r.status).toBe('solved');
  });

  it('gelu with weight −1e19 at x0 = −9: enclosure holds the value, forged infeasible rejected, certify solves it', () => {
    const model = scaledUnary('gelu', -1e19);
    // oracle: Φ(−9) by the asymptotic series φ(x)/x·Σ (−1)ᵏ(2k−1)!!/x²ᵏ, 12 terms (error < 1e-10 relative)
    const x = 9;
    const phi = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    let sum = 0,
      term = 1;
    for (let k = 0; k < 12; k++) {
      sum += term;
      term *= -(2 * k + 1) / (x * x);
    }
    const Phi = (phi / x) * sum;
    const truth = -1e19 * (-9 * Phi);
    expect(truth).toBeGreaterThan(9);
    const lo = [-9],
      hi = [-9 + 1e-12];
    const b = verifierBounds(model.graph, lo, hi);
    expect(b.lo[0]).toBeLessThanOrEqual(truth * (1 + 1e-7));
    expect(b.hi[0]).toBeGreaterThanOrEqual(truth * (1 - 1e-7));
    const t = model.network.evaluate(Float64Array.from([-9]), 1)[0];
    expect(Math.abs(t - truth)).toBeLessThan(1e-6 * truth);
    const c = forged(model, { unknowns: ['x'], box: { lo, hi }, targets: [{ output: 'y', kind: 'eq', lo: t, hi: t }] });
    expect(verifyCertificate(model, c).valid).toBe(false);
    const r = certify(model, { want: { y: t }, bounds: { x: [lo[0], hi[0]] } });
    expect(r.status).toBe('solved');
  });

  const ACTS = ['tanh', 'sigmoid', 'bipolar_sigmoid', 'softplus', 'gelu', 'gelu_tanh', 'silu', 'elu', 'selu', 'softsign', 'erf', 'exp', 'sin', 'cos', 'relu', 'leaky_relu', 'abs', 'hard_sigmoid'];
  it('property: value and derivative enclosures hold the engine’s values and Jacobians at sampled points (all activations, wide weight range)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ACTS),
        fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 9, maxLength: 9 }),
        fc.double({ min: -40, max: 40, noNaN: true }),
        fc.double({ min: -40, max: 40, noNaN: true }),
        fc.constantFrom(1e-9, 1e-3, 0.5, 3),
        (act, w, c0, c1, r) => {
          const model = createModel({
            inputs: [{ name: 'x', width: 2 }],
            nodes: [
              { name: 'h', op: { type: 'dense', units: 2, weight: w.slice(0, 4), bias: w.slice(4, 6) }, inputs: ['x'] },
              { name: 'a', op: { type: 'unary', fn: act }, inputs: ['h'] },
              { name: 'y', op: { type: 'dense', units: 1, weight: w.slice(6, 8), bias: [w[8]] }, inputs: ['a'] },
            ],
            outputs: [{ node: 'y', name: 'y' }],
          });
          const lo = [c0 - r, c1 - r],
            hi = [c0 + r, c1 + r];
          const v = new VerifierNet(model.graph);
          const yl = new Float64Array(1),
            yh = new Float64Array(1),
            jl = new Float64Array(2),
            jh = new Float64Array(2);
          v.jvp(lo, hi, Int32Array.from([0, 1]), yl, yh, jl, jh);
          const nl = new Float64Array(1),
            nh = new Float64Array(1);
          v.bounds(lo, hi, nl, nh);
          for (let s = 0; s < 12; s++) {
            const x = Float64Array.from([lo[0] + ((s * 0.618034) % 1) * 2 * r, lo[1] + ((s * 0.414214) % 1) * 2 * r]);
            if (s === 0) x.set(lo);
            if (s === 1) x.set(hi);
            const { J, Y } = model.network.jacobian(x, 1);
            if (!Number.isFinite(Y[0])) continue;
            expect(Y[0]).toBeGreaterThanOrEqual(nl[0]);
            expect(Y[0]).toBeLessThanOrEqual(nh[0]);
            expect(Y[0]).toBeGreaterThanOrEqual(yl[0]);
            expect(Y[0]).toBeLessThanOrEqual(yh[0]);
            for (let k = 0; k < 2; k++) {
              if (!Number.isFinite(J[k])) continue;
              // the engine's derivative has its own rounding: allow 1e-9 relative
              const tol = 1e-9 * (Math.abs(J[k]) + 1e-300);
              expect(J[k] + tol).toBeGreaterThanOrEqual(jl[k]);
              expect(J[k] - tol).toBeLessThanOrEqual(jh[k]);
            }
          }
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});

describe('certify emits certificates its verifier accepts', () => {
  it('a zero-width box (b = 4:4, a = 3, sum = 70) is infeasible with a certificate that verifies', () => {
    const seed = loadShipped('seed-add.json');
    const r = certify(seed, { given: { a: 3 }, want: { sum: 70 }, bounds: { b: [4, 4] } });
    expect(r.status).toBe('infeasible');
    const v = verifyCertificate(seed, r.certificate!);
    expect(v.reason).not.toMatch(/cover/);
    expect(v.valid).toBe(true);
  });

  it('cover check: zero-width query boxes and pieces', () => {
    expect(covers({ lo: [4], hi: [4] }, [{ lo: [4], hi: [4] }])).toBe(true);
    expect(covers({ lo: [4, 0], hi: [4, 1] }, [{ lo: [4, 0], hi: [4, 0.5] }, { lo: [3, 0.5], hi: [4, 1] }])).toBe(true);
    expect(covers({ lo: [4, 0], hi: [4, 1] }, [{ lo: [4, 0], hi: [4, 0.5] }, { lo: [4.5, 0.5], hi: [5, 1] }])).toBe(false);
    expect(covers({ lo: [0, 0], hi: [1, 1] }, [{ lo: [0, 0], hi: [1, 0.5] }, { lo: [0, 0.5], hi: [1, 0.5] }])).toBe(false);
  });

  it('root-free boxes that one interval evaluation cannot clear are accepted when true, rejected when false', () => {
    // y = tanh(3x) − 0.5x has roots 0 and ±r (r by bisection); plain intervals overestimate it
    const model = threeRootNet();
    const good = certify(model, { want: { y: 0 } }).certificate!;
    expect(verifyCertificate(model, good).valid).toBe(true);
    const g = (x: number): number => Math.tanh(3 * x) - 0.5 * x;
    const r = bisect(g, 1, 4);
    const found = good.roots!.map((b) => b.root[0]);
    for (const root of [-r, 0, r]) expect(found.some((x) => Math.abs(x - root) < 1e-9)).toBe(true);
    // a certificate of our own: small root boxes around −r, 0, r and the big gaps between them
    const e = 1e-2;
    const roots = [-r, 0, r].map((x) => ({ lo: [x - e], hi: [x + e], root: [found.find((y) => Math.abs(y - x) < 1e-9)!] }));
    const edges = [-4, ...roots.flatMap((b) => [b.lo[0], b.hi[0]]), 4];
    const big: NonNullable<Certificate['rootFree']> = [];
    for (let i = 0; i < edges.length; i += 2) big.push({ lo: [edges[i]], hi: [edges[i + 1]], reason: 'range' });
    const merged: Certificate = { ...clone(good), excluded: [], rootFree: big, roots };
    // the gap between the roots 0 and r is wide enough that one evaluation cannot clear it
    const wide = big[2];
    expect(wide.lo[0]).toBeCloseTo(e, 12);
    const one = verifierBounds(model.graph, wide.lo, wide.hi);
    expect(one.lo[0] <= 0 && one.hi[0] >= 0).toBe(true);
    expect(verifyCertificate(model, merged).valid).toBe(true);
    // a false claim: the root box around 0 relabelled root-free
    const lie: Certificate = { ...clone(merged), roots: [roots[0], roots[2]], rootFree: [...big, { lo: roots[1].lo, hi: roots[1].hi, reason: 'range' }] };
    expect(verifyCertificate(model, lie).valid).toBe(false);
    // and a root-free box that holds a root (the gap widened over r)
    const over: Certificate = { ...clone(merged), roots: [roots[0], roots[1]], rootFree: [...big.slice(0, 3), { lo: [e], hi: [4], reason: 'krawczyk' }] };
    expect(verifyCertificate(model, over).valid).toBe(false);
    expect(r).toBeGreaterThan(1);
  });

  it('completeness certificates are checked entirely by the independent verifier (its own Krawczyk test)', () => {
    const cases: [Model, { given?: Record<string, number>; want: Record<string, number> }][] = [
      [loadShipped('seed-add.json'), { given: { a: 3 }, want: { sum: 7 } }],
      [loadShipped('seed-4in2out.json'), { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS }],
      [threeRootNet(), { want: { y: 0 } }],
    ];
    for (const [model, q] of cases) {
      const r = certify(model, q);
      expect(r.complete).toBe(true);
      expect(verifyCertificate(model, r.certificate!, q)).toMatchObject({ valid: true, independent: true });
    }
  });

  it('a tolerance below the verifier\'s own rounding (atol 1e-14, rtol 0): the listed roots are accepted, moved ones are not', () => {
    // fuzz seed 1 case 31: "the root … does not meet the targets" although Krawczyk proves the exact root
    const model = loadShipped('seed-4in2out.json');
    const q = { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS };
    const r = certify(model, q, { atol: 1e-14, rtol: 0 });
    expect(r.complete).toBe(true);
    expect(verifyCertificate(model, r.certificate!, { ...q, atol: 1e-14, rtol: 0 })).toMatchObject({ valid: true });
    const moved = clone(r.certificate!);
    const rb = moved.roots![0];
    rb.root[0] = rb.root[0] + 0.25 * (rb.hi[0] - rb.root[0]);
    expect(verifyCertificate(model, moved).valid).toBe(false);
  });

  it('verifyCertificate(model, cert, query) checks the certificate is for exactly that query', () => {
    const model = saturatingNet();
    const q = { want: { y: 2 } };
    const c = certify(model, q).certificate!;
    expect(verifyCertificate(model, c, q).valid).toBe(true);
    expect(verifyCertificate(model, c, { want: { y: 1.5 } }).valid).toBe(false);
    expect(verifyCertificate(model, c, { ...q, atol: 1e-3 }).valid).toBe(false);
    const names = model.network.inputNames;
    expect(verifyCertificate(model, c, { ...q, bounds: { [names[0]]: [-5, 5] } }).valid).toBe(false);
    expect(verifyCertificate(model, c, { ...q, given: { [names[0]]: 0.5 } }).valid).toBe(false);
  });
});

describe('netinvert check-certificate and solve --certificate', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const { runCli } = await import('../src/cli/program.ts');
    let out = '',
      err = '';
    const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
    return { code, out, err };
  }
  const ADD = 'models/seed-add.json';

  it('writes a certificate that check-certificate accepts (exit 0), and rejects a tampered one (exit 1, with the reason)', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'netinvert-cert-'));
    const file = join(dir, 'cert.json');
    const s = await cli(['solve', ADD, '--given', 'a=3', '--want', 'sum=70', '--certificate', file]);
    expect(s.code).toBe(3);
    const c = await cli(['check-certificate', ADD, file]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/^valid/m);
    // the auditor sees what was proven
    expect(c.out).toMatch(/given: a = 3/);
    expect(c.out).toMatch(/targets: sum = 70/);
    expect(c.out).toMatch(/b in \[0, 10\]/);
    const cert = JSON.parse(readFileSync(file, 'utf8'));
    cert.query.targets[0].lo = cert.query.targets[0].hi = 7;
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(cert));
    const b = await cli(['check-certificate', ADD, bad]);
    expect(b.code).toBe(1);
    expect(b.out).toMatch(/^invalid: .*may meet its target/m);
    // an unwritable certificate path: a coded error naming it
    const nowhere = join(dir, 'no-such-folder', 'c.json');
    const w = await cli(['solve', ADD, '--given', 'a=3', '--want', 'sum=70', '--certificate', nowhere]);
    expect(w.code).toBe(1);
    expect(w.err).toMatch(/error \[bad_argument\]: .*no-such-folder.*cannot write the certificate/);
    // not JSON: a coded error naming the file
    writeFileSync(bad, '{ nope');
    const j = await cli(['check-certificate', ADD, bad]);
    expect(j.code).toBe(1);
    expect(j.err).toMatch(/error \[bad_certificate\]: .*bad\.json/);
  });

  it('a completeness certificate from --certificate verifies too', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'netinvert-cert-')), 'c.json');
    const s = await cli(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--certificate', file]);
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/proven to be all of them/);
    const c = await cli(['check-certificate', ADD, file]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/complete/);
  });
});
