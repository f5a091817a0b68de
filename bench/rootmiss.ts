/**
 * Root-miss rate of the default multi-start search (no --prove), issue "Ship it" §3.5.
 *
 *   npx tsx bench/rootmiss.ts            # 2,000 queries on net 0
 *   NETINVERT_ROOTMISS_QUERIES=500 NETINVERT_ROOTMISS_NETS=3 NETINVERT_ROOTMISS_FIRST_NET=1 npx tsx bench/rootmiss.ts
 *
 * Net: 3-32-32-2 tanh MLP, Glorot-uniform weights scaled by GAIN (so the map folds and a query
 * has several isolated roots), biases uniform in [−0.5, 0.5], seeded by the project's mulberry32.
 * Query: x ~ U(box) with box [−2, 2]³; given x[0]; want y[0] = f(x)₀ and y[1] = f(x)₁ (two
 * equalities on two unknowns → isolated roots). The generating point (x[1], x[2]) is a root by
 * construction, so it must be among the returned solutions: a query "misses" when no returned
 * solution lies within 1e-6 (in box-width units, max norm) of it.
 * Queries whose generating point has a Jacobian condition number above 1e8 are counted apart
 * (nearly a double root: there LM's answer can differ from it by more than 1e-6 and still be right).
 *
 * Prints the miss rate, the mean number of roots per query and the work per query.
 */
import { createModel, type Model } from '../src/model.ts';
import { invert } from '../src/api/invert.ts';
import { mulberry32 } from '../src/numeric/rng.ts';
import { singularValues } from '../src/numeric/linalg.ts';

export const GAIN = 3;
export const BOX = 2;

export function rootMissNet(seed: number): Model {
  const rand = mulberry32(seed);
  const layer = (inW: number, out: number): number[] => {
    const s = GAIN * Math.sqrt(6 / (inW + out));
    return Array.from({ length: inW * out }, () => (2 * rand() - 1) * s);
  };
  const bias = (k: number): number[] => Array.from({ length: k }, () => rand() - 0.5);
  return createModel({
    inputs: [{ name: 'x', width: 3 }],
    nodes: [
      { name: 'd1', op: { type: 'dense', units: 32, weight: layer(3, 32), bias: bias(32) }, inputs: ['x'] },
      { name: 'a1', op: { type: 'unary', fn: 'tanh' }, inputs: ['d1'] },
      { name: 'd2', op: { type: 'dense', units: 32, weight: layer(32, 32), bias: bias(32) }, inputs: ['a1'] },
      { name: 'a2', op: { type: 'unary', fn: 'tanh' }, inputs: ['d2'] },
      { name: 'd3', op: { type: 'dense', units: 2, weight: layer(32, 2), bias: bias(2) }, inputs: ['a2'] },
    ],
    outputs: [{ node: 'd3', name: 'y' }],
  });
}

export interface RootMissStats {
  queries: number;
  missed: number;
  illConditioned: number;
  missedIllConditioned: number;
  notSolved: number;
  roots: number;
  evaluations: number;
  ms: number;
  missedSeeds: number[];
}

export function measureRootMiss(net: Model, count: number, querySeed: number): RootMissStats {
  const rand = mulberry32(querySeed);
  const st: RootMissStats = { queries: count, missed: 0, illConditioned: 0, missedIllConditioned: 0, notSolved: 0, roots: 0, evaluations: 0, ms: 0, missedSeeds: [] };
  const t0 = performance.now();
  const w = 2 * BOX;
  for (let q = 0; q < count; q++) {
    const x = [0, 1, 2].map(() => (2 * rand() - 1) * BOX);
    const y = net.network.evaluate(new Float64Array(x), 1);
    const J = net.network.jacobian(new Float64Array(x), 1, { wrt: [1, 2], of: [0, 1] }).J;
    const sv = singularValues(J, 2, 2);
    const ill = !(sv[1] > 0) || sv[0] / sv[1] > 1e8;
    if (ill) st.illConditioned++;
    const r = invert(
      net,
      {
        given: { 'x[0]': x[0] },
        want: { 'y[0]': y[0], 'y[1]': y[1] },
        bounds: { 'x[1]': [-BOX, BOX], 'x[2]': [-BOX, BOX] },
      },
      { seed: q },
    );
    st.evaluations += r.stats.evaluations;
    if (r.status !== 'solved') st.notSolved++;
    st.roots += r.solutions.length;
    const hit = r.solutions.some((s) => Math.max(Math.abs(s.unknowns['x[1]'] - x[1]), Math.abs(s.unknowns['x[2]'] - x[2])) / w <= 1e-6);
    if (!hit) {
      st.missed++;
      st.missedSeeds.push(q);
      if (ill) st.missedIllConditioned++;
    }
  }
  st.ms = performance.now() - t0;
  return st;
}

function main(): void {
  const N = Number(process.env.NETINVERT_ROOTMISS_QUERIES ?? 2000);
  const nets = Number(process.env.NETINVERT_ROOTMISS_NETS ?? 1);
  const first = Number(process.env.NETINVERT_ROOTMISS_FIRST_NET ?? 0);
  for (let k = first; k < first + nets; k++) {
    const net = rootMissNet(1000 + k);
    const s = measureRootMiss(net, N, 77 + k);
    console.log(
      `net ${k} (3-32-32-2 tanh, gain ${GAIN}, box [−${BOX}, ${BOX}]³): ${s.queries} reachable queries, ` +
        `missed the generating root in ${s.missed} (${((100 * s.missed) / s.queries).toFixed(2)}%; ${s.missedIllConditioned} of them nearly double roots, cond > 1e8, of ${s.illConditioned} such queries), ` +
        `not solved ${s.notSolved}, ${(s.roots / s.queries).toFixed(2)} roots/query, ${(s.evaluations / s.queries).toFixed(0)} evaluations/query, ${(s.ms / s.queries).toFixed(2)} ms/query`,
    );
    if (s.missedSeeds.length) console.log(`  missed queries: ${s.missedSeeds.slice(0, 40).join(', ')}${s.missedSeeds.length > 40 ? ' …' : ''}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
