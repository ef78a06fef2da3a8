// Strict, bounded JSON reader (RFC 8259) for hostile input: JWT headers and payloads, JWKS bodies, plugin config.
// Owns parsing UTF-8 bytes into a read-only JsonValue tree under depth/size/count limits, and the last error.
// Must not trap on any input: no throw, no unreachable(), no checked [] on input-derived indices, no uncapped
// allocation, no host imports. Every input read is a raw load after an explicit bounds check against `end`.
//
// Decisions (JSONTestSuite i_ cases are implementation-defined):
// - Numbers that overflow f64 (1e400, -1e+9999) are REJECTED ("number out of range"); numbers that underflow
//   (1e-400) become ±0 as in JavaScript. Values are correctly rounded (the nearest double, ties to even).
// - A lone surrogate, escaped (\ud800) or encoded (ED A0 80), is rejected; so are BOMs and any invalid UTF-8.
// - The parser is iterative: nesting costs an explicit stack entry, never a wasm or shadow-stack frame.

/** Hard caps applied whatever JsonLimits says, so a careless limit cannot make an allocation trap. */
// @ts-ignore: decorator
@inline const MAX_JSON_BYTES_HARD: i32 = 1 << 26;
// @ts-ignore: decorator
@inline const MAX_JSON_DEPTH_HARD: i32 = 1 << 20;

// Error reasons: fixed strings in static data (no allocation on the error path).
// @ts-ignore: decorator
@lazy const E_EOF = "unexpected end of input";
// @ts-ignore: decorator
@lazy const E_UNEXPECTED = "unexpected character";
// @ts-ignore: decorator
@lazy const E_TRAILING = "trailing characters";
// @ts-ignore: decorator
@lazy const E_LITERAL = "invalid literal";
// @ts-ignore: decorator
@lazy const E_NUMBER = "invalid number";
// @ts-ignore: decorator
@lazy const E_RANGE = "number out of range";
// @ts-ignore: decorator
@lazy const E_CONTROL = "control character in string";
// @ts-ignore: decorator
@lazy const E_ESCAPE = "invalid escape";
// @ts-ignore: decorator
@lazy const E_UESCAPE = "invalid unicode escape";
// @ts-ignore: decorator
@lazy const E_SURROGATE = "lone surrogate";
// @ts-ignore: decorator
@lazy const E_UTF8 = "invalid UTF-8";
// @ts-ignore: decorator
@lazy const E_KEY = "expected string key";
// @ts-ignore: decorator
@lazy const E_COLON = "expected ':'";
// @ts-ignore: decorator
@lazy const E_ARRAY_SEP = "expected ',' or ']'";
// @ts-ignore: decorator
@lazy const E_OBJECT_SEP = "expected ',' or '}'";
// @ts-ignore: decorator
@lazy const E_DEPTH = "nesting too deep";
// @ts-ignore: decorator
@lazy const E_TOO_MANY = "too many values";
// @ts-ignore: decorator
@lazy const E_TOO_LARGE = "input too large";
// @ts-ignore: decorator
@lazy const E_BUFFER = "invalid input buffer";

export const enum JsonKind { Null = 0, Bool = 1, Number = 2, String = 3, Array = 4, Object = 5 }

/**
 * One parsed JSON value. Trees are meant to be read, not edited. `items`, `keys` and `values` are accessors:
 * scalars allocate no arrays until one is asked for, so a 100,000-value document stays small.
 */
export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  boolValue: bool = false;
  /** The nearest double (ties to even); integers up to 2^53 are exact. */
  numValue: f64 = 0;
  /** True when the literal has no fraction and no exponent (the value may still exceed 2^53). */
  numIsInteger: bool = false;
  strValue: string = "";
  private _items: Array<JsonValue> | null = null;
  private _keys: Array<string> | null = null;
  private _values: Array<JsonValue> | null = null;

  /** Array elements; empty for anything but an Array. */
  get items(): Array<JsonValue> {
    let a = this._items;
    if (a === null) { a = new Array<JsonValue>(); this._items = a; }
    return a;
  }
  set items(a: Array<JsonValue>) { this._items = a; }

  /** Object member names in document order, duplicates kept; empty for anything but an Object. */
  get keys(): Array<string> {
    let a = this._keys;
    if (a === null) { a = new Array<string>(); this._keys = a; }
    return a;
  }
  set keys(a: Array<string>) { this._keys = a; }

  /** Object member values, parallel to `keys`. */
  get values(): Array<JsonValue> {
    let a = this._values;
    if (a === null) { a = new Array<JsonValue>(); this._values = a; }
    return a;
  }
  set values(a: Array<JsonValue>) { this._values = a; }

  /** Object member by name. With duplicate names the LAST one wins (RFC 7515 §4, as JSON.parse does). */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    let ks = this._keys;
    let vs = this._values;
    if (ks === null || vs === null) return null;
    let n = min(ks.length, vs.length);
    for (let i = n - 1; i >= 0; i--) {
      if (unchecked(ks[i]) == key) return unchecked(vs[i]);
    }
    return null;
  }

  has(key: string): bool { return this.get(key) !== null; }

  isString(): bool { return this.kind == JsonKind.String; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isObject(): bool { return this.kind == JsonKind.Object; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNull(): bool { return this.kind == JsonKind.Null; }
}

export class JsonLimits {
  /** Maximum number of nested arrays/objects; `[[1]]` has depth 2, a scalar document depth 0. */
  maxDepth: i32 = 64;
  /** Maximum input size in bytes (capped at 64 MiB whatever is asked). */
  maxBytes: i32 = 1 << 20;
  /**
   * Maximum number of values in the document (scalars and containers, not counting member names). This is what
   * bounds the tree's memory: a value costs about 64 bytes, plus about 110 bytes per non-empty array and 220 per
   * non-empty object (AS arrays reserve 8 slots), plus 2 bytes per decoded character.
   */
  maxItems: i32 = 100000;
}

// ---- parser state (module-level: one parse at a time, no per-parse allocation) ----------------------------------

let begin: usize = 0;
let end: usize = 0;
/** Position after the token scanString/scanNumber/scanKey just read. */
let gPos: usize = 0;
let gIsInteger: bool = false;
let budget: i32 = 0;
let errOffset: i32 = -1;
let errMessage: string = "";
/** Open containers, innermost last. Entries past `length` are never visited by the GC. */
let openStack: Array<JsonValue> | null = null;
/** Keeps the encoded/viewed input alive while parseJsonString/parseJsonBytes parse it. */
let keepAlive: Object | null = null;

/** UTF-16 decode buffer for strings with escapes or non-ASCII bytes (unmanaged, grown on demand). */
let scratch: usize = 0;
let scratchUnits: usize = 0;
// @ts-ignore: decorator
@inline const SCRATCH_KEEP_UNITS: usize = 1 << 15;

function fail(p: usize, msg: string): void {
  if (errOffset < 0) {
    errOffset = <i32>(p - begin);
    errMessage = msg;
  }
}

function failNull(p: usize, msg: string): JsonValue | null {
  fail(p, msg);
  return null;
}

/** Byte offset of the last failure (-1 after a successful parse). */
export function lastJsonErrorOffset(): i32 { return errOffset; }

/** Short reason for the last failure ("" after a successful parse). */
export function lastJsonErrorMessage(): string { return errMessage; }

// ---- public entry points -----------------------------------------------------------------------------------------

/**
 * Parses one JSON text (RFC 8259, strict). Returns null on any error; never traps. The caller keeps
 * [data, data + len) alive and unchanged during the call (the GC may run while the tree is built); a range that
 * is not inside linear memory is refused ("invalid input buffer"). `limits` null means the defaults.
 */
export function parseJson(data: usize, len: i32, limits: JsonLimits | null = null): JsonValue | null {
  errOffset = -1;
  errMessage = "";
  begin = data;
  let maxDepth = 64;
  let maxBytes = 1 << 20;
  let maxItems = 100000;
  if (limits !== null) {
    maxDepth = limits.maxDepth;
    maxBytes = limits.maxBytes;
    maxItems = limits.maxItems;
  }
  maxDepth = min(max(maxDepth, 0), MAX_JSON_DEPTH_HARD);
  maxBytes = min(max(maxBytes, 0), MAX_JSON_BYTES_HARD);
  // A caller's pointer past the end of memory would make the first load trap: refuse it instead.
  if (len < 0 || <u64>data + <u64>len > (<u64>memory.size() << 16)) return failNull(data, E_BUFFER);
  if (len > maxBytes) return failNull(data, E_TOO_LARGE);
  end = data + <usize>len;
  budget = max(maxItems, 0);

  let stack = openStack;
  if (stack === null) { stack = new Array<JsonValue>(); openStack = stack; }
  let result = parseDocument(stack, maxDepth);
  stack.length = 0;
  if (scratchUnits > SCRATCH_KEEP_UNITS) {
    heap.free(scratch);
    scratch = 0;
    scratchUnits = 0;
  }
  if (result === null && errOffset < 0) fail(data, E_UNEXPECTED); // defensive: a null result always has a reason
  return result;
}

/** parseJson over a Uint8Array's bytes (kept alive for the call). */
export function parseJsonBytes(data: Uint8Array, limits: JsonLimits | null = null): JsonValue | null {
  keepAlive = data;
  let r = parseJson(data.dataStart, data.length, limits);
  keepAlive = null;
  return r;
}

/**
 * Encodes an AssemblyScript (UTF-16) string as UTF-8 and parses it. A lone surrogate in `s` is encoded as
 * WTF-8 (ED A0 80…), which the reader rejects as invalid UTF-8.
 */
export function parseJsonString(s: string, limits: JsonLimits | null = null): JsonValue | null {
  let maxBytes = limits !== null ? limits.maxBytes : 1 << 20;
  maxBytes = min(max(maxBytes, 0), MAX_JSON_BYTES_HARD);
  // Count before encoding so an oversized string never costs an allocation.
  if (<i64>s.length > <i64>maxBytes || String.UTF8.byteLength(s) > maxBytes) {
    errOffset = 0;
    errMessage = E_TOO_LARGE;
    return null;
  }
  let buf = String.UTF8.encode(s);
  keepAlive = buf;
  let r = parseJson(changetype<usize>(buf), buf.byteLength, limits);
  keepAlive = null;
  return r;
}

// ---- structure ----------------------------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function skipWs(p: usize): usize {
  let e = end;
  while (p < e) {
    let c = <u32>load<u8>(p);
    // Only space, \t, \n, \r (RFC 8259 §2); anything above 0x20 ends the run at once.
    if (c > 0x20 || (c != 0x20 && c != 0x0A && c != 0x0D && c != 0x09)) break;
    p++;
  }
  return p;
}

function parseDocument(stack: Array<JsonValue>, maxDepth: i32): JsonValue | null {
  let depth: i32 = 0;
  let root: JsonValue | null = null;
  let top: JsonValue | null = null;
  let topIsObject = false;
  let p = skipWs(begin);

  while (true) {
    // A value starts at p (whitespace already skipped).
    if (p >= end) return failNull(p, E_EOF);
    if (--budget < 0) return failNull(p, E_TOO_MANY);
    let c = <u32>load<u8>(p);
    let v = new JsonValue();
    let opened = false;
    if (c == 0x22) { // '"'
      let s = scanString(p + 1);
      if (s === null) return null;
      v.kind = JsonKind.String;
      v.strValue = s;
      p = gPos;
    } else if (c == 0x7B || c == 0x5B) { // '{' '['
      if (depth >= maxDepth) return failNull(p, E_DEPTH);
      // Member arrays are created by the first push (the accessors), so `[]` and `{}` cost one object.
      v.kind = c == 0x7B ? JsonKind.Object : JsonKind.Array;
      opened = true;
      p++;
    } else if (c == 0x74) { // true
      if (!matchLiteral(p, 0x65757274, 4)) return null;
      v.kind = JsonKind.Bool;
      v.boolValue = true;
      p += 4;
    } else if (c == 0x66) { // false
      if (!matchLiteral(p, 0x65736C6166, 5)) return null;
      v.kind = JsonKind.Bool;
      p += 5;
    } else if (c == 0x6E) { // null
      if (!matchLiteral(p, 0x6C6C756E, 4)) return null;
      p += 4;
    } else if (c == 0x2D || c - 0x30 < 10) { // '-' or digit
      let x = scanNumber(p);
      if (isNaN(x)) return null;
      v.kind = JsonKind.Number;
      v.numValue = x;
      v.numIsInteger = gIsInteger;
      p = gPos;
    } else {
      return failNull(p, E_UNEXPECTED);
    }

    // Attach to the innermost open container, or make it the root.
    if (top === null) {
      root = v;
    } else if (topIsObject) {
      changetype<JsonValue>(top).values.push(v);
    } else {
      changetype<JsonValue>(top).items.push(v);
    }

    let closing = false;
    if (opened) {
      stack.push(v);
      depth++;
      top = v;
      topIsObject = v.kind == JsonKind.Object;
      p = skipWs(p);
      if (p < end && <u32>load<u8>(p) == (topIsObject ? 0x7D : 0x5D)) {
        p++; // empty container
        closing = true;
      } else {
        if (topIsObject) {
          if (!scanKey(p, v)) return null;
          p = gPos;
        }
        continue;
      }
    }

    // After a value: close finished containers until a ',' asks for the next value.
    while (true) {
      if (closing) {
        depth--;
        stack.length = depth;
        if (depth == 0) {
          top = null;
        } else {
          let t = unchecked(stack[depth - 1]);
          top = t;
          topIsObject = t.kind == JsonKind.Object;
        }
        closing = false;
      }
      p = skipWs(p);
      if (top === null) {
        if (p < end) return failNull(p, E_TRAILING);
        return root;
      }
      if (p >= end) return failNull(p, E_EOF);
      c = <u32>load<u8>(p);
      if (c == 0x2C) { // ','
        p = skipWs(p + 1);
        if (topIsObject) {
          if (!scanKey(p, changetype<JsonValue>(top))) return null;
          p = gPos;
        }
        break;
      }
      if (c == (topIsObject ? 0x7D : 0x5D)) {
        p++;
        closing = true;
        continue;
      }
      return failNull(p, topIsObject ? E_OBJECT_SEP : E_ARRAY_SEP);
    }
  }
  return null; // not reached: the loop only exits by return
}

/** Reads `"name"` `:` at p into obj.keys; sets gPos to the (whitespace-skipped) start of the member value. */
function scanKey(p: usize, obj: JsonValue): bool {
  if (p >= end) { fail(p, E_EOF); return false; }
  if (<u32>load<u8>(p) != 0x22) { fail(p, E_KEY); return false; }
  let s = scanString(p + 1);
  if (s === null) return false;
  obj.keys.push(s);
  p = skipWs(gPos);
  if (p >= end) { fail(p, E_EOF); return false; }
  if (<u32>load<u8>(p) != 0x3A) { fail(p, E_COLON); return false; }
  gPos = skipWs(p + 1);
  return true;
}

/** Checks the `n` bytes of `packed` (little-endian) at p; reports truncation and mismatch separately. */
function matchLiteral(p: usize, packed: u64, n: i32): bool {
  for (let i = 0; i < n; i++) {
    let q = p + <usize>i;
    if (q >= end) { fail(q, E_EOF); return false; }
    if (<u64>load<u8>(q) != ((packed >> (<u64>i << 3)) & 0xFF)) { fail(q, E_LITERAL); return false; }
  }
  return true;
}

// ---- strings -----------------------------------------------------------------------------------------------------

/** Widens n ASCII bytes at src into UTF-16 units at dst, four at a time. */
// @ts-ignore: decorator
@inline function widenAscii(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  while (i + 4 <= n) {
    let w = <u64>load<u32>(src + i);
    // byte k moves to bits 16k..16k+7
    store<u64>(dst + (i << 1), (w & 0xFF) | ((w & 0xFF00) << 8) | ((w & 0xFF0000) << 16) | ((w & 0xFF000000) << 24));
    i += 4;
  }
  while (i < n) {
    store<u16>(dst + (i << 1), <u16>load<u8>(src + i));
    i++;
  }
}

/** Grows the decode buffer to hold at least `units` UTF-16 units. */
function ensureScratch(units: usize): void {
  if (units <= scratchUnits) return;
  let n = max(max(units, scratchUnits << 1), <usize>256);
  scratch = scratch == 0 ? heap.alloc(n << 1) : heap.realloc(scratch, n << 1);
  scratchUnits = n;
}

/**
 * Reads a string body starting after the opening quote. Returns the decoded string and sets gPos after the
 * closing quote, or returns null with the error set. Plain ASCII runs are found 8 bytes at a time.
 */
function scanString(start: usize): string | null {
  let p = start;
  let e = end;
  while (true) {
    if (p + 8 <= e) {
      let w = load<u64>(p);
      // A byte needs attention if it is < 0x20, '"', '\\' or >= 0x80 (SWAR: "some byte is zero" is
      // (x - 0x01..) & ~x & 0x80..; "some byte < n" is (x - n*0x01..) & ~x & 0x80..). The lowest flagged
      // byte is exact because borrows only travel upwards.
      let lt = (w - 0x2020202020202020) & ~w;
      let q = w ^ 0x2222222222222222;
      let bs = w ^ 0x5C5C5C5C5C5C5C5C;
      let mask = (lt | ((q - 0x0101010101010101) & ~q) | ((bs - 0x0101010101010101) & ~bs) | w) & 0x8080808080808080;
      if (mask == 0) { p += 8; continue; }
      p += <usize>(ctz(mask) >> 3);
    }
    if (p >= e) { fail(p, E_EOF); return null; }
    let c = <u32>load<u8>(p);
    if (c == 0x22) break;
    if (c == 0x5C || c >= 0x80) return scanStringSlow(start, p);
    if (c < 0x20) { fail(p, E_CONTROL); return null; }
    p++;
  }
  gPos = p + 1;
  let n = p - start;
  if (n == 0) return ""; // static: "" members cost no allocation
  let s = __new(n << 1, idof<string>());
  widenAscii(s, start, n);
  return changetype<string>(s);
}

// @ts-ignore: decorator
@inline function hexValue(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  let l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Reads the 4 hex digits of a \u escape at p; -1 with the error set if one is missing or not hex. */
function hex4(p: usize): i32 {
  let r: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    let q = p + i;
    if (q >= end) { fail(q, E_EOF); return -1; }
    let h = hexValue(<u32>load<u8>(q));
    if (h < 0) { fail(q, E_UESCAPE); return -1; }
    r = (r << 4) | h;
  }
  return r;
}

/** Continues a string that needs decoding: `p` is the first escape or non-ASCII byte, [start, p) is ASCII. */
function scanStringSlow(start: usize, p: usize): string | null {
  let e = end;
  let o = p - start; // units written
  ensureScratch(o + 64);
  widenAscii(scratch, start, o);
  while (true) {
    if (o + 2 > scratchUnits) ensureScratch(o + 2);
    if (p >= e) { fail(p, E_EOF); return null; }
    let c = <u32>load<u8>(p);
    if (c == 0x22) break;
    let out = scratch + (o << 1);
    if (c < 0x80) {
      if (c == 0x5C) {
        if (p + 1 >= e) { fail(p + 1, E_EOF); return null; }
        let x = <u32>load<u8>(p + 1);
        let u: u32 = 0;
        if (x == 0x22 || x == 0x5C || x == 0x2F) u = x;
        else if (x == 0x62) u = 0x08; // \b
        else if (x == 0x66) u = 0x0C; // \f
        else if (x == 0x6E) u = 0x0A; // \n
        else if (x == 0x72) u = 0x0D; // \r
        else if (x == 0x74) u = 0x09; // \t
        else if (x == 0x75) { // \uXXXX
          let h = hex4(p + 2);
          if (h < 0) return null;
          if (<u32>(h - 0xD800) < 0x400) {
            // A high surrogate must be followed at once by an escaped low surrogate (RFC 8259 §7).
            if (p + 6 >= e) { fail(e, E_EOF); return null; }
            if (load<u8>(p + 6) != 0x5C) { fail(p, E_SURROGATE); return null; }
            if (p + 7 >= e) { fail(e, E_EOF); return null; }
            if (load<u8>(p + 7) != 0x75) { fail(p, E_SURROGATE); return null; }
            let l = hex4(p + 8);
            if (l < 0) return null;
            if (<u32>(l - 0xDC00) >= 0x400) { fail(p, E_SURROGATE); return null; }
            store<u16>(out, <u16>h);
            store<u16>(out, <u16>l, 2);
            o += 2;
            p += 12;
            continue;
          }
          if (<u32>(h - 0xDC00) < 0x400) { fail(p, E_SURROGATE); return null; }
          store<u16>(out, <u16>h);
          o++;
          p += 6;
          continue;
        } else { fail(p, E_ESCAPE); return null; }
        store<u16>(out, <u16>u);
        o++;
        p += 2;
        continue;
      }
      if (c < 0x20) { fail(p, E_CONTROL); return null; }
      store<u16>(out, <u16>c);
      o++;
      p++;
      continue;
    }
    // UTF-8 multi-byte sequence, well-formed per Unicode Table 3-7: no overlongs, no encoded surrogates
    // (ED A0..BF), nothing above U+10FFFF, no stray continuation bytes, no truncation.
    if (c < 0xC2) { fail(p, E_UTF8); return null; } // 80..BF continuation, C0/C1 overlong
    if (c < 0xE0) {
      if (p + 2 > e) { fail(e, E_EOF); return null; }
      let c1 = <u32>load<u8>(p + 1);
      if ((c1 & 0xC0) != 0x80) { fail(p, E_UTF8); return null; }
      store<u16>(out, <u16>(((c & 0x1F) << 6) | (c1 & 0x3F)));
      o++;
      p += 2;
      continue;
    }
    if (c < 0xF0) {
      if (p + 3 > e) { fail(e, E_EOF); return null; }
      let c1 = <u32>load<u8>(p + 1);
      let c2 = <u32>load<u8>(p + 2);
      let lo: u32 = c == 0xE0 ? 0xA0 : 0x80;
      let hi: u32 = c == 0xED ? 0x9F : 0xBF;
      if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80) { fail(p, E_UTF8); return null; }
      store<u16>(out, <u16>(((c & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (c2 & 0x3F)));
      o++;
      p += 3;
      continue;
    }
    if (c < 0xF5) {
      if (p + 4 > e) { fail(e, E_EOF); return null; }
      let c1 = <u32>load<u8>(p + 1);
      let c2 = <u32>load<u8>(p + 2);
      let c3 = <u32>load<u8>(p + 3);
      let lo: u32 = c == 0xF0 ? 0x90 : 0x80;
      let hi: u32 = c == 0xF4 ? 0x8F : 0xBF;
      if (c1 < lo || c1 > hi || (c2 & 0xC0) != 0x80 || (c3 & 0xC0) != 0x80) { fail(p, E_UTF8); return null; }
      let cp = ((c & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((c2 & 0x3F) << 6) | (c3 & 0x3F);
      cp -= 0x10000;
      store<u16>(out, <u16>(0xD800 | (cp >> 10)));
      store<u16>(out, <u16>(0xDC00 | (cp & 0x3FF)), 2);
      o += 2;
      p += 4;
      continue;
    }
    fail(p, E_UTF8); // F5..FF never occur in UTF-8
    return null;
  }
  let s = __new(o << 1, idof<string>());
  memory.copy(s, scratch, o << 1);
  gPos = p + 1;
  return changetype<string>(s);
}

// ---- numbers -----------------------------------------------------------------------------------------------------

// Powers of ten exactly representable as f64 (10^0..10^22), for the exact fast path.
// @ts-ignore: decorator
@lazy const POW10 = memory.data<f64>([
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
]);
// 10^0..10^15 as integers, to fold part of a large exponent into an exact mantissa.
// @ts-ignore: decorator
@lazy const POW10_U64 = memory.data<u64>([
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000,
  1000000000000, 10000000000000, 100000000000000, 1000000000000000
]);

// @ts-ignore: decorator
@inline const TWO_53: u64 = 1 << 53;

/**
 * Reads a number at p (p < end). Returns its value (NaN with the error set on failure) and sets gPos and
 * gIsInteger. Grammar (RFC 8259 §6): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 */
function scanNumber(p0: usize): f64 {
  let p = p0;
  let e = end;
  let neg = false;
  if (<u32>load<u8>(p) == 0x2D) { neg = true; p++; }
  if (p >= e) { fail(p, E_EOF); return NaN; }
  let c = <u32>load<u8>(p);
  let intStart = p;
  if (c == 0x30) {
    p++;
    // RFC 8259 §6: no leading zeros ("01", "-00").
    if (p < e && <u32>load<u8>(p) - 0x30 < 10) { fail(p, E_NUMBER); return NaN; }
  } else if (c - 0x31 < 9) {
    p++;
    while (p < e && <u32>load<u8>(p) - 0x30 < 10) p++;
  } else {
    fail(p, E_NUMBER);
    return NaN;
  }
  let intEnd = p;
  let fracStart = p;
  let fracEnd = p;
  let isInteger = true;
  if (p < e && <u32>load<u8>(p) == 0x2E) { // '.'
    isInteger = false;
    p++;
    fracStart = p;
    while (p < e && <u32>load<u8>(p) - 0x30 < 10) p++;
    if (p == fracStart) { fail(p, p < e ? E_NUMBER : E_EOF); return NaN; }
    fracEnd = p;
  }
  let exp10: i32 = 0;
  if (p < e && (<u32>load<u8>(p) | 0x20) == 0x65) { // 'e' 'E'
    isInteger = false;
    p++;
    let expNeg = false;
    if (p < e) {
      let s = <u32>load<u8>(p);
      if (s == 0x2B || s == 0x2D) { expNeg = s == 0x2D; p++; }
    }
    let digitsStart = p;
    while (p < e) {
      let d = <u32>load<u8>(p) - 0x30;
      if (d >= 10) break;
      // Saturate: any exponent this large over- or underflows whatever the digits are.
      if (exp10 < 100000000) exp10 = exp10 * 10 + <i32>d;
      p++;
    }
    if (p == digitsStart) { fail(p, p < e ? E_NUMBER : E_EOF); return NaN; }
    if (expNeg) exp10 = -exp10;
  }
  gPos = p;
  gIsInteger = isInteger;

  let value: f64;
  if (isInteger && intEnd - intStart <= 15) {
    // Common case (iat/exp/kid counters): at most 15 digits is below 2^53, so exact.
    let m: u64 = 0;
    for (let q = intStart; q < intEnd; q++) m = m * 10 + <u64>(load<u8>(q) - 0x30);
    value = <f64>m;
  } else {
    value = decimalToF64(intStart, intEnd, fracStart, fracEnd, exp10);
  }
  if (!isFinite(value)) { fail(p0, E_RANGE); return NaN; }
  return neg ? -value : value;
}

/** Value of digits [intStart,intEnd) . [fracStart,fracEnd) × 10^exp10, correctly rounded; Infinity if too big. */
function decimalToF64(intStart: usize, intEnd: usize, fracStart: usize, fracEnd: usize, exp10: i32): f64 {
  // Keep the first 19 significant digits in a u64 (19 digits < 2^64); note whether later ones were non-zero.
  let m: u64 = 0;
  let sig: i32 = 0;
  let dexp: i32 = 0;
  let truncated = false;
  for (let q = intStart; q < intEnd; q++) {
    let d = <u64>(load<u8>(q) - 0x30);
    if (sig == 0 && d == 0) continue;
    if (sig < 19) { m = m * 10 + d; sig++; } else { dexp++; if (d != 0) truncated = true; }
  }
  for (let q = fracStart; q < fracEnd; q++) {
    let d = <u64>(load<u8>(q) - 0x30);
    if (sig == 0 && d == 0) { dexp--; continue; }
    if (sig < 19) { m = m * 10 + d; sig++; dexp--; } else if (d != 0) truncated = true;
  }
  if (m == 0) return 0;
  let e10 = dexp + exp10;
  if (!truncated && m <= TWO_53) {
    // Clinger's fast path: m and 10^|e10| are exact doubles, so one IEEE operation rounds correctly.
    if (e10 == 0) return <f64>m;
    if (e10 > 0 && e10 <= 22) return <f64>m * load<f64>(POW10 + (<usize>e10 << alignof<f64>()));
    if (e10 < 0 && e10 >= -22) return <f64>m / load<f64>(POW10 + (<usize>(-e10) << alignof<f64>()));
    if (e10 > 22 && e10 <= 22 + 15) {
      let s = load<u64>(POW10_U64 + (<usize>(e10 - 22) << alignof<u64>()));
      if (m <= TWO_53 / s) return <f64>(m * s) * 1e22;
    }
  }
  // The decimal point sits `dp` digits after the first significant digit: 0.d1d2… × 10^dp.
  let dp = sig + e10;
  if (dp > 310) return Infinity;
  if (dp < -330) return 0;
  return slowDecimalToF64(intStart, intEnd, fracStart, fracEnd, exp10);
}

// ---- exact slow path: a decimal digit buffer shifted by powers of two -----------------------------------------
// The value is 0.D[0]D[1]…D[nd-1] × 10^decDp. Shifting multiplies or divides the buffer by 2^k exactly (digits
// past DEC_MAX only set decTrunc, which breaks exact ties upwards), until 53 bits of mantissa can be read off.

// @ts-ignore: decorator
@inline const DEC_MAX: i32 = 800;
// @ts-ignore: decorator
@inline const DEC_MAX_SHIFT: i32 = 60; // 10 × 2^60 + 9 < 2^64
// @ts-ignore: decorator
@lazy const DEC = memory.data(DEC_MAX + 32);
let decNd: i32 = 0;
let decDp: i32 = 0;
let decTrunc = false;

// Right-shift amounts that bring a number with `dp` integer digits down below 1 (2^k > 10^(dp-1)).
// @ts-ignore: decorator
@lazy const POWTAB = memory.data<u8>([1, 3, 6, 9, 13, 16, 19, 23, 26]);

function decTrim(): void {
  while (decNd > 0 && load<u8>(DEC + <usize>(decNd - 1)) == 0) decNd--;
  if (decNd == 0) decDp = 0;
}

/** Divides the decimal by 2^k, 0 < k <= DEC_MAX_SHIFT. */
function decRightShift(k: i32): void {
  let r: i32 = 0;
  let w: i32 = 0;
  let n: u64 = 0;
  let sh = <u64>k;
  // Read enough leading digits to have something to shift.
  while ((n >> sh) == 0) {
    if (r >= decNd) {
      if (n == 0) { decNd = 0; decDp = 0; return; }
      while ((n >> sh) == 0) { n *= 10; r++; }
      break;
    }
    n = n * 10 + <u64>load<u8>(DEC + <usize>r);
    r++;
  }
  decDp -= r - 1;
  let mask: u64 = (<u64>1 << sh) - 1;
  // Write one digit for each digit read (w < r always).
  for (; r < decNd; r++) {
    let c = <u64>load<u8>(DEC + <usize>r);
    store<u8>(DEC + <usize>w, <u8>(n >> sh));
    w++;
    n = (n & mask) * 10 + c;
  }
  // Flush what is left in n.
  while (n > 0) {
    let d = n >> sh;
    n &= mask;
    if (w < DEC_MAX) {
      store<u8>(DEC + <usize>w, <u8>d);
      w++;
    } else if (d > 0) {
      decTrunc = true;
    }
    n *= 10;
  }
  decNd = w;
  decTrim();
}

/** Multiplies the decimal by 2^k, 0 < k <= DEC_MAX_SHIFT (at most 19 new digits). */
function decLeftShift(k: i32): void {
  let sh = <u64>k;
  // Write the product right-aligned at [w, decNd + 19), from the last digit backwards; the write index stays
  // 19 ahead of the read index, so no unread digit is overwritten.
  let w: i32 = decNd + 19;
  let n: u64 = 0;
  for (let r = decNd - 1; r >= 0; r--) {
    n += <u64>load<u8>(DEC + <usize>r) << sh;
    let q = n / 10;
    w--;
    store<u8>(DEC + <usize>w, <u8>(n - q * 10));
    n = q;
  }
  while (n > 0) {
    let q = n / 10;
    w--;
    store<u8>(DEC + <usize>w, <u8>(n - q * 10));
    n = q;
  }
  let nd = decNd + 19 - w;
  decDp += nd - decNd;
  memory.copy(DEC, DEC + <usize>w, <usize>nd);
  if (nd > DEC_MAX) {
    for (let i = DEC_MAX; i < nd; i++) {
      if (load<u8>(DEC + <usize>i) != 0) { decTrunc = true; break; }
    }
    nd = DEC_MAX;
  }
  decNd = nd;
  decTrim();
}

function decShift(k: i32): void {
  if (decNd == 0) return;
  if (k > 0) {
    while (k > DEC_MAX_SHIFT) { decLeftShift(DEC_MAX_SHIFT); k -= DEC_MAX_SHIFT; }
    decLeftShift(k);
  } else if (k < 0) {
    while (k < -DEC_MAX_SHIFT) { decRightShift(DEC_MAX_SHIFT); k += DEC_MAX_SHIFT; }
    decRightShift(-k);
  }
}

/** Integer part of the decimal, rounded half to even (a truncated tail counts as "above half"). */
function decRoundedInteger(): u64 {
  if (decDp > 20) return <u64>-1;
  let n: u64 = 0;
  let i: i32 = 0;
  for (; i < decDp && i < decNd; i++) n = n * 10 + <u64>load<u8>(DEC + <usize>i);
  for (; i < decDp; i++) n *= 10;
  let at = decDp;
  if (at >= 0 && at < decNd) {
    let d = load<u8>(DEC + <usize>at);
    let up = false;
    if (d == 5 && at + 1 == decNd) {
      up = decTrunc || (at > 0 && (load<u8>(DEC + <usize>(at - 1)) & 1) != 0);
    } else {
      up = d >= 5;
    }
    if (up) n++;
  }
  return n;
}

function slowDecimalToF64(intStart: usize, intEnd: usize, fracStart: usize, fracEnd: usize, exp10: i32): f64 {
  decNd = 0;
  decDp = 0;
  decTrunc = false;
  let seen = false;
  for (let q = intStart; q < intEnd; q++) {
    let d = load<u8>(q) - 0x30;
    if (!seen && d == 0) continue;
    seen = true;
    if (decNd < DEC_MAX) { store<u8>(DEC + <usize>decNd, d); decNd++; } else if (d != 0) decTrunc = true;
    decDp++;
  }
  for (let q = fracStart; q < fracEnd; q++) {
    let d = load<u8>(q) - 0x30;
    if (!seen && d == 0) { decDp--; continue; }
    seen = true;
    if (decNd < DEC_MAX) { store<u8>(DEC + <usize>decNd, d); decNd++; } else if (d != 0) decTrunc = true;
  }
  decDp += exp10;
  decTrim();
  if (decNd == 0) return 0;
  if (decDp > 310) return Infinity;
  if (decDp < -330) return 0;

  // Scale into [0.5, 1) by powers of two, counting them in `exp`.
  let exp: i32 = 0;
  while (decDp > 0) {
    let k: i32 = decDp >= 9 ? 27 : <i32>load<u8>(POWTAB + <usize>decDp);
    decShift(-k);
    exp += k;
  }
  while (decNd > 0 && (decDp < 0 || (decDp == 0 && load<u8>(DEC) < 5))) {
    let k: i32 = -decDp >= 9 ? 27 : <i32>load<u8>(POWTAB + <usize>(-decDp));
    decShift(k);
    exp -= k;
  }
  if (decNd == 0) return 0;
  // Now 0.5 <= value < 1, i.e. value = 1.f × 2^(exp - 1).
  exp--;
  if (exp < -1022) { // subnormal: denormalise so the exponent field is the minimum
    let k = -1022 - exp;
    decShift(-k);
    exp += k;
  }
  if (exp + 1023 >= 0x7FF) return Infinity;
  decShift(53);
  let mant = decRoundedInteger();
  if (mant == (<u64>2 << 52)) { // rounding carried into a new bit
    mant >>= 1;
    exp++;
    if (exp + 1023 >= 0x7FF) return Infinity;
  }
  if ((mant & (<u64>1 << 52)) == 0) exp = -1023; // subnormal (or zero)
  let bits = (mant & ((<u64>1 << 52) - 1)) | (<u64>((exp + 1023) & 0x7FF) << 52);
  return reinterpret<f64>(bits);
}
