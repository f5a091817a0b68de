/**
 * The ONNX importer's index maps for Transpose, Slice and broadcasting (formats/onnx/shape.ts,
 * one strided-view routine behind all three) against a brute-force oracle that walks every
 * output coordinate and names its source coordinate directly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastIndex, sliceIndex, transposeIndex } from '../src/formats/onnx/shape.ts';

/** Every coordinate of `dims`, row-major (last axis fastest). */
function coords(dims: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const d of dims) out = out.flatMap((c) => Array.from({ length: d }, (_, i) => [...c, i]));
  return out;
}

/** Row-major flat position of coordinate c in dims, by Horner's rule. */
const flat = (c: readonly number[], dims: readonly number[]): number => c.reduce((a, x, k) => a * dims[k] + x, 0);

const dimsArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

describe('ONNX index maps vs a coordinate-walking oracle', () => {
  it('transpose: output coordinate k is source axis perm[k]', () => {
    fc.assert(
      fc.property(
        dimsArb.chain((dims) => fc.tuple(fc.constant(dims), fc.shuffledSubarray(dims.map((_, i) => i), { minLength: dims.length, maxLength: dims.length }))),
        ([dims, perm]) => {
          const { dims: out, index } = transposeIndex(dims, perm, 't');
          expect(out).toEqual(perm.map((p) => dims[p]));
          const expected = coords(out).map((c) => {
            const src = new Array<number>(dims.length);
            perm.forEach((p, k) => (src[p] = c[k]));
            return flat(src, dims);
          });
          expect(Array.from(index)).toEqual(expected);
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('broadcast: a size-1 input axis repeats, missing leading axes repeat', () => {
    fc.assert(
      fc.property(
        dimsArb.chain((out) =>
          fc.tuple(
            fc.constant(out),
            fc.integer({ min: 0, max: out.length - 1 }),
            fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
          ),
        ),
        ([out, drop, ones]) => {
          const inDims = out.slice(drop).map((d, k) => (ones[k] ? 1 : d));
          const index = broadcastIndex(inDims, out, 'b');
          const lead = out.length - inDims.length;
          const expected = coords(out).map((c) => flat(inDims.map((d, k) => (d === 1 ? 0 : c[lead + k])), inDims));
          expect(Array.from(index)).toEqual(expected);
        },
      ),
      { seed: 8, numRuns: 200 },
    );
  });

  it('slice: in-range starts and ends, positive and negative steps', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 })
          .chain((dims) =>
            fc.tuple(
              fc.constant(dims),
              fc.tuple(...dims.map((d) => fc.tuple(fc.integer({ min: 0, max: d - 1 }), fc.integer({ min: 0, max: d - 1 }), fc.constantFrom(1, 2, 3, -1, -2)))),
            ),
          ),
        ([dims, specs]) => {
          const axes = dims.map((_, i) => i);
          // a positive step walks from the lower end up, a negative one from the upper end down
          const se = specs.map(([a, b, s]) => (s > 0 ? [Math.min(a, b), Math.max(a, b) + 1, s] : [Math.max(a, b), Math.min(a, b) - 1, s]));
          const picks = se.map(([b, e, s]) => {
            const xs: number[] = [];
            for (let j = b; s > 0 ? j < e : j > e; j += s) xs.push(j);
            return xs;
          });
          const { dims: out, index } = sliceIndex(
            dims,
            axes,
            se.map((x) => x[0]),
            se.map(([, e, s]) => (s < 0 && e < 0 ? -Infinity : e)),
            se.map((x) => x[2]),
            's',
          );
          expect(out).toEqual(picks.map((p) => p.length));
          const expected = coords(out).map((c) => flat(c.map((x, k) => picks[k][x]), dims));
          expect(Array.from(index)).toEqual(expected);
        },
      ),
      { seed: 9, numRuns: 300 },
    );
  });
});
