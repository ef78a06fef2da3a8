// Google's x509 key map ({"<kid>": "-----BEGIN CERTIFICATE-----..."}, the shape of
// https://www.googleapis.com/oauth2/v1/certs) as a key set, end to end through the filter: inline and fetched.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import { startBackend, startJwksServer, request, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { b64u, nowS } from "../helpers/tokens";

const X509 = path.resolve(__dirname, "..", "vectors", "x509");
const read = (f: string) => fs.readFileSync(path.join(X509, f), "utf8");

function token(keyFile: string, kid: string, alg = "RS256"): string {
  const input = `${b64u(JSON.stringify({ alg, kid }))}.${b64u(JSON.stringify({ iss: "google", sub: "s", exp: nowS() + 600 }))}`;
  const key = crypto.createPrivateKey(read(keyFile));
  return `${input}.${b64u(crypto.sign(`sha${alg.slice(2)}`, Buffer.from(input), key))}`;
}

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

const certMap = () => JSON.stringify({ a2048: read("rsa2048.cert.pem"), b3072: read("rsa3072.cert.pem"), c4096: read("rsa4096.cert.pem"), dEc: read("ec-p256.cert.pem") });

test("an inline certificate map: each RSA certificate's key verifies its tokens by kid; the EC one is skipped", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: "google", jwks: certMap() }] }, backend.url, { workers: 1 });
  try {
    for (const [file, kid] of [["rsa2048.key.pem", "a2048"], ["rsa3072.key.pem", "b3072"], ["rsa4096.key.pem", "c4096"]]) {
      const call = (t: string) => request(g.url + "/", { headers: { authorization: `Bearer ${t}` } });
      expect((await call(token(file, kid))).status).toBe(200);
      expect((await call(token(file, kid, "RS512"))).status).toBe(200);
      const wrongKid = await call(token(file, kid === "a2048" ? "b3072" : "a2048"));
      expect(wrongKid.status).toBe(401);
      expect(wrongKid.body).toBe("Jwt verification fails");
    }
    const ec = await request(g.url + "/", { headers: { authorization: `Bearer ${token("rsa2048.key.pem", "dEc")}` } });
    expect(ec.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
  } finally {
    await g.close();
  }
});

test("a fetched certificate map, and a map whose only certificate is unusable", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: certMap() });
  const g = await startGateway({ jwtRules: [{ issuer: "google", jwksUri: "https://www.googleapis.com/oauth2/v1/certs" }] }, backend.url, {
    workers: 1, clusters: { "outbound|443||www.googleapis.com": jwks.url },
  });
  try {
    const r = await request(g.url + "/", { headers: { authorization: `Bearer ${token("rsa2048.key.pem", "a2048")}` } });
    expect(r.status).toBe(200);
  } finally {
    await g.close();
    await jwks.close();
  }
  const bad = await startGateway({ jwtRules: [{ issuer: "google", jwks: JSON.stringify({ k: read("rsa1024.cert.pem") }) }] }, backend.url, { workers: 1 });
  try {
    const r = await request(bad.url + "/", { headers: { authorization: `Bearer ${token("rsa2048.key.pem", "k")}` } });
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks doesn't have any valid public key");
    expect(bad.logs.some((l) => l.includes("X509 parse pubkey fails"))).toBe(true);
  } finally {
    await bad.close();
  }
});
