/**
 * The text report (issue "Ship it" §3.10): inputs listed in model order, counts with the right
 * plural. (Closest-first is tested in closest.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/model.ts';
import { fullReport, plural } from '../src/report/brief.ts';
import { invert } from '../src/api/invert.ts';

// y = a + 2b + 3c: three scalar inputs, in this order
const model = createModel({
  inputs: [
    { name: 'a', width: 1 },
    { name: 'b', width: 1 },
    { name: 'c', width: 1 },
  ],
  nodes: [
    { name: 'x', op: { type: 'concat' }, inputs: ['a', 'b', 'c'] },
    { name: 'y', op: { type: 'dense', units: 1, weight: [1, 2, 3], bias: [0] }, inputs: ['x'] },
  ],
  outputs: [{ node: 'y', name: 'y' }],
});

describe('brief report', () => {
  it('lists a solution’s inputs in model order, given and solved interleaved', () => {
    // given the last input and the first: the unknown b sits between them
    const r = invert(model, { given: { c: 1, a: 0.5 }, want: { y: 4.5 }, bounds: { b: [-5, 5] } });
    expect(r.status).toBe('solved');
    const rows = r
      .briefReport()
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w[2] === 'given' || w[2] === 'solved');
    expect(rows.map((w) => w[0])).toEqual(['a', 'b', 'c']);
    expect(rows.map((w) => w[2])).toEqual(['given', 'solved', 'given']);
    // b = (4.5 − 0.5 − 3)/2
    expect(Number(rows[1][1])).toBeCloseTo(0.5, 9);
  });

  it('singular and plural counts', () => {
    expect(plural(1, 'box')).toBe('1 box');
    expect(plural(2, 'box')).toBe('2 boxes');
    expect(plural(0, 'start')).toBe('0 starts');
    expect(plural(1, 'start')).toBe('1 start');
    const r = invert(model, { given: { c: 1, a: 0.5 }, want: { y: 4.5 }, bounds: { b: [-5, 5] } });
    const one = { ...r, certification: { boxes: 1, excludedFraction: 0, undecidedBoxes: 0, budgetHit: false, rootBoxes: 1 }, stats: { ...r.stats, starts: 1, iterations: 1, evaluations: 1, jacobians: 1 } };
    const text = fullReport(one);
    expect(text).toMatch(/branch-and-bound: 1 box,/);
    expect(text).toMatch(/1 proven root box,/);
    expect(text).toMatch(/stats: 1 start, 1 iteration, 1 evaluation, 1 Jacobian,/);
    expect(text).not.toMatch(/\b1 (boxes|starts|iterations|evaluations|Jacobians)\b/);
    const two = fullReport({ ...one, certification: { ...one.certification, boxes: 2, rootBoxes: 2 } });
    expect(two).toMatch(/branch-and-bound: 2 boxes,/);
    expect(two).toMatch(/2 proven root boxes,/);
  });
});
