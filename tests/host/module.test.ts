// Module refusals as Envoy makes them (ABI marker, imports per ABI, signatures, allocator, start
// section, restricted calls in _initialize) and plugin start/configure failures.

import { HostError, loadModule, serve } from "../../host/index";
import { Data, fixture, get, IMPORTS, logText, prelude, RawConnection, startGateway, startUpstream, wat } from "./harness";

const UPSTREAM = "http://127.0.0.1:9";

async function refused(wasm: Uint8Array, extra: { configuration?: string; rootId?: string } = {}) {
  const logs: string[] = [];
  let error: unknown = null;
  try {
    const gw = await serve({ wasm, configuration: extra.configuration ?? "", rootId: extra.rootId, upstream: UPSTREAM, port: 0, workers: 1, log: (l) => logs.push(l) });
    await gw.close();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HostError);
  return { error: error as HostError, logs };
}

const MALLOC = `(func (export "malloc") (param i32) (result i32) (i32.const 4096))`;

describe("loadModule", () => {
  test("reports the ABI version of the first marker export", async () => {
    const bytes = await wat(`(module (memory (export "memory") 1) ${MALLOC}
      (func (export "proxy_abi_version_0_1_0")) (func (export "proxy_abi_version_0_2_0")))`);
    expect(loadModule(bytes).abiVersion).toBe("0.1.0");
    expect(loadModule(await wat(`(module (memory (export "memory") 1) ${MALLOC} (func (export "proxy_abi_version_0_2_1")))`)).abiVersion).toBe("0.2.1");
  });

  test("refuses a module without an ABI marker", async () => {
    const bytes = await wat(`(module (memory (export "memory") 1) ${MALLOC})`);
    expect(() => loadModule(bytes)).toThrow(expect.objectContaining({ code: "HOST_ERR_ABI_VERSION", message: "Missing or unknown Proxy-Wasm ABI version" }));
  });

  test("refuses bytes that are not a module", () => {
    expect(() => loadModule(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(
      expect.objectContaining({ code: "HOST_ERR_MODULE_PARSE", message: "Failed to parse corrupted Wasm module: missing the \\0asm magic number" }),
    );
  });

  test("refuses imports Envoy does not provide (env.abort)", async () => {
    const bytes = await wat(`(module (import "env" "abort" (func (param i32 i32 i32 i32))) ${prelude()})`);
    expect(() => loadModule(bytes)).toThrow(
      expect.objectContaining({ code: "HOST_ERR_MISSING_IMPORT", message: "Failed to load Wasm module due to a missing import: env.abort" }),
    );
  });

  test("ABI-specific imports: clear_route_cache only for 0.1.0, get_log_level only for 0.2.1", async () => {
    const crc = `(import "env" "proxy_clear_route_cache" (func (result i32)))`;
    expect(() => loadModule(new Uint8Array(0))).toThrow(HostError);
    await expect(wat(`(module ${crc} ${prelude("0_2_0")})`).then(loadModule)).rejects.toMatchObject({
      code: "HOST_ERR_MISSING_IMPORT",
      message: "Failed to load Wasm module due to a missing import: env.proxy_clear_route_cache",
    });
    expect(loadModule(await wat(`(module ${crc} ${prelude("0_1_0")})`)).abiVersion).toBe("0.1.0");
    const gll = `(import "env" "proxy_get_log_level" (func (param i32) (result i32)))`;
    await expect(wat(`(module ${gll} ${prelude("0_2_0")})`).then(loadModule)).rejects.toMatchObject({ code: "HOST_ERR_MISSING_IMPORT" });
    expect(loadModule(await wat(`(module ${gll} ${prelude("0_2_1")})`)).abiVersion).toBe("0.2.1");
    const cs = `(import "env" "proxy_continue_stream" (func (param i32) (result i32)))`;
    await expect(wat(`(module ${cs} ${prelude("0_1_0")})`).then(loadModule)).rejects.toMatchObject({ code: "HOST_ERR_MISSING_IMPORT" });
  });

  test("refuses an import with another signature, in Envoy's words", async () => {
    const bytes = await wat(`(module (import "env" "proxy_log" (func (param i32 i32) (result i32))) ${prelude()})`);
    expect(() => loadModule(bytes)).toThrow(
      expect.objectContaining({
        code: "HOST_ERR_IMPORT_TYPE",
        message:
          "Failed to load Wasm module due to an import type mismatch: env.proxy_log, want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32",
      }),
    );
    // solo 0.1.8's stray proxy_set_buffer_status is declared under the name proxy_get_buffer_status.
    const solo = await wat(`(module (import "env" "proxy_get_buffer_status" (func (param i32 i32 i32 i32 i32) (result i32))) ${prelude()})`);
    expect(() => loadModule(solo)).toThrow(expect.objectContaining({ code: "HOST_ERR_IMPORT_TYPE" }));
    const procExit = await wat(`(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32))) ${prelude()})`);
    expect(() => loadModule(procExit)).toThrow(
      expect.objectContaining({
        message: "Failed to load Wasm module due to an import type mismatch: wasi_snapshot_preview1.proc_exit, want: i32 -> i32, but host exports: i32 -> void",
      }),
    );
  });

  test("refuses a callback export with another signature", async () => {
    const bytes = await wat(`(module ${prelude()} (func (export "proxy_on_configure") (param i32) (result i32) (i32.const 1)))`);
    expect(() => loadModule(bytes)).toThrow(
      expect.objectContaining({
        code: "HOST_ERR_EXPORT_TYPE",
        message: "Bad function signature for: proxy_on_configure, want: i32 i32 -> i32, but the module exports: i32 -> i32",
      }),
    );
    // proxy_on_request_headers has 3 params in ABI 0.2.x and 2 in 0.1.0.
    const two = `(func (export "proxy_on_request_headers") (param i32 i32) (result i32) (i32.const 0))`;
    await expect(wat(`(module ${prelude("0_2_0")} ${two})`).then(loadModule)).rejects.toMatchObject({ code: "HOST_ERR_EXPORT_TYPE" });
    expect(loadModule(await wat(`(module ${prelude("0_1_0")} ${two})`)).abiVersion).toBe("0.1.0");
  });

  test("needs malloc or proxy_on_memory_allocate", async () => {
    const none = await wat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_0")))`);
    expect(() => loadModule(none)).toThrow(
      expect.objectContaining({ code: "HOST_ERR_NO_ALLOCATOR", message: "Wasm module is missing malloc function." }),
    );
    const alt = await wat(`(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_0"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 4096)))`);
    expect(loadModule(alt).allocator).toBe("proxy_on_memory_allocate");
  });
});

describe("VM start", () => {
  test("a start section that calls the host is refused", async () => {
    const d = new Data({ hi: "hello" });
    const bytes = await wat(`(module ${IMPORTS} ${prelude()} ${d.segments()}
      (func $top ${logText(d, "hi")}) (start $top))`);
    const { error } = await refused(bytes);
    expect(error.code).toBe("HOST_ERR_START_CALLS_HOST");
    expect(error.message).toContain("env.proxy_log");
  });

  test("_initialize may log, but other host calls trap (restricted_callback)", async () => {
    const d = new Data({ init: "initializing" });
    const ok = await wat(`(module ${IMPORTS}
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 4096))
      (func (export "proxy_abi_version_0_2_1")) ${d.segments()}
      (func (export "_initialize") ${logText(d, "init")}))`);
    const logs: string[] = [];
    const gw = await serve({ wasm: ok, configuration: "", upstream: UPSTREAM, port: 0, workers: 1, log: (l) => logs.push(l) });
    await gw.close();
    // Once in the configuration canary, once in the worker's VM.
    const initializing = expect.stringMatching(/^\[[0-9-]+ [0-9:.]+\]\[\d+\]\[info\]\[wasm\] \[source\/extensions\/common\/wasm\/context\.cc:1137\] wasm log: initializing$/);
    expect(logs.filter((l) => l.includes("wasm log"))).toEqual([initializing, initializing]);

    const bad = await wat(`(module ${IMPORTS}
      (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) (i32.const 4096))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "_initialize") (drop (call $set_tick (i32.const 10)))))`);
    const { error } = await refused(bad);
    expect(error.code).toBe("HOST_ERR_VM_START_FAILED");
    expect(error.message).toContain("Function: _initialize failed: Uncaught RuntimeError: restricted_callback");
  });

  test("on_vm_start returning 0 fails the start", async () => {
    const bytes = await fixture(new Data(), `(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 0))`);
    const { error } = await refused(bytes);
    expect(error.code).toBe("HOST_ERR_VM_START_FAILED");
    expect(error.message).toContain("proxy_on_vm_start returned 0");
  });

  test("on_configure returning 0 rejects the configuration, and the module's log reaches `log`", async () => {
    const d = new Data({ msg: "bad configuration: expected JSON" });
    const bytes = await fixture(d, `(func (export "proxy_on_configure") (param i32 i32) (result i32) ${logText(d, "msg", 4)} (i32.const 0))`);
    const { error, logs } = await refused(bytes, { configuration: "nope", rootId: "authn" });
    expect(error.code).toBe("HOST_ERR_CONFIGURE_FAILED");
    expect(error.message).toBe("Wasm plugin authn on the configuration canary: proxy_on_configure returned 0 (the plugin configuration was rejected)");
    expect(logs).toEqual([expect.stringMatching(/^\[[^\]]+\]\[\d+\]\[error\]\[wasm\] \[source\/extensions\/common\/wasm\/context\.cc:1143\] wasm log authn: bad configuration: expected JSON$/)]);
  });

  test("a trap in on_configure rejects the configuration and is logged as Envoy logs it", async () => {
    const bytes = await fixture(new Data(), `(func $boom (export "proxy_on_configure") (param i32 i32) (result i32) unreachable)`);
    const { error, logs } = await refused(bytes);
    expect(error.code).toBe("HOST_ERR_CONFIGURE_FAILED");
    expect(error.message).toContain("Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable");
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^\[[^\]]+\]\[\d+\]\[error\]\[wasm\] Wasm VM failed Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable\nProxy-Wasm plugin in-VM backtrace:\n {2}0: {2}0x[0-9a-f]+ - boom/);
  });

  test("on_vm_start sees buffer 6 and on_configure buffer 7; root context id is 1", async () => {
    const d = new Data({ rootone: "root id is 1" });
    const bytes = await fixture(
      d,
      `(func (export "proxy_on_context_create") (param $id i32) (param $root i32)
         (if (i32.and (i32.eq (local.get $id) (i32.const 1)) (i32.eqz (local.get $root))) (then ${logText(d, "rootone")})))
       (func (export "proxy_on_vm_start") (param $id i32) (param $size i32) (result i32)
         (drop (call $get_buffer (i32.const 6) (i32.const 0) (local.get $size) (i32.const ${0}) (i32.const ${4})))
         (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
         (i32.const 1))
       (func (export "proxy_on_configure") (param $id i32) (param $size i32) (result i32)
         (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
         (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
         (i32.const 1))`,
    );
    const logs: string[] = [];
    const gw = await serve({
      wasm: bytes,
      configuration: '{"plugin":true}',
      vmConfiguration: "vm-config",
      rootId: "r",
      vmId: "v",
      pluginName: "p",
      upstream: UPSTREAM,
      port: 0,
      workers: 1,
      log: (l) => logs.push(l),
    });
    await gw.close();
    const info = "[info][wasm] [source/extensions/common/wasm/context.cc:1137]";
    const oneVm = [`${info} wasm log p r v: root id is 1`, `${info} wasm log p r v: vm-config`, `${info} wasm log p r v: {"plugin":true}`];
    // The configuration canary, then the worker's VM.
    expect(logs.map((l) => l.replace(/^\[[^\]]+\]\[\d+\]/, ""))).toEqual([...oneVm, ...oneVm]);
  });

  test("bad options and unreadable files are HostErrors", async () => {
    const bytes = await fixture(new Data(), "");
    await expect(serve({ wasm: bytes, configuration: "", upstream: UPSTREAM, workers: 0 })).rejects.toMatchObject({
      code: "HOST_ERR_BAD_OPTIONS",
      message: "workers must be an integer from 1 to 256, got 0",
    });
    await expect(serve({ wasm: bytes, configuration: "", upstream: "ftp://x" })).rejects.toMatchObject({ code: "HOST_ERR_BAD_OPTIONS" });
    await expect(serve({ wasm: "/nonexistent/x.wasm", configuration: "", upstream: UPSTREAM })).rejects.toMatchObject({ code: "HOST_ERR_WASM_READ" });
  });
});

describe("other ABI surfaces", () => {
  test("WASI fd_write goes to the log: stdout at info, stderr at error, one trailing newline dropped", async () => {
    const d = new Data({ out: "to stdout\n", err: "to stderr" });
    // iovec tables at 200 (stdout) and 208 (stderr)
    const bytes = await fixture(
      d,
      `(func (export "proxy_on_configure") (param i32 i32) (result i32)
         (i32.store (i32.const 200) (i32.const ${d.ptr("out")})) (i32.store (i32.const 204) (i32.const ${d.len("out")}))
         (i32.store (i32.const 208) (i32.const ${d.ptr("err")})) (i32.store (i32.const 212) (i32.const ${d.len("err")}))
         (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 240)))
         (drop (call $fd_write (i32.const 2) (i32.const 208) (i32.const 1) (i32.const 240)))
         (i32.const 1))`,
    );
    const logs: string[] = [];
    const gw = await serve({ wasm: bytes, configuration: "", upstream: UPSTREAM, port: 0, workers: 1, log: (l) => logs.push(l) });
    await gw.close();
    const oneVm = [
      "[info][wasm] [source/extensions/common/wasm/context.cc:1137] wasm log: to stdout",
      "[error][wasm] [source/extensions/common/wasm/context.cc:1143] wasm log: to stderr",
    ];
    expect(logs.map((l) => l.replace(/^\[[^\]]+\]\[\d+\]/, ""))).toEqual([...oneVm, ...oneVm]); // canary, then worker
  });

  test("an ABI 0.1.0 module gets on_request_headers(context, headers) and its edits reach the upstream", async () => {
    const d = new Data({ k: "x-abi", v: "0.1.0" });
    const bytes = await wat(`(module
      (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_continue_request" (func $continue_request (result i32)))
      ${prelude("0_1_0")} ${d.segments()}
      (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (result i32)
        (drop (call $add_header (i32.const 0) ${d.ref("k")} ${d.ref("v")}))
        (i32.const 0)))`);
    const up = await startUpstream();
    const t = await startGateway(bytes, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    expect((await c.request(get("/old", t.gw.port))).status).toBe(200);
    c.close();
    expect(up.requests[0].rawHeaders.find(([k]) => k === "x-abi")?.[1]).toBe("0.1.0");
    await t.gw.close();
    await up.close();
  });
});
