/**
 * Root boxes (boxes Krawczyk proves to hold exactly one exact root): the box tests that
 * branch-and-bound and its parallel merge share, and the rule that says when two root boxes hold
 * the same root, used by the solution list and the certificate alike (certify.ts).
 */
import type { Problem } from '../../problem/query.ts';
import type { RootBox } from './bnbResult.ts';
import { verifierInsideConstraint } from './certificate.ts';
import { krawczyk, squareSystem } from './krawczyk.ts';

type Box = { lo: ArrayLike<number>; hi: ArrayLike<number> };

/** Is the point x in box b (faces included)? */
export function pointInBox(x: ArrayLike<number>, b: Box): boolean {
  for (let j = 0; j < b.lo.length; j++) if (!(x[j] >= b.lo[j] && x[j] <= b.hi[j])) return false;
  return true;
}

/** Is box b wholly inside box r? */
export function boxInside(b: Box, r: Box): boolean {
  for (let j = 0; j < b.lo.length; j++) if (b.lo[j] < r.lo[j] || b.hi[j] > r.hi[j]) return false;
  return true;
}

/**
 * Does box [lo, hi] lie wholly inside every inequality constraint among the inputs (the
 * certificate verifier's own test)? A root box must: Krawczyk proves a root of the equalities
 * (targets and equality constraints) only.
 */
export function insideInequalities(problem: Problem, lo: ArrayLike<number>, hi: ArrayLike<number>): boolean {
  return (problem.constraints ?? []).every((c, ci) => c.kind === 'eq' || verifierInsideConstraint(problem, ci, lo, hi));
}

/**
 * Do root boxes a and b hold the same root? Each holds exactly one exact root, so they do when
 * the root listed for one lies in the other's box (the root found there is that box's one root).
 * The rule the solution list and the certificate share.
 */
export function sameRoot(a: RootBox, b: RootBox): boolean {
  return pointInBox(b.root, a) || pointInBox(a.root, b);
}

/**
 * The proof's root boxes with each root listed once (sameRoot), covering what they covered: a
 * box inside another root box of the same root is dropped; one that holds the other takes its
 * place (keeping the root listed first); two that only overlap are replaced by their hull when
 * Krawczyk proves the hull holds exactly one root and, with inequality constraints among the
 * inputs, the hull lies inside every one of them (the certificate verifier's own test), as for
 * any root box branch-and-bound claims. Where the hull cannot be proven, both boxes stay (the
 * cover needs them; the solution list still shows the root once). The first listed root of a
 * group is kept, in the order of the list.
 */
export function distinctRootBoxes(problem: Problem, roots: readonly RootBox[]): RootBox[] {
  const out = roots.slice();
  if (out.length < 2) return out;
  const sys = squareSystem(problem);
  // pairs whose hull Krawczyk did not prove (boxes are never edited, so the answer stands)
  const unproven = new WeakMap<RootBox, Set<RootBox>>();
  const merged = (a: RootBox, b: RootBox): RootBox | null => {
    if (!sameRoot(a, b)) return null;
    if (boxInside(b, a)) return a;
    if (boxInside(a, b)) return { lo: b.lo, hi: b.hi, root: a.root };
    if (!sys || unproven.get(a)?.has(b)) return null;
    const lo = a.lo.map((l, j) => Math.min(l, b.lo[j])),
      hi = a.hi.map((h, j) => Math.max(h, b.hi[j]));
    if (insideInequalities(problem, lo, hi) && krawczyk(sys, Float64Array.from(lo), Float64Array.from(hi)) === 'unique') return { lo, hi, root: a.root };
    if (!unproven.has(a)) unproven.set(a, new Set());
    unproven.get(a)!.add(b);
    return null;
  };
  // fold each later box into the first earlier one it merges with, until none merges
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < out.length && !changed; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const m = merged(out[i], out[j]);
        if (!m) continue;
        out[i] = m;
        out.splice(j, 1);
        changed = true;
        break;
      }
    }
  }
  return out;
}
