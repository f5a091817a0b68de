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
import { ChainBounder, reluChainOf, type ReluChain } from '../bounds/reluChain.ts';
import { gamma, nextDown } from '../../graph/round.ts';
import type { Model } from '../../model.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';

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
}

export function specForms(spec: VnnlibSpec): SpecForms {
  const nOut = spec.numOutputs;
  const rowsC: number[][] = [],
    rowsE: number[][] = [],
    cs: number[] = [],
    es: number[] = [];
  const clauses: number[][] = [];
  for (const clause of spec.outputDnf) {
    const ids: number[] = [];
    for (const k of clause) {
      const signs = k.relation === '<=' ? [1] : k.relation === '>=' ? [-1] : [1, -1];
      for (const s of signs) {
        ids.push(cs.length);
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
}

/** Bounds the forms over batches of boxes; keeps its scratch between calls. */
export class VnnBounder {
  readonly forms: SpecForms;
  readonly chain: ReluChain | null;
  private readonly model: Model;
  private bounder: ChainBounder | null = null;

  constructor(
    model: Model,
    spec: VnnlibSpec,
    /** Chain nets: refine crossing pre-activations by back-substitution (tighter, ~5× the cost). */
    readonly refine = true,
  ) {
    this.model = model;
    this.forms = specForms(spec);
    this.chain = reluChainOf(model.network);
  }

  /**
   * Bound `rows` boxes (L, H: rows × nIn). Chain nets: `parents[r]` (a state saved for a box
   * containing row r's) tightens row r's intermediate bounds; `states[r]` receives row r's.
   */
  bound(L: Float64Array, H: Float64Array, rows: number, parents?: readonly (Float64Array | null)[], states?: (Float64Array | null)[]): FormBounds {
    const f = this.forms;
    const m = f.m;
    if (this.chain) {
      if (!this.bounder || this.bounder.maxRows < rows) this.bounder = new ChainBounder(this.chain, f.C, f.c, Math.max(rows, 64), this.refine);
      const b = this.bounder;
      b.bound(L, H, rows, parents, states);
      const lo = b.lo.slice(0, rows * m);
      for (let r = 0; r < rows; r++) adjust(f, lo, r, b.yLo, b.yHi);
      return { lo, lam: b.lam.subarray(0, rows * m * this.chain.nIn) };
    }
    const net = this.model.network;
    const { lo } = crownLinearBounds(net, L, H, rows, f.C, m);
    for (let r = 0; r < rows; r++) for (let q = 0; q < m; q++) lo[r * m + q] = nextDown(lo[r * m + q] + f.c[q]);
    if (f.Cerr.some((e) => e !== 0)) {
      const ib = net.bounds(L, H, rows);
      for (let r = 0; r < rows; r++) adjust(f, lo, r, ib.lo, ib.hi);
    } else for (let r = 0; r < rows; r++) adjust(f, lo, r, EMPTY, EMPTY);
    return { lo, lam: null };
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
