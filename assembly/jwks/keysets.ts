// Owns the lifecycle of every fetched document of one root context (JWKS and OIDC discovery, one per URI,
// shared with the plugin's other VMs through jwks/shared.ts): one fetch for all VMs under a CAS lease with
// a deadline, refresh ahead at 80 % of the lifetime from ticks, conditional requests, stale-while-error
// with exponential backoff and jitter, a rate-limited single-flight refetch when a token's kid is unknown,
// bounded paused requests woken when the attempt they wait for ends or their timeout passes, one log line
// per fetch outcome and the key-set counters. A discovery document's first fetch chains into its JWKS
// fetch; a JWKS set its discovery document no longer names is retired (so a jwks_uri that changes at every
// refresh leaves one set, not one per refresh). Which rules share a set: jwks/setkey.ts. A KeySets of a
// replaced configuration only drains its paused requests (drainTick, driven by the root).
// The request path calls jwksSetFor/current/acquire/kidMiss/pause only.
import { HeaderPair, log, LogLevelValues, stream_context, proxy_set_effective_context, WasmResultValues } from "@solo-io/proxy-runtime/assembly";
import { get_buffer_bytes, BufferTypeValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { JwtRule } from "../config/config";
import { MAX_JWKS_BYTES } from "./jwks";
import { debugWord } from "../util/words";
import { RemoteSet, DocKind, KeyWaiter, Need, ParsedDoc, DEFAULT_LIFETIME_MS } from "./remote";
import { SharedMeta, readMeta, writeMeta, writeBody } from "./shared";
import { setKeyOf, storeKeyOf } from "./setkey";
import { FetchTarget } from "../util/uri";
import { Stats } from "../filter/stats";

/** Ticks: the routine period, and a faster one while requests are paused (to see other VMs' results). */
export const TICK_MS: u32 = 1000;
export const FAST_TICK_MS: u32 = 100;
const BACKOFF_FIRST_MS: f64 = 1000;
const BACKOFF_MAX_MS: f64 = 300 * 1000;
/** Cache-Control max-age is honoured within [1 min, 24 h] when no cacheDuration is configured. */
const MAX_AGE_MIN_MS: f64 = 60 * 1000;
const MAX_AGE_MAX_MS: f64 = 24 * 3600 * 1000;
/** A lease outlives the fetch's own timeout by this much before another VM may take it over. */
const LEASE_MARGIN_MS: f64 = 1000;

/** Starts a call for a set (the root's proxy_http_call); false when the host refused to start it. */
export abstract class FetchStarter {
  abstract start(rs: RemoteSet, headers: HeaderPair[], timeoutMs: u32): WasmResultValues;
}

function hdr(k: string, v: string): HeaderPair {
  return new HeaderPair(String.UTF8.encode(k), String.UTF8.encode(v));
}

/** `max-age=N` from a Cache-Control value, in ms; -1 when absent or unreadable. */
export function maxAgeMs(cc: string): f64 {
  const parts = cc.toLowerCase().split(",");
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]).trim();
    if (!p.startsWith("max-age=")) continue;
    const v = p.substring(8);
    if (v.length == 0 || v.length > 10) return -1;
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      if (c < 0x30 || c > 0x39) return -1;
    }
    return parseFloat(v) * 1000;
  }
  return -1;
}

export class KeySets {
  private sets: Map<string, RemoteSet> = new Map();
  private list: RemoteSet[] = [];
  paused: i32 = 0;
  fastTick: bool = false;
  private rng: u32;

  constructor(public vmId: u32, public maxPaused: i32, public stats: Stats, public starter: FetchStarter) {
    this.rng = vmId ^ 0x9e3779b9;
    if (this.rng == 0) this.rng = 1;
  }

  /**
   * A rule's set (onConfigure), made once per root and VM for each kind, cluster, URI and options
   * (jwks/setkey.ts: rules that differ in an option get their own set, as Envoy's providers do).
   */
  setFor(kind: DocKind, target: FetchTarget, rule: JwtRule): RemoteSet {
    const rs = this.setWith(kind, target, rule.issuer, rule.cacheDurationMs, rule.staleTtlMs, rule.minRefetchIntervalMs, rule.timeoutMs, target.uri);
    rs.users++;
    return rs;
  }

  private setWith(kind: DocKind, target: FetchTarget, issuer: string, cacheDurationMs: f64, staleTtlMs: f64, minRefetchMs: f64,
    timeoutMs: u32, ageUri: string): RemoteSet {
    const key = setKeyOf(kind, target, cacheDurationMs, staleTtlMs, minRefetchMs, timeoutMs);
    if (this.sets.has(key)) return this.sets.get(key);
    const rs = new RemoteSet(kind, target, issuer, cacheDurationMs, staleTtlMs, minRefetchMs, timeoutMs);
    rs.key = key;
    rs.storeKey = storeKeyOf(target, cacheDurationMs);
    rs.ageUri = ageUri;
    this.sets.set(key, rs);
    this.list.push(rs);
    return rs;
  }

  /** The JWKS set a rule verifies with now: its `jwksUri` set, or the set its discovery document names (else the document's set, to wait on). */
  jwksSetFor(rule: JwtRule): RemoteSet | null {
    const rs = rule.remote;
    if (rs === null || rs.kind == DocKind.Jwks) return rs;
    const child = this.linkChild(rs);
    return child !== null ? child : rs;
  }

  /**
   * A discovery document's set for the `jwks_uri` it names now, with the document's options (its age
   * gauge named after the document, so a changing jwks_uri adds no gauge); the set it named before is
   * released. Null until the document has been read.
   */
  private linkChild(doc: RemoteSet): RemoteSet | null {
    const t = doc.jwksUri;
    const old = doc.child;
    if (t === null) return old;
    if (old !== null && !old.retired && old.uri == t.uri && old.target.cluster == t.cluster) return old;
    const child = this.setWith(DocKind.Jwks, t, doc.issuer, doc.cacheDurationMs, doc.staleTtlMs, doc.minRefetchMs, doc.timeoutMs, doc.uri);
    child.users++;
    doc.child = child;
    if (old !== null) this.release(old);
    return child;
  }

  /** One user fewer; a set nobody uses is retired (out of the map now, out of the list once idle). */
  private release(rs: RemoteSet): void {
    rs.users--;
    if (rs.users > 0 || rs.retired) return;
    rs.retired = true;
    if (this.sets.has(rs.key) && this.sets.get(rs.key) === rs) this.sets.delete(rs.key);
    log(LogLevelValues.info, "jwks set for issuer " + rs.issuer + " from " + rs.uri + " dropped: its discovery document names another jwks_uri");
  }

  /** Starts a discovered set's first fetch right away (not at the next tick) unless it is usable or fetched elsewhere. */
  private chain(rs: RemoteSet, nowMs: f64): void {
    if (rs.fetching) return;
    rs.sync(nowMs);
    if (!rs.usable(nowMs) && !rs.meta.leaseHeld(nowMs) && nowMs >= rs.meta.retryAtMs) this.startFetch(rs, nowMs);
  }

  private random(): f64 {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    this.rng = x;
    return <f64>x / 4294967296.0;
  }

  /** 1 s, 2 s, 4 s … capped at 5 min, ±20 % jitter. */
  backoffMs(failures: u32): f64 {
    let base = BACKOFF_FIRST_MS;
    for (let i: u32 = 1; i < failures && base < BACKOFF_MAX_MS; i++) base *= 2;
    if (base > BACKOFF_MAX_MS) base = BACKOFF_MAX_MS;
    return base * (0.8 + 0.4 * this.random());
  }

  /** The request path when a rule has no usable set: wait for an attempt in flight or one started now, or fail. */
  acquire(rs: RemoteSet, nowMs: f64): Need {
    if (rs.fetching) return Need.Wait;
    rs.sync(nowMs); // another VM may have stored a set, or be fetching one
    if (rs.usable(nowMs)) return Need.Ready;
    if (rs.meta.leaseHeld(nowMs)) return Need.Wait;
    if (nowMs >= rs.meta.retryAtMs && this.startFetch(rs, nowMs)) return Need.Wait;
    return Need.Fail;
  }

  /**
   * A token whose kid (or alg) no key of the current set matches: a newer version here already (Ready),
   * a refetch in flight or started now, single-flight across VMs and at most one per minRefetchInterval
   * from the last fetch of any kind (Wait), or nothing to do (Fail: the mismatch stands).
   */
  kidMiss(rs: RemoteSet, seenVersion: u32, nowMs: f64): Need {
    rs.sync(nowMs);
    if (rs.version != seenVersion && rs.usable(nowMs)) return Need.Ready;
    if (rs.fetching || rs.meta.leaseHeld(nowMs)) return Need.Wait;
    if (nowMs - rs.meta.attemptAtMs < rs.minRefetchMs || nowMs < rs.meta.retryAtMs) return Need.Fail;
    if (!this.startFetch(rs, nowMs)) return Need.Fail;
    this.stats.jwksKidMissRefetch.increment(1);
    return Need.Wait;
  }

  /** Pauses a request on a set until its attempt ends or `timeoutMs`; false when this VM already holds maxPausedRequests. */
  pause(rs: RemoteSet, w: KeyWaiter, nowMs: f64): bool {
    if (this.paused >= this.maxPaused) {
      this.stats.jwksPausedOverflow.increment(1);
      return false;
    }
    w.sinceMs = nowMs;
    w.deadlineMs = nowMs + <f64>rs.timeoutMs;
    w.version = rs.version;
    rs.waiters.push(w);
    this.paused++;
    return true;
  }

  /** Takes the lease (CAS) and starts the call; false when another VM holds it or the call could not start. */
  startFetch(rs: RemoteSet, nowMs: f64): bool {
    let m = new SharedMeta();
    let won = false;
    for (let i = 0; i < 8 && !won; i++) {
      m = readMeta(rs.storeKey);
      if (m.leaseHeld(nowMs)) {
        rs.meta = m;
        return false;
      }
      m.leaseHolder = this.vmId;
      m.leaseUntilMs = nowMs + <f64>rs.timeoutMs + LEASE_MARGIN_MS;
      m.attemptAtMs = nowMs;
      won = writeMeta(rs.storeKey, m);
    }
    if (!won) return false;
    m.cas = 0;
    rs.meta = m;
    const t = rs.target;
    const headers: HeaderPair[] = [hdr(":method", "GET"), hdr(":path", t.path), hdr(":authority", t.authority),
      hdr(":scheme", t.https ? "https" : "http")];
    // Conditional only when we hold the body those validators describe.
    rs.sentConditional = false;
    if (rs.version > 0 && rs.version == m.version) {
      if (m.etag.length > 0) headers.push(hdr("if-none-match", m.etag));
      if (m.lastModified.length > 0) headers.push(hdr("if-modified-since", m.lastModified));
      rs.sentConditional = m.etag.length > 0 || m.lastModified.length > 0;
    }
    const r = this.starter.start(rs, headers, rs.timeoutMs);
    if (r != WasmResultValues.Ok) {
      this.finish(rs, nowMs, "cluster " + t.cluster + " refused the call (WasmResult " + r.toString() + ")", -1, false);
      return false;
    }
    rs.fetching = true;
    rs.startedAtMs = nowMs;
    return true;
  }

  /** The response to this VM's call (numHeaders 0: reset or timeout). */
  complete(rs: RemoteSet, numHeaders: u32, bodySize: usize, nowMs: f64): void {
    rs.fetching = false;
    if (numHeaders == 0) {
      this.finish(rs, nowMs, "reset or timeout", -1, false);
      return;
    }
    const h = stream_context.headers.http_callback;
    const status = h.get(":status");
    if (status == "304") {
      if (rs.sentConditional) this.finish(rs, nowMs, "", this.lifetimeFor(rs, h.get("cache-control")), true);
      else this.finish(rs, nowMs, "304 to a request that was not conditional", -1, false);
      return;
    }
    if (status != "200") {
      const loc = h.get("location");
      const why = status.startsWith("3") ? "status " + status + " (redirect to " + debugWord(loc) + " not followed)" : "status " + status;
      this.finish(rs, nowMs, why, -1, false);
      return;
    }
    if (bodySize == 0) {
      this.finish(rs, nowMs, "empty body", -1, false);
      return;
    }
    if (bodySize > <usize>MAX_JWKS_BYTES) {
      this.finish(rs, nowMs, "body over " + MAX_JWKS_BYTES.toString() + " bytes", -1, false);
      return;
    }
    const body = get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, <u32>bodySize);
    const d = rs.parse(body);
    if (d.problem.length > 0) {
      this.finish(rs, nowMs, d.problem, -1, false);
      return;
    }
    this.finishGood(rs, nowMs, body, d, h.get("etag"), h.get("last-modified"), this.lifetimeFor(rs, h.get("cache-control")));
  }

  /** The lifetime a response gives: cacheDuration, else its max-age clamped, else -1 (none said). */
  private lifetimeFor(rs: RemoteSet, cacheControl: string): f64 {
    if (rs.cacheDurationMs > 0) return rs.cacheDurationMs;
    const ma = maxAgeMs(cacheControl);
    if (ma < 0) return -1;
    return ma < MAX_AGE_MIN_MS ? MAX_AGE_MIN_MS : ma > MAX_AGE_MAX_MS ? MAX_AGE_MAX_MS : ma;
  }

  /**
   * A good body: stored, then announced by a new version in the record. A version is announced (and taken
   * here) only once its body is stored: when the host refuses the body, or the record cannot be updated
   * (CAS retries exhausted), the attempt is a failure (last good set kept, backoff), since other VMs would
   * look for a body that is not there and this VM's unannounced version number would hide the next one.
   * A discovery document's new `jwks_uri` is fetched at once.
   */
  private finishGood(rs: RemoteSet, nowMs: f64, body: ArrayBuffer, d: ParsedDoc, etag: string, lastModified: string, lifetimeMs: f64): void {
    let m = new SharedMeta();
    let problem = "the shared record could not be updated (compare-and-swap retries exhausted)";
    let published = false;
    for (let i = 0; i < 8; i++) {
      m = readMeta(rs.storeKey);
      const version = m.version + 1;
      if (!writeBody(rs.storeKey, version, body)) {
        problem = "the host refused to store the body (" + body.byteLength.toString() + " bytes) in shared data";
        break;
      }
      m.version = version;
      m.etag = etag;
      m.lastModified = lastModified;
      this.settle(m, nowMs, lifetimeMs >= 0 ? lifetimeMs : DEFAULT_LIFETIME_MS);
      if (writeMeta(rs.storeKey, m)) {
        published = true;
        break;
      }
    }
    if (!published) {
      this.finish(rs, nowMs, problem, -1, false);
      return;
    }
    m.cas = 0;
    rs.meta = m;
    rs.adopt(m.version, d);
    this.stats.jwksFetchSuccess.increment(1);
    this.report(rs, nowMs, "ok, " + this.describe(d) + ", version " + m.version.toString());
    if (rs.kind == DocKind.Discovery && !rs.retired) {
      const child = this.linkChild(rs);
      if (child !== null) this.chain(child, nowMs);
    }
    this.wake(rs, nowMs, true);
  }

  /** Records a 304 (`renewed`) or a failure in the shared record and wakes this VM's waiters. */
  private finish(rs: RemoteSet, nowMs: f64, problem: string, lifetimeMs: f64, renewed: bool): void {
    let m = new SharedMeta();
    for (let i = 0; i < 8; i++) {
      m = readMeta(rs.storeKey);
      if (renewed) this.settle(m, nowMs, lifetimeMs);
      else {
        m.failures++;
        m.retryAtMs = nowMs + this.backoffMs(m.failures);
        m.lastOk = false;
        m.attemptEndMs = nowMs;
        if (m.leaseHolder == this.vmId) {
          m.leaseHolder = 0;
          m.leaseUntilMs = 0;
        }
      }
      if (writeMeta(rs.storeKey, m)) break;
    }
    m.cas = 0;
    rs.meta = m;
    if (renewed) {
      this.stats.jwksFetchNotModified.increment(1);
      this.report(rs, nowMs, "not modified (304), lifetime renewed");
    } else {
      this.stats.jwksFetchFailed.increment(1);
      const serving = rs.usable(nowMs) ? "serving the last good set (stale until " + ((rs.freshUntilMs() + rs.staleTtlMs) / 1000).toString() + ")" : "no usable set";
      this.report(rs, nowMs, "failed: " + problem + "; " + serving + "; retry in " + ((m.retryAtMs - nowMs) / 1000).toString() + " s", true);
    }
    this.wake(rs, nowMs, true);
  }

  /**
   * A good attempt: fresh from now for `lifetimeMs` (-1: a 304 keeps the stored lifetime, as RFC 9111
   * §4.3.4 keeps the stored headers; a 200 gets Envoy's 10 minutes), no failures, lease released.
   */
  private settle(m: SharedMeta, nowMs: f64, lifetimeMs: f64): void {
    m.fetchedAtMs = nowMs;
    m.lifetimeMs = lifetimeMs >= 0 ? lifetimeMs : m.lifetimeMs > 0 ? m.lifetimeMs : DEFAULT_LIFETIME_MS;
    m.failures = 0;
    m.retryAtMs = 0;
    m.lastOk = true;
    m.attemptEndMs = nowMs;
    if (m.leaseHolder == this.vmId) {
      m.leaseHolder = 0;
      m.leaseUntilMs = 0;
    }
  }

  private describe(d: ParsedDoc): string {
    const j = d.jwks;
    if (j !== null) return j.keys.length.toString() + " key(s)";
    const u = d.jwksUri;
    return u !== null ? "jwks_uri " + u.uri : "";
  }

  /** One line per fetch outcome: what, which issuer, how long. Never a token. */
  private report(rs: RemoteSet, nowMs: f64, outcome: string, warn: bool = false): void {
    const what = rs.kind == DocKind.Jwks ? "jwks" : "oidc discovery";
    const ms = rs.startedAtMs > 0 ? nowMs - rs.startedAtMs : 0;
    log(warn ? LogLevelValues.warn : LogLevelValues.info, what + " fetch for issuer " + rs.issuer + " from " + rs.uri + " (cluster " +
      rs.target.cluster + "): " + outcome + " in " + (<i64>ms).toString() + " ms");
  }

  /**
   * Resumes the waiters whose wait is over: all of them when `all` (this VM's own attempt ended), else
   * those whose attempt ended elsewhere (seen in the shared record) or whose timeout passed.
   */
  private wake(rs: RemoteSet, nowMs: f64, all: bool): void {
    if (rs.waiters.length == 0) return;
    const keep: KeyWaiter[] = [];
    const ready: KeyWaiter[] = [];
    const m = rs.meta;
    const idle = !rs.fetching && !m.leaseHeld(nowMs);
    for (let i = 0; i < rs.waiters.length; i++) {
      const w = unchecked(rs.waiters[i]);
      if (!w.isAlive()) {
        this.paused--;
        continue;
      }
      const over = all || nowMs >= w.deadlineMs || rs.version != w.version || (idle && m.attemptEndMs >= w.sinceMs);
      if (over) ready.push(w);
      else keep.push(w);
    }
    rs.waiters = keep;
    const ok = rs.usable(nowMs);
    for (let i = 0; i < ready.length; i++) {
      const w = unchecked(ready[i]);
      this.paused--;
      if (proxy_set_effective_context(w.contextId()) != WasmResultValues.Ok) continue;
      w.keysReady(ok);
    }
  }

  /** Whether there is any fetched document (else the root needs no ticks). */
  any(): bool {
    return this.list.length > 0;
  }

  /** Whether any request is paused (the root then ticks faster). */
  anyPaused(): bool {
    return this.paused > 0;
  }

  /**
   * proxy_on_tick: see other VMs' results (a discovery document's new jwks_uri links its set here, ticked
   * in this same loop), wake and time out waiters, refresh ahead or retry, record ages; retired sets only
   * wake their waiters, and leave the list once none is left and their fetch is over.
   */
  tick(nowMs: f64): void {
    let retired = 0;
    for (let i = 0; i < this.list.length; i++) {
      const rs = unchecked(this.list[i]);
      if (!rs.fetching) rs.sync(nowMs);
      if (rs.kind == DocKind.Discovery && !rs.retired) this.linkChild(rs);
      this.wake(rs, nowMs, false);
      if (rs.retired) {
        retired++;
        continue;
      }
      if (!rs.fetching && !rs.meta.leaseHeld(nowMs) && this.due(rs, nowMs) && !this.docFetching(rs, nowMs)) this.startFetch(rs, nowMs);
      if (rs.version > 0 && rs.kind == DocKind.Jwks) this.stats.recordAge(rs.ageUri, (nowMs - rs.meta.fetchedAtMs) / 1000);
    }
    if (retired > 0) this.dropRetired();
  }

  /**
   * Whether a discovery document naming this set is being fetched (here or in another VM): its routine
   * refresh waits for the answer, which may name another jwks_uri (both share one lifetime, so they fall
   * due in the same tick).
   */
  private docFetching(rs: RemoteSet, nowMs: f64): bool {
    for (let i = 0; i < this.list.length; i++) {
      const d = unchecked(this.list[i]);
      if (d.kind == DocKind.Discovery && d.child === rs && (d.fetching || d.meta.leaseHeld(nowMs))) return true;
    }
    return false;
  }

  private dropRetired(): void {
    const keep: RemoteSet[] = [];
    for (let i = 0; i < this.list.length; i++) {
      const rs = unchecked(this.list[i]);
      if (!rs.retired || rs.fetching || rs.waiters.length > 0) keep.push(rs);
    }
    this.list = keep;
  }

  /**
   * The root took a new configuration while requests were paused here: no fetch starts, each paused
   * request is resumed when its attempt ends (here or in another VM) or failed at its timeout. True while
   * some are left (the root then keeps calling, every FAST_TICK_MS). A fetch of this KeySets still in
   * flight completes through its own callback.
   */
  drainTick(nowMs: f64): bool {
    for (let i = 0; i < this.list.length; i++) {
      const rs = unchecked(this.list[i]);
      if (rs.waiters.length == 0) continue;
      if (!rs.fetching) rs.sync(nowMs);
      this.wake(rs, nowMs, false);
    }
    return this.paused > 0;
  }

  /** A retry after failures, the first fetch, or a routine refresh at 80 % of the lifetime. */
  private due(rs: RemoteSet, nowMs: f64): bool {
    const m = rs.meta;
    if (nowMs < m.retryAtMs) return false;
    if (m.version == 0 || m.failures > 0) return true;
    return nowMs >= m.fetchedAtMs + 0.8 * m.lifetimeMs && nowMs - m.attemptAtMs >= rs.minRefetchMs;
  }

  /** The first fetch of every set, when the root takes a configuration (one VM wins; the others read its result). */
  start(nowMs: f64): void {
    for (let i = 0; i < this.list.length; i++) {
      const rs = unchecked(this.list[i]);
      rs.sync(nowMs);
      if (!rs.usable(nowMs) && !rs.meta.leaseHeld(nowMs) && nowMs >= rs.meta.retryAtMs) this.startFetch(rs, nowMs);
    }
  }
}
