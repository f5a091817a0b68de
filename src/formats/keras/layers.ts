/**
 * Keras layers → graph nodes. Shared by the Keras (.keras, .h5) and TF.js importers: both
 * files describe the same layers with the same config keys; only where the weights live
 * differs, and that is the caller's `weightsOf`.
 *
 * Every layer's result is a graph node named after the layer (helper nodes get
 * `<layer>/<part>` names), or an alias of its input when the layer does nothing at inference
 * (Dropout, Flatten, Reshape, InputLayer). Tensors are flat per point; a tensor's logical
 * shape (batch dimension excluded) is tracked for Flatten, Reshape, Concatenate and
 * BatchNormalization axes.
 */
import { NetinvertError, type ErrorCode } from '../../errors.ts';
import type { GraphDef, InputDef, NodeDef, OpSpec, OutputDef } from '../../graph/types.ts';
import type { WeightTensor } from './hdf5.ts';
import { declaredBatchShape, isObj, type LayerSpec, type Topology } from './topology.ts';

export interface ConvertContext {
  file: string;
  /** Keras major version: 1, 2 or 3. TF.js follows Keras 2 (hard_sigmoid 0.2x + 0.5). */
  kerasMajor: number;
  /** The stored weights of a layer, in the file's order; [] when it has none. */
  weightsOf(layer: LayerSpec): WeightTensor[];
  /** Non-fatal remarks (layers dropped at inference). */
  warnings: string[];
}

interface Tensor {
  /** Graph node (or input) holding the value. */
  node: string;
  /** Logical shape without the batch dimension. */
  shape: number[];
}

const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Activation',
  'Dropout',
  'AlphaDropout',
  'GaussianNoise',
  'GaussianDropout',
  'SpatialDropout1D',
  'ActivityRegularization',
  'BatchNormalization',
  'LeakyReLU',
  'ReLU',
  'ELU',
  'PReLU',
  'ThresholdedReLU',
  'Softmax',
  'Flatten',
  'Reshape',
  'Rescaling',
  'Normalization',
  'Concatenate',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
];

const INERT = new Set(['Dropout', 'AlphaDropout', 'GaussianNoise', 'GaussianDropout', 'SpatialDropout1D', 'ActivityRegularization']);

export const SUPPORTED_ACTIVATIONS = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'tanh',
  'softmax',
  'log_softmax',
  'softplus',
  'softsign',
  'selu',
  'elu',
  'exponential',
  'hard_sigmoid',
  'hard_tanh',
  'swish',
  'silu',
  'gelu',
  'gelu_new',
  'leaky_relu',
  'mish',
  'hard_silu',
  'hard_swish',
  'log_sigmoid',
];

const prod = (s: number[]): number => s.reduce((a, b) => a * b, 1);

function toSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** Python's keras naming.to_snake_case (the .keras archive names weight groups with it). */
export function kerasSnakeCase(name: string): string {
  let s = name.replace(/\W+/g, '');
  s = s.replace(/(.)([A-Z][a-z]+)/g, '$1_$2');
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

class Builder {
  readonly nodes: NodeDef[] = [];
  readonly inputs = new Map<string, InputDef>();
  readonly tensors = new Map<string, Tensor>();

  constructor(readonly ctx: ConvertContext) {}

  fail(code: ErrorCode, layer: LayerSpec, msg: string, extra: Record<string, unknown> = {}): never {
    throw new NetinvertError(code, `${this.ctx.file}: layer "${layer.name}" (${layer.className}): ${msg}`, {
      file: this.ctx.file,
      layer: layer.name,
      node: layer.name,
      op: layer.className,
      ...extra,
    });
  }

  emit(name: string, op: OpSpec, inputs: string[]): string {
    this.nodes.push({ name, op, inputs });
    return name;
  }

  unary(name: string, fn: string, input: string, params?: Record<string, number>): string {
    return this.emit(name, { type: 'unary', fn, ...(params ? { params } : {}) }, [input]);
  }

  affine(name: string, input: string, width: number, scale: number, shift: number): string {
    return this.emit(name, { type: 'affine', scale: new Float64Array(width).fill(scale), shift: new Float64Array(width).fill(shift) }, [input]);
  }

  num(layer: LayerSpec, key: string, dflt: number): number {
    const v = layer.config[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail('bad_parameter', layer, `config "${key}" must be a finite number (got ${JSON.stringify(v)})`);
    return v;
  }

  // ── activations ──────────────────────────────────────────────────────────────────────

  /** The activation's normalized name and parameters; null for linear. */
  activationName(layer: LayerSpec, act: unknown): { name: string; approximate?: boolean } | null {
    if (act === undefined || act === null) return null;
    let name: string | undefined;
    let approximate: boolean | undefined;
    if (typeof act === 'string') name = act;
    else if (isObj(act)) {
      // Serialized function objects: {class_name: "function", config: "relu"} or
      // {class_name: "gelu", config: {approximate: true}}.
      if (typeof act.config === 'string') name = act.config;
      else if (typeof act.class_name === 'string') {
        name = act.class_name;
        if (isObj(act.config) && typeof act.config.approximate === 'boolean') approximate = act.config.approximate;
        if (isObj(act.config) && typeof act.config.name === 'string' && name === 'function') name = act.config.name;
      }
    }
    if (!name) this.fail('bad_model_file', layer, `activation ${JSON.stringify(act)} is not a name`);
    const n = toSnake(name.replace(/^.*\./, ''));
    if (n === 'linear' || n === 'identity') return null;
    if (!SUPPORTED_ACTIVATIONS.includes(n)) {
      this.fail(
        'unsupported_op',
        layer,
        `activation "${name}" is not supported; supported activations: ${SUPPORTED_ACTIVATIONS.join(', ')}. Use one of them, or export the model to ONNX`,
        { activation: name },
      );
    }
    return { name: n, approximate };
  }

  /** Apply an activation to `src` (shape `shape`); the last node is named `out`. */
  activation(layer: LayerSpec, act: { name: string; approximate?: boolean }, src: string, shape: number[], out: string): string {
    const w = prod(shape);
    const p = (part: string): string => `${out}/${part}`;
    switch (act.name) {
      case 'relu':
      case 'sigmoid':
      case 'tanh':
      case 'softplus':
      case 'softsign':
      case 'selu':
      case 'elu':
      case 'silu':
      case 'hard_tanh':
        return this.unary(out, act.name, src);
      case 'swish':
        return this.unary(out, 'silu', src);
      case 'exponential':
        return this.unary(out, 'exp', src);
      case 'gelu':
        return this.unary(out, act.approximate ? 'gelu_tanh' : 'gelu', src);
      case 'gelu_new':
        return this.unary(out, 'gelu_tanh', src);
      case 'relu6':
        return this.unary(out, 'clip', src, { min: 0, max: 6 });
      case 'leaky_relu':
        // keras.activations.leaky_relu / tf.nn.leaky_relu default slope.
        return this.unary(out, 'leaky_relu', src, { alpha: 0.2 });
      case 'hard_sigmoid':
        return this.unary(out, 'hard_sigmoid', src, this.hardSigmoidParams());
      case 'softmax':
      case 'log_softmax':
        if (shape.length !== 1) this.fail('unsupported_op', layer, `${act.name} over a rank-${shape.length} tensor is not supported; flatten first`);
        return this.emit(out, { type: act.name }, [src]);
      case 'mish': {
        // x · tanh(softplus(x))
        const sp = this.unary(p('softplus'), 'softplus', src);
        const th = this.unary(p('tanh'), 'tanh', sp);
        return this.emit(out, { type: 'binary', fn: 'mul' }, [src, th]);
      }
      case 'hard_silu':
      case 'hard_swish': {
        // Keras 3: x · relu6(x + 3) / 6 = x · hard_sigmoid(x) with slope 1/6.
        const hs = this.unary(p('hard_sigmoid'), 'hard_sigmoid', src, { slope: 1 / 6, offset: 0.5 });
        return this.emit(out, { type: 'binary', fn: 'mul' }, [src, hs]);
      }
      case 'log_sigmoid': {
        // log σ(x) = −softplus(−x)
        const neg = this.affine(p('neg'), src, w, -1, 0);
        const sp = this.unary(p('softplus'), 'softplus', neg);
        return this.affine(out, sp, w, -1, 0);
      }
    }
    return this.fail('unsupported_op', layer, `activation "${act.name}" is not supported`);
  }

  /** Keras 2 and TF.js: 0.2x + 0.5; Keras 3: relu6(x + 3)/6 = x/6 + 0.5 (both clipped to [0, 1]). */
  hardSigmoidParams(): Record<string, number> {
    return this.ctx.kerasMajor >= 3 ? { slope: 1 / 6, offset: 0.5 } : { slope: 0.2, offset: 0.5 };
  }

  // ── the ReLU family, composed exactly from engine ops ───────────────────────────────────

  /**
   * keras.backend.relu(x, α, max_value M, threshold t), as Keras 2 and 3 compute it:
   *   g = x·[x > t] when t ≠ 0, else max(x, 0);  g = clip(g, 0, M) when M is given;
   *   f = g − α·relu(t − x).
   * With c = clip(t, 0, M) (c = t when t ≠ 0 and there is no M) this is
   *   f(x) = clip(x, c, M) − c + c·[x > t] + α·(min(x, t) − t),
   * and the jump c·[x > t] is exact too: [x > t] = clip(K(x − t), 0, 1) with K a power of two
   * large enough that K·(x − t) ≥ 1 for the nearest double x above t.
   */
  reluFamily(layer: LayerSpec, src: string, w: number, out: string, alpha: number, max: number | null, t: number): string {
    const p = (part: string): string => `${out}/${part}`;
    const M = max === null ? Infinity : max;
    if (!(M >= 0)) this.fail('bad_parameter', layer, `max_value must be ≥ 0 (got ${max})`);
    if (t === 0) {
      if (M === Infinity) return alpha === 0 ? this.unary(out, 'relu', src) : this.unary(out, 'leaky_relu', src, { alpha });
      if (alpha === 0) return this.unary(out, 'clip', src, { min: 0, max: M });
    }
    const c = M === Infinity && t !== 0 ? t : Math.min(Math.max(t, 0), M);
    const terms: { node: string; coef: number }[] = [];
    terms.push({ node: M === Infinity ? this.unary(p('pos'), 'max_const', src, { c }) : this.unary(p('pos'), 'clip', src, { min: c, max: M }), coef: 1 });
    if (c !== 0) terms.push({ node: this.step(layer, src, w, t, p('step')), coef: c });
    if (alpha !== 0) terms.push({ node: this.unary(p('neg'), 'min_const', src, { c: t }), coef: alpha });
    return this.linearSum(terms, -c - alpha * t, w, out);
  }

  /** [x > t] for t ≠ 0, exactly: clip(K·x − K·t, 0, 1) with K a power of two (all products exact). */
  step(layer: LayerSpec, src: string, w: number, t: number, out: string): string {
    // The nearest double above t differs from it by ulp(t) ≥ 2^(e − 52) for |t| ∈ [2^e, 2^(e+1)).
    const e = Math.floor(Math.log2(Math.abs(t)));
    const K = 2 ** (54 - e);
    if (!Number.isFinite(K) || !Number.isFinite(K * t) || K * Math.abs(t) > 2 ** 60) {
      this.fail('bad_parameter', layer, `threshold ${t} is out of the supported range`);
    }
    const z = this.affine(`${out}/scaled`, src, w, K, -K * t);
    return this.unary(out, 'clip', z, { min: 0, max: 1 });
  }

  /** Σ coef·node + constant, the last node named `out`. */
  linearSum(terms: { node: string; coef: number }[], constant: number, w: number, out: string): string {
    let acc = '';
    terms.forEach((term, i) => {
      const last = i === terms.length - 1;
      const shift = i === 0 ? constant : 0;
      let v = term.node;
      if (term.coef !== 1 || shift !== 0) v = this.affine(last && i === 0 ? out : `${out}/term${i}`, v, w, term.coef, shift);
      if (i === 0) acc = v;
      else acc = this.emit(last ? out : `${out}/sum${i}`, { type: 'binary', fn: 'add' }, [acc, v]);
    });
    if (acc !== out) acc = this.unary(out, 'identity', acc);
    return acc;
  }

  // ── weights ──────────────────────────────────────────────────────────────────────────

  /**
   * The layer's weights by role. Stored names (kernel:0, dense/bias, gamma…) decide when they
   * all match the expected roles; otherwise (Keras 3 vars/0, Keras 1 dense_1_W) the order does.
   */
  weights(layer: LayerSpec, roles: string[]): Record<string, WeightTensor> {
    const list = this.ctx.weightsOf(layer);
    const roleOf = (t: WeightTensor): string =>
      (t.path.split('/').pop() ?? '')
        .replace(/:\d+$/, '')
        .replace(/_\d+$/, '');
    const named = list.map(roleOf);
    const out: Record<string, WeightTensor> = {};
    if (list.length === roles.length && named.every((n) => roles.includes(n)) && new Set(named).size === named.length) {
      list.forEach((t, i) => (out[named[i]] = t));
    } else if (list.length === roles.length) {
      roles.forEach((r, i) => (out[r] = list[i]));
    } else {
      const have = list.length ? list.map((t) => `${t.path} ${JSON.stringify(t.shape)}`).join(', ') : 'none';
      this.fail(
        'bad_model_file',
        layer,
        `expected ${roles.length} weight(s) (${roles.join(', ')}) but the file holds ${list.length} (${have}); was the model saved with its weights (model.save, not to_json)?`,
      );
    }
    for (const r of roles) {
      const t = out[r];
      for (let i = 0; i < t.values.length; i++) {
        if (!Number.isFinite(t.values[i])) {
          throw new NetinvertError(
            'non_finite_weight',
            `${this.ctx.file}: layer "${layer.name}" (${layer.className}): weight ${t.path} [${i}] is ${t.values[i]}; weights must be finite. Retrain or fix the model (a diverged training run writes NaN), then save again`,
            { file: this.ctx.file, layer: layer.name, field: t.path, index: i },
          );
        }
      }
    }
    return out;
  }

  expectShape(layer: LayerSpec, t: WeightTensor, want: number[], why: string): void {
    const same = t.shape.length === want.length && t.shape.every((d, i) => d === want[i]);
    if (!same) {
      this.fail(
        'shape_mismatch',
        layer,
        `weight ${t.path} has shape ${JSON.stringify(t.shape)} but ${why} needs ${JSON.stringify(want)}; the weights do not belong to this config (re-save the model)`,
        { field: t.path },
      );
    }
  }

  vectorFor(layer: LayerSpec, t: WeightTensor, n: number, why: string): Float64Array {
    if (t.values.length !== n) {
      this.fail('shape_mismatch', layer, `weight ${t.path} has shape ${JSON.stringify(t.shape)} (${t.values.length} values) but ${why} needs ${n}`, {
        field: t.path,
      });
    }
    return t.values;
  }

  // ── shapes ───────────────────────────────────────────────────────────────────────────

  inputShape(layer: LayerSpec): number[] {
    const raw = declaredBatchShape(layer.config);
    if (!raw) {
      this.fail('no_inputs', layer, 'declares no input shape (batch_shape / batch_input_shape); save the model after building it with an Input');
    }
    const dims = raw.slice(1);
    if (dims.length === 0) this.fail('shape_mismatch', layer, `input shape ${JSON.stringify(raw)} has no feature dimension`);
    if (dims.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d <= 0)) {
      this.fail(
        'shape_mismatch',
        layer,
        `input shape ${JSON.stringify(raw)} has an unknown or invalid feature dimension; netinvert needs fixed feature widths (declare the input with a full shape)`,
      );
    }
    const s = dims as number[];
    if (prod(s) > 2 ** 24) this.fail('file_too_large', layer, `input shape ${JSON.stringify(raw)} has more than 2^24 features`);
    return s;
  }

  /** Feature axis (0-based, batch excluded) of a Keras axis argument for a tensor of rank r. */
  featureAxis(layer: LayerSpec, axisRaw: unknown, rank: number): number {
    let a = Array.isArray(axisRaw) ? (axisRaw.length === 1 ? axisRaw[0] : NaN) : axisRaw === undefined ? -1 : axisRaw;
    if (typeof a !== 'number' || !Number.isInteger(a)) this.fail('unsupported_op', layer, `axis ${JSON.stringify(axisRaw)} is not supported (one axis only)`);
    if (a < 0) a += rank + 1;
    if (a < 1 || a > rank) this.fail('shape_mismatch', layer, `axis ${JSON.stringify(axisRaw)} is out of range for an input of shape [batch, ${rank} feature dims]`);
    return a - 1;
  }

  single(layer: LayerSpec, ins: Tensor[]): Tensor {
    if (ins.length !== 1) this.fail('shape_mismatch', layer, `takes one input, got ${ins.length}`);
    return ins[0];
  }

  // ── layers ───────────────────────────────────────────────────────────────────────────

  layer(layer: LayerSpec, ins: Tensor[]): Tensor {
    const cls = layer.className;
    const name = layer.name;
    if (INERT.has(cls)) {
      this.ctx.warnings.push(`${this.ctx.file}: layer "${name}" (${cls}) does nothing at inference and was skipped`);
      return this.single(layer, ins);
    }
    switch (cls) {
      case 'Dense':
        return this.dense(layer, this.single(layer, ins));
      case 'Activation': {
        const x = this.single(layer, ins);
        const act = this.activationName(layer, layer.config.activation);
        if (!act) return x;
        return { node: this.activation(layer, act, x.node, x.shape, name), shape: x.shape };
      }
      case 'BatchNormalization':
        return this.batchNorm(layer, this.single(layer, ins));
      case 'LeakyReLU': {
        const x = this.single(layer, ins);
        // Keras 2 / TF.js "alpha", Keras 3 "negative_slope"; default 0.3 in both.
        const alpha = layer.config.negative_slope !== undefined ? this.num(layer, 'negative_slope', 0.3) : this.num(layer, 'alpha', 0.3);
        return { node: this.unary(name, 'leaky_relu', x.node, { alpha }), shape: x.shape };
      }
      case 'ELU': {
        const x = this.single(layer, ins);
        return { node: this.unary(name, 'elu', x.node, { alpha: this.num(layer, 'alpha', 1) }), shape: x.shape };
      }
      case 'ReLU': {
        const x = this.single(layer, ins);
        const mv = layer.config.max_value;
        const max = mv === undefined || mv === null ? null : this.num(layer, 'max_value', 0);
        const alpha = this.num(layer, 'negative_slope', 0);
        const t = this.num(layer, 'threshold', 0);
        return { node: this.reluFamily(layer, x.node, prod(x.shape), name, alpha, max, t), shape: x.shape };
      }
      case 'ThresholdedReLU': {
        // x·[x > θ]: keras.backend.relu with threshold θ.
        const x = this.single(layer, ins);
        return { node: this.reluFamily(layer, x.node, prod(x.shape), name, 0, null, this.num(layer, 'theta', 1)), shape: x.shape };
      }
      case 'PReLU':
        return this.prelu(layer, this.single(layer, ins));
      case 'Softmax': {
        const x = this.single(layer, ins);
        const ax = this.featureAxis(layer, layer.config.axis, x.shape.length);
        if (x.shape.length !== 1 || ax !== 0) this.fail('unsupported_op', layer, `softmax over axis ${JSON.stringify(layer.config.axis)} of a rank-${x.shape.length} tensor; flatten first`);
        return { node: this.emit(name, { type: 'softmax' }, [x.node]), shape: x.shape };
      }
      case 'Flatten':
        return this.flatten(layer, this.single(layer, ins));
      case 'Reshape':
        return this.reshape(layer, this.single(layer, ins));
      case 'Rescaling':
        return this.rescaling(layer, this.single(layer, ins));
      case 'Normalization':
        return this.normalization(layer, this.single(layer, ins));
      case 'Concatenate':
        return this.concatenate(layer, ins);
      case 'Add':
      case 'Subtract':
      case 'Multiply':
      case 'Average':
        return this.merge(layer, ins);
      case 'Lambda':
        return this.fail(
          'unsupported_op',
          layer,
          'a Lambda layer holds Python code, which netinvert never runs; replace it with built-in layers (Activation, Rescaling, Normalization, Add, …) and save again, or export the model to ONNX',
        );
    }
    if (/^(Sequential|Functional|Model)$/.test(cls) || isObj(layer.config.layers)) {
      return this.fail('unsupported_op', layer, 'a nested model is not supported; rebuild the model flat (its layers directly in one Sequential or functional model) and save again');
    }
    return this.fail(
      'unsupported_op',
      layer,
      `layer class "${cls}" is not supported; netinvert imports ${SUPPORTED_LAYERS.join(', ')}. Rebuild the model with those layers, or export it to ONNX`,
    );
  }

  dense(layer: LayerSpec, x: Tensor): Tensor {
    const cfg = layer.config;
    if (x.shape.length !== 1) {
      this.fail('unsupported_op', layer, `Dense on an input of shape ${JSON.stringify(x.shape)} (rank > 1) is not supported; add a Flatten before it`);
    }
    const unitsRaw = cfg.units ?? cfg.output_dim;
    if (typeof unitsRaw !== 'number' || !Number.isSafeInteger(unitsRaw) || unitsRaw <= 0) {
      this.fail('bad_model_file', layer, `"units" must be a positive integer (got ${JSON.stringify(unitsRaw)})`);
    }
    const units = unitsRaw;
    const useBias = (cfg.use_bias ?? cfg.bias ?? true) !== false;
    const inW = x.shape[0];
    const w = this.weights(layer, useBias ? ['kernel', 'bias'] : ['kernel']);
    this.expectShape(layer, w.kernel, [inW, units], `an input of width ${inW} and ${units} units`);
    const bias = useBias ? this.vectorFor(layer, w.bias, units, `${units} units`) : null;
    const act = this.activationName(layer, cfg.activation);
    const op: OpSpec = { type: 'dense', units, weight: w.kernel.values, bias };
    if (!act) return { node: this.emit(layer.name, op, [x.node]), shape: [units] };
    const pre = this.emit(`${layer.name}/pre`, op, [x.node]);
    return { node: this.activation(layer, act, pre, [units], layer.name), shape: [units] };
  }

  /** Per-channel vector (length shape[axis]) broadcast to every feature of the flat tensor. */
  broadcastChannel(v: Float64Array, shape: number[], axis: number): Float64Array {
    const inner = prod(shape.slice(axis + 1));
    const n = shape[axis];
    const out = new Float64Array(prod(shape));
    for (let i = 0; i < out.length; i++) out[i] = v[Math.floor(i / inner) % n];
    return out;
  }

  batchNorm(layer: LayerSpec, x: Tensor): Tensor {
    const cfg = layer.config;
    const ax = this.featureAxis(layer, cfg.axis, x.shape.length);
    const n = x.shape[ax];
    const eps = this.num(layer, 'epsilon', 1e-3);
    const center = cfg.center !== false,
      scale = cfg.scale !== false;
    const roles = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
    const w = this.weights(layer, roles);
    const why = `${n} channels`;
    const gamma = scale ? this.vectorFor(layer, w.gamma, n, why) : null;
    const beta = center ? this.vectorFor(layer, w.beta, n, why) : null;
    const mean = this.vectorFor(layer, w.moving_mean, n, why);
    const variance = this.vectorFor(layer, w.moving_variance, n, why);
    // Inference: y = γ(x − μ)/√(σ² + ε) + β = s·x + (β − s·μ), s = γ/√(σ² + ε).
    const s = new Float64Array(n),
      b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = variance[i] + eps;
      if (!(d > 0)) this.fail('bad_model_file', layer, `moving_variance[${i}] + epsilon = ${d} is not positive; the statistics are damaged`);
      s[i] = (gamma ? gamma[i] : 1) / Math.sqrt(d);
      b[i] = (beta ? beta[i] : 0) - s[i] * mean[i];
    }
    const node = this.emit(layer.name, { type: 'affine', scale: this.broadcastChannel(s, x.shape, ax), shift: this.broadcastChannel(b, x.shape, ax) }, [x.node]);
    return { node, shape: x.shape };
  }

  prelu(layer: LayerSpec, x: Tensor): Tensor {
    const w = this.weights(layer, ['alpha']).alpha;
    const full = prod(x.shape);
    let alpha: Float64Array;
    if (w.values.length === full) alpha = w.values;
    else {
      // shared_axes store size-1 dims: broadcast them.
      if (w.shape.length !== x.shape.length || w.shape.some((d, i) => d !== 1 && d !== x.shape[i])) {
        this.fail('shape_mismatch', layer, `weight ${w.path} has shape ${JSON.stringify(w.shape)}, which does not broadcast to the input shape ${JSON.stringify(x.shape)}`);
      }
      alpha = new Float64Array(full);
      const strides = w.shape.map((_, i) => prod(w.shape.slice(i + 1)));
      for (let i = 0; i < full; i++) {
        let rem = i,
          k = 0;
        for (let d = 0; d < x.shape.length; d++) {
          const inner = prod(x.shape.slice(d + 1));
          const idx = Math.floor(rem / inner);
          rem -= idx * inner;
          if (w.shape[d] !== 1) k += idx * strides[d];
        }
        alpha[i] = w.values[k];
      }
    }
    // relu(x) + α ⊙ min(x, 0)
    const pos = this.unary(`${layer.name}/pos`, 'relu', x.node);
    const neg = this.unary(`${layer.name}/neg`, 'min_const', x.node, { c: 0 });
    const sc = this.emit(`${layer.name}/scaled`, { type: 'binary_const', fn: 'mul', constant: alpha }, [neg]);
    return { node: this.emit(layer.name, { type: 'binary', fn: 'add' }, [pos, sc]), shape: x.shape };
  }

  flatten(layer: LayerSpec, x: Tensor): Tensor {
    const full = prod(x.shape);
    if (layer.config.data_format === 'channels_first' && x.shape.length > 1) {
      // Keras moves the channel axis last before flattening channels-first data.
      const [c, ...rest] = x.shape;
      const inner = prod(rest);
      const indices: number[] = [];
      for (let r = 0; r < inner; r++) for (let ch = 0; ch < c; ch++) indices.push(ch * inner + r);
      return { node: this.emit(layer.name, { type: 'gather', indices }, [x.node]), shape: [full] };
    }
    return { node: x.node, shape: [full] };
  }

  reshape(layer: LayerSpec, x: Tensor): Tensor {
    const ts = layer.config.target_shape;
    if (!Array.isArray(ts) || ts.some((d) => typeof d !== 'number' || !Number.isInteger(d) || (d <= 0 && d !== -1)) || ts.filter((d) => d === -1).length > 1) {
      this.fail('bad_model_file', layer, `target_shape ${JSON.stringify(ts)} must be a list of positive integers (at most one -1)`);
    }
    const full = prod(x.shape);
    const known = prod((ts as number[]).filter((d) => d !== -1));
    const shape = (ts as number[]).map((d) => (d === -1 ? full / known : d));
    if (prod(shape) !== full || shape.some((d) => !Number.isInteger(d))) {
      this.fail('shape_mismatch', layer, `cannot reshape ${JSON.stringify(x.shape)} (${full} values) to ${JSON.stringify(ts)}`);
    }
    return { node: x.node, shape };
  }

  rescaling(layer: LayerSpec, x: Tensor): Tensor {
    const w = prod(x.shape);
    const vec = (key: string, dflt: number): Float64Array => {
      const v = layer.config[key] ?? dflt;
      const arr = typeof v === 'number' ? [v] : Array.isArray(v) && v.every((e) => typeof e === 'number') ? (v as number[]) : null;
      if (!arr || arr.some((e) => !Number.isFinite(e))) this.fail('bad_parameter', layer, `"${key}" must be a number or a list of numbers (got ${JSON.stringify(v)})`);
      if (arr.length === 1) return new Float64Array(w).fill(arr[0]);
      const last = x.shape[x.shape.length - 1];
      if (arr.length !== last) this.fail('shape_mismatch', layer, `"${key}" has ${arr.length} values for ${last} channels`);
      return this.broadcastChannel(Float64Array.from(arr), x.shape, x.shape.length - 1);
    };
    return { node: this.emit(layer.name, { type: 'affine', scale: vec('scale', 1), shift: vec('offset', 0) }, [x.node]), shape: x.shape };
  }

  normalization(layer: LayerSpec, x: Tensor): Tensor {
    const ax = this.featureAxis(layer, layer.config.axis, x.shape.length);
    const n = x.shape[ax];
    const listed = (key: string): Float64Array | null => {
      const v = layer.config[key];
      if (v === undefined || v === null) return null;
      const arr = typeof v === 'number' ? new Array(n).fill(v) : Array.isArray(v) ? v.flat(4) : null;
      if (!arr || arr.length !== n || arr.some((e) => typeof e !== 'number' || !Number.isFinite(e))) {
        this.fail('bad_parameter', layer, `"${key}" must be ${n} finite numbers (got ${JSON.stringify(v)})`);
      }
      return Float64Array.from(arr as number[]);
    };
    let mean = listed('mean'),
      variance = listed('variance');
    if (!mean || !variance) {
      const list = this.ctx.weightsOf(layer);
      if (list.length < 2) this.fail('bad_model_file', layer, 'holds no mean/variance weights; adapt() the layer before saving');
      const w = this.weights(layer, list.length === 3 ? ['mean', 'variance', 'count'] : ['mean', 'variance']);
      mean = this.vectorFor(layer, w.mean, n, `${n} channels`);
      variance = this.vectorFor(layer, w.variance, n, `${n} channels`);
    }
    // Keras: (x − μ) / max(√σ², 1e-7), or μ + x·max(√σ², 1e-7) when invert.
    const invert = layer.config.invert === true;
    const s = new Float64Array(n),
      b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const sd = Math.max(Math.sqrt(variance[i]), 1e-7);
      if (!Number.isFinite(sd)) this.fail('bad_model_file', layer, `variance[${i}] = ${variance[i]} is invalid`);
      s[i] = invert ? sd : 1 / sd;
      b[i] = invert ? mean[i] : -mean[i] / sd;
    }
    const node = this.emit(layer.name, { type: 'affine', scale: this.broadcastChannel(s, x.shape, ax), shift: this.broadcastChannel(b, x.shape, ax) }, [x.node]);
    return { node, shape: x.shape };
  }

  concatenate(layer: LayerSpec, ins: Tensor[]): Tensor {
    if (ins.length < 2) this.fail('shape_mismatch', layer, `needs at least two inputs, got ${ins.length}`);
    const rank = ins[0].shape.length;
    const ax = this.featureAxis(layer, layer.config.axis, rank);
    for (const t of ins) {
      if (t.shape.length !== rank || t.shape.some((d, i) => i !== ax && d !== ins[0].shape[i])) {
        this.fail('shape_mismatch', layer, `inputs of shapes ${ins.map((i) => JSON.stringify(i.shape)).join(', ')} cannot be concatenated on axis ${JSON.stringify(layer.config.axis ?? -1)}`);
      }
    }
    const shape = ins[0].shape.slice();
    shape[ax] = ins.reduce((a, t) => a + t.shape[ax], 0);
    if (ax === 0) return { node: this.emit(layer.name, { type: 'concat' }, ins.map((t) => t.node)), shape };
    // Along an inner axis the flat concatenation interleaves: gather from the flat concat.
    const cat = this.emit(`${layer.name}/concat`, { type: 'concat' }, ins.map((t) => t.node));
    const outer = prod(shape.slice(0, ax)),
      inner = prod(shape.slice(ax + 1));
    const offsets: number[] = [];
    let off = 0;
    for (const t of ins) offsets.push(off), (off += prod(t.shape));
    const indices: number[] = [];
    for (let o = 0; o < outer; o++) {
      ins.forEach((t, k) => {
        const n = t.shape[ax];
        for (let a = 0; a < n; a++) for (let i = 0; i < inner; i++) indices.push(offsets[k] + (o * n + a) * inner + i);
      });
    }
    return { node: this.emit(layer.name, { type: 'gather', indices }, [cat]), shape };
  }

  merge(layer: LayerSpec, ins: Tensor[]): Tensor {
    const cls = layer.className;
    if (ins.length < 2 || (cls === 'Subtract' && ins.length !== 2)) {
      this.fail('shape_mismatch', layer, `${cls} needs ${cls === 'Subtract' ? 'exactly two' : 'at least two'} inputs, got ${ins.length}`);
    }
    const s0 = JSON.stringify(ins[0].shape);
    if (ins.some((t) => JSON.stringify(t.shape) !== s0)) {
      this.fail('shape_mismatch', layer, `inputs have shapes ${ins.map((t) => JSON.stringify(t.shape)).join(', ')}; ${cls} needs equal shapes`);
    }
    const fn = cls === 'Subtract' ? 'sub' : cls === 'Multiply' ? 'mul' : 'add';
    const last = cls === 'Average' ? `${layer.name}/sum` : layer.name;
    let acc = ins[0].node;
    for (let i = 1; i < ins.length; i++) {
      acc = this.emit(i === ins.length - 1 ? last : `${layer.name}/${fn}${i}`, { type: 'binary', fn }, [acc, ins[i].node]);
    }
    if (cls === 'Average') acc = this.emit(layer.name, { type: 'binary_const', fn: 'div', constant: [ins.length] }, [acc]);
    return { node: acc, shape: ins[0].shape };
  }
}

/**
 * Fold an affine node into the dense node before it (BatchNormalization after a linear Dense),
 * when that dense node feeds nothing else: W'[i][j] = W[i][j]·s[j], b'[j] = b[j]·s[j] + t[j].
 */
export function foldAffineIntoDense(g: GraphDef): void {
  const consumers = new Map<string, number>();
  for (const nd of g.nodes) for (const s of nd.inputs) consumers.set(s, (consumers.get(s) ?? 0) + 1);
  const outputs = new Set(g.outputs.map((o) => o.node));
  const byName = new Map(g.nodes.map((nd) => [nd.name, nd]));
  const removed = new Set<string>();
  for (const nd of g.nodes) {
    if (nd.op.type !== 'affine' || nd.inputs.length !== 1) continue;
    const src = byName.get(nd.inputs[0]);
    if (!src || src.op.type !== 'dense' || consumers.get(src.name) !== 1 || outputs.has(src.name) || removed.has(src.name)) continue;
    const { units, weight, bias } = src.op;
    const { scale, shift } = nd.op;
    if (scale.length !== units || shift.length !== units) continue;
    const W = new Float64Array(weight.length);
    for (let i = 0; i < weight.length; i++) W[i] = weight[i] * scale[i % units];
    const b = new Float64Array(units);
    for (let j = 0; j < units; j++) b[j] = (bias ? bias[j] : 0) * scale[j] + shift[j];
    nd.op = { type: 'dense', units, weight: W, bias: b };
    nd.inputs = src.inputs;
    removed.add(src.name);
  }
  if (removed.size) g.nodes = g.nodes.filter((nd) => !removed.has(nd.name));
}

/** Convert a normalized topology to a graph. */
export function topologyToGraph(topo: Topology, ctx: ConvertContext): GraphDef {
  const b = new Builder(ctx);
  const byName = new Map<string, LayerSpec>();
  for (const l of topo.layers) {
    if (byName.has(l.name)) {
      throw new NetinvertError('duplicate_name', `${ctx.file}: two layers are named "${l.name}"; layer names must be unique`, { file: ctx.file, layer: l.name });
    }
    byName.set(l.name, l);
  }
  for (const l of topo.layers) {
    for (const src of l.inbound) {
      if (!byName.has(src)) {
        throw new NetinvertError('unknown_node', `${ctx.file}: layer "${l.name}" (${l.className}) reads "${src}", which is not a layer of the model`, {
          file: ctx.file,
          layer: l.name,
        });
      }
    }
    if (l.inbound.length === 0 && l.className !== 'InputLayer') {
      throw new NetinvertError('bad_model_file', `${ctx.file}: layer "${l.name}" (${l.className}) has no inputs and is not an InputLayer`, { file: ctx.file, layer: l.name });
    }
  }
  for (const n of [...topo.inputs, ...topo.outputs]) {
    if (!byName.has(n)) {
      throw new NetinvertError('unknown_node', `${ctx.file}: the model's inputs/outputs name "${n}", which is not a layer of the model`, { file: ctx.file, layer: n });
    }
  }
  for (const n of topo.inputs) {
    if (byName.get(n)!.className !== 'InputLayer') {
      throw new NetinvertError('bad_model_file', `${ctx.file}: model input "${n}" is a ${byName.get(n)!.className}, not an InputLayer`, { file: ctx.file, layer: n });
    }
  }

  // Kahn's order over layers (a config need not list them in order; a cycle is an error).
  const pending = new Map<string, number>();
  const consumers = new Map<string, string[]>();
  for (const l of topo.layers) {
    pending.set(l.name, l.inbound.length);
    for (const s of new Set(l.inbound)) consumers.set(s, [...(consumers.get(s) ?? []), l.name]);
  }
  const multiplicity = (l: LayerSpec, s: string): number => l.inbound.filter((x) => x === s).length;
  const ready = topo.layers.filter((l) => l.inbound.length === 0).map((l) => l.name);
  let done = 0;
  while (ready.length) {
    const name = ready.shift()!;
    const l = byName.get(name)!;
    done++;
    if (l.className === 'InputLayer') {
      const shape = b.inputShape(l);
      b.inputs.set(name, { name, width: prod(shape) });
      b.tensors.set(name, { node: name, shape });
    } else {
      const ins = l.inbound.map((s) => b.tensors.get(s)!);
      b.tensors.set(name, b.layer(l, ins));
    }
    for (const c of consumers.get(name) ?? []) {
      const cl = byName.get(c)!;
      const left = pending.get(c)! - multiplicity(cl, name);
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  if (done < topo.layers.length) {
    const stuck = topo.layers.filter((l) => !b.tensors.has(l.name)).map((l) => `"${l.name}"`);
    throw new NetinvertError('graph_cycle', `${ctx.file}: layers ${stuck.join(', ')} form a cycle; a Keras model must be acyclic`, { file: ctx.file });
  }
  const inputs = topo.inputs.map((n) => b.inputs.get(n)!);
  if (inputs.length === 0) throw new NetinvertError('no_inputs', `${ctx.file}: the model has no inputs`, { file: ctx.file });
  const outputs: OutputDef[] = topo.outputs.map((n) => {
    const t = b.tensors.get(n)!;
    return t.node === n ? { node: n } : { node: t.node, name: n };
  });
  const g: GraphDef = { inputs, nodes: b.nodes, outputs };
  foldAffineIntoDense(g);
  return g;
}

/** Layer classes whose stored weights the converter reads. */
export function layerHasWeights(className: string): boolean {
  return ['Dense', 'BatchNormalization', 'PReLU', 'Normalization'].includes(className);
}
