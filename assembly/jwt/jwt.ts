// Owns the parsed JWT (jwt_verify_lib's `Jwt`): the raw segments, the typed header and claims, the
// decoded signature, and parseJwt(), which turns a compact token into that struct or the first failing
// Status in jwt_verify_lib's order. It needs no keys and no clock.
import { Status } from "../status";
import { Algorithm, findAlgorithm } from "./algorithms";
import { base64UrlDecode } from "../util/base64url";
import { JsonValue, JsonKind, JsonLimits, parseJson } from "../util/json";

/** Longest token we look at; Envoy's default header limit is 60 KiB. */
export const MAX_TOKEN_BYTES: i32 = 64 * 1024;
/** A token's header and payload are small: these bounds keep a hostile one cheap. */
function tokenJsonLimits(): JsonLimits {
  const l = new JsonLimits();
  l.maxDepth = 64;
  l.maxBytes = MAX_TOKEN_BYTES;
  l.maxItems = 10000;
  return l;
}
const TOKEN_JSON_LIMITS = tokenJsonLimits();
/** 2^64 as f64: jwt_verify_lib rejects iat/nbf/exp at or above it. */
const TWO_POW_64: f64 = 18446744073709551616.0;

export class Jwt {
  /** UTF-8 bytes of the whole token; the signing input is its first `signedLength` bytes. */
  bytes: Uint8Array = new Uint8Array(0);
  signedLength: i32 = 0;
  /** The payload segment exactly as it appears in the token (for outputPayloadToHeader). */
  payloadB64: string = "";
  alg: string = "";
  algorithm: Algorithm | null = null;
  kid: string = "";
  hasKid: bool = false;
  iss: string = "";
  hasIss: bool = false;
  sub: string = "";
  hasSub: bool = false;
  audiences: string[] = [];
  iat: f64 = 0;
  nbf: f64 = 0;
  exp: f64 = 0;
  payload: JsonValue | null = null;
  signature: Uint8Array = new Uint8Array(0);
}

/** Reads a time claim: absent is 0; not a number, or out of [0, 2^64), is the claim's own error. */
function readTime(payload: JsonValue, name: string, notInteger: Status, outOfRange: Status, out: Jwt, which: i32): Status {
  const v = payload.get(name);
  if (v === null) return Status.Ok;
  if (v.kind != JsonKind.Number) return notInteger;
  const n = v.numValue;
  if (!(n >= 0) || n >= TWO_POW_64) return outOfRange;
  // jwt_verify_lib casts the double to uint64: a fraction is truncated.
  const t = Math.floor(n);
  if (which == 0) out.iat = t;
  else if (which == 1) out.nbf = t;
  else out.exp = t;
  return Status.Ok;
}

/**
 * Parses a compact JWS. Stricter than jwt_verify_lib in one place: it skips empty segments, so `a.b..c`
 * parses there; here the token must be exactly three non-empty segments separated by two dots.
 */
export function parseJwt(token: string, out: Jwt, payloadIsJwt: bool = true): Status {
  return parseJwtBytes(Uint8Array.wrap(String.UTF8.encode(token)), out, payloadIsJwt);
}

/** parseJwt over the token's bytes as the request carried them; `out.bytes` becomes `bytes` (no copy). */
export function parseJwtBytes(bytes: Uint8Array, out: Jwt, payloadIsJwt: bool = true): Status {
  const n = bytes.length;
  if (n == 0 || n > MAX_TOKEN_BYTES) return Status.JwtBadFormat;
  out.bytes = bytes;
  const base = bytes.dataStart;
  let dot1 = -1;
  let dot2 = -1;
  for (let i = 0; i < n; i++) {
    if (load<u8>(base + <usize>i) == 0x2e) {
      if (dot1 < 0) dot1 = i;
      else if (dot2 < 0) dot2 = i;
      else return Status.JwtBadFormat;
    }
  }
  if (dot1 <= 0 || dot2 < 0 || dot2 == dot1 + 1 || dot2 == n - 1) return Status.JwtBadFormat;
  out.signedLength = dot2;

  // Header.
  const header = base64UrlDecode(base, dot1);
  if (header === null) return Status.JwtHeaderParseErrorBadBase64;
  const hj = parseJson(header.dataStart, header.length, TOKEN_JSON_LIMITS);
  if (hj === null || hj.kind != JsonKind.Object) return Status.JwtHeaderParseErrorBadJson;
  const alg = hj.get("alg");
  if (alg === null || alg.kind != JsonKind.String) return Status.JwtHeaderBadAlg;
  out.alg = alg.strValue;
  const algorithm = findAlgorithm(alg.strValue);
  if (algorithm === null) return Status.JwtHeaderNotImplementedAlg;
  out.algorithm = algorithm;
  const kid = hj.get("kid");
  if (kid !== null) {
    if (kid.kind != JsonKind.String) return Status.JwtHeaderBadKid;
    out.kid = kid.strValue;
    out.hasKid = true;
  }

  // Payload.
  const pStart = dot1 + 1;
  const pLen = dot2 - pStart;
  out.payloadB64 = String.UTF8.decodeUnsafe(base + <usize>pStart, <usize>pLen);
  const payloadBytes = base64UrlDecode(base + <usize>pStart, pLen);
  if (payloadBytes === null) return Status.JwtPayloadParseErrorBadBase64;
  // A bare JWS (the JOSE test vectors) signs any payload; a JWT's is a JSON claims set.
  if (!payloadIsJwt) return parseSignature(base, n, dot2, out);
  const pj = parseJson(payloadBytes.dataStart, payloadBytes.length, TOKEN_JSON_LIMITS);
  if (pj === null || pj.kind != JsonKind.Object) return Status.JwtPayloadParseErrorBadJson;
  out.payload = pj;
  const iss = pj.get("iss");
  if (iss !== null) {
    if (iss.kind != JsonKind.String) return Status.JwtPayloadParseErrorIssNotString;
    out.iss = iss.strValue;
    out.hasIss = true;
  }
  const sub = pj.get("sub");
  if (sub !== null) {
    if (sub.kind != JsonKind.String) return Status.JwtPayloadParseErrorSubNotString;
    out.sub = sub.strValue;
    out.hasSub = true;
  }
  let s = readTime(pj, "iat", Status.JwtPayloadParseErrorIatNotInteger, Status.JwtPayloadParseErrorIatOutOfRange, out, 0);
  if (s != Status.Ok) return s;
  s = readTime(pj, "nbf", Status.JwtPayloadParseErrorNbfNotInteger, Status.JwtPayloadParseErrorNbfOutOfRange, out, 1);
  if (s != Status.Ok) return s;
  s = readTime(pj, "exp", Status.JwtPayloadParseErrorExpNotInteger, Status.JwtPayloadParseErrorExpOutOfRange, out, 2);
  if (s != Status.Ok) return s;
  const jti = pj.get("jti");
  if (jti !== null && jti.kind != JsonKind.String) return Status.JwtPayloadParseErrorJtiNotString;
  const aud = pj.get("aud");
  if (aud !== null) {
    if (aud.kind == JsonKind.String) {
      out.audiences.push(aud.strValue);
    } else if (aud.kind == JsonKind.Array) {
      const items = aud.items;
      for (let i = 0; i < items.length; i++) {
        const it = unchecked(items[i]);
        if (it.kind != JsonKind.String) return Status.JwtPayloadParseErrorAudNotString;
        out.audiences.push(it.strValue);
      }
    } else {
      return Status.JwtPayloadParseErrorAudNotString;
    }
  }

  return parseSignature(base, n, dot2, out);
}

function parseSignature(base: usize, n: i32, dot2: i32, out: Jwt): Status {
  const sig = base64UrlDecode(base + <usize>(dot2 + 1), n - dot2 - 1);
  if (sig === null) return Status.JwtSignatureParseErrorBadBase64;
  out.signature = sig;
  return Status.Ok;
}
