/**
 * The query and solver flags that `solve` and `plot` share: one definition. The solver flags,
 * their defaults and help come from the options table (solve/options.ts), which batch's
 * options (batch/options.ts) read too; readSolverOptions turns commander's strings into checked
 * options with the one number reader (parse.ts) and validateOptions.
 */
import type { Command } from 'commander';
import { defaultText, SOLVER_OPTIONS, validateOptions, type OptionSpec, type SolverOptionName, type SolverOptions } from '../solve/options.ts';
import { parseNumber } from './parse.ts';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The table's options that are command-line flags (the rest are library-only tuning knobs). */
export const CLI_SOLVER_OPTIONS: readonly OptionSpec[] = SOLVER_OPTIONS.filter((o) => o.name !== 'maxStarts' && o.name !== 'maxRepresentatives' && o.name !== 'explainBoxes');

/** Adds the table's solver flags to `cmd`, with `--prove` (its help given) just before --max-boxes. */
export function addSolverFlags(cmd: Command, proveHelp: string, help: (o: OptionSpec) => string = (o) => o.meaning): Command {
  for (const o of CLI_SOLVER_OPTIONS) {
    if (o.name === 'maxBoxes') cmd.option('--prove', proveHelp);
    cmd.option(`${o.flag} ${o.arg}`, help(o), defaultText(o));
  }
  return cmd;
}

/** Adds --meta, the query flags, the solver options and --prove (its help given by the command). */
export function addQueryOptions(cmd: Command, proveHelp: string): Command {
  cmd
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)')
    .option('--given <list>', 'known inputs: name=value,...', collect, [])
    .option('--want <list>', 'targets on outputs or linear forms: y=7, y=lo:hi, y>=v, y<=v, "y0 - y1 <= 0", "2*y0 + y3 >= 1.5"; weight with @w', collect, [])
    .option('--want-class <class>', 'classifier target: this output (a class\'s logit) beats every other by --margin: logit_k − logit_j ≥ margin for every j ≠ k')
    .option('--margin <m>', 'margin for --want-class', '0')
    .option('--any <clauses>', 'one of several clauses must hold: "A, B ; C" is (A and B) or C (repeatable: adds clauses)', collect, [])
    .option('--bounds <list>', 'bounds of unknowns: name=lo:hi,...', collect, [])
    .option('--subject-to <constraint>', 'linear constraint among inputs (repeatable): "x1 + x2 + x3 = 1", "x3 <= x4", "2*a - b >= 0.5", "a - b = 0:1"', collect, [])
    .option('--integer <list>', 'unknown inputs that take integer values only (inside their bounds): name,... (repeatable)', collect, [])
    .option('--categorical <name=values>', 'an unknown input that takes one of these values: thickness=1,2.5,4 (repeatable, one input each)', collect, [])
    .option('--one-hot <group=columns>', 'a one-hot group: exactly one of these inputs is 1, the others 0: color=red,green,blue (repeatable)', collect, [])
    .option('--closest-to <list>', 'reference point: name=value,... (return the closest solution)', collect, [])
    .option('--distance <kind>', 'distance to the reference: l2, l1 or linf', 'l2')
    .option('--diverse <k>', 'counterfactuals: K solutions near the reference and far from each other (greedy max-min)')
    .option('--diverse-radius <r>', 'with --diverse: how far from the reference they may be (distance units; default twice the closest)')
    .option('--sparse', 'counterfactuals: change as few of the reference\'s inputs as possible (exact with --method milp)')
    .option('--only-increase <list>', 'counterfactuals: inputs that may only grow from their reference value', collect, [])
    .option('--only-decrease <list>', 'counterfactuals: inputs that may only shrink from their reference value', collect, [])
    .option('--fixed <list>', 'counterfactuals: inputs held at their reference value', collect, [])
    .option('--distance-weights <list>', 'weights of the distance\'s terms: name=w,... (> 0, default 1)', collect, [])
    .option('--mad <csv>', 'distance units from data: each reference input\'s median absolute deviation in this CSV (DiCE)')
    .option('--prior <csv>', 'where plausible inputs lie: the mean, covariance and a sample of this CSV\'s input columns (half the starts drawn from it; solutions scored by Mahalanobis distance)')
    .option('--prior-mean <list>', 'a prior by hand: name=mean,... (with --prior-std)', collect, [])
    .option('--prior-std <list>', 'a prior by hand: name=std,... (> 0; with --prior-mean)', collect, []);
  return addSolverFlags(cmd, proveHelp).option('--warm-start <file>', 'learned inverse (from learn-inverse) whose prediction is the first start of the search');
}

/**
 * The solver options as commander holds them (strings, keyed by option name) read and checked:
 * numbers by parseNumber (blank text is an error, not 0), then every rule by validateOptions,
 * errors naming the flag. Options not given take the table's defaults.
 */
export function readSolverOptions(opts: Record<string, unknown>): SolverOptions {
  const given: Partial<Record<SolverOptionName, unknown>> = {};
  for (const o of SOLVER_OPTIONS) {
    const v = opts[o.name];
    if (v === undefined) continue;
    given[o.name] = o.kind === 'choice' ? String(v) : parseNumber(v, o.flag);
  }
  return validateOptions(given, 'cli');
}
