/**
 * plotSpec(model, result): the answer as a vega-lite spec — plain JSON data, no vega needed to
 * build it (render.ts compiles and draws it). The curve and the heatmap come from fresh float64
 * forward passes of the model over the unknowns' box (the same `Network.evaluate` every answer
 * is checked with), so what is drawn is what the model does, not what the search saw.
 *
 *   1 unknown:  the output along the unknown's box (the signed miss of each target when there are
 *               several), the target band shaded, every solution marked and labelled; proven
 *               intervals (certificate boxes, interval-Newton root boxes) coloured by what was proven.
 *   2 unknowns: a heatmap of the worst miss over a dense grid (cells, never interpolated: a ReLU
 *               kink shows as a crease, not a blur), the target's level set by marching squares
 *               (Lorensen & Cline 1987, applied to the 2-D grid) on the signed miss, the solutions;
 *               proven boxes drawn over it.
 *   more:       parallel coordinates of the solutions over the box, and a bar chart of each
 *               target's residual.
 */
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';
import type { Solution } from '../solve/result.ts';
// a result as invert or certify return it (the proof boxes come from its certificate)
import type { CertifiedResult as SolveResult } from '../certify/certify.ts';

/** A vega-lite top-level spec, as plain JSON. */
export type PlotSpec = Record<string, unknown> & { $schema: string };

export interface PlotOptions {
  /** Which unknowns to draw (1, 2, or more); default: all of them. The others are fixed at the anchor solution. */
  unknowns?: string[];
  /** Size of one plot, in pixels (default 640 × 400). */
  width?: number;
  height?: number;
  /** Samples along one unknown (default 1001 for one unknown, 120 per side for two). */
  samples?: number;
}

export type PlotKind = 'one-unknown' | 'two-unknowns' | 'many-unknowns';

/** What a proof says about a box: the legend's words. */
export const PROOF_LABELS = {
  excluded: 'no solution (proven)',
  rootFree: 'no exact root (proven)',
  root: 'unique root (proven)',
  undecided: 'undecided',
} as const;
const PROOF_DOMAIN = [PROOF_LABELS.excluded, PROOF_LABELS.rootFree, PROOF_LABELS.root, PROOF_LABELS.undecided];
const PROOF_RANGE = ['#9ecae1', '#c6dbef', '#31a354', '#fdae6b'];

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

type Target = SolveResult['query']['targets'][number];

/** Signed miss of one target at output y: 0 inside [lo, hi], else the distance with its sign (Solution.residuals' rule). */
export function signedMiss(t: Pick<Target, 'lo' | 'hi'>, y: number): number {
  if (t.lo !== null && y < t.lo) return y - t.lo;
  if (t.hi !== null && y > t.hi) return y - t.hi;
  return 0;
}

/** A short number for labels: 5 significant digits, no trailing zeros. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

function targetText(t: Target): string {
  switch (t.kind) {
    case 'eq':
      return `${t.output} = ${fmt(t.lo!)}`;
    case 'range':
      return `${t.output} ∈ [${fmt(t.lo!)}, ${fmt(t.hi!)}]`;
    case 'ge':
      return `${t.output} ≥ ${fmt(t.lo!)}`;
    default:
      return `${t.output} ≤ ${fmt(t.hi!)}`;
  }
}

/** The query in one line: "given a = 3 · want sum = 7 · b ∈ [−10, 10]". */
export function queryTitle(result: SolveResult): string {
  const q = result.query;
  const given = Object.entries(q.given).map(([k, v]) => `${k} = ${fmt(v)}`);
  const parts = [
    ...(given.length ? [`given ${given.join(', ')}`] : []),
    `want ${q.targets.map(targetText).join(', ')}`,
    `find ${q.bounds.map((b) => `${b.input} ∈ [${fmt(b.lo)}, ${fmt(b.hi)}]`).join(', ')}`,
  ];
  return parts.join(' · ');
}

function statusText(result: SolveResult): string {
  const n = result.solutions.length;
  switch (result.status) {
    case 'solved':
      return `solved: ${n} solution${n === 1 ? '' : 's'}${result.solutionSet.kind === 'continuum' ? ' (representatives of a continuum)' : ''}${result.complete ? ', proven complete' : ''}`;
    case 'infeasible':
      return result.proven ? 'infeasible (proven)' : 'infeasible';
    case 'best-compromise':
      return `best compromise${result.proven ? ' (proven)' : ''}: no point meets every target`;
    default:
      return 'unknown: the search could neither solve nor prove';
  }
}

/** Points to mark: the solutions, or the closest point when there are none. */
function markedPoints(result: SolveResult): { s: Solution; role: string }[] {
  if (result.solutions.length) {
    const role = result.solutionSet.kind === 'continuum' ? 'representative' : 'solution';
    return result.solutions.map((s) => ({ s, role }));
  }
  return result.best ? [{ s: result.best, role: 'closest point (misses)' }] : [];
}

/** One proven or undecided box, in the plotted unknowns' coordinates (full box coordinates kept in `lo`/`hi`). */
export interface ProofBox {
  lo: number[];
  hi: number[];
  proof: (typeof PROOF_DOMAIN)[number];
}

/**
 * The boxes a proof left behind, over all unknowns (certificate order = result.query.bounds order):
 * the certificate's excluded, root-free and root boxes; else the root boxes the 1-D search proved
 * (Solution.proofBox). With certification but no certificate, the box is undecided as a whole:
 * without a verified certificate no part of it is claimed.
 */
export function proofBoxes(result: SolveResult): ProofBox[] {
  const names = result.query.bounds.map((b) => b.input);
  const c = result.certificate;
  if (c) {
    const order = names.map((n) => c.query.unknowns.indexOf(n));
    if (order.every((i) => i >= 0)) {
      const re = (b: { lo: number[]; hi: number[] }) => ({ lo: order.map((i) => b.lo[i]), hi: order.map((i) => b.hi[i]) });
      return [
        ...c.excluded.map((b) => ({ ...re(b), proof: PROOF_LABELS.excluded })),
        ...(c.rootFree ?? []).map((b) => ({ ...re(b), proof: PROOF_LABELS.rootFree })),
        ...(c.roots ?? []).map((b) => ({ ...re(b), proof: PROOF_LABELS.root })),
      ];
    }
  }
  const out: ProofBox[] = [];
  for (const s of [...result.solutions, ...(result.best ? [result.best] : [])]) {
    if (s.proof === 'unique-root' && s.proofBox && names.every((n) => s.proofBox![n])) {
      out.push({ lo: names.map((n) => s.proofBox![n][0]), hi: names.map((n) => s.proofBox![n][1]), proof: PROOF_LABELS.root });
    }
  }
  if (result.certification && !c) {
    out.push({ lo: result.query.bounds.map((b) => b.lo), hi: result.query.bounds.map((b) => b.hi), proof: PROOF_LABELS.undecided });
  }
  return out;
}

/** Evaluate the model at many points of the unknowns (rows × k, in `vars` order), the rest at `fixed`. */
function evaluateAt(model: Model, result: SolveResult, fixed: Record<string, number>, vars: string[], U: Float64Array, rows: number): Float64Array {
  const net = model.network;
  const X = new Float64Array(rows * net.nIn);
  const base = new Float64Array(net.nIn);
  for (let i = 0; i < net.nIn; i++) {
    const name = net.inputNames[i];
    const v = result.query.given[name] ?? fixed[name];
    if (v === undefined) throw new NetinvertError('bad_argument', `the result gives no value for input "${name}"; was it made with this model?`, { input: name });
    base[i] = v;
  }
  const idx = vars.map((v) => net.inputIndex(v));
  for (let r = 0; r < rows; r++) {
    X.set(base, r * net.nIn);
    for (let j = 0; j < idx.length; j++) X[r * net.nIn + idx[j]] = U[r * vars.length + j];
  }
  return net.evaluate(X, rows);
}

function checkCompatible(model: Model, result: SolveResult): void {
  if (!result || result.format !== 'netinvert-result') throw new NetinvertError('bad_argument', 'plotSpec takes a netinvert result (from invert, certify or `solve --json`)');
  if (result.model?.hash && result.model.hash !== model.hash) {
    throw new NetinvertError('bad_argument', `the result is for model ${result.model.hash}, not this one (${model.hash}); plot it with the model it was solved with`, {
      resultModel: result.model.hash,
      model: model.hash,
    });
  }
  for (const t of result.query.targets) {
    for (const name of t.terms ? t.terms.map((k) => k.output) : [t.output]) {
      if (model.network.outputIndex(name) < 0) throw new NetinvertError('unknown_output', `the result's target "${t.output}" reads "${name}", which is not an output of this model`, { output: name });
    }
  }
}

type ResultTarget = SolveResult['query']['targets'][number];

/** A target's form as output indices and coefficients (a plain target: its output, coefficient 1). */
function formOf(net: Model['network'], t: ResultTarget): { output: number; coef: number }[] {
  return t.terms ? t.terms.map((k) => ({ output: net.outputIndex(k.output), coef: k.coef })) : [{ output: net.outputIndex(t.output), coef: 1 }];
}

/** Value of a form on the output row Y[off …]. */
function formAt(form: { output: number; coef: number }[], Y: ArrayLike<number>, off: number): number {
  let s = 0;
  for (const k of form) s += k.coef * Y[off + k.output];
  return s;
}

/** A target's value at a solution: its output, or its form's value (from the solution's constraints or outputs). */
function targetValueAt(s: Solution, t: ResultTarget): number {
  if (!t.terms) return s.outputs[t.output];
  const c = s.constraints?.find((x) => x.target === t.output);
  return c ? c.value : t.terms.reduce((a, k) => a + k.coef * s.outputs[k.output], 0);
}

function positiveInt(v: number | undefined, dflt: number, what: string, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new NetinvertError('bad_argument', `${what} must be a whole number from ${min} to ${max} (got ${v})`, { option: what });
  return v;
}

/** Which kind of plot a result gets with these options. */
export function plotKind(result: SolveResult, options: PlotOptions = {}): PlotKind {
  const k = (options.unknowns ?? result.query.bounds.map((b) => b.input)).length;
  return k === 1 ? 'one-unknown' : k === 2 ? 'two-unknowns' : 'many-unknowns';
}

/** The spec for a result. Throws NetinvertError (bad_argument, unknown_input) for options that do not fit the result. */
export function plotSpec(model: Model, result: SolveResult, options: PlotOptions = {}): PlotSpec {
  checkCompatible(model, result);
  const all = result.query.bounds.map((b) => b.input);
  if (all.length === 0) throw new NetinvertError('bad_argument', 'the query has no unknowns (every input is given), so there is nothing to plot along');
  const vars = options.unknowns ?? all;
  if (vars.length === 0) throw new NetinvertError('bad_argument', 'name at least one unknown to plot (e.g. --unknowns b)');
  for (const v of vars) {
    if (!all.includes(v)) {
      throw new NetinvertError('unknown_input', `"${v}" is not an unknown of this query; its unknowns are: ${all.join(', ')}`, { input: v, unknowns: all });
    }
  }
  if (new Set(vars).size !== vars.length) throw new NetinvertError('bad_argument', `--unknowns names an unknown twice (${vars.join(', ')})`);
  const width = positiveInt(options.width, 640, 'width', 50, 10000);
  const height = positiveInt(options.height, 400, 'height', 50, 10000);
  // the other unknowns are fixed at the anchor: the first solution, else the closest point, else the box middle
  const anchor = result.solutions[0] ?? result.best;
  const fixed: Record<string, number> = {};
  for (const b of result.query.bounds) fixed[b.input] = anchor?.unknowns[b.input] ?? 0.5 * (b.lo + b.hi);
  const sliced = all.filter((n) => !vars.includes(n));
  const slice = sliced.length && vars.length <= 2 ? ` · slice at ${sliced.map((n) => `${n} = ${fmt(fixed[n])}`).join(', ')}` : '';
  const title = { text: queryTitle(result), subtitle: `${statusText(result)}${slice}`, anchor: 'start' };
  const ctx = { model, result, vars, fixed, width, height, title, sliced: sliced.length > 0 };
  if (vars.length === 1) return oneUnknown(ctx, positiveInt(options.samples, 1001, 'samples', 3, 100000));
  if (vars.length === 2) return twoUnknowns(ctx, positiveInt(options.samples, 120, 'samples', 3, 1000));
  return manyUnknowns(ctx);
}

interface Ctx {
  model: Model;
  result: SolveResult;
  vars: string[];
  fixed: Record<string, number>;
  width: number;
  height: number;
  title: Record<string, unknown>;
  sliced: boolean;
}

function boundsOf(result: SolveResult, name: string): { lo: number; hi: number } {
  const b = result.query.bounds.find((x) => x.input === name)!;
  return { lo: b.lo, hi: b.hi };
}

/** Points of a solution on the plotted slice: only those that lie on it (all of them when nothing is sliced). */
function onSlice(ctx: Ctx, s: Solution): boolean {
  if (!ctx.sliced) return true;
  return ctx.result.query.bounds.every((b) => ctx.vars.includes(b.input) || Math.abs(s.unknowns[b.input] - ctx.fixed[b.input]) <= 1e-9 * (1 + Math.abs(ctx.fixed[b.input])));
}

function oneUnknown(ctx: Ctx, n: number): PlotSpec {
  const { model, result, width, height } = ctx;
  const x = ctx.vars[0];
  const { lo, hi } = boundsOf(result, x);
  const xi = result.query.bounds.findIndex((b) => b.input === x);
  const targets = result.query.targets;
  const single = targets.length === 1;
  const pts = markedPoints(result).filter((p) => onSlice(ctx, p.s));
  const boxes = ctx.sliced ? [] : proofBoxes(result);
  // samples: an even grid, plus every marked point and every box edge (so a root's curve passes through its mark)
  const xs = new Set<number>();
  for (let i = 0; i < n; i++) xs.add(i === n - 1 ? hi : lo + ((hi - lo) * i) / (n - 1));
  for (const p of pts) xs.add(p.s.unknowns[x]);
  for (const b of boxes) {
    if (b.lo[xi] >= lo && b.lo[xi] <= hi) xs.add(b.lo[xi]);
    if (b.hi[xi] >= lo && b.hi[xi] <= hi) xs.add(b.hi[xi]);
  }
  const X = Float64Array.from([...xs].sort((a, b) => a - b));
  const Y = evaluateAt(model, result, ctx.fixed, [x], X, X.length);
  const net = model.network;
  const oi = targets.map((t) => formOf(net, t));
  const m = net.nOut;
  const yTitle = single ? targets[0].output : 'miss: output − target (0 inside the target)';
  const curve: Record<string, unknown>[] = [];
  for (let r = 0; r < X.length; r++) {
    targets.forEach((t, k) => {
      const y = formAt(oi[k], Y, r * m);
      curve.push({ [x]: X[r], value: single ? y : signedMiss(t, y), output: t.output, y });
    });
  }
  const vals = curve.map((c) => c.value as number).filter(Number.isFinite);
  const yMin = Math.min(...vals),
    yMax = Math.max(...vals);
  // the target band: [lo − tol, hi + tol] for one target (clipped to what the curve spans), the zero band for several
  const band = single
    ? (() => {
        const t = targets[0];
        const pad = 0.05 * (yMax - yMin || 1);
        return [{ b0: t.lo === null ? Math.min(yMin, t.hi!) - pad : t.lo - t.tolerance, b1: t.hi === null ? Math.max(yMax, t.lo!) + pad : t.hi + t.tolerance, label: `target: ${targetText(t)}` }];
      })()
    : [{ b0: -Math.max(...targets.map((t) => t.tolerance)), b1: Math.max(...targets.map((t) => t.tolerance)), label: 'targets met (within tolerance)' }];
  const lineValue = single ? targets[0].lo ?? targets[0].hi : 0;
  const marks = pts.map((p, i) => {
    const t = targets[0];
    const y = single ? targetValueAt(p.s, t) : p.s.residuals[t.output];
    return { [x]: p.s.unknowns[x], value: y, role: p.role, label: `${x} = ${fmt(p.s.unknowns[x])}`, id: i + 1 };
  });
  const proof = boxes.map((b) => ({ x0: Math.max(lo, b.lo[xi]), x1: Math.min(hi, b.hi[xi]), proof: b.proof }));
  const xEnc = { field: x, type: 'quantitative', title: x, scale: { domain: [lo, hi], nice: false, zero: false } };
  const yScale = { zero: false, nice: true };
  const layers: Record<string, unknown>[] = [];
  if (proof.length) {
    layers.push({
      data: { values: proof },
      mark: { type: 'rect', opacity: 0.35 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', scale: xEnc.scale },
        x2: { field: 'x1' },
        fill: { field: 'proof', type: 'nominal', title: 'proof', scale: { domain: PROOF_DOMAIN, range: PROOF_RANGE }, legend: { orient: 'bottom', labelLimit: 400, columns: 2 } },
      },
    });
  }
  layers.push({
    data: { values: band },
    mark: { type: 'rect', color: '#fdd0a2', opacity: 0.6 },
    encoding: { y: { field: 'b0', type: 'quantitative', scale: yScale }, y2: { field: 'b1' }, tooltip: [{ field: 'label', type: 'nominal' }] },
  });
  if (lineValue !== null) {
    layers.push({ data: { values: [{ v: lineValue, label: band[0].label }] }, mark: { type: 'rule', color: '#e6550d', strokeDash: [6, 3] }, encoding: { y: { field: 'v', type: 'quantitative' } } });
  }
  layers.push({
    data: { values: curve },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: xEnc,
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: yScale },
      stroke: { field: 'output', type: 'nominal', title: single ? 'output' : 'target', legend: { orient: 'right' } },
    },
  });
  if (marks.length) {
    layers.push({
      data: { values: marks },
      mark: { type: 'point', filled: true, size: 70, color: '#d62728' },
      encoding: {
        x: { field: x, type: 'quantitative' },
        y: { field: 'value', type: 'quantitative' },
        shape: { field: 'role', type: 'nominal', title: 'marked', legend: { orient: 'right' } },
        tooltip: [{ field: 'label', type: 'nominal' }],
      },
    });
    layers.push({
      data: { values: marks },
      mark: { type: 'text', dy: -12, fontSize: 11, color: '#d62728' },
      encoding: { x: { field: x, type: 'quantitative' }, y: { field: 'value', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
    });
  }
  return {
    $schema: SCHEMA,
    title: ctx.title,
    width,
    height,
    usermeta: { netinvert: { kind: 'one-unknown', unknowns: ctx.vars } },
    layer: layers,
    resolve: { scale: { fill: 'independent' } },
  };
}

/**
 * Marching squares on one grid of values f (rows = y, cols = x, (n+1)² nodes): the segments of
 * f = 0, linearly interpolated along cell edges (Lorensen & Cline 1987, in 2-D). Saddle cells
 * are split by the centre value.
 */
export function zeroContour(f: Float64Array, n: number, xs: Float64Array, ys: Float64Array): [number, number, number, number][] {
  const segs: [number, number, number, number][] = [];
  const at = (i: number, j: number) => f[j * (n + 1) + i];
  const cross = (xa: number, ya: number, fa: number, xb: number, yb: number, fb: number): [number, number] => {
    const t = fa / (fa - fb);
    return [xa + t * (xb - xa), ya + t * (yb - ya)];
  };
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const f00 = at(i, j),
        f10 = at(i + 1, j),
        f11 = at(i + 1, j + 1),
        f01 = at(i, j + 1);
      if (![f00, f10, f11, f01].every(Number.isFinite)) continue;
      const x0 = xs[i],
        x1 = xs[i + 1],
        y0 = ys[j],
        y1 = ys[j + 1];
      // crossings on the 4 edges, in order bottom, right, top, left
      const pts: [number, number][] = [];
      if (f00 > 0 !== f10 > 0) pts.push(cross(x0, y0, f00, x1, y0, f10));
      if (f10 > 0 !== f11 > 0) pts.push(cross(x1, y0, f10, x1, y1, f11));
      if (f11 > 0 !== f01 > 0) pts.push(cross(x1, y1, f11, x0, y1, f01));
      if (f01 > 0 !== f00 > 0) pts.push(cross(x0, y1, f01, x0, y0, f00));
      if (pts.length === 2) segs.push([pts[0][0], pts[0][1], pts[1][0], pts[1][1]]);
      else if (pts.length === 4) {
        const centre = 0.25 * (f00 + f10 + f11 + f01);
        // pair each crossing with its neighbour so that the centre's side stays connected
        if (centre > 0 === f00 > 0) {
          segs.push([pts[0][0], pts[0][1], pts[1][0], pts[1][1]], [pts[2][0], pts[2][1], pts[3][0], pts[3][1]]);
        } else {
          segs.push([pts[0][0], pts[0][1], pts[3][0], pts[3][1]], [pts[1][0], pts[1][1], pts[2][0], pts[2][1]]);
        }
      }
    }
  }
  return segs;
}

function twoUnknowns(ctx: Ctx, n: number): PlotSpec {
  const { model, result, width, height } = ctx;
  const [xa, ya] = ctx.vars;
  const bx = boundsOf(result, xa),
    by = boundsOf(result, ya);
  const xi = result.query.bounds.findIndex((b) => b.input === xa),
    yi = result.query.bounds.findIndex((b) => b.input === ya);
  const targets = result.query.targets;
  const net = model.network;
  const oi = targets.map((t) => formOf(net, t));
  const m = net.nOut;
  // nodes: (n+1)² points, the cell corners; cells are coloured by the worst miss at their centre
  const xs = new Float64Array(n + 1),
    ys = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    xs[i] = i === n ? bx.hi : bx.lo + ((bx.hi - bx.lo) * i) / n;
    ys[i] = i === n ? by.hi : by.lo + ((by.hi - by.lo) * i) / n;
  }
  const U = new Float64Array(2 * n * n);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      U[2 * (j * n + i)] = 0.5 * (xs[i] + xs[i + 1]);
      U[2 * (j * n + i) + 1] = 0.5 * (ys[j] + ys[j + 1]);
    }
  const Yc = evaluateAt(model, result, ctx.fixed, [xa, ya], U, n * n);
  const cells: Record<string, unknown>[] = [];
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      let miss = 0;
      targets.forEach((t, k) => {
        miss = Math.max(miss, Math.abs(signedMiss(t, formAt(oi[k], Yc, (j * n + i) * m))));
      });
      cells.push({ x0: xs[i], x1: xs[i + 1], y0: ys[j], y1: ys[j + 1], [xa]: U[2 * (j * n + i)], [ya]: U[2 * (j * n + i) + 1], miss });
    }
  const N = new Float64Array(2 * (n + 1) * (n + 1));
  for (let j = 0; j <= n; j++)
    for (let i = 0; i <= n; i++) {
      N[2 * (j * (n + 1) + i)] = xs[i];
      N[2 * (j * (n + 1) + i) + 1] = ys[j];
    }
  const Yn = evaluateAt(model, result, ctx.fixed, [xa, ya], N, (n + 1) * (n + 1));
  // level sets: each finite end of each target (an equality has one, a range two)
  const level: Record<string, unknown>[] = [];
  const f = new Float64Array((n + 1) * (n + 1));
  targets.forEach((t, k) => {
    const ends = t.kind === 'eq' ? [t.lo!] : [t.lo, t.hi].filter((v): v is number => v !== null);
    for (const c of ends) {
      for (let p = 0; p < f.length; p++) f[p] = formAt(oi[k], Yn, p * m) - c;
      for (const [a, b, c2, d] of zeroContour(f, n, xs, ys)) level.push({ x0: a, y0: b, x1: c2, y1: d, level: `${t.output} = ${fmt(c)}` });
    }
  });
  const pts = markedPoints(result).filter((p) => onSlice(ctx, p.s));
  const marks = pts.map((p, i) => ({ [xa]: p.s.unknowns[xa], [ya]: p.s.unknowns[ya], role: p.role, label: `(${fmt(p.s.unknowns[xa])}, ${fmt(p.s.unknowns[ya])})`, id: i + 1 }));
  const boxes = (ctx.sliced ? [] : proofBoxes(result)).map((b) => ({
    x0: Math.max(bx.lo, b.lo[xi]),
    x1: Math.min(bx.hi, b.hi[xi]),
    y0: Math.max(by.lo, b.lo[yi]),
    y1: Math.min(by.hi, b.hi[yi]),
    proof: b.proof,
  }));
  const xScale = { domain: [bx.lo, bx.hi], nice: false, zero: false },
    yScale = { domain: [by.lo, by.hi], nice: false, zero: false };
  const maxMiss = Math.max(...cells.map((c) => c.miss as number));
  const layers: Record<string, unknown>[] = [
    {
      data: { values: cells },
      mark: { type: 'rect', strokeWidth: 0 },
      encoding: {
        x: { field: 'x0', type: 'quantitative', title: xa, scale: xScale },
        x2: { field: 'x1' },
        y: { field: 'y0', type: 'quantitative', title: ya, scale: yScale },
        y2: { field: 'y1' },
        fill: {
          field: 'miss',
          type: 'quantitative',
          title: targets.length === 1 ? `miss |${targets[0].output} − target|` : 'worst miss',
          scale: { scheme: 'viridis', type: 'sqrt', domain: [0, maxMiss || 1], reverse: true },
          legend: { orient: 'right' },
        },
      },
    },
  ];
  if (boxes.length) {
    layers.push({
      data: { values: boxes },
      mark: { type: 'rect', fillOpacity: 0.25, strokeWidth: 0.8, strokeOpacity: 0.9 },
      encoding: {
        x: { field: 'x0', type: 'quantitative' },
        x2: { field: 'x1' },
        y: { field: 'y0', type: 'quantitative' },
        y2: { field: 'y1' },
        stroke: { field: 'proof', type: 'nominal', title: 'proof', scale: { domain: PROOF_DOMAIN, range: PROOF_RANGE }, legend: { orient: 'bottom', labelLimit: 400, columns: 2 } },
        color: { field: 'proof', type: 'nominal', scale: { domain: PROOF_DOMAIN, range: PROOF_RANGE }, legend: null },
      },
    });
  }
  if (level.length) {
    layers.push({
      data: { values: level },
      mark: { type: 'rule', strokeWidth: 1.6, color: '#e6550d' },
      encoding: {
        x: { field: 'x0', type: 'quantitative' },
        y: { field: 'y0', type: 'quantitative' },
        x2: { field: 'x1' },
        y2: { field: 'y1' },
        strokeDash: { field: 'level', type: 'nominal', title: 'level set', legend: { orient: 'right' } },
      },
    });
  }
  if (marks.length) {
    layers.push({
      data: { values: marks },
      mark: { type: 'point', filled: true, size: 60, color: '#d62728', stroke: 'white', strokeWidth: 0.8 },
      encoding: {
        x: { field: xa, type: 'quantitative' },
        y: { field: ya, type: 'quantitative' },
        shape: { field: 'role', type: 'nominal', title: 'marked', legend: { orient: 'right' } },
        tooltip: [{ field: 'label', type: 'nominal' }],
      },
    });
    if (marks.length <= 12) {
      layers.push({
        data: { values: marks },
        mark: { type: 'text', dy: -10, fontSize: 10, color: '#d62728' },
        encoding: { x: { field: xa, type: 'quantitative' }, y: { field: ya, type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      });
    }
  }
  return {
    $schema: SCHEMA,
    title: ctx.title,
    width,
    height,
    usermeta: { netinvert: { kind: 'two-unknowns', unknowns: ctx.vars, grid: n } },
    layer: layers,
    resolve: { scale: { fill: 'independent', stroke: 'independent', color: 'independent' } },
  };
}

function manyUnknowns(ctx: Ctx): PlotSpec {
  const { result, width, height } = ctx;
  const pts = markedPoints(result);
  const rows: Record<string, unknown>[] = [];
  const ends: Record<string, unknown>[] = [];
  ctx.vars.forEach((v, order) => {
    const { lo, hi } = boundsOf(result, v);
    ends.push({ unknown: v, order, pos: 0, label: fmt(lo) }, { unknown: v, order, pos: 1, label: fmt(hi) });
    pts.forEach((p, i) => {
      const val = p.s.unknowns[v];
      rows.push({ unknown: v, order, pos: hi > lo ? (val - lo) / (hi - lo) : 0.5, value: val, point: `${p.role} ${i + 1}`, role: p.role });
    });
  });
  const bars: Record<string, unknown>[] = [];
  pts.forEach((p, i) => {
    for (const t of result.query.targets) bars.push({ target: t.output, point: `${p.role} ${i + 1}`, residual: p.s.residuals[t.output], tolerance: t.tolerance });
  });
  const pointOrder = pts.map((p, i) => `${p.role} ${i + 1}`);
  const tol = result.query.targets.map((t) => ({ target: t.output, tolerance: t.tolerance }));
  const xOrder = { field: 'unknown', type: 'nominal', sort: ctx.vars, title: 'unknown', axis: { labelAngle: 0 } };
  const parallel = {
    width,
    height,
    title: `${pts.length ? `${pts.length} ${pts[0].role}${pts.length === 1 ? '' : 's'}` : 'no point to show'} across the box`,
    layer: [
      { data: { values: ctx.vars.map((v) => ({ unknown: v })) }, mark: { type: 'rule', color: '#bbb' }, encoding: { x: xOrder } },
      {
        data: { values: rows },
        mark: { type: 'line', point: true, opacity: 0.8 },
        encoding: {
          x: xOrder,
          y: { field: 'pos', type: 'quantitative', scale: { domain: [0, 1] }, title: 'position in the box (0 = lower bound, 1 = upper bound)' },
          detail: { field: 'point', type: 'nominal' },
          color: { field: pts.length <= 10 ? 'point' : 'role', type: 'nominal', title: 'point', sort: pointOrder, legend: { orient: 'right' } },
          order: { field: 'order', type: 'quantitative' },
          tooltip: [{ field: 'point' }, { field: 'unknown' }, { field: 'value', type: 'quantitative', format: '.6g' }],
        },
      },
      {
        data: { values: ends },
        mark: { type: 'text', dy: 0, dx: 4, align: 'left', fontSize: 10, color: '#555' },
        encoding: { x: xOrder, y: { field: 'pos', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
  const barChart = {
    width,
    height: Math.round(height * 0.6),
    title: 'residual of each target (output − target; 0 inside a range); ticks: ± tolerance',
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'target', type: 'nominal', title: 'target output', axis: { labelAngle: 0 } },
          xOffset: { field: 'point', type: 'nominal' },
          y: { field: 'residual', type: 'quantitative', title: 'residual' },
          color: { field: 'point', type: 'nominal', sort: pointOrder },
          tooltip: [{ field: 'point' }, { field: 'target' }, { field: 'residual', type: 'quantitative', format: '.3e' }],
        },
      },
      {
        data: { values: tol.flatMap((t) => [{ ...t, v: t.tolerance }, { ...t, v: -t.tolerance }]) },
        mark: { type: 'tick', color: '#e6550d', thickness: 2 },
        encoding: { x: { field: 'target', type: 'nominal' }, y: { field: 'v', type: 'quantitative' } },
      },
    ],
  };
  return {
    $schema: SCHEMA,
    title: ctx.title,
    usermeta: { netinvert: { kind: 'many-unknowns', unknowns: ctx.vars } },
    vconcat: [parallel, barChart],
  };
}
