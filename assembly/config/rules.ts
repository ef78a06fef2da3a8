// Owns reading one `jwtRules[]` entry (Istio's JWTRule, an Envoy JwtProvider) into a compiled JwtRule:
// issuer, key source (inline, jwksUri, or OIDC discovery), audiences, token locations, success actions
// (payload and claim headers), the time-check extensions (clockSkew, requireExpiration, maxLifetime), the
// space-delimited claims and the key-set lifecycle options. Every mistake names its field.
import { JsonValue, JsonKind, parseJson, JsonLimits } from "../util/json";
import { Config, JwtRule, HeaderLocation, ClaimHeader, ClaimFormat } from "./config";
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
    "forwardOriginalToken", "outputPayloadToHeader", "outputClaimToHeaders", "timeout", "cacheDuration", "staleTtl",
    "minRefetchInterval", "clockSkew", "requireExpiration", "maxLifetime", "spaceDelimitedClaims"], []);
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
      r.onlyKnown(h, hp, ["name", "prefix", "bearerCaseInsensitive"], []);
      const name = r.str(h, "name", hp + ".", true);
      const prefix = r.str(h, "prefix", hp + ".", false);
      if (r.ok && !isHeaderName(name)) r.fail(hp + ".name", "must be an HTTP header name");
      const loc = new HeaderLocation(asciiLower(name), prefix);
      loc.caseInsensitive = r.bool_(h, "bearerCaseInsensitive", hp + ".");
      rule.fromHeaders.push(loc);
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
  readClaimHeaders(r, o, p, rule);
  const skew = r.duration(o, "clockSkew", p, 0, 3600000, "0s and 1h");
  if (skew >= 0) {
    if (skew % 1000 != 0) r.fail(p + "clockSkew", "must be a whole number of seconds, such as \"30s\"");
    rule.clockSkewS = skew / 1000;
  }
  rule.requireExpiration = r.bool_(o, "requireExpiration", p);
  const ml = r.duration(o, "maxLifetime", p, 1000, 10 * 365 * 24 * 3600000, "1s and 87600h");
  if (ml >= 0) {
    if (ml % 1000 != 0) r.fail(p + "maxLifetime", "must be a whole number of seconds, such as \"3600s\"");
    rule.maxLifetimeS = ml / 1000;
  }
  const sdc = r.strList(o, "spaceDelimitedClaims", p);
  if (sdc !== null) {
    for (let i = 0; i < sdc.length; i++) {
      const c = unchecked(sdc[i]);
      if (c.length == 0) {
        r.fail(p + "spaceDelimitedClaims[" + i.toString() + "]", "must not be empty");
        break;
      }
      if (!rule.spaceDelimitedClaims.includes(c)) rule.spaceDelimitedClaims.push(c);
    }
    if (sdc.length > 64) r.fail(p + "spaceDelimitedClaims", "must have at most 64 entries");
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

/** Istio's pattern for an `outputClaimToHeaders` header: `^[-_A-Za-z0-9]+$`. */
function isClaimHeaderName(s: string): bool {
  if (s.length == 0 || s.length > 256) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/**
 * `outputClaimToHeaders: [{header, claim, format?}]` (Istio's ClaimToHeader, Envoy's claim_to_headers). Stricter
 * than Istio, which only documents it: a header must be unique within the rule and differ from its
 * outputPayloadToHeader. Token-location clashes across rules are checked once all rules are read (parse.ts).
 */
function readClaimHeaders(r: Reader, o: JsonValue, p: string, rule: JwtRule): void {
  const list = r.list(o, "outputClaimToHeaders", p);
  if (list === null) return;
  for (let i = 0; i < list.length && r.ok; i++) {
    const ep = p + "outputClaimToHeaders[" + i.toString() + "]";
    const e = r.obj(unchecked(list[i]), ep);
    if (e === null) return;
    r.onlyKnown(e, ep, ["header", "claim", "format"], []);
    const header = r.str(e, "header", ep + ".", true);
    const claim = r.str(e, "claim", ep + ".", true);
    const format = r.str(e, "format", ep + ".", false);
    if (!r.ok) return;
    if (!isClaimHeaderName(header)) {
      r.fail(ep + ".header", "must match ^[-_A-Za-z0-9]+$");
      return;
    }
    const name = asciiLower(header);
    for (let j = 0; j < rule.claimHeaders.length; j++) {
      if (unchecked(rule.claimHeaders[j]).header == name) {
        r.fail(ep + ".header", "already used by outputClaimToHeaders[" + j.toString() + "]");
        return;
      }
    }
    if (name == rule.outputPayloadToHeader) {
      r.fail(ep + ".header", "already used by outputPayloadToHeader");
      return;
    }
    if (claim.length == 0) {
      r.fail(ep + ".claim", "must not be empty");
      return;
    }
    let f = ClaimFormat.Envoy;
    if (format == "csv") f = ClaimFormat.Csv;
    else if (format == "json") f = ClaimFormat.Json;
    else if (e.get("format") !== null) {
      r.fail(ep + ".format", "must be \"csv\" or \"json\"");
      return;
    }
    rule.claimHeaders.push(new ClaimHeader(name, claim, f));
  }
}

/**
 * After every rule is read: each claim header joins the headers removed from every request (as Envoy's
 * extractor sanitizes them), and must not be a token location of any rule (removing it before extraction
 * would hide that rule's tokens; Envoy accepts the clash).
 */
export function finishRules(r: Reader, cfg: Config): void {
  for (let i = 0; i < cfg.rules.length && r.ok; i++) {
    const rule = unchecked(cfg.rules[i]);
    for (let j = 0; j < rule.claimHeaders.length; j++) {
      const h = unchecked(rule.claimHeaders[j]).header;
      for (let k = 0; k < cfg.rules.length; k++) {
        const other = unchecked(cfg.rules[k]);
        let clash = h == "cookie" && other.fromCookies.length > 0;
        for (let m = 0; m < other.fromHeaders.length; m++) if (unchecked(other.fromHeaders[m]).name == h) clash = true;
        if (clash) {
          r.fail("jwtRules[" + i.toString() + "].outputClaimToHeaders[" + j.toString() + "].header",
            "must not be a token location (jwtRules[" + k.toString() + "] reads tokens from " + h + ")");
          return;
        }
      }
      if (!cfg.sanitizeHeaders.includes(h)) cfg.sanitizeHeaders.push(h);
    }
  }
}
