// The HTTPS listener (host/tls.ts) and the properties Envoy derives from the connection and the node,
// over real TLS with certificates made by openssl at test time: a WAT module reads each property and
// copies its result code and value (hex) into request headers, which the upstream records. Also: the
// handshake refusals (required client certificate, a certificate from another CA), bad TLS options,
// and `check --cert/--key` explaining one request that presents a client certificate.

import { createHash, X509Certificate } from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Data, digitHeader, fixture, startGateway, startUpstream, type Upstream } from "./harness";
import { makePki, type TestPki } from "../helpers/certs";
import { answered, httpsRequest, type HttpsOptions } from "../helpers/https";
import { WASM } from "../helpers/gateway";
import { main, type CliIo } from "../../host/cli";
import { HostError } from "../../host/index";
import type { ServeOptions } from "../../host/index";

let pki: TestPki;
let up: Upstream;
let wasm: Uint8Array;

/** The properties the module reads, by a short name. */
const PROPS: Record<string, string> = {
  mtls: "connection\0mtls",
  sni: "connection\0requested_server_name",
  version: "connection\0tls_version",
  peerSubject: "connection\0subject_peer_certificate",
  peerUri: "connection\0uri_san_peer_certificate",
  peerDns: "connection\0dns_san_peer_certificate",
  digest: "connection\0sha256_peer_certificate_digest",
  localUri: "connection\0uri_san_local_certificate",
  localSubject: "connection\0subject_local_certificate",
  localDns: "connection\0dns_san_local_certificate",
  peerCert: "connection\0peer_certificate",
  id: "connection\0id",
  nodeId: "node\0id",
  nodeCluster: "node\0cluster",
  mesh: "node\0metadata\0MESH_ID",
  missing: "node\0metadata\0NOPE",
  metadata: "node\0metadata",
  node: "node",
};
const NAMES = Object.keys(PROPS);
const HEX_AT = 16384;

/** Per property: the WasmResult of proxy_get_property and, when Ok, the value. */
type Seen = Record<string, { rc: number; value?: Buffer }>;

beforeAll(async () => {
  pki = makePki();
  up = await startUpstream();
  const d = new Data({ hexdigits: "0123456789abcdef" });
  NAMES.forEach((n, i) => d.add(`p${i}`, PROPS[n]).add(`rc${i}`, `x-rc-${i}`).add(`v${i}`, `x-p-${i}`));
  const reads = NAMES.map(
    (_, i) => `
      (local.set $rc (call $get_property ${d.ref(`p${i}`)} (i32.const 0) (i32.const 4)))
      ${digitHeader(d, 0, `rc${i}`, "(local.get $rc)")}
      (if (i32.eqz (local.get $rc)) (then
        (drop (call $add_header (i32.const 0) ${d.ref(`v${i}`)} (i32.const ${HEX_AT})
          (call $hex (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.const ${HEX_AT}))))))`,
  );
  wasm = await fixture(
    d,
    `(func $hex (param $src i32) (param $len i32) (param $dst i32) (result i32)
       (local $i i32) (local $b i32)
       (block $done (loop $next
         (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
         (local.set $b (i32.load8_u (i32.add (local.get $src) (local.get $i))))
         (i32.store8 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 1)))
           (i32.load8_u (i32.add (i32.const ${d.ptr("hexdigits")}) (i32.shr_u (local.get $b) (i32.const 4)))))
         (i32.store8 (i32.add (local.get $dst) (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
           (i32.load8_u (i32.add (i32.const ${d.ptr("hexdigits")}) (i32.and (local.get $b) (i32.const 15)))))
         (local.set $i (i32.add (local.get $i) (i32.const 1)))
         (br $next)))
       (i32.shl (local.get $len) (i32.const 1)))
     (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
       (local $rc i32)
       ${reads.join("\n")}
       (i32.const 0))`,
  );
});
afterAll(async () => {
  await up.close();
  pki.remove();
});

const serverTls = (extra: Partial<NonNullable<ServeOptions["tls"]>> = {}): ServeOptions["tls"] => ({
  cert: pki.server.cert,
  key: pki.server.key,
  ...extra,
});

async function gateway(opts: Partial<ServeOptions> = {}) {
  return startGateway(wasm, { upstream: up.url, workers: 1, ...opts });
}

/** What the module read for the last request the upstream received. */
function lastSeen(): Seen {
  const h = Object.fromEntries(up.requests[up.requests.length - 1].rawHeaders);
  const out: Seen = {};
  NAMES.forEach((n, i) => {
    const rc = Number(h[`x-rc-${i}`]);
    out[n] = rc === 0 ? { rc, value: Buffer.from(h[`x-p-${i}`] ?? "", "hex") } : { rc };
  });
  return out;
}

async function readOver(url: string, o: Omit<HttpsOptions, "ca"> = {}): Promise<Seen> {
  const before = up.requests.length;
  const r = answered(await httpsRequest(`${url}/props`, { ca: pki.ca.cert, ...o }));
  expect(r.status).toBe(200);
  expect(up.requests.length).toBe(before + 1);
  return lastSeen();
}

const text = (s: { rc: number; value?: Buffer }) => (s.rc === 0 ? s.value?.toString("utf8") : `NotFound(${s.rc})`);
const NOT_FOUND = "NotFound(1)";

/** The subject as OpenSSL prints it with -nameopt RFC2253 (what Envoy's X509_NAME_print_ex gives). */
function opensslSubject(certFile: string): string {
  return execFileSync("/usr/bin/openssl", ["x509", "-in", certFile, "-noout", "-subject", "-nameopt", "RFC2253"], { encoding: "utf8" })
    .trim()
    .replace(/^subject=/, "");
}

const sha256Hex = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");

describe("connection.* over HTTPS with a client CA (optional client certificate)", () => {
  test("with a client certificate and an SNI: mtls, the peer's SANs, subject and digest, the local certificate", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert }) });
    expect(t.gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = pki.client("default", "sleep");
    const s = await readOver(t.gw.url, { cert: client.cert, key: client.key, servername: "localhost" });
    expect(s.mtls.value).toEqual(Buffer.from([1]));
    expect(text(s.sni)).toBe("localhost");
    expect(text(s.version)).toBe("TLSv1.3");
    expect(text(s.peerSubject)).toBe("CN=sleep,OU=default,O=jwt-authn-wasm test");
    expect(text(s.peerSubject)).toBe(opensslSubject(client.certFile));
    expect(text(s.peerUri)).toBe("spiffe://cluster.local/ns/default/sa/sleep");
    expect(text(s.peerDns)).toBe("sleep.default.svc");
    expect(text(s.digest)).toBe(sha256Hex(client.cert));
    expect(text(s.digest)).toMatch(/^[0-9a-f]{64}$/);
    expect(text(s.localUri)).toBe("spiffe://cluster.local/ns/istio-system/sa/gateway");
    expect(text(s.localSubject)).toBe(opensslSubject(pki.server.certFile));
    expect(text(s.localDns)).toBe("localhost");
    expect(text(s.peerCert)).toBe(NOT_FOUND); // Envoy's URL-encoded PEM: not provided
    expect(s.id.value?.length).toBe(8);
    await t.gw.close();
  });

  test("without a client certificate or SNI: mtls false, empty SNI and peer subject, the peer's SANs and digest NotFound", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert }) });
    const s = await readOver(t.gw.url);
    expect(s.mtls.value).toEqual(Buffer.from([0]));
    expect(s.sni).toEqual({ rc: 0, value: Buffer.alloc(0) });
    expect(text(s.version)).toBe("TLSv1.3");
    expect(s.peerSubject).toEqual({ rc: 0, value: Buffer.alloc(0) });
    expect(text(s.peerUri)).toBe(NOT_FOUND);
    expect(text(s.peerDns)).toBe(NOT_FOUND);
    expect(text(s.digest)).toBe(NOT_FOUND);
    expect(text(s.localUri)).toBe("spiffe://cluster.local/ns/istio-system/sa/gateway");
    await t.gw.close();
  });

  test("a client certificate without SANs: mtls, its subject and digest; URI and DNS SAN NotFound", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert }) });
    const client = pki.noSanClient();
    const s = await readOver(t.gw.url, { cert: client.cert, key: client.key });
    expect(s.mtls.value).toEqual(Buffer.from([1]));
    expect(text(s.peerSubject)).toBe("CN=no-uri-san");
    expect(text(s.peerUri)).toBe(NOT_FOUND);
    expect(text(s.peerDns)).toBe(NOT_FOUND);
    expect(text(s.digest)).toBe(sha256Hex(client.cert));
    await t.gw.close();
  });

  test("TLS 1.2 is named TLSv1.2", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert }) });
    const client = pki.client("default", "sleep");
    const s = await readOver(t.gw.url, { cert: client.cert, key: client.key, maxVersion: "TLSv1.2" });
    expect(text(s.version)).toBe("TLSv1.2");
    expect(s.mtls.value).toEqual(Buffer.from([1]));
    await t.gw.close();
  });

  test("a certificate from another CA is refused (as Envoy's validation context does), and nothing reaches the filter", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert }) });
    const before = up.requests.length;
    const other = pki.client("default", "sleep", { otherCa: true });
    const r = await httpsRequest(`${t.gw.url}/props`, { ca: pki.ca.cert, cert: other.cert, key: other.key });
    expect("error" in r).toBe(true);
    expect(up.requests.length).toBe(before);
    // The listener still serves a valid client afterwards.
    const good = pki.client("default", "sleep");
    expect((await readOver(t.gw.url, { cert: good.cert, key: good.key })).mtls.value).toEqual(Buffer.from([1]));
    await t.gw.close();
  });
});

describe("required client certificate (Envoy's require_client_certificate)", () => {
  test("no certificate, or one from another CA: the handshake is refused; a valid one is served", async () => {
    const t = await gateway({ tls: serverTls({ clientCa: pki.ca.cert, clientCert: "required" }) });
    const before = up.requests.length;
    const none = await httpsRequest(`${t.gw.url}/props`, { ca: pki.ca.cert });
    expect("error" in none && none.error.message).toMatch(/certificate required|alert|socket hang up|ECONNRESET/);
    const other = pki.client("default", "sleep", { otherCa: true });
    const foreign = await httpsRequest(`${t.gw.url}/props`, { ca: pki.ca.cert, cert: other.cert, key: other.key });
    expect("error" in foreign && foreign.error.message).toMatch(/unknown ca|alert|socket hang up|ECONNRESET/);
    expect(up.requests.length).toBe(before);
    const good = pki.client("prod", "web");
    const s = await readOver(t.gw.url, { cert: good.cert, key: good.key });
    expect(text(s.peerUri)).toBe("spiffe://cluster.local/ns/prod/sa/web");
    await t.gw.close();
  });
});

describe("HTTPS without a client CA, and plain HTTP", () => {
  test("no client CA: no certificate is requested, so mtls is false even when the client has one", async () => {
    const t = await gateway({ tls: serverTls() });
    const client = pki.client("default", "sleep");
    const s = await readOver(t.gw.url, { cert: client.cert, key: client.key, servername: "localhost" });
    expect(s.mtls.value).toEqual(Buffer.from([0]));
    expect(text(s.sni)).toBe("localhost");
    expect(text(s.version)).toBe("TLSv1.3");
    expect(s.peerSubject).toEqual({ rc: 0, value: Buffer.alloc(0) });
    expect(text(s.peerUri)).toBe(NOT_FOUND);
    expect(text(s.localUri)).toBe("spiffe://cluster.local/ns/istio-system/sa/gateway");
    await t.gw.close();
  });

  test("plain HTTP: mtls false, SNI empty, every TLS attribute NotFound", async () => {
    const t = await gateway();
    expect(t.gw.url).toMatch(/^http:\/\//);
    const before = up.requests.length;
    expect((await fetch(`${t.gw.url}/props`)).status).toBe(200);
    expect(up.requests.length).toBe(before + 1);
    const s = lastSeen();
    expect(s.mtls.value).toEqual(Buffer.from([0]));
    expect(s.sni).toEqual({ rc: 0, value: Buffer.alloc(0) });
    for (const n of ["version", "peerSubject", "peerUri", "peerDns", "digest", "localUri", "localSubject", "localDns"]) {
      expect({ n, v: text(s[n]) }).toEqual({ n, v: NOT_FOUND });
    }
    await t.gw.close();
  });
});

describe("node.*", () => {
  test("node.id, node.cluster, node.metadata.KEY (string), node.metadata (pairs), node (protobuf)", async () => {
    const t = await gateway({ nodeMetadata: { MESH_ID: "mesh1", CLUSTER_ID: "Kubernetes" }, nodeId: "sidecar~10.0.0.1~web.default~default.svc.cluster.local", nodeCluster: "web.default" });
    expect((await fetch(`${t.gw.url}/props`)).status).toBe(200);
    const s = lastSeen();
    expect(text(s.nodeId)).toBe("sidecar~10.0.0.1~web.default~default.svc.cluster.local");
    expect(text(s.nodeCluster)).toBe("web.default");
    expect(text(s.mesh)).toBe("mesh1");
    expect(text(s.missing)).toBe(NOT_FOUND);
    // Serialized pairs: count, (key_len, value_len)*, then key\0value\0 each.
    const pairs = s.metadata.value as Buffer;
    expect(pairs.readUInt32LE(0)).toBe(2);
    expect(pairs.subarray(20).toString("latin1")).toBe("MESH_ID\0mesh1\0CLUSTER_ID\0Kubernetes\0");
    // Node {id = 1, cluster = 2, metadata = 3: Struct {fields = 1: {key = 1, value = 2: Value {string_value = 3}}}}.
    const node = s.node.value as Buffer;
    expect(node.subarray(0, 2)).toEqual(Buffer.from([0x0a, "sidecar~10.0.0.1~web.default~default.svc.cluster.local".length]));
    const entry = Buffer.concat([Buffer.from([0x0a, 7]), Buffer.from("MESH_ID"), Buffer.from([0x12, 7, 0x1a, 5]), Buffer.from("mesh1")]);
    expect(node.includes(Buffer.concat([Buffer.from([0x0a, entry.length]), entry]))).toBe(true);
    await t.gw.close();
  });

  test("without node options: id and cluster empty, metadata an empty map, a key NotFound", async () => {
    const t = await gateway();
    expect((await fetch(`${t.gw.url}/props`)).status).toBe(200);
    const s = lastSeen();
    expect(s.nodeId).toEqual({ rc: 0, value: Buffer.alloc(0) });
    expect(s.metadata).toEqual({ rc: 0, value: Buffer.alloc(4) });
    expect(text(s.mesh)).toBe(NOT_FOUND);
    await t.gw.close();
  });
});

describe("bad TLS options", () => {
  test("a key that is not the certificate's, clientCert without clientCa: HOST_ERR_BAD_OPTIONS", async () => {
    const other = pki.client("default", "sleep");
    await expect(gateway({ tls: { cert: pki.server.cert, key: other.key } })).rejects.toMatchObject({ code: "HOST_ERR_BAD_OPTIONS" });
    await expect(gateway({ tls: serverTls({ clientCert: "required" }) })).rejects.toBeInstanceOf(HostError);
    await expect(gateway({ tls: { cert: "not a certificate", key: pki.server.key } })).rejects.toMatchObject({ code: "HOST_ERR_BAD_OPTIONS" });
  });
});

describe("CLI: serve's TLS and node flags, check --cert/--key", () => {
  function io(): CliIo & { outText: string[]; errText: string[] } {
    const outText: string[] = [];
    const errText: string[] = [];
    return { out: (t) => outText.push(t), err: (t) => errText.push(t), env: {}, outText, errText };
  }

  test("serve flags become ServeOptions.tls and nodeMetadata; incomplete combinations are usage errors", async () => {
    const { serveOptionsFromArgs } = await import("../../host/cli");
    const config = path.join(pki.dir, "empty-config.json");
    fs.writeFileSync(config, "{}");
    const base = ["--config", config, "--upstream", "http://127.0.0.1:1"];
    const o = serveOptionsFromArgs(
      [...base, "--tls-cert", pki.server.certFile, "--tls-key", pki.server.keyFile, "--client-ca", pki.ca.certFile,
        "--node-metadata", "MESH_ID=mesh1", "--node-metadata", "A=b=c", "--node-id", "n1"],
      {},
    );
    expect(o.tls).toEqual({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert, clientCert: "optional" });
    expect(o.nodeMetadata).toEqual({ MESH_ID: "mesh1", A: "b=c" });
    expect(o.nodeId).toBe("n1");
    for (const bad of [
      ["--tls-cert", pki.server.certFile],
      ["--tls-cert", pki.server.certFile, "--tls-key", pki.server.keyFile, "--client-cert", "required"],
      ["--tls-cert", pki.server.certFile, "--tls-key", pki.server.keyFile, "--client-ca", pki.ca.certFile, "--client-cert", "sometimes"],
      ["--node-metadata", "novalue"],
    ]) {
      const x = io();
      expect(await main(["serve", ...base, ...bad], x)).toBe(2);
      expect(x.errText.join("\n")).toMatch(/--tls-cert|--client-cert|--node-metadata/);
    }
  });

  test("check over HTTPS: the client certificate's identity decides; without it, RBAC denies; required refuses the handshake", async () => {
    const config = path.join(pki.dir, "peer-config.json");
    fs.writeFileSync(
      config,
      JSON.stringify({
        jwtRules: [{ issuer: "https://issuer.example", jwks: JSON.stringify({ keys: [] }) }],
        policies: [{ name: "ns.peers", action: "ALLOW", rules: [{ from: [{ source: { principals: ["cluster.local/ns/default/sa/sleep"] } }] }] }],
      }),
    );
    const client = pki.client("default", "sleep");
    const tlsFlags = ["--tls-cert", pki.server.certFile, "--tls-key", pki.server.keyFile, "--client-ca", pki.ca.certFile];
    const base = ["check", "--config", config, "--wasm", WASM, ...tlsFlags];

    const allowed = io();
    expect(await main([...base, "--cert", client.certFile, "--key", client.keyFile, "--path", "/x"], allowed)).toBe(0);
    expect(allowed.outText.join("\n")).toContain("verdict:   allowed");
    expect(allowed.outText.join("\n")).toContain("status:    200");

    const denied = io();
    expect(await main([...base, "--path", "/x"], denied)).toBe(0);
    expect(denied.outText.join("\n")).toContain("verdict:   denied");
    expect(denied.outText.join("\n")).toContain("body:      RBAC: access denied");

    const refused = io();
    expect(await main([...base, "--client-cert", "required"], refused)).toBe(1);
    expect(refused.errText.join("\n")).toContain("the request failed");

    const usage = io();
    expect(await main(["check", "--config", config, "--wasm", WASM, "--cert", client.certFile, "--key", client.keyFile], usage)).toBe(2);
    expect(usage.errText.join("\n")).toContain("--cert needs --tls-cert");
  });
});
