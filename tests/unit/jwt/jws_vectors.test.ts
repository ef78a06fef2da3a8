// Third-party JWS vectors through the filter's own key-set parser and verifier (build/jwt.wasm):
// Wycheproof's JWK-set cases and the RFC 7515 / RFC 7520 examples. Every valid token must be accepted,
// every invalid one rejected.
import * as fs from "fs";
import * as path from "path";
import { loadLib, WasmLib } from "../../helpers/wasmlib";
import { loadCrypto } from "../../../host/crypto/index";

const VECTORS = path.resolve(__dirname, "..", "..", "vectors");
const statuses: Array<{ name: string; value: number }> = JSON.parse(fs.readFileSync(path.join(VECTORS, "jwt_verify_lib", "status_codes.json"), "utf8")).statuses;
const nameOf = (v: number) => statuses.find((s) => s.value === v)?.name ?? `?${v}`;

let lib: WasmLib;
beforeAll(() => {
  lib = loadLib("jwt");
});
afterEach(() => {
  expect(lib.aborted).toEqual([]);
});

/** These are JWS vectors (payloads such as "foo" are not JWT claims): header, keys and signature only. */
function verify(jws: string, jwks: string): string {
  const [[jp, jl], [kp, kl]] = lib.put(jws, jwks);
  return nameOf(lib.exports.jwsVerify(jp, jl, kp, kl));
}

describe("Wycheproof json_web_key_test", () => {
  const file = JSON.parse(fs.readFileSync(path.join(VECTORS, "wycheproof", "testvectors_v1", "json_web_key_test.json"), "utf8"));
  const cases: Array<[string, any, any]> = [];
  for (const g of file.testGroups) for (const t of g.tests) cases.push([`tcId ${t.tcId} ${t.comment} (${t.result})`, g, t]);
  test("all 26 cases are here", () => expect(cases.length).toBe(26));
  test("as JWTs their non-JSON payloads are refused, as Envoy refuses them", () => {
    const [, g, t] = cases.find((c) => c[2].tcId === 2)!;
    const [[jp, jl], [kp, kl]] = lib.put(t.jws, JSON.stringify(g.private));
    expect(nameOf(lib.exports.jwtVerify(jp, jl, kp, kl, -1, 0, 0))).toBe("JwtPayloadParseErrorBadJson");
  });
  test.each(cases)("%s", (_name, g, t) => {
    // Symmetric sets come only as `private`; the verifier gets the set it would be configured with.
    const set = JSON.stringify(g.public ?? g.private);
    const got = verify(t.jws, set);
    if (t.result === "valid") expect(got).toBe("Ok");
    else expect(got).not.toBe("Ok");
  });
});

describe("RFC 7515 / RFC 7520 examples", () => {
  const file = JSON.parse(fs.readFileSync(path.join(VECTORS, "rfc", "jws_examples.json"), "utf8"));
  const examples: Array<[string, any]> = file.examples.map((e: any) => [e.id, e]);
  test.each(examples)("%s through the filter's verifier", (_id, e: any) => {
    expect(verify(e.jws_compact, JSON.stringify({ keys: [e.jwk] }))).toBe(e.valid ? "Ok" : "JwtVerificationFail");
  });
  test.each(examples)("%s through loadCrypto(), and a flipped bit is rejected", async (_id, e: any) => {
    const c = await loadCrypto();
    const [h, p, s] = (e.jws_compact as string).split(".");
    const data = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, "base64url");
    expect(c.verify(e.alg, e.jwk, data, sig)).toBe(e.valid);
    sig[0] ^= 1;
    expect(c.verify(e.alg, e.jwk, data, sig)).toBe(false);
  });
});
