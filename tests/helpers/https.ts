// A one-shot HTTPS client for the TLS tests: a fresh connection per request (no agent), verifying the
// gateway against the test CA, optionally presenting a client certificate, sending an SNI, or capping
// the TLS version. Resolves with the answer, or with the error when the connection is refused.
import https from "node:https";
import type tls from "node:tls";

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpsOptions {
  ca: string;
  /** PEM client certificate and key to present. */
  cert?: string;
  key?: string;
  /** SNI to send (Node sends none for an IP address). */
  servername?: string;
  maxVersion?: tls.SecureVersion;
  /** Replaces the server-name check (an SNI the gateway's certificate does not carry). */
  checkServerIdentity?: (host: string, cert: tls.PeerCertificate) => Error | undefined;
  method?: string;
  headers?: Record<string, string>;
}

export function httpsRequest(url: string, o: HttpsOptions): Promise<HttpsAnswer | { error: Error }> {
  return new Promise((resolve) => {
    const { method, headers, ...tlsOptions } = o;
    const req = https.request(url, { ...tlsOptions, method: method ?? "GET", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (error) => resolve({ error }));
    });
    req.on("error", (error) => resolve({ error }));
    req.end();
  });
}

/** The answer, or a test failure naming the error. */
export function answered(r: HttpsAnswer | { error: Error }): HttpsAnswer {
  if ("error" in r) throw new Error(`request failed: ${r.error.message}`);
  return r;
}
