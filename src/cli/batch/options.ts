/**
 * The batch command's options: one table gives each option's flag, help and default (the solver
 * options' rows, rules and defaults come from the options table, solve/options.ts). The
 * commander definition, the checked `Settings`, the record of the settings kept next to the
 * answers (resume.ts) and the `--resume` command line printed on an interrupt all come from it.
 */
import type { Command } from 'commander';
import { NetinvertError } from '../../errors.ts';
import type { Model } from '../../model.ts';
import type { DistanceKind } from '../../problem/query.ts';
import { defaultText, solverOption, type SolverOptionName } from '../../solve/options.ts';
import { parseBounds } from '../parse.ts';
import { readSolverOptions } from '../queryOptions.ts';

export type BatchMethod = 'lm' | 'adam' | 'milp';

/** The solver settings of a batch: the same for every query, and recorded with the answers. */
export interface Settings {
  method: BatchMethod;
  atol: number;
  rtol: number;
  seed: number;
  maxEvaluations: number;
  timeLimit: number;
  maxBoxes: number;
  distance: DistanceKind;
  prove: boolean;
  /** --bounds, by input name (sorted by name, so equal settings compare equal). */
  bounds: Record<string, [number, number]>;
}

/** A valued option: its key in commander's options object and in Settings. */
interface ValueOption {
  key: Exclude<keyof Settings, 'prove' | 'bounds'>;
  flag: string;
  arg: string;
  help: string;
  default: string;
}

/** A row of the options table, with batch's words added to its meaning. */
function fromTable(key: ValueOption['key'] & SolverOptionName, more = ''): ValueOption {
  const o = solverOption(key);
  return { key, flag: o.flag, arg: o.arg, help: o.meaning + more, default: defaultText(o) };
}

/** The valued solver options, in the order `--help` lists them. */
export const VALUE_OPTIONS: readonly ValueOption[] = [
  fromTable('method'),
  fromTable('atol'),
  fromTable('rtol'),
  fromTable('seed', ' (the same for every query)'),
  fromTable('maxEvaluations', ', per query'),
  fromTable('timeLimit', ', per query'),
  { key: 'distance', flag: '--distance', arg: '<kind>', help: 'distance to a closest: reference: l2, l1 or linf', default: 'l2' },
  fromTable('maxBoxes', ', per query'),
];

const DISTANCES: readonly DistanceKind[] = ['l2', 'l1', 'linf'];

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Adds the solver options (the table, --bounds and --prove) to `cmd`. */
export function addSolverOptions(cmd: Command): Command {
  cmd.option('--bounds <list>', 'bounds of unknowns, for every query: name=lo:hi,...', collect, []);
  for (const o of VALUE_OPTIONS) {
    cmd.option(`${o.flag} ${o.arg}`, o.help, o.default);
    if (o.key === 'distance') cmd.option('--prove', 'after each search, prove: infeasibility, or that the solution list is complete');
  }
  return cmd;
}

/** The options as given (commander's object, or a caller's), checked against each other and the model. */
export function readSettings(opts: Record<string, unknown>, model: Model): Settings {
  const given = (o: ValueOption): unknown => opts[o.key] ?? o.default;
  const opt = (key: ValueOption['key']): ValueOption => VALUE_OPTIONS.find((o) => o.key === key)!;
  const solver = readSolverOptions(opts);
  const distance = String(given(opt('distance'))) as DistanceKind;
  if (!DISTANCES.includes(distance)) throw new NetinvertError('bad_query', `--distance must be l2, l1 or linf (got "${distance}")`);
  const bounds = parseBounds((opts.bounds as string[] | undefined) ?? []);
  const s: Settings = {
    method: solver.method,
    atol: solver.atol,
    rtol: solver.rtol,
    seed: solver.seed,
    maxEvaluations: solver.maxEvaluations,
    timeLimit: solver.timeLimit,
    maxBoxes: solver.maxBoxes,
    distance,
    prove: opts.prove === true,
    bounds: Object.fromEntries(Object.keys(bounds).sort().map((k) => [k, bounds[k]])),
  };
  const net = model.network;
  for (const k of Object.keys(s.bounds)) {
    if (net.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `--bounds names "${k}", which is not an input of the model; its inputs are: ${net.inputNames.join(', ')}`, {
        input: k,
      });
    }
    const [lo, hi] = s.bounds[k];
    if (lo > hi) throw new NetinvertError('bad_bounds', `--bounds ${k}: lower bound ${lo} is above upper bound ${hi}`, { input: k });
  }
  return s;
}

/** `--bounds` as written on a command line ("(none)" for no bounds). */
export function boundsText(b: Record<string, [number, number]>): string {
  const items = Object.keys(b).map((k) => `${k}=${b[k][0]}:${b[k][1]}`);
  return items.length ? items.join(',') : '(none)';
}

/** Each setting as the user would write it: [flag, value shown], for messages. */
export function settingWords(s: Settings): [string, string][] {
  const words: [string, string][] = VALUE_OPTIONS.map((o) => [o.flag, String(s[o.key])]);
  words.push(['--prove', s.prove ? 'on' : 'off'], ['--bounds', boundsText(s.bounds)]);
  return words;
}

/**
 * The options to repeat on a command line for these settings: the ones that differ from the
 * defaults. Every setting is normalised (numbers parsed), so `--atol 0.000001` is not repeated.
 */
export function settingArgs(s: Settings): string[] {
  const words: string[] = [];
  if (Object.keys(s.bounds).length) words.push('--bounds', boundsText(s.bounds));
  for (const o of VALUE_OPTIONS) {
    const d = o.key === 'method' || o.key === 'distance' ? o.default : Number(o.default);
    if (s[o.key] !== d) words.push(o.flag, String(s[o.key]));
  }
  if (s.prove) words.push('--prove');
  return words;
}
