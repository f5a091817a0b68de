/**
 * A real redis-server for the queue tests, started on a free loopback port with AOF on in a
 * temporary folder (Debian's redis-server; .ci/run installs it: without it the tests fail, they
 * do not skip), and `netinvert worker` child processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server of our own: AOF on (fsync every write), no RDB snapshots, in a temporary folder. */
export class RedisServer {
  proc: ChildProcess | null = null;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }
  async start(): Promise<void> {
    const which = spawnSync('redis-server', ['--version']);
    if (which.error) throw new Error('redis-server is not installed: these tests need it (apt-get install redis-server; .ci/run installs it)');
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      { stdio: 'ignore' },
    );
    const c = new Redis(this.url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
    c.on('error', () => {}); // refused until the server listens
    try {
      for (let i = 0; ; i++) {
        try {
          await c.connect().catch(() => {});
          if ((await c.ping()) === 'PONG') break;
        } catch {
          /* not yet */
        }
        if (i > 200) throw new Error('redis-server did not start');
        await sleep(50);
      }
    } finally {
      c.disconnect();
    }
  }
  /** Stop the server: SIGTERM is a clean stop (Redis writes the AOF and exits), SIGKILL a crash. */
  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(sig);
    await gone;
    this.proc = null;
  }
}

const TSX = import.meta.resolve('tsx');

const logs = new WeakMap<ChildProcess, { text: string }>();

/** `netinvert [args]` as a child process; what it prints is kept for output(). */
export function cliProcess(args: string[]): ChildProcess {
  const p = spawn(process.execPath, ['--import', TSX, 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = { text: '' };
  logs.set(p, log);
  p.stdout!.on('data', (b: Buffer) => (log.text += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (log.text += b.toString()));
  return p;
}

/** What a cliProcess printed so far (stdout and stderr). */
export function output(p: ChildProcess): string {
  return logs.get(p)?.text ?? '';
}

/** `netinvert worker URL --concurrency 1 --lock-ms 1000`. */
export function worker(url: string, ...extra: string[]): ChildProcess {
  return cliProcess(['worker', url, '--concurrency', '1', '--lock-ms', '1000', ...extra]);
}

/** Resolves with the exit code (or the signal) of a child process. */
export function exited(p: ChildProcess): Promise<number | string> {
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  if (p.signalCode !== null) return Promise.resolve(p.signalCode);
  return new Promise((r) => p.once('exit', (code, sig) => r(code ?? sig ?? -1)));
}

export async function stopWorker(w: ChildProcess): Promise<void> {
  if (w.exitCode !== null || w.signalCode !== null) return;
  const gone = exited(w);
  w.kill('SIGTERM');
  await gone;
}
