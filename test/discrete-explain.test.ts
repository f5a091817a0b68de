/**
 * Explanations of infeasibility with discrete unknowns (issue #12 §2 over issue #11 §2): the
 * branches' explanations merged (api/discreteExplain.ts). Oracles: brute force over every integer
 * assignment with the seed net's forward pass, and dense samplers of each branch's continuous box.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { mergeExplanations } from '../src/api/discreteExplain.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import type { Explanation } from '../src/solve/result.ts';
import { run } from './util/cli.ts';

const ADD = loadNativeModel(readFileSync(new URL('../models/seed-add.json', import.meta.url)));
const FOUR = loadNativeModel(readFileSync(new URL('../models/seed-4in2out.json', import.meta.url)));
const OPTS = { maxEvaluations: 40_000, timeLimit: 60, seed: 2 };

const f = (a: number, b: number): number => ADD.network.evaluate(Float64Array.of(a, b), 1)[0];

describe('discrete unknowns: the merged explanation against brute force', () => {
  it('integer b, a target between two reachable values: the hull, the gap and its two edges, where they are attained', () => {
    for (const [target, prove] of [
      [7.5, true],
      [5.5, false],
    ] as const) {
      const q = { given: { a: 3 }, want: { sum: target }, integers: ['b'] };
      const r = prove ? certify(ADD, q, OPTS) : invert(ADD, q, OPTS);
      expect(['infeasible', 'best-compromise']).toContain(r.status);
      const e = r.explanation!;
      expect(e).toBeDefined();
      // brute force over b = 0 … 10 (the seed model's box)
      const vals = Array.from({ length: 11 }, (_, b) => f(3, b));
      const g = e.reachable.sum;
      expect(g.proven).toBe(true);
      expect(g.lo).toBeLessThanOrEqual(Math.min(...vals));
      expect(g.hi).toBeGreaterThanOrEqual(Math.max(...vals));
      expect(g.attainedLo).toBeCloseTo(Math.min(...vals), 9);
      expect(g.attainedHi).toBeCloseTo(Math.max(...vals), 9);
      expect(e.unreachableAlone).toEqual(['sum']);
      const below = Math.max(...vals.filter((v) => v < target)),
        above = Math.min(...vals.filter((v) => v > target));
      const lower = e.relaxations.find((x) => x.move === 'lower')!,
        raise = e.relaxations.find((x) => x.move === 'raise')!;
      expect(lower.gap && raise.gap).toBe(true);
      expect(lower.enough).toBeCloseTo(below, 9);
      expect(raise.enough).toBeCloseTo(above, 9);
      expect(f(3, lower.at!.b)).toBeCloseTo(below, 9);
      expect(f(3, raise.at!.b)).toBeCloseTo(above, 9);
      // the proven edges: nothing reaches between them and the target, and they are not past the values found
      expect(lower.provenLimit!).toBeGreaterThanOrEqual(below);
      expect(lower.provenLimit!).toBeLessThan(target);
      expect(raise.provenLimit!).toBeLessThanOrEqual(above);
      expect(raise.provenLimit!).toBeGreaterThan(target);
      expect(e.conflict).toMatchObject({ targets: ['sum'], proven: true, minimal: true });
    }
  });

  it('a target past every assignment: one relaxation, not a gap, to the largest value', () => {
    const r = certify(ADD, { given: { a: 3 }, want: { sum: 30 }, integers: ['b'] }, OPTS);
    expect(r.status).toBe('infeasible');
    const e = r.explanation!;
    expect(e.relaxations).toHaveLength(1);
    expect(e.relaxations[0]).toMatchObject({ move: 'lower' });
    expect(e.relaxations[0].gap).toBeUndefined();
    expect(e.relaxations[0].enough).toBeCloseTo(Math.max(...Array.from({ length: 11 }, (_, b) => f(3, b))), 9);
  });

  it('categorical x2 with continuous x3, x4: each range holds a dense sample of every branch; two targets conflict', () => {
    const choices = [0, 1, 2];
    const r = certify(FOUR, { given: { x1: 1 }, categorical: { x2: choices }, want: { y1: 20, y2: 0.2 } }, { ...OPTS, maxBoxes: 40_000 });
    expect(r.status).toBe('infeasible');
    const e = r.explanation!;
    const lo = [Infinity, Infinity],
      hi = [-Infinity, -Infinity];
    const N = 120;
    for (const x2 of choices)
      for (let i = 0; i <= N; i++)
        for (let j = 0; j <= N; j++) {
          const y = FOUR.network.evaluate(Float64Array.of(1, x2, (10 * i) / N, (10 * j) / N), 1);
          for (let o = 0; o < 2; o++) ((lo[o] = Math.min(lo[o], y[o])), (hi[o] = Math.max(hi[o], y[o])));
        }
    ['y1', 'y2'].forEach((name, o) => {
      const g = e.reachable[name];
      expect(g.proven).toBe(true);
      expect(g.lo).toBeLessThanOrEqual(lo[o]);
      expect(g.hi).toBeGreaterThanOrEqual(hi[o]);
      expect(g.attainedLo).toBeLessThanOrEqual(lo[o] + 0.05);
      expect(g.attainedHi).toBeGreaterThanOrEqual(hi[o] - 0.05);
      // attained at a listed choice of x2
      expect(choices).toContain(g.argLo.x2);
      expect(choices).toContain(g.argHi.x2);
    });
    expect(e.reachableAlone.sort()).toEqual(['y1', 'y2']);
    expect(e.conflict).toMatchObject({ targets: ['y1', 'y2'], proven: true });
  });

  it('the merge by itself: a union of different conflicts is never called minimal; unproven ranges stay unproven', () => {
    const base = (conflict: string[], proven: boolean): Explanation => ({
      reachable: {
        p: { lo: 0, hi: 1, attainedLo: 0, attainedHi: 1, argLo: {}, argHi: {}, proven, tight: true, boxes: 1 },
        q: { lo: 2, hi: 3, attainedLo: 2, attainedHi: 3, argLo: {}, argHi: {}, proven: true, tight: true, boxes: 1 },
      },
      reachableAlone: ['p', 'q'],
      unreachableAlone: [],
      undecidedAlone: [],
      conflict: { targets: conflict, proven: true, minimal: true },
      relaxations: [],
      notes: [],
    });
    const m = mergeExplanations([base(['p', 'q'], true), base(['p', 'q'], false)], 2);
    expect(m.conflict).toMatchObject({ targets: ['p', 'q'], minimal: true });
    expect(m.reachable.p.proven).toBe(false);
    const u = mergeExplanations([base(['p'], true), base(['q'], true)], 2);
    expect(u.conflict).toMatchObject({ targets: ['p', 'q'], proven: true, minimal: false });
  });

  it('the command line says it in words', async () => {
    const r = await run(['solve', 'models/seed-add.json', '--given', 'a=3', '--integer', 'b', '--want', 'sum=7.5', '--prove']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/why \(with a = 3/);
    expect(r.out).toMatch(/lower the target to 6\.98\d+ or below \(reached at b = 4\); no input reaches between/);
    expect(r.out).toMatch(/raise the target to 7\.99\d+ or above \(reached at b = 5\)/);
  });
});
