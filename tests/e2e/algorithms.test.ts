// Every JWS algorithm Envoy accepts, end to end through the filter, against one JWKS that mixes every key
// type; and the algorithm-confusion attacks a kty-blind verifier falls for, each rejected.
import * as crypto from "crypto";
import { startBackend, request, Backend } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeKey, sign, b64u, nowS, TestKey, Alg } from "../helpers/tokens";

const ALGS: Alg[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA"];
const ISS = "https://mixed.example.com";

let backend: Backend;
let gw: TestGateway;
const keys = new Map<Alg, TestKey>();

beforeAll(async () => {
  backend = await startBackend();
  // One key per alg; half carry their `alg` member, half do not.
  ALGS.forEach((alg, i) => keys.set(alg, makeKey(`kid-${alg}`, alg, i % 2 === 0)));
  const x25519 = crypto.generateKeyPairSync("x25519").publicKey.export({ format: "jwk" });
  const jwks = JSON.stringify({
    keys: [
      { kty: "RSA", use: "enc", kid: "enc-key", n: keys.get("RS256")!.publicJwk.n, e: "AQAB" },
      { ...x25519, kid: "x25519" },
      ...ALGS.map((a) => keys.get(a)!.publicJwk),
    ],
  });
  gw = await startGateway({ jwtRules: [{ issuer: ISS, jwks }] }, backend.url);
});
afterAll(async () => {
  await gw.close();
  await backend.close();
});

const call = (t: string) => request(gw.url + "/", { headers: { authorization: `Bearer ${t}` } });
const claims = () => ({ iss: ISS, sub: "s", exp: nowS() + 600 });

test.each(ALGS)("%s: accepted with its key, with and without kid; a flipped signature bit is rejected", async (alg) => {
  const key = keys.get(alg)!;
  expect((await call(sign(key, claims(), { alg }))).status).toBe(200);
  expect((await call(sign(key, claims(), { alg, kid: null }))).status).toBe(200);
  const t = sign(key, claims(), { alg });
  const [h, p, s] = t.split(".");
  const sig = Buffer.from(s, "base64url");
  sig[sig.length >> 1] ^= 0x10;
  const r = await call(`${h}.${p}.${b64u(sig)}`);
  expect(r.status).toBe(401);
  expect(r.body).toBe("Jwt verification fails");
});

test.each(ALGS)("%s: a token signed by another key of the same type is rejected", async (alg) => {
  const stranger = makeKey(`kid-${alg}`, alg);
  const r = await call(sign(stranger, claims(), { alg }));
  expect(r.status).toBe(401);
  expect(r.body).toBe("Jwt verification fails");
});

test("an EdDSA signature of the wrong length", async () => {
  const t = sign(keys.get("EdDSA")!, claims(), { alg: "EdDSA" });
  const [h, p, s] = t.split(".");
  const r = await call(`${h}.${p}.${b64u(Buffer.from(s, "base64url").subarray(0, 63))}`);
  expect(r.status).toBe(401);
  expect(r.body).toBe("Jwt ED25519 signature is wrong length");
});

test("an ES256 signature of the wrong length (DER, or r||s of the wrong size) is rejected", async () => {
  const key = keys.get("ES256")!;
  const input = `${b64u(JSON.stringify({ alg: "ES256", kid: key.kid }))}.${b64u(JSON.stringify(claims()))}`;
  const der = crypto.sign("sha256", Buffer.from(input), key.privateKey);
  for (const sig of [der, Buffer.concat([Buffer.alloc(1), crypto.sign("sha256", Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" })])]) {
    const r = await call(`${input}.${b64u(sig)}`);
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt verification fails");
  }
});

describe("algorithm confusion", () => {
  test("HS256 keyed with an RSA public key's bytes is not verified with the RSA key", async () => {
    const rsa = keys.get("RS256")!;
    const input = `${b64u(JSON.stringify({ alg: "HS256", kid: rsa.kid }))}.${b64u(JSON.stringify(claims()))}`;
    const secrets = [Buffer.from(String(rsa.publicJwk.n), "base64url"), Buffer.from(JSON.stringify(rsa.publicJwk))];
    for (const secret of secrets) {
      const r = await call(`${input}.${b64u(crypto.createHmac("sha256", secret).update(input).digest())}`);
      expect(r.status).toBe(401);
      // The only key with that kid is an RSA key, which can never verify HS256.
      expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    }
  });

  test("an RS256 header over an HMAC made with an oct key's secret is rejected", async () => {
    const oct = keys.get("HS512")!;
    const input = `${b64u(JSON.stringify({ alg: "RS256", kid: oct.kid }))}.${b64u(JSON.stringify(claims()))}`;
    const mac = crypto.createHmac("sha256", oct.privateKey).update(input).digest();
    const r = await call(`${input}.${b64u(mac)}`);
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  });

  test("an ES256 token does not verify against a P-384 key (the curve is bound to the alg)", async () => {
    const p384 = keys.get("ES384")!;
    const input = `${b64u(JSON.stringify({ alg: "ES256", kid: p384.kid }))}.${b64u(JSON.stringify(claims()))}`;
    const sig = crypto.sign("sha256", Buffer.from(input), { key: p384.privateKey, dsaEncoding: "ieee-p1363" });
    const r = await call(`${input}.${b64u(sig)}`);
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  });

  test("`none` and unknown algs are not supported", async () => {
    for (const alg of ["none", "None", "ES256K", "Ed448", "HS1"]) {
      const t = `${b64u(JSON.stringify({ alg }))}.${b64u(JSON.stringify(claims()))}.${b64u("x")}`;
      const r = await call(t);
      expect(r.status).toBe(401);
      expect(r.body).toBe("Jwt header [alg] is not supported");
    }
  });

  test("a key marked use: enc never verifies", async () => {
    const rsa = keys.get("RS256")!;
    const r = await call(sign(rsa, claims(), { alg: "RS256", kid: "enc-key" }));
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  });
});
