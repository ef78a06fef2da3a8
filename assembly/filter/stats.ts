// Owns the filter's metrics, named after Envoy's jwt_authn and RBAC stats under our prefix (Envoy shows
// them as `wasmcustom.jwt_authn.allowed` …): counters for verdicts, the token cache and every key-set
// fetch outcome, one counter per denial reason (the proxy-wasm metrics ABI has no tags), and a gauge of
// each fetched set's age. Defined once per root context (reasons and gauges on first use).
import { Counter, Gauge } from "@solo-io/proxy-runtime/assembly";
import { Status, statusString } from "../status";

/** `Jwt is expired` → `jwt_is_expired`: a stat-name-safe form of a status string or a URI. */
export function statName(s: string): string {
  let out = "";
  let sep = false;
  for (let i = 0; i < s.length && out.length < 120; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
    const upper = c >= 0x41 && c <= 0x5a;
    if (alnum || upper) {
      if (sep && out.length > 0) out += "_";
      sep = false;
      out += String.fromCharCode(upper ? c + 32 : c);
    } else sep = true;
  }
  return out;
}

/**
 * `https_idp_example_com_keys_1f0c9a3e`: statName of a URI plus 8 hex digits of its FNV-1a hash, so two
 * URIs that sanitize alike (`https://a/b`, `https://a.b`) never share a gauge. Envoy shares a stat by name
 * across VMs, so the name depends on the URI alone.
 */
export function uriStatName(uri: string): string {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < uri.length; i++) {
    h ^= <u32>uri.charCodeAt(i);
    h *= 0x01000193;
  }
  return statName(uri) + "_" + h.toString(16).padStart(8, "0");
}

export class Stats {
  allowed: Counter = new Counter("jwt_authn.allowed");
  denied: Counter = new Counter("jwt_authn.denied");
  jwtCacheHit: Counter = new Counter("jwt_authn.jwt_cache_hit");
  jwtCacheMiss: Counter = new Counter("jwt_authn.jwt_cache_miss");
  jwksFetchSuccess: Counter = new Counter("jwt_authn.jwks_fetch_success");
  jwksFetchFailed: Counter = new Counter("jwt_authn.jwks_fetch_failed");
  jwksFetchNotModified: Counter = new Counter("jwt_authn.jwks_fetch_not_modified");
  jwksKidMissRefetch: Counter = new Counter("jwt_authn.jwks_kid_miss_refetch");
  jwksStaleServed: Counter = new Counter("jwt_authn.jwks_stale_served");
  jwksPausedOverflow: Counter = new Counter("jwt_authn.jwks_paused_overflow");
  /** CORS preflights let through without looking at tokens (Envoy's `cors_preflight_bypassed`). */
  corsPreflightBypassed: Counter = new Counter("jwt_authn.cors_preflight_bypassed");
  rbacAllowed: Counter = new Counter("rbac.allowed");
  rbacDenied: Counter = new Counter("rbac.denied");
  /** AUDIT policy matches, and the dry-run (shadow) verdicts of `dryRun` policies. */
  rbacAudit: Counter = new Counter("rbac.audit");
  rbacDryRunAllowed: Counter = new Counter("rbac.dry_run_allowed");
  rbacDryRunDenied: Counter = new Counter("rbac.dry_run_denied");
  private reasons: Map<i32, Counter> = new Map();
  private ages: Map<string, Gauge> = new Map();

  /** `jwt_authn.denied_<reason>`, e.g. `jwt_authn.denied_jwt_is_expired`, next to the total. */
  deny(s: Status): void {
    this.denied.increment(1);
    const k = <i32>s;
    let c: Counter;
    if (this.reasons.has(k)) c = this.reasons.get(k);
    else {
      c = new Counter("jwt_authn.denied_" + statName(statusString(s)));
      this.reasons.set(k, c);
    }
    c.increment(1);
  }

  /** `jwt_authn.jwks_age_seconds.<uri>_<hash>`: seconds since the set was last confirmed good. */
  recordAge(uri: string, seconds: f64): void {
    let g: Gauge;
    if (this.ages.has(uri)) g = this.ages.get(uri);
    else {
      g = new Gauge("jwt_authn.jwks_age_seconds." + uriStatName(uri));
      this.ages.set(uri, g);
    }
    g.record(seconds > 0 ? <u64>seconds : 0);
  }
}
