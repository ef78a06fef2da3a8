// Owns one VM's copy of one fetched document (a JWKS, or an OIDC discovery document) that all VMs share
// through jwks/shared.ts: the record last read, the body of the version parsed once (keys precomputed, or
// the discovered `jwks_uri`), whether this VM's own fetch is in flight, and the requests paused on it.
// The request path reads only this local copy; the shared record is read on ticks and on the rare request
// that finds the copy past its lifetime. Fetching, leases and waking waiters are jwks/keysets.ts's.
import { Jwks, parseJwks } from "./jwks";
import { Status, statusString } from "../status";
import { SharedMeta, readMeta, readBody } from "./shared";
import { FetchTarget, fetchTarget } from "../util/uri";
import { parseJson, JsonKind, JsonLimits } from "../util/json";

export const enum DocKind { Jwks = 0, Discovery = 1 }

/** Envoy's default remote JWKS cache duration, used when neither `cacheDuration` nor max-age says otherwise. */
export const DEFAULT_LIFETIME_MS: f64 = 600 * 1000;
/** The least time between two reads of the shared record by the request path. */
const SYNC_FLOOR_MS: f64 = 250;

/** A paused request that waits for an attempt on one set; the stream supplies what to do when it ends. */
export abstract class KeyWaiter {
  sinceMs: f64 = 0;
  deadlineMs: f64 = 0;
  /** The set's version when the request paused: a newer one ends the wait. */
  version: u32 = 0;
  constructor(public remote: RemoteSet) {}
  abstract contextId(): u32;
  abstract isAlive(): bool;
  /** Called with the waiter's context made effective; `ok` false: still no usable set. */
  abstract keysReady(ok: bool): void;
}

/** What a request that finds no usable set, or no key for its kid, is to do. */
export const enum Need { Ready = 0, Wait = 1, Fail = 2 }

/** The result of reading a fetched body: the parsed document, or why it is not usable. */
export class ParsedDoc {
  jwks: Jwks | null = null;
  jwksUri: FetchTarget | null = null;
  problem: string = "";
}

export class RemoteSet {
  /** The last shared record read (its times drive lifetime, staleness, retries and refetch limits). */
  meta: SharedMeta = new SharedMeta();
  /** The version whose body was parsed, and what it gave. */
  version: u32 = 0;
  jwks: Jwks | null = null;
  jwksUri: FetchTarget | null = null;
  /** For a discovery document: this VM's set for the discovered `jwks_uri` (jwks/keysets.ts linkChild). */
  child: RemoteSet | null = null;
  /** The KeySets map key (kind, cluster, URI and options: jwks/setkey.ts). */
  key: string = "";
  /** The shared-data key of the record and body (jwks/setkey.ts storeKeyOf): the URI in the common case. */
  storeKey: string = "";
  /** The URI the age gauge is named after: the set's own, or for a discovered set its discovery document's. */
  ageUri: string = "";
  /** Rules and discovery documents using this set; a discovered set nobody uses any more is retired. */
  users: i32 = 0;
  /** Retired: out of the KeySets map, never refreshed, dropped once its waiters and its fetch are over. */
  retired: bool = false;
  /** This VM's own fetch: in flight, when it started, whether it asked conditionally. */
  fetching: bool = false;
  startedAtMs: f64 = 0;
  sentConditional: bool = false;
  lastSyncMs: f64 = -1e18;
  waiters: KeyWaiter[] = [];

  constructor(
    public kind: DocKind, public target: FetchTarget, public issuer: string,
    public cacheDurationMs: f64, public staleTtlMs: f64, public minRefetchMs: f64, public timeoutMs: u32,
  ) {
    this.storeKey = target.uri;
    this.ageUri = target.uri;
  }

  get uri(): string {
    return this.target.uri;
  }

  /** When the current body stops being fresh (its lifetime) and stops being usable at all (plus staleTtl). */
  freshUntilMs(): f64 {
    return this.meta.fetchedAtMs + this.meta.lifetimeMs;
  }

  private parsed(): bool {
    return this.kind == DocKind.Jwks ? this.jwks !== null : this.jwksUri !== null;
  }

  usable(nowMs: f64): bool {
    return this.version > 0 && this.parsed() && nowMs < this.freshUntilMs() + this.staleTtlMs;
  }

  stale(nowMs: f64): bool {
    return nowMs >= this.freshUntilMs();
  }

  /** Reads the shared record, and the body when its version is newer than the one parsed here. */
  sync(nowMs: f64): void {
    this.lastSyncMs = nowMs;
    const m = readMeta(this.storeKey);
    this.meta = m;
    if (m.version > this.version) {
      const body = readBody(this.storeKey, m.version);
      if (body !== null) {
        const d = this.parse(body);
        if (d.problem.length == 0) this.adopt(m.version, d);
      }
    }
  }

  /** Takes a parsed body as the current version. */
  adopt(version: u32, d: ParsedDoc): void {
    this.version = version;
    this.jwks = d.jwks;
    this.jwksUri = d.jwksUri;
  }

  /**
   * The request path's read: the keys when usable (fresh or stale), else null. A copy past its lifetime
   * is re-read from shared data first (at most every 250 ms), since another VM may have refreshed it.
   */
  current(nowMs: f64): Jwks | null {
    if (this.version > 0 && !this.stale(nowMs)) return this.jwks;
    if (nowMs - this.lastSyncMs >= SYNC_FLOOR_MS) this.sync(nowMs);
    return this.usable(nowMs) ? this.jwks : null;
  }

  /** Reads a fetched body of this document's kind; bounded and strict, never trapping. */
  parse(body: ArrayBuffer): ParsedDoc {
    const d = new ParsedDoc();
    if (this.kind == DocKind.Jwks) {
      const set = parseJwks(changetype<usize>(body), body.byteLength);
      if (set.status != Status.Ok) d.problem = "no usable key (" + statusString(set.status) + ")";
      else d.jwks = set;
      return d;
    }
    const limits = new JsonLimits();
    limits.maxBytes = body.byteLength;
    limits.maxDepth = 16;
    const doc = parseJson(changetype<usize>(body), body.byteLength, limits);
    if (doc === null || doc.kind != JsonKind.Object) {
      d.problem = "the discovery document is not a JSON object";
      return d;
    }
    const u = doc.get("jwks_uri");
    if (u === null || u.kind != JsonKind.String) {
      d.problem = "the discovery document has no jwks_uri string";
      return d;
    }
    // Same authority as the issuer: through the issuer's cluster; elsewhere: its default cluster name.
    const t0 = fetchTarget(u.strValue, "");
    if (t0 === null) {
      d.problem = "jwks_uri is not an http(s) URI";
      return d;
    }
    if (!t0.https && this.target.https) {
      d.problem = "jwks_uri is http:// while the issuer is https://";
      return d;
    }
    d.jwksUri = t0.authority == this.target.authority ? fetchTarget(u.strValue, this.target.cluster) : t0;
    return d;
  }
}
