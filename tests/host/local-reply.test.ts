// proxy_send_local_response as Envoy answers it (status, body, content-type rule, server: envoy, the
// reply passing through this filter's on_response_headers/body), and the stream lifecycle order.

import { serializePairs } from "../../host/abi/pairs";
import { Data, fixture, get, logText, RawConnection, startGateway, startUpstream, waitFor, waitForLog, type TestGateway, type Upstream } from "./harness";

const pairs = (list: string[][]): Buffer => serializePairs(list.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));

describe("local replies", () => {
  let up: Upstream;
  let t: TestGateway;
  beforeAll(async () => {
    const d = new Data({
      details: "access denied here",
      body: "forbidden",
      hdrs: pairs([["X-Custom", "1"]]),
      json: "x-json",
      jsonbody: '{"e":1}',
      jsonhdrs: pairs([
        ["content-type", "application/json"],
        ["www-authenticate", "Bearer"],
      ]),
      empty: "x-empty",
      denied: "denied",
      seen: "x-seen-by-filter",
      one: "1",
      l_req: "on_request_headers",
      l_body: "on_request_body",
      l_rh: "on_response_headers",
      l_rb: "on_response_body",
      l_log: "on_log",
      l_done: "on_done",
      l_delete: "on_delete",
      l_create: "create stream",
    });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_context_create") (param $id i32) (param $root i32)
         (if (local.get $root) (then ${logText(d, "l_create")})))
       (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_req")}
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("json")} (i32.const 0) (i32.const 4)))
           (then (drop (call $local_reply (i32.const 401) ${d.ref("denied")} ${d.ref("jsonbody")} ${d.ref("jsonhdrs")} (i32.const -1)))
                 (return (i32.const 0))))
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("empty")} (i32.const 0) (i32.const 4)))
           (then (drop (call $local_reply (i32.const 403) ${d.ref("denied")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1)))
                 (return (i32.const 0))))
         (drop (call $local_reply (i32.const 403) ${d.ref("details")} ${d.ref("body")} ${d.ref("hdrs")} (i32.const -1)))
         ;; the result is overridden to "stop" because a local reply was sent
         (i32.const 0))
       (func (export "proxy_on_request_body") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_body")} (i32.const 0))
       (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_rh")}
         (drop (call $add_header (i32.const 2) ${d.ref("seen")} ${d.ref("one")}))
         (i32.const 0))
       (func (export "proxy_on_response_body") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_rb")} (i32.const 0))
       (func (export "proxy_on_log") (param $ctx i32) ${logText(d, "l_log")})
       (func (export "proxy_on_done") (param $ctx i32) (result i32) ${logText(d, "l_done")} (i32.const 1))
       (func (export "proxy_on_delete") (param $ctx i32) ${logText(d, "l_delete")})`,
    );
    up = await startUpstream();
    t = await startGateway(wasm, { upstream: up.url, workers: 1, rootId: "lr" });
  });
  afterAll(async () => {
    await t.gw.close();
    await up.close();
  });

  const since = (n: number): string[] => t.wasmLogs().slice(n);
  const deletes = (): number => t.wasmLogs().filter((l) => l === "wasm log lr: on_delete").length;

  test("status, body, headers (plugin's first, then content-length, text/plain), re-entering on_response_*", async () => {
    const before = t.wasmLogs().length;
    const done = deletes();
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/x", t.gw.port));
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe("forbidden");
    const h = r.headers;
    expect(h.map(([k]) => k)).toEqual(["x-custom", "content-length", "content-type", "x-seen-by-filter", "date", "server"]);
    expect(h.slice(0, 4)).toEqual([
      ["x-custom", "1"],
      ["content-length", "9"],
      ["content-type", "text/plain"],
      ["x-seen-by-filter", "1"],
    ]);
    expect(r.header("server")).toBe("envoy");
    expect(r.header("date")).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    c.close();
    await waitForLog(t, "wasm log lr: on_delete", done + 1);
    expect(up.requests).toHaveLength(0);
    expect(since(before)).toEqual([
      "wasm log lr: create stream",
      "wasm log lr: on_request_headers",
      "wasm log lr: on_response_headers",
      "wasm log lr: on_response_body",
      "wasm log lr: on_log",
      "wasm log lr: on_done",
      "wasm log lr: on_delete",
    ]);
    expect(t.logs.find((l) => l.includes('"GET /x HTTP/1.1"'))).toMatch(/ 403 access_denied_here \d+ms$/);
  });

  test("a content-type set by the plugin is kept (no text/plain added)", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/j", t.gw.port, ["x-json: 1"]));
    c.close();
    expect(r.status).toBe(401);
    expect(r.body.toString()).toBe('{"e":1}');
    expect(r.headers.slice(0, 4)).toEqual([
      ["content-type", "application/json"],
      ["www-authenticate", "Bearer"],
      ["content-length", "7"],
      ["x-seen-by-filter", "1"],
    ]);
  });

  test("an empty body has no content-type, content-length: 0, and no on_response_body", async () => {
    const before = t.wasmLogs().length;
    const done = deletes();
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/e", t.gw.port, ["x-empty: 1"]));
    c.close();
    expect(r.status).toBe(403);
    expect(r.body.length).toBe(0);
    expect(r.headers.map(([k]) => k)).toEqual(["x-seen-by-filter", "date", "server", "content-length"]);
    expect(r.header("content-length")).toBe("0");
    await waitForLog(t, "wasm log lr: on_delete", done + 1);
    expect(since(before)).not.toContain("wasm log lr: on_response_body");
    expect(since(before)).toContain("wasm log lr: on_response_headers");
  });

  test("HEAD gets the headers only", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(["HEAD /h HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`], undefined, { head: true });
    expect(r.status).toBe(403);
    expect(r.header("content-length")).toBe("9");
    // The connection is still usable: nothing but the headers was written.
    const r2 = await c.request(get("/again", t.gw.port));
    expect(r2.body.toString()).toBe("forbidden");
    c.close();
  });

  test("after a local reply from on_request_headers the request body never reaches the filter", async () => {
    const before = t.wasmLogs().length;
    const done = deletes();
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(["POST /p HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "Content-Length: 5"], "hello");
    c.close();
    expect(r.status).toBe(403);
    await waitForLog(t, "wasm log lr: on_delete", done + 1);
    expect(since(before)).not.toContain("wasm log lr: on_request_body");
  });
});

describe("stream lifecycle through the upstream", () => {
  test("callbacks in Envoy's order; on_log reads (not writes) the request map", async () => {
    const d = new Data({
      l_create: "create stream",
      l_req: "on_request_headers",
      l_body: "on_request_body eos=?",
      l_rh: "on_response_headers",
      l_rb: "on_response_body eos=?",
      l_log: "on_log add=? get=? trailers=?",
      l_done: "on_done",
      l_delete: "on_delete",
      k: "x-k",
      path: ":path",
    });
    const patch = (name: string, at: number, expr: string): string =>
      `(i32.store8 (i32.const ${d.ptr(name) + at}) (i32.add (i32.const 48) ${expr}))`;
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_context_create") (param $id i32) (param $root i32)
         (if (local.get $root) (then ${logText(d, "l_create")})))
       (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_req")} (i32.const 0))
       (func (export "proxy_on_request_body") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${patch("l_body", 20, "(local.get $eos)")} ${logText(d, "l_body")} (i32.const 0))
       (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_rh")} (i32.const 0))
       (func (export "proxy_on_response_body") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${patch("l_rb", 21, "(local.get $eos)")} ${logText(d, "l_rb")} (i32.const 0))
       (func (export "proxy_on_log") (param $ctx i32)
         ${patch("l_log", 11, `(call $add_header (i32.const 0) ${d.ref("k")} ${d.ref("k")})`)}
         ${patch("l_log", 17, `(call $get_header (i32.const 0) ${d.ref("path")} (i32.const 0) (i32.const 4))`)}
         ${patch("l_log", 28, `(call $get_header (i32.const 1) ${d.ref("k")} (i32.const 0) (i32.const 4))`)}
         ${logText(d, "l_log")})
       (func (export "proxy_on_done") (param $ctx i32) (result i32) ${logText(d, "l_done")} (i32.const 1))
       (func (export "proxy_on_delete") (param $ctx i32) ${logText(d, "l_delete")})`,
    );
    const up = await startUpstream();
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(["POST /life HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "Content-Length: 5"], "hello");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("upstream saw POST /life");
    c.close();
    await waitForLog(t, "wasm log: on_delete");
    expect(t.wasmLogs()).toEqual([
      "wasm log: create stream",
      "wasm log: on_request_headers",
      "wasm log: on_request_body eos=1",
      "wasm log: on_response_headers",
      "wasm log: on_response_body eos=1",
      "wasm log: on_log add=2 get=0 trailers=1",
      "wasm log: on_done",
      "wasm log: on_delete",
    ]);
    expect(up.requests[0].body).toBe("hello");
    expect(t.logs[t.logs.length - 1]).toMatch(/"POST \/life HTTP\/1\.1" 200 via_upstream \d+ms$/);
    await t.gw.close();
    await up.close();
  });
});

describe("local replies during the response", () => {
  test("from on_response_headers: straight to the client (no filter re-entry), the upstream response dropped; from on_response_body after the headers went out: a reset", async () => {
    const d = new Data({
      deny: "x-deny",
      details: "response denied",
      body: "denied by filter",
      l_rh: "on_response_headers",
    });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logText(d, "l_rh")}
         (if (i32.eqz (call $get_header (i32.const 2) ${d.ref("deny")} (i32.const 0) (i32.const 4))) (then
           (drop (call $local_reply (i32.const 502) ${d.ref("details")} ${d.ref("body")} (i32.const 0) (i32.const 0) (i32.const -1)))))
         (i32.const 0))
       (func (export "proxy_on_response_body") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ;; the 9-byte body of /late triggers a reply after the headers were sent downstream
         (if (i32.eq (local.get $n) (i32.const 9)) (then
           (drop (call $local_reply (i32.const 500) ${d.ref("details")} ${d.ref("body")} (i32.const 0) (i32.const 0) (i32.const -1)))))
         (i32.const 0))`,
    );
    const up = await startUpstream((req, res) => {
      const body = req.url === "/late" ? "late-body" : "upstream";
      res.writeHead(200, req.url === "/deny" ? { "x-deny": "1", "content-length": "8" } : { "content-length": String(body.length) });
      res.end(body);
    });
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/deny", t.gw.port));
    expect(r.status).toBe(502);
    expect(r.body.toString()).toBe("denied by filter");
    expect(r.headers).toEqual([
      ["content-length", "16"],
      ["content-type", "text/plain"],
      ["date", r.header("date") as string],
      ["server", "envoy"],
    ]);
    // on_response_headers ran once (for the upstream response), not again for the reply.
    expect(t.wasmLogs().filter((l) => l === "wasm log: on_response_headers")).toHaveLength(1);
    const r2 = await c.request(get("/fine", t.gw.port));
    expect(r2.body.toString()).toBe("upstream");
    // Stage 3: the headers (200, content-length 9) are out; the reply resets the stream instead.
    await expect(c.request(get("/late", t.gw.port))).rejects.toThrow("connection closed");
    c.close();
    await waitFor(() => t.logs.some((l) => l.includes('"GET /deny HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"GET /deny HTTP/1.1"'))).toMatch(/ 502 response_denied \d+ms$/);
    await waitFor(() => t.logs.some((l) => l.includes('"GET /late HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"GET /late HTTP/1.1"'))).toMatch(/ 200 response_denied \d+ms$/);
    await t.gw.close();
    await up.close();
  });
});
