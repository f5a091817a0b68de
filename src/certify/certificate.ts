/**
 * Certificates: what a proof claims, in plain versioned JSON that anyone can re-check.
 *
 * 'infeasible': the boxes in `excluded` cover the query box, and over each one the named
 * target's output enclosure misses the target widened by its tolerance — so no input in the
 * box meets the targets. verifyCertificate re-checks every part with the independent verifier
 * (verifier.ts), which shares no code with the search's bound code.
 *
 * 'complete': the boxes in `excluded`, `rootFree` and `roots` cover the query box; roots holds
 * the proven-unique boxes (Krawczyk). The cover and the tolerance exclusions are re-checked
 * independently; root-free boxes by range are re-checked independently; Krawczyk steps are
 * re-run through the engine (`independent: false` is reported for those).
 */
import type { Model } from '../model.ts';
import type { Problem } from '../problem/query.ts';
import { targetTolerance } from '../problem/query.ts';
import { buildProblem } from '../problem/query.ts';
import type { BnbResult } from './bnb.ts';
import { krawczyk, squareSystem } from './krawczyk.ts';
import { verifierBounds } from './verifier.ts';

export const CERTIFICATE_FORMAT = 'netinvert-certificate';

export interface Certificate {
  format: typeof CERTIFICATE_FORMAT;
  version: 1;
  modelHash: string;
  claim: 'infeasible' | 'complete';
  unknowns: string[];
  given: Record<string, number>;
  box: { lo: number[]; hi: number[] };
  targets: { output: string; kind: string; lo: number | null; hi: number | null; tolerance: number }[];
  excluded: { lo: number[]; hi: number[]; target: number; outputLo: number; outputHi: number }[];
  rootFree?: { lo: number[]; hi: number[]; reason: 'range' | 'krawczyk' }[];
  roots?: { lo: number[]; hi: number[]; root: number[] }[];
}

export function buildCertificate(problem: Problem, bnb: BnbResult, claim: 'infeasible' | 'complete'): Certificate {
  return {
    format: CERTIFICATE_FORMAT,
    version: 1,
    modelHash: problem.model.hash,
    claim,
    unknowns: problem.unknownNames.slice(),
    given: { ...problem.given },
    box: { lo: Array.from(problem.lo), hi: Array.from(problem.hi) },
    targets: problem.targets.map((t) => ({
      output: t.name,
      kind: t.kind,
      lo: Number.isFinite(t.lo) ? t.lo : null,
      hi: Number.isFinite(t.hi) ? t.hi : null,
      tolerance: targetTolerance(t, problem.atol, problem.rtol),
    })),
    excluded: bnb.excluded,
    ...(claim === 'complete' ? { rootFree: bnb.rootFree, roots: bnb.roots } : {}),
  };
}

export interface VerifyResult {
  valid: boolean;
  /** True when every check ran through the independent verifier. */
  independent: boolean;
  reason: string;
  checkedBoxes: number;
}

type Box = { lo: number[]; hi: number[] };

/** How deep the verifier may subdivide one excluded box (2^12 = 4096 pieces at most). */
const MAX_DEPTH = 12;

/**
 * Do the boxes cover `box`? Recursive: a region is covered if one box contains it; otherwise
 * cut it at a face of a box that crosses it, and check both halves. Terminates on the
 * bisection trees branch-and-bound produces.
 */
export function covers(box: Box, boxes: Box[], depth = 0): boolean {
  if (depth > 200) return false;
  const n = box.lo.length;
  const relevant = boxes.filter((b) => b.lo.every((l, j) => l < box.hi[j] && b.hi[j] > box.lo[j]));
  if (relevant.some((b) => b.lo.every((l, j) => l <= box.lo[j] && b.hi[j] >= box.hi[j]))) return true;
  if (relevant.length === 0) return false;
  for (const b of relevant) {
    for (let j = 0; j < n; j++) {
      for (const cut of [b.lo[j], b.hi[j]]) {
        if (cut > box.lo[j] && cut < box.hi[j]) {
          const a = { lo: box.lo.slice(), hi: box.hi.slice() },
            c = { lo: box.lo.slice(), hi: box.hi.slice() };
          a.hi[j] = cut;
          c.lo[j] = cut;
          return covers(a, relevant, depth + 1) && covers(c, relevant, depth + 1);
        }
      }
    }
  }
  return false;
}

function fail(reason: string, checkedBoxes: number): VerifyResult {
  return { valid: false, independent: true, reason, checkedBoxes };
}

/** Re-check a certificate against a model. Never throws for a bad certificate: it says why. */
export function verifyCertificate(model: Model, cert: Certificate): VerifyResult {
  if (!cert || cert.format !== CERTIFICATE_FORMAT || cert.version !== 1) return fail('not a netinvert certificate (version 1)', 0);
  if (cert.modelHash !== model.hash) return fail(`certificate is for model ${cert.modelHash}, not ${model.hash}`, 0);
  const net = model.network;
  const unk = cert.unknowns.map((n) => net.inputIndex(n));
  if (unk.some((i) => i < 0)) return fail('certificate names inputs the model does not have', 0);
  const n = unk.length;
  const base = new Float64Array(net.nIn);
  for (const [k, v] of Object.entries(cert.given)) {
    const i = net.inputIndex(k);
    if (i < 0) return fail(`certificate gives unknown input "${k}"`, 0);
    base[i] = v;
  }
  const given = new Set(Object.keys(cert.given));
  for (let i = 0; i < net.nIn; i++) {
    if (!given.has(net.inputNames[i]) && !unk.includes(i)) return fail(`input "${net.inputNames[i]}" is neither given nor an unknown`, 0);
  }
  const outIdx = cert.targets.map((t) => net.outputIndex(t.output));
  if (outIdx.some((i) => i < 0)) return fail('certificate names outputs the model does not have', 0);
  const pieces: Box[] = [...cert.excluded, ...(cert.claim === 'complete' ? [...(cert.rootFree ?? []), ...(cert.roots ?? [])] : [])];
  for (const b of pieces) if (b.lo.length !== n || b.hi.length !== n) return fail('a box has the wrong dimension', 0);
  if (!covers(cert.box, pieces)) return fail('the boxes do not cover the query box', 0);
  let checked = 0;
  const full = (b: Box): { L: Float64Array; H: Float64Array } => {
    const L = base.slice(),
      H = base.slice();
    unk.forEach((idx, j) => {
      L[idx] = b.lo[j];
      H[idx] = b.hi[j];
    });
    return { L, H };
  };
  // Each excluded box is re-checked with the naive verifier; where the search used the sharper
  // mean-value form, the verifier subdivides the box itself (up to 2^MAX_DEPTH pieces).
  const excludes = (b: Box, e: Certificate['excluded'][number], t: Certificate['targets'][number], depth: number): boolean => {
    const { L, H } = full(b);
    const yb = verifierBounds(model.graph, L, H);
    const yl = yb.lo[outIdx[e.target]],
      yh = yb.hi[outIdx[e.target]];
    const tlo = t.lo === null ? -Infinity : t.lo - t.tolerance,
      thi = t.hi === null ? Infinity : t.hi + t.tolerance;
    if (yl > thi || yh < tlo) return true;
    if (depth >= MAX_DEPTH) return false;
    let j = 0;
    for (let d = 1; d < n; d++) if ((b.hi[d] - b.lo[d]) / widths[d] > (b.hi[j] - b.lo[j]) / widths[j]) j = d;
    const mid = 0.5 * (b.lo[j] + b.hi[j]);
    const a = { lo: b.lo.slice(), hi: b.hi.slice() },
      c = { lo: b.lo.slice(), hi: b.hi.slice() };
    a.hi[j] = mid;
    c.lo[j] = mid;
    return excludes(a, e, t, depth + 1) && excludes(c, e, t, depth + 1);
  };
  const widths = cert.box.lo.map((l, j) => cert.box.hi[j] - l || 1);
  for (const e of cert.excluded) {
    const t = cert.targets[e.target];
    if (!t) return fail('an excluded box names a target that does not exist', checked);
    let ok: boolean;
    try {
      ok = excludes(e, e, t, 0);
    } catch (err) {
      return fail(`the independent verifier cannot evaluate this model: ${(err as Error).message}`, checked);
    }
    if (!ok) {
      return fail(`box ${checked} is not excluded: output "${t.output}" may meet its target there (checked down to 1/${2 ** MAX_DEPTH} of the box)`, checked);
    }
    checked++;
  }
  let independent = true;
  if (cert.claim === 'complete') {
    const q = buildProblem(model, {
      given: cert.given,
      want: Object.fromEntries(cert.targets.map((t) => [t.output, t.lo ?? 0])),
      bounds: Object.fromEntries(cert.unknowns.map((u, j) => [u, [cert.box.lo[j], cert.box.hi[j]] as [number, number]])),
    });
    const sys = squareSystem(q);
    if (!sys) return fail('a completeness claim needs a square system of equalities', checked);
    for (const r of cert.rootFree ?? []) {
      if (r.reason === 'range') {
        const { L, H } = full(r);
        const yb = verifierBounds(model.graph, L, H);
        const ok = cert.targets.some((t, i) => yb.lo[outIdx[i]] > (t.lo ?? 0) || yb.hi[outIdx[i]] < (t.lo ?? 0));
        if (!ok) return fail(`root-free box ${checked} may contain a root`, checked);
      } else {
        independent = false;
        if (krawczyk(sys, Float64Array.from(r.lo), Float64Array.from(r.hi)) !== 'none') return fail(`Krawczyk does not exclude box ${checked}`, checked);
      }
      checked++;
    }
    for (const r of cert.roots ?? []) {
      independent = false;
      if (krawczyk(sys, Float64Array.from(r.lo), Float64Array.from(r.hi)) !== 'unique') return fail(`Krawczyk does not prove root box ${checked}`, checked);
      checked++;
    }
  }
  return { valid: true, independent, reason: 'every box re-checked', checkedBoxes: checked };
}
