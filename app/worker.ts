/**
 * The app's Web Worker: every computation happens here, in the browser, through the public API
 * (netinvert and netinvert/plot). The page sends files and queries; the worker answers with plain
 * JSON (the model's description, the result, the plot spec) or a coded error.
 */
import {
  certify,
  invert,
  isNetinvertError,
  loadKerasModel,
  loadNativeModel,
  loadOnnxModel,
  loadTfjsModel,
  NetinvertError,
  type Model,
  type Query,
} from '../src/index.ts';
import { plotSpec } from '../src/plot/index.ts';
import type { FileIn, ModelInfo, Reply, Request } from './protocol.ts';

let model: Model | null = null;

function pickModel(files: FileIn[]): Model {
  if (files.length === 0) throw new NetinvertError('bad_model_file', 'no file given; drop or open a model file');
  const lower = (f: FileIn) => f.name.toLowerCase();
  const onnx = files.find((f) => lower(f).endsWith('.onnx'));
  if (onnx) return loadOnnxModel(onnx.bytes, { file: onnx.name });
  const keras = files.find((f) => /\.(keras|h5|hdf5)$/.test(lower(f)));
  if (keras) return loadKerasModel(keras.bytes, { file: keras.name });
  const jsons = files.filter((f) => lower(f).endsWith('.json') && !lower(f).endsWith('.meta.json'));
  for (const j of jsons) {
    const text = new TextDecoder().decode(j.bytes);
    if (/"modelTopology"\s*:/.test(text) || /"weightsManifest"\s*:/.test(text)) {
      return loadTfjsModel(
        text,
        (shard) => {
          const base = shard.split('/').pop()!;
          const f = files.find((x) => x.name === shard || x.name === base);
          if (!f) {
            throw new NetinvertError('bad_model_file', `${j.name} needs the weight shard "${shard}"; drop it together with model.json (select all the files at once)`, {
              file: j.name,
              shard,
            });
          }
          return f.bytes;
        },
        { file: j.name },
      );
    }
  }
  if (jsons.length) return loadNativeModel(jsons[0].bytes, jsons[0].name);
  throw new NetinvertError(
    'bad_model_file',
    `${files.map((f) => f.name).join(', ')}: unrecognised model file type; the app reads .onnx, .keras, .h5, a TF.js model.json with its shards, and native .json models`,
    { file: files[0].name },
  );
}

function describe(m: Model): ModelInfo {
  return {
    name: m.metadata.name ?? '(unnamed model)',
    hash: m.hash,
    inputs: m.inputNames.map((n) => ({ name: n, range: m.metadata.inputRanges?.[n] ?? null })),
    outputs: m.outputNames.map((n) => ({ name: n, range: m.metadata.outputRanges?.[n] ?? null })),
    warnings: m.metadata.warnings ?? [],
  };
}

function handle(req: Request): Reply {
  if (req.kind === 'load') {
    model = pickModel(req.files);
    return { kind: 'model', info: describe(model) };
  }
  if (!model) throw new NetinvertError('bad_argument', 'load a model first');
  const query: Query = req.query;
  const result = req.prove ? certify(model, query, req.options) : invert(model, query, req.options);
  let spec: object | null = null;
  let plotError: string | null = null;
  try {
    spec = plotSpec(model, result);
  } catch (e) {
    plotError = isNetinvertError(e) ? `error [${e.code}]: ${e.message}` : String(e);
  }
  return { kind: 'result', result: JSON.parse(JSON.stringify(result)), brief: result.briefReport(), spec, plotError };
}

self.onmessage = (ev: MessageEvent<Request & { id: number }>) => {
  const { id } = ev.data;
  try {
    (self as unknown as Worker).postMessage({ id, ...handle(ev.data) });
  } catch (e) {
    const err = isNetinvertError(e)
      ? { code: e.code, message: e.message }
      : { code: 'internal', message: `${(e as Error)?.message ?? String(e)} (please report this)` };
    (self as unknown as Worker).postMessage({ id, kind: 'error', error: err });
  }
};
