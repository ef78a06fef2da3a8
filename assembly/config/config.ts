// Owns the compiled plugin configuration: what onConfigure builds once from the JSON (Istio's
// RequestAuthentication `jwtRules` and AuthorizationPolicy specs) and what the request path only reads.
import { Jwks } from "../jwks/jwks";
import { RemoteSet } from "../jwks/remote";
import { FetchTarget } from "../util/uri";

export class HeaderLocation {
  constructor(public name: string, public prefix: string) {}
}

/** One `jwtRules[]` entry (an Envoy JwtProvider), compiled. */
export class JwtRule {
  issuer: string = "";
  /** Inline key set, parsed at configure time (null for a remote one). */
  localJwks: Jwks | null = null;
  /** Where a `jwksUri` rule fetches its keys (null for inline keys and for OIDC discovery). */
  jwksTarget: FetchTarget | null = null;
  /**
   * OIDC discovery (a rule with neither `jwks` nor `jwksUri`, as Istio): the issuer's
   * `/.well-known/openid-configuration`, through the issuer's cluster (`jwksCluster` overrides it).
   */
  discoveryTarget: FetchTarget | null = null;
  /** `jwksCluster` as configured ("" for the default name). */
  jwksCluster: string = "";
  /**
   * The root's shared, refreshed copy of the `jwksUri` set or of the discovery document, attached when
   * the root takes this configuration: a paused request resumes on exactly the set it waited for.
   */
  remote: RemoteSet | null = null;
  /** Key-set lifecycle (extensions beyond Istio): lifetime (0: Cache-Control max-age, else 10 min), stale serving, refetch floor. */
  cacheDurationMs: f64 = 0;
  staleTtlMs: f64 = 24 * 3600 * 1000;
  minRefetchIntervalMs: f64 = 60 * 1000;
  /** Normalized (scheme and one trailing slash dropped), as CheckAudience compares them. */
  audiences: string[] = [];
  fromHeaders: HeaderLocation[] = [];
  fromParams: string[] = [];
  fromCookies: string[] = [];
  forwardOriginalToken: bool = false;
  /** Lower-cased header name, or "" for none. */
  outputPayloadToHeader: string = "";
  timeoutMs: u32 = 5000;
}

export const enum MatchKind { Exact = 0, Prefix = 1, Suffix = 2, Present = 3 }

export class StringMatch {
  constructor(public kind: MatchKind, public value: string) {}

  matches(s: string, present: bool): bool {
    if (!present) return false;
    switch (this.kind) {
      case MatchKind.Exact: return s == this.value;
      case MatchKind.Prefix: return s.startsWith(this.value);
      case MatchKind.Suffix: return s.endsWith(this.value);
      default: return s.length > 0;
    }
  }
}

/** One `requestPrincipals` value compiled into an iss matcher and a sub matcher (Istio's generator). */
export class PrincipalMatch {
  constructor(public iss: StringMatch, public sub: StringMatch) {}
}

export class Source {
  requestPrincipals: PrincipalMatch[] | null = null;
  notRequestPrincipals: PrincipalMatch[] | null = null;
}

export class Rule {
  /** OR over sources; empty means any source. */
  sources: Source[] = [];
}

export const enum PolicyAction { Allow = 0, Deny = 1 }

export class Policy {
  name: string = "";
  action: PolicyAction = PolicyAction.Allow;
  rules: Rule[] = [];
}

export class Config {
  /** Verified-token cache bounds (`tokenCache: {maxEntries, maxBytes}`); 0 entries turns it off. */
  cacheEntries: i32 = 1000;
  cacheBytes: i32 = 1 << 20;
  rules: JwtRule[] = [];
  policies: Policy[] = [];
  hasAllow: bool = false;
  /** Requests one VM keeps paused waiting for key sets; beyond it a request fails at once. */
  maxPausedRequests: i32 = 1000;
  /** Every outputPayloadToHeader name, removed from each incoming request before extraction. */
  sanitizeHeaders: string[] = [];
}
