// The signature tables Envoy links against (proxy-wasm-cpp-host exports.h / wasm.cc / wasm.h):
// which imports exist for each ABI version, and which exports Envoy looks up with which types.
// Data only; the checks live in module.ts.

import type { AbiVersion } from "./constants";
import type { FuncType, ValType } from "./binary";

/** "iiI:i" -> params i32 i32 i64, result i32; "" after ':' means void. */
function sig(spec: string): FuncType {
  const [p, r] = spec.split(":");
  const conv = (c: string): ValType => (c === "i" ? "i32" : c === "I" ? "i64" : "f64");
  return { params: [...p].map(conv), results: [...(r ?? "")].map(conv) };
}

/** env.proxy_* present in every ABI version. */
const PROXY_COMMON: Record<string, string> = {
  log: "iii:i",
  get_status: "iii:i",
  set_property: "iiii:i",
  get_property: "iiii:i",
  send_local_response: "iiiiiiii:i",
  get_shared_data: "iiiii:i",
  set_shared_data: "iiiii:i",
  register_shared_queue: "iii:i",
  resolve_shared_queue: "iiiii:i",
  dequeue_shared_queue: "iii:i",
  enqueue_shared_queue: "iii:i",
  get_header_map_value: "iiiii:i",
  add_header_map_value: "iiiii:i",
  replace_header_map_value: "iiiii:i",
  remove_header_map_value: "iii:i",
  get_header_map_pairs: "iii:i",
  set_header_map_pairs: "iii:i",
  get_header_map_size: "ii:i",
  get_buffer_status: "iii:i",
  get_buffer_bytes: "iiiii:i",
  set_buffer_bytes: "iiiii:i",
  http_call: "iiiiiiiiii:i",
  grpc_call: "iiiiiiiiiiii:i",
  grpc_stream: "iiiiiiiii:i",
  grpc_close: "i:i",
  grpc_cancel: "i:i",
  grpc_send: "iiii:i",
  set_tick_period_milliseconds: "i:i",
  get_current_time_nanoseconds: "i:i",
  define_metric: "iiii:i",
  increment_metric: "iI:i",
  record_metric: "iI:i",
  get_metric: "ii:i",
  set_effective_context: "i:i",
  done: ":i",
  call_foreign_function: "iiiiii:i",
};

const PROXY_ABI_SPECIFIC: Record<AbiVersion, Record<string, string>> = {
  "0.1.0": {
    get_configuration: "ii:i",
    continue_request: ":i",
    continue_response: ":i",
    clear_route_cache: ":i",
  },
  "0.2.0": { continue_stream: "i:i", close_stream: "i:i" },
  "0.2.1": { continue_stream: "i:i", close_stream: "i:i", get_log_level: "i:i" },
};

/** FOR_ALL_WASI_FUNCTIONS with the types Envoy declares (path_link/path_symlink as Envoy has them). */
const WASI: Record<string, string> = {
  fd_write: "iiii:i",
  fd_read: "iiii:i",
  fd_seek: "iIii:i",
  fd_close: "i:i",
  fd_fdstat_get: "ii:i",
  fd_fdstat_set_flags: "ii:i",
  fd_fdstat_set_rights: "iII:i",
  environ_get: "ii:i",
  environ_sizes_get: "ii:i",
  args_get: "ii:i",
  args_sizes_get: "ii:i",
  clock_time_get: "iIi:i",
  clock_res_get: "ii:i",
  fd_advise: "iIIi:i",
  fd_allocate: "iII:i",
  fd_datasync: "i:i",
  fd_filestat_set_size: "iI:i",
  fd_filestat_set_times: "iIIi:i",
  fd_pread: "iiiIi:i",
  fd_pwrite: "iiiIi:i",
  fd_readdir: "iiiIi:i",
  fd_renumber: "ii:i",
  fd_sync: "i:i",
  fd_tell: "ii:i",
  path_create_directory: "iii:i",
  path_filestat_set_times: "iiiiIIi:i",
  path_link: "iiiiii:i",
  path_readlink: "iiiiii:i",
  path_remove_directory: "iii:i",
  path_rename: "iiiiii:i",
  path_symlink: "iiii:i",
  path_unlink_file: "iii:i",
  sock_accept: "iii:i",
  sock_recv: "iiiiii:i",
  sock_send: "iiiii:i",
  sock_shutdown: "ii:i",
  random_get: "ii:i",
  sched_yield: ":i",
  poll_oneoff: "iiii:i",
  proc_exit: "i:",
  path_open: "iiiiiIIii:i",
  fd_prestat_get: "ii:i",
  fd_prestat_dir_name: "iii:i",
  path_filestat_get: "iiiii:i",
  fd_filestat_get: "ii:i",
};

/** Other env.* functions Envoy registers. */
const ENV_EXTRA: Record<string, string> = {
  pthread_equal: "ii:i",
  emscripten_notify_memory_growth: "i:",
  envoy_resolve_dns: "iii:i",
};

export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"] as const;

/** "module.name" -> signature of every function import Envoy provides for `abi`. */
export function hostImportTable(abi: AbiVersion): Map<string, FuncType> {
  const table = new Map<string, FuncType>();
  for (const [n, s] of Object.entries(PROXY_COMMON)) table.set(`env.proxy_${n}`, sig(s));
  for (const [n, s] of Object.entries(PROXY_ABI_SPECIFIC[abi])) table.set(`env.proxy_${n}`, sig(s));
  for (const [n, s] of Object.entries(ENV_EXTRA)) table.set(`env.${n}`, sig(s));
  for (const m of WASI_MODULES) for (const [n, s] of Object.entries(WASI)) table.set(`${m}.${n}`, sig(s));
  return table;
}

/** The proxy_on_* exports Envoy looks up (FOR_ALL_MODULE_FUNCTIONS + Envoy's own), with their types. */
export function moduleCallbackTable(abi: AbiVersion): Map<string, FuncType> {
  const headers = abi === "0.1.0" ? "ii:i" : "iii:i";
  const entries: Record<string, string> = {
    proxy_validate_configuration: "ii:i",
    proxy_on_vm_start: "ii:i",
    proxy_on_configure: "ii:i",
    proxy_on_tick: "i:",
    proxy_on_context_create: "ii:",
    proxy_on_new_connection: "i:i",
    proxy_on_downstream_data: "iii:i",
    proxy_on_upstream_data: "iii:i",
    proxy_on_downstream_connection_close: "ii:",
    proxy_on_upstream_connection_close: "ii:",
    proxy_on_request_headers: headers,
    proxy_on_request_body: "iii:i",
    proxy_on_request_trailers: "ii:i",
    proxy_on_request_metadata: "ii:i",
    proxy_on_response_headers: headers,
    proxy_on_response_body: "iii:i",
    proxy_on_response_trailers: "ii:i",
    proxy_on_response_metadata: "ii:i",
    proxy_on_http_call_response: "iiiii:",
    proxy_on_grpc_receive: "iii:",
    proxy_on_grpc_close: "iii:",
    proxy_on_grpc_receive_initial_metadata: "iii:",
    proxy_on_grpc_receive_trailing_metadata: "iii:",
    proxy_on_queue_ready: "ii:",
    proxy_on_done: "i:i",
    proxy_on_log: "i:",
    proxy_on_delete: "i:",
    // Envoy's own extensions (source/extensions/common/wasm/wasm.cc getFunctions).
    proxy_on_resolve_dns: "iii:",
    proxy_on_stats_update: "ii:",
  };
  if (abi !== "0.1.0") entries.proxy_on_foreign_function = "iii:";
  const table = new Map<string, FuncType>();
  for (const [n, s] of Object.entries(entries)) table.set(n, sig(s));
  return table;
}

/** Lifecycle exports: looked up as in WasmBase::getFunctions (see module.ts for the order). */
export const LIFECYCLE_EXPORTS: Record<string, FuncType> = {
  _initialize: sig(":"),
  main: sig("ii:i"),
  __main_void: sig(":i"),
  _start: sig(":"),
  malloc: sig("i:i"),
  proxy_on_memory_allocate: sig("i:i"),
};
