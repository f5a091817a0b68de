/**
 * Solve benchmark: LM against Adam (the thread's backpropagation answer) in the same process.
 *
 * 1. Per-query latency on the seed question (3 + b = 7 on models/seed-add.json), full answer
 *    (status, verified solution, completeness proof), median of repeated batches. Adam runs the
 *    same query through the multi-start with its fixed settings (src/solve/adam.ts).
 * 2. Random reachable queries on a 4-64-64-2 tanh net (fixed seed): x ~ U[−1,1]⁴, y = f(x);
 *    given x1, x2, want y1, y2, unknowns x3, x4 in [−1, 1]. Success = status 'solved' (every
 *    reported solution verified by a fresh forward pass). Queries/s and success rate per method.
 *
 * Targets (issue 3): the seed query in under 100 µs; LM at least 20× faster than Adam at equal
 * or better success. Printed as PASS/MISS lines; never asserted.
 */
import { readFileSync } from 'node:fs';
import { loadNativeModel } from '../src/formats/native/load.ts';
import { createModel, type Model } from '../src/model.ts';
import { invert } from '../src/api/invert.ts';
import type { InvertOptions } from '../src/solve/invert.ts';
import { mulberry32 } from '../src/numeric/rng.ts';

function median(a: number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

function timePerCall(fn: () => void, minMs: number, rounds: number): number {
  fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs) {
      fn();
      n++;
      t = performance.now();
    }
    per.push((t - t0) / n);
  }
  return median(per);
}

export function tanhNet(seed: number): Model {
  const rand = mulberry32(seed);
  const layer = (inW: number, out: number): number[] => {
    const s = Math.sqrt(6 / (inW + out));
    return Array.from({ length: inW * out }, () => (2 * rand() - 1) * s);
  };
  return createModel({
    inputs: [{ name: 'x', width: 4, features: ['x1', 'x2', 'x3', 'x4'] }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: 64, weight: layer(4, 64), bias: Array(64).fill(0) }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 64, weight: layer(64, 64), bias: Array(64).fill(0) }, inputs: ['a1'] },
      { name: 'a2', op: { type: 'unary', fn: 'tanh' }, inputs: ['d2'] },
      { name: 'd3', op: { type: 'dense', units: 2, weight: layer(64, 2), bias: [0, 0] }, inputs: ['a2'] },
    ],
    outputs: [{ node: 'd3', name: 'y', features: ['y1', 'y2'] }],
  });
}

export async function runSolveBench(): Promise<void> {
  const add = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url), 'utf8'), 'seed-add.json');
  const q = { given: { a: 3 }, want: { sum: 7 } };
  const lmUs = timePerCall(() => invert(add, q), 300, 5) * 1000;
  const adamUs = timePerCall(() => invert(add, q, { method: 'adam' }), 300, 3) * 1000;
  const r = invert(add, q);
  console.log('seed question (3 + b = 7), full answer per query, in process:');
  console.log(`  LM (interval Newton, proven complete): ${lmUs.toFixed(1)} µs   b = ${r.solutions[0].unknowns.b}`);
  console.log(`  Adam (multi-start):                    ${adamUs.toFixed(1)} µs   → LM is ${(adamUs / lmUs).toFixed(0)}× faster`);

  const net = tanhNet(12345);
  const rand = mulberry32(777);
  const N = Number(process.env.NETINVERT_BENCH_QUERIES ?? 1000);
  const queries = Array.from({ length: N }, () => {
    const x = [0, 0, 0, 0].map(() => 2 * rand() - 1);
    const y = net.network.evaluate(new Float64Array(x), 1);
    return {
      given: { x1: x[0], x2: x[1] },
      want: { y1: y[0], y2: y[1] },
      bounds: { x3: [-1, 1] as [number, number], x4: [-1, 1] as [number, number] },
    };
  });
  const runAll = (opts: InvertOptions, count: number): { ok: number; ms: number; solutions: number } => {
    let ok = 0,
      solutions = 0;
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const res = invert(net, queries[i], { ...opts, seed: i });
      if (res.status === 'solved') ok++;
      solutions += res.solutions.length;
    }
    return { ok, ms: performance.now() - t0, solutions };
  };
  runAll({}, 20); // warm-up
  const lm = runAll({}, N);
  const nAdam = Math.min(N, Number(process.env.NETINVERT_BENCH_ADAM_QUERIES ?? 200));
  const adam = runAll({ method: 'adam' }, nAdam);
  const lmQps = (N / lm.ms) * 1000,
    adamQps = (nAdam / adam.ms) * 1000;
  console.log(`\n${N} random reachable queries, 4-64-64-2 tanh net (2 unknowns, 2 targets, multi-start, all solutions):`);
  console.log(`  LM:   success ${((100 * lm.ok) / N).toFixed(1)}%  ${lmQps.toFixed(0)} queries/s  (${(lm.solutions / N).toFixed(2)} solutions/query)`);
  console.log(
    `  Adam: success ${((100 * adam.ok) / nAdam).toFixed(1)}%  ${adamQps.toFixed(1)} queries/s  (first ${nAdam} queries; ${(adam.solutions / nAdam).toFixed(2)} solutions/query)`,
  );
  console.log(`  LM/Adam speed ratio: ${(lmQps / adamQps).toFixed(0)}×`);
  console.log('\ntargets:');
  console.log(`  ${lmUs < 100 ? 'PASS' : 'MISS'}  seed query under 100 µs (${lmUs.toFixed(1)} µs)`);
  const better = lm.ok / N >= adam.ok / nAdam;
  console.log(`  ${lmQps / adamQps >= 20 && better ? 'PASS' : 'MISS'}  LM ≥ 20× faster than Adam at equal or better success (${(lmQps / adamQps).toFixed(0)}×, ${((100 * lm.ok) / N).toFixed(1)}% vs ${((100 * adam.ok) / nAdam).toFixed(1)}%)`);
}
