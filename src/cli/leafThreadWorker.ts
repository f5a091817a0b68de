/**
 * The thread of leafThread.ts: refutes each batch of leaves it is sent with the independent
 * verifier (vnnRefutedLeaves) and replies with their keys; replies are counted in the shared
 * flags so that the main thread, which does not run its event loop, can wait for them.
 */
import { workerData } from 'node:worker_threads';
import { newVnnVerifyCarry, vnnRefutedLeaves } from '../certify/proof/vnnVerifier.ts';
import type { Model } from '../model.ts';
import { REPLIES, STATE, type LeafThreadData, type LeafThreadReply, type LeafThreadRequest } from './leafThread.ts';

const data = workerData as LeafThreadData;
const flags = new Int32Array(data.flags);
// the verifier reads only the graph and the hash of a model
const model = { hash: data.hash, graph: data.graph } as Model;
// one search's batches: the ancestors' states and the method rates carry from batch to batch
const carry = newVnnVerifyCarry();
const reply = (m: LeafThreadReply): void => {
  data.port.postMessage(m);
  Atomics.add(flags, REPLIES, 1);
  Atomics.notify(flags, REPLIES);
};
data.port.on('message', (m: LeafThreadRequest) => {
  if (m.kind === 'end') return reply({ kind: 'ended' });
  try {
    reply({ kind: 'refuted', keys: vnnRefutedLeaves(model, data.spec, m.leaves, carry) });
  } catch {
    Atomics.store(flags, STATE, 2);
    Atomics.notify(flags, REPLIES);
  }
});
Atomics.store(flags, STATE, 1);
