/**
 * The query and solver flags that `solve` and `plot` share: one definition, defaults from
 * INVERT_DEFAULTS (batch has its own table in batch/options.ts, for its resume checks).
 */
import type { Command } from 'commander';
import { INVERT_DEFAULTS } from '../solve/invert.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds --meta, the query flags, the solver options and --prove (its help given by the command). */
export function addQueryOptions(cmd: Command, proveHelp: string): Command {
  return cmd
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)')
    .option('--given <list>', 'known inputs: name=value,...', collect, [])
    .option('--want <list>', 'targets on outputs or linear forms: y=7, y=lo:hi, y>=v, y<=v, "y0 - y1 <= 0", "2*y0 + y3 >= 1.5"; weight with @w', collect, [])
    .option('--any <clauses>', 'one of several clauses must hold: "A, B ; C" is (A and B) or C (repeatable: adds clauses)', collect, [])
    .option('--bounds <list>', 'bounds of unknowns: name=lo:hi,...', collect, [])
    .option('--closest-to <list>', 'reference point: name=value,... (return the closest solution)', collect, [])
    .option('--distance <kind>', 'distance to the reference: l2, l1 or linf', 'l2')
    .option('--method <m>', 'lm (bounded Levenberg–Marquardt), adam, or milp (exact, for ReLU-type nets)', INVERT_DEFAULTS.method)
    .option('--atol <x>', 'absolute tolerance', INVERT_DEFAULTS.atol.toExponential())
    .option('--rtol <x>', 'relative tolerance', INVERT_DEFAULTS.rtol.toExponential())
    .option('--seed <n>', 'seed for the quasi-random starts', String(INVERT_DEFAULTS.seed))
    .option('--max-evaluations <n>', 'work budget in point evaluations', String(INVERT_DEFAULTS.maxEvaluations))
    .option('--time-limit <s>', 'wall-clock limit in seconds', String(INVERT_DEFAULTS.timeLimit))
    .option('--prove', proveHelp)
    .option('--max-boxes <n>', 'branch-and-bound budget in boxes (with --prove)', '100000')
    .option('--warm-start <file>', 'learned inverse (from learn-inverse) whose prediction is the first start of the search');
}
