/**
 * Issue #12 in batch and query files: batch answers carry the explanation of an infeasible row
 * (why / explanation columns), the counterfactual controls (--diverse, --fixed, …) and the class
 * target (want-class / margin columns, the query file's wantClass / margin), against independent
 * oracles:
 *   - the reachable range in a row's explanation against dense sampling of the net (the sampled
 *     range lies inside the proven one and reaches its ends), and against what `solve` says for
 *     the same query (the same range, the same words);
 *   - a disjunction's explanation covers every clause (each clause's range against sampling);
 *   - wantClass in a query file and in a batch row against the --want-class flag (the same answer),
 *     and the answer's argmax with its margin by a fresh forward pass;
 *   - --diverse K: K solutions, each meeting the target (fresh forward pass), within the stated
 *     radius of the reference, pairwise at least the stated smallest distance apart (distances
 *     recomputed here from the box widths).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { querySeed } from '../src/cli/batch/solveQuery.ts';
import { parseQueryFile } from '../src/cli/queryFile.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import type { NodeDef } from '../src/graph/types.ts';
import { createModel, type Model } from '../src/model.ts';
import { expectNetinvertError } from './util/expect.ts';
import { run } from './util/cli.ts';
import { rng } from './util/rng.ts';

const ADD = 'models/seed-add.json';
const seedAdd = (): Model => loadNativeModel(readFileSync(ADD, 'utf8'), 'seed-add.json');

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ni-batchx-'));
function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function answers(path: string): Record<string, string>[] {
  return parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
}

/** sum over a dense grid of a ∈ [0, 10] with b fixed (the seed net's training box): [min, max]. */
function sampledSum(model: Model, b: number, G = 4001): [number, number] {
  const net = model.network;
  const X = new Float64Array(G * 2);
  const ia = net.inputIndex('a'),
    ib = net.inputIndex('b');
  for (let i = 0; i < G; i++) {
    X[2 * i + ia] = (10 * i) / (G - 1);
    X[2 * i + ib] = b;
  }
  const Y = net.evaluate(X, G);
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < G; i++) {
    lo = Math.min(lo, Y[i]);
    hi = Math.max(hi, Y[i]);
  }
  return [lo, hi];
}

/** The proven range holds the sampled one and comes within tol of it. */
function checkRange(g: { lo: number; hi: number; proven: boolean; attainedLo: number; attainedHi: number }, sampled: [number, number], tol: number): void {
  expect(g.proven).toBe(true);
  expect(g.lo).toBeLessThanOrEqual(sampled[0]);
  expect(g.hi).toBeGreaterThanOrEqual(sampled[1]);
  expect(sampled[0] - g.lo).toBeLessThan(tol);
  expect(g.hi - sampled[1]).toBeLessThan(tol);
  expect(g.attainedLo).toBeGreaterThanOrEqual(g.lo);
  expect(g.attainedHi).toBeLessThanOrEqual(g.hi);
}

describe('batch: explanations of infeasible rows', () => {
  it('an unreachable row: its why / explanation range holds the sampled range, and is what solve says for the same query', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,a,b,sum\nok,3,,7\nfar,,2,30\n');
    const a = join(dir, 'a.csv');
    const r = await run(['batch', ADD, q, '-o', a, '--workers', '1']);
    expect(r.code, r.err).toBe(3);
    const rows = answers(a);
    const ok = rows.find((x) => x.id === 'ok')!;
    expect(ok.status).toBe('solved');
    expect(ok.why).toBe('');
    expect(ok.explanation).toBe('');
    const far = rows.find((x) => x.id === 'far')!;
    expect(far.status).toBe('infeasible');
    const e = JSON.parse(far.explanation);
    const g = e.reachable.sum;
    const sampled = sampledSum(seedAdd(), 2);
    checkRange(g, sampled, 1e-3);
    expect(e.unreachableAlone).toEqual(['sum']);
    expect(e.relaxations[0]).toMatchObject({ target: 'sum', move: 'lower' });

    // the solve command on the same query: the same range, in the same words
    const s = await run(['solve', ADD, '--given', 'b=2', '--want', 'sum=30', '--json']);
    expect(s.code, s.err).toBe(3);
    const gs = JSON.parse(s.out).explanation.reachable.sum;
    expect(g.lo).toBeCloseTo(gs.lo, 6);
    expect(g.hi).toBeCloseTo(gs.hi, 6);
    expect(g.attainedLo).toBeCloseTo(gs.attainedLo, 6);
    expect(g.attainedHi).toBeCloseTo(gs.attainedHi, 6);
    const brief = await run(['solve', ADD, '--given', 'b=2', '--want', 'sum=30']);
    const line = brief.out.split('\n').find((l) => l.trim().startsWith('sum can reach'))!.trim();
    expect(far.why).toContain(line);
    expect(far.why.startsWith('why (with b = 2')).toBe(true);
    expect(far.why).not.toMatch(/[\r\n]/);
  });

  it('--explain-boxes 0 turns the explanation off (empty columns), and is recorded in the meta file', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,a,b,sum\nfar,,2,30\n');
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a, '--workers', '1', '--explain-boxes', '0'])).code).toBe(3);
    const [far] = answers(a);
    expect(far.status).toBe('infeasible');
    expect(far.why).toBe('');
    expect(far.explanation).toBe('');
    expect(JSON.parse(readFileSync(`${a}.meta.json`, 'utf8')).options.explainBoxes).toBe(0);
    // resuming with another setting is refused, naming the option
    const r = await run(['batch', ADD, q, '-o', a, '--resume', '--workers', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--explain-boxes');
  });

  it('a disjunction (any column): every clause is explained, each range holding the sampled one', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,a,b,any\nboth,,2,"sum >= 40 ; sum <= -5"\n');
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a, '--workers', '1', '--prove'])).code).toBe(3);
    const [row] = answers(a);
    expect(row.status).toBe('infeasible');
    const e = JSON.parse(row.explanation);
    expect(e.clauses.map((c: { clause: number }) => c.clause)).toEqual([1, 2]);
    const sampled = sampledSum(seedAdd(), 2);
    for (const c of e.clauses) checkRange(c.explanation.reachable.sum, sampled, 1e-3);
    expect(row.why).toContain('why clause 1 is not met');
    // the solve command's brief report says it too
    const s = await run(['solve', ADD, '--given', 'b=2', '--any', 'sum >= 40 ; sum <= -5', '--prove']);
    expect(s.out).toContain('why clause 1 is not met');
  });
});

/** 2 inputs x[0], x[1] → 10 tanh → 3 logits y[0..2], seeded. */
function classifier(): Model {
  const r = rng(21);
  const h = 10,
    k = 3;
  const nodes: NodeDef[] = [
    { name: 'd1', op: { type: 'dense', units: h, weight: r.vector(2 * h, -1.5, 1.5), bias: r.vector(h, -0.5, 0.5) }, inputs: ['x'] },
    { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
    { name: 'd2', op: { type: 'dense', units: k, weight: r.vector(h * k, -1, 1), bias: r.vector(k, -0.5, 0.5) }, inputs: ['a1'] },
  ];
  return createModel({ inputs: [{ name: 'x', width: 2 }], nodes, outputs: [{ node: 'd2', name: 'y' }] });
}

/** The class with the largest margin over a grid, and half that margin. */
function easyClass(m: Model): { k: number; margin: number } {
  const G = 101;
  const X = new Float64Array(G * G * 2);
  for (let i = 0; i < G; i++)
    for (let j = 0; j < G; j++) {
      X[(i * G + j) * 2] = -1 + (2 * i) / (G - 1);
      X[(i * G + j) * 2 + 1] = -1 + (2 * j) / (G - 1);
    }
  const Y = m.network.evaluate(X, G * G);
  const best = [-Infinity, -Infinity, -Infinity];
  for (let q = 0; q < G * G; q++)
    for (let k = 0; k < 3; k++) {
      let other = -Infinity;
      for (let j = 0; j < 3; j++) if (j !== k) other = Math.max(other, Y[q * 3 + j]);
      best[k] = Math.max(best[k], Y[q * 3 + k] - other);
    }
  const k = best.indexOf(Math.max(...best));
  return { k, margin: best[k] / 2 };
}

describe('wantClass in query files and batch rows: the path --want-class takes', () => {
  it('a query file with wantClass / margin gives the answer of the flags; a batch row with want-class / margin too', async () => {
    const m = classifier();
    const dir = tmp();
    const model = file(dir, 'clf.json', saveNativeModel(m));
    const { k, margin } = easyClass(m);
    const name = m.network.outputNames[k];
    const bounds = { 'x[0]': [-1, 1], 'x[1]': [-1, 1] };
    const flags = await run(['solve', model, '--want-class', name, '--margin', String(margin), '--bounds', 'x[0]=-1:1,x[1]=-1:1', '--json']);
    expect(flags.code, flags.err).toBe(0);
    const qf = file(dir, 'q.json', JSON.stringify({ wantClass: name, margin, bounds }));
    const fromFile = await run(['solve', model, '--query', qf, '--json']);
    expect(fromFile.code, fromFile.err).toBe(0);
    const A = JSON.parse(flags.out),
      B = JSON.parse(fromFile.out);
    expect(B.query.targets).toEqual(A.query.targets);
    expect(B.status).toBe(A.status);
    expect(B.solutions).toEqual(A.solutions);
    // the class by index, as the flag takes it
    const byIndex = await run(['solve', model, '--query', file(dir, 'q2.json', JSON.stringify({ wantClass: k, margin, bounds })), '--json']);
    expect(JSON.parse(byIndex.out).query.targets).toEqual(A.query.targets);

    // a batch row: the same answer as the flags with the row's seed; its point is of the class, by the margin
    const id = 'c1';
    const q = file(dir, 'q.csv', `id,want-class,margin\n${id},${name},${margin}\nbad,bird,\nnone,,1\n`);
    const a = join(dir, 'a.csv');
    const r = await run(['batch', model, q, '-o', a, '--workers', '1', '--bounds', 'x[0]=-1:1,x[1]=-1:1']);
    expect(r.code).toBe(1);
    const rows = answers(a);
    const c1 = rows.filter((x) => x.id === id);
    const seeded = JSON.parse((await run(['solve', model, '--want-class', name, '--margin', String(margin), '--bounds', 'x[0]=-1:1,x[1]=-1:1', '--seed', String(querySeed(0, id)), '--json'])).out);
    expect(c1[0].status).toBe(seeded.status);
    expect(c1).toHaveLength(seeded.solutions.length);
    const net = m.network;
    c1.forEach((row, i) => {
      for (const n of net.inputNames) expect(Number(row[n])).toBe(seeded.solutions[i].inputs[n]);
      const y = net.evaluate(Float64Array.from(net.inputNames, (n) => Number(row[n])), 1);
      for (let j = 0; j < 3; j++) if (j !== k) expect(y[k] - y[j]).toBeGreaterThanOrEqual(margin - 1e-5);
    });
    expect(rows.find((x) => x.id === 'bad')!.message).toMatch(/unknown_output.*column "want-class".*bird/);
    expect(rows.find((x) => x.id === 'none')!.message).toMatch(/column "margin"/);
  });

  it('query-file mistakes name the field', () => {
    expectNetinvertError(() => parseQueryFile(JSON.stringify({ want: { y: 1 }, margin: 1 }), 'q.json'), 'bad_query', 'margin', 'wantClass');
    expectNetinvertError(() => parseQueryFile(JSON.stringify({ wantClass: '' }), 'q.json'), 'bad_query', 'wantClass');
    expectNetinvertError(() => parseQueryFile(JSON.stringify({ wantClass: 'a', margin: 'x' }), 'q.json'), 'bad_query', 'margin', 'finite');
    expect(parseQueryFile(JSON.stringify({ wantClass: 'cat' }), 'q.json')).toEqual({ want: {}, wantClass: 'cat' });
  });
});

describe('batch counterfactuals', () => {
  it('--diverse K: one row per query, K solutions meeting the target, within the radius, pairwise at least the stated distance apart', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,sum,closest:a,closest:b\nr1,7,3,3\n');
    const a = join(dir, 'a.csv');
    const K = 3;
    const r = await run(['batch', ADD, q, '-o', a, '--workers', '1', '--diverse', String(K)]);
    expect(r.code, r.err).toBe(0);
    const rows = answers(a);
    expect(rows).toHaveLength(1);
    const c = JSON.parse(rows[0].counterfactual);
    const d = c.record.diverse;
    expect(d.k).toBe(K);
    expect(c.solutions).toHaveLength(K);
    const net = seedAdd().network;
    // distance in units of the box width (the training range [0, 10] of each input), L2
    const pts = c.solutions.map((s: { inputs: Record<string, number> }) => [s.inputs.a, s.inputs.b]);
    const dist = (u: number[], v: number[]): number => Math.hypot((u[0] - v[0]) / 10, (u[1] - v[1]) / 10);
    let minPair = Infinity;
    for (let i = 0; i < K; i++) {
      const y = net.evaluate(Float64Array.from(net.inputNames, (n) => (n === 'a' ? pts[i][0] : pts[i][1])), 1);
      expect(Math.abs(y[0] - 7)).toBeLessThan(1e-4);
      expect(dist(pts[i], [3, 3])).toBeLessThanOrEqual(d.radius + 1e-9);
      for (let j = 0; j < i; j++) minPair = Math.min(minPair, dist(pts[i], pts[j]));
    }
    expect(minPair).toBeGreaterThan(0);
    expect(minPair).toBeGreaterThanOrEqual(d.minPairwise - 1e-9);
    // the row itself is the closest solution (first)
    expect(Number(rows[0].a)).toBe(pts[0][0]);
  });

  it('--fixed holds an input at the row\'s reference; the controls need a closest: column', async () => {
    const dir = tmp();
    const q = file(dir, 'q.csv', 'id,sum,closest:a,closest:b\nr1,7,3,3\n');
    const a = join(dir, 'a.csv');
    expect((await run(['batch', ADD, q, '-o', a, '--workers', '1', '--fixed', 'a'])).code).toBe(0);
    const [row] = answers(a);
    expect(Number(row.a)).toBe(3);
    expect(Math.abs(Number(row.sum) - 7)).toBeLessThan(1e-4);
    const plain = file(dir, 'p.csv', 'id,a,sum\nr1,3,7\n');
    const r = await run(['batch', ADD, plain, '-o', join(dir, 'b.csv'), '--diverse', '2']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error \[bad_argument\].*closest:<input>/);
  });
});
