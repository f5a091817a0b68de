/** Run the CLI in-process (runCli) and capture what it prints: the shared helper of the CLI tests. */
import { runCli } from '../../src/cli/program.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function run(args: string[]): Promise<CliRun> {
  let out = '',
    err = '';
  const code = await runCli(args, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}
