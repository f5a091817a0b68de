/**
 * The batch run: check everything up front, open the answers (a file, resumed or fresh, or
 * standard output), then answer the queries in file order, writing each query's rows as soon as
 * they are known (docs/design.md, "Bad input and untrusted files").
 *
 * SIGINT/SIGTERM stop the batch after the current query; the file is left consistent and the
 * command returns 130. Exit code otherwise: 0 if every query is solved; 1 if any row is an error;
 * else the largest of the codes of the statuses present (2 best-compromise, 3 infeasible,
 * 4 unknown). Queries answered by an earlier run count too.
 */
import { existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { isPiecewiseLinear, outputFeatureNodes } from '../../certify/milp/encode.ts';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import { loadModelFile } from '../loadModelFile.ts';
import { EXIT, type IO } from '../io.ts';
import { parseInteger, readWorkers } from '../parse.ts';
import { answersHeader, AnswersFile, AnswersStdout, csvLine, type AnswersSink, type RowStatus } from './answers.ts';
import { hasCounterfactual, readSettings, settingArgs, type Settings } from './options.ts';
// the queue (BullMQ, ioredis: about a second to load) is imported only by a batch that uses it
import type { QueueBatch } from '../../queue/batch.ts';
import { BatchPool, type Arrival } from './pool.ts';
import { readQueries, readQueriesBytes, type Layout, type QueryRow } from './queries.ts';
import { answerQuery, solver, type Answer } from './solveQuery.ts';
import { batchMeta, checkMeta, metaPath, readExistingAnswers, readMeta, resumeCommand, writeMeta, type ExistingAnswers } from './resume.ts';

/** Exit code of an interrupted batch (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

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

function bad(message: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_argument', message, detail);
}

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

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** --chunk: queued queries per job, a whole number in [1, 1000] (default 1); only with --queue. */
export function readChunk(opts: Record<string, unknown>): number {
  if (opts.chunk === undefined) return 1;
  if (typeof opts.queue !== 'string') bad('--chunk sets how many queries go in one queued job; it needs --queue (a local batch chunks its work by itself)');
  const k = parseInteger(opts.chunk, '--chunk', { min: 1, code: 'bad_argument', unit: 'queries per job', hint: 'the default is 1, one job per query' });
  if (k > 1000) bad(`--chunk must be 1000 or less (got ${k}): a job is answered by one thread, and its answers are stored in Redis as one value`);
  return k;
}

/** "1 m 05 s"-style remaining time for the progress line. */
function eta(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const t = Math.ceil(sec);
  if (t < 60) return `${t} s`;
  const m = Math.floor(t / 60);
  if (m < 60) return `${m} m ${String(t % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/**
 * --method milp encodes only piecewise-linear nets: check the nodes behind the output columns
 * once, up front, rather than failing every row the same way.
 */
function assertMilpLayout(model: Model, layout: Layout): void {
  const feature = outputFeatureNodes(model.network);
  const nodes = [...new Set(layout.outputs.map((o) => feature[model.network.outputIndex(o.name)].node))];
  const r = isPiecewiseLinear(model.network, nodes);
  if (!r.ok) {
    throw new NetinvertError(
      'unsupported_op',
      `--method milp needs a piecewise-linear net (relu, leaky relu, hard-tanh, clip, max/min, abs); node "${r.node}", behind the output columns of ${layout.file}, ` +
        `is ${r.op}. Use --method lm (with --prove for proofs) for smooth nets`,
      { node: r.node, op: r.op, file: layout.file },
    );
  }
}

/** The counterfactual controls apply to rows with a reference: a file without a closest: column is refused up front. */
function assertCounterfactualLayout(s: Settings, layout: Layout): void {
  if (hasCounterfactual(s) && layout.closest.length === 0) {
    bad(
      `--diverse, --sparse, --only-increase, --only-decrease and --fixed act on a reference point, and ${layout.file} has no closest:<input> column; ` +
        'add one (e.g. closest:x1) with each row\'s reference values',
      { file: layout.file },
    );
  }
}

/** `batch --queue URL` without --collect: enqueue every query (once: ids are job keys) and say how to go on. */
async function enqueueOnly(modelPath: string, queriesPath: string, url: string, opts: Record<string, unknown>, io: IO): Promise<number> {
  const model = loadModelFile(modelPath, opts.meta as string | undefined);
  const s = readSettings(opts, model);
  const { layout, rows } = readQueries(readQueriesBytes(queriesPath).toString('utf8'), model, queriesPath);
  if (s.method === 'milp') assertMilpLayout(model, layout);
  assertCounterfactualLayout(s, layout);
  const { QueueBatch } = await import('../../queue/batch.ts');
  const qb = await QueueBatch.open(url, model, s, layout, rows, readChunk(opts));
  try {
    const added = await qb.enqueue(rows);
    io.out(
      `batch: ${rows.length} ${rows.length === 1 ? 'query' : 'queries'} in the queue at ${url} (${added} new, ${rows.length - added} already there), batch ${qb.batch}.\n` +
        `  answer them on any machine: netinvert worker ${url}\n` +
        `  write the answers:          netinvert batch ${[modelPath, queriesPath, ...(opts.meta ? ['--meta', String(opts.meta)] : []), ...settingArgs(s)].join(' ')} --queue ${url}${opts.chunk !== undefined ? ` --chunk ${readChunk(opts)}` : ''} --collect -o answers.csv`,
    );
  } finally {
    await qb.close();
  }
  return 0;
}

export async function batchCommand(
  modelPath: string,
  queriesPath: string,
  opts: Record<string, unknown>,
  io: IO,
  hooks: BatchHooks = {},
): Promise<number> {
  const t0 = Date.now();
  const queueUrl = typeof opts.queue === 'string' ? opts.queue : undefined;
  if (opts.collect && !queueUrl) bad('--collect collects the answers of queued queries: give the queue with --queue redis://host:port/db');
  if (queueUrl && !opts.collect) {
    if (opts.out !== undefined || opts.resume) {
      bad('--queue without --collect only enqueues the queries; to wait for the answers and write them, add --collect (with -o answers.csv)');
    }
    return enqueueOnly(modelPath, queriesPath, queueUrl, opts, io);
  }
  if (typeof opts.out !== 'string' || opts.out.trim() === '') bad('say where to write the answers with -o (e.g. -o answers.csv, or -o - for standard output)');
  const out = opts.out;
  const toStdout = out === '-';
  if (toStdout && opts.resume) {
    bad('--resume continues an answers file, and -o - writes the answers to standard output, where there is nothing to continue; give -o a file');
  }
  const plotFile = typeof opts.plot === 'string' ? opts.plot : null;
  // a bad --plot name is refused before any query runs
  if (plotFile) (await import('../plotFile.ts')).plotFormat(plotFile, '--plot');
  const modelMeta = opts.meta as string | undefined;
  const workers = readWorkers(opts.workers);
  const chunk = readChunk(opts);
  const model = loadModelFile(modelPath, modelMeta);
  const s = readSettings(opts, model);
  const queriesBytes = readQueriesBytes(queriesPath);
  const { layout, rows } = readQueries(queriesBytes.toString('utf8'), model, queriesPath);
  if (s.method === 'milp') assertMilpLayout(model, layout);
  assertCounterfactualLayout(s, layout);
  const header = answersHeader(model);
  const run = await solver(s);

  // the answers: standard output, or a file (fresh, or resumed)
  let existing: ExistingAnswers = { answered: new Map(), keepBytes: 0, hasHeader: false, dropped: [] };
  let sink: AnswersSink;
  if (toStdout) sink = new AnswersStdout(io.out);
  else {
    const present = existsSync(out);
    if (present && !statSync(out).isFile()) bad(`${out}: not a file; give -o a file path`, { file: out });
    const meta = batchMeta(model, modelPath, queriesPath, queriesBytes, s);
    if (present && statSync(out).size > 0) {
      if (!opts.resume) {
        bad(`${out} already exists and is not empty; pass --resume to continue it, or remove the file to start over`, { file: out });
      }
      existing = readExistingAnswers(readFileSync(out), header, out, layout, rows);
      // answers computed with another model, queries file or options must not be continued
      if (existing.answered.size) checkMeta(readMeta(metaPath(out), out), meta, out);
    }
    if (!existing.answered.size) writeMeta(metaPath(out), meta);
    if (existing.dropped.length) io.err(`${out}: discarding ${existing.dropped.join(' and ')}; it will be answered again`);
    if (present) {
      try {
        truncateSync(out, existing.keepBytes);
      } catch (e) {
        bad(`${out}: cannot write the answers (${(e as Error).message}); check that the file is writable`, { file: out });
      }
    }
    sink = new AnswersFile(out);
  }

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

  const tLoop = Date.now();
  /** Wall-clock milliseconds of each query answered by this run (for --plot). */
  const times = new Map<string, number>();
  /**
   * Queries' rows to the sink in one write (one fsync, for a file), then, once they are on disk,
   * the bookkeeping and the progress line.
   */
  const record = (done: [QueryRow, Answer][]): void => {
    if (!done.length) return;
    sink.append(done.map(([, a]) => a.lines.map(csvLine).join('')).join(''));
    for (const [q, answer] of done) {
      statuses.set(q.id, answer.status);
      answeredNow++;
      hooks.onAnswered?.(q.id, answeredNow);
    }
    if (progress && Date.now() - lastProgress >= every) {
      lastProgress = Date.now();
      progressShown = true;
      const rate = answeredNow / Math.max(1e-3, (Date.now() - tLoop) / 1000);
      progress.write(
        `\r\x1b[Kbatch: ${statuses.size}/${rows.length} queries (${counts(statuses.values())}), ${seconds(Date.now() - t0)}, ` +
          `${rate >= 10 ? rate.toFixed(0) : rate.toPrecision(2)} queries/s, ETA ${eta((rows.length - statuses.size) / rate)}`,
      );
    }
  };

  let pool: BatchPool | null = null;
  let qb: QueueBatch | null = null;
  try {
    if (queueUrl) qb = await (await import('../../queue/batch.ts')).QueueBatch.open(queueUrl, model, s, layout, rows, chunk);
    if (!existing.hasHeader) sink.append(csvLine(header));
    const threads = Math.min(workers, pending.length);
    if (threads <= 1 && !qb) {
      for (const q of pending) {
        if (stopped()) break;
        // let a pending SIGINT/SIGTERM reach its handler: a query may run synchronously
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stopped()) break;
        const tq = performance.now();
        const a = await answerQuery(model, layout, q, s, run);
        times.set(q.id, performance.now() - tq);
        record([[q, a]]);
      }
    } else {
      // --workers N: N threads answer at once (--queue: the workers of the queue). Answers arrive
      // in groups (a pool chunk, a collector poll) and are written in file order as they become
      // available (a finished answer waits for the ones before it), each group in one write, so
      // the file is the one a single thread writes. The main thread stays free for signals and
      // progress.
      const results: (Answer | undefined)[] = new Array(pending.length);
      let flushed = 0;
      const tStart = performance.now();
      const arrive = (got: Arrival[]): void => {
        for (const { i, answer, ms } of got) {
          results[i] = answer;
          times.set(pending[i].id, ms ?? performance.now() - tStart);
        }
        const done: [QueryRow, Answer][] = [];
        while (flushed < pending.length && results[flushed]) {
          done.push([pending[flushed], results[flushed]!]);
          results[flushed++] = undefined;
        }
        record(done);
      };
      if (qb) {
        await qb.enqueue(pending);
        await qb.collect(pending, arrive, stopped);
      } else {
        pool = new BatchPool(threads, model, { modelPath, meta: modelMeta, settings: s, layout });
        await pool.ready();
        await pool.run(pending, arrive, stopped);
      }
      // interrupted: answers that finished after an earlier, unfinished one are kept too
      // (--resume goes by id, not by position)
      const rest: [QueryRow, Answer][] = [];
      for (let i = flushed; i < pending.length; i++) if (results[i]) rest.push([pending[i], results[i]!]);
      record(rest);
    }
  } finally {
    if (pool) await pool.close();
    if (qb) await qb.close();
    sink.close();
    if (handleSignals) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    if (progress && progressShown) progress.write('\r\x1b[K');
  }

  const interrupted = statuses.size < rows.length;
  if (plotFile) {
    // what this run answered: its outcome and its time (an earlier, resumed run's answers have no time)
    const points = rows.flatMap((q, index) => {
      const ms = times.get(q.id);
      return ms === undefined || !statuses.has(q.id) ? [] : [{ index, id: q.id, status: statuses.get(q.id)!, ms }];
    });
    const { batchSpec } = await import('../../plot/batch.ts');
    const { writeSpec } = await import('../plotFile.ts');
    await writeSpec(batchSpec(points, `batch: ${queriesPath} on ${modelPath}`), plotFile, '--plot');
    (toStdout ? (t: string) => io.err(t) : (t: string) => io.out(t))(`wrote ${plotFile}  (outcomes and time per query)`);
  }
  const earlier = opts.resume ? ` (${skipped} answered by an earlier run, ${answeredNow} now)` : '';
  // with -o - standard output carries the CSV alone: the summary goes to stderr
  const summary = toStdout ? (t: string) => io.err(t) : (t: string) => io.out(t);
  summary(
    `batch: ${statuses.size} of ${rows.length} ${rows.length === 1 ? 'query' : 'queries'} answered${earlier} in ${seconds(Date.now() - t0)}: ` +
      `${counts(statuses.values())} → ${sink.name}`,
  );
  if (interrupted) {
    io.err(
      toStdout
        ? `interrupted: ${statuses.size} of ${rows.length} queries were answered on standard output; answers written there cannot be resumed: ` +
            'run again, or write them to a file (-o answers.csv) to be able to finish an interrupted run with --resume'
        : `interrupted: ${statuses.size} of ${rows.length} queries are answered in ${out}; to answer the other ${rows.length - statuses.size}, run:\n` +
            `  ${resumeCommand(modelPath, queriesPath, out, modelMeta, s)}`,
    );
    return EXIT_INTERRUPTED;
  }
  return batchExitCode(statuses.values());
}
