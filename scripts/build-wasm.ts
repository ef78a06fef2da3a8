// Compiles every AssemblyScript entry point with asc 0.28 (see asconfig.json for the targets):
//   build/jwt_authn.wasm         the filter users deploy (release target, uses wasm SIMD)
//   build/jwt_authn.scalar.wasm  the same filter without SIMD, for runtimes that lack it (scalar target)
//   build/jwt_authn.debug.wasm   the same filter with names and assertions (debug target)
//   build/<name>.wasm            library builds loaded by Node (loadCrypto, unit tests), one per assembly/api/*.ts
//   build/crypto.scalar.wasm     the loadCrypto library without SIMD, to test the scalar code paths
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** The repository root, from build/js/scripts/ (compiled) or scripts/ (source). */
export const ROOT = fs.existsSync(path.resolve(__dirname, "..", "package.json")) ? path.resolve(__dirname, "..") : path.resolve(__dirname, "..", "..", "..");

function asc(args: string[]): void {
  execFileSync(path.join(ROOT, "node_modules", ".bin", "asc"), args, { cwd: ROOT, stdio: "inherit" });
}

export function buildWasm(): void {
  fs.mkdirSync(path.join(ROOT, "build"), { recursive: true });
  asc(["assembly/index.ts", "--target", "release"]);
  asc(["assembly/index.ts", "--target", "scalar"]);
  asc(["assembly/index.ts", "--target", "debug"]);
  const apiDir = path.join(ROOT, "assembly", "api");
  for (const f of fs.readdirSync(apiDir).sort()) {
    if (!f.endsWith(".ts")) continue;
    asc([`assembly/api/${f}`, "--target", "lib", "--outFile", `build/${f.slice(0, -3)}.wasm`]);
  }
  asc(["assembly/api/crypto.ts", "--target", "lib-scalar", "--outFile", "build/crypto.scalar.wasm"]);
}

/** True when build/jwt_authn.wasm is missing or older than any file under assembly/ or the SDK patch. */
export function wasmIsStale(): boolean {
  const out = path.join(ROOT, "build", "jwt_authn.wasm");
  if (!fs.existsSync(out)) return true;
  const built = fs.statSync(out).mtimeMs;
  const newer = (dir: string): boolean =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newer(p) : fs.statSync(p).mtimeMs > built;
    });
  return newer(path.join(ROOT, "assembly")) || newer(path.join(ROOT, "patches"));
}

if (require.main === module) buildWasm();
