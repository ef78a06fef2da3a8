// Owns reading one `policies[]` entry (Istio's AuthorizationPolicy spec, plus `name` and `dryRun`) into a
// compiled Policy: action, rules, sources, operations and conditions, every value compiled here so the
// request path only looks things up. Every mistake names its field (Istio's validation where Istio has
// one); what is not supported is refused, never ignored.
import { JsonValue, JsonKind } from "../util/json";
import {
  Policy, PolicyAction, Rule, Source, PrincipalMatch, Operation, PathMatch, Condition, CondKey, Cidr,
  StringMatch, MatchKind, Config,
} from "./config";
import { Reader } from "./reader";
import { compilePrincipal } from "../authz/principal";
import { istioMatch, isPathTemplate, compilePathTemplate, parseCidr } from "../authz/match";
import { debugWord } from "../util/words";

const CUSTOM_REFUSED = "CUSTOM needs an ext_authz provider, which a wasm filter cannot call; use Envoy's ext_authz filter";

/**
 * A list of non-empty strings; null when absent or empty (protobuf cannot tell an empty list from an
 * absent one, so Istio takes `[]` as "not set").
 */
function nonEmptyList(r: Reader, o: JsonValue, key: string, path: string): string[] | null {
  const list = r.strList(o, key, path);
  if (list === null || list.length == 0) return null;
  for (let i = 0; i < list.length; i++) {
    if (unchecked(list[i]).length == 0) {
      r.fail(path + key + "[" + i.toString() + "]", "must not be empty");
      return null;
    }
  }
  return list;
}

/** `requestPrincipals` values: Istio's `iss/sub` strings, or (beyond Istio) `{"iss": …, "sub": …}`. */
function readPrincipals(r: Reader, s: JsonValue, key: string, path: string): PrincipalMatch[] | null {
  const v = s.get(key);
  if (v === null) return null;
  if (v.kind != JsonKind.Array) {
    r.fail(path + key, "must be a list of strings");
    return null;
  }
  if (v.items.length == 0) return null; // `[]` is "not set", as in Istio
  const out: PrincipalMatch[] = [];
  for (let i = 0; i < v.items.length; i++) {
    const it = unchecked(v.items[i]);
    const ip = path + key + "[" + i.toString() + "]";
    if (it.kind == JsonKind.Object) {
      r.onlyKnown(it, ip, ["iss", "sub"], []);
      const iss = r.str(it, "iss", ip + ".", true);
      const sub = r.str(it, "sub", ip + ".", true);
      if (!r.ok) return null;
      if (iss.length == 0) { r.fail(ip + ".iss", "must not be empty"); return null; }
      if (sub.length == 0) { r.fail(ip + ".sub", "must not be empty"); return null; }
      out.push(new PrincipalMatch(istioMatch(iss), istioMatch(sub)));
      continue;
    }
    if (it.kind != JsonKind.String) {
      r.fail(ip, "must be a string");
      return null;
    }
    if (it.strValue.length == 0) {
      r.fail(ip, "must not be empty");
      return null;
    }
    out.push(compilePrincipal(it.strValue));
  }
  return out;
}

function readStrings(r: Reader, o: JsonValue, key: string, path: string, any: bool, lower: bool): StringMatch[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  const out: StringMatch[] = [];
  for (let i = 0; i < list.length; i++) out.push(istioMatch(unchecked(list[i]), any, lower));
  return out;
}

function readPorts(r: Reader, o: JsonValue, key: string, path: string): i32[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  const out: i32[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = unchecked(list[i]);
    // Istio's ValidatePorts: decimal digits (leading zeros allowed), at most 65535.
    let n = 0;
    let ok = v.length > 0;
    for (let k = 0; k < v.length && ok; k++) {
      const c = v.charCodeAt(k);
      if (c < 0x30 || c > 0x39) ok = false;
      else if (n <= 65535) n = n * 10 + (c - 0x30);
    }
    if (!ok || n > 65535) {
      r.fail(path + key + "[" + i.toString() + "]", "must be a port number from 0 to 65535");
      return null;
    }
    out.push(n);
  }
  return out;
}

function readCidrs(r: Reader, o: JsonValue, key: string, path: string): Cidr[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  const out: Cidr[] = [];
  for (let i = 0; i < list.length; i++) {
    const c = parseCidr(unchecked(list[i]));
    if (c === null) {
      r.fail(path + key + "[" + i.toString() + "]", "must be an IP address or a CIDR block such as 10.0.0.0/8");
      return null;
    }
    out.push(c);
  }
  return out;
}

function readPaths(r: Reader, o: JsonValue, key: string, path: string): PathMatch[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  const out: PathMatch[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = unchecked(list[i]);
    const m = new PathMatch();
    if (isPathTemplate(v)) {
      const problem = compilePathTemplate(v, m);
      if (problem.length > 0) {
        r.fail(path + key + "[" + i.toString() + "]", problem);
        return null;
      }
    } else m.str = istioMatch(v);
    out.push(m);
  }
  return out;
}

/** Peer identities: matched against the URI SAN, so exact and prefix values get `spiffe://` (Istio's generator). */
function readPeerPrincipals(r: Reader, o: JsonValue, key: string, path: string): StringMatch[] | null {
  const list = readStrings(r, o, key, path, false, false);
  if (list === null) return null;
  for (let i = 0; i < list.length; i++) {
    const m = unchecked(list[i]);
    if (m.kind == MatchKind.Exact || m.kind == MatchKind.Prefix) m.value = "spiffe://" + m.value;
    // `*x` is Istio's regex `spiffe://.*x`: the SAN must also start with spiffe://.
    else if (m.kind == MatchKind.Suffix && !m.value.includes("*")) {
      m.kind = MatchKind.Glob;
      m.value = "spiffe://*" + m.value;
    }
  }
  return list;
}

// Peer namespaces, as Istio's generator: the regex `.*/ns/<value>/.*` on the URI SAN, `*` (anywhere in
// the value) any run of characters. (Istio leaves other regex characters unquoted, so a `.` there matches
// any character; here the rest of the value is literal.)
function readNamespaces(r: Reader, o: JsonValue, key: string, path: string): StringMatch[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  const out: StringMatch[] = [];
  for (let i = 0; i < list.length; i++) out.push(new StringMatch(MatchKind.Glob, "*/ns/" + unchecked(list[i]) + "/*"));
  return out;
}

/**
 * Service accounts, as Istio's validation (CheckServiceAccount) and serviceAccountRegex. Istio reads a bare
 * `<sa>` as one in the policy's own namespace, which this configuration does not carry: it is refused.
 */
function readServiceAccounts(r: Reader, o: JsonValue, key: string, path: string): StringMatch[] | null {
  const list = nonEmptyList(r, o, key, path);
  if (list === null) return null;
  if (list.length > 16) {
    r.fail(path + key, "may not have more than 16 values");
    return null;
  }
  const out: StringMatch[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = unchecked(list[i]);
    const vp = path + key + "[" + i.toString() + "]";
    const slash = v.indexOf("/");
    if (v.includes("*")) { r.fail(vp, "wildcard not allowed"); return null; }
    if (v.length > 320) { r.fail(vp, "must not exceed 320 characters"); return null; }
    if (slash < 0) { r.fail(vp, "write <namespace>/<serviceAccount>: the filter does not know the policy's namespace"); return null; }
    if (slash != v.lastIndexOf("/") || slash == 0 || slash == v.length - 1) {
      r.fail(vp, "expected format 'namespace/serviceAccount'");
      return null;
    }
    out.push(new StringMatch(MatchKind.ServiceAccount, v));
  }
  return out;
}

const LATER_SOURCE_FIELDS = ["trustDomains", "notTrustDomains"];

function readSource(r: Reader, so: JsonValue, sp: string, cfg: Config): Source {
  r.onlyKnown(so, sp, ["requestPrincipals", "notRequestPrincipals", "allowMissingSub", "ipBlocks", "notIpBlocks",
    "remoteIpBlocks", "notRemoteIpBlocks", "principals", "notPrincipals", "namespaces", "notNamespaces", "serviceAccounts",
    "notServiceAccounts"], LATER_SOURCE_FIELDS);
  const p = sp + ".";
  const src = new Source();
  src.requestPrincipals = readPrincipals(r, so, "requestPrincipals", p);
  src.notRequestPrincipals = readPrincipals(r, so, "notRequestPrincipals", p);
  src.allowMissingSub = r.bool_(so, "allowMissingSub", p);
  src.ipBlocks = readCidrs(r, so, "ipBlocks", p);
  src.notIpBlocks = readCidrs(r, so, "notIpBlocks", p);
  src.remoteIpBlocks = readCidrs(r, so, "remoteIpBlocks", p);
  src.notRemoteIpBlocks = readCidrs(r, so, "notRemoteIpBlocks", p);
  if (src.remoteIpBlocks !== null || src.notRemoteIpBlocks !== null) cfg.xffIndex = policyHeader(cfg, "x-forwarded-for");
  src.principals = readPeerPrincipals(r, so, "principals", p);
  src.notPrincipals = readPeerPrincipals(r, so, "notPrincipals", p);
  src.namespaces = readNamespaces(r, so, "namespaces", p);
  src.notNamespaces = readNamespaces(r, so, "notNamespaces", p);
  src.serviceAccounts = readServiceAccounts(r, so, "serviceAccounts", p);
  src.notServiceAccounts = readServiceAccounts(r, so, "notServiceAccounts", p);
  if (r.ok && (src.serviceAccounts !== null || src.notServiceAccounts !== null) &&
    (src.principals !== null || src.notPrincipals !== null || src.namespaces !== null || src.notNamespaces !== null)) {
    r.fail(sp, "cannot set serviceAccounts with namespaces or principals");
  }
  if (r.ok && src.requestPrincipals === null && src.notRequestPrincipals === null && src.ipBlocks === null &&
    src.notIpBlocks === null && src.remoteIpBlocks === null && src.notRemoteIpBlocks === null && src.principals === null &&
    src.notPrincipals === null && src.namespaces === null && src.notNamespaces === null && src.serviceAccounts === null &&
    src.notServiceAccounts === null) {
    r.fail(sp, "must not be empty");
  }
  return src;
}

function readOperation(r: Reader, oo: JsonValue, op: string): Operation {
  r.onlyKnown(oo, op, ["hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths"], []);
  const p = op + ".";
  const o = new Operation();
  o.hosts = readStrings(r, oo, "hosts", p, true, true);
  o.notHosts = readStrings(r, oo, "notHosts", p, true, true);
  o.ports = readPorts(r, oo, "ports", p);
  o.notPorts = readPorts(r, oo, "notPorts", p);
  o.methods = readStrings(r, oo, "methods", p, true, false);
  o.notMethods = readStrings(r, oo, "notMethods", p, true, false);
  o.paths = readPaths(r, oo, "paths", p);
  o.notPaths = readPaths(r, oo, "notPaths", p);
  if (r.ok && o.hosts === null && o.notHosts === null && o.ports === null && o.notPorts === null && o.methods === null &&
    o.notMethods === null && o.paths === null && o.notPaths === null) {
    r.fail(op, "must not be empty");
  }
  return o;
}

/** The names in `[a][b]…` (Istio's extractNameInNestedBrackets: a name containing `[` makes it one name). */
function bracketNames(s: string): string[] | null {
  const out: string[] = [];
  let b = 0;
  while (b < s.length) {
    let end = -1;
    if (s.charCodeAt(b) == 0x5b) {
      for (let i = b + 1; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c == 0x5b) break;
        if (c == 0x5d) { end = i; break; }
      }
    }
    if (end < 0) {
      if (s.length <= 2 || !s.startsWith("[") || !s.endsWith("]")) return null;
      return [s.substring(1, s.length - 1)];
    }
    out.push(s.substring(b + 1, end));
    b = end + 1;
  }
  if (out.length == 0) return null;
  for (let i = 0; i < out.length; i++) if (unchecked(out[i]).length == 0) return null;
  return out;
}

function readCondition(r: Reader, wo: JsonValue, wp: string, cfg: Config): Condition | null {
  r.onlyKnown(wo, wp, ["key", "values", "notValues"], []);
  const key = r.str(wo, "key", wp + ".", true);
  if (!r.ok) return null;
  const c = new Condition();
  c.keyText = key;
  const kp = wp + ".key";
  let kind = 0; // 0 strings, 1 header strings, 2 principals, 3 ports, 4 CIDRs, 5 peer principals, 6 peer namespaces, 7 service accounts
  if (key == "request.auth.principal") { c.key = CondKey.AuthPrincipal; kind = 2; }
  else if (key == "request.auth.audiences") c.key = CondKey.AuthAudiences;
  else if (key == "request.auth.presenter") c.key = CondKey.AuthPresenter;
  else if (key.startsWith("request.auth.claims")) {
    const names = bracketNames(key.substring(19));
    if (names === null) { r.fail(kp, "must name a claim, such as request.auth.claims[groups] or request.auth.claims[a][b]"); return null; }
    c.key = CondKey.AuthClaims;
    c.claimPath = names;
    const joined = names.join("\u0000");
    let ci = cfg.claimPaths.indexOf(joined);
    if (ci < 0) {
      ci = cfg.claimPaths.length;
      cfg.claimPaths.push(joined);
    }
    c.claimIndex = ci;
  } else if (key.startsWith("request.headers")) {
    const s = key.substring(15);
    if (s.length <= 2 || !s.startsWith("[") || !s.endsWith("]")) { r.fail(kp, "must name a header, such as request.headers[x-tenant]"); return null; }
    c.key = CondKey.Header;
    c.header = s.substring(1, s.length - 1).toLowerCase();
    if (cfg.sanitizeHeaders.includes(c.header)) {
      // The request's copy is the client's (the filter removes it and writes its own after the checks),
      // so a condition on it would decide on a forged value; Istio's RBAC sees the claim's.
      r.fail(kp, "names " + c.header + ", a header the filter writes from a verified token (outputClaimToHeaders or outputPayloadToHeader): use request.auth.claims[...] instead");
      return null;
    }
    kind = 1;
  } else if (key == "source.ip") { c.key = CondKey.SourceIp; kind = 4; }
  else if (key == "remote.ip") { c.key = CondKey.RemoteIp; kind = 4; }
  else if (key == "destination.ip") { c.key = CondKey.DestinationIp; kind = 4; }
  else if (key == "destination.port") { c.key = CondKey.DestinationPort; kind = 3; }
  else if (key == "connection.sni") c.key = CondKey.Sni;
  else if (key == "source.principal") { c.key = CondKey.SourcePrincipal; kind = 5; }
  else if (key == "source.namespace") { c.key = CondKey.SourceNamespace; kind = 6; }
  else if (key == "destination.namespace") { r.fail(kp, "attribute destination.namespace is replaced by the metadata.namespace"); return null; }
  else if (key.startsWith("destination.labels")) { r.fail(kp, "attribute " + key + " is replaced by the workload selector"); return null; }
  else if (key == "destination.name" || key == "destination.user") { r.fail(kp, "deprecated attribute " + key + ": only supported in v1alpha1"); return null; }
  else if (key == "source.serviceAccount") { c.key = CondKey.SourceServiceAccount; kind = 7; }
  else if (key == "source.trustDomain" || key.startsWith("experimental.envoy.filters.") ||
    key.startsWith("request.experimental.inline.headers")) {
    r.fail(kp, key + " is not supported yet");
    return null;
  } else {
    r.fail(kp, "unknown attribute " + key);
    return null;
  }
  const p = wp + ".";
  if (kind == 2) {
    c.principals = readPrincipals(r, wo, "values", p);
    c.notPrincipals = readPrincipals(r, wo, "notValues", p);
  } else if (kind == 3) {
    c.ports = readPorts(r, wo, "values", p);
    c.notPorts = readPorts(r, wo, "notValues", p);
  } else if (kind == 4) {
    c.cidrs = readCidrs(r, wo, "values", p);
    c.notCidrs = readCidrs(r, wo, "notValues", p);
  } else if (kind == 7) {
    c.values = readServiceAccounts(r, wo, "values", p);
    c.notValues = readServiceAccounts(r, wo, "notValues", p);
  } else if (kind == 6) {
    c.values = readNamespaces(r, wo, "values", p);
    c.notValues = readNamespaces(r, wo, "notValues", p);
  } else if (kind == 5) {
    c.values = readPeerPrincipals(r, wo, "values", p);
    c.notValues = readPeerPrincipals(r, wo, "notValues", p);
  } else {
    c.values = readStrings(r, wo, "values", p, kind == 1, false);
    c.notValues = readStrings(r, wo, "notValues", p, kind == 1, false);
  }
  if (r.ok && c.values === null && c.notValues === null && c.principals === null && c.notPrincipals === null &&
    c.ports === null && c.notPorts === null && c.cidrs === null && c.notCidrs === null) {
    r.fail(wp, "at least one of values or notValues must be set");
    return null;
  }
  if (c.key == CondKey.Header) c.headerIndex = policyHeader(cfg, c.header);
  if (c.key == CondKey.RemoteIp) cfg.xffIndex = policyHeader(cfg, "x-forwarded-for");
  return r.ok ? c : null;
}

/** Registers a header name the policies read in the one header pass; returns its index. */
function policyHeader(cfg: Config, name: string): i32 {
  const i = cfg.policyHeaders.indexOf(name);
  if (i >= 0) return i;
  cfg.policyHeaders.push(name);
  return cfg.policyHeaders.length - 1;
}

/** A list that, when present, must not be empty (Istio: "`from` must not be empty"). */
function nonEmptyObjList(r: Reader, o: JsonValue, key: string, path: string): JsonValue[] | null {
  const l = r.list(o, key, path);
  if (l !== null && l.length == 0) r.fail(path + key, "must not be empty");
  return r.ok ? l : null;
}

export function readPolicy(r: Reader, v: JsonValue, index: i32, cfg: Config): Policy | null {
  const path = "policies[" + index.toString() + "]";
  const o = r.obj(v, path);
  if (o === null) return null;
  r.onlyKnown(o, path, ["name", "action", "rules", "dryRun", "provider"], ["selector", "targetRef", "targetRefs"]);
  const pol = new Policy();
  pol.name = r.str(o, "name", path + ".", false);
  if (pol.name.length == 0) pol.name = path;
  const action = r.str(o, "action", path + ".", false);
  if (action.length == 0 || action == "ALLOW") pol.action = PolicyAction.Allow;
  else if (action == "DENY") pol.action = PolicyAction.Deny;
  else if (action == "AUDIT") pol.action = PolicyAction.Audit;
  else if (action == "CUSTOM") r.fail(path + ".action", CUSTOM_REFUSED);
  else r.fail(path + ".action", "must be ALLOW, DENY or AUDIT");
  if (r.ok && o.get("provider") !== null) r.fail(path + ".provider", "only for the CUSTOM action, which is refused: " + CUSTOM_REFUSED);
  pol.dryRun = r.bool_(o, "dryRun", path + ".");
  const rules = r.list(o, "rules", path + ".");
  if (r.ok && pol.action == PolicyAction.Deny && (rules === null || rules.length == 0)) {
    // Istio's validation: such a policy never matches.
    r.fail(path + ".rules", "a DENY policy without rules would never match (Istio refuses it); add an empty rule {} to deny every request");
  }
  if (rules !== null) {
    for (let i = 0; i < rules.length && r.ok; i++) {
      const rp = path + ".rules[" + i.toString() + "]";
      const ro = r.obj(unchecked(rules[i]), rp);
      if (ro === null) break;
      r.onlyKnown(ro, rp, ["from", "to", "when"], []);
      const rule = new Rule();
      const from = nonEmptyObjList(r, ro, "from", rp + ".");
      if (from !== null) {
        for (let j = 0; j < from.length && r.ok; j++) {
          const fp = rp + ".from[" + j.toString() + "]";
          const fo = r.obj(unchecked(from[j]), fp);
          if (fo === null) break;
          r.onlyKnown(fo, fp, ["source"], []);
          const so = r.obj(fo.get("source"), fp + ".source");
          if (!r.ok) break;
          if (so === null) { r.fail(fp + ".source", "required"); break; }
          rule.sources.push(readSource(r, so, fp + ".source", cfg));
        }
      }
      const to = nonEmptyObjList(r, ro, "to", rp + ".");
      if (to !== null) {
        for (let j = 0; j < to.length && r.ok; j++) {
          const tp = rp + ".to[" + j.toString() + "]";
          const tobj = r.obj(unchecked(to[j]), tp);
          if (tobj === null) break;
          r.onlyKnown(tobj, tp, ["operation"], []);
          const oo = r.obj(tobj.get("operation"), tp + ".operation");
          if (!r.ok) break;
          if (oo === null) { r.fail(tp + ".operation", "required"); break; }
          rule.operations.push(readOperation(r, oo, tp + ".operation"));
        }
      }
      const when = nonEmptyObjList(r, ro, "when", rp + ".");
      if (when !== null) {
        for (let j = 0; j < when.length && r.ok; j++) {
          const wp = rp + ".when[" + j.toString() + "]";
          const wo = r.obj(unchecked(when[j]), wp);
          if (wo === null) break;
          const c = readCondition(r, wo, wp, cfg);
          if (c !== null) rule.conditions.push(c);
        }
      }
      rule.tag = String.UTF8.encode((pol.action == PolicyAction.Deny ? "deny" : "allow") + " policy=" + debugWord(pol.name) + " rule=" + i.toString());
      pol.rules.push(rule);
    }
  }
  return r.ok ? pol : null;
}
