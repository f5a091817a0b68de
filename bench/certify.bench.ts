/**
 * Certification benchmark (issue 5):
 *  1. time to certify the seed nets (3 + b = 7 unique; the 4-in/2-out list complete) and a
 *     2-16-16-1 ReLU net (max-output target just out of reach: infeasible, with certificate),
 *     and to verify each certificate independently;
 *  2. branch-and-bound against the MILP path on the ReLU nets, same queries, same process;
 *  3. the width of linear-relaxation bounds against interval bounds (mean ratio over boxes), for
 *     the forward symbolic bounds (linear.ts) and CROWN back-substitution (crown.ts);
 *  4. issue 14: `solve --prove --workers N`, wall time of two proofs (an infeasible target on a
 *     2-64-64-1 tanh net; a square system with many roots) on 1 thread and on 2 (real threads,
 *     cli/vnnPool.ts ProofThreadPool, their start-up timed apart); `--quick` skips 1–3.
 * Medians of repeated runs; nothing is asserted.
 */
import { certify } from '../src/api/certify.ts';
import { verifyCertificate } from '../src/certify/proof/certificate.ts';
import { crownBounds } from '../src/certify/bounds/crown.ts';
import { linearBounds } from '../src/certify/bounds/forward.ts';
import { createModel, type Model } from '../src/model.ts';
import { buildProblem, type Query } from '../src/problem/query.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certifyParallel } from '../src/api/certify.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { ProofThreadPool } from '../src/cli/vnnPool.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';

function median(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn: () => void, reps: number): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

export function reluNet(widths: number[], seed: number, act = 'relu'): Model {
  const rand = mulberry32(seed);
  const nodes: Model['graph']['nodes'] = [];
  let prev = 'x';
  for (let l = 1; l < widths.length; l++) {
    const a = widths[l - 1],
      b = widths[l];
    const s = Math.sqrt(6 / (a + b));
    nodes.push({
      name: `d${l}`,
      op: { type: 'dense', units: b, weight: Array.from({ length: a * b }, () => (2 * rand() - 1) * s), bias: Array.from({ length: b }, () => 0.1 * (2 * rand() - 1)) },
      inputs: [prev],
    });
    prev = `d${l}`;
    if (l < widths.length - 1) {
      nodes.push({ name: `a${l}`, op: { type: 'unary', fn: act }, inputs: [prev] });
      prev = `a${l}`;
    }
  }
  return createModel({ inputs: [{ name: 'x', width: widths[0] }], nodes, outputs: [{ node: prev, name: 'y' }] });
}

function gridMax(model: Model, N = 401): number {
  const X = new Float64Array(N * N * 2);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) X.set([-1 + (2 * i) / (N - 1), -1 + (2 * j) / (N - 1)], (i * N + j) * 2);
  const Y = model.network.evaluate(X, N * N);
  let m = -Infinity;
  for (const v of Y) m = Math.max(m, v);
  return m;
}

type MilpModule = {
  solveMilp: (p: ReturnType<typeof buildProblem>, o: { kind: 'feasibility' }, opts: { timeLimit: number }) => Promise<{ status: string; provenInfeasible: boolean; timeMs: number }>;
};

export async function runCertifyBench(): Promise<void> {
  if (!process.argv.includes('--quick')) await runSeedAndMilp();
  await runProveWorkers();
}

/**
 * Issue 14: proofs on 1 thread (certify) and on 2 (certifyParallel with real threads, their
 * start-up timed apart), alternating, the median of 3 runs each; the answers must agree. Two
 * queries: an infeasible target on a 2-64-64-1 tanh net (few boxes, each costly to confirm), and
 * a square system with many isolated roots, sin(W₂·tanh(W₁x + b)) = t (thousands of cheap boxes).
 */
async function runProveWorkers(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'netinvert-bench-'));
  // the model as the threads load it (the same file, so the same hash)
  const saved = (name: string, m: Model): { path: string; model: Model } => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, saveNativeModel(m));
    return { path, model: loadModelFile(path) };
  };
  const tanh = saved('tanh-2-64-64-1', reluNet([2, 64, 64, 1], 3, 'tanh'));
  const rand = mulberry32(5);
  const K = 20000;
  const X = new Float64Array(2 * K);
  for (let i = 0; i < X.length; i++) X[i] = 2 * rand() - 1;
  const Y = tanh.model.network.evaluate(X, K);
  let mx = -Infinity;
  for (const v of Y) mx = Math.max(mx, v);
  const a = 8;
  const roots = saved(
    'sin-tanh-roots',
    createModel({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 2, weight: [a, 0.3 * a, -0.2 * a, a], bias: [0.1, 0.2] }, inputs: ['x'] },
        { name: 's', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
        { name: 'h2', op: { type: 'dense', units: 2, weight: [3 * a, a, -a, 3 * a], bias: [0, 0] }, inputs: ['s'] },
        { name: 'y', op: { type: 'unary', fn: 'sin' }, inputs: ['h2'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    }),
  );
  const box = { 'x[0]': [-1, 1] as [number, number], 'x[1]': [-1, 1] as [number, number] };
  const cases: { name: string; m: { path: string; model: Model }; q: Query }[] = [
    { name: '2-64-64-1 tanh, y >= sampled max + 0.01 (infeasible)', m: tanh, q: { want: { y: { ge: mx + 0.01 } }, bounds: box } },
    { name: 'sin(W2 tanh(W1 x + b)) = (0.3, 0.2), many roots', m: roots, q: { want: { 'y[0]': 0.3, 'y[1]': 0.2 }, bounds: box } },
  ];
  const options = { timeLimit: 120 };
  const rows: string[][] = [['query', '1 thread ms', '2 threads ms', 'speed-up', 'thread start-up ms', 'outcome (1 / 2 threads)']];
  for (const { name, m, q } of cases) {
    const model = m.model;
    const t1: number[] = [],
      t2: number[] = [],
      up: number[] = [];
    const outcomes = new Set<string>();
    const said = (r: ReturnType<typeof certify>): string => `${r.status}${r.status === 'solved' && r.complete ? `, ${r.solutions.length} complete` : ''}`;
    for (let k = 0; k < 3; k++) {
      let t0 = performance.now();
      const one = certify(model, q, options);
      t1.push(performance.now() - t0);
      t0 = performance.now();
      const pool = new ProofThreadPool(2, model.hash, { modelPath: m.path, query: q, tolerance: {}, stop: null });
      let two;
      try {
        // threads loaded first, to tell their start-up from the proof (the CLI overlaps the two)
        await pool.ready();
        up.push(performance.now() - t0);
        const t = performance.now();
        two = await certifyParallel(model, q, pool, options);
        t2.push(performance.now() - t);
      } finally {
        await pool.close();
      }
      const ok = two.certificate && verifyCertificate(model, two.certificate).valid ? ' (verified)' : '';
      outcomes.add(`${said(one)} / ${said(two)}${ok}${two.warnings.length ? ` [${two.warnings.join('; ')}]` : ''}`);
    }
    rows.push([name, median(t1).toFixed(0), median(t2).toFixed(0), (median(t1) / median(t2)).toFixed(2), median(up).toFixed(0), [...outcomes].join('; ')]);
  }
  console.log('\nsolve --prove --workers N (issue 14), box [-1, 1]^2, median of 3 (2 threads: the proof once the threads are loaded; their start-up apart):');
  printTable(rows);
}

async function runSeedAndMilp(): Promise<void> {
  const load = (n: string): Model => loadNativeModel(readFileSync(new URL(`../models/${n}`, import.meta.url), 'utf8'), n);
  const add = load('seed-add.json'),
    m4 = load('seed-4in2out.json');
  const rows: string[][] = [['problem', 'outcome', 'boxes', 'certify ms', 'verify ms']];
  const run = (name: string, model: Model, q: Query): void => {
    const r = certify(model, q);
    const ms = timeIt(() => certify(model, q), 5);
    const vms = r.certificate ? timeIt(() => verifyCertificate(model, r.certificate!), 3) : NaN;
    const ok = r.certificate ? verifyCertificate(model, r.certificate).valid : false;
    rows.push([name, `${r.status}${r.complete ? ', complete' : ''}${ok ? ', verified' : ''}`, String(r.certification?.boxes ?? 0), ms.toFixed(2), vms.toFixed(2)]);
  };
  run('seed add: 3 + b = 7', add, { given: { a: 3 }, want: { sum: 7 } });
  run('seed add: 3 + b = 70', add, { given: { a: 3 }, want: { sum: 70 } });
  run('seed 4-in/2-out', m4, { given: { x1: 1, x2: 2 }, want: { y1: 9.991674991575996, y2: 0.5384203832818371 } });
  const relu = [reluNet([2, 8, 8, 1], 1), reluNet([2, 16, 16, 1], 2)];
  const names = ['2-8-8-1 relu', '2-16-16-1 relu'];
  const gmax = relu.map((m) => gridMax(m));
  relu.forEach((m, i) => run(`${names[i]}: y = grid max + 0.05`, m, { want: { y: gmax[i] + 0.05 }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } }));
  printTable(rows);

  // branch-and-bound against MILP, same queries
  let milp: MilpModule | null = null;
  try {
    milp = (await import('../src/certify/milp/run.ts')) as unknown as MilpModule;
  } catch (e) {
    console.log(`\nMILP path unavailable: ${(e as Error).message}`);
  }
  if (milp) {
    const mrows: string[][] = [['net', 'target', 'B&B ms', 'B&B outcome', 'MILP ms', 'MILP outcome', 'B&B / MILP']];
    for (let i = 0; i < relu.length; i++) {
      for (const off of [0.05, -0.05]) {
        const q: Query = { want: { y: gmax[i] + off }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } };
        const r = certify(relu[i], q);
        const bms = timeIt(() => certify(relu[i], q), 3);
        const p = buildProblem(relu[i], q);
        let mres = await milp.solveMilp(p, { kind: 'feasibility' }, { timeLimit: 30 });
        const mt: number[] = [];
        for (let k = 0; k < 3; k++) {
          const t0 = performance.now();
          mres = await milp.solveMilp(p, { kind: 'feasibility' }, { timeLimit: 30 });
          mt.push(performance.now() - t0);
        }
        const mms = median(mt);
        mrows.push([
          names[i],
          `max ${off > 0 ? '+' : '−'} 0.05`,
          bms.toFixed(1),
          r.status,
          mms.toFixed(1),
          `${mres.status}${mres.provenInfeasible ? ' (proven)' : ''}`,
          (bms / mms).toFixed(2),
        ]);
      }
    }
    console.log('\nbranch-and-bound vs MILP (HiGHS), ReLU nets, box [−1, 1]²:');
    printTable(mrows);
  }

  // linear vs interval bound widths: forward symbolic bounds (linear.ts) and CROWN back-substitution (crown.ts)
  console.log('\nlinear-relaxation bound width / interval bound width (mean over 200 random boxes):');
  const wrows: string[][] = [['net', 'activation', 'bounds', 'mean ratio', 'ms / box']];
  for (const widths of [[2, 16, 16, 1], [2, 16, 16, 16, 1]]) {
    for (const act of ['relu', 'tanh', 'sigmoid', 'gelu']) {
      const m = reluNet(widths, 9, act);
      const p = buildProblem(m, { want: { y: 0 }, bounds: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } });
      const rand = mulberry32(4);
      const K = 200;
      const boxes: { L: Float64Array; H: Float64Array }[] = [];
      for (let k = 0; k < K; k++) {
        const c = [2 * rand() - 1, 2 * rand() - 1],
          r = 0.02 + 0.3 * rand();
        boxes.push({ L: new Float64Array([c[0] - r, c[1] - r]), H: new Float64Array([c[0] + r, c[1] + r]) });
      }
      const kinds = [
        ['forward linear', linearBounds],
        ['CROWN', crownBounds],
      ] as const;
      for (const [name, fn] of kinds) {
        let s = 0;
        const t0 = performance.now();
        for (const { L, H } of boxes) {
          const ib = m.network.bounds(L, H, 1);
          const lb = fn(p, L.slice(), H.slice(), 1);
          s += (lb.hi[0] - lb.lo[0]) / (ib.hi[0] - ib.lo[0]);
        }
        const ms = (performance.now() - t0) / K;
        wrows.push([widths.join('-'), act, name, (s / K).toFixed(3), ms.toFixed(3)]);
      }
    }
  }
  printTable(wrows);
}

function printTable(rows: string[][]): void {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log('  ' + r.map((s, c) => s.padEnd(w[c])).join('  '));
}
