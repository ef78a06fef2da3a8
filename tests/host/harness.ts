// Test harness for the proxy-wasm host: WAT fixture modules compiled with wabt, a raw keep-alive
// HTTP/1.1 client (exact header order, one TCP connection = one worker), and a recording upstream.

import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { serve, type Gateway, type ServeOptions } from "../../host/index";

// ----------------------------------------------------------------------------------------------
// WAT

type Wabt = {
  parseWat(name: string, text: string, features?: Record<string, boolean>): {
    resolveNames(): void;
    validate(): void;
    toBinary(o: { write_debug_names?: boolean }): { buffer: Uint8Array };
    destroy(): void;
  };
};
let wabtPromise: Promise<Wabt> | null = null;

export async function wat(text: string): Promise<Uint8Array> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  wabtPromise ??= (require("wabt") as () => Promise<Wabt>)();
  const wabt = await wabtPromise;
  const m = wabt.parseWat("fixture.wat", text);
  try {
    m.resolveNames();
    m.validate();
    return m.toBinary({ write_debug_names: true }).buffer;
  } finally {
    m.destroy();
  }
}

/** Places strings/bytes in a data segment from 1024 on; `ref(name)` gives "(i32.const ptr) (i32.const len)". */
export class Data {
  private next = 1024;
  private readonly entries = new Map<string, { ptr: number; len: number; bytes: Buffer }>();

  constructor(items: Record<string, string | Buffer> = {}) {
    for (const [k, v] of Object.entries(items)) this.add(k, v);
  }

  add(name: string, value: string | Buffer): this {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    this.entries.set(name, { ptr: this.next, len: bytes.length, bytes });
    this.next += bytes.length + 8 - (bytes.length % 8);
    return this;
  }

  ptr(name: string): number {
    return this.get(name).ptr;
  }

  len(name: string): number {
    return this.get(name).len;
  }

  /** "(i32.const ptr) (i32.const len)" for a call argument pair. */
  ref(name: string): string {
    const e = this.get(name);
    return `(i32.const ${e.ptr}) (i32.const ${e.len})`;
  }

  private get(name: string): { ptr: number; len: number; bytes: Buffer } {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no data named ${name}`);
    return e;
  }

  segments(): string {
    let out = "";
    for (const e of this.entries.values()) {
      const esc = [...e.bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
      out += `  (data (i32.const ${e.ptr}) "${esc}")\n`;
    }
    return out;
  }
}

/** Scratch words the fixtures use for out-parameters. */
export const OUT_PTR = 0;
export const OUT_SIZE = 4;
export const OUT_U32 = 8;
export const OUT_U64 = 16;

/** Every env import the fixtures may use, with Envoy's signatures. */
export const IMPORTS = `
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $remove_header (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $get_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $set_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buffer (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $local_reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $set_effective (param i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $set_tick (param i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_status" (func $get_status (param i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_get_metric" (func $get_metric (param i32 i32) (result i32)))
  (import "env" "proxy_register_shared_queue" (func $register_queue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $resolve_queue (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_enqueue_shared_queue" (func $enqueue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_dequeue_shared_queue" (func $dequeue (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_log_level" (func $get_log_level (param i32) (result i32)))
  (import "env" "proxy_close_stream" (func $close_stream (param i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_record_metric" (func $record_metric (param i32 i64) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
`;

/** Memory, a bump allocator that grows memory (exported as malloc), the ABI marker and _initialize. */
export function prelude(abi = "0_2_1"): string {
  return `
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 32768))
  (func $malloc (export "malloc") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1))))))
    (global.set $heap (local.get $end))
    (local.get $p))
  (func (export "proxy_abi_version_${abi}"))
  (func (export "_initialize"))
`;
}

/** A complete fixture: imports, prelude, data segments, then the given functions. */
export function fixture(data: Data, body: string, abi = "0_2_1"): Promise<Uint8Array> {
  return wat(`(module\n${IMPORTS}\n${prelude(abi)}\n${data.segments()}\n${body}\n)`);
}

/** WAT for: log(level, data[name]). */
export const logText = (d: Data, name: string, level = 2): string => `(drop (call $log (i32.const ${level}) ${d.ref(name)}))`;

// ----------------------------------------------------------------------------------------------
// Gateway

export interface TestGateway {
  gw: Gateway;
  logs: string[];
  /** Module log lines only (without the "[timestamp][tid][level][wasm] [source:line] " part). */
  wasmLogs(): string[];
}

/** Gateways and connections still open when a test file ends (a failed test) are closed then. */
const openGateways = new Set<Gateway>();
const openConnections = new Set<RawConnection>();
afterAll(async () => {
  for (const c of openConnections) c.close();
  for (const g of openGateways) await g.close();
});

/** The access log is on unless `opts` says otherwise (the host tests read it). */
export async function startGateway(wasm: Uint8Array, opts: Partial<ServeOptions> & { upstream: string }): Promise<TestGateway> {
  const logs: string[] = [];
  const gw = await serve({
    wasm,
    configuration: "",
    port: 0,
    workers: 2,
    accessLog: true,
    log: (l) => logs.push(l),
    ...opts,
  });
  openGateways.add(gw);
  const close = gw.close.bind(gw);
  gw.close = () => {
    openGateways.delete(gw);
    return close();
  };
  return {
    gw,
    logs,
    wasmLogs: () =>
      logs.filter((l) => l.includes("] wasm log")).map((l) => l.replace(/^\[[^\]]*\]\[\d+\]\[[a-z]+\]\[wasm\] \[[^\]]*\] /, "")),
  };
}

/** Resolves when `predicate` holds, polling on the event loop (no time assertions). */
export async function waitFor(predicate: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ----------------------------------------------------------------------------------------------
// Raw HTTP/1.1 client: one TCP connection, requests written verbatim, responses parsed.

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
  header(name: string): string | undefined;
}

export class RawConnection {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on("error", () => undefined);
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, "127.0.0.1", () => {
        const c = new RawConnection(s);
        openConnections.add(c);
        resolve(c);
      });
      s.once("error", reject);
    });
  }

  /** Sends `head` lines (CRLF added) and an optional body; returns the parsed response. */
  async request(lines: string[], body?: string | Buffer, opts: { head?: boolean } = {}): Promise<RawResponse> {
    this.socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (body !== undefined) this.socket.write(body);
    return this.readResponse(opts.head ?? false);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  private async need(pred: () => boolean): Promise<void> {
    while (!pred()) {
      if (this.closed) throw new Error("connection closed");
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = null;
    }
  }

  async readResponse(head = false): Promise<RawResponse> {
    await this.need(() => this.buf.indexOf("\r\n\r\n") >= 0);
    const end = this.buf.indexOf("\r\n\r\n");
    const lines = this.buf.subarray(0, end).toString("latin1").split("\r\n");
    this.buf = this.buf.subarray(end + 4);
    const status = Number(lines[0].split(" ")[1]);
    const headers = lines.slice(1).map((l): [string, string] => {
      const i = l.indexOf(":");
      return [l.slice(0, i), l.slice(i + 1).trim()];
    });
    const get = (n: string): string | undefined => headers.find(([k]) => k.toLowerCase() === n)?.[1];
    let body = Buffer.alloc(0);
    if (!head && status !== 204 && status !== 304) {
      const cl = get("content-length");
      if (cl !== undefined) {
        const n = Number(cl);
        await this.need(() => this.buf.length >= n);
        body = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
      } else if (get("transfer-encoding")?.toLowerCase() === "chunked") {
        const parts: Buffer[] = [];
        for (;;) {
          await this.need(() => this.buf.indexOf("\r\n") >= 0);
          const le = this.buf.indexOf("\r\n");
          const size = parseInt(this.buf.subarray(0, le).toString(), 16);
          await this.need(() => this.buf.length >= le + 2 + size + 2);
          parts.push(this.buf.subarray(le + 2, le + 2 + size));
          this.buf = this.buf.subarray(le + 2 + size + 2);
          if (size === 0) break;
        }
        body = Buffer.concat(parts);
      }
    }
    return { status, headers, body, header: get };
  }

  close(): void {
    openConnections.delete(this);
    this.socket.destroy();
  }
}

/** A GET with the usual request lines. */
export function get(path: string, port: number, extra: string[] = []): string[] {
  return [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...extra];
}

// ----------------------------------------------------------------------------------------------
// Upstream

export interface SeenUpstreamRequest {
  method: string;
  url: string;
  rawHeaders: Array<[string, string]>;
  body: string;
}

export interface Upstream {
  url: string;
  port: number;
  requests: SeenUpstreamRequest[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: SeenUpstreamRequest, res: http.ServerResponse) => void;

const defaultHandler: UpstreamHandler = (req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "x-upstream": "1" });
  res.end(`upstream saw ${req.method} ${req.url}`);
};

/** `options` go to node:http (e.g. a larger maxHeaderSize); maxHeadersCount sets the server's. */
export async function startUpstream(
  handler: UpstreamHandler = defaultHandler,
  options: http.ServerOptions & { maxHeadersCount?: number } = {},
): Promise<Upstream> {
  const requests: SeenUpstreamRequest[] = [];
  const { maxHeadersCount, ...serverOptions } = options;
  const server = http.createServer(serverOptions, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw: Array<[string, string]> = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const seen = { method: req.method ?? "", url: req.url ?? "", rawHeaders: raw, body: Buffer.concat(chunks).toString() };
      requests.push(seen);
      handler(seen, res);
    });
  });
  if (maxHeadersCount !== undefined) server.maxHeadersCount = maxHeadersCount;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port with nothing listening (bound, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** WAT: adds header data[name] to `map` with the one-digit value '0' + (expr), e.g. a WasmResult. */
export const digitHeader = (d: Data, map: number, name: string, expr: string): string =>
  `(i32.store8 (i32.const 64) (i32.add (i32.const 48) ${expr}))
   (drop (call $add_header (i32.const ${map}) ${d.ref(name)} (i32.const 64) (i32.const 1)))`;

/** WAT: sends a local reply whose body is the bytes at *OUT_PTR/*OUT_SIZE. */
export const replyWithOut = (d: Data, status: number, details: string): string =>
  `(drop (call $local_reply (i32.const ${status}) ${d.ref(details)} (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const 0) (i32.const 0) (i32.const -1)))`;

export const withoutNodeConnection = (h: Array<[string, string]>): Array<[string, string]> =>
  h.filter(([k]) => k !== "Connection" && k !== "Keep-Alive");

/** Waits until `t` has logged `line` (a module log line, without prefix) at least `n` times in total. */
export async function waitForLog(t: TestGateway, line: string, n = 1): Promise<void> {
  await waitFor(() => t.wasmLogs().filter((l) => l === line).length >= n, `log line ${JSON.stringify(line)} x${n}`);
}

/** WAT function $itoa(value, dst) -> length: writes `value` in decimal at dst. */
export const ITOA = `
  (func $itoa (param $v i32) (param $dst i32) (result i32)
    (local $len i32) (local $tmp i32) (local $i i32)
    (local.set $tmp (local.get $v)) (local.set $len (i32.const 1))
    (block $b (loop $l
      (br_if $b (i32.lt_u (local.get $tmp) (i32.const 10)))
      (local.set $tmp (i32.div_u (local.get $tmp) (i32.const 10)))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (br $l)))
    (local.set $i (local.get $len))
    (local.set $tmp (local.get $v))
    (loop $w
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i)) (i32.add (i32.const 48) (i32.rem_u (local.get $tmp) (i32.const 10))))
      (local.set $tmp (i32.div_u (local.get $tmp) (i32.const 10)))
      (br_if $w (i32.gt_u (local.get $i) (i32.const 0))))
    (local.get $len))`;

/**
 * WAT: logs data[name] (a template whose first `prefix` bytes are kept, followed by room for 10
 * digits) with the decimal value of `expr` appended. Needs ITOA in the module.
 */
export const logNumber = (d: Data, name: string, prefix: number, expr: string): string =>
  `(drop (call $log (i32.const 2) (i32.const ${d.ptr(name)}) (i32.add (i32.const ${prefix}) (call $itoa ${expr} (i32.const ${d.ptr(name) + prefix})))))`;
