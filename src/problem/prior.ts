/**
 * A prior over the inputs: where plausible inputs lie (the training data's mean and covariance,
 * and a bounded sample of its rows). With one, the search draws starts from it and every
 * solution carries a plausibility score: the Mahalanobis distance to the mean (Mahalanobis 1936,
 * "On the generalised distance in statistics"), √((u − μ)ᵀ Σ⁻¹ (u − μ)) over the UNKNOWN inputs,
 * Σ being the marginal covariance of the unknowns (the sub-matrix of the full covariance: the
 * marginal of a Gaussian is the Gaussian of the sub-vector). Smaller is more plausible; 1 is one
 * standard deviation away in the prior's own metric.
 *
 * The prior comes from the query (Query.prior, --prior data.csv, --prior-mean/--prior-std), else
 * from the model (ModelMetadata.inputStats, which `train` stores and a sidecar may give).
 *
 * When the statistics also hold the model's residuals at the sample rows (`train` stores them),
 * each solution gets a localError: how wrong the model is likely to be there, relative to its
 * typical training error. It is a k-nearest-neighbour estimate of the squared residual (an
 * inverse-distance-weighted mean over the K nearest sample rows, in the prior's standardised
 * metric: the local error estimate of locally weighted conformal prediction, Lei et al., JASA
 * 2018 §5.2, and of kNN trust scores, Jiang et al., NeurIPS 2018), inflated by (1 + m²/n) for a
 * solution m Mahalanobis units from the mean (far from the data the sample says little):
 *   localError² = (Σₖ wₖ ρₖ / Σₖ wₖ) · (1 + m²/n),  wₖ = 1/(dₖ + ε),  ρₖ = mean over outputs of rₖ,ₒ² / mean(r·,ₒ²).
 * On a surrogate with many exact roots this is the signal that picks the root whose true error is
 * smallest (Ren, Padilla & Malof 2020: ranking by the surrogate's own miss is a coin toss there).
 */
import { NetinvertError } from '../errors.ts';
import type { InputStats, Model } from '../model.ts';
import { cholesky } from '../numeric/linalg.ts';
import { gaussians, meanCovariance, reservoirIndices } from '../numeric/stats.ts';
import { mulberry32 } from '../numeric/rng.ts';

export type { InputStats };

/**
 * Most rows a prior keeps as its sample (train's reservoir, --prior CSV). The local error
 * estimate needs them dense: on the robotic-arm design task (4 inputs) 256 rows ranked worse than
 * the Mahalanobis distance alone, 2,048 better (bench/design.bench.ts).
 */
export const PRIOR_SAMPLE_ROWS = 2048;

/** Sample rows the local error estimate averages over. */
export const LOCAL_ERROR_NEIGHBOURS = 8;

/** The sample rows and the model's residuals there, for localError (over every model input). */
export interface PriorResiduals {
  /** Sample rows over every model input (model input order), rows × nIn. */
  X: Float64Array;
  /** Each row's normalised squared residual ρ (mean over outputs of r² / mean r² of that output). */
  rho: Float64Array;
  /** 1 / standard deviation of each model input (the metric of the neighbour search). */
  inv: Float64Array;
  rows: number;
}

/** The prior over a Problem's unknowns, in problem order. */
export interface Prior {
  /** Where it came from: the query, or the model's stored input statistics. */
  source: 'query' | 'model';
  /** Mean of each unknown. */
  mean: Float64Array;
  /** Lower Cholesky factor L (n×n, row-major) of the unknowns' marginal covariance Σ = L·Lᵀ. */
  L: Float64Array;
  /** The sample rows over the unknowns (each of length n); empty when the prior has none. */
  rows: Float64Array[];
  /** The model's residuals at the sample rows, when the statistics carry them (train's). */
  residuals?: PriorResiduals;
}

function bad(msg: string, detail: Record<string, unknown> = {}): NetinvertError {
  return new NetinvertError('bad_prior', msg, detail);
}

const isNums = (a: unknown, len: number): a is number[] =>
  Array.isArray(a) && a.length === len && a.every((x) => typeof x === 'number' && Number.isFinite(x));

/**
 * Check a prior's shape and values (JSON from a query, a model file or a sidecar): names unique,
 * mean, std or cov and rows of the names' width, finite, std > 0, cov symmetric. `where` names
 * the source in messages. Throws bad_prior.
 */
export function checkInputStats(s: unknown, where: string): InputStats {
  if (!s || typeof s !== 'object') throw bad(`${where}: a prior must be an object {names, mean, std or cov, rows?}`);
  const o = s as Record<string, unknown>;
  const names = o.names;
  if (!Array.isArray(names) || names.length === 0 || names.some((k) => typeof k !== 'string')) {
    throw bad(`${where}: "names" must be a non-empty list of input names`);
  }
  const dup = names.find((k, i) => names.indexOf(k) !== i);
  if (dup !== undefined) throw bad(`${where}: input "${dup}" is named twice; give each input once`, { input: dup });
  const d = names.length;
  if (!isNums(o.mean, d)) throw bad(`${where}: "mean" must be ${d} finite numbers, one per name (${names.join(', ')}); got ${Array.isArray(o.mean) ? `${o.mean.length} values` : JSON.stringify(o.mean)}`);
  if ((o.cov === undefined) === (o.std === undefined)) throw bad(`${where}: give exactly one of "std" (one per name) or "cov" (${d}×${d})`);
  if (o.std !== undefined) {
    if (!isNums(o.std, d)) throw bad(`${where}: "std" must be ${d} finite numbers, one per name`);
    const j = (o.std as number[]).findIndex((v) => !(v > 0));
    if (j >= 0) throw bad(`${where}: the standard deviation of "${names[j]}" is ${(o.std as number[])[j]}; it must be > 0 (a fixed input is a given one: use --given)`, { input: names[j] });
  }
  if (o.cov !== undefined) {
    const c = o.cov;
    if (!Array.isArray(c) || c.length !== d || c.some((r) => !isNums(r, d))) throw bad(`${where}: "cov" must be ${d} rows of ${d} finite numbers (names: ${names.join(', ')})`);
    const C = c as number[][];
    for (let i = 0; i < d; i++)
      for (let j = 0; j < i; j++)
        if (Math.abs(C[i][j] - C[j][i]) > 1e-9 * Math.max(1, Math.abs(C[i][j]), Math.abs(C[j][i]))) {
          throw bad(`${where}: "cov" is not symmetric (entry ${names[i]},${names[j]} = ${C[i][j]} but ${names[j]},${names[i]} = ${C[j][i]})`);
        }
  }
  if (o.rows !== undefined && (!Array.isArray(o.rows) || o.rows.some((r) => !isNums(r, d)))) {
    throw bad(`${where}: "rows" must be a list of rows of ${d} finite numbers (one per name)`);
  }
  if (o.residuals !== undefined) {
    const R = o.residuals,
      rows = o.rows as number[][] | undefined;
    const w = Array.isArray(R) && Array.isArray(R[0]) ? (R[0] as unknown[]).length : 0;
    if (!rows || !Array.isArray(R) || R.length !== rows.length || w === 0 || R.some((r) => !isNums(r, w))) {
      throw bad(`${where}: "residuals" must hold one row of finite numbers (one per model output) for each row of "rows"`);
    }
  }
  if (o.count !== undefined && !(typeof o.count === 'number' && Number.isSafeInteger(o.count) && o.count >= 0)) throw bad(`${where}: "count" must be a whole number ≥ 0`);
  return o as unknown as InputStats;
}

/**
 * The prior over the unknowns: check `spec`, map its names to the model's inputs (unknown_input
 * for a name that is not one), take the unknowns' marginal (mean sub-vector, covariance
 * sub-matrix) and factor it. Every unknown must be covered. A covariance that is positive
 * semi-definite but singular (a column that never varies together with another, fewer rows than
 * inputs) is regularised by a ridge of 1e-10 of its largest variance; one that is not PSD is an
 * error.
 */
export function buildPrior(model: Model, spec: InputStats, unknownNames: string[], source: 'query' | 'model'): Prior {
  const where = source === 'query' ? 'the query\'s prior' : 'the model\'s input statistics';
  const s = checkInputStats(spec, where);
  const net = model.network;
  for (const k of s.names) {
    if (net.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `${where} names "${k}", which is not an input of the model; its inputs are: ${net.inputNames.join(', ')}`, { input: k });
    }
  }
  const n = unknownNames.length;
  const col = unknownNames.map((k) => s.names.indexOf(k));
  const missing = unknownNames.filter((_, j) => col[j] < 0);
  if (missing.length) {
    throw bad(`${where} says nothing about the unknown input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; give ${missing.map((k) => `${k}=…`).join(',')} in --prior-mean and --prior-std (or a --prior CSV with ${missing.length > 1 ? 'those columns' : 'that column'})`, { inputs: missing });
  }
  const mean = Float64Array.from(col, (c) => s.mean[c]);
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) C[i * n + j] = s.cov ? s.cov[col[i]][col[j]] : i === j ? s.std![col[i]] ** 2 : 0;
  let maxVar = 0;
  for (let i = 0; i < n; i++) maxVar = Math.max(maxVar, C[i * n + i]);
  for (let i = 0; i < n; i++) {
    if (!(C[i * n + i] > 0)) throw bad(`${where}: the variance of "${unknownNames[i]}" is ${C[i * n + i]}; it must be > 0 (an input that never varies is a given one: use --given)`, { input: unknownNames[i] });
  }
  let L = C.slice();
  if (!cholesky(L, n)) {
    L = C.slice();
    for (let i = 0; i < n; i++) L[i * n + i] += 1e-10 * maxVar;
    if (!cholesky(L, n)) throw bad(`${where}: the covariance of ${unknownNames.join(', ')} is not positive semi-definite (it has a negative eigenvalue); give a covariance of real data, or --prior-std`);
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) L[i * n + j] = 0;
  const rows = (s.rows ?? []).map((r) => Float64Array.from(col, (c) => r[c]));
  const residuals = s.residuals ? residualsOf(model, s, where) : undefined;
  return { source, mean, L, rows, ...(residuals ? { residuals } : {}) };
}

/** The residual sample over every model input; undefined when the statistics do not cover every input. */
function residualsOf(model: Model, s: InputStats, where: string): PriorResiduals | undefined {
  const net = model.network;
  const nIn = net.nIn,
    nOut = net.nOut;
  const col = net.inputNames.map((k) => s.names.indexOf(k));
  if (col.some((c) => c < 0)) return undefined;
  const R = s.residuals!,
    S = s.rows!;
  if (R[0].length !== nOut) throw bad(`${where}: "residuals" has ${R[0].length} value(s) per row; the model has ${nOut} output(s)`);
  const rows = S.length;
  const X = new Float64Array(rows * nIn),
    rho = new Float64Array(rows);
  S.forEach((r, i) => col.forEach((c, j) => (X[i * nIn + j] = r[c])));
  for (let o = 0; o < nOut; o++) {
    let ms = 0;
    for (let i = 0; i < rows; i++) ms += R[i][o] ** 2;
    ms = ms / rows || 1;
    for (let i = 0; i < rows; i++) rho[i] += R[i][o] ** 2 / ms / nOut;
  }
  const inv = Float64Array.from(col, (c) => 1 / Math.sqrt(s.cov ? s.cov[c][c] : s.std![c] ** 2) || 1);
  return { X, rho, inv, rows };
}

/**
 * The model's likely error at the full input vector x, relative to its typical training error
 * (1: typical), for a solution m Mahalanobis units from the prior's mean over n unknowns (see the
 * file comment); null when the prior has no residuals.
 */
export function localError(prior: Prior, x: ArrayLike<number>, m: number): number | null {
  const R = prior.residuals;
  if (!R || R.rows === 0) return null;
  const nIn = R.inv.length;
  const K = Math.min(LOCAL_ERROR_NEIGHBOURS, R.rows);
  // the K nearest rows by insertion into a sorted list of K (K is small)
  const bd = new Float64Array(K).fill(Infinity),
    bi = new Int32Array(K).fill(-1);
  for (let i = 0; i < R.rows; i++) {
    let d2 = 0;
    for (let j = 0; j < nIn; j++) d2 += ((x[j] - R.X[i * nIn + j]) * R.inv[j]) ** 2;
    if (!(d2 < bd[K - 1])) continue;
    let k = K - 1;
    while (k > 0 && bd[k - 1] > d2) ((bd[k] = bd[k - 1]), (bi[k] = bi[k - 1]), k--);
    bd[k] = d2;
    bi[k] = i;
  }
  let s = 0,
    w = 0;
  for (let k = 0; k < K; k++) {
    const wk = 1 / (Math.sqrt(bd[k]) + 1e-9);
    s += wk * R.rho[bi[k]];
    w += wk;
  }
  const n = Math.max(1, prior.mean.length);
  return Math.sqrt((s / w) * (1 + (m * m) / n));
}

/** Mahalanobis distance of u (unknowns, problem order) to the prior's mean: ‖L⁻¹(u − μ)‖ by forward substitution. */
export function mahalanobis(prior: Prior, u: ArrayLike<number>): number {
  const n = prior.mean.length;
  const L = prior.L;
  const z = new Float64Array(n);
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    let s = u[i] - prior.mean[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
    s2 += z[i] * z[i];
  }
  return Math.sqrt(s2);
}

/** Mahalanobis distance (the prior's metric) from u to the nearest sample row; null without rows. */
export function nearestSampleDistance(prior: Prior, u: ArrayLike<number>): number | null {
  if (!prior.rows.length) return null;
  const n = prior.mean.length;
  const d = new Float64Array(n);
  let best = Infinity;
  const zero: Prior = { ...prior, mean: new Float64Array(n) };
  for (const r of prior.rows) {
    for (let j = 0; j < n; j++) d[j] = u[j] - r[j];
    best = Math.min(best, mahalanobis(zero, d));
  }
  return best;
}

/**
 * Draw `k` points from N(μ, Σ) (x = μ + L·z, z standard normal) into S (k × n, row-major),
 * each clipped to the box [lo, hi].
 */
export function samplePrior(prior: Prior, rand: () => number, S: Float64Array, k: number, lo: Float64Array, hi: Float64Array): void {
  const n = prior.mean.length;
  const z = new Float64Array(n);
  const L = prior.L;
  for (let q = 0; q < k; q++) {
    gaussians(rand, z, 0, n);
    for (let i = 0; i < n; i++) {
      let x = prior.mean[i];
      for (let j = 0; j <= i; j++) x += L[i * n + j] * z[j];
      S[q * n + i] = Math.min(hi[i], Math.max(lo[i], x));
    }
  }
}

/**
 * The statistics of a table (rows × names, row-major): mean, covariance and a uniform sample of
 * at most `cap` rows (Vitter's Algorithm R, seeded), as InputStats.
 */
export function statsOfRows(names: string[], X: Float64Array, rows: number, cap = PRIOR_SAMPLE_ROWS, seed = 0): InputStats {
  const d = names.length;
  const { mean, cov } = meanCovariance(X, rows, d);
  const idx = sampleRowIndices(rows, cap, seed);
  return {
    names: names.slice(),
    mean: Array.from(mean),
    cov: Array.from({ length: d }, (_, i) => Array.from(cov.subarray(i * d, i * d + d))),
    rows: idx.map((r) => Array.from(X.subarray(r * d, r * d + d))),
    count: rows,
  };
}

/** The rows statsOfRows keeps as its sample (the same for the same rows, cap and seed). */
export function sampleRowIndices(rows: number, cap = PRIOR_SAMPLE_ROWS, seed = 0): number[] {
  return reservoirIndices(rows, cap, mulberry32(seed ^ 0x2545f491));
}

/** A diagonal prior from per-input means and standard deviations (--prior-mean, --prior-std). */
export function diagonalPrior(mean: Record<string, number>, std: Record<string, number>): InputStats {
  const names = Object.keys(mean);
  const extra = Object.keys(std).filter((k) => !(k in mean));
  const lack = names.filter((k) => !(k in std));
  if (extra.length) throw bad(`--prior-std names ${extra.join(', ')}, which --prior-mean does not; give both for each input`);
  if (lack.length) throw bad(`--prior-mean names ${lack.join(', ')}, which --prior-std does not; give a standard deviation for each (e.g. ${lack[0]}=1)`);
  return { names, mean: names.map((k) => mean[k]), std: names.map((k) => std[k]) };
}

/** The statistics of the columns `keep` names (in the stats' own order): a CSV's prior without its output columns. */
export function restrictStats(s: InputStats, keep: readonly string[]): InputStats {
  const idx = s.names.map((k, i) => (keep.includes(k) ? i : -1)).filter((i) => i >= 0);
  const pick = (r: number[]): number[] => idx.map((i) => r[i]);
  return {
    names: idx.map((i) => s.names[i]),
    mean: pick(s.mean),
    ...(s.cov ? { cov: idx.map((i) => pick(s.cov![i])) } : {}),
    ...(s.std ? { std: pick(s.std) } : {}),
    ...(s.rows ? { rows: s.rows.map(pick) } : {}),
    ...(s.residuals ? { residuals: s.residuals.map((r) => r.slice()) } : {}),
    ...(s.count !== undefined ? { count: s.count } : {}),
  };
}
