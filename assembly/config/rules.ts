// Owns reading one `jwtRules[]` entry (Istio's JWTRule, an Envoy JwtProvider) into a compiled JwtRule:
// issuer, key source (inline, jwksUri, or OIDC discovery), audiences, token locations, success actions
// and the key-set lifecycle options. Every mistake names its field.
import { JsonValue, JsonKind, parseJson, JsonLimits } from "../util/json";
import { JwtRule, HeaderLocation } from "./config";
import { Reader } from "./reader";
import { normalizeAudience } from "../jwt/claims";
import { jwksFromJson, MAX_JWKS_BYTES } from "../jwks/jwks";
import { asciiLower } from "../util/bytes";
import { Status, statusString } from "../status";
import { fetchTarget } from "../util/uri";

const HEADER_NAME_CHARS = "!#$%&'*+-.^_`|~";

export function isHeaderName(s: string): bool {
  if (s.length == 0 || s.length > 256) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && HEADER_NAME_CHARS.indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

export function readRule(r: Reader, v: JsonValue, index: i32): JwtRule | null {
  const path = "jwtRules[" + index.toString() + "]";
  const o = r.obj(v, path);
  if (o === null) return null;
  r.onlyKnown(o, path, ["issuer", "jwks", "jwksUri", "jwksCluster", "audiences", "fromHeaders", "fromParams", "fromCookies",
    "forwardOriginalToken", "outputPayloadToHeader", "timeout", "cacheDuration", "staleTtl", "minRefetchInterval"],
    ["outputClaimToHeaders", "spaceDelimitedClaims"]);
  const p = path + ".";
  const rule = new JwtRule();
  rule.issuer = r.str(o, "issuer", p, true);
  if (r.ok && rule.issuer.length == 0) r.fail(p + "issuer", "must not be empty");
  const jwks = o.get("jwks");
  const jwksUri = o.get("jwksUri");
  rule.jwksCluster = r.str(o, "jwksCluster", p, false);
  if (jwks !== null && jwksUri !== null) r.fail(path, "only one of jwks and jwksUri may be set");
  else if (jwks !== null) {
    const text = r.str(o, "jwks", p, true);
    if (r.ok) {
      const bytes = String.UTF8.encode(text);
      const limits = new JsonLimits();
      limits.maxBytes = MAX_JWKS_BYTES;
      limits.maxDepth = 32;
      const set = jwksFromJson(bytes.byteLength > MAX_JWKS_BYTES ? null : parseJson(changetype<usize>(bytes), bytes.byteLength, limits), true);
      if (set.status != Status.Ok) {
        // As Envoy ("Invalid inline jwks for issuer"): a warning, and every token of this issuer then
        // fails with `Jwks doesn't have any valid public key`.
        r.warnings.push(p + "jwks: " + statusString(set.status) + "; tokens of issuer " + rule.issuer + " will be rejected");
      }
      rule.localJwks = set;
    }
  } else if (jwksUri !== null) {
    const uri = r.str(o, "jwksUri", p, true);
    if (r.ok) {
      rule.jwksTarget = fetchTarget(uri, rule.jwksCluster);
      if (rule.jwksTarget === null) r.fail(p + "jwksUri", "must be an http:// or https:// URI");
    }
  } else if (r.ok) {
    // Istio: neither jwks nor jwksUri means OIDC discovery from the issuer.
    let base = rule.issuer;
    if (base.endsWith("/")) base = base.substring(0, base.length - 1);
    rule.discoveryTarget = fetchTarget(base + "/.well-known/openid-configuration", rule.jwksCluster);
    if (rule.discoveryTarget === null) {
      r.fail(path, "one of jwks or jwksUri is required unless the issuer is an http:// or https:// URI (OIDC discovery)");
    }
  }
  const auds = r.strList(o, "audiences", p);
  if (auds !== null) {
    for (let i = 0; i < auds.length; i++) rule.audiences.push(normalizeAudience(unchecked(auds[i])));
  }
  const fh = r.list(o, "fromHeaders", p);
  if (fh !== null) {
    for (let i = 0; i < fh.length; i++) {
      const hp = p + "fromHeaders[" + i.toString() + "]";
      const h = r.obj(unchecked(fh[i]), hp);
      if (h === null) break;
      r.onlyKnown(h, hp, ["name", "prefix"], []);
      const name = r.str(h, "name", hp + ".", true);
      const prefix = r.str(h, "prefix", hp + ".", false);
      if (r.ok && !isHeaderName(name)) r.fail(hp + ".name", "must be an HTTP header name");
      rule.fromHeaders.push(new HeaderLocation(asciiLower(name), prefix));
    }
  }
  const fp = r.strList(o, "fromParams", p);
  if (fp !== null) rule.fromParams = fp;
  const fc = r.strList(o, "fromCookies", p);
  if (fc !== null) rule.fromCookies = fc;
  if (rule.fromHeaders.length == 0 && rule.fromParams.length == 0 && rule.fromCookies.length == 0) {
    // Envoy's defaults when a provider names no location; an empty list is no location, as in Envoy,
    // where protobuf cannot tell `from_headers: []` from an absent field (Istio YAML reaches it so).
    rule.fromHeaders.push(new HeaderLocation("authorization", "Bearer "));
    rule.fromParams.push("access_token");
  }
  rule.forwardOriginalToken = r.bool_(o, "forwardOriginalToken", p);
  const out = r.str(o, "outputPayloadToHeader", p, false);
  if (out.length > 0) {
    if (!isHeaderName(out)) r.fail(p + "outputPayloadToHeader", "must be an HTTP header name");
    rule.outputPayloadToHeader = asciiLower(out);
  }
  const t = r.duration(o, "timeout", p, 1, 3600000, "1ms and 1h");
  if (t >= 0) rule.timeoutMs = <u32>Math.ceil(t);
  const cd = r.duration(o, "cacheDuration", p, 1000, 7 * 24 * 3600000, "1s and 168h");
  if (cd >= 0) rule.cacheDurationMs = cd;
  const st = r.duration(o, "staleTtl", p, 0, 30 * 24 * 3600000, "0s and 720h");
  if (st >= 0) rule.staleTtlMs = st;
  const mr = r.duration(o, "minRefetchInterval", p, 1000, 24 * 3600000, "1s and 24h");
  if (mr >= 0) rule.minRefetchIntervalMs = mr;
  return r.ok ? rule : null;
}
