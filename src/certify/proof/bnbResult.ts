/**
 * What branch-and-bound proved, as plain data: the material of a certificate. Its own file so
 * that certificate.ts (which builds certificates from it) and bnb.ts (which consults the
 * certificate verifier's own checks) need not import each other.
 */
export interface ExcludedBox {
  lo: number[];
  hi: number[];
  /** Target index whose output enclosure misses the (tolerance-widened) target; −1 when `constraint` excludes the box. */
  target: number;
  /**
   * Index into problem.constraints of a linear constraint among the inputs that no point of the
   * box meets (interval arithmetic over the box, widened by the constraint's tolerance):
   * outputLo / outputHi then enclose the constraint's form.
   */
  constraint?: number;
  outputLo: number;
  outputHi: number;
}

export interface RootBox {
  lo: number[];
  hi: number[];
  root: number[];
}

export interface BnbResult {
  /** Boxes excluded with the tolerance (certificate material). */
  excluded: ExcludedBox[];
  /** Boxes proven to hold no exact root (square systems), though maybe points within tolerance. */
  rootFree: { lo: number[]; hi: number[]; reason: 'range' | 'krawczyk' }[];
  roots: RootBox[];
  /** Boxes left undecided (budget, or not a square system). */
  undecided: { lo: number[]; hi: number[] }[];
  /** Volume fraction (in box-width units) proven to hold no point meeting the targets. */
  excludedFraction: number;
  /** Proven lower bound on the smallest worst-output miss over the whole box (−∞ if none). */
  lowerBound: number;
  boxes: number;
  budgetHit: boolean;
  /** Which budget ran out, when one did. */
  budgetReason?: 'boxes' | 'evaluations' | 'time' | 'interrupted';
  /** Milliseconds spent in the independent verifier's own checks (what verifyCertificate will repeat). */
  verifyMs: number;
  square: boolean;
  /**
   * With BnbOptions.handOff: the boxes still waiting when the run handed off (not searched; not
   * in `undecided`), each `plain` when a relaxation claim on it was withdrawn.
   */
  frontier?: { lo: number[]; hi: number[]; plain?: boolean }[];
  /** With handOff: the smallest worst-output miss over the closed boxes (Infinity when none), for merging pieces' lowerBound. */
  minMiss?: number;
}
