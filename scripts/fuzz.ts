/**
 * npm run fuzz -- [--queries N] [--seed S] [--start I] [--out DIR] [--max-boxes N]
 *                 [--max-evaluations N] [--time-limit S] [--no-milp] [--milp-every K] [--json]
 *
 * The falsification suite (test/fuzz/): random nets and queries, every claim of invert /
 * certify / invertMilp checked by an independent oracle, every certificate tampered with.
 * Prints the claims by kind, the violations with their reproducers, and the elapsed time.
 * Exit code 0 when there is no violation, 1 otherwise.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, runFuzz } from '../test/fuzz/run.ts';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    start: { type: 'string', default: '0' },
    out: { type: 'string' },
    'max-boxes': { type: 'string', default: '5000' },
    'max-evaluations': { type: 'string', default: '200000' },
    'time-limit': { type: 'string', default: '5' },
    'no-milp': { type: 'boolean', default: false },
    'milp-every': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(
    'npm run fuzz -- [--queries N=200] [--seed S=1] [--start I=0] [--out DIR] [--max-boxes N=5000] [--max-evaluations N=200000] [--time-limit S=5] [--no-milp] [--milp-every K=2] [--json]',
  );
  process.exit(0);
}

const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`fuzz: --${name} must be a whole number ≥ 0 (got ${v})`);
    process.exit(1);
  }
  return n;
};
const seed = int('seed', values.seed);
const timeLimit = Number(values['time-limit']);
if (!(timeLimit > 0)) {
  console.error(`fuzz: --time-limit must be > 0 seconds (got ${values['time-limit']})`);
  process.exit(1);
}
const outDir = values.out ?? join(tmpdir(), `netinvert-fuzz-seed${seed}`);
const report = await runFuzz({
  queries: int('queries', values.queries),
  seed,
  start: int('start', values.start),
  outDir,
  maxBoxes: int('max-boxes', values['max-boxes']),
  maxEvaluations: int('max-evaluations', values['max-evaluations']),
  timeLimit,
  milp: !values['no-milp'],
  milpEvery: Math.max(1, int('milp-every', values['milp-every'])),
  log: (l) => console.error(l),
});
if (values.json) console.log(JSON.stringify(report, null, 2));
else console.log(formatReport(report, seed));
process.exit(report.violations.length ? 1 : 0);
