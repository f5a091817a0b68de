/** `netinvert learn-inverse MODEL --known a --targets sum [--samples N] [--hidden 32,32] [--seed N] -o inverse.json` */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NetinvertError } from '../../errors.ts';
import { loadNativeModel, saveNativeModel } from '../../formats/native/load.ts';
import { INVERSE_DEFAULTS, learnInverse } from '../../train/inverse.ts';
import { loadModelFile } from '../loadModelFile.ts';
import { parseBounds, parseInteger } from '../parse.ts';
import type { IO } from '../io.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function bad(message: string): never {
  throw new NetinvertError('bad_argument', message);
}

const int = (v: unknown, flag: string, min: number): number => parseInteger(v, flag, { min, code: 'bad_argument' });

function list(v: unknown, flag: string, example: string): string[] {
  const out = (Array.isArray(v) ? v : [v])
    .flatMap((s) => String(s ?? '').split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!out.length && flag === '--targets') bad(`say which outputs will be wanted with ${flag} (e.g. ${flag} ${example})`);
  return out;
}

/** Adds the learn-inverse command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineLearnInverseCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  return cmd
    .description(
      'train an approximate inverse net [known inputs, target outputs] → [unknown inputs] on samples of MODEL; ' +
        'it gives ONE (averaged) answer per query, so use it only as a warm start: solve --warm-start',
    )
    .argument('<model>', 'model file')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds')
    .option('--known <list>', 'inputs that queries will give: a,b,...', collect, [])
    .option('--targets <list>', 'outputs that queries will want: y,...', collect, [])
    .option('--samples <n>', 'forward-model samples', String(INVERSE_DEFAULTS.samples))
    .option('--hidden <list>', 'units per hidden layer of the inverse', INVERSE_DEFAULTS.hidden.join(','))
    .option('--activation <name>', 'hidden-layer activation', INVERSE_DEFAULTS.activation)
    .option('--bounds <list>', 'sampling box: name=lo:hi,... (default: training ranges, else [-10, 10])', collect, [])
    .option('--seed <n>', 'seed for the sampling and the training', String(INVERSE_DEFAULTS.seed))
    .option('-o, --out <file>', 'where to write the inverse (.json)')
    .action((model: string, opts: Record<string, unknown>) => {
      done(learnInverseCommand(model, opts, io));
    });
}

export function learnInverseCommand(modelPath: string, opts: Record<string, unknown>, io: IO): number {
  const known = list(opts.known, '--known', 'a');
  const targets = list(opts.targets, '--targets', 'sum');
  if (typeof opts.out !== 'string' || opts.out.trim() === '') bad('say where to write the inverse with -o (e.g. -o inverse.json)');
  const out = opts.out;
  const hidden = String(opts.hidden)
    .split(',')
    .map((s) => int(s, '--hidden', 1));
  const samples = int(opts.samples, '--samples', 10);
  const seed = int(opts.seed, '--seed', 0);
  const bounds = parseBounds((opts.bounds as string[] | undefined) ?? []);
  const model = loadModelFile(modelPath, opts.meta as string | undefined);
  const { inverse, report } = learnInverse(model, {
    known,
    targets,
    samples,
    hidden,
    activation: String(opts.activation),
    seed,
    ...(Object.keys(bounds).length ? { bounds } : {}),
  });
  const text = saveNativeModel(inverse) + '\n';
  try {
    writeFileSync(out, text);
  } catch (e) {
    bad(`${out}: cannot write the inverse (${(e as Error).message}); check that the folder exists and is writable`);
  }
  const tr = report.training;
  io.out(
    `learned inverse of ${report.info.ofName ?? 'the model'} (${report.info.of}): [${[...known, ...targets].join(', ')}] → [${report.info.unknowns.join(', ')}] ` +
      `on ${samples} samples`,
  );
  report.info.unknowns.forEach((u, j) => {
    io.out(`  ${u}: train RMSE ${tr.trainRmse[j].toPrecision(3)}${tr.valRmse ? `, val RMSE ${tr.valRmse[j].toPrecision(3)}` : ''}`);
  });
  io.out('note: an approximation giving ONE (averaged) answer per query; use it as a warm start (solve --warm-start), never as a final answer');
  for (const w of report.warnings) io.out(`warning: ${w}`);
  io.out(`wrote ${out}  (hash ${loadNativeModel(text, out).hash})`);
  return 0;
}
