// Envoy-style log lines: "[<timestamp>][<level>] <message>", filtered by the configured level, and the
// access-log line (never filtered, like Envoy's access log). Owns formatting only; callers decide
// what to log.

import { LogLevel, type LogLevelName } from "./abi/constants";

/** spdlog's level names, as Envoy prints them. */
const LEVEL_TEXT = ["trace", "debug", "info", "warning", "error", "critical"];

export type LogSink = (line: string) => void;

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

  constructor(
    level: LogLevelName,
    private readonly sink: LogSink,
  ) {
    this.threshold = LogLevel[level];
  }

  enabled(level: number): boolean {
    return level >= this.threshold;
  }

  /** One line at `level` (0 trace … 5 critical), dropped below the threshold. */
  log(level: number, message: string): void {
    if (!this.enabled(level)) return;
    this.emit(`[${formatTimestamp(new Date())}][${LEVEL_TEXT[level] ?? "info"}] ${message}`);
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

  /** Access-log lines are not subject to the level. */
  access(line: string): void {
    this.emit(line);
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
}

/** `[<start ISO>] "<METHOD> <path> HTTP/1.1" <status> <details> <duration>ms`; empty details print "-". */
export function formatAccessLog(e: AccessLogEntry): string {
  return (
    `[${e.start.toISOString()}] "${e.method} ${e.path} HTTP/1.1" ${e.status} ` +
    `${e.details === "" ? "-" : e.details} ${e.durationMs}ms`
  );
}
