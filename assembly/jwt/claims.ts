// Owns the claim checks that need configuration or a clock: time (nbf/exp with skew, as
// jwt_verify_lib's verifyTimeConstraint) and audiences (as its CheckAudience). Pure functions.
import { Status } from "../status";
import { Jwt } from "./jwt";

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
