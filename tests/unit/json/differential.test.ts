// Differential tests against JavaScript's JSON.parse: random documents (nesting, unicode incl. astral characters,
// every escape form, random whitespace, many number spellings) must be accepted with the same structure, and
// random number literals (incl. exact halfway cases and 800+ digit mantissas) must give the same double.
import { JsonWasm, prng, sameJson } from "./harness";
import { Rnd, int, numberLiteral, value, ws } from "./generate";

let wasm: JsonWasm;
beforeAll(() => {
  wasm = new JsonWasm();
});
afterAll(() => {
  expect(wasm.traps).toEqual([]);
});

describe("random documents vs JSON.parse", () => {
  test("6,000 random documents are accepted with identical structure and values", () => {
    const rnd = prng(20240601);
    const failures: string[] = [];
    let bytes = 0;
    for (let i = 0; i < 6000; i++) {
      const text = ws(rnd) + value(rnd, 0) + ws(rnd);
      bytes += text.length;
      const expected = JSON.parse(text);
      const r = wasm.parse(text, { maxDepth: 64 });
      if (!r.ok || !sameJson(JSON.parse(r.text!), expected)) {
        failures.push(`${JSON.stringify(text)} → ${r.ok ? r.text : r.error + " @" + r.errorOffset}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(bytes).toBeGreaterThan(100000);
  });

  test("documents with up to 64 levels of mixed nesting and wide arrays", () => {
    const rnd = prng(99);
    for (let i = 0; i < 200; i++) {
      const depth = 1 + int(rnd, 64);
      let text = "1";
      for (let d = 0; d < depth; d++) {
        text = rnd() < 0.5 ? `[${text},${value(rnd, 7)}]` : `{"k${d}":${text},"x":${value(rnd, 7)}}`;
      }
      const r = wasm.parse(text);
      expect(r.ok).toBe(true);
      expect(sameJson(JSON.parse(r.text!), JSON.parse(text))).toBe(true);
    }
    const wide = "[" + Array.from({ length: 5000 }, (_, i) => numberLiteral(prng(i))).join(",") + "]";
    const r = wasm.parse(wide);
    expect(sameJson(JSON.parse(r.text!), JSON.parse(wide))).toBe(true);
  });
});

/** Exact decimal spelling of the value halfway between the double x > 0 and the next one up. */
function halfwayLiteral(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expField = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = expField === 0 ? frac : frac | (1n << 52n);
  const e = (expField === 0 ? 1 : expField) - 1075; // x = m × 2^e
  const mid = 2n * m + 1n; // halfway = mid × 2^(e-1)
  const k = e - 1;
  if (k >= 0) return (mid << BigInt(k)).toString();
  const d = (mid * 5n ** BigInt(-k)).toString(); // = halfway × 10^-k
  return `${d[0]}.${d.slice(1)}e${d.length - 1 + k}`;
}

function randomDouble(rnd: Rnd): number {
  const view = new DataView(new ArrayBuffer(8));
  const expField = rnd() < 0.1 ? 0 : 1 + int(rnd, 2045);
  view.setUint32(0, ((expField << 20) | int(rnd, 1 << 20)) >>> 0);
  view.setUint32(4, int(rnd, 2 ** 32));
  return view.getFloat64(0);
}

describe("number literals vs Number()", () => {
  const check = (lits: string[]): string[] => {
    const x = wasm.exports;
    const bad: string[] = [];
    for (const lit of lits) {
      const want = Number(lit);
      const r = wasm.parse(lit, { noSerialize: true });
      if (!Number.isFinite(want)) {
        if (r.ok || r.error !== "number out of range") bad.push(`${lit}: expected rejection, got ${r.ok ? "ok" : r.error}`);
        continue;
      }
      const got = r.ok ? x.numberValue() : NaN;
      if (!Object.is(got, want)) bad.push(`${lit}: got ${got} want ${want}`);
    }
    return bad;
  };

  test("20,000 random literals give exactly JavaScript's double", () => {
    const rnd = prng(4242);
    const lits: string[] = [];
    for (let i = 0; i < 20000; i++) lits.push(numberLiteral(rnd));
    expect(check(lits).slice(0, 10)).toEqual([]);
  });

  test("shortest round-trip spellings of 5,000 random doubles (normal and subnormal)", () => {
    const rnd = prng(77);
    const lits: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const d = randomDouble(rnd);
      lits.push(String(d).replace("e+", "e"), d.toPrecision(17), d.toExponential(20));
    }
    expect(check(lits).slice(0, 10)).toEqual([]);
  });

  test("exact halfway cases round to even; a digit past the tie (even 1,000 digits later) rounds up", () => {
    const rnd = prng(5);
    const lits: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const h = halfwayLiteral(Math.abs(randomDouble(rnd)) || 5e-324);
      if (!Number.isFinite(Number(h))) continue;
      const [mant, exp] = h.includes("e") ? h.split("e") : [h, ""];
      const withDot = mant.includes(".") ? mant : mant + ".";
      const ex = exp ? "e" + exp : "";
      lits.push(h, withDot + "0000001" + ex, withDot + "0".repeat(1000) + "1" + ex);
      // Just below the tie: decrement the last non-zero digit.
      const lastNz = mant.search(/[1-9]0*$/);
      if (lastNz > 0 || mant[0] !== "1") {
        lits.push(mant.slice(0, lastNz) + String(Number(mant[lastNz]) - 1) + "9".repeat(mant.length - lastNz - 1) + "9".repeat(30) + ex);
      }
    }
    lits.push("9007199254740993", "9007199254740995", "18014398509481990", "1.00000000000000011102230246251565404236316680908203125");
    expect(check(lits).slice(0, 10)).toEqual([]);
  });

  test("extreme exponents and digit counts", () => {
    const lits = [
      "1e308", "1.8e308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
      "2.4703282292062327e-324", "2.4703282292062328e-324", "1e-324", "5e-324", "1e-400", "-1e-400",
      "0e999999999", "0." + "0".repeat(5000) + "1", "1" + "0".repeat(308), "1" + "0".repeat(309),
      "0." + "9".repeat(3000), "1".repeat(400) + "e-400", "123e-10000000", "1e+99999999999999999999",
      "1" + "0".repeat(2000) + "e-2000", "4.9406564584124654e-324", "2.225073858507201e-308",
    ];
    expect(check(lits)).toEqual([]);
  });
});
