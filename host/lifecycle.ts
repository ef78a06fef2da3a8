// Plugin and VM lifecycle, as Envoy's wasm extension (source/extensions/common/wasm/wasm.cc: createWasm,
// PluginConfig) and proxy-wasm-cpp-host (src/wasm.cc: WasmHandleBase::canary, getOrCreateThreadLocalPlugin)
// run it: the configuration canary, one VM per worker, what a worker does after a trap (the failure policy),
// and replacing the plugin as an LDS update does (the new plugin's canary first; the old plugin drains and
// its VMs get proxy_on_done once their last stream has ended). Owns which VM a new stream gets; sockets
// and which connection goes to which worker are server.ts's, one VM's calls and shutdown vm.ts's, and the
// per-stream fail-closed/fail-open answers stream.ts's.

import fs from "node:fs/promises";
import { HostError } from "./errors";
import { loadModule, type LoadedModule } from "./abi/module";
import { wasmLogPrefix } from "./log";
import { CANARY_WORKER_ID, WasmVm, type PluginInfo, type VmServices } from "./vm";

/**
 * Envoy's PluginConfig.failure_policy (wasm.proto FailurePolicy), applied when a VM failed at runtime (a
 * trap): FAIL_CLOSED (the default) answers 503 on that worker from then on, FAIL_OPEN lets its requests
 * through without the filter, FAIL_RELOAD answers 503 and gives the next stream after the backoff a fresh VM.
 */
export type FailurePolicy = "fail-closed" | "fail-open" | "reload";

export const FAILURE_POLICIES: readonly FailurePolicy[] = ["fail-closed", "fail-open", "reload"];

/** Envoy's ReloadConfig.backoff.base_interval default (PluginConfig's reload_backoff_). */
export const DEFAULT_RELOAD_BACKOFF_MS = 1000;

/** What every VM of every plugin of one gateway shares (VmServices without the plugin). */
export type HostServices = Omit<VmServices, "plugin" | "onFailed">;

export interface PluginSettings {
  failurePolicy: FailurePolicy;
  /** Envoy's reload_config.backoff.base_interval in ms (gt 1 ms); each wait is drawn from [base, 1.5 × base). */
  reloadBackoffMs: number;
  /** Random source for the backoff's jitter (default Math.random). */
  random?: () => number;
}

/** The module's bytes: a path is read, bytes are taken as they are. */
export async function readWasm(wasm: string | Uint8Array): Promise<Uint8Array> {
  if (typeof wasm !== "string") return wasm;
  try {
    return await fs.readFile(wasm);
  } catch (e) {
    throw new HostError("HOST_ERR_WASM_READ", `cannot read ${wasm}: ${(e as Error).message}`);
  }
}

/** Configuration bytes as Envoy passes a StringValue/BytesValue: a string is its UTF-8 bytes. */
export function configurationBytes(configuration: string | Uint8Array): Buffer {
  return typeof configuration === "string"
    ? Buffer.from(configuration, "utf8")
    : Buffer.from(configuration.buffer, configuration.byteOffset, configuration.byteLength);
}

export function pluginInfo(p: { pluginName?: string; rootId?: string; vmId?: string; configuration: Buffer; vmConfiguration?: string }): PluginInfo {
  return {
    name: p.pluginName ?? "",
    rootId: p.rootId ?? "",
    vmId: p.vmId ?? "",
    configuration: p.configuration,
    vmConfiguration: Buffer.from(p.vmConfiguration ?? "", "utf8"),
    logPrefix: wasmLogPrefix(p.pluginName ?? "", p.rootId ?? "", p.vmId ?? ""),
  };
}

interface WorkerSlot {
  vm: WasmVm;
  /** Monotonic time the slot's VM was last (re)loaded: Envoy's SinglePluginHandle last_load. */
  lastLoadNs: bigint;
}

/**
 * One plugin (a module and a configuration) and its VMs, one per worker. While it is current, new streams
 * get its VMs; once replaced it drains: each VM is shut down (proxy_on_done) after its last stream ended,
 * and with the last one the plugin lets go of the vm_id's shared data.
 */
export class Plugin {
  /** No VM of it runs any more (drained, closed, or never started). */
  closed = false;
  draining = false;
  private readonly slots: WorkerSlot[] = [];
  /** Streams in flight per VM. */
  private readonly streams = new Map<WasmVm, number>();
  /** VMs that take no new stream (replaced after a trap, or the plugin drains), shut down when idle. */
  private readonly retired = new Set<WasmVm>();
  private sharedHeld = false;

  private constructor(
    readonly bytes: Uint8Array,
    readonly loaded: LoadedModule,
    readonly info: PluginInfo,
    private readonly host: HostServices,
    private readonly settings: PluginSettings,
  ) {}

  /**
   * Envoy's createWasm then the worker slots: the canary (a VM started and configured once, then killed
   * without proxy_on_done), then one VM per worker. Throws the canary's (or a worker's) HostError, with
   * nothing left running.
   * @example
   *   const p = Plugin.start(bytes, loadModule(bytes), info, 2, host, { failurePolicy: "fail-closed", reloadBackoffMs: 1000 });
   */
  static start(bytes: Uint8Array, loaded: LoadedModule, info: PluginInfo, workers: number, host: HostServices, settings: PluginSettings): Plugin {
    const p = new Plugin(bytes, loaded, info, host, settings);
    // The base VM's hold on the vm_id: shared data the canary writes is there for the workers, and stays
    // until this plugin's last VM is gone (a newer plugin with the same vm_id takes its own hold first).
    host.shared.acquire(info.vmId);
    p.sharedHeld = true;
    try {
      WasmVm.create(loaded, CANARY_WORKER_ID, p.vmServices()).kill();
      const now = host.clock.monotonicNs();
      for (let i = 0; i < workers; i++) p.slots.push({ vm: WasmVm.create(loaded, i, p.vmServices()), lastLoadNs: now });
    } catch (e) {
      p.close();
      throw e;
    }
    return p;
  }

  get failurePolicy(): FailurePolicy {
    return this.settings.failurePolicy;
  }

  /** The worker's current VM (WorkerInfo). */
  vmAt(worker: number): WasmVm {
    return this.slots[worker].vm;
  }

  /**
   * The VM a new stream on `worker` runs in, counted until streamEnded(). With the reload policy, a VM that
   * failed at runtime is first replaced by a fresh one (new instance, vm_start, configure) unless the last
   * load on this worker is more recent than the backoff (Envoy's PluginConfig::maybeReloadHandleIfNeeded);
   * otherwise, and if the reload fails, the failed VM answers (503).
   */
  vmForStream(worker: number): WasmVm {
    const slot = this.slots[worker];
    if (slot.vm.failed && !slot.vm.closed && this.settings.failurePolicy === "reload" && !this.draining) this.reload(worker, slot);
    const vm = slot.vm;
    this.streams.set(vm, (this.streams.get(vm) ?? 0) + 1);
    return vm;
  }

  streamEnded(vm: WasmVm): void {
    const n = (this.streams.get(vm) ?? 0) - 1;
    if (n > 0) {
      this.streams.set(vm, n);
      return;
    }
    this.streams.delete(vm);
    if (this.retired.has(vm)) this.shutdownVm(vm);
  }

  private reload(worker: number, slot: WorkerSlot): void {
    const now = this.host.clock.monotonicNs();
    if (now - slot.lastLoadNs < BigInt(this.backoffMs()) * 1_000_000n) return; // Envoy: VmReloadBackoff
    slot.lastLoadNs = now;
    let vm: WasmVm;
    try {
      vm = WasmVm.create(this.loaded, worker, this.vmServices());
    } catch (e) {
      // Envoy: VmReloadFailure; the failed VM stays (fail closed) until the next attempt.
      this.host.logger.warn(`Failed to reload WASM plugin: ${this.info.name} (${(e as Error).message})`);
      return;
    }
    this.host.logger.debug(`wasm host: worker ${worker}: the failed VM was replaced by a new one (failure_policy FAIL_RELOAD)`);
    const old = slot.vm;
    slot.vm = vm;
    this.retire(old);
  }

  /** Envoy's JitteredLowerBoundBackOffStrategy::nextBackOffMs: base + random % (base / 2). */
  private backoffMs(): number {
    const base = this.settings.reloadBackoffMs;
    const jitter = Math.floor(base / 2);
    return base + (jitter > 0 ? Math.floor((this.settings.random ?? Math.random)() * jitter) % jitter : 0);
  }

  /** Replaced by a newer plugin: no new streams; each VM gets proxy_on_done once its streams ended. */
  drain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    for (const slot of this.slots) this.retire(slot.vm);
    this.finishIfDrained();
  }

  /** Gateway shutdown (or a refused start): every VM shut down now. */
  close(): void {
    this.draining = true;
    for (const slot of this.slots) this.retired.add(slot.vm);
    for (const vm of [...this.retired]) this.shutdownVm(vm);
    this.finishIfDrained();
  }

  private retire(vm: WasmVm): void {
    this.retired.add(vm);
    if (!this.streams.has(vm)) this.shutdownVm(vm);
  }

  private shutdownVm(vm: WasmVm): void {
    this.retired.delete(vm);
    this.streams.delete(vm);
    vm.shutdown();
    this.finishIfDrained();
  }

  private finishIfDrained(): void {
    if (!this.draining || this.retired.size > 0) return;
    this.closed = true;
    if (this.sharedHeld) {
      this.sharedHeld = false;
      this.host.shared.release(this.info.vmId);
    }
  }

  private vmServices(): VmServices {
    return { ...this.host, plugin: this.info };
  }
}

export interface PluginChange {
  /** The new plugin configuration (default: the current one). */
  configuration?: string | Uint8Array;
  /** The new module, a path (read again) or bytes (default: the current module's bytes). */
  wasm?: string | Uint8Array;
}

/**
 * The gateway's current plugin and those still draining. replace() applies a change as Envoy applies an
 * LDS update with a new wasm filter config: the new plugin is started (canary first) before anything
 * changes; if it is refused, the current plugin keeps serving; otherwise it becomes current and the old
 * one drains.
 */
export class PluginLifecycle {
  private readonly draining = new Set<Plugin>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    public current: Plugin,
    private readonly workers: number,
    private readonly host: HostServices,
    private readonly settings: PluginSettings,
  ) {}

  /**
   * Resolves to "unchanged" when the module and configuration are byte-for-byte the current ones (Envoy
   * ignores an identical update), else "applied" with `previous` draining. Changes are applied one at a time
   * in call order. Throws the new plugin's HostError when refused (the current plugin stays).
   */
  replace(change: PluginChange, onApplied: (previous: Plugin) => void): Promise<"applied" | "unchanged"> {
    const run = async (): Promise<"applied" | "unchanged"> => {
      const cur = this.current;
      const configuration = change.configuration === undefined ? cur.info.configuration : configurationBytes(change.configuration);
      const bytes = change.wasm === undefined ? cur.bytes : await readWasm(change.wasm);
      if (Buffer.compare(bytes, cur.bytes) === 0 && configuration.equals(cur.info.configuration)) return "unchanged";
      const loaded = bytes === cur.bytes ? cur.loaded : loadModule(bytes);
      const info: PluginInfo = { ...cur.info, configuration };
      const next = Plugin.start(bytes, loaded, info, this.workers, this.host, this.settings);
      this.current = next;
      for (const p of this.draining) if (p.closed) this.draining.delete(p);
      this.draining.add(cur);
      cur.drain();
      onApplied(cur);
      return "applied";
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * The plugin and VM a new stream on `worker` runs in: `plugin`'s (the one its connection was accepted
   * under), or the current plugin's once that VM was shut down, so that no stream ever runs without the
   * filter because its connection outlived its plugin.
   */
  vmForStream(plugin: Plugin, worker: number): { plugin: Plugin; vm: WasmVm } {
    const p = plugin.closed || plugin.vmAt(worker).closed ? this.current : plugin;
    return { plugin: p, vm: p.vmForStream(worker) };
  }

  close(): void {
    for (const p of this.draining) p.close();
    this.draining.clear();
    this.current.close();
  }
}
