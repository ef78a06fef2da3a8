// Owns printing a plugin configuration in the three shapes `jwt-authn-wasm istio --format` offers: the
// configuration JSON itself, an Istio WasmPlugin (as envoy/istio/wasmplugin.yaml), and Envoy's
// `envoy.filters.http.wasm` HTTP filter (as in envoy/envoy.yaml).
import { stringify } from "yaml";
import { DEFAULT_FILENAME, DEFAULT_URL, type IstioFormat } from "./formats";
import type { PluginConfiguration } from "./translate";

export { DEFAULT_FILENAME, DEFAULT_URL, FORMATS, type IstioFormat } from "./formats";

export interface RenderOptions {
  format: IstioFormat;
  /** WasmPlugin metadata.namespace. */
  namespace: string;
  /** WasmPlugin spec.selector.matchLabels (left out when empty). */
  labels: Record<string, string>;
  /** With no labels: WasmPlugin spec.targetRefs naming this gateway (or else this service). */
  gateway?: string;
  service?: string;
  url?: string;
  filename?: string;
}

const indent = (text: string, spaces: number) =>
  text
    .split("\n")
    .map((l) => (l === "" ? l : " ".repeat(spaces) + l))
    .join("\n");

/** A YAML scalar, quoted only when YAML needs it. */
const scalar = (v: string) => stringify(v).trimEnd();

export function renderConfiguration(config: PluginConfiguration, o: RenderOptions): string {
  const json = JSON.stringify(config, null, 2);
  if (o.format === "config") return `${json}\n`;
  if (o.format === "wasmplugin") {
    const lines = [
      "# The filter with the translated RequestAuthentication/AuthorizationPolicy as its plugin configuration,",
      "# in the AUTHN phase (before Istio's own authn/authz filters). Push build/jwt_authn.wasm to url.",
      "apiVersion: extensions.istio.io/v1alpha1",
      "kind: WasmPlugin",
      "metadata:",
      "  name: jwt-authn-wasm",
      `  namespace: ${scalar(o.namespace)}`,
      "spec:",
    ];
    const labels = Object.entries(o.labels);
    if (labels.length > 0) {
      lines.push("  selector:", "    matchLabels:");
      for (const [k, v] of labels) lines.push(`      ${scalar(k)}: ${scalar(v)}`);
    } else if (o.gateway !== undefined) {
      lines.push("  targetRefs:", "  - group: gateway.networking.k8s.io", "    kind: Gateway", `    name: ${scalar(o.gateway)}`);
    } else if (o.service !== undefined) {
      lines.push("  targetRefs:", '  - group: ""', "    kind: Service", `    name: ${scalar(o.service)}`);
    }
    lines.push(
      `  url: ${scalar(o.url ?? DEFAULT_URL)}`,
      "  # Pin the image: `npm run package` prints the manifest digest to put here as sha256 (docs/deploy.md).",
      "  imagePullPolicy: IfNotPresent",
      "  phase: AUTHN",
      "  # A VM that fails answers 503 rather than passing requests unauthenticated.",
      "  failStrategy: FAIL_CLOSE",
      "  pluginConfig:",
      indent(json, 4),
    );
    return `${lines.join("\n")}\n`;
  }
  const lines = [
    "# Envoy's wasm HTTP filter running jwt_authn.wasm with the translated configuration; it goes in the",
    "# HttpConnectionManager's http_filters, before envoy.filters.http.router (see envoy/envoy.yaml).",
    "- name: envoy.filters.http.wasm",
    "  typed_config:",
    '    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm',
    "    config:",
    "      name: jwt_authn",
    '      root_id: ""',
    "      # A VM that fails (a trap, a refused configuration) answers 503; fail_open is deprecated.",
    "      failure_policy: FAIL_CLOSED",
    "      vm_config:",
    "        vm_id: jwt_authn",
    "        runtime: envoy.wasm.runtime.v8",
    "        code:",
    "          local:",
    `            filename: ${scalar(o.filename ?? DEFAULT_FILENAME)}`,
    "      configuration:",
    '        "@type": type.googleapis.com/google.protobuf.StringValue',
    "        value: |",
    indent(json, 10),
  ];
  return `${lines.join("\n")}\n`;
}
