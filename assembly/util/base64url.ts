// Strict base64url decoder (RFC 4648 §5): alphabet A-Z a-z 0-9 - _ only, no padding, no whitespace,
// canonical trailing bits. Owns the decode table; never traps, never allocates except in base64UrlDecode*
// (capped by MAX_BASE64URL_INPUT). Bad input gives -1 / null.

/** Largest input (in characters) the allocating decoders accept; bigger inputs give null. */
export const MAX_BASE64URL_INPUT: i32 = 1 << 24;

// Symbol value per byte; 0xFF marks a byte outside the alphabet. Every valid value is < 0x40,
// so OR-ing the values of a whole input and testing bit 7 detects any invalid byte at once.
@lazy const B64U_TABLE: usize = memory.data<u8>([
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3E, 0xFF, 0xFF,
  0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
  0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F,
  0xFF, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
]);

/**
 * Decoded size for an input of `len` characters: exact for every length a valid input can have.
 * Never negative, so it is always safe to allocate: for impossible lengths (negative, len % 4 == 1)
 * it returns a bound the decoder then rejects anyway.
 */
export function base64UrlDecodedLength(len: i32): i32 {
  if (len <= 0) return 0;
  let rem = len & 3;
  // 4 chars -> 3 bytes; a tail of 2 chars -> 1 byte, 3 chars -> 2 bytes (a tail of 1 is invalid).
  return (len >> 2) * 3 + (rem > 1 ? rem - 1 : 0);
}

// Symbol value of the i-th code unit (u8 bytes or u16 string units); units above 0xFF map to 0x80,
// which the table marks invalid.
@inline function symbolAt<T>(src: usize, i: i32): u32 {
  let c = <u32>load<T>(src + (<usize>i << alignof<T>()));
  if (sizeof<T>() > 1) c = select<u32>(0x80, c, c > 0xFF);
  return <u32>load<u8>(B64U_TABLE + c);
}

// Shared core for bytes and UTF-16 strings. On failure dst holds garbage and -1 is returned.
@inline function decodeCore<T>(src: usize, len: i32, dst: usize): i32 {
  if (len < 0) return -1;
  let rem = len & 3;
  if (rem == 1) return -1;
  let full = len - rem;
  let bad: u32 = 0;
  let o = dst;
  for (let i = 0; i < full; i += 4) {
    let a = symbolAt<T>(src, i);
    let b = symbolAt<T>(src, i + 1);
    let c = symbolAt<T>(src, i + 2);
    let d = symbolAt<T>(src, i + 3);
    bad |= a | b | c | d;
    let v = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(o, <u8>(v >> 16));
    store<u8>(o, <u8>(v >> 8), 1);
    store<u8>(o, <u8>v, 2);
    o += 3;
  }
  if (rem == 2) {
    let a = symbolAt<T>(src, full);
    let b = symbolAt<T>(src, full + 1);
    // Canonical form: the 4 bits of b below the decoded byte must be zero.
    bad |= a | b | select<u32>(0x80, 0, (b & 0x0F) != 0);
    store<u8>(o, <u8>((a << 2) | (b >> 4)));
    o += 1;
  } else if (rem == 3) {
    let a = symbolAt<T>(src, full);
    let b = symbolAt<T>(src, full + 1);
    let c = symbolAt<T>(src, full + 2);
    // Canonical form: the 2 bits of c below the decoded bytes must be zero.
    bad |= a | b | c | select<u32>(0x80, 0, (c & 0x03) != 0);
    let v = (a << 10) | (b << 4) | (c >> 2);
    store<u8>(o, <u8>(v >> 8));
    store<u8>(o, <u8>v, 1);
    o += 2;
  }
  if (bad & 0x80) return -1;
  return <i32>(o - dst);
}

/**
 * Decodes `len` bytes at `src` into `dst`, which must have room for base64UrlDecodedLength(len) bytes.
 * Returns the number of bytes written, or -1 for invalid input (dst then holds garbage).
 */
export function base64UrlDecodeInto(src: usize, len: i32, dst: usize): i32 {
  return decodeCore<u8>(src, len, dst);
}

/** Decodes `len` bytes at `src` into a new array; null for invalid input or len > MAX_BASE64URL_INPUT. */
export function base64UrlDecode(src: usize, len: i32): Uint8Array | null {
  if (len < 0 || len > MAX_BASE64URL_INPUT || (len & 3) == 1) return null;
  let out = new Uint8Array(base64UrlDecodedLength(len));
  if (decodeCore<u8>(src, len, out.dataStart) < 0) return null;
  return out;
}

/** Decodes a string (e.g. a JWK member); any code unit outside the alphabet, including > 0x7F, gives null. */
export function base64UrlDecodeString(s: string): Uint8Array | null {
  let len = s.length;
  if (len > MAX_BASE64URL_INPUT || (len & 3) == 1) return null;
  let out = new Uint8Array(base64UrlDecodedLength(len));
  if (decodeCore<u16>(changetype<usize>(s), len, out.dataStart) < 0) return null;
  return out;
}
