/**
 * `netinvert demo` (what `npm start` runs): the seed question, end to end, on the shipped nets.
 *  1. models/seed-add.json — 2-2-1 bipolar-sigmoid net fitted to a + b: given a = 3 and
 *     sum = 7, find b.
 *  2. models/seed-4in2out.json — given x1, x2, y1, y2, find x3 and x4: exactly two solutions,
 *     proven to be all of them (certify).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { certify } from '../../api/certify.ts';
import { invert } from '../../api/invert.ts';
import { fmt } from '../../report/brief.ts';
import { loadModelFile } from '../loadModelFile.ts';
import type { IO } from '../io.ts';

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'models');

/** The 4-in/2-out example query: the outputs at (x1, x2, x3, x4) = (1, 2, 5, 2). */
export const FOUR_IN_QUERY = {
  given: { x1: 1, x2: 2 },
  want: { y1: 9.991674991575996, y2: 0.5384203832818371 },
};

export function demoCommand(io: IO): number {
  const add = loadModelFile(join(MODELS, 'seed-add.json'));
  io.out('netinvert — the seed question');
  io.out('"A 2-2-1 bipolar-sigmoid net learned to add. Given input_1 = 3 and output = 7, find input_2."');
  io.out('');
  const r1 = invert(add, { given: { a: 3 }, want: { sum: 7 } });
  io.out(`$ netinvert solve models/seed-add.json --given a=3 --want sum=7`);
  io.out(r1.briefReport());
  if (r1.solutions.length) {
    const s = r1.solutions[0];
    io.out(
      `→ input_2 = b = ${fmt(s.unknowns.b)}; the network's own output there is ${fmt(s.outputs.sum)}` +
        ` (the net adds with rms error ≈ 0.013 over [0,10]², so its root sits near, not at, 4).`,
    );
  }
  io.out(`  (${r1.stats.timeMs.toFixed(2)} ms, ${r1.stats.evaluations} evaluations)`);
  io.out('');
  io.out('"With four inputs and two outputs, find input_3 and input_4 from input_1, input_2, output_1, output_2."');
  const m4 = loadModelFile(join(MODELS, 'seed-4in2out.json'));
  const t0 = performance.now();
  const r2 = certify(m4, FOUR_IN_QUERY);
  const ms = performance.now() - t0;
  io.out(`$ netinvert solve models/seed-4in2out.json --given x1=1,x2=2 --want y1=${FOUR_IN_QUERY.want.y1},y2=${FOUR_IN_QUERY.want.y2} --prove`);
  io.out(r2.briefReport());
  io.out(
    `  (${ms.toFixed(1)} ms: ${r2.stats.starts} search starts, then ${r2.certification?.boxes ?? 0} branch-and-bound boxes proving each solution unique and no other root in [0, 10]²)`,
  );
  return 0;
}
