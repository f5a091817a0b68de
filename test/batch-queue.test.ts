/**
 * `batch --queue URL`, `--collect` and `netinvert worker` (issue 14, part 2) against a real
 * redis-server, started here on a free loopback port with AOF on, in a temporary folder (CI
 * installs Debian's redis-server; without it these tests fail, they do not skip). The oracle is a
 * local batch of the same queries (--workers 1): the collected file must equal it byte for byte.
 * Faults: a worker SIGKILLed mid-job, a malformed query, Redis restarted, queries enqueued twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Job, Queue, Worker } from 'bullmq';
import { parse } from 'csv-parse/sync';
import { runCli } from '../src/cli/program.ts';
import { cliProcess, exited, freePort, output, RedisServer, sleep, stopWorker, worker } from './util/redis.ts';

const ADD = 'models/seed-add.json';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

/** n queries on seed-add: solvable, infeasible (above what the net reaches), and one bad cell (q7). */
function queries(n: number): string {
  let t = 'id,a,b,sum\n';
  for (let i = 0; i < n; i++) {
    if (i === 7) t += `q${i},1,,abc\n`;
    else if (i % 5 === 3) t += `q${i},${i % 10},,${40 + i}\n`;
    else t += `q${i},${(i * 1.3) % 10},,${(i % 9) + 1.5}\n`;
  }
  return t;
}

let redis: RedisServer;
const dir = mkdtempSync(join(tmpdir(), 'ni-queue-'));

beforeAll(async () => {
  redis = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'ni-redis-')));
  await redis.start();
}, 30_000);

afterAll(async () => {
  await redis?.stop();
});

interface JobRecord {
  id: string;
  /** The job's first query's id, and all of them (a chunk has several). */
  queryId: string;
  queryIds: string[];
  state: 'completed' | 'failed' | 'other';
  /** attempts made (BullMQ counts the successful one) and times the job was found stalled */
  attempts: number;
  stalled: number;
}

/** Every job of the queue, read from BullMQ's keys (bull:netinvert:<id> hashes, completed/failed sets). */
async function jobs(url: string): Promise<JobRecord[]> {
  const c = new Redis(url, { maxRetriesPerRequest: null });
  try {
    const completed = new Set(await c.zrange('bull:netinvert:completed', 0, -1));
    const failed = new Set(await c.zrange('bull:netinvert:failed', 0, -1));
    const keys = (await c.keys('bull:netinvert:*')).filter((k) => /^bull:netinvert:[0-9a-f]{16}-[0-9a-f]{32}$/.test(k));
    const out: JobRecord[] = [];
    for (const k of keys) {
      const h = await c.hgetall(k);
      const id = k.slice('bull:netinvert:'.length);
      out.push({
        id,
        queryId: (JSON.parse(h.data) as { qs: { id: string }[] }).qs[0].id,
        queryIds: (JSON.parse(h.data) as { qs: { id: string }[] }).qs.map((q) => q.id),
        state: completed.has(id) ? 'completed' : failed.has(id) ? 'failed' : 'other',
        attempts: Number(h.atm ?? 0),
        stalled: Number(h.stc ?? 0),
      });
    }
    return out;
  } finally {
    c.disconnect();
  }
}

/** How many jobs are completed and active now. */
async function counts(c: Redis): Promise<{ completed: number; active: number }> {
  return { completed: await c.zcard('bull:netinvert:completed'), active: await c.llen('bull:netinvert:active') };
}

describe('batch --queue and netinvert worker (real redis-server)', () => {
  it('answers through the queue equal a local batch byte for byte; enqueuing twice adds nothing; a malformed query is one error row, not retried', async () => {
    const q = join(dir, 'q1.csv');
    writeFileSync(q, queries(30));
    const local = join(dir, 'local1.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    let r = await run(['batch', ADD, q, '--prove', '--queue', redis.url]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/30 new, 0 already there/);
    r = await run(['batch', ADD, q, '--prove', '--queue', redis.url]);
    expect(r.out).toMatch(/0 new, 30 already there/);
    const w = worker(redis.url);
    try {
      const out = join(dir, 'queue1.csv');
      r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
      expect(r.code, r.err).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
      const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
      expect(rows.filter((x) => x.id === 'q7').map((x) => x.status)).toEqual(['error']);
    } finally {
      await stopWorker(w);
    }
    const all = await jobs(redis.url);
    expect(all.length).toBe(30);
    for (const j of all) {
      expect(j.state).toBe('completed');
      expect(j.attempts).toBe(1); // no retries: the bad cell is an answer, not a failure
    }
  }, 90_000);

  it('--chunk 4: 30 queries in 8 jobs of consecutive rows, the same file as a local batch, the malformed query alone an error row; enqueuing twice adds nothing; a query failed in a chunk is its own error row', async () => {
    const q = join(dir, 'q8.csv');
    writeFileSync(q, queries(30).replace(/^q/gm, 'c'));
    const local = join(dir, 'local8.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1'])).code).toBe(1);
    let r = await run(['batch', ADD, q, '--queue', redis.url, '--chunk', '4']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/30 new, 0 already there/);
    expect(r.out).toMatch(/--chunk 4 --collect/);
    r = await run(['batch', ADD, q, '--queue', redis.url, '--chunk', '4']);
    expect(r.out).toMatch(/0 new, 30 already there/);
    const mine = async (): Promise<JobRecord[]> => (await jobs(redis.url)).filter((j) => j.queryId.startsWith('c'));
    const ids = Array.from({ length: 30 }, (_, i) => `c${i}`);
    expect((await mine()).map((j) => j.queryIds).sort((a, b) => Number(a[0].slice(1)) - Number(b[0].slice(1)))).toEqual(
      Array.from({ length: 8 }, (_, k) => ids.slice(4 * k, 4 * k + 4)),
    );
    const w = worker(redis.url);
    try {
      const out = join(dir, 'queue8.csv');
      r = await run(['batch', ADD, q, '--queue', redis.url, '--chunk', '4', '--collect', '-o', out]);
      expect(r.code, r.err).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
      const rows = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[];
      expect(rows.filter((x) => x.status === 'error').map((x) => x.id)).toEqual(['c7']);
    } finally {
      await stopWorker(w);
    }
    for (const j of await mine()) {
      expect(j.state).toBe('completed');
      expect(j.attempts).toBe(1);
    }
    // a chunk whose job ends with one query failed (its thread died on the last attempt): that query
    // alone is an error row naming the failure, the chunk's other answers are written as returned
    const qf = join(dir, 'q9.csv');
    writeFileSync(qf, queries(6).replace(/^q/gm, 'f'));
    expect((await run(['batch', ADD, qf, '--queue', redis.url, '--chunk', '3'])).code).toBe(0);
    const fakeConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const fake = new Worker(
      'netinvert',
      async (job: Job<{ qs: { id: string }[] }>) =>
        job.data.qs.map((q, k) => (k === 1 ? { failed: 'simulated thread crash' } : { lines: [[q.id, 'solved', 'stand-in']], status: 'solved' })),
      { connection: fakeConn },
    );
    try {
      const outF = join(dir, 'queue9.csv');
      r = await run(['batch', ADD, qf, '--queue', redis.url, '--chunk', '3', '--collect', '-o', outF]);
      expect(r.code, r.err).toBe(1);
      const got = parse(readFileSync(outF, 'utf8'), { columns: true, relax_column_count: true }) as Record<string, string>[];
      expect(got.map((x) => [x.id, x.status])).toEqual([
        ['f0', 'solved'],
        ['f1', 'error'],
        ['f2', 'solved'],
        ['f3', 'solved'],
        ['f4', 'error'],
        ['f5', 'solved'],
      ]);
      for (const x of got.filter((x) => x.status === 'error')) expect(x.message).toMatch(/^error \[queue_job_failed\]: row \d \(line \d\): the worker could not answer it \(simulated thread crash\)/);
    } finally {
      await fake.close();
      fakeConn.disconnect();
    }
    // --chunk needs --queue, and a whole number in [1, 1000]
    for (const [args, msg] of [
      [['-o', join(dir, 'x8.csv'), '--chunk', '4'], /--chunk sets how many queries go in one queued job; it needs --queue/],
      [['--queue', redis.url, '--chunk', '0'], /--chunk must be a whole number of queries per job, 1 or more \(got "0"\)/],
      [['--queue', redis.url, '--chunk', '1001'], /--chunk must be 1000 or less \(got 1001\)/],
    ] as const) {
      const bad = await run(['batch', ADD, q, ...args]);
      expect(bad.code).toBe(1);
      expect(bad.err).toMatch(/^error \[bad_argument\]: /);
      expect(bad.err).toMatch(msg);
    }
  }, 90_000);

  it('a worker killed with SIGKILL mid-job: its job goes to the other worker; every query answered exactly once', async () => {
    const q = join(dir, 'q2.csv');
    writeFileSync(q, queries(200).replace(/^q/gm, 'k'));
    const local = join(dir, 'local2.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    expect((await run(['batch', ADD, q, '--prove', '--queue', redis.url])).code).toBe(0);
    const a = worker(redis.url),
      b = worker(redis.url);
    try {
      // wait until the two have answered some, then kill one in the middle of its work
      const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
      for (;;) {
        const c = await counts(conn);
        if (c.completed >= 30 + 40 && c.active >= 2) break;
        await sleep(20);
      }
      a.kill('SIGKILL');
      conn.disconnect();
      const out = join(dir, 'queue2.csv');
      const r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
      expect(r.code, r.err).toBe(1);
      const text = readFileSync(out, 'utf8');
      const ids = (parse(text, { columns: true }) as Record<string, string>[]).map((x) => x.id);
      expect(new Set(ids).size).toBe(200);
      expect(text).toBe(readFileSync(local, 'utf8'));
    } finally {
      a.kill('SIGKILL');
      await stopWorker(b);
    }
    // the killed worker's job was taken over after its lock ran out
    const k = (await jobs(redis.url)).filter((j) => j.queryId.startsWith('k'));
    expect(k.length).toBe(200);
    expect(k.every((j) => j.state === 'completed')).toBe(true);
    expect(k.some((j) => j.stalled >= 1)).toBe(true);
  }, 120_000);

  it('Redis restarted (AOF): the queued queries and the answers already given survive; every query answered once', async () => {
    const q = join(dir, 'q3.csv');
    writeFileSync(q, queries(40).replace(/^q/gm, 'r'));
    const local = join(dir, 'local3.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    expect((await run(['batch', ADD, q, '--prove', '--queue', redis.url])).code).toBe(0);
    const w = worker(redis.url);
    try {
      const done = async (): Promise<number> => (await jobs(redis.url)).filter((j) => j.queryId.startsWith('r') && j.state === 'completed').length;
      while ((await done()) < 10) await sleep(100);
      const before = await done();
      await redis.stop();
      await sleep(500);
      await redis.start();
      expect(await done()).toBeGreaterThanOrEqual(before); // the answers given before the restart are there
      expect((await jobs(redis.url)).filter((j) => j.queryId.startsWith('r')).length).toBe(40); // and every queued query
      // a worker started after the restart (the first one may still be reconnecting: see the report)
      const w2 = worker(redis.url);
      try {
        const out = join(dir, 'queue3.csv');
        const r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
        expect(r.code, r.err).toBe(1);
        expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
      } finally {
        await stopWorker(w2);
      }
    } finally {
      w.kill('SIGKILL');
    }
  }, 120_000);

  it('SIGTERM to the collector while Redis is down: it stops (exit 130), keeps every answer it had, and --resume finishes the file', async () => {
    const q = join(dir, 'q5.csv');
    writeFileSync(q, queries(60).replace(/^q/gm, 's'));
    const local = join(dir, 'local5.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    expect((await run(['batch', ADD, q, '--prove', '--queue', redis.url])).code).toBe(0);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const base = (await counts(conn)).completed;
    const w = worker(redis.url);
    while ((await counts(conn)).completed < base + 20) await sleep(20);
    await stopWorker(w);
    conn.disconnect();
    const out = join(dir, 'queue5.csv');
    const c = cliProcess(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
    try {
      // the collector has written what is answered, and waits for the rest
      const rowsIn = (): number => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 2 : 0);
      while (rowsIn() < 20) await sleep(50);
      await redis.stop('SIGKILL');
      await sleep(300);
      c.kill('SIGTERM');
      expect(await exited(c), output(c)).toBe(130);
      expect(output(c)).toMatch(/--resume/);
    } finally {
      c.kill('SIGKILL');
      await redis.start();
    }
    const partial = readFileSync(out, 'utf8');
    const ids = (parse(partial, { columns: true }) as Record<string, string>[]).map((x) => x.id);
    expect(new Set(ids).size).toBeGreaterThanOrEqual(20);
    expect(readFileSync(local, 'utf8').startsWith(partial)).toBe(true); // the answers it had, in order
    const w2 = worker(redis.url);
    try {
      const r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out, '--resume']);
      expect(r.code, r.err).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
    } finally {
      await stopWorker(w2);
    }
  }, 120_000);

  it('SIGTERM to a worker while Redis is down: it exits, and its queries are answered by another worker once Redis is back', async () => {
    const q = join(dir, 'q6.csv');
    writeFileSync(q, queries(60).replace(/^q/gm, 't'));
    const local = join(dir, 'local6.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    expect((await run(['batch', ADD, q, '--prove', '--queue', redis.url])).code).toBe(0);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const base = (await counts(conn)).completed;
    const w = worker(redis.url);
    try {
      while ((await counts(conn)).completed < base + 10) await sleep(20);
      conn.disconnect();
      await redis.stop('SIGKILL');
      await sleep(300);
      w.kill('SIGTERM');
      const code = await Promise.race([exited(w), sleep(60_000).then(() => 'still running a minute after SIGTERM')]);
      expect(code, output(w)).toBe(1);
      expect(output(w)).toMatch(/cannot reach Redis/);
    } finally {
      w.kill('SIGKILL');
      await redis.start();
    }
    const w2 = worker(redis.url);
    try {
      const out = join(dir, 'queue6.csv');
      const r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
      expect(r.code, r.err).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
    } finally {
      await stopWorker(w2);
    }
  }, 120_000);

  it('duplicate delivery (every job answered twice, by two workers): each answer is written once', async () => {
    const q = join(dir, 'q7.csv');
    writeFileSync(q, queries(20).replace(/^q/gm, 'd'));
    const local = join(dir, 'local7.csv');
    expect((await run(['batch', ADD, q, '-o', local, '--workers', '1', '--prove'])).code).toBe(1);
    expect((await run(['batch', ADD, q, '--prove', '--queue', redis.url])).code).toBe(0);
    const mine = async (): Promise<JobRecord[]> => (await jobs(redis.url)).filter((j) => j.queryId.startsWith('d'));
    const c = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      const w = worker(redis.url);
      try {
        while ((await mine()).some((j) => j.state !== 'completed')) await sleep(50);
      } finally {
        await stopWorker(w);
      }
      const first = new Map<string, number>();
      for (const j of await mine()) first.set(j.id, Number(await c.hget(`bull:netinvert:${j.id}`, 'finishedOn')));
      // deliver every job again (as after a stall whose worker was alive after all), to two workers
      const queue = new Queue('netinvert', { connection: c });
      for (const id of first.keys()) await (await Job.fromId(queue, id))!.retry('completed');
      await queue.close();
      const ws = [worker(redis.url), worker(redis.url)];
      try {
        const out = join(dir, 'queue7.csv');
        const r = await run(['batch', ADD, q, '--prove', '--queue', redis.url, '--collect', '-o', out]);
        expect(r.code, r.err).toBe(1);
        expect(readFileSync(out, 'utf8')).toBe(readFileSync(local, 'utf8'));
        const ids = (parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[]).map((x) => x.id);
        expect(ids.filter((id, i) => i === 0 || ids[i - 1] !== id)).toHaveLength(20); // each query's rows once
      } finally {
        await Promise.all(ws.map(stopWorker));
      }
      // every job was answered a second time
      for (const [id, t] of first) expect(Number(await c.hget(`bull:netinvert:${id}`, 'finishedOn'))).toBeGreaterThan(t);
    } finally {
      c.disconnect();
    }
  }, 120_000);

  it('--collect without --queue, and a URL that is not Redis: coded errors', async () => {
    const q = join(dir, 'q4.csv');
    writeFileSync(q, queries(3));
    let r = await run(['batch', ADD, q, '--collect', '-o', join(dir, 'x.csv')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--collect .* give the queue with --queue/);
    r = await run(['batch', ADD, q, '--queue', 'http://x']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not a Redis URL/);
  });
});
