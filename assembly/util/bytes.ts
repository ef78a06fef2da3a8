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
  if (!needs) return s;
  // Only A-Z: String#toLowerCase would also lower non-ASCII letters, which no byte comparison folds.
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  }
  return out;
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

/** Whether the `n` bytes at `a` and `b` are equal: 16 (SIMD) or 8 bytes at a time, any alignment. */
export function bytesEqual(a: usize, b: usize, n: i32): bool {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= n; i += 16) {
      if (!i8x16.all_true(i8x16.eq(v128.load(a + <usize>i), v128.load(b + <usize>i)))) return false;
    }
  }
  for (; i + 8 <= n; i += 8) {
    if (load<u64>(a + <usize>i) != load<u64>(b + <usize>i)) return false;
  }
  for (; i < n; i++) {
    if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  }
  return true;
}

/** The end of the run of JWT characters ([A-Za-z0-9-_.]) that starts at `from` in the `n` bytes at `p`. */
export function jwtRunEnd(p: usize, from: i32, n: i32): i32 {
  let i = from;
  if (ASC_FEATURE_SIMD) {
    const a = i8x16.splat(0x61);
    const z26 = i8x16.splat(26);
    const d0 = i8x16.splat(0x30);
    const d10 = i8x16.splat(10);
    const lower = i8x16.splat(0x20);
    for (; i + 16 <= n; i += 16) {
      const v = v128.load(p + <usize>i);
      const letter = i8x16.lt_u(i8x16.sub(v128.or(v, lower), a), z26);
      const digit = i8x16.lt_u(i8x16.sub(v, d0), d10);
      const other = v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x2d)), i8x16.eq(v, i8x16.splat(0x5f))), i8x16.eq(v, i8x16.splat(0x2e)));
      if (!i8x16.all_true(v128.or(v128.or(letter, digit), other))) break;
    }
  }
  while (i < n && isJwtChar(<i32>load<u8>(p + <usize>i))) i++;
  return i;
}
