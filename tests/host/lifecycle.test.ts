// Plugin and VM lifecycle as Envoy runs it (host/lifecycle.ts): the configuration canary (configured once,
// killed without on_done, its call cancelled, its ticks never fired, its shared data kept), the failure
// policies after a trap (fail-closed, fail-open, reload with backoff), reconfiguration as an LDS update
// (in-flight streams finish on the old plugin, new connections get the new one, a refused update keeps
// the old one, a changed module is loaded), and the CLI's --failure-policy and --watch.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type http from "node:http";
import { serializePairs } from "../../host/abi/pairs";
import { main, serveOptionsFromArgs, type CliIo } from "../../host/cli";
import { HostError, serve, type Gateway } from "../../host/index";
import { Data, fixture, get, ITOA, logNumber, logText, RawConnection, startGateway, startUpstream, waitFor, waitForLog, type Upstream } from "./harness";

const pairs = (list: string[][]): Buffer => serializePairs(list.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));

/**
 * Each VM takes an ordinal from the shared counter "n" in on_configure (1 = the first VM configured) and
 * logs "configure N"; it starts a call to cluster "auth" (logs "response N" when answered) and a 10 ms
 * tick (logs "tick N" once). on_done of the root context logs "done N". Requests and responses get
 * x-vm: N, x-config: <the configuration>, x-module: <tag>; a request with x-trap traps. A configuration
 * starting with "b" is refused (logs "refused").
 */
function lifecycleModule(tag = "a"): Promise<Uint8Array> {
  const room = " ".repeat(10);
  const d = new Data({
    n: "n",
    logcfg: `configure ${room}`,
    logtick: `tick ${room}`,
    logresp: `response ${room}`,
    logdone: `done ${room}`,
    refused: "refused",
    cluster: "auth",
    hdrs: pairs([
      [":method", "GET"],
      [":path", "/canary"],
      [":authority", "auth.local"],
    ]),
    xvm: "x-vm",
    xconfig: "x-config",
    xmodule: "x-module",
    xtrap: "x-trap",
    tag,
  });
  return fixture(
    d,
    `(global $me (mut i32) (i32.const 0)) (global $root (mut i32) (i32.const 0))
     (global $cfg (mut i32) (i32.const 0)) (global $cfglen (mut i32) (i32.const 0)) (global $ticked (mut i32) (i32.const 0))
     ${ITOA}
     (func $tagHeaders (param $map i32)
       (drop (call $add_header (local.get $map) ${d.ref("xvm")} (i32.const 300) (call $itoa (global.get $me) (i32.const 300))))
       (drop (call $add_header (local.get $map) ${d.ref("xconfig")} (global.get $cfg) (global.get $cfglen)))
       (drop (call $add_header (local.get $map) ${d.ref("xmodule")} ${d.ref("tag")})))
     (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
       (local $n i32)
       (global.set $root (local.get $root))
       (if (local.get $size) (then
         (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
         (global.set $cfg (i32.load (i32.const 0)))
         (global.set $cfglen (i32.load (i32.const 4)))))
       (if (i32.and (i32.gt_u (global.get $cfglen) (i32.const 0)) (i32.eq (i32.load8_u (global.get $cfg)) (i32.const 98)))
         (then ${logText(d, "refused", 4)} (return (i32.const 0))))
       (if (i32.eqz (call $get_shared ${d.ref("n")} (i32.const 0) (i32.const 4) (i32.const 8)))
         (then (local.set $n (i32.add (i32.load (i32.load (i32.const 0))) (i32.const 1))))
         (else (local.set $n (i32.const 1))))
       (i32.store (i32.const 200) (local.get $n))
       (drop (call $set_shared ${d.ref("n")} (i32.const 200) (i32.const 4) (i32.const 0)))
       (global.set $me (local.get $n))
       ${logNumber(d, "logcfg", 10, "(local.get $n)")}
       (drop (call $http_call ${d.ref("cluster")} ${d.ref("hdrs")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 8)))
       (drop (call $set_tick (i32.const 10)))
       (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (if (i32.eqz (global.get $ticked)) (then
         (global.set $ticked (i32.const 1))
         ${logNumber(d, "logtick", 5, "(global.get $me)")}))
       (drop (call $set_tick (i32.const 0))))
     (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
       ${logNumber(d, "logresp", 9, "(global.get $me)")})
     (func (export "proxy_on_done") (param $id i32) (result i32)
       (if (i32.eq (local.get $id) (global.get $root)) (then ${logNumber(d, "logdone", 5, "(global.get $me)")}))
       (i32.const 1))
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("xtrap")} (i32.const 0) (i32.const 4))) (then unreachable))
       (call $tagHeaders (i32.const 0))
       (i32.const 0))
     (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (call $tagHeaders (i32.const 2))
       (i32.const 0))`,
  );
}

/** The module's own lines ("configure 1", …) without the "wasm log <vm_id>: " prefix. */
const moduleLines = (logs: string[]): string[] =>
  logs.filter((l) => l.includes("] wasm log")).map((l) => l.replace(/^.*\] wasm log[^:]*: /, ""));

let wasm: Uint8Array;
let up: Upstream;
/** Responses of /slow requests, held until the test releases them. */
const held: http.ServerResponse[] = [];
beforeAll(async () => {
  wasm = await lifecycleModule();
  up = await startUpstream((req, res) => {
    if (req.url === "/slow") {
      held.push(res);
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`upstream saw ${req.method} ${req.url}`);
  });
});
afterAll(() => up.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("configuration canary (proxy-wasm-cpp-host WasmHandleBase::canary)", () => {
  test("configured once before the workers, then killed: no on_done, its call cancelled, its tick never fires; its shared data stays", async () => {
    const auth = await startUpstream();
    try {
      const t = await startGateway(wasm, { upstream: up.url, workers: 2, vmId: "canary", clusters: { auth: auth.url } });
      // Configure ran 3 times (canary + 2 workers), in that order; the workers' ordinals continue the
      // counter the canary wrote, so its shared data outlived it.
      expect(moduleLines(t.logs).filter((l) => l.startsWith("configure"))).toEqual(["configure 1", "configure 2", "configure 3"]);
      await waitForLog(t, "wasm log canary: response 2");
      await waitForLog(t, "wasm log canary: response 3");
      await waitForLog(t, "wasm log canary: tick 2");
      await waitForLog(t, "wasm log canary: tick 3");
      await sleep(50); // several tick periods more
      await t.gw.close();
      const lines = moduleLines(t.logs);
      expect(lines.filter((l) => l.endsWith(" 1"))).toEqual(["configure 1"]);
      expect(lines.filter((l) => l.startsWith("done")).sort()).toEqual(["done 2", "done 3"]);
      // The canary's call was started and cancelled: at most the workers' two calls were answered.
      expect(lines.filter((l) => l.startsWith("response")).sort()).toEqual(["response 2", "response 3"]);
    } finally {
      await auth.close();
    }
  });

  test("a configuration the canary refuses stops serve() before any worker VM starts", async () => {
    const logs: string[] = [];
    const error = await serve({ wasm, configuration: "bad", upstream: up.url, port: 0, workers: 2, rootId: "authn", log: (l) => logs.push(l) }).then(
      () => null,
      (e: unknown) => e as HostError,
    );
    expect(error).toBeInstanceOf(HostError);
    expect(error?.code).toBe("HOST_ERR_CONFIGURE_FAILED");
    expect(error?.message).toBe("Wasm plugin authn on the configuration canary: proxy_on_configure returned 0 (the plugin configuration was rejected)");
    expect(moduleLines(logs)).toEqual(["refused"]);
  });
});

describe("failure policy (Envoy's PluginConfig failure_policy)", () => {
  test("fail-closed (the default): 503 with an empty body on the failed worker from then on", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, vmId: "closed", failurePolicy: "fail-closed" });
    const c = await RawConnection.open(t.gw.port);
    expect((await c.request(get("/ok", t.gw.port))).header("x-vm")).toBe("2");
    t.gw.workers[0].crash();
    const r = await c.request(get("/after", t.gw.port));
    expect(r.status).toBe(503);
    expect(r.body.length).toBe(0);
    // A GET without a body is whole at its headers (Envoy's codec: end_stream): the connection stays open.
    expect(r.header("connection")).toBeUndefined();
    const again = await c.request(get("/again", t.gw.port));
    expect(again.status).toBe(503);
    expect(again.header("connection")).toBeUndefined();
    await waitFor(() => t.logs.some((l) => l.includes('"GET /after HTTP/1.1" 503 wasm_fail_stream')), "access log");
    c.close();
    await t.gw.close();
    expect(moduleLines(t.logs).filter((l) => l.startsWith("done"))).toEqual([]); // a failed VM runs no more code
  });

  test("fail-open: the trapping request and later ones go through without the filter", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, vmId: "open", failurePolicy: "fail-open" });
    const c = await RawConnection.open(t.gw.port);
    const r1 = await c.request(get("/trap", t.gw.port, ["x-trap: 1"]));
    expect(r1.status).toBe(200);
    expect(r1.body.toString()).toBe("upstream saw GET /trap");
    expect(r1.header("x-vm")).toBeUndefined();
    expect(t.gw.workers[0].failed).toBe(true);
    const r2 = await c.request(get("/next", t.gw.port));
    expect([r2.status, r2.header("x-vm")]).toEqual([200, undefined]);
    c.close();
    await t.gw.close();
  });

  test("reload: the trapping stream gets 503; after the backoff the next stream gets a fresh VM (vm_start, configure)", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, vmId: "reload", failurePolicy: "reload", manualClock: true });
    // One connection per request: the host closes a connection after a 503 sent before the filter ran.
    const ask = async (p: string, extra: string[] = []) => {
      const c = await RawConnection.open(t.gw.port);
      const r = await c.request(get(p, t.gw.port, extra));
      c.close();
      return r;
    };
    expect((await ask("/one")).header("x-vm")).toBe("2");
    const trapped = await ask("/trap", ["x-trap: 1"]);
    expect([trapped.status, trapped.body.length]).toEqual([503, 0]);
    expect(t.gw.workers[0].failed).toBe(true);
    // Within the backoff (base 1000 ms, drawn from [1000, 1500) since the VM was loaded): still 503.
    t.gw.advanceClock(999);
    expect((await ask("/backoff")).status).toBe(503);
    t.gw.advanceClock(501);
    const fresh = await ask("/fresh");
    expect([fresh.status, fresh.header("x-vm")]).toEqual([200, "3"]);
    expect(t.gw.workers[0].failed).toBe(false);
    // Through the test hook too; the backoff counts from the last reload.
    t.gw.workers[0].crash();
    expect((await ask("/crashed")).status).toBe(503);
    t.gw.advanceClock(1500);
    expect((await ask("/again")).header("x-vm")).toBe("4");
    await t.gw.close();
    const lines = moduleLines(t.logs);
    expect(lines.filter((l) => l.startsWith("configure"))).toEqual(["configure 1", "configure 2", "configure 3", "configure 4"]);
    // The failed VMs get no on_done; the last one does at shutdown.
    expect(lines.filter((l) => l.startsWith("done"))).toEqual(["done 4"]);
    expect(t.logs.filter((l) => l.includes("Wasm VM failed"))).toHaveLength(2);
  });

  test("options: one of failOpen (deprecated) or failurePolicy; reloadBackoffMs above 1 ms", async () => {
    const base = { wasm, configuration: "", upstream: up.url, port: 0 };
    await expect(serve({ ...base, failOpen: true, failurePolicy: "reload" })).rejects.toMatchObject({
      code: "HOST_ERR_BAD_OPTIONS",
      message: "only one of failOpen or failurePolicy can be set",
    });
    await expect(serve({ ...base, failurePolicy: "FAIL_OPEN" as never })).rejects.toMatchObject({
      code: "HOST_ERR_BAD_OPTIONS",
      message: 'failurePolicy must be one of fail-closed, fail-open, reload, got "FAIL_OPEN"',
    });
    await expect(serve({ ...base, reloadBackoffMs: 1 })).rejects.toMatchObject({ code: "HOST_ERR_BAD_OPTIONS" });
  });
});

describe("reconfigure (an LDS update)", () => {
  test("in-flight streams finish on the old plugin; new connections get the new one; the old VMs get on_done once drained", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 2, vmId: "reconf", configuration: "v1" });
    const a = await RawConnection.open(t.gw.port); // worker 0
    const idle = await RawConnection.open(t.gw.port); // worker 1
    expect((await idle.request(get("/idle", t.gw.port))).header("x-config")).toBe("v1");
    const before = held.length;
    const slow = a.request(get("/slow", t.gw.port));
    await waitFor(() => held.length > before, "the slow request upstream");
    const seen = up.requests.find((q) => q.url === "/slow");
    expect(Object.fromEntries(seen?.rawHeaders ?? [])["x-config"]).toBe("v1");

    expect(await t.gw.reconfigure({ configuration: "v2" })).toBe("applied");
    // New canary (4) and workers (5, 6); the old idle worker's VM is shut down at once.
    expect(moduleLines(t.logs).filter((l) => /^(configure|done)/.test(l))).toEqual([
      "configure 1", "configure 2", "configure 3", "configure 4", "configure 5", "configure 6", "done 3",
    ]);
    await waitFor(() => idle.closed, "the idle connection of the old plugin to be closed");

    const b = await RawConnection.open(t.gw.port);
    const r = await b.request(get("/new", t.gw.port));
    expect([r.status, r.header("x-config"), r.header("x-vm")]).toEqual([200, "v2", "5"]);

    held[before].writeHead(200, { "content-type": "text/plain" });
    held[before].end("slow");
    const old = await slow;
    // on_response_headers ran in the old VM; the drained connection is closed after it.
    expect([old.status, old.header("x-config"), old.header("x-vm"), old.header("connection")]).toEqual([200, "v1", "2", "close"]);
    await waitForLog(t, "wasm log reconf: done 2");
    await waitFor(() => a.closed, "the old connection to close");
    b.close();
    await t.gw.close();
    expect(moduleLines(t.logs).filter((l) => l.startsWith("done")).sort()).toEqual(["done 2", "done 3", "done 5", "done 6"]);
  });

  test("a refused configuration keeps the old one serving and is logged; an identical one changes nothing; a new module is loaded", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, vmId: "refuse", configuration: "v1" });
    const ask = async (): Promise<Array<string | undefined>> => {
      const c = await RawConnection.open(t.gw.port);
      const r = await c.request(get("/", t.gw.port));
      c.close();
      return [r.header("x-config"), r.header("x-module")];
    };
    await expect(t.gw.reconfigure({ configuration: "bad" })).rejects.toMatchObject({ code: "HOST_ERR_CONFIGURE_FAILED" });
    const warning = t.logs.find((l) => l.includes("configuration update rejected"));
    expect(warning).toMatch(
      /\[warning\]\[wasm\] wasm host: configuration update rejected, the previous configuration keeps serving: HOST_ERR_CONFIGURE_FAILED: Wasm plugin \(unnamed\) on the configuration canary: proxy_on_configure returned 0/,
    );
    expect(await ask()).toEqual(["v1", "a"]);
    expect(await t.gw.reconfigure({ configuration: "v1" })).toBe("unchanged");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-lifecycle-"));
    try {
      const file = path.join(dir, "b.wasm");
      fs.writeFileSync(file, await lifecycleModule("b"));
      expect(await t.gw.reconfigure({ wasm: file })).toBe("applied");
      expect(await ask()).toEqual(["v1", "b"]);
      await expect(t.gw.reconfigure({ wasm: path.join(dir, "missing.wasm") })).rejects.toMatchObject({ code: "HOST_ERR_WASM_READ" });
      expect(await ask()).toEqual(["v1", "b"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    await t.gw.close();
    // "configure 1"/"2" (first plugin), "refused" (its canary only), then "3"/"4" for module b.
    expect(moduleLines(t.logs).filter((l) => /^(configure|refused|done)/.test(l))).toEqual([
      "configure 1", "configure 2", "refused", "configure 3", "configure 4", "done 2", "done 4",
    ]);
  });
});

describe("command line", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-lifecycle-cli-"));
    fs.writeFileSync(path.join(dir, "config.txt"), "v1");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = (...more: string[]) => ["--config", path.join(dir, "config.txt"), "--upstream", up.url, ...more];

  test("--failure-policy, and --fail-open as its deprecated alias", () => {
    expect(serveOptionsFromArgs(args("--failure-policy", "reload"), {}).failurePolicy).toBe("reload");
    expect(serveOptionsFromArgs(args("--failure-policy", "fail-open"), {}).failurePolicy).toBe("fail-open");
    expect(serveOptionsFromArgs(args(), {}).failurePolicy).toBeUndefined();
    const legacy = serveOptionsFromArgs(args("--fail-open"), {});
    expect([legacy.failurePolicy, legacy.failOpen]).toEqual(["fail-open", undefined]);
    expect(() => serveOptionsFromArgs(args("--failure-policy", "FAIL_OPEN"), {})).toThrow(
      '--failure-policy must be fail-closed, fail-open or reload, got "FAIL_OPEN"',
    );
    expect(() => serveOptionsFromArgs(args("--fail-open", "--failure-policy", "reload"), {})).toThrow("give --failure-policy or --fail-open, not both");
  });

  test("serve --watch: a changed --config file is applied; a refused one is logged and the old one keeps serving", async () => {
    const wasmFile = path.join(dir, "m.wasm");
    fs.writeFileSync(wasmFile, wasm);
    const configFile = path.join(dir, "config.txt");
    const out: string[] = [];
    const err: string[] = [];
    const ask = async (gw: Gateway): Promise<string | undefined> => {
      const c = await RawConnection.open(gw.port);
      const r = await c.request(get("/", gw.port));
      c.close();
      return r.header("x-config");
    };
    const io: CliIo = {
      out: (x) => out.push(x),
      err: (x) => err.push(x),
      env: {},
      untilShutdown: async (gw) => {
        expect(await ask(gw)).toBe("v1");
        fs.writeFileSync(configFile, "bad");
        await waitFor(() => err.some((l) => l.includes("configuration update rejected")), "the refusal to be logged");
        expect(await ask(gw)).toBe("v1");
        fs.writeFileSync(configFile, "v2");
        await waitFor(() => err.some((l) => l.includes("configuration updated")), "the update to be applied");
        expect(await ask(gw)).toBe("v2");
      },
    };
    const code = await main(["serve", ...args("--wasm", wasmFile, "--port", "0", "--workers", "1", "--watch", "--watch-interval-ms", "20")], io);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^jwt-authn-wasm: listening on http:\/\/127\.0\.0\.1:\d+ \(1 workers, upstream /);
  });
});
