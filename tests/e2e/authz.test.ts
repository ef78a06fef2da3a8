// AuthorizationPolicy after authentication, Istio's order: DENY first, then ALLOW (none means allow),
// with requestPrincipals / notRequestPrincipals matched as Istio's generator does.
import { startBackend, request, Backend } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS, TestKey } from "../helpers/tokens";

let backend: Backend;
let key: TestKey;

beforeAll(async () => {
  backend = await startBackend();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
});

const rules = () => [
  { issuer: "https://accounts.example.com", jwks: jwksOf(key) },
  { issuer: "https://accounts.example.com/", jwks: jwksOf(key) },
  { issuer: "ci", jwks: jwksOf(key) },
];

async function withPolicies(policies: object[], fn: (g: TestGateway) => Promise<void>) {
  const g = await startGateway({ jwtRules: rules(), policies }, backend.url, { workers: 1 });
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

async function status(g: TestGateway, claims: object | null): Promise<number> {
  const headers: Record<string, string> = {};
  if (claims) headers.authorization = `Bearer ${sign(key, { exp: nowS() + 600, ...claims })}`;
  const r = await request(g.url + "/", { headers });
  if (r.status === 403) {
    expect(r.body).toBe("RBAC: access denied");
    expect(r.headers["www-authenticate"]).toBeUndefined();
    expect(r.headers["content-type"]).toBe("text/plain");
  }
  return r.status;
}

const ALICE = { iss: "https://accounts.example.com", sub: "alice" };
const BOB = { iss: "https://accounts.example.com", sub: "bob" };
const NO_SUB = { iss: "https://accounts.example.com" };
const SLASH_ISS = { iss: "https://accounts.example.com/", sub: "alice" };
const CI = { iss: "ci", sub: "repo:org/x:ref:main" };

test("no policies: everything that authenticates passes", async () => {
  await withPolicies([], async (g) => {
    expect(await status(g, null)).toBe(200);
    expect(await status(g, ALICE)).toBe(200);
  });
});

test("ALLOW requestPrincipals exact iss/sub", async () => {
  await withPolicies([{ name: "allow-alice", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["https://accounts.example.com/alice"] } }] }] }], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(403);
    expect(await status(g, null)).toBe(403);
  });
});

test("ALLOW `*` needs both iss and sub (a token without sub is denied, istio#22540)", async () => {
  await withPolicies([{ name: "any", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, NO_SUB)).toBe(403);
    expect(await status(g, null)).toBe(403);
  });
});

test("prefix and suffix forms", async () => {
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["https://accounts.example.com/al*", "*/bob", "ci/repo:org/*"] } }] }] }], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(200);
    expect(await status(g, { iss: "https://accounts.example.com", sub: "carol" })).toBe(403);
    // "ci/repo:org/*" splits at the last '/': iss "ci/repo:org", so the CI token does not match (istio#52217).
    expect(await status(g, CI)).toBe(403);
  });
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["ci/repo:org*"] } }] }] }], async (g) => {
    expect(await status(g, CI)).toBe(200);
  });
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["c*"] } }] }] }], async (g) => {
    // `prefix*` without '/': a prefix on iss, and sub must be present.
    expect(await status(g, CI)).toBe(200);
    expect(await status(g, ALICE)).toBe(403);
  });
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["https://accounts*"] } }] }] }], async (g) => {
    // Istio splits at the last '/', even inside the scheme: iss "https:/", sub prefix "accounts".
    expect(await status(g, ALICE)).toBe(403);
    expect(await status(g, { iss: "https://accounts.example.com", sub: "accounts-bot" })).toBe(403);
  });
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["*ice"] } }] }] }], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(403);
  });
});

test("an issuer ending in '/' needs a double slash", async () => {
  await withPolicies([{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["https://accounts.example.com//alice"] } }] }] }], async (g) => {
    expect(await status(g, SLASH_ISS)).toBe(200);
    expect(await status(g, ALICE)).toBe(403);
  });
});

test("DENY notRequestPrincipals [*] denies requests without a valid token", async () => {
  await withPolicies([{ name: "require-jwt", action: "DENY", rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }] }], async (g) => {
    expect(await status(g, null)).toBe(403);
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, NO_SUB)).toBe(403);
  });
});

test("DENY wins over ALLOW", async () => {
  await withPolicies([
    { name: "allow-all-tokens", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] },
    { name: "deny-bob", action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["*/bob"] } }] }] },
  ], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(403);
    expect(await status(g, null)).toBe(403);
  });
});

test("only DENY policies: what they do not match passes", async () => {
  await withPolicies([{ name: "deny-bob", action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["*/bob"] } }] }] }], async (g) => {
    expect(await status(g, null)).toBe(200);
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(403);
  });
});

test("an ALLOW policy with no rules allows nothing; rules: [{}] allows everything", async () => {
  await withPolicies([{ name: "allow-nothing" }], async (g) => {
    expect(await status(g, ALICE)).toBe(403);
    expect(await status(g, null)).toBe(403);
  });
  await withPolicies([{ name: "allow-all", rules: [{}] }], async (g) => {
    expect(await status(g, null)).toBe(200);
  });
  await withPolicies([{ name: "deny-all", action: "DENY", rules: [{}] }], async (g) => {
    expect(await status(g, ALICE)).toBe(403);
  });
});

test("sources are ORed, fields within a source ANDed", async () => {
  await withPolicies([{ name: "p", rules: [{ from: [
    { source: { requestPrincipals: ["*"], notRequestPrincipals: ["*/bob"] } },
    { source: { requestPrincipals: ["ci/*"] } },
  ] }] }], async (g) => {
    expect(await status(g, ALICE)).toBe(200);
    expect(await status(g, BOB)).toBe(403);
    expect(await status(g, CI)).toBe(200);
  });
});

test("an invalid token is a 401 even when a policy would allow the request (istio#24371)", async () => {
  await withPolicies([{ name: "allow-all", rules: [{}] }], async (g) => {
    const r = await request(g.url + "/", { headers: { authorization: `Bearer ${sign(key, { iss: "unknown" })}` } });
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt issuer is not configured");
  });
});
