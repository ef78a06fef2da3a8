// The command line, through its exported main(argv, io): help, usage errors (exit 2), a start
// failure (exit 1) and a real serve that answers one request.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { main, serveOptionsFromArgs, USAGE, type CliIo } from "../../host/cli";
import { Data, fixture, get, RawConnection, startUpstream } from "./harness";

function io(env: Record<string, string> = {}, untilShutdown?: CliIo["untilShutdown"]): CliIo & { outText: string[]; errText: string[] } {
  const outText: string[] = [];
  const errText: string[] = [];
  return { out: (t) => outText.push(t), err: (t) => errText.push(t), env, untilShutdown, outText, errText };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-cli-"));
  fs.writeFileSync(path.join(dir, "config.json"), '{"providers":{}}');
  fs.writeFileSync(path.join(dir, "bad.json"), "{nope");
  fs.writeFileSync(path.join(dir, "not.wasm"), "not a module");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the source starts with a node shebang", () => {
  expect(fs.readFileSync(path.join(__dirname, "../../host/cli.ts"), "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
});

test("--help prints the usage and exits 0", async () => {
  const x = io();
  expect(await main(["--help"], x)).toBe(0);
  expect(x.outText).toEqual([USAGE]);
  expect(await main(["serve", "-h"], io())).toBe(0);
});

test.each([
  [[], null],
  [["frob"], 'jwt-authn-wasm: unknown command "frob" (try --help)'],
  [["serve", "--bogus", "1"], "jwt-authn-wasm: unknown option --bogus (try --help)"],
  [["serve", "--upstream", "http://127.0.0.1:1"], "jwt-authn-wasm: --config FILE is required (try --help)"],
  [["serve", "--config"], "jwt-authn-wasm: option --config needs a value (try --help)"],
  [["serve", "--config", "C", "--port", "abc", "--upstream", "http://x"], 'jwt-authn-wasm: --port must be an integer from 0 to 65535, got "abc" (try --help)'],
  [["serve", "--config", "C", "--upstream", "http://x", "--workers", "0"], "jwt-authn-wasm: --workers must be an integer from 1 to 256, got 0 (try --help)"],
  [["serve", "--config", "C", "--upstream", "http://x", "--log-level", "loud"], 'jwt-authn-wasm: --log-level must be trace, debug, info, warn, error or critical, got "loud" (try --help)'],
  [["serve", "--config", "C", "--upstream", "http://x", "--cluster", "noequals"], 'jwt-authn-wasm: --cluster must be NAME=URL, got "noequals" (try --help)'],
  [["serve", "--config", "C", "--upstream", "http://x", "--fail-open=yes"], "jwt-authn-wasm: option --fail-open takes no value (try --help)"],
  [
    ["serve", "--config", "C", "--upstream", "http://x", "--max-request-headers-count", "0"],
    "jwt-authn-wasm: --max-request-headers-count must be an integer from 1 to 4294967295, got 0 (try --help)",
  ],
  [["serve", "--config", "BAD", "--config-json", "--upstream", "http://x"], "BADJSON"],
  [["serve", "--config", "BAD", "--debug-headers", "--upstream", "http://x"], "BADJSON"],
])("usage error %j exits 2", async (argv, message) => {
  const args = (argv as string[]).map((a) => (a === "C" ? path.join(dir, "config.json") : a === "BAD" ? path.join(dir, "bad.json") : a));
  const x = io();
  expect(await main(args, x)).toBe(2);
  if (message === null) expect(x.errText).toEqual([USAGE]);
  else if (message === "BADJSON") expect(x.errText[0]).toMatch(/^jwt-authn-wasm: --config .*bad\.json is not valid JSON: /);
  else expect(x.errText).toEqual([message]);
});

test("--max-request-headers-count sets maxRequestHeadersCount (unset: serve's default, Envoy's 100)", () => {
  const base = ["--config", path.join(dir, "config.json"), "--upstream", "http://127.0.0.1:1"];
  expect(serveOptionsFromArgs([...base, "--max-request-headers-count", "500"], {}).maxRequestHeadersCount).toBe(500);
  expect(serveOptionsFromArgs([...base, "--max-request-headers-count=7"], {}).maxRequestHeadersCount).toBe(7);
  expect(serveOptionsFromArgs(base, {}).maxRequestHeadersCount).toBeUndefined();
});

test("a module the host refuses exits 1 with the HostError code", async () => {
  const x = io({ PORT: "0" });
  const code = await main(["serve", "--config", path.join(dir, "config.json"), "--upstream", "http://127.0.0.1:1", "--wasm", path.join(dir, "not.wasm")], x);
  expect(code).toBe(1);
  expect(x.errText).toEqual(["jwt-authn-wasm: HOST_ERR_MODULE_PARSE: Failed to parse corrupted Wasm module: missing the \\0asm magic number"]);
});

test("serve runs the module until shutdown (PORT from the environment)", async () => {
  const d = new Data();
  const wasmFile = path.join(dir, "pass.wasm");
  fs.writeFileSync(wasmFile, await fixture(d, ""));
  const up = await startUpstream();
  let status = 0;
  const x = io({ PORT: "0" }, async (gw) => {
    const c = await RawConnection.open(gw.port);
    status = (await c.request(get("/via-cli", gw.port))).status;
    c.close();
  });
  const code = await main(
    ["serve", "--config", path.join(dir, "config.json"), "--upstream", up.url, "--wasm", wasmFile, "--workers", "1", "--cluster", `jwks=${up.url}`, "--root-id", "r", "--access-log"],
    x,
  );
  expect(code).toBe(0);
  expect(status).toBe(200);
  expect(x.outText[0]).toMatch(new RegExp(`^jwt-authn-wasm: listening on http://127\\.0\\.0\\.1:\\d+ \\(1 workers, upstream ${up.url.replace(/\./g, "\\.")}\\)$`));
  expect(x.errText.some((l) => /"GET \/via-cli HTTP\/1\.1" 200 via_upstream \d+ms$/.test(l))).toBe(true);
  await up.close();
});
