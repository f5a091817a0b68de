/**
 * Benchmark runner: `npm run bench` runs every bench in BENCHES in order;
 * `npm run bench -- engine` (or several names) runs only the benches whose name contains
 * one of the given words. Add a bench by appending { name, description, run } to BENCHES.
 */
import { runEngineBench } from './engine.bench.ts';
import { runSolveBench } from './solve.bench.ts';
import { runCertifyBench } from './certify.bench.ts';
import { runMilpBench } from './milp.bench.ts';
import { runBatchBench } from './batch.bench.ts';
import { runVnnBench } from './vnn.bench.ts';
import { runBoundsBench } from './bounds.bench.ts';
import { runCounterfactualBench } from './counterfactual.bench.ts';
import { runDesignBench } from './design.bench.ts';

export interface Bench {
  name: string;
  description: string;
  run: () => Promise<void>;
}

export const BENCHES: Bench[] = [
  {
    name: 'engine',
    description: 'forward and input-Jacobian throughput of MLPs, netinvert vs TensorFlow.js cpu/wasm',
    run: runEngineBench,
  },
  {
    name: 'solve',
    description: 'seed-query latency and 1,000 random queries on a 4-64-64-2 tanh net, LM vs Adam',
    run: runSolveBench,
  },
  {
    name: 'certify',
    description: 'time to certify the seed nets and ReLU nets, branch-and-bound vs MILP, linear vs interval bound widths',
    run: runCertifyBench,
  },
  {
    name: 'bounds',
    description: 'ms per box and tightness of intervals, forward symbolic, CROWN and CROWN of linear forms on an ACAS Xu net',
    run: runBoundsBench,
  },
  {
    name: 'milp',
    description: 'exact MILP (HiGHS) on ReLU nets: max output, feasibility, proven infeasibility, vs a grid search',
    run: runMilpBench,
  },
  {
    name: 'batch',
    description: 'batch queries/s: 1 worker, 2 workers, 2 workers through Redis (10,000 reachable + 200 --prove queries, 4-64-64-2 tanh); a worker SIGKILLed mid-run',
    run: runBatchBench,
  },
  {
    name: 'counterfactual',
    description: 'credit-style tanh MLP: closest, --sparse, --diverse, monotone controls vs Wachter et al. (Adam on inputs); DiCE validity, proximity, sparsity, diversity',
    run: runCounterfactualBench,
  },
  {
    name: 'design',
    description: 'inverse design with a prior (Ren, Padilla & Malof 2020): sine wave and robotic arm, r_1/r_5/r_10 of plausibility, spread and surrogate-error ranking vs the neural adjoint; --quick',
    run: runDesignBench,
  },
  {
    name: 'vnn',
    description: 'ACAS Xu (VNN-COMP 2021): decided / wrong / time per instance beside nnenum and alpha-beta-CROWN; --quick (8), --all (186, 116 s each); --workers N: also on N threads, with the speed-up (--hard: the slowest unsat instances)',
    run: runVnnBench,
  },
];

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--list')) {
    console.log('usage: npm run bench [-- NAME...] [--quick] [--kill]\n  --quick  smaller runs (batch, design)\n  --kill   batch: also a Redis run with a worker SIGKILLed mid-run\n\nbenches:');
    for (const b of BENCHES) console.log(`  ${b.name.padEnd(12)} ${b.description}`);
    return 0;
  }
  const words = argv.filter((a) => !a.startsWith('-')).map((a) => a.toLowerCase());
  const chosen = words.length ? BENCHES.filter((b) => words.some((w) => b.name.toLowerCase().includes(w))) : BENCHES;
  if (chosen.length === 0) {
    console.error(`no bench matches ${words.map((w) => `"${w}"`).join(', ')}; benches: ${BENCHES.map((b) => b.name).join(', ')}`);
    return 1;
  }
  for (const b of chosen) {
    console.log(`\n=== bench: ${b.name} — ${b.description}\n`);
    await b.run();
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
