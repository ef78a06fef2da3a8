// Test/library entry for assembly/util/json.ts (built to build/json.wasm). JS writes input bytes into a buffer
// from alloc(), calls parse(), and reads back a canonical compact UTF-8 serialization of the tree.
// Not part of the filter; like the reader it must not trap on any input.

import {
  JsonKind, JsonLimits, JsonValue, parseJson, parseJsonBytes, parseJsonString,
  lastJsonErrorOffset, lastJsonErrorMessage
} from "../util/json";

let inPtr: usize = 0;
let inCap: usize = 0;
let outPtr: usize = 0;
let outCap: usize = 0;
let outLen: usize = 0;
/** The last parsed tree (or the member selected by select()); kept alive until the next parse/clear. */
let current: JsonValue | null = null;

/** Returns an unmanaged (never collected, never moved) buffer of at least `len` bytes for the input. */
export function alloc(len: i32): usize {
  let n = <usize>max(len, 16);
  if (n > inCap) {
    if (inPtr != 0) heap.free(inPtr);
    inPtr = heap.alloc(n);
    inCap = n;
  }
  return inPtr;
}

/** Parses [ptr, ptr+len) with the default limits except maxDepth. 1 accepted, 0 rejected. */
export function parse(ptr: usize, len: i32, maxDepth: i32): i32 {
  let limits = new JsonLimits();
  limits.maxDepth = maxDepth;
  current = parseJson(ptr, len, limits);
  return current !== null ? 1 : 0;
}

/** Parses with every limit given (maxBytes, maxItems too). */
export function parseLimits(ptr: usize, len: i32, maxDepth: i32, maxBytes: i32, maxItems: i32): i32 {
  let limits = new JsonLimits();
  limits.maxDepth = maxDepth;
  limits.maxBytes = maxBytes;
  limits.maxItems = maxItems;
  current = parseJson(ptr, len, limits);
  return current !== null ? 1 : 0;
}

/** Parses with the default limits (limits argument null). */
export function parseDefault(ptr: usize, len: i32): i32 {
  current = parseJson(ptr, len);
  return current !== null ? 1 : 0;
}

/** Copies the bytes into a Uint8Array and parses through parseJsonBytes. */
export function parseBytes(ptr: usize, len: i32): i32 {
  if (len < 0 || len > (1 << 26)) return 0;
  let a = new Uint8Array(len);
  memory.copy(a.dataStart, ptr, <usize>len);
  current = parseJsonBytes(a);
  return current !== null ? 1 : 0;
}

/** Builds an AS string from `units` UTF-16 code units at ptr and parses it through parseJsonString. */
export function parseUtf16(ptr: usize, units: i32, maxBytes: i32): i32 {
  if (units < 0 || units > (1 << 25)) return 0;
  let s = changetype<string>(__new(<usize>units << 1, idof<string>()));
  memory.copy(changetype<usize>(s), ptr, <usize>units << 1);
  let limits = new JsonLimits();
  limits.maxBytes = maxBytes;
  current = parseJsonString(s, limits);
  return current !== null ? 1 : 0;
}

export function errorOffset(): i32 { return lastJsonErrorOffset(); }

/** Writes the last error message (UTF-8) to the output buffer; returns its length. */
export function errorMessage(): i32 {
  outLen = 0;
  writeString(lastJsonErrorMessage(), false);
  return <i32>outLen;
}

export function output(): usize { return outPtr; }

/** Drops the kept tree so the GC can reclaim it. */
export function clear(): void { current = null; }

/** Kind of the current value (JsonKind), -1 if none. */
export function kind(): i32 {
  let v = current;
  return v === null ? -1 : <i32>v.kind;
}

/** numValue of the current value (exact bits; NaN if none). */
export function numberValue(): f64 {
  let v = current;
  return v === null ? NaN : v.numValue;
}

export function numberIsInteger(): i32 {
  let v = current;
  return v !== null && v.numIsInteger ? 1 : 0;
}

/** Makes the member named by the UTF-8 key at [ptr, ptr+len) the current value via get(); 1 if found. */
export function select(ptr: usize, len: i32): i32 {
  let v = current;
  if (v === null || len < 0) return 0;
  let key = String.UTF8.decodeUnsafe(ptr, <usize>len);
  let m = v.get(key);
  if (m === null) return 0;
  current = m;
  return 1;
}

/** has() of the current value for the UTF-8 key at [ptr, ptr+len). */
export function has(ptr: usize, len: i32): i32 {
  let v = current;
  if (v === null || len < 0) return 0;
  return v.has(String.UTF8.decodeUnsafe(ptr, <usize>len)) ? 1 : 0;
}

/** Serializes the current value as compact JSON (duplicate keys kept, document order); returns the length. */
export function serialize(): i32 {
  outLen = 0;
  let root = current;
  if (root === null) return -1;
  // Iterative, so any depth the parser accepted can be written back.
  let nodes = new Array<JsonValue>();
  let index = new Array<i32>();
  writeValue(root, nodes, index);
  while (nodes.length > 0) {
    let top = nodes.length - 1;
    let v = unchecked(nodes[top]);
    let i = unchecked(index[top]);
    let isObject = v.kind == JsonKind.Object;
    let n = isObject ? v.keys.length : v.items.length;
    if (i >= n) {
      writeByte(isObject ? 0x7D : 0x5D);
      nodes.length = top;
      index.length = top;
      continue;
    }
    if (i > 0) writeByte(0x2C);
    unchecked(index[top] = i + 1);
    if (isObject) {
      writeString(unchecked(v.keys[i]), true);
      writeByte(0x3A);
      writeValue(unchecked(v.values[i]), nodes, index);
    } else {
      writeValue(unchecked(v.items[i]), nodes, index);
    }
  }
  return <i32>outLen;
}

/** Forces a full garbage collection (memory tests). */
export function collect(): void { __collect(); }

function writeValue(v: JsonValue, nodes: Array<JsonValue>, index: Array<i32>): void {
  switch (v.kind) {
    case JsonKind.Null: writeAscii("null"); break;
    case JsonKind.Bool: writeAscii(v.boolValue ? "true" : "false"); break;
    case JsonKind.Number: writeNumber(v.numValue, v.numIsInteger); break;
    case JsonKind.String: writeString(v.strValue, true); break;
    case JsonKind.Array: writeByte(0x5B); nodes.push(v); index.push(0); break;
    case JsonKind.Object: writeByte(0x7B); nodes.push(v); index.push(0); break;
    default: writeAscii("null");
  }
}

function writeNumber(x: f64, isInteger: bool): void {
  if (x == 0) {
    writeAscii((reinterpret<u64>(x) >> 63) != 0 ? "-0" : "0");
  } else if (isInteger && Math.abs(x) < 9007199254740992.0) {
    writeAscii((<i64>x).toString());
  } else {
    writeAscii(x.toString());
  }
}

function ensureOut(extra: usize): void {
  let need = outLen + extra;
  if (need <= outCap) return;
  let n = max(need, max(outCap << 1, <usize>4096));
  outPtr = outPtr == 0 ? heap.alloc(n) : heap.realloc(outPtr, n);
  outCap = n;
}

function writeByte(b: u32): void {
  ensureOut(1);
  store<u8>(outPtr + outLen, <u8>b);
  outLen++;
}

function writeAscii(s: string): void {
  let n = <usize>s.length;
  ensureOut(n);
  for (let i: usize = 0; i < n; i++) store<u8>(outPtr + outLen + i, <u8>load<u16>(changetype<usize>(s) + (i << 1)));
  outLen += n;
}

// @ts-ignore: decorator
@lazy const HEX = memory.data<u8>([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

/** Writes s as UTF-8, quoted and escaped like JSON.stringify when `quoted`; lone surrogates as \uXXXX. */
function writeString(s: string, quoted: bool): void {
  let n = s.length;
  ensureOut(<usize>n * 6 + 2);
  let base = changetype<usize>(s);
  let o = outPtr + outLen;
  if (quoted) { store<u8>(o, 0x22); o++; }
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(base + (<usize>i << 1));
    if (c < 0x80) {
      if (quoted && (c < 0x20 || c == 0x22 || c == 0x5C)) {
        store<u8>(o, 0x5C);
        let short: u32 = c == 0x22 ? 0x22 : c == 0x5C ? 0x5C : c == 0x08 ? 0x62 : c == 0x0C ? 0x66
          : c == 0x0A ? 0x6E : c == 0x0D ? 0x72 : c == 0x09 ? 0x74 : 0;
        if (short != 0) {
          store<u8>(o, <u8>short, 1);
          o += 2;
        } else {
          o = writeUEscape(o, c);
        }
      } else {
        store<u8>(o, <u8>c);
        o++;
      }
    } else if (c < 0x800) {
      store<u8>(o, <u8>(0xC0 | (c >> 6)));
      store<u8>(o, <u8>(0x80 | (c & 0x3F)), 1);
      o += 2;
    } else if (c - 0xD800 < 0x800) {
      let c2: u32 = i + 1 < n ? <u32>load<u16>(base + (<usize>(i + 1) << 1)) : 0;
      if (c < 0xDC00 && c2 - 0xDC00 < 0x400) {
        let cp = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
        store<u8>(o, <u8>(0xF0 | (cp >> 18)));
        store<u8>(o, <u8>(0x80 | ((cp >> 12) & 0x3F)), 1);
        store<u8>(o, <u8>(0x80 | ((cp >> 6) & 0x3F)), 2);
        store<u8>(o, <u8>(0x80 | (cp & 0x3F)), 3);
        o += 4;
        i++;
      } else {
        store<u8>(o, 0x5C);
        o = writeUEscape(o, c);
      }
    } else {
      store<u8>(o, <u8>(0xE0 | (c >> 12)));
      store<u8>(o, <u8>(0x80 | ((c >> 6) & 0x3F)), 1);
      store<u8>(o, <u8>(0x80 | (c & 0x3F)), 2);
      o += 3;
    }
  }
  if (quoted) { store<u8>(o, 0x22); o++; }
  outLen = o - outPtr;
}

/** Writes "uXXXX" after a backslash already stored at o; returns the new end. */
function writeUEscape(o: usize, c: u32): usize {
  store<u8>(o, 0x75, 1);
  store<u8>(o, load<u8>(HEX + ((c >> 12) & 0xF)), 2);
  store<u8>(o, load<u8>(HEX + ((c >> 8) & 0xF)), 3);
  store<u8>(o, load<u8>(HEX + ((c >> 4) & 0xF)), 4);
  store<u8>(o, load<u8>(HEX + (c & 0xF)), 5);
  return o + 6;
}
