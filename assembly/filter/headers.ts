// Owns reading the request header map in one ABI call: the serialized pairs the host returns are walked
// in place (Envoy's layout: u32 count, count × (u32 key_len, u32 value_len), then "key\0value\0" …) and only
// the headers the filter needs become strings. The host's buffer is released exactly once.
import { proxy_get_header_map_pairs } from "@solo-io/proxy-runtime/assembly/imports";
import { free } from "@solo-io/proxy-runtime/assembly/malloc";
import { RequestHeader } from "../authn/extractor";

/** Out-parameters of the host call: [ptr, size]. */
@lazy const OUT: usize = memory.data(8, 4);

/** The request headers the filter looks at, decoded once per request. */
export class RequestView {
  path: string = "";
  authority: string = "";
  scheme: string = "";
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

function isSkipped(k: usize, klen: i32, skip: string[]): bool {
  for (let j = 0; j < skip.length; j++) {
    if (nameIs(k, klen, unchecked(skip[j]))) return true;
  }
  return false;
}

/**
 * Reads RequestHeaders (map 0). `wanted` lists the lower-case names to keep (token locations, `cookie`);
 * `skip` lists names to leave out (the forwarded-payload headers that are about to be removed).
 */
export function readRequestHeaders(wanted: string[], skip: string[]): RequestView {
  const view = new RequestView();
  store<u32>(OUT, 0);
  store<u32>(OUT, 0, 4);
  if (proxy_get_header_map_pairs(0, OUT, OUT + 4) != 0) return view;
  const buf = <usize>load<u32>(OUT);
  const size = <i32>load<u32>(OUT, 4);
  if (buf == 0) return view;
  if (size < 4) {
    free(buf);
    return view;
  }
  // The host is trusted to send its own layout, but every read is still kept inside the buffer.
  const count = <i32>load<u32>(buf);
  if (count < 0 || count > 8192 || 4 + count * 8 > size) {
    free(buf);
    return view;
  }
  let data = buf + 4 + <usize>(count * 8);
  const end = buf + <usize>size;
  for (let i = 0; i < count; i++) {
    const klen = <i32>load<u32>(buf + 4 + <usize>(i * 8));
    const vlen = <i32>load<u32>(buf + 8 + <usize>(i * 8));
    if (klen < 0 || vlen < 0 || data + <usize>klen + <usize>vlen + 2 > end) break;
    const k = data;
    const v = data + <usize>klen + 1;
    data = v + <usize>vlen + 1;
    if (klen > 0 && load<u8>(k) == 0x3a) {
      if (nameIs(k, klen, ":path")) view.path = String.UTF8.decodeUnsafe(v, <usize>vlen);
      else if (nameIs(k, klen, ":authority")) view.authority = String.UTF8.decodeUnsafe(v, <usize>vlen);
      else if (nameIs(k, klen, ":scheme")) view.scheme = String.UTF8.decodeUnsafe(v, <usize>vlen);
      continue;
    }
    if (isSkipped(k, klen, skip)) {
      view.sawSkipped = true;
      continue;
    }
    let keep = false;
    for (let j = 0; j < wanted.length; j++) {
      if (nameIs(k, klen, unchecked(wanted[j]))) {
        keep = true;
        break;
      }
    }
    if (keep) {
      const value = new Uint8Array(vlen);
      memory.copy(value.dataStart, v, <usize>vlen);
      view.headers.push(new RequestHeader(String.UTF8.decodeUnsafe(k, <usize>klen), value));
    }
  }
  free(buf);
  return view;
}
