// Owns the compiled plugin configuration: what onConfigure builds once from the JSON (Istio's
// RequestAuthentication `jwtRules` and AuthorizationPolicy specs) and what the request path only reads.
import { Jwks } from "../jwks/jwks";
import { RemoteSet } from "../jwks/remote";
import { FetchTarget } from "../util/uri";

export class HeaderLocation {
  /** `bearerCaseInsensitive` (beyond Envoy): the prefix is matched ASCII-case-insensitively. */
  caseInsensitive: bool = false;
  constructor(public name: string, public prefix: string) {}
}

/** How an `outputClaimToHeaders` entry renders a list or object claim: Envoy's base64 of JSON, or opt-ins. */
export const enum ClaimFormat { Envoy = 0, Csv = 1, Json = 2 }

/** One `outputClaimToHeaders` entry (Envoy `claim_to_headers`), compiled. */
export class ClaimHeader {
  /** The claim name split at `.` (jwt_verify_lib's StructUtils path). */
  path: string[];
  constructor(public header: string, public claim: string, public format: ClaimFormat) {
    this.path = claim.split(".");
  }
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
  /** `outputClaimToHeaders` in configuration order; header names lower-cased. */
  claimHeaders: ClaimHeader[] = [];
  /** `clockSkew` (beyond Istio, Envoy's clock_skew_seconds): the nbf/exp skew in seconds. */
  clockSkewS: f64 = 60;
  /** `requireExpiration` (beyond Istio, Envoy's require_expiration): a token without exp fails. */
  requireExpiration: bool = false;
  /** `maxLifetime` in seconds (beyond Istio, Envoy's max_lifetime); 0 for none. */
  maxLifetimeS: f64 = 0;
  /** Claims whose space-delimited string value is a list for authorization (`scope`, `permission` always). */
  spaceDelimitedClaims: string[] = ["scope", "permission"];
}

/** Istio's string syntax compiled: exact, `prefix*`, `*suffix`, `*` (present, non-empty), or any (present, even empty: a header's `*`). */
export const enum MatchKind { Exact = 0, Prefix = 1, Suffix = 2, Present = 3, Any = 4, Glob = 5, ServiceAccount = 6 }

/**
 * Istio's serviceAccountRegex, `spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?` matched whole, for `nsSa` =
 * `<ns>/<sa>` (the namespace has no `/`).
 */
function serviceAccountMatches(s: string, nsSa: string): bool {
  if (!s.startsWith("spiffe://")) return false;
  const slash = nsSa.indexOf("/");
  const nsPart = "/ns/" + nsSa.substring(0, slash) + "/";
  const saPart = "sa/" + nsSa.substring(slash + 1);
  let p = s.indexOf(nsPart, 10);
  while (p >= 0) {
    const after = p + nsPart.length;
    for (let q = after; q <= s.length - saPart.length; q++) {
      if (q > after && (q < after + 2 || s.charCodeAt(q - 1) != 0x2f)) continue;
      if (!s.startsWith(saPart, q)) continue;
      const end = q + saPart.length;
      if (end == s.length || (s.charCodeAt(end) == 0x2f && end + 1 < s.length)) return true;
    }
    p = s.indexOf(nsPart, p + 1);
  }
  return false;
}

/** Whether `s` matches `p`, where `*` in `p` is any run of characters (iterative, no recursion). */
function globMatches(s: string, p: string): bool {
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (j < p.length && p.charCodeAt(j) != 0x2a && p.charCodeAt(j) == s.charCodeAt(i)) { i++; j++; }
    else if (j < p.length && p.charCodeAt(j) == 0x2a) { star = j++; mark = i; }
    else if (star >= 0) { j = star + 1; i = ++mark; }
    else return false;
  }
  while (j < p.length && p.charCodeAt(j) == 0x2a) j++;
  return j == p.length;
}

export class StringMatch {
  constructor(public kind: MatchKind, public value: string) {}

  matches(s: string, present: bool): bool {
    if (!present) return false;
    switch (this.kind) {
      case MatchKind.Exact: return s == this.value;
      case MatchKind.Prefix: return s.startsWith(this.value);
      case MatchKind.Suffix: return s.endsWith(this.value);
      case MatchKind.Any: return true;
      case MatchKind.Glob: return globMatches(s, this.value);
      case MatchKind.ServiceAccount: return serviceAccountMatches(s, this.value);
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
  /** Beyond Istio: a `*` sub side (`iss/*`, `*`) also matches a token without `sub`. */
  allowMissingSub: bool = false;
  ipBlocks: Cidr[] | null = null;
  notIpBlocks: Cidr[] | null = null;
  remoteIpBlocks: Cidr[] | null = null;
  notRemoteIpBlocks: Cidr[] | null = null;
  /** Peer identity (the URI SAN), `spiffe://` prefixed at configure time. */
  principals: StringMatch[] | null = null;
  notPrincipals: StringMatch[] | null = null;
  namespaces: StringMatch[] | null = null;
  notNamespaces: StringMatch[] | null = null;
  /** `<ns>/<sa>`, as Istio's serviceAccountRegex on the URI SAN. */
  serviceAccounts: StringMatch[] | null = null;
  notServiceAccounts: StringMatch[] | null = null;
}

/** An IPv4 or IPv6 block; a single address is a /32 or /128. */
export class Cidr {
  v6: bool = false;
  bits: i32 = 0;
  addr: StaticArray<u8> = new StaticArray<u8>(16);
}

/** A path value: Istio's string syntax, or a `{*}`/`{**}` template compiled to a small automaton. */
export class PathMatch {
  str: StringMatch | null = null;
  /** Template elements: a char code, or -3 (one `{*}` char), -4 (more `{*}` chars), -5 (`{**}` chars). */
  elems: i32[] = [];
  /** Scratch state sets for the template run (the request path is single-threaded per VM). */
  cur: StaticArray<u8> = new StaticArray<u8>(0);
  nxt: StaticArray<u8> = new StaticArray<u8>(0);
  /** The template's literal characters before its first operator and after its last (a quick refusal). */
  head: string = "";
  tail: string = "";
}

export class Operation {
  /** Lower-cased at configure time; compared with the lower-cased `:authority`. */
  hosts: StringMatch[] | null = null;
  notHosts: StringMatch[] | null = null;
  ports: i32[] | null = null;
  notPorts: i32[] | null = null;
  methods: StringMatch[] | null = null;
  notMethods: StringMatch[] | null = null;
  paths: PathMatch[] | null = null;
  notPaths: PathMatch[] | null = null;
}

export const enum CondKey {
  AuthPrincipal = 0, AuthAudiences = 1, AuthPresenter = 2, AuthClaims = 3, Header = 4,
  SourceIp = 5, RemoteIp = 6, DestinationIp = 7, DestinationPort = 8, Sni = 9,
  SourcePrincipal = 10, SourceNamespace = 11, SourceServiceAccount = 12,
}

/** One `when` entry: `values` any-of, `notValues` none-of (either may be null). */
export class Condition {
  key: CondKey = CondKey.AuthPrincipal;
  /** The key as written (`request.auth.claims[groups]`), for explanations. */
  keyText: string = "";
  /** Claim path for `request.auth.claims[a][b]`; the lower-cased name for `request.headers[X]`. */
  claimPath: string[] = [];
  header: string = "";
  /** Index of the header in Config.policyHeaders. */
  headerIndex: i32 = 0;
  /** Index of the claim path in Config.claimPaths (conditions on one claim share it). */
  claimIndex: i32 = 0;
  values: StringMatch[] | null = null;
  notValues: StringMatch[] | null = null;
  principals: PrincipalMatch[] | null = null;
  notPrincipals: PrincipalMatch[] | null = null;
  ports: i32[] | null = null;
  notPorts: i32[] | null = null;
  cidrs: Cidr[] | null = null;
  notCidrs: Cidr[] | null = null;
}

export class Rule {
  /** OR over sources; empty means any source. */
  sources: Source[] = [];
  /** OR over operations; empty means any operation. */
  operations: Operation[] = [];
  /** AND over conditions. */
  conditions: Condition[] = [];
  /** `allow|deny policy=<name> rule=<i>`, UTF-8, made at configure time: the filter state of a request this rule decides. */
  tag: ArrayBuffer = new ArrayBuffer(0);
}

export const enum PolicyAction { Allow = 0, Deny = 1, Audit = 2 }

export class Policy {
  name: string = "";
  action: PolicyAction = PolicyAction.Allow;
  /** Istio's `istio.io/dry-run` annotation: evaluated, counted and logged, never enforced. */
  dryRun: bool = false;
  rules: Rule[] = [];
}

export class Config {
  /** Verified-token cache bounds (`tokenCache: {maxEntries, maxBytes}`); 0 entries turns it off. */
  cacheEntries: i32 = 1000;
  cacheBytes: i32 = 1 << 20;
  rules: JwtRule[] = [];
  policies: Policy[] = [];
  /** Whether an enforced (not dry-run) ALLOW policy exists. */
  hasAllow: bool = false;
  /** Whether any AUDIT or dry-run policy exists (evaluated on every request, never deciding). */
  hasShadow: bool = false;
  /** Lower-case header names that `when` conditions read (with `x-forwarded-for` for remote IPs). */
  policyHeaders: string[] = [];
  /**
   * The distinct claim paths `when` conditions read (each joined with NUL): a request computes a claim's
   * values once, however many rules test it.
   */
  claimPaths: string[] = [];
  /** Beyond Istio: a denial of a request without a valid token is 401 `Jwt is missing` with a realm. */
  denyWithAuthenticate: bool = false;
  /** Every answer carries `x-jwt-authn-decision` with the deciding reason (local replies and forwarded responses). */
  debugHeaders: bool = false;
  /** Envoy's xff_num_trusted_hops (Istio's numTrustedProxies): the remote IP is the Nth XFF entry from the right. */
  xffNumTrustedHops: i32 = 0;
  /** Index of `x-forwarded-for` in policyHeaders (a remote-address check reads it), or -1. */
  xffIndex: i32 = -1;
  /** Requests one VM keeps paused waiting for key sets; beyond it a request fails at once. */
  maxPausedRequests: i32 = 1000;
  /**
   * `ignoreUnknownIssuers` (beyond Istio, istio/istio #24371): a token whose `iss` no rule names is treated as
   * absent (and removed from the forwarded request) instead of failing with `Jwt issuer is not configured`.
   */
  ignoreUnknownIssuers: bool = false;
  /** Every outputPayloadToHeader and outputClaimToHeaders name, removed from each incoming request before extraction. */
  sanitizeHeaders: string[] = [];
}
