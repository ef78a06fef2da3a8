// debugHeaders: every answer (local 401/403 replies and forwarded responses) carries x-jwt-authn-decision
// with the deciding reason; without it, none does. Denials are logged with the deciding policy and rule.
import { startBackend, request, Backend } from "../helpers/servers";
import { startGateway, refusedConfig, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

let backend: Backend;
let key: TestKey;
const ISS = "https://accounts.example.com";

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
});

const policies = [
  { name: "ns.block", action: "DENY", rules: [{ to: [{ operation: { paths: ["/nope"] } }] }, { to: [{ operation: { paths: ["/admin/*"] } }] }] },
  { name: "ns.users", action: "ALLOW", rules: [{ to: [{ operation: { paths: ["/public"] } }] }, { from: [{ source: { requestPrincipals: [`${ISS}/*`] } }] }] },
];

async function withGateway(extra: object, fn: (g: TestGateway) => Promise<void>, withPolicies = true) {
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies: withPolicies ? policies : [], ...extra }, backend.url, { workers: 1 });
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

const bearer = (claims: object) => ({ authorization: `Bearer ${sign(key, claims)}` });
const H = "x-jwt-authn-decision";

test("debugHeaders: 200 forwarded, 403 DENY rule, 403 no ALLOW matched, 401 expired", async () => {
  await withGateway({ debugHeaders: true }, async (g) => {
    const ok = await request(`${g.url}/orders`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() + 600 }) });
    expect(ok.status).toBe(200);
    expect(ok.headers[H]).toBe(`allow policy=ns.users rule=1 principal=${ISS}/alice issuer=${ISS}`);

    const pub = await request(`${g.url}/public`);
    expect(pub.status).toBe(200);
    expect(pub.headers[H]).toBe("allow policy=ns.users rule=0 principal=-");

    const denied = await request(`${g.url}/admin/x?access=1`);
    expect(denied.status).toBe(403);
    expect(denied.body).toBe("RBAC: access denied");
    expect(denied.headers[H]).toBe("deny policy=ns.block rule=1 principal=-");

    const none = await request(`${g.url}/private`);
    expect(none.status).toBe(403);
    expect(none.headers[H]).toBe("deny-no-allow-matched principal=-");

    const expired = await request(`${g.url}/orders`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() - 600 }) });
    expect(expired.status).toBe(401);
    expect(expired.body).toBe("Jwt is expired");
    expect(expired.headers[H]).toBe(`authn-failed status="Jwt is expired" issuer=${ISS}`);

    const bad = await request(`${g.url}/orders`, { headers: { authorization: "Bearer not-a-jwt" } });
    expect(bad.status).toBe(401);
    expect(bad.headers[H]).toBe('authn-failed status="Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections" issuer=-');

    // Denials are logged at info with the deciding policy and rule, never the query string or a token.
    expect(g.logs.some((l) => l.includes("rbac: denied by policy ns.block rule 1: GET /admin/x") && !l.includes("access="))).toBe(true);
    expect(g.logs.some((l) => l.includes("rbac: denied by policy none rule -: GET /private"))).toBe(true);
    expect(g.logs.some((l) => l.includes(`jwt_authn: denied status="Jwt is expired" issuer=${ISS}: GET /orders`))).toBe(true);
    expect(g.logs.some((l) => l.includes("not-a-jwt"))).toBe(false);
  });
});

test("debugHeaders without policies: allow no-policies", async () => {
  await withGateway(
    { debugHeaders: true },
    async (g) => {
      const r = await request(`${g.url}/`);
      expect(r.status).toBe(200);
      expect(r.headers[H]).toBe("allow no-policies principal=-");
    },
    false,
  );
});

test("a principal with a space or quote is made header-safe", async () => {
  await withGateway({ debugHeaders: true }, async (g) => {
    const r = await request(`${g.url}/x`, { headers: bearer({ iss: ISS, sub: 'a b"c', exp: nowS() + 600 }) });
    expect(r.status).toBe(200);
    expect(r.headers[H]).toBe(`allow policy=ns.users rule=1 principal=${ISS}/a?b?c issuer=${ISS}`);
  });
});

test("without debugHeaders (default, or false) no answer carries the header", async () => {
  for (const extra of [{}, { debugHeaders: false }]) {
    await withGateway(extra, async (g) => {
      const ok = await request(`${g.url}/orders`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() + 600 }) });
      expect(ok.status).toBe(200);
      const denied = await request(`${g.url}/admin/x`);
      expect(denied.status).toBe(403);
      const expired = await request(`${g.url}/orders`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() - 600 }) });
      expect(expired.status).toBe(401);
      for (const r of [ok, denied, expired]) expect(r.headers[H]).toBeUndefined();
    });
  }
});

test("debugHeaders must be a boolean", async () => {
  const { logs } = await refusedConfig(JSON.stringify({ jwtRules: [], debugHeaders: "yes" }), backend.url);
  expect(logs.some((l) => l.includes("invalid plugin configuration: ") && l.includes("debugHeaders"))).toBe(true);
});

test("the access log carries the deciding policy and rule on every request, whatever debugHeaders says", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies }, backend.url, { workers: 1, serve: { accessLog: true } });
  const S = "wasm.jwt_authn_decision";
  const lineFor = async (path: string) => {
    // The access-log line is written when the stream ends, just after the client has its answer.
    for (let i = 0; i < 100; i++) {
      const l = g.logs.find((x) => x.includes(`"GET ${path} HTTP/1.1"`));
      if (l !== undefined) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no access-log line for ${path}`);
  };
  try {
    expect((await request(`${g.url}/orders`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() + 600 }) })).status).toBe(200);
    expect(await lineFor("/orders")).toMatch(new RegExp(` 200 via_upstream \\d+ms ${S}="allow policy=ns.users rule=1"$`));
    expect((await request(`${g.url}/admin/x`)).status).toBe(403);
    expect(await lineFor("/admin/x")).toMatch(new RegExp(` 403 rbac_access_denied_matched_policy\\[ns.block\\] \\d+ms ${S}="deny policy=ns.block rule=1"$`));
    expect((await request(`${g.url}/private`)).status).toBe(403);
    expect(await lineFor("/private")).toMatch(new RegExp(` 403 rbac_access_denied_matched_policy\\[none\\] \\d+ms ${S}="deny-no-allow-matched"$`));
    // An authentication failure is decided before any policy: its reason is the response code details.
    expect((await request(`${g.url}/expired`, { headers: bearer({ iss: ISS, sub: "alice", exp: nowS() - 600 }) })).status).toBe(401);
    expect(await lineFor("/expired")).toMatch(/ 401 jwt_authn_access_denied\{Jwt_is_expired\} \d+ms$/);
  } finally {
    await g.close();
  }
});

test("only DENY policies, none matching: the access log says allow no-deny-matched", async () => {
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies: [policies[0]] }, backend.url, { workers: 1, serve: { accessLog: true } });
  try {
    expect((await request(`${g.url}/fine`)).status).toBe(200);
    for (let i = 0; i < 100 && !g.logs.some((l) => l.includes('"GET /fine HTTP/1.1"')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(g.logs.find((l) => l.includes('"GET /fine HTTP/1.1"'))).toMatch(/ 200 via_upstream \d+ms wasm\.jwt_authn_decision="allow no-deny-matched"$/);
  } finally {
    await g.close();
  }
});
