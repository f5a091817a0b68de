/**
 * The problem bank (STYLE.md: optimistix): problems with answers known independently of the
 * solver. Every solver runs against every problem in test/solve.test.ts (through invert) and
 * test/solvers-bank.test.ts (LM and Adam on the iterate loop, certify, MILP where it applies).
 */
import { readFileSync } from 'node:fs';
import { createModel, type Model } from '../src/model.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
import type { Query } from '../src/problem/query.ts';
import type { GraphDef } from '../src/graph/types.ts';

export function loadShipped(name: string): Model {
  return loadNativeModel(readFileSync(new URL(`../models/${name}`, import.meta.url), 'utf8'), name);
}

/** The bipolar sigmoid by its definition 2/(1+e^−x) − 1 (not the engine's tanh form). */
export function bsig(x: number): number {
  return 2 / (1 + Math.exp(-x)) - 1;
}

/** Bisection for a root of g on [a, b] with g(a)·g(b) < 0, to the last bits. */
export function bisect(g: (x: number) => number, a: number, b: number): number {
  let ga = g(a);
  for (let i = 0; i < 200; i++) {
    const m = 0.5 * (a + b);
    if (m === a || m === b) return m;
    const gm = g(m);
    if (gm === 0) return m;
    if (Math.sign(gm) === Math.sign(ga)) {
      a = m;
      ga = gm;
    } else b = m;
  }
  return 0.5 * (a + b);
}

/** The seed net's output written out from the thread's closed form, weights read from the JSON. */
export function seedAddOracle(): (a: number, b: number) => number {
  const raw = JSON.parse(readFileSync(new URL('../models/seed-add.json', import.meta.url), 'utf8'));
  const hidden = raw.nodes.find((n: { name: string }) => n.name === 'hidden').weight as number[][];
  const out = raw.nodes.find((n: { name: string }) => n.name === 'out').weight as number[][];
  const scale = raw.nodes.find((n: { name: string }) => n.name === 'sum').scale[0] as number;
  const [wa1, wa2] = hidden[0],
    [wb1, wb2] = hidden[1];
  const [wh1, wh2] = [out[0][0], out[1][0]];
  return (A, B) => scale * bsig(wh1 * bsig(wa1 * A + wb1 * B) + wh2 * bsig(wa2 * A + wb2 * B));
}

export interface BankProblem {
  name: string;
  model: Model;
  query: Query;
  /** Expected outcome. */
  status: 'solved' | 'best-compromise' | 'infeasible';
  /** Isolated solutions expected (when known), as unknown vectors in unknown order. */
  solutions?: number[][];
  /** Expected continuum dimension. */
  continuumDimension?: number;
}

/**
 * A 2-unknown net with four isolated solutions: y1 = E(x3 − x4), y2 = E(x3 + x4 − 7), with
 * E(d) = bsig(k·d + c) + bsig(−k·d + c) even in d and decreasing in |d|. Fixing y1 = E(3) and
 * y2 = E(1) gives |x3 − x4| = 3 and |x3 + x4 − 7| = 1: (x3, x4) ∈ {(5.5, 2.5), (2.5, 5.5), (4.5, 1.5), (1.5, 4.5)}.
 */
/** fourRootNet's four solutions of y1 = E(3), y2 = E(1), as (x3, x4), ordered by x3. */
export const FOUR_ROOTS: readonly (readonly [number, number])[] = [
  [1.5, 4.5],
  [2.5, 5.5],
  [4.5, 1.5],
  [5.5, 2.5],
];

export function fourRootNet(): Model {
  const k = 0.8,
    c = 1.5;
  const g: GraphDef = {
    inputs: [
      { name: 'x3', width: 1 },
      { name: 'x4', width: 1 },
    ],
    nodes: [
      { name: 'x', op: { type: 'concat' }, inputs: ['x3', 'x4'] },
      {
        name: 'h',
        op: { type: 'dense', units: 4, weight: [k, -k, k, -k, -k, k, k, -k], bias: [c, c, c - 7 * k, c + 7 * k] },
        inputs: ['x'],
      },
      { name: 'a', op: { type: 'unary', fn: 'bipolar_sigmoid' }, inputs: ['h'] },
      { name: 'y', op: { type: 'dense', units: 2, weight: [1, 0, 1, 0, 0, 1, 0, 1], bias: [0, 0] }, inputs: ['a'] },
    ],
    outputs: [{ node: 'y', name: 'y', features: ['y1', 'y2'] }],
  };
  return createModel(g, { name: 'four-roots', inputRanges: { x3: [0, 10], x4: [0, 10] } });
}

export function evenE(d: number): number {
  return bsig(0.8 * d + 1.5) + bsig(-0.8 * d + 1.5);
}

/** y = tanh(3x) − 0.5x on [−4, 4]: three roots of y = 0 (0 and ±x*). One unknown, one target. */
export function threeRootNet(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 1 }],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 1, weight: [3], bias: [0] }, inputs: ['x'] },
      { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
      { name: 'xi', op: { type: 'binary_const', fn: 'mul', constant: [-0.5] }, inputs: ['x'] },
      { name: 'y', op: { type: 'binary', fn: 'add' }, inputs: ['t', 'xi'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  };
  return createModel(g, { name: 'three-roots', inputRanges: { x: [-4, 4] } });
}

/** y1 = tanh(x1 + x2), y2 = 2·tanh(x1 + x2): square, but rank 1 everywhere (a curve of solutions). */
export function rankDeficientNet(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 2 }],
    nodes: [
      { name: 'h', op: { type: 'dense', units: 1, weight: [1, 1], bias: [0] }, inputs: ['x'] },
      { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
      { name: 'y', op: { type: 'dense', units: 2, weight: [1, 2], bias: [0, 0] }, inputs: ['t'] },
    ],
    outputs: [{ node: 'y', name: 'y', features: ['y1', 'y2'] }],
  };
  return createModel(g, { name: 'rank-deficient', inputRanges: { 'x[0]': [-1, 1], 'x[1]': [-1, 1] } });
}

/** y1 = y2 = x (one unknown, two outputs): conflicting targets make a weighted compromise. */
export function twinOutputNet(): Model {
  const g: GraphDef = {
    inputs: [{ name: 'x', width: 1 }],
    nodes: [{ name: 'y', op: { type: 'dense', units: 2, weight: [1, 1], bias: [0, 0] }, inputs: ['x'] }],
    outputs: [{ node: 'y', name: 'y', features: ['y1', 'y2'] }],
  };
  return createModel(g, { inputRanges: { x: [-5, 5] } });
}

/** y = tanh(x1 + 2·x2 − 0.5) and z = x1 − x2 on [−1, 1]²: y < 1 everywhere. */
export function saturatingNet(): Model {
  const g: GraphDef = {
    inputs: [
      { name: 'x1', width: 1 },
      { name: 'x2', width: 1 },
    ],
    nodes: [
      { name: 'x', op: { type: 'concat' }, inputs: ['x1', 'x2'] },
      { name: 'h', op: { type: 'dense', units: 2, weight: [1, 1, 2, -1], bias: [-0.5, 0] }, inputs: ['x'] },
      { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
      { name: 'y', op: { type: 'gather', indices: [0] }, inputs: ['t'] },
    ],
    outputs: [{ node: 'y', name: 'y' }],
  };
  return createModel(g, { inputRanges: { x1: [-1, 1], x2: [-1, 1] } });
}

export const FOUR_IN_TARGETS = { y1: 9.991674991575996, y2: 0.5384203832818371 };

export function bank(): BankProblem[] {
  return [
    {
      name: 'seed add net: 3 + b = 7',
      model: loadShipped('seed-add.json'),
      query: { given: { a: 3 }, want: { sum: 7 } },
      status: 'solved',
    },
    {
      name: 'seed 4-in/2-out: two solutions',
      model: loadShipped('seed-4in2out.json'),
      query: { given: { x1: 1, x2: 2 }, want: FOUR_IN_TARGETS },
      status: 'solved',
      solutions: [
        [2, 5],
        [5, 2],
      ],
    },
    {
      name: 'four isolated roots',
      model: fourRootNet(),
      query: { want: { y1: evenE(3), y2: evenE(1) } },
      status: 'solved',
      solutions: FOUR_ROOTS.map((r) => [...r]),
    },
    {
      name: 'underdetermined: one target, two unknowns',
      model: loadShipped('seed-4in2out.json'),
      query: { given: { x1: 1, x2: 2 }, want: { y1: FOUR_IN_TARGETS.y1 } },
      status: 'solved',
      continuumDimension: 1,
    },
    {
      name: 'square but rank-deficient on a curve',
      model: rankDeficientNet(),
      query: { want: { y1: 0.5, y2: 1.0 } },
      status: 'solved',
      continuumDimension: 1,
    },
    {
      name: 'unreachable target: optimum at a corner',
      model: saturatingNet(),
      query: { want: { y: 2 } },
      status: 'best-compromise',
    },
  ];
}

/**
 * models/mixture.json's closed form, written out from its description (not read from the file):
 * density = 1.2r + 2.5f + 1.8b, stiffness = 4 + 3·tanh(2(b − r) + f).
 */
export function mixtureForward(r: number, f: number, b: number): [number, number] {
  return [1.2 * r + 2.5 * f + 1.8 * b, 4 + 3 * Math.tanh(2 * (b - r) + f)];
}

/**
 * The one (resin, filler, fiber) with r + f + b = 1 meeting density D and stiffness S: with
 * u = atanh((S − 4)/3) three linear equations (determinant 3.4), solved by Cramer's rule.
 */
export function mixtureClosedForm(D: number, S: number): [number, number, number] {
  const u = Math.atanh((S - 4) / 3);
  const A = [
    [1, 1, 1],
    [1.2, 2.5, 1.8],
    [-2, 1, 2],
  ];
  const rhs = [1, D, u];
  const det = (m: number[][]): number =>
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(A);
  return [0, 1, 2].map((c) => det(A.map((row, i) => row.map((v, j) => (j === c ? rhs[i] : v)))) / d) as [number, number, number];
}
