// proxy_get_property for a stream context (proxy-wasm-host.md §5.6): the answers Envoy's
// Filters::Common::Expr wrappers and Wasm::Context::findValue give, encoded as Envoy's serializeValue
// does (strings as their bytes, bools as one byte, int64/uint64 as 8 bytes little-endian, timestamps
// and durations as int64 nanoseconds, maps as serialized pairs, messages as protobuf bytes). Reads the
// facts an HttpStream hands over (StreamFacts); owns no stream state. null means NotFound.
//
// `connection.*` (Envoy's ConnectionWrapper): `mtls` (true when a client certificate was presented),
// `requested_server_name` (the SNI, "" without one, also on plain HTTP), `id`; on a TLS connection
// only (NotFound on plain HTTP): `tls_version`, `subject_local_certificate`, `subject_peer_certificate`
// ("" without a client certificate), and, NotFound when empty, `uri_san_local_certificate`,
// `uri_san_peer_certificate`, `dns_san_local_certificate`, `dns_san_peer_certificate` (each the first
// SAN of its kind) and `sha256_peer_certificate_digest`. `peer_certificate` (URL-encoded PEM) is not
// provided (NotFound).
//
// `node.*` (the Node message of Envoy's LocalInfo): `node.id`, `node.cluster` (strings, "" when unset),
// `node.metadata` (a Struct, which CEL turns into a map: serialized pairs), `node.metadata.KEY` (the
// string value; NotFound for a missing key), and `node` alone as protobuf bytes of {id, cluster,
// metadata} (Envoy's node also carries its user agent, build version and extensions, not reproduced).
// Envoy answers `node` in root contexts too; this file is reached only from stream contexts.

import type { HeaderMap } from "./headers";
import { binaryToBytes } from "./headers";
import { serializePairs } from "./abi/pairs";
import type { TlsFacts } from "./tls";

/** Envoy's node identity (its --service-node, --service-cluster and bootstrap node.metadata). */
export interface NodeInfo {
  id: string;
  cluster: string;
  metadata: Record<string, string>;
}

/** One downstream connection, as the listener accepted it. */
export interface ConnectionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** An HTTPS connection's TLS facts (tls.ts); absent on plain HTTP. */
  tls?: TlsFacts;
}

/** The stream's state the properties read, taken when the module asks. */
export interface StreamFacts {
  /** The request (response) header map is available: during its callback or while paused on it. */
  requestHeadersAvailable: boolean;
  responseHeadersAvailable: boolean;
  logPhase: boolean;
  requestMap: HeaderMap;
  responseHeaders: HeaderMap | null;
  responseTrailers: HeaderMap | null;
  httpVersion: string;
  startMs: number;
  startNs: bigint;
  requestBytes: number;
  responseBytes: number;
  responseCode: number | null;
  details: string;
  upstreamAddress: string | null;
  connection: ConnectionInfo;
  node: NodeInfo | undefined;
  filterState: Map<string, Buffer>;
}

export const int64 = (v: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
};

const uint64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

const bool = (v: boolean): Buffer => Buffer.from([v ? 1 : 0]);
const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");
const str = (s: string | undefined): Buffer | null => (s === undefined ? null : binaryToBytes(s));
/** A string CEL value Envoy leaves out when empty (`{}`): NotFound. */
const nonEmpty = (s: string | undefined): Buffer | null => (s === undefined || s === "" ? null : utf8(s));

/** The property at `path` (NUL-separated segments, already split), or null for NotFound. */
export function streamProperty(f: StreamFacts, path: string[]): Buffer | null {
  const [top, second] = path;
  switch (top) {
    case "request":
      return requestProperty(f, path);
    case "response":
      return responseProperty(f, path);
    case "source":
    case "destination": {
      if (path.length !== 2) return null;
      const local = top === "destination";
      const c = f.connection;
      const addr = local ? c.localAddress : c.remoteAddress;
      const port = local ? c.localPort : c.remotePort;
      if (second === "address") return Buffer.from(`${addr}:${port}`);
      if (second === "port") return int64(port);
      return null;
    }
    case "connection":
      return path.length === 2 ? connectionProperty(f.connection, second) : null;
    case "connection_id":
      return path.length === 1 ? uint64(f.connection.id) : null;
    case "upstream": {
      if (path.length !== 2 || f.upstreamAddress === null) return null;
      if (second === "address") return Buffer.from(f.upstreamAddress);
      if (second === "port") return int64(Number(f.upstreamAddress.split(":").pop()));
      return null;
    }
    case "node":
      return f.node === undefined ? null : nodeProperty(f.node, path.slice(1));
    default:
      // Any other name is filter state "wasm.<name>" set by proxy_set_property.
      return path.length === 1 ? (f.filterState.get(top) ?? null) : null;
  }
}

function requestProperty(f: StreamFacts, path: string[]): Buffer | null {
  const [, second, third] = path;
  const req = f.requestMap;
  const readable = f.requestHeadersAvailable || f.logPhase;
  if (second === "headers") {
    if (!readable) return null;
    if (third !== undefined) return str(req.get(third));
    return req.serialize();
  }
  if (path.length !== 2) return null;
  switch (second) {
    case "protocol":
      return Buffer.from(`HTTP/${f.httpVersion}`);
    case "time":
      return int64(BigInt(f.startMs) * 1_000_000n);
    case "duration":
      return f.logPhase ? int64(process.hrtime.bigint() - f.startNs) : null;
    case "total_size":
      return f.logPhase ? int64(f.requestBytes + req.byteSize()) : null;
  }
  if (!readable) return null;
  const p = req.get(":path");
  switch (second) {
    case "path":
      return str(p);
    case "url_path":
      return p === undefined ? null : binaryToBytes(p.split("?")[0]);
    case "query":
      return p === undefined ? null : binaryToBytes(p.includes("?") ? p.slice(p.indexOf("?") + 1) : "");
    case "host":
      return str(req.get(":authority"));
    case "method":
      return str(req.get(":method"));
    case "scheme":
      return str(req.get(":scheme"));
    case "id":
      return str(req.get("x-request-id"));
    case "useragent":
      return str(req.get("user-agent"));
    case "referer":
      return str(req.get("referer"));
    case "size": {
      // Envoy reads content-length into an int64 (SimpleAtoi); a larger value (Node's parser accepts up to
      // 2^64 - 1) falls back to the bytes received, and never throws in the host call.
      const cl = req.get("content-length");
      const n = cl !== undefined && /^\d+$/.test(cl) ? BigInt(cl) : -1n;
      return int64(n >= 0n && n <= 0x7fffffffffffffffn ? n : BigInt(f.requestBytes));
    }
  }
  return null;
}

function responseProperty(f: StreamFacts, path: string[]): Buffer | null {
  const [, second, third] = path;
  const readable = f.responseHeadersAvailable || f.logPhase;
  if (second === "headers" || second === "trailers") {
    const m = second === "headers" ? f.responseHeaders : f.responseTrailers;
    if (!readable || !m) return null;
    if (third !== undefined) return str(m.get(third));
    return m.serialize();
  }
  if (path.length !== 2) return null;
  switch (second) {
    case "code":
      return f.responseCode === null ? null : int64(f.responseCode);
    case "code_details":
      return f.details === "" ? null : Buffer.from(f.details);
    case "flags":
      return int64(0);
    case "size":
      return int64(f.responseBytes);
    case "total_size":
      return int64(f.responseBytes + (f.responseHeaders?.byteSize() ?? 0));
  }
  return null;
}

/** One `connection.<name>` attribute (Envoy's ConnectionLookupValues, then its SSL extractors). */
export function connectionProperty(c: StreamFacts["connection"], name: string): Buffer | null {
  const t = c.tls;
  switch (name) {
    case "mtls":
      return bool(t !== undefined && t.peerPresented);
    case "requested_server_name":
      return utf8(t?.sni ?? "");
    case "id":
      return uint64(c.id);
  }
  // Envoy consults the SSL extractors only when the connection has TLS.
  if (t === undefined) return null;
  switch (name) {
    case "tls_version":
      return utf8(t.version);
    case "subject_local_certificate":
      return utf8(t.localSubject);
    case "subject_peer_certificate":
      return utf8(t.peerSubject);
    case "uri_san_local_certificate":
      return nonEmpty(t.localUriSans[0]);
    case "uri_san_peer_certificate":
      return nonEmpty(t.peerUriSans[0]);
    case "dns_san_local_certificate":
      return nonEmpty(t.localDnsSans[0]);
    case "dns_san_peer_certificate":
      return nonEmpty(t.peerDnsSans[0]);
    case "sha256_peer_certificate_digest":
      return nonEmpty(t.peerSha256);
  }
  return null;
}

/** `node` and below (`rest` = the segments after "node"). */
export function nodeProperty(node: NodeInfo, rest: string[]): Buffer | null {
  if (rest.length === 0) return nodeMessage(node);
  const [field, key] = rest;
  switch (field) {
    case "id":
    case "cluster":
      return rest.length === 1 ? utf8(node[field]) : null;
    case "metadata": {
      if (rest.length === 1) {
        const pairs = Object.entries(node.metadata).map(([k, v]): [Buffer, Buffer] => [utf8(k), utf8(v)]);
        // Envoy's serializeValue writes the 4-byte count even for an empty map.
        return pairs.length === 0 ? Buffer.alloc(4) : serializePairs(pairs);
      }
      if (rest.length !== 2 || !Object.prototype.hasOwnProperty.call(node.metadata, key)) return null;
      return utf8(node.metadata[key]);
    }
  }
  return null;
}

// ---- protobuf encoding of envoy.config.core.v3.Node {id = 1, cluster = 2, metadata = 3 (Struct)} --------

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2); proto3 leaves an empty string or message out. */
function lengthDelimited(field: number, body: Buffer, keepEmpty = false): Buffer {
  if (body.length === 0 && !keepEmpty) return Buffer.alloc(0);
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
}

function nodeMessage(node: NodeInfo): Buffer {
  // Struct {map<string, Value> fields = 1}; each entry {key = 1, value = 2}; Value {string_value = 3}.
  const entries = Object.entries(node.metadata).map(([k, v]) =>
    lengthDelimited(1, Buffer.concat([lengthDelimited(1, utf8(k)), lengthDelimited(2, lengthDelimited(3, utf8(v), true), true)]), true),
  );
  return Buffer.concat([lengthDelimited(1, utf8(node.id)), lengthDelimited(2, utf8(node.cluster)), lengthDelimited(3, Buffer.concat(entries))]);
}
