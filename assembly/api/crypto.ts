// Library entry for Node (build/crypto.wasm, loaded by host/crypto/index.ts): exports raw-pointer functions
// for key import, signature verification, SHA-2 and base64url. Owns the key handle table and the JS-visible
// scratch buffer. Every export checks its pointers against memory and returns 0/-1 on bad input.
import { HashAlg, hashLength, digestInto, Sha256, Sha512, MAX_HASH_LENGTH } from "../crypto/sha2";
import { RsaPublicKey, importRsaPublicKey, verifyRsaPkcs1v15, verifyRsaPkcs1v15Digest } from "../crypto/rsa";
import {
  base64UrlDecode, base64UrlDecodeInto, base64UrlDecodedLength, base64UrlDecodeString,
} from "../util/base64url";

/** Largest scratch buffer JS may request (bytes). */
const MAX_SCRATCH: i32 = 64 << 20;
/** Largest number of live imported keys. */
const MAX_KEYS: i32 = 1 << 16;
/** Largest accepted n or e input (bytes of base64url text, or raw bytes); leading zeros make it > 1 KiB. */
const MAX_KEY_INPUT: i32 = 1 << 20;

/** Algorithm ids shared with host/crypto/index.ts (the one algorithm table lives there). */
const ALG_RS256: i32 = 0;
const ALG_RS384: i32 = 1;
const ALG_RS512: i32 = 2;

let scratchBuf = new ArrayBuffer(4096);
const keys = new Array<RsaPublicKey | null>();
const freeHandles = new Array<i32>();
let liveKeys: i32 = 0;

// True if [ptr, ptr + len) lies inside linear memory.
function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

function hashOf(algId: i32): i32 {
  if (algId == ALG_RS256) return HashAlg.SHA256;
  if (algId == ALG_RS384) return HashAlg.SHA384;
  if (algId == ALG_RS512) return HashAlg.SHA512;
  return -1;
}

function keyAt(handle: i32): RsaPublicKey | null {
  if (handle <= 0 || handle > keys.length) return null;
  return unchecked(keys[handle - 1]);
}

function addKey(key: RsaPublicKey | null): i32 {
  if (key === null || liveKeys >= MAX_KEYS) return 0;
  liveKeys++;
  if (freeHandles.length > 0) {
    let h = freeHandles.pop();
    unchecked((keys[h - 1] = key));
    return h;
  }
  keys.push(key);
  return keys.length;
}

/** Returns a pointer to a scratch buffer of at least size bytes (valid until the next scratch call), or 0. */
export function scratch(size: i32): usize {
  if (size < 0 || size > MAX_SCRATCH) return 0;
  if (size > scratchBuf.byteLength) {
    scratchBuf = new ArrayBuffer(max(size, min(scratchBuf.byteLength * 2, MAX_SCRATCH)));
  }
  return changetype<usize>(scratchBuf);
}

/** Imports an RSA key from the base64url text of the JWK members n and e. Returns a handle > 0, or 0. */
export function importRsaKeyB64(nPtr: usize, nLen: i32, ePtr: usize, eLen: i32): i32 {
  if (nLen > MAX_KEY_INPUT || eLen > MAX_KEY_INPUT) return 0;
  if (!inMemory(nPtr, nLen) || !inMemory(ePtr, eLen)) return 0;
  let n = base64UrlDecode(nPtr, nLen);
  let e = base64UrlDecode(ePtr, eLen);
  if (n === null || e === null) return 0;
  return addKey(importRsaPublicKey(n, e));
}

/** Imports an RSA key from big-endian n and e bytes. Returns a handle > 0, or 0. */
export function importRsaKey(nPtr: usize, nLen: i32, ePtr: usize, eLen: i32): i32 {
  if (nLen > MAX_KEY_INPUT || eLen > MAX_KEY_INPUT) return 0;
  if (!inMemory(nPtr, nLen) || !inMemory(ePtr, eLen)) return 0;
  let n = new Uint8Array(nLen);
  let e = new Uint8Array(eLen);
  memory.copy(n.dataStart, nPtr, <usize>nLen);
  memory.copy(e.dataStart, ePtr, <usize>eLen);
  return addKey(importRsaPublicKey(n, e));
}

/** Releases a key handle; unknown handles are ignored. */
export function freeKey(handle: i32): void {
  if (keyAt(handle) === null) return;
  unchecked((keys[handle - 1] = null));
  freeHandles.push(handle);
  liveKeys--;
}

/** Modulus size in bits of a key, or 0 for an unknown handle. */
export function keyBits(handle: i32): i32 {
  let key = keyAt(handle);
  return key === null ? 0 : key.bitLength;
}

/** Number of live key handles. */
export function keyCount(): i32 {
  return liveKeys;
}

/** Verifies a signature over dataLen bytes at dataPtr. 1 = valid, 0 = invalid or bad arguments. */
export function verify(algId: i32, handle: i32, dataPtr: usize, dataLen: i32, sigPtr: usize, sigLen: i32): i32 {
  let hash = hashOf(algId);
  let key = keyAt(handle);
  if (hash < 0 || key === null) return 0;
  if (!inMemory(dataPtr, dataLen) || !inMemory(sigPtr, sigLen)) return 0;
  return verifyRsaPkcs1v15(key, <HashAlg>hash, dataPtr, dataLen, sigPtr, sigLen) ? 1 : 0;
}

/** Verifies a signature over a digest computed by the caller (hashLength bytes at digestPtr). */
export function verifyDigest(algId: i32, handle: i32, digestPtr: usize, sigPtr: usize, sigLen: i32): i32 {
  let hash = hashOf(algId);
  let key = keyAt(handle);
  if (hash < 0 || key === null) return 0;
  if (!inMemory(digestPtr, hashLength(<HashAlg>hash)) || !inMemory(sigPtr, sigLen)) return 0;
  return verifyRsaPkcs1v15Digest(key, <HashAlg>hash, digestPtr, sigPtr, sigLen) ? 1 : 0;
}

/** One-shot hash (alg: 0 SHA-256, 1 SHA-384, 2 SHA-512). Returns the digest length, or 0. */
export function sha(alg: i32, ptr: usize, len: i32, out: usize): i32 {
  let hlen = alg >= 0 && alg <= 2 ? hashLength(<HashAlg>alg) : 0;
  if (hlen == 0 || !inMemory(ptr, len) || !inMemory(out, hlen)) return 0;
  digestInto(<HashAlg>alg, ptr, len, out);
  return hlen;
}

// Incremental hashing (large inputs streamed from JS, and split-point tests).
const stream256 = new Sha256();
const stream384 = new Sha512(true);
const stream512 = new Sha512(false);
let streamAlg: i32 = -1;

/** Starts an incremental hash. Returns the digest length, or 0 for an unknown alg. */
export function shaInit(alg: i32): i32 {
  if (alg < 0 || alg > 2) {
    streamAlg = -1;
    return 0;
  }
  streamAlg = alg;
  if (alg == HashAlg.SHA256) stream256.reset();
  else if (alg == HashAlg.SHA384) stream384.reset();
  else stream512.reset();
  return hashLength(<HashAlg>alg);
}

/** Absorbs len bytes. Returns 1, or 0 without a started hash or for bad arguments. */
export function shaUpdate(ptr: usize, len: i32): i32 {
  if (streamAlg < 0 || !inMemory(ptr, len)) return 0;
  if (streamAlg == HashAlg.SHA256) stream256.update(ptr, len);
  else if (streamAlg == HashAlg.SHA384) stream384.update(ptr, len);
  else stream512.update(ptr, len);
  return 1;
}

/** Writes the digest and ends the hash. Returns the digest length, or 0. */
export function shaFinish(out: usize): i32 {
  if (streamAlg < 0) return 0;
  let hlen = hashLength(<HashAlg>streamAlg);
  if (!inMemory(out, hlen)) return 0;
  if (streamAlg == HashAlg.SHA256) stream256.finish(out);
  else if (streamAlg == HashAlg.SHA384) stream384.finish(out);
  else stream512.finish(out);
  streamAlg = -1;
  return hlen;
}

/** Upper bound of the decoded size (exact for valid input). */
export function b64uDecodedLength(len: i32): i32 {
  return base64UrlDecodedLength(len);
}

/** Decodes base64url bytes into dst (room for b64uDecodedLength(len) bytes). Bytes written, or -1. */
export function b64uDecode(src: usize, len: i32, dst: usize): i32 {
  if (!inMemory(src, len) || !inMemory(dst, base64UrlDecodedLength(len))) return -1;
  return base64UrlDecodeInto(src, len, dst);
}

/** Decodes an AssemblyScript string (the caller pins it) into dst. Bytes written, or -1. */
export function b64uDecodeString(s: string, dst: usize): i32 {
  let out = base64UrlDecodeString(s);
  if (out === null) return -1;
  if (!inMemory(dst, out.length)) return -1;
  memory.copy(dst, out.dataStart, <usize>out.length);
  return out.length;
}

/** Largest digest length, for sizing output buffers. */
export function maxHashLength(): i32 {
  return MAX_HASH_LENGTH;
}
