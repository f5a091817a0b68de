/**
 * A Model is what every importer returns and every solver receives: the graph, its compiled
 * Network, metadata (names, training ranges, provenance) and a content hash. Nothing
 * downstream knows which file format it came from.
 */
import { Network } from './graph/network.ts';
import type { GraphDef } from './graph/types.ts';

export interface ModelMetadata {
  name?: string;
  description?: string;
  /** Range of each input feature seen in training (by feature name): default solve bounds. */
  inputRanges?: Record<string, [number, number]>;
  /**
   * Inputs a counterfactual may not change (a sidecar's "immutable" list): a query with a
   * reference point holds each one it names at its reference value.
   */
  immutable?: string[];
  /**
   * Statistics of the training inputs (netinvert train stores them; a sidecar may give them): the
   * default prior of a query that gives none (problem/prior.ts).
   */
  inputStats?: InputStats;
  /**
   * Discrete inputs the model declares (a sidecar's "integers", "categorical", "oneHot"): the
   * default discrete unknowns of every query on the model (problem/discrete.ts withDiscreteDefaults).
   */
  discrete?: DiscreteDeclarations;
  /** Range of each output feature seen in training. */
  outputRanges?: Record<string, [number, number]>;
  /** Where the model came from: file format, producer (exporter), opset... */
  source?: { format: string; file?: string; producer?: string; version?: string };
  /**
   * The precision the model's own framework computes in, set by the importer: 'float32' for ONNX,
   * Keras and TF.js files (float32 weights), absent or 'float64' otherwise. netinvert always
   * evaluates in float64; a float32 model's tolerances are floored at FLOAT32_FLOOR
   * (problem/query.ts), since agreement beyond float32 is not a property of the model.
   */
  precision?: 'float32' | 'float64';
  /** Non-fatal remarks made while loading (e.g. a dropout layer was dropped). */
  warnings?: string[];
  /** Free-form extras kept through save/load. */
  extra?: Record<string, unknown>;
}

/**
 * A distribution over input features as plain JSON: the prior of a query (Query.prior), the
 * statistics `train` stores (ModelMetadata.inputStats), or a sidecar's. Columns follow `names`.
 * Give `cov` (names × names) or `std` (diagonal); `rows` is a sample of inputs (a reservoir,
 * rows × names), `count` how many rows the statistics came from. `residuals` (written by `train`)
 * holds, for each row of `rows`, the model's error there (prediction − training output, one
 * value per model output in model order): where the model is accurate (problem/prior.ts
 * localError).
 */
export interface InputStats {
  names: string[];
  mean: number[];
  cov?: number[][];
  std?: number[];
  rows?: number[][];
  residuals?: number[][];
  count?: number;
}

/**
 * Discrete inputs as plain JSON (the shape of Query.integers / categorical / oneHot): integer
 * inputs, inputs that take one of listed values, and one-hot groups (group → its columns).
 */
export interface DiscreteDeclarations {
  integers?: string[];
  categorical?: Record<string, number[]>;
  oneHot?: Record<string, string[]>;
}

/** The fewest columns a one-hot group lists (oneHotColumnsFault). */
export const MIN_ONE_HOT_COLUMNS = 2;

/**
 * What is wrong with a one-hot group's columns, as the end of a sentence about the group, or
 * null. The one rule for every place a group is declared: a sidecar's or native file's oneHot
 * (formats/discrete.ts), batch's --one-hot, and a query's oneHot (solve --one-hot, query files,
 * batch's one-hot:<group> cells, invert(): problem/discrete.ts buildDiscrete). A group lists at
 * least MIN_ONE_HOT_COLUMNS distinct inputs: a group of one column says no more than "that input
 * is 1", which is a given value, not a choice, and is more often a list cut short; it is refused.
 */
export function oneHotColumnsFault(cols: unknown): string | null {
  if (!Array.isArray(cols) || cols.length < MIN_ONE_HOT_COLUMNS) {
    const one = Array.isArray(cols) && cols.length === 1;
    return (
      `must list at least ${MIN_ONE_HOT_COLUMNS} input features, the group's columns (got ${JSON.stringify(cols)})` +
      (one ? `; a group of one column only says that "${String(cols[0])}" is 1: give that value instead, or list the other columns` : '')
    );
  }
  if (new Set(cols).size !== cols.length) return "names a column twice; a one-hot group's columns are distinct inputs";
  return null;
}

export interface Model {
  graph: GraphDef;
  network: Network;
  metadata: ModelMetadata;
  /** Content hash of the graph (weights included), carried by results and certificates. */
  hash: string;
  /**
   * Flat input feature names in model order (a vector input `x` of width n gives `x[0]` … `x[n-1]`,
   * or the names a sidecar gave): the names queries use. The same list as `network.inputNames`.
   */
  readonly inputNames: readonly string[];
  /** Flat output feature names in model order; the same list as `network.outputNames`. */
  readonly outputNames: readonly string[];
}

export function createModel(graph: GraphDef, metadata: ModelMetadata = {}): Model {
  const net = new Network(graph);
  return { graph, network: net, metadata, hash: graphHash(graph), inputNames: net.inputNames, outputNames: net.outputNames };
}

/**
 * FNV-1a (64-bit) over a canonical serialisation of the graph, weights included.
 * Not cryptographic: it identifies a model in results, it does not authenticate one.
 */
export function graphHash(graph: GraphDef): string {
  let h1 = 0x811c9dc5 | 0,
    h2 = 0xcbf29ce4 | 0;
  const feed = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ (c + 0x9e), 0x01000193);
    }
  };
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  const feedNum = (x: number): void => {
    view.setFloat64(0, x, true);
    for (let i = 0; i < 8; i++) {
      h1 = Math.imul(h1 ^ bytes[i], 0x01000193);
      h2 = Math.imul(h2 ^ (bytes[i] + 0x9e), 0x01000193);
    }
  };
  const walk = (v: unknown): void => {
    if (v instanceof Float64Array || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) {
      feed('[');
      const a = v as ArrayLike<number>;
      for (let i = 0; i < a.length; i++) feedNum(a[i]);
      feed(']');
    } else if (Array.isArray(v)) {
      feed('(');
      v.forEach(walk);
      feed(')');
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v).sort()) {
        // absent and undefined fields hash alike, so a model hashes the same after save → load
        if ((v as Record<string, unknown>)[k] === undefined) continue;
        feed(k);
        walk((v as Record<string, unknown>)[k]);
      }
    } else feed(String(v));
  };
  walk(graph);
  const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
  return `fnv1a:${hex(h2)}${hex(h1)}`;
}
