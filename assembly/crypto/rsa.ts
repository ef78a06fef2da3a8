// RSA public keys and RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) for RS256/RS384/RS512.
// Owns RsaPublicKey (all per-key precomputation, done once at import) and the verify-time scratch.
// Hostile input gives null/false, never a trap; verification allocates nothing.
import { HashAlg, hashLength, digestInto, MAX_HASH_LENGTH } from "./sha2";
import {
  MontModulus, createMontModulus, bitLengthOf, bytesToLimbs, limbsToBytes, montMul, montSqr, reduceLimbs,
  MAX_LIMBS,
} from "./bignum";

/** Smallest accepted modulus (RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"). */
export const MIN_RSA_MODULUS_BITS: i32 = 2048;
export const MAX_RSA_MODULUS_BITS: i32 = 8192;
const MAX_RSA_MODULUS_BYTES: i32 = MAX_RSA_MODULUS_BITS / 8;

// Verify-time scratch: signature limbs, working value, decoded block, expected block, digest.
@lazy const SIG_LIMBS: usize = memory.data(MAX_LIMBS * 4, 16);
@lazy const ACC_LIMBS: usize = memory.data(MAX_LIMBS * 4, 16);
@lazy const EM_BYTES: usize = memory.data(MAX_RSA_MODULUS_BYTES, 16);
@lazy const EXPECTED_BYTES: usize = memory.data(MAX_RSA_MODULUS_BYTES, 16);
@lazy const DIGEST_BYTES: usize = memory.data(MAX_HASH_LENGTH, 16);

// DER DigestInfo prefixes, RFC 8017 §9.2 note 1: SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING }.
// Only the form with the explicit NULL parameter is produced, so signatures whose DigestInfo omits it
// (Wycheproof "MissingNull") do not match.
@lazy const PREFIX_SHA256: usize = memory.data<u8>([
  0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
]);
@lazy const PREFIX_SHA384: usize = memory.data<u8>([
  0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30,
]);
@lazy const PREFIX_SHA512: usize = memory.data<u8>([
  0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40,
]);
const PREFIX_LENGTH: i32 = 19;

/** An imported RSA public key with its Montgomery context. Immutable after import. */
export class RsaPublicKey {
  /** Modulus, big-endian, without leading zero bytes (byteLength bytes). */
  modulus: StaticArray<u8>;
  mont: MontModulus;
  byteLength: i32;
  bitLength: i32;
  /** 3 or 65537. */
  exponent: u32;
  /** e = 2^squarings + 1: 1 for e = 3, 16 for e = 65537. */
  squarings: i32;

  constructor(modulus: StaticArray<u8>, mont: MontModulus, exponent: u32, squarings: i32) {
    this.modulus = modulus;
    this.mont = mont;
    this.byteLength = modulus.length;
    this.bitLength = mont.bitLength;
    this.exponent = exponent;
    this.squarings = squarings;
  }
}

/**
 * Imports (n, e) given as big-endian bytes. Leading zero bytes are allowed in both. Null for an even
 * modulus, a modulus outside 2048..8192 bits, or e other than 3 or 65537 (as jwt_verify_lib).
 */
export function importRsaPublicKey(n: Uint8Array, e: Uint8Array): RsaPublicKey | null {
  if (n.length == 0 || e.length == 0) return null;
  let ep = e.dataStart;
  let elen = e.length;
  let skip = 0;
  while (skip < elen && load<u8>(ep + <usize>skip) == 0) skip++;
  let ebytes = elen - skip;
  let exponent: u32 = 0;
  let squarings = 0;
  if (ebytes == 1 && load<u8>(ep + <usize>skip) == 3) {
    exponent = 3;
    squarings = 1;
  } else if (ebytes == 3 && load<u8>(ep + <usize>skip) == 1 && load<u8>(ep + <usize>skip + 1) == 0
    && load<u8>(ep + <usize>skip + 2) == 1) {
    exponent = 65537;
    squarings = 16;
  } else {
    return null;
  }
  let np = n.dataStart;
  let nlen = n.length;
  let bits = bitLengthOf(np, nlen);
  if (bits < MIN_RSA_MODULUS_BITS || bits > MAX_RSA_MODULUS_BITS) return null;
  let k = (bits + 7) >> 3;
  let start = nlen - k;
  let mont = createMontModulus(np + <usize>start, k); // null if even
  if (mont === null) return null;
  let modulus = new StaticArray<u8>(k);
  memory.copy(changetype<usize>(modulus), np + <usize>start, <usize>k);
  return new RsaPublicKey(modulus, mont, exponent, squarings);
}

/** Verifies an RSASSA-PKCS1-v1_5 signature over msgLen bytes at msg, hashing them with `hash`. */
export function verifyRsaPkcs1v15(key: RsaPublicKey, hash: HashAlg, msg: usize, msgLen: i32,
  sig: usize, sigLen: i32): bool {
  if (hashLength(hash) == 0 || msgLen < 0) return false;
  if (sigLen != key.byteLength) return false; // cheap rejection before hashing
  digestInto(hash, msg, msgLen, DIGEST_BYTES);
  return verifyRsaPkcs1v15Digest(key, hash, DIGEST_BYTES, sig, sigLen);
}

/**
 * Verifies an RSASSA-PKCS1-v1_5 signature over a precomputed digest (hashLength(hash) bytes at digest).
 * The signature must be exactly byteLength bytes and, as an integer, below n (RFC 8017 §5.2.2).
 */
export function verifyRsaPkcs1v15Digest(key: RsaPublicKey, hash: HashAlg, digest: usize,
  sig: usize, sigLen: i32): bool {
  let hlen = hashLength(hash);
  let k = key.byteLength;
  if (hlen == 0 || sigLen != k) return false;
  // Block layout 00 01 FF..FF 00 DigestInfo: needs at least 8 bytes of FF (RFC 8017 §9.2 step 5).
  if (k < PREFIX_LENGTH + hlen + 11) return false;
  if (!isBelowModulus(key, sig)) return false;

  let mod = key.mont;
  let s = SIG_LIMBS;
  let x = ACC_LIMBS;
  if (!bytesToLimbs(mod, s, sig, sigLen)) return false;
  // e = 2^q + 1: x = s*R (Montgomery form), q squarings give s^(2^q) * R, and one Montgomery
  // product with the plain s leaves s^(2^q + 1) = s^e out of Montgomery form.
  montMul(mod, x, s, changetype<usize>(mod.r2));
  for (let i = 0, q = key.squarings; i < q; i++) montSqr(mod, x, x);
  montMul(mod, x, x, s);
  reduceLimbs(mod, x);
  limbsToBytes(mod, EM_BYTES, x, k);

  buildExpectedBlock(hash, digest, k);
  let diff: u32 = 0;
  for (let i = 0; i < k; i++) {
    diff |= <u32>(load<u8>(EM_BYTES + <usize>i) ^ load<u8>(EXPECTED_BYTES + <usize>i));
  }
  return diff == 0;
}

// sig (exactly byteLength bytes, big-endian) < n, compared bytewise from the top.
function isBelowModulus(key: RsaPublicKey, sig: usize): bool {
  let n = changetype<usize>(key.modulus);
  for (let i = 0, k = key.byteLength; i < k; i++) {
    let a = load<u8>(sig + <usize>i);
    let b = load<u8>(n + <usize>i);
    if (a != b) return a < b;
  }
  return false; // equal to n
}

// EMSA-PKCS1-v1_5 encoding (RFC 8017 §9.2) of the digest, k bytes, into EXPECTED_BYTES.
function buildExpectedBlock(hash: HashAlg, digest: usize, k: i32): void {
  let hlen = hashLength(hash);
  let prefix = hash == HashAlg.SHA256 ? PREFIX_SHA256 : hash == HashAlg.SHA384 ? PREFIX_SHA384 : PREFIX_SHA512;
  let out = EXPECTED_BYTES;
  let tlen = PREFIX_LENGTH + hlen;
  let ps = k - 3 - tlen;
  store<u8>(out, 0x00);
  store<u8>(out, 0x01, 1);
  memory.fill(out + 2, 0xFF, <usize>ps);
  store<u8>(out + 2 + <usize>ps, 0x00);
  memory.copy(out + 3 + <usize>ps, prefix, <usize>PREFIX_LENGTH);
  memory.copy(out + 3 + <usize>ps + <usize>PREFIX_LENGTH, digest, <usize>hlen);
}
