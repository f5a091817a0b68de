/**
 * `netinvert batch`: queries CSV in, answers CSV out, written as it goes, resumable, interruptible.
 * Every run is budgeted by evaluations (the defaults) and seeded, so the answers are deterministic.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../src/cli/program.ts';
import { csvLine } from '../src/cli/batch/answers.ts';
import { parseTargetCell } from '../src/cli/batch/queries.ts';
import { readAnswerRecords } from '../src/cli/batch/resume.ts';
import { batchCommand, batchExitCode, EXIT_INTERRUPTED } from '../src/cli/batch/run.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import type { Query } from '../src/problem/query.ts';

const ADD = 'models/seed-add.json';
const FOUR = 'models/seed-4in2out.json';
const Y1 = '9.991674991575996',
  Y2 = '0.5384203832818371';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ni-batch-'));
}

function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The answers as objects keyed by the header. */
function answers(path: string): Record<string, string>[] {
  return parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
}

const ADD_QUERIES = 'id,a,sum\nq1,3,7\nq2,2,5\nq3,3,70\n';

/** A mixed 4-in/2-out batch: 2 solutions, a 1-D solve, a best compromise, a bad cell, a continuum. */
const FOUR_QUERIES =
  'id,x1,x2,x3,x4,y1,y2\n' +
  `"two, sols",1,2,,,${Y1},${Y2}\n` +
  `"one ""1d""",1,2,5,,${Y1},\n` +
  'far,1,2,,,100,\n' +
  'bad,1,2,,,abc,\n' +
  `near,1,2,,,${Y1}@2,0.1:0.6\n`;

describe('netinvert batch: answers', () => {
  it('answers the seed-add queries, proves the impossible one infeasible, and the values equal certify()', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', a, '--prove']);
    expect(r.code).toBe(3); // worst status: infeasible
    expect(r.out).toMatch(/3 of 3 queries answered .*: 2 solved, 1 infeasible/);
    expect(readFileSync(a, 'utf8').split('\n')[0]).toBe('id,status,complete,max_miss,n_solutions,solution,a,b,sum,message,why,explanation,counterfactual');
    const rows = answers(a);
    expect(rows.map((x) => [x.id, x.status, x.complete, x.n_solutions, x.solution])).toEqual([
      ['q1', 'solved', 'true', '1', '1'],
      ['q2', 'solved', 'true', '1', '1'],
      ['q3', 'infeasible', 'true', '0', ''],
    ]);
    expect(Number(rows[0].b)).toBeCloseTo(4.0118, 3);
    expect(rows[2].b).toBe('');
    expect(rows[2].message).toMatch(/proven: no input/);

    // independent check: the same queries through the library
    const model = loadModelFile(ADD);
    const queries: Query[] = [
      { given: { a: 3 }, want: { sum: 7 } },
      { given: { a: 2 }, want: { sum: 5 } },
    ];
    queries.forEach((query, i) => {
      const res = certify(model, query, { maxEvaluations: 200000, timeLimit: 60, seed: 0, atol: 1e-6, rtol: 1e-6 });
      const s = res.solutions[0];
      expect(Number(rows[i].a)).toBe(s.inputs.a);
      expect(Number(rows[i].b)).toBe(s.inputs.b);
      expect(Number(rows[i].sum)).toBe(s.outputs.sum);
      expect(Number(rows[i].max_miss)).toBe(s.maxMiss);
      // and the written output is the network's output at the written inputs
      const y = model.network.evaluate(Float64Array.of(Number(rows[i].a), Number(rows[i].b)), 1);
      expect(Number(rows[i].sum)).toBeCloseTo(y[0], 12);
    });
  });

  it('writes one row per solution (seed-4in2out: two solutions) with the values invert() returns', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', `x1,x2,y1,y2\n1,2,${Y1},${Y2}\n`);
    const a = join(dir, 'a.csv');
    const r = await run(['batch', FOUR, q, '-o', a]);
    expect(r.code).toBe(0);
    const rows = answers(a);
    expect(rows).toHaveLength(2);
    expect(rows.map((x) => [x.id, x.solution, x.n_solutions])).toEqual([
      ['1', '1', '2'],
      ['1', '2', '2'],
    ]);
    const res = invert(loadModelFile(FOUR), { given: { x1: 1, x2: 2 }, want: { y1: Number(Y1), y2: Number(Y2) } });
    expect(res.solutions).toHaveLength(2);
    res.solutions.forEach((s, i) => {
      for (const k of ['x1', 'x2', 'x3', 'x4']) expect(Number(rows[i][k])).toBe(s.inputs[k]);
      for (const k of ['y1', 'y2']) expect(Number(rows[i][k])).toBe(s.outputs[k]);
    });
    const pts = rows.map((x) => [Math.round(Number(x.x3)), Math.round(Number(x.x4))]);
    expect(pts).toEqual([
      [2, 5],
      [5, 2],
    ]);
  });

  it('a closest:<input> reference gives one row: the closest solution', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', `x1,x2,y1,y2,closest:x3\n1,2,${Y1},${Y2},4.5\n`);
    const a = join(dir, 'a.csv');
    expect((await run(['batch', FOUR, q, '-o', a])).code).toBe(0);
    const rows = answers(a);
    expect(rows).toHaveLength(1);
    expect(rows[0].n_solutions).toBe('2');
    expect(rows[0].solution).toBe('1');
    const res = invert(loadModelFile(FOUR), { given: { x1: 1, x2: 2 }, want: { y1: Number(Y1), y2: Number(Y2) }, closestTo: { x3: 4.5 } });
    expect(Number(rows[0].x3)).toBe(res.closest!.inputs.x3);
    expect(Number(rows[0].x3)).toBeCloseTo(5, 6);
  });

  it('a bad row is an error row with its row number; the others are answered; exit 1', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,a,sum\n1,3,7\n2,abc,5\n3,2,5\n4,3,seven\n5,,\n6,1\n7,3,5:4\n');
    const a = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', a]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/2 solved, 5 error/);
    const rows = answers(a);
    expect(rows.map((x) => x.status)).toEqual(['solved', 'error', 'solved', 'error', 'error', 'error', 'error']);
    expect(rows[1].message).toMatch(/^error \[bad_query\]: row 2 \(line 3\), column "a": "abc" is not a finite number/);
    expect(rows[3].message).toMatch(/row 4 .*column "sum": "seven"/);
    expect(rows[4].message).toMatch(/row 5 .*no target/);
    expect(rows[5].message).toMatch(/row 6 .*2 cells, but the header has 3 columns/);
    expect(rows[6].message).toMatch(/row 7 .*range low end 5 is above the high end 4/);
    for (const x of rows.filter((x) => x.status === 'error')) expect([x.a, x.b, x.sum, x.complete]).toEqual(['', '', '', '']);
  });

  it('the exit code is 0 all solved, 1 any error, else the worst of 2/3/4', async () => {
    expect(batchExitCode([])).toBe(0);
    expect(batchExitCode(['solved', 'solved'])).toBe(0);
    expect(batchExitCode(['solved', 'best-compromise'])).toBe(2);
    expect(batchExitCode(['infeasible', 'best-compromise', 'solved'])).toBe(3);
    expect(batchExitCode(['unknown', 'infeasible', 'best-compromise'])).toBe(4);
    expect(batchExitCode(['unknown', 'error', 'solved'])).toBe(1);
    const dir = tmp();
    const q = file(dir, 'q.csv', `x1,x2,y1,y2\n1,2,${Y1},${Y2}\n1,2,100,\n`);
    expect((await run(['batch', FOUR, q, '-o', join(dir, 'a.csv')])).code).toBe(2);
    expect((await run(['batch', FOUR, q, '-o', join(dir, 'b.csv'), '--max-evaluations', '3'])).code).toBe(4);
  });

  it('target cells use the --want syntax without the name', () => {
    expect(parseTargetCell('7', 'c')).toBe(7);
    expect(parseTargetCell('=7', 'c')).toBe(7);
    expect(parseTargetCell('-1:-0.5', 'c')).toEqual({ range: [-1, -0.5] });
    expect(parseTargetCell('>=0.5@2', 'c')).toEqual({ ge: 0.5, weight: 2 });
    expect(parseTargetCell('<= 2', 'c')).toEqual({ le: 2 });
    expect(parseTargetCell('7@3', 'c')).toEqual({ eq: 7, weight: 3 });
    expect(() => parseTargetCell('>0.5', 'row 1, column "y"')).toThrow(/row 1, column "y": ">0.5" is not a finite number/);
  });
});

describe('netinvert batch: the queries header is checked up front', () => {
  const cases: [string, string, RegExp][] = [
    ['unknown column', 'id,a,c,sum\n1,3,1,7\n', /column "c" is not an input or output of the model .*inputs are: a, b; its outputs are: sum/],
    ['two unknown columns', 'a,c,d,sum\n3,1,1,7\n', /columns "c", "d" are not an input or output/],
    ['closest: of a non-input', 'a,sum,closest:sum\n3,7,1\n', /column "closest:sum" names "sum", which is not an input .*inputs are: a, b/],
    ['duplicate column', 'a,a,sum\n3,3,7\n', /column "a" appears twice/],
    ['no output column', 'a,b\n3,4\n', /no column names an output.*\(outputs: sum\)/],
    ['duplicate id', 'id,a,sum\nx,3,7\nx,2,5\n', /row 2 \(line 3\): id "x" is already used by row 1/],
    ['empty id', 'id,a,sum\n,3,7\n', /row 1 \(line 2\): the id cell is empty/],
    ['empty file', '', /the queries file is empty/],
  ];
  for (const [what, text, re] of cases) {
    it(what, async () => {
      const dir = tmp();
      const q = file(dir, 'queries.csv', text);
      const a = join(dir, 'a.csv');
      const r = await run(['batch', ADD, q, '-o', a]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error \[[a-z_]+\]: /);
      expect(r.err).toMatch(re);
      if (what !== 'empty file') expect(r.err).toContain('queries.csv');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(a)).toBe(false); // nothing written before the file is known good
    });
  }

  it('bad options are refused before anything is written', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = join(dir, 'a.csv');
    for (const args of [
      ['batch', ADD, q],
      ['batch', ADD, q, '-o', a, '--method', 'sgd'],
      ['batch', ADD, q, '-o', a, '--bounds', 'zz=0:1'],
      ['batch', ADD, q, '-o', a, '--bounds', 'b=5:1'],
      ['batch', ADD, q, '-o', a, '--seed', 'x'],
      ['batch', ADD, join(dir, 'nope.csv'), '-o', a],
    ]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/^error \[[a-z_]+\]: /);
      expect(existsSync(a)).toBe(false);
    }
  });
});

describe('netinvert batch: written as it goes, resumable', () => {
  async function full(dir: string): Promise<{ q: string; text: string; meta: string }> {
    const q = file(dir, 'q.csv', FOUR_QUERIES);
    const a = join(dir, 'full.csv');
    expect((await run(['batch', FOUR, q, '-o', a])).code).toBe(1);
    return { q, text: readFileSync(a, 'utf8'), meta: readFileSync(`${a}.meta.json`, 'utf8') };
  }

  /** An answers file with the given text, and the meta file the run that wrote it left next to it. */
  function answersFile(dir: string, name: string, text: string, meta: string): string {
    file(dir, `${name}.meta.json`, meta);
    return file(dir, name, text);
  }

  it('the mixed batch: quoted ids, several rows per query, every status', async () => {
    const { text } = await full(tmp());
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect([...new Set(rows.map((x) => `${x.id}:${x.status}`))]).toEqual([
      'two, sols:solved',
      'one "1d":solved',
      'far:best-compromise',
      'bad:error',
      'near:solved',
    ]);
    expect(rows.filter((x) => x.id === 'near')).toHaveLength(10);
    expect(rows.find((x) => x.id === 'far')!.x3).not.toBe(''); // the best point found
    expect(text.endsWith('\n')).toBe(true);
  });

  it('refuses to overwrite a non-empty answers file without --resume', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = file(dir, 'a.csv', 'precious\n');
    const r = await run(['batch', ADD, q, '-o', a]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[bad_argument\]: .*a\.csv already exists and is not empty; pass --resume to continue it, or remove the file/);
    expect(readFileSync(a, 'utf8')).toBe('precious\n');
    // an empty file is fine
    const e = file(dir, 'e.csv', '');
    expect((await run(['batch', ADD, q, '-o', e])).code).toBe(3);
  });

  it('--resume after a cut at every line end and mid-line gives the uninterrupted file', async () => {
    const dir = tmp();
    const { q, text, meta } = await full(dir);
    const ends: number[] = [];
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') ends.push(i + 1);
    const starts = [0, ...ends.slice(0, -1)];
    const cuts = new Set<number>();
    starts.forEach((s, k) => {
      cuts.add(s); // the first k lines, whole
      cuts.add(s + Math.floor((ends[k] - s) / 2)); // and half of the next
    });
    cuts.add(text.length);
    const questions = text.indexOf('"one ""1d""",'); // a cut inside a quoted id
    cuts.add(questions + 3);
    let n = 0;
    for (const cut of [...cuts].sort((x, y) => x - y)) {
      const a = answersFile(dir, `cut${n++}.csv`, text.slice(0, cut), meta);
      const r = await run(['batch', FOUR, q, '-o', a, '--resume']);
      expect(r.code, `cut at ${cut}`).toBe(1);
      expect(readFileSync(a, 'utf8'), `cut at ${cut}`).toBe(text);
      if (cut > 0 && !text.slice(0, cut).endsWith('\n')) expect(r.err, `cut at ${cut}`).toMatch(/discarding .*a partly written last line/);
    }
  });

  it('--resume skips the ids already answered, and redoes a query whose rows were cut short', async () => {
    const dir = tmp();
    const { q, text, meta } = await full(dir);
    const lines = text.split('\n');
    // header + both rows of "two, sols" + the row of "one ""1d""": 2 ids done
    let a = answersFile(dir, 'a.csv', lines.slice(0, 4).join('\n') + '\n', meta);
    let r = await run(['batch', FOUR, q, '-o', a, '--resume']);
    expect(r.out).toMatch(/5 of 5 queries answered \(2 answered by an earlier run, 3 now\)/);
    expect(readFileSync(a, 'utf8')).toBe(text);
    // header + the first row of "two, sols" only: that query is answered again
    a = answersFile(dir, 'b.csv', lines.slice(0, 2).join('\n') + '\n', meta);
    r = await run(['batch', FOUR, q, '-o', a, '--resume']);
    expect(r.err).toMatch(/discarding the incomplete answer of id "two, sols"/);
    expect(r.out).toMatch(/\(0 answered by an earlier run, 5 now\)/);
    expect(readFileSync(a, 'utf8')).toBe(text);
    // a finished file: nothing to do, same exit code
    r = await run(['batch', FOUR, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/\(5 answered by an earlier run, 0 now\)/);
    expect(readFileSync(a, 'utf8')).toBe(text);
  });

  it('--resume refuses an answers file of another model or another queries file', async () => {
    const dir = tmp();
    const { q } = await full(dir);
    const other = file(dir, 'other.csv', 'id,status\nx,solved\n');
    let r = await run(['batch', FOUR, q, '-o', other, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/its header .* is not the one this model's answers have/);
    const stranger = file(dir, 's.csv', csvLine(['id', 'status', 'complete', 'max_miss', 'n_solutions', 'solution', 'x1', 'x2', 'x3', 'x4', 'y1', 'y2', 'message', 'why', 'explanation', 'counterfactual']) + 'zz,error,,,,,,,,,,,m,,,\n');
    r = await run(['batch', FOUR, q, '-o', stranger, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/answers id "zz", which is not in .*q\.csv/);
  });

  it('stops after the current query when aborted (as on SIGINT): a consistent file, exit 130, and --resume finishes it', async () => {
    const dir = tmp();
    const { q, text } = await full(dir);
    const a = join(dir, 'a.csv');
    const ac = new AbortController();
    let out = '',
      err = '';
    const before = process.listenerCount('SIGINT');
    let during = -1;
    const code = await batchCommand(
      FOUR,
      q,
      { out: a },
      { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') },
      {
        signal: ac.signal,
        progress: null,
        onAnswered: (id, done) => {
          during = process.listenerCount('SIGINT');
          // the query's rows are on disk, whole, before the next query starts
          const now = readFileSync(a, 'utf8');
          expect(now.endsWith('\n')).toBe(true);
          expect(answers(a).filter((x) => x.id === id).length).toBeGreaterThan(0);
          expect(text.startsWith(now)).toBe(true);
          if (done === 2) ac.abort();
        },
      },
    );
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(code).toBe(130);
    expect(during).toBe(before + 1);
    expect(process.listenerCount('SIGINT')).toBe(before); // removed afterwards
    const partial = readFileSync(a, 'utf8');
    expect(partial).toBe(text.split('\n').slice(0, 4).join('\n') + '\n'); // header + the first 2 queries' 3 rows
    expect(out).toMatch(/2 of 5 queries answered/);
    expect(err).toMatch(/interrupted: 2 of 5 queries are answered/);
    expect(err).toMatch(/netinvert batch models\/seed-4in2out\.json .* --resume/);
    const r = await run(['batch', FOUR, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(readFileSync(a, 'utf8')).toBe(text);
  });

  it('the SIGINT/SIGTERM handler only sets the stop flag; it is there only while the command runs', async () => {
    const dir = tmp();
    const { q, text } = await full(dir);
    const a = join(dir, 'a.csv');
    const sigint = process.listeners('SIGINT'),
      sigterm = process.listeners('SIGTERM');
    const code = await batchCommand(
      FOUR,
      q,
      { out: a },
      { out: () => {}, err: () => {} },
      {
        progress: null,
        onAnswered: (_id, done) => {
          if (done !== 1) return;
          const added = process.listeners('SIGTERM').filter((l) => !sigterm.includes(l));
          expect(added).toHaveLength(1);
          (added[0] as () => void)(); // what the signal would do, without sending one
        },
      },
    );
    expect(code).toBe(130);
    expect(readFileSync(a, 'utf8')).toBe(text.split('\n').slice(0, 3).join('\n') + '\n');
    expect(process.listeners('SIGINT')).toEqual(sigint);
    expect(process.listeners('SIGTERM')).toEqual(sigterm);
  });

  it('shows a progress line on the progress sink and clears it at the end', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const writes: string[] = [];
    const code = await batchCommand(ADD, q, { out: join(dir, 'a.csv') }, { out: () => {}, err: () => {} }, {
      progress: { write: (s: string) => writes.push(s) },
      progressEveryMs: 0,
    });
    expect(code).toBe(3);
    expect(writes.some((w) => /batch: 1\/3 queries \(1 solved\)/.test(w))).toBe(true);
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });

  it('CSV fields are quoted per RFC 4180 and read back', () => {
    const fields = ['plain', 'a,b', 'say "hi"', 'two\nlines', ' edge', ''];
    const line = csvLine(fields);
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines"," edge",\n');
    const { records, tail } = readAnswerRecords(Buffer.from(line + 'partial,"unfinished'), 'x.csv');
    expect(records.map((r) => r.fields)).toEqual([fields]);
    expect(tail).toBe(Buffer.byteLength(line));
    expect(parse(line)).toEqual([fields]);
  });
});
