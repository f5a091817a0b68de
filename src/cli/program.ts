/**
 * The command line, as a function of argv: testable in-process. Only main.ts calls
 * process.exit. Output goes through an injectable `io`.
 * IO and the exit codes live in io.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { NetinvertError } from '../errors.ts';
import type { VerifyCliOptions } from './commands/verify.ts';
import { EXIT, type IO } from './io.ts';
import { addQueryOptions } from './queryOptions.ts';

export interface CliOptions {
  /**
   * Run `solve` in a worker thread so that Ctrl-C prints an "interrupted" line and exits 130
   * (main.ts sets this; in-process callers such as tests leave it off).
   */
  interruptible?: boolean;
}

/** The package's version, from package.json (the CLI is Node-only, so it may read files). */
export function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

const examples = (lines: string[]): string => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

/** Is --json among the options (before a "--" that ends them)? Errors are then printed as JSON. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Query flags that --query replaces: given together, which should win is unclear, so both are refused. */
const QUERY_FLAGS: [string, string][] = [
  ['given', '--given'],
  ['want', '--want'],
  ['wantClass', '--want-class'],
  ['margin', '--margin'],
  ['any', '--any'],
  ['bounds', '--bounds'],
  ['closestTo', '--closest-to'],
  ['distance', '--distance'],
  ['onlyIncrease', '--only-increase'],
  ['onlyDecrease', '--only-decrease'],
  ['fixed', '--fixed'],
  ['distanceWeights', '--distance-weights'],
  ['subjectTo', '--subject-to'],
  ['integer', '--integer'],
  ['categorical', '--categorical'],
  ['oneHot', '--one-hot'],
];

/** --query with any of the query flags given on the command line: a bad_usage error naming them. */
function refuseQueryFlags(opts: Record<string, unknown>, cmd: Command): void {
  if (typeof opts.query !== 'string') return;
  const both = QUERY_FLAGS.filter(([k]) => cmd.getOptionValueSource(k) === 'cli').map(([, f]) => f);
  if (both.length) {
    throw new NetinvertError(
      'bad_usage',
      `--query ${opts.query} holds the whole query, so ${both.join(', ')} cannot be given with it; put ${both.length === 1 ? 'that' : 'those'} in the file, or leave out --query`,
      { flags: both },
    );
  }
}

/** The commands, in the order the help lists them. */
const COMMANDS = ['solve', 'plot', 'eval', 'inspect', 'train', 'learn-inverse', 'batch', 'worker', 'check-certificate', 'verify', 'demo'];

export async function runCli(argv: string[], io: IO, cli: CliOptions = {}): Promise<number> {
  let code = 0;
  /** What each command's action reports back: its exit code. */
  const setCode = (c: number): void => {
    code = c;
  };
  const json = wantsJson(argv);
  // Only the command asked for is defined (its module, and what it imports, loaded on demand):
  // every command module loaded at start-up cost ~0.1 s per process. A bare `netinvert`, --help,
  // `help CMD` or an unknown command defines them all (the help lists them, the error suggests one).
  const asked = argv.find((a) => !a.startsWith('-'));
  const only = asked !== undefined && COMMANDS.includes(asked) ? asked : null;
  const wants = (name: string): boolean => only === null || only === name;
  const program = new Command();
  program
    .name('netinvert')
    .description('Invert trained neural networks: find the inputs that give the outputs you want, or prove none exist.')
    .version(packageVersion(), '-V, --version', 'print the version number')
    .exitOverride()
    // commander's own error text is replaced by one coded line (below)
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()), outputError: () => {} })
    .addHelpText(
      'after',
      examples([
        'netinvert solve models/seed-add.json --given a=3 --want sum=7',
        'netinvert eval models/seed-add.json --given a=3,b=4',
        'netinvert solve --help        (each command has its own help and examples)',
      ]),
    );

  if (wants('solve')) {
    addQueryOptions(
      program
        .command('solve')
        .description('find the unknown inputs of MODEL that give the wanted outputs')
        .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json'),
      'after the search, prove: infeasibility, or that the solution list is complete (branch-and-bound)',
    )
      .option('--json', 'print the result as JSON')
      .option('--verbose', 'print the full report')
      .option('--certificate <file>', 'write the proof certificate (JSON) to FILE; implies --prove (check it with check-certificate)')
      .option('--query <file>', 'the query as a JSON file (given, want, bounds, closestTo, distance, constraints; see docs/query-file.md) instead of the query flags')
      .option('--plot <file>', 'also draw the answer to FILE (.svg or .png; see netinvert plot)')
      .option('--workers <n>', 'with --prove: threads sharing the proof\'s branch-and-bound, each with its own copy of the model (default 1, the one-thread proof)')
      .addHelpText(
        'after',
        examples([
          'netinvert solve models/seed-add.json --given a=3 --want sum=7',
          'netinvert solve models/seed-4in2out.json --given x1=1,x2=2 --want y1=9.99,y2=0.54 --prove',
          'netinvert solve model.onnx --want "y>=0.9" --bounds x=-1:1 --method milp --time-limit 120',
          'netinvert solve models/seed-4in2out.json --given x1=1,x2=2 --want "y1 - 10*y2 <= 5" --prove',
          'netinvert solve models/seed-4in2out.json --given x1=1,x2=2 --any "y1>=12 ; y2<=0.1, y1>=9"',
          'netinvert solve models/seed-add.json --query q.json --json',
          'netinvert solve models/seed-add.json --want sum=7 --subject-to "a - b >= 1" --prove',
          'netinvert solve models/seed-add.json --given a=3 --integer b --want sum=6.9:7.1 --prove',
        ]) +
          '\n\n--want takes outputs or linear forms of them: y=7, y=lo:hi, y>=v, y<=v, "y0 - y1 <= 0", "2*y0 + y3 >= 1.5" (weight @w).' +
          '\n--any "A, B ; C" asks for one of several clauses (here A and B, or C); repeat --any to add clauses.' +
          '\n--subject-to "x1 + x2 + x3 = 1", "x3 <= x4", "2*a - b >= 0.5": linear constraints among inputs (repeatable); every answer meets them.' +
          '\n--integer b, --categorical t=1,2.5,4, --one-hot color=red,green,blue: discrete unknowns; every assignment is searched (at most 10000), and with --prove each is proven on its own.' +
          '\n\nWith --query the file holds the whole query: --given, --want, --any, --bounds, --closest-to, --distance, --subject-to, --integer, --categorical, --one-hot and the counterfactual controls (--only-increase, --only-decrease, --fixed, --distance-weights) are refused alongside it.' +
          '\nCtrl-C stops the search (exit 130); --time-limit and --max-evaluations stop it with the best answer so far.',
      )
      .action(async (model: string, opts: Record<string, unknown>, cmd: Command) => {
        refuseQueryFlags(opts, cmd);
        if (cli.interruptible) {
          const { solveInterruptibly } = await import('./interruptible.ts');
          code = await solveInterruptibly(model, opts, io);
        } else {
          const { solveCommand } = await import('./commands/solve.ts');
          code = await solveCommand(model, opts, io);
        }
      });
  }

  if (wants('plot')) {
    const { definePlotCommand, plotCommand } = await import('./commands/plot.ts');
    definePlotCommand(program.command('plot'))
      .addHelpText(
        'after',
        examples([
          'netinvert plot models/seed-add.json --given a=3 --want sum=7 -o add.svg',
          'netinvert plot models/seed-4in2out.json --given x1=1,x2=2 --want y1=9.99,y2=0.54 --prove -o proof.png',
          'netinvert plot model.onnx --want y=0.5 --unknowns x1,x2 -o slice.svg',
        ]),
      )
      .action(async (model: string, opts: Record<string, unknown>, cmd: Command) => {
        refuseQueryFlags(opts, cmd);
        code = await plotCommand(model, opts, io);
      });
  }

  if (wants('eval')) (await import('./commands/eval.ts')).defineEvalCommand(program.command('eval'), io, setCode);

  if (wants('inspect')) {
    program
      .command('inspect')
      .description('show the inputs, outputs, layers, parameter count and metadata of MODEL')
      .argument('<model>', 'model file')
      .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds')
      .option('--json', 'print as JSON')
      .addHelpText('after', examples(['netinvert inspect models/seed-add.json', 'netinvert inspect model.onnx --meta model.meta.json --json']))
      .action(async (model: string, opts: { json?: boolean; meta?: string }) => {
        code = (await import('./commands/inspect.ts')).inspectCommand(model, opts, io);
      });
  }

  if (wants('train')) {
    (await import('./commands/train.ts')).defineTrainCommand(program.command('train'), io, setCode).addHelpText(
      'after',
      examples([
        'netinvert train data/add.csv --inputs a,b --outputs sum --hidden 2 --activation bipolar-sigmoid -o add.json',
        'netinvert train data.csv --inputs x1,x2,x3 --outputs y --hidden 16,16 --seed 1 -o model.json',
      ]),
    );
  }

  if (wants('learn-inverse')) {
    (await import('./commands/learnInverse.ts')).defineLearnInverseCommand(program.command('learn-inverse'), io, setCode).addHelpText(
      'after',
      examples([
        'netinvert learn-inverse models/seed-add.json --known a --targets sum -o inverse.json',
        'netinvert solve models/seed-add.json --given a=3 --want sum=7 --warm-start inverse.json',
      ]),
    );
  }

  if (wants('batch')) (await import('./commands/batch.ts')).defineBatchCommand(program.command('batch'), io, setCode);

  if (wants('worker')) (await import('./commands/worker.ts')).defineWorkerCommand(program.command('worker'), io, setCode);

  if (wants('check-certificate')) {
    program
      .command('check-certificate')
      .description('re-check a proof certificate (from solve --certificate, or verify --certificate with --vnnlib) with the independent verifier: exit 0 if valid, 1 if not')
      .argument('<model>', 'the model file the certificate is for')
      .argument('<certificate>', 'certificate JSON file')
      .option('--meta <file>', 'sidecar JSON the model was solved with (default: <model>.meta.json if present)')
      .option('--vnnlib <file>', 'the VNNLIB property an unsat certificate of netinvert verify is about (required for those)')
      .option('--json', 'print the verdict as JSON')
      .addHelpText(
        'after',
        examples([
          'netinvert solve models/seed-add.json --given a=3 --want sum=70 --certificate proof.json',
          'netinvert check-certificate models/seed-add.json proof.json',
          'netinvert check-certificate net.onnx unsat.json --vnnlib prop_1.vnnlib',
        ]),
      )
      .action(async (model: string, cert: string, opts: { meta?: string; json?: boolean; vnnlib?: string }) => {
        code = (await import('./commands/checkCertificate.ts')).checkCertificateCommand(model, cert, opts, io);
      });
  }

  if (wants('verify')) {
    program
      .command('verify')
      .description('decide a VNN-COMP VNNLIB property: prints sat (a counterexample), unsat (proven) or unknown; exit 0 decided, 4 unknown')
      .argument('<model>', 'the network (.onnx, .nnet, or any model file netinvert reads)')
      .argument('<property>', 'the VNNLIB property file')
      .option('--timeout <seconds>', 'wall-clock budget in seconds', '60')
      .option('--results <file>', "write VNN-COMP's result file (sat with the assignment, unsat, or unknown)")
      .option('--certificate <file>', 'write the unsat certificate (JSON; check it with check-certificate --vnnlib)')
      .option('--meta <file>', 'sidecar JSON for the model (default: <model>.meta.json if present)')
      .option('--workers <n>', 'threads searching at once, each with its own copy of the model (default 1, the one-thread search: on ACAS Xu 2 threads measured 1.0–1.4x on 5–20 s proofs)', '1')
      .option('--handoff-ms <ms>', 'with --workers > 1: milliseconds this thread searches alone before the threads take work (default 1000; most properties end sooner, and never start a thread)')
      .option('--no-check-thread', 'with --workers 1: no second thread (default: a second thread checks the proof\'s leaves with the independent verifier, and runs falsification, while the search runs)')
      .option('--json', 'print the answer as JSON')
      .addHelpText(
        'after',
        examples([
          'netinvert verify ACASXU_run2a_1_1_batch_2000.onnx prop_2.vnnlib --timeout 116',
          'netinvert verify net.onnx prop.vnnlib --results out.txt --certificate unsat.json',
        ]),
      )
      .action(async (model: string, prop: string, opts: VerifyCliOptions) => {
        code = await (await import('./commands/verify.ts')).verifyCommand(model, prop, opts, io);
      });
  }

  if (wants('demo')) {
    program
      .command('demo')
      .description("answer the seed question with the shipped example nets (what `npm start` runs)")
      .addHelpText('after', examples(['netinvert demo']))
      .action(async () => {
        code = (await import('./commands/demo.ts')).demoCommand(io);
      });
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    let err = e;
    if (e instanceof CommanderError) {
      // --help and --version exit 0; help shown for a bare `netinvert` exits 1. Both were printed.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return e.exitCode;
      err = usageError(e, argv);
    }
    if (err instanceof NetinvertError) {
      if (json) io.out(JSON.stringify({ error: { code: err.code, message: err.message, detail: err.detail } }, null, 2));
      else io.err(`error [${err.code}]: ${err.message}`);
      return EXIT.error;
    }
    const message = (err as Error)?.message ?? String(err);
    // an InternalError (interruptible.ts) carries the stack of the thread it came from
    const workerStack = (err as { workerStack?: unknown })?.workerStack;
    const stack = typeof workerStack === 'string' ? workerStack : String((err as Error)?.stack);
    if (json) io.out(JSON.stringify({ error: { code: 'internal', message: `${message} (please report this)` } }, null, 2));
    else io.err(`internal error: ${message} (please report this; set NETINVERT_DEBUG=1 for a stack trace)`);
    if (typeof process !== 'undefined' && process.env.NETINVERT_DEBUG) io.err(stack);
    return EXIT.error;
  }
}

/** commander's parse error ("error: unknown option '--x'\n(Did you mean --y?)") as one coded line. */
function usageError(e: CommanderError, argv: string[]): NetinvertError {
  const text = e.message
    .replace(/^error:\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  const command = COMMANDS.find((c) => argv[0] === c);
  return new NetinvertError('bad_usage', `${text}; see netinvert ${command ? `${command} ` : ''}--help`, { commanderCode: e.code });
}
