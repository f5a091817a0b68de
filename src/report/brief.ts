/** Human-readable reports of a SolveResult: briefReport (what the CLI prints) and fullReport (--verbose). */
import type { CertifiedResult } from '../certify/certify.ts';
import type { Solution, SolveResult } from '../solve/result.ts';
import { formatPercent } from '../numeric/percent.ts';

export function fmt(v: number): string {
  if (v === null || v === undefined) return '—';
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e7) return String(Number(v.toPrecision(10)));
  return v.toExponential(3);
}

function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((s, c) => (s ?? '').padEnd(w[c])).join('  ').trimEnd()).join('\n');
}

function targetText(t: SolveResult['query']['targets'][number]): string {
  switch (t.kind) {
    case 'eq':
      return `= ${fmt(t.lo!)}`;
    case 'range':
      return `in [${fmt(t.lo!)}, ${fmt(t.hi!)}]`;
    case 'ge':
      return `≥ ${fmt(t.lo!)}`;
    default:
      return `≤ ${fmt(t.hi!)}`;
  }
}

function solutionBlock(r: SolveResult, s: Solution, title: string): string {
  const lines: string[] = [title];
  const rows: string[][] = [['input', 'value', '']];
  // in model order (s.inputs is); at most MAX_ROWS given and MAX_ROWS solved ones
  let shownGiven = 0,
    shownSolved = 0,
    hidden = 0;
  for (const [k, v] of Object.entries(s.inputs)) {
    const isGiven = !(k in s.unknowns);
    if (isGiven ? shownGiven >= MAX_ROWS : shownSolved >= MAX_ROWS) {
      hidden++;
      continue;
    }
    if (isGiven) {
      shownGiven++;
      rows.push([k, fmt(v), 'given']);
    } else {
      shownSolved++;
      const ab = s.activeBounds[k];
      rows.push([k, fmt(v), `solved${ab ? ` (at ${ab} bound)` : ''}`]);
    }
  }
  lines.push(indent(table(rows)));
  if (hidden) lines.push(indent(`… ${plural(hidden, 'more input')} (use --json for all)`));
  const orows: string[][] = [['output', 'network', 'target', 'residual']];
  const tgt = new Map(r.query.targets.map((t) => [t.output, t]));
  const outs = Object.entries(s.outputs);
  // targeted outputs first, then free ones up to the row limit
  const shown = [...outs.filter(([k]) => tgt.has(k)), ...outs.filter(([k]) => !tgt.has(k))].slice(0, Math.max(MAX_ROWS, tgt.size));
  for (const [k, v] of shown) {
    const t = tgt.get(k);
    orows.push([k, fmt(v), t ? targetText(t) : '(free)', t ? fmt(s.residuals[k]) : '']);
  }
  lines.push(indent(table(orows)));
  if (outs.length > shown.length) lines.push(indent(`… ${plural(outs.length - shown.length, 'more output')} (use --json for all)`));
  // linear forms of outputs: each constraint's value, target and slack (≥ 0 inside)
  // and linear constraints among the inputs (--subject-to): value, bounds and slack the same way
  const forms = r.query.targets.some((t) => t.terms);
  if ((forms || r.query.constraints?.length) && s.constraints) {
    const crows: string[][] = [['constraint', 'value', 'target', 'slack', '']];
    for (const c of s.constraints) {
      if (c.on !== 'input' && !forms) continue;
      const t = c.on === 'input' ? undefined : r.query.targets.find((x) => x.output === c.target);
      const range = c.on === 'input' ? sidesText(c.lo, c.hi) : t ? targetText(t) : '';
      crows.push([c.on === 'input' ? formOf(c.target) : c.target, fmt(c.value), range, fmt(c.slack), c.met ? 'met' : 'MISSED']);
    }
    lines.push(indent(table(crows)));
  }
  const extra = [`max miss ${fmt(s.maxMiss)}`, `condition ${fmt(s.conditionNumber)}`];
  if (s.distance !== undefined) extra.push(`distance ${fmt(s.distance)}`);
  if (s.proof) extra.push('proven unique in its box');
  lines.push(indent(extra.join(', ')));
  if (s.cluster) lines.push(indent(clusterText(s)));
  return lines.join('\n');
}

/** The form of a constraint's text ("a - b >= 1" → "a - b"). */
function formOf(text: string): string {
  const m = /^(.*?)\s*(=|>=|<=)\s*[^=<>]*$/.exec(text);
  return m ? m[1] : text;
}

/** A constraint's sides as a target column: "= v", ">= lo", "<= hi", "in [lo, hi]". */
function sidesText(lo: number | null, hi: number | null): string {
  if (lo !== null && hi !== null) return lo === hi ? `= ${fmt(lo)}` : `in [${fmt(lo)}, ${fmt(hi)}]`;
  return lo !== null ? `>= ${fmt(lo)}` : `<= ${fmt(hi!)}`;
}

/** "1 box", "2 boxes": a count and its noun, singular or plural. */
export function plural(n: number, noun: string, nouns = /(s|x|ch|sh)$/.test(noun) ? `${noun}es` : `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** A solution that stands for a cluster: its extent, and whether every point of it is proven to meet the targets. */
function clusterText(s: Solution): string {
  const ext = Object.entries(s.cluster!.extent)
    .map(([k, [lo, hi]]) => `${k} in [${fmt(lo)}, ${fmt(hi)}]`)
    .join(', ');
  return s.cluster!.everyPoint
    ? `a solution interval: every ${ext} meets the targets (proven); the point above is its best`
    : `a cluster of solutions that could not be told apart (a tangent or flat target), all within ${ext}; the point above is its best`;
}

/** Inputs or outputs listed per solution in the text report; --json has them all. */
const MAX_ROWS = 16;

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}

export function briefReport(r: CertifiedResult): string {
  const out: string[] = [];
  const head = `${r.status.toUpperCase()}: ${r.message}`;
  out.push(head);
  if (r.status === 'solved') {
    const max = 10;
    // the closest solution is listed first (invert orders it so); say so on its title
    const closestFirst = r.closest !== undefined && r.solutions.length > 0 && sameUnknowns(r.solutions[0], r.closest);
    const norm = r.query.distance ? `${{ l2: 'L2', l1: 'L1', linf: 'L∞' }[r.query.distance]} ` : '';
    r.solutions.slice(0, max).forEach((s, i) => {
      let title =
        r.solutionSet.kind === 'continuum'
          ? `representative ${i + 1} of ${r.solutions.length}`
          : r.solutions.length > 1
            ? `solution ${i + 1} of ${r.solutions.length}`
            : 'solution';
      if (i === 0 && closestFirst) title += ` — the closest to the reference (${norm}distance ${fmt(r.closest!.distance!)})`;
      out.push(solutionBlock(r, s, title));
    });
    if (r.solutions.length > max) out.push(`  … ${r.solutions.length - max} more (use --json)`);
    if (r.closest && !closestFirst) out.push(solutionBlock(r, r.closest, 'closest to the reference'));
  } else if (r.best) {
    out.push(solutionBlock(r, r.best, r.status === 'unknown' ? 'best point found so far' : 'closest point found'));
  }
  if (r.lowerBound !== undefined) out.push(`proven lower bound on the worst-output miss: ${fmt(r.lowerBound)}`);
  out.push(`complete: ${r.complete}${r.status === 'best-compromise' || r.status === 'infeasible' ? `, proven: ${r.proven}` : ''}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

function sameUnknowns(a: Solution, b: Solution): boolean {
  const ka = Object.keys(a.unknowns);
  return ka.length === Object.keys(b.unknowns).length && ka.every((k) => a.unknowns[k] === b.unknowns[k]);
}

export function fullReport(r: CertifiedResult): string {
  const out = [briefReport(r), ''];
  out.push(`method: ${r.method}   model: ${r.model.name ?? ''} ${r.model.hash}`);
  out.push(
    `tolerance: |y − t| ≤ ${fmt(r.query.tolerance.atol)} + ${fmt(r.query.tolerance.rtol)}·|t|` +
      (r.query.tolerance.float32Floor !== undefined
        ? ` (float32 model: its own framework agrees with this float64 evaluation only to about ${fmt(r.query.tolerance.float32Floor)}, the floor for both)`
        : ''),
  );
  out.push('bounds:');
  out.push(indent(table([['input', 'lo', 'hi', 'source'], ...r.query.bounds.map((b) => [b.input, fmt(b.lo), fmt(b.hi), b.source])])));
  if (r.query.constraints?.length) {
    out.push('subject to (linear constraints among the inputs, each met within its tolerance):');
    out.push(indent(table([['constraint', 'tolerance'], ...r.query.constraints.map((c) => [c.constraint, fmt(c.tolerance)])])));
  }
  if (r.excludedFraction !== undefined) out.push(`box proven root-free: ${formatPercent(r.excludedFraction)}`);
  if (r.certification) {
    const c = r.certification;
    out.push(
      `branch-and-bound: ${plural(c.boxes, 'box')}, ${formatPercent(c.excludedFraction)} of the volume proven empty, ${plural(c.rootBoxes, 'proven root box', 'proven root boxes')}, ${c.undecidedBoxes} undecided${c.budgetHit ? ' (ran out of budget before finishing)' : ''}`,
    );
  }
  if (r.clauses) {
    out.push(`disjunction: ${plural(r.query.clause?.of ?? r.clauses.length, 'clause')}, searched in order:`);
    for (const c of r.clauses) {
      out.push(indent(`clause ${c.index + 1}: ${c.targets.join(', ')} — ${c.status}${c.proven ? ' (proven)' : ''}${c.certificate ? ', certificate' : ''}`));
    }
  }
  if (r.certificate) out.push(`certificate: ${r.certificate.claim}, ${plural(r.certificate.excluded.length, 'excluded box', 'excluded boxes')} (verify with verifyCertificate)`);
  const s = r.stats;
  out.push(
    `stats: ${plural(s.starts, 'start')}, ${plural(s.iterations, 'iteration')}, ${plural(s.evaluations, 'evaluation')}, ${plural(s.jacobians, 'Jacobian')}, ${s.timeMs.toFixed(2)} ms`,
  );
  return out.join('\n');
}
