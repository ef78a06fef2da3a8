// Keys and tokens made in the tests with Node's crypto (the signing side only; verification is always
// the filter's own code).
import * as crypto from "crypto";

export type RsaAlg = "RS256" | "RS384" | "RS512";

export interface TestKey {
  kid: string;
  privateKey: crypto.KeyObject;
  publicJwk: Record<string, unknown>;
}

const HASH: Record<RsaAlg, string> = { RS256: "sha256", RS384: "sha384", RS512: "sha512" };

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
export function sign(key: TestKey, payload: object | string, opts: { alg?: RsaAlg; header?: object | string; kid?: string | null } = {}): string {
  const alg = opts.alg ?? "RS256";
  const header = opts.header ?? (opts.kid === null ? { alg, typ: "JWT" } : { alg, typ: "JWT", kid: opts.kid ?? key.kid });
  const h = b64u(typeof header === "string" ? header : JSON.stringify(header));
  const p = b64u(typeof payload === "string" ? payload : JSON.stringify(payload));
  const input = `${h}.${p}`;
  const sig = crypto.sign(HASH[alg], Buffer.from(input), key.privateKey);
  return `${input}.${b64u(sig)}`;
}
