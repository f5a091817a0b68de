/**
 * Lower bounds of a VNNLIB property's clause forms over input boxes: the only place the VNN
 * decision procedure calls a bound engine.
 *
 * Every output constraint `a·y + c REL 0` of the unsafe DNF becomes one or two forms g(y) = a·y + c
 * (≤), −a·y − c (≥), both (=), each meaning "unsafe needs g ≤ 0". A clause is impossible on a box
 * when one of its forms has a lower bound > 0; the property holds on the box when every clause is
 * impossible. Lower bounds come from
 *   - bounds/reluChain.ts (forward symbolic intermediates + CROWN back-substitution of each form)
 *     for chains of dense / ReLU / element-wise affine layers: fast, and it gives the forms'
 *     input coefficients (the split heuristic);
 *   - otherwise crownLinearBounds (bounds/crown.ts): CROWN back-substitution of the forms
 *     themselves through any graph, not output by output.
 * The VNNLIB parser keeps the nearest doubles of the exact rational coefficients with error bounds;
 * the forms' lower bounds subtract Σ_j coeffErr_j·max|y_j| + constantErr (y's sound bounds).
 */
import { crownLinearBounds } from '../bounds/crown.ts';
import { ChainBounder, reluChainOf, type AlphaOptions, type ReluChain } from '../bounds/reluChain.ts';
import { gamma, nextDown } from '../../graph/round.ts';
import type { Model } from '../../model.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import { VNN_ALPHA_SCALE } from '../proof/vnnCertificate.ts';

export interface SpecForms {
  /** Number of forms. */
  m: number;
  nOut: number;
  /** m × nOut coefficients and m constants: form q is C[q]·y + c[q] (unsafe needs ≤ 0). */
  C: Float64Array;
  c: Float64Array;
  /** Bounds on the rounding of C and c to doubles. */
  Cerr: Float64Array;
  cErr: Float64Array;
  /** Form indices of each clause of the unsafe DNF. */
  clauses: number[][];
  /** Where form q comes from: spec.outputDnf[clause][k], times sign (the certificate's hint fields ci, k, s). */
  origin: { clause: number; k: number; sign: 1 | -1 }[];
}

export function specForms(spec: VnnlibSpec): SpecForms {
  const nOut = spec.numOutputs;
  const rowsC: number[][] = [],
    rowsE: number[][] = [],
    cs: number[] = [],
    es: number[] = [];
  const clauses: number[][] = [];
  const origin: SpecForms['origin'] = [];
  for (const [ci, clause] of spec.outputDnf.entries()) {
    const ids: number[] = [];
    for (const [ki, k] of clause.entries()) {
      const signs: (1 | -1)[] = k.relation === '<=' ? [1] : k.relation === '>=' ? [-1] : [1, -1];
      for (const s of signs) {
        ids.push(cs.length);
        origin.push({ clause: ci, k: ki, sign: s });
        rowsC.push(Array.from(k.coeffs, (v) => s * v));
        rowsE.push(Array.from(k.coeffErr));
        cs.push(s * k.constant);
        es.push(k.constantErr);
      }
    }
    clauses.push(ids);
  }
  const m = cs.length;
  return {
    m,
    nOut,
    C: Float64Array.from(rowsC.flat()),
    c: Float64Array.from(cs),
    Cerr: Float64Array.from(rowsE.flat()),
    cErr: Float64Array.from(es),
    clauses,
    origin,
  };
}

/** Values of the forms at output rows Y (rows × nOut) → G (rows × m), and the allowance of each. */
export function formValues(f: SpecForms, Y: Float64Array, rows: number, G: Float64Array, slack: Float64Array): void {
  const { m, nOut, C, c, Cerr, cErr } = f;
  for (let r = 0; r < rows; r++) {
    for (let q = 0; q < m; q++) {
      let s = c[q],
        mag = Math.abs(c[q]),
        e = cErr[q];
      for (let j = 0; j < nOut; j++) {
        const y = Y[r * nOut + j];
        const t = C[q * nOut + j] * y;
        s += t;
        mag += Math.abs(t);
        e += Cerr[q * nOut + j] * Math.abs(y);
      }
      G[r * m + q] = s;
      slack[r * m + q] = e + gamma(nOut + 2) * mag;
    }
  }
}

export interface FormBounds {
  /** rows × m sound lower bounds of the exact forms. */
  lo: Float64Array;
  /** rows × m × nIn input coefficients of each form's bound (null on the generic path). */
  lam: Float64Array | null;
  /**
   * rows × clauses: the clause's lower bound, max(its forms' own, the best pair's: pairBound);
   * > 0 refutes the clause on the box.
   */
  clauseLo: Float64Array;
  /** rows × clauses × 4: the best pair (form a, form b, μ, ν) when it beats every single form, else a = −1. */
  pair: Float64Array;
  /**
   * Per row: the slope hints of the clauses only alpha-CROWN slopes refute there, each group
   * [ci, k, s, then one integer a per ReLU neuron, slope a / VNN_ALPHA_SCALE] (a slope-hinted
   * leaf's groups, vnnCertificate.ts), or null (none; always null with the alpha option off).
   */
  alphaHints: (number[] | null)[];
}

/**
 * alpha-CROWN on chain nets (VnnBounder's last argument): the forms of every clause that no single
 * form refutes get their final back-substitution's ReLU slopes optimised (ChainBounder.optimiseAlpha),
 * best form first, until one refutes the clause. On ACAS Xu { steps: 4, warm: true, floor: −0.02 }
 * closed the searches of 1_1/5 (5 s), 4_2/2 (39 s) and 3_3/2 (50 s) that CROWN's slopes leave open.
 */
export interface VnnAlphaOptions extends AlphaOptions {
  /**
   * Only forms whose bound is at least this (one far from refuting its clause is left alone; on
   * ACAS Xu −0.02 cut the forms optimised 3× and closed more boxes per second). Default −Infinity.
   */
  floor?: number;
  /**
   * Start each form's slopes from those optimised on the parent box (kept after the intermediate
   * bounds in the saved states). Default false.
   */
  warm?: boolean;
}

/** What the alpha option did (counters over every bound call). */
export interface VnnAlphaStats {
  /** Forms optimised, forms whose bound rose, clauses refuted only thanks to it. */
  forms: number;
  improved: number;
  clauses: number;
  ms: number;
}

/** Bounds the forms over batches of boxes; keeps its scratch between calls. */
export class VnnBounder {
  readonly forms: SpecForms;
  readonly chain: ReluChain | null;
  private readonly model: Model;
  private bounder: ChainBounder | null = null;
  readonly alphaStats: VnnAlphaStats = { forms: 0, improved: 0, clauses: 0, ms: 0 };

  constructor(
    model: Model,
    spec: VnnlibSpec,
    /** Chain nets: refine crossing pre-activations by back-substitution (tighter, ~5× the cost). */
    readonly refine = true,
    /**
     * Chain nets: alpha-CROWN slopes for the forms of clauses left open (null, the default: off).
     * Its bounds are sound, but the certificate verifier does not re-derive them yet: a leaf
     * closed only by them is rejected there.
     */
    readonly alpha: VnnAlphaOptions | null = null,
  ) {
    this.model = model;
    this.forms = specForms(spec);
    this.chain = reluChainOf(model.network);
  }

  /** ReLU neurons of the chain (the length of a slope hint's slopes), 0 without a chain. */
  get reluNeurons(): number {
    return this.chain ? this.chain.layers.reduce((t, ly) => t + (ly.kind === 'relu' ? ly.n : 0), 0) : 0;
  }

  /**
   * Bound `rows` boxes (L, H: rows × nIn). Chain nets: `parents[r]` (a state saved for a box
   * containing row r's) tightens row r's intermediate bounds; `states[r]` receives row r's.
   * `cheap` (chain nets): no refinement and no alpha (the branching look-ahead's scores).
   */
  bound(L: Float64Array, H: Float64Array, rows: number, parents?: readonly (Float64Array | null)[], states?: (Float64Array | null)[], cheap = false): FormBounds {
    const f = this.forms;
    const m = f.m;
    if (this.chain) {
      if (!this.bounder || this.bounder.maxRows < rows) this.bounder = new ChainBounder(this.chain, f.C, f.c, Math.max(rows, 64), this.refine);
      const b = this.bounder;
      const st = this.alpha && !cheap ? (states ?? new Array<Float64Array | null>(rows).fill(null)) : states;
      b.bound(L, H, rows, parents, st, cheap);
      const lo = b.lo.slice(0, rows * m);
      const lc = b.lc.slice(0, rows * m);
      const alphaHints: (number[] | null)[] = new Array(rows).fill(null);
      if (this.alpha && !cheap && st) this.alphaImprove(b, this.alpha, L, H, rows, st, lo, parents, alphaHints);
      for (let r = 0; r < rows; r++) {
        adjust(f, lo, r, b.yLo, b.yHi);
        adjust(f, lc, r, b.yLo, b.yHi);
      }
      const lam = b.lam.subarray(0, rows * m * this.chain.nIn);
      return { lo, lam, ...this.clauseBounds(L, H, rows, lo, lam, lc), alphaHints };
    }
    const net = this.model.network;
    const { lo } = crownLinearBounds(net, L, H, rows, f.C, m);
    for (let r = 0; r < rows; r++) for (let q = 0; q < m; q++) lo[r * m + q] = nextDown(lo[r * m + q] + f.c[q]);
    if (f.Cerr.some((e) => e !== 0)) {
      const ib = net.bounds(L, H, rows);
      for (let r = 0; r < rows; r++) adjust(f, lo, r, ib.lo, ib.hi);
    } else for (let r = 0; r < rows; r++) adjust(f, lo, r, EMPTY, EMPTY);
    return { lo, lam: null, ...this.clauseBounds(L, H, rows, lo, null, null), alphaHints: new Array(rows).fill(null) };
  }

  /**
   * alpha-CROWN for rows × forms of the last bound() (lo, lc: its copies, before the coefficient
   * allowance; b.lam in place): in each clause no single form refutes, its forms, best bound first,
   * until one refutes it. A form takes the optimised bound where it is higher, and its linear
   * bound (for pairBound) where it beats CROWN's.
   */
  private alphaImprove(
    b: ChainBounder,
    o: VnnAlphaOptions,
    L: Float64Array,
    H: Float64Array,
    rows: number,
    st: (Float64Array | null)[],
    lo: Float64Array,
    parents: readonly (Float64Array | null)[] | undefined,
    hints: (number[] | null)[],
  ): void {
    const t0 = performance.now();
    const f = this.forms,
      m = f.m;
    const floor = o.floor ?? -Infinity;
    const as = this.alphaStats;
    // warm starts: a state is [intermediate bounds (stateSize), then m × nRelu slopes, NaN where none]
    const S = b.stateSize,
      nr = b.nRelu;
    const grid = new Float64Array(nr);
    for (let r = 0; r < rows; r++) {
      const par = o.warm ? (parents?.[r] ?? null) : null;
      let ext: Float64Array | null = null;
      for (const clause of f.clauses) {
        const order = clause.slice().sort((x, y) => lo[r * m + y] - lo[r * m + x]);
        if (lo[r * m + order[0]] > 0) continue;
        for (const q of order) {
          const at = r * m + q;
          if (!(lo[at] >= floor)) break;
          const init = par && par.length > S && !Number.isNaN(par[S + q * nr]) ? par.subarray(S + q * nr, S + (q + 1) * nr) : null;
          const res = b.optimiseAlpha(L, H, r, q, st[r], o, 0, init);
          as.forms++;
          if (o.warm) {
            if (!ext) {
              ext = new Float64Array(S + m * nr).fill(NaN);
              ext.set((st[r] as Float64Array).subarray(0, S));
            }
            ext.set(res.alpha, S + q * nr);
          }
          if (res.lo > res.start) as.improved++;
          // a refutation counts only with the slopes on the certificate's grid (a / VNN_ALPHA_SCALE,
          // exact in binary), bounded again with them: the slopes the verifier will use
          let v = res.lo;
          if (v > 0) {
            for (let j = 0; j < nr; j++) grid[j] = Math.round(res.alpha[j] * VNN_ALPHA_SCALE) / VNN_ALPHA_SCALE;
            v = b.alphaBound(L, H, r, q, grid, st[r]);
            if (v > 0) {
              const { clause: ci, k, sign } = f.origin[q];
              (hints[r] ??= []).push(ci, k, sign, ...Array.from(grid, (a) => a * VNN_ALPHA_SCALE));
            }
          }
          // (the slopes' linear bound is not handed to pairBound: a pair hint is checked with CROWN's slopes)
          if (v > lo[at]) lo[at] = v;
          if (lo[at] > 0) {
            as.clauses++;
            break;
          }
        }
      }
      if (ext) st[r] = ext;
    }
    as.ms += performance.now() - t0;
  }

  /**
   * Each clause's lower bound per row: the best of its forms' own, and, for clauses of two or
   * more forms none of which is refuted, the best pair's combined bound (pairBound) from the forms'
   * linear lower bounds (chain nets).
   */
  private clauseBounds(L: Float64Array, H: Float64Array, rows: number, lo: Float64Array, lam: Float64Array | null, lc: Float64Array | null): { clauseLo: Float64Array; pair: Float64Array } {
    const f = this.forms;
    const m = f.m,
      nc = f.clauses.length,
      d = this.model.network.nIn;
    const clauseLo = new Float64Array(rows * nc);
    const pair = new Float64Array(rows * nc * 4);
    const res = { mu: 0, nu: 0, value: 0 };
    for (let r = 0; r < rows; r++) {
      const bl = L.subarray(r * d, (r + 1) * d),
        bh = H.subarray(r * d, (r + 1) * d);
      for (let ci = 0; ci < nc; ci++) {
        const clause = f.clauses[ci];
        let best = -Infinity;
        for (const q of clause) if (lo[r * m + q] > best) best = lo[r * m + q];
        const at = (r * nc + ci) * 4;
        pair[at] = -1;
        if (lam && lc && !(best > 0) && clause.length >= 2) {
          for (let i = 0; i < clause.length; i++)
            for (let j = i + 1; j < clause.length; j++) {
              const qa = clause[i],
                qb = clause[j];
              pairBound(lam, (r * m + qa) * d, lc[r * m + qa], lam, (r * m + qb) * d, lc[r * m + qb], bl, bh, d, res);
              if (res.value > best && res.mu > 0 && res.nu > 0) {
                best = res.value;
                pair[at] = qa;
                pair[at + 1] = qb;
                pair[at + 2] = res.mu;
                pair[at + 3] = res.nu;
              }
            }
        }
        clauseLo[r * nc + ci] = best;
      }
    }
    return { clauseLo, pair };
  }
}

const EMPTY = new Float64Array(0);

/** Subtract the coefficient-rounding allowance Σ Cerr·max|y| + cErr from each form's bound. */
function adjust(f: SpecForms, lo: Float64Array, r: number, yLo: Float64Array, yHi: Float64Array): void {
  const { m, nOut, Cerr, cErr } = f;
  for (let q = 0; q < m; q++) {
    let e = cErr[q];
    for (let j = 0; j < nOut; j++) {
      const ce = Cerr[q * nOut + j];
      if (ce !== 0) e += ce * Math.max(Math.abs(yLo[r * nOut + j]), Math.abs(yHi[r * nOut + j]));
    }
    if (e !== 0) lo[r * m + q] = nextDown(lo[r * m + q] - e * (1 + 2 ** -50));
    if (Number.isNaN(lo[r * m + q])) lo[r * m + q] = -Infinity;
  }
}

/** h(μ) of pairBound, in floating point (for choosing μ; the chosen value is recomputed soundly). */
function pairDual(mu: number, la: Float64Array, ia: number, ca: number, lb: Float64Array, ib: number, cb: number, lo: ArrayLike<number>, hi: ArrayLike<number>, d: number): number {
  const nu = 1 - mu;
  let s = mu * ca + nu * cb;
  for (let j = 0; j < d; j++) {
    const v = mu * la[ia + j] + nu * lb[ib + j];
    s += v > 0 ? v * lo[j] : v * hi[j];
  }
  return s;
}

/**
 * A lower bound over the box [lo, hi] of μ·ℓa(x) + ν·ℓb(x), the best over μ ∈ [0, 1], ν = 1 − μ,
 * where ℓa(x) = A·x + ca and ℓb(x) = B·x + cb are linear lower bounds of two forms that a clause
 * needs ≤ 0 together (A at la[ia …], B at lb[ib …]). Since ga ≤ 0 and gb ≤ 0 imply μ·ga + ν·gb ≤ 0
 * for any μ, ν ≥ 0, a positive value refutes the clause on the box where neither form alone does
 * (near a point where the two forms tie). This is the Lagrangian dual of min over the box of
 * max(ℓa, ℓb), a small LP (Boyd & Vandenberghe, Convex Optimization, §5.2): h(μ) = μ·ca + ν·cb
 * + Σ_j min(v_j·lo_j, v_j·hi_j), v_j = μ·A_j + ν·B_j, is concave and piecewise linear, so its
 * maximum is at μ ∈ {0, 1} or where some v_j changes sign (μ = B_j / (B_j − A_j)).
 * The value at the chosen (μ, ν) is computed with its rounding allowance (Higham §3.1) and rounded
 * down; the certificate verifier re-derives it on its own from (μ, ν).
 */
export function pairBound(
  la: Float64Array,
  ia: number,
  ca: number,
  lb: Float64Array,
  ib: number,
  cb: number,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  d: number,
  out: { mu: number; nu: number; value: number },
): void {
  let bestMu = 0,
    bestH = pairDual(0, la, ia, ca, lb, ib, cb, lo, hi, d);
  const h1 = pairDual(1, la, ia, ca, lb, ib, cb, lo, hi, d);
  if (h1 > bestH) ((bestH = h1), (bestMu = 1));
  for (let j = 0; j < d; j++) {
    const a = la[ia + j],
      b = lb[ib + j];
    if ((a > 0 && b < 0) || (a < 0 && b > 0)) {
      const mu = b / (b - a);
      if (mu > 0 && mu < 1) {
        const v = pairDual(mu, la, ia, ca, lb, ib, cb, lo, hi, d);
        if (v > bestH) ((bestH = v), (bestMu = mu));
      }
    }
  }
  const mu = bestMu,
    nu = 1 - mu;
  // sound value at (mu, nu): v_j is off by ≤ γ₂(|μA_j| + |νB_j|), the sum by γ_{d+4}·Σ|terms|
  let s = mu * ca + nu * cb,
    mag = Math.abs(mu * ca) + Math.abs(nu * cb),
    cerr = 0;
  for (let j = 0; j < d; j++) {
    const a = mu * la[ia + j],
      b = nu * lb[ib + j];
    const v = a + b;
    const x = Math.max(Math.abs(lo[j]), Math.abs(hi[j]));
    const t = v > 0 ? v * lo[j] : v * hi[j];
    s += t;
    mag += Math.abs(t);
    cerr += (Math.abs(a) + Math.abs(b)) * x;
  }
  const value = nextDown(s - (gamma(2) * cerr + gamma(d + 4) * mag) * (1 + 2 ** -50));
  out.mu = mu;
  out.nu = nu;
  out.value = Number.isNaN(value) ? -Infinity : value;
}
