// Owns the claim checks that need configuration or a clock: time (nbf/exp with skew, as
// jwt_verify_lib's verifyTimeConstraint) and audiences (as its CheckAudience), and claim lookup by a
// `.` path (as its StructUtils). Pure functions.
import { Status } from "../status";
import { Jwt } from "./jwt";
import { JsonValue, JsonKind } from "../util/json";
import { JwtRule } from "../config/config";

export const DEFAULT_CLOCK_SKEW_S: f64 = 60;

/**
 * `now + skew < nbf` is not yet valid; `exp != 0 && now > exp + skew` is expired; equality passes. As
 * Envoy, `now` is whole seconds (absl::ToUnixSeconds truncates): the last second before exp + skew passes.
 */
export function checkTime(jwt: Jwt, nowS: f64, skewS: f64): Status {
  const now = Math.floor(nowS);
  if (jwt.nbf > 0 && now + skewS < jwt.nbf) return Status.JwtNotYetValid;
  if (jwt.exp > 0 && now > jwt.exp + skewS) return Status.JwtExpired;
  return Status.Ok;
}

/**
 * Envoy's JwksData::isLifetimeAllowed (jwks_cache.cc), the `require_expiration` / `max_lifetime` extensions:
 * with either set, a token without `exp` (or `exp: 0`) fails; with `max_lifetime`, the remaining lifetime
 * `exp - now` (whole seconds) must be strictly below it. The failure is `Jwt is expired`.
 */
export function checkLifetime(jwt: Jwt, nowS: f64, requireExpiration: bool, maxLifetimeS: f64): Status {
  if (!requireExpiration && maxLifetimeS <= 0) return Status.Ok;
  if (jwt.exp == 0) return Status.JwtExpired;
  if (maxLifetimeS > 0 && !(jwt.exp - Math.floor(nowS) < maxLifetimeS)) return Status.JwtExpired;
  return Status.Ok;
}

/** CheckAudience's normal form: a leading `http://` or `https://` and one trailing `/` are dropped. */
export function normalizeAudience(a: string): string {
  let s = a;
  if (s.startsWith("http://")) s = s.substring(7);
  else if (s.startsWith("https://")) s = s.substring(8);
  if (s.length > 0 && s.charCodeAt(s.length - 1) == 0x2f) s = s.substring(0, s.length - 1);
  return s;
}

/** Any-of: true when one of the token's audiences is allowed. `allowed` is already normalized. */
export function areAudiencesAllowed(jwt: Jwt, allowed: string[]): bool {
  if (allowed.length == 0) return true;
  const auds = jwt.audiences;
  for (let i = 0; i < auds.length; i++) {
    const a = normalizeAudience(unchecked(auds[i]));
    for (let j = 0; j < allowed.length; j++) {
      if (unchecked(allowed[j]) == a) return true;
    }
  }
  return false;
}

/**
 * jwt_verify_lib's StructUtils::GetValue: walks `path` (a claim name split at `.`) through nested objects of
 * the payload; null when a name is missing or an intermediate value is not an object.
 */
export function findClaim(payload: JsonValue | null, path: string[]): JsonValue | null {
  let cur = payload;
  for (let i = 0; i < path.length; i++) {
    if (cur === null || cur.kind != JsonKind.Object) return null;
    cur = cur.get(unchecked(path[i]));
  }
  return cur;
}

/** Istio always normalizes these two (pilot's policy_applier adds them to every rule's list). */
const ALWAYS_SPACE_DELIMITED: string[] = ["scope", "permission"];

/**
 * The strings a claim offers to `request.auth.claims[...]` matching, after Envoy's normalize_payload_in_metadata
 * (AuthenticatorImpl::setPayloadMetadata): a top-level string claim named in the rule's spaceDelimitedClaims
 * (`scope` and `permission` always) is split at single spaces, empty pieces skipped (absl::SkipEmpty); when
 * nothing is left (`""`, `"  "`) the string stays as it was. Any other string is one value; a list offers its
 * string elements; numbers, booleans, null, objects and a missing claim offer none (Istio's string matcher
 * never matches them). `path` is the nested names (`[a][b]` is ["a", "b"]; a `.` inside a name is literal);
 * only a one-name path is ever normalized, as Envoy looks the claim up among the top-level members only.
 * `rule` is the rule that accepted the token (null: only `scope` and `permission`).
 */
export function claimValues(jwt: Jwt, rule: JwtRule | null, path: string[]): string[] {
  const out: string[] = [];
  const v = findClaim(jwt.payload, path);
  if (v === null) return out;
  if (v.kind == JsonKind.String) {
    const s = v.strValue;
    const names = rule !== null ? rule.spaceDelimitedClaims : ALWAYS_SPACE_DELIMITED;
    if (path.length == 1 && names.includes(unchecked(path[0]))) {
      const parts = s.split(" ");
      for (let i = 0; i < parts.length; i++) {
        const p = unchecked(parts[i]);
        if (p.length > 0) out.push(p);
      }
      if (out.length > 0) return out;
    }
    out.push(s);
  } else if (v.kind == JsonKind.Array) {
    const items = v.items;
    for (let i = 0; i < items.length; i++) {
      const it = unchecked(items[i]);
      if (it.kind == JsonKind.String) out.push(it.strValue);
    }
  }
  return out;
}
