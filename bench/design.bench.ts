/**
 * Inverse design with a prior: the sine-wave and robotic-arm tasks of Ren, Padilla & Malof
 * (NeurIPS 2020, "Benchmarking deep inverse models over time, and the neural-adjoint method"),
 * each simulator written from the paper's equations:
 *
 * - sine wave: y = sin(3π·x1) + cos(3π·x2), x ∈ [−1, 1]², x uniform;
 * - robotic arm: x = (h, θ1, θ2, θ3), h ~ N(0, 0.25²), θi ~ N(0, 0.5²); a 3-segment planar arm of
 *   lengths 0.5, 0.5, 1.0 starting at (0, h): the end effector is
 *   y1 = Σ lᵢ·cos(θ1 + … + θᵢ), y2 = h + Σ lᵢ·sin(θ1 + … + θᵢ).
 *
 * Protocol: train a surrogate here (src/train, tanh MLP, a few thousand rows drawn from the
 * prior; `train` stores the inputs' mean, covariance and a reservoir: the model's prior), draw
 * targets y* = f(x*) with x* from the prior, solve each with the surrogate, re-simulate the
 * ranked proposals with the true f and report r_T = mean over targets of the best TRUE error
 * (mean squared error of f(x) against y*) among the first T proposals, T = 1, 5, 10:
 *
 * - trust (netinvert's default with a trained model, --rank auto): the model's prior (half the
 *   starts drawn from it), solutions ranked by localError — the model's training residuals at the
 *   nearest stored rows, inflated by the Mahalanobis distance (problem/prior.ts);
 * - plausibility: the same search, ranked by Mahalanobis distance to the training inputs' mean;
 * - spread: the same search, --rank spread;
 * - surrogate error: netinvert without a prior (starts over the box), ranked by surrogate miss;
 * - NA (neural adjoint, Ren et al. 2020 §3): Adam on the inputs from 512 starts drawn from the
 *   prior, loss ‖ŝ(x) − y*‖² + the boundary loss Σ ReLU(|x − μ| − R/2) (μ, R: the centre and
 *   width of the training range), 300 steps at learning rate 0.01, ranked by surrogate loss.
 *
 * One run, fixed seeds; wall times on this machine (shared, loaded: compare within the run).
 * `--quick`: fewer rows and training iterations, 10 targets.
 */
import { invert } from '../src/api/invert.ts';
import { createModel, type Model } from '../src/model.ts';
import { AdamMoments, adamParams } from '../src/numeric/adam.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { gaussians } from '../src/numeric/stats.ts';
import type { Solution } from '../src/solve/result.ts';
import { trainMlp } from '../src/train/train.ts';

interface Task {
  name: string;
  inputs: string[];
  outputs: string[];
  f: (x: Float64Array, o: Float64Array) => void;
  /** One draw from the prior into x. */
  draw: (rand: () => number, x: Float64Array) => void;
}

const SINE: Task = {
  name: 'sine wave',
  inputs: ['x1', 'x2'],
  outputs: ['y'],
  f: (x, o) => {
    o[0] = Math.sin(3 * Math.PI * x[0]) + Math.cos(3 * Math.PI * x[1]);
  },
  draw: (rand, x) => {
    x[0] = 2 * rand() - 1;
    x[1] = 2 * rand() - 1;
  },
};

const LENGTHS = [0.5, 0.5, 1.0];
const ARM: Task = {
  name: 'robotic arm',
  inputs: ['h', 't1', 't2', 't3'],
  outputs: ['y1', 'y2'],
  f: (x, o) => {
    let a = 0,
      px = 0,
      py = x[0];
    for (let i = 0; i < 3; i++) {
      a += x[1 + i];
      px += LENGTHS[i] * Math.cos(a);
      py += LENGTHS[i] * Math.sin(a);
    }
    o[0] = px;
    o[1] = py;
  },
  draw: (() => {
    const z = new Float64Array(4);
    return (rand: () => number, x: Float64Array): void => {
      gaussians(rand, z, 0, 4);
      x[0] = 0.25 * z[0];
      for (let i = 1; i < 4; i++) x[i] = 0.5 * z[i];
    };
  })(),
};

function trueMse(task: Task, x: Float64Array, target: Float64Array): number {
  const o = new Float64Array(task.outputs.length);
  task.f(x, o);
  let s = 0;
  for (let i = 0; i < o.length; i++) s += (o[i] - target[i]) ** 2;
  return s / o.length;
}

/** r_T for T in Ts: mean over targets of the best true error among the first T proposals. */
function rT(errs: number[][], Ts: number[]): number[] {
  return Ts.map((T) => errs.reduce((s, e) => s + (e.length ? Math.min(...e.slice(0, T)) : Infinity), 0) / errs.length);
}

/**
 * Neural adjoint: batched Adam on the inputs of the surrogate from `starts` prior draws; loss
 * ‖ŝ(x) − y*‖² + Σ ReLU(|x − μ| − R/2). Returns the finals sorted by surrogate loss.
 */
function neuralAdjoint(model: Model, task: Task, target: Float64Array, starts: number, steps: number, lr: number, seed: number): Float64Array[] {
  const n = task.inputs.length,
    m = task.outputs.length;
  const rand = mulberry32(seed);
  const X = new Float64Array(starts * n);
  const x = new Float64Array(n);
  for (let q = 0; q < starts; q++) {
    task.draw(rand, x);
    X.set(x, q * n);
  }
  const ranges = model.metadata.inputRanges!;
  const mu = task.inputs.map((k) => 0.5 * (ranges[k][0] + ranges[k][1]));
  const R = task.inputs.map((k) => ranges[k][1] - ranges[k][0]);
  const adam = new AdamMoments(starts * n, adamParams(lr));
  const G = new Float64Array(starts * n),
    step = new Float64Array(starts * n);
  const net = model.network;
  for (let t = 1; t <= steps; t++) {
    const { J, Y } = net.jacobian(X, starts);
    G.fill(0);
    for (let q = 0; q < starts; q++) {
      for (let o = 0; o < m; o++) {
        const r = 2 * (Y[q * m + o] - target[o]);
        for (let j = 0; j < n; j++) G[q * n + j] += r * J[(q * m + o) * n + j];
      }
      for (let j = 0; j < n; j++) {
        const d = X[q * n + j] - mu[j];
        if (Math.abs(d) > R[j] / 2) G[q * n + j] += Math.sign(d);
      }
    }
    adam.step(0, starts * n, G, 0, t, step, 0);
    for (let i = 0; i < starts * n; i++) X[i] -= step[i];
  }
  const Y = net.evaluate(X, starts);
  const loss = Array.from({ length: starts }, (_, q) => {
    let s = 0;
    for (let o = 0; o < m; o++) s += (Y[q * m + o] - target[o]) ** 2;
    return s;
  });
  const order = loss.map((_, q) => q).sort((a, b) => loss[a] - loss[b]);
  return order.map((q) => X.slice(q * n, q * n + n));
}

function pointOf(task: Task, s: Solution): Float64Array {
  return Float64Array.from(task.inputs, (k) => s.inputs[k]);
}

async function runTask(task: Task, quick: boolean): Promise<void> {
  const rows = quick ? 2000 : 4000,
    targets = quick ? 10 : 50;
  const hidden = [32, 32];
  const n = task.inputs.length,
    m = task.outputs.length;
  const rand = mulberry32(7);
  const inputs = new Float64Array(rows * n),
    outputs = new Float64Array(rows * m);
  const x = new Float64Array(n),
    y = new Float64Array(m);
  for (let r = 0; r < rows; r++) {
    task.draw(rand, x);
    task.f(x, y);
    inputs.set(x, r * n);
    outputs.set(y, r * m);
  }
  let t0 = performance.now();
  const { model, report } = trainMlp(
    { inputs, outputs, inputNames: task.inputs, outputNames: task.outputs },
    // a long L-BFGS polish (patience off): the sine surrogate stays at RMSE ≈ 0.7 under the default early stopping
    { hidden, activation: 'tanh', epochs: quick ? 100 : 200, lbfgsIterations: quick ? 500 : 1000, patience: 100_000, seed: 1, name: task.name },
  );
  const trainS = (performance.now() - t0) / 1000;
  const valRmse = (model.metadata.extra?.training as { valRmse?: Record<string, number> } | undefined)?.valRmse;
  console.log(
    `${task.name}: surrogate ${[n, ...hidden, m].join('-')} tanh, ${rows} rows, trained in ${trainS.toFixed(1)} s (${report.epochs} epochs); validation RMSE ${valRmse ? Object.values(valRmse).map((v) => v.toExponential(2)).join(', ') : '—'}`,
  );
  const noPrior = createModel(model.graph, { ...model.metadata, inputStats: undefined });

  const Ts = [1, 5, 10];
  const errs: Record<string, number[][]> = { trust: [], plausibility: [], spread: [], 'surrogate error': [], NA: [] };
  const time: Record<string, number> = { trust: 0, plausibility: 0, spread: 0, 'surrogate error': 0, NA: 0 };
  const solved: Record<string, number> = { trust: 0, plausibility: 0, spread: 0, 'surrogate error': 0, NA: targets };
  const trand = mulberry32(1234);
  const opts = { maxRepresentatives: 10, maxEvaluations: 100_000, timeLimit: 30, seed: 0 };
  for (let k = 0; k < targets; k++) {
    task.draw(trand, x);
    const target = new Float64Array(m);
    task.f(x, target);
    const want = Object.fromEntries(task.outputs.map((o, i) => [o, target[i]]));
    const runNetinvert = (key: string, mdl: Model, rank: 'auto' | 'plausibility' | 'spread', byMiss: boolean): void => {
      t0 = performance.now();
      const r = invert(mdl, { want }, { ...opts, rank });
      time[key] += performance.now() - t0;
      let sols = r.solutions.slice();
      if (sols.length) solved[key]++;
      if (byMiss) sols.sort((a, b) => a.maxMiss - b.maxMiss);
      if (!sols.length && r.best) sols = [r.best];
      errs[key].push(sols.map((s) => trueMse(task, pointOf(task, s), target)));
    };
    runNetinvert('trust', model, 'auto', false);
    runNetinvert('plausibility', model, 'plausibility', false);
    runNetinvert('spread', model, 'spread', false);
    runNetinvert('surrogate error', noPrior, 'auto', true);
    t0 = performance.now();
    const na = neuralAdjoint(model, task, target, 512, 300, 0.01, 99 + k);
    time.NA += performance.now() - t0;
    errs.NA.push(na.slice(0, 10).map((p) => trueMse(task, p, target)));
  }
  console.log(`\n${task.name}: ${targets} targets; r_T = mean over targets of the best true MSE among the first T proposals (lower is better)`);
  console.log(`${'ranking'.padEnd(18)} ${'solved'.padStart(7)} ${Ts.map((T) => `r_${T}`.padStart(10)).join(' ')} ${'wall s'.padStart(8)} ${'vs NA'.padStart(7)}`);
  for (const key of Object.keys(errs)) {
    const r = rT(errs[key], Ts);
    console.log(
      `${key.padEnd(18)} ${`${solved[key]}/${targets}`.padStart(7)} ${r.map((v) => v.toExponential(2).padStart(10)).join(' ')} ${(time[key] / 1000).toFixed(2).padStart(8)} ${(time[key] / time.NA).toFixed(2).padStart(7)}`,
    );
  }
  const r1 = (key: string): number => rT(errs[key], [1])[0];
  // the paired difference of the first proposals' true errors, target by target, with its standard
  // error: whether a ranking's r_1 lead is more than the noise of 50 targets
  const first = (key: string): number[] => errs[key].map((e) => (e.length ? e[0] : Infinity));
  for (const [mine, other] of [
    ['trust', 'surrogate error'],
    ['trust', 'NA'],
    ['plausibility', 'surrogate error'],
    ['plausibility', 'NA'],
  ]) {
    const a = first(mine),
      b = first(other);
    const d = a.map((v, i) => v - b[i]).filter(Number.isFinite);
    const mean = d.reduce((p, v) => p + v, 0) / d.length;
    const se = Math.sqrt(d.reduce((p, v) => p + (v - mean) ** 2, 0) / Math.max(1, d.length - 1) / d.length);
    console.log(`r_1 ${mine} − ${other}: ${mean.toExponential(2)} ± ${(2 * se).toExponential(2)} (mean ± 2 SE over targets, paired)${Math.abs(mean) <= 2 * se ? ': within the noise' : ''}`);
  }
  for (const key of ['trust', 'plausibility']) {
    const pass = r1(key) < r1('surrogate error') && r1(key) < r1('NA') && time[key] <= time.NA / 10;
    console.log(`target (T = 1: ${key === 'trust' ? 'the default ranking with the model\'s prior (trust)' : 'Mahalanobis plausibility'} beats surrogate-error ranking and NA, at ≤ 1/10 of NA's wall time): ${pass ? 'PASS' : 'MISS'}`);
  }
}

export async function runDesignBench(): Promise<void> {
  const quick = process.argv.includes('--quick');
  for (const task of [SINE, ARM]) {
    await runTask(task, quick);
    console.log('');
  }
}
