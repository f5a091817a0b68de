/**
 * Reading an answers file back for --resume (src/cli/batch/resume.ts): csv-parse against the
 * rows that were written (the oracle), at every cut an interrupted write can leave; damage that
 * is not a cut is refused, not dropped; an interrupted `-o -` run says it cannot be resumed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvLine } from '../src/cli/batch/answers.ts';
import { readAnswerRecords } from '../src/cli/batch/resume.ts';
import { batchCommand, EXIT_INTERRUPTED } from '../src/cli/batch/run.ts';
import { runCli } from '../src/cli/program.ts';

const ADD = 'models/seed-add.json';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ni-batchr-'));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

/** Fields over an alphabet that needs every kind of quoting, non-ASCII included. */
const field = fc.string({ unit: fc.constantFrom('a', 'Z', '1', ',', '"', '\n', '\r', ' ', 'é', '−', '@'), maxLength: 8 });

describe('readAnswerRecords: csv-parse reads back what csvLine wrote', () => {
  it('whole files give every row back; a cut anywhere gives exactly the rows whose line end survived', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }).chain((w) => fc.tuple(fc.array(fc.array(field, { minLength: w, maxLength: w }), { minLength: 1, maxLength: 6 }), fc.nat())),
        ([rows, c]) => {
          const lines = rows.map((r) => Buffer.from(csvLine(r)));
          const bytes = Buffer.concat(lines);
          const whole = readAnswerRecords(bytes, 'x.csv');
          expect(whole.records.map((r) => r.fields)).toEqual(rows);
          expect(whole.tail).toBe(bytes.length);
          const cut = c % (bytes.length + 1);
          const part = readAnswerRecords(bytes.subarray(0, cut), 'x.csv');
          let end = 0,
            k = 0;
          while (k < lines.length && end + lines[k].length <= cut) end += lines[k++].length;
          expect(part.records.map((r) => r.fields)).toEqual(rows.slice(0, k));
          expect(part.tail).toBe(end);
          part.records.forEach((r, i) => expect(bytes.subarray(r.start, r.end).equals(lines[i])).toBe(true));
        },
      ),
      { seed: 20261204, numRuns: 300 },
    );
  });
});

describe('batch --resume: damage is not a cut', () => {
  it('an opening quote never closed before the last row is refused, and nothing is dropped', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,sum\nq1,3,7\nq2,2,5\nq3,3,6\n');
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a])).code).toBe(0);
    const text = readFileSync(a, 'utf8');
    expect(text).not.toMatch(/"/); // so one quote added below is never closed
    const damaged = text.replace('\nq2,', '\n"q2,');
    writeFileSync(a, damaged);
    const r = await run(['batch', ADD, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[bad_argument\]: .*a\.csv, line 3: the answers file is damaged \(a quote opened there is never closed\)/);
    expect(readFileSync(a, 'utf8')).toBe(damaged);
  });

  it('a quote inside an unquoted field: a coded error with the line', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,sum\nq1,3,7\nq2,2,5\n');
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a])).code).toBe(0);
    writeFileSync(a, readFileSync(a, 'utf8').replace('\nq1,', '\nq"1,'));
    const r = await run(['batch', ADD, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[bad_argument\]: .*a\.csv, line 2: the answers file is damaged/);
  });
});

describe('batch -o -: interrupted', () => {
  it('stops after the current query, exit 130, and says the output cannot be resumed', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,sum\nq1,3,7\nq2,2,5\nq3,3,6\n');
    const ac = new AbortController();
    let out = '',
      err = '';
    const code = await batchCommand(
      ADD,
      q,
      { out: '-' },
      { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') },
      { signal: ac.signal, progress: null, onAnswered: (_id, n) => n === 1 && ac.abort() },
    );
    expect(code).toBe(EXIT_INTERRUPTED);
    expect(out.split('\n')).toHaveLength(3); // the header, q1's row, and the final line end
    expect(out).toMatch(/^id,status,.*\nq1,solved,/);
    expect(err).toMatch(/1 of 3 queries answered .*→ standard output/);
    expect(err).toMatch(/interrupted: 1 of 3 queries were answered on standard output; .*cannot be resumed/);
  });
});
