/**
 * VNNLIB reader: the ten VNN-COMP 2021 ACAS Xu properties (vendored in
 * test/fixtures/third-party/acasxu) against an independent regex reading of the same text;
 * outward rounding against V8's exact decimal expansion of doubles (toFixed(100)); every error
 * with its code, line and column; and a fast-check round trip (random specs printed as VNNLIB
 * text, parsed back, compared exactly).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/errors.ts';
import { nextDown, nextUp } from '../src/graph/round.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { VnnlibSpec } from '../src/formats/vnnlib/types.ts';
import { expectNetinvertError } from './util/expect.ts';

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');

// ---------------------------------------------------------------------------------------------
// An independent exact comparison of a decimal literal with a double: both as BigInt scaled by
// 10^SCALE. A double's exact expansion comes from Number.prototype.toFixed(100), exact for the
// magnitudes used here (|x| ≥ 2^−47, so at most 100 fractional digits).

const SCALE = 120;
function decimalToScaled(s: string): bigint {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m) throw new Error(`not a decimal: ${s}`);
  const digits = (m[2] ?? '') + (m[3] ?? '');
  const shift = SCALE + Number(m[4] ?? 0) - (m[3] ?? '').length;
  if (shift < 0) throw new Error(`too many digits for the test oracle: ${s}`);
  const v = BigInt(digits || '0') * 10n ** BigInt(shift);
  return m[1] === '-' ? -v : v;
}
function doubleToScaled(x: number): bigint {
  // toFixed is exact below 1e21 and for at most 100 fractional binary digits
  expect(x === 0 || (Math.abs(x) >= 2 ** -47 && Math.abs(x) < 1e21)).toBe(true);
  return decimalToScaled(x.toFixed(100));
}
/** sign(x − s), exactly. */
function cmpDoubleDecimal(x: number, s: string): number {
  const a = doubleToScaled(x),
    b = decimalToScaled(s);
  return a < b ? -1 : a > b ? 1 : 0;
}
/** x is the largest double ≤ s. */
function expectRoundedDown(x: number, s: string, what: string): void {
  if (decimalToScaled(s) === 0n) return void expect(x, what).toBe(0);
  expect(cmpDoubleDecimal(x, s), `${what}: ${x} ≤ ${s}`).toBeLessThanOrEqual(0);
  expect(cmpDoubleDecimal(nextUp(x), s), `${what}: next double above ${x} is > ${s}`).toBe(1);
}
function expectRoundedUp(x: number, s: string, what: string): void {
  if (decimalToScaled(s) === 0n) return void expect(x, what).toBe(0);
  expect(cmpDoubleDecimal(x, s), `${what}: ${x} ≥ ${s}`).toBeGreaterThanOrEqual(0);
  expect(cmpDoubleDecimal(nextDown(x), s), `${what}: next double below ${x} is < ${s}`).toBe(-1);
}

// ---------------------------------------------------------------------------------------------
// The independent reading: comparisons found by a regex, grouped into clauses by the line
// layout the VNN-COMP generator writes (one "(and ...)" per line inside "(or", else one
// comparison per "(assert ...)").

interface RawAtom {
  rel: string;
  a: string;
  b: string;
}
function regexRead(text: string): { asserts: number; nX: number; nY: number; inClauses: RawAtom[][]; outClauses: RawAtom[][] } {
  const lines = text.split('\n').filter((l) => !l.trim().startsWith(';'));
  const atomRe = /\((<=|>=) ([XY]_\d+|[-+\d.eE]+) ([XY]_\d+|[-+\d.eE]+)\)/g;
  const read = (side: 'X' | 'Y'): RawAtom[][] => {
    const withSide = lines.filter((l) => l.includes(`${side}_`) && !l.includes('declare-const'));
    const atoms = (l: string): RawAtom[] => [...l.matchAll(atomRe)].map((m) => ({ rel: m[1], a: m[2], b: m[3] }));
    const andLines = withSide.filter((l) => l.trim().startsWith('(and'));
    if (andLines.length > 0) return andLines.map(atoms);
    return [withSide.flatMap(atoms)];
  };
  return {
    asserts: (text.match(/\(assert/g) ?? []).length,
    nX: (text.match(/\(declare-const X_\d+ Real\)/g) ?? []).length,
    nY: (text.match(/\(declare-const Y_\d+ Real\)/g) ?? []).length,
    inClauses: read('X'),
    outClauses: read('Y'),
  };
}

describe('the ten ACAS Xu properties against an independent reading', () => {
  for (let p = 1; p <= 10; p++) {
    it(`prop_${p}.vnnlib`, () => {
      const text = readFileSync(join(ACAS, `prop_${p}.vnnlib`), 'utf8');
      const spec = parseVnnlib(text, `prop_${p}.vnnlib`);
      const ref = regexRead(text);
      expect(spec.asserts).toBe(ref.asserts);
      expect(spec.numInputs).toBe(ref.nX);
      expect(spec.numOutputs).toBe(ref.nY);
      expect(spec.numInputs).toBe(5);
      expect(spec.numOutputs).toBe(5);
      // inputs: one box per clause, every bound rounded outward from its literal
      expect(spec.inputBoxes.length).toBe(ref.inClauses.length);
      ref.inClauses.forEach((clause, k) => {
        const box = spec.inputBoxes[k];
        const seen = new Set<string>();
        for (const at of clause) {
          const i = Number(at.a.slice(2));
          expect(at.a).toMatch(/^X_/);
          seen.add(`${at.rel}${i}`);
          if (at.rel === '<=') expectRoundedUp(box.hi[i], at.b, `prop_${p} box ${k} hi[${i}]`);
          else expectRoundedDown(box.lo[i], at.b, `prop_${p} box ${k} lo[${i}]`);
        }
        // every side of every input is bounded in the ACAS Xu boxes
        expect(seen.size).toBe(10);
      });
      // outputs: the same clauses, the same constraints, in file order
      expect(spec.outputDnf.length).toBe(ref.outClauses.length);
      ref.outClauses.forEach((clause, k) => {
        const got = spec.outputDnf[k];
        expect(got.length).toBe(clause.length);
        clause.forEach((at, c) => {
          const con = got[c];
          const want = new Float64Array(5);
          let constant = 0;
          // lhs − rhs: (rel a b) ⇔ a − b rel 0
          if (at.a.startsWith('Y_')) want[Number(at.a.slice(2))] += 1;
          else constant += Number(at.a);
          if (at.b.startsWith('Y_')) want[Number(at.b.slice(2))] -= 1;
          else constant -= Number(at.b);
          expect(con.relation).toBe(at.rel);
          expect(Array.from(con.coeffs)).toEqual(Array.from(want));
          expect(Array.from(con.coeffErr)).toEqual([0, 0, 0, 0, 0]);
          expect(con.constant).toBe(constant);
          if (!at.b.startsWith('Y_')) {
            // the literal is not a double: the error bound must cover it
            const exact = cmpDoubleDecimal(-constant, at.b);
            if (exact === 0) expect(con.constantErr).toBe(0);
            else {
              expect(con.constantErr).toBeGreaterThan(0);
              expect(con.constantErr).toBeLessThanOrEqual(Math.abs(constant) * 2 ** -52);
            }
          }
        });
      });
    });
  }

  it('spot values: prop 1 (COC ≥ 1500 ft/s scaled), prop 6 (a union of two boxes)', () => {
    const p1 = parseVnnlib(readFileSync(join(ACAS, 'prop_1.vnnlib'), 'utf8'));
    expect(p1.outputDnf).toHaveLength(1);
    expect(p1.outputDnf[0][0].relation).toBe('>=');
    expect(p1.outputDnf[0][0].constant).toBe(-3.991125645861615);
    expect(p1.inputBoxes[0].lo[0]).toBe(0.6);
    const p6 = parseVnnlib(readFileSync(join(ACAS, 'prop_6.vnnlib'), 'utf8'));
    expect(p6.inputBoxes).toHaveLength(2);
    expect(p6.inputBoxes[0].lo[1]).toBeCloseTo(0.11140846, 12);
    expect(p6.inputBoxes[1].hi[1]).toBeCloseTo(-0.11140846, 12);
    expect(p6.outputDnf.map((c) => c.length)).toEqual([1, 1, 1, 1]);
  });

  it('every property file of acasxu_instances.csv parses', () => {
    const csv = readFileSync(join(ACAS, 'acasxu_instances.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(186);
    const props = new Set(csv.map((l) => l.split(',')[1]));
    expect(props.size).toBe(10);
    for (const f of props) expect(parseVnnlib(readFileSync(join(ACAS, f), 'utf8'), f).numInputs).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------

const HEAD = '(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n';

describe('semantics of the supported subset', () => {
  it('a negative coefficient flips the bound; = pins both sides; products and sums of constants fold exactly', () => {
    const s = parseVnnlib(`${HEAD}(assert (>= (* -2 X_0) 1))\n(assert (= X_1 0.1))\n(assert (<= (+ Y_0 (* 0.5 2 Y_1) (- 3)) (- Y_1)))`);
    expect(s.inputBoxes).toHaveLength(1);
    expect(s.inputBoxes[0].hi[0]).toBe(-0.5);
    expect(s.inputBoxes[0].lo[0]).toBe(-Infinity);
    expectRoundedDown(s.inputBoxes[0].lo[1], '0.1', 'X_1 = 0.1, lower side');
    expectRoundedUp(s.inputBoxes[0].hi[1], '0.1', 'X_1 = 0.1, upper side');
    expect(s.inputBoxes[0].lo[1]).toBeLessThan(s.inputBoxes[0].hi[1]);
    const c = s.outputDnf[0][0];
    // Y_0 + Y_1 − 3 ≤ −Y_1  ⇔  Y_0 + 2·Y_1 − 3 ≤ 0
    expect(Array.from(c.coeffs)).toEqual([1, 2]);
    expect(c.constant).toBe(-3);
    expect(c.relation).toBe('<=');
    expect([c.line, c.column]).toEqual([7, 9]);
  });

  it('dividing a bound by an inexact coefficient rounds outward: X_0 ≤ 1/3', () => {
    const s = parseVnnlib(`${HEAD}(assert (<= (* 3 X_0) 1))\n(assert (>= (* 3 X_0) 1))`);
    const lo = s.inputBoxes[0].lo[0],
      hi = s.inputBoxes[0].hi[0];
    // 3·lo ≤ 1 ≤ 3·hi in exact arithmetic: lo and hi are the doubles around 1/3
    expect(hi).toBe(nextUp(lo));
    expect(doubleToScaled(lo) * 3n).toBeLessThan(10n ** BigInt(SCALE));
    expect(doubleToScaled(hi) * 3n).toBeGreaterThan(10n ** BigInt(SCALE));
  });

  it('assertions are conjoined: two input disjunctions give their product; an empty box is dropped', () => {
    const s = parseVnnlib(
      `${HEAD}(assert (or (<= X_0 0) (>= X_0 1)))\n(assert (or (<= X_1 0) (>= X_1 1)))\n(assert (or (<= X_0 -1) (>= X_0 2)))`,
    );
    // (X0≤0 ∨ X0≥1) ∧ (X1≤0 ∨ X1≥1) ∧ (X0≤−1 ∨ X0≥2): 8 clauses, of which X0≤0∧X0≥2 and
    // X0≥1∧X0≤−1 are empty (twice each), leaving 4 boxes
    expect(s.inputBoxes).toHaveLength(4);
    for (const b of s.inputBoxes) for (let i = 0; i < 2; i++) expect(b.lo[i]).toBeLessThanOrEqual(b.hi[i]);
    const noOutput = parseVnnlib(`${HEAD}(assert (<= X_0 1))`);
    expect(noOutput.outputDnf).toEqual([[]]);
    const noInput = parseVnnlib(`${HEAD}(assert (<= Y_0 1))`);
    expect(Array.from(noInput.inputBoxes[0].lo)).toEqual([-Infinity, -Infinity]);
  });

  it('numbers: scientific notation, leading +, and an explicit (- c)', () => {
    const s = parseVnnlib(`${HEAD}(assert (<= X_0 1.5e-3))\n(assert (>= X_0 (- 2E+1)))\n(assert (<= X_1 +.25))\n(assert (>= X_1 -7.))`);
    expectRoundedUp(s.inputBoxes[0].hi[0], '0.0015', 'hi[0]');
    expect(s.inputBoxes[0].lo[0]).toBe(-20);
    expect(s.inputBoxes[0].hi[1]).toBe(0.25);
    expect(s.inputBoxes[0].lo[1]).toBe(-7);
  });
});

// ---------------------------------------------------------------------------------------------

const BAD: { what: string; text: string; code: ErrorCode; line: number; column: number; says: string }[] = [
  { what: 'an unclosed list', text: `${HEAD}(assert (<= X_0 1)`, code: 'vnnlib_syntax', line: 5, column: 1, says: 'never closed' },
  { what: 'a stray ")"', text: '(declare-const X_0 Real))', code: 'vnnlib_syntax', line: 1, column: 25, says: 'unexpected ")"' },
  { what: 'an undeclared variable', text: `${HEAD}(assert (<= X_2 1))`, code: 'vnnlib_syntax', line: 5, column: 13, says: 'X_2' },
  { what: 'a variable used before its declaration', text: `(assert (<= X_0 1))\n${HEAD}`, code: 'vnnlib_syntax', line: 1, column: 13, says: 'declare it first' },
  { what: 'a double declaration', text: `${HEAD}(declare-const Y_1 Real)`, code: 'vnnlib_syntax', line: 5, column: 16, says: 'declared twice' },
  { what: 'a gap in the inputs', text: '(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)', code: 'vnnlib_syntax', line: 2, column: 16, says: 'X_1' },
  { what: 'no outputs', text: '(declare-const X_0 Real)', code: 'vnnlib_syntax', line: 1, column: 1, says: 'no output' },
  { what: 'a bare atom at top level', text: `${HEAD}assert`, code: 'vnnlib_syntax', line: 5, column: 1, says: 'outside any command' },
  { what: 'assert with two formulas', text: `${HEAD}(assert (<= X_0 1) (<= X_0 2))`, code: 'vnnlib_syntax', line: 5, column: 1, says: 'exactly one formula' },
  { what: 'an empty list', text: `${HEAD}(assert ())`, code: 'vnnlib_syntax', line: 5, column: 9, says: 'empty list' },
  { what: 'not', text: `${HEAD}(assert (not (<= X_0 1)))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: '"not"' },
  { what: 'a strict comparison', text: `${HEAD}(assert (< X_0 1))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: '"<"' },
  { what: 'division', text: `${HEAD}(assert (<= (/ X_0 2) 1))`, code: 'vnnlib_unsupported', line: 5, column: 13, says: '"/"' },
  { what: 'a chained comparison', text: `${HEAD}(assert (<= 0 X_0 1))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: 'chains' },
  { what: 'a product of variables', text: `${HEAD}(assert (<= (* X_0 X_1) 1))`, code: 'vnnlib_unsupported', line: 5, column: 20, says: 'not linear' },
  { what: 'a comparison mixing X and Y', text: `${HEAD}(assert (<= X_0 Y_0))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: 'mixes inputs (X) and outputs (Y)' },
  {
    what: 'an assertion mixing X and Y',
    text: `${HEAD}\n(assert (and (<= X_0 1) (>= Y_0 2)))`,
    code: 'vnnlib_unsupported',
    line: 6,
    column: 1,
    says: 'separate asserts',
  },
  { what: 'a constraint over two inputs', text: `${HEAD}(assert (<= (+ X_0 X_1) 1))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: 'several inputs' },
  { what: 'a comparison of constants', text: `${HEAD}(assert (<= 1 2))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: 'no variables' },
  { what: 'declare-fun', text: `${HEAD}(declare-fun f (Real) Real)`, code: 'vnnlib_unsupported', line: 5, column: 1, says: '"declare-fun"' },
  { what: 'check-sat', text: `${HEAD}(check-sat)`, code: 'vnnlib_unsupported', line: 5, column: 1, says: '"check-sat"' },
  { what: 'an Int variable', text: '(declare-const X_0 Int)', code: 'vnnlib_unsupported', line: 1, column: 20, says: 'Int' },
  { what: 'a variable not named X_i / Y_j', text: '(declare-const speed Real)', code: 'vnnlib_unsupported', line: 1, column: 16, says: 'speed' },
  { what: 'a number beyond double range', text: `${HEAD}(assert (<= X_0 1e999))`, code: 'vnnlib_unsupported', line: 5, column: 17, says: 'range' },
  { what: 'a string literal', text: `${HEAD}(assert (<= X_0 "1"))`, code: 'vnnlib_unsupported', line: 5, column: 17, says: 'string' },
  { what: 'true as a formula', text: `${HEAD}(assert true)`, code: 'vnnlib_unsupported', line: 5, column: 9, says: '"true"' },
  { what: 'an unknown operator', text: `${HEAD}(assert (foo X_0))`, code: 'vnnlib_unsupported', line: 5, column: 9, says: '"foo"' },
];

describe('bad files: every error is coded and says where', () => {
  for (const b of BAD) {
    it(b.what, () => {
      const e = expectNetinvertError(() => parseVnnlib(b.text, 'bad.vnnlib'), b.code, b.says, `bad.vnnlib:${b.line}:${b.column}`);
      expect(e.detail).toMatchObject({ file: 'bad.vnnlib', line: b.line, column: b.column });
    });
  }

  it('a DNF blow-up is refused, not expanded', () => {
    const decl = Array.from({ length: 20 }, (_, i) => `(declare-const X_${i} Real)`).join('\n') + '\n(declare-const Y_0 Real)\n';
    const asserts = Array.from({ length: 20 }, (_, i) => `(assert (or (<= X_${i} 0) (>= X_${i} 1)))`).join('\n');
    expectNetinvertError(() => parseVnnlib(decl + asserts, 'big.vnnlib'), 'vnnlib_unsupported', 'more than 100000 clauses');
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: random specs → VNNLIB text → parse → the same spec. Values are dyadic rationals
// k/2^10, printed exactly (toFixed(12) or toExponential(20)), so the parse must be exact.

const dyadic = fc.integer({ min: -(2 ** 24), max: 2 ** 24 }).map((k) => k / 1024);

function num(x: number, style: number): string {
  const s = style % 2 === 0 ? Math.abs(x).toFixed(12) : Math.abs(x).toExponential(20);
  if (x >= 0 && !Object.is(x, -0)) return s;
  return style % 3 === 0 ? `(- ${s})` : `-${s}`;
}

interface GenSpec {
  nX: number;
  nY: number;
  boxes: { lo: (number | null)[]; hi: (number | null)[] }[];
  dnf: { coeffs: number[]; constant: number; rel: '<=' | '>=' | '='; split: boolean[] }[][];
  style: number;
}

const genSpec = fc
  .record({ nX: fc.integer({ min: 1, max: 4 }), nY: fc.integer({ min: 1, max: 4 }), style: fc.nat(5) })
  .chain(({ nX, nY, style }) =>
    fc.record({
      nX: fc.constant(nX),
      nY: fc.constant(nY),
      style: fc.constant(style),
      boxes: fc.array(
        fc
          .array(fc.tuple(fc.option(dyadic, { nil: null }), fc.option(dyadic, { nil: null })), { minLength: nX, maxLength: nX })
          .filter((b) => b.some(([l, h]) => l !== null || h !== null))
          .map((b) => ({
            lo: b.map(([l, h]) => (l !== null && h !== null ? Math.min(l, h) : l)),
            hi: b.map(([l, h]) => (l !== null && h !== null ? Math.max(l, h) : h)),
          })),
        { minLength: 1, maxLength: 3 },
      ),
      dnf: fc.array(
        fc.array(
          fc.record({
            coeffs: fc.array(dyadic, { minLength: nY, maxLength: nY }).filter((c) => c.some((v) => v !== 0)),
            constant: dyadic,
            rel: fc.constantFrom('<=' as const, '>=' as const, '=' as const),
            split: fc.array(fc.boolean(), { minLength: nY + 1, maxLength: nY + 1 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  );

function printSpec(g: GenSpec): string {
  const out: string[] = [];
  for (let i = 0; i < g.nX; i++) out.push(`(declare-const X_${i} Real)`);
  for (let j = 0; j < g.nY; j++) out.push(`; output ${j}\n(declare-const Y_${j} Real)`);
  const box = (b: GenSpec['boxes'][number]): string => {
    const atoms: string[] = [];
    b.hi.forEach((h, i) => h !== null && atoms.push(`(<= X_${i} ${num(h, g.style + i)})`));
    b.lo.forEach((l, i) => l !== null && atoms.push(`(>= X_${i} ${num(l, g.style + i + 1)})`));
    return `(and ${atoms.join(' ')})`;
  };
  out.push(g.boxes.length === 1 ? `(assert ${box(g.boxes[0])})` : `(assert (or\n  ${g.boxes.map(box).join('\n  ')}))`);
  const con = (c: GenSpec['dnf'][number][number]): string => {
    // Σ c_j·Y_j + c0 rel 0 with each term on the left or (negated) on the right
    const left: string[] = [],
      right: string[] = [];
    c.coeffs.forEach((k, j) => {
      if (k === 0) return;
      if (c.split[j]) right.push(`(* ${num(-k, g.style + j)} Y_${j})`);
      else left.push(`(* Y_${j} ${num(k, g.style + j)})`);
    });
    if (c.split[g.nY]) right.push(num(-c.constant, g.style));
    else left.push(num(c.constant, g.style));
    const side = (ts: string[]): string => (ts.length === 0 ? '0' : ts.length === 1 ? ts[0] : `(+ ${ts.join(' ')})`);
    return `(${c.rel} ${side(left)} ${side(right)})`;
  };
  if (g.dnf.length === 1) for (const c of g.dnf[0]) out.push(`(assert ${con(c)})`);
  else out.push(`(assert (or ${g.dnf.map((cl) => `(and ${cl.map(con).join(' ')})`).join('\n    ')}))`);
  return out.join('\n') + '\n';
}

describe('round trip', () => {
  it('random specs printed as VNNLIB parse back exactly', () => {
    fc.assert(
      fc.property(genSpec, (g) => {
        const s: VnnlibSpec = parseVnnlib(printSpec(g), 'gen.vnnlib');
        expect(s.numInputs).toBe(g.nX);
        expect(s.numOutputs).toBe(g.nY);
        expect(s.asserts).toBe(1 + (g.dnf.length === 1 ? g.dnf[0].length : 1));
        expect(s.inputBoxes.length).toBe(g.boxes.length);
        g.boxes.forEach((b, k) => {
          expect(Array.from(s.inputBoxes[k].lo)).toEqual(b.lo.map((v) => (v === null ? -Infinity : v + 0)));
          expect(Array.from(s.inputBoxes[k].hi)).toEqual(b.hi.map((v) => (v === null ? Infinity : v + 0)));
        });
        expect(s.outputDnf.length).toBe(g.dnf.length);
        g.dnf.forEach((cl, k) =>
          cl.forEach((c, m) => {
            const got = s.outputDnf[k][m];
            expect(got.relation).toBe(c.rel);
            expect(Array.from(got.coeffs)).toEqual(c.coeffs.map((v) => v + 0));
            expect(got.constant + 0).toBe(c.constant + 0);
            expect(got.constantErr).toBe(0);
            expect(Array.from(got.coeffErr).every((e) => e === 0)).toBe(true);
          }),
        );
      }),
      { numRuns: 300, seed: 20261204 },
    );
  });

  it('random decimal literals: input bounds round outward, output constants to nearest (V8 parsing as oracle)', () => {
    const lit = fc
      .tuple(fc.stringMatching(/^[1-9]\d{0,5}$/), fc.stringMatching(/^\d{0,15}$/), fc.integer({ min: -5, max: 5 }), fc.boolean())
      .map(([i, f, e, neg]) => `${neg ? '-' : ''}${i}${f ? '.' + f : ''}${e ? 'e' + e : ''}`);
    fc.assert(
      fc.property(lit, (s) => {
        const spec = parseVnnlib(`${HEAD}(assert (<= X_0 ${s}))\n(assert (>= X_1 ${s}))\n(assert (>= Y_0 ${s}))`);
        expectRoundedUp(spec.inputBoxes[0].hi[0], s, 'hi');
        expectRoundedDown(spec.inputBoxes[0].lo[1], s, 'lo');
        const c = spec.outputDnf[0][0];
        expect(c.constant).toBe(-Number(s));
        if (cmpDoubleDecimal(Number(s), s) === 0) expect(c.constantErr).toBe(0);
        else {
          // |exact − nearest| ≤ err ≤ half an ulp (rounded up)
          const exactErr = doubleToScaled(Number(s)) - decimalToScaled(s);
          expect(c.constantErr).toBeGreaterThan(0);
          // err·2^k·10^SCALE ≥ |exact error|·10^SCALE·2^k, with err·2^k near 1 so toFixed is exact
          const k = Math.round(-Math.log2(c.constantErr));
          const scaled = doubleToScaled(c.constantErr * 2 ** k);
          const absErr = exactErr < 0n ? -exactErr : exactErr;
          if (k >= 0) expect(scaled).toBeGreaterThanOrEqual(absErr * 2n ** BigInt(k));
          else expect(scaled * 2n ** BigInt(-k)).toBeGreaterThanOrEqual(absErr);
          expect(c.constantErr).toBeLessThanOrEqual(Math.abs(Number(s)) * 2 ** -52);
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
