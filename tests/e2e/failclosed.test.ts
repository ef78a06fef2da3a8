// Fail closed on every token the filter cannot account for (issue 6): each defect found by trying the
// filter as an attacker would, reproduced through the compiled filter over real HTTP, asserting both the
// answer and what the recording backend received. The backend must never see an unverified token.
import { startBackend, startJwksServer, request, Backend, Reply } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";
import { translateIstio } from "../../host/istio/translate";

const ISS = "https://issuer.example.com";
const TOO_MANY = "Jwt count exceeds the limit of 16 per request";
const BAD_FORMAT = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";

let backend: Backend;
let key: TestKey;
let other: TestKey;

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
  other = makeRsaKey("k1"); // same kid, another key: its tokens are forgeries
});
afterAll(async () => {
  await backend.close();
});

const valid = (extra: object = {}) => sign(key, { iss: ISS, sub: "alice", exp: nowS() + 3600, ...extra });
const forged = (extra: object = {}) => sign(other, { iss: ISS, sub: "mallory", exp: nowS() + 3600, ...extra });

const allowAny = [{ name: "any", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }];

/** Sends a request tagged with a unique path; returns the reply and what the backend got for it (or undefined). */
let seq = 0;
async function send(gw: TestGateway, query: string, headers: Record<string, string | string[]> = {}) {
  const tag = `/r/${++seq}`;
  const reply = await request(gw.url + tag + query, { headers });
  const seen = backend.requests.find((r) => r.url.startsWith(tag + "?") || r.url === tag);
  return { reply, seen };
}

function expectRefused(r: { reply: Reply; seen: unknown }, status: number, body: string) {
  expect(r.reply.status).toBe(status);
  expect(r.reply.body).toBe(body);
  expect(r.seen).toBeUndefined();
}

describe("a bounded number of tokens, refused beyond the bound (defect 1)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // The access log is on: one test reads the refusal's details from it.
    gw = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies: allowAny }, backend.url, { serve: { accessLog: true } });
  });
  afterAll(() => gw.close());

  test("16 valid Authorization headers plus a forged ?access_token: 401, nothing forwarded", async () => {
    const t = valid();
    const r = await send(gw, `?access_token=${forged()}`, { authorization: Array(16).fill(`Bearer ${t}`) });
    expectRefused(r, 401, TOO_MANY);
    expect(r.reply.headers["www-authenticate"]).toMatch(/error="invalid_token"$/);
  });

  test("17 valid tokens are refused as a whole; 16 pass, and all 16 are removed", async () => {
    const t = valid();
    expectRefused(await send(gw, "", { authorization: Array(17).fill(`Bearer ${t}`) }), 401, TOO_MANY);
    const ok = await send(gw, `?access_token=${t}`, { authorization: Array(15).fill(`Bearer ${t}`) });
    expect(ok.reply.status).toBe(200);
    expect(ok.seen?.headers.authorization).toBeUndefined();
    expect(ok.seen?.url).not.toContain("access_token");
  });

  test("the refusal is counted as a denial and names its detail", async () => {
    const before = gw.logs.length;
    await send(gw, "", { authorization: Array(20).fill("Bearer x") });
    const line = gw.logs.slice(before).find((l) => l.includes("jwt_authn_access_denied{Jwt_count_exceeds_the_limit_of_16_per_request}"));
    expect(line).toBeDefined();
    expect(line).toContain(" 401 ");
  });
});

describe("every occurrence of a location is a token, empty ones too (defect 2)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(
      {
        jwtRules: [{
          issuer: ISS, jwks: jwksOf(key),
          fromHeaders: [{ name: "authorization", prefix: "Bearer " }, { name: "x-token", prefix: "" }],
          fromParams: ["access_token"], fromCookies: ["jwt"],
        }],
        policies: allowAny,
      },
      backend.url,
    );
  });
  afterAll(() => gw.close());

  test.each([
    ["an empty first parameter", (f: string) => `?access_token=&access_token=${f}`],
    ["a first parameter without '='", (f: string) => `?access_token&access_token=${f}`],
    ["a percent-encoded duplicate name", (f: string) => `?access_token=${valid()}&access%5Ftoken=${f}`],
    ["a valid first parameter", (f: string) => `?access_token=${valid()}&access_token=${f}`],
  ])("%s does not hide a forged second one", async (_name, q) => {
    const r = await send(gw, q(forged()));
    expect(r.reply.status).toBe(401);
    expect(r.seen).toBeUndefined();
  });

  test("an empty parameter alone is a bad-format token", async () => {
    expectRefused(await send(gw, "?access_token="), 401, BAD_FORMAT);
    expectRefused(await send(gw, "?access_token"), 401, BAD_FORMAT);
  });

  test.each([
    ["jwt=; jwt=<forged>", (f: string) => [`jwt=; jwt=${f}`]],
    ['jwt=""; jwt=<forged>', (f: string) => [`jwt=""; jwt=${f}`]],
    ["a valid cookie, then a forged one in another cookie header", (f: string) => [`a=1; jwt=${valid()}`, `jwt=${f}`]],
    ["a name padded with spaces", (f: string) => [`jwt=${valid()}; jwt =${f}`]],
  ])("cookies: %s is refused", async (_name, c) => {
    const r = await send(gw, "", { cookie: c(forged()) });
    expect(r.reply.status).toBe(401);
    expect(r.seen).toBeUndefined();
  });

  test("every value of a configured header, and every prefix in a value, is a token", async () => {
    const t = valid();
    expect((await send(gw, "", { authorization: [`Bearer ${t}`, `Bearer ${forged()}`] })).reply.status).toBe(401);
    expect((await send(gw, "", { authorization: `Bearer ${t}, Bearer ${forged()}` })).reply.status).toBe(401);
    expect((await send(gw, "", { "x-token": [t, ""] })).reply.status).toBe(401);
    // A value without the prefix is not a token (Envoy skips it), so it does not fail the request.
    const ok = await send(gw, "", { authorization: ["Basic dXNlcg==", `Bearer ${t}`] });
    expect(ok.reply.status).toBe(200);
  });

  test("duplicates that are all valid pass; every parameter occurrence is removed", async () => {
    const t = valid();
    const r = await send(gw, `?access_token=${t}&keep=1&access_token=${t}`, { cookie: [`jwt=${t}`, `jwt="${t}"`] });
    expect(r.reply.status).toBe(200);
    expect(r.seen?.url).toMatch(/\?keep=1$/);
    expect(r.seen?.headers.cookie).toContain(t); // a cookie is left as it was, as Envoy leaves it
  });
});

describe("empty location lists mean Envoy's defaults (defect 3)", () => {
  test.each([
    [{ fromHeaders: [] }],
    [{ fromParams: [] }],
    [{ fromCookies: [] }],
    [{ fromHeaders: [], fromParams: [], fromCookies: [] }],
  ])("%j: a forged Bearer token is refused, a valid one passes", async (lists) => {
    const gw = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key), ...lists }], policies: allowAny }, backend.url, { workers: 1 });
    try {
      const bad = await send(gw, "", { authorization: `Bearer ${forged()}` });
      expectRefused(bad, 401, "Jwt verification fails");
      expectRefused(await send(gw, `?access_token=${forged()}`), 401, "Jwt verification fails");
      const good = await send(gw, "", { authorization: `Bearer ${valid()}` });
      expect(good.reply.status).toBe(200);
      expect(good.seen?.headers.authorization).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});

test("an Istio RequestAuthentication with `fromHeaders: []` gets the defaults too (defect 3)", async () => {
  const yaml = [
    "apiVersion: security.istio.io/v1",
    "kind: RequestAuthentication",
    "metadata: {name: jwt}",
    "spec:",
    "  jwtRules:",
    `  - issuer: "${ISS}"`,
    `    jwks: '${jwksOf(key)}'`,
    "    fromHeaders: []",
  ].join("\n");
  const cfg = translateIstio(yaml);
  expect(cfg.jwtRules[0].fromHeaders).toEqual([]);
  const gw = await startGateway(cfg, backend.url, { workers: 1 });
  try {
    expectRefused(await send(gw, "", { authorization: `Bearer ${forged()}` }), 401, "Jwt verification fails");
    expect((await send(gw, "", { authorization: `Bearer ${valid()}` })).reply.status).toBe(200);
  } finally {
    await gw.close();
  }
});

describe("a header map is read whole, however many entries (defect 4)", () => {
  // Envoy's default is 100 header lines; an operator may raise max_request_headers_count, as here.
  const FILLERS = Array(8185).fill("1");

  test("8,185 filler headers do not hide a forged Bearer token or a forged payload header", async () => {
    const big = await startBackend({ big: true });
    const gw = await startGateway(
      { jwtRules: [{ issuer: ISS, jwks: jwksOf(key), outputPayloadToHeader: "x-jwt-payload" }], policies: allowAny },
      big.url,
      { workers: 1, maxRequestHeadersCount: 10000 },
    );
    try {
      const bad = await request(gw.url + "/a", { headers: { x: FILLERS, "x-jwt-payload": "forged", authorization: `Bearer ${forged()}` } });
      expect([bad.status, bad.body]).toEqual([401, "Jwt verification fails"]);
      expect(big.requests).toHaveLength(0);
      const t = valid();
      const ok = await request(gw.url + "/b", { headers: { x: FILLERS, "x-jwt-payload": "forged", authorization: `Bearer ${t}` } });
      expect(ok.status).toBe(200);
      expect(big.requests).toHaveLength(1);
      expect(big.requests[0].headers["x-jwt-payload"]).toBe(t.split(".")[1]);
      expect(big.requests[0].headers.authorization).toBeUndefined();
      expect(String(big.requests[0].headers.x).split(", ")).toHaveLength(8185);
    } finally {
      await gw.close();
      await big.close();
    }
  });
});

test("the access log shows the path as forwarded, without a verified query token (defect 8)", async () => {
  const gw = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }] }, backend.url, { workers: 1, serve: { accessLog: true } });
  try {
    const t = valid();
    const r = await send(gw, `?access_token=${t}&keep=1`);
    expect(r.reply.status).toBe(200);
    expect(r.seen?.url).toMatch(/^\/r\/\d+\?keep=1$/);
    const deadline = Date.now() + 2000;
    while (!gw.logs.some((l) => l.includes(`"GET ${r.seen?.url} HTTP/1.1" 200`)) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    expect(gw.logs.some((l) => l.includes(`"GET ${r.seen?.url} HTTP/1.1" 200`))).toBe(true);
    expect(gw.logs.some((l) => l.includes(t))).toBe(false);
  } finally {
    await gw.close();
  }
});

describe("a cache hit gives the answer a miss gives (defects 5 and 6)", () => {
  function stat(g: TestGateway, name: string): number {
    const s = g.gw.stats().find((x) => x.name.endsWith(`jwt_authn.${name}`));
    return s ? s.value : 0;
  }

  test("a key re-published under another kid and alg: a cached token is refused as with the cache off", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    // staleTtl 0s: past its lifetime the set is refetched before the next request is answered (Envoy's behaviour).
    const rule = { issuer: ISS, jwksUri: `${jwks.url}/jwks`, jwksCluster: "jwks", staleTtl: "0s" };
    const on = await startGateway({ jwtRules: [rule] }, backend.url, { workers: 1, clusters: { jwks: jwks.url } });
    const off = await startGateway({ jwtRules: [rule], tokenCache: { maxEntries: 0 } }, backend.url, { workers: 1, clusters: { jwks: jwks.url } });
    try {
      const t = valid();
      for (const g of [on, off]) expect((await send(g, "", { authorization: `Bearer ${t}` })).reply.status).toBe(200);
      expect((await send(on, "", { authorization: `Bearer ${t}` })).reply.status).toBe(200);
      expect(stat(on, "jwt_cache_hit")).toBe(1);
      jwks.behaviour = { kind: "ok", body: JSON.stringify({ keys: [{ ...key.publicJwk, kid: "k2-rotated", alg: "RS512" }] }) };
      for (const g of [on, off]) {
        g.gw.advanceClock(601 * 1000); // the 10-minute key-set lifetime ends: the next request fetches
        expectRefused(await send(g, "", { authorization: `Bearer ${t}` }), 401, "Jwks doesn't have key to match kid or alg from Jwt");
      }
      expect(stat(on, "jwt_cache_hit")).toBe(2);
    } finally {
      await on.close();
      await off.close();
      await jwks.close();
    }
  });

  test("two requests waiting on one fetch with the same cached token, after the key is re-encoded, keep the cache whole", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: `${jwks.url}/jwks`, jwksCluster: "jwks", staleTtl: "0s" }] }, backend.url,
      { workers: 1, clusters: { jwks: jwks.url } });
    try {
      const t = valid();
      const u = valid({ sub: "bob" });
      expect((await send(g, "", { authorization: `Bearer ${t}` })).reply.status).toBe(200);
      expect((await send(g, "", { authorization: `Bearer ${u}` })).reply.status).toBe(200);
      // The same key, `n` re-encoded with a leading zero byte: a new fingerprint for the same material.
      const n = Buffer.concat([Buffer.from([0]), Buffer.from(key.publicJwk.n as string, "base64url")]).toString("base64url");
      jwks.behaviour = { kind: "delay", ms: 200, body: JSON.stringify({ keys: [{ ...key.publicJwk, n }] }) };
      g.gw.advanceClock(601 * 1000);
      const both = await Promise.all([send(g, "", { authorization: `Bearer ${t}` }), send(g, "", { authorization: `Bearer ${t}` })]);
      expect(both.map((r) => r.reply.status)).toEqual([200, 200]);
      expect(jwks.hits).toBe(2); // the first fetch and one refetch for both waiters
      const hits = stat(g, "jwt_cache_hit");
      expect((await send(g, "", { authorization: `Bearer ${t}` })).reply.status).toBe(200);
      expect((await send(g, "", { authorization: `Bearer ${u}` })).reply.status).toBe(200);
      expect(stat(g, "jwt_cache_hit")).toBe(hits + 2);
    } finally {
      await g.close();
      await jwks.close();
    }
  });
});

describe("time is compared in whole seconds, as Envoy (defect 7)", () => {
  test("the last second before exp + 60 s passes, the next one is expired", async () => {
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }] }, backend.url, { workers: 1 });
    try {
      // Start early in a second so the request lands in the same whole second, at a fractional time.
      while (Date.now() % 1000 < 150 || Date.now() % 1000 > 500) await new Promise((r) => setTimeout(r, 20));
      const now = Math.floor(Date.now() / 1000);
      const edge = valid({ exp: now - 60 });
      const past = valid({ exp: now - 61 });
      expect((await send(g, "", { authorization: `Bearer ${edge}` })).reply.status).toBe(200);
      expect((await send(g, "", { authorization: `Bearer ${edge}` })).reply.status).toBe(200); // the cache hit too
      expectRefused(await send(g, "", { authorization: `Bearer ${past}` }), 401, "Jwt is expired");
      const nbf = valid({ nbf: now + 60 });
      expect((await send(g, "", { authorization: `Bearer ${nbf}` })).reply.status).toBe(200);
      expectRefused(await send(g, "", { authorization: `Bearer ${valid({ nbf: now + 61 })}` }), 401, "Jwt not yet valid");
    } finally {
      await g.close();
    }
  });
});

describe("rules for one issuer are alternatives (defect 10)", () => {
  const third = makeRsaKey("k3");
  const withAud = () => ({ issuer: ISS, jwks: jwksOf(key), audiences: ["api.example.com"] });
  const noAud = () => ({ issuer: ISS, jwks: jwksOf(key) });

  test.each([
    ["audience rule first", () => [withAud(), noAud()]],
    ["audience rule second", () => [noAud(), withAud()]],
  ])("a token without aud passes with the %s", async (_n, rules) => {
    const g = await startGateway({ jwtRules: rules() }, backend.url, { workers: 1 });
    try {
      expect((await send(g, "", { authorization: `Bearer ${valid()}` })).reply.status).toBe(200);
      expect((await send(g, "", { authorization: `Bearer ${valid({ aud: "api.example.com" })}` })).reply.status).toBe(200);
    } finally {
      await g.close();
    }
  });

  test("a token signed by the second rule's key passes; when none accepts, the first rule's failure is the answer", async () => {
    const a = { issuer: ISS, jwks: jwksOf(key), audiences: ["api.example.com"] };
    const b = { issuer: ISS, jwks: jwksOf(third) };
    const ab = await startGateway({ jwtRules: [a, b] }, backend.url, { workers: 1 });
    const ba = await startGateway({ jwtRules: [b, a] }, backend.url, { workers: 1 });
    try {
      const byThird = sign(third, { iss: ISS, sub: "s", exp: nowS() + 600 });
      for (const g of [ab, ba]) expect((await send(g, "", { authorization: `Bearer ${byThird}` })).reply.status).toBe(200);
      const f = forged(); // no aud, and no rule's key
      expectRefused(await send(ab, "", { authorization: `Bearer ${f}` }), 403, "Audiences in Jwt are not allowed");
      // With b first, its key (kid k3) is no candidate for the forgery's kid k1.
      expectRefused(await send(ba, "", { authorization: `Bearer ${f}` }), 401, "Jwks doesn't have key to match kid or alg from Jwt");
    } finally {
      await ab.close();
      await ba.close();
    }
  });

  test("only rules that configured the token's location apply", async () => {
    const g = await startGateway(
      {
        jwtRules: [
          { issuer: ISS, jwks: jwksOf(key), fromHeaders: [{ name: "x-a", prefix: "" }] },
          { issuer: ISS, jwks: jwksOf(third), fromHeaders: [{ name: "x-b", prefix: "" }] },
        ],
      },
      backend.url,
      { workers: 1 },
    );
    try {
      const byThird = sign(third, { iss: ISS, sub: "s", exp: nowS() + 600 });
      expect((await send(g, "", { "x-b": byThird })).reply.status).toBe(200);
      expectRefused(await send(g, "", { "x-a": byThird }), 401, "Jwks doesn't have key to match kid or alg from Jwt");
    } finally {
      await g.close();
    }
  });

  test("a failed fetch for the first rule falls through to the second, after the request waited", async () => {
    const down = await startJwksServer({ kind: "status", status: 500, body: "down" });
    const g = await startGateway(
      { jwtRules: [{ issuer: ISS, jwksUri: `${down.url}/jwks`, jwksCluster: "down" }, { issuer: ISS, jwks: jwksOf(key) }] },
      backend.url,
      { workers: 1, clusters: { down: down.url } },
    );
    try {
      const r = await send(g, "", { authorization: `Bearer ${valid()}` });
      expect(r.reply.status).toBe(200);
      expect(r.seen?.headers.authorization).toBeUndefined();
      expect(down.hits).toBeGreaterThanOrEqual(1); // the request waited for a fetch that failed
      // A forgery fails both: the first rule's failure (the fetch) is the answer.
      expectRefused(await send(g, "", { authorization: `Bearer ${forged()}` }), 401, "Jwks remote fetch is failed");
    } finally {
      await g.close();
      await down.close();
    }
  });
});
