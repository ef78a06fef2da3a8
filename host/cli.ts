#!/usr/bin/env node
// Command line: `jwt-authn-wasm serve …` parses flags, reads the files and calls serve(); nothing
// else. Exit codes: 0 done, 1 the gateway could not start, 2 bad usage (unknown/missing/bad flags).

import fs from "node:fs";
import path from "node:path";
import { HostError, serve, type Gateway, type ServeOptions } from "./index";
import { parseLogLevel } from "./log";

export const USAGE = `Usage: jwt-authn-wasm serve --config FILE --upstream URL [options]

Runs the proxy-wasm filter in a local host that behaves like Envoy's wasm HTTP filter.

Options:
  --config FILE        plugin configuration (JSON), passed as-is to proxy_on_configure (required)
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
  --fail-open          let requests through when a VM has failed (default: answer 503)
  -h, --help           show this help
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  /** Resolves when the gateway should stop (default: SIGINT or SIGTERM). */
  untilShutdown?(gw: Gateway): Promise<void>;
}

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
]);
const BOOLEAN_FLAGS = new Set(["fail-open"]);

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
  clusters: string[];
  failOpen: boolean;
}

function parseFlags(args: string[]): ParsedArgs {
  const values = new Map<string, string>();
  const clusters: string[] = [];
  let failOpen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (BOOLEAN_FLAGS.has(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      failOpen = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length || args[i + 1].startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      value = args[++i];
    }
    if (name === "cluster") clusters.push(value);
    else if (values.has(name)) throw new UsageError(`option --${name} was given twice`);
    else values.set(name, value);
  }
  return { values, clusters, failOpen };
}

function intFlag(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${text}`);
  return n;
}

function readFlagFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(e as Error).message}`);
  }
}

/** Builds ServeOptions from `serve` arguments; throws UsageError on bad input. */
export function serveOptionsFromArgs(args: string[], env: Record<string, string | undefined>): ServeOptions {
  const { values, clusters, failOpen } = parseFlags(args);
  const configFile = values.get("config");
  if (configFile === undefined) throw new UsageError("--config FILE is required");
  const upstream = values.get("upstream");
  if (upstream === undefined) throw new UsageError("--upstream URL is required");
  const configuration = readFlagFile("config", configFile);
  try {
    JSON.parse(configuration);
  } catch (e) {
    throw new UsageError(`--config ${configFile} is not valid JSON: ${(e as Error).message}`);
  }
  const clusterMap: Record<string, string> = {};
  for (const c of clusters) {
    const eq = c.indexOf("=");
    if (eq <= 0 || eq === c.length - 1) throw new UsageError(`--cluster must be NAME=URL, got ${JSON.stringify(c)}`);
    clusterMap[c.slice(0, eq)] = c.slice(eq + 1);
  }
  const portText = values.get("port") ?? env.PORT;
  const level = values.get("log-level");
  if (level !== undefined && parseLogLevel(level) === undefined) {
    throw new UsageError(`--log-level must be trace, debug, info, warn, error or critical, got ${JSON.stringify(level)}`);
  }
  const vmConfigFile = values.get("vm-config");
  return {
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
    failOpen,
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
  if (command !== "serve") {
    io.err(`jwt-authn-wasm: unknown command ${JSON.stringify(command)} (try --help)`);
    return 2;
  }
  let options: ServeOptions;
  try {
    options = serveOptionsFromArgs(rest, io.env);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`jwt-authn-wasm: ${e.message} (try --help)`);
      return 2;
    }
    throw e;
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
  await (io.untilShutdown ? io.untilShutdown(gw) : waitForSignal());
  await gw.close();
  return 0;
}

if (require.main === module) {
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
