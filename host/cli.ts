#!/usr/bin/env node
// Command line: `jwt-authn-wasm serve …` parses flags, reads the files and calls serve();
// `jwt-authn-wasm check …` runs one request through the filter and explains the answer;
// `jwt-authn-wasm istio FILES…` translates Istio YAML for one workload and prints it (host/istio/).
// Exit codes: 0 done, 1 the gateway could not start or the translation reported problems, 2 bad usage
// (unknown/missing/bad flags).

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import v8 from "node:v8";
import { parseExplanation, formatExplanation, type PolicyExplanation } from "./explain";
import { HostError, serve, type Gateway, type ServeOptions } from "./index";
import { FAILURE_POLICIES, type FailurePolicy } from "./lifecycle";
import { parseLogLevel } from "./log";
import { tlsSettingsFromFiles, type TlsSettings } from "./tls";
import { DEFAULT_FILENAME, DEFAULT_URL, FORMATS, type IstioFormat } from "./istio/formats";
import type { IstioReport, IstioTranslation, Workload } from "./istio/translate";

/**
 * The Istio translation, loaded only by `istio` and `serve --istio`: it needs the `yaml` package, which
 * `serve --config` does without.
 */
function istio(): typeof import("./istio/translate") & typeof import("./istio/render") & typeof import("./istio/check") {
  return { ...require("./istio/translate"), ...require("./istio/render"), ...require("./istio/check") };
}

export const USAGE = `Usage: jwt-authn-wasm serve (--config FILE | --istio FILES...) --upstream URL [options]

Runs the proxy-wasm filter in a local host that behaves like Envoy's wasm HTTP filter.

Options:
  --config FILE        plugin configuration: the file's bytes, passed as they are to
                       proxy_on_configure (any text, even empty, as Envoy; required unless --istio)
  --config-json        refuse a --config file that is not JSON before starting (our filter's
                       configuration is JSON; implied by --debug-headers)
  --upstream URL       where requests go after the filter, e.g. http://127.0.0.1:9000 (required)
  --cluster NAME=URL   a cluster for proxy_http_call (repeatable)
  --port N             listener port (default $PORT, else 8080; 0 = any free port)
  --host ADDR          listener address (default 127.0.0.1)
  --workers N          worker VMs, one per simulated worker thread (default 2)
  --wasm FILE          the module (default build/jwt_authn.wasm in the package)
  --vm-config FILE     VM configuration (buffer 6)
  --root-id ID         Envoy root_id (default "")
  --vm-id ID           Envoy vm_id (default "")
  --plugin-name NAME   Envoy filter name, shown in "wasm log" lines (default "")
  --log-level LEVEL    trace, debug, info, warn, error or critical (default info)
  --max-request-headers-count N
                       Envoy's max_headers_count: a request with more header lines gets 431
                       before the filter (default 100)
  --admin-port N       Envoy-style admin listener on 127.0.0.1 (/stats, /stats/prometheus,
                       /ready; 0 = any free port; default: none)
  --failure-policy P   what a worker does after its VM trapped (Envoy's failure_policy):
                       fail-closed (default: 503 from then on), fail-open (requests go through
                       without the filter) or reload (503, then a fresh VM after a 1-1.5 s backoff)
  --fail-open          deprecated: --failure-policy fail-open (Envoy's deprecated fail_open)
  --watch              reapply the --config or --istio files and the --wasm module when they change,
                       as Envoy applies a listener update: new connections get the new plugin, requests
                       in flight finish on the old one; a refused update is logged and the previous
                       configuration keeps serving
  --watch-interval-ms N
                       how often --watch polls the files' modification times (default 500)
  --access-log         print an access-log line per request on stderr (default: none, as Envoy
                       without an access log configured)
  --debug-headers      set debugHeaders in the configuration: every answer carries
                       x-jwt-authn-decision with the deciding reason (policy, rule, principal)
  --tls-cert FILE      serve HTTPS with this certificate chain (PEM); needs --tls-key
  --tls-key FILE       the certificate's private key (PEM)
  --client-ca FILE     request client certificates, verified against this CA (PEM): mTLS, and
                       the connection.* properties (URI SAN, subject, digest...) of the peer
  --client-cert MODE   with --client-ca: optional (default: a client may send none, one that does
                       not verify is refused, as Envoy) or required (no valid certificate, no
                       handshake: Envoy's require_client_certificate)
  --node-metadata K=V  Envoy node metadata, read by the module as node.metadata.K (repeatable)
  --node-id ID         Envoy node id (node.id; default "")
  --node-cluster NAME  Envoy node cluster (node.cluster; default "")
  --istio FILES...     instead of --config: Istio RequestAuthentication/AuthorizationPolicy YAML,
                       translated for the workload as by the istio command (its workload flags
                       --selector, --namespace, --root-namespace, --service, --gateway,
                       --gateway-class and --allow-partial apply)
  -h, --help           show this help

Usage: jwt-authn-wasm check (--config FILE | --istio FILES...) [options]

Runs the filter in the local host against one request (in front of an echo backend) and explains
the answer: verdict, status, body or what the backend received, principal, claims, and the deciding
policy and rule. Exits 0 whenever the answer was obtained, whatever the verdict.

Options:
  --token T            sent as "authorization: Bearer T"; its claims are decoded for display only
  --method M           request method (default GET)
  --path P             request path and query (default /)
  --header K:V         a request header (repeatable)
  --source-ip IP       sent as x-forwarded-for (source.ip itself is the loopback peer)
  --peer-ip IP         the request's own source address (source.ip, and remote.ip without trusted
                       hops): a loopback address, 127.0.0.0/8 or ::1 (then the gateway listens on ::1)
  --port N             the gateway's listener port (destination.port; default: any free port)
  --tls-cert FILE, --tls-key FILE, --client-ca FILE, --client-cert MODE
                       the gateway listens on HTTPS, as serve
  --cert FILE          the client certificate (PEM) the request presents (with --key, --tls-cert)
  --key FILE           its private key (PEM)
  --sni NAME           the server name the request sends (with --tls-cert)
  --cluster NAME=URL   a cluster for proxy_http_call, as serve (repeatable)
  --wasm FILE          the module (default build/jwt_authn.wasm in the package)
  --json               print one JSON object
  and serve's --istio workload flags (--selector, --namespace, ..., --allow-partial)

Usage: jwt-authn-wasm istio FILES... [options]

Prints the plugin configuration for one workload from Istio RequestAuthentication and
AuthorizationPolicy resources (security.istio.io v1 and v1beta1, multi-document YAML).
What cannot be carried over is reported on stderr as FILE:LINE: KIND/NAMESPACE/NAME: FIELD: WHY,
and the command exits 1 without printing, unless --allow-partial.

Options:
  --selector K=V[,K=V] the workload's labels (repeatable); matched against selector.matchLabels
  --namespace NS       the workload's namespace, and that of resources without one (default default)
  --root-namespace NS  Istio's root namespace: its resources apply mesh-wide (default istio-system)
  --service NAME       a service the workload serves (repeatable): targetRef(s) of kind Service
                       or ServiceEntry naming it apply
  --gateway NAME       the Gateway the workload is (repeatable): targetRef(s) of kind Gateway
  --gateway-class NAME its GatewayClass (repeatable): root-namespace targetRef(s) of kind GatewayClass
  --format FORMAT      config (the plugin configuration JSON, default), wasmplugin (an Istio
                       WasmPlugin) or envoy (an envoy.filters.http.wasm HTTP filter)
  --url URL            the WasmPlugin's url (default ${DEFAULT_URL})
  --filename PATH      the module's path for the envoy format (default ${DEFAULT_FILENAME})
  --wasm FILE          the module whose configuration reader checks the result (default
                       build/jwt_authn.wasm in the package)
  --no-check           do not run the filter's configuration reader on the result
  --allow-partial      print what the filter can honour even when something is reported (what is
                       left out is left out in the direction that denies more), and exit 0
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Resolves when the gateway should stop (default: SIGINT or SIGTERM). */
  untilShutdown?(gw: Gateway): Promise<void>;
}

/** The listener's TLS (serve and check). */
const TLS_FLAGS = ["tls-cert", "tls-key", "client-ca", "client-cert"];
const VALUE_FLAGS = new Set([
  "config",
  "upstream",
  "cluster",
  "port",
  "host",
  "workers",
  "wasm",
  "vm-config",
  "root-id",
  "vm-id",
  "plugin-name",
  "log-level",
  "max-request-headers-count",
  "admin-port",
  ...TLS_FLAGS,
  "node-id",
  "node-cluster",
  "failure-policy",
  "watch-interval-ms",
]);
const BOOLEAN_FLAGS = new Set(["fail-open", "debug-headers", "config-json", "access-log", "watch"]);
/** Flags of the workload an Istio translation is for (istio command and serve --istio). */
const WORKLOAD_VALUE_FLAGS = ["namespace", "root-namespace"];
const WORKLOAD_REPEATED_FLAGS = ["selector", "service", "gateway", "gateway-class"];
const ISTIO_VALUE_FLAGS = new Set([...WORKLOAD_VALUE_FLAGS, "format", "url", "filename", "wasm"]);
const ISTIO_BOOLEAN_FLAGS = new Set(["no-check", "allow-partial"]);

class UsageError extends Error {}

/** The package root: the nearest directory above this file with our package.json. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "jwt-authn-wasm") return dir;
    } catch {
      // keep walking up
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

interface ParsedArgs {
  values: Map<string, string>;
  /** Repeatable flags (--cluster, --selector, …) and the files of --istio. */
  lists: Map<string, string[]>;
  booleans: Set<string>;
  /** Arguments that are not flags (the istio command's FILES). */
  positional: string[];
  clusters: string[];
  failOpen: boolean;
}

interface FlagSpec {
  values: Set<string>;
  repeated: Set<string>;
  booleans: Set<string>;
  /** Flags that take every following argument up to the next flag (--istio FILES...). */
  lists: Set<string>;
  positional: boolean;
}

const SERVE_FLAGS: FlagSpec = {
  values: new Set([...VALUE_FLAGS, ...WORKLOAD_VALUE_FLAGS]),
  repeated: new Set(["cluster", "node-metadata", ...WORKLOAD_REPEATED_FLAGS]),
  booleans: new Set([...BOOLEAN_FLAGS, "allow-partial"]),
  lists: new Set(["istio"]),
  positional: false,
};

const CHECK_FLAGS: FlagSpec = {
  values: new Set(["config", "token", "method", "path", "source-ip", "peer-ip", "port", "wasm", ...TLS_FLAGS, "cert", "key", "sni", ...WORKLOAD_VALUE_FLAGS]),
  repeated: new Set(["cluster", "header", ...WORKLOAD_REPEATED_FLAGS]),
  booleans: new Set(["json", "allow-partial"]),
  lists: new Set(["istio"]),
  positional: false,
};

const ISTIO_FLAGS: FlagSpec = {
  values: ISTIO_VALUE_FLAGS,
  repeated: new Set(WORKLOAD_REPEATED_FLAGS),
  booleans: ISTIO_BOOLEAN_FLAGS,
  lists: new Set(),
  positional: true,
};

function parseFlags(args: string[], spec: FlagSpec = SERVE_FLAGS): ParsedArgs {
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const booleans = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) {
      if (!spec.positional) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (spec.booleans.has(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      booleans.add(name);
      continue;
    }
    if (spec.lists.has(name)) {
      const items = lists.get(name) ?? [];
      if (eq >= 0) items.push(arg.slice(eq + 1));
      while (i + 1 < args.length && !args[i + 1].startsWith("--")) items.push(args[++i]);
      if (items.length === 0) throw new UsageError(`option --${name} needs a value`);
      lists.set(name, items);
      continue;
    }
    if (!spec.values.has(name) && !spec.repeated.has(name)) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length || args[i + 1].startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      value = args[++i];
    }
    if (spec.repeated.has(name)) lists.set(name, [...(lists.get(name) ?? []), value]);
    else if (values.has(name)) throw new UsageError(`option --${name} was given twice`);
    else values.set(name, value);
  }
  return { values, lists, booleans, positional, clusters: lists.get("cluster") ?? [], failOpen: booleans.has("fail-open") };
}

/** The workload from --selector, --namespace, --root-namespace, --service, --gateway, --gateway-class. */
function workloadFromFlags(p: ParsedArgs): Workload {
  const labels: Record<string, string> = {};
  for (const sel of p.lists.get("selector") ?? []) {
    for (const part of sel.split(",")) {
      const eq = part.indexOf("=");
      if (eq <= 0) throw new UsageError(`--selector must be KEY=VALUE[,KEY=VALUE...], got ${JSON.stringify(sel)}`);
      const k = part.slice(0, eq).trim();
      const v = part.slice(eq + 1).trim();
      if (labels[k] !== undefined && labels[k] !== v) throw new UsageError(`--selector gives label ${k} two values (${labels[k]}, ${v})`);
      labels[k] = v;
    }
  }
  const nonEmpty = (flag: string, def: string) => {
    const v = p.values.get(flag);
    if (v === undefined) return def;
    if (v === "") throw new UsageError(`--${flag} must not be empty`);
    return v;
  };
  return {
    namespace: nonEmpty("namespace", "default"),
    rootNamespace: nonEmpty("root-namespace", "istio-system"),
    labels,
    services: p.lists.get("service") ?? [],
    gateways: p.lists.get("gateway") ?? [],
    gatewayClasses: p.lists.get("gateway-class") ?? [],
  };
}

/** Reads the YAML files and translates them for the workload (no filter check yet). */
function translateFiles(files: string[], workload: Workload, flag: string | null): IstioTranslation {
  const sources = files.map((file) => ({ file, text: flag === null ? readFile(file) : readFlagFile(flag, file) }));
  return istio().translateIstioWorkload(sources, workload);
}

/** Thrown by serveOptionsFromArgs when the Istio translation reported problems and --allow-partial is not given. */
export class IstioReportError extends Error {
  constructor(readonly reports: IstioReport[]) {
    super(`the Istio translation reported ${reports.length} problem(s)`);
  }
}

const errorsOf = (reports: IstioReport[]) => reports.filter((r) => r.severity === "error");

/** Prints the reports on stderr, in file and line order (files as given). */
function printReports(io: CliIo, reports: IstioReport[], files: string[]): void {
  const order = (f: string) => {
    const i = files.indexOf(f);
    return i < 0 ? files.length : i;
  };
  const sorted = reports.map((r, i) => ({ r, i })).sort((a, b) => order(a.r.file) - order(b.r.file) || a.r.line - b.r.line || a.i - b.i);
  for (const { r } of sorted) io.err(istio().formatReport(r));
}

function intFlag(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${text}`);
  return n;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

function readFlagBytes(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(e as Error).message}`);
  }
}

function readFlagFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(e as Error).message}`);
  }
}

interface ServeSetup {
  options: ServeOptions;
  /** --debug-headers: debugHeaders is set in the configuration (also after an --istio translation). */
  debugHeaders?: boolean;
  /** With --istio: the translation (configuration not yet checked by the filter) and its files. */
  istio?: { translation: IstioTranslation; files: string[]; allowPartial: boolean };
  /** With --watch: the files polled (configuration and module) and how often. */
  watch?: { files: string[]; intervalMs: number };
}

/**
 * Builds ServeOptions from `serve` arguments; throws UsageError on bad input, and IstioReportError when
 * --istio's translation reports problems without --allow-partial. (main() also runs the filter's own
 * configuration reader on an --istio translation, to report what it refuses at its YAML line.)
 */
export function serveOptionsFromArgs(args: string[], env: Record<string, string | undefined>): ServeOptions {
  const setup = serveSetupFromArgs(args, env);
  if (setup.istio && !setup.istio.allowPartial && errorsOf(setup.istio.translation.reports).length > 0) {
    throw new IstioReportError(setup.istio.translation.reports);
  }
  return setup.options;
}

/** The configuration JSON with `debugHeaders: true` (JSON re-serialized). */
export function withDebugHeaders(configuration: string): string {
  const doc = JSON.parse(configuration) as unknown;
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return configuration;
  return JSON.stringify({ ...(doc as Record<string, unknown>), debugHeaders: true });
}

/** The usage checks of --config / --istio and the workload flags (before anything is read). */
function checkConfigFlags(parsed: ParsedArgs): void {
  const { values } = parsed;
  const configFile = values.get("config");
  const istioFiles = parsed.lists.get("istio");
  if (configFile !== undefined && istioFiles !== undefined) throw new UsageError("give --config FILE or --istio FILES..., not both");
  if (istioFiles === undefined) {
    for (const f of [...WORKLOAD_VALUE_FLAGS, ...WORKLOAD_REPEATED_FLAGS, "allow-partial"]) {
      if (values.has(f) || parsed.lists.has(f) || parsed.booleans.has(f)) throw new UsageError(`--${f} goes with --istio FILES...`);
    }
  }
  if (configFile === undefined && istioFiles === undefined) throw new UsageError("--config FILE is required");
}

/**
 * The configuration from --config FILE or --istio FILES... (translation not yet checked by the filter).
 * With `raw`, a --config file is taken as its bytes (`bytes`), unchecked, as Envoy passes any string;
 * otherwise it must be JSON.
 */
function configurationFromFlags(
  parsed: ParsedArgs,
  raw = false,
): { configuration: string; bytes?: Buffer; istio?: ServeSetup["istio"] } {
  checkConfigFlags(parsed);
  const configFile = parsed.values.get("config");
  const istioFiles = parsed.lists.get("istio");
  let configuration: string;
  let istio: ServeSetup["istio"];
  if (istioFiles !== undefined) {
    const translation = translateFiles(istioFiles, workloadFromFlags(parsed), "istio");
    istio = { translation, files: istioFiles, allowPartial: parsed.booleans.has("allow-partial") };
    configuration = JSON.stringify(translation.configuration);
  } else if (raw) {
    const bytes = readFlagBytes("config", configFile as string);
    return { configuration: bytes.toString("utf8"), bytes };
  } else {
    configuration = readFlagFile("config", configFile as string);
    try {
      JSON.parse(configuration);
    } catch (e) {
      throw new UsageError(`--config ${configFile} is not valid JSON: ${(e as Error).message}`);
    }
  }
  return { configuration, istio };
}

function clustersFromFlags(clusters: string[]): Record<string, string> {
  const clusterMap: Record<string, string> = {};
  for (const c of clusters) {
    const eq = c.indexOf("=");
    if (eq <= 0 || eq === c.length - 1) throw new UsageError(`--cluster must be NAME=URL, got ${JSON.stringify(c)}`);
    clusterMap[c.slice(0, eq)] = c.slice(eq + 1);
  }
  return clusterMap;
}

/** ServeOptions.tls from --tls-cert, --tls-key, --client-ca, --client-cert (undefined without them). */
function tlsFromFlags(values: Map<string, string>): TlsSettings | undefined {
  const s = tlsSettingsFromFiles({
    cert: values.get("tls-cert"), key: values.get("tls-key"), clientCa: values.get("client-ca"), clientCert: values.get("client-cert"),
  });
  if (typeof s === "string") throw new UsageError(s);
  return s ?? undefined;
}

function nodeMetadataFromFlags(items: string[]): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--node-metadata must be KEY=VALUE, got ${JSON.stringify(item)}`);
    metadata[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return metadata;
}

function serveSetupFromArgs(args: string[], env: Record<string, string | undefined>): ServeSetup {
  const parsed = parseFlags(args);
  const { values, clusters, failOpen } = parsed;
  checkConfigFlags(parsed);
  if (!values.has("upstream")) throw new UsageError("--upstream URL is required");
  const upstream = values.get("upstream") as string;
  const debugHeaders = parsed.booleans.has("debug-headers");
  const loaded = configurationFromFlags(parsed, !debugHeaders && !parsed.booleans.has("config-json"));
  const istio = loaded.istio;
  const configuration = loaded.bytes ?? (debugHeaders ? withDebugHeaders(loaded.configuration) : loaded.configuration);
  const clusterMap = clustersFromFlags(clusters);
  const portText = values.get("port") ?? env.PORT;
  const level = values.get("log-level");
  if (level !== undefined && parseLogLevel(level) === undefined) {
    throw new UsageError(`--log-level must be trace, debug, info, warn, error or critical, got ${JSON.stringify(level)}`);
  }
  const vmConfigFile = values.get("vm-config");
  const policy = values.get("failure-policy");
  if (policy !== undefined && !FAILURE_POLICIES.includes(policy as FailurePolicy)) {
    throw new UsageError(`--failure-policy must be fail-closed, fail-open or reload, got ${JSON.stringify(policy)}`);
  }
  if (policy !== undefined && failOpen) throw new UsageError("give --failure-policy or --fail-open, not both");
  if (values.has("watch-interval-ms") && !parsed.booleans.has("watch")) throw new UsageError("--watch-interval-ms goes with --watch");
  const options: ServeOptions = {
    wasm: values.get("wasm") ?? path.join(packageRoot(), "build", "jwt_authn.wasm"),
    configuration,
    vmConfiguration: vmConfigFile === undefined ? undefined : readFlagFile("vm-config", vmConfigFile),
    upstream,
    clusters: clusterMap,
    port: portText === undefined ? 8080 : intFlag(values.has("port") ? "port" : "port (from PORT)", portText, 0, 65535),
    host: values.get("host"),
    workers: values.has("workers") ? intFlag("workers", values.get("workers") as string, 1, 256) : undefined,
    rootId: values.get("root-id"),
    vmId: values.get("vm-id"),
    pluginName: values.get("plugin-name"),
    logLevel: level === undefined ? undefined : parseLogLevel(level),
    maxRequestHeadersCount: values.has("max-request-headers-count")
      ? intFlag("max-request-headers-count", values.get("max-request-headers-count") as string, 1, 2 ** 32 - 1)
      : undefined,
    adminPort: values.has("admin-port") ? intFlag("admin-port", values.get("admin-port") as string, 0, 65535) : undefined,
    failurePolicy: failOpen ? "fail-open" : (policy as FailurePolicy | undefined),
    accessLog: parsed.booleans.has("access-log"),
    tls: tlsFromFlags(values),
    nodeMetadata: nodeMetadataFromFlags(parsed.lists.get("node-metadata") ?? []),
    nodeId: values.get("node-id"),
    nodeCluster: values.get("node-cluster"),
  };
  let watch: ServeSetup["watch"];
  if (parsed.booleans.has("watch")) {
    const intervalText = values.get("watch-interval-ms");
    const files = [...(values.has("config") ? [values.get("config") as string] : []), ...(parsed.lists.get("istio") ?? [])];
    if (typeof options.wasm === "string") files.push(options.wasm);
    watch = { files, intervalMs: intervalText === undefined ? 500 : intFlag("watch-interval-ms", intervalText, 1, 3_600_000) };
  }
  return { options, istio, debugHeaders, watch };
}

/**
 * serve --watch: polls the files' modification times (fs.watchFile: polling works the same on every file
 * system and sees editors' write-to-temp-then-rename saves, which fs.watch can miss) and, once they have
 * been quiet for one interval, reads every flag's files again and calls gw.reconfigure(). Returns the
 * function that stops watching and waits for an update in progress.
 */
function watchConfiguration(io: CliIo, args: string[], gw: Gateway, watch: NonNullable<ServeSetup["watch"]>): () => Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const apply = async (): Promise<void> => {
    let setup: ServeSetup;
    try {
      setup = serveSetupFromArgs(args, io.env);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.err(`jwt-authn-wasm: --watch: ${e.message}; the previous configuration keeps serving`);
      return;
    }
    let configuration: string | Uint8Array = setup.options.configuration;
    if (setup.istio !== undefined) {
      const translated = await istioConfiguration(io, setup.istio, setup.options.wasm, "reconfiguring", "applies");
      if (typeof translated === "number") return;
      configuration = setup.debugHeaders ? withDebugHeaders(translated) : translated;
    }
    try {
      if ((await gw.reconfigure({ configuration, wasm: setup.options.wasm })) === "applied") {
        io.err(`jwt-authn-wasm: configuration updated (${watch.files.join(", ")})`);
      }
    } catch (e) {
      // The gateway has logged why; the previous configuration keeps serving.
      if (!(e instanceof HostError)) throw e;
    }
  };
  const changed = (curr: fs.Stats, prev: fs.Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      running = running.then(apply).catch((e: unknown) => io.err(`jwt-authn-wasm: --watch: ${(e as Error).message}`));
    }, watch.intervalMs);
  };
  for (const f of watch.files) fs.watchFile(f, { interval: watch.intervalMs, persistent: false }, changed);
  return async () => {
    for (const f of watch.files) fs.unwatchFile(f, changed);
    if (timer) clearTimeout(timer);
    await running;
  };
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

const defaultIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
  env: process.env,
};

/**
 * The plugin configuration from an Istio translation (serve --istio, check --istio): checked by the
 * filter's own reader, its reports printed; an exit code instead when it cannot be used.
 */
async function istioConfiguration(
  io: CliIo, setup: NonNullable<ServeSetup["istio"]>, wasm: string | Uint8Array, doing: string, does: string,
): Promise<string | number> {
  const { translation, files, allowPartial } = setup;
  try {
    await istio().checkWithFilter(translation, wasm);
  } catch (e) {
    if (e instanceof HostError) {
      io.err(`jwt-authn-wasm: ${e.code}: ${e.message}`);
      return e.code === "HOST_ERR_BAD_OPTIONS" ? 2 : 1;
    }
    throw e;
  }
  printReports(io, translation.reports, files);
  const errors = errorsOf(translation.reports).length;
  if (errors > 0 && !allowPartial) {
    io.err(`jwt-authn-wasm: the Istio translation reported ${errors} problem(s); not ${doing} (--allow-partial ${does} the rest)`);
    return 1;
  }
  return JSON.stringify(translation.configuration);
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(USAGE);
    return 0;
  }
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (command === "istio") return istioCommand(rest, io);
  if (command === "check") return checkCommand(rest, io);
  if (command !== "serve") {
    io.err(`jwt-authn-wasm: unknown command ${JSON.stringify(command)} (try --help)`);
    return 2;
  }
  let setup: ServeSetup;
  try {
    setup = serveSetupFromArgs(rest, io.env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`jwt-authn-wasm: ${e.message} (try --help)`);
      return 2;
    }
    throw e;
  }
  const options = setup.options;
  if (setup.istio !== undefined) {
    const configuration = await istioConfiguration(io, setup.istio, options.wasm, "serving", "serves");
    if (typeof configuration === "number") return configuration;
    options.configuration = configuration;
    if (setup.debugHeaders) options.configuration = withDebugHeaders(options.configuration);
  }
  let gw: Gateway;
  try {
    gw = await serve({ ...options, log: (line) => io.err(line) });
  } catch (e) {
    if (e instanceof HostError) {
      io.err(`jwt-authn-wasm: ${e.code}: ${e.message}`);
      return e.code === "HOST_ERR_BAD_OPTIONS" ? 2 : 1;
    }
    throw e;
  }
  io.out(`jwt-authn-wasm: listening on ${gw.url} (${gw.workers.length} workers, upstream ${options.upstream})`);
  if (gw.adminUrl !== undefined) io.out(`jwt-authn-wasm: admin on ${gw.adminUrl} (curl ${gw.adminUrl}/stats/prometheus)`);
  const stopWatching = setup.watch ? watchConfiguration(io, rest, gw, setup.watch) : null;
  await (io.untilShutdown ? io.untilShutdown(gw) : waitForSignal());
  await stopWatching?.();
  await gw.close();
  return 0;
}

function headerText(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join("; ") : (v ?? "");
}

/** What `check` found; `--json` prints it as is. */
export interface CheckResult {
  verdict: "allowed" | "denied";
  status: number;
  /** The local reply's body (a denial). */
  body?: string;
  /** What the backend received (an allowed request): request line and headers (tokens redacted). */
  forwarded?: { method: string; path: string; headers: Record<string, string | string[]> };
  /** The x-jwt-authn-decision header ("" when the answer carried none). */
  decision: string;
  /** `iss/sub` of the verified token, or "-". */
  principal: string;
  /** The --token's payload decoded as sent (null without --token or when it does not decode). */
  claims: unknown;
  /** Whether the filter verified the token (from the decision). */
  claimsVerified: boolean;
  /** Every policy's rules: matched, or the first field that did not (empty without policies or when authentication failed). */
  policies: PolicyExplanation[];
}

/** First 10 characters and "…", so a token is recognizable but never printed whole. */
function redact(value: string): string {
  return value.length > 10 ? `${value.slice(0, 10)}…` : value;
}

/** The header names configured as token locations (lower-cased), plus authorization. */
function tokenHeaderNames(configuration: string): Set<string> {
  const names = new Set(["authorization"]);
  try {
    const doc = JSON.parse(configuration) as { jwtRules?: { fromHeaders?: { name?: unknown }[] }[] };
    for (const rule of doc.jwtRules ?? []) {
      for (const h of rule.fromHeaders ?? []) if (typeof h.name === "string") names.add(h.name.toLowerCase());
    }
  } catch {
    // the filter reports a bad configuration
  }
  return names;
}

/** The payload of a compact JWS, decoded for display only (never verified here). */
function decodeClaims(token: string): unknown {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as unknown;
  } catch {
    return null;
  }
}

/** The echo backend: 200 with the request line and headers it received, as JSON. */
function startEcho(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = JSON.stringify({ method: req.method, path: req.url, headers: req.headers });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** What check's request presents over HTTPS: a client certificate and key, an SNI. */
interface ClientTls {
  cert?: string;
  key?: string;
  servername?: string;
}

function sendOne(
  url: string,
  method: string,
  reqPath: string,
  headers: Record<string, string | string[]>,
  client: ClientTls = {},
  localAddress?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(reqPath, url);
    // Over HTTPS the gateway is our own: its certificate is not checked (its CA is not known here).
    const send = target.protocol === "https:"
      ? (cb: (res: http.IncomingMessage) => void) => https.request(target, { method, headers, agent: false, rejectUnauthorized: false, localAddress, ...client }, cb)
      : (cb: (res: http.IncomingMessage) => void) => http.request(target, { method, headers, agent: false, localAddress }, cb);
    const req = send((res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function formatCheck(r: CheckResult): string {
  const lines = [`verdict:   ${r.verdict}`, `status:    ${r.status}`];
  if (r.body !== undefined) lines.push(`body:      ${r.body}`);
  if (r.forwarded !== undefined) {
    lines.push(`forwarded: ${r.forwarded.method} ${r.forwarded.path}`);
    lines.push("backend received:");
    for (const [k, v] of Object.entries(r.forwarded.headers)) {
      for (const one of Array.isArray(v) ? v : [v]) lines.push(`  ${k}: ${one}`);
    }
  }
  lines.push(`decision:  ${r.decision === "" ? "(none: the answer did not come from the filter)" : r.decision}`);
  lines.push(`principal: ${r.principal}`);
  lines.push(...formatExplanation(r.policies));
  if (r.claims === null) lines.push("claims:    -");
  else {
    lines.push(`claims:    (claims as sent; the filter verified: ${r.claimsVerified ? "yes" : "no"})`);
    for (const l of JSON.stringify(r.claims, null, 2).split("\n")) lines.push(`  ${l}`);
  }
  return lines.join("\n");
}

/** `jwt-authn-wasm check …`: one request through the filter, explained; resolves to the exit code. */
async function checkCommand(args: string[], io: CliIo): Promise<number> {
  let parsed: ParsedArgs;
  let configuration: string;
  let istioSetup: ServeSetup["istio"];
  let clusterMap: Record<string, string>;
  const headers: Record<string, string | string[]> = {};
  let method: string;
  let reqPath: string;
  let tls: TlsSettings | undefined;
  const client: ClientTls = {};
  let peerIp: string | undefined;
  let listenPort = 0;
  try {
    parsed = parseFlags(args, CHECK_FLAGS);
    tls = tlsFromFlags(parsed.values);
    const certFile = parsed.values.get("cert");
    const keyFile = parsed.values.get("key");
    if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError("--cert FILE and --key FILE go together");
    for (const f of ["cert", "sni"]) {
      if (parsed.values.has(f) && tls === undefined) throw new UsageError(`--${f} needs --tls-cert and --tls-key (an HTTPS gateway)`);
    }
    if (certFile !== undefined) client.cert = readFlagFile("cert", certFile);
    if (keyFile !== undefined) client.key = readFlagFile("key", keyFile);
    const sni = parsed.values.get("sni");
    if (sni !== undefined) client.servername = sni;
    const loaded = configurationFromFlags(parsed);
    configuration = loaded.configuration;
    istioSetup = loaded.istio;
    clusterMap = clustersFromFlags(parsed.clusters);
    method = parsed.values.get("method") ?? "GET";
    if (!/^[A-Za-z]+$/.test(method)) throw new UsageError(`--method must be a method name, got ${JSON.stringify(method)}`);
    method = method.toUpperCase();
    reqPath = parsed.values.get("path") ?? "/";
    if (!reqPath.startsWith("/")) throw new UsageError(`--path must start with /, got ${JSON.stringify(reqPath)}`);
    for (const h of parsed.lists.get("header") ?? []) {
      const colon = h.indexOf(":");
      if (colon <= 0) throw new UsageError(`--header must be NAME:VALUE, got ${JSON.stringify(h)}`);
      const name = h.slice(0, colon).trim().toLowerCase();
      const value = h.slice(colon + 1).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
    }
    const token = parsed.values.get("token");
    if (token !== undefined) {
      if (token === "") throw new UsageError("--token must not be empty");
      const prev = headers.authorization;
      const value = `Bearer ${token}`;
      headers.authorization = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
    }
    const ip = parsed.values.get("source-ip");
    if (ip !== undefined) {
      if (net.isIP(ip) === 0) throw new UsageError(`--source-ip must be an IP address, got ${JSON.stringify(ip)}`);
      headers["x-forwarded-for"] = ip;
    }
    peerIp = parsed.values.get("peer-ip");
    if (peerIp !== undefined && !(net.isIPv4(peerIp) ? peerIp.startsWith("127.") : peerIp === "::1")) {
      throw new UsageError(`--peer-ip must be a loopback address (127.0.0.0/8 or ::1), got ${JSON.stringify(peerIp)}`);
    }
    const portText = parsed.values.get("port");
    if (portText !== undefined) listenPort = intFlag("port", portText, 0, 65535);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`jwt-authn-wasm: ${e.message} (try --help)`);
      return 2;
    }
    throw e;
  }
  const wasm = parsed.values.get("wasm") ?? path.join(packageRoot(), "build", "jwt_authn.wasm");
  if (istioSetup !== undefined) {
    const translated = await istioConfiguration(io, istioSetup, wasm, "checking", "checks");
    if (typeof translated === "number") return translated;
    configuration = translated;
  }
  configuration = withDebugHeaders(configuration);
  const echo = await startEcho();
  const echoUrl = `http://127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
  let gw: Gateway | undefined;
  try {
    try {
      gw = await serve({
        wasm,
        configuration,
        upstream: echoUrl,
        clusters: clusterMap,
        port: listenPort,
        host: peerIp === "::1" ? "::1" : undefined,
        workers: 1,
        logLevel: "warn",
        log: (line) => io.err(line),
        tls,
      });
    } catch (e) {
      if (e instanceof HostError) {
        io.err(`jwt-authn-wasm: ${e.code}: ${e.message}`);
        return e.code === "HOST_ERR_BAD_OPTIONS" ? 2 : 1;
      }
      throw e;
    }
    let res: Awaited<ReturnType<typeof sendOne>>;
    try {
      res = await sendOne(gw.url, method, reqPath, headers, client, peerIp);
    } catch (e) {
      // e.g. a TLS handshake the gateway refused (no or an untrusted client certificate)
      io.err(`jwt-authn-wasm: the request failed: ${(e as Error).message}`);
      return 1;
    }
    const d = res.headers["x-jwt-authn-decision"];
    const decision = Array.isArray(d) ? d.join(", ") : (d ?? "");
    const principal = /(?:^| )principal=(\S+)/.exec(decision)?.[1] ?? "-";
    const token = parsed.values.get("token");
    const result: CheckResult = {
      verdict: decision.startsWith("allow") ? "allowed" : "denied",
      status: res.status,
      decision,
      principal,
      claims: token === undefined ? null : decodeClaims(token),
      claimsVerified: principal !== "-" && !decision.startsWith("authn-failed"),
      policies: parseExplanation(headerText(res.headers["x-jwt-authn-policies"])),
    };
    if (result.verdict === "allowed") {
      let seen: { method?: string; path?: string; headers?: Record<string, string | string[]> } = {};
      try {
        seen = JSON.parse(res.body) as typeof seen;
      } catch {
        // not from the echo backend
      }
      const secret = tokenHeaderNames(configuration);
      const shown: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(seen.headers ?? {})) {
        shown[k] = secret.has(k.toLowerCase()) ? (Array.isArray(v) ? v.map(redact) : redact(v)) : v;
      }
      result.forwarded = { method: seen.method ?? method, path: seen.path ?? reqPath, headers: shown };
    } else result.body = res.body;
    io.out(parsed.booleans.has("json") ? JSON.stringify(result, null, 2) : formatCheck(result));
    return 0;
  } finally {
    if (gw !== undefined) await gw.close();
    echo.closeAllConnections();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  }
}

/** `jwt-authn-wasm istio FILES... [options]`: prints the translation; resolves to the exit code. */
async function istioCommand(args: string[], io: CliIo): Promise<number> {
  let files: string[];
  let translation: IstioTranslation;
  let format: IstioFormat;
  let parsed: ParsedArgs;
  let workload: Workload;
  try {
    parsed = parseFlags(args, ISTIO_FLAGS);
    files = parsed.positional;
    if (files.length === 0) throw new UsageError("istio needs at least one YAML file");
    const f = parsed.values.get("format") ?? "config";
    if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format must be ${FORMATS.join(", ")}, got ${JSON.stringify(f)}`);
    format = f as IstioFormat;
    workload = workloadFromFlags(parsed);
    translation = translateFiles(files, workload, null);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`jwt-authn-wasm: ${e.message} (try --help)`);
      return 2;
    }
    throw e;
  }
  if (!parsed.booleans.has("no-check")) {
    const wasm = parsed.values.get("wasm") ?? path.join(packageRoot(), "build", "jwt_authn.wasm");
    try {
      await istio().checkWithFilter(translation, wasm);
    } catch (e) {
      if (e instanceof HostError) {
        io.err(`jwt-authn-wasm: cannot run the filter to check the configuration: ${e.code}: ${e.message} (--no-check skips the check)`);
        return 1;
      }
      throw e;
    }
  }
  printReports(io, translation.reports, files);
  const errors = errorsOf(translation.reports).length;
  if (errors > 0 && !parsed.booleans.has("allow-partial")) {
    io.err(`jwt-authn-wasm: ${errors} problem(s) reported; nothing printed (--allow-partial prints what the filter can honour)`);
    return 1;
  }
  if (translation.applied.length === 0) io.err(`jwt-authn-wasm: no resource applies to the workload (namespace ${workload.namespace})`);
  io.out(
    istio().renderConfiguration(translation.configuration, {
      format,
      namespace: workload.namespace,
      labels: workload.labels,
      gateway: workload.gateways[0],
      service: workload.services[0],
      url: parsed.values.get("url"),
      filename: parsed.values.get("filename"),
    }),
  );
  return 0;
}

if (require.main === module) {
  // As Envoy starts V8 (proxy-wasm-cpp-host src/v8/v8.cc): optimized code for the module from the first
  // call, not Liftoff's baseline code, so a local load test measures the filter as it runs in Envoy.
  // Only the command line: the test suites compile many modules and keep V8's defaults.
  v8.setFlagsFromString("--no-liftoff");
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`jwt-authn-wasm: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
