/**
 * The solver's options: ONE table gives each option's name, command-line flag, default and
 * meaning, and ONE validateOptions() checks them. The library (invert, certify, invertMilp), every
 * command (solve, plot, batch) and the help text all read this table, so a default or a rule is
 * written once. The shape follows Ceres Solver's Solver::Options (Agarwal, Mierle et al., "Ceres
 * Solver", ceres-solver.org/nnls_solving.html#solver-options): a plain record of named settings,
 * each documented with its default, and a single IsValid() that names the first bad one.
 */
import { NetinvertError } from '../errors.ts';
import { DEFAULT_ATOL, DEFAULT_RTOL } from '../problem/query.ts';

/** What an option holds, and so how a command line's text is read and checked. */
type OptionKind =
  | { kind: 'choice'; choices: readonly string[] }
  /** a real number ≥ min (or > min when `above`); Infinity only when `infinite` */
  | { kind: 'number'; min: number; above?: boolean; infinite?: boolean }
  /** a whole number ≥ min */
  | { kind: 'integer'; min: number };

export type OptionSpec = OptionKind & {
  /** The key in InvertOptions / CertifyOptions. */
  readonly name: SolverOptionName;
  /** The command-line flag and its argument's name. */
  readonly flag: string;
  readonly arg: string;
  readonly default: string | number;
  /** One line: what the option means (the help text). */
  readonly meaning: string;
};

export type SolverOptionName = 'method' | 'rank' | 'atol' | 'rtol' | 'seed' | 'maxEvaluations' | 'timeLimit' | 'maxStarts' | 'maxRepresentatives' | 'maxBoxes' | 'explainBoxes';

/**
 * The table, in the order `--help` lists the options. A target is met when
 * |y − t| ≤ atol + rtol·|t|; a Jacobian row counts as one evaluation; maxEvaluations is the budget
 * of the search and, under certify, again of the proof; timeLimit covers both.
 */
export const SOLVER_OPTIONS: readonly OptionSpec[] = Object.freeze([
  {
    name: 'method',
    flag: '--method',
    arg: '<m>',
    kind: 'choice',
    choices: ['lm', 'adam', 'milp'],
    default: 'lm',
    meaning: 'lm (bounded Levenberg–Marquardt), adam, or milp (exact, for ReLU-type nets)',
  },
  {
    name: 'rank',
    flag: '--rank',
    arg: '<r>',
    kind: 'choice',
    choices: ['auto', 'trust', 'plausibility', 'spread', 'distance'],
    default: 'auto',
    meaning:
      'order of the solutions: trust (the model\'s likely error there, from its training residuals, smallest first), plausibility (Mahalanobis distance to the prior, smallest first), spread (each next one farthest from those before), distance (to --closest-to), or auto (distance with a reference, else trust when the model stores its residuals, else plausibility with a prior, else by value)',
  },
  { name: 'atol', flag: '--atol', arg: '<x>', kind: 'number', min: 0, default: DEFAULT_ATOL, meaning: 'absolute tolerance' },
  { name: 'rtol', flag: '--rtol', arg: '<x>', kind: 'number', min: 0, default: DEFAULT_RTOL, meaning: 'relative tolerance' },
  { name: 'seed', flag: '--seed', arg: '<n>', kind: 'integer', min: -Number.MAX_SAFE_INTEGER, default: 0, meaning: 'seed for the quasi-random starts' },
  {
    name: 'maxEvaluations',
    flag: '--max-evaluations',
    arg: '<n>',
    kind: 'number',
    min: 0,
    above: true,
    default: 200_000,
    meaning: 'work budget in point evaluations (search, then proof)',
  },
  { name: 'timeLimit', flag: '--time-limit', arg: '<s>', kind: 'number', min: 0, above: true, infinite: true, default: 60, meaning: 'wall-clock limit in seconds' },
  { name: 'maxStarts', flag: '--max-starts', arg: '<n>', kind: 'integer', min: 1, default: 256, meaning: 'most starts of the multi-start search' },
  { name: 'maxRepresentatives', flag: '--max-representatives', arg: '<n>', kind: 'integer', min: 1, default: 10, meaning: 'most representatives listed for a continuum of solutions' },
  { name: 'maxBoxes', flag: '--max-boxes', arg: '<n>', kind: 'integer', min: 1, default: 100_000, meaning: 'branch-and-bound budget in boxes (with --prove)' },
  {
    name: 'explainBoxes',
    flag: '--explain-boxes',
    arg: '<n>',
    kind: 'integer',
    min: 0,
    default: 500,
    meaning: 'boxes per range end and per conflict step when explaining an infeasible or best-compromise answer (certify: 10 times as many; 0: no explanation)',
  },
] satisfies OptionSpec[]);

/** The spec of one option. */
export function solverOption(name: SolverOptionName): OptionSpec {
  return SOLVER_OPTIONS.find((o) => o.name === name)!;
}

/** The defaults, derived from the table: one place for the library and the CLI. */
export const INVERT_DEFAULTS = Object.freeze({
  method: solverOption('method').default as 'lm',
  /** Order of the solutions (auto: distance with a reference, else plausibility with a prior, else by value). */
  rank: solverOption('rank').default as 'auto',
  atol: solverOption('atol').default as number,
  rtol: solverOption('rtol').default as number,
  seed: solverOption('seed').default as number,
  /** Work budget in point evaluations (a Jacobian row counts as one); a proof gets the same again. */
  maxEvaluations: solverOption('maxEvaluations').default as number,
  /** Wall-clock limit in seconds. */
  timeLimit: solverOption('timeLimit').default as number,
  maxStarts: solverOption('maxStarts').default as number,
  maxRepresentatives: solverOption('maxRepresentatives').default as number,
  maxBoxes: solverOption('maxBoxes').default as number,
  /** Branch-and-bound boxes per range end and conflict step of an explanation (certify: 10×). */
  explainBoxes: solverOption('explainBoxes').default as number,
});

export type RankOrder = 'auto' | 'trust' | 'plausibility' | 'spread' | 'distance';

export type SolverOptions = { method: 'lm' | 'adam' | 'milp'; rank: RankOrder } & { [K in Exclude<SolverOptionName, 'method' | 'rank'>]: number };

/** The default as a command line shows it ("1e-6", "200000"). */
export function defaultText(o: OptionSpec): string {
  return typeof o.default === 'number' && o.kind === 'number' && o.default !== 0 && Math.abs(o.default) < 1e-3 ? o.default.toExponential() : String(o.default);
}

/**
 * Check every option given (undefined ones take their defaults) and return the whole set.
 * `as` says how to name an option in an error: 'library' by its key ("maxEvaluations"), 'cli'
 * by its flag ("--max-evaluations"). The first bad option is a bad_query error that names it,
 * the value given and what is allowed.
 */
export function validateOptions(options: Partial<Record<SolverOptionName, unknown>>, as: 'library' | 'cli' = 'library'): SolverOptions {
  const out: Record<string, unknown> = {};
  for (const o of SOLVER_OPTIONS) {
    const v = options[o.name];
    out[o.name] = v === undefined ? o.default : checkOption(o, v, as === 'cli' ? o.flag : o.name);
  }
  return out as SolverOptions;
}

function checkOption(o: OptionSpec, v: unknown, what: string): unknown {
  const bad = (rule: string): never => {
    throw new NetinvertError('bad_query', `${what} must be ${rule} (got ${typeof v === 'string' ? `"${v}"` : String(v)})`, { option: o.name });
  };
  switch (o.kind) {
    case 'choice':
      if (typeof v !== 'string' || !o.choices.includes(v)) bad(o.choices.join(', ').replace(/, ([^,]*)$/, ' or $1'));
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad('a whole number');
      if ((v as number) < o.min) bad(`a whole number ≥ ${o.min}`);
      return v;
    case 'number': {
      const rule = `a number ${o.above ? '>' : '≥'} ${o.min}${o.name === 'timeLimit' ? ' seconds' : ''}`;
      if (typeof v !== 'number' || Number.isNaN(v)) bad(rule);
      const x = v as number;
      if (!(o.above ? x > o.min : x >= o.min)) bad(rule);
      if (x === Infinity && !o.infinite) bad(`a finite number ${o.above ? '>' : '≥'} ${o.min}`);
      return x;
    }
  }
}
