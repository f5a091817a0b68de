/**
 * The shared branch-and-bound driver (solve/branchAndBound.ts) in its FIFO order, the one that
 * solve/oneDim.ts and certify/proof/bnb.ts run on: checked against the plain array worklist those
 * two searches used before (take the first k boxes, push the children at the end, filter before
 * each round, stop when the budget says so). The best-first order is covered in vnn-decide.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runBranchAndBound, SPLIT_FRACTION, type BoundOutcome } from '../src/solve/branchAndBound.ts';

type Box = [number, number];

/** A deterministic decision per box: closed, contracted to one child, or split in two. */
function decide(b: Box, seed: number): 0 | 1 | 2 {
  const h = Math.abs(Math.sin(b[0] * 12.9898 + b[1] * 78.233 + seed) * 43758.5453) % 1;
  return h < 0.35 ? 0 : h < 0.45 ? 1 : 2;
}
function children(b: Box, d: 1 | 2): Box[] {
  if (d === 1) return [[b[0], b[0] + 0.75 * (b[1] - b[0])]];
  const c = b[0] + SPLIT_FRACTION * (b[1] - b[0]);
  return [
    [b[0], c],
    [c, b[1]],
  ];
}

/** The reference: the array worklist of oneDim.ts / bnb.ts before the driver. */
function reference(k: number, maxRounds: number, seed: number, dropBelow: number): { batches: Box[][]; remaining: Box[]; budget: boolean } {
  let work: Box[] = [[0, 1]];
  const batches: Box[][] = [];
  let rounds = 0;
  while (work.length) {
    if (rounds >= maxRounds) return { batches, remaining: work, budget: true };
    work = work.filter((b) => b[1] - b[0] >= dropBelow);
    if (!work.length) break;
    const batch = work.splice(0, k);
    rounds++;
    batches.push(batch);
    for (const b of batch) {
      const d = decide(b, seed);
      if (d) work.push(...children(b, d));
    }
  }
  return { batches, remaining: [], budget: false };
}

describe('branch-and-bound driver, FIFO order', () => {
  it('bounds the same batches in the same order as the plain worklist, and leaves the same boxes at the budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 1e-3, 0.02), (k, maxRounds, seed, dropBelow) => {
        const ref = reference(k, maxRounds, seed, dropBelow);
        const batches: Box[][] = [];
        let rounds = 0;
        const run = runBranchAndBound<Box, never, never>(
          [[0, 1]],
          {
            bound: (batch): BoundOutcome<never, Box>[] => {
              rounds++;
              batches.push(batch.slice());
              return batch.map((b) => {
                const d = decide(b, seed);
                return d ? { kind: 'branch', children: children(b, d) } : { kind: 'closed' };
              });
            },
          },
          { order: 'fifo', batch: k, trees: false, stop: () => rounds >= maxRounds, keep: (b) => b[1] - b[0] >= dropBelow },
        );
        expect(batches).toEqual(ref.batches);
        expect(run.status).toBe(ref.budget ? 'budget' : 'closed');
        expect(run.remaining).toEqual(ref.remaining);
        expect(run.boxesBounded).toBe(ref.batches.flat().length);
      }),
      { numRuns: 200 },
    );
  });

  it('batchSize overrides the batch each round; leaves count closed boxes', () => {
    const sizes: number[] = [];
    let round = 0;
    const run = runBranchAndBound<Box, never, never>(
      [[0, 1]],
      { bound: (batch) => (sizes.push(batch.length), batch.map((b) => (b[1] - b[0] > 0.1 ? { kind: 'branch' as const, children: children(b, 2) } : { kind: 'closed' as const }))) },
      { order: 'fifo', trees: false, batchSize: () => ++round },
    );
    expect(run.status).toBe('closed');
    // rounds of 1, 2, 3, ... boxes while that many wait
    sizes.slice(0, -1).forEach((s, i) => expect(s).toBe(i + 1));
    // a binary split tree: leaves = splits + 1
    expect(run.leaves).toBe(run.boxesBounded - run.leaves + 1);
  });

  it("'branch' records make preorder trees whose leaves tile the root", () => {
    const run = runBranchAndBound<Box, number, never>(
      [[0, 1]],
      {
        bound: (batch) =>
          batch.map((b) => {
            if (b[1] - b[0] < 0.2) return { kind: 'closed' as const };
            const c = b[0] + SPLIT_FRACTION * (b[1] - b[0]);
            return { kind: 'branch' as const, children: children(b, 2), record: c };
          }),
      },
      { order: 'fifo' },
    );
    const t = run.trees[0];
    let pos = 0;
    const leaves: Box[] = [];
    const walk = (b: Box): void => {
      const r = t[pos++];
      if (r === null) return void leaves.push(b);
      walk([b[0], r]);
      walk([r, b[1]]);
    };
    walk([0, 1]);
    expect(pos).toBe(t.length);
    expect(leaves[0][0]).toBe(0);
    expect(leaves[leaves.length - 1][1]).toBe(1);
    for (let i = 1; i < leaves.length; i++) expect(leaves[i][0]).toBe(leaves[i - 1][1]);
    for (const l of leaves) expect(l[1] - l[0]).toBeLessThan(0.2);
  });
});
