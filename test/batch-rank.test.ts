/**
 * batch --rank: the order of a query's solution rows is solve's order for the same query, and
 * the option is kept with the answers (a --resume with another --rank is refused). Oracle: the
 * four exact roots of the problem bank's four-root net (x3 − x4 = ±3, x3 + x4 − 7 = ±1),
 * and the spread rule recomputed here from them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { evenE, FOUR_ROOTS, fourRootNet } from './problems.ts';
import { run } from './util/cli.ts';

const ROOTS = FOUR_ROOTS;

describe('batch --rank', () => {
  it('spread: each next row is the root farthest from the rows before it; the default lists the same four roots; resume keeps the rank', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-rank-'));
    const model = join(dir, 'four.json');
    writeFileSync(model, saveNativeModel(fourRootNet()));
    const q = join(dir, 'q.csv');
    writeFileSync(q, `id,x3,x4,y1,y2\nr,,,${evenE(3)},${evenE(1)}\n`);
    const rows = async (extra: string[]): Promise<number[][]> => {
      const a = join(dir, `a${extra.join('')}.csv`);
      const r = await run(['batch', model, q, '-o', a, '--workers', '1', '--max-evaluations', '100000', ...extra]);
      expect(r.code, r.err).toBe(0);
      const rs = parse(readFileSync(a, 'utf8'), { columns: true }) as Record<string, string>[];
      return rs.map((x) => [Number(x.x3), Number(x.x4)]);
    };
    const near = (p: readonly number[], q: readonly number[]): boolean => Math.hypot(p[0] - q[0], p[1] - q[1]) < 1e-5;
    const auto = await rows([]);
    const spread = await rows(['--rank', 'spread']);
    for (const list of [auto, spread]) {
      expect(list.length).toBe(4);
      for (const root of ROOTS) expect(list.filter((p) => near(p, root)).length, String(root)).toBe(1);
    }
    // the spread rule, from the exact roots: after the first, the farthest (max-min distance) from those before
    const chosen = [ROOTS.find((r) => near(r, spread[0]))!];
    while (chosen.length < 4) {
      const rest = ROOTS.filter((r) => !chosen.includes(r));
      const score = (r: readonly number[]): number => Math.min(...chosen.map((c) => Math.hypot(r[0] - c[0], r[1] - c[1])));
      const best = rest.reduce((b, r) => (score(r) > score(b) ? r : b));
      // ties (equal distances) may go either way: then the row must be one of the tied roots
      const tied = rest.filter((r) => Math.abs(score(r) - score(best)) < 1e-9);
      const got = spread[chosen.length];
      expect(tied.some((r) => near(r, got)), `row ${chosen.length + 1}`).toBe(true);
      chosen.push(tied.find((r) => near(r, got))!);
    }
    // the rank is kept with the answers: resuming with another is refused, naming it
    const a = join(dir, 'a--rankspread.csv');
    const r = await run(['batch', model, q, '-o', a, '--workers', '1', '--resume']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/rank/);
    // plausibility needs a prior: this model has none, so the row is an error row naming --rank
    const bad = await run(['batch', model, q, '-o', join(dir, 'bad.csv'), '--workers', '1', '--rank', 'plausibility']);
    expect(bad.out + bad.err + readFileSync(join(dir, 'bad.csv'), 'utf8')).toMatch(/prior/);
  }, 120_000);
});
