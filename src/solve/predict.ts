/**
 * predict(model, {a: 3, b: 4}) → {sum: 7.01…}: the model's forward pass by feature name, for
 * checking an answer or seeing what the model does. One fresh float64 pass (the engine's
 * evaluate), in the model's raw units (a sidecar's scalers are part of the graph).
 */
import { NetinvertError } from '../errors.ts';
import type { Model } from '../model.ts';

/** Inputs by feature name → outputs by feature name. Every input must be named, once, with a finite value. */
export function predict(model: Model, inputs: Record<string, number>): Record<string, number> {
  return predictMany(model, [inputs])[0];
}

/**
 * The batch form: one forward pass over all points (rows). Errors name the point (0-based
 * index in `points`) and the input.
 */
export function predictMany(model: Model, points: readonly Record<string, number>[]): Record<string, number>[] {
  const net = model.network;
  if (!Array.isArray(points)) throw new NetinvertError('bad_argument', 'predictMany takes an array of points, each {input name: value}');
  const nIn = net.nIn;
  const X = new Float64Array(points.length * nIn);
  const inputList = net.inputNames.join(', ');
  points.forEach((p, r) => {
    const at = points.length === 1 ? '' : ` (point ${r})`;
    if (!p || typeof p !== 'object') throw new NetinvertError('bad_argument', `a point must be an object {input name: value}${at}`, { point: r });
    for (const k of Object.keys(p)) {
      if (net.inputIndex(k) < 0) {
        throw new NetinvertError('unknown_input', `"${k}" is not an input of the model${at}; its inputs are: ${inputList}`, { input: k, point: r });
      }
    }
    const missing = net.inputNames.filter((n) => !Object.hasOwn(p, n));
    if (missing.length) {
      throw new NetinvertError(
        'missing_input',
        `no value for ${missing.length === 1 ? 'input' : 'inputs'} ${missing.map((n) => `"${n}"`).join(', ')}${at}; a forward pass needs every input (${inputList})`,
        { input: missing[0], missing, point: r },
      );
    }
    for (let i = 0; i < nIn; i++) {
      const name = net.inputNames[i];
      const v = p[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new NetinvertError('bad_argument', `input "${name}"${at} must be a finite number (got ${String(v)})`, { input: name, point: r });
      }
      X[r * nIn + i] = v;
    }
  });
  const Y = points.length ? net.evaluate(X, points.length) : new Float64Array(0);
  const nOut = net.nOut;
  return points.map((_, r) => {
    const out: Record<string, number> = {};
    for (let o = 0; o < nOut; o++) out[net.outputNames[o]] = Y[r * nOut + o];
    return out;
  });
}
