// Keys and tokens made in the tests with Node's crypto (the signing side only; verification is always
// the filter's own code).
import * as crypto from "crypto";

export type RsaAlg = "RS256" | "RS384" | "RS512";
export type Alg = RsaAlg | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "HS256" | "HS384" | "HS512" | "EdDSA";

export interface TestKey {
  kid: string;
  /** Signing key: a private KeyObject, or the HMAC secret. */
  privateKey: crypto.KeyObject;
  publicJwk: Record<string, unknown>;
}

const HASH: Record<string, string> = { 256: "sha256", 384: "sha384", 512: "sha512" };

/** A key of the type an alg needs (EC on the alg's curve, oct with a random secret, Ed25519, RSA 2048). */
export function makeKey(kid: string, alg: Alg, withAlg = false): TestKey {
  let publicJwk: Record<string, unknown>;
  let privateKey: crypto.KeyObject;
  if (alg.startsWith("ES")) {
    const namedCurve = { ES256: "P-256", ES384: "P-384", ES512: "P-521" }[alg as "ES256"];
    const kp = crypto.generateKeyPairSync("ec", { namedCurve });
    privateKey = kp.privateKey;
    publicJwk = kp.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
  } else if (alg === "EdDSA") {
    const kp = crypto.generateKeyPairSync("ed25519");
    privateKey = kp.privateKey;
    publicJwk = kp.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
  } else if (alg.startsWith("HS")) {
    privateKey = crypto.createSecretKey(crypto.randomBytes(64));
    publicJwk = { kty: "oct", k: privateKey.export().toString("base64url") };
  } else {
    const kp = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    privateKey = kp.privateKey;
    const j = kp.publicKey.export({ format: "jwk" }) as Record<string, unknown>;
    publicJwk = { kty: "RSA", n: j.n, e: j.e };
  }
  publicJwk.kid = kid;
  if (withAlg) publicJwk.alg = alg;
  return { kid, privateKey, publicJwk };
}

/** The JWS signature of `input` under `alg` (RFC 7518 §3). */
export function signatureOf(key: TestKey, alg: Alg, input: Buffer): Buffer {
  const hash = HASH[alg.slice(2)];
  if (alg === "EdDSA") return crypto.sign(null, input, key.privateKey);
  if (alg.startsWith("HS")) return crypto.createHmac(hash, key.privateKey).update(input).digest();
  if (alg.startsWith("ES")) return crypto.sign(hash, input, { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  if (alg.startsWith("PS")) {
    return crypto.sign(hash, input, { key: key.privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  }
  return crypto.sign(hash, input, key.privateKey);
}

export function makeRsaKey(kid: string, bits = 2048, alg?: RsaAlg): TestKey {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 65537 });
  const jwk = publicKey.export({ format: "jwk" }) as Record<string, unknown>;
  const publicJwk: Record<string, unknown> = { kty: "RSA", kid, n: jwk.n, e: jwk.e };
  if (alg) publicJwk.alg = alg;
  return { kid, privateKey, publicJwk };
}

export function jwksOf(...keys: TestKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
}

export function b64u(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

export function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs `header.payload` with the key; header and payload may be objects or raw strings. */
export function sign(key: TestKey, payload: object | string, opts: { alg?: Alg; header?: object | string; kid?: string | null } = {}): string {
  const alg = opts.alg ?? "RS256";
  const header = opts.header ?? (opts.kid === null ? { alg, typ: "JWT" } : { alg, typ: "JWT", kid: opts.kid ?? key.kid });
  const h = b64u(typeof header === "string" ? header : JSON.stringify(header));
  const p = b64u(typeof payload === "string" ? payload : JSON.stringify(payload));
  const input = `${h}.${p}`;
  return `${input}.${b64u(signatureOf(key, alg, Buffer.from(input)))}`;
}
