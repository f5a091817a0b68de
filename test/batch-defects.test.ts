/**
 * `netinvert batch`: the answers file carries the model and the options (defect 3), `-o -`,
 * `--method milp` and duplicate query columns (defect 10). Every check runs the CLI in-process.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../src/cli/program.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { invertMilp } from '../src/api/milp.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { createModel } from '../src/model.ts';

const ADD = 'models/seed-add.json';
const ADD_QUERIES = 'id,a,sum\nq1,3,7\nq2,2,5\nq3,3,70\n';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ni-batchd-'));

function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const rowsOf = (text: string): Record<string, string>[] => parse(text, { columns: true }) as Record<string, string>[];

/** A full run, then the file cut back to its header and first query: what an interrupted run leaves. */
async function interrupted(dir: string, extra: string[] = []): Promise<{ q: string; a: string; cut: string }> {
  const q = file(dir, 'q.csv', ADD_QUERIES);
  const a = join(dir, 'a.csv');
  const r = await run(['batch', ADD, q, '-o', a, ...extra]);
  expect(r.code, r.err).toBe(3);
  const cut = readFileSync(a, 'utf8').split('\n').slice(0, 2).join('\n') + '\n';
  writeFileSync(a, cut);
  return { q, a, cut };
}

describe('batch --resume refuses answers written with another model or other options (defect 3)', () => {
  const options: [string, string[], RegExp][] = [
    ['--atol', ['--atol', '1e-3'], /--atol: 0\.000001 when the file was started, 0\.001 now/],
    ['--method', ['--method', 'adam'], /--method: lm when the file was started, adam now/],
    ['--seed', ['--seed', '7'], /--seed: 0 when the file was started, 7 now/],
    ['--bounds', ['--bounds', 'b=0:5'], /--bounds: \(none\) when the file was started, b=0:5 now/],
    ['--prove', ['--prove'], /--prove: off when the file was started, on now/],
    ['--max-evaluations', ['--max-evaluations', '5000'], /--max-evaluations: 200000 when .*, 5000 now/],
  ];
  for (const [what, extra, re] of options) {
    it(`another ${what}: a coded error naming the option, and the file is left alone`, async () => {
      const dir = tmp();
      const { q, a, cut } = await interrupted(dir);
      const r = await run(['batch', ADD, q, '-o', a, '--resume', ...extra]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error \[resume_mismatch\]: /);
      expect(r.err).toMatch(re);
      expect(r.err).toContain('a.csv');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(readFileSync(a, 'utf8')).toBe(cut);
    });
  }

  it('another model (same names, other weights): refused, naming both hashes', async () => {
    const dir = tmp();
    const { q, a, cut } = await interrupted(dir);
    const json = JSON.parse(readFileSync(ADD, 'utf8'));
    const affine = json.nodes.find((n: { op: string }) => n.op === 'affine');
    affine.scale = [41];
    const other = file(dir, 'other.json', JSON.stringify(json));
    const want = loadModelFile(ADD).hash,
      got = loadModelFile(other).hash;
    expect(got).not.toBe(want);
    const r = await run(['batch', other, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[resume_mismatch\]: .*another model/);
    expect(r.err).toContain(want);
    expect(r.err).toContain(got);
    expect(readFileSync(a, 'utf8')).toBe(cut);
  });

  it('a changed queries file (same ids, another target): refused', async () => {
    const dir = tmp();
    const { q, a, cut } = await interrupted(dir);
    writeFileSync(q, ADD_QUERIES.replace('q1,3,7', 'q1,3,8'));
    const r = await run(['batch', ADD, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[resume_mismatch\]: .*queries file .* changed/);
    expect(readFileSync(a, 'utf8')).toBe(cut);
  });

  it('the same options, spelled differently or moved files, resume and finish the file', async () => {
    const dir = tmp();
    const { q, a } = await interrupted(dir, ['--atol', '1e-6', '--bounds', 'b=0:10']);
    const full = join(dir, 'full.csv');
    expect((await run(['batch', ADD, q, '-o', full, '--bounds', 'b=0:10'])).code).toBe(3);
    const copy = file(dir, 'copy.csv', readFileSync(q, 'utf8')); // the same queries under another name
    const r = await run(['batch', ADD, copy, '-o', a, '--resume', '--atol', '0.000001', '--bounds', 'b=0.0:1e1', '--rtol', '1e-6']);
    expect(r.code, r.err).toBe(3);
    expect(r.out).toMatch(/\(1 answered by an earlier run, 2 now\)/);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(full, 'utf8'));
  });

  it('the meta file: written next to the answers, atomically, with the model hash and every option', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a, '--atol', '1e-5', '--bounds', 'b=1:9'])).code).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(['a.csv', 'a.csv.meta.json', 'q.csv']); // no temporary file left
    const meta = JSON.parse(readFileSync(`${a}.meta.json`, 'utf8'));
    expect(meta.format).toBe('netinvert-batch-answers');
    expect(meta.version).toBe(1);
    expect(meta.model.hash).toBe(loadModelFile(ADD).hash);
    expect(meta.model.inputRanges).toEqual({ a: [0, 10], b: [0, 10] });
    expect(meta.queries.file).toBe(q);
    expect(meta.options).toEqual({
      method: 'lm',
      atol: 1e-5,
      rtol: 1e-6,
      seed: 0,
      maxEvaluations: 200000,
      timeLimit: 60,
      maxBoxes: 100000,
      explainBoxes: 500,
      distance: 'l2',
      prove: false,
      bounds: { b: [1, 9] },
    });
    // the answers file itself stays plain CSV: its first line is the header
    expect(readFileSync(a, 'utf8').split('\n')[0]).toBe('id,status,complete,max_miss,n_solutions,solution,a,b,sum,message,why,explanation,counterfactual');
  });

  it('answers with no meta file (removed, or written by an older netinvert): refused, not guessed', async () => {
    const dir = tmp();
    const { q, a, cut } = await interrupted(dir);
    const { rmSync } = await import('node:fs');
    rmSync(`${a}.meta.json`);
    const r = await run(['batch', ADD, q, '-o', a, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[resume_mismatch\]: .*a\.csv\.meta\.json.*(missing|no such)/);
    expect(readFileSync(a, 'utf8')).toBe(cut);
  });

  it('a damaged meta file: a coded error naming it', async () => {
    const dir = tmp();
    const { q, a, cut } = await interrupted(dir);
    for (const text of ['{not json', '{"format":"other","version":1}', '[]']) {
      writeFileSync(`${a}.meta.json`, text);
      const r = await run(['batch', ADD, q, '-o', a, '--resume']);
      expect(r.code, text).toBe(1);
      expect(r.err, text).toMatch(/^error \[[a-z_]+\]: .*a\.csv\.meta\.json/);
      expect(readFileSync(a, 'utf8')).toBe(cut);
    }
  });

  it('a fresh run replaces a stale meta file left next to an empty answers file', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = file(dir, 'a.csv', '');
    writeFileSync(`${a}.meta.json`, '{"stale":true}');
    expect((await run(['batch', ADD, q, '-o', a, '--seed', '3'])).code).toBe(3);
    expect(JSON.parse(readFileSync(`${a}.meta.json`, 'utf8')).options.seed).toBe(3);
  });
});

describe('batch -o - writes the answers to standard output (defect 10)', () => {
  it('the CSV goes to stdout, the summary to stderr, and no file named "-" is made', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = join(dir, 'a.csv');
    const ref = await run(['batch', ADD, q, '-o', a]);
    expect(ref.code).toBe(3);
    const cwdDash = existsSync('-');
    const r = await run(['batch', ADD, q, '-o', '-']);
    expect(r.code).toBe(3);
    expect(existsSync('-')).toBe(cwdDash);
    expect(r.out).toBe(readFileSync(a, 'utf8'));
    expect(r.err).toMatch(/batch: 3 of 3 queries answered .*→ standard output/);
  });

  it('--resume with -o - is refused: there is no file to resume', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const r = await run(['batch', ADD, q, '-o', '-', '--resume']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[bad_argument\]: .*--resume .*-o -/);
    expect(r.out).toBe('');
  });
});

describe('batch --method milp (defect 10)', () => {
  /** y = relu(a + b − 1): for a given, y = t > 0 has the one root b = t + 1 − a; y < 0 has none. */
  function reluNet(dir: string): string {
    const model = createModel({
      inputs: [
        { name: 'a', width: 1 },
        { name: 'b', width: 1 },
      ],
      nodes: [
        { name: 'ab', op: { type: 'concat' }, inputs: ['a', 'b'] },
        { name: 'd', op: { type: 'dense', units: 1, weight: [1, 1], bias: [-1] }, inputs: ['ab'] },
        { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['d'] },
      ],
      outputs: [{ node: 'r', name: 'y' }],
    });
    return file(dir, 'relu.json', saveNativeModel(model));
  }

  it('answers each row exactly: the closed-form root, a proven infeasible row, the values invertMilp gives', async () => {
    const dir = tmp();
    const m = reluNet(dir);
    const q = file(dir, 'q.csv', 'id,a,b,y\nr1,0.3,,0.5\nr2,0.25,,1.5\nneg,0.3,,-1\n');
    const a = join(dir, 'a.csv');
    const r = await run(['batch', m, q, '-o', a, '--method', 'milp', '--bounds', 'b=-3:3']);
    expect(r.code, r.err).toBe(3);
    const rows = rowsOf(readFileSync(a, 'utf8'));
    expect(rows.map((x) => [x.id, x.status])).toEqual([
      ['r1', 'solved'],
      ['r2', 'solved'],
      ['neg', 'infeasible'],
    ]);
    expect(rows[2].complete).toBe('true');
    const model = loadModelFile(m);
    const cases: [number, number][] = [
      [0.3, 0.5],
      [0.25, 1.5],
    ];
    for (let i = 0; i < 2; i++) {
      const [ai, t] = cases[i];
      // the closed form b = t + 1 − a, within the target's tolerance (dy/db = 1 there)
      expect(Math.abs(Number(rows[i].b) - (t + 1 - ai))).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(t) + 1e-12);
      const y = model.network.evaluate(Float64Array.of(Number(rows[i].a), Number(rows[i].b)), 1)[0];
      expect(Math.abs(y - t)).toBeLessThanOrEqual(1e-6 + 1e-6 * Math.abs(t));
      const lib = await invertMilp(model, { given: { a: ai }, want: { y: t }, bounds: { b: [-3, 3] } }, { seed: 0, atol: 1e-6, rtol: 1e-6 });
      expect(Number(rows[i].b)).toBe(lib.solutions[0].inputs.b);
    }
    const meta = JSON.parse(readFileSync(`${a}.meta.json`, 'utf8'));
    expect(meta.options.method).toBe('milp');
  });

  it('a smooth net with --method milp is refused up front, before anything is written', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', ADD_QUERIES);
    const a = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', a, '--method', 'milp']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error \[unsupported_op\]: .*--method milp needs a piecewise-linear net.*--method lm/);
    expect(existsSync(a)).toBe(false);
  });
});

describe('batch: a name given twice in the queries header is a coded error (defect 10)', () => {
  const cases: [string, string, RegExp][] = [
    ['closest: twice, spelled differently', 'a,sum,closest:b,closest: b\n3,7,1,5\n', /column "closest: b" names the same input \(b\) as column "closest:b"/],
    ['closest: twice, in quotes', 'a,sum,"closest:b","closest:  b"\n3,7,5,1\n', /column "closest:  b" names the same input \(b\) as column "closest:b"/],
  ];
  for (const [what, text, re] of cases) {
    it(what, async () => {
      const dir = tmp();
      const q = file(dir, 'queries.csv', text);
      const a = join(dir, 'a.csv');
      const r = await run(['batch', ADD, q, '-o', a]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error \[bad_query\]: .*queries\.csv, line 1: /);
      expect(r.err).toMatch(re);
      expect(existsSync(a)).toBe(false);
    });
  }
});
