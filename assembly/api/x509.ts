// Test library entry (build/x509.wasm) for assembly/crypto/x509.ts and assembly/util/base64std.ts: PEM
// certificate → RSA key size / modulus, RS* verification with the extracted key, and the base64 decoder.
// Owns its scratch buffer; every export checks its pointers and returns 0/-1 on bad input.
import { rsaKeyFromPemCertificate } from "../crypto/x509";
import { verifyRsaPkcs1v15 } from "../crypto/rsa";
import { HashAlg } from "../crypto/sha2";
import { base64StdDecodeInto, base64StdMaxDecodedLength } from "../util/base64std";

const MAX_SCRATCH: i32 = 16 << 20;
let scratchBuf = new ArrayBuffer(4096);

function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

/** Returns a pointer to a scratch buffer of at least size bytes (valid until the next call), or 0. */
export function scratch(size: i32): usize {
  if (size < 0 || size > MAX_SCRATCH) return 0;
  if (size > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(max(size, min(scratchBuf.byteLength * 2, MAX_SCRATCH)));
  return changetype<usize>(scratchBuf);
}

// PEM text as UTF-8 bytes -> string (non-ASCII bytes become characters the PEM reader rejects).
function pemString(ptr: usize, len: i32): string | null {
  if (!inMemory(ptr, len)) return null;
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** Modulus size in bits of the RSA key in a PEM certificate; 0 = rejected. */
export function rsaKeyBitsFromPem(ptr: usize, len: i32): i32 {
  let pem = pemString(ptr, len);
  if (pem === null) return 0;
  let key = rsaKeyFromPemCertificate(pem);
  return key === null ? 0 : key.bitLength;
}

/** Writes the modulus (big-endian, no leading zeros) to out (room for 1024 bytes); its length, or 0. */
export function rsaModulusFromPem(ptr: usize, len: i32, out: usize): i32 {
  let pem = pemString(ptr, len);
  if (pem === null) return 0;
  let key = rsaKeyFromPemCertificate(pem);
  if (key === null || !inMemory(out, key.byteLength)) return 0;
  memory.copy(out, changetype<usize>(key.modulus), <usize>key.byteLength);
  return key.byteLength;
}

/** The public exponent of the RSA key in a PEM certificate, or 0. */
export function rsaExponentFromPem(ptr: usize, len: i32): u32 {
  let pem = pemString(ptr, len);
  if (pem === null) return 0;
  let key = rsaKeyFromPemCertificate(pem);
  return key === null ? 0 : key.exponent;
}

/** RSASSA-PKCS1-v1_5 (hash 0/1/2 = SHA-256/384/512) with the certificate's key: 1 valid, 0 not. */
export function verifyPkcs1WithPem(pemPtr: usize, pemLen: i32, hash: i32, dataPtr: usize, dataLen: i32,
  sigPtr: usize, sigLen: i32): i32 {
  if (hash < 0 || hash > 2 || !inMemory(dataPtr, dataLen) || !inMemory(sigPtr, sigLen)) return 0;
  let pem = pemString(pemPtr, pemLen);
  if (pem === null) return 0;
  let key = rsaKeyFromPemCertificate(pem);
  if (key === null) return 0;
  return verifyRsaPkcs1v15(key, <HashAlg>hash, dataPtr, dataLen, sigPtr, sigLen) ? 1 : 0;
}

/** Room base64StdDecode needs for len input bytes. */
export function b64MaxDecodedLength(len: i32): i32 {
  return base64StdMaxDecodedLength(len);
}

/** Standard base64 (line breaks and padding allowed) into dst; bytes written, or -1. */
export function b64Decode(src: usize, len: i32, dst: usize): i32 {
  if (!inMemory(src, len) || !inMemory(dst, base64StdMaxDecodedLength(len))) return -1;
  return base64StdDecodeInto(src, len, dst);
}
