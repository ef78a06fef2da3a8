// No trap, whatever arrives: random and mutated tokens (≥ 20,000) and mutated JWKS bodies (≥ 1,000) sent
// through the compiled filter in the host over real HTTP. Each answer must be a 401/403, or a 200 for a
// token that is still valid, and no worker VM may ever fail. Deterministic (seeded) so a failure replays.
import * as http from "http";
import { startBackend, startJwksServer, Backend, JwksServer } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, b64u, nowS, TestKey } from "../helpers/tokens";
import { prng } from "../helpers/prng";

const ISS = "https://fuzz.example.com";


interface Answer {
  status: number;
  body: string;
}

function send(agent: http.Agent, url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("latin1") }));
    });
    req.on("error", reject);
    req.end();
  });
}

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const WEIRD_VALUES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 18446744073709551616, "", "x", "\u0000", "\ud83d\ude00", [], {}, [1, "a", null], { a: { b: [] } }, "a".repeat(5000)];
const CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];
const HEADER_FIELDS = ["alg", "kid", "typ", "crit"];

function deepJson(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/** What the filter must decide for a correctly signed token, written from Envoy's rules (the oracle). */
function oracleValid(header: Record<string, unknown>, payload: Record<string, unknown>): boolean {
  const now = nowS();
  const num = (v: unknown) => typeof v === "number" && v >= 0 && v < 18446744073709551616;
  if (header.alg !== "RS256") return false;
  if ("kid" in header && header.kid !== "fz") return false;
  if (payload.iss !== ISS) return false;
  if (typeof payload.sub !== "string" || payload.sub.length === 0) return false; // requestPrincipals ["*"]
  for (const c of ["iat", "nbf", "exp"]) if (c in payload && !num(payload[c])) return false;
  if ("jti" in payload && typeof payload.jti !== "string") return false;
  const aud = payload.aud;
  const auds = typeof aud === "string" ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === "string") ? aud : null;
  if (auds === null || !auds.includes("api")) return false;
  const exp = Math.floor((payload.exp as number | undefined) ?? 0);
  const nbf = Math.floor((payload.nbf as number | undefined) ?? 0);
  if (nbf > 0 && now + 60 < nbf) return false;
  if (exp > 0 && now > exp + 60) return false;
  return true;
}

let backend: Backend;
let key: TestKey;

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("fz");
});
afterAll(async () => {
  await backend.close();
});

function assertHealthy(g: TestGateway) {
  expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  expect(g.logs.filter((l) => /Wasm VM failed|RuntimeError|unreachable|abort/.test(l))).toEqual([]);
}

test("20,000 random and mutated tokens: every answer is 401/403 or a 200 for a valid token, no VM fails", async () => {
  const rnd = prng(20261128);
  const g = await startGateway({
    jwtRules: [{
      issuer: ISS, jwks: jwksOf(key), audiences: ["api"],
      fromHeaders: [{ name: "authorization", prefix: "Bearer " }, { name: "x-raw-token" }],
      fromParams: ["access_token"], fromCookies: ["session"], outputPayloadToHeader: "x-payload",
    }],
    policies: [{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }],
  }, backend.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const good = () => sign(key, { iss: ISS, sub: "s" + rnd.int(1000), aud: "api", exp: nowS() + 3600 });
  const seeds = Array.from({ length: 40 }, good);
  const counts: Record<number, number> = {};
  let validSent = 0;

  type Case = { headers: Record<string, string>; path: string; valid: boolean };
  const makeCase = (): Case => {
    const kind = rnd.int(10);
    const base = rnd.pick(seeds);
    let token = base;
    let valid = false;
    if (kind === 0) {
      token = base.slice(0, rnd.int(base.length));
    } else if (kind === 1) {
      const chars = token.split("");
      const n = 1 + rnd.int(4);
      for (let i = 0; i < n; i++) {
        const at = rnd.int(chars.length);
        let c = rnd.pick(B64U.split("").concat([".", "=", "+", "/", "%", "!"]));
        if (c === chars[at]) c = c === "A" ? "B" : "A";
        chars[at] = c;
      }
      token = chars.join("");
    } else if (kind === 2) {
      // wrong types in every claim and header field, correctly signed
      const payload: Record<string, unknown> = { iss: ISS, sub: "s", aud: "api", exp: nowS() + 3600 };
      payload[rnd.pick(CLAIMS)] = rnd.pick(WEIRD_VALUES);
      const header: Record<string, unknown> = { alg: "RS256", kid: "fz" };
      if (rnd.int(2) === 0) header[rnd.pick(HEADER_FIELDS)] = rnd.pick(WEIRD_VALUES);
      token = sign(key, payload, { header });
      valid = oracleValid(header, payload);
    } else if (kind === 3) {
      // deep or broken JSON inside validly encoded segments
      const depth = rnd.pick([10, 63, 64, 65, 200, 3000]);
      const parts = [b64u(rnd.int(2) ? deepJson(depth) : '{"alg":"RS256"}'), b64u(rnd.int(2) ? `{"a":${deepJson(depth)}}` : "{\"iss\":"), b64u("sig")];
      token = parts.join(".");
    } else if (kind === 4) {
      // random bytes in each segment (non-UTF-8, NUL, surrogates after decoding)
      const seg = () => b64u(Buffer.from(Array.from({ length: rnd.int(300) }, () => rnd.int(256))));
      token = `${seg()}.${seg()}.${seg()}`;
    } else if (kind === 5) {
      // huge tokens
      token = rnd.pick([b64u("{".repeat(8000)), base + "A".repeat(4000 + rnd.int(8000)), "a.".repeat(3000) + "b", b64u("x".repeat(30000 + rnd.int(12000)))]);
    } else if (kind === 6) {
      token = base;
      valid = true;
    } else if (kind === 7) {
      // expired / not yet valid / wrong audience, correctly signed
      token = sign(key, rnd.pick([
        { iss: ISS, sub: "s", aud: "api", exp: nowS() - 1000 },
        { iss: ISS, sub: "s", aud: "api", nbf: nowS() + 1000 },
        { iss: ISS, sub: "s", aud: "other" },
        { iss: "stranger", sub: "s" },
        { iss: ISS, aud: "api" },
      ]));
    } else if (kind === 8) {
      token = Array.from({ length: rnd.int(200) }, () => String.fromCharCode(rnd.int(256))).join("");
    } else {
      token = rnd.pick(["", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30", base.split(".").reverse().join(".")]);
    }
    const where = rnd.int(4);
    const headers: Record<string, string> = {};
    let path = "/f";
    const headerSafe = (t: string) => t.replace(/[^\t\x20-\x7e\x80-\xff]/g, "");
    if (where === 0) headers.authorization = headerSafe("Bearer " + token);
    else if (where === 1) headers["x-raw-token"] = headerSafe(token);
    else if (where === 2) path = "/f?access_token=" + encodeURIComponent(token).replace(/%25/g, rnd.int(2) ? "%25" : "%");
    else headers.cookie = headerSafe(`a=1; session=${token}`);
    if (rnd.int(10) === 0) headers["x-payload"] = "forged";
    if (valid && where === 1 && token !== headerSafe(token)) valid = false;
    return { headers, path, valid };
  };

  const TOTAL = 20000;
  let sent = 0;
  const worker = async () => {
    while (sent < TOTAL) {
      sent++;
      const c = makeCase();
      const a = await send(agent, g.url + c.path, c.headers);
      counts[a.status] = (counts[a.status] ?? 0) + 1;
      if (c.valid) {
        validSent++;
        expect(a.status).toBe(200);
      } else {
        expect([200, 400, 401, 403, 431]).toContain(a.status);
      }
      if (a.status === 200 && !c.valid) {
        // Only a request that carried no token at a configured location can pass the ALLOW `*` policy
        // without a valid token; it must not have been authenticated.
        throw new Error(`accepted an invalid token: ${JSON.stringify(c).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  agent.destroy();
  assertHealthy(g);
  await g.close();
  console.log(`token fuzz: ${TOTAL} requests, answers ${JSON.stringify(counts)}, ${validSent} valid tokens accepted`);
  expect(sent).toBeGreaterThanOrEqual(TOTAL);
  expect(validSent).toBeGreaterThan(1000);
}, 300000);

test("1,000 mutated JWKS bodies fetched by the filter: a fetch failure or a verdict, never a trap", async () => {
  const rnd = prng(7);
  const decoy = makeRsaKey("decoy");
  const goodBody = jwksOf(decoy, key);
  const mutate = (): string => {
    const kind = rnd.int(8);
    if (kind === 0) return goodBody.slice(0, rnd.int(goodBody.length));
    if (kind === 1) {
      const b = Buffer.from(goodBody);
      for (let i = 0; i < 1 + rnd.int(6); i++) b[rnd.int(b.length)] = rnd.int(256);
      return b.toString("latin1");
    }
    if (kind === 2) {
      const k: Record<string, unknown> = { ...key.publicJwk };
      k[rnd.pick(["kty", "n", "e", "kid", "alg"])] = rnd.pick(WEIRD_VALUES);
      return JSON.stringify({ keys: [k] });
    }
    if (kind === 3) {
      const n = Buffer.from(String(key.publicJwk.n), "base64url");
      const variants = [Buffer.alloc(0), Buffer.alloc(n.length), Buffer.alloc(n.length, 0xff), Buffer.concat([Buffer.alloc(3), n]), n.subarray(0, rnd.int(n.length)), Buffer.alloc(16 * 1024, 0xab), Buffer.from([2])];
      return JSON.stringify({ keys: [{ kty: "RSA", kid: "fz", n: b64u(rnd.pick(variants)), e: rnd.pick(["AQAB", "Aw", "AA", "", "AQAAAQ", "_w", b64u(Buffer.alloc(600, 1))]) }] });
    }
    if (kind === 4) return JSON.stringify({ keys: Array.from({ length: rnd.int(400) }, () => rnd.pick(WEIRD_VALUES)) });
    if (kind === 5) return `{"keys":${deepJson(rnd.pick([30, 33, 1000]))}}`;
    if (kind === 6) return rnd.pick(["", "null", "{}", "[]", '{"keys":{}}', '{"keys":null}', "\ufeff" + goodBody, goodBody + "x"]);
    return Buffer.from(Array.from({ length: rnd.int(2000) }, () => rnd.int(256))).toString("latin1");
  };
  const token = sign(key, { iss: ISS, sub: "s", exp: nowS() + 3600 });
  const jwks: JwksServer = await startJwksServer({ kind: "ok", body: "{}" });
  const counts: Record<string, number> = {};
  let fetched = 0;
  let g: TestGateway | null = null;
  const start = async () => startGateway({ jwtRules: [{ issuer: ISS, jwksUri: "https://keys.example.com/jwks" }] }, backend.url, {
    workers: 1, clusters: { "outbound|443||keys.example.com": jwks.url },
  });
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // A failed fetch is retried after a backoff, not by the next request; so each body is served to a fresh
    // gateway, whose configure-time fetch reads it, and one request then gets a verdict or the fetch failure.
    while (fetched < 1000) {
      const body = mutate();
      jwks.behaviour = { kind: "ok", body };
      const hitsBefore = jwks.hits;
      g = await start();
      const deadline = Date.now() + 5000;
      while (jwks.hits === hitsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      expect(jwks.hits).toBe(hitsBefore + 1);
      await g.gw.settle();
      const a = await send(agent, g.url + "/", { authorization: `Bearer ${token}` });
      fetched++;
      counts[`${a.status} ${a.body}`] = (counts[`${a.status} ${a.body}`] ?? 0) + 1;
      expect(["200 Hello World! /", "401 Jwks remote fetch is failed", "401 Jwt verification fails", "401 Jwks doesn't have key to match kid or alg from Jwt"]).toContain(`${a.status} ${a.body}`);
      assertHealthy(g);
      await g.close();
      g = null;
    }
    agent.destroy();
    if (g !== null) assertHealthy(g);
  } finally {
    if (g !== null) await g.close();
    await jwks.close();
  }
  console.log(`jwks fuzz: ${fetched} bodies fetched, answers ${JSON.stringify(counts)}`);
  expect(fetched).toBe(1000);
}, 300000);
