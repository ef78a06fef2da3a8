// The Istio table (issue 8): every case of tests/e2e/istio-table/cases.ts, a request against Istio YAML
// (RequestAuthentication + AuthorizationPolicy, multi-document files) with the answer Istio documents,
// run three ways over the real filter (build/jwt_authn.wasm):
//   1. `serve --istio FILES` (main() of host/cli.ts, as the command line runs it) in front of an echo
//      backend, over HTTP: status, body, www-authenticate, and what the backend receives;
//   2. `check --istio FILES --json`, one VM per case: status, body, verdict, forwarded headers and path;
//   3. `istio FILES --format config` fed to `serve --config`: the same verdicts as the YAML directly.
// Tokens are made here (tests/helpers/tokens.ts) except Istio's demo.jwt and groups-scope.jwt; remote key
// sets come from a JWKS server on 127.0.0.1 reached through Istio's outbound cluster names. Source
// addresses are real: each request binds a loopback address (127.0.0.0/8 or ::1), as Istio's default
// (no numTrustedProxies) makes source.ip and remote.ip the peer. ISTIO_TABLE_TIMING=1 prints the wall
// time of each pass. The mTLS source fields (principals, namespaces, serviceAccounts, source.principal,
// connection.sni) are not in the table yet: their rows go with the host's TLS listener (see source-ip.yaml).
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { main, type CliIo } from "../../host/cli";
import type { Gateway } from "../../host/index";
import { DEFAULT_WORKLOAD, translateIstioWorkload } from "../../host/istio/translate";
import { WASM } from "../helpers/gateway";
import { startJwksServer, type JwksServer } from "../helpers/servers";
import { jwksOf, makeKey, makeRsaKey, nowS, sign, type TestKey } from "../helpers/tokens";
import { CASES, SETS, type Expect, type KeyName, type Req, type TableCase, type TableSet, type Tok } from "./istio-table/cases";

const FIXTURES = path.join(__dirname, "istio-table");
const SAMPLES = path.join(__dirname, "..", "vectors", "istio", "samples");
const TIMING = process.env.ISTIO_TABLE_TIMING !== undefined;

/** Istio's outbound cluster names of the jwksUri hosts in the fixtures, all served by one local server. */
const JWKS_CLUSTERS = ["outbound|443||raw.githubusercontent.com", "outbound|443||idp.b.example.com", "outbound|443||example.com"];

let dir: string;
let keys: Record<KeyName, TestKey>;
let jwks: JwksServer;
let echo: http.Server;
let echoUrl: string;
const samples: Record<string, string> = {};
/** Each set's listener port (destination.port), fixed so the YAML can name it. */
const ports = new Map<string, number>();
/** What serve --istio answered, per case, for the round trip to compare with. */
const viaIstio = new Map<string, Outcome>();

function io(untilShutdown?: CliIo["untilShutdown"]): CliIo & { outText: string[]; errText: string[] } {
  const outText: string[] = [];
  const errText: string[] = [];
  return { out: (t) => outText.push(t), err: (t) => errText.push(t), env: {}, untilShutdown, outText, errText };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-istio-table-"));
  const z = makeRsaKey("a"); // a rogue key under A's kid
  keys = { A: makeRsaKey("a"), B: makeRsaKey("b"), C: makeKey("c", "ES256"), D: makeRsaKey("d"), M: makeRsaKey("m"), F: makeRsaKey("f"), Z: z };
  samples.demo = fs.readFileSync(path.join(SAMPLES, "demo.jwt"), "utf8").trim();
  samples["groups-scope"] = fs.readFileSync(path.join(FIXTURES, "groups-scope.jwt"), "utf8").trim();
  const bodies: Record<string, string> = {
    "/istio/istio/master/security/tools/jwt/samples/jwks.json": fs.readFileSync(path.join(SAMPLES, "jwks.json"), "utf8"),
    "/keys": jwksOf(keys.B),
    "/.well-known/jwks.json": jwksOf(keys.F),
  };
  jwks = await startJwksServer({
    kind: "custom",
    handle: (req, res) => {
      const body = bodies[req.url ?? ""];
      res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
      res.end(body ?? "{}");
    },
  });
  // The backend: answers with the request line and headers it received.
  echo = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers }));
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
  echoUrl = `http://127.0.0.1:${(echo.address() as net.AddressInfo).port}`;

  const subst: Record<string, string> = {
    JWKS_A: jwksOf(keys.A),
    JWKS_B: jwksOf(keys.B),
    JWKS_C: jwksOf(keys.C),
    JWKS_D: jwksOf(keys.D),
    JWKS_M: jwksOf(keys.M),
  };
  for (const set of SETS) {
    let port = await freePort();
    while (port === 8080) port = await freePort(); // actions.yaml denies POST on 8080
    ports.set(set.name, port);
    fs.mkdirSync(path.join(dir, set.name));
    for (const f of set.files) {
      const text = fs.readFileSync(path.join(FIXTURES, f), "utf8").replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => {
        if (k === "PORT") return String(port);
        if (subst[k] === undefined) throw new Error(`${f}: unknown placeholder ${m}`);
        return subst[k];
      });
      fs.writeFileSync(path.join(dir, set.name, f), text);
    }
  }
});

afterAll(async () => {
  echo?.closeAllConnections();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  await jwks?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const filesOf = (set: TableSet) => set.files.map((f) => path.join(dir, set.name, f));
const workloadFlags = (set: TableSet) => {
  const labels = Object.entries(set.workload.labels).map(([k, v]) => `${k}=${v}`).join(",");
  return ["--namespace", set.workload.namespace, ...(labels ? ["--selector", labels] : [])];
};
const clusterFlags = () => JWKS_CLUSTERS.flatMap((c) => ["--cluster", `${c}=${jwks.url}`]);
const casesOf = (set: TableSet) => CASES.filter((c) => c.set === set.name);

/** The token text of a spec, made now. */
function tokenOf(t: Tok): string {
  if (t.raw !== undefined) return t.raw;
  if (t.sample !== undefined) return samples[t.sample];
  const key = keys[t.key as KeyName];
  const payload: Record<string, unknown> = {};
  if (t.iss !== undefined) payload.iss = t.iss;
  if (t.sub !== null) payload.sub = t.sub ?? "alice";
  if (t.aud !== undefined) payload.aud = t.aud;
  if (t.expIn !== null) payload.exp = nowS() + (t.expIn ?? 600);
  if (t.nbfIn !== undefined) payload.nbf = nowS() + t.nbfIn;
  Object.assign(payload, t.claims ?? {});
  return sign(key, payload, { alg: t.key === "C" ? "ES256" : "RS256", kid: t.kid ?? key.kid });
}

/** A case's request with its tokens made: what both passes send. */
interface Built {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The source address to bind; none: the system's choice (127.0.0.1 towards 127.0.0.1). */
  peer?: string;
  auth?: string;
  tokens: string[];
}

function build(req: Req): Built {
  const tokens = (req.tokens ?? []).map(tokenOf);
  const fill = (s: string) => s.replace(/\$T(\d)/g, (_m, i: string) => tokens[Number(i)]);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k] = fill(v);
  const auth = req.auth === undefined ? undefined : tokenOf(req.auth);
  return { method: req.method ?? "GET", path: fill(req.path ?? "/"), headers, peer: req.peer === "127.0.0.1" ? undefined : req.peer, auth, tokens };
}

/** The payload segment of a compact JWS. */
const payloadOf = (jwt: string) => jwt.split(".")[1];

/**
 * The backend headers a case is checked on: its `upstream`, plus, for an allowed request that sent a token
 * in Authorization, `authorization: null` unless the case says otherwise (forwardOriginalToken is false
 * in every rule that reads Authorization, so a verified token is removed).
 */
function upstreamSpec(e: Expect, b: Built): Record<string, string | null> | undefined {
  if (e.status !== 200 || b.auth === undefined || (e.upstream !== undefined && "authorization" in e.upstream)) return e.upstream;
  return { authorization: null, ...(e.upstream ?? {}) };
}

/** What a case is compared on: the same shape for the expectation and for each pass. */
interface Outcome {
  status: number;
  body?: string;
  /** serve pass only: "invalid_token" (a challenge naming the bad token), "bare", or "none". */
  challenge?: string;
  verdict?: string;
  upstream?: Record<string, string | null>;
  tokenInPath?: boolean;
}

function expected(e: Expect, b: Built, opts: { challenge?: boolean; verdict?: boolean; redact?: Set<string> }): Outcome {
  const out: Outcome = { status: e.status };
  if (e.status !== 200) out.body = e.body ?? "RBAC: access denied";
  if (opts.challenge) out.challenge = e.status === 401 || out.body === "Audiences in Jwt are not allowed" ? "invalid_token" : "none";
  if (opts.verdict) out.verdict = e.status === 200 ? "allowed" : "denied";
  const spec = upstreamSpec(e, b);
  if (spec !== undefined) {
    out.upstream = {};
    for (const [k, v] of Object.entries(spec)) {
      if (v === null) {
        out.upstream[k] = null;
        continue;
      }
      const value = v
        .replace(/\$TOKEN/g, b.auth ?? "")
        .replace(/\$PAYLOAD/g, payloadOf(b.auth ?? b.tokens[0] ?? ""))
        .replace(/\$T(\d)/g, (_m, i: string) => b.tokens[Number(i)]);
      // check prints the values of token headers cut to 10 characters and "…".
      out.upstream[k] = opts.redact?.has(k) && value.length > 10 ? `${value.slice(0, 10)}…` : value;
    }
  }
  if (e.tokenInPath !== undefined) out.tokenInPath = e.tokenInPath;
  return out;
}

/** Picks from what the backend received the fields the expectation names. */
function observed(
  e: Expect, b: Built, status: number, body: string | undefined,
  seen: { path?: string; headers?: Record<string, string | string[] | undefined> } | undefined,
  extra: Partial<Outcome>,
): Outcome {
  const out: Outcome = { status };
  if (status !== 200) out.body = body;
  Object.assign(out, extra);
  const spec = upstreamSpec(e, b);
  if (spec !== undefined) {
    out.upstream = {};
    for (const k of Object.keys(spec)) {
      const v = seen?.headers?.[k];
      out.upstream[k] = v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    }
  }
  if (e.tokenInPath !== undefined) out.tokenInPath = (seen?.path ?? "").includes(b.tokens[0]);
  return out;
}

/** The header names check redacts for a set: authorization and every rule's fromHeaders names. */
function tokenHeaders(set: TableSet): Set<string> {
  const sources = filesOf(set).map((file) => ({ file, text: fs.readFileSync(file, "utf8") }));
  const t = translateIstioWorkload(sources, { ...DEFAULT_WORKLOAD, namespace: set.workload.namespace, labels: set.workload.labels });
  const names = new Set(["authorization"]);
  for (const r of t.configuration.jwtRules) {
    for (const h of (r.fromHeaders as Array<{ name?: string }> | undefined) ?? []) if (typeof h.name === "string") names.add(h.name.toLowerCase());
  }
  return names;
}

/** Runs `serve ARGS` through main() until stop() is called. */
async function serveCli(args: string[]): Promise<{ gw: Gateway; stop: () => Promise<number> }> {
  let release!: () => void;
  const stopped = new Promise<void>((r) => (release = r));
  let started!: (gw: Gateway) => void;
  const gwP = new Promise<Gateway>((r) => (started = r));
  const x = io((gw) => {
    started(gw);
    return stopped;
  });
  const code = main(["serve", ...args, "--upstream", echoUrl, ...clusterFlags(), "--workers", "1", "--log-level", "error", "--wasm", WASM], x);
  const gw = await Promise.race([gwP, code.then((c) => Promise.reject(new Error(`serve exited ${c}: ${x.errText.join("\n")}`)))]);
  return {
    gw,
    stop: async () => {
      release();
      return code;
    },
  };
}

/** One request to a gateway on 127.0.0.1 or ::1, from the case's peer address. */
function send(port: number, b: Built, host: string | undefined): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const headers: Record<string, string> = { ...b.headers };
  if (b.auth !== undefined) headers.authorization = `Bearer ${b.auth}`;
  if (host !== undefined) headers.host = host;
  const v6 = b.peer === "::1";
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: v6 ? "::1" : "127.0.0.1", port, method: b.method, path: b.path, headers, agent: false, ...(b.peer ? { localAddress: b.peer } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Runs a set's cases over HTTP against gateways started with `args` (one on ::1 too when a case needs it). */
async function overHttp(set: TableSet, args: string[], each: (c: TableCase, b: Built, r: Awaited<ReturnType<typeof send>>) => void): Promise<void> {
  const port = ports.get(set.name) as number;
  const v4 = await serveCli([...args, "--port", String(port)]);
  let v6: Awaited<ReturnType<typeof serveCli>> | undefined;
  try {
    for (const c of casesOf(set)) {
      const b = build(c.req);
      if (b.peer === "::1" && v6 === undefined) v6 = await serveCli([...args, "--port", String(port), "--host", "::1"]);
      each(c, b, await send(port, b, c.req.host));
    }
  } finally {
    expect(await v4.stop()).toBe(0);
    if (v6 !== undefined) expect(await v6.stop()).toBe(0);
  }
}

const label = (c: TableCase) => `${c.set}: ${c.name}`;
const timings: Record<string, number> = {};

test("the table: at least 150 cases, unique names, every set used", () => {
  expect(CASES.length).toBeGreaterThanOrEqual(150);
  expect(new Set(CASES.map(label)).size).toBe(CASES.length);
  for (const set of SETS) expect({ set: set.name, cases: casesOf(set).length > 0 }).toEqual({ set: set.name, cases: true });
});

describe("through serve --istio over HTTP", () => {
  beforeAll(() => (timings.serve = Date.now()));
  afterAll(() => {
    if (TIMING) console.log(`istio table: serve --istio pass, ${CASES.length} cases in ${SETS.length} sets: ${Date.now() - timings.serve} ms`);
  });

  test.each(SETS.map((s) => [s.name, s] as const))("%s", async (_name, set) => {
    const actual: Array<[string, Outcome]> = [];
    const want: Array<[string, Outcome]> = [];
    await overHttp(set, ["--istio", ...filesOf(set), ...workloadFlags(set)], (c, b, r) => {
      let seen: { path?: string; headers?: Record<string, string | string[] | undefined> } | undefined;
      if (r.status === 200) {
        try {
          seen = JSON.parse(r.body);
        } catch {
          seen = undefined; // HEAD: no body
        }
      }
      const www = r.headers["www-authenticate"];
      const challenge = www === undefined ? "none" : /^Bearer realm="http:\/\/[^"]+", error="invalid_token"$/.test(www) ? "invalid_token" : `bare: ${www}`;
      const o = observed(c.expect, b, r.status, r.body, seen, { challenge });
      viaIstio.set(label(c), o);
      actual.push([label(c), o]);
      want.push([label(c), expected(c.expect, b, { challenge: true })]);
    });
    expect(actual).toEqual(want);
  });
});

describe("through check --istio --json", () => {
  beforeAll(() => (timings.check = Date.now()));
  afterAll(() => {
    if (TIMING) console.log(`istio table: check --istio pass, ${CASES.length} cases (one VM each): ${Date.now() - timings.check} ms`);
  });

  test.each(SETS.map((s) => [s.name, s] as const))("%s", async (_name, set) => {
    const secret = tokenHeaders(set);
    const actual: Array<[string, Outcome]> = [];
    const want: Array<[string, Outcome]> = [];
    for (const c of casesOf(set)) {
      const b = build(c.req);
      const args = ["check", "--istio", ...filesOf(set), ...workloadFlags(set), "--json", "--wasm", WASM, ...clusterFlags()];
      args.push("--port", String(ports.get(set.name)), "--method", b.method, "--path", b.path);
      if (b.peer !== undefined) args.push("--peer-ip", b.peer);
      if (b.auth !== undefined) args.push("--token", b.auth);
      if (c.req.host !== undefined) args.push("--header", `host:${c.req.host}`);
      for (const [k, v] of Object.entries(b.headers)) args.push("--header", `${k}:${v}`);
      const x = io();
      const code = await main(args, x);
      if (code !== 0) throw new Error(`${label(c)}: check exited ${code}: ${x.errText.join("\n")}`);
      const r = JSON.parse(x.outText.join("")) as {
        verdict: string; status: number; body?: string; forwarded?: { path: string; headers: Record<string, string | string[]> };
      };
      actual.push([label(c), observed(c.expect, b, r.status, r.body, r.forwarded, { verdict: r.verdict })]);
      want.push([label(c), expected(c.expect, b, { verdict: true, redact: secret })]);
    }
    expect(actual).toEqual(want);
  });
});

describe("round trip: istio --format config, then serve --config, answers as the YAML does", () => {
  beforeAll(() => (timings.roundTrip = Date.now()));
  afterAll(() => {
    if (TIMING) console.log(`istio table: istio --format config + serve --config pass: ${Date.now() - timings.roundTrip} ms`);
  });

  test.each(SETS.map((s) => [s.name, s] as const))("%s", async (_name, set) => {
    const x = io();
    expect(await main(["istio", ...filesOf(set), ...workloadFlags(set), "--format", "config", "--wasm", WASM], x)).toBe(0);
    expect(x.errText.filter((l) => !l.startsWith("jwt-authn-wasm: no resource applies"))).toEqual([]);
    const configFile = path.join(dir, set.name, "config.json");
    fs.writeFileSync(configFile, x.outText.join(""));
    const actual: Array<[string, Outcome]> = [];
    const want: Array<[string, Outcome]> = [];
    await overHttp(set, ["--config", configFile], (c, b, r) => {
      actual.push([label(c), { status: r.status, ...(r.status === 200 ? {} : { body: r.body }) }]);
      // The verdict serve --istio gave (when that pass ran), else the table's.
      const viaYaml = viaIstio.get(label(c)) ?? expected(c.expect, b, {});
      want.push([label(c), { status: viaYaml.status, ...(viaYaml.status === 200 ? {} : { body: viaYaml.body }) }]);
    });
    expect(actual).toEqual(want);
  });
});
