/**
 * The op table: every activation of the table and every structural op, each inside a tiny
 * graph (input → dense → op → dense, so inputs mix), checked against oracles that share no
 * code with the engine's derivatives: finite differences of `evaluate`, one-sided differences
 * at kinks, the derivative conventions written out in test/util/nets.ts, and values computed
 * offline with mpmath (test/util/reference.ts).
 */
import { describe, expect, it } from 'vitest';
import { erf, erfc, makeUnary, network, UNARY_NAMES, type GraphDef, type Network, type OpSpec } from '../src/index.ts';
import { checkJacobians } from './util/checks.ts';
import { expectAllClose } from './util/expect.ts';
import { central, oneSided } from './util/fd.ts';
import { opCases, smoothPoints, stack, UNARY_CASES, type UnaryCase } from './util/nets.ts';
import { ERF_VALUES, REFERENCE } from './util/reference.ts';
import { rng } from './util/rng.ts';

const ULP = 2 ** -52;
const CASES = opCases(rng(20240611));

/** A seed from a label, so every case draws its own reproducible points. */
function seedOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function unaryOf(u: { fn: string; params: Record<string, number> }) {
  return makeUnary(u.fn, u.params).fn;
}

/** input z (width 1) → op; outputs the op. */
function direct(op: OpSpec, width = 1): Network {
  return network({
    inputs: [{ name: 'z', width }],
    nodes: [{ name: 'act', op, inputs: ['z'] }],
    outputs: [{ node: 'act' }],
  });
}

describe('op table coverage', () => {
  it('has a case for every activation the engine lists, and every structural op type', () => {
    const covered = new Set(UNARY_CASES.map((u) => u.fn));
    for (const name of UNARY_NAMES) expect(covered.has(name), `activation "${name}" has no test case`).toBe(true);
    const types = new Set<string>();
    for (const c of CASES) for (const nd of c.def.nodes) types.add(nd.op.type);
    for (const t of ['dense', 'affine', 'binary', 'binary_const', 'concat', 'gather', 'reshape', 'softmax', 'log_softmax', 'unary']) {
      expect(types.has(t), `op type ${t}`).toBe(true);
    }
  });
});

describe('op table: Jacobians against finite differences', () => {
  for (const c of CASES) {
    it(`${c.label}: forward = reverse = finite differences, one row and a batch`, () => {
      const net = network(c.def);
      const r = rng(seedOf(c.label));
      const pts = smoothPoints(c.def, net.nIn, c.sample, 4, r, c.avoid);
      for (const p of pts) checkJacobians(net, p, 1);
      const X = stack(pts);
      const J = Float64Array.from(checkJacobians(net, X, pts.length));
      const Y = Float64Array.from(net.evaluate(X, pts.length));
      // rows are independent: each row of the batch is what that point gives alone
      const m = net.nOut,
        k = net.nIn;
      pts.forEach((p, row) => {
        const one = net.jacobian(p, 1);
        const tol = (i: number, a: Float64Array) => 1e-14 * Math.max(1, Math.abs(a[i]));
        const yRow = Y.subarray(row * m, (row + 1) * m);
        const jRow = J.subarray(row * m * k, (row + 1) * m * k);
        expectAllClose(one.Y, yRow, (i) => tol(i, yRow), `row ${row} values, batch vs alone`);
        expectAllClose(one.J, jRow, (i) => tol(i, jRow), `row ${row} Jacobian, batch vs alone`);
      });
    });

    it(`${c.label}: NaN in an input gives NaN in every output that depends on it, and no throw`, () => {
      const net = network(c.def);
      const r = rng(seedOf(c.label) ^ 1);
      const m = net.nOut,
        k = net.nIn;
      // an output depends on input i if ∂y/∂x_i is nonzero at one of a few random points; the
      // head y reads every input through the graph (even where the op is constant: a − a)
      const depends = new Uint8Array(m * k);
      for (let o = 0; o < m; o++) if (net.outputNames[o].startsWith('y[')) depends.fill(1, o * k, (o + 1) * k);
      for (let t = 0; t < 3; t++) {
        const J = net.jacobian(Float64Array.from(r.vector(k, -1, 1)), 1).J;
        for (let e = 0; e < m * k; e++) if (J[e] !== 0) depends[e] = 1;
      }
      const good = Float64Array.from(r.vector(k, -1, 1));
      const yGood = Float64Array.from(net.evaluate(good, 1));
      for (let i = 0; i < k; i++) {
        const X = new Float64Array(2 * k);
        X.set(good);
        X.set(good, k);
        X[i] = NaN;
        const Y = net.evaluate(X, 2);
        for (let o = 0; o < m; o++) {
          if (depends[o * k + i]) expect(Y[o], `output ${net.outputNames[o]} with NaN in input ${i}`).toBeNaN();
        }
        expectAllClose(Y.subarray(m, 2 * m), yGood, 0, 'the row without NaN');
        for (const mode of ['forward', 'reverse'] as const) {
          const { Y: Yj } = net.jacobian(X, 2, { mode });
          for (let o = 0; o < m; o++) if (depends[o * k + i]) expect(Yj[o]).toBeNaN();
        }
      }
    });
  }
});

describe('activations: values and derivatives against mpmath', () => {
  // functions whose derivative cancels near a root: their error is bounded absolutely
  const cancelling = new Set(['silu', 'gelu', 'gelu_tanh']);
  for (const ref of REFERENCE) {
    it(`${ref.fn} ${JSON.stringify(ref.params)}: f, f', and the batched loops, within 16 ulps (more in far tails)`, () => {
      const fn = unaryOf(ref);
      const n = ref.points.length;
      const X = Float64Array.from(ref.points.map((p) => p[0]));
      const Y = new Float64Array(n),
        D = new Float64Array(n);
      fn.map(X, Y, n);
      fn.deriv(X, Y, D, n);
      const fRef = ref.points.map((p) => p[1]),
        dRef = ref.points.map((p) => p[2]);
      // functions that round a scaled argument inside (x/√2 in gelu, βx in softplus...) lose
      // about x²·u relatively in their tails, as their error models in the engine say
      const scaled = ['gelu', 'gelu_tanh', 'softplus', 'bipolar_sigmoid', 'erf'].includes(ref.fn);
      const grow = (i: number) => (scaled ? Math.max(1, (X[i] * X[i]) / 4) : 1);
      const rel = (v: number[], floor: number) => (i: number) => 16 * ULP * grow(i) * Math.max(Math.abs(v[i]), floor);
      expectAllClose(ref.points.map((p) => fn.f(p[0])), fRef, rel(fRef, 0), `${fn.name} f`);
      expectAllClose(Y, fRef, rel(fRef, 0), `${fn.name} map`);
      expectAllClose(ref.points.map((p) => fn.df(p[0])), dRef, rel(dRef, cancelling.has(ref.fn) ? 1 : 0), `${fn.name} df`);
      // the batched derivative of the tanh family works from y = f(x) as (1 − y)(1 + y), which
      // is accurate in absolute terms only; every other one must be relatively accurate
      const fromY = ref.fn === 'tanh' || ref.fn === 'bipolar_sigmoid';
      expectAllClose(D, dRef, rel(dRef, fromY || cancelling.has(ref.fn) ? 1 : 0), `${fn.name} deriv`);
    });
  }

  it('covers every activation case with reference values', () => {
    for (const u of UNARY_CASES) {
      const hit = REFERENCE.some((r) => r.fn === u.fn && JSON.stringify(r.params) === JSON.stringify(u.params));
      expect(hit, `no reference values for ${u.label}`).toBe(true);
    }
  });
});

describe('erf and erfc', () => {
  for (const v of ERF_VALUES) {
    it(`${v.fn}(${v.x}) = ${v.value} to 1e-15 relative`, () => {
      const got = v.fn === 'erf' ? erf(v.x) : erfc(v.x);
      expect(Math.abs(got - v.value)).toBeLessThanOrEqual(1e-15 * Math.abs(v.value));
    });
  }
  it('is odd, erf + erfc = 1, and NaN stays NaN', () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const x = r.uniform(-6, 6);
      expect(erf(-x)).toBe(-erf(x));
      expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThanOrEqual(4 * ULP);
    }
    expect(erf(NaN)).toBeNaN();
    expect(erfc(NaN)).toBeNaN();
    expect(erf(Infinity)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erfc(Infinity)).toBe(0);
  });
});

/** Points in the domain of u, away from its kinks. */
function smoothArgs(u: UnaryCase, count: number, seed: number): number[] {
  const r = rng(seed);
  const out: number[] = [];
  while (out.length < count) {
    const x = u.positive ? r.uniform(0.2, 5) : r.uniform(-5, 5);
    if (u.kinks.every((k) => Math.abs(x - k.x) > 1e-3)) out.push(x);
  }
  return out;
}

describe('activations: derivatives, kinks, NaN and large arguments', () => {
  for (const u of UNARY_CASES) {
    const fn = unaryOf(u);

    it(`${u.label}: df matches central differences of f; dfSide = df away from kinks`, () => {
      for (const x of smoothArgs(u, 40, seedOf(u.label))) {
        const fd = central(fn.f, x);
        expect(Math.abs(fn.df(x) - fd), `${u.label} at ${x}: df ${fn.df(x)}, fd ${fd}`).toBeLessThanOrEqual(
          1e-7 * Math.max(1, Math.abs(fd), Math.abs(fn.f(x))),
        );
        expect(fn.dfSide(x, 1)).toBe(fn.df(x));
        expect(fn.dfSide(x, -1)).toBe(fn.df(x));
      }
    });

    it(`${u.label}: NaN in, NaN out (scalar, batched, through a network)`, () => {
      expect(fn.f(NaN)).toBeNaN();
      const y = new Float64Array(3);
      fn.map(Float64Array.from([NaN, 0.5, NaN]), y, 3);
      expect(y[0]).toBeNaN();
      expect(y[2]).toBeNaN();
      expect(y[1]).toBe(fn.f(0.5));
      const net = direct({ type: 'unary', fn: u.fn, params: u.params });
      expect(net.evaluate(Float64Array.of(NaN), 1)[0]).toBeNaN();
    });

    if (u.kinks.length) {
      it(`${u.label}: one-sided derivatives at the kinks (joins), and the documented value at each`, () => {
        // the engine lists the points where f' jumps (not smooth joins such as elu's at α = 1)
        const jumps = u.kinks.filter((k) => k.left !== k.right).map((k) => k.x);
        expect([...fn.kinks].sort((a, b) => a - b)).toEqual(jumps.sort((a, b) => a - b));
        const net = direct({ type: 'unary', fn: u.fn, params: u.params });
        const netF = (x: number) => net.evaluate(Float64Array.of(x), 1)[0];
        for (const k of u.kinks) {
          for (const [side, want] of [
            [1, k.right],
            [-1, k.left],
          ] as const) {
            const at = `${u.label} at kink ${k.x}, side ${side}`;
            expect(fn.dfSide(k.x, side), at).toBe(want);
            expect(Math.abs(oneSided(fn.f, k.x, side) - want), `${at}: one-sided difference of f`).toBeLessThanOrEqual(1e-6);
            expect(Math.abs(oneSided(netF, k.x, side) - want), `${at}: one-sided difference of the network`).toBeLessThanOrEqual(1e-6);
            // a hair away from the kink, df is the one-sided value
            const near = side > 0 ? k.x + 1e-9 : k.x - 1e-9;
            expect(Math.abs(fn.df(near) - want), `${at}: df just beside the kink`).toBeLessThanOrEqual(1e-8);
          }
          expect(fn.df(k.x), `${u.label}: df at the kink ${k.x}`).toBe(k.convention);
          for (const mode of ['forward', 'reverse'] as const) {
            const { J } = net.jacobian(Float64Array.of(k.x), 1, { mode });
            expect(J[0], `${u.label}: ${mode}-mode Jacobian at the kink ${k.x}`).toBe(k.convention);
          }
        }
      });
    }

    if (u.saturates) {
      it(`${u.label}: finite values and derivatives at ±50, ±700, ±1e4`, () => {
        const zs = [50, -50, 700, -700, 1e4, -1e4];
        const net = direct({ type: 'unary', fn: u.fn, params: u.params });
        const X = Float64Array.from(zs);
        const Y = new Float64Array(zs.length),
          D = new Float64Array(zs.length);
        fn.map(X, Y, zs.length);
        fn.deriv(X, Y, D, zs.length);
        zs.forEach((z, i) => {
          for (const [what, v] of [
            ['f', fn.f(z)],
            ['df', fn.df(z)],
            ['map', Y[i]],
            ['deriv', D[i]],
          ] as const) {
            expect(Number.isFinite(v), `${u.label} ${what}(${z}) = ${v}`).toBe(true);
          }
          for (const mode of ['forward', 'reverse'] as const) {
            const { J, Y: y } = net.jacobian(Float64Array.of(z), 1, { mode });
            expect(Number.isFinite(y[0]) && Number.isFinite(J[0]), `${u.label} network at ${z} (${mode}): y ${y[0]}, J ${J[0]}`).toBe(true);
          }
        });
        // the limits themselves: f(±1e4) and f'(±1e4)
        const lim = LIMITS[u.fn];
        for (const z of [1e4, -1e4]) {
          const [f, d] = lim(z, u.params);
          expect(Math.abs(fn.f(z) - f), `${u.label} f(${z})`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(f)));
          expect(Math.abs(fn.df(z) - d), `${u.label} df(${z})`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(d)));
        }
      });
    }
  }
});

/** f and f' at |z| = 1e4, where each saturating function has reached its asymptote in binary64. */
const LIMITS: Record<string, (z: number, p: Record<string, number>) => [number, number]> = {
  sigmoid: (z) => (z > 0 ? [1, 0] : [0, 0]),
  bipolar_sigmoid: (z) => (z > 0 ? [1, 0] : [-1, 0]),
  tanh: (z) => (z > 0 ? [1, 0] : [-1, 0]),
  softplus: (z) => (z > 0 ? [z, 1] : [0, 0]),
  softsign: (z) => [z / (1 + Math.abs(z)), 1 / (1 + Math.abs(z)) ** 2],
  silu: (z) => (z > 0 ? [z, 1] : [0, 0]),
  gelu: (z) => (z > 0 ? [z, 1] : [0, 0]),
  gelu_tanh: (z) => (z > 0 ? [z, 1] : [0, 0]),
  erf: (z) => (z > 0 ? [1, 0] : [-1, 0]),
};

describe('softmax and log-softmax', () => {
  for (const t of ['softmax', 'log_softmax'] as const) {
    it(`${t}: finite values and Jacobians at large logits, rows that sum to 1`, () => {
      const net = direct({ type: t }, 3);
      const rows = [
        [50, -50, 0],
        [700, -700, 699],
        [1e4, -1e4, 1e4],
        [-1e4, -1e4 + 1, -1e4 + 2],
      ];
      for (const row of rows) {
        for (const mode of ['forward', 'reverse'] as const) {
          const { J, Y } = net.jacobian(Float64Array.from(row), 1, { mode });
          for (const v of [...Y, ...J]) expect(Number.isFinite(v), `${t}(${row}) ${mode}: ${Array.from(Y)} ${Array.from(J)}`).toBe(true);
          const p = t === 'softmax' ? Array.from(Y) : Array.from(Y, Math.exp);
          expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThanOrEqual(4 * ULP);
        }
      }
      // shift invariance: adding a constant to every logit changes nothing
      const base = [0.3, -1.2, 2.1];
      const y0 = Float64Array.from(net.evaluate(Float64Array.from(base), 1));
      const y1 = net.evaluate(Float64Array.from(base.map((v) => v + 1000)), 1);
      expectAllClose(y1, y0, 1e-12, `${t} shift invariance`);
    });

    it(`${t}: values and Jacobian against a hand computation`, () => {
      const net = direct({ type: t }, 3);
      const x = [0.3, -1.2, 2.1];
      const e = x.map(Math.exp);
      const s = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / s);
      const want = t === 'softmax' ? p : x.map((v) => v - Math.log(s));
      const Jwant: number[] = [];
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) Jwant.push(t === 'softmax' ? p[i] * ((i === j ? 1 : 0) - p[j]) : (i === j ? 1 : 0) - p[j]);
      const { J, Y } = net.jacobian(Float64Array.from(x), 1);
      expectAllClose(Y, want, 1e-15, `${t} values`);
      expectAllClose(J, Jwant, 1e-15, `${t} Jacobian`);
    });
  }
});

describe('structural ops against hand computations', () => {
  const x = [0.5, -1.5, 2];
  const run = (def: GraphDef, X = x) => network(def).jacobian(Float64Array.from(X), 1, { mode: 'reverse' });
  it('binary mul of a node with itself is a square (x·x, derivative 2x)', () => {
    for (const mode of ['forward', 'reverse'] as const) {
      const net = network({
        inputs: [{ name: 'x', width: 3 }],
        nodes: [{ name: 'sq', op: { type: 'binary', fn: 'mul' }, inputs: ['x', 'x'] }],
        outputs: [{ node: 'sq' }],
      });
      const { J, Y } = net.jacobian(Float64Array.from(x), 1, { mode });
      expectAllClose(Y, x.map((v) => v * v), 0, `${mode} values`);
      expectAllClose(J, [2 * x[0], 0, 0, 0, 2 * x[1], 0, 0, 0, 2 * x[2]], 0, `${mode} Jacobian`);
    }
  });
  it('width-1 broadcast: b − a[0] and a[0] / b', () => {
    const def: GraphDef = {
      inputs: [
        { name: 'a', width: 1 },
        { name: 'b', width: 2 },
      ],
      nodes: [
        { name: 'd', op: { type: 'binary', fn: 'sub' }, inputs: ['b', 'a'] },
        { name: 'q', op: { type: 'binary', fn: 'div' }, inputs: ['a', 'b'] },
      ],
      outputs: [{ node: 'd' }, { node: 'q' }],
    };
    const [a, b0, b1] = x;
    const { J, Y } = run(def);
    expectAllClose(Y, [b0 - a, b1 - a, a / b0, a / b1], 1e-15, 'values');
    const Jw = [-1, 1, 0, -1, 0, 1, 1 / b0, -a / (b0 * b0), 0, 1 / b1, 0, -a / (b1 * b1)];
    expectAllClose(J, Jw, 1e-15, 'Jacobian');
  });
  it('binary_const: c − x, c / x, x / c with scalar and vector constants', () => {
    const cases: [OpSpec, (v: number, i: number) => number, (v: number, i: number) => number][] = [
      [{ type: 'binary_const', fn: 'sub', constant: [2], constantFirst: true }, (v) => 2 - v, () => -1],
      [{ type: 'binary_const', fn: 'div', constant: [3, -1, 0.5], constantFirst: true }, (v, i) => [3, -1, 0.5][i] / v, (v, i) => -[3, -1, 0.5][i] / (v * v)],
      [{ type: 'binary_const', fn: 'div', constant: [4] }, (v) => v / 4, () => 0.25],
      [{ type: 'binary_const', fn: 'mul', constant: [3, -1, 0.5] }, (v, i) => v * [3, -1, 0.5][i], (_v, i) => [3, -1, 0.5][i]],
    ];
    for (const [op, f, d] of cases) {
      const { J, Y } = run({ inputs: [{ name: 'x', width: 3 }], nodes: [{ name: 'y', op, inputs: ['x'] }], outputs: [{ node: 'y' }] });
      expectAllClose(Y, x.map(f), 1e-15, JSON.stringify(op));
      expectAllClose(J, [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => (i % 4 === 0 ? d(x[i / 4], i / 4) : 0)), 1e-15, JSON.stringify(op));
    }
  });
  it('gather with repeated indices sums the repeated gradients', () => {
    const { J, Y } = run({
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        { name: 'g', op: { type: 'gather', indices: [2, 2, 0, 2] }, inputs: ['x'] },
        { name: 's', op: { type: 'dense', units: 1, weight: [1, 10, 100, 1000] }, inputs: ['g'] },
      ],
      outputs: [{ node: 's' }],
    });
    expect(Y[0]).toBe(2 * 1 + 2 * 10 + 0.5 * 100 + 2 * 1000);
    expectAllClose(J, [100, 0, 1011], 0, 'Jacobian');
  });
  it('dense, affine, concat and reshape against explicit formulas', () => {
    const { J, Y } = run({
      inputs: [{ name: 'x', width: 3 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 2, weight: [1, 2, 3, 4, 5, 6], bias: [0.5, -0.5] }, inputs: ['x'] },
        { name: 'af', op: { type: 'affine', scale: [2, -3], shift: [1, 1] }, inputs: ['h'] },
        { name: 'c', op: { type: 'concat' }, inputs: ['af', 'x'] },
        { name: 'r', op: { type: 'reshape', shape: [5, 1] }, inputs: ['c'] },
      ],
      outputs: [{ node: 'r' }],
    });
    const h0 = x[0] * 1 + x[1] * 3 + x[2] * 5 + 0.5,
      h1 = x[0] * 2 + x[1] * 4 + x[2] * 6 - 0.5;
    expectAllClose(Y, [2 * h0 + 1, -3 * h1 + 1, ...x], 1e-14, 'values');
    expectAllClose(J, [2, 6, 10, -6, -12, -18, 1, 0, 0, 0, 1, 0, 0, 0, 1], 0, 'Jacobian');
  });
});
