// Ed25519 verification (RFC 8032 §5.1.7) for JWS alg EdDSA (RFC 8037). Owns Ed25519PublicKey (the decoded
// point A and its table of odd multiples, built once at import), the base-point table and the verify
// scratch. Hostile keys and signatures give null/false, never a trap; verification allocates nothing.

// Decisions, all stricter than or equal to RFC 8032:
// - Encodings are strict: A and R must have y < p, x = 0 only with the sign bit clear, and decode to a
//   curve point; S must be below L. So a signature has exactly one accepted encoding (Wycheproof).
// - The equation is the cofactorless [S]B = R + [k]A, as OpenSSL, BoringSSL (jwt_verify_lib), Go and
//   Wycheproof expect; the cofactored [8][S]B = [8]R + [8][k]A accepts more (signatures with a torsion
//   component) and is not used.
// - Points of small order (order 1, 2, 4 or 8) are refused as A (import gives null) and as R, as
//   libsodium does. With such an A signatures can be forged without a private key (for the identity,
//   (R = [S]B, S) verifies for every message); no honest key is one (A = [a]B has order L). An honest
//   R = [r]B has small order only for r = 0 mod L. OpenSSL, BoringSSL and Go accept both.
import { Sha512 } from "./sha2";
import {
  NIELS_BYTES, initCurve, geDecode, geHasSmallOrder, geIdentity, geDouble, geAddNiels,
  geEqualsAffine, buildNielsTable,
} from "./ed25519/point";
import { scalarIsCanonical, scalarReduce512, scalarToNaf } from "./ed25519/scalar";

/** Signature bytes: R (32) || S (32). */
export const ED25519_SIGNATURE_BYTES: i32 = 64;
export const ED25519_KEY_BYTES: i32 = 32;

// NAF widths. The base-point table is static (64 odd multiples, 15 KiB, built on first use); the
// per-key table of A holds 16 odd multiples (3.75 KiB per key). Average additions per verification:
// 253 / (8 + 1) + 253 / (6 + 1), about 64, against 253 doublings.
const W_B: i32 = 8;
const W_A: i32 = 6;
const B_ENTRIES: i32 = 1 << (W_B - 2);
const A_ENTRIES: i32 = 1 << (W_A - 2);
/** Scalars are below L < 2^253. */
const SCALAR_BITS: i32 = 253;

// The base point B (RFC 8032 §5.1): y = 4/5, x even; its encoding is 58 66 66 .. 66.
@lazy const BASE_ENCODING: usize = memory.data<u8>([
  0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
  0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
]);
@lazy const B_TABLE: usize = memory.data(64 * 240, 16); // B_ENTRIES * NIELS_BYTES
let baseReady = false;

// Verify scratch. Scalars sit in 40-byte zero-padded slots (scalarToNaf reads two bytes at a time);
// HASH_K holds the 64-byte hash, reduced in place, then its bytes 32..39 are cleared.
@lazy const POINT_R: usize = memory.data(320, 16);
@lazy const POINT_ACC: usize = memory.data(320, 16);
@lazy const POINT_A: usize = memory.data(320, 16);
@lazy const HASH_K: usize = memory.data(64, 16);
@lazy const SCALAR_S: usize = memory.data(40, 16);
@lazy const NAF_S: usize = memory.data(256, 16);
@lazy const NAF_K: usize = memory.data(256, 16);
@lazy const hasher = new Sha512();

/** An imported Ed25519 public key. Immutable after import. */
export class Ed25519PublicKey {
  /** The 32-byte encoding of A (it is hashed into k). */
  readonly encoded: StaticArray<u8> = new StaticArray<u8>(32);
  /** A, 3A, 5A, ..., (2 A_ENTRIES - 1) A as Niels points. */
  readonly table: StaticArray<u8> = new StaticArray<u8>(A_ENTRIES * <i32>NIELS_BYTES);
}

function initBase(): void {
  if (baseReady) return;
  initCurve();
  geDecode(POINT_ACC, BASE_ENCODING); // a constant valid encoding
  buildNielsTable(B_TABLE, POINT_ACC, B_ENTRIES);
  baseReady = true;
}

/**
 * x must be exactly 32 bytes encoding a point (strict decoding, RFC 8032 §5.1.3) that does not have small
 * order; null otherwise. Builds the key's table of multiples (about the cost of one verification).
 */
export function importEd25519PublicKey(x: Uint8Array): Ed25519PublicKey | null {
  if (x.length != ED25519_KEY_BYTES) return null;
  initCurve();
  let p = x.dataStart;
  if (!geDecode(POINT_A, p)) return null;
  if (geHasSmallOrder(POINT_A)) return null;
  let key = new Ed25519PublicKey();
  memory.copy(changetype<usize>(key.encoded), p, 32);
  buildNielsTable(changetype<usize>(key.table), POINT_A, A_ENTRIES);
  return key;
}

/**
 * Verifies the 64-byte signature at sig over msgLen bytes at msg (both already checked to lie in memory).
 * Rejects sigLen != 64, S >= L, an R that does not decode strictly or has small order, and any signature
 * for which [S]B != R + [k]A with k = SHA-512(R || A || M) mod L.
 */
export function verifyEd25519(key: Ed25519PublicKey, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  if (sigLen != ED25519_SIGNATURE_BYTES || msgLen < 0) return false;
  if (!scalarIsCanonical(sig + 32)) return false;
  initBase();
  if (!geDecode(POINT_R, sig)) return false;
  if (geHasSmallOrder(POINT_R)) return false;

  hasher.reset();
  hasher.update(sig, 32);
  hasher.update(changetype<usize>(key.encoded), 32);
  hasher.update(msg, msgLen);
  hasher.finish(HASH_K);
  scalarReduce512(HASH_K, HASH_K);
  memory.fill(HASH_K + 32, 0, 8);
  memory.copy(SCALAR_S, sig + 32, 32);

  // R' = [S]B - [k]A by Straus' method over both NAFs: one doubling per digit position, one mixed
  // addition per nonzero digit. T is computed only where an addition follows.
  let topS = scalarToNaf(NAF_S, SCALAR_S, 0, SCALAR_BITS, W_B);
  let topK = scalarToNaf(NAF_K, HASH_K, 0, SCALAR_BITS, W_A);
  let top = topS > topK ? topS : topK;
  let acc = POINT_ACC;
  let aTable = changetype<usize>(key.table);
  geIdentity(acc);
  for (let i = top - 1; i >= 0; i--) {
    let ds = <i32>load<i8>(NAF_S + <usize>i);
    let dk = <i32>load<i8>(NAF_K + <usize>i);
    geDouble(acc, acc, (ds | dk) != 0);
    if (ds != 0) {
      let e = B_TABLE + <usize>((ds < 0 ? -ds : ds) >> 1) * NIELS_BYTES;
      geAddNiels(acc, acc, e, ds < 0, dk != 0);
    }
    if (dk != 0) {
      // Subtracting [dk]A: a positive digit subtracts the table entry, a negative one adds it.
      let e = aTable + <usize>((dk < 0 ? -dk : dk) >> 1) * NIELS_BYTES;
      geAddNiels(acc, acc, e, dk > 0, false);
    }
  }
  return geEqualsAffine(acc, POINT_R);
}
