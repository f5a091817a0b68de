/**
 * Engine benchmark: netinvert's float64 engine against TensorFlow.js (float32) in the same
 * process, on plain multilayer perceptrons.
 *
 * Nets: 2-2-1, 4-64-64-2 and 8-256-256-256-4, each with tanh and with relu hidden
 * activations and a linear output layer. Weights are Glorot-uniform (limit √(6/(in+out))),
 * biases uniform in ±0.1, inputs uniform in ±1, all from a fixed seed, so every run times
 * the same nets on the same points. Batches of 1 and 1024 points.
 *
 * Tasks:
 * - forward: the outputs of every point of the batch;
 * - Jacobian: the full input Jacobian (every input wrt every output) of every point.
 *   netinvert: `net.jacobian(X, rows)`, mode 'auto' (reverse mode here, since every net has
 *   fewer outputs than inputs: one backward sweep per output, all points and outputs swept
 *   together). TF.js: for each output o, one `tf.grad` of the net with the cotangent dy = the
 *   one-hot column o (i.e. the gradient of Σ_rows y[:, o]); rows are independent, so that
 *   gives the row-wise gradients ∂y[r, o]/∂x[r, :] of every point at once. Each `tf.grad`
 *   call runs the forward pass again, which is how TF.js computes a vjp.
 *
 * FLOP counts (per point; the same nominal count for every engine, so GFLOP/s ratios equal
 * speed ratios; activations, bias adds and the output copy are not counted):
 *   forward   F = 2 · Σ_layers (in · out)
 *   Jacobian  F + min(nIn, nOut) · F
 *             (one forward pass, then one sweep per direction of the cheaper mode, each
 *             sweep costing one multiply-add per weight as the forward pass does)
 *   2-2-1: F = 12, Jacobian 24.  4-64-64-2: F = 8960, Jacobian 26 880.
 *   8-256-256-256-4: F = 268 288, Jacobian 1 341 440.
 *
 * Timing (bench/harness.ts): warm up, then repeat the call until ≥ 0.3 s has elapsed, three
 * times; report the median. Calls slower than 0.3 s run once per measurement. Every call
 * produces results readable from JS: netinvert writes into preallocated Float64Arrays (the
 * engine allocates nothing per call), TF.js calls `dataSync()` on each result and disposes
 * it. Input tensors are uploaded once, outside the timed loop.
 *
 * TF.js backends: 'cpu' (plain JS) and 'wasm' (XNNPACK, SIMD; single-threaded in Node,
 * where tfjs-backend-wasm disables threads), both float32. Forward uses
 * `tf.fused.matMul` (matmul + bias, + relu fused where the activation is relu); tanh is a
 * separate op. A backend that fails to start is reported and skipped.
 *
 * Issue targets (printed as PASS/MISS, never asserted): 2-2-1 Jacobian ≤ 1 µs per point at
 * batch 1024 and ≥ 50× faster than TF.js; 8-256-256-256-4 at batch 1024 ≥ 1.5 GFLOP/s
 * (float64, one core). The speed ratio to tfjs-wasm is printed whatever it is.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { network, type GraphDef, type Network } from '../src/index.ts';
import { StreamTable, fmt, fmtRate, measure, rng, type MeasureOptions } from './harness.ts';

type Act = 'tanh' | 'relu';
type Task = 'forward' | 'jacobian';
type EngineName = 'netinvert' | 'tfjs-cpu' | 'tfjs-wasm';

const NETS: number[][] = [
  [2, 2, 1],
  [4, 64, 64, 2],
  [8, 256, 256, 256, 4],
];
const ACTS: Act[] = ['tanh', 'relu'];
const BATCHES = [1, 1024];
const TASKS: Task[] = ['forward', 'jacobian'];
const TF_BACKENDS = ['cpu', 'wasm'] as const;
const SEED = 20240607;

interface Layer {
  nIn: number;
  nOut: number;
  /** nIn × nOut, row-major (Keras kernel layout). */
  W: Float64Array;
  b: Float64Array;
}

interface Result {
  perPoint: number;
  flopsPerPoint: number;
  /** Largest |netinvert − this engine| over the values compared (tfjs only). */
  maxDiff?: number;
}

function makeLayers(sizes: number[], seed: number): Layer[] {
  const rand = rng(seed);
  const layers: Layer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l],
      nOut = sizes[l + 1];
    const lim = Math.sqrt(6 / (nIn + nOut));
    const W = new Float64Array(nIn * nOut).map(() => (2 * rand() - 1) * lim);
    const b = new Float64Array(nOut).map(() => (2 * rand() - 1) * 0.1);
    layers.push({ nIn, nOut, W, b });
  }
  return layers;
}

function graphDef(layers: Layer[], act: Act): GraphDef {
  const nodes: GraphDef['nodes'] = [];
  let prev = 'x';
  layers.forEach((L, l) => {
    nodes.push({ name: `dense${l}`, op: { type: 'dense', units: L.nOut, weight: L.W, bias: L.b }, inputs: [prev] });
    prev = `dense${l}`;
    if (l + 1 < layers.length) {
      nodes.push({ name: `${act}${l}`, op: { type: 'unary', fn: act }, inputs: [prev] });
      prev = `${act}${l}`;
    }
  });
  return { inputs: [{ name: 'x', width: layers[0].nIn }], nodes, outputs: [{ node: prev }] };
}

function flops(sizes: number[], task: Task): number {
  let f = 0;
  for (let l = 0; l + 1 < sizes.length; l++) f += 2 * sizes[l] * sizes[l + 1];
  return task === 'forward' ? f : f + Math.min(sizes[0], sizes[sizes.length - 1]) * f;
}

/** Fewer repetitions where one call is long (the big net at batch 1024). */
function timingFor(sizes: number[], rows: number): MeasureOptions {
  const big = sizes.reduce((a, s) => a + s, 0) > 500 && rows > 1;
  return big ? { minS: 0.3, runs: 3, warmupS: 0 } : { minS: 0.3, runs: 3, warmupS: 0.1 };
}

// ---------------------------------------------------------------------------------- tfjs

function wasmDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  } catch {
    return path.resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist') + path.sep;
  }
}

/** Switch TF.js to a backend; null on success, else why it failed. */
async function useBackend(name: string): Promise<string | null> {
  try {
    if (name === 'wasm') setWasmPaths(wasmDir());
    const ok = await tf.setBackend(name);
    if (!ok) return `tf.setBackend('${name}') returned false`;
    await tf.ready();
    if (tf.getBackend() !== name) return `active backend is ${tf.getBackend()}`;
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

class TfNet {
  private readonly W: tf.Tensor2D[];
  private readonly b: tf.Tensor1D[];
  private readonly grad: (x: tf.Tensor, dy?: tf.Tensor) => tf.Tensor;

  constructor(
    layers: Layer[],
    private readonly act: Act,
  ) {
    this.W = layers.map((L) => tf.tensor2d(Float32Array.from(L.W), [L.nIn, L.nOut], 'float32'));
    this.b = layers.map((L) => tf.tensor1d(Float32Array.from(L.b), 'float32'));
    this.grad = tf.grad((x: tf.Tensor) => this.apply(x as tf.Tensor2D));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    let h = x;
    const last = this.W.length - 1;
    for (let l = 0; l <= last; l++) {
      const fuseRelu = l < last && this.act === 'relu';
      h = tf.fused.matMul({ a: h, b: this.W[l], bias: this.b[l], activation: fuseRelu ? 'relu' : 'linear' }) as tf.Tensor2D;
      if (l < last && this.act === 'tanh') h = tf.tanh(h);
    }
    return h;
  }

  /** The vjp of the net at x with cotangent dy: rows × nIn. */
  vjp(x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor {
    return this.grad(x, dy);
  }

  dispose(): void {
    for (const t of [...this.W, ...this.b]) t.dispose();
  }
}

// ---------------------------------------------------------------------------------- bench

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return a.length === b.length ? d : NaN;
}

const key = (net: string, act: Act, rows: number, task: Task): string => `${net}|${act}|${rows}|${task}`;

export async function runEngineBench(): Promise<void> {
  const t0 = performance.now();
  const results = new Map<string, Map<EngineName, Result>>();
  const failed = new Map<string, string>();
  const put = (k: string, e: EngineName, r: Result): void => {
    if (!results.has(k)) results.set(k, new Map());
    results.get(k)!.set(e, r);
  };

  // prod mode only silences TF.js's console advice ("install tfjs-node"); DEBUG checks are off either way
  tf.enableProdMode();
  console.log('Engine benchmark: netinvert (float64) vs TensorFlow.js %s (float32), one process, one core', tf.version.tfjs);
  console.log(`${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.versions.node}`);
  console.log(
    'Median of 3 runs of ≥ 0.3 s after warm-up. GFLOP/s counts 2·Σ(in·out) per point for forward,',
    '\n(1 + min(nIn, nOut)) × that for the Jacobian. Δ = max |netinvert − tfjs| (float32 rounding).',
  );
  for (const b of TF_BACKENDS) {
    const why = await useBackend(b);
    if (why) {
      failed.set(`tfjs-${b}`, why);
      console.log(`tfjs-${b}: could not start (${why}); skipped`);
    }
  }
  if (!failed.has('tfjs-wasm')) {
    await useBackend('wasm');
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    console.log(`tfjs-wasm: SIMD ${simd ? 'on' : 'off'}, threads ${threads ? 'on' : 'off'}`);
  }
  console.log();

  const table = new StreamTable([
    { title: 'net', width: 15, align: 'left' },
    { title: 'act', width: 4, align: 'left' },
    { title: 'batch', width: 5 },
    { title: 'task', width: 8, align: 'left' },
    { title: 'engine', width: 9, align: 'left' },
    { title: 'points/s', width: 9 },
    { title: 'µs/point', width: 9 },
    { title: 'GFLOP/s', width: 8 },
    { title: 'Δ', width: 8 },
    { title: 'note', width: 4, align: 'left' },
  ]);
  table.header();

  for (const sizes of NETS) {
    const netName = sizes.join('-');
    const nIn = sizes[0],
      nOut = sizes[sizes.length - 1];
    for (const act of ACTS) {
      const layers = makeLayers(sizes, SEED + sizes.length * 101 + (act === 'relu' ? 7 : 0));
      const net: Network = network(graphDef(layers, act));
      const mode = nOut < nIn ? 'reverse' : 'forward';
      const rand = rng(SEED + 1);
      const Xs = new Map<number, Float64Array>();
      for (const rows of BATCHES) Xs.set(rows, new Float64Array(rows * nIn).map(() => 2 * rand() - 1));

      // netinvert, keeping its results for the comparison with tfjs
      const ref = new Map<string, Float64Array>();
      for (const rows of BATCHES) {
        const X = Xs.get(rows)!;
        const Y = new Float64Array(rows * nOut);
        const J = new Float64Array(rows * nOut * nIn);
        const opt = timingFor(sizes, rows);
        const tf_ = measure(() => net.evaluate(X, rows, Y), opt);
        put(key(netName, act, rows, 'forward'), 'netinvert', { perPoint: tf_.perCall / rows, flopsPerPoint: flops(sizes, 'forward') });
        ref.set(`${rows}|forward`, Y.slice());
        const tj = measure(() => net.jacobian(X, rows, { out: J, values: Y }), opt);
        put(key(netName, act, rows, 'jacobian'), 'netinvert', { perPoint: tj.perCall / rows, flopsPerPoint: flops(sizes, 'jacobian') });
        ref.set(`${rows}|jacobian`, J.slice());
      }

      for (const backend of TF_BACKENDS) {
        const engine = `tfjs-${backend}` as EngineName;
        if (failed.has(engine)) continue;
        const why = await useBackend(backend);
        if (why) {
          failed.set(engine, why);
          console.log(`${engine}: failed to switch (${why}); skipped from here on`);
          continue;
        }
        const before = tf.memory().numTensors;
        const tnet = new TfNet(layers, act);
        for (const rows of BATCHES) {
          const opt = timingFor(sizes, rows);
          const Xt = tf.tensor2d(Float32Array.from(Xs.get(rows)!), [rows, nIn], 'float32');
          const dys = Array.from({ length: nOut }, (_, o) => {
            const d = new Float32Array(rows * nOut);
            for (let r = 0; r < rows; r++) d[r * nOut + o] = 1;
            return tf.tensor2d(d, [rows, nOut], 'float32');
          });

          const fwd = (): Float32Array | Int32Array | Uint8Array => {
            const y = tf.tidy(() => tnet.apply(Xt));
            const v = y.dataSync();
            y.dispose();
            return v;
          };
          const jac = (): (Float32Array | Int32Array | Uint8Array)[] => {
            const out = [];
            for (let o = 0; o < nOut; o++) {
              const g = tf.tidy(() => tnet.vjp(Xt, dys[o]));
              out.push(g.dataSync());
              g.dispose();
            }
            return out;
          };

          // agreement with netinvert (untimed)
          const dF = maxAbsDiff(ref.get(`${rows}|forward`)!, fwd());
          const grads = jac();
          const Jt = new Float64Array(rows * nOut * nIn);
          for (let o = 0; o < nOut; o++)
            for (let r = 0; r < rows; r++)
              for (let j = 0; j < nIn; j++) Jt[(r * nOut + o) * nIn + j] = grads[o][r * nIn + j];
          const dJ = maxAbsDiff(ref.get(`${rows}|jacobian`)!, Jt);

          const tF = measure(fwd, opt);
          put(key(netName, act, rows, 'forward'), engine, {
            perPoint: tF.perCall / rows,
            flopsPerPoint: flops(sizes, 'forward'),
            maxDiff: dF,
          });
          const tJ = measure(jac, opt);
          put(key(netName, act, rows, 'jacobian'), engine, {
            perPoint: tJ.perCall / rows,
            flopsPerPoint: flops(sizes, 'jacobian'),
            maxDiff: dJ,
          });
          Xt.dispose();
          for (const d of dys) d.dispose();
        }
        tnet.dispose();
        const leaked = tf.memory().numTensors - before;
        if (leaked !== 0) console.log(`warning: ${engine} leaked ${leaked} tensors on ${netName} ${act}`);
      }

      for (const rows of BATCHES) {
        for (const task of TASKS) {
          const rs = results.get(key(netName, act, rows, task))!;
          for (const [engine, r] of rs) {
            table.row([
              netName,
              act,
              String(rows),
              task,
              engine,
              fmtRate(1 / r.perPoint),
              fmt(r.perPoint * 1e6),
              fmt((r.flopsPerPoint / r.perPoint) * 1e-9),
              r.maxDiff === undefined ? '' : fmt(r.maxDiff, 2),
              engine === 'netinvert' && task === 'jacobian' ? mode.slice(0, 3) : '',
            ]);
          }
        }
      }
      table.rule();
    }
  }

  // ---------------------------------------------------------------------- ratios
  const ratio = (k: string, e: EngineName): number | null => {
    const rs = results.get(k);
    const a = rs?.get('netinvert'),
      b = rs?.get(e);
    return a && b ? b.perPoint / a.perPoint : null;
  };
  const fr = (x: number | null): string => (x === null ? 'n/a' : `${fmt(x)}×`);
  console.log('Speed ratios, netinvert / tfjs (> 1: netinvert faster)');
  const rt = new StreamTable([
    { title: 'net', width: 15, align: 'left' },
    { title: 'act', width: 4, align: 'left' },
    { title: 'batch', width: 5 },
    { title: 'task', width: 8, align: 'left' },
    { title: 'vs tfjs-cpu', width: 11 },
    { title: 'vs tfjs-wasm', width: 12 },
  ]);
  rt.header();
  for (const sizes of NETS)
    for (const act of ACTS)
      for (const rows of BATCHES)
        for (const task of TASKS) {
          const k = key(sizes.join('-'), act, rows, task);
          rt.row([sizes.join('-'), act, String(rows), task, fr(ratio(k, 'tfjs-cpu')), fr(ratio(k, 'tfjs-wasm'))]);
        }
  console.log();

  // ---------------------------------------------------------------------- targets
  console.log('Issue targets');
  const line = (ok: boolean | null, text: string): void => console.log(`${ok === null ? 'N/A ' : ok ? 'PASS' : 'MISS'}  ${text}`);
  for (const act of ACTS) {
    const k = key('2-2-1', act, 1024, 'jacobian');
    const r = results.get(k)?.get('netinvert');
    if (r) line(r.perPoint <= 1e-6, `2-2-1 ${act} Jacobian, batch 1024: ${fmt(r.perPoint * 1e6)} µs/point (target ≤ 1)`);
  }
  let missBatched = false;
  for (const act of ACTS)
    for (const rows of BATCHES) {
      const rc = ratio(key('2-2-1', act, rows, 'jacobian'), 'tfjs-cpu'),
        rw = ratio(key('2-2-1', act, rows, 'jacobian'), 'tfjs-wasm');
      const known = [rc, rw].filter((x): x is number => x !== null);
      if (rows > 1 && known.some((x) => x < 50)) missBatched = true;
      line(
        known.length ? Math.min(...known) >= 50 : null,
        `2-2-1 ${act} Jacobian, batch ${rows}: ${fr(rc)} tfjs-cpu, ${fr(rw)} tfjs-wasm (target ≥ 50×)`,
      );
    }
  if (missBatched) {
    console.log('      (at batch 1024 TF.js spreads its fixed per-op cost over the batch; what is left for netinvert to');
    console.log('       beat is per-point arithmetic, where float64 JS and Math.tanh set the floor: the 50× holds at batch 1)');
  }
  const big = NETS[NETS.length - 1].join('-');
  for (const act of ACTS)
    for (const task of TASKS) {
      const r = results.get(key(big, act, 1024, task))?.get('netinvert');
      if (!r) continue;
      const g = (r.flopsPerPoint / r.perPoint) * 1e-9;
      line(g >= 1.5, `${big} ${act} ${task}, batch 1024: ${fmt(g)} GFLOP/s float64 (target ≥ 1.5)`);
    }
  for (const act of ACTS)
    for (const task of TASKS) {
      const rw = ratio(key(big, act, 1024, task), 'tfjs-wasm');
      console.log(
        `INFO  ${big} ${act} ${task}, batch 1024: netinvert is ${rw === null ? 'n/a' : rw >= 1 ? `${fmt(rw)}× faster than` : `${fmt(1 / rw)}× slower than`} tfjs-wasm (float32, SIMD)`,
      );
    }
  for (const [e, why] of failed) console.log(`NOTE  ${e} did not run: ${why}`);
  console.log(`\nengine bench: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// `tsx bench/engine.bench.ts` runs this bench alone
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runEngineBench();
}
