/**
 * A `verify --workers N` or `solve --prove --workers N` thread (vnnPool.ts): loads the model once
 * (and, for a proof, builds the query's Problem once and reads the caller's stop flag), then
 * answers each work item the main thread sends with runVnnWorkItem (certify/vnn/parallel.ts) or
 * runProofWorkItem (certify/proof/parallel.ts), one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NetinvertError } from '../errors.ts';
import { runVnnWorkItem, type VnnWorkItem } from '../certify/vnn/parallel.ts';
import { runProofWorkItem, type ProofWorkItem } from '../certify/proof/parallel.ts';
import { buildRelaxedProblem } from '../problem/discrete.ts';
import { setStopSignal } from '../solve/evaluator.ts';
import { loadModelFile } from './loadModelFile.ts';
import { loadVerifyModel } from './verifyModel.ts';
import type { PoolData, VnnPoolReply, VnnPoolRequest } from './vnnPool.ts';

const port = parentPort!;
const data = workerData as PoolData;
const send = (m: VnnPoolReply): void => port.postMessage(m);

try {
  let answer: (item: VnnPoolRequest['item']) => (VnnPoolReply & { kind: 'result' })['result'];
  let hash: string;
  if (data.kind === 'vnn') {
    const model = await loadVerifyModel(data.modelPath, data.meta);
    hash = model.hash;
    answer = (item) => runVnnWorkItem(model, data.spec, item as VnnWorkItem);
  } else {
    const model = loadModelFile(data.modelPath, data.meta);
    hash = model.hash;
    // the Problem certifyParallel proves (the model's discrete declarations applied: a query with
    // discrete unknowns never reaches the threads, it is proven branch by branch on the main one)
    const problem = buildRelaxedProblem(model, data.query, data.tolerance);
    if (data.stop) setStopSignal(new Int32Array(data.stop));
    answer = (item) => runProofWorkItem(problem, item as ProofWorkItem);
  }
  port.on('message', (m: VnnPoolRequest) => {
    try {
      send({ kind: 'result', id: m.id, result: answer(m.item) });
    } catch (e) {
      send({ kind: 'failed', id: m.id, message: (e as Error)?.message ?? String(e) });
    }
  });
  send({ kind: 'ready', hash });
} catch (e) {
  if (e instanceof NetinvertError) send({ kind: 'load-error', code: e.code, message: e.message });
  else send({ kind: 'load-error', code: null, message: (e as Error)?.message ?? String(e) });
}
