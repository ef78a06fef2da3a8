// The three NIST prime fields behind one non-generic Field, so the point arithmetic (point.ts) and ECDSA
// (../ecdsa.ts) are compiled once instead of once per curve. Each operation is a switch on the curve,
// inlined at the call site, to the curve's unrolled code (p256.ts, p384.ts, p521.ts): one branch per field
// operation, against hundreds of instructions in the operation itself.
import { P256_P, P256_WORDS, p256Add, p256Mul, p256Sqr, p256Sub } from "./p256";
import { P384_P, P384_WORDS, p384Add, p384Mul, p384Sqr, p384Sub } from "./p384";
import { P521_P, P521_WORDS, p521Add, p521Mul, p521Sqr, p521Sub } from "./p521";

/** Which field; the same numbering as Curve in ../ecdsa.ts. */
export const enum FieldId { P256 = 0, P384 = 1, P521 = 2 }

/** Field operations mod p; r may alias a or b. Elements are `words` little-endian u32 words. */
@final export class Field {
  id: FieldId;
  words: i32;
  p: usize;

  constructor(id: FieldId, words: i32, p: usize) {
    this.id = id;
    this.words = words;
    this.p = p;
  }

  /** r = a * b mod p. */
  @inline mul(r: usize, a: usize, b: usize): void {
    let id = this.id;
    if (id == FieldId.P256) p256Mul(r, a, b);
    else if (id == FieldId.P384) p384Mul(r, a, b);
    else p521Mul(r, a, b);
  }

  /** r = a^2 mod p. */
  @inline sqr(r: usize, a: usize): void {
    let id = this.id;
    if (id == FieldId.P256) p256Sqr(r, a);
    else if (id == FieldId.P384) p384Sqr(r, a);
    else p521Sqr(r, a);
  }

  /** r = a + b mod p. */
  @inline add(r: usize, a: usize, b: usize): void {
    let id = this.id;
    if (id == FieldId.P256) p256Add(r, a, b);
    else if (id == FieldId.P384) p384Add(r, a, b);
    else p521Add(r, a, b);
  }

  /** r = a - b mod p. */
  @inline sub(r: usize, a: usize, b: usize): void {
    let id = this.id;
    if (id == FieldId.P256) p256Sub(r, a, b);
    else if (id == FieldId.P384) p384Sub(r, a, b);
    else p521Sub(r, a, b);
  }
}

@lazy export const FIELD_P256 = new Field(FieldId.P256, P256_WORDS, P256_P);
@lazy export const FIELD_P384 = new Field(FieldId.P384, P384_WORDS, P384_P);
@lazy export const FIELD_P521 = new Field(FieldId.P521, P521_WORDS, P521_P);
