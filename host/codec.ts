// Envoy's HTTP/1 server codec and the connection manager's header handling around the filters, before
// and after them (no filter runs here):
// - parsing a request, in one pass over its header lines: the header count limit (431), the Connection
//   header's nominated headers (sanitizeConnectionHeader: removed, or 400 when an X-Forwarded-* or
//   pseudo-header is nominated), repeated Host lines joined into :authority and its characters checked
//   (400), TE kept only as "trailers" (sanitizeTEHeader), an absolute-form target (:authority and :path
//   from the URL), the request header map the filters see and whether a body follows; a failed check
//   answers with the connection manager's local reply and closes the connection, as Envoy does for a
//   codec error;
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

/** The request as the filters get it: the header map, and whether the headers end the stream. */
export interface RequestHead {
  map: HeaderMap;
  /** No body follows (no transfer-encoding, and no or a zero content-length): end_stream on the headers. */
  endStream: boolean;
}

/**
 * Envoy's HTTP/1 server codec and the connection manager's mutateRequestHeaders for one request, from a
 * single pass over its raw header lines; the checks answer in the codec's order:
 * - more lines than max_headers_count (ConnectionImpl::completeCurrentHeader; every line counts, Host and
 *   repeated names included): 431, details http1.too_many_headers;
 * - a Connection header that cannot be sanitized (Utility::sanitizeConnectionHeader, called by
 *   ServerConnectionImpl::onHeadersCompleteBase): 400, details http1.connection_header_rejected;
 * - an :authority with a character outside RFC 3986's authority set (HeaderUtility::requestHeadersValid
 *   → authorityIsValid, in onHeadersCompleteBase after handlePath): 400, details http.invalid_authority.
 * Each answer closes the connection, as Envoy does for a codec error, and no stream or filter sees it.
 * @returns the request, or null when it was answered here and must not reach the filter.
 */
export function decodeRequestHead(req: http.IncomingMessage, res: http.ServerResponse, maxHeadersCount: number, logger: Logger): RequestHead | null {
  const raw = req.rawHeaders;
  if (raw.length / 2 > maxHeadersCount) return sendCodecError(req, res, logger, 431, "http1.too_many_headers");
  const m = new HeaderMap();
  let host: string | undefined;
  let connection: string | undefined;
  let te: string | undefined;
  let teLine = "";
  let contentLength: string | undefined;
  let chunked = false;
  let forwardedProto = false;
  let requestId = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = lowerAscii(raw[i]);
    const v = raw[i + 1];
    if (k.length === 4 && k === "host") {
      host = appendToHeader(host, v);
      continue;
    }
    if (k.length === 2 && k === "te") {
      // An inline header: the first line holds the map entry, later lines are appended to it.
      if (te === undefined) m.add(k, (teLine = v));
      te = appendToHeader(te, v);
      continue;
    }
    if (CONNECTION_HEADERS.has(k)) {
      if (k === "connection") connection = appendToHeader(connection, v);
      else if (k === "transfer-encoding") chunked = true;
      continue;
    }
    if (k === "content-length") contentLength ??= v;
    else if (k === "x-forwarded-proto") forwardedProto = true;
    else if (k === "x-request-id") requestId = true;
    // Envoy answers "expect: 100-continue" itself and removes it before the filters.
    else if (k === "expect" && lowerAscii(v).trim() === "100-continue") continue;
    m.add(k, v);
  }
  const nominated = connection === undefined ? NOTHING_NOMINATED : sanitizeConnectionHeader(connection, te);
  if (nominated === null) return sendCodecError(req, res, logger, 400, "http1.connection_header_rejected");
  const method = req.method ?? "GET";
  const target = requestTarget(req.url ?? "/", method);
  const authority = target.authority ?? host;
  if (authority !== undefined && !authorityIsValid(authority)) return sendCodecError(req, res, logger, 400, "http.invalid_authority");
  for (const name of nominated.remove) {
    // te is settled below. A nominated Host is left alone (a gap: Envoy's remove("host") drops the
    // :authority inline entry, and the connection manager then answers 400 missing_host_header).
    if (name !== "te" && name !== "host") m.remove(name);
  }
  if (te !== undefined) {
    const kept = nominated.remove.has("te") ? undefined : nominated.teTrailers ? TRAILERS : sanitizeTE(te);
    if (kept === undefined) m.remove("te");
    else if (kept !== teLine) m.replace("te", kept);
  }
  const scheme = (req.socket as TLSSocket | undefined)?.encrypted ? "https" : "http";
  // Pseudo-headers go before the regular ones (HeaderMap.add), in this order.
  if (authority !== undefined) m.add(":authority", authority);
  m.add(":path", target.path);
  m.add(":method", method);
  m.add(":scheme", target.scheme ?? scheme);
  if (!forwardedProto) m.add("x-forwarded-proto", scheme);
  if (!requestId || nominated.remove.has("x-request-id")) m.add("x-request-id", randomUUID());
  return { map: m, endStream: !chunked && (contentLength === undefined || Number(contentLength) === 0) };
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
function sendCodecError(req: http.IncomingMessage, res: http.ServerResponse, logger: Logger, status: number, details: string): null {
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
  return null;
}

/**
 * HeaderMapImpl::appendToHeader, how the codec stores a repeated line of an inline header (Host, which
 * the request map keeps as :authority, Connection, TE): an empty line adds nothing, otherwise ","
 * and the line (no "," after an empty value).
 */
function appendToHeader(current: string | undefined, line: string): string {
  if (current === undefined) return line;
  if (line === "") return current;
  return current === "" ? line : `${current},${line}`;
}

/** StringUtil::trim / absl::StripAsciiWhitespace: space, \t, \n, \v, \f, \r at both ends (JS trim also strips Unicode spaces, \xa0 among them). */
function trimAscii(s: string): string {
  const ws = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
  let a = 0;
  let b = s.length;
  while (a < b && ws(s.charCodeAt(a))) a++;
  while (b > a && ws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

const TRAILERS = "trailers";

/**
 * ConnectionManagerUtility::sanitizeTEHeader (source/common/http/conn_manager_utility.cc, Envoy ≥ 1.29.3,
 * runtime guard envoy.reloadable_features.sanitize_te on by default), run by mutateRequestHeaders before
 * any filter for every request that is not an upgrade (this host forwards none): an empty TE is left as
 * it is; one whose comma-separated elements include exactly "trailers" (ASCII whitespace stripped,
 * case-sensitive) becomes "trailers"; any other TE is removed. `te` is every TE line joined.
 * @returns the value the request keeps, or undefined when TE goes.
 */
function sanitizeTE(te: string): string | undefined {
  if (te === "") return te;
  for (const element of te.split(",")) if (trimAscii(element) === TRAILERS) return TRAILERS;
  return undefined;
}

/** AuthorityIsValid's table (HeaderUtility::authorityIsValid, check_authority_h1_h2): RFC 3986 unreserved, sub-delims, %, :, @, [ and ]. */
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=%:@[\]]*$/;

function authorityIsValid(authority: string): boolean {
  return AUTHORITY.test(authority);
}

/** What the Connection header nominates: the names to remove, and whether a nominated TE stays as "trailers". */
interface Nominated {
  remove: ReadonlySet<string>;
  teTrailers: boolean;
}

const NOTHING_NOMINATED: Nominated = { remove: new Set<string>(), teTrailers: false };

/**
 * Envoy's Utility::sanitizeConnectionHeader on the Connection header (every line joined): the names it
 * nominates (lower-cased) are removed from the request, or null when the request must be refused: 10 or
 * more tokens, a nominated x-forwarded-for/-host/-proto or pseudo-header, or a nominated TE of 256 bytes
 * or more. close, keep-alive, upgrade, http2-settings and connection itself nominate nothing; a
 * nominated TE with an element "trailers" (any case) is kept, set to "trailers".
 */
function sanitizeConnectionHeader(connection: string, te: string | undefined): Nominated | null {
  const remove = new Set<string>();
  let teTrailers = false;
  const tokens = connection.split(",").filter((t) => t !== "");
  if (tokens.length >= 10) return null;
  for (const token of tokens) {
    const name = lowerAscii(trimAscii(token));
    if (name === "close" || name === "http2-settings" || name === "keep-alive" || name === "upgrade" || name === "connection") continue;
    if (name === "x-forwarded-for" || name === "x-forwarded-host" || name === "x-forwarded-proto" || name.startsWith(":")) return null;
    if (name === "te" && te !== undefined) {
      if (te.length >= 256) return null;
      if (te.split(",").some((t) => t !== "" && lowerAscii(trimAscii(t)) === TRAILERS)) {
        teTrailers = true;
        continue;
      }
    }
    remove.add(name);
  }
  return { remove, teTrailers };
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
