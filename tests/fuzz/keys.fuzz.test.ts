// Hostile keys and signatures for every key type, seeded and replayable: 50,000 cases through loadCrypto()
// and 10,000 requests through the compiled filter. Nothing may throw or trap, and nothing forged may verify.
import * as crypto from "crypto";
import * as http from "http";
import { loadCrypto, Crypto, SUPPORTED_ALGORITHMS } from "../../host/crypto/index";
import { startBackend, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { makeKey, sign, b64u, nowS, TestKey, Alg } from "../helpers/tokens";
import { prng, Rnd } from "../helpers/prng";


const ALGS = SUPPORTED_ALGORITHMS as readonly Alg[];

/** Byte strings Wycheproof-style edge cases are made of. */
function bytes(r: Rnd): Buffer {
  const len = r.pick([0, 1, 31, 32, 33, 48, 64, 65, 66, 67, 96, 128, 132, 256, 257, 384, 512, 1024, r.int(600), 16 * 1024]);
  const kind = r.int(4);
  if (kind === 0) return Buffer.alloc(len);
  if (kind === 1) return Buffer.alloc(len, 0xff);
  if (kind === 2) return crypto.randomBytes(len);
  const b = Buffer.alloc(len);
  if (len) b[r.int(len)] = 1;
  return b;
}

function hostileJwk(r: Rnd, real: TestKey[]): object {
  const base = { ...r.pick(real).publicJwk } as Record<string, unknown>;
  const field = r.pick(["n", "e", "x", "y", "k", "crv", "kty", "alg", "kid"]);
  const roll = r.int(4);
  if (roll === 0) base[field] = b64u(bytes(r));
  else if (roll === 1) base[field] = r.pick([null, 0, 1, true, [], {}, "", "AQAB", "P-256", "P-521", "Ed25519", "X25519", "EC", "RSA", "oct", "OKP", "ES256", "none"]);
  else if (roll === 2) delete base[field];
  else if (typeof base[field] === "string") {
    const s = base[field] as string;
    base[field] = s.slice(0, r.int(s.length + 1)) + (r.int(2) ? "A" : "");
  }
  return base;
}

let real: TestKey[] = [];
beforeAll(() => {
  real = ALGS.map((a, i) => makeKey(`k${i}`, a));
});

test("50,000 hostile keys and signatures through loadCrypto(): no exception, nothing forged verifies", async () => {
  const r = prng(99);
  const c: Crypto = await loadCrypto();
  const imported = real.map((k) => c.importKey(k.publicJwk));
  expect(imported.every((k) => k.usable)).toBe(true);
  let usableHostile = 0;
  for (let i = 0; i < 50000; i++) {
    const alg = r.pick(ALGS);
    const msg = bytes(r).subarray(0, 300);
    const sig = bytes(r);
    const key = r.int(3) === 0 ? r.pick(imported) : hostileJwk(r, real);
    if (r.int(50) === 0 && !(key as { usable?: boolean }).usable) {
      const k = c.importKey(key);
      if (k.usable) usableHostile++;
    }
    let result: boolean;
    try {
      result = c.verify(alg, key, msg, sig);
    } catch (e) {
      throw new Error(`case ${i}: ${alg} threw ${String(e)}`);
    }
    if (result) throw new Error(`case ${i}: forged ${alg} signature verified`);
  }
  // The real keys still work after all that.
  for (let i = 0; i < ALGS.length; i++) {
    const t = sign(real[i], { x: 1 }, { alg: ALGS[i] });
    const [h, p, s] = t.split(".");
    expect(c.verify(ALGS[i], imported[i], Buffer.from(`${h}.${p}`), Buffer.from(s, "base64url"))).toBe(true);
  }
  console.log(`key fuzz: 50000 cases, ${usableHostile} mutated JWKs still importable (e.g. a changed kid)`);
}, 300000);

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

test("10,000 requests with hostile signatures for every alg through the filter: 401s, no VM fails", async () => {
  const r = prng(5);
  const jwks = JSON.stringify({ keys: real.map((k) => k.publicJwk) });
  const g = await startGateway({ jwtRules: [{ issuer: "f", jwks }] }, backend.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const counts: Record<string, number> = {};
  let sent = 0;
  const send = (token: string) => new Promise<string>((resolve, reject) => {
    const req = http.request(g.url + "/", { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve(`${res.statusCode} ${Buffer.concat(chunks).toString()}`));
    });
    req.on("error", reject);
    req.end();
  });
  const worker = async () => {
    while (sent < 10000) {
      sent++;
      const i = r.int(ALGS.length);
      const alg = ALGS[i];
      const valid = sign(real[i], { iss: "f", sub: "s", exp: nowS() + 600 }, { alg, kid: r.int(2) ? real[i].kid : null });
      const [h, p, s] = valid.split(".");
      let sig: Buffer = Buffer.from(s, "base64url");
      const roll = r.int(4);
      if (roll === 0) sig = bytes(r);
      else if (roll === 1) sig[r.int(sig.length)] ^= 1 << r.int(8);
      else if (roll === 2) sig = sig.subarray(0, r.int(sig.length));
      else sig = Buffer.concat([sig, Buffer.from([r.int(256)]), bytes(r).subarray(0, r.int(8))]);
      if (sig.length === 0) sig = Buffer.from([0]);
      const answer = await send(`${h}.${p}.${b64u(sig)}`);
      counts[answer] = (counts[answer] ?? 0) + 1;
      if (!answer.startsWith("401 ")) throw new Error(`${alg} roll ${roll}: ${answer}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
  expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  expect(g.logs.filter((l) => /Wasm VM failed|RuntimeError/.test(l))).toEqual([]);
  await g.close();
  console.log(`signature fuzz through the filter: ${sent} requests, ${JSON.stringify(counts)}`);
}, 300000);
