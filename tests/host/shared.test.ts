// Shared data as proxy-wasm-cpp-host's SharedData (src/shared_data.cc): cas 0 always writes, a stale
// cas is CasMismatch, a missing key is NotFound, get returns the cas. Two worker VMs contending for a
// lease with get + CAS set (one wins), and WorkerInfo.crash(): a VM failed mid-fetch stops ticking
// and never gets its call-out's response, while the shared data it wrote stays readable.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { WasmResult } from "../../host/abi/constants";
import { serializePairs } from "../../host/abi/pairs";
import { SharedStore } from "../../host/shared";
import { Data, fixture, get, ITOA, logNumber, RawConnection, startGateway, startUpstream, waitFor, type Upstream } from "./harness";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(() => up.close());

test("SharedStore follows SharedData::get/set: cas 0 always writes, stale cas is CasMismatch, missing is NotFound", () => {
  const s = new SharedStore();
  expect(s.get("vm", "k")).toBeUndefined(); // proxy_get_shared_data answers NotFound
  expect(s.set("vm", "k", Buffer.from("v1"), 0)).toBe(WasmResult.Ok);
  const first = s.get("vm", "k");
  expect(first?.value.toString()).toBe("v1");
  expect(first?.cas).toBe(1); // cas_ starts at 1
  expect(s.set("vm", "k", Buffer.from("v2"), 0)).toBe(WasmResult.Ok); // cas 0: unconditional
  expect(s.get("vm", "k")?.cas).toBe(2);
  expect(s.set("vm", "k", Buffer.from("stale"), 1)).toBe(WasmResult.CasMismatch);
  expect(s.get("vm", "k")?.value.toString()).toBe("v2");
  expect(s.set("vm", "k", Buffer.from("v3"), 2)).toBe(WasmResult.Ok);
  expect(s.get("vm", "k")).toMatchObject({ cas: 3 });
  // A missing key is written whatever the cas (SharedData::set only compares an existing entry).
  expect(s.set("vm", "new", Buffer.from("x"), 12345)).toBe(WasmResult.Ok);
  expect(s.get("vm", "new")?.cas).toBe(4);
  // Another vm_id is another table.
  expect(s.get("other", "k")).toBeUndefined();
});

/**
 * on_configure: get "lease" (the VM that finds it NotFound creates it as "free" with cas 0 and calls
 * itself "a"; the other is "b"), logs "configure <result>", ticks every 1000 ms.
 * tick 1: get "lease", keep its cas, log "saw <value> cas-known <0|1>".
 * tick 2: set "lease" = "held-by-<me>" with the kept cas, log "set <result>", then "lease <value>".
 */
async function leaseModule(): Promise<Uint8Array> {
  const d = new Data({
    lease: "lease",
    free: "free",
    a: "held-by-a",
    b: "held-by-b",
    cfg: "configure ?",
    saw: "saw ",
    set: "set ??",
    now: "lease ",
  });
  const logWithValue = (prefix: string): string =>
    `(memory.copy (i32.const 512) (i32.const ${d.ptr(prefix)}) (i32.const ${d.len(prefix)}))
     (memory.copy (i32.add (i32.const 512) (i32.const ${d.len(prefix)})) (i32.load (i32.const 0)) (i32.load (i32.const 4)))
     (drop (call $log (i32.const 2) (i32.const 512) (i32.add (i32.const ${d.len(prefix)}) (i32.load (i32.const 4)))))`;
  return fixture(
    d,
    `(global $me (mut i32) (i32.const 0)) (global $cas (mut i32) (i32.const 0)) (global $ticks (mut i32) (i32.const 0))
     ${ITOA}
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (local $r i32)
       (local.set $r (call $get_shared ${d.ref("lease")} (i32.const 0) (i32.const 4) (i32.const 8)))
       (if (i32.eq (local.get $r) (i32.const 1))
         (then (drop (call $set_shared ${d.ref("lease")} ${d.ref("free")} (i32.const 0))) (global.set $me (i32.const ${d.ptr("a")})))
         (else (global.set $me (i32.const ${d.ptr("b")}))))
       (i32.store8 (i32.const ${d.ptr("cfg") + 10}) (i32.add (i32.const 48) (local.get $r)))
       (drop (call $log (i32.const 2) ${d.ref("cfg")}))
       (drop (call $set_tick (i32.const 1000)))
       (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
       (if (i32.eq (global.get $ticks) (i32.const 1)) (then
         (drop (call $get_shared ${d.ref("lease")} (i32.const 0) (i32.const 4) (i32.const 8)))
         (global.set $cas (i32.load (i32.const 8)))
         ${logWithValue("saw")}))
       (if (i32.eq (global.get $ticks) (i32.const 2)) (then
         ${logNumber(d, "set", 4, `(call $set_shared ${d.ref("lease")} (global.get $me) (i32.const 9) (global.get $cas))`)}
         (drop (call $get_shared ${d.ref("lease")} (i32.const 0) (i32.const 4) (i32.const 8)))
         ${logWithValue("now")}
         (drop (call $set_tick (i32.const 0))))))`,
  );
}

test("two worker VMs contend for a lease with get + CAS set: exactly one wins, the other gets CasMismatch", async () => {
  const t = await startGateway(await leaseModule(), { upstream: up.url, workers: 2, vmId: "lease-test", manualClock: true });
  // The configuration canary is configured first (NotFound (1): it creates the lease and is "a", then
  // is killed); the workers find it (Ok, 0) and are both "b".
  expect(t.wasmLogs()).toEqual(["wasm log lease-test: configure 1", "wasm log lease-test: configure 0", "wasm log lease-test: configure 0"]);
  await t.gw.advance(1000); // both read "free" and keep the same cas
  expect(t.wasmLogs().slice(3)).toEqual(["wasm log lease-test: saw free", "wasm log lease-test: saw free"]);
  await t.gw.advance(1000); // both try to take it with that cas
  expect(t.wasmLogs().slice(5)).toEqual([
    "wasm log lease-test: set 0", // worker 0 wins
    "wasm log lease-test: lease held-by-b",
    "wasm log lease-test: set 8", // worker 1: CasMismatch
    "wasm log lease-test: lease held-by-b",
  ]);
  await t.gw.close();
});

const pairs = (list: string[][]): Buffer => serializePairs(list.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));

/**
 * Ticks every 1000 ms; at its first tick, the VM that finds "owner" missing writes owner = "first" and
 * is "a" (at the tick, not in on_configure, where the configuration canary would take it); ticks log
 * "tick a" / "tick b"; a's first tick starts a call-out to cluster "jwks" (its response is logged as
 * "response"). Requests answer with the shared "owner" value.
 */
async function crashModule(): Promise<Uint8Array> {
  const d = new Data({
    owner: "owner",
    first: "first",
    ta: "tick a",
    tb: "tick b",
    resp: "response",
    details: "owner",
    jwks: "jwks",
    hdrs: pairs([
      [":method", "GET"],
      [":path", "/jwks"],
      [":authority", "jwks.local"],
    ]),
  });
  return fixture(
    d,
    `(global $a (mut i32) (i32.const 0)) (global $fetched (mut i32) (i32.const 0)) (global $claimed (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param i32 i32) (result i32)
       (drop (call $set_tick (i32.const 1000)))
       (i32.const 1))
     (func (export "proxy_on_tick") (param $root i32)
       (if (i32.eqz (global.get $claimed)) (then
         (global.set $claimed (i32.const 1))
         (if (i32.eq (call $get_shared ${d.ref("owner")} (i32.const 0) (i32.const 4) (i32.const 8)) (i32.const 1)) (then
           (drop (call $set_shared ${d.ref("owner")} ${d.ref("first")} (i32.const 0)))
           (global.set $a (i32.const 1))))))
       (if (global.get $a)
         (then (drop (call $log (i32.const 2) ${d.ref("ta")})))
         (else (drop (call $log (i32.const 2) ${d.ref("tb")}))))
       (if (i32.and (global.get $a) (i32.eqz (global.get $fetched))) (then
         (global.set $fetched (i32.const 1))
         (drop (call $http_call ${d.ref("jwks")} ${d.ref("hdrs")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 8))))))
     (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
       (drop (call $log (i32.const 2) ${d.ref("resp")})))
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (drop (call $get_shared ${d.ref("owner")} (i32.const 0) (i32.const 4) (i32.const 8)))
       (drop (call $local_reply (i32.const 200) ${d.ref("details")} (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0) (i32.const 0) (i32.const -1)))
       (i32.const 1))`,
  );
}

test("crash(): a VM failed mid-fetch stops ticking, never sees its response, answers 503; its shared data stays", async () => {
  let release: () => void = () => undefined;
  let requests = 0;
  let answered = false;
  const jwks = http.createServer((_req, res) => {
    requests++;
    release = () => res.writeHead(200, { "content-type": "application/json" }).end('{"keys":[]}', () => (answered = true));
  });
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", () => r()));
  const t = await startGateway(await crashModule(), {
    upstream: up.url,
    workers: 2,
    vmId: "crash-test",
    manualClock: true,
    settleWindowMs: 10,
    clusters: { jwks: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}` },
  });
  await t.gw.advance(1000); // both tick; worker 0 ("a") starts its fetch, which the server holds
  await waitFor(() => requests === 1, "the fetch at the server");
  expect(t.wasmLogs()).toEqual(["wasm log crash-test: tick a", "wasm log crash-test: tick b"]);

  t.gw.workers[0].crash();
  expect(t.gw.workers.map((w) => w.failed)).toEqual([true, false]);
  expect(t.logs.filter((l) => l.includes("Wasm VM failed"))).toEqual([
    expect.stringMatching(/^\[[^\]]+\]\[\d+\]\[error\]\[wasm\] Wasm VM failed Function: crash \(test hook\) failed: Uncaught RuntimeError: unreachable$/),
  ]);
  release(); // the response arrives after the failure: never delivered
  await waitFor(() => answered, "the response sent");
  await new Promise((r) => setTimeout(r, 20));
  await t.gw.settle();
  await t.gw.advance(3000);
  expect(t.wasmLogs().slice(2)).toEqual(["wasm log crash-test: tick b", "wasm log crash-test: tick b", "wasm log crash-test: tick b"]);

  const a = await RawConnection.open(t.gw.port); // worker 0
  const b = await RawConnection.open(t.gw.port); // worker 1
  const failed = await a.request(get("/", t.gw.port));
  expect(failed.status).toBe(503);
  expect(failed.body.length).toBe(0);
  const ok = await b.request(get("/", t.gw.port));
  expect(ok.status).toBe(200);
  expect(ok.body.toString()).toBe("first"); // written by the crashed VM
  a.close();
  b.close();
  await t.gw.close();
  await new Promise<void>((r) => {
    jwks.closeAllConnections();
    jwks.close(() => r());
  });
});
