// Every env.* import Envoy provides (proxy_* per ABI version, plus pthread_equal,
// emscripten_notify_memory_growth, envoy_resolve_dns), bound to one WasmVm. Each checks every pointer
// against the current memory, returns a WasmResult and never throws into the VM; the only throws
// are deliberate traps (restricted calls during _initialize, proc_exit) and the start-section refusal.

import zlib from "node:zlib";
import {
  BUFFER_TYPE_MAX,
  HEADER_MAP_TYPE_MAX,
  LOG_LEVEL_MAX,
  WasmResult,
} from "./abi/constants";
import { parsePairs } from "./abi/pairs";
import { hostImportTable } from "./abi/signatures";
import type { BodyRef, Context, MapAccess } from "./context";
import { binaryToBytes, bytesToBinary, HeaderMap } from "./headers";
import { wasmLogSource } from "./log";
import type { WasmVm } from "./vm";
import { wasiImports } from "./wasi";
import { StartSectionCall, WasmTrap } from "./traps";
import type { WasmImports } from "./abi/wasm-api";

export { StartSectionCall, WasmTrap };

/** WasmBase::startVm's allow-list while _initialize/main/_start run; anything else traps. */
const START_ALLOWED = new Set<string>(["env.proxy_log"]);
for (const m of ["wasi_unstable", "wasi_snapshot_preview1"]) {
  for (const f of [
    "fd_write",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "clock_time_get",
    "random_get",
  ]) {
    START_ALLOWED.add(`${m}.${f}`);
  }
}

type Impl = (...args: never[]) => number | void;

/** Builds the import object for exactly the functions the module imports (all were checked by loadModule). */
export function buildImports(vm: WasmVm): WasmImports {
  const table = hostImportTable(vm.loaded.abiVersion);
  const proxy = proxyImports(vm);
  const wasi = wasiImports(vm);
  const imports: WasmImports = {};
  for (const imp of vm.loaded.parsed.imports) {
    if (imp.kind !== "func") continue;
    const qualified = `${imp.module}.${imp.name}`;
    const sig = table.get(qualified);
    let impl: Impl | undefined = imp.module === "env" ? proxy[imp.name] : wasi[imp.name];
    if (impl === undefined) {
      // Listed by Envoy but with nothing to do here: answer like an unsupported call.
      const isVoid = sig !== undefined && sig.results.length === 0;
      impl = () => (isVoid ? undefined : imp.module === "env" ? WasmResult.Unimplemented : 52);
    }
    (imports[imp.module] ??= {})[imp.name] = guard(vm, qualified, impl);
  }
  return imports;
}

function guard(vm: WasmVm, qualified: string, impl: Impl): (...args: Array<number | bigint>) => number | void {
  const allowedAtStart = START_ALLOWED.has(qualified);
  const fn = impl as unknown as (...args: Array<number | bigint>) => number | void;
  return (...args) => {
    if (vm.phase === "instantiating") throw new StartSectionCall(qualified);
    if (vm.phase === "starting" && !allowedAtStart) throw new WasmTrap("restricted_callback");
    try {
      return fn(...args);
    } catch (e) {
      if (e instanceof WasmTrap || e instanceof StartSectionCall) throw e;
      vm.logger.error(`wasm host: ${qualified} failed: ${e instanceof Error ? e.stack : String(e)}`);
      return WasmResult.InternalFailure;
    }
  };
}

/** StringUtil::replaceAllEmptySpace: whitespace in response-code details becomes '_'. */
function detailsText(b: Buffer): string {
  return bytesToBinary(b).replace(/[ \t\f\v\n\r]/g, "_");
}

function proxyImports(vm: WasmVm): Record<string, Impl> {
  const ctxOf = (): Context => {
    const c = vm.activeContext();
    if (!c) throw new Error("no current context");
    return c;
  };
  const plugin = vm.plugin;

  const mapFor = (ctx: Context, type: number): MapAccess => {
    if (type === 6 || type === 7) {
      const c = ctx.root.callout;
      return { map: c ? (type === 6 ? c.headers : c.trailers) : null, writable: false };
    }
    if (type === 4 || type === 5 || !ctx.stream) return { map: null, writable: false };
    return ctx.stream.headerMap(type);
  };

  /** null = NotFound; {ref} = a body the module may modify; {data} = read-only bytes. */
  const bufferFor = (ctx: Context, type: number): { ref?: BodyRef; data: Buffer } | null => {
    switch (type) {
      case 0:
      case 1: {
        const ref = ctx.stream ? ctx.stream.bodyBuffer(type) : null;
        return ref ? { ref, data: ref.data } : { data: Buffer.alloc(0) };
      }
      case 4:
        return ctx.root.callout ? { data: ctx.root.callout.body } : null;
      case 6:
        return { data: plugin.vmConfiguration };
      case 7:
        return ctx.root.configuring ? { data: plugin.configuration } : null;
      case 8:
        return ctx.root.callData ? { data: ctx.root.callData } : null;
      default:
        return null;
    }
  };

  const editMap = (type: number, edit: (m: HeaderMap) => void): number => {
    if (type > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
    const access = mapFor(ctxOf(), type);
    if (!access.map || !access.writable) return WasmResult.BadArgument;
    edit(access.map);
    return WasmResult.Ok;
  };

  const imports: Record<string, Impl> = {
    proxy_log(level: number, ptr: number, size: number): number {
      if (level >>> 0 > LOG_LEVEL_MAX) return WasmResult.BadArgument;
      const msg = vm.read(ptr, size);
      if (!msg) return WasmResult.InvalidMemoryAccess;
      vm.logger.log(level, `${plugin.logPrefix}: ${msg.toString("utf8")}`, wasmLogSource(level));
      return WasmResult.Ok;
    },

    proxy_get_log_level(ptr: number): number {
      return vm.writeU32(ptr, vm.logger.threshold) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_status(codePtr: number, ptrPtr: number, sizePtr: number): number {
      const root = ctxOf().root;
      if (!vm.writeU32(codePtr, root.statusCode)) return WasmResult.InvalidMemoryAccess;
      return vm.returnBytes(Buffer.from(root.statusMessage, "utf8"), ptrPtr, sizePtr);
    },

    proxy_set_tick_period_milliseconds(period: number): number {
      vm.setTickPeriod(ctxOf().root, period >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_current_time_nanoseconds(ptr: number): number {
      // Envoy's dispatcher time source: the gateway's clock (shifted by advanceClock, virtual with manualClock).
      return vm.writeU64(ptr, vm.services.clock.nowNs()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_property(pathPtr: number, pathSize: number, ptrPtr: number, sizePtr: number): number {
      const path = vm.read(pathPtr, pathSize);
      if (!path) return WasmResult.InvalidMemoryAccess;
      const value = getProperty(vm, ctxOf(), path);
      if (value === null) return WasmResult.NotFound;
      return vm.returnBytes(value, ptrPtr, sizePtr);
    },

    proxy_set_property(keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      const key = vm.read(keyPtr, keySize);
      const value = vm.read(valuePtr, valueSize);
      if (!key || !value) return WasmResult.InvalidMemoryAccess;
      const stream = ctxOf().stream;
      if (!stream) return WasmResult.NotFound;
      stream.filterState.set(bytesToBinary(key), value);
      return WasmResult.Ok;
    },

    proxy_continue_stream(type: number): number {
      type >>>= 0;
      if (type > 3) return WasmResult.BadArgument;
      if (type === 3) return WasmResult.Unimplemented;
      if (type === 2) return WasmResult.Ok;
      ctxOf().stream?.continueStream(type);
      return WasmResult.Ok;
    },

    proxy_close_stream(type: number): number {
      type >>>= 0;
      if (type > 3) return WasmResult.BadArgument;
      if (type <= 1) ctxOf().stream?.closeStream(type);
      return WasmResult.Ok;
    },

    proxy_send_local_response(
      status: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      headersPtr: number,
      headersSize: number,
      grpcStatus: number,
    ): number {
      const details = vm.read(detailsPtr, detailsSize);
      const body = vm.read(bodyPtr, bodySize);
      const headers = vm.read(headersPtr, headersSize);
      if (!details || !body || !headers) return WasmResult.InvalidMemoryAccess;
      ctxOf().stream?.sendLocalResponse({
        status: status >>> 0,
        details: detailsText(details),
        body,
        headers: parsePairs(headers),
        grpcStatus: grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : null,
      });
      return WasmResult.Ok;
    },

    proxy_get_shared_data(keyPtr: number, keySize: number, ptrPtr: number, sizePtr: number, casPtr: number): number {
      const key = vm.read(keyPtr, keySize);
      if (!key) return WasmResult.InvalidMemoryAccess;
      const entry = vm.services.shared.get(plugin.vmId, bytesToBinary(key));
      if (!entry) return WasmResult.NotFound;
      const r = vm.returnBytes(entry.value, ptrPtr, sizePtr);
      if (r !== WasmResult.Ok) return r;
      return vm.writeU32(casPtr, entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number): number {
      const key = vm.read(keyPtr, keySize);
      const value = vm.read(valuePtr, valueSize);
      if (!key || !value) return WasmResult.InvalidMemoryAccess;
      return vm.services.shared.set(plugin.vmId, bytesToBinary(key), value, cas >>> 0);
    },

    proxy_register_shared_queue(namePtr: number, nameSize: number, tokenPtr: number): number {
      const name = vm.read(namePtr, nameSize);
      if (!name) return WasmResult.InvalidMemoryAccess;
      const root = ctxOf().root;
      const token = vm.services.shared.registerQueue(plugin.vmId, bytesToBinary(name), vm, root.id);
      return vm.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_resolve_shared_queue(vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number): number {
      const vmId = vm.read(vmIdPtr, vmIdSize);
      const name = vm.read(namePtr, nameSize);
      if (!vmId || !name) return WasmResult.InvalidMemoryAccess;
      const id = vmId.length === 0 ? plugin.vmId : bytesToBinary(vmId);
      const token = vm.services.shared.resolveQueue(id, bytesToBinary(name));
      if (token === undefined) return WasmResult.NotFound;
      return vm.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_dequeue_shared_queue(token: number, ptrPtr: number, sizePtr: number): number {
      const r = vm.services.shared.dequeue(token >>> 0);
      if (r.result !== WasmResult.Ok) return r.result;
      return vm.returnBytes(r.data as Buffer, ptrPtr, sizePtr);
    },

    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataSize: number): number {
      const data = vm.read(dataPtr, dataSize);
      if (!data) return WasmResult.InvalidMemoryAccess;
      return vm.services.shared.enqueue(token >>> 0, data);
    },

    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = vm.read(keyPtr, keySize);
      const value = vm.read(valuePtr, valueSize);
      if (!key || !value) return WasmResult.InvalidMemoryAccess;
      return editMap(type >>> 0, (m) => m.add(bytesToBinary(key), bytesToBinary(value)));
    },

    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = vm.read(keyPtr, keySize);
      const value = vm.read(valuePtr, valueSize);
      if (!key || !value) return WasmResult.InvalidMemoryAccess;
      return editMap(type >>> 0, (m) => m.setCopy(bytesToBinary(key), bytesToBinary(value)));
    },

    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number): number {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = vm.read(keyPtr, keySize);
      if (!key) return WasmResult.InvalidMemoryAccess;
      return editMap(type >>> 0, (m) => m.remove(bytesToBinary(key)));
    },

    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, ptrPtr: number, sizePtr: number): number {
      type >>>= 0;
      if (type > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = vm.read(keyPtr, keySize);
      if (!key) return WasmResult.InvalidMemoryAccess;
      const ctx = ctxOf();
      const abi01 = vm.loaded.abiVersion === "0.1.0";
      const { map } = mapFor(ctx, type);
      if (!map) {
        if (ctx.stream?.inLogPhase()) return abi01 ? vm.returnBytes(Buffer.alloc(0), ptrPtr, sizePtr) : WasmResult.NotFound;
        return WasmResult.BadArgument;
      }
      const value = map.get(bytesToBinary(key));
      if (value === undefined) return abi01 ? vm.returnBytes(Buffer.alloc(0), ptrPtr, sizePtr) : WasmResult.NotFound;
      return vm.returnBytes(binaryToBytes(value), ptrPtr, sizePtr);
    },

    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      type >>>= 0;
      if (type > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const { map } = mapFor(ctxOf(), type);
      return vm.returnBytes(map ? map.serialize() : Buffer.alloc(0), ptrPtr, sizePtr);
    },

    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const data = vm.read(ptr, size);
      if (!data) return WasmResult.InvalidMemoryAccess;
      const pairs = parsePairs(data);
      return editMap(type >>> 0, (m) => {
        m.clear();
        for (const [k, v] of pairs) m.add(bytesToBinary(k), bytesToBinary(v));
      });
    },

    proxy_get_header_map_size(type: number, sizePtr: number): number {
      type >>>= 0;
      if (type > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const { map } = mapFor(ctxOf(), type);
      if (!map) return WasmResult.BadArgument;
      return vm.writeU32(sizePtr, map.byteSize()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number): number {
      type >>>= 0;
      if (type > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const b = bufferFor(ctxOf(), type);
      if (!b) return WasmResult.NotFound;
      if (!vm.writeU32(lengthPtr, b.data.length)) return WasmResult.InvalidMemoryAccess;
      return vm.writeU32(flagsPtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_buffer_bytes(type: number, start: number, maxSize: number, ptrPtr: number, sizePtr: number): number {
      type >>>= 0;
      if (type > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const b = bufferFor(ctxOf(), type);
      if (!b) return WasmResult.NotFound;
      start >>>= 0;
      maxSize >>>= 0;
      // Word arithmetic is 64-bit in Envoy, so start + max cannot overflow here; clamp to the buffer.
      let length = 0;
      if (start < b.data.length) length = Math.min(maxSize, b.data.length - start);
      return vm.returnBytes(length > 0 ? b.data.subarray(start, start + length) : Buffer.alloc(0), ptrPtr, sizePtr);
    },

    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataSize: number): number {
      type >>>= 0;
      if (type > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const data = vm.read(dataPtr, dataSize);
      if (!data) return WasmResult.InvalidMemoryAccess;
      const b = bufferFor(ctxOf(), type);
      if (!b) return WasmResult.NotFound;
      if (!b.ref) return WasmResult.BadArgument;
      return replaceBody(b.ref, start >>> 0, length >>> 0, data);
    },

    proxy_http_call(
      upstreamPtr: number,
      upstreamSize: number,
      headersPtr: number,
      headersSize: number,
      bodyPtr: number,
      bodySize: number,
      trailersPtr: number,
      trailersSize: number,
      timeoutMs: number,
      tokenPtr: number,
    ): number {
      const root = ctxOf().root;
      const upstream = vm.read(upstreamPtr, upstreamSize);
      const headerBytes = vm.read(headersPtr, headersSize);
      const body = vm.read(bodyPtr, bodySize);
      const trailerBytes = vm.read(trailersPtr, trailersSize);
      if (!upstream || !headerBytes || !body || !trailerBytes) return WasmResult.InvalidMemoryAccess;
      // Envoy writes a 0 token first, to check the pointer before starting anything.
      if (!vm.writeU32(tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
      if ((timeoutMs | 0) < 0) return WasmResult.BadArgument;
      const cluster = bytesToBinary(upstream);
      if (!vm.services.clusters.has(cluster)) return WasmResult.BadArgument;
      const headers = HeaderMap.fromPairs(parsePairs(headerBytes));
      if (!headers.has(":path") || !headers.has(":method") || !headers.has(":authority")) {
        return WasmResult.BadArgument;
      }
      if (body.length > 0) headers.replace("content-length", String(body.length));
      const token = vm.startHttpCall(root, {
        cluster,
        headers,
        body,
        trailers: HeaderMap.fromPairs(parsePairs(trailerBytes)),
        timeoutMs: timeoutMs >>> 0,
      });
      if (token === null) return WasmResult.InternalFailure;
      return vm.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // No gRPC clusters exist in this host: calls are refused, unknown tokens are NotFound.
    proxy_grpc_call: () => WasmResult.BadArgument,
    proxy_grpc_stream: () => WasmResult.BadArgument,
    proxy_grpc_cancel: () => WasmResult.NotFound,
    proxy_grpc_close: () => WasmResult.NotFound,
    proxy_grpc_send: () => WasmResult.NotFound,

    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number): number {
      // exports.cc reads the name first; Context::defineMetric then refuses a type > 2.
      const name = vm.read(namePtr, nameSize);
      if (!name) return WasmResult.InvalidMemoryAccess;
      type >>>= 0;
      if (type > 2) return WasmResult.BadArgument;
      const id = vm.metrics.define(type, name.toString("utf8"));
      return vm.writeU32(idPtr, id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, offset: bigint): number {
      return vm.metrics.increment(id >>> 0, BigInt.asIntN(64, BigInt(offset)));
    },

    proxy_record_metric(id: number, value: bigint): number {
      return vm.metrics.record(id >>> 0, BigInt(value));
    },

    proxy_get_metric(id: number, resultPtr: number): number {
      const r = vm.metrics.get(id >>> 0);
      if (r.result !== WasmResult.Ok) return r.result;
      return vm.writeU64(resultPtr, r.value as bigint) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_effective_context(id: number): number {
      return vm.setEffectiveContext(id >>> 0);
    },

    proxy_done(): number {
      return vm.done(ctxOf());
    },

    proxy_call_foreign_function(
      namePtr: number,
      nameSize: number,
      argsPtr: number,
      argsSize: number,
      ptrPtr: number,
      sizePtr: number,
    ): number {
      const name = vm.read(namePtr, nameSize);
      const args = vm.read(argsPtr, argsSize);
      if (!name || !args) return WasmResult.InvalidMemoryAccess;
      const fn = FOREIGN_FUNCTIONS[name.toString("utf8")];
      if (!fn) return WasmResult.NotFound;
      const r = fn(args);
      if (typeof r === "number") return r;
      return vm.returnBytes(r, ptrPtr, sizePtr);
    },

    // ABI 0.1.0 only (loadModule refuses them for 0.2.x modules).
    proxy_get_configuration(ptrPtr: number, sizePtr: number): number {
      const root = ctxOf().root;
      return vm.returnBytes(root.configuring ? plugin.configuration : plugin.vmConfiguration, ptrPtr, sizePtr);
    },
    proxy_continue_request(): number {
      ctxOf().stream?.continueStream(0);
      return WasmResult.Ok;
    },
    proxy_continue_response(): number {
      ctxOf().stream?.continueStream(1);
      return WasmResult.Ok;
    },
    proxy_clear_route_cache: () => WasmResult.Ok,

    // Other env functions Envoy registers.
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
    emscripten_notify_memory_growth: () => undefined,
    envoy_resolve_dns(namePtr: number, nameSize: number, tokenPtr: number): number {
      const name = vm.read(namePtr, nameSize);
      if (!name) return WasmResult.InvalidMemoryAccess;
      const token = vm.startDnsResolve(ctxOf().root, name.toString("utf8"));
      return vm.writeU32(tokenPtr, token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
  return imports;
}

/** Buffer::copyFrom for bodies: start 0 prepends (length 0) or replaces (length >= size); start >= size appends. */
export function replaceBody(ref: BodyRef, start: number, length: number, data: Buffer): number {
  const size = ref.data.length;
  if (start === 0) {
    if (length === 0) {
      ref.data = Buffer.concat([data, ref.data]);
      return WasmResult.Ok;
    }
    if (length >= size) {
      ref.data = Buffer.from(data);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }
  if (start >= size) {
    ref.data = Buffer.concat([ref.data, data]);
    return WasmResult.Ok;
  }
  return WasmResult.BadArgument;
}

/** The foreign functions Envoy registers that make sense here. */
const FOREIGN_FUNCTIONS: Record<string, (args: Buffer) => Buffer | number> = {
  compress: (args) => zlib.deflateSync(args),
  uncompress: (args) => {
    try {
      return zlib.inflateSync(args);
    } catch {
      return WasmResult.SerializationFailure;
    }
  },
  // One route only: there is no cache to clear.
  clear_route_cache: () => Buffer.alloc(0),
};

function getProperty(vm: WasmVm, ctx: Context, path: Buffer): Buffer | null {
  if (path.length === 0) return null;
  const segments = bytesToBinary(path).split("\u0000");
  const top = segments[0];
  const plugin = vm.plugin;
  if (segments.length === 1) {
    if (top === "plugin_name") return Buffer.from(plugin.name, "utf8");
    if (top === "plugin_root_id") return Buffer.from(plugin.rootId, "utf8");
    if (top === "plugin_vm_id") return Buffer.from(plugin.vmId, "utf8");
  }
  return ctx.stream ? ctx.stream.property(segments) : null;
}

