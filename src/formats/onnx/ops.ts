/**
 * The ONNX ops, one converter each, and the pattern fusions tried before them. A converter
 * reads its inputs and attributes through its Step and returns the Value(s) of its outputs:
 * a folded constant, an engine node, or a deferred error. Anything it cannot map exactly it
 * refuses with a coded error naming the node; nothing is guessed.
 */
import { NetinvertError } from '../../errors.ts';
import { makeUnary, type UnaryParams } from '../../graph/activations/index.ts';
import { TensorDataType, type OnnxNode } from './format.ts';
import {
  constOf,
  fmtDims,
  foldBinary,
  foldUnary,
  pick,
  resultType,
  uniform,
  type BinFn,
  type ConstValue,
  type Converter,
  type DynValue,
  type Importer,
  type OpTable,
  type Step,
  type Value,
  Step as StepCtor,
} from './importer.ts';
import { broadcastDims, broadcastIndex, checkSize, concatIndex, gatherIndex, isIdentity, sizeOf, sliceIndex, transposeIndex } from './shape.ts';
import { decodeTensor, isFloatType, typeName } from './tensor.ts';

const SQRT2 = Math.SQRT2;
/** The exact SELU constants (exporters write their float32 roundings as the defaults). */
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_GAMMA = 1.0507009873554804934193349852946;
/** A softplus threshold at least this large makes Where(x > T, x, softplus(x)) = softplus(x) to < 3e-7. */
const SOFTPLUS_FUSE_MIN_THRESHOLD = 15;
const FLT_MAX = 3.4028234663852886e38;

// ---------------------------------------------------------------------------------------------
// Pattern fusions (tried before the plain converter; null when the pattern does not match)

/** Factors of a product, descending `depth` levels into Mul nodes. */
function mulFactors(imp: Importer, name: string, depth: number): string[] {
  const p = imp.producer(name);
  if (depth > 0 && p && p.opType === 'Mul' && (p.domain ?? '') === '' && (p.input ?? []).length === 2) {
    return [...mulFactors(imp, p.input![0], depth - 1), ...mulFactors(imp, p.input![1], depth - 1)];
  }
  return [name];
}

function producedBy(imp: Importer, name: string, op: string): OnnxNode | null {
  const p = imp.producer(name);
  return p && p.opType === op && (p.domain ?? '') === '' ? p : null;
}

function near(a: number | null, b: number, tol: number): boolean {
  return a !== null && Math.abs(a - b) <= tol * Math.abs(b);
}

/** x·Sigmoid(x) → silu(x). */
function matchSilu(s: Step): Value | null {
  const imp = s.imp;
  for (const [x, sg] of [
    [s.inputName(0), s.inputName(1)],
    [s.inputName(1), s.inputName(0)],
  ]) {
    const p = producedBy(imp, sg, 'Sigmoid');
    const xv = imp.dynOf(x);
    if (p && p.input?.[0] === x && xv) {
      imp.fused.push(`${s.label}: x·Sigmoid(x) → silu`);
      return imp.unary(s, xv, 'silu');
    }
  }
  return null;
}

/** 0.5·x·(1 + Erf(x/√2)) in any grouping of the three factors → gelu(x). */
function matchGelu(s: Step): Value | null {
  const imp = s.imp;
  const factors = [...mulFactors(imp, s.inputName(0), 1), ...mulFactors(imp, s.inputName(1), 1)];
  if (factors.length !== 3) return null;
  const half = factors.findIndex((f) => imp.constScalar(f) === 0.5);
  if (half < 0) return null;
  const rest = factors.filter((_, i) => i !== half);
  for (const [x, u] of [
    [rest[0], rest[1]],
    [rest[1], rest[0]],
  ]) {
    const xv = imp.dynOf(x);
    const add = producedBy(imp, u, 'Add');
    if (!xv || !add) continue;
    const [a0, a1] = add.input ?? [];
    const erfOut = imp.constScalar(a1) === 1 ? a0 : imp.constScalar(a0) === 1 ? a1 : null;
    const erf = erfOut ? producedBy(imp, erfOut, 'Erf') : null;
    const scaled = erf?.input?.[0];
    if (!scaled) continue;
    const div = producedBy(imp, scaled, 'Div');
    const mul = producedBy(imp, scaled, 'Mul');
    const ok =
      (div && div.input?.[0] === x && near(imp.constScalar(div.input?.[1] ?? ''), SQRT2, 1e-6)) ||
      (mul &&
        ((mul.input?.[0] === x && near(imp.constScalar(mul.input?.[1] ?? ''), 1 / SQRT2, 1e-6)) ||
          (mul.input?.[1] === x && near(imp.constScalar(mul.input?.[0] ?? ''), 1 / SQRT2, 1e-6))));
    if (ok) {
      imp.fused.push(`${s.label}: 0.5·x·(1 + erf(x/√2)) → gelu`);
      return imp.unary(s, xv, 'gelu');
    }
  }
  return null;
}

/** 2·Sigmoid(z) − 1 (or + (−1)) → bipolar_sigmoid(z), computed as tanh(z/2). */
function matchBipolar(s: Step): Value | null {
  const imp = s.imp;
  const a = s.inputName(0),
    b = s.inputName(1);
  const candidates: string[] = [];
  if (s.op === 'Sub' && imp.constScalar(b) === 1) candidates.push(a);
  if (s.op === 'Add') {
    if (imp.constScalar(b) === -1) candidates.push(a);
    if (imp.constScalar(a) === -1) candidates.push(b);
  }
  for (const m of candidates) {
    const mul = producedBy(imp, m, 'Mul');
    if (!mul) continue;
    const [p, q] = mul.input ?? [];
    const sg = imp.constScalar(q) === 2 ? p : imp.constScalar(p) === 2 ? q : null;
    const sig = sg ? producedBy(imp, sg, 'Sigmoid') : null;
    const z = sig ? imp.dynOf(sig.input?.[0] ?? '') : null;
    if (z) {
      imp.fused.push(`${s.label}: 2·sigmoid(z) − 1 → bipolar_sigmoid`);
      return imp.unary(s, z, 'bipolar_sigmoid', { lambda: 1 });
    }
  }
  return null;
}

/** A ReduceMean node that averages all feature axes of `x` and keeps its dims. */
function meansAllFeatures(s: Step, node: OnnxNode, x: DynValue): boolean {
  try {
    const st = new StepCtor(s.imp, node, 0);
    if (st.int('keepdims', 1) === 0) return false;
    const axes = s.opset >= 18 ? st.intsInput(1, 'axes') : st.ints('axes');
    if (!axes || axes.length === 0) return false;
    const rank = x.dims.length + 1;
    const set = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    if (set.size !== x.dims.length) return false;
    for (let a = 1; a < rank; a++) if (!set.has(a)) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * torch's LayerNorm below opset 17, up to its scale and shift:
 * Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub(…), 2)), ε))) → layer_norm(x, ε), when
 * both means cover every feature of the point (the Mul/Add of the weights follow as they are).
 */
function matchLayerNorm(s: Step): Value | null {
  const imp = s.imp;
  const dName = s.inputName(0);
  const sqrt = producedBy(imp, s.inputName(1), 'Sqrt');
  const add = sqrt ? producedBy(imp, sqrt.input?.[0] ?? '', 'Add') : null;
  if (!add) return null;
  const [p, q] = add.input ?? [];
  const epsA = imp.constScalar(q),
    epsB = imp.constScalar(p);
  const vName = epsA !== null ? p : epsB !== null ? q : null;
  const eps = epsA ?? epsB;
  if (vName === null || eps === null || !(eps > 0) || !Number.isFinite(eps)) return null;
  const rv = producedBy(imp, vName, 'ReduceMean');
  const pw = rv ? producedBy(imp, rv.input?.[0] ?? '', 'Pow') : null;
  if (!pw || pw.input?.[0] !== dName || imp.constScalar(pw.input?.[1] ?? '') !== 2) return null;
  const sub = producedBy(imp, dName, 'Sub');
  const rm = sub ? producedBy(imp, sub.input?.[1] ?? '', 'ReduceMean') : null;
  if (!sub || !rm || rm.input?.[0] !== sub.input?.[0]) return null;
  const x = imp.dynOf(sub.input?.[0] ?? '');
  const d = imp.dynOf(dName);
  if (!x || !d || !meansAllFeatures(s, rm, x) || !rv || !meansAllFeatures(s, rv, d)) return null;
  imp.fused.push(`${s.label}: (x − mean)/√(var + ε) → layer_norm`);
  const ref = imp.emit(s.base, { type: 'layer_norm', epsilon: eps }, [x.ref]);
  return { ...x, ref };
}

/**
 * PyTorch's softplus with its linear threshold: Where(Greater(βx, T), x, Softplus(βx)/β).
 * For T ≥ 15 it equals softplus_β(x) to within log1p(e^−T)/β, below float32 resolution of x > T/β.
 */
function matchSoftplusThreshold(s: Step): Value | null {
  const imp = s.imp;
  const [cond, x, sp] = [s.inputName(0), s.inputName(1), s.inputName(2)];
  const gt = producedBy(imp, cond, 'Greater');
  const xv = imp.dynOf(x);
  if (!gt || !xv) return null;
  const [g0, g1] = gt.input ?? [];
  const T = imp.constScalar(g1 ?? '');
  if (T === null) return null;
  let beta: number | null = null;
  let spIn: string | null = null;
  if (g0 === x) {
    beta = 1;
    spIn = sp;
  } else {
    const mul = producedBy(imp, g0 ?? '', 'Mul');
    const m0 = mul?.input?.[0],
      m1 = mul?.input?.[1];
    const bv = m0 === x ? imp.constScalar(m1 ?? '') : m1 === x ? imp.constScalar(m0 ?? '') : null;
    const div = producedBy(imp, sp, 'Div');
    if (bv !== null && bv > 0 && div && imp.constScalar(div.input?.[1] ?? '') === bv) {
      beta = bv;
      spIn = div.input?.[0] ?? null;
    }
  }
  const softplus = spIn ? producedBy(imp, spIn, 'Softplus') : null;
  if (beta === null || !softplus || softplus.input?.[0] !== g0) return null;
  if (T < SOFTPLUS_FUSE_MIN_THRESHOLD) {
    throw s.unsupported(
      `Where(Greater(x, ${T}), x, Softplus(x)) is softplus with a linear tail from ${T}, which is not softplus to float precision (threshold below ${SOFTPLUS_FUSE_MIN_THRESHOLD})`,
      'Export with the default softplus threshold (20)',
    );
  }
  const gap = Math.log1p(Math.exp(-T)) / beta;
  imp.warnings.push(
    `${s.label}: Where(Greater(${beta === 1 ? 'x' : `${beta}·x`}, ${T}), x, softplus) read as softplus${beta === 1 ? '' : ` with beta ${beta}`}; ` +
      `the two differ by at most ${gap.toExponential(2)} (for x > ${T / beta})`,
  );
  imp.fused.push(`${s.label}: PyTorch softplus threshold pattern → softplus`);
  return imp.unary(s, xv, 'softplus', { beta });
}

/** Softplus(β·x)/β, PyTorch's export of nn.Softplus(beta) → softplus with that beta. */
function matchSoftplusBeta(s: Step): Value | null {
  const imp = s.imp;
  const beta = imp.constScalar(s.inputName(1));
  const sp = producedBy(imp, s.inputName(0), 'Softplus');
  const mul = sp ? producedBy(imp, sp.input?.[0] ?? '', 'Mul') : null;
  if (beta === null || !(beta > 0) || !mul) return null;
  const [m0, m1] = mul.input ?? [];
  const x = imp.constScalar(m1 ?? '') === beta ? m0 : imp.constScalar(m0 ?? '') === beta ? m1 : null;
  const xv = x ? imp.dynOf(x) : null;
  if (!xv) return null;
  imp.fused.push(`${s.label}: softplus(${beta}·x)/${beta} → softplus with beta ${beta}`);
  return imp.unary(s, xv, 'softplus', { beta });
}

const PATTERNS: Record<string, (s: Step) => Value | null> = {
  Mul: (s) => matchSilu(s) ?? matchGelu(s),
  Sub: matchBipolar,
  Add: matchBipolar,
  Div: (s) => matchLayerNorm(s) ?? matchSoftplusBeta(s),
  Where: matchSoftplusThreshold,
};

// ---------------------------------------------------------------------------------------------
// Converters, one per ONNX op

/** Element-wise ops whose engine form is one table activation. */
const ACTIVATIONS: Record<string, (s: Step) => { fn: string; params?: UnaryParams }> = {
  Relu: () => ({ fn: 'relu' }),
  Sigmoid: () => ({ fn: 'sigmoid' }),
  Tanh: () => ({ fn: 'tanh' }),
  Softplus: () => ({ fn: 'softplus', params: { beta: 1 } }),
  Softsign: () => ({ fn: 'softsign' }),
  Erf: () => ({ fn: 'erf' }),
  Exp: () => ({ fn: 'exp' }),
  Log: () => ({ fn: 'log' }),
  Abs: () => ({ fn: 'abs' }),
  Sin: () => ({ fn: 'sin' }),
  Cos: () => ({ fn: 'cos' }),
  Reciprocal: () => ({ fn: 'reciprocal' }),
  Sqrt: () => ({ fn: 'pow', params: { exponent: 0.5 } }),
  LeakyRelu: (s) => ({ fn: 'leaky_relu', params: { alpha: s.float('alpha', 0.01) } }),
  Elu: (s) => ({ fn: 'elu', params: { alpha: s.float('alpha', 1) } }),
  HardSigmoid: (s) => ({ fn: 'hard_sigmoid', params: { slope: s.float('alpha', 0.2), offset: s.float('beta', 0.5) } }),
  Gelu: (s) => {
    const approx = s.str('approximate', 'none');
    if (approx === 'none') return { fn: 'gelu' };
    if (approx === 'tanh') return { fn: 'gelu_tanh' };
    throw s.fail('bad_parameter', `attribute approximate="${approx}" is not "none" or "tanh"`);
  },
};

function activation(s: Step): Value {
  const { fn, params = {} } = ACTIVATIONS[s.op](s);
  const x = s.need(0, 'X');
  if (x.kind === 'const') {
    const f = makeUnary(fn, params, s.label).fn;
    return foldUnary(x, (v) => f.f(v));
  }
  return s.imp.unary(s, x as DynValue, fn, params);
}

function binary(fn: BinFn): Converter {
  return (s) => {
    const a = s.need(0, 'A');
    let b = s.need(1, 'B');
    // opset < 7: "broadcast" and "axis" attributes instead of numpy broadcasting
    if (s.opset < 7 && s.int('broadcast', 0) === 1 && s.attr('axis') && b.kind !== 'bad' && a.kind !== 'bad') {
      const rankA = a.kind === 'dyn' ? a.dims.length + 1 : a.dims.length;
      const ax = s.axis(s.int('axis', 0), rankA);
      const pad = rankA - ax - (b.kind === 'dyn' ? b.dims.length + 1 : b.dims.length);
      if (pad < 0) throw s.fail('shape_mismatch', 'operand B does not fit at the given axis');
      if (b.kind === 'const') b = { ...b, dims: [...b.dims, ...new Array<number>(pad).fill(1)] };
      else if (pad > 0) throw s.unsupported('legacy axis broadcasting of a tensor operand');
    }
    return s.imp.elementwise(s, fn, a, b);
  };
}

function gemm(s: Step): Value {
  const a = s.dyn(0, 'A');
  const B = s.constant(1, 'B, the weight');
  if (s.int('transA', 0) !== 0) {
    throw s.unsupported('transA=1 (a transposed input) is not supported', 'Re-export with the input as a [batch, features] matrix');
  }
  const transB = s.int('transB', 0) !== 0;
  const alpha = s.float('alpha', 1),
    beta = s.float('beta', 1);
  if (a.dims.length !== 1) {
    throw s.fail('shape_mismatch', `Gemm needs a [batch, features] input; "${s.inputName(0)}" has shape ${fmtDims([a.batch, ...a.dims])}`);
  }
  if (B.dims.length !== 2) throw s.fail('shape_mismatch', `weight "${s.inputName(1)}" has shape ${fmtDims(B.dims)}; Gemm needs a matrix`);
  const [r, c] = B.dims;
  const K = transB ? c : r,
    N = transB ? r : c;
  if (K !== a.dims[0]) {
    throw s.fail(
      'shape_mismatch',
      `weight "${s.inputName(1)}" has shape ${fmtDims(B.dims)} (transB=${transB ? 1 : 0}), so it takes ${K} input features, but input "${s.inputName(0)}" has ${a.dims[0]}`,
      'Check that the model file matches its weights (it may be corrupt)',
    );
  }
  checkSize([K, N], `${s.label} weight`);
  const W = new Float64Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) W[k * N + n] = alpha * (transB ? B.data[n * K + k] : B.data[k * N + n]);
  let bias: Float64Array | null = null;
  const C = s.input(2);
  if (C && beta !== 0) {
    if (C.kind !== 'const') throw s.unsupported(`bias C ("${s.inputName(2)}") must be a constant`);
    const ok = C.dims.length <= 2 && (C.dims.length < 2 || C.dims[0] === 1) && (C.dims.length === 0 || [1, N].includes(C.dims[C.dims.length - 1]));
    if (!ok) {
      throw s.fail('shape_mismatch', `bias "${s.inputName(2)}" has shape ${fmtDims(C.dims)}; expected [${N}], [1, ${N}] or a scalar (one bias per output)`);
    }
    bias = new Float64Array(N);
    for (let n = 0; n < N; n++) bias[n] = beta * C.data[C.data.length === 1 ? 0 : n];
  }
  return s.imp.dense(s, a, N, W, bias, [N]);
}

function matmul(s: Step): Value {
  const A = s.need(0, 'A'),
    B = s.need(1, 'B');
  if (A.kind === 'const' && B.kind === 'const') {
    if (A.dims.length !== 2 || B.dims.length !== 2 || A.dims[1] !== B.dims[0]) {
      throw s.unsupported(`MatMul of constants ${fmtDims(A.dims)} and ${fmtDims(B.dims)}`);
    }
    const [M, K] = A.dims,
      N = B.dims[1];
    checkSize([M, N], `${s.label} result`);
    const out = new Float64Array(M * N);
    for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[i * N + j] += A.data[i * K + k] * B.data[k * N + j];
    return constOf([M, N], out, resultType(A, B));
  }
  if (A.kind !== 'dyn' || B.kind !== 'const') {
    throw s.unsupported(
      B.kind === 'dyn'
        ? 'MatMul whose second operand depends on the inputs (a product of two tensors) is not supported'
        : 'MatMul needs the tensor first and a constant weight second',
    );
  }
  let bd = B.dims;
  while (bd.length > 2 && bd[0] === 1) bd = bd.slice(1);
  if (bd.length > 2) throw s.unsupported(`a batched weight of shape ${fmtDims(B.dims)} is not supported (only a matrix)`);
  const vectorB = bd.length === 1;
  const K = bd[0],
    N = vectorB ? 1 : bd[1];
  if (A.dims.length === 0 || A.dims[A.dims.length - 1] !== K) {
    throw s.fail(
      'shape_mismatch',
      `weight "${s.inputName(1)}" has shape ${fmtDims(B.dims)} and takes ${K} features, but input "${s.inputName(0)}" has shape ${fmtDims([A.batch, ...A.dims])}`,
      'Check that the model file matches its weights (it may be corrupt)',
    );
  }
  const lead = A.dims.slice(0, -1);
  const blocks = sizeOf(lead);
  const outDims = vectorB ? lead : [...lead, N];
  checkSize([blocks * K, blocks * N], `${s.label} block-diagonal weight`);
  // x[..., K] @ W[K, N] on every leading index: one block-diagonal dense op
  const W = new Float64Array(blocks * K * blocks * N);
  const units = blocks * N;
  for (let blk = 0; blk < blocks; blk++) {
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) W[(blk * K + k) * units + blk * N + n] = B.data[k * N + n];
  }
  return s.imp.dense(s, A, units, W, null, outDims);
}

function neg(s: Step): Value {
  const x = s.need(0, 'X');
  if (x.kind === 'const') return foldUnary(x, (v) => -v);
  return s.imp.binaryConst(s, 'mul', x as DynValue, constOf([], Float64Array.of(-1)), false);
}

function selu(s: Step): Value {
  const alpha = s.float('alpha', SELU_ALPHA),
    gamma = s.float('gamma', SELU_GAMMA);
  const x = s.need(0, 'X');
  // The attributes are float32 roundings of the SELU constants when left at their defaults.
  const standard = near(alpha, SELU_ALPHA, 1e-7) && near(gamma, SELU_GAMMA, 1e-7);
  if (x.kind === 'const') {
    return foldUnary(x, (v) => (v > 0 ? gamma * v : gamma * alpha * Math.expm1(v)));
  }
  if (standard) return s.imp.unary(s, x as DynValue, 'selu');
  const e = s.imp.unary(s, x as DynValue, 'elu', { alpha }, `${s.base}/elu`);
  return s.imp.binaryConst(s, 'mul', e, constOf([], Float64Array.of(gamma)), false);
}

function hardSwish(s: Step): Value {
  const x = s.need(0, 'X');
  if (x.kind === 'const') return foldUnary(x, (v) => v * Math.max(0, Math.min(1, v / 6 + 0.5)));
  const h = s.imp.unary(s, x as DynValue, 'hard_sigmoid', { slope: 1 / 6, offset: 0.5 }, `${s.base}/hard_sigmoid`);
  return s.imp.binaryDyn(s, 'mul', x as DynValue, h);
}

function prelu(s: Step): Value {
  const x = s.dyn(0, 'X');
  const slope = s.constant(1, 'slope');
  const sd = s.imp.constFeatureDims(s, slope, x);
  const out = broadcastDims(x.dims, sd);
  if (!out || sizeOf(out) !== sizeOf(x.dims)) {
    throw s.fail('shape_mismatch', `slope of shape ${fmtDims(slope.dims)} does not broadcast to the input ${fmtDims([x.batch, ...x.dims])}`);
  }
  if (uniform(slope.data)) return s.imp.unary(s, x, 'leaky_relu', { alpha: slope.data[0] });
  // per-feature slope: prelu(x) = relu(x) − a ⊙ relu(−x), exact in floating point
  const a = pick(slope.data, broadcastIndex(sd, x.dims, `${s.label} slope`));
  const imp = s.imp;
  const pos = imp.unary(s, x, 'relu', {}, `${s.base}/pos`);
  const negx = imp.emit(`${s.base}/negate`, { type: 'binary_const', fn: 'mul', constant: [-1] }, [x.ref]);
  const negRelu = imp.emit(`${s.base}/neg`, { type: 'unary', fn: 'relu', params: {} }, [negx]);
  const scaled = imp.emit(`${s.base}/scaled`, { type: 'binary_const', fn: 'mul', constant: a.map((v) => -v) }, [negRelu]);
  const ref = imp.emit(s.base, { type: 'binary', fn: 'add' }, [pos.ref, scaled]);
  return { ...x, ref };
}

function softmax(log: boolean): Converter {
  return (s) => {
    const x = s.dyn(0, 'input');
    const k = s.featureAxis(s.int('axis', s.opset < 13 ? 1 : -1), x);
    // opset < 13 flattens the axes from `axis` on into one; opset ≥ 13 uses that one axis
    const groups = s.opset < 13 ? sizeOf(x.dims.slice(0, k)) : sizeOf(x.dims) / x.dims[k];
    if (groups !== 1) {
      throw s.unsupported(
        `this ${s.op} over axis ${k + 1} of shape ${fmtDims([x.batch, ...x.dims])} splits each point into ${groups} groups; netinvert maps a softmax over all features of a point`,
        'Flatten the features before the softmax when exporting',
      );
    }
    const ref = s.imp.emit(s.base, { type: log ? 'log_softmax' : 'softmax' }, [x.ref]);
    return { ...x, ref };
  };
}

function clip(s: Step): Value {
  const x = s.need(0, 'input');
  let lo = -Infinity,
    hi = Infinity;
  if (s.opset < 11) {
    lo = s.float('min', -Infinity);
    hi = s.float('max', Infinity);
  } else {
    for (const [i, role] of [
      [1, 'min'],
      [2, 'max'],
    ] as const) {
      const v = s.input(i);
      if (!v) continue;
      if (v.kind !== 'const' || v.data.length !== 1) throw s.unsupported(`${role} (input ${i}) must be a constant scalar`);
      if (i === 1) lo = v.data[0];
      else hi = v.data[0];
    }
  }
  if (lo <= -FLT_MAX) lo = -Infinity;
  if (hi >= FLT_MAX) hi = Infinity;
  const f = (v: number): number => Math.min(hi, Math.max(lo, v));
  if (x.kind === 'const') return foldUnary(x, f);
  const xd = x as DynValue;
  if (lo > -Infinity && hi < Infinity) return s.imp.unary(s, xd, 'clip', { min: lo, max: hi });
  if (lo > -Infinity) return s.imp.unary(s, xd, 'max_const', { c: lo });
  if (hi < Infinity) return s.imp.unary(s, xd, 'min_const', { c: hi });
  return xd;
}

/** Max and Min of tensors and constants: max(x, c) as an activation, others as relu compositions. */
function maxMin(isMax: boolean): Converter {
  return (s) => {
    const imp = s.imp;
    const vals: Value[] = [];
    for (let i = 0; i < s.inputCount; i++) {
      const v = s.input(i);
      if (v) vals.push(v);
    }
    if (vals.length === 0) throw s.fail('bad_model_file', `${s.op} has no inputs`);
    const pickFn = isMax ? Math.max : Math.min;
    let c: ConstValue | null = null;
    for (const v of vals) if (v.kind === 'const') c = c ? foldBinary(s, c, v, pickFn) : v;
    const dyns = vals.filter((v): v is DynValue => v.kind === 'dyn');
    if (dyns.length === 0) return c!;
    // max(a, b) = a + relu(b − a); min(a, b) = a − relu(a − b)
    let acc = dyns[0];
    for (const b of dyns.slice(1)) {
      const d = isMax ? imp.binaryDyn(s, 'sub', b, acc) : imp.binaryDyn(s, 'sub', acc, b);
      const r = imp.unary(s, d, 'relu', {}, `${s.base}/relu`);
      acc = imp.binaryDyn(s, isMax ? 'add' : 'sub', acc, r);
    }
    if (!c) return acc;
    const cd = imp.constFeatureDims(s, c, acc);
    const outDims = broadcastDims(acc.dims, cd);
    if (outDims && uniform(c.data)) {
      return imp.unary(s, imp.expand(s, acc, outDims), isMax ? 'max_const' : 'min_const', { c: c.data[0] });
    }
    // max(x, c) = relu(x − c) + c; min(x, c) = c − relu(c − x)
    const d = imp.binaryConst(s, 'sub', acc, c, !isMax);
    const r = imp.unary(s, d, 'relu', {}, `${s.base}/relu`);
    return imp.binaryConst(s, isMax ? 'add' : 'sub', r, c, !isMax);
  };
}

function pow(s: Step): Value {
  const x = s.need(0, 'X');
  const e = s.need(1, 'Y');
  if (e.kind !== 'const') throw s.unsupported('Pow with an exponent that depends on the inputs is not supported (only a constant exponent)');
  if (x.kind === 'const') return foldBinary(s, x, e, Math.pow);
  if (x.kind !== 'dyn') return x;
  if (!uniform(e.data)) throw s.unsupported('Pow with a different exponent per feature is not supported (only one constant exponent)');
  const out = broadcastDims(x.dims, s.imp.constFeatureDims(s, e, x));
  if (!out) throw s.fail('shape_mismatch', `exponent of shape ${fmtDims(e.dims)} does not broadcast with ${fmtDims([x.batch, ...x.dims])}`);
  const xe = s.imp.expand(s, x, out);
  const p = e.data[0];
  if (p === 1) return xe;
  return s.imp.unary(s, xe, 'pow', { exponent: p });
}

function identity(s: Step): Value {
  return s.need(0, 'input');
}

function dropout(s: Step): Value[] {
  const x = s.need(0, 'data');
  if (s.opset >= 12) {
    const mode = s.input(2);
    if (mode && (mode.kind !== 'const' || mode.data[0] !== 0)) {
      throw s.unsupported('Dropout in training mode is random; netinvert maps inference-mode models only', 'Export the model in eval mode');
    }
  }
  return [x, { kind: 'bad', error: s.unsupported('the Dropout mask output is not computed (dropout is a no-op at inference)') }];
}

function constantNode(s: Step): Value {
  const a = (s.node.attribute ?? [])[0];
  if (!a) throw s.fail('bad_model_file', 'Constant has no value attribute');
  const what = `Constant "${s.base}"`;
  switch (a.name) {
    case 'value': {
      if (!a.t) throw s.fail('bad_model_file', 'attribute "value" holds no tensor');
      const d = decodeTensor(a.t, what);
      return constOf(d.dims, d.data, d.dataType);
    }
    case 'value_float':
      return constOf([], Float64Array.of(s.float('value_float', 0)));
    case 'value_floats': {
      const f = Float64Array.from(a.floats ?? []);
      if (!f.every(Number.isFinite)) throw new NetinvertError('non_finite_weight', `${what} holds a non-finite value`);
      return constOf([f.length], f);
    }
    case 'value_int':
      return constOf([], Float64Array.of(s.int('value_int', 0)), TensorDataType.INT64);
    case 'value_ints': {
      const v = s.ints('value_ints') ?? [];
      return constOf([v.length], Float64Array.from(v), TensorDataType.INT64);
    }
    default:
      throw s.unsupported(`a Constant given as "${a.name}" is not supported (only numeric dense tensors)`);
  }
}

function cast(s: Step): Value {
  const x = s.need(0, 'input');
  const to = s.int('to', 0);
  if (x.kind === 'const') {
    if (isFloatType(to)) return { ...x, dataType: to === TensorDataType.DOUBLE ? to : TensorDataType.FLOAT };
    if (to === TensorDataType.BOOL) return constOf(x.dims, x.data.map((v) => (v !== 0 ? 1 : 0)), to);
    if (to === TensorDataType.STRING) throw s.unsupported('Cast to string');
    return constOf(x.dims, x.data.map(Math.trunc), to);
  }
  if (to === TensorDataType.FLOAT || to === TensorDataType.DOUBLE) return x;
  throw s.unsupported(
    `Cast of a tensor to ${typeName(to)} is not supported: netinvert computes in float64, so only casts to float and double are exact enough to drop`,
  );
}

function shapeOp(s: Step): Value {
  const x = s.need(0, 'data');
  if (x.kind === 'bad') return x;
  // a symbolic batch size is NaN: arithmetic on it stays NaN, and Reshape reads NaN in the
  // first position as "keep the batch axis"
  const full = x.kind === 'dyn' ? [x.batch ?? NaN, ...x.dims] : x.dims;
  const r = full.length;
  let start = s.int('start', 0),
    end = s.opset >= 15 && s.attr('end') ? s.int('end', r) : r;
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = Math.min(Math.max(start, 0), r);
  end = Math.min(Math.max(end, start), r);
  const v = full.slice(start, end);
  return constOf([v.length], Float64Array.from(v), TensorDataType.INT64);
}

function reshape(s: Step): Value {
  const x = s.need(0, 'data');
  const shape = s.opset >= 5 ? s.intsInput(1, 'shape') : s.ints('shape');
  if (!shape) throw s.fail('bad_model_file', 'Reshape has no target shape');
  const allowZero = s.int('allowzero', 0) === 1;
  if (x.kind === 'const') return { ...x, dims: resolveShape(s, x.dims, shape, allowZero, sizeOf(x.dims), true) };
  if (x.kind !== 'dyn') return x;
  const width = sizeOf(x.dims);
  const t = shape.slice();
  if (t.length === 0) throw s.unsupported('Reshape to a scalar would remove the batch axis');
  // the first entry must keep the batch: 0 (copy), −1 (infer), a symbolic batch (NaN from
  // Shape), or the input's own fixed batch size
  const first = t[0];
  if (Number.isNaN(first) || (first === 0 && !allowZero) || (x.batch !== null && first === x.batch)) t[0] = 0;
  else if (first !== -1) {
    throw s.unsupported(
      `Reshape to ${fmtDims(shape)} changes the batch dimension (${first}) of ${fmtDims([x.batch, ...x.dims])}; netinvert keeps the first dim as the batch`,
      'Export with a dynamic batch axis and reshape with 0 or -1 in the first position',
    );
  }
  const rest = resolveShape(s, x.dims, t.slice(1).map((v, i) => (v === 0 && !allowZero ? x.dims[i] ?? NaN : v)), allowZero, width, false);
  if (t[0] === -1 && sizeOf(rest) !== width) {
    throw s.unsupported(`Reshape to ${fmtDims(shape)} moves values between points (each point has ${width} values)`);
  }
  return { ...x, dims: rest };
}

/** Resolve 0 (copy, for constants) and one −1 (infer) in a target shape holding `count` values. */
function resolveShape(s: Step, inDims: number[], target: number[], allowZero: boolean, count: number, copyZeros: boolean): number[] {
  const out = target.map((v, i) => (v === 0 && !allowZero && copyZeros ? inDims[i] ?? NaN : v));
  if (out.some((v) => !Number.isFinite(v) || !Number.isInteger(v) || v < -1)) {
    throw s.unsupported(`target shape ${fmtDims(target)} is not a list of sizes (it may depend on the batch size)`);
  }
  const infer = out.filter((v) => v === -1).length;
  if (infer > 1) throw s.fail('shape_mismatch', `target shape ${fmtDims(target)} has more than one -1`);
  const known = sizeOf(out.filter((v) => v !== -1));
  if (infer === 1) {
    if (known === 0 || count % known !== 0) throw s.fail('shape_mismatch', `cannot reshape ${count} values into ${fmtDims(target)}`);
    out[out.indexOf(-1)] = count / known;
  } else if (known !== count) {
    throw s.fail('shape_mismatch', `cannot reshape ${count} values into ${fmtDims(target)}`);
  }
  return out;
}

function flatten(s: Step): Value {
  const x = s.need(0, 'input');
  if (x.kind === 'bad') return x;
  // axis may be r itself (everything in the first factor): normalise against r, check 0..r
  const r = x.kind === 'dyn' ? x.dims.length + 1 : x.dims.length;
  const axis = s.int('axis', 1);
  const k = axis < 0 ? axis + r : axis;
  if (!(k >= 0 && k <= r)) throw s.fail('shape_mismatch', `axis ${axis} is out of range for a tensor of rank ${r}`);
  if (x.kind === 'const') return { ...x, dims: [sizeOf(x.dims.slice(0, k)), sizeOf(x.dims.slice(k))] };
  if (k === 0 || sizeOf(x.dims.slice(0, k - 1)) !== 1) {
    throw s.unsupported(`Flatten with axis ${k} of ${fmtDims([x.batch, ...x.dims])} would merge feature axes into the batch axis`);
  }
  return { ...x, dims: [sizeOf(x.dims)] };
}

function squeeze(s: Step): Value {
  const x = s.need(0, 'data');
  const axes = s.opset >= 13 ? s.intsInput(1, 'axes') : s.ints('axes');
  if (x.kind === 'const') {
    const ax = axes ? axes.map((a) => s.axis(a, x.dims.length)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
    return { ...x, dims: x.dims.filter((_, i) => !ax.includes(i)) };
  }
  if (x.kind !== 'dyn') return x;
  if (!axes && x.batch === 1) {
    throw s.unsupported('Squeeze without axes would also remove the batch axis (of size 1)', 'Export with explicit squeeze axes');
  }
  const ax = axes ? axes.map((a) => s.featureAxis(a, x)) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of ax) if (x.dims[a] !== 1) throw s.fail('shape_mismatch', `cannot squeeze axis ${a + 1} of size ${x.dims[a]}`);
  return { ...x, dims: x.dims.filter((_, i) => !ax.includes(i)) };
}

function unsqueeze(s: Step): Value {
  const x = s.need(0, 'data');
  const axes = s.opset >= 13 ? s.intsInput(1, 'axes') : s.ints('axes');
  if (!axes) throw s.fail('bad_model_file', 'Unsqueeze has no axes');
  if (x.kind === 'bad') return x;
  const inRank = x.kind === 'dyn' ? x.dims.length + 1 : x.dims.length;
  const outRank = inRank + axes.length;
  const ax = axes.map((a) => s.axis(a, outRank)).sort((p, q) => p - q);
  if (x.kind === 'dyn' && ax[0] === 0) {
    throw s.unsupported('Unsqueeze at axis 0 would move the batch axis', 'Export so that the batch stays the first dimension');
  }
  const full = x.kind === 'dyn' ? [0, ...x.dims] : x.dims.slice();
  for (const a of ax) full.splice(a, 0, 1);
  return x.kind === 'dyn' ? { ...x, dims: full.slice(1) } : { ...x, dims: full };
}

function transpose(s: Step): Value {
  const x = s.need(0, 'data');
  if (x.kind === 'bad') return x;
  const rank = x.kind === 'dyn' ? x.dims.length + 1 : x.dims.length;
  const perm = s.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
    throw s.fail('bad_model_file', `perm ${fmtDims(perm)} is not a permutation of ${rank} axes`);
  }
  if (x.kind === 'const') {
    const m = transposeIndex(x.dims, perm, `${s.label} result`);
    return { ...x, dims: m.dims, data: pick(x.data, m.index) };
  }
  if (perm[0] !== 0) {
    throw s.unsupported(`Transpose with perm ${fmtDims(perm)} moves the batch axis`, 'Export so that the batch stays the first dimension');
  }
  const p = perm.slice(1).map((v) => v - 1);
  return s.imp.remap(s, x, transposeIndex(x.dims, p, `${s.label} result`), 'transpose');
}

function slice(s: Step): Value {
  const x = s.need(0, 'data');
  if (x.kind === 'bad') return x;
  const rank = x.kind === 'dyn' ? x.dims.length + 1 : x.dims.length;
  let starts: number[] | null, ends: number[] | null, axes: number[] | null, steps: number[] | null;
  if (s.opset < 10) {
    starts = s.ints('starts');
    ends = s.ints('ends');
    axes = s.ints('axes');
    steps = null;
  } else {
    starts = s.intsInput(1, 'starts');
    ends = s.intsInput(2, 'ends');
    axes = s.intsInput(3, 'axes');
    steps = s.intsInput(4, 'steps');
  }
  if (!starts || !ends || starts.length !== ends.length) throw s.fail('bad_model_file', 'Slice needs starts and ends of equal length');
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => s.axis(a, rank));
  const st = steps ?? ax.map(() => 1);
  if (ax.length !== starts.length || st.length !== starts.length) throw s.fail('bad_model_file', 'Slice axes/steps do not match starts');
  if (new Set(ax).size !== ax.length) throw s.fail('bad_model_file', 'Slice repeats an axis');
  if (st.some((v) => v === 0 || !Number.isFinite(v))) throw s.fail('bad_model_file', 'Slice steps must be non-zero integers');
  if (x.kind === 'const') {
    const m = sliceIndex(x.dims, ax, starts, ends, st, `${s.label} result`);
    return { ...x, dims: m.dims, data: pick(x.data, m.index) };
  }
  const keep = ax.map((a, j) => ({ a, j })).filter(({ a, j }) => {
    if (a !== 0) return true;
    // the batch axis may only be "sliced" in full
    if (!(starts[j] === 0 && st[j] === 1 && (ends[j] === Infinity || (x.batch !== null && ends[j] >= x.batch)))) {
      throw s.unsupported('Slice on the batch axis selects points, which netinvert does not map');
    }
    return false;
  });
  const m = sliceIndex(
    x.dims,
    keep.map(({ a }) => a - 1),
    keep.map(({ j }) => starts[j]),
    keep.map(({ j }) => ends[j]),
    keep.map(({ j }) => st[j]),
    `${s.label} result`,
  );
  if (sizeOf(m.dims) === 0) throw s.fail('shape_mismatch', 'Slice selects no features');
  return s.imp.remap(s, x, m, 'slice');
}

function gather(s: Step): Value {
  const x = s.need(0, 'data');
  const ind = s.need(1, 'indices');
  if (ind.kind === 'bad') return ind;
  if (ind.kind !== 'const') throw s.unsupported('Gather with indices that depend on the inputs (a lookup) is not supported');
  if (x.kind === 'bad') return x;
  const rank = x.kind === 'dyn' ? x.dims.length + 1 : x.dims.length;
  const a = s.axis(s.int('axis', 0), rank);
  const dims = x.dims;
  const k = x.kind === 'dyn' ? a - 1 : a;
  if (k < 0) throw s.unsupported('Gather on the batch axis selects points, which netinvert does not map');
  const d = dims[k];
  const idx = Array.from(ind.data, (v) => {
    const i = v < 0 ? v + d : v;
    if (!Number.isInteger(i) || i < 0 || i >= d) throw s.fail('shape_mismatch', `index ${v} is out of range for an axis of size ${d}`);
    return i;
  });
  const m = gatherIndex(dims, k, idx, ind.dims, `${s.label} result`);
  if (x.kind === 'const') return { ...x, dims: m.dims, data: pick(x.data, m.index) };
  if (sizeOf(m.dims) === 0) throw s.fail('shape_mismatch', 'Gather selects no features');
  return s.imp.remap(s, x as DynValue, m, 'gather');
}

function concat(s: Step): Value {
  const vals: Value[] = [];
  for (let i = 0; i < s.inputCount; i++) vals.push(s.need(i, `input ${i}`));
  for (const v of vals) if (v.kind === 'bad') return v;
  const axisAttr = s.int('axis', Number.NaN);
  if (Number.isNaN(axisAttr)) throw s.fail('bad_model_file', 'Concat has no axis attribute');
  if (vals.every((v) => v.kind === 'const')) {
    const cs = vals as ConstValue[];
    const k = s.axis(axisAttr, cs[0].dims.length);
    checkConcatDims(s, cs.map((c) => c.dims), k);
    const m = concatIndex(cs.map((c) => c.dims), k, `${s.label} result`);
    const flat = new Float64Array(cs.reduce((n, c) => n + c.data.length, 0));
    let o = 0;
    for (const c of cs) {
      flat.set(c.data, o);
      o += c.data.length;
    }
    return constOf(m.dims, pick(flat, m.index), cs[0].dataType);
  }
  if (vals.some((v) => v.kind === 'const' && v.data.length > 0)) {
    throw s.unsupported('Concat of a constant with a tensor computed from the inputs is not supported');
  }
  const xs = vals.filter((v): v is DynValue => v.kind === 'dyn');
  const k = s.featureAxis(axisAttr, xs[0]);
  checkConcatDims(s, xs.map((x) => x.dims), k);
  const m = concatIndex(xs.map((x) => x.dims), k, `${s.label} result`);
  const imp = s.imp;
  const joined = xs.length === 1 ? xs[0].ref : imp.emit(`${s.base}/concat`, { type: 'concat' }, xs.map((x) => x.ref));
  const batch = xs.some((x) => x.batch === null) ? null : Math.max(...xs.map((x) => x.batch!));
  const cat: DynValue = { kind: 'dyn', ref: joined, dims: [sizeOf(m.dims)], batch };
  if (isIdentity(m.index, m.index.length)) return { ...cat, dims: m.dims };
  return imp.remap(s, cat, m, 'order');
}

function checkConcatDims(s: Step, dimsList: number[][], k: number): void {
  const d0 = dimsList[0];
  for (const d of dimsList) {
    if (d.length !== d0.length || d.some((v, i) => i !== k && v !== d0[i])) {
      throw s.fail('shape_mismatch', `cannot concatenate shapes ${dimsList.map((x) => fmtDims(x)).join(' and ')} along axis ${k}`);
    }
  }
}

function batchNorm(s: Step): Value[] {
  const x = s.dyn(0, 'X');
  if (s.opset >= 14 && s.int('training_mode', 0) !== 0) {
    throw s.unsupported('BatchNormalization in training mode uses batch statistics; netinvert maps inference-mode models only', 'Export the model in eval mode');
  }
  if (s.opset < 7 && s.int('is_test', 0) === 0) {
    s.imp.warnings.push(`${s.label}: is_test=0 (training mode) read as inference with the stored running statistics, as runtimes do`);
  }
  const eps = s.float('epsilon', 1e-5);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => s.constant(i, ['', 'scale', 'B', 'mean', 'var'][i]));
  const spatial = s.opset < 9 ? s.int('spatial', 1) : 1;
  if (x.dims.length === 0) throw s.fail('shape_mismatch', 'BatchNormalization needs a channel axis after the batch axis');
  const width = sizeOf(x.dims);
  const C = x.dims[0];
  const per = spatial ? C : width;
  for (const [t, role] of [
    [scale, 'scale'],
    [bias, 'B'],
    [mean, 'mean'],
    [variance, 'var'],
  ] as const) {
    if (t.data.length !== per) {
      throw s.fail('shape_mismatch', `${role} "${s.inputName(['scale', 'B', 'mean', 'var'].indexOf(role) + 1)}" has ${t.data.length} values; the input has ${per} ${spatial ? 'channels' : 'features'}`);
    }
  }
  const inner = spatial ? width / C : 1;
  const a = new Float64Array(width),
    b = new Float64Array(width);
  for (let f = 0; f < width; f++) {
    const c = Math.floor(f / inner);
    const v = variance.data[c] + eps;
    if (!(v > 0)) throw s.fail('bad_parameter', `var + epsilon is ${v} for channel ${c}; it must be > 0`);
    a[f] = scale.data[c] / Math.sqrt(v);
    b[f] = bias.data[c] - mean.data[c] * a[f];
  }
  const y = s.imp.affine(s, x, a, b);
  const extra: Value = { kind: 'bad', error: s.unsupported('the running-statistics outputs of BatchNormalization exist in training mode only') };
  return [y, extra, extra, extra, extra];
}

function where(s: Step): Value {
  throw s.unsupported(
    'Where (a data-dependent choice) is supported only as PyTorch\'s softplus threshold pattern Where(Greater(x, T), x, Softplus(x)) with T ≥ 15',
  );
}

// ---------------------------------------------------------------------------------------------
// Reductions and LayerNorm

/**
 * The mean (or sum) of x over some feature axes, as one dense op: output o is
 * Σ_{i ↦ o} x_i · w with w = 1/count (mean) or 1 (sum). `axes` index x.dims (no batch axis).
 * Exact, so every downstream derivative and bound is the dense op's.
 */
function reduceDense(s: Step, x: DynValue, axes: number[], keepdims: boolean, mean: boolean, base: string): DynValue {
  const reduced = new Set(axes);
  const outDims: number[] = [];
  x.dims.forEach((d, a) => {
    if (!reduced.has(a)) outDims.push(d);
    else if (keepdims) outDims.push(1);
  });
  const inW = sizeOf(x.dims),
    units = sizeOf(outDims);
  let count = 1;
  for (const a of reduced) count *= x.dims[a];
  checkSize([inW, units], `${s.label} reduction weight`);
  const W = new Float64Array(inW * units);
  const w = mean ? 1 / count : 1;
  const idx = new Array<number>(x.dims.length).fill(0);
  for (let i = 0; i < inW; i++) {
    let o = 0;
    for (let a = 0; a < x.dims.length; a++) if (!reduced.has(a)) o = o * x.dims[a] + idx[a];
    W[i * units + o] = w;
    for (let a = x.dims.length - 1; a >= 0; a--) {
      if (++idx[a] < x.dims[a]) break;
      idx[a] = 0;
    }
  }
  const ref = s.imp.emit(base, { type: 'dense', units, weight: W, bias: null }, [x.ref]);
  return { ...x, ref, dims: outDims };
}

/** ReduceMean / ReduceSum over feature axes (axes attribute before opset 18 / 13, input after). */
function reduce(mean: boolean): Converter {
  return (s) => {
    const x = s.need(0, 'data');
    const keepdims = s.int('keepdims', 1) !== 0;
    const axesFromInput = mean ? s.opset >= 18 : s.opset >= 13;
    const given = axesFromInput ? s.intsInput(1, 'axes') : s.ints('axes');
    if (x.kind !== 'dyn') {
      throw s.unsupported(`${s.op} of a constant is not folded by netinvert`, 'Fold constants when exporting (do_constant_folding=True)');
    }
    let axes: number[];
    if (given === null || given.length === 0) {
      if (axesFromInput && s.int('noop_with_empty_axes', 0) !== 0) return x;
      throw s.unsupported(`${s.op} over every axis includes the batch axis; netinvert maps operations within one point only`, 'Export the reduction with explicit feature axes');
    }
    axes = given.map((a) => s.featureAxis(a, x, 'axis'));
    axes = [...new Set(axes)];
    return reduceDense(s, x, axes, keepdims, mean, s.base);
  };
}

/**
 * LayerNormalization (opset 17): y = (x − μ) / √(σ² + ε) · scale + bias over the axes from
 * `axis` to the last (Ba, Kiros & Hinton 2016, "Layer Normalization"; ONNX operator spec).
 * Written as the ops torch writes at opset < 17 (mean, subtract, square, mean, add ε, sqrt,
 * divide, scale, shift), each exact with its own sound bounds and derivatives, so the model
 * evaluates, differentiates and bounds as the decomposed export does.
 */
function layerNorm(s: Step): Value[] {
  const imp = s.imp;
  const x = s.dyn(0, 'X');
  const scale = s.constant(1, 'Scale');
  const B = s.input(2);
  if (B && B.kind !== 'const') throw s.unsupported(`bias B ("${s.inputName(2)}") must be a constant`);
  const eps = s.float('epsilon', 1e-5);
  if (!(eps >= 0)) throw s.fail('bad_parameter', `epsilon is ${eps}; it must be ≥ 0`);
  const first = s.featureAxis(s.int('axis', -1), x, 'axis');
  const axes = x.dims.map((_, a) => a).filter((a) => a >= first);
  const b = s.base;
  let y: DynValue;
  if (first === 0 && eps > 0) {
    // over every feature of the point: the layer_norm op, with its tight bounds
    y = { ...x, ref: imp.emit(`${b}/normalized`, { type: 'layer_norm', epsilon: eps }, [x.ref]) };
  } else y = decomposedNorm(s, x, axes, eps);
  return [scaleShift(s, y, scale, B, x.dims.slice(first))];
}

/** (x − μ)/√(σ² + ε) over some feature axes, from exact ops (means as dense ops). */
function decomposedNorm(s: Step, x: DynValue, axes: number[], eps: number): DynValue {
  const imp = s.imp;
  const b = s.base;
  const mu = reduceDense(s, x, axes, true, true, `${b}/mean`);
  const d = imp.binaryDyn(s, 'sub', x, mu);
  const sq = imp.unary(s, d, 'pow', { exponent: 2 }, `${b}/square`);
  const v = reduceDense(s, sq, axes, true, true, `${b}/var`);
  const ve = eps === 0 ? v : imp.binaryConst(s, 'add', v, constOf([], Float64Array.of(eps)), false);
  const sd = imp.unary(s, ve, 'pow', { exponent: 0.5 }, `${b}/std`);
  return imp.binaryDyn(s, 'div', d, sd);
}

/** LayerNormalization's Scale and B, broadcast over the normalized shape. */
function scaleShift(s: Step, z: DynValue, scale: ConstValue, B: Value | null, normShape: number[]): DynValue {
  const imp = s.imp;
  let y = z;
  for (const [c, what] of [
    [scale, 'Scale'],
    [B, 'B'],
  ] as const) {
    if (!c) continue;
    const cv = c as ConstValue;
    const fits = cv.dims.length <= normShape.length && broadcastDims(normShape, cv.dims)?.every((v2, i) => v2 === normShape[i]);
    if (!fits) {
      throw s.fail('shape_mismatch', `${what} "${s.inputName(what === 'Scale' ? 1 : 2)}" has shape ${fmtDims(cv.dims)}; it must broadcast to the normalized shape ${fmtDims(normShape)}`);
    }
    if (what === 'Scale' && uniform(cv.data) && cv.data[0] === 1) continue;
    if (what === 'B' && uniform(cv.data) && cv.data[0] === 0) continue;
    y = imp.binaryConst(s, what === 'Scale' ? 'mul' : 'add', y, cv, false);
  }
  return y;
}

const CONVERTERS: Record<string, Converter> = {
  Gemm: gemm,
  MatMul: matmul,
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Neg: neg,
  ...Object.fromEntries(Object.keys(ACTIVATIONS).map((op) => [op, activation])),
  Selu: selu,
  HardSwish: hardSwish,
  PRelu: prelu,
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  Pow: pow,
  Clip: clip,
  Max: maxMin(true),
  Min: maxMin(false),
  Identity: identity,
  Dropout: dropout,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Slice: slice,
  Gather: gather,
  Transpose: transpose,
  BatchNormalization: batchNorm,
  Constant: constantNode,
  Cast: cast,
  Shape: shapeOp,
  Where: where,
  ReduceMean: reduce(true),
  ReduceSum: reduce(false),
  LayerNormalization: layerNorm,
};

export const ONNX_OPS: OpTable = { converters: CONVERTERS, patterns: PATTERNS };

/** The ONNX ops this importer maps (some only in the forms their error messages describe). */
export const ONNX_SUPPORTED_OPS: readonly string[] = Object.keys(CONVERTERS).sort();
