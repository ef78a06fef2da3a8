// Context records of one VM (Envoy's ContextBase): a root context per plugin and one stream context
// per HTTP stream, with the root-only state the imports act on (status, tick timer, call-out
// response, configuration window). The HTTP behaviour behind a stream context is reached through the
// StreamHooks interface that stream.ts implements. Owns no I/O.

import type { HeaderMap } from "./headers";
import type { Pair } from "./abi/pairs";
import type { WasmVm } from "./vm";
import type { TimerHandle } from "./clock";

/** A header map as an import sees it: null when unavailable; writable only in the right phase. */
export interface MapAccess {
  map: HeaderMap | null;
  writable: boolean;
}

/** A body the module can read and replace (proxy_get/set_buffer_bytes). */
export interface BodyRef {
  data: Buffer;
}

export interface LocalResponse {
  status: number;
  details: string;
  body: Buffer;
  headers: Pair[];
  /** 0..16, or null for "none" (any other value the module passed). */
  grpcStatus: number | null;
}

/** Property lookup result: bytes, or null for NotFound. */
export type PropertyValue = Buffer | null;

/** What a stream context needs from its HTTP stream (implemented by HttpStream). */
export interface StreamHooks {
  headerMap(type: number): MapAccess;
  inLogPhase(): boolean;
  bodyBuffer(type: number): BodyRef | null;
  continueStream(type: number): void;
  closeStream(type: number): void;
  sendLocalResponse(reply: LocalResponse): void;
  property(path: string[]): PropertyValue;
  readonly filterState: Map<string, Buffer>;
}

export interface CalloutResponse {
  headers: HeaderMap;
  trailers: HeaderMap;
  body: Buffer;
}

export class Context {
  /** Set for stream contexts. */
  stream: StreamHooks | null = null;
  deleted = false;

  // Root-context state.
  statusCode = 0;
  statusMessage = "";
  /** True only while proxy_on_configure runs (buffer 7 readable). */
  configuring = false;
  tickPeriodMs = 0;
  tickTimer: TimerHandle | null = null;
  /** Maps 6/7 and buffer 4, only while proxy_on_http_call_response runs. */
  callout: CalloutResponse | null = null;
  /** Buffer 8 (CallData), only while proxy_on_resolve_dns / proxy_on_foreign_function runs. */
  callData: Buffer | null = null;
  /** on_done returned 0: waiting for proxy_done(). */
  pendingDone = false;

  constructor(
    readonly vm: WasmVm,
    readonly id: number,
    /** 0 for a root context. */
    readonly rootContextId: number,
  ) {}

  get isRoot(): boolean {
    return this.rootContextId === 0;
  }

  /** root_context(): itself for a root context. */
  get root(): Context {
    if (this.isRoot) return this;
    return this.vm.contextById(this.rootContextId) ?? this;
  }
}
