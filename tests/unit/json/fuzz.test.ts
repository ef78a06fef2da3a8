// Fuzzing the AssemblyScript reader with hostile bytes: mutated seeds (bit flips, insertions, deletions, splices),
// truncation at every point, an exhaustive UTF-8 sweep, deep nesting and huge strings. Every input must run
// without a trap (env.abort never called, no WebAssembly.RuntimeError), and JSON.parse (on the bytes decoded
// as UTF-8 with fatal: true) is the oracle: if it rejects we reject; if both accept the trees are equal; if only
// we reject, the reason must be one of our stricter rules.
import * as fs from "fs";
import * as path from "path";
import { JsonWasm, ParseOptions, ROOT, jsParse, jwksLikeDocument, prng, sameJson } from "./harness";
import { Rnd, int, pick, value, ws } from "./generate";

const SUITE_DIR = path.join(ROOT, "tests", "vectors", "jsontestsuite", "test_parsing");
const enc = new TextEncoder();

/** Rejections that are ours alone (JSON.parse accepts): RFC 8259 leaves them to the implementation. */
const STRICTER = new Set(["lone surrogate", "number out of range", "nesting too deep", "too many values", "input too large"]);

let wasm: JsonWasm;
let inputs = 0;
/** How often each oracle outcome occurred, so a generator that stops producing a mix is noticed. */
const outcomes = { bothAccept: 0, bothReject: 0, onlyWeReject: 0 };
const failures: string[] = [];
const show = (b: Uint8Array): string => Buffer.from(b.subarray(0, 200)).toString("base64") + (b.length > 200 ? `…(${b.length} bytes)` : "");

/** Parses one input and checks it against the oracle; records a failure instead of throwing. */
function check(bytes: Uint8Array, opts: ParseOptions = {}): boolean {
  inputs++;
  const r = wasm.parse(bytes, { ...opts, noSerialize: false });
  if (r.trap !== undefined) {
    failures.push(`TRAP ${r.trap} on ${show(bytes)}`);
    return false;
  }
  const js = jsParse(bytes);
  if (r.ok && !js.ok) {
    failures.push(`accepted what JSON.parse rejects: ${show(bytes)}`);
  } else if (r.ok && js.ok) {
    outcomes.bothAccept++;
    if (!sameJson(JSON.parse(r.text!), js.value)) failures.push(`different tree: ${show(bytes)} → ${r.text!.slice(0, 200)}`);
  } else if (!js.ok) {
    outcomes.bothReject++;
  } else {
    outcomes.onlyWeReject++;
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const allowed = STRICTER.has(r.error) || (bom && r.error === "unexpected character" && r.errorOffset === 0);
    if (!allowed) failures.push(`rejected (${r.error} @${r.errorOffset}) what JSON.parse accepts: ${show(bytes)}`);
  }
  if (!r.ok && (r.errorOffset < 0 || r.errorOffset > bytes.length)) failures.push(`offset ${r.errorOffset} outside input: ${show(bytes)}`);
  return r.ok;
}

beforeAll(() => {
  wasm = new JsonWasm();
});
afterEach(() => {
  expect(failures.splice(0).slice(0, 10)).toEqual([]);
  expect(wasm.traps).toEqual([]);
});
afterAll(() => {
  // Keep the promise of the brief visible: at least 100,000 inputs went through the reader.
  console.log(`json fuzz: ${inputs} inputs, outcomes ${JSON.stringify(outcomes)}`);
  expect(inputs).toBeGreaterThanOrEqual(100000);
  expect(outcomes.bothAccept).toBeGreaterThan(10000);
  expect(outcomes.bothReject).toBeGreaterThan(10000);
  expect(outcomes.onlyWeReject).toBeGreaterThan(300);
});

const JWKS = enc.encode(jwksLikeDocument());
const JWT_HEADER = enc.encode('{"alg":"RS256","kid":"k1","typ":"JWT","crit":["exp"]}');
const JWT_PAYLOAD = enc.encode(
  '{"iss":"https://issuer.example","sub":"user/1","aud":["a","b"],"exp":1735689600,"iat":1.5e9,"nbf":-0.0,' +
  '"x":null,"y":false,"é":"\\ud83d\\ude00😀\\n\\u00e9\\/"}',
);
const GENERATED: Uint8Array[] = [];
{
  const rnd = prng(31337);
  for (let i = 0; i < 150; i++) GENERATED.push(enc.encode(ws(rnd) + value(rnd, 0) + ws(rnd)));
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const f of fs.readdirSync(SUITE_DIR).sort()) out.push(new Uint8Array(fs.readFileSync(path.join(SUITE_DIR, f))));
  out.push(JWKS, JWT_HEADER, JWT_PAYLOAD, ...GENERATED);
  return out;
}

// Bytes that steer mutations into interesting states: structure, escapes, digits, and invalid/edge UTF-8.
const TOKENS: number[][] = [
  ..."{}[],:\"\\ \t\n\r0123456789-+.eEtrufalsn/bu".split("").map((c) => [c.charCodeAt(0)]),
  [0x00], [0x1f], [0x7f], [0x0b], [0x0c],
  [0x80], [0xbf], [0xc0, 0xaf], [0xc1, 0xbf], [0xc2], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0x80, 0xaf], [0xe0, 0xa0, 0x80],
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0x9f, 0xbf], [0xef, 0xbb, 0xbf], [0xef, 0xbf, 0xbf], [0xe2, 0x82],
  [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xfe], [0xff],
  ...["\\u", "\\ud800", "\\udc00", "\\ud800\\udc00", "\\uDBFF\\uDFFF", "\\u00", "1e400", "-1e-400", "1e", "0.", "-",
    "true", "nul", "[", "{", "]", "}", '"', '{"a":', "[1,", "\\", "\\\"", "9007199254740993"].map((s) => Array.from(enc.encode(s))),
];

function mutate(rnd: Rnd, input: Uint8Array, all: Uint8Array[]): Uint8Array {
  let b = Array.from(input);
  const rounds = 1 + int(rnd, 3);
  for (let k = 0; k < rounds; k++) {
    const at = int(rnd, b.length + 1);
    switch (int(rnd, 9)) {
      case 0: if (b.length) b[Math.min(at, b.length - 1)] ^= 1 << int(rnd, 8); break; // bit flip
      case 1: if (b.length) b[Math.min(at, b.length - 1)] = int(rnd, 256); break; // random byte
      case 2: b.splice(at, 0, ...pick(rnd, TOKENS)); break; // insert a token
      case 3: b.splice(at, 0, int(rnd, 256)); break; // insert a random byte
      case 4: b.splice(at, 1 + int(rnd, 8)); break; // delete a range
      case 5: { // duplicate a range
        const len = 1 + int(rnd, 16);
        b.splice(at, 0, ...b.slice(at, at + len));
        break;
      }
      case 6: b = b.slice(0, at); break; // truncate
      case 7: { // splice with another seed
        const o = pick(rnd, all);
        const from = int(rnd, o.length + 1);
        b = b.slice(0, at).concat(Array.from(o.subarray(from, from + int(rnd, 64))), b.slice(at + int(rnd, 8)));
        break;
      }
      default: if (b.length) b[Math.min(at, b.length - 1)] = pick(rnd, TOKENS)[0]; // replace with a token byte
    }
  }
  return Uint8Array.from(b);
}

describe("fuzz: no trap, and never more lenient than JSON.parse", () => {
  const all = seeds();

  test("every seed", () => {
    for (const s of all) check(s);
  });

  test("truncation at every point of the JWKS document, a JWT header and payload, and 20 generated documents", () => {
    const targets = [JWKS, JWT_HEADER, JWT_PAYLOAD, ...GENERATED.slice(0, 20)];
    for (const t of targets) for (let n = 0; n <= t.length; n++) check(t.subarray(0, n));
  });

  test("every single-bit flip of a JWT payload", () => {
    const t = JWT_PAYLOAD;
    for (let i = 0; i < t.length * 8; i++) {
      const b = Uint8Array.from(t);
      b[i >> 3] ^= 1 << (i & 7);
      check(b);
    }
  });

  test("100,000 random mutations (1–3 each), some under tight limits", () => {
    const rnd = prng(2024);
    for (let i = 0; i < 100000; i++) {
      const input = mutate(rnd, pick(rnd, all), all);
      const tight = rnd() < 0.1;
      check(input, tight ? { maxDepth: int(rnd, 6), maxItems: int(rnd, 20), maxBytes: 16 + int(rnd, 2048) } : {});
    }
  });

  test("5,000 random byte strings (JSON-ish alphabet and fully random)", () => {
    const rnd = prng(8);
    for (let i = 0; i < 5000; i++) {
      const n = int(rnd, 48);
      const b: number[] = [];
      for (let j = 0; j < n; j++) b.push(...(i % 2 ? [int(rnd, 256)] : pick(rnd, TOKENS)));
      check(Uint8Array.from(b));
    }
  });

  test("exhaustive 1- and 2-byte sequences inside a string, and every 3-/4-byte lead with edge continuations", () => {
    for (let a = 0; a < 256; a++) {
      check(Uint8Array.from([0x22, a, 0x22]));
      for (let b = 0; b < 256; b++) check(Uint8Array.from([0x22, a, b, 0x22]));
    }
    const edges = [0x00, 0x22, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff];
    for (let a = 0xe0; a < 0x100; a++) {
      for (const b of edges) {
        for (const c of edges) {
          check(Uint8Array.from([0x22, a, b, c, 0x22]));
          for (const d of [0x80, 0xbf, 0x22, 0xc0]) check(Uint8Array.from([0x22, a, b, c, d, 0x22]));
        }
      }
    }
    // Valid UTF-8 is still accepted everywhere in a string, as raw bytes.
    const all4 = [0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff];
    for (const cp of all4) expect(check(enc.encode(JSON.stringify(String.fromCodePoint(cp))))).toBe(true);
  });

  test("10,000 levels of nesting: rejected over the limit, accepted (iteratively) under a raised one", () => {
    const n = 10000;
    const arrays = "[".repeat(n) + "]".repeat(n);
    const objects = '{"a":'.repeat(n) + "1" + "}".repeat(n);
    const mixed = '[{"a":'.repeat(n / 2) + "[]" + "}]".repeat(n / 2);
    for (const text of [arrays, objects, mixed]) {
      const b = enc.encode(text);
      expect(wasm.parse(b)).toMatchObject({ ok: false, error: "nesting too deep" });
      expect(wasm.parse(b.subarray(0, b.length >> 1))).toMatchObject({ ok: false, error: "nesting too deep" });
      check(b, { maxDepth: n + 1 });
      expect(wasm.parse(b, { maxDepth: n + 1 }).ok).toBe(true);
      expect(wasm.parse(b, { maxDepth: n - 1 }).error).toBe("nesting too deep");
    }
    // Unclosed and mismatched deep documents.
    check(enc.encode("[".repeat(n)), { maxDepth: n });
    check(enc.encode("[".repeat(n) + "}".repeat(n)), { maxDepth: n });
    check(enc.encode("[".repeat(100000)), { maxDepth: 1 << 30 });
  });

  test("huge strings, numbers and whitespace near the 1 MiB limit", () => {
    const big = 1000000;
    const cases: string[] = [
      '"' + "a".repeat(big) + '"',
      '"' + "\\n".repeat(big / 2) + '"',
      '"' + "é".repeat(big / 2 - 2) + '"',
      '"' + "\u{1F600}".repeat(big / 4 - 2) + '"',
      '"' + "\\ud83d\\ude00".repeat(big / 12) + '"',
      '"' + "\\u0000".repeat(big / 6) + '"',
      '["' + "x".repeat(big / 2) + '","' + "y\\t".repeat(big / 8) + '"]',
      " ".repeat(big) + "1",
      "1" + "0".repeat(300) + "." + "0".repeat(big - 310) + "1",
      "9".repeat(300) + "0".repeat(big - 310) + "e-" + String(big - 310),
      "0." + "0".repeat(big - 3) + "1",
      "[" + "1,".repeat(big / 20) + "1]",
    ];
    for (const text of cases) {
      const b = enc.encode(text);
      expect(check(b)).toBe(true);
      // Cutting the last byte leaves a valid number, but never a valid string/array/whitespace document.
      const cut = check(b.subarray(0, b.length - 1));
      if (/["\]1]$/.test(text) && !/^[0-9]/.test(text)) expect(cut).toBe(false);
    }
    // One bad byte at the very end of a huge string.
    const bad = enc.encode('"' + "a".repeat(big) + "\xff" + '"');
    bad[bad.length - 2] = 0xff; // "\xff" encoded as C3 BF above; make it a raw FF
    check(bad);
    // Over the limit: rejected before any byte is read.
    const over = enc.encode('"' + "a".repeat(1 << 20) + '"');
    expect(wasm.parse(over)).toEqual({ ok: false, errorOffset: 0, error: "input too large" });
    expect(wasm.parse(over, { maxBytes: 2 ** 31 - 1, noSerialize: true }).ok).toBe(true);
  });
});
