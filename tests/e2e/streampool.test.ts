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
