// Memory: after 50,000 requests through the filter (valid tokens, failures and anonymous requests mixed),
// each worker VM's linear memory has stopped growing. Prints the figures.
import * as http from "http";
import { startBackend, Backend } from "../helpers/servers";
import { startGateway } from "../helpers/gateway";
import { makeRsaKey, jwksOf, sign, nowS } from "../helpers/tokens";

function send(agent: http.Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

test("50,000 requests: wasm memory of every VM stops growing", async () => {
  const key = makeRsaKey("m");
  const g = await startGateway({
    jwtRules: [{ issuer: "m", jwks: jwksOf(key), outputPayloadToHeader: "x-payload" }],
    policies: [{ name: "p", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }],
  }, backend.url);
  const tokens = Array.from({ length: 50 }, (_, i) => sign(key, { iss: "m", sub: `user-${i}`, exp: nowS() + 3600, pad: "x".repeat(i * 20) }));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const TOTAL = 50000;
  const checkpoints = [10000, 20000, 30000, 40000, 50000];
  const figures: number[][] = [];
  const statuses: Record<number, number> = {};
  let sent = 0;
  for (const cp of checkpoints) {
    const batch: Promise<void>[] = [];
    const worker = async () => {
      while (sent < cp) {
        const i = sent++;
        const kind = i % 10;
        const headers: Record<string, string> =
          kind < 7 ? { authorization: `Bearer ${tokens[i % tokens.length]}` } :
          kind < 9 ? { authorization: `Bearer ${tokens[i % tokens.length].slice(0, -3)}xyz` } : {};
        const s = await send(agent, `${g.url}/m/${i}`, headers);
        statuses[s] = (statuses[s] ?? 0) + 1;
      }
    };
    for (let w = 0; w < 8; w++) batch.push(worker());
    await Promise.all(batch);
    figures.push(g.gw.workers.map((w) => w.memoryBytes()));
  }
  agent.destroy();
  expect(g.gw.workers.every((w) => !w.failed)).toBe(true);
  await g.close();
  console.log(`memory per VM (bytes) after ${checkpoints.join("/")} requests: ${JSON.stringify(figures)}; answers ${JSON.stringify(statuses)}`);
  expect(statuses[200]).toBe(TOTAL * 0.7);
  expect(statuses[401]).toBe(TOTAL * 0.2);
  expect(statuses[403]).toBe(TOTAL * 0.1);
  // Growth stops: the last three checkpoints (30k, 40k, 50k requests) show the same size for every VM.
  expect(figures[4]).toEqual(figures[2]);
}, 300000);
