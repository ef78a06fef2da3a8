/**
 * The local host as a load-test gateway: throughput of `serve` against a plain Node reverse proxy doing
 * the same forwarding, measured in one run (issue 10). Targets:
 *   backend alone   the client straight to the backend (node:http, "ok" with content-length);
 *   plain proxy     node:http server + http.request to the backend over a keep-alive agent, copying
 *                   method, path, headers (hop-by-hop ones dropped, as any proxy must) and body both
 *                   ways; no shortcut the host could not take;
 *   serve           the host with build/jwt_authn.wasm, one worker, a configuration that requires no
 *                   token (an anonymous request passes its policy), default options (access log off);
 *   serve + token   the same with a valid RS256 token sent on every request (verified-token cache hits).
 *
 * The backend and the load generator run in a child process (raw keep-alive sockets, `concurrency`
 * requests in flight, a cheap response parser), so the process under test runs only the proxy. For
 * each target: wall µs per request (1 / throughput) and the CPU µs per request the proxy's process
 * used (process.cpuUsage, user + system; for "backend alone" the child's). Rounds are short and
 * interleaved across targets, and the fastest round of each target is reported, so noise from other
 * work on the machine mostly lands in the slower rounds. Numbers for humans; no asserts.
 */
import * as http from "http";
import * as os from "os";
import * as net from "net";
import * as path from "path";
import { fork, type ChildProcess } from "child_process";
import { AddressInfo } from "net";
import { generateKeyPairSync, sign } from "crypto";
import { serve } from "../host/index";

export interface ServeBenchTarget {
  label: string;
  /** Starts the target in front of `upstream`; the returned url gets the load. */
  start(upstream: string): Promise<{ url: string; close(): Promise<void> }>;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
}

export interface ServeBenchOptions {
  /** Requests per round and target (default 3000). */
  requests?: number;
  /** Interleaved rounds (default 9). */
  rounds?: number;
  /** Requests in flight (default 16). */
  concurrency?: number;
  /** Targets measured after the built-in ones (a trial of another host build, say). */
  extraTargets?: ServeBenchTarget[];
  /** The wasm module serve runs (default build/jwt_authn.wasm). */
  wasm?: string;
}

interface RunResult {
  wallUs: number;
  childCpuUs: number;
  /** Responses whose status was not the expected one. */
  bad: number;
}

// ---------------------------------------------------------------------------------------------
// The child: backend + load generator

const CHILD_FLAG = "--serve-bench-child";

/** Connection-specific headers a proxy consumes instead of forwarding (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

function startBackend(): Promise<http.Server> {
  const backend = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "text/plain");
      res.end("ok");
    });
  });
  backend.keepAliveTimeout = 0;
  return new Promise((r) => backend.listen(0, "127.0.0.1", () => r(backend)));
}

/** One keep-alive connection sending `GET /` one at a time; resolves with the count of bad statuses. */
function driveConnection(port: number, request: Buffer, count: () => boolean, expect: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let bad = 0;
    let need = -1; // bytes of the current response (head + body) once the head is parsed
    let chunked = false;
    const next = (): void => {
      if (count()) socket.write(request);
      else {
        socket.end();
        resolve(bad);
      }
    };
    socket.on("connect", next);
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        if (need < 0) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buf.toString("latin1", 0, end).toLowerCase();
          if (Number(head.slice(9, 12)) !== expect) bad++;
          const cl = /\r\ncontent-length: *(\d+)/.exec(head);
          chunked = cl === null;
          need = end + 4 + (cl ? Number(cl[1]) : 0);
        }
        if (chunked) {
          const last = buf.indexOf("0\r\n\r\n", need);
          if (last < 0) return;
          need = last + 5;
        }
        if (buf.length < need) return;
        buf = buf.subarray(need);
        need = -1;
        next();
        if (buf.length === 0) return;
      }
    });
  });
}

async function runLoad(port: number, headers: Record<string, string>, n: number, concurrency: number, expect: number): Promise<RunResult> {
  let head = `GET / HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nuser-agent: serve-bench/1\r\naccept: */*\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const request = Buffer.from(`${head}\r\n`, "latin1");
  let left = n;
  const take = (): boolean => left-- > 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const bads = await Promise.all(Array.from({ length: concurrency }, () => driveConnection(port, request, take, expect)));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallUs: (wall * 1000) / n, childCpuUs: (cpu.user + cpu.system) / n, bad: bads.reduce((a, b) => a + b, 0) };
}

async function childMain(): Promise<void> {
  const backend = await startBackend();
  process.on("message", (m: { run?: { port: number; headers: Record<string, string>; n: number; concurrency: number; expect: number }; exit?: true }) => {
    if (m.exit) {
      backend.close();
      process.disconnect?.();
      return;
    }
    const r = m.run!;
    runLoad(r.port, r.headers, r.n, r.concurrency, r.expect).then(
      (result) => process.send!({ result }),
      (e: Error) => process.send!({ error: e.message }),
    );
  });
  process.send!({ port: (backend.address() as AddressInfo).port });
}

// ---------------------------------------------------------------------------------------------
// The plain proxy

/** A reverse proxy as one would write it with node:http alone (the fair baseline for `serve`). */
export async function startPlainProxy(upstream: string): Promise<{ url: string; close(): Promise<void> }> {
  const base = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const strip = (raw: string[]): string[] => {
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
    return out;
  };
  const server = http.createServer((req, res) => {
    const up = http.request(
      { hostname: base.hostname, port: base.port, method: req.method, path: req.url, headers: strip(req.rawHeaders), agent, setHost: false },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, strip(ur.rawHeaders));
        ur.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// The parent: the proxies under test

function makeToken(): { jwk: object; token: string } {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...(publicKey.export({ format: "jwk" }) as object), kid: "bench" };
  const b64u = (x: string | Buffer) => Buffer.from(x).toString("base64url");
  const input = `${b64u(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "bench" }))}.${b64u(
    JSON.stringify({ iss: "https://issuer.example.com", sub: "user-1", aud: "api", exp: Math.floor(Date.now() / 1000) + 86400 }),
  )}`;
  return { jwk, token: `${input}.${b64u(sign("sha256", Buffer.from(input), privateKey))}` };
}

/** The configuration the serve targets run: the token is checked when present, none is required. */
export function benchConfiguration(jwk: object): string {
  return JSON.stringify({
    jwtRules: [{ issuer: "https://issuer.example.com", jwks: JSON.stringify({ keys: [jwk] }), audiences: ["api"] }],
    policies: [{ name: "p", rules: [{ from: [{ source: { notRequestPrincipals: ["https://issuer.example.com/nobody"] } }] }] }],
  });
}

export async function runServeBench(options: ServeBenchOptions = {}): Promise<string[]> {
  const n = options.requests ?? 3000;
  const rounds = options.rounds ?? 9;
  const concurrency = options.concurrency ?? 16;
  const wasm = options.wasm ?? path.resolve(__dirname, "..", "..", "jwt_authn.wasm");
  const child: ChildProcess = fork(__filename, [CHILD_FLAG], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies: Array<(m: any) => void> = [];
  child.on("message", (m) => replies.shift()?.(m));
  const reply = (): Promise<any> => new Promise((r) => replies.push(r));
  const { port: backendPort } = (await reply()) as { port: number };
  const upstream = `http://127.0.0.1:${backendPort}`;
  const { jwk, token } = makeToken();
  const configuration = benchConfiguration(jwk);
  const serveTarget = (label: string, headers?: Record<string, string>): ServeBenchTarget => ({
    label,
    headers,
    start: async (up) => {
      const gw = await serve({ wasm, configuration, upstream: up, port: 0, workers: 1, logLevel: "warn", log: () => undefined });
      return { url: gw.url, close: () => gw.close() };
    },
  });
  const targets: Array<ServeBenchTarget & { direct?: true }> = [
    { label: "backend alone", direct: true, start: async (up) => ({ url: up, close: async () => undefined }) },
    { label: "plain node:http proxy", start: startPlainProxy },
    serveTarget("serve, no token"),
    serveTarget("serve, valid RS256 token (cached)", { authorization: `Bearer ${token}` }),
    ...(options.extraTargets ?? []),
  ];
  const running = await Promise.all(targets.map((t) => t.start(upstream)));
  const run = async (i: number, count: number): Promise<{ wallUs: number; cpuUs: number }> => {
    const port = Number(new URL(running[i].url).port);
    const cpu0 = process.cpuUsage();
    child.send({ run: { port, headers: targets[i].headers ?? {}, n: count, concurrency, expect: 200 } });
    const m = await reply();
    const cpu = process.cpuUsage(cpu0);
    if (m.error) throw new Error(`${targets[i].label}: ${m.error}`);
    const r = m.result as RunResult;
    if (r.bad > 0) throw new Error(`${targets[i].label}: ${r.bad} responses were not 200`);
    return { wallUs: r.wallUs, cpuUs: targets[i].direct ? r.childCpuUs : (cpu.user + cpu.system) / count };
  };
  const best = targets.map(() => ({ wallUs: Infinity, cpuUs: Infinity }));
  try {
    for (let i = 0; i < targets.length; i++) await run(i, Math.min(n, 2000)); // warm-up (JIT, connections, caches)
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        const m = await run(i, n);
        best[i].wallUs = Math.min(best[i].wallUs, m.wallUs);
        best[i].cpuUs = Math.min(best[i].cpuUs, m.cpuUs);
      }
    }
  } finally {
    for (const t of running) await t.close();
    child.send({ exit: true });
  }
  const plain = best[1];
  const lines = [
    `whole request through a proxy, ${concurrency} keep-alive requests in flight (fastest of ${rounds} interleaved rounds x ${n})`,
    `CPU: ${os.cpus()[0]?.model ?? "?"} (${os.cpus().length} cores), Node ${process.version}`,
    `${"".padEnd(36)}${"wall us/req".padStart(12)}${"CPU us/req".padStart(12)}${"vs plain proxy (wall, CPU)".padStart(30)}`,
  ];
  targets.forEach((t, i) => {
    const b = best[i];
    const vs = i < 2 ? "" : `${(b.wallUs / plain.wallUs).toFixed(2)}x, ${(b.cpuUs / plain.cpuUs).toFixed(2)}x`;
    lines.push(`  ${t.label.padEnd(34)}${b.wallUs.toFixed(1).padStart(12)}${b.cpuUs.toFixed(1).padStart(12)}${vs.padStart(30)}`);
  });
  lines.push("  (CPU: of the proxy's process; for the backend alone, of the client and backend process)");
  for (const l of lines) console.log(l);
  return lines;
}

if (require.main === module && process.argv.includes(CHILD_FLAG)) {
  void childMain();
} else if (require.main === module) {
  runServeBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
