/**
 * netinvert/milp: the exact MILP path for piecewise-linear nets (HiGHS in WebAssembly).
 * A separate entry point because the highs package carries a Node-only dynamic import that
 * breaks browser bundles of the main entry; in a browser, serve highs.wasm and call
 * setHighsLoaderOptions first.
 */
export { invertMilp } from './api/milp.ts';
export type { MilpInvertOptions } from './certify/milp/solve.ts';
export { solveMilp, isPiecewiseLinear } from './certify/milp/run.ts';
export type { MilpObjective, MilpResult, MilpOptions } from './certify/milp/run.ts';
export { setHighsLoaderOptions } from './certify/milp/highs.ts';
