// Owns reading the plugin configuration JSON into a compiled Config. Every mistake is reported once,
// as "<json path>: <problem>" (e.g. `jwtRules[0].issuer: required`); nothing here can trap, and
// nothing about the configuration is discovered later, on a request.
import { JsonValue, JsonKind, parseJson, lastJsonErrorMessage, lastJsonErrorOffset, JsonLimits } from "../util/json";
import { Config, JwtRule, HeaderLocation, Policy, PolicyAction, Rule, Source, PrincipalMatch } from "./config";
import { compilePrincipal } from "../authz/principal";
import { normalizeAudience } from "../jwt/claims";
import { jwksFromJson, MAX_JWKS_BYTES } from "../jwks/jwks";
import { asciiLower } from "../util/bytes";
import { Status, statusString } from "../status";

export class ConfigResult {
  config: Config | null = null;
  error: string = "";
  /** Non-fatal findings (e.g. an inline JWKS without a usable key, which Envoy also only warns about). */
  warnings: string[] = [];
}

const MAX_CONFIG_BYTES: i32 = 1 << 20;

class Reader {
  error: string = "";
  warnings: string[] = [];

  fail(path: string, problem: string): void {
    if (this.error.length == 0) this.error = path + ": " + problem;
  }
  get ok(): bool {
    return this.error.length == 0;
  }

  /** Rejects any member not in `allowed` (unknown fields are errors, never silently ignored). */
  onlyKnown(o: JsonValue, path: string, allowed: string[], later: string[]): void {
    for (let i = 0; i < o.keys.length; i++) {
      const k = unchecked(o.keys[i]);
      if (allowed.includes(k)) continue;
      const p = path.length > 0 ? path + "." + k : k;
      if (later.includes(k)) this.fail(p, "not supported yet");
      else this.fail(p, "unknown field");
      return;
    }
  }

  str(o: JsonValue, key: string, path: string, required: bool): string {
    const v = o.get(key);
    if (v === null) {
      if (required) this.fail(path + key, "required");
      return "";
    }
    if (v.kind != JsonKind.String) {
      this.fail(path + key, "must be a string");
      return "";
    }
    return v.strValue;
  }

  bool_(o: JsonValue, key: string, path: string): bool {
    const v = o.get(key);
    if (v === null) return false;
    if (v.kind != JsonKind.Bool) {
      this.fail(path + key, "must be a boolean");
      return false;
    }
    return v.boolValue;
  }

  /** An optional whole number in [min, max]; `dflt` when absent. */
  int(o: JsonValue, key: string, path: string, dflt: i32, min: i32, max: i32): i32 {
    const v = o.get(key);
    if (v === null) return dflt;
    if (v.kind != JsonKind.Number || !v.numIsInteger || v.numValue < <f64>min || v.numValue > <f64>max) {
      this.fail(path + key, "must be a whole number from " + min.toString() + " to " + max.toString());
      return dflt;
    }
    return <i32>v.numValue;
  }

  /** An optional list of strings; null when absent. */
  strList(o: JsonValue, key: string, path: string): string[] | null {
    const v = o.get(key);
    if (v === null) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(path + key, "must be a list of strings");
      return null;
    }
    const out: string[] = [];
    for (let i = 0; i < v.items.length; i++) {
      const it = unchecked(v.items[i]);
      if (it.kind != JsonKind.String) {
        this.fail(path + key + "[" + i.toString() + "]", "must be a string");
        return null;
      }
      out.push(it.strValue);
    }
    return out;
  }

  obj(v: JsonValue | null, path: string): JsonValue | null {
    if (v === null) return null;
    if (v.kind != JsonKind.Object) {
      this.fail(path, "must be an object");
      return null;
    }
    return v;
  }

  list(o: JsonValue, key: string, path: string): JsonValue[] | null {
    const v = o.get(key);
    if (v === null) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(path + key, "must be a list");
      return null;
    }
    return v.items;
  }
}

/** Istio durations: protobuf's `1.5s` form, plus Go's `500ms`, `2m`, `1h`. Returns -1 when invalid. */
export function parseDurationMs(s: string): f64 {
  let unit: f64 = 0;
  let num = "";
  if (s.endsWith("ms")) { unit = 1; num = s.substring(0, s.length - 2); }
  else if (s.endsWith("s")) { unit = 1000; num = s.substring(0, s.length - 1); }
  else if (s.endsWith("m")) { unit = 60000; num = s.substring(0, s.length - 1); }
  else if (s.endsWith("h")) { unit = 3600000; num = s.substring(0, s.length - 1); }
  else return -1;
  if (num.length == 0 || num.length > 20) return -1;
  let dots = 0;
  for (let i = 0; i < num.length; i++) {
    const c = num.charCodeAt(i);
    if (c == 0x2e) { dots++; if (dots > 1 || i == 0 || i == num.length - 1) return -1; }
    else if (c < 0x30 || c > 0x39) return -1;
  }
  return parseFloat(num) * unit;
}

const HEADER_NAME_CHARS = "!#$%&'*+-.^_`|~";

function isHeaderName(s: string): bool {
  if (s.length == 0 || s.length > 256) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && HEADER_NAME_CHARS.indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

/** Splits an http(s) URI into authority and path; returns false when it is not one. */
function splitUri(uri: string, rule: JwtRule): bool {
  let rest = "";
  let defaultPort = "";
  if (uri.startsWith("https://")) { rest = uri.substring(8); defaultPort = "443"; }
  else if (uri.startsWith("http://")) { rest = uri.substring(7); defaultPort = "80"; }
  else return false;
  if (uri.length > 2048) return false;
  let slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.substring(0, slash);
  const path = slash < 0 ? "/" : rest.substring(slash);
  if (authority.length == 0 || authority.indexOf("@") >= 0 || authority.indexOf(" ") >= 0) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  // Host and port for Istio's outbound cluster name `outbound|<port>||<host>`.
  let host = authority;
  let port = defaultPort;
  const colon = authority.lastIndexOf(":");
  if (colon > 0 && authority.indexOf("]") < colon) {
    host = authority.substring(0, colon);
    port = authority.substring(colon + 1);
    if (port.length == 0 || port.length > 5) return false;
    for (let i = 0; i < port.length; i++) {
      const c = port.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return false;
    }
  }
  rule.jwksAuthority = authority;
  rule.jwksPath = path;
  if (rule.jwksCluster.length == 0) rule.jwksCluster = "outbound|" + port + "||" + host;
  return true;
}

function readRule(r: Reader, v: JsonValue, index: i32): JwtRule | null {
  const path = "jwtRules[" + index.toString() + "]";
  const o = r.obj(v, path);
  if (o === null) return null;
  r.onlyKnown(o, path, ["issuer", "jwks", "jwksUri", "jwksCluster", "audiences", "fromHeaders", "fromParams", "fromCookies",
    "forwardOriginalToken", "outputPayloadToHeader", "timeout"], ["outputClaimToHeaders", "spaceDelimitedClaims"]);
  const p = path + ".";
  const rule = new JwtRule();
  rule.issuer = r.str(o, "issuer", p, true);
  if (r.ok && rule.issuer.length == 0) r.fail(p + "issuer", "must not be empty");
  const jwks = o.get("jwks");
  const jwksUri = o.get("jwksUri");
  rule.jwksCluster = r.str(o, "jwksCluster", p, false);
  if (jwks !== null && jwksUri !== null) r.fail(path, "only one of jwks and jwksUri may be set");
  else if (jwks === null && jwksUri === null) r.fail(path, "one of jwks or jwksUri is required");
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
  } else {
    rule.jwksUri = r.str(o, "jwksUri", p, true);
    if (r.ok && !splitUri(rule.jwksUri, rule)) r.fail(p + "jwksUri", "must be an http:// or https:// URI");
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
  const t = o.get("timeout");
  if (t !== null) {
    if (t.kind != JsonKind.String) r.fail(p + "timeout", "must be a duration string such as \"5s\"");
    else {
      const ms = parseDurationMs(t.strValue);
      if (ms <= 0 || ms > 3600000) r.fail(p + "timeout", "must be a duration between 1ms and 1h, such as \"5s\"");
      else rule.timeoutMs = <u32>Math.ceil(ms);
    }
  }
  return r.ok ? rule : null;
}

function readPrincipals(r: Reader, s: JsonValue, key: string, path: string): PrincipalMatch[] | null {
  const list = r.strList(s, key, path);
  if (list === null) return null;
  const out: PrincipalMatch[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = unchecked(list[i]);
    if (v.length == 0) {
      r.fail(path + key + "[" + i.toString() + "]", "must not be empty");
      return null;
    }
    out.push(compilePrincipal(v));
  }
  return out;
}

const LATER_SOURCE_FIELDS = ["principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks",
  "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts"];

function readPolicy(r: Reader, v: JsonValue, index: i32): Policy | null {
  const path = "policies[" + index.toString() + "]";
  const o = r.obj(v, path);
  if (o === null) return null;
  r.onlyKnown(o, path, ["name", "action", "rules"], ["provider", "selector", "targetRef", "targetRefs"]);
  const pol = new Policy();
  pol.name = r.str(o, "name", path + ".", false);
  if (pol.name.length == 0) pol.name = path;
  const action = r.str(o, "action", path + ".", false);
  if (action.length == 0 || action == "ALLOW") pol.action = PolicyAction.Allow;
  else if (action == "DENY") pol.action = PolicyAction.Deny;
  else if (action == "AUDIT" || action == "CUSTOM") r.fail(path + ".action", action + " is not supported yet");
  else r.fail(path + ".action", "must be ALLOW or DENY");
  const rules = r.list(o, "rules", path + ".");
  if (rules !== null) {
    for (let i = 0; i < rules.length && r.ok; i++) {
      const rp = path + ".rules[" + i.toString() + "]";
      const ro = r.obj(unchecked(rules[i]), rp);
      if (ro === null) break;
      r.onlyKnown(ro, rp, ["from"], ["to", "when"]);
      const rule = new Rule();
      const from = r.list(ro, "from", rp + ".");
      if (from !== null) {
        for (let j = 0; j < from.length && r.ok; j++) {
          const fp = rp + ".from[" + j.toString() + "]";
          const fo = r.obj(unchecked(from[j]), fp);
          if (fo === null) break;
          r.onlyKnown(fo, fp, ["source"], []);
          const so = r.obj(fo.get("source"), fp + ".source");
          if (!r.ok) break;
          if (so === null) {
            r.fail(fp + ".source", "required");
            break;
          }
          r.onlyKnown(so, fp + ".source", ["requestPrincipals", "notRequestPrincipals"], LATER_SOURCE_FIELDS);
          const src = new Source();
          src.requestPrincipals = readPrincipals(r, so, "requestPrincipals", fp + ".source.");
          src.notRequestPrincipals = readPrincipals(r, so, "notRequestPrincipals", fp + ".source.");
          rule.sources.push(src);
        }
      }
      pol.rules.push(rule);
    }
  }
  return r.ok ? pol : null;
}

/** Parses and compiles the plugin configuration (bytes of buffer 7). */
export function parseConfig(data: usize, len: i32): ConfigResult {
  const res = new ConfigResult();
  const r = new Reader();
  if (len <= 0) {
    res.error = "configuration: required (a JSON object with jwtRules and policies)";
    return res;
  }
  if (len > MAX_CONFIG_BYTES) {
    res.error = "configuration: larger than 1 MiB";
    return res;
  }
  const limits = new JsonLimits();
  limits.maxBytes = MAX_CONFIG_BYTES;
  const doc = parseJson(data, len, limits);
  if (doc === null) {
    res.error = "configuration: invalid JSON at byte " + lastJsonErrorOffset().toString() + ": " + lastJsonErrorMessage();
    return res;
  }
  if (doc.kind != JsonKind.Object) {
    res.error = "configuration: must be a JSON object";
    return res;
  }
  r.onlyKnown(doc, "", ["jwtRules", "policies", "tokenCache"], []);
  const cfg = new Config();
  const tc = r.obj(doc.get("tokenCache"), "tokenCache");
  if (tc !== null) {
    r.onlyKnown(tc, "tokenCache", ["maxEntries", "maxBytes"], []);
    cfg.cacheEntries = r.int(tc, "maxEntries", "tokenCache.", cfg.cacheEntries, 0, 1000000);
    cfg.cacheBytes = r.int(tc, "maxBytes", "tokenCache.", cfg.cacheBytes, 0, 1 << 30);
  }
  const rules = r.list(doc, "jwtRules", "");
  if (rules !== null) {
    for (let i = 0; i < rules.length && r.ok; i++) {
      const rule = readRule(r, unchecked(rules[i]), i);
      if (rule !== null) {
        cfg.rules.push(rule);
        if (rule.outputPayloadToHeader.length > 0 && !cfg.sanitizeHeaders.includes(rule.outputPayloadToHeader)) {
          cfg.sanitizeHeaders.push(rule.outputPayloadToHeader);
        }
      }
    }
  }
  const policies = r.list(doc, "policies", "");
  if (policies !== null) {
    for (let i = 0; i < policies.length && r.ok; i++) {
      const pol = readPolicy(r, unchecked(policies[i]), i);
      if (pol !== null) {
        cfg.policies.push(pol);
        if (pol.action == PolicyAction.Allow) cfg.hasAllow = true;
      }
    }
  }
  res.warnings = r.warnings;
  if (!r.ok) {
    res.error = r.error;
    return res;
  }
  res.config = cfg;
  return res;
}
