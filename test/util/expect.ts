/** Assertion helpers with messages that say which entry failed and by how much. */
import { expect } from 'vitest';
import { NetinvertError, type ErrorCode } from '../../src/index.ts';

/**
 * |a[i] − b[i]| ≤ tol(i) for every i, reported as the worst entry. `tol` is absolute, or a
 * function of the index (for per-row scaled tolerances).
 */
export function expectAllClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number | ((i: number) => number),
  what: string,
): void {
  expect(a.length, `${what}: length`).toBe(b.length);
  let worst = -1,
    worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    // equal entries pass, infinities and NaNs included (a NaN on one side only fails)
    if (a[i] === b[i] || (a[i] !== a[i] && b[i] !== b[i])) continue;
    const t = typeof tol === 'number' ? tol : tol(i);
    const d = Math.abs(a[i] - b[i]);
    // NaN on either side counts as a failure
    const excess = d !== d ? Infinity : d - t;
    if (excess > 0 && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    const t = typeof tol === 'number' ? tol : tol(worst);
    expect.fail(`${what}: entry ${worst}: ${a[worst]} vs ${b[worst]} (diff ${Math.abs(a[worst] - b[worst])}, tol ${t})`);
  }
}

/** lo[i] ≤ v[i] ≤ hi[i] for every i (NaN anywhere fails). */
export function expectInside(lo: ArrayLike<number>, v: ArrayLike<number>, hi: ArrayLike<number>, what: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!(lo[i] <= v[i] && v[i] <= hi[i])) {
      expect.fail(`${what}: entry ${i}: value ${v[i]} is outside [${lo[i]}, ${hi[i]}]`);
    }
  }
}

/** Runs fn, which must throw a NetinvertError with `code` whose message contains every `mentions`. */
export function expectNetinvertError(fn: () => unknown, code: ErrorCode, ...mentions: string[]): NetinvertError {
  let caught: unknown = undefined;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a NetinvertError [${code}]`).toBeInstanceOf(NetinvertError);
  const e = caught as NetinvertError;
  expect(e.code, e.message).toBe(code);
  for (const s of mentions) expect(e.message).toContain(s);
  return e;
}

/** One row of an error table: what is wrong, how to trigger it, the code and message parts. */
export interface ErrorCase {
  what: string;
  run: () => unknown;
  code: ErrorCode;
  mentions: string[];
}

/**
 * Row-wise closeness of framework outputs: 1e-5 relative, against the larger of |expected| and
 * 1e-3 of the row's scale (values that cancel to near zero carry the absolute float32 error of
 * their terms). Shared by the Keras and TF.js importer tests.
 */
export function expectRowsClose(actual: number[][], expected: number[][], rel = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, r) => {
    expect(row.length).toBe(expected[r].length);
    const scale = Math.max(...expected[r].map(Math.abs), 1e-30);
    row.forEach((v, i) => {
      const e = expected[r][i];
      const tol = rel * Math.max(Math.abs(e), 1e-3 * scale);
      if (!(Math.abs(v - e) <= tol)) throw new Error(`row ${r} [${i}]: got ${v}, expected ${e} (tolerance ${tol})`);
    });
  });
}

/** The NetinvertError that fn throws (fails the test if it throws anything else, or nothing). */
export function thrownNetinvertError(fn: () => unknown): NetinvertError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NetinvertError);
    return e as NetinvertError;
  }
  throw new Error('expected a NetinvertError');
}
