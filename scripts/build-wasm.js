#!/usr/bin/env node
// Compiles every AssemblyScript entry point with asc 0.28 (see asconfig.json for the targets).
//   build/jwt_authn.wasm        the filter users deploy (release target)
//   build/jwt_authn.debug.wasm  the same filter with names and assertions (debug target)
//   build/<name>.wasm           library builds loaded by Node (loadCrypto, unit tests), one per assembly/api/*.ts
"use strict";
const { execFileSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const asc = path.join(root, "node_modules", ".bin", "asc");
fs.mkdirSync(path.join(root, "build"), { recursive: true });

function run(args) {
  execFileSync(asc, args, { cwd: root, stdio: "inherit" });
}

run(["assembly/index.ts", "--target", "release"]);
run(["assembly/index.ts", "--target", "debug"]);
const apiDir = path.join(root, "assembly", "api");
if (fs.existsSync(apiDir)) {
  for (const f of fs.readdirSync(apiDir).sort()) {
    if (!f.endsWith(".ts")) continue;
    const name = f.slice(0, -3);
    run([`assembly/api/${f}`, "--target", "lib", "--outFile", `build/${name}.wasm`]);
  }
}
