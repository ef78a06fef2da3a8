// SHA-256/384/512 (assembly/crypto/sha2.ts) through build/crypto.wasm: FIPS 180 examples, then random
// inputs with random update split points against Node's crypto.createHash.
import { createHash, randomBytes, randomInt } from "crypto";
import { loadCryptoWasmForTests, CryptoWasmForTests } from "../../../host/crypto/index";

const ALGS: Array<{ id: number; node: string; block: number }> = [
  { id: 0, node: "sha256", block: 64 },
  { id: 1, node: "sha384", block: 128 },
  { id: 2, node: "sha512", block: 128 },
];

let raw: CryptoWasmForTests;

beforeAll(async () => {
  raw = (await loadCryptoWasmForTests()).raw;
});

const hex = (b: Uint8Array | null) => (b === null ? "null" : Buffer.from(b).toString("hex"));
const nodeHash = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest("hex");

describe("SHA-2 known answers (FIPS 180-2 appendix examples)", () => {
  const abc = Buffer.from("abc");
  const m448 = Buffer.from("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  const m896 = Buffer.from(
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
  );
  const million = Buffer.alloc(1000000, 0x61);
  const cases: Array<[number, Buffer, string]> = [
    [0, Buffer.alloc(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    [0, abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    [0, m448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
    [0, million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
    [1, Buffer.alloc(0), "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"],
    [1, abc, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"],
    [1, m896, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"],
    [1, million, "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985"],
    [2, Buffer.alloc(0), "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"],
    [2, abc, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"],
    [2, m896, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"],
    [2, million, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"],
  ];
  test.each(cases.map(([id, data, want]) => [id, data.length, data, want]))(
    "alg %d, %d bytes",
    (id, _len, data, want) => {
      expect(hex(raw.sha(id as number, data as Buffer))).toBe(want);
      expect(hex(raw.shaSplit(id as number, data as Buffer, [1, 3, 64, 100, 129, 500001]))).toBe(want);
    },
  );

  test("unknown algorithm ids give no digest", () => {
    for (const id of [-1, 3, 99]) {
      expect(raw.sha(id, abc)).toBeNull();
      expect(raw.shaSplit(id, abc, [1])).toBeNull();
    }
  });
});

describe.each(ALGS)("$node against Node crypto", ({ id, node, block }) => {
  test("every length around the padding boundaries, one shot", () => {
    for (let len = 0; len <= 3 * block + 1; len++) {
      const data = randomBytes(len);
      expect(hex(raw.sha(id, data))).toBe(nodeHash(node, data));
    }
  });

  test("2,000 random inputs with random split points (several updates, including empty ones)", () => {
    for (let i = 0; i < 2000; i++) {
      // Lengths cluster around block multiples, where buffering bugs live.
      const len = i % 3 === 0 ? randomInt(0, 5 * block) : randomInt(0, 3) * block + randomInt(-3, 4) + block;
      const data = randomBytes(Math.max(0, len));
      const cuts = Array.from({ length: randomInt(1, 7) }, () => randomInt(0, data.length + 1)).sort((a, b) => a - b);
      expect(hex(raw.shaSplit(id, data, cuts))).toBe(nodeHash(node, data));
    }
  });

  test("every two-way split of a 3-block message", () => {
    const data = randomBytes(3 * block + 7);
    const want = nodeHash(node, data);
    for (let cut = 0; cut <= data.length; cut++) expect(hex(raw.shaSplit(id, data, [cut]))).toBe(want);
  });

  test("byte-at-a-time updates", () => {
    const data = randomBytes(2 * block + 5);
    const cuts = Array.from({ length: data.length }, (_, k) => k);
    expect(hex(raw.shaSplit(id, data, cuts))).toBe(nodeHash(node, data));
  });

  test("multi-megabyte input streamed in chunks", () => {
    const data = randomBytes((3 << 20) + 12345);
    expect(hex(raw.shaSplit(id, data, [17, 1 << 20, (2 << 20) + 3]))).toBe(nodeHash(node, data));
    expect(hex(raw.sha(id, data))).toBe(nodeHash(node, data));
  });
});
