// Owns the one Status enum of the filter: jwt_verify_lib's values, names and exact strings (status.h /
// status.cc at b59e807), and the one mapping from a Status to the HTTP answer Envoy's jwt_authn gives.
// Nothing else in the filter spells a status string or picks a status code.

export enum Status {
  Ok = 0,
  JwtMissed = 1,
  JwtNotYetValid = 2,
  JwtExpired = 3,
  JwtBadFormat = 4,
  JwtHeaderParseErrorBadBase64 = 5,
  JwtHeaderParseErrorBadJson = 6,
  JwtHeaderBadAlg = 7,
  JwtHeaderNotImplementedAlg = 8,
  JwtHeaderBadKid = 9,
  JwtPayloadParseErrorBadBase64 = 10,
  JwtPayloadParseErrorBadJson = 11,
  JwtPayloadParseErrorIssNotString = 12,
  JwtPayloadParseErrorSubNotString = 13,
  JwtPayloadParseErrorIatNotInteger = 14,
  JwtPayloadParseErrorIatOutOfRange = 15,
  JwtPayloadParseErrorNbfNotInteger = 16,
  JwtPayloadParseErrorNbfOutOfRange = 17,
  JwtPayloadParseErrorExpNotInteger = 18,
  JwtPayloadParseErrorExpOutOfRange = 19,
  JwtPayloadParseErrorJtiNotString = 20,
  JwtPayloadParseErrorAudNotString = 21,
  JwtSignatureParseErrorBadBase64 = 22,
  JwtEd25519SignatureWrongLength = 23,
  JwtUnknownIssuer = 24,
  JwtAudienceNotAllowed = 25,
  JwtVerificationFail = 26,
  JwtMultipleTokens = 27,
  JwksParseError = 28,
  JwksNoKeys = 29,
  JwksBadKeys = 30,
  JwksNoValidKeys = 31,
  JwksKidAlgMismatch = 32,
  JwksRsaParseError = 33,
  JwksEcCreateKeyFail = 34,
  JwksEcXorYBadBase64 = 35,
  JwksEcParseError = 36,
  JwksOctBadBase64 = 37,
  JwksOKPXBadBase64 = 38,
  JwksOKPXWrongLength = 39,
  JwksFetchFail = 40,
  JwksMissingKty = 41,
  JwksBadKty = 42,
  JwksNotImplementedKty = 43,
  JwksRSAKeyBadAlg = 44,
  JwksRSAKeyMissingN = 45,
  JwksRSAKeyBadN = 46,
  JwksRSAKeyMissingE = 47,
  JwksRSAKeyBadE = 48,
  JwksECKeyBadAlg = 49,
  JwksECKeyBadCrv = 50,
  JwksECKeyAlgOrCrvUnsupported = 51,
  JwksECKeyAlgNotCompatibleWithCrv = 52,
  JwksECKeyMissingX = 53,
  JwksECKeyBadX = 54,
  JwksECKeyMissingY = 55,
  JwksECKeyBadY = 56,
  JwksHMACKeyBadAlg = 57,
  JwksHMACKeyMissingK = 58,
  JwksHMACKeyBadK = 59,
  JwksOKPKeyBadAlg = 60,
  JwksOKPKeyMissingCrv = 61,
  JwksOKPKeyBadCrv = 62,
  JwksOKPKeyCrvUnsupported = 63,
  JwksOKPKeyMissingX = 64,
  JwksOKPKeyBadX = 65,
  JwksX509BioWriteError = 66,
  JwksX509ParseError = 67,
  JwksX509GetPubkeyError = 68,
  JwksPemNotImplementedKty = 69,
  JwksPemBadBase64 = 70,
  JwksPemGetRawEd25519Error = 71,
  JwksBioAllocError = 72,
  // Ours, beyond jwt_verify_lib (the README's stricter-than-Envoy list names each).
  /** More tokens in one request than the filter checks (authn/extractor.ts MAX_TOKENS): refused whole. */
  JwtTooManyTokens = 73,
}

/** The exact text jwt_verify_lib's getStatusString() returns, which Envoy sends as the 401/403 body. */
export function statusString(s: Status): string {
  switch (s) {
    case Status.Ok: return "OK";
    case Status.JwtMissed: return "Jwt is missing";
    case Status.JwtNotYetValid: return "Jwt not yet valid";
    case Status.JwtExpired: return "Jwt is expired";
    case Status.JwtBadFormat: return "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
    case Status.JwtHeaderParseErrorBadBase64: return "Jwt header is an invalid Base64url encoded";
    case Status.JwtHeaderParseErrorBadJson: return "Jwt header is an invalid JSON";
    case Status.JwtHeaderBadAlg: return "Jwt header [alg] field is required and must be a string";
    case Status.JwtHeaderNotImplementedAlg: return "Jwt header [alg] is not supported";
    case Status.JwtHeaderBadKid: return "Jwt header [kid] field is not a string";
    case Status.JwtPayloadParseErrorBadBase64: return "Jwt payload is an invalid Base64url encoded";
    case Status.JwtPayloadParseErrorBadJson: return "Jwt payload is an invalid JSON";
    case Status.JwtPayloadParseErrorIssNotString: return "Jwt payload [iss] field is not a string";
    case Status.JwtPayloadParseErrorSubNotString: return "Jwt payload [sub] field is not a string";
    case Status.JwtPayloadParseErrorIatNotInteger: return "Jwt payload [iat] field is not an integer";
    case Status.JwtPayloadParseErrorIatOutOfRange: return "Jwt payload [iat] field is not a positive 64 bit integer";
    case Status.JwtPayloadParseErrorNbfNotInteger: return "Jwt payload [nbf] field is not an integer";
    case Status.JwtPayloadParseErrorNbfOutOfRange: return "Jwt payload [nbf] field is not a positive 64 bit integer";
    case Status.JwtPayloadParseErrorExpNotInteger: return "Jwt payload [exp] field is not an integer";
    case Status.JwtPayloadParseErrorExpOutOfRange: return "Jwt payload [exp] field is not a positive 64 bit integer";
    case Status.JwtPayloadParseErrorJtiNotString: return "Jwt payload [jti] field is not a string";
    case Status.JwtPayloadParseErrorAudNotString: return "Jwt payload [aud] field is not a string or string list";
    case Status.JwtSignatureParseErrorBadBase64: return "Jwt signature is an invalid Base64url encoded";
    case Status.JwtEd25519SignatureWrongLength: return "Jwt ED25519 signature is wrong length";
    case Status.JwtUnknownIssuer: return "Jwt issuer is not configured";
    case Status.JwtAudienceNotAllowed: return "Audiences in Jwt are not allowed";
    case Status.JwtVerificationFail: return "Jwt verification fails";
    case Status.JwtMultipleTokens: return "Found multiple Jwt tokens";
    case Status.JwksParseError: return "Jwks is an invalid JSON";
    case Status.JwksNoKeys: return "Jwks does not have [keys] field";
    case Status.JwksBadKeys: return "[keys] in Jwks is not an array";
    case Status.JwksNoValidKeys: return "Jwks doesn't have any valid public key";
    case Status.JwksKidAlgMismatch: return "Jwks doesn't have key to match kid or alg from Jwt";
    case Status.JwksRsaParseError: return "Jwks RSA [n] or [e] field is missing or has a parse error";
    case Status.JwksEcCreateKeyFail: return "Jwks EC create key fail";
    case Status.JwksEcXorYBadBase64: return "Jwks EC [x] or [y] field is an invalid Base64.";
    case Status.JwksEcParseError: return "Jwks EC [x] and [y] fields have a parse error.";
    case Status.JwksOctBadBase64: return "Jwks Oct key is an invalid Base64";
    case Status.JwksOKPXBadBase64: return "Jwks OKP [x] field is an invalid Base64.";
    case Status.JwksOKPXWrongLength: return "Jwks OKP [x] field is wrong length.";
    case Status.JwksFetchFail: return "Jwks remote fetch is failed";
    case Status.JwksMissingKty: return "[kty] is missing in [keys]";
    case Status.JwksBadKty: return "[kty] is bad in [keys]";
    case Status.JwksNotImplementedKty: return "[kty] is not supported in [keys]";
    case Status.JwksRSAKeyBadAlg: return "[alg] is not started with [RS] or [PS] for an RSA key";
    case Status.JwksRSAKeyMissingN: return "[n] field is missing for a RSA key";
    case Status.JwksRSAKeyBadN: return "[n] field is not string for a RSA key";
    case Status.JwksRSAKeyMissingE: return "[e] field is missing for a RSA key";
    case Status.JwksRSAKeyBadE: return "[e] field is not string for a RSA key";
    case Status.JwksECKeyBadAlg: return "[alg] is not started with [ES] for an EC key";
    case Status.JwksECKeyBadCrv: return "[crv] field is not string for an EC key";
    case Status.JwksECKeyAlgOrCrvUnsupported: return "[crv] or [alg] field is not supported for an EC key";
    case Status.JwksECKeyAlgNotCompatibleWithCrv: return "[crv] field specified is not compatible with [alg] for an EC key";
    case Status.JwksECKeyMissingX: return "[x] field is missing for an EC key";
    case Status.JwksECKeyBadX: return "[x] field is not string for an EC key";
    case Status.JwksECKeyMissingY: return "[y] field is missing for an EC key";
    case Status.JwksECKeyBadY: return "[y] field is not string for an EC key";
    case Status.JwksHMACKeyBadAlg: return "[alg] does not start with [HS] for an HMAC key";
    case Status.JwksHMACKeyMissingK: return "[k] field is missing for an HMAC key";
    case Status.JwksHMACKeyBadK: return "[k] field is not string for an HMAC key";
    case Status.JwksOKPKeyBadAlg: return "[alg] is not [EdDSA] for an OKP key";
    case Status.JwksOKPKeyMissingCrv: return "[crv] field is missing for an OKP key";
    case Status.JwksOKPKeyBadCrv: return "[crv] field is not string for an OKP key";
    case Status.JwksOKPKeyCrvUnsupported: return "[crv] field is not supported for an OKP key";
    case Status.JwksOKPKeyMissingX: return "[x] field is missing for an OKP key";
    case Status.JwksOKPKeyBadX: return "[x] field is not string for an OKP key";
    case Status.JwksX509BioWriteError: return "X509 parse pubkey internal fails: memory allocation";
    case Status.JwksX509ParseError: return "X509 parse pubkey fails";
    case Status.JwksX509GetPubkeyError: return "X509 parse pubkey internal fails: get pubkey";
    case Status.JwksPemNotImplementedKty: return "PEM Key type is not supported";
    case Status.JwksPemBadBase64: return "PEM pubkey parse fails";
    case Status.JwksPemGetRawEd25519Error: return "PEM failed to get raw ED25519 key";
    case Status.JwksBioAllocError: return "Failed to create BIO due to memory allocation failure";
    case Status.JwtTooManyTokens: return "Jwt count exceeds the limit of 16 per request";
  }
  // As jwt_verify_lib: the switch is exhaustive (see its issues/91).
  return "";
}

/** Envoy's jwt_authn answers every failure with 401, except an audience mismatch, which is 403. */
export function httpCodeFor(s: Status): u32 {
  if (s == Status.Ok) return 200;
  return s == Status.JwtAudienceNotAllowed ? 403 : 401;
}
