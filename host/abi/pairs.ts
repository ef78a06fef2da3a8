// The serialized header-pairs layout (proxy-wasm-host.md §5.1): u32 count, count x (u32 key_len,
// u32 value_len), then each key and value followed by a NUL. Little-endian. Pure functions.

import { PAIRS_MAX_BYTES, PAIRS_MAX_COUNT } from "./constants";

export type Pair = [Buffer, Buffer];

/** Serializes pairs; an empty list serializes to 0 bytes (Envoy returns ptr=0,size=0). */
export function serializePairs(pairs: ReadonlyArray<readonly [Buffer, Buffer]>): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + 1 + v.length + 1;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let p = 4;
  for (const [k, v] of pairs) {
    out.writeUInt32LE(k.length, p);
    out.writeUInt32LE(v.length, p + 4);
    p += 8;
  }
  for (const [k, v] of pairs) {
    k.copy(out, p);
    p += k.length + 1;
    v.copy(out, p);
    p += v.length + 1;
  }
  return out;
}

/**
 * Parses the layout. Like Envoy, anything malformed (over 1 MiB, over 1024 pairs, a missing NUL,
 * trailing bytes, truncation) yields an empty list rather than an error.
 */
export function parsePairs(buf: Uint8Array): Pair[] {
  if (buf.length === 0 || buf.length > PAIRS_MAX_BYTES || buf.length < 4) return [];
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const n = b.readUInt32LE(0);
  if (n === 0) return buf.length === 4 ? [] : [];
  if (n > PAIRS_MAX_COUNT) return [];
  let p = 4;
  if (p + n * 8 > b.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    sizes.push([b.readUInt32LE(p), b.readUInt32LE(p + 4)]);
    p += 8;
  }
  const out: Pair[] = [];
  for (const [kl, vl] of sizes) {
    if (p + kl + 1 > b.length || b[p + kl] !== 0) return [];
    const k = Buffer.from(b.subarray(p, p + kl));
    p += kl + 1;
    if (p + vl + 1 > b.length || b[p + vl] !== 0) return [];
    const v = Buffer.from(b.subarray(p, p + vl));
    p += vl + 1;
    out.push([k, v]);
  }
  if (p !== b.length) return [];
  return out;
}
