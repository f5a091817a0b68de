import { describe, expect, it } from 'vitest';
import { network } from '../src/index.ts';

describe('smoke', () => {
  it('evaluates a 2-2-1 net against a hand computation', () => {
    const net = network({
      inputs: [{ name: 'x', width: 2 }],
      nodes: [
        { name: 'h', op: { type: 'dense', units: 2, weight: [1, 2, 3, 4], bias: [0.5, -0.5] }, inputs: ['x'] },
        { name: 't', op: { type: 'unary', fn: 'tanh' }, inputs: ['h'] },
        { name: 'y', op: { type: 'dense', units: 1, weight: [1, -1] }, inputs: ['t'] },
      ],
      outputs: [{ node: 'y' }],
    });
    const x0 = 0.1,
      x1 = -0.2;
    const expected = Math.tanh(x0 * 1 + x1 * 3 + 0.5) - Math.tanh(x0 * 2 + x1 * 4 - 0.5);
    expect(net.evaluate(new Float64Array([x0, x1]), 1)[0]).toBeCloseTo(expected, 14);
    expect(net.inputNames).toEqual(['x[0]', 'x[1]']);
  });
});
