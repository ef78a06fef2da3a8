// `jwt-authn-wasm check`: one request through the real filter (build/jwt_authn.wasm) in front of an echo
// backend, explained (verdict, status, body or forwarded headers, principal, claims, deciding reason).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { main, type CliIo } from "../../host/cli";
import { makeRsaKey, jwksOf, sign, nowS, type TestKey } from "../helpers/tokens";
import { startJwksServer } from "../helpers/servers";
import { WASM } from "../helpers/gateway";

function io(): CliIo & { outText: string[]; errText: string[] } {
  const outText: string[] = [];
  const errText: string[] = [];
  return { out: (t) => outText.push(t), err: (t) => errText.push(t), env: {}, outText, errText };
}

let dir: string;
let key: TestKey;
let config: string;
const ISS = "https://accounts.example.com";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-check-"));
  key = makeRsaKey("k1");
  config = path.join(dir, "config.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      // forwardOriginalToken: the backend sees the token, which check prints redacted.
      jwtRules: [{ issuer: ISS, jwks: jwksOf(key), forwardOriginalToken: true }],
      policies: [
        { name: "ns.block", action: "DENY", rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }] },
        {
          name: "ns.users",
          action: "ALLOW",
          rules: [
            { to: [{ operation: { paths: ["/public"] } }] },
            { from: [{ source: { requestPrincipals: [`${ISS}/*`] } }] },
          ],
        },
      ],
    }),
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = () => ["check", "--config", config, "--wasm", WASM];

test("an allowed request: the forwarded line, redacted authorization, principal and verified claims", async () => {
  const token = sign(key, { iss: ISS, sub: "alice", exp: nowS() + 600 });
  const x = io();
  expect(await main([...base(), "--token", token, "--path", "/orders?x=1", "--header", "x-a: 1", "--header", "x-a:2"], x)).toBe(0);
  const out = x.outText.join("\n");
  expect(out).toContain("verdict:   allowed");
  expect(out).toContain("status:    200");
  expect(out).toContain("forwarded: GET /orders?x=1");
  expect(out).toContain(`  authorization: ${`Bearer ${token}`.slice(0, 10)}…`);
  expect(out).not.toContain(token);
  expect(out).toContain("  x-a: 1, 2");
  expect(out).toContain(`decision:  allow policy=ns.users rule=1 principal=${ISS}/alice issuer=${ISS}`);
  expect(out).toContain(`principal: ${ISS}/alice`);
  expect(out).toContain("claims:    (claims as sent; the filter verified: yes)");
  expect(out).toContain('"sub": "alice"');
});

test("an RBAC denial names the DENY policy and its rule", async () => {
  const x = io();
  expect(await main([...base(), "--path", "/admin/users", "--method", "delete"], x)).toBe(0);
  const out = x.outText.join("\n");
  expect(out).toContain("verdict:   denied");
  expect(out).toContain("status:    403");
  expect(out).toContain("body:      RBAC: access denied");
  expect(out).toContain("decision:  deny policy=ns.block rule=0 principal=-");
  expect(out).toContain("principal: -");
  expect(out).toContain("claims:    -");
  // Why the others did not match: every policy, every rule, from the filter's own matchers.
  expect(out).toContain([
    "policies:  (every rule: matched, or the first field that did not match)",
    "  ns.block (DENY)",
    "    rule 0: matched",
    "  ns.users (ALLOW)",
    "    rule 0: not matched: to[0].operation.paths",
    "    rule 1: not matched: from[0].source.requestPrincipals",
  ].join("\n"));
});

test("no ALLOW policy matched: deny-no-allow-matched", async () => {
  const x = io();
  expect(await main([...base(), "--path", "/private"], x)).toBe(0);
  expect(x.outText.join("\n")).toContain("decision:  deny-no-allow-matched principal=-");
  expect(x.outText.join("\n")).toContain("  ns.block (DENY)\n    rule 0: not matched: to[0].operation.paths\n");
});

test("the explanation names the failing field of each kind of clause, and an authn failure explains no policy", async () => {
  const file = path.join(dir, "explain.json");
  fs.writeFileSync(file, JSON.stringify({
    jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }],
    policies: [
      { name: "ns.none", action: "ALLOW" },
      { name: "ns.audit", action: "AUDIT", rules: [{ to: [{ operation: { methods: ["POST"] } }] }] },
      { name: "ns.shadow", action: "DENY", dryRun: true, rules: [{}] },
      {
        name: "ns.mixed",
        action: "ALLOW",
        rules: [
          { from: [{ source: { requestPrincipals: ["a/b"] } }, { source: { notIpBlocks: ["127.0.0.0/8"] } }] },
          { to: [{ operation: { hosts: ["other.example.com"] } }, { operation: { notMethods: ["GET"] } }] },
          { when: [{ key: "request.headers[x-tenant]", values: ["a"] }, { key: "request.auth.claims[groups][0]", notValues: ["x"] }] },
          { when: [{ key: "request.headers[x-tenant]", notValues: ["t1"] }] },
          { when: [{ key: "request.auth.claims[role]", values: ["admin"] }] },
        ],
      },
    ],
  }));
  const token = sign(key, { iss: ISS, sub: "carol", exp: nowS() + 600, role: "admin" });
  const x = io();
  expect(await main(["check", "--config", file, "--wasm", WASM, "--json", "--token", token, "--source-ip", "10.1.2.3", "--header", "x-tenant: t1"], x)).toBe(0);
  const r = JSON.parse(x.outText[0]);
  expect(r.verdict).toBe("allowed");
  expect(r.decision).toMatch(/^allow policy=ns.mixed rule=4 /);
  expect(r.policies).toEqual([
    { name: "ns.none", action: "ALLOW", rules: [] },
    { name: "ns.audit", action: "AUDIT", rules: [{ rule: 0, matched: false, why: "to[0].operation.methods" }] },
    { name: "ns.shadow", action: "DENY(dry-run)", rules: [{ rule: 0, matched: true, why: "" }] },
    {
      name: "ns.mixed",
      action: "ALLOW",
      rules: [
        { rule: 0, matched: false, why: "from[0].source.requestPrincipals|from[1].source.notIpBlocks" },
        { rule: 1, matched: false, why: "to[0].operation.hosts|to[1].operation.notMethods" },
        { rule: 2, matched: false, why: "when[0](request.headers[x-tenant]).values" },
        { rule: 3, matched: false, why: "when[0](request.headers[x-tenant]).notValues" },
        { rule: 4, matched: true, why: "" },
      ],
    },
  ]);

  const expired = sign(key, { iss: ISS, sub: "carol", exp: nowS() - 600 });
  const y = io();
  expect(await main(["check", "--config", file, "--wasm", WASM, "--json", "--token", expired], y)).toBe(0);
  expect(JSON.parse(y.outText[0])).toMatchObject({ status: 401, policies: [] });
});

test("an authn failure (expired token) gives the status string, and the claims are shown unverified", async () => {
  const token = sign(key, { iss: ISS, sub: "alice", exp: nowS() - 600 });
  const x = io();
  expect(await main([...base(), "--token", token], x)).toBe(0);
  const out = x.outText.join("\n");
  expect(out).toContain("verdict:   denied");
  expect(out).toContain("status:    401");
  expect(out).toContain("body:      Jwt is expired");
  expect(out).toContain(`decision:  authn-failed status="Jwt is expired" issuer=${ISS}`);
  expect(out).toContain("claims:    (claims as sent; the filter verified: no)");
});

test("--json prints one object with the same fields", async () => {
  const token = sign(key, { iss: ISS, sub: "bob", exp: nowS() + 600 });
  const x = io();
  expect(await main([...base(), "--json", "--token", token, "--source-ip", "10.1.2.3"], x)).toBe(0);
  expect(x.outText).toHaveLength(1);
  const r = JSON.parse(x.outText[0]);
  expect(Object.keys(r).sort()).toEqual(["claims", "claimsVerified", "decision", "forwarded", "policies", "principal", "status", "verdict"]);
  expect(r).toMatchObject({ verdict: "allowed", status: 200, principal: `${ISS}/bob`, claimsVerified: true, claims: { sub: "bob" } });
  expect(r.forwarded.method).toBe("GET");
  expect(r.forwarded.path).toBe("/");
  expect(r.forwarded.headers.authorization).toBe("Bearer eyJ…");
  expect(r.forwarded.headers["x-forwarded-for"]).toContain("10.1.2.3");

  const y = io();
  expect(await main([...base(), "--json", "--path", "/admin/x"], y)).toBe(0);
  const d = JSON.parse(y.outText[0]);
  expect(d).toEqual({
    verdict: "denied", status: 403, body: "RBAC: access denied", decision: "deny policy=ns.block rule=0 principal=-", principal: "-", claims: null, claimsVerified: false,
    policies: [
      { name: "ns.block", action: "DENY", rules: [{ rule: 0, matched: true, why: "" }] },
      { name: "ns.users", action: "ALLOW", rules: [{ rule: 0, matched: false, why: "to[0].operation.paths" }, { rule: 1, matched: false, why: "from[0].source.requestPrincipals" }] },
    ],
  });
});

test("--istio with a remote key set fetched through --cluster, as serve", async () => {
  const jwks = await startJwksServer({ kind: "ok", body: jwksOf(key) });
  try {
    const walkthrough = path.join(__dirname, "..", "..", "envoy", "istio", "jwt-walkthrough.yaml");
    const who = "testing@secure.istio.io";
    const token = sign(key, { iss: who, sub: who, exp: nowS() + 600 });
    const args = ["check", "--istio", walkthrough, "--selector", "app=frontend", "--wasm", WASM, "--cluster", `outbound|443||raw.githubusercontent.com=${jwks.url}`, "--json"];
    const x = io();
    expect(await main([...args, "--token", token], x)).toBe(0);
    const r = JSON.parse(x.outText[0]);
    expect(r).toMatchObject({ verdict: "allowed", status: 200, principal: `${who}/${who}`, claimsVerified: true });
    expect(r.decision).toMatch(/^allow policy=\S*require-jwt rule=0 principal=/);
    expect(jwks.hits).toBeGreaterThan(0);

    const y = io();
    expect(await main(args, y)).toBe(0);
    expect(JSON.parse(y.outText[0])).toMatchObject({ verdict: "denied", status: 403, decision: "deny-no-allow-matched principal=-" });
  } finally {
    await jwks.close();
  }
});

test.each([
  [["check"], "jwt-authn-wasm: --config FILE is required (try --help)"],
  [["check", "--config", "C", "--bogus"], "jwt-authn-wasm: unknown option --bogus (try --help)"],
  [["check", "--config", "C", "--header", "nocolon"], 'jwt-authn-wasm: --header must be NAME:VALUE, got "nocolon" (try --help)'],
  [["check", "--config", "C", "--path", "x"], 'jwt-authn-wasm: --path must start with /, got "x" (try --help)'],
  [["check", "--config", "C", "--source-ip", "nope"], 'jwt-authn-wasm: --source-ip must be an IP address, got "nope" (try --help)'],
  [["check", "--config", "C", "--cluster", "x"], 'jwt-authn-wasm: --cluster must be NAME=URL, got "x" (try --help)'],
  [["check", "--config", "C", "--upstream", "http://x"], "jwt-authn-wasm: unknown option --upstream (try --help)"],
])("usage error %j exits 2", async (argv, message) => {
  const x = io();
  expect(await main(argv.map((a) => (a === "C" ? config : a)), x)).toBe(2);
  expect(x.errText).toEqual([message]);
  expect(x.outText).toEqual([]);
});

test("serve --debug-headers sets debugHeaders in the configuration", async () => {
  const { serveOptionsFromArgs } = await import("../../host/cli");
  // Without --debug-headers (or --config-json) a --config file is passed as its bytes.
  const text = (c: string | Uint8Array): string => (typeof c === "string" ? c : Buffer.from(c).toString("utf8"));
  const o = serveOptionsFromArgs(["--config", config, "--upstream", "http://127.0.0.1:1", "--debug-headers"], {});
  expect(JSON.parse(text(o.configuration)).debugHeaders).toBe(true);
  const plain = serveOptionsFromArgs(["--config", config, "--upstream", "http://127.0.0.1:1"], {});
  expect(JSON.parse(text(plain.configuration)).debugHeaders).toBeUndefined();
  const walkthrough = path.join(__dirname, "..", "..", "envoy", "istio", "jwt-walkthrough.yaml");
  const viaIstio = serveOptionsFromArgs(["--istio", walkthrough, "--selector", "app=frontend", "--upstream", "http://127.0.0.1:1", "--debug-headers"], {});
  expect(JSON.parse(text(viaIstio.configuration))).toMatchObject({ debugHeaders: true, jwtRules: [{ issuer: "testing@secure.istio.io" }] });
});
