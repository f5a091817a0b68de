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
import { defaultText, solverOption, type RankOrder, type SolverOptionName } from '../../solve/options.ts';
import { createHash } from 'node:crypto';
import { parseBounds, parseInteger, parseNames, parseNumber, parseValueLists } from '../parse.ts';
import { readDiscreteDeclarations } from '../../formats/discrete.ts';
import { restrictStats, type InputStats } from '../../problem/prior.ts';
import { priorFromFlags } from '../commands/solve.ts';
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
  /** --rank: the order of each query's solution rows (auto, plausibility, spread, distance). */
  rank: RankOrder;
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
  /**
   * Discrete unknowns for every row (--integer, --categorical, --one-hot, solve's grammar): each
   * row's defaults, as a sidecar's are (problem/discrete.ts withDiscreteDefaults); a row's own
   * integer / categorical:<input> / one-hot:<group> cells win. Present only when given.
   */
  integers?: string[];
  categorical?: Record<string, number[]>;
  oneHot?: Record<string, string[]>;
  /**
   * One prior for the whole run (--prior FILE.csv, or --prior-mean/--prior-std): every row's
   * Query.prior, over the model's inputs; priorArgs are the flags that gave it (for the resume command).
   */
  prior?: InputStats;
  priorArgs?: string[];
}

/** The settings that are not valued options of the table below: flags and lists. */
type OtherSetting =
  | 'prove'
  | 'bounds'
  | 'diverse'
  | 'diverseRadius'
  | 'sparse'
  | 'onlyIncrease'
  | 'onlyDecrease'
  | 'fixed'
  | 'integers'
  | 'categorical'
  | 'oneHot'
  | 'prior'
  | 'priorArgs';

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
  fromTable('rank', '; the order of a query\'s solution rows'),
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
    .option('--fixed <list>', 'counterfactuals: inputs held at the row\'s reference value', collect, [])
    // discrete unknowns and a prior for every row (solve's flags and grammar)
    .option('--integer <list>', 'every row: unknown inputs that take integer values only: name,... (repeatable; a row\'s integer column adds more)', collect, [])
    .option('--categorical <name=values>', 'every row: an unknown input that takes one of these values: thickness=1,2.5,4 (repeatable; a row\'s categorical:<input> cell wins)', collect, [])
    .option('--one-hot <group=columns>', 'every row: a one-hot group, exactly one of these inputs is 1: color=red,green,blue (repeatable; a row\'s one-hot:<group> cell wins)', collect, [])
    .option('--prior <csv>', 'every row: where plausible inputs lie, from this CSV\'s input columns (as solve --prior)')
    .option('--prior-mean <list>', 'every row: a prior by hand: name=mean,... (with --prior-std)', collect, [])
    .option('--prior-std <list>', 'every row: a prior by hand: name=std,... (> 0; with --prior-mean)', collect, []);
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
    rank: solver.rank,
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
  readDiscreteFlags(opts, model, s);
  readPriorFlags(opts, model, s);
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

/** --integer, --categorical, --one-hot: solve's parsers, then the model's names (formats/discrete.ts, as a sidecar's). */
function readDiscreteFlags(opts: Record<string, unknown>, model: Model, s: Settings): void {
  const list = (k: string): string[] => (Array.isArray(opts[k]) ? (opts[k] as string[]) : []);
  const raw = {
    integers: parseNames(list('integer'), '--integer'),
    categorical: parseValueLists(list('categorical'), '--categorical', 'number'),
    oneHot: parseValueLists(list('oneHot'), '--one-hot', 'name'),
  };
  const flag = (field: string): string => field.replace(/^integers/, '--integer').replace(/^categorical/, '--categorical').replace(/^oneHot/, '--one-hot');
  const d = readDiscreteDeclarations(
    {
      ...(raw.integers.length ? { integers: raw.integers } : {}),
      ...(Object.keys(raw.categorical).length ? { categorical: raw.categorical } : {}),
      ...(Object.keys(raw.oneHot).length ? { oneHot: raw.oneHot } : {}),
    },
    model.network.inputNames,
    (field, msg, code) => {
      throw new NetinvertError(code ?? 'bad_query', `${flag(field)}: ${msg}`, { option: flag(field).replace(/\[.*$/, '') });
    },
  );
  if (d?.integers?.length) s.integers = d.integers;
  if (d?.categorical) s.categorical = d.categorical;
  if (d?.oneHot) s.oneHot = d.oneHot;
}

/** --prior FILE.csv (its input columns) or --prior-mean/--prior-std: one prior for every row, checked against the model. */
function readPriorFlags(opts: Record<string, unknown>, model: Model, s: Settings): void {
  const raw = priorFromFlags(opts);
  if (!raw) return;
  const inputs = model.network.inputNames;
  if (typeof opts.prior === 'string') {
    // a CSV may hold output and id columns too: the prior is over the model's inputs only
    const prior = restrictStats(raw, inputs);
    if (!prior.names.length) {
      throw new NetinvertError('bad_argument', `${opts.prior}: no column is an input of the model (${inputs.join(', ')}), so it gives no prior`, { file: opts.prior });
    }
    s.prior = prior;
    s.priorArgs = ['--prior', opts.prior];
    return;
  }
  for (const k of raw.names) {
    if (!inputs.includes(k)) throw new NetinvertError('unknown_input', `--prior-mean names "${k}", which is not an input of the model; its inputs are: ${inputs.join(', ')}`, { input: k });
  }
  s.prior = raw;
  s.priorArgs = [
    '--prior-mean',
    raw.names.map((k, i) => `${k}=${raw.mean[i]}`).join(','),
    '--prior-std',
    raw.names.map((k, i) => `${k}=${raw.std![i]}`).join(','),
  ];
}

/** The prior as the settings' words show it: its inputs and a hash of its numbers (two priors compare equal when these do). */
function priorText(p: InputStats | undefined): string {
  if (!p) return '(none)';
  // every field, keys sorted: a field added to InputStats later counts too
  const canon = JSON.stringify(p, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])) : v));
  return `over ${p.names.join(',')} (sha256 ${createHash('sha256').update(canon).digest('hex').slice(0, 16)})`;
}

/** The discrete flags as written on a command line: [flag, value] pairs, one per repeat. */
function discreteArgs(s: Settings): [string, string][] {
  return [
    ...(s.integers?.length ? ([['--integer', s.integers.join(',')]] as [string, string][]) : []),
    ...Object.entries(s.categorical ?? {}).map(([k, v]): [string, string] => ['--categorical', `${k}=${v.join(',')}`]),
    ...Object.entries(s.oneHot ?? {}).map(([g, c]): [string, string] => ['--one-hot', `${g}=${c.join(',')}`]),
  ];
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
  // settings recorded before discrete flags and the run's prior existed: none were given
  const d = discreteArgs(s);
  words.push(
    ['--integer', d.filter(([f]) => f === '--integer').map(([, v]) => v).join(' ') || '(none)'],
    ['--categorical', d.filter(([f]) => f === '--categorical').map(([, v]) => v).join(' ') || '(none)'],
    ['--one-hot', d.filter(([f]) => f === '--one-hot').map(([, v]) => v).join(' ') || '(none)'],
    ['--prior', priorText(s.prior)],
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
  for (const [f, v] of discreteArgs(s)) words.push(f, v);
  if (s.priorArgs?.length) words.push(...s.priorArgs);
  return words;
}

/** Whether the settings ask for a counterfactual control (applied to rows with a closest: reference). */
export function hasCounterfactual(s: Settings): boolean {
  return s.diverse !== undefined || s.sparse === true || !!s.onlyIncrease?.length || !!s.onlyDecrease?.length || !!s.fixed?.length;
}
