/**
 * The CLI's output channel and exit codes, in a file of their own so that commands can use them
 * without importing program.ts (which imports every command).
 *
 * Exit codes (docs/design.md): 0 solved, 1 error, 2 best-compromise, 3 infeasible, 4 unknown.
 */
import type { Status } from '../solve/result.ts';

/** Where a command prints: stdout and stderr lines, injectable so tests run the CLI in-process. */
export interface IO {
  out(s: string): void;
  err(s: string): void;
}

export const EXIT: Record<Status | 'error', number> = {
  solved: 0,
  error: 1,
  'best-compromise': 2,
  infeasible: 3,
  unknown: 4,
};
