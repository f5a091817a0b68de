/**
 * The thread of leafThread.ts: refutes each batch of leaves it is sent with the independent
 * verifier (vnnRefutedLeaves) and replies with their keys; between batches, runs the
 * falsification restarts it was asked for (one round at a time, leaves first) and posts a witness
 * it finds. Replies are counted in the shared flags so that the main thread, which does not run
 * its event loop, can wait for them.
 */
import { workerData } from 'node:worker_threads';
import { newVnnVerifyCarry, vnnRefutedLeaves } from '../certify/proof/vnnVerifier.ts';
import { restartSeed, type RestartPlan } from '../certify/vnn/decide.ts';
import type { Model } from '../model.ts';
import { CLAIM_SLOTS, CLAIM_THREAD, REPLIES, STATE, STOP, WITNESS, type LeafThreadData, type LeafThreadReply, type LeafThreadRequest } from './leafThread.ts';

const data = workerData as LeafThreadData;
const flags = new Int32Array(data.flags);
const claims = new Int32Array(data.claims);
// the verifier reads only the graph and the hash of a model
const graphOnly = { hash: data.hash, graph: data.graph } as Model;
// one search's batches: the ancestors' states and the method rates carry from batch to batch
const carry = newVnnVerifyCarry();
const reply = (m: LeafThreadReply): void => {
  data.port.postMessage(m);
  Atomics.add(flags, REPLIES, 1);
  Atomics.notify(flags, REPLIES);
};
const failed = (): void => {
  Atomics.store(flags, STATE, 2);
  Atomics.notify(flags, REPLIES);
};

/** The restarts under way: their plan, the model and forms they need (built once), time spent, rounds run. */
let restarts: { plan: RestartPlan; run: (seed: number, ms: number) => unknown; spent: number; round: number; t0: number } | null = null;

/**
 * The restarts take at most 1/RESTART_SHARE of the wall time since they began (the main thread's
 * interleaved restarts kept the same 1:3 share of the search): on a machine whose other core is
 * busy they would otherwise slow the search they run beside.
 */
const RESTART_SHARE = 3;
async function startRestarts(plan: RestartPlan): Promise<void> {
  // the search's modules, loaded only when restarts are asked for
  const [{ falsify }, { specForms }, { createModel }] = await Promise.all([import('../certify/vnn/decide.ts'), import('../certify/vnn/bounds.ts'), import('../model.ts')]);
  const model = createModel(data.graph);
  const forms = specForms(data.spec);
  restarts = {
    plan,
    spent: 0,
    round: 0,
    t0: performance.now(),
    run: (seed, ms) => falsify(model, forms, plan.boxes, { starts: plan.starts, steps: plan.steps, seed, falsifyShare: 0 }, performance.now() + ms),
  };
  setImmediate(tick);
}
/** One restart round, then the next after the messages that arrived meanwhile (leaves go first). */
function tick(): void {
  const r = restarts;
  if (!r || Atomics.load(flags, STOP) === 1 || r.spent >= r.plan.ms) return void (restarts = null);
  const t = performance.now();
  const ahead = r.spent * RESTART_SHARE - (t - r.t0);
  if (ahead > 0) return void setTimeout(tick, Math.ceil(ahead));
  let w: unknown;
  try {
    // with plan.first, round 0 is the full first round (the plan's own seed)
    const k = r.plan.first ? r.round++ : ++r.round;
    w = r.run(restartSeed(r.plan.seed, k), r.plan.ms - r.spent);
  } catch {
    return void (restarts = null);
  }
  r.spent += performance.now() - t;
  if (w) {
    restarts = null;
    Atomics.store(flags, WITNESS, 1);
    return reply({ kind: 'witness', witness: w as Extract<LeafThreadReply, { kind: 'witness' }>['witness'] });
  }
  setImmediate(tick);
}

data.port.on('message', (m: LeafThreadRequest) => {
  if (m.kind === 'end') {
    restarts = null;
    return reply({ kind: 'ended' });
  }
  if (m.kind === 'restarts') {
    startRestarts(m.plan).catch(() => (restarts = null));
    return;
  }
  // a batch the main thread took at the end (finish) is its own
  if (m.batch < CLAIM_SLOTS && Atomics.compareExchange(claims, m.batch, 0, CLAIM_THREAD) !== 0) return;
  try {
    reply({ kind: 'refuted', keys: vnnRefutedLeaves(graphOnly, data.spec, m.leaves, carry) });
  } catch {
    failed();
  }
});
Atomics.store(flags, STATE, 1);
