// Double-width products for the P-384 and P-521 fields (p384.ts, p521.ts): module scratch for the product
// that each field's reduction then reads, and the steps of P-521's row-wise square. Public data only;
// raw loads and stores on caller-checked pointers, no allocation, never traps.

/** Scratch for one double-width product: up to 2 x 17 words (P-521). */
@lazy export const WIDE: usize = memory.data(34 * 4, 16);

/** Before the cross products of an n-word square are accumulated into w: w[0 .. n) = 0 and w[2n - 1] = 0. */
export function sqrClear(w: usize, n: i32): void {
  memory.fill(w, 0, <usize>n << 2);
  store<u32>(w + (<usize>(2 * n - 1) << 2), 0);
}

/**
 * w holds the sum of the cross products a_i a_j (i < j) at word i + j, over 2n words: w = 2 w + sum a_i^2
 * at word 2i, that is w = a^2.
 */
export function sqrDiagonal(w: usize, a: usize, n: i32): void {
  let carry: u64 = 0;
  let top: u32 = 0;
  for (let end = a + (<usize>n << 2); a < end; a += 4, w += 8) {
    let d = <u64>load<u32>(a);
    let x = d * d;
    let s0 = load<u32>(w), s1 = load<u32>(w, 4);
    carry += <u64>((s0 << 1) | top) + (x & 0xFFFFFFFF);
    store<u32>(w, <u32>carry);
    carry = (carry >> 32) + <u64>((s1 << 1) | (s0 >>> 31)) + (x >> 32);
    store<u32>(w, <u32>carry, 4);
    carry >>= 32;
    top = s1 >>> 31;
  }
}
