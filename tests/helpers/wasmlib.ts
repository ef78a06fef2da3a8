// Loads one of the library builds (build/<name>.wasm from assembly/api/<name>.ts) for unit tests,
// and passes byte inputs through its `scratch` buffer. An abort inside the module is a test failure.
import * as fs from "fs";
import * as path from "path";

export interface WasmLib {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
  /** Copies the inputs back to back into scratch memory; returns [ptr, len] pairs. */
  put(...inputs: Array<Uint8Array | string>): Array<[number, number]>;
  aborted: string[];
}

export const BUILD_DIR = path.resolve(__dirname, "..", "..", "build");

export function loadLib(name: string): WasmLib {
  const bytes = fs.readFileSync(path.join(BUILD_DIR, `${name}.wasm`));
  const aborted: string[] = [];
  let memory: WebAssembly.Memory | undefined;
  const readStr = (ptr: number): string => {
    if (!ptr || !memory) return "";
    const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0];
    return Buffer.from(new Uint16Array(memory.buffer, ptr, len >>> 1)).toString("utf16le");
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
    env: {
      abort(msg: number, file: number, line: number, col: number) {
        const text = `abort: ${readStr(msg)} at ${readStr(file)}:${line}:${col}`;
        aborted.push(text);
        throw new Error(text);
      },
    },
  });
  const ex = instance.exports as Record<string, any>;
  memory = ex.memory as WebAssembly.Memory;
  if (typeof ex._initialize === "function") ex._initialize();
  const put = (...inputs: Array<Uint8Array | string>): Array<[number, number]> => {
    const bufs = inputs.map((i) => (typeof i === "string" ? Buffer.from(i, "utf8") : Buffer.from(i)));
    const total = bufs.reduce((a, b) => a + b.length, 0);
    const base = ex.scratch(Math.max(total, 1)) as number;
    if (!base) throw new Error("scratch refused");
    const view = new Uint8Array(memory!.buffer);
    let off = base;
    const out: Array<[number, number]> = [];
    for (const b of bufs) {
      view.set(b, off);
      out.push([off, b.length]);
      off += b.length;
    }
    return out;
  };
  return { exports: ex, memory: memory!, put, aborted };
}
