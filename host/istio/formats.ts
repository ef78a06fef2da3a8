// Owns the names and defaults of the `istio --format` outputs, apart from render.ts so the command line
// can show them without loading the `yaml` package.

export type IstioFormat = "config" | "wasmplugin" | "envoy";
export const FORMATS: readonly IstioFormat[] = ["config", "wasmplugin", "envoy"];

/** envoy/istio/wasmplugin.yaml's placeholder: push build/jwt_authn.wasm there, or pass --url. */
export const DEFAULT_URL = "oci://registry.example.com/jwt-authn-wasm:0.1.0";
/** envoy/envoy.yaml's path of the module inside the Envoy container. */
export const DEFAULT_FILENAME = "/etc/envoy/jwt_authn.wasm";
