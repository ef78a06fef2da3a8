// Owns reading one `policies[]` entry (Istio's AuthorizationPolicy spec, plus a `name`) into a compiled
// Policy: action, rules, sources. Every mistake names its field; what is not supported yet is refused.
import { JsonValue } from "../util/json";
import { Policy, PolicyAction, Rule, Source, PrincipalMatch } from "./config";
import { Reader } from "./reader";
import { compilePrincipal } from "../authz/principal";

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

export function readPolicy(r: Reader, v: JsonValue, index: i32): Policy | null {
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
