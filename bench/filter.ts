/**
 * Whole-request benchmark: the compiled filter (build/jwt_authn.wasm) in the local host with one worker,
 * one keep-alive client, sequential requests to a local backend. Compares a request carrying a valid RS256
 * token (extraction, parse, claims, signature, header edits, policy, with every ABI call) with a request
 * carrying none, and a plain request to the backend without the gateway. Numbers for humans; no asserts.
 */
import * as http from "http";
import * as path from "path";
import { AddressInfo } from "net";
import { generateKeyPairSync, sign } from "crypto";
import { serve } from "../host/index";

function get(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function timeRequests(agent: http.Agent, url: string, headers: Record<string, string>, n: number, expect: number): Promise<number> {
  for (let i = 0; i < 200; i++) await get(agent, url, headers);
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = await get(agent, url, headers);
      if (s !== expect) throw new Error(`unexpected status ${s}`);
    }
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[2];
}

export async function runFilterBench(options: { requests?: number } = {}): Promise<string[]> {
  const n = options.requests ?? 1000;
  const backend = http.createServer((req, res) => {
    req.resume();
    res.end("ok");
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
  const upstream = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...(publicKey.export({ format: "jwk" }) as object), kid: "bench" };
  const b64u = (x: string | Buffer) => Buffer.from(x).toString("base64url");
  const input = `${b64u(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "bench" }))}.${b64u(JSON.stringify({
    iss: "https://issuer.example.com", sub: "user-1", aud: "api", exp: Math.floor(Date.now() / 1000) + 86400,
  }))}`;
  const token = `${input}.${b64u(sign("sha256", Buffer.from(input), privateKey))}`;
  const gw = await serve({
    wasm: path.resolve(__dirname, "..", "..", "jwt_authn.wasm"),
    configuration: JSON.stringify({
      jwtRules: [{ issuer: "https://issuer.example.com", jwks: JSON.stringify({ keys: [jwk] }), audiences: ["api"] }],
      policies: [{ name: "p", rules: [{ from: [{ source: { notRequestPrincipals: ["https://issuer.example.com/nobody"] } }] }] }],
    }),
    upstream,
    port: 0,
    workers: 1,
    logLevel: "warn",
    log: () => undefined,
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const direct = await timeRequests(agent, upstream + "/", {}, n, 200);
  const none = await timeRequests(agent, gw.url + "/", {}, n, 200);
  const withToken = await timeRequests(agent, gw.url + "/", { authorization: `Bearer ${token}` }, n, 200);
  const bad = await timeRequests(agent, gw.url + "/", { authorization: `Bearer ${token.slice(0, -4)}AAAA` }, n, 401);
  agent.destroy();
  await gw.close();
  backend.close();
  const lines = [
    `whole request through the host (1 worker, sequential keep-alive, median of 5 x ${n})`,
    `  backend alone                          ${direct.toFixed(0).padStart(6)} us/request`,
    `  gateway, no token                      ${none.toFixed(0).padStart(6)} us/request`,
    `  gateway, valid RS256-2048 token        ${withToken.toFixed(0).padStart(6)} us/request  (+${(withToken - none).toFixed(0)} us for the token)`,
    `  gateway, bad signature (401)           ${bad.toFixed(0).padStart(6)} us/request`,
  ];
  for (const l of lines) console.log(l);
  return lines;
}
