/**
 * Decide a VNNLIB property on a model: `sat` (a counterexample: an input in the input set whose
 * output, by a float64 forward pass, lies in the unsafe set), `unsat` (proven: a split tree whose
 * every leaf refutes every unsafe clause, re-checked by the independent certificate verifier), or
 * `unknown` (budget, or a proof the verifier did not confirm).
 *
 * 1. Falsification: projected sign-gradient descent (PGD, Madry et al. 2018) from many starts per
 *    input box and clause on the clause's violation Σ_q max(0, g_q(f(x)) + slack_q), batched (one
 *    forward pass and one reverse-mode Jacobian per step for all starts), plus as many sample
 *    points on the box's faces (FACE_SHARE). Most VNN-COMP sat instances fall here in milliseconds.
 * 2. Complete search: best-first branch and bound over the input boxes (solve/branchAndBound.ts), each
 *    round bounding a batch of boxes with bounds.ts (CROWN of the clause forms). A box is closed
 *    when every clause has a form with lower bound > 0; otherwise its centre and the vertices
 *    minimising its open clauses' linear lower bounds (vertexCandidates) are tried as
 *    counterexamples, a short PGD starts from the best of them, and it is split at the midpoint
 *    of the input maximising width_d·|λ_d| summed over the undecided clauses' best forms (the
 *    forms' input coefficients: a "smear" heuristic, Kearfott 1996; ReluVal, Wang et al. 2018), or
 *    the widest relative to the root box.
 * 3. A closed search becomes a certificate ({format, version, modelHash, specHash, trees}) and
 *    unsat is answered only when verifyVnnCertificate accepts it.
 */
import { NetinvertError } from '../../errors.ts';
import { nextDown, nextUp } from '../../graph/round.ts';
import type { Model } from '../../model.ts';
import type { Network } from '../../graph/network.ts';
import { mulberry32 } from '../../numeric/rng.ts';
import type { VnnlibSpec } from '../../formats/vnnlib/types.ts';
import { runBranchAndBound, type BoundOutcome, type DriverCallbacks, type DriverResult } from '../../solve/branchAndBound.ts';
import { VnnBounder, formValues, type SpecForms, type VnnAlphaOptions } from './bounds.ts';
import { buildVnnCertificate, isVnnLeaf, VNN_ALPHA_LEAF, VNN_HINTED_LEAF, type VnnCertificate } from '../proof/vnnCertificate.ts';
import { verifyVnnCertificate, type VnnPathLeaf } from '../proof/vnnVerifier.ts';

/**
 * Where the search sends the leaves it closes, to be refuted by the independent verifier while it
 * goes on (cli/leafThread.ts: a second thread, which the calling thread helps at the end); `finish`
 * returns their keys (vnnRefutedLeaves) once that is done, for the end check to skip
 * (verifyVnnCertificate's `refuted`).
 */
export interface LeafSink {
  submit(leaves: VnnPathLeaf[]): void;
  finish(deadline: number): ReadonlySet<string>;
  /**
   * Optional: run falsification's restarts there too (after the first round, which decideVnnlib
   * runs itself), for at most `ms` of their own time, instead of interleaving them with the
   * search; `witness` returns one found there (unchecked: decideVnnlib re-checks it with a forward
   * pass of its own), or null.
   */
  restarts?(o: RestartPlan): void;
  witness?(): VnnWitness | null;
}

/** What a LeafSink's restarts run: falsify on `boxes` with seeds restartSeed(seed, k), k = 1, 2, …, as the interleaved restarts do (with `first`, k = 0 first: the first round's seed). */
export interface RestartPlan {
  boxes: { lo: Float64Array; hi: Float64Array }[];
  seed: number;
  ms: number;
  starts?: number;
  steps?: number;
  /** Run the full first round (seed `seed`) before the restarts. */
  first?: boolean;
}

export interface DecideOptions {
  /** Wall-clock budget in seconds (default 60). */
  timeout?: number;
  /** Most boxes bounded in the search (default ∞). */
  maxBoxes?: number;
  /** Boxes per bound pass (default 64). */
  batch?: number;
  /** PGD starts per input box and clause (default 64) and steps (default 60). */
  starts?: number;
  steps?: number;
  seed?: number;
  /**
   * Intermediate bounds of chain nets: 'crown' back-substitutes every crossing pre-activation
   * (tightest), 'symbolic' keeps forward symbolic intervals (cheaper; what the verifier does).
   */
  intermediate?: 'crown' | 'symbolic';
  /** Share of the budget falsification may use in restarts after its first round (default 0.05, at most 3 s). */
  falsifyShare?: number;
  /**
   * When the certificate verifier checks leaves: 'end' (default) verifies the finished proof and
   * repairs it under the leaves it rejects; 'search' checks every leaf as the search closes it.
   */
  verifyLeaves?: 'end' | 'search';
  /**
   * How an open box picks the input to halve: 'lookahead' bounds both halves along every input
   * and takes the split whose children's summed deficit Σ min(worst clause bound, 0) is least (the
   * chosen children keep their bounds); 'smear' takes the largest |∂form/∂x_d|·width_d of the
   * back-substituted form (ReluVal's smear, Wang et al. 2018). Default: 'lookahead' on chain nets
   * (measured on ACAS Xu), 'smear' on other graphs.
   */
  branching?: 'lookahead' | 'smear';
  /**
   * How the look-ahead bounds the candidate halves (chain nets): 'full', the search's own bounds
   * (refined intermediates, alpha-CROWN), which the chosen halves keep; or 'cheap', forward
   * symbolic intermediates inside the box's own refined bounds and no alpha, the chosen halves
   * then bounded in full when taken. Default 'full'. Measured on ACAS Xu (one thread, all 45
   * property 1 instances): 'cheap' takes 5–10 % more boxes and 10–40 % less time on most, but
   * 1_3 degenerates (133 → 5,535 boxes, 1.4 → 35 s); on properties 2, 3, 5, 6 (four forms, where
   * alpha and pairs decide) it takes 1.2–3× the boxes and up to 2× the time (4_2 property 2).
   */
  lookahead?: 'full' | 'cheap';
  /** Skip falsification (tests of the proof path). */
  noFalsify?: boolean;
  /**
   * Chain nets: alpha-CROWN slopes for the forms of clauses no single form refutes on a box
   * (bounds.ts VnnBounder; the slopes go into the certificate as slope hints, which the verifier
   * re-checks). false: off; true: DEFAULT_ALPHA; or the optimiser's settings. Default: on
   * (DEFAULT_ALPHA). Measured on ACAS Xu: it decides 1_1 property 5 and 3_3, 4_2 property 2, which
   * input splitting alone leaves undecided at 116 s, and costs nothing measurable elsewhere (13
   * decided instances: 76.0 s off, 76.0 s on).
   */
  alpha?: boolean | VnnAlphaOptions;
  /**
   * Send each closed leaf (its box as the splits from its input box) to this sink as the search
   * closes it, and have the end check skip the leaves it refuted (the certificate's structure and
   * every other leaf are still checked there). Default: none, the end check does every leaf.
   */
  leafSink?: LeafSink;
}

/** The alpha-CROWN settings of `alpha: true` (and the default): 4 warm-started Adam steps on forms within 0.02 of refuting (measured on ACAS Xu, bounds.ts VnnAlphaOptions). */
export const DEFAULT_ALPHA: VnnAlphaOptions = { steps: 4, learningRate: 0.5, floor: -0.02, warm: true };

/** The bound engine for these options (decideVnnlib, and each worker of decideVnnlibParallel). */
export function vnnBounderFor(model: Model, spec: VnnlibSpec, opts: DecideOptions): VnnBounder {
  const alpha = opts.alpha === undefined || opts.alpha === true ? DEFAULT_ALPHA : opts.alpha ? opts.alpha : null;
  return new VnnBounder(model, spec, (opts.intermediate ?? 'crown') === 'crown', alpha);
}

export interface VnnWitness {
  x: number[];
  y: number[];
  /** Index of the unsafe clause the output satisfies. */
  clause: number;
  /** max over the clause's forms of g(y) + its rounding allowance (≤ 0). */
  residual: number;
}

export interface DecideResult {
  status: 'sat' | 'unsat' | 'unknown';
  witness?: VnnWitness;
  certificate?: VnnCertificate;
  /** Why the answer is unknown. */
  reason?: string;
  stats: {
    seconds: number;
    falsifySeconds: number;
    searchSeconds: number;
    verifySeconds: number;
    boxes: number;
    leaves: number;
    maxDepth: number;
    /** Boxes the search's bounds closed that the verifier did not accept (split further). */
    rejectedLeaves: number;
    /** Which bound engine the search used. */
    engine: 'relu-chain' | 'crown';
    /** Boxes bounded by the branching look-ahead (besides `boxes`). */
    lookAhead?: number;
    /** Leaves the leaf sink refuted (verify: its thread while the search ran, and both threads at the end); the end check skipped them. */
    threadRefuted?: number;
  };
}

export interface Box {
  root: number;
  lo: Float64Array;
  hi: Float64Array;
  dim: number;
  /** Intermediate bounds of the parent box (chain nets), valid on this one. */
  parent?: Float64Array | null;
  /** This box's own, once bounded (handed to its children). */
  state?: Float64Array | null;
  /** Its forms' lower bounds and state, already computed (by the parent's branching look-ahead). */
  pre?: { lo: Float64Array; lam: Float64Array | null; clauseLo: Float64Array; pair: Float64Array; alphaHints: number[] | null; state: Float64Array | null } | null;
  /** Inputs in the order the parent's look-ahead scored them, best first (the children try the first few). */
  rank?: number[] | null;
  /** Levels since the last look at every input. */
  depthRank?: number;
  /** The children the look-ahead bounded for the chosen split (taken by split()). */
  kids?: [Box, Box] | null;
  /** With a leaf sink: the splits from its input box, triples (d, t, side: 0 for [lo, t], 1 for [t, hi]). */
  path?: number[];
}

/** Most milliseconds of falsification restarts after the first round (the search also tries box centres). */
const FALSIFY_CAP_MS = 3000;

/**
 * Of those, decideVnnlib spends at most this many before the search starts; the rest it
 * interleaves with the search, one restart round per bound pass while the restarts have taken at
 * most a third of the search's time so far (FALSIFY_SEARCH_RATIO; a portfolio of falsifier and prover, in the spirit of
 * α,β-CROWN's attack-then-verify and nnenum's early counterexample checks). On the 47 sat ACAS Xu
 * instances the first round alone finds 41 witnesses within 160 ms and the restarts 3 more; an
 * unsat instance no longer pays the whole restart budget before its proof begins.
 */
export const FALSIFY_UPFRONT_MS = 200;

/**
 * With a helper that runs the restarts (verify's check thread), this thread's first round is this
 * small, and the helper runs the full first round (its seed) before the restarts: the easy
 * counterexamples still come at once, and an unsat property starts its search sooner.
 */
export const HELPER_FIRST_ROUND = { starts: 16, steps: 20 };

/** The seed of restart round k (k = 0: the first round's own seed). */
export const restartSeed = (seed: number, k: number): number => seed + 7777 * k;

/** Most milliseconds the restarts after the first round may take: falsifyShare of the budget, FALSIFY_CAP_MS at most. */
const restartCap = (opts: DecideOptions, t0: number, deadline: number): number => Math.min(Math.min(opts.falsifyShare ?? 0.05, 1) * Math.max(0, deadline - t0), FALSIFY_CAP_MS);

/**
 * The interleaved restarts run while they have taken at most 1/FALSIFY_SEARCH_RATIO of the
 * search's time (a 1:3 portfolio). Measured on ACAS Xu against 1:1: the sat instances the search
 * settles late (1_3, 1_5, 5_3 property 2) still end sat, in less time, and the unsat ones spend
 * about a quarter less on falsification (4_9 property 1: 1.6 s → 1.2 s of 7 s).
 */
const FALSIFY_SEARCH_RATIO = 3;

/**
 * Look-ahead branching: a box whose parent scored the inputs tries only the LOOKAHEAD_TOP best of
 * them, and every LOOKAHEAD_FULL_EVERY-th level tries every input again. Measured on six ACAS Xu
 * instances: the same boxes (±4 %) for about 20 % less time than trying every input at every box;
 * 2 inputs, or a full look every 8 levels, made some searches degenerate (1_1 property 6: unknown).
 */
const LOOKAHEAD_TOP = 3;
const LOOKAHEAD_FULL_EVERY = 4;

/**
 * Falsification also checks as many points as its uniform samples that put each input on a face
 * of the box with this probability (half at each bound), uniform otherwise. On a ReLU net each
 * clause's forms are linear on each linear region, so their minimum over the region's intersection
 * with the box lies at a vertex of that polytope, and many such vertices lie on the box's faces
 * (PGD's projected steps end there too). Where the net is flat, uniform points and their zero
 * gradients do not lead there: ACAS Xu 1_9's Jacobian is exactly zero at 76 % of uniform points of
 * property 7's box, whose counterexamples lie where x0 is within 0.5 % of its lower bound (about
 * one uniform point in 10⁵; one of these face points in about 800).
 */
const FACE_SHARE = 0.5;

/** Open boxes per bound pass that the search also runs a short PGD in. */
const SEARCH_PGD_BOXES = 4;

/** Share of the budget kept for verifying (and repairing) the proof once the search closes. */
export const VERIFY_RESERVE = 0.25;

/** Deepest split the certificate format accepts. */
export const MAX_DEPTH = 64;

export function decideVnnlib(model: Model, spec: VnnlibSpec, opts: DecideOptions = {}): DecideResult {
  const t0 = performance.now();
  checkDims(model, spec);
  const timeout = opts.timeout ?? 60;
  const deadline = t0 + timeout * 1000;
  const bounder = vnnBounderFor(model, spec, opts);
  const stats = newStats(bounder);
  const done = (r: Omit<DecideResult, 'stats'>): DecideResult => {
    stats.seconds = (performance.now() - t0) / 1000;
    return { ...r, stats };
  };
  const boxes = spec.inputBoxes.map((b) => ({ lo: innerLo(b.lo, b.hi), hi: innerHi(b.lo, b.hi) }));
  // 1. falsify: the first round and a short share of the restarts; the rest of the restarts run
  // interleaved with the search (FALSIFY_UPFRONT_MS)
  let restart: (() => VnnWitness | null) | undefined;
  // a leaf sink that runs the restarts (verify's second thread) takes them off this thread
  const helper = opts.leafSink?.restarts && opts.leafSink.witness ? opts.leafSink : null;
  if (!opts.noFalsify) {
    // with a helper, this thread runs a short first round (HELPER_FIRST_ROUND) and the helper the full one, then the restarts
    const first = helper ? { ...opts, starts: Math.min(opts.starts ?? 64, HELPER_FIRST_ROUND.starts), steps: Math.min(opts.steps ?? 60, HELPER_FIRST_ROUND.steps) } : opts;
    const w = falsify(model, bounder.forms, boxes, first, deadline, helper ? 0 : FALSIFY_UPFRONT_MS);
    stats.falsifySeconds = (performance.now() - t0) / 1000;
    if (w) return done({ status: 'sat', witness: w });
    if (helper) {
      const ms = restartCap(opts, t0, deadline) - (performance.now() - t0);
      if (ms > 0) helper.restarts!({ boxes, seed: opts.seed ?? 1, ms, starts: opts.starts, steps: opts.steps, first: true });
      restart = () => {
        const found = helper.witness!();
        return found ? confirmWitness(model, spec, bounder.forms, found) : null;
      };
    } else restart = interleavedRestarts(model, bounder, boxes, opts, t0, deadline, stats);
  }
  if (unbounded(spec)) return done({ status: 'unknown', reason: UNBOUNDED });
  // 2. branch and bound, 3. the certificate, independently re-checked
  const rootW = spec.inputBoxes.map((b) => Float64Array.from(b.hi, (h, d) => h - b.lo[d]));
  const search = makeSearch(model, spec, bounder, opts, deadline, stats, rootW, restart);
  const roots: Box[] = spec.inputBoxes.map((b, i) => ({ root: i, lo: b.lo.slice(), hi: b.hi.slice(), dim: 0 }));
  // the search stops early enough to leave the verifier its share of the budget
  const searchDeadline = t0 + timeout * 1000 * (1 - VERIFY_RESERVE);
  const r = proveBoxes(model, spec, search, roots, { searchDeadline, deadline, timeout, maxBoxes: opts.maxBoxes, depthUsed: 0 }, stats);
  if (r.status === 'split' || r.status === 'searched') throw new Error('decideVnnlib: the search stopped early without being asked to');
  return done(r.status === 'unsat' ? { status: 'unsat', certificate: r.certificate } : r);
}

/**
 * The falsification restarts a search interleaves (its `restart` callback), after a first round
 * that began at t0: each call runs one more round while the restarts have taken at most
 * 1/FALSIFY_SEARCH_RATIO of the search's time since this was made, and in all at most the
 * falsifyShare of the budget (FALSIFY_CAP_MS at most); null when none is due or none was found.
 */
export function interleavedRestarts(model: Model, bounder: VnnBounder, boxes: { lo: Float64Array; hi: Float64Array }[], opts: DecideOptions, t0: number, deadline: number, stats: DecideResult['stats']): () => VnnWitness | null {
  const cap = restartCap(opts, t0, deadline);
  let spent = performance.now() - t0,
    round = 0;
  const searchStart = performance.now(),
    upfront = spent;
  return () => {
    const t = performance.now();
    // restarts so far against the search's own time since it began
    const restarts = spent - upfront,
      searching = t - searchStart - restarts;
    if (spent >= cap || restarts * FALSIFY_SEARCH_RATIO > searching) return null;
    const w = falsify(model, bounder.forms, boxes, { ...opts, seed: restartSeed(opts.seed ?? 1, ++round), falsifyShare: 0 }, deadline);
    const dt = performance.now() - t;
    spent += dt;
    stats.falsifySeconds += dt / 1000;
    return w;
  };
}

export function checkDims(model: Model, spec: VnnlibSpec): void {
  const net = model.network;
  if (spec.numInputs !== net.nIn || spec.numOutputs !== net.nOut) {
    throw new NetinvertError(
      'vnnlib_mismatch',
      `the property declares ${spec.numInputs} input(s) X_i and ${spec.numOutputs} output(s) Y_j, the model has ${net.nIn} input(s) and ${net.nOut} output(s); pass the property written for this model`,
      { specInputs: spec.numInputs, specOutputs: spec.numOutputs, modelInputs: net.nIn, modelOutputs: net.nOut },
    );
  }
}

export const UNBOUNDED = 'an input box is unbounded: branch and bound needs finite input bounds';
export const unbounded = (spec: VnnlibSpec): boolean => spec.inputBoxes.some((b) => b.lo.some((v) => !Number.isFinite(v)) || b.hi.some((v) => !Number.isFinite(v)));

export function newStats(bounder: VnnBounder): DecideResult['stats'] {
  return {
    seconds: 0,
    falsifySeconds: 0,
    searchSeconds: 0,
    verifySeconds: 0,
    boxes: 0,
    leaves: 0,
    maxDepth: 0,
    rejectedLeaves: 0,
    engine: bounder.chain ? 'relu-chain' : 'crown',
  };
}

/** The bound / split callbacks of the search (section 2 of the file comment), and its leaf-check switch. */
export interface Search {
  callbacks: DriverCallbacks<Box, number[], VnnWitness | null>;
  batchMax: number;
  checkLeaves: boolean;
  /** DecideOptions.leafSink: sent the closed leaves; its refuted keys go to the end check. */
  leafSink?: LeafSink;
}

/**
 * The search over the boxes of `spec` (box.root indexes spec.inputBoxes); `rootW[root]` is the
 * width of the box the relative-width rule measures against (the property's own input box, also
 * for a piece of it searched on its own).
 */
/**
 * The search's callbacks. `restart`, when given, is asked once per bound pass for a witness from
 * a falsification restart over the whole input (decideVnnlib's interleaved restarts).
 */
export function makeSearch(model: Model, spec: VnnlibSpec, bounder: VnnBounder, opts: DecideOptions, deadline: number, stats: DecideResult['stats'], rootW: Float64Array[], restart?: () => VnnWitness | null): Search {
  const net = model.network;
  const f = bounder.forms;
  const nIn = net.nIn,
    m = f.m;
  const batchMax = Math.max(1, opts.batch ?? 64);
  const L = new Float64Array(batchMax * nIn),
    H = new Float64Array(batchMax * nIn);
  // counterexample candidates of a bound pass (box centres and vertices) and their forms' values; grown on demand
  let Xc = new Float64Array(batchMax * nIn),
    G = new Float64Array(batchMax * m),
    S = new Float64Array(batchMax * m);
  const score = new Float64Array(nIn);
  let pgdSeed = (opts.seed ?? 1) * 7919;
  const parents: (Float64Array | null)[] = [],
    states: (Float64Array | null)[] = [];
  // leaves are checked by the verifier during the search ('search') or only at the end, with a
  // repair search under the boxes it rejects ('end', default: the verifier accepts most leaves)
  const search: Search = { batchMax, checkLeaves: opts.verifyLeaves === 'search', callbacks: null as unknown as Search['callbacks'], leafSink: opts.leafSink };
  const sink = opts.leafSink;
  const strong = (opts.branching ?? (bounder.chain ? 'lookahead' : 'smear')) === 'lookahead';
  const cheapLook = opts.lookahead === 'cheap';
  const nc = f.clauses.length;
  /** worst clause bound of row r (Infinity: every clause refuted) */
  const worstOf = (cl: Float64Array, r: number): number => {
    let worst = Infinity;
    for (let ci = 0; ci < nc; ci++) {
      const v = cl[r * nc + ci];
      if (v > 0) continue;
      if (!(v >= worst)) worst = v;
    }
    return worst;
  };
  /**
   * The tree record of a closed row: null (a plain leaf) when each clause has a refuting form of
   * its own, else a hinted leaf (vnnCertificate.ts) naming the pair and weights for each clause
   * that only its pair refutes (clauseBounds records a pair only where no single form is positive).
   */
  const hintsOf = (pr: Float64Array, alphaHints: number[] | null, r: number): number[] | null => {
    // slope hints (clauses only alpha-CROWN slopes refute): a slope-hinted leaf. A leaf is one
    // kind or the other: with a pair too, the slopes are left out and the verifier, refusing the
    // leaf, has it split further (measured: rare)
    let rec: number[] | null = null;
    for (let ci = 0; ci < nc; ci++) {
      const at = (r * nc + ci) * 4;
      const qa = pr[at],
        qb = pr[at + 1];
      if (qa < 0) continue;
      const a = f.origin[qa],
        b = f.origin[qb];
      (rec ??= [VNN_HINTED_LEAF]).push(ci, a.k, a.sign, b.k, b.sign, pr[at + 2], pr[at + 3]);
    }
    if (!rec && alphaHints) rec = [VNN_ALPHA_LEAF, bounder.reluNeurons, ...alphaHints];
    return rec;
  };
  // Strong branching on inputs (the look-ahead of Achterberg, Koch & Martin 2005, "Branching
  // rules revisited", applied to input splits): bound both halves along every splittable input, in
  // one batched pass, and split the input whose children's summed deficit Σ min(worst, 0) is least.
  // The chosen children keep their bounds (box.kids, then box.pre) and are not bounded again. On
  // ACAS Xu it settles instances smear cannot (2_3/2_8/4_7 property 1: 127–759 boxes) and cuts
  // others 10–100× in boxes, at about 5× the bounding per box.
  const allDims = Array.from({ length: nIn }, (_, d) => d);
  const lookAhead = (batch: readonly Box[], openRows: number[], out: BoundOutcome<VnnWitness | null, never, number[]>[], parentCl: Float64Array): void => {
    const cand: { r: number; d: number; lo: Float64Array; hi: Float64Array }[] = [];
    for (const r of openRows) {
      if (out[r].kind !== 'open') continue;
      const b = batch[r];
      let dims = (b.rank ? b.rank.slice(0, LOOKAHEAD_TOP) : allDims).filter((d) => splittable(b, d));
      if (!dims.length && b.rank) dims = allDims.filter((d) => splittable(b, d));
      for (const d of dims) {
        const t = (b.lo[d] + b.hi[d]) / 2;
        const h1 = b.hi.slice();
        h1[d] = t;
        const l2 = b.lo.slice();
        l2[d] = t;
        cand.push({ r, d, lo: b.lo, hi: h1 }, { r, d, lo: l2, hi: b.hi });
      }
    }
    const n = cand.length;
    if (!n) return;
    const LL = new Float64Array(n * nIn),
      HH = new Float64Array(n * nIn);
    for (let k = 0; k < n; k++) {
      LL.set(cand[k].lo, k * nIn);
      HH.set(cand[k].hi, k * nIn);
    }
    // the cheap scores' states are not kept: the chosen halves are bounded again when taken
    const st: (Float64Array | null)[] = new Array(n).fill(null);
    const { lo, lam, clauseLo, pair, alphaHints } = bounder.bound(LL, HH, n, cand.map((c) => batch[c.r].state ?? null), cheapLook ? undefined : st, cheapLook);
    stats.lookAhead = (stats.lookAhead ?? 0) + n;
    // a clause bound proved on the parent box holds on its halves: for the score a child's is at
    // least the parent's (so a split that tightens nothing scores no better than doing nothing).
    // The children keep their own bounds: a leaf is closed by bounds of its own box, which the
    // certificate verifier re-derives.
    const scoreCl = clauseLo.slice();
    for (let k = 0; k < n; k++) {
      const r = cand[k].r;
      for (let ci = 0; ci < nc; ci++) if (parentCl[r * nc + ci] > scoreCl[k * nc + ci]) scoreCl[k * nc + ci] = parentCl[r * nc + ci];
    }
    const best = new Map<number, { s: number; k: number }>();
    const ranks = new Map<number, { d: number; s: number }[]>();
    for (let k = 0; k < n; k += 2) {
      const b = batch[cand[k].r],
        d = cand[k].d;
      // ties (no split tightens anything) go to the input widest relative to its root box
      const rel = (b.hi[d] - b.lo[d]) / (rootW[b.root][d] || 1);
      const s = Math.min(worstOf(scoreCl, k), 0) + Math.min(worstOf(scoreCl, k + 1), 0) + 1e-12 * rel;
      const cur = best.get(cand[k].r);
      if (!cur || s > cur.s) best.set(cand[k].r, { s, k });
      const l = ranks.get(cand[k].r) ?? [];
      l.push({ d, s });
      ranks.set(cand[k].r, l);
    }
    for (const [r, { k }] of best) {
      const b = batch[r];
      // cheap scores: the chosen halves are bounded in full when taken, inside this box's bounds
      const kid = (kk: number): Box => cheapLook ? { root: b.root, lo: cand[kk].lo, hi: cand[kk].hi, dim: 0, parent: b.state ?? null, pre: null } : ({
        root: b.root,
        lo: cand[kk].lo,
        hi: cand[kk].hi,
        dim: 0,
        parent: null,
        pre: {
          lo: lo.slice(kk * m, (kk + 1) * m),
          lam: lam ? lam.slice(kk * m * nIn, (kk + 1) * m * nIn) : null,
          clauseLo: clauseLo.slice(kk * nc, (kk + 1) * nc),
          pair: pair.slice(kk * nc * 4, (kk + 1) * nc * 4),
          alphaHints: alphaHints[kk],
          state: st[kk],
        },
      });
      b.dim = cand[k].d;
      b.kids = [kid(k), kid(k + 1)];
      // the children try first the inputs this box scored best (then the rest, every few levels)
      const l = (ranks.get(r) ?? []).sort((x, y) => y.s - x.s).map((x) => x.d);
      const rank = l.length >= nIn || !b.rank ? l : l.concat(b.rank.filter((d) => !l.includes(d)));
      const fresh = (b.depthRank ?? 0) + 1 >= LOOKAHEAD_FULL_EVERY ? null : rank;
      for (const c of b.kids) {
        c.rank = fresh;
        c.depthRank = fresh ? (b.depthRank ?? 0) + 1 : 0;
      }
    }
  };
  search.callbacks = {
      bound(batch): BoundOutcome<VnnWitness | null, never, number[]>[] {
        const rows = batch.length;
        // rows the parent's look-ahead bounded already keep its result; the rest are bounded now
        const need: number[] = [];
        for (let r = 0; r < rows; r++) if (!batch[r].pre) need.push(r);
        const lo = new Float64Array(rows * m),
          cl = new Float64Array(rows * nc),
          pr = new Float64Array(rows * nc * 4);
        const ah: (number[] | null)[] = new Array(rows).fill(null);
        const lam = bounder.chain ? new Float64Array(rows * m * nIn) : null;
        if (need.length) {
          for (let k = 0; k < need.length; k++) {
            L.set(batch[need[k]].lo, k * nIn);
            H.set(batch[need[k]].hi, k * nIn);
          }
          parents.length = states.length = need.length;
          states.fill(null);
          for (let k = 0; k < need.length; k++) parents[k] = batch[need[k]].parent ?? null;
          const got = bounder.bound(L, H, need.length, parents, states);
          for (let k = 0; k < need.length; k++) {
            const r = need[k];
            lo.set(got.lo.subarray(k * m, (k + 1) * m), r * m);
            cl.set(got.clauseLo.subarray(k * nc, (k + 1) * nc), r * nc);
            pr.set(got.pair.subarray(k * nc * 4, (k + 1) * nc * 4), r * nc * 4);
            ah[r] = got.alphaHints[k];
            if (lam && got.lam) lam.set(got.lam.subarray(k * m * nIn, (k + 1) * m * nIn), r * m * nIn);
            batch[r].state = states[k];
          }
        }
        for (let r = 0; r < rows; r++) {
          const b = batch[r];
          if (b.pre) {
            lo.set(b.pre.lo, r * m);
            cl.set(b.pre.clauseLo, r * nc);
            pr.set(b.pre.pair, r * nc * 4);
            ah[r] = b.pre.alphaHints;
            if (lam && b.pre.lam) lam.set(b.pre.lam, r * m * nIn);
            b.state = b.pre.state;
            b.pre = null;
          }
          b.parent = null;
        }
        const out: BoundOutcome<VnnWitness | null, never, number[]>[] = new Array(rows);
        const openRows: number[] = [];
        const closedRows: number[] = [];
        for (let r = 0; r < rows; r++) {
          const box = batch[r];
          let worst = Infinity;
          score.fill(0);
          for (let ci = 0; ci < nc; ci++) {
            const clause = f.clauses[ci];
            let best = -Infinity,
              bq = -1;
            for (const q of clause) {
              const v = lo[r * m + q];
              if (v > best) ((best = v), (bq = q));
            }
            // a pair of the clause's forms may refute it where no single form does (bounds.ts pairBound)
            if (cl[r * nc + ci] > best) best = cl[r * nc + ci];
            // smear of the clause's best form; a refuted clause counts too (it matters when the
            // verifier, with weaker bounds, rejects the box) but far less than an undecided one
            const wgt = best > 0 ? 1e-3 : 1;
            if (lam && bq >= 0) for (let d = 0; d < nIn; d++) score[d] += wgt * Math.abs(lam[(r * m + bq) * nIn + d]) * (box.hi[d] - box.lo[d]);
            if (best > 0) continue;
            if (best < worst) worst = best;
          }
          let dim = -1,
            bestS = -1;
          const rw = rootW[box.root];
          // largest smear among the inputs not more than 6 halvings narrower (relative to the root
          // box) than the widest: a dimension the forms' coefficients ignore still gets split
          let maxSmear = 0,
            maxRel = 0;
          for (let d = 0; d < nIn; d++) {
            if (score[d] > maxSmear) maxSmear = score[d];
            const rel = (box.hi[d] - box.lo[d]) / (rw[d] || 1);
            if (rel > maxRel) maxRel = rel;
          }
          for (let d = 0; d < nIn; d++) {
            const wd = box.hi[d] - box.lo[d];
            if (!splittable(box, d)) continue;
            const rel = wd / (rw[d] || 1) / (maxRel || 1);
            if (rel < 1 / 64) continue;
            const s = lam && maxSmear > 0 ? score[d] / maxSmear + 1e-6 * rel : rel;
            if (s > bestS) ((bestS = s), (dim = d));
          }
          box.dim = dim;
          if (worst === Infinity) {
            out[r] = { kind: 'closed', record: hintsOf(pr, ah[r], r) ?? undefined };
            closedRows.push(r);
            continue;
          }
          out[r] = { kind: 'open', priority: Number.isNaN(worst) ? -Infinity : worst };
          openRows.push(r);
        }
        if (strong && openRows.length) lookAhead(batch, openRows, out, cl);
        // a box is a leaf only when the independent verifier refutes every clause on it too (its
        // bounds can be weaker than the search's); otherwise it is split further (same heuristic)
        if (search.checkLeaves && closedRows.length) {
          const ok = verifierAccepts(
            model,
            spec,
            closedRows.map((r) => ({ lo: batch[r].lo, hi: batch[r].hi, record: (out[r] as { record?: number[] }).record })),
          );
          for (let k = 0; k < closedRows.length; k++) {
            if (ok[k]) continue;
            const r = closedRows[k];
            out[r] = { kind: 'open', priority: 0 };
            openRows.push(r);
            stats.rejectedLeaves++;
          }
        }
        if (sink && closedRows.length) {
          const leaves: VnnPathLeaf[] = [];
          for (const r of closedRows) {
            const o = out[r];
            if (o.kind === 'closed') leaves.push({ tree: batch[r].root, path: batch[r].path ?? [], record: o.record ?? null });
          }
          sink.submit(leaves);
        }
        // try the centres of the open boxes as counterexamples, and on chain nets the vertices
        // that minimise the undecided clauses' linear lower bounds (vertexCandidates)
        if (openRows.length) {
          let n = 0;
          const owner: number[] = [];
          const room = (k: number): void => {
            if (Xc.length >= k * nIn) return;
            const X2 = new Float64Array(2 * k * nIn);
            X2.set(Xc);
            ((Xc = X2), (G = new Float64Array(2 * k * m)), (S = new Float64Array(2 * k * m)));
          };
          for (const r of openRows) {
            const b = batch[r];
            room(n + 1);
            for (let d = 0; d < nIn; d++) Xc[n * nIn + d] = clampInto(spec, b.root, d, (b.lo[d] + b.hi[d]) / 2);
            owner[n++] = r;
            if (!lam) continue;
            room(n + vertexCount(f, cl, r));
            const k = vertexCandidates(f, lam, cl, r, b.lo, b.hi, nIn, Xc, n);
            for (let i = n; i < n + k; i++) {
              for (let d = 0; d < nIn; d++) Xc[i * nIn + d] = clampInto(spec, b.root, d, Xc[i * nIn + d]);
              owner[i] = r;
            }
            n += k;
          }
          const Xn = Xc.subarray(0, n * nIn);
          const Y = net.evaluate(Xn, n);
          formValues(f, Y, n, G, S);
          // each open box's best candidate per clause (least max_q g_q + slack_q): its PGD start below
          const bestK = new Int32Array(rows * nc).fill(-1),
            bestV = new Float64Array(rows * nc).fill(Infinity);
          for (let k = 0; k < n; k++) {
            const w = witnessAt(net, f, Xn, Y, G, S, k, nIn);
            if (w) {
              out[owner[k]] = { kind: 'stop', result: w };
              break;
            }
            for (let ci = 0; ci < nc; ci++) {
              let v = -Infinity;
              for (const q of f.clauses[ci]) v = Math.max(v, G[k * m + q] + S[k * m + q]);
              const at = owner[k] * nc + ci;
              if (v < bestV[at]) ((bestV[at] = v), (bestK[at] = k));
            }
          }
          // and a short PGD run from inside the most promising open boxes (lowest bound first),
          // started at those candidates; one float inside each box, as the whole input's falsification
          // (its points, face samples included, stay inside the exact input set: innerLo)
          if (!opts.noFalsify && !out.some((o) => o.kind === 'stop')) {
            const pick = openRows
              .filter((r) => out[r].kind === 'open')
              .sort((a, b) => (out[a] as { priority: number }).priority - (out[b] as { priority: number }).priority)
              .slice(0, SEARCH_PGD_BOXES);
            const start = (r: number): Float64Array => {
              const x = new Float64Array(nc * nIn);
              for (let ci = 0; ci < nc; ci++) x.set(Xn.subarray(bestK[r * nc + ci] * nIn, (bestK[r * nc + ci] + 1) * nIn), ci * nIn);
              return x;
            };
            const w = falsify(model, f, pick.map((r) => ({ lo: innerLo(batch[r].lo, batch[r].hi), hi: innerHi(batch[r].lo, batch[r].hi), start: start(r) })), { starts: 2, steps: 8, seed: ++pgdSeed, falsifyShare: 0 }, deadline);
            if (w) out[pick[0]] = { kind: 'stop', result: w };
          }
          for (const r of openRows) if (out[r].kind === 'open' && batch[r].dim < 0) out[r] = { kind: 'stop', result: null }; // too thin to split, still undecided
        }
        // a restart over the whole input, while the restarts' share allows (its witness ends the run)
        if (restart && rows > 0 && !out.some((o) => o.kind === 'stop')) {
          const w = restart();
          if (w) out[0] = { kind: 'stop', result: w };
        }
        return out;
      },
      split(box) {
        if (box.kids) {
          // the look-ahead's children, bounded already (the left one's hi is the cut)
          const kids = box.kids;
          box.kids = box.state = null;
          const t = kids[0].hi[box.dim];
          if (sink) withPaths(box, box.dim, t, kids);
          return { children: kids, record: [box.dim, t] };
        }
        const d = box.dim;
        const t = (box.lo[d] + box.hi[d]) / 2;
        const h1 = box.hi.slice();
        h1[d] = t;
        const l2 = box.lo.slice();
        l2[d] = t;
        const st = box.state ?? null;
        box.state = null;
        const kids: [Box, Box] = [
          { root: box.root, lo: box.lo, hi: h1, dim: 0, parent: st },
          { root: box.root, lo: l2, hi: box.hi, dim: 0, parent: st },
        ];
        if (sink) withPaths(box, d, t, kids);
        return { children: kids, record: [d, t] };
      },
  };
  return search;
}

/** With a leaf sink: the children of `box` split at X_d = t get its path and that split (the leaf keys' triples). */
function withPaths(box: Box, d: number, t: number, kids: [Box, Box]): void {
  const up = box.path ?? [];
  kids[0].path = [...up, d, t, 0];
  kids[1].path = [...up, d, t, 1];
}

export type Proved = { status: 'sat'; witness: VnnWitness } | { status: 'unknown'; reason: string } | { status: 'unsat'; trees: (number[] | null)[][]; certificate: VnnCertificate }
  | { status: 'split'; run: DriverResult<number[], VnnWitness | null, Box> }
  | { status: 'searched'; trees: (number[] | null)[][]; boxesUsed: number; depthUsed: number };

/**
 * Search `roots` (boxes of `spec`) until every one is closed, then build the certificate and have
 * the independent verifier re-check it, repairing under the leaves it rejects (sections 2 and 3 of
 * the file comment). `depthUsed`: splits above the roots (a piece of a larger tree), so that the
 * whole tree stays within the certificate's depth limit. Adds to `stats`.
 */
export function proveBoxes(
  model: Model,
  spec: VnnlibSpec,
  search: Search,
  roots: Box[],
  o: { searchDeadline: number; deadline: number; timeout: number; maxBoxes?: number; depthUsed: number; split?: () => boolean; searchOnly?: boolean },
  stats: DecideResult['stats'],
): Proved {
  const { callbacks, batchMax } = search;
  const { searchDeadline, deadline, timeout } = o;
  const depthLimit = MAX_DEPTH - o.depthUsed;
  const t1 = performance.now();
  // `split`: checked before each round; true ends the search here with the undecided boxes left open
  let splitNow = false;
  const stop = o.split ? (): boolean => (splitNow = (o.split as () => boolean)()) : undefined;
  const run = runBranchAndBound(roots, callbacks, { batch: batchMax, deadline: searchDeadline, maxBoxes: o.maxBoxes, maxDepth: depthLimit, stop });
  stats.searchSeconds += (performance.now() - t1) / 1000;
  stats.boxes += run.boxesBounded;
  stats.leaves += run.leaves;
  stats.maxDepth = Math.max(stats.maxDepth, o.depthUsed + run.maxDepth);
  if (run.status === 'stopped') {
    if (run.result) return { status: 'sat', witness: run.result };
    return { status: 'unknown', reason: 'a box too thin to split is still undecided' };
  }
  if (run.status === 'budget' && splitNow) return { status: 'split', run };
  if (run.status === 'budget') {
    const why = run.maxDepth >= depthLimit ? `split depth ${MAX_DEPTH} reached` : performance.now() > searchDeadline ? `timeout (${timeout} s, ${Math.round(VERIFY_RESERVE * 100)} % kept for the verifier)` : 'box budget spent';
    return { status: 'unknown', reason: `${why}; ${run.open} box(es) undecided after ${run.boxesBounded} bounded` };
  }
  // `searchOnly`: the closed trees, not checked yet (the caller has them checked, in pieces)
  if (o.searchOnly) return { status: 'searched', trees: run.trees, boxesUsed: run.boxesBounded, depthUsed: o.depthUsed + run.maxDepth };
  return verifyAndRepair(model, spec, search, run.trees, { deadline, timeout, maxBoxes: o.maxBoxes, boxesUsed: run.boxesBounded, depthUsed: o.depthUsed + run.maxDepth }, stats);
}

/**
 * Section 3 of the file comment: the certificate of closed trees over `spec`'s boxes, re-checked
 * by the independent verifier; the leaves it rejects are searched further (every leaf checked)
 * and grafted in. `depthUsed`: the deepest split so far counted from the property's box.
 */
export function verifyAndRepair(
  model: Model,
  spec: VnnlibSpec,
  search: Search,
  closedTrees: (number[] | null)[][],
  o: { deadline: number; timeout: number; maxBoxes?: number; boxesUsed: number; depthUsed: number },
  stats: DecideResult['stats'],
): Proved {
  const { callbacks, batchMax } = search;
  const { deadline, timeout } = o;
  let trees = closedTrees;
  let certificate = buildVnnCertificate(model, spec, asCert(trees));
  const t2 = performance.now();
  // the leaves a second thread has refuted meanwhile (search.leafSink) are skipped; the structure and the rest are checked here
  const refuted = search.leafSink?.finish(deadline);
  if (refuted) stats.threadRefuted = (stats.threadRefuted ?? 0) + refuted.size;
  let v = verifyVnnCertificate(model, spec, certificate, { refuted });
  stats.verifySeconds += (performance.now() - t2) / 1000;
  if (!v.ok && !search.checkLeaves) {
    // repair: find the leaves the verifier rejects, search under them with every leaf checked, graft
    const t3 = performance.now();
    const leaves = leafBoxes(spec, trees);
    const rejected: number[] = [];
    for (let i = 0; i < leaves.length; i += batchMax) {
      if (performance.now() > deadline) {
        stats.searchSeconds += (performance.now() - t3) / 1000;
        return { status: 'unknown', reason: `timeout (${timeout} s) while finding the leaf boxes the verifier rejects (${rejected.length} so far)` };
      }
      const chunk = leaves.slice(i, i + batchMax);
      verifierAccepts(model, spec, chunk).forEach((ok, k) => ok || rejected.push(i + k));
    }
    stats.rejectedLeaves += rejected.length;
    search.checkLeaves = true;
    const sub = runBranchAndBound(
      rejected.map((i) => leaves[i]),
      callbacks,
      { batch: batchMax, deadline, maxBoxes: o.maxBoxes === undefined ? undefined : Math.max(0, o.maxBoxes - o.boxesUsed), maxDepth: MAX_DEPTH - o.depthUsed },
    );
    stats.searchSeconds += (performance.now() - t3) / 1000;
    stats.boxes += sub.boxesBounded;
    stats.leaves += sub.leaves - rejected.length;
    if (sub.status === 'stopped' && sub.result) return { status: 'sat', witness: sub.result };
    if (sub.status !== 'closed') return { status: 'unknown', reason: `the verifier rejected ${rejected.length} leaf box(es) and splitting them further did not finish (${sub.status})` };
    trees = graft(trees, leaves, rejected, sub.trees);
    certificate = buildVnnCertificate(model, spec, asCert(trees));
    const t4 = performance.now();
    v = verifyVnnCertificate(model, spec, certificate, { refuted });
    stats.verifySeconds += (performance.now() - t4) / 1000;
  }
  if (!v.ok) return { status: 'unknown', reason: `the search closed every box but the independent verifier rejected the proof: ${v.reason}` };
  return { status: 'unsat', trees, certificate };
}

export const asCert = (trees: (number[] | null)[][]): number[][][] => trees.map((t) => t.map((n) => (n === null ? [] : n)));

export interface LeafBox extends Box {
  /** Its tree record: null, or a hinted leaf (vnnCertificate.ts). */
  record: number[] | null;
  /** Tree and position of the leaf in that tree's preorder list, and its depth (splits above it). */
  tree: number;
  pos: number;
  depth: number;
}

/** The leaf boxes of split trees (preorder records, null leaves), in preorder. */
export function leafBoxes(spec: VnnlibSpec, trees: (number[] | null)[][]): LeafBox[] {
  const out: LeafBox[] = [];
  trees.forEach((t, b) => {
    let pos = 0;
    const walk = (lo: Float64Array, hi: Float64Array, depth = 0): void => {
      const at = pos++;
      const n = t[at];
      if (n === null || isVnnLeaf(n)) {
        out.push({ root: b, lo, hi, dim: 0, record: n, tree: b, pos: at, depth });
        return;
      }
      const [d, v] = n;
      const h1 = hi.slice();
      h1[d] = v;
      const l2 = lo.slice();
      l2[d] = v;
      walk(lo, h1, depth + 1);
      walk(l2, hi, depth + 1);
    };
    walk(spec.inputBoxes[b].lo.slice(), spec.inputBoxes[b].hi.slice());
  });
  return out;
}

/** Replace the rejected leaves (by position) with the subtrees searched under them. */
function graft(trees: (number[] | null)[][], leaves: LeafBox[], rejected: number[], subs: (number[] | null)[][]): (number[] | null)[][] {
  const byTree = trees.map(() => new Map<number, (number[] | null)[]>());
  rejected.forEach((li, k) => byTree[leaves[li].tree].set(leaves[li].pos, subs[k]));
  return trees.map((t, b) => {
    const m = byTree[b];
    if (m.size === 0) return t;
    const out: (number[] | null)[] = [];
    t.forEach((n, i) => {
      const sub = m.get(i);
      if (sub) out.push(...sub);
      else out.push(n);
    });
    return out;
  });
}

/**
 * Which boxes the certificate verifier accepts as leaves: each box is checked as a one-leaf
 * certificate of the spec restricted to it (one verifier call for the batch; box by box only
 * when that fails).
 */
export function verifierAccepts(model: Model, spec: VnnlibSpec, boxes: readonly { lo: Float64Array; hi: Float64Array; record?: number[] | null }[]): boolean[] {
  const one = (bs: typeof boxes): boolean => {
    const sub: VnnlibSpec = { ...spec, inputBoxes: bs.map((b) => ({ lo: b.lo, hi: b.hi })) };
    return verifyVnnCertificate(model, sub, buildVnnCertificate(model, sub, bs.map((b) => [b.record ?? []]))).ok;
  };
  if (one(boxes)) return boxes.map(() => true);
  return boxes.map((b) => one([b]));
}

/**
 * The parser rounds input bounds outward, so the double lo may lie just below the exact bound:
 * counterexamples are searched in [lo⁺, hi⁻] (one float inside) when that is not empty.
 */
export function innerLo(lo: Float64Array, hi: Float64Array): Float64Array {
  return Float64Array.from(lo, (l, d) => (Number.isFinite(l) && nextUp(l) <= nextDown(hi[d]) ? nextUp(l) : l));
}
export function innerHi(lo: Float64Array, hi: Float64Array): Float64Array {
  return Float64Array.from(hi, (h, d) => (Number.isFinite(h) && nextUp(lo[d]) <= nextDown(h) ? nextDown(h) : h));
}
/** Can input d of box b be halved (its midpoint strictly inside)? */
function splittable(b: { lo: Float64Array; hi: Float64Array }, d: number): boolean {
  const t = (b.lo[d] + b.hi[d]) / 2;
  return b.lo[d] < t && t < b.hi[d];
}

function clampInto(spec: VnnlibSpec, root: number, d: number, v: number): number {
  const b = spec.inputBoxes[root];
  const l = b.lo[d],
    h = b.hi[d];
  if (nextUp(l) <= nextDown(h)) return Math.min(Math.max(v, nextUp(l)), nextDown(h));
  return v;
}

/**
 * A witness found elsewhere (another thread) re-checked here: x lies in an input box of the
 * spec and a float64 forward pass of x alone puts the output in the witness's clause (with the
 * same rounding allowance). The re-computed witness, or null.
 */
export function confirmWitness(model: Model, spec: VnnlibSpec, f: SpecForms, w: VnnWitness): VnnWitness | null {
  const net = model.network;
  if (w.x.length !== net.nIn || !spec.inputBoxes.some((b) => w.x.every((v, d) => v >= b.lo[d] && v <= b.hi[d]))) return null;
  const X = Float64Array.from(w.x);
  const Y = net.evaluate(X, 1);
  const G = new Float64Array(f.m),
    S = new Float64Array(f.m);
  formValues(f, Y, 1, G, S);
  return witnessAt(net, f, X, Y, G, S, 0, net.nIn);
}

/** How many points vertexCandidates writes for row r: one per form of each clause not refuted, plus one per such clause of 2+ forms. */
function vertexCount(f: SpecForms, cl: Float64Array, r: number): number {
  const nc = f.clauses.length;
  let k = 0;
  for (let ci = 0; ci < nc; ci++) if (!(cl[r * nc + ci] > 0)) k += f.clauses[ci].length + (f.clauses[ci].length > 1 ? 1 : 0);
  return k;
}

/**
 * Counterexample candidates of box [lo, hi] (row r of the search's bounds): for each clause not
 * refuted there, the box vertex that minimises each form's linear lower bound λ·x + c (x_d = lo_d
 * where λ_d > 0, hi_d where λ_d < 0, the midpoint where λ_d = 0), and the vertex minimising the sum
 * of the clause's forms' bounds (all of them must be ≤ 0 together). The minimiser of a sound linear
 * relaxation is where a counterexample is most likely when the bound is ≤ 0: α,β-CROWN checks the
 * input that attains its lower bound as a counterexample (Wang et al. 2021, "Beta-CROWN"), and
 * nnenum the LP minimiser of its star set (Bak et al. 2020, "Improved geometric path enumeration"). It finds what PGD cannot
 * reach where the net is flat: on ACAS Xu 1_9 property 7 the unsafe set is a slab under 0.5 % of
 * x0's range at its lower end, where every ReLU that reads x0 is inactive elsewhere, so the
 * gradient in x0 is exactly zero over the rest of the box, while the relaxation's coefficient of x0,
 * taken over the whole box, is not. Writes the points at X from row `at`; returns how many.
 */
function vertexCandidates(f: SpecForms, lam: Float64Array, cl: Float64Array, r: number, lo: Float64Array, hi: Float64Array, nIn: number, X: Float64Array, at: number): number {
  const nc = f.clauses.length,
    m = f.m;
  let k = at;
  const put = (coef: (d: number) => number): void => {
    for (let d = 0; d < nIn; d++) {
      const c = coef(d);
      X[k * nIn + d] = c > 0 ? lo[d] : c < 0 ? hi[d] : (lo[d] + hi[d]) / 2;
    }
    k++;
  };
  for (let ci = 0; ci < nc; ci++) {
    if (cl[r * nc + ci] > 0) continue;
    const clause = f.clauses[ci];
    for (const q of clause) put((d) => lam[(r * m + q) * nIn + d]);
    if (clause.length > 1) put((d) => clause.reduce((s, q) => s + lam[(r * m + q) * nIn + d], 0));
  }
  return k - at;
}

/** Row k as a witness when some clause holds with its allowance: every form g + slack ≤ 0. */
function witnessAt(net: Network, f: SpecForms, X: Float64Array, Y: Float64Array, G: Float64Array, S: Float64Array, k: number, nIn: number): VnnWitness | null {
  const m = f.m;
  for (let c = 0; c < f.clauses.length; c++) {
    let worst = -Infinity;
    for (const q of f.clauses[c]) worst = Math.max(worst, G[k * m + q] + S[k * m + q]);
    if (worst <= 0 && !Number.isNaN(worst)) {
      // re-check with a forward pass of the point alone (batched kernels may round differently)
      const xs = X.slice(k * nIn, (k + 1) * nIn);
      const ys = net.evaluate(xs, 1);
      const g1 = new Float64Array(m),
        s1 = new Float64Array(m);
      formValues(f, ys, 1, g1, s1);
      let again = -Infinity;
      for (const q of f.clauses[c]) again = Math.max(again, g1[q] + s1[q]);
      if (!(again <= 0)) continue;
      const x = Array.from(xs);
      const y = Array.from(ys);
      if (!x.every(Number.isFinite) || !y.every(Number.isFinite)) continue;
      return { x, y, clause: c, residual: again };
    }
  }
  return null;
}

/**
 * Batched PGD on each clause's violation from many starts in each (finite-clipped) input box. A
 * box's `start` (clauses × nIn) replaces its centre as the first round's start of each clause.
 */
export function falsify(model: Model, f: SpecForms, boxes: { lo: Float64Array; hi: Float64Array; start?: Float64Array }[], opts: DecideOptions, deadline: number, capMs = FALSIFY_CAP_MS): VnnWitness | null {
  const net = model.network;
  const nIn = net.nIn,
    nOut = net.nOut,
    m = f.m;
  const starts = Math.max(1, opts.starts ?? 64);
  const steps = Math.max(0, opts.steps ?? 60);
  const rand = mulberry32(opts.seed ?? 1),
    faceRand = mulberry32(((opts.seed ?? 1) ^ 0x5f3759df) >>> 0);
  const nc = f.clauses.length;
  const rows = starts * nc;
  const X = new Float64Array(rows * nIn);
  const G = new Float64Array(rows * m),
    S = new Float64Array(rows * m);
  const grad = new Float64Array(nIn);
  let XP = new Float64Array(0),
    GP = new Float64Array(0),
    SP = new Float64Array(0);
  const t0 = performance.now();
  const share = Math.min(Math.min(opts.falsifyShare ?? 0.05, 1) * Math.max(0, deadline - t0), capMs);
  const stopAt = t0 + share;
  /** The first of P sample points XP that is a witness, or null (leaves GP, SP filled). */
  const samplesWitness = (P: number): VnnWitness | null => {
    const YP = net.evaluate(XP.subarray(0, P * nIn), P);
    formValues(f, YP, P, GP, SP);
    for (let i = 0; i < P; i++) {
      const w = witnessAt(net, f, XP, YP, GP, SP, i, nIn);
      if (w) return w;
    }
    return null;
  };
  if (boxes.length === 0 || nc === 0) return null;
  for (let round = 0; round === 0 || performance.now() < stopAt; round++) {
    for (const box of boxes) {
      const lo = Float64Array.from(box.lo, (v) => (Number.isFinite(v) ? v : -1e3));
      const hi = Float64Array.from(box.hi, (v, d) => (Number.isFinite(v) ? v : Math.max(lo[d], 0) + 1e3));
      // starts: the best of SAMPLES uniform points per clause (by the clause's worst form), plus the centre
      const SAMPLES = 16;
      const P = rows * SAMPLES;
      if (XP.length < P * nIn) ((XP = new Float64Array(P * nIn)), (GP = new Float64Array(P * m)), (SP = new Float64Array(P * m)));
      for (let i = 0; i < P * nIn; i++) {
        const d = i % nIn;
        XP[i] = lo[d] + (hi[d] - lo[d]) * rand();
      }
      const w0 = samplesWitness(P);
      if (w0) return w0;
      for (let r = 0; r < rows; r++) {
        const c = r % nc;
        let bestP = 0,
          bestV = Infinity;
        for (let k = 0; k < SAMPLES; k++) {
          const p = r * SAMPLES + k;
          let v = -Infinity;
          for (const q of f.clauses[c]) v = Math.max(v, GP[p * m + q] + SP[p * m + q]);
          if (v < bestV) ((bestV = v), (bestP = p));
        }
        for (let d = 0; d < nIn; d++) X[r * nIn + d] = r < nc && round === 0 ? (box.start ? box.start[r * nIn + d] : (lo[d] + hi[d]) / 2) : XP[bestP * nIn + d];
      }
      // as many points on the box's faces (FACE_SHARE), checked only (the starts stay the uniform
      // points'); their own random stream leaves the uniform points and the PGD as they were
      for (let i = 0; i < P * nIn; i++) {
        const d = i % nIn;
        const u = faceRand();
        XP[i] = u < FACE_SHARE / 2 ? lo[d] : u < FACE_SHARE ? hi[d] : lo[d] + (hi[d] - lo[d]) * faceRand();
      }
      const w1 = samplesWitness(P);
      if (w1) return w1;
      for (let it = 0; it <= steps; it++) {
        if (performance.now() > (round === 0 ? deadline : stopAt)) return null;
        const { J, Y } = net.jacobian(X, rows, { mode: 'reverse' });
        formValues(f, Y, rows, G, S);
        for (let r = 0; r < rows; r++) {
          const w = witnessAt(net, f, X, Y, G, S, r, nIn);
          if (w) return w;
        }
        if (it === steps) break;
        const eta = 0.05 * Math.pow(0.002, it / Math.max(1, steps - 1));
        for (let r = 0; r < rows; r++) {
          const c = r % nc;
          grad.fill(0);
          // descend on the most violated form of the clause (a max-margin loss, Carlini & Wagner 2017):
          // even rows use max_q g_q, odd rows the sum of the hinges max(0, g_q)
          let qmax = -1,
            gmax = -Infinity;
          for (const q of f.clauses[c]) {
            const g = G[r * m + q] + S[r * m + q];
            if (g > gmax) ((gmax = g), (qmax = q));
          }
          for (const q of f.clauses[c]) {
            const g = G[r * m + q] + S[r * m + q];
            if ((r & 1) === 0 ? q !== qmax : g < 0) continue;
            for (let j = 0; j < nOut; j++) {
              const cq = f.C[q * nOut + j];
              if (cq === 0) continue;
              const base = (r * nOut + j) * nIn;
              for (let d = 0; d < nIn; d++) grad[d] += cq * J[base + d];
            }
          }
          for (let d = 0; d < nIn; d++) {
            const gd = grad[d];
            if (gd === 0) continue;
            let v = X[r * nIn + d] - eta * (hi[d] - lo[d]) * Math.sign(gd);
            if (v < lo[d]) v = lo[d];
            if (v > hi[d]) v = hi[d];
            X[r * nIn + d] = v;
          }
        }
      }
    }
  }
  return null;
}
