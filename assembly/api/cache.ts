// Library entry for the unit tests (build/cache.wasm): drives the verified-token cache
// (assembly/authn/cache.ts TokenCache) with small integer ids (8-byte keys) instead of tokens and their parses, and
// holds the entries that get() returned the way a request does while it waits on a JWKS fetch, so a test
// can drop them long after they were evicted or replaced. Not loaded by the filter.
import { TokenCache, CacheEntry } from "../authn/cache";
import { Jwt } from "../jwt/jwt";

let cache = new TokenCache(0, 0);
/** Entries handed out by get(), by handle; null once released. */
let held: Array<CacheEntry | null> = [];
let free: i32[] = [];
/** Serial of the last put (each put's Jwt carries its serial in `iat`, so an entry can be told apart). */
let serial: i32 = 0;

/** Key id -> the 8 bytes of a token standing for it. */
function keyOf(keyId: i32): Uint8Array {
  const k = new Uint8Array(8);
  store<u64>(k.dataStart, <u64>keyId);
  return k;
}

function fingerprintOf(fpId: i32): string {
  return "fp" + fpId.toString();
}

function heldAt(handle: i32): CacheEntry | null {
  if (handle < 0 || handle >= held.length) return null;
  return unchecked(held[handle]);
}

/** A fresh cache with these bounds; every handle is forgotten. */
export function reset(maxEntries: i32, maxBytes: i32): void {
  cache = new TokenCache(maxEntries, maxBytes);
  held = [];
  free = [];
  serial = 0;
}

/**
 * put(key: 8 bytes for keyId, a Jwt whose bytes are tokenLen bytes, fingerprint "fp<fpId>"). Returns this put's
 * serial (> 0), which serial(handle) reports for an entry it created.
 */
export function put(keyId: i32, tokenLen: i32, fpId: i32): i32 {
  const jwt = new Jwt();
  jwt.bytes = new Uint8Array(max(tokenLen, 0));
  // 0xfe bytes never equal a key (an id's 8 bytes end in four 0x00 or four 0xff), so the two stay apart.
  jwt.bytes.fill(0xfe);
  serial++;
  jwt.iat = <f64>serial;
  cache.put(keyOf(keyId), jwt, fingerprintOf(fpId));
  return serial;
}

/** get(the key of keyId): a handle on the entry (a request that hit and now holds it), or -1 on a miss. */
export function get(keyId: i32): i32 {
  const e = cache.get(keyOf(keyId));
  if (e === null) return -1;
  if (free.length > 0) {
    const h = free.pop();
    held[h] = e;
    return h;
  }
  held.push(e);
  return held.length - 1;
}

/** Drops the held entry (it may be stale by now); the handle stays held. 0, or -1 for a bad handle. */
export function drop(handle: i32): i32 {
  const e = heldAt(handle);
  if (e === null) return -1;
  cache.drop(e);
  return 0;
}

/** Lets go of a handle. 0, or -1 for a bad handle. */
export function release(handle: i32): i32 {
  if (heldAt(handle) === null) return -1;
  held[handle] = null;
  free.push(handle);
  return 0;
}

/** The serial of the put that created the held entry; -1 for a bad handle. */
export function heldSerial(handle: i32): i32 {
  const e = heldAt(handle);
  if (e === null) return -1;
  return <i32>e.jwt.iat;
}

/** The charged bytes of the held entry; -1 for a bad handle. */
export function heldBytes(handle: i32): i32 {
  const e = heldAt(handle);
  if (e === null) return -1;
  return e.bytes;
}

/** 1 when both handles hold the same entry object, 0 when not, -1 for a bad handle. */
export function sameEntry(a: i32, b: i32): i32 {
  const ea = heldAt(a);
  const eb = heldAt(b);
  if (ea === null || eb === null) return -1;
  return ea === eb ? 1 : 0;
}

/** TokenCache.checkInvariants(): 0 when consistent, else the CacheInvariant code. */
export function check(): i32 {
  return cache.checkInvariants();
}

export function size(): i32 {
  return cache.size;
}

export function usedBytes(): i32 {
  return cache.usedBytes;
}

export function hits(): i32 {
  return <i32>cache.hits;
}

export function misses(): i32 {
  return <i32>cache.misses;
}

export function enabled(): i32 {
  return cache.enabled ? 1 : 0;
}
