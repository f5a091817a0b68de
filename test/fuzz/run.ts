/**
 * The fuzz run: generate cases, ask netinvert (invert, certify, invertMilp), check every claim
 * with the independent oracle, tamper with every certificate. Returns the counts and the
 * violations, each with a reproducer (the net as native JSON, the query, the seed) written to
 * `outDir`.
 *
 * A point the oracle finds against an "infeasible" / "complete" / lower-bound claim is a
 * violation only when the engine's own forward pass agrees with the oracle's at that point
 * (otherwise it is listed as "disputed": one of the two forward passes is wrong).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { certify, createModel, invert, saveNativeModel, verifyCertificate, type InvertResult, type Model } from '../../src/index.ts';
import { makeCase, type FuzzCase } from './generator.ts';
import {
  evalPoint,
  findFeasible,
  findUnlistedRoot,
  judgePoint,
  makeGrid,
  minWorstMiss,
  OracleNet,
  SliceMap,
  toleranceOf,
  type Band,
  type Grid,
  type RootBox,
  type Slice,
  type Witness,
} from './oracle.ts';
import { judgeStatement, sliceKey, TAMPERINGS, type CertJson } from './tamper.ts';

export interface FuzzOptions {
  /** Number of generated cases (queries). */
  queries: number;
  seed: number;
  /** First case index (to resume or shard a run). */
  start?: number;
  /** Where reproducers go (created on the first violation). */
  outDir: string;
  /** Branch-and-bound box budget per certify call. */
  maxBoxes?: number;
  /** Work budget per call (point evaluations). */
  maxEvaluations?: number;
  /** Wall-clock limit per call, seconds (the CLI run only; tests budget by evaluations). */
  timeLimit?: number;
  /** Run invertMilp on the piecewise-linear nets (every `milpEvery`-th such case). */
  milp?: boolean;
  milpEvery?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface Violation {
  kind: string;
  case: string;
  detail: string;
  witness?: Witness;
  reproducer?: string;
}

export interface FuzzReport {
  cases: number;
  /** Claims checked, by kind. */
  claims: Record<string, number>;
  /** Tampered certificates: rejected, accepted but still true (oracle), not applicable. */
  tamper: { rejected: number; stillValid: number; notApplicable: number; byKind: Record<string, { rejected: number; stillValid: number }> };
  statuses: Record<string, number>;
  /** Things worth knowing that are not claims (not counted). */
  notes: Record<string, number>;
  /** Certificates seen, by format version. */
  certificateVersions: Record<string, number>;
  queryKinds: Record<string, number>;
  /** Solutions within the rounding bound of the tolerance (neither met nor missed clearly). */
  borderline: number;
  violations: Violation[];
  /** Oracle and engine disagree at a point (one forward pass is wrong): listed, not counted as claims failing. */
  disputed: Violation[];
  elapsedMs: number;
}

type Call = 'invert' | 'certify' | 'invertMilp';

/** Most solutions of one result checked (and counted). */
const MAX_SOLUTIONS = 20;

let milpModule: typeof import('../../src/milp.ts') | null = null;

function inc(m: Record<string, number>, k: string, by = 1): void {
  m[k] = (m[k] ?? 0) + by;
}

/** The engine's outputs at the slice point u (for confirming a witness). */
function engineOutputs(model: Model, on: OracleNet, slice: Slice, u: number[]): Float64Array {
  const sm = new SliceMap(on, slice, []);
  const xo = sm.full(u);
  const net = model.network;
  const x = new Float64Array(net.nIn);
  on.inputNames.forEach((name, i) => {
    x[net.inputIndex(name)] = xo[i];
  });
  const Y = net.evaluate(x, 1);
  const out = new Float64Array(on.nOut);
  on.outputNames.forEach((name, i) => {
    out[i] = Y[net.outputIndex(name)];
  });
  return out;
}

/** Does the engine's forward pass also see y − t change sign between the two points? */
function engineSignChange(model: Model, on: OracleNet, slice: Slice, band: Band, [a, b]: [number[], number[]]): boolean {
  const o = on.outputIndex(band.output);
  const ya = engineOutputs(model, on, slice, a)[o] - (band.lo as number),
    yb = engineOutputs(model, on, slice, b)[o] - (band.lo as number);
  return (ya < 0 && yb > 0) || (ya > 0 && yb < 0);
}

/** Does the engine agree that the witness meets the bands (with the oracle's rounding margin)? */
function engineMeets(model: Model, on: OracleNet, slice: Slice, bands: Band[], w: Witness, how: 'margin' | 'as-computed'): boolean {
  const y = engineOutputs(model, on, slice, w.u);
  return bands.every((b) => {
    const o = on.outputIndex(b.output);
    const v = y[o];
    const miss = b.lo !== null && v < b.lo ? b.lo - v : b.hi !== null && v > b.hi ? v - b.hi : 0;
    return miss <= b.tolerance - (how === 'margin' ? 2 * w.err[o] : 0);
  });
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const t0 = performance.now();
  const report: FuzzReport = {
    cases: 0,
    claims: {},
    tamper: { rejected: 0, stillValid: 0, notApplicable: 0, byKind: {} },
    statuses: {},
    certificateVersions: {},
    notes: {},
    queryKinds: {},
    borderline: 0,
    violations: [],
    disputed: [],
    elapsedMs: 0,
  };
  const start = opts.start ?? 0;
  let milpSeen = 0;
  for (let i = start; i < start + opts.queries; i++) {
    const fc = makeCase(opts.seed, i);
    report.cases++;
    inc(report.queryKinds, fc.fq.kind);
    await runCase(fc, opts, report, () => milpSeen++);
    if (opts.log && (i - start + 1) % 25 === 0) {
      const n = Object.values(report.claims).reduce((a, b) => a + b, 0);
      opts.log(`  ${i - start + 1}/${opts.queries} cases, ${n} claims, ${report.violations.length} violations, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  report.elapsedMs = performance.now() - t0;
  return report;
}

async function runCase(fc: FuzzCase, opts: FuzzOptions, report: FuzzReport, milpCounter: () => number): Promise<void> {
  const id = `seed ${fc.seed} case ${fc.index}`;
  const model = createModel(fc.net.graph, { name: `fuzz-${fc.seed}-${fc.index}` });
  const on = new OracleNet(fc.net.graph);
  const { query } = fc.fq;
  const { atol, rtol } = fc.fq;
  const given = query.given ?? {};
  const unknowns = on.inputNames.filter((n) => !(n in given));
  const slice: Slice = {
    given,
    unknowns,
    lo: unknowns.map((u) => query.bounds![u][0]),
    hi: unknowns.map((u) => query.bounds![u][1]),
  };
  const bands: Band[] = Object.entries(query.want).map(([output, spec]) => {
    if (typeof spec === 'number') return { output, lo: spec, hi: spec, tolerance: toleranceOf('eq', spec, atol, rtol) };
    if ('eq' in spec) return { output, lo: spec.eq, hi: spec.eq, tolerance: toleranceOf('eq', spec.eq, atol, rtol) };
    if ('range' in spec) return { output, lo: spec.range[0], hi: spec.range[1], tolerance: atol };
    if ('ge' in spec) return { output, lo: spec.ge, hi: null, tolerance: atol };
    return { output, lo: null, hi: spec.le, tolerance: atol };
  });
  let grid: Grid | null = null;
  const getGrid = (): Grid => (grid ??= makeGrid(on, slice));
  let written = '';
  const violation = (kind: string, call: Call, detail: string, witness?: Witness, disputed = false): void => {
    if (!written) {
      try {
        mkdirSync(opts.outDir, { recursive: true });
        const base = join(opts.outDir, `seed${fc.seed}-case${fc.index}`);
        writeFileSync(`${base}.model.json`, saveNativeModel(model));
        writeFileSync(
          `${base}.query.json`,
          JSON.stringify({ seed: fc.seed, case: fc.index, call, kind: fc.fq.kind, family: fc.net.family, query, atol, rtol, options: callOptions(call, fc, opts) }, null, 2),
        );
        written = base;
      } catch (e) {
        written = `(could not write reproducer: ${(e as Error).message})`;
      }
    }
    const v: Violation = { kind, case: `${id} (${call})`, detail, ...(witness ? { witness } : {}), reproducer: written };
    (disputed ? report.disputed : report.violations).push(v);
  };

  const checkResult = (res: InvertResult, call: Call): void => {
    inc(report.statuses, `${call}:${res.status}`);
    // every solution: a fresh forward pass by the oracle
    if (res.status === 'solved') {
      const sm = new SliceMap(on, slice, bands);
      // at most MAX_SOLUTIONS per result, spread over the list (a plateau can list 10⁵ points;
      // counting them all would inflate the claims)
      const sols = res.solutions.length <= MAX_SOLUTIONS ? res.solutions : res.solutions.filter((_, i) => i % Math.ceil(res.solutions.length / MAX_SOLUTIONS) === 0);
      if (res.solutions.length > 1000) inc(report.notes, 'results listing > 1000 solutions (plateau; checked 20 of each)');
      for (const s of sols) {
        inc(report.claims, 'solution');
        const u = unknowns.map((k) => s.unknowns[k]);
        if (u.some((v, j) => !(v >= slice.lo[j] && v <= slice.hi[j]))) {
          violation('solution-outside-box', call, `solution ${JSON.stringify(s.unknowns)} is outside the box`);
          continue;
        }
        if (Object.entries(given).some(([k, v]) => s.inputs[k] !== v)) violation('solution-given-changed', call, `solution inputs ${JSON.stringify(s.inputs)} do not keep the given values`);
        const p = evalPoint(sm, u);
        const j = judgePoint(sm, p);
        if (j === 'no') {
          const w: Witness = { u, y: p.y, err: p.err, note: 'claimed solution' };
          violation('solution-misses', call, `solution ${JSON.stringify(s.unknowns)} misses: oracle outputs ${JSON.stringify(p.y)} (rounding bound ${JSON.stringify(p.err)})`, w);
        } else if (j === 'borderline') report.borderline++;
      }
    }
    if (res.status === 'infeasible') {
      inc(report.claims, 'infeasible');
      const w = findFeasible(on, slice, bands, getGrid());
      if (w) {
        // beyond the rounding bound: the exact function meets the targets; within it: a
        // violation when the engine's own forward pass also meets them there
        const engine = w.bracket ? engineSignChange(model, on, slice, bands[0], w.bracket) : engineMeets(model, on, slice, bands, w, w.rigorous ? 'margin' : 'as-computed');
        if (w.rigorous || engine) {
          violation('infeasible-false', call, `${res.proven ? 'proven ' : ''}infeasible, but ${w.note} meets every target at ${JSON.stringify(w.u)} (oracle y ${JSON.stringify(w.y)}${engine ? ', engine agrees' : ', ENGINE DISAGREES'})`, w, !engine);
        } else inc(report.notes, 'infeasible where only the oracle (not the engine) meets the targets within its rounding bound');
      }
    }
    if (res.status === 'solved' && res.complete) {
      inc(report.claims, 'complete');
      const eqBands = bands.filter((b) => b.lo !== null && b.lo === b.hi);
      if (eqBands.length === bands.length && bands.length === unknowns.length) {
        const listed: RootBox[] = res.solutions.map((s) => {
          const pb = s.proofBox;
          return pb
            ? { lo: unknowns.map((k) => pb[k][0]), hi: unknowns.map((k) => pb[k][1]) }
            : { lo: unknowns.map((k) => s.unknowns[k]), hi: unknowns.map((k) => s.unknowns[k]) };
        });
        const w = findUnlistedRoot(on, slice, eqBands.map((b) => ({ output: b.output, value: b.lo as number })), listed, getGrid());
        if (w) {
          const y = engineOutputs(model, on, slice, w.u);
          const agree = w.bracket
            ? engineSignChange(model, on, slice, eqBands[0], w.bracket)
            : eqBands.every((b) => {
                const o = on.outputIndex(b.output);
                return Math.abs(y[o] - (b.lo as number)) <= 4 * w.err[o] + 1e-300;
              });
          violation('complete-missed-root', call, `complete list of ${res.solutions.length}, but ${w.note}: ${JSON.stringify(w.u)}`, w, !agree);
        }
      } else {
        // a complete list without a square equality system: every met point must be listed → check
        // that the oracle finds no feasible point away from the listed solutions (only meaningful
        // for isolated solutions, so just record it)
        inc(report.claims, 'complete-nonsquare');
      }
    }
    if (typeof res.lowerBound === 'number' && res.lowerBound > 0) {
      inc(report.claims, 'lower-bound');
      const p = minWorstMiss(on, slice, bands, getGrid());
      const sm = new SliceMap(on, slice, bands);
      const worst = Math.max(...p.miss);
      const err = Math.max(...sm.outIdx.map((o) => p.err[o]));
      if (worst < res.lowerBound - 2 * err) {
        const w: Witness = { u: p.u, y: p.y, err: p.err, note: 'grid + LM' };
        const y = engineOutputs(model, on, slice, p.u);
        const eWorst = Math.max(
          ...bands.map((b) => {
            const v = y[on.outputIndex(b.output)];
            return b.lo !== null && v < b.lo ? b.lo - v : b.hi !== null && v > b.hi ? v - b.hi : 0;
          }),
        );
        violation('lower-bound-false', call, `proven lower bound ${res.lowerBound} on the worst miss, but the oracle reaches ${worst} (engine ${eWorst}) at ${JSON.stringify(p.u)}`, w, !(eWorst < res.lowerBound));
      }
    }
    if (res.certificate) checkCertificate(res.certificate as unknown as CertJson, call);
  };

  const checkCertificate = (cert: CertJson, call: Call): void => {
    inc(report.claims, 'certificate');
    let v;
    try {
      v = verifyCertificate(model, cert as never);
    } catch (e) {
      violation('verifier-threw', call, `verifyCertificate threw on a genuine certificate: ${(e as Error).message}`);
      return;
    }
    if (!v.valid) violation('certificate-rejected', call, `the verifier rejects a genuine ${cert.claim} certificate: ${v.reason}`);
    // format 2 verifiers also check the certificate against the query it should prove (a third
    // argument; format-1 verifiers ignore it)
    inc(report.certificateVersions, String(cert.version));
    if (cert.version !== 1) {
      try {
        const withQuery = (verifyCertificate as unknown as (m: Model, c: unknown, q: unknown) => { valid: boolean; reason: string })(model, cert, { ...query, atol, rtol });
        if (!withQuery.valid) violation('certificate-rejected-for-its-query', call, `the verifier rejects a genuine ${cert.claim} certificate checked against its own query: ${withQuery.reason}`);
      } catch (e) {
        violation('verifier-threw', call, `verifyCertificate(model, cert, query) threw on a genuine certificate: ${(e as Error).message}`);
      }
    }
    const key = sliceKey(cert);
    const sameSlice = (t: CertJson): boolean => sliceKey(t) === key;
    const j = judgeStatement(on, model.hash, cert, sameSlice(cert) ? getGrid() : undefined);
    if (!j.holds) violation('certificate-statement-false', call, `a genuine ${cert.claim} certificate states something false: ${j.why}`, j.witness);
    for (const t of TAMPERINGS) {
      const bad = t.apply(cert);
      if (!bad) {
        report.tamper.notApplicable++;
        continue;
      }
      inc(report.claims, 'tampering');
      const bk = (report.tamper.byKind[t.kind] ??= { rejected: 0, stillValid: 0 });
      let tv;
      try {
        tv = verifyCertificate(model, bad as never);
      } catch (e) {
        violation(`tamper-threw:${t.kind}`, call, `verifyCertificate threw on a tampered certificate (${t.kind}) instead of rejecting it: ${(e as Error).message}`);
        continue;
      }
      if (!tv.valid) {
        report.tamper.rejected++;
        bk.rejected++;
        continue;
      }
      const tj = judgeStatement(on, model.hash, bad, sameSlice(bad) ? getGrid() : undefined);
      if (tj.holds) {
        report.tamper.stillValid++;
        bk.stillValid++;
      } else {
        violation(`tamper-accepted:${t.kind}`, call, `the verifier accepts a tampered ${cert.claim} certificate (${t.kind}) whose statement is false: ${tj.why}`, tj.witness);
      }
    }
  };

  const attempt = async (call: Call, f: () => InvertResult | Promise<InvertResult>): Promise<void> => {
    let res: InvertResult;
    try {
      res = await f();
    } catch (e) {
      violation('threw', call, `${call} threw on a valid query: ${(e as Error).message}`);
      return;
    }
    checkResult(res, call);
  };

  await attempt('invert', () => invert(model, query, callOptions('invert', fc, opts)));
  await attempt('certify', () => certify(model, query, callOptions('certify', fc, opts)));
  if (opts.milp && fc.net.pwl && milpCounter() % (opts.milpEvery ?? 1) === 0) {
    milpModule ??= await import('../../src/milp.ts');
    const m = milpModule;
    await attempt('invertMilp', () => m.invertMilp(model, query, callOptions('invertMilp', fc, opts)));
  }
}

function callOptions(call: Call, fc: FuzzCase, opts: FuzzOptions): Record<string, number> {
  const o: Record<string, number> = { atol: fc.fq.atol, rtol: fc.fq.rtol, seed: fc.index, maxEvaluations: opts.maxEvaluations ?? 200_000 };
  if (call !== 'invert') o.maxBoxes = opts.maxBoxes ?? 5000;
  if (opts.timeLimit !== undefined) o.timeLimit = opts.timeLimit;
  else if (call === 'invertMilp') o.timeLimit = 10;
  return o;
}

/** The report as text: claims by kind, tampering, violations with reproducers, elapsed time. */
export function formatReport(r: FuzzReport, seed: number): string {
  const lines: string[] = [];
  const total = Object.values(r.claims).reduce((a, b) => a + b, 0);
  lines.push(`netinvert fuzz: seed ${seed}, ${r.cases} cases, ${total} claims checked, ${r.violations.length} violations, ${(r.elapsedMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push('claims checked                         count');
  const label: Record<string, string> = {
    solution: 'solutions (fresh forward pass)',
    infeasible: 'infeasible (grid + LM/bisection)',
    complete: 'complete (no unlisted root)',
    'complete-nonsquare': 'complete, non-square (recorded only)',
    'lower-bound': 'best-compromise proven lower bounds',
    certificate: 'certificates verified + statement true',
    tampering: 'tampered certificates',
  };
  for (const [k, v] of Object.entries(r.claims).sort()) lines.push(`  ${(label[k] ?? k).padEnd(37)}${String(v).padStart(6)}`);
  lines.push('');
  lines.push(`tamperings: ${r.tamper.rejected} rejected, ${r.tamper.stillValid} accepted but still true (oracle), ${r.tamper.notApplicable} not applicable`);
  for (const [k, v] of Object.entries(r.tamper.byKind)) lines.push(`  ${k.padEnd(20)} rejected ${String(v.rejected).padStart(5)}   still valid ${String(v.stillValid).padStart(4)}`);
  lines.push('');
  lines.push(`outcomes: ${Object.entries(r.statuses).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`query kinds: ${Object.entries(r.queryKinds).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`borderline solutions (within the rounding bound of the tolerance): ${r.borderline}`);
  for (const [k, v] of Object.entries(r.notes ?? {})) lines.push(`note: ${k}: ${v}`);
  if (r.violations.length) {
    lines.push('');
    lines.push(`VIOLATIONS (${r.violations.length}):`);
    const byKind: Record<string, number> = {};
    for (const v of r.violations) inc(byKind, v.kind);
    lines.push(`  by kind: ${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const v of r.violations.slice(0, 60)) lines.push(`  [${v.kind}] ${v.case}: ${v.detail}\n      reproducer: ${v.reproducer}.{model,query}.json`);
    if (r.violations.length > 60) lines.push(`  … ${r.violations.length - 60} more`);
  }
  if (r.disputed.length) {
    lines.push('');
    lines.push(`DISPUTED (oracle and engine forward passes disagree; ${r.disputed.length}):`);
    for (const v of r.disputed.slice(0, 20)) lines.push(`  [${v.kind}] ${v.case}: ${v.detail}\n      reproducer: ${v.reproducer}.{model,query}.json`);
  }
  return lines.join('\n');
}
