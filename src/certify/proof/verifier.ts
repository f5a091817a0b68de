/**
 * The independent interval verifier for certificates (docs/design.md, Soundness): a small interval
 * evaluator that reads the GraphDef directly and shares no code with the engine's bound code
 * (src/graph/ops, interval.ts, round.ts, activations' range functions, certify/bounds/crown.ts,
 * certify/bounds/forward.ts, bnb.ts, krawczyk.ts). It computes
 *   - value enclosures of every output over a box (natural interval extension), and
 *   - value and first-derivative enclosures together (forward-mode interval JVP, one tangent per
 *     unknown), from which certificate.ts builds its own mean-value form and Krawczyk operator.
 *
 * Soundness in floating point:
 *   - every sum and product is stepped outward: fl(x ± (φ|x| + η)) with φ = 2⁻⁵³(1 + 2⁻⁵²),
 *     η = 2⁻¹⁰⁷⁴ is at or beyond the neighbouring float (Rump, Zimmermann, Boldo & Melquiond,
 *     "Computing predecessor and successor in rounding to nearest", BIT 49, 2009);
 *   - dense layers carry the a-priori error bound of a floating-point dot product,
 *     |fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γₘ Σ|aᵢbᵢ|, γₘ = mu/(1 − mu) (Higham, Accuracy and Stability of
 *     Numerical Algorithms, 2nd ed., §3.1, eq. 3.5), taken as 2(m + 4)u plus m·η for underflow;
 *   - element-wise functions are evaluated in stable forms (softplus = max(z,0) + log1p(e^−|z|),
 *     gelu = x·½erfc(−x/√2), bipolar sigmoid = tanh(λx/2), elu via expm1, tanh' = 4e/(1+e)²
 *     with e = e^−2|x|), each value widened by a relative slack REL·(k + condition number of the
 *     rounded argument) and an absolute 2⁻¹⁰²² for underflow; ranges come from the values at
 *     the interval ends plus enclosures of the interior extrema (each function is monotone
 *     between its listed critical points);
 *   - NaN never survives: a bound that would be NaN becomes −∞ / +∞ (no claim can rest on it).
 * Scalar erf/erfc values (Cody's rational approximations, graph/activations/special.ts) are the
 * model's definition of gelu and erf, not bound code; they are used with the same slack.
 *
 * Everything is compiled once per graph into flat Float64Array slots: evaluating a box
 * allocates nothing.
 */
import { erf as erfScalar, erfc } from '../../graph/activations/special.ts';
import type { GraphDef, NodeDef } from '../../graph/types.ts';

// ---------------------------------------------------------------- outward rounding

const PHI = 2 ** -53 * (1 + 2 ** -52);
const ETA = 2 ** -1074;
const MAXF = Number.MAX_VALUE;

/** A float ≥ x (at least its successor); NaN → +∞. */
export function up(x: number): number {
  const r = x + (Math.abs(x) * PHI + ETA);
  if (r === r) return r;
  return x === -Infinity ? -MAXF : Infinity;
}
/** A float ≤ x (at least its predecessor); NaN → −∞. */
export function dn(x: number): number {
  const r = x - (Math.abs(x) * PHI + ETA);
  if (r === r) return r;
  return x === Infinity ? MAXF : -Infinity;
}

/** Relative slack for library function values (fdlibm and Cody are within a few ulps). */
const REL = 2 ** -44;
/** Absolute slack for underflow in library function values. */
const TINY = 2 ** -1022;

// point enclosure registers (module-level: no allocation)
let PL = 0,
  PH = 0;
/** Enclose a computed function value v whose absolute error is at most err. */
function pt(v: number, err: number): void {
  const e = err + TINY;
  PL = dn(v - e);
  PH = up(v + e);
}

// interval product register
let ML = 0,
  MH = 0;
/** [al, ah]·[bl, bh], outward; 0·∞ counts as 0 (set semantics). */
function imul(al: number, ah: number, bl: number, bh: number): void {
  let p1 = al * bl,
    p2 = al * bh,
    p3 = ah * bl,
    p4 = ah * bh;
  if (p1 !== p1) p1 = 0;
  if (p2 !== p2) p2 = 0;
  if (p3 !== p3) p3 = 0;
  if (p4 !== p4) p4 = 0;
  ML = dn(Math.min(p1, p2, p3, p4));
  MH = up(Math.max(p1, p2, p3, p4));
}
/** imul into out = [lo, hi]: the one interval product of the verifier family (certificate.ts uses it too). */
export function imulInto(al: number, ah: number, bl: number, bh: number, out: Float64Array): void {
  imul(al, ah, bl, bh);
  out[0] = ML;
  out[1] = MH;
}

// ---------------------------------------------------------------- element-wise functions

function sig(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
const INV_SQRT_2PI = 0.3989422804014327;
const GELU_C = Math.sqrt(2 / Math.PI);

/** Point enclosure of an element-wise function at a float x: sets PL, PH. */
type PointFn = (x: number) => void;

/**
 * Range over [l, h] of a function that is monotone between the critical points `crit` (each
 * known to within ±delta), with enclosures [critLo, critHi] of its values there. Sets PL, PH.
 */
interface Shape {
  pe: PointFn;
  crit: number[];
  delta: number;
  critLo: number[];
  critHi: number[];
}
function shapeRange(s: Shape, l: number, h: number): void {
  if (!(l <= h)) {
    PL = -Infinity;
    PH = Infinity;
    return;
  }
  s.pe(l);
  let lo = PL,
    hi = PH;
  s.pe(h);
  if (PL < lo) lo = PL;
  if (PH > hi) hi = PH;
  for (let i = 0; i < s.crit.length; i++) {
    const c = s.crit[i];
    if (c + s.delta >= l && c - s.delta <= h) {
      if (s.critLo[i] < lo) lo = s.critLo[i];
      if (s.critHi[i] > hi) hi = s.critHi[i];
    }
  }
  PL = lo === lo ? lo : -Infinity;
  PH = hi === hi ? hi : Infinity;
}

/** A shape whose critical values are enclosed from the point enclosure plus `slack`. */
function shape(pe: PointFn, crit: number[], delta = 0, slack = 0): Shape {
  const critLo: number[] = [],
    critHi: number[] = [];
  for (const c of crit) {
    pe(c);
    critLo.push(dn(PL - slack));
    critHi.push(up(PH + slack));
  }
  return { pe, crit, delta, critLo, critHi };
}

/** Root of g on [a, b] (g(a), g(b) of opposite signs) by bisection to full precision. */
function bisectRoot(g: (x: number) => number, a: number, b: number): number {
  let ga = g(a);
  for (let i = 0; i < 200; i++) {
    const m = 0.5 * (a + b);
    if (m <= a || m >= b) break;
    const gm = g(m);
    if ((gm < 0) === (ga < 0)) {
      a = m;
      ga = gm;
    } else b = m;
  }
  return 0.5 * (a + b);
}

// derivatives (scalar) used only to locate critical points
const siluD = (x: number): number => sig(x) * (1 + x * sig(-x));
const geluPhi = (x: number): number => 0.5 * erfc(-x * Math.SQRT1_2);
const geluD = (x: number): number => geluPhi(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
const gtU = (x: number): number => GELU_C * (x + 0.044715 * x * x * x);
const geluTanhD = (x: number): number => {
  const u = gtU(x),
    s = sig(2 * u),
    t = sig(-2 * u);
  return s * t === 0 ? s : s + x * 2 * GELU_C * (1 + 3 * 0.044715 * x * x) * s * t;
};
const numD = (g: (x: number) => number) => (x: number): number => (g(x + 1e-5) - g(x - 1e-5)) / 2e-5;

// critical points (located numerically; the delta around each covers the location error)
const SILU_MIN = bisectRoot(siluD, -2, -1);
/** silu'' = σ(x)σ(−x)(2 − x·tanh(x/2)): extremes of silu' at ±the root of x·tanh(x/2) = 2. */
const SILU_D_EXT = bisectRoot((x) => x * Math.tanh(x / 2) - 2, 2, 3);
const GELU_MIN = bisectRoot(geluD, -1, -0.5);
/** gelu'' = φ(x)(2 − x²): extremes of gelu' at ±√2. */
const GELU_D_EXT = Math.SQRT2;
const GT_MIN = bisectRoot(geluTanhD, -1, -0.5);
const GT_D_MAX = bisectRoot(numD(geluTanhD), 1, 2);
const GT_D_MIN = bisectRoot(numD(geluTanhD), -2, -1);

interface Unary {
  /** Range over [l, h]: sets PL, PH. */
  range(l: number, h: number): void;
  /** Derivative range over [l, h] (both one-sided derivatives at kinks): sets PL, PH. */
  deriv(l: number, h: number): void;
}

const fromShapes = (v: Shape, d: Shape): Unary => ({
  range: (l, h) => shapeRange(v, l, h),
  deriv: (l, h) => shapeRange(d, l, h),
});

function setIv(l: number, h: number): void {
  PL = l;
  PH = h;
}

function makeUnary(fn: string, p: Record<string, number>): Unary {
  switch (fn) {
    case 'identity':
      return { range: setIv, deriv: () => setIv(1, 1) };
    case 'sigmoid':
      return fromShapes(
        shape((x) => {
          const v = sig(x);
          pt(v, Math.abs(v) * REL * (4 + Math.abs(x)));
        }, []),
        shape((x) => {
          const v = sig(x) * sig(-x);
          pt(v, Math.abs(v) * REL * (6 + 2 * Math.abs(x)));
        }, [0]),
      );
    case 'tanh':
    case 'bipolar_sigmoid': {
      // bipolar sigmoid 2/(1+e^{−λx}) − 1 = tanh(λx/2); tanh' = sech² = 4e/(1+e)², e = e^{−2|z|}
      const h = fn === 'tanh' ? 1 : (p.lambda ?? 1) / 2;
      if (!(h > 0)) throw new Error(`verifier: bipolar_sigmoid needs lambda > 0`);
      return fromShapes(
        shape((x) => {
          const z = h * x;
          const v = Math.tanh(z);
          pt(v, Math.abs(v) * REL * 4);
        }, []),
        shape((x) => {
          const z = h * x;
          const e = Math.exp(-2 * Math.abs(z));
          const q = 1 + e;
          const v = (h * 4 * e) / (q * q);
          pt(v, Math.abs(v) * REL * (10 + 2 * Math.abs(z)));
        }, [0]),
      );
    }
    case 'relu':
      return {
        range: (l, h) => setIv(Math.max(0, l), Math.max(0, h)),
        deriv: (l, h) => (l > 0 ? setIv(1, 1) : h < 0 ? setIv(0, 0) : setIv(0, 1)),
      };
    case 'leaky_relu': {
      const a = p.alpha ?? 0.01;
      const pe = (x: number): void => pt(x > 0 ? x : a * x, x > 0 ? 0 : Math.abs(a * x) * REL);
      const s = shape(pe, [0]);
      return {
        range: (l, h) => shapeRange(s, l, h),
        deriv: (l, h) => (l > 0 ? setIv(1, 1) : h < 0 ? setIv(a, a) : setIv(Math.min(a, 1), Math.max(a, 1))),
      };
    }
    case 'elu':
    case 'selu': {
      const al = fn === 'selu' ? 1.6732632423543772 : (p.alpha ?? 1);
      const sc = fn === 'selu' ? 1.0507009873554805 : 1;
      const s = shape((x) => {
        const v = x > 0 ? sc * x : sc * al * Math.expm1(x);
        pt(v, Math.abs(v) * REL * 4);
      }, [0]);
      // derivative: sc for x > 0, sc·α·eˣ for x < 0 (monotone), both at 0
      const dNeg = (x: number): void => {
        const v = sc * al * Math.exp(x);
        pt(v, Math.abs(v) * REL * 4);
      };
      return {
        range: (l, h) => shapeRange(s, l, h),
        deriv: (l, h) => {
          if (!(l <= h)) return setIv(-Infinity, Infinity);
          let lo = Infinity,
            hi = -Infinity;
          if (h >= 0) {
            lo = hi = sc;
          }
          if (l <= 0) {
            dNeg(l);
            lo = Math.min(lo, PL);
            hi = Math.max(hi, PH);
            dNeg(Math.min(h, 0));
            lo = Math.min(lo, PL);
            hi = Math.max(hi, PH);
          }
          setIv(lo === lo ? lo : -Infinity, hi === hi ? hi : Infinity);
        },
      };
    }
    case 'softplus': {
      const b = p.beta ?? 1;
      if (!(b > 0)) throw new Error(`verifier: softplus needs beta > 0`);
      return fromShapes(
        shape((x) => {
          const z = b * x;
          const v = (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)))) / b;
          pt(v, Math.abs(v) * REL * (6 + Math.abs(z)) + TINY / b);
        }, []),
        shape((x) => {
          const z = b * x;
          const v = sig(z);
          pt(v, Math.abs(v) * REL * (6 + Math.abs(z)));
        }, []),
      );
    }
    case 'softsign':
      return fromShapes(
        shape((x) => {
          const v = x / (1 + Math.abs(x));
          pt(v, Math.abs(v) * REL * 3);
        }, []),
        shape((x) => {
          const q = 1 + Math.abs(x);
          const v = 1 / (q * q);
          pt(v, Math.abs(v) * REL * 4);
        }, [0]),
      );
    case 'silu':
      return fromShapes(
        shape(
          (x) => {
            const v = x * sig(x);
            pt(v, Math.abs(v) * REL * (5 + Math.abs(x)));
          },
          [SILU_MIN],
          1e-6,
          1e-9,
        ),
        shape(
          (x) => {
            const s = sig(x),
              t = sig(-x);
            const v = s * (1 + x * t);
            pt(v, s * (1 + Math.abs(x) * t) * REL * (8 + 2 * Math.abs(x)));
          },
          [-SILU_D_EXT, SILU_D_EXT],
          1e-6,
          1e-9,
        ),
      );
    case 'gelu':
      // x·Φ(x), Φ(x) = ½erfc(−x/√2): no cancellation in either tail
      return fromShapes(
        shape(
          (x) => {
            const v = x * geluPhi(x);
            pt(v, Math.abs(v) * REL * (8 + x * x));
          },
          [GELU_MIN],
          1e-6,
          1e-9,
        ),
        shape(
          (x) => {
            const ph = geluPhi(x),
              d = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
            const v = ph + x * d;
            pt(v, (ph + Math.abs(x) * d) * REL * (10 + x * x));
          },
          [-GELU_D_EXT, GELU_D_EXT],
          1e-6,
          1e-9,
        ),
      );
    case 'gelu_tanh':
      // ½x(1 + tanh u) = x·σ(2u), u = √(2/π)(x + 0.044715x³): no cancellation for x < 0
      return fromShapes(
        shape(
          (x) => {
            const u = gtU(x);
            const v = x * sig(2 * u);
            pt(v, Math.abs(v) * REL * (10 + 4 * Math.abs(u)));
          },
          [GT_MIN],
          1e-6,
          1e-9,
        ),
        shape(
          (x) => {
            const u = gtU(x),
              s = sig(2 * u),
              t = sig(-2 * u);
            const second = s * t === 0 ? 0 : x * 2 * GELU_C * (1 + 3 * 0.044715 * x * x) * s * t;
            const v = s + second;
            pt(v, (s + Math.abs(second)) * REL * (12 + 4 * Math.abs(u)));
          },
          [GT_D_MIN, GT_D_MAX],
          1e-4,
          1e-7,
        ),
      );
    case 'hard_tanh':
    case 'clip': {
      const lo = p.min ?? -1,
        hi = p.max ?? 1;
      if (!(lo <= hi)) throw new Error(`verifier: clip needs min ≤ max`);
      const c = (x: number): number => Math.min(hi, Math.max(lo, x));
      return {
        range: (l, h) => setIv(c(l), c(h)),
        deriv: (l, h) => (l > lo && h < hi ? setIv(1, 1) : h < lo || l > hi ? setIv(0, 0) : setIv(0, 1)),
      };
    }
    case 'hard_sigmoid': {
      const s = p.slope ?? 0.2,
        o = p.offset ?? 0.5;
      if (!(s > 0)) throw new Error(`verifier: hard_sigmoid needs slope > 0`);
      const c = (x: number): number => Math.min(1, Math.max(0, x));
      return {
        range: (l, h) => setIv(c(dn(dn(s * l) + o)), c(up(up(s * h) + o))),
        deriv: (l, h) => {
          const zl = dn(dn(s * l) + o),
            zh = up(up(s * h) + o);
          if (zl > 0 && zh < 1) setIv(s, s);
          else if (zh < 0 || zl > 1) setIv(0, 0);
          else setIv(0, s);
        },
      };
    }
    case 'max_const':
    case 'min_const': {
      const k = p.c;
      if (!Number.isFinite(k)) throw new Error(`verifier: ${fn} needs a finite c`);
      const isMax = fn === 'max_const';
      return {
        range: (l, h) => (isMax ? setIv(Math.max(l, k), Math.max(h, k)) : setIv(Math.min(l, k), Math.min(h, k))),
        deriv: (l, h) => {
          const above = l > k,
            below = h < k;
          if (above) setIv(isMax ? 1 : 0, isMax ? 1 : 0);
          else if (below) setIv(isMax ? 0 : 1, isMax ? 0 : 1);
          else setIv(0, 1);
        },
      };
    }
    case 'exp': {
      const s = shape((x) => {
        const v = Math.exp(x);
        pt(v, Math.abs(v) * REL * 2);
      }, []);
      return fromShapes(s, s);
    }
    case 'log':
      return {
        range: (l, h) => {
          if (!(l <= h) || h < 0) return setIv(-Infinity, Infinity);
          const vh = Math.log(h);
          const hi = up(vh + Math.abs(vh) * REL * 2 + TINY);
          if (l <= 0) return setIv(-Infinity, hi);
          const vl = Math.log(l);
          setIv(dn(vl - Math.abs(vl) * REL * 2 - TINY), hi);
        },
        deriv: (l, h) => (l > 0 && l <= h ? setIv(dn(1 / h), up(1 / l)) : setIv(-Infinity, Infinity)),
      };
    case 'reciprocal':
      return {
        range: (l, h) => (l > 0 || h < 0 ? setIv(dn(1 / h), up(1 / l)) : setIv(-Infinity, Infinity)),
        deriv: (l, h) => {
          if (!(l > 0 || h < 0)) return setIv(-Infinity, Infinity);
          // −1/x², monotone on each side of 0: values at the ends
          const a = -1 / (l * l),
            b = -1 / (h * h);
          pt(Math.min(a, b), Math.abs(Math.min(a, b)) * REL);
          const lo = PL;
          pt(Math.max(a, b), Math.abs(Math.max(a, b)) * REL);
          setIv(lo, PH);
        },
      };
    case 'erf':
      return fromShapes(
        shape((x) => {
          const v = erfScalar(x);
          pt(v, Math.abs(v) * REL * 6);
        }, []),
        shape((x) => {
          const v = 1.1283791670955126 * Math.exp(-x * x);
          pt(v, Math.abs(v) * REL * (6 + 2 * x * x));
        }, [0]),
      );
    case 'sin':
    case 'cos': {
      const isCos = fn === 'cos';
      const range = (l: number, h: number, phase: number, g: (x: number) => number): void => {
        if (!(l <= h) || !(h - l < 2 * Math.PI) || !Number.isFinite(l) || !Number.isFinite(h)) return setIv(-1, 1);
        const va = g(l),
          vb = g(h);
        let lo = Math.min(dn(va - Math.abs(va) * REL * 2 - TINY), dn(vb - Math.abs(vb) * REL * 2 - TINY));
        let hi = Math.max(up(va + Math.abs(va) * REL * 2 + TINY), up(vb + Math.abs(vb) * REL * 2 + TINY));
        // peaks of sin(x + phase) at π/2 + 2kπ, troughs at −π/2 + 2kπ (located to within eps)
        const a = l + phase,
          b = h + phase,
          eps = 1e-9 * (1 + Math.abs(a) + Math.abs(b));
        if (Math.PI / 2 + Math.ceil((a - eps - Math.PI / 2) / (2 * Math.PI)) * 2 * Math.PI <= b + eps) hi = 1;
        if (-Math.PI / 2 + Math.ceil((a - eps + Math.PI / 2) / (2 * Math.PI)) * 2 * Math.PI <= b + eps) lo = -1;
        setIv(Math.max(lo, -1), Math.min(hi, 1));
      };
      return {
        range: (l, h) => (isCos ? range(l, h, Math.PI / 2, Math.cos) : range(l, h, 0, Math.sin)),
        deriv: (l, h) => {
          if (!isCos) return range(l, h, Math.PI / 2, Math.cos);
          range(l, h, 0, Math.sin);
          setIv(-PH, -PL);
        },
      };
    }
    case 'abs':
      return {
        range: (l, h) => (l >= 0 ? setIv(l, h) : h <= 0 ? setIv(-h, -l) : setIv(0, Math.max(-l, h))),
        deriv: (l, h) => (l > 0 ? setIv(1, 1) : h < 0 ? setIv(-1, -1) : setIv(-1, 1)),
      };
    default:
      throw new Error(`verifier: no interval rule for activation "${fn}"`);
  }
}

// ---------------------------------------------------------------- layer normalization

/**
 * A bound on f(d, T) = d·√n / √(d² + T) (T > 0) for floats d, T: a float ≤ f when `upper` is
 * false, ≥ f when it is true; `cap` (≥ √(n − 1)) is the fallback, sound for any layer_norm value.
 * Layer normalization z_i = d_i/√(v + ε), v = (1/n)Σ d_j², is f(d_i, R_i + nε) with
 * R_i = Σ_{j≠i} d_j² (the rule's derivation is at the 'layer_norm' step).
 *
 * f is homogeneous of degree 0, so d and T are scaled by c = 2^k, c ≈ m = max(|d|, √T), and
 * c² (exact powers of two; a result that underflows loses at most 2⁻¹⁰⁷⁴ absolutely). Then
 * q = d̂² + T̂ ≥ (m/c)² ≥ 1/4 (a sum of non-negative terms), so the computed
 * r = d̂·fl(√n)/fl(√q) has relative error ≤ 8u (u = 2⁻⁵³: one rounding each for √n, d̂², the
 * sum, √, ×, ÷; the sum of non-negatives has relative error ≤ u; Higham, op. cit., §2.2 and
 * §3.1) plus an absolute error ≤ 2⁻¹⁰⁷⁰·√n from underflow. The bound is r widened by
 * |r|·REL + TINY·(1 + √n), then stepped outward.
 */
function lnBound(d: number, T: number, sqn: number, cap: number, upper: boolean): number {
  if (d === 0 && T > 0) return 0;
  if (T === Infinity && Number.isFinite(d)) return 0; // the limit; T = +∞ is only passed where |f| is bounded below
  if (!(T > 0) || !Number.isFinite(d) || !Number.isFinite(T)) return upper ? cap : -cap;
  const m = Math.max(Math.abs(d), Math.sqrt(T));
  const k = Math.max(-1070, Math.min(1023, Math.round(Math.log2(m))));
  const c = 2 ** k;
  const ds = d / c,
    Ts = T / c / c;
  const r = (ds * sqn) / Math.sqrt(ds * ds + Ts);
  const e = Math.abs(r) * REL + TINY * (1 + sqn);
  const v = upper ? up(r + e) : dn(r - e);
  if (!(v === v)) return upper ? cap : -cap;
  return upper ? Math.min(v, cap) : Math.max(v, -cap);
}

/**
 * Centred intervals u_i ⊇ {y_i − mean(y)} for y ∈ [lo, hi] (exact for this linear map up to
 * rounding): u_i = ((n − 1)·y_i − Σ_{j≠i} y_j)/n, so its ends are
 * ((n − 1)·lo_i − Σ_{j≠i} hi_j)/n and ((n − 1)·hi_i − Σ_{j≠i} lo_j)/n. The sums over j ≠ i are
 * bounded by the outward total minus the own term, stepped outward (≥ / ≤ the real sums).
 * Reads lo[a + i·s], hi[a + i·s] (i < n); writes outLo[i], outHi[i].
 */
function centred(lo: Float64Array, hi: Float64Array, a: number, s: number, n: number, outLo: Float64Array, outHi: Float64Array): void {
  let sl = 0,
    sh = 0;
  for (let i = 0; i < n; i++) {
    sl = dn(sl + lo[a + i * s]);
    sh = up(sh + hi[a + i * s]);
  }
  const n1 = n - 1;
  for (let i = 0; i < n; i++) {
    const l = lo[a + i * s],
      h = hi[a + i * s];
    const othersHi = up(sh - h),
      othersLo = dn(sl - l);
    outLo[i] = dn(dn(dn(n1 * l) - othersHi) / n);
    outHi[i] = up(up(up(n1 * h) - othersLo) / n);
  }
}

// ---------------------------------------------------------------- compiled graph

type Step =
  | { k: 'dense'; o: number; w: number; x: number; nx: number; W: Float64Array; b: Float64Array | null }
  | { k: 'affine'; o: number; w: number; x: number; sc: Float64Array; sh: Float64Array }
  | { k: 'binary'; o: number; w: number; a: number; wa: number; b: number; wb: number; fn: string }
  | { k: 'bconst'; o: number; w: number; x: number; c: Float64Array; first: boolean; fn: string }
  | { k: 'copy'; o: number; w: number; src: Int32Array }
  | { k: 'softmax'; o: number; w: number; x: number; log: boolean }
  | { k: 'unary'; o: number; w: number; x: number; f: Unary }
  | {
      k: 'layer_norm';
      o: number;
      w: number;
      x: number;
      eps: number;
      /** scratch, w each: d, the squares' bounds, centred tangents */
      dl: Float64Array;
      dh: Float64Array;
      ql: Float64Array;
      qh: Float64Array;
      ul: Float64Array;
      uh: Float64Array;
    };

const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);

/**
 * A GraphDef compiled for the verifier: value slots for every node, in dependency order.
 * `bounds` encloses the outputs over a box; `jvp` encloses outputs and their derivatives with
 * respect to chosen inputs over a box.
 */
export class VerifierNet {
  readonly nIn: number;
  readonly nOut: number;
  private readonly steps: Step[] = [];
  private readonly outSlots: Int32Array;
  private readonly vl: Float64Array;
  private readonly vh: Float64Array;
  private tl = new Float64Array(0);
  private th = new Float64Array(0);
  private readonly sl: Float64Array;
  private readonly sh: Float64Array;

  constructor(graph: GraphDef) {
    const off = new Map<string, number>(),
      wid = new Map<string, number>();
    let slots = 0;
    for (const inp of graph.inputs) {
      if (!(Number.isInteger(inp.width) && inp.width > 0)) throw new Error(`verifier: input "${inp.name}" has a bad width`);
      off.set(inp.name, slots);
      wid.set(inp.name, inp.width);
      slots += inp.width;
    }
    this.nIn = slots;
    const pending = new Map<string, NodeDef>(graph.nodes.map((n) => [n.name, n]));
    let progress = true;
    while (pending.size && progress) {
      progress = false;
      for (const [name, nd] of pending) {
        if (!nd.inputs.every((s) => off.has(s))) continue;
        const ins = nd.inputs.map((s) => ({ o: off.get(s)!, w: wid.get(s)! }));
        const width = this.compileNode(nd, ins, slots);
        off.set(name, slots);
        wid.set(name, width);
        slots += width;
        pending.delete(name);
        progress = true;
      }
    }
    if (pending.size) throw new Error(`verifier: cannot order nodes ${[...pending.keys()].join(', ')}`);
    const outs: number[] = [];
    for (const o of graph.outputs) {
      const s = off.get(o.node);
      if (s === undefined) throw new Error(`verifier: output node "${o.node}" does not exist`);
      for (let i = 0; i < wid.get(o.node)!; i++) outs.push(s + i);
    }
    this.outSlots = Int32Array.from(outs);
    this.nOut = outs.length;
    this.vl = new Float64Array(slots);
    this.vh = new Float64Array(slots);
    let mx = 1;
    for (const st of this.steps) mx = Math.max(mx, st.w);
    this.sl = new Float64Array(mx);
    this.sh = new Float64Array(mx);
  }

  private compileNode(nd: NodeDef, ins: { o: number; w: number }[], o: number): number {
    const op = nd.op;
    const x = ins[0];
    const need = (k: number): void => {
      if (ins.length !== k) throw new Error(`verifier: node "${nd.name}" needs ${k} input(s)`);
    };
    switch (op.type) {
      case 'dense': {
        need(1);
        const u = op.units;
        if (!(Number.isInteger(u) && u > 0) || op.weight.length !== x.w * u || (op.bias && op.bias.length !== u)) {
          throw new Error(`verifier: dense node "${nd.name}" has inconsistent shapes`);
        }
        this.steps.push({ k: 'dense', o, w: u, x: x.o, nx: x.w, W: f64(op.weight), b: op.bias ? f64(op.bias) : null });
        return u;
      }
      case 'affine':
        need(1);
        if (op.scale.length !== x.w || op.shift.length !== x.w) throw new Error(`verifier: affine node "${nd.name}" has inconsistent shapes`);
        this.steps.push({ k: 'affine', o, w: x.w, x: x.o, sc: f64(op.scale), sh: f64(op.shift) });
        return x.w;
      case 'binary': {
        need(2);
        const [a, b] = ins;
        if (a.w !== b.w && a.w !== 1 && b.w !== 1) throw new Error(`verifier: binary node "${nd.name}" has inconsistent widths`);
        const w = Math.max(a.w, b.w);
        this.steps.push({ k: 'binary', o, w, a: a.o, wa: a.w, b: b.o, wb: b.w, fn: op.fn });
        return w;
      }
      case 'binary_const':
        need(1);
        if (op.constant.length !== 1 && op.constant.length !== x.w) throw new Error(`verifier: node "${nd.name}" has a constant of the wrong width`);
        this.steps.push({ k: 'bconst', o, w: x.w, x: x.o, c: f64(op.constant), first: !!op.constantFirst, fn: op.fn });
        return x.w;
      case 'concat': {
        const src: number[] = [];
        for (const s of ins) for (let i = 0; i < s.w; i++) src.push(s.o + i);
        this.steps.push({ k: 'copy', o, w: src.length, src: Int32Array.from(src) });
        return src.length;
      }
      case 'gather': {
        need(1);
        if (op.indices.some((i) => !(Number.isInteger(i) && i >= 0 && i < x.w))) throw new Error(`verifier: gather node "${nd.name}" indexes out of range`);
        this.steps.push({ k: 'copy', o, w: op.indices.length, src: Int32Array.from(op.indices, (i) => x.o + i) });
        return op.indices.length;
      }
      case 'reshape':
        need(1);
        this.steps.push({ k: 'copy', o, w: x.w, src: Int32Array.from({ length: x.w }, (_, i) => x.o + i) });
        return x.w;
      case 'softmax':
      case 'log_softmax':
        need(1);
        this.steps.push({ k: 'softmax', o, w: x.w, x: x.o, log: op.type === 'log_softmax' });
        return x.w;
      case 'unary':
        need(1);
        this.steps.push({ k: 'unary', o, w: x.w, x: x.o, f: makeUnary(op.fn.replace(/-/g, '_'), op.params ?? {}) });
        return x.w;
      case 'layer_norm': {
        need(1);
        const eps = op.epsilon;
        if (!(Number.isFinite(eps) && eps > 0)) throw new Error(`verifier: layer_norm node "${nd.name}" needs epsilon > 0`);
        const w = x.w,
          s = (): Float64Array => new Float64Array(w);
        this.steps.push({ k: 'layer_norm', o, w, x: x.o, eps, dl: s(), dh: s(), ql: s(), qh: s(), ul: s(), uh: s() });
        return w;
      }
      default:
        throw new Error(`verifier: no interval rule for op "${(op as { type: string }).type}"`);
    }
  }

  /** Enclose the outputs over the box [lo, hi] (full input vectors, length nIn). */
  bounds(lo: ArrayLike<number>, hi: ArrayLike<number>, outLo: Float64Array, outHi: Float64Array): void {
    this.run(lo, hi, null, 0);
    const { vl, vh, outSlots } = this;
    for (let i = 0; i < outSlots.length; i++) {
      outLo[i] = vl[outSlots[i]];
      outHi[i] = vh[outSlots[i]];
    }
  }

  /**
   * Enclose the outputs and their derivatives with respect to the inputs `wrt` over the box:
   * jLo/jHi are nOut × wrt.length, row-major.
   */
  jvp(lo: ArrayLike<number>, hi: ArrayLike<number>, wrt: Int32Array, outLo: Float64Array, outHi: Float64Array, jLo: Float64Array, jHi: Float64Array): void {
    const n = wrt.length;
    this.run(lo, hi, wrt, n);
    const { vl, vh, tl, th, outSlots } = this;
    for (let i = 0; i < outSlots.length; i++) {
      const s = outSlots[i];
      outLo[i] = vl[s];
      outHi[i] = vh[s];
      for (let k = 0; k < n; k++) {
        jLo[i * n + k] = tl[s * n + k];
        jHi[i * n + k] = th[s * n + k];
      }
    }
  }

  private run(lo: ArrayLike<number>, hi: ArrayLike<number>, wrt: Int32Array | null, n: number): void {
    const { vl, vh } = this;
    for (let i = 0; i < this.nIn; i++) {
      const l = lo[i],
        h = hi[i];
      // a NaN or inverted input interval proves nothing
      if (!(l <= h)) {
        vl[i] = -Infinity;
        vh[i] = Infinity;
      } else {
        vl[i] = l;
        vh[i] = h;
      }
    }
    if (wrt) {
      if (this.tl.length < vl.length * n) {
        this.tl = new Float64Array(vl.length * n);
        this.th = new Float64Array(vl.length * n);
      }
      const { tl, th } = this;
      tl.fill(0, 0, this.nIn * n);
      th.fill(0, 0, this.nIn * n);
      for (let k = 0; k < n; k++) tl[wrt[k] * n + k] = th[wrt[k] * n + k] = 1;
    }
    for (const st of this.steps) this.step(st, n);
  }

  private step(st: Step, n: number): void {
    const { vl, vh, tl, th } = this;
    const o = st.o,
      w = st.w;
    switch (st.k) {
      case 'dense': {
        const { W, b, x, nx } = st;
        const g = (nx + 5) * 2 ** -52,
          eta = (nx + 2) * ETA;
        for (let j = 0; j < w; j++) {
          const bj = b ? b[j] : 0;
          let sL = bj,
            sH = bj,
            S = Math.abs(bj);
          for (let i = 0; i < nx; i++) {
            const c = W[i * w + j];
            if (c === 0) continue;
            let pl: number, ph: number;
            if (c > 0) {
              pl = c * vl[x + i];
              ph = c * vh[x + i];
            } else {
              pl = c * vh[x + i];
              ph = c * vl[x + i];
            }
            sL += pl;
            sH += ph;
            S += Math.max(Math.abs(pl), Math.abs(ph));
          }
          const e = S * g + eta;
          vl[o + j] = dn(sL - e);
          vh[o + j] = up(sH + e);
        }
        if (n) {
          for (let j = 0; j < w; j++) {
            for (let k = 0; k < n; k++) {
              let sL = 0,
                sH = 0,
                S = 0;
              for (let i = 0; i < nx; i++) {
                const c = W[i * w + j];
                if (c === 0) continue;
                const q = (x + i) * n + k;
                let pl: number, ph: number;
                if (c > 0) {
                  pl = c * tl[q];
                  ph = c * th[q];
                } else {
                  pl = c * th[q];
                  ph = c * tl[q];
                }
                if (pl !== pl) pl = 0; // 0·∞ in a zero tangent
                if (ph !== ph) ph = 0;
                sL += pl;
                sH += ph;
                S += Math.max(Math.abs(pl), Math.abs(ph));
              }
              const e = S * g + eta;
              tl[(o + j) * n + k] = dn(sL - e);
              th[(o + j) * n + k] = up(sH + e);
            }
          }
        }
        return;
      }
      case 'affine': {
        const { sc, sh, x } = st;
        for (let i = 0; i < w; i++) {
          imul(vl[x + i], vh[x + i], sc[i], sc[i]);
          vl[o + i] = dn(ML + sh[i]);
          vh[o + i] = up(MH + sh[i]);
          for (let k = 0; k < n; k++) {
            imul(tl[(x + i) * n + k], th[(x + i) * n + k], sc[i], sc[i]);
            tl[(o + i) * n + k] = ML;
            th[(o + i) * n + k] = MH;
          }
        }
        return;
      }
      case 'binary': {
        const { a, b, wa, wb, fn } = st;
        for (let i = 0; i < w; i++) {
          const ia = a + (wa === 1 ? 0 : i),
            ib = b + (wb === 1 ? 0 : i);
          const pl = vl[ia],
            ph = vh[ia],
            ql = vl[ib],
            qh = vh[ib];
          const oi = o + i;
          if (fn === 'add' || fn === 'sub') {
            const sgn = fn === 'add';
            vl[oi] = sgn ? dn(pl + ql) : dn(pl - qh);
            vh[oi] = sgn ? up(ph + qh) : up(ph - ql);
            for (let k = 0; k < n; k++) {
              const dal = tl[ia * n + k],
                dah = th[ia * n + k],
                dbl = tl[ib * n + k],
                dbh = th[ib * n + k];
              tl[oi * n + k] = sgn ? dn(dal + dbl) : dn(dal - dbh);
              th[oi * n + k] = sgn ? up(dah + dbh) : up(dah - dbl);
            }
          } else if (fn === 'mul') {
            imul(pl, ph, ql, qh);
            vl[oi] = ML;
            vh[oi] = MH;
            for (let k = 0; k < n; k++) {
              // d(pq) = p·dq + q·dp
              imul(pl, ph, tl[ib * n + k], th[ib * n + k]);
              const l1 = ML,
                h1 = MH;
              imul(ql, qh, tl[ia * n + k], th[ia * n + k]);
              tl[oi * n + k] = dn(l1 + ML);
              th[oi * n + k] = up(h1 + MH);
            }
          } else {
            // p / q = p · (1/q); d = (dp − (p/q)·dq) / q
            if (!(ql > 0 || qh < 0)) {
              vl[oi] = -Infinity;
              vh[oi] = Infinity;
              for (let k = 0; k < n; k++) {
                tl[oi * n + k] = -Infinity;
                th[oi * n + k] = Infinity;
              }
              continue;
            }
            const rl = dn(1 / qh),
              rh = up(1 / ql);
            imul(pl, ph, rl, rh);
            const yl = ML,
              yh = MH;
            vl[oi] = yl;
            vh[oi] = yh;
            for (let k = 0; k < n; k++) {
              imul(yl, yh, tl[ib * n + k], th[ib * n + k]);
              const ul = dn(tl[ia * n + k] - MH),
                uh = up(th[ia * n + k] - ML);
              imul(ul, uh, rl, rh);
              tl[oi * n + k] = ML;
              th[oi * n + k] = MH;
            }
          }
        }
        return;
      }
      case 'bconst': {
        const { c, first, fn, x } = st;
        for (let i = 0; i < w; i++) {
          const cv = c[c.length === 1 ? 0 : i];
          const xl = vl[x + i],
            xh = vh[x + i];
          const oi = o + i,
            xi = x + i;
          // the value, and the interval m with d(out) = m·d(x)
          let dl = 1,
            dh = 1;
          if (fn === 'add') {
            vl[oi] = dn(xl + cv);
            vh[oi] = up(xh + cv);
          } else if (fn === 'sub') {
            if (first) {
              vl[oi] = dn(cv - xh);
              vh[oi] = up(cv - xl);
              dl = dh = -1;
            } else {
              vl[oi] = dn(xl - cv);
              vh[oi] = up(xh - cv);
            }
          } else if (fn === 'mul') {
            imul(xl, xh, cv, cv);
            vl[oi] = ML;
            vh[oi] = MH;
            dl = dh = cv;
          } else if (!first) {
            // x / c (and c / x below: the two quotient cases are spelled out side by side on
            // purpose, an intended near-repeat, so that each sign case can be checked by eye)
            if (cv === 0 || !Number.isFinite(cv)) {
              vl[oi] = -Infinity;
              vh[oi] = Infinity;
              dl = -Infinity;
              dh = Infinity;
            } else {
              const rl = dn(1 / cv),
                rh = up(1 / cv);
              imul(xl, xh, rl, rh);
              vl[oi] = ML;
              vh[oi] = MH;
              dl = rl;
              dh = rh;
            }
          } else if (!(xl > 0 || xh < 0)) {
            // c / x with 0 in x
            vl[oi] = -Infinity;
            vh[oi] = Infinity;
            dl = -Infinity;
            dh = Infinity;
          } else {
            const rl = dn(1 / xh),
              rh = up(1 / xl);
            imul(cv, cv, rl, rh);
            vl[oi] = ML;
            vh[oi] = MH;
            // d(c/x) = −c·r²·dx
            imul(rl, rh, rl, rh);
            imul(-cv, -cv, ML, MH);
            dl = ML;
            dh = MH;
          }
          for (let k = 0; k < n; k++) {
            if (dl === 1 && dh === 1) {
              tl[oi * n + k] = tl[xi * n + k];
              th[oi * n + k] = th[xi * n + k];
            } else {
              imul(dl, dh, tl[xi * n + k], th[xi * n + k]);
              tl[oi * n + k] = ML;
              th[oi * n + k] = MH;
            }
          }
        }
        return;
      }
      case 'copy': {
        const { src } = st;
        for (let i = 0; i < w; i++) {
          vl[o + i] = vl[src[i]];
          vh[o + i] = vh[src[i]];
          for (let k = 0; k < n; k++) {
            tl[(o + i) * n + k] = tl[src[i] * n + k];
            th[(o + i) * n + k] = th[src[i] * n + k];
          }
        }
        return;
      }
      case 'softmax': {
        // s_i = 1/(1 + Σ_{j≠i} e^{x_j − x_i}), bounded from the extreme differences
        const { x } = st;
        for (let i = 0; i < w; i++) {
          let sUp = 0,
            sDn = 0;
          for (let j = 0; j < w; j++) {
            if (j === i) continue;
            const eu = Math.exp(up(vh[x + j] - vl[x + i])),
              ed = Math.exp(dn(vl[x + j] - vh[x + i]));
            sUp = up(sUp + up(eu + eu * REL * 2 + TINY));
            sDn = Math.max(0, dn(sDn + dn(ed - ed * REL * 2 - TINY)));
          }
          if (!st.log) {
            this.sl[i] = Math.max(0, dn(1 / up(1 + sUp)));
            this.sh[i] = Math.min(1, up(1 / dn(1 + sDn)));
          } else {
            const a = Math.log(up(1 + sUp)),
              b = Math.log(dn(1 + sDn));
            this.sl[i] = -up(a + a * REL * 2 + TINY);
            this.sh[i] = Math.min(0, -dn(b - b * REL * 2 - TINY));
          }
        }
        if (n) {
          // softmax probabilities (for the tangent): p_i = exp(log-softmax)
          const pl = this.sl,
            ph = this.sh;
          const probL = new Float64Array(w),
            probH = new Float64Array(w);
          for (let i = 0; i < w; i++) {
            if (st.log) {
              probL[i] = Math.max(0, dn(Math.exp(pl[i]) * (1 - REL)));
              probH[i] = Math.min(1, up(Math.exp(ph[i]) * (1 + REL)));
            } else {
              probL[i] = pl[i];
              probH[i] = ph[i];
            }
          }
          for (let k = 0; k < n; k++) {
            // A = Σ_j p_j·dx_j;  d softmax_i = p_i(dx_i − A);  d log_softmax_i = dx_i − A
            let al = 0,
              ah = 0;
            for (let j = 0; j < w; j++) {
              imul(probL[j], probH[j], tl[(x + j) * n + k], th[(x + j) * n + k]);
              al = dn(al + ML);
              ah = up(ah + MH);
            }
            for (let i = 0; i < w; i++) {
              const ul = dn(tl[(x + i) * n + k] - ah),
                uh = up(th[(x + i) * n + k] - al);
              if (st.log) {
                tl[(o + i) * n + k] = ul;
                th[(o + i) * n + k] = uh;
              } else {
                imul(probL[i], probH[i], ul, uh);
                tl[(o + i) * n + k] = ML;
                th[(o + i) * n + k] = MH;
              }
            }
          }
        }
        for (let i = 0; i < w; i++) {
          vl[o + i] = this.sl[i];
          vh[o + i] = this.sh[i];
        }
        return;
      }
      case 'layer_norm': {
        // z_i = d_i/√(v + ε), d = x − mean(x), v = (1/n)Σ d_j² (Ba, Kiros & Hinton 2016).
        // Values: with R_i = Σ_{j≠i} d_j², z_i = f(d_i, R_i + nε), f(d, T) = d·√n/√(d² + T),
        // increasing in d (∂f/∂d = √n·T/(d² + T)^{3/2} > 0) and with |f| decreasing in T. The
        // pair (d_i, R_i) lies in [dl, dh] × [Rl, Rh] (each d_j from the exact centred map, the
        // squares from their ranges), and R_i ≥ d_i²/(n − 1) (Cauchy–Schwarz on Σ_{j≠i} d_j =
        // −d_i); d ↦ f(d, max(Rl, d²/(n − 1)) + nε) is still increasing (on the second branch
        // it is d·√(n − 1)/√(d² + (n − 1)ε)). Hence z_i ≥ f(dl, Rh + nε) when dl ≥ 0, else
        // f(dl, max(Rl, dl²/(n − 1)) + nε), and symmetrically for the upper end; |z_i| ≤ √(n − 1).
        // Derivatives: dz_i = (u_i − z_i·W)/s, u = t − mean(t), W = (1/n)Σ z_j t_j (= (1/n)Σ z_j u_j
        // as Σ z_j = 0), s = √(v + ε): interval arithmetic with z, 1/s and u enclosed.
        const { x, eps, dl, dh, ql, qh, ul, uh } = st;
        if (w === 1) {
          // d = 0: z = 0 and dz = 0 identically
          vl[o] = vh[o] = 0;
          for (let k = 0; k < n; k++) tl[o * n + k] = th[o * n + k] = 0;
          return;
        }
        const n1 = w - 1,
          sqn = Math.sqrt(w),
          cap = up(Math.sqrt(n1));
        centred(vl, vh, x, 1, w, dl, dh);
        let sumL = 0,
          sumH = 0,
          maxL = 0;
        for (let i = 0; i < w; i++) {
          const l = dl[i],
            h = dh[i];
          let q = 0;
          if (l > 0) q = Math.max(0, dn(l * l));
          else if (h < 0) q = Math.max(0, dn(h * h));
          ql[i] = q;
          qh[i] = up(Math.max(l * l, h * h));
          sumL = dn(sumL + q);
          sumH = up(sumH + qh[i]);
          if (q > maxL) maxL = q;
        }
        sumL = Math.max(0, sumL);
        const neLo = dn(w * eps),
          neHi = up(w * eps);
        for (let i = 0; i < w; i++) {
          const Rh = up(sumH - qh[i]),
            Rl = Math.max(0, dn(sumL - ql[i]));
          const l = dl[i],
            h = dh[i];
          const zl = l >= 0 ? lnBound(l, up(Rh + neHi), sqn, cap, false) : lnBound(l, dn(Math.max(Rl, dn(dn(l * l) / n1)) + neLo), sqn, cap, false);
          const zh = h <= 0 ? lnBound(h, up(Rh + neHi), sqn, cap, true) : lnBound(h, dn(Math.max(Rl, dn(dn(h * h) / n1)) + neLo), sqn, cap, true);
          vl[o + i] = zl;
          vh[o + i] = zh;
        }
        if (n) {
          // v ∈ [vLo, vHi]; Σ_j d_j² ≥ d_i²·n/(n − 1) gives v ≥ d_i²/(n − 1) too
          const vLo = Math.max(0, dn(sumL / w), dn(maxL / n1)),
            vHi = up(sumH / w);
          const s2Lo = dn(vLo + eps),
            sLo = s2Lo > 0 ? dn(Math.sqrt(s2Lo)) : 0,
            sHi = up(Math.sqrt(up(vHi + eps)));
          const isLo = Math.max(0, dn(1 / sHi)),
            isHi = sLo > 0 ? up(1 / sLo) : Infinity;
          for (let k = 0; k < n; k++) {
            centred(tl, th, x * n + k, n, w, ul, uh);
            let al = 0,
              ah = 0;
            for (let j = 0; j < w; j++) {
              imul(vl[o + j], vh[o + j], tl[(x + j) * n + k], th[(x + j) * n + k]);
              al = dn(al + ML);
              ah = up(ah + MH);
            }
            al = dn(al / w);
            ah = up(ah / w);
            for (let i = 0; i < w; i++) {
              imul(vl[o + i], vh[o + i], al, ah);
              const a = dn(ul[i] - MH),
                b = up(uh[i] - ML);
              imul(a, b, isLo, isHi);
              tl[(o + i) * n + k] = ML;
              th[(o + i) * n + k] = MH;
            }
          }
        }
        return;
      }
      case 'unary': {
        const { f, x } = st;
        for (let i = 0; i < w; i++) {
          const l = vl[x + i],
            h = vh[x + i];
          f.range(l, h);
          vl[o + i] = PL === PL ? PL : -Infinity;
          vh[o + i] = PH === PH ? PH : Infinity;
          if (n) {
            f.deriv(l, h);
            const dl = PL === PL ? PL : -Infinity,
              dh = PH === PH ? PH : Infinity;
            for (let k = 0; k < n; k++) {
              imul(dl, dh, tl[(x + i) * n + k], th[(x + i) * n + k]);
              tl[(o + i) * n + k] = ML;
              th[(o + i) * n + k] = MH;
            }
          }
        }
        return;
      }
    }
  }
}

const compiled = new WeakMap<GraphDef, VerifierNet>();

/** The verifier's compiled form of a graph (cached per GraphDef object). */
export function verifierNet(graph: GraphDef): VerifierNet {
  let v = compiled.get(graph);
  if (!v) {
    v = new VerifierNet(graph);
    compiled.set(graph, v);
  }
  return v;
}

/** Interval outputs (one box) of the graph for input intervals, by the independent verifier. */
export function verifierBounds(graph: GraphDef, lo: ArrayLike<number>, hi: ArrayLike<number>): { lo: Float64Array; hi: Float64Array } {
  const v = verifierNet(graph);
  const outLo = new Float64Array(v.nOut),
    outHi = new Float64Array(v.nOut);
  v.bounds(lo, hi, outLo, outHi);
  return { lo: outLo, hi: outHi };
}

/**
 * The verifier's own enclosure of a linear form Σ cₖ·y_{oₖ} over output enclosures [yl, yh]:
 * interval arithmetic (Moore 1966), every product and partial sum rounded outward with up/dn.
 * A one-term form with coefficient 1 is the output's own enclosure. out = [lo, hi]; NaN → ±∞.
 */
export function formRange(terms: readonly { output: number; coef: number }[], yl: ArrayLike<number>, yh: ArrayLike<number>, out: Float64Array | number[]): void {
  if (terms.length === 1 && terms[0].coef === 1) {
    const a = yl[terms[0].output],
      b = yh[terms[0].output];
    out[0] = a === a ? a : -Infinity;
    out[1] = b === b ? b : Infinity;
    return;
  }
  let lo = 0,
    hi = 0;
  for (const t of terms) {
    const l = yl[t.output],
      h = yh[t.output];
    const a = t.coef >= 0 ? t.coef * l : t.coef * h,
      b = t.coef >= 0 ? t.coef * h : t.coef * l;
    lo = dn(lo + dn(a));
    hi = up(hi + up(b));
  }
  out[0] = lo === lo ? lo : -Infinity;
  out[1] = hi === hi ? hi : Infinity;
}

/**
 * Sound range of the element-wise function `fn` over [l, h], and of its derivative, by this
 * verifier's own rules (makeUnary above): each writes [lo, hi] into out[0], out[1]. Used by
 * vnnVerifier.ts.
 */
export function verifierUnaryRange(
  fn: string,
  params: Record<string, number> = {},
): { range: (l: number, h: number, out: Float64Array) => void; deriv: (l: number, h: number, out: Float64Array) => void } {
  const u = makeUnary(fn.replace(/-/g, '_'), params);
  return {
    range: (l, h, out) => {
      u.range(l, h);
      out[0] = PL;
      out[1] = PH;
    },
    deriv: (l, h, out) => {
      u.deriv(l, h);
      out[0] = PL;
      out[1] = PH;
    },
  };
}
