/**
 * `netinvert batch --workers N` (issue 14, part 1): N threads answer the queries at once, and the
 * answers file is the one a single thread writes, byte for byte. Oracles: the single-thread run,
 * `invert`/`certify` called directly on each row's query in reverse order (so no answer can depend
 * on the order queries are taken), and a forward pass of the model at every solved row.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../src/cli/program.ts';
import { answerRows, csvLine } from '../src/cli/batch/answers.ts';
import { readSettings } from '../src/cli/batch/options.ts';
import { readQueries, rowQuery } from '../src/cli/batch/queries.ts';
import { batchCommand, EXIT_INTERRUPTED } from '../src/cli/batch/run.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { certify } from '../src/api/certify.ts';
import { answerQuery, querySeed, solver } from '../src/cli/batch/solveQuery.ts';
import { BatchPool, type Arrival } from '../src/cli/batch/pool.ts';

const ADD = 'models/seed-add.json';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ni-workers-'));
}

/** n queries on seed-add (sum = a + b, a and b in [0, 10]): solvable, infeasible, ranges, a bad cell. */
function queries(n = 24): string {
  let t = 'id,a,b,sum\n';
  for (let i = 0; i < n; i++) {
    if (i === 7) t += `q${i},1,,abc\n`; // a bad cell: an error row
    else if (i % 5 === 3) t += `q${i},${i % 10},,${40 + i}\n`; // above what the net reaches: infeasible
    else if (i % 4 === 1) t += `q${i},,${(i * 0.37) % 10},${(i % 7) + 2}:${(i % 7) + 3}\n`;
    else t += `q${i},${(i * 1.3) % 10},,${(i % 9) + 1.5}\n`;
  }
  return t;
}

describe('batch --workers', () => {
  it('2 and 3 threads write the file 1 thread writes, byte for byte; each row is what certify gives that query alone', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, queries(12));
    const files: string[] = [];
    for (const w of ['1', '2', '3']) {
      const a = join(dir, `a${w}.csv`);
      const r = await run(['batch', ADD, q, '-o', a, '--prove', '--workers', w]);
      expect(r.code, r.err).toBe(1); // the bad cell is an error row
      files.push(readFileSync(a, 'utf8'));
    }
    expect(files[1]).toBe(files[0]);
    expect(files[2]).toBe(files[0]);

    // independent of order: each query answered alone, last row first, in this thread
    const model = loadModelFile(ADD);
    const s = readSettings({ prove: true }, model);
    const { layout, rows } = readQueries(queries(12), model, q);
    const rowsOf = new Map<string, string>();
    for (const row of [...rows].reverse()) {
      let text: string;
      try {
        const result = await certify(model, rowQuery(layout, row, s), { ...s, method: 'lm', seed: querySeed(s.seed, row.id) });
        text = answerRows(model, row.id, result, false).map(csvLine).join('');
      } catch {
        text = 'error';
      }
      rowsOf.set(row.id, text);
    }
    const got = parse(files[0], { columns: true }) as Record<string, string>[];
    expect(new Set(got.map((r) => r.id)).size).toBe(12);
    for (const [id, text] of rowsOf) {
      const mine = got.filter((r) => r.id === id);
      if (text === 'error') {
        expect(mine.map((r) => r.status)).toEqual(['error']);
        continue;
      }
      const lines = files[0].split('\n').filter((l) => l.startsWith(`${id},`));
      expect(lines.map((l) => l + '\n').join('')).toBe(text);
    }
    // a forward pass at every solved row meets its target
    const net = model.network;
    for (const r of got.filter((x) => x.status === 'solved')) {
      const y = net.evaluate(new Float64Array([Number(r.a), Number(r.b)]), 1)[0];
      const target = rows.find((x) => x.id === r.id)!.cells[3];
      const [lo, hi] = target.includes(':') ? target.split(':').map(Number) : [Number(target), Number(target)];
      expect(y).toBeGreaterThanOrEqual(lo - 1e-5 * Math.max(1, Math.abs(lo)));
      expect(y).toBeLessThanOrEqual(hi + 1e-5 * Math.max(1, Math.abs(hi)));
    }
    expect(got.filter((x) => x.status === 'infeasible').length).toBeGreaterThan(0);
  }, 120_000);

  it('interrupted with 2 threads: the queries under way finish, the file is consistent, and --resume completes it', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, queries());
    const ref = join(dir, 'ref.csv');
    expect((await run(['batch', ADD, q, '-o', ref, '--workers', '1'])).code).toBe(1);
    const a = join(dir, 'a.csv');
    const ac = new AbortController();
    let err = '';
    const code = await batchCommand(ADD, q, { out: a, workers: 2 }, { out: () => {}, err: (s) => (err += s) }, {
      signal: ac.signal,
      progress: null,
      onAnswered: (_id, done) => {
        if (done === 5) ac.abort();
      },
    });
    expect(code, err).toBe(EXIT_INTERRUPTED);
    expect(err).toMatch(/--resume/);
    const partial = parse(readFileSync(a, 'utf8'), { columns: true }) as Record<string, string>[];
    const ids = new Set(partial.map((x) => x.id)).size;
    expect(ids).toBeGreaterThanOrEqual(5);
    expect(ids).toBeLessThan(24);
    const r = await run(['batch', ADD, q, '-o', a, '--resume', '--workers', '2']);
    expect(r.code).toBe(1);
    // every query once, and each query's rows are those of the one-thread run
    const lines = (t: string): string[] => t.trimEnd().split('\n');
    expect(lines(readFileSync(a, 'utf8')).sort()).toEqual(lines(readFileSync(ref, 'utf8')).sort());
  }, 120_000);

  it('the progress line shows queries/s and an ETA', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, queries());
    const writes: string[] = [];
    await batchCommand(ADD, q, { out: join(dir, 'a.csv'), workers: 2 }, { out: () => {}, err: () => {} }, {
      progress: { write: (s: string) => writes.push(s) },
      progressEveryMs: 0,
    });
    expect(writes.some((w) => /batch: \d+\/24 queries \(.*\), [\d.]+ s, [\d.]+ queries\/s, ETA \d+ s/.test(w))).toBe(true);
  }, 60_000);

  it('before any query is timed, each thread gets one chunk: two queries on two threads go one to each', async () => {
    // (the pool once sent both to the first thread, two chunks ahead, and a pair of --prove
    // queries took as long on two threads as on one). Oracle for the answers: answerQuery on this
    // thread, one by one.
    const model = loadModelFile(ADD);
    const { layout, rows } = readQueries('id,a,b,sum\nq0,2,,7\nq1,,3,9.5\n', model, 'q.csv');
    const settings = readSettings({ prove: true }, model);
    const pool = new BatchPool(2, model, { modelPath: ADD, settings, layout });
    const got: Arrival[] = [];
    try {
      await pool.ready();
      await pool.run(rows, (a) => got.push(...a), () => false);
    } finally {
      await pool.close();
    }
    expect(got.map((a) => a.i).sort()).toEqual([0, 1]);
    expect(new Set(got.map((a) => a.thread))).toEqual(new Set([0, 1]));
    const run = await solver(settings);
    for (const a of got) expect(a.answer).toEqual(await answerQuery(model, layout, rows[a.i], settings, run));
  });

  it('--workers must be a whole number >= 1: a coded error naming the option', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, queries());
    for (const w of ['0', '1.5', 'two']) {
      const r = await run(['batch', ADD, q, '-o', join(dir, 'a.csv'), '--workers', w]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/--workers must be a whole number/);
    }
  });
});
