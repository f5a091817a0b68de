/**
 * `netinvert worker redis://host:6379/0 [--concurrency N]`: answer queued batch queries (see
 * `batch --queue`). Runs until Ctrl-C / SIGTERM, which lets the queries under way finish.
 */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { IO } from '../io.ts';
import { parseInteger } from '../parse.ts';

const whole = (v: unknown, flag: string, min: number): number => parseInteger(v, flag, { min, code: 'bad_argument' });

export function defineWorkerCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  return cmd
    .description('answer the queries that `batch --queue URL` put in Redis, on this machine (any number of machines may run one)')
    .argument('<url>', 'the Redis server: redis://host:port/db')
    .option('--concurrency <n>', 'queries answered at once, one per thread (default: the number of cores)', String(availableParallelism()))
    .option('--lock-ms <ms>', 'how long a job of a worker that stopped answering (killed, cut off) stays claimed before another worker takes it', '30000')
    .addHelpText(
      'after',
      `
Each query is answered exactly as a local batch answers it (the same rows). A worker killed
mid-query loses nothing: after --lock-ms its query goes to another worker. A malformed query is
answered with an error row, not retried. Redis should persist its data (appendonly yes).

Examples:
  netinvert batch model.onnx queries.csv --queue redis://queue-host:6379/0
  netinvert worker redis://queue-host:6379/0 --concurrency 8
  netinvert batch model.onnx queries.csv --queue redis://queue-host:6379/0 --collect -o answers.csv`,
    )
    .action(async (url: string, opts: Record<string, unknown>) => {
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let clean = false;
      try {
        // BullMQ and ioredis load here, not with every command (about a second of start-up)
        const { runQueueWorker } = await import('../../queue/worker.ts');
        clean = await runQueueWorker(url, {
          concurrency: whole(opts.concurrency, '--concurrency', 1),
          lockMs: whole(opts.lockMs, '--lock-ms', 100),
          log: io.err,
          signal: ac.signal,
        });
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      // 1: stopped while Redis was unreachable (the answers not stored are answered again elsewhere)
      done(clean ? 0 : 1);
    });
}
