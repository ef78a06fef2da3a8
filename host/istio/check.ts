// Owns asking the filter itself which parts of a translated configuration it refuses: the module's own
// configuration reader runs in the local host (one VM, proxy_on_configure), and each refusal is reported
// at the YAML line it came from, then that part is taken out in the direction that denies more, and the
// filter asked again, until it accepts. So what the filter does not support yet is found by the filter's
// code, not by a list here that could fall behind it.
import { serve } from "../index";
import { HostError } from "../errors";
import type { IstioReport, IstioTranslation, SourceRef } from "./translate";

const REFUSAL = /invalid plugin configuration: (.*?): (.*)$/;
const MAX_ROUNDS = 256;

/** `policies[0].rules[1].to` -> ["policies", 0, "rules", 1, "to"]. */
export function parseConfigPath(text: string): Array<string | number> {
  const out: Array<string | number> = [];
  const re = /(?:^|\.)([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/** Runs proxy_on_configure once; resolves to the refusal line, or null when the filter accepts. */
async function configureOnce(wasm: string | Uint8Array, configuration: string): Promise<string | null> {
  const logs: string[] = [];
  try {
    const gw = await serve({ wasm, configuration, upstream: "http://127.0.0.1:9", port: 0, workers: 1, logLevel: "error", log: (l) => logs.push(l) });
    await gw.close();
    return null;
  } catch (e) {
    if (e instanceof HostError && e.code === "HOST_ERR_CONFIGURE_FAILED") {
      // The log line without its "[time][level] wasm log: " prefix.
      const line = logs.find((l) => REFUSAL.test(l));
      return line !== undefined ? line.slice(line.indexOf("invalid plugin configuration: ")) : logs.join(" | ") || e.message;
    }
    throw e;
  }
}

interface PolicyState {
  ref: SourceRef;
  /** Current index in entry.rules -> index in the YAML. */
  ruleOrigin: number[];
}

/**
 * Asks the filter (`wasm`) about `t.configuration`; every part it refuses is added to `t.reports` with its
 * file and line, and taken out of `t.configuration`, failing closed:
 * - a `jwtRules[]` entry is left out whole (its tokens then get 401 `Jwt issuer is not configured`, where
 *   leaving out only the field, e.g. `outputClaimToHeaders`, could let a client's own header through);
 * - in an ALLOW policy, the rule is left out (it allows less); with no rule left the policy allows nothing;
 * - in a DENY policy, the refused field of the source or operation, or the refused `from`/`to`/`when` of the
 *   rule, is left out (the rule matches more requests, so it denies more), as istiod does for DENY;
 * - a dry-run or AUDIT policy the filter refuses is left out (neither changes a decision);
 * - anything else in a policy: an ALLOW policy keeps no rules (allows nothing), a DENY policy becomes
 *   `rules: [{}]` (denies everything).
 * Throws HostError when the module cannot be loaded at all.
 */
export async function checkWithFilter(t: IstioTranslation, wasm: string | Uint8Array): Promise<void> {
  const cfg = t.configuration;
  const ruleRefs = [...t.sources.jwtRules];
  const pols: PolicyState[] = t.sources.policies.map((ref, i) => {
    const rules = cfg.policies[i].rules;
    return { ref, ruleOrigin: Array.isArray(rules) ? rules.map((_, j) => j) : [] };
  });
  const report = (ref: SourceRef | undefined, path: Array<string | number>, field: string, why: string) => {
    const r: IstioReport = ref
      ? { severity: "error", file: ref.file, line: ref.lineOf(path), resource: ref.resource, field, why }
      : { severity: "error", file: "<configuration>", line: 0, resource: "-", field, why };
    t.reports.push(r);
  };

  let last: string | null = null;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const refusal = await configureOnce(wasm, JSON.stringify(cfg));
    if (refusal === null) return;
    if (refusal === last) {
      // Taking the part out did not change the answer: stop rather than ask again.
      report(undefined, [], "configuration", `the filter still refuses the configuration: ${refusal}`);
      return;
    }
    last = refusal;
    const m = REFUSAL.exec(refusal);
    if (m === null) {
      report(undefined, [], "configuration", `the filter refuses the configuration: ${refusal}`);
      return;
    }
    const path = parseConfigPath(m[1]);
    const why = `${m[2]} (the filter refuses it)`;
    const [top, index, ...rest] = path;
    if (top === "jwtRules" && typeof index === "number" && index < cfg.jwtRules.length) {
      const ref = ruleRefs[index];
      report(ref, rest, fieldName(ref, rest), `${why}; the whole rule is left out`);
      cfg.jwtRules.splice(index, 1);
      ruleRefs.splice(index, 1);
      continue;
    }
    if (top === "policies" && typeof index === "number" && index < cfg.policies.length) {
      const entry = cfg.policies[index];
      const st = pols[index];
      const deny = entry.action === "DENY";
      if (entry.action === "AUDIT") {
        report(st.ref, rest, fieldName(st.ref, rest), `${why}; the AUDIT policy is left out (it never changes a decision)`);
        cfg.policies.splice(index, 1);
        pols.splice(index, 1);
        continue;
      }
      if (rest[0] === "rules" && typeof rest[1] === "number" && Array.isArray(entry.rules) && rest[1] < entry.rules.length) {
        const r = rest[1];
        const yamlRest = ["rules", st.ruleOrigin[r], ...rest.slice(2)];
        const rules = entry.rules as unknown[];
        if (!deny) {
          report(st.ref, yamlRest, fieldName(st.ref, yamlRest), `${why}; rule ${st.ruleOrigin[r]} of this ALLOW policy is left out (it allows less)`);
          rules.splice(r, 1);
          st.ruleOrigin.splice(r, 1);
          continue;
        }
        const rule = rules[r];
        const sub = rest.slice(2);
        if (isObj(rule) && (sub[0] === "from" || sub[0] === "to") && typeof sub[1] === "number" && typeof sub[3] === "string") {
          const holder = (rule[sub[0]] as unknown[])?.[sub[1]];
          const inner = isObj(holder) ? holder[sub[2] as string] : undefined;
          if (isObj(inner) && sub[3] in inner) {
            report(st.ref, yamlRest, fieldName(st.ref, yamlRest), `${why}; this field is left out of the DENY rule (it matches, so denies, more)`);
            delete inner[sub[3]];
            continue;
          }
        }
        if (isObj(rule) && typeof sub[0] === "string" && sub[0] in rule) {
          report(st.ref, yamlRest, fieldName(st.ref, yamlRest), `${why}; ${sub[0]} is left out of the DENY rule (it matches, so denies, more)`);
          delete rule[sub[0]];
          continue;
        }
        report(st.ref, yamlRest, fieldName(st.ref, yamlRest), `${why}; the DENY rule becomes {} (it denies everything)`);
        rules[r] = {};
        continue;
      }
      if (rest[0] === "dryRun" || entry.dryRun === true) {
        report(st.ref, rest, fieldName(st.ref, rest), `${why}; the dry-run policy is left out (it is never enforced)`);
        cfg.policies.splice(index, 1);
        pols.splice(index, 1);
        continue;
      }
      report(st.ref, rest, fieldName(st.ref, rest), deny ? `${why}; the DENY policy becomes rules: [{}] (it denies everything)` : `${why}; the ALLOW policy keeps no rules (it allows nothing)`);
      cfg.policies[index] = deny ? { name: entry.name, action: "DENY", rules: [{}] } : { name: entry.name, action: "ALLOW" };
      st.ruleOrigin = deny ? [-1] : [];
      continue;
    }
    report(undefined, [], m[1], `${m[2]} (the filter refuses it)`);
    return;
  }
  report(undefined, [], "configuration", `the filter still refuses the configuration after ${MAX_ROUNDS} rounds`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The field as written in the YAML: `spec.jwtRules[2].outputClaimToHeaders`, `spec.rules[0].to`. */
function fieldName(ref: SourceRef, path: Array<string | number>): string {
  if (path[0] === "dryRun") return 'metadata.annotations["istio.io/dry-run"]';
  let s = "";
  for (const seg of [...ref.yamlPath, ...path]) s += typeof seg === "number" ? `[${seg}]` : s === "" ? seg : `.${seg}`;
  return s;
}
