// Owns key selection and the signature check for one token against one key set
// (jwt_verify_lib's verifyJwtWithoutTimeChecking), with the alg bound strictly to the key type.
import { Status } from "../status";
import { Jwt } from "../jwt/jwt";
import { KeyFamily } from "../jwt/algorithms";
import { Jwks, Jwk } from "./jwks";
import { verifyRsaPkcs1v15 } from "../crypto/rsa";

/** Whether this key's type can verify this family: an RS* token never meets an oct key, whatever alg the JWK omits. */
function keyFits(jwk: Jwk, family: KeyFamily): bool {
  if (family == KeyFamily.RSA_PKCS1 || family == KeyFamily.RSA_PSS) return jwk.rsa !== null;
  return false;
}

/**
 * As jwt_verify_lib: keys are tried in document order; a key is skipped when both kids are set and
 * differ, or when the JWK has an alg other than the token's. No candidate at all gives
 * `JwksKidAlgMismatch`; candidates that all fail give `JwtVerificationFail`.
 */
export function verifyJwtSignature(jwt: Jwt, jwks: Jwks): Status {
  const algorithm = jwt.algorithm;
  if (algorithm === null) return Status.JwtHeaderNotImplementedAlg;
  let candidate = false;
  const keys = jwks.keys;
  for (let i = 0; i < keys.length; i++) {
    const jwk = unchecked(keys[i]);
    if (jwt.hasKid && jwk.hasKid && jwk.kid != jwt.kid) continue;
    if (jwk.hasAlg && jwk.alg != jwt.alg) continue;
    if (!keyFits(jwk, algorithm.family)) continue;
    candidate = true;
    if (algorithm.family == KeyFamily.RSA_PKCS1) {
      const rsa = jwk.rsa;
      if (rsa !== null && verifyRsaPkcs1v15(rsa, algorithm.hash, jwt.bytes.dataStart, jwt.signedLength, jwt.signature.dataStart, jwt.signature.length)) {
        return Status.Ok;
      }
    }
  }
  return candidate ? Status.JwtVerificationFail : Status.JwksKidAlgMismatch;
}
