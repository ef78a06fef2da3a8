// Owns reading an http(s) URI into what a fetch through an Envoy cluster needs: scheme, authority,
// path and Istio's default outbound cluster name. Used for configured `jwksUri`s, OIDC discovery
// addresses and the `jwks_uri` a discovery document names (hostile input: bounded, never throws).

export class FetchTarget {
  uri: string = "";
  https: bool = false;
  authority: string = "";
  path: string = "/";
  /** The Envoy cluster the fetch goes through. */
  cluster: string = "";
}

/**
 * Splits an http(s) URI; null when it is not one (other schemes, userinfo, spaces or controls, a bad
 * port, over 2,048 characters). `cluster` overrides the default `outbound|<port>||<host>`.
 */
export function fetchTarget(uri: string, cluster: string): FetchTarget | null {
  let rest = "";
  let defaultPort = "";
  const t = new FetchTarget();
  if (uri.startsWith("https://")) { rest = uri.substring(8); defaultPort = "443"; t.https = true; }
  else if (uri.startsWith("http://")) { rest = uri.substring(7); defaultPort = "80"; }
  else return null;
  if (uri.length > 2048) return null;
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.substring(0, slash);
  const path = slash < 0 ? "/" : rest.substring(slash);
  if (authority.length == 0 || authority.indexOf("@") >= 0 || authority.indexOf(" ") >= 0) return null;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f) return null;
  }
  for (let i = 0; i < authority.length; i++) {
    const c = authority.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f || c == 0x2f || c == 0x3f || c == 0x23) return null;
  }
  // Host and port for Istio's outbound cluster name `outbound|<port>||<host>`.
  let host = authority;
  let port = defaultPort;
  const colon = authority.lastIndexOf(":");
  if (colon > 0 && authority.indexOf("]") < colon) {
    host = authority.substring(0, colon);
    port = authority.substring(colon + 1);
    if (port.length == 0 || port.length > 5) return null;
    for (let i = 0; i < port.length; i++) {
      const c = port.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return null;
    }
  }
  t.uri = uri;
  t.authority = authority;
  t.path = path;
  t.cluster = cluster.length > 0 ? cluster : "outbound|" + port + "||" + host;
  return t;
}
