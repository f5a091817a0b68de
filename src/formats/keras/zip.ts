/**
 * Reading a .keras archive without trusting it.
 *
 * fflate's unzipSync sizes its output buffers from the sizes the archive declares and checks
 * no offsets, so a hostile file decides what is allocated. Here the central directory is read
 * and checked against the bytes first (offsets in range, sizes below a cap); then each wanted
 * entry is inflated by fflate's streaming Inflate, fed in small pieces, counting the output: it
 * stops as soon as the output passes the declared size (a zip bomb lies about it) and checks
 * the CRC-32 at the end.
 */
import { Inflate } from 'fflate';
import { NetinvertError } from '../../errors.ts';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  /** Uncompressed size as declared by the central directory. */
  declaredSize: number;
  localHeaderOffset: number;
}

/** Compressed bytes fed to the inflater at a time: bounds the output of one step (~1032×). */
const PIECE = 4096;
const MAX_ENTRIES = 10_000;

const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number): number => u32(b, o) + u32(b, o + 4) * 2 ** 32;

function bad(file: string, msg: string): never {
  throw new NetinvertError('bad_model_file', `${file}: ${msg}. Re-save the model with model.save("model.keras")`, { file });
}

/** True when the bytes start like a zip archive. */
export function looksLikeZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
}

/** The central directory, checked against the file's bytes. */
export function readZipDirectory(b: Uint8Array, file: string): Map<string, ZipEntry> {
  const damaged = 'is not a readable zip archive';
  // End of central directory: 22 bytes plus a comment of at most 65535.
  let eocd = -1;
  for (let i = b.length - 22; i >= 0 && i >= b.length - 22 - 65535; i--) {
    if (u32(b, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad(file, `${damaged} (no end-of-directory record: truncated?)`);
  let count = u16(b, eocd + 10);
  let cdSize = u32(b, eocd + 12);
  let cdOffset = u32(b, eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64 end-of-directory locator sits just before.
    const loc = eocd - 20;
    if (loc < 0 || u32(b, loc) !== 0x07064b50) bad(file, `${damaged} (a ZIP64 archive without its locator)`);
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || u32(b, z) !== 0x06064b50) bad(file, `${damaged} (bad ZIP64 end-of-directory record)`);
    count = u64(b, z + 32);
    cdSize = u64(b, z + 40);
    cdOffset = u64(b, z + 48);
  }
  if (count > MAX_ENTRIES) bad(file, `${damaged}: it declares ${count} entries; a .keras archive holds three`);
  if (cdOffset + cdSize > b.length) bad(file, `${damaged}: its directory lies past the end of the file (truncated?)`);
  const entries = new Map<string, ZipEntry>();
  let o = cdOffset;
  for (let k = 0; k < count; k++) {
    if (o + 46 > b.length || u32(b, o) !== 0x02014b50) bad(file, `${damaged}: directory entry ${k} is damaged`);
    const flags = u16(b, o + 8);
    const method = u16(b, o + 10);
    const crc32 = u32(b, o + 16);
    let compressedSize = u32(b, o + 20);
    let declaredSize = u32(b, o + 24);
    const nameLen = u16(b, o + 28);
    const extraLen = u16(b, o + 30);
    const commentLen = u16(b, o + 32);
    let localHeaderOffset = u32(b, o + 42);
    const nameStart = o + 46;
    if (nameStart + nameLen + extraLen + commentLen > b.length) bad(file, `${damaged}: directory entry ${k} runs past the end`);
    const name = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(nameStart, nameStart + nameLen));
    // ZIP64 extra field (id 1): the 64-bit values of the fields set to 0xffffffff, in order.
    let e = nameStart + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = u16(b, e),
        len = u16(b, e + 2);
      if (id === 1) {
        let p = e + 4;
        if (declaredSize === 0xffffffff && p + 8 <= e + 4 + len) (declaredSize = u64(b, p)), (p += 8);
        if (compressedSize === 0xffffffff && p + 8 <= e + 4 + len) (compressedSize = u64(b, p)), (p += 8);
        if (localHeaderOffset === 0xffffffff && p + 8 <= e + 4 + len) localHeaderOffset = u64(b, p);
      }
      e += 4 + len;
    }
    entries.set(name, { name, method, flags, crc32, compressedSize, declaredSize, localHeaderOffset });
    o = eEnd + commentLen;
  }
  return entries;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The uncompressed bytes of one entry. Refused before inflating when the declared size is
 * above `cap`; stopped while inflating as soon as the output passes the declared size.
 */
export function extractZipEntry(b: Uint8Array, entry: ZipEntry, cap: number, file: string): Uint8Array {
  const what = `archive entry "${entry.name}"`;
  if (entry.flags & 1) bad(file, `${what} is encrypted`);
  if (entry.declaredSize > cap) {
    throw new NetinvertError(
      'file_too_large',
      `${file}: ${what} declares ${entry.declaredSize} bytes uncompressed, above the ${cap}-byte limit; netinvert reads small models (is this a zip bomb, or the wrong file?)`,
      { file, entry: entry.name, declared: entry.declaredSize, cap },
    );
  }
  const h = entry.localHeaderOffset;
  if (h + 30 > b.length || u32(b, h) !== 0x04034b50) bad(file, `${what}: its local header is missing or damaged (truncated file?)`);
  const start = h + 30 + u16(b, h + 26) + u16(b, h + 28);
  const end = start + entry.compressedSize;
  if (end > b.length) bad(file, `${what}: its ${entry.compressedSize} compressed bytes run past the end of the file (truncated?)`);
  const src = b.subarray(start, end);
  let out: Uint8Array;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.declaredSize) bad(file, `${what}: stored entry sizes disagree`);
    out = src.slice();
  } else if (entry.method === 8) {
    out = new Uint8Array(entry.declaredSize);
    let n = 0;
    const overflow = (): never => {
      throw new NetinvertError(
        'file_too_large',
        `${file}: ${what} expands past its declared ${entry.declaredSize} bytes (a zip bomb or a damaged archive); refused`,
        { file, entry: entry.name, declared: entry.declaredSize },
      );
    };
    const inflater = new Inflate((chunk: Uint8Array) => {
      if (n + chunk.length > out.length) overflow();
      out.set(chunk, n);
      n += chunk.length;
    });
    try {
      for (let p = 0; p < src.length; p += PIECE) {
        const q = Math.min(src.length, p + PIECE);
        inflater.push(src.subarray(p, q), q === src.length);
      }
      if (src.length === 0) inflater.push(new Uint8Array(0), true);
    } catch (e) {
      if (e instanceof NetinvertError) throw e;
      bad(file, `${what} cannot be decompressed (${String((e as Error)?.message ?? e)}); the archive is damaged`);
    }
    if (n !== entry.declaredSize) bad(file, `${what} holds ${n} bytes but declares ${entry.declaredSize}; the archive is damaged`);
  } else {
    bad(file, `${what} uses compression method ${entry.method}; only stored and deflate are supported`);
  }
  if (crc32(out) !== entry.crc32) bad(file, `${what} fails its CRC-32 check; the archive is damaged`);
  return out;
}
