/**
 * The inverse query as the user states it, and its validation into a Problem the solvers use.
 * Everything is checked before any work: unknown names, NaN targets, lo > hi, bounds that
 * exclude the known values.
 */
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';
import { buildConstraints, type InputConstraint } from './constraints.ts';
import { buildPrior, type InputStats, type Prior } from './prior.ts';
import { formOutputs, formText, parseForm, type LinearTerm, type TargetSpec } from './targets.ts';

export type { InputConstraint, LinearTerm, TargetSpec };

export type DistanceKind = 'l2' | 'l1' | 'linf';

export interface Query {
  /** Known inputs by feature name. Every input not named is unknown. */
  given?: Record<string, number>;
  /**
   * Targets keyed by an output name or a linear form of outputs ("y0 - y1", "2*y0 + y3"; grammar in
   * problem/targets.ts). Outputs not named are free. All of them must hold (a conjunction).
   */
  want: Record<string, TargetSpec>;
  /**
   * A disjunction: an answer must also meet ONE of these clauses (each a conjunction like `want`).
   * invert() and certify() search/prove each clause with `want` (problem/clauses.ts).
   */
  anyOf?: Record<string, TargetSpec>[];
  /** Bounds per unknown; default: the model's training range, else DEFAULT_BOUND. */
  bounds?: Record<string, [number, number]>;
  /** Reference point (some or all unknowns): return the solution closest to it. */
  closestTo?: Record<string, number>;
  /** Distance for closestTo: L2 (default), L1 or L∞, each in units of the unknown's box width. */
  distance?: DistanceKind;
  /**
   * Counterfactual controls (each names inputs the reference point names; see
   * counterfactualBounds below): monotone changes (bounds tightened to [ref, hi] or [lo, ref]),
   * inputs held at their reference value (as if given), and the distance's per-input unit.
   */
  onlyIncrease?: string[];
  onlyDecrease?: string[];
  /** Held at the reference value (also: the model's metadata.immutable inputs the reference names). */
  fixed?: string[];
  /** Per-input weight (> 0, default 1) multiplying that input's term of the distance. */
  distanceWeights?: Record<string, number>;
  /**
   * Per-input unit (> 0) of the distance in raw units, instead of the box width, e.g. the median
   * absolute deviation of the training data (DiCE's MAD scaling, Mothilal et al. 2020).
   */
  distanceScale?: Record<string, number>;
  /**
   * Linear constraints among the inputs, each a text "form op rhs" in the targets' grammar with
   * input names: "x1 + x2 + x3 = 1", "x3 <= x4", "2*a - b >= 0.5", "a - b = 0:1" (problem/constraints.ts).
   * Every answer meets all of them (within 1e-9 of the form's scale).
   */
  constraints?: string[];
  /**
   * Where plausible inputs lie (problem/prior.ts): means and a covariance (or standard
   * deviations) by input name, and optionally sample rows. Default: the model's inputStats.
   * With a prior, half the starts are drawn from it and each solution reports its plausibility.
   */
  prior?: InputStats;
  /**
   * Discrete unknowns (problem/discrete.ts): inputs that take integer values only, inputs that
   * take one of a listed set of numbers, and one-hot groups (group → its columns: exactly one is 1,
   * the others 0). invert() and certify() search every assignment (api/discrete.ts).
   */
  integers?: string[];
  categorical?: Record<string, number[]>;
  oneHot?: Record<string, string[]>;
}

/** Default half-width of the box for an unknown with neither a query bound nor a training range. */
export const DEFAULT_BOUND = 10;
/** Default absolute tolerance: |y − t| ≤ atol + rtol·|t|. */
export const DEFAULT_ATOL = 1e-6;
export const DEFAULT_RTOL = 1e-6;

export type TargetKind = 'eq' | 'range' | 'ge' | 'le';

export interface Target {
  /** The linear form Σ coef·y[output] this target constrains (a plain output is one term, coef 1). */
  terms: LinearTerm[];
  /** The form's canonical text: the output name for a plain target, else e.g. "y0 - y1". */
  name: string;
  kind: TargetKind;
  /** Lower and upper end: eq has lo = hi = value; ge has hi = +∞; le has lo = −∞. */
  lo: number;
  hi: number;
  weight: number;
}

export type BoundSource = 'query' | 'training range' | 'default';

export interface Problem {
  model: Model;
  /** Input feature indices of the unknowns, in input order. */
  unknowns: number[];
  unknownNames: string[];
  /** Full input vector with the known values filled in (unknown slots hold the box midpoint). */
  base: Float64Array;
  given: Record<string, number>;
  lo: Float64Array;
  hi: Float64Array;
  boundSource: BoundSource[];
  targets: Target[];
  /** Every output the targets read, ascending (what a Jacobian of the targets needs). */
  targetOutputs: number[];
  atol: number;
  rtol: number;
  reference: Float64Array | null;
  /** Which unknowns the reference names (others don't count in the distance). */
  referenceMask: Uint8Array | null;
  distance: DistanceKind;
  /**
   * Per unknown, the divisor of its term in the distance to the reference: unit / weight, the
   * unit being the box width before any onlyIncrease/onlyDecrease tightening (or the query's
   * distanceScale). Null without a reference; see distanceUnit().
   */
  distanceUnit?: Float64Array | null;
  warnings: string[];
  /**
   * Linear constraints among the inputs (Query.constraints), validated; absent or empty: none.
   * Every solver keeps its points inside them; problem/constraints.ts constraintRows() gives the
   * rows over the unknowns.
   */
  constraints?: InputConstraint[];
  /** The prior over the unknowns (the query's, else the model's inputStats); absent: none. */
  prior?: Prior;
}

/** The divisor of unknown j's term in the distance: problem.distanceUnit, else its box width (1 for a point). */
export function distanceUnit(p: Problem, j: number): number {
  return p.distanceUnit ? p.distanceUnit[j] : p.hi[j] - p.lo[j] || 1;
}

export interface ToleranceOptions {
  atol?: number;
  rtol?: number;
}

function bad(msg: string, detail: Record<string, unknown> = {}): NetinvertError {
  return new NetinvertError('bad_query', msg, detail);
}

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`${what} must be a finite number (got ${String(v)})`);
  return v;
}

function parseTarget(name: string, terms: LinearTerm[], spec: TargetSpec): Target {
  const output = terms;
  const at = terms.length === 1 && terms[0].coef === 1 ? `target for output "${name}"` : `target for "${name}"`;
  if (typeof spec === 'number') {
    const v = finite(spec, at);
    return { terms: output, name, kind: 'eq', lo: v, hi: v, weight: 1 };
  }
  if (typeof spec !== 'object' || spec === null) throw bad(`${at} must be a number or an object {eq|range|ge|le}`);
  const weight = spec.weight === undefined ? 1 : finite(spec.weight, `${at}: weight`);
  if (!(weight > 0)) throw bad(`${at}: weight must be > 0 (got ${weight})`);
  if ('eq' in spec) {
    const v = finite(spec.eq, at);
    return { terms: output, name, kind: 'eq', lo: v, hi: v, weight };
  }
  if ('range' in spec) {
    if (!Array.isArray(spec.range) || spec.range.length !== 2) throw bad(`${at}: range must be [lo, hi]`);
    const lo = finite(spec.range[0], `${at}: range low end`),
      hi = finite(spec.range[1], `${at}: range high end`);
    if (lo > hi) throw bad(`${at}: range low end ${lo} is above the high end ${hi}`, { output: name });
    return { terms: output, name, kind: 'range', lo, hi, weight };
  }
  if ('ge' in spec) return { terms: output, name, kind: 'ge', lo: finite(spec.ge, at), hi: Infinity, weight };
  if ('le' in spec) return { terms: output, name, kind: 'le', lo: -Infinity, hi: finite(spec.le, at), weight };
  throw bad(`${at} must be a number or one of {eq}, {range}, {ge}, {le}`);
}

/** Validate a query against a model; throws NetinvertError (codes unknown_input, unknown_output, bad_query, bad_bounds). */
export function buildProblem(model: Model, query: Query, tol: ToleranceOptions = {}): Problem {
  const net = model.network;
  if (!query || typeof query !== 'object') throw bad('the query must be an object with at least "want"');
  if (query.anyOf !== undefined) {
    throw bad('this query has anyOf (a disjunction): pass it to invert() or certify(), which search and prove each clause, or expand it with clauseQueries()');
  }
  if (query.integers?.length || Object.keys(query.categorical ?? {}).length || Object.keys(query.oneHot ?? {}).length) {
    throw bad('this query has discrete unknowns (integers, categorical, oneHot): pass it to invert() or certify(), which search every assignment (api/discrete.ts)');
  }
  const inputList = net.inputNames.join(', ');
  const given = { ...(query.given ?? {}), ...fixedInputs(model, query, inputList) };
  const want = query.want ?? {};
  const outputList = net.outputNames.join(', ');
  for (const k of Object.keys(given)) {
    if (net.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `given input "${k}" is not an input of the model; its inputs are: ${inputList}`, {
        input: k,
      });
    }
    finite(given[k], `given value of "${k}"`);
  }
  if (Object.keys(want).length === 0) {
    throw bad(`the query names no target output; say which outputs you want (outputs: ${outputList})`);
  }
  const targets: Target[] = [];
  for (const [k, spec] of Object.entries(want)) {
    if (net.outputIndex(k) < 0 && /^\s*[\p{L}_][\w.\[\]/:]*\s*$/u.test(k)) {
      throw new NetinvertError('unknown_output', `target "${k}" is not an output of the model; its outputs are: ${outputList}`, {
        output: k,
      });
    }
    const terms = parseForm(k, net.outputNames, `target "${k}"`);
    const name = formText(terms, net.outputNames);
    if (targets.some((t) => t.name === name)) {
      throw new NetinvertError('duplicate_name', `target "${k}" is the same form as another target (${name}); give each form once (a range lo:hi bounds both sides)`, {
        output: name,
      });
    }
    targets.push(parseTarget(name, terms, spec));
  }
  const atol = tol.atol ?? DEFAULT_ATOL,
    rtol = tol.rtol ?? DEFAULT_RTOL;
  if (!(atol >= 0) || !(rtol >= 0) || !Number.isFinite(atol) || !Number.isFinite(rtol)) {
    throw bad(`tolerances must be finite and ≥ 0 (atol ${atol}, rtol ${rtol})`);
  }
  if (atol === 0 && rtol === 0) throw bad('atol and rtol cannot both be 0: no float64 answer meets a zero tolerance');
  const floorWarnings: string[] = [];
  let atolUsed = atol,
    rtolUsed = rtol;
  if (isFloat32Model(model) && (atol < FLOAT32_FLOOR || rtol < FLOAT32_FLOOR)) {
    atolUsed = Math.max(atol, FLOAT32_FLOOR);
    rtolUsed = Math.max(rtol, FLOAT32_FLOOR);
    floorWarnings.push(
      `the model's weights are float32 (${model.metadata.source?.format}); the framework that made it computes in float32, so a tolerance below ${FLOAT32_FLOOR.toExponential(2)} (atol and rtol) is not meaningful: raised to that floor`,
    );
  }

  const unknowns: number[] = [];
  for (let i = 0; i < net.nIn; i++) if (!(net.inputNames[i] in given)) unknowns.push(i);
  if (unknowns.length === 0) {
    // An input that is given and also named as something to find (bounds, a reference point) is
    // the likeliest mistake: name it rather than only saying that nothing is left to solve for.
    const asked = net.inputNames.filter((k) => (query.bounds && k in query.bounds) || (query.closestTo && k in query.closestTo));
    if (asked.length > 0) {
      const k = asked[0];
      const how = query.bounds && k in query.bounds ? `bounds ${JSON.stringify(query.bounds[k])}` : 'a reference value in closestTo';
      throw bad(
        `input "${k}" is both given (= ${given[k]}) and asked for (${how}); an input is either known or unknown: drop "${k}" from the given inputs to solve for it`,
        { input: k, given: net.inputNames.slice() },
      );
    }
    const shown = net.inputNames.slice(0, 8).map((k) => `${k} = ${given[k]}`);
    const all = shown.join(', ') + (net.nIn > 8 ? ` and ${net.nIn - 8} more` : '');
    const last = net.inputNames[net.nIn - 1];
    throw bad(
      `every input is given (${all}), so there is nothing to solve for; leave out the inputs you want found (e.g. drop "${last}" from the given inputs to solve for it)`,
      { given: net.inputNames.slice() },
    );
  }
  const unknownNames = unknowns.map((i) => net.inputNames[i]);
  const n = unknowns.length;
  const lo = new Float64Array(n),
    hi = new Float64Array(n);
  const boundSource: BoundSource[] = [];
  const qb = query.bounds ?? {};
  for (const k of Object.keys(qb)) {
    const idx = net.inputIndex(k);
    if (idx < 0) {
      throw new NetinvertError('unknown_input', `bounds name "${k}", which is not an input of the model; its inputs are: ${inputList}`, {
        input: k,
      });
    }
    const b = qb[k];
    if (!Array.isArray(b) || b.length !== 2) throw new NetinvertError('bad_bounds', `bounds for "${k}" must be [lo, hi]`, { input: k });
    const [l, h] = b;
    if (typeof l !== 'number' || typeof h !== 'number' || Number.isNaN(l) || Number.isNaN(h)) {
      throw new NetinvertError('bad_bounds', `bounds for "${k}" must be numbers (got ${JSON.stringify(b)})`, { input: k });
    }
    if (l > h) throw new NetinvertError('bad_bounds', `bounds for "${k}": lower bound ${l} is above upper bound ${h}`, { input: k });
    if (!Number.isFinite(l) || !Number.isFinite(h)) {
      throw new NetinvertError('bad_bounds', `bounds for "${k}" must be finite: the search covers a box`, { input: k });
    }
    if (k in given && (given[k] < l || given[k] > h)) {
      throw new NetinvertError(
        'bad_bounds',
        `input "${k}" is given as ${given[k]}, outside its bounds [${l}, ${h}]; widen the bounds or change the value`,
        { input: k },
      );
    }
  }
  const ranges = model.metadata.inputRanges ?? {};
  for (let j = 0; j < n; j++) {
    const name = unknownNames[j];
    if (name in qb) {
      lo[j] = qb[name][0];
      hi[j] = qb[name][1];
      boundSource.push('query');
    } else if (name in ranges) {
      lo[j] = ranges[name][0];
      hi[j] = ranges[name][1];
      boundSource.push('training range');
    } else {
      lo[j] = -DEFAULT_BOUND;
      hi[j] = DEFAULT_BOUND;
      boundSource.push('default');
    }
  }
  const warnings: string[] = [...floorWarnings];
  const dflt = unknownNames.filter((_, j) => boundSource[j] === 'default');
  if (dflt.length) {
    warnings.push(
      `no bounds given and no training range known for ${dflt.join(', ')}: searched [−${DEFAULT_BOUND}, ${DEFAULT_BOUND}] (set --bounds to change)`,
    );
  }
  const base = new Float64Array(net.nIn);
  for (let i = 0; i < net.nIn; i++) {
    const name = net.inputNames[i];
    if (name in given) base[i] = given[name];
  }
  for (let j = 0; j < n; j++) base[unknowns[j]] = 0.5 * (lo[j] + hi[j]);

  let reference: Float64Array | null = null,
    referenceMask: Uint8Array | null = null;
  if (query.closestTo && Object.keys(query.closestTo).length) {
    reference = new Float64Array(n);
    referenceMask = new Uint8Array(n);
    for (const [k, v] of Object.entries(query.closestTo)) {
      const idx = net.inputIndex(k);
      if (idx < 0) {
        throw new NetinvertError('unknown_input', `closest-to names "${k}", which is not an input of the model; its inputs are: ${inputList}`, {
          input: k,
        });
      }
      finite(v, `reference value of "${k}"`);
      const j = unknowns.indexOf(idx);
      if (j < 0) {
        if (v !== given[k]) warnings.push(`reference value of "${k}" is ignored: "${k}" is given as ${given[k]}`);
        continue;
      }
      reference[j] = v;
      referenceMask[j] = 1;
    }
    for (let j = 0; j < n; j++) if (!referenceMask[j]) reference[j] = 0.5 * (lo[j] + hi[j]);
  }
  const distance = query.distance ?? 'l2';
  if (!['l2', 'l1', 'linf'].includes(distance)) throw bad(`distance must be l2, l1 or linf (got ${String(distance)})`);
  const distanceUnitV = reference ? distanceUnits(query, unknownNames, lo, hi, inputList, net.inputIndex.bind(net)) : null;
  if (reference) counterfactualBounds(query, unknownNames, reference, referenceMask!, lo, hi, boundSource, given);
  else if (query.onlyIncrease?.length || query.onlyDecrease?.length || Object.keys(query.distanceWeights ?? {}).length || Object.keys(query.distanceScale ?? {}).length) {
    throw bad('onlyIncrease, onlyDecrease, distanceWeights and distanceScale are counterfactual controls: they need a reference point (closestTo / --closest-to)');
  }
  if (reference) for (let j = 0; j < n; j++) base[unknowns[j]] = 0.5 * (lo[j] + hi[j]);
  const cons = buildConstraints(query.constraints, net.inputNames, net.outputNames, unknowns, base, lo, hi);
  warnings.push(...cons.warnings);
  let prior: Prior | undefined;
  if (query.prior !== undefined) prior = buildPrior(model, query.prior, unknownNames, 'query');
  else if (model.metadata.inputStats) {
    // the model's own statistics: one that does not fit these inputs (renamed by a sidecar, say) is dropped, not fatal
    try {
      prior = buildPrior(model, model.metadata.inputStats, unknownNames, 'model');
    } catch (e) {
      if (!(e instanceof NetinvertError)) throw e;
      warnings.push(`the model's input statistics are not used as a prior: ${e.message}`);
    }
  }
  return {
    model,
    unknowns,
    unknownNames,
    base,
    given: { ...given },
    lo,
    hi,
    boundSource,
    targets,
    targetOutputs: formOutputs(targets),
    atol: atolUsed,
    rtol: rtolUsed,
    reference,
    referenceMask,
    distance,
    distanceUnit: distanceUnitV,
    warnings,
    ...(cons.constraints.length ? { constraints: cons.constraints } : {}),
    ...(prior ? { prior } : {}),
  };
}

/**
 * The inputs held at their reference value: query.fixed (each must have a reference value) and
 * the model's immutable inputs (metadata.immutable, from a sidecar) that the reference names.
 */
function fixedInputs(model: Model, query: Query, inputList: string[] | string): Record<string, number> {
  const out: Record<string, number> = {};
  const ref = query.closestTo ?? {};
  for (const k of query.fixed ?? []) {
    if (model.network.inputIndex(k) < 0) {
      throw new NetinvertError('unknown_input', `fixed input "${k}" is not an input of the model; its inputs are: ${inputList}`, { input: k });
    }
    if (!(k in ref)) throw bad(`fixed input "${k}" is held at its reference value, but the reference point (closestTo / --closest-to) does not name it; give it there (or give its value with --given)`, { input: k });
    if (query.given && k in query.given && query.given[k] !== ref[k]) {
      throw bad(`input "${k}" is both given (= ${query.given[k]}) and fixed at its reference value ${ref[k]}; keep one`, { input: k });
    }
    out[k] = ref[k];
  }
  for (const k of model.metadata.immutable ?? []) if (k in ref && !(query.given && k in query.given)) out[k] = ref[k];
  return out;
}

/** Check a list of input names for a counterfactual control: each an unknown the reference names. */
function controlIndex(what: string, k: string, unknownNames: string[], mask: Uint8Array | null): number {
  const j = unknownNames.indexOf(k);
  if (j < 0) {
    throw new NetinvertError('unknown_input', `${what} names "${k}", which is not an unknown input (unknowns: ${unknownNames.join(', ')})`, { input: k });
  }
  if (mask && !mask[j]) throw bad(`${what} names "${k}", which the reference point does not name; give its reference value in closestTo / --closest-to`, { input: k });
  return j;
}

/**
 * The distance's divisor per unknown: (query.distanceScale, else the box width) / weight, taken
 * before onlyIncrease / onlyDecrease tighten the box, so that a monotone control does not change
 * how far a point is.
 */
function distanceUnits(query: Query, unknownNames: string[], lo: Float64Array, hi: Float64Array, inputList: string, inputIndex: (k: string) => number): Float64Array {
  const unit = Float64Array.from(lo, (l, j) => hi[j] - l || 1);
  const check = (rec: Record<string, number> | undefined, what: string, apply: (j: number, v: number) => void): void => {
    for (const [k, v] of Object.entries(rec ?? {})) {
      if (inputIndex(k) < 0) throw new NetinvertError('unknown_input', `${what} names "${k}", which is not an input of the model; its inputs are: ${inputList}`, { input: k });
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw bad(`${what} of "${k}" must be a finite number > 0 (got ${String(v)})`, { input: k });
      const j = unknownNames.indexOf(k);
      if (j >= 0) apply(j, v);
    }
  };
  check(query.distanceScale, 'distance scale', (j, v) => (unit[j] = v));
  check(query.distanceWeights, 'distance weight', (j, v) => (unit[j] /= v));
  return unit;
}

/** onlyIncrease: lo ← ref; onlyDecrease: hi ← ref (a reference outside the box is an error). */
function counterfactualBounds(
  query: Query,
  unknownNames: string[],
  ref: Float64Array,
  mask: Uint8Array,
  lo: Float64Array,
  hi: Float64Array,
  boundSource: BoundSource[],
  given: Record<string, number>,
): void {
  const one = (list: string[] | undefined, what: string, up: boolean): void => {
    for (const k of list ?? []) {
      if (k in given) continue; // fixed or given: already held
      const j = controlIndex(what, k, unknownNames, mask);
      const r = ref[j];
      if (r < lo[j] || r > hi[j]) {
        throw new NetinvertError('bad_bounds', `${what} "${k}": its reference value ${r} lies outside its bounds [${lo[j]}, ${hi[j]}]; widen the bounds or change the reference`, { input: k });
      }
      if (up) lo[j] = r;
      else hi[j] = r;
      boundSource[j] = 'query';
    }
  };
  one(query.onlyIncrease, 'only-increase', true);
  one(query.onlyDecrease, 'only-decrease', false);
}

/**
 * Tolerance floor for float32 models (docs/design.md, Numerics): 2⁻²⁰ ≈ 9.5e−7, i.e. 8 float32 ulps,
 * both absolute and relative. We evaluate in float64, but the model's own framework evaluates in
 * float32, so agreement beyond this is not a property of the model.
 */
export const FLOAT32_FLOOR = 2 ** -20;

/** Does the model's own framework compute in float32 (metadata.precision, set by its importer)? */
export function isFloat32Model(model: Model): boolean {
  return model.metadata.precision === 'float32';
}

/** Unweighted miss of output value y against a target: 0 when met exactly, else the distance to the target set. */
export function targetMiss(t: Target, y: number): number {
  if (y !== y) return Infinity;
  if (y < t.lo) return t.lo - y;
  if (y > t.hi) return y - t.hi;
  return 0;
}

/** Tolerance allowed for a target (docs/design.md: atol + rtol·|t| for equalities, atol for ranges). */
export function targetTolerance(t: Target, atol: number, rtol: number): number {
  return t.kind === 'eq' ? atol + rtol * Math.abs(t.lo) : atol;
}
