// TEMPORARY test entry for assembly/crypto/ecdsa.ts until loadCrypto() routes EC keys (build/test_ecdsa.wasm).
// Owns a key handle table and a scratch buffer; every export checks its pointers and returns 0 on bad input.
import { Curve, EcPublicKey, importEcPublicKey, verifyEcdsa } from "../crypto/ecdsa";
import { HashAlg } from "../crypto/sha2";

let scratchBuf = new ArrayBuffer(4096);
const keys = new Array<EcPublicKey>();

function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

export function scratch(size: i32): usize {
  if (size < 0 || size > (64 << 20)) return 0;
  if (size > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(size);
  return changetype<usize>(scratchBuf);
}

function copyIn(ptr: usize, len: i32): Uint8Array {
  let a = new Uint8Array(len);
  memory.copy(a.dataStart, ptr, <usize>len);
  return a;
}

/** Returns a handle > 0, or 0 if the key is refused. */
export function importKey(curve: i32, xPtr: usize, xLen: i32, yPtr: usize, yLen: i32): i32 {
  if (!inMemory(xPtr, xLen) || !inMemory(yPtr, yLen) || xLen > (1 << 20) || yLen > (1 << 20)) return 0;
  let key = importEcPublicKey(<Curve>curve, copyIn(xPtr, xLen), copyIn(yPtr, yLen));
  if (key === null) return 0;
  keys.push(key);
  return keys.length;
}

export function verify(handle: i32, hash: i32, msgPtr: usize, msgLen: i32, sigPtr: usize, sigLen: i32): i32 {
  if (handle <= 0 || handle > keys.length) return 0;
  if (!inMemory(msgPtr, msgLen) || !inMemory(sigPtr, sigLen)) return 0;
  return verifyEcdsa(unchecked(keys[handle - 1]), <HashAlg>hash, msgPtr, msgLen, sigPtr, sigLen) ? 1 : 0;
}

export function keyCount(): i32 {
  return keys.length;
}
