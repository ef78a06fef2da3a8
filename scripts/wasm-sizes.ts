// Where the bytes of a compiled filter go: size by section, by source file and by function (top N), and
// the data section split into strings and tables. `npm run sizes` prints it for build/jwt_authn.wasm and
// build/jwt_authn.scalar.wasm; `npm run bench` prints the same tables (bench/index.ts).
//
// Release builds carry no names, so function sizes are attributed through a build of the same target
// with `--debug` (asc then keeps a name section; Binaryen optimizes the same way, which is checked: every
// body size must match, else only the section and data tables are printed). That build is made in the
// OS temp directory and kept there keyed by the hash of the release file, so a second run is instant.
//
//   node build/js/scripts/wasm-sizes.js [--top N] [--no-names] [file.wasm[:target] ...]
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The repository root: the nearest directory above this file (scripts/ or build/js/scripts/) with package.json. */
function findRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
const ROOT = findRoot();

const SECTION_NAMES = ["custom", "type", "import", "function", "table", "memory", "global", "export", "start",
  "element", "code", "data", "datacount"];

export interface WasmSection { id: number; name: string; size: number; start: number; end: number }
export interface WasmFunction { index: number; name: string; size: number }
export interface WasmDataSegment { offset: number; bytes: Uint8Array }
export interface WasmModuleSizes {
  total: number;
  sections: WasmSection[];
  importedFunctions: number;
  /** Defined functions, in index order; size is the body including its length prefix. */
  functions: WasmFunction[];
  segments: WasmDataSegment[];
  hasNames: boolean;
}

class Reader {
  constructor(public b: Uint8Array, public p = 0) {}
  u8(): number { return this.b[this.p++]; }
  uleb(): number {
    let r = 0, shift = 0, x: number;
    do {
      x = this.b[this.p++];
      r += (x & 0x7f) * 2 ** shift;
      shift += 7;
    } while (x & 0x80);
    return r;
  }
  name(): string {
    const n = this.uleb();
    const s = Buffer.from(this.b.subarray(this.p, this.p + n)).toString("utf8");
    this.p += n;
    return s;
  }
  /** Skips a constant expression (i32.const n / global.get, then end). Returns the i32 value or -1. */
  constExpr(): number {
    let v = -1;
    for (;;) {
      const op = this.u8();
      if (op === 0x0b) return v;
      if (op === 0x41) {
        // signed LEB128, 32-bit
        let r = 0, shift = 0, x: number;
        do {
          x = this.u8();
          r |= (x & 0x7f) << shift;
          shift += 7;
        } while (x & 0x80);
        if (shift < 32 && x & 0x40) r |= -1 << shift;
        v = r >>> 0;
      } else if (op === 0x23) this.uleb();
      else throw new Error(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
    }
  }
}

/** Parses the parts of a module that sizes need. */
export function parseWasm(bytes: Uint8Array): WasmModuleSizes {
  const r = new Reader(bytes, 8);
  const sections: WasmSection[] = [];
  let importedFunctions = 0;
  const functions: WasmFunction[] = [];
  const segments: WasmDataSegment[] = [];
  const names = new Map<number, string>();
  let hasNames = false;
  while (r.p < bytes.length) {
    const start = r.p;
    const id = r.u8();
    const size = r.uleb();
    const body = r.p;
    const end = body + size;
    let name = SECTION_NAMES[id] ?? `unknown ${id}`;
    if (id === 0) name = `custom "${new Reader(bytes, body).name()}"`;
    sections.push({ id, name, size: end - start, start, end });
    const s = new Reader(bytes, body);
    if (id === 2) {
      for (let n = s.uleb(); n > 0; n--) {
        s.name();
        s.name();
        const kind = s.u8();
        if (kind === 0) { s.uleb(); importedFunctions++; }
        else if (kind === 1) { s.u8(); const f = s.u8(); s.uleb(); if (f & 1) s.uleb(); }
        else if (kind === 2) { const f = s.u8(); s.uleb(); if (f & 1) s.uleb(); }
        else if (kind === 3) { s.u8(); s.u8(); }
        else throw new Error(`unknown import kind ${kind}`);
      }
    } else if (id === 10) {
      const n = s.uleb();
      for (let i = 0; i < n; i++) {
        const at = s.p;
        const len = s.uleb();
        s.p += len;
        functions.push({ index: importedFunctions + i, name: "", size: s.p - at });
      }
    } else if (id === 11) {
      for (let n = s.uleb(); n > 0; n--) {
        const flags = s.uleb();
        let offset = -1;
        if (flags === 2) s.uleb();
        if (flags === 0 || flags === 2) offset = s.constExpr();
        const len = s.uleb();
        segments.push({ offset, bytes: bytes.subarray(s.p, s.p + len) });
        s.p += len;
      }
    } else if (id === 0 && name === 'custom "name"') {
      s.name();
      while (s.p < end) {
        const sub = s.u8();
        const len = s.uleb();
        const next = s.p + len;
        if (sub === 1) {
          hasNames = true;
          for (let n = s.uleb(); n > 0; n--) {
            const idx = s.uleb();
            names.set(idx, s.name());
          }
        }
        s.p = next;
      }
    }
    r.p = end;
  }
  for (const f of functions) f.name = names.get(f.index) ?? `#${f.index}`;
  return { total: bytes.length, sections, importedFunctions, functions, segments, hasNames };
}

/**
 * The source file a function comes from, from asc's names: "assembly/crypto/ec/p521/FieldP521#mul" →
 * "assembly/crypto/ec/p521", "~lib/string/String#concat" → "~lib/string"; node_modules packages by name.
 */
export function sourceOf(name: string): string {
  let n = name.replace(/^(start:)/, "");
  // Generic instances: "f<assembly/crypto/ec/p256/FieldP256>" — the file is the one before the "<".
  const lt = n.indexOf("<");
  if (lt >= 0) n = n.slice(0, lt);
  if (n.startsWith("~lib/")) {
    const rest = n.slice(5);
    const pkg = rest.match(/^(@[^/]+\/[^/]+|[^/]+)\//);
    // ~lib/<package>/... is a node_modules package; ~lib/<file>/... is the standard library.
    if (pkg && fs.existsSync(path.join(ROOT, "node_modules", pkg[1]))) return `~lib/${pkg[1]} (package)`;
    const slash = n.lastIndexOf("/");
    return slash > 0 ? n.slice(0, slash) : n;
  }
  const slash = n.lastIndexOf("/");
  if (slash > 0 && /^(assembly|node_modules)\//.test(n)) return n.slice(0, slash);
  return "(other)";
}

interface DataSplit {
  /** Payload bytes by kind: "string", "buffer" (ArrayBuffer: static array contents), "object", "raw". */
  bytes: Map<string, number>;
  counts: Map<string, number>;
  /** Bytes of segment headers (flags, offset expression, length): one per segment. */
  overhead: number;
  largestStrings: Array<[number, string]>;
  largestRaw: Array<[number, number]>;
}

/**
 * Splits the data section by what asc put there. A static managed object is a 20-byte header (mmInfo,
 * gcInfo, gcInfo2, rtId, rtSize) before a 16-aligned payload, with mmInfo = align16(rtSize + 20) - 4;
 * rtId 1 is ArrayBuffer (the contents of static arrays), 2 is String. Bytes outside any object are
 * `memory.data` (tables, scratch with initial values).
 */
function splitData(m: WasmModuleSizes, dataSection: WasmSection | undefined): DataSplit {
  const img = new Map<number, number>();
  let maxAddr = 0;
  let payload = 0;
  for (const seg of m.segments) {
    if (seg.offset < 0) continue;
    seg.bytes.forEach((v, i) => img.set(seg.offset + i, v));
    maxAddr = Math.max(maxAddr, seg.offset + seg.bytes.length);
    payload += seg.bytes.length;
  }
  const u32 = (a: number): number => ((img.get(a) ?? 0) | ((img.get(a + 1) ?? 0) << 8) | ((img.get(a + 2) ?? 0) << 16) | ((img.get(a + 3) ?? 0) << 24)) >>> 0;
  // Owner of each address: [kind, object start] for bytes inside a managed object.
  const kindAt = new Map<number, string>();
  const largestStrings: Array<[number, string]> = [];
  for (let q = 32; q < maxAddr; q += 16) {
    const rtSize = u32(q - 4);
    const rtId = u32(q - 8);
    if (u32(q - 20) !== ((rtSize + 20 + 15) & ~15) - 4 || rtSize > maxAddr || rtId > 10000) continue;
    const kind = rtId === 2 ? "string" : rtId === 1 ? "buffer" : "object";
    for (let a = q - 20; a < q + rtSize; a++) kindAt.set(a, kind);
    if (kind === "string") {
      const bytes: number[] = [];
      for (let a = q; a < q + rtSize; a++) bytes.push(img.get(a) ?? 0);
      largestStrings.push([rtSize + 20, Buffer.from(bytes).toString("utf16le")]);
    }
    q += (rtSize >> 4) << 4;
  }
  const bytes = new Map<string, number>();
  const counts = new Map<string, number>();
  const rawRuns: Array<[number, number]> = [];
  for (const seg of m.segments) {
    if (seg.offset < 0) continue;
    let runStart = -1;
    for (let i = 0; i <= seg.bytes.length; i++) {
      const a = seg.offset + i;
      const k = i < seg.bytes.length ? kindAt.get(a) ?? "raw" : "";
      if (k) bytes.set(k, (bytes.get(k) ?? 0) + 1);
      if (k === "raw" && runStart < 0) runStart = a;
      if (k !== "raw" && runStart >= 0) {
        rawRuns.push([runStart, a - runStart]);
        runStart = -1;
      }
    }
  }
  counts.set("string", largestStrings.length);
  largestStrings.sort((a, b) => b[0] - a[0]);
  rawRuns.sort((a, b) => b[1] - a[1]);
  return {
    bytes, counts, overhead: (dataSection?.size ?? 0) - payload,
    largestStrings: largestStrings.slice(0, 5), largestRaw: rawRuns.slice(0, 6),
  };
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const pct = (n: number, total: number): string => ((100 * n) / total).toFixed(1) + "%";

/** Builds `target` with --debug into the temp directory (cached by the release file's hash); null on failure. */
function namesBuild(file: string, target: string): Uint8Array | null {
  const hash = createHash("sha256").update(fs.readFileSync(file)).digest("hex").slice(0, 16);
  const dir = path.join(os.tmpdir(), "jwt-authn-wasm-sizes");
  const out = path.join(dir, `${target}-${hash}.wasm`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    try {
      execFileSync(path.join(ROOT, "node_modules", ".bin", "asc"),
        ["assembly/index.ts", "--target", target, "--debug", "--outFile", out],
        { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    } catch {
      return null;
    }
  }
  return fs.readFileSync(out);
}

/** Gives m's functions the names of `named` when both have the same bodies (same count, same sizes). */
function adoptNames(m: WasmModuleSizes, named: WasmModuleSizes): boolean {
  if (named.functions.length !== m.functions.length || named.importedFunctions !== m.importedFunctions) return false;
  for (let i = 0; i < m.functions.length; i++) if (named.functions[i].size !== m.functions[i].size) return false;
  for (let i = 0; i < m.functions.length; i++) m.functions[i].name = named.functions[i].name;
  m.hasNames = true;
  return true;
}

export interface SizesOptions { top?: number; names?: boolean; print?: (line: string) => void }

/** Prints the tables for one module; `target` (asconfig.json) is used to make a names build if needed. */
export function reportWasmSizes(file: string, target: string | null, options: SizesOptions = {}): string[] {
  const lines: string[] = [];
  const emit = (l: string) => {
    lines.push(l);
    (options.print ?? console.log)(l);
  };
  const top = options.top ?? 25;
  const m = parseWasm(fs.readFileSync(file));
  emit(`${path.relative(process.cwd(), file) || file}: ${fmt(m.total)} bytes (${(m.total / 1024).toFixed(1)} KiB)`);
  for (const s of m.sections) {
    emit(`  ${s.name.padEnd(24)} ${fmt(s.size).padStart(9)}  ${pct(s.size, m.total).padStart(6)}`);
  }
  const d = splitData(m, m.sections.find((s) => s.id === 11));
  const b = (k: string): string => fmt(d.bytes.get(k) ?? 0);
  emit(`  data: ${m.segments.length} segments; ${b("string")} bytes of ${d.counts.get("string")} string literals (UTF-16, 20-byte headers), ` +
    `${b("buffer")} static-array contents, ${b("object")} other static objects, ${b("raw")} memory.data tables, ` +
    `${fmt(d.overhead)} segment headers`);
  if (d.largestStrings.length) {
    emit(`    largest strings: ${d.largestStrings.map(([n, t]) => `${n} ${JSON.stringify(t.length > 40 ? t.slice(0, 37) + "..." : t)}`).join(", ")}`);
  }
  if (d.largestRaw.length) {
    emit(`    largest memory.data runs (address: bytes): ${d.largestRaw.map(([a, n]) => `${a}: ${fmt(n)}`).join(", ")}`);
  }
  if (!m.hasNames && target && options.names !== false) {
    const named = namesBuild(file, target);
    if (!named) emit(`  (no names: the --debug build of target ${target} failed)`);
    else if (!adoptNames(m, parseWasm(named))) {
      emit(`  (no names: the --debug build of target ${target} differs from ${path.basename(file)}; rebuild it first)`);
    }
  }
  if (!m.hasNames) return lines;
  const code = m.functions.reduce((a, f) => a + f.size, 0);
  const byFile = new Map<string, { size: number; count: number }>();
  for (const f of m.functions) {
    const k = sourceOf(f.name);
    const e = byFile.get(k) ?? { size: 0, count: 0 };
    e.size += f.size;
    e.count++;
    byFile.set(k, e);
  }
  emit(`  code by source file (${m.functions.length} functions, ${fmt(code)} bytes of bodies):`);
  const files = [...byFile].sort((a, b) => b[1].size - a[1].size);
  for (const [k, e] of files.slice(0, top)) {
    emit(`    ${k.padEnd(44)} ${fmt(e.size).padStart(8)}  ${pct(e.size, code).padStart(6)}  ${String(e.count).padStart(4)} fn`);
  }
  if (files.length > top) {
    const rest = files.slice(top).reduce((a, [, e]) => a + e.size, 0);
    emit(`    ${`(${files.length - top} more files)`.padEnd(44)} ${fmt(rest).padStart(8)}  ${pct(rest, code).padStart(6)}`);
  }
  emit(`  top ${top} functions:`);
  for (const f of [...m.functions].sort((a, b) => b.size - a.size).slice(0, top)) {
    emit(`    ${fmt(f.size).padStart(8)}  ${f.name}`);
  }
  return lines;
}

/** The two deployable builds and their asconfig targets. */
export const DEPLOYED_BUILDS: Array<[string, string]> = [
  [path.join(ROOT, "build", "jwt_authn.wasm"), "release"],
  [path.join(ROOT, "build", "jwt_authn.scalar.wasm"), "scalar"],
];

/** The size tables of both deployed builds (bench/index.ts). */
export function runSizes(options: SizesOptions = {}): string[] {
  const lines: string[] = [];
  for (const [file, target] of DEPLOYED_BUILDS) {
    if (!fs.existsSync(file)) continue;
    if (lines.length) (options.print ?? console.log)("");
    lines.push(...reportWasmSizes(file, target, options));
  }
  return lines;
}

function main(argv: string[]): void {
  let top = 25;
  let names = true;
  const files: Array<[string, string | null]> = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--top") top = Number(argv[++i]);
    else if (a === "--no-names") names = false;
    else {
      const m = a.match(/^(.*\.wasm)(?::([\w-]+))?$/);
      if (!m) throw new Error(`usage: wasm-sizes [--top N] [--no-names] [file.wasm[:target] ...]`);
      files.push([path.resolve(m[1]), m[2] ?? null]);
    }
  }
  if (!files.length) {
    runSizes({ top, names });
    return;
  }
  files.forEach(([f, t], i) => {
    if (i) console.log("");
    reportWasmSizes(f, t, { top, names });
  });
}

if (require.main === module) main(process.argv.slice(2));
