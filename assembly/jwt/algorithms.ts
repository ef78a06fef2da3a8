// Owns the one JWS algorithm table: every `alg` Envoy's jwt_authn accepts (RFC 7518 §3.1), the key type
// it binds to, its hash, and for ECDSA its curve. Key selection, verification and loadCrypto() all read
// it; no other file lists algorithms.
import { HashAlg } from "../crypto/sha2";
import { Curve } from "../crypto/ecdsa";

export const enum KeyFamily { RSA_PKCS1 = 0, RSA_PSS = 1, EC = 2, OCT = 3, OKP = 4 }

export class Algorithm {
  constructor(
    public id: i32,
    public name: string,
    public family: KeyFamily,
    public hash: HashAlg,
    /** For EC: the one curve this alg allows (RFC 7518 §3.4); unused otherwise. */
    public curve: Curve,
  ) {}
}

// Exactly jwt_verify_lib's list. `none` and anything else is "Jwt header [alg] is not supported".
const ALGORITHMS: Algorithm[] = [
  new Algorithm(0, "RS256", KeyFamily.RSA_PKCS1, HashAlg.SHA256, Curve.P256),
  new Algorithm(1, "RS384", KeyFamily.RSA_PKCS1, HashAlg.SHA384, Curve.P256),
  new Algorithm(2, "RS512", KeyFamily.RSA_PKCS1, HashAlg.SHA512, Curve.P256),
  new Algorithm(3, "PS256", KeyFamily.RSA_PSS, HashAlg.SHA256, Curve.P256),
  new Algorithm(4, "PS384", KeyFamily.RSA_PSS, HashAlg.SHA384, Curve.P256),
  new Algorithm(5, "PS512", KeyFamily.RSA_PSS, HashAlg.SHA512, Curve.P256),
  new Algorithm(6, "ES256", KeyFamily.EC, HashAlg.SHA256, Curve.P256),
  new Algorithm(7, "ES384", KeyFamily.EC, HashAlg.SHA384, Curve.P384),
  new Algorithm(8, "ES512", KeyFamily.EC, HashAlg.SHA512, Curve.P521),
  new Algorithm(9, "HS256", KeyFamily.OCT, HashAlg.SHA256, Curve.P256),
  new Algorithm(10, "HS384", KeyFamily.OCT, HashAlg.SHA384, Curve.P256),
  new Algorithm(11, "HS512", KeyFamily.OCT, HashAlg.SHA512, Curve.P256),
  new Algorithm(12, "EdDSA", KeyFamily.OKP, HashAlg.SHA512, Curve.P256),
];

/** The algorithm with this exact (case-sensitive) name, or null. */
export function findAlgorithm(name: string): Algorithm | null {
  for (let i = 0; i < ALGORITHMS.length; i++) {
    const a = unchecked(ALGORITHMS[i]);
    if (a.name == name) return a;
  }
  return null;
}

export function algorithmCount(): i32 {
  return ALGORITHMS.length;
}

export function algorithmAt(i: i32): Algorithm | null {
  return i >= 0 && i < ALGORITHMS.length ? unchecked(ALGORITHMS[i]) : null;
}
