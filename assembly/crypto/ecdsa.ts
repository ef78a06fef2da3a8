// ECDSA verification on P-256, P-384 and P-521 (FIPS 186-4 §6.4; SEC 1 v2 §4.1.4) for ES256/ES384/ES512,
// signatures in the JWS form r||s (RFC 7518 §3.4). Owns EcPublicKey (key checks and the per-key window
// table, made once at import), the base-point tables and the verify-time scratch. Never traps on any input.
import { HashAlg, hashLength, digestInto, MAX_HASH_LENGTH } from "./sha2";
import {
  MAX_WORDS, addWords, cmpWords, invMod, isZeroWords, montMulMod, shiftRightWords, subWords, wordsFromBytes,
} from "./ec/words";
import { buildTable, doubleScalarMul, feEqual, isOnCurve, wnaf } from "./ec/point";
import { FIELD_P256, FIELD_P384, FIELD_P521, Field } from "./ec/field";
import { P256_B, P256_BITS, P256_GX, P256_GY, P256_N, P256_N0INV, P256_R2N } from "./ec/p256";
import { P384_B, P384_BITS, P384_GX, P384_GY, P384_N, P384_N0INV, P384_R2N } from "./ec/p384";
import { P521_B, P521_BITS, P521_GX, P521_GY, P521_N, P521_N0INV, P521_R2N } from "./ec/p521";

/** The same numbering as FieldId (ec/field.ts). */
export const enum Curve { P256 = 0, P384 = 1, P521 = 2 }

/** Coordinate / scalar byte length: 32, 48, 66 (0 for a value that is not a Curve). */
export function curveByteLength(c: Curve): i32 {
  return c == Curve.P256 ? 32 : c == Curve.P384 ? 48 : c == Curve.P521 ? 66 : 0;
}

// Scalar multiplication layout. A scalar below n < 2^bits is recoded as one wNAF of SEGMENTS * segBits
// digits (segBits = ceil((bits + 1) / SEGMENTS), room for the final carry); digit j * segBits + i is
// applied at step i against a table of odd multiples of 2^(j segBits) times the point, so the main loop
// runs segBits doublings instead of bits. G uses wider windows (fewer additions) since its table is shared.
// P-256: 32 doublings and about 32 + 37 mixed additions per verification. Tables: G 16/24/35 KB per curve
// (P-256/384/521), Q 8/12/17 KB per key. Every entry is a nonzero multiple below n of a point of order n
// (below 2^6 2^(7 segBits) = 2^237, 2^349, 2^468 < n), so no table point is infinity.
const SEGMENTS: i32 = 8;
const G_WINDOW: i32 = 7;
const Q_WINDOW: i32 = 6;
const G_ENTRIES: i32 = 1 << (G_WINDOW - 2);
const Q_ENTRIES: i32 = 1 << (Q_WINDOW - 2);

@inline function segBitsOf(bits: i32): i32 {
  return (bits + 1 + SEGMENTS - 1) / SEGMENTS; // 33, 49, 66
}

// Verify-time scratch (one verification at a time; the VM is single-threaded).
const W_BYTES: i32 = MAX_WORDS * 4;
@lazy const DIGEST: usize = memory.data(MAX_HASH_LENGTH, 16);
@lazy const R_W: usize = memory.data(W_BYTES, 16);
@lazy const S_W: usize = memory.data(W_BYTES, 16);
@lazy const E_W: usize = memory.data(W_BYTES, 16);
@lazy const INV_W: usize = memory.data(W_BYTES, 16);
@lazy const U1_W: usize = memory.data(W_BYTES, 16);
@lazy const U2_W: usize = memory.data(W_BYTES, 16);
@lazy const RN_W: usize = memory.data(W_BYTES, 16);
@lazy const Z2_W: usize = memory.data(W_BYTES, 16);
@lazy const T_W: usize = memory.data(W_BYTES, 16);
@lazy const X_W: usize = memory.data(W_BYTES, 16);
@lazy const Y_W: usize = memory.data(W_BYTES, 16);
@lazy const ACC: usize = memory.data(W_BYTES * 3, 16);
// Digit buffers: SEGMENTS * segBits <= 521 + SEGMENTS bytes for the largest curve.
const MAX_DIGITS: i32 = 521 + 1 + SEGMENTS;
@lazy const DIGITS_G: usize = memory.data(MAX_DIGITS, 16);
@lazy const DIGITS_Q: usize = memory.data(MAX_DIGITS, 16);

/** A curve's field and constants (FIPS 186-4 D.1.2); the code below is shared by the three curves. */
@final class CurveParams {
  field: Field;
  n: usize;
  n0inv: u32;
  r2n: usize;
  b: usize;
  gx: usize;
  gy: usize;
  bits: i32;
  /** Base-point table (SEGMENTS * G_ENTRIES affine points), built on first use of the curve. */
  gTable: StaticArray<u32> | null = null;

  constructor(field: Field, n: usize, n0inv: u32, r2n: usize, b: usize, gx: usize, gy: usize, bits: i32) {
    this.field = field;
    this.n = n;
    this.n0inv = n0inv;
    this.r2n = r2n;
    this.b = b;
    this.gx = gx;
    this.gy = gy;
    this.bits = bits;
  }
}

@lazy const CURVE_P256 = new CurveParams(FIELD_P256, P256_N, P256_N0INV, P256_R2N, P256_B, P256_GX, P256_GY, P256_BITS);
@lazy const CURVE_P384 = new CurveParams(FIELD_P384, P384_N, P384_N0INV, P384_R2N, P384_B, P384_GX, P384_GY, P384_BITS);
@lazy const CURVE_P521 = new CurveParams(FIELD_P521, P521_N, P521_N0INV, P521_R2N, P521_B, P521_GX, P521_GY, P521_BITS);

function paramsOf(c: Curve): CurveParams {
  return c == Curve.P256 ? CURVE_P256 : c == Curve.P384 ? CURVE_P384 : CURVE_P521;
}

/** An imported public key: the curve and its window table. Immutable after import. */
export class EcPublicKey {
  curve: Curve;
  /** Affine (2i + 1) * 2^(j segBits) * Q for segment j < SEGMENTS, i < Q_ENTRIES: x then y, words each. */
  table: StaticArray<u32>;

  constructor(curve: Curve, table: StaticArray<u32>) {
    this.curve = curve;
    this.table = table;
  }
}

function makeTable(f: Field, x: usize, y: usize, bits: i32, entries: i32): StaticArray<u32> | null {
  let table = new StaticArray<u32>(SEGMENTS * entries * 2 * f.words);
  if (!buildTable(f, changetype<usize>(table), x, y, SEGMENTS, segBitsOf(bits), entries)) return null;
  return table;
}

// The base-point table of a curve, built once.
function baseTable(cp: CurveParams): StaticArray<u32> | null {
  let t = cp.gTable;
  if (t === null) cp.gTable = t = makeTable(cp.field, cp.gx, cp.gy, cp.bits, G_ENTRIES);
  return t;
}

/**
 * x, y big-endian, each exactly curveByteLength bytes (RFC 7518 §6.2.1.2); null unless both are below p
 * and (x, y) is on the curve (which excludes the point at infinity: it has no affine coordinates, and
 * the cofactor is 1, so every other curve point has order n).
 */
export function importEcPublicKey(curve: Curve, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
  let len = curveByteLength(curve);
  if (len == 0 || x.length != len || y.length != len) return null;
  let cp = paramsOf(curve);
  if (baseTable(cp) === null) return null;
  let f = cp.field;
  let nw = f.words;
  if (!wordsFromBytes(X_W, x.dataStart, x.length, nw) || !wordsFromBytes(Y_W, y.dataStart, y.length, nw)) return null;
  if (cmpWords(X_W, f.p, nw) >= 0 || cmpWords(Y_W, f.p, nw) >= 0) return null;
  if (!isOnCurve(f, X_W, Y_W, cp.b)) return null;
  let table = makeTable(f, X_W, Y_W, cp.bits, Q_ENTRIES);
  if (table === null) return null;
  return new EcPublicKey(curve, table);
}

/**
 * Verifies an ECDSA signature over msgLen bytes at msg, hashed with `hash`. sig must be r||s, each exactly
 * curveByteLength bytes, with r, s in [1, n-1]. The digest is truncated to the bit length of n (no-op for
 * ES256/384/512, where they match or the digest is shorter) and reduced mod n.
 */
export function verifyEcdsa(key: EcPublicKey, hash: HashAlg, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  let hlen = hashLength(hash);
  let len = curveByteLength(key.curve);
  if (hlen == 0 || len == 0 || msgLen < 0 || sigLen != 2 * len) return false;
  let cp = paramsOf(key.curve);
  let g = baseTable(cp);
  if (g === null) return false;
  digestInto(hash, msg, msgLen, DIGEST);
  return verifyWith(cp, changetype<usize>(key.table), changetype<usize>(g), hlen, sig, len);
}

// True if 0 < v < n.
@inline function inScalarRange(v: usize, n: usize, nw: i32): bool {
  return !isZeroWords(v, nw) && cmpWords(v, n, nw) < 0;
}

function verifyWith(cp: CurveParams, qTable: usize, gTable: usize, hlen: i32, sig: usize, len: i32): bool {
  let f = cp.field;
  let nw = f.words;
  let p = f.p, n = cp.n, n0inv = cp.n0inv, r2n = cp.r2n, bits = cp.bits;
  wordsFromBytes(R_W, sig, len, nw); // len <= 4 nw: always fits
  wordsFromBytes(S_W, sig + <usize>len, len, nw);
  if (!inScalarRange(R_W, n, nw) || !inScalarRange(S_W, n, nw)) return false;

  // e = the leftmost `bits` bits of the digest, reduced mod n (e < 2^bits < 2n: one subtraction).
  wordsFromBytes(E_W, DIGEST, hlen, MAX_WORDS);
  let excess = hlen * 8 - bits;
  if (excess > 0) shiftRightWords(E_W, excess, MAX_WORDS);
  if (cmpWords(E_W, n, nw) >= 0) subWords(E_W, E_W, n, nw);

  // u1 = e / s, u2 = r / s mod n; each Montgomery product by R^2 cancels the 1/R of the one before.
  if (!invMod(INV_W, S_W, n, nw)) return false;
  montMulMod(U1_W, E_W, INV_W, n, n0inv, nw);
  montMulMod(U1_W, U1_W, r2n, n, n0inv, nw);
  montMulMod(U2_W, R_W, INV_W, n, n0inv, nw);
  montMulMod(U2_W, U2_W, r2n, n, n0inv, nw);

  let segBits = segBitsOf(bits);
  wnaf(DIGITS_G, U1_W, nw, G_WINDOW, SEGMENTS * segBits);
  wnaf(DIGITS_Q, U2_W, nw, Q_WINDOW, SEGMENTS * segBits);
  if (!doubleScalarMul(f, ACC, DIGITS_G, gTable, G_ENTRIES, DIGITS_Q, qTable, Q_ENTRIES, SEGMENTS, segBits)) {
    return false;
  }

  // x(R) mod n == r without leaving Jacobian coordinates: x = X / Z^2 < p, and since n < p the candidates
  // are x = r and, when r + n < p, x = r + n. Check X == r Z^2 (mod p) for each.
  let fb = <usize>nw << 2;
  f.sqr(Z2_W, ACC + 2 * fb);
  f.mul(T_W, R_W, Z2_W);
  if (feEqual(f, T_W, ACC)) return true;
  if (addWords(RN_W, R_W, n, nw) == 0 && cmpWords(RN_W, p, nw) < 0) {
    f.mul(T_W, RN_W, Z2_W);
    if (feEqual(f, T_W, ACC)) return true;
  }
  return false;
}
