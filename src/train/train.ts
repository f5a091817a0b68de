/**
 * A small-MLP trainer on the engine's own graph: data in, Model out.
 *
 *   standardize (train-split mean/std) → Glorot init (seeded) → Adam on shuffled minibatches,
 *   early stopping on the validation loss (best weights restored) → optional L-BFGS polish
 *   of the full training loss → a Model whose first and last nodes undo the scaling, so
 *   queries and answers are in raw units.
 *
 * The loss is the mean squared error of the standardized outputs,
 *   L(θ) = 1/(N·m) Σ_rows Σ_outputs (y − t)²,
 * and its gradient comes from Network.parameterGradient with gOut = 2(y − t)/(N·m).
 * Training runs on the core network (dense and activation nodes only), so the scaling nodes
 * are never trained.
 */
import { NetinvertError } from '../errors.ts';
import { UNARY_NAMES, makeUnary } from '../graph/activations/index.ts';
import { Network } from '../graph/network.ts';
import type { GraphDef, NodeDef } from '../graph/types.ts';
import { createModel, type Model, type ModelMetadata } from '../model.ts';
import { AdamMoments, adamParams } from '../numeric/adam.ts';
import { mulberry32 } from '../numeric/rng.ts';
import { lbfgs } from './lbfgs.ts';
import { PRIOR_SAMPLE_ROWS, sampleRowIndices, statsOfRows } from '../problem/prior.ts';

/** Row-major tables: inputs rows × nIn, outputs rows × nOut, in raw units. */
export interface TrainingData {
  inputs: Float64Array;
  outputs: Float64Array;
  inputNames: string[];
  outputNames: string[];
}

export interface EpochInfo {
  /** 'adam': one pass over the training rows; 'lbfgs': one polish iteration. */
  phase: 'adam' | 'lbfgs';
  /** 1-based epoch (or L-BFGS iteration). */
  epoch: number;
  /** Most epochs (or L-BFGS iterations) of this phase. */
  epochs: number;
  /** Full training loss (standardized MSE) after this epoch. */
  trainLoss: number;
  /** Validation loss (standardized MSE), or null without a validation split. */
  valLoss: number | null;
  /** Epoch whose weights are the best so far. */
  bestEpoch: number;
}

export interface TrainOptions {
  /** Units per hidden layer, e.g. [8, 8]; [] gives a linear model. */
  hidden: number[];
  /** Activation of the hidden layers: any engine activation (UNARY_NAMES); '-' reads as '_'. */
  activation: string;
  /** Its parameters, e.g. { lambda: 1 } for bipolar_sigmoid. */
  activationParams?: Record<string, number>;
  /** Most Adam epochs (default 500). */
  epochs?: number;
  /** Minibatch rows (default 32; the last batch of an epoch may be smaller). */
  batchSize?: number;
  /** Adam step size (default 0.01; β₁ = 0.9, β₂ = 0.999, ε = 1e-8). */
  learningRate?: number;
  /** Fraction of the rows held out for validation (default 0.2; 0 = none). */
  validationSplit?: number;
  /** Stop after this many epochs (or L-BFGS iterations) without a better validation loss (default 50). */
  patience?: number;
  /** Polish with L-BFGS on the full training loss after Adam (default true). */
  lbfgs?: boolean;
  /** Most L-BFGS iterations (default 500). */
  lbfgsIterations?: number;
  /** Seed for the initial weights, the split and the shuffles (default 0). */
  seed?: number;
  /** Model name stored in the metadata (default "mlp"). */
  name?: string;
  /** Where the data came from (stored in metadata.source.file). */
  file?: string;
  onEpoch?: (info: EpochInfo) => void;
}

export interface TrainReport {
  outputNames: string[];
  /** Per output, in raw units. */
  trainRmse: number[];
  trainR2: number[];
  /** Per output, in raw units; null without a validation split. */
  valRmse: number[] | null;
  valR2: number[] | null;
  /** Adam epochs run. */
  epochs: number;
  /** Epoch whose weights were kept (restored) at the end of the Adam phase. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** L-BFGS polish iterations run (0 when off). */
  lbfgsIterations: number;
  /** Why the polish stopped (null when off): converged (gradient, tolerance), budget, validation patience, failed line search. */
  lbfgsStop: 'gradient' | 'tolerance' | 'max-iterations' | 'validation' | 'line-search' | null;
  /** Standardized training loss at the initial weights, after Adam (best weights kept) and at the end. */
  initialTrainLoss: number;
  trainLossAfterAdam: number;
  trainLoss: number;
  /** Standardized validation loss at the end (null without a validation split). */
  valLoss: number | null;
  trainRows: number;
  valRows: number;
  /** Which rows of the data (0-based) were held out for validation. */
  validationIndices: number[];
  parameters: number;
  seed: number;
  /** The stored scaling: x_std = (x − inputMean)/inputStd, y = y_std·outputStd + outputMean. */
  scaling: { inputMean: number[]; inputStd: number[]; outputMean: number[]; outputStd: number[] };
  warnings: string[];
}

export const TRAIN_DEFAULTS = {
  epochs: 500,
  batchSize: 32,
  learningRate: 0.01,
  validationSplit: 0.2,
  patience: 50,
  lbfgsIterations: 500,
  seed: 0,
};

/** Node names of the trained graph; the prefix keeps them apart from column names. */
const NODE = {
  concat: 'mlp/inputs',
  standardize: 'mlp/standardize',
  dense: (i: number) => `mlp/dense_${i}`,
  act: (i: number) => `mlp/act_${i}`,
  out: 'mlp/dense_out',
  unstandardize: 'mlp/unstandardize',
};

function bad(message: string, detail: Record<string, unknown> = {}): never {
  throw new NetinvertError('bad_argument', message, detail);
}

/** 'bipolar-sigmoid' → 'bipolar_sigmoid'; the engine's names use underscores. */
export function normalizeActivation(name: string): string {
  return name.trim().toLowerCase().replace(/-/g, '_');
}

// ---------------------------------------------------------------------------------------------
// graph

interface Layer {
  units: number;
  weight: Float64Array;
  bias: Float64Array;
}

/** Dense + activation nodes reading `first`; the last dense layer is linear. */
function mlpNodes(first: string, layers: Layer[], activation: string, params: Record<string, number>): NodeDef[] {
  const nodes: NodeDef[] = [];
  let prev = first;
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    const dense = last ? NODE.out : NODE.dense(i + 1);
    nodes.push({ name: dense, op: { type: 'dense', units: l.units, weight: l.weight, bias: l.bias }, inputs: [prev] });
    prev = dense;
    if (!last) {
      nodes.push({ name: NODE.act(i + 1), op: { type: 'unary', fn: activation, params: { ...params } }, inputs: [dense] });
      prev = NODE.act(i + 1);
    }
  });
  return nodes;
}

/** The network trained in standardized units: one input "x", no scaling nodes. */
function coreGraph(nIn: number, layers: Layer[], activation: string, params: Record<string, number>): GraphDef {
  return {
    inputs: [{ name: 'x', width: nIn }],
    nodes: mlpNodes('x', layers, activation, params),
    outputs: [{ node: NODE.out, name: 'y' }],
  };
}

/** The delivered graph: raw inputs → standardize → MLP → unstandardize → raw outputs. */
function modelGraph(
  data: TrainingData,
  layers: Layer[],
  activation: string,
  params: Record<string, number>,
  scaling: TrainReport['scaling'],
): GraphDef {
  const copy = (l: Layer): Layer => ({ units: l.units, weight: Float64Array.from(l.weight), bias: Float64Array.from(l.bias) });
  const inScale = scaling.inputStd.map((s) => 1 / s);
  const inShift = scaling.inputMean.map((mu, j) => -mu * inScale[j]);
  const nOut = data.outputNames.length;
  return {
    inputs: data.inputNames.map((name) => ({ name, width: 1 })),
    nodes: [
      { name: NODE.concat, op: { type: 'concat' }, inputs: data.inputNames.slice() },
      { name: NODE.standardize, op: { type: 'affine', scale: inScale, shift: inShift }, inputs: [NODE.concat] },
      ...mlpNodes(NODE.standardize, layers.map(copy), activation, params),
      {
        name: NODE.unstandardize,
        op: { type: 'affine', scale: scaling.outputStd.slice(), shift: scaling.outputMean.slice() },
        inputs: [NODE.out],
      },
    ],
    outputs:
      nOut === 1
        ? [{ node: NODE.unstandardize, name: data.outputNames[0] }]
        : [{ node: NODE.unstandardize, name: 'outputs', features: data.outputNames.slice() }],
  };
}

// ---------------------------------------------------------------------------------------------
// the loss

/**
 * Mean squared error of a network over a table, with its gradient over every parameter of
 * the network as one flat vector θ (in parameters() order).
 */
export class MseObjective {
  readonly size: number;
  private readonly params: Float64Array[];
  private readonly grads: Float64Array[];
  private readonly nIn: number;
  private readonly nOut: number;
  private Xb = new Float64Array(0);
  private Tb = new Float64Array(0);
  private Yb = new Float64Array(0);
  private Gb = new Float64Array(0);

  constructor(
    readonly net: Network,
    readonly X: Float64Array,
    readonly T: Float64Array,
    readonly rows: number,
  ) {
    this.params = net.parameters().map((p) => p.values);
    this.grads = this.params.map((p) => new Float64Array(p.length));
    this.size = this.params.reduce((a, p) => a + p.length, 0);
    this.nIn = net.nIn;
    this.nOut = net.nOut;
  }

  /** Copy the network's current parameters into θ. */
  getParams(theta = new Float64Array(this.size)): Float64Array {
    let o = 0;
    for (const p of this.params) {
      theta.set(p, o);
      o += p.length;
    }
    return theta;
  }

  /** Write θ into the network (in place) and let it refresh its caches. */
  setParams(theta: Float64Array): void {
    let o = 0;
    for (const p of this.params) {
      p.set(theta.subarray(o, o + p.length));
      o += p.length;
    }
    this.net.parametersChanged();
  }

  /** L(θ) over every row. */
  value(theta: Float64Array): number {
    this.setParams(theta);
    return this.loss(this.X, this.T, this.rows, null);
  }

  /** L(θ) over every row; writes ∇L into grad. */
  valueAndGradient(theta: Float64Array, grad: Float64Array): number {
    this.setParams(theta);
    return this.loss(this.X, this.T, this.rows, grad);
  }

  /**
   * L and ∇L at the network's current parameters over the rows idx[from..to): the minibatch
   * step. Rows are copied into reused buffers.
   */
  batchGradient(idx: Uint32Array, from: number, to: number, grad: Float64Array): number {
    const n = to - from,
      nIn = this.nIn,
      nOut = this.nOut;
    if (this.Xb.length < n * nIn) this.Xb = new Float64Array(n * nIn);
    if (this.Tb.length < n * nOut) this.Tb = new Float64Array(n * nOut);
    for (let r = 0; r < n; r++) {
      const i = idx[from + r];
      for (let j = 0; j < nIn; j++) this.Xb[r * nIn + j] = this.X[i * nIn + j];
      for (let o = 0; o < nOut; o++) this.Tb[r * nOut + o] = this.T[i * nOut + o];
    }
    return this.loss(this.Xb, this.Tb, n, grad);
  }

  private loss(X: Float64Array, T: Float64Array, rows: number, grad: Float64Array | null): number {
    const k = rows * this.nOut;
    if (this.Yb.length < k) {
      this.Yb = new Float64Array(k);
      this.Gb = new Float64Array(k);
    }
    const Y = this.net.evaluate(X, rows, this.Yb);
    let sum = 0;
    const scale = 2 / k;
    for (let i = 0; i < k; i++) {
      const r = Y[i] - T[i];
      sum += r * r;
      this.Gb[i] = scale * r;
    }
    if (grad) {
      this.net.parameterGradient(X, rows, this.Gb, this.grads);
      let o = 0;
      for (const g of this.grads) {
        grad.set(g, o);
        o += g.length;
      }
    }
    return sum / k;
  }
}

// ---------------------------------------------------------------------------------------------
// checks and statistics

function checkData(data: TrainingData): { rows: number; nIn: number; nOut: number } {
  const nIn = data.inputNames.length,
    nOut = data.outputNames.length;
  if (nIn === 0) bad('training needs at least one input column');
  if (nOut === 0) bad('training needs at least one output column');
  const seen = new Set<string>();
  for (const name of [...data.inputNames, ...data.outputNames]) {
    if (name === '') bad('column names must not be empty');
    if (seen.has(name)) bad(`column "${name}" is named twice among the inputs and outputs; each column is either an input or an output`, { column: name });
    if (name.startsWith('mlp/')) bad(`column name "${name}" clashes with the trainer's node names (mlp/…); rename the column`, { column: name });
    seen.add(name);
  }
  if (data.inputs.length % nIn !== 0) bad(`inputs hold ${data.inputs.length} values, not a multiple of ${nIn} input columns`);
  const rows = data.inputs.length / nIn;
  if (data.outputs.length !== rows * nOut) {
    bad(`outputs hold ${data.outputs.length} values; ${rows} rows × ${nOut} output columns = ${rows * nOut} expected`);
  }
  const check = (a: Float64Array, w: number, names: string[]): void => {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i])) bad(`row ${Math.floor(i / w) + 1}, column "${names[i % w]}": ${a[i]} is not a finite number`, { column: names[i % w] });
    }
  };
  check(data.inputs, nIn, data.inputNames);
  check(data.outputs, nOut, data.outputNames);
  return { rows, nIn, nOut };
}

function intOption(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) bad(`${name} must be an integer ≥ ${min} (got ${v})`, { option: name });
  return v;
}

/** Mean and (population) standard deviation of each column over the given rows. */
function columnStats(A: Float64Array, w: number, rows: Uint32Array): { mean: number[]; std: number[]; constant: boolean[] } {
  const mean = new Array<number>(w).fill(0),
    std = new Array<number>(w).fill(0);
  for (const r of rows) for (let j = 0; j < w; j++) mean[j] += A[r * w + j];
  for (let j = 0; j < w; j++) mean[j] /= rows.length;
  for (const r of rows) for (let j = 0; j < w; j++) std[j] += (A[r * w + j] - mean[j]) ** 2;
  const constant: boolean[] = [];
  for (let j = 0; j < w; j++) {
    std[j] = Math.sqrt(std[j] / rows.length);
    // a constant column carries no information: scale 1 keeps the map invertible
    constant.push(!(std[j] > 1e-12 * Math.max(1, Math.abs(mean[j]))));
    if (constant[j]) std[j] = 1;
  }
  return { mean, std, constant };
}

function columnRanges(A: Float64Array, w: number, names: string[]): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  names.forEach((name, j) => {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = j; i < A.length; i += w) {
      lo = Math.min(lo, A[i]);
      hi = Math.max(hi, A[i]);
    }
    out[name] = [lo, hi];
  });
  return out;
}

function standardizeRows(A: Float64Array, w: number, rows: Uint32Array, mean: number[], std: number[]): Float64Array {
  const out = new Float64Array(rows.length * w);
  rows.forEach((r, i) => {
    for (let j = 0; j < w; j++) out[i * w + j] = (A[r * w + j] - mean[j]) / std[j];
  });
  return out;
}

/** RMSE and R² per output, raw units: predictions are de-standardized, targets raw. */
function fitMetrics(
  net: Network,
  X: Float64Array,
  rows: Uint32Array,
  raw: Float64Array,
  nOut: number,
  mean: number[],
  std: number[],
): { rmse: number[]; r2: number[] } {
  const Y = net.evaluate(X, rows.length);
  const rmse: number[] = [],
    r2: number[] = [];
  for (let o = 0; o < nOut; o++) {
    let tMean = 0;
    for (const r of rows) tMean += raw[r * nOut + o];
    tMean /= rows.length;
    let ssRes = 0,
      ssTot = 0;
    rows.forEach((r, i) => {
      const t = raw[r * nOut + o];
      const y = Y[i * nOut + o] * std[o] + mean[o];
      ssRes += (y - t) ** 2;
      ssTot += (t - tMean) ** 2;
    });
    rmse.push(Math.sqrt(ssRes / rows.length));
    // R² is undefined for a constant target column: NaN says so
    r2.push(ssTot > 0 ? 1 - ssRes / ssTot : NaN);
  }
  return { rmse, r2 };
}

function shuffle(a: Uint32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Glorot/Xavier uniform (Glorot & Bengio 2010): W ~ U(±√(6/(fan_in + fan_out))), b = 0. */
function glorotLayers(sizes: number[], rand: () => number): Layer[] {
  const layers: Layer[] = [];
  for (let i = 1; i < sizes.length; i++) {
    const fanIn = sizes[i - 1],
      fanOut = sizes[i];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const weight = new Float64Array(fanIn * fanOut);
    for (let k = 0; k < weight.length; k++) weight[k] = (2 * rand() - 1) * limit;
    layers.push({ units: fanOut, weight, bias: new Float64Array(fanOut) });
  }
  return layers;
}

// ---------------------------------------------------------------------------------------------
// training

/** Every option checked and defaulted, before anything is computed. */
interface Settings {
  rows: number;
  nIn: number;
  nOut: number;
  hidden: number[];
  activation: string;
  actParams: Record<string, number>;
  epochs: number;
  batchSize: number;
  lr: number;
  split: number;
  patience: number;
  useLbfgs: boolean;
  lbfgsIterations: number;
  seed: number;
  trainRows: number;
  valRows: number;
}

function resolveSettings(data: TrainingData, options: TrainOptions): Settings {
  const { rows, nIn, nOut } = checkData(data);
  if (!Array.isArray(options.hidden)) bad('hidden must be a list of layer widths, e.g. [8, 8]');
  options.hidden.forEach((h, i) => intOption(h, `hidden[${i}]`, 1));
  const activation = normalizeActivation(options.activation);
  if (!UNARY_NAMES.includes(activation)) {
    throw new NetinvertError('unsupported_op', `unknown activation "${options.activation}"; choose one of ${UNARY_NAMES.join(', ')}`, {
      op: options.activation,
    });
  }
  const actParams = makeUnary(activation, options.activationParams ?? {}).params;
  const epochs = intOption(options.epochs ?? TRAIN_DEFAULTS.epochs, 'epochs', 0);
  const batchSize = intOption(options.batchSize ?? TRAIN_DEFAULTS.batchSize, 'batchSize', 1);
  const lr = options.learningRate ?? TRAIN_DEFAULTS.learningRate;
  if (!(lr > 0 && Number.isFinite(lr))) bad(`learningRate must be a positive number (got ${lr})`, { option: 'learningRate' });
  const split = options.validationSplit ?? TRAIN_DEFAULTS.validationSplit;
  if (!(split >= 0 && split < 1)) bad(`validationSplit must be in [0, 1) (got ${split})`, { option: 'validationSplit' });
  const patience = options.patience ?? TRAIN_DEFAULTS.patience;
  if (patience !== Infinity) intOption(patience, 'patience', 1);
  const useLbfgs = options.lbfgs ?? true;
  const lbfgsIterations = intOption(options.lbfgsIterations ?? TRAIN_DEFAULTS.lbfgsIterations, 'lbfgsIterations', 0);
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  if (!Number.isInteger(seed)) bad(`seed must be an integer (got ${seed})`, { option: 'seed' });
  const valRows = split > 0 ? Math.max(1, Math.round(rows * split)) : 0;
  const trainRows = rows - valRows;
  if (trainRows < 2) {
    bad(`${rows} rows leave ${trainRows} for training after a validation split of ${split}; give more rows or a smaller split`, {
      rows,
    });
  }
  const hidden = options.hidden.slice();
  return { rows, nIn, nOut, hidden, activation, actParams, epochs, batchSize, lr, split, patience, useLbfgs, lbfgsIterations, seed, trainRows, valRows };
}

/** The train/validation split, the scaling (train rows only) and the standardized tables. */
interface Split {
  trainIdx: Uint32Array;
  valIdx: Uint32Array;
  xs: ReturnType<typeof columnStats>;
  ys: ReturnType<typeof columnStats>;
  Xtr: Float64Array;
  Ttr: Float64Array;
  Xva: Float64Array;
  Tva: Float64Array;
  warnings: string[];
}

function splitAndScale(data: TrainingData, st: Settings, rand: () => number): Split {
  const { rows, nIn, nOut, trainRows } = st;
  const order = new Uint32Array(rows).map((_, i) => i);
  shuffle(order, rand);
  const trainIdx = order.slice(0, trainRows).sort(),
    valIdx = order.slice(trainRows).sort();
  const xs = columnStats(data.inputs, nIn, trainIdx),
    ys = columnStats(data.outputs, nOut, trainIdx);
  const warnings: string[] = [];
  data.inputNames.forEach((n, j) => xs.constant[j] && warnings.push(`input "${n}" is constant over the training rows: the model cannot learn its effect`));
  data.outputNames.forEach((n, j) => ys.constant[j] && warnings.push(`output "${n}" is constant over the training rows`));
  return {
    trainIdx,
    valIdx,
    xs,
    ys,
    Xtr: standardizeRows(data.inputs, nIn, trainIdx, xs.mean, xs.std),
    Ttr: standardizeRows(data.outputs, nOut, trainIdx, ys.mean, ys.std),
    Xva: standardizeRows(data.inputs, nIn, valIdx, xs.mean, xs.std),
    Tva: standardizeRows(data.outputs, nOut, valIdx, ys.mean, ys.std),
    warnings,
  };
}

/** What the two training phases share: the objectives, the live parameters θ and the progress callback. */
interface Fit {
  st: Settings;
  train: MseObjective;
  val: MseObjective | null;
  theta: Float64Array;
  onEpoch: TrainOptions['onEpoch'];
  diverged: (what: string, epoch: number) => never;
}

/**
 * Adam (Kingma & Ba 2015; numeric/adam.ts, the solver's Adam too) on shuffled minibatches, early
 * stopping on the monitored loss (validation with a split, training otherwise); the best weights
 * are restored into θ at the end.
 */
function adamPhase(fit: Fit, start: { trainLoss: number; valLoss: number | null }, rand: () => number): { epochsRun: number; bestEpoch: number; stoppedEarly: boolean } {
  const { st, train, val, theta } = fit;
  const { epochs, batchSize, trainRows, patience } = st;
  const P = train.size;
  const grad = new Float64Array(P),
    delta = new Float64Array(P);
  const moments = new AdamMoments(P, adamParams(st.lr));
  const best = Float64Array.from(theta);
  let bestLoss = start.valLoss ?? start.trainLoss,
    bestEpoch = 0,
    since = 0,
    step = 0,
    epoch = 0,
    stoppedEarly = false;
  const batchOrder = new Uint32Array(trainRows).map((_, i) => i);
  for (epoch = 1; epoch <= epochs; epoch++) {
    shuffle(batchOrder, rand);
    for (let from = 0; from < trainRows; from += batchSize) {
      const to = Math.min(trainRows, from + batchSize);
      train.batchGradient(batchOrder, from, to, grad);
      step++;
      moments.step(0, P, grad, 0, step, delta, 0);
      for (let i = 0; i < P; i++) theta[i] -= delta[i];
      train.setParams(theta);
    }
    const trainLoss = train.value(theta);
    const valLoss = val ? val.value(theta) : null;
    const watched = valLoss ?? trainLoss;
    if (!Number.isFinite(watched) || !Number.isFinite(trainLoss)) fit.diverged(valLoss === null ? 'training' : 'validation', epoch);
    if (watched < bestLoss) {
      bestLoss = watched;
      bestEpoch = epoch;
      best.set(theta);
      since = 0;
    } else since++;
    fit.onEpoch?.({ phase: 'adam', epoch, epochs, trainLoss, valLoss, bestEpoch });
    if (since >= patience) {
      stoppedEarly = true;
      break;
    }
  }
  theta.set(best);
  train.setParams(theta);
  return { epochsRun: Math.min(epoch, epochs), bestEpoch, stoppedEarly };
}

/**
 * L-BFGS polish of the full training loss; with a validation split, the iterate with the best
 * validation loss is kept in θ (every iterate has a training loss ≤ the start's).
 */
function lbfgsPhase(fit: Fit): { lbfgsRun: number; lbfgsStop: TrainReport['lbfgsStop'] } {
  const { st, train, val, theta } = fit;
  if (!(st.useLbfgs && st.lbfgsIterations > 0 && train.size > 0)) return { lbfgsRun: 0, lbfgsStop: null };
  const { lbfgsIterations, patience } = st;
  let bestVal = val ? val.value(theta) : 0,
    bestIter = 0;
  const keep = Float64Array.from(theta);
  const r = lbfgs((x, g) => train.valueAndGradient(x, g), theta, {
    maxIterations: lbfgsIterations,
    onIteration: (x, f, iter) => {
      const v = val ? val.value(x) : null;
      if (v !== null && v < bestVal) {
        bestVal = v;
        bestIter = iter;
        keep.set(x);
      }
      if (v === null) keep.set(x);
      fit.onEpoch?.({ phase: 'lbfgs', epoch: iter, epochs: lbfgsIterations, trainLoss: f, valLoss: v, bestEpoch: v === null ? iter : bestIter });
      return v !== null && iter - bestIter >= patience;
    },
  });
  theta.set(keep);
  return { lbfgsRun: r.iterations, lbfgsStop: r.reason === 'stopped' ? 'validation' : r.reason };
}

/** The delivered model's metadata: a one-line description of the training and its figures. */
function trainedMetadata(
  data: TrainingData,
  options: TrainOptions,
  st: Settings,
  report: TrainReport,
  tr: { rmse: number[]; r2: number[] },
  va: { rmse: number[]; r2: number[] } | null,
): ModelMetadata {
  const { nIn, nOut, activation, actParams, lr, batchSize, trainRows, valRows, seed } = st;
  const { epochs: epochsRun, stoppedEarly, bestEpoch, lbfgsIterations: lbfgsRun, warnings } = report;
  const sizes = [nIn, ...st.hidden, nOut].join('-');
  const actText = activation + (Object.keys(actParams).length ? ` (${Object.entries(actParams).map(([k, v]) => `${k}=${v}`).join(', ')})` : '');
  const description =
    `${sizes} MLP trained by netinvert train: ${actText} hidden layers, linear output; ` +
    `inputs and outputs standardized inside the model (raw units in and out); ` +
    `Adam (lr ${lr}, batch ${batchSize}) for ${epochsRun} epochs${stoppedEarly ? ` (stopped early, best epoch ${bestEpoch})` : ''}` +
    `${lbfgsRun ? `, then ${lbfgsRun} L-BFGS iterations` : ''}; ${trainRows} training rows, ${valRows} validation rows; seed ${seed}`;
  return {
    name: options.name ?? 'mlp',
    description,
    inputRanges: columnRanges(data.inputs, nIn, data.inputNames),
    // the training inputs' mean, covariance and a reservoir sample: the default prior of a query (problem/prior.ts)
    inputStats: statsOfRows(data.inputNames, data.inputs, data.inputs.length / nIn, PRIOR_SAMPLE_ROWS, seed),
    outputRanges: columnRanges(data.outputs, nOut, data.outputNames),
    source: { format: 'netinvert-train', producer: 'netinvert train', ...(options.file ? { file: options.file } : {}) },
    ...(warnings.length ? { warnings } : {}),
    extra: {
      training: {
        hidden: st.hidden.slice(),
        activation,
        activationParams: actParams,
        epochs: epochsRun,
        stoppedEarly,
        lbfgsIterations: lbfgsRun,
        seed,
        trainRows,
        valRows,
        trainRmse: Object.fromEntries(data.outputNames.map((n, o) => [n, tr.rmse[o]])),
        trainR2: Object.fromEntries(data.outputNames.map((n, o) => [n, finiteOrNull(tr.r2[o])])),
        ...(va
          ? {
              valRmse: Object.fromEntries(data.outputNames.map((n, o) => [n, va.rmse[o]])),
              valR2: Object.fromEntries(data.outputNames.map((n, o) => [n, finiteOrNull(va.r2[o])])),
            }
          : {}),
      },
    },
  };
}

/**
 * Train an MLP on the table: settings → split and scaling → Glorot init → Adam phase → L-BFGS
 * phase → report and model (raw units in and out). Split, scaling, initial weights and shuffles
 * all come from one seeded stream, in that order.
 */
export function trainMlp(data: TrainingData, options: TrainOptions): { model: Model; report: TrainReport } {
  const st = resolveSettings(data, options);
  const { nIn, nOut, activation, actParams, trainRows, valRows, seed } = st;
  const rand = mulberry32(seed);
  const sp = splitAndScale(data, st, rand);
  const layers = glorotLayers([nIn, ...st.hidden, nOut], rand);
  const net = new Network(coreGraph(nIn, layers, activation, actParams));
  const train = new MseObjective(net, sp.Xtr, sp.Ttr, trainRows);
  const val = valRows ? new MseObjective(net, sp.Xva, sp.Tva, valRows) : null;
  const theta = train.getParams();
  const diverged = (what: string, epoch: number): never =>
    bad(
      `training diverged: the ${what} loss is not finite ${epoch === 0 ? 'at the initial weights' : `after epoch ${epoch}`} ` +
        `with activation "${activation}"; an activation undefined for some pre-activations (log; pow with a fractional exponent) ` +
        `gives NaN, and a large learning rate can overflow: try a smaller learning rate (--lr) or an activation defined on every real number (tanh, bipolar_sigmoid, relu, ...)`,
      { activation, epoch },
    );
  const fit: Fit = { st, train, val, theta, onEpoch: options.onEpoch, diverged };

  const start = { trainLoss: train.value(theta), valLoss: val ? val.value(theta) : null };
  if (!Number.isFinite(start.trainLoss)) diverged('training', 0);
  if (start.valLoss !== null && !Number.isFinite(start.valLoss)) diverged('validation', 0);
  const adam = adamPhase(fit, start, rand);
  const trainLossAfterAdam = train.value(theta);
  const { lbfgsRun, lbfgsStop } = lbfgsPhase(fit);
  train.setParams(theta);
  const trainLoss = train.value(theta);
  const valLoss = val ? val.value(theta) : null;

  // report, in raw units, from the core network (the model's scaling nodes are not involved)
  const { xs, ys } = sp;
  const tr = fitMetrics(net, sp.Xtr, sp.trainIdx, data.outputs, nOut, ys.mean, ys.std);
  const va = valRows ? fitMetrics(net, sp.Xva, sp.valIdx, data.outputs, nOut, ys.mean, ys.std) : null;
  const scaling = { inputMean: xs.mean, inputStd: xs.std, outputMean: ys.mean, outputStd: ys.std };
  const report: TrainReport = {
    outputNames: data.outputNames.slice(),
    trainRmse: tr.rmse,
    trainR2: tr.r2,
    valRmse: va ? va.rmse : null,
    valR2: va ? va.r2 : null,
    epochs: adam.epochsRun,
    bestEpoch: adam.bestEpoch,
    stoppedEarly: adam.stoppedEarly,
    lbfgsIterations: lbfgsRun,
    lbfgsStop,
    initialTrainLoss: start.trainLoss,
    trainLossAfterAdam,
    trainLoss,
    valLoss,
    trainRows,
    valRows,
    validationIndices: Array.from(sp.valIdx),
    parameters: train.size,
    seed,
    scaling,
    warnings: sp.warnings,
  };
  const metadata = trainedMetadata(data, options, st, report, tr, va);
  const model = createModel(modelGraph(data, layersOf(net, layers.length), activation, actParams, scaling), metadata);
  // the model's residuals at the prior's sample rows (the same rows statsOfRows kept): where it is
  // accurate, for each solution's localError (problem/prior.ts)
  const stats = model.metadata.inputStats;
  if (stats?.rows?.length) {
    const idx = sampleRowIndices(data.inputs.length / nIn, PRIOR_SAMPLE_ROWS, seed);
    const Xs = new Float64Array(idx.length * nIn);
    idx.forEach((r, i) => Xs.set(data.inputs.subarray(r * nIn, (r + 1) * nIn), i * nIn));
    const P = model.network.evaluate(Xs, idx.length);
    stats.residuals = idx.map((r, i) => Array.from({ length: nOut }, (_, o) => P[i * nOut + o] - data.outputs[r * nOut + o]));
  }
  return { model, report };
}

/** JSON has no NaN: an undefined R² is stored as null. */
function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** The trained dense layers, read back from the core network's live parameters. */
function layersOf(net: Network, count: number): Layer[] {
  const ps = net.parameters();
  const layers: Layer[] = [];
  for (let i = 0; i < count; i++) {
    const name = i === count - 1 ? NODE.out : NODE.dense(i + 1);
    const w = ps.find((p) => p.node === name && p.index === 0)!.values;
    const b = ps.find((p) => p.node === name && p.index === 1)!.values;
    layers.push({ units: b.length, weight: w, bias: b });
  }
  return layers;
}
