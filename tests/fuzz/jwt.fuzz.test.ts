// No trap in the parsers, driven directly (build/jwt.wasm, the filter's own code without HTTP):
// 50,000 mutated tokens through parseJwt and 20,000 mutated key sets through parseJwks. Each call must
// return a Status; an abort or a wasm RuntimeError fails the test.
import { loadLib, WasmLib } from "../helpers/wasmlib";
import { makeRsaKey, jwksOf, sign, b64u } from "../helpers/tokens";
import { prng, Rnd } from "../helpers/prng";


function mutate(rnd: Rnd, src: Buffer): Buffer {
  const b = Buffer.from(src);
  const kind = rnd.int(5);
  if (kind === 0) return b.subarray(0, rnd.int(b.length + 1));
  if (kind === 1) {
    for (let i = 0; i < 1 + rnd.int(8); i++) if (b.length) b[rnd.int(b.length)] ^= 1 << rnd.int(8);
    return b;
  }
  if (kind === 2) {
    const at = rnd.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rnd.int(20) }, () => rnd.int(256))), b.subarray(at)]);
  }
  if (kind === 3) {
    const at = rnd.int(b.length + 1);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd.int(20))]);
  }
  return Buffer.from(Array.from({ length: rnd.int(400) }, () => rnd.int(256)));
}

let lib: WasmLib;
beforeAll(() => {
  lib = loadLib("jwt");
});

test("50,000 mutated tokens through parseJwt return a status", () => {
  const rnd = prng(1);
  const key = makeRsaKey("k");
  const seeds = [
    sign(key, { iss: "i", sub: "s", aud: ["a", "b"], exp: 2000000000, nbf: 1, iat: 1, jti: "j" }),
    sign(key, { iss: "i", nested: { a: [1, 2, { b: null }] }, s: "\u00e9\ud83d\ude00" }),
    `${b64u('{"alg":"RS256","kid":"k"}')}.${b64u("[" + "{\"a\":".repeat(50))}.${b64u("x")}`,
  ].map((s) => Buffer.from(s));
  const seen = new Set<number>();
  for (let i = 0; i < 50000; i++) {
    const input = mutate(rnd, seeds[i % seeds.length]);
    const [[p, l]] = lib.put(input);
    const s = lib.exports.jwtParse(p, l) as number;
    expect(s >= 0 && s <= 72).toBe(true);
    seen.add(s);
  }
  expect(lib.aborted).toEqual([]);
  // The mutations reach deep into the parser: many distinct statuses come back.
  expect(seen.size).toBeGreaterThanOrEqual(8);
});

test("20,000 mutated key sets through parseJwks return a status", () => {
  const rnd = prng(2);
  const seeds = [jwksOf(makeRsaKey("a"), makeRsaKey("b", 3072, "RS384")), JSON.stringify({ keys: [{ kty: "RSA", n: "AQAB", e: "AQAB" }, 5, { kty: "EC" }] })].map((s) => Buffer.from(s));
  const seen = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const input = mutate(rnd, seeds[i % seeds.length]);
    const [[p, l]] = lib.put(input);
    const s = lib.exports.jwksParse(p, l) as number;
    expect(s === 0 || (s >= 28 && s <= 72)).toBe(true);
    seen.add(s);
  }
  expect(lib.aborted).toEqual([]);
  expect(seen.has(0)).toBe(true);
  expect(seen.size).toBeGreaterThanOrEqual(5);
});
