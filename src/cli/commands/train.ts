/** `netinvert train DATA.csv --inputs a,b --outputs sum --hidden 8,8 --activation tanh -o model.json` */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { NetinvertError } from '../../errors.ts';
import { loadNativeModel, saveNativeModel } from '../../formats/native/load.ts';
import { readTrainingCsv } from '../../train/csv.ts';
import { TRAIN_DEFAULTS, trainMlp, type EpochInfo, type TrainReport } from '../../train/train.ts';
import type { IO } from '../io.ts';
import { parseInteger, parseNumber } from '../parse.ts';

/** Largest CSV read (bytes): the trainer holds the whole table in memory. */
export const MAX_CSV_BYTES = 256 * 1024 * 1024;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds the train command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineTrainCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  const d = TRAIN_DEFAULTS;
  return cmd
    .description('train a small MLP on columns of a CSV file (header row required) and save it as a native model')
    .argument('<data>', 'CSV file with a header row')
    .option('--inputs <list>', 'input columns: a,b,...')
    .option('--outputs <list>', 'output columns: y,...')
    .option('--hidden <list>', 'units per hidden layer, e.g. 8,8', '8')
    .option('--activation <name>', 'hidden-layer activation: tanh, bipolar-sigmoid, relu, ... (any engine activation)', 'tanh')
    .option('--lambda <x>', 'steepness λ of bipolar-sigmoid (default 1)')
    .option('--activation-params <list>', 'other activation parameters: name=value,... (e.g. alpha=0.1)', collect, [])
    .option('--epochs <n>', 'most Adam epochs', String(d.epochs))
    .option('--batch-size <n>', 'minibatch rows', String(d.batchSize))
    .option('--lr <x>', 'Adam learning rate', String(d.learningRate))
    .option('--validation-split <f>', 'fraction of rows held out for validation and early stopping', String(d.validationSplit))
    .option('--patience <n>', 'stop after this many epochs without a better validation loss', String(d.patience))
    .option('--no-lbfgs', 'skip the L-BFGS polish after Adam')
    .option('--lbfgs-iterations <n>', 'most L-BFGS polish iterations', String(d.lbfgsIterations))
    .option('--seed <n>', 'seed for the initial weights, the split and the shuffles', String(d.seed))
    .option('--name <name>', 'model name (default: the CSV file name)')
    .option('-o, --out <file>', 'where to write the model (.json)')
    .option('--no-progress', 'no progress bar')
    .option('--plot <file>', 'also draw the loss curves to FILE (.svg or .png)')
    .action(async (data: string, opts: Record<string, unknown>) => {
      const plot = typeof opts.plot === 'string' ? opts.plot : null;
      const { plotFormat, writeSpec } = await import('../plotFile.ts');
      if (plot) plotFormat(plot, '--plot');
      const history: EpochInfo[] = [];
      const code = trainCommand(data, opts, io, defaultProgressStream(), plot ? history : null);
      if (plot) {
        const { lossSpec } = await import('../../plot/loss.ts');
        const adamEpochs = history.filter((h) => h.phase === 'adam').length;
        const points = history.map((h) => ({ phase: h.phase, step: h.phase === 'adam' ? h.epoch : adamEpochs + h.epoch, trainLoss: h.trainLoss, valLoss: h.valLoss }));
        await writeSpec(lossSpec(points, `training on ${data}`), plot, '--plot');
        io.out(`wrote ${plot}  (loss curves)`);
      }
      done(code);
    });
}

function bad(message: string): never {
  throw new NetinvertError('bad_argument', message);
}

const num = (v: unknown, flag: string): number => parseNumber(v, flag, { code: 'bad_argument' });
const int = (v: unknown, flag: string, min: number): number => parseInteger(num(v, flag), flag, { min, code: 'bad_argument' });

function names(v: unknown, flag: string, example: string): string[] {
  if (typeof v !== 'string' || v.trim() === '') bad(`say which columns to use with ${flag} (e.g. ${flag} ${example})`);
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!list.length) bad(`${flag}: no column names in "${v}"`);
  return list;
}

function activationParams(opts: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (opts.activationParams as string[]).flatMap((s) => s.split(','))) {
    const t = item.trim();
    if (t === '') continue;
    const i = t.indexOf('=');
    if (i <= 0) bad(`--activation-params: expected name=value, got "${t}"`);
    out[t.slice(0, i).trim()] = num(t.slice(i + 1), `--activation-params ${t.slice(0, i).trim()}`);
  }
  if (opts.lambda !== undefined) out.lambda = num(opts.lambda, '--lambda');
  return out;
}

function readText(path: string): string {
  if (!existsSync(path)) bad(`${path}: no such data file; check the path`);
  const st = statSync(path);
  if (!st.isFile()) bad(`${path}: not a file`);
  if (st.size > MAX_CSV_BYTES) throw new NetinvertError('file_too_large', `${path}: ${st.size} bytes is above the ${MAX_CSV_BYTES}-byte limit for CSV data`);
  return readFileSync(path, 'utf8');
}

/** The bar goes to stderr, and only when stderr is a terminal (never in pipes, CI or test workers). */
export function defaultProgressStream(): NodeJS.WriteStream | null {
  return typeof process !== 'undefined' && process.stderr.isTTY ? process.stderr : null;
}

function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e6)) return x.toExponential(digits - 1);
  return x.toPrecision(digits);
}

/** Progress: one bar for the Adam epochs, then one for the L-BFGS iterations. */
function progressBar(stream: NodeJS.WriteStream): { onEpoch: (i: EpochInfo) => void; stop: () => void } {
  let bar: SingleBar | null = null,
    phase = '';
  const stop = (): void => {
    bar?.stop();
    bar = null;
  };
  return {
    stop,
    onEpoch: (i) => {
      if (i.phase !== phase) {
        stop();
        phase = i.phase;
        const label = i.phase === 'adam' ? 'Adam  ' : 'L-BFGS';
        const unit = i.phase === 'adam' ? 'epoch' : 'iteration';
        bar = new SingleBar({
          stream,
          format: `${label} {bar} ${unit} {value}/{total} | loss {loss} | val {val}`,
          barsize: 24,
          hideCursor: true,
          etaBuffer: 50,
        });
        bar.start(i.epochs, 0, { loss: '—', val: '—' });
      }
      bar!.update(i.epoch, { loss: fmt(i.trainLoss), val: fmt(i.valLoss) });
    },
  };
}

export function summary(report: TrainReport): string {
  const lines: string[] = [];
  const phases = [`${report.epochs} Adam epochs${report.stoppedEarly ? ` (stopped early; kept epoch ${report.bestEpoch})` : ''}`];
  if (report.lbfgsIterations) phases.push(`${report.lbfgsIterations} L-BFGS iterations (${report.lbfgsStop})`);
  lines.push(`trained ${report.parameters} parameters on ${report.trainRows} rows, validated on ${report.valRows}: ${phases.join(', then ')}`);
  const w = Math.max(6, ...report.outputNames.map((n) => n.length));
  lines.push(`${'output'.padEnd(w)}  ${'train RMSE'.padStart(11)}  ${'val RMSE'.padStart(11)}  ${'train R²'.padStart(10)}  ${'val R²'.padStart(10)}`);
  report.outputNames.forEach((n, o) => {
    lines.push(
      `${n.padEnd(w)}  ${fmt(report.trainRmse[o]).padStart(11)}  ${fmt(report.valRmse?.[o]).padStart(11)}  ` +
        `${r2(report.trainR2[o]).padStart(10)}  ${r2(report.valR2?.[o]).padStart(10)}`,
    );
  });
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

/** R² with 6 decimals, or as many as it takes not to print 1.000000 for a fit that is not exact. */
function r2(x: number | undefined): string {
  if (x === undefined || Number.isNaN(x)) return '—';
  const gap = 1 - x;
  return gap > 0 && gap < 5e-7 ? x.toFixed(Math.min(16, Math.ceil(-Math.log10(gap)) + 1)) : x.toFixed(6);
}

export function trainCommand(
  dataPath: string,
  opts: Record<string, unknown>,
  io: IO,
  progress: NodeJS.WriteStream | null = defaultProgressStream(),
  history: EpochInfo[] | null = null,
): number {
  // every argument is checked before the file is read or anything is trained
  const inputs = names(opts.inputs, '--inputs', 'a,b');
  const outputs = names(opts.outputs, '--outputs', 'sum');
  if (typeof opts.out !== 'string' || opts.out.trim() === '') bad('say where to write the model with -o (e.g. -o model.json)');
  const out = opts.out;
  // train writes netinvert's own JSON format only; another extension would misname the file
  // (an .onnx holding JSON fails later in every ONNX reader, ours included)
  if (!out.toLowerCase().endsWith('.json')) {
    bad(`-o ${out}: netinvert train writes its own JSON model format, not ${extname(out) || 'a file without extension'}; name the file with .json (e.g. -o ${basename(out, extname(out)) || 'model'}.json)`);
  }
  const hidden =
    String(opts.hidden).trim() === '' || String(opts.hidden).trim() === '0'
      ? []
      : String(opts.hidden)
          .split(',')
          .map((s) => int(s, '--hidden', 1));
  const options = {
    hidden,
    activation: String(opts.activation),
    activationParams: activationParams(opts),
    epochs: int(opts.epochs, '--epochs', 0),
    batchSize: int(opts.batchSize, '--batch-size', 1),
    learningRate: num(opts.lr, '--lr'),
    validationSplit: num(opts.validationSplit, '--validation-split'),
    patience: int(opts.patience, '--patience', 1),
    lbfgs: opts.lbfgs !== false,
    lbfgsIterations: int(opts.lbfgsIterations, '--lbfgs-iterations', 0),
    seed: int(opts.seed, '--seed', 0),
    name: typeof opts.name === 'string' ? opts.name : basename(dataPath, extname(dataPath)),
    file: dataPath,
  };

  const data = readTrainingCsv(readText(dataPath), { inputs, outputs, file: dataPath });
  const bar = progress && opts.progress !== false ? progressBar(progress) : null;
  let result;
  try {
    const onEpoch =
      bar || history
        ? (e: EpochInfo) => {
            history?.push(e);
            bar?.onEpoch(e);
          }
        : undefined;
    result = trainMlp(data, { ...options, ...(onEpoch ? { onEpoch } : {}) });
  } finally {
    bar?.stop();
  }
  const text = saveNativeModel(result.model) + '\n';
  try {
    writeFileSync(out, text);
  } catch (e) {
    bad(`${out}: cannot write the model (${(e as Error).message}); check that the folder exists and is writable`);
  }
  io.out(summary(result.report));
  // the hash that solve and inspect will show: that of the file as it loads
  io.out(`wrote ${out}  (hash ${loadNativeModel(text, out).hash})`);
  return 0;
}
