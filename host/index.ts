// Public API of the local proxy-wasm host: serve() starts a gateway that runs a proxy-wasm module the
// way Envoy's wasm HTTP filter does; loadModule() applies Envoy's load-time checks alone.

export { serve } from "./server";
export type { ServeOptions, Gateway, WorkerInfo } from "./server";
export type { FailurePolicy, PluginChange } from "./lifecycle";
export { HostError } from "./errors";
export type { HostErrorCode } from "./errors";
export { loadModule } from "./abi/module";
export type { LoadedModule } from "./abi/module";
export type { LogLevelName } from "./abi/constants";
