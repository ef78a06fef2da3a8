// Istio's JWT walkthrough, reproduced: the two YAML resources kept in envoy/istio/, translated into the
// plugin configuration, Istio's public sample JWKS served by a local JWKS server under the cluster name
// Istio would give raw.githubusercontent.com, and the three curl calls with their exact answers.
import * as fs from "fs";
import * as path from "path";
import { startBackend, startJwksServer, request, Backend, JwksServer } from "../helpers/servers";
import { startGateway, TestGateway } from "../helpers/gateway";
import { makeRsaKey, sign, nowS } from "../helpers/tokens";
import { translateIstio } from "../../host/istio/translate";

const ROOT = path.resolve(__dirname, "..", "..");
const SAMPLES = path.join(ROOT, "tests", "vectors", "istio", "samples");

let backend: Backend;
let jwks: JwksServer;
let gw: TestGateway;
const demoJwt = fs.readFileSync(path.join(SAMPLES, "demo.jwt"), "utf8").trim();

beforeAll(async () => {
  backend = await startBackend();
  jwks = await startJwksServer({ kind: "ok", body: fs.readFileSync(path.join(SAMPLES, "jwks.json"), "utf8") });
  const config = translateIstio(fs.readFileSync(path.join(ROOT, "envoy", "istio", "jwt-walkthrough.yaml"), "utf8"));
  gw = await startGateway(config, backend.url, { clusters: { "outbound|443||raw.githubusercontent.com": jwks.url } });
});
afterAll(async () => {
  await gw.close();
  await jwks.close();
  await backend.close();
});

test("the translation keeps the resources' fields", () => {
  const config = translateIstio(fs.readFileSync(path.join(ROOT, "envoy", "istio", "jwt-walkthrough.yaml"), "utf8"));
  expect(config).toEqual({
    jwtRules: [{ issuer: "testing@secure.istio.io", jwksUri: "https://raw.githubusercontent.com/istio/istio/release-1.5/security/tools/jwt/samples/jwks.json" }],
    policies: [{ name: "require-jwt", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"] } }] }] }],
  });
});

test("curl $GW/ → 403 RBAC: access denied", async () => {
  const r = await request(gw.url + "/");
  expect(r.status).toBe(403);
  expect(r.body).toBe("RBAC: access denied");
});

test("a token from another issuer → 401 Jwt issuer is not configured", async () => {
  const other = sign(makeRsaKey("other"), { iss: "other-issuer@example.com", sub: "mallory", exp: nowS() + 3600 });
  const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${other}` } });
  expect(r.status).toBe(401);
  expect(r.body).toBe("Jwt issuer is not configured");
  expect(r.headers["www-authenticate"]).toBe(`Bearer realm="http://${new URL(gw.url).host}/", error="invalid_token"`);
});

test("Istio's demo.jwt → 200 Hello World! /", async () => {
  const r = await request(gw.url + "/", { headers: { authorization: `Bearer ${demoJwt}` } });
  expect(r.status).toBe(200);
  expect(r.body).toBe("Hello World! /");
});

test("the JWKS was fetched from the local server, once for all worker VMs", () => {
  expect(jwks.hits).toBe(1);
});
