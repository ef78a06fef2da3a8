// Owns the one way a value from a request or a configuration is written into a debug header or a log
// word (printable ASCII only, bounded, so a client or a policy name can neither split a header nor a line),
// and how a log line names a request.

/**
 * One word: printable ASCII only, no space, quote or backslash (each becomes `?`), at most 128
 * characters ("..." marks a cut); "-" when empty.
 */
export function debugWord(s: string): string {
  if (s.length == 0) return "-";
  const n = s.length > 128 ? 128 : s.length;
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c <= 0x20 || c >= 0x7f || c == 0x22 || c == 0x5c ? "?" : String.fromCharCode(c);
  }
  return s.length > n ? out + "..." : out;
}

/**
 * `METHOD /path` for a log line: the path without its query string or fragment (a token may be there), at
 * most 256 characters ("..." marks a cut). One form for every request a log line names.
 */
export function requestLogLine(method: string, path: string): string {
  let end = path.length;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3f || c == 0x23) {
      end = i;
      break;
    }
  }
  const line = method + " " + (end == path.length ? path : path.substring(0, end));
  return line.length > 256 ? line.substring(0, 256) + "..." : line;
}
