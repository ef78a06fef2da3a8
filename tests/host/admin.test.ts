// Metrics as Envoy's wasm Context (define/increment/record/get answers, negative gauge offsets) and the
// admin listener (ServeOptions.adminPort) over real HTTP: /stats in Envoy's text format, /stats/prometheus
// with Envoy's names for custom stats (the "wasmcustom." namespace stripped, no "envoy_" prefix,
// sanitized), /ready, and Envoy's 404 for anything else.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { prometheusName } from "../../host/admin";
import { main, serveOptionsFromArgs, type CliIo } from "../../host/cli";
import { Data, fixture, startGateway, startUpstream, type Upstream } from "./harness";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

const ids = { hit: 40, keys: 44, fetch: 48, unused: 52, bad: 56, dash: 60, undef: 64 };

/**
 * on_configure defines the metrics, runs a list of metric calls and logs their WasmResults as one
 * string of digits ("results 0220..."). The calls run once per process (shared flag "ran"): in the
 * configuration canary, whose metric values outlive it, as Envoy's stats scope keeps them.
 */
async function metricsModule(): Promise<Uint8Array> {
  const d = new Data({
    hit: "jwt_authn.jwt_cache_hit",
    keys: "jwt_authn.keys",
    fetch: "jwt_authn.fetch_ms",
    unused: "jwt_authn.unused_ms",
    bad: "1bad",
    dash: "my-metric",
    results: "results ",
    ran: "ran",
  });
  const id = (k: keyof typeof ids): string => `(i32.load (i32.const ${ids[k]}))`;
  const calls = [
    `(call $increment_metric ${id("hit")} (i64.const 1))`, // 0
    `(call $increment_metric ${id("hit")} (i64.const 0))`, // 2: a counter takes offset > 0 only
    `(call $increment_metric ${id("hit")} (i64.const -1))`, // 2
    `(call $increment_metric ${id("keys")} (i64.const 5))`, // 0
    `(call $increment_metric ${id("keys")} (i64.const -2))`, // 0: gauge sub
    `(call $get_metric ${id("keys")} (i32.const 16))`, // 0 (value 3, checked below)
    `(i32.sub (i32.load (i32.const 16)) (i32.const 3))`, // 0
    `(call $record_metric ${id("keys")} (i64.const 7))`, // 0: gauge set
    `(call $record_metric ${id("fetch")} (i64.const 3))`, // 0
    `(call $record_metric ${id("fetch")} (i64.const 30))`, // 0
    `(call $record_metric ${id("fetch")} (i64.const 3000))`, // 0
    `(call $increment_metric ${id("fetch")} (i64.const 1))`, // 2: histograms are recorded, not incremented
    `(call $get_metric ${id("fetch")} (i32.const 16))`, // 2
    `(call $record_metric ${id("dash")} (i64.const 5))`, // 0: a counter's record adds
    `(call $increment_metric ${id("bad")} (i64.const 1))`, // 0
    `(call $increment_metric (i32.const 400) (i64.const 1))`, // 1: unknown counter
    `(call $increment_metric (i32.const 401) (i64.const 1))`, // 1: unknown gauge
    `(call $increment_metric (i32.const 402) (i64.const 1))`, // 2: histogram type
    `(call $increment_metric (i32.const 403) (i64.const 1))`, // 2: type 3
    `(call $get_metric (i32.const 400) (i32.const 16))`, // 1
    `(call $get_metric (i32.const 402) (i32.const 16))`, // 2
    `(call $record_metric (i32.const 400) (i64.const 1))`, // 1
    `(call $record_metric (i32.const 403) (i64.const 1))`, // 1
    `(call $define_metric (i32.const 3) ${d.ref("hit")} (i32.const ${ids.undef}))`, // 2: no such type
  ];
  const base = 512;
  const steps = calls.map((c, i) => `(i32.store8 (i32.const ${base + 8 + i}) (i32.add (i32.const 48) ${c}))`).join("\n");
  return fixture(
    d,
    `(func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $define_metric (i32.const 0) ${d.ref("hit")} (i32.const ${ids.hit})))
       (drop (call $define_metric (i32.const 1) ${d.ref("keys")} (i32.const ${ids.keys})))
       (drop (call $define_metric (i32.const 2) ${d.ref("fetch")} (i32.const ${ids.fetch})))
       (drop (call $define_metric (i32.const 2) ${d.ref("unused")} (i32.const ${ids.unused})))
       (drop (call $define_metric (i32.const 0) ${d.ref("bad")} (i32.const ${ids.bad})))
       (drop (call $define_metric (i32.const 0) ${d.ref("dash")} (i32.const ${ids.dash})))
       (if (i32.eq (call $get_shared ${d.ref("ran")} (i32.const 0) (i32.const 4) (i32.const 8)) (i32.const 1)) (then
         (drop (call $set_shared ${d.ref("ran")} ${d.ref("ran")} (i32.const 0)))
         (memory.copy (i32.const ${base}) ${d.ref("results")})
         ${steps}
         (drop (call $log (i32.const 2) (i32.const ${base}) (i32.const ${8 + calls.length})))))
       (i32.const 1))`,
  );
}

const BUCKETS = ["0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "30000", "60000", "300000", "600000", "1800000", "3600000"];

test("metric calls answer as Envoy's wasm Context; /stats, /stats/prometheus and /ready over real HTTP", async () => {
  const t = await startGateway(await metricsModule(), { upstream: up.url, workers: 1, adminPort: 0 });
  expect(t.wasmLogs()).toEqual(["wasm log: results 022000000002200112212112"]);
  expect(t.gw.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const admin = t.gw.adminUrl as string;

  const stats = await fetch(`${admin}/stats`);
  expect(stats.status).toBe(200);
  expect(stats.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
  expect(await stats.text()).toBe(
    [
      "wasmcustom.1bad: 1",
      "wasmcustom.jwt_authn.jwt_cache_hit: 1",
      "wasmcustom.jwt_authn.keys: 7",
      "wasmcustom.my-metric: 5",
      "wasmcustom.jwt_authn.fetch_ms: P0(nan,3) P25(nan,16.5) P50(nan,30) P75(nan,1515) P90(nan,2406) P95(nan,2702.9999999999995)" +
        " P99(nan,2940.6) P99.5(nan,2970.3) P99.9(nan,2994.06) P100(nan,3000)",
      "wasmcustom.jwt_authn.unused_ms: No recorded values",
      "",
    ].join("\n"),
  );
  expect(await (await fetch(`${admin}/stats?usedonly&filter=jwt_authn\\.`)).text()).toBe(
    "wasmcustom.jwt_authn.jwt_cache_hit: 1\nwasmcustom.jwt_authn.keys: 7\nwasmcustom.jwt_authn.fetch_ms: P0(nan,3) P25(nan,16.5) P50(nan,30) P75(nan,1515) P90(nan,2406) P95(nan,2702.9999999999995) P99(nan,2940.6) P99.5(nan,2970.3) P99.9(nan,2994.06) P100(nan,3000)\n",
  );

  const counts = [0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3];
  const expected = [
    "# TYPE jwt_authn_jwt_cache_hit counter",
    "jwt_authn_jwt_cache_hit{} 1",
    "# TYPE my_metric counter",
    "my_metric{} 5",
    "# TYPE jwt_authn_keys gauge",
    "jwt_authn_keys{} 7",
    "# TYPE jwt_authn_fetch_ms histogram",
    ...BUCKETS.map((b, i) => `jwt_authn_fetch_ms_bucket{le="${b}"} ${counts[i]}`),
    'jwt_authn_fetch_ms_bucket{le="+Inf"} 3',
    "jwt_authn_fetch_ms_sum{} 3033",
    "jwt_authn_fetch_ms_count{} 3",
    "# TYPE jwt_authn_unused_ms histogram",
    ...BUCKETS.map((b) => `jwt_authn_unused_ms_bucket{le="${b}"} 0`),
    'jwt_authn_unused_ms_bucket{le="+Inf"} 0',
    "jwt_authn_unused_ms_sum{} 0",
    "jwt_authn_unused_ms_count{} 0",
    "",
  ].join("\n");
  const prom = await fetch(`${admin}/stats/prometheus`);
  expect(prom.status).toBe(200);
  expect(prom.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
  expect(await prom.text()).toBe(expected); // "1bad" is dropped: a custom name may not start with a digit
  expect(await (await fetch(`${admin}/stats?format=prometheus`)).text()).toBe(expected);

  const ready = await fetch(`${admin}/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.text()).toBe("LIVE\n");

  const missing = await fetch(`${admin}/clusters`);
  expect(missing.status).toBe(404);
  expect(await missing.text()).toMatch(/^invalid path\. admin commands are:\n {2}\/help: /);
  expect((await fetch(`${admin}/stats?format=blah`)).status).toBe(404);

  expect(t.gw.stats()).toEqual([
    { name: "wasmcustom.jwt_authn.jwt_cache_hit", type: "counter", value: 1 },
    { name: "wasmcustom.jwt_authn.keys", type: "gauge", value: 7 },
    { name: "wasmcustom.jwt_authn.fetch_ms", type: "histogram", value: 0, count: 3, sum: 3033 },
    { name: "wasmcustom.jwt_authn.unused_ms", type: "histogram", value: 0, count: 0, sum: 0 },
    { name: "wasmcustom.1bad", type: "counter", value: 1 },
    { name: "wasmcustom.my-metric", type: "counter", value: 5 },
  ]);

  await t.gw.close();
  await expect(fetch(`${admin}/ready`)).rejects.toThrow(); // closed with the gateway
});

test("a gauge below zero wraps as a u64, as Envoy's release build", async () => {
  const d = new Data({ g: "g" });
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $define_metric (i32.const 1) ${d.ref("g")} (i32.const 40)))
       (drop (call $increment_metric (i32.load (i32.const 40)) (i64.const -1)))
       (i32.const 1))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1, adminPort: 0 });
  // -2: the configuration canary's decrement counts too (Envoy's stats outlive the VM that set them).
  expect(await (await fetch(`${t.gw.adminUrl}/stats`)).text()).toBe("wasmcustom.g: 18446744073709551614\n");
  await t.gw.close();
});

test("Prometheus names: PrometheusStatsFormatter::metricName with the wasmcustom namespace registered", () => {
  expect(prometheusName("wasmcustom.jwt_authn.jwt_cache_hit")).toBe("jwt_authn_jwt_cache_hit");
  expect(prometheusName("wasmcustom.a-b:c d")).toBe("a_b_c_d");
  expect(prometheusName("wasmcustom.é")).toBe("_"); // one "_" per character
  expect(prometheusName("wasmcustom.9lives")).toBeNull();
  expect(prometheusName("wasmcustom.")).toBeNull();
  expect(prometheusName("wasmcustom.wasmcustom.x")).toBe("wasmcustom_x"); // only the first segment
  expect(prometheusName("wasmcustomx.a")).toBe("envoy_wasmcustomx_a");
  expect(prometheusName("cluster.outbound|443||x.upstream_rq")).toBe("envoy_cluster_outbound_443__x_upstream_rq");
});

test("no admin listener unless asked; a busy admin port is HOST_ERR_ADMIN_LISTEN", async () => {
  const d = new Data();
  const wasm = await fixture(d, "");
  const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  expect(t.gw.adminUrl).toBeUndefined();
  await expect(startGateway(wasm, { upstream: up.url, workers: 1, adminPort: up.port })).rejects.toMatchObject({ code: "HOST_ERR_ADMIN_LISTEN" });
  await t.gw.close();
});

test("CLI: --admin-port N opens the admin listener and prints its URL", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-admin-"));
  try {
    fs.writeFileSync(path.join(dir, "config.json"), "{}");
    const wasmFile = path.join(dir, "m.wasm");
    fs.writeFileSync(wasmFile, await metricsModule());
    const base = ["--config", path.join(dir, "config.json"), "--upstream", up.url];
    expect(serveOptionsFromArgs([...base, "--admin-port", "9901"], {}).adminPort).toBe(9901);
    expect(serveOptionsFromArgs(base, {}).adminPort).toBeUndefined();
    const out: string[] = [];
    const err: string[] = [];
    let ready = "";
    const io: CliIo = {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      env: { PORT: "0" },
      untilShutdown: async (gw) => {
        ready = await (await fetch(`${gw.adminUrl}/ready`)).text();
      },
    };
    expect(await main(["serve", ...base, "--wasm", wasmFile, "--workers", "1", "--admin-port", "0"], io)).toBe(0);
    expect(ready).toBe("LIVE\n");
    expect(out[1]).toMatch(/^jwt-authn-wasm: admin on http:\/\/127\.0\.0\.1:\d+ \(curl http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus\)$/);
    const bad: string[] = [];
    const code = await main(["serve", ...base, "--admin-port", "x"], { out: () => undefined, err: (t) => bad.push(t), env: {} });
    expect(code).toBe(2);
    expect(bad).toEqual(['jwt-authn-wasm: --admin-port must be an integer from 0 to 65535, got "x" (try --help)']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
