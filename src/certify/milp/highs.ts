/**
 * The HiGHS side of the MILP path: one cached WebAssembly instance, and the structured model
 * (column bounds, CSR rows) built from a MilpBuilder.
 *
 * We use highs' persistent structured API (`createModel` / `passModel` with colLower/colUpper
 * arrays), not its CPLEX-LP text `solve()`: the text format makes a column without a `Bounds`
 * line ≥ 0, and writing coefficients as decimal text would round them. Typed arrays reach HiGHS
 * bit for bit.
 *
 * Loading: in Node, highs' ESM loader reads `highs.wasm` from its own folder (it resolves the file
 * from `import.meta.url`); a browser fetches it from beside the bundled script, or the caller
 * passes `wasmBinary` / `locateFile` through `setHighsLoaderOptions`.
 */
import highsLoader, { type Highs, type InitOptions, type ModelData } from 'highs';
import type { MilpBuilder } from './encode.ts';

let loading: Promise<Highs> | null = null;
let loaderOptions: InitOptions | undefined;

/** Options for loading the wasm (browser bundles: `locateFile` or `wasmBinary`); set before the first solve. */
export function setHighsLoaderOptions(options: InitOptions): void {
  loaderOptions = options;
  loading = null;
}

/** The HiGHS runtime, loaded once per process (compiling the wasm takes a few hundred ms). */
export function loadHighs(): Promise<Highs> {
  if (!loading) {
    loading = highsLoader(loaderOptions).catch((e: unknown) => {
      loading = null;
      throw e;
    });
  }
  return loading;
}

export interface ModelExtras {
  /** Objective coefficients per column (default 0). */
  cost?: Float64Array;
  offset?: number;
  maximize?: boolean;
  /** Mark the builder's binary columns integer (false: the LP relaxation). */
  integer: boolean;
}

/** The builder's columns and rows as HiGHS ModelData (CSR). */
export function toModelData(highs: Highs, b: MilpBuilder, x: ModelExtras): ModelData {
  const n = b.numCols,
    m = b.numRows;
  const integrality = new Int32Array(n);
  if (x.integer) for (let j = 0; j < n; j++) if (b.colRole[j] === 'binary' || b.integerCols.has(j)) integrality[j] = highs.constants.variableType.integer;
  const inf = (v: number): number => (v === Infinity ? highs.infinity : v === -Infinity ? -highs.infinity : v);
  return {
    numCols: n,
    numRows: m,
    sense: x.maximize ? highs.constants.objectiveSense.maximize : highs.constants.objectiveSense.minimize,
    offset: x.offset ?? 0,
    colCost: x.cost ?? new Float64Array(n),
    colLower: Float64Array.from(b.colLo, inf),
    colUpper: Float64Array.from(b.colHi, inf),
    rowLower: Float64Array.from(b.rowLo, inf),
    rowUpper: Float64Array.from(b.rowHi, inf),
    matrix: {
      format: 'csr',
      numRows: m,
      numCols: n,
      starts: Int32Array.from(b.rowStart),
      indices: Int32Array.from(b.rowIdx),
      values: Float64Array.from(b.rowVal),
    },
    integrality,
  };
}
