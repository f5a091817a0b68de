/**
 * `netinvert batch MODEL QUERIES.csv -o ANSWERS.csv`: answer many inverse queries, one per CSV
 * row, writing each answer as soon as it is known, so an interrupted run loses nothing and can
 * resume. The command only defines the arguments; the work is in cli/batch/:
 *   options.ts  the solver options (one table: flags, defaults, checks)
 *   queries.ts  the queries CSV: header checked against the model, one Query per row
 *   answers.ts  the answers CSV: rows per result, written to a file (fsync'd) or to stdout
 *   resume.ts   the meta file kept next to the answers, reading a partial answers file, --resume
 *   run.ts      the run loop: signals, progress, summary and exit code
 */
import type { Command } from 'commander';
import type { IO } from '../io.ts';
import { addSolverOptions } from '../batch/options.ts';
import { batchCommand } from '../batch/run.ts';
import { defaultWorkers } from '../parse.ts';

export const BATCH_HELP = `
Queries CSV (header row, then one row per query):
  id               optional; unique text per row (default: the 1-based row number)
  <input>          a known value; empty = unknown (solved for)
  <output>         a target without the name: 7, 0.1:0.3, >=0.5, <=2, optional @w; empty = free
  closest:<input>  optional reference value: answer with the solution closest to it
  want-class       optional classifier target, as --want-class: this output beats every other
  margin           optional margin of the row's want-class (default 0), as --margin
  integer          optional discrete unknowns, as --integer: input names (a;b or "a,b")
  categorical:<input>  optional values the input may take, as --categorical: 1;2.5;4 or "1,2.5,4"
  one-hot:<group>  optional one-hot group, as --one-hot: its inputs (red;green;blue)
  A row's discrete cells win over --integer/--categorical/--one-hot (every row's defaults) and the
  model's sidecar declarations for the same input or group. --prior FILE.csv or --prior-mean/
  --prior-std: one prior for every row (recorded with the answers, like every option).
  Each id, input, output and closest:<input> may have one column only.

Answers CSV (one row per solution; written and fsync'd as each query finishes):
  id,status,complete,max_miss,n_solutions,solution,<inputs...>,<outputs...>,message,why,explanation,counterfactual
  why / explanation: an infeasible or best-compromise row's explanation (as solve's report, on one
  line / as JSON): each target's reachable range, the conflict, the least relaxation
  (--explain-boxes 0: none). counterfactual: with a closest: reference and --diverse, --sparse,
  --only-increase, --only-decrease or --fixed, JSON of the record and the solutions (closest first).
  A query with k solutions writes k rows (solution = 1..k); with a closest: reference, one row
  (the closest solution). best-compromise/unknown rows carry the best point found; infeasible
  and error rows leave the values empty. Outputs are recomputed by a forward pass.
  -o - writes the answers to standard output (the summary goes to stderr; no --resume).

Next to ANSWERS.csv, ANSWERS.csv.meta.json records the model's hash, the queries file's hash and
every option. --resume refuses (error resume_mismatch) when any of them differs.

--workers N answers N queries at once, one per thread (default: the number of cores); the
answers file is the same as with --workers 1, row for row, in the queries' order.

Interrupt with Ctrl-C: the queries being answered finish, the file stays consistent, exit code 130;
run the same command with --resume to finish it.
Exit code: 0 all solved, 1 any row an error, else the largest of 2 best-compromise,
3 infeasible, 4 unknown.

--queue redis://host:6379/0 enqueues one job per query (once: enqueuing again adds nothing) for
\`netinvert worker\` processes on any machine; add --collect -o answers.csv to wait for the
answers and write them (the same file a local batch writes). --chunk K puts K consecutive queries in
each job: the queue's own cost is per job (about 0.3–0.5 ms of CPU in all on one machine), so for
queries that take a few milliseconds use K = 32.

Examples:
  netinvert batch model.onnx queries.csv -o answers.csv --bounds x3=-1:1 --prove
  netinvert batch relu.onnx queries.csv -o - --method milp > answers.csv
  netinvert batch model.onnx queries.csv -o answers.csv --plot batch.svg`;

/** Adds the batch command's arguments and options to `cmd`; `done` receives the exit code. */
export function defineBatchCommand(cmd: Command, io: IO, done: (code: number) => void): Command {
  cmd
    .description('answer many queries from a CSV file, one per row, writing each answer as it is found (resumable)')
    .argument('<model>', 'model file: .onnx, .keras, .h5, TF.js model.json, or native .json')
    .argument('<queries>', 'queries CSV: one row per query (see below)')
    .option('-o, --out <file>', 'answers CSV to write (appended to as queries finish); - for standard output')
    .option('--meta <file>', 'sidecar JSON with feature names, scalers and bounds (default: <model>.meta.json if present)');
  return addSolverOptions(cmd)
    .option('--resume', 'continue an interrupted run: keep the answers already in the file, answer the rest')
    .option('--queue <url>', 'use a Redis queue (redis://host:port/db): enqueue one job per query for `netinvert worker`s; with --collect, wait for the answers and write them')
    .option('--collect', 'with --queue: wait for every queued answer (showing progress) and write each once to -o')
    .option('--chunk <k>', 'with --queue: K consecutive queries per job (default 1: one job per query); for queries of a few ms, 32 makes the queue\'s per-job cost negligible (give the same K to --collect)')
    .option('--plot <file>', 'also draw the outcomes and the time per query to FILE (.svg or .png)')
    .option('--workers <n>', 'threads answering queries at once, each with its own copy of the model (the answers do not depend on it)', String(defaultWorkers()))
    .addHelpText('after', BATCH_HELP)
    .action(async (model: string, queries: string, opts: Record<string, unknown>) => {
      done(await batchCommand(model, queries, opts, io));
    });
}
