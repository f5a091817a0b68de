/**
 * Discrete unknowns (issue #11 §2): integer inputs (Query.integers), inputs that take one of a
 * listed set of values (Query.categorical) and one-hot groups (Query.oneHot: exactly one of the
 * columns is 1, the others 0). Validated here against each input's box (the query's bounds, else
 * the training range, else ±DEFAULT_BOUND, as buildProblem chooses them), then searched by
 * enumeration: every assignment of the discrete unknowns is a sub-query whose discrete inputs
 * are pinned by point bounds [v, v] (branching over the discrete choices with the continuous
 * search inside, the "enumerate the integer part" scheme of branch-and-bound for MINLP with a
 * finite integer domain, e.g. Belotti et al., "Mixed-integer nonlinear optimization", Acta
 * Numerica 2013, §5). Point bounds (not given values) keep the discrete inputs among the
 * unknowns, so each branch's answer, its verification and its certificate name them.
 */
import { NetinvertError } from '../errors.ts';
import { oneHotColumnsFault, type Model } from '../model.ts';
import { buildProblem, DEFAULT_BOUND, type BoundSource, type Problem, type Query, type ToleranceOptions } from './query.ts';

/** Most assignments of the discrete unknowns searched (the product of their value counts). */
export const MAX_DISCRETE_ASSIGNMENTS = 10_000;

/** The query's discrete fields (Query.integers, Query.categorical, Query.oneHot). */
export type DiscreteQuery = Pick<Query, 'integers' | 'categorical' | 'oneHot'>;

/** One discrete choice: its inputs and the value vectors it may take (one per choice). */
export interface DiscreteVar {
  kind: 'integer' | 'categorical' | 'one-hot';
  /** The input's name, or the one-hot group's name. */
  name: string;
  inputs: string[];
  /** choices[k][i]: the value of inputs[i] in choice k (empty for an integer when not enumerated: see range). */
  choices: number[][];
  /** An integer's values: every integer in range[0]..range[1]. */
  range?: [number, number];
  /** Each input's box before pinning, and where it came from (as buildProblem chooses it). */
  boxes: { lo: number; hi: number; source: BoundSource }[];
}

export interface DiscretePlan {
  vars: DiscreteVar[];
  /** How many assignments there are (the product of the choice counts), ≤ MAX_DISCRETE_ASSIGNMENTS when enumerated. */
  assignments: number;
  /** The query without its discrete fields (what each branch adds point bounds to). */
  rest: Query;
}

/** Whether a query has discrete unknowns (non-empty integers, categorical or oneHot). */
export function hasDiscrete(q: Query & DiscreteQuery): boolean {
  return !!q && typeof q === 'object' && (!!q.integers?.length || Object.keys(q.categorical ?? {}).length > 0 || Object.keys(q.oneHot ?? {}).length > 0);
}

function bad(msg: string, detail: Record<string, unknown> = {}): NetinvertError {
  return new NetinvertError('bad_query', msg, detail);
}

/**
 * Validate the discrete fields against the model and the query's boxes; throws coded errors.
 * `enumerate: false` (the one-MILP path, which never lists the assignments) lifts the
 * MAX_DISCRETE_ASSIGNMENTS cap; `assignments` is then still their count (Infinity past 2^1024).
 */
export function buildDiscrete(model: Model, query: Query & DiscreteQuery, opts: { enumerate?: boolean } = {}): DiscretePlan {
  const enumerate = opts.enumerate ?? true;
  const net = model.network;
  const inputList = net.inputNames.join(', ');
  const given = query.given ?? {};
  const fixed = new Set(query.fixed ?? []);
  const seen = new Map<string, string>();
  const box = (k: string): [number, number] => query.bounds?.[k] ?? model.metadata.inputRanges?.[k] ?? [-DEFAULT_BOUND, DEFAULT_BOUND];
  const boxOf = (k: string): { lo: number; hi: number; source: BoundSource } => {
    const [lo, hi] = box(k);
    return { lo, hi, source: query.bounds?.[k] ? 'query' : model.metadata.inputRanges?.[k] ? 'training range' : 'default' };
  };
  const claim = (k: string, as: string): void => {
    if (net.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `${as} names "${k}", which is not an input of the model; its inputs are: ${inputList}`, { input: k });
    }
    if (k in given || fixed.has(k)) {
      throw bad(`input "${k}" is given (or fixed), so it cannot also be ${as}: drop it from the given inputs to search its values`, { input: k });
    }
    const before = seen.get(k);
    if (before) throw bad(`input "${k}" is named twice among the discrete unknowns (${before} and ${as}); name each input once`, { input: k });
    seen.set(k, as);
  };
  const vars: DiscreteVar[] = [];
  const integers = query.integers ?? [];
  if (!Array.isArray(integers)) throw bad('integers must be a list of input names');
  for (const k of integers) {
    claim(k, 'an integer input');
    const [lo, hi] = box(k);
    const a = Math.ceil(lo),
      b = Math.floor(hi);
    if (!(a <= b)) throw bad(`integer input "${k}" has no integer inside its bounds [${lo}, ${hi}]; widen its bounds (--bounds ${k}=lo:hi)`, { input: k });
    if (enumerate && b - a + 1 > MAX_DISCRETE_ASSIGNMENTS) {
      throw bad(`integer input "${k}" has ${b - a + 1} integer values inside [${lo}, ${hi}], more than the ${MAX_DISCRETE_ASSIGNMENTS} assignments searched; narrow its bounds (--bounds ${k}=lo:hi)`, { input: k });
    }
    // the one-MILP path keeps the range only (an integer column), never the list of its values
    const choices: number[][] = [];
    if (enumerate) for (let v = a; v <= b; v++) choices.push([v]);
    vars.push({ kind: 'integer', name: k, inputs: [k], choices, range: [a, b], boxes: [boxOf(k)] });
  }
  for (const [k, values] of Object.entries(query.categorical ?? {})) {
    claim(k, 'a categorical input');
    if (!Array.isArray(values) || values.length === 0) throw bad(`categorical input "${k}" lists no values; give at least one (--categorical ${k}=v1,v2,...)`, { input: k });
    const [lo, hi] = box(k);
    const uniq = [...new Set(values)];
    for (const v of uniq) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`categorical input "${k}": values must be finite numbers (got ${String(v)})`, { input: k });
      if (v < lo || v > hi) {
        throw new NetinvertError('bad_bounds', `categorical input "${k}": value ${v} is outside its bounds [${lo}, ${hi}]; widen the bounds or drop the value`, { input: k, value: v });
      }
    }
    vars.push({ kind: 'categorical', name: k, inputs: [k], choices: uniq.sort((x, y) => x - y).map((v) => [v]), boxes: [boxOf(k)] });
  }
  for (const [g, cols] of Object.entries(query.oneHot ?? {})) {
    // the rule a sidecar's and batch's --one-hot groups follow too (model.ts)
    const fault = oneHotColumnsFault(cols);
    if (fault) throw bad(`one-hot group "${g}" ${fault} (--one-hot ${g}=col1,col2,...)`, { group: g });
    for (const c of cols) {
      claim(c, `a column of one-hot group "${g}"`);
      const [lo, hi] = box(c);
      if (lo > 0 || hi < 1) {
        throw new NetinvertError('bad_bounds', `one-hot column "${c}" (group "${g}") must be able to take 0 and 1, but its bounds are [${lo}, ${hi}]; widen them to [0, 1]`, { input: c, group: g });
      }
    }
    vars.push({ kind: 'one-hot', name: g, inputs: cols.slice(), choices: cols.map((_, i) => cols.map((_, j) => (i === j ? 1 : 0))), boxes: cols.map(boxOf) });
  }
  let assignments = 1;
  for (const v of vars) {
    assignments *= choiceCount(v);
    if (enumerate && assignments > MAX_DISCRETE_ASSIGNMENTS) {
      const list = vars.map((w) => `${w.name} (${choiceCount(w)})`).join(', ');
      throw bad(`the discrete unknowns have more than ${MAX_DISCRETE_ASSIGNMENTS} assignments together (${list}); narrow their bounds or give some of them`, {
        inputs: vars.map((w) => w.name),
      });
    }
  }
  const rest: Query = { ...query };
  delete (rest as DiscreteQuery).integers;
  delete (rest as DiscreteQuery).categorical;
  delete (rest as DiscreteQuery).oneHot;
  return { vars, assignments, rest };
}

/** How many values a discrete unknown takes. */
export function choiceCount(v: DiscreteVar): number {
  return v.range ? v.range[1] - v.range[0] + 1 : v.choices.length;
}

/** Assignment number k (0 ≤ k < plan.assignments, mixed radix, the last variable fastest): input → value. */
export function assignmentAt(plan: DiscretePlan, k: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = plan.vars.length - 1; i >= 0; i--) {
    const v = plan.vars[i];
    const c = v.choices[k % v.choices.length];
    k = Math.floor(k / v.choices.length);
    v.inputs.forEach((name, j) => (out[name] = c[j]));
  }
  return out;
}

/** The sub-query of one assignment: the discrete inputs pinned by point bounds [v, v]. */
export function branchQuery(plan: DiscretePlan, assignment: Record<string, number>): Query {
  const bounds = { ...(plan.rest.bounds ?? {}) };
  for (const [k, v] of Object.entries(assignment)) bounds[k] = [v, v];
  return { ...plan.rest, bounds };
}

/**
 * The same branch with the discrete inputs given instead of pinned (only when some unknown is
 * left): the Problem over the continuous unknowns alone, e.g. for the solution set's dimension.
 */
export function givenQuery(plan: DiscretePlan, assignment: Record<string, number>): Query {
  return { ...plan.rest, given: { ...(plan.rest.given ?? {}), ...assignment } };
}

/**
 * Add default discrete declarations (the model's metadata.discrete, from a sidecar, or batch's
 * --integer / --categorical / --one-hot flags) to a query, the way a sidecar's `immutable` list
 * applies to every query on the model. The query's own declarations win: a default for an input
 * the query already declares (as an integer, categorical input or one-hot column), or for a one-hot
 * group the query names or one of whose columns it declares, is dropped. An input the query gives
 * (given, or held at its reference by fixed / the model's immutable list) is not an unknown, so
 * its default is dropped too, after a check that the value is admissible: an integer for an
 * integer input, one of the listed values for a categorical one; a one-hot group must be given
 * whole (exactly one column 1, the others 0) or not at all. Otherwise a coded error naming the
 * input or group. `from` says where the defaults come from, for those messages. The query is not
 * changed; applying the same defaults twice gives the same query.
 */
export function withDiscreteDefaults(query: Query, defaults: DiscreteQuery | undefined, from: string, immutable: readonly string[] = []): Query {
  if (!defaults || !query || typeof query !== 'object') return query;
  const given: Record<string, number> = { ...(query.given ?? {}) };
  const ref = query.closestTo ?? {};
  for (const k of [...(query.fixed ?? []), ...immutable]) if (k in ref && !(k in given)) given[k] = ref[k];
  const claimed = new Set<string>([...(query.integers ?? []), ...Object.keys(query.categorical ?? {}), ...Object.values(query.oneHot ?? {}).flat()]);
  const integers = (query.integers ?? []).slice();
  const categorical = { ...(query.categorical ?? {}) };
  const oneHot = { ...(query.oneHot ?? {}) };
  for (const k of defaults.integers ?? []) {
    if (claimed.has(k)) continue;
    if (k in given) {
      if (!Number.isInteger(given[k])) {
        throw bad(`input "${k}" is an integer input (${from}), but its given value is ${given[k]}; give an integer, or declare it otherwise in the query`, { input: k });
      }
      continue;
    }
    integers.push(k);
    claimed.add(k);
  }
  for (const [k, values] of Object.entries(defaults.categorical ?? {})) {
    if (claimed.has(k)) continue;
    if (k in given) {
      if (!values.includes(given[k])) {
        throw bad(`input "${k}" is a categorical input with values ${values.join(', ')} (${from}), but its given value is ${given[k]}; give one of them`, { input: k });
      }
      continue;
    }
    categorical[k] = values.slice();
    claimed.add(k);
  }
  for (const [g, cols] of Object.entries(defaults.oneHot ?? {})) {
    if (g in oneHot || cols.some((c) => claimed.has(c))) continue;
    const have = cols.filter((c) => c in given);
    if (have.length === cols.length) {
      const ones = cols.filter((c) => given[c] === 1).length;
      if (ones !== 1 || cols.some((c) => given[c] !== 0 && given[c] !== 1)) {
        throw bad(`one-hot group "${g}" (${from}): its given columns ${cols.map((c) => `${c}=${given[c]}`).join(', ')} are not one-hot; give exactly one of them 1 and the others 0`, { group: g });
      }
      continue;
    }
    if (have.length) {
      throw bad(`one-hot group "${g}" (${from}) is partly given (${have.join(', ')}); give all its columns ${cols.join(', ')} (one 1, the others 0), or none of them to search the group`, { group: g });
    }
    oneHot[g] = cols.slice();
    for (const c of cols) claimed.add(c);
  }
  return {
    ...query,
    ...(integers.length ? { integers } : {}),
    ...(Object.keys(categorical).length ? { categorical } : {}),
    ...(Object.keys(oneHot).length ? { oneHot } : {}),
  };
}

/** The model's discrete declarations (metadata.discrete, from a sidecar) added to a query: withDiscreteDefaults. */
export function withModelDiscrete(model: Model, query: Query): Query {
  return withDiscreteDefaults(query, model.metadata.discrete, "the model's sidecar declares it", model.metadata.immutable);
}

/**
 * The Problem for a caller that builds one outside invert() / certify() (solve --warm-start,
 * inverseWarmStart, certifyParallel's threads): the query with the model's discrete declarations
 * added (withModelDiscrete, as those entry points add them), its discrete fields checked
 * (buildDiscrete, coded errors) and then dropped, so that the discrete inputs are unknowns over
 * their whole boxes. Every branch of the discrete search pins them by point bounds and keeps
 * them among the unknowns, so a point of this Problem (a warm start) is one for every branch.
 * A query without discrete unknowns gives buildProblem's Problem.
 */
export function buildRelaxedProblem(model: Model, query: Query, tol: ToleranceOptions = {}): Problem {
  const q = withModelDiscrete(model, query);
  return buildProblem(model, hasDiscrete(q) ? buildDiscrete(model, q, { enumerate: false }).rest : q, tol);
}
