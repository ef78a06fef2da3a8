// EdDSA / Ed25519 (assembly/crypto/ed25519.ts + ed25519/{field,scalar,point}.ts) through the public
// loadCrypto() API: Wycheproof, RFC 8032 §7.1 and RFC 8037 vectors, 2,000 keys and signatures made by Node
// with bit flips, edge cases (S range, non-canonical and off-curve points, small-order A and R with
// signatures built in BigInt that a lenient or bare-equation verifier accepts, a mixed-order A showing the
// equation is cofactorless, lengths), and a 24,000-input no-trap fuzz run.
import {
  createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomInt, sign as nodeSign,
  verify as nodeVerify,
} from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadCrypto, loadCryptoWasmForTests, Crypto, Key } from "../../../host/crypto/index";

const VECTORS = path.join(__dirname, "..", "..", "vectors");
const unhex = (h: string) => Buffer.from(h, "hex");
const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const okp = (x: Uint8Array) => ({ kty: "OKP", crv: "Ed25519", x: b64u(x) });

let crypto: Crypto;

beforeAll(async () => {
  crypto = await loadCrypto();
});

function flipBit(b: Uint8Array, bit: number): Buffer {
  const c = Buffer.from(b);
  c[bit >> 3] ^= 1 << (bit & 7);
  return c;
}

// --- A small, slow reference of the curve in BigInt (only to construct edge cases) ---------------------

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const mod = (a: bigint, m: bigint = P) => ((a % m) + m) % m;
function pow(b: bigint, e: bigint, m: bigint = P): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
const inv = (a: bigint) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);
/** Extended coordinates (X, Y, Z, T), the formulas of RFC 8032 §5.1.4. */
type Pt = [bigint, bigint, bigint, bigint];
const IDENTITY: Pt = [0n, 1n, 1n, 0n];
function add(p: Pt, q: Pt): Pt {
  const a = mod((p[1] - p[0]) * (q[1] - q[0])), b = mod((p[1] + p[0]) * (q[1] + q[0]));
  const c = mod(2n * p[3] * q[3] * D), d = mod(2n * p[2] * q[2]);
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}
function mul(s: bigint, p: Pt): Pt {
  let q = IDENTITY;
  while (s > 0n) {
    if (s & 1n) q = add(q, p);
    p = add(p, p);
    s >>= 1n;
  }
  return q;
}
const leToBig = (b: Uint8Array) => BigInt("0x" + (Buffer.from(b).reverse().toString("hex") || "0"));
const bigToLe = (x: bigint, n = 32) => Buffer.from(x.toString(16).padStart(n * 2, "0"), "hex").reverse();
function encode(p: Pt): Buffer {
  const zi = inv(p[2]);
  const x = mod(p[0] * zi), y = mod(p[1] * zi);
  return bigToLe(y | ((x & 1n) << 255n));
}
/** RFC 8032 §5.1.3 decoding; null when it fails. */
function decode(b: Uint8Array): Pt | null {
  const v = leToBig(b);
  const y = v & ((1n << 255n) - 1n);
  const sign = v >> 255n;
  if (y >= P) return null;
  const x2 = mod((y * y - 1n) * inv(D * y * y + 1n));
  if (x2 === 0n) return sign ? null : [0n, y, 1n, 0n];
  let x = pow(x2, (P + 3n) / 8n);
  if (mod(x * x - x2) !== 0n) x = mod(x * SQRT_M1);
  if (mod(x * x - x2) !== 0n) return null;
  if ((x & 1n) !== sign) x = P - x;
  return [x, y, 1n, mod(x * y)];
}
const isSquare = (a: bigint) => a === 0n || pow(a, (P - 1n) / 2n) === 1n;
const BASE = decode(unhex("5866666666666666666666666666666666666666666666666666666666666666"))!;

/** The secret scalar a of an RFC 8032 seed (§5.1.5 steps 1-3). */
function secretScalar(seed: Uint8Array): bigint {
  const h = createHash("sha512").update(seed).digest();
  const a = Buffer.from(h.subarray(0, 32));
  a[0] &= 248;
  a[31] &= 127;
  a[31] |= 64;
  return leToBig(a);
}
const hashModL = (...parts: Uint8Array[]) => mod(leToBig(createHash("sha512").update(Buffer.concat(parts)).digest()), L);

/** The eight points of order dividing 8: [i]T for a point T of order 8 found as [L]Q for curve points Q. */
const TORSION: Buffer[] = (() => {
  for (let y = 2n; ; y++) {
    const q = decode(bigToLe(y));
    if (!q) continue;
    const t = mul(L, q);
    if (encode(mul(4n, t)).equals(encode(IDENTITY))) continue; // order < 8
    const out: Buffer[] = [];
    let m = IDENTITY;
    for (let i = 0; i < 8; i++) {
      out.push(encode(m));
      m = add(m, t);
    }
    return out;
  }
})();

// --- Vectors -----------------------------------------------------------------------------------------

describe("Wycheproof ed25519_test.json", () => {
  test("every valid test accepted, every invalid one rejected (151 tests)", () => {
    const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, "wycheproof/testvectors_v1/ed25519_test.json"), "utf8"));
    const tally = { valid: 0, invalid: 0 };
    for (const group of doc.testGroups) {
      expect(group.publicKeyJwk.x).toBe(b64u(unhex(group.publicKey.pk)));
      const key = crypto.importKey(group.publicKeyJwk);
      expect(key.usable).toBe(true);
      expect(key.bits).toBe(256);
      for (const t of group.tests) {
        expect(["valid", "invalid"]).toContain(t.result);
        const want = t.result === "valid";
        const msg = unhex(t.msg);
        const sig = unhex(t.sig);
        const got = crypto.verify("EdDSA", key, msg, sig);
        if (got !== want) throw new Error(`tcId ${t.tcId} (${t.result}, ${t.flags}, ${t.comment}): got ${got}`);
        // The same through a plain JWK imported for the call.
        expect(crypto.verify("EdDSA", group.publicKeyJwk, msg, sig)).toBe(want);
        tally[t.result as "valid" | "invalid"]++;
      }
    }
    expect(tally).toEqual({ valid: 88, invalid: 63 });
    expect(tally.valid + tally.invalid).toBe(doc.numberOfTests);
  });
});

// RFC 8032 §7.1, "Test Vectors for Ed25519": SECRET KEY (the seed), PUBLIC KEY, MESSAGE, SIGNATURE.
const RFC8032: Array<{ name: string; secret: string; pub: string; msg: string; sig: string }> = [
  {
    name: "TEST 1",
    secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pub: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pub: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    pub: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    msg: "af82",
    sig: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST 1024",
    secret: "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
    pub: "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
    msg: [
      "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1",
      "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d",
      "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a",
      "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
      "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10",
      "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1",
      "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d",
      "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
      "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b",
      "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
      "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b",
      "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
      "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d",
      "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df",
      "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7",
      "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
      "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09",
      "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f",
      "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161",
      "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
      "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca",
      "c60c905c15fc910840b94c00a0b9d0",
    ].join(""),
    sig: "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
  },
  {
    name: "TEST SHA(abc)",
    secret: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    pub: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    // MESSAGE is SHA-512("abc").
    msg: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    sig: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
];

/** A Node private KeyObject from a 32-byte seed (JWK import; RFC 8037 §2). */
function privateFromSeed(seed: Uint8Array, pub: Uint8Array) {
  return createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: b64u(seed), x: b64u(pub) }, format: "jwk" });
}

describe("RFC 8032 §7.1 test vectors", () => {
  test("transcription checks: lengths, SHA(abc), and Node derives the same signatures from the seeds", () => {
    expect(unhex(RFC8032[3].msg)).toHaveLength(1023);
    expect(RFC8032[4].msg).toBe(createHash("sha512").update("abc").digest("hex"));
    for (const v of RFC8032) {
      // Ed25519 is deterministic: the seed reproduces the printed signature byte for byte.
      const sig = nodeSign(null, unhex(v.msg), privateFromSeed(unhex(v.secret), unhex(v.pub)));
      expect(sig.toString("hex")).toBe(v.sig);
      // And the public key is [a]B for the seed's scalar a (checks the BigInt reference too).
      expect(encode(mul(secretScalar(unhex(v.secret)), BASE)).toString("hex")).toBe(v.pub);
    }
    // TEST 1, 2, 3 and 1024 are also Wycheproof tcIds 80..83 (taken from the draft that became the RFC).
    const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, "wycheproof/testvectors_v1/ed25519_test.json"), "utf8"));
    const byId = new Map<number, { msg: string; sig: string }>();
    for (const g of doc.testGroups) for (const t of g.tests) byId.set(t.tcId, t);
    for (let i = 0; i < 4; i++) {
      expect(byId.get(80 + i)!.msg).toBe(RFC8032[i].msg);
      expect(byId.get(80 + i)!.sig).toBe(RFC8032[i].sig);
    }
  });

  for (const v of RFC8032) {
    test(`${v.name}: verifies; every bit flip of signature and message, every other length, fails`, () => {
      const key = crypto.importKey(okp(unhex(v.pub)));
      expect(key.usable).toBe(true);
      const msg = unhex(v.msg);
      const sig = unhex(v.sig);
      expect(crypto.verify("EdDSA", key, msg, sig)).toBe(true);
      expect(crypto.verify("EdDSA", { ...okp(unhex(v.pub)), alg: "EdDSA" }, msg, sig)).toBe(true);
      for (let bit = 0; bit < 512; bit++) {
        expect(crypto.verify("EdDSA", key, msg, flipBit(sig, bit))).toBe(false);
      }
      const step = msg.length > 200 ? 7 : 1;
      for (let bit = 0; bit < msg.length * 8; bit += step) {
        expect(crypto.verify("EdDSA", key, flipBit(msg, bit), sig)).toBe(false);
      }
      for (let n = 0; n < 64; n++) expect(crypto.verify("EdDSA", key, msg, sig.subarray(0, n))).toBe(false);
      expect(crypto.verify("EdDSA", key, msg, Buffer.concat([sig, Buffer.alloc(1)]))).toBe(false);
      expect(crypto.verify("EdDSA", key, Buffer.concat([msg, Buffer.alloc(1)]), sig)).toBe(false);
      // Every bit of the key flipped: another key (or none) and no valid signature.
      for (let bit = 0; bit < 256; bit += 5) {
        expect(crypto.verify("EdDSA", okp(flipBit(unhex(v.pub), bit)), msg, sig)).toBe(false);
      }
    });
  }
});

describe("RFC 8037 Appendix A (Ed25519 JWK and JWS)", () => {
  // A.1/A.2: the key (the RFC 8032 TEST 1 key), A.4: signing {"alg":"EdDSA"} over "Example of Ed25519
  // signing", A.5: the same JWS verifies.
  const jwk = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
  const d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
  const jws =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." +
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

  test("transcription: header, payload and Node's deterministic signature match the printed JWS", () => {
    const [h, p, s] = jws.split(".");
    expect(Buffer.from(h, "base64url").toString()).toBe('{"alg":"EdDSA"}');
    expect(Buffer.from(p, "base64url").toString()).toBe("Example of Ed25519 signing");
    expect(Buffer.from(jwk.x, "base64url").toString("hex")).toBe(RFC8032[0].pub);
    expect(Buffer.from(d, "base64url").toString("hex")).toBe(RFC8032[0].secret);
    const priv = privateFromSeed(Buffer.from(d, "base64url"), Buffer.from(jwk.x, "base64url"));
    expect(b64u(nodeSign(null, Buffer.from(`${h}.${p}`), priv))).toBe(s);
  });

  test("A.5: the JWS verifies with the public JWK, and not when tampered", () => {
    const [h, p, s] = jws.split(".");
    const input = Buffer.from(`${h}.${p}`, "ascii");
    const sig = Buffer.from(s, "base64url");
    expect(crypto.verify("EdDSA", jwk, input, sig)).toBe(true);
    expect(crypto.verify("EdDSA", { ...jwk, alg: "EdDSA" }, input, sig)).toBe(true);
    expect(crypto.verify("EdDSA", { ...jwk, alg: "ES256" }, input, sig)).toBe(false);
    expect(crypto.verify("EdDSA", jwk, Buffer.from(`${h}.${p}x`), sig)).toBe(false);
    expect(crypto.verify("EdDSA", jwk, input, flipBit(sig, 3))).toBe(false);
    // kty/alg confusion: the OKP key is no key for other algorithms.
    for (const alg of ["RS256", "ES256", "HS256", "PS256"]) expect(crypto.verify(alg, jwk, input, sig)).toBe(false);
  });
});

// --- Node cross-check ---------------------------------------------------------------------------------

describe("keys and signatures made by Node", () => {
  test("2,000 random key/message pairs verify; one flipped bit in signature, message or key is rejected", () => {
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const jwk = publicKey.export({ format: "jwk" });
      const x = Buffer.from(jwk.x!, "base64url");
      const msg = randomBytes(i < 20 ? i : randomInt(0, 600));
      const sig = nodeSign(null, msg, privateKey);
      const key = crypto.importKey(jwk);
      expect(key.usable).toBe(true);
      if (crypto.verify("EdDSA", key, msg, sig)) accepted++;
      else throw new Error(`valid signature rejected: x=${jwk.x} msg=${msg.toString("hex")} sig=${sig.toString("hex")}`);
      const target = msg.length === 0 ? i % 2 : i % 3;
      let ok: boolean;
      if (target === 0) {
        ok = crypto.verify("EdDSA", key, msg, flipBit(sig, randomInt(512)));
      } else if (target === 1) {
        ok = crypto.verify("EdDSA", okp(flipBit(x, randomInt(256))), msg, sig);
      } else {
        ok = crypto.verify("EdDSA", key, flipBit(msg, randomInt(msg.length * 8)), sig);
      }
      if (ok) throw new Error(`tampered signature accepted (target ${target}): x=${jwk.x} sig=${sig.toString("hex")}`);
      rejected++;
    }
    expect(accepted).toBe(2000);
    expect(rejected).toBe(2000);
  });

  test("one key, many messages (the per-key table is reused); our verdicts equal Node's on mutated inputs", () => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const key = crypto.importKey(publicKey.export({ format: "jwk" }));
    for (let i = 0; i < 300; i++) {
      const msg = randomBytes(randomInt(0, 2000));
      const sig = nodeSign(null, msg, privateKey);
      expect(crypto.verify("EdDSA", key, msg, sig)).toBe(true);
      // Replace S with random canonical scalars and R with other points: both verifiers say no.
      const bad = Buffer.from(sig);
      if (i % 2) randomBytes(32).copy(bad, 32);
      else randomBytes(32).copy(bad, 0);
      bad[63] &= 0x0f;
      expect(crypto.verify("EdDSA", key, msg, bad)).toBe(nodeVerify(null, msg, publicKey, bad));
    }
  });
});

// --- Edge cases ---------------------------------------------------------------------------------------

describe("edge cases", () => {
  const seed = unhex(RFC8032[1].secret);
  const pub = unhex(RFC8032[1].pub);
  const msg = unhex(RFC8032[1].msg);
  const sig = unhex(RFC8032[1].sig);
  const a = secretScalar(seed);
  const withS = (s: bigint | Buffer) => Buffer.concat([sig.subarray(0, 32), Buffer.isBuffer(s) ? s : bigToLe(s)]);
  const withR = (r: Buffer, s: Buffer = sig.subarray(32)) => Buffer.concat([r, s]);
  let key: Key;

  beforeAll(() => {
    key = crypto.importKey(okp(pub));
    expect(crypto.verify("EdDSA", key, msg, sig)).toBe(true);
  });

  test("S >= L is rejected: L, L + 1, L + S, L + small, 2^253 - 1, 2^253 + S, 2^255 + S, all 0xff", () => {
    const s = leToBig(sig.subarray(32));
    expect(s).toBeLessThan(L);
    for (const bad of [L, L + 1n, L + s, L + 2n, L + 7n, L + 8n, (1n << 253n) - 1n, (1n << 253n) + s, (1n << 254n) + s, (1n << 255n) + s, (1n << 256n) - 1n]) {
      expect(crypto.verify("EdDSA", key, msg, withS(bad))).toBe(false);
    }
    // Just below the bound is a valid scalar (it only fails the equation here).
    expect(crypto.verify("EdDSA", key, msg, withS(L - 1n))).toBe(false);
    expect(crypto.verify("EdDSA", key, msg, withS(0n))).toBe(false);
  });

  test("a signature with S + L (the same scalar mod L) is rejected although the equation holds", () => {
    // Node/OpenSSL rejects it too; only a verifier that reduces S would accept.
    const s = leToBig(sig.subarray(32));
    expect(crypto.verify("EdDSA", key, msg, withS(s + L))).toBe(false);
    expect(nodeVerify(null, msg, createPublicKey({ key: okp(pub), format: "jwk" }), withS(s + L))).toBe(false);
  });

  test("R not on the curve, R with y >= p, R = -R', R with x = 0 and the sign bit set: rejected", () => {
    // y values whose (y^2 - 1) / (d y^2 + 1) is not a square decode to no point.
    let offCurve = 0;
    for (let y = 2n; offCurve < 10; y++) {
      const u = mod(y * y - 1n) * inv(D * y * y + 1n);
      if (isSquare(mod(u))) continue;
      expect(decode(bigToLe(y))).toBeNull();
      expect(crypto.verify("EdDSA", key, msg, withR(bigToLe(y)))).toBe(false);
      expect(crypto.verify("EdDSA", key, msg, withR(bigToLe(y | (1n << 255n))))).toBe(false);
      offCurve++;
    }
    // Non-canonical y: p .. 2^255 - 1, both signs.
    for (let e = 0n; e < 19n; e++) {
      expect(crypto.verify("EdDSA", key, msg, withR(bigToLe(P + e)))).toBe(false);
      expect(crypto.verify("EdDSA", key, msg, withR(bigToLe((P + e) | (1n << 255n))))).toBe(false);
    }
    // The real R with its sign bit flipped is -R: a valid point, the wrong one.
    expect(crypto.verify("EdDSA", key, msg, withR(flipBit(sig.subarray(0, 32), 255)))).toBe(false);
    // x = 0 with the sign bit set (y = 1 and y = -1).
    expect(crypto.verify("EdDSA", key, msg, withR(bigToLe(1n | (1n << 255n))))).toBe(false);
    expect(crypto.verify("EdDSA", key, msg, withR(bigToLe((P - 1n) | (1n << 255n))))).toBe(false);
  });

  // A point A that fails strict decoding or has small order is refused at import. The JWK parser keeps such
  // a key in the set, as jwt_verify_lib does (only `x` of the wrong length makes it unusable), so the refusal
  // shows as: no signature ever verifies with it, not even one that satisfies [S]B = R + [k]A for the point
  // a lenient decoder would read.

  /**
   * A signature over some message that satisfies the bare equation for the small-order point t = TORSION[i]
   * (as the key, whatever bytes `aBytes` encode it): R = [S]B has order L, and the message is chosen so
   * that [k]t = O, i.e. k i = 0 mod 8 (t = [i]T8). Every verifier without our checks on A accepts it.
   */
  function forgeWithSmallOrderKey(aBytes: Buffer, i: number): { msg: Buffer; sig: Buffer } {
    const sScalar = 987654321987654321n;
    const R = encode(mul(sScalar, BASE));
    for (let n = 0; ; n++) {
      const m = Buffer.from(`message ${n}`);
      const k = hashModL(R, aBytes, m);
      if ((k * BigInt(i)) % 8n !== 0n) continue;
      // The equation holds in the reference.
      expect(encode(mul(sScalar, BASE))).toEqual(encode(add(decode(R)!, mul(k, decode(TORSION[i])!))));
      return { msg: m, sig: Buffer.concat([R, bigToLe(sScalar)]) };
    }
  }
  const torsionIndex = (b: Buffer) => TORSION.findIndex((t) => t.equals(b));

  test("the eight small-order points: refused as A even for signatures that satisfy the equation", () => {
    expect(new Set(TORSION.map((t) => t.toString("hex"))).size).toBe(8);
    for (const t of TORSION) expect(encode(mul(8n, decode(t)!))).toEqual(encode(IDENTITY));
    expect(TORSION[0].toString("hex")).toBe("01" + "00".repeat(31));
    expect(torsionIndex(Buffer.alloc(32))).toBeGreaterThan(0); // 00..00 is y = 0, a point of order 4
    for (let i = 0; i < 8; i++) {
      const { msg: m, sig: s } = forgeWithSmallOrderKey(TORSION[i], i);
      const k = crypto.importKey(okp(TORSION[i]));
      expect(crypto.verify("EdDSA", k, m, s)).toBe(false);
      expect(crypto.verify("EdDSA", okp(TORSION[i]), m, s)).toBe(false);
    }
    // A = identity: (R = identity, S = 0) satisfies the equation for any message (OpenSSL, so Node, accepts).
    expect(crypto.verify("EdDSA", okp(TORSION[0]), Buffer.from("any message"), Buffer.concat([TORSION[0], Buffer.alloc(32)]))).toBe(false);
  });

  test("non-canonical and negative-zero encodings of small-order A: refused (a lenient decoder accepts)", () => {
    // y = 1 + p and y = p (both < 2^255), either sign; y = 1 and y = -1 with the sign of x = 0 set.
    const encodings = [P + 1n, (P + 1n) | (1n << 255n), P, P | (1n << 255n), 1n | (1n << 255n), (P - 1n) | (1n << 255n)];
    for (const y of encodings) {
      const aBytes = bigToLe(y);
      expect(decode(aBytes)).toBeNull();
      // What a decoder that reduces y mod p and ignores the sign of x = 0 would read.
      const v = leToBig(aBytes);
      const yy = mod(v & ((1n << 255n) - 1n));
      let lenient = decode(bigToLe(yy | (v >> 255n << 255n))) ?? decode(bigToLe(yy));
      expect(lenient).not.toBeNull();
      const i = torsionIndex(encode(lenient!));
      expect(i).toBeGreaterThanOrEqual(0);
      const { msg: m, sig: s } = forgeWithSmallOrderKey(aBytes, i);
      expect(crypto.verify("EdDSA", okp(aBytes), m, s)).toBe(false);
    }
  });

  test("A that does not decode: y >= p, off the curve, x = 0 with the sign bit set; never verifies", () => {
    for (let e = 0n; e < 19n; e++) {
      for (const y of [P + e, (P + e) | (1n << 255n)]) {
        expect(decode(bigToLe(y))).toBeNull();
        expect(crypto.verify("EdDSA", okp(bigToLe(y)), msg, sig)).toBe(false);
      }
    }
    let offCurve = 0;
    for (let y = 2n; offCurve < 10; y++) {
      if (decode(bigToLe(y))) continue;
      expect(crypto.verify("EdDSA", okp(bigToLe(y)), msg, sig)).toBe(false);
      expect(crypto.verify("EdDSA", okp(bigToLe(y)), msg, withR(bigToLe(y)))).toBe(false);
      offCurve++;
    }
    // The real key with y + p is impossible (y >= 19); the real key with the sign bit flipped is -A.
    expect(crypto.verify("EdDSA", okp(flipBit(pub, 255)), msg, sig)).toBe(false);
  });

  test("R: small order (identity, in every encoding) refused even when [S]B = R + [k]A holds", () => {
    // With a prime-order A only an R of order 1 can satisfy the equation: S = k a. The canonical identity
    // (OpenSSL, Go and BoringSSL accept that one; only the holder of the private key can make it), its
    // non-canonical twin y = 1 + p, and both with the sign bit set.
    for (const y of [1n, P + 1n, 1n | (1n << 255n), (P + 1n) | (1n << 255n)]) {
      const r = bigToLe(y);
      const k = hashModL(r, pub, msg);
      const forged = withR(r, bigToLe(mod(k * a, L)));
      expect(encode(mul(leToBig(forged.subarray(32)), BASE))).toEqual(encode(mul(k, decode(pub)!)));
      expect(crypto.verify("EdDSA", key, msg, forged)).toBe(false);
    }
    // Every small-order R with a few S values.
    for (const t of TORSION) {
      for (const s of [0n, 1n, leToBig(sig.subarray(32))]) {
        expect(crypto.verify("EdDSA", key, msg, withR(t, bigToLe(s)))).toBe(false);
      }
    }
  });

  test("the same construction with an honest R = [r]B verifies (the equation code is right)", () => {
    for (const rr of [1n, 2n, 123456789n, L - 1n]) {
      const R = encode(mul(rr, BASE));
      const k = hashModL(R, pub, msg);
      expect(crypto.verify("EdDSA", key, msg, withR(R, bigToLe(mod(rr + k * a, L))))).toBe(true);
      expect(crypto.verify("EdDSA", key, msg, withR(R, bigToLe(mod(rr + k * a + 1n, L))))).toBe(false);
    }
  });

  test("cofactorless: with a mixed-order A' = A + T, a signature by a verifies only when [k]T = O", () => {
    // A' = A + T with T of order 8 and private scalar a: [S]B = R + [k]A' needs [k]T = O, i.e. k = 0 mod 8.
    // A cofactored verifier ([8][S]B = [8]R + [8][k]A') would accept all of them.
    const t = TORSION[1];
    const mixed = encode(add(decode(pub)!, decode(t)!));
    const k = crypto.importKey(okp(mixed));
    expect(k.usable).toBe(true);
    const rr = 42n;
    const R = encode(mul(rr, BASE));
    let checked = 0;
    for (let n = 0; checked < 6; n++) {
      const m = Buffer.from(`mixed ${n}`);
      const h = hashModL(R, mixed, m);
      const s = withR(R, bigToLe(mod(rr + h * a, L)));
      expect(crypto.verify("EdDSA", k, m, s)).toBe(h % 8n === 0n);
      if (h % 8n === 0n) checked++;
    }
  });

  test("signature lengths other than 64 are rejected: 0, 1, 32, 63, 65, 96, 128, 16 KiB", () => {
    for (const n of [0, 1, 32, 63]) expect(crypto.verify("EdDSA", key, msg, sig.subarray(0, n))).toBe(false);
    for (const extra of [Buffer.alloc(1), sig.subarray(0, 32), sig, Buffer.alloc(16384 - 64)]) {
      expect(crypto.verify("EdDSA", key, msg, Buffer.concat([sig, extra]))).toBe(false);
    }
    // Wrong length with the valid 64 bytes in the middle.
    expect(crypto.verify("EdDSA", key, msg, Buffer.concat([Buffer.alloc(1), sig]))).toBe(false);
  });

  test("all-zero and all-0xff keys and signatures", () => {
    // 00..00 is y = 0, a point of order 4 (see above); ff..ff has y >= p.
    for (const s of [Buffer.alloc(64, 0), Buffer.alloc(64, 0xff)]) {
      expect(crypto.verify("EdDSA", key, msg, s)).toBe(false);
      expect(crypto.verify("EdDSA", okp(Buffer.alloc(32, 0)), msg, s)).toBe(false);
      expect(crypto.verify("EdDSA", okp(Buffer.alloc(32, 0xff)), msg, s)).toBe(false);
    }
  });

  test("key length other than 32 bytes, and non-OKP/other curves, give unusable keys", () => {
    for (const n of [0, 1, 31, 33, 57, 64]) expect(crypto.importKey(okp(randomBytes(n))).usable).toBe(false);
    expect(crypto.importKey({ kty: "OKP", crv: "Ed448", x: b64u(pub) }).usable).toBe(false);
    expect(crypto.importKey({ kty: "OKP", crv: "X25519", x: b64u(pub) }).usable).toBe(false);
    expect(crypto.importKey({ kty: "OKP", x: b64u(pub) }).usable).toBe(false);
    expect(crypto.importKey({ kty: "OKP", crv: "Ed25519" }).usable).toBe(false);
    expect(crypto.importKey({ kty: "OKP", crv: "Ed25519", x: b64u(pub) + "=" }).usable).toBe(false);
    expect(crypto.importKey({ kty: "EC", crv: "Ed25519", x: b64u(pub) }).usable).toBe(false);
    expect(crypto.importKey({ ...okp(pub), alg: "EdDSA" }).usable).toBe(true);
    expect(crypto.importKey({ ...okp(pub), alg: "ES256" }).usable).toBe(false);
  });

  test("every message length 0..300 and a 1 MiB message (Node signs, we verify)", () => {
    const priv = privateFromSeed(seed, pub);
    for (let n = 0; n <= 300; n++) {
      const m = randomBytes(n);
      expect(crypto.verify("EdDSA", key, m, nodeSign(null, m, priv))).toBe(true);
    }
    const big = randomBytes(1 << 20);
    const bigSig = nodeSign(null, big, priv);
    expect(crypto.verify("EdDSA", key, big, bigSig)).toBe(true);
    expect(crypto.verify("EdDSA", key, flipBit(big, 8 * 1000000 + 3), bigSig)).toBe(false);
  });
});

// --- No-trap fuzz -------------------------------------------------------------------------------------

describe("no-trap fuzz", () => {
  function rng(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pool = Buffer.alloc(1 << 18);
    for (let i = 0; i < pool.length; i += 4) pool.writeUInt32LE(Math.floor(next() * 4294967296), i);
    return {
      next,
      int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo)),
      bytes: (len: number) => {
        const at = Math.floor(next() * (pool.length - len));
        return Buffer.from(pool.subarray(at, at + len));
      },
      pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    };
  }

  test("24,000 random and mutated keys and signatures (0..16 KiB): no exception, nothing forged", async () => {
    const { crypto: c, raw } = await loadCryptoWasmForTests();
    const seed = 0xed25519;
    const r = rng(seed);
    const pairs = Array.from({ length: 8 }, () => {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const jwk = publicKey.export({ format: "jwk" });
      const msg = randomBytes(randomInt(0, 200));
      return { jwk, key: c.importKey(jwk), x: Buffer.from(jwk.x!, "base64url"), msg, sig: nodeSign(null, msg, privateKey) };
    });
    const baseline = raw.liveKeyCount();
    const points = [...TORSION, ...pairs.map((p) => p.x), ...pairs.map((p) => p.sig.subarray(0, 32))];
    const size = (): number => {
      const roll = r.next();
      if (roll < 0.6) return 64;
      if (roll < 0.8) return r.int(0, 130);
      return r.int(0, 16385);
    };
    const mutate = (b: Buffer): Buffer => {
      const m = Buffer.from(b);
      switch (r.int(0, 8)) {
        case 0: if (m.length) m[r.int(0, m.length)] ^= 1 << r.int(0, 8); return m;
        case 1: return m.subarray(0, r.int(0, m.length + 1));
        case 2: return Buffer.concat([m, r.bytes(r.int(1, 40))]);
        case 3: if (m.length >= 64) r.bytes(32).copy(m, 32); if (m.length >= 64) m[63] &= 0x0f; return m; // canonical random S
        case 4: if (m.length >= 32) r.pick(points).copy(m, 0); return m; // R a real point (full verification)
        case 5: if (m.length >= 64) m[63] |= 0xf0; return m;
        case 6: for (let i = 0; i < 4 && m.length; i++) m[r.int(0, m.length)] = r.int(0, 256); return m;
        default: return r.bytes(m.length);
      }
    };
    let iterations = 0;
    let fullPath = 0;
    for (; iterations < 24000; iterations++) {
      const roll = r.next();
      const p = r.pick(pairs);
      let jwk: object | Key;
      let sig: Buffer;
      let msg: Buffer = p.msg;
      let mayVerify = false;
      if (roll < 0.2) {
        // Random or mutated key text, random signature.
        const x = r.next() < 0.5 ? r.bytes(r.pick([32, 32, 32, 0, 31, 33, r.int(0, 100)])) : mutate(p.x);
        jwk = r.next() < 0.9 ? okp(x) : { kty: "OKP", crv: r.pick(["Ed25519", "Ed448", "", 1]), x: r.pick([b64u(x), x.toString("latin1"), null, 5]) };
        sig = r.next() < 0.5 ? r.bytes(size()) : mutate(p.sig);
        // A mutation can leave both unchanged.
        mayVerify = x.equals(p.x) && sig.equals(p.sig);
      } else if (roll < 0.9) {
        // A good key, a mutated signature (some unchanged ones slip through: they must verify).
        jwk = p.key;
        sig = mutate(p.sig);
        mayVerify = sig.equals(p.sig);
        if (r.next() < 0.1) msg = mutate(msg);
        if (!msg.equals(p.msg)) mayVerify = false;
      } else {
        // A mutated key (often still a point) against a good signature.
        const x = mutate(p.x);
        jwk = okp(x);
        sig = p.sig;
        mayVerify = x.equals(p.x);
      }
      let got: boolean;
      try {
        got = c.verify("EdDSA", jwk, msg, sig);
      } catch (e) {
        throw new Error(`seed ${seed.toString(16)} iteration ${iterations}: ${(e as Error).message}`);
      }
      if (got && !mayVerify) throw new Error(`seed ${seed.toString(16)} iteration ${iterations}: forged signature accepted: key ${"kty" in jwk && !("usable" in jwk) ? JSON.stringify(jwk) : p.jwk.x} msg ${msg.toString("hex")} sig ${sig.toString("hex")}`);
      if (sig.length === 64 && (sig[63] & 0xf0) === 0) fullPath++;
    }
    expect(iterations).toBe(24000);
    expect(fullPath).toBeGreaterThan(5000);
    // Temporary keys were released, and the instance still verifies.
    expect(raw.liveKeyCount()).toBe(baseline);
    for (const p of pairs) expect(c.verify("EdDSA", p.key, p.msg, p.sig)).toBe(true);
  });
});
