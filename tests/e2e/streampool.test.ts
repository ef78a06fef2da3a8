// The filter keeps deleted stream objects for its next requests (assembly/filter/root.ts recycle, up to
// STREAM_POOL_MAX a VM). These tests drive one worker, so consecutive requests get the same object, and
// check that nothing of a request survives into the next one: principal, policy attributes (headers,
// claims, the source address), debug decision; and that a request that was paused on a key-set fetch and
// then went away is never resumed in the place of the request that took its object.
import * as http from "http";
import * as net from "net";
import { startBackend, startJwksServer, request, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";
import { prng } from "../helpers/prng";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/keys";
const CLUSTER = "outbound|443||idp.example.com";
const H = "x-jwt-authn-decision";

let backend: Backend;
let key: TestKey;
beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(() => backend.close());

const token = (claims: object = {}) => sign(key, { iss: ISS, sub: "alice", exp: nowS() + 3600, ...claims });

test("consecutive requests on one VM: no principal, header, claim or decision of the previous request is seen", async () => {
  const policies = [
    { name: "ns.team", action: "ALLOW", rules: [{ when: [{ key: "request.headers[x-team]", values: ["a"] }] }] },
    { name: "ns.admins", action: "ALLOW", rules: [{ when: [{ key: "request.auth.claims[role]", values: ["admin"] }] }] },
    { name: "ns.users", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: [`${ISS}/alice`] } }], to: [{ operation: { paths: ["/users"] } }] }] },
  ];
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies, debugHeaders: true }, backend.url, { workers: 1 });
  try {
    const before = backend.requests.length;
    // Each allowed request is followed by one that lacks exactly what allowed it.
    const pairs: Array<[Record<string, string>, string, Record<string, string>, string]> = [
      [{ "x-team": "a" }, "/x", {}, "/x"],
      [{ authorization: `Bearer ${token({ role: "admin" })}` }, "/x", { authorization: `Bearer ${token({ role: "user" })}` }, "/x"],
      [{ authorization: `Bearer ${token()}` }, "/users", {}, "/users"],
    ];
    let forwarded = 0;
    for (const [allowedHeaders, allowedPath, deniedHeaders, deniedPath] of pairs) {
      for (let round = 0; round < 3; round++) {
        const ok = await request(g.url + allowedPath, { headers: allowedHeaders });
        expect(ok.status).toBe(200);
        forwarded++;
        const no = await request(g.url + deniedPath, { headers: deniedHeaders });
        expect(no.status).toBe(403);
        expect(no.headers[H]).toMatch(/^deny-no-allow-matched principal=/);
        if (deniedHeaders.authorization === undefined) expect(no.headers[H]).toBe("deny-no-allow-matched principal=-");
      }
    }
    expect(backend.requests.length - before).toBe(forwarded);
    // Anonymous after authenticated: the decision names no principal.
    const anon = await request(g.url + "/x", { headers: { "x-team": "a" } });
    expect(anon.headers[H]).toBe("allow policy=ns.team rule=0 principal=-");
  } finally {
    await g.close();
  }
});

/** Sends a request on a raw socket and returns it, so the test can drop the connection while the request waits. */
function rawRequest(url: string, headers: Record<string, string>): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => {
      const lines = [`GET ${u.pathname} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      s.write(`${lines.join("\r\n")}\r\n\r\n`);
      resolve(s);
    });
    s.on("error", reject);
  });
}

test("a request paused on a fetch and then dropped is never resumed in the place of the request that reuses its object", async () => {
  // Two issuers, each with its own key-set server; both servers hold every answer until the test releases it.
  const ISS2 = "https://other.example.com";
  const held1: http.ServerResponse[] = [];
  const held2: http.ServerResponse[] = [];
  const jwks1 = await startJwksServer({ kind: "custom", handle: (_req, res) => void held1.push(res) });
  const jwks2 = await startJwksServer({ kind: "custom", handle: (_req, res) => void held2.push(res) });
  const g = await startGateway({
    jwtRules: [{ issuer: ISS, jwksUri: URI }, { issuer: ISS2, jwksUri: "https://other.example.com/keys" }],
    debugHeaders: true,
  }, backend.url, {
    workers: 1, clusters: { [CLUSTER]: jwks1.url, "outbound|443||other.example.com": jwks2.url }, serve: { manualClock: true },
  });
  const settle = () => new Promise((r) => setTimeout(r, 50));
  try {
    await g.gw.advance(1); // the first fetches start at the first tick and are held
    for (let i = 0; i < 50 && (held1.length === 0 || held2.length === 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect([held1.length, held2.length]).toEqual([1, 1]);
    const before = backend.requests.length;
    // A waits for the first issuer's keys, then its client goes away: the host deletes the stream and its object is pooled.
    const a = await rawRequest(g.url + "/a", { authorization: `Bearer ${token({ sub: "dropped" })}` });
    await settle();
    a.destroy();
    await settle();
    // B takes the pooled object and waits for the second issuer's keys.
    let bDone = false;
    const b = request(g.url + "/b", { headers: { authorization: `Bearer ${sign(key, { iss: ISS2, sub: "bob", exp: nowS() + 3600 })}` } });
    void b.then(() => (bDone = true));
    await settle();
    // The first issuer's fetch fails. Only A waited for it: B must go on waiting for its own keys, not fail.
    held1[0].writeHead(500, { "content-type": "text/plain" });
    held1[0].end("down");
    await settle();
    expect(bDone).toBe(false);
    held2[0].writeHead(200, { "content-type": "application/json" });
    held2[0].end(jwksOf(key));
    const rb = await b;
    expect(rb.status).toBe(200);
    expect(rb.headers[H]).toBe(`allow no-policies principal=${ISS2}/bob issuer=${ISS2}`);
    expect(backend.requests.length - before).toBe(1);
    expect(backend.requests[backend.requests.length - 1].url).toBe("/b");
    // A later anonymous request on the same VM is a fresh one.
    const c = await request(g.url + "/c");
    expect(c.headers[H]).toBe("allow no-policies principal=-");
  } finally {
    await g.close();
    await jwks1.close();
    await jwks2.close();
  }
});

test("repeated header lines (reused RequestHeader and extraction): 600 requests answer as each would alone", async () => {
  // Differential: gateway M sees the sequence as is, so a line repeated from the previous request reuses its
  // RequestHeader and the extractor its tokens; gateway F sees a request with no token lines before each
  // one, so nothing is ever reused. Status, decision header and what the backend receives must agree.
  const other = makeRsaKey("k2");
  const config = {
    jwtRules: [{
      issuer: ISS, jwks: jwksOf(key),
      fromHeaders: [{ name: "authorization", prefix: "Bearer " }, { name: "x-token" }],
      fromParams: ["access_token"], fromCookies: ["session"],
    }],
    policies: [{ name: "ns.alice", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: [`${ISS}/alice`] } }] }, { to: [{ operation: { paths: ["/open*"] } }] }] }],
    debugHeaders: true,
  };
  const m = await startGateway(config, backend.url, { workers: 1 });
  const f = await startGateway(config, backend.url, { workers: 1 });
  const r = prng(1201);
  const tokens = [
    token(), token({ sub: "bob" }), sign(other, { iss: ISS, sub: "alice", exp: nowS() + 3600 }, { kid: "k1" }),
    token({ exp: nowS() - 600 }), "not.a.token", "",
  ];
  type Req = { path: string; headers: Record<string, string> };
  const randomReq = (): Req => {
    const headers: Record<string, string> = {};
    let path = r.pick(["/open", "/x", "/open/a"]);
    const n = r.int(3);
    for (let i = 0; i < n; i++) {
      const t = r.pick(tokens);
      const where = r.int(4);
      if (where === 0) headers.authorization = r.pick(["Bearer ", "bearer ", "Basic "]) + t;
      else if (where === 1) headers["x-token"] = t;
      else if (where === 2) path += (path.includes("?") ? "&" : "?") + "access_token=" + t;
      else headers.cookie = `a=1; session=${t}`;
    }
    if (r.int(2) === 0) headers["x-other"] = String(r.int(3));
    return { path, headers };
  };
  const mutate = (q: Req): Req => {
    const c: Req = { path: q.path, headers: { ...q.headers } };
    const k = r.int(4);
    if (k === 0) c.path = r.pick(["/open", "/x", "/open/a"]) + (q.path.includes("?") ? q.path.slice(q.path.indexOf("?")) : "");
    else if (k === 1) c.headers["x-other"] = String(r.int(3));
    else if (k === 2 && c.headers.authorization !== undefined) c.headers.authorization = c.headers.authorization.slice(0, -1) + "A";
    else c.headers[r.pick(["authorization", "x-token", "cookie"])] = r.pick(["Bearer ", ""]) + r.pick(tokens);
    return c;
  };
  const seen = (g: { url: string }, q: Req) => {
    const before = backend.requests.length;
    return request(g.url + q.path, { headers: q.headers }).then((res) => {
      const b = backend.requests.length > before ? backend.requests[backend.requests.length - 1] : null;
      return JSON.stringify([res.status, res.headers[H], b && b.url, b && b.headers.authorization, b && b.headers["x-token"], b && b.headers.cookie]);
    });
  };
  try {
    let q = randomReq();
    let reused = 0;
    const differ: string[] = [];
    for (let i = 0; i < 600; i++) {
      const k = r.next();
      if (k < 0.4) reused++; // the same request again
      else if (k < 0.7) q = mutate(q);
      else q = randomReq();
      const a = await seen(m, q);
      await request(f.url + "/flush");
      const b = await seen(f, q);
      if (a !== b && differ.length < 5) differ.push(`${JSON.stringify(q)}: memo ${a} vs fresh ${b}`);
    }
    expect(differ).toEqual([]);
    expect(reused).toBeGreaterThan(150);
  } finally {
    await m.close();
    await f.close();
  }
}, 120000);
