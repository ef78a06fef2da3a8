// A small reader for the parts of a WebAssembly binary the loader needs: type, import, function,
// export and start sections, plus function names from the "name" custom section (for backtraces).
// WebAssembly.Module.imports() gives no signatures, so signature checks are made from this.
// It never executes or validates code; V8 does that when the module is compiled.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref" | "ref";

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export interface WasmImport {
  module: string;
  name: string;
  kind: "func" | "table" | "memory" | "global" | "tag";
  /** For functions: the signature. */
  type?: FuncType;
  /** For memories and tables: limits. */
  min?: number;
  max?: number;
  shared?: boolean;
}

export interface WasmExport {
  name: string;
  kind: "func" | "table" | "memory" | "global" | "tag";
  index: number;
}

export interface ParsedModule {
  types: FuncType[];
  imports: WasmImport[];
  /** Number of imported functions (defined functions are numbered after them). */
  importedFuncCount: number;
  /** Type index of every defined function. */
  functionTypes: number[];
  exports: WasmExport[];
  /** Function index of the start function, or null. */
  start: number | null;
  /** Function index -> name from the "name" section. */
  functionNames: Map<number, string>;
}

/** Thrown for any malformed input; the loader turns it into HOST_ERR_MODULE_PARSE. */
export class WasmParseError extends Error {}

const KINDS = ["func", "table", "memory", "global", "tag"] as const;

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.end) throw new WasmParseError("unexpected end of section");
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128, up to 32 bits (u32) or more for memory64 limits (returned as a number). */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift === 28) {
        if ((b & 0x70) !== 0) throw new WasmParseError("LEB128 value does not fit in u32");
        result |= (b & 0x0f) << 28;
      } else throw new WasmParseError("LEB128 value too long");
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    return result >>> 0;
  }

  /** Unsigned LEB128 of any length (memory64 limits); precision beyond 2^53 is irrelevant here. */
  u64(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    throw new WasmParseError("LEB128 value too long");
  }

  /** Signed LEB128 (s33 heap types); only skipped over. */
  skipSigned(): void {
    for (let i = 0; i < 10; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    throw new WasmParseError("LEB128 value too long");
  }

  name(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new WasmParseError("name runs past the section");
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, len).toString("utf8");
    this.pos += len;
    return s;
  }

  valType(): ValType {
    const b = this.byte();
    switch (b) {
      case 0x7f:
        return "i32";
      case 0x7e:
        return "i64";
      case 0x7d:
        return "f32";
      case 0x7c:
        return "f64";
      case 0x7b:
        return "v128";
      case 0x70:
        return "funcref";
      case 0x6f:
        return "externref";
      case 0x63:
      case 0x64:
        this.skipSigned();
        return "ref";
      default:
        if (b >= 0x69 && b <= 0x74) return "ref"; // GC proposal abstract heap type shorthands
        throw new WasmParseError(`unknown value type 0x${b.toString(16)}`);
    }
  }

  limits(): { min: number; max?: number; shared: boolean } {
    const flags = this.byte();
    const is64 = (flags & 0x04) !== 0;
    const min = is64 ? this.u64() : this.u32();
    const max = flags & 0x01 ? (is64 ? this.u64() : this.u32()) : undefined;
    return { min, max, shared: (flags & 0x02) !== 0 };
  }
}

/** Parses the sections the loader needs. Throws WasmParseError on malformed input. */
export function parseWasmBinary(bytes: Uint8Array): ParsedModule {
  if (bytes.length < 8) throw new WasmParseError("too short for a WebAssembly module");
  if (bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmParseError("missing the \\0asm magic number");
  }
  if (bytes[4] !== 0x01 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new WasmParseError("unsupported WebAssembly binary version");
  }
  const out: ParsedModule = {
    types: [],
    imports: [],
    importedFuncCount: 0,
    functionTypes: [],
    exports: [],
    start: null,
    functionNames: new Map(),
  };
  const top = new Reader(bytes, 8, bytes.length);
  while (top.pos < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    const start = top.pos;
    const end = start + size;
    if (end > bytes.length) throw new WasmParseError(`section ${id} runs past the end of the module`);
    const r = new Reader(bytes, start, end);
    switch (id) {
      case 0: {
        const name = r.name();
        if (name === "name") readNameSection(r, out.functionNames);
        break;
      }
      case 1:
        readTypeSection(r, out.types);
        break;
      case 2:
        readImportSection(r, out);
        break;
      case 3: {
        const n = r.u32();
        for (let i = 0; i < n; i++) out.functionTypes.push(r.u32());
        break;
      }
      case 7: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = KINDS[r.byte()];
          if (kind === undefined) throw new WasmParseError(`export ${name} has an unknown kind`);
          out.exports.push({ name, kind, index: r.u32() });
        }
        break;
      }
      case 8:
        out.start = r.u32();
        break;
      default:
        break;
    }
    top.pos = end;
  }
  return out;
}

function readTypeSection(r: Reader, types: FuncType[]): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const form = r.byte();
    if (form !== 0x60) throw new WasmParseError(`unsupported type form 0x${form.toString(16)}`);
    const np = r.u32();
    const params: ValType[] = [];
    for (let j = 0; j < np; j++) params.push(r.valType());
    const nr = r.u32();
    const results: ValType[] = [];
    for (let j = 0; j < nr; j++) results.push(r.valType());
    types.push({ params, results });
  }
}

function readImportSection(r: Reader, out: ParsedModule): void {
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const module = r.name();
    const name = r.name();
    const kindByte = r.byte();
    switch (kindByte) {
      case 0: {
        const typeIndex = r.u32();
        const type = out.types[typeIndex];
        if (type === undefined) throw new WasmParseError(`import ${module}.${name} uses unknown type ${typeIndex}`);
        out.imports.push({ module, name, kind: "func", type });
        out.importedFuncCount++;
        break;
      }
      case 1: {
        r.valType();
        const l = r.limits();
        out.imports.push({ module, name, kind: "table", min: l.min, max: l.max });
        break;
      }
      case 2: {
        const l = r.limits();
        out.imports.push({ module, name, kind: "memory", min: l.min, max: l.max, shared: l.shared });
        break;
      }
      case 3:
        r.valType();
        r.byte();
        out.imports.push({ module, name, kind: "global" });
        break;
      case 4:
        r.byte();
        r.u32();
        out.imports.push({ module, name, kind: "tag" });
        break;
      default:
        throw new WasmParseError(`import ${module}.${name} has an unknown kind ${kindByte}`);
    }
  }
}

function readNameSection(r: Reader, names: Map<number, string>): void {
  // A broken name section is not fatal (V8 ignores it too): keep what was read.
  try {
    while (r.pos < r.end) {
      const sub = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (end > r.end) return;
      if (sub === 1) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const idx = r.u32();
          names.set(idx, r.name());
        }
      }
      r.pos = end;
    }
  } catch {
    return;
  }
}

/** Signature of function `index` (imported or defined), or undefined if out of range. */
export function functionType(m: ParsedModule, index: number): FuncType | undefined {
  if (index < m.importedFuncCount) {
    let seen = 0;
    for (const imp of m.imports) {
      if (imp.kind !== "func") continue;
      if (seen === index) return imp.type;
      seen++;
    }
    return undefined;
  }
  const t = m.functionTypes[index - m.importedFuncCount];
  return t === undefined ? undefined : m.types[t];
}

/** Envoy's printValTypes: space-separated kinds, "void" when empty. */
export function printValTypes(types: ValType[]): string {
  return types.length === 0 ? "void" : types.join(" ");
}

export function sameSignature(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}
