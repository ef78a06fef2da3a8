// Per-VM behaviour: ticks per root context, shared data (CAS) and metrics across worker VMs, traps
// (fail closed per worker, fail open), proc_exit, and properties.

import { Data, digitHeader, fixture, get, logText, RawConnection, startGateway, startUpstream, waitFor, waitForLog, type Upstream } from "./harness";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test("ticks: first one period after set_tick_period, re-armed after each, stopped by period 0; one timer per VM", async () => {
  const d = new Data({ tick: "tick" });
  const wasm = await fixture(
    d,
    `(global $ticks (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param i32 i32) (result i32) (drop (call $set_tick (i32.const 10))) (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
       ${logText(d, "tick")}
       (if (i32.eq (global.get $ticks) (i32.const 3)) (then (drop (call $set_tick (i32.const 0))))))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 2 });
  await waitForLog(t, "wasm log: tick", 6);
  await new Promise((r) => setTimeout(r, 60)); // several periods: no further tick may come
  expect(t.wasmLogs().filter((l) => l === "wasm log: tick")).toHaveLength(6);
  await t.gw.close();
});

describe("shared data and metrics across the two worker VMs", () => {
  // Each request: counter = get_shared("counter") + 1 (set with the CAS it read), a VM-local count,
  // a stale CAS attempt (expects CasMismatch = 8) and the shared "hits" counter metric.
  async function sharedModule(): Promise<Uint8Array> {
    const d = new Data({ key: "counter", one: "1", x: "x", hits: "hits", details: "shared" });
    return fixture(
      d,
      `(global $local (mut i32) (i32.const 0)) (global $metric (mut i32) (i32.const 0))
       (func (export "proxy_on_configure") (param i32 i32) (result i32)
         (drop (call $define_metric (i32.const 0) ${d.ref("hits")} (i32.const 40)))
         (global.set $metric (i32.load (i32.const 40)))
         (i32.const 1))
       (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (global.set $local (i32.add (global.get $local) (i32.const 1)))
         (if (i32.eq (call $get_shared ${d.ref("key")} (i32.const 0) (i32.const 4) (i32.const 8)) (i32.const 1))
           (then
             (i32.store8 (i32.const 100) (i32.const 49))
             (drop (call $set_shared ${d.ref("key")} ${d.ref("one")} (i32.const 0))))
           (else
             (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.load (i32.const 0))) (i32.const 1)))
             (drop (call $set_shared ${d.ref("key")} (i32.const 100) (i32.const 1) (i32.load (i32.const 8))))))
         (i32.store8 (i32.const 101) (i32.add (i32.const 48) (global.get $local)))
         (i32.store8 (i32.const 102) (i32.add (i32.const 48) (call $set_shared ${d.ref("key")} ${d.ref("x")} (i32.const 2147483647))))
         (drop (call $increment_metric (global.get $metric) (i64.const 1)))
         (drop (call $get_metric (global.get $metric) (i32.const 16)))
         (i32.store8 (i32.const 103) (i32.add (i32.const 48) (i32.load (i32.const 16))))
         (drop (call $local_reply (i32.const 200) ${d.ref("details")} (i32.const 100) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const -1)))
         (i32.const 0))`,
    );
  }

  test("a write on one worker is seen (and CAS-checked) on the other; metrics are shared", async () => {
    const wasm = await sharedModule();
    const t = await startGateway(wasm, { upstream: up.url, workers: 2, vmId: "shared-test" });
    const a = await RawConnection.open(t.gw.port); // worker 0
    const b = await RawConnection.open(t.gw.port); // worker 1
    const bodies: string[] = [];
    bodies.push((await a.request(get("/", t.gw.port))).body.toString());
    bodies.push((await b.request(get("/", t.gw.port))).body.toString());
    bodies.push((await a.request(get("/", t.gw.port))).body.toString());
    // shared counter, VM-local count, stale-CAS result, shared metric
    expect(bodies).toEqual(["1181", "2182", "3283"]);
    expect(t.gw.stats()).toEqual([{ name: "wasmcustom.hits", type: "counter", value: 3 }]);
    a.close();
    b.close();
    await t.gw.close();

    // Once every VM of that vm_id is gone, so is its data.
    const t2 = await startGateway(wasm, { upstream: up.url, workers: 1, vmId: "shared-test" });
    const c = await RawConnection.open(t2.gw.port);
    expect((await c.request(get("/", t2.gw.port))).body.toString()).toBe("1181");
    c.close();
    await t2.gw.close();
  });
});

describe("traps", () => {
  async function trapModule(): Promise<Uint8Array> {
    const d = new Data({ trap: "x-trap", exit: "x-exit" });
    return fixture(
      d,
      `(func $on_headers (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("trap")} (i32.const 0) (i32.const 4))) (then unreachable))
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("exit")} (i32.const 0) (i32.const 4))) (then (call $proc_exit (i32.const 3))))
         (i32.const 0))`,
    );
  }

  test("fail closed: 503 with an empty body on the trapping worker from then on; the other worker serves", async () => {
    const t = await startGateway(await trapModule(), { upstream: up.url, workers: 2 });
    const a = await RawConnection.open(t.gw.port); // worker 0
    const b = await RawConnection.open(t.gw.port); // worker 1
    expect((await a.request(get("/ok", t.gw.port))).status).toBe(200);
    const trapped = await a.request(get("/boom", t.gw.port, ["x-trap: 1"]));
    expect(trapped.status).toBe(503);
    expect(trapped.body.length).toBe(0);
    expect(trapped.headers.map(([k]) => k)).toEqual(["date", "server", "content-length"]);
    expect(trapped.header("content-length")).toBe("0");
    expect(t.gw.workers.map((w) => w.failed)).toEqual([true, false]);
    const failLine = t.logs.find((l) => l.includes("Wasm VM failed"));
    expect(failLine).toMatch(
      /^\[[^\]]+\]\[\d+\]\[error\]\[wasm\] Wasm VM failed Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable\nProxy-Wasm plugin in-VM backtrace:\n {2}0: {2}0x[0-9a-f]+ - on_headers$/,
    );
    // Every later request on worker 0 is refused; worker 1 keeps serving.
    expect((await a.request(get("/after", t.gw.port))).status).toBe(503);
    const r = await b.request(get("/other", t.gw.port));
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("upstream saw GET /other");
    const c = await RawConnection.open(t.gw.port); // third connection: worker 0 again
    expect((await c.request(get("/new", t.gw.port))).status).toBe(503);
    await waitFor(() => t.logs.filter((l) => l.includes("wasm_fail_stream")).length === 3, "access logs");
    expect(t.logs.find((l) => l.includes('"GET /boom HTTP/1.1"'))).toMatch(/ 503 wasm_fail_stream \d+ms$/);
    expect(up.requests.filter((q) => ["/boom", "/after", "/new"].includes(q.url))).toHaveLength(0);

    // proc_exit traps too (here on worker 1).
    const exited = await b.request(get("/exit", t.gw.port, ["x-exit: 1"]));
    expect(exited.status).toBe(503);
    expect(t.gw.workers.map((w) => w.failed)).toEqual([true, true]);
    expect(t.logs.filter((l) => l.includes("Wasm VM failed"))[1]).toContain(
      "Function: proxy_on_request_headers failed: Uncaught RuntimeError: proc_exit(3)",
    );
    for (const x of [a, b, c]) x.close();
    await t.gw.close();
  });

  test("fail open: the trapping request and later ones go through without the filter", async () => {
    const t = await startGateway(await trapModule(), { upstream: up.url, workers: 1, failOpen: true });
    const a = await RawConnection.open(t.gw.port);
    const r1 = await a.request(get("/open1", t.gw.port, ["x-trap: 1"]));
    expect(r1.status).toBe(200);
    expect(r1.body.toString()).toBe("upstream saw GET /open1");
    expect(t.gw.workers[0].failed).toBe(true);
    const r2 = await a.request(get("/open2", t.gw.port, ["x-trap: 1"]));
    expect(r2.body.toString()).toBe("upstream saw GET /open2");
    expect(t.logs.filter((l) => l.includes("Wasm VM failed"))).toHaveLength(1);
    a.close();
    await t.gw.close();
  });
});

test("properties: plugin_*, request.* while the request map exists, source.address; dotted paths are NotFound", async () => {
  const props: Record<string, string> = {
    name: "plugin_name",
    root: "plugin_root_id",
    vm: "plugin_vm_id",
    path: "request\0path",
    urlpath: "request\0url_path",
    method: "request\0method",
    host: "request\0host",
    id: "request\0id",
    source: "source\0address",
    foo: "request\0headers\0x-foo",
  };
  const d = new Data({ dotted: "request.path", xdotted: "x-p-dotted", late: "x-p-late", reqpath: "request\0path" });
  for (const [k, v] of Object.entries(props)) d.add(`p_${k}`, v).add(`h_${k}`, `x-p-${k}`);
  const copies = Object.keys(props)
    .map(
      (k) => `(drop (call $get_property ${d.ref(`p_${k}`)} (i32.const 0) (i32.const 4)))
              (drop (call $add_header (i32.const 0) ${d.ref(`h_${k}`)} (i32.load (i32.const 0)) (i32.load (i32.const 4))))`,
    )
    .join("\n");
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       ${copies}
       ${digitHeader(d, 0, "xdotted", `(call $get_property ${d.ref("dotted")} (i32.const 0) (i32.const 4))`)}
       (i32.const 0))
     (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       ${digitHeader(d, 2, "late", `(call $get_property ${d.ref("reqpath")} (i32.const 0) (i32.const 4))`)}
       (i32.const 0))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1, pluginName: "plug", rootId: "root", vmId: "vm" });
  const before = up.requests.length;
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/props?a=1", t.gw.port, ["X-Foo: bar"]));
  c.close();
  const seen = Object.fromEntries(up.requests[before].rawHeaders);
  expect(seen["x-p-name"]).toBe("plug");
  expect(seen["x-p-root"]).toBe("root");
  expect(seen["x-p-vm"]).toBe("vm");
  expect(seen["x-p-path"]).toBe("/props?a=1");
  expect(seen["x-p-urlpath"]).toBe("/props");
  expect(seen["x-p-method"]).toBe("GET");
  expect(seen["x-p-host"]).toBe(`127.0.0.1:${t.gw.port}`);
  expect(seen["x-p-id"]).toBe(seen["x-request-id"]);
  expect(seen["x-p-source"]).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(seen["x-p-foo"]).toBe("bar");
  expect(seen["x-p-dotted"]).toBe("1"); // NotFound: paths are NUL-separated
  // After the request headers continued, request.path is NotFound until the log phase.
  expect(r.header("x-p-late")).toBe("1");
  await t.gw.close();
});

test("shared queues: enqueue on one worker, on_queue_ready on the registrant (the last to register)", async () => {
  const d = new Data({ q: "q", item: "item-1", ready: "queue ready", empty: "x" });
  const wasm = await fixture(
    d,
    `(global $token (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $register_queue ${d.ref("q")} (i32.const 40)))
       (global.set $token (i32.load (i32.const 40)))
       (i32.const 1))
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       ;; resolving with an empty vm_id finds our own queue: the same token
       (drop (call $resolve_queue (i32.const 0) (i32.const 0) ${d.ref("q")} (i32.const 44)))
       (drop (call $enqueue (i32.load (i32.const 44)) ${d.ref("item")}))
       (i32.const 0))
     (func (export "proxy_on_queue_ready") (param $root i32) (param $token i32)
       ${logText(d, "ready")}
       (drop (call $dequeue (local.get $token) (i32.const 0) (i32.const 4)))
       (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
       (i32.store8 (i32.const ${d.ptr("empty")}) (i32.add (i32.const 48) (call $dequeue (local.get $token) (i32.const 0) (i32.const 4))))
       ${logText(d, "empty")})`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 2, vmId: "queues" });
  const a = await RawConnection.open(t.gw.port);
  expect((await a.request(get("/q", t.gw.port))).status).toBe(200);
  await waitForLog(t, "wasm log queues: 7");
  // 7 = Empty on the second dequeue.
  expect(t.wasmLogs()).toEqual(["wasm log queues: queue ready", "wasm log queues: item-1", "wasm log queues: 7"]);
  a.close();
  await t.gw.close();
});

test("proxy_get_log_level reports the configured threshold; proxy_log below it is dropped", async () => {
  const d = new Data({ dbg: "debug line", lvl: "level ?" });
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_configure") (param i32 i32) (result i32)
       ${logText(d, "dbg", 1)}
       (drop (call $get_log_level (i32.const 40)))
       (i32.store8 (i32.const ${d.ptr("lvl") + 6}) (i32.add (i32.const 48) (i32.load (i32.const 40))))
       ${logText(d, "lvl", 3)}
       (i32.const 1))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1, logLevel: "warn" });
  await t.gw.close();
  const line = "[warning][wasm] [source/extensions/common/wasm/context.cc:1140] wasm log: level 3";
  expect(t.logs.map((l) => l.replace(/^\[[^\]]+\]\[\d+\]/, ""))).toEqual([line, line]); // the configuration canary, then the worker
});
