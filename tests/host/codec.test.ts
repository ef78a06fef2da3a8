// Envoy's HTTP/1 codec limits before any filter runs: max_headers_count (431 http1.too_many_headers,
// then the connection closes) and max_request_headers_kb (60 KiB, node's maxHeaderSize here).

import { serve } from "../../host/index";
import { Data, fixture, get, ITOA, logNumber, RawConnection, startGateway, startUpstream, waitFor, waitForLog, type Upstream } from "./harness";

/** `n` header lines after Host, named h-0, h-1, … (short names and values, so thousands fit in 60 KiB). */
const headerLines = (n: number): string[] => Array.from({ length: n }, (_, i) => `h-${i.toString(36)}: ${i % 10}`);

let up: Upstream;
let wasm: Uint8Array;
beforeAll(async () => {
  // The upstream takes whatever the gateway forwards: no header count limit, 1 MiB of headers.
  up = await startUpstream(undefined, { maxHeadersCount: 0, maxHeaderSize: 1024 * 1024 });
  // Logs "request headers: <n>", n being the map size proxy_on_request_headers is given.
  const d = new Data({ count: `request headers: ${" ".repeat(10)}` });
  wasm = await fixture(
    d,
    `${ITOA}
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       ${logNumber(d, "count", 17, "(local.get $n)")}
       (i32.const 0))`,
  );
});
afterAll(() => up.close());

/** Client headers the upstream received that the test sent (h-0, h-1, …). */
const forwarded = (url: string): number => up.requests.find((q) => q.url === url)?.rawHeaders.filter(([k]) => /^h-[0-9a-z]+$/.test(k)).length ?? -1;

describe("max_request_headers_count (default 100, as Envoy)", () => {
  test("100 header lines (Host included) reach the filter and the upstream", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/count-100", t.gw.port, headerLines(99)));
    c.close();
    expect(r.status).toBe(200);
    // Host becomes :authority; + :path, :method, :scheme, x-forwarded-proto, x-request-id.
    await waitForLog(t, "wasm log: request headers: 105");
    expect(forwarded("/count-100")).toBe(99);
    await t.gw.close();
  });

  test("101 header lines: 431 from the codec, no filter, nothing upstream, the connection closes", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/count-101?access_token=SECRET", t.gw.port, headerLines(100)));
    expect(r.status).toBe(431);
    expect(r.body.toString()).toBe("Request Header Fields Too Large");
    expect(r.headers.map(([k, v]) => [k.toLowerCase(), k === "date" ? "-" : v])).toEqual([
      ["content-length", "31"],
      ["content-type", "text/plain"],
      ["date", "-"],
      ["server", "envoy"],
      ["connection", "close"],
    ]);
    await waitFor(() => c.closed, "the connection to close");
    await waitFor(() => t.logs.some((l) => l.includes(" 431 ")), "access log");
    // No stream had request headers: Envoy's %REQ(:METHOD)% and %REQ(:PATH)% print "-".
    expect(t.logs).toEqual([expect.stringMatching(/^\[[^\]]+\] "- - HTTP\/1\.1" 431 http1\.too_many_headers \d+ms$/)]);
    expect(t.wasmLogs()).toEqual([]);
    expect(forwarded("/count-101?access_token=SECRET")).toBe(-1);
    await t.gw.close();
  });

  test("a raised limit: 8,190 short headers reach the filter and the upstream whole (node's 2000 cap is off)", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, maxRequestHeadersCount: 10000 });
    const c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/count-8190", t.gw.port, headerLines(8190)));
    c.close();
    expect(r.status).toBe(200);
    await waitForLog(t, `wasm log: request headers: ${8190 + 6}`);
    expect(forwarded("/count-8190")).toBe(8190);
    await t.gw.close();
  });

  test("the limit is the option's: 10 lines pass a limit of 10, 11 do not", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1, maxRequestHeadersCount: 10 });
    let c = await RawConnection.open(t.gw.port);
    expect((await c.request(get("/count-10", t.gw.port, headerLines(9)))).status).toBe(200);
    c.close();
    c = await RawConnection.open(t.gw.port);
    expect((await c.request(get("/count-11", t.gw.port, headerLines(10)))).status).toBe(431);
    c.close();
    expect(forwarded("/count-11")).toBe(-1);
    await t.gw.close();
  });

  test("maxRequestHeadersCount must be a positive integer (Envoy: UInt32Value, gte 1)", async () => {
    const bytes = await fixture(new Data(), "");
    await expect(serve({ wasm: bytes, configuration: "", upstream: up.url, maxRequestHeadersCount: 0 })).rejects.toMatchObject({
      code: "HOST_ERR_BAD_OPTIONS",
      message: "maxRequestHeadersCount must be an integer from 1 to 4294967295, got 0",
    });
  });
});

describe("max_request_headers_kb (60 KiB) still applies with the count limit lifted", () => {
  test("59 KiB of headers pass; over 60 KiB node answers 431 and nothing reaches the filter or upstream", async () => {
    const t = await startGateway(wasm, { upstream: up.url, workers: 1 });
    let c = await RawConnection.open(t.gw.port);
    const ok = await c.request(get("/kb-59", t.gw.port, [`big: ${"q".repeat(59 * 1024)}`]));
    c.close();
    expect(ok.status).toBe(200);
    await waitForLog(t, "wasm log: request headers: 7");
    c = await RawConnection.open(t.gw.port);
    const r = await c.request(get("/kb-61", t.gw.port, [`big: ${"q".repeat(61 * 1024)}`]));
    expect(r.status).toBe(431);
    await waitFor(() => c.closed, "the connection to close");
    expect(up.requests.some((q) => q.url === "/kb-61")).toBe(false);
    expect(t.wasmLogs()).toEqual(["wasm log: request headers: 7"]);
    await t.gw.close();
  });
});
