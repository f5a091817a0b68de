/**
 * An infeasible 1-unknown query (interval Newton excludes the whole box) still reports the point
 * of the box closest to the target: checked against a dense grid of the box.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { invert } from '../src/api/invert.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';

const model = loadNativeModel(readFileSync('models/seed-add.json', 'utf8'), 'seed-add.json');

describe('the closest point of an infeasible 1-D query', () => {
  for (const [target, lo, hi] of [
    [30, 0, 10],
    [-5, 0, 10],
    [30, -3, 4],
    [-40, -10, 10],
  ] as const) {
    it(`sum = ${target}, a = 3, b in [${lo}, ${hi}]: its miss is the grid's best or better`, () => {
      const r = invert(model, { given: { a: 3 }, want: { sum: target }, bounds: { b: [lo, hi] } });
      expect(r.status).toBe('infeasible');
      const best = r.best!;
      const b = best.inputs.b;
      expect(b).toBeGreaterThanOrEqual(lo);
      expect(b).toBeLessThanOrEqual(hi);
      // an independent forward pass of the reported point, and a 2,001-point grid of the box
      const y = (x: number): number => model.network.evaluate(new Float64Array([3, x]), 1)[0];
      expect(best.outputs.sum).toBe(y(b));
      let gridBest = Infinity;
      for (let i = 0; i <= 2000; i++) gridBest = Math.min(gridBest, Math.abs(y(lo + ((hi - lo) * i) / 2000) - target));
      expect(Math.abs(y(b) - target)).toBeLessThanOrEqual(gridBest + 1e-9);
    });
  }
});
