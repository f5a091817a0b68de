/** batch --plot's spec and drawing: counts per outcome and the per-query times, checked against the input. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { batchSpec, renderSvg, renderPng, type BatchPoint } from '../src/plot/index.ts';
import { decodePng, inkStats } from './util/png.ts';

type Layer = { data: { values: Record<string, unknown>[] } };
const panels = (spec: Record<string, unknown>): Layer[] => spec.hconcat as Layer[];

describe('batchSpec', () => {
  it('the bars count the queries of each outcome, and the time panel holds every query once, in file order', () => {
    const statuses = ['solved', 'best-compromise', 'infeasible', 'unknown', 'error'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...statuses), fc.double({ min: 0, max: 1e5, noNaN: true })), { maxLength: 60 }), (rows) => {
        const pts: BatchPoint[] = rows.map(([status, ms], index) => ({ index, id: `q${index}`, status, ms }));
        const [bars, times] = panels(batchSpec(pts, 'batch'));
        for (const s of statuses) {
          const expected = rows.filter(([st]) => st === s).length;
          const bar = bars.data.values.find((v) => v.status === s);
          expect(bar?.queries).toBe(expected);
        }
        expect(times.data.values.map((v) => v.id)).toEqual(pts.map((p) => p.id));
        times.data.values.forEach((v, i) => {
          expect(v.index).toBe(i + 1);
          // drawn on a log scale: a 0 ms query is lifted to 0.001 ms, every other time is kept
          expect(v.ms).toBe(Math.max(rows[i][1], 1e-3));
        });
      }),
      { numRuns: 50 },
    );
  });

  it('draws as SVG with the axis titles and as a non-blank PNG', async () => {
    const pts: BatchPoint[] = Array.from({ length: 30 }, (_, i) => ({
      index: i,
      id: `q${i}`,
      status: i % 7 === 0 ? 'infeasible' : i % 11 === 0 ? 'error' : 'solved',
      ms: 0.5 + i,
    }));
    const spec = batchSpec(pts, 'batch of queries.csv', 600, 240);
    const svg = await renderSvg(spec);
    expect(svg).toMatch(/^<svg/);
    for (const text of ['time per query', 'outcome', 'batch of queries.csv', 'infeasible']) expect(svg).toContain(text);
    const png = decodePng(await renderPng(spec));
    expect(png.width).toBeGreaterThan(600);
    expect(inkStats(png).colours).toBeGreaterThan(5);
  });
});
