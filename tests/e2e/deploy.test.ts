// The deployment files in envoy/: they parse, they pass Envoy's and Istio's schemas (no Envoy or
// Kubernetes here, so: the fields of Envoy's protos, tests/vectors/envoy-api/, and the OpenAPI schemas of
// Istio's CRDs, tests/vectors/istio-api/, checked by the two small validators below), they are safe (every
// TLS cluster verifies its server, no plain-HTTP key set, nothing fails open, the image digest is pinned
// and is the one `npm run package` makes), the plugin configuration each embeds is accepted by the filter
// in the host and answers the walkthrough's requests, the cluster names line up, and each Wasm runtime
// gets a build it can load.
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { startBackend, startJwksServer, request, Backend, JwksServer } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { translateIstio } from "../../host/istio/translate";
import { packageModule } from "../../scripts/package";

const ROOT = path.resolve(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const demoJwt = fs.readFileSync(path.join(ROOT, "tests", "vectors", "istio", "samples", "demo.jwt"), "utf8").trim();
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

let backend: Backend;
let jwks: JwksServer;
beforeAll(async () => {
  backend = await startBackend();
  jwks = await startJwksServer({ kind: "ok", body: fs.readFileSync(path.join(ROOT, "tests", "vectors", "istio", "samples", "jwks.json"), "utf8") });
});
afterAll(async () => {
  await jwks.close();
  await backend.close();
});

function envoyBootstrap() {
  const doc = parse(read("envoy/envoy.yaml"));
  const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const filters = hcm.http_filters;
  const wasm = filters.find((f: any) => f.name === "envoy.filters.http.wasm").typed_config.config;
  const clusters: string[] = doc.static_resources.clusters.map((c: any) => c.name);
  return { doc, hcm, filters, wasm, clusters };
}

const istioDocs = () => parseAllDocuments(read("envoy/istio/wasmplugin.yaml")).map((d) => d.toJS());
const runtimeFilters = (): any[] => parse(read("envoy/wasm-runtimes.yaml"));

async function expectWalkthrough(configuration: string, clusters: Record<string, string>, wasm?: string) {
  const g = await startGateway(configuration, backend.url, { clusters, workers: 1, wasm });
  try {
    expect((await request(g.url + "/")).status).toBe(403);
    const ok = await request(g.url + "/", { headers: { authorization: `Bearer ${demoJwt}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("Hello World! /");
  } finally {
    await g.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Envoy: proto3 JSON/YAML mapping checked against the message definitions in tests/vectors/envoy-api/
// (excerpts of envoyproxy/data-plane-api). Field names must be the proto names (Envoy also takes the
// lowerCamelCase JSON names; our files use the proto names only). What is checked: every key is a field
// of its message; scalar and enum values have the field's type (enum by name, defined); oneof members are
// exclusive, and a `(validate.required)` oneof is set; the protoc-gen-validate rules `message.required`,
// `string.min_len`, `repeated.min_items`, `enum.not_in`, `uint32.lte/gte` hold; google.protobuf.Any is
// followed through its `@type` (which must be in the excerpt); no deprecated field is used.

interface ProtoField { name: string; type: string; repeated: boolean; map?: { key: string; value: string }; oneof?: string; options: string; scope: string }
interface ProtoMessage { kind: "message"; fullName: string; fields: Map<string, ProtoField>; oneofs: Map<string, { required: boolean; fields: string[] }> }
interface ProtoEnum { kind: "enum"; fullName: string; values: Map<string, number> }
type ProtoType = ProtoMessage | ProtoEnum;

const SCALARS = new Set(["double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes"]);

function tokenize(text: string): string[] {
  const out: string[] = [];
  const re = /\s+|\/\/[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_][\w.]*|\d[\w.]*|./gs;
  for (const m of text.matchAll(re)) if (!/^\s|^\/\//.test(m[0])) out.push(m[0]);
  return out;
}

/** Reads .proto excerpts: packages, (nested) messages with fields, oneofs and options, and enums. */
function loadProtos(dir: string): Map<string, ProtoType> {
  const types = new Map<string, ProtoType>();
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".proto")) files.push(p);
    }
  };
  walk(dir);
  for (const file of files) {
    const t = tokenize(fs.readFileSync(file, "utf8"));
    let i = 0;
    const expect_ = (s: string) => {
      if (t[i] !== s) throw new Error(`${file}: expected ${s} at token ${i}, got ${t[i]}`);
      i++;
    };
    const skipStatement = () => {
      while (t[i] !== ";") i++;
      i++;
    };
    /** The text of a field's [options], without spaces. */
    const options = () => {
      if (t[i] !== "[") return "";
      let depth = 0;
      const start = i;
      do {
        if (t[i] === "[") depth++;
        else if (t[i] === "]") depth--;
        i++;
      } while (depth > 0);
      return t.slice(start + 1, i - 1).join("");
    };
    const parseEnum = (scope: string) => {
      const fullName = `${scope}.${t[i++]}`;
      const e: ProtoEnum = { kind: "enum", fullName, values: new Map() };
      expect_("{");
      while (t[i] !== "}") {
        if (t[i] === "option" || t[i] === "reserved") skipStatement();
        else {
          const name = t[i++];
          expect_("=");
          e.values.set(name, Number(t[i++]));
          options();
          expect_(";");
        }
      }
      i++;
      types.set(fullName, e);
    };
    const parseField = (m: ProtoMessage, oneof?: string) => {
      let repeated = false;
      let map: ProtoField["map"];
      let type: string;
      if (t[i] === "repeated" || t[i] === "optional") repeated = t[i++] === "repeated";
      if (t[i] === "map" && t[i + 1] === "<") {
        map = { key: t[i + 2], value: t[i + 4] };
        type = "map";
        i += 6;
      } else type = t[i++];
      const name = t[i++];
      expect_("=");
      i++; // field number
      m.fields.set(name, { name, type, repeated, map, oneof, options: options(), scope: m.fullName });
      expect_(";");
    };
    const parseMessage = (scope: string) => {
      const fullName = `${scope}.${t[i++]}`;
      const m: ProtoMessage = { kind: "message", fullName, fields: new Map(), oneofs: new Map() };
      types.set(fullName, m);
      expect_("{");
      while (t[i] !== "}") {
        if (t[i] === "message") i++, parseMessage(fullName);
        else if (t[i] === "enum") i++, parseEnum(fullName);
        else if (t[i] === "option" || t[i] === "reserved" || t[i] === "extensions") skipStatement();
        else if (t[i] === "oneof") {
          const name = t[i + 1];
          const o = { required: false, fields: [] as string[] };
          m.oneofs.set(name, o);
          i += 2;
          expect_("{");
          while (t[i] !== "}") {
            if (t[i] === "option") {
              if (t.slice(i, t.indexOf(";", i)).join("") === "option(validate.required)=true") o.required = true;
              skipStatement();
            } else {
              parseField(m, name);
              o.fields.push([...m.fields.keys()].pop()!);
            }
          }
          i++;
        } else parseField(m);
      }
      i++;
    };
    let pkg = "";
    while (i < t.length) {
      if (t[i] === "package") (pkg = t[i + 1]), (i += 3);
      else if (t[i] === "message") i++, parseMessage(pkg);
      else if (t[i] === "enum") i++, parseEnum(pkg);
      else skipStatement(); // syntax, import, option
    }
  }
  return types;
}

const PROTOS = loadProtos(path.join(ROOT, "tests", "vectors", "envoy-api"));

/** Protobuf name resolution: innermost scope first (`config.core.v3.X` from envoy.config.listener.v3.Y). */
function resolve(name: string, scope: string): string {
  if (name.startsWith(".")) return name.slice(1);
  const parts = scope.split(".");
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), name].join(".");
    if (PROTOS.has(candidate)) return candidate;
  }
  return name;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const WRAPPERS: Record<string, (v: unknown) => boolean> = {
  "google.protobuf.StringValue": (v) => typeof v === "string",
  "google.protobuf.BoolValue": (v) => typeof v === "boolean",
  "google.protobuf.UInt32Value": (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32,
  "google.protobuf.Int32Value": (v) => Number.isInteger(v) && Math.abs(v as number) < 2 ** 31,
  "google.protobuf.UInt64Value": (v) => (Number.isInteger(v) && (v as number) >= 0) || (typeof v === "string" && /^\d+$/.test(v)),
  "google.protobuf.DoubleValue": (v) => typeof v === "number",
};

function checkScalar(v: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "bytes":
      return typeof v === "string" && /^[A-Za-z0-9+/_-]*=*$/.test(v);
    case "bool":
      return typeof v === "boolean";
    case "double":
    case "float":
      return typeof v === "number";
    case "uint32":
    case "fixed32":
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32;
    case "int32":
    case "sint32":
    case "sfixed32":
      return Number.isInteger(v) && Math.abs(v as number) < 2 ** 31;
    default: // 64-bit: a number or a decimal string, as proto3 JSON
      return Number.isInteger(v) || (typeof v === "string" && /^-?\d+$/.test(v));
  }
}

/** Checks `value` as the proto3 JSON form of message `typeName`; returns "path: problem" lines. */
function checkProto(value: unknown, typeName: string, at = "$"): string[] {
  const errs: string[] = [];
  const message = (v: unknown, name: string, p: string): void => {
    if (name === "google.protobuf.Any") return any(v, p);
    if (name === "google.protobuf.Duration") {
      if (typeof v !== "string" || !/^-?\d+(\.\d{1,9})?s$/.test(v)) errs.push(`${p}: not a Duration ("5s")`);
      return;
    }
    if (name === "google.protobuf.Struct") {
      if (!isObject(v)) errs.push(`${p}: not an object (Struct)`);
      return;
    }
    if (name in WRAPPERS) {
      if (!WRAPPERS[name](v)) errs.push(`${p}: not a ${name}`);
      return;
    }
    const m = PROTOS.get(name);
    if (m === undefined || m.kind !== "message") return void errs.push(`${p}: type ${name} is not in tests/vectors/envoy-api/ (add its excerpt)`);
    if (!isObject(v)) return void errs.push(`${p}: ${name} must be an object`);
    fields(v, m, p);
  };
  const fields = (v: Record<string, unknown>, m: ProtoMessage, p: string): void => {
    for (const [k, fv] of Object.entries(v)) {
      const f = m.fields.get(k);
      if (f === undefined) {
        errs.push(`${p}.${k}: not a field of ${m.fullName}`);
        continue;
      }
      if (/(^|,)deprecated=true/.test(f.options)) errs.push(`${p}.${k}: deprecated field of ${m.fullName}`);
      field(fv, f, `${p}.${k}`);
    }
    for (const [name, o] of m.oneofs) {
      const set = o.fields.filter((f) => f in v);
      if (set.length > 1) errs.push(`${p}: oneof ${name} has ${set.join(" and ")}`);
      if (o.required && set.length === 0) errs.push(`${p}: oneof ${name} (required) has none of ${o.fields.join(", ")}`);
    }
    for (const f of m.fields.values()) {
      if (f.name in v || f.oneof !== undefined) continue; // a oneof member's rules apply when it is the one set
      if (/\(validate\.rules\)\.message=\{[^}]*required:true/.test(f.options)) errs.push(`${p}.${f.name}: required`);
      const minLen = /\(validate\.rules\)\.string=\{[^{}]*min_len:(\d+)/.exec(f.options);
      if (minLen && Number(minLen[1]) > 0) errs.push(`${p}.${f.name}: required (min_len ${minLen[1]})`);
      const minItems = /\(validate\.rules\)\.repeated=\{[^{}]*min_items:(\d+)/.exec(f.options);
      if (minItems && Number(minItems[1]) > 0) errs.push(`${p}.${f.name}: required (min_items ${minItems[1]})`);
    }
  };
  const field = (v: unknown, f: ProtoField, p: string): void => {
    if (f.map) {
      if (!isObject(v)) return void errs.push(`${p}: a map must be an object`);
      for (const [k, mv] of Object.entries(v)) single(mv, f.map.value, f, `${p}.${k}`);
      return;
    }
    if (f.repeated) {
      if (!Array.isArray(v)) return void errs.push(`${p}: a repeated field must be a list`);
      const minItems = /\(validate\.rules\)\.repeated=\{[^{}]*min_items:(\d+)/.exec(f.options);
      if (minItems && v.length < Number(minItems[1])) errs.push(`${p}: fewer than ${minItems[1]} items`);
      v.forEach((e, n) => single(e, f.type, f, `${p}[${n}]`));
      return;
    }
    single(v, f.type, f, p);
  };
  const single = (v: unknown, type: string, f: ProtoField, p: string): void => {
    if (SCALARS.has(type)) {
      if (!checkScalar(v, type)) return void errs.push(`${p}: not a ${type}: ${JSON.stringify(v)}`);
      const minLen = /\(validate\.rules\)\.string=\{[^{}]*min_len:(\d+)/.exec(f.options);
      if (type === "string" && minLen && Buffer.byteLength(v as string) < Number(minLen[1])) errs.push(`${p}: shorter than ${minLen[1]}`);
      const range = /\(validate\.rules\)\.uint32=\{([^}]*)\}/.exec(f.options);
      if (range) {
        const lte = /lte:(\d+)/.exec(range[1]);
        const gte = /gte:(\d+)/.exec(range[1]);
        if ((lte && (v as number) > Number(lte[1])) || (gte && (v as number) < Number(gte[1]))) errs.push(`${p}: out of range (${range[1]})`);
      }
      return;
    }
    const name = resolve(type, f.scope);
    const e = PROTOS.get(name);
    if (e?.kind === "enum") {
      const n = typeof v === "string" ? e.values.get(v) : Number.isInteger(v) ? (v as number) : undefined;
      if (n === undefined || ![...e.values.values()].includes(n)) return void errs.push(`${p}: not a value of ${name}: ${JSON.stringify(v)}`);
      const notIn = /\(validate\.rules\)\.enum=\{[^}]*not_in:\[?([\d,]+)\]?/.exec(f.options);
      if (notIn && notIn[1].split(",").map(Number).includes(n)) errs.push(`${p}: ${JSON.stringify(v)} is not allowed here`);
      return;
    }
    message(v, name, p);
  };
  const any = (v: unknown, p: string): void => {
    if (!isObject(v) || typeof v["@type"] !== "string") return void errs.push(`${p}: an Any needs "@type"`);
    const url = v["@type"] as string;
    if (!url.startsWith("type.googleapis.com/")) return void errs.push(`${p}: @type ${url} is not type.googleapis.com/...`);
    const name = url.slice("type.googleapis.com/".length);
    const { "@type": _, ...rest } = v;
    // Well-known types inside an Any carry their JSON form under "value".
    if (name in WRAPPERS || name === "google.protobuf.Duration" || name === "google.protobuf.Struct") {
      if (Object.keys(rest).join() !== "value") return void errs.push(`${p}: ${name} in an Any takes exactly "value"`);
      return message(rest.value, name, `${p}.value`);
    }
    message(rest, name, p);
  };
  message(value, typeName, at);
  return errs;
}

// ---------------------------------------------------------------------------------------------------
// Istio: the OpenAPI v3 schemas of the CRDs (tests/vectors/istio-api/crds.yaml, from istio/api), checked
// the way the Kubernetes API server with strict field validation (kubectl's default) would: types, enum,
// pattern, lengths, bounds, required, unknown fields, allOf/anyOf/oneOf/not, x-kubernetes-int-or-string,
// x-kubernetes-preserve-unknown-fields, list-type map keys. CEL rules (x-kubernetes-validations) are not
// interpreted: each one met on a value present in our files must have its JavaScript equivalent below, so
// none is skipped silently.

const CRDS = parseAllDocuments(read("tests/vectors/istio-api/crds.yaml")).map((d) => d.toJS());

const has = (o: any, k: string) => isObject(o) && k in o;
const CEL: Record<string, (self: any) => boolean> = {
  '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1': (s) =>
    [has(s, "selector"), has(s, "targetRef"), has(s, "targetRefs")].filter(Boolean).length <= 1,
  'self.all(key, !key.contains("*"))': (s) => Object.keys(s).every((k) => !k.includes("*")),
  "self.all(key, key.size() != 0)": (s) => Object.keys(s).every((k) => k.length !== 0),
  '!self.contains("*")': (s) => !s.includes("*"),
  'self != "*"': (s) => s !== "*",
  "0 < self && self <= 65535": (s) => 0 < s && s <= 65535,
  "self.all(l1, self.exists_one(l2, l1.number == l2.number))": (s) => s.every((a: any) => s.filter((b: any) => a.number === b.number).length === 1),
  // url scheme one of http, https, oci, file (or none, which means oci)
  'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) &&\nurl("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])': (s) =>
    /^(https?|oci|file):\/\/[^\s]+$/.test(s) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(s),
  "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1": (s) => !(has(s, "workloadSelector") && has(s, "endpoints")),
  '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && !((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))': (s) =>
    !((s.addresses ?? []).some((k: string) => k.includes("/")) && !["STATIC", "NONE"].includes(s.resolution ?? "NONE")),
  '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true': (s) => ((s.resolution ?? "NONE") === "NONE" ? !has(s, "endpoints") : true),
  '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? ((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true': (s) =>
    (s.resolution ?? "") === "DNS_ROUND_ROBIN" ? (s.endpoints ?? []).length <= 1 : true,
};

function checkSchema(value: unknown, schema: any, at = "$"): string[] {
  const errs: string[] = [];
  const check = (v: any, s: any, p: string, out: string[]) => {
    if (v === null) {
      if (!s.nullable) out.push(`${p}: null`);
      return;
    }
    if (s["x-kubernetes-int-or-string"]) {
      if (!Number.isInteger(v) && typeof v !== "string") out.push(`${p}: not an integer or a string`);
    } else if (s.type !== undefined) {
      const ok =
        s.type === "object" ? isObject(v) :
        s.type === "array" ? Array.isArray(v) :
        s.type === "integer" ? Number.isInteger(v) :
        s.type === "number" ? typeof v === "number" :
        typeof v === s.type;
      if (!ok) return void out.push(`${p}: not ${s.type}: ${JSON.stringify(v)}`);
    }
    if (s.enum && !s.enum.includes(v)) out.push(`${p}: ${JSON.stringify(v)} not one of ${s.enum.join(", ")}`);
    if (typeof v === "string") {
      if (s.minLength !== undefined && [...v].length < s.minLength) out.push(`${p}: shorter than ${s.minLength}`);
      if (s.maxLength !== undefined && [...v].length > s.maxLength) out.push(`${p}: longer than ${s.maxLength}`);
      if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(v)) out.push(`${p}: does not match ${s.pattern}`);
    }
    if (typeof v === "number") {
      if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) out.push(`${p}: below ${s.minimum}`);
      if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) out.push(`${p}: above ${s.maximum}`);
      if (s.format === "int32" && Math.abs(v) >= 2 ** 31) out.push(`${p}: not int32`);
      if (s.format === "uint32" && (v < 0 || v >= 2 ** 32)) out.push(`${p}: not uint32`);
    }
    if (Array.isArray(v)) {
      if (s.minItems !== undefined && v.length < s.minItems) out.push(`${p}: fewer than ${s.minItems} items`);
      if (s.maxItems !== undefined && v.length > s.maxItems) out.push(`${p}: more than ${s.maxItems} items`);
      if (s.items) v.forEach((e, n) => check(e, s.items, `${p}[${n}]`, out));
      if (s["x-kubernetes-list-type"] === "map") {
        const keys = v.map((e) => JSON.stringify((s["x-kubernetes-list-map-keys"] ?? []).map((k: string) => e?.[k])));
        if (new Set(keys).size !== keys.length) out.push(`${p}: duplicate list-map keys`);
      }
    }
    if (isObject(v)) {
      const props = s.properties ?? {};
      for (const [k, pv] of Object.entries(v)) {
        if (k in props) check(pv, props[k], `${p}.${k}`, out);
        else if (isObject(s.additionalProperties)) check(pv, s.additionalProperties, `${p}.${k}`, out);
        else if (s.type === "object" && !s["x-kubernetes-preserve-unknown-fields"] && s.additionalProperties !== true) out.push(`${p}.${k}: unknown field`);
      }
      for (const r of s.required ?? []) if (!(r in v)) out.push(`${p}.${r}: required`);
      if (s.maxProperties !== undefined && Object.keys(v).length > s.maxProperties) out.push(`${p}: more than ${s.maxProperties} properties`);
    }
    const passes = (sub: any) => {
      const e: string[] = [];
      check(v, sub, p, e);
      return e.length === 0;
    };
    if (s.allOf) for (const sub of s.allOf) check(v, sub, p, out);
    if (s.anyOf && !s.anyOf.some(passes)) out.push(`${p}: matches none of anyOf`);
    if (s.oneOf && s.oneOf.filter(passes).length !== 1) out.push(`${p}: matches ${s.oneOf.filter(passes).length} of oneOf, not 1`);
    if (s.not && passes(s.not)) out.push(`${p}: matches "not"`);
    for (const rule of s["x-kubernetes-validations"] ?? []) {
      const fn = CEL[rule.rule];
      if (fn === undefined) out.push(`${p}: CEL rule without a JavaScript equivalent in this test: ${rule.rule}`);
      else if (!fn(v)) out.push(`${p}: ${rule.message ?? rule.rule}`);
    }
  };
  check(value, schema, at, errs);
  return errs;
}

/** A Kubernetes object against the CRD of its apiVersion and kind. */
function checkResource(doc: any): string[] {
  const [group, version] = String(doc.apiVersion).split("/");
  const crd = CRDS.find((c) => c.spec.group === group && c.spec.names.kind === doc.kind);
  if (crd === undefined) return [`${doc.apiVersion} ${doc.kind}: no CRD in tests/vectors/istio-api/crds.yaml`];
  const v = crd.spec.versions.find((x: any) => x.name === version);
  if (v === undefined || !v.served) return [`${doc.apiVersion} ${doc.kind}: version not in the excerpt`];
  const errs: string[] = [];
  const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  if (!dns1123.test(doc.metadata?.name ?? "") || doc.metadata.name.length > 253) errs.push("$.metadata.name: not a DNS-1123 subdomain");
  if (crd.spec.scope === "Namespaced" && doc.metadata?.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(doc.metadata.namespace)) errs.push("$.metadata.namespace: not a DNS-1123 label");
  for (const k of Object.keys(doc)) if (!["apiVersion", "kind", "metadata", "spec"].includes(k)) errs.push(`$.${k}: unknown field`);
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = doc;
  return errs.concat(checkSchema(rest, v.schema.openAPIV3Schema));
}

// ---------------------------------------------------------------------------------------------------
// Security rules, as functions returning problems, so the last test can show each one catching its mistake.

/** Every cluster with a TLS transport socket verifies its server: CA bundle, DNS SAN of the host, SNI. */
function tlsProblems(bootstrap: any): string[] {
  const out: string[] = [];
  for (const c of bootstrap.static_resources.clusters) {
    const ts = c.transport_socket;
    const hosts = (c.load_assignment?.endpoints ?? []).flatMap((e: any) => e.lb_endpoints.map((l: any) => l.endpoint.address.socket_address));
    const tlsPort = hosts.some((a: any) => a.port_value === 443);
    if (ts === undefined) {
      if (tlsPort || /\|443\|/.test(c.name)) out.push(`${c.name}: port 443 without TLS`);
      continue;
    }
    if (ts.name !== "envoy.transport_sockets.tls") continue;
    const tls = ts.typed_config;
    const vc = tls.common_tls_context?.validation_context;
    if (vc === undefined) {
      out.push(`${c.name}: TLS without a validation_context (the server is not verified)`);
      continue;
    }
    if (vc.trusted_ca === undefined) out.push(`${c.name}: no trusted_ca`);
    if (vc.trust_chain_verification === "ACCEPT_UNTRUSTED" || vc.allow_expired_certificate === true) out.push(`${c.name}: verification relaxed`);
    const sans = (vc.match_typed_subject_alt_names ?? []).filter((m: any) => m.san_type === "DNS").map((m: any) => m.matcher?.exact);
    for (const h of hosts) {
      if (!sans.includes(h.address)) out.push(`${c.name}: no DNS SAN match for ${h.address}`);
      if (tls.sni !== h.address) out.push(`${c.name}: sni ${tls.sni} is not ${h.address}`);
    }
  }
  return out;
}

/** No rule fetches keys or discovery over plain HTTP. */
function jwksProblems(config: any): string[] {
  const out: string[] = [];
  for (const r of config.jwtRules ?? []) {
    if (r.jwksUri !== undefined && !r.jwksUri.startsWith("https://")) out.push(`${r.issuer}: jwksUri ${r.jwksUri} is not https`);
    if (r.jwksUri === undefined && r.jwks === undefined && !String(r.issuer).startsWith("https://")) out.push(`${r.issuer}: OIDC discovery over plain http`);
    if (r.jwksCluster !== undefined && !/^outbound\|443\|\|/.test(r.jwksCluster) && r.jwksUri?.startsWith("https://")) out.push(`${r.issuer}: cluster ${r.jwksCluster} is not the TLS port`);
  }
  return out;
}

/** Nothing fails open: Envoy's PluginConfig, Istio's WasmPlugin. */
function failOpenProblems(pluginConfig: any): string[] {
  const out: string[] = [];
  if ("fail_open" in pluginConfig) out.push("fail_open is set (deprecated; use failure_policy)");
  if (pluginConfig.failure_policy !== "FAIL_CLOSED") out.push(`failure_policy is ${pluginConfig.failure_policy}, not FAIL_CLOSED`);
  return out;
}

/** The Istio side of the JWKS cluster: a ServiceEntry creating it and a DestinationRule verifying the server. */
function istioTlsProblems(docs: any[], cluster: string): string[] {
  const [, port, , host] = cluster.split("|");
  const se = docs.find((d) => d.kind === "ServiceEntry" && d.spec.hosts.includes(host) && d.spec.ports.some((p: any) => p.number === Number(port)));
  if (se === undefined) return [`no ServiceEntry creates ${cluster}`];
  const dr = docs.find((d) => d.kind === "DestinationRule" && d.spec.host === host);
  const tls = dr?.spec.trafficPolicy?.portLevelSettings?.find((s: any) => s.port.number === Number(port))?.tls ?? dr?.spec.trafficPolicy?.tls;
  if (tls === undefined) return [`${cluster}: no DestinationRule originates TLS`];
  const out: string[] = [];
  if (tls.mode !== "SIMPLE") out.push(`${cluster}: tls mode ${tls.mode}`);
  if (tls.insecureSkipVerify === true) out.push(`${cluster}: insecureSkipVerify`);
  if (!tls.caCertificates && !tls.credentialName) out.push(`${cluster}: no caCertificates`);
  if (!(tls.subjectAltNames ?? []).includes(host)) out.push(`${cluster}: subjectAltNames do not name ${host}`);
  if (tls.sni !== host) out.push(`${cluster}: sni is not ${host}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------

test("envoy.yaml: the wasm filter runs before the router with the V8 runtime, the SIMD build, and FAIL_CLOSED", () => {
  const { filters, wasm, hcm } = envoyBootstrap();
  expect(filters.map((f: any) => f.name)).toEqual(["envoy.filters.http.wasm", "envoy.filters.http.router"]);
  expect(wasm.vm_config.runtime).toBe("envoy.wasm.runtime.v8");
  expect(wasm.vm_config.code.local.filename).toBe("/etc/envoy/jwt_authn.wasm");
  expect(wasm.failure_policy).toBe("FAIL_CLOSED");
  expect(wasm).not.toHaveProperty("fail_open");
  expect(wasm.configuration["@type"]).toBe("type.googleapis.com/google.protobuf.StringValue");
  expect(hcm.route_config.virtual_hosts[0].routes[0].route.cluster).toBe("backend");
});

test("envoy.yaml passes Envoy's schema: every field is one of its message's (Bootstrap down to CertificateValidationContext)", () => {
  expect(checkProto(envoyBootstrap().doc, "envoy.config.bootstrap.v3.Bootstrap")).toEqual([]);
});

test("envoy.yaml: every TLS cluster verifies its server (CA bundle, DNS SAN, SNI); the key set is fetched over https only; nothing fails open", () => {
  const { doc, wasm } = envoyBootstrap();
  expect(tlsProblems(doc)).toEqual([]);
  expect(jwksProblems(JSON.parse(wasm.configuration.value))).toEqual([]);
  expect(failOpenProblems(wasm)).toEqual([]);
  const jwksCluster = doc.static_resources.clusters.find((c: any) => c.name === "outbound|443||raw.githubusercontent.com");
  expect(jwksCluster.transport_socket.typed_config.common_tls_context.validation_context).toEqual({
    trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" },
    match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "raw.githubusercontent.com" } }],
  });
});

test("envoy.yaml: every cluster the configuration names exists, and the filter accepts the configuration", async () => {
  const { wasm, clusters } = envoyBootstrap();
  const config = JSON.parse(wasm.configuration.value);
  expect(clusters).toContain("backend");
  for (const r of config.jwtRules) expect(clusters).toContain(r.jwksCluster);
  await expectWalkthrough(wasm.configuration.value, { [config.jwtRules[0].jwksCluster]: jwks.url });
});

test("docker-compose.yaml mounts the bootstrap and the built module, and runs an Envoy that has failure_policy (>= 1.33)", () => {
  const dc = parse(read("envoy/docker-compose.yaml"));
  const vols: string[] = dc.services.envoy.volumes;
  expect(vols).toContain("./envoy.yaml:/etc/envoy/envoy.yaml:ro");
  expect(vols).toContain("../build/jwt_authn.wasm:/etc/envoy/jwt_authn.wasm:ro");
  const { doc } = envoyBootstrap();
  const backendAddr = doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  expect(Object.keys(dc.services)).toContain(backendAddr.address);
  expect(dc.services.backend.command.join(" ")).toContain(`listen(${backendAddr.port_value})`);
  const [, major, minor] = /^envoyproxy\/envoy:v(\d+)\.(\d+)/.exec(dc.services.envoy.image)!;
  expect(Number(major) * 1000 + Number(minor)).toBeGreaterThanOrEqual(1033);
});

test("wasm-runtimes.yaml: one filter per runtime, each passing Envoy's schema, FAIL_CLOSED, with the walkthrough configuration", () => {
  const filters = runtimeFilters();
  expect(filters.map((f) => f.typed_config.config.vm_config.runtime)).toEqual(["envoy.wasm.runtime.v8", "envoy.wasm.runtime.wasmtime", "envoy.wasm.runtime.wamr"]);
  const { wasm } = envoyBootstrap();
  for (const f of filters) {
    expect(checkProto(f, "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter")).toEqual([]);
    expect(failOpenProblems(f.typed_config.config)).toEqual([]);
    expect(JSON.parse(f.typed_config.config.configuration.value)).toEqual(JSON.parse(wasm.configuration.value));
    const { vm_config: _v, configuration: _c, ...rest } = f.typed_config.config;
    const { vm_config: _ev, configuration: _ec, ...envoyRest } = wasm;
    expect(rest).toEqual(envoyRest);
  }
});

test("wasm-runtimes.yaml: each runtime gets a build it can load (WAMR's interpreter has no SIMD: the scalar build), and it runs the walkthrough", async () => {
  const wabt = await (require("wabt") as () => Promise<any>)();
  const BUILD = path.join(ROOT, "build");
  const moduleFor: Record<string, string> = {
    "/etc/envoy/jwt_authn.wasm": path.join(BUILD, "jwt_authn.wasm"),
    "/etc/envoy/jwt_authn.scalar.wasm": path.join(BUILD, "jwt_authn.scalar.wasm"),
  };
  // What each runtime, as Envoy builds it, enables: V8 and Wasmtime (on by default since 0.33) have SIMD;
  // proxy-wasm-cpp-host builds WAMR's interpreter with -DWAMR_BUILD_SIMD=0 (bazel/external/wamr.BUILD).
  const simd: Record<string, boolean> = { "envoy.wasm.runtime.v8": true, "envoy.wasm.runtime.wasmtime": true, "envoy.wasm.runtime.wamr": false };
  const validates = (file: string, withSimd: boolean) => {
    try {
      const m = wabt.readWasm(fs.readFileSync(file), { simd: withSimd, readDebugNames: false });
      try {
        m.validate();
        return true;
      } finally {
        m.destroy();
      }
    } catch {
      return false;
    }
  };
  expect(validates(moduleFor["/etc/envoy/jwt_authn.wasm"], false)).toBe(false); // the SIMD build needs SIMD
  for (const f of runtimeFilters()) {
    const vm = f.typed_config.config.vm_config;
    const file = moduleFor[vm.code.local.filename];
    expect(file).toBeDefined();
    expect([vm.runtime, validates(file, simd[vm.runtime])]).toEqual([vm.runtime, true]);
  }
  const wamr = runtimeFilters()[2].typed_config.config;
  const config = JSON.parse(wamr.configuration.value);
  await expectWalkthrough(wamr.configuration.value, { [config.jwtRules[0].jwksCluster]: jwks.url }, moduleFor[wamr.vm_config.code.local.filename]);
});

test("wasmplugin.yaml passes Istio's CRD schemas (WasmPlugin, ServiceEntry, DestinationRule)", () => {
  const docs = istioDocs();
  expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual(["extensions.istio.io/v1alpha1 WasmPlugin", "networking.istio.io/v1 ServiceEntry", "networking.istio.io/v1 DestinationRule"]);
  for (const d of docs) expect([d.kind, checkResource(d)]).toEqual([d.kind, []]);
});

test("wasmplugin.yaml: FAIL_CLOSE, pinned image pulled IfNotPresent, and the JWKS cluster verifies its server", () => {
  const docs = istioDocs();
  const wp = docs.find((d) => d.kind === "WasmPlugin");
  expect(wp.spec.failStrategy).toBe("FAIL_CLOSE");
  expect(wp.spec.imagePullPolicy).toBe("IfNotPresent");
  expect(wp.spec.url).toMatch(/^oci:\/\/[^@]+:[\w.-]+$/); // a tag, with the digest in sha256
  expect(jwksProblems(wp.spec.pluginConfig)).toEqual([]);
  for (const r of wp.spec.pluginConfig.jwtRules) expect(istioTlsProblems(docs, r.jwksCluster)).toEqual([]);
});

test("wasmplugin.yaml: sha256 is the manifest digest of the image `npm run package` makes from build/jwt_authn.wasm", () => {
  // Istio (pkg/wasm/cache.go) compares `sha256` with the pulled image's manifest digest for oci:// urls
  // (with the module's own sha256 only for http(s) urls). The package output is deterministic, so the
  // digest follows from the module; after a change to the filter, `npm run package -- --pin` updates it.
  const wp = istioDocs().find((d) => d.kind === "WasmPlugin");
  const version = JSON.parse(read("package.json")).version;
  const p = packageModule(fs.readFileSync(path.join(ROOT, "build", "jwt_authn.wasm")), version);
  const digest = p.compat.descriptor.digest.slice("sha256:".length);
  if (wp.spec.sha256 !== digest) {
    throw new Error(`envoy/istio/wasmplugin.yaml sha256 is ${wp.spec.sha256}, but the image of build/jwt_authn.wasm has manifest digest ${digest}: run \`npm run package -- --pin\``);
  }
  expect(wp.spec.url.endsWith(`:${version}`)).toBe(true);
});

test("wasmplugin.yaml: AUTHN phase on app: frontend, the walkthrough's configuration, its JWKS cluster created", async () => {
  const docs = istioDocs();
  const wp = docs.find((d) => d.kind === "WasmPlugin");
  expect(wp.spec.phase).toBe("AUTHN");
  expect(wp.spec.selector.matchLabels).toEqual({ app: "frontend" });
  const translated = translateIstio(read("envoy/istio/jwt-walkthrough.yaml"));
  expect(wp.spec.pluginConfig.jwtRules[0].issuer).toBe(translated.jwtRules[0].issuer);
  expect(wp.spec.pluginConfig.jwtRules[0].jwksUri).toBe(translated.jwtRules[0].jwksUri);
  expect(wp.spec.pluginConfig.policies).toEqual(translated.policies);
  // Istio names the ServiceEntry's cluster outbound|<port>||<host>.
  const se = docs.find((d) => d.kind === "ServiceEntry");
  const cluster = `outbound|${se.spec.ports[0].number}||${se.spec.hosts[0]}`;
  expect(wp.spec.pluginConfig.jwtRules[0].jwksCluster).toBe(cluster);
  // Envoy hands a Struct pluginConfig to the module as JSON text.
  await expectWalkthrough(JSON.stringify(wp.spec.pluginConfig), { [cluster]: jwks.url });
});

test("the envoy.yaml and WasmPlugin configurations are the same", () => {
  const { wasm } = envoyBootstrap();
  const wp = istioDocs().find((d) => d.kind === "WasmPlugin");
  expect(JSON.parse(wasm.configuration.value)).toEqual(wp.spec.pluginConfig);
});

/** Anywhere in a parsed document (and in JSON held in strings): fail-open settings and plain-HTTP key sources. */
function auditProblems(node: unknown, at: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown, p: string) => {
    if (typeof v === "string" && /^\s*\{/.test(v)) {
      try {
        walk(JSON.parse(v), `${p}(json)`);
      } catch {
        // not JSON: an ordinary string
      }
    } else if (Array.isArray(v)) v.forEach((e, n) => walk(e, `${p}[${n}]`));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === "fail_open" || k === "failOpen") out.push(`${p}.${k}`);
        if (/^fail(ure)?_?(policy|Strategy)$/i.test(k) && /OPEN/.test(String(x))) out.push(`${p}.${k}: ${x}`);
        if (/^(jwksUri|jwks_uri|uri)$/.test(k) && String(x).startsWith("http://")) out.push(`${p}.${k}: ${x}`);
        if (k === "issuer" && String(x).startsWith("http://")) out.push(`${p}.${k}: ${x} (OIDC discovery over http)`);
        walk(x, `${p}.${k}`);
      }
    }
  };
  walk(node, at);
  return out;
}

test("no file under envoy/ fails open or takes keys over plain HTTP", () => {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name)) files.push(p);
    }
  };
  walk("envoy");
  expect(files.length).toBeGreaterThanOrEqual(5);
  for (const f of files) {
    const docs = parseAllDocuments(read(f)).map((d) => d.toJS());
    expect([f, docs.flatMap((d, n) => auditProblems(d, `doc${n}`))]).toEqual([f, []]);
  }
  expect(auditProblems({ a: { config: { fail_open: false } }, b: '{"jwtRules":[{"jwksUri":"http://x/k"}]}', c: { failStrategy: "FAIL_OPEN" } }, "$")).toEqual([
    "$.a.config.fail_open",
    '$.b(json).jwtRules[0].jwksUri: http://x/k',
    "$.c.failStrategy: FAIL_OPEN",
  ]);
});

test("the checkers reject the mistakes they exist for", () => {
  const { doc } = envoyBootstrap();
  const pluginOf = (d: any) => d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config;
  const jwksTls = (d: any) => d.static_resources.clusters[1].transport_socket.typed_config;
  const envoyErrors = (mutate: (d: any) => void) => {
    const d = clone(doc);
    mutate(d);
    return checkProto(d, "envoy.config.bootstrap.v3.Bootstrap");
  };
  const P = "$.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config";
  expect(envoyErrors((d) => (pluginOf(d).fail_open = false))).toEqual([`${P}.fail_open: deprecated field of envoy.extensions.wasm.v3.PluginConfig`]);
  expect(envoyErrors((d) => (pluginOf(d).failure_policy = "FAIL_CLOSE"))).toEqual([`${P}.failure_policy: not a value of envoy.extensions.wasm.v3.FailurePolicy: "FAIL_CLOSE"`]);
  expect(envoyErrors((d) => (pluginOf(d).vm_config.code.local = { filename: "a", inline_string: "b" }))).toEqual([`${P}.vm_config.code.local: oneof specifier has filename and inline_string`]);
  expect(envoyErrors((d) => (pluginOf(d).configuration["@type"] = "type.googleapis.com/google.protobuf.Struct"))).toEqual([`${P}.configuration.value: not an object (Struct)`]);
  expect(envoyErrors((d) => (jwksTls(d).validation_context = {}))).toEqual(["$.static_resources.clusters[1].transport_socket.typed_config.validation_context: not a field of envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"]);
  expect(envoyErrors((d) => (jwksTls(d).common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type = "SAN_TYPE_UNSPECIFIED"))).toEqual([
    '$.static_resources.clusters[1].transport_socket.typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type: "SAN_TYPE_UNSPECIFIED" is not allowed here',
  ]);
  expect(envoyErrors((d) => delete d.static_resources.clusters[1].transport_socket.name)).toEqual(["$.static_resources.clusters[1].transport_socket.name: required (min_len 1)"]);
  expect(envoyErrors((d) => (d.admin.address.socket_address.port_value = 70000))).toEqual(["$.admin.address.socket_address.port_value: out of range (lte:65535)"]);
  expect(envoyErrors((d) => (d.static_resources.clusters[1].connect_timeout = "5 seconds"))).toEqual(['$.static_resources.clusters[1].connect_timeout: not a Duration ("5s")']);

  const noValidation = clone(doc);
  delete jwksTls(noValidation).common_tls_context;
  expect(tlsProblems(noValidation)).toEqual(["outbound|443||raw.githubusercontent.com: TLS without a validation_context (the server is not verified)"]);
  const plain = clone(doc);
  delete plain.static_resources.clusters[1].transport_socket;
  expect(tlsProblems(plain)).toEqual(["outbound|443||raw.githubusercontent.com: port 443 without TLS"]);
  const otherSan = clone(doc);
  jwksTls(otherSan).common_tls_context.validation_context.match_typed_subject_alt_names[0].matcher = { exact: "evil.example" };
  expect(tlsProblems(otherSan)).toEqual(["outbound|443||raw.githubusercontent.com: no DNS SAN match for raw.githubusercontent.com"]);
  expect(jwksProblems({ jwtRules: [{ issuer: "i", jwksUri: "http://idp/keys" }, { issuer: "http://idp" }] })).toEqual(["i: jwksUri http://idp/keys is not https", "http://idp: OIDC discovery over plain http"]);
  expect(failOpenProblems({ fail_open: false })).toEqual(["fail_open is set (deprecated; use failure_policy)", "failure_policy is undefined, not FAIL_CLOSED"]);

  const docs = istioDocs();
  const istioErrors = (kind: string, mutate: (d: any) => void) => {
    const d = clone(docs.find((x) => x.kind === kind));
    mutate(d);
    return checkResource(d);
  };
  expect(istioErrors("WasmPlugin", (d) => (d.spec.failStrategy = "FAIL_CLOSED"))).toEqual(['$.spec.failStrategy: "FAIL_CLOSED" not one of FAIL_CLOSE, FAIL_OPEN, FAIL_RELOAD']);
  expect(istioErrors("WasmPlugin", (d) => (d.spec.sha256 = d.spec.sha256.toUpperCase()))).toEqual(["$.spec.sha256: does not match (^$|^[a-f0-9]{64}$)"]);
  expect(istioErrors("WasmPlugin", (d) => (d.spec.fail_open = true))).toEqual(["$.spec.fail_open: unknown field"]);
  expect(istioErrors("WasmPlugin", (d) => (d.spec.targetRefs = [{ kind: "Gateway", name: "g" }]))).toEqual(["$.spec: only one of targetRefs or selector can be set"]);
  expect(istioErrors("WasmPlugin", (d) => delete d.spec.url)).toEqual(["$.spec.url: required"]);
  expect(istioErrors("ServiceEntry", (d) => (d.spec.ports[0].number = 0))).toEqual(["$.spec.ports[0].number: port must be between 1-65535"]);
  expect(istioErrors("DestinationRule", (d) => (d.spec.trafficPolicy.portLevelSettings[0].tls.insecureSkipVerify = "no"))).toEqual([
    '$.spec.trafficPolicy.portLevelSettings[0].tls.insecureSkipVerify: not boolean: "no"',
  ]);
  expect(checkResource({ ...docs[1], apiVersion: "networking.istio.io/v1alpha1" })).toEqual(["networking.istio.io/v1alpha1 ServiceEntry: version not in the excerpt"]);
  const insecure = clone(docs);
  insecure[2].spec.trafficPolicy.portLevelSettings[0].tls = { mode: "SIMPLE", insecureSkipVerify: true };
  expect(istioTlsProblems(insecure, "outbound|443||raw.githubusercontent.com")).toEqual([
    "outbound|443||raw.githubusercontent.com: insecureSkipVerify",
    "outbound|443||raw.githubusercontent.com: no caCertificates",
    "outbound|443||raw.githubusercontent.com: subjectAltNames do not name raw.githubusercontent.com",
    "outbound|443||raw.githubusercontent.com: sni is not raw.githubusercontent.com",
  ]);
});
