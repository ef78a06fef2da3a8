// The listener's TLS, as Envoy's DownstreamTlsContext: the server certificate and key, and with a
// client CA a validation context (client certificates requested, and verified against that CA). Turns
// the settings (or the CLI's --tls-cert/--tls-key/--client-ca/--client-cert files) into Node's
// https.ServerOptions, decides per connection whether a presented client certificate is refused, and
// records each TLS connection's facts for the `connection.*` properties (properties.ts reads them).
// Owns no socket: server.ts listens and calls these. Returns problems as values, never throws.
//
// Envoy's behaviour mirrored here:
// - `--client-cert required` is `require_client_certificate: true`: a handshake without a certificate
//   that verifies against the CA fails.
// - `--client-cert optional` (the default with --client-ca) is a validation context without
//   require_client_certificate: Envoy requests a certificate (SSL_VERIFY_PEER without
//   FAIL_IF_NO_PEER_CERT), a client may send none, but a certificate it does send must verify: Envoy's
//   DefaultCertValidator fails the handshake for an untrusted chain (unless
//   trust_chain_verification: ACCEPT_UNTRUSTED, which this host does not offer). So a certificate from
//   another CA is refused in both modes. Node cannot fail the handshake for it (rejectUnauthorized
//   would also refuse clients without a certificate), so the connection is closed as soon as the
//   handshake completes, before any request on it is read: the client sees the connection closed
//   instead of Envoy's TLS alert; no request reaches the filter either way.
// - Without --client-ca no certificate is requested (Envoy without a validation context), so
//   `connection.mtls` is false for every connection; --client-cert without --client-ca is refused.
// - The SNI is recorded as the tls_inspector listener filter (which Istio always installs) sets
//   `requested_server_name`; the TLS version as SSL_get_version names it ("TLSv1.3").
// - Subjects are RFC 2253 strings as Envoy prints them (X509_NAME_print_ex with XN_FLAG_RFC2253: last
//   RDN first, `,` between RDNs, `+` inside one, bytes above 0x7F as \XX); the digest is the lowercase
//   hex SHA-256 of the certificate's DER. Attributes with OIDs OpenSSL does not name are printed by
//   Node as text, where Envoy would dump them as #hex (not reproduced).

import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import fs from "node:fs";
import type https from "node:https";
import type tls from "node:tls";

export type ClientCertMode = "optional" | "required";

/** ServeOptions.tls: PEM text (or bytes) of the listener's certificate chain, key and client CA. */
export interface TlsSettings {
  cert: string | Buffer;
  key: string | Buffer;
  /** CA certificate(s) client certificates must chain to; without it none is requested. */
  clientCa?: string | Buffer;
  /** Default "optional" when clientCa is given. */
  clientCert?: ClientCertMode;
}

/** What a TLS connection tells the `connection.*` properties (Envoy's Ssl::ConnectionInfo). */
export interface TlsFacts {
  /** "TLSv1.3", "TLSv1.2". */
  version: string;
  /** The SNI the client sent, "" when none. */
  sni: string;
  /** A client certificate was presented (and, as the handshake went on, verified). */
  peerPresented: boolean;
  /** RFC 2253 subject of the client certificate, "" without one. */
  peerSubject: string;
  peerUriSans: string[];
  peerDnsSans: string[];
  /** Lowercase hex SHA-256 of the client certificate's DER, "" without one. */
  peerSha256: string;
  localSubject: string;
  localUriSans: string[];
  localDnsSans: string[];
}

/** The listener certificate's facts, computed once. */
export interface LocalCertFacts {
  subject: string;
  uriSans: string[];
  dnsSans: string[];
}

export interface ListenerTls {
  options: https.ServerOptions;
  mode: ClientCertMode | null;
  local: LocalCertFacts;
}

/** `--client-cert` value check. */
export function isClientCertMode(v: string): v is ClientCertMode {
  return v === "optional" || v === "required";
}

/**
 * Reads the CLI's files into TlsSettings; `null` when no TLS flag was given, a message when the
 * combination is incomplete or a file cannot be read.
 */
export function tlsSettingsFromFiles(f: { cert?: string; key?: string; clientCa?: string; clientCert?: string }): TlsSettings | null | string {
  if (f.cert === undefined && f.key === undefined && f.clientCa === undefined && f.clientCert === undefined) return null;
  if (f.cert === undefined || f.key === undefined) return "--tls-cert FILE and --tls-key FILE go together (and --client-ca, --client-cert need them)";
  if (f.clientCert !== undefined && !isClientCertMode(f.clientCert)) {
    return `--client-cert must be optional or required, got ${JSON.stringify(f.clientCert)}`;
  }
  if (f.clientCert !== undefined && f.clientCa === undefined) return "--client-cert needs --client-ca FILE (the CA client certificates are verified against)";
  const read = (flag: string, file: string): string | { error: string } => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      return { error: `cannot read --${flag} ${file}: ${(e as Error).message}` };
    }
  };
  const cert = read("tls-cert", f.cert);
  if (typeof cert !== "string") return cert.error;
  const key = read("tls-key", f.key);
  if (typeof key !== "string") return key.error;
  const s: TlsSettings = { cert, key };
  if (f.clientCa !== undefined) {
    const ca = read("client-ca", f.clientCa);
    if (typeof ca !== "string") return ca.error;
    s.clientCa = ca;
    s.clientCert = (f.clientCert as ClientCertMode | undefined) ?? "optional";
  }
  return s;
}

/** The https.ServerOptions for the settings, or why they cannot be used. */
export function listenerTls(s: TlsSettings): ListenerTls | string {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(s.cert);
  } catch (e) {
    return `tls.cert is not a PEM certificate: ${(e as Error).message}`;
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(s.key))) return "tls.key is not the key of tls.cert";
  } catch (e) {
    return `tls.key is not a PEM private key: ${(e as Error).message}`;
  }
  if (s.clientCert !== undefined && !isClientCertMode(s.clientCert)) return `tls.clientCert must be "optional" or "required"`;
  if (s.clientCert !== undefined && s.clientCa === undefined) return "tls.clientCert needs tls.clientCa";
  if (s.clientCa !== undefined) {
    try {
      new X509Certificate(s.clientCa);
    } catch (e) {
      return `tls.clientCa is not a PEM certificate: ${(e as Error).message}`;
    }
  }
  const mode = s.clientCa === undefined ? null : (s.clientCert ?? "optional");
  const options: https.ServerOptions = { cert: s.cert, key: s.key };
  if (mode !== null) {
    options.ca = s.clientCa;
    options.requestCert = true;
    options.rejectUnauthorized = mode === "required";
  }
  const sans = subjectAltNames(leaf.subjectAltName);
  return { options, mode, local: { subject: rfc2253(leaf.subject), uriSans: sans.uri, dnsSans: sans.dns } };
}

/**
 * Why a connection whose handshake completed must be closed (a presented client certificate that did
 * not verify, in optional mode), or null to keep it.
 */
export function refusedPeer(socket: tls.TLSSocket, l: ListenerTls): string | null {
  if (l.mode !== "optional" || socket.authorized) return null;
  if (socket.getPeerX509Certificate() === undefined) return null;
  return `client certificate refused: ${String(socket.authorizationError ?? "not verified")}`;
}

/** The facts of one TLS connection, read once when its handshake completes. */
export function tlsFacts(socket: tls.TLSSocket, l: ListenerTls): TlsFacts {
  const peer = l.mode === null ? undefined : socket.getPeerX509Certificate();
  const sans = subjectAltNames(peer?.subjectAltName);
  const sni = (socket as tls.TLSSocket & { servername?: string | false }).servername;
  return {
    version: socket.getProtocol() ?? "",
    sni: typeof sni === "string" ? sni : "",
    peerPresented: peer !== undefined,
    peerSubject: peer === undefined ? "" : rfc2253(peer.subject),
    peerUriSans: sans.uri,
    peerDnsSans: sans.dns,
    peerSha256: peer === undefined ? "" : createHash("sha256").update(peer.raw).digest("hex"),
    localSubject: l.local.subject,
    localUriSans: l.local.uriSans,
    localDnsSans: l.local.dnsSans,
  };
}

/**
 * URI and DNS names of Node's `subjectAltName` text ("DNS:a, URI:b, IP Address:c"), in certificate
 * order. Node writes a name holding `,`, `"` or other special characters as a JSON string.
 */
export function subjectAltNames(text: string | undefined): { uri: string[]; dns: string[] } {
  const out = { uri: [] as string[], dns: [] as string[] };
  if (!text) return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const kind = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        value = text.slice(colon + 2, j);
      }
      next = text.indexOf(", ", j + 1);
    } else {
      next = text.indexOf(", ", colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (kind === "URI") out.uri.push(value);
    else if (kind === "DNS") out.dns.push(value);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/**
 * Node's multi-line distinguished name (one RDN a line, first RDN first, " + " inside an RDN, RFC 2253
 * escapes already applied) as OpenSSL's XN_FLAG_RFC2253 prints it.
 */
export function rfc2253(multiline: string): string {
  if (multiline === "") return "";
  const rdns = multiline.split("\n").filter((l) => l !== "").reverse();
  const joined = rdns.map((r) => r.split(" + ").join("+")).join(",");
  let out = "";
  for (const b of Buffer.from(joined, "utf8")) {
    out += b > 0x7f ? `\\${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}
