// Owns the authorization verdict (Istio's order): any matching DENY policy denies; with no ALLOW
// policy the request is allowed; a matching ALLOW policy allows; otherwise it is denied.
import { Config, Policy, PolicyAction, Rule, Source } from "../config/config";
import { Principal, matchesAnyPrincipal } from "./principal";

export class Verdict {
  allowed: bool = true;
  /** Envoy's response-code details policy id: the matching DENY policy, or "none" when no ALLOW matched. */
  policy: string = "";
}

function sourceMatches(s: Source, p: Principal): bool {
  const rp = s.requestPrincipals;
  if (rp !== null && !matchesAnyPrincipal(rp, p)) return false;
  const nrp = s.notRequestPrincipals;
  if (nrp !== null && matchesAnyPrincipal(nrp, p)) return false;
  return true;
}

function ruleMatches(r: Rule, p: Principal): bool {
  if (r.sources.length == 0) return true;
  for (let i = 0; i < r.sources.length; i++) {
    if (sourceMatches(unchecked(r.sources[i]), p)) return true;
  }
  return false;
}

function policyMatches(pol: Policy, p: Principal): bool {
  for (let i = 0; i < pol.rules.length; i++) {
    if (ruleMatches(unchecked(pol.rules[i]), p)) return true;
  }
  return false;
}

export function evaluatePolicies(cfg: Config, p: Principal): Verdict {
  const v = new Verdict();
  const policies = cfg.policies;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    if (pol.action == PolicyAction.Deny && policyMatches(pol, p)) {
      v.allowed = false;
      v.policy = pol.name;
      return v;
    }
  }
  if (!cfg.hasAllow) return v;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    if (pol.action == PolicyAction.Allow && policyMatches(pol, p)) {
      v.policy = pol.name;
      return v;
    }
  }
  v.allowed = false;
  v.policy = "none";
  return v;
}
