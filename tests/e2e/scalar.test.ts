// The scalar builds (no wasm SIMD), for runtimes without SIMD: build/crypto.scalar.wasm must give the same
// answers as the SIMD build on RSA vectors and Node cross-checks, and build/jwt_authn.scalar.wasm must run
// every algorithm end to end.
import * as fs from "fs";
import * as path from "path";
import * as crypto from "crypto";
import { loadCrypto, CRYPTO_WASM_ENV } from "../../host/crypto/index";
import { startBackend, request, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { makeKey, sign, nowS, Alg } from "../helpers/tokens";

const BUILD = path.resolve(__dirname, "..", "..", "build");
const VECTORS = path.resolve(__dirname, "..", "vectors", "wycheproof", "testvectors_v1");

async function loadScalar() {
  const saved = process.env[CRYPTO_WASM_ENV];
  process.env[CRYPTO_WASM_ENV] = path.join(BUILD, "crypto.scalar.wasm");
  try {
    return await loadCrypto();
  } finally {
    if (saved === undefined) delete process.env[CRYPTO_WASM_ENV];
    else process.env[CRYPTO_WASM_ENV] = saved;
  }
}

test("the release build uses SIMD and the scalar build does not", () => {
  const has = (f: string) => WebAssembly.validate(fs.readFileSync(path.join(BUILD, f))) && fs.readFileSync(path.join(BUILD, f.replace(".wasm", ".wat")), "utf8").includes("v128");
  expect(has("jwt_authn.wasm")).toBe(true);
  expect(has("jwt_authn.scalar.wasm")).toBe(false);
});

test.each(["rsa_signature_2048_sha256_test.json", "rsa_pss_2048_sha256_mgf1_32_test.json"])("Wycheproof %s on the scalar crypto build", async (file) => {
  const c = await loadScalar();
  const v = JSON.parse(fs.readFileSync(path.join(VECTORS, file), "utf8"));
  const alg = file.startsWith("rsa_pss") ? "PS256" : "RS256";
  let n = 0;
  for (const g of v.testGroups) {
    const jwk = g.publicKeyJwk ?? g.keyJwk;
    const key = c.importKey({ kty: "RSA", n: jwk.n, e: jwk.e });
    for (const t of g.tests) {
      const ok = c.verify(alg, key, Buffer.from(t.msg, "hex"), Buffer.from(t.sig, "hex"));
      expect(ok).toBe(t.result === "valid");
      n++;
    }
  }
  expect(n).toBeGreaterThan(100);
});

test("300 Node-signed RS/PS tokens of 2048..4096-bit keys on the scalar build, each also bit-flipped", async () => {
  const c = await loadScalar();
  const algs = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
  for (const bits of [2048, 3072, 4096]) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: bits });
    const key = c.importKey(publicKey.export({ format: "jwk" }));
    for (let i = 0; i < 100; i++) {
      const alg = algs[i % algs.length];
      const msg = crypto.randomBytes(1 + (i * 37) % 500);
      const hash = `sha${alg.slice(2)}`;
      const sig = alg.startsWith("PS")
        ? crypto.sign(hash, msg, { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 })
        : crypto.sign(hash, msg, privateKey);
      expect(c.verify(alg, key, msg, sig)).toBe(true);
      sig[i % sig.length] ^= 1 << (i % 8);
      expect(c.verify(alg, key, msg, sig)).toBe(false);
    }
  }
}, 120000);

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

test("every algorithm end to end through build/jwt_authn.scalar.wasm", async () => {
  const algs: Alg[] = ["RS256", "PS384", "ES256", "ES512", "HS256", "EdDSA"];
  const keys = algs.map((a, i) => makeKey(`s${i}`, a));
  const g = await startGateway({ jwtRules: [{ issuer: "s", jwks: JSON.stringify({ keys: keys.map((k) => k.publicJwk) }) }] }, backend.url, {
    wasm: path.join(BUILD, "jwt_authn.scalar.wasm"), workers: 1,
  });
  try {
    for (let i = 0; i < algs.length; i++) {
      const t = sign(keys[i], { iss: "s", sub: "x", exp: nowS() + 60 }, { alg: algs[i] });
      expect((await request(g.url + "/", { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
      const r = await request(g.url + "/", { headers: { authorization: `Bearer ${t.slice(0, -2)}${t.endsWith("AA") ? "BA" : "AA"}` } });
      expect(r.status).toBe(401);
    }
  } finally {
    await g.close();
  }
});
