/**
 * CLI defects 4, 7 and 10 (issue "Ship it"): each test here failed before its fix.
 * The CLI runs in-process through runCli, except the Ctrl-C test, which needs a real process.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './util/cli.ts';
import { createModel, type Model } from '../src/model.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { reluNet } from '../bench/certify.bench.ts';


const ADD = 'models/seed-add.json';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ni-cli-'));
}

/** One coded line on stderr, nothing else, exit 1. */
function expectOneCodedLine(r: { code: number; err: string }, code: string, what: string): string {
  expect(r.code, what).toBe(1);
  const lines = r.err.trim().split('\n');
  expect(lines, what).toHaveLength(1);
  expect(lines[0], what).toMatch(new RegExp(`^error \\[${code}\\]: `));
  return lines[0];
}

describe('defect 4: a name given twice is an error, not "the last one wins"', () => {
  it('--given a=3,a=4', async () => {
    const line = expectOneCodedLine(await run(['solve', ADD, '--given', 'a=3,a=4', '--want', 'sum=7']), 'duplicate_name', 'given');
    expect(line).toMatch(/--given/);
    expect(line).toMatch(/"a"/);
  });

  it('--given repeated as two flags', async () => {
    expectOneCodedLine(await run(['solve', ADD, '--given', 'a=3', '--given', 'a=3', '--want', 'sum=7']), 'duplicate_name', 'repeated flag');
  });

  it('--want sum=7,sum=8 and --want sum=7 --want sum>=8', async () => {
    for (const want of [['--want', 'sum=7,sum=8'], ['--want', 'sum=7', '--want', 'sum>=8'], ['--want', 'sum=1:2,sum<=8@2']]) {
      const line = expectOneCodedLine(await run(['solve', ADD, '--given', 'a=3', ...want]), 'duplicate_name', want.join(' '));
      expect(line).toMatch(/--want/);
      expect(line).toMatch(/"sum"/);
    }
  });

  it('a bound given twice, and a reference given twice', async () => {
    const b = expectOneCodedLine(await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--bounds', 'b=0:5,b=1:2']), 'duplicate_name', 'bounds');
    expect(b).toMatch(/--bounds/);
    expect(b).toMatch(/"b"/);
    const c = expectOneCodedLine(
      await run(['solve', ADD, '--given', 'a=3', '--want', 'sum=7', '--closest-to', 'b=1', '--closest-to', 'b=2']),
      'duplicate_name',
      'closest-to',
    );
    expect(c).toMatch(/--closest-to/);
  });
});

describe('defect 7: a MILP time-out says in words what happened and what to try next', () => {
  it('UNKNOWN on a deep ReLU net names --time-limit and --prove and shows no bare "≥ 0.000e+0"', async () => {
    // the Keras-1 test net's shape (5 → 6×45 relu → 5): HiGHS cannot settle it in a second
    const dir = tmp();
    const f = join(dir, 'deep-relu.json');
    const net = reluNet([5, 45, 45, 45, 45, 45, 45, 5], 7);
    writeFileSync(f, saveNativeModel(net));
    const bounds = [0, 1, 2, 3, 4].map((i) => `x[${i}]=-1:1`).join(',');
    const r = await run(['solve', f, '--want', 'y[0]=1.5,y[1]=-1', '--bounds', bounds, '--method', 'milp', '--time-limit', '1']);
    // 270 unstable ReLU terms: HiGHS has not got past its first LPs after a second (0 nodes in 3 s here)
    expect(r.code).toBe(4);
    const head = r.out.split('\n')[0];
    expect(head).toMatch(/^UNKNOWN: /);
    expect(head).not.toMatch(/≥ 0\.000e\+0/);
    expect(head).toMatch(/time limit \(1 s\) ran out/);
    expect(head).toMatch(/--time-limit/);
    expect(head).toMatch(/--prove/);
  }, 60_000);
});

describe('defect 10: --json errors, inspect folding, folders, commander errors, Ctrl-C', () => {
  it('with --json an error is a JSON object on stdout, nothing on stderr', async () => {
    const r = await run(['solve', ADD, '--given', 'c=3', '--want', 'sum=7', '--json']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('');
    const j = JSON.parse(r.out);
    expect(j.error.code).toBe('unknown_input');
    expect(j.error.message).toMatch(/"c"/);
    expect(j.error.detail).toEqual({ input: 'c' });
    // inspect --json, and a commander usage error with --json
    const i = await run(['inspect', 'nope.json', '--json']);
    expect(i.code).toBe(1);
    expect(JSON.parse(i.out).error.code).toBe('bad_model_file');
    const u = await run(['solve', ADD, '--want', 'sum=7', '--json', '--bogus']);
    expect(u.code).toBe(1);
    expect(JSON.parse(u.out).error.code).toBe('bad_usage');
  });

  it('inspect folds long name lists into lines of at most 100 characters, every name kept', async () => {
    const width = 300;
    const model: Model = createModel({
      inputs: [{ name: 'pixels', width }],
      nodes: [{ name: 'd', op: { type: 'dense', units: 2, weight: new Array(width * 2).fill(0.01), bias: [0, 0] }, inputs: ['pixels'] }],
      outputs: [{ node: 'd', name: 'y' }],
    });
    const dir = tmp();
    const f = join(dir, 'wide.json');
    writeFileSync(f, saveNativeModel(model));
    const r = await run(['inspect', f]);
    expect(r.code).toBe(0);
    for (const line of r.out.split('\n')) expect(line.length, line.slice(0, 40)).toBeLessThanOrEqual(100);
    const names = [...r.out.matchAll(/pixels\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(names).toEqual(Array.from({ length: width }, (_, i) => i));
  });

  it('a folder passed as the model gets a hint', async () => {
    const dir = tmp();
    const line = expectOneCodedLine(await run(['solve', dir, '--want', 'y=1']), 'bad_model_file', 'folder');
    expect(line).toMatch(/is a folder/);
    expect(line).toMatch(/model\.json/); // says which file inside to pass
  });

  it("commander's errors are one coded line; --help and --version exit 0", async () => {
    const cases: [string[], RegExp][] = [
      [['solve', ADD, '--want', 'sum=7', '--bogus'], /unknown option '--bogus'/],
      [['solve'], /missing required argument 'model'/],
      [['solvee', ADD], /unknown command 'solvee'.*solve/],
      [['solve', ADD, '--want'], /--want/],
    ];
    for (const [args, msg] of cases) {
      const line = expectOneCodedLine(await run(args), 'bad_usage', args.join(' '));
      expect(line).toMatch(msg);
      expect(line).toMatch(/--help/);
    }
    const h = await run(['solve', '--help']);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/Usage: netinvert solve/);
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.out.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('every command has an example in its --help', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    const section = top.out.slice(top.out.indexOf('Commands:'), top.out.indexOf('Examples:'));
    const commands = [...section.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['solve', 'eval', 'inspect', 'train', 'learn-inverse', 'batch', 'demo']));
    for (const c of commands) {
      const r = await run([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.out, c).toMatch(new RegExp(`Examples?:\\n(?:.*\\n)*? {2}netinvert ${c}\\b`));
    }
  });

  it('Ctrl-C during solve prints an "interrupted" line and exits 130 (through bin/netinvert.mjs, as users run it)', async () => {
    // a target at the top of the output's range, to be proven with an enormous budget: it runs until interrupted
    const dir = tmp();
    const f = join(dir, 'big.json');
    writeFileSync(f, saveNativeModel(reluNet([4, 64, 64, 64, 2], 3, 'tanh')));
    const child = spawn(
      process.execPath,
      ['bin/netinvert.mjs', 'solve', f, '--want', 'y[0]>=1.1549', '--prove', '--max-evaluations', '1e12', '--max-boxes', '1e12', '--time-limit', '1e6', '--verbose'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '',
      err = '',
      sent = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      // the CLI says when the search starts (with --verbose); only then is the handler in place
      if (!sent && /Ctrl-C/.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
    expect(sent).toBe(true);
    expect(signal).toBe(null);
    expect(code).toBe(130);
    expect(err).toMatch(/^interrupted after [\d.]+ s: stopping the search to report the best answer found so far/m);
    // the search stopped at its next budget check and reported what it had: a full report, marked as cut short
    expect(err).toMatch(/^interrupted: the answer above is what the search had found when it was stopped/m);
    expect(out).toMatch(/^[A-Z-]+:? /);
    expect(out).toMatch(/^complete: false$/m);
    expect(out).toMatch(/ran out of budget \(interrupted\)/);
  }, 60_000);

  it('a second Ctrl-C during solve quits at once with the "how to bound a run" line', async () => {
    const dir = tmp();
    const f = join(dir, 'big.json');
    writeFileSync(f, saveNativeModel(reluNet([4, 64, 64, 64, 2], 3, 'tanh')));
    const child = spawn(
      process.execPath,
      ['bin/netinvert.mjs', 'solve', f, '--want', 'y[0]>=1.1549', '--prove', '--max-evaluations', '1e12', '--max-boxes', '1e12', '--time-limit', '1e6', '--verbose'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let err = '',
      sent = 0;
    child.stderr.on('data', (d) => {
      err += d;
      if (sent === 0 && /Ctrl-C stops it/.test(err)) {
        sent = 1;
        child.kill('SIGINT');
      } else if (sent === 1 && /stopping the search/.test(err)) {
        sent = 2;
        child.kill('SIGINT');
      }
    });
    const [code] = await new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
    expect(code).toBe(130);
    // either the second Ctrl-C won the race (no answer, the bounding advice) or the search had already reported
    expect(err).toMatch(/--time-limit S|the answer above is what the search had found/);
  }, 60_000);
});
