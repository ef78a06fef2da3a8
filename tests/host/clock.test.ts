// The test clock (ServeOptions.manualClock): virtual wall time the module reads, ticks and call-out
// timeouts fired by Gateway.advance() in time order with real I/O settling in between, advanceClock()
// and settle(); Envoy's setTickPeriod (a new period restarts the timer).

import http from "node:http";
import type { AddressInfo } from "node:net";
import { serializePairs } from "../../host/abi/pairs";
import { Data, fixture, get, RawConnection, startGateway, startUpstream, waitFor, type Upstream } from "./harness";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

const pairs = (list: string[][]): Buffer => serializePairs(list.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const counter = (t: { gw: { stats(): Array<{ name: string; value: number }> } }, name: string): number =>
  t.gw.stats().find((s) => s.name === `wasmcustom.${name}`)?.value ?? 0;

/** Ticks every `period` ms (set in on_configure); each tick adds 1 to the counter "ticks". */
async function tickModule(period: number, extra = ""): Promise<Uint8Array> {
  const d = new Data({ ticks: "ticks" });
  return fixture(
    d,
    `(global $m (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $define_metric (i32.const 0) ${d.ref("ticks")} (i32.const 40)))
       (global.set $m (i32.load (i32.const 40)))
       (drop (call $set_tick (i32.const ${period})))
       (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (drop (call $increment_metric (global.get $m) (i64.const 1))))
     ${extra}`,
  );
}

test("advance(10_000) with a 1000 ms tick period gives exactly 10 ticks per VM, without real waiting", async () => {
  const t = await startGateway(await tickModule(1000), { upstream: up.url, workers: 2, manualClock: true });
  await sleep(30); // real time alone moves nothing
  expect(counter(t, "ticks")).toBe(0);
  const started = performance.now();
  await t.gw.advance(999);
  expect(counter(t, "ticks")).toBe(0);
  await t.gw.advance(1); // t = 1000: one tick on each of the two VMs
  expect(counter(t, "ticks")).toBe(2);
  await t.gw.advance(9000); // t = 10_000
  expect(counter(t, "ticks")).toBe(20);
  expect(performance.now() - started).toBeLessThan(1000);

  // advanceClock moves time at once and fires nothing; the overdue tick fires once at settle().
  t.gw.advanceClock(2500); // t = 12_500: the tick due at 11_000 is overdue
  expect(counter(t, "ticks")).toBe(20);
  await t.gw.settle();
  expect(counter(t, "ticks")).toBe(22); // re-armed one period after it fired: due at 13_500
  await t.gw.advance(999);
  expect(counter(t, "ticks")).toBe(22);
  await t.gw.advance(1);
  expect(counter(t, "ticks")).toBe(24);
  await t.gw.close();
});

test("set_tick_period restarts the timer, as Envoy's setTickPeriod: the first tick is one period after the last call", async () => {
  // Each request sets the period to 1000 again.
  const wasm = await tickModule(
    1000,
    `(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
       (drop (call $set_tick (i32.const 1000)))
       (i32.const 0))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1, manualClock: true });
  await t.gw.advance(600);
  const c = await RawConnection.open(t.gw.port);
  expect((await c.request(get("/again", t.gw.port))).status).toBe(200); // at t = 600
  await t.gw.advance(400); // t = 1000: the first timer was replaced
  expect(counter(t, "ticks")).toBe(0);
  await t.gw.advance(599);
  expect(counter(t, "ticks")).toBe(0);
  await t.gw.advance(1); // t = 1600
  expect(counter(t, "ticks")).toBe(1);
  c.close();
  await t.gw.close();
});

/**
 * Calls the cluster named by the plugin configuration with a 5000 ms timeout on the first tick (period
 * 1000) and logs ":status <status>" and the body when the response arrives.
 */
async function fetchOnTickModule(): Promise<Uint8Array> {
  const d = new Data({
    hdrs: pairs([
      [":method", "GET"],
      [":path", "/jwks"],
      [":authority", "jwks.local"],
    ]),
    status: ":status",
    sent: "call sent",
  });
  return fixture(
    d,
    `(global $cfg (mut i32) (i32.const 0)) (global $cfglen (mut i32) (i32.const 0)) (global $done (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
       (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
       (global.set $cfg (i32.load (i32.const 0)))
       (global.set $cfglen (i32.load (i32.const 4)))
       (drop (call $set_tick (i32.const 1000)))
       (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (if (global.get $done) (then (return)))
       (global.set $done (i32.const 1))
       (drop (call $http_call (global.get $cfg) (global.get $cfglen) ${d.ref("hdrs")}
         (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 8)))
       (drop (call $log (i32.const 2) ${d.ref("sent")})))
     (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $nh i32) (param $bs i32) (param $nt i32)
       (drop (call $get_header (i32.const 6) ${d.ref("status")} (i32.const 0) (i32.const 4)))
       (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
       (drop (call $get_buffer (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 0) (i32.const 4)))
       (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4)))))`,
  );
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test("a call a tick starts is answered by a real server, and its callback has run when advance() returns", async () => {
  const jwks = await listen((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"keys":[]}');
  });
  const t = await startGateway(await fetchOnTickModule(), {
    upstream: up.url,
    workers: 1,
    manualClock: true,
    configuration: "jwks",
    clusters: { jwks: jwks.url },
  });
  await t.gw.advance(1000);
  // No waitFor: advance() settled the call and ran on_http_call_response before returning.
  expect(t.wasmLogs()).toEqual(["wasm log: call sent", "wasm log: 200", 'wasm log: {"keys":[]}']);
  await t.gw.close();
  await jwks.close();
});

test("a call to a hanging server completes with Envoy's 504 only when virtual time passes its 5000 ms timeout", async () => {
  let seen = 0;
  const hanging = await listen(() => {
    seen++; // never answers
  });
  const t = await startGateway(await fetchOnTickModule(), {
    upstream: up.url,
    workers: 1,
    manualClock: true,
    configuration: "slow",
    clusters: { slow: hanging.url },
    settleWindowMs: 20,
  });
  await t.gw.advance(1000); // the tick sends the call at t = 1000; it times out at t = 6000
  await waitFor(() => seen === 1, "the call at the server");
  expect(t.wasmLogs()).toEqual(["wasm log: call sent"]);
  await sleep(100); // real time: nothing happens
  await t.gw.advance(4999);
  expect(t.wasmLogs()).toEqual(["wasm log: call sent"]);
  await t.gw.advance(1);
  expect(t.wasmLogs()).toEqual(["wasm log: call sent", "wasm log: 504", "wasm log: upstream request timeout"]);
  await t.gw.close();
  await hanging.close();
});

test("the module reads virtual time (proxy_get_current_time_nanoseconds, WASI realtime and monotonic)", async () => {
  const d = new Data({ details: "time" });
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (drop (call $now (i32.const 128)))
       (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 136)))
       (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 144)))
       (drop (call $local_reply (i32.const 200) ${d.ref("details")} (i32.const 128) (i32.const 24) (i32.const 0) (i32.const 0) (i32.const -1)))
       (i32.const 1))`,
  );
  const read = async (port: number): Promise<bigint[]> => {
    const c = await RawConnection.open(port);
    const body = (await c.request(get("/time", port))).body;
    c.close();
    return [body.readBigUInt64LE(0), body.readBigUInt64LE(8), body.readBigUInt64LE(16)];
  };

  const before = BigInt(Date.now()) * 1_000_000n;
  const t = await startGateway(wasm, { upstream: up.url, workers: 1, manualClock: true });
  const t0 = await read(t.gw.port);
  expect(t0[0]).toBe(t0[1]); // one wall clock
  expect(t0[0] >= before - 1_000_000_000n && t0[0] <= before + 5_000_000_000n).toBe(true); // starts at the real time
  await sleep(30);
  expect(await read(t.gw.port)).toEqual(t0); // frozen
  await t.gw.advance(5000);
  expect(await read(t.gw.port)).toEqual(t0.map((x) => x + 5_000_000_000n));
  t.gw.advanceClock(1500);
  expect(await read(t.gw.port)).toEqual(t0.map((x) => x + 6_500_000_000n));
  await t.gw.close();

  // Real clock: advanceClock shifts proxy_get_current_time_nanoseconds and WASI realtime alike.
  const r = await startGateway(wasm, { upstream: up.url, workers: 1 });
  r.gw.advanceClock(3_600_000);
  const [now, wasiNow] = await read(r.gw.port);
  const expected = BigInt(Date.now()) * 1_000_000n + 3_600_000_000_000n;
  for (const x of [now, wasiNow]) expect(x > expected - 5_000_000_000n && x <= expected + 1_000_000_000n).toBe(true);
  await r.gw.close();
});

test("advance() needs manualClock; settle() works on either clock", async () => {
  const t = await startGateway(await tickModule(100000), { upstream: up.url, workers: 1 });
  await expect(t.gw.advance(10)).rejects.toMatchObject({ code: "HOST_ERR_NO_MANUAL_CLOCK" });
  await t.gw.settle();
  await t.gw.close();
  const m = await startGateway(await tickModule(1000), { upstream: up.url, workers: 1, manualClock: true });
  await expect(m.gw.advance(-1)).rejects.toThrow(RangeError);
  await m.gw.close();
});
