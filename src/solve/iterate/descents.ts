/**
 * Descents for the iterate loop: which step to take from a start's current point.
 *
 *  - BoxQPDescent: the damped Gauss–Newton step solved exactly over the box,
 *        min_p ½‖J p + r‖² + ½λ‖D p‖²   subject to  lo − x ≤ p ≤ hi − x
 *    by the active-set BoxQP (Nocedal & Wright §16.5), so steps slide along active bounds.
 *  - DualProjectedDescent: for many unknowns, where the n×n QP costs O(n³): the same damped step
 *    in its m×m dual form (numeric/gaussNewton.ts) on the variables not held at a bound, then
 *    projected onto the box.
 *    Both scale by Moré's D (Moré 1978, "The Levenberg–Marquardt algorithm: implementation and
 *    theory"): Dⱼ = max over accepted iterates of ‖J₍:,j₎‖, so unknowns of very different
 *    magnitude behave alike.
 *  - AdamDescent: projected Adam (Kingma & Ba 2015; numeric/adam.ts) in box units
 *    z = (x − lo)/(hi − lo), moments per start.
 */
import { AdamMoments, type AdamParams } from '../../numeric/adam.ts';
import { DualGaussNewton } from '../../numeric/gaussNewton.ts';
import { BoxQP } from '../boxqp.ts';
import { PolytopeStep, type Polytope } from '../polytope.ts';
import type { Descent, IterState } from './types.ts';

/** g = Jᵀr for row r. */
export function gradient(J: Float64Array, R: Float64Array, r: number, m: number, n: number, g: Float64Array): void {
  g.fill(0);
  for (let i = 0; i < m; i++) {
    const o = (r * m + i) * n,
      ri = R[r * m + i];
    for (let a = 0; a < n; a++) g[a] += J[o + a] * ri;
  }
}

/** Moré's diagonal scaling, shared by the two Gauss–Newton descents. */
abstract class MoreScaled implements Descent {
  protected D = new Float64Array(0);

  init(s: IterState): void {
    const { rows, n, m, J, width } = s;
    this.D = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        let q = 0;
        for (let i = 0; i < m; i++) q += J[(r * m + i) * n + j] ** 2;
        this.D[r * n + j] = Math.sqrt(q) || 1 / width[j];
      }
    }
  }

  accepted(s: IterState, r: number): void {
    const { n, m, J } = s,
      D = this.D;
    for (let j = 0; j < n; j++) {
      let q = 0;
      for (let i = 0; i < m; i++) q += J[(r * m + i) * n + j] ** 2;
      D[r * n + j] = Math.max(D[r * n + j], Math.sqrt(q));
    }
  }

  abstract linearise(s: IterState, r: number, g: Float64Array): void;
  abstract step(s: IterState, r: number, g: Float64Array, damping: number, step: Float64Array): boolean;
}

export class BoxQPDescent extends MoreScaled {
  private readonly qp: BoxQP;
  private readonly H: Float64Array;
  private readonly l: Float64Array;
  private readonly u: Float64Array;
  constructor(readonly n: number) {
    super();
    this.qp = new BoxQP(n);
    this.H = new Float64Array(n * n);
    this.l = new Float64Array(n);
    this.u = new Float64Array(n);
  }

  /** H = JᵀJ, g = Jᵀr for row r. */
  linearise(s: IterState, r: number, g: Float64Array): void {
    const { m, n, J, R } = s,
      H = this.H;
    H.fill(0);
    g.fill(0);
    for (let i = 0; i < m; i++) {
      const o = (r * m + i) * n,
        ri = R[r * m + i];
      for (let a = 0; a < n; a++) {
        const ja = J[o + a];
        if (ja === 0) continue;
        g[a] += ja * ri;
        for (let b = 0; b < n; b++) H[a * n + b] += ja * J[o + b];
      }
    }
  }

  step(s: IterState, r: number, g: Float64Array, lambda: number, step: Float64Array): boolean {
    const { n, x } = s,
      { lo, hi } = s.f,
      H = this.H,
      D = this.D;
    for (let j = 0; j < n; j++) {
      const d = D[r * n + j];
      H[j * n + j] += lambda * d * d;
      this.l[j] = lo[j] - x[r * n + j];
      this.u[j] = hi[j] - x[r * n + j];
    }
    return this.qp.solve(H, g, this.l, this.u, step);
  }

  /** JᵀJ from the last linearise() (step() adds the damping to it in place: call before step). */
  hessian(): Float64Array {
    return this.H;
  }
}

/**
 * The same damped Gauss–Newton step as BoxQPDescent, solved exactly over the box AND the linear
 * constraints among the unknowns (LinQP: primal active-set, Nocedal & Wright Alg. 16.3), from a
 * feasible point: the step keeps every constraint (an equality's plane is never left), so every
 * iterate is feasible. Used at any size when the problem has constraints.
 */
export class LinQPDescent extends MoreScaled {
  private readonly qp: PolytopeStep;
  private readonly H: Float64Array;
  private readonly box: BoxQPDescent;
  constructor(
    readonly n: number,
    readonly poly: Polytope,
  ) {
    super();
    this.qp = new PolytopeStep(poly);
    this.box = new BoxQPDescent(n);
    this.H = new Float64Array(n * n);
  }

  linearise(s: IterState, r: number, g: Float64Array): void {
    this.box.linearise(s, r, g);
  }

  step(s: IterState, r: number, g: Float64Array, lambda: number, step: Float64Array): boolean {
    const { n, x } = s,
      { lo, hi } = s.f,
      H = this.H,
      D = this.D;
    H.set(this.box.hessian());
    for (let j = 0; j < n; j++) {
      const d = D[r * n + j];
      H[j * n + j] += lambda * d * d;
    }
    return this.qp.solve(H, g, x, r * n, lo, hi, step);
  }
}

export class DualProjectedDescent extends MoreScaled {
  private readonly gn = new DualGaussNewton();
  private readonly free: Uint8Array;
  private readonly dir: Float64Array;
  constructor(readonly n: number) {
    super();
    this.free = new Uint8Array(n);
    this.dir = new Float64Array(n);
  }

  linearise(s: IterState, r: number, g: Float64Array): void {
    gradient(s.J, s.R, r, s.m, s.n, g);
  }

  /**
   * p_F = −D_F⁻²·J_Fᵀ·(J_F·D_F⁻²·J_Fᵀ + λI)⁻¹·r with the variables held at a bound (gradient
   * pointing out of the box) fixed, then the step projected onto the box.
   */
  step(s: IterState, r: number, g: Float64Array, lambda: number, step: Float64Array): boolean {
    const { n, m, x, J, R } = s,
      { lo, hi } = s.f,
      free = this.free,
      dir = this.dir;
    for (let j = 0; j < n; j++) {
      const v = x[r * n + j];
      free[j] = (v <= lo[j] && g[j] > 0) || (v >= hi[j] && g[j] < 0) ? 0 : 1;
    }
    const ok = this.gn.solve({ J, base: r * m * n, rows: null, k: m, n, b: R, bOff: r * m, free, D: this.D, dOff: r * n, lambda, relative: 0 }, dir);
    if (!ok) return false;
    for (let j = 0; j < n; j++) {
      if (!free[j]) {
        step[j] = 0;
        continue;
      }
      const v = x[r * n + j];
      step[j] = Math.min(hi[j], Math.max(lo[j], v - dir[j])) - v;
    }
    return true;
  }
}

export class AdamDescent implements Descent {
  private moments: AdamMoments | null = null;
  private readonly gz: Float64Array;
  private readonly dz: Float64Array;
  constructor(
    readonly n: number,
    readonly params: AdamParams,
  ) {
    this.gz = new Float64Array(n);
    this.dz = new Float64Array(n);
  }

  init(s: IterState): void {
    this.moments = new AdamMoments(s.rows * s.n, this.params);
  }

  linearise(s: IterState, r: number, g: Float64Array): void {
    gradient(s.J, s.R, r, s.m, s.n, g);
  }

  /** In box units: gz = g·w, step z ← z − Adam(gz), i.e. x ← x − Adam(gz)·w. */
  step(s: IterState, r: number, g: Float64Array, _damping: number, step: Float64Array): boolean {
    const { n, width } = s;
    for (let j = 0; j < n; j++) this.gz[j] = g[j] * width[j];
    this.moments!.step(r * n, n, this.gz, 0, s.iterations[r] + 1, this.dz, 0);
    for (let j = 0; j < n; j++) step[j] = -(this.dz[j] * width[j]);
    return true;
  }

  accepted(): void {}
}
