// Owns the authorization verdict (Istio's order): any matching DENY policy denies; with no ALLOW
// policy the request is allowed; a matching ALLOW policy allows; otherwise it is denied. AUDIT policies
// and dry-run policies are evaluated too, counted and logged, and never decide. A rule matches when its
// `from` (OR over sources), `to` (OR over operations) and `when` (AND over conditions) all match.
import { requestLogLine } from "../util/words";
import { log, LogLevelValues } from "@solo-io/proxy-runtime/assembly";
import {
  Config, Policy, PolicyAction, Rule, Source, Operation, Condition, CondKey, StringMatch, PathMatch,
} from "../config/config";
import { matchesAnyPrincipal } from "./principal";
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
  /** The deciding rule's tag (Rule.tag), or one of the fixed tags below: the request's `jwt_authn_decision` filter state. */
  tag: ArrayBuffer = NO_DENY_MATCHED;
}

/** Allowed: no ALLOW policy, and no DENY policy matched. */
const NO_DENY_MATCHED = String.UTF8.encode("allow no-deny-matched");
/** Denied: ALLOW policies exist and none matched (Envoy's policy id "none"). */
const NO_ALLOW_MATCHED = String.UTF8.encode("deny-no-allow-matched");

// ---- Sources ----------------------------------------------------------------------------------------

/** Envoy's RBAC `authenticated` matcher: any of the peer's identities (URI SAN, DNS SAN, subject) matches. */
function peerMatches(list: StringMatch[], a: RequestAttrs): bool {
  const ids = a.peerIdentities();
  for (let i = 0; i < ids.length; i++) if (anyMatches(list, unchecked(ids[i]), true)) return true;
  return false;
}


/**
 * The first field of a rule's clause that fails for the request, or `Miss.None`: the matchers return it
 * (not a bool) so `explain.ts` names why a rule did not match with the very code that decided it.
 */
export const enum Miss {
  None = 0,
  RequestPrincipals, NotRequestPrincipals, IpBlocks, NotIpBlocks, RemoteIpBlocks, NotRemoteIpBlocks,
  Principals, NotPrincipals, Namespaces, NotNamespaces, ServiceAccounts, NotServiceAccounts,
  Methods, NotMethods, Hosts, NotHosts, Paths, NotPaths, Ports, NotPorts,
  Values, NotValues,
}

export function sourceMiss(s: Source, a: RequestAttrs): Miss {
  const p = a.jwt;
  const rp = s.requestPrincipals;
  if (rp !== null && !matchesAnyPrincipal(rp, p, s.allowMissingSub)) return Miss.RequestPrincipals;
  const nrp = s.notRequestPrincipals;
  if (nrp !== null && matchesAnyPrincipal(nrp, p, s.allowMissingSub)) return Miss.NotRequestPrincipals;
  const ib = s.ipBlocks;
  if (ib !== null && !anyCidr(ib, a.sourceIp(), a.sourceAddr)) return Miss.IpBlocks;
  const nib = s.notIpBlocks;
  if (nib !== null && anyCidr(nib, a.sourceIp(), a.sourceAddr)) return Miss.NotIpBlocks;
  const rb = s.remoteIpBlocks;
  if (rb !== null && !anyCidr(rb, a.remoteIp(), a.remoteAddr)) return Miss.RemoteIpBlocks;
  const nrb = s.notRemoteIpBlocks;
  if (nrb !== null && anyCidr(nrb, a.remoteIp(), a.remoteAddr)) return Miss.NotRemoteIpBlocks;
  const pr = s.principals;
  if (pr !== null && !peerMatches(pr, a)) return Miss.Principals;
  const npr = s.notPrincipals;
  if (npr !== null && peerMatches(npr, a)) return Miss.NotPrincipals;
  const ns = s.namespaces;
  if (ns !== null && !peerMatches(ns, a)) return Miss.Namespaces;
  const nns = s.notNamespaces;
  if (nns !== null && peerMatches(nns, a)) return Miss.NotNamespaces;
  const sa = s.serviceAccounts;
  if (sa !== null && !peerMatches(sa, a)) return Miss.ServiceAccounts;
  const nsa = s.notServiceAccounts;
  if (nsa !== null && peerMatches(nsa, a)) return Miss.NotServiceAccounts;
  return Miss.None;
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

export function operationMiss(o: Operation, a: RequestAttrs): Miss {
  const m = o.methods;
  if (m !== null && !anyMatches(m, a.method, a.method.length > 0)) return Miss.Methods;
  const nm = o.notMethods;
  if (nm !== null && anyMatches(nm, a.method, a.method.length > 0)) return Miss.NotMethods;
  const h = o.hosts;
  if (h !== null && !anyMatches(h, a.host(), a.authority.length > 0)) return Miss.Hosts;
  const nh = o.notHosts;
  if (nh !== null && anyMatches(nh, a.host(), a.authority.length > 0)) return Miss.NotHosts;
  const p = o.paths;
  if (p !== null && !anyPath(p, a)) return Miss.Paths;
  const np = o.notPaths;
  if (np !== null && anyPath(np, a)) return Miss.NotPaths;
  const pt = o.ports;
  if (pt !== null && !anyPort(pt, a.destinationPort())) return Miss.Ports;
  const npt = o.notPorts;
  if (npt !== null && anyPort(npt, a.destinationPort())) return Miss.NotPorts;
  return Miss.None;
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
    case CondKey.SourcePrincipal:
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
export function conditionMiss(c: Condition, a: RequestAttrs): Miss {
  switch (c.key) {
    case CondKey.AuthPrincipal: {
      const v = c.principals;
      if (v !== null && !matchesAnyPrincipal(v, a.jwt, false)) return Miss.Values;
      const nv = c.notPrincipals;
      return nv === null || !matchesAnyPrincipal(nv, a.jwt, false) ? Miss.None : Miss.NotValues;
    }
    case CondKey.DestinationPort: {
      const port = a.destinationPort();
      const v = c.ports;
      if (v !== null && !anyPort(v, port)) return Miss.Values;
      const nv = c.notPorts;
      return nv === null || !anyPort(nv, port) ? Miss.None : Miss.NotValues;
    }
    case CondKey.SourceIp:
    case CondKey.RemoteIp:
    case CondKey.DestinationIp: {
      if (c.cidrs !== null && !cidrsMatch(c, a, false)) return Miss.Values;
      return c.notCidrs === null || !cidrsMatch(c, a, true) ? Miss.None : Miss.NotValues;
    }
  }
  const v = c.values;
  if (v !== null && !stringsMatch(v, c, a)) return Miss.Values;
  const nv = c.notValues;
  return nv === null || !stringsMatch(nv, c, a) ? Miss.None : Miss.NotValues;
}

// ---- Rules and policies -----------------------------------------------------------------------------

function ruleMatches(r: Rule, a: RequestAttrs): bool {
  const sources = r.sources;
  if (sources.length > 0) {
    let any = false;
    for (let i = 0; i < sources.length && !any; i++) any = sourceMiss(unchecked(sources[i]), a) == Miss.None;
    if (!any) return false;
  }
  const ops = r.operations;
  if (ops.length > 0) {
    let any = false;
    for (let i = 0; i < ops.length && !any; i++) any = operationMiss(unchecked(ops[i]), a) == Miss.None;
    if (!any) return false;
  }
  const conds = r.conditions;
  for (let i = 0; i < conds.length; i++) {
    if (conditionMiss(unchecked(conds[i]), a) != Miss.None) return false;
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
  return requestLogLine(a.method, a.urlPath());
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
  v.tag = NO_DENY_MATCHED;
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
      v.tag = unchecked(pol.rules[r]).tag;
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
      v.tag = unchecked(pol.rules[r]).tag;
      return v;
    }
  }
  v.allowed = false;
  v.policy = "none";
  v.tag = NO_ALLOW_MATCHED;
  return v;
}

