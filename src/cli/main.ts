#!/usr/bin/env node
/** Entry point: the only place that calls process.exit. */
import { runCli } from './program.ts';

// `netinvert … | head` closes the pipe early: that is not an error worth a stack trace
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const code = await runCli(
  process.argv.slice(2),
  {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
  },
  { interruptible: true },
);
process.exitCode = code;
