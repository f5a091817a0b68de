/**
 * The batch queries file: a header row, then one query per row.
 *
 *   id              optional; any text, unique per file. Default: the 1-based data-row number.
 *   <input>         a model input: the known value; an empty cell means "unknown, solve for it".
 *   <output>        a model output: its target in the --want syntax without the name (parsed by
 *                   cli/parse.ts, the grammar --want uses): 7 (equal), 0.1:0.3 (range), >=0.5,
 *                   <=2, each with an optional weight @w (e.g. 7@2). Empty leaves the output free.
 *   <form>          a linear form of outputs as the column name ("y0 - y1", "2*y0 + y3"): its target,
 *                   as for an output column.
 *   want, want:<x>  a list of targets in the --want syntax, names included ("y0 - y1 <= 0, y2 = 3";
 *                   quote the cell for its commas); several such columns add up.
 *   any             a disjunction in the --any syntax ("y0 >= 1 ; y1 <= 0"): one clause must hold.
 *   want-class      a classifier target as --want-class: this output (a class's logit, or its index)
 *                   beats every other by the row's margin (cli/wantClass.ts: logit_k − logit_j ≥ m).
 *   margin          the margin of the row's want-class (default 0; only with a want-class cell).
 *   closest:<input> optional reference value for an unknown input: the answer is the solution
 *                   closest to the reference (as `solve --closest-to`).
 *   subject-to      linear constraints among the inputs in the --subject-to syntax, commas between
 *                   them ("a - b >= 1, x1 + x2 = 1"; quote the cell): every answer of the row meets them.
 *   integer         discrete unknowns, as --integer: input names that take integer values only
 *                   ("n_layers, b"; commas or semicolons between them).
 *   categorical:<input>  the values that input may take, as --categorical: "1,2.5,4" or 1;2.5;4.
 *   one-hot:<group> a one-hot group, as --one-hot: its input columns ("color_red,color_green").
 *                   Each is the row's own declaration: it wins over batch's --integer / --categorical /
 *                   --one-hot and over the model's sidecar for the same input or group (problem/discrete.ts
 *                   withDiscreteDefaults); an empty cell declares nothing.
 * Every target is parsed by the one grammar of problem/targets.ts.
 *
 * The header is checked against the model before anything runs: a column that is none of these,
 * or a second column for the same id, input, output or reference, is an error naming the column,
 * the file and the model's inputs and outputs. A bad cell makes only its own row an error row.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
// csv-parse's Node build: its browser build (train/csv.ts) converts text with a JavaScript Buffer
// shim, 6× slower on 10,000 rows (0.4 s against 0.07 s), paid by every batch command
import { CsvError, parse } from 'csv-parse/sync';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { Query, TargetSpec } from '../../problem/query.ts';
import { withDiscreteDefaults } from '../../problem/discrete.ts';
import { parseNumber } from '../parse.ts';
import { parseAnyList, parseForm, parseTargetList, parseTargetSpec, splitList } from '../../problem/targets.ts';
import type { Settings } from './options.ts';
import { addClassTargets } from '../wantClass.ts';

/** Largest queries file read (bytes). */
export const MAX_QUERIES_BYTES = 256 * 1024 * 1024;

/** Where each kind of column sits in the queries file. */
export interface Layout {
  file: string;
  width: number;
  idCol: number;
  inputs: { col: number; name: string }[];
  outputs: { col: number; name: string }[];
  closest: { col: number; name: string }[];
  /** `want` / `want:<x>` columns: whole --want lists. */
  wants: { col: number; name: string }[];
  /** The `any` column (a --any disjunction), or −1. */
  anyCol: number;
  /** The `subject-to` column (--subject-to constraints among the inputs), or −1. */
  subjectToCol?: number;
  /** The `integer` column (--integer), `categorical:<input>` and `one-hot:<group>` columns: discrete unknowns. */
  integerCol?: number;
  categorical?: { col: number; name: string }[];
  oneHot?: { col: number; name: string }[];
  /** The `want-class` and `margin` columns (--want-class, --margin), and the model's outputs they need. */
  wantClassCol?: number;
  marginCol?: number;
  outputNames?: string[];
}

export interface QueryRow {
  /** 1-based data-row number. */
  row: number;
  /** Line of the file where the row ends (1-based, as an editor shows it). */
  line: number;
  id: string;
  cells: string[];
}

/** The queries file's bytes (they are also hashed into the answers' meta file). */
export function readQueriesBytes(path: string): Buffer {
  const bad = (message: string): never => {
    throw new NetinvertError('bad_argument', message, { file: path });
  };
  if (!existsSync(path)) bad(`${path}: no such queries file; check the path`);
  const st = statSync(path);
  if (!st.isFile()) bad(`${path}: not a file`);
  if (st.size > MAX_QUERIES_BYTES) {
    throw new NetinvertError('file_too_large', `${path}: ${st.size} bytes is above the ${MAX_QUERIES_BYTES}-byte limit for a queries file`, { file: path });
  }
  return readFileSync(path);
}

interface ParsedRecord {
  record: string[];
  info: { lines: number };
}

/** What a header column stands for: the same key twice is the same column given twice. */
function columnKey(h: string, net: Model['network']): string {
  if (h === 'id') return 'id';
  if (isListColumn(h, net)) return `list:${h}`;
  if (h.startsWith('closest:')) return `closest:${h.slice('closest:'.length).trim()}`;
  for (const p of DISCRETE_PREFIXES) if (isPrefixed(h, p, net)) return `${p}${h.slice(p.length).trim()}`;
  return net.inputIndex(h) >= 0 ? `input:${h}` : `output:${h}`;
}

/** The prefixes of discrete columns: categorical:<input>, one-hot:<group>. */
const DISCRETE_PREFIXES = ['categorical:', 'one-hot:'] as const;

/** A column `<prefix><name>` (unless the model has a feature of that whole name). */
function isPrefixed(h: string, prefix: string, net: Model['network']): boolean {
  return h.startsWith(prefix) && net.inputIndex(h) < 0 && net.outputIndex(h) < 0;
}

/** A `want`, `want:<x>` or `any` column (unless the model has a feature of that name). */
function isListColumn(h: string, net: Model['network']): boolean {
  if (net.inputIndex(h) >= 0 || net.outputIndex(h) >= 0) return false;
  return h === 'want' || h === 'any' || h === 'subject-to' || h === 'integer' || h === 'want-class' || h === 'margin' || h.startsWith('want:');
}

/** Is the header a linear form of the model's outputs ("y0 - y1")? */
function isFormColumn(h: string, net: Model['network']): boolean {
  try {
    parseForm(h, net.outputNames);
    return true;
  } catch {
    return false;
  }
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
  const layout: Layout = { file, width: header.length, idCol: -1, inputs: [], outputs: [], closest: [], wants: [], anyCol: -1 };
  const seen = new Map<string, string>();
  const unknown: string[] = [];
  header.forEach((h, col) => {
    if (h === '') {
      throw new NetinvertError('bad_query', `${file}, line 1: column ${col + 1} has no name; name every column (id, an input, an output or closest:<input>)`, {
        file,
        column: col + 1,
      });
    }
    const key = columnKey(h, net);
    const first = seen.get(key);
    if (first === h) {
      throw new NetinvertError('bad_query', `${file}, line 1: column "${h}" appears twice in the header; give each column once`, { file, column: h });
    }
    if (first !== undefined) {
      // two spellings of one column (closest:b and "closest: b"): which would win is a silent guess
      throw new NetinvertError(
        'bad_query',
        `${file}, line 1: column "${h}" names the same input (${key.slice(key.indexOf(':') + 1)}) as column "${first}"; give each column once`,
        { file, column: h },
      );
    }
    seen.set(key, h);
    if (h === 'id') {
      layout.idCol = col;
      return;
    }
    if (isListColumn(h, net)) {
      if (h === 'any') layout.anyCol = col;
      else if (h === 'subject-to') layout.subjectToCol = col;
      else if (h === 'integer') layout.integerCol = col;
      else if (h === 'want-class') {
        layout.wantClassCol = col;
        layout.outputNames = net.outputNames.slice();
      } else if (h === 'margin') layout.marginCol = col;
      else layout.wants.push({ col, name: h });
      return;
    }
    if (isPrefixed(h, 'one-hot:', net)) {
      const name = h.slice('one-hot:'.length).trim();
      if (name === '') throw new NetinvertError('bad_query', `${file}, line 1: column "${h}" names no group; write one-hot:<group>`, { file, column: h });
      (layout.oneHot ??= []).push({ col, name });
      return;
    }
    if (isPrefixed(h, 'categorical:', net)) {
      const name = h.slice('categorical:'.length).trim();
      if (net.inputIndex(name) < 0) {
        throw new NetinvertError('unknown_input', `${file}, line 1: column "${h}" names "${name}", which is not an input of the model; ${features}`, { file, column: h, input: name });
      }
      (layout.categorical ??= []).push({ col, name });
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
    else if (isOut || isFormColumn(h, net)) layout.outputs.push({ col, name: h });
    else unknown.push(h);
  });
  if (unknown.length) {
    const list = unknown.map((c) => `"${c}"`).join(', ');
    throw new NetinvertError(
      'bad_query',
      `${file}, line 1: ${unknown.length === 1 ? 'column' : 'columns'} ${list} ${unknown.length === 1 ? 'is' : 'are'} not an input or output of the model ` +
        `(nor a linear form of outputs, id, want, any, want-class, margin, subject-to, integer, categorical:<input>, one-hot:<group> or closest:<input>); ${features}`,
      { file, column: unknown[0], columns: unknown },
    );
  }
  if (layout.marginCol !== undefined && layout.wantClassCol === undefined) {
    throw new NetinvertError('bad_query', `${file}, line 1: column "margin" is the margin of a want-class column, and there is none; add a want-class column (a class per row)`, {
      file,
      column: 'margin',
    });
  }
  if (!layout.outputs.length && !layout.wants.length && layout.anyCol < 0 && layout.wantClassCol === undefined) {
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
  return parseNumber(s, where, { hint: what });
}

/**
 * A target cell: the --want syntax without the name (7, 0.1:0.3, >=0.5, <=2, each with an
 * optional @w), parsed by the same grammar as --want (cli/parse.ts); "=7" is accepted too.
 */
export function parseTargetCell(cell: string, where: string): TargetSpec {
  const t = cell.trim();
  try {
    return parseTargetSpec(/^(>=|<=|=)/.test(t) ? t : `=${t}`, where);
  } catch (e) {
    if (!(e instanceof NetinvertError)) throw e;
    throw new NetinvertError(e.code, `${e.message}; a target is 7, lo:hi, >=v or <=v, with an optional weight @w`, e.detail);
  }
}

export function hasReference(layout: Layout, q: QueryRow): boolean {
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
  for (const { col, name } of layout.wants) {
    const cell = q.cells[col];
    if (cell === '') continue;
    for (const [k, t] of Object.entries(parseTargetList([cell], `${at}, column "${name}"`))) {
      if (Object.hasOwn(want, k)) {
        throw new NetinvertError('duplicate_name', `${at}, column "${name}": "${k}" already has a target in this row; give each target once`, { row: q.row, name: k });
      }
      want[k] = t;
    }
  }
  const anyCell = layout.anyCol >= 0 ? q.cells[layout.anyCol] : '';
  const anyOf = anyCell === '' ? [] : parseAnyList([anyCell], `${at}, column "any"`);
  const classCell = layout.wantClassCol !== undefined ? q.cells[layout.wantClassCol] : '';
  const marginCell = layout.marginCol !== undefined ? q.cells[layout.marginCol] : '';
  if (marginCell !== '' && classCell === '') {
    throw new NetinvertError('bad_query', `${at}, column "margin": a margin with no want-class in this row; fill in the row's want-class, or leave the margin empty`, { row: q.row });
  }
  let classed: Query | null = null;
  if (classCell !== '') {
    const margin = marginCell === '' ? 0 : cellNumber(marginCell, `${at}, column "margin"`, 'the margin of the row\'s want-class, a number (default 0)');
    classed = addClassTargets({ want }, layout.outputNames ?? [], classCell, margin, `${at}, column "want-class"`);
  }
  if (classed) Object.assign(want, classed.want);
  if (!Object.keys(want).length && !anyOf.length) {
    throw new NetinvertError('bad_query', `${at}: every output cell is empty, so the query has no target; fill in at least one of ${layout.outputs.map((o) => o.name).join(', ')}`, {
      row: q.row,
    });
  }
  const closestTo: Record<string, number> = {};
  for (const { col, name } of layout.closest) {
    const cell = q.cells[col];
    if (cell !== '') closestTo[name] = cellNumber(cell, `${at}, column "closest:${name}"`, 'a reference cell holds a number, or stays empty');
  }
  const consCell = layout.subjectToCol !== undefined && layout.subjectToCol >= 0 ? q.cells[layout.subjectToCol] : '';
  const constraints = consCell === '' ? [] : splitList(consCell, ',');
  const query: Query = {
    given,
    want,
    ...(anyOf.length ? { anyOf } : {}),
    ...(constraints.length ? { constraints } : {}),
    bounds: s.bounds,
    ...(Object.keys(closestTo).length ? { closestTo, distance: s.distance, ...counterfactualControls(s) } : {}),
    ...rowDiscrete(layout, q, at),
    ...(s.prior ? { prior: s.prior } : {}),
  };
  // batch's --integer / --categorical / --one-hot: every row's defaults, the row's own cells win
  const flags = { integers: s.integers, categorical: s.categorical, oneHot: s.oneHot };
  return s.integers || s.categorical || s.oneHot ? withDiscreteDefaults(query, flags, 'batch --integer / --categorical / --one-hot') : query;
}

/** A list cell: items between commas or semicolons (";" needs no CSV quoting), blanks dropped. */
function cellItems(cell: string): string[] {
  return cell
    .split(/[,;]/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** The row's own discrete unknowns: the integer, categorical:<input> and one-hot:<group> cells. */
function rowDiscrete(layout: Layout, q: QueryRow, at: string): Pick<Query, 'integers' | 'categorical' | 'oneHot'> {
  const out: Pick<Query, 'integers' | 'categorical' | 'oneHot'> = {};
  const intCell = layout.integerCol !== undefined ? q.cells[layout.integerCol] : '';
  if (intCell !== '') out.integers = cellItems(intCell);
  for (const { col, name } of layout.categorical ?? []) {
    const cell = q.cells[col];
    if (cell === '') continue;
    const where = `${at}, column "categorical:${name}"`;
    (out.categorical ??= {})[name] = cellItems(cell).map((x) => cellNumber(x, where, 'the values the input may take, e.g. "1,2.5,4" or 1;2.5;4'));
  }
  for (const { col, name } of layout.oneHot ?? []) {
    const cell = q.cells[col];
    if (cell !== '') (out.oneHot ??= {})[name] = cellItems(cell);
  }
  return out;
}

/** The batch's monotone and fixed inputs (--only-increase, --only-decrease, --fixed), for a row with a reference. */
function counterfactualControls(s: Settings): Pick<Query, 'onlyIncrease' | 'onlyDecrease' | 'fixed'> {
  return {
    ...(s.onlyIncrease?.length ? { onlyIncrease: s.onlyIncrease.slice() } : {}),
    ...(s.onlyDecrease?.length ? { onlyDecrease: s.onlyDecrease.slice() } : {}),
    ...(s.fixed?.length ? { fixed: s.fixed.slice() } : {}),
  };
}
