// The admin listener (ServeOptions.adminPort): a small part of Envoy's admin interface over the
// gateway's custom stats. GET /stats (Envoy's text format), /stats/prometheus (and /stats?format=
// prometheus), /ready, /help; any other path is Envoy's 404 "invalid path." plus the help text.
// Owns the rendering rules, each named after the Envoy code it copies (source/server/admin/*).

import http from "node:http";
import type net from "node:net";
import { MetricType } from "./abi/constants";
import { HostError } from "./errors";
import { WASM_CUSTOM_STAT_NAMESPACE, type Stat, type StatsStore } from "./stats";

/** HistogramStatisticsImpl::supportedQuantiles. */
export const SUPPORTED_QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

/** Envoy's default histogram buckets (stats_config.histogram_bucket_settings unset). */
export const SUPPORTED_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export interface StatsParams {
  /** ?usedonly: only stats that were ever written. */
  usedOnly: boolean;
  /** ?filter=REGEX: a search (not a full match) on the full stat name. */
  filter: RegExp | null;
}

const ALL: StatsParams = { usedOnly: false, filter: null };

function shown(s: Stat, p: StatsParams): boolean {
  return (!p.usedOnly || s.used) && (p.filter === null || p.filter.test(s.name));
}

/** Envoy orders admin stats by name as std::string keys: byte order of the UTF-8 name. */
function byName(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** fmt's "{:g}" (6 significant digits, trailing zeros removed). */
function fmtG(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  return String(Number(x.toPrecision(6)));
}

/** fmt's "{}" for a double: the shortest representation that round-trips; NaN is "nan". */
function fmtDouble(x: number): string {
  if (Number.isNaN(x)) return "nan";
  return String(x);
}

/** fmt's "{:.32g}" for a non-negative integral double below 1e32 (all sums and bounds used here). */
function fmtG32(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e32) return BigInt(x).toString();
  return String(x);
}

/**
 * PrometheusStatsFormatter::metricName: a name in a registered custom namespace ("wasmcustom.") loses
 * the namespace and gets no "envoy_" prefix; every other name gets "envoy_". Then sanitizeName: each
 * character outside [a-zA-Z0-9_] becomes "_". A custom name that ends up empty or starting with a
 * digit is not exported (null).
 */
export function prometheusName(name: string): string | null {
  const sanitize = (s: string): string => s.replace(/[^a-zA-Z0-9_]/gu, "_");
  const dot = name.indexOf(".");
  if (dot >= 0 && name.slice(0, dot) === WASM_CUSTOM_STAT_NAMESPACE) {
    const stripped = sanitize(name.slice(dot + 1));
    if (stripped === "" || /^[0-9]/.test(stripped)) return null;
    return stripped;
  }
  return `envoy_${sanitize(name)}`;
}

/** The recorded values in ascending order, each with its multiplicity. */
function sortedSamples(s: Stat): Array<[number, number]> {
  return [...s.samples.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([v, n]) => [Number(v), n]);
}

/**
 * Quantiles over the exact samples (linear interpolation between order statistics). Envoy computes
 * them from a circllhist (two significant digits per bin), so its figures can differ slightly.
 */
export function quantiles(s: Stat): number[] {
  const sorted = sortedSamples(s);
  const n = Number(s.count);
  const at = (rank: number): number => {
    let seen = 0;
    for (const [v, c] of sorted) {
      seen += c;
      if (rank < seen) return v;
    }
    return sorted[sorted.length - 1][0];
  };
  return SUPPORTED_QUANTILES.map((q) => {
    if (n === 0) return NaN;
    const h = q * (n - 1);
    const lo = Math.floor(h);
    const a = at(lo);
    const b = at(Math.min(n - 1, lo + 1));
    return a + (h - lo) * (b - a);
  });
}

/** Cumulative counts: samples <= each of SUPPORTED_BUCKETS (exact; Envoy's are circllhist approximations). */
export function bucketCounts(s: Stat): number[] {
  const sorted = sortedSamples(s);
  return SUPPORTED_BUCKETS.map((bound) => sorted.reduce((acc, [v, c]) => (v <= bound ? acc + c : acc), 0));
}

/**
 * GET /stats (UngroupedStatsRequest + StatsTextRender): counters and gauges together as
 * "name: value", sorted by name, then histograms sorted by name as Envoy's quantile summary
 * "P0(interval,cumulative) P25(…) …" ("No recorded values" when never recorded). The host never flushes
 * stats, so there is no interval: the interval figure is always "nan".
 */
export function renderStatsText(store: StatsStore, p: StatsParams = ALL): string {
  const stats = store.all().filter((s) => shown(s, p));
  const numeric = new Map<string, Stat>();
  for (const s of stats.filter((x) => x.type === MetricType.Counter)) numeric.set(s.name, s);
  for (const s of stats.filter((x) => x.type === MetricType.Gauge)) numeric.set(s.name, s);
  let out = "";
  for (const name of [...numeric.keys()].sort(byName)) out += `${name}: ${(numeric.get(name) as Stat).value}\n`;
  const histograms = new Map<string, Stat>();
  for (const s of stats.filter((x) => x.type === MetricType.Histogram)) histograms.set(s.name, s);
  for (const name of [...histograms.keys()].sort(byName)) {
    const h = histograms.get(name) as Stat;
    if (!h.used) {
      out += `${name}: No recorded values\n`;
      continue;
    }
    const cumulative = quantiles(h);
    const summary = SUPPORTED_QUANTILES.map((q, i) => `P${fmtG(100 * q)}(nan,${fmtDouble(cumulative[i])})`);
    out += `${name}: ${summary.join(" ")}\n`;
  }
  return out;
}

/**
 * GET /stats/prometheus (GroupedStatsRequest + PrometheusStatsRender): counters, then gauges, then
 * histograms; within each, one group per name in name order, "# TYPE <name> <type>" then the series.
 * The custom stats have no tags, hence the empty "{}".
 */
export function renderPrometheus(store: StatsStore, p: StatsParams = ALL): string {
  const stats = store.all().filter((s) => shown(s, p));
  let out = "";
  const phase = (type: number, render: (pname: string, s: Stat) => string): void => {
    const group = new Map<string, Stat[]>();
    for (const s of stats) {
      if (s.type !== type) continue;
      const g = group.get(s.name);
      if (g) g.push(s);
      else group.set(s.name, [s]);
    }
    for (const name of [...group.keys()].sort(byName)) {
      const pname = prometheusName(name);
      if (pname === null) continue;
      const kind = type === MetricType.Counter ? "counter" : type === MetricType.Gauge ? "gauge" : "histogram";
      out += `# TYPE ${pname} ${kind}\n`;
      for (const s of group.get(name) as Stat[]) out += render(pname, s);
    }
  };
  const numeric = (pname: string, s: Stat): string => `${pname}{} ${s.value}\n`;
  phase(MetricType.Counter, numeric);
  phase(MetricType.Gauge, numeric);
  phase(MetricType.Histogram, (pname, s) => {
    const counts = bucketCounts(s);
    let text = "";
    SUPPORTED_BUCKETS.forEach((bound, i) => (text += `${pname}_bucket{le="${fmtG32(bound)}"} ${counts[i]}\n`));
    text += `${pname}_bucket{le="+Inf"} ${s.count}\n`;
    text += `${pname}_sum{} ${fmtG32(Number(s.sum))}\n`;
    text += `${pname}_count{} ${s.count}\n`;
    return text;
  });
  return out;
}

/** AdminImpl's handler list entries we serve, with Envoy's help texts. */
const HELP: Array<[string, string]> = [
  ["/help", "print out list of admin commands"],
  ["/ready", "print server state, return 200 if LIVE, otherwise return 503"],
  ["/stats", "print server stats"],
  ["/stats/prometheus", "print server stats in prometheus format"],
];

function helpText(): string {
  return `admin commands are:\n${HELP.map(([p, h]) => `  ${p}: ${h}\n`).join("")}`;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface AdminOptions {
  port: number;
  stats: StatsStore;
  /** Envoy's server state name for /ready ("LIVE" answers 200, anything else 503). */
  state(): string;
}

function parseParams(u: URL): StatsParams | { error: string } {
  let filter: RegExp | null = null;
  const f = u.searchParams.get("filter");
  if (f !== null && f !== "") {
    try {
      filter = new RegExp(f, "u");
    } catch (e) {
      return { error: `Invalid re2 regex: ${(e as Error).message}` };
    }
  }
  return { usedOnly: u.searchParams.has("usedonly"), filter };
}

function handle(req: http.IncomingMessage, opts: AdminOptions): { status: number; body: string } {
  const u = new URL(req.url ?? "/", "http://admin");
  switch (u.pathname) {
    case "/ready": {
      const state = opts.state();
      return { status: state === "LIVE" ? 200 : 503, body: `${state}\n` };
    }
    case "/help":
      return { status: 200, body: helpText() };
    case "/stats":
    case "/stats/prometheus": {
      const p = parseParams(u);
      if ("error" in p) return { status: 400, body: `${p.error}\n` };
      const format = u.pathname === "/stats/prometheus" ? "prometheus" : (u.searchParams.get("format") ?? "text");
      if (format === "prometheus") return { status: 200, body: renderPrometheus(opts.stats, p) };
      if (format === "text") return { status: 200, body: renderStatsText(opts.stats, p) };
      // json, html and active-html are Envoy formats this host does not render.
      return { status: 404, body: `usage: /stats?format=(prometheus|text)&usedonly&filter=regex (format ${format} is not served by this host)\n` };
    }
    default:
      return { status: 404, body: `invalid path. ${helpText()}` };
  }
}

/** Starts the admin listener on 127.0.0.1 (port 0 = ephemeral). @throws HostError HOST_ERR_ADMIN_LISTEN */
export async function startAdmin(opts: AdminOptions): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    const { status, body } = handle(req, opts);
    res.writeHead(status, {
      "content-type": "text/plain; charset=UTF-8",
      "cache-control": "no-cache, max-age=0",
      "x-content-type-options": "nosniff",
      "content-length": String(Buffer.byteLength(body)),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    throw new HostError("HOST_ERR_ADMIN_LISTEN", `cannot listen on 127.0.0.1:${opts.port} for admin: ${(e as Error).message}`);
  }
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
