/** Parsing of the CLI's small value languages: numbers, name=value lists, targets, bounds. */
import { availableParallelism } from 'node:os';
import { NetinvertError, type ErrorCode } from '../errors.ts';
import type { TargetSpec } from '../problem/query.ts';
import { parseAnyList, parseTargetList, parseTargetSpec } from '../problem/targets.ts';

/**
 * THE number reader of the command line: a finite decimal, or a coded error naming `what`.
 * Blank text is refused (Number(' ') would be 0, so `--atol ' '` would silently mean 0).
 */
export function parseNumber(v: unknown, what: string, o: { code?: ErrorCode; hint?: string } = {}): number {
  const t = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const x = t === '' ? NaN : Number(t);
  if (!Number.isFinite(x)) throw new NetinvertError(o.code ?? 'bad_query', `${what}: "${String(v)}" is not a finite number${o.hint ? `; ${o.hint}` : ''}`, { value: String(v) });
  return x;
}

/** A whole number ≥ min (`unit` names what it counts: "pixels"); `hint` is added to the error. */
export function parseInteger(v: unknown, what: string, o: { min: number; code?: ErrorCode; unit?: string; hint?: string }): number {
  const t = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const x = t === '' ? NaN : Number(t);
  if (!Number.isSafeInteger(x) || x < o.min) {
    throw new NetinvertError(o.code ?? 'bad_query', `${what} must be a whole number${o.unit ? ` of ${o.unit}` : ''}, ${o.min} or more (got "${String(v)}")${o.hint ? `; ${o.hint}` : ''}`, {
      value: String(v),
    });
  }
  return x;
}

const num = (s: string, what: string): number => parseNumber(s, what);

/** Split "a=1,b=2" (also accepts repeated flags joined by the caller). Names may contain [ ]. */
function items(list: string[]): string[] {
  return list
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A name may appear once per flag (repeated flags included): the last one must not silently win. */
function once(seen: Record<string, unknown>, name: string, flag: string): void {
  if (Object.hasOwn(seen, name)) {
    throw new NetinvertError('duplicate_name', `${flag}: "${name}" is given twice; give each name once`, { flag, name });
  }
}

/** --only-increase a,b (repeatable): a list of names, each once. */
export function parseNames(list: string[], flag: string): string[] {
  const seen: Record<string, true> = {};
  for (const it of items(list)) {
    once(seen, it, flag);
    seen[it] = true;
  }
  return Object.keys(seen);
}

/** --given a=3,b=4 */
export function parseAssignments(list: string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items(list)) {
    const i = it.indexOf('=');
    if (i <= 0) throw new NetinvertError('bad_query', `${flag}: expected name=value, got "${it}"`);
    const name = it.slice(0, i).trim();
    once(out, name, flag);
    out[name] = num(it.slice(i + 1), `${flag} ${name}`);
  }
  return out;
}

/**
 * --want targets: y=7, y=0.1:0.3 (range), y>=0.5, y<=2, and linear forms of outputs
 * ("y0 - y1 <= 0", "2*y0 + y3 >= 1.5"), each with an optional weight suffix @w (e.g. "sum=7@2").
 * The grammar is problem/targets.ts's, shared with the query file and batch.
 */
export function parseTargets(list: string[]): Record<string, TargetSpec> {
  return parseTargetList(list, '--want');
}

/** --any "clause ; clause" (repeatable): a disjunction of conjunctions (problem/targets.ts). */
export function parseAny(list: string[]): Record<string, TargetSpec>[] {
  return parseAnyList(list, '--any');
}

/**
 * One target without its left-hand side: "=7", "=0.1:0.3" (range), ">=0.5", "<=2", each with an
 * optional weight suffix "@w". `what` names the target in errors ("--want sum", or a batch cell).
 */
export function parseTarget(spec: string, what: string): TargetSpec {
  return parseTargetSpec(spec, what);
}

/**
 * --categorical thickness=1,2.5,4 and --one-hot color=red,green,blue (repeatable): one
 * name=v1,v2,... per flag, the values numbers (values: 'number') or input names ('name').
 */
export function parseValueLists(list: string[], flag: string, values: 'number'): Record<string, number[]>;
export function parseValueLists(list: string[], flag: string, values: 'name'): Record<string, string[]>;
export function parseValueLists(list: string[], flag: string, values: 'number' | 'name'): Record<string, (number | string)[]> {
  const out: Record<string, (number | string)[]> = {};
  for (const raw of list) {
    const i = raw.indexOf('=');
    const name = i > 0 ? raw.slice(0, i).trim() : '';
    if (!name) throw new NetinvertError('bad_query', `${flag}: expected name=${values === 'number' ? 'v1,v2,...' : 'input1,input2,...'}, got "${raw}"`);
    once(out, name, flag);
    const parts = raw
      .slice(i + 1)
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (parts.length === 0) throw new NetinvertError('bad_query', `${flag} ${name}: lists no ${values === 'number' ? 'values' : 'inputs'}; give at least one after "="`);
    out[name] = values === 'number' ? parts.map((x) => num(x, `${flag} ${name}`)) : parts;
  }
  return out;
}

/** --bounds x3=-1:1,x4=0:10 */
export function parseBounds(list: string[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const it of items(list)) {
    const i = it.indexOf('=');
    if (i <= 0) throw new NetinvertError('bad_bounds', `--bounds: expected name=lo:hi, got "${it}"`);
    const name = it.slice(0, i).trim(),
      rhs = it.slice(i + 1);
    once(out, name, '--bounds');
    const c = rhs.indexOf(':', 1);
    if (c <= 0) throw new NetinvertError('bad_bounds', `--bounds ${name}: expected lo:hi, got "${rhs}"`);
    out[name] = [num(rhs.slice(0, c), `--bounds ${name} low end`), num(rhs.slice(c + 1), `--bounds ${name} high end`)];
  }
  return out;
}

/** The default of batch --workers: the cores this process may use. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** --workers: a whole number >= 1 (a caller that gives none gets 1: the main thread alone). */
export function readWorkers(v: unknown, defaultHint = `the number of cores (${defaultWorkers()})`): number {
  if (v === undefined) return 1;
  return parseInteger(v, '--workers', { min: 1, code: 'bad_argument', unit: 'threads', hint: `the default is ${defaultHint}` });
}
