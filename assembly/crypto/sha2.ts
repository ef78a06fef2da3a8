// SHA-256, SHA-384 and SHA-512 (FIPS 180-4), incremental and one-shot. Owns the round constants and the
// module-level message-schedule scratch: no allocation per hash, no host calls, never traps on any length.
// Not re-entrant (one shared schedule buffer), which is fine in a single-threaded wasm VM.

export const enum HashAlg {
  SHA256 = 0,
  SHA384 = 1,
  SHA512 = 2,
}

/** Largest digest size in bytes (SHA-512). */
export const MAX_HASH_LENGTH: i32 = 64;

/** Digest size in bytes, or 0 for an unknown algorithm. */
export function hashLength(alg: HashAlg): i32 {
  if (alg == HashAlg.SHA256) return 32;
  if (alg == HashAlg.SHA384) return 48;
  if (alg == HashAlg.SHA512) return 64;
  return 0;
}

// FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes.
@lazy const K256: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// FIPS 180-4 §4.2.3: first 64 bits of the fractional parts of the cube roots of the first 80 primes.
@lazy const K512: usize = memory.data<u64>([
  0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
  0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
  0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
  0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
  0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
  0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
  0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
  0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
  0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
  0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
  0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
  0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
  0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
  0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
  0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
  0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
  0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
  0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
  0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
  0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
]);

// Message schedules, shared by every hasher instance.
@lazy const W256: usize = memory.data(64 * 4, 16);
@lazy const W512: usize = memory.data(80 * 8, 16);

/** Compresses `blocks` consecutive 64-byte blocks at p into the 8-word state at st. */
function compress256(st: usize, p: usize, blocks: i32): void {
  let h0 = load<u32>(st, 0), h1 = load<u32>(st, 4), h2 = load<u32>(st, 8), h3 = load<u32>(st, 12);
  let h4 = load<u32>(st, 16), h5 = load<u32>(st, 20), h6 = load<u32>(st, 24), h7 = load<u32>(st, 28);
  let w = W256;
  while (blocks > 0) {
    for (let i = 0; i < 16; i++) {
      store<u32>(w + (<usize>i << 2), bswap<u32>(load<u32>(p + (<usize>i << 2))));
    }
    for (let i = 16; i < 64; i++) {
      let x15 = load<u32>(w + (<usize>(i - 15) << 2));
      let x2 = load<u32>(w + (<usize>(i - 2) << 2));
      let s0 = rotr<u32>(x15, 7) ^ rotr<u32>(x15, 18) ^ (x15 >>> 3);
      let s1 = rotr<u32>(x2, 17) ^ rotr<u32>(x2, 19) ^ (x2 >>> 10);
      store<u32>(w + (<usize>i << 2),
        load<u32>(w + (<usize>(i - 16) << 2)) + s0 + load<u32>(w + (<usize>(i - 7) << 2)) + s1);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      let s1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      // Ch(e,f,g) = (e & f) ^ (~e & g), written as g ^ (e & (f ^ g)).
      let ch = g ^ (e & (f ^ g));
      let t1 = h + s1 + ch + load<u32>(K256 + (<usize>i << 2)) + load<u32>(w + (<usize>i << 2));
      let s0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      // Maj(a,b,c) = (a & b) ^ (a & c) ^ (b & c), written as (a & b) | (c & (a | b)).
      let maj = (a & b) | (c & (a | b));
      h = g; g = f; f = e; e = d + t1;
      d = c; c = b; b = a; a = t1 + s0 + maj;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    p += 64;
    blocks--;
  }
  store<u32>(st, h0, 0); store<u32>(st, h1, 4); store<u32>(st, h2, 8); store<u32>(st, h3, 12);
  store<u32>(st, h4, 16); store<u32>(st, h5, 20); store<u32>(st, h6, 24); store<u32>(st, h7, 28);
}

/** Compresses `blocks` consecutive 128-byte blocks at p into the 8-word state at st. */
function compress512(st: usize, p: usize, blocks: i32): void {
  let h0 = load<u64>(st, 0), h1 = load<u64>(st, 8), h2 = load<u64>(st, 16), h3 = load<u64>(st, 24);
  let h4 = load<u64>(st, 32), h5 = load<u64>(st, 40), h6 = load<u64>(st, 48), h7 = load<u64>(st, 56);
  let w = W512;
  while (blocks > 0) {
    for (let i = 0; i < 16; i++) {
      store<u64>(w + (<usize>i << 3), bswap<u64>(load<u64>(p + (<usize>i << 3))));
    }
    for (let i = 16; i < 80; i++) {
      let x15 = load<u64>(w + (<usize>(i - 15) << 3));
      let x2 = load<u64>(w + (<usize>(i - 2) << 3));
      let s0 = rotr<u64>(x15, 1) ^ rotr<u64>(x15, 8) ^ (x15 >>> 7);
      let s1 = rotr<u64>(x2, 19) ^ rotr<u64>(x2, 61) ^ (x2 >>> 6);
      store<u64>(w + (<usize>i << 3),
        load<u64>(w + (<usize>(i - 16) << 3)) + s0 + load<u64>(w + (<usize>(i - 7) << 3)) + s1);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 80; i++) {
      let s1 = rotr<u64>(e, 14) ^ rotr<u64>(e, 18) ^ rotr<u64>(e, 41);
      let ch = g ^ (e & (f ^ g));
      let t1 = h + s1 + ch + load<u64>(K512 + (<usize>i << 3)) + load<u64>(w + (<usize>i << 3));
      let s0 = rotr<u64>(a, 28) ^ rotr<u64>(a, 34) ^ rotr<u64>(a, 39);
      let maj = (a & b) | (c & (a | b));
      h = g; g = f; f = e; e = d + t1;
      d = c; c = b; b = a; a = t1 + s0 + maj;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e; h5 += f; h6 += g; h7 += h;
    p += 128;
    blocks--;
  }
  store<u64>(st, h0, 0); store<u64>(st, h1, 8); store<u64>(st, h2, 16); store<u64>(st, h3, 24);
  store<u64>(st, h4, 32); store<u64>(st, h5, 40); store<u64>(st, h6, 48); store<u64>(st, h7, 56);
}

/** Incremental SHA-256. update() accepts any split of the input; finish() resets for reuse. */
export class Sha256 {
  private state: StaticArray<u32> = new StaticArray<u32>(8);
  private block: StaticArray<u8> = new StaticArray<u8>(64);
  private blockLen: i32 = 0;
  private total: u64 = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    let st = changetype<usize>(this.state);
    store<u32>(st, 0x6a09e667, 0); store<u32>(st, 0xbb67ae85, 4);
    store<u32>(st, 0x3c6ef372, 8); store<u32>(st, 0xa54ff53a, 12);
    store<u32>(st, 0x510e527f, 16); store<u32>(st, 0x9b05688c, 20);
    store<u32>(st, 0x1f83d9ab, 24); store<u32>(st, 0x5be0cd19, 28);
    this.blockLen = 0;
    this.total = 0;
  }

  /** Absorbs len bytes at ptr; a negative len is treated as 0. */
  update(ptr: usize, len: i32): void {
    if (len <= 0) return;
    let st = changetype<usize>(this.state);
    let buf = changetype<usize>(this.block);
    let pos = this.blockLen;
    this.total += <u64>len;
    if (pos > 0) {
      let take = min(64 - pos, len);
      memory.copy(buf + <usize>pos, ptr, <usize>take);
      pos += take;
      ptr += <usize>take;
      len -= take;
      if (pos < 64) { // input exhausted before the block filled
        this.blockLen = pos;
        return;
      }
      compress256(st, buf, 1);
      pos = 0;
    }
    let blocks = len >> 6;
    if (blocks > 0) {
      compress256(st, ptr, blocks);
      ptr += <usize>blocks << 6;
      len &= 63;
    }
    if (len > 0) memory.copy(buf, ptr, <usize>len);
    this.blockLen = len;
  }

  /** Writes the 32-byte digest to out and resets the hasher. */
  finish(out: usize): void {
    let st = changetype<usize>(this.state);
    let buf = changetype<usize>(this.block);
    let n = this.blockLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 56) {
      memory.fill(buf + <usize>n, 0, <usize>(64 - n));
      compress256(st, buf, 1);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(56 - n));
    store<u64>(buf, bswap<u64>(this.total << 3), 56);
    compress256(st, buf, 1);
    for (let i = 0; i < 8; i++) {
      store<u32>(out + (<usize>i << 2), bswap<u32>(load<u32>(st + (<usize>i << 2))));
    }
    this.reset();
  }
}

/** Incremental SHA-512, or SHA-384 when constructed with is384 = true. */
export class Sha512 {
  private state: StaticArray<u64> = new StaticArray<u64>(8);
  private block: StaticArray<u8> = new StaticArray<u8>(128);
  private blockLen: i32 = 0;
  private total: u64 = 0;
  readonly is384: bool;

  constructor(is384: bool = false) {
    this.is384 = is384;
    this.reset();
  }

  /** Digest size in bytes: 48 or 64. */
  get digestLength(): i32 {
    return this.is384 ? 48 : 64;
  }

  reset(): void {
    let st = changetype<usize>(this.state);
    if (this.is384) {
      store<u64>(st, 0xcbbb9d5dc1059ed8, 0); store<u64>(st, 0x629a292a367cd507, 8);
      store<u64>(st, 0x9159015a3070dd17, 16); store<u64>(st, 0x152fecd8f70e5939, 24);
      store<u64>(st, 0x67332667ffc00b31, 32); store<u64>(st, 0x8eb44a8768581511, 40);
      store<u64>(st, 0xdb0c2e0d64f98fa7, 48); store<u64>(st, 0x47b5481dbefa4fa4, 56);
    } else {
      store<u64>(st, 0x6a09e667f3bcc908, 0); store<u64>(st, 0xbb67ae8584caa73b, 8);
      store<u64>(st, 0x3c6ef372fe94f82b, 16); store<u64>(st, 0xa54ff53a5f1d36f1, 24);
      store<u64>(st, 0x510e527fade682d1, 32); store<u64>(st, 0x9b05688c2b3e6c1f, 40);
      store<u64>(st, 0x1f83d9abfb41bd6b, 48); store<u64>(st, 0x5be0cd19137e2179, 56);
    }
    this.blockLen = 0;
    this.total = 0;
  }

  /** Absorbs len bytes at ptr; a negative len is treated as 0. */
  update(ptr: usize, len: i32): void {
    if (len <= 0) return;
    let st = changetype<usize>(this.state);
    let buf = changetype<usize>(this.block);
    let pos = this.blockLen;
    this.total += <u64>len;
    if (pos > 0) {
      let take = min(128 - pos, len);
      memory.copy(buf + <usize>pos, ptr, <usize>take);
      pos += take;
      ptr += <usize>take;
      len -= take;
      if (pos < 128) {
        this.blockLen = pos;
        return;
      }
      compress512(st, buf, 1);
      pos = 0;
    }
    let blocks = len >> 7;
    if (blocks > 0) {
      compress512(st, ptr, blocks);
      ptr += <usize>blocks << 7;
      len &= 127;
    }
    if (len > 0) memory.copy(buf, ptr, <usize>len);
    this.blockLen = len;
  }

  /** Writes the 64-byte (48 for SHA-384) digest to out and resets the hasher. */
  finish(out: usize): void {
    let st = changetype<usize>(this.state);
    let buf = changetype<usize>(this.block);
    let n = this.blockLen;
    store<u8>(buf + <usize>n, 0x80);
    n++;
    if (n > 112) {
      memory.fill(buf + <usize>n, 0, <usize>(128 - n));
      compress512(st, buf, 1);
      n = 0;
    }
    memory.fill(buf + <usize>n, 0, <usize>(112 - n));
    // 128-bit big-endian bit count: total is in bytes, so the high word holds its top 3 bits.
    store<u64>(buf, bswap<u64>(this.total >>> 61), 112);
    store<u64>(buf, bswap<u64>(this.total << 3), 120);
    compress512(st, buf, 1);
    let words = this.is384 ? 6 : 8;
    for (let i = 0; i < words; i++) {
      store<u64>(out + (<usize>i << 3), bswap<u64>(load<u64>(st + (<usize>i << 3))));
    }
    this.reset();
  }
}

/** Incremental SHA-384. */
export class Sha384 extends Sha512 {
  constructor() {
    super(true);
  }
}

// One-shot hashers, created on first use and reused.
@lazy const oneShot256 = new Sha256();
@lazy const oneShot384 = new Sha512(true);
@lazy const oneShot512 = new Sha512(false);

/** Hashes len bytes at data into out (hashLength(alg) bytes). Unknown alg: writes nothing. */
export function digestInto(alg: HashAlg, data: usize, len: i32, out: usize): void {
  if (alg == HashAlg.SHA256) {
    oneShot256.update(data, len);
    oneShot256.finish(out);
  } else if (alg == HashAlg.SHA384) {
    oneShot384.update(data, len);
    oneShot384.finish(out);
  } else if (alg == HashAlg.SHA512) {
    oneShot512.update(data, len);
    oneShot512.finish(out);
  }
}

/** Hashes len bytes at data into a new array (empty for an unknown alg). */
export function digest(alg: HashAlg, data: usize, len: i32): Uint8Array {
  let out = new Uint8Array(hashLength(alg));
  digestInto(alg, data, len, out.dataStart);
  return out;
}
