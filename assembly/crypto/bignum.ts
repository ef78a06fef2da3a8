// Fixed-width modular arithmetic for moduli up to MAX_MODULUS_BITS: Montgomery multiplication and squaring,
// byte <-> limb conversion. Owns the per-modulus precomputation (MontModulus) and the module-level scratch;
// raw load/store only, no allocation after createMontModulus, no traps on any input.

// Representation: little-endian limbs of w bits (w = 28, or 27 for moduli above ~3300 bits), each in a u32.
// Limb products are < 2^(2w), so a whole column of a product (at most 2L products plus the carry) fits in
// one u64 accumulator with no carry handling: 2L * (2^w - 1)^2 + 2^(64-w) < 2^64 holds up to L = 127 for
// w = 28 (we switch at L = 120) and L = 511 for w = 27. The Montgomery product is computed by product
// scanning (Koc et al., "FIPS"), with R = 2^(w*L) and 4n < R, so inputs and outputs stay "almost reduced"
// (< 2n) and no conditional subtraction is needed inside an exponentiation.
// With the SIMD feature enabled (asc --enable simd) the inner loops use i64x2.extmul_*_i32x4_u (and the
// squaring computes two columns a pass, see montSqrSimd); the result is identical, the scalar loops are
// used otherwise.

export const MAX_MODULUS_BITS: i32 = 8192;
/** Enough limbs for MAX_MODULUS_BITS at 27 bits per limb: ceil((8192 + 2) / 27) = 304. */
export const MAX_LIMBS: i32 = 304;

/** A modulus n with everything Montgomery arithmetic needs, computed once. */
export class MontModulus {
  /** n as limbCount little-endian limbs of limbBits bits. */
  limbs: StaticArray<u32>;
  /** The same limbs, most significant first (the product-scanning loops read n backwards). */
  limbsReversed: StaticArray<u32>;
  /** R^2 mod n, fully reduced, same layout as limbs. */
  r2: StaticArray<u32>;
  limbCount: i32;
  limbBits: i32;
  limbMask: u32;
  /** -n^-1 mod 2^limbBits. */
  n0inv: u32;
  bitLength: i32;

  constructor(limbCount: i32, limbBits: i32, bitLength: i32) {
    this.limbs = new StaticArray<u32>(limbCount);
    this.limbsReversed = new StaticArray<u32>(limbCount);
    this.r2 = new StaticArray<u32>(limbCount);
    this.limbCount = limbCount;
    this.limbBits = limbBits;
    this.limbMask = (<u32>1 << <u32>limbBits) - 1;
    this.n0inv = 0;
    this.bitLength = bitLength;
  }
}

/** Number of significant bits of the big-endian number at p (len bytes, leading zeros allowed). */
export function bitLengthOf(p: usize, len: i32): i32 {
  for (let i = 0; i < len; i++) {
    let b = <u32>load<u8>(p + <usize>i);
    if (b != 0) return (len - i - 1) * 8 + (32 - <i32>clz<u32>(b));
  }
  return 0;
}

/**
 * Builds the Montgomery context of the odd big-endian modulus at p (len bytes, leading zeros allowed).
 * Null if n is even, has fewer than 3 bits or more than MAX_MODULUS_BITS bits.
 */
export function createMontModulus(p: usize, len: i32): MontModulus | null {
  if (len <= 0) return null;
  let bits = bitLengthOf(p, len);
  if (bits < 3 || bits > MAX_MODULUS_BITS) return null;
  if ((load<u8>(p + <usize>(len - 1)) & 1) == 0) return null;
  // 4n < R = 2^(w*L): L = ceil((bits + 2) / w).
  let w = 28;
  let count = (bits + 2 + 27) / 28;
  if (count > 120) {
    w = 27;
    count = (bits + 2 + 26) / 27;
  }
  let mod = new MontModulus(count, w, bits);
  let n = changetype<usize>(mod.limbs);
  if (!bytesToLimbs(mod, n, p, len)) return null;
  let rev = changetype<usize>(mod.limbsReversed);
  for (let i = 0; i < count; i++) {
    store<u32>(rev + (<usize>(count - 1 - i) << 2), load<u32>(n + (<usize>i << 2)));
  }
  // Newton iteration for n0^-1 mod 2^32: x = n0 is right to 3 bits (odd squares are 1 mod 8) and each
  // step doubles the number of correct bits: 3 -> 6 -> 12 -> 24 -> 48.
  let n0 = load<u32>(n);
  let x = n0;
  for (let i = 0; i < 4; i++) x = x * (2 - n0 * x);
  mod.n0inv = (0 - x) & mod.limbMask;
  computeR2(mod);
  return mod;
}

/**
 * Big-endian bytes -> limbs (dst gets exactly limbCount limbs). False if the value needs more than
 * limbCount * limbBits bits (dst then holds the truncated value).
 */
export function bytesToLimbs(mod: MontModulus, dst: usize, src: usize, len: i32): bool {
  let count = mod.limbCount;
  let w = <u64>mod.limbBits;
  let mask = <u64>mod.limbMask;
  let acc: u64 = 0;
  let bits: u64 = 0;
  let k = 0;
  let overflow: u64 = 0;
  for (let i = len - 1; i >= 0; i--) {
    acc |= <u64>load<u8>(src + <usize>i) << bits;
    bits += 8;
    if (bits >= w) {
      if (k < count) store<u32>(dst + (<usize>k << 2), <u32>(acc & mask));
      else overflow |= acc & mask;
      k++;
      acc >>= w;
      bits -= w;
    }
  }
  if (k < count) {
    store<u32>(dst + (<usize>k << 2), <u32>acc);
    k++;
    while (k < count) {
      store<u32>(dst + (<usize>k << 2), 0);
      k++;
    }
  } else {
    overflow |= acc;
  }
  return overflow == 0;
}

/** Limbs -> big-endian bytes, exactly len bytes (higher bits dropped, missing bytes zero). */
export function limbsToBytes(mod: MontModulus, dst: usize, src: usize, len: i32): void {
  let count = mod.limbCount;
  let w = mod.limbBits;
  let acc: u64 = 0;
  let bits = 0;
  let k = 0;
  for (let i = len - 1; i >= 0; i--) {
    if (bits < 8 && k < count) {
      acc |= <u64>load<u32>(src + (<usize>k << 2)) << <u64>bits;
      bits += w;
      k++;
    }
    store<u8>(dst + <usize>i, <u8>acc);
    acc >>= 8;
    bits -= 8;
    if (bits < 0) bits = 0;
  }
}

/** Compares two limb vectors of the modulus' length: -1, 0 or 1. */
export function compareLimbs(mod: MontModulus, a: usize, b: usize): i32 {
  for (let i = mod.limbCount - 1; i >= 0; i--) {
    let x = load<u32>(a + (<usize>i << 2));
    let y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// t = a - b over limbCount limbs (t may alias a or b); returns the final borrow (0 or 1).
function subLimbs(mod: MontModulus, t: usize, a: usize, b: usize): u32 {
  let mask = mod.limbMask;
  let shift = <u32>mod.limbBits;
  let borrow: u32 = 0;
  for (let i = 0, count = mod.limbCount; i < count; i++) {
    let off = <usize>i << 2;
    let d = load<u32>(a + off) - load<u32>(b + off) - borrow;
    store<u32>(t + off, d & mask);
    // Limbs are < 2^w <= 2^28, so a negative difference shows up in bit w (two's complement wrap).
    borrow = (d >> shift) & 1;
  }
  return borrow;
}

/** Brings an almost-reduced x (< 2n, in fact any x < 3n) below n, in place. */
export function reduceLimbs(mod: MontModulus, x: usize): void {
  let n = changetype<usize>(mod.limbs);
  for (let i = 0; i < 2; i++) {
    if (compareLimbs(mod, x, n) < 0) return;
    subLimbs(mod, x, x, n);
  }
}

// Scratch for the product-scanning loops: two blocks, each holding a second array at the fixed distance
// SPAN, so one pointer walks two arrays (the second through a constant load offset):
//   LEFT:  A[j] = a_j, and at +SPAN M[j] = m_j (the Montgomery quotient digits, written as computed);
//   RIGHT: B[r] = b_(L-1-r), and at +SPAN N[r] = n_(L-1-r) (second operand and modulus, reversed).
// Column i's terms a_j * b_(i-j) and m_j * n_(i-j) sit at index j on the left and L-1-i+j on the right,
// so both pointers ascend together and groups of 4 limbs are contiguous (v128 loads with SIMD).
// N is copied only when the modulus changes.
// Each array has room for MAX_LIMBS + 4 limbs: the SIMD squaring reads whole groups of 4, up to 3 limbs
// past an array's L limbs and one limb below the right-hand ones. What such reads may add is zero: the
// extra left-hand lanes are masked or meet M[L..L+3], which montSqrSimd zeroes; B[-1] is the zero pad
// below RIGHT and N[-1] is B[MAX_LIMBS + 3], which nothing writes.
const SPAN: usize = 1232; // (MAX_LIMBS + 4) * 4, a multiple of 16
@lazy const LEFT: usize = memory.data(2 * 1232, 16);
@lazy const RIGHT: usize = memory.data(16 + 2 * 1232, 16) + 16; // 16 zero bytes below B
// MASKS + 16r: the first r u32 lanes all ones, the rest zero (r = 0..4).
@lazy const MASKS: usize = memory.data<u32>([0, 0, 0, 0, 0xffffffff, 0, 0, 0, 0xffffffff, 0xffffffff, 0, 0,
  0xffffffff, 0xffffffff, 0xffffffff, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], 16);
let rightModulus: MontModulus | null = null;

@inline function loadOperands(mod: MontModulus, a: usize, b: usize): void {
  let count = mod.limbCount;
  let last = <usize>(count - 1) << 2;
  for (let i = 0; i < count; i++) {
    let off = <usize>i << 2;
    store<u32>(LEFT + off, load<u32>(a + off));
    store<u32>(RIGHT + last - off, load<u32>(b + off));
  }
  if (rightModulus !== mod) {
    rightModulus = mod;
    memory.copy(RIGHT + SPAN, changetype<usize>(mod.limbsReversed), <usize>count << 2);
  }
}

// sum of A[j] * B[r] + M[j] * N[r] over `count` consecutive positions starting at pa, pb.
@inline function dotBoth(pa: usize, pb: usize, count: i32): u64 {
  let s: u64 = 0;
  let end = pa + (<usize>count << 2);
  if (ASC_FEATURE_SIMD) {
    let end4 = pa + (<usize>(count & ~3) << 2);
    let v0 = i64x2.splat(0);
    let v1 = i64x2.splat(0);
    while (pa < end4) {
      let xa = v128.load(pa), xm = v128.load(pa, SPAN);
      let yb = v128.load(pb), yn = v128.load(pb, SPAN);
      v0 = i64x2.add(v0, i64x2.add(i64x2.extmul_low_i32x4_u(xa, yb), i64x2.extmul_high_i32x4_u(xa, yb)));
      v1 = i64x2.add(v1, i64x2.add(i64x2.extmul_low_i32x4_u(xm, yn), i64x2.extmul_high_i32x4_u(xm, yn)));
      pa += 16;
      pb += 16;
    }
    v0 = i64x2.add(v0, v1);
    s = i64x2.extract_lane(v0, 0) + i64x2.extract_lane(v0, 1);
  } else {
    let end2 = pa + (<usize>(count & ~1) << 2);
    while (pa < end2) {
      s += <u64>load<u32>(pa) * <u64>load<u32>(pb) + <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN)
        + <u64>load<u32>(pa, 4) * <u64>load<u32>(pb, 4) + <u64>load<u32>(pa, SPAN + 4) * <u64>load<u32>(pb, SPAN + 4);
      pa += 8;
      pb += 8;
    }
  }
  while (pa < end) {
    s += <u64>load<u32>(pa) * <u64>load<u32>(pb) + <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN);
    pa += 4;
    pb += 4;
  }
  return s;
}

// sum of M[j] * N[r] over `count` consecutive positions starting at pa, pb (the scalar squaring's).
@inline function dotMod(pa: usize, pb: usize, count: i32): u64 {
  let s: u64 = 0;
  let end = pa + (<usize>count << 2);
  let end4 = pa + (<usize>(count & ~3) << 2);
  while (pa < end4) {
    s += <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN) + <u64>load<u32>(pa, SPAN + 4) * <u64>load<u32>(pb, SPAN + 4)
      + <u64>load<u32>(pa, SPAN + 8) * <u64>load<u32>(pb, SPAN + 8)
      + <u64>load<u32>(pa, SPAN + 12) * <u64>load<u32>(pb, SPAN + 12);
    pa += 16;
    pb += 16;
  }
  while (pa < end) {
    s += <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN);
    pa += 4;
    pb += 4;
  }
  return s;
}

/**
 * Montgomery product t = a * b / R mod n, almost reduced (< 2n) when a, b < 2n.
 * t may alias a or b (the operands are copied first).
 */
export function montMul(mod: MontModulus, t: usize, a: usize, b: usize): void {
  loadOperands(mod, a, b);
  let count = mod.limbCount;
  let w = <u64>mod.limbBits;
  let mask = mod.limbMask;
  let n0inv = mod.n0inv;
  let n0 = <u64>load<u32>(changetype<usize>(mod.limbs));
  let b0 = <u64>load<u32>(b);
  let acc: u64 = 0;
  let last = <usize>(count - 1) << 2;
  // Columns 0..L-1 (the low half, cancelled by the m_i * n terms): j = 0..i-1, then a_i * b_0 + m_i * n_0.
  for (let i = 0; i < count; i++) {
    let off = <usize>i << 2;
    acc += dotBoth(LEFT, RIGHT + last - off, i);
    acc += <u64>load<u32>(LEFT + off) * b0;
    let mi = (<u32>acc * n0inv) & mask;
    store<u32>(LEFT + off, mi, SPAN);
    acc += <u64>mi * n0;
    acc >>= w; // the low w bits are zero by the choice of m_i
  }
  // Columns L-1+q for q = 1..L-1 (the high half is the result): j = q..L-1, right side from its start.
  for (let q = 1; q < count; q++) {
    acc += dotBoth(LEFT + (<usize>q << 2), RIGHT, count - q);
    store<u32>(t + (<usize>(q - 1) << 2), <u32>acc & mask);
    acc >>= w;
  }
  store<u32>(t + last, <u32>acc & mask);
}

/**
 * Montgomery square t = a * a / R mod n. Each cross product a_j * a_k (j < k) is summed once and
 * doubled; a column's cross pairs are a prefix of its m * n pairs, so one walk computes both.
 * t may alias a.
 */
export function montSqr(mod: MontModulus, t: usize, a: usize): void {
  loadOperands(mod, a, a);
  if (ASC_FEATURE_SIMD) {
    montSqrSimd(mod, t);
    return;
  }
  let count = mod.limbCount;
  let w = <u64>mod.limbBits;
  let mask = mod.limbMask;
  let n0inv = mod.n0inv;
  let n0 = <u64>load<u32>(changetype<usize>(mod.limbs));
  let acc: u64 = 0;
  let last = <usize>(count - 1) << 2;
  for (let i = 0, columns = 2 * count - 1; i < columns; i++) {
    // Column i: m terms for j = lo..hi-1 (below L, m_i * n_0 is added once m_i is known);
    // cross pairs for j = lo..lo+cross-1, i.e. j < i - j.
    let lo = i < count ? 0 : i - count + 1;
    let hi = i < count ? i : count;
    let cross = ((i + 1) >> 1) - lo;
    let pa = LEFT + (<usize>lo << 2);
    let pb = RIGHT + last - (<usize>(i - lo) << 2);
    let s: u64 = 0;
    let c: u64 = 0;
    let end = pa + (<usize>cross << 2);
    let end2 = pa + (<usize>(cross & ~1) << 2);
    while (pa < end2) {
      s += <u64>load<u32>(pa) * <u64>load<u32>(pb) + <u64>load<u32>(pa, 4) * <u64>load<u32>(pb, 4);
      c += <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN)
        + <u64>load<u32>(pa, SPAN + 4) * <u64>load<u32>(pb, SPAN + 4);
      pa += 8;
      pb += 8;
    }
    while (pa < end) {
      s += <u64>load<u32>(pa) * <u64>load<u32>(pb);
      c += <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN);
      pa += 4;
      pb += 4;
    }
    acc += (s << 1) + c + dotMod(pa, pb, hi - lo - cross);
    if ((i & 1) == 0) {
      let d = <u64>load<u32>(LEFT + (<usize>(i >> 1) << 2));
      acc += d * d;
    }
    if (i < count) {
      let mi = (<u32>acc * n0inv) & mask;
      store<u32>(LEFT + (<usize>i << 2), mi, SPAN);
      acc += <u64>mi * n0;
    } else {
      store<u32>(t + (<usize>(i - count) << 2), <u32>acc & mask);
    }
    acc >>= w;
  }
  store<u32>(t + last, <u32>acc & mask);
}

// One column of montSqrSimd, the same sums as its pair loops (for an odd L's last low column and the
// last column): returns the carry into the next column.
@inline function sqrColumn(mod: MontModulus, t: usize, i: i32, acc: u64): u64 {
  let count = mod.limbCount;
  let mask = mod.limbMask;
  let n0inv = mod.n0inv;
  let n0 = <u64>load<u32>(changetype<usize>(mod.limbs));
  let last = <usize>(count - 1) << 2;
  let zero = i64x2.splat(0);
  let lo = i < count ? 0 : i - count + 1;
  let hi = i < count ? i : count;
  let v = i < count ? max(i - 4, 0) & ~3 : count; // m terms j < v by vector, v..hi-1 scalar
  let cross = ((i + 1) >> 1) - lo;
  let pa = LEFT + (<usize>lo << 2);
  let pb = RIGHT + last - (<usize>(i - lo) << 2);
  let endc = pa + (<usize>(cross & ~3) << 2);
  let endm = LEFT + (<usize>v << 2);
  let endBoth = min(endc, endm);
  let vs = zero;
  let vc = zero;
  while (pa < endBoth) {
    let xa = v128.load(pa), xm = v128.load(pa, SPAN);
    let yb = v128.load(pb), yn = v128.load(pb, SPAN);
    vs = i64x2.add(vs, i64x2.add(i64x2.extmul_low_i32x4_u(xa, yb), i64x2.extmul_high_i32x4_u(xa, yb)));
    vc = i64x2.add(vc, i64x2.add(i64x2.extmul_low_i32x4_u(xm, yn), i64x2.extmul_high_i32x4_u(xm, yn)));
    pa += 16;
    pb += 16;
  }
  let qa = pa, qb = pb;
  while (qa < endc) {
    let xa = v128.load(qa), yb = v128.load(qb);
    vs = i64x2.add(vs, i64x2.add(i64x2.extmul_low_i32x4_u(xa, yb), i64x2.extmul_high_i32x4_u(xa, yb)));
    qa += 16;
    qb += 16;
  }
  let r = cross & 3;
  if (r != 0) {
    let xa = v128.and(v128.load(qa), v128.load(MASKS + (<usize>r << 4))), yb = v128.load(qb);
    vs = i64x2.add(vs, i64x2.add(i64x2.extmul_low_i32x4_u(xa, yb), i64x2.extmul_high_i32x4_u(xa, yb)));
  }
  while (pa < endm) {
    let xm = v128.load(pa, SPAN), yn = v128.load(pb, SPAN);
    vc = i64x2.add(vc, i64x2.add(i64x2.extmul_low_i32x4_u(xm, yn), i64x2.extmul_high_i32x4_u(xm, yn)));
    pa += 16;
    pb += 16;
  }
  vc = i64x2.add(vc, i64x2.shl(vs, 1));
  acc += i64x2.extract_lane(vc, 0) + i64x2.extract_lane(vc, 1);
  if ((i & 1) == 0) {
    let d = <u64>load<u32>(LEFT + (<usize>(i >> 1) << 2));
    acc += d * d;
  }
  if (i < count) {
    let end = LEFT + (<usize>i << 2);
    while (pa < end) {
      acc += <u64>load<u32>(pa, SPAN) * <u64>load<u32>(pb, SPAN);
      pa += 4;
      pb += 4;
    }
    let mi = (<u32>acc * n0inv) & mask;
    store<u32>(end, mi, SPAN);
    acc += <u64>mi * n0;
  } else {
    store<u32>(t + (<usize>(i - count) << 2), <u32>acc & mask);
  }
  return acc >> <u64>mod.limbBits;
}

// montSqr with SIMD, operands already in LEFT/RIGHT. The vector units' shuffles (two per extmul) bound
// the sums, so the loops add only whole groups of 4 and end with a masked group rather than scalar tails,
// and compute two adjacent columns a pass (fewer loops, loop exits and horizontal sums a column). In the low
// half the m_i chain (column sum -> m_i -> the next column) is the critical path, so the vector sums take
// only the quotient digits computed at least 4 columns earlier (j < v, v a multiple of 4) and the last
// 4..7 m_j * n_(i-j) are scalar multiplies: no vector work waits for the previous column's digit.
function montSqrSimd(mod: MontModulus, t: usize): void {
  let count = mod.limbCount;
  let w = <u64>mod.limbBits;
  let mask = mod.limbMask;
  let n0inv = mod.n0inv;
  let n0 = <u64>load<u32>(changetype<usize>(mod.limbs));
  let acc: u64 = 0;
  let last = <usize>(count - 1) << 2;
  let zero = i64x2.splat(0);
  v128.store(LEFT + SPAN + (<usize>count << 2), zero);
  // Low half, two columns a pass: i (even) and i + 1 share the left loads; both take m_j for j < v by
  // vector, i + 1 takes one more cross pair (through its mask) and no square.
  let i = 0;
  for (; i + 1 < count; i += 2) {
    let k = i >> 1; // column i has k cross pairs, column i + 1 has k + 1
    let v = max(i - 4, 0) & ~3;
    let g = k & ~3;
    let pa = LEFT;
    let pb = RIGHT + last - (<usize>i << 2); // column i; column i + 1 reads 4 bytes lower
    let endc = LEFT + (<usize>g << 2);
    let endm = LEFT + (<usize>v << 2);
    let endBoth = min(endc, endm);
    let vs0 = zero, vs1 = zero, vc0 = zero, vc1 = zero;
    while (pa < endBoth) {
      let xa = v128.load(pa), xm = v128.load(pa, SPAN);
      let y0 = v128.load(pb), y1 = v128.load(pb - 4);
      let n0v = v128.load(pb, SPAN), n1v = v128.load(pb - 4, SPAN);
      vs0 = i64x2.add(vs0, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y0), i64x2.extmul_high_i32x4_u(xa, y0)));
      vs1 = i64x2.add(vs1, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y1), i64x2.extmul_high_i32x4_u(xa, y1)));
      vc0 = i64x2.add(vc0, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n0v), i64x2.extmul_high_i32x4_u(xm, n0v)));
      vc1 = i64x2.add(vc1, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n1v), i64x2.extmul_high_i32x4_u(xm, n1v)));
      pa += 16;
      pb += 16;
    }
    let qa = pa, qb = pb;
    while (qa < endc) {
      let xa = v128.load(qa);
      let y0 = v128.load(qb), y1 = v128.load(qb - 4);
      vs0 = i64x2.add(vs0, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y0), i64x2.extmul_high_i32x4_u(xa, y0)));
      vs1 = i64x2.add(vs1, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y1), i64x2.extmul_high_i32x4_u(xa, y1)));
      qa += 16;
      qb += 16;
    }
    {
      let xa = v128.load(qa);
      let x0 = v128.and(xa, v128.load(MASKS + (<usize>(k - g) << 4)));
      let x1 = v128.and(xa, v128.load(MASKS + (<usize>(k + 1 - g) << 4)));
      let y0 = v128.load(qb), y1 = v128.load(qb - 4);
      vs0 = i64x2.add(vs0, i64x2.add(i64x2.extmul_low_i32x4_u(x0, y0), i64x2.extmul_high_i32x4_u(x0, y0)));
      vs1 = i64x2.add(vs1, i64x2.add(i64x2.extmul_low_i32x4_u(x1, y1), i64x2.extmul_high_i32x4_u(x1, y1)));
    }
    while (pa < endm) {
      let xm = v128.load(pa, SPAN);
      let n0v = v128.load(pb, SPAN), n1v = v128.load(pb - 4, SPAN);
      vc0 = i64x2.add(vc0, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n0v), i64x2.extmul_high_i32x4_u(xm, n0v)));
      vc1 = i64x2.add(vc1, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n1v), i64x2.extmul_high_i32x4_u(xm, n1v)));
      pa += 16;
      pb += 16;
    }
    vc0 = i64x2.add(vc0, i64x2.shl(vs0, 1));
    vc1 = i64x2.add(vc1, i64x2.shl(vs1, 1));
    let both = i64x2.add(i8x16.shuffle(vc0, vc1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
      i8x16.shuffle(vc0, vc1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
    let d = <u64>load<u32>(LEFT + (<usize>k << 2));
    acc += i64x2.extract_lane(both, 0) + d * d;
    let end = LEFT + (<usize>i << 2);
    let c1: u64 = i64x2.extract_lane(both, 1);
    while (pa < end) {
      let m = <u64>load<u32>(pa, SPAN);
      acc += m * <u64>load<u32>(pb, SPAN);
      c1 += m * <u64>load<u32>(pb - 4, SPAN);
      pa += 4;
      pb += 4;
    }
    let mi = (<u32>acc * n0inv) & mask;
    store<u32>(end, mi, SPAN);
    acc = (acc + <u64>mi * n0) >> w;
    acc += c1 + <u64>mi * <u64>load<u32>(pb - 4, SPAN);
    mi = (<u32>acc * n0inv) & mask;
    store<u32>(end + 4, mi, SPAN);
    acc = (acc + <u64>mi * n0) >> w;
  }
  if (i < count) acc = sqrColumn(mod, t, i++, acc);
  // High half, two columns a pass: column i + 1 starts one term later, whose right-hand limb, one below
  // the reversed arrays, is a zero pad.
  for (let columns = 2 * count - 1; i + 1 < columns; i += 2) {
    let lo = i - count + 1;
    let e0 = ((i + 1) >> 1) - lo; // cross pairs of column i from lo; column i + 1 has e1 (from lo, a zero first)
    let e1 = ((i + 2) >> 1) - lo;
    let g = e0 & ~3;
    let pa = LEFT + (<usize>lo << 2);
    let pb = RIGHT;
    let endc = pa + (<usize>g << 2);
    let endm = LEFT + (<usize>count << 2);
    let vs0 = zero, vs1 = zero, vc0 = zero, vc1 = zero;
    while (pa < endc) {
      let xa = v128.load(pa), xm = v128.load(pa, SPAN);
      let y0 = v128.load(pb), y1 = v128.load(pb - 4);
      let n0v = v128.load(pb, SPAN), n1v = v128.load(pb - 4, SPAN);
      vs0 = i64x2.add(vs0, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y0), i64x2.extmul_high_i32x4_u(xa, y0)));
      vs1 = i64x2.add(vs1, i64x2.add(i64x2.extmul_low_i32x4_u(xa, y1), i64x2.extmul_high_i32x4_u(xa, y1)));
      vc0 = i64x2.add(vc0, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n0v), i64x2.extmul_high_i32x4_u(xm, n0v)));
      vc1 = i64x2.add(vc1, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n1v), i64x2.extmul_high_i32x4_u(xm, n1v)));
      pa += 16;
      pb += 16;
    }
    {
      let xa = v128.load(pa);
      let x0 = v128.and(xa, v128.load(MASKS + (<usize>(e0 - g) << 4)));
      let x1 = v128.and(xa, v128.load(MASKS + (<usize>(e1 - g) << 4)));
      let y0 = v128.load(pb), y1 = v128.load(pb - 4);
      vs0 = i64x2.add(vs0, i64x2.add(i64x2.extmul_low_i32x4_u(x0, y0), i64x2.extmul_high_i32x4_u(x0, y0)));
      vs1 = i64x2.add(vs1, i64x2.add(i64x2.extmul_low_i32x4_u(x1, y1), i64x2.extmul_high_i32x4_u(x1, y1)));
    }
    while (pa < endm) {
      let xm = v128.load(pa, SPAN);
      let n0v = v128.load(pb, SPAN), n1v = v128.load(pb - 4, SPAN);
      vc0 = i64x2.add(vc0, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n0v), i64x2.extmul_high_i32x4_u(xm, n0v)));
      vc1 = i64x2.add(vc1, i64x2.add(i64x2.extmul_low_i32x4_u(xm, n1v), i64x2.extmul_high_i32x4_u(xm, n1v)));
      pa += 16;
      pb += 16;
    }
    vc0 = i64x2.add(vc0, i64x2.shl(vs0, 1));
    vc1 = i64x2.add(vc1, i64x2.shl(vs1, 1));
    let both = i64x2.add(i8x16.shuffle(vc0, vc1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
      i8x16.shuffle(vc0, vc1, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31));
    let d = <u64>load<u32>(LEFT + (<usize>((i + 1) >> 1) << 2));
    let d2 = d * d;
    let odd = <u64>(i & 1);
    acc += i64x2.extract_lane(both, 0) + (d2 & (odd - 1));
    store<u32>(t + (<usize>(i - count) << 2), <u32>acc & mask);
    acc = (acc >> w) + i64x2.extract_lane(both, 1) + (d2 & (0 - odd));
    store<u32>(t + (<usize>(i + 1 - count) << 2), <u32>acc & mask);
    acc >>= w;
  }
  if (i < 2 * count - 1) acc = sqrColumn(mod, t, i, acc);
  store<u32>(t + last, <u32>acc & mask);
}

// x = 2x mod n for x < n (limbs stay normalized; 2x < 2^(bits+1) < R fits in limbCount limbs).
function modDouble(mod: MontModulus, x: usize): void {
  let mask = mod.limbMask;
  let w = <u32>mod.limbBits;
  let carry: u32 = 0;
  for (let i = 0, count = mod.limbCount; i < count; i++) {
    let p = x + (<usize>i << 2);
    let v = (load<u32>(p) << 1) | carry;
    carry = v >> w;
    store<u32>(p, v & mask);
  }
  let n = changetype<usize>(mod.limbs);
  if (compareLimbs(mod, x, n) >= 0) subLimbs(mod, x, x, n);
}

// R^2 mod n with R = 2^(wL). Write wL = c * 2^k. Doubling 2^(bits-1) (which is < n) up to 2^(wL + c) mod n
// gives the Montgomery form of 2^c; k Montgomery squarings turn it into the Montgomery form of
// 2^(c * 2^k) = R, i.e. R * R mod n. That is a few hundred doublings instead of ~wL.
function computeR2(mod: MontModulus): void {
  let x = changetype<usize>(mod.r2);
  let count = mod.limbCount;
  let w = mod.limbBits;
  for (let i = 0; i < count; i++) store<u32>(x + (<usize>i << 2), 0);
  let top = mod.bitLength - 1;
  store<u32>(x + (<usize>(top / w) << 2), <u32>1 << <u32>(top % w));
  let wl = w * count;
  let k = min(<i32>ctz<u32>(<u32>wl), 8);
  let c = wl >> k;
  for (let i = wl + c - top; i > 0; i--) modDouble(mod, x);
  for (let i = 0; i < k; i++) montSqr(mod, x, x);
  reduceLimbs(mod, x);
}
