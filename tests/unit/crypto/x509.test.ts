// Minimal X.509 reading (assembly/crypto/x509.ts) and the standard base64 decoder (assembly/util/base64std.ts)
// through build/x509.wasm: openssl-made fixture certificates (tests/vectors/x509/), the keys checked against
// Node's X509Certificate and Node-made RS256/384/512 signatures, PEM framing, hand-built DER defects, and a
// 24,000-certificate mutation fuzz run that must never trap.
import { createPrivateKey, randomBytes, randomInt, sign as nodeSign, X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadLib, WasmLib } from "../../helpers/wasmlib";
import { loadCrypto, Crypto } from "../../../host/crypto/index";

const X509_DIR = path.join(__dirname, "..", "..", "vectors", "x509");
const readFixture = (name: string) => fs.readFileSync(path.join(X509_DIR, name), "utf8");

let lib: WasmLib;
let c: Crypto;

beforeAll(async () => {
  lib = loadLib("x509");
  c = await loadCrypto();
});

afterEach(() => {
  expect(lib.aborted).toEqual([]);
});

function keyBits(pem: string | Uint8Array): number {
  const [[p, l]] = lib.put(pem);
  return lib.exports.rsaKeyBitsFromPem(p, l) as number;
}

function modulus(pem: string): Buffer | null {
  const [[p, l], [out]] = lib.put(pem, new Uint8Array(1024));
  const n = lib.exports.rsaModulusFromPem(p, l, out) as number;
  return n === 0 ? null : Buffer.from(new Uint8Array(lib.memory.buffer, out, n));
}

function exponent(pem: string): number {
  const [[p, l]] = lib.put(pem);
  return lib.exports.rsaExponentFromPem(p, l) as number;
}

function verifyWithPem(pem: string, hash: number, data: Uint8Array, sig: Uint8Array): boolean {
  const [[p, l], [dp, dl], [sp, sl]] = lib.put(pem, data, sig);
  return lib.exports.verifyPkcs1WithPem(p, l, hash, dp, dl, sp, sl) === 1;
}

function b64Decode(text: string | Uint8Array): Buffer | null {
  const src = typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text);
  const room = lib.exports.b64MaxDecodedLength(src.length) as number;
  const [[p, l], [out]] = lib.put(src, new Uint8Array(Math.max(room, 1)));
  const n = lib.exports.b64Decode(p, l, out) as number;
  return n < 0 ? null : Buffer.from(new Uint8Array(lib.memory.buffer, out, n));
}

/** DER of a PEM certificate (Node's own reading). */
const derOf = (pem: string) => Buffer.from(new X509Certificate(pem).raw);

/** PEM text of DER bytes: 64-column base64 lines, LF breaks (as openssl and Google write them). */
function toPem(der: Uint8Array, eol = "\n", width = 64): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return `-----BEGIN CERTIFICATE-----${eol}${lines.join(eol)}${eol}-----END CERTIFICATE-----${eol}`;
}

// ---- a tiny DER walker/builder for targeted defects ----

interface Tlv {
  tag: number;
  /** Offset of the tag byte, of the contents, and the end, within the buffer walked. */
  start: number;
  content: number;
  end: number;
}

function readTlv(b: Buffer, at: number): Tlv {
  const tag = b[at];
  let len = b[at + 1];
  let content = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[content + i];
    content += n;
  }
  return { tag, start: at, content, end: content + len };
}

function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.content; p < t.end;) {
    const child = readTlv(b, p);
    out.push(child);
    p = child.end;
  }
  return out;
}

function encLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), encLen(content.length), content]);
const raw = (b: Buffer, t: Tlv) => b.subarray(t.start, t.end);
const contentOf = (b: Buffer, t: Tlv) => b.subarray(t.content, t.end);

/** A certificate taken apart down to the RSA modulus and exponent, and put back together with edits. */
interface CertParts {
  tbsFields: Buffer[]; // every TBSCertificate field, raw, SPKI excluded (spkiIndex marks where it goes)
  spkiIndex: number;
  algId: Buffer; // SPKI AlgorithmIdentifier contents
  n: Buffer; // INTEGER contents
  e: Buffer;
  sigAlg: Buffer;
  sigValue: Buffer;
}

function takeApart(der: Buffer): CertParts {
  const cert = readTlv(der, 0);
  const [tbs, sigAlg, sigValue] = children(der, cert);
  const fields = children(der, tbs);
  const spkiIndex = fields.findIndex((f, i) => f.tag === 0x30 && i >= 5 && children(der, f)[0].tag === 0x30);
  const spki = fields[spkiIndex];
  const [alg, bits] = children(der, spki);
  const rsaDer = der.subarray(bits.content + 1, bits.end);
  const rsa = readTlv(rsaDer, 0);
  const [n, e] = children(rsaDer, rsa);
  return {
    tbsFields: fields.filter((_, i) => i !== spkiIndex).map((f) => raw(der, f)),
    spkiIndex,
    algId: contentOf(der, alg),
    n: contentOf(rsaDer, n),
    e: contentOf(rsaDer, e),
    sigAlg: raw(der, sigAlg),
    sigValue: raw(der, sigValue),
  };
}

interface Edits {
  rsaKey?: (n: Buffer, e: Buffer) => Buffer; // RSAPublicKey contents
  rsaKeyTag?: number;
  bitStringPrefix?: Buffer; // instead of the 00 unused-bits byte
  spkiTail?: Buffer; // appended inside SPKI
  algId?: Buffer;
  tbsTail?: Buffer;
  certTail?: Buffer;
  outerTail?: Buffer;
  dropSigValue?: boolean;
}

function build(p: CertParts, d: Edits = {}): Buffer {
  const rsaContent = d.rsaKey ? d.rsaKey(p.n, p.e) : Buffer.concat([tlv(0x02, p.n), tlv(0x02, p.e)]);
  const rsaKey = tlv(d.rsaKeyTag ?? 0x30, rsaContent);
  const bitString = tlv(0x03, Buffer.concat([d.bitStringPrefix ?? Buffer.from([0]), rsaKey]));
  const spki = tlv(0x30, Buffer.concat([tlv(0x30, d.algId ?? p.algId), bitString, d.spkiTail ?? Buffer.alloc(0)]));
  const fields = [...p.tbsFields];
  fields.splice(p.spkiIndex, 0, spki);
  const tbs = tlv(0x30, Buffer.concat([...fields, d.tbsTail ?? Buffer.alloc(0)]));
  const certContent = Buffer.concat([tbs, p.sigAlg, d.dropSigValue ? Buffer.alloc(0) : p.sigValue, d.certTail ?? Buffer.alloc(0)]);
  return Buffer.concat([tlv(0x30, certContent), d.outerTail ?? Buffer.alloc(0)]);
}

const RSA_CERTS: Array<[string, string | null, number, number]> = [
  ["rsa2048.cert.pem", "rsa2048.key.pem", 2048, 65537],
  ["rsa3072.cert.pem", "rsa3072.key.pem", 3072, 65537],
  ["rsa4096.cert.pem", "rsa4096.key.pem", 4096, 65537],
  ["rsa2048-e3.cert.pem", "rsa2048-e3.key.pem", 2048, 3],
  ["rsa2048-v1.cert.pem", "rsa2048.key.pem", 2048, 65537],
];

describe("fixture certificates (tests/vectors/x509, made with the openssl CLI)", () => {
  test.each(RSA_CERTS)("%s: the key is Node's key and verifies Node's RS256/384/512 signatures", (certFile, keyFile, bits, e) => {
    const pem = readFixture(certFile);
    const x509 = new X509Certificate(pem);
    const jwk = x509.publicKey.export({ format: "jwk" });
    expect(keyBits(pem)).toBe(bits);
    expect(exponent(pem)).toBe(e);
    expect(modulus(pem)!.toString("base64url")).toBe(jwk.n);
    const priv = createPrivateKey(readFixture(keyFile!));
    const data = Buffer.from("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ");
    for (const [hash, name, alg] of [[0, "sha256", "RS256"], [1, "sha384", "RS384"], [2, "sha512", "RS512"]] as const) {
      const sig = nodeSign(name, data, priv);
      expect(verifyWithPem(pem, hash, data, sig)).toBe(true);
      const bad = Buffer.from(sig);
      bad[randomInt(bad.length)] ^= 1 << randomInt(8);
      expect(verifyWithPem(pem, hash, data, bad)).toBe(false);
      expect(verifyWithPem(pem, (hash + 1) % 3, data, sig)).toBe(false);
      // The extracted (n, e) also works as a JWK through loadCrypto.
      expect(c.verify(alg, { kty: "RSA", n: modulus(pem)!.toString("base64url"), e: jwk.e }, data, sig)).toBe(true);
    }
  });

  test("EC P-256, Ed25519 and RSASSA-PSS (id-RSASSA-PSS SPKI) certificates give null", () => {
    for (const f of ["ec-p256.cert.pem", "ed25519.cert.pem", "rsapss2048.cert.pem"]) {
      const pem = readFixture(f);
      expect(new X509Certificate(pem).publicKey.asymmetricKeyType).not.toBe("rsa");
      expect(keyBits(pem)).toBe(0);
      expect(modulus(pem)).toBeNull();
    }
  });

  test("a 1024-bit RSA certificate parses but its key is refused (RFC 7518 §3.3: 2048 bits or more)", () => {
    const pem = readFixture("rsa1024.cert.pem");
    expect(new X509Certificate(pem).publicKey.asymmetricKeyDetails!.modulusLength).toBe(1024);
    expect(takeApart(derOf(pem)).n.length).toBe(129);
    expect(keyBits(pem)).toBe(0);
  });
});

describe("PEM framing", () => {
  const pem = readFixture("rsa2048.cert.pem");
  const der = derOf(pem);

  test("accepted forms: LF, CRLF, Google's JSON map value, no final newline, surrounding whitespace, other widths, no padding", () => {
    expect(keyBits(pem)).toBe(2048);
    expect(keyBits(pem.replace(/\n/g, "\r\n"))).toBe(2048);
    // Google's https://www.googleapis.com/oauth2/v1/certs: {"kid": "-----BEGIN CERTIFICATE-----\nMIID...\n-----END CERTIFICATE-----\n"}
    const googleMap = JSON.parse(JSON.stringify({ "0123abcd": toPem(der) }));
    expect(keyBits(googleMap["0123abcd"])).toBe(2048);
    expect(keyBits(pem.trimEnd())).toBe(2048);
    expect(keyBits(`\n \t\r\n${pem}\n\n  `)).toBe(2048);
    expect(keyBits(toPem(der, "\n", 76))).toBe(2048);
    expect(keyBits(toPem(der, "\r\n", 4))).toBe(2048);
    expect(keyBits(toPem(der, "\n", 100000))).toBe(2048); // one body line
    const body = der.toString("base64");
    expect(keyBits(`-----BEGIN CERTIFICATE-----${body}-----END CERTIFICATE-----`)).toBe(2048);
    expect(keyBits(`-----BEGIN CERTIFICATE-----\n${body.replace(/=+$/, "")}\n-----END CERTIFICATE-----\n`)).toBe(2048);
  });

  test("rejected forms", () => {
    const body = der.toString("base64");
    const wrap = (b: string) => `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`;
    const mid = 100;
    const cases: Array<[string, string]> = [
      ["empty", ""],
      ["whitespace only", " \n\r\n"],
      ["markers only", wrap("")],
      ["public key block", pem.replace(/CERTIFICATE/g, "PUBLIC KEY")],
      ["lower-case marker", pem.replace("BEGIN CERTIFICATE", "begin CERTIFICATE")],
      ["missing END", pem.replace("-----END CERTIFICATE-----", "")],
      ["missing BEGIN", pem.replace("-----BEGIN CERTIFICATE-----", "")],
      ["text before BEGIN", "x" + pem],
      ["text after END", pem + "x"],
      ["two certificates", pem + pem],
      ["space in body", wrap(body.slice(0, mid) + " " + body.slice(mid))],
      ["tab in body", wrap(body.slice(0, mid) + "\t" + body.slice(mid))],
      ["base64url symbol -", wrap(body.slice(0, mid) + "-" + body.slice(mid + 1))],
      ["base64url symbol _", wrap(body.slice(0, mid) + "_" + body.slice(mid + 1))],
      ["non-ASCII", wrap(body.slice(0, mid) + "é" + body.slice(mid + 1))],
      ["NUL", wrap(body.slice(0, mid) + "\0" + body.slice(mid + 1))],
      ["padding in the middle", wrap(body.slice(0, 8) + "=" + body.slice(8))],
      ["one symbol too many", wrap(body.replace(/=+$/, "") + "A")],
      ["one symbol too few", wrap(body.slice(0, -5) + body.slice(-4))],
      ["three pads", wrap(body.replace(/=*$/, "") + "===")],
      ["a header line", pem.replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n")],
      ["DER trailing byte", toPem(Buffer.concat([der, Buffer.from([0])]))],
      ["DER truncated", toPem(der.subarray(0, der.length - 1))],
    ];
    for (const [name, text] of cases) {
      if (keyBits(text) !== 0) throw new Error(`accepted: ${name}`);
    }
  });
});

describe("standard base64 decoder (assembly/util/base64std.ts)", () => {
  test("random data, with and without padding and line breaks, decodes as Node does", () => {
    for (let i = 0; i < 2000; i++) {
      const data = randomBytes(randomInt(0, 300));
      let text = data.toString("base64");
      if (i % 3 === 1) text = text.replace(/=+$/, "");
      if (i % 2 === 0) text = text.replace(/(.{1,17})/g, (m) => m + (randomInt(2) ? "\n" : "\r\n"));
      const got = b64Decode(text);
      if (!got || !got.equals(data)) throw new Error(`case ${i}: ${JSON.stringify(text)}`);
    }
  });

  test("invalid input is rejected", () => {
    for (const bad of ["A", "AAAAA", "A===", "AA=A", "AAA==", "AA==A", "AA==AA==", "AB==", "AAB=", "A B=", "QQ==\t", "Zm9v-", "Zm9v_", "Zm9v\u00ff"]) {
      if (b64Decode(bad) !== null) throw new Error(`accepted: ${JSON.stringify(bad)}`);
    }
    expect(b64Decode("")).toEqual(Buffer.alloc(0));
    expect(b64Decode("\r\n")).toEqual(Buffer.alloc(0));
    expect(b64Decode("+/+/")).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
  });
});

describe("hand-built DER defects (rsa2048 certificate taken apart and re-encoded)", () => {
  const der = derOf(readFixture("rsa2048.cert.pem"));
  const parts = takeApart(der);
  const int = (b: Buffer) => tlv(0x02, b);

  test("the rebuilt certificate is byte-identical and accepted", () => {
    expect(build(parts).equals(der)).toBe(true);
    expect(parts.algId.equals(Buffer.from("06092a864886f70d0101010500", "hex"))).toBe(true);
    expect(keyBits(toPem(build(parts)))).toBe(2048);
    // RFC 3279 says the parameters are NULL; an absent parameter is tolerated.
    expect(keyBits(toPem(build(parts, { algId: Buffer.from("06092a864886f70d010101", "hex") })))).toBe(2048);
  });

  test("each defect is rejected", () => {
    const nNoZero = parts.n.subarray(1); // top bit set: a negative INTEGER
    expect(parts.n[0]).toBe(0);
    const cases: Array<[string, Buffer]> = [
      ["trailing byte after the certificate", build(parts, { outerTail: Buffer.from([0]) })],
      ["element after signatureValue", build(parts, { certTail: tlv(0x05, Buffer.alloc(0)) })],
      ["signatureValue missing", build(parts, { dropSigValue: true })],
      ["unknown element at the end of TBSCertificate", build(parts, { tbsTail: tlv(0x04, Buffer.from([1])) })],
      ["extensions twice", build(parts, { tbsTail: tlv(0xa3, Buffer.alloc(0)) })],
      ["element after the SPKI BIT STRING", build(parts, { spkiTail: tlv(0x05, Buffer.alloc(0)) })],
      ["BIT STRING with unused bits", build(parts, { bitStringPrefix: Buffer.from([1]) })],
      ["BIT STRING without the unused-bits byte", build(parts, { bitStringPrefix: Buffer.alloc(0) })],
      ["RSAPublicKey not a SEQUENCE", build(parts, { rsaKeyTag: 0x31 })],
      ["RSAPublicKey with a third INTEGER", build(parts, { rsaKey: (n, e) => Buffer.concat([int(n), int(e), int(e)]) })],
      ["RSAPublicKey without e", build(parts, { rsaKey: (n) => int(n) })],
      ["n and e swapped", build(parts, { rsaKey: (n, e) => Buffer.concat([int(e), int(n)]) })],
      ["negative modulus", build(parts, { rsaKey: (_, e) => Buffer.concat([int(nNoZero), int(e)]) })],
      ["modulus with a redundant zero byte", build(parts, { rsaKey: (n, e) => Buffer.concat([int(Buffer.concat([Buffer.alloc(1), n])), int(e)]) })],
      ["exponent with a redundant zero byte", build(parts, { rsaKey: (n, e) => Buffer.concat([int(n), int(Buffer.concat([Buffer.alloc(1), e]))]) })],
      ["empty exponent", build(parts, { rsaKey: (n) => Buffer.concat([int(n), int(Buffer.alloc(0))]) })],
      ["exponent 5", build(parts, { rsaKey: (n) => Buffer.concat([int(n), int(Buffer.from([5]))]) })],
      ["exponent as OCTET STRING", build(parts, { rsaKey: (n, e) => Buffer.concat([int(n), tlv(0x04, e)]) })],
      ["even modulus", build(parts, { rsaKey: (n, e) => Buffer.concat([int(Buffer.concat([n.subarray(0, -1), Buffer.from([n[n.length - 1] & 0xfe])])), int(e)]) })],
      ["OID sha256WithRSAEncryption", build(parts, { algId: Buffer.from("06092a864886f70d01010b0500", "hex") })],
      ["OID one byte short", build(parts, { algId: Buffer.from("06082a864886f70d01010500", "hex") })],
      ["parameters not NULL", build(parts, { algId: Buffer.from("06092a864886f70d0101010400", "hex") })],
      ["NULL with contents", build(parts, { algId: Buffer.from("06092a864886f70d010101050100", "hex") })],
      ["two NULLs", build(parts, { algId: Buffer.from("06092a864886f70d01010105000500", "hex") })],
    ];
    for (const [name, d] of cases) {
      if (keyBits(toPem(d)) !== 0) throw new Error(`accepted: ${name}`);
    }
  });

  test("length encodings: indefinite, non-minimal, 5 length bytes, length past the end", () => {
    const cert = readTlv(der, 0);
    const body = der.subarray(cert.content);
    const withHeader = (h: number[]) => Buffer.concat([Buffer.from([0x30, ...h]), body]);
    const n = body.length;
    expect(keyBits(toPem(withHeader([0x82, n >> 8, n & 0xff])))).toBe(2048);
    const cases: Array<[string, Buffer]> = [
      ["indefinite length", Buffer.concat([withHeader([0x80]), Buffer.from([0, 0])])],
      ["3 length bytes, leading zero", withHeader([0x83, 0, n >> 8, n & 0xff])],
      ["4 length bytes, leading zeros", withHeader([0x84, 0, 0, n >> 8, n & 0xff])],
      ["5 length bytes", withHeader([0x85, 0, 0, 0, n >> 8, n & 0xff])],
      ["length 2^32 - 1", withHeader([0x84, 0xff, 0xff, 0xff, 0xff])],
      ["length one too long", withHeader([0x82, (n + 1) >> 8, (n + 1) & 0xff])],
      ["length one too short", withHeader([0x82, (n - 1) >> 8, (n - 1) & 0xff])],
      ["high tag number form", Buffer.concat([Buffer.from([0x3f, 0x10]), encLen(n), body])],
    ];
    for (const [name, d] of cases) {
      if (keyBits(toPem(d)) !== 0) throw new Error(`accepted: ${name}`);
    }
    // Short-form length written in long form (0x81 0x05) inside the RSAPublicKey: e's header.
    const p = takeApart(der);
    const longFormE = build(p, { rsaKey: (nn, e) => Buffer.concat([int(nn), Buffer.from([0x02, 0x81, e.length]), e]) });
    expect(keyBits(toPem(longFormE))).toBe(0);
  });
});

describe("no trap on mutated certificates", () => {
  /** Offsets of every TLV header in the DER (walking constructed elements and the SPKI BIT STRING). */
  function headers(der: Buffer): number[] {
    const out: number[] = [];
    const walk = (b: Buffer, base: number, t: Tlv) => {
      out.push(base + t.start);
      if (t.tag & 0x20) for (const ch of children(b, t)) walk(b, base, ch);
      else if (t.tag === 0x03 && b[t.content] === 0 && b[t.content + 1] === 0x30) {
        // The SPKI BIT STRING wraps RSAPublicKey; a signature value almost never parses as one SEQUENCE.
        const inner = b.subarray(t.content + 1, t.end);
        const seq = readTlv(inner, 0);
        if (seq.end === inner.length) walk(inner, base + t.content + 1, seq);
      }
    };
    walk(der, 0, readTlv(der, 0));
    return out;
  }

  test("24,000 mutations (bit flips, truncations, length bytes, huge nested lengths, PEM text): never a trap", () => {
    const seeds = ["rsa2048.cert.pem", "rsa3072.cert.pem", "rsa4096.cert.pem", "rsa2048-v1.cert.pem", "ec-p256.cert.pem", "rsa1024.cert.pem"]
      .map((f) => {
        const pem = readFixture(f);
        const der = derOf(pem);
        return { pem, der, headers: headers(der) };
      });
    expect(seeds[0].headers.length).toBeGreaterThan(20);
    // A mutation may leave a different but well-formed key (a flipped bit in n's leading zero byte makes
    // a 2053-bit modulus): any answer is 0 or a size importRsaPublicKey allows.
    const allowed = (bits: number) => bits === 0 || (bits >= 2048 && bits <= 8192);
    const outcome = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 24000; i++) {
      const s = seeds[i % seeds.length];
      let d = Buffer.from(s.der);
      let text: string | null = null;
      switch (i % 8) {
        case 0: // bit flips
          for (let j = 1 + randomInt(4); j > 0; j--) d[randomInt(d.length)] ^= 1 << randomInt(8);
          break;
        case 1: // truncation
          d = d.subarray(0, randomInt(d.length));
          break;
        case 2: { // a length byte replaced
          const h = s.headers[randomInt(s.headers.length)];
          d[h + 1] = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xff][randomInt(10)];
          break;
        }
        case 3: { // a long-form length with huge or random bytes, nested anywhere
          const h = s.headers[randomInt(s.headers.length)];
          const huge = [[0x84, 0xff, 0xff, 0xff, 0xff], [0x84, 0x7f, 0xff, 0xff, 0xff], [0x84, 0x80, 0, 0, 0],
            [0x83, 0xff, 0xff, 0xff], [0x82, 0xff, 0xff], [0x81, 0xff], [0x84, ...randomBytes(4)]][randomInt(7)];
          const t = readTlv(s.der, h);
          d = Buffer.concat([s.der.subarray(0, h + 1), Buffer.from(huge), s.der.subarray(t.content)]);
          break;
        }
        case 4: { // length off by a small amount
          const h = s.headers[randomInt(s.headers.length)];
          const t = readTlv(s.der, h);
          const len = Math.max(0, t.end - t.content + randomInt(-3, 4));
          d = Buffer.concat([s.der.subarray(0, h + 1), encLen(len), s.der.subarray(t.content)]);
          break;
        }
        case 5: { // a tag byte replaced
          const h = s.headers[randomInt(s.headers.length)];
          d[h] = [0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x1f, 0x30, 0x31, 0xa0, 0xa3, 0xff][randomInt(12)];
          break;
        }
        case 6: { // a random chunk inserted or deleted
          const at = randomInt(d.length);
          d = randomInt(2)
            ? Buffer.concat([d.subarray(0, at), randomBytes(1 + randomInt(8)), d.subarray(at)])
            : Buffer.concat([d.subarray(0, at), d.subarray(Math.min(d.length, at + 1 + randomInt(8)))]);
          break;
        }
        default: { // the PEM text itself
          const chars = s.pem.split("");
          for (let j = 1 + randomInt(3); j > 0; j--) {
            const at = randomInt(chars.length);
            const r = randomInt(3);
            if (r === 0) chars.splice(at, 1);
            else if (r === 1) chars.splice(at, 0, String.fromCharCode(randomInt(0, 128)));
            else chars[at] = "ABCxyz019+/=\r\n -é"[randomInt(17)];
          }
          text = chars.join("");
        }
      }
      let bits: number;
      try {
        bits = keyBits(text ?? toPem(d, i % 2 ? "\n" : "\r\n"));
      } catch (e) {
        throw new Error(`case ${i}: trapped: ${(e as Error).message}`);
      }
      if (!allowed(bits)) throw new Error(`case ${i}: unexpected ${bits}`);
      outcome[bits ? "accepted" : "rejected"]++;
    }
    expect(lib.aborted).toEqual([]);
    // Both outcomes occur (mutations inside names, dates or the signature leave the key readable).
    expect(outcome.accepted).toBeGreaterThan(500);
    expect(outcome.rejected).toBeGreaterThan(10000);
    expect(keyBits(seeds[0].pem)).toBe(2048);
  });
});
