// The compiled filter under the host's plugin lifecycle (host/lifecycle.ts): Envoy's configuration canary
// runs proxy_on_configure once before the workers and is killed with its calls cancelled, so a filter that
// started its JWKS fetch there would hold the shared fetch lease for nobody and the first requests would
// wait out the lease and get 401 (docs/conformance.md D1). The filter fetches from its first tick instead:
// the first requests after start get 200 with one fetch. Also: a reconfiguration takes effect for new
// connections, with the key set kept in shared data.
import { startBackend, startJwksServer, request, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/keys";
const CLUSTER = "outbound|443||idp.example.com";

let backend: Backend;
let key: TestKey;
beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(() => backend.close());

const token = () => sign(key, { iss: ISS, sub: "s", aud: "a", exp: nowS() + 3600 });

test("jwksUri rule, 4 workers: the canary configures first and is killed; the first requests get 200 with one JWKS fetch", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: URI }] }, backend.url, { workers: 4, clusters: { [CLUSTER]: jwks.url } });
  try {
    // proxy_on_configure ran 5 times: the canary, then one VM per worker.
    expect(g.logs.filter((l) => l.includes("configured 1 jwt rule(s)"))).toHaveLength(5);
    const t = token();
    // One new connection per request: one per worker, sent at once, right after start.
    const replies = await Promise.all([0, 1, 2, 3].map(() => request(g.url + "/", { headers: { authorization: `Bearer ${t}` } })));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(jwks.hits).toBe(1);
    expect(g.gw.workers.map((w) => w.failed)).toEqual([false, false, false, false]);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("reconfigure: new connections get the new rules; the new plugin's VMs use the key set already fetched", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: URI }] }, backend.url, { workers: 2, clusters: { [CLUSTER]: jwks.url } });
  try {
    const t = token();
    const ask = () => request(g.url + "/", { headers: { authorization: `Bearer ${t}` } });
    expect((await ask()).status).toBe(200);
    // Audiences the token does not have: refused with 403 from now on.
    const next = { jwtRules: [{ issuer: ISS, jwksUri: URI, audiences: ["other"] }] };
    expect(await g.gw.reconfigure({ configuration: JSON.stringify(next) })).toBe("applied");
    const after = await ask();
    expect([after.status, after.body]).toEqual([403, "Audiences in Jwt are not allowed"]);
    // A configuration the filter refuses keeps the one above serving.
    await expect(g.gw.reconfigure({ configuration: '{"jwtRules":[{"issuer":1}]}' })).rejects.toMatchObject({ code: "HOST_ERR_CONFIGURE_FAILED" });
    expect((await ask()).status).toBe(403);
    expect(g.logs.some((l) => l.includes("configuration update rejected, the previous configuration keeps serving"))).toBe(true);
    expect(jwks.hits).toBe(1);
  } finally {
    await g.close();
    await jwks.close();
  }
});
