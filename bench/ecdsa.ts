/**
 * ECDSA micro-benchmark: ES256/ES384/ES512 verification, our wasm (through loadCrypto with a pre-imported
 * key) against Node's OpenSSL (`crypto.verify` with a pre-created KeyObject, dsaEncoding "ieee-p1363"),
 * plus our key import (which builds the per-key window table). Prints a table and returns its lines.
 * Numbers are for humans; nothing asserts on them.
 */
import { generateKeyPairSync, sign, verify as nodeVerify } from "crypto";
import { loadCrypto } from "../host/crypto/index";
import { measure, row, ROUNDS, measurePair, PAIR_ROUNDS } from "./measure";

const CASES = [
  { alg: "ES256", curve: "P-256", hash: "sha256" },
  { alg: "ES384", curve: "P-384", hash: "sha384" },
  { alg: "ES512", curve: "P-521", hash: "sha512" },
] as const;

/** Runs the benchmark, prints the table, returns the printed lines. */
export async function runEcdsaBench(options: { secondsPerRow?: number } = {}): Promise<string[]> {
  const roundMs = ((options.secondsPerRow ?? 1.5) * 1000) / ROUNDS;
  /** Both sides of a ratio row together. */
  const pairMs = 2 * (options.secondsPerRow ?? 1.5) * 1000;
  const crypto = await loadCrypto();
  const widths = [26, 12, 12, 10];
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  emit(`ECDSA benchmark (node ${process.version}, OpenSSL ${process.versions.openssl}, ${process.arch}; fastest of ${PAIR_ROUNDS} interleaved rounds per side)`);
  emit(row(["operation", "wasm us/op", "node us/op", "wasm/node"], widths));

  // A typical signing input: base64url header "." base64url claims.
  const claims = Buffer.from(JSON.stringify({
    iss: "https://issuer.example.com", sub: "user-1234567890", aud: ["api://default"],
    iat: 1700000000, exp: 4700000000, scope: "read:things write:things",
  })).toString("base64url");

  for (const { alg, curve, hash } of CASES) {
    const header = Buffer.from(JSON.stringify({ alg, typ: "JWT", kid: "bench-key" })).toString("base64url");
    const data = Buffer.from(`${header}.${claims}`);
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
    const jwk = publicKey.export({ format: "jwk" });
    const key = crypto.importKey(jwk);
    const sig = sign(hash, data, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const nodeKey = { key: publicKey, dsaEncoding: "ieee-p1363" as const };
    if (!crypto.verify(alg, key, data, sig) || !nodeVerify(hash, data, nodeKey, sig)) {
      throw new Error(`bench self-check failed for ${alg}`);
    }
    const [wasm, node] = measurePair(() => crypto.verify(alg, key, data, sig), () => nodeVerify(hash, data, nodeKey, sig), pairMs);
    emit(row([`${alg} verify (${curve})`, wasm.usPerOp.toFixed(1), node.usPerOp.toFixed(1),
      (wasm.usPerOp / node.usPerOp).toFixed(2) + "x"], widths));
  }

  for (const { curve } of CASES) {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
    const jwk = publicKey.export({ format: "jwk" });
    const imp = measure(() => crypto.importKey(jwk), roundMs / 3);
    emit(row([`EC key import ${curve}`, imp.usPerOp.toFixed(1), "-", "-"], widths));
  }
  return lines;
}

if (require.main === module) {
  runEcdsaBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
