// Loads build/json.wasm (the test entry for assembly/util/json.ts) and wraps its raw exports. Builds it with asc
// when it is missing or older than its sources, so the tests also run on a fresh clone without `npm run build`.
// A call that reaches env.abort or raises a WebAssembly.RuntimeError is reported as a trap, never swallowed.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "../../..");
export const WASM_PATH = path.join(ROOT, "build", "json.wasm");
const SOURCES = [path.join(ROOT, "assembly", "util", "json.ts"), path.join(ROOT, "assembly", "api", "json.ts")];

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  alloc(len: number): number;
  parse(ptr: number, len: number, maxDepth: number): number;
  parseLimits(ptr: number, len: number, maxDepth: number, maxBytes: number, maxItems: number): number;
  parseDefault(ptr: number, len: number): number;
  parseBytes(ptr: number, len: number): number;
  parseUtf16(ptr: number, units: number, maxBytes: number): number;
  errorOffset(): number;
  errorMessage(): number;
  output(): number;
  clear(): void;
  kind(): number;
  numberValue(): number;
  numberIsInteger(): number;
  select(ptr: number, len: number): number;
  has(ptr: number, len: number): number;
  serialize(): number;
  collect(): void;
}

let cachedModule: WebAssembly.Module | null = null;

/** Compiles build/json.wasm if needed (atomically, so parallel jest workers cannot see half a file). */
export function jsonWasmModule(): WebAssembly.Module {
  if (cachedModule) return cachedModule;
  const built = fs.existsSync(WASM_PATH) ? fs.statSync(WASM_PATH).mtimeMs : 0;
  if (SOURCES.some((s) => fs.statSync(s).mtimeMs > built)) {
    fs.mkdirSync(path.dirname(WASM_PATH), { recursive: true });
    const tmp = `${WASM_PATH}.${process.pid}.tmp.wasm`;
    const asc = path.join(ROOT, "node_modules", ".bin", "asc");
    execFileSync(asc, ["assembly/api/json.ts", "--target", "lib", "--outFile", tmp], { cwd: ROOT, stdio: "pipe" });
    fs.renameSync(tmp, WASM_PATH);
    for (const ext of [".js", ".d.ts"]) {
      const side = tmp.replace(/\.wasm$/, ext);
      if (fs.existsSync(side)) fs.unlinkSync(side);
    }
  }
  cachedModule = new WebAssembly.Module(fs.readFileSync(WASM_PATH));
  return cachedModule;
}

export interface ParseOptions {
  maxDepth?: number;
  maxBytes?: number;
  maxItems?: number;
  /** Which entry to use: parseJson with explicit limits (default), parseJson(null), parseJsonBytes. */
  entry?: "limits" | "default" | "bytes";
  /** Skip the re-serialization (faster when only accept/reject matters). */
  noSerialize?: boolean;
}

export interface ParseResult {
  ok: boolean;
  /** Compact re-serialization of the tree (when ok and not noSerialize). */
  text?: string;
  errorOffset: number;
  error: string;
  /** Set when the call trapped: abort message or RuntimeError text. */
  trap?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class JsonWasm {
  private x!: Exports;
  private abortMessage: string | null = null;
  /** Every trap seen, with the input (base64) that caused it. */
  readonly traps: { input: string; trap: string }[] = [];

  constructor() {
    this.instantiate();
  }

  private instantiate(): void {
    const mod = jsonWasmModule();
    const self = this;
    const instance = new WebAssembly.Instance(mod, {
      env: {
        abort(msg: number, file: number, line: number, col: number): void {
          self.abortMessage = `abort: ${self.liftString(msg)} at ${self.liftString(file)}:${line}:${col}`;
          throw new Error(self.abortMessage);
        },
      },
    });
    this.x = instance.exports as unknown as Exports;
    this.x._initialize();
  }

  get exports(): Exports {
    return this.x;
  }

  get memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  private liftString(ptr: number): string {
    if (!ptr) return "null";
    const p = ptr >>> 0;
    const len = new Uint32Array(this.x.memory.buffer, p - 4, 1)[0];
    return String.fromCharCode(...new Uint16Array(this.x.memory.buffer, p, len >>> 1));
  }

  private readOutput(len: number): string {
    return decoder.decode(new Uint8Array(this.x.memory.buffer, this.x.output() >>> 0, len));
  }

  /** Copies bytes into the wasm input buffer; returns its address. */
  write(bytes: Uint8Array): number {
    const ptr = this.x.alloc(bytes.length) >>> 0;
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  /** Runs fn; converts an abort or RuntimeError into a recorded trap and a fresh instance. */
  private guard<T>(input: Uint8Array | string, fn: () => T): { value?: T; trap?: string } {
    this.abortMessage = null;
    try {
      const value = fn();
      if (this.abortMessage) throw new Error(this.abortMessage);
      return { value };
    } catch (e) {
      const trap = this.abortMessage ?? `${(e as Error).name}: ${(e as Error).message}`;
      const raw = typeof input === "string" ? encoder.encode(input) : input;
      this.traps.push({ input: Buffer.from(raw).toString("base64"), trap });
      this.instantiate();
      return { trap };
    }
  }

  parse(input: Uint8Array | string, opts: ParseOptions = {}): ParseResult {
    const bytes = typeof input === "string" ? encoder.encode(input) : input;
    const r = this.guard(bytes, (): ParseResult => {
      const ptr = this.write(bytes);
      let ok: number;
      if (opts.entry === "default") ok = this.x.parseDefault(ptr, bytes.length);
      else if (opts.entry === "bytes") ok = this.x.parseBytes(ptr, bytes.length);
      else ok = this.x.parseLimits(ptr, bytes.length, opts.maxDepth ?? 64, opts.maxBytes ?? 1 << 20, opts.maxItems ?? 100000);
      return this.result(ok === 1, opts.noSerialize === true);
    });
    return r.trap !== undefined ? { ok: false, errorOffset: -1, error: "", trap: r.trap } : r.value!;
  }

  /** Parses a JS string through parseJsonString (the string's UTF-16 code units, lone surrogates included). */
  parseUtf16(s: string, maxBytes = 1 << 20): ParseResult {
    const r = this.guard(s, (): ParseResult => {
      const units = new Uint16Array(s.length);
      for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
      const ptr = this.write(new Uint8Array(units.buffer));
      return this.result(this.x.parseUtf16(ptr, s.length, maxBytes) === 1, false);
    });
    return r.trap !== undefined ? { ok: false, errorOffset: -1, error: "", trap: r.trap } : r.value!;
  }

  private result(ok: boolean, noSerialize: boolean): ParseResult {
    if (ok) {
      const text = noSerialize ? undefined : this.readOutput(this.x.serialize());
      return { ok, text, errorOffset: this.x.errorOffset(), error: this.readOutput(this.x.errorMessage()) };
    }
    return { ok, errorOffset: this.x.errorOffset(), error: this.readOutput(this.x.errorMessage()) };
  }

  /** After a successful parse: selects member `key` of the current object via JsonValue.get(). */
  select(key: string): boolean {
    const b = encoder.encode(key);
    const ptr = this.write(b);
    return this.x.select(ptr, b.length) === 1;
  }

  has(key: string): boolean {
    const b = encoder.encode(key);
    const ptr = this.write(b);
    return this.x.has(ptr, b.length) === 1;
  }

  serializeCurrent(): string {
    return this.readOutput(this.x.serialize());
  }
}

/**
 * Deep equality of JSON values; numbers compared with Object.is (so -0 and 0 differ), key sets unordered.
 * Iterative, so 10,000-level documents do not overflow the JS stack.
 */
export function sameJson(x: unknown, y: unknown): boolean {
  const work: [unknown, unknown][] = [[x, y]];
  while (work.length) {
    const [a, b] = work.pop()!;
    if (typeof a === "number" || typeof b === "number") {
      if (!Object.is(a, b)) return false;
      continue;
    }
    if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
      if (a !== b) return false;
      continue;
    }
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) {
      const bb = b as unknown[];
      if (a.length !== bb.length) return false;
      for (let i = 0; i < a.length; i++) work.push([a[i], bb[i]]);
      continue;
    }
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const ak = Object.keys(ao);
    if (ak.length !== Object.keys(bo).length) return false;
    for (const k of ak) {
      if (!Object.prototype.hasOwnProperty.call(bo, k)) return false;
      work.push([ao[k], bo[k]]);
    }
  }
  return true;
}

/** JSON.parse on bytes decoded as strict UTF-8 (TextDecoder fatal); undefined when either step rejects. */
export function jsParse(bytes: Uint8Array): { ok: boolean; value?: unknown } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Every reason the reader may give (lastJsonErrorMessage). */
export const ERROR_MESSAGES = new Set([
  "unexpected end of input",
  "unexpected character",
  "trailing characters",
  "invalid literal",
  "invalid number",
  "number out of range",
  "control character in string",
  "invalid escape",
  "invalid unicode escape",
  "lone surrogate",
  "invalid UTF-8",
  "expected string key",
  "expected ':'",
  "expected ',' or ']'",
  "expected ',' or '}'",
  "nesting too deep",
  "too many values",
  "input too large",
  "invalid input buffer",
]);

/** Small deterministic PRNG (mulberry32) so every run sees the same inputs. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A ~2 KB JWKS-like document (two RSA keys and an EC key), as fetched from an issuer. */
export function jwksLikeDocument(): string {
  const rnd = prng(7);
  const b64 = (n: number): string => {
    const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let s = "";
    for (let i = 0; i < n; i++) s += a[Math.floor(rnd() * 64)];
    return s;
  };
  const doc = {
    keys: [
      { kty: "RSA", use: "sig", alg: "RS256", kid: b64(43), n: b64(342), e: "AQAB", x5t: b64(27), x5c: [b64(700)] },
      { kty: "RSA", use: "sig", alg: "RS256", kid: b64(43), n: b64(342), e: "AQAB" },
      { kty: "EC", use: "sig", alg: "ES256", crv: "P-256", kid: b64(16), x: b64(43), y: b64(43), exp: 1735689600 },
    ],
  };
  return JSON.stringify(doc, null, 2);
}
