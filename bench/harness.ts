/**
 * Shared benchmark helpers: a timing loop, a seeded random source and fixed-width tables.
 *
 * Timing protocol (every bench uses it, so numbers are comparable):
 * - warm up: call the function until `warmupS` has elapsed (at least twice), which also
 *   gives an estimate of the cost of one call;
 * - then `runs` measurements, each calling the function in chunks until at least `minS`
 *   has elapsed (the clock is read once per chunk, not once per call, so that a call of a
 *   microsecond is not dominated by reading the clock);
 * - report the median seconds per call over the runs.
 * A function that takes longer than `minS` per call is called once per run.
 */
import { mulberry32 } from '../src/numeric/rng.ts';

export interface MeasureOptions {
  /** Minimum seconds per run. */
  minS?: number;
  /** Number of runs; the median is reported. */
  runs?: number;
  /** Seconds of warm-up before the first run. */
  warmupS?: number;
}

export interface Timing {
  /** Median seconds per call. */
  perCall: number;
  /** Seconds per call of each run. */
  samples: number[];
  /** Calls in the median run. */
  calls: number;
}

const now = (): number => performance.now() / 1000;

export function measure(fn: () => void, opts: MeasureOptions = {}): Timing {
  const minS = opts.minS ?? 0.3,
    runs = opts.runs ?? 3,
    warmupS = opts.warmupS ?? 0.1;
  let t0 = now(),
    n = 0;
  do {
    fn();
    n++;
  } while (n < 2 || now() - t0 < warmupS);
  const est = (now() - t0) / n;
  // chunks of about 10 ms between clock reads
  const chunk = Math.max(1, Math.floor(0.01 / Math.max(est, 1e-9)));
  const samples: number[] = [];
  const calls: number[] = [];
  for (let r = 0; r < runs; r++) {
    let c = 0;
    t0 = now();
    let dt = 0;
    do {
      for (let i = 0; i < chunk; i++) fn();
      c += chunk;
      dt = now() - t0;
    } while (dt < minS);
    samples.push(dt / c);
    calls.push(c);
  }
  const order = samples.map((_, i) => i).sort((a, b) => samples[a] - samples[b]);
  const mid = order[(order.length - 1) >> 1];
  return { perCall: samples[mid], samples, calls: calls[mid] };
}

/** Seeded PRNG for the benchmarks' weights: the project's mulberry32. */
export const rng = mulberry32;

export interface Column {
  title: string;
  width: number;
  align?: 'left' | 'right';
}

/** A fixed-width table that prints its rows as they arrive (long benches show progress). */
export class StreamTable {
  constructor(
    private readonly cols: Column[],
    private readonly write: (line: string) => void = (l) => console.log(l),
  ) {}

  header(): void {
    this.write(this.format(this.cols.map((c) => c.title)));
    this.write(this.cols.map((c) => '-'.repeat(c.width)).join('  '));
  }

  row(cells: string[]): void {
    this.write(this.format(cells));
  }

  rule(): void {
    this.write('');
  }

  private format(cells: string[]): string {
    return this.cols
      .map((c, i) => {
        const s = cells[i] ?? '';
        return c.align === 'left' ? s.padEnd(c.width) : s.padStart(c.width);
      })
      .join('  ')
      .trimEnd();
  }
}

/** A number with `sig` significant digits, in plain or exponent notation as suits its size. */
export function fmt(x: number, sig = 3): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e7 || a < 1e-3) return x.toExponential(sig - 1);
  const digits = Math.max(0, sig - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(digits);
}

/** Points per second with a k/M suffix. */
export function fmtRate(x: number): string {
  if (x >= 1e6) return `${fmt(x / 1e6)} M`;
  if (x >= 1e3) return `${fmt(x / 1e3)} k`;
  return fmt(x);
}
