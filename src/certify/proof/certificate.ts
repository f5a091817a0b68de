/**
 * Certificates: what a proof claims, in plain versioned JSON that anyone can re-check, and the
 * check itself (verifyCertificate).
 *
 * Format "netinvert-certificate", version 3 (version 2 is version 3 without linear forms, and is
 * what a certificate without forms is still written as; both are read). A certificate embeds the
 * QUERY it proves (given inputs, unknowns, their box, targets as the user stated them, atol and
 * rtol) and:
 *   - 'infeasible': `excluded` boxes covering the query box; over each one, target `target`
 *     (an output, or a linear form Σ cₖ·y_{oₖ} of outputs: version 3's `terms`) misses by more
 *     than the tolerance, so no input there meets the targets;
 *   - 'complete' (square systems of equalities): `excluded`, `rootFree` and `roots` boxes cover
 *     the query box; `excluded` and `rootFree` boxes hold no exact root, each `roots` box holds
 *     exactly one (Krawczyk), and its `root` lies in it and is not shown to miss the targets.
 *     Version 4 records linear constraints among the inputs (query.constraints); version 5 (the
 *     same record) claims completeness for the augmented system: the equality targets (linear
 *     forms allowed) plus one row a·x − b per equality constraint, as many as the unknowns. The
 *     verifier builds that system itself (its Krawczyk rows: the targets' interval Jacobian rows
 *     Σ c_k·y'_k(X), then each constraint's exact coefficients; residuals with the given inputs'
 *     part, rounded outward), and a root-free box may rest on 0 ∉ a·X − b.
 * Nothing else: no stored tolerance, no stored output bounds. Tolerances are derived from atol
 * and rtol with the rule of docs/design.md (|y − t| ≤ atol + rtol·|t| for equalities, atol for
 * ranges and inequalities), rounded against the claim.
 *
 * verifyCertificate trusts nothing in the certificate: it validates the embedded query (names,
 * finite numbers, lo ≤ hi, atol, rtol ≥ 0), rejects unknown fields, checks the cover, and
 * re-derives every claim with the independent verifier (verifier.ts): natural interval bounds,
 * then its own mean-value form f(X) ⊆ f(c) + f'(X)(X − c) (Moore 1966; Neumaier, Interval
 * Methods for Systems of Equations, 1990, §2.3), then bisection of the box (down to 2⁻¹²
 * of it), for exclusions and root-free boxes alike; roots by its own Krawczyk operator
 * (Krawczyk 1969; Neumaier 1990, §5.2). Only when its own Krawczyk test cannot confirm a
 * root box does it fall back to the engine's (reported as `independent: false`).
 */
import type { Model } from '../../model.ts';
import { buildProblem, type Problem, type Query, type ToleranceOptions } from '../../problem/query.ts';
import { constraintRecords } from '../../problem/constraints.ts';
import type { BnbResult } from './bnbResult.ts';
import { krawczyk, squareSystem } from './krawczyk.ts';
import { dn, formRange, imulInto, up, verifierNet, type VerifierNet } from './verifier.ts';

export const CERTIFICATE_FORMAT = 'netinvert-certificate';
/** The newest version written and read; CERTIFICATE_VERSIONS are every version read. */
export const CERTIFICATE_VERSION = 3;
/**
 * 4: a query with linear constraints among the inputs (query.constraints; excluded boxes may name
 * a constraint; root boxes must lie wholly inside every inequality constraint; no 'complete' claim
 * with an equality constraint).
 * 5: the same record as 4 (query.constraints optional), written for a 'complete' claim on the
 * augmented square system (issue #11): the equality targets' rows (linear forms allowed) and one
 * row a·x − b per equality constraint among the inputs, #targets + #equality constraints =
 * #unknowns; root boxes are proven by Krawczyk on that system, a root-free box may rest on an
 * equality constraint's exact value (0 ∉ a·X − b). Older versions keep their meaning.
 */
export const CERTIFICATE_VERSIONS: readonly number[] = [2, 3, 4, 5];

export type CertificateTargetKind = 'eq' | 'range' | 'ge' | 'le';

/** The query a certificate proves, as the user stated it (after defaults were filled in). */
export interface CertificateQuery {
  /** Known inputs by feature name. */
  given: Record<string, number>;
  /** Every other input, in the model's input order. */
  unknowns: string[];
  /** The box of the unknowns (same order). */
  box: { lo: number[]; hi: number[] };
  /**
   * eq: lo = hi = the value; range: lo ≤ hi; ge: hi null; le: lo null. `output` names the output;
   * for a linear form (version 3) it is the form's text and `terms` lists its outputs and
   * coefficients, which alone say what is constrained.
   */
  targets: { output: string; terms?: { output: string; coef: number }[]; kind: CertificateTargetKind; lo: number | null; hi: number | null }[];
  /** Tolerances in use (after the float32 floor, when the model has one). */
  atol: number;
  rtol: number;
  /**
   * Version 4: linear constraints among the inputs, lo ≤ Σ coef·x[input] ≤ hi (null: unbounded
   * side), each met within `tolerance`; the claim is about the points of the box that meet them all.
   */
  constraints?: { constraint: string; terms: { input: string; coef: number }[]; kind: CertificateTargetKind; lo: number | null; hi: number | null; tolerance: number }[];
}

export interface Certificate {
  format: typeof CERTIFICATE_FORMAT;
  version: 2 | 3 | 4 | 5;
  modelHash: string;
  claim: 'infeasible' | 'complete';
  query: CertificateQuery;
  /**
   * Boxes where target `target` (index into query.targets) is missed beyond its tolerance, or
   * (version 4, target −1) where constraint `constraint` (index into query.constraints) cannot hold.
   */
  excluded: { lo: number[]; hi: number[]; target: number; constraint?: number }[];
  /** 'complete' only: boxes holding no exact root. */
  rootFree?: { lo: number[]; hi: number[]; reason: 'range' | 'krawczyk' }[];
  /** 'complete' only: boxes holding exactly one root, and that root. */
  roots?: { lo: number[]; hi: number[]; root: number[] }[];
}

export function buildCertificate(problem: Problem, bnb: BnbResult, claim: 'infeasible' | 'complete'): Certificate {
  const box = (b: { lo: ArrayLike<number>; hi: ArrayLike<number> }): { lo: number[]; hi: number[] } => ({ lo: Array.from(b.lo), hi: Array.from(b.hi) });
  const plain = (t: Problem['targets'][number]): boolean => t.terms.length === 1 && t.terms[0].coef === 1;
  const outNames = problem.model.network.outputNames;
  return {
    format: CERTIFICATE_FORMAT,
    // 5: a completeness claim resting on equality constraints' rows or linear-form targets
    version:
      claim === 'complete' && (problem.constraints?.some((c) => c.kind === 'eq') || !problem.targets.every(plain))
        ? 5
        : problem.constraints?.length
          ? 4
          : problem.targets.every(plain)
            ? 2
            : 3,
    modelHash: problem.model.hash,
    claim,
    query: {
      given: { ...problem.given },
      unknowns: problem.unknownNames.slice(),
      box: box(problem),
      targets: problem.targets.map((t) => ({
        output: t.name,
        ...(plain(t) ? {} : { terms: t.terms.map((k) => ({ output: outNames[k.output], coef: k.coef })) }),
        kind: t.kind,
        lo: Number.isFinite(t.lo) ? t.lo : null,
        hi: Number.isFinite(t.hi) ? t.hi : null,
      })),
      atol: problem.atol,
      rtol: problem.rtol,
      ...(problem.constraints?.length
        ? {
            constraints: constraintRecords(problem.constraints, problem.model.network.inputNames),
          }
        : {}),
    },
    excluded: bnb.excluded.map((e) => (e.constraint !== undefined ? { ...box(e), target: -1, constraint: e.constraint } : { ...box(e), target: e.target })),
    ...(claim === 'complete'
      ? {
          rootFree: bnb.rootFree.map((r) => ({ ...box(r), reason: r.reason })),
          roots: bnb.roots.map((r) => ({ ...box(r), root: Array.from(r.root) })),
        }
      : {}),
  };
}

export interface VerifyResult {
  valid: boolean;
  /** True when every check ran through the independent verifier. */
  independent: boolean;
  reason: string;
  checkedBoxes: number;
  /** Interval evaluations the verifier ran (a measure of its work). */
  evaluations?: number;
}

type Box = { lo: ArrayLike<number>; hi: ArrayLike<number> };

/** How deep the verifier may subdivide one box (2^12 = 4096 pieces at most). */
export const MAX_DEPTH = 12;

/**
 * Do the closed boxes cover the closed box `box`? A region is covered if one box contains it;
 * otherwise it is cut at the face (of a box crossing it) nearest its middle, and both halves
 * must be covered. Boxes that meet the region only in a face are ignored along dimensions where
 * the region has width (the rest of the cover, being closed, must then hold that face); along
 * dimensions where the region has zero width, touching counts.
 */
export function covers(box: Box, boxes: Box[]): boolean {
  const n = box.lo.length;
  for (let j = 0; j < n; j++) if (!(box.lo[j] <= box.hi[j])) return false;
  const rec = (lo: Float64Array, hi: Float64Array, cand: Box[], depth: number): boolean => {
    if (depth > 4000) return false;
    const rel: Box[] = [];
    for (const b of cand) {
      let ok = true;
      for (let j = 0; j < n && ok; j++) {
        ok = lo[j] < hi[j] ? b.lo[j] < hi[j] && b.hi[j] > lo[j] : b.lo[j] <= lo[j] && b.hi[j] >= hi[j];
      }
      if (!ok) continue;
      let inside = true;
      for (let j = 0; j < n && inside; j++) inside = b.lo[j] <= lo[j] && b.hi[j] >= hi[j];
      if (inside) return true;
      rel.push(b);
    }
    if (!rel.length) return false;
    // the cut nearest the middle of the region (relative to its width)
    let bj = -1,
      bc = 0,
      bd = Infinity;
    for (const b of rel) {
      for (let j = 0; j < n; j++) {
        const w = hi[j] - lo[j];
        if (!(w > 0)) continue;
        const mid = lo[j] + 0.5 * w;
        for (const c of [b.lo[j], b.hi[j]]) {
          if (c > lo[j] && c < hi[j]) {
            const d = Math.abs(c - mid) / w;
            if (d < bd) {
              bd = d;
              bj = j;
              bc = c;
            }
          }
        }
      }
    }
    if (bj < 0) return false;
    const aHi = hi.slice(),
      cLo = lo.slice();
    aHi[bj] = bc;
    cLo[bj] = bc;
    return rec(lo, aHi, rel, depth + 1) && rec(cLo, hi, rel, depth + 1);
  };
  return rec(Float64Array.from(box.lo), Float64Array.from(box.hi), boxes, 0);
}

function fail(reason: string, checkedBoxes: number, independent = true): VerifyResult {
  return { valid: false, independent, reason, checkedBoxes };
}

// ---------------------------------------------------------------- structural validation

class Invalid extends Error {}

/** Scratch for imulInto (an interval product [lo, hi]). */
const PR = new Float64Array(2);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyKeys(v: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) throw new Invalid(`${where} has an unexpected field "${k}" (a certificate of this version carries only ${allowed.join(', ')})`);
}
function num(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Invalid(`${where} must be a finite number (got ${JSON.stringify(v)})`);
  return v;
}
function numArray(v: unknown, n: number, where: string): Float64Array {
  if (!Array.isArray(v) || v.length !== n) throw new Invalid(`${where} must be an array of ${n} numbers`);
  return Float64Array.from(v, (x, i) => num(x, `${where}[${i}]`));
}
function boxOf(v: unknown, n: number, where: string, extra: string[]): { lo: Float64Array; hi: Float64Array; raw: Record<string, unknown> } {
  if (!isObj(v)) throw new Invalid(`${where} must be an object {lo, hi}`);
  onlyKeys(v, ['lo', 'hi', ...extra], where);
  const lo = numArray(v.lo, n, `${where}.lo`),
    hi = numArray(v.hi, n, `${where}.hi`);
  for (let j = 0; j < n; j++) if (!(lo[j] <= hi[j])) throw new Invalid(`${where}: lo[${j}] = ${lo[j]} is above hi[${j}] = ${hi[j]}`);
  return { lo, hi, raw: v };
}

interface VTarget {
  /** the form Σ coef·y[output] (one term, coef 1, for a plain output target) */
  terms: { output: number; coef: number }[];
  name: string;
  kind: CertificateTargetKind;
  lo: number;
  hi: number;
  /** thresholds for 'missed beyond tolerance': y < missLo or y > missHi (rounded outward) */
  missLo: number;
  missHi: number;
}

interface Parsed {
  claim: 'infeasible' | 'complete';
  given: Record<string, number>;
  unknownNames: string[];
  unk: Int32Array;
  base: Float64Array;
  box: { lo: Float64Array; hi: Float64Array };
  targets: VTarget[];
  atol: number;
  rtol: number;
  excluded: { lo: Float64Array; hi: Float64Array; target: number; constraint: number }[];
  /** Linear constraints among the inputs (version 4): terms over input indices, and the sides widened by the tolerance, rounded outward. */
  constraints: { name: string; terms: { input: number; coef: number }[]; kind: CertificateTargetKind; lo: number; hi: number; tol: number; missLo: number; missHi: number }[];
  rootFree: { lo: Float64Array; hi: Float64Array }[];
  roots: { lo: Float64Array; hi: Float64Array; root: Float64Array }[];
}

function parse(model: Model, cert: unknown): Parsed {
  if (!isObj(cert) || cert.format !== CERTIFICATE_FORMAT) throw new Invalid('not a netinvert certificate (format "netinvert-certificate")');
  if (!CERTIFICATE_VERSIONS.includes(cert.version as number)) {
    throw new Invalid(`certificate version ${JSON.stringify(cert.version)} is not supported (this verifier reads versions ${CERTIFICATE_VERSIONS.slice(0, -1).join(', ')} and ${CERTIFICATE_VERSIONS[CERTIFICATE_VERSIONS.length - 1]})`);
  }
  const version = cert.version as 2 | 3 | 4 | 5;
  onlyKeys(cert, ['format', 'version', 'modelHash', 'claim', 'query', 'excluded', 'rootFree', 'roots'], 'the certificate');
  if (cert.modelHash !== model.hash) throw new Invalid(`certificate is for model ${JSON.stringify(cert.modelHash)}, not this model (${model.hash})`);
  const claim = cert.claim;
  if (claim !== 'infeasible' && claim !== 'complete') throw new Invalid(`claim must be "infeasible" or "complete" (got ${JSON.stringify(claim)})`);
  const net = model.network;
  const q = cert.query;
  if (!isObj(q)) throw new Invalid('the certificate has no query');
  onlyKeys(q, version >= 4 ? ['given', 'unknowns', 'box', 'targets', 'atol', 'rtol', 'constraints'] : ['given', 'unknowns', 'box', 'targets', 'atol', 'rtol'], 'query');
  // given and unknowns: every input exactly once
  if (!isObj(q.given)) throw new Invalid('query.given must be an object {input: value}');
  const given: Record<string, number> = {};
  const base = new Float64Array(net.nIn);
  const seen = new Uint8Array(net.nIn);
  for (const [k, v] of Object.entries(q.given)) {
    const i = net.inputIndex(k);
    if (i < 0) throw new Invalid(`query.given names "${k}", which is not an input of the model`);
    given[k] = base[i] = num(v, `query.given["${k}"]`);
    seen[i] = 1;
  }
  if (!Array.isArray(q.unknowns) || q.unknowns.length === 0) throw new Invalid('query.unknowns must be a non-empty list of input names');
  const unknownNames: string[] = [];
  const unk: number[] = [];
  for (const u of q.unknowns) {
    const i = typeof u === 'string' ? net.inputIndex(u) : -1;
    if (i < 0) throw new Invalid(`query.unknowns names ${JSON.stringify(u)}, which is not an input of the model`);
    if (seen[i]) throw new Invalid(`input "${u}" is listed twice (given or unknown)`);
    if (unk.length && i < unk[unk.length - 1]) throw new Invalid('query.unknowns must be in the model\'s input order');
    seen[i] = 1;
    unk.push(i);
    unknownNames.push(u as string);
  }
  for (let i = 0; i < net.nIn; i++) if (!seen[i]) throw new Invalid(`input "${net.inputNames[i]}" is neither given nor an unknown`);
  const n = unk.length;
  const box = boxOf(q.box, n, 'query.box', []);
  // tolerances
  const atol = num(q.atol, 'query.atol'),
    rtol = num(q.rtol, 'query.rtol');
  if (atol < 0 || rtol < 0) throw new Invalid(`query tolerances must be ≥ 0 (atol ${atol}, rtol ${rtol})`);
  if (atol === 0 && rtol === 0) throw new Invalid('query tolerances atol and rtol cannot both be 0');
  // targets
  if (!Array.isArray(q.targets) || q.targets.length === 0) throw new Invalid('query.targets must be a non-empty list');
  const targets: VTarget[] = [];
  const names = new Set<string>();
  q.targets.forEach((t: unknown, ti: number) => {
    const at = `query.targets[${ti}]`;
    if (!isObj(t)) throw new Invalid(`${at} must be an object {output, kind, lo, hi}`);
    onlyKeys(t, version >= 3 ? ['output', 'terms', 'kind', 'lo', 'hi'] : ['output', 'kind', 'lo', 'hi'], at);
    let terms: VTarget['terms'];
    if (t.terms !== undefined) {
      if (typeof t.output !== 'string') throw new Invalid(`${at}.output must be the form's text`);
      if (!Array.isArray(t.terms) || t.terms.length === 0) throw new Invalid(`${at}.terms must be a non-empty list of {output, coef}`);
      const seenOut = new Set<number>();
      terms = t.terms.map((k: unknown, ki: number) => {
        if (!isObj(k)) throw new Invalid(`${at}.terms[${ki}] must be an object {output, coef}`);
        onlyKeys(k, ['output', 'coef'], `${at}.terms[${ki}]`);
        const o = typeof k.output === 'string' ? net.outputIndex(k.output) : -1;
        if (o < 0) throw new Invalid(`${at}.terms[${ki}] names output ${JSON.stringify(k.output)}, which the model does not have`);
        if (seenOut.has(o)) throw new Invalid(`${at}.terms: output "${k.output}" appears twice`);
        seenOut.add(o);
        const coef = num(k.coef, `${at}.terms[${ki}].coef`);
        if (coef === 0) throw new Invalid(`${at}.terms[${ki}].coef must not be 0`);
        return { output: o, coef };
      });
    } else {
      const o = typeof t.output === 'string' ? net.outputIndex(t.output) : -1;
      if (o < 0) throw new Invalid(`${at} names output ${JSON.stringify(t.output)}, which the model does not have`);
      terms = [{ output: o, coef: 1 }];
    }
    if (names.has(t.output as string)) throw new Invalid(`${at}: output "${t.output}" has two targets`);
    names.add(t.output as string);
    const kind = t.kind;
    let lo: number, hi: number;
    if (kind === 'eq') {
      lo = num(t.lo, `${at}.lo`);
      hi = num(t.hi, `${at}.hi`);
      if (lo !== hi) throw new Invalid(`${at}: an equality target has lo = hi (got ${lo} and ${hi})`);
    } else if (kind === 'range') {
      lo = num(t.lo, `${at}.lo`);
      hi = num(t.hi, `${at}.hi`);
      if (!(lo <= hi)) throw new Invalid(`${at}: range low end ${lo} is above the high end ${hi}`);
    } else if (kind === 'ge') {
      lo = num(t.lo, `${at}.lo`);
      if (t.hi !== null) throw new Invalid(`${at}: a ≥ target has hi = null`);
      hi = Infinity;
    } else if (kind === 'le') {
      hi = num(t.hi, `${at}.hi`);
      if (t.lo !== null) throw new Invalid(`${at}: a ≤ target has lo = null`);
      lo = -Infinity;
    } else throw new Invalid(`${at}.kind must be eq, range, ge or le (got ${JSON.stringify(kind)})`);
    // tolerance (docs/design.md): atol + rtol·|t| for equalities, atol otherwise; rounded up (a miss must exceed it)
    const tolUp = kind === 'eq' ? up(atol + up(rtol * Math.abs(lo))) : atol;
    targets.push({
      terms,
      name: t.output as string,
      kind,
      lo,
      hi,
      missLo: lo === -Infinity ? -Infinity : dn(lo - tolUp),
      missHi: hi === Infinity ? Infinity : up(hi + tolUp),
    });
  });
  // linear constraints among the inputs (version 4)
  const constraints: Parsed['constraints'] = [];
  if (version === 4 || (version >= 5 && q.constraints !== undefined)) {
    if (!Array.isArray(q.constraints) || q.constraints.length === 0) throw new Invalid(`a version-${version} certificate lists its constraints (query.constraints, non-empty${version >= 5 ? ', or absent' : ''})`);
    q.constraints.forEach((c: unknown, ci: number) => {
      const at = `query.constraints[${ci}]`;
      if (!isObj(c)) throw new Invalid(`${at} must be an object {constraint, terms, kind, lo, hi, tolerance}`);
      onlyKeys(c, ['constraint', 'terms', 'kind', 'lo', 'hi', 'tolerance'], at);
      if (typeof c.constraint !== 'string') throw new Invalid(`${at}.constraint must be its text`);
      if (!Array.isArray(c.terms) || c.terms.length === 0) throw new Invalid(`${at}.terms must be a non-empty list of {input, coef}`);
      const seenIn = new Set<number>();
      const terms = c.terms.map((k: unknown, ki: number) => {
        if (!isObj(k)) throw new Invalid(`${at}.terms[${ki}] must be an object {input, coef}`);
        onlyKeys(k, ['input', 'coef'], `${at}.terms[${ki}]`);
        const i = typeof k.input === 'string' ? net.inputIndex(k.input) : -1;
        if (i < 0) throw new Invalid(`${at}.terms[${ki}] names input ${JSON.stringify(k.input)}, which the model does not have`);
        if (seenIn.has(i)) throw new Invalid(`${at}.terms: input "${k.input}" appears twice`);
        seenIn.add(i);
        const coef = num(k.coef, `${at}.terms[${ki}].coef`);
        if (coef === 0) throw new Invalid(`${at}.terms[${ki}].coef must be nonzero`);
        return { input: i, coef };
      });
      const tol = num(c.tolerance, `${at}.tolerance`);
      if (tol < 0) throw new Invalid(`${at}.tolerance must be ≥ 0`);
      const kind = c.kind;
      const lo = c.lo === null ? -Infinity : num(c.lo, `${at}.lo`),
        hi = c.hi === null ? Infinity : num(c.hi, `${at}.hi`);
      const ok =
        (kind === 'eq' && lo === hi && Number.isFinite(lo)) ||
        (kind === 'range' && Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi) ||
        (kind === 'ge' && Number.isFinite(lo) && hi === Infinity) ||
        (kind === 'le' && lo === -Infinity && Number.isFinite(hi));
      if (!ok) throw new Invalid(`${at}: kind ${JSON.stringify(kind)} with lo ${String(c.lo)} and hi ${String(c.hi)} is not a constraint (eq: lo = hi; range: lo ≤ hi; ge: hi null; le: lo null)`);
      constraints.push({
        name: c.constraint,
        terms,
        kind: kind as CertificateTargetKind,
        lo,
        hi,
        tol,
        missLo: lo === -Infinity ? -Infinity : dn(lo - tol),
        missHi: hi === Infinity ? Infinity : up(hi + tol),
      });
    });
    if (version === 4 && claim !== 'infeasible' && constraints.some((c) => c.kind === 'eq')) {
      throw new Invalid('a version-4 certificate with equality constraints among the inputs claims infeasibility only (completeness under them is version 5)');
    }
  }
  // boxes
  if (!Array.isArray(cert.excluded)) throw new Invalid('excluded must be a list of boxes');
  const excluded = cert.excluded.map((e: unknown, i: number) => {
    const b = boxOf(e, n, `excluded[${i}]`, version >= 4 ? ['target', 'constraint'] : ['target']);
    const ti = b.raw.target;
    if (b.raw.constraint !== undefined) {
      const ci = b.raw.constraint;
      if (!(ti === -1 && typeof ci === 'number' && Number.isInteger(ci) && ci >= 0 && ci < constraints.length)) {
        throw new Invalid(`excluded[${i}]: a box excluded by a constraint has target −1 and constraint an index 0…${constraints.length - 1}`);
      }
      return { lo: b.lo, hi: b.hi, target: -1, constraint: ci };
    }
    if (!(typeof ti === 'number' && Number.isInteger(ti) && ti >= 0 && ti < targets.length)) throw new Invalid(`excluded[${i}].target must be a target index 0…${targets.length - 1}`);
    return { lo: b.lo, hi: b.hi, target: ti, constraint: -1 };
  });
  let rootFree: Parsed['rootFree'] = [],
    roots: Parsed['roots'] = [];
  if (claim === 'infeasible') {
    for (const k of ['rootFree', 'roots'] as const) {
      const v = cert[k];
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) throw new Invalid(`an infeasibility certificate has no ${k} boxes`);
    }
  } else {
    const eqCons = constraints.filter((c) => c.kind === 'eq').length;
    if (targets.some((t) => t.kind !== 'eq') || targets.length + eqCons !== n) {
      throw new Invalid(
        `a completeness claim needs a square system of equalities (equality targets${version >= 5 ? ' plus equality constraints among the inputs' : ''} as many as the unknowns: here ${targets.length}${version >= 5 ? ` + ${eqCons}` : ''} for ${n})`,
      );
    }
    if (version < 5 && targets.some((t) => !(t.terms.length === 1 && t.terms[0].coef === 1))) throw new Invalid('a completeness claim of this version is made only for equalities on single outputs, not linear forms (version 5)');
    const rf = cert.rootFree ?? [],
      rs = cert.roots ?? [];
    if (!Array.isArray(rf) || !Array.isArray(rs)) throw new Invalid('rootFree and roots must be lists of boxes');
    rootFree = rf.map((r: unknown, i: number) => {
      const b = boxOf(r, n, `rootFree[${i}]`, ['reason']);
      if (b.raw.reason !== 'range' && b.raw.reason !== 'krawczyk') throw new Invalid(`rootFree[${i}].reason must be "range" or "krawczyk"`);
      return { lo: b.lo, hi: b.hi };
    });
    roots = rs.map((r: unknown, i: number) => {
      const b = boxOf(r, n, `roots[${i}]`, ['root']);
      const root = numArray(b.raw.root, n, `roots[${i}].root`);
      for (let j = 0; j < n; j++) {
        if (!(root[j] >= b.lo[j] && root[j] <= b.hi[j])) throw new Invalid(`roots[${i}].root lies outside its box`);
        if (!(root[j] >= box.lo[j] && root[j] <= box.hi[j])) throw new Invalid(`roots[${i}].root lies outside the query box`);
      }
      return { lo: b.lo, hi: b.hi, root };
    });
  }
  for (const [what, list] of [['excluded', excluded], ['rootFree', rootFree], ['roots', roots]] as const) {
    list.forEach((b, i) => {
      for (let j = 0; j < n; j++) {
        if (b.lo[j] < box.lo[j] || b.hi[j] > box.hi[j]) throw new Invalid(`${what}[${i}] reaches outside the query box`);
      }
    });
  }
  return { claim, given, unknownNames, unk: Int32Array.from(unk), base, box, targets, atol, rtol, excluded, constraints, rootFree, roots };
}

// ---------------------------------------------------------------- the checks

/** Scratch and the independent checks of one certificate. */
class Checker {
  readonly n: number;
  readonly nOut: number;
  private readonly L: Float64Array;
  private readonly H: Float64Array;
  private readonly C: Float64Array;
  readonly yl: Float64Array;
  readonly yh: Float64Array;
  private readonly cl: Float64Array;
  private readonly ch: Float64Array;
  readonly jl: Float64Array;
  readonly jh: Float64Array;
  private readonly W: Float64Array;
  private readonly unk: Int32Array;
  evaluations = 0;

  constructor(
    readonly v: VerifierNet,
    readonly p: Parsed,
  ) {
    this.unk = p.unk;
    this.n = p.unk.length;
    this.nOut = v.nOut;
    this.L = p.base.slice();
    this.H = p.base.slice();
    this.C = p.base.slice();
    this.yl = new Float64Array(v.nOut);
    this.yh = new Float64Array(v.nOut);
    this.cl = new Float64Array(v.nOut);
    this.ch = new Float64Array(v.nOut);
    this.jl = new Float64Array(v.nOut * this.n);
    this.jh = new Float64Array(v.nOut * this.n);
    this.W = Float64Array.from(p.box.lo, (l, j) => p.box.hi[j] - l || 1);
  }

  private load(lo: ArrayLike<number>, hi: ArrayLike<number>): void {
    const { unk, L, H } = this;
    for (let j = 0; j < unk.length; j++) {
      L[unk[j]] = lo[j];
      H[unk[j]] = hi[j];
    }
  }

  /** Natural interval bounds of every output over the box → yl, yh. */
  natural(lo: ArrayLike<number>, hi: ArrayLike<number>): void {
    this.load(lo, hi);
    this.mvBox = null;
    this.evaluations++;
    this.v.bounds(this.L, this.H, this.yl, this.yh);
  }

  /**
   * Natural bounds intersected with the mean-value form f(c) + f'(X)·(X − c) → yl, yh; the
   * interval Jacobian (all outputs × unknowns) is left in jl, jh and the centre value in cl, ch.
   */
  meanValue(lo: ArrayLike<number>, hi: ArrayLike<number>): void {
    const { n, unk, C, v } = this;
    this.load(lo, hi);
    this.mvBox = { lo, hi };
    this.evaluations += 2;
    v.jvp(this.L, this.H, unk, this.yl, this.yh, this.jl, this.jh);
    for (let j = 0; j < n; j++) C[unk[j]] = 0.5 * lo[j] + 0.5 * hi[j];
    v.bounds(C, C, this.cl, this.ch);
    for (let o = 0; o < this.nOut; o++) {
      let sl = this.cl[o],
        sh = this.ch[o];
      for (let j = 0; j < n; j++) {
        const c = C[unk[j]];
        const dl = dn(lo[j] - c),
          dh = up(hi[j] - c);
        const al = this.jl[o * n + j],
          ah = this.jh[o * n + j];
        imulInto(al, ah, dl, dh, PR);
        sl = dn(sl + PR[0]);
        sh = up(sh + PR[1]);
      }
      if (sl > this.yl[o]) this.yl[o] = sl;
      if (sh < this.yh[o]) this.yh[o] = sh;
    }
  }

  private readonly fr = new Float64Array(2);
  /** The box of the last meanValue (its jl, jh, cl, ch still hold), or null after natural. */
  private mvBox: { lo: ArrayLike<number>; hi: ArrayLike<number> } | null = null;

  /**
   * Does the enclosure in yl, yh show target ti (its form) missed beyond its tolerance? After
   * meanValue, a form of several outputs is also enclosed by its own mean-value form
   *   c·f(X) ⊆ c·f(c) + (Σₖ cₖ·f'ₖ(X))·(X − c),
   * which keeps the outputs' correlation (their shared terms cancel in Σₖ cₖ·f'ₖ).
   */
  misses(ti: number): boolean {
    const t = this.p.targets[ti];
    formRange(t.terms, this.yl, this.yh, this.fr);
    let lo = this.fr[0],
      hi = this.fr[1];
    if (this.mvBox && !(t.terms.length === 1 && t.terms[0].coef === 1)) {
      const { n, unk, C } = this;
      const b = this.mvBox;
      formRange(t.terms, this.cl, this.ch, this.fr);
      let sl = this.fr[0],
        sh = this.fr[1];
      for (let j = 0; j < n; j++) {
        let gl = 0,
          gh = 0;
        for (const k of t.terms) {
          const a = k.coef * this.jl[k.output * n + j],
            c = k.coef * this.jh[k.output * n + j];
          gl = dn(gl + dn(Math.min(a, c)));
          gh = up(gh + up(Math.max(a, c)));
        }
        const cj = C[unk[j]];
        const dl = dn(b.lo[j] - cj),
          dh = up(b.hi[j] - cj);
        imulInto(gl, gh, dl, dh, PR);
        sl = dn(sl + PR[0]);
        sh = up(sh + PR[1]);
      }
      if (sl > lo) lo = sl;
      if (sh < hi) hi = sh;
    }
    return lo > t.missHi || hi < t.missLo;
  }

  /**
   * Does the enclosure in yl, yh exclude some equality target's exact value, or (the box loaded
   * in L, H) does some equality constraint among the inputs miss its exact value, 0 ∉ a·X − b?
   */
  noRoot(): boolean {
    for (const t of this.p.targets) {
      if (t.kind !== 'eq') continue;
      formRange(t.terms, this.yl, this.yh, this.fr);
      if (this.fr[0] > t.lo || this.fr[1] < t.lo) return true;
    }
    for (const c of this.p.constraints) {
      if (c.kind !== 'eq') continue;
      constraintRangeInto(c, this.L, this.H, this.fr);
      if (this.fr[0] > c.lo || this.fr[1] < c.lo) return true;
    }
    return false;
  }

  /**
   * Own Krawczyk operator on the box, for this verifier's own augmentation of the system
   * (version 5): F = [ c_i·y(x) − t_i for each equality target ; a_j·x − b_j for each equality
   * constraint among the inputs ], F' = [ Σ_k c_ik·y'_k(X) ; A ] (A the constraints' exact
   * coefficients over the unknowns):
   *   K(X) = c − Y·F(c) + (I − Y·F'(X))·(X − c),  Y ≈ mid(F'(X))⁻¹;
   * K(X) ∩ X = ∅ ⇒ no root; K(X) ⊂ int X ⇒ exactly one root (Neumaier 1990, Thm 5.1.7/5.1.8).
   * Call right after meanValue(lo, hi) on the same box (uses its jl, jh, cl, ch).
   */
  krawczyk(lo: ArrayLike<number>, hi: ArrayLike<number>): 'none' | 'unique' | 'unknown' {
    const { n, p, unk, C } = this;
    const T = p.targets.filter((t) => t.kind === 'eq');
    const E = p.constraints.filter((c) => c.kind === 'eq');
    if (T.length + E.length !== n) return 'unknown';
    const m = T.length;
    // interval Jacobian of F (rows: targets, then constraints), its midpoint, and F(c)
    const Jl = new Float64Array(n * n),
      Jh = new Float64Array(n * n),
      M = new Float64Array(n * n),
      Fl = new Float64Array(n),
      Fh = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      const t = T[i];
      for (let j = 0; j < n; j++) {
        let a = 0,
          b = 0;
        if (t.terms.length === 1 && t.terms[0].coef === 1) {
          a = this.jl[t.terms[0].output * n + j];
          b = this.jh[t.terms[0].output * n + j];
        } else {
          for (const k of t.terms) {
            imulInto(k.coef, k.coef, this.jl[k.output * n + j], this.jh[k.output * n + j], PR);
            a = dn(a + PR[0]);
            b = up(b + PR[1]);
          }
        }
        if (!Number.isFinite(a) || !Number.isFinite(b)) return 'unknown';
        Jl[i * n + j] = a;
        Jh[i * n + j] = b;
        M[i * n + j] = 0.5 * a + 0.5 * b;
      }
      // F_i(c) = c_i·y(c) − t_i
      formRange(t.terms, this.cl, this.ch, this.fr);
      Fl[i] = dn(this.fr[0] - t.lo);
      Fh[i] = up(this.fr[1] - t.lo);
    }
    for (let r = 0; r < E.length; r++) {
      const c = E[r],
        i = m + r;
      for (const t of c.terms) {
        const j = unk.indexOf(t.input);
        if (j >= 0) Jl[i * n + j] = Jh[i * n + j] = M[i * n + j] = t.coef;
      }
      // F_i(c) = a·x(c) − b, the given inputs at their values (C holds them)
      constraintRangeInto(c, C, C, this.fr);
      Fl[i] = dn(this.fr[0] - c.lo);
      Fh[i] = up(this.fr[1] - c.lo);
    }
    for (let i = 0; i < n; i++) if (!(Fl[i] === Fl[i] && Fh[i] === Fh[i])) return 'unknown';
    const Y = invert(M, n);
    if (!Y) return 'unknown';
    let inside = true;
    for (let i = 0; i < n; i++) {
      const c = C[unk[i]];
      let kl = c,
        kh = c;
      for (let r = 0; r < n; r++) {
        const y = Y[i * n + r];
        const a = y * Fl[r],
          b = y * Fh[r];
        kl = dn(kl - up(Math.max(a, b)));
        kh = up(kh - dn(Math.min(a, b)));
      }
      for (let k = 0; k < n; k++) {
        // (I − Y·J)_ik
        let ml = i === k ? 1 : 0,
          mh = ml;
        for (let r = 0; r < n; r++) {
          const y = Y[i * n + r];
          const a = y * Jl[r * n + k],
            b = y * Jh[r * n + k];
          ml = dn(ml - up(Math.max(a, b)));
          mh = up(mh - dn(Math.min(a, b)));
        }
        const ck = C[unk[k]];
        const dl = dn(lo[k] - ck),
          dh = up(hi[k] - ck);
        imulInto(ml, mh, dl, dh, PR);
        kl = dn(kl + PR[0]);
        kh = up(kh + PR[1]);
      }
      if (!(kl === kl && kh === kh)) return 'unknown';
      if (kh < lo[i] || kl > hi[i]) return 'none';
      if (!(kl > lo[i] && kh < hi[i])) inside = false;
    }
    return inside ? 'unique' : 'unknown';
  }

  /**
   * Prove `test` on the box, bisecting the widest unknown (in query-box units) at its midpoint
   * down to MAX_DEPTH levels. `test` is tried with natural bounds, then the mean-value form
   * (and, for root-freeness, Krawczyk).
   */
  prove(lo: Float64Array, hi: Float64Array, kind: 'miss' | 'rootFree', ti: number, depth = 0): boolean {
    this.natural(lo, hi);
    if (kind === 'miss' ? this.misses(ti) : this.noRoot()) return true;
    this.meanValue(lo, hi);
    if (kind === 'miss' ? this.misses(ti) : this.noRoot()) return true;
    if (kind === 'rootFree' && this.krawczyk(lo, hi) === 'none') return true;
    if (depth >= MAX_DEPTH) return false;
    const { n, W } = this;
    let j = 0;
    for (let d = 1; d < n; d++) if ((hi[d] - lo[d]) / W[d] > (hi[j] - lo[j]) / W[j]) j = d;
    const mid = 0.5 * lo[j] + 0.5 * hi[j];
    if (!(mid > lo[j] && mid < hi[j])) return false; // cannot split further
    const aHi = hi.slice(),
      cLo = lo.slice();
    aHi[j] = mid;
    cLo[j] = mid;
    return this.prove(lo, aHi, kind, ti, depth + 1) && this.prove(cLo, hi, kind, ti, depth + 1);
  }

  /**
   * Is the point consistent with meeting every target: not shown to miss any by more than its
   * tolerance (the verifier's own evaluation)? A listed root is only the float approximation of
   * the exact root that Krawczyk proves in its box; with a tolerance below the evaluation's own
   * rounding (atol ~1e-14) "meets" cannot be proven, but a root moved off the root is caught.
   */
  consistent(x: Float64Array): boolean {
    this.natural(x, x);
    for (let i = 0; i < this.p.targets.length; i++) if (this.misses(i)) return false;
    // and every constraint among the inputs, within its tolerance (L = H = the point, given inputs in)
    for (const c of this.p.constraints) {
      constraintRangeInto(c, this.L, this.H, this.fr);
      if (this.fr[0] > c.missHi || this.fr[1] < c.missLo) return false;
    }
    return true;
  }
}

/**
 * Gauss–Jordan with partial pivoting (a float approximation is all Krawczyk's Y needs).
 * Intended duplicate of krawczyk.ts's invertMatrix: the verifier shares no code with the search.
 */
function invert(A: Float64Array, n: number): Float64Array | null {
  const M = A.slice(),
    I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[p * n + c])) p = r;
    const d = M[p * n + c];
    if (d === 0 || !Number.isFinite(d)) return null;
    if (p !== c)
      for (let k = 0; k < n; k++) {
        let t = M[c * n + k];
        M[c * n + k] = M[p * n + k];
        M[p * n + k] = t;
        t = I[c * n + k];
        I[c * n + k] = I[p * n + k];
        I[p * n + k] = t;
      }
    for (let k = 0; k < n; k++) {
      M[c * n + k] /= d;
      I[c * n + k] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r * n + c];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        M[r * n + k] -= f * M[c * n + k];
        I[r * n + k] -= f * I[c * n + k];
      }
    }
  }
  for (const v of I) if (!Number.isFinite(v)) return null;
  return I;
}

/**
 * For a search that builds certificates (branch-and-bound): this verifier's own test that target
 * `ti` is missed on a box — the very check verifyCertificate will make (natural bounds, mean-value
 * form incl. the forms' own, bisection to MAX_DEPTH) — so a claim it confirms is one the
 * certificate carries. Null when the verifier cannot evaluate the model.
 */
export function verifierMissCheck(problem: Problem): ((lo: ArrayLike<number>, hi: ArrayLike<number>, ti: number) => { ok: boolean; evaluations: number }) | null {
  const empty = { excluded: [], rootFree: [], roots: [] } as unknown as BnbResult;
  let ck: Checker;
  try {
    ck = new Checker(verifierNet(problem.model.graph), parse(problem.model, buildCertificate(problem, empty, 'infeasible')));
  } catch {
    return null;
  }
  return (lo, hi, ti) => {
    const e0 = ck.evaluations;
    const ok = ck.prove(Float64Array.from(lo), Float64Array.from(hi), 'miss', ti);
    return { ok, evaluations: ck.evaluations - e0 };
  };
}

/** Is the certificate for exactly this query (given, targets, box covered, atol/rtol)? */
function sameQuery(model: Model, p: Parsed, query: Query & ToleranceOptions): string | null {
  const q = buildProblem(model, query, { atol: query.atol, rtol: query.rtol });
  if (q.unknownNames.join('\u0000') !== p.unknownNames.join('\u0000')) return `the certificate's unknowns (${p.unknownNames.join(', ')}) are not the query's (${q.unknownNames.join(', ')})`;
  for (const [k, v] of Object.entries(q.given)) if (p.given[k] !== v) return `the certificate gives ${k} = ${p.given[k]}, the query ${v}`;
  if (q.targets.length !== p.targets.length) return `the certificate has ${p.targets.length} targets, the query ${q.targets.length}`;
  for (const t of q.targets) {
    const c = p.targets.find((x) => x.name === t.name);
    const sameTerms =
      !!c && c.terms.length === t.terms.length && t.terms.every((k) => c.terms.some((x) => x.output === k.output && x.coef === k.coef));
    if (!c || !sameTerms || c.kind !== t.kind || c.lo !== t.lo || c.hi !== t.hi) return `the certificate's target for "${t.name}" is not the query's`;
  }
  for (let j = 0; j < q.unknowns.length; j++) {
    if (!(p.box.lo[j] <= q.lo[j] && p.box.hi[j] >= q.hi[j])) {
      return `the certificate's box for "${q.unknownNames[j]}" [${p.box.lo[j]}, ${p.box.hi[j]}] does not cover the query's [${q.lo[j]}, ${q.hi[j]}]`;
    }
  }
  // constraints among the inputs: the same list (text, terms, sides, tolerance), in order
  const qc = q.constraints ?? [];
  if (qc.length !== p.constraints.length) return `the certificate has ${p.constraints.length} constraints among the inputs, the query ${qc.length}`;
  for (let i = 0; i < qc.length; i++) {
    const a = qc[i],
      b = p.constraints[i];
    const sameTerms = a.terms.length === b.terms.length && a.terms.every((t, k) => t.output === b.terms[k].input && t.coef === b.terms[k].coef);
    if (!sameTerms || a.kind !== b.kind || a.lo !== b.lo || a.hi !== b.hi || a.tol !== b.tol) return `the certificate's constraint "${b.name}" is not the query's "${a.name}"`;
  }
  if (q.atol !== p.atol || q.rtol !== p.rtol) return `the certificate's tolerances (atol ${p.atol}, rtol ${p.rtol}) are not the query's (atol ${q.atol}, rtol ${q.rtol})`;
  return null;
}

/**
 * Re-check a certificate against a model, and (when `query` is given) that it proves exactly
 * that query. Never throws for a bad certificate: it says why. (A bad `query` throws, as
 * everywhere else.)
 */
export function verifyCertificate(model: Model, cert: Certificate | unknown, query?: Query & ToleranceOptions): VerifyResult {
  let p: Parsed;
  try {
    p = parse(model, cert);
  } catch (e) {
    if (e instanceof Invalid) return fail(e.message, 0);
    throw e;
  }
  if (query) {
    const why = sameQuery(model, p, query);
    if (why) return fail(why, 0);
  }
  let v: VerifierNet;
  try {
    v = verifierNet(model.graph);
  } catch (e) {
    return fail(`the independent verifier cannot evaluate this model: ${(e as Error).message}`, 0);
  }
  const pieces: Box[] = [...p.excluded, ...p.rootFree, ...p.roots];
  if (!covers(p.box, pieces)) return fail('the boxes do not cover the query box', 0);
  const ck = new Checker(v, p);
  let checked = 0;
  for (const e of p.excluded) {
    if (e.constraint >= 0) {
      const c = p.constraints[e.constraint];
      if (!constraintMissed(p, c, e.lo, e.hi)) return fail(`excluded box ${checked} is not excluded: constraint "${c.name}" may hold there`, checked);
      checked++;
      continue;
    }
    const t = p.targets[e.target];
    if (!ck.prove(e.lo, e.hi, 'miss', e.target)) {
      return fail(`excluded box ${checked} is not excluded: ${t.terms.length === 1 && t.terms[0].coef === 1 ? 'output' : 'form'} "${t.name}" may meet its target there (checked down to 1/${2 ** MAX_DEPTH} of the box)`, checked);
    }
    checked++;
  }
  if (p.claim === 'infeasible') return { valid: true, independent: true, reason: `every box re-checked (${checked} boxes)`, checkedBoxes: checked, evaluations: ck.evaluations };
  for (const r of p.rootFree) {
    if (!ck.prove(r.lo, r.hi, 'rootFree', 0)) return fail(`root-free box ${checked} may contain a root (checked down to 1/${2 ** MAX_DEPTH} of the box)`, checked);
    checked++;
  }
  let independent = true;
  let engineSys: ReturnType<typeof squareSystem> | undefined;
  for (const r of p.roots) {
    // with inequality constraints among the inputs, a root box lies wholly inside every one of
    // them (an equality constraint is a row of the system Krawczyk proves the root of)
    const outside = p.constraints.find((c) => c.kind !== 'eq' && !constraintHolds(p, c, r.lo, r.hi));
    if (outside) return fail(`root box ${checked} is not wholly inside constraint "${outside.name}": its root may not meet it`, checked);
    if (!ck.consistent(r.root)) return fail(`the root of root box ${checked} misses the targets or a constraint by more than the tolerance`, checked);
    ck.meanValue(r.lo, r.hi);
    if (ck.krawczyk(r.lo, r.hi) !== 'unique') {
      // fallback: the engine's Krawczyk test (its interval Jacobian is sometimes sharper), on
      // the same system: used only when the Problem rebuilt from the certificate has exactly
      // its targets' and constraints' terms and values
      if (engineSys === undefined) engineSys = engineSystem(model, p);
      if (!engineSys || krawczyk(engineSys, r.lo, r.hi) !== 'unique') return fail(`Krawczyk does not prove root box ${checked} holds a unique root`, checked, independent);
      independent = false;
    }
    checked++;
  }
  return {
    valid: true,
    independent,
    reason: `every box re-checked (${checked} boxes)${independent ? '' : '; some root boxes were confirmed by the engine\'s Krawczyk test'}`,
    checkedBoxes: checked,
    evaluations: ck.evaluations,
  };
}

/** The engine's square system for the certificate's query, or null (the fallback of root boxes). */
function engineSystem(model: Model, p: Parsed): ReturnType<typeof squareSystem> {
  const names = model.network.outputNames,
    inNames = model.network.inputNames;
  // a form as text of the targets' grammar: "2 * \"y0\" - 0.5 * \"y1\"" (names quoted, signs between terms)
  const text = (terms: { coef: number; name: string }[]): string =>
    terms.map((k, i) => `${k.coef < 0 ? (i ? ' - ' : '-') : i ? ' + ' : ''}${Math.abs(k.coef)} * "${k.name}"`).join('');
  const formText = (terms: { output: number; coef: number }[]): string => text(terms.map((k) => ({ coef: k.coef, name: names[k.output] })));
  try {
    const q = buildProblem(
      model,
      {
        given: p.given,
        want: Object.fromEntries(p.targets.map((t) => [t.terms.length === 1 && t.terms[0].coef === 1 ? t.name : formText(t.terms), t.lo])),
        bounds: Object.fromEntries(p.unknownNames.map((u, j) => [u, [p.box.lo[j], p.box.hi[j]] as [number, number]])),
        ...(p.constraints.length
          ? { constraints: p.constraints.map((c) => `${text(c.terms.map((k) => ({ coef: k.coef, name: inNames[k.input] })))} ${c.kind === 'eq' ? '=' : c.kind === 'ge' ? '>=' : c.kind === 'le' ? '<=' : '='} ${c.kind === 'le' ? c.hi : c.kind === 'range' ? `${c.lo}:${c.hi}` : c.lo}`) }
          : {}),
      },
      { atol: p.atol, rtol: p.rtol },
    );
    // the rebuilt system must be the certificate's, term for term
    const sameTerms = (a: readonly { output: number; coef: number }[], b: readonly { output: number; coef: number }[]): boolean =>
      a.length === b.length && a.every((k) => b.some((x) => x.output === k.output && x.coef === k.coef));
    if (q.targets.length !== p.targets.length || !q.targets.every((t, i) => sameTerms(t.terms, p.targets[i].terms) && t.lo === p.targets[i].lo && t.kind === p.targets[i].kind)) return null;
    const qc = q.constraints ?? [];
    if (
      qc.length !== p.constraints.length ||
      !qc.every((c, i) => sameTerms(c.terms, p.constraints[i].terms.map((k) => ({ output: k.input, coef: k.coef }))) && c.lo === p.constraints[i].lo && c.hi === p.constraints[i].hi)
    )
      return null;
    return squareSystem(q);
  } catch {
    return null;
  }
}

/**
 * Does no point of the box (unknowns in [lo, hi], given inputs at their values) meet constraint
 * c? The form Σ coef·x over the box by interval arithmetic (Moore 1966), every partial sum
 * rounded outward (this verifier's own up / dn), against the sides widened by the tolerance.
 */
function constraintMissed(p: Parsed, c: Parsed['constraints'][number], lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  const [sl, sh] = constraintRange(p, c, lo, hi);
  return sl > c.missHi || sh < c.missLo;
}

/** Does every point of the box meet constraint c exactly (its form's enclosure inside [lo, hi])? */
function constraintHolds(p: Parsed, c: Parsed['constraints'][number], lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  const [sl, sh] = constraintRange(p, c, lo, hi);
  return sl >= c.lo && sh <= c.hi;
}

/**
 * Enclosure of constraint c's form over the box of the unknowns [lo, hi] (given inputs at their
 * values, p.base): constraintRangeInto on the full input vectors.
 */
function constraintRange(p: Parsed, c: Parsed['constraints'][number], lo: ArrayLike<number>, hi: ArrayLike<number>): [number, number] {
  // branch-and-bound asks this for every box: the full vectors go in scratch kept between calls
  const n = p.base.length;
  if (rangeL.length < n) ((rangeL = new Float64Array(n)), (rangeH = new Float64Array(n)));
  rangeL.set(p.base);
  rangeH.set(p.base);
  for (let j = 0; j < p.unk.length; j++) {
    rangeL[p.unk[j]] = lo[j];
    rangeH[p.unk[j]] = hi[j];
  }
  constraintRangeInto(c, rangeL, rangeH, rangeOut);
  return [rangeOut[0], rangeOut[1]];
}
let rangeL = new Float64Array(0),
  rangeH = new Float64Array(0);
const rangeOut = new Float64Array(2);

/**
 * Σ coef·x of constraint c over the input vectors [L, H] (every input, indexed by input; a given
 * input has L = H = its value) by interval arithmetic, every partial sum rounded outward (this
 * verifier's own up / dn) → out. The one implementation of a constraint's enclosure: the
 * Checker's (root-freeness, Krawczyk's residual rows, a root's consistency) and the tests
 * branch-and-bound calls (constraintRange), so a box it excludes or calls root-free by a
 * constraint is one verifyCertificate confirms by the same arithmetic.
 */
function constraintRangeInto(c: Parsed['constraints'][number], L: ArrayLike<number>, H: ArrayLike<number>, out: Float64Array): void {
  let sl = 0,
    sh = 0;
  for (const t of c.terms) {
    const a = L[t.input],
      b = H[t.input];
    const x = t.coef >= 0 ? t.coef * a : t.coef * b,
      y = t.coef >= 0 ? t.coef * b : t.coef * a;
    sl = dn(sl + dn(x));
    sh = up(sh + up(y));
  }
  out[0] = sl;
  out[1] = sh;
}

/**
 * For branch-and-bound: this verifier's own test that no point of box [lo, hi] meets the
 * problem's constraint ci (so that a box branch-and-bound excludes by a constraint is one
 * verifyCertificate confirms).
 */
export function verifierConstraintMiss(problem: Problem, ci: number, lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  return constraintMissed(...verifierArgs(problem, ci), lo, hi);
}

/** For branch-and-bound: this verifier's own test that every point of box [lo, hi] meets constraint ci. */
export function verifierInsideConstraint(problem: Problem, ci: number, lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  return constraintHolds(...verifierArgs(problem, ci), lo, hi);
}

/**
 * For branch-and-bound: this verifier's own test that equality constraint ci cannot hold exactly
 * anywhere in box [lo, hi] (0 ∉ a·X − b): a root-free box by range.
 */
export function verifierConstraintRootFree(problem: Problem, ci: number, lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  const [p, c] = verifierArgs(problem, ci);
  const [sl, sh] = constraintRange(p, c, lo, hi);
  return c.kind === 'eq' && (sl > c.lo || sh < c.lo);
}

function verifierArgs(problem: Problem, ci: number): [Parsed, Parsed['constraints'][number]] {
  // built once per Problem (a validated Problem is not changed afterwards): branch-and-bound asks for every box
  let e = verifierArgsOf.get(problem);
  if (!e) {
    const cs = (problem.constraints ?? []).map(
      (c): Parsed['constraints'][number] => ({
        name: c.name,
        terms: c.terms.map((t) => ({ input: t.output, coef: t.coef })),
        kind: c.kind,
        lo: c.lo,
        hi: c.hi,
        tol: c.tol,
        missLo: c.lo === -Infinity ? -Infinity : dn(c.lo - c.tol),
        missHi: c.hi === Infinity ? Infinity : up(c.hi + c.tol),
      }),
    );
    verifierArgsOf.set(problem, (e = { p: { unk: Int32Array.from(problem.unknowns), base: problem.base } as Parsed, cs }));
  }
  return [e.p, e.cs[ci]];
}
const verifierArgsOf = new WeakMap<Problem, { p: Parsed; cs: Parsed['constraints'] }>();

/** The query a certificate proves, in words (for check-certificate and reports). */
export function describeCertificateQuery(cert: Certificate): string[] {
  const q = cert.query;
  const fmt = (t: CertificateQuery['targets'][number]): string =>
    t.kind === 'eq' ? `${t.output} = ${t.lo}` : t.kind === 'range' ? `${t.output} in [${t.lo}, ${t.hi}]` : t.kind === 'ge' ? `${t.output} >= ${t.lo}` : `${t.output} <= ${t.hi}`;
  const given = Object.entries(q.given).map(([k, v]) => `${k} = ${v}`);
  return [
    `claim: ${cert.claim === 'infeasible' ? 'no input in the box meets the targets (infeasible)' : 'the listed roots are every exact solution in the box (complete)'}`,
    `given: ${given.length ? given.join(', ') : '(none)'}`,
    `unknowns: ${q.unknowns.map((u, j) => `${u} in [${q.box.lo[j]}, ${q.box.hi[j]}]`).join(', ')}`,
    `targets: ${q.targets.map(fmt).join(', ')}`,
    ...(q.constraints?.length ? [`subject to: ${q.constraints.map((c) => c.constraint).join(', ')} (each within its tolerance)`] : []),
    `tolerance: |y − t| <= ${q.atol} + ${q.rtol}·|t| for equalities, ${q.atol} for ranges and inequalities`,
    ...(cert.claim === 'complete' && cert.roots ? [`roots: ${cert.roots.map((r) => `(${r.root.join(', ')})`).join(', ')}`] : []),
  ];
}
