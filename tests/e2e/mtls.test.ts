// AuthorizationPolicy peer identities over real mTLS: the compiled filter in the local host serving
// HTTPS with a client CA (host/tls.ts), clients presenting certificates made by openssl at test time
// (URI SAN spiffe://cluster.local/ns/<ns>/sa/<sa>). `principals`, `notPrincipals`, `namespaces`,
// `serviceAccounts`, the `when` keys `source.principal`, `source.namespace` and `connection.sni`, and a
// JWT requirement alongside a peer one; a request without a certificate (or without a URI SAN) has no
// peer identity, as in Istio without mTLS. Each case checks the status, the body, and whether the
// backend received the request.
import { startBackend, type Backend } from "../helpers/servers";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { makePki, type TestPki, type CertFiles } from "../helpers/certs";
import { httpsRequest } from "../helpers/https";
import { makeRsaKey, jwksOf, sign, nowS, type TestKey } from "../helpers/tokens";

let backend: Backend;
let pki: TestPki;
let key: TestKey;
const ISS = "https://accounts.example.com";

beforeAll(async () => {
  backend = await startBackend();
  pki = makePki();
  key = makeRsaKey("k1");
});
afterAll(async () => {
  await backend.close();
  pki.remove();
});

/** Who connects: a client certificate (by namespace/service account, or the one without SANs) or none. */
type Peer = "none" | "no-san" | "other-ca" | `${string}/${string}`;

interface Case {
  peer: Peer;
  /** SNI to send (the gateway's certificate is not checked against it). */
  sni?: string;
  /** Adds a valid token for subject `sub`. */
  sub?: string;
  status: number;
}

function certOf(peer: Peer): CertFiles | null {
  if (peer === "none") return null;
  if (peer === "no-san") return pki.noSanClient();
  if (peer === "other-ca") return pki.client("default", "sleep", { otherCa: true });
  const [ns, sa] = peer.split("/");
  return pki.client(ns, sa);
}

async function withGateway(policy: object, fn: (g: TestGateway) => Promise<void>) {
  const g = await startGateway(
    { jwtRules: [{ issuer: ISS, jwks: jwksOf(key) }], policies: [{ name: "ns.p", ...policy }] },
    backend.url,
    { workers: 1, serve: { tls: { cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca.cert } } },
  );
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

async function check(policy: object, cases: Case[]) {
  await withGateway(policy, async (g) => {
    for (const c of cases) {
      const cert = certOf(c.peer);
      const path = `/${c.peer.replace("/", "-")}`;
      const before = backend.requests.length;
      const r = await httpsRequest(g.url + path, {
        ca: pki.ca.cert,
        ...(cert ? { cert: cert.cert, key: cert.key } : {}),
        ...(c.sni !== undefined ? { servername: c.sni, checkServerIdentity: () => undefined } : {}),
        headers: c.sub ? { authorization: `Bearer ${sign(key, { iss: ISS, sub: c.sub, exp: nowS() + 600 })}` } : {},
      });
      if ("error" in r) throw new Error(`${JSON.stringify(c)}: ${r.error.message}`);
      expect({ case: c, status: r.status }).toEqual({ case: c, status: c.status });
      if (c.status === 200) {
        expect(r.body).toBe(`Hello World! ${path}`);
        expect(backend.requests.length).toBe(before + 1);
        expect(backend.requests[before].url).toBe(path);
      } else {
        expect(r.body).toBe("RBAC: access denied");
        expect(backend.requests.length).toBe(before);
      }
    }
  });
}

const allowFrom = (source: object) => ({ action: "ALLOW", rules: [{ from: [{ source }] }] });
const allowWhen = (...when: object[]) => ({ action: "ALLOW", rules: [{ when }] });

describe("peer identities from the client certificate's URI SAN", () => {
  test.each<[string, object, Case[]]>([
    ["principals (exact, spiffe:// added)", allowFrom({ principals: ["cluster.local/ns/default/sa/sleep"] }), [
      { peer: "default/sleep", status: 200 },
      { peer: "prod/web", status: 403 },
      { peer: "none", status: 403 },
      { peer: "no-san", status: 403 },
    ]],
    ["principals prefix and suffix", allowFrom({ principals: ["cluster.local/ns/prod/*", "*/sa/admin"] }), [
      { peer: "prod/web", status: 200 },
      { peer: "kube-system/admin", status: 200 },
      { peer: "default/sleep", status: 403 },
      { peer: "none", status: 403 },
    ]],
    ["principals [*]: any peer identity; none without a certificate", allowFrom({ principals: ["*"] }), [
      { peer: "default/sleep", status: 200 },
      { peer: "none", status: 403 },
    ]],
    ["notPrincipals: a peer without a certificate is not excluded", allowFrom({ notPrincipals: ["cluster.local/ns/kube-system/*"] }), [
      { peer: "kube-system/admin", status: 403 },
      { peer: "default/sleep", status: 200 },
      { peer: "none", status: 200 },
    ]],
    ["namespaces", allowFrom({ namespaces: ["prod"] }), [
      { peer: "prod/web", status: 200 },
      { peer: "default/sleep", status: 403 },
      { peer: "none", status: 403 },
      { peer: "no-san", status: 403 },
    ]],
    ["serviceAccounts", allowFrom({ serviceAccounts: ["default/sleep"] }), [
      { peer: "default/sleep", status: 200 },
      { peer: "prod/sleep", status: 403 },
      { peer: "default/web", status: 403 },
      { peer: "none", status: 403 },
    ]],
    ["DENY on namespaces: only that namespace's peers are refused", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["kube-system"] } }] }] }, [
      { peer: "kube-system/admin", status: 403 },
      { peer: "default/sleep", status: 200 },
      { peer: "none", status: 200 },
    ]],
    ["when source.principal", allowWhen({ key: "source.principal", values: ["cluster.local/ns/default/sa/*"] }), [
      { peer: "default/sleep", status: 200 },
      { peer: "prod/web", status: 403 },
      { peer: "none", status: 403 },
    ]],
    ["when source.namespace (values and notValues)", allowWhen({ key: "source.namespace", values: ["default", "prod"] }, { key: "source.namespace", notValues: ["prod"] }), [
      { peer: "default/sleep", status: 200 },
      { peer: "prod/web", status: 403 },
      { peer: "kube-system/admin", status: 403 },
      { peer: "none", status: 403 },
    ]],
    ["when connection.sni (with or without a client certificate)", allowWhen({ key: "connection.sni", values: ["*.example.com"] }), [
      { peer: "default/sleep", sni: "api.example.com", status: 200 },
      { peer: "none", sni: "api.example.com", status: 200 },
      { peer: "default/sleep", sni: "api.example.org", status: 403 },
      { peer: "default/sleep", status: 403 },
    ]],
    ["a peer and a request principal together (one source: both must match)", allowFrom({ principals: ["cluster.local/ns/default/sa/sleep"], requestPrincipals: [`${ISS}/alice`] }), [
      { peer: "default/sleep", sub: "alice", status: 200 },
      { peer: "default/sleep", status: 403 },
      { peer: "default/sleep", sub: "bob", status: 403 },
      { peer: "none", sub: "alice", status: 403 },
    ]],
  ])("%s", async (_name, policy, cases) => {
    await check(policy, cases);
  });

  test("a certificate from another CA never reaches the filter: the connection is refused", async () => {
    await withGateway(allowFrom({ principals: ["*"] }), async (g) => {
      const before = backend.requests.length;
      const cert = certOf("other-ca") as CertFiles;
      const r = await httpsRequest(`${g.url}/x`, { ca: pki.ca.cert, cert: cert.cert, key: cert.key });
      expect("error" in r).toBe(true);
      expect(backend.requests.length).toBe(before);
    });
  });

  // Envoy's RBAC `authenticated` principal (what Istio generates for `principals`) matches every URI SAN,
  // then every DNS SAN, then the RFC 2253 subject; Istio turns `*` into the regex `.+`. So a certificate
  // without SANs (subject "CN=no-uri-san") is a principal for `*`. The filter tries the first URI SAN, the
  // first DNS SAN and the subject (all proxy-wasm exposes).
  test("principals [*] with a certificate without SANs: allowed, its subject is the principal (as Envoy)", async () => {
    await check(allowFrom({ principals: ["*"] }), [{ peer: "no-san", status: 200 }]);
  });
});
