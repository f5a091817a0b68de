/**
 * `solve --query q.json`: the query as a JSON file (docs/query-file.md). Answers are checked
 * against the seed net's closed form by bisection; errors must name the file and the field.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './util/cli.ts';
import { firstDuplicateKey, parseQueryFile } from '../src/cli/queryFile.ts';
import { bisect, seedAddOracle } from './problems.ts';


const ADD = 'models/seed-add.json';
const dir = mkdtempSync(join(tmpdir(), 'ni-query-'));
let n = 0;
function file(text: string): string {
  const f = join(dir, `q${n++}.json`);
  writeFileSync(f, text);
  return f;
}

describe('solve --query', () => {
  const oracle = seedAddOracle();

  it('the seed question from a file: b solves 40·C(3, b) = 7 (bisection on the closed form)', async () => {
    const q = file(JSON.stringify({ format: 'netinvert-query', version: 1, given: { a: 3 }, want: { sum: 7 }, bounds: { b: [0, 10] } }));
    const r = await run(['solve', ADD, '--query', q, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const b = bisect((x) => oracle(3, x) - 7, 0, 10);
    expect(j.solutions).toHaveLength(1);
    expect(Math.abs(j.solutions[0].unknowns.b - b)).toBeLessThanOrEqual(1e-6);
    expect(j.query.bounds[0]).toMatchObject({ input: 'b', lo: 0, hi: 10, source: 'query' });
  });

  it('every target form, weights, closestTo and distance are read', async () => {
    // sum in a range, closest to b = 9: the answer is the largest b with 40·C(3, b) ≤ 7.5
    const q = file(
      JSON.stringify({ given: { a: 3 }, want: { sum: { range: [6.5, 7.5], weight: 2 } }, closestTo: { b: 9 }, distance: 'l1' }),
    );
    const r = await run(['solve', ADD, '--query', q, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const bHi = bisect((x) => oracle(3, x) - 7.5, 0, 10);
    expect(Math.abs(j.closest.unknowns.b - bHi)).toBeLessThanOrEqual(1e-4);
    expect(j.query.distance).toBe('l1');
    for (const [want, ok] of [
      [{ ge: 9 }, (y: number) => y >= 9 - 1e-6],
      [{ le: 2 }, (y: number) => y <= 2 + 1e-6],
      [{ eq: 5 }, (y: number) => Math.abs(y - 5) <= 1e-5],
    ] as const) {
      const s = JSON.parse((await run(['solve', ADD, '--query', file(JSON.stringify({ given: { a: 1 }, want: { sum: want } })), '--json'])).out);
      expect(s.status, JSON.stringify(want)).toBe('solved');
      expect(ok(oracle(1, s.solutions[0].unknowns.b)), JSON.stringify(want)).toBe(true);
    }
  });

  it('the example file in docs/query-file.md is valid and answers its question', async () => {
    const doc = readFileSync('docs/query-file.md', 'utf8');
    const example = /```json\n([\s\S]*?)```/.exec(doc)![1];
    const q = parseQueryFile(example, 'docs example');
    expect(q.want).toBeDefined();
    const r = await run(['solve', 'models/seed-4in2out.json', '--query', file(example), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).status).toBe('solved');
  });

  it('errors name the file and the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ want: { sum: 'seven' } }, 'bad_query', /field want\.sum: expected a number .*"seven"/],
      [{ want: { sum: { eq: 7, ge: 1 } } }, 'bad_query', /field want\.sum: .*eq and ge together/],
      [{ want: { sum: { range: [1, 'x'] } } }, 'bad_query', /field want\.sum\.range\[1\]: expected a finite number/],
      [{ want: { sum: { eq: 7, weight: -1 } } }, 'bad_query', /field want\.sum\.weight: expected a finite number > 0/],
      [{ want: { sum: { equal: 7 } } }, 'bad_query', /field want\.sum\.equal: unknown key/],
      [{ want: { sum: 7 }, given: { a: '3' } }, 'bad_query', /field given\.a: expected a finite number, got "3"/],
      [{ want: { sum: 7 }, bounds: { b: [0] } }, 'bad_query', /field bounds\.b: expected \[lo, hi\]/],
      [{ want: { sum: 7 }, bounds: { b: [0, null] } }, 'bad_query', /field bounds\.b\[1\]: expected a finite number, got null/],
      [{ want: { sum: 7 }, bounds: { b: [5, 1] } }, 'bad_query', /field bounds\.b: the low end 5 is above the high end 1/],
      [{ want: { sum: 7 }, distance: 'l3' }, 'bad_query', /field distance: expected "l2", "l1" or "linf"/],
      [{ wnat: { sum: 7 } }, 'bad_query', /field wnat: unknown field/],
      [{ given: { a: 3 } }, 'bad_query', /no "want" field/],
      [{ want: { sum: 7 }, version: 2 }, 'bad_query', /field version: /],
      [[1, 2], 'bad_query', /expected a JSON object/],
      // names the model does not have: the library's checks, through the file
      [{ want: { total: 7 } }, 'unknown_output', /"total"/],
      [{ want: { sum: 7 }, given: { c: 1 } }, 'unknown_input', /"c"/],
    ];
    for (const [q, code, msg] of cases) {
      const f = file(JSON.stringify(q));
      const r = await run(['solve', ADD, '--query', f]);
      const what = JSON.stringify(q);
      expect(r.code, what).toBe(1);
      expect(r.err.trim().split('\n'), what).toHaveLength(1);
      expect(r.err, what).toMatch(new RegExp(`^error \\[${code}\\]: `));
      expect(r.err, what).toMatch(msg);
      if (code === 'bad_query') expect(r.err, what).toContain(`query file ${f}`);
    }
  });

  it('a name twice in the file is an error (JSON.parse would keep the last)', async () => {
    const f = file('{\n  "given": {"a": 3},\n  "want": {"sum": 7, "sum": 8}\n}\n');
    const r = await run(['solve', ADD, '--query', f]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[duplicate_name\]: query file .*: field want\.sum: "sum" appears twice \(line 3\)/);
    expect(firstDuplicateKey('{"bounds": {"b": [0, 1]}, "want": {"s\\"um": 1, "x": {"s\\"um": 2}}, "given": {"a": 1, "b": 2}}')).toBeNull();
    expect(firstDuplicateKey('[{"a": 1}, {"a": 2, "b": {"c": [1, {"d": 1, "d": 2}]}}]')).toMatchObject({ key: 'd', path: '[].b.c[].d' });
    expect(firstDuplicateKey('{"want": {}, "want": {}}')).toMatchObject({ key: 'want', path: 'want', line: 1 });
  });

  it('not JSON, a missing file, and query flags given alongside --query', async () => {
    const bad = await run(['solve', ADD, '--query', file('{"want": {"sum": 7},}')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error \[bad_query\]: query file .*: not valid JSON/);
    const missing = await run(['solve', ADD, '--query', join(dir, 'nope.json')]);
    expect(missing.err).toMatch(/^error \[bad_query\]: .*nope\.json: no such query file/);
    const q = file(JSON.stringify({ want: { sum: 7 } }));
    for (const extra of [['--given', 'a=3'], ['--want', 'sum=7'], ['--bounds', 'b=0:1'], ['--closest-to', 'b=1'], ['--distance', 'l1']]) {
      const r = await run(['solve', ADD, '--query', q, ...extra]);
      expect(r.code, extra[0]).toBe(1);
      expect(r.err, extra[0]).toMatch(new RegExp(`^error \\[bad_usage\\]: --query .* so ${extra[0]} cannot be given with it`));
    }
    // options that are not part of the query are fine alongside it
    expect((await run(['solve', ADD, '--query', file(JSON.stringify({ given: { a: 3 }, want: { sum: 7 } })), '--atol', '1e-8', '--seed', '2'])).code).toBe(0);
  });
});
