// Key sets that never cause an outage (issue 7), through the compiled filter in the local host with its
// test clock (manualClock: ticks and call timeouts follow virtual time, so hour-long scenarios run in
// seconds) and real JWKS servers: one fetch for all workers, refresh ahead, a worker that dies mid-fetch,
// an hour-long outage served stale, cold start, key rotation and a flood of unknown kids. Counters are
// checked after each scenario, and /stats/prometheus is read from the admin port.
import { startBackend, startJwksServer, request, Backend, JwksServer, Reply } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/keys";
const CLUSTER = "outbound|443||idp.example.com";
const MIN = 60 * 1000;

let backend: Backend;
let key: TestKey;
beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(() => backend.close());

function stat(g: TestGateway, name: string): number {
  return g.gw.stats().filter((x) => x.name === `wasmcustom.jwt_authn.${name}`).reduce((a, x) => a + x.value, 0);
}

async function start(jwks: JwksServer, rule: object = {}, workers = 2, top: object = {}): Promise<TestGateway> {
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: URI, ...rule }], ...top }, backend.url, {
    workers, clusters: { [CLUSTER]: jwks.url }, serve: { manualClock: true, adminPort: 0 },
  });
  // The first fetches start at each VM's first tick, 1 ms after its configuration (never in
  // proxy_on_configure: Envoy's canary VM would hold the lease), then settle.
  await g.gw.advance(1);
  return g;
}

const token = (k: TestKey = key, kid?: string) => sign(k, { iss: ISS, sub: "s", exp: nowS() + 30 * 24 * 3600 }, kid ? { kid } : {});

/** One request on a new connection, so the host spreads them over its workers. */
const get = (g: TestGateway, t: string) => request(g.url + "/", { headers: { authorization: `Bearer ${t}` } });

/** Waits for a reply while moving virtual time in small steps (paused requests on other VMs poll on ticks). */
async function pump(g: TestGateway, p: Promise<Reply>, stepMs = 100, maxSteps = 200): Promise<Reply> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < maxSteps && !done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    if (!done) await g.gw.advance(stepMs);
  }
  return p;
}

describe("one fetch for all workers, refreshed ahead of expiry", () => {
  test("4 workers: one fetch at start and one per refresh at 80 % of the lifetime; no request waits", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, {}, 4);
    try {
      expect(jwks.hits).toBe(1);
      const t = token();
      const latencies: number[] = [];
      // 30 simulated minutes of steady load: 2 requests every 30 s.
      for (let step = 0; step < 60; step++) {
        for (let i = 0; i < 2; i++) {
          const t0 = Date.now();
          const r = await get(g, t);
          latencies.push(Date.now() - t0);
          expect(r.status).toBe(200);
        }
        await g.gw.advance(30 * 1000);
      }
      // Lifetime 10 min: refreshes at 8, 16 and 24 min, one fetch each, whatever the number of workers.
      expect(jwks.hits).toBe(4);
      expect(stat(g, "jwks_fetch_success")).toBe(4);
      expect(stat(g, "jwks_fetch_failed")).toBe(0);
      expect(stat(g, "jwks_stale_served")).toBe(0);
      // No request waited for a routine refresh: with the test clock a paused request would hang until time moved.
      expect(Math.max(...latencies)).toBeLessThan(1000);
      console.log(`4 workers, 30 min: ${jwks.hits} fetches; request latency max ${Math.max(...latencies)} ms, median ${latencies.sort((a, b) => a - b)[latencies.length >> 1]} ms`);
    } finally {
      await g.close();
      await jwks.close();
    }
  });

  test("a worker that dies mid-fetch does not stop the next refresh", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, { timeout: "2s" }, 2);
    try {
      expect(jwks.hits).toBe(1);
      jwks.behaviour = { kind: "hang" };
      // Worker 0's tick comes first at the refresh time: it takes the lease and its fetch hangs.
      await g.gw.advance(8 * MIN + 1000);
      expect(jwks.hits).toBe(2);
      g.gw.workers[0].crash();
      jwks.behaviour = { kind: "ok", body: jwksOf(key) };
      // Past the lease (timeout + 1 s) and the refetch floor (60 s from that attempt), worker 1 refreshes.
      await g.gw.advance(62 * 1000);
      expect(jwks.hits).toBe(3);
      expect(stat(g, "jwks_fetch_success")).toBe(2);
      // The set is fresh again for 10 minutes on the surviving worker.
      await g.gw.advance(9 * MIN);
      const r = await request(g.url + "/", { headers: { authorization: `Bearer ${token()}` } });
      expect([200, 503]).toContain(r.status); // 503: the connection landed on the dead worker (fail closed)
    } finally {
      await g.close();
      await jwks.close();
    }
  });
});

describe("stale-while-error", () => {
  test("the server down for an hour after one good fetch: tokens keep passing, retries back off, recovery at the next retry", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, {}, 2);
    try {
      const t = token();
      jwks.behaviour = { kind: "status", status: 503, body: "down" };
      const attempts: number[] = []; // virtual seconds since the outage began, at each fetch
      let seen = jwks.hits;
      let now = 0;
      for (let s = 0; s < 3600; s++) {
        await g.gw.advance(1000);
        now++;
        if (jwks.hits !== seen) {
          for (let i = seen; i < jwks.hits; i++) attempts.push(now);
          seen = jwks.hits;
        }
        if (s % 120 === 0) expect((await get(g, t)).status).toBe(200);
      }
      expect((await get(g, t)).status).toBe(200);
      // First attempt at the refresh (8 min), then 1 s, 2 s, 4 s … capped at 5 min, each ±20 % (+1 s of tick granularity).
      expect(attempts[0]).toBeGreaterThanOrEqual(8 * 60);
      expect(attempts[0]).toBeLessThanOrEqual(8 * 60 + 1);
      const gaps = attempts.slice(1).map((a, i) => a - attempts[i]);
      gaps.forEach((gap, i) => {
        const base = Math.min(1000 * 2 ** i, 300 * 1000) / 1000;
        expect(gap).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(gap).toBeLessThanOrEqual(Math.ceil(base * 1.2) + 1);
      });
      expect(stat(g, "jwks_fetch_failed")).toBe(attempts.length);
      expect(stat(g, "jwks_stale_served")).toBeGreaterThan(0);
      console.log(`outage: ${attempts.length} attempts in 52 min, gaps (s): ${gaps.join(" ")}`);
      // Recovery: the next retry heals every worker.
      jwks.behaviour = { kind: "ok", body: jwksOf(key) };
      const before = jwks.hits;
      for (let s = 0; s < 400 && jwks.hits === before; s++) await g.gw.advance(1000);
      expect(jwks.hits).toBe(before + 1);
      await g.gw.advance(1000); // every worker's next tick reads the new set
      const stale = stat(g, "jwks_stale_served");
      for (let i = 0; i < 4; i++) expect((await get(g, t)).status).toBe(200);
      expect(stat(g, "jwks_stale_served")).toBe(stale);
    } finally {
      await g.close();
      await jwks.close();
    }
  });

  test("staleTtl 0s fails as Envoy does once the lifetime is over", async () => {
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, { staleTtl: "0s" }, 1);
    try {
      const t = token();
      jwks.behaviour = { kind: "status", status: 500, body: "down" };
      await g.gw.advance(9 * MIN);
      expect((await get(g, t)).status).toBe(200); // still within the lifetime
      await g.gw.advance(2 * MIN);
      const r = await pump(g, get(g, t));
      expect([r.status, r.body]).toEqual([401, "Jwks remote fetch is failed"]);
      expect(stat(g, "jwks_stale_served")).toBe(0);
    } finally {
      await g.close();
      await jwks.close();
    }
  });
});

describe("cold start", () => {
  test("with the server down: 401 after the timeout; healed for every worker by the first good retry", async () => {
    const jwks = await startJwksServer({ kind: "hang" });
    const g = await start(jwks, { timeout: "2s" }, 2);
    try {
      const t = token();
      const pending = get(g, t);
      await new Promise((r) => setTimeout(r, 50));
      await g.gw.advance(1000);
      let settled = false;
      pending.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(settled).toBe(false); // paused while the fetch is in flight
      const r = await pump(g, pending);
      expect([r.status, r.body]).toEqual([401, "Jwks remote fetch is failed"]);
      expect(jwks.hits).toBe(1);
      jwks.behaviour = { kind: "ok", body: jwksOf(key) };
      // Backoff 1 s (±20 %) after the failure: a retry within 2 s heals both workers.
      await g.gw.advance(2000);
      expect(jwks.hits).toBe(2);
      for (let i = 0; i < 4; i++) expect((await get(g, t)).status).toBe(200);
      expect(stat(g, "jwks_fetch_failed")).toBe(1);
      expect(stat(g, "jwks_fetch_success")).toBe(1);
    } finally {
      await g.close();
      await jwks.close();
    }
  });

  test("at most maxPausedRequests per VM wait; the rest fail at once", async () => {
    const jwks = await startJwksServer({ kind: "hang" });
    const g = await start(jwks, { timeout: "2s" }, 1, { maxPausedRequests: 3 });
    try {
      const t = token();
      const replies = Array.from({ length: 5 }, () => get(g, t));
      await new Promise((r) => setTimeout(r, 200));
      expect(stat(g, "jwks_paused_overflow")).toBe(2);
      await g.gw.advance(2100);
      const all = await Promise.all(replies);
      expect(all.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    } finally {
      await g.close();
      await jwks.close();
    }
  });
});

describe("rotation", () => {
  test("a token signed with a newly published key passes after one refetch", async () => {
    const k2 = makeRsaKey("k2");
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, {}, 2);
    try {
      await g.gw.advance(2 * MIN); // past minRefetchInterval from the first fetch
      jwks.behaviour = { kind: "ok", body: jwksOf(key, k2) };
      const r = await pump(g, get(g, token(k2)));
      expect(r.status).toBe(200);
      expect(jwks.hits).toBe(2);
      expect(stat(g, "jwks_kid_miss_refetch")).toBe(1);
      for (let i = 0; i < 4; i++) expect((await get(g, token(k2))).status).toBe(200);
      expect(jwks.hits).toBe(2);
    } finally {
      await g.close();
      await jwks.close();
    }
  });

  test("1,000 tokens with random kids cause at most one fetch per minRefetchInterval", async () => {
    const stranger = makeRsaKey("x");
    const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
    const g = await start(jwks, {}, 2);
    try {
      await g.gw.advance(2 * MIN);
      const before = jwks.hits;
      const answers: Record<string, number> = {};
      for (let batch = 0; batch < 20; batch++) {
        const replies = await pump(g, Promise.all(Array.from({ length: 50 }, () =>
          get(g, token(stranger, `kid-${Math.random().toString(36).slice(2)}`)))) as unknown as Promise<Reply>, 100, 400) as unknown as Reply[];
        for (const r of replies) answers[`${r.status} ${r.body}`] = (answers[`${r.status} ${r.body}`] ?? 0) + 1;
        await g.gw.advance(1000); // 20 s of virtual time in all, well within one 60 s interval
      }
      expect(answers).toEqual({ "401 Jwks doesn't have key to match kid or alg from Jwt": 1000 });
      expect(jwks.hits - before).toBeLessThanOrEqual(1);
      expect(stat(g, "jwks_kid_miss_refetch")).toBeLessThanOrEqual(1);
      // The next interval allows one more.
      await g.gw.advance(61 * 1000);
      const r = await pump(g, get(g, token(stranger, "another")));
      expect(r.status).toBe(401);
      expect(jwks.hits - before).toBeLessThanOrEqual(2);
    } finally {
      await g.close();
      await jwks.close();
    }
  });
});

test("counters and ages on the admin port, in Envoy's Prometheus naming", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await start(jwks, {}, 2);
  try {
    expect((await get(g, token())).status).toBe(200);
    expect((await get(g, "a.b.c")).status).toBe(401);
    await g.gw.advance(5000);
    const prom = (await request(`${g.gw.adminUrl}/stats/prometheus`)).body;
    expect(prom).toMatch(/^jwt_authn_jwks_fetch_success\{\} 1$/m);
    expect(prom).toMatch(/^jwt_authn_allowed\{\} 1$/m);
    expect(prom).toMatch(/^jwt_authn_denied\{\} 1$/m);
    expect(prom).toMatch(/^jwt_authn_denied_jwt_header_is_an_invalid_json\{\} 1$|^jwt_authn_denied_jwt_header_is_an_invalid_base64url_encoded\{\} 1$/m);
    expect(prom).toMatch(/# TYPE jwt_authn_jwks_age_seconds_https_idp_example_com_keys_f0a0d6f3 gauge\njwt_authn_jwks_age_seconds_https_idp_example_com_keys_f0a0d6f3\{\} [45]\n/);
    const text = (await request(`${g.gw.adminUrl}/stats`)).body;
    expect(text).toMatch(/^wasmcustom\.jwt_authn\.jwks_fetch_success: 1$/m);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("two key-set URIs that sanitize to the same stat name get two age gauges", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  // `https://idp.example.com/keys` and `https://idp.example.com.keys` both read https_idp_example_com_keys.
  const g = await startGateway({
    jwtRules: [{ issuer: ISS, jwksUri: URI }, { issuer: "https://other.example.com", jwksUri: "https://idp.example.com.keys" }],
  }, backend.url, {
    workers: 1, clusters: { [CLUSTER]: jwks.url, "outbound|443||idp.example.com.keys": jwks.url }, serve: { manualClock: true, adminPort: 0 },
  });
  try {
    await g.gw.advance(1);
    await g.gw.advance(5000);
    expect(jwks.hits).toBe(2);
    const prom = (await request(`${g.gw.adminUrl}/stats/prometheus`)).body;
    const gauges = prom.split("\n").filter((l) => /^jwt_authn_jwks_age_seconds_https_idp_example_com_keys_[0-9a-f]{8}\{\} \d+$/.test(l));
    expect(gauges).toHaveLength(2);
    expect(new Set(gauges.map((l) => l.split("{")[0])).size).toBe(2);
  } finally {
    await g.close();
    await jwks.close();
  }
});
