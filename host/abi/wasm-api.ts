// Minimal typings for the JS WebAssembly API, reached through globalThis. The project's tsconfig
// (lib ES2022, @types/node 20) declares no WebAssembly namespace, so the host types what it uses here.

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmTable {
  readonly length: number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export type WasmImports = Record<string, Record<string, unknown>>;

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Table: new (desc: { element: "anyfunc"; initial: number; maximum?: number }) => WasmTable;
}

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
