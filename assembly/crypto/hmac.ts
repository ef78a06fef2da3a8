// HMAC (RFC 2104) with SHA-256/384/512 for HS256/HS384/HS512, and its constant-time verification.
// Owns the padded-key scratch and its own hasher instances: no allocation per call, never traps on any
// length; only full-length tags verify (JWS never truncates, RFC 7518 §3.2).
import { HashAlg, hashLength, digestInto, Sha256, Sha512, MAX_HASH_LENGTH } from "./sha2";

const MAX_BLOCK: i32 = 128;

// K0 (the key, hashed if longer than a block, zero-padded to the block size), K0 xor pad, inner digest,
// computed tag.
@lazy const KEY_BLOCK: usize = memory.data(MAX_BLOCK, 16);
@lazy const PAD_BLOCK: usize = memory.data(MAX_BLOCK, 16);
@lazy const INNER: usize = memory.data(MAX_HASH_LENGTH, 16);
@lazy const TAG: usize = memory.data(MAX_HASH_LENGTH, 16);

// Our own instances (not the sha2 one-shot ones, which digestInto uses for long keys).
@lazy const hmac256 = new Sha256();
@lazy const hmac384 = new Sha512(true);
@lazy const hmac512 = new Sha512(false);

/** Block size in bytes of the hash: 64 for SHA-256, 128 for SHA-384/512 (0 for an unknown alg). */
@inline function blockSize(hash: HashAlg): i32 {
  return hash == HashAlg.SHA256 ? 64 : hash == HashAlg.SHA384 || hash == HashAlg.SHA512 ? 128 : 0;
}

// Hash(pad || data), pad being blockSize(hash) bytes, into out.
@inline function hashTwo(hash: HashAlg, pad: usize, block: i32, data: usize, len: i32, out: usize): void {
  if (hash == HashAlg.SHA256) {
    hmac256.update(pad, block);
    hmac256.update(data, len);
    hmac256.finish(out);
  } else if (hash == HashAlg.SHA384) {
    hmac384.update(pad, block);
    hmac384.update(data, len);
    hmac384.finish(out);
  } else {
    hmac512.update(pad, block);
    hmac512.update(data, len);
    hmac512.finish(out);
  }
}

// PAD_BLOCK = KEY_BLOCK xor (the pad byte repeated), `block` bytes (a multiple of 8).
@inline function xorPad(block: i32, pad: u64): void {
  for (let i = 0; i < block; i += 8) {
    store<u64>(PAD_BLOCK + <usize>i, load<u64>(KEY_BLOCK + <usize>i) ^ pad);
  }
}

/**
 * Writes HMAC-hash(key, msg) (hashLength(hash) bytes) to out. False, writing nothing, for an unknown
 * hash or a negative length. out may not overlap the module scratch (it never does for caller memory).
 */
export function hmacInto(hash: HashAlg, key: usize, keyLen: i32, msg: usize, msgLen: i32, out: usize): bool {
  let hlen = hashLength(hash);
  let block = blockSize(hash);
  if (hlen == 0 || block == 0 || keyLen < 0 || msgLen < 0) return false;
  // RFC 2104 §2: a key longer than the block is replaced by its hash; K0 is zero-padded to the block.
  let k0Len = keyLen;
  if (keyLen > block) {
    digestInto(hash, key, keyLen, KEY_BLOCK);
    k0Len = hlen;
  } else {
    memory.copy(KEY_BLOCK, key, <usize>keyLen);
  }
  memory.fill(KEY_BLOCK + <usize>k0Len, 0, <usize>(block - k0Len));
  xorPad(block, 0x3636363636363636); // ipad
  hashTwo(hash, PAD_BLOCK, block, msg, msgLen, INNER);
  xorPad(block, 0x5c5c5c5c5c5c5c5c); // opad
  hashTwo(hash, PAD_BLOCK, block, INNER, hlen, out);
  return true;
}

/**
 * True when tag is exactly the full HMAC of msg under key. A tag of any other length (in particular a
 * truncated MAC) and an empty key are rejected. The comparison reads every byte (no early exit).
 */
export function verifyHmac(hash: HashAlg, key: usize, keyLen: i32, msg: usize, msgLen: i32, tag: usize, tagLen: i32): bool {
  let hlen = hashLength(hash);
  if (hlen == 0 || tagLen != hlen) return false;
  // An empty secret authenticates nothing (jwt_verify_lib drops such keys too).
  if (keyLen <= 0) return false;
  if (!hmacInto(hash, key, keyLen, msg, msgLen, TAG)) return false;
  let diff: u64 = 0;
  for (let i = 0; i < hlen; i += 8) {
    diff |= load<u64>(TAG + <usize>i) ^ load<u64>(tag + <usize>i);
  }
  return diff == 0;
}
