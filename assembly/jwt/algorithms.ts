// Owns the one JWS algorithm table: every `alg` Envoy's jwt_authn knows, which key type it binds to,
// its hash, and whether this build implements it. Key selection and verification both read it; no
// other file lists algorithms.
import { HashAlg } from "../crypto/sha2";

export const enum KeyFamily { RSA_PKCS1 = 0, RSA_PSS = 1, EC = 2, OCT = 3, OKP = 4 }

export class Algorithm {
  constructor(
    public name: string,
    public family: KeyFamily,
    public hash: HashAlg,
    public implemented: bool,
  ) {}
}

// Envoy/jwt_verify_lib accept exactly these names. The asymmetric and HMAC families other than RSA
// PKCS#1 v1.5 arrive with the next issue (#3); until then they answer "Jwt header [alg] is not supported".
const ALGORITHMS: Algorithm[] = [
  new Algorithm("RS256", KeyFamily.RSA_PKCS1, HashAlg.SHA256, true),
  new Algorithm("RS384", KeyFamily.RSA_PKCS1, HashAlg.SHA384, true),
  new Algorithm("RS512", KeyFamily.RSA_PKCS1, HashAlg.SHA512, true),
  new Algorithm("PS256", KeyFamily.RSA_PSS, HashAlg.SHA256, false),
  new Algorithm("PS384", KeyFamily.RSA_PSS, HashAlg.SHA384, false),
  new Algorithm("PS512", KeyFamily.RSA_PSS, HashAlg.SHA512, false),
  new Algorithm("ES256", KeyFamily.EC, HashAlg.SHA256, false),
  new Algorithm("ES384", KeyFamily.EC, HashAlg.SHA384, false),
  new Algorithm("ES512", KeyFamily.EC, HashAlg.SHA512, false),
  new Algorithm("HS256", KeyFamily.OCT, HashAlg.SHA256, false),
  new Algorithm("HS384", KeyFamily.OCT, HashAlg.SHA384, false),
  new Algorithm("HS512", KeyFamily.OCT, HashAlg.SHA512, false),
  new Algorithm("EdDSA", KeyFamily.OKP, HashAlg.SHA512, false),
];

/** The implemented algorithm with this exact (case-sensitive) name, or null. */
export function findAlgorithm(name: string): Algorithm | null {
  for (let i = 0; i < ALGORITHMS.length; i++) {
    const a = unchecked(ALGORITHMS[i]);
    if (a.name == name) return a.implemented ? a : null;
  }
  return null;
}
