// Scalars modulo the Ed25519 group order L = 2^252 + 27742317777372353535851937790883648493: the
// S < L range check, reduction of a 512-bit hash mod L (Barrett), and width-w NAF recoding. Owns its
// constants and scratch; raw load/store on caller pointers only, no allocation, no traps.

// L as eight little-endian u32 limbs (its encoding is ed d3 f5 5c 1a 63 12 58 d6 9c f7 a2 de f9 de 14
// 00 .. 00 10, RFC 8032 §5.1).
@lazy const L_LIMBS: usize = memory.data<u32>([
  0x5cf5d3ed, 0x5812631a, 0xa2f79cd6, 0x14def9de, 0x00000000, 0x00000000, 0x00000000, 0x10000000,
]);
// mu = floor(2^512 / L), nine little-endian u32 limbs (260 bits), for Barrett reduction with base 2^32.
@lazy const MU_LIMBS: usize = memory.data<u32>([
  0x0a2c131b, 0xed9ce5a3, 0x086329a7, 0x2106215d, 0xffffffeb, 0xffffffff, 0xffffffff, 0xffffffff, 0x0000000f,
]);
// q1 * mu (18 limbs) and q3 * L (low 9 limbs are all that is used; 17 are computed).
@lazy const Q2: usize = memory.data(18 * 4, 16);
@lazy const R2: usize = memory.data(18 * 4, 16);

/** True if the 32-byte little-endian scalar at s is below L (RFC 8032 §5.1.7: reject S >= L). */
export function scalarIsCanonical(s: usize): bool {
  for (let i = 7; i >= 0; i--) {
    let a = load<u32>(s + (<usize>i << 2));
    let b = load<u32>(L_LIMBS + (<usize>i << 2));
    if (a != b) return a < b;
  }
  return false; // S == L
}

// dst[0 .. na + nb) = a[0 .. na) * b[0 .. nb), u32 limbs, schoolbook (a*b + carry + limb < 2^64).
function mulLimbs(dst: usize, a: usize, na: i32, b: usize, nb: i32): void {
  memory.fill(dst, 0, <usize>(na + nb) << 2);
  for (let i = 0; i < na; i++) {
    let ai = <u64>load<u32>(a + (<usize>i << 2));
    let carry: u64 = 0;
    for (let j = 0; j < nb; j++) {
      let p = dst + (<usize>(i + j) << 2);
      let t = ai * <u64>load<u32>(b + (<usize>j << 2)) + <u64>load<u32>(p) + carry;
      store<u32>(p, <u32>t);
      carry = t >> 32;
    }
    store<u32>(dst + (<usize>(i + nb) << 2), <u32>carry);
  }
}

/**
 * out (32 bytes, little-endian) = x mod L for the 64-byte little-endian x at inp (SHA-512 output read
 * as RFC 8032 §5.1.7 prescribes). Barrett reduction, HAC Algorithm 14.42 with b = 2^32, k = 8:
 * q3 = floor(floor(x / b^7) * mu / b^9) underestimates floor(x / L) by at most 2, so
 * r = (x - q3 L) mod b^9 is in [0, 3L) and at most two subtractions of L finish it.
 * out may alias inp (inp is fully read before out is written).
 */
export function scalarReduce512(out: usize, inp: usize): void {
  mulLimbs(Q2, inp + 7 * 4, 9, MU_LIMBS, 9);       // q2 = q1 * mu, q1 = x >> 224
  mulLimbs(R2, Q2 + 9 * 4, 9, L_LIMBS, 8);         // q3 * L, q3 = q2 >> 288
  // r = (x mod b^9) - (q3 L mod b^9) mod b^9, kept in R2[0 .. 9).
  let borrow: i64 = 0;
  for (let i: usize = 0; i < 36; i += 4) {
    let d = <i64>load<u32>(inp + i) - <i64>load<u32>(R2 + i) + borrow;
    store<u32>(R2 + i, <u32>d);
    borrow = d >> 32; // 0 or -1
  }
  for (let round = 0; round < 2; round++) {
    // r >= L? r has 9 limbs, L 8 (its ninth is 0).
    let ge = load<u32>(R2, 32) != 0;
    if (!ge) {
      ge = true; // equal counts as >=
      for (let i = 7; i >= 0; i--) {
        let a = load<u32>(R2 + (<usize>i << 2));
        let b = load<u32>(L_LIMBS + (<usize>i << 2));
        if (a != b) {
          ge = a > b;
          break;
        }
      }
    }
    if (!ge) break;
    borrow = 0;
    for (let i: usize = 0; i < 36; i += 4) {
      let l: i64 = i < 32 ? <i64>load<u32>(L_LIMBS + i) : 0;
      let d = <i64>load<u32>(R2 + i) - l + borrow;
      store<u32>(R2 + i, <u32>d);
      borrow = d >> 32;
    }
  }
  memory.copy(out, R2, 32);
}

/**
 * Width-w NAF of the bits [start, start + len) of the 256-bit little-endian scalar at s, whose buffer
 * must be readable up to byte 33 (callers keep scalars in zero-padded scratch). Writes len + 1 signed
 * digits (i8) to naf: every nonzero digit is odd with |d| < 2^(w-1), and any w consecutive digits hold
 * at most one nonzero one, so sum naf[i] 2^i = the chunk. Near the top, where fewer than w bits remain,
 * the digit is taken positive (it is then < 2^(w-1)), so no carry runs past index len.
 * Returns the index of the highest nonzero digit plus one (0 for a zero chunk). 2 <= w <= 8.
 */
export function scalarToNaf(naf: usize, s: usize, start: i32, len: i32, w: i32): i32 {
  memory.fill(naf, 0, <usize>(len + 1));
  let width = 1 << w;
  let half = width >> 1;
  let carry = 0;
  let pos = 0;
  let top = 0;
  while (pos < len) {
    let rem = len - pos;
    let n = rem < w ? rem : w;
    let at = start + pos;
    let bits = (<i32>load<u16>(s + (<usize>at >> 3)) >> (at & 7)) & ((1 << n) - 1);
    let window = carry + bits;
    if ((window & 1) == 0) {
      // Digit 0 here; a pending carry (window 2) moves up one position unchanged.
      pos++;
      continue;
    }
    let digit = window;
    if (rem >= w && window >= half) {
      digit = window - width;
      carry = 1;
    } else {
      carry = 0;
    }
    store<i8>(naf + <usize>pos, <i8>digit);
    top = pos + 1;
    pos += w;
  }
  if (carry != 0) {
    store<i8>(naf + <usize>len, 1);
    top = len + 1;
  }
  return top;
}
