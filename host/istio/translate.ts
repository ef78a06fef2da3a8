// Owns the translation of Istio security resources (RequestAuthentication + AuthorizationPolicy, as
// YAML) into the filter's plugin configuration: `jwtRules` from every RequestAuthentication, one
// `policies[]` entry (named after metadata.name) from every AuthorizationPolicy. Fields are copied as
// they are, so the filter itself rejects anything it does not support.
import { parseAllDocuments } from "yaml";

export interface PluginConfiguration {
  jwtRules: Array<Record<string, unknown>>;
  policies: Array<Record<string, unknown>>;
}

export interface TranslateOptions {
  /** Sets `jwksCluster` for rules whose jwksUri matches a key (e.g. to point Istio's URI at a local server). */
  jwksClusters?: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function translateIstio(yamlText: string, opts: TranslateOptions = {}): PluginConfiguration {
  const out: PluginConfiguration = { jwtRules: [], policies: [] };
  for (const doc of parseAllDocuments(yamlText)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0].message}`);
    const res = doc.toJS() as unknown;
    if (res === null || res === undefined) continue;
    if (!isObject(res)) throw new Error("each YAML document must be a Kubernetes resource");
    const kind = res.kind;
    const meta = isObject(res.metadata) ? res.metadata : {};
    const spec = isObject(res.spec) ? res.spec : {};
    if (kind === "RequestAuthentication") {
      const rules = Array.isArray(spec.jwtRules) ? spec.jwtRules : [];
      for (const r of rules) {
        if (!isObject(r)) throw new Error("jwtRules entries must be objects");
        const rule: Record<string, unknown> = { ...r };
        const uri = typeof rule.jwksUri === "string" ? rule.jwksUri : undefined;
        if (uri !== undefined && opts.jwksClusters && opts.jwksClusters[uri] !== undefined) {
          rule.jwksCluster = opts.jwksClusters[uri];
        }
        out.jwtRules.push(rule);
      }
    } else if (kind === "AuthorizationPolicy") {
      const policy: Record<string, unknown> = { name: typeof meta.name === "string" ? meta.name : `policy-${out.policies.length}` };
      for (const [k, v] of Object.entries(spec)) {
        if (k === "selector" || k === "targetRef" || k === "targetRefs") continue; // workload selection is the deployer's job
        policy[k] = v;
      }
      out.policies.push(policy);
    } else {
      throw new Error(`unsupported resource kind: ${String(kind)}`);
    }
  }
  return out;
}
