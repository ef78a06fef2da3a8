// The gateway: N simulated worker threads in this process (each TCP connection pinned to one worker,
// round-robin), the node:http (or, with TLS, node:https) listener on 127.0.0.1, start-up/shutdown, and
// the listener side of a reconfiguration (connections of a replaced plugin drain). Which VM a stream gets
// (canary, failure policy, draining plugins) is lifecycle.ts's; per-request behaviour stream.ts's; the
// listener's TLS tls.ts's.

import http from "node:http";
import https from "node:https";
import type tls from "node:tls";
import type net from "node:net";
import { HostError } from "./errors";
import {
  DEFAULT_BUFFER_LIMIT_BYTES,
  DEFAULT_ROUTE_TIMEOUT_MS,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  type LogLevelName,
} from "./abi/constants";
import { loadModule } from "./abi/module";
import {
  DEFAULT_RELOAD_BACKOFF_MS,
  FAILURE_POLICIES,
  Plugin,
  PluginLifecycle,
  configurationBytes,
  pluginInfo,
  readWasm,
  type FailurePolicy,
  type HostServices,
  type PluginChange,
} from "./lifecycle";
import { startAdmin, type AdminServer } from "./admin";
import { HostClock } from "./clock";
import { ClusterManager } from "./cluster";
import { DEFAULT_MAX_REQUEST_HEADERS_COUNT, decodeRequestHead } from "./codec";
import { Logger, parseLogLevel } from "./log";
import { sharedStore } from "./shared";
import { StatsStore } from "./stats";
import { HttpStream, type ConnectionInfo, type GatewayCore } from "./stream";
import { listenerTls, refusedPeer, tlsFacts, type TlsSettings } from "./tls";

export interface ServeOptions {
  /** Path of the .wasm file, or its bytes. */
  wasm: string | Uint8Array;
  /**
   * Plugin configuration (buffer 7, read in proxy_on_configure): any bytes, possibly empty, passed as
   * they are (Envoy's StringValue/BytesValue); a string is passed as its UTF-8 bytes.
   */
  configuration: string | Uint8Array;
  /** VM configuration (buffer 6, size passed to proxy_on_vm_start). */
  vmConfiguration?: string;
  /** Envoy's root_id ("" by default, as in Envoy). */
  rootId?: string;
  /** Envoy's vm_id ("" by default); shared data and queues are keyed by it. */
  vmId?: string;
  /** Envoy's filter config name ("" by default); first part of the "wasm log" prefix. */
  pluginName?: string;
  /** Upstream base URL, e.g. "http://127.0.0.1:9000" (http or https). */
  upstream: string;
  /** Cluster name -> base URL, for proxy_http_call. */
  clusters?: Record<string, string>;
  /** Listener port; 0 = ephemeral. Default 8080. */
  port?: number;
  /** Listener address. Default 127.0.0.1. */
  host?: string;
  /** Number of worker VMs. Default 2. */
  workers?: number;
  /**
   * Envoy's failure_policy, after a VM failed at runtime (a trap): "fail-closed" (default) answers 503 on
   * that worker from then on, "fail-open" lets its requests through without the filter, "reload" answers
   * 503 and gives the worker a fresh VM (instance, vm_start, configure) for the next stream after the
   * backoff (reloadBackoffMs).
   */
  failurePolicy?: FailurePolicy;
  /** Envoy's reload_config.backoff.base_interval (default 1000 ms, at least 2): waits are drawn from [base, 1.5 × base). */
  reloadBackoffMs?: number;
  /** @deprecated Envoy's deprecated fail_open: true means failurePolicy "fail-open"; not both. */
  failOpen?: boolean;
  /** Threshold for module and host logs. Default info. */
  logLevel?: LogLevelName;
  /** Receives every log line (module logs, host errors, access log). Default: stderr. */
  log?: (line: string) => void;
  /** Route timeout (Envoy default 15000 ms; 0 disables). */
  routeTimeoutMs?: number;
  /** HCM stream_idle_timeout (Envoy default 300000 ms; 0 disables). */
  streamIdleTimeoutMs?: number;
  /** per_connection_buffer_limit_bytes (Envoy default 1 MiB). */
  bufferLimitBytes?: number;
  /**
   * HCM common_http_protocol_options.max_headers_count (Envoy default 100): a request with more header
   * lines gets 431 (details http1.too_many_headers) before any filter runs.
   */
  maxRequestHeadersCount?: number;
  /**
   * A test clock (default false: the system clocks and real timers). When true, the wall clock every VM
   * reads (proxy_get_current_time_nanoseconds, WASI clock_time_get) starts at the real time of serve()
   * and moves only through Gateway.advance()/advanceClock(); tick timers and proxy_http_call timeouts
   * are virtual timers that advance() fires. Stream-level timers (routeTimeoutMs, streamIdleTimeoutMs)
   * and everything on the wire stay on real time.
   */
  manualClock?: boolean;
  /**
   * Real milliseconds settle() (and advance(), after each timer it fires) waits for an in-flight
   * proxy_http_call to complete before moving on (default 50). A call that takes longer stays in flight
   * and completes later, or at its (virtual) timeout.
   */
  settleWindowMs?: number;
  /** Envoy-style admin listener on 127.0.0.1 (/stats, /stats/prometheus, /ready); 0 = ephemeral. Default: none. */
  adminPort?: number;
  /**
   * Print an access-log line per request through `log` (default false: Envoy has no access log unless
   * one is configured). The line shows :method and :path as the filters left them.
   */
  accessLog?: boolean;
  /**
   * HTTPS listener (Envoy's DownstreamTlsContext; see tls.ts): PEM certificate chain and key, and with
   * clientCa, client certificates verified against it, "optional" (default) or "required". The
   * gateway's url becomes https://; connection.* properties carry the TLS facts.
   */
  tls?: TlsSettings;
  /** Envoy's node metadata (node.metadata.KEY string values). Default {}. */
  nodeMetadata?: Record<string, string>;
  /** Envoy's node id (--service-node) and cluster (--service-cluster). Default "". */
  nodeId?: string;
  nodeCluster?: string;
}

export interface WorkerInfo {
  id: number;
  readonly failed: boolean;
  memoryBytes(): number;
  /**
   * Test hook: fails this worker's current VM exactly as a trap does ("Wasm VM failed" logged, the failure
   * policy applies to its requests, no more ticks, call-out and queue callbacks no longer delivered).
   * Shared data and queues stay (they belong to the vm_id). Call it between VM calls (from a test), not
   * from inside one.
   */
  crash(): void;
}

export interface Gateway {
  port: number;
  url: string;
  /** The admin listener's base URL ("http://127.0.0.1:N") when ServeOptions.adminPort was given. */
  adminUrl?: string;
  /** The workers' current VMs (after a reload or a reconfigure(), the new ones). */
  workers: WorkerInfo[];
  /**
   * Applies a new plugin configuration and/or module as Envoy applies an LDS update with a new wasm filter
   * config: the new plugin's canary, then a VM per worker, are started first; if anything refuses, the
   * current plugin keeps serving, the reason is logged (warning) and the HostError rejects. Otherwise new
   * connections get the new plugin; streams in flight finish on the old one, whose connections drain (idle
   * ones are closed, a response in flight carries `connection: close`) and whose VMs get proxy_on_done once
   * their last stream ended. Resolves "unchanged" (nothing done) when both are byte-for-byte the current ones.
   * @example
   *   await gw.reconfigure({ configuration: fs.readFileSync("config.json") });
   */
  reconfigure(change: PluginChange): Promise<"applied" | "unchanged">;
  /** Custom metrics (wasmcustom.*) shared by all workers. */
  stats(): ReturnType<StatsStore["snapshot"]>;
  /**
   * Moves the wall clock every VM reads (proxy_get_current_time_nanoseconds, WASI clock_time_get) forward
   * by `ms` at once (cumulative). A test hook for time-dependent behaviour (token expiry, key-set
   * lifetimes); Envoy has no such knob. Without manualClock it shifts the system clock's reading and
   * no timer is affected. With manualClock it moves virtual time synchronously without firing anything:
   * timers that became due fire (in due order, at the time reached) at the next advance() or settle().
   */
  advanceClock(ms: number): void;
  /**
   * manualClock only (else HostError HOST_ERR_NO_MANUAL_CLOCK): moves virtual time to now + ms, firing
   * due ticks and call-out timeouts in time order (a tick re-arms one period after it fires, as Envoy).
   * First, and after each firing, it settles (see settle()), so a server the test runs can answer a call
   * a tick started and its callback runs before time moves on.
   */
  advance(ms: number): Promise<void>;
  /**
   * Without moving time: runs queued host callbacks (call-out responses, on_queue_ready, DNS) and waits
   * until every in-flight proxy_http_call has completed or has been in flight for settleWindowMs of real
   * time. With manualClock, timers left overdue by advanceClock() fire first.
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

function badOption(message: string): never {
  throw new HostError("HOST_ERR_BAD_OPTIONS", message);
}

function parseBaseUrl(what: string, value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return badOption(`${what} is not a URL: ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") badOption(`${what} must be an http:// or https:// URL: ${value}`);
  return u;
}

function checkInt(what: string, v: number | undefined, min: number, max: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
    badOption(`${what} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
}

/**
 * Starts the gateway: loads and checks the module as Envoy does, starts one VM per worker (plugin
 * start and configure on each) and listens for HTTP/1.1.
 * @throws HostError (see errors.ts for the codes); the message says why.
 * @example
 *   const gw = await serve({ wasm: "build/jwt_authn.wasm", configuration: "{}", upstream: "http://127.0.0.1:9000", port: 0 });
 *   await fetch(`${gw.url}/get`);
 *   await gw.close();
 */
export async function serve(opts: ServeOptions): Promise<Gateway> {
  // ArrayBuffer.isView, not instanceof: a Buffer from another realm (a test runner's) is bytes too.
  if (typeof opts.configuration !== "string" && !ArrayBuffer.isView(opts.configuration)) {
    badOption("configuration must be a string or bytes");
  }
  const upstream = parseBaseUrl("upstream", opts.upstream);
  const clusters = new Map<string, URL>();
  for (const [name, url] of Object.entries(opts.clusters ?? {})) clusters.set(name, parseBaseUrl(`cluster ${name}`, url));
  const workers = opts.workers ?? 2;
  checkInt("workers", workers, 1, 256);
  const port = opts.port ?? 8080;
  checkInt("port", port, 0, 65535);
  checkInt("routeTimeoutMs", opts.routeTimeoutMs, 0, 2 ** 31 - 1);
  checkInt("streamIdleTimeoutMs", opts.streamIdleTimeoutMs, 0, 2 ** 31 - 1);
  checkInt("bufferLimitBytes", opts.bufferLimitBytes, 1, 2 ** 31 - 1);
  checkInt("adminPort", opts.adminPort, 0, 65535);
  checkInt("settleWindowMs", opts.settleWindowMs, 0, 2 ** 31 - 1);
  // Envoy's proto: UInt32Value, gte 1.
  const maxRequestHeadersCount = opts.maxRequestHeadersCount ?? DEFAULT_MAX_REQUEST_HEADERS_COUNT;
  checkInt("maxRequestHeadersCount", maxRequestHeadersCount, 1, 2 ** 32 - 1);
  const level = parseLogLevel(opts.logLevel ?? "info");
  if (level === undefined) badOption(`unknown log level ${JSON.stringify(opts.logLevel)}`);
  const listener = opts.tls === undefined ? null : listenerTls(opts.tls);
  if (typeof listener === "string") badOption(listener);
  for (const [k, v] of Object.entries(opts.nodeMetadata ?? {})) {
    if (typeof v !== "string") badOption(`nodeMetadata.${k} must be a string`);
  }
  // As Envoy's PluginConfig: the deprecated fail_open means FAIL_OPEN, and only one of the two may be set.
  if (opts.failurePolicy !== undefined && !FAILURE_POLICIES.includes(opts.failurePolicy)) {
    badOption(`failurePolicy must be one of ${FAILURE_POLICIES.join(", ")}, got ${JSON.stringify(opts.failurePolicy)}`);
  }
  if (opts.failOpen && opts.failurePolicy !== undefined) badOption("only one of failOpen or failurePolicy can be set");
  const failurePolicy: FailurePolicy = opts.failOpen ? "fail-open" : (opts.failurePolicy ?? "fail-closed");
  // Envoy's BackoffStrategy.base_interval: greater than 1 ms.
  checkInt("reloadBackoffMs", opts.reloadBackoffMs, 2, 2 ** 31 - 1);

  const bytes = await readWasm(opts.wasm);
  const loaded = loadModule(bytes);

  const logger = new Logger(level, opts.log ?? ((line) => process.stderr.write(`${line}\n`)), opts.accessLog ?? false);
  const clock = new HostClock({ manual: opts.manualClock ?? false, settleWindowMs: opts.settleWindowMs });
  const clusterManager = new ClusterManager(clusters, clock);
  const stats = new StatsStore();
  const services: HostServices = { logger, stats, shared: sharedStore, clusters: clusterManager, clock };
  const settings = { failurePolicy, reloadBackoffMs: opts.reloadBackoffMs ?? DEFAULT_RELOAD_BACKOFF_MS };
  const info = pluginInfo({ ...opts, configuration: configurationBytes(opts.configuration) });
  let lifecycle: PluginLifecycle;
  try {
    lifecycle = new PluginLifecycle(Plugin.start(bytes, loaded, info, workers, services, settings), workers, services, settings);
  } catch (e) {
    clusterManager.close();
    clock.close();
    throw e;
  }
  const releaseAll = (): void => {
    lifecycle.close();
    clusterManager.close();
    clock.close();
  };

  const core: GatewayCore = {
    upstream,
    clusters: clusterManager,
    logger,
    failOpen: failurePolicy === "fail-open",
    routeTimeoutMs: opts.routeTimeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS,
    streamIdleTimeoutMs: opts.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    bufferLimitBytes: opts.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES,
    active: new Set(),
    node: { id: opts.nodeId ?? "", cluster: opts.nodeCluster ?? "", metadata: { ...(opts.nodeMetadata ?? {}) } },
  };

  /** Accepted connections: the worker they are pinned to, the plugin current when they were accepted. */
  const connections = new Map<net.Socket, { worker: number; plugin: Plugin; info: ConnectionInfo; inFlight: Set<http.ServerResponse> }>();
  const sockets = new Set<net.Socket>();
  let nextWorker = 0;
  let nextConnectionId = 0;
  // Envoy's HTTP connection manager accepts request headers up to max_request_headers_kb (default 60 KiB);
  // Node's default is 16 KiB, which would refuse large tokens before the filter sees them.
  const server = listener
    ? https.createServer({ ...listener.options, maxHeaderSize: 60 * 1024 })
    : http.createServer({ maxHeaderSize: 60 * 1024 });
  // Node drops header lines past maxHeadersCount (2000) without a word, so the filter would see a
  // truncated map; 0 lifts that, and the count is Envoy's max_headers_count, checked per request.
  server.maxHeadersCount = 0;
  // No Keep-Alive header and no idle close of kept-alive connections (Envoy's default idle timeout is 1 h).
  server.keepAliveTimeout = 0;
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    if (!listener) accept(socket);
  });
  // With TLS, requests arrive on the TLSSocket once its handshake is done.
  if (listener) {
    server.prependListener("secureConnection", (socket: tls.TLSSocket) => {
      const refused = refusedPeer(socket, listener);
      if (refused !== null) {
        logger.debug(`[${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}] TLS error: ${refused}`);
        socket.destroy();
        return;
      }
      accept(socket, tlsFacts(socket, listener));
    });
  }
  function accept(socket: net.Socket, tlsInfo?: ConnectionInfo["tls"]): void {
    const worker = nextWorker;
    nextWorker = (nextWorker + 1) % workers;
    const info: ConnectionInfo = {
      id: ++nextConnectionId,
      remoteAddress: socket.remoteAddress ?? "",
      remotePort: socket.remotePort ?? 0,
      localAddress: socket.localAddress ?? "",
      localPort: socket.localPort ?? 0,
    };
    if (tlsInfo) info.tls = tlsInfo;
    connections.set(socket, { worker, plugin: lifecycle.current, info, inFlight: new Set() });
    socket.on("close", () => connections.delete(socket));
  }
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const c = connections.get(req.socket);
    if (!c) {
      res.writeHead(500).end();
      return;
    }
    const head = decodeRequestHead(req, res, maxRequestHeadersCount, logger);
    if (head === null) return;
    const { plugin, vm } = lifecycle.vmForStream(c.plugin, c.worker);
    // A connection of a replaced plugin drains: its responses carry `connection: close` (Envoy's drain).
    if (c.plugin !== lifecycle.current) res.shouldKeepAlive = false;
    c.inFlight.add(res);
    new HttpStream(req, res, head, vm, core, c.info).run();
    // After the stream's own "close" handler (on_log, on_done, on_delete), so the VM outlives its stream.
    res.on("close", () => {
      c.inFlight.delete(res);
      plugin.streamEnded(vm);
    });
  });

  /** Envoy's drain of the listener a reconfiguration replaced, done at once (drain time 0). */
  function drainConnections(previous: Plugin): void {
    for (const [socket, c] of connections) {
      if (c.plugin !== previous) continue;
      if (c.inFlight.size === 0) socket.destroy();
      for (const res of c.inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    }
  }

  const host = opts.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    releaseAll();
    throw new HostError("HOST_ERR_LISTEN", `cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const address = server.address() as net.AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | null = null;
  let admin: AdminServer | null = null;
  if (opts.adminPort !== undefined) {
    try {
      admin = await startAdmin({ port: opts.adminPort, stats, state: () => (closing ? "DRAINING" : "LIVE") });
    } catch (e) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      releaseAll();
      throw e;
    }
  }
  const gateway: Gateway = {
    port: address.port,
    url: `${listener ? "https" : "http"}://${urlHost}:${address.port}`,
    workers: Array.from({ length: workers }, (_, i) => ({
      id: i,
      get failed() {
        return lifecycle.current.vmAt(i).failed;
      },
      memoryBytes: () => lifecycle.current.vmAt(i).memoryBytes(),
      crash: () => lifecycle.current.vmAt(i).crash(),
    })),
    reconfigure(change: PluginChange): Promise<"applied" | "unchanged"> {
      if (closing) return Promise.reject(new HostError("HOST_ERR_BAD_OPTIONS", "the gateway is closed"));
      return lifecycle.replace(change, drainConnections).catch((e: unknown) => {
        const why = e instanceof HostError ? `${e.code}: ${e.message}` : String(e);
        logger.warn(`wasm host: configuration update rejected, the previous configuration keeps serving: ${why}`);
        throw e;
      });
    },
    stats: () => stats.snapshot(),
    advanceClock(ms: number): void {
      clock.shift(ms);
    },
    advance(ms: number): Promise<void> {
      if (!clock.manual) {
        return Promise.reject(new HostError("HOST_ERR_NO_MANUAL_CLOCK", "advance() needs serve({ manualClock: true })"));
      }
      return clock.advance(ms);
    },
    settle(): Promise<void> {
      return clock.settle();
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        let pending = admin ? 2 : 1;
        const oneDone = (): void => {
          if (--pending === 0) resolve();
        };
        server.close(oneDone);
        void admin?.close().then(oneDone);
        for (const s of [...core.active]) s.destroy();
        for (const s of sockets) s.destroy();
        releaseAll();
      });
      return closing;
    },
  };
  if (admin) gateway.adminUrl = admin.url;
  return gateway;
}
