import { it } from 'vitest';
import { loadNativeModel } from '/work/wt-milpint/src/formats/native/load.ts';
import { invertMilp } from '/work/wt-milpint/src/api/milp.ts';
it('dbg', async () => {
  const def = { format: 'netinvert-model', version: 1, name: 'x', inputs: [{ name: 'a' }, { name: 'b' }],
    nodes: [{ name: 'cat', inputs: ['a', 'b'], op: 'concat' }, { name: 'h', inputs: ['cat'], op: 'dense', units: 2, weight: [[0.1, -0.2], [0.3, 0.1]], bias: [0, 0.1] }, { name: 'r', inputs: ['h'], op: 'relu' }, { name: 'o', inputs: ['r'], op: 'dense', units: 1, weight: [[1], [1]], bias: [0] }],
    outputs: [{ node: 'o', name: 'y' }], metadata: { inputRanges: { a: [0, 10], b: [0, 10] } } };
  const m = loadNativeModel(JSON.stringify(def));
  const r = await invertMilp(m, { integers: ['a', 'b'], want: { y: { range: [1.05, 1.15] } } }, { atol: 0 });
  console.log(r.status, r.message, r.warnings, r.solutions[0]?.inputs);
});
