// ECDSA verification on P-256, P-384 and P-521 (FIPS 186-4) for ES256/ES384/ES512, signatures in the JWS
// form r||s. STUB until issue #3 lands: no key imports, no signature verifies.
import { HashAlg } from "./sha2";

export const enum Curve { P256 = 0, P384 = 1, P521 = 2 }

/** Coordinate / scalar byte length: 32, 48, 66. */
export function curveByteLength(c: Curve): i32 {
  return c == Curve.P256 ? 32 : c == Curve.P384 ? 48 : 66;
}

export class EcPublicKey {
  constructor(public curve: Curve) {}
}

/** x and y big-endian, each exactly curveByteLength bytes; null unless (x, y) is a valid point. */
export function importEcPublicKey(curve: Curve, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
  return null;
}

/** sig must be r||s, each exactly curveByteLength bytes, with r, s in [1, n-1]. */
export function verifyEcdsa(key: EcPublicKey, hash: HashAlg, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  return false;
}
