// The reader must not leak: after a warm-up, parsing tens of thousands more documents (trees dropped each time)
// must not grow wasm memory, because the incremental GC reclaims the trees. Also prints parse speed on a ~2 KB
// JWKS-like document (measured once, not asserted: speed lives in bench/).
import { JsonWasm, jwksLikeDocument, prng } from "./harness";
import { value, ws } from "./generate";

const enc = new TextEncoder();
let wasm: JsonWasm;
beforeAll(() => {
  wasm = new JsonWasm();
});
afterAll(() => {
  expect(wasm.traps).toEqual([]);
});

function documents(n: number, seed: number): Uint8Array[] {
  const rnd = prng(seed);
  const out: Uint8Array[] = [enc.encode(jwksLikeDocument())];
  while (out.length < n) out.push(enc.encode(ws(rnd) + value(rnd, 0) + ws(rnd)));
  return out;
}

describe("memory", () => {
  test("50,000 parses: wasm memory stops growing after warm-up (the GC reclaims dropped trees)", () => {
    const docs = documents(500, 11);
    const bad = enc.encode('{"a":[1,2,{"b":"\\ud800"}]}');
    // ~700 KB with 20,000 small objects: the kind of tree a hostile JWKS body can force within the limits.
    const big = enc.encode(JSON.stringify({ s: "é".repeat(200000), a: Array(20000).fill({ k: [1, "x"] }) }));
    const x = wasm.exports;
    const run = (from: number, to: number, withBig: boolean): void => {
      for (let i = from; i < to; i++) {
        const d = i % 97 === 0 ? bad : withBig && i % 5000 === 1 ? big : docs[i % docs.length];
        const ptr = wasm.write(d);
        const ok = x.parseLimits(ptr, d.length, 64, 1 << 20, 100000);
        expect(ok).toBe(d === bad ? 0 : 1);
        if (i % 3 === 0) x.serialize();
      }
    };
    // Typical documents (JWKS, tokens, generated documents up to 7 levels).
    run(0, 5000, false);
    const smallWarm = wasm.memoryBytes;
    run(5000, 25000, false);
    const smallEnd = wasm.memoryBytes;
    // Then with a large document every 5,000 parses. The incremental GC idles longer on a big heap, so one
    // dropped large tree may still be uncollected when the next arrives: the plateau is two trees, reached
    // by the second large document.
    run(25000, 35000, true);
    const bigWarm = wasm.memoryBytes;
    run(35000, 50000, true);
    const bigEnd = wasm.memoryBytes;
    x.clear();
    x.collect();
    console.log(`json memory (wasm pages × 64 KiB): typical ${smallWarm} → ${smallEnd}; with large documents ${bigWarm} → ${bigEnd}`);
    expect(smallEnd).toBe(smallWarm);
    expect(bigEnd).toBe(bigWarm);
    expect(smallEnd).toBeLessThanOrEqual(4 << 20);
    expect(bigEnd).toBeLessThanOrEqual(64 << 20);
  });
});

describe("speed (printed, not asserted)", () => {
  test("MB/s on a ~2 KB JWKS-like document", () => {
    const doc = enc.encode(jwksLikeDocument());
    expect(doc.length).toBeGreaterThan(1500);
    expect(doc.length).toBeLessThan(3000);
    const x = wasm.exports;
    const ptr = wasm.write(doc);
    const iterations = 20000;
    for (let i = 0; i < 2000; i++) x.parseLimits(ptr, doc.length, 64, 1 << 20, 100000); // warm-up (tier-up)
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) x.parseLimits(ptr, doc.length, 64, 1 << 20, 100000);
    const ours = Number(process.hrtime.bigint() - t0) / 1e9;
    const text = new TextDecoder().decode(doc);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) JSON.parse(text);
    const native = Number(process.hrtime.bigint() - t0) / 1e9;
    const mb = (doc.length * iterations) / 1e6;
    console.log(
      `json speed: ${doc.length}-byte JWKS-like document, ${(mb / ours).toFixed(1)} MB/s ` +
        `(${((ours / iterations) * 1e6).toFixed(2)} µs/parse); V8 JSON.parse ${(mb / native).toFixed(1)} MB/s`,
    );
    expect(x.parseLimits(ptr, doc.length, 64, 1 << 20, 100000)).toBe(1);
  });
});
