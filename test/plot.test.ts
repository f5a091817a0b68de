/**
 * Plots (src/plot): the spec's data against independent evaluations — the seed net's closed form,
 * tanh(3x) − 0.5x by hand, the four-root net's formula — marked roots against bisection, level
 * sets against the formula, proof boxes against the certificate; then the SVG and PNG drawn from
 * the specs (text and marks present, PNG decoded by a reader of our own, right size, not blank).
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { certify } from '../src/api/certify.ts';
import { invert } from '../src/api/invert.ts';
import { predict } from '../src/solve/predict.ts';
import { createModel } from '../src/model.ts';
import { runCli } from '../src/cli/program.ts';
import { NetinvertError } from '../src/errors.ts';
import { plotSpec, renderSvg, renderPng, zeroContour, PROOF_LABELS, lossSpec } from '../src/plot/index.ts';
import { bisect, evenE, FOUR_ROOTS, fourRootNet, loadShipped, seedAddOracle, threeRootNet } from './problems.ts';
import { decodePng, inkStats } from './util/png.ts';

type Layer = { mark: { type: string }; data: { values: Record<string, unknown>[] }; encoding: Record<string, { field?: string }> };
const layers = (spec: unknown): Layer[] => (spec as { layer: Layer[] }).layer;
const layerOf = (spec: unknown, type: string, pred: (l: Layer) => boolean = () => true): Layer => {
  const l = layers(spec).find((x) => x.mark.type === type && pred(x));
  if (!l) throw new Error(`no ${type} layer`);
  return l;
};

function io() {
  const out: string[] = [],
    err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

const tmp = mkdtempSync(join(tmpdir(), 'netinvert-plot-'));

describe('one unknown: the seed question 3 + ? = 7', () => {
  const model = loadShipped('seed-add.json');
  const f = seedAddOracle();
  const result = certify(model, { given: { a: 3 }, want: { sum: 7 } });
  const spec = plotSpec(model, result);

  it('the curve is the net: every sample equals the closed form at a = 3', () => {
    const curve = layerOf(spec, 'line').data.values;
    expect(curve.length).toBeGreaterThan(1000);
    for (const p of curve) expect(p.value as number).toBeCloseTo(f(3, p.b as number), 10);
    // covers the unknown's box
    const bs = curve.map((p) => p.b as number);
    const bound = result.query.bounds[0];
    expect(Math.min(...bs)).toBe(bound.lo);
    expect(Math.max(...bs)).toBe(bound.hi);
  });

  it('the marked root is where the net meets 7 (bisection on the closed form), labelled with its value', () => {
    const marks = layerOf(spec, 'point').data.values;
    expect(marks).toHaveLength(1);
    const root = bisect((b) => f(3, b) - 7, 0, 10);
    expect(marks[0].b as number).toBeCloseTo(root, 6);
    expect(marks[0].label).toBe(`b = ${Number((marks[0].b as number).toPrecision(5))}`);
    expect(marks[0].label).toBe('b = 4.0118');
    expect(Math.abs((marks[0].value as number) - 7)).toBeLessThan(1e-5);
  });

  it('the target band holds 7 and the proven root box holds the root', () => {
    const band = layerOf(spec, 'rect', (l) => l.encoding.y?.field === 'b0').data.values[0];
    expect(band.b0 as number).toBeLessThanOrEqual(7);
    expect(band.b1 as number).toBeGreaterThanOrEqual(7);
    expect(result.certificate?.claim).toBe('complete');
    const proof = layerOf(spec, 'rect', (l) => l.encoding.fill?.field === 'proof').data.values;
    const root = bisect((b) => f(3, b) - 7, 0, 10);
    const rootBoxes = proof.filter((p) => p.proof === PROOF_LABELS.root);
    expect(rootBoxes.length).toBeGreaterThan(0);
    expect(rootBoxes.some((p) => (p.x0 as number) <= root && root <= (p.x1 as number))).toBe(true);
    // every box the certificate lists is drawn, none invented
    const c = result.certificate!;
    expect(proof.length).toBe(c.excluded.length + (c.rootFree?.length ?? 0) + (c.roots?.length ?? 0));
  });

  it('the title states the query', () => {
    const t = (spec as unknown as { title: { text: string } }).title.text;
    expect(t).toContain('a = 3');
    expect(t).toContain('sum = 7');
    expect(t).toContain('b ∈');
  });
});

describe('one unknown, three roots: y = tanh(3x) − 0.5x = 0', () => {
  const model = threeRootNet();
  const g = (x: number) => Math.tanh(3 * x) - 0.5 * x;
  const result = invert(model, { want: { y: 0 } });
  const spec = plotSpec(model, result);
  it('marks every root, each one a sign change of the formula found by bisection', () => {
    const marks = layerOf(spec, 'point').data.values.map((m) => m.x as number).sort((a, b) => a - b);
    const roots = [bisect(g, -4, -1), bisect(g, -0.5, 0.7), bisect(g, 1, 4)];
    expect(marks).toHaveLength(3);
    marks.forEach((m, i) => expect(m).toBeCloseTo(roots[i], 6));
  });
  it('samples equal the formula (not the solver): random probes of the curve', () => {
    const curve = layerOf(spec, 'line').data.values;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: curve.length - 1 }), (i) => {
        expect(curve[i].value as number).toBeCloseTo(g(curve[i].x as number), 12);
      }),
    );
  });
});

describe('two unknowns: the four-root net', () => {
  const model = fourRootNet();
  const T = { y1: evenE(3), y2: evenE(1) };
  const result = invert(model, { want: T });
  const spec = plotSpec(model, result, { samples: 60 });
  const y1 = (a: number, b: number) => evenE(a - b),
    y2 = (a: number, b: number) => evenE(a + b - 7);
  it('every heatmap cell is the worst miss of the formula at its centre', () => {
    const cells = layers(spec)[0].data.values;
    expect(cells).toHaveLength(3600);
    for (const c of cells) {
      const a = c.x3 as number,
        b = c.x4 as number;
      expect(c.miss as number).toBeCloseTo(Math.max(Math.abs(y1(a, b) - T.y1), Math.abs(y2(a, b) - T.y2)), 10);
      expect(a).toBeCloseTo(0.5 * ((c.x0 as number) + (c.x1 as number)), 12);
    }
  });
  it('the level set lies on the targets: each segment end is a zero of the formula to within one cell', () => {
    const level = layerOf(spec, 'rule').data.values;
    expect(level.length).toBeGreaterThan(50);
    const h = 10 / 60;
    for (const s of level) {
      const fn = String(s.level).startsWith('y1') ? (a: number, b: number) => y1(a, b) - T.y1 : (a: number, b: number) => y2(a, b) - T.y2;
      for (const [a, b] of [
        [s.x0, s.y0],
        [s.x1, s.y1],
      ] as [number, number][]) {
        // the formula changes sign within a cell around the point (Lipschitz constant of E ≤ 0.8·2)
        expect(Math.abs(fn(a, b))).toBeLessThan(1.6 * 2 * h * h + 1e-9 + 0.2 * h);
      }
    }
  });
  it('the four known solutions are marked', () => {
    const marks = layerOf(spec, 'point').data.values;
    expect(marks).toHaveLength(4);
    for (const [a, b] of FOUR_ROOTS) expect(marks.some((m) => Math.abs((m.x3 as number) - a) < 1e-5 && Math.abs((m.x4 as number) - b) < 1e-5)).toBe(true);
  });
});

describe('two unknowns, proven infeasible: sum = 25 from a, b in [0, 10]', () => {
  const model = loadShipped('seed-add.json');
  const f = seedAddOracle();
  const result = certify(model, { want: { sum: 25 } });
  const spec = plotSpec(model, result, { samples: 30 });
  it('every drawn box is a certificate box where the closed form stays below 25 (f rises in a and b: its top corner bounds it)', () => {
    expect(result.status).toBe('infeasible');
    expect(result.proven).toBe(true);
    const boxes = layerOf(spec, 'rect', (l) => (l.encoding as Record<string, { field?: string }>).stroke?.field === 'proof').data.values;
    expect(boxes).toHaveLength(result.certificate!.excluded.length);
    for (const b of boxes) {
      expect(b.proof).toBe(PROOF_LABELS.excluded);
      expect(f(b.x1 as number, b.y1 as number)).toBeLessThan(25);
    }
    // and they cover the box: their areas add up to at least the whole (B&B boxes do not overlap)
    const area = boxes.reduce((s, b) => s + ((b.x1 as number) - (b.x0 as number)) * ((b.y1 as number) - (b.y0 as number)), 0);
    expect(area).toBeCloseTo(100, 9);
    expect(layers(spec).some((l) => l.mark.type === 'point')).toBe(true); // the closest point is marked
  });
});

describe('two unknowns, a ReLU net: kinks are kept', () => {
  // y = relu(x1 − x2) + relu(x2 − x1) = |x1 − x2|: a crease along x1 = x2
  const model = createModel(
    {
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 2, weight: [1, -1, -1, 1], bias: [0, 0] }, inputs: ['x'] },
        { name: 'r', op: { type: 'unary', fn: 'relu' }, inputs: ['h'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: [1, 1], bias: [0] }, inputs: ['r'] },
      ],
      outputs: [{ node: 'y', name: 'y' }],
    },
    { name: 'abs-diff', inputRanges: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } },
  );
  const result = invert(model, { want: { y: 0.5 } });
  const spec = plotSpec(model, result, { samples: 40 });
  it('cells are the exact |x1 − x2| − 0.5 at their centres (no smoothing across the crease)', () => {
    for (const c of layers(spec)[0].data.values) {
      expect(c.miss as number).toBeCloseTo(Math.abs(Math.abs((c['x[0]'] as number) - (c['x[1]'] as number)) - 0.5), 12);
    }
  });
  it('the level set is exactly the two lines |x1 − x2| = 0.5 (piecewise linear: marching squares is exact off the crease)', () => {
    const level = layerOf(spec, 'rule').data.values;
    expect(level.length).toBeGreaterThan(40);
    for (const s of level) {
      expect(Math.abs(Math.abs((s.x0 as number) - (s.y0 as number)) - 0.5)).toBeLessThan(1e-9);
      expect(Math.abs(Math.abs((s.x1 as number) - (s.y1 as number)) - 0.5)).toBeLessThan(1e-9);
    }
  });
});

describe('zeroContour (marching squares)', () => {
  it('is exact on a plane: every segment end lies on a·x + b·y = c', () => {
    fc.assert(
      fc.property(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true }), (a, b, c) => {
        fc.pre(Math.abs(a) + Math.abs(b) > 0.1);
        const n = 8;
        const xs = Float64Array.from({ length: n + 1 }, (_, i) => -1 + (2 * i) / n);
        const f = new Float64Array((n + 1) * (n + 1));
        for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) f[j * (n + 1) + i] = a * xs[i] + b * xs[j] - c;
        for (const [x0, y0, x1, y1] of zeroContour(f, n, xs, xs)) {
          expect(Math.abs(a * x0 + b * y0 - c)).toBeLessThan(1e-9);
          expect(Math.abs(a * x1 + b * y1 - c)).toBeLessThan(1e-9);
        }
      }),
    );
  });
});

describe('more unknowns: parallel coordinates and residual bars', () => {
  const model = loadShipped('seed-4in2out.json');
  const result = invert(model, { want: { y1: 9.99, y2: 0.54 } });
  const spec = plotSpec(model, result) as unknown as { vconcat: { layer: Layer[] }[] };
  it('positions are the solutions scaled to the box; residuals are a fresh forward pass minus the target', () => {
    expect(result.solutions.length).toBeGreaterThan(0);
    const lines = spec.vconcat[0].layer.find((l) => l.mark.type === 'line')!.data.values;
    expect(lines).toHaveLength(result.solutions.length * 4);
    for (const r of lines) {
      const i = Number(String(r.point).split(' ').pop()) - 1;
      const b = result.query.bounds.find((x) => x.input === r.unknown)!;
      expect(r.pos as number).toBeCloseTo((result.solutions[i].unknowns[r.unknown as string] - b.lo) / (b.hi - b.lo), 12);
    }
    const bars = spec.vconcat[1].layer[0].data.values;
    expect(bars).toHaveLength(result.solutions.length * 2);
    for (const bar of bars) {
      const i = Number(String(bar.point).split(' ').pop()) - 1;
      const y = predict(model, result.solutions[i].inputs)[bar.target as string];
      const t = bar.target === 'y1' ? 9.99 : 0.54;
      expect(bar.residual as number).toBeCloseTo(y - t, 12);
    }
  });
  it('--unknowns picks two of them: a heatmap through the first solution', () => {
    const s2 = plotSpec(model, result, { unknowns: ["x1", "x3"], samples: 20 }) as unknown as { title: { subtitle: string } };
    expect(s2.title.subtitle).toContain('slice at x2 =');
    const cells = layers(s2)[0].data.values;
    const s = result.solutions[0];
    for (const c of cells.slice(0, 50)) {
      const y = predict(model, { ...s.inputs, x1: c.x1 as number, x3: c.x3 as number });
      expect(c.miss as number).toBeCloseTo(Math.max(Math.abs(y.y1 - 9.99), Math.abs(y.y2 - 0.54)), 10);
    }
  });
});

describe('coded errors', () => {
  const model = loadShipped('seed-add.json');
  const result = invert(model, { given: { a: 3 }, want: { sum: 7 } });
  it('an unknown that is not in the query, a result from another model, bad sizes', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(NetinvertError);
        return (e as NetinvertError).code;
      }
      return 'no error';
    };
    expect(code(() => plotSpec(model, result, { unknowns: ['a'] }))).toBe('unknown_input');
    expect(code(() => plotSpec(threeRootNet(), result))).toBe('bad_argument');
    expect(code(() => plotSpec(model, result, { width: 0 }))).toBe('bad_argument');
  });
});

describe('drawn: SVG and PNG', () => {
  const model = loadShipped('seed-add.json');
  it('the SVG holds the axis title, the root label, the legend words and the curve', async () => {
    const result = certify(model, { given: { a: 3 }, want: { sum: 7 } });
    const svg = await renderSvg(plotSpec(model, result));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('b = 4.0118');
    expect(svg).toContain('>b<');
    expect(svg).toContain(PROOF_LABELS.root);
    expect(svg).toMatch(/<path[^>]*d="M[^"]{200,}/); // a long line path: the curve
    // well-formed: resvg parses it (it rejects malformed XML)
    const png = decodePng(await renderPng(plotSpec(model, result)));
    expect(png.width).toBeGreaterThan(640);
  });
  it('the PNG decodes, has the size of the SVG and is not blank', async () => {
    const result = invert(model, { want: { sum: 7 } });
    const spec = plotSpec(model, result, { width: 300, height: 200, samples: 30 });
    const svg = await renderSvg(spec);
    const w = Number(/width="(\d+)"/.exec(svg)![1]),
      h = Number(/height="(\d+)"/.exec(svg)![1]);
    const png = decodePng(await renderPng(spec));
    expect([png.width, png.height]).toEqual([w, h]);
    const ink = inkStats(png);
    expect(ink.colours).toBeGreaterThan(20); // the viridis heatmap
    expect(ink.inkFraction).toBeGreaterThan(0.3);
  });
  it('loss curves draw', async () => {
    const svg = await renderSvg(lossSpec([1, 2, 3].map((e) => ({ phase: 'adam' as const, step: e, trainLoss: 1 / e, valLoss: 1.2 / e })), 'training add.csv'));
    expect(svg).toContain('validation');
  });
});

describe('CLI: plot and solve --plot', () => {
  const seed = new URL('../models/seed-add.json', import.meta.url).pathname;
  it('plot writes an SVG and a PNG', async () => {
    for (const ext of ['svg', 'png']) {
      const o = io();
      const file = join(tmp, `add.${ext}`);
      const code = await runCli(['plot', seed, '--given', 'a=3', '--want', 'sum=7', '-o', file, '--width', '320', '--height', '200'], o.io);
      expect(o.err).toEqual([]);
      expect(code).toBe(0);
      expect(o.out.join('\n')).toContain(`wrote ${file}`);
      const bytes = readFileSync(file);
      if (ext === 'svg') expect(bytes.toString()).toContain('b = 4.0118');
      else expect(inkStats(decodePng(new Uint8Array(bytes))).inkFraction).toBeGreaterThan(0.01);
    }
  });
  it('solve --plot keeps solve’s exit code and output, and writes the figure', async () => {
    const o = io();
    const file = join(tmp, 'solve.svg');
    const code = await runCli(['solve', seed, '--given', 'a=3', '--want', 'sum=7', '--prove', '--plot', file], o.io);
    expect(code).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(PROOF_LABELS.root);
  });
  it('a wrong extension, a missing -o and an unknown --unknowns are coded errors', async () => {
    let o = io();
    expect(await runCli(['plot', seed, '--given', 'a=3', '--want', 'sum=7', '-o', join(tmp, 'x.pdf')], o.io)).toBe(1);
    expect(o.err.join('')).toMatch(/^error \[bad_usage\]: -o .*x\.pdf: a plot is written as \.svg or \.png/);
    o = io();
    expect(await runCli(['solve', seed, '--given', 'a=3', '--want', 'sum=7', '--plot', join(tmp, 'x.gif')], o.io)).toBe(1);
    expect(o.out).toEqual([]); // refused before solving: no report printed
    expect(o.err.join('')).toMatch(/^error \[bad_usage\]: --plot .*x\.gif/);
    o = io();
    expect(await runCli(['plot', seed, '--given', 'a=3', '--want', 'sum=7'], o.io)).toBe(1);
    expect(o.err.join('')).toContain('error [bad_usage]');
    o = io();
    expect(await runCli(['plot', seed, '--given', 'a=3', '--want', 'sum=7', '--unknowns', 'zz', '-o', join(tmp, 'z.svg')], o.io)).toBe(1);
    expect(o.err.join('')).toMatch(/error \[unknown_input\]: "zz" is not an unknown/);
  });
});

describe('train --plot', () => {
  it('draws the training and validation loss curves', async () => {
    const o = io();
    const csv = new URL('../data/add.csv', import.meta.url).pathname;
    const file = join(tmp, 'loss.svg');
    const code = await runCli(['train', csv, '--inputs', 'a,b', '--outputs', 'sum', '--hidden', '2', '--epochs', '20', '--lbfgs-iterations', '5', '--no-progress', '-o', join(tmp, 'm.json'), '--plot', file], o.io);
    expect(o.err).toEqual([]);
    expect(code).toBe(0);
    const svg = readFileSync(file, 'utf8');
    expect(svg).toContain('validation');
    expect(svg).toContain('training');
    expect(svg).toContain('L-BFGS polish');
    expect(o.out.join('\n')).toContain(`wrote ${file}`);
  });
  it('a bad --plot extension is refused before training', async () => {
    const o = io();
    const csv = new URL('../data/add.csv', import.meta.url).pathname;
    const m = join(tmp, 'never.json');
    expect(await runCli(['train', csv, '--inputs', 'a,b', '--outputs', 'sum', '--no-progress', '-o', m, '--plot', join(tmp, 'loss.jpg')], o.io)).toBe(1);
    expect(o.err.join('')).toMatch(/error \[bad_usage\]: --plot .*loss\.jpg/);
    expect(existsSync(m)).toBe(false);
  });
});
