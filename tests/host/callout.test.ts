// proxy_http_call: pause with StopIteration, deliver the response to the root context later, resume
// with continue_stream; Envoy's BadArgument, 504 and 503 answers; a reset as (0,0,0) + status 11.

import http from "node:http";
import { serializePairs } from "../../host/abi/pairs";
import {
  Data,
  deadPort,
  digitHeader,
  fixture,
  get,
  RawConnection,
  startGateway,
  startUpstream,
  waitFor,
  withoutNodeConnection,
  type Upstream,
} from "./harness";

const pairs = (list: string[][]): Buffer => serializePairs(list.map(([k, v]) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]));

/**
 * The configuration is "<d><cluster>": timeout d*100 ms ('0' = none, '/' = -100), then the cluster.
 * on_request_headers calls the cluster and pauses; on_http_call_response copies what it got into
 * request headers (x-auth-status, x-auth-body, x-token, x-status-code/msg) and continues.
 */
async function calloutModule(): Promise<Uint8Array> {
  const d = new Data({
    hdrs: pairs([
      [":method", "GET"],
      [":path", "/check"],
      [":authority", "auth.local"],
      ["X-From", "wasm"],
    ]),
    callres: "x-call-result",
    token: "x-token",
    status: ":status",
    authstatus: "x-auth-status",
    authbody: "x-auth-body",
    statuscode: "x-status-code",
    statusmsg: "x-status-msg",
  });
  return fixture(
    d,
    `(global $cfg (mut i32) (i32.const 0)) (global $cfglen (mut i32) (i32.const 0)) (global $stream (mut i32) (i32.const 0))
     (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
       (drop (call $get_buffer (i32.const 7) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
       (global.set $cfg (i32.load (i32.const 0)))
       (global.set $cfglen (i32.load (i32.const 4)))
       (i32.const 1))
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (local $r i32)
       (global.set $stream (local.get $ctx))
       (local.set $r (call $http_call
         (i32.add (global.get $cfg) (i32.const 1)) (i32.sub (global.get $cfglen) (i32.const 1))
         ${d.ref("hdrs")} (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
         (i32.mul (i32.sub (i32.load8_u (global.get $cfg)) (i32.const 48)) (i32.const 100))
         (i32.const 8)))
       (if (local.get $r) (then ${digitHeader(d, 0, "callres", "(local.get $r)")} (return (i32.const 0))))
       (i32.const 1))
     (func (export "proxy_on_http_call_response") (param $root i32) (param $token i32) (param $nh i32) (param $bs i32) (param $nt i32)
       (drop (call $set_effective (global.get $stream)))
       ${digitHeader(d, 0, "token", "(local.get $token)")}
       (if (i32.eqz (local.get $nh)) (then
         (drop (call $get_status (i32.const 8) (i32.const 0) (i32.const 4)))
         ${digitHeader(d, 0, "statuscode", "(i32.load (i32.const 8))")}
         (drop (call $add_header (i32.const 0) ${d.ref("statusmsg")} (i32.load (i32.const 0)) (i32.load (i32.const 4))))))
       (if (local.get $nh) (then
         (drop (call $get_header (i32.const 6) ${d.ref("status")} (i32.const 0) (i32.const 4)))
         (drop (call $add_header (i32.const 0) ${d.ref("authstatus")} (i32.load (i32.const 0)) (i32.load (i32.const 4))))
         (drop (call $get_buffer (i32.const 4) (i32.const 0) (local.get $bs) (i32.const 0) (i32.const 4)))
         (drop (call $add_header (i32.const 0) ${d.ref("authbody")} (i32.load (i32.const 0)) (i32.load (i32.const 4))))))
       (drop (call $continue (i32.const 0))))`,
  );
}

let wasm: Uint8Array;
let up: Upstream;
beforeAll(async () => {
  wasm = await calloutModule();
  up = await startUpstream();
});
afterAll(() => up.close());

const seenHeader = (i: number, name: string): string | undefined => up.requests[i].rawHeaders.find(([k]) => k === name)?.[1];

test("StopIteration pauses the request until the call-out answers; the callback reads map 6 and buffer 4", async () => {
  let release: () => void = () => undefined;
  const authRequests: Array<{ url: string; headers: Array<[string, string]> }> = [];
  const auth = http.createServer((req, res) => {
    const raw: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    authRequests.push({ url: req.url ?? "", headers: raw });
    release = () => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "8" });
      res.end("ok-token");
    };
  });
  await new Promise<void>((r) => auth.listen(0, "127.0.0.1", () => r()));
  const authUrl = `http://127.0.0.1:${(auth.address() as { port: number }).port}`;
  const t = await startGateway(wasm, { upstream: up.url, configuration: "0auth", clusters: { auth: authUrl }, workers: 1 });
  const before = up.requests.length;
  const c = await RawConnection.open(t.gw.port);
  const pending = c.request(get("/paused", t.gw.port));
  await waitFor(() => authRequests.length === 1, "the call-out");
  // Paused: nothing went upstream while the call-out is outstanding.
  expect(up.requests.length).toBe(before);
  expect(authRequests[0].url).toBe("/check");
  expect(withoutNodeConnection(authRequests[0].headers)).toEqual([
    ["host", "auth.local"],
    ["x-from", "wasm"],
  ]);
  release();
  const r = await pending;
  expect(r.status).toBe(200);
  expect(r.body.toString()).toBe("upstream saw GET /paused");
  expect(seenHeader(before, "x-token")).toBe("4");
  expect(seenHeader(before, "x-auth-status")).toBe("200");
  expect(seenHeader(before, "x-auth-body")).toBe("ok-token");
  // Tokens are 4, 8, 12… per VM.
  const second = c.request(get("/again", t.gw.port));
  await waitFor(() => authRequests.length === 2, "the second call-out");
  release();
  await second;
  expect(seenHeader(before + 1, "x-token")).toBe("8");
  c.close();
  await t.gw.close();
  await new Promise<void>((r) => {
    auth.closeAllConnections();
    auth.close(() => r());
  });
});

test("an unknown cluster and a negative timeout give BadArgument", async () => {
  for (const configuration of ["0nope", "/auth"]) {
    const t = await startGateway(wasm, { upstream: up.url, configuration, clusters: { auth: "http://127.0.0.1:9" }, workers: 1 });
    const before = up.requests.length;
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/u", t.gw.port));
    c.close();
    expect(r.status).toBe(200);
    expect(seenHeader(before, "x-call-result")).toBe("2");
    expect(seenHeader(before, "x-auth-status")).toBeUndefined();
    await t.gw.close();
  }
});

test("a call-out timeout is a 504 'upstream request timeout' response", async () => {
  const slow = http.createServer(() => undefined); // never answers
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()));
  const slowUrl = `http://127.0.0.1:${(slow.address() as { port: number }).port}`;
  const t = await startGateway(wasm, { upstream: up.url, configuration: "1slow", clusters: { slow: slowUrl }, workers: 1 });
  const before = up.requests.length;
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/t", t.gw.port));
  c.close();
  expect(r.status).toBe(200);
  expect(seenHeader(before, "x-auth-status")).toBe("504");
  expect(seenHeader(before, "x-auth-body")).toBe("upstream request timeout");
  await t.gw.close();
  await new Promise<void>((r2) => {
    slow.closeAllConnections();
    slow.close(() => r2());
  });
});

test("a call-out connect failure is Envoy's 503", async () => {
  const t = await startGateway(wasm, { upstream: up.url, configuration: "0dead", clusters: { dead: `http://127.0.0.1:${await deadPort()}` }, workers: 1 });
  const before = up.requests.length;
  const c = await RawConnection.open(t.gw.port);
  await c.request(get("/d", t.gw.port));
  c.close();
  expect(seenHeader(before, "x-auth-status")).toBe("503");
  expect(seenHeader(before, "x-auth-body")).toBe("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused");
  await t.gw.close();
});

test("a reset after the response headers is delivered as (0,0,0) with status 11 'reset'", async () => {
  const broken = http.createServer((_req, res) => {
    res.writeHead(200, { "content-length": "100" });
    res.write("partial", () => res.socket?.destroy());
  });
  await new Promise<void>((r) => broken.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(broken.address() as { port: number }).port}`;
  const t = await startGateway(wasm, { upstream: up.url, configuration: "0broken", clusters: { broken: url }, workers: 1 });
  const before = up.requests.length;
  const c = await RawConnection.open(t.gw.port);
  await c.request(get("/r", t.gw.port));
  c.close();
  expect(seenHeader(before, "x-status-code")).toBe(String.fromCharCode(48 + 11));
  expect(seenHeader(before, "x-status-msg")).toBe("reset");
  expect(seenHeader(before, "x-auth-status")).toBeUndefined();
  await t.gw.close();
  await new Promise<void>((r) => {
    broken.closeAllConnections();
    broken.close(() => r());
  });
});

test("the main upstream refusing connections gives Envoy's 503 through the filter", async () => {
  const d = new Data();
  const pass = await fixture(d, "");
  const t = await startGateway(pass, { upstream: `http://127.0.0.1:${await deadPort()}`, workers: 1 });
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/x", t.gw.port));
  c.close();
  expect(r.status).toBe(503);
  expect(r.body.toString()).toBe("upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused");
  expect(r.headers.map(([k]) => k)).toEqual(["content-length", "content-type", "date", "server"]);
  await waitFor(() => t.logs.some((l) => l.includes('"GET /x HTTP/1.1"')), "access log");
  expect(t.logs.find((l) => l.includes('"GET /x HTTP/1.1"'))).toMatch(/ 503 upstream_reset_before_response_started\{remote_connection_failure\|delayed_connect_error:_Connection_refused\} \d+ms$/);
  await t.gw.close();
});
