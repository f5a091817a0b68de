/**
 * MILP bench (issue 5, item 4): exact MILP through HiGHS (WebAssembly) on seeded ReLU nets
 * 2-8-8-1 and 2-16-16-1 over the box [−1, 1]².
 *
 * Per net: the time to the proven maximum of the output, to a verified point for a reachable
 * target (the output at a fixed interior point), and to a proof that a target 0.05 above the
 * maximum is unreachable; with the binaries, the relu terms proven stable (no binary) and
 * HiGHS's branch-and-bound nodes. Baseline in the same run: a 401×401 grid search for the
 * maximum (approximate, no proof), and the ratio MILP / grid.
 * Median of RUNS solves after one warm-up (which also loads the wasm). Printed, never asserted.
 */
import { solveMilp, type MilpObjective, type MilpResult } from '../src/certify/milp/run.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { buildProblem, type Problem, type Query } from '../src/problem/query.ts';
import { fmt, rng, StreamTable } from './harness.ts';

const RUNS = 5;
const TIME_LIMIT = 60;
const BOX: Record<string, [number, number]> = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] };

/** Dense ReLU net with Glorot-uniform weights and biases in [−0.5, 0.5], seeded. */
export function reluBenchNet(seed: number, sizes: number[]): Model {
  const r = rng(seed);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * r();
  const nodes: NodeDef[] = [];
  let prev = 'x';
  for (let l = 1; l < sizes.length; l++) {
    const inW = sizes[l - 1],
      out = sizes[l],
      s = Math.sqrt(6 / (inW + out));
    const weight = Array.from({ length: inW * out }, () => u(-s, s));
    const bias = Array.from({ length: out }, () => u(-0.5, 0.5));
    nodes.push({ name: `d${l}`, op: { type: 'dense', units: out, weight, bias }, inputs: [prev] });
    prev = `d${l}`;
    if (l < sizes.length - 1) {
      nodes.push({ name: `a${l}`, op: { type: 'unary', fn: 'relu' }, inputs: [prev] });
      prev = `a${l}`;
    }
  }
  return createModel({ inputs: [{ name: 'x', width: sizes[0] }], nodes, outputs: [{ node: prev, name: 'y' }] });
}

function median(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

async function timeSolve(p: Problem, ob: MilpObjective): Promise<{ ms: number; r: MilpResult }> {
  let r = await solveMilp(p, ob, { timeLimit: TIME_LIMIT });
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    r = await solveMilp(p, ob, { timeLimit: TIME_LIMIT });
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), r };
}

/** The 401×401 grid maximum and its time (ms), the baseline. */
function gridMax(model: Model): { max: number; ms: number } {
  const N = 401;
  const X = new Float64Array(N * N * 2);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) {
      X[(i * N + j) * 2] = -1 + (2 * i) / (N - 1);
      X[(i * N + j) * 2 + 1] = -1 + (2 * j) / (N - 1);
    }
  const Y = new Float64Array(N * N);
  const once = (): number => {
    model.network.evaluate(X, N * N, Y);
    let m = -Infinity;
    for (const y of Y) m = Math.max(m, y);
    return m;
  };
  once();
  const ms: number[] = [];
  let max = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    max = once();
    ms.push(performance.now() - t0);
  }
  return { max, ms: median(ms) };
}

/** Branch-and-bound nodes, as the message reports them. */
function nodes(r: MilpResult): string {
  return /(\d+) branch-and-bound nodes/.exec(r.message)?.[1] ?? '?';
}

export async function runMilpBench(): Promise<void> {
  const table = new StreamTable([
    { title: 'net', width: 10, align: 'left' },
    { title: 'question', width: 22, align: 'left' },
    { title: 'status', width: 10, align: 'left' },
    { title: 'objective / bound', width: 26 },
    { title: 'binaries', width: 8 },
    { title: 'stable', width: 7 },
    { title: 'nodes', width: 6 },
    { title: 'ms', width: 8 },
    { title: '÷ grid', width: 7 },
  ]);
  table.header();
  for (const [label, sizes, seed] of [
    ['2-8-8-1', [2, 8, 8, 1], 101],
    ['2-16-16-1', [2, 16, 16, 1], 202],
  ] as const) {
    const model = reluBenchNet(seed, [...sizes]);
    const grid = gridMax(model);
    table.row([label, 'grid 401² max (base)', '-', fmt(grid.max, 8), '', '', '', fmt(grid.ms), '1']);
    const any: Query = { want: { y: { range: [-1e3, 1e3] } }, bounds: BOX };
    const X = new Float64Array([0.3, -0.4]);
    const reachable = model.network.evaluate(X, 1)[0];
    const cases: [string, Query, MilpObjective][] = [
      ['max output', any, { kind: 'max', output: 'y' }],
      ['feasible target', { want: { y: reachable }, bounds: BOX }, { kind: 'feasibility' }],
    ];
    for (const [q, query, ob] of cases) {
      const { ms, r } = await timeSolve(buildProblem(model, query), ob);
      const value = r.objective !== undefined ? `${fmt(r.objective, 8)} / ${r.bound !== undefined ? fmt(r.bound, 8) : '-'}` : '-';
      table.row([label, q, r.status, value, String(r.binaries), String(r.stableNeurons), nodes(r), fmt(ms), fmt(ms / grid.ms)]);
      if (q === 'max output' && r.objective !== undefined) {
        const { ms: ms2, r: r2 } = await timeSolve(buildProblem(model, { want: { y: r.objective + 0.05 }, bounds: BOX }), { kind: 'feasibility' });
        table.row([
          label,
          'unreachable (max+0.05)',
          r2.status + (r2.provenInfeasible ? '✓' : ''),
          r2.bound !== undefined ? `≥ ${fmt(r2.bound)}` : '-',
          String(r2.binaries),
          String(r2.stableNeurons),
          nodes(r2),
          fmt(ms2),
          fmt(ms2 / grid.ms),
        ]);
      }
    }
    table.rule();
  }
  console.log(`median of ${RUNS} solves after a warm-up; ✓ = provenInfeasible (margin rule in src/certify/milp.ts)`);
}
