/**
 * `netinvert batch MODEL QUERIES.csv -o ANSWERS.csv`: answer many inverse queries, one per CSV row,
 * writing each answer to disk as soon as it is known, so an interrupted run loses nothing and can
 * resume (DESIGN.md, "Bad input and untrusted files").
 *
 * QUERIES.csv: a header row, then one row per query.
 *   id              optional; any text, unique per file. Default: the 1-based data-row number.
 *   <input>         a model input: the known value; an empty cell means "unknown, solve for it".
 *   <output>        a model output: its target in the --want syntax without the name:
 *                   7 (equal), 0.1:0.3 (range), >=0.5, <=2, each with an optional weight @w
 *                   (e.g. 7@2). An empty cell leaves the output free.
 *   closest:<input> optional reference value for an unknown input: the answer is the solution
 *                   closest to the reference (as `solve --closest-to`).
 * The header is checked against the model before anything runs: a column that is none of these
 * is an error naming the column, the file and the model's inputs and outputs. A bad cell makes
 * only its own row an `error` row (its message gives the row number); the batch goes on.
 * --bounds, --method, the tolerances, --seed and the budgets apply to every query;
 * --time-limit is per query.
 *
 * ANSWERS.csv (RFC 4180 quoting, "\n" line ends):
 *   id, status, complete, max_miss, n_solutions, solution, <every input>, <every output>, message
 *   status       solved | best-compromise | infeasible | unknown | error
 *   complete     true when a proof says the solution list holds every solution (--prove)
 *   n_solutions  how many solutions the query has in the answer
 *   solution     1..k: a query with k solutions writes k rows, one per solution, in the order
 *                `invert` returns them; with a closest:<input> reference it writes one row, the
 *                solution closest to the reference (solution = 1). Rows of other statuses have it
 *                empty: best-compromise and unknown rows carry the best point found (not a
 *                solution), infeasible and error rows leave the values empty.
 *   <input>      every input of that point, given and solved
 *   <output>     every output recomputed at that point by a fresh float64 forward pass
 *   max_miss     the largest unweighted miss over the targets at that point
 *   message      the result's message (and warnings), or the error
 * A query's rows are written in one write, then fsync'd. Queries are answered in file order.
 *
 * --resume reads the answers file, discards a partly written last line (no trailing newline) and
 * a last query whose rows are not all there, skips every id already answered and appends the
 * rest: the file ends as an uninterrupted run would have written it (use the same options).
 * Without --resume an existing non-empty answers file is refused.
 *
 * SIGINT/SIGTERM stop the batch after the current query; the file is left consistent and the
 * command returns 130. Exit code otherwise: 0 if every query is solved; 1 if any row is an error;
 * else the largest of the codes of the statuses present (2 best-compromise, 3 infeasible,
 * 4 unknown). Queries answered by an earlier run count too.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, truncateSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { CsvError, parse } from 'csv-parse/browser/esm/sync';
import { certify } from '../../certify/certify.ts';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { DistanceKind, Query, TargetSpec } from '../../problem/query.ts';
import { invert, type InvertResult } from '../../solve/invert.ts';
import type { Solution, Status } from '../../solve/result.ts';
import { loadModelFile } from '../loadModelFile.ts';
import { parseBounds } from '../parse.ts';
import { EXIT, type IO } from '../program.ts';

/** Largest queries file read (bytes). */
export const MAX_QUERIES_BYTES = 256 * 1024 * 1024;

/** Exit code of an interrupted batch (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export type RowStatus = Status | 'error';

export const BATCH_HELP = `
Queries CSV (header row, then one row per query):
  id               optional; unique text per row (default: the 1-based row number)
  <input>          a known value; empty = unknown (solved for)
  <output>         a target without the name: 7, 0.1:0.3, >=0.5, <=2, optional @w; empty = free
  closest:<input>  optional reference value: answer with the solution closest to it

Answers CSV (one row per solution; written and fsync'd as each query finishes):
  id,status,complete,max_miss,n_solutions,solution,<inputs...>,<outputs...>,message
  A query with k solutions writes k rows (solution = 1..k); with a closest: reference, one row
  (the closest solution). best-compromise/unknown rows carry the best point found; infeasible
  and error rows leave the values empty. Outputs are recomputed by a forward pass.

Interrupt with Ctrl-C: the current query finishes, the file stays consistent, exit code 130;
run the same command with --resume to finish it.
Exit code: 0 all solved, 1 any row an error, else the largest of 2 best-compromise,
3 infeasible, 4 unknown.

Example:
  netinvert batch model.onnx queries.csv -o answers.csv --bounds x3=-1:1 --prove`;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

const DEFAULTS = {
  method: 'lm',
  atol: '1e-6',
  rtol: '1e-6',
  seed: '0',
  maxEvaluations: '200000',
  timeLimit: '60',
  maxBoxes: '100000',
  distance: 'l2',
} as const;

/** Adds the batch command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineBatchCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  return cmd
    .description('answer many queries from a CSV file, one per row, writing each answer as it is found (resumable)')
    .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json')
    .argument('<queries>', 'queries CSV: one row per query (see below)')
    .option('-o, --out <file>', 'answers CSV to write (appended to as queries finish)')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)')
    .option('--bounds <list>', 'bounds of unknowns, for every query: name=lo:hi,...', collect, [])
    .option('--method <m>', 'lm (bounded Levenberg–Marquardt) or adam', DEFAULTS.method)
    .option('--atol <x>', 'absolute tolerance', DEFAULTS.atol)
    .option('--rtol <x>', 'relative tolerance', DEFAULTS.rtol)
    .option('--seed <n>', 'seed for the quasi-random starts (the same for every query)', DEFAULTS.seed)
    .option('--max-evaluations <n>', 'work budget per query in point evaluations', DEFAULTS.maxEvaluations)
    .option('--time-limit <s>', 'wall-clock limit per query in seconds', DEFAULTS.timeLimit)
    .option('--distance <kind>', 'distance to a closest: reference: l2, l1 or linf', DEFAULTS.distance)
    .option('--prove', 'after each search, prove: infeasibility, or that the solution list is complete')
    .option('--max-boxes <n>', 'branch-and-bound budget in boxes per query (with --prove)', DEFAULTS.maxBoxes)
    .option('--resume', 'continue an interrupted run: keep the answers already in the file, answer the rest')
    .addHelpText('after', BATCH_HELP)
    .action(async (model: string, queries: string, opts: Record<string, unknown>) => {
      done(await batchCommand(model, queries, opts, io));
    });
}

/** Where the progress line goes: anything with write(). */
export interface ProgressSink {
  write(s: string): unknown;
}

/** Test and embedding hooks. */
export interface BatchHooks {
  /** Stop after the current query when this is aborted (as SIGINT does). */
  signal?: AbortSignal;
  /** Install SIGINT/SIGTERM handlers for the run (default true). */
  handleSignals?: boolean;
  /** Progress line sink (default: stderr when it is a terminal, else none). */
  progress?: ProgressSink | null;
  /** Least time between progress lines (default 1000 ms). */
  progressEveryMs?: number;
  /** Called after each query's rows are on disk. */
  onAnswered?: (id: string, answeredThisRun: number) => void;
}

function defaultProgress(): ProgressSink | null {
  return typeof process !== 'undefined' && process.stderr.isTTY ? process.stderr : null;
}

// ---------------------------------------------------------------------------------------------
// options

function bad(message: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_argument', message, detail);
}

function numOpt(v: unknown, flag: string): number {
  const s = String(v).trim();
  const x = s === '' ? NaN : Number(s);
  if (!Number.isFinite(x)) throw new NetinvertError('bad_query', `${flag}: "${String(v)}" is not a number`);
  return x;
}

interface Settings {
  method: 'lm' | 'adam';
  atol: number;
  rtol: number;
  seed: number;
  maxEvaluations: number;
  timeLimit: number;
  maxBoxes: number;
  distance: DistanceKind;
  prove: boolean;
  bounds: Record<string, [number, number]>;
}

function settings(opts: Record<string, unknown>, model: Model): Settings {
  const method = String(opts.method ?? DEFAULTS.method);
  if (method !== 'lm' && method !== 'adam') throw new NetinvertError('bad_query', `--method must be lm or adam (got "${method}")`);
  const distance = String(opts.distance ?? DEFAULTS.distance) as DistanceKind;
  if (!['l2', 'l1', 'linf'].includes(distance)) throw new NetinvertError('bad_query', `--distance must be l2, l1 or linf (got "${distance}")`);
  const s: Settings = {
    method,
    atol: numOpt(opts.atol ?? DEFAULTS.atol, '--atol'),
    rtol: numOpt(opts.rtol ?? DEFAULTS.rtol, '--rtol'),
    seed: numOpt(opts.seed ?? DEFAULTS.seed, '--seed'),
    maxEvaluations: numOpt(opts.maxEvaluations ?? DEFAULTS.maxEvaluations, '--max-evaluations'),
    timeLimit: numOpt(opts.timeLimit ?? DEFAULTS.timeLimit, '--time-limit'),
    maxBoxes: numOpt(opts.maxBoxes ?? DEFAULTS.maxBoxes, '--max-boxes'),
    distance,
    prove: opts.prove === true,
    bounds: parseBounds((opts.bounds as string[] | undefined) ?? []),
  };
  if (!Number.isInteger(s.seed)) throw new NetinvertError('bad_query', `--seed must be an integer (got ${String(opts.seed)})`);
  if (!(s.maxEvaluations > 0)) throw new NetinvertError('bad_query', `--max-evaluations must be > 0 (got ${String(opts.maxEvaluations)})`);
  if (!(s.timeLimit > 0)) throw new NetinvertError('bad_query', `--time-limit must be > 0 seconds (got ${String(opts.timeLimit)})`);
  const net = model.network;
  for (const k of Object.keys(s.bounds)) {
    if (net.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `--bounds names "${k}", which is not an input of the model; its inputs are: ${net.inputNames.join(', ')}`, {
        input: k,
      });
    }
    const [lo, hi] = s.bounds[k];
    if (lo > hi) throw new NetinvertError('bad_bounds', `--bounds ${k}: lower bound ${lo} is above upper bound ${hi}`, { input: k });
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// the queries file

interface Layout {
  file: string;
  width: number;
  idCol: number;
  inputs: { col: number; name: string }[];
  outputs: { col: number; name: string }[];
  closest: { col: number; name: string }[];
}

interface QueryRow {
  /** 1-based data-row number. */
  row: number;
  /** Line of the file where the row ends (1-based, as an editor shows it). */
  line: number;
  id: string;
  cells: string[];
}

function readQueriesText(path: string): string {
  if (!existsSync(path)) bad(`${path}: no such queries file; check the path`, { file: path });
  const st = statSync(path);
  if (!st.isFile()) bad(`${path}: not a file`, { file: path });
  if (st.size > MAX_QUERIES_BYTES) {
    throw new NetinvertError('file_too_large', `${path}: ${st.size} bytes is above the ${MAX_QUERIES_BYTES}-byte limit for a queries file`, { file: path });
  }
  return readFileSync(path, 'utf8');
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/** Parse the queries CSV; check the header against the model and the ids for uniqueness. */
export function readQueries(text: string, model: Model, file: string): { layout: Layout; rows: QueryRow[] } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const net = model.network;
  const features = `the model's inputs are: ${net.inputNames.join(', ')}; its outputs are: ${net.outputNames.join(', ')}`;
  if (body.trim() === '') {
    throw new NetinvertError('bad_query', `${file}: the queries file is empty; expected a header row (id, input and output names) and one row per query`, {
      file,
    });
  }
  let records: ParsedRecord[];
  try {
    records = parse(body, { info: true, skip_empty_lines: true, trim: true, relax_column_count: true }) as unknown as ParsedRecord[];
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as unknown as { lines?: number }).lines;
      throw new NetinvertError('bad_query', `${file}${line ? `, line ${line}` : ''}: not valid CSV (${e.message}); check the quoting`, { file, line });
    }
    throw e;
  }
  const header = records[0].record;
  const layout: Layout = { file, width: header.length, idCol: -1, inputs: [], outputs: [], closest: [] };
  const seen = new Set<string>();
  const unknown: string[] = [];
  header.forEach((h, col) => {
    if (h === '') {
      throw new NetinvertError('bad_query', `${file}, line 1: column ${col + 1} has no name; name every column (id, an input, an output or closest:<input>)`, {
        file,
        column: col + 1,
      });
    }
    if (seen.has(h)) {
      throw new NetinvertError('bad_query', `${file}, line 1: column "${h}" appears twice in the header; give each column once`, { file, column: h });
    }
    seen.add(h);
    if (h === 'id') {
      layout.idCol = col;
      return;
    }
    if (h.startsWith('closest:')) {
      const name = h.slice('closest:'.length).trim();
      if (net.inputIndex(name) < 0) {
        throw new NetinvertError(
          'unknown_input',
          `${file}, line 1: column "${h}" names "${name}", which is not an input of the model; ${features}`,
          { file, column: h, input: name },
        );
      }
      layout.closest.push({ col, name });
      return;
    }
    const isIn = net.inputIndex(h) >= 0,
      isOut = net.outputIndex(h) >= 0;
    if (isIn && isOut) {
      throw new NetinvertError('bad_query', `${file}, line 1: column "${h}" is both an input and an output of the model, so the column is ambiguous`, {
        file,
        column: h,
      });
    }
    if (isIn) layout.inputs.push({ col, name: h });
    else if (isOut) layout.outputs.push({ col, name: h });
    else unknown.push(h);
  });
  if (unknown.length) {
    const list = unknown.map((c) => `"${c}"`).join(', ');
    throw new NetinvertError(
      'bad_query',
      `${file}, line 1: ${unknown.length === 1 ? 'column' : 'columns'} ${list} ${unknown.length === 1 ? 'is' : 'are'} not an input or output of the model ` +
        `(nor id or closest:<input>); ${features}`,
      { file, column: unknown[0], columns: unknown },
    );
  }
  if (!layout.outputs.length) {
    throw new NetinvertError(
      'bad_query',
      `${file}, line 1: no column names an output, so no query has a target; add a column per output you want (outputs: ${net.outputNames.join(', ')})`,
      { file },
    );
  }
  const rows: QueryRow[] = [];
  const ids = new Map<string, number>();
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r];
    let id = String(r);
    if (layout.idCol >= 0) {
      id = record[layout.idCol] ?? '';
      if (id === '') {
        throw new NetinvertError('bad_query', `${file}, row ${r} (line ${info.lines}): the id cell is empty; give every row an id, or drop the id column to number the rows`, {
          file,
          row: r,
          line: info.lines,
        });
      }
    }
    const prev = ids.get(id);
    if (prev !== undefined) {
      throw new NetinvertError('bad_query', `${file}, row ${r} (line ${info.lines}): id "${id}" is already used by row ${prev}; ids must be unique (answers and --resume go by id)`, {
        file,
        row: r,
        line: info.lines,
        id,
      });
    }
    ids.set(id, r);
    rows.push({ row: r, line: info.lines, id, cells: record });
  }
  return { layout, rows };
}

function cellNumber(s: string, where: string, what: string): number {
  const t = s.trim();
  const v = t === '' ? NaN : Number(t);
  if (!Number.isFinite(v)) throw new NetinvertError('bad_query', `${where}: "${s}" is not a finite number; ${what}`);
  return v;
}

/** A target cell in the --want syntax without the name: 7, 0.1:0.3, >=0.5, <=2, each with an optional @w. */
export function parseTargetCell(cell: string, where: string): TargetSpec {
  const syntax = 'a target is 7, lo:hi, >=v or <=v, with an optional weight @w';
  let it = cell.trim(),
    weight: number | undefined;
  const at = it.lastIndexOf('@');
  if (at >= 0) {
    weight = cellNumber(it.slice(at + 1), `${where}, weight`, 'write the weight as @w, e.g. 7@2');
    it = it.slice(0, at).trim();
  }
  const w = weight === undefined ? {} : { weight };
  if (it.startsWith('>=')) return { ge: cellNumber(it.slice(2), where, syntax), ...w };
  if (it.startsWith('<=')) return { le: cellNumber(it.slice(2), where, syntax), ...w };
  if (it.startsWith('=')) it = it.slice(1).trim();
  const c = it.indexOf(':', 1);
  if (c > 0) return { range: [cellNumber(it.slice(0, c), `${where}, low end`, syntax), cellNumber(it.slice(c + 1), `${where}, high end`, syntax)], ...w };
  const v = cellNumber(it, where, syntax);
  return weight === undefined ? v : { eq: v, weight };
}

function hasReference(layout: Layout, q: QueryRow): boolean {
  return layout.closest.some(({ col }) => (q.cells[col] ?? '') !== '');
}

/** The query of one row; throws NetinvertError naming the row and column. */
export function rowQuery(layout: Layout, q: QueryRow, s: Settings): Query {
  const at = `row ${q.row} (line ${q.line})`;
  if (q.cells.length !== layout.width) {
    throw new NetinvertError('bad_query', `${at}: ${q.cells.length} cells, but the header has ${layout.width} columns`, { row: q.row });
  }
  const given: Record<string, number> = {};
  for (const { col, name } of layout.inputs) {
    const cell = q.cells[col];
    if (cell !== '') given[name] = cellNumber(cell, `${at}, column "${name}"`, 'an input cell holds a known value, or stays empty for an unknown');
  }
  const want: Record<string, TargetSpec> = {};
  for (const { col, name } of layout.outputs) {
    const cell = q.cells[col];
    if (cell !== '') want[name] = parseTargetCell(cell, `${at}, column "${name}"`);
  }
  if (!Object.keys(want).length) {
    throw new NetinvertError('bad_query', `${at}: every output cell is empty, so the query has no target; fill in at least one of ${layout.outputs.map((o) => o.name).join(', ')}`, {
      row: q.row,
    });
  }
  const closestTo: Record<string, number> = {};
  for (const { col, name } of layout.closest) {
    const cell = q.cells[col];
    if (cell !== '') closestTo[name] = cellNumber(cell, `${at}, column "closest:${name}"`, 'a reference cell holds a number, or stays empty');
  }
  return {
    given,
    want,
    bounds: s.bounds,
    ...(Object.keys(closestTo).length ? { closestTo, distance: s.distance } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// the answers file

/** The answers header for a model. */
export function answersHeader(model: Model): string[] {
  const net = model.network;
  return ['id', 'status', 'complete', 'max_miss', 'n_solutions', 'solution', ...net.inputNames, ...net.outputNames, 'message'];
}

/** One CSV field, quoted per RFC 4180 when it holds a comma, quote, line break or edge space. */
export function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(fields: string[]): string {
  return fields.map(csvField).join(',') + '\n';
}

const num = (x: number | undefined): string => (x === undefined ? '' : String(x));

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** The answer rows of one query. */
export function answerRows(model: Model, id: string, result: InvertResult, withReference: boolean): string[][] {
  const net = model.network;
  const notes = [result.message, ...result.warnings.map((w) => `warning: ${w}`)].join('; ');
  const point = (p: Solution | undefined): string[] => [
    ...net.inputNames.map((k) => num(p?.inputs[k])),
    ...net.outputNames.map((k) => num(p?.outputs[k])),
  ];
  const head = (p: Solution | undefined, index: string): string[] => [
    id,
    result.status,
    String(result.complete),
    num(p?.maxMiss),
    String(result.solutions.length),
    index,
  ];
  if (result.status === 'solved' && result.solutions.length) {
    const sols = withReference ? [result.closest ?? result.solutions[0]] : result.solutions;
    return sols.map((s, i) => [...head(s, String(i + 1)), ...point(s), oneLine(notes)]);
  }
  const p = result.status === 'infeasible' ? undefined : result.best;
  return [[...head(p, ''), ...point(p), oneLine(notes)]];
}

export function errorRow(model: Model, id: string, message: string): string[] {
  const net = model.network;
  return [id, 'error', '', '', '', '', ...net.inputNames.map(() => ''), ...net.outputNames.map(() => ''), oneLine(message)];
}

interface ScannedRecord {
  fields: string[];
  /** Character offsets: start of the record, and just past its line end. */
  start: number;
  end: number;
}

/**
 * Split CSV text into complete records (each ended by a line break), RFC 4180 quoting. A last
 * record with no line break (a partly written line) is not returned: `tail` is where it starts.
 */
export function scanCsvRecords(text: string, file: string): { records: ScannedRecord[]; tail: number } {
  const records: ScannedRecord[] = [];
  const n = text.length;
  let i = 0,
    line = 1;
  const damaged = (why: string): never => {
    throw new NetinvertError('bad_argument', `${file}, line ${line}: the answers file is damaged (${why}); remove it, or fix that line, and run again`, {
      file,
      line,
    });
  };
  while (i < n) {
    const start = i;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) return { records, tail: start };
          value += text.slice(i, q);
          if (text[q + 1] === '"') {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        value = text.slice(i, j);
        if (value.includes('"')) damaged('a quote inside an unquoted field');
        i = j;
      }
      fields.push(value);
      if (i >= n) return { records, tail: start };
      const c = text[i];
      if (c === ',') {
        i++;
        continue;
      }
      if (c === '\n') {
        i++;
        break;
      }
      if (c === '\r') {
        if (i + 1 >= n) return { records, tail: start };
        if (text[i + 1] === '\n') {
          i += 2;
          break;
        }
      }
      damaged(`unexpected ${JSON.stringify(c)} after a quoted field`);
    }
    line += (text.slice(start, i).match(/\n/g) ?? []).length;
    if (fields.length === 1 && fields[0] === '' && text[start] !== '"') continue; // blank line
    records.push({ fields, start, end: i });
  }
  return { records, tail: n };
}

interface ExistingAnswers {
  /** Status of each query already answered, by id. */
  answered: Map<string, RowStatus>;
  /** Byte length to keep (the rest is a partial line or an incomplete last query). */
  keepBytes: number;
  /** Whether the kept part holds the header. */
  hasHeader: boolean;
  /** What was dropped, for the user. */
  dropped: string[];
}

/** Read an answers file for --resume: which ids are done, and where the complete part ends. */
export function readExistingAnswers(text: string, header: string[], file: string, layout: Layout, queries: QueryRow[]): ExistingAnswers {
  const { records, tail } = scanCsvRecords(text, file);
  const bytes = (chars: number): number => Buffer.byteLength(text.slice(0, chars), 'utf8');
  const dropped: string[] = tail < text.length ? ['a partly written last line'] : [];
  if (!records.length) return { answered: new Map(), keepBytes: 0, hasHeader: false, dropped };
  const got = records[0].fields;
  if (got.length !== header.length || got.some((h, i) => h !== header[i])) {
    throw new NetinvertError(
      'bad_argument',
      `${file}: its header (${got.join(',')}) is not the one this model's answers have (${header.join(',')}); ` +
        'it was written for another model or by another program: remove it or write to another file',
      { file },
    );
  }
  const byId = new Map(queries.map((q) => [q.id, q]));
  // group the rows by id: a query's rows are contiguous
  const groups: { id: string; rows: ScannedRecord[] }[] = [];
  const lineOf = (rec: ScannedRecord): number => (text.slice(0, rec.start).match(/\n/g) ?? []).length + 1;
  for (const rec of records.slice(1)) {
    if (rec.fields.length !== header.length) {
      throw new NetinvertError('bad_argument', `${file}, line ${lineOf(rec)}: ${rec.fields.length} fields where the header has ${header.length}; the answers file is damaged: remove it, or fix that line`, {
        file,
      });
    }
    const id = rec.fields[0];
    const last = groups[groups.length - 1];
    if (last && last.id === id) last.rows.push(rec);
    else {
      if (groups.some((g) => g.id === id)) {
        throw new NetinvertError('bad_argument', `${file}, line ${lineOf(rec)}: id "${id}" is answered twice; the answers file is damaged: remove it, or remove the repeated rows`, {
          file,
          id,
        });
      }
      if (!byId.has(id)) {
        throw new NetinvertError(
          'bad_argument',
          `${file}, line ${lineOf(rec)}: it answers id "${id}", which is not in ${layout.file}; was it written for another queries file? Remove it or write to another file`,
          { file, id },
        );
      }
      groups.push({ id, rows: [rec] });
    }
  }
  const complete = (g: { id: string; rows: ScannedRecord[] }): boolean => {
    const status = g.rows[0].fields[1];
    if (status !== 'solved' || g.rows[0].fields[5] === '') return g.rows.length === 1;
    const expected = hasReference(layout, byId.get(g.id)!) ? 1 : Number(g.rows[0].fields[4]);
    return g.rows.length === expected && g.rows.every((r, i) => r.fields[1] === 'solved' && r.fields[5] === String(i + 1));
  };
  let keepChars = records[records.length - 1].end;
  groups.forEach((g, k) => {
    if (complete(g)) return;
    if (k === groups.length - 1) {
      keepChars = g.rows[0].start;
      dropped.unshift(`the incomplete answer of id "${g.id}"`);
      groups.pop();
    } else {
      throw new NetinvertError('bad_argument', `${file}: the rows of id "${g.id}" are incomplete; the answers file is damaged: remove it, or remove those rows`, {
        file,
        id: g.id,
      });
    }
  });
  const answered = new Map<string, RowStatus>(groups.map((g) => [g.id, g.rows[0].fields[1] as RowStatus]));
  return { answered, keepBytes: bytes(keepChars), hasHeader: true, dropped };
}

// ---------------------------------------------------------------------------------------------
// exit code and reports

/** 0 if every query is solved; 1 if any is an error; else the largest code among the statuses present. */
export function batchExitCode(statuses: Iterable<RowStatus>): number {
  let code = 0;
  for (const s of statuses) {
    if (s === 'error') return EXIT.error;
    code = Math.max(code, EXIT[s] ?? EXIT.error);
  }
  return code;
}

const STATUS_ORDER: RowStatus[] = ['solved', 'best-compromise', 'infeasible', 'unknown', 'error'];

function counts(statuses: Iterable<RowStatus>): string {
  const c = new Map<RowStatus, number>();
  for (const s of statuses) c.set(s, (c.get(s) ?? 0) + 1);
  const parts = STATUS_ORDER.filter((s) => c.has(s)).map((s) => `${c.get(s)} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
}

function shellWord(s: string): string {
  return /^[\w./:=,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that finishes an interrupted run: the same options, plus --resume. */
function resumeCommand(modelPath: string, queriesPath: string, out: string, opts: Record<string, unknown>): string {
  const words = ['netinvert', 'batch', modelPath, queriesPath, '-o', out];
  if (typeof opts.meta === 'string') words.push('--meta', opts.meta);
  for (const b of (opts.bounds as string[] | undefined) ?? []) words.push('--bounds', b);
  const flags: [keyof typeof DEFAULTS, string][] = [
    ['method', '--method'],
    ['atol', '--atol'],
    ['rtol', '--rtol'],
    ['seed', '--seed'],
    ['maxEvaluations', '--max-evaluations'],
    ['timeLimit', '--time-limit'],
    ['distance', '--distance'],
    ['maxBoxes', '--max-boxes'],
  ];
  for (const [k, flag] of flags) if (opts[k] !== undefined && String(opts[k]) !== DEFAULTS[k]) words.push(flag, String(opts[k]));
  if (opts.prove) words.push('--prove');
  words.push('--resume');
  return words.map(shellWord).join(' ');
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
// the command

export async function batchCommand(
  modelPath: string,
  queriesPath: string,
  opts: Record<string, unknown>,
  io: IO,
  hooks: BatchHooks = {},
): Promise<number> {
  const t0 = Date.now();
  if (typeof opts.out !== 'string' || opts.out.trim() === '') bad('say where to write the answers with -o (e.g. -o answers.csv)');
  const out = opts.out;
  const model = loadModelFile(modelPath, opts.meta as string | undefined);
  const s = settings(opts, model);
  const { layout, rows } = readQueries(readQueriesText(queriesPath), model, queriesPath);
  const header = answersHeader(model);

  // the answers file: fresh, or resumed
  let existing: ExistingAnswers = { answered: new Map(), keepBytes: 0, hasHeader: false, dropped: [] };
  const present = existsSync(out);
  if (present && !statSync(out).isFile()) bad(`${out}: not a file; give -o a file path`, { file: out });
  if (present && statSync(out).size > 0) {
    if (!opts.resume) {
      bad(`${out} already exists and is not empty; pass --resume to continue it, or remove the file to start over`, { file: out });
    }
    existing = readExistingAnswers(readFileSync(out, 'utf8'), header, out, layout, rows);
  }
  if (existing.dropped.length) io.err(`${out}: discarding ${existing.dropped.join(' and ')}; it will be answered again`);
  let fd: number;
  try {
    if (present) truncateSync(out, existing.keepBytes);
    fd = openSync(out, 'a');
  } catch (e) {
    bad(`${out}: cannot write the answers (${(e as Error).message}); check that the folder exists and is writable`, { file: out });
  }
  const append = (text: string): void => {
    writeSync(fd, text);
    fsyncSync(fd);
  };

  const statuses = new Map<string, RowStatus>(existing.answered);
  const pending = rows.filter((q) => !existing.answered.has(q.id));
  const skipped = rows.length - pending.length;

  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  const handleSignals = hooks.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const stopped = (): boolean => stop || hooks.signal?.aborted === true;

  const progress = hooks.progress === undefined ? defaultProgress() : hooks.progress;
  const every = hooks.progressEveryMs ?? 1000;
  let lastProgress = Date.now(),
    progressShown = false;
  let answeredNow = 0;
  const run = s.prove ? certify : invert;
  const options = {
    method: s.method,
    atol: s.atol,
    rtol: s.rtol,
    seed: s.seed,
    maxEvaluations: s.maxEvaluations,
    timeLimit: s.timeLimit,
    maxBoxes: s.maxBoxes,
  };

  try {
    if (!existing.hasHeader) append(csvLine(header));
    for (const q of pending) {
      if (stopped()) break;
      // let a pending SIGINT/SIGTERM reach its handler: each query runs synchronously
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stopped()) break;
      let lines: string[][];
      let status: RowStatus;
      try {
        const result = run(model, rowQuery(layout, q, s), options);
        lines = answerRows(model, q.id, result, hasReference(layout, q));
        status = result.status;
      } catch (e) {
        const msg =
          e instanceof NetinvertError
            ? `error [${e.code}]: ${e.message.startsWith('row ') ? '' : `row ${q.row} (line ${q.line}): `}${e.message}`
            : `internal error: ${(e as Error)?.message ?? String(e)} (please report this)`;
        lines = [errorRow(model, q.id, msg)];
        status = 'error';
      }
      append(lines.map(csvLine).join(''));
      statuses.set(q.id, status);
      answeredNow++;
      hooks.onAnswered?.(q.id, answeredNow);
      if (progress && Date.now() - lastProgress >= every) {
        lastProgress = Date.now();
        progressShown = true;
        progress.write(`\r\x1b[Kbatch: ${statuses.size}/${rows.length} queries (${counts(statuses.values())}), ${seconds(Date.now() - t0)}`);
      }
    }
  } finally {
    closeSync(fd);
    if (handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    if (progress && progressShown) progress.write('\r\x1b[K');
  }

  const interrupted = statuses.size < rows.length;
  const earlier = opts.resume ? ` (${skipped} answered by an earlier run, ${answeredNow} now)` : '';
  io.out(
    `batch: ${statuses.size} of ${rows.length} ${rows.length === 1 ? 'query' : 'queries'} answered${earlier} in ${seconds(Date.now() - t0)}: ` +
      `${counts(statuses.values())} → ${out}`,
  );
  if (interrupted) {
    io.err(
      `interrupted: ${statuses.size} of ${rows.length} queries are answered in ${out}; to answer the other ${rows.length - statuses.size}, run:\n` +
        `  ${resumeCommand(modelPath, queriesPath, out, opts)}`,
    );
    return EXIT_INTERRUPTED;
  }
  return batchExitCode(statuses.values());
}
