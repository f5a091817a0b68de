#!/usr/bin/env node
/** Entry point: the only place that calls process.exit. */
import { runCli } from './program.ts';

const code = await runCli(process.argv.slice(2), {
  out: (s) => process.stdout.write(s + '\n'),
  err: (s) => process.stderr.write(s + '\n'),
});
process.exitCode = code;
