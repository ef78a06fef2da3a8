// Owns the compiled plugin configuration: what onConfigure builds once from the JSON (Istio's
// RequestAuthentication `jwtRules` and AuthorizationPolicy specs) and what the request path only reads.
import { Jwks } from "../jwks/jwks";
import { RemoteJwks } from "../jwks/remote";

export class HeaderLocation {
  constructor(public name: string, public prefix: string) {}
}

/** One `jwtRules[]` entry (an Envoy JwtProvider), compiled. */
export class JwtRule {
  issuer: string = "";
  /** Inline key set, parsed at configure time (null for a remote one). */
  localJwks: Jwks | null = null;
  /**
   * The fetched key set of a `jwksUri` rule (null for an inline one), made by the root when it takes this
   * configuration: a request resumed after a fetch verifies against exactly the set it waited for.
   */
  remote: RemoteJwks | null = null;
  jwksUri: string = "";
  jwksCluster: string = "";
  jwksAuthority: string = "";
  jwksPath: string = "";
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
  /** Every outputPayloadToHeader name, removed from each incoming request before extraction. */
  sanitizeHeaders: string[] = [];
}
