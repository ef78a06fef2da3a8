// Owns where tokens are looked for (Envoy's ExtractorImpl): header/prefix, query parameter and cookie
// locations compiled once from the rules, each remembering which rules configured it, and extract(),
// which finds every token a request carries (headers first, then parameters, then cookies).
// Fail closed: every occurrence in a configured location is a token (an empty one too), and a request
// with more tokens than the bound is refused, never trimmed.
import { Config, JwtRule } from "../config/config";
import { isJwtChar, jwtRunEnd, percentDecode, asciiLower, decodeText } from "../util/bytes";

export const enum LocationKind { Header = 0, Param = 1, Cookie = 2 }

/** Shared, never written: no candidate rules. */
export const NO_RULES: JwtRule[] = [];

export class Location {
  /** The rules that configured this location, in configuration order (each token may use any of them). */
  rules: JwtRule[] = [];
  /** The prefix as UTF-8 bytes: Envoy searches header values as bytes (ASCII-lower-cased when caseInsensitive). */
  prefixBytes: Uint8Array;
  /** The name as UTF-8 bytes, for the host calls that remove a header token (made once, not per request). */
  nameBytes: ArrayBuffer;
  constructor(public kind: LocationKind, public name: string, public prefix: string, public caseInsensitive: bool = false) {
    this.prefixBytes = Uint8Array.wrap(String.UTF8.encode(caseInsensitive ? asciiLower(prefix) : prefix));
    this.nameBytes = String.UTF8.encode(name);
  }

  /** Each issuer of this location's rules, and its rules in configuration order (compile(), at configure time). */
  private issuers: string[] = [];
  private issuerRules: JwtRule[][] = [];
  /** Index of this header location's name in Config.policyHeaders (-1: no policy condition reads it). */
  policyHeaderIndex: i32 = -1;

  /** Fixes what requests look up, once every rule has been added. */
  compile(cfg: Config): void {
    for (let i = 0; i < this.rules.length; i++) {
      const r = unchecked(this.rules[i]);
      const at = this.issuers.indexOf(r.issuer);
      if (at >= 0) unchecked(this.issuerRules[at]).push(r);
      else {
        this.issuers.push(r.issuer);
        this.issuerRules.push([r]);
      }
    }
    if (this.kind == LocationKind.Header) this.policyHeaderIndex = cfg.policyHeaders.indexOf(this.name);
  }

  /** The rules of this location for issuer `iss`, in configuration order (empty: none); never written. */
  candidatesFor(iss: string): JwtRule[] {
    // A location has a few issuers: comparing them beats hashing the token's issuer.
    for (let i = 0; i < this.issuers.length; i++) {
      if (unchecked(this.issuers[i]) == iss) return unchecked(this.issuerRules[i]);
    }
    return NO_RULES;
  }
}

/** One token as the request carried it: its bytes (a header token is a view into the header's copy). */
export class FoundToken {
  constructor(public bytes: Uint8Array, public location: Location) {}
}

/** One request header as the host gave it: lower-case name, value bytes (decoded only when needed). */
export class RequestHeader {
  private decoded: string | null = null;
  constructor(public name: string, public raw: Uint8Array) {}

  get value(): string {
    let v = this.decoded;
    if (v === null) {
      v = decodeText(this.raw.dataStart, this.raw.length);
      this.decoded = v;
    }
    return v;
  }
}

/**
 * Tokens per request the filter will check. Envoy has no bound; here more is refused as a whole
 * (`Status.JwtTooManyTokens`), never trimmed: a token past the bound would reach the backend unverified.
 */
export const MAX_TOKENS: i32 = 16;

/** What one request carries: its tokens in Envoy's order, or `overflow` when there are more than MAX_TOKENS. */
export class Extraction {
  tokens: FoundToken[] = [];
  overflow: bool = false;

  /** Adds a token; false (and `overflow`) once the bound is passed, which ends extraction. */
  add(token: Uint8Array, loc: Location): bool {
    if (this.tokens.length >= MAX_TOKENS) {
      this.overflow = true;
      return false;
    }
    this.tokens.push(new FoundToken(token, loc));
    return true;
  }

  /** add() for a token found in text (a query parameter or a cookie): its UTF-8 bytes. */
  addText(token: string, loc: Location): bool {
    return this.add(Uint8Array.wrap(String.UTF8.encode(token)), loc);
  }
}

/** Adds `rule` to the location (kind, name, prefix, case rule), made on first use; a map keeps configure linear. */
function addLocation(list: Location[], byKey: Map<string, Location>, kind: LocationKind, name: string, prefix: string, rule: JwtRule, ci: bool = false): void {
  const key = (<i32>kind).toString() + (ci ? "i" : "s") + name + "\u0000" + prefix;
  if (byKey.has(key)) {
    const l = byKey.get(key);
    // Rules are added in configuration order, so a rule already here is the last one added.
    if (l.rules.length == 0 || unchecked(l.rules[l.rules.length - 1]) !== rule) l.rules.push(rule);
    return;
  }
  const l = new Location(kind, name, prefix, ci);
  l.rules.push(rule);
  list.push(l);
  byKey.set(key, l);
}

export class Extractor {
  locations: Location[] = [];
  /** Lower-case names of the headers extraction reads (header locations, and `cookie` if any cookie location). */
  headerNames: string[] = [];
  /** Whether a cookie location is configured (`cookie` is in headerNames). */
  readsCookies: bool = false;
  /** What extract() returns: reused, so its caller must take the tokens before the next call. */
  private found: Extraction = new Extraction();
  /** The input of the last extract() (references), and whether a parameter location reads the path. */
  private lastHeaders: RequestHeader[] = [];
  private lastPath: string | null = null;
  private readsPath: bool = false;

  private sameInput(headers: RequestHeader[], path: string): bool {
    const last = this.lastHeaders;
    const lastPath = this.lastPath;
    if (lastPath === null || headers.length != last.length) return false;
    if (this.readsPath && lastPath != path) return false;
    for (let i = 0; i < headers.length; i++) {
      if (unchecked(headers[i]) !== unchecked(last[i])) return false;
    }
    return true;
  }

  constructor(cfg: Config) {
    const byKey = new Map<string, Location>();
    const names = new Set<string>();
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromHeaders.length; j++) {
        const h = unchecked(r.fromHeaders[j]);
        addLocation(this.locations, byKey, LocationKind.Header, h.name, h.prefix, r, h.caseInsensitive);
      }
    }
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromParams.length; j++) addLocation(this.locations, byKey, LocationKind.Param, unchecked(r.fromParams[j]), "", r);
    }
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      for (let j = 0; j < r.fromCookies.length; j++) addLocation(this.locations, byKey, LocationKind.Cookie, unchecked(r.fromCookies[j]), "", r);
    }
    for (let i = 0; i < this.locations.length; i++) {
      const l = unchecked(this.locations[i]);
      l.compile(cfg);
      if (l.kind == LocationKind.Cookie) this.readsCookies = true;
      if (l.kind == LocationKind.Param) this.readsPath = true;
      const name = l.kind == LocationKind.Header ? l.name : l.kind == LocationKind.Cookie ? "cookie" : "";
      if (name.length > 0 && !names.has(name)) {
        names.add(name);
        this.headerNames.push(name);
      }
    }
  }

  /**
   * Every token in a configured location: each value of a configured header (each occurrence of the
   * prefix in it), each occurrence of a configured parameter, each occurrence of a configured cookie
   * across all `cookie` headers, empty ones included (they fail as a bad format, as Envoy fails an empty
   * first value). Backends disagree on which duplicate they read, so every duplicate must be valid.
   * The answer is this extractor's one Extraction, valid until the next call.
   */
  extract(headers: RequestHeader[], path: string): Extraction {
    const out = this.found;
    // Extraction is a function of the header lines and (with a parameter location) the path: the same
    // RequestHeader objects (readRequestHeaders reuses a line repeated byte for byte) give the same
    // tokens, so the last answer stands. FoundToken is immutable; the caller only reads the list.
    if (this.sameInput(headers, path)) return out;
    out.tokens.length = 0;
    out.overflow = false;
    // Forgotten until this extraction is whole (its input is recorded at the end).
    this.lastPath = null;
    const locs = this.locations;
    for (let i = 0; i < locs.length; i++) {
      const loc = unchecked(locs[i]);
      let more = true;
      if (loc.kind == LocationKind.Header) {
        for (let j = 0; more && j < headers.length; j++) {
          const h = unchecked(headers[j]);
          if (h.name == loc.name) more = tokensFromHeaderBytes(h.raw, loc, out);
        }
      } else if (loc.kind == LocationKind.Param) {
        more = queryParamTokens(path, loc, out);
      } else {
        for (let j = 0; more && j < headers.length; j++) {
          const h = unchecked(headers[j]);
          if (h.name == "cookie") more = cookieTokens(h.value, loc, out);
        }
      }
      if (!more) break;
    }
    const last = this.lastHeaders;
    last.length = 0;
    for (let i = 0; i < headers.length; i++) last.push(unchecked(headers[i]));
    this.lastPath = path;
    return out;
  }
}

/**
 * Envoy: the prefix is searched in the value (as bytes), case-sensitively; a value without it carries no
 * token. After it, the token is the first run of [A-Za-z0-9-_.]; with no such run, the rest as it is
 * (possibly empty). An empty prefix takes the whole value (possibly empty). Stricter than Envoy, which
 * takes the first occurrence only: every occurrence of the prefix after the previous token starts one.
 * With `bearerCaseInsensitive` (beyond Envoy) ASCII letters of the prefix match either case.
 * False once the request has too many tokens.
 */
export function tokensFromHeaderBytes(raw: Uint8Array, loc: Location, out: Extraction): bool {
  const n = raw.length;
  const p = raw.dataStart;
  const prefix = loc.prefixBytes;
  const m = prefix.length;
  if (m == 0) return out.add(raw, loc);
  const q = prefix.dataStart;
  const ci = loc.caseInsensitive;
  const first = load<u8>(q);
  let from = 0;
  while (from + m <= n) {
    let at = -1;
    for (let i = from; i + m <= n; i++) {
      if (foldByte(load<u8>(p + <usize>i), ci) != first) continue;
      let j = 1;
      while (j < m && foldByte(load<u8>(p + <usize>(i + j)), ci) == load<u8>(q + <usize>j)) j++;
      if (j == m) {
        at = i;
        break;
      }
    }
    if (at < 0) break;
    const after = at + m;
    let start = after;
    while (start < n && !isJwtChar(<i32>load<u8>(p + <usize>start))) start++;
    if (start >= n) return out.add(raw.subarray(after, n), loc);
    const end = jwtRunEnd(p, start, n);
    if (!out.add(raw.subarray(start, end), loc)) return false;
    from = end;
  }
  return true;
}

/** An ASCII upper-case letter lower-cased when `ci`; any other byte as is. */
@inline function foldByte(b: u8, ci: bool): u8 {
  return ci && b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

/** Every value of query parameter `loc.name` in `:path`, percent-decoded (`name` and `name=` are empty). */
export function queryParamTokens(path: string, loc: Location, out: Extraction): bool {
  const q = path.indexOf("?");
  if (q < 0) return true;
  const name = loc.name;
  let i = q + 1;
  const n = path.length;
  while (i <= n) {
    let amp = path.indexOf("&", i);
    if (amp < 0) amp = n;
    const pair = path.substring(i, amp);
    const eq = pair.indexOf("=");
    const k = eq < 0 ? pair : pair.substring(0, eq);
    if (percentDecode(k) == name) {
      if (!out.addText(eq < 0 ? "" : percentDecode(pair.substring(eq + 1)), loc)) return false;
    }
    i = amp + 1;
  }
  return true;
}

/** Space and tab, the optional white space around cookie names and values. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) == 0x20 || s.charCodeAt(a) == 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) == 0x20 || s.charCodeAt(b - 1) == 0x09)) b--;
  return a == 0 && b == s.length ? s : s.substring(a, b);
}

/**
 * Every value of cookie `loc.name` in one `cookie` header (`a=1; b="2"`): name and value trimmed of
 * spaces and tabs (as common cookie parsers do), quotes removed; `jwt=` and `jwt=""` are empty tokens.
 */
export function cookieTokens(header: string, loc: Location, out: Extraction): bool {
  const parts = header.split(";");
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]);
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    if (trimOws(p.substring(0, eq)) != loc.name) continue;
    let v = trimOws(p.substring(eq + 1));
    if (v.length >= 2 && v.charCodeAt(0) == 0x22 && v.charCodeAt(v.length - 1) == 0x22) v = v.substring(1, v.length - 1);
    if (!out.addText(v, loc)) return false;
  }
  return true;
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

/** One `cookie` header value without cookie `name` (every occurrence; names compared as cookieTokens does). */
export function removeCookie(header: string, name: string): string {
  const parts = header.split(";");
  let kept = "";
  for (let i = 0; i < parts.length; i++) {
    const p = unchecked(parts[i]);
    const eq = p.indexOf("=");
    if (eq >= 0 && trimOws(p.substring(0, eq)) == name) continue;
    const t = trimOws(p);
    if (t.length == 0) continue;
    kept = kept.length > 0 ? kept + "; " + t : t;
  }
  return kept;
}
