// Owns the request attributes authorization policies look at: the pseudo-headers and headers read in
// the one header pass, the principal and the first verified token's claims, and the connection
// properties (destination port, peer and remote addresses, SNI, the peer certificate's identities), each fetched
// from the host at most once per request and only when a policy asks for it.
import { get_property } from "@solo-io/proxy-runtime/assembly/runtime";
import { Jwt } from "../jwt/jwt";
import { JwtRule } from "../config/config";
import { claimValues } from "../jwt/claims";

const NO_VALUES: string[] = [];
import { pathEnd, parseIp } from "./match";

function propertyString(name: string): string | null {
  const b = get_property(name);
  if (b.byteLength == 0) return null;
  return String.UTF8.decode(b);
}

/** The IP part of Envoy's `source.address` (`1.2.3.4:5`, `[::1]:5`; a bare address is taken whole). */
function addressIp(a: string, out: StaticArray<u8>): i32 {
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    return close < 0 ? 0 : parseIp(a, 1, close, out);
  }
  const first = a.indexOf(":");
  const last = a.lastIndexOf(":");
  if (first >= 0 && first == last) return parseIp(a, 0, last, out);
  // Several colons: an IPv6 address, bare or (as some hosts write it) followed by `:port`.
  const whole = parseIp(a, 0, a.length, out);
  if (whole != 0) return whole;
  return last > 0 ? parseIp(a, 0, last, out) : 0;
}

/** Shared, never written: unread addresses and absent header values cost no allocation. */
const NO_ADDR = new StaticArray<u8>(0);
const NO_HEADER_VALUES: Array<string | null> = [];

function hasUpper(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
    if (c >= 0x80) return true;
  }
  return false;
}

/** The last computed claim values and what they were computed for (the token's parse, its rule, Config.claimPaths). */
let MEMO_JWT: Jwt | null = null;
let MEMO_RULE: JwtRule | null = null;
let MEMO_PATHS: string[] | null = null;
let MEMO_CLAIMS: Array<string[] | null> | null = null;

export class RequestAttrs {
  method: string = "";
  path: string = "";
  authority: string = "";
  /** Values of Config.policyHeaders, in that order (several lines of a name joined with `,`, as Envoy). */
  headers: Array<string | null> = NO_HEADER_VALUES;
  /**
   * The first verified token (its `iss`/`sub` are the principal, its claims the policies' `request.auth.*`;
   * null without a valid token), and the rule that accepted it.
   */
  jwt: Jwt | null = null;
  rule: JwtRule | null = null;
  /** How many distinct claim paths the policies read (Config.claimPaths), and their values once computed. */
  claimSlots: i32 = 0;
  private _claims: Array<string[] | null> | null = null;
  private _claimPaths: string[] = NO_VALUES;

  /** The values of claim path `index` (claimValues of the first verified token), computed once per request. */
  claimValuesAt(index: i32, path: string[]): string[] {
    const jwt = this.jwt;
    if (jwt === null) return NO_VALUES;
    let cache = this._claims;
    if (cache === null) {
      // A repeat token's cached parse is the same Jwt object: its values (never written once computed) are
      // taken over from the last request that had the same parse, rule and configuration.
      const memo = MEMO_CLAIMS;
      if (memo !== null && MEMO_JWT === jwt && MEMO_RULE === this.rule && MEMO_PATHS === this._claimPaths) cache = memo;
      else {
        cache = new Array<string[] | null>(this.claimSlots);
        MEMO_JWT = jwt;
        MEMO_RULE = this.rule;
        MEMO_PATHS = this._claimPaths;
        MEMO_CLAIMS = cache;
      }
      this._claims = cache;
    }
    if (index < 0 || index >= cache.length) return claimValues(jwt, this.rule, path);
    let v = unchecked(cache[index]);
    if (v === null) {
      v = claimValues(jwt, this.rule, path);
      unchecked(cache[index] = v);
    }
    return v;
  }
  xffNumTrustedHops: i32 = 0;
  /** Index of `x-forwarded-for` in `headers`, or -1. */
  xffIndex: i32 = -1;

  private _end: i32 = -1;
  private _urlPath: string | null = null;
  private _host: string | null = null;
  private _port: i32 = -2;
  private _srcFam: i32 = -1;
  private _srcAddr: StaticArray<u8> = NO_ADDR;
  private _remFam: i32 = -1;
  private _remAddr: StaticArray<u8> = NO_ADDR;
  private _dstFam: i32 = -1;
  private _dstAddr: StaticArray<u8> = NO_ADDR;
  private _sni: string | null = null;
  private _sniRead: bool = false;
  private _san: string | null = null;
  private _sanRead: bool = false;
  private _peers: string[] | null = null;

  /**
   * Starts a request: every field is set, so an object reused from an earlier request (the stream pool)
   * carries nothing of it. A field added to this class must be set here too.
   */
  begin(method: string, path: string, authority: string, headers: Array<string | null>, xffNumTrustedHops: i32, xffIndex: i32, claimPaths: string[]): void {
    this.method = method;
    this.path = path;
    this.authority = authority;
    this.headers = headers;
    this.jwt = null;
    this.rule = null;
    this.claimSlots = claimPaths.length;
    this._claimPaths = claimPaths;
    this._claims = null;
    this.xffNumTrustedHops = xffNumTrustedHops;
    this.xffIndex = xffIndex;
    this._end = -1;
    this._urlPath = null;
    this._host = null;
    this._port = -2;
    this._srcFam = -1;
    this._srcAddr = NO_ADDR;
    this._remFam = -1;
    this._remAddr = NO_ADDR;
    this._dstFam = -1;
    this._dstAddr = NO_ADDR;
    this._sni = null;
    this._sniRead = false;
    this._san = null;
    this._sanRead = false;
    this._peers = null;
  }

  /** Drops what the request referenced (a pooled object keeps no token or header alive). */
  release(): void {
    this.begin("", "", "", NO_HEADER_VALUES, 0, -1, NO_VALUES);
  }

  pathEnd(): i32 {
    if (this._end < 0) this._end = pathEnd(this.path);
    return this._end;
  }

  /** `:path` without the query string and fragment. */
  urlPath(): string {
    let u = this._urlPath;
    if (u === null) {
      const e = this.pathEnd();
      u = e == this.path.length ? this.path : this.path.substring(0, e);
      this._urlPath = u;
    }
    return changetype<string>(u);
  }

  /** `:authority`, lower-cased (hosts are compared case-insensitively). */
  host(): string {
    let h = this._host;
    if (h === null) {
      h = hasUpper(this.authority) ? this.authority.toLowerCase() : this.authority;
      this._host = h;
    }
    return changetype<string>(h);
  }

  /** The listener port (`destination.port`, 8 bytes little-endian); -1 when the host has none. */
  destinationPort(): i32 {
    if (this._port == -2) {
      const b = get_property("destination.port");
      if (b.byteLength == 8) {
        const v = load<u64>(changetype<usize>(b));
        this._port = v <= 65535 ? <i32>v : -1;
      } else this._port = -1;
    }
    return this._port;
  }

  /** The direct peer's address (`source.address`); the family (4/6) or 0 when unknown. */
  sourceIp(): i32 {
    if (this._srcFam < 0) {
      this._srcAddr = new StaticArray<u8>(16);
      const a = propertyString("source.address");
      this._srcFam = a === null ? 0 : addressIp(a, this._srcAddr);
    }
    return this._srcFam;
  }
  get sourceAddr(): StaticArray<u8> { return this._srcAddr; }

  destinationIp(): i32 {
    if (this._dstFam < 0) {
      this._dstAddr = new StaticArray<u8>(16);
      const a = propertyString("destination.address");
      this._dstFam = a === null ? 0 : addressIp(a, this._dstAddr);
    }
    return this._dstFam;
  }
  get destinationAddr(): StaticArray<u8> { return this._dstAddr; }

  /**
   * The original client as Envoy computes it: with N trusted hops, the Nth `x-forwarded-for` entry from
   * the right; with none (or too few entries, or an unparsable one) the direct peer.
   */
  remoteIp(): i32 {
    if (this._remFam < 0) {
      this._remFam = 0;
      const n = this.xffNumTrustedHops;
      const xff = this.xffIndex >= 0 ? unchecked(this.headers[this.xffIndex]) : null;
      if (n > 0 && xff !== null) {
        let end = xff.length;
        let k = 1;
        while (true) {
          const comma = end > 0 ? xff.lastIndexOf(",", end - 1) : -1;
          if (k == n) {
            let s = comma + 1;
            let e = end;
            while (s < e && (xff.charCodeAt(s) == 0x20 || xff.charCodeAt(s) == 0x09)) s++;
            while (e > s && (xff.charCodeAt(e - 1) == 0x20 || xff.charCodeAt(e - 1) == 0x09)) e--;
            this._remAddr = new StaticArray<u8>(16);
            this._remFam = parseIp(xff, s, e, this._remAddr);
            break;
          }
          if (comma < 0) break;
          end = comma;
          k++;
        }
      }
      if (this._remFam == 0) {
        this._remFam = this.sourceIp();
        this._remAddr = this._srcAddr;
      }
    }
    return this._remFam;
  }
  get remoteAddr(): StaticArray<u8> { return this._remAddr; }

  /** `connection.requested_server_name`; null when absent or empty. */
  sni(): string | null {
    if (!this._sniRead) {
      this._sniRead = true;
      this._sni = propertyString("connection.requested_server_name");
    }
    return this._sni;
  }

  /** The peer certificate's first URI SAN (`spiffe://<td>/ns/<ns>/sa/<sa>`); null without mTLS. */
  peerUri(): string | null {
    if (!this._sanRead) {
      this._sanRead = true;
      this._san = propertyString("connection.uri_san_peer_certificate");
    }
    return this._san;
  }

  /**
   * The peer identities Envoy's RBAC `authenticated` principal matcher tries, in its order: the URI SAN,
   * the DNS SAN, then the subject (RFC 2253). Envoy tries every URI and DNS SAN; proxy-wasm exposes only
   * the first of each (`connection.uri_san_peer_certificate`, `connection.dns_san_peer_certificate`).
   * Empty without a client certificate (the host then has none of the three).
   */
  peerIdentities(): string[] {
    let ids = this._peers;
    if (ids === null) {
      ids = [];
      const uri = this.peerUri();
      if (uri !== null) ids.push(uri);
      const dns = propertyString("connection.dns_san_peer_certificate");
      if (dns !== null) ids.push(dns);
      const subject = propertyString("connection.subject_peer_certificate");
      if (subject !== null) ids.push(subject);
      this._peers = ids;
    }
    return ids;
  }
}
