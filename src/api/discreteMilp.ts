/**
 * Discrete unknowns (Query.integers / categorical / oneHot) with `--method milp`: ONE exact MILP
 * with native integer columns (certify/milp/run.ts MilpOptions.discrete), instead of one MILP per
 * assignment (api/discrete.ts, the path for smooth nets and --method lm). The MILP's branch-and-
 * bound branches over the discrete choices with the continuous unknowns inside (Tjeng, Xiao &
 * Tedrake, ICLR 2019, for the net; Wolsey, Integer Programming, §1.5, for the finite sets), so
 * the assignments are never listed and MAX_DISCRETE_ASSIGNMENTS does not apply.
 *
 * Result semantics follow the enumeration path where they overlap: "solved" with the discrete
 * values exact (a fresh forward pass verifies the point); "infeasible" only when proven (the MILP
 * with the margin rule of run.ts, or branch-and-bound on the continuous relaxation); with no
 * solution, the MILP's smallest-miss point is the nearest answer (discrete.nearest).
 * discrete.method is 'milp' and discrete.branches holds the one assignment found, if any.
 */
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';
import { buildProblem, type Query } from '../problem/query.ts';
import { assignmentAt, branchQuery, buildDiscrete, choiceCount } from '../problem/discrete.ts';
import { explainBranches } from './discreteExplain.ts';
import { solveMilpProblem, type MilpInvertOptions } from '../certify/milp/solve.ts';
import type { MilpDiscrete } from '../certify/milp/run.ts';
import type { CertifiedResult } from '../certify/certify.ts';
import type { Solution } from '../solve/result.ts';
import { now } from '../solve/evaluator.ts';

/**
 * Most assignments whose explanations are merged into the explanation of an infeasible or
 * best-compromise answer (each is explained on its own: the MILP never listed them).
 */
export const MILP_EXPLAIN_ASSIGNMENTS = 1000;

export async function invertMilpDiscrete(model: Model, query: Query, options: MilpInvertOptions): Promise<CertifiedResult> {
  const t0 = now();
  const plan = buildDiscrete(model, query, { enumerate: false });
  const problem = buildProblem(model, plan.rest, { atol: options.atol, rtol: options.rtol });
  const index = (k: string): number => {
    const j = problem.unknownNames.indexOf(k);
    // buildDiscrete refuses given and fixed inputs, so every discrete input is an unknown
    if (j < 0) throw new NetinvertError('bad_query', `discrete input "${k}" is not among the unknowns; drop it from the given or fixed inputs`, { input: k });
    return j;
  };
  const discrete: MilpDiscrete = { integers: [], groups: [] };
  for (const v of plan.vars) {
    if (v.kind === 'integer') discrete.integers.push(index(v.name));
    else discrete.groups.push({ kind: v.kind, unknowns: v.inputs.map(index), values: v.choices });
  }
  const r = await solveMilpProblem(problem, options, discrete);
  const inputs = plan.vars.flatMap((v) => v.inputs);
  const names = plan.vars.map((v) => v.name).join(', ');
  const assignmentOf = (s: Solution): Record<string, number> => Object.fromEntries(inputs.map((k) => [k, s.unknowns[k]]));
  // a discrete input sits on one of its values: that is its value, not an active bound
  for (const s of [...r.solutions, ...(r.best ? [r.best] : [])]) for (const k of inputs) delete s.activeBounds[k];
  const point = r.solutions[0] ?? r.best;
  const N = plan.assignments;
  r.discrete = {
    method: 'milp',
    variables: plan.vars.map((v) => ({ name: v.name, kind: v.kind, inputs: v.inputs, choices: choiceCount(v) })),
    assignments: N,
    // the MILP covers every assignment when it ends with an answer; a time-out claims none
    searched: r.status === 'solved' || r.status === 'infeasible' ? N : 0,
    branches: point ? [{ assignment: assignmentOf(point), status: r.status, proven: r.proven, maxMiss: r.status === 'solved' ? 0 : point.maxMiss }] : [],
    ...(r.solutions.length === 0 && r.best ? { nearest: [r.best] } : {}),
  };
  r.message = `one MILP over the ${N} assignments of the discrete unknowns (${names}), integer columns inside: ${r.message}`;
  // why (issue #12 §2): the assignments' explanations merged, as the enumeration path gives them,
  // when they are few enough to list (within the time an unproven explanation gets: as long as
  // the MILP took, or 2 s); else said so
  if (r.status === 'infeasible' || r.status === 'best-compromise') {
    if (N <= MILP_EXPLAIN_ASSIGNMENTS) {
      const listed = buildDiscrete(model, query);
      const branches = Array.from({ length: N }, (_, k) => ({ problem: buildProblem(model, branchQuery(listed, assignmentAt(listed, k)), { atol: options.atol, rtol: options.rtol }), r }));
      const e = explainBranches(branches, options, false, t0);
      if (e) r.explanation = e;
      else r.warnings = [...r.warnings, `no explanation: explaining the ${N} assignments of the discrete unknowns ran out of time`];
    } else r.warnings = [...r.warnings, `no explanation: the ${N} assignments of the discrete unknowns are more than the ${MILP_EXPLAIN_ASSIGNMENTS} an explanation lists`];
  }
  r.stats = { ...r.stats, timeMs: now() - t0 };
  return r;
}
