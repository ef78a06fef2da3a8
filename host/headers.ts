// Envoy's header map semantics for the host: ordered entries (pseudo-headers kept before regular
// ones, as Envoy's HeaderMapImpl inserts them), keys ASCII-lower-cased, duplicates allowed. Keys and
// values are "binary" strings (one char per byte, latin1), which is how node:http hands header bytes
// over, so bytes round-trip unchanged.

import type { Pair } from "./abi/pairs";

/** ASCII-only lower-casing (absl::AsciiStrToLower); bytes >= 0x80 are left alone. */
export function lowerAscii(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return lowerAsciiOnly(s);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  // All ASCII (every header name node:http parses): String#toLowerCase maps exactly A-Z.
  return upper ? s.toLowerCase() : s;
}

function lowerAsciiOnly(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : s;
}

export const bytesToBinary = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1");
export const binaryToBytes = (s: string): Buffer => Buffer.from(s, "latin1");

export class HeaderMap {
  private list: Array<[string, string]> = [];

  static fromEntries(entries: Iterable<readonly [string, string]>): HeaderMap {
    const m = new HeaderMap();
    for (const [k, v] of entries) m.add(k, v);
    return m;
  }

  static fromPairs(pairs: Pair[]): HeaderMap {
    const m = new HeaderMap();
    for (const [k, v] of pairs) m.add(bytesToBinary(k), bytesToBinary(v));
    return m;
  }

  get size(): number {
    return this.list.length;
  }

  entries(): ReadonlyArray<readonly [string, string]> {
    return this.list;
  }

  /** First value for the key, as Envoy's get returns only the first. */
  get(key: string): string | undefined {
    const k = lowerAscii(key);
    const list = this.list;
    for (let i = 0; i < list.length; i++) if (list[i][0] === k) return list[i][1];
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** addCopy: appends (pseudo-headers go after the last pseudo-header, before regular ones). */
  add(key: string, value: string): void {
    const k = lowerAscii(key);
    if (k.charCodeAt(0) === 0x3a) {
      let i = 0;
      while (i < this.list.length && this.list[i][0].startsWith(":")) i++;
      this.list.splice(i, 0, [k, value]);
    } else {
      this.list.push([k, value]);
    }
  }

  /**
   * Envoy's HeaderMapImpl::setCopy (proxy_replace_header_map_value): remove() then addCopy(), so the
   * header moves to the end (of the pseudo-headers for a pseudo-header) and every duplicate is gone.
   */
  setCopy(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  /** An inline header's setter (setInline: date, content-length…): the first entry's value in place, else appended. */
  replace(key: string, value: string): void {
    const k = lowerAscii(key);
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === k) {
        list[i][1] = value;
        return;
      }
    }
    this.add(k, value);
  }

  /** Removes every entry with the key. */
  remove(key: string): void {
    const k = lowerAscii(key);
    if (this.get(k) !== undefined) this.list = this.list.filter(([ek]) => ek !== k);
  }

  clear(): void {
    this.list = [];
  }

  /** Envoy's byteSize(): the sum of key and value lengths. */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.list) n += k.length + v.length;
    return n;
  }

  toPairs(): Pair[] {
    return this.list.map(([k, v]) => [binaryToBytes(k), binaryToBytes(v)]);
  }

  /**
   * The map in the serialized pairs layout, as abi/pairs.ts serializePairs(this.toPairs()) gives it
   * (0 bytes when empty), written in one buffer: keys and values are binary strings, one byte a char.
   */
  serialize(): Buffer {
    const list = this.list;
    const n = list.length;
    if (n === 0) return Buffer.alloc(0);
    let size = 4 + n * 8;
    for (let i = 0; i < n; i++) size += list[i][0].length + list[i][1].length + 2;
    const out = Buffer.allocUnsafe(size);
    out.writeUInt32LE(n, 0);
    let sizes = 4;
    let p = 4 + n * 8;
    for (let i = 0; i < n; i++) {
      const [k, v] = list[i];
      out.writeUInt32LE(k.length, sizes);
      out.writeUInt32LE(v.length, sizes + 4);
      sizes += 8;
      p += out.write(k, p, "latin1");
      out[p++] = 0;
      p += out.write(v, p, "latin1");
      out[p++] = 0;
    }
    return out;
  }

  clone(): HeaderMap {
    const m = new HeaderMap();
    m.list = this.list.map(([k, v]) => [k, v]);
    return m;
  }
}
