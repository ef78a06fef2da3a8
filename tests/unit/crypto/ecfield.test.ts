// The NIST prime fields (assembly/crypto/ec: p256.ts generated and unrolled, p384.ts and p521.ts loops)
// against BigInt: edge values, values near p and near the word boundaries, random values, and r aliasing
// a or b. Includes the case the earlier unrolled p521Sub got wrong (a low word of a in 0..2 with b's low
// word >= 0xfffffffd underflowed: 0 - (p - 1) gave 2^64 + 1 instead of 1).
import { randomBytes } from "crypto";
import { loadLib, WasmLib } from "../../helpers/wasmlib";

const CURVES: Array<{ name: string; id: number; words: number; p: bigint }> = [
  { name: "P-256", id: 0, words: 8, p: (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n },
  { name: "P-384", id: 1, words: 12, p: (1n << 384n) - (1n << 128n) - (1n << 96n) + (1n << 32n) - 1n },
  { name: "P-521", id: 2, words: 17, p: (1n << 521n) - 1n },
];

let lib: WasmLib;
beforeAll(() => {
  lib = loadLib("crypto");
});

const mod = (a: bigint, p: bigint) => ((a % p) + p) % p;

function put(addr: number, v: bigint, n: number): void {
  const u = new Uint32Array(lib.memory.buffer, addr, n);
  for (let i = 0; i < n; i++) {
    u[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

function get(addr: number, n: number): bigint {
  const u = new Uint32Array(lib.memory.buffer, addr, n);
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 32n) | BigInt(u[i]);
  return v;
}

function rnd(bits: number): bigint {
  return BigInt("0x" + randomBytes(Math.ceil(bits / 8) + 1).toString("hex")) & ((1n << BigInt(bits)) - 1n);
}

describe.each(CURVES)("$name field", ({ id, words, p }) => {
  const bits = p.toString(2).length;
  const edges = [0n, 1n, 2n, 3n, p - 1n, p - 2n, p - 3n, (1n << 32n) - 1n, 1n << 32n, (1n << 64n) - 1n, 1n << BigInt(bits - 1), p >> 1n, (p >> 1n) + 1n];
  const values = [...edges];
  for (let i = 0; i < 400; i++) {
    const k = i % 4;
    values.push(k === 0 ? rnd(64) : k === 1 ? p - 1n - rnd(40) : mod(rnd(bits), p));
  }

  test("mul, sqr, add and sub agree with BigInt for edge and random values, in place too", () => {
    const base = lib.exports.scratch(words * 4 * 3) as number;
    const [A, B, R] = [base, base + words * 4, base + words * 8];
    const pairs: Array<[bigint, bigint]> = [];
    for (const a of edges) for (const b of edges) pairs.push([a, b]);
    for (let i = 0; i < 3000; i++) pairs.push([values[i % values.length], values[(i * 7 + 3) % values.length]]);
    let checked = 0;
    const wrong: string[] = [];
    for (const [a, b] of pairs) {
      for (let op = 0; op < 4; op++) {
        const want = mod(op === 0 ? a * b : op === 1 ? a * a : op === 2 ? a + b : a - b, p);
        // r separate, r = a, r = b.
        for (const target of [R, A, B]) {
          if (op === 1 && target === B) continue;
          put(A, a, words);
          put(B, b, words);
          put(R, 0xdeadbeefn, words);
          expect(lib.exports.ecFieldOp(id, op, target, A, B)).toBe(0);
          const got = get(target, words);
          checked++;
          if (mod(got, p) !== want || got >= 1n << BigInt(words * 32)) {
            if (wrong.length < 5) wrong.push(`op ${op} a=${a.toString(16)} b=${b.toString(16)}: ${got.toString(16)}, want ${want.toString(16)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(30000);
  });

  test("a - b where a's low word is 0..2 and b's is 0xfffffffd..0xffffffff (the old p521Sub underflow)", () => {
    const base = lib.exports.scratch(words * 4 * 3) as number;
    const [A, B, R] = [base, base + words * 4, base + words * 8];
    for (const lowA of [0n, 1n, 2n]) {
      for (const lowB of [0xfffffffdn, 0xfffffffen, 0xffffffffn]) {
        for (const highB of [0n, p >> 32n, rnd(bits - 40)]) {
          const a = lowA;
          const b = mod((highB << 32n) | lowB, p);
          put(A, a, words);
          put(B, b, words);
          expect(lib.exports.ecFieldOp(id, 3, R, A, B)).toBe(0);
          expect(mod(get(R, words), p)).toBe(mod(a - b, p));
        }
      }
    }
    // 0 - (p - 1) = 1.
    put(A, 0n, words);
    put(B, p - 1n, words);
    lib.exports.ecFieldOp(id, 3, R, A, B);
    expect(mod(get(R, words), p)).toBe(1n);
  });

  test("refuses a bad curve, op or pointer", () => {
    expect(lib.exports.ecFieldOp(3, 0, 0, 0, 0)).toBe(-1);
    expect(lib.exports.ecFieldOp(id, 4, 0, 0, 0)).toBe(-1);
    expect(lib.exports.ecFieldOp(id, 0, 0xfffffff0, 0, 0)).toBe(-1);
  });
});
