// TEMPORARY test entry for assembly/crypto/ed25519.ts until loadCrypto() routes EdDSA (then deleted):
// raw-pointer exports for key import, verification and the field/scalar helpers.
import { Ed25519PublicKey, importEd25519PublicKey, verifyEd25519 } from "../crypto/ed25519";
import { feFromBytes, feMul, feSq, feToBytes, feInvert, feAdd, feSub } from "../crypto/ed25519/field";
import { scalarReduce512, scalarToNaf } from "../crypto/ed25519/scalar";

let scratchBuf = new ArrayBuffer(1 << 16);
const keys = new Array<Ed25519PublicKey>();
@lazy const FA: usize = memory.data(80 * 3, 16);

function inMemory(ptr: usize, len: i32): bool {
  if (len < 0) return false;
  return <u64>ptr + <u64>len <= (<u64>memory.size() << 16);
}

export function scratch(size: i32): usize {
  if (size < 0 || size > (64 << 20)) return 0;
  if (size > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(size);
  return changetype<usize>(scratchBuf);
}

/** Returns a handle > 0 or 0. */
export function importKey(ptr: usize, len: i32): i32 {
  if (!inMemory(ptr, len) || len > 4096) return 0;
  let x = new Uint8Array(len);
  memory.copy(x.dataStart, ptr, <usize>len);
  let k = importEd25519PublicKey(x);
  if (k === null) return 0;
  keys.push(k);
  return keys.length;
}

export function verify(handle: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): i32 {
  if (handle <= 0 || handle > keys.length) return 0;
  if (!inMemory(msg, msgLen) || !inMemory(sig, sigLen)) return 0;
  return verifyEd25519(unchecked(keys[handle - 1]), msg, msgLen, sig, sigLen) ? 1 : 0;
}

/** op 0: a*b, 1: a^2, 2: 1/a, 3: a+b, 4: a-b; inputs 32-byte LE (low 255 bits), output canonical. */
export function feOp(op: i32, a: usize, b: usize, out: usize): void {
  feFromBytes(FA, a);
  feFromBytes(FA + 80, b);
  if (op == 0) feMul(FA + 160, FA, FA + 80);
  else if (op == 1) feSq(FA + 160, FA);
  else if (op == 2) feInvert(FA + 160, FA);
  else if (op == 3) feAdd(FA + 160, FA, FA + 80);
  else feSub(FA + 160, FA, FA + 80);
  feToBytes(out, FA + 160);
}

export function scReduce(inp: usize, out: usize): void {
  scalarReduce512(out, inp);
}

export function naf(out: usize, s: usize, start: i32, len: i32, w: i32): i32 {
  return scalarToNaf(out, s, start, len, w);
}
