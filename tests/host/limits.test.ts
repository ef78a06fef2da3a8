// Envoy's limits and timeouts around a filter: the route timeout (504), the buffer limit for a body
// buffered with StopIterationAndBuffer (413), and large bodies crossing memory growth.

import http from "node:http";
import { Data, fixture, get, RawConnection, startGateway, startUpstream, waitFor, type Upstream } from "./harness";

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream((req, res) => {
    if (req.url === "/slow") return; // never answers
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(req.body.length > 100 ? `got ${req.body.length} bytes, starts ${req.body.slice(0, 4)}, ends ${req.body.slice(-4)}` : req.body);
  });
});
afterAll(() => up.close());

test("the route timeout answers 504 'upstream request timeout' and tells the upstream the timeout", async () => {
  const t = await startGateway(await fixture(new Data(), ""), { upstream: up.url, workers: 1, routeTimeoutMs: 50 });
  const c = await RawConnection.open(t.gw.port);
  const r = await c.request(get("/slow", t.gw.port));
  c.close();
  expect(r.status).toBe(504);
  expect(r.body.toString()).toBe("upstream request timeout");
  const seen = up.requests.find((q) => q.url === "/slow");
  expect(seen?.rawHeaders.find(([k]) => k === "x-envoy-expected-rq-timeout-ms")?.[1]).toBe("50");
  await waitFor(() => t.logs.some((l) => l.includes('"GET /slow HTTP/1.1"')), "access log");
  expect(t.logs.find((l) => l.includes('"GET /slow HTTP/1.1"'))).toMatch(/ 504 upstream_response_timeout \d+ms$/);
  await t.gw.close();
});

describe("buffered bodies", () => {
  // Buffers the request body (StopIterationAndBuffer) until the end, then copies it out with
  // get_buffer_bytes and writes the copy back with set_buffer_bytes (a malloc that grows memory).
  async function bufferingModule(): Promise<Uint8Array> {
    const d = new Data({ cl: "content-length" });
    return fixture(
      d,
      `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
         (drop (call $remove_header (i32.const 0) ${d.ref("cl")}))
         (i32.const 0))
       (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $eos i32) (result i32)
         (if (i32.eqz (local.get $eos)) (then (return (i32.const 1))))
         (drop (call $get_buffer (i32.const 0) (i32.const 0) (local.get $size) (i32.const 0) (i32.const 4)))
         (drop (call $set_buffer (i32.const 0) (i32.const 0) (local.get $size) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
         (i32.const 0))`,
    );
  }

  test("over the buffer limit: 413 Payload Too Large", async () => {
    const t = await startGateway(await bufferingModule(), { upstream: up.url, workers: 1, bufferLimitBytes: 16 });
    const c = await RawConnection.open(t.gw.port);
    const pending = c.request(["POST /big HTTP/1.1", `Host: 127.0.0.1:${t.gw.port}`, "Content-Length: 64"], "x".repeat(40));
    await new Promise((res) => setTimeout(res, 20)); // the first 40 bytes are buffered on their own
    c.write("x".repeat(24));
    const r = await pending;
    c.close();
    expect(r.status).toBe(413);
    expect(r.body.toString()).toBe("Payload Too Large");
    expect(up.requests.find((q) => q.url === "/big")?.body ?? "").not.toBe("x".repeat(64));
    await t.gw.close();
  });

  test("a 300 KiB body round-trips through module memory that grows while the host writes into it", async () => {
    const t = await startGateway(await bufferingModule(), { upstream: up.url, workers: 1 });
    const before = t.gw.workers[0].memoryBytes();
    const body = `head${"y".repeat(300 * 1024)}tail`;
    const r = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: t.gw.port, method: "POST", path: "/large" }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks).toString()));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(r).toBe(`got ${body.length} bytes, starts head, ends tail`);
    expect(before).toBe(65536);
    expect(t.gw.workers[0].memoryBytes()).toBeGreaterThan(300 * 1024);
    await t.gw.close();
  });
});

test("proxy_close_stream resets the stream (HTTP/1: the connection closes, no response)", async () => {
  const d = new Data();
  const wasm = await fixture(d, `(func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (drop (call $close_stream (i32.const 0))) (i32.const 1))`);
  const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
  const c = await RawConnection.open(t.gw.port);
  await expect(c.request(get("/closed", t.gw.port))).rejects.toThrow("connection closed");
  await waitFor(() => t.logs.some((l) => l.includes('"GET /closed HTTP/1.1"')), "access log");
  expect(t.logs.find((l) => l.includes('"GET /closed HTTP/1.1"'))).toMatch(/ 0 wasm_close_stream \d+ms$/);
  expect(up.requests.find((q) => q.url === "/closed")).toBeUndefined();
  await t.gw.close();
});
