/** Low-discrepancy points for multi-start and sampling (Halton 1960). */

/** Halton sequence point i (1-based recommended) in dimension d, coordinate in [0,1). */
export function halton(i: number, base: number): number {
  let f = 1,
    r = 0;
  while (i > 0) {
    f /= base;
    r += f * (i % base);
    i = Math.floor(i / base);
  }
  return r;
}

export const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113];
