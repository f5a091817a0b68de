/**
 * Layer normalization over all features of a point (Ba, Kiros & Hinton 2016, "Layer
 * Normalization"; ONNX LayerNormalization without its scale and bias, which importers emit as
 * separate element-wise nodes):
 *
 *   μ = (1/n) Σ x_j,  d_i = x_i − μ,  v = (1/n) Σ d_j²,  s = √(v + ε),  z_i = d_i / s.
 *
 * Derivatives: J = (I − 11ᵀ/n − z zᵀ/n) / s (symmetric), so
 *   jvp: tz_i = (t_i − mean(t) − z_i·mean(z ⊙ t)) / s, and the vjp has the same form.
 *
 * Bounds: with R_i = Σ_{j≠i} d_j² ≥ 0, z_i = d_i·√n / √(d_i² + R_i + nε). For fixed R_i this is
 * increasing in d_i (its derivative is √n·(R_i + nε)/(…)^{3/2} > 0) and |z_i| decreases as R_i
 * grows; so over intervals d_i ∈ [dl, dh], R_i ∈ [Rl, Rh] (d_i and R_i treated as
 * independent, a relaxation), z_i ≥ f(dl, dl ≥ 0 ? Rh : Rl) and z_i ≤ f(dh, dh ≥ 0 ? Rl : Rh).
 * Besides, |z_i| ≤ √(n − 1) always (Σ z_j² = n·v/(v + ε) ≤ n and Σ z_j = 0). The d intervals
 * are exact for the linear map x ↦ x − μ: dl_i = (1 − 1/n)·l_i − (1/n)·Σ_{j≠i} h_j.
 * Interval Jacobian: each entry of J from the bounds of z_i z_j and of 1/s, s² ∈ [v_l + ε, v_h + ε].
 * Every computed bound is widened outward by a relative margin covering its rounding errors.
 */
import { downBy, gamma, intervalMul, nextDown, nextUp, upBy } from '../round.ts';
import { Scratch, type JvpBoundsArgs, type OpImpl, type VjpArgs } from './types.ts';

export class LayerNormOp implements OpImpl {
  readonly type = 'layer_norm';
  readonly params: Float64Array[] = [];
  private readonly inv = new Scratch();
  private readonly dl = new Scratch();
  private readonly dh = new Scratch();
  private readonly ql = new Scratch();
  private readonly qh = new Scratch();
  private readonly pair = new Float64Array(2);

  constructor(
    readonly width: number,
    readonly epsilon: number,
  ) {}

  private readonly ms = new Float64Array(2);
  /** Mean μ and s = √(σ² + ε) of the row of x at offset o, into this.ms (the one place they are computed). */
  private meanStd(x: Float64Array, o: number): void {
    const n = this.width;
    let m = 0;
    for (let i = 0; i < n; i++) m += x[o + i];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[o + i] - m) * (x[o + i] - m);
    this.ms[0] = m;
    this.ms[1] = Math.sqrt(v / n + this.epsilon);
  }

  forward(ins: Float64Array[], y: Float64Array, rows: number): void {
    const x = ins[0],
      n = this.width;
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      this.meanStd(x, o);
      const m = this.ms[0],
        s = this.ms[1];
      for (let i = 0; i < n; i++) y[o + i] = (x[o + i] - m) / s;
    }
  }

  private readonly Q = new Float64Array(2);
  /** Q = [Σ ql, Σ qh] over the row at offset o (the bounds of Σ d² from centred()), into this.Q. */
  private sumRow(ql: Float64Array, qh: Float64Array, o: number): void {
    const n = this.width;
    let Ql = 0,
      Qh = 0;
    for (let i = 0; i < n; i++) {
      Ql += ql[o + i];
      Qh += qh[o + i];
    }
    this.Q[0] = Ql;
    this.Q[1] = Qh;
  }

  /** 1/s per row (y already holds z). */
  private invStd(x: Float64Array, rows: number): Float64Array {
    const n = this.width,
      inv = this.inv.get(rows);
    for (let r = 0; r < rows; r++) {
      this.meanStd(x, r * n);
      inv[r] = 1 / this.ms[1];
    }
    return inv;
  }

  jvp(ins: Float64Array[], y: Float64Array, tIns: Float64Array[], tOut: Float64Array, rows: number, k: number): void {
    this.applyJ(y, tIns[0], tOut, rows, k, this.invStd(ins[0], rows), false);
  }

  vjp(args: VjpArgs): void {
    const { ins, y, gOut, gIns, accumulate: acc, rows, k } = args;
    const g = gIns[0];
    if (!g) return;
    // J is symmetric: the same form as the jvp
    this.applyJ(y, gOut, g, rows, k, this.invStd(ins[0], rows), !!acc[0]);
  }

  /**
   * out = J·t for each row and each of its k directions, J = (I − 1·1ᵀ/n − z·zᵀ/n)/σ (z = y, the
   * normalised row; inv = 1/σ per row); J is symmetric, so this is Jᵀ·t too. With `acc`, out += J·t.
   */
  private applyJ(y: Float64Array, t: Float64Array, out: Float64Array, rows: number, k: number, inv: Float64Array, acc: boolean): void {
    const n = this.width;
    for (let r = 0; r < rows; r++) {
      const zo = r * n;
      for (let j = 0; j < k; j++) {
        const o = (r * k + j) * n;
        let mt = 0,
          mzt = 0;
        for (let i = 0; i < n; i++) {
          mt += t[o + i];
          mzt += y[zo + i] * t[o + i];
        }
        mt /= n;
        mzt /= n;
        for (let i = 0; i < n; i++) {
          const v = (t[o + i] - mt - y[zo + i] * mzt) * inv[r];
          if (acc) out[o + i] += v;
          else out[o + i] = v;
        }
      }
    }
  }

  /**
   * Bounds of d = x − μ and of d² per feature of each box, outward (into dl/dh, ql/qh);
   * returns nothing, NaN inputs give NaN bounds.
   */
  private centred(l: Float64Array, h: Float64Array, rows: number): void {
    const n = this.width,
      nn = rows * n;
    const dl = this.dl.get(nn),
      dh = this.dh.get(nn),
      ql = this.ql.get(nn),
      qh = this.qh.get(nn);
    const g = gamma(n + 4);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let sl = 0,
        sh = 0,
        sa = 0;
      for (let i = 0; i < n; i++) {
        sl += l[o + i];
        sh += h[o + i];
        sa += Math.abs(l[o + i]) + Math.abs(h[o + i]);
      }
      // every d bound below is a sum of ≤ n + 2 terms of magnitude ≤ the box's: its rounding
      // error is at most γ_{n+4}·Σ|terms| (Higham §3.1), Σ|terms| ≤ 2·sa
      const e = nextUp(2 * g * sa) + Number.MIN_VALUE;
      for (let i = 0; i < n; i++) {
        const a = l[o + i],
          b = h[o + i];
        dl[o + i] = nextDown((1 - 1 / n) * a - (sh - b) / n - e);
        dh[o + i] = nextUp((1 - 1 / n) * b - (sl - a) / n + e);
        const p = dl[o + i],
          q = dh[o + i];
        const lo = p <= 0 && q >= 0 ? 0 : Math.min(p * p, q * q);
        ql[o + i] = Math.max(0, nextDown(lo));
        qh[o + i] = nextUp(Math.max(p * p, q * q));
      }
    }
  }

  bounds(lo: Float64Array[], hi: Float64Array[], yLo: Float64Array, yHi: Float64Array, rows: number): void {
    const n = this.width,
      l = lo[0],
      h = hi[0];
    this.centred(l, h, rows);
    const dl = this.dl.get(0),
      dh = this.dh.get(0),
      ql = this.ql.get(0),
      qh = this.qh.get(0);
    const rn = Math.sqrt(n),
      ne = this.epsilon * n;
    const cap = upBy(Math.sqrt(n - 1), 1);
    const g = gamma(n + 2);
    // f(d, R) = d·√n / √(d² + R + nε), widened by a relative margin for its few roundings
    const f = (d: number, R: number, upper: boolean): number => {
      const v = (d * rn) / Math.sqrt(d * d + R + ne);
      return upper ? upBy(v, 4) : downBy(v, 4);
    };
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      this.sumRow(ql, qh, o);
      const Ql = this.Q[0],
        Qh = this.Q[1];
      let bad = false;
      for (let i = 0; i < n; i++) if (l[o + i] !== l[o + i] || h[o + i] !== h[o + i]) bad = true;
      for (let i = 0; i < n; i++) {
        // R_i = Σ_{j≠i} d_j², its sum rounded outward (the terms are ≥ 0)
        const Rl = Math.max(0, nextDown((Ql - ql[o + i]) * (1 - g) - g * ql[o + i])),
          Rh = nextUp((Qh - qh[o + i]) * (1 + g) + g * qh[o + i]);
        const a = dl[o + i],
          b = dh[o + i];
        let zl = f(a, a >= 0 ? Rh : Rl, false),
          zh = f(b, b >= 0 ? Rl : Rh, true);
        if (!(zl >= -cap)) zl = -cap;
        if (!(zh <= cap)) zh = cap;
        yLo[o + i] = bad ? NaN : zl;
        yHi[o + i] = bad ? NaN : zh;
      }
    }
  }

  /** Its interval bounds gain from tight input bounds (CROWN refines them). */
  get tightInputs(): boolean {
    return true;
  }

  jvpBounds(args: JvpBoundsArgs): void {
    const { lo, hi, yLo, yHi, tLo, tHi, tOutLo, tOutHi, rows, k } = args;
    const n = this.width,
      p = this.pair;
    this.centred(lo[0], hi[0], rows);
    const ql = this.ql.get(0),
      qh = this.qh.get(0);
    const g = gamma(n + 2);
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      this.sumRow(ql, qh, o);
      const Ql = this.Q[0],
        Qh = this.Q[1];
      // s² = Q/n + ε ∈ [sl², sh²]; 1/s ∈ [1/sh, 1/sl]
      const s2l = nextDown(Math.max(0, Ql * (1 - g)) / n + this.epsilon * (1 - g)),
        s2h = nextUp((Qh * (1 + g)) / n + this.epsilon * (1 + g));
      const il = downBy(1 / Math.sqrt(s2h), 2),
        ih = upBy(1 / Math.sqrt(s2l), 2);
      for (let kk = 0; kk < k; kk++) {
        const to = (r * k + kk) * n;
        for (let i = 0; i < n; i++) {
          let sl = 0,
            sh = 0;
          const zil = yLo[o + i],
            zih = yHi[o + i];
          for (let j = 0; j < n; j++) {
            // z_i z_j
            let zzl: number, zzh: number;
            if (i === j) {
              const a2 = zil * zil,
                b2 = zih * zih;
              zzl = zil <= 0 && zih >= 0 ? 0 : nextDown(Math.min(a2, b2));
              zzh = nextUp(Math.max(a2, b2));
            } else {
              intervalMul(zil, zih, yLo[o + j], yHi[o + j], p);
              zzl = p[0];
              zzh = p[1];
            }
            // J_ij·s = δ_ij − 1/n − z_i z_j / n
            const c = (i === j ? 1 : 0) - 1 / n;
            const al = nextDown(nextDown(c) - nextUp(zzh / n)),
              ah = nextUp(nextUp(c) - nextDown(zzl / n));
            intervalMul(al, ah, il, ih, p);
            const jl = p[0],
              jh = p[1];
            intervalMul(jl, jh, tLo[0][to + j], tHi[0][to + j], p);
            sl = nextDown(sl + p[0]);
            sh = nextUp(sh + p[1]);
          }
          tOutLo[to + i] = sl;
          tOutHi[to + i] = sh;
        }
      }
    }
  }
}
