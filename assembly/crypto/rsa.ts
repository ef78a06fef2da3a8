// RSA public keys and signature verification: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2, RS256/384/512) and
// RSASSA-PSS (§8.1.2, PS256/384/512). Owns RsaPublicKey (all per-key precomputation, done once at import)
// and the verify-time scratch. Hostile input gives null/false, never a trap; verification allocates nothing.
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
// PSS scratch: the MGF1 input H || counter, one MGF1 output block, M' = 0^8 || mHash || salt, and H'.
@lazy const MGF_SEED: usize = memory.data(MAX_HASH_LENGTH + 4, 16);
@lazy const MGF_BLOCK: usize = memory.data(MAX_HASH_LENGTH, 16);
@lazy const M_PRIME: usize = memory.data(8 + 2 * MAX_HASH_LENGTH, 16);
@lazy const H_PRIME: usize = memory.data(MAX_HASH_LENGTH, 16);

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
  if (!publicOperation(key, sig, sigLen)) return false;

  buildExpectedBlock(hash, digest, k);
  let diff: u32 = 0;
  for (let i = 0; i < k; i++) {
    diff |= <u32>(load<u8>(EM_BYTES + <usize>i) ^ load<u8>(EXPECTED_BYTES + <usize>i));
  }
  return diff == 0;
}

// RSAVP1 (RFC 8017 §5.2.2): EM_BYTES = sig^e mod n as byteLength big-endian bytes. False when sig is not
// exactly byteLength bytes or, as an integer, is not below n.
function publicOperation(key: RsaPublicKey, sig: usize, sigLen: i32): bool {
  let k = key.byteLength;
  if (sigLen != k || !isBelowModulus(key, sig)) return false;
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
  return true;
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


/**
 * Verifies an RSASSA-PSS signature (RFC 8017 §8.1.2) over msgLen bytes at msg for PS256/PS384/PS512:
 * MGF1 with the same hash and a salt exactly as long as the hash (RFC 7518 §3.5).
 */
export function verifyRsaPss(key: RsaPublicKey, hash: HashAlg, msg: usize, msgLen: i32,
  sig: usize, sigLen: i32): bool {
  if (hashLength(hash) == 0 || msgLen < 0) return false;
  if (sigLen != key.byteLength) return false; // cheap rejection before hashing
  digestInto(hash, msg, msgLen, DIGEST_BYTES);
  return verifyRsaPssDigest(key, hash, DIGEST_BYTES, sig, sigLen);
}

/**
 * Verifies an RSASSA-PSS signature over a precomputed message digest (hashLength(hash) bytes at digest):
 * RSAVP1, then EMSA-PSS-VERIFY (RFC 8017 §9.1.2) with emBits = modBits - 1 and sLen = hLen.
 */
export function verifyRsaPssDigest(key: RsaPublicKey, hash: HashAlg, digest: usize,
  sig: usize, sigLen: i32): bool {
  let hlen = hashLength(hash);
  let k = key.byteLength;
  if (hlen == 0 || sigLen != k) return false;
  let slen = hlen;
  let emBits = key.bitLength - 1;
  let emLen = (emBits + 7) >> 3;
  // §9.1.2 step 3.
  if (emLen < hlen + slen + 2) return false;
  if (!publicOperation(key, sig, sigLen)) return false;

  // §8.1.2 step 2c, I2OSP(m, emLen): emLen is k - 1 when modBits = 8(k - 1) + 1, and the top byte of the
  // k-byte value must then be zero.
  if (emLen != k && load<u8>(EM_BYTES) != 0) return false;
  let em = EM_BYTES + <usize>(k - emLen);
  // Step 4: trailer field 0xbc.
  if (load<u8>(em + <usize>(emLen - 1)) != 0xbc) return false;
  // Step 5: EM = maskedDB || H || 0xbc.
  let dbLen = emLen - hlen - 1;
  let h = em + <usize>dbLen;
  // Step 6: the leftmost 8*emLen - emBits bits (0..7) of maskedDB must be zero.
  let topMask = <u32>0xFF >> <u32>(8 * emLen - emBits);
  if ((<u32>load<u8>(em) & ~topMask) != 0) return false;
  // Steps 7-9: DB = maskedDB xor MGF1(H, dbLen), in place, then clear the same leftmost bits.
  mgf1XorInto(hash, h, hlen, em, dbLen);
  store<u8>(em, <u8>(<u32>load<u8>(em) & topMask));
  // Step 10: DB = PS (emLen - hLen - sLen - 2 zero bytes) || 0x01 || salt.
  let psLen = dbLen - slen - 1;
  let nonzero: u32 = 0;
  for (let i = 0; i < psLen; i++) nonzero |= <u32>load<u8>(em + <usize>i);
  if (nonzero != 0 || load<u8>(em + <usize>psLen) != 0x01) return false;
  // Steps 11-13: H' = Hash(0x00 x 8 || mHash || salt).
  store<u64>(M_PRIME, 0);
  memory.copy(M_PRIME + 8, digest, <usize>hlen);
  memory.copy(M_PRIME + 8 + <usize>hlen, em + <usize>(psLen + 1), <usize>slen);
  digestInto(hash, M_PRIME, 8 + hlen + slen, H_PRIME);
  // Step 14: H == H'.
  let diff: u32 = 0;
  for (let i = 0; i < hlen; i++) {
    diff |= <u32>(load<u8>(h + <usize>i) ^ load<u8>(H_PRIME + <usize>i));
  }
  return diff == 0;
}

// dst[0..len) ^= MGF1(seed, len) (RFC 8017 §B.2.1): the concatenation of Hash(seed || C) for the 32-bit
// big-endian counters C = 0, 1, ... The seed (seedLen <= MAX_HASH_LENGTH bytes) must not overlap dst.
function mgf1XorInto(hash: HashAlg, seed: usize, seedLen: i32, dst: usize, len: i32): void {
  let hlen = hashLength(hash);
  memory.copy(MGF_SEED, seed, <usize>seedLen);
  let counterAt = MGF_SEED + <usize>seedLen;
  let done = 0;
  for (let counter: u32 = 0; done < len; counter++) {
    store<u32>(counterAt, bswap<u32>(counter));
    digestInto(hash, MGF_SEED, seedLen + 4, MGF_BLOCK);
    let n = min(hlen, len - done);
    let p = dst + <usize>done;
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      store<u64>(p + <usize>i, load<u64>(p + <usize>i) ^ load<u64>(MGF_BLOCK + <usize>i));
    }
    for (; i < n; i++) {
      store<u8>(p + <usize>i, load<u8>(p + <usize>i) ^ load<u8>(MGF_BLOCK + <usize>i));
    }
    done += n;
  }
}
