// The key-set lifecycle review (assembly/jwks/), through the compiled filter in the local host with its
// test clock and real JWKS and discovery servers: a discovery document whose jwks_uri changes at every
// refresh keeps one JWKS set (the replaced ones are neither refreshed nor kept), rules sharing a jwksUri
// with different clusters or cache durations each get their own options, a body the host refuses to store
// publishes no version, a discovery rule's keys are fetched at the first tick, and a request paused across
// a configuration update still gets its answer within the fetch timeout.
import * as http from "http";
import { startBackend, startJwksServer, request, Backend, JwksServer, Reply } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";
import { sharedStore } from "../../host/shared";
import { WasmResult } from "../../host/abi/constants";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/keys";
const CLUSTER = "outbound|443||idp.example.com";
const DISCOVERY_PATH = "/.well-known/openid-configuration";
const MIN = 60 * 1000;

let backend: Backend;
let key: TestKey;
let open: Array<{ close(): Promise<void> }> = [];
beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(() => backend.close());
afterEach(async () => {
  const list = open.reverse();
  open = [];
  for (const o of list) await o.close();
});

function track<T extends { close(): Promise<void> }>(o: T): T {
  open.push(o);
  return o;
}

function stat(g: TestGateway, name: string): number {
  return g.gw.stats().filter((x) => x.name === `wasmcustom.jwt_authn.${name}`).reduce((a, x) => a + x.value, 0);
}

const token = (k: TestKey = key, iss = ISS) => sign(k, { iss, sub: "s", exp: nowS() + 30 * 24 * 3600 });
const get = (g: TestGateway, t: string) => request(g.url + "/", { headers: { authorization: `Bearer ${t}` } });

/** Waits for a reply while moving virtual time in small steps; returns it with the virtual ms it took. */
async function pump(g: TestGateway, p: Promise<Reply>, stepMs = 100, maxSteps = 200): Promise<Reply & { virtualMs: number }> {
  let done = false;
  let virtualMs = 0;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < maxSteps && !done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    if (!done) {
      await g.gw.advance(stepMs);
      virtualMs += stepMs;
    }
  }
  return { ...(await p), virtualMs };
}

/** The reply if it comes within `ms` of real time without moving virtual time, else "paused". */
async function withoutTime(p: Promise<Reply>, ms = 1500): Promise<Reply | "paused"> {
  return Promise.race([p, new Promise<"paused">((r) => setTimeout(() => r("paused"), ms))]);
}

async function start(config: object, clusters: Record<string, string>, workers = 2): Promise<TestGateway> {
  const g = track(await startGateway(config, backend.url, { workers, clusters, serve: { manualClock: true, adminPort: 0 } }));
  await g.gw.advance(1); // the first tick: first fetches
  return g;
}

/** The version in the shared record of `storeKey` (0: none announced). */
function sharedVersion(storeKey: string): number {
  const e = sharedStore.get("", `jwt_authn.v1.meta|${storeKey}`);
  return e && e.value.length >= 8 ? e.value.readUInt32LE(4) : 0;
}

describe("item 1: a discovery document whose jwks_uri changes at every refresh", () => {
  test("keeps one JWKS set: each discovered URI is fetched once, the replaced ones are dropped, never refreshed", async () => {
    let n = 0;
    const jwksHits = new Map<string, number>();
    const idp = track(await startJwksServer({
      kind: "custom",
      handle: (req: http.IncomingMessage, res: http.ServerResponse) => {
        const url = req.url ?? "";
        res.writeHead(200, { "content-type": "application/json" });
        if (url === DISCOVERY_PATH) res.end(JSON.stringify({ issuer: ISS, jwks_uri: `${ISS}/keys/${++n}` }));
        else {
          jwksHits.set(url, (jwksHits.get(url) ?? 0) + 1);
          res.end(jwksOf(key));
        }
      },
    }));
    // Lifetime 10 s, refresh floor 1 s: a discovery refresh (and so a new jwks_uri) every 8 s.
    const g = await start({ jwtRules: [{ issuer: ISS, cacheDuration: "10s", minRefetchInterval: "1s" }] }, { [CLUSTER]: idp.url });
    const t = token();
    let snapshot = new Map<string, number>();
    let namedAtSnapshot = 0;
    for (let s = 0; s < 400; s++) {
      await g.gw.advance(1000);
      if (s % 40 === 0) expect((await pump(g, get(g, t))).status).toBe(200);
      if (s === 200) {
        snapshot = new Map(jwksHits);
        namedAtSnapshot = n;
      }
    }
    const discoveries = idp.seen.filter((x) => x.url === DISCOVERY_PATH).length;
    const fetched = [...jwksHits.values()].reduce((a, b) => a + b, 0);
    console.log(`discovery fetches ${discoveries}, distinct jwks_uris ${jwksHits.size}, JWKS fetches ${fetched}`);
    expect(discoveries).toBeGreaterThanOrEqual(45);
    // Every discovered set was fetched once, when named, then dropped: without the fix each old set kept
    // refreshing every 8 s, so the fetches grew with the square of the number of refreshes.
    expect(jwksHits.size).toBeGreaterThanOrEqual(discoveries - 1);
    expect(Math.max(...jwksHits.values())).toBe(1);
    expect(fetched).toBeLessThanOrEqual(discoveries);
    // The URIs replaced before the snapshot were never fetched again.
    for (let i = 1; i < namedAtSnapshot - 1; i++) expect([`/keys/${i}`, jwksHits.get(`/keys/${i}`)]).toEqual([`/keys/${i}`, snapshot.get(`/keys/${i}`)]);
    // Each VM dropped the sets it no longer uses.
    const dropped = g.logs.filter((l) => /jwks set for issuer https:\/\/idp\.example\.com from https:\/\/idp\.example\.com\/keys\/\d+ dropped: its discovery document names another jwks_uri/.test(l));
    expect(dropped.length).toBeGreaterThanOrEqual(2 * (discoveries - 3));
    // One age gauge per discovery rule, named after the discovery document, whatever the number of jwks_uris.
    const prom = (await request(`${g.gw.adminUrl}/stats/prometheus`)).body;
    const gauges = prom.split("\n").filter((l) => /^jwt_authn_jwks_age_seconds_/.test(l));
    expect(gauges).toHaveLength(1);
    expect(gauges[0]).toMatch(/^jwt_authn_jwks_age_seconds_https_idp_example_com_well_known_openid_configuration_[0-9a-f]{8}\{\} \d+$/);
    expect((await pump(g, get(g, t))).status).toBe(200);
    expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  });
});

describe("item 2: rules sharing a jwksUri with different fetch options each keep their own (Envoy: one cache per provider)", () => {
  test("different clusters: each rule fetches through its own cluster and verifies with its own keys", async () => {
    const k2 = makeRsaKey("k2");
    const a = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const b = track(await startJwksServer({ kind: "ok", body: jwksOf(k2) }));
    const ISS_B = "https://b.example.com";
    const g = await start({
      jwtRules: [{ issuer: ISS, jwksUri: URI }, { issuer: ISS_B, jwksUri: URI, jwksCluster: "other" }],
    }, { [CLUSTER]: a.url, other: b.url });
    expect([a.hits, b.hits]).toEqual([1, 1]);
    expect((await withoutTime(get(g, token(key))) as Reply).status).toBe(200);
    // Before: rule B used rule A's set (cluster A): k2 unknown there, 401.
    expect((await withoutTime(get(g, token(k2, ISS_B))) as Reply).status).toBe(200);
    expect([a.hits, b.hits]).toEqual([1, 1]);
  });

  test("different cacheDuration: two records and two lifetimes; the same options: one set, one fetch", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const g = await start({
      jwtRules: [
        { issuer: ISS, jwksUri: URI, cacheDuration: "1m", minRefetchInterval: "1s" },
        { issuer: "https://b.example.com", jwksUri: URI, minRefetchInterval: "1s" },
        { issuer: "https://c.example.com", jwksUri: URI, minRefetchInterval: "1s" },
      ],
    }, { [CLUSTER]: jwks.url });
    // Rule A's record (1 min lifetime) and the record rules B and C share (10 min: Envoy's default).
    expect(jwks.hits).toBe(2);
    expect(sharedVersion(URI)).toBe(1);
    expect(sharedVersion(`${URI}|${CLUSTER}|60000`)).toBe(1);
    await g.gw.advance(60 * 1000); // A refreshes at 48 s (80 % of 1 min); B/C are fresh until 8 min
    expect(jwks.hits).toBe(3);
    expect(sharedVersion(`${URI}|${CLUSTER}|60000`)).toBe(2);
    expect(sharedVersion(URI)).toBe(1);
    await g.gw.advance(8 * MIN);
    expect(sharedVersion(URI)).toBe(2);
    for (const iss of [ISS, "https://b.example.com", "https://c.example.com"]) {
      expect((await withoutTime(get(g, token(key, iss))) as Reply).status).toBe(200);
    }
  });
});

describe("item 3: a body the host refuses to store publishes no version", () => {
  test("the fetch fails (logged, counted, backoff) with version 0 in the record; the next retry publishes once storing works", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const realSet = sharedStore.set.bind(sharedStore);
    let refused = 0;
    // The local host has no value size limit; this makes its store refuse our body writes, as a host
    // with a limit (or out of memory) would.
    sharedStore.set = (vmId: string, k: string, value: Buffer, cas: number): number => {
      if (k === `jwt_authn.v1.body|${URI}`) {
        refused++;
        return WasmResult.InternalFailure;
      }
      return realSet(vmId, k, value, cas);
    };
    let g!: TestGateway;
    try {
      g = await start({ jwtRules: [{ issuer: ISS, jwksUri: URI }] }, { [CLUSTER]: jwks.url });
      expect(refused).toBe(1);
      expect(jwks.hits).toBe(1);
      expect(sharedVersion(URI)).toBe(0); // before: version 1 announced with no body behind it
      expect(stat(g, "jwks_fetch_success")).toBe(0);
      expect(stat(g, "jwks_fetch_failed")).toBe(1);
      expect(g.logs.some((l) => /jwks fetch for issuer https:\/\/idp\.example\.com from https:\/\/idp\.example\.com\/keys \(cluster outbound\|443\|\|idp\.example\.com\): failed: the host refused to store the body \(\d+ bytes\) in shared data; no usable set; retry in [\d.]+ s in \d+ ms$/.test(l))).toBe(true);
      // In the backoff no VM holds a set: a request fails at once (fail closed), it does not hang.
      const r = (await withoutTime(get(g, token()))) as Reply;
      expect([r.status, r.body]).toEqual([401, "Jwks remote fetch is failed"]);
    } finally {
      sharedStore.set = realSet;
    }
    await g.gw.advance(2000); // the retry after 1 s (±20 %)
    expect(jwks.hits).toBe(2);
    expect(sharedVersion(URI)).toBe(1);
    await g.gw.advance(1000); // every VM's next tick reads the stored body
    for (let i = 0; i < 4; i++) expect((await withoutTime(get(g, token())) as Reply).status).toBe(200);
  });
});

describe("item 4: a discovery rule's keys are fetched at the first tick", () => {
  test("after advance(1) both the discovery document and its JWKS are fetched; the first request does not wait", async () => {
    const idp = track(await startJwksServer({
      kind: "custom",
      handle: (req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(req.url === DISCOVERY_PATH ? JSON.stringify({ issuer: ISS, jwks_uri: `${ISS}/keys` }) : jwksOf(key));
      },
    }));
    const g = await start({ jwtRules: [{ issuer: ISS }] }, { [CLUSTER]: idp.url });
    expect(idp.seen.map((s) => s.url)).toEqual([DISCOVERY_PATH, "/keys"]);
    // No virtual time moves: a request that paused would hang here.
    for (let i = 0; i < 4; i++) {
      const r = await withoutTime(get(g, token()));
      expect(r).not.toBe("paused");
      expect((r as Reply).status).toBe(200);
    }
    expect(idp.seen).toHaveLength(2);
    expect(stat(g, "jwks_fetch_success")).toBe(2);
  });
});

describe("item 5: a request paused across a configuration update", () => {
  test("gets 401 Jwks remote fetch is failed within the fetch timeout; the new configuration serves once the server answers", async () => {
    const jwks = track(await startJwksServer({ kind: "hang" }));
    const config = { jwtRules: [{ issuer: ISS, jwksUri: URI, timeout: "2s" }] };
    const g = await start(config, { [CLUSTER]: jwks.url }, 1);
    const pending = get(g, token());
    await new Promise((r) => setTimeout(r, 50));
    expect(await withoutTime(pending, 200)).toBe("paused");
    await g.gw.reconfigure({ configuration: JSON.stringify({ ...config, maxPausedRequests: 999 }) });
    const r = await pump(g, pending);
    expect([r.status, r.body]).toEqual([401, "Jwks remote fetch is failed"]);
    expect(r.virtualMs).toBeLessThanOrEqual(2500);
    jwks.behaviour = { kind: "ok", body: jwksOf(key) };
    await g.gw.advance(2000); // the new configuration's VM retries after the failure's backoff (1 s ±20 %)
    const ok = await pump(g, get(g, token()));
    expect(ok.status).toBe(200);
    expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  });
});
