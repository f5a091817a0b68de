/**
 * STAND-IN for certify/proof/{vnnCertificate,vnnVerifier}.ts (being written on another branch),
 * with exactly their signatures. The stand-in verifier re-walks the trees, checks that splits
 * stay inside their boxes and that each leaf refutes every clause with the generic CROWN engine
 * (bounds/crown.ts on the model extended by the forms), not with the chain bounder the search uses.
 * Replace the imports in decide.ts by the real modules when they land on main, then delete this file.
 */
import { NetinvertError } from '../../errors.ts';
import { crownBounds } from '../bounds/crown.ts';
import type { Model } from '../../model.ts';
import type { Problem } from '../../problem/query.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import { extendedModel, specForms } from './bounds.ts';
import { nextDown } from '../../graph/round.ts';

export interface VnnCertificate {
  format: 'netinvert-vnn-certificate';
  version: 1;
  modelHash: string;
  specHash: string;
  trees: number[][][];
}

export interface VnnVerifyResult {
  ok: boolean;
  reason?: string;
  leaves: number;
  seconds: number;
}

export function vnnSpecHash(spec: VnnlibSpec): string {
  let h = 0x811c9dc5 | 0;
  const feed = (v: number): void => {
    const s = String(v);
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  };
  feed(spec.numInputs);
  feed(spec.numOutputs);
  for (const b of spec.inputBoxes) for (let i = 0; i < b.lo.length; i++) (feed(b.lo[i]), feed(b.hi[i]));
  for (const c of spec.outputDnf) for (const k of c) (k.coeffs.forEach(feed), feed(k.constant), feed(k.relation.length));
  return `stub:${(h >>> 0).toString(16)}`;
}

export function buildVnnCertificate(model: Model, spec: VnnlibSpec, trees: number[][][]): VnnCertificate {
  if (trees.length !== spec.inputBoxes.length) throw new NetinvertError('bad_argument', `buildVnnCertificate: ${trees.length} tree(s) for ${spec.inputBoxes.length} input box(es)`);
  return { format: 'netinvert-vnn-certificate', version: 1, modelHash: model.hash, specHash: vnnSpecHash(spec), trees };
}

export function verifyVnnCertificate(model: Model, spec: VnnlibSpec, cert: VnnCertificate | unknown): VnnVerifyResult {
  const t0 = performance.now();
  const fail = (reason: string, leaves = 0): VnnVerifyResult => ({ ok: false, reason, leaves, seconds: (performance.now() - t0) / 1000 });
  const c = cert as VnnCertificate;
  if (!c || c.format !== 'netinvert-vnn-certificate' || c.modelHash !== model.hash || c.specHash !== vnnSpecHash(spec)) return fail('not a certificate of this model and spec');
  if (!Array.isArray(c.trees) || c.trees.length !== spec.inputBoxes.length) return fail('wrong number of trees');
  const f = specForms(spec);
  const ext = extendedModel(model, f);
  const n = spec.numInputs;
  const leafLo: number[] = [],
    leafHi: number[] = [];
  for (let b = 0; b < c.trees.length; b++) {
    const tree = c.trees[b];
    let pos = 0;
    const walk = (lo: Float64Array, hi: Float64Array, depth: number): string | null => {
      if (depth > 64) return 'too deep';
      if (pos >= tree.length) return 'tree ends early';
      const node = tree[pos++];
      if (node.length === 0) {
        leafLo.push(...lo);
        leafHi.push(...hi);
        return null;
      }
      const [d, t] = node;
      if (!Number.isInteger(d) || d < 0 || d >= n || !(t > lo[d] && t < hi[d])) return `bad split ${JSON.stringify(node)}`;
      const h1 = hi.slice();
      h1[d] = t;
      const l2 = lo.slice();
      l2[d] = t;
      return walk(lo, h1, depth + 1) ?? walk(l2, hi, depth + 1);
    };
    const why = walk(spec.inputBoxes[b].lo.slice(), spec.inputBoxes[b].hi.slice(), 0);
    if (why) return fail(why);
    if (pos !== tree.length) return fail('tree has extra nodes');
  }
  const rows = leafLo.length / n;
  const w = f.nOut + f.m;
  const { lo, hi } = crownBounds({ model: ext } as Problem, Float64Array.from(leafLo), Float64Array.from(leafHi), rows);
  for (let r = 0; r < rows; r++) {
    for (const clause of f.clauses) {
      let refuted = false;
      for (const q of clause) {
        let e = f.cErr[q];
        for (let j = 0; j < f.nOut; j++) e += f.Cerr[q * f.nOut + j] * Math.max(Math.abs(lo[r * w + j]), Math.abs(hi[r * w + j]));
        if (nextDown(lo[r * w + f.nOut + q] - e) > 0) refuted = true;
      }
      if (!refuted) return fail(`leaf ${r}: a clause is not refuted`, r);
    }
  }
  return { ok: true, leaves: rows, seconds: (performance.now() - t0) / 1000 };
}
