// Owns a parsed key set (jwt_verify_lib's `Jwks`): the public keys with their kid/alg, and parseJwks(),
// which is lenient like jwt_verify_lib (a bad key is dropped, the set fails only when no key survives).
// Every per-key precomputation (RSA Montgomery constants) happens here, once, never per request.
import { Status } from "../status";
import { JsonValue, JsonKind, parseJson, JsonLimits } from "../util/json";
import { base64UrlDecodeString } from "../util/base64url";
import { RsaPublicKey, importRsaPublicKey } from "../crypto/rsa";

/** A JWKS body larger than this is refused (a fetch failure for a remote one). */
export const MAX_JWKS_BYTES: i32 = 256 * 1024;
/** Keys kept from one set; the rest are dropped (a real IdP publishes a handful). */
export const MAX_JWKS_KEYS: i32 = 256;

export class Jwk {
  kty: string = "";
  kid: string = "";
  hasKid: bool = false;
  alg: string = "";
  hasAlg: bool = false;
  rsa: RsaPublicKey | null = null;
}

export class Jwks {
  keys: Jwk[] = [];
  /** Ok when at least one key parsed; otherwise the first key error, or the document error. */
  status: Status = Status.Ok;
}

function optionalString(o: JsonValue, name: string): JsonValue | null {
  const v = o.get(name);
  return v;
}

/** extractJwkFromJwkRSA: `alg` must start with RS or PS; n and e strings; e is 3 or 65537. */
function parseRsaKey(o: JsonValue, jwk: Jwk): Status {
  if (jwk.hasAlg && !(jwk.alg.startsWith("RS") || jwk.alg.startsWith("PS"))) return Status.JwksRSAKeyBadAlg;
  const n = o.get("n");
  if (n === null) return Status.JwksRSAKeyMissingN;
  if (n.kind != JsonKind.String) return Status.JwksRSAKeyBadN;
  const e = o.get("e");
  if (e === null) return Status.JwksRSAKeyMissingE;
  if (e.kind != JsonKind.String) return Status.JwksRSAKeyBadE;
  const nb = base64UrlDecodeString(n.strValue);
  const eb = base64UrlDecodeString(e.strValue);
  if (nb === null || eb === null) return Status.JwksRsaParseError;
  const key = importRsaPublicKey(nb, eb);
  if (key === null) return Status.JwksRsaParseError;
  jwk.rsa = key;
  return Status.Ok;
}

function parseKey(o: JsonValue, jwk: Jwk): Status {
  const kty = o.get("kty");
  if (kty === null) return Status.JwksMissingKty;
  if (kty.kind != JsonKind.String) return Status.JwksBadKty;
  jwk.kty = kty.strValue;
  const kid = optionalString(o, "kid");
  if (kid !== null && kid.kind == JsonKind.String) {
    jwk.kid = kid.strValue;
    jwk.hasKid = true;
  }
  const alg = optionalString(o, "alg");
  if (alg !== null && alg.kind == JsonKind.String) {
    jwk.alg = alg.strValue;
    jwk.hasAlg = true;
  }
  if (jwk.kty == "RSA") return parseRsaKey(o, jwk);
  // EC, oct and OKP arrive with issue #3; like any unknown kty they are skipped.
  return Status.JwksNotImplementedKty;
}

/** Builds a key set from a parsed JSON document (RFC 7517 `{"keys": [...]}`). */
export function jwksFromJson(doc: JsonValue | null): Jwks {
  const out = new Jwks();
  if (doc === null || doc.kind != JsonKind.Object) {
    out.status = Status.JwksParseError;
    return out;
  }
  const keys = doc.get("keys");
  if (keys === null) {
    out.status = Status.JwksNoKeys;
    return out;
  }
  if (keys.kind != JsonKind.Array) {
    out.status = Status.JwksBadKeys;
    return out;
  }
  let firstError = Status.Ok;
  const items = keys.items;
  for (let i = 0; i < items.length && out.keys.length < MAX_JWKS_KEYS; i++) {
    const item = unchecked(items[i]);
    if (item.kind != JsonKind.Object) continue; // as jwt_verify_lib: non-object entries are skipped
    const jwk = new Jwk();
    const s = parseKey(item, jwk);
    if (s == Status.Ok) out.keys.push(jwk);
    else if (firstError == Status.Ok) firstError = s;
  }
  if (out.keys.length == 0) {
    out.status = firstError != Status.Ok ? firstError : Status.JwksNoValidKeys;
  }
  return out;
}

/** Parses JWKS text (bytes); over MAX_JWKS_BYTES or invalid JSON is `Jwks is an invalid JSON`. */
export function parseJwks(data: usize, len: i32): Jwks {
  if (len <= 0 || len > MAX_JWKS_BYTES) {
    const out = new Jwks();
    out.status = Status.JwksParseError;
    return out;
  }
  const limits = new JsonLimits();
  limits.maxBytes = MAX_JWKS_BYTES;
  limits.maxDepth = 32;
  limits.maxItems = 50000;
  return jwksFromJson(parseJson(data, len, limits));
}
