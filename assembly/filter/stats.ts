// Owns the filter's counters, named after Envoy's jwt_authn and RBAC stats (Envoy shows them as
// `wasmcustom.jwt_authn.allowed` …). Defined once per root context; incremented on the request path.
import { Counter } from "@solo-io/proxy-runtime/assembly";

export class Stats {
  allowed: Counter = new Counter("jwt_authn.allowed");
  denied: Counter = new Counter("jwt_authn.denied");
  jwtCacheHit: Counter = new Counter("jwt_authn.jwt_cache_hit");
  jwtCacheMiss: Counter = new Counter("jwt_authn.jwt_cache_miss");
  jwksFetchSuccess: Counter = new Counter("jwt_authn.jwks_fetch_success");
  jwksFetchFailed: Counter = new Counter("jwt_authn.jwks_fetch_failed");
  rbacAllowed: Counter = new Counter("rbac.allowed");
  rbacDenied: Counter = new Counter("rbac.denied");
}
