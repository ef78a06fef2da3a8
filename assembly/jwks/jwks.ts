// Owns a parsed key set (jwt_verify_lib's `Jwks`): the public keys with their kid/alg, and parseJwks(),
// lenient like jwt_verify_lib (a bad key is dropped, the set fails only when no key survives), with
// jwt_verify_lib's status for every key error. Every per-key precomputation (RSA Montgomery constants,
// EC and Ed25519 point tables) happens here, once, never per request.
import { Status } from "../status";
import { JsonValue, JsonKind, parseJson, JsonLimits } from "../util/json";
import { base64UrlDecodeString } from "../util/base64url";
import { RsaPublicKey, importRsaPublicKey } from "../crypto/rsa";
import { Curve, EcPublicKey, importEcPublicKey, curveByteLength } from "../crypto/ecdsa";
import { Ed25519PublicKey, importEd25519PublicKey } from "../crypto/ed25519";
import { rsaKeyFromPemCertificate } from "../crypto/x509";
import { isRocaVulnerable } from "../crypto/roca";

/** A JWKS body larger than this is refused (a fetch failure for a remote one). */
export const MAX_JWKS_BYTES: i32 = 256 * 1024;
/** Keys kept from one set; the rest are dropped (a real IdP publishes a handful). */
export const MAX_JWKS_KEYS: i32 = 256;
/** An HMAC secret longer than this is refused (a JWKS is not the place for megabyte secrets). */
const MAX_OCT_KEY_BYTES: i32 = 4096;

const PEM_CERT_BEGIN = "-----BEGIN CERTIFICATE-----";

export class Jwk {
  kty: string = "";
  kid: string = "";
  hasKid: bool = false;
  alg: string = "";
  hasAlg: bool = false;
  rsa: RsaPublicKey | null = null;
  ec: EcPublicKey | null = null;
  okp: Ed25519PublicKey | null = null;
  /** The HMAC secret of an `oct` key (non-empty). */
  oct: Uint8Array | null = null;
  /**
   * An OKP key whose 32 bytes are not a valid Ed25519 point: kept, as jwt_verify_lib keeps it (OpenSSL
   * imports any 32 bytes), so the set's status and key count match Envoy's, but it never verifies.
   */
  okpInvalid: bool = false;
  /**
   * The key's identity: kty and its public material exactly as published. The verified-token cache
   * remembers which key verified a token by it, so an entry dies when its key leaves the set.
   */
  fingerprint: string = "";
}

function memberText(o: JsonValue, name: string): string {
  const v = o.get(name);
  return v !== null && v.kind == JsonKind.String ? v.strValue : "";
}

export class Jwks {
  keys: Jwk[] = [];
  /** Ok when at least one key parsed; otherwise the first key error, or the document error. */
  status: Status = Status.Ok;
}

/** A member that must be a string when present: "" when absent, null when of another type. */
function optString(o: JsonValue, name: string): string | null {
  const v = o.get(name);
  if (v === null) return "";
  return v.kind == JsonKind.String ? v.strValue : null;
}

/** `b` left-padded with zero bytes to `len`; unchanged when it is already as long or longer. */
function leftPad(b: Uint8Array, len: i32): Uint8Array {
  if (b.length >= len) return b;
  const out = new Uint8Array(len);
  memory.copy(out.dataStart + <usize>(len - b.length), b.dataStart, <usize>b.length);
  return out;
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
  // Stricter than jwt_verify_lib: a ROCA-vulnerable modulus (recoverable private key) is refused.
  if (key === null || isRocaVulnerable(key.modulus)) return Status.JwksRsaParseError;
  jwk.rsa = key;
  return Status.Ok;
}

/**
 * extractJwkFromJwkEC: `alg` starts with ES; `crv` a string; both present must agree; both absent means
 * P-256; x and y base64url of a point on the curve.
 */
function parseEcKey(o: JsonValue, jwk: Jwk): Status {
  if (jwk.hasAlg && !jwk.alg.startsWith("ES")) return Status.JwksECKeyBadAlg;
  const crv = optString(o, "crv");
  if (crv === null) return Status.JwksECKeyBadCrv;
  const alg = jwk.hasAlg ? jwk.alg : "";
  if (alg.length > 0 && crv.length > 0) {
    if (!((alg == "ES256" && crv == "P-256") || (alg == "ES384" && crv == "P-384") || (alg == "ES512" && crv == "P-521"))) {
      return Status.JwksECKeyAlgNotCompatibleWithCrv;
    }
  }
  let curve: Curve;
  if ((alg.length == 0 && crv.length == 0) || alg == "ES256" || crv == "P-256") curve = Curve.P256;
  else if (alg == "ES384" || crv == "P-384") curve = Curve.P384;
  else if (alg == "ES512" || crv == "P-521") curve = Curve.P521;
  else return Status.JwksECKeyAlgOrCrvUnsupported;
  const x = o.get("x");
  if (x === null) return Status.JwksECKeyMissingX;
  if (x.kind != JsonKind.String) return Status.JwksECKeyBadX;
  const y = o.get("y");
  if (y === null) return Status.JwksECKeyMissingY;
  if (y.kind != JsonKind.String) return Status.JwksECKeyBadY;
  let xb = base64UrlDecodeString(x.strValue);
  let yb = base64UrlDecodeString(y.strValue);
  if (xb === null || yb === null) return Status.JwksEcXorYBadBase64;
  // RFC 7518 §6.2.1.2 wants full-size coordinates, but OpenSSL (so Envoy) accepts them with leading zero
  // bytes dropped, and some IdPs publish them so: shorter ones are padded back.
  const len = curveByteLength(curve);
  xb = leftPad(xb, len);
  yb = leftPad(yb, len);
  const key = importEcPublicKey(curve, xb, yb);
  if (key === null) return Status.JwksEcParseError;
  jwk.ec = key;
  return Status.Ok;
}

/** extractJwkFromJwkOct: `alg` is HS256/384/512; `k` a non-empty base64url string. */
function parseOctKey(o: JsonValue, jwk: Jwk): Status {
  if (jwk.hasAlg && jwk.alg != "HS256" && jwk.alg != "HS384" && jwk.alg != "HS512") return Status.JwksHMACKeyBadAlg;
  const k = o.get("k");
  if (k === null) return Status.JwksHMACKeyMissingK;
  if (k.kind != JsonKind.String) return Status.JwksHMACKeyBadK;
  const kb = base64UrlDecodeString(k.strValue);
  if (kb === null || kb.length == 0 || kb.length > MAX_OCT_KEY_BYTES) return Status.JwksOctBadBase64;
  jwk.oct = kb;
  return Status.Ok;
}

/** extractJwkFromJwkOKP: `alg` is EdDSA; `crv` is Ed25519; `x` is 32 bytes of a valid point. */
function parseOkpKey(o: JsonValue, jwk: Jwk): Status {
  if (jwk.hasAlg && jwk.alg != "EdDSA") return Status.JwksOKPKeyBadAlg;
  const crv = o.get("crv");
  if (crv === null) return Status.JwksOKPKeyMissingCrv;
  if (crv.kind != JsonKind.String) return Status.JwksOKPKeyBadCrv;
  if (crv.strValue != "Ed25519") return Status.JwksOKPKeyCrvUnsupported;
  const x = o.get("x");
  if (x === null) return Status.JwksOKPKeyMissingX;
  if (x.kind != JsonKind.String) return Status.JwksOKPKeyBadX;
  const xb = base64UrlDecodeString(x.strValue);
  if (xb === null) return Status.JwksOKPXBadBase64;
  if (xb.length != 32) return Status.JwksOKPXWrongLength;
  const key = importEd25519PublicKey(xb);
  if (key === null) jwk.okpInvalid = true;
  else jwk.okp = key;
  return Status.Ok;
}

/** Whether a key is for signatures: `use` other than "sig", or `key_ops` without "verify", excludes it. */
export function isSigningKey(o: JsonValue): bool {
  const use = o.get("use");
  if (use !== null && (use.kind != JsonKind.String || use.strValue != "sig")) return false;
  const ops = o.get("key_ops");
  if (ops !== null) {
    if (ops.kind != JsonKind.Array) return false;
    let verify = false;
    const items = ops.items;
    for (let i = 0; i < items.length; i++) {
      const it = unchecked(items[i]);
      if (it.kind == JsonKind.String && it.strValue == "verify") verify = true;
    }
    if (!verify) return false;
  }
  return true;
}

/** Parses one JWK object into `jwk`; Ok, or jwt_verify_lib's status for the first problem. */
export function parseJwk(o: JsonValue, jwk: Jwk): Status {
  const kty = o.get("kty");
  if (kty === null) return Status.JwksMissingKty;
  if (kty.kind != JsonKind.String) return Status.JwksBadKty;
  jwk.kty = kty.strValue;
  const kid = o.get("kid");
  if (kid !== null && kid.kind == JsonKind.String) {
    jwk.kid = kid.strValue;
    jwk.hasKid = true;
  }
  const alg = o.get("alg");
  if (alg !== null) {
    if (alg.kind != JsonKind.String) return Status.JwksBadKty;
    jwk.alg = alg.strValue;
    jwk.hasAlg = true;
  }
  let s: Status;
  if (jwk.kty == "RSA") s = parseRsaKey(o, jwk);
  else if (jwk.kty == "EC") s = parseEcKey(o, jwk);
  else if (jwk.kty == "oct") s = parseOctKey(o, jwk);
  else if (jwk.kty == "OKP") s = parseOkpKey(o, jwk);
  else return Status.JwksNotImplementedKty;
  if (s == Status.Ok) {
    jwk.fingerprint = jwk.kty + "|" + memberText(o, "crv") + "|" + memberText(o, "n") + "|" + memberText(o, "e") + "|" +
      memberText(o, "x") + "|" + memberText(o, "y") + "|" + memberText(o, "k");
  }
  return s;
}

/** Google's `{kid: "-----BEGIN CERTIFICATE-----..."}` map: every member a PEM certificate string. */
function isX509Map(doc: JsonValue): bool {
  if (doc.keys.length == 0) return false;
  const values = doc.values;
  for (let i = 0; i < values.length; i++) {
    const v = unchecked(values[i]);
    if (v.kind != JsonKind.String || !v.strValue.startsWith(PEM_CERT_BEGIN)) return false;
  }
  return true;
}

function jwksFromX509Map(doc: JsonValue, out: Jwks): void {
  let firstError = Status.Ok;
  for (let i = 0; i < doc.keys.length && out.keys.length < MAX_JWKS_KEYS; i++) {
    const key = rsaKeyFromPemCertificate(unchecked(doc.values[i]).strValue);
    if (key === null || isRocaVulnerable(key.modulus)) {
      if (firstError == Status.Ok) firstError = Status.JwksX509ParseError;
      continue;
    }
    const jwk = new Jwk();
    jwk.kty = "RSA";
    jwk.kid = unchecked(doc.keys[i]);
    jwk.hasKid = true;
    jwk.rsa = key;
    jwk.fingerprint = "x509|" + unchecked(doc.values[i]).strValue;
    out.keys.push(jwk);
  }
  if (out.keys.length == 0) out.status = firstError != Status.Ok ? firstError : Status.JwksNoValidKeys;
}

/**
 * Builds a key set from a parsed JSON document (RFC 7517 `{"keys": [...]}` or Google's x509 map).
 * `inline` is true for a key set written into the plugin configuration: private configuration may hold
 * HMAC secrets next to public keys; a published (fetched) set may not (see dropAmbiguousKeys).
 */
export function jwksFromJson(doc: JsonValue | null, inline: bool = false): Jwks {
  const out = new Jwks();
  if (doc === null || doc.kind != JsonKind.Object) {
    out.status = Status.JwksParseError;
    return out;
  }
  const keys = doc.get("keys");
  if (keys === null) {
    if (isX509Map(doc)) jwksFromX509Map(doc, out);
    else out.status = Status.JwksNoKeys;
    return out;
  }
  if (keys.kind != JsonKind.Array) {
    out.status = Status.JwksBadKeys;
    return out;
  }
  let firstError = Status.Ok;
  const items = keys.items;
  // How often each (kty, kid) appears among all entries, usable or not: a kid is ambiguous even when its
  // twin does not parse or sits past the keys kept. One pass, one map: linear in the entries.
  const ids = new Map<string, i32>();
  for (let i = 0; i < items.length; i++) {
    const item = unchecked(items[i]);
    if (item.kind != JsonKind.Object) continue;
    const kid = item.get("kid");
    const kty = item.get("kty");
    if (kid !== null && kid.kind == JsonKind.String && kty !== null && kty.kind == JsonKind.String) {
      const id = kty.strValue + "\u0000" + kid.strValue;
      ids.set(id, ids.has(id) ? ids.get(id) + 1 : 1);
    }
  }
  for (let i = 0; i < items.length && out.keys.length < MAX_JWKS_KEYS; i++) {
    const item = unchecked(items[i]);
    if (item.kind != JsonKind.Object) continue; // as jwt_verify_lib: non-object entries are skipped
    // Stricter than jwt_verify_lib (which ignores `use`): an encryption key never verifies a token.
    if (!isSigningKey(item)) continue;
    const jwk = new Jwk();
    const s = parseJwk(item, jwk);
    if (s == Status.Ok) out.keys.push(jwk);
    else if (firstError == Status.Ok) firstError = s;
  }
  dropAmbiguousKeys(out, ids, inline);
  if (out.keys.length == 0) {
    out.status = firstError != Status.Ok ? firstError : Status.JwksNoValidKeys;
  }
  return out;
}

/**
 * Stricter than jwt_verify_lib, where either case lets a token verify with a key it was not meant for:
 * - a published (fetched) set with asymmetric keys must not carry shared secrets: its `oct` keys are
 *   dropped (Wycheproof's mixed-key-set case); an inline set in the configuration may mix them;
 * - a kid that names two keys of the same type names neither (RFC 7517 §4.5 allows one kid for keys of
 *   different types only): both are dropped.
 */
function dropAmbiguousKeys(set: Jwks, ids: Map<string, i32>, inline: bool): void {
  const keys = set.keys;
  let asymmetric = false;
  if (!inline) {
    for (let i = 0; i < keys.length; i++) {
      if (unchecked(keys[i]).kty != "oct") asymmetric = true;
    }
  }
  const kept: Jwk[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = unchecked(keys[i]);
    if (asymmetric && k.kty == "oct") continue;
    if (k.hasKid) {
      const id = k.kty + "\u0000" + k.kid;
      if (ids.has(id) && ids.get(id) > 1) continue;
    }
    kept.push(k);
  }
  set.keys = kept;
}

export function jwksJsonLimits(): JsonLimits {
  const limits = new JsonLimits();
  limits.maxBytes = MAX_JWKS_BYTES;
  limits.maxDepth = 32;
  limits.maxItems = 50000;
  return limits;
}

/** Parses JWKS text (bytes); over MAX_JWKS_BYTES or invalid JSON is `Jwks is an invalid JSON`. */
export function parseJwks(data: usize, len: i32): Jwks {
  if (len <= 0 || len > MAX_JWKS_BYTES) {
    const out = new Jwks();
    out.status = Status.JwksParseError;
    return out;
  }
  return jwksFromJson(parseJson(data, len, jwksJsonLimits()));
}
