// Little-endian u32 word vectors of a given length for the EC code: bytes -> words, compare, add/sub, shift,
// Montgomery multiplication mod n and inversion mod an odd modulus. Public data only, so variable time is
// fine; raw load/store on caller-checked pointers, module-level scratch, no allocation, never traps.

/** Largest vector handled here: P-521 needs 17 words; +1 for carries. */
export const MAX_WORDS: i32 = 18;

// Scratch for montMulMod (nw + 2 words) and invMod (four vectors of nw + 1 words).
@lazy const MONT_T: usize = memory.data(MAX_WORDS * 4 + 8, 16);
@lazy const INV_U: usize = memory.data(MAX_WORDS * 4, 16);
@lazy const INV_V: usize = memory.data(MAX_WORDS * 4, 16);
@lazy const INV_X1: usize = memory.data(MAX_WORDS * 4, 16);
@lazy const INV_X2: usize = memory.data(MAX_WORDS * 4, 16);

@inline function word(p: usize, i: i32): u32 {
  return load<u32>(p + (<usize>i << 2));
}

@inline function setWordAt(p: usize, i: i32, v: u32): void {
  store<u32>(p + (<usize>i << 2), v);
}

/**
 * Big-endian bytes (len of them) -> nw words. False if the value needs more than nw words (dst then
 * holds the low words).
 */
export function wordsFromBytes(dst: usize, src: usize, len: i32, nw: i32): bool {
  for (let i = 0; i < nw; i++) setWordAt(dst, i, 0);
  let over: u32 = 0;
  for (let i = 0; i < len; i++) {
    let k = len - 1 - i; // byte significance
    let b = <u32>load<u8>(src + <usize>i);
    let wi = k >> 2;
    if (wi < nw) setWordAt(dst, wi, word(dst, wi) | (b << (<u32>(k & 3) << 3)));
    else over |= b;
  }
  return over == 0;
}

/** -1, 0 or 1 as a <, ==, > b. */
export function cmpWords(a: usize, b: usize, nw: i32): i32 {
  for (let i = nw - 1; i >= 0; i--) {
    let x = word(a, i), y = word(b, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

export function isZeroWords(a: usize, nw: i32): bool {
  let acc: u32 = 0;
  for (let i = 0; i < nw; i++) acc |= word(a, i);
  return acc == 0;
}

@inline function isOneWords(a: usize, nw: i32): bool {
  if (word(a, 0) != 1) return false;
  for (let i = 1; i < nw; i++) if (word(a, i) != 0) return false;
  return true;
}

export function copyWords(dst: usize, src: usize, nw: i32): void {
  memory.copy(dst, src, <usize>nw << 2);
}

/** dst = v (a small value). */
export function setSmall(dst: usize, v: u32, nw: i32): void {
  setWordAt(dst, 0, v);
  for (let i = 1; i < nw; i++) setWordAt(dst, i, 0);
}

/** r = a + b over nw words (r may alias); returns the carry. */
export function addWords(r: usize, a: usize, b: usize, nw: i32): u32 {
  let c: u64 = 0;
  for (let i = 0; i < nw; i++) {
    c += <u64>word(a, i) + <u64>word(b, i);
    setWordAt(r, i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

/** r = a - b over nw words (r may alias); returns the borrow (0 or 1). */
export function subWords(r: usize, a: usize, b: usize, nw: i32): u32 {
  let t: i64 = 0;
  for (let i = 0; i < nw; i++) {
    t += <i64>word(a, i) - <i64>word(b, i);
    setWordAt(r, i, <u32>t);
    t >>= 32;
  }
  return <u32>(t & 1);
}

/** a = a >> k for 0 <= k < 32 (in place). */
function shrWords(a: usize, k: u32, nw: i32): void {
  if (k == 0) return;
  let last = nw - 1;
  for (let i = 0; i < last; i++) {
    setWordAt(a, i, (word(a, i) >> k) | (word(a, i + 1) << (32 - k)));
  }
  setWordAt(a, last, word(a, last) >> k);
}

/** Shifts the nw-word value at a right by `bits` (any count >= 0), in place. */
export function shiftRightWords(a: usize, bits: i32, nw: i32): void {
  let q = bits >> 5;
  if (q > 0) {
    for (let i = 0; i < nw; i++) setWordAt(a, i, i + q < nw ? word(a, i + q) : 0);
  }
  shrWords(a, <u32>(bits & 31), nw);
}

/**
 * r = a * b / 2^(32 nw) mod m (CIOS Montgomery product), for a, b < m and m odd with m0inv = -m^-1 mod 2^32.
 * The result is fully reduced (< m). r may alias a or b.
 */
export function montMulMod(r: usize, a: usize, b: usize, m: usize, m0inv: u32, nw: i32): void {
  let t = MONT_T;
  for (let i = 0; i < nw + 2; i++) setWordAt(t, i, 0);
  for (let i = 0; i < nw; i++) {
    let ai = <u64>word(a, i);
    let c: u64 = 0;
    for (let j = 0; j < nw; j++) {
      let s = <u64>word(t, j) + ai * <u64>word(b, j) + c;
      setWordAt(t, j, <u32>s);
      c = s >> 32;
    }
    let s = <u64>word(t, nw) + c;
    setWordAt(t, nw, <u32>s);
    setWordAt(t, nw + 1, <u32>(s >> 32));
    let mi = <u64>(word(t, 0) * m0inv);
    s = <u64>word(t, 0) + mi * <u64>word(m, 0);
    c = s >> 32;
    for (let j = 1; j < nw; j++) {
      s = <u64>word(t, j) + mi * <u64>word(m, j) + c;
      setWordAt(t, j - 1, <u32>s);
      c = s >> 32;
    }
    s = <u64>word(t, nw) + c;
    setWordAt(t, nw - 1, <u32>s);
    setWordAt(t, nw, word(t, nw + 1) + <u32>(s >> 32));
  }
  // t < 2m: one conditional subtraction.
  if (word(t, nw) != 0 || cmpWords(t, m, nw) >= 0) subWords(t, t, m, nw);
  copyWords(r, t, nw);
}

// x = x / 2^k mod m for x < m, 1 <= k <= 31, with m0inv = -m^-1 mod 2^32: adding t m with
// t = x * m0inv mod 2^k clears the low k bits, and (x + t m) / 2^k < (m + (2^k - 1) m) / 2^k = m.
// x needs nw + 1 words of room.
@inline function divPow2Mod(x: usize, k: u32, m: usize, m0inv: u32, nw: i32): void {
  let t = <u64>((word(x, 0) * m0inv) & ((<u32>1 << k) - 1));
  let c: u64 = 0;
  for (let i = 0; i < nw; i++) {
    c += <u64>word(x, i) + t * <u64>word(m, i);
    setWordAt(x, i, <u32>c);
    c >>= 32;
  }
  setWordAt(x, nw, <u32>c);
  shrWords(x, k, nw + 1);
}

// x = x - y mod m for x, y < m.
@inline function subMod(x: usize, y: usize, m: usize, nw: i32): void {
  if (subWords(x, x, y, nw) != 0) addWords(x, x, m, nw);
}

/**
 * r = a^-1 mod m by the binary extended Euclidean algorithm, for an odd modulus m and 0 < a < m.
 * False if a is zero, not below m, or shares a factor with m. Invariants: X1 * a = U, X2 * a = V (mod m).
 */
export function invMod(r: usize, a: usize, m: usize, nw: i32): bool {
  if (isZeroWords(a, nw) || cmpWords(a, m, nw) >= 0 || (word(m, 0) & 1) == 0) return false;
  let u = INV_U, v = INV_V, x1 = INV_X1, x2 = INV_X2;
  // -m^-1 mod 2^32 by Newton's iteration (m0 is its own inverse to 3 bits; each step doubles that).
  let m0 = word(m, 0);
  let mi = m0;
  for (let i = 0; i < 4; i++) mi *= 2 - m0 * mi;
  let m0inv = 0 - mi;
  copyWords(u, a, nw);
  copyWords(v, m, nw);
  setSmall(x1, 1, nw + 1);
  setSmall(x2, 0, nw + 1);
  // Each round removes at least one bit from u or v, so 64 * nw rounds bound the loop.
  for (let round = 0, limit = 64 * nw + 64; round < limit; round++) {
    if (isOneWords(u, nw)) {
      copyWords(r, x1, nw);
      return true;
    }
    if (isOneWords(v, nw)) {
      copyWords(r, x2, nw);
      return true;
    }
    if (isZeroWords(u, nw) || isZeroWords(v, nw)) return false;
    while ((word(u, 0) & 1) == 0) {
      let k = min<u32>(ctz<u32>(word(u, 0)), 31);
      shrWords(u, k, nw);
      divPow2Mod(x1, k, m, m0inv, nw);
    }
    while ((word(v, 0) & 1) == 0) {
      let k = min<u32>(ctz<u32>(word(v, 0)), 31);
      shrWords(v, k, nw);
      divPow2Mod(x2, k, m, m0inv, nw);
    }
    if (cmpWords(u, v, nw) >= 0) {
      subWords(u, u, v, nw);
      subMod(x1, x2, m, nw);
    } else {
      subWords(v, v, u, nw);
      subMod(x2, x1, m, nw);
    }
  }
  return false;
}
