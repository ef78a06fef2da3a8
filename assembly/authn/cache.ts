// Owns the verified-token cache: a per-VM LRU of tokens whose signature verified, keyed by the token
// itself (the map hashes it with xxHash32 and compares the whole token on a hit, so two tokens never
// share an entry; no cryptographic hash is needed for that), holding the parsed token and the identity
// of the key that verified it. Bounded in entries
// and bytes; tokens over 8 KiB are not cached. Better than Envoy's opt-in cache (which outlives key
// rotation): a hit is honoured only while that key is still in the provider's current key set, and the
// issuer, time and audience checks still run on every hit.
import { Jwt } from "../jwt/jwt";

export const DEFAULT_CACHE_ENTRIES: i32 = 1000;
export const DEFAULT_CACHE_BYTES: i32 = 1 << 20;
export const MAX_CACHED_TOKEN_BYTES: i32 = 8 * 1024;
/** Per-entry cost beyond the token itself: the parsed claims and the bookkeeping. */
const ENTRY_OVERHEAD_BYTES: i32 = 256;

export class CacheEntry {
  prev: CacheEntry | null = null;
  next: CacheEntry | null = null;
  constructor(public key: string, public jwt: Jwt, public keyFingerprint: string, public bytes: i32) {}
}

/** TokenCache.checkInvariants() results: Ok, or which invariant failed first. */
export enum CacheInvariant {
  Ok = 0,
  /** head is null, tail is null and the map is empty must all agree. */
  EmptyMismatch = 1,
  /** head.prev is not null. */
  HeadPrev = 2,
  /** tail.next is not null. */
  TailNext = 3,
  /** Walking head→tail via next does not visit exactly map.size entries (or never ends). */
  ForwardCount = 4,
  /** The forward walk does not end at tail. */
  ForwardEnd = 5,
  /** Walking tail→head via prev does not visit exactly map.size entries (or never ends). */
  BackwardCount = 6,
  /** A listed entry is not the map's entry for its key (identity). */
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
  private map: Map<string, CacheEntry> = new Map();
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
    return this.map.size;
  }

  /** The charged bytes of the entries held (sum of CacheEntry.bytes). */
  get usedBytes(): i32 {
    return this.bytes;
  }

  /** True when e is the live entry for its key (identity, not key equality): only then is it in the list. */
  private holds(e: CacheEntry): bool {
    const key = e.key;
    return this.map.has(key) && this.map.get(key) === e;
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
    this.map.delete(e.key);
    this.bytes -= e.bytes;
  }

  /** The entry for this token, made most recently used; null on a miss. */
  get(key: string): CacheEntry | null {
    if (!this.enabled || !this.map.has(key)) {
      this.misses++;
      return null;
    }
    const e = this.map.get(key);
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

  /** Remembers a verified token; tokens over 8 KiB and entries over the byte budget are not kept. */
  put(key: string, jwt: Jwt, keyFingerprint: string): void {
    if (!this.enabled) return;
    const len = jwt.bytes.length;
    if (len > MAX_CACHED_TOKEN_BYTES) return;
    // The key (the token's text, UTF-16: 2 bytes a character), its UTF-8 copy in the parse, and the
    // parsed claims (about as large again), plus a fixed overhead.
    const cost = 4 * len + ENTRY_OVERHEAD_BYTES + keyFingerprint.length;
    if (cost > this.maxBytes) return;
    if (this.map.has(key)) this.remove(this.map.get(key)); // the live entry for key, by construction
    while (this.map.size >= this.maxEntries || this.bytes + cost > this.maxBytes) {
      const t = this.tail;
      if (t === null || !this.holds(t)) break; // never unlink what the map does not hold
      this.remove(t);
    }
    const e = new CacheEntry(key, jwt, keyFingerprint, cost);
    this.map.set(key, e);
    this.pushFront(e);
    this.bytes += cost;
  }

  /**
   * Self-check for tests: 0 when the list and the map agree, else the first broken invariant's code
   * (CacheInvariant). Walks are bounded by the map size, so a cycle is reported rather than looped on;
   * nothing is allocated and nothing traps.
   */
  checkInvariants(): i32 {
    const size = this.map.size;
    const head = this.head;
    const tail = this.tail;
    if ((head === null) != (size == 0) || (tail === null) != (size == 0)) return CacheInvariant.EmptyMismatch;
    if (head !== null && head.prev !== null) return CacheInvariant.HeadPrev;
    if (tail !== null && tail.next !== null) return CacheInvariant.TailNext;
    // Forward walk: length, back links, identity with the map, byte sum.
    let count = 0;
    let sum: i64 = 0;
    let last: CacheEntry | null = null;
    let e = head;
    while (e !== null) {
      if (count >= size) return CacheInvariant.ForwardCount; // longer than the map (or a cycle)
      if (e.prev !== last) return CacheInvariant.BackLink;
      const key = e.key;
      if (!this.map.has(key) || this.map.get(key) !== e) return CacheInvariant.NotMapEntry;
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
