/**
 * `solve --prove --workers N` (issue #14): the proof's branch-and-bound shared among workers
 * (certify/proof/parallel.ts). Oracles: the one-thread proof (status, solution set, completeness),
 * the independent certificate verifier, dense grids of the net's outputs (infeasible claims), and
 * closed-form roots of the seed nets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certify, certifyParallel } from '../src/api/certify.ts';
import { verifyCertificate, type Certificate } from '../src/certify/proof/certificate.ts';
import { runProofWorkItem, type ProofWorkers, type ProofWorkItem, type ProofWorkResult } from '../src/certify/proof/parallel.ts';
import { buildProblem, type Query } from '../src/problem/query.ts';
import { setStopSignal } from '../src/solve/evaluator.ts';
import { createModel, type Model } from '../src/model.ts';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { ProofThreadPool } from '../src/cli/vnnPool.ts';
import type { InvertResult } from '../src/api/invert.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { evenE, FOUR_IN_TARGETS, fourRootNet, loadShipped, saturatingNet, threeRootNet } from './problems.ts';
import { rng } from './util/rng.ts';
import { run } from './util/cli.ts';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/**
 * Work items run in this thread, each after the event loop turns, logged. `cap` lowers each
 * item's box share, so that items hand boxes back to the queue (the path a hard region takes).
 */
function inProcess(model: Model, query: Query, size: number, o: { cap?: number; before?: (n: number) => void } = {}) {
  const problem = buildProblem(model, query);
  const log: { item: ProofWorkItem; result: ProofWorkResult }[] = [];
  const workers: ProofWorkers = {
    size,
    run: (item) =>
      new Promise<ProofWorkResult>((res) =>
        setImmediate(() => {
          o.before?.(log.length);
          const it = o.cap ? { ...item, maxBoxes: Math.min(item.maxBoxes, o.cap) } : item;
          const r = runProofWorkItem(problem, it);
          log.push({ item: it, result: r });
          res(r);
        }),
      ),
  };
  return { workers, log };
}

/** The unknowns of each solution, sorted, as rows. */
function solutionRows(r: InvertResult): number[][] {
  return r.solutions.map((s) => Object.keys(s.unknowns).sort().map((k) => s.unknowns[k])).sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0));
}

/** N = 2 against N = 1: status, proof, completeness, the solution set (within tol); the merged certificate verifies. */
async function compare(model: Model, query: Query, o: { cap?: number; tol?: number; options?: Parameters<typeof certify>[2] } = {}) {
  const options = { timeLimit: 120, ...o.options };
  const one = certify(model, query, options);
  const { workers, log } = inProcess(model, query, 2, { cap: o.cap });
  // 2 waiting boxes per worker before the hand-off: even the small proofs here are shared
  const two = await certifyParallel(model, query, workers, options, { splitPerWorker: 2 });
  expect(two.status).toBe(one.status);
  expect(two.proven).toBe(one.proven);
  expect(two.complete).toBe(one.complete);
  const a = solutionRows(one),
    b = solutionRows(two);
  expect(b.length).toBe(a.length);
  a.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(b[i][j] - v)).toBeLessThanOrEqual(o.tol ?? 1e-7)));
  expect(!!two.certificate).toBe(!!one.certificate);
  if (two.certificate) {
    expect(verifyCertificate(model, two.certificate).valid).toBe(true);
    expect(verifyCertificate(model, two.certificate, query).valid).toBe(true);
    expect(two.certification!.workers).toBe(2);
  }
  return { one, two, log };
}

/** The certificate without the boxes one piece proved (a forged merge): it must not verify. */
function dropPiece(cert: Certificate, piece: ProofWorkResult): Certificate {
  const key = (b: { lo: number[]; hi: number[] }): string => JSON.stringify([b.lo, b.hi]);
  const gone = new Set([...piece.excluded, ...piece.rootFree, ...piece.roots].map(key));
  const c = clone(cert);
  c.excluded = c.excluded.filter((b) => !gone.has(key(b)));
  if (c.rootFree) c.rootFree = c.rootFree.filter((b) => !gone.has(key(b)));
  if (c.roots) c.roots = c.roots.filter((b) => !gone.has(key(b)));
  return c;
}

/** Outputs of a 2-input model on an n × n grid of the box (the first two unknowns). */
function grid(model: Model, lo: number[], hi: number[], n: number): Float64Array {
  const X = new Float64Array(n * n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) X.set([lo[0] + ((hi[0] - lo[0]) * i) / (n - 1), lo[1] + ((hi[1] - lo[1]) * j) / (n - 1)], (i * n + j) * 2);
  return model.network.evaluate(X, n * n);
}

function mlp(seed: number, act: 'tanh' | 'relu', hidden: number, nOut: number): Model {
  const r = rng(seed);
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: hidden, weight: r.vector(2 * hidden, -1.5, 1.5), bias: r.vector(hidden, -0.5, 0.5) }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: act }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: nOut, weight: r.vector(hidden * nOut, -1, 1), bias: r.vector(nOut, -0.2, 0.2) }, inputs: ['a1'] },
  ];
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
}

const BOX = { 'x[0]': [-1, 1] as [number, number], 'x[1]': [-1, 1] as [number, number] };

afterEach(() => setStopSignal(null));

describe('certifyParallel on the seed nets: the same answer as one thread, a certificate the verifier accepts', () => {
  it('seed-4in2out, two isolated roots (2, 5) and (5, 2): complete on 2 workers, pieces handed back and merged', async () => {
    const model = loadShipped('seed-4in2out.json');
    const q: Query = { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS };
    const { two, log } = await compare(model, q, { cap: 4 });
    expect(log.length).toBeGreaterThan(1);
    expect(log.some((l) => l.result.frontier.length > 0)).toBe(true);
    expect(two.complete).toBe(true);
    expect(solutionRows(two).map((r) => r.map((v) => Math.round(v * 1e6) / 1e6))).toEqual([
      [2, 5],
      [5, 2],
    ]);
  });

  it('four roots (closed form) found and proven complete on 2 workers', async () => {
    const model = fourRootNet();
    const { two } = await compare(model, { want: { y1: evenE(3), y2: evenE(1) } }, { cap: 60 });
    expect(two.complete).toBe(true);
    const want = [
      [1.5, 4.5],
      [2.5, 5.5],
      [4.5, 1.5],
      [5.5, 2.5],
    ];
    solutionRows(two).forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - want[i][j])).toBeLessThan(1e-9)));
  });

  it('with a linear constraint among the inputs (4-in/2-out net, x3 - x4 >= 1): the root it allows, proven as with one thread', async () => {
    const model = loadShipped('seed-4in2out.json');
    const { two, log } = await compare(model, { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS, constraints: ['x3 - x4 >= 1'] }, { cap: 4 });
    expect(log.length).toBeGreaterThan(0);
    expect(two.status).toBe('solved');
    expect(solutionRows(two).map((r) => r.map((v) => Math.round(v * 1e6) / 1e6))).toEqual([[5, 2]]);
  });

  it('three roots of tanh(3x) = x/2 (one unknown), proven complete', async () => {
    const { two } = await compare(threeRootNet(), { want: { y: 0 } }, { cap: 8 });
    expect(two.solutions).toHaveLength(3);
    expect(two.complete).toBe(true);
  });

  it('infeasible (saturating net, y = 2 out of reach) and a deep infeasible proof: one certificate for the whole box; a forged merge fails', async () => {
    const sat = await compare(saturatingNet(), { want: { y: 2 } });
    expect(sat.two.status).toBe('infeasible');
    const deep = fourRootNet();
    const q: Query = { want: { y1: evenE(0) + 1e-2 } };
    const { two, log } = await compare(deep, q, { cap: 30 });
    expect(two.status).toBe('infeasible');
    const cert = two.certificate!;
    // the certificate's query box is the whole query box, not a piece
    expect(cert.query.box).toEqual(clone(verifyBoxOf(deep, q)));
    // every piece's boxes are in it; without one piece's boxes the cover fails
    const piece = log.find((l) => l.result.excluded.length > 0)!;
    expect(piece).toBeDefined();
    const forged = dropPiece(cert, piece.result);
    expect(forged.excluded.length).toBeLessThan(cert.excluded.length);
    const v = verifyCertificate(deep, forged);
    expect(v.valid).toBe(false);
    expect(v.reason).toMatch(/cover/);
  });
});

/** The query box as a certificate records it. */
function verifyBoxOf(model: Model, q: Query): { lo: number[]; hi: number[] } {
  const p = buildProblem(model, q);
  return { lo: Array.from(p.lo), hi: Array.from(p.hi) };
}

describe('certifyParallel and the model\'s sidecar discrete declarations', () => {
  it('a model whose sidecar declares b an integer is proven branch by branch, as certify() proves it, never handed to the threads', async () => {
    const add = loadShipped('seed-add.json');
    const model: Model = { ...add, metadata: { ...add.metadata, discrete: { integers: ['b'] } } };
    const query: Query = { given: { a: 3 }, want: { sum: { range: [6.9, 7.1] } } };
    // oracle: the net itself at the integers of b's box; the ones whose sum lies in [6.9, 7.1]
    const sumAt = (b: number): number => model.network.evaluate(Float64Array.from([3, b]), 1)[0];
    const [lo, hi] = model.metadata.inputRanges!.b;
    const meets = Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i).filter((b) => sumAt(b) >= 6.9 && sumAt(b) <= 7.1);
    expect(meets).toEqual([4]);
    const sent: ProofWorkItem[] = [];
    const workers: ProofWorkers = { size: 2, run: (item) => (sent.push(item), Promise.reject(new Error('a discrete query reached a proof thread'))) };
    const r = await certifyParallel(model, query, workers, { timeLimit: 60 });
    expect(sent).toEqual([]);
    expect(r.discrete?.assignments).toBe(hi - lo + 1);
    expect(r.solutions.map((s) => s.unknowns.b)).toEqual(meets);
    expect(r.warnings.filter((w) => /proof thread failed/.test(w))).toEqual([]);
  });
});

describe('certifyParallel on random small nets: N = 2 equals N = 1; infeasible claims checked on a dense grid', () => {
  it('tanh 2-8-2 square systems through a random point: same roots, same completeness', async () => {
    let complete = 0,
      pieces = 0;
    for (const seed of [11, 12, 13, 14]) {
      const model = mlp(seed, 'tanh', 8, 2);
      const x0 = rng(seed + 100).vector(2, -0.7, 0.7);
      const y0 = model.network.evaluate(Float64Array.from(x0), 1);
      const { two, log } = await compare(model, { want: { 'y[0]': y0[0], 'y[1]': y0[1] }, bounds: BOX }, { cap: 50, tol: 1e-6, options: { maxBoxes: 20_000 } });
      if (two.complete) complete++;
      pieces += log.length;
      // the point the targets came from is among the solutions (when the list is proven complete)
      if (two.complete) expect(two.solutions.some((s) => Math.abs(s.unknowns['x[0]'] - x0[0]) < 1e-6 && Math.abs(s.unknowns['x[1]'] - x0[1]) < 1e-6)).toBe(true);
    }
    expect(complete).toBeGreaterThan(0);
    expect(pieces).toBeGreaterThan(0);
  });

  for (const act of ['tanh', 'relu'] as const) {
    it(`${act} 2-16-1: targets just above the grid maximum: infeasible only where no grid point is within tolerance; below it: solved`, async () => {
      let pieces = 0,
        proofs = 0;
      for (const seed of act === 'tanh' ? [21, 22, 23] : [23, 25, 27]) {
        const model = mlp(seed, act, 16, 1);
        const n = 201;
        const Y = grid(model, [-1, -1], [1, 1], n);
        let mx = -Infinity;
        for (const v of Y) mx = Math.max(mx, v);
        for (const t of [mx + 2e-3, mx - 0.02]) {
          // (a solved answer to an inequality has no completeness to prove: the proof only measures volume, 400 boxes here)
          // mean-value bounds only (linear: false), so that the infeasible proofs take enough boxes to be shared
          const { two, log } = await compare(model, { want: { y: { ge: t } }, bounds: BOX }, { cap: 40, options: { maxBoxes: t > mx ? 20_000 : 400, linear: false } });
          if (t > mx) pieces += log.length;
          const tol = 1e-6; // the tolerance of an inequality: atol (default 1e-6)
          const gridHit = Array.from(Y).some((v) => v >= t - tol);
          if (gridHit) expect(two.status).not.toBe('infeasible');
          if (two.status === 'infeasible') {
            expect(gridHit).toBe(false);
            expect(verifyCertificate(model, two.certificate!).valid).toBe(true);
          }
          if (t < mx) expect(two.status).toBe('solved');
          if (two.status === 'infeasible') proofs++;
        }
      }
      // not vacuous: infeasibility was proven, and the proofs were shared (pieces went to the workers)
      expect(proofs).toBeGreaterThan(0);
      expect(pieces).toBeGreaterThan(0);
    });
  }
});

describe('Ctrl-C reaches the workers: the answer is interrupted, never a proof', () => {
  it('the stop flag set while the pieces run: no certificate, no infeasible claim, the message says interrupted', async () => {
    const model = fourRootNet();
    const q: Query = { want: { y1: evenE(0) + 1e-2 } };
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const { workers, log } = inProcess(model, q, 2, { cap: 30, before: (n) => n === 1 && Atomics.store(flag, 0, 1) });
    setStopSignal(flag);
    const r = await certifyParallel(model, q, workers, { timeLimit: 60 }, { splitPerWorker: 2 });
    expect(log.length).toBeGreaterThanOrEqual(2);
    expect(log.some((l) => l.result.budgetReason === 'interrupted')).toBe(true);
    expect(r.certificate).toBeUndefined();
    expect(r.status).not.toBe('infeasible');
    expect(r.proven).not.toBe(true);
    expect(r.message).toMatch(/interrupted/);
  });
});

describe('netinvert solve --prove --workers (real threads)', () => {
  it('seed-4in2out: --workers 2 gives the same answer as --workers 1, and its certificate passes check-certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prove-workers-'));
    const base = ['solve', 'models/seed-4in2out.json', '--given', 'x1=1,x2=2', '--want', `y1=${FOUR_IN_TARGETS.y1},y2=${FOUR_IN_TARGETS.y2}`, '--prove', '--json'];
    const one = await run([...base, '--workers', '1']);
    const cert = join(dir, 'proof.json');
    const two = await run([...base, '--workers', '2', '--certificate', cert]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    const j1 = JSON.parse(one.out) as InvertResult,
      j2 = JSON.parse(two.out) as InvertResult;
    expect(j2.status).toBe(j1.status);
    expect(j2.complete).toBe(true);
    expect(j1.complete).toBe(true);
    expect(j2.certification!.workers).toBe(2);
    expect(j1.certification!.workers).toBeUndefined();
    const rows = (j: InvertResult): number[][] => solutionRows(j).map((r) => r.map((v) => Math.round(v * 1e6) / 1e6));
    expect(rows(j2)).toEqual(rows(j1));
    expect(JSON.parse(readFileSync(cert, 'utf8')).claim).toBe('complete');
    const chk = await run(['check-certificate', 'models/seed-4in2out.json', cert]);
    expect(chk.code).toBe(0);
  }, 60_000);

  it('a deep infeasible proof (four-root net, y1 just above its maximum): shared among 2 threads, infeasible as with 1, certificate accepted by check-certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prove-workers-'));
    const model = join(dir, 'four-roots.json');
    writeFileSync(model, saveNativeModel(fourRootNet()));
    const base = ['solve', model, '--want', `y1=${evenE(0) + 1e-2}`, '--prove', '--json'];
    const one = await run([...base, '--workers', '1']);
    const cert = join(dir, 'proof.json');
    const two = await run([...base, '--workers', '2', '--certificate', cert]);
    expect(one.code).toBe(3);
    expect(two.code).toBe(3);
    const j1 = JSON.parse(one.out) as InvertResult,
      j2 = JSON.parse(two.out) as InvertResult;
    expect(j1.status).toBe('infeasible');
    expect(j2.status).toBe('infeasible');
    expect(j2.proven).toBe(true);
    expect(j2.certification!.pieces).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(cert, 'utf8')).claim).toBe('infeasible');
    const chk = await run(['check-certificate', model, cert]);
    expect(chk.code).toBe(0);
  }, 60_000);

  it('the threads read the stop flag they are given (Ctrl-C): their pieces end interrupted, the answer is no proof', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prove-workers-'));
    const file = join(dir, 'four-roots.json');
    writeFileSync(file, saveNativeModel(fourRootNet()));
    const model = loadModelFile(file);
    const q: Query = { want: { y1: evenE(0) + 1e-2 } };
    const stop = new SharedArrayBuffer(4);
    // set before the threads start: this thread (search, root run) does not read it, the threads do
    Atomics.store(new Int32Array(stop), 0, 1);
    const pool = new ProofThreadPool(2, model.hash, { modelPath: file, query: q, tolerance: {}, stop });
    try {
      const r = await certifyParallel(model, q, pool, { timeLimit: 60 }, { splitPerWorker: 2 });
      expect(r.certification!.pieces).toBeGreaterThan(0);
      expect(r.certificate).toBeUndefined();
      expect(r.status).not.toBe('infeasible');
      expect(r.message).toMatch(/ran out of budget \(interrupted\)/);
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('--workers without --prove, or not a whole number, is refused with a fix-it message', async () => {
    const r = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--workers', '2']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/--workers.*--prove/);
    const z = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--want', 'sum=7', '--prove', '--workers', '0']);
    expect(z.code).not.toBe(0);
    expect(z.err).toMatch(/--workers must be a whole number/);
  });
});
