/**
 * A `verify --workers N` thread (vnnPool.ts): loads the model once, then answers each work item
 * the main thread sends with runVnnWorkItem (certify/vnn/parallel.ts), one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NetinvertError } from '../errors.ts';
import { runVnnWorkItem } from '../certify/vnn/parallel.ts';
import { loadVerifyModel } from './loadModelFile.ts';
import type { VnnPoolData, VnnPoolReply, VnnPoolRequest } from './vnnPool.ts';

const port = parentPort!;
const { modelPath, meta, spec } = workerData as VnnPoolData;
const send = (m: VnnPoolReply): void => port.postMessage(m);

try {
  const model = loadVerifyModel(modelPath, meta);
  port.on('message', (m: VnnPoolRequest) => {
    try {
      send({ kind: 'result', id: m.id, result: runVnnWorkItem(model, spec, m.item) });
    } catch (e) {
      send({ kind: 'failed', id: m.id, message: (e as Error)?.message ?? String(e) });
    }
  });
  send({ kind: 'ready', hash: model.hash });
} catch (e) {
  if (e instanceof NetinvertError) send({ kind: 'load-error', code: e.code, message: e.message });
  else send({ kind: 'load-error', code: null, message: (e as Error)?.message ?? String(e) });
}
