// One HTTP stream through the wasm filter, following Envoy's filter manager (proxy-wasm-host.md §4,
// §5.1–5.4, §7): request headers → body → trailers through the filter, then upstream; the response
// back through the filter; Continue/Stop*/continue_stream, body buffering, local replies (through the
// encoder path of this filter, direct, or a reset, depending on the stage), fail-closed/fail-open,
// then on_log → on_done → on_delete and the access-log line. Sockets and listeners live in server.ts.

import type http from "node:http";
import type { Context, BodyRef, LocalResponse, MapAccess, StreamHooks } from "./context";
import { HeaderMap, bytesToBinary, lowerAscii } from "./headers";
import { streamProperty, type ConnectionInfo, type NodeInfo, type StreamFacts } from "./properties";
import type { WasmVm } from "./vm";
import type { Logger } from "./log";
import { formatAccessLog } from "./log";
import { writeResponseHead, type RequestHead } from "./codec";
import {
  classifyUpstreamError,
  isValidHeader,
  outgoingRequestHeaders,
  responseHeaderMap,
  trailerMap,
  upstreamResetBody,
  upstreamResetDetails,
  UPSTREAM_TIMEOUT_BODY,
  type ClusterManager,
} from "./cluster";

/** What every stream of a gateway shares. */
export interface GatewayCore {
  upstream: URL;
  clusters: ClusterManager;
  logger: Logger;
  failOpen: boolean;
  routeTimeoutMs: number;
  streamIdleTimeoutMs: number;
  bufferLimitBytes: number;
  /** Streams still running, so close() can end them. */
  active: Set<HttpStream>;
  /** Envoy's node (node.* properties). */
  node?: NodeInfo;
}

export type { ConnectionInfo };

type Kind = "request" | "response";
type HeadersVerdict = "continue" | "buffer" | "watermark";
type DataVerdict = "continue" | "buffer" | "watermark" | "nobuffer";

interface Sink {
  headers(map: HeaderMap, endStream: boolean): void;
  data(chunk: Buffer, endStream: boolean): void;
  trailers(map: HeaderMap): void;
}

interface Source {
  pause(): void;
  resume(): void;
}

/** The callback result a send_local_response forces (§4), or a failed VM in fail-closed mode. */
const FORCED_STOP = -1;

/** The empty body (a zero-length Buffer cannot be written to, so one serves every stream). */
const EMPTY = Buffer.alloc(0);

/** Envoy's Grpc::Utility::httpToGrpcStatus. */
function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

/** RFC 3986 unreserved stay, everything else %XX (Envoy's PercentEncoding::encode for grpc-message). */
function percentEncode(s: Buffer): string {
  let out = "";
  for (const b of s) {
    if (b < 0x20 || b >= 0x7f || b === 0x25) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** Delivers a message body in chunks; data arriving in one event-loop turn is coalesced, so a small
 * body ends in one call with end_stream=true (as Envoy's codec dispatches it). Once node:http has
 * parsed the whole message (msg.complete), "end" follows in the same turn (nothing pauses the message
 * before this delivers), so no deferred delivery is scheduled for it. */
function readBody(
  msg: http.IncomingMessage,
  onData: (chunk: Buffer, end: boolean) => void,
  onTrailers: (t: HeaderMap) => void,
  onActivity: () => void,
): void {
  let pending: Buffer[] = [];
  let scheduled: NodeJS.Immediate | null = null;
  const take = (): Buffer => {
    const d = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    return d;
  };
  msg.on("data", (c: Buffer) => {
    onActivity();
    pending.push(c);
    if (msg.complete) return;
    scheduled ??= setImmediate(() => {
      scheduled = null;
      if (pending.length > 0) onData(take(), false);
    });
  });
  msg.on("end", () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = null;
    const d = take();
    if (msg.rawTrailers.length > 0) {
      if (d.length > 0) onData(d, false);
      onTrailers(trailerMap(msg.rawTrailers));
    } else {
      onData(d, true);
    }
  });
}

/** One direction of the filter chain (decode = request, encode = response), as Envoy iterates it. */
class Direction {
  headers: HeaderMap | null = null;
  headersAvailable = false;
  headersEos = false;
  trailers: HeaderMap | null = null;
  trailersAvailable = false;
  state: "idle" | "stopped" | "iterating" | "complete" | "aborted" = "idle";
  /** Headers reached the filter (set before the callback runs). */
  started = false;
  /** Body held by the filter manager (while stopped, or buffered by a body callback). */
  held: BodyRef = { data: EMPTY };
  mode: "none" | "buffer" | "watermark" = "none";
  /** On overflow while headers are stopped: 413/500 (StopAllIterationAndBuffer) or flow control. */
  overflowPolicy: "reject" | "pause" = "pause";
  dataStopped = false;
  trailersStopped = false;
  sourceEnded = false;
  pendingTrailers: HeaderMap | null = null;
  /** The body the current body callback sees. */
  body: BodyRef | null = null;
  source: Source | null = null;
  private sourcePaused = false;

  constructor(
    private readonly stream: HttpStream,
    readonly kind: Kind,
    private readonly sink: Sink,
  ) {}

  private get limit(): number {
    return this.stream.core.bufferLimitBytes;
  }

  private hold(chunk: Buffer, policy: "reject" | "pause"): void {
    if (chunk.length > 0) this.held.data = this.held.data.length === 0 ? chunk : Buffer.concat([this.held.data, chunk]);
    if (this.held.data.length <= this.limit) return;
    if (policy === "reject") this.stream.onBufferOverflow(this.kind);
    else if (this.source && !this.sourcePaused) {
      this.sourcePaused = true;
      this.source.pause();
    }
  }

  private takeHeld(): Buffer {
    const d = this.held.data;
    this.held = { data: EMPTY };
    this.mode = "none";
    if (this.sourcePaused && this.source) {
      this.sourcePaused = false;
      this.source.resume();
    }
    return d;
  }

  private gone(): boolean {
    return this.state === "aborted" || this.state === "complete" || this.stream.finished;
  }

  /**
   * The stream ended: drops the maps, bodies and message this direction holds (every entry point
   * checks gone() first), so an ended stream that something still points at retains little.
   */
  release(): void {
    this.headers = null;
    this.trailers = null;
    this.pendingTrailers = null;
    this.body = null;
    this.held = { data: EMPTY };
    this.source = null;
  }

  abort(): void {
    this.state = "aborted";
    this.held = { data: EMPTY };
    this.headersAvailable = false;
    this.trailersAvailable = false;
    if (this.sourcePaused && this.source) {
      this.sourcePaused = false;
      this.source.resume();
    }
  }

  onHeaders(map: HeaderMap, endStream: boolean): void {
    this.started = true;
    this.headers = map;
    this.headersEos = endStream;
    if (endStream) this.sourceEnded = true;
    this.headersAvailable = true;
    const verdict = this.stream.callHeaders(this.kind, map.size, endStream);
    if (this.gone()) return;
    if (verdict === "continue") {
      this.headersAvailable = false;
      this.state = endStream ? "complete" : "iterating";
      this.sink.headers(map, endStream);
    } else {
      this.state = "stopped";
      this.overflowPolicy = verdict === "buffer" ? "reject" : "pause";
    }
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (this.gone()) return;
    if (endStream) this.sourceEnded = true;
    if (this.state === "stopped") {
      this.hold(chunk, this.overflowPolicy);
      return;
    }
    this.deliver(chunk, endStream);
  }

  onTrailers(map: HeaderMap): void {
    if (this.gone()) return;
    this.sourceEnded = true;
    if (this.state === "stopped") {
      this.pendingTrailers = map;
      return;
    }
    this.deliverTrailers(map);
  }

  private deliver(chunk: Buffer, endStream: boolean): void {
    const buffering = this.mode === "buffer";
    // Envoy's Context::decodeData/encodeData: while buffering, the chunk is added to the buffer first
    // (addDecodedData); over the limit that is a 413/500 (or a reset) and the module is not called.
    if (buffering && this.held.data.length + chunk.length > this.limit) return this.stream.onBufferOverflow(this.kind);
    const view: BodyRef = buffering ? { data: Buffer.concat([this.held.data, chunk]) } : { data: chunk };
    if (buffering) this.held = { data: EMPTY };
    this.body = view;
    const verdict = this.stream.callData(this.kind, view.data.length, endStream);
    this.body = null;
    if (this.gone()) return;
    if (verdict === "continue") {
      const before = this.takeHeld();
      const out = before.length > 0 ? Buffer.concat([before, view.data]) : view.data;
      this.dataStopped = false;
      if (endStream) this.state = "complete";
      if (out.length > 0 || endStream) this.sink.data(out, endStream);
      return;
    }
    this.dataStopped = true;
    if (verdict === "buffer") {
      this.mode = "buffer";
      this.hold(view.data, "reject");
    } else if (verdict === "watermark") {
      this.mode = "watermark";
      this.hold(view.data, "pause");
    } else if (buffering) {
      // StopIterationNoBuffer after buffering: keep what was buffered.
      this.hold(view.data, "pause");
    }
  }

  private deliverTrailers(map: HeaderMap): void {
    this.trailers = map;
    this.trailersAvailable = true;
    const stop = this.stream.callTrailers(this.kind, map.size);
    if (this.gone()) return;
    if (!stop) {
      this.trailersAvailable = false;
      this.flushWithTrailers(map);
    } else {
      this.trailersStopped = true;
    }
  }

  private flushWithTrailers(map: HeaderMap): void {
    const data = this.takeHeld();
    this.dataStopped = false;
    this.state = "complete";
    if (data.length > 0) this.sink.data(data, false);
    this.sink.trailers(map);
  }

  /** proxy_continue_stream (deferred): resume after a stop; ignored when not stopped. */
  resume(): void {
    if (this.gone()) return;
    if (this.state === "stopped") {
      this.state = "iterating";
      if (this.kind === "request") this.headersAvailable = false;
      const headers = this.headers as HeaderMap;
      if (this.headersEos) {
        this.state = "complete";
        this.sink.headers(headers, true);
        return;
      }
      this.sink.headers(headers, false);
      if (this.gone()) return;
      const data = this.takeHeld();
      const trailers = this.pendingTrailers;
      this.pendingTrailers = null;
      const eos = this.sourceEnded && trailers === null;
      // Held data is delivered to this filter again, as one call with the whole buffered length.
      if (data.length > 0 || eos) this.deliver(data, eos);
      if (trailers && !this.gone()) {
        if (this.dataStopped) this.pendingTrailers = trailers;
        else this.deliverTrailers(trailers);
      }
      return;
    }
    if (this.trailersStopped) {
      this.trailersStopped = false;
      this.trailersAvailable = false;
      this.flushWithTrailers(this.trailers as HeaderMap);
      return;
    }
    if (this.dataStopped) {
      this.dataStopped = false;
      const data = this.takeHeld();
      const trailers = this.pendingTrailers;
      this.pendingTrailers = null;
      if (trailers) {
        if (data.length > 0) this.sink.data(data, false);
        if (!this.gone()) this.deliverTrailers(trailers);
        return;
      }
      const eos = this.sourceEnded;
      if (eos) this.state = "complete";
      if (data.length > 0 || eos) this.sink.data(data, eos);
    }
  }
}

export class HttpStream implements StreamHooks {
  readonly filterState = new Map<string, Buffer>();
  finished = false;
  private ctx: Context | null = null;
  private readonly decoder: Direction;
  private readonly encoder: Direction;
  private readonly startMs = Date.now();
  private readonly startNs = process.hrtime.bigint();
  private readonly requestMap: HeaderMap;
  /** The request has no body (end_stream with its headers). */
  private readonly requestEos: boolean;
  private readonly method: string;
  private readonly path: string;
  private logPhase = false;
  private forcedStop = false;
  private streamFailed = false;
  private localReplyViaFilters = false;
  private downstreamHeadersSent = false;
  private responseCode: number | null = null;
  private details = "";
  private upstreamReq: http.ClientRequest | null = null;
  private upstreamRes: http.IncomingMessage | null = null;
  private upstreamAddress: string | null = null;
  private upstreamHeadersReceived = false;
  private upstreamMethod = "GET";
  /**
   * The stream's two timeouts (HCM stream_idle_timeout, the route timeout) share one timer, re-armed
   * lazily: activity only moves idleDeadline; the timer, when it fires, acts on a deadline that passed
   * or sleeps until the nearest one. Deadlines are performance.now() ms, 0 when off.
   */
  private idleDeadline = 0;
  private routeDeadline = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (performance.now() ms). */
  private timerDue = 0;
  private requestBytes = 0;
  private responseBytes = 0;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    head: RequestHead,
    private readonly vm: WasmVm,
    readonly core: GatewayCore,
    private readonly conn: ConnectionInfo,
  ) {
    this.method = req.method ?? "GET";
    this.path = req.url ?? "/";
    this.requestMap = head.map;
    this.requestEos = head.endStream;
    this.decoder = new Direction(this, "request", {
      headers: (m, eos) => this.startUpstream(m, eos),
      data: (c, eos) => this.sendUpstreamData(c, eos),
      trailers: (t) => this.sendUpstreamTrailers(t),
    });
    this.encoder = new Direction(this, "response", {
      headers: (m, eos) => this.writeDownstreamHeaders(m, eos),
      data: (c, eos) => this.writeDownstreamData(c, eos),
      trailers: (t) => this.writeDownstreamTrailers(t),
    });
    this.decoder.source = req;
  }

  /** Runs the stream: context creation, request headers, then the body as it arrives. */
  run(): void {
    this.core.active.add(this);
    this.res.sendDate = false;
    this.res.on("close", () => this.finish());
    this.req.on("error", () => undefined);
    const idleMs = this.core.streamIdleTimeoutMs;
    if (idleMs > 0) {
      this.idleDeadline = performance.now() + idleMs;
      // Armed once, for the nearer of the two timeouts the stream can have (the route timeout starts
      // later, when the request is sent, so this never fires late); usually cleared before it fires.
      const routeMs = this.core.routeTimeoutMs;
      this.armTimer(routeMs > 0 && routeMs < idleMs ? routeMs : idleMs);
    }
    // A failed VM: fail-open skips the filter for new streams; fail-closed creates no context either
    // (no module code runs) and answers 503 from the first callback.
    if (!this.vm.failed) this.ctx = this.vm.createStreamContext(this);
    const eos = this.requestEos;
    if (this.vm.failed && !this.core.failOpen && !this.streamFailed) {
      // A request without a body is whole at its headers (end_stream): the reply keeps the connection.
      if (eos) this.decoder.sourceEnded = true;
      this.failStream();
      this.req.resume();
      return;
    }
    this.decoder.onHeaders(this.requestMap, eos);
    if (eos) {
      this.req.resume();
      return;
    }
    readBody(
      this.req,
      (c, end) => {
        this.requestBytes += c.length;
        this.decoder.onData(c, end);
      },
      (t) => this.decoder.onTrailers(t),
      () => this.touch(),
    );
  }

  private touch(): void {
    if (this.idleDeadline !== 0) this.idleDeadline = performance.now() + this.core.streamIdleTimeoutMs;
  }

  private armTimer(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = performance.now() + ms;
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  /** Makes sure the timer fires no later than `deadline`. */
  private armBy(deadline: number): void {
    if (this.timer && this.timerDue <= deadline) return;
    this.armTimer(Math.max(1, Math.ceil(deadline - performance.now())));
  }

  private onTimer(): void {
    this.timer = null;
    if (this.finished) return;
    const now = performance.now();
    // The earlier deadline first, as two separate timers would fire.
    const route = this.routeDeadline !== 0 && this.routeDeadline <= now;
    const idle = this.idleDeadline !== 0 && this.idleDeadline <= now;
    if (route && (!idle || this.routeDeadline <= this.idleDeadline)) {
      this.routeDeadline = 0;
      this.onRouteTimeout();
    } else if (idle) {
      this.idleDeadline = 0;
      this.onIdleTimeout();
    }
    if (this.finished || this.timer) return;
    const next = Math.min(this.idleDeadline || Infinity, this.routeDeadline || Infinity);
    if (next !== Infinity) this.armBy(next);
  }

  // ---------------------------------------------------------------------------------------------
  // Calling the filter (§4 result conversion; fail-closed / fail-open)

  /** Calls `fn(context_id, a[, b])`. */
  private invoke(fn: string, a: number, b?: number): number | null {
    const ctx = this.ctx;
    if (ctx === null) return null;
    if (this.vm.failed) return this.onFailedVm();
    // A local reply sent during this callback forces "stop"; callbacks the deferred reply runs
    // (on_response_headers of the reply) are nested here, so the flag is saved and restored.
    const outer = this.forcedStop;
    this.forcedStop = false;
    const r = this.vm.call(fn, ctx, b === undefined ? [ctx.id, a] : [ctx.id, a, b]);
    const forced = this.forcedStop;
    this.forcedStop = outer;
    if (r.kind === "trapped") return this.onFailedVm();
    if (forced) return FORCED_STOP;
    return r.kind === "ok" ? r.value : null;
  }

  /** CHECK_FAIL: fail open → Continue; fail closed → one 503 for the stream, then the filter is out. */
  private onFailedVm(): number | null {
    if (this.core.failOpen) return null;
    if (this.streamFailed) return null;
    this.failStream();
    return FORCED_STOP;
  }

  private failStream(): void {
    this.streamFailed = true;
    this.sendLocalReply({ status: 503, details: "wasm_fail_stream", body: Buffer.alloc(0), headers: [], grpcStatus: 14 });
  }

  callHeaders(kind: Kind, count: number, endStream: boolean): HeadersVerdict {
    const abi01 = this.vm.loaded.abiVersion === "0.1.0";
    const fn = kind === "request" ? "proxy_on_request_headers" : "proxy_on_response_headers";
    const r = abi01 ? this.invoke(fn, count) : this.invoke(fn, count, endStream ? 1 : 0);
    if (r === null || r === 0 || r === 2) return "continue";
    if (r === 3) return "buffer";
    return "watermark"; // 1 (StopIteration, as Envoy without allow_on_headers_stop_iteration), 4, >4
  }

  callData(kind: Kind, size: number, endStream: boolean): DataVerdict {
    const fn = kind === "request" ? "proxy_on_request_body" : "proxy_on_response_body";
    const r = this.invoke(fn, size, endStream ? 1 : 0);
    if (r === null || r === 0) return "continue";
    if (r === 1) return "buffer";
    if (r === 2) return "watermark";
    return "nobuffer";
  }

  /** Returns true when the filter stopped. */
  callTrailers(kind: Kind, count: number): boolean {
    const fn = kind === "request" ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
    const r = this.invoke(fn, count);
    return !(r === null || r === 0);
  }

  // ---------------------------------------------------------------------------------------------
  // StreamHooks (used by the imports)

  headerMap(type: number): MapAccess {
    const none: MapAccess = { map: null, writable: false };
    if (this.logPhase) {
      if (type === 0) return { map: this.decoder.headers, writable: false };
      if (type === 2) return { map: this.encoder.headers, writable: false };
      if (type === 3) return { map: this.encoder.trailers, writable: false };
      return none;
    }
    const dir = type === 0 || type === 1 ? this.decoder : this.encoder;
    if (type === 0 || type === 2) return dir.headersAvailable ? { map: dir.headers, writable: true } : none;
    return dir.trailersAvailable ? { map: dir.trailers, writable: true } : none;
  }

  inLogPhase(): boolean {
    return this.logPhase;
  }

  bodyBuffer(type: number): BodyRef | null {
    const dir = type === 0 ? this.decoder : this.encoder;
    if (dir.body) return dir.body;
    return dir.held.data.length > 0 ? dir.held : null;
  }

  continueStream(type: number): void {
    // The request-side maps go away at once (make edits before continuing), whatever the direction.
    this.decoder.headersAvailable = false;
    this.decoder.trailersAvailable = false;
    const dir = type === 0 ? this.decoder : this.encoder;
    this.vm.defer(() => dir.resume());
  }

  closeStream(_type: number): void {
    this.vm.defer(() => {
      if (this.details === "") this.details = "wasm_close_stream";
      this.resetStream();
    });
  }

  sendLocalResponse(reply: LocalResponse): void {
    this.forcedStop = true;
    this.vm.defer(() => this.sendLocalReply(reply));
  }

  // ---------------------------------------------------------------------------------------------
  // Local replies (§5.4)

  /** Envoy's prepareLocalReply: :status, the given headers, then content-length/content-type for a body. */
  private localReplyMap(reply: LocalResponse): { map: HeaderMap; body: Buffer } {
    const map = new HeaderMap();
    const ct = this.requestMap.get("content-type");
    if (ct !== undefined && lowerAscii(ct).startsWith("application/grpc")) {
      map.add(":status", "200");
      for (const [k, v] of reply.headers) map.add(bytesToBinary(k), bytesToBinary(v));
      map.replace("content-type", "application/grpc");
      map.replace("grpc-status", String(reply.grpcStatus ?? httpToGrpcStatus(reply.status)));
      if (reply.body.length > 0) map.replace("grpc-message", percentEncode(reply.body));
      return { map, body: Buffer.alloc(0) };
    }
    map.add(":status", String(reply.status));
    for (const [k, v] of reply.headers) map.add(bytesToBinary(k), bytesToBinary(v));
    if (reply.body.length > 0) {
      map.replace("content-length", String(reply.body.length));
      if (!map.has("content-type")) map.add("content-type", "text/plain");
    }
    return { map, body: reply.body };
  }

  /**
   * Stage 1 (no response yet): through this filter's encoder path. Stage 2 (response headers in the
   * filters, nothing sent): straight to the client. Stage 3 (headers sent): reset.
   */
  sendLocalReply(reply: LocalResponse): void {
    if (this.finished || this.res.writableEnded) return;
    if (this.downstreamHeadersSent) {
      this.details = reply.details;
      this.resetStream();
      return;
    }
    this.details = reply.details;
    this.clearRouteTimer();
    this.decoder.abort();
    this.abortUpstream();
    const { map, body } = this.localReplyMap(reply);
    this.responseCode = reply.status;
    const headOnly = this.method === "HEAD" || body.length === 0;
    if (this.encoder.started || this.localReplyViaFilters) {
      this.encoder.abort();
      this.writeDownstreamHeaders(map, headOnly);
      if (!headOnly) this.writeDownstreamData(body, true);
      return;
    }
    this.localReplyViaFilters = true;
    this.encoder.onHeaders(map, headOnly);
    if (!headOnly) this.encoder.onData(body, true);
  }

  onBufferOverflow(kind: Kind): void {
    if (kind === "request") {
      this.sendLocalReply({
        status: 413,
        details: "request_payload_too_large",
        body: Buffer.from("Payload Too Large"),
        headers: [],
        grpcStatus: null,
      });
    } else {
      this.sendLocalReply({
        status: 500,
        details: "response_payload_too_large",
        body: Buffer.from("Internal Server Error"),
        headers: [],
        grpcStatus: null,
      });
    }
  }

  private onIdleTimeout(): void {
    if (this.finished) return;
    this.sendLocalReply({
      status: 408,
      details: "stream_idle_timeout",
      body: Buffer.from("stream timeout"),
      headers: [],
      grpcStatus: null,
    });
  }

  /** HTTP/1 has no stream reset: the connection is closed. */
  private resetStream(): void {
    this.abortUpstream();
    this.decoder.abort();
    this.encoder.abort();
    this.req.socket.destroy();
  }

  // ---------------------------------------------------------------------------------------------
  // Upstream (the router)

  private startUpstream(map: HeaderMap, endStream: boolean): void {
    if (this.finished) return;
    const method = map.get(":method") ?? "GET";
    const path = map.get(":path") ?? "/";
    this.upstreamMethod = method;
    if (this.core.routeTimeoutMs > 0) map.replace("x-envoy-expected-rq-timeout-ms", String(this.core.routeTimeoutMs));
    let req: http.ClientRequest;
    try {
      req = this.core.clusters.forward(this.core.upstream, method, path, outgoingRequestHeaders(map));
    } catch (e) {
      this.core.logger.error(`wasm host: cannot start the upstream request: ${(e as Error).message}`);
      const failure = { reason: "remote connection failure", transport: "" } as const;
      this.sendLocalReply({
        status: 503,
        details: upstreamResetDetails(failure),
        body: Buffer.from(upstreamResetBody(failure)),
        headers: [],
        grpcStatus: null,
      });
      return;
    }
    this.upstreamReq = req;
    const sentAt = Date.now();
    let connected = false;
    req.on("socket", (s) => {
      const note = (): void => {
        connected = true;
        if (s.remoteAddress) this.upstreamAddress = `${s.remoteAddress}:${s.remotePort}`;
      };
      if (!s.connecting) note();
      else s.once("connect", note);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (this.upstreamReq !== req || this.finished) return;
      this.upstreamReq = null;
      if (this.upstreamHeadersReceived) {
        this.resetStream();
        return;
      }
      const reason = classifyUpstreamError(err, connected);
      this.sendLocalReply({
        status: 503,
        details: upstreamResetDetails(reason),
        body: Buffer.from(upstreamResetBody(reason)),
        headers: [],
        grpcStatus: null,
      });
    });
    req.on("response", (res) => this.onUpstreamResponse(req, res, sentAt));
    if (endStream) this.endUpstream();
  }

  private sendUpstreamData(chunk: Buffer, endStream: boolean): void {
    const req = this.upstreamReq;
    if (!req) return;
    if (chunk.length > 0) req.write(chunk);
    if (endStream) this.endUpstream();
  }

  private sendUpstreamTrailers(t: HeaderMap): void {
    const req = this.upstreamReq;
    if (!req) return;
    req.addTrailers(t.entries().filter(([k, v]) => isValidHeader(k, v)) as Array<[string, string]>);
    this.endUpstream();
  }

  private endUpstream(): void {
    this.upstreamReq?.end();
    if (this.core.routeTimeoutMs > 0 && this.routeDeadline === 0) {
      this.routeDeadline = performance.now() + this.core.routeTimeoutMs;
      this.armBy(this.routeDeadline);
    }
  }

  private onRouteTimeout(): void {
    if (this.finished) return;
    if (this.upstreamHeadersReceived) {
      this.resetStream();
      return;
    }
    this.abortUpstream();
    this.sendLocalReply({
      status: 504,
      details: "upstream_response_timeout",
      body: Buffer.from(UPSTREAM_TIMEOUT_BODY),
      headers: [],
      grpcStatus: null,
    });
  }

  private clearRouteTimer(): void {
    this.routeDeadline = 0;
  }

  private abortUpstream(): void {
    const req = this.upstreamReq;
    const res = this.upstreamRes;
    this.upstreamReq = null;
    this.upstreamRes = null;
    req?.destroy();
    res?.destroy();
  }

  private onUpstreamResponse(req: http.ClientRequest, res: http.IncomingMessage, sentAt: number): void {
    if (this.upstreamReq !== req || this.finished) {
      res.destroy();
      return;
    }
    this.touch();
    this.upstreamRes = res;
    this.upstreamHeadersReceived = true;
    const map = responseHeaderMap(res);
    map.add("x-envoy-upstream-service-time", String(Date.now() - sentAt));
    const status = res.statusCode ?? 0;
    this.responseCode = status;
    this.details = "via_upstream";
    const eos =
      this.upstreamMethod === "HEAD" ||
      status === 204 ||
      status === 304 ||
      (status >= 100 && status < 200) ||
      map.get("content-length") === "0";
    this.encoder.source = res;
    res.on("error", () => undefined);
    res.on("close", () => {
      if (!res.complete && !this.finished && this.upstreamRes === res) this.resetStream();
    });
    // The route timeout ends with the upstream response (its "end"; for a response without a body
    // that is this turn).
    if (eos) this.clearRouteTimer();
    this.encoder.onHeaders(map, eos);
    if (eos) {
      res.resume();
      return;
    }
    readBody(
      res,
      (c, end) => {
        if (end) this.clearRouteTimer();
        this.encoder.onData(c, end);
      },
      (t) => {
        this.clearRouteTimer();
        this.encoder.onTrailers(t);
      },
      () => this.touch(),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Downstream (the connection manager after the filters: date and server: envoy)

  private writeDownstreamHeaders(map: HeaderMap, endStream: boolean): void {
    if (this.finished || this.res.headersSent) return;
    try {
      const framing = { endStream, head: this.method === "HEAD", requestComplete: this.decoder.sourceEnded };
      this.responseCode = writeResponseHead(this.res, map, framing);
      this.downstreamHeadersSent = true;
      if (endStream) this.res.end();
    } catch (e) {
      this.core.logger.error(`wasm host: cannot write the response headers: ${(e as Error).message}`);
      this.resetStream();
    }
  }

  private writeDownstreamData(chunk: Buffer, endStream: boolean): void {
    if (this.finished || this.res.writableEnded) return;
    this.touch();
    if (chunk.length > 0) {
      this.responseBytes += chunk.length;
      this.res.write(chunk);
    }
    if (endStream) this.res.end();
  }

  private writeDownstreamTrailers(t: HeaderMap): void {
    if (this.finished || this.res.writableEnded) return;
    this.res.addTrailers(t.entries().filter(([k, v]) => isValidHeader(k, v)) as Array<[string, string]>);
    this.res.end();
  }

  // ---------------------------------------------------------------------------------------------
  // End of stream: on_log → on_done → on_delete, access log

  /** Ends the stream (the response finished or the connection closed). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.core.active.delete(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.idleDeadline = 0;
    this.routeDeadline = 0;
    this.abortUpstream();
    if (!this.res.writableFinished && this.details === "") this.details = "downstream_remote_disconnect";
    this.logPhase = true;
    const ctx = this.ctx;
    if (ctx) {
      this.vm.call("proxy_on_log", ctx, [ctx.id]);
      this.vm.call("proxy_on_done", ctx, [ctx.id]);
      this.vm.call("proxy_on_delete", ctx, [ctx.id]);
      this.vm.deleteContext(ctx);
    }
    if (this.core.logger.accessLog) this.writeAccessLog();
    this.release();
  }

  private writeAccessLog(): void {
    const status = this.res.headersSent ? this.res.statusCode : 0;
    // Envoy's access log reads %REQ(:METHOD)% and %REQ(:PATH)% from the request header map as the
    // filters left it (what went upstream), so a path the filter rewrote is logged rewritten.
    this.core.logger.access(
      formatAccessLog({
        start: new Date(this.startMs),
        method: this.requestMap.get(":method") ?? this.method,
        path: this.requestMap.get(":path") ?? this.path,
        status,
        details: this.details,
        durationMs: Number((process.hrtime.bigint() - this.startNs) / 1_000_000n),
        filterState: this.filterState,
      }),
    );
  }

  /**
   * Lets go of the stream's per-request objects once it ended. An ended stream is garbage, but a
   * reference to it from old-generation garbage (node:http and timer objects promoted while in use)
   * lasts until the next full GC, and every young-generation GC until then copies whatever the stream
   * still reaches (docs/performance.md, "The local host").
   */
  private release(): void {
    this.decoder.release();
    this.encoder.release();
    this.requestMap.clear();
    this.filterState.clear();
    this.ctx = null;
  }

  /** Gateway shutdown: end the stream now. */
  destroy(): void {
    this.resetStream();
    this.finish();
  }

  // ---------------------------------------------------------------------------------------------
  // Properties (§5.6): answered by properties.ts from this stream's facts.

  property(path: string[]): Buffer | null {
    return streamProperty(this.propertyFacts(), path);
  }

  private propertyFacts(): StreamFacts {
    return {
      requestHeadersAvailable: this.decoder.headersAvailable,
      responseHeadersAvailable: this.encoder.headersAvailable,
      logPhase: this.logPhase,
      requestMap: this.requestMap,
      responseHeaders: this.encoder.headers,
      responseTrailers: this.encoder.trailers,
      httpVersion: this.req.httpVersion,
      startMs: this.startMs,
      startNs: this.startNs,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
      responseCode: this.responseCode,
      details: this.details,
      upstreamAddress: this.upstreamAddress,
      connection: this.conn,
      node: this.core.node,
      filterState: this.filterState,
    };
  }
}
