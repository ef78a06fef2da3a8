// Conformance of the host with Envoy's HTTP layer (issue 9 §2), each over real HTTP on 127.0.0.1 with a
// small WAT module standing in for a proxy-wasm SDK example: response headers flushed when the filter
// chain continues, the buffer limit checked as each chunk is added, replace_header_map_value as setCopy,
// the plugin configuration as raw bytes, hop-by-hop headers visible to filters and stripped after them,
// HTTP/1 framing and request-target handling, TE sanitizing and repeated Host lines, Envoy's log format,
// reset texts and the access-log switch.

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import { serveOptionsFromArgs } from "../../host/cli";
import { serve } from "../../host/index";
import { parsePairs } from "../../host/abi/pairs";
import {
  Data,
  deadPort,
  fixture,
  get,
  ITOA,
  logNumber,
  RawConnection,
  startGateway,
  startUpstream,
  waitFor,
  waitForLog,
  type TestGateway,
  type Upstream,
} from "./harness";

const MIB = 1024 * 1024;

/** WAT: logs the serialized pairs of header map `map` (proxy_get_header_map_pairs) as one log line. */
const logPairs = (map: number): string =>
  `(drop (call $get_pairs (i32.const ${map}) (i32.const 0) (i32.const 4)))
   (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))`;

/** The [name, value] pairs of every logged map (lines written by logPairs), in log order. */
function loggedMaps(t: TestGateway): Array<Array<[string, string]>> {
  return t
    .wasmLogs()
    .filter((l) => l.startsWith("wasm log: ") && l.charCodeAt(10) < 0x20)
    .map((l) => parsePairs(Buffer.from(l.slice("wasm log: ".length), "utf8")).map(([k, v]): [string, string] => [k.toString(), v.toString()]));
}

/** A raw TCP client that exposes what arrived so far (for responses the test reads piecemeal). */
async function openSocket(port: number): Promise<{ socket: net.Socket; data: () => Buffer; closed: () => boolean }> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((r) => socket.once("connect", () => r()));
  let buf = Buffer.alloc(0);
  let closed = false;
  socket.on("data", (d: Buffer) => (buf = Buffer.concat([buf, d])));
  socket.on("close", () => (closed = true));
  socket.on("error", () => undefined);
  return { socket, data: () => buf, closed: () => closed };
}

const headOf = (b: Buffer): string => b.subarray(0, b.indexOf("\r\n\r\n")).toString("latin1");

let up: Upstream;
let release: (() => void) | null = null;
beforeAll(async () => {
  up = await startUpstream((req, res) => {
    if (req.url === "/held") {
      // Headers now, the body only when the test says so.
      res.writeHead(200, { "content-type": "text/plain" });
      res.flushHeaders();
      release = () => res.end("late body");
      return;
    }
    if (req.url === "/hop") {
      res.writeHead(200, { connection: "keep-alive", "keep-alive": "timeout=5", "transfer-encoding": "chunked", "x-app": "1" });
      res.write("chunk one, ");
      res.end("chunk two");
      return;
    }
    if (req.url === "/big-response") {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(MIB + 1) });
      res.write(Buffer.alloc(MIB - 1000, 0x61));
      release = () => res.end(Buffer.alloc(1001, 0x62));
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "11" });
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`upstream saw ${req.method} ${req.url}`);
  });
});
afterAll(() => up.close());

// ----------------------------------------------------------------------------------------------
// 1. Response headers are flushed when the filter chain continues, not with the first body byte.

test("response headers reach the client as soon as the filter continues them, before the body exists", async () => {
  const d = new Data({ seen: "response headers continued" });
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (drop (call $log (i32.const 2) ${d.ref("seen")})) (i32.const 0))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  const c = await openSocket(t.gw.port);
  c.socket.write(`GET /held HTTP/1.1\r\nHost: 127.0.0.1:${t.gw.port}\r\n\r\n`);
  // The backend holds its body until released: the head must arrive without it.
  await waitFor(() => c.data().includes("\r\n\r\n"), "the response head before the body");
  await waitForLog(t, "wasm log: response headers continued");
  expect(headOf(c.data())).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  expect(c.data().includes("late body")).toBe(false);
  (release as unknown as () => void)();
  await waitFor(() => c.data().includes("late body"), "the body once the backend sends it");
  c.socket.destroy();
  await t.gw.close();
});

// ----------------------------------------------------------------------------------------------
// 2. The buffer limit is checked as each chunk is added, including the one that ends the body.

describe("a buffered body just over the buffer limit (1 MiB), crossed by its last chunk", () => {
  // Logs the size of every body call ("body <n>") and "end" at end_of_stream; buffers until then.
  async function bufferingModule(direction: "request" | "response", headersResult = 0): Promise<Uint8Array> {
    const d = new Data({ size: "body 0123456789", end: "end" });
    return fixture(
      d,
      `${ITOA}
       (func (export "proxy_on_${direction}_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (i32.const ${headersResult}))
       (func (export "proxy_on_${direction}_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
         ${logNumber(d, "size", 5, "(local.get $size)")}
         (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
         (drop (call $log (i32.const 2) ${d.ref("end")}))
         (i32.const 0))`,
    );
  }
  const sawSize = (t: TestGateway, n: number): boolean => t.wasmLogs().includes(`wasm log: body ${n}`);

  test("request: 413 Payload Too Large (request_payload_too_large); the module never sees the end", async () => {
    const t = await startGateway(await bufferingModule("request"), { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const pending = c.request(["POST /upload HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, `Content-Length: ${MIB + 1}`], Buffer.alloc(MIB - 1000, 0x61));
    await waitFor(() => sawSize(t, MIB - 1000), "the first 1 MiB - 1000 bytes buffered");
    c.write(Buffer.alloc(1001, 0x62));
    const r = await pending;
    c.close();
    expect(r.status).toBe(413);
    expect(r.body.toString()).toBe("Payload Too Large");
    expect(r.header("content-type")).toBe("text/plain");
    expect(t.wasmLogs()).not.toContain("wasm log: end");
    expect(t.wasmLogs().some((l) => /^wasm log: body \d+$/.test(l) && Number(l.slice(15)) > MIB)).toBe(false);
    expect(up.requests.find((q) => q.url === "/upload")).toBeUndefined();
    await waitFor(() => t.logs.some((l) => l.includes('"POST /upload HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"POST /upload HTTP/1.1"'))).toMatch(/ 413 request_payload_too_large \d+ms$/);
    await t.gw.close();
  });

  test("response after its headers were sent: the stream is reset (response_payload_too_large)", async () => {
    const t = await startGateway(await bufferingModule("response"), { upstream: up.url, workers: 1 });
    const c = await openSocket(t.gw.port);
    c.socket.write(`GET /big-response HTTP/1.1\r\nHost: 127.0.0.1:${t.gw.port}\r\n\r\n`);
    await waitFor(() => sawSize(t, MIB - 1000), "the first 1 MiB - 1000 bytes buffered");
    expect(headOf(c.data())).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    (release as unknown as () => void)();
    await waitFor(() => c.closed(), "the reset");
    expect(c.data().length - c.data().indexOf("\r\n\r\n") - 4).toBe(0);
    expect(t.wasmLogs()).not.toContain("wasm log: end");
    await waitFor(() => t.logs.some((l) => l.includes('"GET /big-response HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"GET /big-response HTTP/1.1"'))).toMatch(/ 200 response_payload_too_large \d+ms$/);
    await t.gw.close();
  });

  test("response held with its headers (StopAllIterationAndBuffer): 500 Internal Server Error", async () => {
    const t = await startGateway(await bufferingModule("response", 3), { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const pending = c.request(get("/big-response", t.gw.port));
    await waitFor(() => release !== null, "the backend's first part");
    await new Promise((r) => setTimeout(r, 50)); // the first part reaches the held buffer on its own
    (release as unknown as () => void)();
    const r = await pending;
    c.close();
    expect(r.status).toBe(500);
    expect(r.body.toString()).toBe("Internal Server Error");
    expect(r.headers.map(([k]) => k)).toEqual(["content-length", "content-type", "date", "server"]);
    await waitFor(() => t.logs.some((l) => l.includes('"GET /big-response HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"GET /big-response HTTP/1.1"'))).toMatch(/ 500 response_payload_too_large \d+ms$/);
    await t.gw.close();
  });

  beforeEach(() => {
    release = null;
  });
});

// ----------------------------------------------------------------------------------------------
// 3. proxy_replace_header_map_value is Envoy's setCopy: remove, then append.

test("replace_header_map_value drops every duplicate and moves the header to the end (pseudo-headers: of their block)", async () => {
  const d = new Data({ xa: "x-a", nv: "new", path: ":path", np: "/replaced" });
  const wasm = await fixture(
    d,
    `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (drop (call $replace_header (i32.const 0) ${d.ref("xa")} ${d.ref("nv")}))
       (drop (call $replace_header (i32.const 0) ${d.ref("path")} ${d.ref("np")}))
       ${logPairs(0)}
       (i32.const 0))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/orig", t.gw.port, ["X-A: 1", "X-B: 2", "X-A: 3", "X-Request-Id: rid"]));
  c.close();
  expect(r.body.toString()).toBe("upstream saw GET /replaced");
  const [map] = loggedMaps(t);
  expect(map).toEqual([
    [":authority", `127.0.0.1:${t.gw.port}`],
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/replaced"],
    ["x-b", "2"],
    ["x-request-id", "rid"],
    ["x-forwarded-proto", "http"],
    ["x-a", "new"],
  ]);
  const seen = up.requests.find((q) => q.url === "/replaced");
  const names = (seen?.rawHeaders ?? []).map(([k]) => k);
  expect(names.slice(0, 5)).toEqual(["host", "x-b", "x-request-id", "x-forwarded-proto", "x-a"]);
  expect(seen?.rawHeaders.filter(([k]) => k === "x-a")).toEqual([["x-a", "new"]]);
  await t.gw.close();
});

// ----------------------------------------------------------------------------------------------
// 4. The plugin configuration is the file's bytes, whatever they are.

describe("serve --config passes the file's bytes to proxy_on_configure", () => {
  let dir: string;
  let wasmFile: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-fidelity-"));
    // Logs the configuration (buffer 7) as it is, then its size.
    const d = new Data({ size: "size 0123456789" });
    wasmFile = path.join(dir, "config-logger.wasm");
    fs.writeFileSync(
      wasmFile,
      await fixture(
        d,
        `${ITOA}
         (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
           (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
           (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
           ${logNumber(d, "size", 5, "(local.get $size)")}
           (i32.const 1))`,
      ),
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([
    ["non-JSON text", Buffer.from("issuer: not JSON at all\n# a YAML comment\n")],
    ["an empty file", Buffer.alloc(0)],
    ["bytes that are not UTF-8", Buffer.from([0xff, 0xfe, 0x00, 0x41])],
  ])("%s", async (_what, bytes) => {
    const file = path.join(dir, "plugin.conf");
    fs.writeFileSync(file, bytes);
    const options = serveOptionsFromArgs(["--config", file, "--upstream", up.url, "--wasm", wasmFile, "--workers", "1", "--port", "0"], {});
    expect(Buffer.from(options.configuration as Uint8Array).equals(bytes)).toBe(true);
    const logs: string[] = [];
    const gw = await serve({ ...options, log: (l) => logs.push(l) });
    await gw.close();
    const messages = logs.filter((l) => l.includes("] wasm log")).map((l) => l.slice(l.indexOf("wasm log: ") + 10));
    // Canary VM and the worker's VM each configure once; both see the same bytes.
    expect(messages).toContain(`size ${bytes.length}`);
    if (bytes.length > 0 && bytes[0] !== 0xff) expect(messages).toContain(bytes.toString("utf8"));
    if (bytes.length === 0) expect(messages).toContain("");
  });

  test("--config-json keeps the JSON check (for our filter's configuration)", () => {
    const file = path.join(dir, "bad.json");
    fs.writeFileSync(file, "{nope");
    expect(() => serveOptionsFromArgs(["--config", file, "--config-json", "--upstream", up.url], {})).toThrow(/is not valid JSON/);
  });
});

// ----------------------------------------------------------------------------------------------
// 5. Hop-by-hop response headers: seen by the filter, stripped after it.

test("connection, keep-alive and transfer-encoding reach on_response_headers and never the client", async () => {
  const wasm = await fixture(
    new Data(),
    `(func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       ${logPairs(2)} (i32.const 0))`,
  );
  const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/hop", t.gw.port));
  const [map] = loggedMaps(t);
  expect(map.filter(([k]) => ["connection", "keep-alive", "transfer-encoding"].includes(k))).toEqual([
    ["connection", "keep-alive"],
    ["keep-alive", "timeout=5"],
    ["transfer-encoding", "chunked"],
  ]);
  // The codec frames the body itself (chunked); nothing else hop-by-hop is passed on.
  expect(r.body.toString()).toBe("chunk one, chunk two");
  // (date is the backend's line, its value set by the connection manager.)
  expect(r.headers.map(([k]) => k.toLowerCase())).toEqual(["x-app", "date", "x-envoy-upstream-service-time", "server", "transfer-encoding"]);
  expect(r.header("transfer-encoding")).toBe("chunked");
  // The framing was valid: the same connection serves the next request.
  const next = await c.request(get("/after-hop", t.gw.port));
  expect(next.body.toString()).toBe("upstream saw GET /after-hop");
  c.close();
  await t.gw.close();
});

// ----------------------------------------------------------------------------------------------
// 6. HTTP/1 framing and request handling, on raw sockets.

describe("HTTP/1 as Envoy's codec and connection manager handle it", () => {
  let t: TestGateway;
  beforeAll(async () => {
    const d = new Data({ deny: "/deny", path: ":path", denied: "denied", details: "denied_by_test" });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         ${logPairs(0)}
         (drop (call $get_header (i32.const 0) ${d.ref("path")} (i32.const 0) (i32.const 4)))
         (if (i32.and (i32.eq (i32.load (i32.const 4)) (i32.const 5))
                      (i32.eq (i32.load (i32.load (i32.const 0))) (i32.load (i32.const ${d.ptr("deny")}))))
           (then
             (drop (call $local_reply (i32.const 403) ${d.ref("details")} ${d.ref("denied")} (i32.const 0) (i32.const 0) (i32.const -1)))
             (return (i32.const 1))))
         (i32.const 0))`,
    );
    t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  });
  afterAll(() => t.gw.close());

  test("HEAD: no body, the backend's content-length kept, and the connection stays usable", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request([`HEAD /head HTTP/1.1`, `Host: 127.0.0.1:${t.gw.port}`], undefined, { head: true });
    expect(r.status).toBe(200);
    expect(r.header("content-length")).toBe("11");
    const next = await c.request(get("/after-head", t.gw.port));
    expect(next.body.toString()).toBe("upstream saw GET /after-head");
    c.close();
  });

  test("a local reply sent before the request body ended carries connection: close, and the connection closes", async () => {
    const c = await openSocket(t.gw.port);
    c.socket.write(`POST /deny HTTP/1.1\r\nHost: 127.0.0.1:${t.gw.port}\r\nContent-Length: 100\r\n\r\n0123456789`);
    await waitFor(() => c.closed(), "the connection to close");
    const head = headOf(c.data());
    expect(head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(head.split("\r\n").slice(1)).toEqual([
      "content-length: 6",
      "content-type: text/plain",
      expect.stringMatching(/^date: /),
      "server: envoy",
      "connection: close",
    ]);
    expect(c.data().subarray(c.data().indexOf("\r\n\r\n") + 4).toString()).toBe("denied");
  });

  test("a local reply to a complete request keeps the connection and adds no connection header", async () => {
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/deny", t.gw.port));
    expect(r.status).toBe(403);
    expect(r.header("connection")).toBeUndefined();
    const next = await c.request(get("/after-deny", t.gw.port));
    expect(next.status).toBe(200);
    c.close();
  });

  test("an absolute-form target sets :authority and :path from the URL", async () => {
    const before = loggedMaps(t).length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(["GET http://example.com/hello?x=1 HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`]);
    c.close();
    expect(r.body.toString()).toBe("upstream saw GET /hello?x=1");
    const map = loggedMaps(t)[before];
    expect(map.slice(0, 4)).toEqual([
      [":authority", "example.com"],
      [":path", "/hello?x=1"],
      [":method", "GET"],
      [":scheme", "http"],
    ]);
    expect(up.requests.find((q) => q.url === "/hello?x=1")?.rawHeaders.find(([k]) => k === "host")?.[1]).toBe("example.com");
  });

  test("headers the Connection header nominates are removed before the filter and the upstream", async () => {
    const before = loggedMaps(t).length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/nominated", t.gw.port, ["Connection: keep-alive, X-Secret", "X-Secret: s", "X-Other: o"]));
    c.close();
    expect(r.status).toBe(200);
    const names = loggedMaps(t)[before].map(([k]) => k);
    expect(names).toContain("x-other");
    expect(names).not.toContain("x-secret");
    expect(names).not.toContain("connection");
    const seen = up.requests.find((q) => q.url === "/nominated");
    expect(seen?.rawHeaders.some(([k]) => k.toLowerCase() === "x-secret")).toBe(false);
    expect(seen?.rawHeaders.find(([k]) => k === "x-other")?.[1]).toBe("o");
  });

  test("Connection: x-forwarded-proto is refused with 400 Bad Request before any filter", async () => {
    const before = loggedMaps(t).length;
    const c = await openSocket(t.gw.port);
    c.socket.write(`GET /sneaky HTTP/1.1\r\nHost: 127.0.0.1:${t.gw.port}\r\nConnection: x-forwarded-proto\r\n\r\n`);
    await waitFor(() => c.closed(), "the connection to close");
    const head = headOf(c.data());
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain("\r\nconnection: close");
    expect(c.data().subarray(c.data().indexOf("\r\n\r\n") + 4).toString()).toBe("Bad Request");
    expect(loggedMaps(t).length).toBe(before);
    expect(up.requests.find((q) => q.url === "/sneaky")).toBeUndefined();
    await waitFor(() => t.logs.some((l) => l.includes(" 400 http1.connection_header_rejected ")), "access log");
  });

  // ConnectionManagerUtility::sanitizeTEHeader (conn_manager_utility.cc, Envoy >= 1.29.3): before any
  // filter, a TE that lists exactly "trailers" becomes "trailers", any other TE is removed, an empty one
  // stays; TE is an inline header, so its lines are one entry (the first line's place), values joined.
  test.each([
    ["trailers, gzip", "trailers", ["TE: trailers, gzip"]],
    ["gzip, trailers ;q=0.5 (no element is exactly trailers)", undefined, ["TE: gzip, trailers ;q=0.5"]],
    ["gzip", undefined, ["TE: gzip"]],
    ["Trailers (the comparison is case-sensitive)", undefined, ["TE: Trailers"]],
    ["\\ttrailers\\t (ASCII whitespace stripped)", "trailers", ["TE: gzip,\ttrailers\t"]],
    ["two lines, gzip then trailers", "trailers", ["TE: gzip", "X-Between: b", "TE: trailers"]],
    ["an empty TE is left as it is", "", ["TE: "]],
    ["nominated by Connection with Trailers, deflate (any case there)", "trailers", ["Connection: te", "TE: Trailers, deflate"]],
    ["nominated by Connection without trailers", undefined, ["Connection: te", "TE: deflate"]],
])("TE %s: the filter and the upstream see te %p (undefined: removed)", async (name, expected, lines) => {
    const url = `/te-${encodeURIComponent(name)}`;
    const before = loggedMaps(t).length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get(url, t.gw.port, ["X-Before: a", ...lines, "X-After: z"]));
    c.close();
    expect(r.status).toBe(200);
    const map = loggedMaps(t)[before];
    const te = map.filter(([k]) => k === "te");
    expect(te).toEqual(expected === undefined ? [] : [["te", expected]]);
    // The one entry stays where the first TE line was.
    if (expected !== undefined) expect(map.findIndex(([k]) => k === "te")).toBe(map.findIndex(([k]) => k === "x-before") + 1);
    const seen = up.requests.find((q) => q.url === url);
    expect(seen?.rawHeaders.filter(([k]) => k.toLowerCase() === "te")).toEqual(expected === undefined ? [] : [["te", expected]]);
  });

  // Envoy's request header map maps a "host" line to the :authority inline header (HeaderMapImpl's
  // StaticLookupTable, "Special case where we map a legacy host header to :authority"), and the HTTP/1
  // codec adds each line with addViaMove, which appends a repeated inline header with ","
  // (HeaderMapImpl::appendToHeader): two Host lines are one :authority "a,b", not a 400 (neither the
  // codec nor BalsaParser's HttpValidationPolicy refuses a repeated Host). HeaderUtility::
  // requestHeadersValid then checks the joined value's characters (authorityIsValid).
  test("two Host lines: one :authority with both values joined by a comma, for the filter and the upstream", async () => {
    const before = loggedMaps(t).length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(["GET /two-hosts HTTP/1.1", "Host: a.example", "X-Mid: m", "Host: b.example:8080", "Host: "]);
    c.close();
    expect(r.status).toBe(200);
    const map = loggedMaps(t)[before];
    expect(map.filter(([k]) => k === ":authority" || k === "host")).toEqual([[":authority", "a.example,b.example:8080"]]);
    expect(map[0]).toEqual([":authority", "a.example,b.example:8080"]);
    const seen = up.requests.find((q) => q.url === "/two-hosts");
    expect(seen?.rawHeaders.filter(([k]) => k.toLowerCase() === "host")).toEqual([["host", "a.example,b.example:8080"]]);
  });

  test.each([
    ["a second Host line with a path", ["Host: a.example", "Host: b.example/admin"]],
    ["a Host with a space", ["Host: a.example evil.example"]],
    ["a Host with a quote", ['Host: "a.example"']],
  ])("%s: 400 Bad Request (http.invalid_authority) before any filter, nothing upstream", async (name, hosts) => {
    const url = `/bad-authority-${encodeURIComponent(name)}`;
    const before = loggedMaps(t).length;
    const c = await openSocket(t.gw.port);
    c.socket.write(`GET ${url} HTTP/1.1\r\n${hosts.join("\r\n")}\r\n\r\n`);
    await waitFor(() => c.closed(), "the connection to close");
    const head = headOf(c.data());
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain("\r\nconnection: close");
    expect(c.data().subarray(c.data().indexOf("\r\n\r\n") + 4).toString()).toBe("Bad Request");
    expect(loggedMaps(t).length).toBe(before);
    expect(up.requests.find((q) => q.url === url)).toBeUndefined();
    await waitFor(() => t.logs.some((l) => l.includes(" 400 http.invalid_authority ")), "access log");
  });

  // One pass over the header lines gives the map, the nominations, TE, :authority and end_stream together.
  test("one request with all of it: nominated x-request-id regenerated, TE, two Hosts, a chunked body", async () => {
    const before = loggedMaps(t).length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(
      [
        "POST /all-in-one HTTP/1.1",
        "Host: h1.example",
        "Connection: keep-alive, X-Request-Id, X-Drop",
        "X-Request-Id: chosen-by-client",
        "X-Drop: d",
        "TE: gzip, trailers",
        "Host: h2.example",
        "Transfer-Encoding: chunked",
        "Content-Length-Is-Not: 0",
      ],
      "5\r\nhello\r\n0\r\n\r\n",
    );
    expect(r.status).toBe(200);
    const map = loggedMaps(t)[before];
    expect(map.slice(0, 4)).toEqual([
      [":authority", "h1.example,h2.example"],
      [":path", "/all-in-one"],
      [":method", "POST"],
      [":scheme", "http"],
    ]);
    expect(map.slice(4).map(([k]) => k)).toEqual(["te", "content-length-is-not", "x-forwarded-proto", "x-request-id"]);
    expect(map.find(([k]) => k === "x-request-id")?.[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(up.requests.find((q) => q.url === "/all-in-one")?.body).toBe("hello");
    // A request with Content-Length: 0 ends with its headers and keeps the connection.
    const next = await c.request(["POST /after-all HTTP/1.1", "Host: h.example", "Content-Length: 0"]);
    expect(next.body.toString()).toBe("upstream saw POST /after-all");
    c.close();
  });
});

// ----------------------------------------------------------------------------------------------
// 7. Envoy's log lines, response headers, reset texts and access log.

describe("what Envoy prints and sends", () => {
  test("module logs use Envoy's default format and the wasm logger's prefix", async () => {
    const d = new Data({ hi: "hello", careful: "careful" });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $log (i32.const 2) ${d.ref("hi")}))
         (drop (call $log (i32.const 3) ${d.ref("careful")}))
         (i32.const 0))`,
    );
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, pluginName: "my_plugin", rootId: "my_root", vmId: "my_vm" });
    const c = await RawConnection.open(t.gw.port);
    await c.request(get("/log", t.gw.port));
    c.close();
    const ts = "\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\]";
    const lines = t.logs.filter((l) => l.includes("wasm log"));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^${ts}\\[${process.pid}\\]\\[info\\]\\[wasm\\] \\[source/extensions/common/wasm/context\\.cc:1137\\] wasm log my_plugin my_root my_vm: hello$`)),
      expect.stringMatching(new RegExp(`^${ts}\\[${process.pid}\\]\\[warning\\]\\[wasm\\] \\[source/extensions/common/wasm/context\\.cc:1140\\] wasm log my_plugin my_root my_vm: careful$`)),
    ]);
    await t.gw.close();
  });

  test("an upstream response gets no connection header (node:http's keep-alive is not added)", async () => {
    const t = await startGateway(await fixture(new Data(), ""), { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/plain", t.gw.port));
    expect(r.headers.map(([k]) => k.toLowerCase())).toEqual(["content-type", "date", "x-envoy-upstream-service-time", "server", "transfer-encoding"]);
    expect((await c.request(get("/plain-again", t.gw.port))).status).toBe(200);
    c.close();
    await t.gw.close();
  });

  test("a refused upstream connection: Envoy's current reset body and details", async () => {
    const t = await startGateway(await fixture(new Data(), ""), { upstream: `http://127.0.0.1:${await deadPort()}`, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/refused", t.gw.port));
    c.close();
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused",
    );
    await waitFor(() => t.logs.some((l) => l.includes('"GET /refused HTTP/1.1"')), "access log");
    expect(t.logs.find((l) => l.includes('"GET /refused HTTP/1.1"'))).toMatch(
      / 503 upstream_reset_before_response_started\{remote_connection_failure\|delayed_connect_error:_Connection_refused\} \d+ms$/,
    );
    await t.gw.close();
  });

  test("the access log is off unless asked; on, it prints :path as the filter left it", async () => {
    const d = new Data({ path: ":path", np: "/rewritten" });
    const wasm = await fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $replace_header (i32.const 0) ${d.ref("path")} ${d.ref("np")}))
         (i32.const 0))`,
    );
    for (const accessLog of [undefined, true]) {
      const logs: string[] = [];
      const gw = await serve({ wasm, configuration: "", upstream: up.url, port: 0, workers: 1, log: (l) => logs.push(l), accessLog });
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`${gw.url}/original`, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (ch: Buffer) => chunks.push(ch));
            res.on("end", () => resolve(Buffer.concat(chunks).toString()));
          })
          .on("error", reject);
      });
      expect(body).toBe("upstream saw GET /rewritten");
      await gw.close();
      if (accessLog) expect(logs).toEqual([expect.stringMatching(/^\[[^\]]+\] "GET \/rewritten HTTP\/1\.1" 200 via_upstream \d+ms$/)]);
      else expect(logs).toEqual([]);
    }
  });
});
