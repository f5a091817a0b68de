/**
 * `netinvert verify MODEL PROPERTY.vnnlib [--timeout S] [--json] [--results FILE] [--certificate FILE]`:
 * decide a VNN-COMP property. The first word printed is the answer:
 *   sat      a counterexample (input and output printed; re-checked by a float64 forward pass),
 *   unsat    the property holds (proven; the proof re-checked by the independent verifier),
 *   unknown  timeout or undecided.
 * --results writes the VNN-COMP result file (`sat` + `((X_0 v) … (Y_0 v) …)`, `unsat`, `unknown`).
 * Exit code 0 when decided (sat or unsat), 4 when unknown, 1 on an error.
 * --workers N (default 1: on ACAS Xu two threads measured 1.0–1.4× on 5–20 s proofs) spreads the search over N
 * threads (vnnPool.ts, certify/vnn/parallel.ts) once this thread has searched alone for --handoff-ms
 * (default 1000: most properties end sooner and start no thread); --workers 1 is decideVnnlib's one-thread search.
 */
import { writeFileSync } from 'node:fs';
import { NetinvertError } from '../../errors.ts';
import { decideVnnlib, type DecideResult } from '../../certify/vnn/decide.ts';
import { decideVnnlibParallel, VERIFY_HANDOFF_MS, VERIFY_START_MS } from '../../certify/vnn/parallel.ts';
import { parseVnnlib, VNNLIB_MAX_CHARS } from '../../formats/vnnlib/parse.ts';
import { readBytes } from '../files.ts';
import { loadVerifyModel } from '../verifyModel.ts';
import type { IO } from '../io.ts';
import { defaultWorkers, parseNumber, readWorkers } from '../parse.ts';
import { VnnThreadPool } from '../vnnPool.ts';
import { LeafThread } from '../leafThread.ts';

export interface VerifyCliOptions {
  timeout?: string | number;
  json?: boolean;
  results?: string;
  certificate?: string;
  meta?: string;
  workers?: string | number;
  handoffMs?: string | number;
  /** false with --no-check-thread. */
  checkThread?: boolean;
}

/** VNN-COMP's result file: the answer, and for sat the assignment of every X_i and Y_j. */
export function vnncompResult(r: DecideResult): string {
  if (r.status !== 'sat' || !r.witness) return `${r.status}\n`;
  const parts = [...r.witness.x.map((v, i) => `(X_${i} ${fmt(v)})`), ...r.witness.y.map((v, j) => `(Y_${j} ${fmt(v)})`)];
  return `sat\n(${parts.join('\n ')})\n`;
}

/** Shortest round-trip decimal, never in exponent form (SMT-LIB reals have none). */
function fmt(v: number): string {
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const neg = v < 0;
  const [m, e] = String(Math.abs(v)).split(/e/i);
  const exp = Number(e);
  const [ip, fp = ''] = m.split('.');
  const digits = ip + fp;
  let out: string;
  if (exp >= 0) {
    const point = ip.length + exp;
    out = digits.length <= point ? digits + '0'.repeat(point - digits.length) : `${digits.slice(0, point)}.${digits.slice(point)}`;
  } else out = `0.${'0'.repeat(-exp - ip.length)}${digits}`;
  return neg ? `-${out}` : out;
}

export async function verifyCommand(modelPath: string, propPath: string, opts: VerifyCliOptions, io: IO): Promise<number> {
  const timeout = opts.timeout === undefined ? 60 : parseNumber(opts.timeout, '--timeout', { code: 'bad_usage' });
  if (!(timeout > 0)) {
    throw new NetinvertError('bad_usage', `--timeout must be a positive number of seconds (got ${String(opts.timeout)})`, { flag: '--timeout' });
  }
  const workers = readWorkers(opts.workers, '1, one thread');
  const handoffMs = opts.handoffMs === undefined ? VERIFY_HANDOFF_MS : parseNumber(opts.handoffMs, '--handoff-ms', { code: 'bad_usage' });
  if (!(handoffMs >= 0)) throw new NetinvertError('bad_usage', `--handoff-ms must be a number of milliseconds ≥ 0 (got ${String(opts.handoffMs)})`, { flag: '--handoff-ms' });
  const model = await loadVerifyModel(modelPath, opts.meta);
  const text = new TextDecoder().decode(readBytes(propPath, 'property file', VNNLIB_MAX_CHARS * 4));
  const spec = parseVnnlib(text, propPath);
  let r: DecideResult;
  if (workers === 1) {
    // a second thread checks the leaves as the search closes them (leafThread.ts), on a machine with two cores or more
    const leaves = opts.checkThread !== false && defaultWorkers() > 1 ? new LeafThread(model, spec) : undefined;
    try {
      r = decideVnnlib(model, spec, { timeout, leafSink: leaves });
    } finally {
      await leaves?.close();
    }
  } else {
    // this thread searches alone for the first handoffMs (default VERIFY_HANDOFF_MS: most properties end there);
    // the threads start loading the model at VERIFY_START_MS, and take the frontier after that
    const pool = new VnnThreadPool(workers, model.hash, { modelPath, meta: opts.meta, spec }, true);
    try {
      r = await decideVnnlibParallel(model, spec, pool, { timeout, handoffMs, startMs: Math.min(VERIFY_START_MS, handoffMs) });
    } finally {
      await pool.close();
    }
  }
  if (opts.results) writeFileSync(opts.results, vnncompResult(r));
  if (opts.certificate && r.certificate) writeFileSync(opts.certificate, JSON.stringify(r.certificate));
  if (opts.json) {
    io.out(JSON.stringify({ status: r.status, witness: r.witness, reason: r.reason, stats: r.stats, certificate: opts.certificate && r.certificate ? opts.certificate : undefined }, null, 2));
  } else {
    const s = r.stats;
    const lines: string[] = [r.status];
    if (r.witness) {
      lines.push(`  counterexample (unsafe clause ${r.witness.clause + 1}, float64 forward pass):`);
      lines.push(`    ${r.witness.x.map((v, i) => `X_${i}=${v}`).join(' ')}`);
      lines.push(`    ${r.witness.y.map((v, j) => `Y_${j}=${v}`).join(' ')}`);
    }
    if (r.status === 'unsat') lines.push(`  proven: ${s.leaves} leaf box(es), every unsafe clause refuted on each; the independent verifier re-checked the proof (${s.verifySeconds.toFixed(2)} s at the end${s.threadRefuted ? `; ${s.threadRefuted} of the leaves checked one batch at a time: in a second thread while the search ran, on both threads at the end` : ''})`);
    if (r.reason) lines.push(`  ${r.reason}`);
    lines.push(`  ${s.seconds.toFixed(2)} s (falsify ${s.falsifySeconds.toFixed(2)} s, search ${s.searchSeconds.toFixed(2)} s${workers > 1 ? ` on ${workers} threads` : ''}: ${s.boxes} box(es) bounded, depth ${s.maxDepth})`);
    if (opts.certificate && r.certificate) lines.push(`  certificate written to ${opts.certificate} (check it: netinvert check-certificate ${modelPath} ${opts.certificate} --vnnlib ${propPath})`);
    if (opts.results) lines.push(`  result file written to ${opts.results}`);
    io.out(lines.join('\n'));
  }
  return r.status === 'unknown' ? 4 : 0;
}
