/**
 * The one batched branch-and-bound driver (Land & Doig 1960) of netinvert: the 1-D interval
 * Newton search (solve/oneDim.ts), the n-D interval proofs (certify/proof/bnb.ts) and the
 * VNN-COMP search (certify/vnn/decide.ts) all run on it. Nothing here knows what a box is.
 *
 * Each round takes up to `batch` boxes and bounds them in one `bound` call (one engine pass for
 * many subproblems). Each bounded box is
 *   - 'closed': decided (nothing more to do in it): a leaf of the split tree;
 *   - 'branch': replaced now by the children the caller made (any number, e.g. one contracted
 *               box or two halves), which wait for their first bound;
 *   - 'open':   undecided, with a priority (lower = more urgent); it waits, bounded, and is split
 *               into two children by `split` when its turn comes, which also returns the record
 *               of the split (what a certificate stores for that node, e.g. [dim, t]);
 *   - 'stop':   the search is over (e.g. a counterexample was found in the box).
 *
 * Order (`order`):
 *   - 'best' (default): open boxes in a binary heap, lowest priority first (the best-first node
 *     selection of Lawler & Wood 1966); boxes waiting for their first bound are taken first,
 *     last in first out.
 *   - 'fifo': every box in the order it was made, first in first out (breadth-first, the
 *     worklist of interval solvers, Hansen & Walster 2004 ch. 9; Kearfott 1996 §5); the
 *     priorities are ignored.
 *
 * The search ends when no box waits ('closed'), when a box stops it ('stopped'), or when the
 * budget runs out ('budget': the `stop` hook, bounded boxes, the deadline or the depth limit).
 *
 * With `trees` (default on) the split tree of every root is recorded and returned in preorder: a
 * split node is its record, a leaf is `null` (children follow their parent, left subtree first).
 * Only a 'closed' run has complete trees.
 */

/**
 * Where a box is cut along the chosen coordinate, as a fraction of its width: slightly off
 * centre, so that roots and kinks at round numbers (0, 1/2, ...) do not land on a split point
 * (the midpoint of [−1, 1] is 0, a common root; 0.4970703125 = 509/1024 is exact in binary, so
 * the cut is lo + 0.4970703125·(hi − lo) with one rounding). Used by oneDim.ts and bnb.ts.
 */
export const SPLIT_FRACTION = 0.4970703125;

export type BoundOutcome<R, B = never, S = never> =
  /** `record`: what the tree stores for this leaf (default null, a plain leaf). */
  | { kind: 'closed'; record?: S }
  | { kind: 'open'; priority: number }
  | { kind: 'branch'; children: readonly B[]; record?: S }
  | { kind: 'stop'; result: R };

export interface DriverCallbacks<B, S, R> {
  /** Bound a batch of boxes; one outcome per box, in order. */
  bound(batch: readonly B[]): BoundOutcome<R, B, S>[];
  /** Split an open box into two children (left first) and say how (the tree record). Needed when `bound` returns 'open'. */
  split?(box: B): { children: [B, B]; record: S };
  /** Called once per closed box (optional), e.g. to count leaves. */
  leaf?(box: B): void;
}

export interface DriverOptions<B = unknown> {
  /** Boxes bounded per `bound` call (default 64). */
  batch?: number;
  /** The batch size for the coming round (overrides `batch`; at least 1), e.g. from the time left. */
  batchSize?(): number;
  /** Stop after bounding this many boxes (default ∞); a round that would pass it is not run. */
  maxBoxes?: number;
  /** Absolute deadline in ms (performance.now() clock); checked between rounds. */
  deadline?: number;
  /** Refuse to split an open box deeper than this (it ends the run as 'budget'; default 200). */
  maxDepth?: number;
  /** 'best' (default) or 'fifo' (see the file comment). */
  order?: 'best' | 'fifo';
  /** Checked before each round while boxes wait: true ends the run as 'budget'. */
  stop?(): boolean;
  /** Before each round (after `stop`), boxes waiting for their first bound that fail this are dropped. */
  keep?(box: B): boolean;
  /** Record the split trees (default true). */
  trees?: boolean;
}

export interface DriverResult<S, R, B = unknown> {
  status: 'closed' | 'stopped' | 'budget';
  result?: R;
  /** Per root, its split tree in preorder (records for splits, null for leaves); complete only when closed; empty without `trees`. */
  trees: (S | null)[][];
  boxesBounded: number;
  leaves: number;
  maxDepth: number;
  /** Boxes left when the run ended (bounded open ones and ones waiting for their first bound). */
  open: number;
  /** The boxes still waiting for their first bound when the run ended, in the order they would have been taken. */
  remaining: B[];
}

interface TreeNode<S> {
  record: S | null;
  kids: TreeNode<S>[] | null;
}

interface Entry<B, S> {
  box: B;
  node: TreeNode<S> | null;
  depth: number;
  priority: number;
}

interface Waiting<T> {
  readonly size: number;
  push(x: T): void;
  pop(): T | undefined;
}

/** Min-heap on priority. */
class Heap<T extends { priority: number }> implements Waiting<T> {
  private readonly a: T[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].priority <= x.priority) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as T;
    if (a.length > 0) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && a[r].priority < a[l].priority ? r : l;
        if (a[c].priority >= last.priority) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/** First in, first out (an array with a moving head, compacted now and then). */
class Queue<T> implements Waiting<T> {
  a: T[] = [];
  head = 0;
  get size(): number {
    return this.a.length - this.head;
  }
  push(x: T): void {
    this.a.push(x);
  }
  pop(): T | undefined {
    if (this.head >= this.a.length) return undefined;
    const x = this.a[this.head++];
    if (this.head > 1024 && 2 * this.head > this.a.length) {
      this.a = this.a.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  /** What is left, in order. */
  rest(): T[] {
    return this.a.slice(this.head);
  }
  /** Keep only what passes `f` (order kept). */
  filter(f: (x: T) => boolean): void {
    this.a = this.a.slice(this.head).filter(f);
    this.head = 0;
  }
}

/** Last in, first out. */
class Stack<T> implements Waiting<T> {
  a: T[] = [];
  get size(): number {
    return this.a.length;
  }
  push(x: T): void {
    this.a.push(x);
  }
  pop(): T | undefined {
    return this.a.pop();
  }
  /** What is left, in the order it would be taken. */
  rest(): T[] {
    return this.a.slice().reverse();
  }
  filter(f: (x: T) => boolean): void {
    this.a = this.a.filter(f);
  }
}

export function runBranchAndBound<B, S, R>(roots: readonly B[], cb: DriverCallbacks<B, S, R>, opts: DriverOptions<B> = {}): DriverResult<S, R, B> {
  const batchSize = Math.max(1, opts.batch ?? 64);
  const maxBoxes = opts.maxBoxes ?? Infinity;
  const maxDepth = opts.maxDepth ?? 200;
  const fifo = opts.order === 'fifo';
  const record = opts.trees !== false;
  const newNode = (): TreeNode<S> | null => (record ? { record: null, kids: null } : null);
  const rootNodes = roots.map(newNode);
  // boxes waiting for their first bound, then the bounded open boxes
  const pending: Queue<Entry<B, S>> | Stack<Entry<B, S>> = fifo ? new Queue() : new Stack();
  for (let i = 0; i < roots.length; i++) pending.push({ box: roots[i], node: rootNodes[i], depth: 0, priority: -Infinity });
  const waiting: Waiting<Entry<B, S>> = fifo ? new Queue() : new Heap();
  let bounded = 0,
    leaves = 0,
    deepest = 0;
  let status: DriverResult<S, R, B>['status'] = 'closed';
  let result: R | undefined;
  const batch: Entry<B, S>[] = [];
  const boxes: B[] = [];
  const child = (e: Entry<B, S>, box: B, d: number): Entry<B, S> => {
    const node = newNode();
    if (node) (e.node!.kids ??= []).push(node);
    return { box, node, depth: d, priority: 0 };
  };
  outer: for (;;) {
    if ((pending.size || waiting.size) && opts.stop?.()) {
      status = 'budget';
      break;
    }
    if (opts.keep && pending.size) {
      const keep = opts.keep;
      pending.filter((e) => keep(e.box));
    }
    const size = opts.batchSize ? Math.max(1, opts.batchSize()) : batchSize;
    batch.length = 0;
    while (batch.length < size && pending.size) batch.push(pending.pop() as Entry<B, S>);
    while (batch.length < size && waiting.size) {
      const e = waiting.pop() as Entry<B, S>;
      if (e.depth >= maxDepth) {
        waiting.push(e);
        status = 'budget';
        break outer;
      }
      if (!cb.split) throw new Error('runBranchAndBound: an open box needs the split callback');
      const { children, record: rec } = cb.split(e.box);
      if (e.node) e.node.record = rec;
      const d = e.depth + 1;
      if (d > deepest) deepest = d;
      batch.push(child(e, children[0], d));
      const right = child(e, children[1], d);
      if (batch.length < size) batch.push(right);
      else pending.push(right);
    }
    if (batch.length === 0) break;
    if (bounded + batch.length > maxBoxes || (opts.deadline !== undefined && performance.now() > opts.deadline)) {
      // back where they came from: taken first next time
      if (fifo) {
        const q = pending as Queue<Entry<B, S>>;
        q.a = batch.concat(q.rest());
        q.head = 0;
      } else for (let i = batch.length - 1; i >= 0; i--) pending.push(batch[i]);
      status = 'budget';
      break;
    }
    boxes.length = 0;
    for (const e of batch) boxes.push(e.box);
    const out = cb.bound(boxes);
    bounded += batch.length;
    for (let i = 0; i < batch.length; i++) {
      const o = out[i];
      const e = batch[i];
      if (o.kind === 'closed') {
        leaves++;
        if (e.node && o.record !== undefined) e.node.record = o.record;
        cb.leaf?.(e.box);
      } else if (o.kind === 'open') {
        e.priority = o.priority;
        waiting.push(e);
      } else if (o.kind === 'branch') {
        if (e.node) e.node.record = o.record ?? null;
        const d = e.depth + 1;
        if (o.children.length && d > deepest) deepest = d;
        for (const c of o.children) pending.push(child(e, c, d));
      } else {
        status = 'stopped';
        result = o.result;
        break outer;
      }
    }
  }
  const trees: (S | null)[][] = record
    ? rootNodes.map((r) => {
        const t: (S | null)[] = [];
        const stack: TreeNode<S>[] = [r as TreeNode<S>];
        while (stack.length) {
          const n = stack.pop() as TreeNode<S>;
          t.push(n.record);
          if (n.record !== null && n.kids) for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i]);
        }
        return t;
      })
    : [];
  return {
    status,
    result,
    trees,
    boxesBounded: bounded,
    leaves,
    maxDepth: deepest,
    open: waiting.size + pending.size,
    remaining: pending.rest().map((e) => e.box),
  };
}
