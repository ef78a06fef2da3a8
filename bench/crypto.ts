/**
 * Crypto micro-benchmark: RS256 verification (2048/3072/4096-bit keys) and SHA-256 over 1 KiB, our wasm
 * (through loadCrypto with a pre-imported key) against Node's OpenSSL with a pre-created KeyObject.
 * Prints a table and returns its lines. Numbers are for humans; nothing asserts on them.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, verify as nodeVerify } from "crypto";
import { loadCrypto, loadCryptoWasmForTests } from "../host/crypto/index";
import { measure, row, ROUNDS, Timing, measurePair, PAIR_ROUNDS } from "./measure";

/** Runs the benchmark, prints the table, returns the printed lines. */
export async function runCryptoBench(options: { secondsPerRow?: number } = {}): Promise<string[]> {
  const roundMs = ((options.secondsPerRow ?? 1.5) * 1000) / ROUNDS;
  /** Both sides of a ratio row together. */
  const pairMs = 2 * (options.secondsPerRow ?? 1.5) * 1000;
  const crypto = await loadCrypto();
  const { raw } = await loadCryptoWasmForTests();
  const widths = [26, 12, 12, 10];
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  emit(`crypto benchmark (node ${process.version}, ${process.arch}; fastest of ${PAIR_ROUNDS} interleaved rounds per side)`);
  emit(row(["operation", "wasm us/op", "node us/op", "wasm/node"], widths));

  // A typical signing input: base64url header "." base64url claims.
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "bench-key" })).toString("base64url");
  const claims = Buffer.from(JSON.stringify({
    iss: "https://issuer.example.com", sub: "user-1234567890", aud: ["api://default"],
    iat: 1700000000, exp: 4700000000, scope: "read:things write:things",
  })).toString("base64url");
  const data = Buffer.from(`${header}.${claims}`);

  for (const bits of [2048, 3072, 4096]) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: 65537 });
    const jwk = publicKey.export({ format: "jwk" });
    const key = crypto.importKey(jwk);
    const sig = sign("sha256", data, privateKey);
    if (!crypto.verify("RS256", key, data, sig) || !nodeVerify("sha256", data, publicKey, sig)) {
      throw new Error(`bench self-check failed for ${bits}-bit key`);
    }
    const [wasm, node] = measurePair(() => crypto.verify("RS256", key, data, sig), () => nodeVerify("sha256", data, publicKey, sig), pairMs);
    emit(row([`RS256 verify ${bits}-bit`, wasm.usPerOp.toFixed(1), node.usPerOp.toFixed(1),
      (wasm.usPerOp / node.usPerOp).toFixed(2) + "x"], widths));
  }

  {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const jwk = publicKey.export({ format: "jwk" });
    const imp = measure(() => crypto.importKey(jwk), roundMs / 3);
    emit(row(["RS key import 2048-bit", imp.usPerOp.toFixed(1), "-", "-"], widths));
  }

  const kib = randomBytes(1024);
  const want = createHash("sha256").update(kib).digest();
  if (!Buffer.from(raw.sha(0, kib)!).equals(want)) throw new Error("bench self-check failed for SHA-256");
  const [wasmSha, nodeSha] = measurePair(() => raw.sha(0, kib), () => createHash("sha256").update(kib).digest(), pairMs);
  emit(row(["SHA-256 1 KiB", wasmSha.usPerOp.toFixed(2), nodeSha.usPerOp.toFixed(2),
    (wasmSha.usPerOp / nodeSha.usPerOp).toFixed(2) + "x"], widths));
  const mbps = (t: Timing) => (1024 / t.usPerOp).toFixed(0);
  emit(row(["SHA-256 1 KiB MB/s", mbps(wasmSha), mbps(nodeSha), ""], widths));
  return lines;
}
