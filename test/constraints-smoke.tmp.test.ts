import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { invert } from '../src/api/invert.ts';
import { loadNativeModel } from '../src/formats/native/load.ts';
it('smoke', () => {
  const model = loadNativeModel(readFileSync('models/seed-add.json'));
  for (const constraints of [['a - b >= 1'], ['a = 2*b', 'b >= 1'], ['a + b <= 6'], ['a + b >= 6.5', 'a <= b']]) {
    const r = invert(model, { want: { sum: 7 }, constraints }, { maxEvaluations: 20000 });
    console.log(JSON.stringify([constraints, r.status, r.message, r.solutions.slice(0, 3).map((s) => [s.unknowns, s.constraints.map((c) => [c.target, c.value, c.slack, c.met])])]));
  }
});
