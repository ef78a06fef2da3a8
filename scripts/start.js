#!/usr/bin/env node
// `npm start`: the Istio JWT walkthrough on this machine. Builds if needed, then starts on 127.0.0.1 a
// backend ("Hello World! <path>"), a JWKS server with Istio's public sample key set, and the gateway
// (the compiled filter in the local proxy-wasm host) on port 8080 (PORT overrides), configured from the
// walkthrough's two YAML resources in envoy/istio/. It prints the three curl commands to try.
"use strict";
const fs = require("fs");
const path = require("path");
const http = require("http");
const crypto = require("crypto");
const { execSync } = require("child_process");

const root = path.resolve(__dirname, "..");
const need = [path.join(root, "build", "jwt_authn.wasm"), path.join(root, "build", "js", "host", "index.js")];
if (need.some((f) => !fs.existsSync(f))) {
  console.log("building (npm run build)...");
  execSync("npm run build", { cwd: root, stdio: "inherit" });
}

const { serve } = require(path.join(root, "build", "js", "host", "index.js"));
const { translateIstio } = require(path.join(root, "build", "js", "host", "istio", "translate.js"));

const samples = path.join(root, "envoy", "istio", "samples");
const JWKS_URI_CLUSTER = "outbound|443||raw.githubusercontent.com";

function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

function b64u(x) {
  return Buffer.from(x).toString("base64url");
}

/** A token from an issuer the gateway does not know, signed with a key made now. */
function otherIssuerToken() {
  const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const input = `${b64u(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64u(JSON.stringify({
    iss: "other-issuer@example.com", sub: "mallory", exp: Math.floor(Date.now() / 1000) + 24 * 3600,
  }))}`;
  return `${input}.${b64u(crypto.sign("sha256", Buffer.from(input), privateKey))}`;
}

async function main() {
  const backend = await listen((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`Hello World! ${req.url}`);
  });
  const jwksBody = fs.readFileSync(path.join(samples, "jwks.json"));
  const jwks = await listen((req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(jwksBody);
  });
  const config = translateIstio(fs.readFileSync(path.join(root, "envoy", "istio", "jwt-walkthrough.yaml"), "utf8"));
  const port = process.env.PORT ? Number(process.env.PORT) : 8080;
  const gw = await serve({
    wasm: path.join(root, "build", "jwt_authn.wasm"),
    configuration: JSON.stringify(config),
    upstream: `http://127.0.0.1:${backend.address().port}`,
    clusters: { [JWKS_URI_CLUSTER]: `http://127.0.0.1:${jwks.address().port}` },
    port,
    workers: 2,
  });
  const gwUrl = `http://127.0.0.1:${gw.port}`;
  const token = fs.readFileSync(path.join(samples, "demo.jwt"), "utf8").trim();
  const other = otherIssuerToken();
  console.log(`
jwt-authn-wasm demo: Istio's JWT walkthrough (envoy/istio/jwt-walkthrough.yaml)
  gateway  ${gwUrl}   (build/jwt_authn.wasm in the local proxy-wasm host, 2 worker VMs)
  backend  http://127.0.0.1:${backend.address().port}   answers "Hello World! <path>"
  JWKS     http://127.0.0.1:${jwks.address().port}   Istio's sample key set, as cluster ${JWKS_URI_CLUSTER}

Try, in another shell:

  export GW=${gwUrl}
  export TOKEN=${token}
  export TOKEN_FROM_OTHER_ISSUER=${other}

  curl $GW/                                                     # 403  RBAC: access denied
  curl -H "Authorization: Bearer $TOKEN_FROM_OTHER_ISSUER" $GW/  # 401  Jwt issuer is not configured
  curl -H "Authorization: Bearer $TOKEN" $GW/                    # 200  Hello World! /

Ctrl-C stops it.
`);
  const stop = async () => {
    await gw.close();
    backend.close();
    jwks.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e) => {
  console.error(`npm start failed: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
