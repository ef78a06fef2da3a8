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

test("the keys are fetched at configure time through the default Istio cluster name, once per VM", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  const g = await setup(jwks, {}, 2);
  try {
    for (let i = 0; i < 6; i++) expect((await get(g)).status).toBe(200);
    expect(jwks.hits).toBe(2);
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

test("a 500 fails the waiting requests; the next request fetches again", async () => {
  const jwks = await startJwksServer({ kind: "status", status: 500, body: "oops" });
  const g = await setup(jwks);
  try {
    await expectFetchFailed(g);
    expect(g.logs.some((l) => l.includes(`jwks fetch for issuer ${ISS} from ${URI} failed: status 500`))).toBe(true);
    // The configure-time fetch and the first request's may be one fetch (the request waits for the one in
    // flight), so count from here: one more fetch, then the keys are cached.
    const before = jwks.hits;
    jwks.behaviour = { kind: "ok", body: jwksOf(key) };
    expect((await get(g)).status).toBe(200);
    expect((await get(g)).status).toBe(200);
    expect(jwks.hits).toBe(before + 1);
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
