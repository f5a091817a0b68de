/**
 * The default multi-start search (no proof) must return the root that generated a reachable
 * query (issue "Ship it" §3.5). The net and queries are bench/rootmiss.ts's: a 3-32-32-2 tanh
 * net, x ~ U([−2, 2]³), targets y = f(x), x[0] given, x[1], x[2] unknown — two equalities on two
 * unknowns, so isolated roots, and x itself is one of them (the oracle: it is a root by
 * construction). Checked: the first 12 queries, and six the old search missed (97: two roots
 * 1e-3 apart at a fold, merged by the old midpoint test; 78, 306, 341, 1322: roots with basins of
 * 1–3 % of the box, missed after 40 starts; 316: a root at the box's edge).
 */
import { describe, expect, it } from 'vitest';
import { BOX, rootMissNet } from '../bench/rootmiss.ts';
import { invert } from '../src/api/invert.ts';
import { mulberry32 } from '../src/numeric/rng.ts';

const net = rootMissNet(1000);
const rand = mulberry32(77);
const points: number[][] = [];
for (let q = 0; q <= 1322; q++) points.push([0, 1, 2].map(() => (2 * rand() - 1) * BOX));

const CASES = [...Array.from({ length: 12 }, (_, i) => i), 78, 97, 306, 316, 341, 1322];

describe('multi-start finds the generating root of reachable queries', () => {
  for (const q of CASES) {
    it(`query ${q}`, () => {
      const x = points[q];
      const y = net.network.evaluate(new Float64Array(x), 1);
      const r = invert(
        net,
        { given: { 'x[0]': x[0] }, want: { 'y[0]': y[0], 'y[1]': y[1] }, bounds: { 'x[1]': [-BOX, BOX], 'x[2]': [-BOX, BOX] } },
        { seed: q },
      );
      expect(r.status).toBe('solved');
      expect(r.solutionSet.kind).toBe('isolated');
      const w = 2 * BOX;
      const nearest = Math.min(...r.solutions.map((s) => Math.max(Math.abs(s.unknowns['x[1]'] - x[1]), Math.abs(s.unknowns['x[2]'] - x[2])) / w));
      expect(nearest).toBeLessThanOrEqual(1e-6);
      // no root listed twice: distinct roots are farther apart than round-off
      for (let i = 0; i < r.solutions.length; i++)
        for (let j = 0; j < i; j++) {
          const a = r.solutions[i].unknowns,
            b = r.solutions[j].unknowns;
          expect(Math.max(Math.abs(a['x[1]'] - b['x[1]']), Math.abs(a['x[2]'] - b['x[2]']))).toBeGreaterThan(1e-9);
        }
    });
  }
});
