// Owns where tokens are looked for (Envoy's ExtractorImpl): header/prefix, query parameter and cookie
// locations compiled once from the rules, each remembering which issuers configured it, and extract(),
// which finds every token a request carries (headers first, then parameters, then cookies).
import { Config } from "../config/config";
import { isJwtChar, percentDecode } from "../util/bytes";

export const enum LocationKind { Header = 0, Param = 1, Cookie = 2 }

export class Location {
  issuers: string[] = [];
  /** The prefix as UTF-8 bytes: Envoy searches header values as bytes. */
  prefixBytes: Uint8Array;
  constructor(public kind: LocationKind, public name: string, public prefix: string) {
    this.prefixBytes = Uint8Array.wrap(String.UTF8.encode(prefix));
  }

  allows(iss: string): bool {
    return this.issuers.includes(iss);
  }
}

export class FoundToken {
  constructor(public token: string, public location: Location) {}
}

/** One request header as the host gave it: lower-case name, value bytes (decoded only when needed). */
export class RequestHeader {
  private decoded: string | null = null;
  constructor(public name: string, public raw: Uint8Array) {}

  get value(): string {
    let v = this.decoded;
    if (v === null) {
      v = String.UTF8.decodeUnsafe(this.raw.dataStart, <usize>this.raw.length);
      this.decoded = v;
    }
    return v;
  }
}

/** Tokens per request we look at; more is an attack or a bug, and the excess is ignored. */
const MAX_TOKENS: i32 = 16;

function addLocation(list: Location[], kind: LocationKind, name: string, prefix: string, issuer: string): void {
  for (let i = 0; i < list.length; i++) {
    const l = unchecked(list[i]);
    if (l.kind == kind && l.name == name && l.prefix == prefix) {
      if (!l.allows(issuer)) l.issuers.push(issuer);
      return;
    }
  }
  const l = new Location(kind, name, prefix);
  l.issuers.push(issuer);
  list.push(l);
}

export class Extractor {
  locations: Location[] = [];
  /** Lower-case names of the headers extraction reads (header locations, and `cookie` if any cookie location). */
  headerNames: string[] = [];

  constructor(cfg: Config) {
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromHeaders.length; j++) {
        const h = unchecked(r.fromHeaders[j]);
        addLocation(this.locations, LocationKind.Header, h.name, h.prefix, r.issuer);
      }
    }
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromParams.length; j++) addLocation(this.locations, LocationKind.Param, unchecked(r.fromParams[j]), "", r.issuer);
    }
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromCookies.length; j++) addLocation(this.locations, LocationKind.Cookie, unchecked(r.fromCookies[j]), "", r.issuer);
    }
    for (let i = 0; i < this.locations.length; i++) {
      const l = unchecked(this.locations[i]);
      const name = l.kind == LocationKind.Header ? l.name : l.kind == LocationKind.Cookie ? "cookie" : "";
      if (name.length > 0 && !this.headerNames.includes(name)) this.headerNames.push(name);
    }
  }

  extract(headers: RequestHeader[], path: string): FoundToken[] {
    const out: FoundToken[] = [];
    const locs = this.locations;
    for (let i = 0; i < locs.length && out.length < MAX_TOKENS; i++) {
      const loc = unchecked(locs[i]);
      if (loc.kind == LocationKind.Header) {
        for (let j = 0; j < headers.length && out.length < MAX_TOKENS; j++) {
          const h = unchecked(headers[j]);
          if (h.name != loc.name) continue;
          const t = tokenFromHeaderBytes(h.raw, loc.prefixBytes);
          if (t !== null) out.push(new FoundToken(t, loc));
        }
      } else if (loc.kind == LocationKind.Param) {
        const v = queryParam(path, loc.name);
        if (v !== null) out.push(new FoundToken(v, loc));
      } else {
        for (let j = 0; j < headers.length; j++) {
          const h = unchecked(headers[j]);
          if (h.name != "cookie") continue;
          const v = cookieValue(h.value, loc.name);
          if (v !== null) {
            out.push(new FoundToken(v, loc));
            break;
          }
        }
      }
    }
    return out;
  }
}

/**
 * Envoy: the prefix is searched anywhere in the value (as bytes), case-sensitively; a value without it
 * carries no token. After it, the token is the first run of [A-Za-z0-9-_.]; with no such run, the rest
 * as it is. An empty prefix takes the whole value.
 */
export function tokenFromHeaderBytes(raw: Uint8Array, prefix: Uint8Array): string | null {
  const n = raw.length;
  const p = raw.dataStart;
  const m = prefix.length;
  if (m == 0) return n > 0 ? String.UTF8.decodeUnsafe(p, <usize>n) : null;
  const q = prefix.dataStart;
  const first = load<u8>(q);
  let at = -1;
  for (let i = 0; i + m <= n; i++) {
    if (load<u8>(p + <usize>i) != first) continue;
    let j = 1;
    while (j < m && load<u8>(p + <usize>(i + j)) == load<u8>(q + <usize>j)) j++;
    if (j == m) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  const after = at + m;
  let start = after;
  while (start < n && !isJwtChar(<i32>load<u8>(p + <usize>start))) start++;
  if (start >= n) return after < n ? String.UTF8.decodeUnsafe(p + <usize>after, <usize>(n - after)) : null;
  let end = start;
  while (end < n && isJwtChar(<i32>load<u8>(p + <usize>end))) end++;
  return String.UTF8.decodeUnsafe(p + <usize>start, <usize>(end - start));
}

/** The first value of query parameter `name` in `:path`, percent-decoded; null when absent. */
export function queryParam(path: string, name: string): string | null {
  const q = path.indexOf("?");
  if (q < 0) return null;
  let i = q + 1;
  const n = path.length;
  while (i <= n) {
    let amp = path.indexOf("&", i);
    if (amp < 0) amp = n;
    const pair = path.substring(i, amp);
    const eq = pair.indexOf("=");
    const k = eq < 0 ? pair : pair.substring(0, eq);
    if (percentDecode(k) == name) {
      const v = eq < 0 ? "" : percentDecode(pair.substring(eq + 1));
      return v.length > 0 ? v : null;
    }
    i = amp + 1;
  }
  return null;
}

/** `:path` without query parameter `name` (every occurrence), for stripping a verified token. */
export function removeQueryParam(path: string, name: string): string {
  const q = path.indexOf("?");
  if (q < 0) return path;
  const base = path.substring(0, q);
  const parts = path.substring(q + 1).split("&");
  let kept = "";
  for (let i = 0; i < parts.length; i++) {
    const pair = unchecked(parts[i]);
    const eq = pair.indexOf("=");
    const k = eq < 0 ? pair : pair.substring(0, eq);
    if (percentDecode(k) == name) continue;
    kept = kept.length > 0 ? kept + "&" + pair : pair;
  }
  return kept.length > 0 ? base + "?" + kept : base;
}

/** The value of cookie `name` in one `cookie` header (`a=1; b="2"`), quotes removed; null when absent. */
export function cookieValue(header: string, name: string): string | null {
  const parts = header.split(";");
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]).trim();
    const eq = p.indexOf("=");
    if (eq <= 0) continue;
    if (p.substring(0, eq) != name) continue;
    let v = p.substring(eq + 1);
    if (v.length >= 2 && v.charCodeAt(0) == 0x22 && v.charCodeAt(v.length - 1) == 0x22) v = v.substring(1, v.length - 1);
    return v.length > 0 ? v : null;
  }
  return null;
}
