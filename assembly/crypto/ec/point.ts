// Point arithmetic on y^2 = x^3 - 3x + b in Jacobian coordinates over a Field (P-256, P-384 or P-521),
// plus the affine window tables and the double-scalar multiplication u1*G + u2*Q.
// Module-level scratch only; nothing here allocates except buildTable (import time).
import { cmpWords, copyWords, invMod, isZeroWords, setSmall, subWords } from "./words";
import { Field } from "./field";

// A Jacobian point (X, Y, Z) is three field elements of `words` words back to back; Z = 0 is infinity.
// An affine table entry (x, y) is two. Scratch slots are 72 bytes (MAX_WORDS words, 8-byte aligned).
const SLOT: usize = 72;
@lazy const TMP: usize = memory.data(<i32>SLOT * 10, 16);
@lazy const ZERO: usize = memory.data(<i32>SLOT, 16);
@lazy const CANON: usize = memory.data(<i32>SLOT, 16);
@lazy const DIFF: usize = memory.data(<i32>SLOT, 16);
@lazy const NEG_Y: usize = memory.data(<i32>SLOT, 16);
@lazy const DBL_PT: usize = memory.data(<i32>SLOT * 3, 16);
@lazy const BASE_PT: usize = memory.data(<i32>SLOT * 3, 16);

@inline function tmp(i: i32): usize {
  return TMP + <usize>i * SLOT;
}

/** r = a reduced to [0, p). */
export function feCanonical(f: Field, r: usize, a: usize): void {
  let nw = f.words;
  let p = f.p;
  copyWords(r, a, nw);
  // Elements are below 2^(32 nw) (P-256, P-384: < 2p) or 2^522 (P-521: < 2p + 2): at most two steps.
  while (cmpWords(r, p, nw) >= 0) subWords(r, r, p, nw);
}

/** True if a = 0 mod p. */
export function feIsZero(f: Field, a: usize): bool {
  feCanonical(f, CANON, a);
  return isZeroWords(CANON, f.words);
}

/** True if a = b mod p. */
export function feEqual(f: Field, a: usize, b: usize): bool {
  f.sub(DIFF, a, b);
  return feIsZero(f, DIFF);
}

/** True if the affine (x, y), both canonical, satisfies y^2 = x^3 - 3x + b. */
export function isOnCurve(f: Field, x: usize, y: usize, b: usize): bool {
  let t0 = tmp(0), t1 = tmp(1);
  f.sqr(t0, x);
  f.mul(t0, t0, x); // x^3
  f.add(t1, x, x);
  f.add(t1, t1, x); // 3x
  f.sub(t0, t0, t1);
  f.add(t0, t0, b);
  f.sqr(t1, y);
  return feEqual(f, t0, t1);
}

@inline function setInfinity(r: usize, nw: i32): void {
  let fb = <usize>nw << 2;
  setSmall(r, 1, nw);
  setSmall(r + fb, 1, nw);
  setSmall(r + 2 * fb, 0, nw);
}

/** r = 2p (Jacobian, a = -3; "dbl-2001-b", 3M + 5S). r may alias p. Infinity doubles to infinity. */
export function pointDouble(f: Field, r: usize, p: usize): void {
  let fb = <usize>f.words << 2;
  let x = p, y = p + fb, z = p + 2 * fb;
  let t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5);
  f.sqr(t0, z); // delta = Z^2
  f.sqr(t1, y); // gamma = Y^2
  f.mul(t2, x, t1); // beta = X * gamma
  f.sub(t3, x, t0);
  f.add(t4, x, t0);
  f.mul(t3, t3, t4);
  f.add(t4, t3, t3);
  f.add(t3, t4, t3); // alpha = 3 (X - delta)(X + delta)
  f.add(t4, y, z);
  f.sqr(t4, t4);
  f.sub(t4, t4, t1);
  f.sub(r + 2 * fb, t4, t0); // Z3 = (Y + Z)^2 - gamma - delta
  f.add(t2, t2, t2);
  f.add(t2, t2, t2); // 4 beta
  f.sqr(t5, t3);
  f.add(t4, t2, t2);
  f.sub(r, t5, t4); // X3 = alpha^2 - 8 beta
  f.sub(t2, t2, r);
  f.mul(t2, t2, t3);
  f.sqr(t1, t1);
  f.add(t1, t1, t1);
  f.add(t1, t1, t1);
  f.add(t1, t1, t1); // 8 gamma^2
  f.sub(r + fb, t2, t1); // Y3 = alpha (4 beta - X3) - 8 gamma^2
}

/**
 * r = p + (qx, qy) with (qx, qy) affine ("madd-2004-hmv", 8M + 3S). r may alias p. Handles p = infinity,
 * p = q (doubles) and p = -q (infinity).
 */
export function pointAddMixed(f: Field, r: usize, p: usize, qx: usize, qy: usize): void {
  let nw = f.words;
  let fb = <usize>nw << 2;
  let x1 = p, y1 = p + fb, z1 = p + 2 * fb;
  if (feIsZero(f, z1)) {
    copyWords(r, qx, nw);
    copyWords(r + fb, qy, nw);
    setSmall(r + 2 * fb, 1, nw);
    return;
  }
  let t0 = tmp(6), t1 = tmp(7), t2 = tmp(8), t3 = tmp(9);
  f.sqr(t0, z1); // Z1^2
  f.mul(t1, z1, t0); // Z1^3
  f.mul(t0, qx, t0); // U2
  f.mul(t1, qy, t1); // S2
  f.sub(t0, t0, x1); // H = U2 - X1
  f.sub(t1, t1, y1); // R = S2 - Y1
  if (feIsZero(f, t0)) {
    if (feIsZero(f, t1)) pointDouble(f, r, p);
    else setInfinity(r, nw);
    return;
  }
  f.mul(r + 2 * fb, z1, t0); // Z3 = Z1 H
  f.sqr(t2, t0); // HH
  f.mul(t0, t0, t2); // HHH
  f.mul(t2, x1, t2); // V = X1 HH
  f.sqr(t3, t1);
  f.sub(t3, t3, t0);
  f.sub(t3, t3, t2);
  f.sub(r, t3, t2); // X3 = R^2 - HHH - 2V
  f.sub(t2, t2, r);
  f.mul(t2, t2, t1); // R (V - X3)
  f.mul(t0, y1, t0); // Y1 HHH
  f.sub(r + fb, t2, t0);
}

/**
 * r = p + q, both Jacobian ("add-1998-cmo-2", 12M + 4S); for table building. r may alias either.
 * Handles infinity on either side, p = q and p = -q.
 */
export function pointAdd(f: Field, r: usize, p: usize, q: usize): void {
  let nw = f.words;
  let fb = <usize>nw << 2;
  let z1 = p + 2 * fb, z2 = q + 2 * fb;
  if (feIsZero(f, z1)) {
    copyWords(r, q, 3 * nw);
    return;
  }
  if (feIsZero(f, z2)) {
    copyWords(r, p, 3 * nw);
    return;
  }
  let t0 = tmp(0), t1 = tmp(1), t2 = tmp(2), t3 = tmp(3), t4 = tmp(4), t5 = tmp(5), t6 = tmp(6);
  f.sqr(t0, z1); // Z1Z1
  f.sqr(t1, z2); // Z2Z2
  f.mul(t2, p, t1); // U1 = X1 Z2Z2
  f.mul(t3, q, t0); // U2 = X2 Z1Z1
  f.mul(t4, p + fb, z2);
  f.mul(t4, t4, t1); // S1 = Y1 Z2^3
  f.mul(t5, q + fb, z1);
  f.mul(t5, t5, t0); // S2 = Y2 Z1^3
  f.sub(t3, t3, t2); // H
  f.sub(t5, t5, t4); // R
  if (feIsZero(f, t3)) {
    if (feIsZero(f, t5)) pointDouble(f, r, p);
    else setInfinity(r, nw);
    return;
  }
  f.mul(t6, z1, z2);
  f.mul(r + 2 * fb, t6, t3); // Z3 = Z1 Z2 H
  f.sqr(t0, t3); // HH
  f.mul(t3, t3, t0); // HHH
  f.mul(t2, t2, t0); // V = U1 HH
  f.sqr(t1, t5);
  f.sub(t1, t1, t3);
  f.sub(t1, t1, t2);
  f.sub(r, t1, t2); // X3 = R^2 - HHH - 2V
  f.sub(t2, t2, r);
  f.mul(t2, t2, t5);
  f.mul(t4, t4, t3); // S1 HHH
  f.sub(r + fb, t2, t4);
}

/**
 * Fills `out` with segments * entries affine points: entry (j, i) is (2i + 1) * 2^(j * segBits) * P for the
 * affine P = (x, y) (canonical coordinates of a point of order n). All Z are converted with one inversion
 * (Montgomery's trick). False if some point is infinity, which cannot happen for a point of prime order n
 * with (2 entries - 1) * 2^((segments - 1) * segBits) < n.
 */
export function buildTable(f: Field, out: usize, x: usize, y: usize, segments: i32, segBits: i32, entries: i32): bool {
  let nw = f.words;
  let fb = <usize>nw << 2;
  let count = segments * entries;
  let jac = new StaticArray<u32>(count * 3 * nw);
  let prefix = new StaticArray<u32>(count * nw);
  let J = changetype<usize>(jac);
  let Pre = changetype<usize>(prefix);
  let base = BASE_PT, dbl = DBL_PT;
  copyWords(base, x, nw);
  copyWords(base + fb, y, nw);
  setSmall(base + 2 * fb, 1, nw);
  for (let j = 0; j < segments; j++) {
    if (j > 0) for (let k = 0; k < segBits; k++) pointDouble(f, base, base);
    let first = J + <usize>(j * entries) * 3 * fb;
    copyWords(first, base, 3 * nw);
    pointDouble(f, dbl, base);
    for (let i = 1; i < entries; i++) {
      let cur = first + <usize>i * 3 * fb;
      pointAdd(f, cur, cur - 3 * fb, dbl);
    }
  }
  // prefix[i] = Z_0 * ... * Z_i
  copyWords(Pre, J + 2 * fb, nw);
  for (let i = 1; i < count; i++) {
    f.mul(Pre + <usize>i * fb, Pre + <usize>(i - 1) * fb, J + <usize>i * 3 * fb + 2 * fb);
  }
  let inv = tmp(0), zi = tmp(1), zi2 = tmp(2), t = tmp(3);
  feCanonical(f, t, Pre + <usize>(count - 1) * fb);
  if (!invMod(inv, t, f.p, nw)) return false;
  for (let i = count - 1; i >= 0; i--) {
    let pt = J + <usize>i * 3 * fb;
    if (i > 0) {
      f.mul(zi, inv, Pre + <usize>(i - 1) * fb); // 1 / Z_i
      f.mul(inv, inv, pt + 2 * fb); // 1 / (Z_0 ... Z_(i-1))
    } else {
      copyWords(zi, inv, nw);
    }
    let dst = out + <usize>i * 2 * fb;
    f.sqr(zi2, zi);
    f.mul(t, pt, zi2);
    feCanonical(f, dst, t);
    f.mul(zi2, zi2, zi);
    f.mul(t, pt + fb, zi2);
    feCanonical(f, dst + fb, t);
  }
  return true;
}

/**
 * Width-w NAF of the nw-word scalar k into `len` signed bytes at out (digit i has weight 2^i): every
 * nonzero digit is odd, |digit| < 2^(w-1), and any w consecutive digits hold at most one nonzero.
 * Needs k < 2^(len - 1) so the final carry has room.
 */
export function wnaf(out: usize, k: usize, nw: i32, w: i32, len: i32): void {
  memory.fill(out, 0, <usize>len);
  let mask: u32 = (<u32>1 << <u32>w) - 1;
  let carry: u32 = 0;
  let pos = 0;
  while (pos < len) {
    let bits = bitsAt(k, nw, pos);
    if ((bits & 1) == carry) {
      pos++;
      continue;
    }
    // The window value plus the carry is odd here; take it centred in (-2^(w-1), 2^(w-1)).
    let v = (bits & mask) + carry;
    carry = (v >> <u32>(w - 1)) & 1;
    store<i8>(out + <usize>pos, <i8>(<i32>v - <i32>(carry << <u32>w)));
    pos += w;
  }
}

// 32 bits of k starting at bit pos (zero beyond nw words).
@inline function bitsAt(k: usize, nw: i32, pos: i32): u32 {
  let i = pos >> 5;
  if (i >= nw) return 0;
  let lo = <u64>load<u32>(k + (<usize>i << 2));
  let hi: u64 = i + 1 < nw ? <u64>load<u32>(k + (<usize>(i + 1) << 2)) : 0;
  return <u32>(((hi << 32) | lo) >> <u64>(pos & 31));
}

// Adds the table entry for digit d (odd, nonzero) to acc, or loads it if acc is not started yet.
@inline function addDigit(f: Field, acc: usize, entry: usize, negative: bool, started: bool): void {
  let nw = f.words;
  let fb = <usize>nw << 2;
  let y = entry + fb;
  if (negative) {
    f.sub(NEG_Y, ZERO, y);
    y = NEG_Y;
  }
  if (started) {
    pointAddMixed(f, acc, acc, entry, y);
  } else {
    copyWords(acc, entry, nw);
    copyWords(acc + fb, y, nw);
    setSmall(acc + 2 * fb, 1, nw);
  }
}

/**
 * acc = sum over the segments j of the digit streams: digits for G at dg, for Q at dq, each segments *
 * segBits signed bytes (segment j holds the digits of weight 2^(j segBits) ... ), tables as from buildTable
 * with gEntries / qEntries entries per segment. Returns false if the result is the point at infinity.
 */
export function doubleScalarMul(f: Field, acc: usize, dg: usize, gTable: usize, gEntries: i32,
  dq: usize, qTable: usize, qEntries: i32, segments: i32, segBits: i32): bool {
  let nw = f.words;
  let fb = <usize>nw << 2;
  let entryBytes: usize = 2 * fb;
  let started = false;
  for (let i = segBits - 1; i >= 0; i--) {
    if (started) pointDouble(f, acc, acc);
    for (let j = 0; j < segments; j++) {
      let at = <usize>(j * segBits + i);
      let d = <i32>load<i8>(dg + at);
      if (d != 0) {
        let idx = (d < 0 ? -d : d) >> 1;
        addDigit(f, acc, gTable + <usize>(j * gEntries + idx) * entryBytes, d < 0, started);
        started = true;
      }
      d = <i32>load<i8>(dq + at);
      if (d != 0) {
        let idx = (d < 0 ? -d : d) >> 1;
        addDigit(f, acc, qTable + <usize>(j * qEntries + idx) * entryBytes, d < 0, started);
        started = true;
      }
    }
  }
  return started && !feIsZero(f, acc + 2 * fb);
}
