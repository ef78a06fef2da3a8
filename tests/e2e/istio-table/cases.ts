// The Istio table: YAML sets (files in this folder, each set one workload) and the requests run against
// them, each with the answer Istio documents. tests/e2e/istio-table.test.ts runs every case through
// `serve --istio` over HTTP and through `check --istio --json`, and every set through
// `istio --format config` + `serve --config`.
//
// Expected answers come from Istio's documentation (the AuthorizationPolicy and RequestAuthentication
// references, the security tasks) and from the Envoy behaviour Istio builds on (jwt_authn status strings,
// claim_to_headers), as summarised in /work/shared/docs/envoy-istio-jwt-reference.md; the `note` of a case
// says where a less obvious expectation comes from.

/** Keys the test makes: Z is a rogue RSA key that claims A's kid ("a"); C is an EC P-256 key (ES256). */
export type KeyName = "A" | "B" | "C" | "D" | "M" | "F" | "Z";

export const ISS_A = "https://a.example.com";
export const ISS_B = "https://b.example.com";
export const ISS_C = "c-issuer";
export const ISS_D = "https://d.example.com";
export const ISS_M = "https://mesh.example.com";
export const ISS_S = "https://s.example.com";
export const ISS_P = "partner-idp";
export const ISS_ISTIO = "testing@secure.istio.io";

/** A token: made at test time with a key, or one of Istio's sample tokens, or raw text. */
export interface Tok {
  key?: KeyName;
  sample?: "demo" | "groups-scope";
  raw?: string;
  iss?: string;
  /** Default "alice"; null leaves `sub` out. */
  sub?: string | null;
  aud?: string | string[];
  /** `exp` in seconds from now (default 600); null leaves it out. */
  expIn?: number | null;
  /** `nbf` in seconds from now. */
  nbfIn?: number;
  /** Header kid (default the key's). */
  kid?: string;
  claims?: Record<string, unknown>;
}

export interface Req {
  method?: string;
  /** Path and query; `$T0`, `$T1`... are replaced by `tokens[i]`. */
  path?: string;
  /** The Host header (`:authority`). */
  host?: string;
  /** Sent as `authorization: Bearer <token>`. */
  auth?: Tok;
  /** Tokens for the `$T0`, `$T1`... placeholders in `path` and `headers`. */
  tokens?: Tok[];
  headers?: Record<string, string>;
  /** The connection's source address (a loopback address; default 127.0.0.1). */
  peer?: string;
}

export interface Expect {
  status: number;
  /** The local reply's body; a 403 without one is `RBAC: access denied`. */
  body?: string;
  /**
   * What the backend receives, for an allowed request: a value (with `$TOKEN` = the auth token, `$T0`...,
   * `$PAYLOAD` = the payload segment of the auth token as sent), or null for "absent". An allowed request
   * with `auth` is also checked for `authorization: null` (the verified token removed) unless this names
   * `authorization`.
   */
  upstream?: Record<string, string | null>;
  /** Whether the forwarded path still holds `$T0` (a query-parameter token). */
  tokenInPath?: boolean;
}

export interface TableCase {
  set: string;
  name: string;
  req: Req;
  expect: Expect;
  note?: string;
}

export interface Workload {
  namespace: string;
  labels: Record<string, string>;
}

export interface TableSet {
  name: string;
  /** Files of this folder, as `serve --istio FILES...` takes them. */
  files: string[];
  workload: Workload;
  what: string;
}

const shop: Workload = { namespace: "shop", labels: { app: "shop", version: "v1" } };
const httpbin: Workload = { namespace: "foo", labels: { app: "httpbin", version: "v1" } };
const ingress: Workload = { namespace: "istio-system", labels: { istio: "ingressgateway", app: "istio-ingressgateway" } };

export const SETS: TableSet[] = [
  { name: "walkthrough-authn", files: ["walkthrough-authn.yaml"], workload: httpbin, what: "Istio task authz-jwt, step 1 (RequestAuthentication only)" },
  { name: "walkthrough-require-jwt", files: ["walkthrough-authn.yaml", "walkthrough-require-jwt.yaml"], workload: httpbin, what: "authz-jwt, require-jwt" },
  { name: "walkthrough-groups", files: ["walkthrough-authn.yaml", "walkthrough-require-groups.yaml"], workload: httpbin, what: "authz-jwt, require-jwt with groups" },
  { name: "walkthrough-other-workload", files: ["walkthrough-authn.yaml", "walkthrough-require-jwt.yaml"], workload: { namespace: "foo", labels: { app: "sleep" } }, what: "authz-jwt resources seen by app=sleep" },
  { name: "ingress-authn", files: ["ingress-authn.yaml"], workload: ingress, what: "Istio task authn-policy, end-user authentication" },
  { name: "ingress-require-token", files: ["ingress-authn.yaml", "ingress-require-token.yaml"], workload: ingress, what: "authn-policy, require a valid token" },
  { name: "ingress-require-token-per-path", files: ["ingress-authn.yaml", "ingress-require-token-per-path.yaml"], workload: ingress, what: "authn-policy, per-path" },
  { name: "authn", files: ["authn.yaml"], workload: shop, what: "RequestAuthentication fields, several resources" },
  { name: "same-issuer", files: ["same-issuer.yaml"], workload: shop, what: "one issuer in three resources" },
  { name: "reference-require-jwt", files: ["reference-require-jwt.yaml"], workload: httpbin, what: "RequestAuthentication reference, require JWT" },
  { name: "reference-per-host", files: ["reference-per-host.yaml"], workload: httpbin, what: "RequestAuthentication reference, per host" },
  { name: "principals", files: ["principals.yaml"], workload: shop, what: "requestPrincipals forms" },
  { name: "operations", files: ["operations.yaml"], workload: shop, what: "to.operation fields" },
  { name: "conditions", files: ["conditions.yaml"], workload: shop, what: "when conditions" },
  { name: "source-ip", files: ["source-ip.yaml"], workload: shop, what: "addresses and ports" },
  { name: "ip-allow-list", files: ["ip-allow-list.yaml"], workload: ingress, what: "Istio task authz-ingress, allow list" },
  { name: "ip-allow-list-client", files: ["ip-allow-list-client.yaml"], workload: ingress, what: "authz-ingress, allow list with the client" },
  { name: "ip-deny-list", files: ["ip-deny-list.yaml"], workload: ingress, what: "authz-ingress, deny list" },
  { name: "actions", files: ["actions.yaml"], workload: shop, what: "ALLOW, DENY, AUDIT, dry-run, applicability, CORS" },
  { name: "allow-nothing-foo", files: ["reference-allow-nothing.yaml"], workload: { namespace: "foo", labels: { app: "web" } }, what: "allow-nothing in foo" },
  { name: "allow-nothing-bar-httpbin", files: ["reference-allow-nothing.yaml"], workload: { namespace: "bar", labels: { app: "httpbin" } }, what: "allow-nothing for app=httpbin in bar" },
  { name: "allow-nothing-bar-sleep", files: ["reference-allow-nothing.yaml"], workload: { namespace: "bar", labels: { app: "sleep", version: "v2" } }, what: "allow-nothing for app=httpbin, seen by app=sleep" },
  { name: "allow-nothing-root-v1", files: ["reference-allow-nothing.yaml"], workload: { namespace: "baz", labels: { version: "v1" } }, what: "root-namespace allow-nothing for version=v1" },
  { name: "allow-nothing-root-v2", files: ["reference-allow-nothing.yaml"], workload: { namespace: "baz", labels: { version: "v2" } }, what: "root-namespace allow-nothing, seen by version=v2" },
  { name: "allow-all", files: ["reference-allow-all.yaml"], workload: httpbin, what: "allow-all" },
  { name: "allow-all-and-nothing", files: ["reference-allow-nothing.yaml", "reference-allow-all.yaml"], workload: httpbin, what: "allow-all next to allow-nothing" },
  { name: "deny-all", files: ["reference-allow-all.yaml", "deny-all.yaml"], workload: httpbin, what: "deny-all next to allow-all" },
];

const BAD_FORM = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
const EXPIRED = "Jwt is expired";
const NOT_YET = "Jwt not yet valid";
const AUDIENCES = "Audiences in Jwt are not allowed";
const NO_ISSUER = "Jwt issuer is not configured";
const BAD_SIG = "Jwt verification fails";
const NO_KID = "Jwks doesn't have key to match kid or alg from Jwt";

const ok: Expect = { status: 200 };
const rbac: Expect = { status: 403 };
const e401 = (body: string): Expect => ({ status: 401, body });

const a = (t: Partial<Tok> = {}): Tok => ({ key: "A", iss: ISS_A, ...t });
/** A token rule A of authn.yaml accepts (it names audiences). */
const aa = (t: Partial<Tok> = {}): Tok => a({ aud: "api.example.com", ...t });
const p = (t: Partial<Tok> = {}): Tok => ({ key: "C", iss: ISS_P, ...t });
const demo: Tok = { sample: "demo" };
const groupsScope: Tok = { sample: "groups-scope" };

type Row = [name: string, req: Req, expect: Expect, note?: string];

function rows(set: string, list: Row[]): TableCase[] {
  if (!SETS.some((s) => s.name === set)) throw new Error(`no set ${set}`);
  return list.map(([name, req, expect, note]) => ({ set, name, req, expect, ...(note ? { note } : {}) }));
}

/** A request carrying `x-case: <c>` (the rule of the set it is meant for), plus what is given. */
const xc = (c: string, req: Req = {}): Req => ({ ...req, headers: { "x-case": c, ...(req.headers ?? {}) } });

export const CASES: TableCase[] = [
  // ---- Istio task "Authorization > JWT Token" (authz-jwt), with Istio's demo.jwt and groups-scope.jwt.
  ...rows("walkthrough-authn", [
    ["a request with an invalid JWT is denied (401)", { path: "/headers", auth: { raw: "invalidToken" } }, e401(BAD_FORM)],
    ["a request without a JWT is allowed: no authorization policy", { path: "/headers" }, ok],
    ["demo.jwt is valid; the token is not forwarded", { path: "/headers", auth: demo }, { status: 200, upstream: { authorization: null } }],
  ]),
  ...rows("walkthrough-require-jwt", [
    ["a request with a valid JWT is allowed", { path: "/headers", auth: demo }, ok],
    ["a request without a JWT is denied", { path: "/headers" }, rbac],
    ["groups-scope.jwt has the same principal", { path: "/headers", auth: groupsScope }, ok],
  ]),
  ...rows("walkthrough-groups", [
    ["a JWT with group1 in groups is allowed", { path: "/headers", auth: groupsScope }, ok],
    ["a JWT without the groups claim is denied", { path: "/headers", auth: demo }, rbac],
    ["no JWT is denied", { path: "/headers" }, rbac],
  ]),
  ...rows("walkthrough-other-workload", [
    ["nothing applies to app=sleep: an invalid token is not even read", { path: "/headers", auth: { raw: "invalidToken" } }, { status: 200, upstream: { authorization: "Bearer invalidToken" } }],
  ]),

  // ---- Istio task "Authentication Policy > End-user authentication" (ingress gateway).
  ...rows("ingress-authn", [
    ["an invalid token is rejected (401)", { path: "/headers", auth: { raw: "deadbeef" } }, e401(BAD_FORM)],
    ["no token passes", { path: "/headers" }, ok],
    ["demo.jwt passes", { path: "/headers", auth: demo }, ok],
  ]),
  ...rows("ingress-require-token", [
    ["DENY notRequestPrincipals *: no token is denied", { path: "/headers" }, rbac],
    ["demo.jwt is allowed", { path: "/headers", auth: demo }, ok],
    ["an invalid token still gets authentication's 401", { path: "/headers", auth: { raw: "deadbeef" } }, e401(BAD_FORM)],
  ]),
  ...rows("ingress-require-token-per-path", [
    ["/headers without a token is denied", { path: "/headers" }, rbac],
    ["/ip without a token is allowed", { path: "/ip" }, ok],
    ["/headers with demo.jwt is allowed", { path: "/headers", auth: demo }, ok],
  ]),

  // ---- RequestAuthentication fields.
  ...rows("authn", [
    ["no token: authentication passes", {}, { status: 200, upstream: { "x-jwt-payload": null, "x-sub": null } }],
    ["output headers sent by the client without a token are removed", { headers: { "x-jwt-payload": "forged", "x-sub": "root", "x-admin": "true" } },
      { status: 200, upstream: { "x-jwt-payload": null, "x-sub": null, "x-admin": null } },
      "Envoy removes forward_payload_header and claim_to_headers names from every request"],
    ["Authorization: Bearer: valid; token removed; outputPayloadToHeader is the payload as sent", { auth: aa() },
      { status: 200, upstream: { authorization: null, "x-jwt-payload": "$PAYLOAD", "x-sub": "alice" } }],
    ["outputClaimToHeaders: nested string claims (a.b, a.b.c)", { auth: aa({ claims: { tenant: { id: "t-42", geo: { region: "eu-west" } } } }) },
      { status: 200, upstream: { "x-tenant-id": "t-42", "x-tenant-region": "eu-west" } }],
    ["outputClaimToHeaders: a whole number", { auth: aa({ claims: { level: 3 } }) }, { status: 200, upstream: { "x-level": "3" } }],
    ["outputClaimToHeaders: a fraction, as %f", { auth: aa({ claims: { ratio: 1.5 } }) }, { status: 200, upstream: { "x-ratio": "1.500000" } },
      "Envoy's claim_to_headers prints other numbers with std::to_string(double)"],
    ["outputClaimToHeaders: a bool", { auth: aa({ claims: { admin: true } }) }, { status: 200, upstream: { "x-admin": "true" } }],
    ["outputClaimToHeaders: a list, base64 of its JSON", { auth: aa({ claims: { roles: ["a", "b"] } }) }, { status: 200, upstream: { "x-roles": "WyJhIiwiYiJd" } },
      "current Envoy (addJWTClaimToHeader) base64-encodes lists and objects"],
    ["outputClaimToHeaders: an object, base64 of its JSON", { auth: aa({ claims: { org: { name: "acme", size: 3 } } }) },
      { status: 200, upstream: { "x-org": "eyJuYW1lIjoiYWNtZSIsInNpemUiOjN9" } }],
    ["outputClaimToHeaders: a missing claim adds no header", { auth: aa() }, { status: 200, upstream: { "x-nickname": null, "x-level": null } }],
    ["outputClaimToHeaders: a forged claim header is replaced by the token's", { auth: aa(), headers: { "x-sub": "root" } }, { status: 200, upstream: { "x-sub": "alice" } }],
    ["?access_token= (a default location): valid; not forwarded", { path: "/orders?access_token=$T0", tokens: [aa()] },
      { status: 200, tokenInPath: false, upstream: { "x-sub": "alice" } }],
    ["expired", { auth: aa({ expIn: -600 }) }, e401(EXPIRED)],
    ["expired 30 s ago: within the 60 s clock skew", { auth: aa({ expIn: -30 }) }, ok],
    ["not yet valid", { auth: aa({ nbfIn: 600 }) }, e401(NOT_YET)],
    ["nbf 30 s ahead: within the 60 s clock skew", { auth: aa({ nbfIn: 30 }) }, ok],
    ["an audience not listed", { auth: aa({ aud: "other.example.com" }) }, { status: 403, body: AUDIENCES }],
    ["no aud while audiences are listed", { auth: a() }, { status: 403, body: AUDIENCES }],
    ["aud list, one element listed (scheme and trailing / ignored)", { auth: aa({ aud: ["other", "web.example.com"] }) }, ok],
    ["aud https://api.example.com/ matches api.example.com", { auth: aa({ aud: "https://api.example.com/" }) }, ok],
    ["a bad signature (another key under A's kid)", { auth: aa({ key: "Z" }) }, e401(BAD_SIG)],
    ["a kid the key set does not have", { auth: aa({ kid: "nope" }) }, e401(NO_KID)],
    ["not a JWT", { auth: { raw: "not-a-jwt" } }, e401(BAD_FORM)],
    ["an issuer no rule names", { auth: aa({ iss: "https://unknown.example.com" }) }, e401(NO_ISSUER)],
    ["no iss", { auth: aa({ iss: undefined }) }, e401(NO_ISSUER)],
    ["the issuer of a RequestAuthentication in another namespace", { auth: { key: "D", iss: ISS_D } }, e401(NO_ISSUER)],
    ["the issuer of a RequestAuthentication whose selector does not match", { auth: { key: "D", iss: "https://canary.example.com" } }, e401(NO_ISSUER)],
    ["the issuer of the root namespace's RequestAuthentication (mesh-wide)", { auth: { key: "M", iss: ISS_M } }, { status: 200, upstream: { authorization: null } }],
    ["the mesh-wide issuer by ?access_token=", { path: "/?access_token=$T0", tokens: [{ key: "M", iss: ISS_M }] }, { status: 200, tokenInPath: false }],
    ["fromCookies: valid; a cookie is not removed", { tokens: [{ key: "C", iss: ISS_C }], headers: { cookie: "theme=dark; session=$T0" } },
      { status: 200, upstream: { cookie: "theme=dark; session=$T0" } }, "Envoy never removes a cookie token"],
    ["fromHeaders without a prefix: the whole value; removed", { tokens: [{ key: "C", iss: ISS_C }], headers: { "x-c-token": "$T0" } },
      { status: 200, upstream: { "x-c-token": null } }],
    ["an expired token in the cookie", { tokens: [{ key: "C", iss: ISS_C, expIn: -600 }], headers: { cookie: "session=$T0" } }, e401(EXPIRED)],
    ["the cookie issuer's token in Authorization (not its location)", { auth: { key: "C", iss: ISS_C } }, e401(NO_ISSUER)],
    ["jwksUri, fromHeaders with prefix: valid; forwardOriginalToken keeps it", { tokens: [{ key: "B", iss: ISS_B }], headers: { "x-b-token": "Token $T0" } },
      { status: 200, upstream: { "x-b-token": "Token $T0" } }],
    ["fromParams: valid; forwardOriginalToken keeps it in the path", { path: "/search?q=1&b_token=$T0", tokens: [{ key: "B", iss: ISS_B }] },
      { status: 200, tokenInPath: true }],
    ["B's token in Authorization (A's and the mesh's location, not B's)", { auth: { key: "B", iss: ISS_B } }, e401(NO_ISSUER)],
    ["A's token in B's header", { tokens: [aa()], headers: { "x-b-token": "Token $T0" } }, e401(NO_ISSUER)],
    ["B expired", { tokens: [{ key: "B", iss: ISS_B, expIn: -600 }], headers: { "x-b-token": "Token $T0" } }, e401(EXPIRED)],
    ["B's issuer signed with a key its jwksUri set does not have", { tokens: [{ key: "A", iss: ISS_B }], headers: { "x-b-token": "Token $T0" } }, e401(NO_KID)],
    ["lower-case bearer is not the prefix `Bearer `: no token", { headers: { authorization: "bearer $T0" }, tokens: [aa()] },
      { status: 200, upstream: { authorization: "bearer $T0", "x-sub": null } }, "the prefix is case-sensitive (istio#22608)"],
    ["two valid tokens of two issuers", { auth: aa(), tokens: [{ key: "C", iss: ISS_C }], headers: { "x-c-token": "$T0" } },
      { status: 200, upstream: { authorization: null, "x-c-token": null, "x-sub": "alice" } }],
    ["all tokens present must be valid: a valid bearer and an expired cookie", { auth: aa(), tokens: [{ key: "C", iss: ISS_C, expIn: -600 }], headers: { cookie: "session=$T0" } },
      e401(EXPIRED)],
    ["all tokens present must be valid: a valid bearer and a garbage access_token", { auth: aa(), path: "/?access_token=garbage" }, e401(BAD_FORM)],
  ]),
  ...rows("same-issuer", [
    ["aud one: the first resource's rule accepts", { auth: a({ iss: ISS_S, aud: "one" }) }, ok],
    ["aud two: the second resource's rule accepts", { auth: a({ iss: ISS_S, aud: "two" }) }, ok],
    ["aud [two, x]", { auth: a({ iss: ISS_S, aud: ["two", "x"] }) }, ok],
    ["another key, no aud: the third resource's rule accepts", { auth: { key: "B", iss: ISS_S } }, ok],
    ["no token: the policy wants a principal of the issuer", {}, rbac],
    ["an issuer none of them names", { auth: a({ iss: "https://t.example.com" }) }, e401(NO_ISSUER)],
  ]),
  ...rows("reference-require-jwt", [
    ["no token is denied", {}, rbac],
    ["a valid issuer-foo token", { auth: { key: "F", iss: "issuer-foo" } }, ok],
    ["a valid token without sub does not match *", { auth: { key: "F", iss: "issuer-foo", sub: null } }, rbac,
      "requestPrincipals * needs a non-empty iss and sub (istio#22540)"],
    ["expired", { auth: { key: "F", iss: "issuer-foo", expIn: -600 } }, e401(EXPIRED)],
    ["issuer-bar is not configured here", { auth: { key: "F", iss: "issuer-bar" } }, e401(NO_ISSUER)],
  ]),
  ...rows("reference-per-host", [
    ["issuer-foo to example.com", { host: "example.com", auth: { key: "F", iss: "issuer-foo" } }, ok],
    ["issuer-foo to another-host.com", { host: "another-host.com", auth: { key: "F", iss: "issuer-foo" } }, rbac],
    ["issuer-bar to another-host.com", { host: "another-host.com", auth: { key: "F", iss: "issuer-bar" } }, ok],
    ["issuer-bar to example.com", { host: "example.com", auth: { key: "F", iss: "issuer-bar" } }, rbac],
    ["no token to example.com", { host: "example.com" }, rbac],
    ["issuer-foo to EXAMPLE.COM (hosts are case-insensitive)", { host: "EXAMPLE.COM", auth: { key: "F", iss: "issuer-foo" } }, ok],
    ["issuer-foo to example.com:8080 (a port breaks an exact host)", { host: "example.com:8080", auth: { key: "F", iss: "issuer-foo" } }, rbac,
      "Istio's security best practices: list host:* to match any port"],
  ]),

  // ---- from.source.requestPrincipals / notRequestPrincipals.
  ...rows("principals", [
    ["exact: iss/sub", { path: "/exact", auth: a() }, ok],
    ["exact: another sub", { path: "/exact", auth: a({ sub: "bob" }) }, rbac],
    ["exact: no token", { path: "/exact" }, rbac],
    ["exact: the sub under another issuer", { path: "/exact", auth: p() }, rbac],
    ["*: any valid token with a sub", { path: "/any", auth: p({ sub: "zed" }) }, ok],
    ["*: a token without sub", { path: "/any", auth: a({ sub: null }) }, rbac],
    ["*: a token with an empty sub", { path: "/any", auth: a({ sub: "" }) }, rbac],
    ["*: no token", { path: "/any" }, rbac],
    ["iss/*: any sub of the issuer", { path: "/iss", auth: a({ sub: "bob" }) }, ok],
    ["iss/*: another issuer", { path: "/iss", auth: p({ sub: "bob" }) }, rbac],
    ["iss/prefix*: sub with the prefix", { path: "/sub-prefix", auth: a({ sub: "svc-orders" }) }, ok],
    ["iss/prefix*: sub without it", { path: "/sub-prefix", auth: a({ sub: "svc" }) }, rbac],
    ["*/sub: any issuer", { path: "/sub", auth: p() }, ok],
    ["*/sub: another sub", { path: "/sub", auth: a({ sub: "bob" }) }, rbac],
    ["*suffix/sub: iss with the suffix", { path: "/iss-suffix", auth: a() }, ok],
    ["*suffix/sub: iss without it", { path: "/iss-suffix", auth: p() }, rbac],
    ["*suffix (no /): suffix of sub", { path: "/sub-suffix", auth: p({ sub: "bob@corp.example" }) }, ok],
    ["*suffix (no /): sub without it", { path: "/sub-suffix", auth: a({ sub: "bob@corp.example.org" }) }, rbac],
    ["prefix* (no /): prefix of iss", { path: "/iss-prefix", auth: p({ sub: "dave" }) }, ok],
    ["prefix* (no /): iss without it", { path: "/iss-prefix", auth: a() }, rbac],
    ["prefix* (no /): still needs a sub", { path: "/iss-prefix", auth: p({ sub: null }) }, rbac],
    ["a list: any value", { path: "/list", auth: p({ sub: "bob" }) }, ok],
    ["a list: none matches", { path: "/list", auth: p() }, rbac],
    ["notRequestPrincipals: no token has no principal, so matches", { path: "/not" }, ok],
    ["notRequestPrincipals: the excluded principal", { path: "/not", auth: a({ sub: "mallory" }) }, rbac],
    ["notRequestPrincipals: another principal", { path: "/not", auth: a() }, ok],
    ["requestPrincipals and notRequestPrincipals ANDed: both hold", { path: "/both", auth: a() }, ok],
    ["requestPrincipals and notRequestPrincipals ANDed: the not fails", { path: "/both", auth: p() }, rbac],
    ["sources ORed: the first", { path: "/either", auth: a({ sub: "carol" }) }, ok],
    ["sources ORed: the second", { path: "/either", auth: p({ sub: "anyone" }) }, ok],
    ["sources ORed: neither", { path: "/either", auth: a({ sub: "dave" }) }, rbac],
  ]),

  // ---- to.operation.
  ...rows("operations", [
    ["no rule for a request without x-case", {}, rbac],
    ["hosts exact", xc("hosts", { host: "api.example.com" }), ok],
    ["hosts are case-insensitive", xc("hosts", { host: "API.Example.COM" }), ok],
    ["hosts: a port breaks an exact match", xc("hosts", { host: "api.example.com:8080" }), rbac, "Istio's security best practices: list host:* too"],
    ["hosts host:* takes any port", xc("hosts", { host: "web.example.com:8443" }), ok],
    ["hosts host:* needs a port", xc("hosts", { host: "web.example.com" }), rbac],
    ["hosts *suffix", xc("hosts", { host: "db.internal" }), ok],
    ["hosts prefix*", xc("hosts", { host: "admin.corp" }), ok],
    ["hosts: none matches", xc("hosts", { host: "other.example.com" }), rbac],
    ["notHosts: another host", xc("not-hosts", { host: "good.example.com" }), ok],
    ["notHosts: the host in other case", xc("not-hosts", { host: "EVIL.Example.com" }), rbac],
    ["notHosts: *suffix", xc("not-hosts", { host: "a.evil.example.com" }), rbac],
    ["methods GET", xc("methods", { method: "GET" }), ok],
    ["methods HEAD", xc("methods", { method: "HEAD" }), ok],
    ["methods: POST not listed", xc("methods", { method: "POST" }), rbac],
    ["notMethods: GET", xc("not-methods", { method: "GET" }), ok],
    ["notMethods: DELETE", xc("not-methods", { method: "DELETE" }), rbac],
    ["notMethods: PUT", xc("not-methods", { method: "PUT" }), rbac],
    ["paths exact", xc("paths", { path: "/exact" }), ok],
    ["paths: the query string is ignored", xc("paths", { path: "/exact?x=1" }), ok],
    ["paths exact: a trailing / differs", xc("paths", { path: "/exact/" }), rbac],
    ["paths prefix*", xc("paths", { path: "/api/v1/x" }), ok],
    ["paths prefix*: /api lacks the /", xc("paths", { path: "/api" }), rbac],
    ["paths *suffix", xc("paths", { path: "/img/a.png" }), ok],
    ["paths *suffix with a query", xc("paths", { path: "/img/a.png?v=2" }), ok],
    ["paths *suffix: not at the end", xc("paths", { path: "/a.png.txt" }), rbac],
    ["paths {*}: one segment", xc("paths", { path: "/users/42/profile" }), ok],
    ["paths {*}: an empty segment", xc("paths", { path: "/users//profile" }), rbac],
    ["paths {*}: two segments", xc("paths", { path: "/users/1/2/profile" }), rbac],
    ["paths {**}: nothing after the /", xc("paths", { path: "/files/" }), ok],
    ["paths {**}: several segments", xc("paths", { path: "/files/a/b/c.txt" }), ok],
    ["paths {**}: /files lacks the /", xc("paths", { path: "/files" }), rbac],
    ["paths {**} then a literal segment", xc("paths", { path: "/s/a/b/index.html" }), ok],
    ["paths {**} then a literal segment: the segment alone", xc("paths", { path: "/s/index.html" }), rbac],
    ["paths: a listed path in the query does not count", xc("paths", { path: "/other?p=/exact" }), rbac],
    ["paths *: any path", xc("any-path", { path: "/" }), ok],
    ["paths *: a deep path with a query", xc("any-path", { path: "/x/y?z=1" }), ok],
    ["notPaths: another path", xc("not-paths", { path: "/x" }), ok],
    ["notPaths prefix*", xc("not-paths", { path: "/admin" }), rbac],
    ["notPaths prefix*: longer", xc("not-paths", { path: "/administrator" }), rbac],
    ["notPaths {**}", xc("not-paths", { path: "/internal/a/b" }), rbac],
    ["notPaths: the excluded path only in the query", xc("not-paths", { path: "/x?/admin" }), ok],
    ["operations ORed, fields ANDed: GET /read", xc("combined", { method: "GET", path: "/read/x" }), ok],
    ["operations ORed, fields ANDed: POST /write", xc("combined", { method: "POST", path: "/write" }), ok],
    ["operations ORed, fields ANDed: POST /read", xc("combined", { method: "POST", path: "/read/x" }), rbac],
    ["operations ORed, fields ANDed: GET /write", xc("combined", { method: "GET", path: "/write" }), rbac],
  ]),

  // ---- when.
  ...rows("conditions", [
    ["request.auth.principal exact", xc("principal", { auth: a() }), ok],
    ["request.auth.principal */sub", xc("principal", { auth: a({ sub: "bob" }) }), ok],
    ["request.auth.principal: another", xc("principal", { auth: a({ sub: "carol" }) }), rbac],
    ["request.auth.principal: no token", xc("principal"), rbac],
    ["request.auth.principal notValues: no token matches", xc("not-principal"), ok],
    ["request.auth.principal notValues: the excluded one", xc("not-principal", { auth: a({ sub: "mallory" }) }), rbac],
    ["request.auth.audiences: a string aud", xc("audiences", { auth: a({ aud: "api.example.com" }) }), ok],
    ["request.auth.audiences: any element of a list", xc("audiences", { auth: a({ aud: ["web", "api-2"] }) }), ok],
    ["request.auth.audiences: no element matches", xc("audiences", { auth: a({ aud: ["web"] }) }), rbac],
    ["request.auth.audiences: no aud", xc("audiences", { auth: a() }), rbac],
    ["request.auth.presenter (azp)", xc("presenter", { auth: a({ claims: { azp: "client-1" } }) }), ok],
    ["request.auth.presenter: another", xc("presenter", { auth: a({ claims: { azp: "client-2" } }) }), rbac],
    ["request.auth.claims[groups]: a string claim", xc("groups", { auth: a({ claims: { groups: "admin" } }) }), ok],
    ["request.auth.claims[groups]: any element of a list, prefix*", xc("groups", { auth: a({ claims: { groups: ["dev", "ops-eu"] } }) }), ok],
    ["request.auth.claims[groups]: no element matches", xc("groups", { auth: a({ claims: { groups: ["dev"] } }) }), rbac],
    ["request.auth.claims[groups]: a number never matches", xc("groups", { auth: a({ claims: { groups: 1 } }) }), rbac,
      "only string and list-of-string claims are supported"],
    ["request.auth.claims[groups]: no token", xc("groups"), rbac],
    ["nested request.auth.claims[realm_access][roles]", xc("nested", { auth: a({ claims: { realm_access: { roles: ["viewer", "editor"] } } }) }), ok],
    ["nested: no element matches", xc("nested", { auth: a({ claims: { realm_access: { roles: ["viewer"] } } }) }), rbac],
    ["nested: a top-level claim named realm_access.roles is another claim", xc("nested", { auth: a({ claims: { "realm_access.roles": ["editor"] } }) }), rbac],
    ["request.auth.claims notValues: another value", xc("not-claim", { auth: a({ claims: { role: "user" } }) }), ok],
    ["request.auth.claims notValues: the claim absent", xc("not-claim", { auth: a() }), ok],
    ["request.auth.claims notValues: the excluded value", xc("not-claim", { auth: a({ claims: { role: "banned" } }) }), rbac],
    ["request.auth.claims notValues: the excluded value in a list", xc("not-claim", { auth: a({ claims: { role: ["user", "banned"] } }) }), rbac],
    ["request.auth.claims[iss] (the reference's example)", xc("iss", { auth: a() }), ok],
    ["request.auth.claims[iss]: no token", xc("iss"), rbac],
    ["scope is space-delimited: one of its words", xc("scope", { auth: a({ claims: { scope: "read write" } }) }), ok,
      "Istio always adds scope and permission to spaceDelimitedClaims"],
    ["scope: a list", xc("scope", { auth: a({ claims: { scope: ["write"] } }) }), ok],
    ["scope: the word absent", xc("scope", { auth: a({ claims: { scope: "read" } }) }), rbac],
    ["spaceDelimitedClaims [roles]: one of its words", xc("roles", { auth: a({ claims: { roles: "user admin" } }) }), ok],
    ["spaceDelimitedClaims [roles]: the word absent", xc("roles", { auth: a({ claims: { roles: "user" } }) }), rbac],
    ["a claim not listed stays one string", xc("team", { auth: a({ claims: { team: "a b" } }) }), ok],
    ["a claim not listed: a word of it does not match the whole", xc("team", { auth: a({ claims: { team: "a" } }) }), rbac],
    ["request.headers exact", xc("header", { headers: { "x-tenant": "acme" } }), ok],
    ["request.headers *suffix", xc("header", { headers: { "x-tenant": "big-corp" } }), ok],
    ["request.headers values are case-sensitive", xc("header", { headers: { "x-tenant": "ACME" } }), rbac],
    ["request.headers: absent", xc("header"), rbac],
    ["request.headers notValues: absent matches", xc("not-header"), ok],
    ["request.headers notValues: another value", xc("not-header", { headers: { "x-env": "dev" } }), ok],
    ["request.headers notValues: the excluded value", xc("not-header", { headers: { "x-env": "prod" } }), rbac],
    ["request.headers *: present", xc("header-present", { headers: { "x-debug": "1" } }), ok],
    ["request.headers *: absent", xc("header-present"), rbac],
    ["conditions ANDed: both", xc("and", { auth: a({ claims: { groups: ["admin"] } }), headers: { "x-tenant": "acme" } }), ok],
    ["conditions ANDed: only the claim", xc("and", { auth: a({ claims: { groups: ["admin"] } }) }), rbac],
    ["conditions ANDed: only the header", xc("and", { headers: { "x-tenant": "acme" } }), rbac],
    ["from, to and when together", xc("all", { method: "POST", path: "/orders/7", auth: a({ claims: { scope: "orders:write" } }) }), ok],
    ["from, to and when: another method", xc("all", { method: "GET", path: "/orders/7", auth: a({ claims: { scope: "orders:write" } }) }), rbac],
    ["from, to and when: no token", xc("all", { method: "POST", path: "/orders/7" }), rbac],
    ["from, to and when: another scope", xc("all", { method: "POST", path: "/orders/7", auth: a({ claims: { scope: "orders:read" } }) }), rbac],
  ]),

  // ---- Addresses and ports. (mTLS source fields: see source-ip.yaml; rows go here with the TLS listener.)
  ...rows("source-ip", [
    ["ipBlocks: an address", xc("ip-blocks", { peer: "127.0.0.2" }), ok],
    ["ipBlocks: an address not listed", xc("ip-blocks", { peer: "127.0.0.3" }), rbac],
    ["ipBlocks: in a CIDR", xc("ip-blocks", { peer: "127.0.1.77" }), ok],
    ["ipBlocks: IPv6", xc("ip-blocks", { peer: "::1" }), ok],
    ["notIpBlocks: inside", xc("not-ip-blocks", { peer: "127.0.0.2" }), rbac],
    ["notIpBlocks: outside", xc("not-ip-blocks", { peer: "127.0.0.9" }), ok],
    ["remoteIpBlocks without numTrustedProxies: the peer", xc("remote-ip-blocks", { peer: "127.0.0.5" }), ok],
    ["remoteIpBlocks: x-forwarded-for is not trusted", xc("remote-ip-blocks", { peer: "127.0.0.6", headers: { "x-forwarded-for": "127.0.0.5" } }), rbac,
      "remoteIpBlocks reads X-Forwarded-For only with meshConfig numTrustedProxies"],
    ["notRemoteIpBlocks: inside", xc("not-remote-ip-blocks", { peer: "127.0.0.6" }), rbac],
    ["notRemoteIpBlocks: outside", xc("not-remote-ip-blocks", { peer: "127.0.1.1" }), ok],
    ["notRemoteIpBlocks: IPv6 is outside an IPv4 block", xc("not-remote-ip-blocks", { peer: "::1" }), ok],
    ["source.ip: in a CIDR", xc("source-ip", { peer: "127.0.2.9" }), ok],
    ["source.ip: IPv6 /128", xc("source-ip", { peer: "::1" }), ok],
    ["source.ip: outside", xc("source-ip", { peer: "127.0.3.1" }), rbac],
    ["source.ip notValues: the excluded address", xc("not-source-ip", { peer: "127.0.0.1" }), rbac],
    ["source.ip notValues: another", xc("not-source-ip", { peer: "127.0.0.8" }), ok],
    ["remote.ip: the peer", xc("remote-ip", { peer: "127.0.0.4" }), ok],
    ["remote.ip: x-forwarded-for is not trusted", xc("remote-ip", { peer: "127.0.0.1", headers: { "x-forwarded-for": "127.0.0.4" } }), rbac],
    ["destination.port: the listener's port", xc("destination-port"), ok],
    ["destination.port notValues: the listener's port", xc("not-destination-port"), rbac],
    ["ports: the listener's port", xc("ports"), ok],
    ["ports: another port", xc("other-ports"), rbac],
    ["notPorts: the listener's port", xc("not-ports"), rbac],
  ]),
  ...rows("ip-allow-list", [["the client's address is not in the allow list", { peer: "127.0.0.7", path: "/headers" }, rbac]]),
  ...rows("ip-allow-list-client", [
    ["the client's address is in the allow list", { peer: "127.0.0.7", path: "/headers" }, ok],
    ["another client is not", { peer: "127.0.0.8", path: "/headers" }, rbac],
  ]),
  ...rows("ip-deny-list", [
    ["the client's address is in the deny list", { peer: "127.0.0.7", path: "/headers" }, rbac],
    ["another client is not", { peer: "127.0.0.8", path: "/headers" }, ok],
  ]),

  // ---- Actions.
  ...rows("actions", [
    ["ALLOW GET", { path: "/x" }, ok],
    ["ALLOW POST needs a principal: none", { method: "POST", path: "/x" }, rbac],
    ["ALLOW POST with a principal; the reference's DENY POST on port 8080 is another port", { method: "POST", path: "/x", auth: a() }, ok],
    ["no ALLOW rule for PUT", { method: "PUT", path: "/x", auth: a() }, rbac],
    ["DENY before ALLOW", { path: "/admin" }, rbac],
    ["DENY before ALLOW, with a principal", { path: "/admin/users", auth: a() }, rbac],
    ["AUDIT never decides: a match is still allowed", { path: "/user/profile/1" }, ok],
    ["AUDIT never allows", { method: "DELETE", path: "/user/profile/1", auth: a() }, rbac],
    ["dry-run DENY (the reference's dry-run-example) is not enforced", { path: "/headers" }, ok],
    ["dry-run ALLOW does not allow", { method: "DELETE", path: "/x" }, rbac],
    ["istio.io/dry-run: \"false\" is enforced", { path: "/enforced" }, rbac],
    ["a root-namespace policy with a matching selector applies", { path: "/root-denied" }, rbac],
    ["CORS preflight: token checks skipped (the token is not removed either)", { method: "OPTIONS", path: "/cors", auth: { raw: "not-a-jwt" }, headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } },
      { status: 200, upstream: { authorization: "Bearer not-a-jwt" } }, "Istio sets bypass_cors_preflight on jwt_authn"],
    ["OPTIONS without origin is not a preflight: the token is checked", { method: "OPTIONS", path: "/cors", auth: { raw: "not-a-jwt" } }, e401(BAD_FORM)],
    ["OPTIONS without access-control-request-method is not a preflight", { method: "OPTIONS", path: "/cors", auth: { raw: "not-a-jwt" }, headers: { origin: "https://app.example.com" } }, e401(BAD_FORM)],
    ["CORS preflight: the policies run with no principal", { method: "OPTIONS", path: "/cors-auth", auth: a(), headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } }, rbac],
    ["OPTIONS (not a preflight) with a principal", { method: "OPTIONS", path: "/cors-auth", auth: a() }, ok],
    ["authentication before authorization: expired on an allowed path", { path: "/x", auth: a({ expIn: -600 }) }, e401(EXPIRED)],
    ["authentication before authorization: expired on a denied path", { path: "/admin", auth: a({ expIn: -600 }) }, e401(EXPIRED)],
    ["an unknown issuer on an allowed path", { path: "/x", auth: a({ iss: "https://unknown.example.com" }) }, e401(NO_ISSUER)],
  ]),
  ...rows("allow-nothing-foo", [
    ["spec: {} allows nothing", {}, rbac],
    ["spec: {} allows nothing, even with a valid token", { auth: a() }, rbac],
    ["an expired token still gets authentication's 401", { auth: a({ expIn: -600 }) }, e401(EXPIRED)],
  ]),
  ...rows("allow-nothing-bar-httpbin", [["selector app=httpbin: denied", {}, rbac]]),
  ...rows("allow-nothing-bar-sleep", [["selector app=httpbin does not select app=sleep", {}, ok]]),
  ...rows("allow-nothing-root-v1", [["root namespace, selector version=v1: every namespace's v1 workloads", {}, rbac]]),
  ...rows("allow-nothing-root-v2", [["root namespace, selector version=v1: not v2", {}, ok]]),
  ...rows("allow-all", [
    ["rules: [{}] allows GET", {}, ok],
    ["rules: [{}] allows DELETE anywhere", { method: "DELETE", path: "/anything" }, ok],
  ]),
  ...rows("allow-all-and-nothing", [["spec: {} denies nothing another ALLOW allows", {}, ok]]),
  ...rows("deny-all", [
    ["DENY rules: [{}] wins over ALLOW rules: [{}]", {}, rbac],
    ["DENY rules: [{}]: POST", { method: "POST", path: "/p" }, rbac],
  ]),
];
