/**
 * IEEE 754 binary16 ("half") → number, exactly (every half is a double). Shared by the ONNX
 * FLOAT16 tensors and the TF.js float16-quantized weight shards.
 */
export function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
