// Writes assembly/crypto/ec/p256.ts: the curve constants and the unrolled field arithmetic (32-bit words,
// schoolbook products, Solinas reduction) of P-256, the common curve. p384.ts and p521.ts were generated
// here too; they are now written by hand as row loops (15.6 KB smaller), so this script knows only P-256.
// Run `npx tsc -p tsconfig.json && node build/js/scripts/generate-ec-fields.js` after changing it; the
// output is committed.
import * as fs from "fs";
import * as path from "path";

/** A signed 32-bit-word digit of c = 2^(32 nw) - p: [word position, coefficient]. */
type Digit = [number, number];

interface Curve {
  name: string;
  title: string;
  /** Number of 32-bit words in a field element. */
  nw: number;
  bits: number;
  pForm: string;
  p: bigint;
  /** c = 2^(32 nw) - p as signed word digits (the Solinas form the reduction needs; null: not a Solinas prime, refused). */
  c: Digit[] | null;
  n: bigint;
  b: bigint;
  gx: bigint;
  gy: bigint;
}

/** An affine point; null is the point at infinity. */
type Point = [bigint, bigint] | null;

/** A signed combination of product words: [word index, coefficient] pairs. */
type Combination = Array<[number, number]>;

/** The repository root: the nearest directory at or above this file's that holds package.json. */
function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

/** c of a Solinas curve (P-256, P-384); throws for P-521. */
function solinasDigits(cv: Curve): Digit[] {
  if (cv.c === null) throw new Error(`${cv.name}: not a Solinas prime`);
  return cv.c;
}

// FIPS 186-4 Appendix D.1.2 (same values in SEC 2 v2 §2.4.2, §2.5.1, §2.6.1).
const CURVES: Curve[] = [
  {
    name: "P256", title: "P-256", nw: 8, bits: 256,
    pForm: "2^256 - 2^224 + 2^192 + 2^96 - 1",
    p: (1n << 256n) - (1n << 224n) + (1n << 192n) + (1n << 96n) - 1n,
    // c = 2^256 - p = 2^224 - 2^192 - 2^96 + 1 as signed 32-bit-word digits [position, coefficient].
    c: [[0, 1], [3, -1], [6, -1], [7, 1]],
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
];

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if ((e & 1n) !== 0n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

// Affine arithmetic on y^2 = x^3 - 3x + b, only to check the constants (null is the point at infinity).
function ecAdd(P: Point, Q: Point, p: bigint): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  let l: bigint;
  if (P[0] === Q[0]) {
    if (mod(P[1] + Q[1], p) === 0n) return null;
    l = mod((3n * P[0] * P[0] - 3n) * modPow(2n * P[1], p - 2n, p), p);
  } else {
    l = mod((Q[1] - P[1]) * modPow(Q[0] - P[0], p - 2n, p), p);
  }
  const x = mod(l * l - P[0] - Q[0], p);
  return [x, mod(l * (P[0] - x) - P[1], p)];
}
function ecMul(k: bigint, P: Point, p: bigint): Point {
  let R: Point = null;
  for (let i = BigInt(k.toString(2).length) - 1n; i >= 0n; i--) {
    R = ecAdd(R, R, p);
    if (((k >> i) & 1n) !== 0n) R = ecAdd(R, P, p);
  }
  return R;
}

function check(cv: Curve): void {
  const { p, n, b, gx, gy, bits, nw } = cv;
  if (p.toString(2).length !== bits || n.toString(2).length !== bits) throw new Error(`${cv.name}: bit length`);
  if (modPow(2n, p - 1n, p) !== 1n || modPow(3n, n - 1n, n) !== 1n) throw new Error(`${cv.name}: not prime`);
  if (mod(gy * gy - (gx * gx * gx - 3n * gx + b), p) !== 0n) throw new Error(`${cv.name}: G not on curve`);
  if (ecMul(n, [gx, gy], p) !== null) throw new Error(`${cv.name}: n*G != O`);
  if (n >= p) throw new Error(`${cv.name}: n >= p`);
  if (cv.c) {
    let c = 0n;
    for (const [pos, k] of cv.c) c += BigInt(k) << BigInt(32 * pos);
    if (c !== (1n << BigInt(32 * nw)) - p) throw new Error(`${cv.name}: c`);
  }
}

function words(x: bigint, nw: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < nw; i++) out.push("0x" + ((x >> BigInt(32 * i)) & 0xffffffffn).toString(16).padStart(8, "0"));
  if (x >> BigInt(32 * nw) !== 0n) throw new Error("does not fit");
  return out;
}

function dataConst(name: string, x: bigint, nw: number, comment: string): string {
  const w = words(x, nw);
  const lines: string[] = [];
  for (let i = 0; i < w.length; i += 6) lines.push("  " + w.slice(i, i + 6).join(", ") + ",");
  return `/** ${comment} */\n@lazy export const ${name}: usize = memory.data<u32>([\n${lines.join("\n")}\n]);\n`;
}

// Column-wise schoolbook product of a (and b) into the u64 words w0..w(2nw-1), each < 2^32.
// Each column sums its 32x32-bit products split into low and high halves, so nothing overflows.
function emitProduct(nw: number, square: boolean): string[] {
  const L: string[] = [];
  for (let i = 0; i < nw; i++) L.push(`  let a${i} = <u64>load<u32>(a, ${4 * i});`);
  if (!square) for (let i = 0; i < nw; i++) L.push(`  let b${i} = <u64>load<u32>(b, ${4 * i});`);
  L.push(`  // Column k sums the 32x32-bit products a_i b_(k-i), split into low and high halves so nothing overflows.`);
  L.push("  let lo: u64, hi: u64, x: u64, c: u64 = 0;");
  for (let k = 0; k < 2 * nw - 1; k++) {
    const terms: Array<[number, number]> = [];
    for (let i = Math.max(0, k - nw + 1); i <= Math.min(k, nw - 1); i++) terms.push([i, k - i]);
    if (!square) {
      terms.forEach(([i, j], idx) => {
        L.push(`  x = a${i} * b${j}; ${idx === 0 ? "lo = x & 0xFFFFFFFF; hi = x >> 32;" : "lo += x & 0xFFFFFFFF; hi += x >> 32;"}`);
      });
    } else {
      const cross = terms.filter(([i, j]) => i < j);
      const diag = terms.filter(([i, j]) => i === j);
      if (cross.length) {
        cross.forEach(([i, j], idx) => {
          L.push(`  x = a${i} * a${j}; ${idx === 0 ? "lo = x & 0xFFFFFFFF; hi = x >> 32;" : "lo += x & 0xFFFFFFFF; hi += x >> 32;"}`);
        });
        L.push("  lo <<= 1; hi <<= 1;");
      } else {
        L.push("  lo = 0; hi = 0;");
      }
      for (const [i] of diag) L.push(`  x = a${i} * a${i}; lo += x & 0xFFFFFFFF; hi += x >> 32;`);
    }
    L.push(`  lo += c; let w${k} = lo & 0xFFFFFFFF; c = (lo >> 32) + hi;`);
  }
  L.push(`  let w${2 * nw - 1} = c;`);
  return L;
}

// Solinas reduction of w0..w(2nw-1) for p = 2^(32nw) - c, c a short signed combination of words:
// every 2^(32k), k >= nw, is rewritten as 2^(32(k-nw)) * c until all positions are below nw, which gives
// each output word as a signed integer combination of the input words (exact, so congruent mod p).
function solinasTerms(cv: Curve): Combination[] {
  const { nw } = cv;
  const c = solinasDigits(cv);
  const rows: Array<[number, Map<number, number>]> = [];
  for (let k = nw; k < 2 * nw; k++) {
    const v = new Map<number, number>([[k, 1]]);
    for (;;) {
      const hiPos = [...v.keys()].filter((q) => q >= nw && v.get(q) !== 0);
      if (!hiPos.length) break;
      const q = Math.max(...hiPos);
      const a = v.get(q) ?? 0;
      v.delete(q);
      for (const [pos, k2] of c) v.set(pos + q - nw, (v.get(pos + q - nw) || 0) + a * k2);
    }
    rows.push([k, v]);
  }
  const out: Combination[] = [];
  for (let i = 0; i < nw; i++) {
    const t: Combination = [[i, 1]];
    for (const [k, v] of rows) {
      const co = v.get(i);
      if (co) t.push([k, co]);
    }
    const bound = t.reduce((s, [, k]) => s + Math.abs(k), 0);
    if (bound > 1 << 20) throw new Error("coefficients too large");
    out.push(t);
  }
  // Self-check of the identity with random words.
  for (let trial = 0; trial < 50; trial++) {
    let W = 0n, R = 0n;
    const ws: bigint[] = [];
    for (let i = 0; i < 2 * nw; i++) ws.push(BigInt(Math.floor(Math.random() * 2 ** 32)));
    ws.forEach((w, i) => (W += w << BigInt(32 * i)));
    out.forEach((t, i) => {
      let s = 0n;
      for (const [k, co] of t) s += BigInt(co) * ws[k];
      R += s << BigInt(32 * i);
    });
    if (mod(W - R, cv.p) !== 0n) throw new Error("Solinas identity failed");
  }
  return out;
}

const term = (k: number, co: number): string => (co === 1 ? ` + <i64>w${k}` : co === -1 ? ` - <i64>w${k}` : co > 0 ? ` + <i64>w${k} * ${co}` : ` - <i64>w${k} * ${-co}`);

// Folds the signed carry K (the value is o + K * 2^(32nw)) back with 2^(32nw) = c mod p until it is zero.
// K > 0: o + K*c < 2^(32nw) + K*c overflows at most once more, after which o < K*c and adding c cannot.
// K < 0: o - |K|*c borrows at most once; then o >= 2^(32nw) - |K|*c and subtracting c cannot borrow.
// So the loop runs at most three times.
function emitFold(cv: Curve): string[] {
  const { nw } = cv;
  const c = solinasDigits(cv);
  const L: string[] = [];
  L.push("  // The signed carry t stands for t 2^" + 32 * nw + " = t c mod p: fold it back (at most three rounds).");
  L.push("  while (t != 0) {");
  L.push("    let k = t;");
  for (let i = 0; i < nw; i++) {
    const co = (c.find(([pos]) => pos === i) || [0, 0])[1];
    const add = co === 1 ? " + k" : co === -1 ? " - k" : co ? ` + k * ${co}` : "";
    L.push(`    t = ${i === 0 ? "" : "(t >> 32) + "}o${i}${add}; o${i} = t & 0xFFFFFFFF;`);
  }
  L.push("    t >>= 32;");
  L.push("  }");
  return L;
}

function emitStore(nw: number): string[] {
  const L: string[] = [];
  for (let i = 0; i < nw; i++) L.push(`  store<u32>(r, <u32>o${i}, ${4 * i});`);
  return L;
}

function emitSolinasReduce(cv: Curve): string[] {
  const { nw } = cv;
  const terms = solinasTerms(cv);
  const L: string[] = [
    `  // Product = L + H 2^${32 * nw}; each output word is its low word plus a signed combination of the high`,
    `  // words (2^${32 * nw} = c mod p applied until no position is >= ${nw}), then carries are propagated.`,
    "  let t: i64 = 0;",
  ];
  terms.forEach((t, i) => {
    const sum = t.map(([k, co]) => term(k, co)).join("").replace(/^ \+ /, "");
    L.push(`  t = ${i === 0 ? "" : "(t >> 32) + "}${sum}; let o${i} = t & 0xFFFFFFFF;`);
  });
  L.push("  t >>= 32;");
  return L.concat(emitFold(cv), emitStore(nw));
}

function emitAddSub(cv: Curve, isSub: boolean): string[] {
  const { nw } = cv;
  const L: string[] = ["  let t: i64 = 0;"];
  for (let i = 0; i < nw; i++) {
    L.push(`  t = ${i === 0 ? "" : "(t >> 32) + "}<i64>load<u32>(a, ${4 * i}) ${isSub ? "-" : "+"} <i64>load<u32>(b, ${4 * i}); let o${i} = t & 0xFFFFFFFF;`);
  }
  L.push("  t >>= 32;");
  L.push(...emitFold(cv));
  return L.concat(emitStore(nw));
}

function generate(cv: Curve): string {
  check(cv);
  const { nw, name } = cv;
  const reduce = emitSolinasReduce(cv);
  const R = 1n << BigInt(32 * nw);
  const n0inv = mod(-modPow(cv.n, (1n << 31n) - 1n, 1n << 32n), 1n << 32n); // n^(2^31-1) = n^-1 mod 2^32
  if (((n0inv * cv.n) & 0xffffffffn) !== 0xffffffffn) throw new Error("n0inv");
  const range = `any value below 2^${32 * nw} (not necessarily below p)`;
  const out: string[] = [];
  out.push(`// ${cv.title} constants and field arithmetic mod p = ${cv.pForm}.`);
  out.push(`// GENERATED by scripts/generate-ec-fields.ts (\`npx tsc -p tsconfig.json && node build/js/scripts/generate-ec-fields.js\`; unrolled 32-bit-word products, Solinas reduction): do not edit.`);
  out.push(`// Elements are ${nw} little-endian u32 words holding ${range}.`);
  out.push("");
  out.push(`export const ${name}_WORDS: i32 = ${nw};`);
  out.push(`export const ${name}_BITS: i32 = ${cv.bits};`);
  out.push(dataConst(`${name}_P`, cv.p, nw, "The field prime p."));
  out.push(dataConst(`${name}_N`, cv.n, nw, "The group order n."));
  out.push(dataConst(`${name}_B`, cv.b, nw, "The curve coefficient b (a = -3)."));
  out.push(dataConst(`${name}_GX`, cv.gx, nw, "The base point G, x."));
  out.push(dataConst(`${name}_GY`, cv.gy, nw, "The base point G, y."));
  out.push(dataConst(`${name}_R2N`, (R * R) % cv.n, nw, `R^2 mod n for Montgomery arithmetic mod n, R = 2^${32 * nw}.`));
  out.push(`/** -n^-1 mod 2^32. */\nexport const ${name}_N0INV: u32 = 0x${n0inv.toString(16)};\n`);
  const fn = name.toLowerCase();
  out.push(`// Field operations mod p; r may alias a or b. Called through Field (ec/field.ts).`);
  out.push("");
  out.push("/** r = a * b mod p. */");
  out.push(`export function ${fn}Mul(r: usize, a: usize, b: usize): void {`);
  out.push(...emitProduct(nw, false), ...reduce);
  out.push("}");
  out.push("");
  out.push("/** r = a^2 mod p. */");
  out.push(`export function ${fn}Sqr(r: usize, a: usize): void {`);
  out.push(...emitProduct(nw, true), ...reduce);
  out.push("}");
  out.push("");
  out.push("/** r = a + b mod p. */");
  out.push(`export function ${fn}Add(r: usize, a: usize, b: usize): void {`);
  out.push(...emitAddSub(cv, false));
  out.push("}");
  out.push("");
  out.push("/** r = a - b mod p. */");
  out.push(`export function ${fn}Sub(r: usize, a: usize, b: usize): void {`);
  out.push(...emitAddSub(cv, true));
  out.push("}");
  return out.join("\n") + "\n";
}

function main(): void {
  const outDir = path.join(findRoot(__dirname), "assembly", "crypto", "ec");
  for (const cv of CURVES) {
    const file = path.join(outDir, `${cv.name.toLowerCase()}.ts`);
    fs.writeFileSync(file, generate(cv));
    console.log("wrote", path.relative(process.cwd(), file));
  }
}

main();
