/**
 * CSV text → the numeric table the trainer needs. Browser-safe: it takes text, not a path
 * (the CLI reads the file), and uses csv-parse's browser ESM build, which carries its own
 * Buffer shim instead of Node's global.
 *
 * The first row must be a header naming the columns. Only the columns named as inputs or
 * outputs must be numeric: other columns (ids, labels) are ignored.
 */
import { CsvError, parse } from 'csv-parse/browser/esm/sync';
import { NetinvertError } from '../errors.ts';
import type { TrainingData } from './train.ts';

/** Fewest data rows accepted: with a validation split, fewer leave nothing to fit or check. */
export const MIN_CSV_ROWS = 4;

/**
 * Why a CSV was refused, kept in `error.detail.reason` (the error's code is `bad_argument`:
 * a data file is an argument of the trainer).
 */
export type CsvProblem = 'empty_file' | 'no_header' | 'malformed_csv' | 'duplicate_column' | 'missing_column' | 'non_numeric' | 'too_few_rows';

function fail(reason: CsvProblem, message: string, detail: Record<string, unknown>): never {
  throw new NetinvertError('bad_argument', message, { reason, ...detail });
}

export interface CsvColumns {
  inputs: string[];
  outputs: string[];
  /** Names the file in error messages (default "<csv>"). */
  file?: string;
  /** Fewest data rows accepted (default MIN_CSV_ROWS). */
  minRows?: number;
}

interface Record_ {
  record: string[];
  info: { lines: number };
}

/**
 * Parse CSV text and pick the input and output columns as row-major Float64Arrays.
 * Errors name the file, the line (1-based, as an editor shows it) and the column.
 */
export function readTrainingCsv(text: string, columns: CsvColumns): TrainingData {
  const file = columns.file ?? '<csv>';
  const minRows = columns.minRows ?? MIN_CSV_ROWS;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    fail('empty_file', `${file}: the file is empty; expected a header row (e.g. "a,b,sum") and data rows`, { file });
  }
  let records: Record_[];
  try {
    records = parse(body, { info: true, skip_empty_lines: true, trim: true, relax_quotes: false }) as unknown as Record_[];
  } catch (e) {
    if (e instanceof CsvError) {
      const line = (e as unknown as { lines?: number }).lines;
      fail('malformed_csv', `${file}${line ? `, line ${line}` : ''}: not valid CSV (${e.message}); check quoting and the number of fields per row`, {
        file,
        line,
        csvCode: e.code,
      });
    }
    throw e;
  }
  if (records.length === 0) fail('empty_file', `${file}: the file holds no rows; expected a header row and data rows`, { file });

  const header = records[0].record;
  if (header.every((h) => h !== '' && Number.isFinite(Number(h)))) {
    fail('no_header', `${file}, line 1: the first row (${header.join(', ')}) looks like data; the first row must be a header naming the columns`, {
      file,
      line: 1,
    });
  }
  const index = new Map<string, number>();
  header.forEach((h, i) => {
    if (index.has(h)) {
      fail('duplicate_column', `${file}, line 1: column "${h}" appears twice in the header; give each column a distinct name`, {
        file,
        line: 1,
        column: h,
      });
    }
    index.set(h, i);
  });

  const wanted = [...columns.inputs, ...columns.outputs];
  const missing = wanted.filter((c) => !index.has(c));
  if (missing.length) {
    fail(
      'missing_column',
      `${file}: ${missing.length === 1 ? 'column' : 'columns'} ${missing.map((c) => `"${c}"`).join(', ')} not in the header; the columns are ${header.map((h) => `"${h}"`).join(', ')}`,
      { file, column: missing[0], missing },
    );
  }

  const rows = records.length - 1;
  const pick = (names: string[]): Float64Array => {
    const out = new Float64Array(rows * names.length);
    const cols = names.map((c) => index.get(c)!);
    for (let r = 0; r < rows; r++) {
      const { record, info } = records[r + 1];
      for (let j = 0; j < cols.length; j++) {
        const cell = record[cols[j]];
        const v = cell === '' ? NaN : Number(cell);
        if (!Number.isFinite(v)) {
          fail(
            'non_numeric',
            `${file}, line ${info.lines}, column "${names[j]}": ${cell === '' ? 'the cell is empty' : `"${cell}" is not a finite number`}; every input and output cell must be a number`,
            { file, line: info.lines, row: r + 1, column: names[j], value: cell },
          );
        }
        out[r * cols.length + j] = v;
      }
    }
    return out;
  };
  // cells first: a bad cell is the user's first problem to fix, whatever the row count
  const inputs = pick(columns.inputs);
  const outputs = pick(columns.outputs);
  if (rows < minRows) {
    fail('too_few_rows', `${file}: ${rows} data ${rows === 1 ? 'row' : 'rows'}; training needs at least ${minRows}`, { file, rows });
  }
  return {
    inputs,
    outputs,
    inputNames: columns.inputs.slice(),
    outputNames: columns.outputs.slice(),
  };
}
