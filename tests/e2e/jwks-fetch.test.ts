// How the filter's remote key sets survive bad JWKS servers (slow, huge, garbage, 5xx, redirects, 304s)
// and how it finds keys by OIDC discovery: the answer each request gets, the fetch counters, the one log
// line per fetch outcome, refresh ahead of the lifetime with conditional requests (virtual time), and
// recovery after the backoff.
import * as http from "http";
import { startBackend, startJwksServer, request, Backend, JwksServer, Reply } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/.well-known/jwks.json";
const CLUSTER = "outbound|443||idp.example.com";
const FETCH_FAILED = "Jwks remote fetch is failed";
const DISCOVERY_PATH = "/.well-known/openid-configuration";

let backend: Backend;
let key: TestKey;
/** Gateways and servers of the running test, closed after it whatever happened. */
let open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
});
afterEach(async () => {
  const list = open.reverse();
  open = [];
  for (const o of list) await o.close();
});

function track<T extends { close(): Promise<void> }>(o: T): T {
  open.push(o);
  return o;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

const counter = (g: TestGateway, name: string): number =>
  g.gw.stats().find((s) => s.name === `wasmcustom.jwt_authn.${name}`)?.value ?? 0;

/** The filter's fetch outcome lines ("jwks fetch for issuer …" and "oidc discovery fetch for issuer …"). */
const fetchLines = (g: TestGateway, what = "jwks"): string[] => g.logs.filter((l) => l.includes(`${what} fetch for issuer `));

const tokenFor = (iss: string) => sign(key, { iss, sub: "alice", exp: nowS() + 3600 });

async function getWith(g: TestGateway, iss = ISS): Promise<Reply & { ms: number }> {
  const t0 = Date.now();
  const r = await request(g.url + "/", { headers: { authorization: `Bearer ${tokenFor(iss)}` } });
  return { ...r, ms: Date.now() - t0 };
}

function expectFetchFailedReply(r: Reply) {
  expect(r.status).toBe(401);
  expect(r.body).toBe(FETCH_FAILED);
}

/** No VM trapped. */
function expectNoTrap(g: TestGateway) {
  expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  expect(g.logs.some((l) => l.includes("Wasm VM failed"))).toBe(false);
}

/** Polls `probe` until `ok` holds or the deadline passes; returns the last value. */
async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 5000, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await probe();
  while (!ok(v) && Date.now() < deadline) {
    await sleep(every);
    v = await probe();
  }
  return v;
}

/** The whole line of the rule's JWKS fetch outcome, anchored on the issuer, URI and cluster. */
function lineRe(what: "jwks" | "oidc discovery", iss: string, uri: string, cluster: string, outcome: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`${what} fetch for issuer ${esc(iss)} from ${esc(uri)} \\(cluster ${esc(cluster)}\\): ${outcome} in \\d+ ms$`);
}

async function setup(jwks: JwksServer, extra: object = {}, opts: { workers?: number; manual?: boolean; clusters?: Record<string, string> } = {}): Promise<TestGateway> {
  return track(
    await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: URI, ...extra }] }, backend.url, {
      workers: opts.workers ?? 1,
      clusters: { [CLUSTER]: jwks.url, ...(opts.clusters ?? {}) },
      serve: opts.manual ? { manualClock: true, settleWindowMs: 2000 } : {},
    }),
  );
}

describe("bad JWKS servers", () => {
  test("a server trickling 1 byte per second is cut off at the rule's timeout; the waiting request gets 401 in about 1 s", async () => {
    const body = jwksOf(key);
    const timers = new Set<NodeJS.Timeout>();
    const jwks = track(
      await startJwksServer({
        kind: "custom",
        handle: (_req, res) => {
          res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
          let i = 0;
          const next = () => {
            if (i < body.length) res.write(body[i++]);
            else res.end();
          };
          next();
          const t = setInterval(next, 1000);
          timers.add(t);
          res.on("close", () => {
            clearInterval(t);
            timers.delete(t);
          });
        },
      }),
    );
    const g = await setup(jwks, { timeout: "1s" });
    try {
      const r = await getWith(g);
      expectFetchFailedReply(r);
      expect(r.ms).toBeLessThan(2500);
      expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
      expect(counter(g, "jwks_fetch_success")).toBe(0);
      // Headers came at once, so the host reports the cut-off as a reset (a 504 if they had not).
      const line = fetchLines(g).find((l) => /failed: (reset or timeout|status 504); no usable set; retry in [\d.]+ s in \d+ ms$/.test(l));
      expect(line).toBeDefined();
      const took = Number(/ in (\d+) ms$/.exec(line!)![1]);
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(2000);
      expectNoTrap(g);
    } finally {
      for (const t of timers) clearInterval(t);
    }
  });

  test("a 10 MiB body is refused without trapping", async () => {
    const big = JSON.stringify({ keys: [key.publicJwk], pad: "x".repeat(10 * 1024 * 1024) });
    const jwks = track(await startJwksServer({ kind: "ok", body: big }));
    const g = await setup(jwks);
    const r = await getWith(g);
    expectFetchFailedReply(r);
    expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "failed: body over 262144 bytes; no usable set; retry in [\\d.]+ s").test(l))).toBe(true);
    expectNoTrap(g);
    // Still alive and answering.
    expectFetchFailedReply(await getWith(g));
  });

  test("invalid JSON is a fetch failure: no usable key", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: '{"keys": [ {"kty": "RSA", ' }));
    const g = await setup(jwks);
    expectFetchFailedReply(await getWith(g));
    expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "failed: no usable key \\(.+\\); no usable set; retry in [\\d.]+ s").test(l))).toBe(true);
    expectNoTrap(g);
  });

  test("a 500 fails; once the server heals, the retry after the backoff lets tokens pass", async () => {
    const jwks = track(await startJwksServer({ kind: "status", status: 500, body: "oops" }));
    const g = await setup(jwks, {}, { workers: 2 });
    expectFetchFailedReply(await getWith(g));
    expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "failed: status 500; no usable set; retry in [\\d.]+ s").test(l))).toBe(true);

    jwks.behaviour = { kind: "ok", body: jwksOf(key) };
    const r = await until(() => getWith(g), (x) => x.status === 200);
    expect(r.status).toBe(200);
    expect(r.body).toBe("Hello World! /");
    expect(counter(g, "jwks_fetch_success")).toBe(1);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "ok, 1 key\\(s\\), version 1").test(l))).toBe(true);
    // Healed for both VMs by that one good fetch.
    const hits = jwks.hits;
    for (let i = 0; i < 4; i++) expect((await getWith(g)).status).toBe(200);
    expect(jwks.hits).toBe(hits);
    expectNoTrap(g);
  });

  test("a redirect is not followed: the location is logged, one request per attempt, nothing fetched elsewhere", async () => {
    const jwks = track(await startJwksServer({ kind: "status", status: 302, body: "", headers: { location: "http://elsewhere.example/keys" } }));
    const elsewhere = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const g = await setup(jwks, {}, { manual: true, clusters: { "outbound|80||elsewhere.example": elsewhere.url } });
    const r = await getWith(g);
    expectFetchFailedReply(r);
    await g.gw.settle();
    const failed = () => fetchLines(g).filter((l) => l.includes("failed: status 302 (redirect to http://elsewhere.example/keys not followed)"));
    expect(failed()).toHaveLength(1);
    expect(failed()[0]).toMatch(lineRe("jwks", ISS, URI, CLUSTER, "failed: status 302 \\(redirect to http://elsewhere\\.example/keys not followed\\); no usable set; retry in [\\d.]+ s"));
    expect(jwks.hits).toBe(1);
    expect(counter(g, "jwks_fetch_failed")).toBe(1);

    // During the backoff a request with no usable set fails at once, without a fetch.
    const during = await getWith(g);
    expectFetchFailedReply(during);
    expect(jwks.hits).toBe(1);

    // The first retry comes after 1 s ±20 %, the next one not before 1.6 s later: exactly one more attempt.
    await g.gw.advance(1300);
    expect(jwks.hits).toBe(2);
    expect(failed()).toHaveLength(2);
    expect(counter(g, "jwks_fetch_failed")).toBe(2);
    const retries = failed().map((l) => Number(/retry in ([\d.]+) s/.exec(l)![1]));
    expect(retries[0]).toBeGreaterThanOrEqual(0.8);
    expect(retries[0]).toBeLessThanOrEqual(1.2);
    expect(retries[1]).toBeGreaterThanOrEqual(1.6);
    expect(retries[1]).toBeLessThanOrEqual(2.4);
    expect(elsewhere.hits).toBe(0);
    expect(jwks.seen.every((s) => s.url === "/.well-known/jwks.json")).toBe(true);
    expectNoTrap(g);
  });
});

describe("refresh ahead of the lifetime, conditional requests and 304s (virtual time)", () => {
  test("with an ETag the refresh is conditional; a 304 renews the lifetime", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key), headers: { etag: '"v1"', "cache-control": "max-age=120" } }));
    const g = await setup(jwks, {}, { manual: true });
    expect((await getWith(g)).status).toBe(200);
    expect(jwks.seen).toHaveLength(1);
    expect(jwks.seen[0].headers["if-none-match"]).toBeUndefined();
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "ok, 1 key\\(s\\), version 1").test(l))).toBe(true);

    jwks.behaviour = { kind: "status", status: 304, body: "", headers: { etag: '"v1"', "cache-control": "max-age=120" } };
    await g.gw.advance(95_000); // t = 95 s: before 80 % of 120 s
    expect(jwks.seen).toHaveLength(1);
    await g.gw.advance(2_000); // t = 97 s: the refresh at 96 s
    expect(jwks.seen).toHaveLength(2);
    expect(jwks.seen[1].headers["if-none-match"]).toBe('"v1"');
    expect(counter(g, "jwks_fetch_not_modified")).toBe(1);
    expect(counter(g, "jwks_fetch_failed")).toBe(0);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "not modified \\(304\\), lifetime renewed").test(l))).toBe(true);
    expect((await getWith(g)).status).toBe(200);

    // Renewed at 96 s for 120 s: the next refresh is due at 192 s (not at 156 s, which minRefetchInterval alone would allow).
    await g.gw.advance(73_000); // t = 170 s
    expect(jwks.seen).toHaveLength(2);
    await g.gw.advance(27_000); // t = 197 s
    expect(jwks.seen).toHaveLength(3);
    expect(jwks.seen[2].headers["if-none-match"]).toBe('"v1"');
    expect(counter(g, "jwks_fetch_not_modified")).toBe(2);
    expect(counter(g, "jwks_fetch_success")).toBe(1);
    expect((await getWith(g)).status).toBe(200);
    expect(counter(g, "jwks_stale_served")).toBe(0);
    expectNoTrap(g);
  });

  test("a 304 to a request that was not conditional is a failure; the old set is still served", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const g = await setup(jwks, { cacheDuration: "2m" }, { manual: true });
    expect((await getWith(g)).status).toBe(200);

    jwks.behaviour = { kind: "status", status: 304, body: "" };
    await g.gw.advance(97_000); // refresh at 80 % of 2 min = 96 s
    expect(jwks.seen).toHaveLength(2);
    expect(jwks.seen[1].headers["if-none-match"]).toBeUndefined();
    expect(jwks.seen[1].headers["if-modified-since"]).toBeUndefined();
    expect(counter(g, "jwks_fetch_failed")).toBe(1);
    expect(counter(g, "jwks_fetch_not_modified")).toBe(0);
    expect(
      fetchLines(g).some((l) =>
        lineRe("jwks", ISS, URI, CLUSTER, "failed: 304 to a request that was not conditional; serving the last good set \\(stale until [\\d.]+\\); retry in [\\d.]+ s").test(l),
      ),
    ).toBe(true);
    const r = await getWith(g);
    expect(r.status).toBe(200);
    expect(r.body).toBe("Hello World! /");
    expectNoTrap(g);
  });

  test("Cache-Control max-age below 1 min is clamped to 1 min: refreshed at 48 s (80 %), not at 4 s, when minRefetchInterval allows", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key), headers: { "cache-control": "max-age=5" } }));
    const g = await setup(jwks, { minRefetchInterval: "10s" }, { manual: true });
    expect((await getWith(g)).status).toBe(200);
    expect(jwks.hits).toBe(1);
    await g.gw.advance(10_000);
    expect(jwks.hits).toBe(1);
    expect((await getWith(g)).status).toBe(200);
    await g.gw.advance(40_000); // t = 50 s
    expect(jwks.hits).toBe(2);
    expect(counter(g, "jwks_fetch_success")).toBe(2);
    expect(fetchLines(g).some((l) => lineRe("jwks", ISS, URI, CLUSTER, "ok, 1 key\\(s\\), version 2").test(l))).toBe(true);
    expect((await getWith(g)).status).toBe(200);
    expectNoTrap(g);
  });

  test("minRefetchInterval is also the least time between routine refreshes: with the default 60 s a 1-min lifetime is refreshed at 60 s", async () => {
    const jwks = track(await startJwksServer({ kind: "ok", body: jwksOf(key), headers: { "cache-control": "max-age=5" } }));
    const g = await setup(jwks, {}, { manual: true });
    await g.gw.advance(1); // the first tick, 1 ms after the configuration, starts the first fetch
    expect(jwks.hits).toBe(1);
    await g.gw.advance(50_000);
    expect(jwks.hits).toBe(1);
    await g.gw.advance(11_000); // t = 61 s
    expect(jwks.hits).toBe(2);
    expect((await getWith(g)).status).toBe(200);
    expectNoTrap(g);
  });

  test("a 304 without Cache-Control keeps the stored max-age lifetime (RFC 9111 §4.3.4)", async () => {
    let first = true;
    const jwks = track(await startJwksServer({
      kind: "custom",
      handle: (_req: http.IncomingMessage, res: http.ServerResponse) => {
        if (first) {
          first = false;
          res.writeHead(200, { "content-type": "application/json", etag: '"v1"', "cache-control": "max-age=120" });
          res.end(jwksOf(key));
        } else {
          res.writeHead(304, { etag: '"v1"' });
          res.end();
        }
      },
    }));
    const g = await setup(jwks, {}, { manual: true });
    await g.gw.advance(1); // the first tick, 1 ms after the configuration, starts the first fetch
    expect(jwks.hits).toBe(1);
    await g.gw.advance(97_000); // 80 % of 120 s
    expect(jwks.hits).toBe(2);
    expect(counter(g, "jwks_fetch_not_modified")).toBe(1);
    await g.gw.advance(97_000); // again 80 % of 120 s after the 304, not 80 % of Envoy's 10 minutes
    expect(jwks.hits).toBe(3);
    expect(counter(g, "jwks_fetch_not_modified")).toBe(2);
    expect((await getWith(g)).status).toBe(200);
    expectNoTrap(g);
  });
});

type Route = { status: number; body: string; headers?: Record<string, string> };

/** An identity provider on 127.0.0.1: answers by path from `routes` (404 otherwise). */
async function startIdp(): Promise<{ srv: JwksServer; routes: Map<string, Route>; base: string; port: number }> {
  const routes = new Map<string, Route>();
  const srv = track(
    await startJwksServer({
      kind: "custom",
      handle: (req: http.IncomingMessage, res: http.ServerResponse) => {
        const r = routes.get(req.url ?? "") ?? { status: 404, body: "not found" };
        res.writeHead(r.status, { "content-type": "application/json", ...(r.headers ?? {}) });
        res.end(r.body);
      },
    }),
  );
  return { srv, routes, base: srv.url, port: srv.port };
}

const discoveryHits = (srv: JwksServer) => srv.seen.filter((s) => s.url === DISCOVERY_PATH).length;
const keysHits = (srv: JwksServer) => srv.seen.filter((s) => s.url === "/keys").length;

describe("OIDC discovery", () => {
  test.each([
    ["without", ""],
    ["with", "/"],
  ])("an issuer %s a trailing slash: the discovery document names the keys; one fetch of each", async (_name, slash) => {
    const idp = await startIdp();
    const iss = idp.base + slash;
    const cluster = `outbound|${idp.port}||127.0.0.1`;
    idp.routes.set(DISCOVERY_PATH, { status: 200, body: JSON.stringify({ issuer: iss, jwks_uri: `${idp.base}/keys` }) });
    idp.routes.set("/keys", { status: 200, body: jwksOf(key) });
    const g = track(await startGateway({ jwtRules: [{ issuer: iss }] }, backend.url, { workers: 2, clusters: { [cluster]: idp.base } }));
    const r = await getWith(g, iss);
    expect(r.status).toBe(200);
    expect(r.body).toBe("Hello World! /");
    for (let i = 0; i < 4; i++) expect((await getWith(g, iss)).status).toBe(200); // both VMs
    expect(discoveryHits(idp.srv)).toBe(1);
    expect(keysHits(idp.srv)).toBe(1);
    expect(idp.srv.seen).toHaveLength(2);
    expect(idp.srv.seen[0].headers.host).toBe(`127.0.0.1:${idp.port}`);
    expect(counter(g, "jwks_fetch_success")).toBe(2);
    expect(counter(g, "jwks_fetch_failed")).toBe(0);
    const lines = g.logs;
    expect(lines.some((l) => lineRe("oidc discovery", iss, idp.base + DISCOVERY_PATH, cluster, `ok, jwks_uri ${idp.base}/keys, version 1`.replace(/[.()|]/g, "\\$&")).test(l))).toBe(true);
    expect(lines.some((l) => lineRe("jwks", iss, `${idp.base}/keys`, cluster, "ok, 1 key\\(s\\), version 1").test(l))).toBe(true);
    // A token whose iss differs from the configured issuer string (slash or not) matches no rule.
    const other = slash ? idp.base : idp.base + "/";
    const bad = await getWith(g, other);
    expect(bad.status).toBe(401);
    expectNoTrap(g);
  });

  test("a jwks_uri on another authority goes through that authority's default cluster", async () => {
    const idp = await startIdp();
    const keys = track(await startJwksServer({ kind: "ok", body: jwksOf(key) }));
    const iss = idp.base;
    const cluster = `outbound|${idp.port}||127.0.0.1`;
    idp.routes.set(DISCOVERY_PATH, { status: 200, body: JSON.stringify({ issuer: iss, jwks_uri: "https://keys.example:8443/jwks" }) });
    const g = track(
      await startGateway({ jwtRules: [{ issuer: iss }] }, backend.url, {
        workers: 1,
        clusters: { [cluster]: idp.base, "outbound|8443||keys.example": keys.url },
      }),
    );
    expect((await getWith(g, iss)).status).toBe(200);
    expect(keys.seen).toHaveLength(1);
    expect(keys.seen[0].url).toBe("/jwks");
    expect(keys.seen[0].headers.host).toBe("keys.example:8443");
    expect(discoveryHits(idp.srv)).toBe(1);
    expect(counter(g, "jwks_fetch_success")).toBe(2);
    expect(g.logs.some((l) => lineRe("jwks", iss, "https://keys.example:8443/jwks", "outbound|8443||keys.example", "ok, 1 key\\(s\\), version 1").test(l))).toBe(true);
    expectNoTrap(g);
  });

  test.each([
    ["a jwks_uri that is not http(s)", "http", JSON.stringify({ jwks_uri: "ftp://x/keys" }), "jwks_uri is not an http\\(s\\) URI"],
    ["a document without jwks_uri", "http", JSON.stringify({ issuer: "x", keys_uri: "http://x/keys" }), "the discovery document has no jwks_uri string"],
    ["a jwks_uri that is not a string", "http", JSON.stringify({ jwks_uri: 42 }), "the discovery document has no jwks_uri string"],
    ["a document that is not a JSON object", "http", '["jwks_uri"]', "the discovery document is not a JSON object"],
    ["an http:// jwks_uri for an https:// issuer", "https", JSON.stringify({ issuer: "https://idp.test", jwks_uri: "http://idp.test/keys" }), "jwks_uri is http:// while the issuer is https://"],
  ])("%s fails discovery: 401 and the problem logged", async (_name, scheme, doc, problem) => {
    const idp = await startIdp();
    const https = scheme === "https";
    const iss = https ? "https://idp.test" : idp.base;
    const cluster = https ? "outbound|443||idp.test" : `outbound|${idp.port}||127.0.0.1`;
    idp.routes.set(DISCOVERY_PATH, { status: 200, body: doc });
    idp.routes.set("/keys", { status: 200, body: jwksOf(key) });
    const g = track(await startGateway({ jwtRules: [{ issuer: iss }] }, backend.url, { workers: 1, clusters: { [cluster]: idp.base } }));
    const r = await getWith(g, iss);
    expectFetchFailedReply(r);
    expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
    expect(counter(g, "jwks_fetch_success")).toBe(0);
    expect(
      g.logs.some((l) => lineRe("oidc discovery", iss, iss + DISCOVERY_PATH, cluster, `failed: ${problem}; no usable set; retry in [\\d.]+ s`).test(l)),
    ).toBe(true);
    expect(keysHits(idp.srv)).toBe(0);
    expect(discoveryHits(idp.srv)).toBeGreaterThanOrEqual(1);
    if (https) expect(idp.srv.seen[0].headers.host).toBe("idp.test");
    expectNoTrap(g);
  });

  test("a discovery outage fails tokens; once it heals, the retry after the backoff lets them pass", async () => {
    const idp = await startIdp();
    const iss = idp.base;
    const cluster = `outbound|${idp.port}||127.0.0.1`;
    idp.routes.set(DISCOVERY_PATH, { status: 500, body: "down" });
    idp.routes.set("/keys", { status: 200, body: jwksOf(key) });
    const g = track(await startGateway({ jwtRules: [{ issuer: iss }] }, backend.url, { workers: 2, clusters: { [cluster]: idp.base } }));
    expectFetchFailedReply(await getWith(g, iss));
    expect(counter(g, "jwks_fetch_failed")).toBeGreaterThanOrEqual(1);
    expect(g.logs.some((l) => lineRe("oidc discovery", iss, iss + DISCOVERY_PATH, cluster, "failed: status 500; no usable set; retry in [\\d.]+ s").test(l))).toBe(true);
    expect(keysHits(idp.srv)).toBe(0);

    idp.routes.set(DISCOVERY_PATH, { status: 200, body: JSON.stringify({ issuer: iss, jwks_uri: `${iss}/keys` }) });
    const r = await until(() => getWith(g, iss), (x) => x.status === 200);
    expect(r.status).toBe(200);
    expect(r.body).toBe("Hello World! /");
    for (let i = 0; i < 4; i++) expect((await getWith(g, iss)).status).toBe(200);
    expect(keysHits(idp.srv)).toBe(1);
    expect(counter(g, "jwks_fetch_success")).toBe(2);
    expect(g.logs.some((l) => lineRe("jwks", iss, `${iss}/keys`, cluster, "ok, 1 key\\(s\\), version 1").test(l))).toBe(true);
    expectNoTrap(g);
  });
});
