// `jwt-authn-wasm istio FILES...` and `serve --istio FILES...`: which Istio resources apply to a workload
// (selector, namespace, root namespace, targetRef(s)), how each becomes plugin configuration, every report
// as FILE:LINE: KIND/NS/NAME: FIELD: WHY, the three output formats against files kept under
// fixtures/istio/expected/, the filter's own configuration reader as the judge of what it supports, and a
// round trip: the walkthrough YAML -> --format config -> serve --config answers as serve --istio does.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { main, serveOptionsFromArgs, IstioReportError, type CliIo } from "../../host/cli";
import type { Gateway } from "../../host/index";
import { DEFAULT_WORKLOAD, formatReport, translateIstioWorkload, type Workload } from "../../host/istio/translate";
import { parseConfigPath } from "../../host/istio/check";
import { startBackend, startJwksServer, request, type Backend, type JwksServer, type Reply } from "../helpers/servers";
import { makeRsaKey, sign, nowS } from "../helpers/tokens";

const ROOT = path.resolve(__dirname, "..", "..");
const FIX = path.relative(process.cwd(), path.join(__dirname, "fixtures", "istio"));
const EXPECTED = path.join(__dirname, "fixtures", "istio", "expected");
const WALKTHROUGH = path.relative(process.cwd(), path.join(ROOT, "envoy", "istio", "jwt-walkthrough.yaml"));
const WASM = process.env.JWT_AUTHN_WASM ?? path.join(ROOT, "build", "jwt_authn.wasm");
const SAMPLES = path.join(ROOT, "tests", "vectors", "istio", "samples");
const JWKS_CLUSTER = "outbound|443||raw.githubusercontent.com";

function io(untilShutdown?: CliIo["untilShutdown"]): CliIo & { out: (t: string) => void; stdout: () => string; stderr: string[] } {
  const outText: string[] = [];
  const stderr: string[] = [];
  return { out: (t) => outText.push(t), err: (t) => stderr.push(t), env: {}, untilShutdown, stdout: () => outText.join(""), stderr };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-istio-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a YAML file to the temporary directory; returns its path. */
function yamlFile(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const wl = (w: Partial<Workload>): Workload => ({ ...DEFAULT_WORKLOAD, ...w });
const tr = (text: string, w: Partial<Workload> = {}) => translateIstioWorkload([{ file: "in.yaml", text }], wl(w));
const names = (text: string, w: Partial<Workload> = {}) => tr(text, w).configuration.policies.map((p) => p.name);

/** An AuthorizationPolicy document allowing everything, named and placed as given. */
function ap(name: string, namespace: string | null, extraSpec = "", apiVersion = "security.istio.io/v1"): string {
  return [
    `apiVersion: ${apiVersion}`,
    "kind: AuthorizationPolicy",
    namespace === null ? `metadata: {name: ${name}}` : `metadata: {name: ${name}, namespace: ${namespace}}`,
    "spec:",
    ...(extraSpec ? [extraSpec] : []),
    "  rules:",
    "  - {}",
  ].join("\n");
}

describe("translation", () => {
  const shop = () => [
    { file: `${FIX}/root.yaml`, text: fs.readFileSync(`${FIX}/root.yaml`, "utf8") },
    { file: `${FIX}/shop.yaml`, text: fs.readFileSync(`${FIX}/shop.yaml`, "utf8") },
  ];
  const frontend = wl({ namespace: "shop", labels: { app: "frontend", version: "v1" }, services: ["frontend"] });

  test("multi-document YAML, v1 and v1beta1: the resources for app=frontend,version=v1 in shop behind Service frontend", () => {
    const t = translateIstioWorkload(shop(), frontend);
    expect(t.configuration).toEqual(JSON.parse(fs.readFileSync(path.join(EXPECTED, "shop-frontend.config.json"), "utf8")));
    expect(t.applied.map((a) => a.replace(/ \(.*\)$/, ""))).toEqual([
      "RequestAuthentication/istio-system/mesh-idp",
      "AuthorizationPolicy/istio-system/deny-banned",
      "AuthorizationPolicy/istio-system/frontend-everywhere",
      "RequestAuthentication/shop/frontend",
      "AuthorizationPolicy/shop/require-jwt",
      "AuthorizationPolicy/shop/deny-anonymous",
      "AuthorizationPolicy/shop/frontend-service",
      "AuthorizationPolicy/shop/allow-nothing",
    ]);
    expect(t.reports.map(formatReport)).toEqual([
      `${FIX}/root.yaml:36: AuthorizationPolicy/istio-system/class-wide: spec.targetRefs: not applied: it targets GatewayClass/istio, not the workload (--service frontend in namespace shop)`,
      `${FIX}/shop.yaml:82: AuthorizationPolicy/shop/ext-authz: spec.action: CUSTOM (an external authorizer) is not supported by the filter; left out`,
    ]);
    expect(t.reports.map((r) => r.severity)).toEqual(["note", "error"]);
  });

  test("a bare service account is written out in the policy's own namespace, as Istio reads it; qualified ones stay", () => {
    const text = [
      "apiVersion: security.istio.io/v1",
      "kind: AuthorizationPolicy",
      "metadata: {name: sa, namespace: shop}",
      "spec:",
      "  rules:",
      "  - from: [{source: {serviceAccounts: [checkout, other/payments]}}, {source: {notServiceAccounts: [robot]}}]",
      "    when: [{key: source.serviceAccount, values: [cart], notValues: [ns2/cart]}, {key: 'request.headers[x]', values: [bare]}]",
    ].join("\n");
    const t = tr(text, { namespace: "shop" });
    expect(t.configuration.policies[0].rules).toEqual([{
      from: [{ source: { serviceAccounts: ["shop/checkout", "other/payments"] } }, { source: { notServiceAccounts: ["shop/robot"] } }],
      when: [{ key: "source.serviceAccount", values: ["shop/cart"], notValues: ["ns2/cart"] }, { key: "request.headers[x]", values: ["bare"] }],
    }]);
    expect(t.reports).toEqual([]);
  });

  test("translateIstio (the demo's translator) carries the dry-run annotation as Istio reads it", () => {
    const { translateIstio } = require("../../host/istio/translate") as typeof import("../../host/istio/translate");
    const doc = (name: string, v: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, annotations: {istio.io/dry-run: "${v}"}}\nspec: {action: DENY, rules: [{}]}`;
    const out = translateIstio([doc("a", "true"), doc("b", "T"), doc("c", "false"), doc("d", "yes")].join("\n---\n"));
    expect(out.policies.map((p) => [p.name, p.dryRun ?? false])).toEqual([["a", true], ["b", true], ["c", false], ["d", false]]);
  });

  test("jwtRules of every applicable RequestAuthentication are concatenated and stably sorted by issuer, as istiod sorts them", () => {
    const t = translateIstioWorkload(shop(), frontend);
    expect(t.configuration.jwtRules.map((r) => [r.issuer, r.audiences ?? null])).toEqual([
      ["https://idp.example.com", null], // istio-system/mesh-idp, the first file
      ["https://idp.example.com", ["shop"]], // shop/frontend: same issuer, an alternative tried second
      ["testing@secure.istio.io", null],
    ]);
    // Byte order, as Go's strings.Compare: "Z" < "a".
    const ra = (issuers: string[]) =>
      ["apiVersion: security.istio.io/v1", "kind: RequestAuthentication", "metadata: {name: r}", "spec:", "  jwtRules:", ...issuers.map((i) => `  - {issuer: "${i}", jwks: "{}"}`)].join("\n");
    expect(tr(ra(["b", "a", "Z", "é", "a"])).configuration.jwtRules.map((r) => r.issuer)).toEqual(["Z", "a", "a", "b", "é"]);
  });

  test.each([
    ["root namespace, no selector: mesh-wide", ap("p", "istio-system"), { namespace: "shop" }, ["istio-system.p"]],
    ["the workload's namespace, no selector: every workload there", ap("p", "shop"), { namespace: "shop" }, ["shop.p"]],
    ["another namespace: never", ap("p", "other"), { namespace: "shop" }, []],
    ["another namespace with a matching selector: never", ap("p", "other", "  selector: {matchLabels: {app: a}}"), { namespace: "shop", labels: { app: "a" } }, []],
    ["no metadata.namespace: the workload's (--namespace)", ap("p", null), { namespace: "shop" }, ["shop.p"]],
    ["selector: all labels must match", ap("p", "default", "  selector: {matchLabels: {app: a, v: '1'}}"), { labels: { app: "a", v: "1", extra: "x" } }, ["default.p"]],
    ["selector: one label differs", ap("p", "default", "  selector: {matchLabels: {app: a, v: '1'}}"), { labels: { app: "a", v: "2" } }, []],
    ["selector: a label missing", ap("p", "default", "  selector: {matchLabels: {app: a, v: '1'}}"), { labels: { app: "a" } }, []],
    ["selector: {} matches every workload", ap("p", "default", "  selector: {}"), {}, ["default.p"]],
    ["root namespace with a selector: matching workloads of every namespace", ap("p", "istio-system", "  selector: {matchLabels: {app: a}}"), { namespace: "shop", labels: { app: "a" } }, ["istio-system.p"]],
    ["root namespace with a selector, labels differ", ap("p", "istio-system", "  selector: {matchLabels: {app: a}}"), { namespace: "shop", labels: { app: "b" } }, []],
    ["--root-namespace moves the root", ap("p", "mesh-root"), { namespace: "shop", rootNamespace: "mesh-root" }, ["mesh-root.p"]],
    ["istio-system is an ordinary namespace under another root", ap("p", "istio-system"), { namespace: "shop", rootNamespace: "mesh-root" }, []],
    ["v1beta1 as v1", ap("p", "default", "", "security.istio.io/v1beta1"), {}, ["default.p"]],
  ] as Array<[string, string, Partial<Workload>, string[]]>)("applicability: %s", (_title, text, w, expected) => {
    const t = tr(text, w);
    expect(t.configuration.policies.map((p) => p.name)).toEqual(expected);
    expect(t.reports).toEqual([]);
  });

  test("targetRef/targetRefs apply when they name --service, --gateway or --gateway-class; otherwise they are reported", () => {
    const doc = (refs: string, ns = "shop") => ap("p", ns, refs);
    const svc = doc("  targetRefs:\n  - {kind: Service, group: '', name: frontend}");
    expect(names(svc, { namespace: "shop", services: ["frontend"] })).toEqual(["shop.p"]);
    expect(names(doc("  targetRef: {kind: ServiceEntry, group: networking.istio.io, name: frontend}"), { namespace: "shop", services: ["frontend"] })).toEqual(["shop.p"]);
    expect(names(doc("  targetRefs:\n  - {kind: Gateway, name: a}\n  - {kind: Gateway, name: gw}"), { namespace: "shop", gateways: ["gw"] })).toEqual(["shop.p"]);
    expect(names(doc("  targetRefs:\n  - {kind: GatewayClass, name: istio}", "istio-system"), { namespace: "shop", gatewayClasses: ["istio"] })).toEqual(["istio-system.p"]);
    // The Service of the same name in another namespace is another service.
    expect(names(doc("  targetRefs:\n  - {kind: Service, name: frontend}", "other"), { namespace: "shop", services: ["frontend"] })).toEqual([]);

    // No workload identity given: the translator cannot tell, so it is an error, at the targetRefs line.
    let t = tr(svc, { namespace: "shop" });
    expect(t.configuration.policies).toEqual([]);
    expect(t.reports.map(formatReport)).toEqual([
      "in.yaml:5: AuthorizationPolicy/shop/p: spec.targetRefs: not applied: it targets Service/frontend; give the workload's --service, --gateway or --gateway-class to apply it",
    ]);
    expect(t.reports[0].severity).toBe("error");
    // Another service given: decided, not applied, shown as a note.
    t = tr(svc, { namespace: "shop", services: ["cart"] });
    expect(t.reports.map(formatReport)).toEqual([
      "in.yaml:5: AuthorizationPolicy/shop/p: spec.targetRefs: not applied: it targets Service/frontend, not the workload (--service cart in namespace shop)",
    ]);
    expect(t.reports[0].severity).toBe("note");
    // Both a selector and targetRefs: Istio refuses the resource.
    t = tr(doc("  selector: {matchLabels: {app: a}}\n  targetRefs:\n  - {kind: Service, name: frontend}"), { namespace: "shop", services: ["frontend"] });
    expect(t.configuration.policies).toEqual([]);
    expect(t.reports.map(formatReport)).toEqual([
      "in.yaml:5: AuthorizationPolicy/shop/p: spec.selector: selector and targetRef(s) cannot both be set (Istio refuses the resource); left out",
    ]);
    // A kind Istio does not take.
    t = tr(doc("  targetRefs:\n  - {kind: Deployment, name: frontend}"), { namespace: "shop", services: ["frontend"] });
    expect(t.reports.map(formatReport)).toEqual(["in.yaml:6: AuthorizationPolicy/shop/p: spec.targetRefs[0].kind: Deployment is not Service, ServiceEntry, Gateway or GatewayClass; left out"]);
  });

  test("each AuthorizationPolicy is one policies[] entry <namespace>.<name> with action and rules as they are", () => {
    const text = [
      "apiVersion: security.istio.io/v1",
      "kind: AuthorizationPolicy",
      "metadata: {name: deny-some, namespace: default}",
      "spec:",
      "  action: DENY",
      "  rules:",
      "  - from:",
      "    - source: {requestPrincipals: ['a/b'], notRequestPrincipals: ['a/c']}",
      "  - {}",
    ].join("\n");
    expect(tr(text).configuration.policies).toEqual([
      { name: "default.deny-some", action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["a/b"], notRequestPrincipals: ["a/c"] } }] }, {}] },
    ]);
  });

  test("spec: {} (and no spec) is an entry with no action and no rules, which the filter treats as allow-nothing", () => {
    const doc = (spec: string) => ["apiVersion: security.istio.io/v1", "kind: AuthorizationPolicy", "metadata: {name: none, namespace: default}", ...(spec ? [spec] : [])].join("\n");
    expect(tr(doc("spec: {}")).configuration.policies).toEqual([{ name: "default.none" }]);
    expect(tr(doc("")).configuration.policies).toEqual([{ name: "default.none" }]);
  });

  test('metadata.annotations["istio.io/dry-run"]: "true" (as Go\'s strconv.ParseBool reads it) becomes dryRun: true; "false" is enforced; anything else is reported', () => {
    const doc = (value: string) =>
      ["apiVersion: security.istio.io/v1", "kind: AuthorizationPolicy", "metadata:", "  name: d", "  annotations:", `    istio.io/dry-run: ${value}`, "spec:", "  action: DENY", "  rules: [{}]"].join("\n");
    for (const v of ['"true"', '"True"', '"1"', "t"]) {
      expect(tr(doc(v)).configuration.policies).toEqual([{ name: "default.d", action: "DENY", rules: [{}], dryRun: true }]);
    }
    for (const v of ['"false"', '"0"', "F"]) expect(tr(doc(v)).configuration.policies).toEqual([{ name: "default.d", action: "DENY", rules: [{}] }]);
    let t = tr(doc("yes-please"));
    expect(t.configuration.policies).toEqual([{ name: "default.d", action: "DENY", rules: [{}] }]);
    expect(t.reports.map(formatReport)).toEqual([
      'in.yaml:6: AuthorizationPolicy/default/d: metadata.annotations["istio.io/dry-run"]: "yes-please" is not a boolean string ("true" or "false"); the policy is enforced',
    ]);
    // Unquoted, YAML reads a boolean, which Kubernetes refuses as an annotation.
    t = tr(doc("true"));
    expect(t.configuration.policies).toEqual([{ name: "default.d", action: "DENY", rules: [{}] }]);
    expect(t.reports.map(formatReport)).toEqual([
      'in.yaml:6: AuthorizationPolicy/default/d: metadata.annotations["istio.io/dry-run"]: true is not a boolean string ("true" or "false"); the policy is enforced',
    ]);
  });

  test("action CUSTOM is reported with file:line and left out; AUDIT is carried over for the filter to judge", () => {
    const text = [
      ap("ok", "default"),
      "---",
      "apiVersion: security.istio.io/v1",
      "kind: AuthorizationPolicy",
      "metadata: {name: ext, namespace: default}",
      "spec:",
      "  action: CUSTOM",
      "  provider: {name: opa}",
      "  rules: [{}]",
      "---",
      "apiVersion: security.istio.io/v1beta1",
      "kind: AuthorizationPolicy",
      "metadata: {name: audit, namespace: default}",
      "spec:",
      "  action: AUDIT",
      "  rules: [{}]",
    ].join("\n");
    const t = translateIstioWorkload([{ file: "policies/authz.yaml", text }], DEFAULT_WORKLOAD);
    expect(t.configuration.policies).toEqual([
      { name: "default.ok", rules: [{}] },
      { name: "default.audit", action: "AUDIT", rules: [{}] },
    ]);
    expect(t.reports.map(formatReport)).toEqual([
      "policies/authz.yaml:12: AuthorizationPolicy/default/ext: spec.action: CUSTOM (an external authorizer) is not supported by the filter; left out",
    ]);
  });

  test("nothing is dropped silently: other kinds, other API versions, unknown spec fields, bad YAML, duplicates", () => {
    const text = [
      "apiVersion: networking.istio.io/v1",
      "kind: ServiceEntry",
      "metadata: {name: se, namespace: default}",
      "---",
      "apiVersion: authentication.istio.io/v1alpha1",
      "kind: RequestAuthentication",
      "metadata: {name: old}",
      "---",
      "apiVersion: security.istio.io/v1",
      "kind: RequestAuthentication",
      "metadata: {name: ra}",
      "spec:",
      "  jwtRules: [{issuer: a, jwks: '{}'}]",
      "  mtls: {mode: STRICT}",
      "---",
      ap("p", "default"),
      "---",
      ap("p", "default", "  action: DENY"),
      "---",
      "- just a list",
      "---",
      "key: [unclosed",
    ].join("\n");
    const t = tr(text);
    expect(t.configuration).toEqual({ jwtRules: [{ issuer: "a", jwks: "{}" }], policies: [{ name: "default.p", action: "DENY", rules: [{}] }] });
    expect(t.reports.map((r) => `${r.severity} ${formatReport(r)}`)).toEqual([
      "note in.yaml:2: ServiceEntry/default/se: kind: not a RequestAuthentication or AuthorizationPolicy; ignored",
      'error in.yaml:5: RequestAuthentication/default/old: apiVersion: "authentication.istio.io/v1alpha1" is not security.istio.io/v1 or v1beta1; left out',
      "error in.yaml:23: AuthorizationPolicy/default/p: metadata.name: defined again (first at in.yaml:16); this later one is used, as kubectl apply would",
      "error in.yaml:31: -: document: not a Kubernetes resource (a mapping with kind and metadata)",
      expect.stringMatching(/^error in\.yaml:3\d: -: yaml: /),
      "error in.yaml:14: RequestAuthentication/default/ra: spec.mtls: unknown field of RequestAuthentication; ignored",
    ]);
  });
});

describe("the filter's own configuration reader judges what it supports", () => {
  // Made-up fields, so the outcome does not change as the filter learns Istio fields.
  const text = [
    "apiVersion: security.istio.io/v1",
    "kind: RequestAuthentication",
    "metadata: {name: ra, namespace: default}",
    "spec:",
    "  jwtRules:",
    "  - issuer: a",
    "    jwksUri: https://a.example.com/keys",
    "    bogusOption: 1",
    "  - issuer: b",
    "    jwksUri: https://b.example.com/keys",
    "---",
    "apiVersion: security.istio.io/v1",
    "kind: AuthorizationPolicy",
    "metadata: {name: allow, namespace: default}",
    "spec:",
    "  rules:",
    "  - from:",
    '    - source: {requestPrincipals: ["a/x"], bogus: 1}',
    "  - from:",
    '    - source: {requestPrincipals: ["b/*"]}',
    "  - from:",
    '    - source: {requestPrincipals: ["c/x"], bogus: 2}',
    "---",
    "apiVersion: security.istio.io/v1",
    "kind: AuthorizationPolicy",
    "metadata: {name: deny, namespace: default}",
    "spec:",
    "  action: DENY",
    "  rules:",
    "  - from:",
    "    - source:",
    '        requestPrincipals: ["b/evil"]',
    "        bogus: [1]",
  ].join("\n");

  test("each refusal is reported at its YAML line and taken out failing closed; without --allow-partial nothing is printed and the exit is 1", async () => {
    const f = yamlFile("bogus.yaml", text);
    const x = io();
    expect(await main(["istio", f, "--wasm", WASM], x)).toBe(1);
    expect(x.stdout()).toBe("");
    expect(x.stderr).toEqual([
      `${f}:8: RequestAuthentication/default/ra: spec.jwtRules[0].bogusOption: unknown field (the filter refuses it); the whole rule is left out`,
      `${f}:18: AuthorizationPolicy/default/allow: spec.rules[0].from[0].source.bogus: unknown field (the filter refuses it); rule 0 of this ALLOW policy is left out (it allows less)`,
      `${f}:22: AuthorizationPolicy/default/allow: spec.rules[2].from[0].source.bogus: unknown field (the filter refuses it); rule 2 of this ALLOW policy is left out (it allows less)`,
      `${f}:33: AuthorizationPolicy/default/deny: spec.rules[0].from[0].source.bogus: unknown field (the filter refuses it); this field is left out of the DENY rule (it matches, so denies, more)`,
      "jwt-authn-wasm: 4 problem(s) reported; nothing printed (--allow-partial prints what the filter can honour)",
    ]);

    const y = io();
    expect(await main(["istio", f, "--wasm", WASM, "--allow-partial"], y)).toBe(0);
    expect(y.stderr).toHaveLength(4);
    expect(JSON.parse(y.stdout())).toEqual({
      jwtRules: [{ issuer: "b", jwksUri: "https://b.example.com/keys" }],
      policies: [
        { name: "default.allow", rules: [{ from: [{ source: { requestPrincipals: ["b/*"] } }] }] },
        { name: "default.deny", action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["b/evil"] } }] }] },
      ],
    });
  });

  test("a dry-run policy reaches the filter as dryRun: true, or, while the filter does not take it, is reported at the annotation and left out", async () => {
    const x = io();
    const code = await main(["istio", `${FIX}/shop.yaml`, "--selector", "app=frontend,version=v1", "--namespace", "shop", "--service", "frontend", "--allow-partial", "--wasm", WASM], x);
    expect(code).toBe(0);
    const policies = JSON.parse(x.stdout()).policies as Array<Record<string, unknown>>;
    const dry = policies.find((p) => p.name === "shop.deny-anonymous");
    const reported = x.stderr.filter((l) => l.includes("shop/deny-anonymous"));
    if (dry !== undefined) {
      expect(dry.dryRun).toBe(true);
      expect(reported).toEqual([]);
    } else {
      expect(reported).toEqual([
        expect.stringMatching(/^.*shop\.yaml:38: AuthorizationPolicy\/shop\/deny-anonymous: metadata\.annotations\["istio\.io\/dry-run"\]: .* \(the filter refuses it\); the dry-run policy is left out \(it is never enforced\)$/),
      ]);
    }
  });

  test("an AUDIT policy reaches the filter, or, while the filter does not take AUDIT, is reported and left out (never turned into an ALLOW)", async () => {
    const f = yamlFile("audit.yaml", ap("audit", "default", "  action: AUDIT"));
    const x = io();
    expect(await main(["istio", f, "--allow-partial", "--wasm", WASM], x)).toBe(0);
    const policies = JSON.parse(x.stdout()).policies;
    if (policies.length === 1) {
      expect(policies).toEqual([{ name: "default.audit", action: "AUDIT", rules: [{}] }]);
      expect(x.stderr).toEqual([]);
    } else {
      expect(policies).toEqual([]);
      expect(x.stderr).toEqual([expect.stringMatching(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5: AuthorizationPolicy/default/audit: spec\\.action: .*; the AUDIT policy is left out \\(it never changes a decision\\)$`))]);
    }
  });

  test("an AUDIT policy with a part the filter refuses is left out whole, not made an ALLOW that allows nothing", async () => {
    const f = yamlFile("audit-bogus.yaml", [ap("ok", "default"), "---", ap("audit", "default", "  action: AUDIT").replace("  - {}", "  - from:\n    - source: {bogus: 1}")].join("\n"));
    const x = io();
    expect(await main(["istio", f, "--allow-partial", "--wasm", WASM], x)).toBe(0);
    expect(JSON.parse(x.stdout()).policies).toEqual([{ name: "default.ok", rules: [{}] }]);
    expect(x.stderr).toEqual([
      `${f}:15: AuthorizationPolicy/default/audit: spec.rules[0].from[0].source.bogus: unknown field (the filter refuses it); the AUDIT policy is left out (it never changes a decision)`,
    ]);
  });

  test("--no-check prints the translation as it is", async () => {
    const x = io();
    expect(await main(["istio", yamlFile("bogus2.yaml", text), "--no-check"], x)).toBe(0);
    expect(x.stderr).toEqual([]);
    expect(JSON.parse(x.stdout()).jwtRules[0].bogusOption).toBe(1);
  });

  test("the filter's paths are read back into segments", () => {
    expect(parseConfigPath("policies[0].rules[12].from[0].source.not-a.field")).toEqual(["policies", 0, "rules", 12, "from", 0, "source", "not-a", "field"]);
    expect(parseConfigPath("jwtRules[3]")).toEqual(["jwtRules", 3]);
  });
});

describe("output formats", () => {
  const args = (format: string) => [
    "istio",
    `${FIX}/root.yaml`,
    `${FIX}/shop.yaml`,
    "--selector",
    "app=frontend",
    "--selector=version=v1",
    "--namespace",
    "shop",
    "--service",
    "frontend",
    "--no-check",
    "--allow-partial",
    "--format",
    format,
  ];
  const expectedStderr = () => fs.readFileSync(path.join(EXPECTED, "shop-frontend.stderr.txt"), "utf8").trimEnd().split("\n").map((l) => l.replace("<FIX>", FIX));

  test.each([
    ["config", "shop-frontend.config.json"],
    ["wasmplugin", "shop-frontend.wasmplugin.yaml"],
    ["envoy", "shop-frontend.envoy.yaml"],
  ])("--format %s prints fixtures/istio/expected/%s", async (format, file) => {
    const x = io();
    expect(await main(args(format), x)).toBe(0);
    expect(x.stdout()).toBe(fs.readFileSync(path.join(EXPECTED, file), "utf8"));
    expect(x.stderr).toEqual(expectedStderr());
  });

  test("the three formats carry the same configuration, in the shapes of envoy/istio/wasmplugin.yaml and envoy/envoy.yaml", () => {
    const config = JSON.parse(fs.readFileSync(path.join(EXPECTED, "shop-frontend.config.json"), "utf8"));
    const wp = parse(fs.readFileSync(path.join(EXPECTED, "shop-frontend.wasmplugin.yaml"), "utf8"));
    const repoWp = parseAllDocuments(fs.readFileSync(path.join(ROOT, "envoy", "istio", "wasmplugin.yaml"), "utf8"))[0].toJS();
    expect(Object.keys(wp)).toEqual(Object.keys(repoWp));
    expect(wp.apiVersion).toBe(repoWp.apiVersion);
    expect(wp.kind).toBe("WasmPlugin");
    expect(wp.metadata).toEqual({ name: repoWp.metadata.name, namespace: "shop" });
    // sha256 pins the user's own image (the digest `npm run package` prints): the translator cannot know it.
    const { sha256, ...repoSpec } = repoWp.spec;
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(wp.spec).toEqual({ ...repoSpec, selector: { matchLabels: { app: "frontend", version: "v1" } }, pluginConfig: config });

    const [filter] = parse(fs.readFileSync(path.join(EXPECTED, "shop-frontend.envoy.yaml"), "utf8"));
    const envoy = parse(fs.readFileSync(path.join(ROOT, "envoy", "envoy.yaml"), "utf8"));
    const repoFilter = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0];
    expect(filter.name).toBe("envoy.filters.http.wasm");
    const { configuration, ...rest } = filter.typed_config.config;
    const { configuration: repoConfiguration, ...repoRest } = repoFilter.typed_config.config;
    expect(rest).toEqual(repoRest);
    expect(filter.typed_config["@type"]).toBe(repoFilter.typed_config["@type"]);
    expect(configuration["@type"]).toBe(repoConfiguration["@type"]);
    expect(JSON.parse(configuration.value)).toEqual(config);
  });

  test("--url, --filename, and a WasmPlugin for a gateway without labels (targetRefs)", async () => {
    const f = `${FIX}/root.yaml`;
    const x = io();
    expect(await main(["istio", f, "--gateway", "edge", "--namespace", "ingress", "--format", "wasmplugin", "--url", "oci://r.example/j:1", "--no-check"], x)).toBe(0);
    const wp = parse(x.stdout());
    expect(wp.spec.url).toBe("oci://r.example/j:1");
    expect(wp.spec.selector).toBeUndefined();
    expect(wp.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "edge" }]);
    expect(wp.spec.pluginConfig.policies.map((p: { name: string }) => p.name)).toEqual(["istio-system.deny-banned"]);
    // Label values stay strings.
    const z = io();
    expect(await main(["istio", f, "--selector", "v=1,canary=true", "--format", "wasmplugin", "--no-check", "--allow-partial"], z)).toBe(0);
    expect(parse(z.stdout()).spec.selector).toEqual({ matchLabels: { v: "1", canary: "true" } });
    const y = io();
    expect(await main(["istio", f, "--gateway", "edge", "--format", "envoy", "--filename", "/opt/jwt.wasm", "--no-check"], y)).toBe(0);
    expect(parse(y.stdout())[0].typed_config.config.vm_config.code.local.filename).toBe("/opt/jwt.wasm");
  });

  test("without --allow-partial, a report means exit 1 and nothing on stdout", async () => {
    const x = io();
    const a = args("config").filter((s) => s !== "--allow-partial");
    expect(await main(a, x)).toBe(1);
    expect(x.stdout()).toBe("");
    expect(x.stderr).toEqual([...expectedStderr(), "jwt-authn-wasm: 1 problem(s) reported; nothing printed (--allow-partial prints what the filter can honour)"]);
  });

  test.each([
    [["istio"], "jwt-authn-wasm: istio needs at least one YAML file (try --help)"],
    [["istio", "F", "--format", "xml"], 'jwt-authn-wasm: --format must be config, wasmplugin, envoy, got "xml" (try --help)'],
    [["istio", "F", "--selector", "app"], 'jwt-authn-wasm: --selector must be KEY=VALUE[,KEY=VALUE...], got "app" (try --help)'],
    [["istio", "F", "--selector", "app=a", "--selector", "app=b"], "jwt-authn-wasm: --selector gives label app two values (a, b) (try --help)"],
    [["istio", "F", "--namespace", ""], "jwt-authn-wasm: --namespace must not be empty (try --help)"],
    [["istio", "F", "--upstream", "x"], "jwt-authn-wasm: unknown option --upstream (try --help)"],
    [["istio", "/nonexistent/x.yaml"], /^jwt-authn-wasm: cannot read \/nonexistent\/x\.yaml: /],
    [["serve", "--istio", "/nonexistent/x.yaml", "--upstream", "http://x"], /^jwt-authn-wasm: cannot read --istio \/nonexistent\/x\.yaml: /],
    [["serve", "--istio", "F", "--config", "F", "--upstream", "http://x"], "jwt-authn-wasm: give --config FILE or --istio FILES..., not both (try --help)"],
    [["serve", "--config", "F", "--upstream", "http://x", "--selector", "a=b"], "jwt-authn-wasm: --selector goes with --istio FILES... (try --help)"],
    [["serve", "--istio", "--upstream", "http://x"], "jwt-authn-wasm: option --istio needs a value (try --help)"],
  ] as Array<[string[], string | RegExp]>)("usage error %j exits 2", async (argv, message) => {
    const x = io();
    const a = argv.map((s) => (s === "F" ? WALKTHROUGH : s));
    expect(await main(a, x)).toBe(2);
    expect(x.stderr).toHaveLength(1);
    if (typeof message === "string") expect(x.stderr[0]).toBe(message);
    else expect(x.stderr[0]).toMatch(message);
  });
});

describe("serve --istio", () => {
  let backend: Backend;
  let jwks: JwksServer;
  const demoJwt = fs.readFileSync(path.join(SAMPLES, "demo.jwt"), "utf8").trim();
  beforeAll(async () => {
    backend = await startBackend();
    jwks = await startJwksServer({ kind: "ok", body: fs.readFileSync(path.join(SAMPLES, "jwks.json"), "utf8") });
  });
  afterAll(async () => {
    await jwks.close();
    await backend.close();
  });

  /** Runs `serve ARGS` through main() until stop() is called. */
  async function serveCli(args: string[]): Promise<{ gw: Gateway; stop: () => Promise<number>; x: ReturnType<typeof io> }> {
    let release!: () => void;
    const stopped = new Promise<void>((r) => (release = r));
    let started!: (gw: Gateway) => void;
    const gwP = new Promise<Gateway>((r) => (started = r));
    const x = io((gw) => {
      started(gw);
      return stopped;
    });
    const code = main(["serve", ...args, "--upstream", backend.url, "--cluster", `${JWKS_CLUSTER}=${jwks.url}`, "--port", "0", "--workers", "1", "--wasm", WASM], x);
    const gw = await Promise.race([gwP, code.then((c) => Promise.reject(new Error(`serve exited ${c}: ${x.stderr.join("\n")}`)))]);
    return {
      gw,
      x,
      stop: async () => {
        release();
        return code;
      },
    };
  }

  /** The walkthrough's three requests; the realm's host:port is the only part that may differ. */
  async function walkthrough(url: string): Promise<Array<[number, string, string | undefined]>> {
    const other = sign(makeRsaKey("other"), { iss: "other-issuer@example.com", sub: "mallory", exp: nowS() + 3600 });
    const replies: Reply[] = [
      await request(url + "/"),
      await request(url + "/", { headers: { authorization: `Bearer ${other}` } }),
      await request(url + "/", { headers: { authorization: `Bearer ${demoJwt}` } }),
    ];
    const host = new URL(url).host;
    return replies.map((r) => [r.status, r.body, (r.headers["www-authenticate"] as string | undefined)?.replace(host, "GW")]);
  }

  test("round trip: the walkthrough YAML -> --format config -> serve --config answers as serve --istio", async () => {
    const x = io();
    expect(await main(["istio", WALKTHROUGH, "--selector", "app=frontend", "--format", "config", "--wasm", WASM], x)).toBe(0);
    expect(x.stderr).toEqual([]);
    const configFile = path.join(dir, "walkthrough.json");
    fs.writeFileSync(configFile, x.stdout());

    const viaConfig = await serveCli(["--config", configFile]);
    const viaIstio = await serveCli(["--istio", WALKTHROUGH, "--selector", "app=frontend"]);
    try {
      const a = await walkthrough(viaConfig.gw.url);
      const b = await walkthrough(viaIstio.gw.url);
      expect(a).toEqual([
        [403, "RBAC: access denied", undefined],
        [401, "Jwt issuer is not configured", 'Bearer realm="http://GW/", error="invalid_token"'],
        [200, "Hello World! /", undefined],
      ]);
      expect(b).toEqual(a);
    } finally {
      expect(await viaConfig.stop()).toBe(0);
      expect(await viaIstio.stop()).toBe(0);
    }
  });

  test("the walkthrough for another workload: nothing applies, so every request passes", async () => {
    const s = await serveCli(["--istio", WALKTHROUGH, "--selector", "app=backend"]);
    try {
      expect((await request(s.gw.url + "/")).status).toBe(200);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  test("a report stops serve --istio (exit 1) unless --allow-partial", async () => {
    const f = yamlFile("custom.yaml", [fs.readFileSync(WALKTHROUGH, "utf8"), "---", ap("ext", "default", "  action: CUSTOM\n  provider: {name: opa}")].join("\n"));
    const x = io();
    const argv = ["serve", "--istio", f, "--selector", "app=frontend", "--upstream", backend.url, "--port", "0", "--wasm", WASM];
    expect(await main(argv, x)).toBe(1);
    expect(x.stderr).toEqual([
      `${f}:28: AuthorizationPolicy/default/ext: spec.action: CUSTOM (an external authorizer) is not supported by the filter; left out`,
      "jwt-authn-wasm: the Istio translation reported 1 problem(s); not serving (--allow-partial serves the rest)",
    ]);
    expect(() => serveOptionsFromArgs(argv.slice(1), {})).toThrow(IstioReportError);

    const s = await serveCli(["--istio", f, "--selector", "app=frontend", "--allow-partial"]);
    try {
      expect(s.x.stderr[0]).toBe(x.stderr[0]);
      expect(await walkthrough(s.gw.url)).toEqual([
        [403, "RBAC: access denied", undefined],
        [401, "Jwt issuer is not configured", 'Bearer realm="http://GW/", error="invalid_token"'],
        [200, "Hello World! /", undefined],
      ]);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  test("serveOptionsFromArgs translates --istio into the configuration", () => {
    const o = serveOptionsFromArgs(["--istio", WALKTHROUGH, "--selector", "app=frontend", "--upstream", "http://127.0.0.1:1"], {});
    expect(typeof o.configuration).toBe("string");
    expect(JSON.parse(o.configuration as string).policies.map((p: { name: string }) => p.name)).toEqual(["default.require-jwt"]);
  });
});
