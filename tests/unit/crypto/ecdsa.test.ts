// ES256/ES384/ES512 (assembly/crypto/ecdsa.ts + assembly/crypto/ec/) through the public loadCrypto() API:
// Wycheproof P-256 vectors, keys and signatures made by Node with bit flips, edge cases for all three curves
// constructed here with BigInt (range checks, x >= n, small r, key checks, exceptional points), and a
// no-trap fuzz run over hostile keys and signatures.
import { createECDH, createHash, generateKeyPairSync, randomBytes, randomInt, sign as nodeSign, JsonWebKey } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadCrypto, Crypto } from "../../../host/crypto/index";

const VECTORS = path.join(__dirname, "..", "..", "vectors");
const unhex = (h: string) => Buffer.from(h, "hex");
const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

// ---------------------------------------------------------------------------------------------------
// The curves, with just enough BigInt arithmetic to build keys and signatures for the edge cases.

interface CurveSpec {
  crv: "P-256" | "P-384" | "P-521";
  alg: "ES256" | "ES384" | "ES512";
  hash: "sha256" | "sha384" | "sha512";
  nodeName: string;
  len: number;
  p: bigint;
  n: bigint;
  b: bigint;
  gx: bigint;
  gy: bigint;
}

function makeCurve(crv: CurveSpec["crv"], alg: CurveSpec["alg"], hash: CurveSpec["hash"], nodeName: string,
  len: number, p: bigint, n: bigint): CurveSpec {
  // G from Node (private key 1), b from G: b = y^2 - x^3 + 3x.
  const ecdh = createECDH(nodeName);
  ecdh.setPrivateKey(Buffer.from([1]));
  const pub = ecdh.getPublicKey();
  const gx = toBig(pub.subarray(1, 1 + len));
  const gy = toBig(pub.subarray(1 + len));
  const b = mod(gy * gy - gx * gx * gx + 3n * gx, p);
  return { crv, alg, hash, nodeName, len, p, n, b, gx, gy };
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt("0x" + Buffer.from(b).toString("hex"));
}

function toBytes(x: bigint, len: number): Buffer {
  const h = x.toString(16).padStart(len * 2, "0");
  if (h.length > len * 2) throw new Error("value does not fit");
  return Buffer.from(h, "hex");
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const inv = (a: bigint, m: bigint) => modPow(a, m - 2n, m); // m prime

const P256 = makeCurve("P-256", "ES256", "sha256", "prime256v1", 32,
  (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n,
  0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n);
const P384 = makeCurve("P-384", "ES384", "sha384", "secp384r1", 48,
  (1n << 384n) - (1n << 128n) - (1n << 96n) + (1n << 32n) - 1n,
  0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n);
const P521 = makeCurve("P-521", "ES512", "sha512", "secp521r1", 66,
  (1n << 521n) - 1n,
  0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n);
const CURVES = [P256, P384, P521];

type Affine = [bigint, bigint] | null; // null: the point at infinity
type Jac = [bigint, bigint, bigint]; // Z = 0: infinity

function jacDouble(c: CurveSpec, [x, y, z]: Jac): Jac {
  const p = c.p;
  if (z === 0n || y === 0n) return [1n, 1n, 0n];
  const d = (z * z) % p;
  const g = (y * y) % p;
  const beta = (x * g) % p;
  const alpha = mod(3n * (x - d) * (x + d), p);
  const x3 = mod(alpha * alpha - 8n * beta, p);
  const z3 = mod((y + z) * (y + z) - g - d, p);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * g * g, p);
  return [x3, y3, z3];
}

function jacAdd(c: CurveSpec, P: Jac, Q: Jac): Jac {
  const p = c.p;
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const z1z1 = (P[2] * P[2]) % p, z2z2 = (Q[2] * Q[2]) % p;
  const u1 = (P[0] * z2z2) % p, u2 = (Q[0] * z1z1) % p;
  const s1 = (P[1] * Q[2] * z2z2) % p, s2 = (Q[1] * P[2] * z1z1) % p;
  const h = mod(u2 - u1, p), r = mod(s2 - s1, p);
  if (h === 0n) return r === 0n ? jacDouble(c, P) : [1n, 1n, 0n];
  const hh = (h * h) % p, hhh = (h * hh) % p, v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  return [x3, y3, (P[2] * Q[2] * h) % p];
}

function toAffine(c: CurveSpec, [x, y, z]: Jac): Affine {
  if (z === 0n) return null;
  const zi = inv(z, c.p);
  const zi2 = (zi * zi) % c.p;
  return [(x * zi2) % c.p, (y * zi2 * zi) % c.p];
}

function ecMul(c: CurveSpec, k: bigint, P: Affine): Affine {
  k = mod(k, c.n);
  if (P === null || k === 0n) return null;
  let R: Jac = [1n, 1n, 0n];
  const B: Jac = [P[0], P[1], 1n];
  for (let i = k.toString(2).length - 1; i >= 0; i--) {
    R = jacDouble(c, R);
    if ((k >> BigInt(i)) & 1n) R = jacAdd(c, R, B);
  }
  return toAffine(c, R);
}

function ecAdd(c: CurveSpec, P: Affine, Q: Affine): Affine {
  if (P === null) return Q;
  if (Q === null) return P;
  return toAffine(c, jacAdd(c, [P[0], P[1], 1n], [Q[0], Q[1], 1n]));
}

const G = (c: CurveSpec): Affine => [c.gx, c.gy];
const onCurve = (c: CurveSpec, x: bigint, y: bigint) => mod(y * y - (x * x * x - 3n * x + c.b), c.p) === 0n;

/** y with (x, y) on the curve (the even one), or null. p = 3 mod 4 for all three curves. */
function lift(c: CurveSpec, x: bigint): bigint | null {
  const rhs = mod(x * x * x - 3n * x + c.b, c.p);
  const y = modPow(rhs, (c.p + 1n) / 4n, c.p);
  if ((y * y) % c.p !== rhs) return null;
  return y & 1n ? c.p - y : y;
}

/** The ECDSA e of a message: the leftmost bitlen(n) bits of the digest, reduced mod n. */
function hashToInt(c: CurveSpec, msg: Uint8Array): bigint {
  const digest = createHash(c.hash).update(msg).digest();
  const excess = digest.length * 8 - c.n.toString(2).length;
  const h = toBig(digest);
  return mod(excess > 0 ? h >> BigInt(excess) : h, c.n);
}

function randomScalar(c: CurveSpec): bigint {
  return mod(toBig(randomBytes(c.len + 8)), c.n - 1n) + 1n;
}

function jwkOf(c: CurveSpec, x: bigint | Uint8Array, y: bigint | Uint8Array): JsonWebKey {
  const enc = (v: bigint | Uint8Array) => b64u(typeof v === "bigint" ? toBytes(v, c.len) : v);
  return { kty: "EC", crv: c.crv, x: enc(x), y: enc(y) };
}

const sigOf = (c: CurveSpec, r: bigint, s: bigint) => Buffer.concat([toBytes(r, c.len), toBytes(s, c.len)]);

/** A textbook signature with private key d and a random nonce. */
function signWith(c: CurveSpec, d: bigint, msg: Uint8Array): { r: bigint; s: bigint } {
  for (;;) {
    const k = randomScalar(c);
    const R = ecMul(c, k, G(c))!;
    const r = mod(R[0], c.n);
    const s = mod(inv(k, c.n) * (hashToInt(c, msg) + r * d), c.n);
    if (r !== 0n && s !== 0n) return { r, s };
  }
}

/**
 * A public key for which (r = x mod n, s) is a valid signature of msg, where x is the x-coordinate of a
 * chosen curve point R: Q = r^-1 (s R - e G) gives u1 G + u2 Q = R. Null if x is not on the curve.
 */
function keyForSignature(c: CurveSpec, x: bigint, s: bigint, msg: Uint8Array): { jwk: JsonWebKey; r: bigint } | null {
  const y = lift(c, x);
  if (y === null) return null;
  const r = mod(x, c.n);
  const e = hashToInt(c, msg);
  const ri = inv(r, c.n);
  const Q = ecAdd(c, ecMul(c, mod(s * ri, c.n), [x, y]), ecMul(c, mod(-e * ri, c.n), G(c)));
  if (Q === null) return null;
  return { jwk: jwkOf(c, Q[0], Q[1]), r };
}

/** The first x >= from (stepping by `step`) that is the x-coordinate of a curve point. */
function liftableFrom(c: CurveSpec, from: bigint, step = 1n): bigint {
  for (let x = from; ; x += step) if (lift(c, x) !== null) return x;
}

function flipBit(b: Uint8Array, bit: number): Buffer {
  const c = Buffer.from(b);
  c[bit >> 3] ^= 0x80 >> (bit & 7);
  return c;
}

let crypto: Crypto;

beforeAll(async () => {
  crypto = await loadCrypto();
});

// ---------------------------------------------------------------------------------------------------

describe("curve constants used by these tests", () => {
  test.each(CURVES)("$crv: G is on the curve, n G = O, and our scalar multiplication agrees with Node", (c) => {
    expect(onCurve(c, c.gx, c.gy)).toBe(true);
    expect(ecMul(c, c.n - 1n, G(c))).toEqual([c.gx, c.p - c.gy]);
    expect(ecAdd(c, ecMul(c, c.n - 1n, G(c)), G(c))).toBeNull();
    const k = randomScalar(c);
    const ecdh = createECDH(c.nodeName);
    ecdh.setPrivateKey(toBytes(k, c.len));
    const pub = ecdh.getPublicKey();
    expect(ecMul(c, k, G(c))).toEqual([toBig(pub.subarray(1, 1 + c.len)), toBig(pub.subarray(1 + c.len))]);
  });
});

describe("Wycheproof ecdsa_secp256r1_sha256_p1363_test.json", () => {
  // Most groups carry publicKeyJwk; the last nine (tcId 253..262: r and x(R) near n and p, s = 2^128) only
  // the uncompressed point, so their JWK is built from wx/wy (big-endian hex, padded to 32 bytes).
  const groupJwk = (group: { publicKeyJwk?: JsonWebKey; publicKey: { wx: string; wy: string } }): JsonWebKey =>
    group.publicKeyJwk ?? jwkOf(P256, BigInt("0x" + group.publicKey.wx), BigInt("0x" + group.publicKey.wy));

  test("every valid signature accepted, every invalid one rejected", () => {
    const doc = JSON.parse(fs.readFileSync(
      path.join(VECTORS, "wycheproof/testvectors_v1/ecdsa_secp256r1_sha256_p1363_test.json"), "utf8"));
    const tally = { valid: 0, invalid: 0 };
    const failures: string[] = [];
    for (const group of doc.testGroups) {
      expect(group.sha).toBe("SHA-256");
      const key = crypto.importKey(groupJwk(group));
      // Every group's key is a valid point (some are unusual: tiny or huge coordinates); none may be refused.
      expect(key.usable).toBe(true);
      expect(key.bits).toBe(256);
      for (const t of group.tests) {
        const want = t.result === "valid";
        if (t.result !== "valid" && t.result !== "invalid") throw new Error(`unexpected result ${t.result}`);
        const got = crypto.verify("ES256", key, unhex(t.msg), unhex(t.sig));
        if (got !== want) failures.push(`tcId ${t.tcId} (${t.result}, ${t.flags}, ${t.comment}): got ${got}`);
        tally[t.result as "valid" | "invalid"]++;
      }
    }
    expect(failures).toEqual([]);
    expect(tally.valid + tally.invalid).toBe(doc.numberOfTests);
    expect(tally).toEqual({ valid: 173, invalid: 89 });
  });

  test("the same results through a plain JWK imported per call, for the edge-case keys", () => {
    const doc = JSON.parse(fs.readFileSync(
      path.join(VECTORS, "wycheproof/testvectors_v1/ecdsa_secp256r1_sha256_p1363_test.json"), "utf8"));
    let checked = 0;
    for (const group of doc.testGroups.slice(1)) {
      for (const t of group.tests) {
        expect(crypto.verify("ES256", groupJwk(group), unhex(t.msg), unhex(t.sig))).toBe(t.result === "valid");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe("cross-check with Node: random keys and messages, with one bit flipped", () => {
  const PER_CURVE = 700;
  test.each(CURVES)(`$crv: ${PER_CURVE} keys, each signature accepted, a flipped bit rejected`, (c) => {
    let accepted = 0, rejected = 0, leadingZeroR = 0, leadingZeroS = 0;
    for (let i = 0; i < PER_CURVE; i++) {
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
      const jwk = publicKey.export({ format: "jwk" });
      const key = crypto.importKey(jwk);
      expect(key.usable).toBe(true);
      const msg = randomBytes(randomInt(0, 300));
      const sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
      expect(sig.length).toBe(2 * c.len);
      if (sig[0] === 0) leadingZeroR++;
      if (sig[c.len] === 0) leadingZeroS++;
      if (!crypto.verify(c.alg, key, msg, sig)) throw new Error(`${c.crv} #${i}: valid signature rejected`);
      accepted++;
      // One random bit of the signature or, for every third pair, of the message.
      const tampered = i % 3 === 2 && msg.length > 0
        ? crypto.verify(c.alg, key, flipBit(msg, randomInt(msg.length * 8)), sig)
        : crypto.verify(c.alg, key, msg, flipBit(sig, randomInt(sig.length * 8)));
      if (tampered) throw new Error(`${c.crv} #${i}: tampered signature accepted`);
      rejected++;
    }
    expect(accepted).toBe(PER_CURVE);
    expect(rejected).toBe(PER_CURVE);
    // P-521 r and s are 66 bytes for a 521-bit n: their top byte is 0 about half the time.
    if (c.crv === "P-521") expect(leadingZeroR + leadingZeroS).toBeGreaterThan(0);
  });

  test.each(CURVES)("$crv: r or s with a zero leading byte (still full length) verifies", (c) => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
    const key = crypto.importKey(publicKey.export({ format: "jwk" }));
    let foundR = false, foundS = false;
    for (let i = 0; i < 5000 && !(foundR && foundS); i++) {
      const msg = Buffer.from(`message ${i}`);
      // About 1 in 256 for P-256/P-384; for P-521 (n < 2^521, top byte 0 or 1) about every other one.
      const sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
      const topZero = (off: number) => sig[off] === 0;
      const hitR: boolean = !foundR && topZero(0);
      const hitS: boolean = !foundS && topZero(c.len);
      if (!hitR && !hitS) continue;
      expect(crypto.verify(c.alg, key, msg, sig)).toBe(true);
      // The same value with the zero byte dropped is the wrong length.
      const shortR = hitR ? Buffer.concat([sig.subarray(1, c.len), sig.subarray(c.len)])
        : Buffer.concat([sig.subarray(0, c.len), sig.subarray(c.len + 1)]);
      expect(crypto.verify(c.alg, key, msg, shortR)).toBe(false);
      foundR ||= hitR;
      foundS ||= hitS;
    }
    expect(foundR && foundS).toBe(true);
  });
});

describe("signature edge cases (BigInt-constructed), every curve", () => {
  for (const c of CURVES) {
    describe(c.crv, () => {
      const d = randomScalar(c);
      const Q = ecMul(c, d, G(c))!;
      const jwk = jwkOf(c, Q[0], Q[1]);
      const msg = Buffer.from(`edge cases on ${c.crv}`);
      const { r, s } = signWith(c, d, msg);
      const ok = (sig: Uint8Array, m: Uint8Array = msg, k: object = jwk) => crypto.verify(c.alg, k, m, sig);

      test("the textbook signature verifies; so does (r, n - s) (ECDSA malleability)", () => {
        expect(ok(sigOf(c, r, s))).toBe(true);
        expect(ok(sigOf(c, r, c.n - s))).toBe(true);
        expect(ok(sigOf(c, r, s), Buffer.from("other message"))).toBe(false);
      });

      test("r or s out of [1, n-1] is rejected: 0, n, n + 1, p, 2^(8 len) - 1", () => {
        const max = (1n << BigInt(8 * c.len)) - 1n;
        for (const bad of [0n, c.n, c.n + 1n, c.p, max]) {
          expect(ok(sigOf(c, bad, s))).toBe(false);
          expect(ok(sigOf(c, r, bad))).toBe(false);
        }
        expect(ok(sigOf(c, 0n, 0n))).toBe(false);
        // r + n and s + n are the same values mod n, but out of range.
        if (r + c.n <= max) expect(ok(sigOf(c, r + c.n, s))).toBe(false);
        if (s + c.n <= max) expect(ok(sigOf(c, r, s + c.n))).toBe(false);
      });

      test("r or s = n - 1 or 1 where that is not the signature: rejected", () => {
        expect(ok(sigOf(c, c.n - 1n, s))).toBe(false);
        expect(ok(sigOf(c, r, c.n - 1n))).toBe(false);
        expect(ok(sigOf(c, 1n, s))).toBe(false);
        expect(ok(sigOf(c, r, 1n))).toBe(false);
      });

      test("swapped or repeated halves are rejected", () => {
        expect(ok(sigOf(c, s, r))).toBe(false);
        expect(ok(sigOf(c, r, r))).toBe(false);
        expect(ok(sigOf(c, s, s))).toBe(false);
      });

      test("wrong signature lengths are rejected: short/long by one, halves of other sizes, DER, empty", () => {
        const sig = sigOf(c, r, s);
        expect(ok(sig.subarray(0, sig.length - 1))).toBe(false);
        expect(ok(Buffer.concat([sig, Buffer.from([0])]))).toBe(false);
        expect(ok(Buffer.concat([Buffer.from([0]), sig]))).toBe(false);
        expect(ok(Buffer.concat([Buffer.from([0]), sig.subarray(0, c.len), Buffer.from([0]), sig.subarray(c.len)]))).toBe(false);
        expect(ok(Buffer.alloc(0))).toBe(false);
        expect(ok(sig.subarray(0, c.len))).toBe(false);
        for (const other of CURVES) {
          if (other !== c) expect(ok(Buffer.concat([toBytes(r % (1n << BigInt(8 * other.len)), other.len),
            toBytes(s % (1n << BigInt(8 * other.len)), other.len)]))).toBe(false);
        }
        // A real DER signature from Node for the same key and message.
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
        const pubJwk = (() => {
          const j = privateKey.export({ format: "jwk" });
          return { kty: "EC", crv: c.crv, x: j.x, y: j.y };
        })();
        const der = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "der" });
        const p1363 = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
        expect(der[0]).toBe(0x30);
        expect(ok(der, msg, pubJwk)).toBe(false);
        expect(ok(p1363, msg, pubJwk)).toBe(true);
      });

      test("valid signatures with chosen r and s: s = 1, s = n - 1, small r, r = n - small, x(R) >= n", () => {
        const cases: Array<[string, bigint, bigint]> = [
          ["s = 1", liftableFrom(c, 5n), 1n],
          ["s = n - 1", liftableFrom(c, 7n), c.n - 1n],
          ["s = (n - 1) / 2", liftableFrom(c, 11n), (c.n - 1n) / 2n],
          ["small r", liftableFrom(c, 1n), randomScalar(c)],
          ["r near n - 1", liftableFrom(c, c.n - 64n), randomScalar(c)],
          ["x(R) >= n (r = x - n)", liftableFrom(c, c.n + 1n), randomScalar(c)], // x = n would make r = 0
          ["x(R) = p - small", liftableFrom(c, c.p - 200n), randomScalar(c)],
        ];
        for (const [name, x, sv] of cases) {
          const k = keyForSignature(c, x, sv, msg);
          if (k === null) throw new Error(`${name}: no key`);
          if (x >= c.p) throw new Error(`${name}: x >= p`);
          const sig = sigOf(c, k.r, sv);
          if (!ok(sig, msg, k.jwk)) throw new Error(`${c.crv} ${name}: valid signature rejected`);
          expect(ok(sig, Buffer.from("x"), k.jwk)).toBe(false);
          expect(ok(flipBit(sig, 8 * c.len - 1), msg, k.jwk)).toBe(false);
          if (x >= c.n) {
            // r must be x mod n, not x itself (x is out of range as a scalar anyway).
            expect(k.r).toBe(x - c.n);
            if (x < 1n << BigInt(8 * c.len)) expect(ok(sigOf(c, x, sv), msg, k.jwk)).toBe(false);
          }
        }
      });

      test("exceptional points: Q = G and Q = -G, including a result at infinity", () => {
        const gJwk = jwkOf(c, c.gx, c.gy);
        const negGJwk = jwkOf(c, c.gx, c.p - c.gy);
        for (let i = 0; i < 4; i++) {
          const m = Buffer.from(`exceptional ${i}`);
          const a = signWith(c, 1n, m);
          expect(ok(sigOf(c, a.r, a.s), m, gJwk)).toBe(true);
          expect(ok(sigOf(c, a.r, a.s), m, negGJwk)).toBe(false);
          const b = signWith(c, c.n - 1n, m);
          expect(ok(sigOf(c, b.r, b.s), m, negGJwk)).toBe(true);
          expect(ok(sigOf(c, b.r, b.s), m, gJwk)).toBe(false);
        }
        // Key -G and r = e: u1 G + u2 Q = (e - r)/s G = O, which has no x: rejected. With key G and r = e,
        // u1 = u2, so the first two table additions hit P + P (the doubling case); (r, s) is not valid there.
        const e = hashToInt(c, msg);
        if (e !== 0n) {
          for (const sv of [1n, 2n, randomScalar(c), c.n - 1n]) {
            expect(ok(sigOf(c, e, sv), msg, negGJwk)).toBe(false);
            const u = mod(2n * e * inv(sv, c.n), c.n); // R = 2e/s G for key G
            const R = ecMul(c, u, G(c))!;
            expect(ok(sigOf(c, e, sv), msg, gJwk)).toBe(mod(R[0], c.n) === e);
          }
        }
      });

      test("keys Q = 2^k G: u1 G + u2 Q with coinciding multiples matches BigInt", () => {
        // With r = e / 2^k, u1 G = u2 Q; for k = 0 both digit streams and both tables are identical, so
        // the first addition is P + P (the doubling case of the mixed addition).
        for (const k of [0n, 1n, 2n, 3n, 64n]) {
          const dk = 1n << k;
          const Qk = ecMul(c, dk, G(c))!;
          const kj = jwkOf(c, Qk[0], Qk[1]);
          const m = Buffer.from(`doubling ${k}`);
          const sg = signWith(c, dk, m);
          expect(ok(sigOf(c, sg.r, sg.s), m, kj)).toBe(true);
          const e = hashToInt(c, m);
          const rr = mod(e * inv(dk, c.n), c.n);
          if (rr === 0n) continue;
          for (const sv of [1n, randomScalar(c)]) {
            const R = ecMul(c, mod(2n * e * inv(sv, c.n), c.n), G(c));
            const want = R !== null && mod(R[0], c.n) === rr;
            expect(ok(sigOf(c, rr, sv), m, kj)).toBe(want);
          }
        }
      });
    });
  }
});

describe("public key checks, every curve", () => {
  for (const c of CURVES) {
    test(`${c.crv}: off-curve points, coordinates >= p, wrong lengths, infinity are refused; odd valid points accepted`, () => {
      const d = randomScalar(c);
      const [x, y] = ecMul(c, d, G(c))!;
      const usable = (j: object) => crypto.importKey(j).usable;
      expect(usable(jwkOf(c, x, y))).toBe(true);
      expect(usable(jwkOf(c, x, c.p - y))).toBe(true); // -Q
      expect(usable(jwkOf(c, x, mod(y + 1n, c.p)))).toBe(false);
      expect(usable(jwkOf(c, mod(x + 1n, c.p), y))).toBe(false);
      expect(usable(jwkOf(c, 0n, 0n))).toBe(false); // no affine point at infinity; (0, 0) is not on the curve
      expect(usable(jwkOf(c, c.p, c.p))).toBe(false);
      expect(usable(jwkOf(c, x, c.p))).toBe(false);
      expect(usable(jwkOf(c, c.p, y))).toBe(false);
      const max = (1n << BigInt(8 * c.len)) - 1n;
      expect(usable(jwkOf(c, max, max))).toBe(false);
      // Coordinates + p: the same point mod p, but not canonical.
      if (x + c.p <= max) expect(usable(jwkOf(c, x + c.p, y))).toBe(false);
      if (y + c.p <= max) expect(usable(jwkOf(c, x, y + c.p))).toBe(false);
      // A small-x point and its non-canonical x + p (fits in the byte length for every curve here).
      const sx = liftableFrom(c, 1n);
      const sy = lift(c, sx)!;
      expect(usable(jwkOf(c, sx, sy))).toBe(true);
      expect(usable(jwkOf(c, sx, c.p - sy))).toBe(true);
      expect(usable(jwkOf(c, sx + c.p, sy))).toBe(false);
      // Its x has leading zero bytes. importEcPublicKey itself takes exactly curveByteLength bytes; the JWK
      // parser (assembly/jwks/jwks.ts) pads shorter coordinates back, as OpenSSL accepts them, so a dropped
      // zero byte still names the same point, while an extra one (too long) is refused.
      const xb = toBytes(sx, c.len);
      expect(xb[0]).toBe(0);
      expect(usable(jwkOf(c, xb.subarray(1), toBytes(sy, c.len)))).toBe(true);
      expect(usable(jwkOf(c, Buffer.concat([Buffer.from([0]), xb]), toBytes(sy, c.len)))).toBe(false);
      expect(usable(jwkOf(c, xb, Buffer.concat([Buffer.from([0]), toBytes(sy, c.len)])))).toBe(false);
      expect(usable(jwkOf(c, Buffer.alloc(0), Buffer.alloc(0)))).toBe(false); // (0, 0) after padding
      expect(usable(jwkOf(c, toBytes(x, c.len), Buffer.alloc(0)))).toBe(false); // (x, 0)
      // A point of another curve under this crv.
      for (const o of CURVES) {
        if (o === c) continue;
        const [ox, oy] = ecMul(o, randomScalar(o), G(o))!;
        expect(usable({ kty: "EC", crv: c.crv, x: b64u(toBytes(ox, o.len)), y: b64u(toBytes(oy, o.len)) })).toBe(false);
      }
      // Largest x below p that is on the curve, and G itself.
      const bigX = (() => {
        for (let v = c.p - 1n; ; v--) if (lift(c, v) !== null) return v;
      })();
      expect(usable(jwkOf(c, bigX, lift(c, bigX)!))).toBe(true);
      expect(usable(jwkOf(c, c.gx, c.gy))).toBe(true);
    });
  }
});

describe("bit-flip and truncation sweeps, alg/kty confusion, every curve", () => {
  test.each(CURVES)("$crv: every bit of the signature and message flipped, every truncation: rejected", (c) => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
    const key = crypto.importKey(publicKey.export({ format: "jwk" }));
    const msg = Buffer.from(`eyJhbGciOiJ${c.alg}In0.eyJzdWIiOiJzd2VlcCJ9`);
    const sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
    expect(crypto.verify(c.alg, key, msg, sig)).toBe(true);
    let accepted = 0;
    for (let bit = 0; bit < sig.length * 8; bit++) if (crypto.verify(c.alg, key, msg, flipBit(sig, bit))) accepted++;
    for (let bit = 0; bit < msg.length * 8; bit++) if (crypto.verify(c.alg, key, flipBit(msg, bit), sig)) accepted++;
    for (let len = 0; len < sig.length; len++) if (crypto.verify(c.alg, key, msg, sig.subarray(0, len))) accepted++;
    for (let len = 0; len < msg.length; len++) if (crypto.verify(c.alg, key, msg.subarray(0, len), sig)) accepted++;
    expect(accepted).toBe(0);
  });

  test.each(CURVES)("$crv: the signature under the other ES algs, RS256, HS256 or EdDSA is rejected", (c) => {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
    const jwk = publicKey.export({ format: "jwk" });
    const key = crypto.importKey(jwk);
    const msg = Buffer.from("alg confusion");
    const sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
    expect(crypto.verify(c.alg, key, msg, sig)).toBe(true);
    for (const alg of ["ES256", "ES384", "ES512", "RS256", "PS256", "HS256", "EdDSA"]) {
      if (alg !== c.alg) expect(crypto.verify(alg, key, msg, sig)).toBe(false);
    }
    // The JWK's own alg and crv must agree with the verification alg.
    const other = CURVES.find((o) => o !== c)!;
    expect(crypto.verify(c.alg, { ...jwk, alg: other.alg }, msg, sig)).toBe(false);
    expect(crypto.verify(c.alg, { ...jwk, alg: c.alg }, msg, sig)).toBe(true);
    expect(crypto.verify(c.alg, { ...jwk, crv: other.crv }, msg, sig)).toBe(false);
    // An RSA key never verifies an ES signature.
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" });
    expect(crypto.verify(c.alg, rsa, msg, sig)).toBe(false);
  });
});

describe("coordinates with leading zero bytes, every curve", () => {
  test.each(CURVES)("$crv: a Node key whose x starts with 0x00 verifies with full-length and shortened x", (c) => {
    for (let i = 0; i < 20000; i++) {
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
      const jwk = publicKey.export({ format: "jwk" });
      const x = Buffer.from(jwk.x!, "base64url");
      expect(x.length).toBe(c.len); // Node writes full-size coordinates (RFC 7518 §6.2.1.2)
      if (x[0] !== 0) continue;
      const msg = Buffer.from("leading zero");
      const sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
      expect(crypto.verify(c.alg, jwk, msg, sig)).toBe(true);
      expect(crypto.verify(c.alg, { ...jwk, x: b64u(x.subarray(1)) }, msg, sig)).toBe(true);
      expect(crypto.verify(c.alg, { ...jwk, x: b64u(Buffer.concat([Buffer.from([0]), x])) }, msg, sig)).toBe(false);
      expect(crypto.verify(c.alg, jwk, msg, flipBit(sig, 3))).toBe(false);
      return;
    }
    throw new Error("no key with a leading zero byte in x");
  });
});

describe("no trap on hostile input", () => {
  test("20,000+ random and mutated keys and signatures: every call returns", () => {
    const sizes = () => {
      const r = randomInt(100);
      return r < 40 ? randomInt(0, 140) : r < 90 ? randomInt(0, 1024) : randomInt(0, 16 * 1024 + 1);
    };
    const fill = (n: number): Buffer => {
      const k = randomInt(4);
      return k === 0 ? Buffer.alloc(n, 0) : k === 1 ? Buffer.alloc(n, 0xff) : randomBytes(n);
    };
    const realKeys = CURVES.map((c) => {
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.crv });
      return { c, jwk: publicKey.export({ format: "jwk" }), privateKey, key: crypto.importKey(publicKey.export({ format: "jwk" })) };
    });
    let calls = 0;
    let accepted = 0;
    for (let i = 0; i < 8000; i++) {
      // Keys: coordinates of random size/content, or the exact size with random, zero or 0xFF bytes.
      const c = CURVES[i % 3];
      const exact = i % 2 === 0;
      const jx = exact ? fill(c.len) : fill(sizes());
      const jy = exact ? fill(c.len) : fill(sizes());
      const key = crypto.importKey({ kty: "EC", crv: c.crv, x: b64u(jx), y: b64u(jy) });
      calls++;
      if (key.usable) {
        // Only a genuine curve point can be accepted.
        expect(onCurve(c, toBig(jx), toBig(jy))).toBe(true);
        expect(crypto.verify(c.alg, key, jx, fill(2 * c.len))).toBe(false);
        calls++;
      }
    }
    for (let i = 0; i < 12000; i++) {
      const { c, key, privateKey } = realKeys[i % 3];
      const msg = randomBytes(randomInt(0, 64));
      let sig: Buffer;
      const kind = i % 6;
      if (kind === 0) sig = fill(sizes());
      else if (kind === 1) sig = fill(2 * c.len);
      else if (kind === 2) {
        // r or s (or both) set to extreme values, the other half random.
        const half = () => [Buffer.alloc(c.len), Buffer.alloc(c.len, 0xff), toBytes(c.n, c.len), toBytes(c.n - 1n, c.len),
          toBytes(1n, c.len), randomBytes(c.len)][randomInt(6)];
        sig = Buffer.concat([half(), half()]);
      } else {
        // A real signature with a few random byte changes, a truncation or an extension.
        sig = nodeSign(c.hash, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
        const m = randomInt(4);
        if (m === 0) sig = sig.subarray(0, randomInt(sig.length));
        else if (m === 1) sig = Buffer.concat([sig, randomBytes(randomInt(1, 4))]);
        else for (let j = randomInt(1, 4); j > 0; j--) sig[randomInt(sig.length)] = randomInt(256);
      }
      if (crypto.verify(c.alg, key, msg, sig)) accepted++;
      calls++;
      // Also under the other ES algs (refused before ECDSA by the alg/curve binding) and as a plain JWK.
      if (i % 50 === 0) {
        for (const o of CURVES) if (o !== c) expect(crypto.verify(o.alg, key, msg, sig)).toBe(false);
        crypto.verify(c.alg, { kty: "EC", crv: c.crv, x: b64u(fill(sizes())), y: b64u(fill(c.len)) }, msg, sig);
        calls += 3;
      }
    }
    expect(calls).toBeGreaterThanOrEqual(20000);
    // Mutations that happen to leave the signature unchanged (same byte written back) are still valid.
    expect(accepted).toBeLessThan(400);
    // The instance is still healthy after all that.
    const { c, jwk, privateKey } = realKeys[0];
    const m = Buffer.from("after fuzz");
    expect(crypto.verify(c.alg, jwk, m, nodeSign(c.hash, m, { key: privateKey, dsaEncoding: "ieee-p1363" }))).toBe(true);
  });
});
