// P-521 constants and field arithmetic mod p = 2^521 - 1.
// Written by hand (scripts/generate-ec-fields.ts writes only p256.ts): products by a loop over the words of a
// with each row unrolled (row scanning; squares: cross products by rows entered part-way, then doubled, plus the squares), then a Mersenne reduction loop.
// Elements are 17 little-endian u32 words holding any value below 2^522 (so 0, p and 2p all mean zero).
import { WIDE, sqrClear, sqrDiagonal } from "./wide";

export const P521_WORDS: i32 = 17;
export const P521_BITS: i32 = 521;
/** The field prime p. */
@lazy export const P521_P: usize = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x000001ff,
]);

/** The group order n. */
@lazy export const P521_N: usize = memory.data<u32>([
  0x91386409, 0xbb6fb71e, 0x899c47ae, 0x3bb5c9b8, 0xf709a5d0, 0x7fcc0148,
  0xbf2f966b, 0x51868783, 0xfffffffa, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x000001ff,
]);

/** The curve coefficient b (a = -3). */
@lazy export const P521_B: usize = memory.data<u32>([
  0x6b503f00, 0xef451fd4, 0x3d2c34f1, 0x3573df88, 0x3bb1bf07, 0x1652c0bd,
  0xec7e937b, 0x56193951, 0x8ef109e1, 0xb8b48991, 0x99b315f3, 0xa2da725b,
  0xb68540ee, 0x929a21a0, 0x8e1c9a1f, 0x953eb961, 0x00000051,
]);

/** The base point G, x. */
@lazy export const P521_GX: usize = memory.data<u32>([
  0xc2e5bd66, 0xf97e7e31, 0x856a429b, 0x3348b3c1, 0xa2ffa8de, 0xfe1dc127,
  0xefe75928, 0xa14b5e77, 0x6b4d3dba, 0xf828af60, 0x053fb521, 0x9c648139,
  0x2395b442, 0x9e3ecb66, 0x0404e9cd, 0x858e06b7, 0x000000c6,
]);

/** The base point G, y. */
@lazy export const P521_GY: usize = memory.data<u32>([
  0x9fd16650, 0x88be9476, 0xa272c240, 0x353c7086, 0x3fad0761, 0xc550b901,
  0x5ef42640, 0x97ee7299, 0x273e662c, 0x17afbd17, 0x579b4468, 0x98f54449,
  0x2c7d1bd9, 0x5c8a5fb4, 0x9a3bc004, 0x39296a78, 0x00000118,
]);

/** R^2 mod n for Montgomery arithmetic mod n, R = 2^544. */
@lazy export const P521_R2N: usize = memory.data<u32>([
  0x61c64ca7, 0x1163115a, 0x4374a642, 0x18354a56, 0x0791d9dc, 0x5d4dd6d3,
  0xd3402705, 0x4fb35b72, 0xb7756e3a, 0xcff3d142, 0xa8e567bc, 0x5bcc6d61,
  0x492d0d45, 0x2d8e03d1, 0x8c44383d, 0x5b5a3afe, 0x0000019a,
]);

/** -n^-1 mod 2^32. */
export const P521_N0INV: u32 = 0x79a995c7;

// Field operations mod p; r may alias a or b. Called through Field (ec/field.ts).

/** r = a * b mod p. */
export function p521Mul(r: usize, a: usize, b: usize): void {
  // Row i adds a_i * b into the running sum t (17 words, in locals), whose low word is then final: it goes
  // to WIDE[i] and t shifts down one word. After the last row t holds the product's words 17..33.
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
  let b12 = <u64>load<u32>(b, 48);
  let b13 = <u64>load<u32>(b, 52);
  let b14 = <u64>load<u32>(b, 56);
  let b15 = <u64>load<u32>(b, 60);
  let b16 = <u64>load<u32>(b, 64);
  let t0: u64 = 0, t1: u64 = 0, t2: u64 = 0, t3: u64 = 0, t4: u64 = 0, t5: u64 = 0, t6: u64 = 0, t7: u64 = 0, t8: u64 = 0, t9: u64 = 0, t10: u64 = 0, t11: u64 = 0, t12: u64 = 0, t13: u64 = 0, t14: u64 = 0, t15: u64 = 0, t16: u64 = 0;
  let w = WIDE;
  for (let end = a + 68; a < end; a += 4, w += 4) {
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
    x = ai * b11 + t11 + c; t10 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b12 + t12 + c; t11 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b13 + t13 + c; t12 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b14 + t14 + c; t13 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b15 + t15 + c; t14 = x & 0xFFFFFFFF; c = x >> 32;
    x = ai * b16 + t16 + c; t15 = x & 0xFFFFFFFF; t16 = x >> 32;
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
  store<u32>(w, <u32>t12, 48);
  store<u32>(w, <u32>t13, 52);
  store<u32>(w, <u32>t14, 56);
  store<u32>(w, <u32>t15, 60);
  store<u32>(w, <u32>t16, 64);
  p521Reduce(r, WIDE);
}

/** r = a^2 mod p. */
export function p521Sqr(r: usize, a: usize): void {
  // The cross products a_i a_j (i < j) row by row: row i enters the unrolled row at a_(i+1), accumulating into
  // WIDE[2i + 1 ..] and setting WIDE[i + 17]; then sqrDiagonal doubles them and adds the squares a_i^2.
  let w = WIDE;
  sqrClear(w, 17);
  for (let i = 0; i < 16; i++) {
    let ai = <u64>load<u32>(a + (<usize>i << 2));
    let pw = w + (<usize>i << 2);
    let c: u64 = 0, x: u64;
    switch (i) {
      case 0: x = ai * <u64>load<u32>(a, 4) + <u64>load<u32>(pw, 4) + c; store<u32>(pw, <u32>x, 4); c = x >> 32;
      case 1: x = ai * <u64>load<u32>(a, 8) + <u64>load<u32>(pw, 8) + c; store<u32>(pw, <u32>x, 8); c = x >> 32;
      case 2: x = ai * <u64>load<u32>(a, 12) + <u64>load<u32>(pw, 12) + c; store<u32>(pw, <u32>x, 12); c = x >> 32;
      case 3: x = ai * <u64>load<u32>(a, 16) + <u64>load<u32>(pw, 16) + c; store<u32>(pw, <u32>x, 16); c = x >> 32;
      case 4: x = ai * <u64>load<u32>(a, 20) + <u64>load<u32>(pw, 20) + c; store<u32>(pw, <u32>x, 20); c = x >> 32;
      case 5: x = ai * <u64>load<u32>(a, 24) + <u64>load<u32>(pw, 24) + c; store<u32>(pw, <u32>x, 24); c = x >> 32;
      case 6: x = ai * <u64>load<u32>(a, 28) + <u64>load<u32>(pw, 28) + c; store<u32>(pw, <u32>x, 28); c = x >> 32;
      case 7: x = ai * <u64>load<u32>(a, 32) + <u64>load<u32>(pw, 32) + c; store<u32>(pw, <u32>x, 32); c = x >> 32;
      case 8: x = ai * <u64>load<u32>(a, 36) + <u64>load<u32>(pw, 36) + c; store<u32>(pw, <u32>x, 36); c = x >> 32;
      case 9: x = ai * <u64>load<u32>(a, 40) + <u64>load<u32>(pw, 40) + c; store<u32>(pw, <u32>x, 40); c = x >> 32;
      case 10: x = ai * <u64>load<u32>(a, 44) + <u64>load<u32>(pw, 44) + c; store<u32>(pw, <u32>x, 44); c = x >> 32;
      case 11: x = ai * <u64>load<u32>(a, 48) + <u64>load<u32>(pw, 48) + c; store<u32>(pw, <u32>x, 48); c = x >> 32;
      case 12: x = ai * <u64>load<u32>(a, 52) + <u64>load<u32>(pw, 52) + c; store<u32>(pw, <u32>x, 52); c = x >> 32;
      case 13: x = ai * <u64>load<u32>(a, 56) + <u64>load<u32>(pw, 56) + c; store<u32>(pw, <u32>x, 56); c = x >> 32;
      case 14: x = ai * <u64>load<u32>(a, 60) + <u64>load<u32>(pw, 60) + c; store<u32>(pw, <u32>x, 60); c = x >> 32;
      case 15: x = ai * <u64>load<u32>(a, 64) + <u64>load<u32>(pw, 64) + c; store<u32>(pw, <u32>x, 64); c = x >> 32;
    }
    store<u32>(pw, <u32>c, 68);
  }
  sqrDiagonal(w, a, 17);
  p521Reduce(r, w);
}

/** r = the 34-word product at w (of two values below 2^522) mod p, below 2^522. */
function p521Reduce(r: usize, w: usize): void {
  // Product = L + H 2^521 = L + H mod p: add the bits from 521 up to the low 521 bits, then fold once more.
  let t: u64 = 0;
  for (let i: usize = 0; i < 64; i += 4) {
    let h = (load<u32>(w + i, 64) >>> 9) | (load<u32>(w + i, 68) << 23);
    t += <u64>load<u32>(w + i) + <u64>h;
    store<u32>(r + i, <u32>t);
    t >>= 32;
  }
  t += <u64>(load<u32>(w, 64) & 0x1FF) + <u64>((load<u32>(w, 128) >>> 9) | (load<u32>(w, 132) << 23));
  store<u32>(r, <u32>t, 64);
  p521Fold(r);
}

/** r = a + b mod p. */
export function p521Add(r: usize, a: usize, b: usize): void {
  // a + b < 2^523 fits the 17 words; then bits 521 and up are folded back.
  let t: u64 = 0;
  for (let i: usize = 0; i < 68; i += 4) {
    t += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(r + i, <u32>t);
    t >>= 32;
  }
  p521Fold(r);
}

/** r = a - b mod p. */
export function p521Sub(r: usize, a: usize, b: usize): void {
  // a - b + 4p, 4p = (2^523 - 1) - 3: positive and below 2^524, with a signed carry between words.
  let t: i64 = -3;
  for (let i: usize = 0; i < 64; i += 4) {
    t += <i64>load<u32>(a + i) - <i64>load<u32>(b + i) + 0xFFFFFFFF;
    store<u32>(r + i, <u32>t);
    t >>= 32;
  }
  t += <i64>load<u32>(a, 64) - <i64>load<u32>(b, 64) + 0x7FF;
  store<u32>(r, <u32>t, 64);
  p521Fold(r);
}

/** r (below 2^544) = its low 521 bits + the bits from 521 up, below 2^522. */
function p521Fold(r: usize): void {
  let top = load<u32>(r, 64);
  store<u32>(r, top & 0x1FF, 64);
  let t = <u64>(top >>> 9);
  for (let i: usize = 0; t != 0 && i < 68; i += 4) {
    t += <u64>load<u32>(r + i);
    store<u32>(r + i, <u32>t);
    t >>= 32;
  }
}
