/**
 * `netinvert eval MODEL --given a=3,b=4 [--json]` and `netinvert eval MODEL --points in.csv [-o out.csv]`:
 * the model's forward pass at a point, or at every row of a CSV, by feature name (predict).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'csv-parse/sync';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import { predictMany } from '../../solve/predict.ts';
import { readTrainingCsv } from '../../train/csv.ts';
import { csvLine } from '../batch/answers.ts';
import { readBytes } from '../files.ts';
import { loadModelFile } from '../loadModelFile.ts';
import { parseAssignments } from '../parse.ts';
import type { IO } from '../io.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export const EVAL_FORMAT = 'netinvert-eval';
export const EVAL_VERSION = 1;

export const EVAL_HELP = `
Give every input, either with --given (one point) or as the columns of a CSV (--points, a
header row naming the inputs, one point per row; other columns, such as an id, are copied
through). The CSV answer has the input file's columns followed by one column per output;
an output whose name is already a column is written as "eval:<name>".
Inputs outside the training range are evaluated, with a note (the model extrapolates there).

Examples:
  netinvert eval models/seed-add.json --given a=3,b=4
  netinvert eval models/seed-add.json --given a=3,b=4.011845914 --json
  netinvert eval model.onnx --points in.csv -o out.csv`;

/** Adds the eval command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineEvalCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  return cmd
    .description("evaluate MODEL's outputs at a point (--given) or at every row of a CSV (--points): check an answer, see what the model does")
    .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)')
    .option('--given <list>', 'every input: name=value,...', collect, [])
    .option('--points <file>', 'CSV of points: a header row naming the inputs, one point per row')
    .option('-o, --out <file>', 'with --points: where to write the CSV answer (default: print it)')
    .option('--json', 'print the answer as JSON')
    .addHelpText('after', EVAL_HELP)
    .action((model: string, opts: Record<string, unknown>) => {
      done(evalCommand(model, opts, io));
    });
}

function usage(message: string): never {
  throw new NetinvertError('bad_usage', `${message}; see netinvert eval --help`);
}

/** Notes for inputs outside the model's training range (the model extrapolates there). */
function rangeNotes(model: Model, points: Record<string, number>[]): string[] {
  const ranges = model.metadata.inputRanges ?? {};
  const notes: string[] = [];
  for (const [name, [lo, hi]] of Object.entries(ranges)) {
    const out = points.map((p, r) => [p[name], r] as const).filter(([v]) => v < lo || v > hi);
    if (!out.length) continue;
    notes.push(
      points.length === 1
        ? `note: ${name} = ${out[0][0]} is outside the training range [${lo}, ${hi}]; the model extrapolates there`
        : `note: ${name} is outside the training range [${lo}, ${hi}] in ${out.length} of ${points.length} rows (first: row ${out[0][1] + 1}); the model extrapolates there`,
    );
  }
  return notes;
}

export function evalCommand(modelPath: string, opts: Record<string, unknown>, io: IO): number {
  const givenList = (opts.given as string[] | undefined) ?? [];
  const pointsFile = typeof opts.points === 'string' ? opts.points : undefined;
  if (givenList.length && pointsFile) usage('give the point with --given or the points with --points, not both');
  if (!givenList.length && !pointsFile) usage('say where to evaluate: --given a=3,b=4 (every input), or --points in.csv');
  if (typeof opts.out === 'string' && !pointsFile) usage('-o writes the CSV answer of --points; with --given the answer is printed');
  const model = loadModelFile(modelPath, opts.meta as string | undefined);
  const net = model.network;
  const modelRecord = { hash: model.hash, ...(model.metadata.name ? { name: model.metadata.name } : {}) };

  if (!pointsFile) {
    const point = parseAssignments(givenList, '--given');
    const [outputs] = predictMany(model, [point]);
    const notes = rangeNotes(model, [point]);
    if (opts.json) {
      const inputs = Object.fromEntries(net.inputNames.map((n) => [n, point[n]]));
      io.out(JSON.stringify({ format: EVAL_FORMAT, version: EVAL_VERSION, model: modelRecord, inputs, outputs, warnings: notes }, null, 2));
      return 0;
    }
    const w = Math.max(6, ...net.outputNames.map((n) => n.length));
    io.out([`${'output'.padEnd(w)}  value`, ...net.outputNames.map((n) => `${n.padEnd(w)}  ${outputs[n]}`)].join('\n'));
    for (const n of notes) io.err(n);
    return 0;
  }

  const text = new TextDecoder().decode(readBytes(pointsFile, 'points CSV'));
  // readTrainingCsv checks the header, the input columns and every cell, naming line and column
  readTrainingCsv(text, { inputs: [...net.inputNames], outputs: [], file: pointsFile, minRows: 1 });
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = parse(body, { skip_empty_lines: true, trim: true }) as string[][];
  const header = records[0];
  const rows = records.slice(1);
  const col = net.inputNames.map((n) => header.indexOf(n));
  const points = rows.map((rec) => Object.fromEntries(net.inputNames.map((n, i) => [n, Number(rec[col[i]])])));
  const outputs = predictMany(model, points);
  const notes = rangeNotes(model, points);
  if (opts.json) {
    const answer = { format: EVAL_FORMAT, version: EVAL_VERSION, model: modelRecord, points: points.map((inputs, r) => ({ inputs, outputs: outputs[r] })), warnings: notes };
    const json = JSON.stringify(answer, null, 2);
    if (typeof opts.out === 'string') write(opts.out, json + '\n');
    else io.out(json);
  } else {
    const outCols = net.outputNames.map((n) => (header.includes(n) ? `eval:${n}` : n));
    let csv = csvLine([...header, ...outCols]);
    rows.forEach((rec, r) => {
      csv += csvLine([...rec, ...net.outputNames.map((n) => String(outputs[r][n]))]);
    });
    if (typeof opts.out === 'string') write(opts.out, csv);
    else io.out(csv.trimEnd());
  }
  for (const n of notes) io.err(n);
  if (typeof opts.out === 'string') io.err(`wrote ${rows.length} ${rows.length === 1 ? 'row' : 'rows'} to ${opts.out}`);
  return 0;
}

function write(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new NetinvertError('bad_argument', `${path}: cannot write the answer (${(e as Error).message}); check that the folder exists and is writable`, {
      file: path,
    });
  }
}
