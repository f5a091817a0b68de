/**
 * The layering of src/ (ARCHITECTURE.md): every import, type-only ones included, runs downward
 * or stays inside its own folder, and no set of modules imports itself round (no cycle).
 *
 * Layers, lowest first; a module may import only from its own layer's folder or from lower
 * layers (the data flow formats → graph → problem → solve/certify → report → cli, seen from
 * the importer's side: formats import the graph IR they build, the CLI imports everything).
 * Folders that share a rank are peers and may not import each other.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

/** Rank of each top-level unit of src/ (a folder, or a single file at the top). */
export const LAYERS: Readonly<Record<string, number>> = {
  errors: 0,
  numeric: 0,
  types: 0,
  graph: 1,
  model: 2,
  formats: 3,
  problem: 3,
  solve: 4,
  train: 4,
  certify: 5,
  report: 6,
  plot: 6,
  api: 7,
  milp: 9,
  cli: 8,
  queue: 8,
  index: 9,
};
/** Peers at one rank that may import each other all the same (the queue is batch's transport). */
const PEER_ALLOWED = new Set(['queue->cli', 'cli->queue']);

export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every relative import/export-from/dynamic import of every file under src/, with its target file. */
function importEdges(): { files: string[]; edges: Edge[] } {
  const files = walk(SRC).map((f) => relative(SRC, f).split(sep).join('/'));
  const re =
    /(?:^|[;\s])(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const edges: Edge[] = [];
  for (const f of files) {
    const text = readFileSync(join(SRC, f), 'utf8');
    for (const m of text.matchAll(re)) {
      const spec = m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      let target = relative(SRC, resolve(dirname(join(SRC, f)), spec)).split(sep).join('/');
      if (target.endsWith('.js')) target = target.replace(/\.js$/, '.ts');
      edges.push({ from: f, to: target, typeOnly: m[1] !== undefined });
    }
  }
  return { files, edges };
}

export function unitOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.m?ts$/, '');
}

/** The imports that break the layer table, as "from -> to" lines. */
export function layerViolations(edges: readonly Edge[], layers: Readonly<Record<string, number>>): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    const ra = layers[a];
    const rb = layers[b];
    if (ra === undefined || rb === undefined) {
      bad.push(`${e.from} -> ${e.to} (no layer for ${ra === undefined ? a : b})`);
    } else if (rb > ra || (rb === ra && !PEER_ALLOWED.has(`${a}->${b}`))) {
      bad.push(`${e.from} -> ${e.to} (${a} [${ra}] may not import ${b} [${rb}])`);
    }
  }
  return bad;
}

/**
 * Strongly connected components by Tarjan's algorithm (Tarjan 1972, "Depth-first search and
 * linear graph algorithms", SIAM J. Comput. 1(2)), iterative so deep chains cannot overflow the
 * stack. Returns the components of more than one node, plus single nodes that import themselves.
 */
export function cycles(nodes: readonly string[], edges: readonly Edge[]): string[][] {
  const adj = new Map<string, string[]>();
  for (const n of nodes) adj.set(n, []);
  for (const e of edges) {
    if (!adj.has(e.from)) adj.set(e.from, []);
    if (!adj.has(e.to)) adj.set(e.to, []);
    adj.get(e.from)!.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of adj.keys()) {
    if (index.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const succ = adj.get(top.v)!;
      if (top.i < succ.length) {
        const w = succ[top.i++];
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== top.v);
        if (comp.length > 1 || succ.includes(top.v)) out.push(comp.sort());
      }
    }
  }
  return out;
}

describe('architecture of src/', () => {
  const { files, edges } = importEdges();

  it('finds the imports it checks', () => {
    // guards the scanner itself: a regex that matched nothing would pass every check below
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(files.length);
    expect(edges.some((e) => e.typeOnly)).toBe(true);
    for (const e of edges) expect(files, `${e.from} imports a missing ${e.to}`).toContain(e.to);
  });

  it('every top-level folder and file has a layer', () => {
    const units = [...new Set(files.map(unitOf))].sort();
    expect(units.filter((u) => LAYERS[u] === undefined)).toEqual([]);
  });

  it('no import runs upward or sideways (type-only imports included)', () => {
    expect(layerViolations(edges, LAYERS)).toEqual([]);
  });

  it('no import cycle between files (type-only imports included)', () => {
    expect(cycles(files, edges)).toEqual([]);
  });
});

describe('the checks themselves fail on planted violations', () => {
  const e = (from: string, to: string): Edge => ({ from, to, typeOnly: false });

  it('an upward import and a sideways one are reported; downward and in-folder ones are not', () => {
    const layers = { graph: 1, formats: 3, problem: 3, solve: 4, report: 6 };
    const bad = layerViolations(
      [
        e('solve/invert.ts', 'report/brief.ts'), // upward
        e('problem/query.ts', 'formats/onnx/load.ts'), // sideways between peers
        e('formats/onnx/load.ts', 'graph/types.ts'), // downward: fine
        e('solve/a.ts', 'solve/b/c.ts'), // same folder: fine
      ],
      layers,
    );
    expect(bad).toHaveLength(2);
    expect(bad[0]).toContain('solve/invert.ts -> report/brief.ts');
    expect(bad[1]).toContain('problem/query.ts -> formats/onnx/load.ts');
    expect(layerViolations([e('x/a.ts', 'graph/b.ts')], layers)[0]).toContain('no layer for x');
  });

  it('Tarjan finds exactly the planted cycles, including a self-import and a type-only edge', () => {
    const edges = [
      e('a', 'b'),
      e('b', 'c'),
      { from: 'c', to: 'a', typeOnly: true },
      e('c', 'd'),
      e('d', 'e'),
      e('f', 'f'),
      e('g', 'h'),
    ];
    expect(cycles(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], edges)).toEqual([['a', 'b', 'c'], ['f']]);
    expect(cycles(['a', 'b', 'c'], [e('a', 'b'), e('b', 'c')])).toEqual([]);
  });

  it('agrees with a brute-force reachability oracle on random graphs', () => {
    // oracle: u and v share a component iff each reaches the other (Floyd–Warshall closure)
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 60; trial++) {
      const n = 2 + Math.floor(rand() * 9);
      const names = Array.from({ length: n }, (_, i) => `n${i}`);
      const edges: Edge[] = [];
      const reach = names.map(() => new Array<boolean>(n).fill(false));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          if (rand() < 0.18) {
            edges.push(e(names[i], names[j]));
            reach[i][j] = true;
          }
      for (let k = 0; k < n; k++)
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (reach[i][k] && reach[k][j]) reach[i][j] = true;
      const expected: string[][] = [];
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) {
        if (seen.has(i)) continue;
        const comp = [i];
        for (let j = i + 1; j < n; j++) if (reach[i][j] && reach[j][i]) comp.push(j);
        comp.forEach((j) => seen.add(j));
        if (comp.length > 1 || reach[i][i]) expected.push(comp.map((j) => names[j]).sort());
      }
      const key = (cs: string[][]) => cs.map((c) => c.join(',')).sort();
      expect(key(cycles(names, edges))).toEqual(key(expected));
    }
  });
});
