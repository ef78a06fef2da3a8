// Owns explaining a verdict: for every policy and every rule, whether it matched the request or the
// first field that did not, named as in the AuthorizationPolicy (`rule1 to[0].operation.paths`). It runs
// the same matchers as the verdict (policy.ts returns a `Miss`, not a bool), and only when the
// configuration asks for debug headers, so the request path of a production configuration never pays
// for it. `check` prints it as "why the others did not match".
import { Config, Policy, PolicyAction, Rule } from "../config/config";
import { RequestAttrs } from "./attributes";
import { Miss, sourceMiss, operationMiss, conditionMiss } from "./policy";
import { debugWord } from "../util/words";

/** The response header that carries the explanation (with `debugHeaders`). */
export const EXPLAIN_HEADER = "x-jwt-authn-policies";

/** An explanation longer than this is cut ("..." marks the cut): a header stays well inside Envoy's limits. */
const MAX_EXPLANATION = 8192;

function missName(m: Miss): string {
  switch (m) {
    case Miss.RequestPrincipals: return "requestPrincipals";
    case Miss.NotRequestPrincipals: return "notRequestPrincipals";
    case Miss.IpBlocks: return "ipBlocks";
    case Miss.NotIpBlocks: return "notIpBlocks";
    case Miss.RemoteIpBlocks: return "remoteIpBlocks";
    case Miss.NotRemoteIpBlocks: return "notRemoteIpBlocks";
    case Miss.Principals: return "principals";
    case Miss.NotPrincipals: return "notPrincipals";
    case Miss.Namespaces: return "namespaces";
    case Miss.NotNamespaces: return "notNamespaces";
    case Miss.ServiceAccounts: return "serviceAccounts";
    case Miss.NotServiceAccounts: return "notServiceAccounts";
    case Miss.Methods: return "methods";
    case Miss.NotMethods: return "notMethods";
    case Miss.Hosts: return "hosts";
    case Miss.NotHosts: return "notHosts";
    case Miss.Paths: return "paths";
    case Miss.NotPaths: return "notPaths";
    case Miss.Ports: return "ports";
    case Miss.NotPorts: return "notPorts";
    case Miss.Values: return "values";
    case Miss.NotValues: return "notValues";
  }
  return "?";
}

/** "" when the rule matches; else the failing clause: `from[0].source.requestPrincipals|from[1].source.ipBlocks`, `to[0].operation.paths`, `when[2](request.headers[x]).values`. */
export function ruleMissText(r: Rule, a: RequestAttrs): string {
  const sources = r.sources;
  if (sources.length > 0) {
    let why = "";
    for (let i = 0; i < sources.length; i++) {
      const m = sourceMiss(unchecked(sources[i]), a);
      if (m == Miss.None) { why = ""; break; }
      why += (why.length > 0 ? "|" : "") + "from[" + i.toString() + "].source." + missName(m);
    }
    if (why.length > 0) return why;
  }
  const ops = r.operations;
  if (ops.length > 0) {
    let why = "";
    for (let i = 0; i < ops.length; i++) {
      const m = operationMiss(unchecked(ops[i]), a);
      if (m == Miss.None) { why = ""; break; }
      why += (why.length > 0 ? "|" : "") + "to[" + i.toString() + "].operation." + missName(m);
    }
    if (why.length > 0) return why;
  }
  const conds = r.conditions;
  for (let i = 0; i < conds.length; i++) {
    const c = unchecked(conds[i]);
    const m = conditionMiss(c, a);
    if (m != Miss.None) return "when[" + i.toString() + "](" + debugWord(c.keyText) + ")." + missName(m);
  }
  return "";
}

function actionName(p: Policy): string {
  const a = p.action == PolicyAction.Deny ? "DENY" : p.action == PolicyAction.Audit ? "AUDIT" : "ALLOW";
  return p.dryRun ? a + "(dry-run)" : a;
}

/**
 * Every policy in order: `name ACTION: rule0 <why>, rule1 matched`; policies joined by "; ". A policy
 * without rules reads `no rules` (an ALLOW policy without rules matches nothing).
 */
export function explainPolicies(cfg: Config, a: RequestAttrs): string {
  let out = "";
  const policies = cfg.policies;
  for (let i = 0; i < policies.length; i++) {
    const pol = unchecked(policies[i]);
    let part = debugWord(pol.name) + " " + actionName(pol) + ":";
    if (pol.rules.length == 0) part += " no rules";
    for (let j = 0; j < pol.rules.length; j++) {
      const why = ruleMissText(unchecked(pol.rules[j]), a);
      part += (j > 0 ? "," : "") + " rule" + j.toString() + " " + (why.length == 0 ? "matched" : why);
    }
    out += (i > 0 ? "; " : "") + part;
    if (out.length > MAX_EXPLANATION) return out.substring(0, MAX_EXPLANATION) + "...";
  }
  return out;
}
