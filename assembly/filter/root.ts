// Owns the plugin's root context: it parses and compiles the configuration in onConfigure (a bad one
// is logged once at error level and refused), owns the compiled Config, the extractor and the remote
// key sets (one per `jwksUri` rule, held by the rule), starts JWKS fetches with proxy_http_call and wakes
// the requests that waited for them.
import {
  RootContext, Context, BaseContext, log, LogLevelValues, stream_context, HeaderPair, WasmResultValues,
  proxy_set_effective_context,
} from "@solo-io/proxy-runtime/assembly";
import { get_buffer_bytes, BufferTypeValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { Config } from "../config/config";
import { parseConfig } from "../config/parse";
import { Extractor } from "../authn/extractor";
import { RemoteJwks, KeyWaiter } from "../jwks/remote";
import { parseJwks, MAX_JWKS_BYTES } from "../jwks/jwks";
import { Status, statusString } from "../status";
import { JwtStream } from "./stream";
import { TokenCache } from "../authn/cache";
import { Stats } from "./stats";
import { nowSeconds } from "./clock";

/** The origin handed to httpCall: it names the key set the response is for (AS has no closures). */
class FetchOrigin extends BaseContext {
  constructor(id: u32, public remote: RemoteJwks, public root: JwtRoot) {
    super(id);
  }
}

function hdr(k: string, v: string): HeaderPair {
  return new HeaderPair(String.UTF8.encode(k), String.UTF8.encode(v));
}

function onJwksResponse(origin: BaseContext, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
  const o = origin as FetchOrigin;
  o.root.completeFetch(o.remote, numHeaders, bodySize);
}

export class JwtRoot extends RootContext {
  config: Config | null = null;
  extractor: Extractor | null = null;
  cache: TokenCache = new TokenCache(0, 0);
  stats: Stats | null = null;

  createContext(context_id: u32): Context {
    return new JwtStream(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    const bytes = this.getConfigurationBytes(configuration_size);
    const res = parseConfig(changetype<usize>(bytes), bytes.byteLength);
    const cfg = res.config;
    if (cfg === null) {
      log(LogLevelValues.error, "invalid plugin configuration: " + res.error);
      return false;
    }
    for (let i = 0; i < res.warnings.length; i++) log(LogLevelValues.warn, unchecked(res.warnings[i]));
    this.config = cfg;
    if (this.stats === null) this.stats = new Stats();
    this.extractor = new Extractor(cfg);
    this.cache = new TokenCache(cfg.cacheEntries, cfg.cacheBytes);
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      if (r.localJwks === null) r.remote = new RemoteJwks(r);
    }
    log(LogLevelValues.info, "configured " + cfg.rules.length.toString() + " jwt rule(s) and " + cfg.policies.length.toString() + " policy(ies)");
    // Fetch every remote key set now, so the first requests rarely wait.
    for (let i = 0; i < cfg.rules.length; i++) {
      const rj = unchecked(cfg.rules[i]).remote;
      if (rj !== null) this.startFetch(rj);
    }
    return true;
  }

  /** Starts a fetch unless one is in flight; false when the host refused to start it. */
  startFetch(rj: RemoteJwks): bool {
    if (rj.inFlight) return true;
    const rule = rj.rule;
    const headers: HeaderPair[] = [hdr(":method", "GET"), hdr(":path", rule.jwksPath), hdr(":authority", rule.jwksAuthority),
      hdr(":scheme", rule.jwksUri.startsWith("https://") ? "https" : "http")];
    const result = this.httpCall(rule.jwksCluster, headers, new ArrayBuffer(0), [], rule.timeoutMs,
      new FetchOrigin(this.context_id, rj, this), onJwksResponse);
    if (result != WasmResultValues.Ok) {
      log(LogLevelValues.warn, "jwks fetch for issuer " + rule.issuer + " could not start: cluster " + rule.jwksCluster +
        " refused the call (WasmResult " + result.toString() + ")");
      return false;
    }
    rj.inFlight = true;
    return true;
  }

  /** The response of a fetch: 200 with a JWKS that has a usable key, or a failure for every waiter. */
  completeFetch(rj: RemoteJwks, numHeaders: u32, bodySize: usize): void {
    rj.inFlight = false;
    const rule = rj.rule;
    let problem = "";
    if (numHeaders == 0) {
      problem = "the call failed (reset)";
    } else {
      const status = stream_context.headers.http_callback.get(":status");
      if (status != "200") problem = "status " + status;
      else if (bodySize == 0) problem = "empty body";
      else if (bodySize > <usize>MAX_JWKS_BYTES) problem = "body over " + MAX_JWKS_BYTES.toString() + " bytes";
      else {
        const body = get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, <u32>bodySize);
        const set = parseJwks(changetype<usize>(body), body.byteLength);
        if (set.status != Status.Ok) problem = statusString(set.status);
        else {
          rj.jwks = set;
          rj.fetchedAtS = nowSeconds();
        }
      }
    }
    const ok = problem.length == 0;
    const stats = this.stats;
    if (stats !== null) (ok ? stats.jwksFetchSuccess : stats.jwksFetchFailed).increment(1);
    if (!ok) {
      log(LogLevelValues.warn, "jwks fetch for issuer " + rule.issuer + " from " + rule.jwksUri + " failed: " + problem);
    }
    const waiters = rj.waiters;
    rj.waiters = [];
    for (let i = 0; i < waiters.length; i++) {
      const w = unchecked(waiters[i]);
      if (!w.isAlive()) continue;
      if (proxy_set_effective_context(w.contextId()) != WasmResultValues.Ok) continue;
      w.keysReady(ok);
    }
  }

  /** Queues a paused request; false when no fetch could be started (the request fails at once). */
  waitForKeys(rj: RemoteJwks, w: KeyWaiter): bool {
    if (!this.startFetch(rj)) return false;
    rj.waiters.push(w);
    return true;
  }
}
