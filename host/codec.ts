// Checks Envoy's HTTP/1 server codec makes while it parses a request, before the connection manager
// creates a stream (no filter runs): the header count limit. A failed check answers with the
// connection manager's local reply and closes the connection, as Envoy does for a codec error.
// The stream through the filter is in stream.ts.

import type http from "node:http";
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
const REASON: Record<number, string> = { 431: "Request Header Fields Too Large" };

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
    new Date().toUTCString(),
    "server",
    "envoy",
    "connection",
    "close",
  ]);
  // With "connection: close" node:http ends the socket once the reply is written.
  res.end(body);
}
