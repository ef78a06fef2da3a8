// Owns the value matchers of authorization policies, compiled at configure time and run on the request
// path without allocating: Istio's string syntax (exact, `prefix*`, `*suffix`, `*`), path templates
// (`{*}` one segment, `{**}` any segments, as Envoy's uri_template), IPv4/IPv6 addresses and CIDR blocks.
import { MatchKind, StringMatch, PathMatch, Cidr } from "../config/config";

/**
 * Istio's StringMatcher: `*` present and non-empty (`any` = present even if empty, the header form),
 * `*x` suffix, `x*` prefix, else exact. `lower` lower-cases the value (for case-insensitive fields).
 */
export function istioMatch(v: string, any: bool = false, lower: bool = false): StringMatch {
  if (lower) v = v.toLowerCase();
  if (v == "*") return new StringMatch(any ? MatchKind.Any : MatchKind.Present, "");
  if (v.startsWith("*")) return new StringMatch(MatchKind.Suffix, v.substring(1));
  if (v.endsWith("*")) return new StringMatch(MatchKind.Prefix, v.substring(0, v.length - 1));
  return new StringMatch(MatchKind.Exact, v);
}

export function anyMatches(list: StringMatch[], s: string, present: bool): bool {
  for (let i = 0; i < list.length; i++) {
    if (unchecked(list[i]).matches(s, present)) return true;
  }
  return false;
}

// ---- Path templates ---------------------------------------------------------------------------------

const T_ONE: i32 = -3;
const T_MORE: i32 = -4;
const T_ANY: i32 = -5;

/** Envoy's uri_template literal class (RFC 3986 pchar without `*`): what `{*}` and `{**}` consume. */
function isLiteral(c: i32): bool {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return true;
  switch (c) {
    case 0x2d: case 0x2e: case 0x5f: case 0x7e: case 0x25: case 0x21: case 0x24: case 0x26: case 0x27:
    case 0x28: case 0x29: case 0x2b: case 0x2c: case 0x3b: case 0x3a: case 0x40: case 0x3d:
      return true;
  }
  return false;
}

export function isPathTemplate(v: string): bool {
  return v.includes("{*}") || v.includes("{**}");
}

/**
 * Compiles a `{*}`/`{**}` template, or returns the problem. Istio's validation (CheckValidPathTemplate):
 * between slashes, each segment is exactly `{*}` or `{**}`, or a non-empty RFC 3986 pchar literal (no
 * `*`, `{`, `}`); no operator after `{**}` (a literal may follow it). Envoy's uri_template also needs a
 * leading `/`.
 */
export function compilePathTemplate(v: string, out: PathMatch): string {
  if (!v.startsWith("/")) return "a path template must start with /";
  let s = 0;
  let e = v.length;
  while (s < e && v.charCodeAt(s) == 0x2f) s++;
  while (e > s && v.charCodeAt(e - 1) == 0x2f) e--;
  let sawAny = false;
  let i = s;
  while (i <= e) {
    let j = v.indexOf("/", i);
    if (j < 0 || j > e) j = e;
    const seg = v.substring(i, j);
    if (seg == "{*}" || seg == "{**}") {
      if (sawAny) return "{**} must be the last operator of a path template";
      if (seg == "{**}") sawAny = true;
    } else {
      if (seg.includes("{") || seg.includes("}")) return "'{' and '}' are only allowed as a whole {*} or {**} segment of a path template";
      if (seg.length == 0) return "a path template must not have an empty segment";
      for (let k = 0; k < seg.length; k++) {
        if (!isLiteral(seg.charCodeAt(k))) return "segment " + seg + " of a path template is not a valid literal (letters, digits and -._~%!$&'()+,;:@= only)";
      }
    }
    i = j + 1;
  }
  // Compile the whole value (its leading and trailing slashes are literals).
  i = 0;
  while (i < v.length) {
    if (v.startsWith("{**}", i)) {
      out.elems.push(T_ANY);
      i += 4;
    } else if (v.startsWith("{*}", i)) {
      out.elems.push(T_ONE);
      out.elems.push(T_MORE);
      i += 3;
    } else {
      out.elems.push(v.charCodeAt(i));
      i++;
    }
  }
  out.cur = new StaticArray<u8>(out.elems.length + 1);
  out.nxt = new StaticArray<u8>(out.elems.length + 1);
  // The literal characters before the first and after the last operator: a path without them cannot
  // match, and most paths are refused by this check alone.
  let first = 0;
  while (first < out.elems.length && unchecked(out.elems[first]) >= 0) first++;
  let last = out.elems.length;
  while (last > first && unchecked(out.elems[last - 1]) >= 0) last--;
  out.head = v.substring(0, first);
  out.tail = String.fromCharCodes(out.elems.slice(last));
  return "";
}

/** Adds the states reachable from `i` without a character (star elements may match nothing). */
@inline function addState(set: StaticArray<u8>, elems: i32[], i: i32): void {
  const n = elems.length;
  while (true) {
    unchecked(set[i] = 1);
    if (i < n) {
      const e = unchecked(elems[i]);
      if (e == T_MORE || e == T_ANY) { i++; continue; }
    }
    break;
  }
}

/** Runs the template over `path[0, end)` in O(len × elements): no backtracking, no allocation. */
function templateMatches(m: PathMatch, path: string, end: i32): bool {
  const head = m.head;
  const tail = m.tail;
  const hl = head.length;
  const tl = tail.length;
  if (hl + tl > end) return false;
  if (hl > 0 && memory.compare(changetype<usize>(path), changetype<usize>(head), hl << 1) != 0) return false;
  if (tl > 0 && memory.compare(changetype<usize>(path) + ((end - tl) << 1), changetype<usize>(tail), tl << 1) != 0) return false;
  const elems = m.elems;
  const n = elems.length;
  let cur = m.cur;
  let nxt = m.nxt;
  for (let i = 0; i <= n; i++) unchecked(cur[i] = 0);
  addState(cur, elems, 0);
  for (let p = 0; p < end; p++) {
    const c = path.charCodeAt(p);
    for (let i = 0; i <= n; i++) unchecked(nxt[i] = 0);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (unchecked(cur[i]) == 0) continue;
      const e = unchecked(elems[i]);
      if (e >= 0) {
        if (c == e) { addState(nxt, elems, i + 1); any = true; }
      } else if (e == T_ONE) {
        if (isLiteral(c)) { addState(nxt, elems, i + 1); any = true; }
      } else if (e == T_MORE) {
        if (isLiteral(c)) { addState(nxt, elems, i); any = true; }
      } else if (isLiteral(c) || c == 0x2f) { addState(nxt, elems, i); any = true; }
    }
    if (!any) return false;
    const t = cur;
    cur = nxt;
    nxt = t;
  }
  return unchecked(cur[n]) != 0;
}

/** Where the path part of `:path` ends (Envoy's PathMatcher drops the query and the fragment). */
export function pathEnd(path: string): i32 {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3f || c == 0x23) return i;
  }
  return path.length;
}

export function pathMatches(m: PathMatch, path: string, end: i32, urlPath: string): bool {
  const s = m.str;
  if (s !== null) return s.matches(urlPath, true);
  return templateMatches(m, path, end);
}

// ---- IP addresses -----------------------------------------------------------------------------------

/** Parses dotted IPv4 into out[0..4]; false if invalid. */
function parseV4(s: string, from: i32, to: i32, out: StaticArray<u8>, at: i32): bool {
  let part = 0;
  let val = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x2e;
    if (c == 0x2e) {
      if (digits == 0 || part > 3) return false;
      unchecked(out[at + part] = <u8>val);
      part++;
      val = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && val == 0) return false; // no leading zeros (Go's net.ParseIP refuses them)
      val = val * 10 + (c - 0x30);
      digits++;
      if (val > 255) return false;
    } else return false;
  }
  return part == 4;
}

function hexVal(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Parses IPv6 (with `::` and a trailing dotted quad) into out[0..16]; false if invalid. */
function parseV6(s: string, from: i32, to: i32, out: StaticArray<u8>): bool {
  const words = new StaticArray<i32>(8);
  let n = 0;
  let gap = -1;
  let i = from;
  if (to - from >= 2 && s.charCodeAt(i) == 0x3a && s.charCodeAt(i + 1) == 0x3a) {
    gap = 0;
    i += 2;
    if (i == to) {
      for (let k = 0; k < 16; k++) unchecked(out[k] = 0);
      return true;
    }
  } else if (i < to && s.charCodeAt(i) == 0x3a) return false;
  while (i < to) {
    if (n >= 8) return false;
    // A trailing dotted quad.
    let j = i;
    let dot = false;
    while (j < to && s.charCodeAt(j) != 0x3a) { if (s.charCodeAt(j) == 0x2e) dot = true; j++; }
    if (dot) {
      if (j != to || n > 6) return false;
      const q = new StaticArray<u8>(4);
      if (!parseV4(s, i, to, q, 0)) return false;
      unchecked(words[n++] = (<i32>q[0] << 8) | <i32>q[1]);
      unchecked(words[n++] = (<i32>q[2] << 8) | <i32>q[3]);
      i = to;
      break;
    }
    if (j - i < 1 || j - i > 4) return false;
    let w = 0;
    for (let k = i; k < j; k++) {
      const h = hexVal(s.charCodeAt(k));
      if (h < 0) return false;
      w = (w << 4) | h;
    }
    unchecked(words[n++] = w);
    i = j;
    if (i < to) {
      // At a ':'.
      if (i + 1 < to && s.charCodeAt(i + 1) == 0x3a) {
        if (gap >= 0) return false;
        gap = n;
        i += 2;
      } else {
        i += 1;
        if (i == to) return false;
      }
    }
  }
  if (gap < 0 && n != 8) return false;
  if (gap >= 0 && n >= 8) return false;
  const fill = 8 - n;
  for (let k = 0; k < n; k++) {
    const pos = gap >= 0 && k >= gap ? k + fill : k;
    const v = unchecked(words[k]);
    unchecked(out[2 * pos] = <u8>(v >> 8));
    unchecked(out[2 * pos + 1] = <u8>(v & 0xff));
  }
  if (gap >= 0) {
    for (let k = gap; k < gap + fill; k++) { unchecked(out[2 * k] = 0); unchecked(out[2 * k + 1] = 0); }
  }
  return true;
}

/**
 * Parses an address into `out` (IPv4 in the first 4 bytes). Returns 4 or 6, or 0 when invalid. An
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is taken as the IPv4 address.
 */
export function parseIp(s: string, from: i32, to: i32, out: StaticArray<u8>): i32 {
  if (to <= from || to - from > 45) return 0;
  if (s.indexOf(":", from) < 0 || s.indexOf(":", from) >= to) return parseV4(s, from, to, out, 0) ? 4 : 0;
  if (!parseV6(s, from, to, out)) return 0;
  let mapped = unchecked(out[10]) == 0xff && unchecked(out[11]) == 0xff;
  for (let k = 0; k < 10 && mapped; k++) if (unchecked(out[k]) != 0) mapped = false;
  if (mapped) {
    for (let k = 0; k < 4; k++) unchecked(out[k] = out[12 + k]);
    return 4;
  }
  return 6;
}

/** `10.0.0.0/8`, `2001:db8::/32` or a single address; null when invalid (Istio refuses it). */
export function parseCidr(v: string): Cidr | null {
  const c = new Cidr();
  const slash = v.indexOf("/");
  const end = slash < 0 ? v.length : slash;
  const fam = parseIp(v, 0, end, c.addr);
  if (fam == 0) return null;
  c.v6 = fam == 6;
  const max = c.v6 ? 128 : 32;
  if (slash < 0) {
    c.bits = max;
    return c;
  }
  const b = v.substring(slash + 1);
  if (b.length == 0 || b.length > 3) return null;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    const ch = b.charCodeAt(i);
    if (ch < 0x30 || ch > 0x39) return null;
    bits = bits * 10 + (ch - 0x30);
  }
  if (bits > max) return null;
  c.bits = bits;
  return c;
}

export function cidrContains(c: Cidr, fam: i32, addr: StaticArray<u8>): bool {
  if ((fam == 6) != c.v6 || fam == 0) return false;
  const bits = c.bits;
  const full = bits >> 3;
  for (let i = 0; i < full; i++) if (unchecked(addr[i]) != unchecked(c.addr[i])) return false;
  const rest = bits & 7;
  if (rest == 0) return true;
  const mask: i32 = (<i32>0xff << (8 - rest)) & 0xff;
  return (<i32>unchecked(addr[full]) & mask) == (<i32>unchecked(c.addr[full]) & mask);
}

export function anyCidr(list: Cidr[], fam: i32, addr: StaticArray<u8>): bool {
  for (let i = 0; i < list.length; i++) if (cidrContains(unchecked(list[i]), fam, addr)) return true;
  return false;
}
