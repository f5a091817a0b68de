/**
 * A generic best-first branch-and-bound driver (Land & Doig 1960; the best-first node selection
 * of Lawler & Wood 1966), batched: each round pops up to `batch` open boxes with the LOWEST
 * priority from a binary heap and bounds them in one `bound` call (one engine pass for many
 * subproblems). Each bounded box is
 *   - 'closed': proven (nothing to find in it): a leaf of the proof tree;
 *   - 'open':   undecided, with a priority (lower = more urgent); it is split into two children
 *               by `split`, which also returns the record of the split (what a certificate
 *               stores for that node, e.g. [dim, t]);
 *   - 'stop':   the search is over (e.g. a counterexample was found in the box).
 * The search ends when no open box remains ('closed': the split trees are complete proofs),
 * when a box stops it ('stopped'), or when the budget (bounded boxes, deadline) runs out
 * ('budget').
 *
 * The split tree of every root is recorded and returned in preorder: a split node is its record,
 * a leaf is `null` (children follow their parent, left subtree first). Only a 'closed' run has
 * complete trees.
 *
 * Nothing here knows what a box is: certify/proof/bnb.ts (intervals over unknowns) and
 * solve/oneDim.ts could run on the same loop.
 */

export type BoundOutcome<R> = { kind: 'closed' } | { kind: 'open'; priority: number } | { kind: 'stop'; result: R };

export interface DriverCallbacks<B, S, R> {
  /** Bound a batch of boxes; one outcome per box, in order. */
  bound(batch: readonly B[]): BoundOutcome<R>[];
  /** Split an open box into two children (left first) and say how (the tree record). */
  split(box: B): { children: [B, B]; record: S };
  /** Called once per closed box (optional), e.g. to count leaves. */
  leaf?(box: B): void;
}

export interface DriverOptions {
  /** Boxes bounded per `bound` call (default 64). */
  batch?: number;
  /** Stop after bounding this many boxes (default ∞). */
  maxBoxes?: number;
  /** Absolute deadline in ms (performance.now() clock); checked between rounds. */
  deadline?: number;
  /** Refuse to split deeper than this (an open box at this depth ends the run as 'budget'). */
  maxDepth?: number;
}

export interface DriverResult<S, R> {
  status: 'closed' | 'stopped' | 'budget';
  result?: R;
  /** Per root, its split tree in preorder (records for splits, null for leaves); complete only when closed. */
  trees: (S | null)[][];
  boxesBounded: number;
  leaves: number;
  maxDepth: number;
  /** Open boxes left when the run ended. */
  open: number;
}

interface TreeNode<S> {
  record: S | null;
  left: TreeNode<S> | null;
  right: TreeNode<S> | null;
}

interface Entry<B, S> {
  box: B;
  node: TreeNode<S>;
  depth: number;
  priority: number;
}

/** Min-heap on priority. */
class Heap<T extends { priority: number }> {
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

export function runBranchAndBound<B, S, R>(roots: readonly B[], cb: DriverCallbacks<B, S, R>, opts: DriverOptions = {}): DriverResult<S, R> {
  const batchSize = Math.max(1, opts.batch ?? 64);
  const maxBoxes = opts.maxBoxes ?? Infinity;
  const maxDepth = opts.maxDepth ?? 200;
  const rootNodes: TreeNode<S>[] = roots.map(() => ({ record: null, left: null, right: null }));
  // boxes waiting for their first bound (FIFO), then the heap of bounded open boxes
  let pending: Entry<B, S>[] = roots.map((box, i) => ({ box, node: rootNodes[i], depth: 0, priority: -Infinity }));
  const heap = new Heap<Entry<B, S>>();
  let bounded = 0,
    leaves = 0,
    deepest = 0;
  let status: DriverResult<S, R>['status'] = 'closed';
  let result: R | undefined;
  const batch: Entry<B, S>[] = [];
  const boxes: B[] = [];
  outer: for (;;) {
    batch.length = 0;
    while (batch.length < batchSize && pending.length) batch.push(pending.pop() as Entry<B, S>);
    while (batch.length < batchSize && heap.size) {
      const e = heap.pop() as Entry<B, S>;
      if (e.depth >= maxDepth) {
        heap.push(e);
        status = 'budget';
        break outer;
      }
      const { children, record } = cb.split(e.box);
      e.node.record = record;
      e.node.left = { record: null, left: null, right: null };
      e.node.right = { record: null, left: null, right: null };
      const d = e.depth + 1;
      if (d > deepest) deepest = d;
      batch.push({ box: children[0], node: e.node.left, depth: d, priority: 0 });
      if (batch.length < batchSize) batch.push({ box: children[1], node: e.node.right, depth: d, priority: 0 });
      else pending.push({ box: children[1], node: e.node.right, depth: d, priority: 0 });
    }
    if (batch.length === 0) break;
    if (bounded + batch.length > maxBoxes || (opts.deadline !== undefined && performance.now() > opts.deadline)) {
      pending = pending.concat(batch);
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
        cb.leaf?.(e.box);
      } else if (o.kind === 'open') {
        e.priority = o.priority;
        heap.push(e);
      } else {
        status = 'stopped';
        result = o.result;
        break outer;
      }
    }
  }
  const trees: (S | null)[][] = rootNodes.map((r) => {
    const t: (S | null)[] = [];
    const stack: TreeNode<S>[] = [r];
    while (stack.length) {
      const n = stack.pop() as TreeNode<S>;
      t.push(n.record);
      if (n.record !== null) {
        if (n.right) stack.push(n.right);
        if (n.left) stack.push(n.left);
      }
    }
    return t;
  });
  return { status, result, trees, boxesBounded: bounded, leaves, maxDepth: deepest, open: heap.size + pending.length };
}
