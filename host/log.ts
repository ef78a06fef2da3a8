// Envoy-style log lines in Envoy's default format "[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v" (logger
// "wasm"; the "[file:line]" part only where the line mirrors one Envoy source line), filtered by the
// configured level, and the access-log line (off unless asked, never filtered by level, like Envoy's
// access log). Owns formatting only; callers decide what to log.

import { LogLevel, type LogLevelName } from "./abi/constants";

/** spdlog's level names, as Envoy prints them. */
const LEVEL_TEXT = ["trace", "debug", "info", "warning", "error", "critical"];

export type LogSink = (line: string) => void;

/**
 * Envoy's source location of the ENVOY_LOG that prints a module's proxy_log line at each level
 * (Context::log in source/extensions/common/wasm/context.cc of Envoy 1.33+: trace … critical, three
 * lines apart), printed by the default format's "[%g:%#]".
 */
export function wasmLogSource(level: number): string {
  return `source/extensions/common/wasm/context.cc:${1131 + 3 * Math.max(0, Math.min(5, level))}`;
}

/** "%t": the OS thread id. Every VM of this host runs on Node's main thread, whose id is the pid. */
const THREAD_ID = process.pid;

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** "2024-05-01 12:00:00.123" in UTC (Envoy's %Y-%m-%d %T.%e). */
export function formatTimestamp(d: Date): string {
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

export function parseLogLevel(name: string): LogLevelName | undefined {
  if (name === "warning") return "warn";
  return Object.prototype.hasOwnProperty.call(LogLevel, name) ? (name as LogLevelName) : undefined;
}

export class Logger {
  readonly threshold: number;

  /** `accessLog`: whether access() prints (Envoy has no access log unless one is configured). */
  constructor(
    level: LogLevelName,
    private readonly sink: LogSink,
    readonly accessLog = false,
  ) {
    this.threshold = LogLevel[level];
  }

  enabled(level: number): boolean {
    return level >= this.threshold;
  }

  /**
   * One line at `level` (0 trace … 5 critical), dropped below the threshold:
   * "[<timestamp>][<tid>][<level>][wasm] [<source>] <message>" ("[<source>] " only when given).
   */
  log(level: number, message: string, source?: string): void {
    if (!this.enabled(level)) return;
    const where = source === undefined ? "" : `[${source}] `;
    this.emit(`[${formatTimestamp(new Date())}][${THREAD_ID}][${LEVEL_TEXT[level] ?? "info"}][wasm] ${where}${message}`);
  }

  error(message: string): void {
    this.log(LogLevel.error, message);
  }

  warn(message: string): void {
    this.log(LogLevel.warn, message);
  }

  info(message: string): void {
    this.log(LogLevel.info, message);
  }

  debug(message: string): void {
    this.log(LogLevel.debug, message);
  }

  /** Access-log lines: printed only when the access log is on, whatever the level. */
  access(line: string): void {
    if (this.accessLog) this.emit(line);
  }

  private emit(line: string): void {
    try {
      this.sink(line);
    } catch {
      // A throwing sink must not break request processing.
    }
  }
}

/** Envoy's Plugin::makeLogPrefix: " <name> <root_id> <vm_id>", each part only if non-empty. */
export function wasmLogPrefix(pluginName: string, rootId: string, vmId: string): string {
  let p = "";
  for (const part of [pluginName, rootId, vmId]) if (part !== "") p += ` ${part}`;
  return `wasm log${p}`;
}

export interface AccessLogEntry {
  start: Date;
  method: string;
  path: string;
  status: number;
  details: string;
  durationMs: number;
  /**
   * The filter state the filters set with proxy_set_property (Envoy keeps it as `wasm.<name>`), printed as
   * Envoy's `%FILTER_STATE(wasm.<name>:PLAIN)%` would print it; jwt-authn-wasm sets `jwt_authn_decision`.
   */
  filterState?: ReadonlyMap<string, Buffer>;
}

/**
 * `[<start ISO>] "<METHOD> <path> HTTP/1.1" <status> <details> <duration>ms`; empty details print "-";
 * then ` wasm.<name>="<value>"` for each filter state entry, in the order it was set (quotes, backslashes
 * and control characters escaped, so a value cannot forge a field or a line).
 */
export function formatAccessLog(e: AccessLogEntry): string {
  let line = `[${e.start.toISOString()}] "${e.method} ${e.path} HTTP/1.1" ${e.status} ` + `${e.details === "" ? "-" : e.details} ${e.durationMs}ms`;
  for (const [name, value] of e.filterState ?? []) line += ` wasm.${escapeField(name)}="${escapeField(value.toString("utf8"))}"`;
  return line;
}

function escapeField(s: string): string {
  return s.replace(/[\\"\x00-\x1f\x7f]/g, (c) => (c === '"' || c === "\\" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}
