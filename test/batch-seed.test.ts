/**
 * Per-query seeds (issue 14): each query's solver seed is FNV-1a32("<seed>\0<id>"), so a query's
 * rows depend on the model, the settings, its cells and its id, and on nothing about which thread,
 * process or machine took it, or when. Oracles: an independent FNV-1a (BigInt arithmetic, checked
 * against the published test vectors), `invert` called directly with that seed on each row's
 * query, the same file in reverse order, and --workers 1 against --workers 2 and a real Redis queue.
 * The query (sum = 7 with both a and b unknown on seed-add) has a line of solutions, so the
 * points found do depend on the seed: a wrong seed gives other rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/program.ts';
import { answerRows, csvLine } from '../src/cli/batch/answers.ts';
import { readSettings } from '../src/cli/batch/options.ts';
import { readQueries, rowQuery } from '../src/cli/batch/queries.ts';
import { querySeed } from '../src/cli/batch/solveQuery.ts';
import { loadModelFile } from '../src/cli/loadModelFile.ts';
import { invert } from '../src/api/invert.ts';
import { freePort, RedisServer, stopWorker, worker } from './util/redis.ts';

const ADD = 'models/seed-add.json';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

/** FNV-1a, 32 bits, over UTF-8 bytes, in BigInt arithmetic (an implementation independent of the library's). */
function fnv1a32(text: string): number {
  let h = 2166136261n;
  for (const b of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(b)) * 16777619n) % 4294967296n;
  return Number(h);
}

const dir = mkdtempSync(join(tmpdir(), 'ni-seed-'));
const IDS = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'é"x, y'];
const idCell = (id: string): string => (/[",]/.test(id) ? `"${id.replace(/"/g, '""')}"` : id);
const QUERIES = 'id,sum\n' + IDS.map((id) => `${idCell(id)},7\n`).join('');

describe('per-query seeds: FNV-1a32("<seed>\\0<id>")', () => {
  it('the reference FNV-1a gives the published test vectors, and querySeed equals it on "<seed>\\0<id>"', () => {
    // Fowler–Noll–Vo test vectors (draft-eastlake-fnv): FNV-1a 32 of "", "a", "foobar"
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.string({ unit: 'grapheme' }), (seed, id) => {
        expect(querySeed(seed, id)).toBe(fnv1a32(`${seed}\0${id}`));
      }),
      { seed: 20261205, numRuns: 500 },
    );
  });

  it("each query's rows are invert's with its own seed; the same query under two ids gets other points; file order does not matter", async () => {
    const q = join(dir, 'q.csv'),
      qr = join(dir, 'qr.csv');
    writeFileSync(q, QUERIES);
    writeFileSync(qr, 'id,sum\n' + [...IDS].reverse().map((id) => `${idCell(id)},7\n`).join(''));
    const a = join(dir, 'a.csv'),
      ar = join(dir, 'ar.csv');
    for (const [qq, aa] of [
      [q, a],
      [qr, ar],
    ]) {
      const r = await run(['batch', ADD, qq, '-o', aa, '--seed', '5', '--workers', '1']);
      expect(r.code, r.err).toBe(0);
    }
    const model = loadModelFile(ADD);
    const s = readSettings({ seed: '5' }, model);
    const { layout, rows } = readQueries(QUERIES, model, q);
    let expected = answerRows(model, 'x', invert(model, rowQuery(layout, rows[0], s), { ...s, method: 'lm', seed: 0 }), false)[0].join();
    const points = new Set<string>();
    const text = readFileSync(a, 'utf8');
    const textR = readFileSync(ar, 'utf8');
    for (const row of rows) {
      const result = invert(model, rowQuery(layout, row, s), { ...s, method: 'lm', seed: fnv1a32(`5\0${row.id}`) });
      expect(result.status).toBe('solved');
      const want = answerRows(model, row.id, result, false).map(csvLine).join('');
      expect(text).toContain(want);
      expect(textR).toContain(want);
      points.add(want.slice(want.indexOf(',')));
      expected = want;
    }
    expect(expected.length).toBeGreaterThan(0);
    // the queries are the same but for the id: their seeds, so their points, differ
    expect(points.size).toBe(IDS.length);
    // the two files hold the same rows, in their own query order
    expect(text.split('\n').slice(1).sort()).toEqual(textR.split('\n').slice(1).sort());
  }, 60_000);
});

describe('--workers 1, --workers 2 and a Redis queue write byte-identical answers', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'ni-seed-redis-')));
    await redis.start();
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it('the same file three ways, with --prove too', async () => {
    const q = join(dir, 'q3.csv');
    writeFileSync(q, QUERIES + 'v1,70\nv2,3\n');
    for (const extra of [[], ['--prove']]) {
      const files: string[] = [];
      for (const w of ['1', '2']) {
        const a = join(dir, `w${w}${extra.join('')}.csv`);
        const r = await run(['batch', ADD, q, '-o', a, '--seed', '9', '--workers', w, ...extra]);
        expect(r.code, r.err).toBe(extra.length ? 3 : 2); // v1 is above what the net reaches: best-compromise, or proven infeasible
        files.push(readFileSync(a, 'utf8'));
      }
      expect((await run(['batch', ADD, q, '--seed', '9', '--queue', redis.url, ...extra])).code).toBe(0);
      const w = worker(redis.url);
      try {
        const a = join(dir, `queue${extra.join('')}.csv`);
        const r = await run(['batch', ADD, q, '--seed', '9', '--queue', redis.url, '--collect', '-o', a, ...extra]);
        expect(r.code, r.err).toBe(extra.length ? 3 : 2);
        files.push(readFileSync(a, 'utf8'));
      } finally {
        await stopWorker(w);
      }
      expect(files[1]).toBe(files[0]);
      expect(files[2]).toBe(files[0]);
      expect(files[0].split('\n').length).toBeGreaterThan(IDS.length + 2);
    }
  }, 120_000);
});

describe('--resume and the seeding scheme', () => {
  for (const [what, edit] of [
    ['a file with no seeding (an older netinvert: one seed for every query)', (m: Record<string, unknown>) => void delete m.seeding],
    ['a file seeded by another scheme', (m: Record<string, unknown>) => void (m.seeding = 'sequential')],
  ] as const) {
    it(`${what}: refused with resume_mismatch, and the file is left alone`, async () => {
      const d = mkdtempSync(join(tmpdir(), 'ni-seed-resume-'));
      const q = join(d, 'q.csv');
      writeFileSync(q, QUERIES);
      const a = join(d, 'a.csv');
      expect((await run(['batch', ADD, q, '-o', a])).code).toBe(0);
      const meta = JSON.parse(readFileSync(`${a}.meta.json`, 'utf8')) as Record<string, unknown>;
      expect(meta.seeding).toBe('fnv1a32(seed NUL id)');
      edit(meta);
      writeFileSync(`${a}.meta.json`, JSON.stringify(meta));
      // what an interrupted run leaves: the header and u1's rows (all of them: u1 is answered)
      const lines = readFileSync(a, 'utf8').split('\n');
      const cut = [lines[0], ...lines.filter((l) => l.startsWith('u1,'))].join('\n') + '\n';
      writeFileSync(a, cut);
      const r = await run(['batch', ADD, q, '-o', a, '--resume']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error \[resume_mismatch\]: .*seeded another way/);
      expect(readFileSync(a, 'utf8')).toBe(cut);
      // the same file with the scheme it was made with resumes
      meta.seeding = 'fnv1a32(seed NUL id)';
      writeFileSync(`${a}.meta.json`, JSON.stringify(meta));
      expect((await run(['batch', ADD, q, '-o', a, '--resume'])).code).toBe(0);
    }, 30_000);
  }
});
