// Real X.509 certificates for the TLS tests, made at test time by the openssl CLI in a mkdtemp
// directory: a root CA, a server certificate for 127.0.0.1/localhost (with a URI SAN, the gateway's own
// SPIFFE identity), Istio-style client certificates (URI SAN spiffe://cluster.local/ns/<ns>/sa/<sa>),
// one signed by another CA and one without any SAN. EC P-256 keys: quick to make. Owns no server.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const OPENSSL = fs.existsSync("/usr/bin/openssl") ? "/usr/bin/openssl" : "openssl";

export interface CertFiles {
  /** PEM text of the certificate and its key. */
  cert: string;
  key: string;
  /** Where they are on disk (for the CLI flags). */
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  /** The CA clients and the gateway's server certificate are signed by. */
  ca: CertFiles;
  /** Signed by `ca`: DNS localhost, IP 127.0.0.1, URI spiffe://cluster.local/ns/istio-system/sa/gateway. */
  server: CertFiles;
  /** A second, unrelated CA. */
  otherCa: CertFiles;
  /** The SPIFFE identity Istio gives a workload. */
  spiffe(ns: string, sa: string): string;
  /**
   * A client certificate signed by `ca` (or by `otherCa` with `{ otherCa: true }`): subject
   * O=jwt-authn-wasm test, OU=<ns>, CN=<sa>; SANs URI spiffe(ns, sa) then DNS <sa>.<ns>.svc. Made once
   * per (ns, sa, issuer).
   */
  client(ns: string, sa: string, opts?: { otherCa?: boolean }): CertFiles;
  /** A client certificate signed by `ca` with subject CN=no-uri-san and no subjectAltName at all. */
  noSanClient(): CertFiles;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function files(dir: string, name: string): CertFiles {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
}

function makeCa(dir: string, name: string, subject: string): CertFiles {
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`,
      "-days", "2", "-subj", subject,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    dir,
  );
  return files(dir, name);
}

let serial = 1000;

/** A leaf certificate signed by `issuer`; `ext` lines go to the extension file. */
function makeLeaf(dir: string, name: string, issuer: CertFiles, subject: string, ext: string[]): CertFiles {
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", ...ext].join("\n") + "\n");
  openssl(
    ["x509", "-req", "-in", `${name}.csr`, "-CA", issuer.certFile, "-CAkey", issuer.keyFile, "-set_serial", String(++serial),
      "-days", "2", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.crt`],
    dir,
  );
  return files(dir, name);
}

/** Makes the CAs and the server certificate now; client certificates on first use. */
export function makePki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwt-authn-pki-"));
  const ca = makeCa(dir, "ca", "/O=jwt-authn-wasm test/CN=Test Root CA");
  const otherCa = makeCa(dir, "other-ca", "/O=Someone Else/CN=Other Root CA");
  const server = makeLeaf(dir, "server", ca, "/O=jwt-authn-wasm test/CN=gateway", [
    "extendedKeyUsage=serverAuth",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,URI:spiffe://cluster.local/ns/istio-system/sa/gateway",
  ]);
  const spiffe = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
  const clients = new Map<string, CertFiles>();
  let noSan: CertFiles | null = null;
  return {
    dir,
    ca,
    server,
    otherCa,
    spiffe,
    client(ns, sa, opts = {}) {
      const name = `client-${ns}-${sa}${opts.otherCa ? "-other" : ""}`;
      let c = clients.get(name);
      if (!c) {
        c = makeLeaf(dir, name, opts.otherCa ? otherCa : ca, `/O=jwt-authn-wasm test/OU=${ns}/CN=${sa}`, [
          "extendedKeyUsage=clientAuth",
          `subjectAltName=URI:${spiffe(ns, sa)},DNS:${sa}.${ns}.svc`,
        ]);
        clients.set(name, c);
      }
      return c;
    },
    noSanClient() {
      noSan ??= makeLeaf(dir, "client-no-san", ca, "/CN=no-uri-san", ["extendedKeyUsage=clientAuth"]);
      return noSan;
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
