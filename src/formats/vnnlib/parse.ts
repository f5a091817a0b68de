/**
 * VNNLIB 1.0 reader: tokenizer → s-expression reader → translation into a VnnlibSpec.
 *
 * The subset is the one VNN-COMP benchmarks use (VNNLIB 1.0, https://www.vnnlib.org/, a subset
 * of SMT-LIB 2 over the reals): `(declare-const X_i Real)`, `(declare-const Y_j Real)`,
 * `(assert F)` where F is built from `and`, `or` and the comparisons `<=`, `>=`, `=` between
 * linear terms (`+`, `-`, `*` by constants, decimal and scientific numbers); `;` comments.
 * Everything else is refused by name with a coded NetinvertError carrying line and column.
 *
 * Semantics kept literal: the file states the UNSAFE set (see types.ts). All assertions are
 * conjoined. Each assertion must speak only about inputs (X) or only about outputs (Y): the
 * spec is then (union of input boxes) × (output DNF), the shape every VNN-COMP 2021 property
 * has. An assertion or comparison mixing X and Y is refused (vnnlib_unsupported), since it
 * would couple the input set to the outputs and no longer be a box × DNF.
 *
 * Numbers are exact: every literal is a decimal rational (BigInt numerator/denominator) and
 * constant arithmetic is exact; conversion to doubles happens once, outward for input boxes.
 */
import { NetinvertError } from '../../errors.ts';
import type { VnnlibBox, VnnlibLinearConstraint, VnnlibRelation, VnnlibSpec } from './types.ts';

/** Largest DNF (number of clauses) the reader expands before refusing the file. */
export const VNNLIB_MAX_CLAUSES = 100_000;
/** Largest accepted file (characters). */
export const VNNLIB_MAX_CHARS = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Errors

interface Pos {
  line: number;
  column: number;
}

function syntax(file: string, at: Pos, msg: string): never {
  throw new NetinvertError('vnnlib_syntax', `${file}:${at.line}:${at.column}: ${msg}`, { file, line: at.line, column: at.column });
}

function unsupported(file: string, at: Pos, msg: string): never {
  throw new NetinvertError('vnnlib_unsupported', `${file}:${at.line}:${at.column}: ${msg}`, {
    file,
    line: at.line,
    column: at.column,
  });
}

// ---------------------------------------------------------------------------------------------
// Tokenizer and s-expression reader

type SExp = { kind: 'atom'; text: string; line: number; column: number } | { kind: 'list'; items: SExp[]; line: number; column: number };

function readSExps(text: string, file: string): SExp[] {
  const top: SExp[] = [];
  const stack: { items: SExp[]; line: number; column: number }[] = [];
  let line = 1,
    col = 1,
    i = 0;
  const n = text.length;
  const push = (e: SExp): void => {
    if (stack.length) stack[stack.length - 1].items.push(e);
    else top.push(e);
  };
  while (i < n) {
    const ch = text[i];
    if (ch === '\n') {
      line++;
      col = 1;
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      col++;
      continue;
    }
    if (ch === ';') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '(') {
      stack.push({ items: [], line, column: col });
      i++;
      col++;
      continue;
    }
    if (ch === ')') {
      const open = stack.pop();
      if (!open) syntax(file, { line, column: col }, 'unexpected ")" with no matching "("');
      push({ kind: 'list', items: open.items, line: open.line, column: open.column });
      i++;
      col++;
      continue;
    }
    if (ch === '"' || ch === '|') {
      unsupported(file, { line, column: col }, `${ch === '"' ? 'string literals' : 'quoted |symbols|'} are not part of the supported VNNLIB subset`);
    }
    const start = i,
      startCol = col;
    while (i < n) {
      const c = text[i];
      if (c === '(' || c === ')' || c === ';' || c === '"' || c === '|' || c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') break;
      i++;
      col++;
    }
    push({ kind: 'atom', text: text.slice(start, i), line, column: startCol });
  }
  if (stack.length) {
    const open = stack[stack.length - 1];
    syntax(file, open, 'this "(" is never closed (the file ends inside it)');
  }
  return top;
}

// ---------------------------------------------------------------------------------------------
// Exact rationals (BigInt); the denominator is always positive

interface Rat {
  n: bigint;
  d: bigint;
}

const ZERO: Rat = { n: 0n, d: 1n };
const ONE: Rat = { n: 1n, d: 1n };

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}
function norm(n: bigint, d: bigint): Rat {
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}
const radd = (a: Rat, b: Rat): Rat => norm(a.n * b.d + b.n * a.d, a.d * b.d);
const rneg = (a: Rat): Rat => ({ n: -a.n, d: a.d });
const rmul = (a: Rat, b: Rat): Rat => norm(a.n * b.n, a.d * b.d);
const rdiv = (a: Rat, b: Rat): Rat => norm(a.n * b.d, a.d * b.n);
const rcmp = (a: Rat, b: Rat): number => {
  const l = a.n * b.d,
    r = b.n * a.d;
  return l < r ? -1 : l > r ? 1 : 0;
};
const isZero = (a: Rat): boolean => a.n === 0n;

const NUMBER_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A decimal literal as an exact rational, or null if `text` is not a number. */
function parseDecimal(text: string, file: string, at: Pos): Rat | null {
  const m = NUMBER_RE.exec(text);
  if (!m) return null;
  const intPart = m[2] ?? '',
    frac = m[3] ?? '';
  if (intPart.length + frac.length === 0) return null;
  const digits = (intPart + frac).replace(/^0+/, '');
  if (digits.length > 800) unsupported(file, at, `number "${text.slice(0, 40)}…" has more than 800 digits`);
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  const k = exp - frac.length;
  // decimal magnitude of the value: 10^(digits + k − 1) ≤ |value| < 10^(digits + k)
  if (digits.length > 0 && (digits.length + k > 400 || digits.length + k < -400)) {
    unsupported(file, at, `number "${text}" is outside the range of double-precision numbers`);
  }
  if (digits.length === 0) return ZERO;
  let num = BigInt(digits);
  if (m[1] === '-') num = -num;
  return k >= 0 ? { n: num * 10n ** BigInt(k), d: 1n } : norm(num, 10n ** BigInt(-k));
}

// Exact double ↔ rational conversion, and directed rounding of a rational to a double.

const cvt = new DataView(new ArrayBuffer(8));

function doubleToRat(x: number): Rat {
  if (x === 0) return ZERO;
  cvt.setFloat64(0, x);
  const bits = cvt.getBigUint64(0);
  const neg = bits >> 63n === 1n;
  const e = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = e === 0 ? frac : frac | (1n << 52n);
  const p = e === 0 ? -1074 : e - 1075;
  const n = neg ? -m : m;
  return p >= 0 ? { n: n << BigInt(p), d: 1n } : norm(n, 1n << BigInt(-p));
}

function bitLength(a: bigint): number {
  return a === 0n ? 0 : a.toString(2).length;
}

/** A double within a few ulps of r (finite r, |r| within the range parseDecimal allows). */
function approx(r: Rat): number {
  if (r.n === 0n) return 0;
  const a = r.n < 0n ? -r.n : r.n;
  const shift = bitLength(a) - bitLength(r.d) - 64;
  const q = shift >= 0 ? a / (r.d << BigInt(shift)) : (a << BigInt(-shift)) / r.d;
  const h = Math.trunc(shift / 2);
  const x = Number(q) * 2 ** h * 2 ** (shift - h);
  return r.n < 0n ? -x : x;
}

/** The largest double ≤ r (−Infinity if r is below −MAX_VALUE). */
function roundDown(r: Rat): number {
  const max = Number.MAX_VALUE;
  if (rcmp(doubleToRat(max), r) <= 0) return max;
  if (rcmp(doubleToRat(-max), r) > 0) return -Infinity;
  let x = Math.min(max, Math.max(-max, approx(r)));
  while (rcmp(doubleToRat(x), r) > 0) x = nextDownF(x);
  for (;;) {
    const y = nextUpF(x);
    if (y === Infinity || rcmp(doubleToRat(y), r) > 0) return x;
    x = y;
  }
}

function roundUp(r: Rat): number {
  const v = -roundDown(rneg(r));
  return v === 0 ? 0 : v; // +0, not −0, for an exact zero
}

/** The double nearest to r (ties to the even significand) and a bound on |r − it|. */
function roundNearest(r: Rat): { value: number; err: number } {
  const lo = roundDown(r);
  if (lo !== -Infinity && rcmp(doubleToRat(lo), r) === 0) return { value: lo, err: 0 };
  const hi = roundUp(r);
  let value: number;
  if (lo === -Infinity) value = hi;
  else if (hi === Infinity) value = lo;
  else {
    const c = rcmp(radd(r, rneg(doubleToRat(lo))), radd(doubleToRat(hi), rneg(r)));
    if (c !== 0) value = c < 0 ? lo : hi;
    else {
      cvt.setFloat64(0, lo);
      value = (cvt.getUint8(7) & 1) === 0 ? lo : hi;
    }
  }
  if (!Number.isFinite(value)) return { value, err: Infinity };
  const diff = radd(r, rneg(doubleToRat(value)));
  return { value, err: roundUp(diff.n < 0n ? rneg(diff) : diff) };
}

// local nextUp/nextDown via the bit pattern (src/graph/round.ts has the same; kept local so
// this module has no engine dependency)
function nextUpF(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  cvt.setFloat64(0, x);
  const b = cvt.getBigUint64(0);
  cvt.setBigUint64(0, x > 0 ? b + 1n : b - 1n);
  return cvt.getFloat64(0);
}
function nextDownF(x: number): number {
  return -nextUpF(-x);
}

// ---------------------------------------------------------------------------------------------
// Linear terms and formulas

/** Σ coef[v]·v + c, exact. Keys are variable names (X_i / Y_j). */
interface Lin {
  coef: Map<string, Rat>;
  c: Rat;
}

interface Atom {
  lin: Lin; // lhs − rhs
  rel: VnnlibRelation;
  at: Pos;
  side: 'X' | 'Y';
}

type Dnf = Atom[][];

const VAR_RE = /^([XY])_(0|[1-9]\d*)$/;
const KNOWN_UNSUPPORTED = new Set([
  'not',
  '=>',
  'xor',
  'ite',
  'distinct',
  '<',
  '>',
  '/',
  'div',
  'mod',
  'abs',
  'let',
  'forall',
  'exists',
  'true',
  'false',
]);

function linScale(a: Lin, k: Rat): Lin {
  const coef = new Map<string, Rat>();
  if (!isZero(k)) for (const [v, c] of a.coef) coef.set(v, rmul(c, k));
  return { coef, c: rmul(a.c, k) };
}

function linAdd(a: Lin, b: Lin): Lin {
  const coef = new Map(a.coef);
  for (const [v, c] of b.coef) {
    const s = radd(coef.get(v) ?? ZERO, c);
    if (isZero(s)) coef.delete(v);
    else coef.set(v, s);
  }
  return { coef, c: radd(a.c, b.c) };
}

function dnfAnd(a: Dnf, b: Dnf, file: string, at: Pos): Dnf {
  if (a.length * b.length > VNNLIB_MAX_CLAUSES) {
    unsupported(file, at, `expanding this into disjunctive normal form gives more than ${VNNLIB_MAX_CLAUSES} clauses`);
  }
  const out: Dnf = [];
  for (const x of a) for (const y of b) out.push([...x, ...y]);
  return out;
}

class Translator {
  readonly declared = new Map<string, Pos>();

  constructor(readonly file: string) {}

  head(e: SExp & { kind: 'list' }, what: string): string {
    const h = e.items[0];
    if (!h) syntax(this.file, e, `empty list "()" where ${what} was expected`);
    if (h.kind !== 'atom') syntax(this.file, h, `expected an operator name at the start of this list (${what})`);
    return h.text;
  }

  term(e: SExp): Lin {
    if (e.kind === 'atom') {
      const r = parseDecimal(e.text, this.file, e);
      if (r) return { coef: new Map(), c: r };
      if (!this.declared.has(e.text)) {
        if (KNOWN_UNSUPPORTED.has(e.text)) unsupported(this.file, e, `"${e.text}" is not supported in a term`);
        syntax(this.file, e, `"${e.text}" is neither a number nor a declared variable; declare it first with (declare-const ${e.text} Real)`);
      }
      return { coef: new Map([[e.text, ONE]]), c: ZERO };
    }
    const op = this.head(e, 'a term');
    const args = e.items.slice(1);
    switch (op) {
      case '+':
        if (args.length < 1) syntax(this.file, e, '"+" needs at least one argument');
        return args.map((a) => this.term(a)).reduce((s, t) => linAdd(s, t));
      case '-': {
        if (args.length < 1) syntax(this.file, e, '"-" needs at least one argument');
        const ts = args.map((a) => this.term(a));
        if (ts.length === 1) return linScale(ts[0], rneg(ONE));
        return ts.slice(1).reduce((s, t) => linAdd(s, linScale(t, rneg(ONE))), ts[0]);
      }
      case '*': {
        if (args.length < 2) syntax(this.file, e, '"*" needs at least two arguments');
        const ts = args.map((a) => this.term(a));
        let k: Rat = ONE;
        let v: Lin | null = null;
        for (let i = 0; i < ts.length; i++) {
          if (ts[i].coef.size === 0) k = rmul(k, ts[i].c);
          else if (v === null) v = ts[i];
          else unsupported(this.file, args[i], 'a product of two variables is not linear; "*" may multiply a term by constants only');
        }
        return v === null ? { coef: new Map(), c: k } : linScale(v, k);
      }
      default:
        if (KNOWN_UNSUPPORTED.has(op) || op === 'and' || op === 'or' || op === '<=' || op === '>=' || op === '=') {
          unsupported(this.file, e, `"${op}" is not supported in a term; terms use numbers, variables, +, - and * by constants`);
        }
        unsupported(this.file, e, `unknown operator "${op}"; terms use numbers, variables, +, - and * by constants`);
    }
  }

  formula(e: SExp): Dnf {
    if (e.kind === 'atom') {
      unsupported(this.file, e, `"${e.text}" is not a supported formula; use a comparison (<=, >=, =) or and/or of comparisons`);
    }
    const op = this.head(e, 'a formula');
    const args = e.items.slice(1);
    switch (op) {
      case 'and': {
        if (args.length < 1) syntax(this.file, e, '"and" needs at least one argument');
        return args.map((a) => this.formula(a)).reduce((s, d) => dnfAnd(s, d, this.file, e));
      }
      case 'or': {
        if (args.length < 1) syntax(this.file, e, '"or" needs at least one argument');
        const out: Dnf = [];
        for (const a of args) {
          out.push(...this.formula(a));
          if (out.length > VNNLIB_MAX_CLAUSES) {
            unsupported(this.file, e, `this disjunction has more than ${VNNLIB_MAX_CLAUSES} clauses`);
          }
        }
        return out;
      }
      case '<=':
      case '>=':
      case '=': {
        if (args.length !== 2) {
          unsupported(this.file, e, `"${op}" with ${args.length} arguments; write each comparison with exactly two sides (chains are not supported)`);
        }
        const lin = linAdd(this.term(args[0]), linScale(this.term(args[1]), rneg(ONE)));
        let hasX = false,
          hasY = false;
        for (const v of lin.coef.keys()) {
          if (v[0] === 'X') hasX = true;
          else hasY = true;
        }
        if (hasX && hasY) {
          unsupported(this.file, e, 'this comparison mixes inputs (X) and outputs (Y); only input bounds and output constraints are supported');
        }
        if (!hasX && !hasY) unsupported(this.file, e, 'this comparison has no variables (it compares constants)');
        return [[{ lin, rel: op, at: e, side: hasX ? 'X' : 'Y' }]];
      }
      default:
        if (KNOWN_UNSUPPORTED.has(op)) unsupported(this.file, e, `"${op}" is not supported; formulas use and, or, <=, >= and =`);
        unsupported(this.file, e, `unknown operator "${op}" in a formula; formulas use and, or, <=, >= and =`);
    }
  }
}

/**
 * Parse VNNLIB text into a VnnlibSpec. `file` names the file in error messages.
 * Throws NetinvertError 'vnnlib_syntax' (malformed) or 'vnnlib_unsupported' (valid SMT-LIB
 * outside the subset), each with `file:line:column` in the message and in `detail`.
 */
export function parseVnnlib(text: string, file = '<vnnlib>'): VnnlibSpec {
  if (text.length > VNNLIB_MAX_CHARS) {
    throw new NetinvertError('file_too_large', `${file}: ${text.length} characters is above the ${VNNLIB_MAX_CHARS}-character limit for VNNLIB files`, {
      file,
    });
  }
  const tr = new Translator(file);
  let inputDnf: Dnf = [[]];
  let outputDnf: Dnf = [[]];
  let asserts = 0;
  for (const cmd of readSExps(text, file)) {
    if (cmd.kind === 'atom') syntax(tr.file, cmd, `"${cmd.text}" outside any command; each command is a list like (assert ...)`);
    const op = tr.head(cmd, 'a command');
    if (op === 'declare-const') {
      const [, name, type] = cmd.items;
      if (cmd.items.length !== 3 || name.kind !== 'atom' || type.kind !== 'atom') {
        syntax(file, cmd, 'declare-const takes a name and a sort: (declare-const X_0 Real)');
      }
      if (!VAR_RE.test(name.text)) {
        unsupported(file, name, `variable "${name.text}": only inputs X_0, X_1, … and outputs Y_0, Y_1, … are supported`);
      }
      if (type.text !== 'Real') unsupported(file, type, `sort "${type.text}" of ${name.text}: only Real is supported`);
      const prev = tr.declared.get(name.text);
      if (prev) syntax(file, name, `${name.text} is declared twice (first at line ${prev.line})`);
      tr.declared.set(name.text, name);
    } else if (op === 'assert') {
      if (cmd.items.length !== 2) syntax(file, cmd, `assert takes exactly one formula (got ${cmd.items.length - 1})`);
      asserts++;
      const dnf = tr.formula(cmd.items[1]);
      const sides = new Set(dnf.flatMap((c) => c.map((a) => a.side)));
      if (sides.size > 1) {
        unsupported(file, cmd, 'this assertion mixes input (X) and output (Y) constraints; state input bounds and output constraints in separate asserts');
      }
      if (sides.has('X')) inputDnf = dnfAnd(inputDnf, dnf, file, cmd);
      else outputDnf = dnfAnd(outputDnf, dnf, file, cmd);
    } else {
      unsupported(file, cmd, `command "${op}" is not supported; VNNLIB files use declare-const and assert`);
    }
  }
  // declarations: X_0 … X_{n−1} and Y_0 … Y_{m−1} without gaps
  const count = (p: 'X' | 'Y'): number => {
    const idx = [...tr.declared.keys()].filter((k) => k[0] === p).map((k) => Number(k.slice(2)));
    const n = idx.length;
    for (let i = 0; i < n; i++) {
      if (!tr.declared.has(`${p}_${i}`)) {
        const last = tr.declared.get(`${p}_${Math.max(...idx)}`)!;
        syntax(file, last, `${p}_${Math.max(...idx)} is declared but ${p}_${i} is not; declare ${p}_0 … ${p}_${Math.max(...idx)} without gaps`);
      }
    }
    return n;
  };
  const numInputs = count('X');
  const numOutputs = count('Y');
  if (numInputs === 0) syntax(file, { line: 1, column: 1 }, 'no input declared; declare X_0 … with (declare-const X_0 Real)');
  if (numOutputs === 0) syntax(file, { line: 1, column: 1 }, 'no output declared; declare Y_0 … with (declare-const Y_0 Real)');

  const inputBoxes: VnnlibBox[] = [];
  for (const clause of inputDnf) {
    const lo = new Float64Array(numInputs).fill(-Infinity);
    const hi = new Float64Array(numInputs).fill(Infinity);
    for (const a of clause) {
      if (a.lin.coef.size !== 1) {
        unsupported(file, a.at, 'this input constraint involves several inputs; only bounds on one input (a box) are supported');
      }
      const [[v, k]] = [...a.lin.coef];
      const i = Number(v.slice(2));
      // k·X + c rel 0  ⇔  X rel' −c/k (rel flips when k < 0); rounded outward
      const bound = rdiv(rneg(a.lin.c), k);
      let rel = a.rel;
      if (k.n < 0n && rel !== '=') rel = rel === '<=' ? '>=' : '<=';
      if (rel === '<=' || rel === '=') hi[i] = Math.min(hi[i], roundUp(bound));
      if (rel === '>=' || rel === '=') lo[i] = Math.max(lo[i], roundDown(bound));
    }
    let empty = false;
    for (let i = 0; i < numInputs; i++) if (lo[i] > hi[i]) empty = true;
    if (!empty) inputBoxes.push({ lo, hi });
  }

  const toConstraint = (a: Atom): VnnlibLinearConstraint => {
    const coeffs = new Float64Array(numOutputs);
    const coeffErr = new Float64Array(numOutputs);
    for (const [v, k] of a.lin.coef) {
      const j = Number(v.slice(2));
      const r = roundNearest(k);
      coeffs[j] = r.value;
      coeffErr[j] = r.err;
    }
    const c = roundNearest(a.lin.c);
    return { coeffs, coeffErr, constant: c.value, constantErr: c.err, relation: a.rel, line: a.at.line, column: a.at.column };
  };
  return { numInputs, numOutputs, inputBoxes, outputDnf: outputDnf.map((cl) => cl.map(toConstraint)), asserts };
}
