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

const pol = (rules: object[], extra: object = {}) => JSON.stringify({ policies: [{ name: "p", rules, ...extra }] });
const op = (operation: object) => pol([{}, { to: [{ operation: { paths: ["/a"] } }, { operation }] }]);
const when = (...conds: object[]) => pol([{ when: conds }]);
const policyCases: Array<[string, string, string]> = [
  ["path template operator after {**}", pol([{}, { to: [{ operation: { paths: ["/a", "/b*", "/a/{**}/{*}"] } }] }]), "policies[0].rules[1].to[0].operation.paths[2]: {**} must be the last operator of a path template"],
  ["path template with a bare *", op({ paths: ["/a/*/{*}"] }), "policies[0].rules[1].to[1].operation.paths[0]: segment * of a path template is not a valid literal"],
  ["path template operator inside a segment", op({ paths: ["/v/{*}.m3u8"] }), "policies[0].rules[1].to[1].operation.paths[0]: '{' and '}' are only allowed as a whole {*} or {**} segment of a path template"],
  ["path template with a brace", op({ paths: ["/v/{id}/{*}"] }), "policies[0].rules[1].to[1].operation.paths[0]: '{' and '}' are only allowed as a whole"],
  ["path template with an empty segment", op({ paths: ["/v//{*}"] }), "policies[0].rules[1].to[1].operation.paths[0]: a path template must not have an empty segment"],
  ["destination.labels", when({ key: "destination.labels[app]", values: ["a"] }), "policies[0].rules[0].when[0].key: attribute destination.labels[app] is replaced by the workload selector"],
  ["path template not starting with /", op({ notPaths: ["a/{*}"] }), "policies[0].rules[1].to[1].operation.notPaths[0]: a path template must start with /"],
  ["port not a number", op({ ports: ["http"] }), "policies[0].rules[1].to[1].operation.ports[0]: must be a port number from 0 to 65535"],
  ["port too large", op({ notPorts: ["8080", "65536"] }), "policies[0].rules[1].to[1].operation.notPorts[1]: must be a port number from 0 to 65535"],
  ["empty method", op({ methods: [""] }), "policies[0].rules[1].to[1].operation.methods[0]: must not be empty"],
  ["unknown operation field", op({ path: ["/"] }), "policies[0].rules[1].to[1].operation.path: unknown field"],
  ["empty operation", op({}), "policies[0].rules[1].to[1].operation: must not be empty"],
  ["operation missing", pol([{ to: [{}] }]), "policies[0].rules[0].to[0].operation: required"],
  ["empty source", pol([{ from: [{ source: {} }] }]), "policies[0].rules[0].from[0].source: must not be empty"],
  ["source with only empty lists ([] is unset, as in Istio)", pol([{ from: [{ source: { requestPrincipals: [], allowMissingSub: true } }] }]), "policies[0].rules[0].from[0].source: must not be empty"],
  ["operation with only empty lists", op({ paths: [], notHosts: [] }), "policies[0].rules[1].to[1].operation: must not be empty"],
  ["condition with empty values", when({ key: "request.auth.presenter", values: [], notValues: [] }), "policies[0].rules[0].when[0]: at least one of values or notValues must be set"],
  ["bad CIDR", pol([{ from: [{ source: { ipBlocks: ["10.0.0.0/8", "10.0.0.0/33"] } }] }]), "policies[0].rules[0].from[0].source.ipBlocks[1]: must be an IP address or a CIDR block"],
  ["bad IP", pol([{ from: [{ source: { remoteIpBlocks: ["1.2.3"] } }] }]), "policies[0].rules[0].from[0].source.remoteIpBlocks[0]: must be an IP address"],
  ["structured principal without sub", pol([{ from: [{ source: { requestPrincipals: [{ iss: "a" }] } }] }]), "policies[0].rules[0].from[0].source.requestPrincipals[0].sub: required"],
  ["structured principal unknown field", pol([{ from: [{ source: { requestPrincipals: [{ iss: "a", sub: "b", aud: "c" }] } }] }]), "policies[0].rules[0].from[0].source.requestPrincipals[0].aud: unknown field"],
  ["allowMissingSub not a bool", pol([{ from: [{ source: { requestPrincipals: ["a/*"], allowMissingSub: 1 } }] }]), "policies[0].rules[0].from[0].source.allowMissingSub: must be a boolean"],
  ["unknown condition key", pol([{}, { when: [{ key: "request.auth.claim[x]", values: ["a"] }] }]), "policies[0].rules[1].when[0].key: unknown attribute request.auth.claim[x]"],
  ["condition key missing", when({ values: ["a"] }), "policies[0].rules[0].when[0].key: required"],
  ["condition without values", when({ key: "request.auth.presenter" }), "policies[0].rules[0].when[0]: at least one of values or notValues must be set"],
  ["condition values not strings", when({ key: "request.auth.presenter", values: "a" }), "policies[0].rules[0].when[0].values: must be a list of strings"],
  ["condition unknown field", when({ key: "request.auth.presenter", values: ["a"], value: "b" }), "policies[0].rules[0].when[0].value: unknown field"],
  ["empty claim name", when({ key: "request.auth.claims[]", values: ["a"] }), "policies[0].rules[0].when[0].key: must name a claim"],
  ["header key without a name", when({ key: "request.headers", values: ["a"] }), "policies[0].rules[0].when[0].key: must name a header"],
  ["bad destination.port value", when({ key: "destination.port", notValues: ["x"] }), "policies[0].rules[0].when[0].notValues[0]: must be a port number"],
  ["bad source.ip value", when({ key: "source.ip", values: ["300.1.1.1"] }), "policies[0].rules[0].when[0].values[0]: must be an IP address"],
  ["a later condition key", when({ key: "source.trustDomain", values: ["a"] }), "policies[0].rules[0].when[0].key: source.trustDomain is not supported yet"],
  ["serviceAccounts without a namespace", pol([{ from: [{ source: { serviceAccounts: ["ns/a", "b"] } }] }]), "policies[0].rules[0].from[0].source.serviceAccounts[1]: write <namespace>/<serviceAccount>: the filter does not know the policy's namespace"],
  ["serviceAccounts wildcard", pol([{ from: [{ source: { notServiceAccounts: ["ns/*"] } }] }]), "policies[0].rules[0].from[0].source.notServiceAccounts[0]: wildcard not allowed"],
  ["serviceAccounts two slashes", pol([{ from: [{ source: { serviceAccounts: ["a/b/c"] } }] }]), "policies[0].rules[0].from[0].source.serviceAccounts[0]: expected format 'namespace/serviceAccount'"],
  ["serviceAccounts more than 16", pol([{ from: [{ source: { serviceAccounts: Array.from({ length: 17 }, (_, i) => `ns/sa${i}`) } }] }]), "policies[0].rules[0].from[0].source.serviceAccounts: may not have more than 16 values"],
  ["serviceAccounts with namespaces", pol([{ from: [{ source: { serviceAccounts: ["ns/a"], namespaces: ["ns"] } }] }]), "policies[0].rules[0].from[0].source: cannot set serviceAccounts with namespaces or principals"],
  ["source.serviceAccount value", when({ key: "source.serviceAccount", values: ["/a"] }), "policies[0].rules[0].when[0].values[0]: expected format 'namespace/serviceAccount'"],
  ["empty when", pol([{ when: [] }]), "policies[0].rules[0].when: must not be empty"],
  ["DENY without rules", '{"policies":[{"action":"DENY"}]}', "policies[0].rules: a DENY policy without rules would never match (Istio refuses it); add an empty rule {} to deny every request"],
  ["DENY with empty rules", '{"policies":[{"action":"DENY","rules":[]}]}', "policies[0].rules: a DENY policy without rules would never match"],
  ["dryRun not a bool", pol([{}], { dryRun: "true" }), "policies[0].dryRun: must be a boolean"],
  ["provider without CUSTOM", pol([{}], { provider: { name: "x" } }), "policies[0].provider: only for the CUSTOM action"],
  ["denyWithAuthenticate not a bool", '{"denyWithAuthenticate":1}', "denyWithAuthenticate: must be a boolean"],
  ["xffNumTrustedHops negative", '{"xffNumTrustedHops":-1}', "xffNumTrustedHops: must be a whole number from 0 to 64"],
];

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
  ["outputClaimToHeaders bad header", rule({ outputClaimToHeaders: [{ header: "a b", claim: "c" }] }), "jwtRules[0].outputClaimToHeaders[0].header: must match ^[-_A-Za-z0-9]+$"],
  ["bad action", '{"policies":[{"action":"MAYBE"}]}', "policies[0].action: must be ALLOW, DENY or AUDIT"],
  ["CUSTOM action", '{"policies":[{"action":"CUSTOM"}]}', "policies[0].action: CUSTOM needs an ext_authz provider, which a wasm filter cannot call; use Envoy's ext_authz filter"],
  ["an empty to", '{"policies":[{"rules":[{"to":[]}]}]}', "policies[0].rules[0].to: must not be empty"],
  ["a later source field", '{"policies":[{"rules":[{"from":[{"source":{"trustDomains":["a"]}}]}]}]}', "policies[0].rules[0].from[0].source.trustDomains: not supported yet"],
  ...policyCases,
  ["source missing", '{"policies":[{"rules":[{"from":[{}]}]}]}', "policies[0].rules[0].from[0].source: required"],
  ["principal not a string", '{"policies":[{"rules":[{"from":[{"source":{"requestPrincipals":[1]}}]}]}]}', "policies[0].rules[0].from[0].source.requestPrincipals[0]: must be a string"],
  ["empty principal", '{"policies":[{"rules":[{"from":[{"source":{"requestPrincipals":[""]}}]}]}]}', "policies[0].rules[0].from[0].source.requestPrincipals[0]: must not be empty"],
  // The request's copy of a claim or payload header is the client's (the filter removes it): a condition on
  // it would decide on a forged value.
  ["condition on a claim header", '{"jwtRules":[{"issuer":"a","jwks":"{\\"keys\\":[]}","outputClaimToHeaders":[{"header":"X-Role","claim":"role"}]}],"policies":[{"rules":[{"when":[{"key":"request.headers[x-role]","values":["admin"]}]}]}]}',
    "policies[0].rules[0].when[0].key: names x-role, a header the filter writes from a verified token (outputClaimToHeaders or outputPayloadToHeader): use request.auth.claims[...] instead"],
  ["condition on the payload header", '{"jwtRules":[{"issuer":"a","jwks":"{\\"keys\\":[]}","outputPayloadToHeader":"x-jwt"}],"policies":[{"rules":[{"when":[{"key":"request.headers[X-JWT]","notValues":["x"]}]}]}]}',
    "policies[0].rules[0].when[0].key: names x-jwt, a header the filter writes from a verified token"],
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
