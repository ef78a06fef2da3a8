// TEMPORARY test entry (build/test_rsapss.wasm) for RSA-PSS and HMAC until build/crypto.wasm routes PS* and
// HS* (assembly/api/crypto.ts). Owns its key table and scratch; exports check pointers, return 0 on bad input.
import { RsaPublicKey, importRsaPublicKey, verifyRsaPss, verifyRsaPssDigest } from "../crypto/rsa";
import { verifyHmac, hmacInto } from "../crypto/hmac";
import { HashAlg, hashLength } from "../crypto/sha2";

let scratchBuf = new ArrayBuffer(4096);
const keys = new Array<RsaPublicKey | null>();

function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

export function scratch(size: i32): usize {
  if (size < 0 || size > (16 << 20)) return 0;
  if (size > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(max(size, scratchBuf.byteLength * 2));
  return changetype<usize>(scratchBuf);
}

/** Imports big-endian n and e; a handle > 0, or 0. */
export function importRsaKey(nPtr: usize, nLen: i32, ePtr: usize, eLen: i32): i32 {
  if (!inMemory(nPtr, nLen) || !inMemory(ePtr, eLen) || nLen > 4096 || eLen > 4096) return 0;
  let n = new Uint8Array(nLen);
  let e = new Uint8Array(eLen);
  memory.copy(n.dataStart, nPtr, <usize>nLen);
  memory.copy(e.dataStart, ePtr, <usize>eLen);
  let key = importRsaPublicKey(n, e);
  if (key === null) return 0;
  keys.push(key);
  return keys.length;
}

/** PSS verify (hash 0/1/2) with key `handle`: 1 valid, 0 not. */
export function verifyPss(hash: i32, handle: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (handle <= 0 || handle > keys.length || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return 0;
  let key = unchecked(keys[handle - 1]);
  if (key === null) return 0;
  return verifyRsaPss(key, <HashAlg>hash, msg, msgLen, sig, sigLen) ? 1 : 0;
}

/** PSS verify over a caller digest. */
export function verifyPssDigest(hash: i32, handle: i32, digest: usize, sig: usize, sigLen: i32): i32 {
  if (hash < 0 || hash > 2) return 0;
  if (handle <= 0 || handle > keys.length || !inMemory(digest, hashLength(<HashAlg>hash)) || !inMemory(sig, sigLen)) return 0;
  let key = unchecked(keys[handle - 1]);
  if (key === null) return 0;
  return verifyRsaPssDigest(key, <HashAlg>hash, digest, sig, sigLen) ? 1 : 0;
}

/** HMAC verify (hash 0/1/2): 1 valid, 0 not. */
export function hmacVerify(hash: i32, key: usize, keyLen: i32, msg: usize, msgLen: i32, tag: usize, tagLen: i32): i32 {
  if (!inMemory(key, keyLen) || !inMemory(msg, msgLen) || !inMemory(tag, tagLen)) return 0;
  return verifyHmac(<HashAlg>hash, key, keyLen, msg, msgLen, tag, tagLen) ? 1 : 0;
}

/** HMAC into out (64 bytes of room); the tag length, or 0. */
export function hmac(hash: i32, key: usize, keyLen: i32, msg: usize, msgLen: i32, out: usize): i32 {
  if (!inMemory(key, keyLen) || !inMemory(msg, msgLen) || !inMemory(out, 64)) return 0;
  return hmacInto(<HashAlg>hash, key, keyLen, msg, msgLen, out) ? hashLength(<HashAlg>hash) : 0;
}

import { verifyRsaPkcs1v15 } from "../crypto/rsa";
/** PKCS#1 v1.5 verify, for comparing the PSS overhead in benchmarks. */
export function verifyPkcs1(hash: i32, handle: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (handle <= 0 || handle > keys.length || !inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return 0;
  let key = unchecked(keys[handle - 1]);
  if (key === null) return 0;
  return verifyRsaPkcs1v15(key, <HashAlg>hash, msg, msgLen, sig, sigLen) ? 1 : 0;
}
