/**
 * The parallel VNNLIB decision (certify/vnn/parallel.ts) and `netinvert verify --workers N`.
 *
 * Oracles: the one-thread decideVnnlib (same verdict); the independent certificate verifier on
 * the whole grafted certificate (and check-certificate on the written file); the published
 * VNN-COMP 2021 answers of ACAS Xu; float64 forward passes for every sat witness; a 201×201 grid
 * of each small net's input box (a grid point in the unsafe set refutes an unsat claim).
 * The library tests run the work items in-process (VnnWorkers is an interface); the CLI tests run
 * real worker threads, and spawned processes check that a timeout or Ctrl-C leaves no thread behind.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideVnnlib } from '../src/certify/vnn/decide.ts';
import { decideVnnlibParallel, runVnnWorkItem, type VnnWorkers, type VnnWorkItem, type VnnWorkResult } from '../src/certify/vnn/parallel.ts';
import { verifyVnnCertificate } from '../src/certify/proof/vnnVerifier.ts';
import { VNN_HINTED_LEAF } from '../src/certify/proof/vnnCertificate.ts';
import { specForms } from '../src/certify/vnn/bounds.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { VnnlibSpec } from '../src/formats/vnnlib/types.ts';
import { createModel, type Model } from '../src/model.ts';
import type { GraphDef } from '../src/graph/types.ts';
import { run } from './util/cli.ts';
import { denseNode } from './util/nets.ts';
import { rng } from './util/rng.ts';

const ACAS = join(__dirname, 'fixtures', 'third-party', 'acasxu');
const acasFile = (id: string): string => join(ACAS, 'onnx', `ACASXU_run2a_${id}_batch_2000.onnx`);
const acasNet = (id: string): Model => loadOnnxModel(new Uint8Array(readFileSync(acasFile(id))));
const acasProp = (p: number): VnnlibSpec => parseVnnlib(readFileSync(join(ACAS, `prop_${p}.vnnlib`), 'utf8'), `prop_${p}.vnnlib`);

function published(id: string, p: number): string {
  const row = readFileSync(join(ACAS, 'published', 'nnenum.csv'), 'utf8')
    .split('\n')
    .find((l) => l.includes(`ACASXU_run2a_${id}_batch_2000.onnx`) && l.includes(`/prop_${p}.vnnlib`));
  return (row as string).split(',')[4];
}

/** Does the float64 output y satisfy clause c of the spec (every constraint, exactly as stated)? */
function inClause(spec: VnnlibSpec, c: number, y: ArrayLike<number>): boolean {
  return spec.outputDnf[c].every((k) => {
    let s = k.constant;
    for (let j = 0; j < y.length; j++) s += k.coeffs[j] * y[j];
    return k.relation === '<=' ? s <= 0 : k.relation === '>=' ? s >= 0 : s === 0;
  });
}

/** A witness is a point of an input box whose recomputed output is in the stated clause. */
function checkWitness(model: Model, spec: VnnlibSpec, w: { x: number[]; y: number[]; clause: number }): void {
  expect(spec.inputBoxes.some((b) => w.x.every((v, i) => v >= b.lo[i] && v <= b.hi[i]))).toBe(true);
  const y = model.network.evaluate(Float64Array.from(w.x), 1);
  expect(Array.from(y)).toEqual(w.y);
  expect(inClause(spec, w.clause, y)).toBe(true);
}

/** Work items run in this thread (one at a time, each after the event loop turns), logged. */
function inProcess(model: Model, spec: VnnlibSpec, size: number, tamper?: (item: VnnWorkItem, r: VnnWorkResult) => VnnWorkResult | Promise<VnnWorkResult>) {
  const log: { item: VnnWorkItem; result: VnnWorkResult }[] = [];
  const workers: VnnWorkers = {
    size,
    run: (item) =>
      new Promise<VnnWorkResult>((res) => setImmediate(() => res(runVnnWorkItem(model, spec, item)))).then((r) => {
        log.push({ item, result: r });
        return tamper ? tamper(item, r) : r;
      }),
  };
  return { workers, log };
}

describe('decideVnnlibParallel (work items in-process)', () => {
  it('ACAS Xu 1_1, property 1 (published: holds): unsat as with one thread; the grafted certificate is accepted by the verifier and its leaves tile the box', async () => {
    expect(published('1_1', 1)).toBe('holds');
    const model = acasNet('1_1'),
      spec = acasProp(1);
    const one = decideVnnlib(model, spec, { timeout: 120, noFalsify: true });
    expect(one.status).toBe('unsat');
    const { workers, log } = inProcess(model, spec, 2);
    const r = await decideVnnlibParallel(model, spec, workers, { timeout: 120, noFalsify: true, splitPerWorker: 2, yieldAfterMs: 0 });
    expect(r.status).toBe('unsat');
    // pieces were given back half-done (their partial trees grafted, their frontier searched by others)
    expect(r.stats.yields).toBeGreaterThan(0);
    expect(log.some((e) => e.result.status === 'split')).toBe(true);
    // and some of the shared work was the verifier's check of a finished piece (by leaf ranges)
    expect(log.filter((e) => e.item.kind === 'parts' && e.item.ranges).length).toBeGreaterThan(0);
    // the search was really split: pieces went to the workers, and their trees are in the certificate
    expect(r.stats.pieces).toBeGreaterThanOrEqual(4);
    expect(log.filter((e) => e.item.kind === 'parts').length).toBe(r.stats.pieces);
    const v = verifyVnnCertificate(model, spec, r.certificate);
    expect(v.ok).toBe(true);
    expect(v.leaves).toBe(r.stats.leaves);
    const pieceLeaves = log.reduce(
      (a, e) => a + (e.result.status === 'unsat' ? e.result.trees.flat().filter((n) => n.length === 0).length : e.result.status === 'split' ? e.result.trees.flat().filter((n) => n.length === 0).length - e.result.frontier.length : 0),
      0,
    );
    expect(v.leaves).toBe(pieceLeaves);
    // and the leaves' volumes add up to the box's (exact tiling, by the certificate's own splits)
    const b = spec.inputBoxes[0];
    let vol = 0;
    const tree = r.certificate!.trees[0];
    let pos = 0;
    const walk = (lo: number[], hi: number[]): void => {
      const n = tree[pos++];
      if (n.length === 0) {
        vol += lo.reduce((a, l, d) => a * ((hi[d] - l) / (b.hi[d] - b.lo[d] || 1)), 1);
        return;
      }
      const [d, t] = n;
      walk(lo, hi.map((h, i) => (i === d ? t : h)));
      walk(lo.map((l, i) => (i === d ? t : l)), hi);
    };
    walk(Array.from(b.lo), Array.from(b.hi));
    expect(pos).toBe(tree.length);
    expect(vol).toBeCloseTo(1, 10);
  }, 120_000);

  it('small ReLU nets: unsat claims survive a 201×201 grid, sat witnesses a forward pass, and the verdict is one thread\'s', async () => {
    const seen = { sat: 0, unsat: 0, unknown: 0, split: 0, satInWorker: 0, yields: 0 };
    for (let seed = 1; seed <= 12; seed++) {
      const r0 = rng(seed);
      const graph: GraphDef = {
        inputs: [{ name: 'x', width: 2 }],
        nodes: [
          denseNode('d1', 'x', 2, 10, r0),
          { name: 'a1', op: { type: 'unary', fn: 'relu' }, inputs: ['d1'] },
          denseNode('d2', 'a1', 10, 10, r0),
          { name: 'a2', op: { type: 'unary', fn: 'relu' }, inputs: ['d2'] },
          denseNode('d3', 'a2', 10, 1, r0),
        ],
        outputs: [{ node: 'd3' }],
      };
      const model = createModel(graph);
      // the grid: its least output m; the threshold just below it (unsat unless the true minimum
      // lies between grid points) or just above (sat: some grid point is unsafe)
      const G = 201;
      const X = new Float64Array(G * G * 2);
      for (let i = 0; i < G; i++)
        for (let j = 0; j < G; j++) {
          X[(i * G + j) * 2] = -1 + (2 * i) / (G - 1);
          X[(i * G + j) * 2 + 1] = -1 + (2 * j) / (G - 1);
        }
      const Y = model.network.evaluate(X, G * G);
      let lo = Infinity,
        hi = -Infinity;
      for (const y of Y) ((lo = Math.min(lo, y)), (hi = Math.max(hi, y)));
      const q = seed % 2 ? lo - 1e-3 * (hi - lo) : lo + 2e-3 * (hi - lo);
      const text = `(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1))\n(assert (<= X_0 1))\n(assert (>= X_1 -1))\n(assert (<= X_1 1))\n(assert (<= Y_0 ${q}))`;
      const spec = parseVnnlib(text, `relu-${seed}.vnnlib`);
      const opts = { timeout: 60, noFalsify: true, seed };
      const one = decideVnnlib(model, spec, opts);
      const { workers, log } = inProcess(model, spec, 2);
      const r = await decideVnnlibParallel(model, spec, workers, { ...opts, splitPerWorker: 1, yieldAfterMs: 0 });
      seen[r.status]++;
      if (r.stats.pieces > 0) seen.split++;
      if (r.stats.yields > 0) seen.yields++;
      if (one.status !== 'unknown' && r.status !== 'unknown') expect(r.status, `seed ${seed}`).toBe(one.status);
      if (r.status === 'sat') {
        checkWitness(model, spec, r.witness!);
        if (log.some((e) => e.item.kind === 'parts' && e.result.status === 'sat')) seen.satInWorker++;
      }
      if (r.status === 'unsat') {
        expect(verifyVnnCertificate(model, spec, r.certificate).ok).toBe(true);
        for (let p = 0; p < G * G; p++) expect(Y[p] <= q, `seed ${seed}: grid point ${p} is unsafe but unsat was claimed`).toBe(false);
      }
    }
    console.log(`parallel relu nets: ${JSON.stringify(seen)}`);
    // both answers, and pieces handed out (else the parallel path was not tested)
    expect(seen.sat).toBeGreaterThan(1);
    expect(seen.unsat).toBeGreaterThan(1);
    expect(seen.split).toBeGreaterThan(3);
    expect(seen.satInWorker).toBeGreaterThan(0);
    expect(seen.yields).toBeGreaterThan(0);
  }, 300_000);

  it('verifyVnnCertificate with checkLeaf: the leaves split among calls are exactly the whole check; skipped leaves are not checked, the structure still is', () => {
    const model = acasNet('1_1'),
      spec = acasProp(1);
    const full = decideVnnlib(model, spec, { timeout: 120, noFalsify: true });
    expect(full.status).toBe('unsat');
    const cert = full.certificate!;
    const all = verifyVnnCertificate(model, spec, cert);
    expect(all.ok).toBe(true);
    const n = cert.trees[0].length;
    // three ranges of node indices: each accepted, their leaves adding up to all
    const cuts = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
    let leaves = 0;
    for (let i = 0; i < 3; i++) {
      const v = verifyVnnCertificate(model, spec, cert, { checkLeaf: (b, node) => node >= cuts[i] && node < cuts[i + 1] });
      expect(v.ok).toBe(true);
      leaves += v.leaves;
    }
    expect(leaves).toBe(all.leaves);
    // one leaf for the whole box does not refute the property; skipped, nothing is claimed about it
    const lazy = { ...cert, trees: [[[]]] };
    expect(verifyVnnCertificate(model, spec, lazy).ok).toBe(false);
    expect(verifyVnnCertificate(model, spec, lazy, { checkLeaf: () => false })).toMatchObject({ ok: true, leaves: 0 });
    // a truncated tree is rejected whatever is skipped
    const cut = { ...cert, trees: [cert.trees[0].slice(0, n - 1)] };
    expect(verifyVnnCertificate(model, spec, cut, { checkLeaf: () => false }).ok).toBe(false);
  }, 120_000);

  it('a check item cuts its tree into pieces at splits only: forged hinted leaves at the top are checked (rejected, repaired to sat), never skipped', () => {
    // ACAS Xu 1_2, property 2 (published: violated): neither half of x0 is safe, so leaves claiming
    // either half (each with a combination hint, a record of more than two numbers) are false
    const model = acasNet('1_2'),
      spec = acasProp(2);
    expect(published('1_2', 2)).toBe('violated');
    const f = specForms(spec);
    const [a, b] = [f.origin[0], f.origin[1]];
    const hinted = [VNN_HINTED_LEAF, 0, a.k, a.sign, b.k, b.sign, 1, 1];
    const box = spec.inputBoxes[0];
    const mid = (box.lo[0] + box.hi[0]) / 2;
    const tree = [[0, mid], hinted, hinted];
    const r = runVnnWorkItem(model, spec, {
      kind: 'parts',
      parts: [{ root: 0, lo: box.lo.slice(), hi: box.hi.slice(), depth: 0, parent: null }],
      seconds: 60,
      opts: {},
      trees: [tree],
    });
    expect(r.status).toBe('sat');
    if (r.status === 'sat') checkWitness(model, spec, r.witness);
  }, 60_000);

  it('handoffMs: a property decided before the handoff never starts or uses the workers; with startMs past it, start() is never called', async () => {
    const model = acasNet('1_1'),
      spec = acasProp(1);
    const { workers, log } = inProcess(model, spec, 2);
    let started = 0;
    workers.start = () => void started++;
    const r = await decideVnnlibParallel(model, spec, workers, { timeout: 100, handoffMs: 1e9, startMs: 1e9 });
    expect(r.status).toBe('unsat');
    expect(log.length).toBe(0);
    expect(started).toBe(0);
    expect(r.stats.pieces).toBe(0);
    expect(verifyVnnCertificate(model, spec, r.certificate!).ok).toBe(true);
    // startMs 0: started at once (and still decided alone)
    const again = await decideVnnlibParallel(model, spec, workers, { timeout: 100, handoffMs: 1e9, startMs: 0 });
    expect(again.status).toBe('unsat');
    expect(started).toBeGreaterThan(0);
    expect(log.length).toBe(0);
  }, 120_000);

  it('a counterexample from a worker that a forward pass does not confirm is not reported: unknown', async () => {
    const model = acasNet('1_1'),
      spec = acasProp(1);
    const { workers } = inProcess(model, spec, 2, (item, r) => (item.kind === 'parts' ? { status: 'sat', witness: { x: [0, 0, 0, 0, 0], y: [0, 0, 0, 0, 0], clause: 0, residual: 0 }, stats: r.stats } : r));
    const r = await decideVnnlibParallel(model, spec, workers, { timeout: 60, noFalsify: true, splitPerWorker: 2 });
    expect(r.status).toBe('unknown');
    expect(r.reason).toMatch(/does not confirm/);
  }, 60_000);

  it('a worker that fails makes the answer unknown (with why); one that never answers ends in unknown at the timeout', async () => {
    const model = acasNet('1_1'),
      spec = acasProp(1);
    const failing = inProcess(model, spec, 2, () => Promise.reject(new Error('out of memory')));
    const r1 = await decideVnnlibParallel(model, spec, failing.workers, { timeout: 60, noFalsify: true, splitPerWorker: 2 });
    expect(r1.status).toBe('unknown');
    expect(r1.reason).toMatch(/a worker failed: out of memory/);
    const silent: VnnWorkers = { size: 2, run: () => new Promise<VnnWorkResult>(() => {}) };
    const r2 = await decideVnnlibParallel(model, spec, silent, { timeout: 2, noFalsify: true, splitPerWorker: 2 });
    expect(r2.status).toBe('unknown');
    expect(r2.reason).toMatch(/timeout/);
  }, 60_000);
});

describe('netinvert verify --workers', () => {
  it('ACAS Xu 1_1, property 1 (published: holds): --workers 2 answers unsat as --workers 1 does, and check-certificate --vnnlib accepts its certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netinvert-verify-par-'));
    const net = acasFile('1_1'),
      prop = join(ACAS, 'prop_1.vnnlib');
    const one = await run(['verify', net, prop, '--timeout', '100', '--workers', '1', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out).status).toBe('unsat');
    const cert = join(dir, 'unsat.json');
    // handed out at once (by default this thread would search alone for a second, and this property takes about that)
    const two = await run(['verify', net, prop, '--timeout', '100', '--workers', '2', '--handoff-ms', '0', '--json', '--certificate', cert]);
    expect(two.code).toBe(0);
    const j = JSON.parse(two.out) as { status: string; stats: { workers: number; pieces: number } };
    expect(j.status).toBe('unsat');
    expect(j.stats.workers).toBe(2);
    expect(j.stats.pieces).toBeGreaterThan(0);
    const c = await run(['check-certificate', net, cert, '--vnnlib', prop]);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/valid/);
  }, 200_000);

  it('ACAS Xu 1_2, property 2 (published: violated): --workers 2 answers sat; the result file\'s witness is re-checked by a forward pass', async () => {
    expect(published('1_2', 2)).toBe('violated');
    const dir = mkdtempSync(join(tmpdir(), 'netinvert-verify-par-'));
    const res = join(dir, 'out.txt');
    const r = await run(['verify', acasFile('1_2'), join(ACAS, 'prop_2.vnnlib'), '--timeout', '60', '--workers', '2', '--results', res]);
    expect(r.code).toBe(0);
    expect(r.out.split(/\s/)[0]).toBe('sat');
    const text = readFileSync(res, 'utf8');
    const vals = new Map([...text.matchAll(/\((X|Y)_(\d+) (-?[0-9.]+)\)/g)].map((m) => [`${m[1]}${m[2]}`, Number(m[3])]));
    const x = [0, 1, 2, 3, 4].map((i) => vals.get(`X${i}`) as number);
    const y = Array.from(acasNet('1_2').network.evaluate(Float64Array.from(x), 1));
    const spec = acasProp(2);
    const c = spec.outputDnf.findIndex((_, k) => inClause(spec, k, y));
    expect(c).toBeGreaterThanOrEqual(0);
    checkWitness(acasNet('1_2'), spec, { x, y: [0, 1, 2, 3, 4].map((j) => vals.get(`Y${j}`) as number), clause: c });
  }, 120_000);

  it('--workers must be a whole number ≥ 1, --handoff-ms a number ≥ 0', async () => {
    const r = await run(['verify', acasFile('1_1'), join(ACAS, 'prop_1.vnnlib'), '--workers', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--workers/);
    const h = await run(['verify', acasFile('1_1'), join(ACAS, 'prop_1.vnnlib'), '--workers', '2', '--handoff-ms', '-5']);
    expect(h.code).toBe(1);
    expect(h.err).toMatch(/--handoff-ms/);
    expect(h.err).not.toMatch(/\bat \S+:\d+/);
  });

  /** Runs the CLI as users do (bin/netinvert.mjs) and resolves when the process has ended. */
  function spawnVerify(args: string[], onStart?: (kill: () => void) => void): Promise<{ code: number | null; signal: string | null; out: string }> {
    const child = spawn(process.execPath, ['bin/netinvert.mjs', 'verify', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    onStart?.(() => child.kill('SIGINT'));
    return new Promise((res) => child.on('close', (code, signal) => res({ code, signal, out })));
  }

  it('a timeout with --workers 2 on a property too hard for it: unknown, exit 4, and the process ends (no thread left running)', async () => {
    // 3_3 property 2 (published: holds) takes ~7 s in nnenum and longer here
    const r = await spawnVerify([acasFile('3_3'), join(ACAS, 'prop_2.vnnlib'), '--timeout', '3', '--workers', '2']);
    expect(r.out.split(/\s/)[0]).toBe('unknown');
    expect(r.code).toBe(4);
  }, 120_000);

  it.each(['1', '2'])('Ctrl-C during verify --workers %s ends the process (killed by SIGINT, as the one-thread search always was)', async (workers) => {
    let timer: NodeJS.Timeout | undefined;
    const r = await spawnVerify([acasFile('3_3'), join(ACAS, 'prop_2.vnnlib'), '--timeout', '1000', '--workers', workers], (kill) => {
      // after the threads have started and the search is under way
      timer = setTimeout(kill, 6000);
    });
    clearTimeout(timer);
    expect(r.signal).toBe('SIGINT');
    expect(r.out).toBe('');
  }, 120_000);
});
