// Owns the identity of a fetched document: which rules share one RemoteSet in a VM (the KeySets map key)
// and which share one record and body in shared data (the store key). Pure string functions, no state.
//
// Several rules naming one URI with different fetch options: Envoy's jwt_authn keeps one JwksCache entry
// per provider, each fetched with that provider's own cluster, timeout and cache duration, and Istio turns
// every jwtRule into its own provider. Istio accepts such a configuration, so refusing it would break a
// mesh that works with Envoy; sharing one set with the first rule's options (the old behaviour) silently
// gave the second rule another cluster (possibly another server), timeout and lifetime. So each rule keeps
// its own options: the set key holds the kind, the cluster, the URI and every option the set obeys
// (timeout, cacheDuration, staleTtl, minRefetchInterval); rules that agree on all of them still share one
// set, and one fetch.
//
// The shared record holds what a fetch decided for everyone (the body, its lifetime, validators, the lease):
// sets that differ only in timeout, staleTtl or minRefetchInterval apply those locally and still share one
// record and one fetch across VMs; a different cluster or cacheDuration gets its own record. The store key
// is the URI itself for the default cluster and no cacheDuration (the README's `jwt_authn.v1.meta|<uri>`),
// else `<uri>|<cluster>|<cacheDuration ms>`.
import { FetchTarget, fetchTarget } from "../util/uri";
import { DocKind } from "./remote";

function num(x: f64): string {
  return (<i64>x).toString();
}

/** The KeySets map key of a set: kind, cluster, URI and the options its lifecycle obeys. */
export function setKeyOf(kind: DocKind, t: FetchTarget, cacheDurationMs: f64, staleTtlMs: f64, minRefetchMs: f64, timeoutMs: u32): string {
  return (kind == DocKind.Jwks ? "jwks " : "oidc ") + t.uri + " " + t.cluster + " " + timeoutMs.toString() + " " +
    num(cacheDurationMs) + " " + num(staleTtlMs) + " " + num(minRefetchMs);
}

/** The shared-data key of a set's record and body (see the header). */
export function storeKeyOf(t: FetchTarget, cacheDurationMs: f64): string {
  const d = fetchTarget(t.uri, "");
  if (cacheDurationMs <= 0 && d !== null && d.cluster == t.cluster) return t.uri;
  return t.uri + "|" + t.cluster + "|" + num(cacheDurationMs);
}
