// AuthorizationPolicy beyond requestPrincipals, over real HTTP: `to` operations (hosts, ports, methods,
// paths with templates), `when` conditions (principal, audiences, presenter, claims, headers, IPs,
// ports), AUDIT and dry-run policies, the structured requestPrincipals form with allowMissingSub,
// denyWithAuthenticate, CORS preflight bypass, source IP blocks, hostile input; then, through the
// in-process driver of bench/direct.ts (the local host has no mTLS or SNI), peer identities, SNI and
// destination address/port. Each case is a request (token claims, method, path, host, headers, or the
// connection properties) and the status (and body) it must get.
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

const ISS = "https://accounts.example.com";

interface Case {
  claims?: object | null;
  method?: string;
  path?: string;
  /** The Host header (`:authority`); `{port}` is replaced by the gateway's port. */
  host?: string;
  headers?: Record<string, string | string[]>;
  status: number;
  body?: string;
}

async function withGateway(config: object, fn: (g: TestGateway) => Promise<void>) {
  const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], ...config }, backend.url, { workers: 1 });
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

async function send(g: TestGateway, c: Case) {
  const port = new URL(g.url).port;
  const headers: Record<string, string | string[]> = { ...(c.headers ?? {}) };
  if (c.claims) headers.authorization = `Bearer ${sign(key, { iss: ISS, sub: "alice", exp: nowS() + 600, ...c.claims })}`;
  if (c.host !== undefined) headers.host = c.host.replace("{port}", port);
  return request(g.url + (c.path ?? "/"), { method: c.method ?? "GET", headers });
}

async function check(config: object, cases: Case[]) {
  await withGateway(config, async (g) => {
    for (const c of cases) {
      const r = await send(g, c);
      expect({ case: c, status: r.status }).toEqual({ case: c, status: c.status });
      if (c.body !== undefined) expect(r.body).toBe(c.body);
      if (r.status === 403) expect(r.body).toBe("RBAC: access denied");
    }
  });
}

const allow = (rules: object[], extra: object = {}) => ({ policies: [{ name: "p", action: "ALLOW", rules, ...extra }] });
const deny = (rules: object[]) => ({ policies: [{ name: "d", action: "DENY", rules }] });
const to = (operation: object) => ({ to: [{ operation }] });

describe("to: operations", () => {
  test.each<[string, object, Case[]]>([
    ["methods exact, case-sensitive", allow([to({ methods: ["GET", "HEAD"] })]), [
      { method: "GET", status: 200 }, { method: "POST", status: 403 }, { method: "DELETE", status: 403 },
    ]],
    ["notMethods", allow([to({ notMethods: ["DELETE"] })]), [
      { method: "GET", status: 200 }, { method: "DELETE", status: 403 },
    ]],
    ["paths exact, prefix, suffix, without the query", allow([to({ paths: ["/exact", "/api/*", "*.png"] })]), [
      { path: "/exact", status: 200 }, { path: "/exact?x=1", status: 200 }, { path: "/exact/", status: 403 },
      { path: "/api/", status: 200 }, { path: "/api/v1/x", status: 200 }, { path: "/api", status: 403 },
      { path: "/img/a.png", status: 200 }, { path: "/img/a.png?v=2", status: 200 }, { path: "/a.png.txt", status: 403 },
      { path: "/other", status: 403 }, { path: "/other?p=/exact", status: 403 },
    ]],
    ["paths `*` matches every path", allow([to({ paths: ["*"] })]), [{ path: "/", status: 200 }, { path: "/x/y", status: 200 }]],
    ["notPaths", allow([to({ notPaths: ["/admin*"] })]), [
      { path: "/", status: 200 }, { path: "/admin", status: 403 }, { path: "/admin/x", status: 403 }, { path: "/x?/admin", status: 200 },
    ]],
    ["path template {*}: exactly one non-empty segment", allow([to({ paths: ["/users/{*}/profile"] })]), [
      { path: "/users/42/profile", status: 200 }, { path: "/users/42/profile?x", status: 200 },
      { path: "/users//profile", status: 403 }, { path: "/users/1/2/profile", status: 403 }, { path: "/users/42/profile/x", status: 403 },
    ]],
    ["path template {**}: any segments", allow([to({ paths: ["/files/{**}"] })]), [
      { path: "/files/", status: 200 }, { path: "/files/a", status: 200 }, { path: "/files/a/b/c.txt", status: 200 },
      { path: "/files", status: 403 }, { path: "/filesx/a", status: 403 },
    ]],
    ["path template: a literal segment after {**}, several templates", allow([to({ paths: ["/s/{**}/index.html", "/{*}/{*}/x"] })]), [
      { path: "/s/a/b/index.html", status: 200 }, { path: "/s//index.html", status: 200 }, { path: "/s/index.html", status: 403 },
      { path: "/s/a/index.htmlx", status: 403 }, { path: "/a/b/x", status: 200 }, { path: "/a/b/c/x", status: 403 },
      { path: "/a*b/c/x", status: 403 }, { path: "/a%20b/c=d/x", status: 200 },
    ]],
    ["hosts: the whole :authority, case-insensitive; a port needs host:*", allow([to({ hosts: ["api.example.com", "web.example.com:*", "*.internal"] })]), [
      { host: "api.example.com", status: 200 }, { host: "API.Example.COM", status: 200 }, { host: "api.example.com:8080", status: 403 },
      { host: "web.example.com:8080", status: 200 }, { host: "web.example.com", status: 403 },
      { host: "db.internal", status: 200 }, { host: "DB.INTERNAL", status: 200 }, { host: "other.example.com", status: 403 },
    ]],
    ["notHosts", allow([to({ notHosts: ["evil.example.com"] })]), [
      { host: "good.example.com", status: 200 }, { host: "EVIL.example.com", status: 403 },
    ]],
    ["fields of one operation are ANDed, operations ORed", allow([{ to: [
      { operation: { methods: ["GET"], paths: ["/read*"] } },
      { operation: { methods: ["POST"], paths: ["/write"] } },
    ] }]), [
      { method: "GET", path: "/read/x", status: 200 }, { method: "POST", path: "/write", status: 200 },
      { method: "POST", path: "/read/x", status: 403 }, { method: "GET", path: "/write", status: 403 },
    ]],
    ["from and to are ANDed", allow([{ from: [{ source: { requestPrincipals: ["*"] } }], ...to({ methods: ["GET"] }) }]), [
      { claims: {}, method: "GET", status: 200 }, { claims: {}, method: "POST", status: 403 }, { method: "GET", status: 403 },
    ]],
    ["an empty list is unset, as in Istio (protobuf cannot tell [] from absent)", allow([{ from: [{ source: { requestPrincipals: [], notIpBlocks: ["10.0.0.0/8"] } }], to: [{ operation: { methods: [], paths: ["/a"] } }] }]), [
      { path: "/a", status: 200 }, { path: "/b", status: 403 },
    ]],
    ["DENY on a path", deny([to({ paths: ["/admin/*"] })]), [
      { path: "/admin/x", status: 403 }, { path: "/public", status: 200 },
    ]],
  ])("%s", async (_name, config, cases) => {
    await check(config, cases);
  });

  test("ports against destination.port (the listener's)", async () => {
    await withGateway(allow([to({ ports: ["1"] })]), async (g) => {
      expect((await send(g, { status: 403 })).status).toBe(403);
    });
    await withGateway(allow([to({ notPorts: ["1"] })]), async (g) => {
      expect((await send(g, { status: 200 })).status).toBe(200);
    });
    await withGateway({ policies: [{ name: "p", rules: [{ when: [{ key: "destination.port", notValues: ["1", "2"] }] }] }] }, async (g) => {
      expect((await send(g, { status: 200 })).status).toBe(200);
    });
    // The gateway's own port: a fixed free port chosen up front.
    const port = await freePort();
    const g = await startGateway({ jwtRules: [], policies: [{ name: "p", rules: [to({ ports: [String(port)] })] }] }, backend.url, { workers: 1, serve: { port } });
    try {
      expect((await request(g.url + "/")).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});

async function freePort(): Promise<number> {
  const net = await import("net");
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as import("net").AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const when = (...conds: object[]) => allow([{ when: conds }]);

describe("when: conditions", () => {
  test.each<[string, object, Case[]]>([
    ["request.auth.principal", when({ key: "request.auth.principal", values: [`${ISS}/alice`, "*/bob"] }), [
      { claims: {}, status: 200 }, { claims: { sub: "bob" }, status: 200 }, { claims: { sub: "carol" }, status: 403 }, { status: 403 },
    ]],
    ["request.auth.principal notValues matches without a token", when({ key: "request.auth.principal", notValues: ["*/bob"] }), [
      { status: 200 }, { claims: {}, status: 200 }, { claims: { sub: "bob" }, status: 403 },
    ]],
    ["request.auth.audiences: a string or any list element", when({ key: "request.auth.audiences", values: ["api*"] }), [
      { claims: { aud: "api.example.com" }, status: 200 }, { claims: { aud: ["web", "api-2"] }, status: 200 },
      { claims: { aud: ["web"] }, status: 403 }, { claims: {}, status: 403 },
    ]],
    ["request.auth.presenter (azp)", when({ key: "request.auth.presenter", values: ["client-1"] }), [
      { claims: { azp: "client-1" }, status: 200 }, { claims: { azp: "client-2" }, status: 403 }, { claims: { azp: 1 }, status: 403 }, { claims: {}, status: 403 },
    ]],
    ["request.auth.claims[groups]: string or string list, never numbers", when({ key: "request.auth.claims[groups]", values: ["admin", "ops-*"] }), [
      { claims: { groups: "admin" }, status: 200 }, { claims: { groups: ["dev", "ops-eu"] }, status: 200 },
      { claims: { groups: ["dev"] }, status: 403 }, { claims: { groups: 1 }, status: 403 }, { claims: { groups: [1, true] }, status: 403 },
      { claims: { groups: { admin: true } }, status: 403 }, { status: 403 },
    ]],
    ["nested request.auth.claims[realm_access][roles]", when({ key: "request.auth.claims[realm_access][roles]", values: ["editor"] }), [
      { claims: { realm_access: { roles: ["viewer", "editor"] } }, status: 200 }, { claims: { realm_access: { roles: ["viewer"] } }, status: 403 },
      { claims: { realm_access: "editor" }, status: 403 }, { claims: { "realm_access.roles": ["editor"] }, status: 403 },
    ]],
    ["a '.' in a claim name is literal", when({ key: "request.auth.claims[a.b]", values: ["x"] }), [
      { claims: { "a.b": "x" }, status: 200 }, { claims: { a: { b: "x" } }, status: 403 },
    ]],
    ["claims `*`: present and non-empty", when({ key: "request.auth.claims[tenant]", values: ["*"] }), [
      { claims: { tenant: "t1" }, status: 200 }, { claims: { tenant: "" }, status: 403 }, { claims: {}, status: 403 },
    ]],
    ["claims notValues: an absent claim matches", when({ key: "request.auth.claims[role]", notValues: ["banned"] }), [
      { claims: { role: "user" }, status: 200 }, { claims: {}, status: 200 }, { status: 200 }, { claims: { role: "banned" }, status: 403 },
      { claims: { role: ["user", "banned"] }, status: 403 },
    ]],
    ["request.headers[X-Tenant] (name case-insensitive; several lines joined with ',')", when({ key: "request.headers[X-Tenant]", values: ["acme", "*-corp"] }), [
      { headers: { "x-tenant": "acme" }, status: 200 }, { headers: { "X-TENANT": "big-corp" }, status: 200 },
      { headers: { "x-tenant": "ACME" }, status: 403 }, { status: 403 }, { headers: { "x-tenant": ["other", "acme"] }, status: 403 },
    ]],
    ["request.headers `*` is presence, even empty", when({ key: "request.headers[x-debug]", values: ["*"] }), [
      { headers: { "x-debug": "1" }, status: 200 }, { headers: { "x-debug": "" }, status: 200 }, { status: 403 },
    ]],
    ["request.headers notValues: an absent header matches", when({ key: "request.headers[x-env]", notValues: ["prod"] }), [
      { status: 200 }, { headers: { "x-env": "dev" }, status: 200 }, { headers: { "x-env": "prod" }, status: 403 },
    ]],
    ["request.headers[:method] and [:authority] (pseudo-headers)", when({ key: "request.headers[:method]", values: ["GET"] }, { key: "request.headers[:authority]", values: ["api.*"] }), [
      { host: "api.example.com", status: 200 }, { host: "www.example.com", status: 403 }, { method: "POST", host: "api.example.com", status: 403 },
    ]],
    ["conditions are ANDed", when(
      { key: "request.auth.claims[groups]", values: ["admin"] },
      { key: "request.headers[x-tenant]", values: ["acme"] },
    ), [
      { claims: { groups: ["admin"] }, headers: { "x-tenant": "acme" }, status: 200 },
      { claims: { groups: ["admin"] }, status: 403 }, { headers: { "x-tenant": "acme" }, status: 403 },
    ]],
    ["source.ip and remote.ip (no trusted hops: the peer)", when({ key: "source.ip", values: ["127.0.0.0/8"] }, { key: "remote.ip", values: ["127.0.0.1"] }), [
      { status: 200 }, { headers: { "x-forwarded-for": "10.1.2.3" }, status: 200 },
    ]],
    ["source.ip notValues", when({ key: "source.ip", notValues: ["127.0.0.1/32", "::1"] }), [{ status: 403 }]],
    ["connection.sni and source.principal absent without TLS", allow([
      { when: [{ key: "connection.sni", values: ["*"] }] },
      { when: [{ key: "source.principal", values: ["*"] }] },
      { when: [{ key: "source.namespace", values: ["default"] }] },
    ]), [{ status: 403 }]],
    ["connection.sni notValues without TLS", when({ key: "connection.sni", notValues: ["*"] }), [{ status: 200 }]],
    ["from, to and when together", allow([{
      from: [{ source: { requestPrincipals: ["*"] } }],
      to: [{ operation: { methods: ["POST"], paths: ["/orders/{*}"] } }],
      when: [{ key: "request.auth.claims[scope]", values: ["orders:write"] }],
    }]), [
      { claims: { scope: ["orders:write"] }, method: "POST", path: "/orders/7", status: 200 },
      { claims: { scope: ["orders:read"] }, method: "POST", path: "/orders/7", status: 403 },
      { claims: { scope: ["orders:write"] }, method: "GET", path: "/orders/7", status: 403 },
      { method: "POST", path: "/orders/7", status: 403 },
    ]],
  ])("%s", async (_name, config, cases) => {
    await check(config, cases);
  });
});

describe("remote IP from x-forwarded-for", () => {
  test.each<[string, object, Case[]]>([
    ["one trusted hop: the rightmost entry", { xffNumTrustedHops: 1, ...when({ key: "remote.ip", values: ["203.0.113.0/24"] }) }, [
      { headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.7" }, status: 200 },
      { headers: { "x-forwarded-for": "203.0.113.7, 198.51.100.1" }, status: 403 },
      { status: 403 },
    ]],
    ["two trusted hops: the second from the right; too few entries: the peer", { xffNumTrustedHops: 2, ...allow([{ from: [{ source: { remoteIpBlocks: ["2001:db8::/32", "127.0.0.1"] } }] }]) }, [
      { headers: { "x-forwarded-for": "2001:db8::5,10.0.0.1" }, status: 200 },
      { headers: { "x-forwarded-for": "10.9.9.9, 2001:db9::5, 10.0.0.1" }, status: 403 },
      { headers: { "x-forwarded-for": "10.0.0.1" }, status: 200 },
    ]],
    ["notRemoteIpBlocks", { xffNumTrustedHops: 1, ...deny([{ from: [{ source: { notRemoteIpBlocks: ["10.0.0.0/8"] } }] }]) }, [
      { headers: { "x-forwarded-for": "10.2.3.4" }, status: 200 }, { headers: { "x-forwarded-for": "11.2.3.4" }, status: 403 },
    ]],
    ["ipBlocks is the peer, whatever x-forwarded-for says", allow([{ from: [{ source: { ipBlocks: ["127.0.0.1"], notIpBlocks: ["10.0.0.0/8"] } }] }]), [
      { headers: { "x-forwarded-for": "10.0.0.1" }, status: 200 },
    ]],
    ["principals and namespaces need a peer certificate", allow([
      { from: [{ source: { principals: ["*"] } }] },
      { from: [{ source: { namespaces: ["*"] } }] },
    ]), [{ status: 403 }]],
  ])("%s", async (_name, config, cases) => {
    await check(config, cases);
  });
});

describe("actions", () => {
  test("spec: {} denies everything; rules: [{}] allows everything", async () => {
    await check({ policies: [{}] }, [{ status: 403 }, { claims: {}, status: 403 }]);
    await check({ policies: [{ rules: [{}] }] }, [{ status: 200 }]);
  });

  test("DENY is evaluated before ALLOW", async () => {
    await check({ policies: [
      { name: "allow-get", rules: [to({ methods: ["GET"] })] },
      { name: "deny-admin", action: "DENY", rules: [to({ paths: ["/admin*"] })] },
    ] }, [
      { path: "/x", status: 200 }, { path: "/admin", status: 403 }, { method: "POST", path: "/x", status: 403 },
    ]);
  });

  test("AUDIT never decides, and counts and logs a match", async () => {
    await withGateway({ policies: [
      { name: "audit-admin", action: "AUDIT", rules: [to({ paths: ["/admin*"] })] },
      { name: "allow-all", rules: [{}] },
    ] }, async (g) => {
      expect((await send(g, { path: "/admin/x", status: 200 })).status).toBe(200);
      expect((await send(g, { path: "/other", status: 200 })).status).toBe(200);
      const stats = await statsOf(g);
      expect(stats["rbac.audit"]).toBe(1);
      expect(g.logs.filter((l) => l.includes("AUDIT policy audit-admin matched")).length).toBe(1);
    });
    // Only AUDIT policies: nothing is denied.
    await check({ policies: [{ name: "a", action: "AUDIT", rules: [{}] }] }, [{ status: 200 }]);
  });

  test("dryRun policies are counted and logged, never enforced", async () => {
    await withGateway({ policies: [
      { name: "dry-deny", action: "DENY", dryRun: true, rules: [to({ paths: ["/admin*"] })] },
      { name: "dry-allow", dryRun: true, rules: [to({ methods: ["GET"] })] },
    ] }, async (g) => {
      expect((await send(g, { path: "/admin", status: 200 })).status).toBe(200); // dry deny
      expect((await send(g, { method: "POST", path: "/x", status: 200 })).status).toBe(200); // dry allow matches nothing
      expect((await send(g, { path: "/x", status: 200 })).status).toBe(200); // dry allowed
      const stats = await statsOf(g);
      expect(stats["rbac.dry_run_denied"]).toBe(2);
      expect(stats["rbac.dry_run_allowed"]).toBe(1);
      expect(g.logs.some((l) => l.includes("dry-run denied by policy dry-deny"))).toBe(true);
      expect(g.logs.some((l) => l.includes("dry-run denied by policy none"))).toBe(true);
      expect(g.logs.some((l) => l.includes("dry-run allowed by policy dry-allow"))).toBe(true);
    });
    // A dry-run ALLOW does not make the enforced set "has ALLOW policies".
    await check({ policies: [{ name: "dry", dryRun: true, rules: [to({ paths: ["/nothing"] })] }] }, [{ status: 200 }]);
  });
});

async function statsOf(g: TestGateway): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of g.gw.stats()) out[s.name.replace(/^wasmcustom\./, "")] = s.value;
  return out;
}

describe("requestPrincipals extensions and denyWithAuthenticate", () => {
  test("structured {iss, sub} matches a sub containing '/'", async () => {
    await check(allow([{ from: [{ source: { requestPrincipals: [{ iss: "https://accounts.example.com", sub: "repo:org/x:ref:*" }] } }] }]), [
      { claims: { sub: "repo:org/x:ref:main" }, status: 200 }, { claims: { sub: "repo:org/y:ref:main" }, status: 403 }, { status: 403 },
    ]);
    await check(allow([{ from: [{ source: { requestPrincipals: [{ iss: "*.example.com", sub: "*" }] } }] }]), [
      { claims: {}, status: 200 }, { claims: { sub: undefined }, status: 403 },
    ]);
  });

  test("allowMissingSub lets iss/* match a token without sub", async () => {
    await check(allow([{ from: [{ source: { requestPrincipals: [`${ISS}/*`], allowMissingSub: true } }] }]), [
      { claims: { sub: undefined }, status: 200 }, { claims: {}, status: 200 }, { status: 403 },
    ]);
    await check(allow([{ from: [{ source: { requestPrincipals: [`${ISS}/*`] } }] }]), [{ claims: { sub: undefined }, status: 403 }]);
    await check(allow([{ from: [{ source: { requestPrincipals: [`${ISS}/bob`], allowMissingSub: true } }] }]), [{ claims: { sub: undefined }, status: 403 }]);
  });

  test("denyWithAuthenticate: a denied request without a token gets 401 Jwt is missing", async () => {
    await withGateway({ denyWithAuthenticate: true, ...allow([{ from: [{ source: { requestPrincipals: ["*/alice"] } }] }]) }, async (g) => {
      const r = await send(g, { path: "/p?q=1", status: 401 });
      expect(r.status).toBe(401);
      expect(r.body).toBe("Jwt is missing");
      expect(r.headers["www-authenticate"]).toBe(`Bearer realm="http://127.0.0.1:${new URL(g.url).port}/p"`);
      const bob = await send(g, { claims: { sub: "bob" }, status: 403 });
      expect(bob.status).toBe(403);
      expect(bob.body).toBe("RBAC: access denied");
      expect(bob.headers["www-authenticate"]).toBeUndefined();
      expect((await send(g, { claims: {}, status: 200 })).status).toBe(200);
    });
  });
});

describe("CORS preflight", () => {
  const preflight = { "origin": "https://app.example.com", "access-control-request-method": "POST" };
  test("skips token checks, and the policies still run with no principal", async () => {
    await check(allow([{ to: [{ operation: { methods: ["OPTIONS"] } }] }, { from: [{ source: { requestPrincipals: ["*"] } }] }]), [
      { method: "OPTIONS", headers: { ...preflight, authorization: "Bearer not-a-token" }, status: 200 },
      { method: "OPTIONS", headers: { authorization: "Bearer not-a-token" }, status: 401 },
      { method: "OPTIONS", headers: { ...preflight, origin: "" }, status: 200 },
      { method: "GET", headers: preflight, status: 403 },
    ]);
    await withGateway(allow([{ from: [{ source: { requestPrincipals: ["*"] } }] }]), async (g) => {
      // A preflight carrying a valid token still has no principal.
      expect((await send(g, { method: "OPTIONS", headers: preflight, claims: {}, status: 403 })).status).toBe(403);
      expect((await send(g, { method: "OPTIONS", claims: {}, status: 200 })).status).toBe(200);
      expect((await statsOf(g))["jwt_authn.cors_preflight_bypassed"]).toBe(1);
    });
  });
});

describe("addresses", () => {
  test.each<[string, string, number]>([
    ["IPv4-mapped IPv6 is the IPv4 address", "::ffff:10.1.2.3", 200],
    ["full IPv6 form", "2001:0db8:0:0:0:0:0:1", 200],
    ["compressed IPv6", "2001:db8::1", 200],
    ["IPv6 outside the block", "2001:db9::1", 403],
    ["IPv4 in the /12", "172.31.255.255", 200],
    ["IPv4 just outside the /12", "172.32.0.0", 403],
    ["an entry with a port is not an address: the peer (127.0.0.1) is used", "10.1.2.3:80", 403],
    ["garbage: the peer", "not-an-ip", 403],
    ["leading zeros are refused: the peer", "010.1.2.3", 403],
  ])("%s", async (_name, xff, status) => {
    await check({ xffNumTrustedHops: 1, ...allow([{ from: [{ source: { remoteIpBlocks: ["10.0.0.0/8", "2001:db8::/32", "172.16.0.0/12"] } }] }]) }, [
      { headers: { "x-forwarded-for": xff }, status },
    ]);
  });
});

describe("hostile input never traps", () => {
  test("long, odd and repeated values against every matcher", async () => {
    const config = {
      xffNumTrustedHops: 3,
      policies: [
        { name: "a", action: "AUDIT", rules: [{ to: [{ operation: { paths: ["/{*}/{*}/{*}/{**}"] } }] }] },
        { name: "d", action: "DENY", rules: [{ when: [{ key: "request.headers[x-h]", values: ["*evil"] }] }] },
        { name: "p", rules: [
          { from: [{ source: { remoteIpBlocks: ["::/0", "0.0.0.0/0"] } }], to: [{ operation: { paths: ["/{*}/{**}/end"], hosts: ["*"] } }] },
          { when: [{ key: "request.auth.claims[a][b][c]", values: ["*"] }, { key: "request.headers[x-h]", notValues: ["z"] }] },
        ] },
      ],
    };
    await withGateway(config, async (g) => {
      const long = "/" + "a".repeat(12000);
      const reqs: Case[] = [
        { path: long, status: 403 },
        { path: "/" + "a".repeat(10000) + "/x/end", status: 200 },
        { path: "/b" + "a".repeat(10000), status: 403 },
        { path: "/" + "a".repeat(4000) + "/" + "c/".repeat(2000) + "end?q=/", status: 200 },
        { path: "/x" + "%".repeat(1000) + "/y/end", status: 200 },
        { path: "/" + "a".repeat(10000) + "/end", status: 403 },
        { path: "/%ff%00x/y", status: 403 },
        { headers: { "x-forwarded-for": ",".repeat(5000) }, status: 403 },
        { headers: { "x-forwarded-for": "1:2:3:4:5:6:7:8:9, ::::, 1.2.3.4.5, [::1], 999.1.1.1" }, status: 403 },
        { headers: { "x-h": ["a", "b-evil"] }, status: 403 },
        { headers: { "x-h": "é".repeat(3000) }, status: 403 },
        { claims: { a: { b: { c: ["", 1, null, {}, "v"] } } }, status: 200 },
        { claims: { a: { b: { c: [[["v"]]] } } }, status: 403 },
        { claims: { a: [{ b: { c: "v" } }] }, status: 403 },
        { host: "H".repeat(5000), status: 403 },
      ];
      for (const c of reqs) {
        const r = await send(g, c);
        expect({ case: c.path?.slice(0, 40) ?? c.headers ?? c.claims, status: r.status }).toEqual({ case: c.path?.slice(0, 40) ?? c.headers ?? c.claims, status: c.status });
      }
      expect(g.logs.some((l) => /RuntimeError|unreachable|Wasm VM failed|trap/i.test(l))).toBe(false);
    });
  });
});

describe("connection properties (in-process driver answering proxy_get_property)", () => {
  // The local host has no mTLS or SNI, so these run the same build through bench/direct.ts, whose host
  // answers the properties each case sets, as Envoy would.
  const int64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; };
  const SAN = "connection.uri_san_peer_certificate";
  const H: Array<[string, string]> = [[":method", "GET"], [":path", "/"], [":authority", "a.example.com"], [":scheme", "https"]];
  const policyOf = (rule: object) => JSON.stringify({ jwtRules: [{ issuer: ISS, jwks: JSON.stringify({ keys: [] }) }], policies: [{ name: "p", rules: [rule] }] });
  test.each<[string, object, Array<[Record<string, Buffer>, number]>]>([
    ["principals exact (spiffe:// added)", { from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }] }, [
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/sleep") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/other") }, 403],
      [{ [SAN]: Buffer.from("cluster.local/ns/default/sa/sleep") }, 403],
      [{}, 403],
    ]],
    ["principals prefix and suffix", { from: [{ source: { principals: ["cluster.local/ns/prod/*", "*/sa/admin"] } }] }, [
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/prod/sa/x") }, 200],
      [{ [SAN]: Buffer.from("spiffe://other.td/ns/dev/sa/admin") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/dev/sa/x") }, 403],
      [{ [SAN]: Buffer.from("https://td/ns/dev/sa/admin") }, 403],
    ]],
    ["notPrincipals", { from: [{ source: { notPrincipals: ["*/sa/evil"] } }] }, [
      [{ [SAN]: Buffer.from("spiffe://td/ns/a/sa/evil") }, 403], [{ [SAN]: Buffer.from("spiffe://td/ns/a/sa/good") }, 200], [{}, 200],
    ]],
    ["namespaces: .*/ns/<ns>/.* with * anywhere", { from: [{ source: { namespaces: ["default", "prod-*", "t*m"] } }] }, [
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/x") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/prod-eu/sa/x") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/team/sa/x") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/defaults/sa/x") }, 403],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/dev/sa/default") }, 403],
      [{}, 403],
    ]],
    ["serviceAccounts: Istio's spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?", { from: [{ source: { serviceAccounts: ["default/sleep"] } }] }, [
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/sleep") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/x/y/sa/sleep/extra") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/sleepy") }, 403],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/sleep/") }, 403],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/other/sa/sleep") }, 403],
      [{ [SAN]: Buffer.from("spiffe:///ns/default/sa/sleep") }, 403],
      [{ [SAN]: Buffer.from("spiffe://td/ns/default/xsa/sleep") }, 403],
      [{}, 403],
    ]],
    ["notServiceAccounts and source.serviceAccount", { from: [{ source: { notServiceAccounts: ["kube-system/admin"] } }], when: [{ key: "source.serviceAccount", values: ["default/web", "kube-system/admin"] }] }, [
      [{ [SAN]: Buffer.from("spiffe://td/ns/default/sa/web") }, 200],
      [{ [SAN]: Buffer.from("spiffe://td/ns/kube-system/sa/admin") }, 403],
      [{ [SAN]: Buffer.from("spiffe://td/ns/default/sa/db") }, 403],
    ]],
    ["source.principal and source.namespace conditions", { when: [
      { key: "source.principal", values: ["cluster.local/ns/default/sa/*"] },
      { key: "source.namespace", notValues: ["kube-system"] },
    ] }, [
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/default/sa/web") }, 200],
      [{ [SAN]: Buffer.from("spiffe://cluster.local/ns/kube-system/sa/web") }, 403],
    ]],
    ["connection.sni", { when: [{ key: "connection.sni", values: ["*.example.com"] }] }, [
      [{ "connection.requested_server_name": Buffer.from("api.example.com") }, 200],
      [{ "connection.requested_server_name": Buffer.from("api.example.org") }, 403],
      [{}, 403],
    ]],
    ["destination.ip and destination.port", { when: [{ key: "destination.ip", values: ["10.0.0.0/8", "2001:db8::/32"] }, { key: "destination.port", values: ["8443"] }] }, [
      [{ "destination.address": Buffer.from("10.1.2.3:8443"), "destination.port": int64(8443) }, 200],
      [{ "destination.address": Buffer.from("[2001:db8::9]:8443"), "destination.port": int64(8443) }, 200],
      [{ "destination.address": Buffer.from("10.1.2.3:8443"), "destination.port": int64(80) }, 403],
      [{ "destination.address": Buffer.from("11.1.2.3:8443"), "destination.port": int64(8443) }, 403],
      [{}, 403],
    ]],
    ["ports against destination.port", { to: [{ operation: { ports: ["443", "8443"] } }] }, [
      [{ "destination.port": int64(443) }, 200], [{ "destination.port": int64(80) }, 403], [{ "destination.port": Buffer.from([1, 2]) }, 403], [{}, 403],
    ]],
    ["ipBlocks from an IPv6 source.address", { from: [{ source: { ipBlocks: ["2001:db8::/48"], notIpBlocks: ["2001:db8:0:1::/64"] } }] }, [
      [{ "source.address": Buffer.from("[2001:db8::5]:1234") }, 200],
      [{ "source.address": Buffer.from("[2001:db8:0:1::5]:1234") }, 403],
      [{ "source.address": Buffer.from("[2001:db9::5]:1234") }, 403],
      [{ "source.address": Buffer.from("garbage") }, 403],
    ]],
  ])("%s", async (_name, rule, cases) => {
    const { DirectFilter } = await import("../../bench/direct");
    const f = new DirectFilter(process.env.JWT_AUTHN_WASM ?? require("path").resolve(__dirname, "..", "..", "build", "jwt_authn.wasm"), policyOf(rule));
    for (const [props, status] of cases) {
      f.properties = new Map(Object.entries(props));
      expect({ props: Object.keys(props).map((k) => `${k}=${props[k].toString("hex")}`), status: f.request(H) })
        .toEqual({ props: Object.keys(props).map((k) => `${k}=${props[k].toString("hex")}`), status });
    }
  });
});

describe("space-delimited claims (spaceDelimitedClaims; scope and permission always), as Istio normalizes them", () => {
  test("a `scope` string matches one of its words; a configured claim too; others stay whole strings", async () => {
    const g = await startGateway(
      {
        jwtRules: [{ issuer: ISS, jwks: jwksOf(key), spaceDelimitedClaims: ["roles"] }],
        policies: [
          { name: "scope", rules: [{ when: [{ key: "request.auth.claims[scope]", values: ["write"] }] }] },
          { name: "roles", rules: [{ when: [{ key: "request.auth.claims[roles]", values: ["admin"] }] }] },
          { name: "team", rules: [{ when: [{ key: "request.auth.claims[team]", values: ["a b"] }] }] },
        ],
      },
      backend.url,
      { workers: 1 },
    );
    try {
      const cases: Array<[object, number]> = [
        [{ scope: "read write" }, 200],
        [{ scope: "read" }, 403],
        [{ scope: "read write", team: "x" }, 200],
        [{ roles: "user admin" }, 200],
        [{ roles: "user" }, 403],
        [{ team: "a b" }, 200], // not space-delimited: the whole string
        [{ team: "a" }, 403],
        [{ permission: "x write" }, 403], // permission is split too, but no policy names it
      ];
      for (const [claims, status] of cases) {
        const r = await send(g, { claims, status });
        expect({ claims, status: r.status }).toEqual({ claims, status });
      }
    } finally {
      await g.close();
    }
  });
});

describe("a condition on the token's own header sees it as Envoy's RBAC filter does: removed unless forwarded", () => {
  const policies = [{ name: "ns.authz-header", action: "ALLOW", rules: [{ when: [{ key: "request.headers[authorization]", values: ["*"] }] }] }];
  const token = () => `Bearer ${sign(key, { iss: ISS, sub: "alice", exp: nowS() + 600 })}`;

  test("forwardOriginalToken false (the default): the verified token's header is gone before the policies run", async () => {
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies }, backend.url, { workers: 1 });
    try {
      expect((await request(g.url + "/", { headers: { authorization: token() } })).status).toBe(403);
      // A header the filter did not take a token from stays visible.
      const g2 = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key), fromHeaders: [{ name: "x-jwt" }] }], policies }, backend.url, { workers: 1 });
      try {
        expect((await request(g2.url + "/", { headers: { "x-jwt": sign(key, { iss: ISS, sub: "alice", exp: nowS() + 600 }), authorization: "Basic abc" } })).status).toBe(200);
      } finally {
        await g2.close();
      }
    } finally {
      await g.close();
    }
  });

  test("forwardOriginalToken true: the header stays, and the policy sees it", async () => {
    const g = await startGateway({ jwtRules: [{ issuer: ISS, jwks: jwksOf(key), forwardOriginalToken: true }], policies }, backend.url, { workers: 1 });
    try {
      expect((await request(g.url + "/", { headers: { authorization: token() } })).status).toBe(200);
    } finally {
      await g.close();
    }
  });
});
