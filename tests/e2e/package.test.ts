// `npm run package` (scripts/package.ts) against the built modules: each OCI image-layout tarball is read
// back with a tar reader of its own and checked as a registry and Istio would see it: index, manifest,
// config and layer digests and sizes agree with the blobs, the media types are the ones Istio's
// pkg/wasm/imagefetcher.go accepts, Istio's extraction steps give back the built module byte for byte,
// and the output depends on the module only.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as crypto from "crypto";
import * as zlib from "zlib";
import { MEDIA, Image, packageModule, gzipStored, crc32, tar, pinSha256, abiVersions, main } from "../../scripts/package";

const ROOT = path.resolve(__dirname, "..", "..");
const MODULE = fs.readFileSync(path.join(ROOT, "build", "jwt_authn.wasm"));
const SCALAR = fs.readFileSync(path.join(ROOT, "build", "jwt_authn.scalar.wasm"));
const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

interface Entry { name: string; type: string; mode: number; mtime: number; uid: number; data: Buffer }

/** A ustar reader: checks each header's checksum and magic, and the two zero blocks at the end. */
function untar(archive: Buffer): Entry[] {
  const entries: Entry[] = [];
  let off = 0;
  const str = (h: Buffer, o: number, n: number) => h.subarray(o, o + n).toString("utf8").replace(/\0.*$/s, "");
  const num = (h: Buffer, o: number, n: number) => parseInt(str(h, o, n).trim() || "0", 8);
  for (;;) {
    if (off + 512 > archive.length) throw new Error("tar: truncated");
    const h = archive.subarray(off, off + 512);
    if (h.every((b) => b === 0)) {
      expect(archive.subarray(off, off + 1024).every((b) => b === 0)).toBe(true);
      expect(archive.length).toBe(off + 1024);
      return entries;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    expect(num(h, 148, 8)).toBe(sum);
    expect(h.subarray(257, 265).toString("latin1")).toBe("ustar\u000000");
    const size = num(h, 124, 12);
    const data = archive.subarray(off + 512, off + 512 + size);
    entries.push({ name: str(h, 0, 100), type: str(h, 156, 1), mode: num(h, 100, 8), mtime: num(h, 136, 12), uid: num(h, 108, 8), data: Buffer.from(data) });
    off += 512 + Math.ceil(size / 512) * 512;
  }
}

interface Layout { index: any; manifest: any; manifestBytes: Buffer; blobs: Map<string, Buffer>; entries: Entry[] }

/** Reads an OCI image layout tarball, checking every blob against its name. */
function readLayout(archive: Buffer): Layout {
  const entries = untar(archive);
  const file = (n: string) => entries.find((e) => e.name === n)?.data;
  expect(JSON.parse(file("oci-layout")!.toString())).toEqual({ imageLayoutVersion: "1.0.0" });
  const blobs = new Map<string, Buffer>();
  for (const e of entries) {
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(e.name);
    if (!m) continue;
    expect(sha256(e.data)).toBe(m[1]);
    blobs.set(`sha256:${m[1]}`, e.data);
  }
  const index = JSON.parse(file("index.json")!.toString());
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MEDIA.index);
  expect(index.manifests).toHaveLength(1);
  const d = index.manifests[0];
  expect(d.mediaType).toBe(MEDIA.manifest);
  const manifestBytes = blobs.get(d.digest)!;
  expect(manifestBytes.length).toBe(d.size);
  const manifest = JSON.parse(manifestBytes.toString());
  expect(manifest.schemaVersion).toBe(2);
  expect(manifest.mediaType).toBe(MEDIA.manifest);
  // Every descriptor points at a blob of its size, and the layout holds nothing else.
  for (const desc of [manifest.config, ...manifest.layers]) {
    expect(blobs.has(desc.digest)).toBe(true);
    expect(blobs.get(desc.digest)!.length).toBe(desc.size);
  }
  expect(new Set(blobs.keys())).toEqual(new Set([d.digest, manifest.config.digest, ...manifest.layers.map((l: any) => l.digest)]));
  return { index, manifest, manifestBytes, blobs, entries };
}

/**
 * Istio's steps (imagefetcher.go PrepareFetch's binaryFetcher) on an OCI manifest: the compat variant
 * first (the LAST layer must be application/vnd.oci.image.layer.v1.tar+gzip; gunzip; the first tar entry
 * whose base name is plugin.wasm), else the oci variant (exactly 2 layers; the one of type
 * application/vnd.module.wasm.content.layer.v1+wasm, read raw). Then cache.go's isValidWasmBinary.
 */
function istioFetch(l: Layout): { variant: "compat" | "oci"; wasm: Buffer } {
  const layers = l.manifest.layers;
  let wasm: Buffer | undefined;
  let variant: "compat" | "oci" = "compat";
  const last = layers[layers.length - 1];
  if (layers.length > 0 && last.mediaType === "application/vnd.oci.image.layer.v1.tar+gzip") {
    wasm = untar(zlib.gunzipSync(l.blobs.get(last.digest)!)).find((e) => path.posix.basename(e.name) === "plugin.wasm")?.data;
    if (wasm === undefined) throw new Error("plugin.wasm not found in the archive");
  } else {
    variant = "oci";
    if (layers.length !== 2) throw new Error(`number of layers must be 2 but got ${layers.length}`);
    const layer = layers.find((x: any) => x.mediaType === "application/vnd.module.wasm.content.layer.v1+wasm");
    if (layer === undefined) throw new Error("could not find the layer of type application/vnd.module.wasm.content.layer.v1+wasm");
    wasm = l.blobs.get(layer.digest)!;
  }
  if (!(wasm.length >= 8 && wasm.subarray(0, 4).equals(Buffer.from([0, 0x61, 0x73, 0x6d])))) throw new Error("invalid Wasm binary");
  return { variant, wasm };
}

const packed = packageModule(MODULE, "0.1.0");

test("the layouts list their files in a fixed order, owned by 0:0 with mtime 0, tagged in index.json", () => {
  for (const img of [packed.compat, packed.oci]) {
    const l = readLayout(img.layout);
    expect(l.entries.slice(0, 4).map((e) => [e.name, e.type])).toEqual([["oci-layout", "0"], ["index.json", "0"], ["blobs/", "5"], ["blobs/sha256/", "5"]]);
    const blobNames = l.entries.slice(4).map((e) => e.name);
    expect(blobNames).toEqual([...blobNames].sort());
    for (const e of l.entries) expect([e.name, e.uid, e.mtime, e.mode]).toEqual([e.name, 0, 0, e.type === "5" ? 0o755 : 0o644]);
    expect(l.index.manifests[0].annotations).toEqual({ "org.opencontainers.image.ref.name": "0.1.0" });
    expect(l.index.manifests[0].digest).toBe(img.descriptor.digest);
    expect(sha256(l.manifestBytes)).toBe(img.descriptor.digest.slice(7));
  }
});

test("compat variant: one tar+gzip layer holding plugin.wasm (the built module, byte for byte), an OCI image config, the compat annotation", () => {
  const l = readLayout(packed.compat.layout);
  expect(l.manifest.config.mediaType).toBe(MEDIA.imageConfig);
  expect(l.manifest.layers.map((x: any) => x.mediaType)).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip"]);
  expect(l.manifest.annotations).toEqual({ "module.wasm.image/variant": "compat" });
  const layerTar = zlib.gunzipSync(l.blobs.get(l.manifest.layers[0].digest)!);
  const files = untar(layerTar);
  expect(files.map((f) => f.name)).toEqual(["plugin.wasm", "runtime-config.json"]);
  expect(files[0].data.equals(MODULE)).toBe(true);
  expect(JSON.parse(files[1].data.toString())).toEqual({ type: "envoy_proxy", abiVersions: ["v0.2.1", "v0.2.0"], config: { rootIds: [""] } });
  const config = JSON.parse(l.blobs.get(l.manifest.config.digest)!.toString());
  expect(config).toEqual({ architecture: "wasm", os: "wasip1", config: {}, rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] } });
  const got = istioFetch(l);
  expect(got.variant).toBe("compat");
  expect(got.wasm.equals(MODULE)).toBe(true);
});

test("Wasm OCI artifact variant: the runtime config as config and first layer, the module as a raw wasm layer", () => {
  const l = readLayout(packed.oci.layout);
  expect(l.manifest.config.mediaType).toBe("application/vnd.module.wasm.config.v1+json");
  expect(l.manifest.layers.map((x: any) => x.mediaType)).toEqual(["application/vnd.module.wasm.config.v1+json", "application/vnd.module.wasm.content.layer.v1+wasm"]);
  expect(l.manifest.layers[0].digest).toBe(l.manifest.config.digest);
  expect(l.manifest.layers.map((x: any) => x.annotations["org.opencontainers.image.title"])).toEqual(["runtime-config.json", "plugin.wasm"]);
  expect(l.blobs.get(l.manifest.layers[1].digest)!.equals(MODULE)).toBe(true);
  expect(l.manifest.layers[1].digest).toBe(`sha256:${packed.moduleSha256}`);
  expect(JSON.parse(l.blobs.get(l.manifest.config.digest)!.toString()).type).toBe("envoy_proxy");
  expect(l.manifest.annotations).toEqual({ "module.wasm.runtime/type": "envoy_proxy", "module.wasm.runtime/abi_version": "v0.2.1,v0.2.0" });
  // Istio tries compat first; this image is not one (its last layer is not tar+gzip), so it takes the oci path.
  const got = istioFetch(l);
  expect(got.variant).toBe("oci");
  expect(got.wasm.equals(MODULE)).toBe(true);
});

test("the output is a function of the module alone: same bytes twice, other digests for the scalar build", () => {
  const again = packageModule(Buffer.from(MODULE), "0.1.0");
  for (const v of ["compat", "oci"] as const) {
    expect(again[v].layout.equals(packed[v].layout)).toBe(true);
    expect(again[v].manifest.equals(packed[v].manifest)).toBe(true);
  }
  const scalar = packageModule(SCALAR, "0.1.0");
  expect(scalar.moduleSha256).toBe(sha256(SCALAR));
  expect(scalar.compat.descriptor.digest).not.toBe(packed.compat.descriptor.digest);
  expect(istioFetch(readLayout(scalar.compat.layout)).wasm.equals(SCALAR)).toBe(true);
  // The tag lives in index.json only: the manifest (and so the digest Istio pins) does not depend on it.
  expect(packageModule(MODULE, "9.9.9").compat.descriptor).toEqual(packed.compat.descriptor);
  expect(() => packageModule(Buffer.from("not wasm"), "0.1.0")).toThrow("not a WebAssembly module");
});

test("gzipStored is gzip (zlib reads it back, CRC and length checked) for empty, block-boundary and large inputs", () => {
  for (const n of [0, 1, 65534, 65535, 65536, 3 * 65535 + 7]) {
    const data = crypto.randomBytes(n);
    const gz = gzipStored(data);
    expect(zlib.gunzipSync(gz).equals(data)).toBe(true);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(data));
    expect(gz.length).toBe(10 + 5 * Math.max(1, Math.ceil(n / 65535)) + n + 8);
  }
  expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926); // the CRC-32 check value
  expect(() => tar([{ name: "x".repeat(101), data: Buffer.alloc(0) }])).toThrow("longer than 100 bytes");
});

test("abiVersions reads the module's proxy_abi_version exports", () => {
  expect(abiVersions(MODULE)).toEqual(["v0.2.1", "v0.2.0"]);
  expect(abiVersions(SCALAR)).toEqual(["v0.2.1", "v0.2.0"]);
});

test("the command writes both tarballs and prints each manifest digest, the module's sha256 and the WasmPlugin sha256", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-oci-"));
  const lines: string[] = [];
  const log = jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    expect(main(["--no-build", "--out", out, "--tag", "0.1.0"])).toBe(0);
  } finally {
    log.mockRestore();
  }
  try {
    const text = lines.join("\n");
    const files = (img: Image) => fs.readFileSync(path.join(out, img.file));
    expect(fs.readdirSync(out).sort()).toEqual(["jwt_authn-wasm-docker.oci.tar", "jwt_authn-wasm.oci.tar"]);
    expect(files(packed.compat).equals(packed.compat.layout)).toBe(true);
    expect(files(packed.oci).equals(packed.oci.layout)).toBe(true);
    expect(text).toContain(packed.moduleSha256);
    expect(text).toContain(packed.compat.descriptor.digest);
    expect(text).toContain(packed.oci.descriptor.digest);
    expect(text).toContain(`sha256: ${packed.compat.descriptor.digest.slice(7)}`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const err = jest.spyOn(console, "error").mockImplementation(() => {});
  try {
    expect(main(["--bogus"])).toBe(2);
    expect(main(["--pin", "--module", path.join(ROOT, "build", "jwt_authn.scalar.wasm")])).toBe(2);
  } finally {
    err.mockRestore();
  }
});

test("pinSha256 rewrites only the sha256 line", () => {
  const text = "spec:\n  url: oci://r/x:1\n  sha256: " + "a".repeat(64) + "\n  # sha256: not this\n";
  expect(pinSha256(text, "b".repeat(64))).toBe(text.replace("a".repeat(64), "b".repeat(64)));
  expect(() => pinSha256("spec: {}\n", "b".repeat(64))).toThrow("no `sha256: <64 hex digits>` line");
});
