// Replays google/jwt_verify_lib's own test cases (tests/vectors/jwt_verify_lib, Apache-2.0) through the
// filter's AssemblyScript pipeline (build/jwt.wasm) and asserts the exact Status name and string.
import * as fs from "fs";
import * as path from "path";
import { loadLib, WasmLib } from "../../helpers/wasmlib";

const DIR = path.resolve(__dirname, "..", "..", "vectors", "jwt_verify_lib");
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(DIR, f), "utf8"));
const statuses: Array<{ name: string; value: number; message: string }> = load("status_codes.json").statuses;
const byName = new Map(statuses.map((s) => [s.name, s]));
const nameOf = (v: number) => statuses.find((s) => s.value === v)?.name ?? `?${v}`;

// Algorithms and key types the filter implements in this issue; the rest arrive with issue #3.
const IMPLEMENTED_ALGS = ["RS256", "RS384", "RS512"];
function tokenAlg(jwt: string): string {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8")).alg;
  } catch {
    return "";
  }
}

let lib: WasmLib;
beforeAll(() => {
  lib = loadLib("jwt");
});
afterEach(() => {
  expect(lib.aborted).toEqual([]);
});

describe("status table", () => {
  test("73 statuses with jwt_verify_lib's exact strings", () => {
    expect(statuses.length).toBe(73);
    const src = fs.readFileSync(path.resolve(__dirname, "..", "..", "..", "assembly", "status.ts"), "utf8");
    for (const s of statuses) {
      expect(src).toContain(`${s.name} = ${s.value},`);
      expect(src).toContain(`case Status.${s.name}: return ${JSON.stringify(s.message)};`);
    }
  });
});

describe("Jwt::parseFromString cases", () => {
  const cases = load("jwt_parse_cases.json").cases as any[];
  test.each(cases.map((c) => [c.name, c]))("%s", (_n, c: any) => {
    const [[p, l]] = lib.put(c.jwt);
    const alg = tokenAlg(c.jwt);
    // jwt_verify_lib implements HS256; this filter does from issue #3 on, and until then answers as
    // Envoy answers any unimplemented alg, before the payload is read.
    const expected = alg === "HS256" ? "JwtHeaderNotImplementedAlg" : c.expected_status;
    expect(nameOf(lib.exports.jwtParse(p, l))).toBe(expected);
  });
});

describe("verifyTimeConstraint cases", () => {
  const cases = load("time_cases.json").cases as any[];
  test.each(cases.map((c) => [c.name, c]))("%s", (_n, c: any) => {
    // These cases carry a signature segment with non-zero unused trailing bits ("digk…L4"), which absl's
    // decoder accepts and our strict base64url decoder rejects (JwtSignatureParseErrorBadBase64, asserted
    // below). Only the time check is under test here, so the segment is re-encoded canonically.
    const [h0, p0, s0] = (c.jwt as string).split(".");
    const [[op, ol]] = lib.put(c.jwt);
    expect(nameOf(lib.exports.jwtParse(op, ol))).toBe("JwtSignatureParseErrorBadBase64");
    let jwt = `${h0}.${p0}.${Buffer.from(s0, "base64url").toString("base64url")}`;
    if (c.ignore_claims) {
      // The test zeroes these claims; an absent claim is our equivalent of 0.
      const [h, p, s] = jwt.split(".");
      const payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
      for (const k of c.ignore_claims) delete payload[k];
      jwt = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    }
    const [[p, l]] = lib.put(jwt);
    expect(nameOf(lib.exports.jwtTime(p, l, c.now, c.clock_skew))).toBe(c.expected_status);
  });
});

describe("CheckAudience cases", () => {
  const cases = load("audience_cases.json").cases as any[];
  test.each(cases.map((c) => [c.name, c]))("%s", (_n, c: any) => {
    const [[ap, al], [jp, jl]] = lib.put(c.allowed_audiences.join("\n"), c.jwt_audiences.join("\n"));
    expect(lib.exports.audiencesAllowed(ap, al, jp, jl) === 1).toBe(c.expected_allowed);
  });
});

describe("Jwks::createFrom cases", () => {
  const cases = load("jwks_parse_cases.json").cases as any[];
  const rsaOrStructural = (c: any) =>
    c.jwks_type === "JWKS" && !/"kty"\s*:\s*"(EC|oct|OKP)"/.test(c.jwks) || ["JwksInvalidKty", "JwksJwkMissingKty"].some((n) => c.name.endsWith(n));
  const applicable = cases.filter(rsaOrStructural);
  const later = cases.filter((c) => !rsaOrStructural(c));
  test("the cases left for issue #3 are only EC/oct/OKP key sets and PEM", () => {
    for (const c of later) expect(c.jwks_type === "PEM" || /"kty"\s*:\s*"(EC|oct|OKP)"/.test(c.jwks)).toBe(true);
    expect(applicable.length).toBeGreaterThanOrEqual(10);
  });
  test.each(applicable.map((c) => [c.name, c]))("%s", (_n, c: any) => {
    const [[p, l]] = lib.put(c.jwks);
    expect(nameOf(lib.exports.jwksParse(p, l))).toBe(c.expected_status);
    if (c.expected_key_count !== undefined) expect(lib.exports.jwksKeyCount()).toBe(c.expected_key_count);
  });
});

describe("verifyJwt cases", () => {
  const cases = (load("verify_cases.json").cases as any[]).filter((c) => c.jwks_type === "JWKS");
  const rsa = cases.filter((c) => IMPLEMENTED_ALGS.includes(tokenAlg(c.jwt)));
  const later = cases.filter((c) => !IMPLEMENTED_ALGS.includes(tokenAlg(c.jwt)));
  test.each(rsa.map((c) => [c.name, c]))("%s", (_n, c: any) => {
    const [[jp, jl], [kp, kl], [ap, al]] = lib.put(c.jwt, c.jwks, (c.audiences ?? []).join("\n"));
    const now = c.now === null || c.now === undefined ? Math.floor(Date.now() / 1000) : c.now;
    expect(nameOf(lib.exports.jwtVerify(jp, jl, kp, kl, now, ap, al))).toBe(c.expected_status);
  });
  test.each(later.map((c) => [c.name, c]))("%s: not implemented until issue #3, answered as Envoy answers an unknown alg", (_n, c: any) => {
    const [[jp, jl], [kp, kl]] = lib.put(c.jwt, c.jwks);
    const got = nameOf(lib.exports.jwtVerify(jp, jl, kp, kl, -1, 0, 0));
    expect(got).toBe("JwtHeaderNotImplementedAlg");
    expect(byName.get(got)!.message).toBe("Jwt header [alg] is not supported");
  });
  test("RSA PEM key sets are not part of Envoy's configuration surface", () => {
    expect((load("verify_cases.json").cases as any[]).filter((c) => c.jwks_type === "PEM").length).toBe(1);
  });
});

describe("signature sweep (jwt_verify_lib's fuzzJwtSignature)", () => {
  const cases = (load("verify_cases.json").cases as any[]).filter(
    (c) => c.jwks_type === "JWKS" && c.expected_status === "Ok" && IMPLEMENTED_ALGS.includes(tokenAlg(c.jwt)),
  );
  test.each(cases.map((c) => [c.name, c]))("%s: every bit flip and truncation fails", (_n, c: any) => {
    const [h, p, s] = (c.jwt as string).split(".");
    const sig = Buffer.from(s, "base64url");
    const now = c.now ?? Math.floor(Date.now() / 1000);
    let checked = 0;
    const run = (mut: Buffer) => {
      const jwt = `${h}.${p}.${mut.toString("base64url")}`;
      const [[jp, jl], [kp, kl]] = lib.put(jwt, c.jwks);
      const got = nameOf(lib.exports.jwtVerify(jp, jl, kp, kl, now, 0, 0));
      checked++;
      return got;
    };
    for (let bit = 0; bit < sig.length * 8; bit++) {
      const m = Buffer.from(sig);
      m[bit >> 3] ^= 1 << (bit & 7);
      expect(run(m)).toBe("JwtVerificationFail");
    }
    for (let len = 1; len < sig.length; len++) expect(run(sig.subarray(0, len))).toBe("JwtVerificationFail");
    expect(checked).toBe(sig.length * 9 - 1);
  });
});
