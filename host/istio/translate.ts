// Owns the translation of Istio security resources (RequestAuthentication + AuthorizationPolicy, as
// YAML) into the filter's plugin configuration. Two entry points:
// - translateIstio(yaml): every resource, whatever it selects: `jwtRules` from every
//   RequestAuthentication, one `policies[]` entry (named after metadata.name, the dry-run annotation
//   carried) from every AuthorizationPolicy (the demo and the walkthrough tests use it);
// - translateIstioWorkload(files, workload): what the `istio` command and `serve --istio` use: only the
//   resources that apply to one workload, entries named `<namespace>.<name>`, and a report with file and
//   line for everything that is not carried over.
// Fields are copied as they are; check.ts then asks the filter which of them it refuses.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from "yaml";

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
        policy[k] = k === "rules" ? qualifyServiceAccounts(v, typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default") : v;
      }
      const annotations = isObject(meta.annotations) ? meta.annotations : {};
      // istiod reads the annotation with Go's strconv.ParseBool; anything else leaves the policy enforced.
      if (typeof annotations["istio.io/dry-run"] === "string" && PARSE_BOOL_TRUE.has(annotations["istio.io/dry-run"])) policy.dryRun = true;
      out.policies.push(policy);
    } else {
      throw new Error(`unsupported resource kind: ${String(kind)}`);
    }
  }
  return out;
}

/**
 * Istio reads a bare service account (`sa`, no `/`) in `serviceAccounts`, `notServiceAccounts` and the
 * `source.serviceAccount` condition as one of the policy's own namespace; the plugin configuration has no
 * namespace, so the translator writes it out (`<namespace>/sa`). A copy: the YAML's objects are left as
 * they are. Anything malformed is copied unchanged for the filter to refuse.
 */
function qualifyServiceAccounts(rules: unknown, namespace: string): unknown {
  if (!Array.isArray(rules)) return rules;
  const qualify = (list: unknown): unknown =>
    Array.isArray(list) ? list.map((v) => (typeof v === "string" && v !== "" && !v.includes("/") && !v.includes("*") ? `${namespace}/${v}` : v)) : list;
  return rules.map((rule) => {
    if (!isObject(rule)) return rule;
    const out: Record<string, unknown> = { ...rule };
    if (Array.isArray(rule.from)) {
      out.from = rule.from.map((f) => {
        if (!isObject(f) || !isObject(f.source)) return f;
        const source: Record<string, unknown> = { ...f.source };
        for (const k of ["serviceAccounts", "notServiceAccounts"]) if (k in source) source[k] = qualify(source[k]);
        return { ...f, source };
      });
    }
    if (Array.isArray(rule.when)) {
      out.when = rule.when.map((c) => {
        if (!isObject(c) || c.key !== "source.serviceAccount") return c;
        const cond: Record<string, unknown> = { ...c };
        for (const k of ["values", "notValues"]) if (k in cond) cond[k] = qualify(cond[k]);
        return cond;
      });
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------
// Workload translation (the `istio` command and `serve --istio`): which resources apply to one
// workload, as istiod decides it, and a report, with file and line, for everything that cannot be
// carried into the plugin configuration.

/** The workload the resources are translated for. */
export interface Workload {
  /** The workload's namespace (`--namespace`, default "default"); also the namespace of a resource without one. */
  namespace: string;
  /** The workload's labels (`--selector k=v`). */
  labels: Record<string, string>;
  /** Istio's root namespace (`--root-namespace`, default "istio-system"). */
  rootNamespace: string;
  /** Service names the workload is reached as (`--service`): targetRefs of kind Service or ServiceEntry. */
  services: string[];
  /** Gateway names the workload is (`--gateway`): targetRefs of kind Gateway. */
  gateways: string[];
  /** GatewayClass names of the workload's gateway (`--gateway-class`): targetRefs of kind GatewayClass. */
  gatewayClasses: string[];
}

export const DEFAULT_WORKLOAD: Workload = {
  namespace: "default",
  labels: {},
  rootNamespace: "istio-system",
  services: [],
  gateways: [],
  gatewayClasses: [],
};

export interface IstioSource {
  /** Shown in reports. */
  file: string;
  text: string;
}

/**
 * One thing the translator could not carry over. `error`s make the `istio` command and `serve --istio`
 * fail unless `--allow-partial`; `note`s (a resource of another kind, a targetRef naming another
 * service than the one given) are shown but change nothing.
 */
export interface IstioReport {
  severity: "error" | "note";
  file: string;
  line: number;
  /** `<kind>/<namespace>/<name>`, or "-" when the document is not a resource. */
  resource: string;
  field: string;
  why: string;
}

export function formatReport(r: IstioReport): string {
  return `${r.file}:${r.line}: ${r.resource}: ${r.field}: ${r.why}`;
}

/** Where each part of the configuration came from, to report what the filter refuses at its source. */
export interface SourceRef {
  file: string;
  resource: string;
  /** Line of a configuration path below this entry (e.g. ["rules", 0, "to"]), or the entry's line. */
  lineOf(path: Array<string | number>): number;
  /** The YAML path the entry's own fields live under (e.g. ["spec", "jwtRules", 2] or ["spec"]). */
  yamlPath: Array<string | number>;
}

export interface IstioTranslation {
  configuration: PluginConfiguration;
  reports: IstioReport[];
  /** The resources that were applied, as `<kind>/<namespace>/<name>` with file:line. */
  applied: string[];
  /** For each jwtRules[i] and policies[i], where it came from. */
  sources: { jwtRules: SourceRef[]; policies: SourceRef[] };
}

const SECURITY_API_VERSIONS = new Set(["security.istio.io/v1", "security.istio.io/v1beta1"]);
const TARGET_KINDS = new Set(["Service", "ServiceEntry", "Gateway", "GatewayClass"]);
const ACTIONS = new Set(["ALLOW", "DENY", "AUDIT", "CUSTOM"]);
/** What Go's strconv.ParseBool reads as true and false. */
const PARSE_BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const PARSE_BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** The 1-based line of the node at `path` in a document: the key's line for a map entry, else the node's. */
function lineAt(doc: Document.Parsed, lc: LineCounter, path: Array<string | number>): number {
  let node: unknown = doc.contents;
  let line = lc.linePos((doc.contents?.range ?? doc.range)[0]).line;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (pair === undefined) break;
      const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
      if (keyRange) line = lc.linePos(keyRange[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined) break;
      const r = (item as { range?: [number, number, number] }).range;
      if (r) line = lc.linePos(r[0]).line;
      node = item;
    } else break;
  }
  return line;
}

function labelsMatch(matchLabels: Record<string, unknown>, labels: Record<string, string>): boolean {
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

/** UTF-8 byte order, as Go's strings.Compare that istiod sorts issuers with. */
function compareIssuers(a: unknown, b: unknown): number {
  return Buffer.compare(Buffer.from(typeof a === "string" ? a : ""), Buffer.from(typeof b === "string" ? b : ""));
}

interface Parsed {
  src: IstioSource;
  doc: Document.Parsed;
  lc: LineCounter;
  res: Record<string, unknown>;
  kind: string;
  namespace: string;
  name: string;
  resource: string;
  line: number;
}

/**
 * Translates RequestAuthentication and AuthorizationPolicy resources (any number of files, each
 * multi-document YAML; security.istio.io v1 and v1beta1) into the plugin configuration of one workload.
 *
 * Applicability is istiod's (`getConfigsForWorkload`): a resource applies when it is in the root
 * namespace or the workload's namespace and has no selector, or its `selector.matchLabels` are all among
 * the workload's labels (a root-namespace selector matches in every namespace); a resource with
 * `targetRef`/`targetRefs` applies when one of them names the workload's service, gateway or gateway
 * class. `jwtRules` of every applicable RequestAuthentication are concatenated and stably sorted by
 * issuer, as istiod sorts them (rules with the same issuer are alternatives for the filter, tried in this
 * order). Each applicable AuthorizationPolicy becomes `policies[]` entry `<namespace>.<name>`.
 */
export function translateIstioWorkload(sources: IstioSource[], workload: Workload = DEFAULT_WORKLOAD): IstioTranslation {
  const reports: IstioReport[] = [];
  const applied: string[] = [];
  const parsed: Parsed[] = [];
  const seen = new Map<string, Parsed>();

  for (const src of sources) {
    const lc = new LineCounter();
    const docs = parseAllDocuments(src.text, { lineCounter: lc, keepSourceTokens: true });
    for (const doc of docs) {
      const firstLine = lc.linePos((doc.contents?.range ?? doc.range)[0]).line;
      const report = (line: number, resource: string, field: string, why: string, severity: "error" | "note" = "error") =>
        reports.push({ severity, file: src.file, line, resource, field, why });
      if (doc.errors.length > 0) {
        const e = doc.errors[0];
        report(e.linePos ? e.linePos[0].line : firstLine, "-", "yaml", e.message.split("\n")[0]);
        continue;
      }
      const res = doc.toJS() as unknown;
      if (res === null || res === undefined) continue;
      if (!isObject(res)) {
        report(firstLine, "-", "document", "not a Kubernetes resource (a mapping with kind and metadata)");
        continue;
      }
      const kind = typeof res.kind === "string" ? res.kind : "";
      const meta = isObject(res.metadata) ? res.metadata : {};
      const name = typeof meta.name === "string" ? meta.name : "";
      const namespace = typeof meta.namespace === "string" && meta.namespace !== "" ? meta.namespace : workload.namespace;
      const resource = `${kind || "?"}/${namespace}/${name || "?"}`;
      const line = firstLine;
      if (kind !== "RequestAuthentication" && kind !== "AuthorizationPolicy") {
        report(lineAt(doc, lc, ["kind"]), resource, "kind", "not a RequestAuthentication or AuthorizationPolicy; ignored", "note");
        continue;
      }
      if (!SECURITY_API_VERSIONS.has(String(res.apiVersion))) {
        report(lineAt(doc, lc, ["apiVersion"]), resource, "apiVersion", `${JSON.stringify(res.apiVersion ?? null)} is not security.istio.io/v1 or v1beta1; left out`);
        continue;
      }
      if (name === "") {
        report(lineAt(doc, lc, ["metadata"]), resource, "metadata.name", "required; left out");
        continue;
      }
      const p: Parsed = { src, doc, lc, res, kind, namespace, name, resource, line };
      const key = resource;
      const before = seen.get(key);
      if (before !== undefined) {
        report(line, resource, "metadata.name", `defined again (first at ${before.src.file}:${before.line}); this later one is used, as kubectl apply would`);
        parsed.splice(parsed.indexOf(before), 1);
      }
      seen.set(key, p);
      parsed.push(p);
    }
  }

  const rules: Array<{ rule: Record<string, unknown>; ref: SourceRef }> = [];
  const policies: Array<Record<string, unknown>> = [];
  const policySources: SourceRef[] = [];

  for (const p of parsed) {
    const { doc, lc, res, kind, namespace, resource } = p;
    const file = p.src.file;
    const report = (path: Array<string | number>, field: string, why: string, severity: "error" | "note" = "error") =>
      reports.push({ severity, file, line: lineAt(doc, lc, path), resource, field, why });
    const specRaw = res.spec;
    if (specRaw !== undefined && specRaw !== null && !isObject(specRaw)) {
      report(["spec"], "spec", "must be a mapping; left out");
      continue;
    }
    const spec: Record<string, unknown> = isObject(specRaw) ? specRaw : {};

    // Which workloads it applies to.
    const hasSelector = spec.selector !== undefined && spec.selector !== null;
    const refs: Array<{ value: unknown; path: Array<string | number>; field: string }> = [];
    if (spec.targetRef !== undefined && spec.targetRef !== null) refs.push({ value: spec.targetRef, path: ["spec", "targetRef"], field: "spec.targetRef" });
    if (spec.targetRefs !== undefined && spec.targetRefs !== null) {
      if (!Array.isArray(spec.targetRefs)) {
        report(["spec", "targetRefs"], "spec.targetRefs", "must be a list; left out");
        continue;
      }
      spec.targetRefs.forEach((v, i) => refs.push({ value: v, path: ["spec", "targetRefs", i], field: `spec.targetRefs[${i}]` }));
    }
    if (hasSelector && refs.length > 0) {
      report(["spec", "selector"], "spec.selector", "selector and targetRef(s) cannot both be set (Istio refuses the resource); left out");
      continue;
    }
    if (refs.length > 0) {
      const inRoot = namespace === workload.rootNamespace;
      let applies = false;
      let bad = false;
      const misses: string[] = [];
      for (const ref of refs) {
        const v = ref.value;
        if (!isObject(v) || typeof v.kind !== "string" || typeof v.name !== "string") {
          report(ref.path, ref.field, "must have kind and name; left out");
          bad = true;
          break;
        }
        if (!TARGET_KINDS.has(v.kind)) {
          report(ref.path, `${ref.field}.kind`, `${v.kind} is not Service, ServiceEntry, Gateway or GatewayClass; left out`);
          bad = true;
          break;
        }
        if (typeof v.namespace === "string" && v.namespace !== "" && v.namespace !== namespace) {
          report(ref.path, `${ref.field}.namespace`, `must be the resource's own namespace ${namespace}; left out`);
          bad = true;
          break;
        }
        const byKind: Record<string, { names: string[]; flag: string; nsOk: boolean }> = {
          Service: { names: workload.services, flag: "--service", nsOk: namespace === workload.namespace },
          ServiceEntry: { names: workload.services, flag: "--service", nsOk: namespace === workload.namespace },
          Gateway: { names: workload.gateways, flag: "--gateway", nsOk: namespace === workload.namespace },
          GatewayClass: { names: workload.gatewayClasses, flag: "--gateway-class", nsOk: inRoot },
        };
        const k = byKind[v.kind];
        if (k.names.includes(v.name) && k.nsOk) applies = true;
        else misses.push(`${v.kind}/${v.name}`);
      }
      if (bad) continue;
      if (!applies) {
        const given = [...workload.services.map((s) => `--service ${s}`), ...workload.gateways.map((g) => `--gateway ${g}`), ...workload.gatewayClasses.map((g) => `--gateway-class ${g}`)];
        const key = spec.targetRefs !== undefined && spec.targetRefs !== null ? "targetRefs" : "targetRef";
        if (given.length === 0) {
          report(["spec", key], `spec.${key}`, `not applied: it targets ${misses.join(", ")}; give the workload's --service, --gateway or --gateway-class to apply it`);
        } else {
          report(["spec", key], `spec.${key}`, `not applied: it targets ${misses.join(", ")}, not the workload (${given.join(", ")} in namespace ${workload.namespace})`, "note");
        }
        continue;
      }
    } else {
      if (namespace !== workload.namespace && namespace !== workload.rootNamespace) continue;
      if (hasSelector) {
        const sel = spec.selector;
        if (!isObject(sel) || (sel.matchLabels !== undefined && sel.matchLabels !== null && !isObject(sel.matchLabels))) {
          report(["spec", "selector"], "spec.selector", "must be {matchLabels: {...}}; left out");
          continue;
        }
        const extra = Object.keys(sel).filter((k) => k !== "matchLabels");
        if (extra.length > 0) {
          report(["spec", "selector", extra[0]], `spec.selector.${extra[0]}`, "unknown field (Istio's WorkloadSelector has only matchLabels); left out");
          continue;
        }
        const matchLabels = isObject(sel.matchLabels) ? sel.matchLabels : {};
        if (!labelsMatch(matchLabels, workload.labels)) continue;
      }
    }
    const where = `${resource} (${file}:${p.line})`;

    if (kind === "RequestAuthentication") {
      for (const k of Object.keys(spec)) {
        if (k === "selector" || k === "targetRef" || k === "targetRefs" || k === "jwtRules") continue;
        report(["spec", k], `spec.${k}`, "unknown field of RequestAuthentication; ignored");
      }
      if (spec.jwtRules !== undefined && spec.jwtRules !== null && !Array.isArray(spec.jwtRules)) {
        report(["spec", "jwtRules"], "spec.jwtRules", "must be a list; left out");
        continue;
      }
      applied.push(where);
      if (!Array.isArray(spec.jwtRules)) continue;
      spec.jwtRules.forEach((r, i) => {
        if (!isObject(r)) {
          report(["spec", "jwtRules", i], `spec.jwtRules[${i}]`, "must be a mapping; left out");
          return;
        }
        const yamlPath = ["spec", "jwtRules", i];
        rules.push({ rule: { ...r }, ref: { file, resource, yamlPath, lineOf: (path) => lineAt(doc, lc, [...yamlPath, ...path]) } });
      });
    } else {
      const entryName = `${namespace}.${p.name}`;
      const action = spec.action;
      if (action !== undefined && action !== null && (typeof action !== "string" || !ACTIONS.has(action))) {
        report(["spec", "action"], "spec.action", `${JSON.stringify(action)} is not ALLOW, DENY, AUDIT or CUSTOM; left out`);
        continue;
      }
      if (action === "CUSTOM") {
        report(["spec", "action"], "spec.action", "CUSTOM (an external authorizer) is not supported by the filter; left out");
        continue;
      }
      const entry: Record<string, unknown> = { name: entryName };
      if (typeof action === "string") entry.action = action;
      if (spec.rules !== undefined && spec.rules !== null) entry.rules = qualifyServiceAccounts(spec.rules, namespace);
      for (const k of Object.keys(spec)) {
        if (k === "selector" || k === "targetRef" || k === "targetRefs" || k === "action" || k === "rules") continue;
        if (k === "provider") report(["spec", k], "spec.provider", "only meaningful with action CUSTOM; ignored");
        else report(["spec", k], `spec.${k}`, "unknown field of AuthorizationPolicy; ignored");
      }
      const annotations = isObject((res.metadata as Record<string, unknown>).annotations) ? ((res.metadata as Record<string, unknown>).annotations as Record<string, unknown>) : {};
      const dryRun = annotations["istio.io/dry-run"];
      if (dryRun !== undefined) {
        // istiod reads the annotation with Go's strconv.ParseBool.
        if (typeof dryRun === "string" && PARSE_BOOL_TRUE.has(dryRun)) entry.dryRun = true;
        else if (typeof dryRun !== "string" || !PARSE_BOOL_FALSE.has(dryRun)) {
          report(["metadata", "annotations", "istio.io/dry-run"], 'metadata.annotations["istio.io/dry-run"]', `${JSON.stringify(dryRun)} is not a boolean string ("true" or "false"); the policy is enforced`);
        }
      }
      policies.push(entry);
      applied.push(where);
      const yamlPath = ["spec"];
      policySources.push({ file, resource, yamlPath, lineOf: (path) => lineAt(doc, lc, path.length === 0 ? [] : path[0] === "dryRun" ? ["metadata", "annotations", "istio.io/dry-run"] : path[0] === "name" ? ["metadata", "name"] : [...yamlPath, ...path]) });
    }
  }

  // istiod sorts the rules by issuer; JavaScript's sort is stable, so same-issuer rules keep file order.
  rules.sort((a, b) => compareIssuers(a.rule.issuer, b.rule.issuer));
  return {
    configuration: { jwtRules: rules.map((r) => r.rule), policies },
    reports,
    applied,
    sources: { jwtRules: rules.map((r) => r.ref), policies: policySources },
  };
}
