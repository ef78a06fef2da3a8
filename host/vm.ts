// One proxy-wasm VM (one per simulated worker): the instance, memory access that survives memory
// growth, the context table, the current/effective context stack, the after-VM-call action queue,
// ticks, call-outs and queue deliveries, and trap handling (a trap marks the VM failed and is logged
// as Envoy logs it). HTTP semantics live in stream.ts; the imports in imports.ts and wasi.ts.

import { HostError } from "./errors";
import { WasmResult } from "./abi/constants";
import type { LoadedModule } from "./abi/module";
import { Context, type CalloutResponse, type StreamHooks } from "./context";
import type { Logger } from "./log";
import { StatsStore, VmMetrics } from "./stats";
import type { SharedStore } from "./shared";
import type { ClusterManager, CalloutResult, CalloutRequest } from "./cluster";
import type { HostClock, PendingWork } from "./clock";
import { buildImports } from "./imports";
import { StartSectionCall, WasmTrap } from "./traps";
import { wasmApi, type WasmInstance, type WasmMemory } from "./abi/wasm-api";

export interface PluginInfo {
  name: string;
  rootId: string;
  vmId: string;
  configuration: Buffer;
  vmConfiguration: Buffer;
  /** "wasm log <name> <root_id> <vm_id>" as Envoy builds it. */
  logPrefix: string;
}

export interface VmServices {
  logger: Logger;
  plugin: PluginInfo;
  stats: StatsStore;
  shared: SharedStore;
  clusters: ClusterManager;
  /** The gateway's time source: wall clock, tick timers (real or manual, see clock.ts). */
  clock: HostClock;
  onFailed?: (vm: WasmVm) => void;
}

/** workerId of the configuration canary (lifecycle.ts), which serves no worker. */
export const CANARY_WORKER_ID = -1;

export type CallResult = { kind: "ok"; value: number } | { kind: "skipped" } | { kind: "trapped" };

interface Frame {
  current: Context;
  effective: Context | null;
}

type WasmFn = (...args: Array<number | bigint>) => unknown;

export class WasmVm {
  instance!: WasmInstance;
  failed = false;
  closed = false;
  /** instantiating: any import call is refused; starting: only Envoy's restricted set is allowed. */
  phase: "instantiating" | "starting" | "running" = "instantiating";
  rootContext: Context | null = null;
  readonly metrics: VmMetrics;
  /** The VM context (id 0) that _initialize/main run under. */
  readonly vmContext: Context;
  /** Message of the last trap, for HostErrors at start-up. */
  lastFailure = "";

  private memory: WasmMemory | null = null;
  private view: Uint8Array = new Uint8Array(0);
  private readonly fns = new Map<string, WasmFn>();
  private readonly frames: Frame[] = [];
  private readonly actions: Array<() => void> = [];
  private readonly contexts = new Map<number, Context>();
  private nextContextId = 1;
  private nextHttpCallToken = 0;
  private nextDnsToken = 0;
  private readonly pendingCallouts = new Map<number, () => void>();
  private readonly pendingTimers = new Map<NodeJS.Immediate, PendingWork>();

  private constructor(
    readonly workerId: number,
    readonly loaded: LoadedModule,
    readonly services: VmServices,
  ) {
    this.metrics = new VmMetrics(services.stats);
    this.vmContext = new Context(this, 0, 0);
  }

  /**
   * Instantiates, initializes (_initialize/main/_start) and starts the plugin (root context 1:
   * on_context_create, on_vm_start, on_configure). Throws HostError on any refusal or failure.
   */
  static create(loaded: LoadedModule, workerId: number, services: VmServices): WasmVm {
    const vm = new WasmVm(workerId, loaded, services);
    try {
      vm.instantiate();
      vm.initialize();
      vm.startPlugin();
    } catch (e) {
      // A VM that could not start is destroyed as Envoy destroys it: no on_done, its calls cancelled.
      vm.kill();
      throw e;
    }
    return vm;
  }

  /** "worker N", or "the configuration canary". */
  get where(): string {
    return this.workerId === CANARY_WORKER_ID ? "the configuration canary" : `worker ${this.workerId}`;
  }

  get plugin(): PluginInfo {
    return this.services.plugin;
  }

  get logger(): Logger {
    return this.services.logger;
  }

  memoryBytes(): number {
    return this.memory ? this.memory.buffer.byteLength : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Start-up

  private instantiate(): void {
    const imports = buildImports(this);
    // Memories and tables the module imports are created by the host, as V8::link does.
    for (const imp of this.loaded.parsed.imports) {
      if (imp.kind !== "memory" && imp.kind !== "table") continue;
      const ns = (imports[imp.module] ??= {});
      if (imp.kind === "memory") {
        const desc: { initial: number; maximum?: number; shared?: boolean } = { initial: imp.min ?? 0 };
        if (imp.max !== undefined) desc.maximum = imp.max;
        if (imp.shared) desc.shared = true;
        ns[imp.name] = new wasmApi.Memory(desc);
      } else {
        const desc: { element: "anyfunc"; initial: number; maximum?: number } = { element: "anyfunc", initial: imp.min ?? 0 };
        if (imp.max !== undefined) desc.maximum = imp.max;
        ns[imp.name] = new wasmApi.Table(desc);
      }
    }
    try {
      this.instance = new wasmApi.Instance(this.loaded.module, imports);
    } catch (e) {
      if (e instanceof StartSectionCall) {
        throw new HostError(
          "HOST_ERR_START_CALLS_HOST",
          `The module's start section called ${e.importName} during instantiation; Envoy has no ` +
            "context there (build with --exportStart _initialize so that Envoy calls _initialize)",
        );
      }
      throw new HostError("HOST_ERR_INSTANTIATE", `Failed to instantiate the Wasm module: ${describeError(e)}`);
    }
    for (const [name, value] of Object.entries(this.instance.exports)) {
      if (typeof value === "function") this.fns.set(name, value as WasmFn);
      else if (value instanceof wasmApi.Memory && this.memory === null) this.memory = value;
    }
    if (this.memory === null) {
      for (const ns of Object.values(imports)) {
        for (const v of Object.values(ns as Record<string, unknown>)) {
          if (v instanceof wasmApi.Memory && this.memory === null) this.memory = v;
        }
      }
    }
  }

  /** WasmBase::startVm: _initialize then main(0,0) or __main_void(), else _start; restricted imports. */
  private initialize(): void {
    this.phase = "starting";
    const ctx = this.vmContext;
    const steps: Array<[string, number[]]> = [];
    if (this.fns.has("_initialize")) {
      steps.push(["_initialize", []]);
      if (this.fns.has("main")) steps.push(["main", [0, 0]]);
      else if (this.fns.has("__main_void")) steps.push(["__main_void", []]);
    } else if (this.fns.has("_start")) {
      steps.push(["_start", []]);
    }
    for (const [name, args] of steps) {
      const r = this.call(name, ctx, args);
      if (r.kind === "trapped") throw new HostError("HOST_ERR_VM_START_FAILED", `Failed to start the Wasm VM: ${this.lastFailure}`);
    }
    this.phase = "running";
  }

  /** Plugin start: root context id 1 (ids are never reused), then vm_start and configure. */
  private startPlugin(): void {
    const root = new Context(this, this.allocContextId(), 0);
    this.contexts.set(root.id, root);
    this.rootContext = root;
    const pluginName = this.plugin.name || this.plugin.rootId || "(unnamed)";
    const fail = (code: "HOST_ERR_VM_START_FAILED" | "HOST_ERR_CONFIGURE_FAILED", why: string): never => {
      throw new HostError(code, `Wasm plugin ${pluginName} on ${this.where}: ${why}`);
    };
    let r = this.call("proxy_on_context_create", root, [root.id, 0]);
    if (r.kind === "trapped") fail("HOST_ERR_VM_START_FAILED", this.lastFailure);
    r = this.call("proxy_on_vm_start", root, [root.id, this.plugin.vmConfiguration.length]);
    if (r.kind === "trapped") fail("HOST_ERR_VM_START_FAILED", this.lastFailure);
    if (r.kind === "ok" && r.value === 0) fail("HOST_ERR_VM_START_FAILED", "proxy_on_vm_start returned 0 (failed to start)");
    root.configuring = true;
    r = this.call("proxy_on_configure", root, [root.id, this.plugin.configuration.length]);
    root.configuring = false;
    if (r.kind === "trapped") fail("HOST_ERR_CONFIGURE_FAILED", this.lastFailure);
    if (r.kind === "ok" && r.value === 0) {
      fail("HOST_ERR_CONFIGURE_FAILED", "proxy_on_configure returned 0 (the plugin configuration was rejected)");
    }
  }

  private allocContextId(): number {
    while (this.contexts.has(this.nextContextId)) this.nextContextId++;
    return this.nextContextId++;
  }

  // ---------------------------------------------------------------------------------------------
  // Calls into the module

  hasExport(name: string): boolean {
    return this.fns.has(name);
  }

  /**
   * Calls an export with `ctx` as the current context (effective context reset). A trap marks the VM
   * failed. When the outermost call returns, the after-VM-call actions run in FIFO order.
   */
  call(name: string, ctx: Context, args: Array<number | bigint>): CallResult {
    if (this.failed || this.closed) return { kind: "skipped" };
    const fn = this.fns.get(name);
    if (!fn) return { kind: "skipped" };
    this.frames.push({ current: ctx, effective: null });
    let trapped = false;
    let error: unknown;
    let value: unknown;
    try {
      value = fn(...args);
    } catch (e) {
      trapped = true;
      error = e;
    } finally {
      this.frames.pop();
    }
    if (trapped) this.fail(name, error);
    if (this.frames.length === 0) this.drainActions();
    if (trapped) return { kind: "trapped" };
    return { kind: "ok", value: typeof value === "number" ? value >>> 0 : 0 };
  }

  /** Queues an after-VM-call action (deferred local reply, continue, close, done...). */
  defer(action: () => void): void {
    this.actions.push(action);
    if (this.frames.length === 0) this.drainActions();
  }

  private drainActions(): void {
    while (this.actions.length > 0) {
      const action = this.actions.shift() as () => void;
      try {
        action();
      } catch (e) {
        this.logger.error(`wasm host: after-VM-call action failed: ${describeError(e)}`);
      }
    }
  }

  /** The context imports act on: the effective one if set and alive, else the current one. */
  activeContext(): Context | null {
    const f = this.frames[this.frames.length - 1];
    if (!f) return null;
    if (f.effective && !f.effective.deleted) return f.effective;
    return f.current;
  }

  inCall(): boolean {
    return this.frames.length > 0;
  }

  setEffectiveContext(id: number): number {
    const f = this.frames[this.frames.length - 1];
    const c = this.contexts.get(id);
    if (!f || !c || c.deleted) return WasmResult.BadArgument;
    f.effective = c;
    return WasmResult.Ok;
  }

  contextById(id: number): Context | undefined {
    return this.contexts.get(id);
  }

  /** Marks the VM failed and logs it as Envoy does ("Wasm VM failed Function: … failed: …"). */
  fail(functionName: string, error: unknown): void {
    const message = `Function: ${functionName} failed: ${trapText(error)}${this.backtrace(error)}`;
    this.lastFailure = message;
    if (this.failed) return;
    this.failed = true;
    this.logger.error(`Wasm VM failed ${message}`);
    for (const c of this.contexts.values()) this.clearTick(c);
    this.services.onFailed?.(this);
  }

  /**
   * Test hook (WorkerInfo.crash): fails the VM exactly as a trap in a callback does (logged, marked
   * failed, ticks stopped, call-out callbacks no longer delivered, fail-closed 503s), from outside any
   * VM call. Shared data and queues it wrote stay, as Envoy keeps them while the vm_id lives.
   */
  crash(): void {
    if (this.closed) return;
    this.fail("crash (test hook)", new WasmTrap("unreachable"));
  }

  private backtrace(error: unknown): string {
    const frames: string[] = [];
    for (const line of wasmStackLines(error)) {
      const m = /wasm-function\[(\d+)\]:0x([0-9a-f]+)/.exec(line);
      if (!m) continue;
      const index = Number(m[1]);
      const name = this.loaded.parsed.functionNames.get(index) ?? `unknown(function index:${index})`;
      frames.push(`\n${String(frames.length).padStart(3, " ")}:  0x${m[2]} - ${name}`);
    }
    return frames.length ? `\nProxy-Wasm plugin in-VM backtrace:${frames.join("")}` : "";
  }

  // ---------------------------------------------------------------------------------------------
  // Streams

  /** Creates a stream context and calls proxy_on_context_create(id, root_id). */
  createStreamContext(hooks: StreamHooks): Context {
    const root = this.rootContext as Context;
    const ctx = new Context(this, this.allocContextId(), root.id);
    ctx.stream = hooks;
    this.contexts.set(ctx.id, ctx);
    this.call("proxy_on_context_create", ctx, [ctx.id, root.id]);
    return ctx;
  }

  deleteContext(ctx: Context): void {
    ctx.deleted = true;
    this.contexts.delete(ctx.id);
  }

  // ---------------------------------------------------------------------------------------------
  // Memory (the buffer is re-read whenever it was detached by memory.grow)

  private bytes(): Uint8Array {
    const m = this.memory;
    if (!m) return this.view;
    if (this.view.buffer !== m.buffer) this.view = new Uint8Array(m.buffer);
    return this.view;
  }

  private inRange(ptr: number, size: number): boolean {
    return ptr + size <= this.bytes().length;
  }

  /** Copies `size` bytes at `ptr`, or null when out of bounds. */
  read(ptr: number, size: number): Buffer | null {
    ptr >>>= 0;
    size >>>= 0;
    if (!this.inRange(ptr, size)) return null;
    return Buffer.from(this.bytes().subarray(ptr, ptr + size));
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, data.length)) return false;
    this.bytes().set(data, ptr);
    return true;
  }

  writeU32(ptr: number, value: number): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, 4)) return false;
    const b = this.bytes();
    new DataView(b.buffer, b.byteOffset).setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    ptr >>>= 0;
    if (!this.inRange(ptr, 8)) return false;
    const b = this.bytes();
    new DataView(b.buffer, b.byteOffset).setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  /**
   * Hands bytes to the module (copyToPointerSize): empty → *ptr=0,*size=0 without malloc; otherwise
   * allocates with malloc (or proxy_on_memory_allocate), copies, then writes pointer and size.
   */
  returnBytes(data: Uint8Array, ptrPtr: number, sizePtr: number): number {
    let pointer = 0;
    if (data.length > 0) {
      pointer = this.allocate(data.length);
      if (pointer === 0 || !this.write(pointer, data)) return WasmResult.InvalidMemoryAccess;
    }
    if (!this.writeU32(ptrPtr, pointer)) return WasmResult.InvalidMemoryAccess;
    if (!this.writeU32(sizePtr, data.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }

  /** Calls the module's allocator; 0 on failure. A trap in it fails the VM (as Envoy) but does not propagate. */
  allocate(size: number): number {
    const fn = this.fns.get(this.loaded.allocator);
    if (!fn || this.failed) return 0;
    try {
      const p = fn(size);
      return typeof p === "number" ? p >>> 0 : 0;
    } catch (e) {
      this.fail(this.loaded.allocator, e);
      return 0;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Root-context events

  /**
   * proxy_set_tick_period_milliseconds on a root context (Envoy's Wasm::setTickPeriod): any running
   * timer is stopped; a period > 0 starts a new one, so the first tick comes one period after this
   * call even when a timer was already running; 0 stops ticking.
   */
  setTickPeriod(root: Context, periodMs: number): void {
    root.tickPeriodMs = periodMs;
    this.clearTick(root);
    if (periodMs > 0) this.armTick(root);
  }

  /** Envoy's tickHandler: on_tick, then the timer is re-enabled with the period current then. */
  private armTick(root: Context): void {
    // On the gateway's clock: setTimeout (unref'd) in real mode, the virtual timer queue in manual mode.
    const handle = this.services.clock.setTimer(
      root.tickPeriodMs,
      () => {
        if (root.tickTimer === handle) root.tickTimer = null;
        if (this.failed || this.closed || root.deleted || root.tickPeriodMs === 0) return;
        if (!this.fns.has("proxy_on_tick")) return;
        this.call("proxy_on_tick", root, [root.id]);
        if (this.failed || this.closed || root.deleted || root.tickPeriodMs === 0) return;
        this.clearTick(root);
        this.armTick(root);
      },
      { unref: true },
    );
    root.tickTimer = handle;
  }

  private clearTick(ctx: Context): void {
    ctx.tickTimer?.cancel();
    ctx.tickTimer = null;
  }

  /** Starts a call-out for `root`; returns the token (4, 8, 12…) or null if it could not start. */
  startHttpCall(root: Context, request: CalloutRequest): number | null {
    this.nextHttpCallToken = (this.nextHttpCallToken + 4) >>> 0;
    if (this.nextHttpCallToken === 0) this.nextHttpCallToken = 4;
    const token = this.nextHttpCallToken;
    const cancel = this.services.clusters.send(request, (result) => this.deliverCallout(root, token, result));
    if (cancel === null) return null;
    this.pendingCallouts.set(token, cancel);
    return token;
  }

  /** Delivers a call-out result from the event loop (never inside another VM call). */
  private deliverCallout(root: Context, token: number, result: CalloutResult): void {
    if (!this.pendingCallouts.delete(token)) return;
    if (this.failed || this.closed || root.deleted) return;
    if (result.kind === "response") {
      root.statusCode = WasmResult.Ok;
      root.statusMessage = "";
      const callout: CalloutResponse = { headers: result.headers, trailers: result.trailers, body: result.body };
      root.callout = callout;
      try {
        this.call("proxy_on_http_call_response", root, [
          root.id,
          token,
          callout.headers.size,
          callout.body.length,
          callout.trailers.size,
        ]);
      } finally {
        root.callout = null;
      }
    } else {
      root.statusCode = WasmResult.BrokenConnection;
      root.statusMessage = result.kind === "reset" ? "reset" : "exceeded buffer limit";
      this.call("proxy_on_http_call_response", root, [root.id, token, 0, 0, 0]);
    }
  }

  /** Shared-queue delivery: posted to the event loop, then proxy_on_queue_ready(root, token). */
  notifyQueueReady(rootContextId: number, token: number): void {
    this.post(() => {
      const root = this.contexts.get(rootContextId);
      if (!root || this.failed || this.closed) return;
      this.call("proxy_on_queue_ready", root, [rootContextId, token]);
    });
  }

  /** env.envoy_resolve_dns: resolves asynchronously, then proxy_on_resolve_dns(root, token, size) with buffer 8. */
  startDnsResolve(root: Context, name: string): number {
    this.nextDnsToken = (this.nextDnsToken + 1) >>> 0 || 1;
    const token = this.nextDnsToken;
    const work = this.services.clock.track();
    import("node:dns")
      .then((dns) => dns.promises.lookup(name, { all: true }))
      .then(
        (addrs) => addrs.map((a) => a.address),
        () => null,
      )
      .then((addrs) => {
        work.finishingNow();
        if (this.failed || this.closed || root.deleted) return;
        let data = Buffer.alloc(0);
        if (addrs !== null) {
          const parts = [Buffer.alloc(4 + 4 * addrs.length)];
          parts[0].writeUInt32LE(addrs.length, 0);
          for (const a of addrs) parts.push(Buffer.from(`${a}\u0000`, "latin1"));
          data = Buffer.concat(parts);
        }
        root.callData = data;
        try {
          this.call("proxy_on_resolve_dns", root, [root.id, token, data.length]);
        } finally {
          root.callData = null;
        }
      })
      .finally(() => work.complete());
    return token;
  }

  private post(fn: () => void): void {
    const work = this.services.clock.track();
    work.finishingNow();
    const h = setImmediate(() => {
      this.pendingTimers.delete(h);
      try {
        fn();
      } finally {
        work.complete();
      }
    });
    this.pendingTimers.set(h, work);
  }

  /** Plugin shutdown: on_done(root); on_delete follows when it returns non-zero, else after proxy_done. */
  shutdown(): void {
    if (this.closed) return;
    const root = this.rootContext;
    if (root && !this.failed && !root.deleted) {
      this.clearTick(root);
      const r = this.call("proxy_on_done", root, [root.id]);
      if (r.kind !== "ok" || r.value !== 0) {
        this.call("proxy_on_delete", root, [root.id]);
        this.deleteContext(root);
      } else {
        root.pendingDone = true;
      }
    }
    this.kill();
  }

  /**
   * Destroys the VM without proxy_on_done, as proxy-wasm-cpp-host's WasmHandleBase::kill() drops the
   * configuration canary: no module code runs again, ticks stop, pending call-outs are cancelled (Envoy's
   * ~Context "Cancel any outstanding requests") and posted callbacks dropped. Shared data it wrote stays.
   */
  kill(): void {
    this.closed = true;
    for (const c of this.contexts.values()) this.clearTick(c);
    for (const cancel of this.pendingCallouts.values()) cancel();
    this.pendingCallouts.clear();
    for (const [h, work] of this.pendingTimers) {
      clearImmediate(h);
      work.complete();
    }
    this.pendingTimers.clear();
  }

  /** proxy_done(): finishes a root context left pending by on_done returning 0. */
  done(ctx: Context): number {
    if (!ctx.isRoot || !ctx.pendingDone) return WasmResult.NotFound;
    ctx.pendingDone = false;
    this.defer(() => {
      this.call("proxy_on_delete", ctx, [ctx.id]);
      this.deleteContext(ctx);
    });
    return WasmResult.Ok;
  }
}

/**
 * The error's stack frames in V8's native form ("name (wasm://wasm/…:wasm-function[N]:0xOFF)"). The
 * CallSites are taken directly, as stack rewriters (source-map-support under jest) change the text.
 */
function wasmStackLines(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const E = Error as unknown as { prepareStackTrace?: (e: Error, sites: Array<{ toString(): string }>) => unknown };
  const original = E.prepareStackTrace;
  let sites: string[] | null = null;
  E.prepareStackTrace = (_e, s) => {
    sites = s.map((x) => x.toString());
    return "";
  };
  let text = "";
  try {
    text = String(error.stack ?? "");
  } catch {
    text = "";
  } finally {
    E.prepareStackTrace = original;
  }
  return sites ?? text.split("\n");
}

/** "Uncaught RuntimeError: unreachable", as V8's trap message reads in Envoy's log. */
function trapText(e: unknown): string {
  if (e instanceof WasmTrap) return `Uncaught RuntimeError: ${e.message}`;
  if (e instanceof Error) return `Uncaught ${e.name}: ${e.message}`;
  return `Uncaught ${String(e)}`;
}

export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export { StatsStore };
