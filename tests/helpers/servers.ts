// Real HTTP servers the tests start on 127.0.0.1: the backend behind the gateway and JWKS servers.
import * as http from "http";
import { AddressInfo } from "net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface Backend {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/**
 * Answers `Hello World! <path>` like the walkthrough's backend, and records what reached it. `big` lifts
 * Node's header limits (16 KiB, 2,000 lines), for tests that forward very large header maps.
 */
export async function startBackend(opts: { big?: boolean } = {}): Promise<Backend> {
  const requests: SeenRequest[] = [];
  const server = http.createServer(opts.big ? { maxHeaderSize: 1 << 20 } : {}, (req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`Hello World! ${req.url}`);
    });
  });
  if (opts.big) server.maxHeadersCount = 0;
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, port, requests, close: () => closeServer(server) };
}

export type JwksBehaviour =
  | { kind: "ok"; body: string; headers?: Record<string, string> }
  | { kind: "status"; status: number; body: string; headers?: Record<string, string> }
  | { kind: "hang" }
  | { kind: "delay"; ms: number; body: string }
  | { kind: "custom"; handle: (req: http.IncomingMessage, res: http.ServerResponse) => void };

export interface JwksServer {
  url: string;
  port: number;
  hits: number;
  /** Every request received: path and headers. */
  seen: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  behaviour: JwksBehaviour;
  close(): Promise<void>;
}

/** A JWKS endpoint whose answer the test can change between requests. */
export async function startJwksServer(initial: JwksBehaviour): Promise<JwksServer> {
  const state = { hits: 0, behaviour: initial };
  const seen: JwksServer["seen"] = [];
  const server = http.createServer((req, res) => {
    state.hits++;
    seen.push({ url: req.url ?? "", headers: req.headers });
    const b = state.behaviour;
    if (b.kind === "hang") return; // never answers: the caller's timeout must fire
    if (b.kind === "custom") return b.handle(req, res);
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(body);
    };
    if (b.kind === "ok") send(200, b.body, b.headers);
    else if (b.kind === "status") send(b.status, b.body, b.headers);
    else setTimeout(() => send(200, b.body), b.ms);
  });
  const port = await listen(server);
  const out: JwksServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    get hits() { return state.hits; },
    set hits(v: number) { state.hits = v; },
    get behaviour() { return state.behaviour; },
    set behaviour(b: JwksBehaviour) { state.behaviour = b; },
    close: () => closeServer(server),
  };
  return out;
}

export interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * One plain HTTP/1.1 request (a new connection each time unless an agent is given). A header given a list
 * of values is sent as that many header lines.
 */
export function request(url: string, opts: { method?: string; headers?: Record<string, string | string[]>; agent?: http.Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: opts.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
