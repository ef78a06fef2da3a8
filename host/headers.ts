// Envoy's header map semantics for the host: ordered entries (pseudo-headers kept before regular
// ones, as Envoy's HeaderMapImpl inserts them), keys ASCII-lower-cased, duplicates allowed. Keys and
// values are "binary" strings (one char per byte, latin1), which is how node:http hands header bytes
// over, so bytes round-trip unchanged.

import type { Pair } from "./abi/pairs";

/** ASCII-only lower-casing (absl::AsciiStrToLower); bytes >= 0x80 are left alone. */
export function lowerAscii(s: string): string {
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
    for (const [ek, ev] of this.list) if (ek === k) return ev;
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** addCopy: appends (pseudo-headers go after the last pseudo-header, before regular ones). */
  add(key: string, value: string): void {
    const k = lowerAscii(key);
    if (k.startsWith(":")) {
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
    const e = this.list.find(([ek]) => ek === k);
    if (e) e[1] = value;
    else this.add(k, value);
  }

  /** Removes every entry with the key. */
  remove(key: string): void {
    const k = lowerAscii(key);
    this.list = this.list.filter(([ek]) => ek !== k);
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

  clone(): HeaderMap {
    const m = new HeaderMap();
    m.list = this.list.map(([k, v]) => [k, v]);
    return m;
  }
}
