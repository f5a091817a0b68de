/** Parsing of the CLI's small value languages: name=value lists, targets, bounds. */
import { NetinvertError } from '../errors.ts';
import type { TargetSpec } from '../problem/query.ts';

function num(s: string, what: string): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new NetinvertError('bad_query', `${what}: "${s}" is not a finite number`);
  return v;
}

/** Split "a=1,b=2" (also accepts repeated flags joined by the caller). Names may contain [ ]. */
function items(list: string[]): string[] {
  return list
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** --given a=3,b=4 */
export function parseAssignments(list: string[], flag: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items(list)) {
    const i = it.indexOf('=');
    if (i <= 0) throw new NetinvertError('bad_query', `${flag}: expected name=value, got "${it}"`);
    const name = it.slice(0, i).trim();
    out[name] = num(it.slice(i + 1), `${flag} ${name}`);
  }
  return out;
}

/**
 * --want targets:  y=7   y=0.1:0.3 (range)   y>=0.5   y<=2   with an optional weight suffix @w
 * (e.g. "sum=7@2").
 */
export function parseTargets(list: string[]): Record<string, TargetSpec> {
  const out: Record<string, TargetSpec> = {};
  for (const raw of items(list)) {
    let it = raw,
      weight: number | undefined;
    const at = it.lastIndexOf('@');
    if (at > 0) {
      weight = num(it.slice(at + 1), `--want ${raw}: weight`);
      it = it.slice(0, at);
    }
    const m = /^(.+?)(>=|<=|=)(.+)$/.exec(it);
    if (!m) throw new NetinvertError('bad_query', `--want: expected name=value, name=lo:hi, name>=v or name<=v, got "${raw}"`);
    const name = m[1].trim(),
      op = m[2],
      rhs = m[3].trim();
    const w = weight === undefined ? {} : { weight };
    if (op === '>=') out[name] = { ge: num(rhs, `--want ${name}`), ...w };
    else if (op === '<=') out[name] = { le: num(rhs, `--want ${name}`), ...w };
    else {
      const c = rhs.indexOf(':', 1);
      if (c > 0) out[name] = { range: [num(rhs.slice(0, c), `--want ${name} low end`), num(rhs.slice(c + 1), `--want ${name} high end`)], ...w };
      else out[name] = weight === undefined ? num(rhs, `--want ${name}`) : { eq: num(rhs, `--want ${name}`), weight };
    }
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
    const c = rhs.indexOf(':', 1);
    if (c <= 0) throw new NetinvertError('bad_bounds', `--bounds ${name}: expected lo:hi, got "${rhs}"`);
    out[name] = [num(rhs.slice(0, c), `--bounds ${name} low end`), num(rhs.slice(c + 1), `--bounds ${name} high end`)];
  }
  return out;
}
