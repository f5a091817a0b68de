/**
 * Certificate tampering: each kind makes one corrupted copy of a certificate. verifyCertificate
 * must reject it — unless the tampered certificate still states something true and proves it
 * (growing a tolerance on an infeasible claim that still holds, shrinking the box, …).
 *
 * `judgeStatement` decides, with the oracle only, whether a certificate's statement is true:
 *   - malformed (a negative tolerance, lo > hi, names the net lacks, an input both given and
 *     unknown, a root outside its box, an output enclosure the oracle's samples break, boxes that
 *     leave a sampled point of the query box uncovered, a completeness claim without a square
 *     system of equalities, another model's hash) → false;
 *   - 'infeasible': the oracle finds no point meeting the bands;
 *   - 'complete': the oracle finds no root outside the listed root boxes.
 * An accepted tampered certificate whose statement the oracle cannot refute counts as
 * "tamper-still-valid"; one it refutes is a violation.
 *
 * The tampering works on the certificate as plain JSON (any version): the kinds that need a
 * field the certificate lacks are not applicable to it.
 */
import { enclosureCounterexample, findFeasible, findUnlistedRoot, type Band, type Grid, type OracleNet, type Slice, type Witness } from './oracle.ts';

/** A certificate as plain JSON (the fields the tampering and the oracle read). */
export type CertJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Tampering {
  kind: string;
  /** The tampered copy, or null when the kind does not apply to this certificate. */
  apply(c: CertJson): CertJson | null;
}

const clone = (c: CertJson): CertJson => JSON.parse(JSON.stringify(c)) as CertJson;

/** The embedded query (format 2) when there is one. */
const embedded = (c: CertJson): CertJson | null => (c.query && typeof c.query === 'object' ? c.query : null);
/** Where given / unknowns / box / targets live: the embedded query (format 2) or the top level (format 1). */
const q = (c: CertJson): CertJson => embedded(c) ?? c;

/** Given, unknowns and box of a certificate as one string (same slice ⇔ same string). */
export function sliceKey(c: CertJson): string {
  const x = q(c);
  return JSON.stringify([x.given, x.unknowns, x.box]);
}

export const TAMPERINGS: Tampering[] = [
  {
    kind: 'tolerance-negative',
    apply(c) {
      const t = clone(c);
      const e = embedded(t);
      if (e && 'atol' in e) e.atol = -1;
      else if (t.targets?.length) t.targets[0].tolerance = -1;
      else return null;
      return t;
    },
  },
  {
    kind: 'tolerance-huge',
    apply(c) {
      const t = clone(c);
      const e = embedded(t);
      if (e && 'atol' in e) e.atol = (Math.abs(e.atol) + 1) * 1e6;
      else if (t.targets?.length) for (const tg of t.targets) tg.tolerance = (Math.abs(tg.tolerance) + 1) * 1e6;
      else return null;
      return t;
    },
  },
  {
    kind: 'target-swap',
    apply(c) {
      const t = clone(c);
      const tg = q(t).targets?.[0];
      if (!tg) return null;
      // an equality becomes the empty range [t + 1, t − 1]; a range has its ends swapped
      if (tg.lo !== null && tg.hi !== null) {
        const lo = tg.lo === tg.hi ? tg.lo - 1 : tg.lo;
        const hi = tg.lo === tg.hi ? tg.hi + 1 : tg.hi;
        tg.lo = hi;
        tg.hi = lo;
      } else {
        [tg.lo, tg.hi] = [tg.hi, tg.lo];
      }
      return t;
    },
  },
  {
    kind: 'target-move',
    apply(c) {
      const t = clone(c);
      const tg = q(t).targets?.[0];
      if (!tg) return null;
      const anchor = tg.lo ?? tg.hi;
      const d = 0.37 * (Math.abs(anchor) + 1);
      if (tg.lo !== null) tg.lo += d;
      if (tg.hi !== null) tg.hi += d;
      return t;
    },
  },
  {
    kind: 'box-grow',
    apply(c) {
      const t = clone(c);
      const b = q(t).box,
        b0 = q(c).box;
      if (!b) return null;
      b.lo = b0.lo.map((l: number, j: number) => l - 0.5 * (b0.hi[j] - l) - 0.01);
      b.hi = b0.hi.map((h: number, j: number) => h + 0.5 * (h - b0.lo[j]) + 0.01);
      return t;
    },
  },
  {
    kind: 'box-shrink',
    apply(c) {
      const t = clone(c);
      const b = q(t).box,
        b0 = q(c).box;
      if (!b) return null;
      b.lo = b0.lo.map((l: number, j: number) => l + 0.25 * (b0.hi[j] - l));
      b.hi = b0.hi.map((h: number, j: number) => h - 0.25 * (h - b0.lo[j]));
      return t;
    },
  },
  {
    kind: 'gap',
    apply(c) {
      const t = clone(c);
      // drop the largest box of the cover
      const lists = ['excluded', 'rootFree'].filter((k) => Array.isArray(t[k]) && t[k].length > 0);
      if (!lists.length) return null;
      let bestK = lists[0],
        bestI = 0,
        bestV = -1;
      for (const k of lists) {
        t[k].forEach((b: { lo: number[]; hi: number[] }, i: number) => {
          const v = b.lo.reduce((a, l, j) => a * (b.hi[j] - l + 1e-300), 1);
          if (v > bestV) [bestK, bestI, bestV] = [k, i, v];
        });
      }
      t[bestK].splice(bestI, 1);
      return t;
    },
  },
  {
    kind: 'hash',
    apply(c) {
      const t = clone(c);
      if (typeof t.modelHash !== 'string') return null;
      t.modelHash = t.modelHash.slice(0, -1) + (t.modelHash.endsWith('0') ? '1' : '0');
      return t;
    },
  },
  {
    kind: 'roots',
    apply(c) {
      const t = clone(c);
      if (!Array.isArray(t.roots) || t.roots.length === 0) return null;
      t.roots[0].root = t.roots[0].root.map((v: number) => v + 1000);
      return t;
    },
  },
  {
    kind: 'outputLo/Hi',
    apply(c) {
      const t = clone(c);
      const e = t.excluded?.[0];
      if (!e) return null;
      // claim the output over the box sits far from where it is (format 2 has no such fields: they are added)
      const lo0 = typeof e.outputLo === 'number' ? e.outputLo : 0,
        hi0 = typeof e.outputHi === 'number' ? e.outputHi : 0;
      const w = Math.abs(hi0 - lo0) + Math.abs(hi0) + 1;
      e.outputLo = hi0 + w;
      e.outputHi = e.outputLo + 1;
      return t;
    },
  },
  {
    kind: 'given',
    apply(c) {
      const t = clone(c);
      const g = q(t).given ?? {};
      const keys = Object.keys(g);
      if (keys.length) {
        g[keys[0]] += 0.5 * (Math.abs(g[keys[0]]) + 1);
        return t;
      }
      // nothing given: give the first unknown as well (an input both given and unknown)
      const u = q(t).unknowns;
      if (!u?.length) return null;
      q(t).given = { [u[0]]: 0 };
      return t;
    },
  },
  {
    kind: 'unknowns-rename',
    apply(c) {
      const t = clone(c);
      const u = q(t).unknowns;
      if (!u?.length) return null;
      u[0] = `${u[0]}_renamed`;
      return t;
    },
  },
  {
    kind: 'unknowns-reorder',
    apply(c) {
      const t = clone(c);
      const u = q(t).unknowns;
      if (!u || u.length < 2) return null;
      u.reverse();
      return t;
    },
  },
  {
    kind: 'claim',
    apply(c) {
      const t = clone(c);
      if (t.claim === 'infeasible') t.claim = 'complete';
      else if (t.claim === 'complete') t.claim = 'infeasible';
      else return null;
      return t;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The oracle's judgement of a certificate's statement
// ---------------------------------------------------------------------------------------------

export interface Judgement {
  holds: boolean;
  why: string;
  witness?: Witness;
}

type Box = { lo: number[]; hi: number[] };

function halton(k: number, base: number): number {
  let f = 1,
    r = 0;
  while (k > 0) {
    f /= base;
    r += f * (k % base);
    k = Math.floor(k / base);
  }
  return r;
}

/** A sampled point of `box` that no box of `pieces` contains, or null (sampling: finds gaps, proves nothing). */
export function uncoveredPoint(box: Box, pieces: Box[], extra: Box[] = [], samples = 1500): number[] | null {
  const n = box.lo.length;
  const inside = (u: number[]): boolean => pieces.some((b) => u.every((v, j) => v >= b.lo[j] && v <= b.hi[j]));
  const pts: number[][] = [];
  for (const b of extra) pts.push(b.lo.map((l, j) => 0.5 * (l + b.hi[j])));
  for (let c = 0; c < 2 ** n; c++) pts.push(box.lo.map((l, j) => ((c >> j) & 1 ? box.hi[j] : l)));
  const primes = [2, 3, 5, 7];
  for (let k = 1; k <= samples; k++) pts.push(box.lo.map((l, j) => l + halton(k, primes[j % 4]) * (box.hi[j] - l)));
  for (const u of pts) if (u.every((v, j) => v >= box.lo[j] && v <= box.hi[j]) && !inside(u)) return u;
  return null;
}

/**
 * Is this certificate's statement true, as far as the oracle can tell? `hash` is the model's
 * hash (the only thing the oracle takes from the library: a certificate for another model
 * states nothing about this one). `grid` may be a grid over the certificate's own box and given.
 */
export function judgeStatement(net: OracleNet, hash: string, c: CertJson, grid?: Grid): Judgement {
  const no = (why: string, witness?: Witness): Judgement => ({ holds: false, why, ...(witness ? { witness } : {}) });
  if (c.modelHash !== hash) return no('certificate for another model');
  const cq = q(c);
  const unknowns: string[] = cq.unknowns ?? [];
  const given: Record<string, number> = cq.given ?? {};
  if (!unknowns.length) return no('no unknowns');
  for (const u of unknowns) if (net.inputIndex(u) < 0) return no(`unknown "${u}" is not an input`);
  for (const g of Object.keys(given)) if (net.inputIndex(g) < 0) return no(`given "${g}" is not an input`);
  for (const name of net.inputNames) {
    const both = unknowns.includes(name) && name in given;
    const neither = !unknowns.includes(name) && !(name in given);
    if (both || neither) return no(`input "${name}" is ${both ? 'both given and unknown' : 'neither given nor unknown'}`);
  }
  if (new Set(unknowns).size !== unknowns.length) return no('an unknown is named twice');
  const box: Box = cq.box;
  const n = unknowns.length;
  if (!box || box.lo.length !== n || box.hi.length !== n || box.lo.some((l, j) => !(l <= box.hi[j]))) return no('bad box');
  const e2 = embedded(c);
  if (e2) {
    // format 2: tolerances from the embedded atol / rtol (docs/design.md rule)
    if (!(e2.atol >= 0) || !(e2.rtol >= 0) || !Number.isFinite(e2.atol) || !Number.isFinite(e2.rtol)) return no(`embedded atol ${e2.atol} / rtol ${e2.rtol} are not finite numbers ≥ 0`);
    if (e2.atol === 0 && e2.rtol === 0) return no('atol and rtol both 0');
  }
  const targets: { output: string; kind?: string; lo: number | null; hi: number | null; tolerance: number }[] = (cq.targets ?? []).map(
    (t: { output: string; kind?: string; lo: number | null; hi: number | null; tolerance?: number }) => ({
      ...t,
      tolerance: e2 ? (t.kind === 'eq' ? e2.atol + e2.rtol * Math.abs(t.lo ?? 0) : e2.atol) : (t.tolerance as number),
    }),
  );
  if (!targets.length) return no('no targets');
  for (const t of targets) {
    if (t.kind === 'eq' && t.lo !== t.hi) return no(`equality target "${t.output}" has lo ${t.lo} ≠ hi ${t.hi}`);
    if (t.lo === null && t.hi === null) return no(`target "${t.output}" has neither end`);
  }
  for (const t of targets) {
    if (net.outputIndex(t.output) < 0) return no(`target "${t.output}" is not an output`);
    if (!(t.tolerance >= 0) || !Number.isFinite(t.tolerance)) return no(`tolerance ${t.tolerance} is not a finite number ≥ 0`);
    if (t.lo !== null && t.hi !== null && t.lo > t.hi) return no(`target "${t.output}" has lo ${t.lo} > hi ${t.hi}`);
  }
  const slice: Slice = { given, unknowns, lo: box.lo, hi: box.hi };
  // the proof's own statements: enclosures and the cover
  const excluded: { lo: number[]; hi: number[]; target: number; outputLo?: number; outputHi?: number }[] = c.excluded ?? [];
  const rootFree: Box[] = c.claim === 'complete' ? (c.rootFree ?? []) : [];
  const roots: { lo: number[]; hi: number[]; root: number[] }[] = c.claim === 'complete' ? (c.roots ?? []) : [];
  for (const b of [...excluded, ...rootFree, ...roots]) if (b.lo.length !== n || b.hi.length !== n) return no('a box has the wrong dimension');
  for (const r of roots) {
    if (!r.root || r.root.length !== n || r.root.some((v, j) => !(v >= r.lo[j] && v <= r.hi[j]))) return no('a root lies outside its own box');
  }
  const gap = uncoveredPoint(box, [...excluded, ...rootFree, ...roots]);
  if (gap) return no(`point ${JSON.stringify(gap)} of the box is in no box of the certificate`);
  for (const e of excluded.slice(0, 64)) {
    const t = targets[e.target];
    if (!t) return no('an excluded box names a target that does not exist');
    if (typeof e.outputLo === 'number' && typeof e.outputHi === 'number') {
      const w = enclosureCounterexample(net, { given, unknowns, lo: e.lo, hi: e.hi }, t.output, e.outputLo, e.outputHi, 8);
      if (w) return no(`an excluded box's output enclosure is false: ${w.note}`, w);
    }
  }
  const bands: Band[] = targets.map((t) => ({ output: t.output, lo: t.lo, hi: t.hi, tolerance: t.tolerance }));
  if (c.claim === 'infeasible') {
    const w = findFeasible(net, slice, bands, grid);
    return w?.rigorous ? no(`a point meets every target: ${w.note}`, w) : { holds: true, why: 'the oracle finds no point meeting the targets' };
  }
  if (c.claim === 'complete') {
    if (targets.length !== n || targets.some((t) => t.lo === null || t.lo !== t.hi)) return no('a completeness claim needs one equality per unknown');
    const w = findUnlistedRoot(
      net,
      slice,
      targets.map((t) => ({ output: t.output, value: t.lo as number })),
      roots,
      grid,
    );
    return w ? no(`an unlisted root: ${w.note}`, w) : { holds: true, why: 'the oracle finds no unlisted root' };
  }
  return no(`unknown claim "${String(c.claim)}"`);
}
