// Library entry for Node (build/crypto.wasm, loaded by host/crypto/index.ts): the filter's own JWK
// import (assembly/jwks/jwks.ts) and signature checks (assembly/jwks/verify.ts) behind raw-pointer exports,
// plus SHA-2 and base64url for tests. Owns the key handle table and the JS-visible scratch buffer. Every
// export checks its pointers against memory and returns 0/-1 on bad input.
import { HashAlg, hashLength, digestInto, Sha256, Sha512, MAX_HASH_LENGTH } from "../crypto/sha2";
import { verifyRsaPkcs1v15Digest } from "../crypto/rsa";
import {
  base64UrlDecodeInto, base64UrlDecodedLength, base64UrlDecodeString,
} from "../util/base64url";
import { parseJson, JsonKind } from "../util/json";
import { Status } from "../status";
import { Jwk, parseJwk, isSigningKey, jwksJsonLimits } from "../jwks/jwks";
import { keyFits, verifyWithKey } from "../jwks/verify";
import { algorithmAt, algorithmCount, KeyFamily } from "../jwt/algorithms";
import { curveByteLength } from "../crypto/ecdsa";
import { FIELD_P256, FIELD_P384, FIELD_P521 } from "../crypto/ec/field";

/** Largest scratch buffer JS may request (bytes). */
const MAX_SCRATCH: i32 = 64 << 20;
/** Largest number of live imported keys. */
const MAX_KEYS: i32 = 1 << 16;
/** Largest JWK text importJwk reads. */
const MAX_JWK_BYTES: i32 = 1 << 20;

let scratchBuf = new ArrayBuffer(4096);
const keys = new Array<Jwk | null>();
const freeHandles = new Array<i32>();
let liveKeys: i32 = 0;
let lastStatus: i32 = 0;

// True if [ptr, ptr + len) lies inside linear memory.
function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

function keyAt(handle: i32): Jwk | null {
  if (handle <= 0 || handle > keys.length) return null;
  return unchecked(keys[handle - 1]);
}

function addKey(key: Jwk | null): i32 {
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

/**
 * Imports one JWK given as JSON text, with the filter's JWK parser: jwt_verify_lib's rules per kty, plus
 * `use`/`key_ops` (an encryption key is unusable). Returns a handle > 0, or 0 (see lastImportStatus).
 */
export function importJwk(ptr: usize, len: i32): i32 {
  lastStatus = Status.JwksParseError;
  if (len <= 0 || len > MAX_JWK_BYTES || !inMemory(ptr, len)) return 0;
  const doc = parseJson(ptr, len, jwksJsonLimits());
  if (doc === null || doc.kind != JsonKind.Object) return 0;
  if (!isSigningKey(doc)) {
    lastStatus = Status.JwksNotImplementedKty;
    return 0;
  }
  const jwk = new Jwk();
  lastStatus = parseJwk(doc, jwk);
  if (lastStatus != Status.Ok) return 0;
  const h = addKey(jwk);
  if (h == 0) lastStatus = Status.JwksBioAllocError;
  return h;
}

/** The Status of the last importJwk (0 = Ok; jwt_verify_lib's numbering). */
export function lastImportStatus(): i32 {
  return lastStatus;
}

/** Releases a key handle; unknown handles are ignored. */
export function freeKey(handle: i32): void {
  if (keyAt(handle) === null) return;
  unchecked((keys[handle - 1] = null));
  freeHandles.push(handle);
  liveKeys--;
}

/** Key size in bits (RSA modulus, EC curve, 256 for Ed25519, secret bits for oct), or 0. */
export function keyBits(handle: i32): i32 {
  const key = keyAt(handle);
  if (key === null) return 0;
  const rsa = key.rsa;
  if (rsa !== null) return rsa.bitLength;
  const ec = key.ec;
  if (ec !== null) return ec.curve == 2 ? 521 : curveByteLength(ec.curve) * 8;
  const oct = key.oct;
  if (oct !== null) return oct.length * 8;
  return key.okp !== null ? 256 : 0;
}

/** Number of live key handles. */
export function keyCount(): i32 {
  return liveKeys;
}

/** Number of JWS algorithms in the one table (assembly/jwt/algorithms.ts). */
export function algorithms(): i32 {
  return algorithmCount();
}

/** Name of algorithm `id` as an AssemblyScript string pointer (static data), or 0. */
export function algorithmName(id: i32): usize {
  const a = algorithmAt(id);
  return a === null ? 0 : changetype<usize>(a.name);
}

/**
 * Verifies a signature over dataLen bytes at dataPtr with key `handle` for algorithm `algId`.
 * 1 = valid; 0 = invalid, a key whose type or curve does not fit the alg, or bad arguments; -1 = no such alg.
 */
export function verify(algId: i32, handle: i32, dataPtr: usize, dataLen: i32, sigPtr: usize, sigLen: i32): i32 {
  const a = algorithmAt(algId);
  if (a === null) return -1;
  const key = keyAt(handle);
  if (key === null || !keyFits(key, a)) return 0;
  if (!inMemory(dataPtr, dataLen) || !inMemory(sigPtr, sigLen)) return 0;
  return verifyWithKey(key, a, dataPtr, dataLen, sigPtr, sigLen) ? 1 : 0;
}

/** RS256/384/512 over a digest computed by the caller (streamed hashing of large inputs). */
export function verifyDigest(algId: i32, handle: i32, digestPtr: usize, sigPtr: usize, sigLen: i32): i32 {
  const a = algorithmAt(algId);
  const key = keyAt(handle);
  if (a === null || key === null || a.family != KeyFamily.RSA_PKCS1) return 0;
  const rsa = key.rsa;
  if (rsa === null) return 0;
  if (!inMemory(digestPtr, hashLength(a.hash)) || !inMemory(sigPtr, sigLen)) return 0;
  return verifyRsaPkcs1v15Digest(rsa, a.hash, digestPtr, sigPtr, sigLen) ? 1 : 0;
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

/**
 * For tests: one prime-field operation of P-256 (curve 0), P-384 (1) or P-521 (2) on little-endian u32
 * words at r, a, b (op 0: a*b, 1: a^2, 2: a+b, 3: a-b, each mod p; r may be a or b). 0 on success, -1 on
 * a bad curve, op or pointer.
 */
export function ecFieldOp(curve: i32, op: i32, r: usize, a: usize, b: usize): i32 {
  const f = curve == 0 ? FIELD_P256 : curve == 1 ? FIELD_P384 : curve == 2 ? FIELD_P521 : null;
  if (f === null || op < 0 || op > 3) return -1;
  const len = f.words << 2;
  if (!inMemory(r, len) || !inMemory(a, len) || !inMemory(b, len)) return -1;
  if (op == 0) f.mul(r, a, b);
  else if (op == 1) f.sqr(r, a);
  else if (op == 2) f.add(r, a, b);
  else f.sub(r, a, b);
  return 0;
}
