// Body callbacks: StopIterationAndBuffer (the next call sees the whole body so far), body edits with
// proxy_set_buffer_bytes (prepend, append, replace), and a body held while the headers are stopped,
// delivered in one call after continue_stream.

import { Data, fixture, ITOA, logNumber, RawConnection, startGateway, startUpstream, waitForLog, type TestGateway, type Upstream } from "./harness";

const ROOM = " ".repeat(12);

describe("request and response bodies", () => {
  let up: Upstream;
  let t: TestGateway;
  beforeAll(async () => {
    const d = new Data({
      cl: "content-length",
      hold: "x-hold",
      release: "x-release",
      released: "released",
      lt: "<<",
      gt: ">>",
      replaced: "REPLACED",
      reqbody: `req body eos=? size=${ROOM}`,
      respbody: `resp body eos=? size=${ROOM}`,
      held: "held",
    });
    const wasm = await fixture(
      d,
      `${ITOA}
       (global $held (mut i32) (i32.const 0))
       (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $remove_header (i32.const 0) ${d.ref("cl")}))
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("release")} (i32.const 0) (i32.const 4))) (then
           ;; continue another stream of this VM through the effective context, then answer this one
           (drop (call $set_effective (global.get $held)))
           (drop (call $continue (i32.const 0)))
           (drop (call $set_effective (local.get $ctx)))
           (drop (call $local_reply (i32.const 200) ${d.ref("released")} ${d.ref("released")} (i32.const 0) (i32.const 0) (i32.const -1)))
           (return (i32.const 0))))
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("hold")} (i32.const 0) (i32.const 4))) (then
           (global.set $held (local.get $ctx))
           (drop (call $log (i32.const 2) ${d.ref("held")}))
           (return (i32.const 1))))
         (i32.const 0))
       (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
         (i32.store8 (i32.const ${d.ptr("reqbody") + 13}) (i32.add (i32.const 48) (local.get $eos)))
         ${logNumber(d, "reqbody", 20, "(local.get $size)")}
         (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
         (drop (call $set_buffer (i32.const 0) (i32.const 0) (i32.const 0) ${d.ref("lt")}))
         (drop (call $set_buffer (i32.const 0) (i32.const -1) (i32.const 0) ${d.ref("gt")}))
         (i32.const 0))
       (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $remove_header (i32.const 2) ${d.ref("cl")}))
         (i32.const 0))
       (func (export "proxy_on_response_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
         (i32.store8 (i32.const ${d.ptr("respbody") + 14}) (i32.add (i32.const 48) (local.get $eos)))
         ${logNumber(d, "respbody", 21, "(local.get $size)")}
         (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
         (drop (call $set_buffer (i32.const 1) (i32.const 0) (local.get $size) ${d.ref("replaced")}))
         (i32.const 0))`,
    );
    up = await startUpstream((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("part one, ");
      setTimeout(() => res.end(`part two (${req.body})`), 5);
    });
    t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  });
  afterAll(async () => {
    await t.gw.close();
    await up.close();
  });

  const lines = (prefix: string): string[] => t.wasmLogs().filter((l) => l.startsWith(`wasm log: ${prefix}`));

  test("StopIterationAndBuffer accumulates; set_buffer_bytes prepends, appends and replaces", async () => {
    const c = await RawConnection.open(t.gw.port);
    const pending = c.request(["POST /b HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "Transfer-Encoding: chunked"]);
    for (const part of ["hello", " ", "world"]) {
      c.write(`${part.length.toString(16)}\r\n${part}\r\n`);
      await new Promise((r) => setTimeout(r, 10));
    }
    c.write("0\r\n\r\n");
    const r = await pending;
    c.close();
    expect(up.requests[up.requests.length - 1].body).toBe("<<hello world>>");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("REPLACED");
    // Whatever the chunking, the last call saw the whole body (11 bytes), with end_of_stream.
    expect(lines("req body").pop()).toBe("wasm log: req body eos=1 size=11");
    expect(lines("resp body").pop()).toBe(`wasm log: resp body eos=1 size=${"part one, part two (<<hello world>>)".length}`);
  });

  test("a body that arrives while the headers are stopped reaches on_request_body once, after continue", async () => {
    const before = lines("req body").length;
    const a = await RawConnection.open(t.gw.port);
    const pending = a.request(["POST /held HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "x-hold: 1", "Content-Length: 11"], "hello world");
    await waitForLog(t, "wasm log: held");
    await new Promise((r) => setTimeout(r, 30)); // let the body arrive while the request is held
    expect(lines("req body").length).toBe(before);
    const b = await RawConnection.open(t.gw.port);
    const rb = await b.request(["GET /release HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "x-release: 1"]);
    // The reply to the releasing request went through this filter's on_response_body too.
    expect(rb.body.toString()).toBe("REPLACED");
    const ra = await pending;
    expect(ra.status).toBe(200);
    expect(lines("req body").slice(before)).toEqual(["wasm log: req body eos=1 size=11"]);
    expect(up.requests[up.requests.length - 1].body).toBe("<<hello world>>");
    a.close();
    b.close();
  });
});
