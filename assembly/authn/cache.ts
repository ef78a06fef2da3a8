// Owns the verified-token cache: a per-VM LRU of tokens whose signature verified, keyed by the token's
// bytes as the request carried them (a 32-bit hash finds the bucket, then the whole token is compared, so
// two tokens never share an entry; no cryptographic hash is needed for that, and no string is made),
// holding the parsed token and the identity of the key that verified it. Bounded in entries and bytes;
// tokens over 8 KiB are not cached. Better than Envoy's opt-in cache (which outlives key rotation): a hit
// is honoured only while that key is still in the provider's current key set, and the issuer, time and
// audience checks still run on every hit. The hash is not keyed: only tokens that verified are stored, so
// flooding a bucket takes many valid tokens, and a bucket is bounded by maxEntries.
import { Jwt } from "../jwt/jwt";
import { bytesEqual } from "../util/bytes";

export const DEFAULT_CACHE_ENTRIES: i32 = 1000;
export const DEFAULT_CACHE_BYTES: i32 = 1 << 20;
export const MAX_CACHED_TOKEN_BYTES: i32 = 8 * 1024;
/** Per-entry cost beyond the token itself: the parsed claims and the bookkeeping. */
const ENTRY_OVERHEAD_BYTES: i32 = 256;

export class CacheEntry {
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;
  /** The next entry in the same hash bucket. */
  chain: CacheEntry | null = null;
  constructor(public key: Uint8Array, public hash: u32, public jwt: Jwt, public keyFingerprint: string, public bytes: i32) {}
}

/** 32-bit hash of `n` bytes at `p` (FNV-style over 8-byte words, then a murmur3 finalizer). */
function hashBytes(p: usize, n: i32): u32 {
  let h: u64 = 0xcbf29ce484222325 ^ <u64>n;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    h = (h ^ load<u64>(p + <usize>i)) * 0x100000001b3;
    h ^= h >> 29;
  }
  for (; i < n; i++) h = (h ^ <u64>load<u8>(p + <usize>i)) * 0x100000001b3;
  let x = <u32>(h ^ (h >> 32));
  x ^= x >> 16;
  x *= 0x85ebca6b;
  x ^= x >> 13;
  x *= 0xc2b2ae35;
  x ^= x >> 16;
  return x;
}

function sameBytes(a: Uint8Array, b: Uint8Array): bool {
  return a.length == b.length && bytesEqual(a.dataStart, b.dataStart, a.length);
}

/** `b` itself, or a copy of exactly its bytes when it is a view into a larger buffer (a header's copy). */
function exactBytes(b: Uint8Array): Uint8Array {
  return b.byteOffset == 0 && b.buffer.byteLength == b.length ? b : b.slice();
}

/** The smallest bucket table; it doubles while entries outnumber 3/4 of the buckets. */
const MIN_BUCKETS: i32 = 16;

/** TokenCache.checkInvariants() results: Ok, or which invariant failed first. */
export enum CacheInvariant {
  Ok = 0,
  /** head is null, tail is null and the table is empty must all agree. */
  EmptyMismatch = 1,
  /** head.prev is not null. */
  HeadPrev = 2,
  /** tail.next is not null. */
  TailNext = 3,
  /** Walking head→tail via next does not visit exactly `count` entries (or never ends). */
  ForwardCount = 4,
  /** The forward walk does not end at tail. */
  ForwardEnd = 5,
  /** Walking tail→head via prev does not visit exactly `count` entries (or never ends). */
  BackwardCount = 6,
  /** A listed entry is not the table's entry for its key (identity). */
  NotMapEntry = 7,
  /** The byte count is not the sum of the listed entries' bytes. */
  Bytes = 8,
  /** More entries than maxEntries. */
  OverEntries = 9,
  /** More bytes than maxBytes. */
  OverBytes = 10,
  /** Some entry's prev is not the entry before it in the forward walk. */
  BackLink = 11,
}

export class TokenCache {
  /** Hash buckets (a power of two), each a chain through CacheEntry.chain. */
  private buckets: StaticArray<CacheEntry | null> = new StaticArray<CacheEntry | null>(0);
  private count: i32 = 0;
  /** Most recently used first. */
  private head: CacheEntry | null = null;
  private tail: CacheEntry | null = null;
  private bytes: i32 = 0;
  hits: u64 = 0;
  misses: u64 = 0;

  constructor(public maxEntries: i32, public maxBytes: i32) {}

  get enabled(): bool {
    return this.maxEntries > 0 && this.maxBytes > 0;
  }

  get size(): i32 {
    return this.count;
  }

  /** The charged bytes of the entries held (sum of CacheEntry.bytes). */
  get usedBytes(): i32 {
    return this.bytes;
  }

  /** The live entry for `key` (hash `h`), or null. */
  private find(key: Uint8Array, h: u32): CacheEntry | null {
    const b = this.buckets;
    if (b.length == 0) return null;
    let e = unchecked(b[<i32>(h & <u32>(b.length - 1))]);
    while (e !== null) {
      if (e.hash == h && sameBytes(e.key, key)) return e;
      e = e.chain;
    }
    return null;
  }

  /** True when e is the live entry for its key (identity, not key equality): only then is it in the list. */
  private holds(e: CacheEntry): bool {
    return this.find(e.key, e.hash) === e;
  }

  private insert(e: CacheEntry): void {
    if (this.buckets.length == 0 || this.count + 1 > (this.buckets.length >> 2) * 3) this.grow();
    const b = this.buckets;
    const i = <i32>(e.hash & <u32>(b.length - 1));
    e.chain = unchecked(b[i]);
    unchecked(b[i] = e);
    this.count++;
  }

  /** Takes e (a live entry) out of its bucket. */
  private unchain(e: CacheEntry): void {
    const b = this.buckets;
    const i = <i32>(e.hash & <u32>(b.length - 1));
    let prev: CacheEntry | null = null;
    let x = unchecked(b[i]);
    while (x !== null && x !== e) {
      prev = x;
      x = x.chain;
    }
    if (x === null) return;
    if (prev === null) unchecked(b[i] = e.chain);
    else prev.chain = e.chain;
    e.chain = null;
    this.count--;
  }

  private grow(): void {
    const old = this.buckets;
    const n = old.length == 0 ? MIN_BUCKETS : old.length << 1;
    const b = new StaticArray<CacheEntry | null>(n);
    for (let i = 0; i < old.length; i++) {
      let e = unchecked(old[i]);
      while (e !== null) {
        const next = e.chain;
        const j = <i32>(e.hash & <u32>(n - 1));
        e.chain = unchecked(b[j]);
        unchecked(b[j] = e);
        e = next;
      }
    }
    this.buckets = b;
  }

  /**
   * Takes e out of the list. Callers pass only live entries (see holds); even so, a detached entry (both
   * links null and not the head or tail) leaves the list untouched rather than emptying it.
   */
  private unlink(e: CacheEntry): void {
    const p = e.prev;
    const n = e.next;
    if (p !== null) p.next = n;
    else if (this.head === e) this.head = n;
    if (n !== null) n.prev = p;
    else if (this.tail === e) this.tail = p;
    e.prev = null;
    e.next = null;
  }

  private pushFront(e: CacheEntry): void {
    e.prev = null;
    e.next = this.head;
    const h = this.head;
    if (h !== null) h.prev = e;
    this.head = e;
    if (this.tail === null) this.tail = e;
  }

  private remove(e: CacheEntry): void {
    this.unlink(e);
    this.unchain(e);
    this.bytes -= e.bytes;
  }

  /** The entry for this token, made most recently used; null on a miss. */
  get(key: Uint8Array): CacheEntry | null {
    const e = this.enabled ? this.find(key, hashBytes(key.dataStart, key.length)) : null;
    if (e === null) {
      this.misses++;
      return null;
    }
    this.unlink(e);
    this.pushFront(e);
    this.hits++;
    return e;
  }

  /**
   * Forgets an entry whose key has left its key set. The caller may hold e across a JWKS fetch, during
   * which e can be evicted, dropped by another request, or replaced by a fresh entry for the same token:
   * then e is stale and this is a no-op (it must not remove the fresh entry nor touch the list).
   */
  drop(e: CacheEntry): void {
    if (this.holds(e)) this.remove(e);
  }

  /**
   * Remembers a verified token under `key` (its bytes); tokens over 8 KiB and entries over the byte budget
   * are not kept. Bytes that are a view into a larger buffer (a header's copy) are copied to their exact
   * size, so an entry never holds more memory than it is charged for.
   */
  put(key: Uint8Array, jwt: Jwt, keyFingerprint: string): void {
    if (!this.enabled) return;
    const len = jwt.bytes.length;
    if (len > MAX_CACHED_TOKEN_BYTES || key.length > MAX_CACHED_TOKEN_BYTES) return;
    // One buffer for the token: the key is the parse's own bytes whenever they are equal (the filter's
    // always are, also when a hit is verified again after a rotation and the key is the request's view).
    if (key !== jwt.bytes && sameBytes(key, jwt.bytes)) key = jwt.bytes;
    // The parse's UTF-8 bytes, the parsed claims (about as large again), a key of other bytes (the unit
    // tests' ids), plus a fixed overhead.
    const cost = 2 * len + (key === jwt.bytes ? 0 : key.length) + ENTRY_OVERHEAD_BYTES + keyFingerprint.length;
    if (cost > this.maxBytes) return;
    const shared = key === jwt.bytes;
    jwt.bytes = exactBytes(jwt.bytes);
    key = shared ? jwt.bytes : exactBytes(key);
    const h = hashBytes(key.dataStart, key.length);
    const old = this.find(key, h);
    if (old !== null) this.remove(old);
    while (this.count >= this.maxEntries || this.bytes + cost > this.maxBytes) {
      const t = this.tail;
      if (t === null || !this.holds(t)) break; // never unlink what the table does not hold
      this.remove(t);
    }
    const e = new CacheEntry(key, h, jwt, keyFingerprint, cost);
    this.insert(e);
    this.pushFront(e);
    this.bytes += cost;
  }

  /**
   * Self-check for tests: 0 when the list and the hash table agree, else the first broken invariant's code
   * (CacheInvariant). Walks are bounded by the entry count, so a cycle is reported rather than looped on;
   * nothing is allocated and nothing traps.
   */
  checkInvariants(): i32 {
    const size = this.count;
    const head = this.head;
    const tail = this.tail;
    if ((head === null) != (size == 0) || (tail === null) != (size == 0)) return CacheInvariant.EmptyMismatch;
    if (head !== null && head.prev !== null) return CacheInvariant.HeadPrev;
    if (tail !== null && tail.next !== null) return CacheInvariant.TailNext;
    // Forward walk: length, back links, identity with the table, byte sum.
    let count = 0;
    let sum: i64 = 0;
    let last: CacheEntry | null = null;
    let e = head;
    while (e !== null) {
      if (count >= size) return CacheInvariant.ForwardCount; // longer than the table (or a cycle)
      if (e.prev !== last) return CacheInvariant.BackLink;
      if (!this.holds(e)) return CacheInvariant.NotMapEntry;
      sum += <i64>e.bytes;
      count++;
      last = e;
      e = e.next;
    }
    if (count != size) return CacheInvariant.ForwardCount;
    if (last !== tail) return CacheInvariant.ForwardEnd;
    // Backward walk: the same count.
    let back = 0;
    e = tail;
    while (e !== null) {
      if (back >= size) return CacheInvariant.BackwardCount;
      back++;
      e = e.prev;
    }
    if (back != size) return CacheInvariant.BackwardCount;
    if (sum != <i64>this.bytes) return CacheInvariant.Bytes;
    if (size > this.maxEntries && size > 0) return CacheInvariant.OverEntries;
    if (this.bytes > this.maxBytes && this.bytes > 0) return CacheInvariant.OverBytes;
    return CacheInvariant.Ok;
  }
}
