// Random JSON text generators shared by the differential and fuzz tests (deterministic: driven by prng()).
// Output is always valid JSON with finite numbers; every character may be written raw or escaped in any legal way.

export type Rnd = () => number;
export const int = (rnd: Rnd, n: number): number => Math.floor(rnd() * n);
export const pick = <T>(rnd: Rnd, a: readonly T[]): T => a[int(rnd, a.length)];

function digits(rnd: Rnd, n: number, firstNonZero: boolean): string {
  let s = "";
  for (let i = 0; i < n; i++) s += i === 0 && firstNonZero ? String(1 + int(rnd, 9)) : String(int(rnd, 10));
  return s;
}

/** A random finite number literal in one of many spellings. */
export function numberLiteral(rnd: Rnd): string {
  for (;;) {
    const sign = rnd() < 0.3 ? "-" : "";
    let lit: string;
    switch (int(rnd, 8)) {
      case 0: lit = String(int(rnd, 1000)); break;
      case 1: lit = rnd() < 0.1 ? "0" : digits(rnd, 1 + int(rnd, 25), true); break;
      case 2: lit = String(rnd() * Math.pow(10, int(rnd, 40) - 20)); break;
      case 3: lit = String(rnd() * Math.pow(2, int(rnd, 2000) - 1000)); break;
      case 4: {
        const ip = rnd() < 0.4 ? "0" : digits(rnd, 1 + int(rnd, 12), true);
        const fp = "." + digits(rnd, 1 + int(rnd, 30), false);
        const ex = rnd() < 0.5 ? "" : pick(rnd, ["e", "E"]) + pick(rnd, ["", "+", "-"]) + digits(rnd, 1 + int(rnd, 3), false);
        lit = ip + fp + ex;
        break;
      }
      case 5: lit = (rnd() < 0.5 ? "0" : digits(rnd, 1 + int(rnd, 3), true)) + pick(rnd, ["e", "E"]) + pick(rnd, ["", "+", "-"]) + String(int(rnd, 330)); break;
      case 6: lit = pick(rnd, ["5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "9007199254740993", "0.1", "1e23", "8.98846567431158e307", "4.9406564584124654e-324", "2.4703282292062328e-324"]); break;
      default: lit = "0." + "0".repeat(int(rnd, 30)) + digits(rnd, 1 + int(rnd, 20), true); break;
    }
    if (!sign && lit.startsWith("-")) lit = lit.slice(1);
    const full = lit.startsWith("-") ? lit : sign + lit;
    if (Number.isFinite(Number(full))) return full;
  }
}

const POOLS: ((rnd: Rnd) => number)[] = [
  (rnd) => 0x20 + int(rnd, 0x5f), // printable ASCII
  (rnd) => int(rnd, 0x20), // control characters: must be escaped
  (rnd) => pick(rnd, [0x22, 0x5c, 0x2f, 0x7f]),
  (rnd) => 0x80 + int(rnd, 0x780), // 2-byte UTF-8
  (rnd) => {
    const c = 0x800 + int(rnd, 0xf800 - 0x800);
    return c >= 0xd800 && c < 0xe000 ? c + 0x800 : c; // 3-byte UTF-8, no surrogates
  },
  (rnd) => 0x10000 + int(rnd, 0x100000), // astral: 4-byte UTF-8 / surrogate pair
  (rnd) => pick(rnd, [0xfffe, 0xffff, 0xfdd0, 0x2028, 0x2029, 0xfeff, 0x10ffff, 0x1f600, 0]),
];

const hex4 = (rnd: Rnd, u: number): string => {
  const h = u.toString(16).padStart(4, "0");
  return rnd() < 0.5 ? h : h.toUpperCase();
};

/** A random JSON string literal; each character is written raw or escaped in any legal way. */
export function stringLiteral(rnd: Rnd, maxLen: number): string {
  const n = int(rnd, maxLen + 1);
  const pool = int(rnd, POOLS.length);
  let out = '"';
  for (let i = 0; i < n; i++) {
    const cp = POOLS[rnd() < 0.6 ? pool : int(rnd, POOLS.length)](rnd);
    const ch = String.fromCodePoint(cp);
    const short: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x2f: "\\/", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t" };
    const mustEscape = cp < 0x20 || cp === 0x22 || cp === 0x5c;
    const r = rnd();
    if (!mustEscape && r < 0.7) out += ch;
    else if (short[cp] !== undefined && r < 0.85) out += short[cp];
    else if (cp >= 0x10000) out += "\\u" + hex4(rnd, ch.charCodeAt(0)) + "\\u" + hex4(rnd, ch.charCodeAt(1));
    else out += "\\u" + hex4(rnd, cp);
  }
  return out + '"';
}

export const ws = (rnd: Rnd): string => {
  if (rnd() < 0.6) return "";
  let s = "";
  for (let i = int(rnd, 3); i >= 0; i--) s += pick(rnd, [" ", "\t", "\n", "\r"]);
  return s;
};

const KEY_POOL = ["kid", "alg", "kty", "n", "e", "x5c", "", "a", "é", "\u{1F511}", "iss"];

export function value(rnd: Rnd, depth: number): string {
  const r = rnd();
  if (depth < 7 && r < 0.2) {
    const n = int(rnd, 6);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(ws(rnd) + value(rnd, depth + 1) + ws(rnd));
    return "[" + (n ? parts.join(",") : ws(rnd)) + "]";
  }
  if (depth < 7 && r < 0.4) {
    const n = int(rnd, 6);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      // Names from a small pool so duplicates (last one wins) are common.
      const key = rnd() < 0.5 ? JSON.stringify(pick(rnd, KEY_POOL)) : stringLiteral(rnd, 8);
      parts.push(ws(rnd) + key + ws(rnd) + ":" + ws(rnd) + value(rnd, depth + 1) + ws(rnd));
    }
    return "{" + (n ? parts.join(",") : ws(rnd)) + "}";
  }
  if (r < 0.6) return stringLiteral(rnd, 24);
  if (r < 0.85) return numberLiteral(rnd);
  return pick(rnd, ["true", "false", "null"]);
}
