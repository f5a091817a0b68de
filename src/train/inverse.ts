/**
 * The learned inverse (the seed thread's 4th answer): "train another network with many
 * generated input/outputs from your original network to approximate the inverse".
 *
 *   sample inputs uniformly in a box (Halton, seeded shift) → evaluate the forward model in
 *   one batch → train an MLP (trainMlp) mapping [known inputs, target outputs] → [unknown inputs].
 *
 * READ THIS BEFORE USING IT: the learned inverse is an APPROXIMATION that returns ONE answer
 * per query. Where several inputs give the same output (a continuum, or several isolated
 * roots), least-squares training averages them, and the average need not be a solution at
 * all. Its answer is never verified by construction and is not a root to tolerance. It is
 * therefore used only as a WARM START for the solver (InvertOptions.warmStart, see
 * inverseWarmStart): the first LM start is its prediction, the usual multi-start search
 * continues, and every reported answer is verified by a fresh forward pass as always.
 * It is never a final answer.
 *
 * The inverse is an ordinary native model; metadata.extra.inverse records the hash of the
 * model it inverts, the known / target / unknown feature names and the sampling bounds, so a
 * warm start from the wrong model or for a different query is refused with a coded error.
 */
import { NetinvertError } from '../errors.ts';
import { createModel, type Model } from '../model.ts';
import { DEFAULT_BOUND, type Problem, type Query } from '../problem/query.ts';
import { buildRelaxedProblem } from '../problem/discrete.ts';
import { PRIMES, halton } from '../numeric/halton.ts';
import { mulberry32 } from '../numeric/rng.ts';
import { trainMlp, type TrainOptions, type TrainReport } from './train.ts';

export interface LearnInverseSpec {
  /** Input names that will be given in the queries. */
  known: string[];
  /** Output names that will be wanted (equality targets) in the queries. */
  targets: string[];
  /** Forward-model samples (default 4000). */
  samples?: number;
  /** Hidden layer widths of the inverse net (default [32, 32]). */
  hidden?: number[];
  /** Hidden activation (default 'tanh'). */
  activation?: string;
  /** Seed for the sampling and the training (default 0). */
  seed?: number;
  /** Sampling box per input; default the model's training range, else [−10, 10] (with a warning). */
  bounds?: Record<string, [number, number]>;
  /** Passed on to trainMlp (epochs, patience, learningRate, lbfgsIterations...). */
  train?: Partial<Omit<TrainOptions, 'hidden' | 'activation' | 'seed'>>;
}

/** What metadata.extra.inverse holds. */
export interface InverseInfo {
  kind: 'learned-inverse';
  /** Hash of the forward model this net inverts. */
  of: string;
  ofName?: string;
  known: string[];
  targets: string[];
  unknowns: string[];
  /** Sampling box of every forward input. */
  bounds: Record<string, [number, number]>;
  samples: number;
  seed: number;
}

export interface LearnInverseReport {
  info: InverseInfo;
  /** The inverse net's training report (RMSE per unknown, in raw units). */
  training: TrainReport;
  /** Range of each target output over the samples: queries outside it are extrapolation. */
  targetRanges: Record<string, [number, number]>;
  warnings: string[];
}

export const INVERSE_DEFAULTS = { samples: 4000, hidden: [32, 32], activation: 'tanh', seed: 0 };

function bad(message: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_argument', message, detail);
}

function uniqueNames(list: unknown, what: string, all: readonly string[], allWhat: string): string[] {
  if (!Array.isArray(list)) bad(`${what} must be a list of names`);
  const seen = new Set<string>();
  for (const nm of list) {
    if (typeof nm !== 'string' || !all.includes(nm)) {
      throw new NetinvertError(what === 'known' ? 'unknown_input' : 'unknown_output', `${what} name "${String(nm)}" is not ${allWhat}; they are: ${all.join(', ')}`, {
        name: nm,
      });
    }
    if (seen.has(nm)) bad(`${what} names "${nm}" twice`);
    seen.add(nm);
  }
  return list.slice() as string[];
}

/**
 * Learn an approximate inverse of `model`: [known inputs, target outputs] → [unknown inputs].
 * See the file comment: one (averaged) answer per query, a warm start only.
 */
export function learnInverse(model: Model, spec: LearnInverseSpec): { inverse: Model; report: LearnInverseReport } {
  const net = model.network;
  if (!spec || typeof spec !== 'object') bad('learnInverse needs a spec { known, targets }');
  const known = uniqueNames(spec.known, 'known', net.inputNames, 'an input of the model');
  const targets = uniqueNames(spec.targets, 'targets', net.outputNames, 'an output of the model');
  if (!targets.length) bad('name at least one target output to invert for');
  const unknowns = net.inputNames.filter((nm) => !known.includes(nm));
  if (!unknowns.length) bad('every input is known: there is nothing for the inverse to predict');
  const clash = [...known, ...targets].find((nm, i, a) => a.indexOf(nm) !== i);
  if (clash) bad(`"${clash}" is both an input and an output name; the inverse's inputs must have distinct names`);
  const samples = spec.samples ?? INVERSE_DEFAULTS.samples;
  if (!Number.isInteger(samples) || samples < 10) bad(`samples must be an integer ≥ 10 (got ${samples})`);
  const seed = spec.seed ?? INVERSE_DEFAULTS.seed;
  if (!Number.isInteger(seed)) bad(`seed must be an integer (got ${seed})`);
  const hidden = spec.hidden ?? INVERSE_DEFAULTS.hidden;
  const activation = spec.activation ?? INVERSE_DEFAULTS.activation;

  // the sampling box: spec bounds, else the training range, else the default box
  const warnings: string[] = [];
  const qb = spec.bounds ?? {};
  for (const k of Object.keys(qb)) {
    if (net.inputIndex(k) < 0) throw new NetinvertError('unknown_input', `bounds name "${k}", which is not an input of the model`, { input: k });
    const b = qb[k];
    if (!Array.isArray(b) || b.length !== 2 || !Number.isFinite(b[0]) || !Number.isFinite(b[1]) || b[0] > b[1]) {
      throw new NetinvertError('bad_bounds', `bounds for "${k}" must be finite [lo, hi] with lo ≤ hi (got ${JSON.stringify(b)})`, { input: k });
    }
  }
  const ranges = model.metadata.inputRanges ?? {};
  const bounds: Record<string, [number, number]> = {};
  const dflt: string[] = [];
  for (const nm of net.inputNames) {
    if (nm in qb) bounds[nm] = [qb[nm][0], qb[nm][1]];
    else if (nm in ranges) bounds[nm] = [ranges[nm][0], ranges[nm][1]];
    else {
      bounds[nm] = [-DEFAULT_BOUND, DEFAULT_BOUND];
      dflt.push(nm);
    }
  }
  if (dflt.length) warnings.push(`no bounds given and no training range known for ${dflt.join(', ')}: sampled [−${DEFAULT_BOUND}, ${DEFAULT_BOUND}]`);

  // Halton points with a seeded Cranley–Patterson shift, one batch through the forward model
  const nIn = net.nIn,
    nOut = net.nOut;
  const rand = mulberry32(seed ^ 0x5eed1a7);
  const shift = Array.from({ length: nIn }, () => rand());
  const X = new Float64Array(samples * nIn);
  for (let r = 0; r < samples; r++) {
    for (let i = 0; i < nIn; i++) {
      const [lo, hi] = bounds[net.inputNames[i]];
      const h = (halton(r + 1, PRIMES[i % PRIMES.length]) + shift[i]) % 1;
      X[r * nIn + i] = lo + h * (hi - lo);
    }
  }
  const Y = net.evaluate(X, samples);

  // table: [known inputs, target outputs] → [unknown inputs]; rows with non-finite outputs dropped
  const knownIdx = known.map((k) => net.inputIndex(k));
  const targetIdx = targets.map((t) => net.outputIndex(t));
  const unknownIdx = unknowns.map((u) => net.inputIndex(u));
  const a = knownIdx.length + targetIdx.length;
  const inRows: number[] = [],
    outRows: number[] = [];
  let dropped = 0;
  for (let r = 0; r < samples; r++) {
    const row = [...knownIdx.map((i) => X[r * nIn + i]), ...targetIdx.map((o) => Y[r * nOut + o])];
    if (!row.every(Number.isFinite)) {
      dropped++;
      continue;
    }
    inRows.push(...row);
    outRows.push(...unknownIdx.map((i) => X[r * nIn + i]));
  }
  if (dropped) warnings.push(`${dropped} of ${samples} samples gave a non-finite output and were left out`);
  const rows = inRows.length / a;
  if (rows < 10) bad(`only ${rows} samples gave finite outputs; check the bounds`);
  const targetRanges: Record<string, [number, number]> = {};
  targets.forEach((t, k) => {
    let lo = Infinity,
      hi = -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = inRows[r * a + known.length + k];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    targetRanges[t] = [lo, hi];
  });

  const { model: trained, report: training } = trainMlp(
    { inputs: Float64Array.from(inRows), outputs: Float64Array.from(outRows), inputNames: [...known, ...targets], outputNames: unknowns },
    {
      epochs: 300,
      patience: 30,
      batchSize: 64,
      lbfgsIterations: 300,
      ...spec.train,
      hidden,
      activation,
      seed,
      name: `inverse of ${model.metadata.name ?? model.hash}`,
    },
  );
  warnings.push(...training.warnings);
  const info: InverseInfo = {
    kind: 'learned-inverse',
    of: model.hash,
    ...(model.metadata.name ? { ofName: model.metadata.name } : {}),
    known,
    targets,
    unknowns,
    bounds,
    samples,
    seed,
  };
  const inverse = createModel(trained.graph, {
    ...trained.metadata,
    description:
      `learned inverse of ${model.metadata.name ?? 'a model'} (${model.hash}): [${[...known, ...targets].join(', ')}] → [${unknowns.join(', ')}]. ` +
      'An approximation that returns ONE answer per query (it averages when several inputs give the same output): ' +
      'a warm start for solve, never a final answer. ' +
      (trained.metadata.description ?? ''),
    source: { format: 'netinvert-learn-inverse', producer: 'netinvert learn-inverse' },
    extra: { ...(trained.metadata.extra ?? {}), inverse: info },
  });
  return { inverse, report: { info, training, targetRanges, warnings } };
}

/** The inverse's metadata, or a coded error when `inverse` is not a learned inverse. */
export function inverseInfo(inverse: Model): InverseInfo {
  const info = (inverse.metadata.extra as { inverse?: InverseInfo } | undefined)?.inverse;
  if (!info || info.kind !== 'learned-inverse' || !Array.isArray(info.known) || !Array.isArray(info.targets) || !Array.isArray(info.unknowns)) {
    throw new NetinvertError('bad_model_file', 'the warm-start model is not a learned inverse (no metadata.extra.inverse); make one with learn-inverse', {
      mismatch: 'not-an-inverse',
    });
  }
  return info;
}

const sameSet = (x: string[], y: string[]): boolean => x.length === y.length && x.every((v) => y.includes(v));

/**
 * Check that `inverse` was learned for this model and this kind of query; throws a coded
 * NetinvertError saying what differs: bad_model_file (another model's hash) or bad_query
 * (the known inputs or the target outputs differ). detail.mismatch names which.
 */
export function checkInverse(inverse: Model, problem: Problem): InverseInfo {
  const info = inverseInfo(inverse);
  const model = problem.model;
  if (info.of !== model.hash) {
    throw new NetinvertError(
      'bad_model_file',
      `the learned inverse was made for model ${info.of}${info.ofName ? ` (${info.ofName})` : ''}, not for this model (${model.hash}); learn an inverse of this model`,
      { mismatch: 'model', expected: info.of, got: model.hash },
    );
  }
  const known = Object.keys(problem.given);
  if (!sameSet(known, info.known)) {
    throw new NetinvertError(
      'bad_query',
      `the learned inverse expects the known inputs [${info.known.join(', ')}], but the query gives [${known.join(', ')}]`,
      { mismatch: 'known', expected: info.known, got: known },
    );
  }
  const targets = problem.targets.map((t) => t.name);
  if (!sameSet(targets, info.targets)) {
    throw new NetinvertError(
      'bad_query',
      `the learned inverse expects targets for [${info.targets.join(', ')}], but the query wants [${targets.join(', ')}]`,
      { mismatch: 'targets', expected: info.targets, got: targets },
    );
  }
  const bad2 = problem.targets.find((t) => !Number.isFinite(t.lo) || !Number.isFinite(t.hi));
  if (bad2) {
    throw new NetinvertError('bad_query', `the learned inverse needs a value for target "${bad2.name}" (an equality or a finite range), not a one-sided bound`, {
      mismatch: 'target-kind',
      output: bad2.name,
    });
  }
  return info;
}

/**
 * The inverse net's prediction for a query, as unknown values in problem.unknowns order,
 * clipped to the problem's box: pass it as InvertOptions.warmStart. Equality targets give
 * their value, range targets their midpoint. An approximation (see the file comment).
 */
export function inverseWarmStart(inverse: Model, problem: Problem): Float64Array;
export function inverseWarmStart(inverse: Model, model: Model, query: Query): Float64Array;
export function inverseWarmStart(inverse: Model, problemOrModel: Problem | Model, query?: Query): Float64Array {
  // a model and a query: the model's discrete declarations apply, as in invert() (problem/discrete.ts)
  const problem: Problem = 'unknowns' in problemOrModel ? problemOrModel : buildRelaxedProblem(problemOrModel, query as Query);
  const info = checkInverse(inverse, problem);
  const inet = inverse.network;
  const x = new Float64Array(inet.nIn);
  const byName = new Map<string, number>();
  for (const k of info.known) byName.set(k, problem.given[k]);
  for (const t of problem.targets) byName.set(t.name, 0.5 * (t.lo + t.hi));
  inet.inputNames.forEach((nm, i) => {
    const v = byName.get(nm);
    if (v === undefined) throw new NetinvertError('bad_model_file', `the learned inverse has an input "${nm}" its metadata does not name`, { mismatch: 'inputs' });
    x[i] = v;
  });
  const y = inet.evaluate(x, 1);
  return Float64Array.from(problem.unknownNames, (nm, j) => {
    const o = inet.outputIndex(nm);
    if (o < 0) throw new NetinvertError('bad_model_file', `the learned inverse has no output for the unknown "${nm}"`, { mismatch: 'unknowns' });
    const v = Number.isFinite(y[o]) ? y[o] : 0.5 * (problem.lo[j] + problem.hi[j]);
    return Math.min(problem.hi[j], Math.max(problem.lo[j], v));
  });
}
