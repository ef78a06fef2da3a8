/**
 * Crypto micro-benchmark, second table: PS256 verification (2048-bit key) and HS256 verification (a typical
 * ~300-byte JWT signing input and 1 KiB), our wasm through loadCrypto with keys imported once, against Node's
 * OpenSSL with KeyObjects created once (PSS: RSA_PKCS1_PSS_PADDING, saltLength 32; HMAC: createHmac +
 * timingSafeEqual). An RS256 row on the same key shows what PSS adds over PKCS#1 v1.5.
 * Prints a table and returns its lines. Numbers are for humans; nothing asserts on them.
 */
import {
  constants, createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual,
  verify as nodeVerify,
} from "crypto";
import { loadCrypto } from "../host/crypto/index";
import { row, measurePair, PAIR_ROUNDS } from "./measure";

/** Runs the benchmark, prints the table, returns the printed lines. */
export async function runPssHmacBench(options: { secondsPerRow?: number } = {}): Promise<string[]> {
  /** Both sides of a ratio row together. */
  const pairMs = 2 * (options.secondsPerRow ?? 1.5) * 1000;
  const crypto = await loadCrypto();
  const widths = [26, 12, 12, 10];
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    console.log(l);
  };
  const compare = (name: string, wasmFn: () => unknown, nodeFn: () => unknown, digits = 1) => {
    const [wasm, node] = measurePair(wasmFn, nodeFn, pairMs);
    emit(row([name, wasm.usPerOp.toFixed(digits), node.usPerOp.toFixed(digits),
      (wasm.usPerOp / node.usPerOp).toFixed(2) + "x"], widths));
  };
  emit(`PSS / HMAC benchmark (node ${process.version}, ${process.arch}; fastest of ${PAIR_ROUNDS} interleaved rounds per side)`);
  emit(row(["operation", "wasm us/op", "node us/op", "wasm/node"], widths));

  // A typical signing input: base64url header "." base64url claims (about 300 bytes).
  const header = Buffer.from(JSON.stringify({ alg: "PS256", typ: "JWT", kid: "bench-key" })).toString("base64url");
  const claims = Buffer.from(JSON.stringify({
    iss: "https://issuer.example.com", sub: "user-1234567890", aud: ["api://default"],
    iat: 1700000000, exp: 4700000000, scope: "read:things write:things", email: "someone@example.com",
    name: "Some One", roles: ["reader", "writer"],
  })).toString("base64url");
  const jwtInput = Buffer.from(`${header}.${claims}`);

  {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
    const key = crypto.importKey(publicKey.export({ format: "jwk" }));
    const pss = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    const psSig = sign("sha256", jwtInput, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    const rsSig = sign("sha256", jwtInput, privateKey);
    if (!crypto.verify("PS256", key, jwtInput, psSig) || !nodeVerify("sha256", jwtInput, pss, psSig)
      || !crypto.verify("RS256", key, jwtInput, rsSig)) {
      throw new Error("bench self-check failed for PS256/RS256");
    }
    compare("PS256 verify 2048-bit", () => crypto.verify("PS256", key, jwtInput, psSig),
      () => nodeVerify("sha256", jwtInput, pss, psSig));
    compare("RS256 verify 2048-bit (ref)", () => crypto.verify("RS256", key, jwtInput, rsSig),
      () => nodeVerify("sha256", jwtInput, publicKey, rsSig));
  }

  const secret = randomBytes(32);
  const key = crypto.importKey({ kty: "oct", k: secret.toString("base64url") });
  const nodeKey = createSecretKey(secret);
  for (const [name, data] of [[`HS256 verify ${jwtInput.length} B`, jwtInput], ["HS256 verify 1 KiB", randomBytes(1024)]] as const) {
    const tag = createHmac("sha256", nodeKey).update(data).digest();
    if (!crypto.verify("HS256", key, data, tag)) throw new Error("bench self-check failed for HS256");
    compare(name, () => crypto.verify("HS256", key, data, tag),
      () => timingSafeEqual(createHmac("sha256", nodeKey).update(data).digest(), tag), 2);
  }
  return lines;
}
