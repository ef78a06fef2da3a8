// A request header map the filter cannot read whole is refused (500 and one error line), never passed with
// a partial view. No HTTP request can make a host send a malformed map, so these cases drive the compiled
// build/jwt_authn.wasm through the in-process driver of the benchmark (bench/direct.ts), which answers
// each ABI call as a host would and here hands the filter exactly the bytes under test. Also: a map of any
// number of entries is read whole, so a token or a forged payload header past entry 8,192 is still seen.
import * as path from "path";
import { DirectFilter, serializePairs, Headers } from "../../bench/direct";
import { makeRsaKey, jwksOf, sign, nowS } from "../helpers/tokens";
import { prng } from "../helpers/prng";

const WASM = process.env.JWT_AUTHN_WASM ?? path.resolve(__dirname, "..", "..", "build", "jwt_authn.wasm");
const ISS = "https://issuer.example.com";
const key = makeRsaKey("k1");
const other = makeRsaKey("k1");
const config = JSON.stringify({
  jwtRules: [{ issuer: ISS, jwks: jwksOf(key), outputPayloadToHeader: "x-jwt-payload" }],
  policies: [{ name: "any", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }],
});
const base: Headers = [[":authority", "gw"], [":path", "/"], [":method", "GET"], [":scheme", "http"]];
const valid = sign(key, { iss: ISS, sub: "alice", exp: nowS() + 3600 });
const forged = sign(other, { iss: ISS, sub: "mallory", exp: nowS() + 3600 });

function fillers(n: number): Headers {
  const out: Headers = [];
  for (let i = 0; i < n; i++) out.push([`x-f${i}`, "1"]);
  return out;
}

test("the whole map is read, however many entries: a forged token past entry 8,192 is refused", () => {
  const f = new DirectFilter(WASM, config);
  const many = [...base, ...fillers(20000)];
  expect(f.request([...many, ["x-jwt-payload", "forged"], ["authorization", `Bearer ${forged}`]])).toBe(401);
  expect(f.request([...many, ["authorization", `Bearer ${valid}`]])).toBe(200);
  expect(f.request(many)).toBe(403); // no token: the ALLOW policy needs a principal
});

describe("a map that does not add up is refused with 500 and one error line", () => {
  const good = serializePairs([...base, ["authorization", `Bearer ${valid}`], ["x-a", "b"]]);
  const count = good.readUInt32LE(0);
  const cases: Array<[string, Buffer | null]> = [
    ["the host call fails", null],
    ["shorter than its count", good.subarray(0, 3)],
    ["truncated in the data", good.subarray(0, good.length - 3)],
    ["a byte left over", Buffer.concat([good, Buffer.from([0])])],
    ["a count one less than the entries", (() => { const b = Buffer.from(good); b.writeUInt32LE(count - 1, 0); return b; })()],
    ["a count one more than the entries", (() => { const b = Buffer.from(good); b.writeUInt32LE(count + 1, 0); return b; })()],
    ["a count of 2^32-1", (() => { const b = Buffer.from(good); b.writeUInt32LE(0xffffffff, 0); return b; })()],
    ["a key length past the end", (() => { const b = Buffer.from(good); b.writeUInt32LE(0xfffffff0, 4); return b; })()],
    ["a missing NUL after a key", (() => { const b = Buffer.from(good); b[4 + count * 8 + 10] = 0x41; return b; })()],
    ["a missing NUL after the last value", (() => { const b = Buffer.from(good); b[b.length - 1] = 0x41; return b; })()],
  ];
  test.each(cases)("%s", (_name, pairs) => {
    const f = new DirectFilter(WASM, config);
    f.logs.length = 0;
    expect(f.requestWithPairs(pairs, base)).toBe(500);
    expect(f.logs.filter((l) => l.includes("could not be read whole"))).toHaveLength(1);
  });
});

test("random corruptions of a map never pass and never trap", () => {
  const f = new DirectFilter(WASM, config);
  const rnd = prng(0x6d6170);
  const good = serializePairs([...base, ["authorization", `Bearer ${forged}`], ["x-jwt-payload", "forged"], ...fillers(20)]);
  const seen: Record<number, number> = {};
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(good.subarray(0, rnd.int(good.length + 1)));
    const flips = 1 + rnd.int(4);
    for (let j = 0; j < flips && b.length > 0; j++) b[rnd.int(b.length)] = rnd.int(256);
    const s = f.requestWithPairs(b, base);
    seen[s] = (seen[s] ?? 0) + 1;
    // The map carries a forged token: whatever part of it was read, the request must not continue.
    expect(s).not.toBe(200);
  }
  expect(Object.keys(seen).every((k) => ["401", "403", "500"].includes(k))).toBe(true);
  expect(seen[500]).toBeGreaterThan(0);
});
