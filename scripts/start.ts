// `npm start`: Istio's JWT walkthrough on this machine. Builds the filter if needed, then starts on
// 127.0.0.1 a backend ("Hello World! <path>"), a JWKS server with Istio's public sample key set, and the
// gateway (the compiled filter in the local proxy-wasm host) on port 8080 (PORT overrides), configured from
// the walkthrough's two YAML resources in envoy/istio/, with an Envoy-style admin listener on 9901
// (ADMIN_PORT overrides; any free port when taken). It prints the curl commands to try.
import * as fs from "fs";
import * as path from "path";
import * as http from "http";
import * as crypto from "crypto";
import { AddressInfo } from "net";
import { ROOT, buildWasm, wasmIsStale } from "./build-wasm";
import { HostError, serve, type Gateway, type ServeOptions } from "../host/index";
import { translateIstio } from "../host/istio/translate";

const SAMPLES = path.join(ROOT, "envoy", "istio", "samples");
const JWKS_CLUSTER = "outbound|443||raw.githubusercontent.com";

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

const portOf = (s: http.Server) => (s.address() as AddressInfo).port;
const b64u = (x: string | Buffer) => Buffer.from(x).toString("base64url");

/** A token from an issuer the gateway does not know, signed with a key made now. */
function otherIssuerToken(): string {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const input = `${b64u(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64u(JSON.stringify({
    iss: "other-issuer@example.com", sub: "mallory", exp: Math.floor(Date.now() / 1000) + 24 * 3600,
  }))}`;
  return `${input}.${b64u(crypto.sign("sha256", Buffer.from(input), privateKey))}`;
}

async function main(): Promise<void> {
  if (wasmIsStale()) {
    console.log("building the filter (assembly/ -> build/jwt_authn.wasm)...");
    buildWasm();
  }
  const backend = await listen((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`Hello World! ${req.url}`);
  });
  const jwksBody = fs.readFileSync(path.join(SAMPLES, "jwks.json"));
  const jwks = await listen((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(jwksBody);
  });
  const config = translateIstio(fs.readFileSync(path.join(ROOT, "envoy", "istio", "jwt-walkthrough.yaml"), "utf8"));
  const port = process.env.PORT ? Number(process.env.PORT) : 8080;
  const adminPort = process.env.ADMIN_PORT ? Number(process.env.ADMIN_PORT) : 9901;
  const options: ServeOptions = {
    wasm: path.join(ROOT, "build", "jwt_authn.wasm"),
    configuration: JSON.stringify(config),
    upstream: `http://127.0.0.1:${portOf(backend)}`,
    clusters: { [JWKS_CLUSTER]: `http://127.0.0.1:${portOf(jwks)}` },
    port,
    workers: 2,
    adminPort,
  };
  let gw: Gateway;
  try {
    gw = await serve(options);
  } catch (e) {
    // The admin port is taken (another Envoy?): any free one will do for the demo.
    if (!(e instanceof HostError && e.code === "HOST_ERR_ADMIN_LISTEN")) throw e;
    gw = await serve({ ...options, adminPort: 0 });
  }
  const gwUrl = `http://127.0.0.1:${gw.port}`;
  const token = fs.readFileSync(path.join(SAMPLES, "demo.jwt"), "utf8").trim();
  console.log(`
jwt-authn-wasm demo: Istio's JWT walkthrough (envoy/istio/jwt-walkthrough.yaml)
  gateway  ${gwUrl}   build/jwt_authn.wasm in the local proxy-wasm host, 2 worker VMs
  backend  http://127.0.0.1:${portOf(backend)}   answers "Hello World! <path>"
  JWKS     http://127.0.0.1:${portOf(jwks)}   Istio's sample key set, reached as cluster ${JWKS_CLUSTER}
  admin    ${gw.adminUrl}   Envoy-style /stats, /stats/prometheus, /ready

Try, in another shell:

  export GW=${gwUrl}
  export ADMIN=${gw.adminUrl}
  export TOKEN=${token}
  export TOKEN_FROM_OTHER_ISSUER=${otherIssuerToken()}

  curl $GW/                                                     # 403  RBAC: access denied
  curl -H "Authorization: Bearer $TOKEN_FROM_OTHER_ISSUER" $GW/  # 401  Jwt issuer is not configured
  curl -H "Authorization: Bearer $TOKEN" $GW/                    # 200  Hello World! /
  curl $ADMIN/stats/prometheus                                  # the filter's counters, as Envoy exports them

Ctrl-C stops it.
`);
  const stop = async () => {
    await gw.close();
    backend.close();
    jwks.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((e: unknown) => {
  console.error(`npm start failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
