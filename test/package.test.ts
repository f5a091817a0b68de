/**
 * The published package, as a user gets it. `npm pack` (which runs `prepare`, i.e. the build
 * into dist/), `npm install <tarball>` into a fresh project in a temporary folder, then, from
 * outside this repository:
 * - the tarball holds dist/ (ESM .js + .d.ts), the example models and nothing else;
 * - the installed `netinvert` bin answers --help and solves the seed question on a copied model;
 * - plain Node (no tsx, no loader) imports `netinvert` and `netinvert/milp` and computes;
 * - a consumer's `tsc` (strict, skipLibCheck off) type-checks against the shipped declarations.
 * Answers are checked against oracles written here: the seed net evaluated by hand from its JSON
 * weights and solved by bisection, and |x| for a hand-built ReLU net.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reluNet } from '../bench/certify.bench.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const WIN = process.platform === 'win32';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program; a non-zero exit is returned, not thrown (the tests look at the code). */
async function sh(file: string, args: string[], cwd: string): Promise<Ran> {
  try {
    const r = await run(file, args, { cwd, maxBuffer: 64 << 20, shell: WIN && file === 'npm' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof x.code !== 'number') throw e;
    return { code: x.code, stdout: x.stdout ?? '', stderr: x.stderr ?? x.message };
  }
}

async function ok(file: string, args: string[], cwd: string): Promise<string> {
  const r = await sh(file, args, cwd);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** The seed net by hand from models/seed-add.json: dense weights are [input][unit], no biases. */
function seedAddByHand(json: string): (a: number, b: number) => number {
  const file = JSON.parse(json) as { nodes: { name: string; op: string; weight?: number[][]; scale?: number[] }[] };
  const node = (name: string) => file.nodes.find((n) => n.name === name)!;
  const W1 = node('hidden').weight!;
  const W2 = node('out').weight!;
  const scale = node('sum').scale![0];
  expect([node('hidden_act').op, node('out_act').op]).toEqual(['bipolar_sigmoid', 'bipolar_sigmoid']);
  // bipolar sigmoid with λ = 1: f(x) = 2 / (1 + e^(−x)) − 1
  const f = (x: number): number => 2 / (1 + Math.exp(-x)) - 1;
  return (a, b) => {
    const h0 = f(a * W1[0][0] + b * W1[1][0]);
    const h1 = f(a * W1[0][1] + b * W1[1][1]);
    return scale * f(h0 * W2[0][0] + h1 * W2[1][0]);
  };
}

/** Every root of g on [lo, hi], located on a fine grid and refined by bisection. */
function rootsByBisection(g: (x: number) => number, lo: number, hi: number, cells = 2000): number[] {
  const roots: number[] = [];
  let x0 = lo;
  let g0 = g(x0);
  for (let i = 1; i <= cells; i++) {
    const x1 = lo + ((hi - lo) * i) / cells;
    const g1 = g(x1);
    if (g0 === 0) roots.push(x0);
    else if (g0 * g1 < 0) {
      let a = x0;
      let b = x1;
      let ga = g0;
      for (let k = 0; k < 200 && b - a > 1e-15 * Math.max(1, Math.abs(a)); k++) {
        const m = 0.5 * (a + b);
        const gm = g(m);
        if (gm === 0) a = b = m;
        else if (ga * gm < 0) b = m;
        else {
          a = m;
          ga = gm;
        }
      }
      roots.push(0.5 * (a + b));
    }
    x0 = x1;
    g0 = g1;
  }
  return roots;
}

/** |x| as a ReLU net: y = relu(x) + relu(−x), x in [−1, 1] (netinvert's own JSON format). */
const ABS_NET = JSON.stringify({
  format: 'netinvert-model',
  version: 1,
  name: 'abs',
  inputs: [{ name: 'x' }],
  nodes: [
    { name: 'h', inputs: ['x'], op: 'dense', units: 2, weight: [[1, -1]], bias: null },
    { name: 'r', inputs: ['h'], op: 'relu' },
    { name: 'y', inputs: ['r'], op: 'dense', units: 1, weight: [[1], [1]], bias: null },
  ],
  outputs: [{ node: 'y', name: 'y' }],
  metadata: { inputRanges: { x: [-1, 1] } },
});

describe('the project is self-contained', () => {
  it('nothing reads the workplace folder beside the clone: third-party fixtures come from test/fixtures/third-party', () => {
    const self = fileURLToPath(import.meta.url);
    const textFile = /\.(ts|mts|js|mjs|cjs|py|sh|json)$/;
    // a parent-relative path to the workplace's shared folder (either slash), join(…, '..', 'shared', …), and the folder name itself
    const bad = [/\.\.[\\/]+shared\b/, /['"]\.\.['"]\s*,\s*['"]shared['"]/, /\bshared[\\/]+fixtures\b/, /['"]shared['"]\s*,\s*['"]fixtures['"]/];
    const hits: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node_modules' && e.name !== 'dist' && !e.name.startsWith('.') && p !== join(ROOT, 'test', 'fixtures')) walk(p);
          continue;
        }
        if (p === self || !(textFile.test(e.name) || dir.endsWith('.ci'))) continue;
        const lines = readFileSync(p, 'utf8').split('\n');
        lines.forEach((line, i) => {
          if (bad.some((re) => re.test(line))) hits.push(`${relative(ROOT, p)}:${i + 1}: ${line.trim()}`);
        });
      }
    };
    walk(ROOT);
    walk(join(ROOT, '.ci'));
    expect(hits).toEqual([]);
  });
});

let tmp = '';
let consumer = '';
let elsewhere = '';
let packed: string[] = [];

describe('the npm package (pack, install into a temporary project, use from elsewhere)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'netinvert-pkg-'));
    // `npm pack` runs `prepare` (the build): the tarball is made from a fresh dist/
    const info = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', tmp], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    packed = info[0].files.map((f) => f.path);
    consumer = join(tmp, 'consumer');
    elsewhere = join(tmp, 'elsewhere');
    mkdirSync(consumer);
    mkdirSync(elsewhere);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, info[0].filename)], consumer);
  }, 300_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('the tarball ships dist/ (.js and .d.ts), the example models and the manifest, and nothing else', () => {
    const allowed = /^(dist\/[\w/.-]+\.(js|d\.ts)|models\/[\w.-]+\.json|package\.json|README\.md|LICENSE(\.md)?)$/;
    expect(packed.filter((p) => !allowed.test(p))).toEqual([]);
    for (const p of ['dist/index.js', 'dist/index.d.ts', 'dist/milp.js', 'dist/milp.d.ts', 'dist/cli/main.js', 'models/seed-add.json', 'models/seed-4in2out.json']) {
      expect(packed).toContain(p);
    }
    // every file the manifest points at is in the installed copy; tsx is not a runtime dependency
    const dir = join(consumer, 'node_modules', 'netinvert');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const targets: string[] = [manifest.main, manifest.types, ...Object.values(manifest.bin as Record<string, string>)];
    for (const e of Object.values(manifest.exports as Record<string, string | Record<string, string>>)) {
      targets.push(...(typeof e === 'string' ? [e] : Object.values(e)));
    }
    for (const t of targets) expect(existsSync(join(dir, t)), t).toBe(true);
    expect(Object.keys(manifest.dependencies)).not.toContain('tsx');
    expect(targets.filter((t) => t.endsWith('.ts') && !t.endsWith('.d.ts'))).toEqual([]);
  });

  it('the installed bin runs from another directory: --help, and the seed question on a copied model', async () => {
    const bin = join(consumer, 'node_modules', '.bin', WIN ? 'netinvert.cmd' : 'netinvert');
    const help = await sh(bin, ['--help'], elsewhere);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: netinvert/);
    expect(help.stdout).toMatch(/\bsolve\b/);
    const version = await sh(bin, ['--version'], elsewhere);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

    const modelJson = readFileSync(join(ROOT, 'models', 'seed-add.json'), 'utf8');
    writeFileSync(join(elsewhere, 'seed-add.json'), modelJson);
    const r = await sh(bin, ['solve', 'seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--json'], elsewhere);
    expect(r.stderr).not.toMatch(/ERR_|at .*\.js:\d+/); // no module errors, no stack trace
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('solved');
    expect(result.complete).toBe(true);

    // oracle: the net by hand, every root of net(3, b) = 7 on b ∈ [0, 10] by bisection
    const net = seedAddByHand(modelJson);
    const roots = rootsByBisection((b) => net(3, b) - 7, 0, 10);
    expect(roots.length).toBe(1);
    expect(result.solutions.length).toBe(1);
    const b = result.solutions[0].unknowns.b as number;
    expect(Math.abs(b - roots[0])).toBeLessThan(1e-8);
    expect(Math.abs(net(3, b) - 7)).toBeLessThan(1e-6);

    // a user mistake through the installed bin: one coded line, exit 1, no stack trace
    const bad = await sh(bin, ['solve', 'seed-add.json', '--given', 'c=3', '--want', 'sum=7'], elsewhere);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown_input.*"c"/);
    expect(bad.stderr.trim().split('\n').length).toBe(1);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('Ctrl-C reaches the installed bin: one "interrupted" line, exit 130', async () => {
    // a target at the top of the output's range, to be proven with an enormous budget: it runs until interrupted
    writeFileSync(join(elsewhere, 'big.json'), saveNativeModel(reluNet([4, 64, 64, 64, 2], 3, 'tanh')));
    const args = ['solve', 'big.json', '--want', 'y[0]>=1.1549', '--prove', '--max-evaluations', '1e12', '--max-boxes', '1e12', '--time-limit', '1e6', '--verbose'];
    const child = spawn(join(consumer, 'node_modules', '.bin', 'netinvert'), args, { cwd: elsewhere, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      // the CLI says when the search starts (with --verbose); only then is its handler in place
      if (!sent && /Ctrl-C/.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((res) => child.on('close', (c, s) => res([c, s])));
    expect(sent).toBe(true);
    expect(signal).toBe(null);
    expect(code).toBe(130);
    expect(err).toMatch(/^interrupted/m);
    expect(err).not.toMatch(/ERR_|\n\s+at /);
    // the installed bin's worker reads the stop flag too: it reports what it had found
    expect(out).toMatch(/^[A-Z-]+:? /);
  }, 120_000);

  it('plain Node imports netinvert and netinvert/milp and computes (the wasm kernel loads from dist)', async () => {
    writeFileSync(join(elsewhere, 'abs.json'), ABS_NET);
    copyFileSync(join(ROOT, 'models', 'seed-add.json'), join(elsewhere, 'seed-add.json'));
    // `node -e` resolves the bare specifiers from its cwd: the consumer project
    const script = `
      const fs = require('node:fs');
      const path = require('node:path');
      const { pathToFileURL } = require('node:url');
      const E = ${JSON.stringify(elsewhere)};
      (async () => {
        const ni = await import('netinvert');
        const milp = await import('netinvert/milp');
        const add = ni.loadNativeModel(fs.readFileSync(path.join(E, 'seed-add.json'), 'utf8'), 'seed-add.json');
        const lm = ni.invert(add, { given: { a: 3 }, want: { sum: 7 } });
        const abs = ni.loadNativeModel(fs.readFileSync(path.join(E, 'abs.json'), 'utf8'), 'abs.json');
        const hit = await milp.invertMilp(abs, { want: { y: 0.5 } });
        const miss = await milp.invertMilp(abs, { want: { y: 1.5 } });
        // the dense kernel module, from the installed dist/ (not an export: reached by its file)
        const k = await import(pathToFileURL(path.join(process.cwd(), 'node_modules/netinvert/dist/graph/kernels.js')).href);
        const R = 16, K = 32, C = 24;
        const A = new Float64Array(R * K).map((_, i) => Math.sin(i));
        const B = new Float64Array(C * K).map((_, i) => Math.cos(3 * i));
        const out = new Float64Array(R * C);
        k.matmulABt(A, B, out, R, K, C, null);
        let diff = 0;
        for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
          let s = 0;
          for (let j = 0; j < K; j++) s += A[r * K + j] * B[c * K + j];
          diff = Math.max(diff, Math.abs(s - out[r * C + c]));
        }
        console.log(JSON.stringify({
          lm: { status: lm.status, b: lm.solutions.map((s) => s.unknowns.b) },
          hit: { status: hit.status, x: hit.solutions.map((s) => s.unknowns.x) },
          miss: { status: miss.status, complete: miss.complete },
          kernel: { available: k.wasmKernelAvailable(), used: k.lastMatmulKernel(), diff },
        }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const out = JSON.parse(await ok(process.execPath, ['-e', script], consumer));

    const net = seedAddByHand(readFileSync(join(ROOT, 'models', 'seed-add.json'), 'utf8'));
    const [root] = rootsByBisection((b) => net(3, b) - 7, 0, 10);
    expect(out.lm.status).toBe('solved');
    expect(out.lm.b.length).toBe(1);
    expect(Math.abs(out.lm.b[0] - root)).toBeLessThan(1e-8);

    // |x| = 0.5 within the default tolerance (atol + rtol·|t| = 1e-6 + 0.5e-6); |x| = 1.5 is out of reach on [−1, 1]
    expect(out.hit.status).toBe('solved');
    expect(out.hit.x.length).toBeGreaterThan(0);
    for (const x of out.hit.x) expect(Math.abs(Math.abs(x) - 0.5)).toBeLessThanOrEqual(1.5e-6);
    expect(out.miss).toEqual({ status: 'infeasible', complete: true });

    expect(out.kernel.available).toBe(true);
    expect(out.kernel.used).toBe('wasm');
    expect(out.kernel.diff).toBeLessThan(1e-12);
  }, 120_000);

  it("a consumer's tsc type-checks against the shipped declarations (nodenext, bundler, node10; skipLibCheck off)", async () => {
    // no @types/node and no node: imports: the library's types must stand on their own
    writeFileSync(
      join(consumer, 'use.ts'),
      [
        "import { invert, loadNativeModel, NetinvertError, type InvertResult, type Model } from 'netinvert';",
        "import { invertMilp, type MilpInvertOptions } from 'netinvert/milp';",
        'declare const text: string;',
        "const model: Model = loadNativeModel(text, 'm.json');",
        'const r: InvertResult = invert(model, { given: { a: 3 }, want: { sum: 7 } });',
        'const options: MilpInvertOptions = {};',
        "const later: Promise<InvertResult> = invertMilp(model, { want: { sum: 7 } }, options);",
        "const e = new NetinvertError('bad_query', 'x');",
        '// the types are real, not any: these must be errors',
        '// @ts-expect-error status is a string union',
        'const n: number = r.status;',
        '// @ts-expect-error a query needs targets of the right type',
        "invert(model, { want: { sum: 'seven' } });",
        'export { later, n, e };',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const configs: Record<string, Record<string, string>> = {
      nodenext: { module: 'nodenext' },
      bundler: { module: 'esnext', moduleResolution: 'bundler' },
      node10: { module: 'esnext', moduleResolution: 'node10' },
    };
    const results = await Promise.all(
      Object.entries(configs).map(async ([name, opts]) => {
        const file = `tsconfig.${name}.json`;
        const compilerOptions = { ...opts, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [] };
        writeFileSync(join(consumer, file), JSON.stringify({ compilerOptions, files: ['use.ts'] }));
        const r = await sh(process.execPath, [tsc, '-p', file], consumer);
        return { name, code: r.code, output: r.stdout + r.stderr };
      }),
    );
    expect(results).toEqual(Object.keys(configs).map((name) => ({ name, code: 0, output: '' })));
  }, 240_000);
});
