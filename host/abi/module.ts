// Module loading checks, in Envoy's order: ABI marker, compile, imports (names and types per ABI
// version), then the exports Envoy looks up (signatures, allocator). Refusals are HostErrors with
// Envoy's wording. Instantiation (and the start-section check) happens in vm.ts.

import { ABI_MARKERS, type AbiVersion } from "./constants";
import {
  functionType,
  parseWasmBinary,
  printValTypes,
  sameSignature,
  WasmParseError,
  type FuncType,
  type ParsedModule,
} from "./binary";
import { hostImportTable, LIFECYCLE_EXPORTS, moduleCallbackTable } from "./signatures";
import { HostError } from "../errors";
import { wasmApi, type WasmModule } from "./wasm-api";

export interface LoadedModule {
  abiVersion: AbiVersion;
  module: WasmModule;
  /** The sections read from the binary (types, imports, exports, names). */
  parsed: ParsedModule;
  /** Names of every exported function, for "is this callback exported". */
  exportedFunctions: Set<string>;
  /** The allocator Envoy would use: malloc if exported, else proxy_on_memory_allocate. */
  allocator: "malloc" | "proxy_on_memory_allocate";
}

/**
 * Checks a module as Envoy does before running it, and compiles it.
 * @throws HostError HOST_ERR_MODULE_PARSE | HOST_ERR_ABI_VERSION | HOST_ERR_COMPILE |
 *   HOST_ERR_MISSING_IMPORT | HOST_ERR_IMPORT_TYPE | HOST_ERR_EXPORT_TYPE | HOST_ERR_NO_ALLOCATOR
 * @example
 *   const { abiVersion, module } = loadModule(fs.readFileSync("build/jwt_authn.wasm"));
 */
export function loadModule(bytes: Uint8Array): LoadedModule {
  let parsed: ParsedModule;
  try {
    parsed = parseWasmBinary(bytes);
  } catch (e) {
    const why = e instanceof WasmParseError ? e.message : String(e);
    throw new HostError("HOST_ERR_MODULE_PARSE", `Failed to parse corrupted Wasm module: ${why}`);
  }

  // BytecodeUtil::getAbiVersion: the first function export named like a marker decides.
  let abiVersion: AbiVersion | undefined;
  for (const ex of parsed.exports) {
    if (ex.kind !== "func") continue;
    const hit = ABI_MARKERS.find(([name]) => name === ex.name);
    if (hit) {
      abiVersion = hit[1];
      break;
    }
  }
  if (abiVersion === undefined) {
    throw new HostError("HOST_ERR_ABI_VERSION", "Missing or unknown Proxy-Wasm ABI version");
  }

  let module: WasmModule;
  try {
    module = new wasmApi.Module(bytes);
  } catch (e) {
    throw new HostError("HOST_ERR_COMPILE", `Failed to load Wasm bytecode: ${(e as Error).message}`);
  }

  checkImports(parsed, abiVersion);

  const exportedFunctions = new Set(parsed.exports.filter((e) => e.kind === "func").map((e) => e.name));
  const allocator = checkExports(parsed, abiVersion);
  return { abiVersion, module, parsed, exportedFunctions, allocator };
}

/** V8::link: every function import must be registered for this ABI, with the same types. */
function checkImports(parsed: ParsedModule, abi: AbiVersion): void {
  const table = hostImportTable(abi);
  for (const imp of parsed.imports) {
    const qualified = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory" || imp.kind === "table") continue; // the host creates these
    if (imp.kind !== "func") {
      throw new HostError(
        "HOST_ERR_MISSING_IMPORT",
        `Failed to load Wasm module due to a missing import: ${qualified}`,
      );
    }
    const host = table.get(qualified);
    if (host === undefined) {
      throw new HostError(
        "HOST_ERR_MISSING_IMPORT",
        `Failed to load Wasm module due to a missing import: ${qualified}`,
      );
    }
    const want = imp.type as FuncType;
    if (!sameSignature(want, host)) {
      throw new HostError(
        "HOST_ERR_IMPORT_TYPE",
        `Failed to load Wasm module due to an import type mismatch: ${qualified}, want: ` +
          `${printValTypes(want.params)} -> ${printValTypes(want.results)}, but host exports: ` +
          `${printValTypes(host.params)} -> ${printValTypes(host.results)}`,
      );
    }
  }
}

/** WasmBase::getFunctions: the exports Envoy fetches, in its order; returns the allocator's name. */
function checkExports(parsed: ParsedModule, abi: AbiVersion): "malloc" | "proxy_on_memory_allocate" {
  const funcExports = new Map<string, number>();
  for (const ex of parsed.exports) {
    if (ex.kind === "func" && !funcExports.has(ex.name)) funcExports.set(ex.name, ex.index);
  }
  const check = (name: string, want: FuncType): boolean => {
    const index = funcExports.get(name);
    if (index === undefined) return false;
    const got = functionType(parsed, index);
    if (got === undefined || !sameSignature(got, want)) {
      const gotText = got ? `${printValTypes(got.params)} -> ${printValTypes(got.results)}` : "unknown";
      throw new HostError(
        "HOST_ERR_EXPORT_TYPE",
        `Bad function signature for: ${name}, want: ${printValTypes(want.params)} -> ` +
          `${printValTypes(want.results)}, but the module exports: ${gotText}`,
      );
    }
    return true;
  };

  if (check("_initialize", LIFECYCLE_EXPORTS._initialize)) {
    check("main", LIFECYCLE_EXPORTS.main);
    check("__main_void", LIFECYCLE_EXPORTS.__main_void);
  } else {
    check("_start", LIFECYCLE_EXPORTS._start);
  }
  let allocator: "malloc" | "proxy_on_memory_allocate";
  if (check("malloc", LIFECYCLE_EXPORTS.malloc)) allocator = "malloc";
  else if (check("proxy_on_memory_allocate", LIFECYCLE_EXPORTS.proxy_on_memory_allocate)) {
    allocator = "proxy_on_memory_allocate";
  } else {
    throw new HostError("HOST_ERR_NO_ALLOCATOR", "Wasm module is missing malloc function.");
  }
  for (const [name, want] of moduleCallbackTable(abi)) check(name, want);
  return allocator;
}
