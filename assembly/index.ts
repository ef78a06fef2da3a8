// The module's entry: the proxy-wasm ABI exports (from the patched SDK) and the root context
// registration. No logic lives here.
export * from "@solo-io/proxy-runtime/assembly/proxy";
import { RootContext, registerRootContext } from "@solo-io/proxy-runtime/assembly";
import { JwtRoot } from "./filter/root";

// Registered under "" so it serves the Envoy default (no root_id); the patched SDK also falls back to it
// for any other root_id.
registerRootContext((context_id: u32): RootContext => new JwtRoot(context_id), "");
