/**
 * `solve --query q.json`: the query as a JSON file with the fields of the library's Query
 * (src/problem/query.ts); schema in docs/query-file.md. Every error names the file and the
 * field (`want.sum`, `bounds.b[1]`), like the flags' errors name the flag. Names (keys) may
 * appear only once per object: JSON.parse would silently keep the last.
 */
import { NetinvertError } from '../errors.ts';
import type { DistanceKind, Query, TargetSpec } from '../problem/query.ts';
import { checkInputStats } from '../problem/prior.ts';

export const QUERY_FORMAT = 'netinvert-query';
export const QUERY_VERSION = 1;

const FIELDS = [
  'format',
  'version',
  'given',
  'want',
  'anyOf',
  // classifier target (--want-class / --margin): logit_k − logit_j ≥ margin for every j ≠ k (cli/wantClass.ts)
  'wantClass',
  'margin',
  'bounds',
  'closestTo',
  'distance',
  // counterfactual controls (problem/query.ts)
  'onlyIncrease',
  'onlyDecrease',
  'fixed',
  'distanceWeights',
  'distanceScale',
  // linear constraints among the inputs (problem/constraints.ts)
  'constraints',
  // a prior over the inputs (problem/prior.ts): {names, mean, std or cov, rows?}
  'prior',
  // discrete unknowns (problem/discrete.ts)
  'integers',
  'categorical',
  'oneHot',
] as const;

/**
 * A query file's content: the library's Query, plus the class target (wantClass, margin), which
 * needs the model's output names and so is turned into `want` targets once the model is loaded
 * (commands/solve.ts withWantClass → cli/wantClass.ts, the path --want-class takes).
 */
export type QueryFileContent = Query & { wantClass?: string; margin?: number };

/** Parse and check the text of a query file; `file` names it in errors. */
export function parseQueryFile(text: string, file: string): QueryFileContent {
  const fail = (field: string | null, message: string): never => {
    throw new NetinvertError('bad_query', `query file ${file}: ${field ? `field ${field}: ` : ''}${message}`, {
      file,
      ...(field ? { field } : {}),
    });
  };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (e) {
    fail(null, `not valid JSON (${(e as Error).message}); see docs/query-file.md for the format`);
  }
  const dup = firstDuplicateKey(body);
  if (dup) {
    throw new NetinvertError(
      'duplicate_name',
      `query file ${file}: field ${dup.path}: "${dup.key}" appears twice (line ${dup.line}); give each name once`,
      { file, field: dup.path, name: dup.key, line: dup.line },
    );
  }
  if (!isObject(raw)) return fail(null, 'expected a JSON object {"given": {...}, "want": {...}, ...}');
  for (const k of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(k)) fail(k, `unknown field; the fields are ${FIELDS.join(', ')}`);
  }
  if (raw.format !== undefined && raw.format !== QUERY_FORMAT) fail('format', `expected "${QUERY_FORMAT}" (or leave it out), got ${JSON.stringify(raw.format)}`);
  if (raw.version !== undefined && raw.version !== QUERY_VERSION) {
    fail('version', `this netinvert reads query files of version ${QUERY_VERSION}, got ${JSON.stringify(raw.version)}`);
  }

  const numbers = (field: string, v: unknown, what: string): Record<string, number> => {
    if (!isObject(v)) return fail(field, `expected an object {name: ${what}, ...}, got ${describe(v)}`);
    const out: Record<string, number> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${field}.${k}`, `expected a finite number, got ${describe(x)}`);
      out[k] = x as number;
    }
    return out;
  };

  if (raw.want === undefined && raw.anyOf === undefined && raw.wantClass === undefined) {
    fail(null, 'no "want" field; say which outputs you want, e.g. "want": {"sum": 7} (or "wantClass": "cat" for a classifier)');
  }
  // keys are output names or linear forms of outputs ("y0 - y1"): the model resolves them (buildProblem)
  const targets = (field: string, v: unknown): Record<string, TargetSpec> => {
    if (!isObject(v)) return fail(field, `expected an object {output or form: target, ...}, got ${describe(v)}`);
    const out: Record<string, TargetSpec> = {};
    for (const [k, t] of Object.entries(v)) out[k] = target(`${field}.${k}`, t, fail);
    return out;
  };
  const want = raw.want === undefined ? {} : targets('want', raw.want);

  const query: QueryFileContent = { want };
  if (raw.wantClass !== undefined) {
    const c = raw.wantClass;
    if (!((typeof c === 'string' && c.trim() !== '') || (typeof c === 'number' && Number.isSafeInteger(c) && c >= 0))) {
      fail('wantClass', `expected an output name (a class's logit) or its index, got ${describe(c)}`);
    }
    query.wantClass = String(c);
  }
  if (raw.margin !== undefined) {
    if (raw.wantClass === undefined) fail('margin', 'the margin of wantClass: give "wantClass" with it');
    if (typeof raw.margin !== 'number' || !Number.isFinite(raw.margin)) fail('margin', `expected a finite number, got ${describe(raw.margin)}`);
    query.margin = raw.margin as number;
  }
  if (raw.anyOf !== undefined) {
    if (!Array.isArray(raw.anyOf) || raw.anyOf.length === 0) {
      fail('anyOf', `expected a non-empty list of clauses, each an object like want, got ${describe(raw.anyOf)}`);
    }
    query.anyOf = (raw.anyOf as unknown[]).map((c, i) => {
      const clause = targets(`anyOf[${i}]`, c);
      if (!Object.keys(clause).length) fail(`anyOf[${i}]`, 'a clause needs at least one target');
      return clause;
    });
  }
  if (raw.given !== undefined) query.given = numbers('given', raw.given, 'number');
  if (raw.closestTo !== undefined) query.closestTo = numbers('closestTo', raw.closestTo, 'number');
  if (raw.bounds !== undefined) {
    if (!isObject(raw.bounds)) return fail('bounds', `expected an object {input: [lo, hi], ...}, got ${describe(raw.bounds)}`);
    const bounds: Record<string, [number, number]> = {};
    for (const [k, b] of Object.entries(raw.bounds)) {
      if (!Array.isArray(b) || b.length !== 2) fail(`bounds.${k}`, `expected [lo, hi], got ${describe(b)}`);
      const [lo, hi] = b as unknown[];
      if (typeof lo !== 'number' || !Number.isFinite(lo)) fail(`bounds.${k}[0]`, `expected a finite number, got ${describe(lo)}`);
      if (typeof hi !== 'number' || !Number.isFinite(hi)) fail(`bounds.${k}[1]`, `expected a finite number, got ${describe(hi)}`);
      if ((lo as number) > (hi as number)) fail(`bounds.${k}`, `the low end ${lo} is above the high end ${hi}`);
      bounds[k] = [lo as number, hi as number];
    }
    query.bounds = bounds;
  }
  for (const k of ['onlyIncrease', 'onlyDecrease', 'fixed'] as const) {
    const v = raw[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(k, `expected a list of input names, got ${describe(v)}`);
    query[k] = (v as string[]).slice();
  }
  for (const k of ['distanceWeights', 'distanceScale'] as const) {
    if (raw[k] === undefined) continue;
    const m = numbers(k, raw[k], 'number > 0');
    for (const [name, x] of Object.entries(m)) if (!(x > 0)) fail(`${k}.${name}`, `expected a number > 0, got ${x}`);
    query[k] = m;
  }
  if (raw.constraints !== undefined) {
    if (!Array.isArray(raw.constraints)) fail('constraints', `expected a list of texts like "x1 + x2 = 1", got ${describe(raw.constraints)}`);
    (raw.constraints as unknown[]).forEach((c, i) => {
      if (typeof c !== 'string' || c.trim() === '') fail(`constraints[${i}]`, `expected a constraint text like "x1 + x2 = 1" or "a <= b", got ${describe(c)}`);
    });
    query.constraints = (raw.constraints as string[]).slice();
  }
  if (raw.prior !== undefined) query.prior = checkInputStats(raw.prior, `query file ${file}: field prior`);
  if (raw.integers !== undefined) {
    if (!Array.isArray(raw.integers) || raw.integers.some((x) => typeof x !== 'string')) fail('integers', `expected a list of input names, got ${describe(raw.integers)}`);
    query.integers = (raw.integers as string[]).slice();
  }
  for (const k of ['categorical', 'oneHot'] as const) {
    const v = raw[k];
    if (v === undefined) continue;
    const what = k === 'categorical' ? 'numbers' : 'input names';
    if (!isObject(v)) fail(k, `expected an object {name: [${what}], ...}, got ${describe(v)}`);
    const out: Record<string, (number | string)[]> = {};
    for (const [name, xs] of Object.entries(v as Record<string, unknown>)) {
      const ok = Array.isArray(xs) && xs.length > 0 && xs.every((x) => (k === 'categorical' ? typeof x === 'number' && Number.isFinite(x) : typeof x === 'string'));
      if (!ok) fail(`${k}.${name}`, `expected a non-empty list of ${what}, got ${describe(xs)}`);
      out[name] = (xs as (number | string)[]).slice();
    }
    if (k === 'categorical') query.categorical = out as Record<string, number[]>;
    else query.oneHot = out as Record<string, string[]>;
  }
  if (raw.distance !== undefined) {
    if (raw.distance !== 'l2' && raw.distance !== 'l1' && raw.distance !== 'linf') {
      fail('distance', `expected "l2", "l1" or "linf", got ${describe(raw.distance)}`);
    }
    query.distance = raw.distance as DistanceKind;
  }
  return query;
}

function target(field: string, t: unknown, fail: (field: string, message: string) => never): TargetSpec {
  const expected = 'expected a number (equal to) or one of {"eq": v}, {"range": [lo, hi]}, {"ge": v}, {"le": v}, each with an optional "weight"';
  if (typeof t === 'number') {
    if (!Number.isFinite(t)) fail(field, `${expected}; got ${describe(t)}`);
    return t;
  }
  if (!isObject(t)) return fail(field, `${expected}; got ${describe(t)}`);
  const kinds = ['eq', 'range', 'ge', 'le'].filter((k) => k in t);
  for (const k of Object.keys(t)) if (!['eq', 'range', 'ge', 'le', 'weight'].includes(k)) fail(`${field}.${k}`, `unknown key; ${expected}`);
  if (kinds.length !== 1) fail(field, `${expected}; got ${kinds.length ? `${kinds.join(' and ')} together` : 'none of them'}`);
  const w: { weight?: number } = {};
  if (t.weight !== undefined) {
    if (typeof t.weight !== 'number' || !(t.weight > 0) || !Number.isFinite(t.weight)) fail(`${field}.weight`, `expected a finite number > 0, got ${describe(t.weight)}`);
    w.weight = t.weight as number;
  }
  const k = kinds[0];
  const v = t[k];
  if (k === 'range') {
    if (!Array.isArray(v) || v.length !== 2) return fail(`${field}.range`, `expected [lo, hi], got ${describe(v)}`);
    v.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(`${field}.range[${i}]`, `expected a finite number, got ${describe(x)}`);
    });
    if (v[0] > v[1]) fail(`${field}.range`, `the low end ${v[0]} is above the high end ${v[1]}`);
    return { range: [v[0], v[1]], ...w };
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${field}.${k}`, `expected a finite number, got ${describe(v)}`);
  const x = v as number;
  return k === 'eq' ? { eq: x, ...w } : k === 'ge' ? { ge: x, ...w } : { le: x, ...w };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * The first key that appears twice in one object of valid JSON text (JSON.parse keeps the last
 * silently), with its field path ("want", "bounds.b") and line. A single pass over the tokens:
 * a string right after "{" or "," inside an object is a key. Runs only on text JSON.parse accepted.
 */
export function firstDuplicateKey(text: string): { key: string; path: string; line: number } | null {
  interface Frame {
    keys: Set<string> | null; // null: an array
    path: string;
    expectKey: boolean;
    lastKey: string;
  }
  const stack: Frame[] = [];
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (c === '{' || c === '[') {
      const parent = stack[stack.length - 1];
      const path = !parent ? '' : parent.keys ? join(parent.path, parent.lastKey) : `${parent.path}[]`;
      stack.push({ keys: c === '{' ? new Set() : null, path, expectKey: c === '{', lastKey: '' });
    } else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return { key, path: join(top.path, key), line };
        top.keys.add(key);
        top.lastKey = key;
        top.expectKey = false;
      }
      i = j;
    }
  }
  return null;
}

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);
