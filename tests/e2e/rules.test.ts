// jwtRules[] features beyond the basics, end to end through build/jwt_authn.wasm in the local host over real
// HTTP: outputClaimToHeaders (Envoy's addJWTClaimToHeader, byte for byte), the time extensions (clockSkew,
// requireExpiration, maxLifetime), bearerCaseInsensitive, ignoreUnknownIssuers (the unverified token never
// reaches the backend), and several rules combined as Istio combines them. Each case asserts the status,
// the body and what the backend received.
import * as net from "net";
import { startBackend, request, Backend, SeenRequest } from "../helpers/servers";
import { startGateway, refusedConfig, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";
import { CLAIM_NUMBER_VECTORS } from "../helpers/claim-number-vectors";

let backend: Backend;
const key: TestKey = makeRsaKey("k1");
const stranger: TestKey = makeRsaKey("k9");

beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Sends the request and returns the reply and what the backend saw (null when nothing reached it). */
async function send(gw: TestGateway, path: string, headers: Record<string, string | string[]> = {}) {
  const before = backend.requests.length;
  const r = await request(gw.url + path, { headers });
  const seen: SeenRequest | null = backend.requests.length > before ? backend.requests[backend.requests.length - 1] : null;
  return { r, seen };
}

function expectPassed(x: { r: { status: number; body: string }; seen: SeenRequest | null }, path = "/"): SeenRequest {
  expect(x.r.status).toBe(200);
  expect(x.r.body).toBe(`Hello World! ${path}`);
  expect(x.seen).not.toBeNull();
  return x.seen as SeenRequest;
}

function expectRefused(x: { r: { status: number; body: string; headers: Record<string, unknown> }; seen: SeenRequest | null }, status: number, body: string) {
  expect(x.r.status).toBe(status);
  expect(x.r.body).toBe(body);
  expect(x.seen).toBeNull();
}

describe("outputClaimToHeaders", () => {
  let gw: TestGateway;
  const ISS = "claims-issuer";
  const claimHeaders = [
    { header: "x-sub", claim: "sub" },
    { header: "X-Str", claim: "str" },
    { header: "x-int", claim: "int" },
    { header: "x-big", claim: "big" },
    { header: "x-frac", claim: "frac" },
    { header: "x-neg", claim: "neg" },
    { header: "x-huge", claim: "huge" },
    { header: "x-tiny", claim: "tiny" },
    { header: "x-small", claim: "small" },
    { header: "x-two64", claim: "two64" },
    { header: "x-bool", claim: "yes" },
    { header: "x-false", claim: "no" },
    { header: "x-null", claim: "nothing" },
    { header: "x-empty", claim: "empty" },
    { header: "x-missing", claim: "absent" },
    { header: "x-nested", claim: "a.b.c" },
    { header: "x-through-string", claim: "sub.x" },
    { header: "x-list", claim: "list" },
    { header: "x-obj", claim: "obj" },
    { header: "x-empty-list", claim: "emptyList" },
    { header: "x-csv", claim: "list", format: "csv" },
    { header: "x-csv-mixed", claim: "mixed", format: "csv" },
    { header: "x-csv-comma", claim: "commas", format: "csv" },
    { header: "x-csv-nested", claim: "obj", format: "csv" },
    { header: "x-csv-scalar", claim: "str", format: "csv" },
    { header: "x-json", claim: "obj", format: "json" },
    { header: "x-json-list", claim: "list", format: "json" },
    { header: "x-numbers", claim: "numbers", format: "json" },
    { header: "x-escapes", claim: "escapes", format: "json" },
    { header: "x-crlf", claim: "crlf" },
    { header: "x-utf8", claim: "utf8" },
  ];
  // A raw payload, so the number literals reach the filter exactly as written.
  const payload = (exp: number) =>
    `{"iss":"${ISS}","sub":"alice","exp":${exp},"str":"hello world","int":42,"big":12345678901234567890,` +
    `"frac":1.5,"neg":-3,"huge":1e20,"tiny":1e-7,"small":2.5e-6,"two64":18446744073709551616,"yes":true,"no":false,` +
    `"nothing":null,"empty":"","a":{"b":{"c":"deep"}},"list":["a","b"],"obj":{"k":"v","n":1,"k":"last"},` +
    `"emptyList":[],"mixed":["x",2,true,1.5],"commas":["a,b","c"],` +
    `"numbers":[1,1.5,1e21,0.1,1e-7,123456789012345680000,0.30000000000000004,9007199254740993,1e15,1e14,-0.0,5e-324],` +
    `"escapes":["<a href=\\"x\\">","tab\\tnl\\n","\\u00ad\\u2028\\u0001\\u007f","caf\\u00e9","\\ud83d\\ude00"],` +
    `"crlf":"a\\r\\nx-injected: 1","utf8":"caf\\u00e9"}`;

  beforeAll(async () => {
    gw = await startGateway(
      {
        jwtRules: [
          { issuer: ISS, jwks: jwksOf(key), outputClaimToHeaders: claimHeaders, outputPayloadToHeader: "x-payload" },
          { issuer: "second", jwks: jwksOf(key), fromHeaders: [{ name: "x-second-token" }], outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }] },
        ],
      },
      backend.url,
    );
  });
  afterAll(async () => {
    await gw.close();
  });

  test("every JSON type is copied as Envoy's addJWTClaimToHeader copies it", async () => {
    const t = sign(key, payload(nowS() + 3600));
    const seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${t}` }));
    const h = seen.headers;
    expect(h.authorization).toBeUndefined();
    expect(h["x-sub"]).toBe("alice");
    expect(h["x-str"]).toBe("hello world");
    // convertClaimDoubleToString: a whole number in [0, 2^64) as an integer, anything else as %f.
    expect(h["x-int"]).toBe("42");
    expect(h["x-big"]).toBe("12345678901234567168");
    expect(h["x-frac"]).toBe("1.500000");
    expect(h["x-neg"]).toBe("-3.000000");
    expect(h["x-huge"]).toBe("100000000000000000000.000000");
    expect(h["x-tiny"]).toBe("0.000000");
    expect(h["x-small"]).toBe("0.000003");
    expect(h["x-two64"]).toBe("18446744073709551616.000000");
    expect(h["x-bool"]).toBe("true");
    expect(h["x-false"]).toBe("false");
    // null, an empty string, a missing claim, a path through a non-object: no header.
    expect(h["x-null"]).toBeUndefined();
    expect(h["x-empty"]).toBeUndefined();
    expect(h["x-missing"]).toBeUndefined();
    expect(h["x-through-string"]).toBeUndefined();
    expect(h["x-nested"]).toBe("deep");
    // Lists and objects: base64 (standard, padded) of protobuf's compact JSON; a repeated member once, last value.
    expect(h["x-list"]).toBe(b64('["a","b"]'));
    expect(h["x-obj"]).toBe(b64('{"n":1,"k":"last"}'));
    expect(h["x-empty-list"]).toBe(b64("[]"));
    // CR/LF in a value: no header (stricter than Envoy), and nothing injected.
    expect(h["x-crlf"]).toBeUndefined();
    expect(h["x-injected"]).toBeUndefined();
    expect(Buffer.from(h["x-utf8"] as string, "latin1").toString("utf8")).toBe("café");
    expect(h["x-payload"]).toBe(t.split(".")[1]);
  });

  test("format csv and json (opt-ins beyond Envoy)", async () => {
    const t = sign(key, payload(nowS() + 3600));
    const h = expectPassed(await send(gw, "/", { authorization: `Bearer ${t}` })).headers;
    expect(h["x-csv"]).toBe("a,b");
    expect(h["x-csv-mixed"]).toBe("x,2,true,1.500000");
    // An element with a comma would be ambiguous: no header at all.
    expect(h["x-csv-comma"]).toBeUndefined();
    // csv on an object, or on a scalar: Envoy's own rendering.
    expect(h["x-csv-nested"]).toBe(b64('{"n":1,"k":"last"}'));
    expect(h["x-csv-scalar"]).toBe("hello world");
    expect(h["x-json"]).toBe('{"n":1,"k":"last"}');
    expect(h["x-json-list"]).toBe('["a","b"]');
    // Numbers inside JSON: protobuf's SimpleDtoa (%.15g, else %.17g).
    expect(h["x-numbers"]).toBe("[1,1.5,1e+21,0.1,1e-07,1.2345678901234568e+20,0.30000000000000004,9007199254740992,1e+15,100000000000000,-0,4.94065645841247e-324]");
    // protobuf's escaping: < > as \u003c \u003e, soft hyphen, U+2028, controls; other non-ASCII as UTF-8.
    expect(Buffer.from(h["x-escapes"] as string, "latin1").toString("utf8")).toBe(
      '["\\u003ca href=\\"x\\"\\u003e","tab\\tnl\\n","\\u00ad\\u2028\\u0001\\u007f","café","😀"]',
    );
  });

  test("client copies of claim headers are removed from every request, token or not", async () => {
    let seen = expectPassed(await send(gw, "/", { "x-sub": "forged", "x-list": "forged", "x-json": "forged" }));
    expect(seen.headers["x-sub"]).toBeUndefined();
    expect(seen.headers["x-list"]).toBeUndefined();
    expect(seen.headers["x-json"]).toBeUndefined();
    const t = sign(key, { iss: ISS, sub: "bob", exp: nowS() + 3600 });
    seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${t}`, "x-sub": "forged", "x-missing": "forged" }));
    expect(seen.headers["x-sub"]).toBe("bob");
    // A claim the token lacks: the client's copy is gone and none is added.
    expect(seen.headers["x-missing"]).toBeUndefined();
  });

  test("a failed token adds nothing and reaches nothing", async () => {
    const t = sign(stranger, { iss: ISS, sub: "mallory", exp: nowS() + 3600 }, { kid: "k1" });
    expectRefused(await send(gw, "/", { authorization: `Bearer ${t}`, "x-sub": "forged" }), 401, "Jwt verification fails");
  });

  test("numbers are printed digit for digit as C's %f and protobuf's SimpleDtoa print them", async () => {
    const lits = CLAIM_NUMBER_VECTORS.map((v) => v[0]).join(",");
    const big = await startBackend({ big: true });
    const g = await startGateway(
      { jwtRules: [{ issuer: ISS, jwks: jwksOf(key), outputClaimToHeaders: [{ header: "x-csv", claim: "n", format: "csv" }, { header: "x-json", claim: "n", format: "json" }] }] },
      big.url,
    );
    try {
      const t = sign(key, `{"iss":"${ISS}","sub":"n","exp":${nowS() + 60},"n":[${lits}]}`);
      const r = await request(g.url + "/", { headers: { authorization: `Bearer ${t}` } });
      expect(r.status).toBe(200);
      const h = big.requests[big.requests.length - 1].headers;
      expect((h["x-csv"] as string).split(",")).toEqual(CLAIM_NUMBER_VECTORS.map((v) => v[1]));
      expect(h["x-json"]).toBe("[" + CLAIM_NUMBER_VECTORS.map((v) => v[2]).join(",") + "]");
    } finally {
      await g.close();
      await big.close();
    }
  });

  test("hostile claim values stay cheap and never trap", async () => {
    // Exact decimal expansions of 5e-324 and 1.7e308, deep nesting, many escapes (sized to fit the backend's 16 KiB header limit).
    const nums = Array.from({ length: 100 }, (_, i) => (i % 10 ? "5e-324" : "1.7976931348623157e308")).join(",");
    const deep = "[".repeat(60) + "1" + "]".repeat(60);
    const raw = `{"iss":"${ISS}","sub":"h","exp":${nowS() + 60},"list":[${nums}],"obj":{"d":${deep}},"a":{"b":{"c":"${"<".repeat(500)}"}}}`;
    const t = sign(key, raw);
    const started = Date.now();
    const h = expectPassed(await send(gw, "/", { authorization: `Bearer ${t}` })).headers;
    expect(Date.now() - started).toBeLessThan(5000);
    const list = Buffer.from(h["x-list"] as string, "base64").toString("utf8");
    expect(list.startsWith("[1.7976931348623157e+308,4.94065645841247e-324,")).toBe(true);
    expect(h["x-json"]).toBe(`{"d":${deep}}`);
    // csv renders each number as Envoy renders a scalar: %f of 1.7976931348623157e308 is all 309 digits.
    expect((h["x-csv"] as string).split(",")[0]).toBe("179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000");
    expect(h["x-nested"]).toBe("<".repeat(500));
  });

  test("two verified tokens each add their rule's headers (Envoy's addCopy)", async () => {
    const a = sign(key, { iss: ISS, sub: "alice", exp: nowS() + 3600 });
    const b = sign(key, { iss: "second", sub: "bob", exp: nowS() + 3600 });
    const seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${a}`, "x-second-token": b }));
    expect(seen.headers["x-sub"]).toBe("alice, bob");
    expect(seen.headers["x-second-token"]).toBeUndefined();
  });
});

describe("time extensions", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(
      {
        jwtRules: [
          { issuer: "default-skew", jwks: jwksOf(key) },
          { issuer: "no-skew", jwks: jwksOf(key), clockSkew: "0s" },
          { issuer: "long-skew", jwks: jwksOf(key), clockSkew: "300s" },
          { issuer: "needs-exp", jwks: jwksOf(key), requireExpiration: true },
          { issuer: "max-hour", jwks: jwksOf(key), maxLifetime: "1h", requireExpiration: false },
        ],
      },
      backend.url,
    );
  });
  afterAll(async () => {
    await gw.close();
  });
  const tok = (iss: string, extra: object) => sign(key, { iss, sub: "s", ...extra });
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });

  test("clockSkew replaces the 60 s skew for nbf and exp", async () => {
    const now = nowS();
    expectPassed(await send(gw, "/", auth(tok("default-skew", { exp: now - 10 }))));
    expectRefused(await send(gw, "/", auth(tok("no-skew", { exp: now - 10 }))), 401, "Jwt is expired");
    expectRefused(await send(gw, "/", auth(tok("no-skew", { nbf: now + 10, exp: now + 100 }))), 401, "Jwt not yet valid");
    expectPassed(await send(gw, "/", auth(tok("no-skew", { nbf: now - 1, exp: now + 100 }))));
    expectPassed(await send(gw, "/", auth(tok("long-skew", { exp: now - 200 }))));
    expectPassed(await send(gw, "/", auth(tok("long-skew", { nbf: now + 200 }))));
    expectRefused(await send(gw, "/", auth(tok("long-skew", { exp: now - 400 }))), 401, "Jwt is expired");
    expectRefused(await send(gw, "/", auth(tok("default-skew", { exp: now - 200 }))), 401, "Jwt is expired");
  });

  test("requireExpiration: a token without exp (or exp 0) is `Jwt is expired`", async () => {
    const now = nowS();
    expectRefused(await send(gw, "/", auth(tok("needs-exp", {}))), 401, "Jwt is expired");
    expectRefused(await send(gw, "/", auth(tok("needs-exp", { exp: 0 }))), 401, "Jwt is expired");
    expectPassed(await send(gw, "/", auth(tok("needs-exp", { exp: now + 10 * 365 * 86400 }))));
    // Off by default.
    expectPassed(await send(gw, "/", auth(tok("default-skew", {}))));
  });

  test("maxLifetime: the remaining lifetime exp - now must be below it, and exp is required", async () => {
    const now = nowS();
    expectPassed(await send(gw, "/", auth(tok("max-hour", { exp: now + 1800 }))));
    expectRefused(await send(gw, "/", auth(tok("max-hour", { exp: now + 7200 }))), 401, "Jwt is expired");
    expectRefused(await send(gw, "/", auth(tok("max-hour", {}))), 401, "Jwt is expired");
    // An old iat does not matter: Envoy measures from now, not from iat.
    expectPassed(await send(gw, "/", auth(tok("max-hour", { iat: now - 86400, exp: now + 60 }))));
  });
});

describe("bearerCaseInsensitive", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(
      {
        jwtRules: [
          { issuer: "ci", jwks: jwksOf(key), fromHeaders: [{ name: "Authorization", prefix: "Bearer ", bearerCaseInsensitive: true }] },
          { issuer: "cs", jwks: jwksOf(key), fromHeaders: [{ name: "x-token", prefix: "Bearer " }] },
        ],
      },
      backend.url,
    );
  });
  afterAll(async () => {
    await gw.close();
  });

  test("the prefix matches in any ASCII case when set", async () => {
    for (const prefix of ["Bearer ", "bearer ", "BEARER ", "bEaReR "]) {
      const t = sign(key, { iss: "ci", sub: "s", exp: nowS() + 60 });
      const seen = expectPassed(await send(gw, "/", { authorization: prefix + t }));
      expect(seen.headers.authorization).toBeUndefined();
    }
    const bad = sign(stranger, { iss: "ci", sub: "s" }, { kid: "k1" });
    expectRefused(await send(gw, "/", { authorization: "bearer " + bad }), 401, "Jwt verification fails");
  });

  test("without it the match stays case-sensitive: a lower-case prefix carries no token (Envoy)", async () => {
    const bad = sign(stranger, { iss: "cs", sub: "s" }, { kid: "k1" });
    const seen = expectPassed(await send(gw, "/", { "x-token": "bearer " + bad }));
    expect(seen.headers["x-token"]).toBe("bearer " + bad);
    expectRefused(await send(gw, "/", { "x-token": "Bearer " + bad }), 401, "Jwt verification fails");
  });
});

test("bearerCaseInsensitive folds only ASCII letters of a prefix: a non-ASCII letter matches exactly as configured", async () => {
  const gw = await startGateway(
    { jwtRules: [{ issuer: "ci", jwks: jwksOf(key), fromHeaders: [{ name: "x-token", prefix: "TÖKÉN ", bearerCaseInsensitive: true }] }] },
    backend.url,
  );
  // UTF-8 bytes on the wire, as the configuration's prefix: a raw request (node:http would send latin1).
  const raw = (prefix: string, token: string) => new Promise<string>((resolve, reject) => {
    const u = new URL(gw.url);
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(Buffer.concat([Buffer.from(`GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-token: `), Buffer.from(prefix + token, "utf8"), Buffer.from("\r\n\r\n")]));
    });
    const chunks: Buffer[] = [];
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => resolve(Buffer.concat(chunks).toString("utf8").split("\r\n")[0]));
    s.on("error", reject);
  });
  try {
    const bad = sign(stranger, { iss: "ci", sub: "s" }, { kid: "k1" });
    // The ASCII letters in any case, the others as configured: the prefix matches, the bad token is checked.
    // (String#toLowerCase made the configured prefix "tökén ", which no request could match.)
    for (const prefix of ["TÖKÉN ", "tÖkÉn ", "TÖKÉn "]) expect(await raw(prefix, bad)).toBe("HTTP/1.1 401 Unauthorized");
    // A non-ASCII letter in another case is not the prefix: no token in the header.
    expect(await raw("tökén ", bad)).toBe("HTTP/1.1 200 OK");
  } finally {
    await gw.close();
  }
});

describe("ignoreUnknownIssuers", () => {
  let gw: TestGateway;
  let strict: TestGateway;
  const rules = [
    { issuer: "known", jwks: jwksOf(key), fromHeaders: [{ name: "Authorization", prefix: "Bearer " }], fromParams: ["access_token"], fromCookies: ["session"] },
    { issuer: "elsewhere", jwks: jwksOf(key), fromHeaders: [{ name: "x-other" }] },
  ];
  const policies = [{ name: "need-known", rules: [{ from: [{ source: { requestPrincipals: ["known/*"] } }] }] }];
  beforeAll(async () => {
    gw = await startGateway({ jwtRules: rules, ignoreUnknownIssuers: true }, backend.url);
    strict = await startGateway({ jwtRules: rules, ignoreUnknownIssuers: true, policies }, backend.url);
  });
  afterAll(async () => {
    await gw.close();
    await strict.close();
  });
  const foreign = () => sign(stranger, { iss: "https://other-idp.example.com", sub: "x", exp: nowS() + 60 });

  test("a token of an issuer no rule names is absent, and removed from the header", async () => {
    const seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${foreign()}`, "x-keep": "1" }));
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers["x-keep"]).toBe("1");
  });

  test("a token without iss counts as unknown too", async () => {
    const t = sign(stranger, { sub: "x" });
    const seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${t}` }));
    expect(seen.headers.authorization).toBeUndefined();
  });

  test("removed from the query string, wherever forwardOriginalToken stands", async () => {
    const x = await send(gw, `/p?a=1&access_token=${foreign()}&b=2`);
    expect(x.r.status).toBe(200);
    expect(x.seen?.url).toBe("/p?a=1&b=2");
  });

  test("removed from the cookie header, other cookies kept", async () => {
    const seen = expectPassed(await send(gw, "/", { cookie: `a=1; session=${foreign()}; b=2` }));
    expect(seen.headers.cookie).toBe("a=1; b=2");
    const only = expectPassed(await send(gw, "/", { cookie: `session=${foreign()}` }));
    expect(only.headers.cookie).toBeUndefined();
  });

  test("two ignored cookies under two names: both removed, across cookie lines (one rewrite, nothing put back)", async () => {
    const two = await startGateway({ jwtRules: [{ ...rules[0], fromCookies: ["session", "sid"] }], ignoreUnknownIssuers: true }, backend.url);
    try {
      const seen = expectPassed(await send(two, "/", { cookie: `session=${foreign()}; sid=${foreign()}; c=1` }));
      expect(seen.headers.cookie).toBe("c=1");
      const lines = expectPassed(await send(two, "/", { cookie: [`sid=${foreign()}; a=1`, `session=${foreign()}`, "b=2"] }));
      expect(lines.headers.cookie).toBe("a=1; b=2");
    } finally {
      await two.close();
    }
  });

  test("with a valid token alongside, the valid one is the principal; the unknown one is still removed", async () => {
    const good = sign(key, { iss: "known", sub: "alice", exp: nowS() + 60 });
    const x = await send(strict, `/q?access_token=${foreign()}`, { authorization: `Bearer ${good}` });
    expect(x.r.status).toBe(200);
    expect(x.seen?.url).toBe("/q");
    expect(x.seen?.headers.authorization).toBeUndefined();
  });

  test("alone, it gives no principal: an ALLOW policy denies", async () => {
    expectRefused(await send(strict, "/", { authorization: `Bearer ${foreign()}` }), 403, "RBAC: access denied");
  });

  test("a known issuer in a location its rule does not read is still `Jwt issuer is not configured`", async () => {
    const t = sign(key, { iss: "elsewhere", sub: "s", exp: nowS() + 60 });
    expectRefused(await send(gw, "/", { authorization: `Bearer ${t}` }), 401, "Jwt issuer is not configured");
  });

  test("a malformed token still fails; without the option an unknown issuer fails", async () => {
    expectRefused(await send(gw, "/", { authorization: "Bearer abc" }), 401, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    const plain = await startGateway({ jwtRules: rules }, backend.url);
    try {
      expectRefused(await send(plain, "/", { authorization: `Bearer ${foreign()}` }), 401, "Jwt issuer is not configured");
    } finally {
      await plain.close();
    }
  });
});

describe("several rules, as two RequestAuthentication resources combine", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(
      {
        jwtRules: [
          // RequestAuthentication 1, issuer A: a custom header and a query parameter.
          { issuer: "A", jwks: jwksOf(key), fromHeaders: [{ name: "x-a-token" }], fromParams: ["a_token"] },
          // RequestAuthentication 2: issuer B in a cookie or the Authorization header, and issuer A again in
          // Authorization, but only for audience `api`.
          { issuer: "B", jwks: jwksOf(key), fromCookies: ["b_session"], fromHeaders: [{ name: "Authorization", prefix: "Bearer " }] },
          { issuer: "A", jwks: jwksOf(key), fromHeaders: [{ name: "Authorization", prefix: "Bearer " }], audiences: ["api"], forwardOriginalToken: true },
        ],
      },
      backend.url,
    );
  });
  afterAll(async () => {
    await gw.close();
  });
  const a = (extra: object = {}) => sign(key, { iss: "A", sub: "alice", exp: nowS() + 60, ...extra });
  const b = (extra: object = {}) => sign(key, { iss: "B", sub: "bob", exp: nowS() + 60, ...extra });

  test("each token is checked only against the rules that read its location", async () => {
    let seen = expectPassed(await send(gw, "/", { "x-a-token": a() }));
    expect(seen.headers["x-a-token"]).toBeUndefined();
    // In Authorization only the audience-restricted A rule applies.
    const withAud = a({ aud: "api" });
    seen = expectPassed(await send(gw, "/", { authorization: `Bearer ${withAud}` }));
    expect(seen.headers.authorization).toBe(`Bearer ${withAud}`);
    expectRefused(await send(gw, "/", { authorization: `Bearer ${a()}` }), 403, "Audiences in Jwt are not allowed");
    // B's token where only A's rule reads: the issuer is not configured for that location.
    expectRefused(await send(gw, "/", { "x-a-token": b() }), 401, "Jwt issuer is not configured");
    expectRefused(await send(gw, "/?a_token=" + b()), 401, "Jwt issuer is not configured");
  });

  test("tokens in several locations must all be valid; removal follows each accepting rule", async () => {
    const x = await send(gw, `/m?a_token=${a()}&z=1`, { cookie: `b_session=${b()}; other=1`, authorization: `Bearer ${b()}` });
    expect(x.r.status).toBe(200);
    expect(x.seen?.url).toBe("/m?z=1");
    expect(x.seen?.headers.authorization).toBeUndefined();
    // A cookie token is never removed (Envoy).
    expect(String(x.seen?.headers.cookie)).toContain("b_session=");
    expectRefused(await send(gw, `/m?a_token=${a()}`, { cookie: `b_session=${b({ exp: nowS() - 3600 })}` }), 401, "Jwt is expired");
    expectRefused(await send(gw, "/m", { "x-a-token": a(), authorization: `Bearer ${a()}` }), 403, "Audiences in Jwt are not allowed");
  });

  test("a token where no rule looks is not a token", async () => {
    const t = sign(stranger, { iss: "A", sub: "x" });
    const seen = expectPassed(await send(gw, "/", { "x-other": t, cookie: `a_token=${t}` }));
    expect(seen.headers["x-other"]).toBe(t);
  });
});

describe("configuration mistakes", () => {
  const JWKS = JSON.stringify({ keys: [] });
  const rule = (extra: object) => JSON.stringify({ jwtRules: [{ issuer: "i", jwks: JWKS, ...extra }] });
  test.each([
    ["claim header not a list", rule({ outputClaimToHeaders: {} }), "jwtRules[0].outputClaimToHeaders: must be a list"],
    ["claim header entry not an object", rule({ outputClaimToHeaders: ["x"] }), "jwtRules[0].outputClaimToHeaders[0]: must be an object"],
    ["claim header name with a dot", rule({ outputClaimToHeaders: [{ header: "x.a", claim: "c" }] }), "jwtRules[0].outputClaimToHeaders[0].header: must match ^[-_A-Za-z0-9]+$"],
    ["claim header name empty", rule({ outputClaimToHeaders: [{ header: "", claim: "c" }] }), "jwtRules[0].outputClaimToHeaders[0].header: must match ^[-_A-Za-z0-9]+$"],
    ["claim header missing", rule({ outputClaimToHeaders: [{ claim: "c" }] }), "jwtRules[0].outputClaimToHeaders[0].header: required"],
    ["claim missing", rule({ outputClaimToHeaders: [{ header: "x" }] }), "jwtRules[0].outputClaimToHeaders[0].claim: required"],
    ["claim empty", rule({ outputClaimToHeaders: [{ header: "x", claim: "" }] }), "jwtRules[0].outputClaimToHeaders[0].claim: must not be empty"],
    ["claim header twice", rule({ outputClaimToHeaders: [{ header: "x-a", claim: "a" }, { header: "X-A", claim: "b" }] }), "jwtRules[0].outputClaimToHeaders[1].header: already used by outputClaimToHeaders[0]"],
    ["claim header is the payload header", rule({ outputPayloadToHeader: "x-p", outputClaimToHeaders: [{ header: "x-p", claim: "a" }] }), "jwtRules[0].outputClaimToHeaders[0].header: already used by outputPayloadToHeader"],
    ["claim header is a token location", rule({ outputClaimToHeaders: [{ header: "Authorization", claim: "a" }] }), "jwtRules[0].outputClaimToHeaders[0].header: must not be a token location (jwtRules[0] reads tokens from authorization)"],
    ["bad format", rule({ outputClaimToHeaders: [{ header: "x", claim: "c", format: "xml" }] }), "jwtRules[0].outputClaimToHeaders[0].format: must be \"csv\" or \"json\""],
    ["unknown entry field", rule({ outputClaimToHeaders: [{ header: "x", claim: "c", append: true }] }), "jwtRules[0].outputClaimToHeaders[0].append: unknown field"],
    ["clockSkew a number", rule({ clockSkew: 30 }), "jwtRules[0].clockSkew: must be a duration string"],
    ["clockSkew fraction", rule({ clockSkew: "1.5s" }), "jwtRules[0].clockSkew: must be a whole number of seconds"],
    ["clockSkew too long", rule({ clockSkew: "2h" }), "jwtRules[0].clockSkew: must be a duration between 0s and 1h"],
    ["requireExpiration not a bool", rule({ requireExpiration: "yes" }), "jwtRules[0].requireExpiration: must be a boolean"],
    ["maxLifetime zero", rule({ maxLifetime: "0s" }), "jwtRules[0].maxLifetime: must be a duration between 1s and 87600h"],
    ["bearerCaseInsensitive not a bool", rule({ fromHeaders: [{ name: "a", bearerCaseInsensitive: 1 }] }), "jwtRules[0].fromHeaders[0].bearerCaseInsensitive: must be a boolean"],
    ["spaceDelimitedClaims not strings", rule({ spaceDelimitedClaims: [1] }), "jwtRules[0].spaceDelimitedClaims[0]: must be a string"],
    ["spaceDelimitedClaims empty name", rule({ spaceDelimitedClaims: [""] }), "jwtRules[0].spaceDelimitedClaims[0]: must not be empty"],
    ["ignoreUnknownIssuers not a bool", JSON.stringify({ ignoreUnknownIssuers: "yes" }), "ignoreUnknownIssuers: must be a boolean"],
  ])("%s", async (_name, config, message) => {
    const { error, logs } = await refusedConfig(config, backend.url);
    expect((error as { code?: string }).code).toBe("HOST_ERR_CONFIGURE_FAILED");
    const lines = logs.filter((l) => l.includes("invalid plugin configuration: "));
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(`invalid plugin configuration: ${message}`);
    expect(logs.some((l) => /RuntimeError|unreachable|Wasm VM failed/.test(l))).toBe(false);
  });

  test("a claim header that is another rule's token header is refused", async () => {
    const config = JSON.stringify({
      jwtRules: [
        { issuer: "a", jwks: JWKS, outputClaimToHeaders: [{ header: "x-tok", claim: "sub" }] },
        { issuer: "b", jwks: JWKS, fromHeaders: [{ name: "X-Tok" }] },
      ],
    });
    const { logs } = await refusedConfig(config, backend.url);
    expect(logs.some((l) => l.includes("invalid plugin configuration: jwtRules[0].outputClaimToHeaders[0].header: must not be a token location (jwtRules[1] reads tokens from x-tok)"))).toBe(true);
  });
});
