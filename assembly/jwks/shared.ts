// Owns what the VMs of one plugin share about one fetched document (a JWKS or an OIDC discovery document),
// in proxy-wasm shared data under a key per URI: a small record (`<prefix>meta|<uri>`: version, fetch and
// attempt times, lifetime, failures and the next retry, ETag/Last-Modified, and the fetch lease) read on
// ticks and on the rare request that needs it, and the raw body (`<prefix>body|<uri>`) read once per
// version. Updates are compare-and-swap loops, so one VM wins a lease and no update is lost. Shared data
// is written only by this module, but it is still read as untrusted bytes: bounded, never trapping.
import { WasmResultValues } from "@solo-io/proxy-runtime/assembly";
import { get_shared_data, set_shared_data } from "@solo-io/proxy-runtime/assembly/runtime";
import { MAX_JWKS_BYTES } from "./jwks";

const PREFIX = "jwt_authn.v1.";
const MAGIC: u32 = 0x6a776b31; // "jwk1"
const FIXED_BYTES: i32 = 4 * 6 + 8 * 8;
const MAX_TEXT: i32 = 1024;

export class SharedMeta {
  /** The body's version: 0 until a good body is stored, then +1 per new body. */
  version: u32 = 0;
  /** When the stored body was last confirmed good (a 200 or a 304), and how long it is good for. */
  fetchedAtMs: f64 = 0;
  lifetimeMs: f64 = 0;
  /** The last fetch attempt of any kind: when it started and when it ended. */
  attemptAtMs: f64 = 0;
  attemptEndMs: f64 = 0;
  /** Consecutive failed attempts, and the earliest time for the next (backoff). */
  failures: u32 = 0;
  retryAtMs: f64 = 0;
  /** Whether the last attempt succeeded. */
  lastOk: bool = false;
  /** The VM fetching now (0: none) and until when its lease holds. */
  leaseHolder: u32 = 0;
  leaseUntilMs: f64 = 0;
  etag: string = "";
  lastModified: string = "";
  /** The CAS of the record read (0: there was none). */
  cas: u32 = 0;

  leaseHeld(nowMs: f64): bool {
    return this.leaseHolder != 0 && nowMs < this.leaseUntilMs;
  }

  hasBody(): bool {
    return this.version > 0;
  }
}

function metaKey(uri: string): string {
  return PREFIX + "meta|" + uri;
}

function bodyKey(uri: string): string {
  return PREFIX + "body|" + uri;
}

function putBytes(buf: ArrayBuffer, at: i32, b: ArrayBuffer): i32 {
  const n = b.byteLength;
  store<u32>(changetype<usize>(buf) + <usize>at, <u32>n);
  memory.copy(changetype<usize>(buf) + <usize>(at + 4), changetype<usize>(b), <usize>n);
  return at + 4 + n;
}

/**
 * The text's UTF-8 bytes, or none when they are more than MAX_TEXT (decodeMeta refuses a longer field, so
 * one would make the whole record unreadable). Bytes, not characters: a header value's obs-text becomes
 * U+FFFD, three bytes each.
 */
function clipped(s: string): ArrayBuffer {
  const b = String.UTF8.encode(s);
  return b.byteLength > MAX_TEXT ? new ArrayBuffer(0) : b;
}

export function encodeMeta(m: SharedMeta): ArrayBuffer {
  const etag = clipped(m.etag);
  const lm = clipped(m.lastModified);
  const buf = new ArrayBuffer(FIXED_BYTES + 8 + etag.byteLength + lm.byteLength);
  const p = changetype<usize>(buf);
  store<u32>(p, MAGIC);
  store<u32>(p, m.version, 4);
  store<u32>(p, m.failures, 8);
  store<u32>(p, m.lastOk ? 1 : 0, 12);
  store<u32>(p, m.leaseHolder, 16);
  store<u32>(p, 0, 20);
  store<f64>(p, m.fetchedAtMs, 24);
  store<f64>(p, m.lifetimeMs, 32);
  store<f64>(p, m.attemptAtMs, 40);
  store<f64>(p, m.attemptEndMs, 48);
  store<f64>(p, m.retryAtMs, 56);
  store<f64>(p, m.leaseUntilMs, 64);
  store<f64>(p, 0, 72);
  store<f64>(p, 0, 80);
  putBytes(buf, putBytes(buf, FIXED_BYTES, etag), lm);
  return buf;
}

function finite(x: f64): bool {
  return x == x && x != Infinity && x != -Infinity;
}

/** Reads a record; null when the bytes are not one this module wrote. */
export function decodeMeta(buf: ArrayBuffer): SharedMeta | null {
  const n = buf.byteLength;
  if (n < FIXED_BYTES + 8) return null;
  const p = changetype<usize>(buf);
  if (load<u32>(p) != MAGIC) return null;
  const m = new SharedMeta();
  m.version = load<u32>(p, 4);
  m.failures = load<u32>(p, 8);
  m.lastOk = load<u32>(p, 12) != 0;
  m.leaseHolder = load<u32>(p, 16);
  m.fetchedAtMs = load<f64>(p, 24);
  m.lifetimeMs = load<f64>(p, 32);
  m.attemptAtMs = load<f64>(p, 40);
  m.attemptEndMs = load<f64>(p, 48);
  m.retryAtMs = load<f64>(p, 56);
  m.leaseUntilMs = load<f64>(p, 64);
  if (!finite(m.fetchedAtMs) || !finite(m.lifetimeMs) || !finite(m.attemptAtMs) || !finite(m.attemptEndMs) ||
    !finite(m.retryAtMs) || !finite(m.leaseUntilMs)) return null;
  let at = FIXED_BYTES;
  const el = <i32>load<u32>(p + <usize>at);
  if (el < 0 || el > MAX_TEXT || at + 4 + el + 4 > n) return null;
  m.etag = String.UTF8.decodeUnsafe(p + <usize>(at + 4), <usize>el);
  at += 4 + el;
  const ll = <i32>load<u32>(p + <usize>at);
  if (ll < 0 || ll > MAX_TEXT || at + 4 + ll != n) return null;
  m.lastModified = String.UTF8.decodeUnsafe(p + <usize>(at + 4), <usize>ll);
  return m;
}

/** The record for `uri`, with its CAS; a fresh record (cas 0) when there is none or it does not read. */
export function readMeta(uri: string): SharedMeta {
  const d = get_shared_data(metaKey(uri));
  if (d.result != WasmResultValues.Ok) return new SharedMeta();
  const m = decodeMeta(d.value);
  if (m === null) {
    const fresh = new SharedMeta();
    fresh.cas = d.cas;
    return fresh;
  }
  m.cas = d.cas;
  return m;
}

/** Writes `m` if the record is still the one read (its cas); false on a lost race or a host refusal. */
export function writeMeta(uri: string, m: SharedMeta): bool {
  return set_shared_data(metaKey(uri), encodeMeta(m), m.cas) == WasmResultValues.Ok;
}

/** Stores the body of `version` (before the record that announces it). */
export function writeBody(uri: string, version: u32, body: ArrayBuffer): bool {
  const buf = new ArrayBuffer(4 + body.byteLength);
  store<u32>(changetype<usize>(buf), version);
  memory.copy(changetype<usize>(buf) + 4, changetype<usize>(body), <usize>body.byteLength);
  return set_shared_data(bodyKey(uri), buf, 0) == WasmResultValues.Ok;
}

/**
 * The stored body if it is `version`'s; null otherwise (not yet written, already replaced, or larger than
 * any body a fetch stores: MAX_JWKS_BYTES, so a value written under our key by anything else is not copied).
 */
export function readBody(uri: string, version: u32): ArrayBuffer | null {
  const d = get_shared_data(bodyKey(uri));
  if (d.result != WasmResultValues.Ok || d.value.byteLength < 4 || d.value.byteLength - 4 > MAX_JWKS_BYTES) return null;
  const p = changetype<usize>(d.value);
  if (load<u32>(p) != version) return null;
  return d.value.slice(4);
}

/** A unique-enough id for this VM's leases: a shared counter, mixed with the clock for a first-write race. */
export function claimVmId(nowNs: u64): u32 {
  const key = PREFIX + "vm_seq";
  for (let i = 0; i < 8; i++) {
    const d = get_shared_data(key);
    let n: u32 = 0;
    let cas: u32 = 0;
    if (d.result == WasmResultValues.Ok && d.value.byteLength == 4) {
      n = load<u32>(changetype<usize>(d.value));
      cas = d.cas;
    }
    const next = n + 1;
    const buf = new ArrayBuffer(4);
    store<u32>(changetype<usize>(buf), next);
    if (set_shared_data(key, buf, cas) == WasmResultValues.Ok) return (next << 8) | (<u32>(nowNs >> 10) & 0xff) | 1;
  }
  return <u32>(nowNs >> 10) | 1;
}
