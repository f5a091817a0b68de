/**
 * The command line, as a function of argv: testable in-process. Only main.ts calls
 * process.exit. Output goes through an injectable `io`.
 *
 * Exit codes (DESIGN.md): 0 solved, 1 error, 2 best-compromise, 3 infeasible, 4 unknown.
 */
import { Command, CommanderError } from 'commander';
import { NetinvertError } from '../errors.ts';
import type { Status } from '../solve/result.ts';
import { defineBatchCommand } from './commands/batch.ts';
import { demoCommand } from './commands/demo.ts';
import { inspectCommand } from './commands/inspect.ts';
import { defineLearnInverseCommand } from './commands/learnInverse.ts';
import { solveCommand } from './commands/solve.ts';
import { defineTrainCommand } from './commands/train.ts';

export interface IO {
  out(s: string): void;
  err(s: string): void;
}

export const EXIT: Record<Status | 'error', number> = {
  solved: 0,
  error: 1,
  'best-compromise': 2,
  infeasible: 3,
  unknown: 4,
};

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export async function runCli(argv: string[], io: IO): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name('netinvert')
    .description('Invert trained neural networks: find the inputs that give the outputs you want, or prove none exist.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('solve')
    .description('find the unknown inputs of MODEL that give the wanted outputs')
    .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)')
    .option('--given <list>', 'known inputs: name=value,...', collect, [])
    .option('--want <list>', 'targets: y=7, y=lo:hi, y>=v, y<=v; weight with @w', collect, [])
    .option('--bounds <list>', 'bounds of unknowns: name=lo:hi,...', collect, [])
    .option('--closest-to <list>', 'reference point: name=value,... (return the closest solution)', collect, [])
    .option('--distance <kind>', 'distance to the reference: l2, l1 or linf', 'l2')
    .option('--method <m>', 'lm (bounded Levenberg–Marquardt), adam, or milp (exact, for ReLU-type nets)', 'lm')
    .option('--atol <x>', 'absolute tolerance', '1e-6')
    .option('--rtol <x>', 'relative tolerance', '1e-6')
    .option('--seed <n>', 'seed for the quasi-random starts', '0')
    .option('--max-evaluations <n>', 'work budget in point evaluations', '200000')
    .option('--time-limit <s>', 'wall-clock limit in seconds', '60')
    .option('--prove', 'after the search, prove: infeasibility, or that the solution list is complete (branch-and-bound)')
    .option('--max-boxes <n>', 'branch-and-bound budget in boxes (with --prove)', '100000')
    .option('--json', 'print the result as JSON')
    .option('--verbose', 'print the full report')
    .option('--warm-start <file>', 'learned inverse (from learn-inverse) whose prediction is the first start of the search')
    .action(async (model: string, opts: Record<string, unknown>) => {
      code = await solveCommand(model, opts, io);
    });

  program
    .command('inspect')
    .description('show the inputs, outputs, layers, parameter count and metadata of MODEL')
    .argument('<model>', 'model file')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds')
    .option('--json', 'print as JSON')
    .action((model: string, opts: { json?: boolean; meta?: string }) => {
      code = inspectCommand(model, opts, io);
    });

  defineTrainCommand(program.command('train'), io, (c) => {
    code = c;
  });

  defineLearnInverseCommand(program.command('learn-inverse'), io, (c) => {
    code = c;
  });

  defineBatchCommand(program.command('batch'), io, (c) => {
    code = c;
  });

  program
    .command('demo')
    .description("answer the seed question with the shipped example nets (what `npm start` runs)")
    .action(() => {
      code = demoCommand(io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? 0 : EXIT.error;
    }
    if (e instanceof NetinvertError) {
      io.err(`error [${e.code}]: ${e.message}`);
      return EXIT.error;
    }
    io.err(`internal error: ${(e as Error)?.message ?? String(e)} (please report this; set NETINVERT_DEBUG=1 for a stack trace)`);
    if (typeof process !== 'undefined' && process.env.NETINVERT_DEBUG) io.err(String((e as Error)?.stack));
    return EXIT.error;
  }
}
