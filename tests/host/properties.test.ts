// host/properties.ts on its own: `request.size` as Envoy's int64 content-length, never a throw inside the
// host call (a throw there is taken as a trap and fails the VM for every request).
import { streamProperty, StreamFacts } from "../../host/properties";
import { HeaderMap } from "../../host/headers";

function facts(contentLength: string | undefined, requestBytes = 7): StreamFacts {
  const m = HeaderMap.fromEntries(contentLength === undefined ? [] : [["content-length", contentLength]]);
  return { requestMap: m, requestBytes, requestHeadersAvailable: true, logPhase: false } as unknown as StreamFacts;
}

const size = (cl: string | undefined) => streamProperty(facts(cl), ["request", "size"])!.readBigInt64LE(0);

test("request.size: content-length when it fits an int64, else the bytes received; never a throw", () => {
  expect(size("42")).toBe(42n);
  expect(size("9223372036854775807")).toBe(9223372036854775807n);
  // Node's parser accepts up to 2^64 - 1; writing it as an int64 used to throw.
  expect(size("9223372036854775808")).toBe(7n);
  expect(size("18446744073709551615")).toBe(7n);
  expect(size("00000000000000000000042")).toBe(42n);
  expect(size(undefined)).toBe(7n);
  expect(size("-1")).toBe(7n);
});
