/**
 * The feasible set of the unknowns under linear constraints among the inputs: the polytope
 *     P = { u : lo ≤ u ≤ hi,  clo_k ≤ a_k·u ≤ chi_k }
 * (problem/constraints.ts constraintRows). What the solvers need of it:
 *   - contains(u): is u in P, each row within its tolerance;
 *   - project(s): the point of P nearest s in box-width units, by two exact QPs (LinQP,
 *     Nocedal & Wright Alg. 16.3) from feasible starts: phase 1 relaxes every row by a shared
 *     artificial variable t ∈ [0, 1] (row k becomes clo ≤ a·u + δ_k·t ≤ chi with δ_k the row's
 *     miss at the clipped s, so (clip(s), 1) is feasible) and minimises t (+ a tiny proximal
 *     term); t > 0 at its minimum means P is empty. Phase 2 projects s from that feasible point;
 *   - a sampler of points inside P: hit-and-run (Smith 1984, "Efficient Monte Carlo procedures
 *     for generating points uniformly distributed over bounded regions", Oper. Res. 32): from a
 *     point of P, a random direction in the null space of the equalities (Gaussian in box
 *     units, so every unknown moves on its own scale), the chord of P along it, and a uniform
 *     point on the chord. Its stationary distribution is uniform on P.
 */
import type { ConstraintRows } from '../problem/constraints.ts';
import { LinQP } from './linqp.ts';

export class Polytope {
  readonly n: number;
  readonly width: Float64Array;
  /** Orthonormal basis of the equalities' row space (q × n), for the null-space directions. */
  private readonly Q: Float64Array;
  private readonly q: number;
  private qp1: LinQP | null = null;
  private qp2: LinQP | null = null;
  constructor(
    readonly rows: ConstraintRows,
    readonly lo: Float64Array,
    readonly hi: Float64Array,
  ) {
    const n = (this.n = rows.n);
    this.width = new Float64Array(n);
    for (let j = 0; j < n; j++) this.width[j] = hi[j] - lo[j] || 1;
    // modified Gram–Schmidt over the unknowns fixed by a zero-width box (unit rows), then the
    // equality rows: directions in their null space keep both
    const Q: number[] = [];
    let q = 0;
    const fixed: number[][] = [];
    for (let j = 0; j < n; j++) if (!(hi[j] > lo[j])) fixed.push(Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)));
    const eqRows: number[][] = [];
    for (let k = 0; k < rows.k; k++) if (rows.eq[k]) eqRows.push(Array.from(rows.A.subarray(k * n, k * n + n)));
    for (const v of [...fixed, ...eqRows]) {
      for (let r = 0; r < q; r++) {
        let d = 0;
        for (let j = 0; j < n; j++) d += v[j] * Q[r * n + j];
        for (let j = 0; j < n; j++) v[j] -= d * Q[r * n + j];
      }
      const nv = Math.hypot(...v);
      if (!(nv > 1e-12)) continue;
      for (let j = 0; j < n; j++) Q.push(v[j] / nv);
      q++;
    }
    this.Q = Float64Array.from(Q);
    this.q = q;
  }

  /** Number of independent equalities, zero-width unknowns included (the polytope's dimension is at most n − this). */
  get equalities(): number {
    return this.q;
  }

  /** Is u (n values from off) inside the box and every row within its tolerance? */
  contains(u: ArrayLike<number>, off = 0): boolean {
    const { n, rows, lo, hi } = this;
    for (let j = 0; j < n; j++) if (!(u[off + j] >= lo[j] && u[off + j] <= hi[j])) return false;
    for (let k = 0; k < rows.k; k++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += rows.A[k * n + j] * u[off + j];
      if (!(v >= rows.lo[k] - rows.tol[k] && v <= rows.hi[k] + rows.tol[k])) return false;
    }
    return true;
  }

  /**
   * The point of P nearest s (n values from sOff; distance in box-width units) into out (from
   * oOff). False when P is empty (phase 1 cannot reach t = 0): out is then left at the phase-1 point.
   */
  project(s: ArrayLike<number>, sOff: number, out: Float64Array, oOff: number): boolean {
    const { n, rows, lo, hi, width } = this;
    const K = rows.k,
      A = rows.A;
    const x0 = new Float64Array(n);
    for (let j = 0; j < n; j++) x0[j] = Math.min(hi[j], Math.max(lo[j], s[sOff + j]));
    // phase 1: variables (p, t − 1); rows a·p + δ·(t − 1) within [clo − a·x0 − δ, chi − a·x0 − δ]
    const N = n + 1;
    this.qp1 ??= new LinQP(N, K);
    const H1 = new Float64Array(N * N),
      g1 = new Float64Array(N),
      l1 = new Float64Array(N),
      u1 = new Float64Array(N),
      A1 = new Float64Array(K * N),
      cl1 = new Float64Array(K),
      cu1 = new Float64Array(K),
      p1 = new Float64Array(N);
    const EPS = 1e-6;
    for (let j = 0; j < n; j++) {
      H1[j * N + j] = EPS / (width[j] * width[j]);
      l1[j] = lo[j] - x0[j];
      u1[j] = hi[j] - x0[j];
    }
    H1[n * N + n] = EPS;
    g1[n] = 1;
    l1[n] = -1;
    u1[n] = 0;
    let anyMiss = false;
    for (let k = 0; k < K; k++) {
      let v = 0;
      for (let j = 0; j < n; j++) v += A[k * n + j] * x0[j];
      const target = Math.min(rows.hi[k], Math.max(rows.lo[k], v));
      const delta = target - v;
      if (!(v >= rows.lo[k] - rows.tol[k] && v <= rows.hi[k] + rows.tol[k])) anyMiss = true;
      for (let j = 0; j < n; j++) A1[k * N + j] = A[k * n + j];
      A1[k * N + n] = delta;
      if (rows.eq[k]) cl1[k] = cu1[k] = 0;
      else {
        cl1[k] = Math.min(0, rows.lo[k] - target);
        cu1[k] = Math.max(0, rows.hi[k] - target);
      }
    }
    const x1 = new Float64Array(n);
    if (anyMiss) {
      if (!this.qp1.solve(H1, g1, l1, u1, A1, cl1, cu1, p1)) return false;
      for (let j = 0; j < n; j++) x1[j] = Math.min(hi[j], Math.max(lo[j], x0[j] + p1[j]));
      if (!(1 + p1[n] <= 1e-12)) {
        out.set(x1, oOff);
        return false;
      }
    } else x1.set(x0);
    // phase 2: min ½‖(x1 + p − s)/w‖² over P, from the feasible p = 0
    this.qp2 ??= new LinQP(n, K);
    const H2 = new Float64Array(n * n),
      g2 = new Float64Array(n),
      l2 = new Float64Array(n),
      u2 = new Float64Array(n),
      cl2 = new Float64Array(K),
      cu2 = new Float64Array(K),
      p2 = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const w2 = width[j] * width[j];
      H2[j * n + j] = 1 / w2;
      g2[j] = (x1[j] - s[sOff + j]) / w2;
      l2[j] = lo[j] - x1[j];
      u2[j] = hi[j] - x1[j];
    }
    this.rowSlack(x1, cl2, cu2);
    if (this.qp2.solve(H2, g2, l2, u2, A, cl2, cu2, p2)) {
      for (let j = 0; j < n; j++) out[oOff + j] = Math.min(hi[j], Math.max(lo[j], x1[j] + p2[j]));
      if (this.contains(out, oOff)) return true;
    }
    out.set(x1, oOff);
    return true;
  }

  /**
   * The rows' room around the feasible point x for a step p: cl ≤ a·p ≤ cu with cl ≤ 0 ≤ cu
   * (an equality keeps a·p = 0: steps stay on its plane).
   */
  rowSlack(x: ArrayLike<number>, cl: Float64Array, cu: Float64Array, off = 0): void {
    const { n, rows } = this;
    for (let k = 0; k < rows.k; k++) {
      if (rows.eq[k]) {
        cl[k] = cu[k] = 0;
        continue;
      }
      let v = 0;
      for (let j = 0; j < n; j++) v += rows.A[k * n + j] * x[off + j];
      cl[k] = Math.min(0, rows.lo[k] - v);
      cu[k] = Math.max(0, rows.hi[k] - v);
    }
  }

  /**
   * A hit-and-run chain inside P from a point of P (the projection of the box centre), seeded by
   * `rand` (uniform [0, 1)): each call writes the next point (after `thin` chain steps) into out.
   * Null when P is empty.
   */
  sampler(rand: () => number, thin = 0): ((out: Float64Array, off: number) => void) | null {
    const { n, rows, lo, hi, width, Q, q } = this;
    const x = new Float64Array(n);
    const c = new Float64Array(n);
    for (let j = 0; j < n; j++) c[j] = 0.5 * (lo[j] + hi[j]);
    if (!this.project(c, 0, x, 0)) return null;
    const d = new Float64Array(n);
    const gauss = (): number => {
      // Box–Muller
      const a = rand() || 1e-300,
        b = rand();
      return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
    };
    const step = (): void => {
      for (let j = 0; j < n; j++) d[j] = gauss() * width[j];
      for (let r = 0; r < q; r++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += d[j] * Q[r * n + j];
        for (let j = 0; j < n; j++) d[j] -= s * Q[r * n + j];
      }
      let tmin = -Infinity,
        tmax = Infinity;
      for (let j = 0; j < n; j++) {
        if (d[j] === 0) continue;
        const a = (lo[j] - x[j]) / d[j],
          b = (hi[j] - x[j]) / d[j];
        tmin = Math.max(tmin, Math.min(a, b));
        tmax = Math.min(tmax, Math.max(a, b));
      }
      for (let k = 0; k < rows.k; k++) {
        if (rows.eq[k]) continue;
        let ad = 0,
          av = 0;
        for (let j = 0; j < n; j++) {
          ad += rows.A[k * n + j] * d[j];
          av += rows.A[k * n + j] * x[j];
        }
        if (ad === 0) continue;
        const a = (rows.lo[k] - av) / ad,
          b = (rows.hi[k] - av) / ad;
        tmin = Math.max(tmin, Math.min(a, b));
        tmax = Math.min(tmax, Math.max(a, b));
      }
      if (!(tmin < tmax) || !Number.isFinite(tmin) || !Number.isFinite(tmax)) return;
      // keep clear of the chord's ends by a hair: rounding must not carry the point out of P
      const t = tmin + (0.001 + 0.998 * rand()) * (tmax - tmin);
      for (let j = 0; j < n; j++) x[j] = Math.min(hi[j], Math.max(lo[j], x[j] + t * d[j]));
    };
    for (let i = 0; i < 20 + 5 * n; i++) step(); // burn-in away from the projected centre
    const every = Math.max(1, thin || n);
    return (out, off) => {
      for (let i = 0; i < every; i++) step();
      out.set(x, off);
    };
  }
}

/**
 * The constrained step: min ½dᵀHd + gᵀd over steps d that keep x + d in [lo, hi] and in the
 * polytope's rows (LinQP), from a feasible x. One home for the LM descent's step
 * (iterate/descents.ts) and the stationarity measure (iterate/loop.ts); buffers are reused.
 */
export class PolytopeStep {
  private readonly qp: LinQP;
  private readonly l: Float64Array;
  private readonly u: Float64Array;
  private readonly cl: Float64Array;
  private readonly cu: Float64Array;
  constructor(readonly poly: Polytope) {
    this.qp = new LinQP(poly.n, poly.rows.k);
    this.l = new Float64Array(poly.n);
    this.u = new Float64Array(poly.n);
    this.cl = new Float64Array(poly.rows.k);
    this.cu = new Float64Array(poly.rows.k);
  }

  solve(H: Float64Array, g: Float64Array, x: Float64Array, off: number, lo: ArrayLike<number>, hi: ArrayLike<number>, d: Float64Array): boolean {
    const { poly, l, u } = this;
    for (let j = 0; j < poly.n; j++) {
      l[j] = lo[j] - x[off + j];
      u[j] = hi[j] - x[off + j];
    }
    poly.rowSlack(x, this.cl, this.cu, off);
    return this.qp.solve(H, g, l, u, poly.rows.A, this.cl, this.cu, d);
  }
}
