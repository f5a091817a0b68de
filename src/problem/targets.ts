/**
 * Output specs: the ONE grammar for targets, used by the CLI (--want, --any), the query file's
 * keys and batch's cells, and the arithmetic on linear forms the solvers and provers share.
 *
 * A target constrains a linear form of the outputs, c·y = Σ cₖ·y_{oₖ}:
 *
 *   item   := form op rhs [@weight]
 *   op     := "=" | "==" | ">=" | "<="            (rhs "lo:hi" after "=" is a range)
 *   form   := [sign] term { ("+" | "-") term }
 *   term   := [number ["*"]] name | name "*" number
 *   name   := an output name; quote it ("…" or `…`) when it holds + - * spaces or an operator
 *
 * A plain output name is the one-term form 1·y, so `y=7`, `y=0.1:0.3`, `y>=0.5` keep working; a
 * name that is an output of the model is always read whole (so `a-b` means the output "a-b" when
 * the model has one). Forms have no constant term: move constants to the right-hand side.
 */
import { NetinvertError } from '../errors.ts';
import { nextDown, nextUp } from '../graph/round.ts';

/** A target for one form: a number means "equal to". */
export type TargetSpec =
  | number
  | { eq: number; weight?: number }
  | { range: [number, number]; weight?: number }
  | { ge: number; weight?: number }
  | { le: number; weight?: number };

/** One term cₖ·y_{oₖ} of a linear form (output index into the network's outputs). */
export interface LinearTerm {
  output: number;
  coef: number;
}

function badTarget(text: string, pos: number, msg: string, what: string): NetinvertError {
  // one line (the CLI prints errors as one line): the position counts characters from 1
  return new NetinvertError('bad_target', `${what}: ${msg} at position ${pos + 1} of "${text}"`, { text, position: pos });
}

const NUM = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;

/**
 * Parse the left-hand side of a target into terms over `outputNames`. Repeated outputs are
 * merged; a zero coefficient is refused (it would constrain nothing). Throws bad_target (with the
 * position) for malformed text, unknown_output for a name the model does not have.
 * `of: 'input'` reads names as inputs (unknown_input), for constraints among inputs.
 */
export function parseForm(text: string, outputNames: readonly string[], what = 'target', of: 'output' | 'input' = 'output'): LinearTerm[] {
  const whole = text.trim();
  const exact = outputNames.indexOf(whole);
  if (exact >= 0) return [{ output: exact, coef: 1 }];
  const coefs = new Map<number, number>();
  const order: number[] = [];
  parseTerms(text, 0, text.length, outputNames, { what, of, sign: 1, constants: false }, coefs, order);
  const terms = order.map((o) => ({ output: o, coef: coefs.get(o)! }));
  const zero = terms.find((t) => t.coef === 0 || !Number.isFinite(t.coef));
  if (zero) throw badTarget(text, 0, `${of} "${outputNames[zero.output]}" has coefficient ${zero.coef} in total: give it a finite, nonzero coefficient or leave it out`, what);
  return terms;
}

/** How parseTerms reads a stretch of text. */
export interface TermOptions {
  /** Names the item in errors. */
  what: string;
  /** What the names are: outputs (targets) or inputs (constraints among inputs). */
  of: 'output' | 'input';
  /** Every coefficient is multiplied by this (−1: the right-hand side of a constraint, moved left). */
  sign: number;
  /** Bare numbers allowed (a constraint's sides); targets' forms have no constant term. */
  constants: boolean;
  /** Called for a name that is not in `names` (throw from it); default: unknown_output / unknown_input. */
  unknownName?: (name: string, position: number) => never;
}

/**
 * THE term grammar, over text[from, to):
 *   form := [sign] term { ("+" | "-") term }
 *   term := [number ["*"]] name | name "*" number | number    (the last only with `constants`)
 * Adds each name's coefficient (times opts.sign) into `coefs` (index into `names`; first
 * appearance in `order`) and returns the sum of the constants (times opts.sign).
 */
export function parseTerms(text: string, from: number, to: number, names: readonly string[], opts: TermOptions, coefs: Map<number, number>, order: number[]): number {
  const { what, of } = opts;
  let i = from,
    constant = 0;
  const ws = (): void => {
    while (i < to && /\s/.test(text[i])) i++;
  };
  const number = (): number | null => {
    const m = NUM.exec(text.slice(i, to));
    if (!m) return null;
    i += m[0].length;
    return Number(m[0]);
  };
  const name = (): string | null => {
    if (text[i] === '"' || text[i] === '`') {
      const q = text[i];
      const end = text.indexOf(q, i + 1);
      if (end < 0 || end >= to) throw badTarget(text, i, `unclosed quote ${q}`, what);
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const start = i;
    while (i < to && !/[\s+\-*<>=@:,;"`]/.test(text[i])) i++;
    if (i === start) return null;
    return text.slice(start, i);
  };
  ws();
  if (i >= to) throw badTarget(text, i, `expected an ${of} name or a linear form of ${of}s (e.g. "${of === 'output' ? 'y0 - y1' : 'x0 - x1'}")`, what);
  let first = true;
  while (true) {
    ws();
    let sign = 1;
    if (text[i] === '+' || text[i] === '-') {
      sign = text[i] === '-' ? -1 : 1;
      i++;
      ws();
    } else if (!first) {
      throw badTarget(text, i, `expected "+" or "-" between terms, got "${text[i]}"`, what);
    }
    const termAt = i;
    let coef = 1;
    const c = number();
    let nm: string | null;
    if (c !== null) {
      coef = c;
      ws();
      const star = text[i] === '*';
      if (star) {
        i++;
        ws();
      }
      const at = i;
      nm = name();
      if (nm === null) {
        if (opts.constants && !star && (i >= to || text[i] === '+' || text[i] === '-')) {
          // a bare number: a constant of this side
          constant += sign * c;
          first = false;
          ws();
          if (i >= to) break;
          continue;
        }
        if (opts.constants) throw badTarget(text, at, `expected an ${of} name after "${c}${star ? ' *' : ''}"`, what);
        if (i >= to) throw badTarget(text, at, `the constant ${c} has no ${of}: forms have no constant term, move it to the right-hand side`, what);
        throw badTarget(text, at, `expected an ${of} name after ${c}`, what);
      }
    } else {
      nm = name();
      if (nm === null) throw badTarget(text, termAt, i >= to ? 'the form ends with a sign: a term is missing' : `expected an ${of} name or a number, got "${text[i]}"`, what);
      ws();
      if (text[i] === '*') {
        i++;
        ws();
        const at = i;
        const c2 = number();
        if (c2 === null) throw badTarget(text, at, 'expected a number after "*"', what);
        coef = c2;
      }
    }
    if (sign < 0) coef = -coef;
    const o = names.indexOf(nm);
    if (o < 0) {
      if (opts.unknownName) opts.unknownName(nm, termAt);
      throw new NetinvertError(of === 'output' ? 'unknown_output' : 'unknown_input', `${what}: "${nm}" is not an ${of} of the model; its ${of}s are: ${names.join(', ')}`, {
        [of]: nm,
        text,
        position: termAt,
      });
    }
    if (!coefs.has(o)) order.push(o);
    coefs.set(o, (coefs.get(o) ?? 0) + opts.sign * coef);
    first = false;
    ws();
    if (i >= to) break;
  }
  return opts.sign * constant;
}

/** Is this the plain form 1·y? */
export function isPlain(terms: readonly LinearTerm[]): boolean {
  return terms.length === 1 && terms[0].coef === 1;
}

/** Canonical text of a form: "y0 - y1", "2*y0 + 0.5*y3"; names with operator characters are quoted. */
export function formText(terms: readonly LinearTerm[], outputNames: readonly string[]): string {
  if (isPlain(terms)) return outputNames[terms[0].output];
  const q = (s: string): string => (/^[^\s+\-*<>=@:,;"`0-9.][^\s+\-*<>=@:,;"`]*$/.test(s) ? s : `"${s}"`);
  return terms
    .map((t, k) => {
      const a = Math.abs(t.coef);
      const body = a === 1 ? q(outputNames[t.output]) : `${a}*${q(outputNames[t.output])}`;
      return k === 0 ? (t.coef < 0 ? `-${body}` : body) : `${t.coef < 0 ? '-' : '+'} ${body}`;
    })
    .join(' ');
}

function num(s: string, what: string, text: string, pos: number): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw badTarget(text, pos + (s.length - s.trimStart().length), `"${t}" is not a finite number`, what);
  return v;
}

/**
 * The right-hand side with its operator: "=7", "==7", "=0.1:0.3" (range), ">=0.5", "<=2", each with
 * an optional weight suffix "@w". `what` names the target in errors; `text`/`offset` locate it.
 */
export function parseTargetSpec(spec: string, what: string, text = spec, offset = 0): TargetSpec {
  let it = spec,
    weight: number | undefined;
  const at = it.lastIndexOf('@');
  if (at > 0) {
    weight = num(it.slice(at + 1), `${what}: weight`, text, offset + at + 1);
    if (!(weight > 0)) throw badTarget(text, offset + at + 1, `the weight must be > 0 (got ${weight})`, what);
    it = it.slice(0, at);
  }
  const m = /^(\s*)(==|>=|<=|=)(.+)$/.exec(it);
  if (!m) {
    const strict = /^\s*(>|<)/.exec(it);
    if (strict) throw badTarget(text, offset + strict[0].length - 1, `strict "${strict[1]}" is not supported: use "${strict[1]}="`, what);
    throw badTarget(text, offset, `expected =value, =lo:hi, >=v or <=v, got "${spec.trim()}"`, what);
  }
  const op = m[2],
    rhsAt = offset + m[1].length + op.length,
    rhs = m[3];
  const w = weight === undefined ? {} : { weight };
  if (op === '>=') return { ge: num(rhs, what, text, rhsAt), ...w };
  if (op === '<=') return { le: num(rhs, what, text, rhsAt), ...w };
  const c = rhs.indexOf(':', 1);
  if (c > 0) {
    const lo = num(rhs.slice(0, c), `${what} low end`, text, rhsAt),
      hi = num(rhs.slice(c + 1), `${what} high end`, text, rhsAt + c + 1);
    if (lo > hi) throw badTarget(text, rhsAt, `range low end ${lo} is above the high end ${hi}`, what);
    return { range: [lo, hi], ...w };
  }
  const v = num(rhs, what, text, rhsAt);
  return weight === undefined ? v : { eq: v, weight };
}

/**
 * One whole item "form op rhs[@w]" (e.g. "y0 - y1 <= 0", "sum=7", "2*y0 + y3 >= 1.5"): its
 * left-hand side (kept as text: buildProblem resolves it against the model) and its target.
 */
export function parseWantItem(raw: string, what: string): [string, TargetSpec] {
  // the first comparison operator outside quotes splits the item
  let q: string | null = null;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (q) {
      if (ch === q) q = null;
      continue;
    }
    if (ch === '"' || ch === '`') q = ch;
    else if (ch === '=' || ch === '<' || ch === '>') {
      const lhs = raw.slice(0, i).trim();
      if (lhs === '') throw badTarget(raw, i, 'the left-hand side is empty: name an output or a form of outputs', what);
      return [lhs, parseTargetSpec(raw.slice(i), `${what} ${lhs}`, raw, i)];
    }
  }
  throw badTarget(raw, raw.length, 'expected a comparison: form=value, form=lo:hi, form>=v or form<=v', what);
}

/** Split "a, b" lists (commas outside quotes), trimming and dropping empty items. */
export function splitList(s: string, sep: string): string[] {
  const out: string[] = [];
  let q: string | null = null,
    cur = '';
  for (const ch of s) {
    if (q) {
      if (ch === q) q = null;
      cur += ch;
    } else if (ch === '"' || ch === '`') {
      q = ch;
      cur += ch;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * --want items (repeatable flag; commas separate items): a conjunction, keyed by form text.
 * A form given twice is refused (use a range for two-sided limits).
 */
export function parseTargetList(list: string[], flag: string): Record<string, TargetSpec> {
  const out: Record<string, TargetSpec> = {};
  for (const raw of list.flatMap((s) => splitList(s, ','))) {
    const [lhs, spec] = parseWantItem(raw, flag);
    if (Object.hasOwn(out, lhs)) {
      throw new NetinvertError('duplicate_name', `${flag}: "${lhs}" is given twice; give each target once (a range lo:hi bounds both sides)`, { flag, name: lhs });
    }
    out[lhs] = spec;
  }
  return out;
}

/**
 * --any: a disjunction. Each flag value is one or more clauses separated by ";" and each clause a
 * conjunction of items separated by ",": `--any "y0-y1>=0.5, y2<=0 ; y1>=2"` is
 * (y0 − y1 ≥ 0.5 ∧ y2 ≤ 0) ∨ (y1 ≥ 2). Repeating --any adds clauses to the same disjunction.
 */
export function parseAnyList(list: string[], flag: string): Record<string, TargetSpec>[] {
  const clauses: Record<string, TargetSpec>[] = [];
  for (const s of list) for (const clause of splitList(s, ';')) clauses.push(parseTargetList([clause], `${flag} clause ${clauses.length + 1}`));
  return clauses;
}

/** Value of the form on output row Y[off .. off + nOut). */
export function formValue(terms: readonly LinearTerm[], Y: ArrayLike<number>, off = 0): number {
  let s = 0;
  for (let k = 0; k < terms.length; k++) s += terms[k].coef * Y[off + terms[k].output];
  return s;
}

/**
 * Sound enclosure of the form over output intervals [L, H] (interval arithmetic, Moore 1966:
 * c·[l, h] = [c·l, c·h] for c ≥ 0, swapped for c < 0; sums with every partial result rounded
 * outward by one ulp, which covers round-to-nearest's half-ulp error). out = [lo, hi].
 */
export function formInterval(terms: readonly LinearTerm[], L: ArrayLike<number>, H: ArrayLike<number>, off: number, out: Float64Array | number[]): void {
  if (terms.length === 1 && terms[0].coef === 1) {
    out[0] = L[off + terms[0].output];
    out[1] = H[off + terms[0].output];
    return;
  }
  let lo = 0,
    hi = 0;
  for (let k = 0; k < terms.length; k++) {
    const c = terms[k].coef,
      l = L[off + terms[k].output],
      h = H[off + terms[k].output];
    const a = c >= 0 ? c * l : c * h,
      b = c >= 0 ? c * h : c * l;
    lo = nextDown(lo + nextDown(a));
    hi = nextUp(hi + nextUp(b));
  }
  out[0] = lo !== lo ? -Infinity : lo;
  out[1] = hi !== hi ? Infinity : hi;
}

/** Every output a list of forms reads, ascending. */
export function formOutputs(forms: readonly { terms: readonly LinearTerm[] }[]): number[] {
  const s = new Set<number>();
  for (const f of forms) for (const t of f.terms) s.add(t.output);
  return [...s].sort((a, b) => a - b);
}

/**
 * Combine an output Jacobian (rows × |outs| × n, rows of `outs` order) into the forms' Jacobian
 * (rows × m × n): ∂(c·y)/∂u = Σ cₖ ∂y_{oₖ}/∂u.
 */
export function formJacobian(
  forms: readonly { terms: readonly LinearTerm[] }[],
  outs: readonly number[],
  Jy: Float64Array,
  rows: number,
  n: number,
  out: Float64Array,
): void {
  const m = forms.length,
    k = outs.length;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < m; i++) {
      const o = (r * m + i) * n;
      out.fill(0, o, o + n);
      for (const t of forms[i].terms) {
        const src = (r * k + outs.indexOf(t.output)) * n;
        for (let j = 0; j < n; j++) out[o + j] += t.coef * Jy[src + j];
      }
    }
  }
}

/**
 * A classification target (--want-class): class `cls` wins with a margin, as the linear output
 * spec logit_k − logit_j ≥ margin for every other output j (the standard robustness
 * specification of a classifier, e.g. VNN-COMP's; Katz et al. 2017 state ACAS Xu's properties so):
 * one linear-form target per j, a conjunction, keyed by the form's text, so every solver and
 * prover handles it as any other form. `cls` is an output name, or its index when no output has
 * that name. Throws unknown_output for a class the model does not have, bad_target for a margin
 * that is not finite or a model with one output.
 */
export function classTargets(outputNames: readonly string[], cls: string, margin = 0, what = '--want-class'): Record<string, TargetSpec> {
  let k = outputNames.indexOf(cls);
  if (k < 0 && /^\d+$/.test(cls.trim()) && Number(cls) < outputNames.length) k = Number(cls);
  if (k < 0) {
    throw new NetinvertError('unknown_output', `${what}: "${cls}" is not an output of the model; its outputs (the classes' logits) are: ${outputNames.join(', ')}`, {
      output: cls,
    });
  }
  if (!Number.isFinite(margin)) throw new NetinvertError('bad_target', `${what}: the margin must be a finite number (got ${margin})`, { margin });
  if (outputNames.length < 2) {
    throw new NetinvertError('bad_target', `${what}: the model has one output, so there is no other class to beat; use --want "${outputNames[0]}>=v" instead`, {
      output: cls,
    });
  }
  const out: Record<string, TargetSpec> = {};
  for (let j = 0; j < outputNames.length; j++) {
    if (j === k) continue;
    out[formText([{ output: k, coef: 1 }, { output: j, coef: -1 }], outputNames)] = { ge: margin };
  }
  return out;
}
