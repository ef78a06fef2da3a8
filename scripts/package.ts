// `npm run package`: the filter as the OCI images Istio's WasmPlugin pulls, each written as an OCI
// image-layout tarball (oci-layout, index.json, blobs/sha256/...) that standard tools push as is:
//   build/oci/jwt_authn-wasm-docker.oci.tar  the "compat" variant: an OCI image whose one layer is a
//                                            tar+gzip holding plugin.wasm (any registry stores it)
//   build/oci/jwt_authn-wasm.oci.tar         the Wasm OCI artifact ("oci") variant: the module itself is
//                                            a layer of type application/vnd.module.wasm.content.layer.v1+wasm
// Both shapes are the ones istio/istio pkg/wasm/imagefetcher.go accepts (extractOCIStandardImage,
// extractOCIArtifactImage), per solo-io/wasm spec/spec-compat.md and spec/spec.md.
// Output is byte-for-byte deterministic (fixed mtimes and owners, fixed key order, gzip written with
// stored deflate blocks), so the manifest digests are a function of the module alone and can be pinned.
// Must not: touch the network, or write outside build/oci/ (and envoy/istio/wasmplugin.yaml with --pin).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ROOT, buildWasm, wasmIsStale } from "./build-wasm";

/** Media types, as istio/istio pkg/wasm/imagefetcher.go and go-containerregistry pkg/v1/types name them. */
export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  imageConfig: "application/vnd.oci.image.config.v1+json",
  /** types.OCILayer: the only layer type extractOCIStandardImage takes from an OCI manifest. */
  tarGzipLayer: "application/vnd.oci.image.layer.v1.tar+gzip",
  /** The "oci" variant's runtime config (solo-io/wasm model.ConfigMediaType), its manifest config and first layer. */
  wasmConfig: "application/vnd.module.wasm.config.v1+json",
  /** The "oci" variant's module layer: imagefetcher.go's wasmLayerMediaType. */
  wasmContent: "application/vnd.module.wasm.content.layer.v1+wasm",
} as const;

/** The file name Istio looks for inside a compat layer (imagefetcher.go: wasmPluginFileName). */
export const PLUGIN_FILE = "plugin.wasm";
export const RUNTIME_CONFIG_FILE = "runtime-config.json";
export const OUT_DIR = path.join(ROOT, "build", "oci");
export const MODULE = path.join(ROOT, "build", "jwt_authn.wasm");
/** The WasmPlugin that references the compat image, whose `sha256` `--pin` rewrites. */
export const WASMPLUGIN_YAML = path.join(ROOT, "envoy", "istio", "wasmplugin.yaml");

export type Variant = "compat" | "oci";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Image {
  variant: Variant;
  /** File name under build/oci/. */
  file: string;
  manifest: Buffer;
  /** The manifest's descriptor: its digest is what a registry reports and what Istio's `sha256` compares. */
  descriptor: Descriptor;
  /** Every blob the manifest references (config and layers), by digest. */
  blobs: Map<string, Buffer>;
  /** The OCI image-layout tarball. */
  layout: Buffer;
}

export interface Packaged {
  /** Hex SHA-256 of the module: what `sha256` means for an http(s) WasmPlugin url or Envoy's remote code. */
  moduleSha256: string;
  compat: Image;
  oci: Image;
}

export const sha256hex = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const describe = (mediaType: string, b: Buffer, annotations?: Record<string, string>): Descriptor =>
  annotations === undefined ? { mediaType, digest: `sha256:${sha256hex(b)}`, size: b.length } : { mediaType, digest: `sha256:${sha256hex(b)}`, size: b.length, annotations };
const json = (v: unknown) => Buffer.from(JSON.stringify(v), "utf8");

export interface TarEntry {
  name: string;
  /** Absent for a directory. */
  data?: Buffer;
}

/** A POSIX ustar archive: owner 0:0, mtime 0, mode 0644 (0755 for directories), entries in the given order. */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const dir = e.data === undefined;
    const name = dir && !e.name.endsWith("/") ? `${e.name}/` : e.name;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: name longer than 100 bytes: ${name}`);
    const size = dir ? 0 : e.data!.length;
    const h = Buffer.alloc(512);
    const field = (off: number, len: number, s: string) => h.write(s, off, len, "ascii");
    const octal = (off: number, len: number, n: number) => field(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
    h.write(name, 0, 100, "utf8");
    octal(100, 8, dir ? 0o755 : 0o644);
    octal(108, 8, 0); // uid
    octal(116, 8, 0); // gid
    octal(124, 12, size);
    octal(136, 12, 0); // mtime: fixed, so the archive depends on the contents only
    field(148, 8, "        "); // checksum is computed with its own field as spaces
    field(156, 1, dir ? "5" : "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    let sum = 0;
    for (const byte of h) sum += byte;
    field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    parts.push(h);
    if (!dir) {
      parts.push(e.data!);
      if (size % 512 !== 0) parts.push(Buffer.alloc(512 - (size % 512)));
    }
  }
  parts.push(Buffer.alloc(1024)); // two zero blocks end the archive
  return Buffer.concat(parts);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * RFC 1952 gzip of `data` in RFC 1951 stored (uncompressed) blocks: no mtime, OS "unknown" (255).
 * Stored, because zlib's compressed bytes may differ between zlib builds (Node bundles Chromium's), and
 * the layer's bytes decide the manifest digest users pin; the module is ~300 KB either way.
 */
export function gzipStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])];
  let off = 0;
  do {
    const len = Math.min(0xffff, data.length - off);
    const last = off + len === data.length;
    const h = Buffer.alloc(5);
    h[0] = last ? 1 : 0; // BFINAL, BTYPE = 00 (stored)
    h.writeUInt16LE(len, 1);
    h.writeUInt16LE(~len & 0xffff, 3);
    parts.push(h, data.subarray(off, off + len));
    off += len;
  } while (off < data.length);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** The proxy-wasm ABI versions the module declares (`proxy_abi_version_0_2_1` → `v0.2.1`), in export order. */
export function abiVersions(module: Buffer): string[] {
  return WebAssembly.Module.exports(new WebAssembly.Module(new Uint8Array(module)))
    .map((e) => /^proxy_abi_version_(\d+)_(\d+)_(\d+)$/.exec(e.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `v${m[1]}.${m[2]}.${m[3]}`);
}

/** solo-io/wasm's runtime config (tools/wasme/pkg/config/runtime.proto, JSON names); Istio does not read it. */
export function runtimeConfig(module: Buffer): Buffer {
  return json({ type: "envoy_proxy", abiVersions: abiVersions(module), config: { rootIds: [""] } });
}

/** An OCI image layout holding one manifest (and its blobs), tagged `tag`, as a tarball. */
export function ociLayout(manifest: Buffer, blobs: Map<string, Buffer>, tag: string): { layout: Buffer; descriptor: Descriptor } {
  const descriptor = describe(MEDIA.manifest, manifest);
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...descriptor, annotations: { "org.opencontainers.image.ref.name": tag } }],
  });
  const all = new Map(blobs);
  all.set(descriptor.digest, manifest);
  const entries: TarEntry[] = [
    { name: "oci-layout", data: json({ imageLayoutVersion: "1.0.0" }) },
    { name: "index.json", data: index },
    { name: "blobs" },
    { name: "blobs/sha256" },
  ];
  for (const digest of [...all.keys()].sort()) entries.push({ name: `blobs/sha256/${digest.slice("sha256:".length)}`, data: all.get(digest)! });
  return { layout: tar(entries), descriptor };
}

/**
 * The compat variant (spec-compat.md): an OCI image whose single tar+gzip layer holds plugin.wasm and
 * runtime-config.json, with the `module.wasm.image/variant: compat` annotation the spec asks for.
 */
export function compatImage(module: Buffer, tag: string, file = "jwt_authn-wasm-docker.oci.tar"): Image {
  const layerTar = tar([
    { name: PLUGIN_FILE, data: module },
    { name: RUNTIME_CONFIG_FILE, data: runtimeConfig(module) },
  ]);
  const layer = gzipStored(layerTar);
  // architecture/os: the pair the CNCF Wasm OCI artifact spec uses, so no container runtime takes it for
  // a runnable Linux image; Istio reads neither. diff_ids: the digest of the uncompressed layer.
  const config = json({ architecture: "wasm", os: "wasip1", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${sha256hex(layerTar)}`] } });
  const configDesc = describe(MEDIA.imageConfig, config);
  const layerDesc = describe(MEDIA.tarGzipLayer, layer);
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDesc,
    layers: [layerDesc],
    annotations: { "module.wasm.image/variant": "compat" },
  });
  const blobs = new Map([[configDesc.digest, config], [layerDesc.digest, layer]]);
  return { variant: "compat", file, manifest, blobs, ...ociLayout(manifest, blobs, tag) };
}

/**
 * The Wasm OCI artifact variant (spec.md), as wasme pushed it (tools/wasme/pkg/push/push.go): the runtime
 * config is the manifest's config and also its first layer, the module the second. Istio's
 * extractOCIArtifactImage wants exactly two layers and takes the one of type MEDIA.wasmContent.
 */
export function artifactImage(module: Buffer, tag: string, file = "jwt_authn-wasm.oci.tar"): Image {
  const config = runtimeConfig(module);
  const configDesc = describe(MEDIA.wasmConfig, config);
  const wasmDesc = describe(MEDIA.wasmContent, module, { "org.opencontainers.image.title": PLUGIN_FILE });
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDesc,
    layers: [{ ...configDesc, annotations: { "org.opencontainers.image.title": RUNTIME_CONFIG_FILE } }, wasmDesc],
    annotations: { "module.wasm.runtime/type": "envoy_proxy", "module.wasm.runtime/abi_version": abiVersions(module).join(",") },
  });
  const blobs = new Map([[configDesc.digest, config], [wasmDesc.digest, module]]);
  return { variant: "oci", file, manifest, blobs, ...ociLayout(manifest, blobs, tag) };
}

/** Both images of `module`, in memory. */
export function packageModule(module: Buffer, tag: string): Packaged {
  if (module.length < 8 || module.readUInt32BE(0) !== 0x0061736d) throw new Error("not a WebAssembly module (no \\0asm magic)");
  return { moduleSha256: sha256hex(module), compat: compatImage(module, tag), oci: artifactImage(module, tag) };
}

/** The WasmPlugin text with its `sha256:` set to `hex` (the line is kept, comments and all). */
export function pinSha256(yamlText: string, hex: string): string {
  const re = /^([ \t]+sha256:[ \t]*)("?)[0-9a-f]{64}\2([ \t]*(#.*)?)$/m;
  if (!re.test(yamlText)) throw new Error("no `sha256: <64 hex digits>` line to rewrite");
  return yamlText.replace(re, `$1$2${hex}$2$3`);
}

function version(): string {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
}

const USAGE = `usage: npm run package [-- [--module FILE] [--tag TAG] [--out DIR] [--no-build] [--pin]]
  --module FILE  the module to pack (default build/jwt_authn.wasm, the SIMD build; build/jwt_authn.scalar.wasm for WAMR)
  --tag TAG      the tag recorded in each layout's index.json (default: package.json's version)
  --out DIR      where the tarballs go (default build/oci)
  --no-build     pack what is there; by default the filter is built first when build/ is missing or stale
  --pin          also write the compat image's manifest digest into envoy/istio/wasmplugin.yaml's sha256`;

/** The command line; returns the exit code. */
export function main(argv: string[]): number {
  let module = MODULE;
  let tag = version();
  let out = OUT_DIR;
  let build = true;
  let pin = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--module") module = path.resolve(value());
    else if (a === "--tag") tag = value();
    else if (a === "--out") out = path.resolve(value());
    else if (a === "--no-build") build = false;
    else if (a === "--pin") pin = true;
    else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  if (pin && module !== MODULE) {
    console.error("--pin: envoy/istio/wasmplugin.yaml references the SIMD build (Istio runs V8); pack build/jwt_authn.wasm");
    return 2;
  }
  if (build && module === MODULE && wasmIsStale()) {
    console.log("building the filter (assembly/ -> build/jwt_authn.wasm)...");
    buildWasm();
  }
  if (!fs.existsSync(module)) {
    console.error(`${path.relative(ROOT, module)} is missing: run \`npm run build\` first`);
    return 1;
  }
  const p = packageModule(fs.readFileSync(module), tag);
  fs.mkdirSync(out, { recursive: true });
  const rel = (f: string) => path.relative(process.cwd(), f) || f;
  console.log(`module   ${rel(module)}  sha256 ${p.moduleSha256}  (WasmPlugin sha256 for an http(s) url)`);
  for (const img of [p.compat, p.oci]) {
    const file = path.join(out, img.file);
    fs.writeFileSync(file, img.layout);
    const what = img.variant === "compat" ? "compat variant (OCI image, plugin.wasm in a tar+gzip layer)" : "Wasm OCI artifact variant";
    console.log(`${img.variant.padEnd(8)} ${rel(file)}  tag ${tag}  ${what}\n         manifest ${img.descriptor.digest}  (${img.descriptor.size} bytes)`);
  }
  const hex = p.compat.descriptor.digest.slice("sha256:".length);
  console.log(`\nWasmPlugin sha256 for oci:// (the compat image's manifest digest, which Istio compares for OCI urls):\n  sha256: ${hex}`);
  if (pin) {
    fs.writeFileSync(WASMPLUGIN_YAML, pinSha256(fs.readFileSync(WASMPLUGIN_YAML, "utf8"), hex));
    console.log(`pinned in ${rel(WASMPLUGIN_YAML)}`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`package: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
