// The filter end to end: the compiled build/jwt_authn.wasm in the local proxy-wasm host, a real backend
// and real JWKS servers on 127.0.0.1. Every failure asserts Envoy's exact status, body and
// www-authenticate header.
import { startBackend, startJwksServer, request, Backend, JwksServer } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, b64u, nowS, TestKey, RsaAlg } from "../helpers/tokens";

const ISS = "https://issuer.example.com";
const REALM = (gw: TestGateway, path = "/") => `Bearer realm="http://${new URL(gw.url).host}${path}"`;

let backend: Backend;
let key: TestKey;
let other: TestKey;
let gw: TestGateway;

const valid = (extra: object = {}, opts: { alg?: RsaAlg; kid?: string | null } = {}) =>
  sign(key, { iss: ISS, sub: "alice", exp: nowS() + 3600, ...extra }, opts);

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
  other = makeRsaKey("k2");
  gw = await startGateway(
    {
      jwtRules: [
        { issuer: ISS, jwks: jwksOf(key), audiences: [], outputPayloadToHeader: "x-jwt-payload" },
        { issuer: "aud-issuer", jwks: jwksOf(key), audiences: ["https://api.example.com/"] },
        { issuer: "forwarder", jwks: jwksOf(key), forwardOriginalToken: true },
        { issuer: "broken-jwks", jwks: JSON.stringify({ keys: [{ kty: "RSA", n: "AQAB", e: "AQAB" }] }) },
      ],
    },
    backend.url,
  );
});

afterAll(async () => {
  await gw.close();
  await backend.close();
});

async function expectFailure(token: string | null, status: number, body: string, opts: { path?: string; headers?: Record<string, string> } = {}) {
  const path = opts.path ?? "/";
  const headers = { ...(opts.headers ?? {}) };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const before = backend.requests.length;
  const r = await request(gw.url + path, { headers });
  expect(r.status).toBe(status);
  expect(r.body).toBe(body);
  expect(r.headers["content-type"]).toBe("text/plain");
  const q = path.indexOf("?");
  expect(r.headers["www-authenticate"]).toBe(`${REALM(gw, q < 0 ? path : path.slice(0, q))}, error="invalid_token"`);
  expect(backend.requests.length).toBe(before);
  return r;
}

describe("a valid token", () => {
  test("passes, the token header is removed and the payload header added", async () => {
    const t = valid();
    const r = await request(gw.url + "/hello", { headers: { authorization: `Bearer ${t}` } });
    expect(r.status).toBe(200);
    expect(r.body).toBe("Hello World! /hello");
    const seen = backend.requests[backend.requests.length - 1];
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-jwt-payload"]).toBe(t.split(".")[1]);
  });

  test("a forged payload header is removed from every request, with or without a token", async () => {
    let r = await request(gw.url + "/", { headers: { "x-jwt-payload": "forged" } });
    expect(r.status).toBe(200);
    expect(backend.requests[backend.requests.length - 1].headers["x-jwt-payload"]).toBeUndefined();
    const t = valid();
    r = await request(gw.url + "/", { headers: { "x-jwt-payload": "forged", authorization: `Bearer ${t}` } });
    expect(r.status).toBe(200);
    expect(backend.requests[backend.requests.length - 1].headers["x-jwt-payload"]).toBe(t.split(".")[1]);
  });

  test("forwardOriginalToken keeps the header", async () => {
    const t = sign(key, { iss: "forwarder", sub: "bob" });
    const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${t}` } });
    expect(r.status).toBe(200);
    expect(backend.requests[backend.requests.length - 1].headers.authorization).toBe(`Bearer ${t}`);
  });

  test("a token in access_token is verified and removed from the path", async () => {
    const t = valid();
    const r = await request(`${gw.url}/p?a=1&access_token=${t}&b=2`);
    expect(r.status).toBe(200);
    expect(backend.requests[backend.requests.length - 1].url).toBe("/p?a=1&b=2");
    expect(r.body).toBe("Hello World! /p?a=1&b=2");
  });

  test("no token at all passes with no principal (Istio: RequestAuthentication alone)", async () => {
    const r = await request(gw.url + "/open");
    expect(r.status).toBe(200);
  });

  test("`bearer` in lower case is not a token location (case-sensitive prefix, as Envoy)", async () => {
    const r = await request(gw.url + "/", { headers: { authorization: "bearer garbage" } });
    expect(r.status).toBe(200);
  });

  test.each([
    ["RS256", 2048], ["RS384", 2048], ["RS512", 2048],
    ["RS256", 3072], ["RS384", 3072], ["RS512", 3072],
    ["RS256", 4096], ["RS384", 4096], ["RS512", 4096],
  ] as Array<[RsaAlg, number]>)("%s with a %i-bit key", async (alg, bits) => {
    const k = makeRsaKey(`k-${alg}-${bits}`, bits, alg);
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(makeRsaKey("decoy"), k) }] }, backend.url, { workers: 1 });
    try {
      const t = sign(k, { iss: ISS, sub: "s", exp: nowS() + 60 }, { alg });
      expect((await request(g.url + "/", { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
      const bad = t.slice(0, -4) + (t.endsWith("AAAA") ? "BAAA" : "AAAA");
      const r = await request(g.url + "/", { headers: { authorization: `Bearer ${bad}` } });
      expect(r.status).toBe(401);
      expect(r.body).toBe("Jwt verification fails");
    } finally {
      await g.close();
    }
  });
});

describe("failures, in Envoy's check order", () => {
  const h = b64u(JSON.stringify({ alg: "RS256", kid: "k1" }));
  const p = b64u(JSON.stringify({ iss: ISS, sub: "alice" }));
  const s = b64u("sig");
  const raw = (header: string, payload: string, sig = s) => `${header}.${payload}.${sig}`;

  test.each([
    ["two sections", `${h}.${p}`, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["four sections", `${h}.${p}.${s}.${s}`, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["empty signature", `${h}.${p}.`, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["header not base64url", raw("e!yJ", p), "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["header padded", raw(h + "=", p), "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["header not JSON", raw(b64u("{alg"), p), "Jwt header is an invalid JSON"],
    ["header an array", raw(b64u("[1]"), p), "Jwt header is an invalid JSON"],
    ["header with a bad base64url length", raw("eyJhb", p), "Jwt header is an invalid Base64url encoded"],
    ["no alg", raw(b64u('{"typ":"JWT"}'), p), "Jwt header [alg] field is required and must be a string"],
    ["alg a number", raw(b64u('{"alg":256}'), p), "Jwt header [alg] field is required and must be a string"],
    ["alg none", raw(b64u('{"alg":"none"}'), p), "Jwt header [alg] is not supported"],
    ["alg rs256", raw(b64u('{"alg":"rs256"}'), p), "Jwt header [alg] is not supported"],
    ["kid a number", raw(b64u('{"alg":"RS256","kid":1}'), p), "Jwt header [kid] field is not a string"],
    ["payload not base64url", raw(h, "eyJhb"), "Jwt payload is an invalid Base64url encoded"],
    ["payload not JSON", raw(h, b64u("nope")), "Jwt payload is an invalid JSON"],
    ["payload a string", raw(h, b64u('"x"')), "Jwt payload is an invalid JSON"],
    ["iss a number", raw(h, b64u('{"iss":1}')), "Jwt payload [iss] field is not a string"],
    ["sub a list", raw(h, b64u(`{"iss":"${ISS}","sub":["a"]}`)), "Jwt payload [sub] field is not a string"],
    ["iat a string", raw(h, b64u(`{"iss":"${ISS}","iat":"1"}`)), "Jwt payload [iat] field is not an integer"],
    ["nbf negative", raw(h, b64u(`{"iss":"${ISS}","nbf":-1}`)), "Jwt payload [nbf] field is not a positive 64 bit integer"],
    ["exp a string", raw(h, b64u(`{"iss":"${ISS}","exp":"soon"}`)), "Jwt payload [exp] field is not an integer"],
    ["exp 2^64", raw(h, b64u(`{"iss":"${ISS}","exp":18446744073709551616}`)), "Jwt payload [exp] field is not a positive 64 bit integer"],
    ["jti a number", raw(h, b64u(`{"iss":"${ISS}","jti":7}`)), "Jwt payload [jti] field is not a string"],
    ["aud a number", raw(h, b64u(`{"iss":"${ISS}","aud":7}`)), "Jwt payload [aud] field is not a string or string list"],
    ["aud a mixed list", raw(h, b64u(`{"iss":"${ISS}","aud":["a",1]}`)), "Jwt payload [aud] field is not a string or string list"],
    ["signature with a bad length", raw(h, p, "abcde"), "Jwt signature is an invalid Base64url encoded"],
    ["unknown issuer", raw(h, b64u('{"iss":"someone-else","sub":"x"}')), "Jwt issuer is not configured"],
    ["no issuer", raw(h, b64u('{"sub":"x"}')), "Jwt issuer is not configured"],
  ])("%s", async (_name, token, body) => {
    // A header segment with characters outside [A-Za-z0-9-_.] is cut there by the extractor, as Envoy does,
    // so those tokens reach the parser with fewer than three sections.
    await expectFailure(token, 401, body);
  });

  test("an expired token (past exp + 60 s skew)", async () => {
    await expectFailure(valid({ exp: nowS() - 120 }), 401, "Jwt is expired");
  });

  test("inside the 60 s skew an expired token still passes", async () => {
    const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${valid({ exp: nowS() - 20 })}` } });
    expect(r.status).toBe(200);
  });

  test("exp 0 means no expiry", async () => {
    const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${valid({ exp: 0 })}` } });
    expect(r.status).toBe(200);
  });

  test("a token not yet valid (nbf beyond now + 60 s)", async () => {
    await expectFailure(valid({ nbf: nowS() + 600 }), 401, "Jwt not yet valid");
  });

  test("an expired token with a bad signature reports the expiry (time before signature)", async () => {
    const t = valid({ exp: nowS() - 1000 });
    await expectFailure(t.slice(0, -2) + "AA", 401, "Jwt is expired");
  });

  test("an audience mismatch is 403 with www-authenticate", async () => {
    await expectFailure(sign(key, { iss: "aud-issuer", sub: "x", aud: ["other"] }), 403, "Audiences in Jwt are not allowed");
    await expectFailure(sign(key, { iss: "aud-issuer", sub: "x" }), 403, "Audiences in Jwt are not allowed");
  });

  test("audiences match ignoring the scheme and one trailing slash", async () => {
    for (const aud of ["api.example.com", "http://api.example.com", "https://api.example.com/", ["x", "api.example.com/"]]) {
      const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${sign(key, { iss: "aud-issuer", sub: "x", aud })}` } });
      expect(r.status).toBe(200);
    }
  });

  test("a kid no key has", async () => {
    await expectFailure(valid({}, { kid: "nope" }), 401, "Jwks doesn't have key to match kid or alg from Jwt");
  });

  test("an alg the JWK does not allow (JWK alg RS256, token RS384)", async () => {
    const k = makeRsaKey("pinned", 2048, "RS256");
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(k) }] }, backend.url, { workers: 1 });
    try {
      const r = await request(g.url + "/", { headers: { authorization: `Bearer ${sign(k, { iss: ISS }, { alg: "RS384" })}` } });
      expect(r.status).toBe(401);
      expect(r.body).toBe("Jwks doesn't have key to match kid or alg from Jwt");
    } finally {
      await g.close();
    }
  });

  test("a token signed by another key", async () => {
    await expectFailure(sign(other, { iss: ISS, sub: "alice" }, { kid: "k1" }), 401, "Jwt verification fails");
  });

  test("a token without kid is tried against every key", async () => {
    const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${valid({}, { kid: null })}` } });
    expect(r.status).toBe(200);
    await expectFailure(sign(other, { iss: ISS }, { kid: null }), 401, "Jwt verification fails");
  });

  test("an inline JWKS without a usable key", async () => {
    await expectFailure(sign(key, { iss: "broken-jwks" }), 401, "Jwks doesn't have any valid public key");
    expect(gw.logs.some((l) => l.includes("jwtRules[3].jwks: Jwks RSA [n] or [e] field is missing or has a parse error"))).toBe(true);
  });

  test("a second, bad token fails the request even if the first is valid (all tokens must be valid)", async () => {
    await expectFailure(valid(), 401, "Jwt is expired", { path: `/x?access_token=${valid({ exp: nowS() - 1000 })}` });
  });

  test("the realm leaves the query string out, so a query token is never echoed", async () => {
    const t = valid({ exp: nowS() - 1000 });
    const r = await expectFailure(null, 401, "Jwt is expired", { path: `/q?access_token=${t}` });
    expect(r.headers["www-authenticate"]).not.toContain(t);
  });
});
