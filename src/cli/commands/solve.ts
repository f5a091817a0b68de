/** `netinvert solve MODEL --given … --want …` */
import { writeFileSync } from 'node:fs';
import { NetinvertError } from '../../errors.ts';
import type { DistanceKind } from '../../problem/query.ts';
import { certify, certifyParallel } from '../../api/certify.ts';
import { stopSignalBuffer } from '../../solve/evaluator.ts';
import { ProofThreadPool } from '../vnnPool.ts';
import { invert } from '../../api/invert.ts';
import { loadNativeModel } from '../../formats/native/load.ts';
import type { Query } from '../../problem/query.ts';
import { buildRelaxedProblem } from '../../problem/discrete.ts';
import { diagonalPrior, restrictStats, statsOfRows, type InputStats } from '../../problem/prior.ts';
import { inverseWarmStart } from '../../train/inverse.ts';
import { readBytes } from '../files.ts';
import { loadModelFile } from '../loadModelFile.ts';
import { parseAny, parseAssignments, parseBounds, parseInteger, parseNames, parseNumber, parseTargets, parseValueLists } from '../parse.ts';
import { splitList } from '../../problem/targets.ts';
import { addClassTargets } from '../wantClass.ts';
import { readTrainingCsv } from '../../train/csv.ts';
import { medianAbsoluteDeviation } from '../../numeric/mad.ts';
import { parseQueryFile, type QueryFileContent } from '../queryFile.ts';
import { readSolverOptions } from '../queryOptions.ts';
import { EXIT, type IO } from '../io.ts';

/** The query: from --query FILE, or from the flags (program.ts refuses both at once), with the counterfactual flags. */
export function queryOf(opts: Record<string, unknown>): Query {
  return withCounterfactualFlags(baseQueryOf(opts), opts);
}

/**
 * The counterfactual controls from the flags (--only-increase, --only-decrease, --fixed,
 * --distance-weights, --mad) added to a query, from the flags or a --query file alike.
 */
function withCounterfactualFlags(q: Query, opts: Record<string, unknown>): Query {
  const list = (k: string): string[] => (Array.isArray(opts[k]) ? (opts[k] as string[]) : []);
  const out: Query = { ...q };
  const inc = parseNames(list('onlyIncrease'), '--only-increase');
  const dec = parseNames(list('onlyDecrease'), '--only-decrease');
  const fixed = parseNames(list('fixed'), '--fixed');
  const weights = parseAssignments(list('distanceWeights'), '--distance-weights');
  if (inc.length) out.onlyIncrease = [...(q.onlyIncrease ?? []), ...inc];
  if (dec.length) out.onlyDecrease = [...(q.onlyDecrease ?? []), ...dec];
  if (fixed.length) out.fixed = [...(q.fixed ?? []), ...fixed];
  if (Object.keys(weights).length) out.distanceWeights = { ...(q.distanceWeights ?? {}), ...weights };
  if (typeof opts.mad === 'string') out.distanceScale = { ...(q.distanceScale ?? {}), ...madScales(opts.mad, Object.keys(q.closestTo ?? {})) };
  const prior = priorFromFlags(opts);
  if (prior) out.prior = prior;
  return out;
}

/** The prior --prior FILE.csv or --prior-mean/--prior-std give (solve and batch), or undefined. */
export function priorFromFlags(opts: Record<string, unknown>): InputStats | undefined {
  const list = (k: string): string[] => (Array.isArray(opts[k]) ? (opts[k] as string[]) : []);
  const pm = parseAssignments(list('priorMean'), '--prior-mean');
  const ps = parseAssignments(list('priorStd'), '--prior-std');
  const byHand = Object.keys(pm).length > 0 || Object.keys(ps).length > 0;
  if (typeof opts.prior === 'string' && byHand) {
    throw new NetinvertError('bad_usage', '--prior (a CSV) and --prior-mean/--prior-std both give a prior: use one');
  }
  if (typeof opts.prior === 'string') return csvPrior(opts.prior);
  if (byHand) return diagonalPrior(pm, ps);
  return undefined;
}

/**
 * --prior FILE: the prior of the CSV's numeric columns (problem/prior.ts statsOfRows: mean,
 * covariance, a reservoir of PRIOR_SAMPLE_ROWS rows). Columns that are not inputs are dropped
 * when the model is known (buildProblem refuses names that are no input), so read all numeric
 * columns here and let the caller's model decide: non-numeric columns are skipped.
 */
function csvPrior(file: string): InputStats {
  const text = new TextDecoder().decode(readBytes(file, 'prior data CSV'));
  const header = (text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '').split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  // keep the columns whose every cell is a number (ids and labels are not inputs)
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).slice(1).filter((l) => l.trim() !== '');
  const cols = header.filter((_, i) => lines.every((l) => {
    const c = l.split(',')[i];
    return c !== undefined && c.trim() !== '' && Number.isFinite(Number(c));
  }));
  if (cols.length === 0) throw new NetinvertError('bad_argument', `${file}: no numeric column to take a prior from; the columns are ${header.join(', ')}`, { file });
  const data = readTrainingCsv(text, { inputs: cols, outputs: [], file, minRows: 2 });
  return statsOfRows(cols, data.inputs, data.inputs.length / cols.length);
}

/**
 * --mad FILE: each reference input's median absolute deviation over the CSV's rows (its column
 * by name), the distance's unit for that input (DiCE, Mothilal et al. 2020). A column whose MAD
 * is 0 (mostly one value) keeps the box width as its unit.
 */
function madScales(file: string, names: string[]): Record<string, number> {
  if (names.length === 0) throw new NetinvertError('bad_query', '--mad scales the distance to a reference point: give one with --closest-to');
  const text = new TextDecoder().decode(readBytes(file, 'MAD data CSV'));
  const header = (text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '').split(',').map((h) => h.trim().replace(/^"(.*)"$/, '$1'));
  const cols = names.filter((k) => header.includes(k));
  if (cols.length === 0) {
    throw new NetinvertError('bad_argument', `${file}: no column is named after a reference input (${names.join(', ')}); the columns are ${header.join(', ')}`, { file });
  }
  const data = readTrainingCsv(text, { inputs: cols, outputs: [], file, minRows: 2 });
  const out: Record<string, number> = {};
  cols.forEach((k, i) => {
    const mad = medianAbsoluteDeviation(data.inputs, cols.length, i);
    if (mad > 0) out[k] = mad;
  });
  return out;
}

function baseQueryOf(opts: Record<string, unknown>): Query {
  if (typeof opts.query === 'string') {
    const file = opts.query;
    let bytes: Uint8Array;
    try {
      bytes = readBytes(file, 'query file');
    } catch (e) {
      // readBytes speaks of model files' codes; a query file that cannot be read is a bad query
      if (e instanceof NetinvertError) throw new NetinvertError('bad_query', e.message, e.detail);
      throw e;
    }
    return parseQueryFile(new TextDecoder().decode(bytes), file);
  }
  const want = parseTargets(opts.want as string[]);
  const anyOf = parseAny((opts.any as string[] | undefined) ?? []);
  if (Object.keys(want).length === 0 && anyOf.length === 0 && opts.wantClass === undefined) {
    throw new NetinvertError('bad_query', 'say which outputs you want with --want (e.g. --want sum=7), --want-class or --any, or give a query file with --query');
  }
  const closest = parseAssignments(opts.closestTo as string[], '--closest-to');
  // --subject-to: one constraint per value, or several separated by commas (outside quotes)
  const subjectTo = ((opts.subjectTo as string[] | undefined) ?? []).flatMap((v) => splitList(v, ','));
  const distance = String(opts.distance) as DistanceKind;
  if (!['l2', 'l1', 'linf'].includes(distance)) {
    throw new NetinvertError('bad_query', `--distance must be l2, l1 or linf (got "${distance}")`);
  }
  // discrete unknowns: --integer a,b (repeatable), --categorical x=1,2.5,4 and --one-hot g=c1,c2,c3 (one per flag)
  const list = (k: string): string[] => (Array.isArray(opts[k]) ? (opts[k] as string[]) : []);
  const integers = parseNames(list('integer'), '--integer');
  const categorical = parseValueLists(list('categorical'), '--categorical', 'number');
  const oneHot = parseValueLists(list('oneHot'), '--one-hot', 'name');
  return {
    ...(integers.length ? { integers } : {}),
    ...(Object.keys(categorical).length ? { categorical } : {}),
    ...(Object.keys(oneHot).length ? { oneHot } : {}),
    given: parseAssignments(opts.given as string[], '--given'),
    want,
    ...(anyOf.length ? { anyOf } : {}),
    bounds: parseBounds(opts.bounds as string[]),
    ...(Object.keys(closest).length ? { closestTo: closest, distance } : {}),
    ...(subjectTo.length ? { constraints: subjectTo } : {}),
  };
}

/**
 * --want-class K [--margin m], or a query file's wantClass / margin fields (program.ts refuses the
 * flags beside --query): the linear-form targets logit_K − logit_j ≥ m for every other output j
 * (cli/wantClass.ts addClassTargets, the path batch's want-class column takes too), added to the
 * query's conjunction (and so to every --any clause).
 */
export function withWantClass(query: Query | QueryFileContent, outputNames: readonly string[], opts: Record<string, unknown>): Query {
  const { wantClass: fileClass, margin: fileMargin, ...plain } = query as QueryFileContent;
  if (fileClass !== undefined) {
    const file = typeof opts.query === 'string' ? opts.query : 'query';
    return addClassTargets(plain, outputNames, fileClass, fileMargin ?? 0, `query file ${file}: field wantClass`);
  }
  const cls = opts.wantClass;
  if (cls === undefined) {
    if (opts.margin !== undefined && opts.margin !== '0' && opts.margin !== 0) {
      throw new NetinvertError('bad_usage', '--margin is the margin of --want-class: give --want-class CLASS with it');
    }
    return plain;
  }
  const margin = opts.margin === undefined ? 0 : parseNumber(opts.margin, '--margin');
  return addClassTargets(plain, outputNames, String(cls), margin, '--want-class');
}

/** Load the model and answer the query the options state (shared by solve and plot). */
export async function solveFromOptions(modelPath: string, opts: Record<string, unknown>): Promise<{ model: import('../../model.ts').Model; result: import('../../api/invert.ts').InvertResult }> {
  const { method, ...solver } = readSolverOptions(opts);
  const workers = opts.workers === undefined ? 1 : parseInteger(opts.workers, '--workers', { min: 1, code: 'bad_usage', unit: 'threads', hint: 'the default is 1 (the one-thread proof)' });
  if (workers > 1 && (!(opts.prove || typeof opts.certificate === 'string') || method === 'milp')) {
    throw new NetinvertError(
      'bad_usage',
      method === 'milp'
        ? '--workers N shares the proof of --prove among threads; --method milp runs on one thread: leave out --workers'
        : '--workers N shares the proof (--prove) among threads; the search alone runs on one thread: add --prove, or leave out --workers',
      { flag: '--workers' },
    );
  }
  const flagQuery = queryOf(opts);
  const model = loadModelFile(modelPath, opts.meta as string | undefined);
  let query = withWantClass(flagQuery, model.network.outputNames, opts);
  // a --prior CSV may hold output and id columns too: its prior is over the model's inputs only
  if (typeof opts.prior === 'string' && query.prior) query = { ...query, prior: restrictStats(query.prior, model.network.inputNames) };
  const certPath = typeof opts.certificate === 'string' ? opts.certificate : undefined;
  const run =
    method === 'milp'
      ? (await import('../../api/milp.ts')).invertMilp
      : opts.prove || certPath
        ? certify
        : invert;
  let warmStart: Float64Array | undefined;
  if (typeof opts.warmStart === 'string') {
    const path = opts.warmStart;
    if (query.anyOf?.length) {
      // a learned inverse maps one set of targets to the unknowns; each --any clause has its own
      throw new NetinvertError(
        'bad_query',
        `--warm-start takes one set of targets, and --any gives ${query.anyOf.length} clauses: a learned inverse maps one set of targets to the unknowns. Drop --warm-start, or solve one clause at a time with --want`,
      );
    }
    const inverse = loadNativeModel(readBytes(path, 'warm-start inverse'), path);
    // the Problem invert() / certify() search: the sidecar's discrete inputs (and the flags') as unknowns over their boxes
    warmStart = inverseWarmStart(inverse, buildRelaxedProblem(model, query, { atol: solver.atol, rtol: solver.rtol }));
  }
  const counterfactual = {
    ...(opts.diverse !== undefined ? { diverse: parseInteger(opts.diverse, '--diverse', { min: 1 }) } : {}),
    ...(opts.diverseRadius !== undefined ? { diverseRadius: parseNumber(opts.diverseRadius, '--diverse-radius') } : {}),
    ...(opts.sparse ? { sparse: true } : {}),
  };
  const options = {
    ...(warmStart ? { warmStart } : {}),
    ...counterfactual,
    ...solver,
    method: method === 'milp' ? ('lm' as const) : method,
  };
  if (workers > 1 && run === certify) {
    // --prove --workers N: the proof's branch-and-bound shared among N threads (vnnPool.ts),
    // each with its own copy of the model and this query; they read this thread's stop flag (Ctrl-C)
    const pool = new ProofThreadPool(workers, model.hash, {
      modelPath,
      ...(typeof opts.meta === 'string' ? { meta: opts.meta } : {}),
      query,
      tolerance: { atol: solver.atol, rtol: solver.rtol },
      stop: stopSignalBuffer(),
    });
    try {
      return { model, result: await certifyParallel(model, query, pool, options) };
    } finally {
      await pool.close();
    }
  }
  const result = await run(model, query, options);
  return { model, result };
}

export async function solveCommand(modelPath: string, opts: Record<string, unknown>, io: IO): Promise<number> {
  // a --plot file name that cannot be written as a plot is refused before any work
  if (typeof opts.plot === 'string') (await import('../plotFile.ts')).plotFormat(opts.plot, '--plot');
  const { model, result } = await solveFromOptions(modelPath, opts);
  const certPath = typeof opts.certificate === 'string' ? opts.certificate : undefined;
  if (certPath) {
    if (result.certificate) {
      try {
        writeFileSync(certPath, JSON.stringify(result.certificate) + '\n');
      } catch (e) {
        throw new NetinvertError('bad_argument', `${certPath}: cannot write the certificate (${(e as Error).message}); check that the folder exists and is writable`, {
          file: certPath,
        });
      }
      io.err(`certificate written to ${certPath} (check it with: netinvert check-certificate ${modelPath} ${certPath})`);
    } else {
      const why = result.clauses?.some((c) => c.certificate)
        ? 'a disjunction (--any) is proven clause by clause: each clause\'s certificate is in "clauses" of the --json result'
        : result.discrete?.branches.some((b) => b.certificate)
          ? 'discrete unknowns are proven assignment by assignment: each branch\'s certificate is in "discrete.branches" of the --json result'
          : result.status === 'infeasible' || result.complete
          ? 'this method gives no certificate'
          : 'nothing was proven (a certificate needs an infeasible or complete answer)';
      io.err(`no certificate written to ${certPath}: ${why}`);
    }
  }
  if (opts.json) io.out(JSON.stringify(result, null, 2));
  else io.out(opts.verbose ? result.fullReport() : result.briefReport());
  if (typeof opts.plot === 'string') {
    const { writePlot } = await import('../plotFile.ts');
    const line = await writePlot(model, result, opts.plot, opts);
    if (!opts.json) io.out(line);
  }
  return EXIT[result.status];
}
