/**
 * A model's discrete-input declarations (ModelMetadata.discrete) read from JSON: a sidecar's
 * "integers", "categorical" and "oneHot" fields, and the same under a native file's metadata.
 * Shape and names are checked here (each problem names the field and the feature); whether a
 * query can use them (bounds that hold an integer, one-hot columns that can be 0 and 1) is
 * checked when a query does (problem/discrete.ts buildDiscrete).
 */
import type { ErrorCode } from '../errors.ts';
import { oneHotColumnsFault, type DiscreteDeclarations } from '../model.ts';

export type Fail = (field: string, msg: string, code?: ErrorCode) => never;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The declarations in `raw` (an object that may hold "integers", "categorical", "oneHot"), checked
 * against the model's input feature names; undefined when it declares none. `prefix` goes before
 * each field name in messages ("" for a sidecar, "metadata.discrete." for a native file).
 */
export function readDiscreteDeclarations(raw: Record<string, unknown>, inputNames: readonly string[], fail: Fail, prefix = ''): DiscreteDeclarations | undefined {
  const out: DiscreteDeclarations = {};
  const seen = new Map<string, string>();
  const features = inputNames.join(', ');
  const claim = (k: unknown, field: string): string => {
    if (typeof k !== 'string' || k === '') fail(field, `must name input features (got ${JSON.stringify(k)})`);
    if (!inputNames.includes(k)) fail(field, `"${k}" is not an input feature; the features are ${features}`, 'unknown_input');
    const before = seen.get(k);
    if (before) fail(field, `"${k}" is already declared by ${before}; declare each input once`);
    seen.set(k, field);
    return k;
  };
  if (raw.integers !== undefined) {
    const f = `${prefix}integers`;
    if (!Array.isArray(raw.integers)) fail(f, `must be a list of input feature names (got ${JSON.stringify(raw.integers)})`);
    out.integers = (raw.integers as unknown[]).map((k) => claim(k, f));
  }
  if (raw.categorical !== undefined) {
    const f = `${prefix}categorical`;
    if (!isObj(raw.categorical)) fail(f, 'must be an object { "feature": [v1, v2, ...] }');
    out.categorical = {};
    for (const [k, vals] of Object.entries(raw.categorical)) {
      const ff = `${f}["${k}"]`;
      claim(k, ff);
      if (!Array.isArray(vals) || vals.length === 0) fail(ff, `must be a non-empty list of numbers (got ${JSON.stringify(vals)})`);
      for (const v of vals) if (typeof v !== 'number' || !Number.isFinite(v)) fail(ff, `values must be finite numbers (got ${JSON.stringify(v)})`);
      out.categorical[k] = (vals as number[]).slice();
    }
  }
  if (raw.oneHot !== undefined) {
    const f = `${prefix}oneHot`;
    if (!isObj(raw.oneHot)) fail(f, 'must be an object { "group": ["column1", "column2", ...] }');
    out.oneHot = {};
    for (const [g, cols] of Object.entries(raw.oneHot)) {
      const ff = `${f}["${g}"]`;
      if (g === '') fail(ff, 'a one-hot group needs a name');
      // the rule every one-hot group follows, a query's too (model.ts)
      const fault = oneHotColumnsFault(cols);
      if (fault) fail(ff, fault);
      out.oneHot[g] = (cols as unknown[]).map((c) => claim(c, ff));
    }
  }
  return out.integers || out.categorical || out.oneHot ? out : undefined;
}
