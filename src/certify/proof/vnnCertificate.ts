/**
 * The unsat certificate of a VNNLIB property (`netinvert verify`), and its JSON form.
 *
 * A VNNLIB file states the UNSAFE set (formats/vnnlib/types.ts). The property holds ("unsat")
 * iff no x in any input box has outputs satisfying any clause of the output DNF. The certificate
 * gives, per input box, a finite bisection tree over the inputs whose every leaf box refutes
 * every clause; vnnVerifier.ts re-checks each leaf with its own sound bounds.
 *
 * Tree encoding (preorder): a node is `[d, t]` (split input d at t: the left child has hi[d] = t,
 * the right child lo[d] = t), `[]` (a leaf), or, from version 2 on, a hinted leaf
 *   `[-1, ci, ka, sa, kb, sb, mu, nu,  ci, ka, sa, kb, sb, mu, nu, …]`
 * (−1, then one or more groups of VNN_HINT_GROUP = 7 numbers). `trees[b]` belongs to
 * `spec.inputBoxes[b]`. A hinted leaf is a leaf everywhere a leaf is (cover, node count, depth).
 *
 * Combination hints. A clause is a conjunction: the unsafe set needs every constraint of it. A
 * constraint `a·y + c REL 0` gives the form s·(a·y + c), read "unsafe needs the form ≤ 0":
 * relation '<=' has s = +1 only, '>=' s = −1 only, '=' both. For weights μ, ν ≥ 0, not both 0,
 * g_a ≤ 0 and g_b ≤ 0 imply μ·g_a + ν·g_b ≤ 0, so a proven lower bound > 0 of the combined linear
 * form on a leaf box refutes the clause there (Farkas / Lagrangian duality: the minimax form of
 * min_x max(g_a, g_b)), even where neither form alone is positive on the whole box (two forms
 * that tie, as near ACAS Xu property 2's Y_j − Y_0 ≤ 0). A group names ci (the clause,
 * spec.outputDnf[ci]), ka and kb (two constraints of it, spec.outputDnf[ci][ka]), sa and sb (±1,
 * which form of each), mu and nu (finite, ≥ 0, not both 0). The weights are only hints: the
 * verifier forms the combination itself with outward rounding and proves its bound with its own
 * methods, so any weights are sound (bad ones merely fail to refute). Single forms are always
 * tried first; the hints of clause ci are tried only when no single form refutes it.
 * Version 1 files (no hinted leaves) are still read.
 *
 * Slope hints (version 3). A leaf may instead be
 *   `[-2, N, ci, k, s, a_1, …, a_N,  ci, k, s, a_1, …, a_N, …]`
 * (−2, the number N of ReLU neurons of the net, then groups of N + 3 numbers): the form of sign s
 * of constraint k of clause ci, and for every ReLU neuron (layer by layer, in the net's order) an
 * integer a ∈ [0, VNN_ALPHA_SCALE] giving the slope α = a / VNN_ALPHA_SCALE of the lower line
 * relu(z) ≥ α·z used where the form's back-substituted multiplier of that neuron is positive
 * (α-CROWN: Xu, Zhang, Wang, Wang, Jana, Lin & Hsieh, "Fast and complete: enabling complete neural
 * network verification with rapid and massively parallel incomplete verifiers", ICLR 2021). Any
 * α ∈ [0, 1] gives a valid lower line, so the slopes too are only hints: the verifier
 * back-substitutes the form itself with them, with its own bounds and rounding. A clause's slope
 * hints are tried only when no single form refutes it. VNN_ALPHA_SCALE is a power of two, so each
 * α is exact in binary.
 */
import { NetinvertError } from '../../errors.ts';
import type { VnnlibRelation, VnnlibSpec } from '../../formats/vnnlib/types.ts';
import type { Model } from '../../model.ts';

export const VNN_CERTIFICATE_FORMAT = 'netinvert-vnn-certificate';
/** The version written; VNN_CERTIFICATE_VERSIONS are read (1: no hinted leaves). */
export const VNN_CERTIFICATE_VERSION = 3;
export const VNN_CERTIFICATE_VERSIONS: readonly number[] = [1, 2, 3];
/** Numbers per hint group of a hinted leaf: ci, ka, sa, kb, sb, mu, nu. */
export const VNN_HINT_GROUP = 7;
/** The first number of a hinted leaf. */
export const VNN_HINTED_LEAF = -1;
/** The first number of a slope-hinted leaf (version 3), and the denominator of its slopes. */
export const VNN_ALPHA_LEAF = -2;
export const VNN_ALPHA_SCALE = 1024;
/** Deepest split chain a tree may have (a box halved 64 times is below any float's resolution). */
export const VNN_MAX_DEPTH = 64;
/** Most nodes, over all trees, that a certificate may hold (ACAS Xu proofs need up to ~10^5 leaves). */
export const VNN_MAX_NODES = 20_000_000;

export interface VnnCertificate {
  format: 'netinvert-vnn-certificate';
  version: 1 | 2 | 3;
  /** Model.hash of the net the proof is about. */
  modelHash: string;
  /** vnnSpecHash of the property the proof is about. */
  specHash: string;
  /** trees[b]: the preorder node list for spec.inputBoxes[b]; `[d, t]` split, `[]` leaf, `[-1, hint groups…]` hinted leaf, `[-2, N, slope groups…]` slope-hinted leaf. */
  trees: number[][][];
}

/**
 * Hash of the canonical content of a spec: dimensions, input boxes, and every output constraint
 * (coefficients, their error bounds, constant, relation), in order. Source positions (line,
 * column) and the assert count do not enter: two files with the same sets hash alike.
 * FNV-1a over the IEEE-754 bytes, two lanes (Fowler–Noll–Vo, IETF draft-eastlake-fnv).
 */
export function vnnSpecHash(spec: VnnlibSpec): string {
  let h1 = 0x811c9dc5,
    h2 = 0x01000193 ^ 0x5bd1e995;
  const buf = new ArrayBuffer(8),
    view = new DataView(buf),
    bytes = new Uint8Array(buf);
  const byte = (b: number): void => {
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ (b + 0x9e), 0x01000193);
  };
  const num = (x: number): void => {
    view.setFloat64(0, x, true);
    for (let i = 0; i < 8; i++) byte(bytes[i]);
  };
  const tag = (s: string): void => {
    for (let i = 0; i < s.length; i++) byte(s.charCodeAt(i) & 0xff);
  };
  const arr = (a: ArrayLike<number>): void => {
    num(a.length);
    for (let i = 0; i < a.length; i++) num(a[i]);
  };
  tag('vnnspec1');
  num(spec.numInputs);
  num(spec.numOutputs);
  tag('boxes');
  num(spec.inputBoxes.length);
  for (const b of spec.inputBoxes) {
    arr(b.lo);
    arr(b.hi);
  }
  tag('dnf');
  num(spec.outputDnf.length);
  for (const clause of spec.outputDnf) {
    tag('(');
    num(clause.length);
    for (const c of clause) {
      arr(c.coeffs);
      arr(c.coeffErr);
      num(c.constant);
      num(c.constantErr);
      tag(c.relation);
    }
    tag(')');
  }
  const hex = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
  return `fnv1a:${hex(h2)}${hex(h1)}`;
}

/** Assemble a certificate from the trees a search found (one per input box of the spec). */
export function buildVnnCertificate(model: Model, spec: VnnlibSpec, trees: number[][][]): VnnCertificate {
  if (trees.length !== spec.inputBoxes.length) {
    throw new NetinvertError('bad_argument', `buildVnnCertificate: ${trees.length} tree(s) for ${spec.inputBoxes.length} input box(es); give one tree per spec.inputBoxes entry`);
  }
  return {
    format: VNN_CERTIFICATE_FORMAT,
    version: VNN_CERTIFICATE_VERSION,
    modelHash: model.hash,
    specHash: vnnSpecHash(spec),
    trees: trees.map((t) => t.map((n) => n.slice())),
  };
}

/** True when a parsed JSON value claims to be a VNN certificate (by its `format` field). */
export function isVnnCertificateLike(v: unknown): boolean {
  return !!v && typeof v === 'object' && (v as { format?: unknown }).format === VNN_CERTIFICATE_FORMAT;
}

const bad = (msg: string): NetinvertError => new NetinvertError('bad_certificate', `VNN certificate: ${msg}; pass the file written by netinvert verify --certificate`);

/** Whether a node of a validated certificate is a leaf (`[]` or a hinted leaf); a split is `[d, t]`. */
export function isVnnLeaf(node: readonly number[]): boolean {
  return node.length !== 2;
}

/** How many combination-hint groups a node of a validated certificate carries (0 for `[]`, splits and slope-hinted leaves). */
export function vnnHintCount(node: readonly number[]): number {
  return node.length > 2 && node[0] === VNN_HINTED_LEAF ? (node.length - 1) / VNN_HINT_GROUP : 0;
}

/** The slope groups of a slope-hinted leaf of a validated certificate: [ci, k, s, slopes (a / VNN_ALPHA_SCALE)] each; [] for other nodes. */
export function vnnAlphaHints(node: readonly number[]): { ci: number; k: number; s: number; alpha: Float64Array }[] {
  if (node.length <= 2 || node[0] !== VNN_ALPHA_LEAF) return [];
  const N = node[1],
    out: { ci: number; k: number; s: number; alpha: Float64Array }[] = [];
  for (let o = 2; o + N + 3 <= node.length; o += N + 3) {
    const alpha = new Float64Array(N);
    for (let j = 0; j < N; j++) alpha[j] = node[o + 3 + j] / VNN_ALPHA_SCALE;
    out.push({ ci: node[o], k: node[o + 1], s: node[o + 2], alpha });
  }
  return out;
}

/** The number of ReLU neurons a slope-hinted leaf's slopes are for (0 for other nodes). */
export const vnnAlphaNeurons = (node: readonly number[]): number => (node.length > 2 && node[0] === VNN_ALPHA_LEAF ? node[1] : 0);

/** Which forms s·(a·y + c) a relation allows ("unsafe needs the form ≤ 0"). */
export const vnnSignAllowed = (relation: VnnlibRelation, s: number): boolean =>
  relation === '=' ? s === 1 || s === -1 : s === (relation === '<=' ? 1 : -1);

/**
 * The defect of hint group g of hinted leaf n (shape: integers, signs, weights; with `spec`
 * also the clause and constraint indices' range and each sign against its relation), or null.
 */
function hintFault(n: readonly unknown[], g: number, spec: VnnlibSpec | undefined): string | null {
  const o = 1 + g * VNN_HINT_GROUP;
  const v = n.slice(o, o + VNN_HINT_GROUP);
  const names = ['ci', 'ka', 'sa', 'kb', 'sb', 'mu', 'nu'];
  for (let i = 0; i < VNN_HINT_GROUP; i++) if (typeof v[i] !== 'number') return `${names[i]} is ${JSON.stringify(v[i])}, not a number`;
  const [ci, ka, sa, kb, sb, mu, nu] = v as number[];
  for (const [name, x] of [['ci', ci], ['ka', ka], ['kb', kb]] as const) {
    if (!(Number.isInteger(x) && x >= 0)) return `${name} = ${x} is not a non-negative integer index`;
  }
  for (const [name, x] of [['sa', sa], ['sb', sb]] as const) if (x !== 1 && x !== -1) return `${name} = ${x} is not +1 or -1`;
  for (const [name, x] of [['mu', mu], ['nu', nu]] as const) if (!(Number.isFinite(x) && x >= 0)) return `weight ${name} = ${x} is not finite and >= 0`;
  if (mu === 0 && nu === 0) return 'weights mu and nu are both 0';
  if (spec) {
    if (ci >= spec.outputDnf.length) return `ci = ${ci} is not a clause index 0..${spec.outputDnf.length - 1}`;
    const clause = spec.outputDnf[ci];
    for (const [name, k, sn, s] of [['ka', ka, 'sa', sa], ['kb', kb, 'sb', sb]] as const) {
      if (k >= clause.length) return `${name} = ${k} is not a constraint index of clause ${ci} (it has ${clause.length})`;
      const rel = clause[k].relation;
      if (!vnnSignAllowed(rel, s)) return `${sn} = ${s}: constraint ${k} of clause ${ci} is '${rel}', which allows ${rel === '<=' ? '+1' : '-1'} only`;
    }
  }
  return null;
}

/**
 * The defect of the slope group at offset o of slope-hinted leaf n with N neurons (integers,
 * sign, slopes in [0, VNN_ALPHA_SCALE]; with `spec` the indices' range and the sign), or null.
 */
function alphaFault(n: readonly unknown[], o: number, N: number, spec: VnnlibSpec | undefined): string | null {
  const [ci, k, s] = n.slice(o, o + 3);
  for (const [name, x] of [['ci', ci], ['k', k]] as const) {
    if (!(typeof x === 'number' && Number.isInteger(x) && x >= 0)) return `${name} = ${JSON.stringify(x)} is not a non-negative integer index`;
  }
  if (s !== 1 && s !== -1) return `s = ${JSON.stringify(s)} is not +1 or -1`;
  for (let j = 0; j < N; j++) {
    const a = n[o + 3 + j];
    if (!(typeof a === 'number' && Number.isInteger(a) && a >= 0 && a <= VNN_ALPHA_SCALE)) return `slope ${j} is ${JSON.stringify(a)}, not an integer 0..${VNN_ALPHA_SCALE}`;
  }
  if (spec) {
    const [c, kk, sg] = [ci, k, s] as number[];
    if (c >= spec.outputDnf.length) return `ci = ${c} is not a clause index 0..${spec.outputDnf.length - 1}`;
    const clause = spec.outputDnf[c];
    if (kk >= clause.length) return `k = ${kk} is not a constraint index of clause ${c} (it has ${clause.length})`;
    const rel = clause[kk].relation;
    if (!vnnSignAllowed(rel, sg)) return `s = ${sg}: constraint ${kk} of clause ${c} is '${rel}', which allows ${rel === '<=' ? '+1' : '-1'} only`;
  }
  return null;
}

/** Throw `bad_certificate` for the first defective hint group of node n (a hinted or slope-hinted leaf). */
function checkHints(n: readonly unknown[], where: string, spec: VnnlibSpec | undefined): void {
  if (n[0] === VNN_ALPHA_LEAF) {
    const N = n[1] as number;
    for (let o = 2, g = 0; o < n.length; o += N + 3, g++) {
      const f = alphaFault(n, o, N, spec);
      if (f) throw bad(`${where} slope hint ${g}: ${f}`);
    }
    return;
  }
  const groups = (n.length - 1) / VNN_HINT_GROUP;
  for (let g = 0; g < groups; g++) {
    const f = hintFault(n, g, spec);
    if (f) throw bad(`${where} hint ${g}: ${f}`);
  }
}

/**
 * Check the shape of a parsed JSON value (fields, types, node arity, hint groups, total node
 * count) and return it as a VnnCertificate. With `spec`, also each hint's clause and constraint
 * indices and signs against that property (validateVnnHints). Semantics (split dimensions,
 * values, depth, tree completeness) are the verifier's job. Throws `bad_certificate` naming the
 * first defect.
 */
export function validateVnnCertificate(v: unknown, spec?: VnnlibSpec): VnnCertificate {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  const c = v as Record<string, unknown>;
  if (c.format !== VNN_CERTIFICATE_FORMAT) throw bad(`format is ${JSON.stringify(c.format)}, expected "${VNN_CERTIFICATE_FORMAT}"`);
  if (typeof c.version !== 'number' || !VNN_CERTIFICATE_VERSIONS.includes(c.version)) {
    throw bad(`version ${JSON.stringify(c.version)} is not supported (this netinvert reads versions ${VNN_CERTIFICATE_VERSIONS.join(', ')})`);
  }
  if (typeof c.modelHash !== 'string') throw bad('modelHash must be a string');
  if (typeof c.specHash !== 'string') throw bad('specHash must be a string');
  if (!Array.isArray(c.trees)) throw bad('trees must be an array (one per input box)');
  let total = 0;
  for (let b = 0; b < c.trees.length; b++) {
    const t = c.trees[b];
    if (!Array.isArray(t)) throw bad(`trees[${b}] must be an array of nodes`);
    total += t.length;
    if (total > VNN_MAX_NODES) throw bad(`more than ${VNN_MAX_NODES} nodes in all`);
    for (let i = 0; i < t.length; i++) {
      const n = t[i];
      const where = `trees[${b}][${i}]`;
      if (Array.isArray(n) && n.length !== 0 && n.length !== 2 && n[0] === VNN_HINTED_LEAF) {
        if (c.version === 1) throw bad(`${where} is a hinted leaf, which version 1 does not have (hints need version ${VNN_CERTIFICATE_VERSION})`);
        if (n.length === 1 || (n.length - 1) % VNN_HINT_GROUP !== 0) {
          throw bad(`${where} is a hinted leaf with ${n.length - 1} number(s) after -1; hints come in groups of ${VNN_HINT_GROUP} (ci, ka, sa, kb, sb, mu, nu)`);
        }
        checkHints(n, where, spec);
        continue;
      }
      if (Array.isArray(n) && n.length > 2 && n[0] === VNN_ALPHA_LEAF) {
        if (c.version < 3) throw bad(`${where} is a slope-hinted leaf, which version ${c.version} does not have (slopes need version 3)`);
        const N = n[1];
        if (!(typeof N === 'number' && Number.isInteger(N) && N >= 1) || (n.length - 2) % (N + 3) !== 0 || n.length < N + 5) {
          throw bad(`${where} is a slope-hinted leaf [-2, N, …] whose length ${n.length} is not 2 + a multiple of N + 3 (N = ${JSON.stringify(N)}: ci, k, s and N slopes per group)`);
        }
        checkHints(n, where, spec);
        continue;
      }
      if (!Array.isArray(n) || (n.length !== 0 && n.length !== 2) || (n.length === 2 && (typeof n[0] !== 'number' || typeof n[1] !== 'number'))) {
        throw bad(`${where} must be [] (leaf) or [dimension, threshold] (split), or [-1, ci, ka, sa, kb, sb, mu, nu, …] (hinted leaf), or [-2, N, ci, k, s, N slopes, …] (slope-hinted leaf)`);
      }
    }
  }
  return c as unknown as VnnCertificate;
}

/**
 * Check every hint of a shape-checked certificate against the property it is for: ci a clause
 * of spec.outputDnf, ka and kb constraints of that clause, sa and sb forms their relations
 * allow. Throws `bad_certificate` naming the first defect.
 */
export function validateVnnHints(cert: VnnCertificate, spec: VnnlibSpec): void {
  for (let b = 0; b < cert.trees.length; b++) {
    const t = cert.trees[b];
    for (let i = 0; i < t.length; i++) if (t[i].length > 2) checkHints(t[i], `trees[${b}][${i}]`, spec);
  }
}

/** JSON text of a certificate (split values are written with full precision by JSON.stringify). */
export function serializeVnnCertificate(cert: VnnCertificate): string {
  return JSON.stringify(cert);
}

/** Parse and shape-check certificate JSON text, hints against `spec` when given (throws `bad_certificate`). */
export function parseVnnCertificate(text: string, spec?: VnnlibSpec): VnnCertificate {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  return validateVnnCertificate(v, spec);
}
