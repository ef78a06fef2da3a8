// Envoy's HTTP/1 server codec and the connection manager's header handling around the filters, before
// and after them (no filter runs here):
// - parsing a request: the header count limit (431), the Connection header's nominated headers
//   (sanitizeConnectionHeader: removed, or 400 when an X-Forwarded-* or pseudo-header is nominated),
//   an absolute-form target (:authority and :path from the URL), and the request header map the
//   filters see; a failed check answers with the connection manager's local reply and closes the
//   connection, as Envoy does for a codec error;
// - writing a response head after the filters: date and server, hop-by-hop headers stripped,
//   "connection: close" while the request is unfinished, content-length framing, flushed
//   at the end of the event-loop turn (with the body, when it came in the same turn).
// The stream through the filter is in stream.ts.

import type http from "node:http";
import { randomUUID } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { CONNECTION_HEADERS, isValidHeader } from "./cluster";
import { HeaderMap, lowerAscii } from "./headers";
import { formatAccessLog, type Logger } from "./log";

/** HttpConnectionManager common_http_protocol_options.max_headers_count default (100). */
export const DEFAULT_MAX_REQUEST_HEADERS_COUNT = 100;

/**
 * Envoy's ConnectionImpl::completeCurrentHeader: once the request has more header lines than
 * max_headers_count, the codec sends 431 with details http1.too_many_headers ("headers count exceeds
 * limit"). Every line the client sent counts (Host and repeated names included).
 * @returns true when the request was answered here and must not reach the filter.
 */
export function rejectTooManyHeaders(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  limit: number,
  logger: Logger,
): boolean {
  if (req.rawHeaders.length / 2 <= limit) return false;
  sendCodecError(req, res, logger, 431, "http1.too_many_headers");
  return true;
}

/** Envoy's CodeUtility::toString for the codes the codec answers with. */
const REASON: Record<number, string> = { 400: "Bad Request", 431: "Request Header Fields Too Large" };

/**
 * ServerConnectionImpl::sendProtocolError → sendLocalReply(code, CodeUtility::toString(code), details):
 * the reason phrase as a text/plain body, then date and server from the connection manager, and
 * "connection: close" because the request was not complete (ActiveStream::encodeHeaders puts an
 * HTTP/1 connection in DrainState::Closing); handleCodecError then closes the connection after the
 * write. The request headers never reached a stream, so the access log has no :method or :path ("-").
 */
function sendCodecError(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger, status: number, details: string): void {
  const start = new Date();
  const startNs = process.hrtime.bigint();
  const body = Buffer.from(REASON[status] ?? "");
  res.sendDate = false;
  res.shouldKeepAlive = false;
  res.on("close", () => {
    logger.access(
      formatAccessLog({
        start,
        method: "-",
        path: "-",
        status: res.headersSent ? res.statusCode : 0,
        details,
        durationMs: Number((process.hrtime.bigint() - startNs) / 1_000_000n),
      }),
    );
  });
  req.on("error", () => undefined);
  res.writeHead(status, [
    "content-length",
    String(body.length),
    "content-type",
    "text/plain",
    "date",
    httpDate(),
    "server",
    "envoy",
    "connection",
    "close",
  ]);
  // With "connection: close" node:http ends the socket once the reply is written.
  res.end(body);
}

/** Every header line of `name` in the request, joined with "," (as the codec appends an inline header). */
function joinedHeader(raw: string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (lowerAscii(raw[i]) === name) v = v === undefined ? raw[i + 1] : `${v},${raw[i + 1]}`;
  }
  return v;
}

/**
 * Envoy's Utility::sanitizeConnectionHeader: the names the Connection header nominates (lower-cased),
 * to be removed from the request, or null when the request must be refused: 10 or more tokens, a
 * nominated x-forwarded-for/-host/-proto or pseudo-header, or a nominated te of 256 bytes or more.
 * close, keep-alive, upgrade, http2-settings and connection itself nominate nothing; a nominated te
 * is kept when it lists "trailers".
 */
export function nominatedHeaders(raw: string[]): Set<string> | null {
  const remove = new Set<string>();
  const value = joinedHeader(raw, "connection");
  if (value === undefined) return remove;
  const tokens = value.split(",").filter((t) => t !== "");
  if (tokens.length >= 10) return null;
  for (const token of tokens) {
    const name = lowerAscii(token.trim());
    if (name === "close" || name === "http2-settings" || name === "keep-alive" || name === "upgrade" || name === "connection") continue;
    if (name === "x-forwarded-for" || name === "x-forwarded-host" || name === "x-forwarded-proto" || name.startsWith(":")) return null;
    if (name === "te") {
      const te = joinedHeader(raw, "te");
      if (te !== undefined && te.length >= 256) return null;
      if (te !== undefined && te.split(",").some((t) => lowerAscii(t.trim()) === "trailers")) continue;
    }
    remove.add(name);
  }
  return remove;
}

/**
 * nominatedHeaders for the request being parsed, remembered for its raw header array: the check before
 * the stream (rejectBadConnectionHeader) and the header map (requestHeaderMap) read the same answer
 * without scanning the headers twice. The result is shared: read it, never change it.
 */
let nominatedFor: string[] | null = null;
let nominatedLast: Set<string> | null = null;
function connectionNominated(raw: string[]): Set<string> | null {
  if (raw !== nominatedFor) {
    nominatedLast = nominatedHeaders(raw);
    nominatedFor = raw;
  }
  return nominatedLast;
}

/**
 * ServerConnectionImpl::onHeadersCompleteBase: a request whose Connection header cannot be sanitized
 * gets 400 Bad Request with details http1.connection_header_rejected, and the connection closes.
 * @returns true when the request was answered here and must not reach the filter.
 */
export function rejectBadConnectionHeader(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): boolean {
  if (connectionNominated(req.rawHeaders) !== null) return false;
  sendCodecError(req, res, logger, 400, "http1.connection_header_rejected");
  return true;
}

/**
 * ServerConnectionImpl::handlePath with allow_absolute_url (Envoy's default): an absolute-form target
 * ("GET http://example.com/hello") sets :authority (host and port as written, replacing Host), :scheme
 * and :path ("/" when the URL has none). Anything else is the path as sent.
 */
function requestTarget(url: string, method: string): { path: string; authority?: string; scheme?: string } {
  if (method === "CONNECT" || url.startsWith("/") || url === "*") return { path: url };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/.exec(url);
  if (!m || m[2] === "") return { path: url };
  const rest = m[3];
  return { path: rest === "" ? "/" : rest.startsWith("/") ? rest : `/${rest}`, authority: m[2], scheme: lowerAscii(m[1]) };
}

const NOTHING_NOMINATED: ReadonlySet<string> = new Set<string>();

/**
 * The request header map as Envoy's HTTP/1 codec and connection manager present it: :authority (from
 * Host, or an absolute-form target), :path, :method, :scheme, then the client's headers lower-cased in
 * arrival order (minus the connection-specific ones and those the Connection header nominates), then
 * x-forwarded-proto and x-request-id when absent.
 */
export function requestHeaderMap(req: http.IncomingMessage): HeaderMap {
  const m = new HeaderMap();
  const raw = req.rawHeaders;
  const method = req.method ?? "GET";
  const target = requestTarget(req.url ?? "/", method);
  const nominated = connectionNominated(raw) ?? NOTHING_NOMINATED;
  const scheme = (req.socket as TLSSocket | undefined)?.encrypted ? "https" : "http";
  let authority = target.authority;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (lowerAscii(raw[i]) === "host" && authority === undefined) authority = raw[i + 1];
  }
  if (authority !== undefined) m.add(":authority", authority);
  m.add(":path", target.path);
  m.add(":method", method);
  m.add(":scheme", target.scheme ?? scheme);
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = lowerAscii(raw[i]);
    const v = raw[i + 1];
    if (k === "host" || CONNECTION_HEADERS.has(k) || nominated.has(k)) continue;
    if (k === "te" && lowerAscii(v).trim() !== "trailers") continue;
    // Envoy answers "expect: 100-continue" itself and removes it before the filters.
    if (k === "expect" && lowerAscii(v).trim() === "100-continue") continue;
    m.add(k, v);
  }
  if (!m.has("x-forwarded-proto")) m.add("x-forwarded-proto", scheme);
  if (!m.has("x-request-id")) m.add("x-request-id", randomUUID());
  return m;
}

/**
 * The date header's value (IMF-fixdate, Date#toUTCString) for the current second. Envoy's
 * TlsCachingDateProviderImpl also formats it once and refreshes it on a timer (every 500 ms) rather
 * than per response; here it is refreshed when the second changes.
 */
let dateSecond = -1;
let dateText = "";
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** How the response head is framed: what the codec and connection manager know of the stream. */
export interface ResponseHeadFraming {
  /** No body follows (the filters ended the stream with the headers). */
  endStream: boolean;
  /** The request was HEAD: no body is ever written, content-length stays as the filters left it. */
  head: boolean;
  /** The request ended; if not, the connection closes after this response (HTTP/1 drain). */
  requestComplete: boolean;
}

/**
 * Writes the response head after the filters, as ActiveStream::encodeHeaders and the HTTP/1 codec do:
 * date and server: envoy; mutateResponseHeaders removes connection, upgrade, transfer-encoding,
 * keep-alive and proxy-connection (the filters saw them); "connection: close" when the request had not
 * ended (DrainState::Closing) or asked for it, and no "connection" header otherwise (node:http would add
 * "Connection: keep-alive", Envoy's HTTP/1.1 responses carry none); "content-length: 0" for a
 * header-only response that is not to HEAD, 1xx, 204 or 304 (a body without content-length is chunked
 * by node:http, as by the codec). A head with a body to follow is flushed when the current event-loop
 * turn ends (StreamEncoderImpl::encodeHeadersBase ends in flushOutput, which Envoy's connection writes
 * out after the dispatch), not held until the first body byte.
 * @returns the status written (502 when :status is not a valid code).
 */
export function writeResponseHead(res: http.ServerResponse, map: HeaderMap, f: ResponseHeadFraming): number {
  map.replace("date", httpDate());
  map.replace("server", "envoy");
  const status = Number(map.get(":status"));
  const code = Number.isInteger(status) && status >= 100 && status <= 999 ? status : 502;
  const flat: string[] = [];
  const entries = map.entries();
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i];
    if (k.charCodeAt(0) === 0x3a || CONNECTION_HEADERS.has(k) || !isValidHeader(k, v)) continue;
    flat.push(k, v);
  }
  if (f.endStream && !f.head && !map.has("content-length") && code !== 204 && code !== 304 && code >= 200) {
    flat.push("content-length", "0");
  }
  if (!f.requestComplete || !res.shouldKeepAlive) flat.push("connection", "close");
  else res.removeHeader("connection");
  res.writeHead(code, flat);
  // Envoy writes the encoded head into the connection's buffer and flushes it when the current
  // dispatch ends, so a body that arrives in the same dispatch leaves in the same write. node:http
  // holds the head until the first body byte; flushing it on the next event-loop turn (unless a body
  // write took it along) gives both: the head is never held for a slow body, and one write per response.
  if (!f.endStream) setImmediate(flushHeldHead, res);
  return code;
}

/** Sends a response head node:http still holds (no body byte was written since writeHead). */
function flushHeldHead(res: http.ServerResponse): void {
  // _headerSent: node:http's own flag (OutgoingMessage) for "the head went to the socket".
  if (!(res as unknown as { _headerSent: boolean })._headerSent && !res.writableEnded && !res.destroyed) res.flushHeaders();
}
