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

describe('batch --plot', () => {
  it('draws one bar per outcome with the counts of the answers file, and one point per query', async () => {
    const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { run } = await import('./util/cli.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ni-batch-plot-'));
    const queries = join(dir, 'q.csv'),
      answers = join(dir, 'a.csv'),
      svgFile = join(dir, 'b.svg');
    writeFileSync(queries, 'id,a,b,sum\nq1,3,,7\nq2,3,,70\nq3,,4,8\nq4,1,,5\nq5,2,,-40\n');
    const r = await run(['batch', 'models/seed-add.json', queries, '-o', answers, '--plot', svgFile, '--workers', '1']);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/wrote .*b\.svg/);
    // the answers file, read independently: the status of each query id
    const lines = readFileSync(answers, 'utf8').trim().split('\n').slice(1);
    const status = new Map(lines.map((l) => [l.split(',')[0], l.split(',')[1]]));
    expect(status.size).toBe(5);
    const svg = readFileSync(svgFile, 'utf8');
    for (const s of ['solved', 'best-compromise', 'infeasible', 'unknown', 'error']) {
      const n = [...status.values()].filter((v) => v === s).length;
      expect(svg, s).toContain(`aria-label="outcome: ${s}; queries: ${n}"`);
    }
    expect(svg.match(/aria-label="query \(file order\): \d+;/g)?.length).toBe(5);
  });

  it('a bad --plot name is refused before any query runs', async () => {
    const { mkdtempSync, writeFileSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { run } = await import('./util/cli.ts');
    const dir = mkdtempSync(join(tmpdir(), 'ni-batch-plot-'));
    const queries = join(dir, 'q.csv');
    writeFileSync(queries, 'id,a,b,sum\nq1,3,,7\n');
    const r = await run(['batch', 'models/seed-add.json', queries, '-o', join(dir, 'a.csv'), '--plot', join(dir, 'b.gif'), '--workers', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error \[bad_usage\]: --plot .*b\.gif: a plot is written as \.svg or \.png/);
    expect(existsSync(join(dir, 'a.csv'))).toBe(false);
  });
});
