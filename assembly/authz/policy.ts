// Owns the authorization verdict (Istio's order): any matching DENY policy denies; with no ALLOW
// policy the request is allowed; a matching ALLOW policy allows; otherwise it is denied. AUDIT policies
// and dry-run policies are evaluated too, counted and logged, and never decide. A rule matches when its
// `from` (OR over sources), `to` (OR over operations) and `when` (AND over conditions) all match.
import { log, LogLevelValues } from "@solo-io/proxy-runtime/assembly";
import {
  Config, Policy, PolicyAction, Rule, Source, Operation, Condition, CondKey, StringMatch, PathMatch,
} from "../config/config";
import { Principal, matchesAnyPrincipal } from "./principal";
import { RequestAttrs } from "./attributes";
import { anyMatches, pathMatches, anyCidr } from "./match";
import { JsonKind } from "../util/json";
import { Stats } from "../filter/stats";

export class Verdict {
  allowed: bool = true;
  /** Envoy's response-code details policy id: the matching DENY policy, or "none" when no ALLOW matched. */
  policy: string = "";
  /** The index of the deciding rule inside `policy` (-1 when no rule decided: "none" or no policy matched). */
  rule: i32 = -1;
}

// ---- Sources ----------------------------------------------------------------------------------------

function peerMatches(list: StringMatch[], a: RequestAttrs): bool {
  const san = a.peerUri();
  return san !== null && anyMatches(list, san, true);
}


function sourceMatches(s: Source, a: RequestAttrs): bool {
  const p = a.principal;
  const rp = s.requestPrincipals;
  if (rp !== null && !matchesAnyPrincipal(rp, p, s.allowMissingSub)) return false;
  const nrp = s.notRequestPrincipals;
  if (nrp !== null && matchesAnyPrincipal(nrp, p, s.allowMissingSub)) return false;
  const ib = s.ipBlocks;
  if (ib !== null && !anyCidr(ib, a.sourceIp(), a.sourceAddr)) return false;
  const nib = s.notIpBlocks;
  if (nib !== null && anyCidr(nib, a.sourceIp(), a.sourceAddr)) return false;
  const rb = s.remoteIpBlocks;
  if (rb !== null && !anyCidr(rb, a.remoteIp(), a.remoteAddr)) return false;
  const nrb = s.notRemoteIpBlocks;
  if (nrb !== null && anyCidr(nrb, a.remoteIp(), a.remoteAddr)) return false;
  const pr = s.principals;
  if (pr !== null && !peerMatches(pr, a)) return false;
  const npr = s.notPrincipals;
  if (npr !== null && peerMatches(npr, a)) return false;
  const ns = s.namespaces;
  if (ns !== null && !peerMatches(ns, a)) return false;
  const nns = s.notNamespaces;
  if (nns !== null && peerMatches(nns, a)) return false;
  const sa = s.serviceAccounts;
  if (sa !== null && !peerMatches(sa, a)) return false;
  const nsa = s.notServiceAccounts;
  if (nsa !== null && peerMatches(nsa, a)) return false;
  return true;
}

// ---- Operations -------------------------------------------------------------------------------------

function anyPort(list: i32[], port: i32): bool {
  if (port < 0) return false;
  for (let i = 0; i < list.length; i++) if (unchecked(list[i]) == port) return true;
  return false;
}

function anyPath(list: PathMatch[], a: RequestAttrs): bool {
  const end = a.pathEnd();
  const url = a.urlPath();
  for (let i = 0; i < list.length; i++) if (pathMatches(unchecked(list[i]), a.path, end, url)) return true;
  return false;
}

function operationMatches(o: Operation, a: RequestAttrs): bool {
  const m = o.methods;
  if (m !== null && !anyMatches(m, a.method, a.method.length > 0)) return false;
  const nm = o.notMethods;
  if (nm !== null && anyMatches(nm, a.method, a.method.length > 0)) return false;
  const h = o.hosts;
  if (h !== null && !anyMatches(h, a.host(), a.authority.length > 0)) return false;
  const nh = o.notHosts;
  if (nh !== null && anyMatches(nh, a.host(), a.authority.length > 0)) return false;
  const p = o.paths;
  if (p !== null && !anyPath(p, a)) return false;
  const np = o.notPaths;
  if (np !== null && anyPath(np, a)) return false;
  const pt = o.ports;
  if (pt !== null && !anyPort(pt, a.destinationPort())) return false;
  const npt = o.notPorts;
  if (npt !== null && anyPort(npt, a.destinationPort())) return false;
  return true;
}

// ---- Conditions -------------------------------------------------------------------------------------

/**
 * A string claim, or any string element of a list claim (numbers and booleans never match), after the
 * accepting rule's spaceDelimitedClaims normalization (`scope` and `permission` always), as Istio matches
 * the payload Envoy normalized into metadata.
 */
function claimMatches(a: RequestAttrs, c: Condition, list: StringMatch[]): bool {
  const values = a.claimValuesAt(c.claimIndex, c.claimPath);
  for (let i = 0; i < values.length; i++) {
    if (anyMatches(list, unchecked(values[i]), true)) return true;
  }
  return false;
}

function stringsMatch(list: StringMatch[], c: Condition, a: RequestAttrs): bool {
  switch (c.key) {
    case CondKey.AuthAudiences: {
      const jwt = a.jwt;
      if (jwt === null) return false;
      for (let i = 0; i < jwt.audiences.length; i++) if (anyMatches(list, unchecked(jwt.audiences[i]), true)) return true;
      return false;
    }
    case CondKey.AuthPresenter: {
      const jwt = a.jwt;
      if (jwt === null) return false;
      const payload = jwt.payload;
      if (payload === null) return false;
      const azp = payload.get("azp");
      return azp !== null && azp.kind == JsonKind.String && anyMatches(list, azp.strValue, true);
    }
    case CondKey.AuthClaims: return claimMatches(a, c, list);
    case CondKey.Header: {
      const h = unchecked(a.headers[c.headerIndex]);
      return h !== null && anyMatches(list, h, true);
    }
    case CondKey.Sni: {
      const sni = a.sni();
      return sni !== null && anyMatches(list, sni, true);
    }
    case CondKey.SourcePrincipal: return peerMatches(list, a);
    case CondKey.SourceNamespace:
    case CondKey.SourceServiceAccount: return peerMatches(list, a);
  }
  return false;
}

function cidrsMatch(c: Condition, a: RequestAttrs, negate: bool): bool {
  const list = negate ? c.notCidrs : c.cidrs;
  if (list === null) return false;
  if (c.key == CondKey.SourceIp) return anyCidr(list, a.sourceIp(), a.sourceAddr);
  if (c.key == CondKey.RemoteIp) return anyCidr(list, a.remoteIp(), a.remoteAddr);
  return anyCidr(list, a.destinationIp(), a.destinationAddr);
}

/** `values` any-of and `notValues` none-of; an absent attribute matches only `notValues`. */
function conditionMatches(c: Condition, a: RequestAttrs): bool {
  switch (c.key) {
    case CondKey.AuthPrincipal: {
      const v = c.principals;
      if (v !== null && !matchesAnyPrincipal(v, a.principal, false)) return false;
      const nv = c.notPrincipals;
      return nv === null || !matchesAnyPrincipal(nv, a.principal, false);
    }
    case CondKey.DestinationPort: {
      const port = a.destinationPort();
      const v = c.ports;
      if (v !== null && !anyPort(v, port)) return false;
      const nv = c.notPorts;
      return nv === null || !anyPort(nv, port);
    }
    case CondKey.SourceIp:
    case CondKey.RemoteIp:
    case CondKey.DestinationIp: {
      if (c.cidrs !== null && !cidrsMatch(c, a, false)) return false;
      return c.notCidrs === null || !cidrsMatch(c, a, true);
    }
  }
  const v = c.values;
  if (v !== null && !stringsMatch(v, c, a)) return false;
  const nv = c.notValues;
  return nv === null || !stringsMatch(nv, c, a);
}

// ---- Rules and policies -----------------------------------------------------------------------------

function ruleMatches(r: Rule, a: RequestAttrs): bool {
  const sources = r.sources;
  if (sources.length > 0) {
    let any = false;
    for (let i = 0; i < sources.length && !any; i++) any = sourceMatches(unchecked(sources[i]), a);
    if (!any) return false;
  }
  const ops = r.operations;
  if (ops.length > 0) {
    let any = false;
    for (let i = 0; i < ops.length && !any; i++) any = operationMatches(unchecked(ops[i]), a);
    if (!any) return false;
  }
  const conds = r.conditions;
  for (let i = 0; i < conds.length; i++) {
    if (!conditionMatches(unchecked(conds[i]), a)) return false;
  }
  return true;
}

/** The index of the first matching rule, or -1. */
function matchingRule(pol: Policy, a: RequestAttrs): i32 {
  for (let i = 0; i < pol.rules.length; i++) {
    if (ruleMatches(unchecked(pol.rules[i]), a)) return i;
  }
  return -1;
}

function policyMatches(pol: Policy, a: RequestAttrs): bool {
  return matchingRule(pol, a) >= 0;
}

/** `METHOD /path` for a log line: no query string (a token may be there), at most 256 characters. */
export function requestLine(a: RequestAttrs): string {
  const line = a.method + " " + a.urlPath();
  return line.length > 256 ? line.substring(0, 256) + "…" : line;
}

/** AUDIT policies (counted `rbac.audit`, one log line each) and dry-run policies (Istio's shadow rules). */
function evaluateShadow(cfg: Config, a: RequestAttrs, stats: Stats | null): void {
  const policies = cfg.policies;
  let dryDeny = "";
  let dryAllow = "";
  let hasDryAllow = false;
  let hasDry = false;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    if (pol.action == PolicyAction.Audit) {
      if (policyMatches(pol, a)) {
        if (stats !== null) stats.rbacAudit.increment(1);
        log(LogLevelValues.info, "rbac: AUDIT policy " + pol.name + " matched " + requestLine(a));
      }
      continue;
    }
    if (!pol.dryRun) continue;
    hasDry = true;
    if (pol.action == PolicyAction.Deny) {
      if (dryDeny.length == 0 && policyMatches(pol, a)) dryDeny = pol.name;
    } else {
      hasDryAllow = true;
      if (dryAllow.length == 0 && policyMatches(pol, a)) dryAllow = pol.name;
    }
  }
  if (!hasDry) return;
  let denied = false;
  let by = "";
  if (dryDeny.length > 0) { denied = true; by = dryDeny; }
  else if (hasDryAllow && dryAllow.length == 0) { denied = true; by = "none"; }
  else by = dryAllow.length > 0 ? dryAllow : "none";
  if (stats !== null) (denied ? stats.rbacDryRunDenied : stats.rbacDryRunAllowed).increment(1);
  log(LogLevelValues.info, "rbac: dry-run " + (denied ? "denied" : "allowed") + " by policy " + by + ": " + requestLine(a));
}

/** One verdict per VM, reset on each call: the caller reads it at once (the request path allocates none). */
const VERDICT = new Verdict();

export function evaluatePolicies(cfg: Config, a: RequestAttrs, stats: Stats | null): Verdict {
  const v = VERDICT;
  v.allowed = true;
  v.policy = "";
  v.rule = -1;
  if (cfg.hasShadow) evaluateShadow(cfg, a, stats);
  const policies = cfg.policies;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    if (pol.action != PolicyAction.Deny || pol.dryRun) continue;
    const r = matchingRule(pol, a);
    if (r >= 0) {
      v.allowed = false;
      v.policy = pol.name;
      v.rule = r;
      return v;
    }
  }
  if (!cfg.hasAllow) return v;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    if (pol.action != PolicyAction.Allow || pol.dryRun) continue;
    const r = matchingRule(pol, a);
    if (r >= 0) {
      v.policy = pol.name;
      v.rule = r;
      return v;
    }
  }
  v.allowed = false;
  v.policy = "none";
  return v;
}

export { Principal };
