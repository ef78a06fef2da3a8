// Points of edwards25519 (-x^2 + y^2 = 1 + d x^2 y^2 mod 2^255 - 19): strict decoding (RFC 8032 §5.1.3),
// doubling and additions in extended coordinates, tables of odd multiples. Owns the curve constants and
// the point scratch; variable time (verification has no secrets), no allocation, no traps.
import {
  FE_BYTES, feMul, feSq, feSq2, feAdd, feSub, feNeg, feCarry, feCopy, feSetSmall, feFromBytes,
  feBytesAreCanonical, feIsZero, feIsOdd, feEqual, feInvert, fePow22523,
} from "./field";

// An extended point (X : Y : Z : T) with x = X/Z, y = Y/Z, xy = T/Z (Hisil-Wong-Carter-Dawson 2008),
// four elements in a row. A Niels point is an affine point stored as (y + x, y - x, 2dxy), which makes a
// mixed addition 7 multiplications.
export const POINT_BYTES: usize = 4 * FE_BYTES;
export const NIELS_BYTES: usize = 3 * FE_BYTES;
const X_: usize = 0;
const Y_: usize = FE_BYTES;
const Z_: usize = 2 * FE_BYTES;
const T_: usize = 3 * FE_BYTES;

/** Largest table buildNielsTable accepts (entries). */
export const MAX_TABLE_ENTRIES: i32 = 64;

// Curve constants, computed by initCurve from their definitions (RFC 8032 §5.1).
@lazy const D: usize = memory.data(80, 16);       // d = -121665 / 121666
@lazy const D2: usize = memory.data(80, 16);      // 2d
@lazy const SQRTM1: usize = memory.data(80, 16);  // a square root of -1: 2^((p - 1) / 4)
let curveReady = false;

// Scratch elements for point formulas and decoding.
@lazy const FA: usize = memory.data(80 * 8, 16);
@lazy const FB: usize = FA + 80;
@lazy const FC: usize = FA + 160;
@lazy const FD: usize = FA + 240;
@lazy const FE: usize = FA + 320;
@lazy const FF: usize = FA + 400;
@lazy const FG: usize = FA + 480;
@lazy const FH: usize = FA + 560;
@lazy const PQ: usize = memory.data(320, 16);                 // a scratch point
@lazy const EXT: usize = memory.data(64 * 320, 16);           // table building: extended multiples
@lazy const PREFIX: usize = memory.data(64 * 80, 16);         // table building: products of the Zs
// (64 = MAX_TABLE_ENTRIES; memory.data needs a literal size.)

/** Computes d, 2d and sqrt(-1) once. Cheap after the first call. */
export function initCurve(): void {
  if (curveReady) return;
  feSetSmall(FA, 121666);
  feInvert(FA, FA);
  feSetSmall(FB, 121665);
  feMul(FA, FA, FB);
  feNeg(D, FA);
  feCarry(D, D);
  feAdd(D2, D, D);
  feCarry(D2, D2);
  // 2 is not a square mod p (p = 5 mod 8), so 2^((p-1)/2) = -1 and 2^((p-1)/4) squares to -1.
  // (p - 1) / 4 = 2^253 - 5 = 2 (2^252 - 3) + 1.
  feSetSmall(FA, 2);
  fePow22523(FB, FA);
  feSq(FB, FB);
  feMul(SQRTM1, FB, FA);
  curveReady = true;
}

/** The identity (0 : 1 : 1 : 0). */
export function geIdentity(p: usize): void {
  feSetSmall(p + X_, 0);
  feSetSmall(p + Y_, 1);
  feSetSmall(p + Z_, 1);
  feSetSmall(p + T_, 0);
}

/**
 * Strict decoding of the 32 bytes at s into the extended point p (RFC 8032 §5.1.3): false if
 * y >= p, if (y^2 - 1) / (d y^2 + 1) has no square root, or if x = 0 with the sign bit set.
 * Reads exactly s .. s + 31. initCurve() must have run.
 */
export function geDecode(p: usize, s: usize): bool {
  if (!feBytesAreCanonical(s)) return false;
  let sign = (load<u8>(s, 31) >> 7) != 0;
  let y = p + Y_;
  let x = p + X_;
  feFromBytes(y, s);
  // u = y^2 - 1 (FA), v = d y^2 + 1 (FB).
  feSq(FA, y);
  feMul(FB, FA, D);
  store<i64>(FA, load<i64>(FA) - 1);
  store<i64>(FB, load<i64>(FB) + 1);
  // Candidate x = u v^3 (u v^7)^((p - 5) / 8).
  feSq(FC, FB);
  feMul(FC, FC, FB);        // v^3
  feSq(FD, FC);
  feMul(FD, FD, FB);        // v^7
  feMul(FD, FD, FA);        // u v^7
  fePow22523(FD, FD);
  feMul(FD, FD, FC);
  feMul(x, FD, FA);         // u v^3 (u v^7)^((p-5)/8)
  // v x^2 = u: x is a root; v x^2 = -u: x sqrt(-1) is; otherwise u/v is not a square.
  feSq(FC, x);
  feMul(FC, FC, FB);
  if (!feEqual(FC, FA)) {
    feAdd(FC, FC, FA);
    if (!feIsZero(FC)) return false;
    feMul(x, x, SQRTM1);
  }
  let odd = feIsOdd(x);
  if (!odd && sign && feIsZero(x)) return false;
  if (odd != sign) {
    feNeg(x, x);
  }
  feSetSmall(p + Z_, 1);
  feMul(p + T_, x, y);
  return true;
}

/**
 * r = 2p (dbl-2008-hwcd with a = -1). T of p is not read; T of r is computed only if withT (an
 * addition follows). r may alias p. Growth: E = (X+Y)^2 - X^2 - Y^2 is 3 reduced elements, F = Y^2 -
 * X^2 - 2Z^2 is 3 (2Z^2 comes reduced from feSq2), so the largest product factor is 9 (see field.ts).
 */
export function geDouble(r: usize, p: usize, withT: bool): void {
  let x = p + X_, y = p + Y_, z = p + Z_;
  feSq(FA, x);              // A = X^2
  feSq(FB, y);              // B = Y^2
  feSq2(FC, z);             // C = 2 Z^2
  feAdd(FD, x, y);
  feSq(FD, FD);             // (X + Y)^2
  // H = -A - B, E = (X + Y)^2 + H, G = B - A, F = G - C.
  for (let i: usize = 0; i < 80; i += 8) {
    let a = load<i64>(FA + i), b = load<i64>(FB + i);
    let h = -a - b;
    let g = b - a;
    store<i64>(FH + i, h);
    store<i64>(FE + i, load<i64>(FD + i) + h);
    store<i64>(FG + i, g);
    store<i64>(FF + i, g - load<i64>(FC + i));
  }
  feMul(r + X_, FE, FF);
  feMul(r + Y_, FG, FH);
  feMul(r + Z_, FF, FG);
  if (withT) feMul(r + T_, FE, FH);
}

/**
 * r = p + q (or p - q if negate) for an extended p and a Niels q (madd-2008-hwcd with a = -1; -q swaps
 * y + x with y - x and negates 2dxy). T of r is computed only if withT. r may alias p.
 */
export function geAddNiels(r: usize, p: usize, q: usize, negate: bool, withT: bool): void {
  let x = p + X_, y = p + Y_;
  feAdd(FA, y, x);
  feSub(FB, y, x);
  if (negate) {
    feMul(FA, FA, q + FE_BYTES);      // (Y + X)(y - x)
    feMul(FB, FB, q);                 // (Y - X)(y + x)
  } else {
    feMul(FA, FA, q);                 // B = (Y + X)(y + x)
    feMul(FB, FB, q + FE_BYTES);      // A = (Y - X)(y - x)
  }
  feMul(FC, p + T_, q + 2 * FE_BYTES); // C = T 2dxy (negated when subtracting)
  feAdd(FD, p + Z_, p + Z_);           // D = 2Z
  // E = B - A, H = B + A, F = D - C, G = D + C (F and G swap when C is negated).
  feSub(FE, FA, FB);
  feAdd(FH, FA, FB);
  if (negate) {
    feAdd(FF, FD, FC);
    feSub(FG, FD, FC);
  } else {
    feSub(FF, FD, FC);
    feAdd(FG, FD, FC);
  }
  feMul(r + X_, FE, FF);
  feMul(r + Y_, FG, FH);
  feMul(r + Z_, FF, FG);
  if (withT) feMul(r + T_, FE, FH);
}

/** r = p + q for extended p and q (add-2008-hwcd-3 with k = 2d), T included. r may alias p or q. */
export function geAdd(r: usize, p: usize, q: usize): void {
  feSub(FA, p + Y_, p + X_);
  feSub(FB, q + Y_, q + X_);
  feMul(FA, FA, FB);                   // A = (Y1 - X1)(Y2 - X2)
  feAdd(FB, p + Y_, p + X_);
  feAdd(FC, q + Y_, q + X_);
  feMul(FB, FB, FC);                   // B = (Y1 + X1)(Y2 + X2)
  feMul(FC, p + T_, q + T_);
  feMul(FC, FC, D2);                   // C = 2d T1 T2
  feMul(FD, p + Z_, q + Z_);
  feAdd(FD, FD, FD);                   // D = 2 Z1 Z2
  feSub(FE, FB, FA);
  feAdd(FH, FB, FA);
  feSub(FF, FD, FC);
  feAdd(FG, FD, FC);
  feMul(r + X_, FE, FF);
  feMul(r + Y_, FG, FH);
  feMul(r + Z_, FF, FG);
  feMul(r + T_, FE, FH);
}

/** True if p has order 1, 2, 4 or 8, i.e. [8]p is the identity (x of [8]p is 0 only for the identity). */
export function geHasSmallOrder(p: usize): bool {
  geDouble(PQ, p, false);
  geDouble(PQ, PQ, false);
  geDouble(PQ, PQ, false);
  return feIsZero(PQ + X_);
}

/** True if the extended point p equals the affine point (x, y) stored as an extended point q with Z = 1. */
export function geEqualsAffine(p: usize, q: usize): bool {
  feMul(FA, q + X_, p + Z_);
  if (!feEqual(FA, p + X_)) return false;
  feMul(FA, q + Y_, p + Z_);
  return feEqual(FA, p + Y_);
}

/**
 * Writes the odd multiples p, 3p, 5p, ..., (2 count - 1) p of the extended point p (not the identity
 * or a point of small order, so no Z is 0) as Niels points to out (count * NIELS_BYTES bytes), with one
 * inversion for all of them (Montgomery's trick). 1 <= count <= MAX_TABLE_ENTRIES.
 */
export function buildNielsTable(out: usize, p: usize, count: i32): void {
  if (count < 1 || count > MAX_TABLE_ENTRIES) return;
  memory.copy(EXT, p, POINT_BYTES);
  geDouble(PQ, p, true);
  for (let i = 1; i < count; i++) {
    geAdd(EXT + <usize>i * POINT_BYTES, EXT + <usize>(i - 1) * POINT_BYTES, PQ);
  }
  // PREFIX[i] = Z_0 Z_1 ... Z_i; then walk back with inv = (Z_0 ... Z_i)^-1.
  feCopy(PREFIX, EXT + Z_);
  for (let i = 1; i < count; i++) {
    feMul(PREFIX + <usize>i * FE_BYTES, PREFIX + <usize>(i - 1) * FE_BYTES, EXT + <usize>i * POINT_BYTES + Z_);
  }
  let inv = FG;
  feInvert(inv, PREFIX + <usize>(count - 1) * FE_BYTES);
  for (let i = count - 1; i >= 0; i--) {
    let e = EXT + <usize>i * POINT_BYTES;
    let zinv = FH;
    if (i > 0) {
      feMul(zinv, inv, PREFIX + <usize>(i - 1) * FE_BYTES);
      feMul(inv, inv, e + Z_);
    } else {
      feCopy(zinv, inv);
    }
    let n = out + <usize>i * NIELS_BYTES;
    feMul(FA, e + X_, zinv);           // x
    feMul(FB, e + Y_, zinv);           // y
    feAdd(n, FB, FA);
    feCarry(n, n);
    feSub(n + FE_BYTES, FB, FA);
    feCarry(n + FE_BYTES, n + FE_BYTES);
    feMul(FC, FA, FB);
    feMul(n + 2 * FE_BYTES, FC, D2);
  }
}
