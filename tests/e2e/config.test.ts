// A bad plugin configuration makes proxy_on_configure return false (the host, like Envoy, refuses the
// filter) and logs one error line naming the field and the problem. None of them traps.
import { startBackend, Backend } from "../helpers/servers";
import { refusedConfig } from "../helpers/gateway";

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.close();
});

const JWKS = JSON.stringify({ keys: [] });
const rule = (extra: object) => JSON.stringify({ jwtRules: [{ issuer: "i", jwks: JWKS, ...extra }] });

test.each([
  ["not JSON", "{jwtRules:", "configuration: invalid JSON at byte 1"],
  ["not an object", "[]", "configuration: must be a JSON object"],
  ["empty", "", "configuration: required"],
  ["unknown top-level field", '{"jwtRule":[]}', "jwtRule: unknown field"],
  ["jwtRules not a list", '{"jwtRules":{}}', "jwtRules: must be a list"],
  ["rule not an object", '{"jwtRules":[1]}', "jwtRules[0]: must be an object"],
  ["missing issuer", JSON.stringify({ jwtRules: [{ jwks: JWKS }] }), "jwtRules[0].issuer: required"],
  ["issuer not a string", JSON.stringify({ jwtRules: [{ issuer: 1, jwks: JWKS }] }), "jwtRules[0].issuer: must be a string"],
  ["empty issuer", JSON.stringify({ jwtRules: [{ issuer: "", jwks: JWKS }] }), "jwtRules[0].issuer: must not be empty"],
  ["no key source", JSON.stringify({ jwtRules: [{ issuer: "i" }] }), "jwtRules[0]: one of jwks or jwksUri is required"],
  ["both key sources", rule({ jwksUri: "https://x/j" }), "jwtRules[0]: only one of jwks and jwksUri may be set"],
  ["jwksUri not http", JSON.stringify({ jwtRules: [{ issuer: "i", jwksUri: "ftp://x/j" }] }), "jwtRules[0].jwksUri: must be an http:// or https:// URI"],
  ["audiences not a list", rule({ audiences: "a" }), "jwtRules[0].audiences: must be a list of strings"],
  ["audience not a string", rule({ audiences: ["a", 2] }), "jwtRules[0].audiences[1]: must be a string"],
  ["fromHeaders entry without name", rule({ fromHeaders: [{ prefix: "Bearer " }] }), "jwtRules[0].fromHeaders[0].name: required"],
  ["fromHeaders bad name", rule({ fromHeaders: [{ name: "a b" }] }), "jwtRules[0].fromHeaders[0].name: must be an HTTP header name"],
  ["fromHeaders unknown field", rule({ fromHeaders: [{ name: "a", value_prefix: "x" }] }), "jwtRules[0].fromHeaders[0].value_prefix: unknown field"],
  ["fromParams not strings", rule({ fromParams: [1] }), "jwtRules[0].fromParams[0]: must be a string"],
  ["forwardOriginalToken not a bool", rule({ forwardOriginalToken: "yes" }), "jwtRules[0].forwardOriginalToken: must be a boolean"],
  ["bad timeout", rule({ timeout: "5 seconds" }), "jwtRules[0].timeout: must be a duration between 1ms and 1h"],
  ["timeout a number", rule({ timeout: 5 }), "jwtRules[0].timeout: must be a duration string"],
  ["unknown rule field", rule({ isuer: "x" }), "jwtRules[0].isuer: unknown field"],
  ["a later rule field", rule({ outputClaimToHeaders: [] }), "jwtRules[0].outputClaimToHeaders: not supported yet"],
  ["bad action", '{"policies":[{"action":"MAYBE"}]}', "policies[0].action: must be ALLOW or DENY"],
  ["CUSTOM action", '{"policies":[{"action":"CUSTOM"}]}', "policies[0].action: CUSTOM is not supported yet"],
  ["a later rule part", '{"policies":[{"rules":[{"to":[]}]}]}', "policies[0].rules[0].to: not supported yet"],
  ["a later source field", '{"policies":[{"rules":[{"from":[{"source":{"namespaces":["a"]}}]}]}]}', "policies[0].rules[0].from[0].source.namespaces: not supported yet"],
  ["source missing", '{"policies":[{"rules":[{"from":[{}]}]}]}', "policies[0].rules[0].from[0].source: required"],
  ["principal not a string", '{"policies":[{"rules":[{"from":[{"source":{"requestPrincipals":[1]}}]}]}]}', "policies[0].rules[0].from[0].source.requestPrincipals[0]: must be a string"],
  ["empty principal", '{"policies":[{"rules":[{"from":[{"source":{"requestPrincipals":[""]}}]}]}]}', "policies[0].rules[0].from[0].source.requestPrincipals[0]: must not be empty"],
  ["tokenCache not an object", '{"tokenCache":5}', "tokenCache: must be an object"],
  ["tokenCache bad size", '{"tokenCache":{"maxEntries":-1}}', "tokenCache.maxEntries: must be a whole number from 0 to 1000000"],
  ["tokenCache fraction", '{"tokenCache":{"maxBytes":1.5}}', "tokenCache.maxBytes: must be a whole number"],
  ["tokenCache unknown field", '{"tokenCache":{"size":1}}', "tokenCache.size: unknown field"],
  ["deeply nested", "[".repeat(5000) + "]".repeat(5000), "configuration: invalid JSON at byte"],
])("%s", async (_name, config, message) => {
  const { error, logs } = await refusedConfig(config, backend.url);
  expect((error as { code?: string }).code).toBe("HOST_ERR_CONFIGURE_FAILED");
  const lines = logs.filter((l) => l.includes("invalid plugin configuration: "));
  expect(lines.length).toBe(1);
  expect(lines[0]).toContain(`invalid plugin configuration: ${message}`);
  expect(lines[0]).toMatch(/error/);
  expect(logs.some((l) => /RuntimeError|unreachable|Wasm VM failed/.test(l))).toBe(false);
});
