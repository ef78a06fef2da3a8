// The deployment files in envoy/: they parse, the plugin configuration each embeds is accepted by the
// filter in the host and answers the walkthrough's requests, and the cluster names line up.
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";
import { startBackend, startJwksServer, request, Backend, JwksServer } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { translateIstio } from "../../host/istio/translate";

const ROOT = path.resolve(__dirname, "..", "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const demoJwt = fs.readFileSync(path.join(ROOT, "tests", "vectors", "istio", "samples", "demo.jwt"), "utf8").trim();

let backend: Backend;
let jwks: JwksServer;
beforeAll(async () => {
  backend = await startBackend();
  jwks = await startJwksServer({ kind: "ok", body: fs.readFileSync(path.join(ROOT, "tests", "vectors", "istio", "samples", "jwks.json"), "utf8") });
});
afterAll(async () => {
  await jwks.close();
  await backend.close();
});

function envoyBootstrap() {
  const doc = parse(read("envoy/envoy.yaml"));
  const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const filters = hcm.http_filters;
  const wasm = filters.find((f: any) => f.name === "envoy.filters.http.wasm").typed_config.config;
  const clusters: string[] = doc.static_resources.clusters.map((c: any) => c.name);
  return { doc, hcm, filters, wasm, clusters };
}

async function expectWalkthrough(configuration: string, clusters: Record<string, string>) {
  const g = await startGateway(configuration, backend.url, { clusters, workers: 1 });
  try {
    expect((await request(g.url + "/")).status).toBe(403);
    const ok = await request(g.url + "/", { headers: { authorization: `Bearer ${demoJwt}` } });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe("Hello World! /");
  } finally {
    await g.close();
  }
}

test("envoy.yaml: the wasm filter runs before the router with the V8 runtime and the built module", () => {
  const { filters, wasm, hcm } = envoyBootstrap();
  expect(filters.map((f: any) => f.name)).toEqual(["envoy.filters.http.wasm", "envoy.filters.http.router"]);
  expect(wasm.vm_config.runtime).toBe("envoy.wasm.runtime.v8");
  expect(wasm.vm_config.code.local.filename).toBe("/etc/envoy/jwt_authn.wasm");
  expect(wasm.configuration["@type"]).toBe("type.googleapis.com/google.protobuf.StringValue");
  expect(hcm.route_config.virtual_hosts[0].routes[0].route.cluster).toBe("backend");
});

test("envoy.yaml: every cluster the configuration names exists, and the filter accepts the configuration", async () => {
  const { wasm, clusters } = envoyBootstrap();
  const config = JSON.parse(wasm.configuration.value);
  expect(clusters).toContain("backend");
  for (const r of config.jwtRules) expect(clusters).toContain(r.jwksCluster);
  await expectWalkthrough(wasm.configuration.value, { [config.jwtRules[0].jwksCluster]: jwks.url });
});

test("docker-compose.yaml mounts the bootstrap and the built module", () => {
  const dc = parse(read("envoy/docker-compose.yaml"));
  const vols: string[] = dc.services.envoy.volumes;
  expect(vols).toContain("./envoy.yaml:/etc/envoy/envoy.yaml:ro");
  expect(vols).toContain("../build/jwt_authn.wasm:/etc/envoy/jwt_authn.wasm:ro");
  const { doc } = envoyBootstrap();
  const backendAddr = doc.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
  expect(Object.keys(dc.services)).toContain(backendAddr.address);
  expect(dc.services.backend.command.join(" ")).toContain(`listen(${backendAddr.port_value})`);
});

test("wasmplugin.yaml: AUTHN phase on app: frontend, the walkthrough's configuration, its JWKS cluster created", async () => {
  const docs = parseAllDocuments(read("envoy/istio/wasmplugin.yaml")).map((d) => d.toJS());
  const wp = docs.find((d) => d.kind === "WasmPlugin");
  expect(wp.spec.phase).toBe("AUTHN");
  expect(wp.spec.selector.matchLabels).toEqual({ app: "frontend" });
  const translated = translateIstio(read("envoy/istio/jwt-walkthrough.yaml"));
  expect(wp.spec.pluginConfig.jwtRules[0].issuer).toBe(translated.jwtRules[0].issuer);
  expect(wp.spec.pluginConfig.jwtRules[0].jwksUri).toBe(translated.jwtRules[0].jwksUri);
  expect(wp.spec.pluginConfig.policies).toEqual(translated.policies);
  // Istio names the ServiceEntry's cluster outbound|<port>||<host>.
  const se = docs.find((d) => d.kind === "ServiceEntry");
  const cluster = `outbound|${se.spec.ports[0].number}||${se.spec.hosts[0]}`;
  expect(wp.spec.pluginConfig.jwtRules[0].jwksCluster).toBe(cluster);
  // Envoy hands a Struct pluginConfig to the module as JSON text.
  await expectWalkthrough(JSON.stringify(wp.spec.pluginConfig), { [cluster]: jwks.url });
});

test("the envoy.yaml and WasmPlugin configurations are the same", () => {
  const { wasm } = envoyBootstrap();
  const wp = parseAllDocuments(read("envoy/istio/wasmplugin.yaml")).map((d) => d.toJS()).find((d) => d.kind === "WasmPlugin");
  expect(JSON.parse(wasm.configuration.value)).toEqual(wp.spec.pluginConfig);
});
