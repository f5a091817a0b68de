/**
 * metadata.precision: set by the importers of float32 formats, kept through the native format,
 * and the only thing the query layer reads to floor a float32 model's tolerances (it knows no
 * file-format names). The oracle for the floor is FLOAT32_FLOOR itself, from docs/design.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isNetinvertError } from '../src/errors.ts';
import { loadKerasModel } from '../src/formats/keras/load.ts';
import { loadNativeModel, saveNativeModel } from '../src/formats/native/load.ts';
import { loadOnnxModel } from '../src/formats/onnx/load.ts';
import { loadTfjsModel } from '../src/formats/tfjs/load.ts';
import { buildProblem, FLOAT32_FLOOR, isFloat32Model } from '../src/problem/query.ts';

const F = 'test/fixtures/third-party';
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
const seed = readFileSync('models/seed-add.json', 'utf8');

/** The seed net's native file with its metadata replaced. */
function nativeWith(metadata: Record<string, unknown>): string {
  const f = JSON.parse(seed) as Record<string, unknown>;
  f.metadata = metadata;
  return JSON.stringify(f);
}

describe('metadata.precision', () => {
  it('the float32 importers set it; a native file without it is float64', () => {
    const onnx = loadOnnxModel(bytes(`${F}/onnx-torch/net_Calcite_ST.onnx`), { file: 'net_Calcite_ST.onnx' });
    const tfjs = loadTfjsModel(readFileSync(`${F}/tfjs-layers/abalone-node-trainedModel/model.json`, 'utf8'), () => bytes(`${F}/tfjs-layers/abalone-node-trainedModel/weights.bin`), {
      file: 'model.json',
    });
    const h5 = loadKerasModel(bytes(`${F}/keras-h5/mlp_14.h5`), { file: 'mlp_14.h5' });
    expect(onnx.metadata.precision).toBe('float32');
    expect(h5.metadata.precision).toBe('float32');
    expect(tfjs.metadata.precision).toBe('float32');
    expect(isFloat32Model(onnx)).toBe(true);
    const native = loadNativeModel(seed, 'seed-add.json');
    expect(native.metadata.precision).toBeUndefined();
    expect(isFloat32Model(native)).toBe(false);
  });

  it('survives save → load, and the query layer floors tolerances by it alone', () => {
    const onnx = loadOnnxModel(bytes(`${F}/onnx-torch/net_Calcite_ST.onnx`), { file: 'net_Calcite_ST.onnx' });
    const again = loadNativeModel(saveNativeModel(onnx), 'saved.json');
    expect(again.metadata.precision).toBe('float32');
    const out = again.outputNames[0];
    const p = buildProblem(again, { want: { [out]: 0.5 } }, { atol: 1e-9, rtol: 1e-9 });
    expect(p.atol).toBe(FLOAT32_FLOOR);
    expect(p.rtol).toBe(FLOAT32_FLOOR);
    // the same net marked float64 keeps the tolerance asked for: the source format plays no part
    const f64 = { ...again, metadata: { ...again.metadata, precision: 'float64' as const } };
    expect(f64.metadata.source?.format).toBe('onnx');
    const q = buildProblem(f64, { want: { [out]: 0.5 } }, { atol: 1e-9, rtol: 1e-9 });
    expect(q.atol).toBe(1e-9);
    expect(q.rtol).toBe(1e-9);
  });

  it('native files written before the field existed keep their meaning', () => {
    expect(loadNativeModel(nativeWith({ source: { format: 'onnx' } })).metadata.precision).toBe('float32');
    expect(loadNativeModel(nativeWith({ source: { format: 'keras-h5' } })).metadata.precision).toBe('float32');
    expect(loadNativeModel(nativeWith({ source: { format: 'onnx' }, extra: { precision: 'float64' } })).metadata.precision).toBe('float64');
    expect(loadNativeModel(nativeWith({ extra: { precision: 'float32' } })).metadata.precision).toBe('float32');
    expect(loadNativeModel(nativeWith({ source: { format: 'nnet' } })).metadata.precision).toBeUndefined();
    expect(loadNativeModel(nativeWith({ source: { format: 'onnx' }, precision: 'float64' })).metadata.precision).toBe('float64');
  });

  it('a bad value is a coded error that names the field', () => {
    let err: unknown;
    try {
      loadNativeModel(nativeWith({ precision: 'half' }), 'm.json');
    } catch (e) {
      err = e;
    }
    expect(isNetinvertError(err)).toBe(true);
    expect(String((err as Error).message)).toContain('metadata.precision');
  });
});
