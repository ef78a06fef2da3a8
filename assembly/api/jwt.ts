// Library entry for the unit tests (build/jwt.wasm): the filter's own JWT pipeline without HTTP —
// parseJwt, the time and audience checks, JWKS parsing and the signature check — on raw UTF-8 inputs,
// so the jwt_verify_lib cases can be replayed with their exact Status. Not loaded by the filter.
import { Status } from "../status";
import { Jwt, parseJwt } from "../jwt/jwt";
import { checkTime, areAudiencesAllowed, normalizeAudience } from "../jwt/claims";
import { parseJwks } from "../jwks/jwks";
import { verifyJwtSignature } from "../jwks/verify";

let scratchBuf = new ArrayBuffer(1 << 16);

/** A scratch buffer of at least `size` bytes for the JS side to write inputs into; 0 if too large. */
export function scratch(size: i32): usize {
  if (size < 0 || size > (16 << 20)) return 0;
  if (size > scratchBuf.byteLength) scratchBuf = new ArrayBuffer(size);
  return changetype<usize>(scratchBuf);
}

function str(ptr: usize, len: i32): string {
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** jwt_verify_lib Jwt::parseFromString → Status value. */
export function jwtParse(ptr: usize, len: i32): i32 {
  return parseJwt(str(ptr, len), new Jwt());
}

/** Jwt::verifyTimeConstraint(now, skew) after a successful parse. */
export function jwtTime(ptr: usize, len: i32, nowS: f64, skewS: f64): i32 {
  const jwt = new Jwt();
  const s = parseJwt(str(ptr, len), jwt);
  if (s != Status.Ok) return s;
  return checkTime(jwt, nowS, skewS);
}

/** Jwks::createFrom(JWKS) → Status value; the key count is written by jwksKeyCount. */
let lastKeyCount: i32 = 0;
export function jwksParse(ptr: usize, len: i32): i32 {
  const set = parseJwks(ptr, len);
  lastKeyCount = set.keys.length;
  return set.status;
}
export function jwksKeyCount(): i32 {
  return lastKeyCount;
}

/**
 * verifyJwt(jwt, jwks, now[, audiences]): parse both, time (60 s skew), audiences (a list of
 * newline-separated allowed values, empty for none), then key selection and signature.
 */
export function jwtVerify(jwtPtr: usize, jwtLen: i32, jwksPtr: usize, jwksLen: i32, nowS: f64, audPtr: usize, audLen: i32): i32 {
  const jwt = new Jwt();
  let s = parseJwt(str(jwtPtr, jwtLen), jwt);
  if (s != Status.Ok) return s;
  const set = parseJwks(jwksPtr, jwksLen);
  if (set.status != Status.Ok) return set.status;
  if (nowS >= 0) {
    s = checkTime(jwt, nowS, 60);
    if (s != Status.Ok) return s;
  }
  if (audLen > 0) {
    const parts = str(audPtr, audLen).split("\n");
    const allowed: string[] = [];
    for (let i = 0; i < parts.length; i++) allowed.push(normalizeAudience(unchecked(parts[i])));
    if (!areAudiencesAllowed(jwt, allowed)) return Status.JwtAudienceNotAllowed;
  }
  return verifyJwtSignature(jwt, set);
}

/** CheckAudience(allowed).areAudiencesAllowed(jwt audiences): both newline-separated lists. */
export function audiencesAllowed(allowedPtr: usize, allowedLen: i32, audPtr: usize, audLen: i32): i32 {
  const jwt = new Jwt();
  if (audLen > 0) {
    const a = str(audPtr, audLen).split("\n");
    for (let i = 0; i < a.length; i++) jwt.audiences.push(unchecked(a[i]));
  }
  const allowed: string[] = [];
  if (allowedLen > 0) {
    const parts = str(allowedPtr, allowedLen).split("\n");
    for (let i = 0; i < parts.length; i++) allowed.push(normalizeAudience(unchecked(parts[i])));
  }
  return areAudiencesAllowed(jwt, allowed) ? 1 : 0;
}

/** A bare compact JWS (any payload) against a key set: header, key selection and signature only. */
export function jwsVerify(jwsPtr: usize, jwsLen: i32, jwksPtr: usize, jwksLen: i32): i32 {
  const jwt = new Jwt();
  const s = parseJwt(str(jwsPtr, jwsLen), jwt, false);
  if (s != Status.Ok) return s;
  const set = parseJwks(jwksPtr, jwksLen);
  if (set.status != Status.Ok) return set.status;
  return verifyJwtSignature(jwt, set);
}
