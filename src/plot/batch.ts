/**
 * batch --plot: what a batch run decided and what each query cost. Two panels side by side:
 * the count of queries per outcome (solved, best-compromise, infeasible, unknown, error), and the
 * time of each query in file order (log scale), coloured by its outcome.
 */
import type { PlotSpec } from './spec.ts';

export interface BatchPoint {
  /** Position of the query in the queries file (0-based). */
  index: number;
  id: string;
  /** The answer's status, or 'error' for a query that could not be run. */
  status: string;
  /** Wall-clock time of the query in milliseconds. */
  ms: number;
}

const ORDER = ['solved', 'best-compromise', 'infeasible', 'unknown', 'error'];
const COLORS = ['#2e7d32', '#f9a825', '#1565c0', '#8e8e8e', '#c62828'];

export function batchSpec(points: BatchPoint[], title: string, width = 640, height = 300): PlotSpec {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
  const statuses = [...ORDER, ...[...counts.keys()].filter((s) => !ORDER.includes(s)).sort()];
  const countValues = statuses.map((status) => ({ status, queries: counts.get(status) ?? 0 }));
  // a zero-millisecond query is drawn at 0.001 ms so the log scale can hold it
  const timeValues = points.map((p) => ({ index: p.index + 1, id: p.id, status: p.status, ms: Math.max(p.ms, 1e-3) }));
  const color = { field: 'status', type: 'nominal', title: 'outcome', scale: { domain: statuses, range: statuses.map((_, i) => COLORS[i % COLORS.length]) } };
  const n = points.length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, subtitle: `${n} quer${n === 1 ? 'y' : 'ies'}: outcomes, and the time of each query`, anchor: 'start' },
    usermeta: { netinvert: { kind: 'batch' } },
    hconcat: [
      {
        width: Math.round(width * 0.35),
        height,
        data: { values: countValues },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'status', type: 'nominal', sort: statuses, title: 'outcome', axis: { labelAngle: -30 } },
          y: { field: 'queries', type: 'quantitative', title: 'queries' },
          color,
        },
      },
      {
        width: Math.round(width * 0.65),
        height,
        data: { values: timeValues },
        mark: { type: 'point', filled: true, size: 18 },
        encoding: {
          x: { field: 'index', type: 'quantitative', title: 'query (file order)' },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'time per query (ms, log scale)' },
          color,
          tooltip: [{ field: 'id' }, { field: 'status' }, { field: 'ms', format: '.3f' }],
        },
      },
    ],
  } as PlotSpec;
}
