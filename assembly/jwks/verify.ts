// Owns key selection and the signature check for one token against one key set
// (jwt_verify_lib's verifyJwtWithoutTimeChecking), with the alg bound strictly to the key type.
import { Status } from "../status";
import { Jwt } from "../jwt/jwt";
import { Algorithm, KeyFamily } from "../jwt/algorithms";
import { Jwks, Jwk } from "./jwks";
import { verifyRsaPkcs1v15, verifyRsaPss } from "../crypto/rsa";
import { verifyEcdsa } from "../crypto/ecdsa";
import { verifyEd25519 } from "../crypto/ed25519";
import { verifyHmac } from "../crypto/hmac";
import { hashLength } from "../crypto/sha2";

/**
 * Whether this key may verify this alg. Better than jwt_verify_lib, where the JWK's kty picks the
 * primitive: an RS* or PS* token meets only RSA keys, ES* only EC keys on the alg's curve, HS* only oct
 * keys, EdDSA only OKP keys, whatever `alg` the JWK omits (the algorithm-confusion hole).
 */
export function keyFits(jwk: Jwk, a: Algorithm): bool {
  switch (a.family) {
    case KeyFamily.RSA_PKCS1:
    case KeyFamily.RSA_PSS: return jwk.rsa !== null;
    case KeyFamily.EC: {
      const ec = jwk.ec;
      return ec !== null && ec.curve == a.curve;
    }
    case KeyFamily.OCT: {
      // RFC 7518 §3.2: the key must be at least as long as the hash output (jwt_verify_lib takes any).
      const k = jwk.oct;
      return k !== null && k.length >= hashLength(a.hash);
    }
    default: return jwk.okp !== null || jwk.okpInvalid;
  }
}

/** One signature check with one fitting key (see keyFits). */
export function verifyWithKey(jwk: Jwk, a: Algorithm, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  switch (a.family) {
    case KeyFamily.RSA_PKCS1: {
      const k = jwk.rsa;
      return k !== null && verifyRsaPkcs1v15(k, a.hash, msg, msgLen, sig, sigLen);
    }
    case KeyFamily.RSA_PSS: {
      const k = jwk.rsa;
      return k !== null && verifyRsaPss(k, a.hash, msg, msgLen, sig, sigLen);
    }
    case KeyFamily.EC: {
      const k = jwk.ec;
      return k !== null && k.curve == a.curve && verifyEcdsa(k, a.hash, msg, msgLen, sig, sigLen);
    }
    case KeyFamily.OCT: {
      const k = jwk.oct;
      return k !== null && verifyHmac(a.hash, k.dataStart, k.length, msg, msgLen, sig, sigLen);
    }
    default: {
      const k = jwk.okp;
      return k !== null && verifyEd25519(k, msg, msgLen, sig, sigLen);
    }
  }
}

export class KeyMatch {
  status: Status = Status.Ok;
  /** The key that verified the token (on Ok). */
  key: Jwk | null = null;
}

/**
 * As jwt_verify_lib: keys are tried in document order; a key is skipped when both kids are set and
 * differ, or when the JWK has an alg other than the token's. No candidate at all gives
 * `JwksKidAlgMismatch`; candidates that all fail give `JwtVerificationFail`; an EdDSA signature that is
 * not 64 bytes gives `JwtEd25519SignatureWrongLength` at once.
 */
export function verifyJwtSignatureWithKey(jwt: Jwt, jwks: Jwks, out: KeyMatch): Status {
  const a = jwt.algorithm;
  if (a === null) return (out.status = Status.JwtHeaderNotImplementedAlg);
  let candidate = false;
  const keys = jwks.keys;
  const sig = jwt.signature;
  for (let i = 0; i < keys.length; i++) {
    const jwk = unchecked(keys[i]);
    if (jwt.hasKid && jwk.hasKid && jwk.kid != jwt.kid) continue;
    if (jwk.hasAlg && jwk.alg != jwt.alg) continue;
    if (!keyFits(jwk, a)) continue;
    candidate = true;
    if (a.family == KeyFamily.OKP && sig.length != 64) return (out.status = Status.JwtEd25519SignatureWrongLength);
    if (verifyWithKey(jwk, a, jwt.bytes.dataStart, jwt.signedLength, sig.dataStart, sig.length)) {
      out.key = jwk;
      return (out.status = Status.Ok);
    }
  }
  return (out.status = candidate ? Status.JwtVerificationFail : Status.JwksKidAlgMismatch);
}

/**
 * Whether the key that once verified this token (known by its fingerprint) is still one that key
 * selection would try for it: in the set, kid and JWK alg still matching, still fitting the alg. Then a
 * full check would pass too (that key verifies the signature), so a verified-token cache hit gives the
 * answer a miss gives. A key re-published under another kid or alg no longer selects.
 */
export function keyStillSelects(jwt: Jwt, jwks: Jwks, fingerprint: string): bool {
  const a = jwt.algorithm;
  if (a === null) return false;
  const keys = jwks.keys;
  for (let i = 0; i < keys.length; i++) {
    const jwk = unchecked(keys[i]);
    if (jwk.fingerprint != fingerprint) continue;
    if (jwt.hasKid && jwk.hasKid && jwk.kid != jwt.kid) continue;
    if (jwk.hasAlg && jwk.alg != jwt.alg) continue;
    if (keyFits(jwk, a)) return true;
  }
  return false;
}

export function verifyJwtSignature(jwt: Jwt, jwks: Jwks): Status {
  return verifyJwtSignatureWithKey(jwt, jwks, new KeyMatch());
}
