// Owns the plugin's root context: it parses and compiles the configuration in onConfigure (a bad one
// is logged once at error level and refused), owns the compiled Config, the extractor, the token cache
// and the key sets (jwks/keysets.ts: one shared, refreshed set per URI, attached to the rules that use
// it), starts their fetches with proxy_http_call and drives their lifecycle from proxy_on_tick (never
// from onConfigure: see there). A configuration that replaces another keeps the old key sets ticking
// until the requests paused on them are resumed or failed; a tick period the host refused is asked for
// again at the next chance (tick, fetch response, paused request, configuration), logged once.
import {
  RootContext, Context, BaseContext, log, LogLevelValues, HeaderPair, WasmResultValues,
} from "@solo-io/proxy-runtime/assembly";
import { get_current_time_nanoseconds } from "@solo-io/proxy-runtime/assembly/runtime";
import { proxy_set_tick_period_milliseconds } from "@solo-io/proxy-runtime/assembly/imports";
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
  constructor(id: u32, public remote: RemoteSet, public keySets: KeySets, public root: JwtRoot) {
    super(id);
  }
}

function onFetchResponse(origin: BaseContext, numHeaders: u32, bodySize: usize, _numTrailers: u32): void {
  const o = origin as FetchOrigin;
  o.keySets.complete(o.remote, numHeaders, bodySize, nowMs());
  // The period may have changed (requests resumed), or the host refused the last one: ask again.
  o.root.updateTick();
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
      new FetchOrigin(this.root.context_id, rs, ks, this.root), onFetchResponse);
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
  /** The host refused the last tick period asked for (logged once until it is accepted). */
  private tickRefused: bool = false;
  /** Key sets of replaced configurations that still hold paused requests (drained on ticks). */
  private retiredKeySets: KeySets[] = [];
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
    // Requests paused on the key sets of the configuration being replaced keep them: they are ticked
    // (drainTick) until each such request is resumed or failed within its fetch timeout.
    const old = this.keySets;
    if (old !== null && old.anyPaused()) this.retiredKeySets.push(old);
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
    const now = nowMs();
    const ks = this.keySets;
    if (ks !== null) {
      if (this.startPending) {
        this.startPending = false;
        ks.start(now);
      }
      ks.tick(now);
    }
    this.drainRetired(now);
    this.updateTick();
  }

  /** Ticks the key sets of replaced configurations; drops those whose paused requests are all over. */
  private drainRetired(now: f64): void {
    const old = this.retiredKeySets;
    if (old.length == 0) return;
    const keep: KeySets[] = [];
    for (let i = 0; i < old.length; i++) {
      const k = unchecked(old[i]);
      if (k.drainTick(now)) keep.push(k);
    }
    this.retiredKeySets = keep;
  }

  /**
   * Ticks every second for refreshes and retries, every 100 ms while requests wait (results of other VMs),
   * and after 1 ms for the first fetches of a new configuration.
   */
  updateTick(): void {
    const ks = this.keySets;
    let want: u32 = ks === null || !ks.any() ? 0 : this.startPending ? START_TICK_MS : ks.anyPaused() ? FAST_TICK_MS : TICK_MS;
    if (this.retiredKeySets.length > 0 && (want == 0 || want > FAST_TICK_MS)) want = FAST_TICK_MS;
    if (want == this.tickMs) return;
    // Recorded only once the host took it: a refused period is asked for again at the next call.
    const r = proxy_set_tick_period_milliseconds(want);
    if (r == WasmResultValues.Ok) {
      this.tickMs = want;
      if (this.tickRefused) {
        this.tickRefused = false;
        log(LogLevelValues.info, "jwt_authn: tick period " + want.toString() + " ms set after an earlier refusal");
      }
    } else if (!this.tickRefused) {
      this.tickRefused = true;
      log(LogLevelValues.error, "jwt_authn: the host refused tick period " + want.toString() + " ms (WasmResult " + (<i32>r).toString() +
        "); key sets are not refreshed and paused requests not timed out until it is accepted (asked again at the next request, fetch response or configuration)");
    }
  }
}
