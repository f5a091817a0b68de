/**
 * Discrete unknowns and priors in sidecars and batch (issue #11): a sidecar's "integers",
 * "categorical" and "oneHot" declarations are every query's defaults (problem/discrete.ts
 * withDiscreteDefaults), and batch takes the integer / categorical:<input> / one-hot:<group>
 * columns, the --integer / --categorical / --one-hot flags and one --prior for the run.
 * Oracles: the same query with the declarations written in the query (or solve's flags), brute
 * force over every integer of the box with the model's forward pass, the single-thread answers
 * file for --workers 2, and the meta file's check for --resume.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../src/cli/program.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import { applySidecar, parseSidecar } from '../src/formats/sidecar.ts';
import { invert } from '../src/api/invert.ts';
import { NetinvertError } from '../src/errors.ts';
import { freePort, RedisServer, stopWorker, worker } from './util/redis.ts';

const ADD = 'models/seed-add.json';
const FOUR = 'models/seed-4in2out.json';
const seedAdd = loadNativeModel(readFileSync(new URL(`../${ADD}`, import.meta.url)));
const four = loadNativeModel(readFileSync(new URL(`../${FOUR}`, import.meta.url)));
const sumAt = (a: number, b: number): number => seedAdd.network.evaluate(Float64Array.from([a, b]), 1)[0];

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ni-dsbatch-'));

const sidecar = (extra: Record<string, unknown>): Record<string, unknown> => ({ format: 'netinvert-sidecar', version: 1, ...extra });

function errorOf(f: () => unknown): NetinvertError {
  try {
    f();
  } catch (e) {
    if (e instanceof NetinvertError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('sidecar discrete declarations', () => {
  it('a sidecar one-hot group on seed-4in2out gives the answer of solve --one-hot (CLI and library), and survives save/load', async () => {
    const dir = tmp();
    const meta = join(dir, 'four.meta.json');
    writeFileSync(meta, JSON.stringify(sidecar({ oneHot: { kind: ['x2', 'x3', 'x4'] } })));
    const want = ['--want', 'y2<=1.2', '--want', 'y1=4', '--json'];
    const bySidecar = await run(['solve', FOUR, '--meta', meta, ...want]);
    const byFlag = await run(['solve', FOUR, '--one-hot', 'kind=x2,x3,x4', ...want]);
    expect(bySidecar.code, bySidecar.err).toBe(0);
    const a = JSON.parse(bySidecar.out),
      b = JSON.parse(byFlag.out);
    expect(a.status).toBe('solved');
    expect(a.solutions.map((s: { inputs: unknown }) => s.inputs)).toEqual(b.solutions.map((s: { inputs: unknown }) => s.inputs));
    expect(a.discrete.assignments).toBe(3);
    // oracle: the hot columns whose forward pass meets y2 <= 1.2 (y2 does not depend on x1)
    const hot = [[1, 0, 0], [0, 1, 0], [0, 0, 1]].filter((c) => four.network.evaluate(Float64Array.from([1, ...c]), 1)[1] <= 1.2);
    expect(a.solutions.map((s: { inputs: Record<string, number> }) => [s.inputs.x2, s.inputs.x3, s.inputs.x4])).toEqual(hot);
    // the library: invert() on the model with the sidecar applied, and after a native save/load (the queue's path)
    const m = applySidecar(four, parseSidecar(readFileSync(meta)), meta);
    expect(m.metadata.discrete).toEqual({ oneHot: { kind: ['x2', 'x3', 'x4'] } });
    const reloaded = loadNativeModel(saveNativeModel(m));
    expect(reloaded.metadata.discrete).toEqual(m.metadata.discrete);
    const lib = invert(reloaded, { want: { y2: { le: 1.2 }, y1: 4 } });
    expect(lib.solutions.map((s) => [s.inputs.x2, s.inputs.x3, s.inputs.x4])).toEqual(hot);
  });

  it("the query's own declaration wins; given values are checked: an admissible one is solved as given, else a coded error", () => {
    const m = applySidecar(seedAdd, sidecar({ integers: ['b'] }), 's.json');
    expect(m.metadata.discrete).toEqual({ integers: ['b'] });
    const want = { sum: { range: [6.9, 7.1] as [number, number] } };
    // the sidecar's integer b: every integer of [0, 10]
    expect(invert(m, { given: { a: 3 }, want }).discrete?.assignments).toBe(11);
    // the query's categorical b replaces it
    const cat = invert(m, { given: { a: 3 }, categorical: { b: [4, 5] }, want });
    expect(cat.discrete?.assignments).toBe(2);
    expect(cat.solutions.map((s) => s.inputs.b)).toEqual([4]);
    // b given: not an unknown; an integer is admissible, 2.5 is not
    const given = invert(m, { given: { b: 4 }, want });
    expect(given.discrete).toBeUndefined();
    expect(given.status).toBe('solved');
    const e = errorOf(() => invert(m, { given: { b: 2.5 }, want }));
    expect(e.code).toBe('bad_query');
    expect(e.message).toContain('"b"');
    // a one-hot group: given whole and one-hot, fine; not one-hot, or partly given: coded errors naming the group
    const g = applySidecar(four, sidecar({ oneHot: { g: ['x3', 'x4'] } }), 'g.json');
    const wantY = { y1: { ge: -100 } };
    expect(invert(g, { given: { x3: 0, x4: 1 }, want: wantY }).discrete).toBeUndefined();
    expect(invert(g, { want: wantY }).discrete?.assignments).toBe(2);
    for (const given of [{ x3: 1, x4: 1 }, { x3: 0.5, x4: 0.5 }, { x3: 1 }] as Record<string, number>[]) {
      const err = errorOf(() => invert(g, { given, want: wantY }));
      expect(err.code).toBe('bad_query');
      expect(err.message).toContain('one-hot group "g"');
    }
    // no declarations: a model without a sidecar is untouched
    expect(invert(seedAdd, { given: { a: 3 }, want }).discrete).toBeUndefined();
  });

  it('bad sidecar fields give coded errors naming the field and the feature', () => {
    const cases: [Record<string, unknown>, string, string, string][] = [
      [{ integers: ['zzz'] }, 'unknown_input', 'integers', 'zzz'],
      [{ integers: 'b' }, 'bad_sidecar', 'integers', 'list'],
      [{ categorical: { b: ['x'] } }, 'bad_sidecar', 'categorical["b"]', 'finite'],
      [{ categorical: { b: [] } }, 'bad_sidecar', 'categorical["b"]', 'non-empty'],
      [{ categorical: { q: [1] } }, 'unknown_input', 'categorical["q"]', '"q"'],
      [{ oneHot: { g: ['a'] } }, 'bad_sidecar', 'oneHot["g"]', 'at least 2'],
      [{ oneHot: { g: ['a', 'a'] } }, 'bad_sidecar', 'oneHot["g"]', 'twice'],
      [{ oneHot: { g: ['a', 'nope'] } }, 'unknown_input', 'oneHot["g"]', 'nope'],
      [{ integers: ['b'], categorical: { b: [1, 2] } }, 'bad_sidecar', 'categorical["b"]', 'already declared'],
      [{ oneHot: ['a', 'b'] }, 'bad_sidecar', 'oneHot', 'object'],
    ];
    for (const [extra, code, field, words] of cases) {
      const e = errorOf(() => applySidecar(seedAdd, sidecar(extra), 'bad.json'));
      expect(e.code, JSON.stringify(extra)).toBe(code);
      expect(e.detail?.field, JSON.stringify(extra)).toBe(field);
      expect(e.message).toContain(words);
      expect(e.message).toContain('bad.json');
    }
    // a native file's metadata.discrete is checked the same way (the queue ships models as native JSON)
    const native = JSON.parse(saveNativeModel(seedAdd));
    native.metadata.discrete = { oneHot: { g: ['a'] } };
    const ne = errorOf(() => loadNativeModel(JSON.stringify(native), 'n.json'));
    expect(ne.code).toBe('bad_model_file');
    expect(ne.message).toContain('metadata.discrete.oneHot["g"]');
    // JSON's 1e999 is Infinity: not a finite value
    const inf = errorOf(() => applySidecar(seedAdd, parseSidecar('{"format":"netinvert-sidecar","version":1,"categorical":{"b":[1e999]}}'), 'inf.json'));
    expect(inf.code).toBe('bad_sidecar');
    expect(inf.detail?.field).toBe('categorical["b"]');
  });
});

/** The answers CSV as records keyed by column. */
const records = (text: string): Record<string, string>[] => parse(text, { columns: true }) as Record<string, string>[];

describe('batch: discrete columns and flags', () => {
  // every integer b of seed-add's box [0, 10], through the model's forward pass
  const bs = [...Array(11).keys()];
  const QUERIES = 'id,a,b,sum,integer\nin,3,,6.9:7.1,b\nout,3,,7.5,b\n';

  it('an integer column: b = 4 exactly for sum in [6.9, 7.1], and 7.5 proven infeasible with b = 5 the nearest (brute force); --workers 2 writes the same file', async () => {
    const solvedBs = bs.filter((b) => sumAt(3, b) >= 6.9 && sumAt(3, b) <= 7.1);
    expect(solvedBs).toEqual([4]);
    const nearest = bs.reduce((x, y) => (Math.abs(sumAt(3, y) - 7.5) < Math.abs(sumAt(3, x) - 7.5) ? y : x));
    expect(nearest).toBe(5);
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, QUERIES);
    const files: string[] = [];
    for (const w of ['1', '2']) {
      const out = join(dir, `a${w}.csv`);
      const r = await run(['batch', ADD, q, '-o', out, '--prove', '--workers', w]);
      expect(r.code, r.err).toBe(3); // the worst status: infeasible
      files.push(readFileSync(out, 'utf8'));
    }
    expect(files[1]).toBe(files[0]);
    const rows = records(files[0]);
    const solved = rows.filter((r) => r.id === 'in');
    expect(solved.map((r) => [r.status, r.complete, r.b, r.a])).toEqual(solvedBs.map((b) => ['solved', 'true', String(b), '3']));
    expect(Number(solved[0].sum)).toBe(sumAt(3, 4));
    const out = rows.filter((r) => r.id === 'out');
    expect(out).toHaveLength(1);
    expect(out[0].status).toBe('infeasible');
    expect(out[0].complete).toBe('true');
    expect(out[0].message).toContain(`b = ${nearest}`);
  });

  it('--integer for the whole file answers as the integer column does; a row giving b checks it', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,b,sum\nin,3,,6.9:7.1\ngiven,,4,6.9:7.1\nfrac,,2.5,5:6\n');
    const out = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', out, '--integer', 'b', '--workers', '1']);
    expect(r.code, r.err).toBe(1); // the fractional given b is an error row
    const rows = records(readFileSync(out, 'utf8'));
    expect(rows.filter((x) => x.id === 'in').map((x) => x.b)).toEqual(['4']);
    expect(rows.find((x) => x.id === 'given')!.status).toBe('solved');
    const frac = rows.find((x) => x.id === 'frac')!;
    expect(frac.status).toBe('error');
    expect(frac.message).toContain('integer input');
    // the flags are recorded with the answers
    expect(JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')).options.integers).toEqual(['b']);
  });

  it('categorical:<input> and one-hot:<group> columns give the answers of the same query in the library', async () => {
    const dir = tmp();
    const q1 = join(dir, 'cat.csv');
    writeFileSync(q1, 'id,a,sum,categorical:b\nr,3,6.9:7.1,1;4;7\nq,3,6.9:7.1,"1,7"\n');
    const o1 = join(dir, 'cat-a.csv');
    const r1 = await run(['batch', ADD, q1, '-o', o1, '--prove', '--workers', '1']);
    expect(r1.code, r1.err).toBe(3);
    const rows1 = records(readFileSync(o1, 'utf8'));
    const lib = (vals: number[]): string[] =>
      bs.filter((b) => vals.includes(b) && sumAt(3, b) >= 6.9 && sumAt(3, b) <= 7.1).map(String);
    expect(rows1.filter((x) => x.id === 'r').map((x) => x.b)).toEqual(lib([1, 4, 7]));
    expect(rows1.find((x) => x.id === 'q')!.status).toBe('infeasible');
    expect(lib([1, 7])).toEqual([]);

    const q2 = join(dir, 'hot.csv');
    writeFileSync(q2, 'id,x1,y1,y2,one-hot:kind\nk,,4,<=1.2,x2;x3;x4\n');
    const o2 = join(dir, 'hot-a.csv');
    const r2 = await run(['batch', FOUR, q2, '-o', o2, '--workers', '1']);
    expect(r2.code, r2.err).toBe(0);
    const rows2 = records(readFileSync(o2, 'utf8'));
    const want = invert(four, { oneHot: { kind: ['x2', 'x3', 'x4'] }, want: { y2: { le: 1.2 }, y1: 4 } });
    expect(rows2.map((x) => [x.x2, x.x3, x.x4].map(Number))).toEqual(want.solutions.map((s) => [s.inputs.x2, s.inputs.x3, s.inputs.x4]));
  });

  it('a bad discrete column or flag is a coded error naming it', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,sum,categorical:zz\nr,3,7,1;2\n');
    const r = await run(['batch', ADD, q, '-o', join(dir, 'a.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('unknown_input');
    expect(r.err).toContain('categorical:zz');
    writeFileSync(q, 'id,a,sum\nr,3,7\n');
    const f = await run(['batch', ADD, q, '-o', join(dir, 'b.csv'), '--one-hot', 'g=a']);
    expect(f.code).toBe(1);
    expect(f.err).toContain('--one-hot');
  });
});

describe('one-hot groups: one rule wherever a group is declared', () => {
  // a group of one column, and a group naming a column twice, written every way a group is declared
  const oneCol = 'must list at least 2 input features';
  const twice = 'names a column twice';

  it('solve --one-hot, a query file, batch --one-hot, a batch one-hot:<group> cell, a sidecar and invert() all refuse a group of one (and a column twice) with bad_query naming the group', async () => {
    const dir = tmp();
    const want = ['--want', 'sum>=0'];
    for (const [cols, words] of [['a', oneCol], ['a,a', twice]] as const) {
      const solve = await run(['solve', ADD, ...want, '--one-hot', `g=${cols}`]);
      expect(solve.code, solve.out).toBe(1);
      expect(solve.err).toContain('[bad_query]');
      expect(solve.err).toContain('one-hot group "g"');
      expect(solve.err).toContain(words);
      const qf = join(dir, 'q.json');
      writeFileSync(qf, JSON.stringify({ want: { sum: { ge: 0 } }, oneHot: { g: cols.split(',') } }));
      const file = await run(['solve', ADD, '--query', qf]);
      expect(file.code, file.out).toBe(1);
      expect(file.err).toContain('one-hot group "g"');
      expect(file.err).toContain(words);
      const q = join(dir, 'q.csv');
      writeFileSync(q, 'id,b,sum\nr,,>=0\n');
      const flag = await run(['batch', ADD, q, '-o', join(dir, `f${cols.length}.csv`), '--one-hot', `g=${cols}`]);
      expect(flag.code).toBe(1);
      expect(flag.err).toContain('[bad_query]');
      expect(flag.err).toContain('--one-hot["g"]');
      expect(flag.err).toContain(words);
      writeFileSync(q, `id,b,sum,one-hot:g\nr,,>=0,${cols.replace(',', ';')}\n`);
      const cellOut = join(dir, `c${cols.length}.csv`);
      const cell = await run(['batch', ADD, q, '-o', cellOut, '--workers', '1']);
      expect(cell.code).toBe(1);
      const row = records(readFileSync(cellOut, 'utf8'))[0];
      expect(row.status).toBe('error');
      expect(row.message).toContain('one-hot group "g"');
      expect(row.message).toContain(words);
      const side = errorOf(() => applySidecar(seedAdd, sidecar({ oneHot: { g: cols.split(',') } }), 's.json'));
      expect(side.message).toContain(words);
      const lib = errorOf(() => invert(seedAdd, { want: { sum: { ge: 0 } }, oneHot: { g: cols.split(',') } }));
      expect(lib.code).toBe('bad_query');
      expect(lib.detail?.group).toBe('g');
      expect(lib.message).toContain(words);
    }
    // two columns are a group everywhere: the answer puts exactly one of them at 1
    const ok = await run(['solve', ADD, '--want', 'sum>=0', '--one-hot', 'g=a,b', '--bounds', 'a=0:1,b=0:1', '--json']);
    expect(ok.code).toBe(0);
    for (const s of JSON.parse(ok.out).solutions) expect([s.inputs.a, s.inputs.b].sort()).toEqual([0, 1]);
  });
});

describe('batch --prior', () => {
  it('one prior for the run, recorded in the meta file: --resume with another prior is refused, with the same one it goes on', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,b,sum\nr1,,,7\nr2,,,5\n');
    const out = join(dir, 'a.csv');
    const prior = ['--prior-mean', 'a=2,b=5', '--prior-std', 'a=1,b=2'];
    const first = await run(['batch', ADD, q, '-o', out, ...prior, '--workers', '1']);
    expect(first.code, first.err).toBe(0);
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8'));
    expect(meta.options.prior).toMatchObject({ names: ['a', 'b'], mean: [2, 5], std: [1, 2] });
    const before = readFileSync(out, 'utf8');
    expect(records(before).every((r) => r.status === 'solved')).toBe(true);
    const other = await run(['batch', ADD, q, '-o', out, '--prior-mean', 'a=2,b=5', '--prior-std', 'a=1,b=3', '--resume', '--workers', '1']);
    expect(other.code).toBe(1);
    expect(other.err).toContain('resume_mismatch');
    expect(other.err).toContain('--prior');
    const none = await run(['batch', ADD, q, '-o', out, '--resume', '--workers', '1']);
    expect(none.err).toContain('resume_mismatch');
    const same = await run(['batch', ADD, q, '-o', out, ...prior, '--resume', '--workers', '1']);
    expect(same.code, same.err).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('a --prior CSV: its input columns only', async () => {
    const dir = tmp();
    const data = join(dir, 'data.csv');
    writeFileSync(data, 'a,b,sum,label\n1,2,3,x\n2,4,6,y\n3,3,6,z\n4,1,5,w\n');
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,b,sum\nr1,,,7\n');
    const out = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', out, '--prior', data, '--workers', '1']);
    expect(r.code, r.err).toBe(0);
    const meta = JSON.parse(readFileSync(`${out}.meta.json`, 'utf8'));
    expect(meta.options.prior.names).toEqual(['a', 'b']);
    expect(meta.options.prior.mean).toEqual([2.5, 2.5]);
    expect(meta.options.priorArgs).toEqual(['--prior', data]);
  });
});

describe('batch --queue carries the discrete columns, the flags, the sidecar and the prior (real redis-server)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'ni-dsbatch-redis-')));
    await redis.start();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('the collected answers equal a local batch byte for byte', async () => {
    const dir = tmp();
    // the sidecar's one-hot group travels inside the model (native JSON in Redis); the rest in the job
    const meta = join(dir, 'four.meta.json');
    writeFileSync(meta, JSON.stringify(sidecar({ oneHot: { kind: ['x2', 'x3', 'x4'] } })));
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,x1,y1,y2,integer,categorical:x1\nk,,4,<=1.2,,\nn,,3.9:4.1,<=1.2,x1,\nc,,3.9:4.1,,,2;3;4\n');
    const flags = ['--meta', meta, '--prior-mean', 'x1=1,x2=0.3,x3=0.3,x4=0.3', '--prior-std', 'x1=2,x2=1,x3=1,x4=1'];
    const local = join(dir, 'local.csv');
    const l = await run(['batch', FOUR, q, '-o', local, '--workers', '1', ...flags]);
    // the local answers obey the declarations: every solution one-hot in (x2, x3, x4), x1 an integer in row n, 2, 3 or 4 in row c
    const sols = records(readFileSync(local, 'utf8')).filter((r) => r.status === 'solved');
    expect(new Set(sols.map((r) => r.id))).toEqual(new Set(['k', 'n', 'c']));
    for (const r of sols) {
      const hot = [r.x2, r.x3, r.x4].map(Number);
      expect(hot.every((v) => v === 0 || v === 1) && hot.reduce((a: number, b) => a + b, 0) === 1, JSON.stringify(r)).toBe(true);
      if (r.id === 'n') expect(Number.isInteger(Number(r.x1))).toBe(true);
      if (r.id === 'c') expect([2, 3, 4]).toContain(Number(r.x1));
    }
    expect((await run(['batch', FOUR, q, '--queue', redis.url, ...flags])).code).toBe(0);
    const w = worker(redis.url);
    try {
      const out = join(dir, 'queue.csv');
      const r = await run(['batch', FOUR, q, '--queue', redis.url, '--collect', '-o', out, ...flags]);
      expect(r.code, r.err).toBe(l.code);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
    } finally {
      await stopWorker(w);
    }
  }, 90_000);
});
