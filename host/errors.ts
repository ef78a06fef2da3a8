// Host errors with stable codes (HOST_ERR_*). Owns the code list and the HostError class; every refusal
// of a module or a gateway configuration is one of these. It must not log or decide policy.

/** Stable error codes. Tests and callers match on these, never on the message text. */
export type HostErrorCode =
  | "HOST_ERR_BAD_OPTIONS" // ServeOptions or CLI input is unusable (bad URL, bad worker count...)
  | "HOST_ERR_WASM_READ" // the .wasm file cannot be read
  | "HOST_ERR_MODULE_PARSE" // not a WebAssembly binary, or a corrupted section ("Failed to parse corrupted Wasm module")
  | "HOST_ERR_ABI_VERSION" // no proxy_abi_version_0_1_0 / 0_2_0 / 0_2_1 export
  | "HOST_ERR_COMPILE" // V8 refused the bytecode ("Failed to load Wasm bytecode")
  | "HOST_ERR_MISSING_IMPORT" // an import Envoy does not provide for that ABI version
  | "HOST_ERR_IMPORT_TYPE" // a provided import with another signature
  | "HOST_ERR_EXPORT_TYPE" // an export Envoy calls (proxy_on_*, malloc, _initialize...) with another signature
  | "HOST_ERR_NO_ALLOCATOR" // neither malloc nor proxy_on_memory_allocate
  | "HOST_ERR_START_CALLS_HOST" // the start section called an import during instantiation
  | "HOST_ERR_INSTANTIATE" // instantiation failed otherwise (trap in the start section, link error)
  | "HOST_ERR_VM_START_FAILED" // _initialize/main trapped, or on_context_create/on_vm_start failed
  | "HOST_ERR_CONFIGURE_FAILED" // proxy_on_configure returned 0 or trapped
  | "HOST_ERR_LISTEN" // the HTTP listener could not be opened
  | "HOST_ERR_ADMIN_LISTEN" // the admin listener (ServeOptions.adminPort) could not be opened
  | "HOST_ERR_NO_MANUAL_CLOCK"; // Gateway.advance() on a gateway started without manualClock

export class HostError extends Error {
  readonly code: HostErrorCode;

  constructor(code: HostErrorCode, message: string) {
    super(message);
    this.name = "HostError";
    this.code = code;
  }
}
