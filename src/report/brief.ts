/** Human-readable reports of a SolveResult: briefReport (what the CLI prints) and fullReport (--verbose). */
import type { CertifiedResult } from '../certify/certify.ts';
import type { Explanation, Solution, SolveResult } from '../solve/result.ts';
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
      // a discrete unknown (api/discrete.ts) says which kind, not the bound its branch pinned it to
      const dv = r.discrete?.variables.find((d) => d.inputs.includes(k));
      const how = dv ? ` (${dv.kind === 'one-hot' ? `one-hot ${dv.name}` : dv.kind})` : ab ? ` (at ${ab} bound)` : '';
      rows.push([k, fmt(v), `solved${how}`]);
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
  if (s.plausibility !== undefined) extra.push(`plausibility ${fmt(s.plausibility)} (Mahalanobis distance to the prior; smaller: more plausible)`);
  if (s.nearestSample !== undefined) extra.push(`nearest sample row ${fmt(s.nearestSample)}`);
  if (s.localError !== undefined) extra.push(`local error ${fmt(s.localError)} (the model's likely error here over its typical one; smaller: more trustworthy)`);
  if (s.proof) extra.push('proven unique in its box');
  lines.push(indent(extra.join(', ')));
  if (s.changed) lines.push(indent(`changed: ${s.changed.count}${s.changed.count ? ` (${s.changed.inputs.join(', ')})` : ' (the reference itself)'}`));
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
  out.push(...counterfactualLines(r));
  const why = whyText(r);
  if (why) out.push(why);
  out.push(`complete: ${r.complete}${r.status === 'best-compromise' || r.status === 'infeasible' ? `, proven: ${r.proven}` : ''}`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

/** The counterfactual record (--sparse, --diverse, --closest-to --prove) in words. */
function counterfactualLines(r: SolveResult): string[] {
  const c = r.counterfactual;
  if (!c) return [];
  const out: string[] = [];
  const norm = r.query.distance ? { l2: 'L2', l1: 'L1', linf: 'L∞' }[r.query.distance] : '';
  if (c.distanceLowerBound) {
    const b = c.distanceLowerBound;
    out.push(
      `proven: no input closer to the reference than ${fmt(b.bound)} (${{ l2: 'L2', l1: 'L1', linf: 'L∞' }[b.norm]}) meets the targets` +
        (b.method === 'milp' ? ' (MILP bound, up to HiGHS\'s tolerances)' : ` (branch-and-bound, ${plural(b.boxes ?? 0, 'box')})`),
    );
  }
  if (c.sparse && c.sparse.changed >= 0) {
    out.push(`sparsity: ${plural(c.sparse.changed, 'input')} changed, ${c.sparse.proven ? 'proven the fewest' : 'not proven the fewest'} (${c.sparse.method === 'milp' ? 'MILP' : `${plural(c.sparse.subsetsTried, 'subset')} searched`})`);
  }
  if (c.diverse) {
    const d = c.diverse;
    out.push(`diversity: ${d.k} of ${d.asked} asked, within ${norm} distance ${fmt(d.radius)} of the reference; smallest distance between two: ${fmt(d.minPairwise)} (${plural(d.candidates, 'candidate')})`);
  }
  return out;
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

/** What to say of a target: "= 30", "≥ 2", "in [0, 1]" (its query record, by the form's text). */
function wantText(r: SolveResult, name: string): string {
  const t = r.query.targets.find((x) => x.output === name);
  return t ? targetText(t) : '';
}

/** The inputs the ranges are over: "with a = 3 and b in [0, 10]" (at most MAX_CONTEXT of each kind). */
function contextText(r: SolveResult): string {
  const MAX_CONTEXT = 4;
  const given = Object.entries(r.query.given);
  const parts = [
    ...given.slice(0, MAX_CONTEXT).map(([k, v]) => `${k} = ${fmt(v)}`),
    ...r.query.bounds.slice(0, MAX_CONTEXT).map((b) => `${b.input} in [${fmt(b.lo)}, ${fmt(b.hi)}]`),
    ...(r.query.constraints ?? []).map((c) => c.constraint),
  ];
  const more = Math.max(0, given.length - MAX_CONTEXT) + Math.max(0, r.query.bounds.length - MAX_CONTEXT);
  if (more) parts.push(`${plural(more, 'more input')}`);
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts.join('');
}

/** "b = 10, c = 2" (at most MAX_CONTEXT values; --json has them all). */
function pointText(p: Record<string, number>): string {
  const MAX_CONTEXT = 4;
  const e = Object.entries(p);
  return e.slice(0, MAX_CONTEXT).map(([k, v]) => `${k} = ${fmt(v)}`).join(', ') + (e.length > MAX_CONTEXT ? ', …' : '');
}

/**
 * The explanation of an answer in plain words (explanationText), and for a disjunction every
 * other clause's reachable ranges too (each clause carries its own explanation); '' when none.
 * The brief report and batch's why column both use it.
 */
export function whyText(r: SolveResult): string {
  const parts: string[] = [];
  if (r.explanation) parts.push(explanationText(r, r.explanation));
  const answered = r.query.clause?.index;
  for (const c of r.clauses ?? []) {
    if (!c.explanation || c.index === answered) continue;
    const lines = Object.entries(c.explanation.reachable).map(([name, g]) => {
      const proof = g.proven ? `proven within [${fmt(g.lo)}, ${fmt(g.hi)}]` : 'sampled, not proven';
      return `${name} can reach [${fmt(g.attainedLo)}, ${fmt(g.attainedHi)}] (${proof})`;
    });
    if (c.explanation.conflict?.proven && c.explanation.conflict.targets.length) {
      const t = c.explanation.conflict.targets;
      lines.push(`conflict: ${t.length === 1 ? `${t[0]} cannot be met` : `${t.join(', ')} cannot be met together`} (proven)`);
    }
    parts.push([`why clause ${c.index + 1} is not met:`, ...lines.map((l) => indent(l))].join('\n'));
  }
  return parts.join('\n');
}

/** The explanation in plain words: ranges, what conflicts, and the least change that would do. */
export function explanationText(r: SolveResult, e: Explanation): string {
  const ctx = contextText(r);
  const lines: string[] = [`why (with ${ctx}):`];
  for (const [name, g] of Object.entries(e.reachable)) {
    const reach = `[${fmt(g.attainedLo)}, ${fmt(g.attainedHi)}]`;
    const proof = g.proven
      ? g.tight
        ? `proven: it stays within [${fmt(g.lo)}, ${fmt(g.hi)}]`
        : `proven only that it stays within [${fmt(g.lo)}, ${fmt(g.hi)}]: the search for its ends was cut short`
      : 'sampled, not proven';
    lines.push(`${name} can reach ${reach} (${proof}); you asked for ${wantText(r, name)}`);
  }
  for (const x of e.relaxations) {
    const g = e.reachable[x.target];
    const at = x.at ? pointText(x.at) : g ? pointText(x.move === 'lower' ? g.argHi : g.argLo) : '';
    const limit =
      x.provenLimit === null
        ? ''
        : x.gap
          ? `; no input reaches between ${fmt(x.provenLimit)} and the target (proven)`
          : `; no input reaches ${x.move === 'lower' ? 'more' : 'less'} than ${fmt(x.provenLimit)} (proven)`;
    lines.push(`to meet ${x.target}: ${x.move} the target to ${fmt(x.enough)} or ${x.move === 'lower' ? 'below' : 'above'}${at ? ` (reached at ${at})` : ''}${limit}`);
    for (const w of x.widen ?? []) {
      const dom = `${w.input} in [${fmt(w.bounds[0])}, ${fmt(w.bounds[1])}] (its ${w.source === 'default' ? 'default box' : 'training range'})`;
      if (w.reaches === 'yes') lines.push(`or widen ${dom}: the target is reached there, at ${pointText(w.at!)}`);
      else if (w.reaches === 'no')
        lines.push(`widening ${dom} cannot reach it either: there ${x.target} stays within [${fmt(w.lo)}, ${fmt(w.hi)}] (proven)`);
      else lines.push(`widening ${dom}: ${x.target} reaches [${fmt(w.attainedLo)}, ${fmt(w.attainedHi)}] there; not decided whether it reaches the target`);
    }
  }
  const n = Object.keys(e.reachable).length;
  if (n > 1) {
    if (e.reachableAlone.length) lines.push(`reachable on its own: ${e.reachableAlone.join(', ')}`);
    if (e.unreachableAlone.length) lines.push(`out of reach even on its own (proven): ${e.unreachableAlone.join(', ')}`);
    if (e.undecidedAlone.length) lines.push(`not decided on its own: ${e.undecidedAlone.join(', ')}`);
  }
  if (e.conflict && n > 1) {
    const c = e.conflict;
    if (c.proven) {
      const what = c.targets.length === 1 ? `${c.targets[0]} cannot be met` : `${c.targets.join(', ')} cannot be met together`;
      const min =
        c.targets.length === 1 ? '' : c.minimal ? '; drop any one of them and the rest can be met (each proven by a point found)' : '; not proven minimal';
      lines.push(`conflict: ${what} (proven${min})${c.note ? `; ${c.note}` : ''}`);
    } else if (c.note) lines.push(`conflict: ${c.note}`);
  }
  if (e.uniform && n > 1) {
    const u = e.uniform;
    const parts: string[] = [];
    if (u.enough !== undefined) parts.push(`loosening every target by ${fmt(u.enough)} is enough (the closest point found)`);
    if (u.atLeast !== undefined) parts.push(`by less than ${fmt(u.atLeast)} is proven not to be`);
    if (parts.length) lines.push(parts.join('; '));
  }
  for (const note of e.notes) lines.push(`note: ${note}`);
  return [lines[0], ...lines.slice(1).map((l) => indent(l))].join('\n');
}
