// JSONTestSuite (nst/JSONTestSuite @1ef36fa, tests/vectors/jsontestsuite) against the AssemblyScript reader, the
// json-as trap regressions from our design, the exact error reasons and offsets, and the JsonValue API.
import * as fs from "fs";
import * as path from "path";
import { ERROR_MESSAGES, JsonWasm, ROOT, jsParse, jsonWasmModule, sameJson } from "./harness";

const SUITE_DIR = path.join(ROOT, "tests", "vectors", "jsontestsuite", "test_parsing");
const files = fs.readdirSync(SUITE_DIR).filter((f) => f.endsWith(".json")).sort();
const read = (f: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(SUITE_DIR, f)));

/**
 * Our answer for every implementation-defined (i_) case. Accepted: numbers that underflow (to 0, as JS) and an
 * integer beyond 2^53 (nearest double). Rejected: numbers that overflow f64, lone surrogates (escaped or
 * encoded), BOMs/UTF-16 and every other invalid UTF-8.
 */
const I_CASES: Record<string, { accept: boolean; error?: string }> = {
  "i_number_double_huge_neg_exp.json": { accept: true },
  "i_number_real_underflow.json": { accept: true },
  "i_number_too_big_pos_int.json": { accept: true },
  "i_number_neg_int_huge_exp.json": { accept: false, error: "number out of range" },
  "i_number_real_neg_overflow.json": { accept: false, error: "number out of range" },
  "i_string_1st_surrogate_but_2nd_missing.json": { accept: false, error: "lone surrogate" },
  "i_string_incomplete_surrogate_pair.json": { accept: false, error: "lone surrogate" },
  "i_string_invalid_lonely_surrogate.json": { accept: false, error: "lone surrogate" },
  "i_string_UTF8_surrogate_U+D800.json": { accept: false, error: "invalid UTF-8" },
  "i_string_UTF-16LE_with_BOM.json": { accept: false, error: "unexpected character" },
  "i_string_utf16BE_no_BOM.json": { accept: false, error: "unexpected character" },
  "i_string_invalid_utf-8.json": { accept: false, error: "invalid UTF-8" },
  "i_string_iso_latin_1.json": { accept: false, error: "invalid UTF-8" },
  "i_string_lone_utf8_continuation_byte.json": { accept: false, error: "invalid UTF-8" },
  "i_string_overlong_sequence_2_bytes.json": { accept: false, error: "invalid UTF-8" },
  "i_string_overlong_sequence_6_bytes_null.json": { accept: false, error: "invalid UTF-8" },
};

let wasm: JsonWasm;
beforeAll(() => {
  wasm = new JsonWasm();
});
afterAll(() => {
  expect(wasm.traps).toEqual([]);
});

describe("build/json.wasm", () => {
  test("imports only env.abort (Envoy provides no other host function to a lib build)", () => {
    expect(WebAssembly.Module.imports(jsonWasmModule())).toEqual([{ module: "env", name: "abort", kind: "function" }]);
  });
});

describe("JSONTestSuite", () => {
  test("the copied suite is complete (49 y_, 92 n_, 16 i_)", () => {
    const count = (p: string): number => files.filter((f) => f.startsWith(p)).length;
    expect([count("y_"), count("n_"), count("i_")]).toEqual([49, 92, 16]);
  });

  const yFiles = files.filter((f) => f.startsWith("y_"));
  test.each(yFiles)("%s is accepted with the same structure and values as JSON.parse", (f) => {
    const bytes = read(f);
    const r = wasm.parse(bytes);
    expect(r.trap).toBeUndefined();
    expect({ ok: r.ok, error: r.error }).toEqual({ ok: true, error: "" });
    const expected = jsParse(bytes);
    expect(expected.ok).toBe(true);
    expect(sameJson(JSON.parse(r.text!), expected.value)).toBe(true);
    expect(JSON.stringify(JSON.parse(r.text!))).toBe(JSON.stringify(expected.value));
  });

  const nFiles = files.filter((f) => f.startsWith("n_"));
  test.each(nFiles)("%s is rejected with a known reason and an offset inside the input", (f) => {
    const bytes = read(f);
    const r = wasm.parse(bytes);
    expect(r.trap).toBeUndefined();
    expect(r.ok).toBe(false);
    expect(ERROR_MESSAGES.has(r.error)).toBe(true);
    expect(r.errorOffset).toBeGreaterThanOrEqual(0);
    expect(r.errorOffset).toBeLessThanOrEqual(bytes.length);
  });

  const iFiles = files.filter((f) => f.startsWith("i_"));
  test("every i_ case has a recorded decision", () => {
    expect(iFiles.sort()).toEqual(Object.keys(I_CASES).sort());
  });
  test.each(iFiles)("%s does not trap and gets its recorded answer", (f) => {
    const bytes = read(f);
    const r = wasm.parse(bytes);
    expect(r.trap).toBeUndefined();
    const want = I_CASES[f];
    expect(r.ok).toBe(want.accept);
    if (want.accept) {
      expect(sameJson(JSON.parse(r.text!), jsParse(bytes).value)).toBe(true);
    } else {
      expect(r.error).toBe(want.error);
    }
  });

  test("every file also goes through parseJson(null limits) and parseJsonBytes with the same answer", () => {
    for (const f of files) {
      const bytes = read(f);
      const a = wasm.parse(bytes);
      for (const entry of ["default", "bytes"] as const) {
        const b = wasm.parse(bytes, { entry });
        expect({ f, entry, ok: b.ok, text: b.text, error: b.error, trap: b.trap }).toEqual({
          f, entry, ok: a.ok, text: a.text, error: a.error, trap: undefined,
        });
      }
    }
  });
});

describe("json-as trap regressions (design doc): rejected, no trap, exact reason and offset", () => {
  const cases: [string, string, number][] = [
    ['{"a":', "unexpected end of input", 5],
    ["[1,2", "unexpected end of input", 4],
    ["}", "unexpected character", 0],
    ["nul", "unexpected end of input", 3],
    ['"\\ud800"', "lone surrogate", 1],
    ['{"a":tru}', "invalid literal", 8],
    ["[1,]", "unexpected character", 3],
    ["{,}", "expected string key", 1],
    ["01", "invalid number", 1],
  ];
  test.each(cases)("%s → %s at %d", (text, error, offset) => {
    const r = wasm.parse(text);
    expect(r).toEqual({ ok: false, errorOffset: offset, error });
  });
});

describe("error reasons and offsets", () => {
  const cases: [string | Uint8Array, string, number][] = [
    ["", "unexpected end of input", 0],
    ["   ", "unexpected end of input", 3],
    ["[1] x", "trailing characters", 4],
    ["truex", "trailing characters", 4],
    ["[1 2]", "expected ',' or ']'", 3],
    ['{"a":1 "b":2}', "expected ',' or '}'", 7],
    ['{"a" 1}', "expected ':'", 5],
    ['{"a":1,}', "expected string key", 7],
    ["[-]", "invalid number", 2],
    ["[1.]", "invalid number", 3],
    ["[1e+]", "invalid number", 4],
    ["[.5]", "unexpected character", 1],
    ["[+1]", "unexpected character", 1],
    ["[NaN]", "unexpected character", 1],
    ["-Infinity", "invalid number", 1],
    ["[1e400]", "number out of range", 1],
    ["[-1e400]", "number out of range", 1],
    ['"a\tb"', "control character in string", 2],
    ['"\\a"', "invalid escape", 1],
    ['"\\u12G4"', "invalid unicode escape", 5],
    ['"\\udc00"', "lone surrogate", 1],
    ['"\\ud800\\u0041"', "lone surrogate", 1],
    ['"\\ud800', "unexpected end of input", 7],
    [new Uint8Array([0x22, 0xc0, 0xaf, 0x22]), "invalid UTF-8", 1],
    [new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), "invalid UTF-8", 1],
    [new Uint8Array([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), "invalid UTF-8", 1],
    [new Uint8Array([0x22, 0xe2, 0x82]), "unexpected end of input", 3],
    [new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), "unexpected character", 0],
    ["[[[[[1]]]]]", "nesting too deep", 4], // with maxDepth 4 below
  ];
  test.each(cases)("%s → %s at %d", (input, error, offset) => {
    const r = wasm.parse(input, { maxDepth: 4 });
    expect(r).toEqual({ ok: false, errorOffset: offset, error });
  });

  test("a successful parse clears the previous error", () => {
    expect(wasm.parse("[").ok).toBe(false);
    expect(wasm.parse("[]")).toEqual({ ok: true, text: "[]", errorOffset: -1, error: "" });
  });
});

describe("limits", () => {
  test("maxDepth counts containers: depth 4 accepted at maxDepth 4, 0 allows only scalars", () => {
    expect(wasm.parse("[[[{}]]]", { maxDepth: 4 }).ok).toBe(true);
    expect(wasm.parse('[[[{"a":[]}]]]', { maxDepth: 4 }).error).toBe("nesting too deep");
    expect(wasm.parse("1", { maxDepth: 0 }).ok).toBe(true);
    expect(wasm.parse("[]", { maxDepth: 0 }).error).toBe("nesting too deep");
    expect(wasm.parse("[]", { maxDepth: -5 }).error).toBe("nesting too deep");
  });

  test("default maxDepth is 64", () => {
    const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);
    expect(wasm.parse(deep(64), { entry: "default" }).ok).toBe(true);
    expect(wasm.parse(deep(65), { entry: "default" })).toMatchObject({ ok: false, error: "nesting too deep", errorOffset: 64 });
  });

  test("maxBytes: the default is 1 MiB, checked before reading", () => {
    const exact = '"' + "a".repeat((1 << 20) - 2) + '"';
    expect(wasm.parse(exact, { entry: "default", noSerialize: true }).ok).toBe(true);
    expect(wasm.parse(exact + " ", { entry: "default" })).toEqual({ ok: false, errorOffset: 0, error: "input too large" });
    expect(wasm.parse("[1]", { maxBytes: 2 }).error).toBe("input too large");
  });

  test("maxItems counts every value, containers included", () => {
    expect(wasm.parse("[1,2,3]", { maxItems: 4 }).ok).toBe(true);
    expect(wasm.parse("[1,2,3]", { maxItems: 3 })).toEqual({ ok: false, errorOffset: 5, error: "too many values" });
    expect(wasm.parse('{"a":{"b":1}}', { maxItems: 3 }).ok).toBe(true);
    expect(wasm.parse('{"a":{"b":1}}', { maxItems: 2 }).error).toBe("too many values");
    const many = "[" + Array(100000).fill("0").join(",") + "]";
    expect(wasm.parse(many, { entry: "default", noSerialize: true }).error).toBe("too many values");
    expect(wasm.parse(many, { maxItems: 100001, noSerialize: true }).ok).toBe(true);
  });

  test("a buffer that does not lie inside wasm memory is refused, not read", () => {
    const x = wasm.exports;
    const pages = x.memory.buffer.byteLength;
    expect(x.parseLimits(pages - 2, 4, 64, 1 << 20, 100000)).toBe(0);
    expect(x.errorOffset()).toBe(0);
    expect(x.parseLimits(0xfffffff0, 0x20, 64, 1 << 20, 100000)).toBe(0);
    expect(x.parseLimits(16, -1, 64, 1 << 20, 100000)).toBe(0);
  });
});

describe("JsonValue API", () => {
  test("get(): with duplicate names the last one wins; serialization keeps both in order", () => {
    const r = wasm.parse('{"a":1,"b":[true],"a":"last"}');
    expect(r.text).toBe('{"a":1,"b":[true],"a":"last"}');
    expect(wasm.has("a")).toBe(true);
    expect(wasm.has("c")).toBe(false);
    expect(wasm.select("a")).toBe(true);
    expect(wasm.serializeCurrent()).toBe('"last"');
    expect(wasm.select("a")).toBe(false); // a string has no members
  });

  test("get() matches names after unescaping, including NUL and astral characters", () => {
    wasm.parse('{"k\\u0000":1,"\\ud83d\\ude00":2,"é":3}');
    expect(wasm.select("\u{1F600}")).toBe(true);
    expect(wasm.serializeCurrent()).toBe("2");
    wasm.parse('{"k\\u0000":1}');
    expect(wasm.select("k\u0000")).toBe(true);
    wasm.parse('{"\\u00e9":3}');
    expect(wasm.select("é")).toBe(true);
  });

  test("kind, numValue and numIsInteger", () => {
    const x = wasm.exports;
    const expectNumber = (text: string, value: number, isInteger: boolean): void => {
      expect(wasm.parse(text).ok).toBe(true);
      expect([text, x.kind(), x.numberValue(), x.numberIsInteger() === 1]).toEqual([text, 2, value, isInteger]);
    };
    expectNumber("0", 0, true);
    expectNumber("-0", -0, true);
    expectNumber("1735689600", 1735689600, true);
    expectNumber("9007199254740991", 9007199254740991, true);
    expectNumber("-9007199254740992", -9007199254740992, true);
    expectNumber("9007199254740993", 9007199254740992, true);
    expectNumber("100000000000000000000", 1e20, true);
    expectNumber("1.0", 1, false);
    expectNumber("1e2", 100, false);
    const kinds: [string, number][] = [["null", 0], ["false", 1], ["true", 1], ["1", 2], ['""', 3], ["[]", 4], ["{}", 5]];
    for (const [text, k] of kinds) {
      wasm.parse(text);
      expect([text, x.kind()]).toEqual([text, k]);
    }
  });

  test("parseJsonString: UTF-16 in, same answers; a lone surrogate in the AS string is rejected", () => {
    expect(wasm.parseUtf16('{"a":"\u{1F600}é\\n"}').text).toBe('{"a":"\u{1F600}é\\n"}');
    expect(wasm.parseUtf16('"\ud800"')).toMatchObject({ ok: false, error: "invalid UTF-8" });
    expect(wasm.parseUtf16('"\udc00x"')).toMatchObject({ ok: false, error: "invalid UTF-8" });
    expect(wasm.parseUtf16("[1,]").error).toBe("unexpected character");
    // maxBytes is checked on the UTF-8 length before encoding: "é" is 2 bytes.
    expect(wasm.parseUtf16('"éé"', 6).ok).toBe(true);
    expect(wasm.parseUtf16('"éé"', 5)).toMatchObject({ ok: false, errorOffset: 0, error: "input too large" });
  });
});
