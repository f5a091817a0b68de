/**
 * Linear output specs and disjunctions from the command line: --want with forms, --any, a query
 * file with form keys and anyOf, batch's form / want / any columns, the JSON shape of each
 * constraint, and bad_target messages. Every form value is re-computed here from the outputs a
 * fresh forward pass reports (the coefficients applied by hand).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from './util/cli.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';

const FOUR = 'models/seed-4in2out.json';
const model = loadModelFile(FOUR);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ni-spec-'));
}

/** y1 − 10·y2 at the inputs, by a plain forward pass. */
function form(inputs: Record<string, number>): number {
  const y = model.network.evaluate(Float64Array.from(model.network.inputNames.map((k) => inputs[k])), 1);
  return y[model.network.outputIndex('y1')] - 10 * y[model.network.outputIndex('y2')];
}

describe('solve --want with linear forms', () => {
  it('--json: every solution meets the form; constraints carry value, lo, hi, slack, met', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', 'y1 - 10*y2 <= 5', '--want', 'y1>=9', '--json', '--max-evaluations', '20000']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.status).toBe('solved');
    expect(j.query.targets[0]).toMatchObject({
      output: 'y1 - 10*y2',
      terms: [
        { output: 'y1', coef: 1 },
        { output: 'y2', coef: -10 },
      ],
      kind: 'le',
      lo: null,
      hi: 5,
    });
    expect(j.query.targets[1]).not.toHaveProperty('terms'); // a plain target stays plain
    for (const s of j.solutions) {
      const v = form(s.inputs);
      expect(v).toBeLessThanOrEqual(5 + 1e-6);
      expect(s.outputs.y1).toBeGreaterThanOrEqual(9 - 1e-6);
      expect(Object.keys(s.constraints[0]).sort()).toEqual(['hi', 'lo', 'met', 'slack', 'target', 'value']);
      expect(s.constraints[0]).toMatchObject({ target: 'y1 - 10*y2', lo: null, hi: 5, met: true });
      expect(s.constraints[0].value).toBeCloseTo(v, 12);
      expect(s.constraints[0].slack).toBeCloseTo(5 - v, 12);
      expect(s.constraints[1]).toMatchObject({ target: 'y1', lo: 9, hi: null });
    }
  });

  it('the text report shows each constraint with its value and slack', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', 'y1 - 10*y2 <= 5,y1>=9', '--max-evaluations', '20000']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/constraint\s+value\s+target\s+slack/);
    expect(r.out).toMatch(/y1 - 10\*y2\s+-?[\d.e-]+\s+≤ 5\s+-?[\d.e-]+\s+met/);
  });

  it('--prove: a form out of reach is proven infeasible; the version-3 certificate checks', async () => {
    const dir = tmp();
    const cert = join(dir, 'proof.json');
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', 'y1 - 10*y2 >= 1000', '--certificate', cert, '--max-evaluations', '20000']);
    expect(r.code).toBe(3);
    const c = JSON.parse(readFileSync(cert, 'utf8'));
    expect(c.version).toBe(3);
    expect(c.query.targets[0].terms).toEqual([
      { output: 'y1', coef: 1 },
      { output: 'y2', coef: -10 },
    ]);
    const chk = await run(['check-certificate', FOUR, cert]);
    expect(chk.code, chk.out + chk.err).toBe(0);
    expect(chk.out).toMatch(/y1 - 10\*y2 >= 1000/);
  });
});

describe('solve --any (disjunctions)', () => {
  it('the first clause met answers, and the JSON says which', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--any', 'y1>=1000 ; y2<=0.1, y1>=9', '--json', '--max-evaluations', '20000']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.status).toBe('solved');
    expect(j.query.clause).toEqual({ index: 1, of: 2 });
    expect(j.clauses.map((c: { targets: string[] }) => c.targets)).toEqual([['y1'], ['y2', 'y1']]);
    for (const s of j.solutions) {
      expect(s.outputs.y2).toBeLessThanOrEqual(0.1 + 1e-6);
      expect(s.outputs.y1).toBeGreaterThanOrEqual(9 - 1e-6);
    }
  });

  it('repeated --any adds clauses; with --want every clause also needs the --want targets', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', 'y1>=9', '--any', 'y2>=1000', '--any', 'y2<=0.1', '--json', '--max-evaluations', '20000']);
    const j = JSON.parse(r.out);
    expect(j.query.clause).toEqual({ index: 1, of: 2 });
    expect(j.clauses[1].targets).toEqual(['y1', 'y2']);
  });

  it('--prove: every clause out of reach → infeasible (exit 3), one certificate per clause', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--any', 'y1>=1000 ; y1 - 10*y2 >= 1000', '--prove', '--json', '--max-evaluations', '20000']);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.out);
    expect(j.status).toBe('infeasible');
    expect(j.proven).toBe(true);
    expect(j.clauses.map((c: { certificate: { claim: string } }) => c.certificate.claim)).toEqual(['infeasible', 'infeasible']);
  });
});

describe('query file and batch use the same grammar', () => {
  it('query file: form keys and anyOf', async () => {
    const dir = tmp();
    const q = join(dir, 'q.json');
    writeFileSync(q, JSON.stringify({ given: { x1: 1, x2: 2 }, want: { 'y1 - 10*y2': { le: 5 } }, anyOf: [{ y1: { ge: 1000 } }, { y1: { ge: 9 } }] }));
    const r = await run(['solve', FOUR, '--query', q, '--json', '--max-evaluations', '20000']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.query.clause).toEqual({ index: 1, of: 2 });
    for (const s of j.solutions) expect(form(s.inputs)).toBeLessThanOrEqual(5 + 1e-6);
    writeFileSync(q, JSON.stringify({ want: { 'y1 -': 3 } }));
    const bad = await run(['solve', FOUR, '--query', q]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/bad_target.*"y1 -"/);
  });

  it('batch: a form column, want and any columns; a bad target is an error row naming it', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv'),
      a = join(dir, 'a.csv');
    writeFileSync(q, ['id,x1,x2,y1 - 10*y2,want,any', 'f,1,2,<=5,y1>=9,', 'w,1,2,,"y1 - 10*y2 <= 5, y1 >= 9",', 'd,1,2,,,y1>=1000 ; y2<=0.1', 'e,1,2,<=five,,'].join('\n') + '\n');
    const r = await run(['batch', FOUR, q, '-o', a, '--max-evaluations', '20000']);
    expect(r.code).toBe(1); // the error row
    const rows = parse(readFileSync(a, 'utf8'), { columns: true }) as Record<string, string>[];
    const by = Object.fromEntries(rows.filter((x) => x.solution === '1' || x.status === 'error').map((x) => [x.id, x]));
    for (const id of ['f', 'w']) {
      expect(by[id].status).toBe('solved');
      const inputs = Object.fromEntries(['x1', 'x2', 'x3', 'x4'].map((k) => [k, Number(by[id][k])]));
      expect(form(inputs)).toBeLessThanOrEqual(5 + 1e-6);
      expect(Number(by[id].y1)).toBeGreaterThanOrEqual(9 - 1e-6);
    }
    expect(by.d.status).toBe('solved');
    expect(Number(by.d.y2)).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(by.e.status).toBe('error');
    expect(by.e.message).toMatch(/column "y1 - 10\*y2".*"five" is not a finite number/);
  });

  it('batch refuses a header that is neither a feature nor a form of outputs', async () => {
    const dir = tmp();
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'x1,x2,y1 - z\n1,2,3\n');
    const r = await run(['batch', FOUR, q, '-o', join(dir, 'a.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/"y1 - z".*not an input or output.*linear form/);
  });
});

describe('bad_target: the offending text and the position, on one line', () => {
  for (const [want, mention] of [
    ['y1 - * y2 <= 5', /bad_target.*position 6 of "y1 - \* y2"/],
    ['y1 < 5', /bad_target.*strict "<" is not supported: use "<=".*position 4/],
    ['y1 - 10*y2 >= x', /bad_target.*"x" is not a finite number.*position 15/],
    ['y1 + 3 <= 5', /bad_target.*no constant term/],
    ['y1 - 10*y2', /bad_target.*expected a comparison/],
  ] as const) {
    it(`--want "${want}"`, async () => {
      const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', want]);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(mention);
    });
  }

  it('--json prints the error with its code and position', async () => {
    const r = await run(['solve', FOUR, '--given', 'x1=1,x2=2', '--want', 'y1 - * y2 <= 5', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.error.code).toBe('bad_target');
    expect(j.error.detail.position).toBe(5);
  });
});
