/**
 * Resuming a batch: what an answers file already holds, and whether it may be continued.
 *
 * Next to ANSWERS.csv the batch keeps ANSWERS.csv.meta.json (written atomically before the first
 * answer row): the model's hash and input ranges (its default bounds), the SHA-256 of the queries
 * file, and every solver option. `--resume` refuses (error `resume_mismatch`) when any of them
 * differs from the run being started, or when the meta file is missing, so answers of two
 * models or two option sets never end up in one file. The answers file itself stays plain CSV
 * (its first line is the header), so any CSV reader reads it.
 *
 * --resume reads the answers file with csv-parse, discards a partly written last record (no
 * trailing newline, or an unclosed quote) and a last query whose rows are not all there, skips
 * every id already answered and appends the rest: the file ends as an uninterrupted run would
 * have written it.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CsvError, parse } from 'csv-parse/sync';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import { COL, csvField, type RowStatus } from './answers.ts';
import { settingArgs, settingWords, VALUE_OPTIONS, type Settings } from './options.ts';
import { hasReference, type Layout, type QueryRow } from './queries.ts';
import { SEEDING } from './solveQuery.ts';

// ---------------------------------------------------------------------------------------------
// the meta file

export const META_FORMAT = 'netinvert-batch-answers';
export const META_VERSION = 1;

/** ANSWERS.csv.meta.json: what the answers in ANSWERS.csv were computed with. */
export interface BatchMeta {
  format: typeof META_FORMAT;
  version: typeof META_VERSION;
  /** The model: its content hash, and its input ranges (the default bounds of unknowns). */
  model: { file: string; hash: string; inputRanges: Record<string, [number, number]> };
  /** The queries file: its path when the batch started (informational) and its SHA-256. */
  queries: { file: string; sha256: string };
  options: Settings;
  /**
   * How each query's solver seed is made from --seed (solveQuery.ts, SEEDING). Absent in files
   * written before the scheme was recorded, whose queries all used --seed itself.
   */
  seeding?: string;
  /** When the answers file was started (informational). */
  started: string;
}

export function metaPath(answers: string): string {
  return `${answers}.meta.json`;
}

function sorted<T>(r: Record<string, T> | undefined): Record<string, T> {
  return Object.fromEntries(Object.keys(r ?? {}).sort().map((k) => [k, r![k]]));
}

export function batchMeta(model: Model, modelPath: string, queriesPath: string, queries: Uint8Array, s: Settings): BatchMeta {
  return {
    format: META_FORMAT,
    version: META_VERSION,
    model: { file: modelPath, hash: model.hash, inputRanges: sorted(model.metadata.inputRanges) },
    queries: { file: queriesPath, sha256: createHash('sha256').update(queries).digest('hex') },
    options: s,
    seeding: SEEDING,
    started: new Date().toISOString(),
  };
}

/** Write the meta file atomically: a temporary file, fsync'd, renamed over the old one. */
export function writeMeta(path: string, meta: BatchMeta): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(meta, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new NetinvertError('bad_argument', `${path}: cannot write the batch's meta file (${(e as Error).message}); check that the folder is writable`, {
      file: path,
    });
  }
  try {
    // make the rename itself durable (POSIX; not possible on every platform)
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    /* best effort */
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Read and shape-check a meta file; a missing one is a mismatch (nothing to check against). */
export function readMeta(path: string, answers: string): BatchMeta {
  if (!existsSync(path)) {
    throw new NetinvertError(
      'resume_mismatch',
      `${path} is missing, so nothing says which model and options the answers in ${answers} were computed with ` +
        `(it was removed, or written by an older netinvert); resuming could mix answers: remove ${answers} to start over, or write to another file (-o)`,
      { file: path },
    );
  }
  const damaged = (why: string): never => {
    throw new NetinvertError('bad_argument', `${path}: the batch's meta file is damaged (${why}); remove ${answers} and ${path} to start over`, { file: path });
  };
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return damaged(`not JSON: ${(e as Error).message}`);
  }
  if (!isObj(m)) return damaged('not a JSON object');
  if (m.format !== META_FORMAT) return damaged(`format is ${JSON.stringify(m.format)}, not "${META_FORMAT}"`);
  if (m.version !== META_VERSION) {
    throw new NetinvertError('unsupported_format_version', `${path}: version ${JSON.stringify(m.version)} is not supported; this netinvert reads version ${META_VERSION}`, {
      file: path,
    });
  }
  if (!isObj(m.model) || typeof m.model.hash !== 'string' || !isObj(m.model.inputRanges)) return damaged('"model" needs "hash" and "inputRanges"');
  if (!isObj(m.queries) || typeof m.queries.sha256 !== 'string') return damaged('"queries" needs "sha256"');
  const o = m.options;
  if (!isObj(o)) return damaged('no "options"');
  // answers started by an older netinvert: its batch wrote no explanations (--explain-boxes 0)
  if (o.explainBoxes === undefined) o.explainBoxes = 0;
  // and ranked its solutions as --rank auto does for a model without a prior, the only kind it read
  if (o.rank === undefined) o.rank = 'auto';
  for (const v of VALUE_OPTIONS) {
    const want = v.key === 'method' || v.key === 'distance' || v.key === 'rank' ? 'string' : 'number';
    if (typeof o[v.key] !== want) return damaged(`options.${v.key} is not a ${want}`);
  }
  if (typeof o.prove !== 'boolean' || !isObj(o.bounds)) return damaged('options.prove or options.bounds is missing');
  if (m.seeding !== undefined && typeof m.seeding !== 'string') return damaged('"seeding" is not a string');
  return m as unknown as BatchMeta;
}

const canon = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (isObj(x) ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]])) : x));

/**
 * Refuse to resume answers computed with another model, queries file or options: one coded
 * `resume_mismatch` error listing every difference and saying what to do.
 */
export function checkMeta(was: BatchMeta, now: BatchMeta, answers: string): void {
  const diffs: string[] = [];
  if (was.model.hash !== now.model.hash) {
    diffs.push(`it was started with another model (hash ${was.model.hash}, ${was.model.file}); ${now.model.file} has hash ${now.model.hash}`);
  } else if (canon(was.model.inputRanges) !== canon(now.model.inputRanges)) {
    diffs.push("the model's input ranges (the default bounds, e.g. from its sidecar) differ from those it was started with");
  }
  if (was.queries.sha256 !== now.queries.sha256) diffs.push(`the queries file ${now.queries.file} changed since it was started`);
  if ((was.seeding ?? 'the same --seed for every query') !== now.seeding) {
    diffs.push(
      `its answers were seeded another way (${was.seeding ?? 'the same --seed for every query, by an older netinvert'}; this netinvert seeds each query with ${now.seeding}), so the rows could differ from a fresh run`,
    );
  }
  const words = new Map(settingWords(was.options));
  const changed: string[] = [];
  for (const [flag, value] of settingWords(now.options)) {
    const before = words.get(flag);
    if (before !== value) changed.push(`${flag}: ${before} when the file was started, ${value} now`);
  }
  if (changed.length) diffs.push(`other options (${changed.join('; ')})`);
  if (!diffs.length) return;
  const fix = changed.length
    ? `rerun with the options it was started with${settingArgs(was.options).length ? ` (${settingArgs(was.options).join(' ')})` : ' (the defaults)'}, or `
    : '';
  throw new NetinvertError(
    'resume_mismatch',
    `${answers}: cannot resume: ${diffs.join('; ')}. Resuming would mix answers computed differently in one file: ` +
      `${fix}write to another file (-o), or remove ${answers} and ${metaPath(answers)} to start over`,
    { file: answers },
  );
}

// ---------------------------------------------------------------------------------------------
// the answers already written

export interface ExistingAnswers {
  /** Status of each query already answered, by id. */
  answered: Map<string, RowStatus>;
  /** Byte length to keep (the rest is a partial line or an incomplete last query). */
  keepBytes: number;
  /** Whether the kept part holds the header. */
  hasHeader: boolean;
  /** What was dropped, for the user. */
  dropped: string[];
}

export interface AnswerRecord {
  fields: string[];
  /** Byte offsets: start of the record, and just past its line end. */
  start: number;
  end: number;
  /** Line where the record ends (1-based). */
  line: number;
}

/**
 * The complete records of an answers file (each ended by a line break), parsed by csv-parse. A
 * last record with no line break, or cut inside a quoted field, is a partly written record: it
 * is not returned, and `tail` is the byte where it starts.
 */
export function readAnswerRecords(bytes: Uint8Array, file: string): { records: AnswerRecord[]; tail: number } {
  const records: AnswerRecord[] = [];
  let prevEnd = 0;
  try {
    parse(bytes, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      on_record: ({ record, info }: { record: string[]; info: { bytes: number; lines: number } }) => {
        records.push({ fields: record, start: prevEnd, end: info.bytes, line: info.lines });
        prevEnd = info.bytes;
        return null;
      },
    } as never);
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    // an opening quote never closed: the last record was cut inside a quoted field
    if (e.code !== 'CSV_QUOTE_NOT_CLOSED') {
      const line = (e as unknown as { lines?: number }).lines;
      throw new NetinvertError('bad_argument', `${file}, line ${line}: the answers file is damaged (${e.message}); remove it, or fix that line, and run again`, {
        file,
        line,
      });
    }
    return { records, tail: prevEnd };
  }
  const last = records[records.length - 1];
  if (last && bytes[last.end - 1] !== 0x0a) {
    records.pop();
    return { records, tail: last.start };
  }
  return { records, tail: bytes.length };
}

/** Read an answers file for --resume: which ids are done, and where the complete part ends. */
export function readExistingAnswers(bytes: Uint8Array, header: string[], file: string, layout: Layout, queries: QueryRow[]): ExistingAnswers {
  const { records, tail } = readAnswerRecords(bytes, file);
  const dropped: string[] = [];
  if (tail < bytes.length) {
    // a partly written record is at most the start of one row: refuse to drop more than that
    const rest = Buffer.from(bytes.subarray(tail)).toString('utf8');
    const oneRow =
      !rest.includes('\n') ||
      queries.some((q) => {
        const id = csvField(q.id);
        return id.startsWith(rest) || (rest.startsWith(`${id},`) && !rest.slice(id.length).includes('\n'));
      });
    if (!oneRow) {
      const line = (Buffer.from(bytes.subarray(0, tail)).toString('utf8').match(/\n/g) ?? []).length + 1;
      throw new NetinvertError('bad_argument', `${file}, line ${line}: the answers file is damaged (a quote opened there is never closed); remove it, or fix that line, and run again`, {
        file,
        line,
      });
    }
    dropped.push('a partly written last line');
  }
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
  const groups: { id: string; rows: AnswerRecord[] }[] = [];
  const seen = new Set<string>();
  for (const rec of records.slice(1)) {
    if (rec.fields.length !== header.length) {
      throw new NetinvertError(
        'bad_argument',
        `${file}, line ${rec.line}: ${rec.fields.length} fields where the header has ${header.length}; the answers file is damaged: remove it, or fix that line`,
        { file, line: rec.line },
      );
    }
    const id = rec.fields[COL.id];
    const last = groups[groups.length - 1];
    if (last && last.id === id) last.rows.push(rec);
    else {
      if (seen.has(id)) {
        throw new NetinvertError('bad_argument', `${file}, line ${rec.line}: id "${id}" is answered twice; the answers file is damaged: remove it, or remove the repeated rows`, {
          file,
          id,
        });
      }
      if (!byId.has(id)) {
        throw new NetinvertError(
          'bad_argument',
          `${file}, line ${rec.line}: it answers id "${id}", which is not in ${layout.file}; was it written for another queries file? Remove it or write to another file`,
          { file, id },
        );
      }
      seen.add(id);
      groups.push({ id, rows: [rec] });
    }
  }
  const complete = (g: { id: string; rows: AnswerRecord[] }): boolean => {
    const first = g.rows[0].fields;
    if (first[COL.status] !== 'solved' || first[COL.solution] === '') return g.rows.length === 1;
    const expected = hasReference(layout, byId.get(g.id)!) ? 1 : Number(first[COL.nSolutions]);
    return g.rows.length === expected && g.rows.every((r, i) => r.fields[COL.status] === 'solved' && r.fields[COL.solution] === String(i + 1));
  };
  let keepBytes = records[records.length - 1].end;
  groups.forEach((g, k) => {
    if (complete(g)) return;
    if (k === groups.length - 1) {
      keepBytes = g.rows[0].start;
      dropped.unshift(`the incomplete answer of id "${g.id}"`);
      groups.pop();
    } else {
      throw new NetinvertError('bad_argument', `${file}: the rows of id "${g.id}" are incomplete; the answers file is damaged: remove it, or remove those rows`, {
        file,
        id: g.id,
      });
    }
  });
  const answered = new Map<string, RowStatus>(groups.map((g) => [g.id, g.rows[0].fields[COL.status] as RowStatus]));
  return { answered, keepBytes, hasHeader: true, dropped };
}

// ---------------------------------------------------------------------------------------------
// the command that finishes an interrupted run

function shellWord(s: string): string {
  return /^[\w./:=,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command that finishes an interrupted run: the same model, queries and settings, plus --resume. */
export function resumeCommand(modelPath: string, queriesPath: string, out: string, meta: string | undefined, s: Settings): string {
  const words = ['netinvert', 'batch', modelPath, queriesPath, '-o', out];
  if (meta !== undefined) words.push('--meta', meta);
  words.push(...settingArgs(s), '--resume');
  return words.map(shellWord).join(' ');
}
