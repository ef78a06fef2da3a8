// Owns the one way a value from a request or a configuration is written into a debug header or a log
// word: printable ASCII only, bounded, so a client or a policy name can neither split a header nor a line.

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
