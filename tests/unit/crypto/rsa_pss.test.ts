// PS256/PS384/PS512 (assembly/crypto/rsa.ts verifyRsaPss) through the public loadCrypto() API: Wycheproof
// vectors, a cross-check against Node on 2,000+ random key/alg/message cases (2048/3072/4096-bit keys),
// moduli whose bit length is not a multiple of 8, hand-built EMSA-PSS blocks with one defect each (signed
// with the raw RSA private operation), other salt lengths, and a 20,000-input no-trap fuzz run.
import {
  constants, createHash, createPrivateKey, createPublicKey, generateKeyPair, generatePrime, privateEncrypt,
  randomBytes, randomInt, sign as nodeSign, KeyObject, JsonWebKey,
} from "crypto";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { loadCrypto, Crypto, Key } from "../../../host/crypto/index";

const VECTORS = path.join(__dirname, "..", "..", "vectors");
const readJson = (p: string) => JSON.parse(fs.readFileSync(path.join(VECTORS, p), "utf8"));
const unhex = (h: string) => Buffer.from(h, "hex");
const generate = promisify(generateKeyPair);
const prime = (bits: number) => new Promise<bigint>((resolve, reject) => {
  generatePrime(bits, { bigint: true }, (err, p) => (err ? reject(err) : resolve(p as bigint)));
});

const PS_ALGS = ["PS256", "PS384", "PS512"] as const;
type PsAlg = (typeof PS_ALGS)[number];
const HASH_OF: Record<PsAlg, string> = { PS256: "sha256", PS384: "sha384", PS512: "sha512" };
const HLEN_OF: Record<PsAlg, number> = { PS256: 32, PS384: 48, PS512: 64 };

let c: Crypto;

beforeAll(async () => {
  c = await loadCrypto();
});

function flipBit(b: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(b);
  out[bit >> 3] ^= 0x80 >> (bit & 7);
  return out;
}

/** RSASSA-PSS signature by Node with the given salt length (RFC 7518 §3.5 uses sLen = hLen). */
function pssSign(alg: PsAlg, msg: Uint8Array, privateKey: KeyObject, saltLength = HLEN_OF[alg]): Buffer {
  return nodeSign(HASH_OF[alg], msg, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
}

interface TestKey {
  bits: number;
  jwk: JsonWebKey;
  privateKey: KeyObject;
  key: Key;
}

async function makeKeys(sizes: number[]): Promise<TestKey[]> {
  const pairs = await Promise.all(sizes.map((bits) => generate("rsa", { modulusLength: bits, publicExponent: 65537 })));
  return pairs.map(({ publicKey, privateKey }, i) => {
    const jwk = publicKey.export({ format: "jwk" });
    expect(publicKey.asymmetricKeyDetails!.modulusLength).toBe(sizes[i]);
    return { bits: sizes[i], jwk, privateKey, key: c.importKey(jwk) };
  });
}

const bitLength = (x: bigint) => x.toString(2).length;
const toB64u = (x: bigint) => {
  const h = x.toString(16);
  return Buffer.from(h.length % 2 ? "0" + h : h, "hex").toString("base64url");
};
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error("not invertible");
  return ((s0 % m) + m) % m;
}

/**
 * An RSA key whose modulus has exactly `bits` bits, odd sizes included (OpenSSL's key generation rounds
 * them down to even): two primes from Node, the private key assembled as a JWK.
 */
async function makeExactKey(bits: number): Promise<TestKey> {
  const e = 65537n;
  for (;;) {
    const [p, q] = await Promise.all([prime((bits + 1) >> 1), prime(bits >> 1)]);
    const n = p * q;
    const phi = (p - 1n) * (q - 1n);
    if (p === q || bitLength(n) !== bits || phi % e === 0n) continue;
    const d = modInverse(e, phi);
    const priv = {
      kty: "RSA", n: toB64u(n), e: toB64u(e), d: toB64u(d), p: toB64u(p), q: toB64u(q),
      dp: toB64u(d % (p - 1n)), dq: toB64u(d % (q - 1n)), qi: toB64u(modInverse(q, p)),
    };
    const privateKey = createPrivateKey({ key: priv, format: "jwk" });
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    expect(createPublicKey(privateKey).asymmetricKeyDetails!.modulusLength).toBe(bits);
    return { bits, jwk, privateKey, key: c.importKey(jwk) };
  }
}

// ---- EMSA-PSS-ENCODE (RFC 8017 §9.1.1) in JS, with knobs to build one defect at a time ----

function mgf1(hash: string, seed: Buffer, len: number): Buffer {
  const parts: Buffer[] = [];
  let have = 0;
  for (let counter = 0; have < len; counter++) {
    const cnt = Buffer.alloc(4);
    cnt.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(cnt).digest();
    parts.push(block);
    have += block.length;
  }
  return Buffer.concat(parts).subarray(0, len);
}

interface PssDefects {
  trailer?: number; // instead of 0xbc
  setTopBit?: boolean; // set one of the 8*emLen - emBits leftmost bits that must be zero
  psByte?: number; // a nonzero byte inside PS
  separator?: number; // instead of 0x01
  saltLength?: number; // instead of hLen
  mgfHash?: string; // instead of the signature hash
  wrongH?: boolean; // H of something else
  emLenPlusOne?: boolean; // encode for emBits = modBits (one bit too many)
}

/** The k-byte integer (big-endian) to sign raw: EM for emBits = modBits - 1, left-padded with zeros. */
function encodePss(alg: PsAlg, msg: Uint8Array, modBits: number, d: PssDefects = {}): Buffer {
  const hash = HASH_OF[alg];
  const hLen = HLEN_OF[alg];
  const sLen = d.saltLength ?? hLen;
  const k = (modBits + 7) >> 3;
  const emBits = d.emLenPlusOne ? modBits : modBits - 1;
  const emLen = (emBits + 7) >> 3;
  const mHash = createHash(hash).update(msg).digest();
  const salt = randomBytes(sLen);
  const mPrime = Buffer.concat([Buffer.alloc(8), mHash, salt]);
  const H = d.wrongH ? createHash(hash).update(Buffer.concat([mPrime, Buffer.from([1])])).digest() : createHash(hash).update(mPrime).digest();
  const psLen = emLen - sLen - hLen - 2;
  const db = Buffer.concat([Buffer.alloc(psLen), Buffer.from([d.separator ?? 0x01]), salt]);
  // Not DB[0]: its leftmost 8*emLen - emBits bits are cleared by the encoding itself (step 11 of
  // EMSA-PSS-ENCODE), so a 0x80 there would not survive into the block (e.g. 3072-bit keys).
  if (d.psByte !== undefined && psLen > 1) db[1 + randomInt(psLen - 1)] = d.psByte;
  const mask = mgf1(d.mgfHash ?? hash, H, db.length);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  const topBits = 8 * emLen - emBits;
  db[0] &= 0xff >> topBits;
  if (d.setTopBit && topBits > 0) db[0] |= 1 << (8 - topBits); // the lowest of the bits that must be zero
  const em = Buffer.concat([db, H, Buffer.from([d.trailer ?? 0xbc])]);
  return Buffer.concat([Buffer.alloc(k - emLen), em]);
}

/** The raw RSA private operation x^d mod n (x must be k bytes and below n). */
function rawSign(privateKey: KeyObject, x: Buffer): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, x);
}

/**
 * A block from encodePss signed raw. Blocks with a defect in the top bits can be >= n, which no
 * signature reaches: the salt is redrawn until the block is below n.
 */
function signBlock(k: TestKey, alg: PsAlg, msg: Uint8Array, d: PssDefects = {}): Buffer {
  const n = Buffer.from(k.jwk.n as string, "base64url");
  for (let i = 0; i < 5000; i++) {
    const x = encodePss(alg, msg, k.bits, d);
    if (Buffer.compare(x, n) < 0) return rawSign(k.privateKey, x);
  }
  throw new Error(`no block below n for ${JSON.stringify(d)}`);
}

describe("Wycheproof RSASSA-PSS (rsa_pss_2048_sha256_mgf1_32, rsa_pss_2048_sha384_mgf1_48)", () => {
  for (const [file, alg, valid, invalid] of [
    ["wycheproof/testvectors_v1/rsa_pss_2048_sha256_mgf1_32_test.json", "PS256", 63, 45],
    ["wycheproof/testvectors_v1/rsa_pss_2048_sha384_mgf1_48_test.json", "PS384", 95, 46],
  ] as const) {
    test(`${path.basename(file)}: every valid accepted, every invalid rejected`, () => {
      const doc = readJson(file);
      const tally = { valid: 0, invalid: 0 };
      for (const group of doc.testGroups) {
        expect(group.publicKeyJwk.alg).toBe(alg);
        expect(group.sLen).toBe(HLEN_OF[alg]);
        const key = c.importKey(group.publicKeyJwk);
        expect(key.usable).toBe(true);
        expect(key.bits).toBe(group.keySize);
        for (const t of group.tests) {
          expect(["valid", "invalid"]).toContain(t.result);
          const want = t.result === "valid";
          const msg = unhex(t.msg);
          const sig = unhex(t.sig);
          const got = c.verify(alg, key, msg, sig);
          if (got !== want) throw new Error(`tcId ${t.tcId} (${t.result}, ${t.flags}): got ${got}`);
          expect(c.verify(alg, group.publicKeyJwk, msg, sig)).toBe(want);
          // WrongPrimitive (a PKCS#1 v1.5 signature) must not pass as PSS, and PSS never passes as RS*.
          if (want) expect(c.verify(alg.replace("PS", "RS"), { ...group.publicKeyJwk, alg: undefined }, msg, sig)).toBe(false);
          tally[t.result as keyof typeof tally]++;
        }
      }
      expect(tally).toEqual({ valid, invalid });
      expect(valid + invalid).toBe(doc.numberOfTests);
    });
  }
});

describe("keys and signatures made by Node", () => {
  let keys: TestKey[] = [];

  beforeAll(async () => {
    // 15 keys reused across PS256/384/512 (key generation is the slow part).
    keys = await makeKeys([2048, 2048, 2048, 2048, 2048, 2048, 3072, 3072, 3072, 3072, 3072, 4096, 4096, 4096, 4096]);
  }, 300000);

  test("2,100 random key/alg/message cases verify; one flipped bit in signature or message does not", () => {
    expect(keys.every((k) => k.key.usable && k.key.bits === k.bits)).toBe(true);
    const seen = new Set<string>();
    let cases = 0;
    for (let i = 0; i < 2100; i++) {
      const k = keys[i % keys.length];
      const alg = PS_ALGS[randomInt(3)];
      const msg = randomBytes(randomInt(0, 1500));
      const sig = pssSign(alg, msg, k.privateKey);
      expect(sig.length).toBe(k.bits / 8);
      if (!c.verify(alg, k.key, msg, sig)) throw new Error(`case ${i}: ${alg} ${k.bits}-bit rejected`);
      if (i < keys.length) expect(c.verify(alg, k.jwk, msg, sig)).toBe(true);
      if (i % 2 === 0 || msg.length === 0) {
        expect(c.verify(alg, k.key, flipBit(sig, randomInt(sig.length * 8)), msg)).toBe(false);
      } else {
        expect(c.verify(alg, k.key, flipBit(msg, randomInt(msg.length * 8)), sig)).toBe(false);
      }
      // The same signature under the other hashes, and as PKCS#1 v1.5.
      if (i % 10 === 0) {
        for (const other of PS_ALGS) if (other !== alg) expect(c.verify(other, k.key, msg, sig)).toBe(false);
        expect(c.verify(alg.replace("PS", "RS"), k.key, msg, sig)).toBe(false);
      }
      seen.add(`${alg}/${k.bits}`);
      cases++;
    }
    expect(cases).toBe(2100);
    expect(seen.size).toBe(9); // every alg with every key size
  });

  test("PKCS#1 v1.5 signatures of the same keys are rejected as PSS", () => {
    for (const k of keys) {
      const msg = randomBytes(100);
      for (const alg of PS_ALGS) {
        const pkcs1 = nodeSign(HASH_OF[alg], msg, k.privateKey);
        expect(c.verify(alg.replace("PS", "RS"), k.key, msg, pkcs1)).toBe(true);
        expect(c.verify(alg, k.key, msg, pkcs1)).toBe(false);
      }
    }
  });

  test("salt lengths other than the hash length are rejected (RFC 7518 §3.5)", () => {
    for (const k of keys.slice(0, 8)) {
      for (const alg of PS_ALGS) {
        const msg = randomBytes(64);
        const hLen = HLEN_OF[alg];
        for (const saltLength of [0, 1, hLen - 1, hLen + 1, 64, hLen === 64 ? 65 : 64, 100]) {
          if (saltLength === hLen) continue;
          const sig = pssSign(alg, msg, k.privateKey, saltLength);
          expect(c.verify(alg, k.key, msg, sig)).toBe(false);
        }
        expect(c.verify(alg, k.key, msg, pssSign(alg, msg, k.privateKey, hLen))).toBe(true);
      }
    }
  });

  test("every bit flip and every truncation of a valid signature is rejected", () => {
    for (const [k, alg] of [[keys[0], "PS256"], [keys[6], "PS384"], [keys[11], "PS512"]] as const) {
      const msg = Buffer.from("eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0");
      const sig = pssSign(alg, msg, k.privateKey);
      expect(c.verify(alg, k.key, msg, sig)).toBe(true);
      for (let bit = 0; bit < sig.length * 8; bit++) {
        if (c.verify(alg, k.key, msg, flipBit(sig, bit))) throw new Error(`${alg}: bit ${bit} accepted`);
      }
      for (let len = 0; len < sig.length; len++) {
        expect(c.verify(alg, k.key, msg, sig.subarray(0, len))).toBe(false);
      }
      expect(c.verify(alg, k.key, msg, Buffer.concat([Buffer.alloc(1), sig]))).toBe(false);
      expect(c.verify(alg, k.key, msg, Buffer.concat([sig, Buffer.alloc(1)]))).toBe(false);
    }
  });

  test("hand-built EMSA-PSS blocks: the valid one verifies, each single defect is rejected", () => {
    const defects: Array<[string, PssDefects]> = [
      ["trailer 0xbd", { trailer: 0xbd }],
      ["trailer 0x00", { trailer: 0x00 }],
      ["trailer 0xcc", { trailer: 0xcc }],
      ["leftmost bit set", { setTopBit: true }],
      ["nonzero byte in PS", { psByte: 0x01 }],
      ["nonzero byte 0x80 in PS", { psByte: 0x80 }],
      ["separator 0x00", { separator: 0x00 }],
      ["separator 0x02", { separator: 0x02 }],
      ["separator 0xff", { separator: 0xff }],
      ["H over other bytes", { wrongH: true }],
      ["salt 0 (PS longer)", { saltLength: 0 }],
      ["salt hLen + 1", { saltLength: -1 }],
      ["MGF1 with SHA-1", { mgfHash: "sha1" }],
      ["MGF1 with another SHA-2", { mgfHash: "other" }],
    ];
    for (const k of [keys[0], keys[6], keys[11]]) {
      for (const alg of PS_ALGS) {
        const msg = randomBytes(50);
        const good = signBlock(k, alg, msg);
        expect(c.verify(alg, k.key, msg, good)).toBe(true);
        for (const [name, d0] of defects) {
          const d: PssDefects = { ...d0 };
          if (d.saltLength === -1) d.saltLength = HLEN_OF[alg] + 1;
          if (d.mgfHash === "other") d.mgfHash = alg === "PS256" ? "sha512" : "sha256";
          const sig = signBlock(k, alg, msg, d);
          if (c.verify(alg, k.key, msg, sig)) throw new Error(`${alg} ${k.bits}-bit: defect "${name}" accepted`);
        }
      }
    }
  });

  test("a valid signature s given as s + n (same length, same value mod n) is rejected: s < n is required", () => {
    let tried = 0;
    for (const k of keys) {
      const n = Buffer.from(k.jwk.n as string, "base64url");
      const nBig = BigInt("0x" + n.toString("hex"));
      const limit = 1n << BigInt(8 * n.length);
      for (let i = 0; i < 40; i++) {
        const alg = PS_ALGS[i % 3];
        const msg = randomBytes(20);
        const sig = pssSign(alg, msg, k.privateKey);
        const big = BigInt("0x" + sig.toString("hex")) + nBig;
        if (big >= limit) continue;
        expect(c.verify(alg, k.key, msg, sig)).toBe(true);
        expect(c.verify(alg, k.key, msg, Buffer.from(big.toString(16).padStart(2 * n.length, "0"), "hex"))).toBe(false);
        tried++;
        break;
      }
    }
    expect(tried).toBeGreaterThan(5);
  });

  test("signature values 0, 1, n - 1, n, n + 1 and 2^(8k) - 1 are rejected", () => {
    for (const k of [keys[0], keys[6], keys[11]]) {
      const n = Buffer.from(k.jwk.n as string, "base64url");
      const len = n.length;
      const nBig = BigInt("0x" + n.toString("hex"));
      const enc = (x: bigint) => Buffer.from(x.toString(16).padStart(len * 2, "0"), "hex");
      const msg = Buffer.from("m");
      for (const x of [0n, 1n, nBig - 1n, nBig, nBig + 1n, (1n << BigInt(8 * len)) - 1n]) {
        for (const alg of PS_ALGS) expect(c.verify(alg, k.key, msg, enc(x))).toBe(false);
      }
    }
  });
});

describe("moduli whose size is not a multiple of 8 bits (emBits = modBits - 1)", () => {
  let keys: TestKey[] = [];

  beforeAll(async () => {
    // 2049 and 3073 are the case 8 | emBits (emLen = k - 1, the top byte of the k-byte value must be 0);
    // 2050..2056 leave 2..8 bits to clear in the top byte (2056: 1 bit of EM's top byte, k = 257);
    // 2057 is the next boundary.
    keys = await Promise.all([2049, 2050, 2051, 2052, 2053, 2054, 2055, 2056, 2057, 3073, 3075].map(makeExactKey));
  }, 300000);

  test("Node's signatures verify for PS256/384/512, and flipped bits do not", () => {
    for (const k of keys) {
      expect(k.key.usable).toBe(true);
      expect(k.key.bits).toBe(k.bits);
      for (const alg of PS_ALGS) {
        for (let i = 0; i < 8; i++) {
          const msg = randomBytes(randomInt(0, 400));
          const sig = pssSign(alg, msg, k.privateKey);
          expect(sig.length).toBe((k.bits + 7) >> 3);
          expect(c.verify(alg, k.key, msg, sig)).toBe(true);
          expect(c.verify(alg, k.key, msg, flipBit(sig, randomInt(sig.length * 8)))).toBe(false);
        }
      }
    }
  });

  test("hand-built blocks: set excess top bits, emLen one too long, wrong trailer are rejected", () => {
    for (const k of keys) {
      for (const alg of PS_ALGS) {
        const msg = randomBytes(30);
        expect(c.verify(alg, k.key, msg, signBlock(k, alg, msg))).toBe(true);
        expect(c.verify(alg, k.key, msg, signBlock(k, alg, msg, { trailer: 0xbb }))).toBe(false);
        if ((k.bits - 1) % 8 !== 0) {
          // 8*emLen - emBits bits to clear: setting the top one must fail.
          expect(c.verify(alg, k.key, msg, signBlock(k, alg, msg, { setTopBit: true }))).toBe(false);
        } else {
          // emLen = k - 1: a block encoded for emBits = modBits (k bytes, top byte 0 or 1) must fail when
          // its top byte is nonzero, and a block of k - 1 bytes padded with a zero byte verifies.
          const n = Buffer.from(k.jwk.n as string, "base64url");
          expect(n[0]).toBe(1);
          let x = encodePss(alg, msg, k.bits, { emLenPlusOne: true });
          for (let i = 0; i < 200 && !(x[0] === 1 && Buffer.compare(x, n) < 0); i++) {
            x = encodePss(alg, msg, k.bits, { emLenPlusOne: true });
          }
          expect(x[0] === 1 && Buffer.compare(x, n) < 0).toBe(true);
          expect(c.verify(alg, k.key, msg, rawSign(k.privateKey, x))).toBe(false);
          // A correct EM of emLen = k - 1 bytes behind a top byte of 1 instead of 0: I2OSP(m, emLen) fails.
          let y = encodePss(alg, msg, k.bits);
          expect(y[0]).toBe(0);
          for (let i = 0; i < 200 && !(y[0] === 1 && Buffer.compare(y, n) < 0); i++) {
            y = encodePss(alg, msg, k.bits);
            y[0] = 1;
          }
          expect(y[0] === 1 && Buffer.compare(y, n) < 0).toBe(true);
          expect(c.verify(alg, k.key, msg, rawSign(k.privateKey, y))).toBe(false);
          y[0] = 0;
          expect(c.verify(alg, k.key, msg, rawSign(k.privateKey, y))).toBe(true);
        }
      }
    }
  });
});

describe("no trap on hostile signatures and messages", () => {
  let keys: TestKey[] = [];

  beforeAll(async () => {
    keys = [...(await makeKeys([2048, 2048, 3072])), await makeExactKey(2049)];
  }, 300000);

  test("20,000 random and mutated inputs: never a throw, never accepted", () => {
    const valid: Array<[TestKey, PsAlg, Buffer, Buffer]> = [];
    for (const k of keys) {
      for (const alg of PS_ALGS) {
        const msg = randomBytes(randomInt(0, 200));
        valid.push([k, alg, msg, pssSign(alg, msg, k.privateKey)]);
      }
    }
    // Raw-signed random blocks with the right trailer: they pass s < n and the trailer check and
    // exercise the DB checks with random contents.
    const rawBlocks: Array<[TestKey, Buffer]> = [];
    for (let i = 0; i < 200; i++) {
      const k = keys[i % keys.length];
      const kLen = (k.bits + 7) >> 3;
      const x = randomBytes(kLen);
      const topClear = 8 * kLen - (k.bits - 1);
      x[0] &= 0xff >> topClear;
      if (topClear >= 8) x[1] &= 0x7f;
      x[kLen - 1] = 0xbc;
      rawBlocks.push([k, rawSign(k.privateKey, x)]);
    }
    let accepted = 0;
    let runs = 0;
    for (let i = 0; i < 20000; i++) {
      const [k, alg, msg, sig] = valid[randomInt(valid.length)];
      const useAlg = PS_ALGS[randomInt(3)];
      let m: Buffer = msg;
      let s: Buffer;
      switch (i % 8) {
        case 0: s = randomBytes(sig.length); break;
        case 1: s = randomBytes(randomInt(0, 600)); break;
        case 2: {
          s = Buffer.from(sig);
          for (let j = 1 + randomInt(8); j > 0; j--) s[randomInt(s.length)] ^= 1 << randomInt(8);
          // Flips can cancel out (the same bit twice): then it is the valid signature, not a mutation.
          if (s.equals(sig)) s[0] ^= 1;
          break;
        }
        case 3: s = sig.subarray(0, randomInt(sig.length)); break;
        case 4: s = Buffer.concat([sig, randomBytes(1 + randomInt(8))]); break;
        case 5: s = Buffer.alloc(sig.length, [0x00, 0xff, 0x01, 0x80][randomInt(4)]); break;
        case 6: {
          const [rk, rs] = rawBlocks[randomInt(rawBlocks.length)];
          runs++;
          expect(() => c.verify(useAlg, rk.key, m, rs)).not.toThrow();
          if (c.verify(useAlg, rk.key, m, rs)) accepted++;
          continue;
        }
        default: {
          s = sig;
          m = randomInt(2) ? randomBytes(randomInt(0, 300)) : flipBit(msg.length ? msg : Buffer.alloc(1), 0);
          if (m.equals(msg)) m = Buffer.concat([m, Buffer.alloc(1)]);
          break;
        }
      }
      runs++;
      let got = false;
      try {
        got = c.verify(useAlg, k.key, m, s);
      } catch (e) {
        throw new Error(`case ${i}: verify threw ${(e as Error).message}`);
      }
      if (got) accepted++;
    }
    expect(runs).toBe(20000);
    expect(accepted).toBe(0);
    // The instance is still healthy after the fuzz run.
    for (const [k, alg, msg, sig] of valid) expect(c.verify(alg, k.key, msg, sig)).toBe(true);
  });
});
