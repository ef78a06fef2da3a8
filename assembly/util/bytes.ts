// Owns small byte/string helpers shared by the request path: UTF-8 views of host buffers and ASCII
// tests. Nothing here allocates more than its input or can trap on any byte sequence.

// 1 for the characters Envoy's extractor accepts in a JWT: [A-Za-z0-9-_.].
@lazy const JWT_CHARS: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
  0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
]);

/** The characters Envoy's extractor accepts in a JWT: [A-Za-z0-9-_.]. */
@inline
export function isJwtChar(c: i32): bool {
  return <u32>c < 128 && load<u8>(JWT_CHARS + <usize>c) != 0;
}

/** ASCII lower-casing (header names); other characters are left alone. */
export function asciiLower(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) { needs = true; break; }
  }
  return needs ? s.toLowerCase() : s;
}

function hexVal(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Percent-decoding of a query component (as Envoy: `%XX` only; a malformed escape is kept as is). */
export function percentDecode(s: string): string {
  if (s.indexOf("%") < 0) return s;
  const src = String.UTF8.encode(s);
  const n = src.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(changetype<usize>(src) + <usize>i);
    if (c == 0x25 && i + 2 < n) {
      const h = hexVal(<i32>load<u8>(changetype<usize>(src) + <usize>(i + 1)));
      const l = hexVal(<i32>load<u8>(changetype<usize>(src) + <usize>(i + 2)));
      if (h >= 0 && l >= 0) {
        store<u8>(out.dataStart + <usize>o, <u8>((h << 4) | l));
        o++;
        i += 2;
        continue;
      }
    }
    store<u8>(out.dataStart + <usize>o, <u8>c);
    o++;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>o);
}

/** Keeps a string safe inside a quoted HTTP header parameter: drops `"`, `\` and control characters. */
export function quotedSafe(s: string): string {
  let ok = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x22 || c == 0x5c) { ok = false; break; }
  }
  if (ok) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c < 0x20 || c == 0x7f || c == 0x22 || c == 0x5c)) out += String.fromCharCode(c);
  }
  return out;
}

/**
 * The `n` bytes at `p` as a string, as String.UTF8.decodeUnsafe gives them, faster for the common case:
 * ASCII bytes (every well-formed token and most header values) are widened 16 at a time with SIMD, one
 * at a time without; the first byte at or above 0x80 hands the whole input to the UTF-8 decoder.
 */
export function decodeText(p: usize, n: i32): string {
  if (n <= 0) return "";
  const out = changetype<usize>(__new(<usize>n << 1, idof<string>()));
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const high = i8x16.splat(-128);
    for (; i + 16 <= n; i += 16) {
      const v = v128.load(p + <usize>i);
      if (v128.any_true(v128.and(v, high))) return String.UTF8.decodeUnsafe(p, <usize>n);
      v128.store(out + (<usize>i << 1), i16x8.extend_low_i8x16_u(v));
      v128.store(out + (<usize>i << 1), i16x8.extend_high_i8x16_u(v), 16);
    }
  }
  for (; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c >= 0x80) return String.UTF8.decodeUnsafe(p, <usize>n);
    store<u16>(out + (<usize>i << 1), <u16>c);
  }
  return changetype<string>(out);
}
