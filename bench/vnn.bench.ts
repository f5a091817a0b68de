/**
 * `npm run bench -- vnn`: ACAS Xu (VNN-COMP 2021, vendored in test/fixtures/third-party/acasxu)
 * decided by decideVnnlib, beside the published VNN-COMP 2021 answers and times of nnenum and
 * alpha-beta-CROWN (their hardware, not ours: compare orders of magnitude, not ratios).
 *   --quick   8 instances, 10 s each
 *   (default) every 8th instance (24), 30 s each
 *   --all     all 186 instances with the competition's per-instance timeout (116 s): ~hours
 *   --timeout S overrides the per-instance budget.
 *   --workers N also decides each instance with N threads (decideVnnlibParallel on the CLI's
 *               thread pool, the threads' start included in its time) and prints the speed-up
 *               (one-thread time / N-thread time) per instance and over the instances both decided;
 *   --handoff MS, --start MS (with --workers) how long the main thread searches alone, and when the
 *               threads start (default: the CLI's VERIFY_HANDOFF_MS, VERIFY_START_MS)
 *   --cli       decide each instance in its own `netinvert verify --json` process (needs `npm run
 *               build`), timed from spawn to exit: start-up, ONNX parsing and a cold JIT included
 *   --check-thread  (in-process) a second thread checks the closed leaves while the search runs, as
 *               `verify` does by default (cli/leafThread.ts; its start counted);
 *   --no-check-thread  (with --cli) pass it to `verify`: leaves checked at the end, in one thread
 *   --hard      (with --workers) instead of the chosen set, the unsat instances that take longest
 *               (nnenum's slowest "holds"), where the search, not falsification, is the time.
 *   --vs 'CMD'  also run another verifier on each instance, on this machine, alternating with ours
 *               (which goes first flips from one instance to the next): `CMD ONNX VNNLIB TIMEOUT`
 *               through sh, VNN-COMP's run_instance convention, timed from spawn to exit; its
 *               answer is the last line of its stdout that is one word of sat / unsat / unknown
 *               (or holds / violated / timeout / error). Prints its answer, time and wrong count
 *               beside ours, and both totals over the instances both decided.
 * Prints per instance: published answer, ours, our time, theirs; then decided / total and wrong
 * (ours contradicting the published answer: must be 0).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideVnnlib, type DecideResult } from '../src/certify/vnn/decide.ts';
import { decideVnnlibParallel, VERIFY_HANDOFF_MS, VERIFY_START_MS } from '../src/certify/vnn/parallel.ts';
import { LeafThread } from '../src/cli/leafThread.ts';
import { VnnThreadPool } from '../src/cli/vnnPool.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { parseVnnlib } from '../src/formats/vnnlib/parse.ts';
import type { Model } from '../src/model.ts';
import { fmt } from './harness.ts';

const ACAS = join(import.meta.dirname, '..', 'test', 'fixtures', 'third-party', 'acasxu');

interface Published {
  result: 'sat' | 'unsat' | 'unknown';
  time: number;
}

function readPublished(tool: string): Map<string, Published> {
  const m = new Map<string, Published>();
  for (const row of readFileSync(join(ACAS, 'published', `${tool}.csv`), 'utf8').trim().split('\n').slice(1)) {
    const [, onnx, vnnlib, , result, time] = row.split(',');
    const r = result.toLowerCase();
    const norm: Published['result'] = r === 'holds' || r === 'unsat' ? 'unsat' : r === 'violated' || r === 'sat' ? 'sat' : 'unknown';
    m.set(`${onnx.split('/').pop()},${vnnlib.split('/').pop()}`, { result: norm, time: Number(time) });
  }
  return m;
}

/** Instances of the quick subset: sat and unsat, props 1–4 and a few of 5–10 (index in the CSV). */
const QUICK = [0, 46, 57, 90, 100, 135, 181, 183];

/** Unsat instances whose search is long (nnenum's slowest "holds" in VNN-COMP 2021), for --workers --hard. */
const HARD = [
  ['ACASXU_run2a_4_9_batch_2000.onnx', 'prop_1.vnnlib'],
  ['ACASXU_run2a_1_1_batch_2000.onnx', 'prop_6.vnnlib'],
  ['ACASXU_run2a_4_6_batch_2000.onnx', 'prop_1.vnnlib'],
];

/** decideVnnlibParallel on a fresh thread pool (its start counted), closed after. */
async function decideThreads(file: string, model: Model, spec: ReturnType<typeof parseVnnlib>, workers: number, timeout: number, handoffMs: number, startMs: number): Promise<DecideResult> {
  const t0 = performance.now();
  const pool = new VnnThreadPool(workers, model.hash, { modelPath: file, spec }, true);
  try {
    const r = await decideVnnlibParallel(model, spec, pool, { timeout, handoffMs, startMs });
    return { ...r, stats: { ...r.stats, seconds: (performance.now() - t0) / 1000 } };
  } finally {
    await pool.close();
  }
}

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

/**
 * --cli: one `netinvert verify --json` process per instance (VNN-COMP's convention), timed on the
 * wall clock from spawn to exit: Node's start-up, module loading, ONNX parsing and a cold JIT
 * included. Only status and seconds are filled in.
 */
function decideByProcess(onnx: string, vnnlib: string, timeout: number, extra: string[]): DecideResult {
  const t0 = performance.now();
  const p = spawnSync(process.execPath, [CLI, 'verify', onnx, vnnlib, '--timeout', String(timeout), '--json', ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  let parsed: { status?: DecideResult['status']; stats?: DecideResult['stats'] } = {};
  try {
    parsed = JSON.parse(p.stdout) as typeof parsed;
  } catch {
    throw new Error(`netinvert verify ${onnx} ${vnnlib} printed no JSON (exit ${p.status}): ${p.stderr.slice(0, 500)}`);
  }
  return { status: parsed.status ?? 'unknown', stats: { ...(parsed.stats as DecideResult['stats']), seconds } };
}

/** --vs: another verifier's command on one instance (wall clock from spawn to exit) and its answer. */
function decideByCommand(cmd: string, onnx: string, vnnlib: string, timeout: number): { status: DecideResult['status'] | 'error'; seconds: number } {
  const t0 = performance.now();
  const p = spawnSync('sh', ['-c', `${cmd} "$@"`, 'sh', onnx, vnnlib, String(timeout)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  const words: Record<string, DecideResult['status'] | 'error'> = { sat: 'sat', violated: 'sat', unsat: 'unsat', holds: 'unsat', unknown: 'unknown', timeout: 'unknown', error: 'error' };
  const line = (p.stdout ?? '')
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .reverse()
    .find((l) => l in words);
  return { status: line ? words[line] : 'error', seconds };
}

/** decideVnnlib with a fresh LeafThread (its start counted), closed after. */
async function decideWithLeafThread(model: Model, spec: ReturnType<typeof parseVnnlib>, timeout: number): Promise<DecideResult> {
  const t0 = performance.now();
  const thread = new LeafThread(model, spec);
  try {
    const r = decideVnnlib(model, spec, { timeout, leafSink: thread });
    return { ...r, stats: { ...r.stats, seconds: (performance.now() - t0) / 1000 } };
  } finally {
    await thread.close();
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runVnnBench(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick'),
    all = argv.includes('--all');
  const ti = argv.indexOf('--timeout');
  const override = ti >= 0 ? Number(argv[ti + 1]) : undefined;
  const wi = argv.indexOf('--workers');
  const workers = wi >= 0 ? Math.max(1, Math.floor(Number(argv[wi + 1]))) : 0;
  const hard = workers > 0 && argv.includes('--hard');
  const cli = argv.includes('--cli');
  const checkThread = argv.includes('--check-thread');
  const cliExtra = argv.includes('--no-check-thread') ? ['--no-check-thread'] : [];
  const vi = argv.indexOf('--vs');
  const vs = vi >= 0 ? argv[vi + 1] : undefined;
  if (vi >= 0 && !vs) throw new Error("--vs needs a command, e.g. --vs '/path/to/run_instance.sh'");
  if (cli && !existsSync(CLI)) throw new Error(`--cli runs ${CLI}: build it first (npm run build)`);
  const hi = argv.indexOf('--handoff'),
    si = argv.indexOf('--start');
  const handoffMs = hi >= 0 ? Number(argv[hi + 1]) : VERIFY_HANDOFF_MS,
    startMs = si >= 0 ? Number(argv[si + 1]) : VERIFY_START_MS;
  const instances = readFileSync(join(ACAS, 'acasxu_instances.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [onnx, vnnlib, timeout] = l.split(',');
      return { onnx, vnnlib, timeout: Number(timeout) };
    });
  const chosen = hard
    ? HARD.map(([onnx, vnnlib]) => ({ onnx, vnnlib, timeout: 116 }))
    : all
      ? instances
      : quick
        ? QUICK.map((i) => instances[i])
        : instances.filter((_, i) => i % 8 === 0);
  const budget = (t: number): number => override ?? (all || hard ? t : quick ? 10 : 30);
  const nnenum = readPublished('nnenum'),
    abc = readPublished('a-b-CROWN');
  console.log(`${chosen.length} instance(s), ${(all || hard) && override === undefined ? 'competition timeouts' : `${budget(0)} s each`} (machine may be shared: times are wall clock)\n`);
  console.log(`net        prop   published  ours      our s    nnenum s  a,b-CROWN s  boxes${workers ? `   ${workers} threads  s       speed-up` : ''}${vs ? '   --vs      its s' : ''}`);
  const models = new Map<string, Model>();
  let decided = 0,
    wrong = 0,
    oursTotal = 0,
    bothOne = 0,
    bothN = 0;
  const ourTimes: number[] = [],
    theirTimes: number[] = [];
  let vsDecided = 0,
    vsWrong = 0,
    vsBothOurs = 0,
    vsBothTheirs = 0;
  const vsTimes: number[] = [];
  for (const [index, inst] of chosen.entries()) {
    let model = models.get(inst.onnx);
    if (!model) {
      model = loadOnnxModel(new Uint8Array(readFileSync(join(ACAS, 'onnx', inst.onnx))), { file: inst.onnx });
      models.set(inst.onnx, model);
    }
    const spec = parseVnnlib(readFileSync(join(ACAS, inst.vnnlib), 'utf8'), inst.vnnlib);
    const runVs = (): ReturnType<typeof decideByCommand> | null => (vs ? decideByCommand(vs, join(ACAS, 'onnx', inst.onnx), join(ACAS, inst.vnnlib), budget(inst.timeout)) : null);
    // with --vs, the other verifier goes first on every other instance
    const vsFirst = index % 2 === 1 ? runVs() : null;
    const r = cli ? decideByProcess(join(ACAS, 'onnx', inst.onnx), join(ACAS, inst.vnnlib), budget(inst.timeout), cliExtra) : checkThread ? await decideWithLeafThread(model, spec, budget(inst.timeout)) : decideVnnlib(model, spec, { timeout: budget(inst.timeout) });
    const rn = workers ? await decideThreads(join(ACAS, 'onnx', inst.onnx), model, spec, workers, budget(inst.timeout), handoffMs, startMs) : null;
    const rv = vs ? (vsFirst ?? runVs()) : null;
    const key = `${inst.onnx},${inst.vnnlib}`;
    const pub = nnenum.get(key) ?? abc.get(key);
    const a = abc.get(key);
    const expected = pub?.result === 'unknown' ? a?.result : pub?.result;
    if (r.status !== 'unknown') decided++;
    const bad = r.status !== 'unknown' && expected !== undefined && expected !== 'unknown' && r.status !== expected;
    if (bad) wrong++;
    const badN = !!rn && rn.status !== 'unknown' && expected !== undefined && expected !== 'unknown' && rn.status !== expected;
    if (badN) wrong++;
    if (rn && r.status !== 'unknown' && rn.status !== 'unknown') ((bothOne += r.stats.seconds), (bothN += rn.stats.seconds));
    const decidedVs = !!rv && (rv.status === 'sat' || rv.status === 'unsat');
    const badV = decidedVs && expected !== undefined && expected !== 'unknown' && rv.status !== expected;
    if (rv) {
      vsTimes.push(rv.seconds);
      if (decidedVs) vsDecided++;
      if (badV) vsWrong++;
      if (decidedVs && r.status !== 'unknown') ((vsBothOurs += r.stats.seconds), (vsBothTheirs += rv.seconds));
    }
    oursTotal += r.stats.seconds;
    ourTimes.push(r.stats.seconds);
    const nt = nnenum.get(key)?.time;
    if (nt !== undefined && Number.isFinite(nt)) theirTimes.push(nt);
    const net = inst.onnx.replace('ACASXU_run2a_', '').replace('_batch_2000.onnx', '');
    const prop = inst.vnnlib.replace('prop_', '').replace('.vnnlib', '');
    console.log(
      `${net.padEnd(10)} ${prop.padEnd(6)} ${String(expected ?? '?').padEnd(10)} ${(r.status + (bad ? ' WRONG' : '')).padEnd(9)} ${fmt(r.stats.seconds).padStart(7)}  ${fmt(nnenum.get(key)?.time ?? NaN).padStart(8)}  ${fmt(a?.time ?? NaN).padStart(11)}  ${String(r.stats.boxes).padEnd(6)}` +
        (rn ? `  ${(rn.status + (badN ? ' WRONG' : '')).padEnd(9)} ${fmt(rn.stats.seconds).padStart(7)}  ${rn.status !== 'unknown' && r.status !== 'unknown' ? `${fmt(r.stats.seconds / rn.stats.seconds)}x` : '-'}` : '') +
        (rv ? `  ${(rv.status + (badV ? ' WRONG' : '')).padEnd(9)} ${fmt(rv.seconds).padStart(7)}` : ''),
    );
  }
  console.log(`\ndecided ${decided}/${chosen.length}, wrong ${wrong}, our total ${fmt(oursTotal)} s, median ${fmt(median(ourTimes))} s`);
  console.log(`nnenum (published, VNN-COMP 2021 hardware) on the same instances: total ${fmt(theirTimes.reduce((a, b) => a + b, 0))} s, median ${fmt(median(theirTimes))} s`);
  if (vs) {
    console.log(`--vs (${vs}), on this machine, alternating with ours: decided ${vsDecided}/${chosen.length}, wrong ${vsWrong}, total ${fmt(vsTimes.reduce((a, b) => a + b, 0))} s, median ${fmt(median(vsTimes))} s`);
    console.log(`over the instances both decided: ours ${fmt(vsBothOurs)} s, theirs ${fmt(vsBothTheirs)} s (ours / theirs ${fmt(vsBothOurs / vsBothTheirs)})`);
  }
  if (workers) console.log(`${workers} threads vs 1 over the instances both decided: ${fmt(bothOne)} s / ${fmt(bothN)} s = ${fmt(bothOne / bothN)}x (wall clock; the machine may be shared)`);
}
