/**
 * EdDSA (Ed25519) micro-benchmark: signature verification in our wasm (through loadCrypto with a
 * pre-imported key) against Node's OpenSSL with a pre-created KeyObject, on a typical JWT signing input
 * and on a 1 KiB message; plus key import. Prints a table and returns its lines. Numbers are for humans;
 * nothing asserts on them.
 */
import { generateKeyPairSync, randomBytes, sign, verify as nodeVerify } from "crypto";
import { loadCrypto } from "../host/crypto/index";
import { row, measurePair, PAIR_ROUNDS } from "./measure";

export async function runEd25519Bench(options: { secondsPerRow?: number } = {}): Promise<string[]> {
  const totalMs = 2 * (options.secondsPerRow ?? 1.5) * 1000;
  const crypto = await loadCrypto();
  const widths = [26, 12, 12, 10];
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  emit(`Ed25519 benchmark (node ${process.version}, ${process.arch}; fastest of ${PAIR_ROUNDS} interleaved rounds per side)`);
  emit(row(["operation", "wasm us/op", "node us/op", "wasm/node"], widths));

  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  const key = crypto.importKey(jwk);

  // A typical signing input: base64url header "." base64url claims.
  const header = Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "JWT", kid: "bench-key" })).toString("base64url");
  const claims = Buffer.from(JSON.stringify({
    iss: "https://issuer.example.com", sub: "user-1234567890", aud: ["api://default"],
    iat: 1700000000, exp: 4700000000, scope: "read:things write:things",
  })).toString("base64url");
  const inputs: Array<[string, Buffer]> = [
    [`EdDSA verify JWT (${header.length + 1 + claims.length} B)`, Buffer.from(`${header}.${claims}`)],
    ["EdDSA verify 1 KiB", randomBytes(1024)],
  ];
  for (const [label, data] of inputs) {
    const sig = sign(null, data, privateKey);
    const bad = Buffer.from(sig);
    bad[5] ^= 1;
    if (!crypto.verify("EdDSA", key, data, sig) || !nodeVerify(null, data, publicKey, sig) ||
        crypto.verify("EdDSA", key, data, bad)) {
      throw new Error(`bench self-check failed for ${label}`);
    }
    const [wasm, node] = measurePair(() => crypto.verify("EdDSA", key, data, sig), () => nodeVerify(null, data, publicKey, sig), totalMs);
    emit(row([label, wasm.usPerOp.toFixed(1), node.usPerOp.toFixed(1), (wasm.usPerOp / node.usPerOp).toFixed(2) + "x"], widths));
  }

  // Key import: JWK parsing, point decoding and the per-key table. A fixed number of imports (each Key
  // keeps a wasm handle until it is garbage-collected).
  const IMPORTS = 500;
  const t0 = performance.now();
  for (let i = 0; i < IMPORTS; i++) crypto.importKey(jwk);
  const importUs = ((performance.now() - t0) * 1000) / IMPORTS;
  emit(row(["EdDSA key import (JWK)", importUs.toFixed(1), "-", "-"], widths));
  return lines;
}

if (require.main === module) {
  runEd25519Bench().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
