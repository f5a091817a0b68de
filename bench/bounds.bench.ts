/**
 * Bound passes on an ACAS Xu net (test/fixtures/third-party/acasxu, 5 inputs, 6 × 50 ReLU,
 * 5 outputs, normalized units): milliseconds per input box for the interval bound, the forward
 * symbolic bound (linearBounds), per-output CROWN (crownBounds) and CROWN of four linear forms
 * y₀ − yⱼ (crownLinearBounds, with CROWN or forward intermediate bounds), on random boxes of two
 * widths. Also the mean width of the four forms' bounds, per method, so time and tightness are
 * read together.
 */
import { readFileSync } from 'node:fs';
import { crownBounds, crownLinearBounds } from '../src/certify/bounds/crown.ts';
import { linearBounds } from '../src/certify/bounds/forward.ts';
import { loadNnetModel } from '../src/formats/nnet/load.ts';
import type { Problem } from '../src/problem/query.ts';
import { fmt, measure, rng, StreamTable } from './harness.ts';

export async function runBoundsBench(): Promise<void> {
  const file = 'ACASXU_run2a_1_1_batch_2000.nnet';
  const model = loadNnetModel(readFileSync(new URL(`../test/fixtures/third-party/acasxu/nnet/${file}`, import.meta.url), 'utf8'), {
    file,
    units: 'normalized',
  });
  const net = model.network;
  const nIn = net.nIn,
    nOut = net.nOut;
  const problem = { model, unknowns: Array.from({ length: nIn }, (_, i) => i) } as unknown as Problem;
  // y₀ − yⱼ, j = 1…4 (ACAS Xu "clear of conflict is not minimal" style forms)
  const m = nOut - 1;
  const C = new Float64Array(m * nOut);
  for (let j = 0; j < m; j++) {
    C[j * nOut] = 1;
    C[j * nOut + j + 1] = -1;
  }
  const rand = rng(2026);
  const boxes = 8;
  const table = new StreamTable([
    { title: 'box width', width: 10 },
    { title: 'method', width: 34, align: 'left' },
    { title: 'ms / box', width: 10 },
    { title: 'mean width of y0-yj', width: 20 },
  ]);
  table.header();
  for (const width of [0.02, 0.1]) {
    const L = new Float64Array(boxes * nIn),
      H = new Float64Array(boxes * nIn);
    for (let i = 0; i < boxes * nIn; i++) {
      const c = (2 * rand() - 1) * 0.4;
      L[i] = c - width / 2;
      H[i] = c + width / 2;
    }
    const formWidth = (lo: Float64Array, hi: Float64Array): number => {
      // interval of C·y from per-output bounds
      let s = 0;
      for (let b = 0; b < boxes; b++) {
        for (let j = 0; j < m; j++) {
          s += hi[b * nOut] - lo[b * nOut] + hi[b * nOut + j + 1] - lo[b * nOut + j + 1];
        }
      }
      return s / (boxes * m);
    };
    const methods: [string, () => number][] = [
      ['intervals', () => { const r = net.bounds(L, H, boxes); return formWidth(r.lo, r.hi); }],
      ['linearBounds (forward symbolic)', () => { const r = linearBounds(problem, L, H, boxes); return formWidth(r.lo, r.hi); }],
      ['crownBounds (per output)', () => { const r = crownBounds(problem, L.slice(), H.slice(), boxes); return formWidth(r.lo, r.hi); }],
      ['crownLinearBounds C (crown)', () => { const r = crownLinearBounds(net, L, H, boxes, C, m, { upper: true }); let s = 0; for (let i = 0; i < r.lo.length; i++) s += r.hi![i] - r.lo[i]; return s / r.lo.length; }],
      ['crownLinearBounds C (forward)', () => { const r = crownLinearBounds(net, L, H, boxes, C, m, { upper: true, intermediate: 'forward' }); let s = 0; for (let i = 0; i < r.lo.length; i++) s += r.hi![i] - r.lo[i]; return s / r.lo.length; }],
    ];
    for (const [name, fn] of methods) {
      const w = fn();
      const t = measure(() => void fn(), { minS: 0.3, runs: 3 });
      table.row([String(width), name, fmt((t.perCall * 1000) / boxes), fmt(w)]);
    }
  }
}
