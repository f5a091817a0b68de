/**
 * The unsat certificate of a VNNLIB property (`netinvert verify`), and its JSON form.
 *
 * A VNNLIB file states the UNSAFE set (formats/vnnlib/types.ts). The property holds ("unsat")
 * iff no x in any input box has outputs satisfying any clause of the output DNF. The certificate
 * gives, per input box, a finite bisection tree over the inputs whose every leaf box refutes
 * every clause; vnnVerifier.ts re-checks each leaf with its own sound bounds.
 *
 * Tree encoding (preorder): a node is `[d, t]` (split input d at t: the left child has hi[d] = t,
 * the right child lo[d] = t) or `[]` (a leaf). `trees[b]` belongs to `spec.inputBoxes[b]`.
 */
import { NetinvertError } from '../../errors.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import type { Model } from '../../model.ts';

export const VNN_CERTIFICATE_FORMAT = 'netinvert-vnn-certificate';
export const VNN_CERTIFICATE_VERSION = 1;
/** Deepest split chain a tree may have (a box halved 64 times is below any float's resolution). */
export const VNN_MAX_DEPTH = 64;
/** Most nodes, over all trees, that a certificate may hold (ACAS Xu proofs need up to ~10^5 leaves). */
export const VNN_MAX_NODES = 20_000_000;

export interface VnnCertificate {
  format: 'netinvert-vnn-certificate';
  version: 1;
  /** Model.hash of the net the proof is about. */
  modelHash: string;
  /** vnnSpecHash of the property the proof is about. */
  specHash: string;
  /** trees[b]: the preorder node list for spec.inputBoxes[b]; `[d, t]` split, `[]` leaf. */
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

/**
 * Check the shape of a parsed JSON value (fields, types, node arity, total node count) and
 * return it as a VnnCertificate. Semantics (split dimensions, values, depth, tree completeness)
 * are the verifier's job. Throws `bad_certificate` naming the first defect.
 */
export function validateVnnCertificate(v: unknown): VnnCertificate {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  const c = v as Record<string, unknown>;
  if (c.format !== VNN_CERTIFICATE_FORMAT) throw bad(`format is ${JSON.stringify(c.format)}, expected "${VNN_CERTIFICATE_FORMAT}"`);
  if (c.version !== VNN_CERTIFICATE_VERSION) throw bad(`version ${JSON.stringify(c.version)} is not supported (this netinvert reads version ${VNN_CERTIFICATE_VERSION})`);
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
      if (!Array.isArray(n) || (n.length !== 0 && n.length !== 2) || (n.length === 2 && (typeof n[0] !== 'number' || typeof n[1] !== 'number'))) {
        throw bad(`trees[${b}][${i}] must be [] (leaf) or [dimension, threshold] (split)`);
      }
    }
  }
  return c as unknown as VnnCertificate;
}

/** JSON text of a certificate (split values are written with full precision by JSON.stringify). */
export function serializeVnnCertificate(cert: VnnCertificate): string {
  return JSON.stringify(cert);
}

/** Parse and shape-check certificate JSON text (throws `bad_certificate`). */
export function parseVnnCertificate(text: string): VnnCertificate {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  return validateVnnCertificate(v);
}
