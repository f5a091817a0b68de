/**
 * `npm run bench -- batch` (issue 14): batch throughput on one machine and through Redis.
 *   - NETINVERT_BENCH_BATCH_QUERIES (default 10,000) reachable queries on a 4-64-64-2 tanh net
 *     (x1, x2 given, x3, x4 ∈ [−1, 1] unknown, y = f(x) for a random x), and
 *     NETINVERT_BENCH_BATCH_PROVE (default 200) of them with --prove;
 *   - wall time of the whole command (start-up included; the built CLI in dist/ when there is one,
 *     else the sources through tsx) with --workers 1, --workers 2, and through a local redis-server
 *     with 2 threads of workers started beforehand, as deployed workers are: 2 `netinvert worker
 *     --concurrency 1` processes (2×1, as two machines), then 1 `--concurrency 2` process (1×2, as
 *     one machine: the threads of local --workers 2), and for the reachable queries 2×1 with
 *     --chunk 32 (32 queries per job); the Redis time is the user's one command,
 *     `batch --queue URL --collect -o FILE` (it enqueues, then collects), and each Redis run
 *     starts from an empty Redis;
 *   - with --kill, then a kill run: the queries through Redis again (a new batch: another --seed)
 *     with one of two workers SIGKILLed at a third of the way, checking every query is answered
 *     exactly once.
 * The reachable rows run NETINVERT_BENCH_BATCH_REPS times (default 3), in an order that rotates
 * from one repetition to the next; the table shows medians (and each run's time).
 * `npm run bench -- batch --quick`: 1,000 reachable and 40 --prove queries, once (the env variables win).
 * Scaling efficiency = speed-up / workers; queue overhead = median over the repetitions of
 * t_redis / t_2 workers − 1 (each beside the local run of its repetition), per job × t_2 workers / N.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveNativeModel } from '../src/formats/native/load.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { tanhNet } from './solve.bench.ts';

const TSX = import.meta.resolve('tsx');
// the built CLI when there is one (what users run: no TypeScript compile at each start), else the sources through tsx
const BUILT = new URL('../dist/cli/main.js', import.meta.url).pathname;
const CLI = existsSync(BUILT) ? BUILT : new URL('../src/cli/main.ts', import.meta.url).pathname;
const NODE_ARGS = existsSync(BUILT) ? [] : ['--import', TSX];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cli(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...NODE_ARGS, CLI, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0 && r.status !== 2 && r.status !== 3 && r.status !== 4) throw new Error(`netinvert ${args.join(' ')}: exit ${r.status}`);
  return (performance.now() - t0) / 1000;
}

/** A `netinvert worker` process; resolves once it says it is taking queries (a long-running worker, as deployed). */
function worker(url: string, threads = 1): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, [...NODE_ARGS, CLI, 'worker', url, '--concurrency', String(threads), '--lock-ms', '5000'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    proc.stderr!.on('data', (b: Buffer) => {
      seen += b.toString();
      if (/taking queries/.test(seen)) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`netinvert worker exited (${c}) before taking queries: ${seen}`)));
  });
  return { proc, ready };
}

async function stop(p: ChildProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill(sig);
  await gone;
}

/**
 * Empty the Redis at `url` (between two rows: each starts with no jobs) and compact its AOF, so a
 * row does not pay for a rewrite of the rows before it (a background rewrite forks and writes the
 * dataset on the same two cores).
 */
async function flush(url: string): Promise<void> {
  const c = new Redis(url);
  await c.flushall();
  const rewriting = async (): Promise<boolean> => /aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(await c.info('persistence'));
  while (await rewriting()) await sleep(100);
  await c.bgrewriteaof();
  await sleep(100);
  while (await rewriting()) await sleep(100);
  await c.quit();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function ids(file: string): string[] {
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.slice(0, l.indexOf(',')));
}

export async function runBatchBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ni-bench-batch-'));
  const net = tanhNet(12345);
  const model = join(dir, 'tanh.json');
  writeFileSync(model, saveNativeModel(net));
  const quick = process.argv.includes('--quick');
  const killRun = process.argv.includes('--kill');
  const N = Number(process.env.NETINVERT_BENCH_BATCH_QUERIES ?? (quick ? 1000 : 10000));
  const NP = Number(process.env.NETINVERT_BENCH_BATCH_PROVE ?? (quick ? 40 : 200));
  const rand = mulberry32(777);
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    const x = [0, 0, 0, 0].map(() => 2 * rand() - 1);
    const y = net.network.evaluate(new Float64Array(x), 1);
    lines.push(`q${i},${x[0]},${x[1]},,,${y[0]},${y[1]}`);
  }
  const head = 'id,x1,x2,x3,x4,y1,y2\n';
  const qAll = join(dir, 'q.csv'),
    qProve = join(dir, 'qp.csv');
  writeFileSync(qAll, head + lines.join('\n') + '\n');
  writeFileSync(qProve, head + lines.slice(0, NP).join('\n') + '\n');
  const common = ['--bounds', 'x3=-1:1,x4=-1:1'];

  const hasRedis = !spawnSync('redis-server', ['--version']).error;
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  const redis = hasRedis
    ? spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' })
    : null;
  await sleep(500);

  // Each row runs REPS times (the reachable queries; --prove once), the rows' order rotating from
  // one repetition to the next, and the table shows each row's median: on a shared machine the
  // load drifts by tens of per cent within minutes, so one run of each row, minutes apart, can
  // show a Redis row 20 % faster or slower than the local one for no reason of its own. The Redis
  // overhead is the median over the repetitions of (t_Redis / t_2 workers − 1), each run beside
  // the local run of its own repetition.
  const REPS = Math.max(1, Number(process.env.NETINVERT_BENCH_BATCH_REPS ?? (quick ? 1 : 3)));
  type Run = { name: string; workers: number } | { name: string; procs: number; threads: number; chunk: number };
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const table: string[][] = [];
  for (const [label, q, extra, n] of [
    ['reachable', qAll, [] as string[], N],
    ['--prove', qProve, ['--prove'], NP],
  ] as const) {
    // the workers are running before the batch is enqueued (deployed workers wait for work): the
    // time is the user's command `batch --queue URL --collect -o FILE` (it enqueues, then collects),
    // as the local rows time `batch --workers N -o FILE`. Two ways
    // to put 2 threads on the queue: 2 worker processes of 1 thread (as 2 machines would), or 1
    // worker process of 2 threads (as one machine would: the same threads as local --workers 2);
    // chunks are for queries of a few ms (a --prove query is its own job)
    const runs: Run[] = [
      { name: '1 worker', workers: 1 },
      { name: '2 workers', workers: 2 },
      ...(redis
        ? [
            { name: '2 via Redis (2×1)', procs: 2, threads: 1, chunk: 1 },
            { name: '2 via Redis (1×2)', procs: 1, threads: 2, chunk: 1 },
            ...(extra.length ? [] : [{ name: '2 via Redis (2×1, --chunk 32)', procs: 2, threads: 1, chunk: 32 }]),
          ]
        : []),
    ];
    const reps = extra.length ? 1 : REPS;
    const times = new Map<string, number[]>(runs.map((r) => [r.name, []]));
    const sameAs1 = new Map<string, boolean>(runs.map((r) => [r.name, true]));
    const out = (r: Run, rep: number): string => join(dir, `${label}-${r.name.replace(/[^a-z0-9]+/gi, '_')}-${rep}.csv`);
    const first = join(dir, `${label}-1.csv`);
    for (let rep = 0; rep < reps; rep++) {
      // the 1-worker run first in the first repetition: its file is the one every other is compared with
      const order = rep === 0 ? runs : [...runs.slice(rep % runs.length), ...runs.slice(0, rep % runs.length)];
      for (const r of order) {
        const file = rep === 0 && 'workers' in r && r.workers === 1 ? first : out(r, rep);
        let t: number;
        if ('workers' in r) t = cli(['batch', model, q, '-o', file, '--workers', String(r.workers), ...common, ...extra]);
        else {
          const ck = r.chunk > 1 ? ['--chunk', String(r.chunk)] : [];
          // each Redis run starts from an empty Redis, so it is not answered by an earlier run's jobs
          await flush(url);
          const ws = Array.from({ length: r.procs }, () => worker(url, r.threads));
          await Promise.all(ws.map((w) => w.ready));
          // one command, as a local batch is one: --collect enqueues the batch, then waits for its answers
          const t0 = performance.now();
          cli(['batch', model, q, '--queue', url, '--collect', '-o', file, ...common, ...extra, ...ck]);
          t = (performance.now() - t0) / 1000;
          await Promise.all(ws.map((w) => stop(w.proc)));
        }
        times.get(r.name)!.push(t);
        if (file !== first && readFileSync(file, 'utf8') !== readFileSync(first, 'utf8')) sameAs1.set(r.name, false);
      }
    }
    const t1 = median(times.get('1 worker')!),
      t2s = times.get('2 workers')!;
    for (const r of runs) {
      const ts = times.get(r.name)!;
      const t = median(ts);
      const spread = ts.length > 1 ? ` (${ts.map((v) => v.toFixed(1)).join(', ')} s)` : '';
      const notes = [r.name === '1 worker' ? '' : sameAs1.get(r.name) ? 'same file' : 'FILES DIFFER'];
      if ('procs' in r) {
        const over = median(ts.map((v, k) => v / t2s[k] - 1));
        notes.push(`${over >= 0 ? '+' : ''}${(over * 100).toFixed(0)}% vs local, ${((over * median(t2s) * 1000) / n).toFixed(2)} ms/job`);
      }
      table.push([label, r.name, String(n), t.toFixed(1) + spread, (n / t).toPrecision(3), (t1 / t).toFixed(2), `${((t1 / t / ('workers' in r ? r.workers : r.procs * r.threads)) * 100).toFixed(0)}%`, notes.filter(Boolean).join('; ')]);
    }
  }
  const cols = ['queries', 'run', 'n', 'seconds', 'queries/s', 'speed-up', 'efficiency', 'notes'];
  const w = cols.map((c, i) => Math.max(c.length, ...table.map((r) => r[i].length)));
  console.log(cols.map((c, i) => c.padEnd(w[i])).join('  '));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
  console.log('(wall time of whole commands, start-up included; target: 2 workers ≥ 1.8× one, Redis < 10% over local)');

  if (redis && !killRun) {
    console.log('\n(the kill run, a worker SIGKILLed mid-run, is left out: add --kill)');
    await stop(redis);
  } else if (redis) {
    // the kill run: a new batch (--seed 1), one of two workers SIGKILLed a third of the way
    await flush(url);
    const ws = [worker(url), worker(url)];
    cli(['batch', model, qAll, '--queue', url, '--seed', '1', ...common]);
    const out = join(dir, 'kill.csv');
    const collect = spawn(process.execPath, [...NODE_ARGS, CLI, 'batch', model, qAll, '--queue', url, '--collect', '-o', out, '--seed', '1', ...common], {
      stdio: 'ignore',
    });
    const done = new Promise<number | null>((r) => collect.once('exit', r));
    const probe = spawnSync('redis-cli', ['-p', String(port), 'ping']).error === undefined;
    for (;;) {
      await sleep(200);
      const c = probe ? Number(spawnSync('redis-cli', ['-p', String(port), 'zcard', 'bull:netinvert:completed']).stdout.toString().trim()) : 0;
      if (!probe || c >= N / 3) break;
    }
    await stop(ws[0].proc, 'SIGKILL');
    await done;
    await stop(ws[1].proc);
    const got = ids(out);
    const unique = new Set(got);
    // a query's rows are contiguous: as many runs of one id as distinct ids means none written twice
    const runs = got.filter((id, i) => i === 0 || got[i - 1] !== id).length;
    console.log(
      `\nkill run: ${N} queries through Redis, one of two workers SIGKILLed a third of the way: ${got.length} answer rows for ${unique.size} distinct ids ` +
        `(${unique.size === N ? 'every query answered' : 'MISSING QUERIES'}; ${runs === unique.size ? 'none written twice' : 'DUPLICATES'})`,
    );
    await stop(redis);
  } else console.log('\nredis-server is not installed: the Redis rows and the kill run are left out (apt-get install redis-server)');
}
