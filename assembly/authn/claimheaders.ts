// Owns turning one claim into the value of an `outputClaimToHeaders` header, as Envoy's
// AuthenticatorImpl::addJWTClaimToHeader (source/extensions/filters/http/jwt_authn/authenticator.cc): a string
// as is; a number by convertClaimDoubleToString; a bool as `true`/`false`; a list or object as standard
// base64 (padded) of protobuf's JSON for it (MessageToJsonString: compact, protobuf's string escaping,
// numbers by SimpleDtoa); null, or an empty result, adds no header. Opt-ins beyond Envoy: `csv` (a list as
// comma-separated values) and `json` (a list or object as plain JSON). Stricter than Envoy: a value holding
// CR, LF or NUL adds no header (it would split the request's header block).
import { JsonValue, JsonKind } from "../util/json";
import { ClaimFormat } from "../config/config";
import { claimNumberString, simpleDtoa } from "../util/numfmt";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** RFC 4648 §4 base64 with padding of the UTF-8 bytes of `s` (Envoy's Base64::encode); linear time. */
export function base64StdEncode(s: string): string {
  const buf = Uint8Array.wrap(String.UTF8.encode(s));
  const n = buf.length;
  const out = new Uint8Array(((n + 2) / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (<u32>buf[i] << 16) | (<u32>buf[i + 1] << 8) | <u32>buf[i + 2];
    out[o++] = <u8>B64.charCodeAt(v >> 18);
    out[o++] = <u8>B64.charCodeAt((v >> 12) & 63);
    out[o++] = <u8>B64.charCodeAt((v >> 6) & 63);
    out[o++] = <u8>B64.charCodeAt(v & 63);
  }
  if (n - i == 2) {
    const v = (<u32>buf[i] << 16) | (<u32>buf[i + 1] << 8);
    out[o++] = <u8>B64.charCodeAt(v >> 18);
    out[o++] = <u8>B64.charCodeAt((v >> 12) & 63);
    out[o++] = <u8>B64.charCodeAt((v >> 6) & 63);
    out[o++] = 0x3d;
  } else if (n - i == 1) {
    const v = <u32>buf[i] << 16;
    out[o++] = <u8>B64.charCodeAt(v >> 18);
    out[o++] = <u8>B64.charCodeAt((v >> 12) & 63);
    out[o++] = 0x3d;
    out[o++] = 0x3d;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>o);
}

/** protobuf's json_internal MustEscape: the code points written as an escape. */
function mustEscape(c: i32): bool {
  if (c <= 0x1f || (c >= 0x7f && c <= 0x9f)) return true;
  switch (c) {
    case 0x22: case 0x5c: case 0x3c: case 0x3e: case 0xfeff: case 0xfff9: case 0xfffa: case 0xfffb:
    case 0xad: case 0x6dd: case 0x70f: case 0x17b4: case 0x17b5: case 0xe0001:
      return true;
  }
  return (c >= 0x600 && c <= 0x603) || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) || (c >= 0x206a && c <= 0x206f) || (c >= 0x1d173 && c <= 0x1d17a) ||
    (c >= 0xe0020 && c <= 0xe007f);
}

function uEscape(u: i32): string {
  const h = u.toString(16);
  return "\\u" + "0000".substring(h.length) + h;
}

/** A JSON string as protobuf's JsonWriter quotes it (a lone surrogate, invalid UTF-8 there, is a space). */
export function protoJsonString(s: string): string {
  const parts: string[] = ["\""];
  writeJsonString(s, parts);
  return parts.join("");
}

/** Appends the escaped body and closing quote of `s` to `parts` (linear: parts are joined once). */
function writeJsonString(s: string, parts: string[]): void {
  let from = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    let c = s.charCodeAt(i);
    let w = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        w = 2;
      }
    }
    const lone = w == 1 && c >= 0xd800 && c <= 0xdfff;
    if (!lone && !mustEscape(c)) {
      i += w;
      continue;
    }
    if (i > from) parts.push(s.substring(from, i));
    if (lone) parts.push(" ");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else if (c == 0x22) parts.push("\\\"");
    else if (c == 0x0c) parts.push("\\f");
    else if (c == 0x08) parts.push("\\b");
    else if (c == 0x5c) parts.push("\\\\");
    else if (c < 0x10000) parts.push(uEscape(c));
    else {
      const v = c - 0x10000;
      parts.push(uEscape(0xd800 + (v >> 10)));
      parts.push(uEscape(0xdc00 + (v & 0x3ff)));
    }
    i += w;
    from = i;
  }
  parts.push(from == 0 ? s : s.substring(from));
  parts.push("\"");
}

/**
 * protobuf's JSON for a google.protobuf.Value, compact. Object members in the token's order, a repeated name
 * once with its last value (protobuf's Struct is a hash map, so Envoy's own member order is unspecified).
 */
export function protoJson(v: JsonValue): string {
  const parts: string[] = [];
  writeJson(v, parts);
  return parts.join("");
}

/** Appends the JSON of `v` to `parts`. Depth is bounded by the token's JSON limits (64). */
function writeJson(v: JsonValue, parts: string[]): void {
  switch (v.kind) {
    case JsonKind.Null: parts.push("null"); return;
    case JsonKind.Bool: parts.push(v.boolValue ? "true" : "false"); return;
    case JsonKind.Number: parts.push(simpleDtoa(v.numValue)); return;
    case JsonKind.String: parts.push("\""); writeJsonString(v.strValue, parts); return;
    case JsonKind.Array: {
      const items = v.items;
      parts.push("[");
      for (let i = 0; i < items.length; i++) {
        if (i > 0) parts.push(",");
        writeJson(unchecked(items[i]), parts);
      }
      parts.push("]");
      return;
    }
    default: {
      const keys = v.keys;
      const values = v.values;
      const n = min(keys.length, values.length);
      // The last occurrence of each name wins; a set of names seen from the end keeps this linear.
      const seen = new Set<string>();
      const keep = new Array<bool>(n);
      for (let i = n - 1; i >= 0; i--) {
        const k = unchecked(keys[i]);
        if (seen.has(k)) continue;
        seen.add(k);
        unchecked(keep[i] = true);
      }
      parts.push("{");
      let first = true;
      for (let i = 0; i < n; i++) {
        if (!unchecked(keep[i])) continue;
        if (!first) parts.push(",");
        first = false;
        parts.push("\"");
        writeJsonString(unchecked(keys[i]), parts);
        parts.push(":");
        writeJson(unchecked(values[i]), parts);
      }
      parts.push("}");
    }
  }
}

/** A scalar as addJWTClaimToHeader copies it; "" for null or a container. */
function scalarString(v: JsonValue): string {
  if (v.kind == JsonKind.String) return v.strValue;
  if (v.kind == JsonKind.Number) return claimNumberString(v.numValue);
  if (v.kind == JsonKind.Bool) return v.boolValue ? "true" : "false";
  return "";
}

/** `csv`: every element a scalar without a comma, joined by `,`; else "" (no header, never an ambiguous list). */
function csvOf(v: JsonValue): string {
  const items = v.items;
  const parts = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = unchecked(items[i]);
    if (it.kind != JsonKind.String && it.kind != JsonKind.Number && it.kind != JsonKind.Bool) return "";
    const s = scalarString(it);
    if (s.indexOf(",") >= 0) return "";
    unchecked(parts[i] = s);
  }
  return parts.join(",");
}

/** Whether a value can go into a header line as is: no CR, LF or NUL. */
function headerSafe(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x0a || c == 0x0d || c == 0) return false;
  }
  return true;
}

/** The header value for a claim, or "" when no header is added (Envoy adds none for an empty value). */
export function claimHeaderValue(v: JsonValue, format: ClaimFormat): string {
  let s: string;
  if (v.kind == JsonKind.Array || v.kind == JsonKind.Object) {
    if (format == ClaimFormat.Csv && v.kind == JsonKind.Array) s = csvOf(v);
    else if (format == ClaimFormat.Json) s = protoJson(v);
    else s = base64StdEncode(protoJson(v));
  } else {
    s = scalarString(v);
  }
  return headerSafe(s) ? s : "";
}
