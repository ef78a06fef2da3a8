// Owns the plugin's root context: it parses and compiles the configuration in onConfigure (a bad one
// is logged once at error level and refused), owns the compiled Config, the extractor, the token cache
// and the key sets (jwks/keysets.ts: one shared, refreshed set per URI, attached to the rules that use
// it), starts their fetches with proxy_http_call and drives their lifecycle from proxy_on_tick (never
// from onConfigure: see there).
import {
  RootContext, Context, BaseContext, log, LogLevelValues, HeaderPair, WasmResultValues,
} from "@solo-io/proxy-runtime/assembly";
import { set_tick_period_milliseconds, get_current_time_nanoseconds } from "@solo-io/proxy-runtime/assembly/runtime";
import { Config } from "../config/config";
import { parseConfig } from "../config/parse";
import { Extractor } from "../authn/extractor";
import { RemoteSet, DocKind } from "../jwks/remote";
import { KeySets, FetchStarter, TICK_MS, FAST_TICK_MS } from "../jwks/keysets";
import { claimVmId } from "../jwks/shared";
import { JwtStream, STREAM_POOL_MAX } from "./stream";
import { TokenCache } from "../authn/cache";
import { Stats } from "./stats";
import { nowMs } from "./clock";

/** The origin handed to httpCall: it names the set and the key sets the response is for (AS has no closures). */
/** The first tick of a configuration with remote key sets: its first fetches start there. */
const START_TICK_MS: u32 = 1;

class FetchOrigin extends BaseContext {
  constructor(id: u32, public remote: RemoteSet, public keySets: KeySets) {
    super(id);
  }
}

function onFetchResponse(origin: BaseContext, numHeaders: u32, bodySize: usize, _numTrailers: u32): void {
  const o = origin as FetchOrigin;
  o.keySets.complete(o.remote, numHeaders, bodySize, nowMs());
}

class RootFetcher extends FetchStarter {
  keySets: KeySets | null = null;
  constructor(public root: JwtRoot) {
    super();
  }
  start(rs: RemoteSet, headers: HeaderPair[], timeoutMs: u32): WasmResultValues {
    const ks = this.keySets;
    if (ks === null) return WasmResultValues.InternalFailure;
    return this.root.httpCall(rs.target.cluster, headers, new ArrayBuffer(0), [], timeoutMs,
      new FetchOrigin(this.root.context_id, rs, ks), onFetchResponse);
  }
}

export class JwtRoot extends RootContext {
  config: Config | null = null;
  extractor: Extractor | null = null;
  cache: TokenCache = new TokenCache(0, 0);
  stats: Stats | null = null;
  keySets: KeySets | null = null;
  private vmId: u32 = 0;
  private tickMs: u32 = 0;
  /** The first fetches of the configuration are still to start (at the first tick). */
  private startPending: bool = false;

  /** Deleted streams kept for the next requests (at most STREAM_POOL_MAX): a request allocates no stream. */
  private idleStreams: JwtStream[] = [];

  createContext(context_id: u32): Context {
    const idle = this.idleStreams;
    if (idle.length > 0) {
      const s = idle.pop();
      s.reuse(context_id);
      return s;
    }
    return new JwtStream(context_id, this);
  }

  /** Takes back a deleted stream; the host calls it no more, and a paused waiter of it no longer matches. */
  recycle(s: JwtStream): void {
    if (this.idleStreams.length >= STREAM_POOL_MAX) return;
    s.reuse(0);
    this.idleStreams.push(s);
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
    let stats = this.stats;
    if (stats === null) {
      stats = new Stats();
      this.stats = stats;
    }
    this.extractor = new Extractor(cfg);
    this.cache = new TokenCache(cfg.cacheEntries, cfg.cacheBytes);
    if (this.vmId == 0) this.vmId = claimVmId(get_current_time_nanoseconds());
    const fetcher = new RootFetcher(this);
    const ks = new KeySets(this.vmId, cfg.maxPausedRequests, stats, fetcher);
    fetcher.keySets = ks;
    for (let i = 0; i < cfg.rules.length; i++) {
      const r = unchecked(cfg.rules[i]);
      const jt = r.jwksTarget;
      const dt = r.discoveryTarget;
      if (jt !== null) r.remote = ks.setFor(DocKind.Jwks, jt, r);
      else if (dt !== null) r.remote = ks.setFor(DocKind.Discovery, dt, r);
    }
    this.keySets = ks;
    log(LogLevelValues.info, "configured " + cfg.rules.length.toString() + " jwt rule(s) and " + cfg.policies.length.toString() + " policy(ies)");
    // Every remote document is fetched at the first tick (one VM wins each lease), so the first requests
    // rarely wait; a request before it starts the fetch itself. Not here: Envoy configures a canary copy of
    // the VM first (proxy-wasm-cpp-host WasmHandleBase::canary) and then destroys it without on_done,
    // cancelling its calls; a fetch started here would hold the lease for nobody, and every VM's first
    // requests would wait out the lease and fail (docs/conformance.md, D1).
    this.startPending = ks.any();
    this.updateTick();
    return true;
  }

  onTick(): void {
    const ks = this.keySets;
    if (ks === null) return;
    const now = nowMs();
    if (this.startPending) {
      this.startPending = false;
      ks.start(now);
    }
    ks.tick(now);
    this.updateTick();
  }

  /**
   * Ticks every second for refreshes and retries, every 100 ms while requests wait (results of other VMs),
   * and after 1 ms for the first fetches of a new configuration.
   */
  updateTick(): void {
    const ks = this.keySets;
    const want: u32 = ks === null || !ks.any() ? 0 : this.startPending ? START_TICK_MS : ks.anyPaused() ? FAST_TICK_MS : TICK_MS;
    if (want != this.tickMs) {
      this.tickMs = want;
      set_tick_period_milliseconds(want);
    }
  }
}
