// Strict base64url decoder (assembly/util/base64url.ts) through build/crypto.wasm, against Node's Buffer.
import { randomBytes } from "crypto";
import { loadCryptoWasmForTests, CryptoWasmForTests } from "../../../host/crypto/index";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

let raw: CryptoWasmForTests;

beforeAll(async () => {
  raw = (await loadCryptoWasmForTests()).raw;
});

function decodeBytes(s: string): Uint8Array | null {
  return raw.b64uDecode(Buffer.from(s, "latin1"));
}

/** Canonical iff re-encoding the Node decode gives the same text (Node itself is lenient). */
function isCanonical(s: string): boolean {
  if (s.length % 4 === 1) return false;
  for (const ch of s) if (!ALPHABET.includes(ch)) return false;
  return Buffer.from(s, "base64url").toString("base64url") === s;
}

describe("base64url decode: valid input", () => {
  test("random data of every length 0..200 round-trips (bytes and string entry points)", () => {
    for (let len = 0; len <= 200; len++) {
      for (let rep = 0; rep < 5; rep++) {
        const data = randomBytes(len);
        const text = data.toString("base64url");
        expect(raw.b64uDecodedLength(text.length)).toBe(len);
        expect(Buffer.from(decodeBytes(text)!)).toEqual(data);
        expect(Buffer.from(raw.b64uDecodeString(text)!)).toEqual(data);
      }
    }
  });

  test("empty input decodes to zero bytes", () => {
    expect(decodeBytes("")).toEqual(new Uint8Array(0));
    expect(raw.b64uDecodeString("")).toEqual(new Uint8Array(0));
  });

  test("every alphabet symbol in every position of a 4-char group", () => {
    for (let pos = 0; pos < 4; pos++) {
      for (const ch of ALPHABET) {
        const s = "AAAA".slice(0, pos) + ch + "AAAA".slice(pos + 1);
        expect(Buffer.from(decodeBytes(s)!)).toEqual(Buffer.from(s, "base64url"));
      }
    }
  });

  test("decoded length is exact for valid lengths and never negative", () => {
    for (let n = 0; n < 100; n++) {
      const expected = n % 4 === 1 ? Math.floor(n / 4) * 3 : Math.floor((n * 3) / 4);
      expect(raw.b64uDecodedLength(n)).toBe(expected);
    }
    expect(raw.b64uDecodedLength(-1)).toBe(0);
    expect(raw.b64uDecodedLength(-2147483648)).toBe(0);
    expect(raw.b64uDecodedLength(2147483647)).toBeGreaterThan(0);
  });
});

describe("base64url decode: rejects", () => {
  const rejects = (s: string) => {
    expect(decodeBytes(s)).toBeNull();
    expect(raw.b64uDecodeString(s)).toBeNull();
  };

  test("padding", () => {
    for (const s of ["QQ==", "QUI=", "QQ=", "QQ=A", "=", "====", "QUJD====", "QUJDRA=="]) rejects(s);
  });

  test("standard-alphabet + and /", () => {
    for (const s of ["+A", "A+AA", "/A", "AA/A", "++++", "////", "Zm9v+/8"]) rejects(s);
  });

  test("whitespace anywhere", () => {
    for (const s of [" QUJD", "QUJD ", "QU JD", "QUJD\n", "\tQUJD", "QUJD\r\n", "QU\u000bJD", "QU\fJD"]) rejects(s);
  });

  test("length % 4 == 1", () => {
    for (const s of ["A", "QUJDR", "QUJDRUZHS", "AAAAAAAAAAAAA"]) rejects(s);
    for (let n = 1; n < 200; n += 4) rejects("A".repeat(n));
  });

  test("non-canonical trailing bits: all 2- and 3-char tails against the canonical rule", () => {
    let rejected = 0;
    for (const a of ALPHABET) {
      for (const b of ALPHABET) {
        const s = "QUJD" + a + b;
        const got = decodeBytes(s);
        if (isCanonical(s)) {
          expect(Buffer.from(got!)).toEqual(Buffer.from(s, "base64url"));
        } else {
          expect(got).toBeNull();
          rejected++;
        }
      }
    }
    expect(rejected).toBe(64 * 64 - 64 * 4); // only 4 of 64 second symbols have zero low bits
    for (const s of ["QR", "QUJ", "QUK", "AB", "AAB", "QUJDRB", "QUJDRUZ"]) rejects(s);
    for (let i = 0; i < 20000; i++) {
      const s = "A" + ALPHABET[(i * 7) % 64] + ALPHABET[i % 64] + ALPHABET[(i >> 6) % 64] + ALPHABET[(i * 13) % 64]
        + ALPHABET[(i * 31) % 64] + ALPHABET[(i >> 3) % 64];
      const t = s.slice(0, 3 + (i % 4)); // lengths 3..6
      const got = decodeBytes(t);
      if (isCanonical(t)) expect(Buffer.from(got!)).toEqual(Buffer.from(t, "base64url"));
      else expect(got).toBeNull();
    }
  });

  test("every byte value outside the alphabet, in every position of a group", () => {
    for (let c = 0; c < 256; c++) {
      const inAlphabet = ALPHABET.includes(String.fromCharCode(c));
      for (let pos = 0; pos < 4; pos++) {
        const bytes = Buffer.from("QUJDQUJD", "latin1");
        bytes[4 + pos] = c;
        const got = raw.b64uDecode(bytes);
        if (inAlphabet) expect(got).not.toBeNull();
        else expect(got).toBeNull();
      }
    }
  });

  test("non-ASCII in the string entry point (no truncation to ASCII)", () => {
    // U+0141 and U+0241 would become 'A' if truncated to one byte; U+FF21 is fullwidth 'A'.
    for (const ch of ["\u0141", "\u0241", "\uFF21", "\u00C1", "\u0080", "\u00FF", "\uD83D", "\uDE00", "\u2028"]) {
      expect(raw.b64uDecodeString("QUJD" + ch + "AAA")).toBeNull();
      expect(raw.b64uDecodeString(ch + "QUJ")).toBeNull();
      // UTF-8 bytes of the same text through the byte decoder are rejected too.
      expect(raw.b64uDecode(Buffer.from("QUJD" + ch + "AA", "utf8"))).toBeNull();
    }
    expect(raw.b64uDecodeString("QUJD\u{1F600}AA")).toBeNull();
  });

  test("random bytes: accepted exactly when Node agrees the text is canonical base64url", () => {
    for (let i = 0; i < 5000; i++) {
      const len = i % 40;
      const bytes = randomBytes(len);
      // Bias towards alphabet bytes so that some inputs are valid.
      for (let j = 0; j < len; j++) if (bytes[j] & 1) bytes[j] = ALPHABET.charCodeAt(bytes[j] % 64);
      const text = bytes.toString("latin1");
      const got = raw.b64uDecode(bytes);
      if (isCanonical(text)) expect(Buffer.from(got!)).toEqual(Buffer.from(text, "base64url"));
      else expect(got).toBeNull();
    }
  });
});
