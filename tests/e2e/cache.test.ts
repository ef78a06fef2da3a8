// The verified-token cache through the filter: a repeat token skips the signature check (counted in
// jwt_authn.jwt_cache_hit) but still gets the issuer, time and audience checks; an entry dies when its key
// leaves the key set; big tokens are not cached; the cache is bounded and can be turned off.
import { startBackend, startJwksServer, request, Backend } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

let backend: Backend;
let key: TestKey;
beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
});

function stat(g: TestGateway, name: string): number {
  const s = g.gw.stats().find((x) => x.name.endsWith(`jwt_authn.${name}`));
  return s ? s.value : 0;
}

const send = (g: TestGateway, token: string, header = "authorization", prefix = "Bearer ") =>
  request(g.url + "/", { headers: { [header]: prefix + token } });

test("a repeat token is a cache hit; expiry is still checked on a hit", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: "a", jwks: jwksOf(key) }] }, backend.url, { workers: 1 });
  try {
    const t = sign(key, { iss: "a", sub: "s", exp: nowS() + 600 });
    expect((await send(g, t)).status).toBe(200);
    expect([stat(g, "jwt_cache_hit"), stat(g, "jwt_cache_miss")]).toEqual([0, 1]);
    expect((await send(g, t)).status).toBe(200);
    expect((await send(g, t)).status).toBe(200);
    expect([stat(g, "jwt_cache_hit"), stat(g, "jwt_cache_miss")]).toEqual([2, 1]);
    g.gw.advanceClock(700 * 1000);
    const r = await send(g, t);
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt is expired");
    expect(stat(g, "jwt_cache_hit")).toBe(3);
  } finally {
    await g.close();
  }
});

test("the issuer must still be configured for the location the cached token came from", async () => {
  const g = await startGateway({
    jwtRules: [
      { issuer: "a", jwks: jwksOf(key) },
      { issuer: "b", jwks: jwksOf(key), fromHeaders: [{ name: "x-b-token" }], audiences: ["api-b"] },
    ],
  }, backend.url, { workers: 1 });
  try {
    const t = sign(key, { iss: "a", sub: "s", exp: nowS() + 600 });
    expect((await send(g, t)).status).toBe(200);
    const r = await send(g, t, "x-b-token", "");
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt issuer is not configured");
    expect(stat(g, "jwt_cache_hit")).toBe(1);
    // and the audience check runs on a hit
    const tb = sign(key, { iss: "b", sub: "s", aud: "api-b", exp: nowS() + 600 });
    expect((await send(g, tb, "x-b-token", "")).status).toBe(200);
    expect((await send(g, tb, "x-b-token", "")).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(2);
  } finally {
    await g.close();
  }
});

test("an entry dies when its key leaves the key set (rotation), unlike Envoy's cache", async () => {
  const k2 = makeRsaKey("k2");
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  // staleTtl 0s: past its lifetime the set is not served stale, so the next request refetches (Envoy's behaviour).
  const g = await startGateway({ jwtRules: [{ issuer: "r", jwksUri: "https://idp.example.com/keys", staleTtl: "0s" }] }, backend.url, {
    workers: 1, clusters: { "outbound|443||idp.example.com": jwks.url },
  });
  try {
    const old = sign(key, { iss: "r", sub: "s", exp: nowS() + 3600 });
    expect((await send(g, old)).status).toBe(200);
    expect((await send(g, old)).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(1);
    jwks.behaviour = { kind: "ok", body: jwksOf(k2) };
    g.gw.advanceClock(601 * 1000); // past the key set's 10-minute lifetime: the next request refetches
    const r = await send(g, old);
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    expect(jwks.hits).toBe(2);
    expect((await send(g, sign(k2, { iss: "r", sub: "s", exp: nowS() + 3600 }))).status).toBe(200);
    // The old token's entry is gone: it is looked up, missed, and rejected again.
    const hitsBefore = stat(g, "jwt_cache_hit");
    expect((await send(g, old)).status).toBe(401);
    expect(stat(g, "jwt_cache_hit")).toBe(hitsBefore);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("a refetched key set with the same keys keeps the entries", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  // staleTtl 0s: past its lifetime the set is not served stale, so the next request refetches (Envoy's behaviour).
  const g = await startGateway({ jwtRules: [{ issuer: "r", jwksUri: "https://idp.example.com/keys", staleTtl: "0s" }] }, backend.url, {
    workers: 1, clusters: { "outbound|443||idp.example.com": jwks.url },
  });
  try {
    const t = sign(key, { iss: "r", sub: "s", exp: nowS() + 3600 });
    expect((await send(g, t)).status).toBe(200);
    g.gw.advanceClock(601 * 1000);
    expect((await send(g, t)).status).toBe(200);
    expect(jwks.hits).toBe(2);
    expect(stat(g, "jwt_cache_hit")).toBe(1);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("tokens over 8 KiB are not cached", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: "a", jwks: jwksOf(key) }] }, backend.url, { workers: 1 });
  try {
    const big = sign(key, { iss: "a", sub: "s", pad: "x".repeat(7000) });
    expect(big.length).toBeGreaterThan(8192);
    expect((await send(g, big)).status).toBe(200);
    expect((await send(g, big)).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(0);
  } finally {
    await g.close();
  }
});

test("the cache is bounded in entries (LRU) and can be turned off", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: "a", jwks: jwksOf(key) }], tokenCache: { maxEntries: 2 } }, backend.url, { workers: 1 });
  try {
    const [t1, t2, t3] = [1, 2, 3].map((i) => sign(key, { iss: "a", sub: `s${i}` }));
    for (const t of [t1, t2, t1, t3]) expect((await send(g, t)).status).toBe(200);
    // t1 was used after t2, so t2 was the least recently used when t3 came in.
    expect(stat(g, "jwt_cache_hit")).toBe(1);
    expect((await send(g, t1)).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(2);
    expect((await send(g, t2)).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(2);
  } finally {
    await g.close();
  }
  const off = await startGateway({ jwtRules: [{ issuer: "a", jwks: jwksOf(key) }], tokenCache: { maxEntries: 0 } }, backend.url, { workers: 1 });
  try {
    const t = sign(key, { iss: "a", sub: "s" });
    for (let i = 0; i < 3; i++) expect((await send(off, t)).status).toBe(200);
    expect(stat(off, "jwt_cache_hit")).toBe(0);
    expect(stat(off, "jwt_cache_miss")).toBe(0);
  } finally {
    await off.close();
  }
});

test("the byte budget bounds the cache too", async () => {
  const ts = [1, 2, 3].map((i) => sign(key, { iss: "a", sub: `s${i}`, pad: "y".repeat(900) }));
  // Each entry costs 2 x the token's length (its bytes, which are also the key, and the parsed claims) +
  // 256 + the key's identity (well under 500 characters): two fit in this budget, not three.
  const entry = 2 * ts[0].length + 256;
  const g = await startGateway({ jwtRules: [{ issuer: "a", jwks: jwksOf(key) }], tokenCache: { maxBytes: 2 * entry + 1000 } }, backend.url, { workers: 1 });
  try {
    for (const t of ts) expect((await send(g, t)).status).toBe(200);
    expect((await send(g, ts[0])).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(0);
    expect((await send(g, ts[2])).status).toBe(200);
    expect(stat(g, "jwt_cache_hit")).toBe(1);
  } finally {
    await g.close();
  }
});
