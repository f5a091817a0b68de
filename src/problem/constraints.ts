/**
 * Linear constraints among the inputs (issue #11 §1): `--subject-to "x1 + x2 + x3 = 1"`,
 * `"x3 <= x4"`, `"2*a - b >= 0.5"`, `Query.constraints`, a query file's "constraints".
 *
 * The text is read by THE linear-form grammar of problem/targets.ts (parseTerms: the terms
 * --want's forms are made of), with names resolved to the model's inputs instead of its outputs,
 * a form on each side of the comparison and constants allowed; there is no weight. A constraint
 *     lo ≤ Σ cₖ·x_{iₖ} ≤ hi
 * may name given inputs: their values move to the right-hand side, leaving a·u over the unknowns.
 * Checked before any work (codes bad_constraint / unknown_input):
 *   - a name that is an output of the model (constraints are among inputs; targets are --want);
 *   - a constraint that only names given inputs and does not hold;
 *   - a contradiction visible from the box alone: the interval of the form over the box
 *     (interval arithmetic, Moore 1966, rounded outward) misses [lo, hi] widened by the
 *     constraint's tolerance;
 *   - equalities that contradict each other (linearly dependent rows with inconsistent
 *     right-hand sides, by modified Gram–Schmidt); consistent redundant ones are dropped.
 */
import { NetinvertError } from '../errors.ts';
import { nextDown, nextUp } from '../graph/round.ts';
import { formInterval, formText, parseTerms, type LinearTerm } from './targets.ts';

export type ConstraintKind = 'eq' | 'range' | 'ge' | 'le';

/** One linear constraint among the inputs, validated. */
export interface InputConstraint {
  /** Canonical text, e.g. "x1 + x2 + x3 = 1", "x3 - x4 <= 0". */
  name: string;
  /** The form's terms over the model's INPUTS (LinearTerm.output holds the input index). */
  terms: LinearTerm[];
  kind: ConstraintKind;
  /** lo ≤ Σ cₖ·x_{iₖ} ≤ hi (eq: lo = hi; ge: hi = +∞; le: lo = −∞). */
  lo: number;
  hi: number;
  /** Absolute tolerance on the form: a point meets the constraint when lo − tol ≤ form ≤ hi + tol. */
  tol: number;
}

/** Relative tolerance of a constraint: 1e-9 of the larger of 1 and the form's scale at the box. */
export const CONSTRAINT_RTOL = 1e-9;

/**
 * The constraints as rows over the unknowns, for the solvers: lo[k] ≤ A[k,:]·u ≤ hi[k], with the
 * given inputs' part moved to lo / hi. eq[k] = 1 for an equality (lo = hi).
 */
export interface ConstraintRows {
  k: number;
  n: number;
  A: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  eq: Uint8Array;
  /** Each row's tolerance (InputConstraint.tol). */
  tol: Float64Array;
}

function badConstraint(msg: string, detail: Record<string, unknown> = {}): NetinvertError {
  return new NetinvertError('bad_constraint', msg, detail);
}

/** Canonical text of a constraint from its form and its sides. */
function constraintText(form: string, kind: ConstraintKind, lo: number, hi: number): string {
  if (kind === 'eq') return `${form} = ${lo}`;
  if (kind === 'ge') return `${form} >= ${lo}`;
  if (kind === 'le') return `${form} <= ${hi}`;
  return `${form} = ${lo}:${hi}`;
}

function badText(text: string, pos: number, msg: string): NetinvertError {
  return new NetinvertError('bad_target', `constraint "${text.trim()}": ${msg} at position ${pos + 1} of "${text}"`, { text, position: pos });
}

/**
 * One side of a constraint, text[from, to): THE term grammar of problem/targets.ts (parseTerms)
 * with names read as inputs and bare numbers allowed (so "x3 <= x4" and "a + 1 >= 2*b" read
 * naturally); coefficients times `sign` go into coefs, and the side's constant is returned.
 * A name that is an output of the model is refused as such (bad_constraint).
 */
function parseSide(
  text: string,
  from: number,
  to: number,
  inputNames: readonly string[],
  outputNames: readonly string[],
  sign: number,
  coefs: Map<number, number>,
  order: number[],
): number {
  // a whole side that is exactly an input name (names may hold operator characters)
  const whole = text.slice(from, to).trim();
  const o = inputNames.indexOf(whole);
  if (o >= 0) {
    if (!coefs.has(o)) order.push(o);
    coefs.set(o, (coefs.get(o) ?? 0) + sign);
    return 0;
  }
  const what = `constraint "${text.trim()}"`;
  return parseTerms(
    text,
    from,
    to,
    inputNames,
    {
      what,
      of: 'input',
      sign,
      constants: true,
      unknownName: (nm, at) => {
        if (outputNames.includes(nm)) {
          throw badConstraint(
            `${what}: "${nm}" is an output of the model; constraints are among inputs (${inputNames.join(', ')}): state conditions on outputs as targets (--want / "want")`,
            { constraint: text, term: nm },
          );
        }
        throw new NetinvertError('unknown_input', `${what}: "${nm}" is not an input of the model; its inputs are: ${inputNames.join(', ')}`, {
          input: nm,
          constraint: text,
          position: at,
        });
      },
    },
    coefs,
    order,
  );
}

/**
 * Parse one constraint's text against the model's input names:
 *     side op side      op one of = == >= <=  (strict < > refused)
 *     form = lo:hi      a range
 * each side a linear form of inputs with optional constants; everything moves to the left,
 * constants to the right: "x3 <= x4" is x3 − x4 ≤ 0. Throws bad_target (malformed, with the
 * position), unknown_input (a name that is no input), bad_constraint (a name that is an output,
 * a weight, no input left).
 */
export function parseConstraint(raw: string, inputNames: readonly string[], outputNames: readonly string[]): Omit<InputConstraint, 'tol'> {
  if (typeof raw !== 'string') throw badConstraint(`a constraint must be text like "x1 + x2 = 1" (got ${JSON.stringify(raw)})`);
  // the first comparison outside quotes splits the item
  let q: string | null = null,
    at = -1;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (q) {
      if (ch === q) q = null;
    } else if (ch === '"' || ch === '`') q = ch;
    else if (ch === '=' || ch === '<' || ch === '>') {
      at = i;
      break;
    }
  }
  if (at < 0) throw badText(raw, raw.length, 'expected a comparison: form = value, form <= form, form >= form or form = lo:hi');
  if (raw.includes('@')) throw badConstraint(`constraint "${raw.trim()}": a constraint has no weight (it holds exactly); drop the "@…"`, { constraint: raw });
  let op: string;
  if (raw.startsWith('==', at) || raw.startsWith('>=', at) || raw.startsWith('<=', at)) op = raw.slice(at, at + 2);
  else if (raw[at] === '=') op = '=';
  else throw badText(raw, at, `strict "${raw[at]}" is not supported: use "${raw[at]}="`);
  const rhsAt = at + op.length;
  if (/[=<>]/.test(raw.slice(rhsAt).replace(/"[^"]*"|`[^`]*`/g, ''))) throw badText(raw, rhsAt, 'one comparison per constraint: give a chain as two constraints');
  const coefs = new Map<number, number>(),
    order: number[] = [];
  const lconst = parseSide(raw, 0, at, inputNames, outputNames, 1, coefs, order);
  let kind: ConstraintKind, lo: number, hi: number;
  const range = /^\s*([^:]+):([^:]+)$/.exec(raw.slice(rhsAt));
  if ((op === '=' || op === '==') && range) {
    const a = Number(range[1].trim()),
      b = Number(range[2].trim());
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw badText(raw, rhsAt, 'a range is lo:hi with finite numbers');
    if (a > b) throw badText(raw, rhsAt, `range low end ${a} is above the high end ${b}`);
    kind = 'range';
    lo = a - lconst;
    hi = b - lconst;
  } else {
    const rconst = parseSide(raw, rhsAt, raw.length, inputNames, outputNames, -1, coefs, order);
    const v = -(lconst + rconst) || 0; // Σ c·x + lconst op −rconst, constants moved right (no −0)
    kind = op === '>=' ? 'ge' : op === '<=' ? 'le' : 'eq';
    lo = kind === 'le' ? -Infinity : v;
    hi = kind === 'ge' ? Infinity : v;
  }
  const terms: LinearTerm[] = order.map((o) => ({ output: o, coef: coefs.get(o)! })).filter((t) => t.coef !== 0);
  if (terms.length === 0) {
    throw badConstraint(`constraint "${raw.trim()}" has no input left once its sides are combined: it constrains nothing; drop it`, { constraint: raw });
  }
  const bad = terms.find((t) => !Number.isFinite(t.coef));
  if (bad) throw badConstraint(`constraint "${raw.trim()}": input "${inputNames[bad.output]}" has coefficient ${bad.coef}: give it a finite one`, { constraint: raw, term: inputNames[bad.output] });
  if (!Number.isFinite(lo) && !Number.isFinite(hi)) throw badConstraint(`constraint "${raw.trim()}" has no finite side`, { constraint: raw });
  const name = constraintText(formText(terms, inputNames), kind, lo, hi);
  return { name, terms, kind, lo, hi };
}

/**
 * Validate the query's constraints against the unknowns' box (lo, hi over `unknowns`, input
 * indices) and the given inputs (`base`: the full input vector, given values filled in).
 * Returns the constraints that constrain something (those naming only given inputs are checked
 * and dropped with a warning) and warnings.
 */
export function buildConstraints(
  list: readonly string[] | undefined,
  inputNames: readonly string[],
  outputNames: readonly string[],
  unknowns: readonly number[],
  base: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
): { constraints: InputConstraint[]; warnings: string[] } {
  const out: InputConstraint[] = [];
  const warnings: string[] = [];
  if (list === undefined) return { constraints: out, warnings };
  if (!Array.isArray(list)) throw badConstraint('constraints must be a list of texts like "x1 + x2 = 1"');
  const nIn = inputNames.length;
  // the box over all inputs: given ones thin
  const L = Float64Array.from(base),
    H = Float64Array.from(base);
  unknowns.forEach((i, j) => {
    L[i] = lo[j];
    H[i] = hi[j];
  });
  const fr = [0, 0];
  for (const raw of list) {
    const c = parseConstraint(raw, inputNames, outputNames);
    if (out.some((d) => d.name === c.name)) {
      throw new NetinvertError('duplicate_name', `constraint "${c.name}" is given twice; give each constraint once`, { constraint: c.name });
    }
    // the form's scale over the box: its tolerance is relative to it
    let scale = 1;
    for (const t of c.terms) scale = Math.max(scale, Math.abs(t.coef) * Math.max(Math.abs(L[t.output]), Math.abs(H[t.output])));
    for (const v of [c.lo, c.hi]) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const tol = CONSTRAINT_RTOL * scale;
    const ic: InputConstraint = { ...c, tol };
    formInterval(c.terms, L, H, 0, fr);
    const free = c.terms.filter((t) => unknowns.includes(t.output));
    // the range as the user would compute it (the outward-rounded ends differ by an ulp)
    let plo = 0,
      phi = 0;
    for (const t of c.terms) {
      plo += Math.min(t.coef * L[t.output], t.coef * H[t.output]);
      phi += Math.max(t.coef * L[t.output], t.coef * H[t.output]);
    }
    const range = `[${plo}, ${phi}]`;
    if (fr[0] > nextUp(c.hi + tol) || fr[1] < nextDown(c.lo - tol)) {
      const detail = { constraint: c.name, terms: c.terms.map((t) => inputNames[t.output]) };
      if (free.length === 0) {
        throw badConstraint(
          `constraint "${c.name}" names only given inputs and does not hold: its form is ${plo === phi ? plo : range} there; change the given values or the constraint`,
          detail,
        );
      }
      const box = c.terms.map((t) => `${inputNames[t.output]} in [${L[t.output]}, ${H[t.output]}]`).join(', ');
      throw badConstraint(
        `constraint "${c.name}" cannot hold inside the bounds: with ${box} its form ranges over ${range} only; widen the bounds (--bounds) or change the constraint`,
        detail,
      );
    }
    if (free.length === 0) {
      warnings.push(`constraint "${c.name}" names only given inputs and holds: nothing left to constrain`);
      continue;
    }
    out.push(ic);
  }
  checkEqualities(out, unknowns, base, inputNames, warnings, nIn);
  return { constraints: out, warnings };
}

/** A constraint as results and certificates record it: its text, terms over input names, sides and tolerance. */
export interface ConstraintRecord {
  constraint: string;
  terms: { input: string; coef: number }[];
  kind: ConstraintKind;
  lo: number | null;
  hi: number | null;
  tolerance: number;
}

/** The records of a problem's constraints (an infinite side is null, as JSON has no Infinity). */
export function constraintRecords(constraints: readonly InputConstraint[], inputNames: readonly string[]): ConstraintRecord[] {
  return constraints.map((c) => ({
    constraint: c.name,
    terms: c.terms.map((k) => ({ input: inputNames[k.output], coef: k.coef })),
    kind: c.kind,
    lo: Number.isFinite(c.lo) ? c.lo : null,
    hi: Number.isFinite(c.hi) ? c.hi : null,
    tolerance: c.tol,
  }));
}

/** The constraints as rows over the unknowns (given inputs' part moved to the sides). */
export function constraintRows(constraints: readonly InputConstraint[], unknowns: readonly number[], base: ArrayLike<number>): ConstraintRows {
  const k = constraints.length,
    n = unknowns.length;
  const A = new Float64Array(k * n),
    lo = new Float64Array(k),
    hi = new Float64Array(k),
    eq = new Uint8Array(k),
    tol = new Float64Array(k);
  constraints.forEach((c, r) => {
    let c0 = 0;
    for (const t of c.terms) {
      const j = unknowns.indexOf(t.output);
      if (j >= 0) A[r * n + j] += t.coef;
      else c0 += t.coef * base[t.output];
    }
    lo[r] = c.lo - c0;
    hi[r] = c.hi - c0;
    eq[r] = c.kind === 'eq' ? 1 : 0;
    tol[r] = c.tol;
  });
  return { k, n, A, lo, hi, eq, tol };
}

/**
 * Equalities must be independent and consistent: modified Gram–Schmidt over their rows a (over
 * the unknowns) carrying the right-hand side along; a row that vanishes (‖a′‖ ≤ 1e-10‖a‖) is a
 * combination of earlier ones, and its carried right-hand side must vanish too (else no point
 * meets both: bad_constraint); a consistent one is redundant and dropped.
 */
function checkEqualities(
  out: InputConstraint[],
  unknowns: readonly number[],
  base: Float64Array,
  inputNames: readonly string[],
  warnings: string[],
  _nIn: number,
): void {
  const rows = constraintRows(out, unknowns, base);
  const n = rows.n;
  const Q: Float64Array[] = [],
    beta: number[] = [],
    who: number[] = [];
  const drop: number[] = [];
  for (let r = 0; r < rows.k; r++) {
    if (!rows.eq[r]) continue;
    const v = rows.A.slice(r * n, r * n + n);
    let b = rows.lo[r];
    const norm0 = Math.hypot(...v);
    for (let q = 0; q < Q.length; q++) {
      let d = 0;
      for (let j = 0; j < n; j++) d += v[j] * Q[q][j];
      for (let j = 0; j < n; j++) v[j] -= d * Q[q][j];
      b -= d * beta[q];
    }
    const norm = Math.hypot(...v);
    if (norm <= 1e-10 * norm0) {
      if (Math.abs(b) > out[r].tol + 1e-9 * Math.max(1, Math.abs(rows.lo[r]))) {
        const others = who.map((w) => `"${out[w].name}"`).join(', ');
        throw badConstraint(`constraint "${out[r].name}" contradicts the equalities ${others}: its form is a combination of theirs with another value; drop or correct one`, {
          constraint: out[r].name,
          terms: out[r].terms.map((t) => inputNames[t.output]),
        });
      }
      warnings.push(`constraint "${out[r].name}" follows from the other equalities: dropped`);
      drop.push(r);
      continue;
    }
    for (let j = 0; j < n; j++) v[j] /= norm;
    Q.push(v);
    beta.push(b / norm);
    who.push(r);
  }
  for (let i = drop.length - 1; i >= 0; i--) out.splice(drop[i], 1);
}

/** Value of a constraint's form at the full input vector X. */
export function constraintValue(c: InputConstraint, X: ArrayLike<number>): number {
  let s = 0;
  for (const t of c.terms) s += t.coef * X[t.output];
  return s;
}

/**
 * Sound enclosure of a constraint's form over the input box [L, H] (full input vectors from
 * offset off), and whether the box lies wholly outside the constraint (widened by its
 * tolerance): then no point of the box meets it. Interval arithmetic rounded outward (formInterval).
 */
export function constraintExcludes(c: InputConstraint, L: ArrayLike<number>, H: ArrayLike<number>, off: number, out: Float64Array | number[]): boolean {
  formInterval(c.terms, L, H, off, out);
  // the sides widened by the tolerance, rounded outward (a point meets c when its form lies in
  // [fl(lo − tol), fl(hi + tol)], inside these)
  return out[0] > nextUp(c.hi + c.tol) || out[1] < nextDown(c.lo - c.tol);
}
