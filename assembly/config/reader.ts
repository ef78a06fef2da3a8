// Owns the configuration reader's primitives: typed member access with one "<json path>: <problem>"
// error kept (the first), warnings, and Istio durations. Shared by the rule and policy readers.
import { JsonValue, JsonKind } from "../util/json";

export class Reader {
  error: string = "";
  warnings: string[] = [];

  fail(path: string, problem: string): void {
    // One line whatever the configuration holds: control characters never reach the log as they are.
    if (this.error.length == 0) this.error = escapeControls(path) + ": " + escapeControls(problem);
  }
  get ok(): bool {
    return this.error.length == 0;
  }

  /** Rejects any member not in `allowed` (unknown fields are errors, never silently ignored). */
  onlyKnown(o: JsonValue, path: string, allowed: string[], later: string[]): void {
    for (let i = 0; i < o.keys.length; i++) {
      const k = unchecked(o.keys[i]);
      if (allowed.includes(k)) continue;
      const p = memberPath(path, k);
      if (later.includes(k)) this.fail(p, "not supported yet");
      else this.fail(p, "unknown field");
      return;
    }
  }

  str(o: JsonValue, key: string, path: string, required: bool): string {
    const v = o.get(key);
    if (v === null) {
      if (required) this.fail(path + key, "required");
      return "";
    }
    if (v.kind != JsonKind.String) {
      this.fail(path + key, "must be a string");
      return "";
    }
    return v.strValue;
  }

  bool_(o: JsonValue, key: string, path: string): bool {
    const v = o.get(key);
    if (v === null) return false;
    if (v.kind != JsonKind.Bool) {
      this.fail(path + key, "must be a boolean");
      return false;
    }
    return v.boolValue;
  }

  /** An optional whole number in [min, max]; `dflt` when absent. */
  int(o: JsonValue, key: string, path: string, dflt: i32, min: i32, max: i32): i32 {
    const v = o.get(key);
    if (v === null) return dflt;
    if (v.kind != JsonKind.Number || !v.numIsInteger || v.numValue < <f64>min || v.numValue > <f64>max) {
      this.fail(path + key, "must be a whole number from " + min.toString() + " to " + max.toString());
      return dflt;
    }
    return <i32>v.numValue;
  }

  /** An optional list of strings; null when absent. */
  strList(o: JsonValue, key: string, path: string): string[] | null {
    const v = o.get(key);
    if (v === null) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(path + key, "must be a list of strings");
      return null;
    }
    const out: string[] = [];
    for (let i = 0; i < v.items.length; i++) {
      const it = unchecked(v.items[i]);
      if (it.kind != JsonKind.String) {
        this.fail(path + key + "[" + i.toString() + "]", "must be a string");
        return null;
      }
      out.push(it.strValue);
    }
    return out;
  }

  obj(v: JsonValue | null, path: string): JsonValue | null {
    if (v === null) return null;
    if (v.kind != JsonKind.Object) {
      this.fail(path, "must be an object");
      return null;
    }
    return v;
  }

  /** An optional duration member in [min, max] ms; -1 when absent or wrong (then the reader has failed). */
  duration(o: JsonValue, key: string, path: string, min: f64, max: f64, range: string): f64 {
    const v = o.get(key);
    if (v === null) return -1;
    if (v.kind != JsonKind.String) {
      this.fail(path + key, "must be a duration string such as \"5s\"");
      return -1;
    }
    const ms = parseDurationMs(v.strValue);
    if (ms < 0 || ms < min || ms > max) {
      this.fail(path + key, "must be a duration between " + range + ", such as \"5s\"");
      return -1;
    }
    return ms;
  }

  list(o: JsonValue, key: string, path: string): JsonValue[] | null {
    const v = o.get(key);
    if (v === null) return null;
    if (v.kind != JsonKind.Array) {
      this.fail(path + key, "must be a list");
      return null;
    }
    return v.items;
  }
}

/** Istio durations: protobuf's `1.5s` form, plus Go's `500ms`, `2m`, `1h`. Returns -1 when invalid. */
export function parseDurationMs(s: string): f64 {
  let unit: f64 = 0;
  let num = "";
  if (s.endsWith("ms")) { unit = 1; num = s.substring(0, s.length - 2); }
  else if (s.endsWith("s")) { unit = 1000; num = s.substring(0, s.length - 1); }
  else if (s.endsWith("m")) { unit = 60000; num = s.substring(0, s.length - 1); }
  else if (s.endsWith("h")) { unit = 3600000; num = s.substring(0, s.length - 1); }
  else return -1;
  if (num.length == 0 || num.length > 20) return -1;
  let dots = 0;
  for (let i = 0; i < num.length; i++) {
    const c = num.charCodeAt(i);
    if (c == 0x2e) { dots++; if (dots > 1 || i == 0 || i == num.length - 1) return -1; }
    else if (c < 0x30 || c > 0x39) return -1;
  }
  return parseFloat(num) * unit;
}

/** `\uXXXX` for every control character, so a refusal is one log line its author cannot extend. */
export function escapeControls(s: string): string {
  let clean = true;
  for (let i = 0; i < s.length && clean; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) clean = false;
  }
  if (clean) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
      const h = c.toString(16);
      out += "\\u" + "0000".substring(h.length) + h;
    } else out += String.fromCharCode(c);
  }
  return out;
}

function isPlainName(k: string): bool {
  if (k.length == 0) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2d || c == 0x24;
    if (!ok) return false;
  }
  return true;
}

/**
 * The path of member `k` under `path`: `path.k` for a plain name, else `path["…"]` with `"`, `\\`, `:` and
 * control characters escaped, so an empty or odd name still names its field and never splits the line.
 */
export function memberPath(path: string, k: string): string {
  if (isPlainName(k)) return path.length > 0 ? path + "." + k : k;
  let q = "";
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c == 0x22) q += "\\\"";
    else if (c == 0x5c) q += "\\\\";
    else if (c == 0x3a) q += "\\u003a";
    else q += String.fromCharCode(c);
  }
  return path + "[\"" + q + "\"]";
}
