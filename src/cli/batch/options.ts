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
import { parseBounds, parseInteger, parseNames, parseNumber } from '../parse.ts';
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
  /** Boxes per range end of an infeasible / best-compromise row's explanation (the why column); 0: none. */
  explainBoxes: number;
  distance: DistanceKind;
  prove: boolean;
  /** --bounds, by input name (sorted by name, so equal settings compare equal). */
  bounds: Record<string, [number, number]>;
  /**
   * Counterfactual controls (solve's flags), for every row with a closest: reference: --diverse K,
   * --diverse-radius, --sparse, and the monotone and fixed inputs. Present only when given, so the
   * settings of a batch without them are what they were (and spread into invert() add nothing).
   */
  diverse?: number;
  diverseRadius?: number;
  sparse?: boolean;
  onlyIncrease?: string[];
  onlyDecrease?: string[];
  fixed?: string[];
}

/** The settings that are not valued options of the table below: flags and lists. */
type OtherSetting = 'prove' | 'bounds' | 'diverse' | 'diverseRadius' | 'sparse' | 'onlyIncrease' | 'onlyDecrease' | 'fixed';

/** A valued option: its key in commander's options object and in Settings. */
interface ValueOption {
  key: Exclude<keyof Settings, OtherSetting>;
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
  fromTable('explainBoxes', '; the why and explanation columns'),
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
  // counterfactual controls: solve's flags, applied to every row with a closest: reference
  return cmd
    .option('--diverse <k>', 'counterfactuals, rows with a closest: reference: K solutions near it and far from each other (the counterfactual column)')
    .option('--diverse-radius <r>', 'with --diverse: how far from the reference they may be (distance units; default twice the closest)')
    .option('--sparse', 'counterfactuals, rows with a closest: reference: change as few of its inputs as possible')
    .option('--only-increase <list>', 'counterfactuals: inputs that may only grow from the row\'s reference value', collect, [])
    .option('--only-decrease <list>', 'counterfactuals: inputs that may only shrink from the row\'s reference value', collect, [])
    .option('--fixed <list>', 'counterfactuals: inputs held at the row\'s reference value', collect, []);
}

/** The options as given (commander's object, or a caller's), checked against each other and the model. */
export function readSettings(opts: Record<string, unknown>, model: Model): Settings {
  const given = (o: ValueOption): unknown => opts[o.key] ?? o.default;
  const opt = (key: ValueOption['key']): ValueOption => VALUE_OPTIONS.find((o) => o.key === key)!;
  const solver = readSolverOptions(opts);
  const distance = String(given(opt('distance'))) as DistanceKind;
  if (!DISTANCES.includes(distance)) throw new NetinvertError('bad_query', `--distance must be l2, l1 or linf (got "${distance}")`);
  const bounds = parseBounds((opts.bounds as string[] | undefined) ?? []);
  const names = (k: string, flag: string): string[] => parseNames((opts[k] as string[] | undefined) ?? [], flag);
  const s: Settings = {
    method: solver.method,
    atol: solver.atol,
    rtol: solver.rtol,
    seed: solver.seed,
    maxEvaluations: solver.maxEvaluations,
    timeLimit: solver.timeLimit,
    maxBoxes: solver.maxBoxes,
    explainBoxes: solver.explainBoxes,
    distance,
    prove: opts.prove === true,
    bounds: Object.fromEntries(Object.keys(bounds).sort().map((k) => [k, bounds[k]])),
  };
  if (opts.diverse !== undefined) s.diverse = parseInteger(opts.diverse, '--diverse', { min: 1 });
  if (opts.diverseRadius !== undefined) {
    const r = parseNumber(opts.diverseRadius, '--diverse-radius');
    if (!(r > 0 && Number.isFinite(r))) throw new NetinvertError('bad_query', `--diverse-radius must be a finite number > 0 (got ${r})`, { option: 'diverseRadius' });
    if (s.diverse === undefined) throw new NetinvertError('bad_usage', '--diverse-radius is the radius of --diverse: give --diverse K with it');
    s.diverseRadius = r;
  }
  if (opts.sparse === true) s.sparse = true;
  for (const [k, flag] of [['onlyIncrease', '--only-increase'], ['onlyDecrease', '--only-decrease'], ['fixed', '--fixed']] as const) {
    const list = names(k, flag);
    if (list.length) s[k] = list;
  }
  const net = model.network;
  for (const [flag, list] of [['--only-increase', s.onlyIncrease], ['--only-decrease', s.onlyDecrease], ['--fixed', s.fixed]] as const) {
    for (const k of list ?? []) {
      if (net.inputIndex(k) < 0) {
        throw new NetinvertError('unknown_input', `${flag} names "${k}", which is not an input of the model; its inputs are: ${net.inputNames.join(', ')}`, { input: k });
      }
    }
  }
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
  // settings recorded by an older netinvert lack the counterfactual controls: they were off
  words.push(
    ['--diverse', s.diverse ? String(s.diverse) : 'off'],
    ['--diverse-radius', s.diverseRadius ? String(s.diverseRadius) : '(default)'],
    ['--sparse', s.sparse ? 'on' : 'off'],
    ['--only-increase', (s.onlyIncrease ?? []).join(',') || '(none)'],
    ['--only-decrease', (s.onlyDecrease ?? []).join(',') || '(none)'],
    ['--fixed', (s.fixed ?? []).join(',') || '(none)'],
  );
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
  if (s.diverse) words.push('--diverse', String(s.diverse));
  if (s.diverseRadius) words.push('--diverse-radius', String(s.diverseRadius));
  if (s.sparse) words.push('--sparse');
  if (s.onlyIncrease?.length) words.push('--only-increase', s.onlyIncrease.join(','));
  if (s.onlyDecrease?.length) words.push('--only-decrease', s.onlyDecrease.join(','));
  if (s.fixed?.length) words.push('--fixed', s.fixed.join(','));
  return words;
}

/** Whether the settings ask for a counterfactual control (applied to rows with a closest: reference). */
export function hasCounterfactual(s: Settings): boolean {
  return s.diverse !== undefined || s.sparse === true || !!s.onlyIncrease?.length || !!s.onlyDecrease?.length || !!s.fixed?.length;
}
