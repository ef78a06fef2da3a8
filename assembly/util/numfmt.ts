// Owns formatting doubles exactly as C and protobuf print them, for claim values copied into headers:
// C's `%f` (std::to_string(double)), `%.<N>g`, and protobuf's SimpleDtoa (`%.15g`, or `%.17g` when that does
// not read back as the same double). Digits come from the exact binary value (a small bignum holding only
// the digits needed plus a sticky bit), rounded half to even, as glibc's printf rounds. Pure functions; no
// input traps.
import { parseJsonString } from "./json";

/**
 * Leading decimal digits of a finite x > 0: x = 0.<digits> × 10^point exactly when !sticky, else x lies
 * strictly between that and the next value of the last digit (`sticky`: nonzero digits were cut off).
 */
class Decimal {
  constructor(public digits: string, public point: i32, public sticky: bool = false) {}
}

function mulSmall(a: u32[], k: u32): void {
  let carry: u64 = 0;
  for (let i = 0; i < a.length; i++) {
    const t = <u64>unchecked(a[i]) * <u64>k + carry;
    unchecked(a[i] = <u32>t);
    carry = t >> 32;
  }
  if (carry != 0) a.push(<u32>carry);
}

/** Divides in place by k; returns the remainder. */
function divSmall(a: u32[], k: u32): u32 {
  let rem: u64 = 0;
  for (let i = a.length - 1; i >= 0; i--) {
    const cur = (rem << 32) | <u64>unchecked(a[i]);
    unchecked(a[i] = <u32>(cur / <u64>k));
    rem = cur % <u64>k;
  }
  while (a.length > 0 && a[a.length - 1] == 0) a.pop();
  return <u32>rem;
}

/** Shifts right by k bits in place; true when a set bit was shifted out. */
function shiftRight(a: u32[], k: i32): bool {
  let lost = false;
  const words = k >> 5;
  const bits = k & 31;
  for (let i = 0; i < words && i < a.length; i++) if (unchecked(a[i]) != 0) lost = true;
  const n = a.length - words;
  if (n <= 0) {
    a.length = 0;
    return lost;
  }
  for (let i = 0; i < n; i++) unchecked(a[i] = unchecked(a[i + words]));
  a.length = n;
  if (bits > 0) {
    if ((unchecked(a[0]) & ((<u32>1 << <u32>bits) - 1)) != 0) lost = true;
    for (let i = 0; i < n; i++) {
      const hi: u32 = i + 1 < n ? unchecked(a[i + 1]) : 0;
      unchecked(a[i] = (unchecked(a[i]) >>> <u32>bits) | (bits > 0 ? hi << <u32>(32 - bits) : 0));
    }
  }
  while (a.length > 0 && a[a.length - 1] == 0) a.pop();
  return lost;
}

function bigToDecimal(a: u32[]): string {
  if (a.length == 0) return "0";
  const chunks: u32[] = [];
  while (a.length > 0) chunks.push(divSmall(a, 1000000000));
  const parts = new Array<string>(chunks.length);
  unchecked(parts[0] = chunks[chunks.length - 1].toString());
  for (let i = chunks.length - 2, j = 1; i >= 0; i--, j++) {
    const c = unchecked(chunks[i]).toString();
    unchecked(parts[j] = "000000000".substring(c.length) + c);
  }
  return parts.join("");
}

const POW10: u32[] = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

/**
 * floor(x × 10^s) in decimal, and whether x × 10^s had a fraction (exactly: x = m × 2^e is multiplied by
 * 10^s, or divided by 10^-s, then shifted by e). The work is bounded by |s| and |e|, both at most ~1100.
 */
function scaled(x: f64, s: i32): Decimal {
  const bits = reinterpret<u64>(x);
  const be = <i32>((bits >> 52) & 0x7ff);
  let m: u64 = bits & 0xfffffffffffff;
  let e: i32;
  if (be == 0) e = -1074;
  else {
    m |= <u64>1 << 52;
    e = be - 1075;
  }
  const a: u32[] = [<u32>m];
  if ((m >> 32) != 0) a.push(<u32>(m >> 32));
  let sticky = false;
  if (s >= 0) {
    let k = s;
    while (k >= 9) { mulSmall(a, 1000000000); k -= 9; }
    if (k > 0) mulSmall(a, POW10[k]);
  }
  if (e >= 0) {
    let k = e;
    while (k >= 31) { mulSmall(a, 0x80000000); k -= 31; }
    if (k > 0) mulSmall(a, <u32>1 << <u32>k);
  } else if (shiftRight(a, -e)) sticky = true;
  if (s < 0) {
    let k = -s;
    while (k >= 9) { if (divSmall(a, 1000000000) != 0) sticky = true; k -= 9; }
    if (k > 0 && divSmall(a, POW10[k]) != 0) sticky = true;
  }
  const d = bigToDecimal(a);
  return new Decimal(d, d.length - s, sticky);
}

/**
 * At least `n` leading significant digits of x > 0 (one or two more at most), with the sticky flag: enough
 * to round to n - 1 digits exactly.
 */
function leading(x: f64, n: i32): Decimal {
  const est = <i32>Math.floor(Math.log10(x));
  let d = scaled(x, n - 1 - est + 1);
  if (d.digits.length < n) d = scaled(x, n - est + 1);
  return d;
}

/**
 * The first `k` digits of `d`, rounded half to even on the exact remainder (k may be 0 or negative: the
 * result is then "" or "1" one place up). Returns the digits and the new point.
 */
function roundAt(d: Decimal, k: i32): Decimal {
  const s = d.digits;
  if (k >= s.length) return d;
  if (k < 0) return new Decimal("", d.point);
  const c = s.charCodeAt(k);
  let up = false;
  if (c > 0x35) up = true;
  else if (c == 0x35) {
    let rest = d.sticky;
    for (let i = k + 1; !rest && i < s.length; i++) if (s.charCodeAt(i) != 0x30) rest = true;
    up = rest || (k > 0 && ((s.charCodeAt(k - 1) - 0x30) & 1) == 1);
  }
  let kept = s.substring(0, k);
  if (!up) return new Decimal(kept, d.point);
  // Increment the kept digits.
  let i = k - 1;
  let tail = "";
  while (i >= 0 && kept.charCodeAt(i) == 0x39) { tail += "0"; i--; }
  if (i < 0) return new Decimal("1" + tail, d.point + 1);
  return new Decimal(kept.substring(0, i) + String.fromCharCode(kept.charCodeAt(i) + 1) + tail, d.point);
}

function zeros(n: i32): string {
  return n > 0 ? "0".repeat(n) : "";
}

/** C's `%f` (six decimals), as std::to_string(double). */
export function formatFixed6(x: f64): string {
  if (!isFinite(x)) return isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const neg = x < 0 || (x == 0 && 1 / x < 0);
  const ax = Math.abs(x);
  let intPart = "0";
  let frac = "000000";
  // Below 4.9e-7 everything rounds to zero: no need for the exact expansion.
  if (ax != 0 && ax >= 4.9e-7) {
    // floor(|x| × 10^7) and the sticky remainder: the seventh decimal rounds the sixth.
    const d = scaled(ax, 7);
    const r = roundAt(d, d.point + 6);
    // r.digits × 10^(r.point - len) : the integer N = round(x × 10^6) is digits followed by zeros.
    const n = r.digits + zeros(r.point + 6 - r.digits.length);
    const all = n.length == 0 ? "0" : n;
    const padded = all.length < 7 ? zeros(7 - all.length) + all : all;
    intPart = padded.substring(0, padded.length - 6);
    frac = padded.substring(padded.length - 6);
  }
  return (neg ? "-" : "") + intPart + "." + frac;
}

/** C's `%.<p>g` (p ≥ 1): p significant digits, trailing zeros dropped, exponent form when X < -4 or X ≥ p. */
export function formatG(x: f64, p: i32): string {
  return formatGWith(x, p, null);
}

/** formatG, reusing `exact` (the exact expansion of |x|) when given. */
function formatGWith(x: f64, p: i32, exact: Decimal | null): string {
  if (!isFinite(x)) return isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const neg = x < 0 || (x == 0 && 1 / x < 0);
  const sign = neg ? "-" : "";
  const ax = Math.abs(x);
  if (ax == 0) return sign + "0";
  // Fast path: a whole number with at most p digits prints as itself.
  if (ax == Math.floor(ax) && ax < Math.pow(10, <f64>min(p, 15))) return sign + (<u64>ax).toString();
  const r = roundAt(exact !== null ? exact : leading(ax, p + 1), p);
  let digits = r.digits;
  const X = r.point - 1;
  // Trailing zeros are dropped (no '#' flag).
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) == 0x30) end--;
  digits = digits.substring(0, end);
  if (X < -4 || X >= p) {
    let mant = digits.substring(0, 1);
    if (digits.length > 1) mant += "." + digits.substring(1);
    const ae = X < 0 ? -X : X;
    const es = ae < 10 ? "0" + ae.toString() : ae.toString();
    return sign + mant + "e" + (X < 0 ? "-" : "+") + es;
  }
  if (X < 0) return sign + "0." + zeros(-X - 1) + digits;
  if (digits.length <= X + 1) return sign + digits + zeros(X + 1 - digits.length);
  return sign + digits.substring(0, X + 1) + "." + digits.substring(X + 1);
}

/** protobuf's io::SimpleDtoa: `%.15g` when it reads back as the same double, else `%.17g`. */
export function simpleDtoa(x: f64): string {
  if (!isFinite(x)) return isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  const ax = Math.abs(x);
  let exact: Decimal | null = null;
  if (ax != 0 && !(ax == Math.floor(ax) && ax < 1e15)) exact = leading(ax, 18);
  const s = formatGWith(x, 15, exact);
  const back = parseJsonString(s);
  if (back !== null && back.numValue == x) return s;
  return formatGWith(x, 17, exact);
}

/** 2^64 as a double: std::numeric_limits<uint64_t>::max() converted. */
const TWO_POW_64: f64 = 18446744073709551616.0;

/** Envoy's convertClaimDoubleToString: a whole number in [0, 2^64) as an integer, anything else as `%f`. */
export function claimNumberString(v: f64): string {
  if (v < 0 || v >= TWO_POW_64 || v != Math.floor(v)) return formatFixed6(v);
  return (<u64>v).toString();
}
