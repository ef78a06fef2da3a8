// Owns every local reply the filter sends: the jwt_authn failure (status string body, 401/403,
// www-authenticate) and the RBAC denial (403 `RBAC: access denied`), with Envoy's response-code details.
import { send_local_response, HeaderPair, GrpcStatusValues } from "@solo-io/proxy-runtime/assembly";
import { Status, statusString, httpCodeFor } from "../status";
import { quotedSafe } from "../util/bytes";
import { EXPLAIN_HEADER } from "../authz/explain";

/** Envoy cuts the realm to 256 bytes. */
const MAX_REALM: i32 = 256;

function header(name: string, value: string): HeaderPair {
  return new HeaderPair(String.UTF8.encode(name), String.UTF8.encode(value));
}

/**
 * `Bearer realm="<scheme>://<host><path>"`. Better than Envoy: the query string is left out, so a token
 * sent as `?access_token=` is never echoed back to the client.
 */
export function realmFor(scheme: string, authority: string, path: string): string {
  const q = path.indexOf("?");
  const p = q < 0 ? path : path.substring(0, q);
  let realm = quotedSafe((scheme.length > 0 ? scheme : "http") + "://" + authority + p);
  if (realm.length > MAX_REALM) realm = realm.substring(0, MAX_REALM);
  return realm;
}

/** The debugHeaders response header: the deciding reason (config `debugHeaders`). */
export const DECISION_HEADER = "x-jwt-authn-decision";

/** `decision` (non-empty only with debugHeaders) becomes the x-jwt-authn-decision header. */
export function sendAuthnFailure(s: Status, realm: string, tokenPresent: bool, decision: string = "", explanation: string = ""): void {
  const body = statusString(s);
  let www = "Bearer realm=\"" + realm + "\"";
  if (tokenPresent) www += ", error=\"invalid_token\"";
  const headers: HeaderPair[] = [header("www-authenticate", www)];
  if (decision.length > 0) headers.push(header(DECISION_HEADER, decision));
  if (explanation.length > 0) headers.push(header(EXPLAIN_HEADER, explanation));
  send_local_response(httpCodeFor(s), "jwt_authn_access_denied{" + body.replaceAll(" ", "_") + "}",
    String.UTF8.encode(body), headers, GrpcStatusValues.InvalidCode);
}

export const RBAC_DENIED_BODY = "RBAC: access denied";

export function sendRbacDenied(policy: string, decision: string = "", explanation: string = ""): void {
  const headers: HeaderPair[] = [];
  if (decision.length > 0) headers.push(header(DECISION_HEADER, decision));
  if (explanation.length > 0) headers.push(header(EXPLAIN_HEADER, explanation));
  send_local_response(403, "rbac_access_denied_matched_policy[" + policy + "]",
    String.UTF8.encode(RBAC_DENIED_BODY), headers, GrpcStatusValues.InvalidCode);
}

/** Fail closed when the filter has no usable configuration (it should never run unconfigured). */
export function sendNotConfigured(): void {
  send_local_response(500, "jwt_authn_not_configured", String.UTF8.encode("jwt_authn: not configured"), [], GrpcStatusValues.InvalidCode);
}

/**
 * Fail closed when the host's request header map cannot be read whole (a failed call or a malformed
 * layout): a host fault, so 500, and never a pass with a partial view.
 */
export function sendHeadersUnreadable(): void {
  send_local_response(500, "jwt_authn_header_map_unreadable", String.UTF8.encode("jwt_authn: request headers could not be read"), [], GrpcStatusValues.InvalidCode);
}
