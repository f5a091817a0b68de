/**
 * The one options table (solve/options.ts): its defaults are what the library, every command's
 * help and batch use; validateOptions and the one number reader refuse what they must; and
 * certifyResult answers a Problem and a search with a new result, leaving the search as it was.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { certifyResult } from '../src/certify/certify.ts';
import { isNetinvertError } from '../src/errors.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { parseInteger, parseNumber } from '../src/cli/parse.ts';
import { buildProblem } from '../src/problem/query.ts';
import { solveProblem } from '../src/solve/invert.ts';
import { INVERT_DEFAULTS, SOLVER_OPTIONS, validateOptions, type SolverOptionName } from '../src/solve/options.ts';
import { run } from './util/cli.ts';

const seedAdd = () => loadNativeModel(readFileSync('models/seed-add.json', 'utf8'), 'seed-add.json');

function codeOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isNetinvertError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a NetinvertError, got none');
}

describe('the options table', () => {
  it('INVERT_DEFAULTS and validateOptions({}) are the table, one entry per option', () => {
    const names = SOLVER_OPTIONS.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    const all = validateOptions({});
    for (const o of SOLVER_OPTIONS) {
      expect(all[o.name]).toBe(o.default);
      expect(INVERT_DEFAULTS[o.name]).toBe(o.default);
      expect(o.meaning.length).toBeGreaterThan(10);
    }
    // one work budget: the search's and the proof's default are the same number
    expect(INVERT_DEFAULTS.maxEvaluations).toBe(200_000);
  });

  it('each bad value is a bad_query error naming the option (by key, or by flag for the CLI)', () => {
    const bad: [SolverOptionName, unknown][] = [
      ['method', 'newton'],
      ['atol', -1],
      ['atol', NaN],
      ['atol', Infinity],
      ['rtol', -1e-9],
      ['seed', 1.5],
      ['maxEvaluations', 0],
      ['timeLimit', 0],
      ['timeLimit', -5],
      ['maxStarts', 0],
      ['maxRepresentatives', 2.5],
      ['maxBoxes', 0],
      ['maxBoxes', '10'],
      ['explainBoxes', -1],
      ['explainBoxes', 1.5],
    ];
    for (const [name, v] of bad) {
      const lib = codeOf(() => validateOptions({ [name]: v }));
      expect(lib.code, `${name}=${String(v)}`).toBe('bad_query');
      expect(lib.message.startsWith(`${name} must be`), lib.message).toBe(true);
      const flag = SOLVER_OPTIONS.find((o) => o.name === name)!.flag;
      expect(codeOf(() => validateOptions({ [name]: v }, 'cli')).message.startsWith(`${flag} must be`)).toBe(true);
    }
    // the edges that are allowed
    expect(validateOptions({ atol: 0, timeLimit: Infinity, seed: -3, method: 'adam' })).toMatchObject({ atol: 0, timeLimit: Infinity, seed: -3, method: 'adam' });
  });

  it('the library refuses a bad option before any work, with the same rule', () => {
    const m = seedAdd();
    expect(codeOf(() => invert(m, { given: { a: 3 }, want: { sum: 7 } }, { maxEvaluations: -1 })).message).toMatch(/^maxEvaluations must be a number > 0/);
    expect(codeOf(() => certify(m, { given: { a: 3 }, want: { sum: 7 } }, { maxBoxes: 0.5 })).message).toMatch(/^maxBoxes must be a whole number/);
  });
});

describe('the one number reader of the CLI', () => {
  it('reads decimals and exponents; refuses blank, non-finite and junk text', () => {
    expect(parseNumber('1e-3', '--atol')).toBe(0.001);
    expect(parseNumber(' -2.5 ', '--x')).toBe(-2.5);
    for (const s of [' ', '', 'Infinity', '-Infinity', 'NaN', '1,5', '0x', 'abc']) {
      const e = codeOf(() => parseNumber(s, '--atol'));
      expect(e.code).toBe('bad_query');
      expect(e.message).toBe(`--atol: "${s}" is not a finite number`);
    }
    expect(parseInteger('12', '--width', { min: 1 })).toBe(12);
    expect(codeOf(() => parseInteger('1.5', '--width', { min: 1, code: 'bad_usage', unit: 'pixels' }))).toEqual({
      code: 'bad_usage',
      message: '--width must be a whole number of pixels, 1 or more (got "1.5")',
    });
    expect(codeOf(() => parseInteger(' ', '--n', { min: 0 })).code).toBe('bad_query');
  });

  it("solve --atol ' ' is a bad_query error, not a tolerance of 0", async () => {
    for (const flag of ['--atol', '--rtol', '--max-evaluations', '--time-limit', '--seed', '--max-boxes']) {
      const r = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', flag, ' ']);
      expect(r.code, flag).toBe(1);
      expect(r.err).toContain(`error [bad_query]: ${flag}: " " is not a finite number`);
    }
    const seed = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--seed', '0.5']);
    expect(seed.err).toContain('error [bad_query]: --seed must be a whole number');
  });

  it('batch reads its options with the same reader and rules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ni-options-'));
    const q = join(dir, 'q.csv');
    writeFileSync(q, 'id,a,sum\nq1,3,7\n');
    for (const [flag, v, text] of [
      ['--atol', ' ', '--atol: " " is not a finite number'],
      ['--seed', '1.5', '--seed must be a whole number'],
      ['--max-boxes', '0', '--max-boxes must be a whole number ≥ 1'],
      ['--method', 'newton', '--method must be lm, adam or milp'],
    ]) {
      const r = await run(['batch', 'models/seed-add.json', q, '-o', join(dir, 'a.csv'), flag, v]);
      expect(r.code, flag).toBe(1);
      expect(r.err, flag).toContain(`error [bad_query]: ${text}`);
    }
  });
});

describe('help text comes from the table', () => {
  it('solve, plot and batch list each option with its meaning and default', async () => {
    for (const cmd of ['solve', 'plot', 'batch']) {
      const r = await run([cmd, '--help']);
      const text = (r.out + r.err).replace(/\s+/g, ' ');
      for (const o of SOLVER_OPTIONS) {
        if (o.name === 'maxStarts' || o.name === 'maxRepresentatives' || o.name === 'explainBoxes') continue;
        // batch has no --rank yet: its answers file keeps its settings for --resume, and rank is not among them
        if (cmd === 'batch' && o.name === 'rank') continue;
        expect(text, `${cmd} ${o.flag}`).toContain(`${o.flag} ${o.arg}`);
        expect(text, `${cmd} ${o.flag}`).toContain(o.meaning.split(' ').slice(0, 3).join(' '));
      }
      expect(text).toContain('(default: "200000")');
      expect(text).toContain('(default: "1e-6")');
    }
  });
});

describe('certifyResult(problem, search)', () => {
  it('returns a new result and leaves the search untouched; it agrees with certify()', () => {
    const m = seedAdd();
    for (const query of [{ given: { a: 3 }, want: { sum: 70 } }, { given: { a: 3 }, want: { sum: 7 } }]) {
      const problem = buildProblem(m, query);
      const search = solveProblem(problem, { seed: 0 });
      const before = JSON.stringify(search);
      const proven = certifyResult(problem, search, { seed: 0 });
      expect(JSON.stringify(search)).toBe(before);
      expect(proven).not.toBe(search);
      expect(proven.method).toBe(`${search.method} + branch-and-bound`);
      expect(proven.certification).toBeDefined();
      expect(search.certification).toBeUndefined();
      // the oracle: the public certify(), which builds its own Problem and searches itself
      const whole = certify(m, query, { seed: 0 });
      expect(proven.status).toBe(whole.status);
      expect(proven.complete).toBe(whole.complete);
      expect(proven.solutions.map((s) => s.unknowns)).toEqual(whole.solutions.map((s) => s.unknowns));
      expect(!!proven.certificate).toBe(!!whole.certificate);
    }
    // sum = 70 is out of reach of a + b on [0, 10]²: proven infeasible, with a certificate
    const p = buildProblem(m, { given: { a: 3 }, want: { sum: 70 } });
    const r = certifyResult(p, solveProblem(p));
    expect(r.status).toBe('infeasible');
    expect(r.certificate?.claim).toBe('infeasible');
  });
});
