// Starts the compiled filter (build/jwt_authn.wasm) in the local proxy-wasm host, in front of a real
// backend, and collects the host's log lines.
import * as path from "path";
import { serve, Gateway, ServeOptions } from "../../host/index";

/** The filter under test; JWT_AUTHN_WASM points the suites at another build (e.g. an older one, to see a regression test fail). */
export const WASM = process.env.JWT_AUTHN_WASM ?? path.resolve(__dirname, "..", "..", "build", "jwt_authn.wasm");

export interface TestGateway {
  gw: Gateway;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startGateway(
  config: object | string,
  upstream: string,
  opts: { clusters?: Record<string, string>; workers?: number; wasm?: string; maxRequestHeadersCount?: number; serve?: Partial<ServeOptions> } = {},
): Promise<TestGateway> {
  const logs: string[] = [];
  const gw = await serve({
    wasm: opts.wasm ?? WASM,
    configuration: typeof config === "string" ? config : JSON.stringify(config),
    upstream,
    clusters: opts.clusters ?? {},
    port: 0,
    workers: opts.workers ?? 2,
    maxRequestHeadersCount: opts.maxRequestHeadersCount,
    ...(opts.serve ?? {}),
    logLevel: "info",
    log: (line: string) => logs.push(line),
  });
  return { gw, url: gw.url, logs, close: () => gw.close() };
}

/** Starts the filter with a configuration expected to be refused; returns the error and the log lines. */
export async function refusedConfig(config: string, upstream: string): Promise<{ error: Error & { code?: string }; logs: string[] }> {
  const logs: string[] = [];
  try {
    const gw = await serve({ wasm: WASM, configuration: config, upstream, port: 0, workers: 1, logLevel: "info", log: (l: string) => logs.push(l) });
    await gw.close();
  } catch (e) {
    return { error: e as Error, logs };
  }
  throw new Error(`configuration was accepted: ${config}`);
}
