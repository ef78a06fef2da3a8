// Named upstream clusters and proxy_http_call: sends the call-out over node:http(s), buffers the
// response, and reports it the way Envoy's AsyncClient does: any HTTP response (including Envoy's own
// 503 on connect failure and 504 on timeout) is a response; a reset after the headers is a failure.
// Timeouts run on the gateway's clock (clock.ts), which also tracks calls in flight for settle().
// Also the shared upstream helpers (connection-specific header list, Envoy's reset texts).

import http from "node:http";
import https from "node:https";
import { HeaderMap, lowerAscii } from "./headers";
import { HostClock, type TimerHandle } from "./clock";

export interface CalloutRequest {
  cluster: string;
  headers: HeaderMap;
  body: Buffer;
  trailers: HeaderMap;
  /** 0 = no timeout. */
  timeoutMs: number;
}

export type CalloutResult =
  | { kind: "response"; headers: HeaderMap; body: Buffer; trailers: HeaderMap }
  | { kind: "reset" }
  | { kind: "overflow" };

/** Headers the HTTP/1 codec and connection manager consume instead of passing on. */
export const CONNECTION_HEADERS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

export const UPSTREAM_TIMEOUT_BODY = "upstream request timeout";

/**
 * Why the router gave up on an upstream before its response headers: Envoy's reset reason
 * (Http::Utility::resetReasonToString) and, for a failed connect, the transport failure reason.
 */
export interface UpstreamReset {
  reason: "remote connection failure" | "connection termination";
  /** "delayed connect error: Connection refused" (the socket's strerror), or "" when there is none. */
  transport: string;
}

/** Envoy's Router::Filter::onUpstreamReset body (no retries configured, so no "retried and the latest "). */
export function upstreamResetBody(r: UpstreamReset): string {
  const transport = r.transport === "" ? "" : `, transport failure reason: ${r.transport}`;
  return `upstream connect error or disconnect/reset before headers. reset reason: ${r.reason}${transport}`;
}

/** Its response-code details: upstream_reset_before_response_started{reason|transport}, spaces as '_'. */
export function upstreamResetDetails(r: UpstreamReset): string {
  const transport = r.transport === "" ? "" : `|${r.transport}`;
  return `upstream_reset_before_response_started{${r.reason}${transport}}`.replace(/\s/g, "_");
}

/** strerror() of the connect errors a socket reports, as Envoy's "delayed connect error: <strerror>". */
const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "Connection refused",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ETIMEDOUT: "Connection timed out",
  EADDRNOTAVAIL: "Cannot assign requested address",
  ENOTFOUND: "",
  EAI_AGAIN: "",
};

/** Connection failure (never connected) versus termination (connected, then reset). */
export function classifyUpstreamError(err: NodeJS.ErrnoException, connected: boolean): UpstreamReset {
  const known = err.code !== undefined && Object.prototype.hasOwnProperty.call(CONNECT_ERRORS, err.code);
  if (!connected || known) {
    const strerror = known ? CONNECT_ERRORS[err.code as string] : "";
    return { reason: "remote connection failure", transport: strerror === "" ? "" : `delayed connect error: ${strerror}` };
  }
  return { reason: "connection termination", transport: "" };
}

/** The header map Envoy's router produces for its own local replies (before the connection manager). */
export function localReplyHeaders(status: number, body: string): HeaderMap {
  const m = new HeaderMap();
  m.add(":status", String(status));
  if (body.length > 0) {
    m.add("content-length", String(Buffer.byteLength(body)));
    m.add("content-type", "text/plain");
  }
  return m;
}

/**
 * Response headers as Envoy's upstream HTTP/1 codec hands them to filters (and to a call-out): ":status"
 * first, then every header line, hop-by-hop ones (connection, keep-alive, transfer-encoding) included;
 * the connection manager strips those only after the filters (codec.ts writeResponseHead).
 */
export function responseHeaderMap(res: http.IncomingMessage): HeaderMap {
  const m = new HeaderMap();
  m.add(":status", String(res.statusCode ?? 0));
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) m.add(lowerAscii(raw[i]), raw[i + 1]);
  return m;
}

export function trailerMap(raw: string[]): HeaderMap {
  const m = new HeaderMap();
  for (let i = 0; i + 1 < raw.length; i += 2) m.add(lowerAscii(raw[i]), raw[i + 1]);
  return m;
}

/** Flat [name, value, …] list for node:http from a request header map; ":authority" becomes Host. */
export function outgoingRequestHeaders(map: HeaderMap, extra?: Array<[string, string]>): string[] {
  const flat: string[] = [];
  const authority = map.get(":authority");
  if (authority !== undefined) flat.push("host", authority);
  const entries = map.entries();
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i];
    if (k.charCodeAt(0) === 0x3a || k === "host") continue;
    if (!isValidHeader(k, v)) continue;
    flat.push(k, v);
  }
  if (extra) for (const [k, v] of extra) flat.push(k, v);
  return flat;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** node:http refuses (throws on) names that are not tokens and values with control characters. */
export function isValidHeader(name: string, value: string): boolean {
  return TOKEN.test(name) && !BAD_VALUE.test(value);
}

interface UpstreamTarget {
  secure: boolean;
  protocol: string;
  hostname: string;
  port: string | number;
  agent: http.Agent;
}

export class ClusterManager {
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });
  private readonly inflight = new Set<http.ClientRequest>();
  private readonly targets = new WeakMap<URL, UpstreamTarget>();

  /** `clock` schedules call-out timeouts (virtual in manual mode) and tracks calls in flight for settle(). */
  constructor(
    private readonly clusters: Map<string, URL>,
    private readonly clock: HostClock = new HostClock(),
  ) {}

  has(name: string): boolean {
    return this.clusters.has(name);
  }

  /** Where requests to `base` go: computed once per base URL (the gateway's URLs never change). */
  private target(base: URL): UpstreamTarget {
    let t = this.targets.get(base);
    if (t === undefined) {
      const secure = base.protocol === "https:";
      t = {
        secure,
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ""),
        port: base.port || (secure ? 443 : 80),
        agent: secure ? this.httpsAgent : this.httpAgent,
      };
      this.targets.set(base, t);
    }
    return t;
  }

  /**
   * The router's upstream request (stream.ts), over the shared keep-alive agents. Not tracked here:
   * the stream owns it and destroys it when it ends or the gateway closes.
   */
  forward(base: URL, method: string, path: string, headers: string[]): http.ClientRequest {
    const t = this.target(base);
    // One object literal of a fixed shape: V8 (Node 20) gives an object spread followed by more
    // properties a new hidden class on every call once optimized, which leaks maps into old space.
    const opts: https.RequestOptions = {
      method,
      path,
      headers,
      protocol: t.protocol,
      hostname: t.hostname,
      port: t.port,
      agent: t.agent,
      setHost: false,
    };
    return t.secure ? https.request(opts) : http.request(opts);
  }

  /** A request tracked until it closes, so close() can end it (call-outs). */
  private request(base: URL, method: string | undefined, path: string | undefined, headers: string[]): http.ClientRequest {
    const req = this.forward(base, method ?? "GET", path ?? "/", headers);
    this.inflight.add(req);
    req.on("close", () => this.inflight.delete(req));
    return req;
  }

  /**
   * Sends a call-out; `done` is called once, later, from the event loop. Returns a cancel function,
   * or null if the request could not be started (InternalFailure).
   */
  send(call: CalloutRequest, done: (r: CalloutResult) => void): (() => void) | null {
    const base = this.clusters.get(call.cluster);
    if (!base) return null;
    const extra: Array<[string, string]> = [];
    if (call.timeoutMs > 0) extra.push(["x-envoy-expected-rq-timeout-ms", String(call.timeoutMs)]);
    let req: http.ClientRequest;
    try {
      req = this.request(base, call.headers.get(":method"), call.headers.get(":path"), outgoingRequestHeaders(call.headers, extra));
    } catch {
      return null;
    }
    let finished = false;
    let connected = false;
    let gotHeaders = false;
    let timer: TimerHandle | null = null;
    const sentAt = Date.now();
    const work = this.clock.track();
    const finish = (r: CalloutResult): void => {
      if (finished) return;
      finished = true;
      timer?.cancel();
      req.destroy();
      work.finishingNow();
      // Always from the event loop, never inside the proxy_http_call invocation.
      setImmediate(() => {
        try {
          done(r);
        } finally {
          work.complete();
        }
      });
    };
    const localReply = (status: number, body: string): void =>
      finish({ kind: "response", headers: localReplyHeaders(status, body), body: Buffer.from(body), trailers: new HeaderMap() });

    if (call.timeoutMs > 0) {
      // Envoy's AsyncClient timeout, on the gateway's clock (virtual with ServeOptions.manualClock).
      timer = this.clock.setTimer(call.timeoutMs, () => {
        if (gotHeaders) finish({ kind: "reset" });
        else localReply(504, UPSTREAM_TIMEOUT_BODY);
      });
    }
    req.on("socket", (s) => {
      if (!s.connecting) connected = true;
      else s.once("connect", () => (connected = true));
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (gotHeaders) finish({ kind: "reset" });
      else localReply(503, upstreamResetBody(classifyUpstreamError(err, connected)));
    });
    req.on("response", (res) => {
      gotHeaders = true;
      const headers = responseHeaderMap(res);
      headers.add("x-envoy-upstream-service-time", String(Date.now() - sentAt));
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        finish({ kind: "response", headers, body: Buffer.concat(chunks), trailers: trailerMap(res.rawTrailers) }),
      );
      res.on("aborted", () => finish({ kind: "reset" }));
      res.on("error", () => finish({ kind: "reset" }));
    });
    if (call.trailers.size > 0) {
      req.addTrailers(call.trailers.entries().filter(([k, v]) => isValidHeader(k, v)) as Array<[string, string]>);
    }
    req.end(call.body.length > 0 ? call.body : undefined);
    return () => {
      finished = true;
      timer?.cancel();
      req.destroy();
      work.complete();
    };
  }

  close(): void {
    for (const r of this.inflight) r.destroy();
    this.inflight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
