// Owns the checks of one token, in Envoy's order (authenticator.cc startVerify): parse (or a
// verified-token cache hit) → issuer allowed for the location and configured → per candidate rule:
// time (the rule's skew, 60 s by default) → lifetime (requireExpiration, maxLifetime) → audiences → keys →
// signature. The rules of one issuer that configured the token's
// location are alternatives, as Istio's: the token is valid when one accepts it, and when none does the
// first candidate's failure is reported, whatever the rule order. Waiting for a key set is the stream's.
import { Status } from "../status";
import { Config, JwtRule } from "../config/config";
import { Jwt, parseJwtBytes } from "../jwt/jwt";
import { checkTime, checkLifetime, areAudiencesAllowed } from "../jwt/claims";
import { Jwks } from "../jwks/jwks";
import { verifyJwtSignatureWithKey, keyStillSelects, KeyMatch } from "../jwks/verify";
import { FoundToken, NO_RULES } from "./extractor";
import { CacheEntry, TokenCache, MAX_CACHED_TOKEN_BYTES } from "./cache";

/** Never written: the parse of a token not yet looked at. */
const NO_JWT: Jwt = new Jwt();

/** One token of a request and how far its checks have come. */
export class TokenCheck {
  /** Whether beginToken ran. */
  begun: bool = false;
  /** The parsed token (the cached parse on a hit). */
  jwt: Jwt = NO_JWT;
  /** The verified-token cache entry found for the token (a hit), and the token's cache key. */
  entry: CacheEntry | null = null;
  cacheKey: Uint8Array | null = null;
  /** The rules the token may be valid under, in configuration order, and the next one to try. */
  candidates: JwtRule[] = NO_RULES;
  next: i32 = 0;
  /** Whether the current candidate already refetched its key set for an unknown kid (once per candidate). */
  refetched: bool = false;
  /** The first candidate's failure: the answer when none accepts. */
  failure: Status = Status.Ok;
  /** The rule that accepted the token. */
  accepted: JwtRule | null = null;
  /** `ignoreUnknownIssuers`: no rule names the token's issuer; it counts as absent and is removed from the request. */
  ignored: bool = false;

  constructor(public found: FoundToken) {}

  /** Records the current candidate's failure and moves to the next one. */
  reject(s: Status): void {
    if (this.failure == Status.Ok) this.failure = s;
    this.next++;
    this.refetched = false;
  }
}

/**
 * Parses the token, or takes the parse of a cache hit, and finds its candidate rules: Ok, a parse status,
 * or `Jwt issuer is not configured` when no rule for its `iss` configured the location it came from. With
 * `ignoreUnknownIssuers`, a token whose `iss` (or missing `iss`) no rule at all names is Ok and `ignored`.
 */
export function beginToken(t: TokenCheck, cache: TokenCache, cfg: Config | null = null): Status {
  t.begun = true;
  const token = t.found.bytes;
  if (cache.enabled && token.length <= MAX_CACHED_TOKEN_BYTES) {
    t.cacheKey = token;
    const e = cache.get(token);
    if (e !== null) {
      t.entry = e;
      t.jwt = e.jwt;
    }
  }
  if (t.entry === null) {
    const jwt = new Jwt();
    t.jwt = jwt;
    const s = parseJwtBytes(token, jwt);
    if (s != Status.Ok) return s;
  }
  const jwt = t.jwt;
  if (jwt.hasIss) t.candidates = t.found.location.candidatesFor(jwt.iss);
  if (t.candidates.length > 0) return Status.Ok;
  if (cfg !== null && cfg.ignoreUnknownIssuers && !issuerNamed(cfg, jwt)) {
    t.ignored = true;
    return Status.Ok;
  }
  return Status.JwtUnknownIssuer;
}

/** Whether any rule names the token's issuer (a token without `iss` is named by none). */
function issuerNamed(cfg: Config, jwt: Jwt): bool {
  if (!jwt.hasIss) return false;
  for (let i = 0; i < cfg.rules.length; i++) {
    if (unchecked(cfg.rules[i]).issuer == jwt.iss) return true;
  }
  return false;
}

/** A candidate's checks that need no keys, also run on every cache hit: time, lifetime, then audiences. */
export function checkRuleClaims(rule: JwtRule, jwt: Jwt, nowS: f64): Status {
  let s = checkTime(jwt, nowS, rule.clockSkewS);
  if (s != Status.Ok) return s;
  s = checkLifetime(jwt, nowS, rule.requireExpiration, rule.maxLifetimeS);
  if (s != Status.Ok) return s;
  return areAudiencesAllowed(jwt, rule.audiences) ? Status.Ok : Status.JwtAudienceNotAllowed;
}

/**
 * The signature against a candidate's key set: a cache hit counts only while the key that verified the
 * token would still be selected for it (so a hit answers as a miss would); otherwise key selection and
 * the check, and a verified token is remembered.
 */
export function verifyWithKeys(t: TokenCheck, jwks: Jwks, cache: TokenCache): Status {
  if (jwks.status != Status.Ok) return Status.JwksNoValidKeys;
  const e = t.entry;
  if (e !== null && keyStillSelects(t.jwt, jwks, e.keyFingerprint)) return Status.Ok;
  const match = new KeyMatch();
  const s = verifyJwtSignatureWithKey(t.jwt, jwks, match);
  const key = match.key;
  const cacheKey = t.cacheKey;
  if (s == Status.Ok && key !== null && cacheKey !== null) cache.put(cacheKey, t.jwt, key.fingerprint);
  return s;
}
