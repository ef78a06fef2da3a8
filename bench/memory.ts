// Memory under a million distinct tokens (issue 10): one VM (the in-process driver, as in direct.ts),
// default token cache (1,000 entries, 1 MiB), HS256 tokens signed here, each distinct and valid, so every
// request is a cache miss that verifies and then fills or churns the cache. Prints the VM's linear memory
// at checkpoints: it must stop growing once the cache is full (the bound is the configured cache bytes
// plus a fixed overhead: the configuration, the runtime, and the garbage collector's headroom).
import path from "node:path";
import { createHmac, randomBytes } from "node:crypto";
import { DirectFilter, type Headers } from "./direct";

export function runMemoryBench(wasm = path.resolve(__dirname, "..", "..", "jwt_authn.wasm"), total = Number(process.env.BENCH_MEMORY_TOKENS ?? 1_000_000)): string[] {
  const secret = randomBytes(32);
  const b64u = (x: string | Buffer) => Buffer.from(x).toString("base64url");
  const header = b64u(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "m" }));
  const f = new DirectFilter(wasm, JSON.stringify({
    jwtRules: [{ issuer: "https://issuer.example.com", jwks: JSON.stringify({ keys: [{ kty: "oct", kid: "m", alg: "HS256", k: b64u(secret) }] }) }],
    policies: [{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }],
  }));
  const exp = Math.floor(Date.now() / 1000) + 86400;
  const base: Headers = [[":authority", "gw.example.com"], [":path", "/api/things"], [":method", "GET"], [":scheme", "http"]];
  const before = f.memoryBytes();
  const checkpoints = [1_000, 10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000].filter((c) => c <= total);
  if (checkpoints[checkpoints.length - 1] !== total) checkpoints.push(total);
  const seen: Array<[number, number]> = [];
  const t0 = performance.now();
  let next = 0;
  for (let i = 1; i <= total; i++) {
    const input = `${header}.${b64u(JSON.stringify({ iss: "https://issuer.example.com", sub: `user-${i}`, exp, n: i }))}`;
    const token = `${input}.${b64u(createHmac("sha256", secret).update(input).digest())}`;
    const status = f.request([...base, ["authorization", `Bearer ${token}`]]);
    if (status !== 200) throw new Error(`memory bench: token ${i} answered ${status}`);
    if (i === checkpoints[next]) {
      seen.push([i, f.memoryBytes()]);
      next++;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const afterFull = seen.filter(([n]) => n >= 10_000).map(([, b]) => b);
  const grewAfterFull = afterFull.length > 1 ? afterFull[afterFull.length - 1] - afterFull[0] : 0;
  const lines = [
    `memory: ${total.toLocaleString("en-US")} distinct valid HS256 tokens through one VM (cache 1,000 entries / 1 MiB), ${seconds.toFixed(1)} s`,
    `  linear memory after configure                  ${kib(before).padStart(10)}`,
    ...seen.map(([n, b]) => `  after ${n.toLocaleString("en-US").padStart(9)} tokens                      ${kib(b).padStart(10)}`),
    `  growth from 10,000 tokens (cache full) to the end: ${kib(grewAfterFull)} (${grewAfterFull === 0 ? "flat" : "GROWING"})`,
  ];
  for (const l of lines) console.log(l);
  return lines;
}
