// Owns reading the request header map in one ABI call: the serialized pairs the host returns are walked
// in place (Envoy's layout: u32 count, count × (u32 key_len, u32 value_len), then "key\0value\0" …) and only
// the headers the filter needs become strings. The host's buffer is released exactly once. A map that
// cannot be read whole is reported, never taken as shorter than it is.
import { proxy_get_header_map_pairs } from "@solo-io/proxy-runtime/assembly/imports";
import { free } from "@solo-io/proxy-runtime/assembly/malloc";
import { RequestHeader } from "../authn/extractor";
import { decodeText, bytesEqual } from "../util/bytes";

/** Out-parameters of the host call: [ptr, size]. */
@lazy const OUT: usize = memory.data(8, 4);

/** Shared and never written: a view without policy headers allocates no list for them. */
const NO_EXTRA: Array<string | null> = [];

/** The request headers the filter looks at, decoded once per request. */
export class RequestView {
  /** False when the host's map could not be read whole: the request must be refused, never passed. */
  ok: bool = false;
  path: string = "";
  authority: string = "";
  scheme: string = "";
  method: string = "";
  /** Whether `origin` / `access-control-request-method` are present and non-empty (a CORS preflight with OPTIONS). */
  hasOrigin: bool = false;
  hasCorsMethod: bool = false;
  /** Values of the `extra` names (the headers policies read), several lines joined with `,` as Envoy; null when absent. */
  extra: Array<string | null> = NO_EXTRA;
  /** Headers whose (lower-case) name is wanted, in map order. */
  headers: RequestHeader[] = [];
  /** Whether any header named in `skip` was present (only then must it be removed). */
  sawSkipped: bool = false;
}

/** Whether the `len` bytes at `p` spell `name` (ASCII). */
function nameIs(p: usize, len: i32, name: string): bool {
  if (len != name.length) return false;
  for (let i = 0; i < len; i++) {
    if (<i32>load<u8>(p + <usize>i) != <i32>load<u16>(changetype<usize>(name) + (<usize>i << 1))) return false;
  }
  return true;
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
const SCHEMES = ["https", "http"];

/** A `:method` or `:scheme` value, as a shared constant for the common ones (no allocation per request). */
function knownText(v: usize, vl: i32, known: string[]): string {
  for (let i = 0; i < known.length; i++) {
    const m = unchecked(known[i]);
    if (nameIs(v, vl, m)) return m;
  }
  return decodeText(v, vl);
}

function isSkipped(k: usize, klen: i32, skip: string[]): bool {
  for (let j = 0; j < skip.length; j++) {
    if (nameIs(k, klen, unchecked(skip[j]))) return true;
  }
  return false;
}

/** The one view readRequestHeaders fills: valid until its next call (only `extra` is a new list each time). */
const VIEW = new RequestView();
/** The previous request's kept lines, in order: a line repeated byte for byte reuses its RequestHeader. */
const PREVIOUS: RequestHeader[] = [];

/**
 * Reads RequestHeaders (map 0). `wanted` lists the lower-case names to keep (token locations, `cookie`);
 * `skip` lists names to leave out (the forwarded-payload headers that are about to be removed).
 * Fail closed: the whole map is read, however many entries it has (its size is the host's bound), and a
 * failed call or a layout that does not add up exactly (a length past the end, a missing NUL, bytes left
 * over) gives a view with `ok` false; a map the filter cannot read whole could hide a token or a forgery.
 */
export function readRequestHeaders(wanted: string[], skip: string[], extra: string[] = []): RequestView {
  const view = VIEW;
  view.ok = false;
  view.path = "";
  view.authority = "";
  view.scheme = "";
  view.method = "";
  view.hasOrigin = false;
  view.hasCorsMethod = false;
  view.extra = NO_EXTRA;
  view.headers.length = 0;
  view.sawSkipped = false;
  if (extra.length > 0) {
    const e = new Array<string | null>(extra.length);
    for (let j = 0; j < extra.length; j++) unchecked(e[j] = null);
    view.extra = e;
  }
  store<u32>(OUT, 0);
  store<u32>(OUT, 0, 4);
  if (proxy_get_header_map_pairs(0, OUT, OUT + 4) != 0) return view;
  const buf = <usize>load<u32>(OUT);
  const size = <u64>load<u32>(OUT, 4);
  if (buf == 0 || size == 0) {
    // Envoy's encoding of an empty map.
    view.ok = buf == 0 && size == 0;
    if (buf != 0) free(buf);
    return view;
  }
  if (size < 4) {
    free(buf);
    return view;
  }
  const count = <u64>load<u32>(buf);
  if (4 + count * 8 > size) {
    free(buf);
    return view;
  }
  // Offsets are u64, so no length the host sends can wrap an address.
  let at: u64 = 4 + count * 8;
  let whole = true;
  for (let i: u64 = 0; i < count; i++) {
    const klen = <u64>load<u32>(buf + <usize>(4 + i * 8));
    const vlen = <u64>load<u32>(buf + <usize>(8 + i * 8));
    if (at + klen + vlen + 2 > size) {
      whole = false;
      break;
    }
    const k = buf + <usize>at;
    const v = k + <usize>klen + 1;
    at += klen + vlen + 2;
    if (load<u8>(v - 1) != 0 || load<u8>(v + <usize>vlen) != 0) {
      whole = false;
      break;
    }
    const kl = <i32>klen;
    const vl = <i32>vlen;
    // Headers `when` conditions name (pseudo-headers included, as Envoy's header matchers see them).
    for (let j = 0; j < extra.length; j++) {
      if (nameIs(k, kl, unchecked(extra[j]))) {
        const s = decodeText(v, vl);
        const prev = unchecked(view.extra[j]);
        unchecked(view.extra[j] = prev === null ? s : prev + "," + s);
        break;
      }
    }
    if (kl > 0 && load<u8>(k) == 0x3a) {
      if (nameIs(k, kl, ":path")) view.path = decodeText(v, vl);
      else if (nameIs(k, kl, ":authority")) view.authority = decodeText(v, vl);
      else if (nameIs(k, kl, ":scheme")) view.scheme = knownText(v, vl, SCHEMES);
      else if (nameIs(k, kl, ":method")) view.method = knownText(v, vl, METHODS);
      continue;
    }
    if (vl > 0) {
      if (nameIs(k, kl, "origin")) view.hasOrigin = true;
      else if (nameIs(k, kl, "access-control-request-method")) view.hasCorsMethod = true;
    }
    if (isSkipped(k, kl, skip)) {
      view.sawSkipped = true;
      continue;
    }
    for (let j = 0; j < wanted.length; j++) {
      const name = unchecked(wanted[j]);
      if (nameIs(k, kl, name)) {
        // The line at the same place in the previous request, if it was the same name and bytes (a
        // client repeating its token): its RequestHeader is immutable, so it is taken again, no copy.
        const at = view.headers.length;
        if (at < PREVIOUS.length) {
          const prev = unchecked(PREVIOUS[at]);
          if (prev.name == name && prev.raw.length == vl && bytesEqual(prev.raw.dataStart, v, vl)) {
            view.headers.push(prev);
            break;
          }
        }
        // The configured name is the same text: no per-request string for it.
        const value = new Uint8Array(vl);
        memory.copy(value.dataStart, v, <usize>vl);
        view.headers.push(new RequestHeader(name, value));
        break;
      }
    }
  }
  free(buf);
  view.ok = whole && at == size;
  // Remembered for the next request (references only: no allocation once the list has grown).
  PREVIOUS.length = 0;
  for (let i = 0; i < view.headers.length; i++) PREVIOUS.push(unchecked(view.headers[i]));
  return view;
}
