// Arithmetic in GF(p), p = 2^255 - 19, for Ed25519 verification. Owns the element layout and the scratch
// of the exponentiation chains. Variable time (nothing is secret when verifying); raw load/store on
// caller-provided element pointers, no allocation, no traps.

// An element is 10 signed limbs, one i64 each (FE_BYTES bytes), in radix 2^25.5: limb i has weight
// 2^ceil(25.5 i), i.e. 26 bits for even i and 25 bits for odd i. A product f_i * g_j lands on limb i + j,
// doubled when i and j are both odd (ceil rounds twice), and limbs 10..18 wrap to 0..8 multiplied by 19
// (2^255 = 19 mod p). With "reduced" limbs (|even| <= 2^26, |odd| <= 2^25, which feMul/feSq/feCarry
// produce) the largest column is column 0: 77 * 2^52 + 190 * 2^50 < 2^59. So the operands of feMul/feSq
// may be sums of reduced elements as long as the product of their growth factors stays below 16
// (2^59 * 16 < 2^63): feAdd/feSub of two reduced elements is a factor 2, of three a factor 3.

/** Bytes per field element (10 limbs x 8 bytes). */
export const FE_BYTES: usize = 80;

const MASK26: i64 = (1 << 26) - 1;
const MASK25: i64 = (1 << 25) - 1;

// Scratch for the exponentiation chains (5 elements).
@lazy const T0: usize = memory.data(80 * 5, 16);
@lazy const T1: usize = T0 + 80;
@lazy const T2: usize = T0 + 160;
@lazy const T3: usize = T0 + 240;
@lazy const T4: usize = T0 + 320;
// 32-byte scratch for canonical encodings (feIsZero, feIsNegative).
@lazy const BYTES: usize = memory.data(32, 16);

/**
 * Carries the column sums h0..h9 into reduced limbs and stores them at h. The chain is interleaved
 * (0->1 with 4->5, 1->2 with 5->6, ...) so two carries are independent; each carry is floor division
 * (arithmetic shift), so the low part is h & mask, in [0, 2^w). The last carry of limb 9 wraps with
 * factor 19. Afterwards limbs 1 and 5 can exceed their 25 bits by a carry of at most 2^15.
 */
@inline function carryStore(
  h: usize, h0: i64, h1: i64, h2: i64, h3: i64, h4: i64, h5: i64, h6: i64, h7: i64, h8: i64, h9: i64,
): void {
  let c0 = h0 >> 26; h1 += c0; h0 &= MASK26;
  let c4 = h4 >> 26; h5 += c4; h4 &= MASK26;
  let c1 = h1 >> 25; h2 += c1; h1 &= MASK25;
  let c5 = h5 >> 25; h6 += c5; h5 &= MASK25;
  let c2 = h2 >> 26; h3 += c2; h2 &= MASK26;
  let c6 = h6 >> 26; h7 += c6; h6 &= MASK26;
  let c3 = h3 >> 25; h4 += c3; h3 &= MASK25;
  let c7 = h7 >> 25; h8 += c7; h7 &= MASK25;
  c4 = h4 >> 26; h5 += c4; h4 &= MASK26;
  let c8 = h8 >> 26; h9 += c8; h8 &= MASK26;
  let c9 = h9 >> 25; h0 += c9 * 19; h9 &= MASK25;
  c0 = h0 >> 26; h1 += c0; h0 &= MASK26;
  store<i64>(h, h0, 0); store<i64>(h, h1, 8); store<i64>(h, h2, 16); store<i64>(h, h3, 24);
  store<i64>(h, h4, 32); store<i64>(h, h5, 40); store<i64>(h, h6, 48); store<i64>(h, h7, 56);
  store<i64>(h, h8, 64); store<i64>(h, h9, 72);
}

/** h = f * g. h may alias f or g. */
export function feMul(h: usize, f: usize, g: usize): void {
  let f0 = load<i64>(f, 0), f1 = load<i64>(f, 8), f2 = load<i64>(f, 16), f3 = load<i64>(f, 24);
  let f4 = load<i64>(f, 32), f5 = load<i64>(f, 40), f6 = load<i64>(f, 48), f7 = load<i64>(f, 56);
  let f8 = load<i64>(f, 64), f9 = load<i64>(f, 72);
  let g0 = load<i64>(g, 0), g1 = load<i64>(g, 8), g2 = load<i64>(g, 16), g3 = load<i64>(g, 24);
  let g4 = load<i64>(g, 32), g5 = load<i64>(g, 40), g6 = load<i64>(g, 48), g7 = load<i64>(g, 56);
  let g8 = load<i64>(g, 64), g9 = load<i64>(g, 72);
  let g1_19 = g1 * 19, g2_19 = g2 * 19, g3_19 = g3 * 19, g4_19 = g4 * 19, g5_19 = g5 * 19;
  let g6_19 = g6 * 19, g7_19 = g7 * 19, g8_19 = g8 * 19, g9_19 = g9 * 19;
  let f1_2 = f1 << 1, f3_2 = f3 << 1, f5_2 = f5 << 1, f7_2 = f7 << 1, f9_2 = f9 << 1;
  // h_k = sum over i + j = k of f_i g_j, plus 19 * sum over i + j = k + 10; doubled when i, j are odd.
  let h0 = f0 * g0 + f1_2 * g9_19 + f2 * g8_19 + f3_2 * g7_19 + f4 * g6_19 + f5_2 * g5_19 + f6 * g4_19
    + f7_2 * g3_19 + f8 * g2_19 + f9_2 * g1_19;
  let h1 = f0 * g1 + f1 * g0 + f2 * g9_19 + f3 * g8_19 + f4 * g7_19 + f5 * g6_19 + f6 * g5_19 + f7 * g4_19
    + f8 * g3_19 + f9 * g2_19;
  let h2 = f0 * g2 + f1_2 * g1 + f2 * g0 + f3_2 * g9_19 + f4 * g8_19 + f5_2 * g7_19 + f6 * g6_19
    + f7_2 * g5_19 + f8 * g4_19 + f9_2 * g3_19;
  let h3 = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9_19 + f5 * g8_19 + f6 * g7_19 + f7 * g6_19
    + f8 * g5_19 + f9 * g4_19;
  let h4 = f0 * g4 + f1_2 * g3 + f2 * g2 + f3_2 * g1 + f4 * g0 + f5_2 * g9_19 + f6 * g8_19 + f7_2 * g7_19
    + f8 * g6_19 + f9_2 * g5_19;
  let h5 = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9_19 + f7 * g8_19 + f8 * g7_19
    + f9 * g6_19;
  let h6 = f0 * g6 + f1_2 * g5 + f2 * g4 + f3_2 * g3 + f4 * g2 + f5_2 * g1 + f6 * g0 + f7_2 * g9_19
    + f8 * g8_19 + f9_2 * g7_19;
  let h7 = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0 + f8 * g9_19
    + f9 * g8_19;
  let h8 = f0 * g8 + f1_2 * g7 + f2 * g6 + f3_2 * g5 + f4 * g4 + f5_2 * g3 + f6 * g2 + f7_2 * g1 + f8 * g0
    + f9_2 * g9_19;
  let h9 = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 + f8 * g1 + f9 * g0;
  carryStore(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

// Column sums of f^2 (the cross terms f_i f_j, i < j, counted once with a factor 2). Bounds as feMul.
@inline function squareColumns(h: usize, f: usize, doubled: bool): void {
  let f0 = load<i64>(f, 0), f1 = load<i64>(f, 8), f2 = load<i64>(f, 16), f3 = load<i64>(f, 24);
  let f4 = load<i64>(f, 32), f5 = load<i64>(f, 40), f6 = load<i64>(f, 48), f7 = load<i64>(f, 56);
  let f8 = load<i64>(f, 64), f9 = load<i64>(f, 72);
  let f0_2 = f0 << 1, f1_2 = f1 << 1, f2_2 = f2 << 1, f3_2 = f3 << 1, f4_2 = f4 << 1;
  let f5_2 = f5 << 1, f6_2 = f6 << 1, f7_2 = f7 << 1, f8_2 = f8 << 1, f9_2 = f9 << 1;
  let f5_19 = f5 * 19, f6_19 = f6 * 19, f7_19 = f7 * 19, f8_19 = f8 * 19, f9_19 = f9 * 19;
  let f7_38 = f7 * 38, f9_38 = f9 * 38;
  let h0 = f0 * f0 + f1_2 * f9_38 + f2_2 * f8_19 + f3_2 * f7_38 + f4_2 * f6_19 + f5_2 * f5_19;
  let h1 = f0_2 * f1 + f2_2 * f9_19 + f3_2 * f8_19 + f4_2 * f7_19 + f5_2 * f6_19;
  let h2 = f0_2 * f2 + f1_2 * f1 + f3_2 * f9_38 + f4_2 * f8_19 + f5_2 * f7_38 + f6 * f6_19;
  let h3 = f0_2 * f3 + f1_2 * f2 + f4_2 * f9_19 + f5_2 * f8_19 + f6_2 * f7_19;
  let h4 = f0_2 * f4 + f1_2 * f3_2 + f2 * f2 + f5_2 * f9_38 + f6_2 * f8_19 + f7_2 * f7_19;
  let h5 = f0_2 * f5 + f1_2 * f4 + f2_2 * f3 + f6_2 * f9_19 + f7_2 * f8_19;
  let h6 = f0_2 * f6 + f1_2 * f5_2 + f2_2 * f4 + f3_2 * f3 + f7_2 * f9_38 + f8 * f8_19;
  let h7 = f0_2 * f7 + f1_2 * f6 + f2_2 * f5 + f3_2 * f4 + f8_2 * f9_19;
  let h8 = f0_2 * f8 + f1_2 * f7_2 + f2_2 * f6 + f3_2 * f5_2 + f4 * f4 + f9_2 * f9_19;
  let h9 = f0_2 * f9 + f1_2 * f8 + f2_2 * f7 + f3_2 * f6 + f4_2 * f5;
  if (doubled) {
    h0 <<= 1; h1 <<= 1; h2 <<= 1; h3 <<= 1; h4 <<= 1; h5 <<= 1; h6 <<= 1; h7 <<= 1; h8 <<= 1; h9 <<= 1;
  }
  carryStore(h, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9);
}

/** h = f^2. h may alias f. */
export function feSq(h: usize, f: usize): void {
  squareColumns(h, f, false);
}

/** h = 2 f^2 (reduced, so it can enter a sum without growing it). h may alias f. */
export function feSq2(h: usize, f: usize): void {
  squareColumns(h, f, true);
}

/** h = f^(2^n) for n >= 1. h may alias f. */
export function feSqN(h: usize, f: usize, n: i32): void {
  feSq(h, f);
  for (let i = 1; i < n; i++) feSq(h, h);
}

/** h = f + g, limb by limb (no carry). */
@inline export function feAdd(h: usize, f: usize, g: usize): void {
  store<i64>(h, load<i64>(f, 0) + load<i64>(g, 0), 0);
  store<i64>(h, load<i64>(f, 8) + load<i64>(g, 8), 8);
  store<i64>(h, load<i64>(f, 16) + load<i64>(g, 16), 16);
  store<i64>(h, load<i64>(f, 24) + load<i64>(g, 24), 24);
  store<i64>(h, load<i64>(f, 32) + load<i64>(g, 32), 32);
  store<i64>(h, load<i64>(f, 40) + load<i64>(g, 40), 40);
  store<i64>(h, load<i64>(f, 48) + load<i64>(g, 48), 48);
  store<i64>(h, load<i64>(f, 56) + load<i64>(g, 56), 56);
  store<i64>(h, load<i64>(f, 64) + load<i64>(g, 64), 64);
  store<i64>(h, load<i64>(f, 72) + load<i64>(g, 72), 72);
}

/** h = f - g, limb by limb (no carry; limbs are signed, so no bias is needed). */
@inline export function feSub(h: usize, f: usize, g: usize): void {
  store<i64>(h, load<i64>(f, 0) - load<i64>(g, 0), 0);
  store<i64>(h, load<i64>(f, 8) - load<i64>(g, 8), 8);
  store<i64>(h, load<i64>(f, 16) - load<i64>(g, 16), 16);
  store<i64>(h, load<i64>(f, 24) - load<i64>(g, 24), 24);
  store<i64>(h, load<i64>(f, 32) - load<i64>(g, 32), 32);
  store<i64>(h, load<i64>(f, 40) - load<i64>(g, 40), 40);
  store<i64>(h, load<i64>(f, 48) - load<i64>(g, 48), 48);
  store<i64>(h, load<i64>(f, 56) - load<i64>(g, 56), 56);
  store<i64>(h, load<i64>(f, 64) - load<i64>(g, 64), 64);
  store<i64>(h, load<i64>(f, 72) - load<i64>(g, 72), 72);
}

/** h = -f. */
export function feNeg(h: usize, f: usize): void {
  for (let i: usize = 0; i < 80; i += 8) store<i64>(h + i, -load<i64>(f + i));
}

/** h = f, reduced (carried). Brings a sum back to reduced limbs. */
export function feCarry(h: usize, f: usize): void {
  carryStore(h, load<i64>(f, 0), load<i64>(f, 8), load<i64>(f, 16), load<i64>(f, 24), load<i64>(f, 32),
    load<i64>(f, 40), load<i64>(f, 48), load<i64>(f, 56), load<i64>(f, 64), load<i64>(f, 72));
}

@inline export function feCopy(h: usize, f: usize): void {
  memory.copy(h, f, 80);
}

/** h = v for a small non-negative v (< 2^26). */
export function feSetSmall(h: usize, v: i32): void {
  memory.fill(h, 0, 80);
  store<i64>(h, <i64>v);
}

/**
 * Decodes the low 255 bits of the 32 little-endian bytes at p (bit 255, the sign of x in a point
 * encoding, is ignored). Reads exactly bytes p .. p + 31: each limb is one u32 load, and every limb
 * (shift + width <= 32) fits in it.
 */
export function feFromBytes(h: usize, p: usize): void {
  store<i64>(h, <i64>(load<u32>(p, 0) & 0x3ffffff), 0);          // bits 0..25
  store<i64>(h, <i64>((load<u32>(p, 3) >>> 2) & 0x1ffffff), 8);  // bits 26..50
  store<i64>(h, <i64>((load<u32>(p, 6) >>> 3) & 0x3ffffff), 16); // bits 51..76
  store<i64>(h, <i64>((load<u32>(p, 9) >>> 5) & 0x1ffffff), 24); // bits 77..101
  store<i64>(h, <i64>((load<u32>(p, 12) >>> 6) & 0x3ffffff), 32); // bits 102..127
  store<i64>(h, <i64>(load<u32>(p, 16) & 0x1ffffff), 40);        // bits 128..152
  store<i64>(h, <i64>((load<u32>(p, 19) >>> 1) & 0x3ffffff), 48); // bits 153..178
  store<i64>(h, <i64>((load<u32>(p, 22) >>> 3) & 0x1ffffff), 56); // bits 179..203
  store<i64>(h, <i64>((load<u32>(p, 25) >>> 4) & 0x3ffffff), 64); // bits 204..229
  store<i64>(h, <i64>((load<u32>(p, 28) >>> 6) & 0x1ffffff), 72); // bits 230..254
}

/**
 * True if the low 255 bits of the 32 bytes at p encode a value below p (RFC 8032 §5.1.3 step 1).
 * The values 2^255 - 19 .. 2^255 - 1 are ed ff .. ff 7f .. ff ff .. ff 7f (little-endian).
 */
export function feBytesAreCanonical(p: usize): bool {
  if ((load<u8>(p, 31) & 0x7f) != 0x7f) return true;
  for (let i: usize = 1; i < 31; i++) {
    if (load<u8>(p + i) != 0xff) return true;
  }
  return load<u8>(p) < 0xed;
}

/** Writes the canonical 32-byte little-endian encoding of f (value in [0, p), bit 255 clear) to out. */
export function feToBytes(out: usize, f: usize): void {
  let h0 = load<i64>(f, 0), h1 = load<i64>(f, 8), h2 = load<i64>(f, 16), h3 = load<i64>(f, 24);
  let h4 = load<i64>(f, 32), h5 = load<i64>(f, 40), h6 = load<i64>(f, 48), h7 = load<i64>(f, 56);
  let h8 = load<i64>(f, 64), h9 = load<i64>(f, 72);
  // Three sequential floor-carry passes (limb i -> i + 1, limb 9 -> limb 0 times 19) normalize every
  // limb and bring the value into [0, 2^255). For inputs with limbs below 2^60: after pass 1 the value is
  // in (-2^42, 2^255 + 2^42) with only limb 0 off its range; pass 2 ends with c9 in {-1, 0, 1}, and
  // folding it (+-19 into limb 0) leaves a value in [0, 2^255); pass 3 normalizes limb 0 and ends with c9 = 0.
  for (let pass = 0; pass < 3; pass++) {
    let c: i64;
    c = h0 >> 26; h1 += c; h0 &= MASK26;
    c = h1 >> 25; h2 += c; h1 &= MASK25;
    c = h2 >> 26; h3 += c; h2 &= MASK26;
    c = h3 >> 25; h4 += c; h3 &= MASK25;
    c = h4 >> 26; h5 += c; h4 &= MASK26;
    c = h5 >> 25; h6 += c; h5 &= MASK25;
    c = h6 >> 26; h7 += c; h6 &= MASK26;
    c = h7 >> 25; h8 += c; h7 &= MASK25;
    c = h8 >> 26; h9 += c; h8 &= MASK26;
    c = h9 >> 25; h0 += c * 19; h9 &= MASK25;
  }
  // Now 0 <= v < 2^255 with normalized limbs. v >= p exactly when v + 19 reaches 2^255: then the result
  // is v + 19 - 2^255, i.e. v + 19 with the carry out of limb 9 dropped.
  let q = (h0 + 19) >> 26;
  q = (h1 + q) >> 25; q = (h2 + q) >> 26; q = (h3 + q) >> 25; q = (h4 + q) >> 26;
  q = (h5 + q) >> 25; q = (h6 + q) >> 26; q = (h7 + q) >> 25; q = (h8 + q) >> 26; q = (h9 + q) >> 25;
  h0 += 19 * q;
  let c: i64;
  c = h0 >> 26; h1 += c; h0 &= MASK26;
  c = h1 >> 25; h2 += c; h1 &= MASK25;
  c = h2 >> 26; h3 += c; h2 &= MASK26;
  c = h3 >> 25; h4 += c; h3 &= MASK25;
  c = h4 >> 26; h5 += c; h4 &= MASK26;
  c = h5 >> 25; h6 += c; h5 &= MASK25;
  c = h6 >> 26; h7 += c; h6 &= MASK26;
  c = h7 >> 25; h8 += c; h7 &= MASK25;
  c = h8 >> 26; h9 += c; h8 &= MASK26;
  h9 &= MASK25;
  // Pack 26/25-bit limbs into four little-endian u64 words (limb offsets 0, 26, 51, 77, 102, 128, ...).
  let w0 = <u64>h0 | (<u64>h1 << 26) | (<u64>h2 << 51);
  let w1 = (<u64>h2 >> 13) | (<u64>h3 << 13) | (<u64>h4 << 38);
  let w2 = <u64>h5 | (<u64>h6 << 25) | (<u64>h7 << 51);
  let w3 = (<u64>h7 >> 13) | (<u64>h8 << 12) | (<u64>h9 << 38);
  store<u64>(out, w0, 0);
  store<u64>(out, w1, 8);
  store<u64>(out, w2, 16);
  store<u64>(out, w3, 24);
}

/** True if f = 0 (mod p). */
export function feIsZero(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u64>(BYTES, 0) | load<u64>(BYTES, 8) | load<u64>(BYTES, 16) | load<u64>(BYTES, 24)) == 0;
}

/** The low bit of the canonical value of f (RFC 8032: x is "negative" when odd). */
export function feIsOdd(f: usize): bool {
  feToBytes(BYTES, f);
  return (load<u8>(BYTES) & 1) != 0;
}

/** True if f = g (mod p). Uses T4. */
export function feEqual(f: usize, g: usize): bool {
  feSub(T4, f, g);
  return feIsZero(T4);
}

// z^(2^250 - 1) into T1, with z^11 left in T0 (shared head of the inversion and square-root chains).
function pow2250m1(z: usize): void {
  feSq(T0, z);            // z^2
  feSqN(T1, T0, 2);       // z^8
  feMul(T1, z, T1);       // z^9
  feMul(T0, T0, T1);      // z^11
  feSq(T2, T0);           // z^22
  feMul(T1, T1, T2);      // z^31 = z^(2^5 - 1)
  feSqN(T2, T1, 5);
  feMul(T1, T2, T1);      // z^(2^10 - 1)
  feSqN(T2, T1, 10);
  feMul(T2, T2, T1);      // z^(2^20 - 1)
  feSqN(T3, T2, 20);
  feMul(T2, T3, T2);      // z^(2^40 - 1)
  feSqN(T2, T2, 10);
  feMul(T1, T2, T1);      // z^(2^50 - 1)
  feSqN(T2, T1, 50);
  feMul(T2, T2, T1);      // z^(2^100 - 1)
  feSqN(T3, T2, 100);
  feMul(T2, T3, T2);      // z^(2^200 - 1)
  feSqN(T2, T2, 50);
  feMul(T1, T2, T1);      // z^(2^250 - 1)
}

/** h = z^-1 = z^(p - 2) = z^(2^255 - 21); 0 for z = 0. h may alias z. */
export function feInvert(h: usize, z: usize): void {
  pow2250m1(z);
  feSqN(T1, T1, 5);       // z^(2^255 - 32)
  feMul(h, T1, T0);       // z^(2^255 - 21)
}

/** h = z^((p - 5) / 8) = z^(2^252 - 3), the exponent of the square-root candidate. h may alias z. */
export function fePow22523(h: usize, z: usize): void {
  feCopy(T4, z);
  pow2250m1(z);
  feSqN(T1, T1, 2);       // z^(2^252 - 4)
  feMul(h, T1, T4);       // z^(2^252 - 3)
}
