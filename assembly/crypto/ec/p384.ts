// P-384 constants and field arithmetic mod p = 2^384 - 2^128 - 2^96 + 2^32 - 1.
// Written by hand (scripts/generate-ec-fields.ts writes only p256.ts): products by a loop over the words of a with
// each row unrolled (row scanning), squares unrolled (column scanning), both into WIDE and one shared Solinas reduction.
// Elements are 12 little-endian u32 words holding any value below 2^384 (not necessarily below p).
import { WIDE } from "./wide";

export const P384_WORDS: i32 = 12;
export const P384_BITS: i32 = 384;
/** The field prime p. */
@lazy export const P384_P: usize = memory.data<u32>([
  0xffffffff, 0x00000000, 0x00000000, 0xffffffff, 0xfffffffe, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
]);

/** The group order n. */
@lazy export const P384_N: usize = memory.data<u32>([
  0xccc52973, 0xecec196a, 0x48b0a77a, 0x581a0db2, 0xf4372ddf, 0xc7634d81,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
]);

/** The curve coefficient b (a = -3). */
@lazy export const P384_B: usize = memory.data<u32>([
  0xd3ec2aef, 0x2a85c8ed, 0x8a2ed19d, 0xc656398d, 0x5013875a, 0x0314088f,
  0xfe814112, 0x181d9c6e, 0xe3f82d19, 0x988e056b, 0xe23ee7e4, 0xb3312fa7,
]);

/** The base point G, x. */
@lazy export const P384_GX: usize = memory.data<u32>([
  0x72760ab7, 0x3a545e38, 0xbf55296c, 0x5502f25d, 0x82542a38, 0x59f741e0,
  0x8ba79b98, 0x6e1d3b62, 0xf320ad74, 0x8eb1c71e, 0xbe8b0537, 0xaa87ca22,
]);

/** The base point G, y. */
@lazy export const P384_GY: usize = memory.data<u32>([
  0x90ea0e5f, 0x7a431d7c, 0x1d7e819d, 0x0a60b1ce, 0xb5f0b8c0, 0xe9da3113,
  0x289a147c, 0xf8f41dbd, 0x9292dc29, 0x5d9e98bf, 0x96262c6f, 0x3617de4a,
]);

/** R^2 mod n for Montgomery arithmetic mod n, R = 2^384. */
@lazy export const P384_R2N: usize = memory.data<u32>([
  0x19b409a9, 0x2d319b24, 0xdf1aa419, 0xff3d81e5, 0xfcb82947, 0xbc3e483a,
  0x4aab1cc5, 0xd40d4917, 0x28266895, 0x3fb05b7a, 0x2b39bf21, 0x0c84ee01,
]);

/** -n^-1 mod 2^32. */
export const P384_N0INV: u32 = 0xe88fdc45;

// Field operations mod p; r may alias a or b. Called through Field (ec/field.ts).

/** r = a * b mod p. */
export function p384Mul(r: usize, a: usize, b: usize): void {
  // Row i adds a_i * b into the running sum t (12 words, in locals), whose low word is then final: it goes
  // to WIDE[i] and t shifts down one word. After the last row t holds the product's words 12..23.
  let b0 = <u64>load<u32>(b, 0);
  let b1 = <u64>load<u32>(b, 4);
  let b2 = <u64>load<u32>(b, 8);
  let b3 = <u64>load<u32>(b, 12);
  let b4 = <u64>load<u32>(b, 16);
  let b5 = <u64>load<u32>(b, 20);
  let b6 = <u64>load<u32>(b, 24);
  let b7 = <u64>load<u32>(b, 28);
  let b8 = <u64>load<u32>(b, 32);
  let b9 = <u64>load<u32>(b, 36);
  let b10 = <u64>load<u32>(b, 40);
  let b11 = <u64>load<u32>(b, 44);
  let t0: u64 = 0, t1: u64 = 0, t2: u64 = 0, t3: u64 = 0, t4: u64 = 0, t5: u64 = 0, t6: u64 = 0, t7: u64 = 0, t8: u64 = 0, t9: u64 = 0, t10: u64 = 0, t11: u64 = 0;
  let w = WIDE;
  for (let end = a + 48; a < end; a += 4, w += 4) {
    let ai = <u64>load<u32>(a);
    let x = ai * b0 + t0; store<u32>(w, <u32>x); let c = x >> 32;
    x = ai * b1 + t1 + c; t0 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b2 + t2 + c; t1 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b3 + t3 + c; t2 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b4 + t4 + c; t3 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b5 + t5 + c; t4 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b6 + t6 + c; t5 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b7 + t7 + c; t6 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b8 + t8 + c; t7 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b9 + t9 + c; t8 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b10 + t10 + c; t9 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b11 + t11 + c; t10 = x & 0xFFFFFFFF; t11 = x >> 32;
  }
  store<u32>(w, <u32>t0, 0);
  store<u32>(w, <u32>t1, 4);
  store<u32>(w, <u32>t2, 8);
  store<u32>(w, <u32>t3, 12);
  store<u32>(w, <u32>t4, 16);
  store<u32>(w, <u32>t5, 20);
  store<u32>(w, <u32>t6, 24);
  store<u32>(w, <u32>t7, 28);
  store<u32>(w, <u32>t8, 32);
  store<u32>(w, <u32>t9, 36);
  store<u32>(w, <u32>t10, 40);
  store<u32>(w, <u32>t11, 44);
  p384Reduce(r, WIDE);
}

/** r = a^2 mod p. */
export function p384Sqr(r: usize, a: usize): void {
  let a0 = <u64>load<u32>(a, 0);
  let a1 = <u64>load<u32>(a, 4);
  let a2 = <u64>load<u32>(a, 8);
  let a3 = <u64>load<u32>(a, 12);
  let a4 = <u64>load<u32>(a, 16);
  let a5 = <u64>load<u32>(a, 20);
  let a6 = <u64>load<u32>(a, 24);
  let a7 = <u64>load<u32>(a, 28);
  let a8 = <u64>load<u32>(a, 32);
  let a9 = <u64>load<u32>(a, 36);
  let a10 = <u64>load<u32>(a, 40);
  let a11 = <u64>load<u32>(a, 44);
  // Column k sums the 32x32-bit products a_i a_(k-i), split into low and high halves so nothing overflows.
  let lo: u64, hi: u64, x: u64, c: u64 = 0;
  lo = 0; hi = 0;
  x = a0 * a0; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w0 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a1; lo = x & 0xFFFFFFFF; hi = x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w1 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a2; lo = x & 0xFFFFFFFF; hi = x >> 32;
  lo <<= 1; hi <<= 1;
  x = a1 * a1; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w2 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a3; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a2; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w3 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a4; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a3; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a2 * a2; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w4 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a5; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a4; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a3; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w5 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a6; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a5; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a4; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a3 * a3; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w6 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a7; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a5; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a4; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w7 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a8; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a5; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a4 * a4; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w8 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a9; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a4 * a5; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w9 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a10; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a4 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a5 * a5; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w10 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a0 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a1 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a2 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a4 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a5 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w11 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a1 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a2 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a3 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a4 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a5 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a6 * a6; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w12 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a2 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a3 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a4 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a5 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a6 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w13 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a3 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a4 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a5 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a6 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a7 * a7; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w14 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a4 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a5 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a6 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a7 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w15 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a5 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a6 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a7 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a8 * a8; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w16 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a6 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a7 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  x = a8 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w17 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a7 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a8 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  x = a9 * a9; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w18 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a8 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  x = a9 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w19 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a9 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  lo <<= 1; hi <<= 1;
  x = a10 * a10; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w20 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  x = a10 * a11; lo = x & 0xFFFFFFFF; hi = x >> 32;
  lo <<= 1; hi <<= 1;
  lo += c; let w21 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  lo = 0; hi = 0;
  x = a11 * a11; lo += x & 0xFFFFFFFF; hi += x >> 32;
  lo += c; let w22 = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;
  let w23 = c;
  store<u32>(WIDE, <u32>w0, 0);
  store<u32>(WIDE, <u32>w1, 4);
  store<u32>(WIDE, <u32>w2, 8);
  store<u32>(WIDE, <u32>w3, 12);
  store<u32>(WIDE, <u32>w4, 16);
  store<u32>(WIDE, <u32>w5, 20);
  store<u32>(WIDE, <u32>w6, 24);
  store<u32>(WIDE, <u32>w7, 28);
  store<u32>(WIDE, <u32>w8, 32);
  store<u32>(WIDE, <u32>w9, 36);
  store<u32>(WIDE, <u32>w10, 40);
  store<u32>(WIDE, <u32>w11, 44);
  store<u32>(WIDE, <u32>w12, 48);
  store<u32>(WIDE, <u32>w13, 52);
  store<u32>(WIDE, <u32>w14, 56);
  store<u32>(WIDE, <u32>w15, 60);
  store<u32>(WIDE, <u32>w16, 64);
  store<u32>(WIDE, <u32>w17, 68);
  store<u32>(WIDE, <u32>w18, 72);
  store<u32>(WIDE, <u32>w19, 76);
  store<u32>(WIDE, <u32>w20, 80);
  store<u32>(WIDE, <u32>w21, 84);
  store<u32>(WIDE, <u32>w22, 88);
  store<u32>(WIDE, <u32>w23, 92);
  p384Reduce(r, WIDE);
}

/** r = the 24-word product at w mod p. */
function p384Reduce(r: usize, w: usize): void {
  let w0 = <i64>load<u32>(w, 0);
  let w1 = <i64>load<u32>(w, 4);
  let w2 = <i64>load<u32>(w, 8);
  let w3 = <i64>load<u32>(w, 12);
  let w4 = <i64>load<u32>(w, 16);
  let w5 = <i64>load<u32>(w, 20);
  let w6 = <i64>load<u32>(w, 24);
  let w7 = <i64>load<u32>(w, 28);
  let w8 = <i64>load<u32>(w, 32);
  let w9 = <i64>load<u32>(w, 36);
  let w10 = <i64>load<u32>(w, 40);
  let w11 = <i64>load<u32>(w, 44);
  let w12 = <i64>load<u32>(w, 48);
  let w13 = <i64>load<u32>(w, 52);
  let w14 = <i64>load<u32>(w, 56);
  let w15 = <i64>load<u32>(w, 60);
  let w16 = <i64>load<u32>(w, 64);
  let w17 = <i64>load<u32>(w, 68);
  let w18 = <i64>load<u32>(w, 72);
  let w19 = <i64>load<u32>(w, 76);
  let w20 = <i64>load<u32>(w, 80);
  let w21 = <i64>load<u32>(w, 84);
  let w22 = <i64>load<u32>(w, 88);
  let w23 = <i64>load<u32>(w, 92);
  // Product = L + H 2^384; each output word is its low word plus a signed combination of the high
  // words (2^384 = c mod p applied until no position is >= 12), then carries are propagated.
  let t: i64 = 0;
  t = w0 + w12 + w20 + w21 - w23; let o0 = t & 0xFFFFFFFF;
  t = (t >> 32) + w1 - w12 + w13 - w20 + w22 + w23; let o1 = t & 0xFFFFFFFF;
  t = (t >> 32) + w2 - w13 + w14 - w21 + w23; let o2 = t & 0xFFFFFFFF;
  t = (t >> 32) + w3 + w12 - w14 + w15 + w20 + w21 - w22 - w23; let o3 = t & 0xFFFFFFFF;
  t = (t >> 32) + w4 + w12 + w13 - w15 + w16 + w20 + w21 * 2 + w22 - w23 * 2; let o4 = t & 0xFFFFFFFF;
  t = (t >> 32) + w5 + w13 + w14 - w16 + w17 + w21 + w22 * 2 + w23; let o5 = t & 0xFFFFFFFF;
  t = (t >> 32) + w6 + w14 + w15 - w17 + w18 + w22 + w23 * 2; let o6 = t & 0xFFFFFFFF;
  t = (t >> 32) + w7 + w15 + w16 - w18 + w19 + w23; let o7 = t & 0xFFFFFFFF;
  t = (t >> 32) + w8 + w16 + w17 - w19 + w20; let o8 = t & 0xFFFFFFFF;
  t = (t >> 32) + w9 + w17 + w18 - w20 + w21; let o9 = t & 0xFFFFFFFF;
  t = (t >> 32) + w10 + w18 + w19 - w21 + w22; let o10 = t & 0xFFFFFFFF;
  t = (t >> 32) + w11 + w19 + w20 - w22 + w23; let o11 = t & 0xFFFFFFFF;
  t >>= 32;
  // The signed carry t stands for t 2^384 = t c mod p: fold it back (at most three rounds).
  while (t != 0) {
    let k = t;
    t = o0 + k; o0 = t & 0xFFFFFFFF;
    t = (t >> 32) + o1 - k; o1 = t & 0xFFFFFFFF;
    t = (t >> 32) + o2; o2 = t & 0xFFFFFFFF;
    t = (t >> 32) + o3 + k; o3 = t & 0xFFFFFFFF;
    t = (t >> 32) + o4 + k; o4 = t & 0xFFFFFFFF;
    t = (t >> 32) + o5; o5 = t & 0xFFFFFFFF;
    t = (t >> 32) + o6; o6 = t & 0xFFFFFFFF;
    t = (t >> 32) + o7; o7 = t & 0xFFFFFFFF;
    t = (t >> 32) + o8; o8 = t & 0xFFFFFFFF;
    t = (t >> 32) + o9; o9 = t & 0xFFFFFFFF;
    t = (t >> 32) + o10; o10 = t & 0xFFFFFFFF;
    t = (t >> 32) + o11; o11 = t & 0xFFFFFFFF;
    t >>= 32;
  }
  store<u32>(r, <u32>o0, 0);
  store<u32>(r, <u32>o1, 4);
  store<u32>(r, <u32>o2, 8);
  store<u32>(r, <u32>o3, 12);
  store<u32>(r, <u32>o4, 16);
  store<u32>(r, <u32>o5, 20);
  store<u32>(r, <u32>o6, 24);
  store<u32>(r, <u32>o7, 28);
  store<u32>(r, <u32>o8, 32);
  store<u32>(r, <u32>o9, 36);
  store<u32>(r, <u32>o10, 40);
  store<u32>(r, <u32>o11, 44);
}

/** r = a + b mod p. */
export function p384Add(r: usize, a: usize, b: usize): void {
  let t: i64 = 0;
  t = <i64>load<u32>(a, 0) + <i64>load<u32>(b, 0); let o0 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 4) + <i64>load<u32>(b, 4); let o1 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 8) + <i64>load<u32>(b, 8); let o2 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 12) + <i64>load<u32>(b, 12); let o3 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 16) + <i64>load<u32>(b, 16); let o4 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 20) + <i64>load<u32>(b, 20); let o5 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 24) + <i64>load<u32>(b, 24); let o6 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 28) + <i64>load<u32>(b, 28); let o7 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 32) + <i64>load<u32>(b, 32); let o8 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 36) + <i64>load<u32>(b, 36); let o9 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 40) + <i64>load<u32>(b, 40); let o10 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 44) + <i64>load<u32>(b, 44); let o11 = t & 0xFFFFFFFF;
  t >>= 32;
  // The signed carry t stands for t 2^384 = t c mod p: fold it back (at most three rounds).
  while (t != 0) {
    let k = t;
    t = o0 + k; o0 = t & 0xFFFFFFFF;
    t = (t >> 32) + o1 - k; o1 = t & 0xFFFFFFFF;
    t = (t >> 32) + o2; o2 = t & 0xFFFFFFFF;
    t = (t >> 32) + o3 + k; o3 = t & 0xFFFFFFFF;
    t = (t >> 32) + o4 + k; o4 = t & 0xFFFFFFFF;
    t = (t >> 32) + o5; o5 = t & 0xFFFFFFFF;
    t = (t >> 32) + o6; o6 = t & 0xFFFFFFFF;
    t = (t >> 32) + o7; o7 = t & 0xFFFFFFFF;
    t = (t >> 32) + o8; o8 = t & 0xFFFFFFFF;
    t = (t >> 32) + o9; o9 = t & 0xFFFFFFFF;
    t = (t >> 32) + o10; o10 = t & 0xFFFFFFFF;
    t = (t >> 32) + o11; o11 = t & 0xFFFFFFFF;
    t >>= 32;
  }
  store<u32>(r, <u32>o0, 0);
  store<u32>(r, <u32>o1, 4);
  store<u32>(r, <u32>o2, 8);
  store<u32>(r, <u32>o3, 12);
  store<u32>(r, <u32>o4, 16);
  store<u32>(r, <u32>o5, 20);
  store<u32>(r, <u32>o6, 24);
  store<u32>(r, <u32>o7, 28);
  store<u32>(r, <u32>o8, 32);
  store<u32>(r, <u32>o9, 36);
  store<u32>(r, <u32>o10, 40);
  store<u32>(r, <u32>o11, 44);
}

/** r = a - b mod p. */
export function p384Sub(r: usize, a: usize, b: usize): void {
  let t: i64 = 0;
  t = <i64>load<u32>(a, 0) - <i64>load<u32>(b, 0); let o0 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 4) - <i64>load<u32>(b, 4); let o1 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 8) - <i64>load<u32>(b, 8); let o2 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 12) - <i64>load<u32>(b, 12); let o3 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 16) - <i64>load<u32>(b, 16); let o4 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 20) - <i64>load<u32>(b, 20); let o5 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 24) - <i64>load<u32>(b, 24); let o6 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 28) - <i64>load<u32>(b, 28); let o7 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 32) - <i64>load<u32>(b, 32); let o8 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 36) - <i64>load<u32>(b, 36); let o9 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 40) - <i64>load<u32>(b, 40); let o10 = t & 0xFFFFFFFF;
  t = (t >> 32) + <i64>load<u32>(a, 44) - <i64>load<u32>(b, 44); let o11 = t & 0xFFFFFFFF;
  t >>= 32;
  // The signed carry t stands for t 2^384 = t c mod p: fold it back (at most three rounds).
  while (t != 0) {
    let k = t;
    t = o0 + k; o0 = t & 0xFFFFFFFF;
    t = (t >> 32) + o1 - k; o1 = t & 0xFFFFFFFF;
    t = (t >> 32) + o2; o2 = t & 0xFFFFFFFF;
    t = (t >> 32) + o3 + k; o3 = t & 0xFFFFFFFF;
    t = (t >> 32) + o4 + k; o4 = t & 0xFFFFFFFF;
    t = (t >> 32) + o5; o5 = t & 0xFFFFFFFF;
    t = (t >> 32) + o6; o6 = t & 0xFFFFFFFF;
    t = (t >> 32) + o7; o7 = t & 0xFFFFFFFF;
    t = (t >> 32) + o8; o8 = t & 0xFFFFFFFF;
    t = (t >> 32) + o9; o9 = t & 0xFFFFFFFF;
    t = (t >> 32) + o10; o10 = t & 0xFFFFFFFF;
    t = (t >> 32) + o11; o11 = t & 0xFFFFFFFF;
    t >>= 32;
  }
  store<u32>(r, <u32>o0, 0);
  store<u32>(r, <u32>o1, 4);
  store<u32>(r, <u32>o2, 8);
  store<u32>(r, <u32>o3, 12);
  store<u32>(r, <u32>o4, 16);
  store<u32>(r, <u32>o5, 20);
  store<u32>(r, <u32>o6, 24);
  store<u32>(r, <u32>o7, 28);
  store<u32>(r, <u32>o8, 32);
  store<u32>(r, <u32>o9, 36);
  store<u32>(r, <u32>o10, 40);
  store<u32>(r, <u32>o11, 44);
}
