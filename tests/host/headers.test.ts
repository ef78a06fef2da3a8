// Header maps as Envoy presents them to the module, and edits reaching the upstream and the client.

import { parsePairs, serializePairs } from "../../host/abi/pairs";
import {
  Data,
  digitHeader,
  fixture,
  get,
  RawConnection,
  replyWithOut,
  startGateway,
  startUpstream,
  waitFor,
  withoutNodeConnection,
  type TestGateway,
  type Upstream,
} from "./harness";

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const text = (pairs: Array<[Buffer, Buffer]>): string[][] => pairs.map(([k, v]) => [k.toString(), v.toString()]);

describe("request header map seen by the module", () => {
  let up: Upstream;
  let t: TestGateway;
  beforeAll(async () => {
    const d = new Data({ details: "echo headers" });
    // Replies with the serialized request header map (proxy_get_header_map_pairs(0)).
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $get_pairs (i32.const 0) (i32.const 0) (i32.const 4)))
         ${replyWithOut(d, 200, "details")}
         (i32.const 0))`,
    );
    up = await startUpstream();
    t = await startGateway(wasm, { upstream: up.url });
  });
  afterAll(async () => {
    await t.gw.close();
    await up.close();
  });

  test("pseudo-headers first, client headers lower-cased in order, then x-forwarded-proto and x-request-id", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request([
      "GET /p/a%20b?q=1&r=2 HTTP/1.1",
      `Host: 127.0.0.1:${t.gw.port}`,
      "User-Agent: raw/1",
      "X-Custom: A",
      "x-custom: b",
      "Connection: keep-alive",
      "Keep-Alive: timeout=5",
      "Accept: */*",
    ]);
    c.close();
    const pairs = text(parsePairs(r.body));
    expect(pairs.slice(0, -1)).toEqual([
      [":authority", `127.0.0.1:${t.gw.port}`],
      [":path", "/p/a%20b?q=1&r=2"],
      [":method", "GET"],
      [":scheme", "http"],
      ["user-agent", "raw/1"],
      ["x-custom", "A"],
      ["x-custom", "b"],
      ["accept", "*/*"],
      ["x-forwarded-proto", "http"],
    ]);
    expect(pairs[pairs.length - 1][0]).toBe("x-request-id");
    expect(pairs[pairs.length - 1][1]).toMatch(UUID4);
    // The plugin's local reply: text/plain (body set, no content-type given), then date and server.
    expect(r.status).toBe(200);
    expect(r.headers.map(([k]) => k)).toEqual(["content-length", "content-type", "date", "server"]);
    expect(r.header("content-length")).toBe(String(r.body.length));
    expect(r.header("content-type")).toBe("text/plain");
    expect(r.header("server")).toBe("envoy");
    expect(t.logs[t.logs.length - 1]).toMatch(/^\[[^\]]+\] "GET \/p\/a%20b\?q=1&r=2 HTTP\/1\.1" 200 echo_headers \d+ms$/);
  });

  test("a client x-request-id and x-forwarded-proto stay where they were; transfer-encoding is consumed", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(
      [
        "POST /upload HTTP/1.1",
        "X-Request-Id: my-id",
        "X-Forwarded-Proto: https",
        `Host: example.test`,
        "Transfer-Encoding: chunked",
        "Content-Type: text/plain",
      ],
      "5\r\nhello\r\n0\r\n\r\n",
    );
    c.close();
    expect(text(parsePairs(r.body))).toEqual([
      [":authority", "example.test"],
      [":path", "/upload"],
      [":method", "POST"],
      [":scheme", "http"],
      ["x-request-id", "my-id"],
      ["x-forwarded-proto", "https"],
      ["content-type", "text/plain"],
    ]);
  });
});

describe("header edits", () => {
  let up: Upstream;
  let t: TestGateway;
  beforeAll(async () => {
    const newPairs = serializePairs(
      [
        [":authority", "example.com"],
        [":path", "/set"],
        [":method", "DELETE"],
        ["X-Only", "1"],
      ].map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]),
    );
    const d = new Data({
      added: "x-added",
      one: "1",
      replace: "x-replace",
      new: "new",
      newbyreplace: "x-new-by-replace",
      v: "v",
      remove: "x-remove",
      path: ":path",
      newpath: "/rewritten?x=1",
      upper: "X-Upper",
      missing: "x-missing",
      getmissing: "x-get-missing",
      getresp: "x-get-resp-map",
      resp: "x-resp",
      yes: "yes",
      secret: "x-secret",
      status: ":status",
      s201: "201",
      setpairs: "x-set-pairs",
      pairs: newPairs,
    });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ;; a request carrying x-set-pairs has its whole map replaced
         (if (i32.eqz (call $get_header (i32.const 0) ${d.ref("setpairs")} (i32.const 0) (i32.const 4)))
           (then (drop (call $set_pairs (i32.const 0) ${d.ref("pairs")})) (return (i32.const 0))))
         (drop (call $add_header (i32.const 0) ${d.ref("added")} ${d.ref("one")}))
         (drop (call $replace_header (i32.const 0) ${d.ref("replace")} ${d.ref("new")}))
         (drop (call $replace_header (i32.const 0) ${d.ref("newbyreplace")} ${d.ref("v")}))
         (drop (call $remove_header (i32.const 0) ${d.ref("remove")}))
         (drop (call $replace_header (i32.const 0) ${d.ref("path")} ${d.ref("newpath")}))
         (drop (call $add_header (i32.const 0) ${d.ref("upper")} ${d.ref("v")}))
         ${digitHeader(d, 0, "getmissing", `(call $get_header (i32.const 0) ${d.ref("missing")} (i32.const 0) (i32.const 4))`)}
         ${digitHeader(d, 0, "getresp", `(call $get_header (i32.const 2) ${d.ref("status")} (i32.const 0) (i32.const 4))`)}
         (i32.const 0))
       (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $add_header (i32.const 2) ${d.ref("resp")} ${d.ref("yes")}))
         (drop (call $remove_header (i32.const 2) ${d.ref("secret")}))
         (drop (call $replace_header (i32.const 2) ${d.ref("status")} ${d.ref("s201")}))
         (i32.const 0))`,
    );
    up = await startUpstream((req, res) => {
      const body = `upstream saw ${req.method} ${req.url}`;
      res.writeHead(200, { "content-type": "text/plain", "x-upstream": "1", "x-secret": "s", "content-length": String(body.length) });
      res.end(body);
    });
    t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  });
  afterAll(async () => {
    await t.gw.close();
    await up.close();
  });

  test("add / replace / remove reach the upstream; pseudo-header edits change the request line", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/original", t.gw.port, ["X-Replace: old", "X-Replace: old2", "X-Remove: a", "X-Remove: b"]));
    c.close();
    expect(up.requests).toHaveLength(1);
    const seen = up.requests[0];
    expect(seen.method).toBe("GET");
    expect(seen.url).toBe("/rewritten?x=1");
    const headers = withoutNodeConnection(seen.rawHeaders);
    const rid = headers.find(([k]) => k === "x-request-id")?.[1];
    expect(rid).toMatch(UUID4);
    expect(headers).toEqual([
      ["host", `127.0.0.1:${t.gw.port}`],
      ["x-forwarded-proto", "http"],
      ["x-request-id", rid],
      ["x-added", "1"],
      ["x-replace", "new"], // setCopy: both old lines removed, the new one appended
      ["x-new-by-replace", "v"],
      ["x-upper", "v"],
      ["x-get-missing", "1"], // NotFound
      ["x-get-resp-map", "2"], // BadArgument: response headers do not exist yet
      ["x-envoy-expected-rq-timeout-ms", "15000"],
    ]);
    // Response: the filter's edits, x-envoy-upstream-service-time from the router, then date/server.
    expect(r.status).toBe(201);
    expect(r.headers.map(([k]) => k)).toEqual([
      "content-type",
      "x-upstream",
      "content-length",
      "date",
      "x-envoy-upstream-service-time",
      "x-resp",
      "server",
    ]);
    expect(r.header("server")).toBe("envoy");
    expect(r.header("x-resp")).toBe("yes");
    expect(r.header("x-envoy-upstream-service-time")).toMatch(/^\d+$/);
    expect(r.body.toString()).toBe("upstream saw GET /rewritten?x=1");
  });

  test("set_header_map_pairs replaces the whole map", async () => {
    const before = up.requests.length;
    const c = await RawConnection.open(t.gw.port);
    await c.request(get("/ignored", t.gw.port, ["X-Set-Pairs: yes", "X-Other: 1"]));
    c.close();
    const seen = up.requests[before];
    expect(seen.method).toBe("DELETE");
    expect(seen.url).toBe("/set");
    expect(withoutNodeConnection(seen.rawHeaders)).toEqual([
      ["host", "example.com"],
      ["x-only", "1"],
      ["x-envoy-expected-rq-timeout-ms", "15000"],
    ]);
  });
});

describe("access log", () => {
  test("logs :path as the filter left it (what went upstream), not the client's request line", async () => {
    const d = new Data({ path: ":path", clean: "/api/data?x=1" });
    // Replaces :path, as the JWT filter does after taking a token from ?access_token=.
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $replace_header (i32.const 0) ${d.ref("path")} ${d.ref("clean")}))
         (i32.const 0))`,
    );
    const up = await startUpstream();
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/api/data?x=1&access_token=SECRET-TOKEN", t.gw.port));
    c.close();
    expect(r.status).toBe(200);
    expect(up.requests.map((q) => q.url)).toEqual(["/api/data?x=1"]);
    await waitFor(() => t.logs.some((l) => l.includes('"GET ')), "access log");
    expect(t.logs.filter((l) => l.includes('"GET '))).toEqual([expect.stringMatching(/^\[[^\]]+\] "GET \/api\/data\?x=1 HTTP\/1\.1" 200 via_upstream \d+ms$/)]);
    expect(t.logs.join("\n")).not.toContain("SECRET-TOKEN");
    await t.gw.close();
    await up.close();
  });
});
