// Remote JWKS fetched by the filter itself with proxy_http_call through a named cluster, against JWKS
// servers the test starts: success, server errors, garbage, timeout, oversize; paused requests resume.
import { startBackend, startJwksServer, request, Backend, JwksServer } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

const ISS = "https://idp.example.com";
const URI = "https://idp.example.com/.well-known/jwks.json";
const CLUSTER = "outbound|443||idp.example.com";

let backend: Backend;
let key: TestKey;

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
});

async function setup(jwks: JwksServer, extra: object = {}, workers = 1): Promise<TestGateway> {
  return startGateway({ jwtRules: [{ issuer: ISS, jwksUri: URI, ...extra }] }, backend.url, { workers, clusters: { [CLUSTER]: jwks.url } });
}

const token = () => sign(key, { iss: ISS, sub: "alice", exp: nowS() + 600 });
const get = (g: TestGateway) => request(g.url + "/", { headers: { authorization: `Bearer ${token()}` } });

async function expectFetchFailed(g: TestGateway) {
  const r = await get(g);
  expect(r.status).toBe(401);
  expect(r.body).toBe("Jwks remote fetch is failed");
  expect(r.headers["www-authenticate"]).toBe(`Bearer realm="http://${new URL(g.url).host}/", error="invalid_token"`);
}

test("the keys are fetched at configure time through the default Istio cluster name, once for all VMs", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await setup(jwks, {}, 2);
  try {
    for (let i = 0; i < 6; i++) expect((await get(g)).status).toBe(200);
    expect(jwks.hits).toBe(1); // one VM won the fetch; the other read the shared copy
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("requests that arrive during the fetch are paused, then answered", async () => {
  const jwks = await startJwksServer({ kind: "delay", ms: 400, body: jwksOf(key) });
  const g = await setup(jwks);
  try {
    const answers = await Promise.all([get(g), get(g), get(g), request(g.url + "/", { headers: { authorization: `Bearer ${sign(key, { iss: ISS, exp: 1 })}` } })]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 401]);
    expect(answers[3].body).toBe("Jwt is expired");
    expect(jwks.hits).toBe(1);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("a 500 fails the waiting requests; the retry after the backoff heals every VM", async () => {
  const jwks = await startJwksServer({ kind: "status", status: 500, body: "oops" });
  const g = await setup(jwks);
  try {
    await expectFetchFailed(g);
    expect(g.logs.some((l) => l.includes(`jwks fetch for issuer ${ISS} from ${URI} (cluster ${CLUSTER}): failed: status 500`))).toBe(true);
    // During the backoff (1 s, ±20 %) a request with no usable set fails at once, without a fetch.
    jwks.behaviour = { kind: "ok", body: jwksOf(key) };
    const deadline = Date.now() + 5000;
    let r = await get(g);
    while (r.status !== 200 && Date.now() < deadline) {
      expect(r.body).toBe("Jwks remote fetch is failed");
      await new Promise((res) => setTimeout(res, 100));
      r = await get(g);
    }
    expect(r.status).toBe(200);
    const after = jwks.hits;
    for (let i = 0; i < 4; i++) expect((await get(g)).status).toBe(200);
    expect(jwks.hits).toBe(after); // healed for both VMs by one good fetch
  } finally {
    await g.close();
    await jwks.close();
  }
});

test.each([
  ["a garbage body", "<html>not json</html>"],
  ["an empty body", ""],
  ["JSON without keys", '{"foo":1}'],
  ["a key set without a usable key", JSON.stringify({ keys: [{ kty: "RSA", n: "AQAB", e: "AQAB" }] })],
  ["truncated JSON", jwksOf(makeRsaKey("t")).slice(0, 100)],
])("%s is a fetch failure", async (_name, body) => {
  const jwks = await startJwksServer({ kind: "ok", body });
  const g = await setup(jwks);
  try {
    await expectFetchFailed(g);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("a body over 256 KiB is refused", async () => {
  const big = JSON.stringify({ keys: [key.publicJwk], pad: "x".repeat(300 * 1024) });
  const jwks = await startJwksServer({ kind: "ok", body: big });
  const g = await setup(jwks);
  try {
    await expectFetchFailed(g);
    expect(g.logs.some((l) => l.includes("body over 262144 bytes"))).toBe(true);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("a fetch that times out fails with the rule's timeout", async () => {
  const jwks = await startJwksServer({ kind: "hang" });
  const g = await setup(jwks, { timeout: "300ms" });
  try {
    await expectFetchFailed(g);
    // The waiting request may be answered at its own deadline just before the fetch's timeout is logged.
    const deadline = Date.now() + 3000;
    while (!g.logs.some((l) => l.includes("failed: status 504")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(g.logs.some((l) => l.includes("failed: status 504"))).toBe(true);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("a cluster the host does not know fails at once", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await setup(jwks, { jwksCluster: "no-such-cluster" });
  try {
    await expectFetchFailed(g);
    expect(g.logs.some((l) => l.includes("cluster no-such-cluster refused the call"))).toBe(true);
    expect(jwks.hits).toBe(0);
  } finally {
    await g.close();
    await jwks.close();
  }
});

test("an explicit jwksCluster and an http URI with a port", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwksUri: "http://keys.internal:8080/jwks" }] }, backend.url, {
    workers: 1, clusters: { "outbound|8080||keys.internal": jwks.url },
  });
  try {
    expect((await get(g)).status).toBe(200);
  } finally {
    await g.close();
    await jwks.close();
  }
});
